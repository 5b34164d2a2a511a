# Seed step 3 (suites): shared file mappings on the kernel mount. A file
# written through a mapping (msync, munmap) and patched with pwrite reads
# back the same through the mapping and read(2), then again after a
# remount; a store through a fresh mapping moves mtime and ctime (set to
# 2001 first), and the new mtime is still there after the remount; a
# binary copied onto the mount runs from there (exec maps it).
/vexfs/mmap_check write /mnt/vexfs/mmap.bin || fail "mapped write failed"
times=$(/vexfs/mmap_check mtime /mnt/vexfs/mmap.bin) || fail "a mapped write did not move mtime: $times"
sum=$(sha256sum /mnt/vexfs/mmap.bin | cut -d' ' -f1)
cp /bin/busybox /mnt/vexfs/busybox.copy || fail "copy of busybox failed"
umount /mnt/vexfs || fail "umount failed"
mount -t vexfs /dev/vdb /mnt/vexfs || fail "remount failed"
/vexfs/mmap_check verify /mnt/vexfs/mmap.bin || fail "mapped read after the remount failed"
[ "$(sha256sum /mnt/vexfs/mmap.bin | cut -d' ' -f1)" = "$sum" ] || fail "file changed across the remount"
out=$(/mnt/vexfs/busybox.copy echo exec-ok) || fail "exec from the mount failed"
[ "$out" = exec-ok ] || fail "exec from the mount printed '$out'"
size=$(stat -c %s /mnt/vexfs/mmap.bin)
rm -f /mnt/vexfs/mmap.bin /mnt/vexfs/busybox.copy
pass size="$size" $times
