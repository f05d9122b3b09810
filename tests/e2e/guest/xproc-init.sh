#!/bin/busybox sh
# /init of the guests of the e2e case glan-xproc (tests/e2e/xproc.sh): two
# Hercules processes, one guest each, one GLAN interface each on one shared
# LAN.  xproc.sh appends this file as /init to the normal test initramfs
# (a second cpio archive overrides the first's /init), so the guest keeps
# the modules, busybox, /guest-lib.sh and /guest-setup.sh of
# tests/e2e/build-initramfs.sh.
#
# Kernel parameters (environment variables of init):
#   glan_if      DEVNO/ADDR/PREFIX of the guest's one interface
#   glan_peer    the other guest's address
#   glan_role    "listen": receive TCP on port 5001 into /tmp/rx;
#                "send": send glan_tcp MiB of random data to the peer
#   glan_tcp     MiB to send (default 4)
#   glan_wait    seconds to wait for the peer to answer pings (default 240)
#   glan_hold    seconds to stay up after the probes (default 0)
#   glan_layer   what guest-setup.sh online does with layer2: layer3
#                (default), layer2, or default (qeth's own: layer 2)
# Markers ("@@ NAME ...", read by tests/e2e/boot.py): USERSPACE, IF, UP
# (the peer answered), PING, TCP (bytes and SHA-256 sent or received; the
# receiver's first= and last= are the uptimes of its first byte and of the
# end of the stream), READY, DONE.

. /guest-lib.sh
finish() {
    mark READY hold=${glan_hold:-0}
    i=0
    while [ $i -lt "${glan_hold:-0}" ]; do sleep 1; i=$((i + 1)); done
    mark DONE
    sleep 1
    poweroff -f
}

mark USERSPACE kernel=$(uname -r)
load_qeth

IFS=/ read -r devno a p <<EOF
${glan_if:-}
EOF
if ! ifn=$(sh /guest-setup.sh online "$devno" "${glan_layer:-layer3}" 2>/tmp/err); then
    mark IF "$devno" - "$a/$p" fail "online: $(cat /tmp/err)"
    finish
fi
if ! sh /guest-setup.sh address "$ifn" "$a/$p" 2>/tmp/err; then
    mark IF "$devno" "$ifn" "$a/$p" fail "address: $(cat /tmp/err)"
    finish
fi
r=$(printf '%s.%04x' "${devno%.*}" $((0x${devno##*.})))
mark IF "$devno" "$ifn" "$a/$p" ok card=$(tr ' ' _ </sys/bus/ccwgroup/devices/$r/card_type) \
    mtu=$(cat /sys/class/net/"$ifn"/mtu)
peer=${glan_peer:?}
# An IPv6 address besides (glan_addr6), pinged on the peer (glan_peer6).
[ -z "${glan_addr6:-}" ] || ip -6 addr add "$glan_addr6" dev "$ifn"

# The listener first, so the sender finds it whenever it comes.  The rate
# is taken at this end: from the first byte in to the sender's close.
if [ "${glan_role:-}" = listen ]; then
    rm -f /tmp/hold /tmp/rx /tmp/tfirst /tmp/tlast
    mkfifo /tmp/hold
    sleep 100000 >/tmp/hold &
    spid=$!
    nc -l -p 5001 </tmp/hold 2>/tmp/nc.err | {
        dd bs=1 count=1 of=/tmp/rx 2>/dev/null
        cut -d' ' -f1 /proc/uptime >/tmp/tfirst
        cat >>/tmp/rx
        cut -d' ' -f1 /proc/uptime >/tmp/tlast
    } &
    lpid=$!
fi

# Wait for the peer (its Hercules may start later), then the pings.
t=0
until ping -c 1 -W 1 "$peer" >/dev/null 2>&1; do
    t=$((t + 1))
    [ $t -lt "${glan_wait:-240}" ] || break
done
mark UP "$peer" after=$t
out=$(ping -c 5 -W 2 "$peer" 2>&1)
tx=$(echo "$out" | sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p')
rx=$(echo "$out" | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')
rtt=$(echo "$out" | sed -n 's/^round-trip min\/avg\/max = \(.*\) ms/\1/p')
mark PING "$peer" tx=${tx:-0} rx=${rx:-0} rtt=${rtt:--}
if [ -n "${glan_peer6:-}" ]; then
    t=0
    until ping -c 1 -W 1 "$glan_peer6" >/dev/null 2>&1; do
        t=$((t + 1))
        [ $t -lt 60 ] || break
    done
    out=$(ping -c 5 -W 2 "$glan_peer6" 2>&1)
    tx=$(echo "$out" | sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p')
    rx=$(echo "$out" | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')
    mark PING6 "$glan_peer6" tx=${tx:-0} rx=${rx:-0} after=$t
fi

if [ "${glan_role:-}" = send ]; then
    dd if=/dev/urandom of=/tmp/tx bs=1048576 count="${glan_tcp:-4}" 2>/dev/null
    sum=$(sha256sum </tmp/tx | cut -d' ' -f1)
    # The listener is up before the peer answers pings; retry a refused
    # connection a few times all the same.
    n=0
    while :; do
        t0=$(cut -d' ' -f1 /proc/uptime)
        timeout 180 nc "$peer" 5001 </tmp/tx 2>/tmp/nc.err
        rc=$?
        t1=$(cut -d' ' -f1 /proc/uptime)
        n=$((n + 1))
        [ $rc -ne 0 ] && [ $n -lt 5 ] && { sleep 2; continue; }
        break
    done
    mark TCP sent bytes=$(wc -c </tmp/tx) rc=$rc tries=$n t0=$t0 t1=$t1 sha256=$sum \
        err="$(tr '\n' ' ' </tmp/nc.err)"
elif [ "${glan_role:-}" = listen ]; then
    # Ends when the sender closes; a watchdog bounds the wait.
    (sleep 300 && kill $lpid) 2>/dev/null &
    wpid=$!
    wait $lpid
    kill $wpid $spid 2>/dev/null
    mark TCP received bytes=$(wc -c </tmp/rx) first=$(cat /tmp/tfirst 2>/dev/null) \
        last=$(cat /tmp/tlast 2>/dev/null) sha256=$(sha256sum </tmp/rx | cut -d' ' -f1) \
        err="$(tr '\n' ' ' </tmp/nc.err)"
fi
finish
