#!/usr/bin/env python3
"""Write the seed corpus of the OSA fuzz targets (tests/fuzz/corpus/).

The control blocks are built from the layouts in include/osa/guestlan/osa_wire.h, as
the simulated guest builds them; run from anywhere, rerun after a format
change and commit the result."""
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
seeds["osa_sbal"] = {
    "one": sbal([(0x40, 0, len(p1))]) + p1,
    "packed": sbal([(0x00, 0, len(p1)), (0x40, 4096, len(p2))]) + p1 + bytes(4096 - len(p1)) + p2,
    "split": sbal([(0x04, 0, 32), (0x4C, 32, len(p1) - 32)]) + p1,
}

for target, files in seeds.items():
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name, blob in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(blob)
