/*
 * The device runner (runner.h): one life cycle for every uplink over a host
 * device.  The vtable the base calls is here; the device's own work (what
 * open, read and write mean for a TUN device, a TAP device, a live capture)
 * is behind struct runner_dev, the layer-2 engine behind struct runner_link.
 *
 * The receive thread sleeps in poll() on four descriptors and nothing else:
 * the device (units arrived, or room to write again), an eventfd (stop
 * requests, "watch for POLLOUT"), the link layer's timer, and a netlink
 * socket watching the host's links (linkwatch.c).  The one timeout is while
 * a device that came back is still held by the program that made it.  A
 * unit read goes through the link layer under the lock; the datagram it
 * yields is handed to glan_uplink_input() after the lock is released,
 * because the base may take its time delivering it and send must not wait.
 *
 * An outage.  The device fails under the thread (poll() reports an error: a
 * TAP or TUN device deleted, an interface removed or taken down under a
 * capture), a read or write finds it gone, or netlink says its link was
 * deleted: the uplink is marked down (only the first report of an outage
 * counts), says so, and kicks its port, so that what waits for the network
 * is dropped as port_down.  When a link of the same name appears (or, where
 * the device allows, the old one comes up again), the thread closes the dead
 * device and opens it again under the lock: the link layer's state (the
 * engine, its neighbour cache and MAC) stays, the device's ready runs again,
 * the link resumes (announces the LAN's addresses), the port is kicked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "linkwatch.h"
#include "runner.h"
#include "guestlan/wire.h"

/* Units read per wake-up before looking at the other descriptors again, so
 * a flood from the network cannot starve a stop request or the timer. */
#define RX_BUDGET 64
/* Reopens refused with EBUSY (a device that reappears may still be held by
 * the program that made it, and letting go of it makes no link message),
 * RECOVER_RETRY_MS apart, before waiting for the next link message. */
#define RECOVER_RETRIES  50
#define RECOVER_RETRY_MS 100

void runner_err(struct runner *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&r->err_lock);
    vsnprintf(r->u.err, sizeof r->u.err, fmt, ap);
    r->err_seq++;
    pthread_mutex_unlock(&r->err_lock);
    va_end(ap);
}

void runner_message(struct runner *r, char *buf, size_t len)
{
    pthread_mutex_lock(&r->err_lock);
    snprintf(buf, len, "%s", r->u.err);
    pthread_mutex_unlock(&r->err_lock);
}

static unsigned err_seq(struct runner *r)
{
    pthread_mutex_lock(&r->err_lock);
    unsigned s = r->err_seq;
    pthread_mutex_unlock(&r->err_lock);
    return s;
}

static void wake_rx(struct runner *r)
{
    uint64_t one = 1;
    if (r->wake >= 0 && write(r->wake, &one, sizeof one) < 0) {
        /* the counter is saturated: a wake-up is pending anyway */
    }
}

int runner_write(struct runner *r, const uint8_t *unit, size_t len)
{
    if (r->fd < 0) /* closed while the receive thread reopens it */
        return -ENETDOWN;
    int rc = r->dev->write(r, unit, len);
    if (rc == -EAGAIN) {
        atomic_fetch_add(&r->tx_blocked, 1);
        atomic_store(&r->want_pollout, 1);
        wake_rx(r);
    }
    return rc;
}

/* ---- the MTU ---------------------------------------------------------------------- */

/* The interface's MTU, 0 when it cannot be read. */
static uint32_t device_mtu(const char *name)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return 0;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    uint32_t mtu = ioctl(s, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu > 0 ? (uint32_t)ifr.ifr_mtu : 0;
    close(s);
    return mtu;
}

/* The uplink's MTU after an open: the configured one, else the device's
 * (which the device's open may have just set). */
static void learn_mtu(struct runner *r)
{
    uint32_t mtu = r->mtu_cfg ? r->mtu_cfg : device_mtu(r->ifname);
    if (mtu)
        glan_uplink_set_mtu(&r->u, mtu);
}

/* ---- outages and reopens ---------------------------------------------------------- */

/* The device went away or failed.  Only the first report of an outage counts.
 * Never with r->lock held: the kick may deliver to our own send. */
static void mark_down(struct runner *r)
{
    if (atomic_exchange(&r->down, 1))
        return;
    atomic_fetch_add(&r->gone_events, 1);
    runner_err(r,
               "%s %s: %s; the LAN keeps serving its guests, datagrams for the network are "
               "dropped (port_down) until %s%s returns",
               r->dev->kind, r->ifname, r->dev->lost, r->dev->awaited, r->ifname);
    if (r->u.port)
        glan_port_kick(r->u.port); /* what waits for the network drops now */
}

static unsigned link_flags(const char *name)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return 0;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    unsigned f = ioctl(s, SIOCGIFFLAGS, &ifr) == 0 ? (unsigned)(uint16_t)ifr.ifr_flags : 0;
    close(s);
    return f;
}

/* Worth reopening: a new link of our name, or (where the device allows) the
 * old one up again.  The old link also announces itself while it is being
 * deleted. */
static int usable(const struct runner *r, int index, unsigned flags)
{
    return index > 0 && (index != r->ifindex || (r->dev->same_link_returns && (flags & IFF_UP)));
}

/* Under r->lock: close the dead device and open it again.  0 or the error. */
static int reopen_locked(struct runner *r)
{
    if (r->fd >= 0)
        r->dev->close(r);
    r->fd = -1;
    int rc = r->dev->open(r, 1);
    if (rc == 0 && r->started && r->dev->ready)
        rc = r->dev->ready(r);
    if (rc < 0 && r->fd >= 0)
        r->dev->close(r);
    if (rc < 0)
        r->fd = -1;
    return rc;
}

/* Reopen the device if a usable link of its name is there now (receive
 * thread). */
static void try_recover(struct runner *r)
{
    int index = (int)if_nametoindex(r->ifname);
    if (!atomic_load(&r->down) || !usable(r, index, link_flags(r->ifname))) {
        r->retry_due = 0;
        return;
    }
    unsigned seq = err_seq(r);
    pthread_mutex_lock(&r->lock);
    int rc = reopen_locked(r);
    pthread_mutex_unlock(&r->lock);
    if (rc == -EBUSY && r->retries < RECOVER_RETRIES) {
        r->retries++;
        r->retry_due = 1;
        return;
    }
    r->retry_due = 0;
    r->retries = 0;
    if (rc < 0)
        return; /* the message says why; the next link message tries again */
    r->ifindex = (int)if_nametoindex(r->ifname);
    learn_mtu(r);
    atomic_fetch_add(&r->recoveries, 1);
    atomic_store(&r->want_pollout, 0);
    atomic_store(&r->down, 0);
    if (err_seq(r) == seq) /* else the reopen left a complaint worth keeping */
        runner_err(r, "%s %s: %s; the uplink resumed", r->dev->kind, r->ifname, r->dev->returned);
    glan_port_kick(r->u.port);
    if (r->link && r->link->resumed)
        r->link->resumed(r);
}

static int device_alive(struct runner *r)
{
    return r->dev->alive && r->dev->alive(r);
}

static void nl_event(void *arg, const struct link_event *ev)
{
    struct runner *r = arg;
    if (!ev->name || strncmp(ev->name, r->ifname, sizeof r->ifname))
        return;
    if (!ev->added && ev->index == r->ifindex) {
        if (!device_alive(r))
            mark_down(r);
    } else if (ev->added && ev->index == r->ifindex && ev->mtu && !r->mtu_cfg &&
               ev->mtu != glan_uplink_mtu(&r->u)) {
        glan_uplink_set_mtu(&r->u, ev->mtu); /* `ip link set mtu` while we run */
    } else if (ev->added && atomic_load(&r->down) && usable(r, ev->index, ev->flags)) {
        r->retry_due = 2; /* now, once the batch is read */
    }
}

/* Link messages arrived. */
static void on_links(struct runner *r)
{
    int missed = linkwatch_read(r->nl, nl_event, r);
    /* What we may have missed: our device going, or coming back. */
    if (missed && !atomic_load(&r->down) && r->dev->alive && !r->dev->alive(r))
        mark_down(r);
    if (r->retry_due == 2 || (missed && atomic_load(&r->down)))
        try_recover(r);
}

/* ---- receiving ---------------------------------------------------------------------- */

/* A unit from a layer-3 device: the kernel hands us bare IP; anything else
 * is counted and skipped. */
static void l3_input(struct runner *r, const uint8_t *p, size_t n)
{
    unsigned v = n ? p[0] >> 4 : 0;
    if ((v == 4 && n >= IPV4_HDR_MIN) || (v == 6 && n >= IPV6_HDR_LEN))
        glan_uplink_input(&r->u, p, n, 0);
    else if (v == 4 || v == 6)
        glan_uplink_count(&r->u.stats.rx_errors, 1);
    else
        glan_uplink_count(&r->u.stats.rx_skipped, 1);
}

/* A unit through the link layer; its datagram, if any, to the base after
 * the lock is released. */
static void link_input(struct runner *r, const uint8_t *unit, size_t len)
{
    const uint8_t *dg = NULL;
    size_t dglen = 0;
    pthread_mutex_lock(&r->lock);
    int ip = r->link->input(r, unit, len, &dg, &dglen);
    pthread_mutex_unlock(&r->lock);
    if (ip)
        glan_uplink_input(&r->u, dg, dglen, 0); /* it counts rx_packets/bytes */
}

/* Read up to budget units; each datagram goes to the base. */
static int runner_receive(struct glan_uplink *u, int budget)
{
    struct runner *r = (struct runner *)u;
    if (r->fd < 0 || !u->port)
        return -EINVAL;
    if (atomic_load(&r->down))
        return -ENETDOWN;
    int got = 0;
    while (got < budget) {
        const uint8_t *unit;
        size_t len;
        int rc = r->dev->read(r, &unit, &len);
        if (rc == 0)
            break;
        if (rc == -ENETDOWN) {
            mark_down(r);
            return got ? got : rc;
        }
        if (rc < 0) {
            r->read_errors++;
            glan_uplink_count(&u->stats.rx_errors, 1);
            return got ? got : rc;
        }
        got++;
        if (r->link)
            link_input(r, unit, len);
        else
            l3_input(r, unit, len);
    }
    return got;
}

/* What poll() said of the device. */
static void on_device(struct runner *r, short revents)
{
    if (revents & (POLLERR | POLLHUP | POLLNVAL)) {
        if (device_alive(r)) {
            glan_uplink_count(&r->u.stats.rx_errors, 1);
        } else {
            /* Guest-to-guest traffic goes on; what waits for the network is
             * dropped as port_down. */
            mark_down(r);
            try_recover(r); /* it may be back already */
            return;
        }
    }
    if (revents & POLLIN) {
        atomic_fetch_add(&r->rx_wakeups, 1);
        if (runner_receive(&r->u, RX_BUDGET) == 0)
            atomic_fetch_add(&r->rx_empty, 1);
    }
    if ((revents & POLLOUT) && !atomic_load(&r->down)) {
        atomic_store(&r->want_pollout, 0);
        glan_port_kick(r->u.port);
    }
}

static void *rx_main(void *arg)
{
    struct runner *r = arg;
    while (!atomic_load(&r->stopping)) {
        short out = atomic_load(&r->want_pollout) ? POLLOUT : 0;
        struct pollfd fds[4] = {
            {.fd = r->wake, .events = POLLIN},
            {.fd = atomic_load(&r->down) ? -1 : r->fd, .events = (short)(POLLIN | out)},
            {.fd = r->timer, .events = POLLIN},
            {.fd = r->nl, .events = POLLIN},
        };
        /* The only timeout: a reopen that waits for a device to be free. */
        int n = poll(fds, 4, r->retry_due ? RECOVER_RETRY_MS : -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            runner_err(r, "%s %s: poll: %s; receive stopped", r->dev->kind, r->ifname,
                       strerror(errno));
            break;
        }
        if (n == 0) {
            try_recover(r);
            continue;
        }
        uint64_t v;
        if ((fds[0].revents & POLLIN) && read(r->wake, &v, sizeof v) < 0) {
            /* nothing pending after all */
        }
        if (atomic_load(&r->stopping))
            break;
        on_device(r, fds[1].revents);
        if ((fds[2].revents & POLLIN) && r->link && r->link->timer) {
            pthread_mutex_lock(&r->lock);
            r->link->timer(r);
            pthread_mutex_unlock(&r->lock);
        }
        if (fds[3].revents & POLLIN)
            on_links(r);
    }
    return NULL;
}

/* ---- the vtable ------------------------------------------------------------------------ */

static void close_fds(struct runner *r)
{
    if (r->wake >= 0)
        close(r->wake);
    if (r->nl >= 0)
        close(r->nl);
    r->wake = r->nl = -1;
}

static int runner_open(struct glan_uplink *u)
{
    struct runner *r = (struct runner *)u;
    if (r->fd >= 0)
        return 0;
    pthread_mutex_lock(&r->lock);
    int rc = r->dev->open(r, 0);
    pthread_mutex_unlock(&r->lock);
    if (rc < 0)
        return rc;
    r->ifindex = (int)if_nametoindex(r->ifname);
    learn_mtu(r);
    /* Without netlink the uplink works, but cannot notice a device return. */
    r->nl = linkwatch_open();
    r->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (r->wake < 0) {
        rc = -errno;
        runner_err(r, "%s %s: eventfd: %s", r->dev->kind, r->ifname, strerror(errno));
    } else if (r->link && r->link->open) {
        rc = r->link->open(r);
    }
    if (rc < 0) {
        pthread_mutex_lock(&r->lock);
        r->dev->close(r);
        r->fd = -1;
        pthread_mutex_unlock(&r->lock);
        close_fds(r);
        return rc;
    }
    atomic_store(&r->down, 0);
    atomic_store(&r->want_pollout, 0);
    pthread_mutex_lock(&r->err_lock);
    u->err[0] = 0;
    pthread_mutex_unlock(&r->err_lock);
    return 0;
}

static int runner_send(struct glan_uplink *u, const struct glan_dgram *dg)
{
    struct runner *r = (struct runner *)u;
    if (atomic_load(&r->down)) {
        atomic_fetch_add(&r->tx_down, 1);
        glan_uplink_count(&u->stats.tx_errors, 1);
        return -ENETDOWN;
    }
    int gone = 0, rc;
    pthread_mutex_lock(&r->lock);
    if (r->link) {
        rc = r->link->send(r, dg);
    } else {
        rc = runner_write(r, dg->data, dg->len);
        gone = rc == -ENETDOWN && r->fd >= 0 && !device_alive(r);
    }
    pthread_mutex_unlock(&r->lock);
    if (rc == 0) {
        glan_uplink_count(&u->stats.tx_packets, 1);
        glan_uplink_count(&u->stats.tx_bytes, dg->len);
    } else if (rc != -EAGAIN) {
        glan_uplink_count(&u->stats.tx_errors, 1);
    }
    if (rc == -ENETDOWN && !r->link) /* a layer-3 device refused it: down or gone */
        atomic_fetch_add(&r->tx_down, 1);
    if (gone)
        mark_down(r);
    return rc;
}

static int runner_rx_fd(struct glan_uplink *u)
{
    return ((struct runner *)u)->fd;
}

static int runner_start(struct glan_uplink *u)
{
    struct runner *r = (struct runner *)u;
    if (!u->port || r->fd < 0)
        return -EINVAL;
    if (r->rx_running)
        return 0;
    struct glan_lan *lan = glan_port_lan(u->port);
    if (!r->link && glan_lan_transport(lan) == GLAN_TRANSPORT_ETHERNET) {
        runner_err(r,
                   "%s %s: a %s device carries IP datagrams, and LAN '%s' is of transport "
                   "ETHERNET (Ethernet frames of layer-2 guests): use a tap or pcap uplink",
                   r->dev->kind, r->ifname, r->dev->kind, glan_lan_name(lan));
        return -EPROTOTYPE;
    }
    pthread_mutex_lock(&r->lock);
    int rc = r->link ? r->link->start(r) : 0;
    if (rc == 0 && r->dev->ready)
        rc = r->dev->ready(r);
    r->started = rc == 0;
    pthread_mutex_unlock(&r->lock);
    if (rc < 0)
        return rc;
    atomic_store(&r->stopping, 0);
    rc = pthread_create(&r->rx, NULL, rx_main, r);
    if (rc != 0) {
        runner_err(r, "%s %s: cannot start the receive thread: %s", r->dev->kind, r->ifname,
                   strerror(rc));
        return -rc;
    }
    r->rx_running = 1;
    if (r->link && r->link->resumed)
        r->link->resumed(r); /* the addresses registered before we came */
    return 0;
}

static void runner_stop(struct glan_uplink *u)
{
    struct runner *r = (struct runner *)u;
    if (!r->rx_running)
        return;
    atomic_store(&r->stopping, 1);
    wake_rx(r);
    pthread_join(r->rx, NULL);
    r->rx_running = 0;
}

static void runner_addr_event(struct glan_uplink *u, const struct glan_addr *addr, int registered)
{
    struct runner *r = (struct runner *)u;
    if (r->link && r->link->addr_event)
        r->link->addr_event(r, addr, registered);
}

static int runner_status(struct glan_uplink *u, struct glan_uplink_status *out)
{
    struct runner *r = (struct runner *)u;
    out->kind = r->dev->spec_name;
    pthread_mutex_lock(&r->lock);
    snprintf(out->device, sizeof out->device, "%s", r->ifname);
    out->open = r->fd >= 0;
    if (r->dev->status)
        r->dev->status(r, out);
    if (r->link && r->link->status)
        r->link->status(r, out);
    pthread_mutex_unlock(&r->lock);
    out->down = atomic_load(&r->down) ? r->dev->down_text : NULL;
    out->rx_thread = r->rx_running;
    out->gone_events = atomic_load(&r->gone_events);
    out->recoveries = atomic_load(&r->recoveries);
    out->tx_down = atomic_load(&r->tx_down);
    runner_message(r, out->message, sizeof out->message);
    return 0;
}

static void runner_close(struct glan_uplink *u)
{
    struct runner *r = (struct runner *)u;
    runner_stop(u);
    pthread_mutex_lock(&r->lock);
    if (r->fd >= 0)
        r->dev->close(r);
    r->fd = -1;
    if (r->link)
        r->link->close(r); /* what the engine held is dropped, as the network is gone */
    r->started = 0;
    pthread_mutex_unlock(&r->lock);
    close_fds(r);
}

static void runner_destroy(struct glan_uplink *u)
{
    struct runner *r = (struct runner *)u;
    runner_close(u);
    if (r->link && r->link->destroy)
        r->link->destroy(r);
    if (r->dev->destroy)
        r->dev->destroy(r);
    pthread_mutex_destroy(&r->lock);
    pthread_mutex_destroy(&r->err_lock);
    free(r);
}

static const struct glan_uplink_ops runner_ops = {
    .open = runner_open,
    .send = runner_send,
    .rx_fd = runner_rx_fd,
    .receive = runner_receive,
    .start = runner_start,
    .stop = runner_stop,
    .addr_event = runner_addr_event,
    .status = runner_status,
    .close = runner_close,
    .destroy = runner_destroy,
};

struct runner *runner_new(const struct runner_dev *dev, const struct runner_link *link,
                          void *dev_state, void *link_state)
{
    struct runner *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    /* Each uplink carries its own copy of the vtable, for its kind's name. */
    r->ops = runner_ops;
    r->ops.kind = dev->kind;
    r->u.ops = &r->ops;
    r->dev = dev;
    r->link = link;
    r->dev_state = dev_state;
    r->link_state = link_state;
    r->fd = r->wake = r->nl = r->timer = -1;
    pthread_mutex_init(&r->lock, NULL);
    pthread_mutex_init(&r->err_lock, NULL);
    return r;
}

struct runner *runner_of(struct glan_uplink *u)
{
    /* Recognised by an operation: the vtable itself is a copy per uplink. */
    return u && u->ops && u->ops->open == runner_open ? (struct runner *)u : NULL;
}
