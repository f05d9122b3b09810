#!/bin/sh
# A LAN across many hosts, simulated without Hercules (CTest multihost.sim,
# multihost.sim-mcast, multihost.sim-l2; docs/multihost.md has the
# figures).  Each host is a network namespace; an "underlay" namespace
# holds a bridge that stands for the network between them (a veth pair per
# host, 192.168.78.H/24).  Every host gets its bridge, VXLAN (VNI 78) and
# TAP device from samples/multihost/glan-multihost.sh, unicast to every
# other host (head-end replication) or, with --mcast, through the
# multicast group 239.1.1.78; then `glan simlan` runs a LAN with GUESTS
# simulated qeth guests (10.78.H.1 ...) behind the TAP uplink that
# script's configuration line names.  Every guest pings every other guest
# on every host until it answers, then 3 times for the round trips; once
# every host is through, each guest floods its namesake on the next host
# with echo requests for FLOOD seconds.
#
# With --layer2 the LAN is of transport ETHERNET (the configuration line
# of `glan-multihost.sh config --transport ethernet`) and the guests are
# layer 2, each with a MAC of its own, ARPing for each other across the
# hosts.  An Ethernet segment has one MTU and no switch answers a frame
# too large for it, so the underlay gets MTU 1550, the VXLAN device, bridge
# and TAP 1500 (glan-multihost.sh's default: the underlay's less 50), and
# the flood's datagrams are 1500 bytes.
#
# Checked: every pair reached the other, and answered at least one of its
# 3 pings (one lost on the way, in the kernel's TAP queue say, is counted
# and shown with the devices' drop counters); every flood got replies.
# Printed: the round trips between hosts and within one, the flood's
# rates, the time until every pair had reached the other.
#
# usage: sim.sh [--mcast] [--layer2] [--hosts N] [--guests N] [--flood S] GLAN-TOOL
#   (defaults 8 hosts, 4 guests each, 3 s of flood).  Exit 0 pass, 1 fail,
#   77 skipped (not root, no namespaces, no VXLAN).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
mh=$top/samples/multihost/glan-multihost.sh
mode=unicast hosts=8 guests=4 flood=3 transport=ip l2= umtu=1500 size=1400
while [ $# -gt 1 ]; do
    case $1 in
    --mcast) mode=multicast; shift ;;
    --layer2) transport=ethernet l2=--layer2 umtu=1550 size=1500; shift ;;
    --hosts) hosts=$2; shift 2 ;;
    --guests) guests=$2; shift 2 ;;
    --flood) flood=$2; shift 2 ;;
    *) break ;;
    esac
done
glan=${1:?usage: sim.sh [--mcast] [--layer2] [--hosts N] [--guests N] [--flood S] GLAN-TOOL}
glan=$(cd "$(dirname "$glan")" && pwd)/$(basename "$glan")

if [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ]; then
    echo "skipped: needs root and /dev/net/tun (network namespaces, bridges, VXLAN and TAP devices)"
    exit 77
fi
tag=glms$$
ul=${tag}u
ip netns add "$ul" || { echo "skipped: cannot create a network namespace"; exit 77; }
pids=
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    for p in $pids; do wait "$p" 2>/dev/null || true; done
    h=1
    while [ $h -le "$hosts" ]; do
        ip netns del "$tag$h" 2>/dev/null || true
        h=$((h + 1))
    done
    ip netns del "$ul" 2>/dev/null || true
    [ -n "${GLAN_SIM_KEEP:-}" ] || rm -rf "$out"
}
out=$(mktemp -d)
trap cleanup EXIT
if ! ip -n "$ul" link add glmsvx type vxlan id 1 dstport 4789 2>/dev/null; then
    echo "skipped: this kernel makes no VXLAN device (vxlan module)"
    exit 77
fi
ip -n "$ul" link del glmsvx

# The underlay: one bridge (IGMP snooping off: it floods the VXLAN group's
# datagrams to every host, as a switch without a querier would), a veth
# pair per host.
ip -n "$ul" link add ulbr type bridge mcast_snooping 0
ip -n "$ul" link set ulbr up
h=1
peers=
while [ $h -le "$hosts" ]; do
    ip netns add "$tag$h"
    ip link add ul0 netns "$tag$h" type veth peer name "ul$h" netns "$ul"
    ip -n "$ul" link set "ul$h" mtu $umtu
    ip -n "$tag$h" link set ul0 mtu $umtu
    ip -n "$ul" link set "ul$h" master ulbr
    ip -n "$ul" link set "ul$h" up
    ip -n "$tag$h" addr add "192.168.78.$h/24" dev ul0
    ip -n "$tag$h" link set ul0 up
    ip -n "$tag$h" link set lo up
    peers="$peers 192.168.78.$h"
    h=$((h + 1))
done

# Each host as a user sets one up, and its LAN of simulated guests.
all=
h=1
while [ $h -le "$hosts" ]; do
    all="$all${all:+,}10.78.$h.1+$guests"
    h=$((h + 1))
done
t0=$(date +%s.%N)
h=1
while [ $h -le "$hosts" ]; do
    if [ $mode = multicast ]; then
        ip netns exec "$tag$h" sh "$mh" up --vni 78 --underlay ul0 --group 239.1.1.78 >"$out/up$h"
    else
        others=$(echo $peers | tr ' ' '\n' | grep -vx "192.168.78.$h" | tr '\n' ',' | sed 's/,$//')
        ip netns exec "$tag$h" sh "$mh" up --vni 78 --underlay ul0 --peer "$others" >"$out/up$h"
    fi
    uplink=$(ip netns exec "$tag$h" sh "$mh" config --underlay ul0 --transport $transport |
        sed -n 's/^glan define .* uplink //p')
    next=$((h % hosts + 1))
    ip netns exec "$tag$h" "$glan" simlan $l2 --guests "$guests" --addr "10.78.$h.1" \
        --uplink "$uplink" --ping "$all" --count 3 --wait 60 \
        --flood "$flood" --size $size --flood-to "10.78.$next.1+$guests" --go-signal --hold -1 \
        >"$out/sim$h" 2>&1 &
    pids="$pids $!"
    h=$((h + 1))
done

# wait_all PATTERN SECONDS: until every host's output has a line matching it
wait_all() {
    n=0
    while [ $n -lt $(($2 * 10)) ]; do
        left=0
        h=1
        while [ $h -le "$hosts" ]; do
            grep -q "$1" "$out/sim$h" || left=$((left + 1))
            h=$((h + 1))
        done
        [ $left -eq 0 ] && return 0
        for p in $pids; do kill -0 "$p" 2>/dev/null || { [ $left -eq 0 ] || return 1; }; done
        sleep 0.1
        n=$((n + 1))
    done
    return 1
}
rc=0
wait_all "^simlan: waiting for SIGUSR1\|^glan simlan: FAILED" 240 || rc=1
t1=$(date +%s.%N)
for p in $pids; do kill -USR1 "$p" 2>/dev/null || true; done
wait_all "^simlan: done\|^glan simlan: FAILED" $((flood + 60)) || rc=1
for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
for p in $pids; do wait "$p" || rc=1; done
pids=
# the kernel's counters of every host's devices and the underlay's
h=1
while [ $h -le "$hosts" ]; do
    ip -n "$tag$h" -j -s link show >"$out/links$h.json" || true
    h=$((h + 1))
done
ip -n "$ul" -j -s link show >"$out/links0.json" || true

echo "multihost simulation: $hosts hosts ($mode VXLAN, VNI 78), $guests simulated guests each, LAN of transport $transport"
python3 - "$out" "$hosts" "$guests" "$t0" "$t1" "$rc" <<'EOF'
import re, sys, os
out, hosts, guests, t0, t1, rc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
fsize = fwin = "?"
fail = [] if rc == 0 else ["a host's glan simlan failed or did not finish (exit status)"]
cross, local = [], []
reach_s = []
flood = []
pairs = reached = lost = 0
for h in range(1, hosts + 1):
    text = open(os.path.join(out, f"sim{h}"), errors="replace").read()
    for l in text.splitlines():
        m = re.match(r"PING (\S+) (\S+) tx=(\d+) rx=(\d+) rtt=([\d.]+)/([\d.]+)/([\d.]+)", l)
        if m:
            same = m.group(1).split(".")[2] == m.group(2).split(".")[2]
            (local if same else cross).append(float(m.group(6)))
            lost += int(m.group(3)) - int(m.group(4))
        elif l.startswith("PING "):
            fail.append(f"host {h}: {l}")
        m = re.match(r"REACH pairs=(\d+) reached=(\d+) in ([\d.]+) s", l)
        if m:
            pairs += int(m.group(1))
            reached += int(m.group(2))
            reach_s.append(float(m.group(3)))
        m = re.match(r"FLOOD \S+ \S+ secs=\S+ size=(\d+) window=(\d+)", l)
        if m:
            fsize, fwin = m.groups()
        m = re.match(r"FLOOD_TOTAL .* secs=([\d.]+) replies=(\d+) rate=(\d+)/s mbit=([\d.]+)", l)
        if m:
            flood.append((float(m.group(3)), float(m.group(4))))
        if l.startswith("REACH ") and "none" in l:
            fail.append(f"host {h}: {l}")
    if "glan simlan: every target answered" not in text:
        fail.append(f"host {h}: did not end well:\n" + "\n".join(text.splitlines()[-15:]))


# Datagrams the kernel dropped on the way (a full TAP queue, ...): shown.
kdrops = []
for h in range(0, hosts + 1):
    try:
        import json
        for d in json.load(open(os.path.join(out, f"links{h}.json"))):
            st = d.get("stats64", {})
            rx, tx = st.get("rx", {}).get("dropped", 0), st.get("tx", {}).get("dropped", 0)
            if rx or tx:
                kdrops.append(f"{'underlay' if h == 0 else f'host {h}'} {d['ifname']} "
                              f"rx_dropped={rx} tx_dropped={tx}")
    except (OSError, ValueError):
        pass
print("kernel drops: " + ("; ".join(kdrops) if kdrops else "none"))


def stats(v):
    v = sorted(v)
    if not v:
        return "none"
    return (f"{len(v)} pairs, avg of 3 pings: min {v[0]:.3f} median {v[len(v) // 2]:.3f} "
            f"p90 {v[int(len(v) * 0.9)]:.3f} max {v[-1]:.3f} ms")


print(f"reach: {reached} of {pairs} guest pairs answered; every host through its pairs "
      f"{max(reach_s) if reach_s else 0:.2f} s after it started (all hosts: {t1 - t0:.1f} s "
      f"from the first `up` to the last host's round trips)")
print(f"pings lost on the way: {lost} of {3 * pairs}")
print(f"round trip between hosts (guest, base, TAP, bridge, VXLAN, underlay and back): {stats(cross)}")
print(f"round trip within a host (guest, base, guest): {stats(local)}")
if flood:
    print(f"flood, every guest at once to its namesake on the next host ({fsize}-byte echo "
          f"requests, {fwin} in flight): {sum(r for r, _ in flood):.0f} echoes/s, "
          f"{sum(b for _, b in flood):.1f} Mbit/s each way in all; per host "
          f"{min(r for r, _ in flood):.0f}-{max(r for r, _ in flood):.0f} echoes/s")
if len(flood) != hosts:
    fail.append(f"{len(flood)} of {hosts} hosts reported a flood")
if pairs != hosts * guests * (hosts * guests - 1) or reached != pairs:
    fail.append(f"{reached} of {pairs} pairs reached (want {hosts * guests * (hosts * guests - 1)})")
for f in fail:
    print("FAIL:", f)
print("multihost simulation:", "FAIL" if fail else "pass")
sys.exit(1 if fail else 0)
EOF
