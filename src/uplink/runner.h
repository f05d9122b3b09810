/*
 * The device runner: what every uplink over a host device shares (the TUN
 * device in tun.c; the TAP device and the live capture in tap.c and
 * pcaplive.c, through the layer-2 link in l2port.c).  A device supplies
 * open, close, read and write of whole units (IP datagrams for TUN, Ethernet
 * frames for TAP and pcap) on a descriptor poll() can wait on; the runner
 * (runner.c) does the rest:
 *   - the uplink vtable (include/base/guestlan/uplink.h) the base calls;
 *   - the receive thread, asleep in poll() on the device, an eventfd (stop
 *     requests, "watch for POLLOUT"), the link layer's timer and a netlink
 *     socket watching the host's links (linkwatch.c), so no loop wakes up
 *     just to look;
 *   - an outage: a device that fails or is deleted marks the uplink down;
 *     send refuses datagrams for the network (-ENETDOWN, which the base
 *     counts as port_down), the message says so, gone_events counts it, and
 *     the LAN keeps serving its guests;
 *   - the reopen: when a link of the device's name returns the receive
 *     thread closes the dead device and opens it again under the runner's
 *     lock; a device still held by its maker (EBUSY) is retried every
 *     100 ms a bounded number of times;
 *   - the status op, which the device and the link fill in their parts of;
 *   - the uplink's MTU (u->mtu, glan_uplink_set_mtu): r->mtu_cfg when
 *     configured, else the device's, read at every open and followed in
 *     the link messages (an `ip link set mtu` while the uplink runs).
 *
 * Between the base and the device sits a link layer: none for a layer-3
 * device (datagrams are written and read as they are, runner.c's own), or
 * the layer-2 engine (l2port.c), which frames datagrams, answers ARP and
 * neighbour discovery and resolves next hops.
 *
 * Locking.  r->lock guards the device (r->fd, r->ifname, the device's own
 * state) and the link layer's state: send, the link's input and timer, a
 * reopen and status run under it.  The receive thread reads the device
 * without it: only that thread reads, and only it reopens.  r->err_lock
 * guards u->err, which the sending threads, the receive thread and queries
 * share.  Nothing calls into the base with r->lock held (a kick could
 * deliver to the uplink's own send in the same thread).
 *
 * Internal to src/uplink.
 */
#ifndef GLAN_UPLINK_RUNNER_H
#define GLAN_UPLINK_RUNNER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "guestlan/uplink.h"

struct runner;

/*
 * A device the runner drives.  Every function gets the runner; the device's
 * own state is r->dev_state.  The strings say how an outage reads:
 *   "KIND IFNAME: LOST; the LAN keeps serving its guests, datagrams for the
 *    network are dropped (port_down) until AWAITED IFNAME returns"
 *   "KIND IFNAME: RETURNED; the uplink resumed"
 */
struct runner_dev {
    const char *kind;      /* ops->kind and the first word of messages ("tun", "pcaplive") */
    const char *spec_name; /* the kind as uplink specs and queries name it ("pcap") */
    const char *lost;      /* "the device was deleted" */
    const char *awaited;   /* put before the name: "a TUN device named ", or "" */
    const char *returned;  /* "the device is back" */
    const char *down_text; /* the status's down: "device gone" */
    /* Nonzero: a link that failed may come back under its old index, up
     * again (an interface taken down under a capture).  Zero: only a new
     * link of the name will do (a deleted TUN device never returns). */
    int same_link_returns;
    /* Open the device: set r->fd to a non-blocking descriptor poll() can wait
     * on and r->ifname to the interface.  reopen 0: the first open, from the
     * uplink's open op in the attaching thread; it may create the device.
     * reopen 1: the receive thread reopens a device that returned, which must
     * exist already (a reopen never creates one: -ENODEV); a complaint that
     * does not stop the device from working may be left in the message and
     * 0 returned.  Under r->lock either way.  0, or a negative errno with
     * the message set by runner_err (-EBUSY: held by another program for
     * now, retried); r->fd stays -1 on failure.  Required. */
    int (*open)(struct runner *r, int reopen);
    /* Finish setting up once the link layer is ready (the live capture's
     * filter, which needs the engine's MAC): after the start op's link start,
     * and after every reopen while started.  Under r->lock.  0, or a negative
     * errno with a message (a failed start is undone; a failed reopen is
     * closed and waits for the next link event).  NULL: nothing to do. */
    int (*ready)(struct runner *r);
    /* Is the device still there behind r->fd?  Asked when poll() reports an
     * error on it (nonzero: the error only counts as rx_errors), when a link
     * of its index is deleted or link messages were lost, and, for a layer-3
     * device, when a write answered -ENETDOWN (nonzero: the device is down,
     * not gone).  Receive thread without r->lock, or a sender under it.
     * NULL: an error on the descriptor means the device is gone, and only
     * poll() and the link messages say so. */
    int (*alive)(struct runner *r);
    /* The next unit without blocking: 1 with *unit and *len set (valid until
     * the next read or close), 0 when none is ready, -ENETDOWN when the
     * device went away, or another negative errno (counted as rx_errors).
     * Receive thread (or the owner driving receive), no lock.  Required. */
    int (*read)(struct runner *r, const uint8_t **unit, size_t *len);
    /* Write one unit (len bytes, valid during the call).  Under r->lock, from
     * a sender's thread or the receive thread (ARP/ND answers).  0 written;
     * -EAGAIN no room now (the runner watches for POLLOUT and kicks the
     * port); -ENETDOWN the device is down or gone; another negative errno.
     * Must not block.  Required. */
    int (*write)(struct runner *r, const uint8_t *unit, size_t len);
    /* Close the device and set r->fd to -1; a device the uplink created
     * goes with it.  Under r->lock, from the close op or a reopen.
     * Required. */
    void (*close)(struct runner *r);
    /* The device's part of the status: params, created.  Under r->lock, any
     * thread.  NULL: nothing more. */
    void (*status)(struct runner *r, struct glan_uplink_status *out);
    /* Free r->dev_state (after close).  The destroy op's thread.  NULL:
     * nothing to free. */
    void (*destroy)(struct runner *r);
};

/*
 * A link layer between the base and the device (the layer-2 engine,
 * l2port.c); NULL for a layer-3 device.  Its state is r->link_state.
 */
struct runner_link {
    /* Open what the link needs beside the device (r->timer, a descriptor the
     * receive thread polls for it), after the device opened.  Attaching
     * thread, no lock.  0, or a negative errno with a message (the device is
     * closed again).  NULL: nothing. */
    int (*open)(struct runner *r);
    /* Get ready to carry traffic, u->port being set (the engine, which needs
     * the LAN).  Start op, before the receive thread exists, under r->lock.
     * 0, or a negative errno with a message (the attach is undone).
     * Required. */
    int (*start)(struct runner *r);
    /* One datagram for the network, as the send op (return values as
     * there); write through runner_write.  Under r->lock, a sender's thread.
     * Required. */
    int (*send)(struct runner *r, const struct glan_dgram *dg);
    /* One unit read from the device: 1 with *dg and *dglen set to a datagram
     * for the LAN (pointing into unit, valid until the next read), which the
     * runner hands to the base after it let go of r->lock; 0 consumed or
     * skipped (counted in u->stats by the link).  Under r->lock, the
     * receive thread.  Required. */
    int (*input)(struct runner *r, const uint8_t *unit, size_t len, const uint8_t **dg,
                 size_t *dglen);
    /* r->timer turned readable.  Under r->lock, the receive thread.  NULL:
     * the link has no timer. */
    void (*timer)(struct runner *r);
    /* The uplink carries traffic again: after the start op, and after a
     * reopen (tell the network, which may have forgotten us).  The thread
     * that started or reopened, no lock.  NULL: nothing. */
    void (*resumed)(struct runner *r);
    /* The addr_event op.  NULL: nothing. */
    void (*addr_event)(struct runner *r, const struct glan_addr *addr, int registered);
    /* Close what open opened and forget what start made (the engine and what
     * it held).  Close op, after the device closed, under r->lock.
     * Required. */
    void (*close)(struct runner *r);
    /* The link's part of the status: params, facts.  Under r->lock, any
     * thread.  NULL: nothing more. */
    void (*status)(struct runner *r, struct glan_uplink_status *out);
    /* Free r->link_state (after close).  NULL: nothing to free. */
    void (*destroy)(struct runner *r);
};

struct runner {
    struct glan_uplink u;       /* first: the base sees only this */
    struct glan_uplink_ops ops; /* the runner's vtable with the device's kind name */
    const struct runner_dev *dev;
    const struct runner_link *link; /* NULL: layer 3, datagrams as they are */
    void *dev_state, *link_state;
    pthread_mutex_t lock;     /* the device and the link layer (see above) */
    pthread_mutex_t err_lock; /* u->err and err_seq */
    unsigned err_seq;         /* messages written so far */
    int fd;                   /* the device's descriptor, -1 closed (dev->open sets it) */
    char ifname[16];          /* the interface in use (dev->open sets it) */
    int ifindex;              /* its index when opened */
    int wake;                 /* eventfd: stop requests, "watch for POLLOUT" */
    int nl;                   /* link watcher, -1 if unavailable */
    int timer;                /* the link's timer descriptor, -1 none */
    int started;              /* the start op ran (dev->ready applies to reopens) */
    uint32_t mtu_cfg;         /* the network's MTU as configured, 0: the device's (u->mtu) */
    pthread_t rx;
    int rx_running;
    atomic_int stopping;
    atomic_int want_pollout;
    atomic_int down;      /* the device failed or went: send answers -ENETDOWN */
    int retries;          /* reopens refused for now (EBUSY), in this outage */
    int retry_due;        /* 1: try again after a pause; 2: now, once links are read */
    uint64_t read_errors; /* reads that failed (receive thread) */
    atomic_uint_fast64_t gone_events, recoveries, tx_down, tx_blocked;
    atomic_uint_fast64_t rx_wakeups, rx_empty; /* POLLIN on the device; reads that found none */
};

/* A new uplink over dev (and link, NULL for layer 3), not yet opened, with
 * the device's and the link's state.  NULL when memory is short (the states
 * are then the caller's to free). */
struct runner *runner_new(const struct runner_dev *dev, const struct runner_link *link,
                          void *dev_state, void *link_state);
/* The runner behind u, or NULL when u is not one. */
struct runner *runner_of(struct glan_uplink *u);
/* Set u->err (any thread). */
void runner_err(struct runner *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Write one unit to the device, under r->lock: dev->write, -ENETDOWN while
 * closed, and on -EAGAIN the receive thread watches for room (tx_blocked). */
int runner_write(struct runner *r, const uint8_t *unit, size_t len);
/* The uplink's message into buf, read under the lock that guards it. */
void runner_message(struct runner *r, char *buf, size_t len);

#endif
