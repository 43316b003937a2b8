#!/usr/bin/env python3
"""Kill -9 loop for `--state` (issue 13): N runs of a program that commits STATE, each killed
with SIGKILL at a random moment of its run (or left to finish). After every run the state
file must be valid JSON holding either the old or the new STATE: a file that does not parse
or holds anything else is torn; a run that exited 0 whose commit is missing is a lost commit.

Usage: python3 tests/scripts/state_kill9.py [BINARY] [RUNS]   (defaults: target/release or
target/debug zexus-tui, 1000 runs). Prints the counts; exits 1 if any run was torn or lost.
"""

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Each run adds 1 to STATE["n"] and rewrites a value big enough (about 200 KB of JSON) that the
# save takes a while, so kills land before, during and after it.
PROGRAM = """
let n = STATE["n"] ?? 0
let blob = map(range(4000), lambda i: "entry " + string(n) + " " + string(i))
STATE["blob"] = blob
STATE["n"] = n + 1
print(n + 1)
"""


def default_binary():
    for profile in ("release", "debug"):
        path = os.path.join(ROOT, "target", profile, "zexus-tui")
        if os.path.exists(path):
            return path
    sys.exit("no zexus-tui binary: build first or pass its path")


def read_state(path):
    """The committed n, or None if the file is torn (or holds something we never wrote)."""
    if not os.path.exists(path):
        return 0
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        n = data["n"]
        blob = data["blob"]
        if len(blob) != 4000 or blob[-1] != f"entry {n - 1} 3999":
            return None
        return n
    except (ValueError, KeyError, TypeError, IndexError):
        return None


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else default_binary()
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    work = tempfile.mkdtemp(prefix="zexus-kill9-")
    prog = os.path.join(work, "p.zx")
    state = os.path.join(work, "s.json")
    with open(prog, "w", encoding="utf-8") as f:
        f.write(PROGRAM)
    cmd = [binary, "run", "--state", state, prog]

    # The typical run time, to spread the kills over the whole run.
    start = time.monotonic()
    for _ in range(3):
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
    typical = (time.monotonic() - start) / 3
    committed = read_state(state)
    assert committed == 3, committed

    rng = random.Random(13)
    torn = lost = killed = finished = 0
    for _ in range(runs):
        before = committed
        child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0, typical * 2.0))
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
        code = child.wait()
        if code == -signal.SIGKILL:
            killed += 1
        elif code == 0:
            finished += 1
        else:
            sys.exit(f"a run failed with exit code {code}")
        after = read_state(state)
        if after is None or after not in (before, before + 1):
            torn += 1
            print(f"torn state file after a run (before n={before}): {after}", file=sys.stderr)
            committed = before
            continue
        if code == 0 and after != before + 1:
            lost += 1
        committed = after
    temps = [n for n in os.listdir(work) if n.startswith(".")]
    print(
        f"{runs} runs ({killed} killed by SIGKILL, {finished} finished), typical run {typical * 1000:.0f} ms: "
        f"{torn} torn files, {lost} lost commits; final n = {committed}; "
        f"temporary files left beside the state file: {len(temps)} (the next run deletes them)"
    )
    sys.exit(1 if torn or lost else 0)


if __name__ == "__main__":
    main()
