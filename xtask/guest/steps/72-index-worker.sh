# Seed step 5 (the module's side): the same HNSW bulk load of IW_ROWS
# vectors, more than the 8,192 pending vectors at which writers without an
# insertion worker insert into the graph themselves, on a fresh VexFS on
# /dev/vdd mounted with index_worker=0 (writers insert) and index_worker=1
# (the background worker inserts), alternating IW_RUNS times. vexfs-vecbench
# reports the bulk insert rate, the vectors still pending when the last
# bulk call returns, and the build: the time until none is pending. With
# the worker more vectors must be pending after the load than without it
# (writers left the graph alone: all of them, unless the loader paused for
# a poll interval), the build must end within the vecbench limit, the
# recall must hold, and each image must pass fsck after its unmount.
M=/mnt/iworker
B=/vexfs/vexfs-vecbench
P=/sys/module/vexfs/parameters/index_worker
DIM=8
K=10
QUERIES=50
PARAMS="m=8,ef_construction=32"
mkdir -p $M
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo | tr ' ' '_')
echo "iworker cpu guest=$cpu rows=$IW_ROWS dim=$DIM queries=$QUERIES k=$K params=$PARAMS runs=$IW_RUNS" >> /tmp/step.extra
restore() { echo 1 > $P; }
one() { # mode(0|1) run
    /vexfs/mkfs.vexfs -q -F -b "${BLOCK_SIZE:-4096}" /dev/vdd || return 1
    echo "$1" > $P || return 1
    mount -t vexfs /dev/vdd $M || return 1
    out=$($B $M/d hnsw "$IW_ROWS" $DIM $QUERIES $K "$PARAMS") || { echo "$out"; umount $M; return 1; }
    echo "$out"
    umount $M || return 1
    /vexfs/fsck.vexfs -f -n /dev/vdd > /tmp/iw-fsck.txt 2>&1 || { cat /tmp/iw-fsck.txt; return 1; }
    if [ "$1" = 1 ]; then mode=worker; else mode=inline; fi
    echo "iworker mode=$mode run=$2 $out" >> /tmp/step.extra
    case "$out" in *"recall=0."[0-7]*) echo "recall too low"; return 1 ;; esac
    left=$(echo "$out" | sed 's/.*pending_after_insert=\([0-9]*\).*/\1/')
    if [ "$1" = 0 ]; then
        inline_left=$left
    elif [ "$left" -le "$inline_left" ]; then
        echo "with the worker $left vectors were pending after the load, without it $inline_left"
        return 1
    fi
}
r=1
while [ $r -le "$IW_RUNS" ]; do
    one 0 $r || { restore; fail "the run with index_worker=0 failed"; }
    one 1 $r || { restore; fail "the run with index_worker=1 failed"; }
    r=$((r + 1))
done
restore
pass rows="$IW_ROWS" runs="$IW_RUNS"
