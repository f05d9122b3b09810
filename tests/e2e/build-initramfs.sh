#!/bin/sh
# Build the end-to-end test guest: Debian bookworm's s390x kernel and an
# initramfs of busybox-static, the ccwgroup/qeth/qeth_l3 modules of that
# kernel, our /init (guest/init.sh, with guest/lib.sh as /guest-lib.sh) and
# samples/guest-setup.sh, whose commands /init runs to bring the interfaces
# up.
#
# usage: build-initramfs.sh OUTDIR
#   OUTDIR receives kernel.img, initrd.img and kernel.version.
#   GLAN_GUEST_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/guestlan/guest)
#   keeps the downloaded .debs; they are fetched with apt-get download
#   (after `dpkg --add-architecture s390x` and apt-get update, which need
#   root) only when the cache has none.
# Exit 0 built, 1 failed, 77 the packages cannot be had here (for CTest).
set -eu

for tool in dpkg-deb cpio gzip; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "build-initramfs.sh: '$tool' is not installed (tests/deps.sh installs it)" >&2
        exit 1
    fi
done
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build-initramfs.sh OUTDIR}
cache=${GLAN_GUEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/guestlan/guest}
mkdir -p "$out" "$cache"
out=$(cd "$out" && pwd)

have_debs() {
    ls "$cache"/linux-image-*_s390x.deb >/dev/null 2>&1 &&
        ls "$cache"/busybox-static_*_s390x.deb >/dev/null 2>&1
}

if ! have_debs; then
    if ! command -v apt-get >/dev/null || [ "$(id -u)" != 0 ]; then
        echo "skipped: no guest packages in $cache and no root apt-get to fetch them"
        exit 77
    fi
    if ! dpkg --print-foreign-architectures | grep -qx s390x; then
        dpkg --add-architecture s390x
        apt-get update -q
    fi
    # linux-image-s390x is the metapackage; it depends on the versioned image.
    kpkg=$(apt-cache depends linux-image-s390x:s390x 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[0-9][^:]*\).*/\1/p' | head -n 1)
    if [ -z "$kpkg" ]; then
        apt-get update -q
        kpkg=$(apt-cache depends linux-image-s390x:s390x |
            sed -n 's/^ *Depends: \(linux-image-[0-9][^:]*\).*/\1/p' | head -n 1)
    fi
    [ -n "$kpkg" ] || { echo "cannot resolve linux-image-s390x:s390x"; exit 1; }
    (cd "$cache" && apt-get download "$kpkg:s390x" busybox-static:s390x)
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
kdeb=$(ls "$cache"/linux-image-*_s390x.deb | sort | tail -n 1)
bdeb=$(ls "$cache"/busybox-static_*_s390x.deb | sort | tail -n 1)
dpkg-deb -x "$kdeb" "$work/k"
dpkg-deb -x "$bdeb" "$work/b"
kver=$(ls "$work/k/lib/modules" | head -n 1)
mods="$work/k/lib/modules/$kver/kernel/drivers/s390"

root="$work/root"
mkdir -p "$root/bin" "$root/lib/modules" "$root/proc" "$root/sys" "$root/dev" "$root/tmp"
cp "$work/b/bin/busybox" "$root/bin/busybox"
for m in cio/ccwgroup net/qeth net/qeth_l3; do
    cp "$mods/$m.ko" "$root/lib/modules/"
done
cp "$here/guest/init.sh" "$root/init"
cp "$here/guest/lib.sh" "$root/guest-lib.sh"
cp "$here/../../samples/guest-setup.sh" "$root/guest-setup.sh"
chmod 755 "$root/init" "$root/bin/busybox"

cp "$work/k/boot/vmlinuz-$kver" "$out/kernel.img"
sh "$here/newc.sh" "$root" "$out/initrd.img"
echo "$kver" >"$out/kernel.version"
echo "guest: kernel $kver ($(wc -c <"$out/kernel.img") bytes)," \
    "initrd $(wc -c <"$out/initrd.img") bytes in $out"
