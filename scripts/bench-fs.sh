#!/usr/bin/env bash
# Filesystem benchmark: VexFS over FUSE against ext4 on a loop device, same
# machine, same run. fio 4 KiB random read/write, 1 MiB sequential write and
# read, and fs_metabench creates/stats/unlinks. Prints a Markdown table of
# absolute figures and VexFS/ext4 ratios and writes target/bench-fs/results.json.
#
#   bash scripts/bench-fs.sh [--runtime SECONDS] [--size MiB] [--files N] [--jobs N]
#
# The random read/write job runs JOBS processes (default 2, one per core
# here) on separate files of SIZE/JOBS each; sequential jobs use one.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
RUNTIME=15
SIZE_MB=1024
FILES=20000
JOBS=2
while [ $# -gt 0 ]; do
    case "$1" in
        --runtime) RUNTIME="$2"; shift 2 ;;
        --size) SIZE_MB="$2"; shift 2 ;;
        --files) FILES="$2"; shift 2 ;;
        --jobs) JOBS="$2"; shift 2 ;;
        *) echo "usage: $0 [--runtime S] [--size MiB] [--files N] [--jobs N]" >&2; exit 16 ;;
    esac
done
ensure_rust
ensure_packages fio fuse3 e2fsprogs python3
cargo build --release -q -p vexfs-tools -p vexfs-fuse -p vexfs-fsbench

OUT="$ROOT/target/bench-fs"
mkdir -p "$OUT/ext4" "$OUT/vexfs"
IMG_SIZE=$((SIZE_MB * 3))M
LOOPDEV=""
cleanup() {
    mountpoint -q "$OUT/vexfs" && fusermount3 -u "$OUT/vexfs" || true
    mountpoint -q "$OUT/ext4" && umount "$OUT/ext4" || true
    [ -n "$LOOPDEV" ] && losetup -d "$LOOPDEV" 2>/dev/null || true
}
trap cleanup EXIT

log "ext4 on a loop device"
rm -f "$OUT/ext4.img" "$OUT/vexfs.img"
truncate -s "$IMG_SIZE" "$OUT/ext4.img"
mkfs.ext4 -q -F "$OUT/ext4.img"
LOOPDEV=$(losetup --find --show "$OUT/ext4.img")
mount "$LOOPDEV" "$OUT/ext4"

log "VexFS over FUSE"
truncate -s "$IMG_SIZE" "$OUT/vexfs.img"
target/release/mkfs-vexfs -q "$OUT/vexfs.img"
target/release/vexfs-fuse "$OUT/vexfs.img" "$OUT/vexfs"

fio_iops() { # dir name rw bs [jobs] -> prints "read_iops write_iops read_MBps write_MBps"
    local dir="$1" name="$2" rw="$3" bs="$4" jobs="${5:-1}"
    fio --name="$name" --directory="$dir" --rw="$rw" --bs="$bs" --size="$((SIZE_MB / jobs))M" \
        --numjobs="$jobs" --group_reporting \
        --ioengine=psync --runtime="$RUNTIME" --time_based=$([ "$rw" = randrw ] && echo 1 || echo 0) \
        --end_fsync=1 --output-format=json > "$OUT/$name.json"
    python3 - "$OUT/$name.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0]
print(f'{j["read"]["iops"]:.0f} {j["write"]["iops"]:.0f} {j["read"]["bw"]/1024:.0f} {j["write"]["bw"]/1024:.0f}')
PY
}

declare -A R
for fs in ext4 vexfs; do
    d="$OUT/$fs"
    log "$fs: fio randrw 4k"
    read -r ri wi _ _ <<< "$(fio_iops "$d" "$fs-randrw" randrw 4k "$JOBS")"
    R[$fs.randrw]=$((ri + wi))
    rm -f "$d"/"$fs"-randrw*
    log "$fs: fio seq write 1M"
    read -r _ _ _ wbw <<< "$(fio_iops "$d" "$fs-seqwrite" write 1M)"
    R[$fs.seqwrite]=$wbw
    sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
    log "$fs: fio seq read 1M"
    read -r _ _ rbw _ <<< "$(fio_iops "$d" "$fs-seqwrite" read 1M)"
    R[$fs.seqread]=$rbw
    rm -f "$d"/"$fs"-seqwrite*
    log "$fs: metadata"
    read -r c s u <<< "$(target/release/fs_metabench "$d" --files "$FILES" --json | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["creates_per_s"], j["stats_per_s"], j["unlinks_per_s"])')"
    R[$fs.creates]=$c; R[$fs.stats]=$s; R[$fs.unlinks]=$u
done

{
    echo "| workload | ext4 (loop) | VexFS (FUSE) | VexFS / ext4 |"
    echo "|---|---|---|---|"
    for k in randrw:"fio 4 KiB randrw ($JOBS jobs), IOPS" seqwrite:"fio 1 MiB seq write, MiB/s" seqread:"fio 1 MiB seq read, MiB/s" creates:"creates/s" stats:"stats/s" unlinks:"unlinks/s"; do
        key="${k%%:*}"; label="${k#*:}"
        e=${R[ext4.$key]}; v=${R[vexfs.$key]}
        ratio=$(python3 -c "print(f'{$v/$e:.2f}' if $e else 'n/a')")
        echo "| $label | $e | $v | $ratio |"
    done
} | tee "$OUT/results.md"
python3 - "$OUT/results.json" <<PY
import json, sys
r = {$(for k in "${!R[@]}"; do printf '"%s": %s, ' "$k" "${R[$k]}"; done)}
json.dump(r, open(sys.argv[1], "w"), indent=1)
PY
