#!/bin/sh
# Run one end-to-end case under SDL Hyperion; CTest calls this
# (tests/e2e/CMakeLists.txt).  Exit 0 pass, 1 fail, 77 skipped with a line
# saying what is missing.
#
# usage: e2e.sh CASE
#   load           hdtglan loads for a '0600.3 GLAN LAN1' statement: glan query
#                  prints the LAN, devlist shows the three devices (no guest)
#   qeth-baseline  the Debian guest boots to userspace and pings the host
#                  through Hyperion's own QETH and a TUN (what users have today)
#   glan-guest2guest  the guest's two GLAN interfaces on one LAN (one in a
#                  network namespace of the guest) ping each other through the
#                  base and carry 16 MiB over TCP, checked by SHA-256; boots
#                  samples/two-glan.cnf; glan query's counters must equal the
#                  guest's, and the trace of the run must hold the pings and
#                  the 16 MiB (check-counters.py)
#   (glan-uplink boots samples/tun-uplink.cnf; every guest case brings its
#   interfaces up with samples/guest-setup.sh)
#   glan-multi-ip-cycle  (two emulated CPUs) a second IPv4 address and IPv6 addresses on the
#                  interfaces, pinged through the base; 16 MiB over TCP to the
#                  second address while its interface goes offline and online
#                  again
#   glan-uplink    the guest pings the host and the host the guest through a
#                  LAN's TUN uplink, in a network namespace the test creates
#   glan-large-mtu the guest's two GLAN interfaces (one in a namespace) at
#                  MTU 57344, the largest the device offers (57345 refused):
#                  pings of 57344-byte datagrams both ways and 16 MiB over
#                  TCP checked by SHA-256, none of it fragmented; the LAN's
#                  datagrams average well above a medium buffer
#   glan-pmtu      path MTU: the guest at MTU 9000 behind a TUN uplink of MTU
#                  1400 sends 8 MiB over TCP to a host beyond it (a second
#                  namespace, MTU 9000), checked by SHA-256; its first large
#                  segments get the base's ICMP "fragmentation needed", which
#                  glan query counts and the trace holds (tshark)
#   glan-l2        a LAN of transport ETHERNET: two cards grouped without
#                  touching layer2 (qeth's default, layer 2) ping each other
#                  over IPv4 and IPv6 and carry 16 MiB over TCP; a VLAN pair
#                  pings, a VLAN of another ID does not see it; DHCP (busybox
#                  udhcpd/udhcpc); a layer-3 card on the ETHERNET LAN and a
#                  layer-2 card on an IP LAN are refused at set-online
#   glan-l2-tap-bridge  an ETHERNET LAN's TAP uplink in a host bridge: guest
#                  and host ping each other, the host knows the guest's MAC
# Environment: HERCULES_PREFIX (Hyperion install), GLAN_MODULE_DIR (folder of
# hdtglan.so), GLAN_GUEST_DIR (built guest; built there when missing, from
# the .debs in GLAN_GUEST_CACHE), GLAN_RUN_DIR (logs, default ./e2e-run).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
case_=${1:?usage: e2e.sh CASE}
run=${GLAN_RUN_DIR:-$PWD/e2e-run}/$case_

. "$here/lib.sh"
need_hercules

case $case_ in
load)
    need_module
    exec python3 "$here/boot.py" --no-ipl --run "$run" --timeout 60 \
        --cfg "glan define LAN2 ports 8 buffers 512" \
        --dev "0600.3 GLAN LAN1" --dev "0610.3 GLAN lan2 chpid 05" \
        --on "START=glan query" --on "START=devlist" --on "START=help glan" \
        --expect-log '^.*HHC04700I 0:0600 GLAN: Attached to LAN .LAN1. as port 0' \
        --expect-log '^.*HHC04700I 0:0610 GLAN: Attached to LAN .LAN2. as port 0' \
        --expect-log '^.*HHC04720I LAN LAN1 \(defined by a device statement\): ports 1 of 64' \
        --expect-log '^.*HHC04720I LAN LAN2: ports 1 of 8' \
        --expect-log '^.*HHC04720I   Port 0 .0:0610. guest devices 0610 0611 0612' \
        --expect-log '^.*HHC02279I 0:0600 GLAN LAN1 port 0 read' \
        --expect-log '^.*HHC02279I 0:0601 GLAN LAN1 port 0 write' \
        --expect-log '^.*HHC02279I 0:0602 GLAN LAN1 port 0 data' \
        --expect-log '^.*HHC01603I Format: "glan define' \
        --expect-log '^.*HHC04703I 0:0600 GLAN: Detached from LAN .LAN1.'
    ;;
qeth-baseline)
    need_root tun "$case_: Hyperion's QETH on a TUN device"
    need_guest
    exec python3 "$here/boot.py" --guest "$guest" --run "$run" --timeout 240 \
        --dev "0600.3 QETH iface /dev/net/tun ifname glanq0 ipaddr 10.91.1.1 netmask 255.255.255.0 mtu 1500" \
        --params "glan_ifs=0.0.0600/10.91.1.2/24 glan_ping=10.91.1.1 glan_hold=4" \
        --on "READY=!ping -c 3 -i 0.2 -W 2 10.91.1.2" \
        --expect USERSPACE --expect 'IF~ ok ' --expect 'PING~rx=[1-9]' --expect DONE
    ;;
glan-guest2guest)
    need_module
    need_guest
    # One guest, two GLAN interfaces on LAN1, the second in its own network
    # namespace inside the guest: ping both ways through the base, 16 MiB
    # over TCP, and glan query shows both interfaces' addresses and counters;
    # then the second interface goes offline and its addresses leave the LAN
    # (the query after OFFLINE shows a port with none).
    # The configuration is samples/two-glan.cnf as it is (with cfg/lan1.cnf),
    # and the guest brings its interfaces up with samples/guest-setup.sh.
    # A trace of LAN1 runs from before the IPL to READY; then
    # check-counters.py holds the figures against each other exactly: the
    # query after DONE against the guest's own interface counters (NETDEV),
    # the trace's datagrams against the LAN's sent count and tshark, and the
    # pings and the 16 MiB in the trace.
    mkdir -p "$run"
    rm -f "$run/trace.pcap"
    python3 "$here/boot.py" --guest "$guest" --run "$run" --timeout 400 \
        --config samples/two-glan.cnf \
        --params "glan_ifs=0.0.0600/10.1.1.2/24,0.0.0610/10.1.1.3/24/ns glan_ping=10.1.1.3 glan_ping_ns=10.1.1.2 glan_tcp=16 glan_hold=1 glan_dbf=40 glan_offline=0.0.0610" \
        --on "START=glan trace LAN1 start $run/trace.pcap" \
        --on "READY=glan query LAN1" --on "READY=glan trace LAN1 stop" \
        --on "OFFLINE=glan query LAN1" --on "DONE=glan query LAN1" \
        --expect USERSPACE --expect 'IF~^0\.0\.0600 \S+ 10\.1\.1\.2/24 ok' \
        --expect 'IF~^0\.0\.0610 \S+ 10\.1\.1\.3/24 ok ns=ns' \
        --expect 'PING~^root 10\.1\.1\.3 tx=5 rx=5 ' --expect 'PING~^ns 10\.1\.1\.2 tx=5 rx=5 ' \
        --expect 'TCP~^10\.1\.1\.3 ok bytes=16777216 ' --expect 'OFFLINE~^0\.0\.0610 ok' \
        --expect DONE --expect-log "HHC04720I     Addresses: none" \
        --expect-log "HHC04710I GLAN: LAN 'LAN1' defined: 16 ports" \
        --expect-log "HHC04720I     Addresses: 10\.1\.1\.2 " \
        --expect-log "HHC04720I     Addresses: 10\.1\.1\.3 " \
        --expect-log "HHC04720I     Received [1-9][0-9]+ packets" \
        --expect-log "HHC04720I     Device: ccws [1-9][0-9]* uc 0 siga w/r [1-9][0-9]*/[1-9][0-9]* out [1-9][0-9]* in [1-9][0-9]* irq [1-9][0-9]*; the helper thread queued [0-9]+ of the interruptions" \
        --expect-log "HHC04718I GLAN: LAN 'LAN1' trace to .* stopped: [1-9][0-9]* datagrams written, 0 passed over, 0 lost" ||
        exit 1
    exec python3 "$here/check-counters.py" "$run" --trace "$run/trace.pcap" \
        --pings "10.1.1.2>10.1.1.3,10.1.1.3>10.1.1.2" --count 5 --tcp "10.1.1.2>10.1.1.3:16777216"
    ;;
glan-multi-ip-cycle)
    need_module
    need_guest
    # What users of Hyperion's QETH miss: more than one address on a
    # layer-3 interface (a second IPv4 address, and IPv6 addresses, all
    # registered with SETIP and reached through the base), and an interface
    # that goes offline and online again (halt, clear, the whole bring-up
    # again) in the middle of a TCP transfer, which then completes.  Two
    # emulated CPUs, so SIGAs and interruptions of the two interfaces meet
    # from two CPU threads.
    exec python3 "$here/boot.py" --guest "$guest" --run "$run" --timeout 400 --numcpu 2 \
        --dev "0600.3 GLAN LAN1" --dev "0610.3 GLAN LAN1" \
        --params "glan_ifs=0.0.0600/10.1.1.2/24,0.0.0610/10.1.1.3/24/ns glan_addr_extra=0.0.0610/10.1.1.4/24,0.0.0600/fd00:1::2/64,0.0.0610/fd00:1::3/64 glan_ping=10.1.1.4,fd00:1::3 glan_ping_ns=fd00:1::2,10.1.1.2 glan_tcp=16 glan_tcp_to=10.1.1.4 glan_cycle=0.0.0610 glan_ping_late=10.1.1.3,10.1.1.4,fd00:1::3 glan_ping_late_ns=fd00:1::2 glan_hold=1" \
        --on "READY=glan query LAN1" \
        --expect USERSPACE --expect 'IF~^0\.0\.0600 \S+ 10\.1\.1\.2/24 ok' \
        --expect 'IF~^0\.0\.0610 \S+ 10\.1\.1\.3/24 ok ns=ns' \
        --expect 'ADDR2~^0\.0\.0610 \S+ 10\.1\.1\.4/24 ok' \
        --expect 'ADDR2~^0\.0\.0600 \S+ fd00:1::2/64 ok' \
        --expect 'ADDR2~^0\.0\.0610 \S+ fd00:1::3/64 ok' \
        --expect 'PING~^root 10\.1\.1\.4 tx=5 rx=5 ' --expect 'PING~^root fd00:1::3 tx=5 rx=5 ' \
        --expect 'PING~^ns fd00:1::2 tx=5 rx=5 ' --expect 'PING~^ns 10\.1\.1\.2 tx=5 rx=5 ' \
        --expect 'CYCLE~^0\.0\.0610 offline ok' --expect 'CYCLE~^0\.0\.0610 online ok' \
        --expect 'TCP~^10\.1\.1\.4 ok bytes=16777216 ' \
        --expect 'PINGLATE~^root 10\.1\.1\.3 tx=5 rx=5 ' --expect 'PINGLATE~^root 10\.1\.1\.4 tx=5 rx=5 ' \
        --expect 'PINGLATE~^root fd00:1::3 tx=5 rx=5 ' --expect 'PINGLATE~^ns fd00:1::2 tx=5 rx=5 ' \
        --expect DONE \
        --expect-log "HHC04720I     Addresses: (\S+ )*10\.1\.1\.4 (\S+ )*fd00:1::3( |$)" \
        --expect-log "HHC04720I     Addresses: (\S+ )*10\.1\.1\.3( |$)" \
        --expect-log "HHC04720I     Addresses: (\S+ )*fd00:1::2 (\S+ )*10\.1\.1\.2( |$)"
    ;;
glan-uplink)
    need_module
    need_root tun "$case_: a TUN uplink in a network namespace"
    need_guest
    # Guest to host and host to guest through LAN1's TUN uplink.  Hercules
    # runs in a network namespace the test creates, so the TUN device, its
    # address and the routes stay out of the host's own stack.
    make_netns glane2e
    # The configuration is samples/tun-uplink.cnf (with cfg/lan1-uplink.cnf).
    # START comes about a second after Hercules starts, which may be before
    # it has read the configuration and created glantun0: wait for it.
    python3 "$here/boot.py" --guest "$guest" --run "$run" --timeout 240 --netns $ns \
        --config samples/tun-uplink.cnf \
        --on "START=!$(wait_link_cmd $ns glantun0); ip -n $ns addr add 10.1.2.1/24 dev glantun0" \
        --params "glan_ifs=0.0.0600/10.1.2.2/24 glan_ping=10.1.2.1 glan_hold=6" \
        --on "READY=!ip netns exec $ns ping -c 3 -i 0.2 -W 2 10.1.2.2" \
        --on "READY=glan query LAN1" \
        --expect USERSPACE --expect 'IF~^0\.0\.0600 \S+ 10\.1\.2\.2/24 ok' \
        --expect 'PING~^root 10\.1\.2\.1 tx=5 rx=5 ' --expect DONE \
        --expect-log "HHC04714I GLAN: LAN 'LAN1' uplink tun 'glantun0' attached" \
        --expect-log "HHC04720I   Uplink: tun 'glantun0' mtu 1500, open" \
        --expect-log "HHC04720I     Addresses: 10\.1\.2\.2 "
    ;;
glan-large-mtu)
    need_module
    need_guest
    # Large frames: qeth takes the MTU the device reports in ULP ENABLE as
    # the interface's largest; the guest sets both interfaces to it and the
    # next byte is refused.  Pings of 57316 data bytes (57344-byte
    # datagrams, each over 15 or 16 storage-block elements both ways) and
    # 16 MiB over TCP (segments of up to 57304 bytes) go through the LAN's
    # large buffers; the guest fragments nothing (IpFragCreates=0 in both
    # namespaces after the transfer).
    python3 "$here/boot.py" --guest "$guest" --run "$run" --timeout 400 \
        --dev "0600.3 GLAN LAN1" --dev "0610.3 GLAN LAN1" \
        --params "glan_ifs=0.0.0600/10.1.1.2/24,0.0.0610/10.1.1.3/24/ns glan_mtu=57344 glan_ping=10.1.1.3 glan_ping_ns=10.1.1.2 glan_ping_size=57316 glan_count=3 glan_tcp=16 glan_hold=1" \
        --on "DONE=glan query LAN1" \
        --expect USERSPACE --expect 'IF~^0\.0\.0600 \S+ 10\.1\.1\.2/24 ok' \
        --expect 'IF~^0\.0\.0610 \S+ 10\.1\.1\.3/24 ok ns=ns' \
        --expect 'MTU~^0\.0\.0600 \S+ 57344 ok above=refused' \
        --expect 'MTU~^0\.0\.0610 \S+ 57344 ok above=refused' \
        --expect 'PING~^root 10\.1\.1\.3 tx=3 rx=3 ' --expect 'PING~^ns 10\.1\.1\.2 tx=3 rx=3 ' \
        --expect 'TCP~^10\.1\.1\.3 ok bytes=16777216 ' \
        --expect 'SNMP~^root after_tcp_to=10\.1\.1\.3 .*IpFragCreates=0( |$)' \
        --expect 'SNMP~^ns after_tcp_to=10\.1\.1\.3 .*IpFragCreates=0( |$)' \
        --expect DONE --expect-log "HHC04720I   Base storage in use: small 0 of 2048" ||
        exit 1
    # The LAN's totals after DONE: bytes per datagram far above what a
    # medium buffer (9216) holds, so the transfer went in large frames.
    exec python3 - "$run/console.log" <<'PYEOF'
import re, sys
sent = [m for m in re.finditer(r"HHC04720I   Sent (\d+) packets (\d+) bytes",
                               open(sys.argv[1], encoding="latin-1").read())]
if not sent:
    sys.exit("FAIL: no glan query of LAN1 after DONE")
pk, by = int(sent[-1].group(1)), int(sent[-1].group(2))
print(f"LAN1 sent {pk} datagrams, {by} bytes: {by / max(pk, 1):.0f} bytes each")
sys.exit(0 if pk and by / pk > 9216 else "FAIL: the datagrams were not large")
PYEOF
    ;;
glan-pmtu)
    need_module
    need_root tun "$case_: a TUN uplink of MTU 1400 in a network namespace"
    need_guest
    # Hercules and glantun0 (MTU 1400, set by the uplink's 'mtu 1400') in
    # one namespace, which routes to a second one, the far host, over a
    # veth pair of MTU 9000: the far host offers an MSS of 8960, so the
    # guest's segments are too big for the uplink until the base's ICMP
    # answer lowers the guest's path MTU to 1400.
    make_netns glanpm
    far=${ns}f
    ip netns add "$far" || { echo "skipped: cannot create a second network namespace"; exit 77; }
    sink=
    trap 'kill $sink 2>/dev/null; ip netns del $ns 2>/dev/null; ip netns del $far 2>/dev/null' EXIT
    mkdir -p "$run"
    rm -f "$run/trace.pcap" "$run/sink.txt"
    ip link add glpm0 netns "$ns" mtu 9000 type veth peer name glpm1 netns "$far" mtu 9000
    ip -n "$ns" addr add 10.1.5.1/24 dev glpm0
    ip -n "$ns" link set glpm0 up
    ip -n "$far" addr add 10.1.5.2/24 dev glpm1
    ip -n "$far" link set glpm1 up
    ip -n "$far" link set lo up
    ip -n "$far" route add 10.1.4.0/24 via 10.1.5.1
    ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
    # glantun0 made beforehand, without IPv6, so that the host sends nothing
    # into the LAN before the trace starts (the trace must hold every
    # datagram the LAN counts); the uplink sets its MTU and brings it up.
    ip -n "$ns" tuntap add dev glantun0 mode tun
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.glantun0.disable_ipv6=1
    ip -n "$ns" addr add 10.1.4.1/24 dev glantun0
    ip netns exec "$far" python3 "$here/tcp-sink.py" 5001 "$run/sink.txt" 600 &
    sink=$!
    python3 "$here/boot.py" --guest "$guest" --run "$run" --timeout 500 --netns $ns \
        --cfg "glan define LAN1 ports 16 uplink tun glantun0 mtu 1400" --dev "0600.3 GLAN LAN1" \
        --on "START=glan trace LAN1 start $run/trace.pcap" \
        --params "glan_ifs=0.0.0600/10.1.4.2/24 glan_mtu=9000 glan_route=10.1.5.0/24@10.1.4.1 glan_tcp=8 glan_tcp_host=10.1.5.2:5001 glan_tcp_timeout=300 glan_hold=3" \
        --on "READY=glan query LAN1" --on "READY=glan trace LAN1 stop" --on "DONE=glan query LAN1" \
        --expect USERSPACE --expect 'IF~^0\.0\.0600 \S+ 10\.1\.4\.2/24 ok' \
        --expect 'MTU~^0\.0\.0600 \S+ 9000 ok' --expect 'ROUTE~^root 10\.1\.5\.0/24@10\.1\.4\.1 ok' \
        --expect 'TCPHOST~^10\.1\.5\.2 rc=0 bytes=8388608 ' --expect 'PMTU~in_dest_unreachs=[1-9]' --expect DONE \
        --expect-log "HHC04720I   Uplink: tun 'glantun0' mtu 1400, open" \
        --expect-log "HHC04720I   Port [0-9]+ 'uplink' uplink .*, mtu 1400" \
        --expect-log "HHC04720I   Port [0-9]+ '0:0600' guest .*, mtu 57344" \
        --expect-log "HHC04720I   Path MTU: [1-9][0-9]* ICMP answers sent" \
        --expect-log "HHC04720I     Too big for their path: [1-9][0-9]* ICMP answers" || exit 1
    wait $sink || { echo "FAIL: the host's listener got no connection"; exit 1; }
    got=$(cat "$run/sink.txt")
    tx=$(sed -n 's/.*@@ TCPHOST 10\.1\.5\.2 .* tx=\([0-9a-f]*\) .*/\1/p' "$run/console.log" | tail -n 1)
    if [ "$got" != "8388608 $tx" ]; then
        echo "FAIL: the host got '$got', the guest sent 8388608 bytes of SHA-256 '$tx'"
        exit 1
    fi
    echo "ok: 8 MiB arrived intact (SHA-256 $tx)"
    # The answers in the trace: ICMP type 3 code 4 with the MTU, from the
    # far host's address to the guest.
    if command -v tshark >/dev/null; then
        n=$(tshark -n -r "$run/trace.pcap" -Y 'icmp.type == 3 && icmp.code == 4 && icmp.mtu == 1400 && ip.src == 10.1.5.2 && ip.dst == 10.1.4.2' 2>/dev/null | wc -l)
        [ "$n" -ge 1 ] || { echo "FAIL: no ICMP fragmentation needed (MTU 1400) in the trace"; exit 1; }
        echo "ok: the trace holds $n ICMP fragmentation-needed answers (tshark)"
    fi
    exec python3 "$here/check-counters.py" "$run" --trace "$run/trace.pcap"
    ;;
glan-tap-bridge)
    need_module
    need_root tun "$case_: a TAP uplink in a bridge in a network namespace"
    need_guest
    # LAN1's uplink is a TAP device in a Linux bridge that holds the host's
    # address, as users set one up.  Guest to host and host to guest through
    # it; then the uplink's reads must equal the frames the kernel handed
    # the TAP (tap-reads.py): a receive loop that spun on an idle device
    # once counted thousands of "skipped" frames a second here.
    make_netns glane2t
    python3 "$here/boot.py" --guest "$guest" --run "$run" --timeout 240 --netns $ns \
        --cfg "glan define LAN1 ports 16 uplink tap glantap0" --dev "0600.3 GLAN LAN1" \
        --on "START=!$(wait_link_cmd $ns glantap0); ip -n $ns link add br0 type bridge && ip -n $ns link set glantap0 master br0 && ip -n $ns link set br0 up && ip -n $ns addr add 10.1.3.1/24 dev br0" \
        --params "glan_ifs=0.0.0600/10.1.3.2/24 glan_ping=10.1.3.1 glan_hold=8" \
        --on "READY=!ip netns exec $ns ping -c 3 -i 0.2 -W 2 10.1.3.2" \
        --on "READY=!sleep 5" --on "READY=glan query LAN1" \
        --on "READY=!sleep 1; ip -n $ns -j -s link show dev glantap0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0][\"stats64\"][\"tx\"][\"packets\"])' >$run/tapstats.txt" \
        --expect USERSPACE --expect 'IF~^0\.0\.0600 \S+ 10\.1\.3\.2/24 ok' \
        --expect 'PING~^root 10\.1\.3\.1 tx=5 rx=5 ' --expect DONE \
        --expect-log "HHC04714I GLAN: LAN 'LAN1' uplink tap 'glantap0' attached" \
        --expect-log "HHC04720I     Addresses: 10\.1\.3\.2 " || exit 1
    exec python3 "$here/tap-reads.py" "$run"
    ;;
glan-l2)
    need_module
    need_guest
    # LAN1 is of transport ETHERNET, LAN2 of transport IP.  0600 and 0610 on
    # LAN1, grouped without touching layer2: layer 2.  On each a VLAN 10
    # interface (they ping); 0600 also has VLAN 20 and 0610 VLAN 30 with
    # addresses of one subnet: they must not hear each other.  0610 serves
    # DHCP, 0600 asks.  0620 (layer 2) on the IP LAN2 and 0630 (layer 3) on
    # LAN1 must fail to come online, with qeth's message and one HHC line.
    exec python3 "$here/boot.py" --guest "$guest" --run "$run" --timeout 400 \
        --cfg "glan define LAN1 ports 16 transport ethernet" --cfg "glan define LAN2 ports 8" \
        --dev "0600.3 GLAN LAN1" --dev "0610.3 GLAN LAN1" --dev "0620.3 GLAN LAN2" \
        --dev "0630.3 GLAN LAN1" \
        --params "glan_layer=default,0.0.0630:layer3 glan_ifs=0.0.0600/10.1.1.2/24,0.0.0610/10.1.1.3/24/ns,0.0.0620/10.2.2.2/24,0.0.0630/10.1.1.4/24 glan_addr_extra=0.0.0600/fd00:1::2/64,0.0.0610/fd00:1::3/64 glan_vlan=0.0.0600/10/10.10.10.2/24,0.0.0610/10/10.10.10.3/24,0.0.0600/20/10.10.20.2/24,0.0.0610/30/10.10.20.3/24 glan_dhcpd=0.0.0610 glan_dhcpc=0.0.0600 glan_ping=10.1.1.3,fd00:1::3,10.10.10.3 glan_ping_ns=10.1.1.2,fd00:1::2,10.10.10.2 glan_tcp=16 glan_ping_late=10.10.20.3 glan_hold=1 glan_dbf=20" \
        --on "READY=glan query" \
        --expect USERSPACE --expect 'MODULE~^qeth_l2 ok' --expect 'MODULE~^8021q ok' \
        --expect 'IF~^0\.0\.0600 \S+ 10\.1\.1\.2/24 ok' \
        --expect 'IF~^0\.0\.0610 \S+ 10\.1\.1\.3/24 ok ns=ns' \
        --expect 'IF~^0\.0\.0620 - 10\.2\.2\.2/24 fail' \
        --expect 'IF~^0\.0\.0630 - 10\.1\.1\.4/24 fail' \
        --expect 'DMESG~does not support the configured transport mode' \
        --expect 'VLAN~^0\.0\.0600 \S+\.10 10\.10\.10\.2/24 ok' \
        --expect 'VLAN~^0\.0\.0610 \S+\.10 10\.10\.10\.3/24 ok' \
        --expect 'VLAN~^0\.0\.0610 \S+\.30 10\.10\.20\.3/24 ok' \
        --expect 'DHCP~^0\.0\.0600 ok 10\.1\.1\.1[01][0-9]/' \
        --expect 'PING~^root 10\.1\.1\.3 tx=5 rx=5 ' --expect 'PING~^root fd00:1::3 tx=5 rx=5 ' \
        --expect 'PING~^root 10\.10\.10\.3 tx=5 rx=5 ' \
        --expect 'PING~^ns 10\.1\.1\.2 tx=5 rx=5 ' --expect 'PING~^ns fd00:1::2 tx=5 rx=5 ' \
        --expect 'PING~^ns 10\.10\.10\.2 tx=5 rx=5 ' \
        --expect 'TCP~^10\.1\.1\.3 ok bytes=16777216 ' \
        --expect 'PINGLATE~^root 10\.10\.20\.3 tx=5 rx=0 ' --expect DONE \
        --expect-log "HHC04710I GLAN: LAN 'LAN1' defined: 16 ports, .*, transport ethernet" \
        --expect-log "HHC04701I 0:0620 GLAN: osa \\S+: LAN 'LAN2' is of transport IP, the guest asked for layer 2: refused" \
        --expect-log "HHC04701I 0:0630 GLAN: osa \\S+: LAN 'LAN1' is of transport ETHERNET, the guest asked for layer 3: refused" \
        --expect-log "HHC04720I LAN LAN1: ports 3 of 16, .*, transport ethernet, MAC prefix 02:38:3b:b6" \
        --expect-log "HHC04720I     MACs: 02:38:3b:b6:00:0[01]" \
        --expect-log "HHC04720I     VLANs: 10 20" --expect-log "HHC04720I     VLANs: 10 30" \
        --expect-log "HHC04720I     Group MACs: (\S+ )*33:33:00:00:00:01"
    ;;
glan-hipers)
    need_module
    need_guest
    # LAN1 is of type HIPERS (maximum frame size 64k): 0600 and 0610 are
    # HiperSockets cards, grouped and set online with neither layer2 nor an
    # MTU set: qeth_l3, hsiN, MTU 57344 from ULP ENABLE's frame-size code.
    # IPv4 and IPv6 both ways (no ARP, no neighbour discovery: the
    # interfaces are NOARP) and 16 MiB over TCP.  0620 on LAN2 (type QDIO)
    # stays an OSA-Express at 1492.  0630 asks for layer 2 on the HIPERS LAN
    # and must fail to come online, with qeth's message and one HHC line.
    exec python3 "$here/boot.py" --guest "$guest" --run "$run" --timeout 400 \
        --cfg "glan define LAN1 ports 16 type hipers" --cfg "glan define LAN2 ports 8" \
        --dev "0600.3 GLAN LAN1" --dev "0610.3 GLAN LAN1" --dev "0620.3 GLAN LAN2" \
        --dev "0630.3 GLAN LAN1" \
        --params "glan_layer=default,0.0.0620:layer3,0.0.0630:layer2 glan_ifs=0.0.0600/10.1.1.2/24,0.0.0610/10.1.1.3/24/ns,0.0.0620/10.2.2.2/24,0.0.0630/10.1.1.4/24 glan_addr_extra=0.0.0600/fd00:1::2/64,0.0.0610/fd00:1::3/64 glan_ping=10.1.1.3,fd00:1::3 glan_ping_ns=10.1.1.2,fd00:1::2 glan_tcp=16 glan_hold=1 glan_dbf=20" \
        --on "READY=glan query" \
        --expect USERSPACE \
        --expect 'IF~^0\.0\.0600 hsi[0-9]+ 10\.1\.1\.2/24 ok ns=root card=HiperSockets mtu=57344' \
        --expect 'IF~^0\.0\.0610 \S+ 10\.1\.1\.3/24 ok ns=ns card=HiperSockets mtu=57344' \
        --expect 'IF~^0\.0\.0620 eth[0-9]+ 10\.2\.2\.2/24 ok ns=root card=OSD_1000 mtu=1492' \
        --expect 'IF~^0\.0\.0630 - 10\.1\.1\.4/24 fail' \
        --expect 'DMESG~does not support the configured transport mode' \
        --expect 'PING~^root 10\.1\.1\.3 tx=5 rx=5 ' --expect 'PING~^root fd00:1::3 tx=5 rx=5 ' \
        --expect 'PING~^ns 10\.1\.1\.2 tx=5 rx=5 ' --expect 'PING~^ns fd00:1::2 tx=5 rx=5 ' \
        --expect 'TCP~^10\.1\.1\.3 ok bytes=16777216 ' --expect DONE \
        --expect-log "HHC04710I GLAN: LAN 'LAN1' defined: 16 ports, .*, transport ip, type hipers, mfs 64k" \
        --expect-log "HHC04701I 0:0630 GLAN: osa \\S+: LAN 'LAN1' is of transport IP, the guest asked for layer 2: refused \\(a HiperSockets card" \
        --expect-log "HHC04720I LAN LAN1: ports 3 of 16, .*, transport ip, type hipers, mfs 64k" \
        --expect-log "HHC04720I   Port 0 '0:0600' guest devices 0600 0601 0602: model osa, IQD \\(HiperSockets\\), mtu 57344" \
        --expect-log "HHC04720I     Addresses: (\\S+ )*fd00:1::2 " \
        --expect-log "HHC04720I     Addresses: (\\S+ )*10\.1\.1\.3 "
    ;;
glan-l2-tap-bridge)
    need_module
    need_root tun "$case_: a TAP uplink in a bridge in a network namespace"
    need_guest
    # An ETHERNET LAN's TAP uplink in a Linux bridge that holds the host's
    # address: the guest's frames pass as they are (the host's neighbour
    # table has the guest's own MAC, 02:67:6c:00:00:01: the LAN's MAC prefix
    # given, and port 1, the uplink is port 0), both ways.
    make_netns glane2l
    python3 "$here/boot.py" --guest "$guest" --run "$run" --timeout 240 --netns $ns \
        --cfg "glan define LAN1 ports 16 transport ethernet macprefix 02:67:6c uplink tap glantap0" \
        --dev "0600.3 GLAN LAN1" \
        --on "START=!$(wait_link_cmd $ns glantap0); ip -n $ns link add br0 type bridge && ip -n $ns link set glantap0 master br0 && ip -n $ns link set br0 up && ip -n $ns addr add 10.1.3.1/24 dev br0" \
        --params "glan_layer=default glan_ifs=0.0.0600/10.1.3.2/24 glan_ping=10.1.3.1 glan_hold=6" \
        --on "READY=!ip netns exec $ns ping -c 3 -i 0.2 -W 2 10.1.3.2 && ip -n $ns neigh show 10.1.3.2 >$run/neigh.txt" \
        --on "READY=glan query LAN1" \
        --expect USERSPACE --expect 'IF~^0\.0\.0600 \S+ 10\.1\.3\.2/24 ok' \
        --expect 'PING~^root 10\.1\.3\.1 tx=5 rx=5 ' --expect DONE \
        --expect-log "HHC04714I GLAN: LAN 'LAN1' uplink tap 'glantap0' attached" \
        --expect-log "HHC04720I   Uplink: tap 'glantap0' bridge port \(transport ETHERNET\)" \
        --expect-log "HHC04720I LAN LAN1: .*, transport ethernet, MAC prefix 02:67:6c:00" \
        --expect-log "HHC04720I     MACs: 02:67:6c:00:00:01" || exit 1
    if ! grep -q "lladdr 02:67:6c:00:00:01" "$run/neigh.txt"; then
        echo "FAIL: the host does not know the guest by its own MAC: $(cat "$run/neigh.txt")"
        exit 1
    fi
    echo "ok: the host knows the guest by its own MAC"
    ;;
guest-panic)
    need_guest
    # A guest that panics must end its run at once, not at the timeout:
    # the test kernel with an empty initramfs cannot mount a root file
    # system, panics, and stops in a disabled wait (HHC00809I).  boot.py
    # must fail naming the panic, and stop for it, not for its timeout.
    mkdir -p "$run/guest"
    cp "$guest/kernel.img" "$run/guest/kernel.img"
    printf '' | gzip >"$run/guest/initrd.img"
    rc=0
    python3 "$here/boot.py" --guest "$run/guest" --run "$run/boot" --timeout 240 \
        2>"$run/stderr" >"$run/summary.out" || rc=$?
    cat "$run/stderr"
    if [ $rc -ne 1 ] || ! grep -q "boot.py: the guest stopped after .*Kernel panic" "$run/stderr" ||
        grep -q "TIMEOUT" "$run/boot/console.log"; then
        echo "FAIL: boot.py exit $rc; it must fail at once, naming the panic"
        exit 1
    fi
    echo "ok: the panic ended the run: $(head -n 1 "$run/stderr")"
    ;;
*)
    echo "unknown case '$case_'"
    exit 1
    ;;
esac
