#!/usr/bin/env python3
"""Time from starting the TUI on a program to its first frame showing the paused program
(BENCHMARKS.md, "Issue 13 (M8)"), in a detached 120x40 tmux session, and its peak RSS.

    python3 benches/tui_open.py BIN PROGRAM [--runs N]

Polls the pane every 5 ms until the status bar says PAUSED; then presses q and reads the
peak RSS that `/usr/bin/time -v` reports. Prints one line per run and the median.
"""

import argparse
import os
import re
import statistics
import subprocess
import tempfile
import time


def tmux(sock, *args):
    return subprocess.run(["tmux", "-S", sock, *args], capture_output=True, text=True)


def one(binary, program, tmp):
    sock = os.path.join(tmp, "sock")
    rss_file = os.path.join(tmp, "rss")
    if os.path.exists(rss_file):
        os.remove(rss_file)
    cmd = f"/usr/bin/time -v -o {rss_file} {binary} {program}; sleep 60"
    tmux(sock, "new-session", "-d", "-s", "zx", "-x", "120", "-y", "40", "sh", "-c", cmd)
    t0 = time.monotonic()
    opened = None
    while time.monotonic() - t0 < 120:
        screen = tmux(sock, "capture-pane", "-p", "-t", "zx").stdout
        if re.search(r"^ PAUSED", screen, re.M):
            opened = time.monotonic() - t0
            break
        time.sleep(0.005)
    tmux(sock, "send-keys", "-t", "zx", "q")
    for _ in range(2000):
        if os.path.exists(rss_file) and "Maximum resident" in open(rss_file).read():
            break
        time.sleep(0.01)
    tmux(sock, "kill-server")
    rss = None
    if os.path.exists(rss_file):
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(rss_file).read())
        rss = int(m.group(1)) if m else None
    return opened, rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("program")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    binary, program = os.path.abspath(a.binary), os.path.abspath(a.program)
    opens, rsss = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(a.runs):
            opened, rss = one(binary, program, tmp)
            print(f"run {i + 1}: first frame {opened if opened is None else round(opened, 3)} s, peak RSS {rss} KB")
            if opened is not None:
                opens.append(opened)
            if rss is not None:
                rsss.append(rss)
    if opens:
        print(f"median: first frame {statistics.median(opens):.3f} s, peak RSS {statistics.median(rsss) if rsss else '?'} KB")


if __name__ == "__main__":
    main()
