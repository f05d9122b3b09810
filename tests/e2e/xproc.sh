#!/bin/sh
# e2e case glan-xproc: one LAN shared by two Hercules processes (issue 6).
# Each process boots the test guest (tests/e2e/guest/xproc-init.sh as its
# /init) with one GLAN interface on LAN1, defined with
# `glan define LAN1 shared NAME`: process A (0600, 10.1.9.1) listens, process
# B (0700, 10.1.9.2), started once A's interface is online, pings A, A pings
# B, B sends 4 MiB of random data over TCP and the SHA-256 of what A received
# must equal what B sent.  No host network configuration: the datagrams cross
# the processes through the base in shared memory.  `glan query LAN1` in each
# must show both ports (the other's with its pid; A asks after its pings,
# while B is surely up, and at the end), and the trace A ran
# (`glan trace LAN1 start FILE`) must open in tshark and hold the pings.
# Exit 0 pass, 1 fail, 77 skipped with a line saying what is missing.
# Environment: as tests/e2e/e2e.sh; GLAN_XPROC_MIB the MiB to send (default
# 4; docs/benchmarks.md used 16); GLAN_XPROC_TRANSPORT=ethernet makes LAN1 a
# LAN of transport ETHERNET and the guests layer 2 (qeth's default), and
# `glan query` must then show each port's MAC (case glan-xproc-l2);
# GLAN_XPROC_TYPE=hipers makes LAN1 a LAN of type HIPERS: both guests have
# HiperSockets cards set online with neither layer2 nor an MTU set, which
# must come up as HiperSockets at MTU 57344 and ping over IPv6 as well (case
# glan-xproc-hipers).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
transport=${GLAN_XPROC_TRANSPORT:-ip}
run=${GLAN_RUN_DIR:-$PWD/e2e-run}/glan-xproc
layer=layer3
addr_a="HHC04720I     Addresses:.* 10\.1\.9\.1( |\$)"
addr_b="HHC04720I     Addresses:.* 10\.1\.9\.2( |\$)"
if [ "$transport" = ethernet ]; then
    run=$run-l2
    layer=default
    # the MACs LAN1 hands out: its prefix (02 and a hash of the name LAN1)
    # and the port's number
    addr_a="HHC04720I     MACs: 02:38:3b:b6:00:00"
    addr_b="HHC04720I     MACs: 02:38:3b:b6:00:01"
fi
type=${GLAN_XPROC_TYPE:-qdio}
kind=$transport
define_type=
if_a='IF~ ok'
if_b='IF~ ok'
v6_a=
v6_b=
ping6_a='IF~ ok'
ping6_b='IF~ ok'
if [ "$type" = hipers ]; then
    run=$run-hipers
    layer=default
    kind="ip, type hipers, mfs 64k"
    define_type="type hipers"
    if_a='IF~ ok card=HiperSockets mtu=57344'
    if_b=$if_a
    v6_a="glan_addr6=fd00:9::1/64 glan_peer6=fd00:9::2"
    v6_b="glan_addr6=fd00:9::2/64 glan_peer6=fd00:9::1"
    ping6_a='PING6~^fd00:9::2 tx=5 rx=5 '
    ping6_b='PING6~^fd00:9::1 tx=5 rx=5 '
fi

. "$here/lib.sh"
need_hercules
need_module
need_root "glan-xproc: the guest build and the e2e run directory"
need_guest

rm -rf "$run"
mkdir -p "$run/guest" "$run/root"
# The test initramfs with xproc-init.sh appended as /init (the kernel
# unpacks concatenated archives in order; the later /init wins).
cp "$here/guest/xproc-init.sh" "$run/root/init"
chmod 755 "$run/root/init"
cp "$guest/kernel.img" "$run/guest/kernel.img"
sh "$here/newc.sh" "$run/root" "$run/init.cpio.gz" ./init
cat "$guest/initrd.img" "$run/init.cpio.gz" >"$run/guest/initrd.img"

shm=glanxp$$
mib=${GLAN_XPROC_MIB:-4}
bytes=$((mib * 1048576))
pids=
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    rm -f "/dev/shm/$shm"
}
trap cleanup EXIT

shift_boot() {
    who=$1 limit=$2
    shift 2
    python3 "$here/boot.py" --guest "$run/guest" --run "$run/$who" --timeout "$limit" "$@" \
        >"$run/$who.json" 2>&1
}

t0=$(date +%s)
shift_boot a 420 \
    --cfg "glan define LAN1 shared $shm ports 8 buffers 512 transport $transport $define_type" \
    --dev "0600.3 GLAN LAN1" \
    --params "glan_if=0.0.0600/10.1.9.1/24 glan_peer=10.1.9.2 glan_role=listen glan_hold=25 glan_layer=$layer $v6_a" \
    --on "START=glan trace LAN1 start $run/trace.pcap" \
    --on "PING=glan query LAN1" \
    --on "READY=glan query LAN1" --on "READY=glan trace LAN1 stop" \
    --expect "$if_a" --expect 'PING~tx=5 rx=5 ' --expect "$ping6_a" \
    --expect "TCP~^received bytes=$bytes " --expect DONE \
    --expect-log "HHC04716I GLAN: LAN 'LAN1' shared as '/$shm' \(created\): .*, transport $kind" \
    --expect-log "HHC04717I GLAN: LAN 'LAN1' trace to '.*trace.pcap' started" \
    --expect-log "HHC04720I   Port [0-9]+ '0:0600' guest devices 0600 0601 0602 pid [0-9]+ \(this process\)" \
    --expect-log "HHC04720I   Port [0-9]+ '0:0700' guest \(of another process\) pid [0-9]+" \
    --expect-log "$addr_b" \
    --expect-log "HHC04718I GLAN: LAN 'LAN1' trace to .* stopped: [1-9][0-9]* datagrams written" &
pids="$pids $!"
pa=$!

# B once A's interface is online (two kernels decompressing at once on a
# small machine made the first boots time out), or after 150 s at most.
wait_for_line 150 1 "$run/a/console.log" '@@ IF '
echo "glan-xproc: starting B after ${waited}s"
shift_boot b 360 \
    --cfg "glan define LAN1 shared $shm" --dev "0700.3 GLAN LAN1" \
    --params "glan_if=0.0.0700/10.1.9.2/24 glan_peer=10.1.9.1 glan_role=send glan_tcp=$mib glan_hold=3 glan_layer=$layer $v6_b" \
    --on "READY=glan query LAN1" \
    --expect "$if_b" --expect 'PING~tx=5 rx=5 ' --expect "$ping6_b" \
    --expect "TCP~^sent bytes=$bytes rc=0 " --expect DONE \
    --expect-log "HHC04716I GLAN: LAN 'LAN1' shared as '/$shm' \(attached to\): .*, transport $kind" \
    --expect-log "HHC04720I   Shared as '/$shm' \(attached by this process" \
    --expect-log "HHC04720I   Port [0-9]+ '0:0600' guest \(of another process\) pid [0-9]+" \
    --expect-log "HHC04720I   Port [0-9]+ '0:0700' guest devices 0700 0701 0702 pid [0-9]+ \(this process\)" \
    --expect-log "$addr_a" &
pids="$pids $!"
pb=$!
ra=0 rb=0
wait $pb || rb=$?
wait $pa || ra=$?
pids=
echo "glan-xproc: A rc=$ra, B rc=$rb, $(($(date +%s) - t0)) s"

# What the two guests said, and the verdict.
python3 - "$run" "$ra" "$rb" "$mib" <<'EOF'
import json, re, subprocess, shutil, sys, os
run, ra, rb, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
ok = True
res = {}
for who in ("a", "b"):
    try:
        with open(os.path.join(run, who, "summary.json")) as f:
            res[who] = json.load(f)
    except (OSError, ValueError):
        print(f"FAIL: no summary of {who}:")
        print(open(os.path.join(run, who + ".json")).read()[-3000:])
        sys.exit(1 if (ra, rb) != (77, 77) else 77)
    s = res[who]
    if s.get("missing"):
        ok = False
        print(f"FAIL {who}: missing {s['missing']} (log {s['log']})")
    for e in s["events"]:
        if e["mark"] in ("IF", "UP", "PING", "PING6", "TCP"):
            print(f"{who}: {e['mark']} {e['text']}")
def tcp(who):
    for e in res[who]["events"]:
        if e["mark"] == "TCP":
            m = re.search(r"sha256=(\S+)", e["text"])
            return m.group(1) if m else None
    return None
sa, sb = tcp("a"), tcp("b")
if not sa or sa != sb:
    ok = False
    print(f"FAIL: SHA-256 received {sa} != sent {sb}")
else:
    rate = ""
    for e in res["a"]["events"]:
        m = re.search(r"bytes=(\d+) first=([\d.]+) last=([\d.]+)", e["text"])
        if e["mark"] == "TCP" and m and float(m.group(3)) > float(m.group(2)):
            secs = float(m.group(3)) - float(m.group(2))
            rate = f", {int(m.group(1)) / secs / 1e6:.2f} MB/s at the receiver ({secs:.2f} s)"
    print(f"TCP: {mib} MiB, SHA-256 equal at both ends ({sa[:16]}...){rate}")
pcap = os.path.join(run, "trace.pcap")
if not shutil.which("tshark"):
    ok = False
    print("FAIL: no tshark to read the trace (tests/deps.sh installs it)")
elif not os.path.exists(pcap):
    ok = False
    print("FAIL: no trace file")
else:
    r = subprocess.run(["tshark", "-r", pcap, "-Y", "icmp", "-T", "fields", "-e", "ip.src",
                        "-e", "ip.dst", "-e", "icmp.type"], capture_output=True, text=True)
    rows = [l.split("\t") for l in r.stdout.splitlines()]
    req = sum(1 for x in rows if x == ["10.1.9.1", "10.1.9.2", "8"])
    rep = sum(1 for x in rows if x == ["10.1.9.1", "10.1.9.2", "0"])
    print(f"trace: tshark rc={r.returncode}, {len(rows)} ICMP datagrams from A's port, "
          f"{req} echo requests A->B, {rep} echo replies A->B")
    if r.returncode != 0 or req < 5 or rep < 5:
        ok = False
        print("FAIL: the trace does not hold the pings: " + r.stderr[-500:])
print("glan-xproc:", "pass" if ok else "FAIL")
sys.exit(0 if ok else 1)
EOF
