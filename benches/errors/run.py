#!/usr/bin/env python3
"""What a try that raises nothing costs: the same loop with no try, with a try around it, and
with a try inside its body, each run K times alternating (median wall time), JIT on and off.

    python3 benches/errors/run.py BIN [--runs K]
"""
import statistics, subprocess, sys, time, os

here = os.path.dirname(os.path.abspath(__file__))
args = sys.argv[1:]
if not args:
    sys.exit(__doc__)
bin_ = os.path.abspath(args[0])
runs = int(args[args.index("--runs") + 1]) if "--runs" in args else 5
programs = ["try_none", "try_outside", "try_inside"]
for mode, flags in [("default (JIT on)", []), ("--no-jit", ["--no-jit"])]:
    times = {p: [] for p in programs}
    outs = {}
    for _ in range(runs):
        for p in programs:
            t = time.perf_counter()
            r = subprocess.run([bin_, "run", *flags, os.path.join(here, p + ".zx")], capture_output=True, check=True)
            times[p].append(time.perf_counter() - t)
            outs[p] = r.stdout
    assert len(set(outs.values())) == 1, outs
    base = statistics.median(times["try_none"])
    print(f"{mode}: median of {runs}")
    for p in programs:
        m = statistics.median(times[p])
        print(f"  {p:<12} {m * 1000:8.1f} ms  {m / base:5.2f}x")
