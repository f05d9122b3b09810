#!/bin/sh
# Where a GLAN round trip between two real guest interfaces goes.
#
# The Debian s390x test guest gets two GLAN interfaces on LAN1, the second
# in a network namespace of its own, and sends back-to-back pings (busybox
# ping -A: the next request as soon as the reply is in) from the first to
# the second.  Around the pings this script takes:
#   - the device counters (devlist: SIGA-w, SIGA-r, interruptions) before
#     and after, so per exchange;
#   - the CPU time of Hercules' CPU thread (/proc/PID/task/TID/stat) before
#     and after, against the host time between: how busy the emulated CPU
#     was;
#   - a glan trace of LAN1, whose timestamps are the moments the base took
#     each datagram from a guest's output buffer: request -> reply is the
#     answering side's work (interruption, its IP stack, its qeth driver),
#     reply -> next request the pinging side's (the same, plus busybox ping);
#   - with perf (linux-perf) and the right to use it: 1.5 s of samples of the
#     Hercules process during the pings, by shared object: how much of the
#     host's work is hdtglan's.
# Nothing here is asserted; it prints figures (docs/benchmarks.md).
#
# usage: rtt-breakdown.sh [RUNDIR]
# Environment as e2e.sh: HERCULES_PREFIX, GLAN_MODULE_DIR, GLAN_GUEST_DIR;
# RTT_FLOOD COUNT/SIZE (default 3000/1400).  Needs tshark.  No root needed.
# Exit 0 when the run completed, 1 when not, 77 when something is missing.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
run=${1:-${GLAN_RUN_DIR:-$PWD/e2e-run}/rtt-breakdown}
mkdir -p "$run"
run=$(cd "$run" && pwd)
flood=${RTT_FLOOD:-3000/1400}

. "$here/lib.sh"
need_hercules
need_module
command -v tshark >/dev/null || { echo "skipped: no tshark (tests/deps.sh installs it)"; exit 77; }
need_guest

# Host time and every Hercules thread's stat line, at a marker.
snap='{ date +%s.%N; for t in /proc/$HERCULES_PID/task/*; do echo "$(cat $t/comm)|$(cat $t/stat)"; done; }'
rm -f "$run/trace.pcap" "$run/perf.data" "$run/summary.json"
perf=
if command -v perf >/dev/null && perf record -o /dev/null -- true >/dev/null 2>&1; then
    perf="--on=PING=!(perf record -F 999 -p \$HERCULES_PID -o $run/perf.data -- sleep 1.5 >/dev/null 2>&1 &)"
fi
rc=0
python3 "$here/boot.py" --guest "$guest" --run "$run" --timeout 300 \
    --dev "0600.3 GLAN LAN1" --dev "0610.3 GLAN LAN1" \
    --params "glan_ifs=0.0.0600/10.1.1.2/24,0.0.0610/10.1.1.3/24/ns glan_count=3 glan_ping=10.1.1.3 glan_flood=$flood glan_flood_to=10.1.1.3" \
    --on "START=glan trace LAN1 start $run/trace.pcap" \
    --on "PING=devlist" --on "PING=!$snap >$run/before.stat" \
    --on "FLOOD=devlist" --on "FLOOD=!$snap >$run/after.stat" \
    --on "FLOOD=glan trace LAN1 stop" \
    ${perf:+"$perf"} \
    --expect USERSPACE --expect 'FLOOD~rx=[1-9]' --expect DONE >"$run/boot.json" || rc=$?
[ $rc = 77 ] && { cat "$run/boot.json"; exit 77; }
tshark -n -r "$run/trace.pcap" -Y icmp -T fields -e frame.time_epoch -e ip.src -e icmp.type \
    -e icmp.seq -e ip.len >"$run/icmp.txt" 2>/dev/null || true

python3 - "$run" "$flood" <<'EOF'
import json, re, statistics, sys
run, flood = sys.argv[1], sys.argv[2]
count, size = map(int, flood.split("/"))
s = json.load(open(f"{run}/summary.json"))
if not s["ok"]:
    print(f"the run did not complete: missing {s['missing']}")
ev = [e for e in s["events"] if e["mark"] == "FLOOD"]
if ev:
    d = dict(re.findall(r"(\w+)=(\S*)", ev[-1]["text"]))
    print(f"back-to-back pings of {size} bytes: {d['rx']}/{d['tx']} answered, "
          f"round trip min/avg/max {d['rtt']} ms (busybox ping)")
    exchanges = int(d["rx"]) or 1
else:
    exchanges = count
# devlist lines before (after the PING marker) and after (FLOOD marker)
log = open(f"{run}/console.log", encoding="latin-1").read()
dev = re.findall(r"HHC02279I 0:(\w{4}) GLAN \S+ port \d+ data .*?siga w/r (\d+)/(\d+) .*?irq (\d+)", log)
if len(dev) >= 4:
    b, a = dev[-4:-2], dev[-2:]
    for (n, w0, r0, i0), (_, w1, r1, i1) in zip(b, a):
        print(f"device {n}, per exchange: SIGA-w {(int(w1) - int(w0)) / exchanges:.2f}, "
              f"SIGA-r {(int(r1) - int(r0)) / exchanges:.3f}, "
              f"interruptions {(int(i1) - int(i0)) / exchanges:.2f}")
def stat(path):
    lines = open(path).read().splitlines()
    t, cpu = float(lines[0]), {}
    for ln in lines[1:]:
        name, _, st = ln.partition("|")
        f = st[st.rindex(")") + 2:].split()
        # utime + stime in clock ticks, by thread id (two threads may share a name)
        cpu[(name, st.split()[0])] = (int(f[11]) + int(f[12])) / 100
    return t, cpu
try:
    t0, c0 = stat(f"{run}/before.stat")
    t1, c1 = stat(f"{run}/after.stat")
    busy = {k: c1[k] - c0[k] for k in c1 if k in c0}
    for (name, tid), used in sorted(busy.items(), key=lambda kv: -kv[1])[:3]:
        print(f"Hercules thread '{name}' ({tid}): {100 * used / (t1 - t0):.0f} % "
              f"of one host CPU over the {t1 - t0:.1f} s of the pings")
except (OSError, ValueError) as e:
    print(f"no thread figures: {e}")
# trace timestamps: the flood's requests and replies by sequence number
req, rep = {}, {}
for ln in open(f"{run}/icmp.txt"):
    f = ln.split("\t")
    if len(f) < 5 or int(f[4] or 0) != size + 28:
        continue
    t, src, typ, seq = float(f[0]), f[1], f[2], f[3]
    if typ == "8" and src == "10.1.1.2":
        req[seq] = t
    elif typ == "0" and src == "10.1.1.3":
        rep[seq] = t
answer = [(rep[q] - req[q]) * 1e6 for q in rep if q in req]
order = sorted(req.values())
import bisect
back = []
for t in sorted(rep.values()):
    i = bisect.bisect_right(order, t)
    if i < len(order):
        back.append((order[i] - t) * 1e6)
if answer and back:
    print(f"trace, request -> reply (the answering side): median {statistics.median(answer):.0f} us, "
          f"mean {statistics.mean(answer):.0f} us over {len(answer)}")
    print(f"trace, reply -> next request (the pinging side, busybox ping included): "
          f"median {statistics.median(back):.0f} us, mean {statistics.mean(back):.0f} us")
else:
    print("no flood datagrams in the trace")
EOF
if [ -s "$run/perf.data" ]; then
    echo "perf, the Hercules process during the pings, by shared object:"
    perf report -i "$run/perf.data" --no-children --sort dso -g none 2>/dev/null |
        grep '%' | head -n 8 | sed 's/^/  /'
else
    echo "perf: not run (no perf, or no right to sample another process)"
fi
echo "log: $run/console.log"
exit $rc
