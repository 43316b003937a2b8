#!/usr/bin/env bash
# Side-by-side timing of zexus-tui against a Lua peer: runs the two alternately (so machine
# noise hits both alike) and prints the median wall time of each and their ratio.
#
# Usage: benches/compare.sh [-r RUNS] BENCH N "ZEXUS CMD" "PEER CMD"
#   e.g. benches/compare.sh fib 35 "./target/release/zexus-tui run" "lua5.4"
set -euo pipefail
runs=5
if [ "${1:-}" = "-r" ]; then runs="$2"; shift 2; fi
bench="$1"; n="$2"; zx="$3"; peer="$4"
here="$(cd "$(dirname "$0")" && pwd)"
shared="$here/../../shared/bench"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
{ echo "let N = $n;"; tail -n +2 "$shared/$bench.zx"; } >"$tmp/$bench.zx"
now() { local t="${EPOCHREALTIME/[.,]/}"; echo "$t"; }
zs=(); ps=()
for _ in $(seq 1 "$runs"); do
    t0=$(now); $zx "$tmp/$bench.zx" >"$tmp/z.out"; t1=$(now)
    $peer "$here/peers/$bench.lua" "$n" >"$tmp/p.out"; t2=$(now)
    zs+=($(( (t1 - t0) / 1000 ))); ps+=($(( (t2 - t1) / 1000 )))
    if [ "$(tail -n 1 "$tmp/z.out")" != "$(tail -n 1 "$tmp/p.out")" ]; then
        echo "checksum mismatch: $(tail -n 1 "$tmp/z.out") vs $(tail -n 1 "$tmp/p.out")" >&2; exit 1
    fi
done
med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
zm=$(med "${zs[@]}"); pm=$(med "${ps[@]}")
awk -v b="$bench" -v n="$n" -v z="$zm" -v p="$pm" -v peer="$peer" \
    'BEGIN { printf "%-14s N=%-10s zexus %6d ms   %-8s %6d ms   ratio %.2fx\n", b, n, z, peer, p, z / p }'
