/*
 * What the TUN and TAP uplinks (tun.c, tap.c) share of a device of the
 * kernel's tun driver (/dev/net/tun, without the packet-information
 * header): checking the configured name and MTU, opening /dev/net/tun and
 * attaching it to a device (TUNSETIFF) with messages that say what to do,
 * bringing the device up, and the reads, writes, close and destroy of the
 * device runner (runner.h).  What differs stays in each file: the order of
 * the steps of an open, how far configuring the MTU and up state goes, and
 * how a failed read or write tells a deleted device from one that is down.
 *
 * Every message starts with the kind ("tun IFNAME: ..."), as each file's own
 * messages did.  The device's state (r->dev_state) starts with a struct
 * tundev.  Internal to src/uplink.
 */
#ifndef GLAN_UPLINK_TUNDEV_H
#define GLAN_UPLINK_TUNDEV_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#include "runner.h"

/* One kind of device of the tun driver, and the words of its messages. */
struct tundev_kind {
    const char *kind;      /* first word of messages, 'mode KIND' of ip tuntap: "tun" */
    const char *upper;     /* the device type in prose: "TUN" */
    short flags;           /* TUNSETIFF's: IFF_TUN | IFF_NO_PI */
    const char *bad_chars; /* characters a configured name may not hold */
    const char *bad_shown; /* how the message lists them: "'/', ' ', '%'" */
    const char *not_ours;  /* what follows "exists but is not a TUN device without packet
                            * information" when TUNSETIFF refuses an existing device */
    size_t rx_size;        /* the receive buffer: one read takes the largest unit whole */
};

/* The first member of the device's state (r->dev_state). */
struct tundev {
    const struct tundev_kind *k;
    char want[IFNAMSIZ]; /* configured name, "" for the kernel's choice */
    uint8_t *rxbuf;      /* k->rx_size bytes, made by the first open */
};

/* The configured name (NULL: "") and MTU (0: leave it; else 68..65535) of a
 * device of kind k: 0, or -EINVAL with the message in err. */
int tundev_check(const struct tundev_kind *k, const char *name, uint32_t mtu, char *err,
                 size_t errlen);
/* Set td up for kind k with the configured name (checked, NULL: ""). */
void tundev_init(struct tundev *td, const struct tundev_kind *k, const char *name);
/* Is there a device (any link) named name?  0 for "". */
int tundev_exists(const char *name);

/* Open /dev/net/tun: the descriptor, or a negative errno with the message. */
int tundev_open(struct runner *r);
/* Attach fd (from tundev_open) to the device name, or to a new one the
 * kernel names when name is "": r->fd and r->ifname set, 0.  Or a negative
 * errno with the message, fd closed.  shown: the name as the message gives
 * it; existed: the device was there before (tundev_exists). */
int tundev_setiff(struct runner *r, int fd, const char *name, const char *shown, int existed);
/* A socket for the interface ioctls, with ifr cleared and naming r->ifname:
 * the socket, or a negative errno with the message. */
int tundev_ctl_open(struct runner *r, struct ifreq *ifr);
/* Set the device of ifr (its flags as SIOCGIFFLAGS read them) up through
 * the socket s: 0, or a negative errno with a message that says how to do
 * it beforehand. */
int tundev_bring_up(struct runner *r, int s, struct ifreq *ifr);
/* The end of an open (r->fd set): rc what configuring the device came to;
 * on success the receive buffer is made once.  0, or rc (or -ENOMEM with
 * the message) with the device closed. */
int tundev_open_end(struct runner *r, int rc);

/* The runner device's read (runner.h): 1 with a unit, 0 none ready, or the
 * negative errno of the read. */
int tundev_read(struct runner *r, const uint8_t **unit, size_t *len);
/* Write one unit: 0; -EAGAIN when the device has no room (the runner
 * watches for it); or the negative errno of the write (-EIO when it took
 * part of the unit), which the device's write makes -ENETDOWN when it means
 * the device is gone or down. */
int tundev_write(struct runner *r, const uint8_t *unit, size_t len);
/* The runner device's close: a device we created goes with it. */
void tundev_close(struct runner *r);
/* The runner device's destroy: the receive buffer and the state. */
void tundev_destroy(struct runner *r);

#endif
