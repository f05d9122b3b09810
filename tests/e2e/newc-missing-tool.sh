#!/bin/sh
# tests/e2e/newc.sh without cpio on PATH must fail at once, naming the
# missing tool, and leave no archive: a pipeline once wrote a 20-byte empty
# initramfs here, and the guest panicked at boot for want of a root file
# system.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/root"
echo x >"$tmp/root/init"
# Every tool newc.sh may call, but cpio.
for t in sh find sort gzip head wc rm cat printf; do
    p=$(command -v "$t") && ln -s "$p" "$tmp/bin/$t"
done
rc=0
PATH=$tmp/bin sh "$here/newc.sh" "$tmp/root" "$tmp/out.gz" 2>"$tmp/err" || rc=$?
cat "$tmp/err"
if [ $rc -ne 1 ] || ! grep -q "'cpio' is not installed" "$tmp/err" || [ -e "$tmp/out.gz" ]; then
    echo "FAIL: newc.sh without cpio: exit $rc, no message naming cpio, or an archive written"
    exit 1
fi
# And with every tool: an archive that lists the file.
sh "$here/newc.sh" "$tmp/root" "$tmp/out.gz"
if ! gzip -dc "$tmp/out.gz" | cpio -it --quiet | grep -qx init; then
    echo "FAIL: newc.sh with cpio: the archive does not hold ./init"
    exit 1
fi
echo "ok: newc.sh fails naming cpio when it is missing, and packs the folder when it is there"
