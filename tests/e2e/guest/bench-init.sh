#!/bin/busybox sh
# /init of the throughput benchmark's guest (tests/e2e/bench-throughput.sh):
# the e2e test guest plus Debian's iperf3 and ethtool
# (tests/e2e/build-initramfs.sh --bench).  It brings up its GLAN
# interfaces with samples/guest-setup.sh, runs iperf3 TCP tests of
# bench_secs seconds over the loopback and over GLAN, at the guest's
# defaults and tuned (the largest MTU the device accepts, every offload
# ethtool can turn on), and reports each as an "@@ " marker line for
# tests/e2e/boot.py, then powers off.
#
# Kernel parameters (environment variables of init):
#   bench_role   single: two interfaces (glan_ifs, the second with "/ns" in
#                a network namespace of its own); iperf3 server in that
#                namespace, client in the first; cases lo, glan-default,
#                glan-tuned, glan-tso9000 (the offloads still on, MTU 9000),
#                lo-after
#                server: one interface; lo, then an iperf3 server for one
#                test at the defaults and one tuned (the peer's cases)
#                client: one interface; waits for bench_peer, lo, then
#                glan-default and glan-tuned against bench_peer
#                offload: two interfaces as single (tests/e2e/offload.sh);
#                the first (root) turns its offloads on (ethtool -K tx rx sg
#                tso), the second (ns) leaves them off; XFER: 16 MiB
#                (bench_mib) of random data from the first to the second
#                through busybox nc, checked by SHA-256; then the second
#                turns its offloads on too, case glan-offload; ETHS lines
#                (ethtool -S, the checksum and TSO counters) before, after
#                the transfer and after the test
#                check: two interfaces as single (tests/e2e/l2-iperf.sh):
#                glan-default at the guest's defaults, then both at MTU 9000
#                (bench_mtu) with their checksum and TSO offloads on
#                (ethtool -K tx rx sg tso), case glan-offload; ETHS lines
#                before and after it
#                mhserve, mhclient: one interface each, on two hosts joined
#                by a bridge and VXLAN (tests/e2e/multihost.sh); both wait
#                for bench_peer, add mh_addr6 and ping bench_peer and
#                mh_peer6 (PING); mhserve then serves one iperf3 test and
#                takes bench_mib MiB over nc (XFER rx ok ... rx=SHA), waits
#                for its peer to go (GONE), sets its MTU to bench_mtu2
#                (default 9000), waits for it to come back (BACK), pings it
#                again (PING2) and serves one more iperf3 test.  mhclient
#                with mh_phase=1 runs iperf3 case glan-mh-default, sends
#                the MiB (XFER tx ok ... tx=SHA) and marks DONE1 (its host
#                then kills its Hercules); with mh_phase=2 it sets its MTU
#                to bench_mtu first and runs case glan-mh-mtu; mh_mac (both
#                roles): the interface's MAC, set first (MAC marker)
#   bench_layer  layer3 (the default), layer2 or default: what
#                guest-setup.sh online does with the card's layer2
#   glan_ifs     DEVNO/ADDR/PREFIX[/ns],... as tests/e2e/guest/init.sh
#   bench_dst    the address the single guest's client sends to (the "ns" one)
#   bench_peer   the server's address (client role)
#   bench_secs   seconds per iperf3 test (default 10)
#   bench_wait   seconds to wait for the peer (default 300)
#   bench_bufs   qeth's buffer_count (inbound buffers) for every card,
#                set before its address (default: qeth's own)
#   bench_eths   all: ETHS lines with every ethtool -S counter (default:
#                the checksum and TSO ones)
# Markers: USERSPACE, VERSION (iperf3 --version, ethtool --version), IF,
# CASE NAME (a test starts; the host queries the LAN), IPERF NAME rc=...
# sent_bytes= sent_s= retr= rcvd_bytes= rcvd_s= cpu_host= cpu_remote=
# (the test's end, from iperf3 --json; the host queries the LAN again),
# MTU IF max=N, ETHK IF before|after FEATURE STATE (ethtool -k, every
# feature but those fixed off), ETHSET IF FEATURE ok|fail, SERVE (the
# server's listener is up), SERVED NAME, UP, ETHS IF PHASE NAME=VALUE
# (ethtool -S), TCP NAME COUNTER=DELTA... (the TCP counters that moved in
# a test, the client's and the server's), BUFS DEVNO N (bench_bufs), XFER
# ok|fail bytes= tx= rx=, FAIL IF NAME=VALUE and FAIL snmp LINE (after a
# failed test: IF's ethtool -S, TCP's counters), DONE.

. /guest-lib.sh
export PATH=/usr/bin:/sbin:/bin

mark USERSPACE kernel=$(uname -r)
load_qeth
mark VERSION "$(iperf3 --version 2>&1 | head -n 1)" / "$(ethtool --version 2>&1 | head -n 1)"
ip link set lo up
secs=${bench_secs:-10}

finish() {
    mark DONE
    sleep 1
    poweroff -f
}

NSPID=
# up DEVNO ADDR/PREFIX NS: as tests/e2e/guest/init.sh does it
up() {
    devno=$1 addr=$2 ns=$3
    if ! ifn=$(sh /guest-setup.sh online "$devno" "${bench_layer:-layer3}" 2>/tmp/err); then
        mark IF "$devno" - "$addr" fail "online: $(cat /tmp/err)"
        return 1
    fi
    if [ -n "${bench_bufs:-}" ]; then
        # qeth's inbound buffers (and the pool of pages behind them), set
        # while the card is offline
        g=/sys/bus/ccwgroup/drivers/qeth/$devno
        echo 0 >$g/online && echo "$bench_bufs" >$g/buffer_count && echo 1 >$g/online
        mark BUFS "$devno" "$(cat $g/buffer_count)"
    fi
    run=
    if [ "$ns" = ns ]; then
        if [ -z "$NSPID" ]; then
            unshare -n sleep 1000000 &
            NSPID=$!
            sleep 0.2
            nsenter -t $NSPID -n ip link set lo up
        fi
        ip link set "$ifn" name "n${devno##*.}"
        ifn=n${devno##*.}
        ip link set "$ifn" netns $NSPID
        run="nsenter -t $NSPID -n"
    fi
    if ! $run sh /guest-setup.sh address "$ifn" "$addr" 2>/tmp/err; then
        mark IF "$devno" "$ifn" "$addr" fail "address: $(cat /tmp/err)"
        return 1
    fi
    mark IF "$devno" "$ifn" "$addr" ok ns=${ns:-root}
    echo "$ifn ${ns:-root}" >>/tmp/ifs
}

for spec in $(echo "${glan_ifs:-}" | tr ',' ' '); do
    IFS=/ read -r devno a p ns <<EOF
$spec
EOF
    up "$devno" "$a/$p" "$ns" || finish
done

# at WHERE CMD...: run CMD in the first namespace (root) or the "ns" one
at() {
    w=$1
    shift
    if [ "$w" = ns ]; then nsenter -t $NSPID -n "$@"; else "$@"; fi
}

# jget JSON KEY: the value of "KEY": in a flat JSON object's text
jget() { echo "$1" | tr ',' '\n' | sed -n "s/^\"$2\":\"*\([^\"]*\)\"*$/\1/p" | head -n 1; }

# tcpsnap FILE: TCP's counters now (/proc/net/snmp Tcp, /proc/net/netstat
# TcpExt), one NAME VALUE per line
tcpsnap() {
    cat /proc/net/snmp /proc/net/netstat | awk '
        $1 == "Tcp:" || $1 == "TcpExt:" {
            if (!(($1) in h)) { h[$1] = $0; next }
            n = split(h[$1], k); split($0, v)
            for (i = 2; i <= n; i++) print k[i], v[i]
        }' >"$1"
}

# tcpdelta NAME FILE: the TCP counters that moved since tcpsnap FILE, as a
# TCP NAME COUNTER=DELTA ... marker (the sender's retransmissions, their
# kind: timeouts, fast retransmits, tail-loss probes, reordering, SACKs)
tcpdelta() {
    tcpsnap /tmp/tcp.now
    mark TCP "$1" $(awk 'NR == FNR { a[$1] = $2; next }
        ($1 in a) && $2 != a[$1] && $1 !~ /^(InSegs|OutSegs|ActiveOpens|PassiveOpens|CurrEstab|RtoMin|RtoMax|RtoAlgorithm|MaxConn)$/ {
            printf "%s=%d ", $1, $2 - a[$1] }' "$2" /tmp/tcp.now)
}

# report NAME RC TRIES: the IPERF marker from iperf3 --json's output in
# /tmp/ip.json (its "end" section: sum_sent is the sender's view, with
# TCP's retransmissions, sum_received the receiver's).
report() {
    s=$(tr -d ' \n\t' </tmp/ip.json)
    end=$(echo "$s" | sed -n 's/.*"end":{"streams"/{"streams"/p')
    sent=$(echo "$end" | sed -n 's/.*"sum_sent":{\([^}]*\)}.*/\1/p')
    rcvd=$(echo "$end" | sed -n 's/.*"sum_received":{\([^}]*\)}.*/\1/p')
    cpu=$(echo "$end" | sed -n 's/.*"cpu_utilization_percent":{\([^}]*\)}.*/\1/p')
    err=$(tr -d '\n\t' </tmp/ip.json | sed -n 's/.*"error":[[:space:]]*"\([^"]*\)".*/\1/p')
    mark IPERF "$1" rc=$2 tries=$3 sent_bytes=$(jget "$sent" bytes) sent_s=$(jget "$sent" seconds) \
        retr=$(jget "$sent" retransmits) rcvd_bytes=$(jget "$rcvd" bytes) \
        rcvd_s=$(jget "$rcvd" seconds) cpu_host=$(jget "$cpu" host_total) \
        cpu_remote=$(jget "$cpu" remote_total) guest_cpu=$gcpu err="$err$(head -c 200 /tmp/ip.err | tr '\n' ' ')"
}

# failstate IF: after a failed test, the guest's side of it: every
# ethtool -S counter of IF and TCP's own counters (FAIL lines)
failstate() {
    ethtool -S "$1" 2>&1 | while IFS=: read -r k v; do
        mark FAIL "$1" "$(echo $k | tr ' ' _)=$(echo $v)"
    done
    grep '^Tcp' /proc/net/snmp | while read -r l; do mark FAIL snmp "$l"; done
}

# iperf NAME SERVER DST: one TCP test of $secs s from the first namespace
# to DST, with a one-off iperf3 server in SERVER (root, ns, or "remote":
# another guest's, retried while it refuses)
iperf() {
    name=$1 where=$2 dst=$3
    dev=$(ip route get "$dst" | sed -n 's/.* dev \([^ ]*\).*/\1/p' | head -n 1)
    mark CASE "$name" dst=$dst dev=$dev mtu=$(cat /sys/class/net/$dev/mtu 2>/dev/null)
    sleep 1 # the host's glan query before the test
    spid=
    if [ "$where" != remote ]; then
        at "$where" iperf3 -s -1 >/tmp/srv.out 2>&1 &
        spid=$!
        sleep 1
    fi
    read -r _ ku0 kn0 ks0 ki0 kw0 kh0 kq0 _ </proc/stat
    tcpsnap /tmp/tcp.before
    n=0
    while :; do
        n=$((n + 1))
        timeout $((secs + 60)) iperf3 -c "$dst" -t "$secs" --json >/tmp/ip.json 2>/tmp/ip.err
        rc=$?
        if [ $rc -ne 0 ] && [ "$where" = remote ] && [ $n -lt 30 ] &&
            grep -q 'unable to connect\|Connection refused' /tmp/ip.json /tmp/ip.err; then
            sleep 2
            continue
        fi
        break
    done
    if [ -n "$spid" ]; then
        (sleep 10 && kill $spid) 2>/dev/null &
        wpid=$!
        wait $spid
        kill $wpid 2>/dev/null
    fi
    # where the guest's one CPU went during the test, in % of its ticks:
    # user, system, hard and soft interrupts, idle (and I/O wait)
    read -r _ ku1 kn1 ks1 ki1 kw1 kh1 kq1 _ </proc/stat
    t=$((ku1 + kn1 + ks1 + ki1 + kw1 + kh1 + kq1 - ku0 - kn0 - ks0 - ki0 - kw0 - kh0 - kq0))
    [ $t -gt 0 ] || t=1
    gcpu=$(((ku1 + kn1 - ku0 - kn0) * 100 / t))/$(((ks1 - ks0) * 100 / t))/$(((kh1 - kh0) * 100 / t))/$(((kq1 - kq0) * 100 / t))/$(((ki1 + kw1 - ki0 - kw0) * 100 / t))
    report "$name" $rc $n
    tcpdelta "$name" /tmp/tcp.before
    [ $rc -ne 0 ] && [ "$dev" != lo ] && failstate "$dev"
    sleep 1 # the host's glan query after the test
}

# maxmtu WHERE IF: the largest MTU the interface takes (binary search
# between what it has and 65536); sets it and marks it
maxmtu() {
    w=$1 ifn=$2
    lo=$(at "$w" ip -o link show "$ifn" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')
    hi=65536
    while [ $((hi - lo)) -gt 1 ]; do
        mid=$(((lo + hi) / 2))
        if at "$w" ip link set dev "$ifn" mtu $mid 2>/dev/null; then lo=$mid; else hi=$mid; fi
    done
    at "$w" ip link set dev "$ifn" mtu $lo
    mark MTU "$ifn" max=$lo now=$(at "$w" ip -o link show "$ifn" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')
}

# fixmtu WHERE IF MTU: set the interface's MTU and mark it
fixmtu() {
    at "$1" ip link set dev "$2" mtu "$3"
    mark MTU "$2" max=$3 now=$(at "$1" ip -o link show "$2" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')
}

# ethk WHERE IF PHASE: what ethtool -k shows, but the features fixed off
ethk() {
    # (brackets as parentheses: the console shows "[" and "]" as " " and "!")
    at "$1" ethtool -k "$2" 2>&1 | sed -n '2,$p' | grep -v 'off \[fixed\]' |
        sed "s/^[[:space:]]*/@@ ETHK $2 $3 /; s/\[/(/g; s/\]/)/g"
}

# offload WHERE IF: ethtool -K turns on every offload the device lets it
# (every feature ethtool -k shows off and not fixed), one at a time; the
# legacy names ethtool -k prints are given to -K by their short names.
# Not offloads, and left alone: loopback, rx-fcs, rx-all.
offload() {
    w=$1 ifn=$2
    ethk "$w" "$ifn" before
    for f in $(at "$w" ethtool -k "$ifn" | sed -n 's/^[[:space:]]*\([a-z0-9-]*\): off$/\1/p'); do
        case $f in
        loopback | rx-fcs | rx-all) continue ;;
        rx-checksumming) k=rx ;;
        tx-checksumming) k=tx ;;
        scatter-gather) k=sg ;;
        tcp-segmentation-offload) k=tso ;;
        generic-segmentation-offload) k=gso ;;
        generic-receive-offload) k=gro ;;
        large-receive-offload) k=lro ;;
        udp-fragmentation-offload) k=ufo ;;
        rx-vlan-offload) k=rxvlan ;;
        tx-vlan-offload) k=txvlan ;;
        ntuple-filters) k=ntuple ;;
        receive-hashing) k=rxhash ;;
        *) k=$f ;;
        esac
        if at "$w" ethtool -K "$ifn" "$k" on >/tmp/eth.err 2>&1; then
            mark ETHSET "$ifn" "$f" ok
        else
            mark ETHSET "$ifn" "$f" fail "$(head -c 120 /tmp/eth.err | tr '\n' ' ')"
        fi
    done
    ethk "$w" "$ifn" after
}

# tune: every interface to its largest MTU, every offload on
tune() {
    while read -r ifn w; do
        maxmtu "$w" "$ifn"
        offload "$w" "$ifn"
    done </tmp/ifs
}

# eths WHERE IF PHASE: ethtool -S's checksum and TSO counters (every
# counter with bench_eths=all)
eths() {
    pat='csum\|tso'
    [ "${bench_eths:-}" = all ] && pat=.
    at "$1" ethtool -S "$2" 2>&1 | grep -i "$pat" | while IFS=: read -r k v; do
        mark ETHS "$2" "$3" "$(echo $k | tr ' ' _)=$(echo $v)"
    done
}

# xfer MIB DST: MIB MiB of random data from the first namespace to an nc
# listener in the "ns" one, SHA-256 checked at both ends
xfer() {
    dd if=/dev/urandom of=/tmp/tx bs=1048576 count="$1" 2>/dev/null
    txsum=$(sha256sum </tmp/tx | cut -d' ' -f1)
    rm -f /tmp/rx /tmp/hold
    # busybox nc ends when its stdin does: the listener reads a FIFO that
    # stays open (as tests/e2e/guest/init.sh)
    mkfifo /tmp/hold
    sleep 1000 >/tmp/hold &
    hpid=$!
    at ns timeout 300 nc -l -p 5001 </tmp/hold >/tmp/rx 2>/tmp/nc-l.err &
    lpid=$!
    sleep 1
    timeout 300 nc "$2" 5001 </tmp/tx 2>/tmp/nc.err
    rc=$?
    wait $lpid
    kill $hpid 2>/dev/null
    rxsum=$(sha256sum </tmp/rx | cut -d' ' -f1)
    ok=fail
    [ "$txsum" = "$rxsum" ] && ok=ok
    mark XFER $ok bytes=$(wc -c </tmp/rx) send_rc=$rc tx=$txsum rx=$rxsum \
        err="$(cat /tmp/nc.err /tmp/nc-l.err | tr '\n' ' ')"
    rm -f /tmp/tx /tmp/rx
}

# offload_on WHERE IF: the checksum and TSO offloads, as a user turns them on
offload_on() {
    for k in rx tx sg tso; do
        if at "$1" ethtool -K "$2" $k on >/tmp/eth.err 2>&1; then
            mark ETHSET "$2" $k ok
        else
            mark ETHSET "$2" $k fail "$(head -c 120 /tmp/eth.err | tr '\n' ' ')"
        fi
    done
    ethk "$1" "$2" after
}

# mh_v6: the interface's MAC (mh_mac), then its IPv6 address (mh_addr6),
# after DAD
mh_v6() {
    read -r if0 w0 </tmp/ifs
    if [ -n "${mh_mac:-}" ]; then
        # as a user gives a layer-2 guest a MAC of its own; qeth registers
        # it with the device (SETVMAC) and drops the old one (DELVMAC)
        if ip link set dev "$if0" address "$mh_mac" 2>/tmp/err; then
            mark MAC "$if0" "$(cat /sys/class/net/$if0/address)" ok
        else
            mark MAC "$if0" "$mh_mac" fail "$(cat /tmp/err)"
        fi
    fi
    if [ -n "${mh_addr6:-}" ]; then
        if ip addr add "$mh_addr6" dev "$if0" 2>/tmp/err; then
            mark ADDR2 "$if0" "$mh_addr6" ok
        else
            mark ADDR2 "$if0" "$mh_addr6" fail "$(cat /tmp/err)"
        fi
        sleep 2
    fi
}

# mh_wait ADDR: ping until it answers (up to bench_wait s); marks UP
mh_wait() {
    t=0
    until ping -c 1 -W 1 "$1" >/dev/null 2>&1; do
        t=$((t + 1))
        [ $t -lt "${bench_wait:-300}" ] || break
    done
    mark "${2:-UP}" "$1" after=$t
}

# mh_ping MARK: 5 pings to the peer's IPv4 and IPv6 addresses
mh_ping() {
    for a in "${bench_peer:?}" ${mh_peer6:-}; do
        v=
        case $a in *:*) v=-6 ;; esac
        out=$(ping $v -c 5 -W 2 "$a" 2>&1)
        tx=$(echo "$out" | sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p')
        rx=$(echo "$out" | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')
        rtt=$(echo "$out" | sed -n 's/^round-trip min\/avg\/max = \(.*\) ms/\1/p')
        mark "$1" "$a" tx=${tx:-0} rx=${rx:-0} rtt=${rtt:--}
    done
}

# serve NAME: one iperf3 test served (the server role, mhserve)
serve() {
    timeout "${bench_wait:-300}" iperf3 -s -1 >/tmp/srv.out 2>&1 &
    spid=$!
    sleep 1
    mark SERVE "$1"
    wait $spid
    mark SERVED "$1" rc=$? "$(tail -n 3 /tmp/srv.out | tr -s ' \n' ' ')"
}

case ${bench_role:-single} in
mhserve)
    read -r if0 w0 </tmp/ifs
    mh_v6
    mh_wait "${bench_peer:?}"
    mh_ping PING
    serve glan-mh-default
    # the peer's bench_mib MiB, kept open by a FIFO as xfer does
    rm -f /tmp/rx /tmp/hold
    mkfifo /tmp/hold
    sleep 1000 >/tmp/hold &
    hpid=$!
    timeout 300 nc -l -p 5001 </tmp/hold >/tmp/rx 2>/tmp/nc-l.err
    rc=$?
    kill $hpid 2>/dev/null
    mark XFER rx ok bytes=$(wc -c </tmp/rx) rc=$rc rx=$(sha256sum </tmp/rx | cut -d' ' -f1)
    rm -f /tmp/rx
    # the peer's host kills its Hercules: three unanswered pings in a row
    t=0 miss=0
    while [ $miss -lt 3 ] && [ $t -lt "${bench_wait:-300}" ]; do
        if ping -c 1 -W 1 "$bench_peer" >/dev/null 2>&1; then miss=0; else miss=$((miss + 1)); fi
        t=$((t + 1))
        sleep 1
    done
    mark GONE "$bench_peer" after=$t
    fixmtu "$w0" "$if0" "${bench_mtu2:-9000}"
    mh_wait "$bench_peer" BACK
    mh_ping PING2
    serve glan-mh-mtu
    ;;
mhclient)
    read -r if0 w0 </tmp/ifs
    [ -n "${bench_mtu:-}" ] && fixmtu "$w0" "$if0" "$bench_mtu"
    mh_v6
    mh_wait "${bench_peer:?}"
    mh_ping PING
    if [ "${mh_phase:-1}" = 2 ]; then
        iperf glan-mh-mtu remote "$bench_peer"
        finish
    fi
    iperf glan-mh-default remote "$bench_peer"
    dd if=/dev/urandom of=/tmp/tx bs=1048576 count="${bench_mib:-16}" 2>/dev/null
    n=0
    until timeout 300 nc "$bench_peer" 5001 </tmp/tx 2>/tmp/nc.err; do
        n=$((n + 1))
        [ $n -lt 30 ] || break
        sleep 1
    done
    mark XFER tx ok bytes=$(wc -c </tmp/tx) tries=$n tx=$(sha256sum </tmp/tx | cut -d' ' -f1)
    mark DONE1
    sleep 100000
    ;;
offload)
    dst=${bench_dst:-10.1.1.3}
    { read -r if0 w0 && read -r if1 w1; } </tmp/ifs
    # MTU 9000, not the largest: Linux builds TSO datagrams of up to 61440
    # bytes for an OSA, so at MTU 57344 a TSO datagram would be one segment
    # and TCP would never use it.
    fixmtu "$w0" "$if0" "${bench_mtu:-9000}"
    fixmtu "$w1" "$if1" "${bench_mtu:-9000}"
    offload_on "$w0" "$if0"
    eths "$w0" "$if0" before
    eths "$w1" "$if1" before
    mark CASE xfer dst=$dst
    sleep 1
    xfer "${bench_mib:-16}" "$dst"
    mark CASE xfer-end
    sleep 1
    eths "$w0" "$if0" xfer
    eths "$w1" "$if1" xfer
    offload_on "$w1" "$if1"
    iperf glan-offload ns "$dst"
    eths "$w0" "$if0" after
    eths "$w1" "$if1" after
    ;;
check)
    dst=${bench_dst:-10.1.1.3}
    { read -r if0 w0 && read -r if1 w1; } </tmp/ifs
    iperf glan-default ns "$dst"
    # MTU 9000, as the offload role: TCP uses TSO below the largest MTU
    fixmtu "$w0" "$if0" "${bench_mtu:-9000}"
    fixmtu "$w1" "$if1" "${bench_mtu:-9000}"
    offload_on "$w0" "$if0"
    offload_on "$w1" "$if1"
    eths "$w0" "$if0" before
    eths "$w1" "$if1" before
    iperf glan-offload ns "$dst"
    eths "$w0" "$if0" after
    eths "$w1" "$if1" after
    ;;
single)
    iperf lo root 127.0.0.1
    iperf glan-default ns "${bench_dst:-10.1.1.3}"
    tune
    iperf glan-tuned ns "${bench_dst:-10.1.1.3}"
    # the offloads on, at MTU 9000: below 64 KiB / 2 Linux sends TSO
    while read -r ifn w; do fixmtu "$w" "$ifn" 9000; done </tmp/ifs
    iperf glan-tso9000 ns "${bench_dst:-10.1.1.3}"
    iperf lo-after root 127.0.0.1
    ;;
server)
    iperf lo root 127.0.0.1
    for name in glan-default glan-tuned; do
        [ $name = glan-tuned ] && tune
        tcpsnap /tmp/tcp.before
        serve "$name"
        tcpdelta "$name" /tmp/tcp.before
    done
    ;;
client)
    peer=${bench_peer:?}
    t=0
    until ping -c 1 -W 1 "$peer" >/dev/null 2>&1; do
        t=$((t + 1))
        [ $t -lt "${bench_wait:-300}" ] || break
    done
    mark UP "$peer" after=$t
    iperf lo root 127.0.0.1
    iperf glan-default remote "$peer"
    tune
    # the server tunes its side once the first test has ended: iperf
    # retries while its listener is not back
    sleep 3
    iperf glan-tuned remote "$peer"
    ;;
esac
finish
