#!/bin/sh
# e2e case glan-multihost: one LAN across two hosts.  Each host is a network
# namespace this test creates; a veth pair between them is the underlay
# (192.168.77.1 and .2).  Each host gets its bridge, VXLAN device (VNI 77,
# unicast to the other) and TAP device from samples/multihost/
# glan-multihost.sh, and runs one Hercules (inside the namespace) with the
# configuration lines that script prints (LAN1 of transport IP, its uplink
# the TAP device with a MAC of the host's own) and the bench guest
# (build-initramfs.sh --bench; roles mhserve and mhclient of
# tests/e2e/guest/bench-init.sh):
#   A (10.1.8.1, fd00:8::1) and B (10.1.8.2, fd00:8::2) ping each other,
#   IPv4 and IPv6; B runs iperf3 against A at the guests' default MTU (1492,
#   above the VXLAN port's 1450: B's base answers with ICMP "fragmentation
#   needed" and TCP goes on at 1450) and sends 4 MiB over nc, SHA-256
#   checked at both ends;
#   B's Hercules is killed (SIGKILL) while A's runs on; the underlay's MTU
#   goes to 9050 and the VXLAN, bridge and TAP to 9000 (glan-multihost.sh
#   mtu); A's guest sees B gone and sets its MTU to 9000;
#   B's Hercules starts again with a new guest at MTU 9000: A and B ping
#   each other again (the restarted guest is reachable), and an iperf3
#   test runs at MTU 9000.
# GLAN_MH_TRANSPORT=ethernet (run by hand, not by CTest: the CI's time is
# spent) makes LAN1 of transport ETHERNET and the guests layer 2, each with
# a MAC of its own (02:4c:32:01:08:01 and :02, `ip link set dev eth0
# address`): the device gives both the same one.  The segment then has one
# MTU: the underlay starts at 1550 and the guests at qeth's 1500; no ICMP
# answer is expected.
# Exit 0 pass, 1 fail, 77 skipped (no Hyperion, module, root, VXLAN).
# Environment: as tests/e2e/e2e.sh (by hand, tests/find-hyperion.sh finds
# Hyperion and build/src/hercules the module); BENCH_SECS seconds per
# iperf3 test (default 5).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
transport=${GLAN_MH_TRANSPORT:-ip}
run=${GLAN_RUN_DIR:-$PWD/e2e-run}/glan-multihost
secs=${BENCH_SECS:-5}
mh=$top/samples/multihost/glan-multihost.sh
umtu=1500 l2a= l2b=
if [ "$transport" = ethernet ]; then
    run=$run-l2
    umtu=1550
    l2a="bench_layer=default mh_mac=02:4c:32:01:08:01"
    l2b="bench_layer=default mh_mac=02:4c:32:01:08:02"
fi

. "$here/lib.sh"
need_hyperion
need_root tun "glan-multihost: namespaces, a bridge, VXLAN and TAP devices"
na=glmhA$$ nb=glmhB$$
ip netns add $na || { echo "skipped: cannot create a network namespace"; exit 77; }
ip netns add $nb || { ip netns del $na; echo "skipped: cannot create a network namespace"; exit 77; }
pids=
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    ip netns exec $na sh "$mh" down >/dev/null 2>&1 || true
    ip netns exec $nb sh "$mh" down >/dev/null 2>&1 || true
    ip netns del $na 2>/dev/null
    ip netns del $nb 2>/dev/null
}
trap cleanup EXIT
if ! ip -n $na link add glmhvx type vxlan id 1 dstport 4789 2>/dev/null; then
    echo "skipped: this kernel makes no VXLAN device (vxlan module)"
    exit 77
fi
ip -n $na link del glmhvx
need_bench_guest
rm -rf "$run"
mkdir -p "$run"

# The underlay, then each host's part as a user sets it up.
ip link add glmhu0 netns $na type veth peer name glmhu1 netns $nb
ip -n $na addr add 192.168.77.1/24 dev glmhu0
ip -n $nb addr add 192.168.77.2/24 dev glmhu1
ip -n $na link set glmhu0 mtu $umtu up
ip -n $nb link set glmhu1 mtu $umtu up
ip netns exec $na sh "$mh" up --vni 77 --underlay glmhu0 --peer 192.168.77.2 >"$run/up-a.txt"
ip netns exec $nb sh "$mh" up --vni 77 --underlay glmhu1 --peer 192.168.77.1 >"$run/up-b.txt"
cfg_a=$(ip netns exec $na sh "$mh" config --underlay glmhu0 --transport $transport | head -n 1)
cfg_b=$(ip netns exec $nb sh "$mh" config --underlay glmhu1 --transport $transport | head -n 1)
dev=$(ip netns exec $na sh "$mh" config --underlay glmhu0 | sed -n 2p)
echo "glan-multihost: A: $cfg_a; B: $cfg_b; both: $dev"

boot() {
    who=$1 limit=$2 ns=$3 cfg=$4
    shift 4
    python3 "$here/boot.py" --guest "$guest" --run "$run/$who" --timeout "$limit" --netns "$ns" \
        --cfg "$cfg" --dev "$dev" "$@" >"$run/$who.json" 2>&1
}
common="bench_secs=$secs bench_mib=4 bench_wait=300"
q="glan query LAN1"
t0=$(date +%s)
boot a 900 $na "$cfg_a" \
    --params "bench_role=mhserve glan_ifs=0.0.0600/10.1.8.1/24 mh_addr6=fd00:8::1/64 bench_peer=10.1.8.2 mh_peer6=fd00:8::2 $common $l2a" \
    --on "SERVED=$q" --on "GONE=$q" --on "PING2=$q" \
    --expect 'IF~ ok' --expect 'PING~^10\.1\.8\.2 tx=5 rx=5 ' --expect 'PING~^fd00:8::2 tx=5 rx=5 ' \
    --expect 'SERVED~^glan-mh-default rc=0' --expect 'XFER~^rx ok bytes=4194304 ' --expect GONE \
    --expect 'MTU~now=9000' --expect BACK \
    --expect 'PING2~^10\.1\.8\.2 tx=5 rx=5 ' --expect 'PING2~^fd00:8::2 tx=5 rx=5 ' \
    --expect 'SERVED~^glan-mh-mtu rc=0' --expect DONE \
    --expect-log "HHC04714I GLAN: LAN 'LAN1' uplink tap 'glantap0' attached" &
pa=$!
pids="$pids $pa"
# B once A's interface is online (two kernels starting at once on a small
# machine are slow), or after 150 s at most.
wait_for_line 150 1 "$run/a/console.log" '@@ IF '
echo "glan-multihost: starting B after ${waited}s"
boot b1 600 $nb "$cfg_b" \
    --params "bench_role=mhclient mh_phase=1 glan_ifs=0.0.0600/10.1.8.2/24 mh_addr6=fd00:8::2/64 bench_peer=10.1.8.1 mh_peer6=fd00:8::1 $common $l2b" \
    --on "START=!echo \$HERCULES_PID >$run/b1.pid" --on "DONE1=$q" \
    --expect DONE1 &
pb=$!
pids="$pids $pb"
wait_for_line 600 1 "$run/b1/console.log" '@@ DONE1'
if ! grep -q '@@ DONE1' "$run/b1/console.log" 2>/dev/null; then
    echo "FAIL: B's first guest did not finish its tests (run $run/b1)"
    tail -n 30 "$run/b1/console.log" 2>/dev/null
    exit 1
fi
sleep 3 # B's glan query after DONE1
kill -9 "$(cat "$run/b1.pid")"
wait $pb 2>/dev/null || true
echo "glan-multihost: B's Hercules (pid $(cat "$run/b1.pid")) killed after $(($(date +%s) - t0)) s"

# Jumbo frames: the underlay first, then each host's overlay devices.
ip -n $na link set glmhu0 mtu 9050
ip -n $nb link set glmhu1 mtu 9050
ip netns exec $na sh "$mh" mtu 9000 >>"$run/up-a.txt"
ip netns exec $nb sh "$mh" mtu 9000 >>"$run/up-b.txt"

boot b2 600 $nb "$cfg_b" \
    --params "bench_role=mhclient mh_phase=2 bench_mtu=9000 glan_ifs=0.0.0600/10.1.8.2/24 mh_addr6=fd00:8::2/64 bench_peer=10.1.8.1 mh_peer6=fd00:8::1 $common $l2b" \
    --on "DONE=$q" \
    --expect 'MTU~now=9000' --expect 'PING~^10\.1\.8\.1 tx=5 rx=5 ' --expect 'PING~^fd00:8::1 tx=5 rx=5 ' \
    --expect 'IPERF~^glan-mh-mtu rc=0' --expect DONE \
    --expect-log "HHC04714I GLAN: LAN 'LAN1' uplink tap 'glantap0' attached" &
pb=$!
pids="$pids $pb"
rb=0 ra=0
wait $pb || rb=$?
wait $pa || ra=$?
pids=
# what A's bridge and VXLAN device learned: B's station behind B's address
ip netns exec $na sh "$mh" show >"$run/show-a.txt" 2>&1 || true
echo "glan-multihost: A rc=$ra, B (restarted) rc=$rb, $(($(date +%s) - t0)) s"

python3 - "$run" "$ra" "$rb" "$transport" <<'EOF'
import json, os, re, sys
run, ra, rb, transport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
fail = []
marks = {}
for who in ("a", "b1", "b2"):
    try:
        log = open(os.path.join(run, who, "console.log"), encoding="latin-1").read()
    except OSError:
        log = ""
    marks[who] = [(m.group(1), m.group(2).strip()) for m in
                  (re.search(r"@@ (\S+) ?(.*?)(?: t=[0-9.]+)?$", l) for l in log.splitlines()
                   if "HHC01603I" not in l) if m]
    marks[who + "log"] = log
    for name, text in marks[who]:
        if name in ("IF", "MAC", "MTU", "UP", "PING", "PING2", "IPERF", "SERVED", "XFER", "GONE", "BACK"):
            print(f"{who}: {name} {text}")
for who, rc in (("a", ra), ("b2", rb)):
    try:
        s = json.load(open(os.path.join(run, who, "summary.json")))
        if s.get("missing"):
            fail.append(f"{who}: missing {s['missing']}")
    except (OSError, ValueError):
        fail.append(f"{who}: no summary (boot.py rc={rc})")


def mark(who, name, pre=""):
    return [t for n, t in marks[who] if n == name and t.startswith(pre)]


def need_ping(who, name, addrs):
    for a in addrs:
        if not any(re.match(re.escape(a) + r" tx=5 rx=5 ", t) for t in mark(who, name)):
            fail.append(f"{who}: {name} of {a} not all answered")


need_ping("a", "PING", ["10.1.8.2", "fd00:8::2"])
need_ping("b1", "PING", ["10.1.8.1", "fd00:8::1"])
need_ping("a", "PING2", ["10.1.8.2", "fd00:8::2"])
need_ping("b2", "PING", ["10.1.8.1", "fd00:8::1"])


def iperf(who, case):
    for t in mark(who, "IPERF", case + " "):
        f = dict(kv.split("=", 1) for kv in t.split() if "=" in kv)
        try:
            rate = int(f["rcvd_bytes"]) * 8 / float(f["rcvd_s"]) / 1e6
        except (KeyError, ValueError, ZeroDivisionError):
            rate = 0
        print(f"iperf3 {case}: rc={f.get('rc')} {rate:.0f} Mbit/s received, "
              f"{f.get('retr')} retransmissions")
        if f.get("rc") != "0" or rate <= 0:
            fail.append(f"{who}: iperf3 {case} failed: {t}")
        return
    fail.append(f"{who}: no iperf3 {case}")


iperf("b1", "glan-mh-default")
iperf("b2", "glan-mh-mtu")
tx = [re.search(r"bytes=(\d+) .*tx=(\w+)", t) for t in mark("b1", "XFER", "tx ")]
rx = [re.search(r"bytes=(\d+) .*rx=(\w+)", t) for t in mark("a", "XFER", "rx ")]
if not tx or not rx or not tx[0] or not rx[0] or tx[0].groups() != rx[0].groups():
    fail.append(f"SHA-256: sent {tx[0].groups() if tx and tx[0] else None}, "
                f"received {rx[0].groups() if rx and rx[0] else None}")
else:
    print(f"SHA-256: {tx[0].group(1)} bytes, {tx[0].group(2)[:16]}... equal at both ends")
# B's base answered the default-MTU guest's large segments (the uplink's
# MTU is the VXLAN port's 1450); after the restart the uplink has 9000.
b1 = marks["b1log"]
m = re.findall(r"HHC04720I   Path MTU: (\d+) ICMP answers sent", b1)
print(f"B's glan query after its tests: {m[-1] if m else 'no'} ICMP path-MTU answers sent")
if transport == "ip" and (not m or int(m[-1]) < 1):
    fail.append("B's base sent no ICMP path-MTU answer at the default MTU")
if transport == "ethernet":
    for who, mac in (("a", "02:4c:32:01:08:01"), ("b1", "02:4c:32:01:08:02"), ("b2", "02:4c:32:01:08:02")):
        if not any(t.endswith(f"{mac} ok") for t in mark(who, "MAC")):
            fail.append(f"{who}: the guest did not take the MAC {mac}")
for who, want in (("b1", 1500 if transport == "ethernet" else 1450), ("b2", 9000)):
    mt = re.findall(r"HHC04720I   Port \d+ 'uplink' uplink .*, mtu (\d+)", marks[who + "log"])
    print(f"{who}: the uplink port's MTU in glan query: {mt[-1] if mt else 'none'}")
    if not mt or int(mt[-1]) != want:
        fail.append(f"{who}: the uplink's MTU is not {want}")
# No storm between the hosts: the frames each uplink read and skipped (ARP,
# neighbour discovery, frames for other stations) stay few; two uplinks
# that answered each other's defence of one address once made millions.
for who in ("a", "b1", "b2"):
    sk = re.findall(r"HHC04720I     To the network .* from it \d+ packets \d+ bytes, (\d+) skipped",
                    marks[who + "log"])
    print(f"{who}: frames the uplink read and skipped: {sk[-1] if sk else 'not shown'}")
    if sk and int(sk[-1]) > 10000:
        fail.append(f"{who}: the uplink skipped {sk[-1]} frames: a storm on the segment")
show = open(os.path.join(run, "show-a.txt")).read()
if not re.search(r"dst 192\.168\.77\.2", show):
    fail.append("A's VXLAN device knows nothing behind 192.168.77.2 (glan-multihost.sh show)")
else:
    print("A's VXLAN forwarding table: " + "; ".join(l.strip() for l in show.splitlines()
                                                    if "dst 192.168.77.2" in l))
for f in fail:
    print("FAIL:", f)
print("glan-multihost:", "FAIL" if fail else "pass")
sys.exit(1 if fail else 0)
EOF
