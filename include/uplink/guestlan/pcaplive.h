/*
 * The live pcap uplink: a LAN on a real Ethernet interface through libpcap,
 * without a TAP device, a bridge or host routing (the direct attach Hyperion
 * users asked for).  Frames are captured in immediate mode behind a capture
 * filter that lets in only what can concern the LAN (ARP and IP frames to the
 * LAN's MAC, broadcast or multicast, on the configured VLAN), and sent with
 * pcap_inject().  The LAN is one station with its own MAC address on the
 * segment; the layer-2 engine (l2.h) answers ARP and neighbour solicitations
 * for the guests and resolves next hops.  The interface is put in
 * promiscuous mode, since frames to the LAN's MAC are not addressed to the
 * interface's own.
 *
 * Permissions: capturing needs CAP_NET_RAW and promiscuous mode
 * CAP_NET_ADMIN.  Instead of running as root, give them to the program once:
 *     sudo setcap cap_net_raw,cap_net_admin+ep /usr/local/bin/hercules
 * (docs/uplinks-l2.md).
 *
 * The host itself cannot reach the guests through the interface it captures
 * on: its own frames leave by the wire and never come back to it.  Use a TAP
 * uplink, or a second interface, when the host must talk to the guests.
 *
 * Attach with glan_l2_uplink_attach() (l2.h), detach with
 * glan_l2_uplink_detach().
 */
#ifndef GUESTLAN_PCAPLIVE_H
#define GUESTLAN_PCAPLIVE_H

#include "guestlan/l2.h"
#include "guestlan/uplink.h"

#ifdef __cplusplus
extern "C" {
#endif

struct glan_pcaplive_config {
    /* The interface ("eth0").  Required. */
    const char *ifname;
    /* Kernel capture buffer in bytes; 0: 2 MiB. */
    uint32_t buffer_size;
    /* Nonzero: do not ask for promiscuous mode (only when the interface
     * already receives frames for the LAN's MAC, e.g. the LAN's MAC is the
     * interface's own, or the interface is promiscuous anyway). */
    int no_promisc;
    /* Nonzero: the MTU of the network beyond the interface (68..65535), when
     * it is smaller than the interface's own (a tunnel further on); zero:
     * the interface's MTU.  The interface is left as it is. */
    uint32_t mtu;
    /* The layer-2 engine: MAC, VLAN, gateways, cache sizes and timers. */
    struct glan_l2_config l2;
};

/* A live pcap uplink, not yet opened.  NULL with a message in err on a bad
 * configuration or no memory. */
struct glan_uplink *glan_pcaplive_create(const struct glan_pcaplive_config *cfg, char *err,
                                         size_t errlen);

/* The capture filter in force ("" before the uplink is attached).  0, or
 * -EINVAL when u is not a live pcap uplink. */
int glan_pcaplive_filter(struct glan_uplink *u, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
