#!/usr/bin/env bash
# Build and install the tools under the names mkfs(8), fsck(8) and
# mount(8) look for:
#   PREFIX/sbin/mkfs.vexfs  PREFIX/sbin/fsck.vexfs  PREFIX/bin/vexfs-fuse  PREFIX/bin/vexctl
#   PREFIX/sbin/mount.fuse.vexfs -> the FUSE helper (for mount -t fuse.vexfs)
#   PREFIX/bin/vexfs        (the name mount.fuse3 runs for type fuse.vexfs)
# Cargo cannot name a binary with a dot, hence the copy step.
#
#   bash scripts/install.sh [--prefix DIR] [--no-build]   (default /usr/local)
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
PREFIX=/usr/local
BUILD=1
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) PREFIX="$2"; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        *) echo "usage: $0 [--prefix DIR] [--no-build]" >&2; exit 16 ;;
    esac
done
if [ "$BUILD" = 1 ]; then
    ensure_rust
    cargo build --release -q -p vexfs-tools -p vexfs-fuse
fi
R=target/release
install -d "$PREFIX/sbin" "$PREFIX/bin"
install -m 755 "$R/mkfs-vexfs" "$PREFIX/sbin/mkfs.vexfs"
install -m 755 "$R/fsck-vexfs" "$PREFIX/sbin/fsck.vexfs"
install -m 755 "$R/vexfs-fuse" "$PREFIX/bin/vexfs-fuse"
install -m 755 "$R/vexfs" "$PREFIX/bin/vexfs"
install -m 755 "$R/vexctl" "$PREFIX/bin/vexctl"
ln -sf ../bin/vexfs "$PREFIX/sbin/mount.fuse.vexfs"
echo "installed mkfs.vexfs, fsck.vexfs, vexfs-fuse and the fuse.vexfs mount helper under $PREFIX" >&2
