#!/bin/busybox sh
# /init of guestlan's end-to-end test guest: an s390x initramfs holding only
# busybox and the qeth modules.  It brings up the OSA interfaces it is told
# about, runs the probes it is told to run, reports everything as "@@ "
# marker lines on the console (which Hercules copies to its log, where
# tests/e2e/boot.py reads them) and powers off.
#
# Its parameters come from the kernel command line; the kernel hands unknown
# key=value parameters to init as environment variables:
#   glan_ifs   space-free list of interfaces, comma-separated:
#              DEVNO/ADDR/PREFIX[/ns]  e.g. 0.0.0600/10.1.1.2/24,0.0.0610/10.1.1.3/24/ns
#              ("ns" puts that interface into a network namespace of its own)
#   glan_ping  comma-separated addresses to ping from the first namespace
#   glan_ping_ns  addresses to ping from the "ns" interface's namespace
#   glan_count pings per target (default 5)
#   glan_tcp   MiB to send over TCP (busybox nc) from the first namespace to
#              glan_tcp_to (default 10.1.1.3) in the "ns" namespace, checked
#              by SHA-256
#   glan_dbf   entries of the qeth s390dbf areas printed when an interface
#              fails to come online (default 60)
#   glan_hold  seconds to stay up after the probes (default 0), e.g. so that
#              the host can probe the guest
# Markers: USERSPACE, MODULE, IF, ADDR, PING, TCP, READY, NETDEV, DONE, DBF
# (see docs/hercules.md).

bb=/bin/busybox
$bb mkdir -p /proc /sys /dev /tmp
$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
$bb mount -t devtmpfs devtmpfs /dev 2>/dev/null
$bb --install -s /bin
export PATH=/bin

mark() { echo "@@ $* t=$(cut -d' ' -f1 /proc/uptime)"; }

mark USERSPACE kernel=$(uname -r)

for m in ccwgroup qeth qeth_l3; do
    if insmod /lib/modules/$m.ko 2>/tmp/err; then
        mark MODULE $m ok
    else
        mark MODULE $m fail "$(cat /tmp/err)"
    fi
done

# The qeth driver's own trace (s390dbf), for a failed bring-up: the last
# ${glan_dbf:-60} entries of its setup and trace areas, as DBF markers.
dbf() {
    d=/sys/kernel/debug/s390dbf
    for area in qeth_msg qeth_setup qeth_trace qdio_setup qdio_error; do
        for view in sprintf hex_ascii; do
            [ -r $d/$area/$view ] || continue
            tail -n "${glan_dbf:-60}" $d/$area/$view | sed "s/^/@@ DBF $area /"
            break
        done
    done
}
# Record everything qeth and qdio trace (level 6) when glan_dbf is set.
dbf_levels() {
    mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
    [ -n "${glan_dbf:-}" ] || return 0
    for l in /sys/kernel/debug/s390dbf/q*/level; do echo 6 >"$l"; done
}

dbf_levels
NSPID=
# up DEVNO ADDR/PREFIX NS -> brings the interface up, in its own netns if NS=ns
up() {
    devno=$1 addr=$2 ns=$3
    css=${devno%.*} n=$((0x${devno##*.}))
    r=$(printf '%s.%04x' "$css" "$n")
    w=$(printf '%s.%04x' "$css" $((n + 1)))
    d=$(printf '%s.%04x' "$css" $((n + 2)))
    # Channel subsystem probing is asynchronous: wait for the data device.
    i=0
    while [ ! -e /sys/bus/ccw/devices/$d ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
    g=/sys/bus/ccwgroup/devices/$r
    echo "$r,$w,$d" >/sys/bus/ccwgroup/drivers/qeth/group 2>/tmp/err
    if [ ! -d $g ]; then
        mark IF "$devno" - "$addr" fail "group: $(cat /tmp/err)"
        return 1
    fi
    echo 0 >$g/layer2
    echo 1 >$g/online 2>/tmp/err
    if [ "$(cat $g/online)" != 1 ]; then
        mark IF "$devno" - "$addr" fail "online: $(cat /tmp/err) state=$(cat $g/state)"
        dbf
        return 1
    fi
    ifn=$(ls $g/net | head -n 1)
    run=
    if [ "$ns" = ns ]; then
        if [ -z "$NSPID" ]; then
            unshare -n sleep 1000000 &
            NSPID=$!
            sleep 0.2
            nsenter -t $NSPID -n ip link set lo up
        fi
        ip link set "$ifn" netns $NSPID
        run="nsenter -t $NSPID -n"
    fi
    $run ip addr add "$addr" dev "$ifn" && $run ip link set "$ifn" up
    mark IF "$devno" "$ifn" "$addr" ok ns=${ns:-root} card=$(cat $g/card_type | tr ' ' _)
}

for spec in $(echo "${glan_ifs:-}" | tr ',' ' '); do
    IFS=/ read -r devno a p ns <<EOF
$spec
EOF
    up "$devno" "$a/$p" "$ns"
done
ip -o addr show | sed 's/^/@@ ADDR /'

# ping FROM TARGET: FROM is "root" or "ns"
ping_one() {
    run=
    [ "$1" = ns ] && run="nsenter -t $NSPID -n"
    out=$($run ping -c "${glan_count:-5}" -W 2 "$2" 2>&1)
    tx=$(echo "$out" | sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p')
    rx=$(echo "$out" | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')
    rtt=$(echo "$out" | sed -n 's/^round-trip min\/avg\/max = \(.*\) ms/\1/p')
    mark PING "$1" "$2" tx=${tx:-0} rx=${rx:-0} rtt=${rtt:--}
}
for t in $(echo "${glan_ping:-}" | tr ',' ' '); do ping_one root "$t"; done
for t in $(echo "${glan_ping_ns:-}" | tr ',' ' '); do ping_one ns "$t"; done

# TCP from the first namespace to the "ns" interface's address: glan_tcp
# MiB of random data through busybox nc, checked by SHA-256 at both ends.
tcp_test() {
    mib=$1 dst=$2
    dd if=/dev/urandom of=/tmp/tx bs=1048576 count="$mib" 2>/dev/null
    txsum=$(sha256sum </tmp/tx | cut -d' ' -f1)
    rm -f /tmp/rx
    # busybox nc ends when its stdin does, and a background job's stdin is
    # /dev/null: the listener reads from a FIFO that stays open instead.
    rm -f /tmp/hold
    mkfifo /tmp/hold
    sleep 1000 >/tmp/hold &
    spid=$!
    nsenter -t $NSPID -n timeout 120 nc -l -p 5001 </tmp/hold >/tmp/rx 2>/tmp/nc-l.err &
    lpid=$!
    sleep 1
    t0=$(cut -d' ' -f1 /proc/uptime)
    timeout 120 nc "$dst" 5001 </tmp/tx 2>/tmp/nc.err
    rc=$?
    wait $lpid
    kill $spid 2>/dev/null
    t1=$(cut -d' ' -f1 /proc/uptime)
    rxsum=$(sha256sum </tmp/rx | cut -d' ' -f1)
    bytes=$(wc -c </tmp/rx)
    ok=fail
    [ "$txsum" = "$rxsum" ] && ok=ok
    mark TCP "$dst" $ok bytes=$bytes send_rc=$rc t0=$t0 t1=$t1 tx=$txsum rx=$rxsum \
        err="$(cat /tmp/nc.err /tmp/nc-l.err | tr '\n' ' ')"
    rm -f /tmp/tx /tmp/rx
}
if [ -n "${glan_tcp:-}" ] && [ -n "$NSPID" ]; then
    tcp_test "$glan_tcp" "${glan_tcp_to:-10.1.1.3}"
fi

mark READY hold=${glan_hold:-0}
i=0
while [ $i -lt "${glan_hold:-0}" ]; do sleep 1; i=$((i + 1)); done
sed -n 's/^ *\([a-z0-9]*\): *\([0-9]*\) *\([0-9]*\) .*/@@ NETDEV \1 rx_bytes=\2 rx_packets=\3/p' /proc/net/dev
mark DONE
sleep 1
poweroff -f
