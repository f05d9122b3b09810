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
#   glan_ping_size  data bytes per ping (ping -s; default busybox's 56)
#   glan_mtu   MTU to set on every interface once it is up (marker MTU DEVNO
#              IF MTU ok|fail above=refused|taken: whether MTU + 1 is refused,
#              i.e. whether MTU is the largest the device offers)
#   glan_ping_late, glan_ping_late_ns  the same, after the TCP transfers (and
#              after a glan_cycle), marker PINGLATE
#   glan_route    routes in the first namespace, comma-separated NET/PREFIX@GW
#                 e.g. 10.91.2.0/24@10.91.1.1 (for host routing between QETHs)
#   glan_route_ns the same in the "ns" interface's namespace
#   glan_tcp   MiB to send over TCP (busybox nc) from the first namespace to
#              each of glan_tcp_to (comma-separated, default 10.1.1.3) in the
#              "ns" namespace, checked by SHA-256; glan_tcp_timeout seconds
#              per transfer (default 120)
#              and prints both namespaces' TCP/UDP counters after each (SNMP)
#   glan_mtu   MTU to set on every interface once it is up (marker MTU)
#   glan_tcp_host ADDR:PORT  send glan_tcp MiB (default 4) over TCP (busybox
#              nc) from the first namespace to a listener on the host side;
#              marker TCPHOST ADDR rc=... bytes=... tx=SHA256 (the host
#              compares what it got), then PMTU ADDR in_dest_unreachs=N (the
#              ICMP destination-unreachable messages the guest took, path MTU
#              answers among them)
#   glan_flood COUNT/SIZE: back-to-back pings (ping -A) of SIZE bytes from the
#              first namespace to each of glan_flood_to
#   glan_dbf   entries of the qeth s390dbf areas printed when an interface
#              fails to come online (default 60)
#   glan_offline  device number of an interface to take offline after the
#              hold (marker OFFLINE DEVNO ok|fail), so the host can see its
#              addresses leave the LAN; the guest then waits 4 s
#   glan_hold  seconds to stay up after the probes (default 0), e.g. so that
#              the host can probe the guest
#   glan_addr_extra  more addresses, comma-separated DEVNO/ADDR/PREFIX (IPv4 or
#              IPv6), each added to the interface of DEVNO in its namespace
#              after every interface is up (marker ADDR2 ... ok|fail)
#   glan_layer layer3 (default), layer2, or default: what guest-setup.sh
#              online does with each card's layer2 attribute (default: leaves
#              it as qeth has it, layer 2); comma-separated, an entry
#              DEVNO:LAYER is for that card only, e.g.
#              default,0.0.0620:layer3
#   glan_vlan  VLAN interfaces, comma-separated DEVNO/VID/ADDR/PREFIX, each made
#              on the interface of DEVNO in its namespace (marker VLAN ... ok|fail)
#   glan_dhcpd DEVNO: busybox udhcpd on that interface (pool .100-.110 of its
#              /24); glan_dhcpc DEVNO: udhcpc on that one, marker DHCP DEVNO
#              ok|fail ADDR
#   glan_cycle DEVNO: take that interface offline and online again while
#              the first TCP transfer runs, glan_cycle_after seconds into it
#              (default 2; markers CYCLE DEVNO offline|online ok|fail)
# Markers: USERSPACE, MODULE, IF, MTU, ADDR, ADDR2, VLAN, DHCP, DMESG, ROUTE, PING, PINGLATE, TCP,
# TCPHOST, PMTU, SNMP, FLOOD, READY, CYCLE, OFFLINE, NETDEV, DONE, DBF
# (see docs/hercules.md).

. /guest-lib.sh

mark USERSPACE kernel=$(uname -r)
load_qeth verbose

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
# layer_of DEVNO: the layer glan_layer gives that card
layer_of() {
    l=layer3
    for e in $(echo "${glan_layer:-}" | tr ',' ' '); do
        case $e in
        "$1":*) l=${e#*:} ;;
        *:*) ;;
        *) l=$e ;;
        esac
    done
    for e in $(echo "${glan_layer:-}" | tr ',' ' '); do
        case $e in "$1":*) l=${e#*:} ;; esac
    done
    echo $l
}
# up DEVNO ADDR/PREFIX NS -> brings the interface up, in its own netns if
# NS=ns, with the commands of samples/guest-setup.sh (copied into the
# initramfs as /guest-setup.sh by build-initramfs.sh): the sample is what runs.
up() {
    devno=$1 addr=$2 ns=$3
    r=$(printf '%s.%04x' "${devno%.*}" $((0x${devno##*.})))
    g=/sys/bus/ccwgroup/devices/$r
    if ! ifn=$(sh /guest-setup.sh online "$devno" "$(layer_of "$devno")" 2>/tmp/err); then
        if [ ! -d $g ]; then
            mark IF "$devno" - "$addr" fail "group: $(cat /tmp/err)"
        else
            mark IF "$devno" - "$addr" fail "online: $(cat /tmp/err) state=$(cat $g/state)"
            dmesg | grep qeth | tail -n 5 | sed 's/^/@@ DMESG /'
            dbf
        fi
        return 1
    fi
    run=
    if [ "$ns" = ns ]; then
        if [ -z "$NSPID" ]; then
            unshare -n sleep 1000000 &
            NSPID=$!
            sleep 0.2
            nsenter -t $NSPID -n ip link set lo up
        fi
        # A name of its own first (n0610 for 0.0.0610): the next card to come
        # online in the first namespace may get the same ethN, and a
        # namespace takes no duplicate.
        ip link set "$ifn" name "n${devno##*.}"
        ifn=n${devno##*.}
        ip link set "$ifn" netns $NSPID
        run="nsenter -t $NSPID -n"
    fi
    if ! $run sh /guest-setup.sh address "$ifn" "$addr" 2>/tmp/err; then
        mark IF "$devno" "$ifn" "$addr" fail "address: $(cat /tmp/err)"
        return 1
    fi
    mark IF "$devno" "$ifn" "$addr" ok ns=${ns:-root} card=$(cat $g/card_type | tr ' ' _) \
        mtu=$($run ip -o link show dev "$ifn" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')
    echo "$ifn ${ns:-root}" >"/tmp/if.$devno"
    if [ -n "${glan_mtu:-}" ]; then
        ok=fail above=taken
        $run ip link set dev "$ifn" mtu "$glan_mtu" 2>/tmp/err &&
            [ "$($run ip -o link show dev "$ifn" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')" = "$glan_mtu" ] &&
            ok=ok
        if ! $run ip link set dev "$ifn" mtu $((glan_mtu + 1)) 2>/dev/null; then
            above=refused
        fi
        $run ip link set dev "$ifn" mtu "$glan_mtu" 2>/dev/null
        mark MTU "$devno" "$ifn" "$glan_mtu" $ok above=$above
    fi
}

for spec in $(echo "${glan_ifs:-}" | tr ',' ' '); do
    IFS=/ read -r devno a p ns <<EOF
$spec
EOF
    up "$devno" "$a/$p" "$ns"
done
# More addresses on an interface: more than one IP address per layer-3
# interface, IPv6 ones too, each registered with the device (SETIP).
added=
for spec in $(echo "${glan_addr_extra:-}" | tr ',' ' '); do
    devno=${spec%%/*} a=${spec#*/}
    if [ -f "/tmp/if.$devno" ] && read -r ifn where <"/tmp/if.$devno"; then
        run=
        [ "$where" = ns ] && run="nsenter -t $NSPID -n"
        if $run ip addr add "$a" dev "$ifn" 2>/tmp/err; then
            mark ADDR2 "$devno" "$ifn" "$a" ok
            added=1
        else
            mark ADDR2 "$devno" "$ifn" "$a" fail "$(cat /tmp/err)"
        fi
    else
        mark ADDR2 "$devno" - "$a" fail "no such interface up"
    fi
done
# VLAN interfaces: DEVNO/VID/ADDR/PREFIX on the interface of DEVNO
for spec in $(echo "${glan_vlan:-}" | tr ',' ' '); do
    IFS=/ read -r devno vid a p <<EOF
$spec
EOF
    if [ -f "/tmp/if.$devno" ] && read -r ifn where <"/tmp/if.$devno"; then
        run=
        [ "$where" = ns ] && run="nsenter -t $NSPID -n"
        v=$ifn.$vid
        if $run ip link add link "$ifn" name "$v" type vlan id "$vid" 2>/tmp/err &&
            $run ip addr add "$a/$p" dev "$v" 2>>/tmp/err && $run ip link set "$v" up 2>>/tmp/err; then
            mark VLAN "$devno" "$v" "$a/$p" ok
            added=1
        else
            mark VLAN "$devno" "$v" "$a/$p" fail "$(cat /tmp/err)"
        fi
    else
        mark VLAN "$devno" - "$a/$p" fail "no such interface up"
    fi
done
# (IPv6 duplicate address detection takes about a second)
[ -n "$added" ] && sleep 2
ip -o addr show | sed 's/^/@@ ADDR /'
[ -n "$NSPID" ] && nsenter -t $NSPID -n ip -o addr show | sed 's/^/@@ ADDR ns /'

# route NS LIST: NET/PREFIX@GW entries, in the first namespace or the "ns" one
route() {
    run=
    [ "$1" = ns ] && run="nsenter -t $NSPID -n"
    for r in $(echo "$2" | tr ',' ' '); do
        if $run ip route add "${r%@*}" via "${r#*@}" 2>/tmp/err; then
            mark ROUTE "$1" "$r" ok
        else
            mark ROUTE "$1" "$r" fail "$(cat /tmp/err)"
        fi
    done
}
route root "${glan_route:-}"
[ -n "$NSPID" ] && route ns "${glan_route_ns:-}"

# ping FROM TARGET [MARK]: FROM is "root" or "ns"; MARK defaults to PING
ping_one() {
    run=
    [ "$1" = ns ] && run="nsenter -t $NSPID -n"
    v=
    case $2 in *:*) v=-6 ;; esac
    out=$($run ping $v -c "${glan_count:-5}" ${glan_ping_size:+-s $glan_ping_size} -W 2 "$2" 2>&1)
    tx=$(echo "$out" | sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p')
    rx=$(echo "$out" | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')
    rtt=$(echo "$out" | sed -n 's/^round-trip min\/avg\/max = \(.*\) ms/\1/p')
    mark "${3:-PING}" "$1" "$2" tx=${tx:-0} rx=${rx:-0} rtt=${rtt:--}
}
# DHCP: busybox udhcpd on the interface of glan_dhcpd, udhcpc on glan_dhcpc's
dhcp_test() {
    read -r sif swhere <"/tmp/if.$glan_dhcpd" || return
    read -r cif cwhere <"/tmp/if.$glan_dhcpc" || return
    srun= crun=
    [ "$swhere" = ns ] && srun="nsenter -t $NSPID -n"
    [ "$cwhere" = ns ] && crun="nsenter -t $NSPID -n"
    net=$($srun ip -o -4 addr show dev "$sif" | sed -n 's/.* inet \([0-9.]*\)\.[0-9]*\/.*/\1/p' | head -n 1)
    printf 'start %s.100\nend %s.110\ninterface %s\noption subnet 255.255.255.0\nlease_file /tmp/udhcpd.leases\n' \
        "$net" "$net" "$sif" >/tmp/udhcpd.conf
    touch /tmp/udhcpd.leases
    $srun udhcpd -f /tmp/udhcpd.conf 2>/tmp/udhcpd.err &
    dpid=$!
    printf '#!/bin/sh\n[ "$1" = bound ] && ip addr add "$ip/${mask:-24}" dev "$interface"\nexit 0\n' >/tmp/udhcpc.sh
    chmod 755 /tmp/udhcpc.sh
    sleep 1
    if $crun udhcpc -i "$cif" -n -q -t 5 -T 2 -s /tmp/udhcpc.sh >/tmp/udhcpc.out 2>&1; then
        got=$($crun ip -o -4 addr show dev "$cif" | sed -n 's/.* inet \([0-9.]*\/[0-9]*\).*/\1/p' | grep "^$net\.1[01][0-9]/" | head -n 1)
        st=fail
        [ -n "$got" ] && st=ok
        mark DHCP "$glan_dhcpc" $st "${got:--}"
    else
        mark DHCP "$glan_dhcpc" fail - "$(tr '\n' ' ' </tmp/udhcpc.out)"
    fi
    kill $dpid 2>/dev/null
}
[ -n "${glan_dhcpd:-}" ] && [ -n "${glan_dhcpc:-}" ] && dhcp_test
for t in $(echo "${glan_ping:-}" | tr ',' ' '); do ping_one root "$t"; done
for t in $(echo "${glan_ping_ns:-}" | tr ',' ' '); do ping_one ns "$t"; done

# TCP from the first namespace to an address in the "ns" namespace: glan_tcp
# MiB of random data through busybox nc, checked by SHA-256 at both ends.
# The rate is bytes / (t1 - t0) of the guest's clock (t0 just before the
# sender starts, t1 when the listener has ended).
tcp_test() {
    mib=$1 dst=$2 port=$3
    dd if=/dev/urandom of=/tmp/tx bs=1048576 count="$mib" 2>/dev/null
    txsum=$(sha256sum </tmp/tx | cut -d' ' -f1)
    rm -f /tmp/rx
    # busybox nc ends when its stdin does, and a background job's stdin is
    # /dev/null: the listener reads from a FIFO that stays open instead.
    rm -f /tmp/hold
    mkfifo /tmp/hold
    sleep 1000 >/tmp/hold &
    spid=$!
    to=${glan_tcp_timeout:-120}
    nsenter -t $NSPID -n timeout "$to" nc -l -p "$port" </tmp/hold >/tmp/rx 2>/tmp/nc-l.err &
    lpid=$!
    sleep 1
    cpid=
    if [ -n "${glan_cycle:-}" ] && [ "$port" = 5001 ]; then
        cycle "$glan_cycle" "${glan_cycle_after:-2}" &
        cpid=$!
    fi
    t0=$(cut -d' ' -f1 /proc/uptime)
    timeout "$to" nc "$dst" "$port" </tmp/tx 2>/tmp/nc.err
    rc=$?
    wait $lpid
    [ -n "$cpid" ] && wait $cpid
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
# cycle DEVNO AFTER: offline and online again, AFTER seconds from now.  The
# interface keeps its name, namespace and addresses (Linux keeps the
# netdev; qeth_l3 registers the addresses again on the way up).
cycle() {
    sleep "$2"
    g=/sys/bus/ccwgroup/devices/$1
    if echo 0 >$g/online 2>/tmp/cyc.err; then
        mark CYCLE "$1" offline ok
    else
        mark CYCLE "$1" offline fail "$(cat /tmp/cyc.err)"
    fi
    sleep 1
    if echo 1 >$g/online 2>/tmp/cyc.err && [ "$(cat $g/online)" = 1 ]; then
        mark CYCLE "$1" online ok
    else
        mark CYCLE "$1" online fail "$(cat /tmp/cyc.err) state=$(cat $g/state)"
    fi
}
# Back-to-back pings from the first namespace (busybox ping -A: the next
# request as soon as the reply is in): COUNT requests of SIZE data bytes.
# Request-response traffic both ways; its rate is 2 x COUNT x SIZE over the
# guest time t0..t1.  (Debian's busybox nc has no UDP mode.)
flood_test() {
    count=${1%/*} size=${1#*/} dst=$2
    t0=$(cut -d' ' -f1 /proc/uptime)
    out=$(ping -A -q -c "$count" -s "$size" -W 2 "$dst" 2>&1)
    t1=$(cut -d' ' -f1 /proc/uptime)
    tx=$(echo "$out" | sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p')
    rx=$(echo "$out" | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')
    rtt=$(echo "$out" | sed -n 's/^round-trip min\/avg\/max = \(.*\) ms/\1/p')
    mark FLOOD "$dst" count=$count size=$size tx=${tx:-0} rx=${rx:-0} rtt=${rtt:--} t0=$t0 t1=$t1
}
# The TCP and UDP counters of both namespaces (/proc/net/snmp): tell "the
# segments never reached TCP" from "TCP dropped them".  snmp LABEL
snmp() {
    for where in root ns; do
        run=
        if [ $where = ns ]; then
            [ -n "$NSPID" ] || continue
            run="nsenter -t $NSPID -n"
        fi
        $run cat /proc/net/snmp | awk -v w=$where '
            $1 == "Ip:" && !ih { split($0, p); ih = 1; next }
            $1 == "Ip:" { for (i = 2; i <= NF; i++) if (p[i] ~ /^(InReceives|InHdrErrors|InAddrErrors|InDiscards|InDelivers|FragCreates|ReasmReqds)$/) t = t " Ip" p[i] "=" $i }
            $1 == "Tcp:" && !th { split($0, h); th = 1; next }
            $1 == "Tcp:" { for (i = 2; i <= NF; i++) if (h[i] ~ /^(ActiveOpens|AttemptFails|InSegs|OutSegs|RetransSegs|InErrs|InCsumErrors)$/) t = t " " h[i] "=" $i }
            $1 == "Udp:" && !uh { split($0, u); uh = 1; next }
            $1 == "Udp:" { for (i = 2; i <= NF; i++) if (u[i] ~ /^(InDatagrams|NoPorts|InErrors|RcvbufErrors|InCsumErrors)$/) t = t " Udp" u[i] "=" $i }
            END { print "@@ SNMP " w " " label t }' label="$1"
    done
}
# Back-to-back pings first, then the TCP transfers: what a transfer may do
# to the path (or to Hercules) cannot spoil the other figures.
if [ -n "$NSPID" ]; then
    if [ -n "${glan_flood:-}" ]; then
        for dst in $(echo "${glan_flood_to:-10.1.1.3}" | tr ',' ' '); do
            flood_test "$glan_flood" "$dst"
        done
    fi
    port=5001
    if [ -n "${glan_tcp:-}" ]; then
        for dst in $(echo "${glan_tcp_to:-10.1.1.3}" | tr ',' ' '); do
            tcp_test "$glan_tcp" "$dst" $port
            snmp "after_tcp_to=$dst"
            port=$((port + 1))
        done
    fi
fi

# TCP from the first namespace to a listener on the host side (glan_tcp_host
# ADDR:PORT): the host checks the SHA-256 of what it got against tx.
if [ -n "${glan_tcp_host:-}" ]; then
    dst=${glan_tcp_host%:*} port=${glan_tcp_host##*:} mib=${glan_tcp:-4}
    dd if=/dev/urandom of=/tmp/tx bs=1048576 count="$mib" 2>/dev/null
    txsum=$(sha256sum </tmp/tx | cut -d' ' -f1)
    t0=$(cut -d' ' -f1 /proc/uptime)
    timeout "${glan_tcp_timeout:-120}" nc "$dst" "$port" </tmp/tx 2>/tmp/nc.err
    rc=$?
    t1=$(cut -d' ' -f1 /proc/uptime)
    mark TCPHOST "$dst" rc=$rc bytes=$((mib * 1048576)) t0=$t0 t1=$t1 tx=$txsum \
        err="$(tr '\n' ' ' </tmp/nc.err)"
    mark PMTU "$dst" "$(awk '$1 == "Icmp:" && !h { split($0, n); h = 1; next }
        $1 == "Icmp:" { for (i = 2; i <= NF; i++) if (n[i] == "InDestUnreachs") print "in_dest_unreachs=" $i }' /proc/net/snmp)"
    snmp after_tcp_host
    rm -f /tmp/tx
fi

for t in $(echo "${glan_ping_late:-}" | tr ',' ' '); do ping_one root "$t" PINGLATE; done
[ -n "$NSPID" ] && for t in $(echo "${glan_ping_late_ns:-}" | tr ',' ' '); do ping_one ns "$t" PINGLATE; done
mark READY hold=${glan_hold:-0}
i=0
while [ $i -lt "${glan_hold:-0}" ]; do sleep 1; i=$((i + 1)); done
if [ -n "${glan_offline:-}" ]; then
    if echo 0 >"/sys/bus/ccwgroup/devices/$glan_offline/online" 2>/tmp/err; then
        mark OFFLINE "$glan_offline" ok
    else
        mark OFFLINE "$glan_offline" fail "$(cat /tmp/err)"
    fi
    sleep 4
fi
# Every interface's counters, in both namespaces: NETDEV NS IF ...
netdev() {
    $2 cat /proc/net/dev | sed -n "s/^ *\([a-z0-9]*\): *\([0-9]*\) *\([0-9]*\) *\([0-9]*\) *\([0-9]*\) *[0-9]* *[0-9]* *[0-9]* *[0-9]* *\([0-9]*\) *\([0-9]*\) *\([0-9]*\) .*/@@ NETDEV $1 \1 rx_bytes=\2 rx_packets=\3 rx_errs=\4 rx_drop=\5 tx_bytes=\6 tx_packets=\7 tx_errs=\8/p"
}
netdev root ""
[ -n "$NSPID" ] && netdev ns "nsenter -t $NSPID -n"
mark DONE
sleep 1
poweroff -f
