#!/usr/bin/env bash
# Long fuzz run: every target of tests/fuzz for N seconds each (default 600), at most J at a
# time (default 2), niced, with an address-space cap so an unbounded allocation aborts instead
# of going unnoticed. Writes one summary line per target to tests/fuzz/LONG_RUN.log and
# exits non-zero if any target failed (ZEXUS_FUZZ_SUMMARY names another summary file).
#
#   tests/fuzz/long_run.sh [SECONDS] [JOBS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds="${1:-600}"
jobs="${2:-2}"
shift $(( $# > 2 ? 2 : $# )) || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(front_end compiler vm optimizer_differential jit_differential verifier cache_loader theme_loader state_loader)
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo test --release --test fuzz --no-run >/dev/null 2>&1 || cargo test --release --test fuzz --no-run
bin=$(cargo test --release --test fuzz --no-run --message-format=json 2>/dev/null \
    | sed -n 's/.*"executable":"\([^"]*fuzz-[^"]*\)".*/\1/p' | tail -1)
[ -x "$bin" ] || { echo "cannot find the fuzz test binary" >&2; exit 2; }

log_dir="$CARGO_TARGET_DIR/fuzz-long-run"
mkdir -p "$log_dir"
summary="${ZEXUS_FUZZ_SUMMARY:-tests/fuzz/LONG_RUN.log}"
: > "$summary.tmp"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
echo "# long run: ${seconds} s per target, ${jobs} at a time, commit ${commit}, $(date -u +%Y-%m-%dT%H:%M:%SZ)" >> "$summary.tmp"

run_one() {
    local target="$1" rc=0
    (
        ulimit -v 8000000
        ZEXUS_FUZZ_SECONDS="$seconds" ZEXUS_FUZZ_REPORT="$summary.tmp" \
            nice -n 10 "$bin" --exact "$target" --nocapture --test-threads 1
    ) >"$log_dir/$target.log" 2>&1 || rc=$?
    if [ $rc -ne 0 ]; then
        echo "fuzz target $target: FAILED (exit $rc), see $log_dir/$target.log" >> "$summary.tmp"
    fi
    return $rc
}

failed=0
pids=()
for target in "${targets[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
        wait -n || failed=1
    done
    run_one "$target" &
    pids+=($!)
done
for pid in "${pids[@]}"; do
    wait "$pid" || failed=1
done
mv "$summary.tmp" "$summary"
cat "$summary"
exit $failed
