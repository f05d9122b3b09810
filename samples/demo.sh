#!/usr/bin/env bash
# The main job: builds guestlan and shows a LAN at work.  Two guests (A, B)
# and an uplink on LAN1: A and B ping each other over IPv4 and IPv6 through
# the base, A reaches a host outside, the outside answers A, and a datagram for
# an address no guest registered is dropped and counted.  Then the base's
# forwarding rate.  (The guests here are the replay tool's recording ports;
# real Linux guests under Hercules come with hdtglan: see README.md.)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/tests/deps.sh"
build="$top/build-demo"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target glan >/dev/null
glan="$build/src/tools/glan"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

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
