# Seed step 3b: copy a real tree in, checksum it, exercise the namespace
# operations, remount, and verify every checksum and link again.
src=/payload/tree
dst=/mnt/vexfs/tree
cp -a "$src" "$dst" || fail "cp -a into the mount failed"
(cd "$src" && find . -type f | sort | xargs sha256sum) > /tmp/sums || fail "checksums of the source failed"
files=$(wc -l < /tmp/sums)
bytes=$(du -sk "$src" | awk '{ print $1 }')
(cd "$dst" && sha256sum -c -s /tmp/sums) || fail "checksums differ before the remount"

# Namespace operations on the kernel mount.
m=/mnt/vexfs/ops
mkdir "$m" && mkdir "$m/sub" || fail "mkdir failed"
echo hello > "$m/a" || fail "create failed"
echo more >> "$m/a" || fail "append failed"
ln "$m/a" "$m/hard" || fail "link failed"
ln -s a "$m/soft" || fail "symlink failed"
[ "$(readlink "$m/soft")" = a ] || fail "readlink gave the wrong target"
mv "$m/a" "$m/sub/b" || fail "rename failed"
[ "$(stat -c %h "$m/hard")" = 2 ] || fail "link count is not 2"
truncate -s 3 "$m/hard" || fail "truncate failed"
chmod 640 "$m/hard" || fail "chmod failed"
touch "$m/gone" && rm "$m/gone" || fail "unlink failed"
mkdir "$m/empty" && rmdir "$m/empty" || fail "rmdir failed"
[ ! -e "$m/gone" ] || fail "unlinked file still visible"
dd if=/dev/zero of="$m/sparse" bs=4096 seek=1000 count=1 2>/dev/null || fail "sparse write failed"

# Concurrent writers and readers (two vCPUs): the per-superblock lock.
par=/mnt/vexfs/par
mkdir "$par" || fail "mkdir of $par failed"
for i in 1 2 3 4; do
    cp -a "$src/d0$i" "$par/w$i" &
done
(cd "$dst" && sha256sum -c -s /tmp/sums) &
reader=$!
wait $reader || fail "checksums differ while writers ran"
wait
for i in 1 2 3 4; do
    diff -r "$src/d0$i" "$par/w$i" > /dev/null || fail "concurrent copy $i differs"
done

umount /mnt/vexfs || fail "umount failed"
mount -t vexfs /dev/vdb /mnt/vexfs || fail "remount failed"
(cd "$dst" && sha256sum -c -s /tmp/sums) || fail "checksums differ after the remount" files="$files"
[ "$(cat "$m/sub/b")" = hel ] || fail "hard-linked data wrong after the remount"
[ "$(stat -c %a "$m/hard")" = 640 ] || fail "mode lost across the remount"
[ "$(readlink "$m/soft")" = a ] || fail "symlink lost across the remount"
[ "$(stat -c %s "$m/sparse")" = $((1001 * 4096)) ] || fail "sparse size wrong"
for i in 1 2 3 4; do
    diff -r "$src/d0$i" "$par/w$i" > /dev/null || fail "concurrent copy $i differs after the remount"
done
links=$(find "$dst" -type l | wc -l)
dirs=$(find "$dst" -type d | wc -l)
pass files="$files" dirs="$dirs" symlinks="$links" kib="$bytes"
