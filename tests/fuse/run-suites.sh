#!/usr/bin/env bash
# The FUSE suites: pjdfstest (in full, exclusions in
# crates/vexfs-fuse/tests/pjdfstest.toml) and fsx (FSX_OPS operations,
# default 100000) on real VexFS mounts. Installs what they need:
# fuse3 and attr (apt), pjdfstest and fsx (cargo install), the `tests`
# user pjdfstest switches to, and the `vexfs` mount helper that
# `mount -t fuse.vexfs` / `mount -o remount` run.
#
# Usage: tests/fuse/run-suites.sh          the suites (needs root)
#        tests/fuse/run-suites.sh --all    also every other vexfs-fuse test
# Env:   FSX_OPS=N FSX_SEED=N CARGO_TARGET_DIR=...
set -euo pipefail
cd "$(dirname "$0")/../.."
export VEXFS_T0="${VEXFS_T0:-$(date +%s)}"
log() { printf '\n==> [%5ss] %s\n' "$(($(date +%s) - VEXFS_T0))" "$*"; }

if [ "$(id -u)" != 0 ]; then
    echo "run-suites.sh: needs root (FUSE allow_other, pjdfstest user switching)" >&2
    exit 1
fi
if [ ! -e /dev/fuse ]; then
    echo "SKIP: /dev/fuse is missing; FUSE suites not run"
    exit 0
fi

missing=()
command -v fusermount3 >/dev/null || missing+=(fuse3)
command -v setfattr >/dev/null || missing+=(attr)
if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

export PATH="$HOME/.cargo/bin:$PATH"
for tool in pjdfstest fsx; do
    if ! command -v "$tool" >/dev/null; then
        log "cargo install $tool"
        # Built in its own target dir so the workspace's stays untouched.
        CARGO_TARGET_DIR="${TMPDIR:-/tmp}/vexfs-suite-tools" cargo install "$tool" --locked --quiet
    fi
done

# pjdfstest switches to nobody:nogroup and tests:tests.
getent group tests >/dev/null || groupadd tests
getent passwd tests >/dev/null || useradd -M -g tests -s /usr/sbin/nologin -d / tests

# The same package selection as the workspace build (scripts/test.sh):
# with `-p vexfs-fuse` alone, cargo unifies features differently and
# rebuilds the core and its dependencies (minutes) for nothing.
log "build vexfs-fuse (release)"
cargo build --release --workspace --all-targets --quiet
target="${CARGO_TARGET_DIR:-target}"
# mount.fuse3 runs the helper named after the subtype from the system PATH.
install -m 755 "$target/release/vexfs" /usr/local/sbin/vexfs

if [ "${1:-}" = "--all" ]; then
    log "vexfs-fuse unit and integration tests"
    cargo test --release -p vexfs-fuse
fi

log "pjdfstest and fsx (${FSX_OPS:-100000} operations)"
cargo test --release --workspace --test suites -- --ignored --nocapture --test-threads=1
