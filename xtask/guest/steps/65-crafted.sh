# Seed step 3d: damaged images that still mount. A small VexFS on /dev/vdc
# with directories, files, symlinks and embeddings under an index is
# damaged in one place at a time (part of the inode table, directory and
# attribute blocks, the block bitmap), then mounted and walked: listing,
# stat, reading every file and embedding, a search, creating and removing
# files. Each image must either refuse to mount with a "cannot mount" log
# line, or mount and answer every call (errors such as EUCLEAN allowed)
# within the time limit, then unmount. Oopses and kernel warnings are
# caught by the dmesg step. One "log case ..." line per image goes to the
# report.
C=/mnt/crafted
V="/vexfs/vexctl -q"
mkdir -p $C
/vexfs/mkfs.vexfs -F /dev/vdc > /tmp/mkfs.txt 2>&1 || { cat /tmp/mkfs.txt; fail "mkfs.vexfs of /dev/vdc failed"; }
layout=$(grep '^Layout:' /tmp/mkfs.txt)
itab=$(echo "$layout" | sed 's/.*inode table \([0-9]*\)+.*/\1/')
data=$(echo "$layout" | sed 's/.*data from block \([0-9]*\) .*/\1/')
[ -n "$itab" ] && [ -n "$data" ] || fail "no layout in the mkfs output: $layout"
mount -t vexfs /dev/vdc $C || fail "mount of the fresh image failed"
mkdir -p $C/a $C/b/c
awk 'BEGIN { srand(3); for (i = 0; i < 40; i++) { s = ""
    for (j = 0; j < 4; j++) s = s (j ? " " : "") sprintf("%.4f", rand()); print s } }' > /tmp/c.txt
$V index create $C/a --dim 4 --strategy flat || fail "index create failed"
$V import $C/a --vectors /tmp/c.txt --create --prefix e || fail "import failed"
for i in 1 2 3 4 5 6 7 8; do
    head -c $((i * 1500)) /vexfs/vexctl > "$C/b/f$i"
    ln -s "f$i" "$C/b/c/l$i"
done
umount $C || fail "umount of the fresh image failed"
dd if=/dev/vdc of=/tmp/pristine.img bs=1M 2>/dev/null || fail "copying the image failed"
# Deterministic garbage: bytes of a binary in the initramfs.
dd if=/vexfs/vexctl of=/tmp/garbage bs=4096 skip=50 count=2 2>/dev/null

garble() { # block byte-offset length
    dd if=/tmp/garbage of=/dev/vdc bs=1 count="$3" seek=$(($1 * 4096 + $2)) conv=notrunc 2>/dev/null
}
# The walk runs as its own script, so a time limit can stop it.
cat > /tmp/walk.sh <<EOF2
ls -laR $C > /dev/null
find $C -exec stat {} \; > /dev/null
find $C -type f -exec cat {} \; > /dev/null
for f in $C/a/e1 $C/a/e7 $C/a/e33; do $V get "\$f"; done
$V search $C/a --values 0.5,0.5,0.5,0.5 -k 5
$V search $C --values 0.5,0.5,0.5,0.5 -k 5 --exact
echo new > $C/b/new && rm $C/b/new
rm -f $C/b/f3 $C/a/e2
mkdir $C/b/d2 && rmdir $C/b/d2
true
EOF2
refused=0; mounted=0; euclean=0; n=0
# what:block:offset:length; "spread" damages the first 64 bytes of every
# 4th block for `length` blocks from `block` (directory nodes, attribute
# blobs and index data all live in the first blocks of the data area).
for case in "itab:$itab:0:4096" "itab:$itab:256:3840" "itab:$((itab + 1)):0:4096" "itab:$itab:1024:200" \
            "data:$data:0:4096" "data:$((data + 1)):0:8192" "spread:$data:0:64" "spread:$((data + 2)):0:64" \
            "bitmap:1:0:64"; do
    IFS=: read -r what blk off len <<EOF3
$case
EOF3
    n=$((n + 1))
    dd if=/tmp/pristine.img of=/dev/vdc bs=1M conv=notrunc 2>/dev/null
    if [ "$what" = spread ]; then
        b=$blk
        while [ $b -lt $((blk + len)) ]; do garble $b 0 64; b=$((b + 4)); done
    else
        garble "$blk" "$off" "$len"
    fi
    sync; echo 3 > /proc/sys/vm/drop_caches
    n0=$(dmesg | wc -l)
    if mount -t vexfs /dev/vdc $C 2> /tmp/mount.err; then
        mounted=$((mounted + 1))
        timeout 120 sh /tmp/walk.sh > /tmp/walk.out 2>&1
        rc=$?
        [ $rc -eq 143 ] && fail "case $n ($what block $blk): the walk did not finish in 120 s"
        e=$(grep -c 'Structure needs cleaning' /tmp/walk.out)
        euclean=$((euclean + e))
        echo "log case $n: $what block $blk +$off/$len mounted; walk exit $rc, $e EUCLEAN" >> /tmp/step.extra
        umount $C || fail "case $n ($what block $blk): umount failed"
    else
        refused=$((refused + 1))
        cat /tmp/mount.err
        dmesg_since "$n0" | grep -q "vexfs: vdc: cannot mount" || fail "case $n: refused without a log line"
        echo "log case $n: $what block $blk +$off/$len refused: $(dmesg_since "$n0" | grep 'cannot mount' | head -n 1)" >> /tmp/step.extra
    fi
done
[ $((refused + euclean)) -gt 0 ] || fail "no damage was noticed in $n damaged images"
pass images="$n" refused="$refused" mounted="$mounted" euclean_errors="$euclean"
