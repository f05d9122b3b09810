#!/bin/sh
# Build the end-to-end test guest: Debian bookworm's s390x kernel and an
# initramfs of busybox-static, the ccwgroup/qeth/qeth_l3/qeth_l2 (with llc,
# stp, bridge) and 8021q (with garp, mrp) modules of that
# kernel, our /init (guest/init.sh, with guest/lib.sh as /guest-lib.sh) and
# samples/guest-setup.sh, whose commands /init runs to bring the interfaces
# up.
#
# usage: build-initramfs.sh [--bench] OUTDIR
#   OUTDIR receives kernel.img, initrd.img and kernel.version.
#   --bench builds the throughput benchmark's guest instead
#   (tests/e2e/bench-throughput.sh): the same kernel, busybox and modules,
#   guest/bench-init.sh as /init, and Debian's s390x iperf3 and ethtool with
#   what they load: the dynamic loader /lib/ld64.so.1 and the shared
#   libraries named in their DT_NEEDED entries, nothing else (no docs,
#   locales, gconv, OpenSSL engines or providers, NSS modules).  About
#   2 MB more of initramfs; the normal test guest stays without them.
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
bench=
if [ "${1:-}" = --bench ]; then
    bench=1
    shift
fi
out=${1:?usage: build-initramfs.sh [--bench] OUTDIR}
cache=${GLAN_GUEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/guestlan/guest}
mkdir -p "$out" "$cache"
out=$(cd "$out" && pwd)

# The benchmark guest's user space: iperf3 (and libiperf0's libraries),
# ethtool, and libc6 for the loader and libc/libm they link.
bench_pkgs="iperf3 libiperf0 libsctp1 libssl3 libc6 ethtool libmnl0"

# The packages (name:s390x) the cache lacks, one a line.
missing_debs() {
    ls "$cache"/linux-image-*_s390x.deb >/dev/null 2>&1 || echo kernel
    ls "$cache"/busybox-static_*_s390x.deb >/dev/null 2>&1 || echo busybox-static:s390x
    if [ -n "$bench" ]; then
        for p in $bench_pkgs; do
            ls "$cache/${p}_"*_s390x.deb >/dev/null 2>&1 || echo "$p:s390x"
        done
    fi
}

missing=$(missing_debs)
if [ -n "$missing" ]; then
    if ! command -v apt-get >/dev/null || [ "$(id -u)" != 0 ]; then
        echo "skipped: no guest packages in $cache ($(echo $missing)) and no root apt-get to fetch them"
        exit 77
    fi
    if ! dpkg --print-foreign-architectures | grep -qx s390x; then
        dpkg --add-architecture s390x
        apt-get update -q
    fi
    pkgs=
    for p in $missing; do
        if [ "$p" = kernel ]; then
            # linux-image-s390x is the metapackage; it depends on the versioned image.
            kpkg=$(apt-cache depends linux-image-s390x:s390x 2>/dev/null |
                sed -n 's/^ *Depends: \(linux-image-[0-9][^:]*\).*/\1/p' | head -n 1)
            if [ -z "$kpkg" ]; then
                apt-get update -q
                kpkg=$(apt-cache depends linux-image-s390x:s390x |
                    sed -n 's/^ *Depends: \(linux-image-[0-9][^:]*\).*/\1/p' | head -n 1)
            fi
            [ -n "$kpkg" ] || { echo "cannot resolve linux-image-s390x:s390x"; exit 1; }
            p=$kpkg:s390x
        fi
        pkgs="$pkgs $p"
    done
    (cd "$cache" && apt-get download $pkgs)
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
for m in cio/ccwgroup net/qeth net/qeth_l3 net/qeth_l2; do
    cp "$mods/$m.ko" "$root/lib/modules/"
done
# qeth_l2 needs bridge (which needs llc and stp); VLAN interfaces need 8021q
# (which needs garp and mrp).
knet="$work/k/lib/modules/$kver/kernel/net"
for m in llc/llc 802/stp 802/garp 802/mrp bridge/bridge 8021q/8021q; do
    cp "$knet/$m.ko" "$root/lib/modules/"
done
if [ -n "$bench" ]; then
    cp "$here/guest/bench-init.sh" "$root/init"
else
    cp "$here/guest/init.sh" "$root/init"
fi
cp "$here/guest/lib.sh" "$root/guest-lib.sh"
cp "$here/../../samples/guest-setup.sh" "$root/guest-setup.sh"
chmod 755 "$root/init" "$root/bin/busybox"

if [ -n "$bench" ]; then
    # Each package into a folder of its own; then only the programs, the
    # loader and the libraries they need into the guest's root, at Debian's
    # paths (the loader searches /lib/s390x-linux-gnu and
    # /usr/lib/s390x-linux-gnu by default; no ld.so.cache is needed).
    for p in $bench_pkgs; do
        deb=$(ls "$cache/${p}_"*_s390x.deb | sort | tail -n 1)
        dpkg-deb -x "$deb" "$work/x"
    done
    x=$work/x
    mkdir -p "$root/usr/bin" "$root/sbin" "$root/lib/s390x-linux-gnu" "$root/usr/lib/s390x-linux-gnu"
    cp "$x/usr/bin/iperf3" "$root/usr/bin/iperf3"
    cp "$x/sbin/ethtool" "$root/sbin/ethtool"
    cp -L "$x/lib/s390x-linux-gnu/ld64.so.1" "$root/lib/s390x-linux-gnu/ld64.so.1"
    ln -s s390x-linux-gnu/ld64.so.1 "$root/lib/ld64.so.1"
    for l in libc.so.6 libm.so.6; do
        cp -L "$x/lib/s390x-linux-gnu/$l" "$root/lib/s390x-linux-gnu/$l"
    done
    for l in libiperf.so.0 libcrypto.so.3 libsctp.so.1 libmnl.so.0; do
        cp -L "$x/usr/lib/s390x-linux-gnu/$l" "$root/usr/lib/s390x-linux-gnu/$l"
    done
    # Every library a program or library needs must be there, and the
    # programs' interpreter must be /lib/ld64.so.1 (checked when binutils'
    # readelf is at hand; it reads any architecture's ELF files).
    if command -v readelf >/dev/null 2>&1; then
        for f in "$root/usr/bin/iperf3" "$root/sbin/ethtool" "$root"/lib/s390x-linux-gnu/*.so.* \
            "$root"/usr/lib/s390x-linux-gnu/*.so.*; do
            for need in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
                if [ ! -e "$root/lib/s390x-linux-gnu/$need" ] &&
                    [ ! -e "$root/usr/lib/s390x-linux-gnu/$need" ]; then
                    echo "build-initramfs.sh: ${f#$root} needs $need, which the bench guest lacks" >&2
                    exit 1
                fi
            done
        done
        for f in "$root/usr/bin/iperf3" "$root/sbin/ethtool"; do
            interp=$(readelf -l "$f" | sed -n 's/.*interpreter: \(.*\)\]/\1/p')
            if [ ! -e "$root$interp" ]; then
                echo "build-initramfs.sh: ${f#$root} wants the loader $interp, which the bench guest lacks" >&2
                exit 1
            fi
        done
    fi
    chmod 755 "$root/usr/bin/iperf3" "$root/sbin/ethtool" "$root/lib/s390x-linux-gnu/ld64.so.1"
fi

cp "$work/k/boot/vmlinuz-$kver" "$out/kernel.img"
sh "$here/newc.sh" "$root" "$out/initrd.img"
echo "$kver" >"$out/kernel.version"
echo "guest: kernel $kver ($(wc -c <"$out/kernel.img") bytes)," \
    "initrd $(wc -c <"$out/initrd.img") bytes in $out"
