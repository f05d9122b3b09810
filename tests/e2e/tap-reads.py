#!/usr/bin/env python3
"""Check that a TAP uplink read only what arrived (e2e.glan-tap-bridge).

usage: tap-reads.py RUN_DIR
RUN_DIR holds console.log (boot.py) and tapstats.txt, written by a host
command right after the panel's last `glan query LAN1`: the TAP device's
transmit counter (the frames the kernel handed to its reader).  The query's
uplink line gives what the uplink read: packets handed to the LAN, frames
skipped (ARP, ND, not ours) and errors.  The two must agree to within the
frames that arrived between the query and the host command; a receive loop
that reads or counts when nothing arrived leaves thousands more.  The
query's receive-thread line must show (almost) no wakeup that found nothing.
Python 3 standard library only.
"""
import re
import sys

SLACK = 8  # frames that may arrive between the query and the host's reading


def main():
    run = sys.argv[1]
    log = open(f"{run}/console.log", encoding="latin-1").read()
    lines = re.findall(r"HHC04720I     To the network (\d+) packets \d+ bytes, (\d+) errors; "
                       r"from it (\d+) packets \d+ bytes, (\d+) skipped, (\d+) errors", log)
    if not lines:
        print("FAIL: no uplink counters in the glan query output")
        return 1
    _, _, rx, skipped, errors = (int(x) for x in lines[-1])
    reads = rx + skipped + errors
    kernel = int(open(f"{run}/tapstats.txt").read().split()[0])
    print(f"uplink: {rx} packets to the LAN, {skipped} skipped, {errors} errors = {reads} reads; "
          f"the kernel handed the TAP {kernel} frames")
    if reads > kernel or kernel - reads > SLACK:
        print(f"FAIL: {reads} reads for {kernel} frames")
        return 1
    woken = re.findall(r"HHC04720I     Receive thread: woken (\d+) times with frames to read, "
                       r"(\d+) of them found none", log)
    if not woken:
        print("FAIL: no receive-thread line in the glan query output")
        return 1
    wakeups, empty = (int(x) for x in woken[-1])
    print(f"receive thread: woken {wakeups} times, {empty} of them for nothing")
    if wakeups < 1 or empty * 10 > wakeups:
        print("FAIL: the receive thread woke for nothing")
        return 1
    print("ok: every read was a frame that arrived")
    return 0


if __name__ == "__main__":
    sys.exit(main())
