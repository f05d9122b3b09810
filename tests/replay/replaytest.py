#!/usr/bin/env python3
"""Run one `glan replay` scenario and check every output by content.

A scenario is a JSON file (format in docs/replay.md): the input captures,
described packet by packet and generated here with the standard library only;
the command-line arguments; and what must come out: the exit status, lines on
stderr/stdout, the exact datagrams (bytes and timestamps) of every output
capture, and counters.  Besides what the scenario lists, every successful run
is checked for the invariants the contract promises: one NAME.pcap per port,
uplink.pcap exactly when --uplink is given, DLT_RAW records, counters.json
agreeing with the captures, and sent + fanout == delivered + dropped + queued
for the LAN and every port.  When tshark is given, it must read every output
capture and see the same datagrams our own reader sees.

With --through-qdio every case runs with `glan replay --through-qdio` (each
port a simulated guest behind the OSA device model) against the same
expectations, with the case's expect_qdio laid over them where a real device
makes a difference.  With --compare every case runs both ways and the two
output directories are compared directly: the same exit status and stderr,
the same files, every capture byte for byte, and counters.json equal except
the "qdio" key and the paths expect_qdio.counters_differ names (each of which
must then differ).

Usage: replaytest.py --glan PATH --scenario FILE.json --work DIR [--tshark PATH]
                     [--through-qdio | --compare]
Exit status 0 when the scenario passes, 1 with the reasons when it does not.
"""

import argparse
import ipaddress
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import time

LINKTYPES = {"raw": 101, "en10mb": 1, "ipv4": 228, "ipv6": 229, "sll": 113, "sll2": 276,
             "null": 0}
MAGIC_US = 0xA1B2C3D4
MAGIC_NS = 0xA1B23C4D
PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_BOM = 0x1A2B3C4D


# ---- building datagrams ------------------------------------------------------

def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def payload_of(p):
    if "payload_hex" in p:
        return bytes.fromhex(p["payload_hex"])
    if "payload_len" in p:
        return bytes((i * 7 + 3) & 0xFF for i in range(p["payload_len"]))
    return p.get("payload", "x").encode()


def build_ip(p):
    """The IP datagram a packet description stands for (UDP inside)."""
    if "ip_hex" in p:  # deliberately malformed or hand-made datagrams
        return bytes.fromhex(p["ip_hex"])
    src = ipaddress.ip_address(p["src"])
    dst = ipaddress.ip_address(p["dst"])
    if src.version != dst.version:
        raise ValueError("packet %r mixes IPv4 and IPv6" % p)
    data = payload_of(p)
    # Port 9 (discard) so that tshark does not dissect the payload as anything.
    sport, dport = p.get("sport", 40000), p.get("dport", 9)
    ulen = 8 + len(data)
    if dst.version == 4:
        pseudo = src.packed + dst.packed + struct.pack("!BBH", 0, 17, ulen)
    else:
        pseudo = src.packed + dst.packed + struct.pack("!IxxxB", ulen, 17)
    udp = struct.pack("!HHHH", sport, dport, ulen, 0) + data
    csum = checksum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
    if dst.version == 4:
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, p.get("ipid", 1), 0x4000, 64, 17,
                          0, src.packed, dst.packed)
        hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
        return hdr + udp
    hdr = struct.pack("!IHBB16s16s", 0x60000000, ulen, 17, 64, src.packed, dst.packed)
    return hdr + udp


def ethertype_of(ip):
    return 0x86DD if ip[:1] and ip[0] >> 4 == 6 else 0x0800


def frame(linktype, p, ip):
    """Wrap the datagram in the file's link layer."""
    if "frame_hex" in p:  # a whole frame given as is (ARP, LLC, runts)
        return bytes.fromhex(p["frame_hex"])
    etype = p.get("ethertype", ethertype_of(ip))
    if linktype in ("raw", "ipv4", "ipv6"):
        return ip
    if linktype == "en10mb":
        tags = b"".join(struct.pack("!HH", 0x8100, v) for v in p.get("vlan", []))
        dst = bytes.fromhex(p.get("eth_dst", "02:00:00:00:00:02").replace(":", ""))
        src = bytes.fromhex(p.get("eth_src", "02:00:00:00:00:01").replace(":", ""))
        f = dst + src + tags
        f += struct.pack("!H", etype) + ip
        return f + b"\0" * max(0, 60 - len(f))  # minimum frame: padding to trim
    if linktype == "sll":
        return struct.pack("!HHH8sH", 0, 1, 6, bytes.fromhex("0200000000010000"), etype) + ip
    if linktype == "sll2":
        return struct.pack("!HHIHBB8s", etype, 0, 2, 1, 0, 6,
                           bytes.fromhex("0200000000010000")) + ip
    if linktype == "null":
        fam = 2 if etype == 0x0800 else 10 if etype == 0x86DD else 99
        return struct.pack("<I", fam) + ip
    raise ValueError("unknown linktype %r" % linktype)


def ts_ns_of(p):
    if "ts_fields" in p:  # a pcap record's two 32-bit fields, as a ns file reads them
        return p["ts_fields"][0] * 10**9 + p["ts_fields"][1]
    if "ts_ns" in p:
        return int(p["ts_ns"])
    sec, _, frac = str(p["ts"]).partition(".")
    return int(sec) * 10**9 + int((frac + "000000000")[:9])


def pcapng_block(btype, body, e="<"):
    """One pcapng block: type, total length, body, total length again."""
    n = 12 + len(body)
    return struct.pack(e + "II", btype, n) + body + struct.pack(e + "I", n)


# {id: (ts_ns, the whole record)} of every input packet: what a LAN of
# transport ETHERNET (--transport ethernet) delivers, as it was captured.
FRAMES = {}


def write_input(path, spec):
    """Write one input capture; returns {id: (ts_ns, ip bytes)} of its packets."""
    if "garbage_hex" in spec:
        with open(path, "wb") as f:
            f.write(bytes.fromhex(spec["garbage_hex"]))
        return {}
    if "text" in spec:
        with open(path, "w") as f:
            f.write(spec["text"])
        return {}
    linktype = spec.get("linktype", "raw")
    ns = spec.get("precision", "ns") == "ns"
    lt = spec.get("linktype_value", LINKTYPES[linktype])
    ng = spec.get("format", "pcap") == "pcapng"
    snaplen = spec.get("snaplen", 65535)
    e = {"little": "<", "big": ">"}[spec.get("byte_order", "little")]
    if ng:
        out = bytearray(pcapng_block(PCAPNG_SHB, struct.pack(e + "IHHq", PCAPNG_BOM, 1, 0, -1), e))
        # if_tsresol 9 (nanoseconds) when asked; microseconds is the default.
        opts = struct.pack(e + "HHB3x", 9, 1, 9) if ns else b""
        out += pcapng_block(1, struct.pack(e + "HHI", lt, 0, snaplen) + opts + b"\0\0\0\0", e)
    else:
        out = bytearray(struct.pack(e + "IHHiIII", MAGIC_NS if ns else MAGIC_US, 2, 4, 0, 0,
                                    snaplen, lt))
    ids = {}
    for i, p in enumerate(spec.get("packets", [])):
        ip = build_ip(p) if ("src" in p or "ip_hex" in p) else b""
        fr = frame(linktype, p, ip)
        t = ts_ns_of(p)
        if not ns and t % 1000 and "ts_fields" not in p:
            raise ValueError("packet %d: a microsecond file cannot hold ts %d ns" % (i, t))
        frac = t % 10**9 if ns else (t % 10**9) // 1000
        caplen = min(p.get("caplen", len(fr)), len(fr))
        if ng:
            units = t if ns else t // 1000
            if units >> 64:
                raise ValueError("packet %d: ts %d ns is past pcapng's 64-bit time" % (i, t))
            body = struct.pack(e + "IIIII", 0, units >> 32, units & 0xFFFFFFFF, caplen, len(fr))
            body += fr[:caplen] + b"\0" * (-caplen % 4)
            out += pcapng_block(6, body, e)
        else:
            if t // 10**9 >> 32:
                raise ValueError("packet %d: a pcap file's 32-bit seconds cannot hold ts %d ns"
                                 % (i, t))
            sec, frac = p.get("ts_fields", (t // 10**9, frac))  # as given, even if invalid
            out += struct.pack(e + "IIII", sec, frac, caplen, len(fr)) + fr[:caplen]
        ids[p.get("id", "%s#%d" % (os.path.basename(path), i))] = (t, ip)
        FRAMES[p.get("id", "%s#%d" % (os.path.basename(path), i))] = (t, bytes(fr))
    if "cut_bytes" in spec:  # a capture cut short in its last record
        del out[len(out) - spec["cut_bytes"]:]
    with open(path, "wb") as f:
        f.write(out)
    return ids


# ---- reading what glan wrote -------------------------------------------------

def read_pcapng(path, data):
    """Our own pcapng reader (section header, interface descriptions with
    their if_tsresol, enhanced packets): (linktype, [(ts_ns, bytes)])."""
    recs, ifaces, off, e = [], [], 0, None
    while off < len(data):
        if off + 12 > len(data):
            raise ValueError("%s: block header cut short at byte %d" % (path, off))
        if e is None or struct.unpack(e + "I", data[off:off + 4])[0] == PCAPNG_SHB:
            for e in "<>":
                if struct.unpack(e + "I", data[off + 8:off + 12])[0] == PCAPNG_BOM:
                    break
            else:
                raise ValueError("%s: no pcapng section header at byte %d" % (path, off))
            ifaces = []
        btype, blen = struct.unpack(e + "II", data[off:off + 8])
        if blen < 12 or blen % 4 or off + blen > len(data) or struct.unpack(
                e + "I", data[off + blen - 4:off + blen])[0] != blen:
            raise ValueError("%s: block at byte %d is damaged" % (path, off))
        body = data[off + 8:off + blen - 4]
        if btype == 1:
            lt, _, _ = struct.unpack(e + "HHI", body[:8])
            num, den, o = 10**9, 10**6, 8
            while o + 4 <= len(body):
                code, olen = struct.unpack(e + "HH", body[o:o + 4])
                if code == 0:
                    break
                if code == 9:
                    r = body[o + 4]
                    den = 2 ** (r & 0x7F) if r & 0x80 else 10 ** r
                o += 4 + olen + (-olen % 4)
            ifaces.append((lt, num, den))
        elif btype == 6:
            iface, hi, lo, caplen, length = struct.unpack(e + "IIIII", body[:20])
            if iface >= len(ifaces) or caplen != length or 20 + caplen > len(body):
                raise ValueError("%s: packet block at byte %d is damaged" % (path, off))
            _, num, den = ifaces[iface]
            recs.append((((hi << 32) | lo) * num // den, bytes(body[20:20 + caplen])))
        off += blen
    if not ifaces or any(lt != ifaces[0][0] for lt, _, _ in ifaces):
        raise ValueError("%s: no interface, or interfaces of several link types" % path)
    return ifaces[0][0], recs


def read_pcap(path):
    """Our own reader: returns (linktype, [(ts_ns, bytes)]); raises on damage."""
    return read_capture(path)[1:]


def read_capture(path):
    """The same, with the file's format first: ("pcap" or "pcapng", linktype,
    [(ts_ns, bytes)])."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] == struct.pack("<I", PCAPNG_SHB):
        return ("pcapng",) + read_pcapng(path, data)
    if len(data) < 24:
        raise ValueError("%s: %d bytes, no pcap header" % (path, len(data)))
    for endian in "<>":
        magic, = struct.unpack(endian + "I", data[:4])
        if magic in (MAGIC_US, MAGIC_NS):
            break
    else:
        raise ValueError("%s: not a pcap file (magic %s)" % (path, data[:4].hex()))
    scale = 1 if magic == MAGIC_NS else 1000
    _, _, _, _, _, linktype = struct.unpack(endian + "HHiIII", data[4:24])
    recs, off = [], 24
    while off < len(data):
        if off + 16 > len(data):
            raise ValueError("%s: record header cut short at byte %d" % (path, off))
        sec, frac, caplen, length = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        if caplen != length or off + caplen > len(data):
            raise ValueError("%s: record at byte %d truncated" % (path, off - 16))
        recs.append((sec * 10**9 + frac * scale, bytes(data[off:off + caplen])))
        off += caplen
    return "pcap", linktype, recs


def ip_dst(b):
    if b[:1] and b[0] >> 4 == 4 and len(b) >= 20:
        return str(ipaddress.ip_address(b[16:20]))
    if b[:1] and b[0] >> 4 == 6 and len(b) >= 40:
        return str(ipaddress.ip_address(b[24:40]))
    return "?"


def tshark_view(tshark, path):
    """(epoch ns, destination) of every frame as tshark reads the file."""
    r = subprocess.run([tshark, "-n", "-r", path, "-T", "fields", "-E", "separator=|",
                        "-e", "frame.time_epoch", "-e", "ip.dst", "-e", "ipv6.dst"],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise ValueError("tshark -r %s failed: %s" % (path, r.stderr.strip()))
    rows = []
    for line in r.stdout.splitlines():
        epoch, v4, v6 = (line.split("|") + ["", ""])[:3]
        sec, _, frac = epoch.partition(".")
        rows.append((int(sec) * 10**9 + int((frac + "000000000")[:9]),
                     str(ipaddress.ip_address((v4 or v6).split(",")[0]))))
    return rows


# ---- checking ----------------------------------------------------------------

def lookup(tree, dotted):
    node = tree
    for part in dotted.split("."):
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise KeyError(dotted)
    return node


def check_invariants(c, fails):
    drops = lambda d: sum(d.values())
    lan = c["lan"]
    if lan["sent_packets"] + lan["fanout"] != lan["delivered"] + drops(lan["dropped"]) + lan[
            "queued"]:
        fails.append("LAN counters do not add up: %r" % lan)
    recv = 0
    for name, p in c["ports"].items():
        if p["sent_packets"] + p["fanout"] != p["delivered"] + drops(p["dropped"]) + p["queued"]:
            fails.append("port %s counters do not add up: %r" % (name, p))
        recv += p["recv_packets"]
    if recv != lan["delivered"]:
        fails.append("ports received %d, LAN delivered %d" % (recv, lan["delivered"]))
    if lan["queued"] or lan["buffers_in_use"]:
        fails.append("datagrams left in the LAN after the run: %r" % lan)


def expectations(case, qdio):
    """The case's expect, with its expect_qdio entries laid over it when the
    run goes through the OSA device model (a difference a real device makes,
    spelled out in the scenario; docs/replay.md)."""
    exp = dict(case["expect"])
    if qdio and "expect_qdio" in case:
        over = case["expect_qdio"]
        if not over.get("why"):
            raise ValueError("expect_qdio needs a 'why'")
        for k, v in over.items():
            if k in ("why", "counters_differ"):
                continue
            if k in ("counters", "outputs"):
                exp[k] = dict(exp.get(k, {})) | v
            else:
                exp[k] = v
    return exp


def run_case(case, inputs, args_glan, work, tshark, fails, qdio=False):
    os.makedirs(work, exist_ok=True)
    ids = {}
    for name, spec in inputs.items():
        for k, v in write_input(os.path.join(work, name), spec).items():
            if k in ids:
                raise ValueError("packet id %r used twice" % k)
            ids[k] = v
    args = (["--through-qdio"] if qdio else []) + case["args"]
    eth = "ethernet" in case["args"] and "--transport" in case["args"]
    t0 = time.time_ns()
    r = subprocess.run([args_glan, "replay"] + args, cwd=work, capture_output=True,
                       text=True, timeout=120)
    t1 = time.time_ns()
    exp = expectations(case, qdio)
    log = "\n  stdout: %s\n  stderr: %s" % (r.stdout.strip()[:2000], r.stderr.strip()[:2000])
    if r.returncode != exp.get("status", 0):
        fails.append("exit status %d, expected %d%s" % (r.returncode, exp.get("status", 0), log))
    for what, text in (("stderr", r.stderr), ("stdout", r.stdout)):
        for pat in exp.get(what, []):
            if not re.search(pat, text, re.M):
                fails.append("%s does not match /%s/%s" % (what, pat, log))
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    if "stderr_lines" in exp and len(lines) != exp["stderr_lines"]:
        fails.append("%d lines on stderr, expected %d%s" % (len(lines), exp["stderr_lines"], log))
    if exp.get("status", 0) != 0 and len(lines) != 1:
        fails.append("a failure must be one line on stderr, got %d%s" % (len(lines), log))

    out = os.path.join(work, "out")
    present = sorted(os.listdir(out)) if os.path.isdir(out) else []
    if exp.get("status", 0) != 0:
        if present:
            fails.append("a failed run left outputs: %s" % present)
        return
    if "outputs" not in exp:
        return
    expected_files = set(exp["outputs"]) | {"counters.json"}
    if set(present) != expected_files:
        fails.append("output files %s, expected %s" % (present, sorted(expected_files)))
    captures = {}
    stamped_now = {}  # id of a packet captured at 0: the times it came out with
    want_format = exp.get("output_format", "pcap")
    for name, want_ids in exp["outputs"].items():
        path = os.path.join(out, name)
        if not os.path.exists(path):
            continue
        try:
            fmt, linktype, recs = read_capture(path)
        except ValueError as e:
            fails.append(str(e))
            continue
        captures[name] = recs
        want_lt = LINKTYPES["en10mb"] if eth else LINKTYPES["raw"]
        if linktype != want_lt:
            fails.append("%s: link type %d, expected %d" % (name, linktype, want_lt))
        if fmt != want_format:
            fails.append("%s is %s, expected %s" % (name, fmt, want_format))
        want = []
        for i in want_ids:
            if i not in ids:
                raise ValueError("expected packet id %r is not in any input" % i)
            want.append(FRAMES[i] if eth else ids[i])
        # A packet captured at exactly 0 means "now": it must come out with
        # the host's time during the run (not 0), the same in every output.
        if len(recs) == len(want):
            for k, ((t, b), i) in enumerate(zip(recs, want_ids)):
                if want[k] != (0, b):
                    continue
                if t0 <= t <= t1:
                    stamped_now.setdefault(i, set()).add(t)
                    want[k] = (t, b)
                else:
                    fails.append("%s: %s, captured at 0, came out at %d, not the host's time "
                                 "during the run (%d to %d)" % (name, i, t, t0, t1))
        if recs != want:
            names = {v: k for k, v in (FRAMES if eth else ids).items()}
            fails.append("%s holds %s, expected %s" % (
                name, [names.get(x, "<%d bytes to %s at %d>" % (len(x[1]), ip_dst(x[1]), x[0]))
                       for x in recs], want_ids))
        if tshark and not eth:
            try:
                seen = tshark_view(tshark, path)
                mine = [(t, ip_dst(b)) for t, b in recs]
                if seen != mine:
                    fails.append("%s: tshark sees %s, our reader %s" % (name, seen, mine))
            except ValueError as e:
                fails.append(str(e))
    for i, times in sorted(stamped_now.items()):
        if len(times) != 1:
            fails.append("%s, captured at 0, came out at several times: %s" % (i, sorted(times)))

    try:
        with open(os.path.join(out, "counters.json")) as f:
            counters = json.load(f)
    except (OSError, ValueError) as e:
        fails.append("counters.json: %s" % e)
        return
    check_invariants(counters, fails)
    uplink = "--uplink" in case["args"]
    for name, p in counters["ports"].items():
        cap = "uplink.pcap" if p["kind"] == "uplink" else name + ".pcap"
        if cap in captures and p["recv_packets"] != len(captures[cap]):
            fails.append("port %s: recv_packets %d but %s holds %d" % (
                name, p["recv_packets"], cap, len(captures[cap])))
        if p["kind"] == "guest" and cap not in present:
            fails.append("port %s has no %s" % (name, cap))
        names = set(p["dropped"])
        if "malformed" not in names or "no_uplink" not in names or "unknown_dest" not in names:
            fails.append("port %s: drop reasons missing: %s" % (name, sorted(names)))
    if uplink != ("uplink.pcap" in present):
        fails.append("uplink.pcap present=%s with --uplink=%s" % ("uplink.pcap" in present, uplink))
    if uplink and counters["uplink"]["tx_packets"] != len(captures.get("uplink.pcap", [])):
        fails.append("uplink tx_packets %d, uplink.pcap holds %d" % (
            counters["uplink"]["tx_packets"], len(captures.get("uplink.pcap", []))))
    for key, want in exp.get("counters", {}).items():
        try:
            got = lookup(counters, key)
        except (KeyError, IndexError, ValueError):
            fails.append("counters.json has no %s" % key)
            continue
        if got != want:
            fails.append("counters %s = %r, expected %r" % (key, got, want))


def flatten(tree, prefix=""):
    """{dotted path: leaf value} of a counters.json document."""
    if isinstance(tree, dict):
        items = tree.items()
    elif isinstance(tree, list):
        items = ((str(i), v) for i, v in enumerate(tree))
    else:
        return {prefix: tree}
    out = {}
    for k, v in items:
        out.update(flatten(v, prefix + "." + k if prefix else k))
    if not out:
        out[prefix] = tree
    return out


def compare_case(case, inputs, glan, work, fails):
    """Run the case plainly and through QDIO; the outputs must be the same."""
    runs, windows, at_zero = {}, {}, set()
    for mode in ("plain", "qdio"):
        d = os.path.join(work, mode)
        os.makedirs(d, exist_ok=True)
        for name, spec in inputs.items():
            at_zero |= {ip for t, ip in write_input(os.path.join(d, name), spec).values() if t == 0}
        args = (["--through-qdio"] if mode == "qdio" else []) + case["args"]
        t0 = time.time_ns()
        r = subprocess.run([glan, "replay"] + args, cwd=d, capture_output=True, text=True,
                           timeout=120)
        windows[mode] = (t0, time.time_ns())
        out = os.path.join(d, "out")
        files = {}
        if os.path.isdir(out):
            for f in sorted(os.listdir(out)):
                with open(os.path.join(out, f), "rb") as fh:
                    files[f] = fh.read()
        runs[mode] = (r, files)
    (rp, fp), (rq, fq) = runs["plain"], runs["qdio"]
    if rp.returncode != rq.returncode:
        fails.append("exit status %d plain, %d through QDIO" % (rp.returncode, rq.returncode))
    if rp.stderr != rq.stderr or rp.stdout != rq.stdout:
        fails.append("output differs:\n  plain: %r %r\n  qdio:  %r %r" % (
            rp.stdout[:500], rp.stderr[:500], rq.stdout[:500], rq.stderr[:500]))
    if set(fp) != set(fq):
        fails.append("files plain %s, through QDIO %s" % (sorted(fp), sorted(fq)))
    differ = set(case.get("expect_qdio", {}).get("counters_differ", []))
    for f in sorted(set(fp) & set(fq)):
        if f != "counters.json":
            if fp[f] == fq[f]:
                continue
            _, a = read_pcap_bytes(fp[f])
            _, b = read_pcap_bytes(fq[f])
            # A datagram captured at 0 comes out at "now", which is another
            # time in each run: the same bytes, each within its own run.
            (p0, p1), (q0, q1) = windows["plain"], windows["qdio"]
            if fp[f][:4] == fq[f][:4] and len(a) == len(b) and all(
                    x == y or (x[1] == y[1] and x[1] in at_zero and p0 <= x[0] <= p1 and
                               q0 <= y[0] <= q1) for x, y in zip(a, b)):
                continue
            fails.append("%s differs: plain %s, through QDIO %s" % (
                f, [(t, len(x)) for t, x in a], [(t, len(x)) for t, x in b]))
            continue
        cp, cq = json.loads(fp[f]), json.loads(fq[f])
        if "qdio" in cp or "qdio" not in cq:
            fails.append("the qdio key must be in counters.json exactly through QDIO")
        cq.pop("qdio", None)
        a, b = flatten(cp), flatten(cq)
        for k in sorted(set(a) | set(b)):
            same = a.get(k) == b.get(k)
            if k in differ and same:
                fails.append("counters %s is said to differ but is %r both ways" % (k, a.get(k)))
            elif k not in differ and not same:
                fails.append("counters %s: %r plain, %r through QDIO" % (k, a.get(k), b.get(k)))


def read_pcap_bytes(data):
    import tempfile
    with tempfile.NamedTemporaryFile(suffix=".pcap") as t:
        t.write(data)
        t.flush()
        try:
            return read_pcap(t.name)
        except ValueError:
            return None, []


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--glan", required=True)
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--tshark")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--through-qdio", action="store_true",
                      help="run every case with glan replay --through-qdio")
    mode.add_argument("--compare", action="store_true",
                      help="run every case both ways and compare the outputs")
    a = ap.parse_args()
    with open(a.scenario) as f:
        sc = json.load(f)
    if os.path.isdir(a.work):
        shutil.rmtree(a.work)
    cases = sc.get("cases", [sc])
    failed = 0
    for n, case in enumerate(cases):
        fails = []
        label = case.get("name", str(n))
        work = os.path.join(a.work, label) if "cases" in sc else a.work
        inputs = sc.get("inputs", {}) | case.get("inputs", {})
        if a.compare:
            compare_case(case, inputs, a.glan, work, fails)
        else:
            run_case(case, inputs, a.glan, work, a.tshark, fails, a.through_qdio)
        for msg in fails:
            print("FAIL %s [%s]: %s" % (os.path.basename(a.scenario), label, msg))
        failed += bool(fails)
        if not fails:
            print("ok   %s [%s] %s" % (os.path.basename(a.scenario), label,
                                       case.get("description", sc.get("description", ""))))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
