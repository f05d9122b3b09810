/*
 * The uplink side the layer-2 uplinks share (l2port.h): the vtable the base
 * calls, the layer-2 engine behind one lock, and the receive thread.
 *
 * send() (the uplink port's drain turn, any sender's thread) hands each
 * datagram to the engine, which frames it or holds it while its next hop is
 * resolved.  The receive thread sleeps in poll() on three descriptors and
 * nothing else: the device (frames arrived, or room to write again), an
 * eventfd (stop requests, "watch for POLLOUT") and a timerfd armed to the
 * engine's next deadline (ARP/ND retransmissions and give-ups), so no loop
 * ever wakes up just to look.  Frames go through the engine under the lock;
 * the datagram unwrapped from one is handed to glan_uplink_input() after the
 * lock is released, because the base may take its time delivering it and
 * send() must not wait for that.
 *
 * Recovery.  The thread also watches the host's links (linkwatch.c, as the
 * TUN uplink does).  When the device fails under it (POLLERR: a TAP device
 * deleted, an interface removed or taken down under the capture) the uplink
 * is marked down: send() refuses datagrams for the network (-ENETDOWN, which
 * the base counts as port_down) and the LAN keeps serving its guests.  When a
 * link of the same name appears again, or the old one comes back up, the
 * thread closes the dead device and opens it again under the engine lock
 * (the engine, its neighbour cache and MAC stay), announces the LAN's
 * addresses and resumes.  A TAP device just made by `ip tuntap add` is still
 * held by its maker for a moment (EBUSY, and letting go makes no link
 * message): that is retried every RECOVER_RETRY_MS a bounded number of times.
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
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "l2port.h"
#include "linkwatch.h"

/* Frames read per wake-up before looking at the other descriptors again, so
 * a flood from the network cannot starve a stop request or the timer. */
#define RX_BUDGET 64
/* Reopens refused with EBUSY, RECOVER_RETRY_MS apart, before waiting for the
 * next link message. */
#define RECOVER_RETRIES  50
#define RECOVER_RETRY_MS 100

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void l2port_err(struct l2port *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&p->err_lock);
    vsnprintf(p->u.err, sizeof p->u.err, fmt, ap);
    pthread_mutex_unlock(&p->err_lock);
    va_end(ap);
}

static void wake_rx(struct l2port *p)
{
    uint64_t one = 1;
    if (p->wake >= 0 && write(p->wake, &one, sizeof one) < 0) {
        /* the counter is saturated: a wake-up is pending anyway */
    }
}

void l2port_want_pollout(struct l2port *p)
{
    atomic_store(&p->want_pollout, 1);
    wake_rx(p);
}

struct l2port *l2port_of(struct glan_uplink *u)
{
    /* Each uplink carries its own copy of the vtable (for its kind name), so
     * recognise ours by an operation. */
    return u && u->ops && u->ops->open == l2port_ops.open ? (struct l2port *)u : NULL;
}

/* ---- the engine ----------------------------------------------------------------- */

static int xmit(void *ctx, const uint8_t *frame, size_t len)
{
    struct l2port *p = ctx;
    if (p->fd < 0) /* closed while the receive thread reopens it */
        return -ENETDOWN;
    return p->dev->write(p, frame, len);
}

/* Under p->lock: set the timer to the engine's next deadline. */
static void rearm(struct l2port *p)
{
    uint64_t d = glan_l2_deadline(p->l2);
    if (d == p->armed || p->timer < 0)
        return;
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    if (d != UINT64_MAX) {
        if (d == 0)
            d = 1; /* zero would disarm it */
        its.it_value.tv_sec = (time_t)(d / 1000000000ull);
        its.it_value.tv_nsec = (long)(d % 1000000000ull);
    }
    if (timerfd_settime(p->timer, TFD_TIMER_ABSTIME, &its, NULL) == 0)
        p->armed = d;
}

/* Under p->lock: make the engine once the port (and so the LAN, whose name
 * gives the default MAC and whose registry says what is ours) is known. */
static int ensure_engine(struct l2port *p)
{
    if (p->l2)
        return 0;
    if (!p->u.port)
        return -ENETDOWN;
    struct glan_lan *lan = glan_port_lan(p->u.port);
    struct glan_l2_config c = p->cfg;
    c.lan_name = glan_lan_name(lan);
    char err[200];
    p->l2 = glan_l2_create(&c, lan, xmit, p, err, sizeof err);
    if (!p->l2) {
        l2port_err(p, "%s: %s", p->dev->kind, err);
        return -EINVAL;
    }
    if (p->dev->ready) {
        int rc = p->dev->ready(p);
        if (rc < 0) {
            glan_l2_destroy(p->l2);
            p->l2 = NULL;
            return rc;
        }
    }
    return 0;
}

/* ---- the vtable ----------------------------------------------------------------- */

static int l2_open(struct glan_uplink *u)
{
    struct l2port *p = (struct l2port *)u;
    if (p->fd >= 0)
        return 0;
    int rc = p->dev->open(p);
    if (rc < 0)
        return rc;
    p->ifindex = (int)if_nametoindex(p->ifname);
    /* Without netlink the uplink works, but cannot notice a device return. */
    p->nl = glan_linkwatch_open();
    p->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    p->timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (p->wake < 0 || p->timer < 0) {
        rc = -errno;
        l2port_err(p, "%s: eventfd/timerfd: %s", p->dev->kind, strerror(errno));
        u->ops->close(u);
        return rc;
    }
    p->armed = UINT64_MAX;
    atomic_store(&p->down, 0);
    atomic_store(&p->want_pollout, 0);
    u->err[0] = 0;
    return 0;
}

static int l2_send(struct glan_uplink *u, const struct glan_dgram *dg)
{
    struct l2port *p = (struct l2port *)u;
    if (atomic_load(&p->down)) {
        atomic_fetch_add(&p->tx_down, 1);
        glan_uplink_count(&u->stats.tx_errors, 1);
        return -ENETDOWN;
    }
    pthread_mutex_lock(&p->lock);
    int rc = ensure_engine(p);
    if (rc == 0) {
        rc = glan_l2_output(p->l2, dg->data, dg->len, now_ns());
        rearm(p);
    }
    pthread_mutex_unlock(&p->lock);
    if (rc == 0) {
        glan_uplink_count(&u->stats.tx_packets, 1);
        glan_uplink_count(&u->stats.tx_bytes, dg->len);
    } else if (rc != -EAGAIN) {
        glan_uplink_count(&u->stats.tx_errors, 1);
    }
    return rc;
}

static int l2_rx_fd(struct glan_uplink *u)
{
    return ((struct l2port *)u)->fd;
}

/* Read and unwrap up to budget frames; each datagram goes to the base. */
static int l2_receive(struct glan_uplink *u, int budget)
{
    struct l2port *p = (struct l2port *)u;
    if (p->fd < 0 || !u->port)
        return -EINVAL;
    int got = 0;
    while (got < budget) {
        const uint8_t *frame;
        size_t len;
        int rc = p->dev->read(p, &frame, &len);
        if (rc == 0)
            break;
        if (rc < 0) {
            p->read_errors++;
            glan_uplink_count(&u->stats.rx_errors, 1);
            return got ? got : rc;
        }
        got++;
        const uint8_t *dg = NULL;
        size_t dglen = 0;
        pthread_mutex_lock(&p->lock);
        int ip = ensure_engine(p) == 0 && glan_l2_input(p->l2, frame, len, now_ns(), &dg, &dglen);
        struct glan_l2_stats st;
        if (p->l2) {
            rearm(p);
            glan_l2_stats(p->l2, &st);
            /* the uplink's own counters, in the terms of uplink.h */
            glan_uplink_set(&u->stats.rx_skipped, st.rx_frames - st.rx_ip - st.rx_malformed);
            glan_uplink_set(&u->stats.rx_errors, st.rx_malformed + p->read_errors);
        }
        pthread_mutex_unlock(&p->lock);
        if (ip) {
            /* glan_uplink_input counts rx_packets/bytes */
            glan_uplink_input(u, dg, dglen, 0);
        }
    }
    return got;
}

static void l2_close(struct glan_uplink *u)
{
    struct l2port *p = (struct l2port *)u;
    glan_l2_uplink_stop(u);
    if (p->fd >= 0)
        p->dev->close(p);
    p->fd = -1;
    if (p->wake >= 0)
        close(p->wake);
    if (p->timer >= 0)
        close(p->timer);
    if (p->nl >= 0)
        close(p->nl);
    p->wake = p->timer = p->nl = -1;
    pthread_mutex_lock(&p->lock);
    glan_l2_destroy(p->l2); /* what it held is dropped, as the network is gone */
    p->l2 = NULL;
    pthread_mutex_unlock(&p->lock);
}

static void l2_destroy(struct glan_uplink *u)
{
    struct l2port *p = (struct l2port *)u;
    l2_close(u);
    if (p->dev->destroy)
        p->dev->destroy(p);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->err_lock);
    free(p);
}

/* A guest registered an address after the uplink came up: tell the
 * network (gratuitous ARP / unsolicited neighbour advertisement). */
static void l2_addr_event(struct glan_uplink *u, const struct glan_addr *addr, int registered)
{
    if (registered)
        glan_l2_uplink_announce(u, addr);
}

const struct glan_uplink_ops l2port_ops = {
    .kind = "l2",
    .open = l2_open,
    .send = l2_send,
    .rx_fd = l2_rx_fd,
    .receive = l2_receive,
    .start = glan_l2_uplink_start,
    .stop = glan_l2_uplink_stop,
    .addr_event = l2_addr_event,
    .close = l2_close,
    .destroy = l2_destroy,
};

void l2port_init(struct l2port *p, const struct l2port_dev *dev, const struct glan_l2_config *cfg)
{
    p->ops = l2port_ops;
    p->ops.kind = dev->kind;
    p->u.ops = &p->ops;
    p->dev = dev;
    if (cfg)
        p->cfg = *cfg;
    p->cfg.lan_name = NULL;
    p->fd = p->wake = p->timer = p->nl = -1;
    p->armed = UINT64_MAX;
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->err_lock, NULL);
}

/* ---- recovery (the receive thread's) ---------------------------------------------- */

static void announce_all(struct l2port *p);

/* The device went away or failed.  Only the first report of an outage counts. */
static void mark_gone(struct l2port *p)
{
    if (atomic_exchange(&p->down, 1))
        return;
    atomic_fetch_add(&p->gone_events, 1);
    l2port_err(p,
               "%s %s: the device failed or was removed; the LAN keeps serving its guests, "
               "datagrams for the network are dropped (port_down) until %s returns",
               p->dev->kind, p->ifname, p->ifname);
    glan_port_kick(p->u.port); /* what waits for the network drops now */
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

/* Worth reopening: a new link of our name, or the old one up again.  The
 * old link also announces itself (down) while it is being deleted. */
static int usable(const struct l2port *p, int index, unsigned flags)
{
    return index > 0 && (index != p->ifindex || (flags & IFF_UP));
}

/* Reopen the device if a usable link of its name is there now. */
static void try_recover(struct l2port *p)
{
    int index = (int)if_nametoindex(p->ifname);
    if (!atomic_load(&p->down) || !usable(p, index, link_flags(p->ifname))) {
        p->retry_due = 0;
        return;
    }
    pthread_mutex_lock(&p->lock);
    if (p->fd >= 0)
        p->dev->close(p);
    p->fd = -1;
    p->recovering = 1;
    int rc = p->dev->open(p);
    p->recovering = 0;
    if (rc == 0 && p->dev->ready && p->l2)
        rc = p->dev->ready(p);
    if (rc < 0 && p->fd >= 0) {
        p->dev->close(p);
        p->fd = -1;
    }
    pthread_mutex_unlock(&p->lock);
    if (rc == -EBUSY && p->retries < RECOVER_RETRIES) {
        p->retries++;
        p->retry_due = 1;
        return;
    }
    p->retry_due = 0;
    p->retries = 0;
    if (rc < 0)
        return; /* the message says why; the next link message tries again */
    p->ifindex = (int)if_nametoindex(p->ifname);
    atomic_fetch_add(&p->recoveries, 1);
    atomic_store(&p->want_pollout, 0);
    atomic_store(&p->down, 0);
    l2port_err(p, "%s %s: the interface is back; the uplink resumed", p->dev->kind, p->ifname);
    glan_port_kick(p->u.port);
    announce_all(p); /* the neighbours may have forgotten us meanwhile */
}

static void nl_event(void *arg, const struct glan_link_event *ev)
{
    struct l2port *p = arg;
    if (!ev->name || strncmp(ev->name, p->ifname, sizeof p->ifname))
        return;
    if (!ev->added && ev->index == p->ifindex)
        mark_gone(p);
    else if (ev->added && atomic_load(&p->down) && usable(p, ev->index, ev->flags))
        p->retry_due = 2; /* now, once the batch is read */
}

/* ---- the receive thread ----------------------------------------------------------- */

static void *rx_thread(void *arg)
{
    struct l2port *p = arg;
    while (!atomic_load(&p->stopping)) {
        short out = atomic_load(&p->want_pollout) ? POLLOUT : 0;
        struct pollfd fds[4] = {
            {.fd = p->wake, .events = POLLIN},
            {.fd = atomic_load(&p->down) ? -1 : p->fd, .events = (short)(POLLIN | out)},
            {.fd = p->timer, .events = POLLIN},
            {.fd = p->nl, .events = POLLIN},
        };
        /* The only timeout: a reopen that waits for a device to be free. */
        int n = poll(fds, 4, p->retry_due ? RECOVER_RETRY_MS : -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            l2port_err(p, "%s: poll: %s; receive stopped", p->dev->kind, strerror(errno));
            break;
        }
        if (n == 0) {
            try_recover(p);
            continue;
        }
        uint64_t v;
        if ((fds[0].revents & POLLIN) && read(p->wake, &v, sizeof v) < 0) {
            /* nothing pending after all */
        }
        if (atomic_load(&p->stopping))
            break;
        if (fds[1].revents & (POLLERR | POLLHUP | POLLNVAL)) {
            /* The device went away (a deleted TAP, an interface removed or
             * taken down under the capture).  Guest-to-guest traffic goes
             * on; what waits for the network is dropped as port_down. */
            mark_gone(p);
            try_recover(p); /* it may be back already */
        } else if (fds[1].revents & POLLIN) {
            atomic_fetch_add(&p->rx_wakeups, 1);
            if (l2_receive(&p->u, RX_BUDGET) == 0)
                atomic_fetch_add(&p->rx_empty, 1);
        }
        if ((fds[1].revents & POLLOUT) && !atomic_load(&p->down)) {
            atomic_store(&p->want_pollout, 0);
            glan_port_kick(p->u.port);
        }
        if (fds[2].revents & POLLIN) {
            if (read(p->timer, &v, sizeof v) < 0) {
                /* a rearm raced us: the deadline moved */
            }
            pthread_mutex_lock(&p->lock);
            if (p->l2) {
                p->armed = UINT64_MAX; /* it fired: it is no longer armed */
                glan_l2_tick(p->l2, now_ns());
                rearm(p);
            }
            pthread_mutex_unlock(&p->lock);
        }
        if (fds[3].revents & POLLIN) {
            int missed = glan_linkwatch_read(p->nl, nl_event, p);
            if (p->retry_due == 2 || (missed && atomic_load(&p->down)))
                try_recover(p);
        }
    }
    return NULL;
}

int glan_l2_uplink_start(struct glan_uplink *u)
{
    struct l2port *p = l2port_of(u);
    if (!p || !u->port || p->fd < 0)
        return -EINVAL;
    if (p->rx_running)
        return 0;
    pthread_mutex_lock(&p->lock);
    int rc = ensure_engine(p);
    pthread_mutex_unlock(&p->lock);
    if (rc < 0)
        return rc;
    atomic_store(&p->stopping, 0);
    rc = pthread_create(&p->rx, NULL, rx_thread, p);
    if (rc != 0) {
        l2port_err(p, "%s: cannot start the receive thread: %s", p->dev->kind, strerror(rc));
        return -rc;
    }
    p->rx_running = 1;
    return 0;
}

void glan_l2_uplink_stop(struct glan_uplink *u)
{
    struct l2port *p = l2port_of(u);
    if (!p || !p->rx_running)
        return;
    atomic_store(&p->stopping, 1);
    wake_rx(p);
    pthread_join(p->rx, NULL);
    p->rx_running = 0;
}

int glan_l2_uplink_announce(struct glan_uplink *u, const struct glan_addr *addr)
{
    struct l2port *p = l2port_of(u);
    if (!p || !u->port || p->fd < 0)
        return -EINVAL;
    pthread_mutex_lock(&p->lock);
    int rc = ensure_engine(p);
    if (rc == 0)
        rc = glan_l2_announce(p->l2, addr, now_ns());
    pthread_mutex_unlock(&p->lock);
    return rc;
}

/* Port indexes of the LAN's guests, gathered first: glan_lan_foreach_port's
 * callback must not call back into the LAN. */
struct port_list {
    int idx[1024];
    size_t n;
};

static void collect(const struct glan_port_view *v, void *arg)
{
    struct port_list *l = arg;
    if (v->kind == GLAN_PORT_GUEST && l->n < sizeof l->idx / sizeof l->idx[0])
        l->idx[l->n++] = v->index;
}

/* Tell the network about every address the guests registered before the
 * uplink came up. */
static void announce_all(struct l2port *p)
{
    struct glan_lan *lan = glan_port_lan(p->u.port);
    struct port_list *l = calloc(1, sizeof *l);
    if (!l)
        return;
    glan_lan_foreach_port(lan, collect, l);
    for (size_t i = 0; i < l->n; i++) {
        struct glan_addr a[64];
        size_t n = glan_lan_port_addrs(lan, l->idx[i], 0, a, 64);
        for (size_t j = 0; j < n && j < 64; j++)
            glan_l2_uplink_announce(&p->u, &a[j]);
    }
    free(l);
}

int glan_l2_uplink_attach(struct glan_lan *lan, struct glan_uplink *u)
{
    struct l2port *p = l2port_of(u);
    if (!p)
        return -EINVAL;
    /* glan_uplink_attach starts the receive thread through ops->start. */
    int rc = glan_uplink_attach(lan, u);
    if (rc == 0)
        announce_all(p);
    return rc;
}

void glan_l2_uplink_detach(struct glan_uplink *u)
{
    glan_uplink_detach(u); /* ops->stop ends the thread before the port goes */
}

int glan_l2_uplink_status(struct glan_uplink *u, struct glan_l2_uplink_status *out)
{
    struct l2port *p = l2port_of(u);
    if (!p)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    /* The engine lock: the receive thread changes ifname and fd under it
     * when it reopens the device. */
    pthread_mutex_lock(&p->lock);
    snprintf(out->ifname, sizeof out->ifname, "%s", p->ifname);
    out->open = p->fd >= 0;
    pthread_mutex_unlock(&p->lock);
    out->down = atomic_load(&p->down);
    out->rx_thread = p->rx_running;
    out->gone_events = atomic_load(&p->gone_events);
    out->recoveries = atomic_load(&p->recoveries);
    out->tx_down = atomic_load(&p->tx_down);
    out->rx_wakeups = atomic_load(&p->rx_wakeups);
    out->rx_empty = atomic_load(&p->rx_empty);
    pthread_mutex_lock(&p->err_lock);
    memcpy(out->message, p->u.err, sizeof out->message);
    pthread_mutex_unlock(&p->err_lock);
    out->message[sizeof out->message - 1] = 0;
    return 0;
}

int glan_l2_uplink_stats(struct glan_uplink *u, struct glan_l2_stats *out)
{
    struct l2port *p = l2port_of(u);
    if (!p)
        return -EINVAL;
    pthread_mutex_lock(&p->lock);
    int rc = p->l2 ? 0 : -EINVAL;
    if (p->l2)
        glan_l2_stats(p->l2, out);
    pthread_mutex_unlock(&p->lock);
    return rc;
}

int glan_l2_uplink_mac(struct glan_uplink *u, uint8_t mac[6])
{
    struct l2port *p = l2port_of(u);
    if (!p)
        return -EINVAL;
    pthread_mutex_lock(&p->lock);
    int rc = p->l2 ? 0 : -EINVAL;
    if (p->l2)
        glan_l2_mac(p->l2, mac);
    pthread_mutex_unlock(&p->lock);
    return rc;
}

enum glan_l2_state glan_l2_uplink_neighbour(struct glan_uplink *u, const struct glan_addr *addr,
                                            uint8_t mac[6])
{
    struct l2port *p = l2port_of(u);
    if (!p)
        return GLAN_L2_NONE;
    pthread_mutex_lock(&p->lock);
    enum glan_l2_state s = p->l2 ? glan_l2_neighbour(p->l2, addr, now_ns(), mac) : GLAN_L2_NONE;
    pthread_mutex_unlock(&p->lock);
    return s;
}
