# Seed step 3a: mkfs.vexfs on /dev/vdb, mount -t vexfs, look around.
/vexfs/mkfs.vexfs -q -L vmtest -b "${BLOCK_SIZE:-4096}" /dev/vdb || fail "mkfs.vexfs failed"
mkdir -p /mnt/vexfs
mount -t vexfs /dev/vdb /mnt/vexfs || fail "mount -t vexfs failed"
grep -q '^/dev/vdb /mnt/vexfs vexfs ' /proc/mounts || fail "not in /proc/mounts"
ls -la /mnt/vexfs || fail "ls of the root failed"
stat /mnt/vexfs || fail "stat of the root failed"
df -k /mnt/vexfs || fail "statfs failed"
free_kb=$(df -k /mnt/vexfs | awk 'NR == 2 { print $4 }')
[ -n "$free_kb" ] && [ "$free_kb" -gt 0 ] || fail "statfs reports no free space"
entries=$(ls -a /mnt/vexfs | wc -l)
pass free_kb="$free_kb" root_entries="$entries" block_size="${BLOCK_SIZE:-4096}"
