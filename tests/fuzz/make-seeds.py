#!/usr/bin/env python3
"""Write the seed corpus of the fuzz targets (tests/fuzz/corpus/).

The control blocks are built from the layouts in include/osa/guestlan/osa_wire.h, as
the simulated guest builds them; the captures, frames and words from the
formats each target's comment describes.  Run from anywhere, rerun after a
format change and commit the result.  The capture corpus also holds a few
real captures (tests/fuzz/corpus/capture/README), which this does not
write."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def mpc(rrh_type, proto, dest, body):
    total = 0x40 + len(body)
    pdu = len(body)
    th = struct.pack(">IIIIHH", 0x00E00000, 1, 0x14, total, 0x1000, 1)
    rrh = (struct.pack(">IBBHIIHH", 0, rrh_type, proto, 1, 1, 0, 0x24, pdu)
           + bytes([pdu >> 16, (pdu >> 8) & 255, pdu & 255, 5]) + dest + bytes(8))
    ph = bytes([1, pdu >> 16, (pdu >> 8) & 255, pdu & 255]) + struct.pack(">I", 0x40)
    return th + rrh + ph + body


def puk(what, typ, pus):
    return struct.pack(">HBBH6x", 12, what, typ, len(pus)) + pus


def ipa(cmd, prot, data):
    hdr = struct.pack(">BBHHBBBBHII", cmd, 0, 7, 0, 1, 0, 1, 1, prot, 0, 0)
    return mpc(0xC1, 0x03, b"GLUC", hdr + data)


def rec(slot, cmd, count, data=b""):
    return struct.pack(">BBHH", slot, cmd, count, len(data)) + data


idx_read = (b"\x00\x00\x80\x00" + bytes(4) + b"\x19\x01\x01\xc0" + b"\x00\x01\x01\x03"
            + b"\x01\x01" + bytes(4) + bytes([0xC8, 0xC1, 0xD3, 0xD3, 0xD6, 0xD3, 0xC5, 0x40])
            + b"\x06\x02\x00\x02")
cm_enable = mpc(0x81, 0x7E, b"GLI1",
                puk(0x41, 0x02, b"\x00\x0b\x04\x01\x7e\x04\x05\x00\x01\x01\x08"
                    + b"\x00\x0c\x04\x02" + b"\xff" * 8))
setip4 = ipa(0xB1, 4, bytes([10, 1, 0, 5, 255, 255, 255, 0]) + bytes(4))
setip6 = ipa(0xB1, 6, bytes([0xFD] + [0] * 14 + [5]) + b"\xff" * 8 + bytes(8) + bytes(4))
setass = ipa(0xB3, 4, struct.pack(">IHHHBB", 0x10, 16, 3, 0, 0, 0) + struct.pack(">I", 1))
setadp = ipa(0xB8, 4, struct.pack(">IIHHIHBBI", 0, 0, 44, 0, 1, 0, 1, 1, 0) + bytes(20))

seeds = {
    "osa_control": {
        "senseid": b"\x00" + rec(2, 0xE4, 256) + rec(2, 0xFA, 128) + rec(2, 0x04, 32),
        "idx": b"\x00" + rec(0, 0x01, len(idx_read), idx_read) + rec(0, 0x02, 4096),
        "cm_enable": b"\x01" + rec(0, 0x02, 4096) + rec(1, 0x01, len(cm_enable), cm_enable),
        "ipa": b"\x03" + rec(1, 0x01, len(setip4), setip4) + rec(1, 0x01, len(setip6), setip6)
        + rec(1, 0x01, len(setass), setass) + rec(1, 0x01, len(setadp), setadp),
        "queues": b"\x02" + rec(2, 0x1B, 4096, b"\x00\x00\x00\x01\x00\x01\x00\x04\x00\x08\x00\x08")
        + rec(2, 0x1F, 0),
    },
}


def l3hdr(flags, length):
    return struct.pack(">BBHIHBBHH16x", 1, flags, 0, 0, length, 0, 0, 0, 0)


def udp4(src, dst, n):
    tot = 28 + n
    h = struct.pack(">BBHHHBBH4s4s", 0x45, 0, tot, 0, 0, 64, 17, 0, bytes(src), bytes(dst))
    return h + struct.pack(">HHHH", 1234, 5678, 8 + n, 0) + b"\x42" * n


def sbal(elems):
    out = b""
    for (flags, off, length) in elems:
        out += struct.pack(">BBBBIQ", flags, 0, 0, 0, length, off)
    return out + bytes(256 - len(out))


p1 = l3hdr(6, 68) + udp4([10, 1, 0, 1], [10, 1, 0, 2], 40)
p2 = l3hdr(4, 68) + udp4([10, 1, 0, 1], [224, 0, 0, 1], 40)
p3 = l3hdr(6, 68) + udp4([10, 1, 0, 1], [10, 1, 0, 9], 40)  # to the uplink-less void
arp_frame = b"\xff" * 6 + bytes([2, 0, 0, 0, 0, 1]) + b"\x08\x06" \
    + struct.pack(">HHBBH", 1, 0x0800, 6, 4, 1) + bytes([2, 0, 0, 0, 0, 1, 10, 1, 0, 1]) + bytes(6) \
    + bytes([10, 1, 0, 2])
arp_pt = l3hdr(0x15, len(arp_frame)) + arp_frame  # passthrough, broadcast


def obuf(q, elems, data, siga=True, gap=False):
    """One output buffer of fuzz_osa_sbal: queue q, its SBAL, its pages."""
    return bytes([q | (8 if siga else 0) | (4 if gap else 0)]) + sbal(elems) \
        + struct.pack(">H", len(data)) + data


tiny_in = sbal([(0, 0, 64)] * 7 + [(0x40, 4096, 4096)])
seeds["osa_sbal"] = {
    "one": b"\x00" + obuf(2, [(0x40, 0, len(p1))], p1),
    "packed": b"\x00" + obuf(2, [(0x00, 0, len(p1)), (0x40, 4096, len(p2))], p1 + bytes(4096 - len(p1)) + p2),
    "split": b"\x00" + obuf(2, [(0x04, 0, 32), (0x4C, 32, len(p1) - 32)], p1),
    "queues": b"\x01" + obuf(0, [(0x40, 0, len(p1))], p1, siga=False)
    + obuf(1, [(0x40, 0, len(p2))], p2, siga=False) + obuf(2, [(0x40, 0, len(p3))], p3, siga=False)
    + obuf(3, [(0x40, 0, len(p1))], p1),
    "chain": b"\x02" + b"".join(obuf(2, [(0x00, 0, len(p1)), (0x40, len(p1), len(p1))], p1 + p1,
                                      siga=(k % 4 == 3)) for k in range(24)),
    "gap": b"\x00" + obuf(2, [(0x40, 0, len(p1))], p1, siga=False) + obuf(2, [(0x40, 0, len(p1))], p1, siga=False, gap=True)
    + obuf(2, [(0x40, 0, len(p1))], p1),
    "b-input": b"\x04" + tiny_in + obuf(2, [(0x00, 0, len(p1)), (0x40, 4096, len(p2))], p1 + bytes(4096 - len(p1)) + p2),
    "passthru-arp": b"\x00" + obuf(2, [(0x40, 0, len(arp_pt))], arp_pt),
}



# ---- capture files (fuzz_capture) ----

def pcap(linktype, records, nano=True):
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = struct.pack("<IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)
    for i, r in enumerate(records):
        out += struct.pack("<IIII", 1700000000 + i, 1000 * i, len(r), len(r)) + r
    return out


def ng_block(btype, body):
    pad = body + bytes(-len(body) % 4)
    n = 12 + len(pad)
    return struct.pack("<II", btype, n) + pad + struct.pack("<I", n)


def pcapng(linktype, records):
    out = ng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    # if_tsresol 9: nanoseconds
    out += ng_block(1, struct.pack("<HHI", linktype, 0, 65535) + struct.pack("<HHB3x", 9, 1, 9)
                    + bytes(4))
    for i, r in enumerate(records):
        ts = 1700000000 * 10**9 + i
        out += ng_block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(r), len(r)) + r)
    return out


def udp6(src_last, dst_last, n):
    h = struct.pack(">IHBB", 0x60000000, 8 + n, 17, 64)
    h += bytes([0xFD] + [0] * 14 + [src_last]) + bytes([0xFD] + [0] * 14 + [dst_last])
    return h + struct.pack(">HHHH", 1234, 5678, 8 + n, 0) + b"\x42" * n


LAN_MAC = bytes([0x02, 0x11, 0x22, 0x33, 0x44, 0x55])
PEER_MAC = bytes([0x52, 0x54, 0x00, 0xAA, 0xBB, 0x01])
v4 = udp4([10, 0, 0, 9], [10, 0, 0, 1], 8)
v6 = udp6(9, 1, 8)


def eth(dst, src, etype, payload, tags=()):
    out = dst + src
    for (tpid, vid) in tags:
        out += struct.pack(">HH", tpid, vid)
    return out + struct.pack(">H", etype) + payload


arp_req = struct.pack(">HHBBH", 1, 0x0800, 6, 4, 1) + PEER_MAC + bytes([10, 0, 0, 9]) + bytes(6) \
    + bytes([10, 0, 0, 1])
sll = struct.pack(">HHH8sH", 0, 1, 6, PEER_MAC + bytes(2), 0x0800) + v4
sll2 = struct.pack(">HHIHBB8s", 0x86DD, 0, 2, 1, 0, 6, PEER_MAC + bytes(2)) + v6
seeds["capture"] = {
    "eth-vlan-qinq": pcap(1, [eth(LAN_MAC, PEER_MAC, 0x0800, v4 + bytes(20)),
                             eth(LAN_MAC, PEER_MAC, 0x86DD, v6, [(0x8100, 5)]),
                             eth(LAN_MAC, PEER_MAC, 0x0800, v4, [(0x88A8, 7), (0x8100, 5)]),
                             eth(LAN_MAC, PEER_MAC, 0x0806, arp_req),
                             eth(LAN_MAC, PEER_MAC, 0x8100, b"\x00")], nano=False),
    "sll": pcap(113, [sll, sll[:10]]),
    "sll2": pcap(276, [sll2, sll2[:20]]),
    "null": pcap(0, [struct.pack("<I", 2) + v4, struct.pack(">I", 30) + v6,
                     struct.pack("<I", 7) + v4, b"\x02"]),
    "raw": pcap(101, [v4, v6, b""]),
    "ng-eth": pcapng(1, [eth(LAN_MAC, PEER_MAC, 0x0800, v4), eth(LAN_MAC, PEER_MAC, 0x86DD, v6)]),
    "ng-raw": pcapng(101, [v4, v6]),
}

# ---- layer-2 frames (fuzz_l2_input) ----

def csum(data):
    if len(data) % 2:
        data += b"\x00"
    s = sum(struct.unpack(">%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def nd(mtype, src, dst, target, lla):
    m = bytes([mtype, 0, 0, 0]) + (b"\x60\x00\x00\x00" if mtype == 136 else bytes(4)) + target
    if lla:
        m += bytes([1 if mtype == 135 else 2, 1]) + lla
    ip = struct.pack(">IHBB", 0x60000000, len(m), 58, 255) + src + dst
    pseudo = src + dst + struct.pack(">IxxxB", len(m), 58)
    c = csum(pseudo + m)
    m = m[:2] + struct.pack(">H", c) + m[4:]
    return ip + m


def step(op, payload, quarters=0):
    return bytes([op | quarters << 2]) + struct.pack(">H", len(payload)) + payload


def a6(last, pfx=0xFD):
    return bytes([pfx] + [0] * 14 + [last]) if pfx == 0xFD else bytes([0xFE, 0x80] + [0] * 13 + [last])


solnode = bytes([0xFF, 2] + [0] * 9 + [1, 0xFF, 0, 0, 1])
ns = eth(bytes([0x33, 0x33, 0xFF, 0, 0, 1]), PEER_MAC, 0x86DD, nd(135, a6(9), solnode, a6(1), PEER_MAC))
na = eth(LAN_MAC, PEER_MAC, 0x86DD, nd(136, a6(9), a6(1), a6(9), PEER_MAC))
arp_reply = struct.pack(">HHBBH", 1, 0x0800, 6, 4, 2) + PEER_MAC + bytes([10, 0, 0, 9]) + LAN_MAC \
    + bytes([10, 0, 0, 1])
out4 = udp4([10, 0, 0, 1], [10, 0, 0, 9], 8)
out6 = udp6(1, 9, 8)
bcast = b"\xff" * 6
seeds["l2_input"] = {
    "arp": b"\x00" + step(0, eth(bcast, PEER_MAC, 0x0806, arp_req)),
    "resolve4": b"\x00" + step(1, out4) + step(1, out4) + step(0, eth(LAN_MAC, PEER_MAC, 0x0806,
                                                                         arp_reply))
    + step(2, b"", 4) + step(2, b"", 63) + step(2, b"", 63) + step(1, out4),
    "resolve6": b"\x00" + step(1, out6) + step(2, b"", 4) + step(0, na) + step(1, out6),
    "ns": b"\x00" + step(0, ns) + step(3, a6(1)) + step(3, bytes([10, 0, 0, 1])),
    "vlan": b"\x01" + step(0, eth(bcast, PEER_MAC, 0x0806, arp_req, [(0x8100, 5)]))
    + step(0, eth(LAN_MAC, PEER_MAC, 0x0800, v4, [(0x8100, 5)]))
    + step(0, eth(LAN_MAC, PEER_MAC, 0x0800, v4)),
    "gateways": b"\x3e" + step(1, udp4([10, 0, 0, 1], [192, 0, 2, 1], 8)) + step(1, out4)
    + step(1, udp4([10, 0, 0, 1], [10, 0, 0, 255], 8)) + step(1, udp4([10, 0, 0, 1], [224, 0, 0, 5], 8))
    + step(2, b"", 4) + step(2, b"", 4) + step(2, b"", 4) + step(2, b"", 4),
    "ip-in": b"\x40" + step(0, eth(LAN_MAC, PEER_MAC, 0x0800, v4 + bytes(18)))
    + step(0, eth(LAN_MAC, PEER_MAC, 0x86DD, v6)) + step(0, eth(LAN_MAC, PEER_MAC, 0x88CC, bytes(40))),
}

# A solicitation for B's address, passed through by A: the device answers it.
ns_frame = eth(bytes([0x33, 0x33, 0xFF, 0, 0, 2]), bytes([2, 0, 0, 0, 0, 1]), 0x86DD,
               nd(135, a6(1), bytes([0xFF, 2] + [0] * 9 + [1, 0xFF, 0, 0, 2]), a6(2), bytes([2, 0, 0, 0, 0, 1])))
ns_pt = l3hdr(0x10 | 4, len(ns_frame)) + ns_frame
seeds["osa_sbal"]["passthru-ns"] = b"\x00" + obuf(2, [(0x40, 0, len(ns_pt))], ns_pt)

# fuzz_osa_sbal_l2: the same buffers with layer-2 headers and Ethernet frames
# (A is port 0, MAC 02:67:6c:00:00:00; B port 1, 02:67:6c:00:00:01: the
# target's LAN has MAC prefix 02:67:6c; both on VLAN 10, B in group
# 33:33:00:00:00:01).
MAC_A = bytes([2, 0x67, 0x6C, 0, 0, 0])
MAC_B = bytes([2, 0x67, 0x6C, 0, 0, 1])


def l2hdr(cast, length, vid=0):
    return struct.pack(">BBBBBBHHH20x", 2, 0, 0, cast | (0x10 if vid else 0), 0, 0, length, 0, vid)


def l2pkt(dst, src, vid=0, payload=b"\x42" * 46, cast=4):
    f = dst + src + ((b"\x81\x00" + struct.pack(">H", vid)) if vid else b"") + b"\x08\x00" + payload
    return l2hdr(cast, len(f), vid) + f


u2 = l2pkt(MAC_B, MAC_A)
b2 = l2pkt(b"\xff" * 6, MAC_A, cast=2)
g2 = l2pkt(bytes([0x33, 0x33, 0, 0, 0, 1]), MAC_A, cast=1)
v2 = l2pkt(MAC_B, MAC_A, vid=10)
bad2 = l2pkt(MAC_B, MAC_A, vid=4095) + l2pkt(MAC_B, MAC_B) + l2hdr(4, 13) + MAC_B + MAC_A + b"\x08"


# The offloads in layer 2: a TCP datagram in a frame, its checksum left to
# the device (flags[1] 0x20), and a TSO frame (header id 6, its 32-byte
# extension, mss 1000) whose headers share the first element with it.
def tcp4(payload):
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 40 + len(payload), 1, 0x4000, 64, 6, 0,
                     bytes([10, 1, 0, 1]), bytes([10, 1, 0, 2]))
    return ip + struct.pack(">HHIIBBHHH", 40000, 5201, 1, 0, 0x50, 0x18, 512, 0, 0) + payload


f_csum = MAC_B + MAC_A + b"\x08\x00" + tcp4(bytes(range(256)) * 4)
csum2 = struct.pack(">BBBBBBHHH20x", 2, 0, 0x20, 4, 0, 0, len(f_csum), 0, 0) + f_csum
f_tso = MAC_B + MAC_A + b"\x08\x00" + tcp4(bytes(range(200)) * 15)
tso_ext = struct.pack(">HBBBBHIHH16x", 32, 1, 0, 1, 1, 28, len(f_tso) - 54, 1000, 54)
tso2 = struct.pack(">BBBBBBHHH20x", 6, 0, 0, 4, 0, 0, len(f_tso), 0, 0) + tso_ext + f_tso
seeds["osa_sbal_l2"] = {
    "csum": b"\x00" + obuf(2, [(0x40, 0, len(csum2))], csum2),
    "tso": b"\x00" + obuf(2, [(0x00, 0, 64 + 54), (0x40, 64 + 54, len(tso2) - 64 - 54)], tso2),
    "unicast": b"\x00" + obuf(2, [(0x40, 0, len(u2))], u2),
    "fanout": b"\x00" + obuf(2, [(0x00, 0, len(b2)), (0x40, 4096, len(g2))], b2 + bytes(4096 - len(b2)) + g2),
    "vlan": b"\x02" + obuf(2, [(0x40, 0, len(v2))], v2),
    "hostile": b"\x00" + obuf(2, [(0x40, 0, len(bad2))], bad2),
    "split": b"\x00" + obuf(2, [(0x04, 0, 32), (0x4C, 32, len(u2) - 32)], u2),
}

# ---- uplink specs (fuzz_uplink_spec) and glan replay's command line ----

seeds["uplink_spec"] = {
    "tun": b"tun glantun0 mtu 1500",
    "tap": b"tap glantap0 mtu 9000 mac 02:00:5e:10:00:01 vlan 5 gateway 10.0.0.254 "
           b"gateway fd00::fe onlink 10.0.0.0/24 onlink fd00::/64",
    "pcap": b"pcap eth0 mac 02-00-5E-10-00-01 vlan 4094 nopromisc buffer 4194304",
    "bad": b"TAP x mac 03:00:00:00:00:00 vlan 0 onlink 10.0.0.0/33 mtu 0x44",
}
seeds["replay_args"] = {
    "plain": b"--port\nA=10.0.0.1,fd00::1\n--port=B=10.0.0.2\n--group\nB=224.0.0.5\n"
             b"--send\nA:in.pcap\n--out\nout",
    "uplink": b"--port\nA=10.0.0.1\n--uplink\n--send\nuplink:in.pcap\n--send=A:x\n--out=d",
    "tun": b"--port\nA=10.0.0.1\n--uplink\ntun:glan0,mtu=1500\n--through-qdio\n--send\nA:f\n--out\no",
}


# fuzz_region: steps of one byte (low nibble the operation, high nibble the
# port) and their arguments; 0x0c mutates: area, offset (4 bytes, big
# endian), length - 1, the bytes (tests/fuzz/fuzz_region.c).
def rsend(frm, b, half_len):
    return bytes([0x00, frm, b, half_len])


def rmut(area, off, val):
    return bytes([0x0C, area]) + struct.pack(">I", off) + bytes([len(val) - 1]) + val


seeds["region"] = {
    "traffic": rsend(0, 0, 10) + rsend(1, 1, 20) + rsend(2, 2, 30) + rsend(0, 3, 40)
               + rsend(3, 3, 5) + bytes([0x09, 0x0A]),
    "refuse-kick": bytes([0x17, 1]) + rsend(0, 8, 10) * 10 + bytes([0x16, 0x17, 0])
                   + rsend(2, 1, 3) + bytes([0x09]),
    "batch-detach": bytes([0x05, 3]) + rsend(0, 1, 1) + rsend(0, 2, 1) + rsend(0, 0, 1)
                    + rsend(0, 3, 1) + bytes([0x18, 0x28]) + rsend(1, 1, 1) + bytes([0x0A, 0x09]),
    "txbuf": bytes([0x03, 0, 0, 10, 0x04, 1, 8, 200, 0x04, 3, 1, 0, 0x09]),
    "mut-cell": rsend(0, 8, 10) + bytes([0x17, 1]) + rsend(0, 8, 10)
                + rmut(6, 8 * 8 * 1, b"\xff\xff\x7f") + bytes([0x17, 0, 0x16, 0x09]),
    "mut-slot-len": bytes([0x17, 1]) + rsend(0, 8, 10) + rmut(8, 24, b"\xff\xff\x00\x00")
                    + bytes([0x17, 0, 0x16, 0x09, 0x18]),
    "mut-stack": rmut(9, 0, b"\xff\xff\xff\x00") + rmut(0, 8, b"\xff" * 8) + rsend(0, 1, 1) * 4
                 + bytes([0x09]),
    "mut-journal": rsend(0, 0, 1) + rmut(2, 4, b"\x03") + rmut(2, 8, b"\xff\xff\xff\xff")
                   + rsend(1, 1, 1) + bytes([0x0A, 0x09]),
    "mut-procs": rmut(1, 0, b"\x02") + bytes([0x0A]) + rsend(0, 1, 1) + bytes([0x09]),
    "mut-uplink": rmut(0, 0x20, b"\x07\x00\x00\x00") + rsend(0, 3, 1) + bytes([0x09]),
}



def tcp4(payload, dst=2, ihl=5, proto=6):
    """An IPv4 TCP datagram 10.1.0.1 -> 10.1.0.dst, checksums left open."""
    tcp = struct.pack(">HHIIBBHHH", 40000, 5201, 1, 1, 0x50, 0x18, 512, 0, 0)
    opts = bytes(4 * (ihl - 5))
    total = 4 * ihl + len(tcp) + payload
    ip = struct.pack(">BBHHHBBH4s4s", 0x40 | ihl, 0, total, 7, 0x4000, 64, proto, 0,
                     bytes([10, 1, 0, 1]), bytes([10, 1, 0, dst])) + opts
    return ip + tcp + bytes(i * 7 & 255 for i in range(payload))


def tcp6(payload, nh=6):
    tcp = struct.pack(">HHIIBBHHH", 40000, 5201, 1, 1, 0x50, 0x18, 512, 0, 0)
    ip = struct.pack(">IHBB", 0x60000000, len(tcp) + payload, nh, 64) \
        + bytes([0xfd] + [0] * 14 + [1]) + bytes([0xfd] + [0] * 14 + [2])
    return ip + tcp + bytes(i * 7 & 255 for i in range(payload))


def off(flags, mss, dgram):
    """An input of fuzz_offload: flags, MSS, the datagram."""
    return bytes([flags]) + struct.pack(">H", mss) + dgram


seeds["offload"] = {
    "tso4": off(0x01, 1448, tcp4(9000)),
    "tso4-whole": off(0x05, 1448, tcp4(9000)),
    "tso6": off(0x09, 1428, tcp6(9000)),
    "tso4-uplink": off(0x11, 1000, tcp4(5000)),
    "csum4": off(0x02, 0, tcp4(1000)),
    "csum6-verified": off(0x0e, 0, tcp6(1000)),
    "mss0": off(0x01, 0, tcp4(3000)),
    "mss-big": off(0x01, 5000, tcp4(3000)),
    "ip-options": off(0x01, 500, tcp4(3000, ihl=6)),
    "udp-tso": off(0x01, 500, tcp4(3000, proto=17)),
    "v6-ext": off(0x09, 500, tcp6(3000, nh=0)),
    "short": off(0x01, 100, tcp4(3000)[:200]),
}

# The OSA targets on a HIPERS LAN (FUZZ_IQD) start from the same inputs.
seeds["osa_control_iqd"] = seeds["osa_control"]
seeds["osa_sbal_iqd"] = seeds["osa_sbal"]

for target, files in seeds.items():
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name, blob in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(blob)
