#!/usr/bin/env python3
"""icount.py BEFORE AFTER [--only a,b]

Instructions executed (valgrind cachegrind's `I refs`, whole process) by two zexus-tui binaries on
the nine programs of ../shared/bench, in both tiers (default and --no-jit), at sizes about a
twentieth of `large` so a run under valgrind takes seconds. Instruction counts do not depend on
the load of a shared machine, so they show a change on a hot path where wall time cannot (the
noise of a 2-core machine shared with builds is far above 3%). Prints a table in Markdown:
benchmark, N, tier, before, after, after/before; both binaries must print the same last line."""
import os, re, subprocess, sys, tempfile

here = os.path.dirname(os.path.abspath(__file__))
bench = os.path.join(here, "..", "..", "shared", "bench")
args = sys.argv[1:]
if len(args) < 2:
    sys.exit(__doc__)
before, after = args[0], args[1]
SIZES = {"loop_sum": 5000000, "fib": 28, "calls": 500000, "nested_loops": 1800, "sieve": 250000,
         "strings": 250000, "maps": 25000, "state_tx": 100000, "seed_integration": 15000}
only = args[args.index("--only") + 1].split(",") if "--only" in args else list(SIZES)


def irefs(binary, flags, path):
    with tempfile.NamedTemporaryFile() as out:
        p = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no",
                            f"--cachegrind-out-file={out.name}", binary, "run", *flags, path],
                           capture_output=True, text=True, timeout=1800)
    m = re.search(r"I\s+refs:\s+([\d,]+)", p.stderr)
    if p.returncode != 0 or not m:
        sys.exit(f"{binary} on {path} failed: {p.stderr[-400:]}")
    lines = [l for l in p.stdout.splitlines() if l.strip()]
    return int(m.group(1).replace(",", "")), (lines[-1] if lines else "")


tmp = tempfile.mkdtemp()
print("| benchmark (N) | tier | before | after | after/before |")
print("|---|---|---:|---:|---:|")
for name in only:
    src = open(os.path.join(bench, f"{name}.zx")).read().split("\n", 1)[1]
    path = os.path.join(tmp, f"{name}.zx")
    with open(path, "w") as f:
        f.write(f"let N = {SIZES[name]};\n" + src)
    for tier, flags in (("jit", []), ("--no-jit", ["--no-jit"])):
        b, ob = irefs(before, flags, path)
        a, oa = irefs(after, flags, path)
        if oa != ob:
            sys.exit(f"{name}: the binaries disagree: {ob!r} vs {oa!r}")
        print(f"| {name} ({SIZES[name]:,}) | {tier} | {b:,} | {a:,} | {a / b:.4f} |", flush=True)
