# The kernel module beside ext4 on the same virtual disk (/dev/vdb), in
# this guest: fs_metabench (creates, stats, failed lookups, listings,
# unlinks of small files) and fio (4 KiB random read and write, 1 MiB
# sequential write and read, buffered, psync). ext4 first, then fio on a
# VexFS mounted with pagecache=0 (the bounce-buffer path), then a fresh
# VexFS (page cache) left mounted for the unmount step. Figures only: the ratios go in
# the report; a problem on the ext4 side skips its numbers, one on the
# VexFS side fails the step.
M=/mnt/vexfs
E=/mnt/ext4
FILES=${FS_BENCH_FILES:-2000}
FIO_MB=${FS_BENCH_FIO_MB:-32}
FIO_S=${FS_BENCH_FIO_S:-4}
umount $M 2>/dev/null

meta() { # dir -> "creates=.. stats=.. ..." on stdout
    /vexfs/fs_metabench "$1" --files "$FILES" --per-dir 500 --json > /tmp/meta.json || return 1
    sed -e 's/[{}"]//g' -e 's/:/=/g' -e 's/,/ /g' /tmp/meta.json
}
fio_one() { # dir rw bs -> MiB/s
    /vexfs/fio --name=b --directory="$1" --size="${FIO_MB}M" --bs="$3" --rw="$2" \
        --ioengine=psync --runtime="$FIO_S" --time_based --end_fsync=1 \
        --output-format=terse --terse-version=3 > /tmp/fio.txt 2>/tmp/fio.err || return 1
    # terse v3: field 7 read KiB/s, field 48 write KiB/s.
    awk -F';' -v rw="$2" '{ k = (rw ~ /read/) ? $7 : $48; printf "%.1f", k / 1024 }' /tmp/fio.txt
}
fios() { # dir label
    for job in randread:4k randwrite:4k write:1m read:1m; do
        rw=${job%:*}; bs=${job#*:}
        v=$(fio_one "$1" "$rw" "$bs") || { cat /tmp/fio.err; return 1; }
        printf ' %s_%s_mibs=%s' "$rw" "$bs" "$v"
    done
}

for m in crc16 mbcache jbd2 crc32c_generic ext4; do
    insmod "/lib/modules/$m.ko" 2>/dev/null
done
ext4=""
if grep -qw ext4 /proc/filesystems && /vexfs/mke2fs -q -F -t ext4 /dev/vdb > /tmp/mke2fs.txt 2>&1; then
    mkdir -p $E
    if mount -t ext4 /dev/vdb $E; then
        ext4="$(meta $E)$(fios $E)" || ext4=""
        umount $E || fail "umount of ext4 failed"
    fi
fi
[ -n "$ext4" ] || { cat /tmp/mke2fs.txt; echo "ext4 baseline unavailable"; }

# The module's first data path (a bounce buffer through the core, no page
# cache), fio only, on a fresh VexFS: the page cache's gain, same run.
P=/sys/module/vexfs/parameters/pagecache
bounce=""
if [ -w $P ]; then
    echo 0 > $P
    /vexfs/mkfs.vexfs -q -F -L bench /dev/vdb || fail "mkfs.vexfs failed"
    mount -t vexfs /dev/vdb $M || fail "mount -t vexfs (pagecache=0) failed"
    bounce=$(fios $M) || fail "fio on the kernel mount (pagecache=0) failed"
    umount $M || fail "umount (pagecache=0) failed"
    echo 1 > $P
fi

/vexfs/mkfs.vexfs -q -F -L bench /dev/vdb || fail "mkfs.vexfs failed"
mount -t vexfs /dev/vdb $M || fail "mount -t vexfs failed"
vexfs=$(meta $M) || fail "fs_metabench on the kernel mount failed"
vexfs="$vexfs$(fios $M)" || fail "fio on the kernel mount failed"

echo "fsbench fs=vexfs-kernel files=$FILES fio_mb=$FIO_MB fio_s=$FIO_S $vexfs" >> /tmp/step.extra
[ -n "$bounce" ] && echo "fsbench fs=vexfs-kernel-bounce fio_mb=$FIO_MB fio_s=$FIO_S $bounce" >> /tmp/step.extra
[ -n "$ext4" ] && echo "fsbench fs=ext4 files=$FILES fio_mb=$FIO_MB fio_s=$FIO_S $ext4" >> /tmp/step.extra
pass files="$FILES" ext4=$([ -n "$ext4" ] && echo yes || echo no)
