#!/usr/bin/env python3
"""time_travel.py BIN [--runs K] [--at N,N,...] [--no-jit]

The cost of the debugger's time travel (README "Time travel"), through the binary as a user
runs it: `snapshot samples/spin.zx --steps N` (the debugger runs N instructions of the JIT-compiled
hot loop and stops) against the same with `--back 1` (then one reverse instruction step), with
`--reverse next` (a reverse next line, which also steps a window instruction by instruction)
and with `--reverse continue` and a breakpoint on the loop's body line (a reverse continue
that finds the previous hit). The difference of the medians is the time of the reverse goal at N
instructions into the run. Memory: the time-travel record the snapshot reports
(`timeline ... (record B bytes)`), per million instructions, and the peak RSS of both runs (no
checkpoint memory: the record is a few bytes). Prints Markdown tables.
Build BIN with `CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=8 cargo build --release`."""
import os, re, resource, statistics, subprocess, sys, time

here = os.path.dirname(os.path.abspath(__file__))
spin = os.path.join(here, "..", "samples", "spin.zx")
args = sys.argv[1:]
if not args:
    sys.exit(__doc__)
binary = args[0]
runs = int(args[args.index("--runs") + 1]) if "--runs" in args else 3
points = [int(x) for x in args[args.index("--at") + 1].split(",")] if "--at" in args else [10**6, 10**7, 10**8]
tier = ["--no-jit"] if "--no-jit" in args else []


def run(extra, steps):
    """Wall time, peak RSS (KiB) and the output of one snapshot run."""
    cmd = [binary, "snapshot", spin, f"--steps={steps}", *tier, *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    took = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {p.stderr[-400:]}")
    return took, max(rss, before), p.stdout


def median(extra, steps):
    samples = [run(extra, steps) for _ in range(runs)]
    return statistics.median(s[0] for s in samples), max(s[1] for s in samples), samples[-1][2]


goals = [("reverse step (`--back 1`)", ["--back", "1"]),
         ("reverse next (`--reverse next`)", ["--reverse", "next"]),
         ("reverse continue to the JIT-compile mark (`--reverse continue`)", ["--reverse", "continue"])]
print("| instructions N | forward run to N | " + " | ".join(g[0] for g in goals) + " |")
print("| ---: | ---: | " + " | ".join("---:" for _ in goals) + " |")
memory = []
for n in points:
    forward, rss_f, out = median([], n)
    cells = []
    for name, extra in goals:
        t, rss_b, out_b = median(extra, n)
        cells.append(f"{(t - forward) * 1000:.0f} ms")
    m = re.search(r"\(record (\d+) bytes\)", out)
    record = int(m.group(1)) if m else 0
    memory.append((n, record, rss_f))
    print(f"| {n:,} | {forward * 1000:.0f} ms | " + " | ".join(cells) + " |")
print()
print("| instructions N | time-travel record | per million instructions | peak RSS of the run |")
print("| ---: | ---: | ---: | ---: |")
for n, record, rss in memory:
    print(f"| {n:,} | {record} B | {record / (n / 1e6):.2f} B | {rss / 1024:.1f} MiB |")
