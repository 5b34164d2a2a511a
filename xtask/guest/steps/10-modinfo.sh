# Seed step 1a: the module carries license, description, author, version
# and a vermagic that matches the running kernel.
out=$(modinfo /vexfs/vexfs.ko) || fail "modinfo failed"
echo "$out"
for f in license description author version vermagic; do
    echo "$out" | grep -q "^$f:" || fail "modinfo has no $f"
done
license=$(echo "$out" | sed -n 's/^license: *//p')
case "$license" in
    GPL | "GPL v2" | "Dual MIT/GPL" | "Dual BSD/GPL" | "GPL and additional rights") ;;
    *) fail "license '$license' is not GPL-compatible" ;;
esac
vermagic=$(echo "$out" | sed -n 's/^vermagic: *//p' | awk '{ print $1 }')
[ "$vermagic" = "$(uname -r)" ] || fail "vermagic $vermagic does not match $(uname -r)"
version=$(echo "$out" | sed -n 's/^version: *//p')
pass version="$version" vermagic="$vermagic"
