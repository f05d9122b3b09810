/*
 * The TUN uplink: a LAN's way to the host's own IP stack through a Linux TUN
 * device in layer-3 mode without the packet-information header (IFF_TUN |
 * IFF_NO_PI), so the datagrams the LAN sends out reach the host exactly as the
 * guests wrote them, IPv4 and IPv6 alike, and whatever the host routes to the
 * device comes back into the LAN, delivered by destination address.
 *
 * No root at run time: create the device once, owned by the user who runs
 * Hercules (`ip tuntap add dev glan0 mode tun user hercules`, then give it its
 * addresses, routes and MTU and bring it up), and name it here.  With
 * CAP_NET_ADMIN the uplink can also create the device (it then disappears when
 * the uplink closes), set its MTU and bring it up.
 *
 * Receive is event-driven: glan_tun_attach() starts a thread that sleeps in
 * poll() on the device, a wake-up eventfd and a netlink socket watching the
 * host's links (the device runner every uplink over a host device shares,
 * src/uplink/runner.c).  If the device is deleted the uplink says so in
 * u->err, counts it, refuses datagrams for the network (the base counts them
 * as port_down) and the LAN keeps serving its guests; when a TUN device of
 * the same name appears again the uplink reattaches to it by itself.
 */
#ifndef GUESTLAN_TUN_H
#define GUESTLAN_TUN_H

#include "guestlan/uplink.h"

#ifdef __cplusplus
extern "C" {
#endif

struct glan_tun_config {
    /* The device ("glan0").  An existing TUN device of that name is used (it
     * must belong to the caller's user or group, or the caller needs
     * CAP_NET_ADMIN); otherwise it is created, which needs CAP_NET_ADMIN.
     * NULL or "" lets the kernel choose a name (tunN): always a creation. */
    const char *ifname;
    /* Nonzero: make the device's MTU this at open (68..65535).  Setting it
     * needs CAP_NET_ADMIN unless the device already has it.  Zero: leave it.
     * The device's MTU is the uplink's (glan_uplink_mtu), followed while the
     * uplink runs: the base answers larger datagrams (path MTU). */
    uint32_t mtu;
    /* Nonzero: bring the device up at open when it is down (CAP_NET_ADMIN
     * unless it is already up). */
    int up;
};

/* A TUN uplink, not yet opened (glan_tun_attach or glan_uplink_attach opens
 * it).  NULL with a message in err on a bad configuration or no memory. */
struct glan_uplink *glan_tun_create(const struct glan_tun_config *cfg, char *err, size_t errlen);

/* glan_uplink_attach, which starts the receive thread (the uplink's start
 * op).  0, or a negative errno with a message in u->err. */
int glan_tun_attach(struct glan_lan *lan, struct glan_uplink *u);
/* glan_uplink_detach, which stops the receive thread (the stop op) before
 * the port goes; glan_uplink_destroy does the same. */
void glan_tun_detach(struct glan_uplink *u);

/* The receive thread alone: the uplink's start and stop ops.  Start: 0 (also
 * when running), -EINVAL when not attached, or a negative errno.  Stop
 * returns once the thread will not touch the LAN again. */
int glan_tun_start(struct glan_uplink *u);
void glan_tun_stop(struct glan_uplink *u);

struct glan_tun_status {
    char ifname[16];      /* the device in use (empty before the first open) */
    uint32_t mtu;         /* its MTU, the uplink's (glan_uplink_mtu) */
    int open;             /* the uplink holds the device */
    int created;          /* the uplink created it: it goes when the uplink closes */
    int persistent;       /* it outlives the uplink (ip tuntap add) */
    int gone;             /* it was deleted and has not come back */
    int rx_thread;        /* the receive thread runs */
    uint64_t gone_events; /* times the device disappeared under the uplink */
    uint64_t recoveries;  /* times the uplink reattached to a device that came back */
    uint64_t tx_down;     /* datagrams refused while the device was down or gone */
    uint64_t tx_blocked;  /* writes the kernel refused for want of room (-EAGAIN) */
    /* u->err, copied under the lock the receive thread writes it with: read
     * the message here while the thread runs. */
    char message[256];
};

/* 0, or -EINVAL when u is not a TUN uplink.  (A query of any uplink uses
 * glan_uplink_get_status, uplink.h; this one has the TUN device's details.) */
int glan_tun_status(struct glan_uplink *u, struct glan_tun_status *out);

#ifdef __cplusplus
}
#endif
#endif
