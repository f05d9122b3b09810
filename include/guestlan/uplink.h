/*
 * guestlan uplinks: how a LAN reaches the network outside it.  An uplink is
 * one more port of the LAN (kind GLAN_PORT_UPLINK) behind this vtable; the
 * base hands it every datagram whose destination no guest registered, and the
 * uplink hands the base what arrives from the network, which the base then
 * delivers by destination address.  Implementations: the pcap file uplink
 * (pcapfile.h); TUN, TAP and live pcap come later behind the same vtable.
 *
 * Life cycle, as libpcap's handles: create (implementation-specific
 * constructor) -> glan_uplink_attach (opens it and attaches its port) ->
 * traffic -> glan_uplink_detach (detaches, closes) -> ops->destroy.
 */
#ifndef GUESTLAN_UPLINK_H
#define GUESTLAN_UPLINK_H

#include "guestlan/base.h"

#ifdef __cplusplus
extern "C" {
#endif

struct glan_uplink;

/* Counters the uplink keeps of its own (the base keeps the port's).  Each
 * is written by one thread at a time (the sender under the uplink port's
 * drain turn, or the receive thread) and read by any: writers go through
 * glan_uplink_count/glan_uplink_set, readers through glan_uplink_get_stats,
 * all relaxed atomics, so a query never races a receive thread. */
struct glan_uplink_stats {
    uint64_t tx_packets, tx_bytes; /* written to the network */
    uint64_t tx_errors;            /* writes that failed */
    uint64_t rx_packets, rx_bytes; /* read from the network and handed to the base */
    uint64_t rx_skipped;           /* frames read that were not IPv4/IPv6 (ARP, ...) */
    uint64_t rx_errors;            /* unreadable or malformed frames */
};

struct glan_uplink_ops {
    const char *kind; /* "pcapfile", "tun", ... */
    /* Open the network side.  0, or a negative errno with a message in
     * u->err.  Called once, before the port is attached. */
    int (*open)(struct glan_uplink *u);
    /* Write one datagram to the network.  Called under the uplink port's drain
     * turn (never concurrently).  0 written; -EAGAIN cannot now (the base
     * keeps it and retries after glan_port_kick(u->port)); another negative
     * errno drops it (counted as port_error). */
    int (*send)(struct glan_uplink *u, const struct glan_dgram *dg);
    /* Descriptor that turns readable when the network has datagrams, or -1
     * when the owner drives receive itself (pcap file).  NULL: -1. */
    int (*rx_fd)(struct glan_uplink *u);
    /* Read up to budget datagrams without blocking and hand each to
     * glan_uplink_input().  Returns how many, 0 at end of input/nothing
     * ready, or a negative errno.  NULL: no receive side. */
    int (*receive)(struct glan_uplink *u, int budget);
    /* Optional (NULL: nothing).  Called by glan_uplink_attach once u->port is
     * set: start receiving (a thread, an event source).  0, or a negative
     * errno with a message in u->err (the attach is undone). */
    int (*start)(struct glan_uplink *u);
    /* Optional (NULL: nothing).  Called by glan_uplink_detach before the port
     * is detached: stop receiving, and return only once no thread of the
     * uplink is inside glan_uplink_input() any more. */
    void (*stop)(struct glan_uplink *u);
    /* Optional (NULL: nothing).  A guest registered (registered = 1) or
     * unregistered (0) a unicast address; see glan_port_ops.addr_event. */
    void (*addr_event)(struct glan_uplink *u, const struct glan_addr *addr, int registered);
    /* Close the network side; the uplink may be opened again later.  */
    void (*close)(struct glan_uplink *u);
    /* Free the uplink.  Called after close. */
    void (*destroy)(struct glan_uplink *u);
};

/* The common part every implementation embeds first. */
struct glan_uplink {
    const struct glan_uplink_ops *ops;
    struct glan_port *port;         /* set while attached */
    struct glan_uplink_stats stats; /* kept by the implementation */
    char err[256];                  /* last error message */
};

/* Add n to one of u->stats' counters; set one. */
static inline void glan_uplink_count(uint64_t *counter, uint64_t n)
{
    __atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}
static inline void glan_uplink_set(uint64_t *counter, uint64_t v)
{
    __atomic_store_n(counter, v, __ATOMIC_RELAXED);
}
/* A copy of u's counters, each read atomically. */
void glan_uplink_get_stats(const struct glan_uplink *u, struct glan_uplink_stats *out);

/* Open u and attach it to lan as its uplink port.  0, or a negative errno
 * with a message in u->err (-EEXIST: the LAN already has an uplink). */
int glan_uplink_attach(struct glan_lan *lan, struct glan_uplink *u);
/* Detach from the LAN and close. */
void glan_uplink_detach(struct glan_uplink *u);
/* From an implementation's receive: one datagram arrived from the network. */
enum glan_drop glan_uplink_input(struct glan_uplink *u, const void *data, size_t len,
                                 uint64_t ts_ns);
/* Close and free. */
void glan_uplink_destroy(struct glan_uplink *u);

#ifdef __cplusplus
}
#endif
#endif
