#!/usr/bin/env python3
"""Check a guest run's figures against each other, exactly.

Reads the console log boot.py wrote (RUN/console.log) and, with --trace, the
pcap file `glan trace` wrote, and checks:

  * guest against base: for every GLAN port whose guest interface printed its
    counters (NETDEV markers, from /proc/net/dev), the port's "Sent" packets
    equal the interface's tx_packets and its "Received" packets its
    rx_packets; bytes differ by exactly the 14-byte link header qeth_l3 puts
    in front of every datagram it counts (the base counts IP datagrams);
  * the base against itself: the LAN's sent + fanout equals delivered +
    dropped + queued, and the LAN's sent is the sum of its ports' sent and
    the datagrams the base made (its "Path MTU" answers and fragments);
  * with --trace FILE: tshark reads the file, it holds as many datagrams as
    the trace said it wrote, which is the LAN's "Sent" in the query taken
    while the trace ran (--trace-query MARK); with --pings A>B,... each
    A>B pair has exactly --count echo requests from A to B and as many
    replies back; with --tcp A>B:BYTES at least BYTES of TCP payload from A
    to B.

The query checked against the guest's counters is the last one in the log
(tie it to the DONE marker, after NETDEV).  Datagrams the base counted
between the query before NETDEV and that last one, sent or received while
the guest read its counters, may be missing from the guest's counters, and
only those.  Prints what it compared; exits 0
when everything matched, 1 when not.  Python 3 standard library and tshark.
"""
import argparse
import re
import shutil
import subprocess
import sys

IPV4_MIN = 20  # the smallest datagram
LINK_HEADER = 14  # qeth_l3's fake Ethernet header, counted by the guest only


def parse_log(path):
    """Markers, and every glan query block with the marker it followed."""
    marks, queries = [], []
    last_mark = None
    cur = None
    for line in open(path, encoding="latin-1"):
        m = re.search(r"@@ (\S+) ?(.*?)(?: t=[0-9.]+)?$", line)
        if m and "HHC01603I" not in line:
            marks.append((m.group(1), m.group(2)))
            last_mark = m.group(1)
            continue
        m = re.search(r"HHC04720I (.*)$", line)
        if not m:
            continue
        text = m.group(1)
        if text.startswith("LAN "):
            cur = {"after": last_mark, "at": len(marks), "lan": {}, "ports": [],
                   "trace_written": None}
            queries.append(cur)
            continue
        if cur is None:
            continue
        t = text.strip()
        port = cur["ports"][-1] if cur["ports"] and text.startswith("    ") else None
        target = port if port is not None else cur["lan"]
        if re.match(r"Port \d+ ", t):
            pm = re.match(r"Port (\d+) '[^']*' (\w+) (?:devices )?(\S+)", t)
            dm = re.search(r"guest devices ([0-9A-Fa-f]{4})", t)
            cur["ports"].append({"index": int(pm.group(1)), "kind": pm.group(2),
                                 "devno": dm.group(1).lower() if dm else None})
            continue
        sm = re.match(r"Sent (\d+) packets (\d+) bytes, fanout (\d+), delivered (\d+), queued (\d+)", t)
        if sm:
            target.update(zip(("sent", "sent_bytes", "fanout", "delivered", "queued"),
                              map(int, sm.groups())))
            continue
        dm = re.match(r"Dropped:(.*)$", t)
        if dm:
            target["dropped"] = sum(int(n) for n in re.findall(r"=(\d+)", dm.group(1)))
            continue
        rm = re.match(r"Received (\d+) packets (\d+) bytes, dropped on the way in (\d+)", t)
        if rm:
            target.update(zip(("recv", "recv_bytes", "recv_dropped"), map(int, rm.groups())))
            continue
        mm = re.match(r"Path MTU: (\d+) ICMP answers sent, \d+ held back by the rate limit, "
                      r"(\d+) fragments made", t)
        if mm:
            cur["lan"]["made"] = int(mm.group(1)) + int(mm.group(2))
            continue
        tm = re.match(r"Trace to '[^']*', filters:.*?; (\d+) written", t)
        if tm:
            cur["trace_written"] = int(tm.group(1))
    return marks, queries


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", help="run directory of boot.py (console.log)")
    ap.add_argument("--trace", help="pcap file of a `glan trace` that ran in this run")
    ap.add_argument("--trace-query", default="READY",
                    help="marker the query taken while the trace ran followed (default READY)")
    ap.add_argument("--pings", default="", help="A>B,...: pairs that pinged (echo request A to B)")
    ap.add_argument("--count", type=int, default=5, help="echo requests per pair (default 5)")
    ap.add_argument("--tcp", default="", help="A>B:BYTES: TCP payload that must be in the trace")
    a = ap.parse_args()

    marks, queries = parse_log(f"{a.run}/console.log")
    fails = []

    def check(ok, what):
        print(("ok   " if ok else "FAIL ") + what)
        if not ok:
            fails.append(what)

    if not queries:
        print("FAIL no glan query in the log")
        return 1
    q = queries[-1]
    print(f"query after marker {q['after']}: LAN {q['lan']}")
    ifname = {}  # guest device number -> interface name
    for name, text in marks:
        if name == "IF":
            f = text.split()
            if len(f) >= 4 and f[3] == "ok":
                ifname[f[0].split(".")[-1].lower()] = f[1]
    netdev = {}
    for name, text in marks:
        if name == "NETDEV":
            f = text.split()
            netdev[f[1]] = {k: int(v) for k, v in (kv.split("=") for kv in f[2:])}

    # The query taken before the guest read its counters (NETDEV): what the
    # base had seen then.  A datagram the guest sends or takes while it
    # reads them (an IPv6 router solicitation, a late ACK) is in the last
    # query and may or may not be in the guest's counters; only those may
    # differ.
    first_netdev = next((i for i, (name, _) in enumerate(marks) if name == "NETDEV"), len(marks))
    earlier = [x for x in queries[:-1] if x["at"] <= first_netdev]
    qb = earlier[-1] if earlier else None

    def window(p, key):
        if qb is None:
            return 0
        b = next((x for x in qb["ports"] if x["index"] == p["index"]), None)
        return max(0, p.get(key, 0) - b.get(key, 0)) if b is not None else 0

    lan = q["lan"]
    check(lan.get("sent", -1) + lan.get("fanout", 0) ==
          lan.get("delivered", 0) + lan.get("dropped", 0) + lan.get("queued", 0),
          f"LAN: sent {lan.get('sent')} + fanout {lan.get('fanout')} == delivered "
          f"{lan.get('delivered')} + dropped {lan.get('dropped')} + queued {lan.get('queued')}")
    ports_sent = sum(p.get("sent", 0) for p in q["ports"])
    made = lan.get("made", 0)
    check(lan.get("sent") == ports_sent + made,
          f"LAN sent {lan.get('sent')} == sum of the ports' sent {ports_sent} + made by the base "
          f"{made}")
    compared = 0
    for p in q["ports"]:
        ifn = ifname.get(p["devno"] or "")
        nd = netdev.get(ifn) if ifn else None
        if nd is None:
            continue
        compared += 1
        who = f"port {p['index']} (device {p['devno']}, guest {ifn})"
        # Linux's qeth counts a packet when the device hands its buffer
        # back; a buffer the device had sent but whose completion the guest
        # had not taken when the interface went offline is counted as a
        # transmit error instead (qeth_tx_complete_buf, error set by the
        # queue's shutdown).  Those, and only those, may differ.
        late = p.get("sent", 0) - nd["tx_packets"]
        errs = nd.get("tx_errs", 0)
        sent_w = window(p, "sent")
        check(0 <= late <= errs + sent_w,
              f"{who}: base sent {p.get('sent')} == guest tx_packets {nd['tx_packets']}"
              + (f" + {late} completed as errors at offline (tx_errs {errs}) or sent while"
                 f" the guest read its counters ({sent_w} sent then)" if late else ""))
        rlate = p.get("recv", 0) - nd["rx_packets"]
        recv_w = window(p, "recv")
        check(0 <= rlate <= recv_w,
              f"{who}: base received {p.get('recv')} == guest rx_packets {nd['rx_packets']}"
              + (f" + {rlate} delivered while the guest read its counters ({recv_w} then)"
                 if rlate else ""))
        extra = p.get("sent_bytes", 0) + LINK_HEADER * nd["tx_packets"] - nd["tx_bytes"]
        check(extra == 0 if late == 0 else IPV4_MIN * late <= extra <= 65535 * late,
              f"{who}: base sent bytes {p.get('sent_bytes')} + {LINK_HEADER} x "
              f"{nd['tx_packets']} == guest tx_bytes {nd['tx_bytes']}"
              + (f" + {extra} bytes of the {late} at offline" if late else ""))
        rextra = p.get("recv_bytes", 0) + LINK_HEADER * nd["rx_packets"] - nd["rx_bytes"]
        check(rextra == 0 if rlate == 0 else IPV4_MIN * rlate <= rextra <= 65535 * rlate,
              f"{who}: base received bytes {p.get('recv_bytes')} + {LINK_HEADER} x "
              f"{nd['rx_packets']} == guest rx_bytes {nd['rx_bytes']}"
              + (f" + {rextra} bytes of the {rlate} delivered then" if rlate else ""))
    check(compared > 0, f"{compared} port(s) compared with the guest's interface counters")

    if a.trace:
        if not shutil.which("tshark"):
            check(False, "tshark is not installed (tests/deps.sh installs it)")
            return 1
        during = [x for x in queries if x["after"] == a.trace_query and x["trace_written"] is not None]
        if not during:
            check(False, f"a glan query after marker {a.trace_query} while the trace ran")
            return 1
        tq = during[-1]
        check(tq["trace_written"] == tq["lan"].get("sent"),
              f"trace wrote {tq['trace_written']} datagrams == LAN sent {tq['lan'].get('sent')} "
              f"(query after {a.trace_query})")
        stopped = [int(n) for n in re.findall(r"HHC04718I .* stopped: (\d+) datagrams written",
                                              open(f"{a.run}/console.log", encoding="latin-1").read())]
        r = subprocess.run(["tshark", "-n", "-r", a.trace, "-T", "fields", "-e", "ip.src",
                            "-e", "ip.dst", "-e", "icmp.type", "-e", "tcp.len"],
                           capture_output=True, text=True)
        check(r.returncode == 0, f"tshark reads {a.trace} (rc {r.returncode}) {r.stderr.strip()[:300]}")
        rows = [ln.split("\t") for ln in r.stdout.splitlines()]
        check(bool(stopped) and len(rows) == stopped[-1],
              f"tshark sees {len(rows)} datagrams == the trace's own count {stopped[-1:]}")
        for pair in filter(None, a.pings.split(",")):
            src, dst = pair.split(">")
            req = sum(1 for f in rows if f[:3] == [src, dst, "8"])
            rep = sum(1 for f in rows if f[:3] == [dst, src, "0"])
            check(req == a.count and rep == a.count,
                  f"trace: {req} echo requests {src} -> {dst} and {rep} replies, "
                  f"{a.count} each expected")
        if a.tcp:
            pair, nbytes = a.tcp.split(":")
            src, dst = pair.split(">")
            got = sum(int(f[3]) for f in rows if f[:2] == [src, dst] and len(f) > 3 and f[3])
            check(got >= int(nbytes), f"trace: {got} bytes of TCP payload {src} -> {dst} "
                                      f">= {nbytes}")
    print("counters: all match" if not fails else f"counters: {len(fails)} mismatch(es)")
    return 0 if not fails else 1


if __name__ == "__main__":
    sys.exit(main())
