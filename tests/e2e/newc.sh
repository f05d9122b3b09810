#!/bin/sh
# Pack a folder into a gzip-compressed cpio archive in the "newc" format, the
# one the Linux kernel unpacks as an initramfs.
#
# usage: newc.sh DIR OUT [PATH...]
#   PATHs are relative to DIR (default: everything in DIR, sorted).
# Fails loudly, naming the cause, when cpio or gzip is missing or either
# fails: a pipeline would otherwise leave a 20-byte empty archive, and the
# guest would panic at boot for want of a root file system.
set -eu
dir=${1:?usage: newc.sh DIR OUT [PATH...]}
out=${2:?usage: newc.sh DIR OUT [PATH...]}
shift 2
for tool in cpio gzip; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "newc.sh: '$tool' is not installed (tests/deps.sh installs it); cannot build $out" >&2
        exit 1
    fi
done
tmp="$out.cpio.$$"
trap 'rm -f "$tmp"' EXIT
if [ $# -gt 0 ]; then
    (cd "$dir" && printf '%s\n' "$@" | cpio -o -H newc --owner=0:0 --quiet) >"$tmp"
else
    (cd "$dir" && find . | sort | cpio -o -H newc --owner=0:0 --quiet) >"$tmp"
fi
# An archive holding nothing but its TRAILER!!! entry lists no names.
if [ -z "$(cpio -it --quiet <"$tmp" | head -n 1)" ]; then
    echo "newc.sh: cpio wrote an empty archive of $dir; cannot build $out" >&2
    exit 1
fi
gzip -9n <"$tmp" >"$out"
