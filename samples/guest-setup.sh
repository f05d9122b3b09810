#!/bin/sh
# What a Linux guest runs to use a GLAN interface: the commands a Debian (or
# any) s390x Linux with the stock qeth driver needs, commented.  GLAN is an
# OSA-Express in QDIO mode.  On a LAN of transport IP (the default) it is a
# layer-3 OSA: group the three devices, set layer2=0, set the group online,
# give the interface an address with `ip`.  On a LAN of transport ETHERNET
# it is a layer-2 OSA: the same without layer2=0 (layer 2 is qeth's
# default), and the interface is an ordinary Ethernet one (ARP, DHCP,
# VLANs, bridges).  On a LAN of type HIPERS it is a HiperSockets card: the
# same without layer2 (layer 3 is a HiperSockets card's default), and the
# interface is hsiN, at the MTU the LAN's frame size gives (57344).
#
# It is also a script the end-to-end tests run inside their busybox guest
# (tests/e2e/guest/init.sh), so what is written here is what is tested:
#
#   sh guest-setup.sh online 0.0.0600        groups 0600-0602, layer 3,
#                                            online; prints the interface name
#   sh guest-setup.sh online 0.0.0600 layer2 the same in layer 2 (a LAN of
#                                            transport ETHERNET)
#   sh guest-setup.sh online 0.0.0600 default  the same, layer2 left as qeth
#                                            has it (layer 2 unless set; a
#                                            HiperSockets card: layer 3)
#   sh guest-setup.sh address eth0 10.1.1.2/24 [GATEWAY-ROUTE]
#                                            address, link up, optional
#                                            route NET/PREFIX@GW
#   sh guest-setup.sh 0.0.0600 10.1.1.2/24   both
#
# With chzdev (s390-tools, installed on Debian/Ubuntu/RHEL/SLES s390x) the
# `online` step is one command, which also makes it persistent across
# reboots (udev rules):
#
#   chzdev -e qeth 0.0.0600:0.0.0601:0.0.0602 layer2=0     (transport IP)
#   chzdev -e qeth 0.0.0600:0.0.0601:0.0.0602 layer2=1     (transport ETHERNET)
#   lszdev qeth                      # shows the group, online, its interface
#   chzdev -d qeth 0.0.0600          # takes it offline and ungroups it
#
# (with the three device numbers consecutive, `chzdev -e qeth 0.0.0600`
# finds the other two itself).  Without chzdev, the sysfs way below is what
# it does.  Debian's installer, and /etc/network/interfaces afterwards, work
# as for any OSA: choose the qeth device 0.0.0600, layer 3 ("layer2=0").
set -eu

# online READ-DEVNO [layer3|layer2|default]: group READ, READ+1, READ+2
# (read, write and data device, as in the Hercules statement `0600.3 GLAN
# LAN1`) and set the group online.
online() {
    layer=${2:-layer3}
    css=${1%.*} n=$((0x${1##*.}))
    r=$(printf '%s.%04x' "$css" "$n")
    w=$(printf '%s.%04x' "$css" $((n + 1)))
    d=$(printf '%s.%04x' "$css" $((n + 2)))
    # At boot the channel subsystem is probed asynchronously: wait (up to
    # 60 s) until the data device is there.  `cio_ignore -r 0600-0602` first
    # if the kernel was booted with cio_ignore=all (distribution installs).
    i=0
    while [ ! -e /sys/bus/ccw/devices/$d ] && [ $i -lt 600 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    # modprobe qeth_l3 if the qeth modules are not loaded yet.
    g=/sys/bus/ccwgroup/devices/$r
    # 1. Group the three devices into one qeth card.
    [ -d $g ] || echo "$r,$w,$d" >/sys/bus/ccwgroup/drivers/qeth/group
    # 2. Layer 3 for a LAN of transport IP: GLAN routes IP datagrams by
    #    address (no MAC addresses).  Layer 2 for a LAN of transport
    #    ETHERNET: GLAN switches frames by MAC.  Only possible while the card
    #    is offline; a card of the layer its LAN does not carry fails to come
    #    online ("The device does not support the configured transport
    #    mode" in dmesg).
    case $layer in
    layer3) echo 0 >$g/layer2 ;;
    layer2) echo 1 >$g/layer2 ;;
    esac
    # 3. Online: qeth runs the OSA bring-up (IDX, CM/ULP, QDIO queues, the
    #    IPA start sequence); the device answers as an OSA-Express (OSD).
    echo 1 >$g/online
    [ "$(cat $g/online)" = 1 ] || return 1
    # Its network interface (eth0, eth1, ... in the order the cards came
    # online; `cat $g/if_name` shows it as well).
    ls $g/net | head -n 1
}

# address IFNAME ADDR/PREFIX [NET/PREFIX@GW]: an ordinary `ip` setup.  The
# address is registered with the LAN (qeth sends SETIP), which is how GLAN
# knows where to deliver datagrams for it: `glan query` at the Hercules
# panel lists it under the interface's port.  IPv6 works the same way
# (ip -6 addr add fd00:1::2/64 dev eth0).
address() {
    ip addr add "$2" dev "$1"
    ip link set "$1" up
    # A route through a gateway, e.g. a host at the far end of the LAN's
    # TUN uplink: ip route add default via 10.1.2.1
    if [ -n "${3:-}" ]; then
        ip route add "${3%@*}" via "${3#*@}"
    fi
}

case ${1:-} in
online) online "$2" "${3:-}" ;;
address) address "$2" "$3" "${4:-}" ;;
[0-9]*.[0-9]*.*)
    ifn=$(online "$1")
    address "$ifn" "$2" "${3:-}"
    echo "$ifn"
    ;;
*)
    echo "usage: guest-setup.sh online DEVNO | address IF ADDR/PREFIX [NET@GW] | DEVNO ADDR/PREFIX" >&2
    exit 2
    ;;
esac
