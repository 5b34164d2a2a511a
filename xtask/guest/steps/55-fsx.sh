# Seed step 3 (suites): fsx, random reads, writes, mapped reads and
# writes, truncates, fallocate, hole punches, sendfile and copy_file_range
# checked against an in-memory model, then the file must survive a remount
# byte for byte.
mkdir -p /tmp/fsx-art
# -v logs every operation: the counts of mapped ones go in the report.
/vexfs/fsx -v -N "$FSX_OPS" -S 7 -f /etc/fsx.toml -P /tmp/fsx-art /mnt/vexfs/fsx.bin > /tmp/fsx.out 2>&1
rc=$?
tail -n 20 /tmp/fsx.out
[ "$rc" -eq 0 ] || fail "fsx failed (exit $rc)" ops="$FSX_OPS"
mapread=$(grep -c ' mapread ' /tmp/fsx.out)
mapwrite=$(grep -c ' mapwrite ' /tmp/fsx.out)
[ "$mapread" -gt 0 ] && [ "$mapwrite" -gt 0 ] || fail "fsx ran no mapped reads or writes" ops="$FSX_OPS"
before=$(sha256sum /mnt/vexfs/fsx.bin | cut -d' ' -f1)
size=$(stat -c %s /mnt/vexfs/fsx.bin)
umount /mnt/vexfs || fail "umount failed" ops="$FSX_OPS"
mount -t vexfs /dev/vdb /mnt/vexfs || fail "remount failed" ops="$FSX_OPS"
after=$(sha256sum /mnt/vexfs/fsx.bin | cut -d' ' -f1)
[ "$before" = "$after" ] || fail "fsx file changed across the remount" ops="$FSX_OPS"
pass ops="$FSX_OPS" mapread="$mapread" mapwrite="$mapwrite" final_size="$size"
