# Seed step 3 (suites): O_DIRECT on the kernel mount. fio writes a file
# with O_DIRECT (sequential appends, then random overwrites of 4 KiB, and
# of 512 bytes on the first MiB) and verifies every block against its own
# checksums with O_DIRECT reads; the same bytes must come back through
# the page cache, through O_DIRECT reads after buffered writes went into
# the middle of the file, and after a remount.
F=/mnt/vexfs/direct.bin
fio_direct() { # name rw bs size
    /vexfs/fio --name="$1" --filename=$F --size="$4" --bs="$3" --rw="$2" --direct=1 \
        --ioengine=psync --verify=crc32c --do_verify=1 --verify_fatal=1 \
        --randrepeat=1 --output-format=terse --terse-version=3 > /tmp/dio.txt 2>&1
}
fio_direct append write 64k 8M || fail "O_DIRECT appends did not verify: $(tail -c 300 /tmp/dio.txt)"
fio_direct overwrite randwrite 4k 8M || fail "O_DIRECT 4 KiB overwrites did not verify: $(tail -c 300 /tmp/dio.txt)"
# The first MiB only: 2,048 sector writes are slow under TCG.
fio_direct sectors randwrite 512 1M || fail "O_DIRECT 512-byte overwrites did not verify: $(tail -c 300 /tmp/dio.txt)"
size=$(stat -c %s $F)
[ "$size" = 8388608 ] || fail "the file is $size bytes, want 8388608"
direct_sum() { dd if=$F bs=64k iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1; }
d1=$(direct_sum)
c1=$(sha256sum $F | cut -d' ' -f1)
[ "$d1" = "$c1" ] || fail "O_DIRECT and page cache reads differ"
# Buffered writes into the middle, then O_DIRECT reads must see them.
dd if=/dev/urandom of=$F bs=4096 seek=100 count=16 conv=notrunc 2>/dev/null || fail "buffered overwrite failed"
c2=$(sha256sum $F | cut -d' ' -f1)
d2=$(direct_sum)
[ "$d2" = "$c2" ] || fail "O_DIRECT read missed a buffered write"
[ "$c2" != "$c1" ] || fail "the buffered overwrite changed nothing"
umount /mnt/vexfs || fail "umount failed"
mount -t vexfs /dev/vdb /mnt/vexfs || fail "remount failed"
[ "$(direct_sum)" = "$c2" ] || fail "O_DIRECT read after the remount differs"
[ "$(sha256sum $F | cut -d' ' -f1)" = "$c2" ] || fail "page cache read after the remount differs"
rm -f $F
pass size="$size"
