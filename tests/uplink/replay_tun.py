#!/usr/bin/env python3
"""glan replay --uplink tun:NAME against a real TUN device in a namespace.

Every replay scenario (tests/replay/scenarios) that gives the LAN an uplink,
expects success and does not send from the uplink is run twice in a network
namespace this test makes: once with the pcap file uplink (plain --uplink),
once with the uplink a real TUN device (--uplink tun:glrp0).  What the LAN
sends out must arrive on the host's side: uplink.pcap of the TUN run (what
the host received on the device, captured there) holds the same datagrams,
in the same order, as the pcap file uplink recorded, the host's interface
counters (/proc/net/dev, the namespace's IP stack) saw as many packets, and
every guest's recording and every counter other than the uplink's kind are
the same.  The device has IPv6 off so that the host sends nothing of its own
(router solicitations, MLD reports) into the LAN during the run.

Exit 0 passed, 1 failed, 77 skipped (not root, no namespaces, no ip).
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys

SKIP = 77
DEV = "glrp0"


def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True)


def rx_packets(dev):
    with open("/proc/net/dev") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name.strip() == dev:
                return int(rest.split()[1])
    return -1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--glan", required=True)
    ap.add_argument("--scenarios", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    a.glan = os.path.abspath(a.glan)
    if os.geteuid() != 0:
        print("SKIP: needs root to create a network namespace and a TUN device")
        return SKIP
    if shutil.which("ip") is None or shutil.which("unshare") is None:
        print("SKIP: needs ip (iproute2) and unshare")
        return SKIP
    if not os.environ.get("GLAN_IN_NETNS"):
        # Everything below runs in a network namespace of our own.
        env = dict(os.environ, GLAN_IN_NETNS="1")
        if os.path.isdir(a.work):
            shutil.rmtree(a.work)
        r = subprocess.run(["unshare", "-n", sys.executable] + sys.argv, env=env)
        if r.returncode == 1 and not os.path.exists(os.path.join(a.work, ".ran")):
            print("SKIP: cannot create a network namespace")
            return SKIP
        return r.returncode

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "replay"))
    import replaytest as rt

    if os.path.isdir(a.work):
        shutil.rmtree(a.work)
    os.makedirs(a.work)
    open(os.path.join(a.work, ".ran"), "w").close()
    for cmd in ("ip link set lo up", "ip tuntap add dev %s mode tun" % DEV,
                "sysctl -qw net.ipv6.conf.%s.disable_ipv6=1" % DEV, "ip link set %s up" % DEV):
        r = sh(cmd)
        if r.returncode != 0:
            print("SKIP: %s: %s" % (cmd, r.stderr.strip()))
            return SKIP

    failures = 0
    ran = 0
    for path in sorted(glob.glob(os.path.join(a.scenarios, "*.json"))):
        with open(path) as f:
            sc = json.load(f)
        for n, case in enumerate(sc.get("cases", [sc])):
            args = case.get("args", [])
            exp = case.get("expect", {})
            if "--uplink" not in args or exp.get("status", 0) != 0 or "--through-qdio" in args:
                continue
            if any("uplink:" in x for x in args):
                continue  # sending from the network needs the pcap file uplink
            label = "%s[%s]" % (os.path.basename(path)[:-5], case.get("name", n))
            inputs = sc.get("inputs", {}) | case.get("inputs", {})
            fails = []
            outs = {}
            for mode in ("file", "tun"):
                d = os.path.join(a.work, label, mode)
                os.makedirs(d)
                for name, spec in inputs.items():
                    rt.write_input(os.path.join(d, name), spec)
                margs = list(args)
                if mode == "tun":
                    margs[margs.index("--uplink")] = "--uplink=tun:" + DEV
                before = rx_packets(DEV)
                r = subprocess.run([a.glan, "replay"] + margs, cwd=d, capture_output=True,
                                   text=True, timeout=120)
                if r.returncode != 0:
                    fails.append("%s run: status %d: %s" % (mode, r.returncode, r.stderr.strip()))
                    break
                out = os.path.join(d, "out")
                files = {}
                for fn in sorted(os.listdir(out)):
                    with open(os.path.join(out, fn), "rb") as fh:
                        files[fn] = fh.read()
                outs[mode] = (files, rx_packets(DEV) - before)
            if len(outs) == 2:
                (ff, _), (ft, host_rx) = outs["file"], outs["tun"]
                if set(ff) != set(ft):
                    fails.append("files %s with the file uplink, %s with tun" % (
                        sorted(ff), sorted(ft)))
                for fn in sorted(set(ff) & set(ft)):
                    if fn == "counters.json":
                        cf, ct = json.loads(ff[fn]), json.loads(ft[fn])
                        if ct["uplink"]["kind"] != "tun":
                            fails.append("uplink kind %r" % ct["uplink"]["kind"])
                        cf["uplink"]["kind"] = ct["uplink"]["kind"]
                        fa, fb = rt.flatten(cf), rt.flatten(ct)
                        for k in sorted(set(fa) | set(fb)):
                            if fa.get(k) != fb.get(k):
                                fails.append("counters %s: %r file, %r tun" % (
                                    k, fa.get(k), fb.get(k)))
                        sent = ct["uplink"]["tx_packets"]
                        if host_rx != sent:
                            fails.append("the host's %s received %d packets, the uplink sent %d"
                                         % (DEV, host_rx, sent))
                    elif fn == "uplink.pcap":
                        _, rf = rt.read_pcap_bytes(ff[fn])
                        _, rtun = rt.read_pcap_bytes(ft[fn])
                        if [b for _, b in rf] != [b for _, b in rtun]:
                            fails.append("uplink.pcap: the host received %s, the file uplink "
                                         "recorded %s" % ([rt.ip_dst(b) for _, b in rtun],
                                                          [rt.ip_dst(b) for _, b in rf]))
                    elif ff[fn] != ft[fn]:
                        fails.append("%s differs" % fn)
            ran += 1
            for m in fails:
                print("FAIL %s: %s" % (label, m))
            if not fails:
                n_out = len(rt.read_pcap_bytes(outs["tun"][0].get("uplink.pcap", b""))[1])
                print("ok   %s: %d datagrams out through %s, received by the host" % (
                    label, n_out, DEV))
            failures += bool(fails)
    if ran == 0:
        print("FAIL: no scenario with an uplink found in %s" % a.scenarios)
        return 1
    print("%s (%d scenarios)" % ("FAILED" if failures else "PASSED", ran))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
