#!/bin/sh
# One host's part of a GLAN LAN that spans several machines: a Linux bridge
# with two ports, a VXLAN device (the kernel's own overlay, UDP port 4789)
# that reaches the other hosts over the underlay network, and a persistent
# TAP device that the LAN's uplink (`uplink tap glantap0`) opens.  Every
# host runs this with its own underlay address and the same VNI; guests on
# every host then sit on one Ethernet segment.  docs/multihost.md explains
# each piece; tests/e2e/multihost.sh and tests/multihost/sim.sh run it.
#
#   glan-multihost.sh up [OPTIONS]      make the bridge, VXLAN and TAP
#   glan-multihost.sh down [OPTIONS]    delete them again
#   glan-multihost.sh mtu N [OPTIONS]   set the VXLAN, TAP and bridge MTU
#                                       (after raising the underlay's)
#   glan-multihost.sh config [OPTIONS]  print the Hercules configuration
#                                       lines for this host
#   glan-multihost.sh show [OPTIONS]    the devices and the bridge's
#                                       forwarding table
#
# Options (the defaults in brackets):
#   --vni N          VXLAN network identifier, the same on every host [42]
#   --underlay DEV   the network device towards the other hosts (up)
#   --local ADDR     this host's underlay address [DEV's first IPv4 address]
#   --peer ADDR      another host's underlay address (repeat, or a comma
#                    list): unicast VXLAN, broadcasts copied to every peer
#   --group ADDR     an IPv4 multicast group instead of peers: the underlay
#                    carries broadcasts as multicast
#   --lan NAME       the GLAN LAN's name [LAN1]
#   --bridge NAME    [glanbr0]    --vxlan NAME [glanvx0]    --tap NAME [glantap0]
#   --mtu N          VXLAN, bridge and TAP MTU [the underlay's minus 50]
#   --transport T    ip or ethernet, the LAN's transport [ip]
#   --mac M          (transport ip) the LAN's MAC on the segment
#                    [02:67:76 and the last three bytes of --local]
#                    (transport ethernet: the guests' MAC prefix is 02 and
#                    the last three bytes of --local)
#   --user U         owner of the TAP device (Hercules not run as root)
#   --port N         VXLAN UDP port [4789]
#   --devno D        the guest device in the printed configuration [0600]
# Needs root (CAP_NET_ADMIN) and iproute2 (ip, bridge).  Exit 0 done,
# 1 failed, 2 usage.
set -eu

usage() {
    sed -n '2,37p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}

action=${1:-}
[ -n "$action" ] || usage
shift
setmtu=
if [ "$action" = mtu ]; then
    setmtu=${1:-}
    [ -n "$setmtu" ] || usage
    shift
fi
vni=42 underlay= local= peers= group= lan=LAN1 br=glanbr0 vx=glanvx0 tap=glantap0
mtu= transport=ip mac= user= port=4789 devno=0600
while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || usage
    case $1 in
    --vni) vni=$2 ;;
    --underlay) underlay=$2 ;;
    --local) local=$2 ;;
    --peer) peers="$peers $(echo "$2" | tr ',' ' ')" ;;
    --group) group=$2 ;;
    --lan) lan=$2 ;;
    --bridge) br=$2 ;;
    --vxlan) vx=$2 ;;
    --tap) tap=$2 ;;
    --mtu) mtu=$2 ;;
    --transport) transport=$2 ;;
    --mac) mac=$2 ;;
    --user) user=$2 ;;
    --port) port=$2 ;;
    --devno) devno=$2 ;;
    *) usage ;;
    esac
    shift 2
done
case $transport in ip | ethernet) ;; *) echo "transport must be ip or ethernet" >&2 && exit 2 ;; esac

say() {
    echo "+ $*"
    "$@"
}

# The underlay's first IPv4 address, when --local is not given.
local_addr() {
    [ -n "$local" ] && return 0
    [ -n "$underlay" ] || return 0
    local=$(ip -4 -o addr show dev "$underlay" | sed -n 's/.* inet \([0-9.]*\)\/.*/\1/p' | head -n 1)
}

# The IP LAN's MAC: one per host, so that the hosts' LAN stations differ on
# the shared segment (without it each would take the one GLAN derives from
# the LAN's name, the same everywhere).
lan_mac() {
    [ -n "$mac" ] && return 0
    local_addr
    if [ -z "$local" ]; then
        echo "glan-multihost: --mac or --local (or --underlay) needed for the LAN's MAC" >&2
        exit 2
    fi
    mac=$(echo "$local" | awk -F. '{ printf "02:67:76:%02x:%02x:%02x", $2, $3, $4 }')
}

case $action in
up)
    if [ -z "$underlay" ] || { [ -z "$peers" ] && [ -z "$group" ]; }; then
        echo "glan-multihost up: --underlay and --peer or --group are needed" >&2
        exit 2
    fi
    local_addr
    if [ -z "$local" ]; then
        echo "glan-multihost up: $underlay has no IPv4 address; give --local" >&2
        exit 1
    fi
    if [ -z "$mtu" ]; then
        umtu=$(cat "/sys/class/net/$underlay/mtu")
        mtu=$((umtu - 50)) # outer IPv4 20, UDP 8, VXLAN 8, inner Ethernet 14
    fi
    say ip link add "$br" type bridge
    if [ -n "$group" ]; then
        say ip link add "$vx" type vxlan id "$vni" local "$local" group "$group" dev "$underlay" dstport "$port"
    else
        say ip link add "$vx" type vxlan id "$vni" local "$local" dev "$underlay" dstport "$port"
        for p in $peers; do
            # the all-zero MAC: where broadcasts and unknown destinations go
            say bridge fdb append 00:00:00:00:00:00 dev "$vx" dst "$p"
        done
    fi
    say ip tuntap add dev "$tap" mode tap ${user:+user "$user"}
    say ip link set "$vx" mtu "$mtu"
    say ip link set "$tap" mtu "$mtu"
    say ip link set "$vx" master "$br"
    say ip link set "$tap" master "$br"
    say ip link set "$br" mtu "$mtu"
    say ip link set "$vx" up
    say ip link set "$tap" up
    say ip link set "$br" up
    ;;
down)
    for d in "$tap" "$vx" "$br"; do
        if ip link show "$d" >/dev/null 2>&1; then
            say ip link del "$d"
        fi
    done
    ;;
mtu)
    for d in "$vx" "$tap" "$br"; do
        say ip link set "$d" mtu "$setmtu"
    done
    ;;
config)
    if [ "$transport" = ethernet ]; then
        # the guests' MACs: one prefix per host, so that guests on
        # different hosts differ (by default each LAN1 has the same one)
        local_addr
        if [ -n "$local" ]; then
            pfx=$(echo "$local" | awk -F. '{ printf "02:%02x:%02x:%02x", $2, $3, $4 }')
            echo "glan define $lan ports 16 transport ethernet macprefix $pfx uplink tap $tap"
        else
            echo "glan define $lan ports 16 transport ethernet uplink tap $tap"
        fi
    else
        lan_mac
        echo "glan define $lan ports 16 uplink tap $tap mac $mac"
    fi
    echo "$devno.3 GLAN $lan"
    ;;
show)
    ip -d link show "$vx"
    ip link show master "$br"
    bridge fdb show dev "$vx"
    ;;
*)
    usage
    ;;
esac
