#!/usr/bin/env python3
"""Concurrent increments on one `--state` file (issue 13): PAIRS times, two runs of the same
increment start together; with `--state-wait` the second waits for the first's lock, so after
all of them `n` must be 2 * PAIRS. Also counts how a pair behaves without `--state-wait` (the
second run must fail with a clear error, never lose an update silently).

Usage: python3 tests/scripts/state_concurrent.py [BINARY] [PAIRS]   (default 100 pairs).
Prints the counts; exits 1 if any update was lost.
"""

import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PROGRAM = 'let n = STATE["n"] ?? 0\nlet i = 0\nwhile (i < 20000) { i = i + 1 }\nSTATE["n"] = n + 1\nprint(n + 1)\n'


def default_binary():
    for profile in ("release", "debug"):
        path = os.path.join(ROOT, "target", profile, "zexus-tui")
        if os.path.exists(path):
            return path
    sys.exit("no zexus-tui binary: build first or pass its path")


def state_n(path):
    if not os.path.exists(path):
        return 0
    with open(path, encoding="utf-8") as f:
        return json.load(f)["n"]


def run_pairs(binary, prog, state, pairs, wait):
    cmd = [binary, "run", "--state", state] + (["--state-wait"] if wait else []) + [prog]
    ok = refused = other = 0
    for _ in range(pairs):
        children = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(2)]
        for child in children:
            _, err = child.communicate()
            if child.returncode == 0:
                ok += 1
            elif b"is in use by another run" in err:
                refused += 1
            else:
                other += 1
                print(err.decode(errors="replace"), file=sys.stderr)
    return ok, refused, other


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else default_binary()
    pairs = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    work = tempfile.mkdtemp(prefix="zexus-concurrent-")
    prog = os.path.join(work, "inc.zx")
    with open(prog, "w", encoding="utf-8") as f:
        f.write(PROGRAM)

    state = os.path.join(work, "wait.json")
    ok, refused, other = run_pairs(binary, prog, state, pairs, wait=True)
    n = state_n(state)
    lost = ok - n
    print(f"--state-wait: {pairs} pairs, {ok} runs succeeded, {refused} refused, {other} failed otherwise; "
          f"n = {n} (expected {2 * pairs}): {lost} lost updates")

    state = os.path.join(work, "nowait.json")
    ok2, refused2, other2 = run_pairs(binary, prog, state, pairs, wait=False)
    n2 = state_n(state)
    lost2 = ok2 - n2
    print(f"without --state-wait: {pairs} pairs, {ok2} runs succeeded, {refused2} refused with the lock error, "
          f"{other2} failed otherwise; n = {n2}: {lost2} lost updates")
    sys.exit(1 if lost or lost2 or other or other2 or n != 2 * pairs else 0)


if __name__ == "__main__":
    main()
