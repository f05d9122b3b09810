# What every /init of the e2e guests starts with (sourced as /guest-lib.sh;
# tests/e2e/build-initramfs.sh puts it there): the file systems, busybox's
# commands on PATH, the marker function boot.py reads, and the qeth modules.

bb=/bin/busybox
$bb mkdir -p /proc /sys /dev /tmp
$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
$bb mount -t devtmpfs devtmpfs /dev 2>/dev/null
$bb --install -s /bin
export PATH=/bin

# "@@ NAME text t=UPTIME": a marker line on the console (tests/e2e/boot.py).
mark() { echo "@@ $* t=$(cut -d' ' -f1 /proc/uptime)"; }

# Load the modules a layer-3 qeth interface needs; with "verbose" a MODULE
# marker for each (ok or fail), otherwise only for a failure.
load_qeth() {
    for m in ccwgroup qeth qeth_l3 llc stp bridge qeth_l2 garp mrp 8021q; do
        if insmod /lib/modules/$m.ko 2>/tmp/err; then
            [ "${1:-}" = verbose ] && mark MODULE $m ok
        else
            mark MODULE $m fail "$(cat /tmp/err)"
        fi
    done
}
