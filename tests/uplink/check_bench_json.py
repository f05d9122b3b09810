#!/usr/bin/env python3
"""Smoke test of `glan bench --json`: runs a small bench and checks the shape
of what it prints (never a figure: the machine's speed is not under test).

usage: check_bench_json.py GLAN [extra bench arguments...]
With --qdio among the extra arguments the "qdio" rows (two simulated guests
through the OSA device model) must be there for every size; without it they
must not.
"""
import json
import math
import subprocess
import sys

SIZES = {64, 1472, 8972}


def fail(msg, out="", err=""):
    print("FAIL:", msg)
    if out:
        print("--- stdout\n" + out)
    if err:
        print("--- stderr\n" + err)
    sys.exit(1)


def main():
    cmd = [sys.argv[1], "bench", "--count", "small", "--json"] + sys.argv[2:]
    print("$", " ".join(cmd))
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    out, err = p.stdout, p.stderr
    if p.returncode != 0:
        fail("exit status %d" % p.returncode, out, err)
    try:
        doc = json.loads(out)
    except ValueError as e:
        fail("stdout is not one JSON document: %s" % e, out, err)
    if not isinstance(doc, dict) or set(doc) != {"results"} or not isinstance(doc["results"], list):
        fail('expected exactly {"results":[...]}', out, err)
    seen = {}
    for row in doc["results"]:
        if not isinstance(row, dict) or set(row) != {"path", "size", "pps", "gbps"}:
            fail("row %r: expected exactly path, size, pps, gbps" % (row,), out, err)
        if row["path"] not in ("base", "tun-kernel", "qdio"):
            fail("row %r: path must be base, qdio or tun-kernel" % (row,), out, err)
        if not isinstance(row["size"], int) or row["size"] not in SIZES:
            fail("row %r: size must be one of %s" % (row, sorted(SIZES)), out, err)
        for k in ("pps", "gbps"):
            v = row[k]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                fail("row %r: %s must be a positive number" % (row, k), out, err)
        # gbps is the datagram bytes of pps: the two must agree (to the
        # printed precision), whatever the machine's speed.
        want = row["pps"] * row["size"] * 8 / 1e9
        if abs(row["gbps"] - want) > 1e-3 + 1e-6 * want:
            fail("row %r: gbps is not pps * size * 8 / 1e9 (%g)" % (row, want), out, err)
        key = (row["path"], row["size"])
        if key in seen:
            fail("row %r appears twice" % (row,), out, err)
        seen[key] = row
    for s in SIZES:
        if ("base", s) not in seen:
            fail("no base row for %d bytes" % s, out, err)
    qdio = {s for (path, s) in seen if path == "qdio"}
    if "--qdio" in sys.argv[2:] and qdio != SIZES:
        fail("--qdio: qdio rows for %s, expected %s" % (sorted(qdio), sorted(SIZES)), out, err)
    if "--qdio" not in sys.argv[2:] and qdio:
        fail("qdio rows without --qdio", out, err)
    tun = {s for (path, s) in seen if path == "tun-kernel"}
    if tun and tun != SIZES:
        fail("tun-kernel rows for some sizes only: %s" % sorted(tun), out, err)
    if not tun and "skipped" not in err:
        fail("no tun-kernel rows and no message saying why", out, err)
    print(out.strip())
    if err.strip():
        print(err.strip())
    print("ok: %d rows%s" % (len(seen), "" if tun else " (tun-kernel path skipped)"))


if __name__ == "__main__":
    main()
