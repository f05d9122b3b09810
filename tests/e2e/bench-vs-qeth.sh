#!/bin/sh
# GLAN against what Hercules users have today, in one run of one guest:
# the Debian s390x test guest gets two GLAN interfaces on LAN1 and two of
# Hyperion's own QETH interfaces, each QETH behind a TUN device of the host
# with the host routing between the two TUNs.  One GLAN and one QETH
# interface stay in the guest's first network namespace, the other two move
# into a second one ("ns"), so traffic between the namespaces goes either
#   GLAN:  10.1.1.2 -> guest qeth -> hdtglan -> base -> hdtglan -> 10.1.1.3
#   QETH:  10.91.1.2 -> guest qeth -> QETH -> TUN glanq0 -> host routing
#          -> TUN glanq1 -> QETH -> 10.91.2.2
# The guest measures ping round trips both ways, a TCP transfer (busybox nc,
# SHA-256 checked) and back-to-back pings of 1400 bytes (ping -A) on each
# path, and prints its TCP counters and every interface's counters; tshark
# records the TCP segments on the two TUN devices (the host side of the
# QETH path); this script prints the figures side by side.
#
# usage: bench-vs-qeth.sh [RUNDIR]
# Environment as e2e.sh: HERCULES_PREFIX, GLAN_MODULE_DIR, GLAN_GUEST_DIR,
# and BENCH_MIB (TCP size, default 16), BENCH_PINGS (default 10),
# BENCH_FLOOD (back-to-back pings COUNT/SIZE, default 500/1400),
# BENCH_QETH_MASK (prefix or netmask, below), BENCH_PATHS (both, glan or
# qeth: the QETH pair alone, or the GLAN pair alone).
# Needs root and /dev/net/tun: Hercules runs in a network namespace this
# script creates (IP forwarding on there only), so no traffic touches the
# host's own stack.  Exit 0 when the run completed (whatever QETH managed),
# 1 when it did not, 77 when something is missing.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
run=${1:-${GLAN_RUN_DIR:-$PWD/e2e-run}/bench-vs-qeth}
mkdir -p "$run"
run=$(cd "$run" && pwd)
mib=${BENCH_MIB:-16}
pings=${BENCH_PINGS:-10}
flood=${BENCH_FLOOD:-500/1400}

. "$here/lib.sh"
need_hercules
need_module
need_root tun "QETH's TUN devices, a network namespace"
need_guest

make_netns glanbench
ip netns exec $ns sysctl -qw net.ipv4.ip_forward=1
ip -n $ns link set lo up

# tshark on the host side of the QETH path once Hercules has opened both TUNs.
rm -f "$run/qeth-tuns.pcapng"
(
    i=0
    while ! ip -n $ns link show glanq1 >/dev/null 2>&1 && [ $i -lt 600 ]; do sleep 0.2; i=$((i + 1)); done
    exec ip netns exec $ns tshark -q -i glanq0 -i glanq1 -f tcp -w "$run/qeth-tuns.pcapng"
) >"$run/tshark.log" 2>&1 &
cap=$!
# (set -e holds inside the trap too: nothing in it may fail)
trap 'kill $cap 2>/dev/null || true; ip netns del $ns 2>/dev/null || true' EXIT

# How the QETH devices are given their TUN's subnet: "netmask" (the
# default: ipaddr 10.91.1.1 netmask 255.255.255.0) or "prefix" (ipaddr
# 10.91.1.1/24).  Hyperion 4.9 builds the mask it tells inbound broadcasts
# by only from the prefix form; with "netmask" the mask stays zero, every
# inbound IPv4 datagram is flagged a broadcast, and the guest's TCP discards
# them (ping still works).  With "prefix", TCP starts, and in our runs
# Hercules then hung within seconds (docs/benchmarks.md): the run ends at
# the timeout, with every figure but QETH's TCP taken before.
case ${BENCH_QETH_MASK:-netmask} in
prefix) q1="ipaddr 10.91.1.1/24" q2="ipaddr 10.91.2.1/24" ;;
netmask) q1="ipaddr 10.91.1.1 netmask 255.255.255.0" q2="ipaddr 10.91.2.1 netmask 255.255.255.0" ;;
*) echo "BENCH_QETH_MASK must be prefix or netmask"; exit 2 ;;
esac
# BENCH_PATHS: both (default), glan or qeth: which pairs the guest gets.
ifs= ping= pingns= to=
case ${BENCH_PATHS:-both} in
both | glan)
    ifs=0.0.0600/10.1.1.2/24,0.0.0610/10.1.1.3/24/ns
    ping=10.1.1.3 pingns=10.1.1.2 to=10.1.1.3
    ;;
qeth) ;;
*) echo "BENCH_PATHS must be both, glan or qeth"; exit 2 ;;
esac
set --
[ "${BENCH_PATHS:-both}" = qeth ] ||
    set -- --dev "0600.3 GLAN LAN1" --dev "0610.3 GLAN LAN1" --on "READY=glan query LAN1"
if [ "${BENCH_PATHS:-both}" != glan ]; then
    ifs=${ifs:+$ifs,}0.0.0700/10.91.1.2/24,0.0.0710/10.91.2.2/24/ns
    ping=${ping:+$ping,}10.91.2.2 pingns=${pingns:+$pingns,}10.91.1.2 to=${to:+$to,}10.91.2.2
    set -- "$@" --dev "0700.3 QETH iface /dev/net/tun ifname glanq0 $q1 mtu 1500" \
        --dev "0710.3 QETH iface /dev/net/tun ifname glanq1 $q2 mtu 1500" \
        --on "READY=!ip -n $ns -s link show glanq0" --on "READY=!ip -n $ns -s link show glanq1"
fi
rc=0
python3 "$here/boot.py" --guest "$guest" --run "$run" --timeout 300 --netns $ns "$@" \
    --params "glan_ifs=$ifs glan_route=10.91.2.0/24@10.91.1.1 glan_route_ns=10.91.1.0/24@10.91.2.1 glan_count=$pings glan_ping=$ping glan_ping_ns=$pingns glan_tcp=$mib glan_tcp_to=$to glan_tcp_timeout=60 glan_flood=$flood glan_flood_to=$to" \
    --expect USERSPACE --expect DONE >"$run/boot.json" || rc=$?
[ $rc = 77 ] && { cat "$run/boot.json"; exit 77; }
kill $cap 2>/dev/null || true
wait $cap 2>/dev/null || true
tshark -r "$run/qeth-tuns.pcapng" -T fields -e frame.time_relative -e frame.interface_name \
    -e ip.src -e ip.dst -e tcp.flags.syn -e tcp.flags.ack -e tcp.seq -e tcp.len 2>/dev/null \
    >"$run/qeth-tuns.txt" || true

python3 - "$run/summary.json" "$mib" <<'EOF'
import json, re, sys
try:
    s = json.load(open(sys.argv[1]))
except (OSError, ValueError) as e:
    sys.exit(f"no summary from boot.py: {e}")
if not s["ok"]:
    print(f"the run did not complete: missing {s['missing']} (the figures below are what it got)")
ev = s["events"]
def kv(text):
    return dict(re.findall(r"(\w+)=(\S*)", text))
print(f"guest: {s['cmdline']}")
for e in ev:
    if e["mark"] in ("IF", "ROUTE"):
        print(f"  {e['mark']} {e['text']}")
paths = {"GLAN": ("10.1.1.3", "10.1.1.2"), "QETH": ("10.91.2.2", "10.91.1.2")}
print(f"{'path':6} {'ping ->ns':>22} {'ping <-ns':>22} {'TCP MB/s':>18} {'ping -A MB/s':>12} {'ping -A rtt':>22}")
res = {}
for name, (fwd, back) in paths.items():
    row = {}
    for e in ev:
        t = e["text"].split()
        if e["mark"] == "PING" and len(t) > 1 and t[1] in (fwd, back):
            d = kv(e["text"])
            row["ping_fwd" if t[1] == fwd else "ping_back"] = f"{d.get('rx')}/{d.get('tx')} {d.get('rtt')}"
        if e["mark"] == "TCP" and t and t[0] == fwd:
            d = kv(e["text"])
            dt = float(d["t1"]) - float(d["t0"])
            b = int(d["bytes"])
            ok = t[1] == "ok"
            row["tcp"] = (f"{b / dt / 1e6:.2f}" if ok else f"FAIL {b} B in {dt:.0f} s")
            row["tcp_bytes"], row["tcp_s"], row["tcp_ok"] = b, dt, ok
        if e["mark"] == "FLOOD" and t and t[0] == fwd:
            d = kv(e["text"])
            dt = float(d["t1"]) - float(d["t0"])
            rx, size = int(d["rx"]), int(d["size"])
            row["flood"] = f"{2 * rx * size / dt / 1e6:.2f}"
            row["flood_rtt"] = f"{rx}/{d['tx']} {d['rtt']}"
    res[name] = row
    print(f"{name:6} {row.get('ping_fwd', '-'):>22} {row.get('ping_back', '-'):>22} "
          f"{row.get('tcp', '-'):>18} {row.get('flood', '-'):>12} {row.get('flood_rtt', '-'):>22}")
for e in ev:
    if e["mark"] in ("SNMP", "NETDEV"):
        print(f"  {e['mark']} {e['text']}")
print("(ping: received/sent min/avg/max ms; MB/s of guest time; ping -A: back-to-back "
      "requests, both directions counted)")
json.dump(res, open(sys.argv[1].replace("summary.json", "bench.json"), "w"), indent=1)
EOF
# The host side of the QETH path: TCP segments seen on each TUN device, and
# how far the transfer got (the highest sequence number forwarded to the
# receiving guest, over the time from its SYN to its last segment).
python3 - "$run/qeth-tuns.txt" <<'EOF'
import collections, sys
c = collections.Counter()
first = last = None
top = 0
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    if len(f) < 8:
        continue
    t, ifn, src, dst, syn, ack, seq, ln = f
    if syn == "":
        continue  # not TCP (the capture filter does not hold on a TUN device)
    syn, ack = syn in ("1", "True"), ack in ("1", "True")
    kind = "SYN" if syn and not ack else "SYN-ACK" if syn else "data" if ln not in ("", "0") else "ack"
    c[(ifn, f"{src}->{dst}", kind)] += 1
    if ifn == "glanq1" and src == "10.91.1.2":
        first = float(t) if first is None else first
        last = float(t)
        top = max(top, int(seq or 0) + int(ln or 0) - 1)
print("TCP segments on the QETH path's TUN devices (host side, tshark):")
for (ifn, flow, kind), n in sorted(c.items()):
    print(f"  {ifn:7} {flow:24} {kind:9} {n}")
if not c:
    print("  none")
if first is not None and last > first and top > 0:
    print(f"QETH TCP, host side: {top} bytes forwarded to the receiving guest in "
          f"{last - first:.2f} s ({top / (last - first) / 1e6:.2f} MB/s)")
EOF
echo "log: $run/console.log"
exit $rc
