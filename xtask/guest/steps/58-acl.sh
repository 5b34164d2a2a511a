# Seed step 3 (suites): POSIX ACLs on the kernel mount with the acl
# package's setfacl and getfacl (Debian's, with libacl), checked by what
# the user "tests" (uid 1001) may do: a named-user entry grants read on a
# 0600 file of root's and no more; chmod narrows the mask and with it the
# entry; a directory's default ACL is inherited by new files and
# directories (and the umask applies where there is none); setfacl -b
# removes the entries and the mask; the ACLs are the same after a remount.
M=/mnt/vexfs
D=$M/acl
SF=/vexfs/setfacl
GF=/vexfs/getfacl
grep -q "^/dev/vdb $M vexfs " /proc/mounts || fail "the kernel mount is not there"
as_tests() { su -s /bin/sh tests -c "$1"; }
acl_of() { $GF -n -p "$1" 2> /dev/null | grep -v '^#'; }
has() { # path line: getfacl shows the line
    acl_of "$1" | grep -qx "$2" || { echo "$1:"; acl_of "$1"; return 1; }
}
mkdir "$D" || fail "mkdir failed"
chmod 755 "$D"
echo secret > "$D/f" && chmod 600 "$D/f" || fail "write failed"
as_tests "cat $D/f" > /dev/null 2>&1 && fail "tests read a 0600 file of root's without an ACL"

$SF -m u:tests:r "$D/f" || fail "setfacl -m u:tests:r failed"
has "$D/f" "user:1001:r--" || fail "getfacl does not show the named entry"
has "$D/f" "mask::r--" || fail "the mask is not r--"
[ "$(stat -c %A "$D/f")" = "-rw-r-----" ] || fail "the mode's group bits do not show the mask: $(stat -c %A "$D/f")"
[ "$(as_tests "cat $D/f")" = secret ] || fail "the named entry did not grant read"
as_tests "echo x >> $D/f" 2> /dev/null && fail "tests could write with a read entry"

chmod 600 "$D/f" || fail "chmod failed"
has "$D/f" "mask::---" || fail "chmod 600 did not empty the mask"
as_tests "cat $D/f" > /dev/null 2>&1 && fail "the masked entry still granted read"
chmod 640 "$D/f" || fail "chmod failed"
[ "$(as_tests "cat $D/f")" = secret ] || fail "chmod 640 did not give the entry its read back"

$SF -d -m u:tests:rwx "$D" || fail "setfacl -d failed"
has "$D" "default:user:1001:rwx" || fail "no default entry on the directory"
(umask 077 && touch "$D/new" && mkdir "$D/sub") || fail "create under a default ACL failed"
# The default ACL replaces the umask: the file keeps rw for the mask.
has "$D/new" "user:1001:rwx	#effective:rw-" || fail "the new file did not inherit the entry"
has "$D/sub" "user:1001:rwx" || fail "the new directory did not inherit the entry"
has "$D/sub" "default:user:1001:rwx" || fail "the new directory did not inherit the default ACL"
as_tests "echo ok > $D/new" || fail "the inherited entry did not grant write"
# A directory made under $D inherits its default ACL; this one is not.
P=$M/acl-plain
mkdir "$P" && (umask 027 && touch "$P/m" && mkdir "$P/d") || fail "create without a default ACL failed"
[ "$(stat -c %a "$P/m")" = 640 ] || fail "umask 027 gave the file mode $(stat -c %a "$P/m")"
[ "$(stat -c %a "$P/d")" = 750 ] || fail "umask 027 gave the directory mode $(stat -c %a "$P/d")"
acl_of "$P/m" | grep -q "^user:1001" && fail "a file outside $D got the named entry"
rm -rf "$P"

$SF -b "$D/f" || fail "setfacl -b failed"
acl_of "$D/f" | grep -q "^user:1001" && fail "setfacl -b left the named entry"
# The group class goes back from the mask (r--) to the owning group's
# entry, which chmod 600 and 640 left at ---.
[ "$(stat -c %a "$D/f")" = 600 ] || fail "setfacl -b left mode $(stat -c %a "$D/f"), not 600"
$SF -m u:tests:rw "$D/f" || fail "setfacl -m u:tests:rw failed"
acl_of "$D/f" > /tmp/acl-before.txt
acl_of "$D/sub" >> /tmp/acl-before.txt

umount $M || fail "umount failed"
mount -t vexfs /dev/vdb $M || fail "remount failed"
acl_of "$D/f" > /tmp/acl-after.txt
acl_of "$D/sub" >> /tmp/acl-after.txt
cmp -s /tmp/acl-before.txt /tmp/acl-after.txt || { diff /tmp/acl-before.txt /tmp/acl-after.txt; fail "the ACLs changed across the remount"; }
as_tests "echo again >> $D/f" || fail "the entry did not grant write after the remount"
entries=$(wc -l < /tmp/acl-after.txt)
rm -rf "$D"
pass entries="$entries"
