#!/usr/bin/env python3
"""Write the small captures samples/demo.sh replays through a LAN.

guest-a.pcap: guest A (10.1.0.1, fd00:1::1) pings B over IPv4 and IPv6, and
              sends one datagram to a host outside the LAN (192.0.2.50).
guest-b.pcap: guest B (10.1.0.2, fd00:1::2) answers both pings.
network.pcap: from the outside network: one datagram for A, one for an
              address no guest registered (dropped and counted).
All DLT_RAW, microsecond timestamps, standard library only.
"""
import ipaddress
import struct
import sys


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, payload):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0,
                      ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def ipv6(src, dst, nh, payload):
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload), nh, 64,
                       ipaddress.IPv6Address(src).packed, ipaddress.IPv6Address(dst).packed) + payload


def icmp4(src, dst, typ, seq):
    body = struct.pack("!BBHHH", typ, 0, 0, 0x4c41, seq) + b"guestlan demo ping"
    body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
    return ipv4(src, dst, 1, body)


def icmp6(src, dst, typ, seq):
    body = struct.pack("!BBHHH", typ, 0, 0, 0x4c41, seq) + b"guestlan demo ping"
    pseudo = (ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed +
              struct.pack("!I3xB", len(body), 58))
    body = body[:2] + struct.pack("!H", csum(pseudo + body)) + body[4:]
    return ipv6(src, dst, 58, body)


def udp4(src, dst, sport, dport, data):
    return ipv4(src, dst, 17, struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data)


def write(path, packets):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
        for t, p in packets:
            f.write(struct.pack("<IIII", int(t), int((t % 1) * 1e6), len(p), len(p)) + p)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    t0 = 1700000000.0
    write(f"{out}/guest-a.pcap", [
        (t0 + 0.001, icmp4("10.1.0.1", "10.1.0.2", 8, 1)),
        (t0 + 0.003, icmp6("fd00:1::1", "fd00:1::2", 128, 1)),
        (t0 + 0.005, udp4("10.1.0.1", "192.0.2.50", 40000, 7000, b"to the outside")),
    ])
    write(f"{out}/guest-b.pcap", [
        (t0 + 0.002, icmp4("10.1.0.2", "10.1.0.1", 0, 1)),
        (t0 + 0.004, icmp6("fd00:1::2", "fd00:1::1", 129, 1)),
    ])
    write(f"{out}/network.pcap", [
        (t0 + 0.006, udp4("192.0.2.50", "10.1.0.1", 7000, 40000, b"answer from outside")),
        (t0 + 0.007, udp4("192.0.2.77", "10.1.0.99", 9, 9, b"for nobody here")),
    ])


main()
