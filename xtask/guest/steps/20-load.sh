# Seed step 1b: insmod, then lsmod, /proc/modules, /sys/module/vexfs and
# /proc/filesystems all show it.
insmod /vexfs/vexfs.ko || fail "insmod failed"
lsmod | grep -q '^vexfs ' || fail "not in lsmod"
grep -q '^vexfs ' /proc/modules || fail "not in /proc/modules"
[ -d /sys/module/vexfs ] || fail "no /sys/module/vexfs"
grep -qw vexfs /proc/filesystems || fail "filesystem type not registered"
size=$(awk '$1 == "vexfs" { print $2 }' /proc/modules)
pass module_bytes="$size"
