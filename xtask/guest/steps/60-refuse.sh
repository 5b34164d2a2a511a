# Seed step 3c: images that are not VexFS, or are damaged, refuse to mount
# with the right errno (EINVAL: not VexFS, or not all of it; EUCLEAN:
# damaged) and a kernel log line naming the device.
mkdir -p /mnt/bad
check_refused() { # device, errno text, label
    n0=$(dmesg | wc -l)
    if out=$(mount -t vexfs "$1" /mnt/bad 2>&1); then
        umount /mnt/bad
        fail "$3 image mounted"
    fi
    echo "$out"
    echo "$out" | grep -q "$2" || fail "$3: expected '$2', got: $out"
    line=$(dmesg_since "$n0" | grep "vexfs: ${1#/dev/}: cannot mount" | head -n 1)
    [ -n "$line" ] || fail "$3: no kernel log line"
    echo "$line"
}
# /dev/vda: zeros, as the host created it.
check_refused /dev/vda "Invalid argument" foreign
# /dev/vdc: a VexFS with its superblock checksum broken.
/vexfs/mkfs.vexfs -q /dev/vdc || fail "mkfs.vexfs of the damaged image failed"
printf '\377\377\377\377' | dd of=/dev/vdc bs=1 seek=200 conv=notrunc 2>/dev/null || fail "dd failed"
sync
check_refused /dev/vdc "Structure needs cleaning" corrupt
# /dev/vdc again: the first 16 MiB of a 32 MiB VexFS (a truncated copy).
/vexfs/mkfs.vexfs -q /tmp/big.img 32M || fail "mkfs.vexfs of the 32 MiB image failed"
dd if=/tmp/big.img of=/dev/vdc bs=1M count=16 conv=notrunc 2>/dev/null || fail "dd failed"
rm -f /tmp/big.img
sync
check_refused /dev/vdc "Invalid argument" truncated
pass images=3
