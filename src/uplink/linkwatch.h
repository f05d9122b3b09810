/*
 * Watching the host's network interfaces come and go, for the device runner
 * (runner.c), which reopens an uplink's device when it was deleted and
 * returns: a NETLINK_ROUTE socket subscribed to link changes, and a reader
 * that hands each link message to a callback.
 * Internal to src/uplink: its symbols are the library's but not public, so
 * they carry no glan_ prefix.
 */
#ifndef GLAN_UPLINK_LINKWATCH_H
#define GLAN_UPLINK_LINKWATCH_H

/* One link message. */
struct link_event {
    int added;        /* RTM_NEWLINK (a link appeared or changed); 0: RTM_DELLINK */
    int index;        /* its interface index */
    unsigned flags;   /* IFF_UP etc. */
    const char *name; /* its name, NULL when the message had none */
    unsigned mtu;     /* its MTU, 0 when the message had none */
};

/* A non-blocking socket receiving link messages, or -1 when the kernel will
 * not give one (the uplink then works, but cannot notice a device return). */
int linkwatch_open(void);

/* Read every pending message and call fn for each link message.  Returns 1
 * when the kernel dropped messages for us (the socket buffer overflowed):
 * the caller must look at its device's state itself; else 0. */
int linkwatch_read(int fd, void (*fn)(void *arg, const struct link_event *ev), void *arg);

#endif
