#!/bin/sh
# e2e case glan-xproc-kill: a Hercules process that holds a shared LAN's
# uplink is killed (SIGKILL); the other process carries on, its `glan query`
# shows the dead process's ports gone, and the uplink moves to it: its own
# statement named the same uplink, which it kept as a standby while B held
# it.  Then `glan uplink none` and `glan uplink` by hand.  No guest is
# booted (boot.py --no-ipl): the processes only define the LAN and attach
# their interfaces.
#   B: glan define LAN1 shared NAME uplink tun glxk0, 0700.3 GLAN LAN1
#   A: the same with 0600.3; queries, kills B's Hercules, queries again
#      (its uplink tun glxk0 up), glan uplink LAN1 none, glan uplink LAN1
#      tun glxkA, queries.
# Both run in a network namespace the test creates (the TUN devices stay
# out of the host's stack).  Exit 0 pass, 1 fail, 77 skipped (no Hyperion,
# no module, not root).  Environment: as tests/e2e/e2e.sh.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
run=${GLAN_RUN_DIR:-$PWD/e2e-run}/glan-xproc-kill

. "$here/lib.sh"
need_hercules
need_module
need_root tun "glan-xproc-kill: TUN uplinks in a namespace"
ns=glanxk$$
ip netns add $ns || { echo "skipped: cannot create a network namespace"; exit 77; }
shm=glanxk$$
bpid=
cleanup() {
    [ -n "$bpid" ] && kill "$bpid" 2>/dev/null
    ip netns del $ns 2>/dev/null
    rm -f "/dev/shm/$shm"
}
trap cleanup EXIT
rm -rf "$run"
mkdir -p "$run"

# B: holds the uplink; stays up (its START host command sleeps 15 s; A is
# done in about 8) until A kills it.
python3 "$here/boot.py" --no-ipl --run "$run/b" --timeout 60 --netns $ns \
    --cfg "glan define LAN1 shared $shm ports 8 buffers 256 uplink tun glxk0" \
    --dev "0700.3 GLAN LAN1" --on "START=!sleep 15" \
    --expect-log "HHC04714I GLAN: LAN 'LAN1' uplink tun 'glxk0' attached" >"$run/b.json" 2>&1 &
bpid=$!
wait_for_line 100 0.1 "$run/b/console.log" "HHC04700I 0:0700"
# B's Hercules: a descendant of its boot.py (under `ip netns exec`).
herc=
kids=$bpid
while [ -n "$kids" ] && [ -z "$herc" ]; do
    next=
    for k in $kids; do
        for c in $(pgrep -P "$k" || true); do
            case $(readlink "/proc/$c/exe" 2>/dev/null) in */hercules) herc=$c ;; esac
            next="$next $c"
        done
    done
    kids=$next
done
if [ -z "$herc" ]; then
    echo "FAIL: B's Hercules did not start (run $run/b)"
    exit 1
fi
echo "glan-xproc-kill: B is Hercules pid $herc"

python3 "$here/boot.py" --no-ipl --run "$run/a" --timeout 60 --netns $ns \
    --cfg "glan define LAN1 shared $shm uplink tun glxk0" --dev "0600.3 GLAN LAN1" \
    --on "START=glan query LAN1" --on "START=!sleep 1" \
    --on "START=!kill -9 $herc" --on "START=!sleep 1" \
    --on "START=glan query LAN1" --on "START=glan uplink LAN1 none" \
    --on "START=glan uplink LAN1 tun glxkA" \
    --on "START=!sleep 1" --on "START=glan query LAN1" \
    --expect-log "HHC04716I GLAN: LAN 'LAN1' shared as '/$shm' \(attached to\)" \
    --expect-log "HHC04720I   Uplink: port [0-9]+ 'uplink' held by process $herc" \
    --expect-log "HHC04713I GLAN: LAN 'LAN1' uplink is held by process $herc; this process takes it over with 'tun glxk0'" \
    --expect-log "HHC04720I   Uplink standby: 'tun glxk0'" \
    --expect-log "HHC04720I   Port [0-9]+ '0:0700' guest \(of another process\) pid $herc" \
    --expect-log "HHC04713I GLAN: LAN 'LAN1' uplink: its holder is gone, taking it over" \
    --expect-log "HHC04714I GLAN: LAN 'LAN1' uplink tun 'glxk0' attached" \
    --expect-log "HHC04720I   Uplink: tun 'glxk0' mtu [0-9]+, open" \
    --expect-log "HHC04720I   Port [0-9]+ 'uplink' uplink \(the uplink above\) pid [0-9]+ \(this process\)" \
    --expect-log "HHC04715I GLAN: LAN 'LAN1' uplink detached" \
    --expect-log "HHC04714I GLAN: LAN 'LAN1' uplink tun 'glxkA' attached" \
    --expect-log "HHC04720I   Uplink: tun 'glxkA' mtu [0-9]+, open" \
    --expect-log "HHC04720I LAN LAN1: ports 2 of 8" \
    >"$run/a.json" 2>&1 && ra=0 || ra=$?
wait $bpid 2>/dev/null || true
bpid=
grep -E "HHC047(1[3-6]|20)I" "$run/a/console.log" | sed 's/^/A: /'
if [ $ra -ne 0 ]; then
    python3 -c 'import json,sys; print("FAIL: missing", json.load(open(sys.argv[1]))["missing"])' \
        "$run/a/summary.json" 2>/dev/null || tail -20 "$run/a.json"
    exit 1
fi
echo "glan-xproc-kill: pass"
