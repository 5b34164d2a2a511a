# Seed step 5: the ANN workload per strategy through the ioctls on the
# kernel mount, then the same workload through vexfs-fuse on the same
# image in this guest (vexfs-vecbench: bulk inserts, the build on the
# first search and the wait until no vector is pending, VEC_QUERIES k-NN
# searches, recall against an exact scan),
# VEC_RUNS times on each mount, alternating (fresh directories each time).
# Each run prints a "bench" line; the host puts kernel and FUSE side by
# side in report.md / report.json. Both mounts run the same core on the
# same vectors; the flat (exact) index must find every true neighbour on
# both. Then each mount searches the directories the other one built
# (vexfs-vecbench --query: the same image, the indexes as saved), and its
# answers must equal the builder's, query by query, for every strategy:
# the module's distance kernels (SSE2 in FPU sections, or soft-float)
# and the daemon's (SSE2 on QEMU's CPU model) give the same bits. Whether
# the two mounts' own builds came out alike is reported, not required:
# an insertion worker that takes rows in between bulk calls trains IVF
# on fewer of them, or centres LSH on a different sample.
M=/mnt/vexfs
B=/vexfs/vexfs-vecbench
STRATEGIES="hnsw flat ivf ivfpq lsh"
K=10
grep -q "^/dev/vdb $M vexfs " /proc/mounts || fail "the kernel mount is not there"
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo | tr ' ' '_')
echo "bench cpu guest=$cpu rows=$VEC_ROWS dim=$VEC_DIM queries=$VEC_QUERIES k=$K runs=$VEC_RUNS" >> /tmp/step.extra
one_run() { # mount-label run-number
    for s in $STRATEGIES; do
        out=$($B "$M/bench-$1-$s-$2" "$s" "$VEC_ROWS" "$VEC_DIM" "$VEC_QUERIES" $K) || {
            echo "$1 $s: $out"; return 1; }
        echo "$out"
        echo "bench mount=$1 run=$2 $out" >> /tmp/step.extra
        [ "$2" -eq 1 ] && echo "$s $(echo "$out" | sed 's/.*digest=//')" >> "/tmp/digest-$1"
        if [ "$s" = flat ]; then
            echo "$out" | grep -q 'recall=1.000' || { echo "$1: flat is not exact: $out"; return 1; }
        fi
    done
}
one_query() { # label built-by run: search what the other mount built
    for s in $STRATEGIES; do
        out=$($B --query "$M/bench-$2-$s-$3" "$s" "$VEC_ROWS" "$VEC_DIM" "$VEC_QUERIES" $K) || {
            echo "$1 $s: $out"; return 1; }
        echo "bench mount=$1 run=$3 $out" >> /tmp/step.extra
        echo "$s $(echo "$out" | sed 's/.*digest=//')" >> "/tmp/digest-$1"
    done
}
die() { kernel_back $M; fail "$@"; }
rm -f /tmp/digest-kernel /tmp/digest-fuse /tmp/digest-fuse-on-kernel /tmp/digest-kernel-on-fuse
# Kernel and FUSE runs alternate, so a busy moment of the host weighs on
# both sides alike.
r=1
while [ $r -le "$VEC_RUNS" ]; do
    one_run kernel $r || die "the benchmark failed on the kernel mount"
    umount $M || fail "umount of the kernel mount failed"
    fuse_up /dev/vdb $M || die "vexfs-fuse did not mount /dev/vdb"
    one_run fuse $r || die "the benchmark failed through vexfs-fuse"
    if [ "$r" -eq 1 ]; then
        one_query fuse-on-kernel kernel 1 || die "vexfs-fuse could not search the kernel's indexes"
    fi
    fuse_down $M || die "unmounting vexfs-fuse failed"
    mount -t vexfs /dev/vdb $M || die "mount -t vexfs after vexfs-fuse failed"
    if [ "$r" -eq 1 ]; then
        one_query kernel-on-fuse fuse 1 || die "the module could not search vexfs-fuse's indexes"
    fi
    r=$((r + 1))
done
paste /tmp/digest-kernel /tmp/digest-fuse
same=$(paste /tmp/digest-kernel /tmp/digest-fuse | awk '$2 == $4 { n++ } END { print n + 0 }')
grep -q "^flat " /tmp/digest-kernel && [ "$(grep '^flat ' /tmp/digest-kernel)" = "$(grep '^flat ' /tmp/digest-fuse)" ] ||
    die "the exact (flat) results differ between the kernel and vexfs-fuse"
for pair in kernel:fuse-on-kernel fuse:kernel-on-fuse; do
    built=${pair%%:*} other=${pair#*:}
    if [ "$(cat "/tmp/digest-$built")" != "$(cat "/tmp/digest-$other")" ]; then
        paste "/tmp/digest-$built" "/tmp/digest-$other"
        die "from the same saved indexes, $other answered differently than the $built mount that built them"
    fi
done
pass strategies=5 same_results="$same" same_image=5
