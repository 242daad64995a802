#!/usr/bin/env bash
# Runs fuzz targets to a number of executions each, one after another on one core, and
# prints a line per target: executions, seconds, executions per second, and whether it
# failed. The committed corpora are copied first, so they stay as they are.
#
#   scripts/fuzz-volume.sh [-n RUNS] [TARGET...]     (default: 10,000,000 runs, every target)
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`); a stable toolchain works with
# RUSTC_BOOTSTRAP=1, which this script sets. The adversarial targets (engine_adversary,
# group_adversary) are built without comparison tracing and without AddressSanitizer: their
# inputs are scripts of actions rather than magic bytes, the code is safe Rust, and the two
# flags make them 3-4 times faster. Findings go to fuzz/artifacts/TARGET/.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
export RUSTC_BOOTSTRAP=1

runs=10000000
if [[ "${1:-}" == "-n" ]]; then
    runs=$2
    shift 2
fi
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    mapfile -t targets < <(cargo fuzz list)
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for t in "${targets[@]}"; do
    flags=()
    case "$t" in
        engine_adversary | group_adversary) flags=(--no-trace-compares -s none) ;;
    esac
    cargo fuzz build "${flags[@]}" "$t" >"$work/build.log" 2>&1 || {
        cat "$work/build.log"
        exit 1
    }
    cp -r "corpus/$t" "$work/corpus"
    mkdir -p "artifacts/$t"
    start=$(date +%s)
    status=ok
    cargo fuzz run "${flags[@]}" "$t" "$work/corpus" -- -runs="$runs" \
        -print_final_stats=1 -artifact_prefix="artifacts/$t/" >"$work/run.log" 2>&1 || status=FAILED
    secs=$(($(date +%s) - start))
    done_runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/run.log")
    per_sec=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/run.log")
    printf '%-20s %12s runs %7s s %7s/s  %s\n' "$t" "${done_runs:-?}" "$secs" "${per_sec:-?}" "$status"
    if [[ $status != ok ]]; then
        tail -40 "$work/run.log"
    fi
    rm -rf "$work/corpus"
done
