# Seed step 4: embeddings and search on the kernel mount with vexctl
# (index create, import through the bulk ioctl, one embedding through
# setxattr, the insertion worker's wait until nothing is pending,
# searches), then the same image through vexfs-fuse in this
# guest: every search must give the same files in the same order, with
# the same distances to 4 decimals (the module computes them soft-float,
# the daemon with SSE: the last bits may differ). Then the kernel mounts
# the image again and reads the index the daemon saved.
M=/mnt/vexfs
D=$M/vec
V="/vexfs/vexctl -q"
DIM=8
grep -q "^/dev/vdb $M vexfs " /proc/mounts || fail "the kernel mount is not there"
mkdir "$D" "$D/sub" || fail "mkdir failed"
# 400 seeded vectors, one a line.
awk -v dim=$DIM 'BEGIN { srand(7); for (i = 0; i < 400; i++) { s = ""
    for (j = 0; j < dim; j++) s = s (j ? " " : "") sprintf("%.5f", rand()); print s } }' > /tmp/vec.txt
$V index create "$D" --dim $DIM --strategy hnsw || fail "index create failed"
$V import "$D" --vectors /tmp/vec.txt --create --prefix doc || fail "import failed"
echo hello > "$D/sub/note" || fail "write failed"
$V set "$D/sub/note" --values 0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5 || fail "set (setxattr) failed"
$V get "$D/sub/note" || fail "get (getxattr) failed"
$V get "$D/doc0" --format raw | od -An -tx1 | head -n 2
files=$(ls "$D" | wc -l)
[ "$files" -eq 401 ] || fail "expected 401 entries in $D, found $files"

# The module's insertion worker (index_worker=1, the default) takes the
# imported vectors into the HNSW graph once the writes pause; until then
# searches scan them exactly. It must be done within a bound.
pending() { $V index stats "$D" | awk '$1 == "pending:" { print $2 }'; }
pending_after_import=$(pending)
t0=$(now_ms)
if [ "$(cat /sys/module/vexfs/parameters/index_worker)" = Y ]; then
    while [ "$(pending)" != 0 ]; do
        [ $(($(now_ms) - t0)) -gt 120000 ] &&
            fail "$(pending) vectors still pending 120 s after the import"
        sleep 0.2
    done
fi
absorbed_ms=$(($(now_ms) - t0))

Q=0.5,0.4,0.3,0.2,0.2,0.3,0.4,0.5
searches() { # prefix
    $V search "$D" --values $Q -k 10 --relative > "/tmp/$1-hnsw.txt" || return 1
    $V search "$D" --values $Q -k 10 --relative --exact > "/tmp/$1-exact.txt" || return 1
    $V search "$D" --like "$D/doc7" -k 5 --relative > "/tmp/$1-like.txt" || return 1
    $V search "$D" --values $Q -k 5 --relative --filter 'name=doc1*' > "/tmp/$1-glob.txt" || return 1
    $V search "$D" --values $Q -k 5 --relative --filter subtree=sub > "/tmp/$1-sub.txt" || return 1
    $V get "$D/doc123" > "/tmp/$1-get.txt" || return 1
}
# Paths as they are, distances to 4 decimals.
norm() { awk -F'\t' '{ printf "%s %.4f\n", $1, $2 }' "$1"; }
same() { # prefix-a prefix-b
    for s in hnsw exact like glob sub; do
        norm "/tmp/$1-$s.txt" > /tmp/a.txt
        norm "/tmp/$2-$s.txt" > /tmp/b.txt
        if ! cmp -s /tmp/a.txt /tmp/b.txt; then
            echo "== $s: $1"; cat /tmp/a.txt; echo "== $s: $2"; cat /tmp/b.txt
            return 1
        fi
    done
    cmp -s "/tmp/$1-get.txt" "/tmp/$2-get.txt"
}
searches kernel || fail "a search on the kernel mount failed"
hits=$(wc -l < /tmp/kernel-hnsw.txt)
[ "$hits" -eq 10 ] || fail "hnsw search gave $hits hits, not 10"
head -n 1 /tmp/kernel-sub.txt | grep -q '^sub/note' || fail "subtree search did not find sub/note"
cat /tmp/kernel-hnsw.txt
# HNSW's top 10 against the exact scan's.
overlap=$(cut -f1 /tmp/kernel-hnsw.txt | while read -r p; do cut -f1 /tmp/kernel-exact.txt | grep -cxF "$p"; done | awk '{ s += $1 } END { print s + 0 }')
$V index stats "$D"

die() { kernel_back $M; fail "$@"; }
umount $M || fail "umount of the kernel mount failed"
fuse_up /dev/vdb $M || die "vexfs-fuse did not mount /dev/vdb"
searches fuse || { die "a search through vexfs-fuse failed"; }
fuse_down $M || die "unmounting vexfs-fuse failed"
same kernel fuse || die "vexfs-fuse and the kernel module disagree"

mount -t vexfs /dev/vdb $M || die "mount -t vexfs after vexfs-fuse failed"
searches again || die "a search after the remount failed"
same kernel again || die "the kernel mount disagrees with itself after vexfs-fuse saved the index"
pass files="$files" hits="$hits" hnsw_vs_exact="$overlap" compared=6 \
    pending_after_import="$pending_after_import" absorbed_ms="$absorbed_ms"
