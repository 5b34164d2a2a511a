#!/usr/bin/env bash
# The whole test suite: unit, property and integration tests, the no_std
# build of the shared crates, lints, the FUSE suites (pjdfstest, fsx,
# xattrs, big directories), bounded fuzzing, the ANN recall check and the
# kernel module's VM run. Installs what it needs.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_rust
ensure_packages build-essential pkg-config fuse3 libfuse3-dev attr acl git python3-venv
rustup component add clippy rustfmt >/dev/null 2>&1 || true
rustup target add x86_64-unknown-none >/dev/null 2>&1

# The suite builds some sixty binaries (tests, benches, examples, tools);
# linking each with the release profile's thin LTO and debug info made the
# build most of the run. No test measures speed, so the suite's binaries
# go without both; scripts/main.sh and the benchmarks keep the profile as
# it is. (The kernel module's core sets its own: fat LTO, no debug info.)
export CARGO_PROFILE_RELEASE_LTO="${CARGO_PROFILE_RELEASE_LTO:-off}"
export CARGO_PROFILE_RELEASE_DEBUG="${CARGO_PROFILE_RELEASE_DEBUG:-0}"

log "cargo build (release)"
cargo build --release --workspace --all-targets

log "unit, property and integration tests"
cargo test --release --workspace

log "no_std build of the shared crates (kernel target)"
cargo build --release --target x86_64-unknown-none -p vexfs-format
cargo build --release --target x86_64-unknown-none -p vexfs-core
cargo build --release --target x86_64-unknown-none -p vexfs-ann --no-default-features

log "clippy"
cargo clippy --release --workspace --all-targets -- -D warnings

# cargo-fuzz targets (every on-disk decoder, mounted and re-sealed images,
# journal replay, index loading), each for a bounded time; a crash fails.
log "fuzzing (scripts/fuzz.sh, 30 s per target)"
bash scripts/fuzz.sh 30

log "FUSE suites: pjdfstest, fsx"
bash tests/fuse/run-suites.sh

log "ANN recall regression check"
cargo run --release -q -p vexfs-anns-bench --bin anns_benchmark -- \
    --profile ci --peers none --check-recall bench/recall-floor-ci.json --out target/bench-ci

# The kernel module, only ever loaded inside a QEMU (TCG) guest running
# Debian's 6.1 kernel: the xtask installs the kernel, headers, QEMU and
# busybox itself; report in target/vm/report.md. The short profile keeps
# this part within a few minutes.
log "kernel module in a VM (cargo xtask vm-test --profile ci)"
cargo xtask vm-test --profile ci

# --- Python package (python/): checks, uapi header mirror, tests on a
# FUSE mount made with target/release/mkfs-vexfs and vexfs-fuse ---
log "Python package tests (python/tests)"
ensure_packages python3-venv
[ -x target/python-venv/bin/python ] || python3 -m venv target/python-venv
target/python-venv/bin/pip install -q ./python pytest numpy
target/python-venv/bin/python -m pytest -q python/tests
# --- end Python package ---

log "all tests passed"
