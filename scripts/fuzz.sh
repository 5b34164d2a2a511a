#!/usr/bin/env bash
# Run every cargo-fuzz target for a bounded time and print the executions
# each managed. Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] (default 30).
# Installs nightly Rust and cargo-fuzz if missing. A crash fails the run;
# libFuzzer leaves the input in fuzz/artifacts/<target>/ (add it to the
# regression tests before fixing).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_rust
secs="${1:-30}"
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
cd fuzz
targets=$(cargo +nightly fuzz list)
summary=""
for t in $targets; do
    log "fuzz $t for ${secs}s"
    mkdir -p "corpus/$t"
    out=$(cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=4096 -timeout=20 2>&1) || {
        echo "$out" | tail -40
        echo "fuzz target $t failed: see fuzz/artifacts/$t/" >&2
        exit 1
    }
    runs=$(echo "$out" | grep -o 'Done [0-9]* runs' | grep -o '[0-9]*' | tail -1)
    summary+="$t: ${runs:-?} executions, 0 crashes"$'\n'
done
log "fuzzing summary"
printf '%s' "$summary"
