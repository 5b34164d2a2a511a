# Seed step 6a: umount, fsck.vexfs finds the image clean, rmmod.
umount /mnt/vexfs || fail "umount failed"
/vexfs/fsck.vexfs -f -n /dev/vdb
rc=$?
[ "$rc" -eq 0 ] || fail "fsck.vexfs exit status $rc" fsck_status="$rc"
rmmod vexfs || fail "rmmod failed" fsck_status=0
! grep -q '^vexfs ' /proc/modules || fail "still in /proc/modules" fsck_status=0
pass fsck_status=0
