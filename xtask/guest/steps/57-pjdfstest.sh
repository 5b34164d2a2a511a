# Seed step 3 (suites): the Rust pjdfstest on the kernel mount, POSIX
# semantics as the VFS and vexfs.ko give them (permissions, ownership,
# timestamps, links, renames, errors).
[ "$PJDFSTEST" = 1 ] || skip "not in this run"
mkdir -p /mnt/vexfs/pjd /tmp/pjd-secondary
chmod 777 /mnt/vexfs/pjd
cd /mnt/vexfs/pjd || fail "no test directory"
/vexfs/pjdfstest -c /etc/pjdfstest.toml -p /mnt/vexfs/pjd -s /tmp/pjd-secondary > /tmp/pjd.out 2>&1
rc=$?
cd /
grep -E "FAILED|Summary" /tmp/pjd.out | head -n 40
# Why the first failures failed.
grep -vE "FAILED|ok$|Summary" /tmp/pjd.out | grep -v '^ *$' | head -n 60
summary=$(grep -i "summary" /tmp/pjd.out | tail -n 1)
passed=$(echo "$summary" | sed -n 's/.* \([0-9][0-9]*\) passed.*/\1/p')
failed=$(echo "$summary" | sed -n 's/.* \([0-9][0-9]*\) failed.*/\1/p')
skipped=$(echo "$summary" | sed -n 's/.* \([0-9][0-9]*\) skipped.*/\1/p')
expected=$(echo "$summary" | sed -n 's/.* \([0-9][0-9]*\) expected failures.*/\1/p')
kv="passed=${passed:-0} failed=${failed:-0} expected_failures=${expected:-0} skipped=${skipped:-0}"
[ "$rc" -eq 0 ] || fail "pjdfstest failed (exit $rc): $summary" $kv
pass $kv
