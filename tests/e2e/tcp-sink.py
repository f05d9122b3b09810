#!/usr/bin/env python3
"""Take one TCP connection and say what came through it.

usage: tcp-sink.py PORT OUT [SECONDS]

Listens on PORT (all addresses), accepts one connection, reads it to its
end and writes "BYTES SHA256" to OUT, then exits 0; exits 1 when no
connection came within SECONDS (default 600).  The e2e case glan-pmtu runs
it on the host side of a TUN uplink, where the guest's busybox nc sends to
it, and compares the digest with the one the guest printed.  Python 3
standard library only.
"""
import hashlib
import socket
import sys


def main():
    port, out = int(sys.argv[1]), sys.argv[2]
    secs = float(sys.argv[3]) if len(sys.argv) > 3 else 600.0
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("", port))
    s.listen(1)
    s.settimeout(secs)
    try:
        c, _ = s.accept()
    except socket.timeout:
        print(f"tcp-sink: no connection on port {port} in {secs:.0f} s", file=sys.stderr)
        return 1
    c.settimeout(secs)
    h, n = hashlib.sha256(), 0
    while True:
        b = c.recv(1 << 16)
        if not b:
            break
        h.update(b)
        n += len(b)
    c.close()
    with open(out, "w") as f:
        f.write(f"{n} {h.hexdigest()}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
