#!/usr/bin/env bash
# The main job: builds guestlan and shows a LAN at work.
#
# With a built SDL Hyperion (HERCULES_SOURCE_DIR and HERCULES_PREFIX, or the
# per-user default ~/.local/share/guestlan/hyperion: tests/find-hyperion.sh,
# the same detection as tests/run.sh) it builds the module
# hdtglan and boots a real Debian s390x guest (tests/e2e: kernel and busybox
# from Debian, cached) with samples/two-glan.cnf: two GLAN interfaces on
# LAN1, brought up by the stock qeth_l3 driver with samples/guest-setup.sh,
# the second in a network namespace of its own inside the guest.  The
# guest's two addresses ping each other through LAN1, and `glan query LAN1`
# at the Hercules panel shows both ports, their addresses and counters.
#
# Without Hyperion (or when the guest cannot be had) it runs `glan demo`:
# the same LAN1 with two simulated Linux qeth guests of the device model
# (src/simguest) over the full QDIO path, and as root a TUN uplink in a
# network namespace, pinging each other and the host, then the same query.
#
# GLAN_DEMO=sim forces the simulated run; GLAN_DEMO=hercules fails instead
# of falling back.  Then, either way, the replay of a small capture and the
# base's forwarding rate (`glan replay`, `glan bench`).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/tests/deps.sh"
mode=${GLAN_DEMO:-auto}

. "$top/tests/find-hyperion.sh"
herc=()
if [ "$mode" != sim ] && [ -n "${HERCULES_SOURCE_DIR:-}" ] && [ -n "${HERCULES_PREFIX:-}" ] &&
  [ -x "$HERCULES_PREFIX/bin/hercules" ]; then
  herc=("-DHERCULES_SOURCE_DIR=$HERCULES_SOURCE_DIR" "-DHERCULES_PREFIX=$HERCULES_PREFIX")
fi
if [ "$mode" = hercules ] && ((${#herc[@]} == 0)); then
  echo "guestlan demo: GLAN_DEMO=hercules, but $hyperion_why"
  exit 1
fi

build="$top/build-demo"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release "${herc[@]}" >/dev/null
targets=(--target glan)
((${#herc[@]})) && targets+=(--target hdtglan)
cmake --build "$build" -j"$(nproc)" "${targets[@]}" >/dev/null
glan="$build/src/tools/glan"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

hercules_demo() {
  echo "== a real Linux guest under SDL Hyperion ($HERCULES_PREFIX) on LAN1 (samples/two-glan.cnf)"
  local guest="$top/build-demo/guest"
  if [ ! -f "$guest/initrd.img" ] || [ "$top/tests/e2e/guest/init.sh" -nt "$guest/initrd.img" ] ||
    [ "$top/tests/e2e/guest/lib.sh" -nt "$guest/initrd.img" ] ||
    [ "$top/samples/guest-setup.sh" -nt "$guest/initrd.img" ]; then
    sh "$top/tests/e2e/build-initramfs.sh" "$guest" || return $?
  fi
  echo "   booting Debian's s390x kernel (about 30 s on the emulated CPU) ..."
  local rc=0
  HERCULES_PREFIX=$HERCULES_PREFIX python3 "$top/tests/e2e/boot.py" --guest "$guest" \
    --module-dir "$build/src/hercules" --run "$build/demo-run" --timeout 300 \
    --config samples/two-glan.cnf \
    --params "glan_ifs=0.0.0600/10.1.1.2/24,0.0.0610/10.1.1.3/24/ns glan_ping=10.1.1.3 glan_ping_ns=10.1.1.2 glan_hold=1" \
    --on "READY=glan query LAN1" \
    --expect 'PING~^root 10\.1\.1\.3 tx=5 rx=5 ' --expect 'PING~^ns 10\.1\.1\.2 tx=5 rx=5 ' \
    --expect DONE >"$work/boot.json" || rc=$?
  python3 - "$build/demo-run/summary.json" <<'PY'
import json, re, sys
s = json.load(open(sys.argv[1]))
print(f"   guest kernel command line: {s['cmdline']}")
for e in s["events"]:
    if e["mark"] in ("USERSPACE", "IF", "PING"):
        print(f"   {e['t']:7.1f} s  @@ {e['mark']} {e['text']}")
print("-- glan query LAN1 at the Hercules panel:")
for line in open(s["log"]):
    m = re.search(r"HHC04720I (.*)$", line)
    if m:
        print("   " + m.group(1))
print("   (whole run %.0f s; log %s)" % (s["wall_s"], s["log"]))
PY
  if [ $rc = 0 ]; then
    echo "-- the guest's interfaces pinged each other 5/5 both ways through LAN1"
  else
    echo "-- the Hyperion run did not complete (boot.py exit $rc): $(cat "$work/boot.json" | head -c 400)"
  fi
  return $rc
}

sim_demo() {
  echo "== LAN1 with two simulated Linux qeth guests over the full QDIO path (glan demo)"
  if ((${#herc[@]} == 0)); then
    if [ "$mode" = sim ]; then
      echo "   (GLAN_DEMO=sim: the simulated run even if Hyperion is here)"
    else
      echo "   ($hyperion_why)"
    fi
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "   (not root: the TUN uplink part is skipped)"
  fi
  "$glan" demo
}

status=0
if ((${#herc[@]})); then
  rc=0
  hercules_demo || rc=$?
  if [ $rc = 77 ] && [ "$mode" != hercules ]; then
    echo "-- no guest could be had (skipped above): the simulated run instead"
    sim_demo || status=1
  elif [ $rc != 0 ]; then
    status=1
  fi
else
  sim_demo || status=1
fi

python3 "$top/samples/make-traffic.py" "$work"
echo "== glan replay: guests A and B and an uplink on LAN1"
set -x
"$glan" replay --port A=10.1.0.1,fd00:1::1 --port B=10.1.0.2,fd00:1::2 --uplink \
  --send A:"$work/guest-a.pcap" --send B:"$work/guest-b.pcap" \
  --send uplink:"$work/network.pcap" --out "$work/out"
{ set +x; } 2>/dev/null
for p in A B uplink; do
  echo "-- what $p received ($p.pcap, read by tshark):"
  tshark -r "$work/out/$p.pcap" -n 2>/dev/null | sed 's/^/   /'
done
echo "-- LAN counters (counters.json):"
python3 - "$work/out/counters.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
lan = c.get("lan", c)
print("   " + json.dumps(lan, sort_keys=True))
PY
echo "== glan bench (the base's guest-to-guest rate, 1 s per size)"
"$glan" bench --seconds 1
exit $status
