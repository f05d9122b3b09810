#!/bin/sh
# Throughput with real guests: iperf3 TCP between Debian s390x guests under
# SDL Hyperion, over GLAN and, for the limit, over the guest's own loopback
# (issue 11).  Run by hand; not part of CTest or tests/run.sh.
#
# Two layouts, each in its own boot(s):
#   single  one Hercules process, one guest with two GLAN interfaces on
#           LAN1 (0600 10.1.1.2 in the guest's first network namespace,
#           0610 10.1.1.3 moved into a second one, so the traffic really
#           crosses the LAN); in that one boot: iperf3 over the loopback
#           (lo), over GLAN at the guest's defaults (MTU 1492, no ethtool),
#           over GLAN tuned (both interfaces at the largest MTU the device
#           takes, every offload `ethtool -K` can turn on), the same
#           offloads at MTU 9000 (glan-tso9000: where Linux uses TSO), the
#           loopback again (lo-after: how much the guest's speed drifted in
#           the boot)
#   xproc   two Hercules processes on one shared LAN (as tests/e2e/xproc.sh),
#           a guest each with one interface: A (0600, 10.1.9.1) measures its
#           loopback and then serves; B (0700, 10.1.9.2), started then,
#           measures its loopback, then sends to A at the defaults and tuned
#           (both guests tune their side between the two tests)
#   hipers, xproc-hipers  the same two on a LAN of type HIPERS: the guests'
#           cards are HiperSockets, set online with neither layer2 nor an
#           MTU set (their defaults: layer 3, MTU 57344)
# Every GLAN test is bracketed by `glan query LAN1` on the Hercules console
# (guest markers CASE and IPERF, tests/e2e/guest/bench-init.sh); the table
# gives the LAN's drops by reason during the test, and how often and how
# long senders waited for a receiver's room (back-pressure), summed over
# the ports.  MB/s is 10^6 bytes per
# second at the receiver (iperf3's sum_received); "x lo" the ratio to the
# loopback measured in the same boot (xproc: the faster of A's and B's,
# each taken while the other guest was idle or not yet started); retr the
# sender's TCP retransmissions (iperf3's sum_sent.retransmits), with the
# sender's TCP counters of the test: tail-loss probes (TLP), timeouts (RTO)
# and the receiver's reports of duplicates (DSACK: the original had
# arrived); CPU % the sender's and receiver's iperf3 processes; guest CPU
# where the sending guest's CPU went (/proc/stat: user, system, hard and
# soft interrupts, idle).  Absolute
# rates on a shared machine vary by 2x between runs: compare ratios.
#
# usage: bench-throughput.sh [RUNDIR]
# Environment: HERCULES_SOURCE_DIR/HERCULES_PREFIX (or the per-user default,
# tests/find-hyperion.sh), GLAN_MODULE_DIR (folder of hdtglan.so; default
# build/src/hercules of this checkout when there), GLAN_BENCH_GUEST_DIR (the
# guest, built there by build-initramfs.sh --bench when missing),
# BENCH_SECS (seconds per iperf3 test, default 10), BENCH_LAYOUTS
# ("single xproc", the default, or any of single, xproc, hipers,
# xproc-hipers), BENCH_LANCFG (the LAN's
# sizes for `glan define`, default none: the defaults, whose large buffers
# take a whole TSO datagram), BENCH_TRANSPORT (ip, the default: layer-3
# guests; ethernet: the LAN is of transport ETHERNET and the guests group
# their cards without touching layer2, qeth's default, layer 2),
# BENCH_PARAMS (more guest parameters for the one-guest layouts, as
# "bench_bufs=128": guest/bench-init.sh).
# Exit 0 when every test ran, 1 when one failed, 77 skipped (what is missing).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
transport=${BENCH_TRANSPORT:-ip}
case $transport in
ip) suffix= tlayer=layer3 ;;
ethernet) suffix=-ethernet tlayer=default ;;
*)
    echo "bench-throughput: BENCH_TRANSPORT is ip or ethernet, not '$transport'"
    exit 2
    ;;
esac
run=${1:-${GLAN_RUN_DIR:-$PWD/e2e-run}/bench-throughput$suffix}
secs=${BENCH_SECS:-10}
layouts=${BENCH_LAYOUTS:-single xproc}

. "$here/lib.sh"
need_hyperion
need_bench_guest

mkdir -p "$run"
run=$(cd "$run" && pwd)
shm=
pids=
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    [ -z "$shm" ] || rm -f "/dev/shm/$shm"
}
trap cleanup EXIT

boot() {
    who=$1 limit=$2
    shift 2
    rm -rf "${run:?}/$who"
    python3 "$here/boot.py" --guest "$guest" --run "$run/$who" --timeout "$limit" "$@" \
        >"$run/$who.json" 2>&1
}
# the time one guest needs: its boot, 5 tests with their start-up, tuning
limit=$((420 + 10 * secs))
# the LAN's sizes (by default its large buffers hold a 64 KiB datagram, so
# that the device offers TSO: docs/osa.md, "Offloads"), and its transport
lancfg=${BENCH_LANCFG:-}
[ "$transport" = ethernet ] && lancfg="$lancfg transport ethernet"

rc=0
for layout in $layouts; do
    t0=$(date +%s)
    # A HIPERS layout: the LAN's type, the guests' layer left as qeth has
    # it, its guests' run folders apart.
    type= layer=$tlayer ga=a gb=b
    case $layout in *hipers)
        type="type hipers" layer=default ga=ha gb=hb
        ;;
    esac
    case $layout in
    single | hipers)
        boot $layout $limit --cfg "glan define LAN1 $type $lancfg" \
            --dev "0600.3 GLAN LAN1" --dev "0610.3 GLAN LAN1" \
            --params "bench_role=single bench_layer=$layer ${BENCH_PARAMS:-} glan_ifs=0.0.0600/10.1.1.2/24,0.0.0610/10.1.1.3/24/ns bench_dst=10.1.1.3 bench_secs=$secs" \
            --on "CASE=glan query LAN1" --on "IPERF=glan query LAN1" \
            --expect USERSPACE --expect 'IF~ ok' --expect DONE || rc=1
        ;;
    xproc | xproc-hipers)
        # a region of the layout's own: one left by another layout would
        # give its type (a guest that joins takes the LAN as defined)
        shm=glanbt$$$(echo "$layout" | tr -d -)
        boot $ga $((limit + 300)) --cfg "glan define LAN1 shared $shm $type $lancfg" --dev "0600.3 GLAN LAN1" \
            --params "bench_role=server bench_layer=$layer glan_ifs=0.0.0600/10.1.9.1/24 bench_secs=$secs bench_wait=$limit" \
            --on "SERVED=glan query LAN1" \
            --expect USERSPACE --expect 'IF~ ok' --expect DONE &
        pa=$!
        pids="$pids $pa"
        # B once A has measured its loopback and listens (two guests
        # booting at once on a small machine would spoil A's loopback).
        waited=0
        while ! grep -q '@@ SERVE ' "$run/$ga/console.log" 2>/dev/null && kill -0 $pa 2>/dev/null &&
            [ $waited -lt $limit ]; do
            sleep 1
            waited=$((waited + 1))
        done
        echo "bench-throughput: xproc: starting B after ${waited}s"
        boot $gb $limit --cfg "glan define LAN1 shared $shm $lancfg" --dev "0700.3 GLAN LAN1" \
            --params "bench_role=client bench_layer=$layer glan_ifs=0.0.0700/10.1.9.2/24 bench_peer=10.1.9.1 bench_secs=$secs" \
            --on "CASE=glan query LAN1" --on "IPERF=glan query LAN1" \
            --expect USERSPACE --expect 'IF~ ok' --expect DONE &
        pb=$!
        pids="$pids $pb"
        wait $pb || rc=1
        wait $pa || rc=1
        pids=
        rm -f "/dev/shm/$shm"
        ;;
    *)
        echo "bench-throughput: unknown layout '$layout' (single, xproc, hipers, xproc-hipers)"
        exit 2
        ;;
    esac
    echo "bench-throughput: $layout done in $(($(date +%s) - t0)) s"
done

python3 - "$run" "$secs" "$transport" $layouts <<'EOF' || rc=1
import json, os, re, sys

run, secs, transport, layouts = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
MARK = re.compile(r"@@ (\S+) ?(.*?)(?: t=[0-9.]+)?$")


def kv(text):
    return dict(re.findall(r"(\w+)=(\S*)", text))


def read(who):
    """The guest's markers and, for each, the LAN-wide drops by reason in
    the glan query that followed it."""
    log = os.path.join(run, who, "console.log")
    summ = os.path.join(run, who, "summary.json")
    if not os.path.exists(log):
        return None, [], f"no console log ({os.path.join(run, who + '.json')})"
    marks, last = [], None
    for line in open(log, encoding="latin-1"):
        m = MARK.search(line)
        if m and "HHC01603I" not in line:
            mk = {"mark": m.group(1), "text": m.group(2), "drops": None, "waits": None}
            marks.append(mk)
            # the host's glan query answers CASE and IPERF (boot.py --on);
            # a marker the guest prints meanwhile (TCP) takes none of it
            if mk["mark"] in ("CASE", "IPERF"):
                last = mk
            continue
        m = re.search(r"HHC04720I     Waited for a receiver's room (\d+) times, ([0-9.]+) s", line)
        if m and last is not None:  # each port's line: summed over the LAN
            w = last["waits"] or (0, 0.0)
            last["waits"] = (w[0] + int(m.group(1)), w[1] + float(m.group(2)))
        m = re.search(r"HHC04720I   Dropped:(.*)$", line)  # the LAN's line, not a port's
        if m and last is not None and last["drops"] is None:
            last["drops"] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(1))}
    s = json.load(open(summ)) if os.path.exists(summ) else None
    why = "" if s and s["ok"] else (f"missing {s['missing']}" if s else "no summary")
    return s, marks, why


def cases(marks):
    """NAME -> dict: the IPERF figures, MTU, drops during the test."""
    out, before = {}, {}
    for m in marks:
        name = m["text"].split()[0] if m["text"] else ""
        if m["mark"] == "CASE":
            before[name] = m
        elif m["mark"] == "TCP" and name in out:
            # the sender's TCP counters that moved in the test: what its
            # retransmissions were
            out[name]["tcp"] = {k: int(v) for k, v in kv(m["text"]).items() if v.lstrip("-").isdigit()}
        elif m["mark"] == "IPERF":
            d = kv(m["text"])
            c = {"rc": d.get("rc"), "retr": d.get("retr", ""), "cpu_host": d.get("cpu_host", ""),
                 "cpu_remote": d.get("cpu_remote", ""), "gcpu": d.get("guest_cpu", "-"),
                 "err": m["text"].partition("err=")[2]}
            try:
                c["mbs"] = int(d["rcvd_bytes"]) / float(d["rcvd_s"]) / 1e6
            except (KeyError, ValueError, ZeroDivisionError):
                c["mbs"] = None
            c["mtu"] = kv(before[name]["text"]).get("mtu", "?") if name in before else "?"
            b, a = (before.get(name) or {}).get("drops"), m["drops"]
            if b is not None and a is not None:
                c["drops"] = {k: a.get(k, 0) - b.get(k, 0) for k in sorted(set(a) | set(b))
                              if a.get(k, 0) != b.get(k, 0)}
            else:
                c["drops"] = None
            b, a = (before.get(name) or {}).get("waits"), m["waits"]
            c["waits"] = f"{a[0] - b[0]} / {a[1] - b[1]:.1f} s" if a and b else "-"
            out[name] = c
    return out


rows, notes, ok = [], [], True


def pct(v):
    try:
        return f"{float(v):.0f}"
    except ValueError:
        return "-"


def add(layout, name, c, lo):
    global ok
    if c is None:
        ok = False
        rows.append((layout, name, "-", "not run", "-", "-", "-", "-", "-", "-"))
        return
    if c["mbs"] is None or c["rc"] != "0":
        ok = False
        notes.append(f"{layout} {name}: iperf3 rc={c['rc']} {c['err']}")
    mbs = f"{c['mbs']:.1f}" if c["mbs"] is not None else "-"
    ratio = f"{c['mbs'] / lo:.2f}" if c["mbs"] is not None and lo else "-"
    drops = ("none" if not c["drops"] else " ".join(f"{k}={v}" for k, v in c["drops"].items())) \
        if c["drops"] is not None else ("-" if name.startswith("lo") else "no query")
    retr = c["retr"] or "-"
    t = c.get("tcp")
    if t is not None and retr not in ("-", "0"):
        # tail-loss probes (TLP), retransmission timeouts (RTO), and how many
        # the receiver reported as duplicates (DSACK): a TLP whose original
        # arrived is a late ACK, not a loss
        retr += (f" (TLP {t.get('TCPLossProbes', 0)}, RTO {t.get('TCPTimeouts', 0)},"
                 f" DSACK {t.get('TCPDSACKRecv', 0)})")
    rows.append((layout, name, c["mtu"], mbs, ratio, retr, drops,
                 c.get("waits", "-"), f"{pct(c['cpu_host'])}/{pct(c['cpu_remote'])}", c["gcpu"]))


for layout in layouts:
    hip = layout.endswith("hipers")
    one = layout in ("single", "hipers")
    guests = [layout] if one else (["ha", "hb"] if hip else ["a", "b"])
    got = {}
    for who in guests:
        s, marks, why = read(who)
        if why:
            ok = False
            notes.append(f"{layout} guest {who}: {why}")
        got[who] = (s, marks, cases(marks))
        for m in marks:
            if m["mark"] in ("VERSION", "MTU", "ETHSET", "SERVED") or (
                    m["mark"] == "IF" and " ok" not in m["text"]):
                notes.append(f"{layout} {who}: {m['mark']} {m['text']}")
        eth = {}
        for m in marks:
            if m["mark"] == "ETHK":
                f = m["text"].split(None, 2)
                if len(f) == 3:
                    eth.setdefault((f[0], f[1]), []).append(f[2].replace(": ", "="))
        for (ifn, phase), feats in eth.items():
            notes.append(f"{layout} {who}: ethtool -k {ifn} {phase} (all but fixed off): "
                         + ", ".join(feats))
    if one:
        cs = got[layout][2]
        lo = (cs.get("lo") or {}).get("mbs")
        for n in ("lo", "glan-default", "glan-tuned", "glan-tso9000", "lo-after"):
            add("one guest, HIPERS" if hip else "one guest", n, cs.get(n), lo)
    else:
        ca, cb = got[guests[0]][2], got[guests[1]][2]
        two = "two processes, HIPERS" if hip else "two processes"
        # the faster of the two guests' loopbacks: the stricter reference
        los = [x for x in ((ca.get("lo") or {}).get("mbs"), (cb.get("lo") or {}).get("mbs")) if x]
        lo = max(los) if los else None
        add(two, "lo (A)", ca.get("lo"), lo)
        add(two, "lo (B)", cb.get("lo"), lo)
        for n in ("glan-default", "glan-tuned"):
            add(two, n + " B->A", cb.get(n), lo)

head = ("layout", "case", "MTU", "MB/s", "x lo", "retr", "LAN drops during the test",
        "waits / time", "CPU % snd/rcv", "guest CPU us/sy/hi/si/id")
w = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
print(f"iperf3 TCP, {secs} s per test, LAN of transport {transport.upper()}; MB/s = 10^6 "
      "bytes/s at the receiver; x lo = ratio to the loopback of the same boot (two processes: "
      "the faster of A's and B's)")
for r in [head] + rows:
    print("  ".join(str(v).ljust(w[i]) for i, v in enumerate(r)).rstrip())
for n in notes:
    print("  " + n)
json.dump({"secs": secs, "transport": transport, "rows": rows, "notes": notes},
          open(os.path.join(run, "bench.json"), "w"), indent=1)
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for r in rows:
    print("| " + " | ".join(str(v) for v in r) + " |")
sys.exit(0 if ok else 1)
EOF
echo "run: $run (console logs: $run/*/console.log)"
exit $rc
