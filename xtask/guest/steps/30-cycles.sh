# Seed step 2: $CYCLES unload/load cycles; slab and vmalloc use compared
# before and after (after one warm-up cycle and with caches dropped), with
# the tolerances the host passed in.
rmmod vexfs || fail "rmmod before the cycles failed"
insmod /vexfs/vexfs.ko && rmmod vexfs || fail "warm-up cycle failed"
settle
slab0=$(meminfo_kb Slab)
vmalloc0=$(meminfo_kb VmallocUsed)
objs0=$(slab_bytes)
i=0
while [ "$i" -lt "$CYCLES" ]; do
    insmod /vexfs/vexfs.ko || fail "insmod failed in cycle $i" cycles_done="$i"
    grep -qw vexfs /proc/filesystems || fail "not registered in cycle $i" cycles_done="$i"
    rmmod vexfs || fail "rmmod failed in cycle $i" cycles_done="$i"
    i=$((i + 1))
done
settle
slab1=$(meminfo_kb Slab)
vmalloc1=$(meminfo_kb VmallocUsed)
objs1=$(slab_bytes)
ds=$((slab1 - slab0))
dv=$((vmalloc1 - vmalloc0))
dobj=$(((objs1 - objs0) / 1024))
kv="cycles=$CYCLES slab_before_kb=$slab0 slab_after_kb=$slab1 vmalloc_before_kb=$vmalloc0 vmalloc_after_kb=$vmalloc1 slab_objects_delta_kb=$dobj slab_tolerance_kb=$SLAB_TOL_KB vmalloc_tolerance_kb=$VMALLOC_TOL_KB"
# Reload for the steps that follow.
insmod /vexfs/vexfs.ko || fail "reload after the cycles failed" $kv
[ "$ds" -le "$SLAB_TOL_KB" ] || fail "Slab grew by $ds KiB" $kv
[ "$dobj" -le "$SLAB_TOL_KB" ] || fail "slab objects grew by $dobj KiB" $kv
[ "$dv" -le "$VMALLOC_TOL_KB" ] || fail "VmallocUsed grew by $dv KiB" $kv
pass $kv
