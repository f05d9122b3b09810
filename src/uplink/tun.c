/*
 * The TUN uplink (include/guestlan/tun.h).  send() writes each datagram the
 * base hands the uplink to the TUN device as it is; the receive thread sleeps
 * in poll() on the device, an eventfd (stop requests, and "watch for room
 * again" after a write was refused) and a NETLINK_ROUTE socket subscribed to
 * link changes, and hands every datagram the host sends into the device to
 * glan_uplink_input().  Every wake-up is an event; the one timeout is while
 * a device that came back is still held by the program that made it.
 *
 * Deleted device: the kernel detaches our file from the device, after which
 * poll() reports POLLERR and reads and writes fail with EBADFD.  We mark the
 * uplink gone (send() then answers -ENETDOWN, which the base counts as
 * port_down) and wait for netlink to announce a link of the same name; then
 * we attach a new file to it and dup3() it over the old descriptor, so the
 * number send() uses never changes and needs no lock.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "guestlan/tun.h"
#include "linkwatch.h"

/* The largest IP datagram: whatever the host sends, one read takes it whole
 * (the base drops what exceeds its buffers, counted as too_big). */
#define RX_BUF 65536
/* Datagrams read per wake-up before looking at the other descriptors again,
 * so a flood from the host cannot starve a stop request. */
#define RX_BUDGET 64
/* A device that reappears may still be held by the program that made it:
 * tries, RECOVER_RETRY_MS apart, before waiting for the next link event. */
#define RECOVER_RETRIES  50
#define RECOVER_RETRY_MS 100

struct tun {
    struct glan_uplink u; /* first: the base sees only this */
    struct glan_tun_config cfg;
    char want[IFNAMSIZ]; /* configured name, "" for the kernel's choice */
    char name[IFNAMSIZ]; /* the device in use */
    int fd;              /* the TUN file, -1 when closed */
    int wake;            /* eventfd: stop requests and "poll for POLLOUT" */
    int nl;              /* NETLINK_ROUTE link monitor, -1 if unavailable */
    int ifindex;
    int created, persistent;
    uint32_t mtu;
    int retry_index; /* nonzero: try_recover(retry_index) again after a pause */
    int retries;
    uint8_t *rxbuf;
    pthread_t rx;
    int rx_running;
    atomic_int stopping;
    atomic_int gone;
    atomic_int want_pollout;
    atomic_uint_fast64_t gone_events, recoveries, tx_down, tx_blocked;
    pthread_mutex_t err_lock;   /* u->err is written from two threads */
    pthread_mutex_t state_lock; /* name, ifindex, created, persistent, mtu: the
                                 * receive thread changes them on recovery */
};

static const struct glan_uplink_ops tun_ops;

static struct tun *as_tun(struct glan_uplink *u)
{
    return u && u->ops == &tun_ops ? (struct tun *)u : NULL;
}

static void set_err(struct tun *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_err(struct tun *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&t->err_lock);
    vsnprintf(t->u.err, sizeof t->u.err, fmt, ap);
    pthread_mutex_unlock(&t->err_lock);
    va_end(ap);
}

static void wake_rx(struct tun *t)
{
    uint64_t one = 1;
    if (t->wake >= 0 && write(t->wake, &one, sizeof one) < 0) {
        /* the counter is saturated: the thread has a wake-up pending anyway */
    }
}

/* ---- the device ---------------------------------------------------------- */

/* Open /dev/net/tun and attach it to name (or a new tunN).  The descriptor,
 * or a negative errno with the message in t->u.err. */
static int attach_device(struct tun *t, const char *name, char *got)
{
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT || e == ENODEV)
            set_err(t, "tun: /dev/net/tun is missing: load the tun module (modprobe tun)");
        else
            set_err(t, "tun: cannot open /dev/net/tun: %s", strerror(e));
        return -e;
    }
    int existed = name[0] && if_nametoindex(name) != 0;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        close(fd);
        if (e == EPERM && existed)
            set_err(t,
                    "tun %s: permission denied: the device belongs to another user; "
                    "recreate it with 'ip tuntap add dev %s mode tun user USER'",
                    name, name);
        else if (e == EPERM)
            set_err(t,
                    "tun %s: creating a TUN device needs CAP_NET_ADMIN; create it beforehand "
                    "with 'ip tuntap add dev %s mode tun user USER'",
                    name[0] ? name : "(any)", name[0] ? name : "NAME");
        else if (e == EBUSY)
            set_err(t, "tun %s: the device is in use by another program", name);
        else if (e == EINVAL && existed)
            set_err(t,
                    "tun %s: exists but is not a TUN device without packet information "
                    "(a TAP device, or one made with 'pi'?)",
                    name);
        else
            set_err(t, "tun %s: TUNSETIFF: %s", name[0] ? name : "(any)", strerror(e));
        return -e;
    }
    snprintf(got, IFNAMSIZ, "%s", ifr.ifr_name);
    t->created = !existed;
    memset(&ifr, 0, sizeof ifr);
    t->persistent = ioctl(fd, TUNGETIFF, &ifr) == 0 && (ifr.ifr_flags & IFF_PERSIST);
    return fd;
}

/* The MTU and up state the configuration asks for; read the MTU back. */
static int configure_device(struct tun *t)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        int e = errno;
        set_err(t, "tun %s: socket: %s", t->name, strerror(e));
        return -e;
    }
    int rc = 0;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", t->name);
    if (ioctl(s, SIOCGIFMTU, &ifr) == 0)
        t->mtu = (uint32_t)ifr.ifr_mtu;
    if (t->cfg.mtu && t->mtu != t->cfg.mtu) {
        ifr.ifr_mtu = (int)t->cfg.mtu;
        if (ioctl(s, SIOCSIFMTU, &ifr) < 0) {
            rc = -errno;
            set_err(t,
                    "tun %s: cannot set the MTU to %u (it is %u): %s; set it beforehand with "
                    "'ip link set dev %s mtu %u'",
                    t->name, t->cfg.mtu, t->mtu, strerror(-rc), t->name, t->cfg.mtu);
            goto out;
        }
        t->mtu = t->cfg.mtu;
    }
    if (t->cfg.up) {
        if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
            rc = -errno;
            set_err(t, "tun %s: SIOCGIFFLAGS: %s", t->name, strerror(-rc));
            goto out;
        }
        if (!(ifr.ifr_flags & IFF_UP)) {
            ifr.ifr_flags |= IFF_UP;
            if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
                rc = -errno;
                set_err(t,
                        "tun %s: cannot bring the device up: %s; do it beforehand with "
                        "'ip link set dev %s up'",
                        t->name, strerror(-rc), t->name);
                goto out;
            }
        }
    }
out:
    close(s);
    return rc;
}

static int device_is_up(const struct tun *t)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return 1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", t->name);
    int up = ioctl(s, SIOCGIFFLAGS, &ifr) < 0 || (ifr.ifr_flags & IFF_UP);
    close(s);
    return up;
}

/* Is our file still attached to a device?  After the device is deleted the
 * kernel answers TUNGETIFF with EBADFD. */
static int still_attached(const struct tun *t)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    return ioctl(t->fd, TUNGETIFF, &ifr) == 0;
}

/* The device went away.  Only the first report counts. */
static void mark_gone(struct tun *t)
{
    if (atomic_exchange(&t->gone, 1))
        return;
    atomic_fetch_add(&t->gone_events, 1);
    set_err(t,
            "tun %s: the device was deleted; the LAN keeps serving its guests, datagrams for "
            "the network are dropped (port_down) until a TUN device named %s returns",
            t->name, t->name);
}

/* A link named like ours, with index ifindex, appeared while we were gone:
 * attach to it.  The kernel also announces the old device while it goes away
 * (same index), and TUNSETIFF would create a device that does not exist, so
 * only a new index that still carries our name will do, and a device that
 * turns out to be of our own making is let go again. */
static void try_recover_locked(struct tun *t, int ifindex);

static void try_recover(struct tun *t, int ifindex)
{
    pthread_mutex_lock(&t->state_lock);
    try_recover_locked(t, ifindex);
    pthread_mutex_unlock(&t->state_lock);
}

static void try_recover_locked(struct tun *t, int ifindex)
{
    char got[IFNAMSIZ];
    if (ifindex <= 0 || ifindex == t->ifindex || (int)if_nametoindex(t->name) != ifindex) {
        t->retry_index = 0;
        return;
    }
    int fd = attach_device(t, t->name, got);
    if (fd == -EBUSY && t->retries < RECOVER_RETRIES) {
        /* Whoever made it (ip tuntap add) still holds it for a moment, and
         * letting go of it makes no link event: look again shortly. */
        t->retry_index = ifindex;
        t->retries++;
        return;
    }
    t->retry_index = 0;
    t->retries = 0;
    if (fd < 0)
        return; /* the message says why; the next link event tries again */
    if (t->created) {
        close(fd); /* it vanished under us: that one goes again */
        t->created = 0;
        return;
    }
    if (dup3(fd, t->fd, O_CLOEXEC) < 0) {
        set_err(t, "tun %s: dup3: %s", t->name, strerror(errno));
        close(fd);
        return;
    }
    close(fd);
    t->ifindex = ifindex;
    if (configure_device(t) < 0) {
        /* attached, but not as configured: say so, and carry on */
    } else {
        set_err(t, "tun %s: the device is back; the uplink resumed", t->name);
    }
    atomic_fetch_add(&t->recoveries, 1);
    atomic_store(&t->gone, 0);
}

/* ---- netlink: links appearing and disappearing (linkwatch.c) ---------------- */

static void nl_event(void *arg, const struct glan_link_event *ev)
{
    struct tun *t = arg;
    if (!ev->added && ev->index == t->ifindex && !still_attached(t))
        mark_gone(t);
    else if (ev->added && atomic_load(&t->gone) && ev->name &&
             !strncmp(ev->name, t->name, IFNAMSIZ))
        try_recover(t, ev->index);
}

static void nl_read(struct tun *t)
{
    if (glan_linkwatch_read(t->nl, nl_event, t)) {
        /* what we may have missed: our device going, or coming back */
        if (!atomic_load(&t->gone) && !still_attached(t))
            mark_gone(t);
        else if (atomic_load(&t->gone))
            try_recover(t, (int)if_nametoindex(t->name));
    }
}

/* ---- the vtable ------------------------------------------------------------ */

static int tun_open_locked(struct tun *t);

static int tun_open(struct glan_uplink *u)
{
    struct tun *t = (struct tun *)u;
    if (t->fd >= 0)
        return 0;
    pthread_mutex_lock(&t->state_lock);
    int rc = tun_open_locked(t);
    pthread_mutex_unlock(&t->state_lock);
    return rc;
}

static int tun_open_locked(struct tun *t)
{
    int fd = attach_device(t, t->want, t->name);
    if (fd < 0)
        return fd;
    t->fd = fd;
    t->ifindex = (int)if_nametoindex(t->name);
    int rc = configure_device(t);
    if (rc == 0) {
        t->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (t->wake < 0) {
            rc = -errno;
            set_err(t, "tun %s: eventfd: %s", t->name, strerror(-rc));
        }
    }
    if (rc == 0 && !t->rxbuf && !(t->rxbuf = malloc(RX_BUF))) {
        rc = -ENOMEM;
        set_err(t, "tun %s: out of memory", t->name);
    }
    if (rc < 0) {
        close(t->fd);
        t->fd = -1;
        if (t->wake >= 0)
            close(t->wake);
        t->wake = -1;
        return rc;
    }
    /* Without netlink the uplink works, but cannot notice a device that
     * comes back. */
    t->nl = glan_linkwatch_open();
    atomic_store(&t->gone, 0);
    atomic_store(&t->want_pollout, 0);
    t->u.err[0] = 0;
    return 0;
}

static int tun_send(struct glan_uplink *u, const struct glan_dgram *dg)
{
    struct tun *t = (struct tun *)u;
    for (int tries = 0;; tries++) {
        if (atomic_load(&t->gone)) {
            atomic_fetch_add(&t->tx_down, 1);
            glan_uplink_count(&u->stats.tx_errors, 1);
            return -ENETDOWN;
        }
        ssize_t n = write(t->fd, dg->data, dg->len);
        if (n == (ssize_t)dg->len) {
            glan_uplink_count(&u->stats.tx_packets, 1);
            glan_uplink_count(&u->stats.tx_bytes, dg->len);
            return 0;
        }
        int e = n < 0 ? errno : EIO;
        if (e == EINTR)
            continue;
        if (e == EAGAIN || e == ENOBUFS || e == ENOMEM) {
            /* The receive thread watches for POLLOUT and kicks the port. */
            atomic_fetch_add(&t->tx_blocked, 1);
            atomic_store(&t->want_pollout, 1);
            wake_rx(t);
            return -EAGAIN;
        }
        if (e == EBADFD) {
            /* the descriptor may have been swapped for a recovered device
             * between our check and the write: one more try then */
            if (tries == 0 && still_attached(t))
                continue;
            mark_gone(t);
            wake_rx(t); /* so that it kicks what waits, and they drop */
            atomic_fetch_add(&t->tx_down, 1);
            glan_uplink_count(&u->stats.tx_errors, 1);
            return -ENETDOWN;
        }
        glan_uplink_count(&u->stats.tx_errors, 1);
        if (e == EIO && !device_is_up(t)) {
            atomic_fetch_add(&t->tx_down, 1);
            return -ENETDOWN;
        }
        return -e;
    }
}

static int tun_rx_fd(struct glan_uplink *u)
{
    return ((struct tun *)u)->fd;
}

/* One datagram from the host.  With IFF_NO_PI the kernel hands us bare IP;
 * anything else is counted and skipped. */
static void rx_one(struct tun *t, const uint8_t *p, size_t n)
{
    unsigned v = n ? p[0] >> 4 : 0;
    if ((v == 4 && n >= 20) || (v == 6 && n >= 40))
        glan_uplink_input(&t->u, p, n, 0);
    else if (v == 4 || v == 6)
        glan_uplink_count(&t->u.stats.rx_errors, 1);
    else
        glan_uplink_count(&t->u.stats.rx_skipped, 1);
}

static int tun_receive(struct glan_uplink *u, int budget)
{
    struct tun *t = (struct tun *)u;
    if (t->fd < 0 || !t->rxbuf || !u->port)
        return -EINVAL;
    if (atomic_load(&t->gone))
        return -ENETDOWN;
    int got = 0;
    while (got < budget) {
        ssize_t n = read(t->fd, t->rxbuf, RX_BUF);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                break;
            if (errno == EBADFD && !still_attached(t)) {
                mark_gone(t);
                return got ? got : -ENETDOWN;
            }
            glan_uplink_count(&u->stats.rx_errors, 1);
            return got ? got : -errno;
        }
        rx_one(t, t->rxbuf, (size_t)n);
        got++;
    }
    return got;
}

static void tun_close(struct glan_uplink *u)
{
    struct tun *t = (struct tun *)u;
    glan_tun_stop(u);
    if (t->fd >= 0)
        close(t->fd); /* a device we created goes with it */
    if (t->wake >= 0)
        close(t->wake);
    if (t->nl >= 0)
        close(t->nl);
    t->fd = t->wake = t->nl = -1;
}

static void tun_destroy(struct glan_uplink *u)
{
    struct tun *t = (struct tun *)u;
    tun_close(u);
    free(t->rxbuf);
    pthread_mutex_destroy(&t->err_lock);
    pthread_mutex_destroy(&t->state_lock);
    free(t);
}

static const struct glan_uplink_ops tun_ops = {
    .kind = "tun",
    .open = tun_open,
    .send = tun_send,
    .rx_fd = tun_rx_fd,
    .receive = tun_receive,
    .start = glan_tun_start,
    .stop = glan_tun_stop,
    .close = tun_close,
    .destroy = tun_destroy,
};

/* ---- the receive thread ------------------------------------------------------ */

static void *rx_thread(void *arg)
{
    struct tun *t = arg;
    while (!atomic_load(&t->stopping)) {
        int gone = atomic_load(&t->gone);
        short out = atomic_load(&t->want_pollout) ? POLLOUT : 0;
        struct pollfd p[3] = {
            {.fd = t->wake, .events = POLLIN},
            {.fd = gone ? -1 : t->fd, .events = (short)(POLLIN | out)},
            {.fd = t->nl, .events = POLLIN},
        };
        /* The only timeout: a recovery that waits for a device to be free. */
        int timeout = gone && t->retry_index ? RECOVER_RETRY_MS : -1;
        int n = poll(p, 3, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            set_err(t, "tun %s: poll: %s; receive stopped", t->name, strerror(errno));
            break;
        }
        if (n == 0) {
            try_recover(t, t->retry_index);
            if (!atomic_load(&t->gone))
                glan_port_kick(t->u.port);
            continue;
        }
        if (p[0].revents & POLLIN) {
            uint64_t v;
            if (read(t->wake, &v, sizeof v) < 0) {
                /* nothing pending after all */
            }
            if (atomic_load(&t->stopping))
                break;
            if (atomic_load(&t->gone)) /* send() saw it first: drop what waits */
                glan_port_kick(t->u.port);
        }
        if (p[1].revents & (POLLERR | POLLHUP | POLLNVAL)) {
            if (!still_attached(t)) {
                mark_gone(t);
                glan_port_kick(t->u.port);
            } else {
                glan_uplink_count(&t->u.stats.rx_errors, 1);
            }
        }
        if (p[1].revents & POLLIN) {
            if (tun_receive(&t->u, RX_BUDGET) == -ENETDOWN)
                glan_port_kick(t->u.port);
        }
        if (p[1].revents & POLLOUT) {
            atomic_store(&t->want_pollout, 0);
            glan_port_kick(t->u.port);
        }
        if (p[2].revents & POLLIN) {
            int was_gone = atomic_load(&t->gone);
            nl_read(t);
            if (was_gone != atomic_load(&t->gone))
                glan_port_kick(t->u.port);
        }
    }
    return NULL;
}

int glan_tun_start(struct glan_uplink *u)
{
    struct tun *t = as_tun(u);
    if (!t || !u->port || t->fd < 0)
        return -EINVAL;
    if (t->rx_running)
        return 0;
    atomic_store(&t->stopping, 0);
    int rc = pthread_create(&t->rx, NULL, rx_thread, t);
    if (rc != 0) {
        set_err(t, "tun %s: cannot start the receive thread: %s", t->name, strerror(rc));
        return -rc;
    }
    t->rx_running = 1;
    return 0;
}

void glan_tun_stop(struct glan_uplink *u)
{
    struct tun *t = as_tun(u);
    if (!t || !t->rx_running)
        return;
    atomic_store(&t->stopping, 1);
    wake_rx(t);
    pthread_join(t->rx, NULL);
    t->rx_running = 0;
}

int glan_tun_attach(struct glan_lan *lan, struct glan_uplink *u)
{
    /* glan_uplink_attach starts the receive thread through ops->start. */
    return as_tun(u) ? glan_uplink_attach(lan, u) : -EINVAL;
}

void glan_tun_detach(struct glan_uplink *u)
{
    glan_uplink_detach(u); /* ops->stop ends the thread before the port goes */
}

int glan_tun_status(struct glan_uplink *u, struct glan_tun_status *out)
{
    struct tun *t = as_tun(u);
    if (!t)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&t->state_lock);
    snprintf(out->ifname, sizeof out->ifname, "%s", t->name);
    out->mtu = t->mtu;
    out->open = t->fd >= 0;
    out->created = t->created;
    out->persistent = t->persistent;
    pthread_mutex_unlock(&t->state_lock);
    pthread_mutex_lock(&t->err_lock);
    memcpy(out->message, t->u.err, sizeof out->message);
    pthread_mutex_unlock(&t->err_lock);
    out->message[sizeof out->message - 1] = 0;
    out->gone = atomic_load(&t->gone);
    out->rx_thread = t->rx_running;
    out->gone_events = atomic_load(&t->gone_events);
    out->recoveries = atomic_load(&t->recoveries);
    out->tx_down = atomic_load(&t->tx_down);
    out->tx_blocked = atomic_load(&t->tx_blocked);
    return 0;
}

struct glan_uplink *glan_tun_create(const struct glan_tun_config *cfg, char *err, size_t errlen)
{
    const char *name = cfg && cfg->ifname ? cfg->ifname : "";
    if (strlen(name) >= IFNAMSIZ || strchr(name, '/') || strchr(name, ' ') || strchr(name, '%')) {
        snprintf(err, errlen,
                 "tun: bad device name '%s' (at most %d characters, no '/', ' ', "
                 "'%%')",
                 name, IFNAMSIZ - 1);
        return NULL;
    }
    if (cfg && cfg->mtu && (cfg->mtu < 68 || cfg->mtu > 65535)) {
        snprintf(err, errlen, "tun: MTU %u is out of range (68..65535)", cfg->mtu);
        return NULL;
    }
    struct tun *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "tun: out of memory");
        return NULL;
    }
    t->u.ops = &tun_ops;
    if (cfg)
        t->cfg = *cfg;
    t->cfg.ifname = NULL; /* the caller's string may not outlive us: keep a copy */
    snprintf(t->want, sizeof t->want, "%s", name);
    t->fd = t->wake = t->nl = -1;
    pthread_mutex_init(&t->err_lock, NULL);
    pthread_mutex_init(&t->state_lock, NULL);
    return &t->u;
}
