/*
 * What the layer-2 uplinks (tap.c, pcaplive.c) share: the uplink vtable over
 * the layer-2 engine, its lock, the receive thread and the resolution timer
 * (l2port.c).  A device supplies only open/close/read/write of whole Ethernet
 * frames, and says which interface it is on (ifname) so that the receive
 * thread can reopen it when the interface is deleted and returns.  Internal
 * to src/uplink.
 */
#ifndef GLAN_UPLINK_L2PORT_H
#define GLAN_UPLINK_L2PORT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "guestlan/l2.h"
#include "guestlan/uplink.h"

struct l2port;

struct l2port_dev {
    const char *kind; /* "tap", "pcaplive" */
    /* Open the device, set p->fd to a descriptor poll() can wait on and
     * p->ifname to the interface.  0, or a negative errno with the message
     * set by l2port_err.  While p->recovering the device must exist already:
     * a reopen never creates one. */
    int (*open)(struct l2port *p);
    /* Optional: the engine exists now (its MAC is known): finish setting up
     * (the capture filter).  0, or a negative errno with a message. */
    int (*ready)(struct l2port *p);
    void (*close)(struct l2port *p);
    /* One frame, called under p->lock.  0, -EAGAIN (no room: the thread
     * watches for POLLOUT), -ENETDOWN, or another negative errno. */
    int (*write)(struct l2port *p, const uint8_t *frame, size_t len);
    /* The next frame without blocking: 1 with *frame and *len set (valid until
     * the next read), 0 when none is ready, or a negative errno. */
    int (*read)(struct l2port *p, const uint8_t **frame, size_t *len);
    /* Free what the device part allocated (after close). */
    void (*destroy)(struct l2port *p);
};

struct l2port {
    struct glan_uplink u; /* first: the base sees only this */
    const struct l2port_dev *dev;
    struct glan_uplink_ops ops; /* l2port_ops with the device's kind name */
    struct glan_l2_config cfg;  /* lan_name not kept: the LAN's name is used */
    struct glan_l2 *l2;         /* made at the first use after attach */
    pthread_mutex_t lock;       /* the engine and the timer */
    pthread_mutex_t err_lock;   /* u->err: written from two threads */
    int fd;                     /* the device's selectable descriptor, -1 closed */
    int wake;                   /* eventfd: stop requests, "watch for POLLOUT" */
    int timer;                  /* timerfd: the engine's next deadline */
    uint64_t armed;             /* the deadline the timer is set to */
    pthread_t rx;
    int rx_running;
    atomic_int stopping;
    atomic_int want_pollout;
    atomic_int down; /* the device failed: send answers -ENETDOWN */
    uint64_t read_errors;
    /* Recovery (the receive thread's): the interface is watched through
     * netlink (linkwatch.h) and reopened when a link of its name returns. */
    char ifname[16]; /* the interface in use, set by dev->open */
    int ifindex;     /* its index when opened */
    int nl;          /* link watcher, -1 if unavailable */
    int recovering;  /* dev->open is a reopen */
    int retries;     /* reopens refused for now (EBUSY), in this outage */
    int retry_due;   /* nonzero: try again after RECOVER_RETRY_MS */
    atomic_uint_fast64_t gone_events, recoveries, tx_down;
    atomic_uint_fast64_t rx_wakeups, rx_empty; /* POLLIN on the device; reads that found none */
    void *priv;                                /* the device's own state */
};

extern const struct glan_uplink_ops l2port_ops;

/* Fill in the common part of a new uplink (fd etc. closed, lock ready). */
void l2port_init(struct l2port *p, const struct l2port_dev *dev, const struct glan_l2_config *cfg);
/* Set u->err (thread-safe against the receive thread). */
void l2port_err(struct l2port *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Ask the receive thread to watch for room to write. */
void l2port_want_pollout(struct l2port *p);
/* The l2port behind u, or NULL when u is not a layer-2 uplink. */
struct l2port *l2port_of(struct glan_uplink *u);

#endif
