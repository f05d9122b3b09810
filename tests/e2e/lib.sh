# What the end-to-end scripts share (sourced, after they set `here` to this
# folder).  Each need_* either returns or exits 77 (CTest's skip) with a line
# saying what is missing.

# The scripts run by hand or from CTest on their own (bench-throughput.sh,
# l2-iperf.sh, offload.sh, multihost.sh; `top` set to the checkout): SDL
# Hyperion as tests/find-hyperion.sh finds it, and hdtglan.so in
# GLAN_MODULE_DIR, by default this checkout's build/src/hercules; both
# exported for boot.py.
need_hyperion() {
    . "$top/tests/find-hyperion.sh"
    if [ -z "${HERCULES_PREFIX:-}" ]; then
        echo "skipped: $hyperion_why"
        exit 77
    fi
    if [ -z "${GLAN_MODULE_DIR:-}" ] && [ -z "${GLAN_NO_MODULE:-}" ] &&
        [ -f "$top/build/src/hercules/hdtglan.so" ]; then
        GLAN_MODULE_DIR=$top/build/src/hercules
    fi
    export HERCULES_PREFIX GLAN_MODULE_DIR
    need_hercules
    need_module
}

# SDL Hyperion installed at $HERCULES_PREFIX.
need_hercules() {
    if [ -z "${HERCULES_PREFIX:-}" ] || [ ! -x "$HERCULES_PREFIX/bin/hercules" ]; then
        echo "skipped: no SDL Hyperion (configure with -DHERCULES_SOURCE_DIR= and -DHERCULES_PREFIX=)"
        exit 77
    fi
}

# hdtglan.so in $GLAN_MODULE_DIR.
need_module() {
    if [ ! -f "${GLAN_MODULE_DIR:-}/hdtglan.so" ]; then
        echo "skipped: ${GLAN_NO_MODULE:-hdtglan.so not built (GLAN_MODULE_DIR=${GLAN_MODULE_DIR:-})}"
        exit 77
    fi
}

# need_root [tun] WHY: root (and /dev/net/tun with "tun"), for WHY.
need_root() {
    tun=
    if [ "$1" = tun ]; then
        tun=1
        shift
    fi
    if [ "$(id -u)" != 0 ] || { [ -n "$tun" ] && [ ! -c /dev/net/tun ]; }; then
        echo "skipped: needs root${tun:+ and /dev/net/tun} ($*)"
        exit 77
    fi
}

# The test guest in $GLAN_GUEST_DIR (default ./e2e-guest), built there when
# missing or older than what goes into its initramfs; sets `guest`.
need_guest() {
    guest=${GLAN_GUEST_DIR:-$PWD/e2e-guest}
    if [ ! -f "$guest/initrd.img" ] || [ "$here/guest/init.sh" -nt "$guest/initrd.img" ] ||
        [ "$here/guest/lib.sh" -nt "$guest/initrd.img" ] ||
        [ "$here/build-initramfs.sh" -nt "$guest/initrd.img" ] ||
        [ "$here/../../samples/guest-setup.sh" -nt "$guest/initrd.img" ]; then
        sh "$here/build-initramfs.sh" "$guest" || exit $?
    fi
}

# The throughput benchmark's guest (build-initramfs.sh --bench: iperf3 and
# ethtool, guest/bench-init.sh as /init) in $GLAN_BENCH_GUEST_DIR (default
# ./e2e-guest-bench), built there when missing or older than its sources;
# sets `guest`.
need_bench_guest() {
    guest=${GLAN_BENCH_GUEST_DIR:-$PWD/e2e-guest-bench}
    if [ ! -f "$guest/initrd.img" ] || [ "$here/guest/bench-init.sh" -nt "$guest/initrd.img" ] ||
        [ "$here/guest/lib.sh" -nt "$guest/initrd.img" ] ||
        [ "$here/build-initramfs.sh" -nt "$guest/initrd.img" ] ||
        [ "$here/../../samples/guest-setup.sh" -nt "$guest/initrd.img" ]; then
        sh "$here/build-initramfs.sh" --bench "$guest" || exit $?
    fi
}

# A network namespace of the test's own, NAME followed by this shell's pid,
# deleted when the script exits; sets `ns`.  Exits 77 when none can be made.
make_netns() {
    ns=$1$$
    ip netns add "$ns" || { echo "skipped: cannot create a network namespace"; exit 77; }
    trap 'ip netns del $ns 2>/dev/null' EXIT
}

# The shell text (for a boot.py "!" command) that waits up to 30 s for link
# DEV to appear in namespace NS: Hercules creates it while it reads its
# configuration, which may end after START.
wait_link_cmd() {
    echo "i=0; while ! ip -n $1 link show $2 >/dev/null 2>&1 && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i + 1)); done"
}

# Wait up to TRIES polls of SECONDS for a line matching REGEX in FILE;
# sets `waited` to the polls it took.
wait_for_line() {
    waited=0
    while [ $waited -lt "$1" ] && ! grep -q "$4" "$3" 2>/dev/null; do
        sleep "$2"
        waited=$((waited + 1))
    done
}
