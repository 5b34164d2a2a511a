# Helpers for the step scripts (sourced by /init).
#
# Each step script runs in a subshell and ends with exactly one of
#   pass [key=value ...]            the step worked; the pairs go in the report
#   fail "why" [key=value ...]      it did not
#   skip "why"                      not applicable in this build
# A step may also append lines to /tmp/step.extra ("bench ..." rows);
# run_step prints them after the result line, each as "@@VEXFS <line>".
# run_step prints the step's result line:
#   @@VEXFS step=NAME status=pass|fail|skip ms=N key=value ... msg=TEXT
# (msg last: everything after "msg=" to the end of the line).

FAILED=0

emit() {
    status=$1
    msg=$2
    shift 2
    echo "$status $* msg=$msg" > /tmp/step.result
}
pass() { emit pass "" "$@"; exit 0; }
fail() { why=$1; shift; emit fail "$why" "$@"; exit 1; }
skip() { emit skip "$1"; exit 0; }

now_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }

run_step() {
    name=$(basename "$1" .sh)
    name=${name#*-}
    rm -f /tmp/step.result /tmp/step.extra
    t0=$(now_ms)
    ( . "$1" ) > "/tmp/$name.log" 2>&1
    t1=$(now_ms)
    if [ -f /tmp/step.result ]; then
        read -r status rest < /tmp/step.result
    else
        status=fail
        rest="msg=step script ended without a result"
    fi
    [ "$status" = fail ] && FAILED=$((FAILED + 1))
    echo "@@VEXFS step=$name status=$status ms=$((t1 - t0)) $rest"
    [ -f /tmp/step.extra ] && sed 's/^/@@VEXFS /' /tmp/step.extra
    if [ "$status" = fail ]; then
        # The step's own output, for the report.
        tail -n 120 "/tmp/$name.log" | sed 's/^/@@VEXFS log /'
        dmesg | tail -n 10 | sed 's/^/@@VEXFS log dmesg: /'
    fi
}

# One field of /proc/meminfo, in KiB.
meminfo_kb() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }

# Bytes in use across every slab cache (active objects x object size).
slab_bytes() { awk 'NR > 2 { s += $2 * $4 } END { printf "%d", s }' /proc/slabinfo; }

# Drop what the kernel would drop under pressure, so counters compare.
settle() { sync; echo 3 > /proc/sys/vm/drop_caches; sleep 1; }

# Lines of the kernel log added since line number $1.
dmesg_since() { dmesg | tail -n +"$(($1 + 1))"; }

# The FUSE daemon on the test disk, mounted where the kernel mount was, so
# paths read the same; fuse_up DEV MNT starts it, fuse_down MNT stops it
# and waits until it has written everything out (indexes are saved after
# the unmount returns).
fuse_up() {
    [ -c /dev/fuse ] || insmod /lib/modules/fuse.ko || return 1
    /vexfs/vexfs-fuse "$1" "$2" -f > /tmp/vexfs-fuse.log 2>&1 &
    FUSE_PID=$!
    i=0
    while ! grep -q " $2 fuse.vexfs " /proc/mounts; do
        i=$((i + 1))
        [ $i -gt 300 ] && { cat /tmp/vexfs-fuse.log; return 1; }
        kill -0 "$FUSE_PID" 2>/dev/null || { cat /tmp/vexfs-fuse.log; return 1; }
        sleep 0.1
    done
}
fuse_down() {
    umount "$1" || return 1
    wait "$FUSE_PID"
}
# After a failure half-way through a comparison: stop the daemon if it
# serves MNT and put the kernel mount back, so the later steps still run.
kernel_back() { # mnt
    grep -q " $1 fuse.vexfs " /proc/mounts && fuse_down "$1"
    grep -q "^/dev/vdb $1 vexfs " /proc/mounts || mount -t vexfs /dev/vdb "$1"
}
