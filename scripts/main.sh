#!/usr/bin/env bash
# The main job: format an image, mount it with FUSE, copy a real tree in,
# verify every byte, set embeddings as xattrs, unmount, fsck, remount and
# verify again, then run the ANN benchmark's five strategies. Writes a
# report to target/main-report.md and exits non-zero on any failure.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_rust
ensure_packages build-essential pkg-config fuse3 libfuse3-dev attr

WORK="${VEXFS_WORK:-$ROOT/target/main-job}"
IMG="$WORK/vexfs.img"
MNT="$WORK/mnt"
SRC="${VEXFS_SOURCE_TREE:-/usr/share}"
REPORT="$ROOT/target/main-report.md"
BIN="$ROOT/target/sbin"
mkdir -p "$WORK" "$MNT"

step() { printf '[%s] %-40s %s\n' "$(date +%H:%M:%S)" "$1" "$2" | tee -a "$REPORT.steps"; }
cleanup() { mountpoint -q "$MNT" && fusermount3 -u "$MNT" 2>/dev/null || true; }
trap cleanup EXIT
rm -f "$REPORT.steps"

log "building release binaries"
cargo build --release -q -p vexfs-tools -p vexfs-fuse -p vexfs-anns-bench
bash scripts/install.sh --no-build --prefix "$ROOT/target/inst" >/dev/null 2>&1
mkdir -p "$BIN"
for b in sbin/mkfs.vexfs sbin/fsck.vexfs bin/vexfs-fuse; do ln -sf "$ROOT/target/inst/$b" "$BIN/"; done
ln -sf "$ROOT/target/release/anns_benchmark" "$BIN/"

log "mkfs.vexfs on a 2 GiB image"
rm -f "$IMG"
truncate -s 2G "$IMG"
"$BIN/mkfs.vexfs" -q -L main-job "$IMG"
step "mkfs.vexfs" "ok"

log "mount with vexfs-fuse"
"$BIN/vexfs-fuse" "$IMG" "$MNT"
mountpoint -q "$MNT"
step "mount (FUSE)" "ok"

log "copy $SRC into the filesystem"
TREE_FILES=$(find "$SRC" -xdev -type f 2>/dev/null | wc -l)
t0=$(date +%s.%N)
mkdir "$MNT/tree"
cp -a "$SRC/." "$MNT/tree/"
t1=$(date +%s.%N)
step "cp -a $SRC ($TREE_FILES files)" "$(python3 -c "print(f'{$t1-$t0:.1f} s')")"

log "verify contents and metadata"
(cd "$SRC" && find . -xdev -type f -print0 | sort -z | xargs -0 sha256sum) > "$WORK/manifest"
(cd "$MNT/tree" && sha256sum --quiet -c "$WORK/manifest")
diff -r --no-dereference "$SRC" "$MNT/tree"
step "verify (sha256 + diff -r)" "ok"

log "embeddings as extended attributes"
python3 - "$MNT/tree" <<'PY'
import os, struct, sys, random
root = sys.argv[1]
rng = random.Random(7)
n = 0
for dirpath, _, files in os.walk(root):
    for f in files[:2]:
        p = os.path.join(dirpath, f)
        if os.path.islink(p):
            continue
        vec = struct.pack("<384f", *[rng.uniform(-1, 1) for _ in range(384)])
        os.setxattr(p, "user.vexfs.embedding", vec)
        assert os.getxattr(p, "user.vexfs.embedding") == vec
        n += 1
        if n >= 200:
            break
    if n >= 200:
        break
print(n)
PY
step "setxattr/getxattr 384-d embeddings" "ok"

log "unmount and fsck"
fusermount3 -u "$MNT"
"$BIN/fsck.vexfs" -f -n "$IMG"
step "fsck.vexfs -f -n" "clean"

log "remount and verify again"
"$BIN/vexfs-fuse" "$IMG" "$MNT"
(cd "$MNT/tree" && sha256sum --quiet -c "$WORK/manifest")
df -h "$MNT" | tail -1 | tee -a "$REPORT.steps"
fusermount3 -u "$MNT"
step "remount + verify" "ok"

log "ANN benchmark: the five strategies (HNSW, IVF, IVF-PQ, LSH, Flat)"
"$BIN/anns_benchmark" --profile ci --peers none --out "$WORK/anns" | tee "$WORK/anns.log"
step "anns_benchmark (ci profile)" "ok"

{
    echo "# VexFS main job report"
    echo
    echo '```'
    cat "$REPORT.steps"
    echo '```'
    echo
    echo "## ANN benchmark"
    echo
    echo '```'
    tail -n 40 "$WORK/anns.log"
    echo '```'
} > "$REPORT"
log "report: $REPORT"
