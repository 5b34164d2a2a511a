# Seed step 6b: nothing in the kernel log that means a kernel bug: BUG
# (also slub_debug's "BUG <cache>: Redzone overwritten" reports), WARNING,
# Oops, general protection faults, stack traces, list corruption.
dmesg > /tmp/dmesg.txt
pattern='BUG|WARNING|Oops|general protection|Call Trace|Redzone|Poison overwritten|Object padding|list_add corruption|list_del corruption'
hits=$(grep -cE "$pattern" /tmp/dmesg.txt)
grep -E "$pattern" /tmp/dmesg.txt | head -n 10
lines=$(wc -l < /tmp/dmesg.txt)
[ "$hits" -eq 0 ] || fail "$hits suspicious kernel log lines" hits="$hits" lines="$lines"
pass hits=0 lines="$lines"
