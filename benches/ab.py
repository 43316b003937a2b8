#!/usr/bin/env python3
"""ab.py BEFORE AFTER [--no-jit] [--only a,b] [--runs K]

A/B comparison of two zexus-tui binaries on the nine programs of ../shared/bench at their large
sizes: BEFORE and AFTER alternate run by run (so load drifts hit both alike), K runs each
(default 5), whole process. Prints each benchmark's medians and AFTER/BEFORE (above 1.0 is
slower), the spread of the runs, and the geometric mean. Every run's checksum is checked."""
import math, os, subprocess, sys, tempfile, time

here = os.path.dirname(os.path.abspath(__file__))
bench = os.path.join(here, "..", "..", "shared", "bench")
args = sys.argv[1:]
if len(args) < 2:
    sys.exit(__doc__)
before, after = args[0], args[1]


def opt(name, default):
    return args[args.index(name) + 1] if name in args else default


LARGE = {"loop_sum": (100000000, "4999999950000000"), "fib": (35, "9227465"), "calls": (10000000, "39999994"),
         "nested_loops": (8000, "775824"), "sieve": (5000000, "348513"), "strings": (5000000, "38888890"),
         "maps": (500000, "125000250000"), "state_tx": (2000000, "3999999"),
         "seed_integration": (300000, "4180500000")}
runs = int(opt("--runs", "5"))
names = opt("--only", ",".join(LARGE)).split(",")
flags = ["--no-jit"] if "--no-jit" in args else []


def run(binary, path, want):
    t = time.perf_counter()
    p = subprocess.run([binary, "run", *flags, path], capture_output=True, text=True, timeout=300)
    dt = time.perf_counter() - t
    out = [l for l in p.stdout.splitlines() if l.strip()]
    got = out[-1].strip() if out else f"exit {p.returncode}: {p.stderr[:200]}"
    if got != want:
        sys.exit(f"{binary} {path}: printed {got!r}, expected {want}")
    return dt


tmp = tempfile.mkdtemp()
ratios = []
tier = "--no-jit" if flags else "default"
print(f"tier {tier}, {runs} alternating runs each, medians")
for n in names:
    N, want = LARGE[n]
    src = open(os.path.join(bench, f"{n}.zx")).read().split("\n", 1)[1]
    path = os.path.join(tmp, f"{n}.zx")
    with open(path, "w") as f:
        f.write(f"let N = {N};\n" + src)
    a, b = [], []
    for i in range(runs):
        # Alternate which goes first, so neither always runs on a warm cache.
        if i % 2 == 0:
            a.append(run(before, path, want)); b.append(run(after, path, want))
        else:
            b.append(run(after, path, want)); a.append(run(before, path, want))
    ma, mb = sorted(a)[len(a) // 2], sorted(b)[len(b) // 2]
    spread = (max(a + b) - min(a + b)) / min(a + b)
    ratios.append(mb / ma)
    print(f"{n:18} before {ma*1000:8.1f} ms   after {mb*1000:8.1f} ms   after/before {mb/ma:5.3f}"
          f"   spread {spread*100:4.1f}%", flush=True)
g = math.exp(sum(map(math.log, ratios)) / len(ratios))
print(f"geometric mean after/before {g:.3f}")
