#!/usr/bin/env bash
# Filesystem benchmark: VexFS over FUSE against ext4 on a loop device, same
# machine, same run. fio 4 KiB random read/write, 1 MiB sequential write and
# read, and fs_metabench creates/stats/unlinks. Prints a Markdown table of
# absolute figures and VexFS/ext4 ratios and writes target/bench-fs/results.json.
#
#   bash scripts/bench-fs.sh [--runtime SECONDS] [--size MiB] [--files N] [--jobs N]
#                            [--runs N] [--meta-only] [--baseline-fuse BIN]
#                            [--xattr-only] [--xattr-names "1 100 10000"]
#
# The random read/write job runs JOBS processes (default 2, one per core
# here) on separate files of SIZE/JOBS each; sequential jobs use one.
# The metadata workload runs RUNS times (default 1) on each filesystem,
# interleaved, and reports medians. --meta-only skips fio. --baseline-fuse
# mounts a third image with another vexfs-fuse binary (an older build) and
# adds its metadata rates as a column, so a change is measured against its
# base and ext4 in the same run. --xattr-only runs only fs_xattrbench:
# set, get and list with each count of names on one file (8-byte values),
# RUNS rounds interleaved across filesystems, medians, into
# target/bench-fs/xattr.md and xattr-runs.jsonl.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
RUNTIME=15
SIZE_MB=1024
FILES=20000
JOBS=2
RUNS=1
META_ONLY=0
BASE_FUSE=""
XATTR_ONLY=0
XATTR_NAMES="1 100 10000"
while [ $# -gt 0 ]; do
    case "$1" in
        --runtime) RUNTIME="$2"; shift 2 ;;
        --size) SIZE_MB="$2"; shift 2 ;;
        --files) FILES="$2"; shift 2 ;;
        --jobs) JOBS="$2"; shift 2 ;;
        --runs) RUNS="$2"; shift 2 ;;
        --meta-only) META_ONLY=1; shift ;;
        --baseline-fuse) BASE_FUSE="$(realpath "$2")"; shift 2 ;;
        --xattr-only) XATTR_ONLY=1; shift ;;
        --xattr-names) XATTR_NAMES="$2"; shift 2 ;;
        *) echo "usage: $0 [--runtime S] [--size MiB] [--files N] [--jobs N] [--runs N] [--meta-only] [--baseline-fuse BIN] [--xattr-only] [--xattr-names LIST]" >&2; exit 16 ;;
    esac
done
ensure_rust
ensure_packages fio fuse3 e2fsprogs python3
cargo build --release -q -p vexfs-tools -p vexfs-fuse -p vexfs-fsbench

OUT="$ROOT/target/bench-fs"
mkdir -p "$OUT/ext4" "$OUT/vexfs" "$OUT/base"
IMG_SIZE=$((SIZE_MB * 3))M
LOOPDEV=""
cleanup() {
    mountpoint -q "$OUT/vexfs" && fusermount3 -u "$OUT/vexfs" || true
    mountpoint -q "$OUT/base" && fusermount3 -u "$OUT/base" || true
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
FSES="ext4 vexfs"
if [ -n "$BASE_FUSE" ]; then
    log "VexFS over FUSE with the baseline daemon $BASE_FUSE"
    rm -f "$OUT/base.img"
    truncate -s "$IMG_SIZE" "$OUT/base.img"
    target/release/mkfs-vexfs -q "$OUT/base.img"
    "$BASE_FUSE" "$OUT/base.img" "$OUT/base"
    FSES="ext4 vexfs base"
fi
CPU=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
log "CPU: $CPU ($(nproc) cores)"

if [ "$XATTR_ONLY" = 1 ]; then
    # Attributes: RUNS rounds, each over every count and filesystem in
    # turn; a refusal (ext4 caps a file's attributes at one block) is
    # recorded as such.
    : > "$OUT/xattr-runs.jsonl"
    for run in $(seq "$RUNS"); do
        for n in $XATTR_NAMES; do
            for fs in $FSES; do
                log "$fs: xattrs, $n names (run $run/$RUNS)"
                target/release/fs_xattrbench "$OUT/$fs" --names "$n" --json \
                    | sed "s/^{/{\"fs\":\"$fs\",\"run\":$run,/" >> "$OUT/xattr-runs.jsonl" || true
            done
        done
    done
    python3 - "$OUT/xattr-runs.jsonl" "$CPU ($(nproc) cores)" "$RUNS" "$FSES" <<'PY' | tee "$OUT/xattr.md"
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
cpu, runs, fses = sys.argv[2], sys.argv[3], sys.argv[4].split()
label = {"ext4": "ext4 (loop)", "vexfs": "VexFS (FUSE)", "base": "baseline (FUSE)"}
def med(fs, n, k):
    v = [r[k] for r in rows if r["fs"] == fs and r["names"] == n and r.get(k) is not None]
    return statistics.median(v) if v else None
print(f"CPU: {cpu}; 8-byte values, one file; median of {runs} run(s); names/s for list")
print()
print("| names | op | " + " | ".join(label[f] for f in fses) + " | VexFS / ext4 |" + (" VexFS / baseline |" if "base" in fses else ""))
print("|---|---|" + "---|" * len(fses) + "---|" + ("---|" if "base" in fses else ""))
for n in sorted({r["names"] for r in rows}):
    for k, op in (("set_per_s", "set"), ("get_per_s", "get"), ("list_names_per_s", "list")):
        v = {f: med(f, n, k) for f in fses}
        cell = lambda x: "refused" if x is None else f"{x:.0f}"
        ratio = lambda a, b: f"{a / b:.2f}" if a and b else "n/a"
        line = f"| {n} | {op} | " + " | ".join(cell(v[f]) for f in fses) + f" | {ratio(v.get('vexfs'), v.get('ext4'))} |"
        if "base" in fses:
            line += f" {ratio(v.get('vexfs'), v.get('base'))} |"
        print(line)
PY
    exit 0
fi

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
    [ "$META_ONLY" = 1 ] && break
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
done

# Metadata: RUNS rounds, each over every filesystem in turn, so a noisy
# spell hits all of them; medians per filesystem.
rm -f "$OUT"/*-meta.jsonl
for run in $(seq "$RUNS"); do
    for fs in $FSES; do
        log "$fs: metadata (run $run/$RUNS)"
        target/release/fs_metabench "$OUT/$fs" --files "$FILES" --json >> "$OUT/$fs-meta.jsonl"
    done
done
for fs in $FSES; do
    read -r c s m l u <<< "$(python3 - "$OUT/$fs-meta.jsonl" "$RUNS" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])][-int(sys.argv[2]):]
keys = ("creates_per_s", "stats_per_s", "misses_per_s", "listings_per_s", "unlinks_per_s")
print(*(round(statistics.median(r[k] for r in rows)) for k in keys))
PY
)"
    R[$fs.creates]=$c; R[$fs.stats]=$s; R[$fs.misses]=$m; R[$fs.listings]=$l; R[$fs.unlinks]=$u
done
# Every run, labelled, beside the medians (the table can be re-derived).
for fs in $FSES; do sed "s/^{/{\"fs\":\"$fs\",/" "$OUT/$fs-meta.jsonl"; done > "$OUT/meta-runs.jsonl"
rm -f "$OUT"/*-meta.jsonl


{
    echo "CPU: $CPU ($(nproc) cores); metadata: $FILES files, median of $RUNS run(s)"
    echo
    if [ -n "$BASE_FUSE" ]; then
        echo "| workload | ext4 (loop) | VexFS (FUSE) | VexFS / ext4 | baseline (FUSE) | baseline / ext4 |"
        echo "|---|---|---|---|---|---|"
    else
        echo "| workload | ext4 (loop) | VexFS (FUSE) | VexFS / ext4 |"
        echo "|---|---|---|---|"
    fi
    for k in randrw:"fio 4 KiB randrw ($JOBS jobs), IOPS" seqwrite:"fio 1 MiB seq write, MiB/s" seqread:"fio 1 MiB seq read, MiB/s" creates:"creates/s" stats:"stats/s" misses:"failed lookups/s" listings:"listings of a 1000-entry directory/s" unlinks:"unlinks/s"; do
        key="${k%%:*}"; label="${k#*:}"
        [ -n "${R[ext4.$key]:-}" ] || continue
        e=${R[ext4.$key]}; v=${R[vexfs.$key]}
        ratio=$(python3 -c "print(f'{$v/$e:.2f}' if $e else 'n/a')")
        if [ -n "$BASE_FUSE" ] && [ -n "${R[base.$key]:-}" ]; then
            b=${R[base.$key]}
            bratio=$(python3 -c "print(f'{$b/$e:.2f}' if $e else 'n/a')")
            echo "| $label | $e | $v | $ratio | $b | $bratio |"
        elif [ -n "$BASE_FUSE" ]; then
            echo "| $label | $e | $v | $ratio | | |"
        else
            echo "| $label | $e | $v | $ratio |"
        fi
    done
} | tee "$OUT/results.md"
python3 - "$OUT/results.json" <<PY
import json, sys
r = {$(for k in "${!R[@]}"; do printf '"%s": %s, ' "$k" "${R[$k]}"; done)}
json.dump(r, open(sys.argv[1], "w"), indent=1)
PY
