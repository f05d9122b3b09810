/*
 * guestlan uplinks: how a LAN reaches the network outside it.  An uplink is
 * one more port of the LAN (kind GLAN_PORT_UPLINK) behind this vtable; the
 * base hands it every datagram whose destination no guest registered, and the
 * uplink hands the base what arrives from the network, which the base then
 * delivers by destination address.  Implementations: the TUN device (tun.h),
 * the TAP device and a real NIC through libpcap (tap.h, pcaplive.h, over the
 * layer-2 engine of l2.h), and the pcap file uplink (pcapfile.h).  The kinds
 * an uplink spec can name are registered in uplinkspec.h; adding one is
 * docs/adding-an-uplink.md.
 *
 * Life cycle, as libpcap's handles: create (implementation-specific
 * constructor) -> glan_uplink_attach (opens it, attaches its port, starts
 * receiving) -> traffic -> glan_uplink_detach (stops receiving, detaches,
 * closes) -> glan_uplink_destroy (detaches if needed, frees).
 */
#ifndef GUESTLAN_UPLINK_H
#define GUESTLAN_UPLINK_H

#include "guestlan/base.h"
#include "guestlan/offload.h"

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
    /* TSO datagrams of offloading guests cut into segments for the network
     * (the base does it, guestlan/offload.h): how many, and the segments
     * they made (each also counted in tx_packets when written). */
    uint64_t tx_tso, tx_segments;
};

enum { GLAN_UPLINK_STATUS_FACTS = 4 };

/* What an uplink says of itself for a query (the status op).  Strings are
 * empty, pointers NULL and numbers zero where the kind has nothing to say.
 * `glan query` prints it without knowing the kind:
 *     Uplink: KIND 'DEVICE' PARAMS, open|closed[, DOWN][, created ...]
 *       Device gone G times, recovered R times, T datagrams refused meanwhile
 *       LABEL: TEXT                  (each fact)
 */
struct glan_uplink_status {
    const char *kind;     /* as uplink specs name the kind ("tun", "tap", "pcap"); static */
    char device[16];      /* the device or interface in use, "" before the first open */
    char params[48];      /* what else identifies it: "mtu 1500", "mac 02:67:00:00:00:01" */
    int open;             /* the device is held */
    const char *down;     /* NULL, or why datagrams for the network are refused now
                           * ("device gone"); static */
    int created;          /* the uplink created its device, which goes with it (0 also
                           * when the kind does not keep track) */
    int rx_thread;        /* the receive thread runs */
    uint64_t gone_events; /* times the device failed or disappeared */
    uint64_t recoveries;  /* times the uplink reopened a device that came back */
    uint64_t tx_down;     /* datagrams refused while the device was down or gone */
    /* Further lines of the kind's own, in order. */
    unsigned nfacts;
    struct {
        const char *label; /* "Receive thread"; static */
        char text[192];    /* "woken 3 times with frames to read, 0 of them found none" */
    } facts[GLAN_UPLINK_STATUS_FACTS];
    char message[256]; /* the last message (u->err, read safely) */
};

/*
 * What an implementation provides.  The base's glue (glan_uplink_attach and
 * friends, src/base/uplink.c) calls open, start, stop and close, always from
 * the thread that attaches or detaches the uplink, never two at once; the
 * base calls send and addr_event through the uplink's port; queries call
 * status.  Errors are negative errnos with a message in u->err.
 */
struct glan_uplink_ops {
    /* The implementation's name ("tun", "tap", "pcaplive", "pcapfile"), for
     * messages and reports (the word a query shows is the status op's
     * kind). */
    const char *kind;
    /* Open the network side (device, files).  Called by glan_uplink_attach
     * before the port exists, in the attaching thread, no lock held.  0, or a
     * negative errno with a message in u->err (nothing stays open).  NULL:
     * nothing to open. */
    int (*open)(struct glan_uplink *u);
    /* Write one datagram to the network.  Called by the base in whichever
     * thread holds the uplink port's drain turn (a sender's, or the receive
     * thread's after glan_port_kick), never concurrently with itself, with no
     * base lock held; it may run concurrently with the receive thread and
     * with status.  dg is valid during the call only.  0 written (or taken
     * in charge, e.g. held while a next hop is resolved); -EAGAIN cannot now
     * (the base keeps it and retries after glan_port_kick(u->port)); -ENETDOWN
     * the network side is down (counted as port_down); another negative errno
     * drops it (port_error).  Must not block.  Required. */
    int (*send)(struct glan_uplink *u, const struct glan_dgram *dg);
    /* Descriptor that turns readable when the network has datagrams, for an
     * owner that drives receive itself; -1 when there is none or the uplink
     * receives in a thread of its own.  Any thread.  NULL: -1. */
    int (*rx_fd)(struct glan_uplink *u);
    /* Read up to budget datagrams without blocking and hand each to
     * glan_uplink_input().  Called by whoever drives receive (the owner, or
     * the uplink's own thread), one thread at a time, while attached.
     * Returns how many, 0 at end of input/nothing ready, or a negative errno.
     * NULL: no receive side. */
    int (*receive)(struct glan_uplink *u, int budget);
    /* Start receiving (a thread, an event source).  Called by
     * glan_uplink_attach once u->port is set, in the attaching thread.  0, or
     * a negative errno with a message in u->err (the attach is undone: stop is
     * not called, close is).  NULL: nothing to start. */
    int (*start)(struct glan_uplink *u);
    /* Stop receiving.  Called by glan_uplink_detach before the port is
     * detached, in the detaching thread; returns only once no thread of the
     * uplink is inside glan_uplink_input() or glan_port_kick() any more.
     * Harmless when not started.  NULL: nothing to stop. */
    void (*stop)(struct glan_uplink *u);
    /* A guest registered (registered = 1) or unregistered (0) a unicast
     * address on the LAN (glan_port_ops.addr_event: the registering thread,
     * no base lock held, possibly while send runs).  A layer-2 uplink
     * announces it.  NULL: nothing. */
    void (*addr_event)(struct glan_uplink *u, const struct glan_addr *addr, int registered);
    /* Fill *out (zeroed by the caller) for a query.  Any thread, at any time
     * between create and destroy, concurrently with send, receive and the
     * receive thread: the implementation takes its own locks and calls
     * nothing of the base.  0, or a negative errno (-EOPNOTSUPP: nothing to
     * say beyond kind and the counters).  NULL: -EOPNOTSUPP. */
    int (*status)(struct glan_uplink *u, struct glan_uplink_status *out);
    /* Close the network side; the uplink may be opened again later.  Called
     * by glan_uplink_detach after the port is gone (and when an attach is
     * undone), in that thread.  NULL: nothing to close. */
    void (*close)(struct glan_uplink *u);
    /* Free the uplink.  Called by glan_uplink_destroy after it detached it,
     * so close has run if it was open.  NULL: nothing to free. */
    void (*destroy)(struct glan_uplink *u);
};

/* The common part every implementation embeds first. */
struct glan_uplink {
    const struct glan_uplink_ops *ops;
    struct glan_port *port;         /* set while attached */
    struct glan_uplink_stats stats; /* kept by the implementation */
    char err[256];                  /* last error message */
    /* The largest datagram the network takes (its MTU), 0: no limit but
     * the LAN's buffer size.  Set with glan_uplink_set_mtu: configured, or
     * read from the host device by the implementation's open. */
    uint32_t mtu;
    struct glan_offload_state off; /* the base's, for cutting TSO datagrams */
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
/* u's status op: *out zeroed, then filled.  0, or -EOPNOTSUPP when u has no
 * status op (or its own negative errno). */
int glan_uplink_get_status(struct glan_uplink *u, struct glan_uplink_status *out);

/* The uplink's MTU is mtu (0: none): kept in u->mtu, and given to its port
 * when attached (glan_port_set_mtu), so that the base answers datagrams too
 * big for the network (docs/design.md, "Path MTU").  Any thread. */
void glan_uplink_set_mtu(struct glan_uplink *u, uint32_t mtu);
uint32_t glan_uplink_mtu(const struct glan_uplink *u);

/* Open u, attach it to lan as its uplink port (with its MTU, u->mtu as the
 * open op left it) and start receiving.  0, or a
 * negative errno with a message in u->err (-EEXIST: the LAN already has an
 * uplink). */
int glan_uplink_attach(struct glan_lan *lan, struct glan_uplink *u);
/* Stop receiving, detach from the LAN and close. */
void glan_uplink_detach(struct glan_uplink *u);
/* From an implementation's receive: one datagram arrived from the network. */
enum glan_drop glan_uplink_input(struct glan_uplink *u, const void *data, size_t len,
                                 uint64_t ts_ns);
/* Detach (if attached), close and free. */
void glan_uplink_destroy(struct glan_uplink *u);

#ifdef __cplusplus
}
#endif
#endif
