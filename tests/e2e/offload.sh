#!/bin/sh
# Checksum and TSO offload with a real guest (CTest e2e.glan-offload): the
# Debian s390x bench guest (build-initramfs.sh --bench, role "offload" of
# tests/e2e/guest/bench-init.sh) with two GLAN interfaces on a LAN whose
# buffers hold 64 KiB datagrams, one in a network namespace of its own.
# The first turns its offloads on with ethtool -K, the second leaves them
# off: 16 MiB from the first to the second must arrive intact (SHA-256),
# cut by the LAN into segments for the second; then the second turns them
# on too and an iperf3 test runs.  Checked: the transfer's checksums, the
# guest's own counters (ethtool -S: TSO skbs and checksum offload moved on
# the sender) and the device's in `glan query` (TSO datagrams sent, cut for
# the non-offloading receiver, delivered whole and verified once it
# offloads).
#
# usage: offload.sh [RUNDIR]; environment as bench-throughput.sh (BENCH_SECS,
# default 5).  Exit 0 passed, 1 failed, 77 skipped.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
run=${1:-${GLAN_RUN_DIR:-$PWD/e2e-run}/offload}
secs=${BENCH_SECS:-5}

. "$here/lib.sh"
need_hyperion
need_bench_guest

mkdir -p "$run"
run=$(cd "$run" && pwd)
rm -rf "${run:?}/guest"
rc=0
python3 "$here/boot.py" --guest "$guest" --run "$run/guest" --timeout $((600 + 4 * secs)) \
    --cfg "glan define LAN1" \
    --dev "0600.3 GLAN LAN1" --dev "0610.3 GLAN LAN1" \
    --params "bench_role=offload glan_ifs=0.0.0600/10.1.1.2/24,0.0.0610/10.1.1.3/24/ns bench_dst=10.1.1.3 bench_secs=$secs" \
    --on "CASE=glan query LAN1" --on "IPERF=glan query LAN1" \
    --expect USERSPACE --expect 'IF~ ok' --expect 'XFER~ok' --expect DONE \
    >"$run/guest.json" 2>&1 || rc=1

python3 - "$run/guest/console.log" <<'EOF' || rc=1
import re, sys

log = open(sys.argv[1], encoding="latin-1").read().splitlines()
fail = []
marks = [(m.group(1), m.group(2)) for m in
         (re.search(r"@@ (\S+) ?(.*?)(?: t=[0-9.]+)?$", l) for l in log if "HHC01603I" not in l) if m]

# the guest's counters: ETHS IF PHASE NAME=VALUE
eths = {}
for name, text in marks:
    if name == "ETHS":
        f = text.split()
        if len(f) == 3 and "=" in f[2]:
            k, v = f[2].split("=", 1)
            eths[(f[0], f[1], k)] = int(v) if v.isdigit() else 0
ifs = sorted({k[0] for k in eths})
print("ethtool -S:", {f"{i}.{p}.{k}": v for (i, p, k), v in sorted(eths.items())})
xfer = [t for n, t in marks if n == "XFER"]
print("XFER", xfer)
if not xfer or not xfer[0].startswith("ok"):
    fail.append("the 16 MiB transfer did not arrive intact")


def moved(ifn, key_re, a, b):
    return sum(v for (i, p, k), v in eths.items() if i == ifn and p == b and re.search(key_re, k, re.I)) > \
        sum(v for (i, p, k), v in eths.items() if i == ifn and p == a and re.search(key_re, k, re.I))


sender = [i for i in ifs if not i.startswith("n")]
if not sender or not moved(sender[0], r"tso", "before", "xfer"):
    fail.append("the sender's ethtool -S TSO counters did not move during the transfer")
if not sender or not moved(sender[0], r"csum", "before", "xfer"):
    fail.append("the sender's ethtool -S checksum counters did not move during the transfer")

# the device's counters in the glan query after each marker: per port name
queries, cur, port = [], None, None
for l in log:
    m = re.search(r"@@ (CASE|IPERF) (\S+)", l)
    if m and "HHC01603I" not in l:
        cur = {"after": m.group(1) + " " + m.group(2)}
        queries.append(cur)
        continue
    m = re.search(r"HHC04720I\s+Port \d+ '(?:\d+:)?(\w+)'", l)
    if m:
        port = m.group(1)
        continue
    m = re.search(r"HHC04720I\s+Device: .*; offload out csum (\d+) tso (\d+) refused (\d+), in "
                  r"verified (\d+) tso whole (\d+) cut (\d+) into (\d+) segments", l)
    if m and cur is not None and port:
        cur[port] = dict(zip(("csum", "tso", "refused", "verified", "whole", "cut", "segments"),
                             map(int, m.groups())))
for q in queries:
    print("glan query after", q)


def last(after, port, key):
    for q in queries:
        if q["after"] == after and port in q:
            return q[port].get(key, 0)
    return 0


if last("CASE xfer-end", "0600", "tso") <= 0:
    fail.append("glan query: device 0600 sent no TSO datagram during the transfer")
if last("CASE xfer-end", "0610", "cut") <= 0:
    fail.append("glan query: no TSO datagram was cut for the non-offloading 0610")
if last("IPERF glan-offload", "0610", "verified") <= 0:
    fail.append("glan query: nothing was delivered verified to 0610 once it offloaded")
for f in fail:
    print("FAIL:", f)
sys.exit(1 if fail else 0)
EOF
echo "offload: run $run (console log: $run/guest/console.log)"
exit $rc
