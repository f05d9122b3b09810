#!/bin/sh
# iperf3 between layer-2 guests (CTest e2e.glan-l2-iperf): the Debian s390x
# bench guest (build-initramfs.sh --bench, role "check" of
# tests/e2e/guest/bench-init.sh) with two GLAN interfaces on a LAN of
# transport ETHERNET, grouped without touching layer2 (qeth's default,
# layer 2), the second in a network namespace of its own.  First an iperf3
# TCP test at the guest's defaults (MTU 1500, no ethtool), then one with
# both interfaces at MTU 9000 and their checksum and TSO offloads on.
#
# Checked, as nothing here may depend on the machine's speed: both tests
# ran to their end and carried data; the LAN dropped nothing for want of
# room (queue_full, no_buffer) during either; the sender's ethtool -S TSO
# and checksum counters and the receiver's inbound checksum counter moved
# in the offload test, and the device's counters in `glan query` say the
# same.  Reported, not checked: each test's rate and TCP retransmissions
# (tests/e2e/bench-throughput.sh with BENCH_TRANSPORT=ethernet measures
# them; docs/benchmarks.md).
#
# usage: l2-iperf.sh [RUNDIR]; environment as bench-throughput.sh
# (BENCH_SECS, default 5).  Exit 0 passed, 1 failed, 77 skipped.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
run=${1:-${GLAN_RUN_DIR:-$PWD/e2e-run}/l2-iperf}
secs=${BENCH_SECS:-5}

. "$here/lib.sh"
need_hyperion
need_bench_guest

mkdir -p "$run"
run=$(cd "$run" && pwd)
rm -rf "${run:?}/guest"
rc=0
python3 "$here/boot.py" --guest "$guest" --run "$run/guest" --timeout $((600 + 4 * secs)) \
    --cfg "glan define LAN1 transport ethernet" \
    --dev "0600.3 GLAN LAN1" --dev "0610.3 GLAN LAN1" \
    --params "bench_role=check bench_layer=default glan_ifs=0.0.0600/10.1.1.2/24,0.0.0610/10.1.1.3/24/ns bench_dst=10.1.1.3 bench_secs=$secs" \
    --on "CASE=glan query LAN1" --on "IPERF=glan query LAN1" \
    --expect USERSPACE --expect 'IF~ ok' --expect 'IPERF~^glan-default rc=0 ' \
    --expect 'IPERF~^glan-offload rc=0 ' --expect DONE \
    >"$run/guest.json" 2>&1 || rc=1

python3 - "$run/guest/console.log" <<'EOF' || rc=1
import re, sys

log = open(sys.argv[1], encoding="latin-1").read().splitlines()
fail = []
MARK = re.compile(r"@@ (\S+) ?(.*?)(?: t=[0-9.]+)?$")

# Walk the console: each CASE or IPERF marker is followed by the glan query
# it triggered; keep the LAN's drops and each port's device line.
marks, cur, port = [], None, None
for l in log:
    m = MARK.search(l)
    if m and "HHC01603I" not in l:
        mk = {"mark": m.group(1), "text": m.group(2), "drops": None, "dev": {}}
        marks.append(mk)
        # the query answers CASE and IPERF; a marker the guest prints
        # meanwhile (TCP) takes none of it
        if mk["mark"] in ("CASE", "IPERF"):
            cur = mk
        continue
    if cur is None:
        continue
    m = re.search(r"HHC04720I   Dropped:(.*)$", l)  # the LAN's line, not a port's
    if m and cur["drops"] is None:
        cur["drops"] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(1))}
    m = re.search(r"HHC04720I\s+Port \d+ '(?:\d+:)?(\w+)'", l)
    if m:
        port = m.group(1)
    m = re.search(r"HHC04720I\s+Device: .*; offload out csum (\d+) tso (\d+) refused (\d+), in "
                  r"verified (\d+) tso whole (\d+) cut (\d+) into (\d+) segments", l)
    if m and port:
        cur["dev"][port] = dict(zip(("csum", "tso", "refused", "verified", "whole", "cut",
                                     "segments"), map(int, m.groups())))


def kv(text):
    return dict(re.findall(r"(\w+)=(\S*)", text))


for name in ("glan-default", "glan-offload"):
    before = next((m for m in marks if m["mark"] == "CASE" and m["text"].split()[:1] == [name]),
                  None)
    after = next((m for m in marks if m["mark"] == "IPERF" and m["text"].split()[:1] == [name]),
                 None)
    if not before or not after:
        fail.append(f"{name}: the test did not run")
        continue
    d = kv(after["text"])
    try:
        mbs = int(d["rcvd_bytes"]) / float(d["rcvd_s"]) / 1e6
    except (KeyError, ValueError, ZeroDivisionError):
        mbs = 0
    print(f"{name}: mtu {kv(before['text']).get('mtu', '?')}, {mbs:.1f} MB/s, "
          f"retransmissions {d.get('retr', '?')}")
    if d.get("rc") != "0" or mbs <= 0:
        fail.append(f"{name}: iperf3 rc={d.get('rc')} received nothing")
    if before["drops"] is None or after["drops"] is None:
        fail.append(f"{name}: no glan query around the test")
        continue
    grew = {k: after["drops"].get(k, 0) - before["drops"].get(k, 0)
            for k in set(after["drops"]) | set(before["drops"])}
    print(f"{name}: LAN drops during the test: "
          + (" ".join(f"{k}={v}" for k, v in sorted(grew.items()) if v) or "none"))
    for k in ("queue_full", "no_buffer"):
        if grew.get(k, 0):
            fail.append(f"{name}: the LAN dropped {grew[k]} frames as {k}")

# the guest's counters: ETHS IF PHASE NAME=VALUE
eths = {}
for m in marks:
    if m["mark"] == "ETHS":
        f = m["text"].split()
        if len(f) == 3 and "=" in f[2]:
            k, v = f[2].split("=", 1)
            eths[(f[0], f[1], k)] = int(v) if v.isdigit() else 0
print("ethtool -S (not zero):", {f"{i}.{p}.{k}": v for (i, p, k), v in sorted(eths.items()) if v})


def moved(ifn, key_re):
    val = lambda ph: sum(v for (i, p, k), v in eths.items()
                         if i == ifn and p == ph and re.search(key_re, k, re.I))
    return val("after") > val("before")


ifs = sorted({k[0] for k in eths})
sender = [i for i in ifs if not i.startswith("n")]
receiver = [i for i in ifs if i.startswith("n")]
if not sender or not moved(sender[0], r"tso"):
    fail.append("the sender's ethtool -S TSO counters did not move in the offload test")
if not sender or not moved(sender[0], r"tx.*csum|csum.*tx"):
    fail.append("the sender's ethtool -S checksum counters did not move in the offload test")
if not receiver or not moved(receiver[0], r"rx.*csum|csum.*rx"):
    fail.append("the receiver's ethtool -S inbound checksum counter did not move")
end = next((m for m in marks if m["mark"] == "IPERF" and m["text"].startswith("glan-offload")),
           None)
dev = end["dev"] if end else {}
print("glan query after the offload test:", dev)
if dev.get("0600", {}).get("tso", 0) <= 0:
    fail.append("glan query: device 0600 sent no TSO frame")
if dev.get("0610", {}).get("verified", 0) <= 0:
    fail.append("glan query: nothing was delivered verified to 0610")
for f in fail:
    print("FAIL:", f)
sys.exit(1 if fail else 0)
EOF
echo "l2-iperf: run $run (console log: $run/guest/console.log)"
exit $rc
