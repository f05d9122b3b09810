/*
 * The TAP uplink: a LAN's way onto an Ethernet segment through a Linux TAP
 * device (IFF_TAP | IFF_NO_PI).  The host side of the device is an ordinary
 * Ethernet interface: give it an address, bridge it, or put a VLAN on it.
 * The LAN appears on it as one station with one MAC address that answers ARP
 * and neighbour solicitations for every guest address and resolves its own
 * next hops (the layer-2 engine, l2.h), as an OSA in layer-3 mode does.
 *
 * No root at run time: create the device once, owned by the user who runs
 * Hercules (`ip tuntap add dev glantap0 mode tap user hercules`), give it its
 * addresses or bridge, bring it up, and name it here.  With CAP_NET_ADMIN the
 * uplink can also create the device (it then disappears when the uplink
 * closes), set its MTU and bring it up.
 *
 * Attach with glan_l2_uplink_attach() (l2.h): it opens the device, starts the
 * event-driven receive thread and announces the addresses already
 * registered; detach with glan_l2_uplink_detach().
 */
#ifndef GUESTLAN_TAP_H
#define GUESTLAN_TAP_H

#include "guestlan/l2.h"
#include "guestlan/uplink.h"

#ifdef __cplusplus
extern "C" {
#endif

struct glan_tap_config {
    /* The device ("glantap0").  An existing TAP device is used (it must
     * belong to the caller's user or group, or the caller needs
     * CAP_NET_ADMIN); otherwise it is created (CAP_NET_ADMIN).  NULL or ""
     * lets the kernel choose (tapN): always a creation. */
    const char *ifname;
    /* Nonzero: make the device's MTU this (68..65535; CAP_NET_ADMIN unless it
     * already has it).  The device's MTU is the uplink's: the base answers
     * larger datagrams with ICMP or fragments them (path MTU). */
    uint32_t mtu;
    /* Nonzero: bring the device up at open (CAP_NET_ADMIN unless it is up). */
    int up;
    /* The layer-2 engine: MAC, VLAN, gateways, cache sizes and timers. */
    struct glan_l2_config l2;
};

/* A TAP uplink, not yet opened.  NULL with a message in err on a bad
 * configuration or no memory. */
struct glan_uplink *glan_tap_create(const struct glan_tap_config *cfg, char *err, size_t errlen);

/* The device in use ("" before the first open).  0, or -EINVAL when u is not
 * a TAP uplink. */
int glan_tap_ifname(struct glan_uplink *u, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
