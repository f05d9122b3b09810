/*
 * The layer-2 link (l2port.h): the engine (l2.c) between the base and an
 * Ethernet device of the device runner (runner.c), and the public face of
 * the layer-2 uplinks (include/uplink/guestlan/l2.h's glan_l2_uplink_*).
 *
 * send (a sender's thread, under the runner's lock) hands each datagram to
 * the engine, which frames it or holds it while its next hop is resolved;
 * each frame the receive thread reads goes through the engine under the same
 * lock (ARP and neighbour discovery are answered from inside it).  The
 * engine's deadlines (ARP/ND retransmissions and give-ups) arm a timerfd the
 * receive thread polls, so no loop wakes up just to look.  After the uplink
 * starts, and after every reopen of its device, the LAN's addresses are
 * announced (gratuitous ARP, unsolicited neighbour advertisements); an
 * address a guest registers later is announced when the base reports it
 * (the uplink port's address events).
 *
 * On a LAN of transport ETHERNET the link is a bridge port instead: no
 * engine, no ARP or neighbour discovery; the guests' frames go to the
 * device as they are and every frame read from it goes to the LAN as it is
 * (the base switches it by MAC, l2switch.c).  The network's MACs are not
 * learned: a frame for a MAC no guest registered goes to the uplink, one
 * from the uplink for such a MAC is dropped (unknown_dest).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "l2port.h"

struct l2link {
    struct glan_l2_config cfg; /* lan_name not kept: the LAN's name is used */
    struct glan_l2 *l2;        /* made when the uplink starts (the LAN is known then) */
    int bridge;                /* the LAN is of transport ETHERNET: frames as they are */
    uint64_t armed;            /* the deadline the timer is set to */
};

static const struct runner_link l2_link;

static struct l2link *link_of(struct runner *r)
{
    return r->link_state;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The engine's transmit: the device, under r->lock (every engine call is). */
static int xmit(void *ctx, const uint8_t *frame, size_t len)
{
    return runner_write(ctx, frame, len);
}

/* Under r->lock: set the timer to the engine's next deadline. */
static void rearm(struct runner *r)
{
    struct l2link *k = link_of(r);
    uint64_t d = glan_l2_deadline(k->l2);
    if (d == k->armed || r->timer < 0)
        return;
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    if (d != UINT64_MAX) {
        if (d == 0)
            d = 1; /* zero would disarm it */
        its.it_value.tv_sec = (time_t)(d / 1000000000ull);
        its.it_value.tv_nsec = (long)(d % 1000000000ull);
    }
    if (timerfd_settime(r->timer, TFD_TIMER_ABSTIME, &its, NULL) == 0)
        k->armed = d;
}

/* ---- the link's operations (runner.h) -------------------------------------------- */

static int l2_open(struct runner *r)
{
    r->timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (r->timer < 0) {
        int e = errno;
        runner_err(r, "%s: eventfd/timerfd: %s", r->dev->kind, strerror(e));
        return -e;
    }
    link_of(r)->armed = UINT64_MAX;
    return 0;
}

/* The engine, once the port (and so the LAN, whose name gives the default
 * MAC and whose registry says what is ours) is known. */
static int l2_start(struct runner *r)
{
    struct l2link *k = link_of(r);
    if (k->l2 || k->bridge)
        return 0;
    struct glan_lan *lan = glan_port_lan(r->u.port);
    if (glan_lan_transport(lan) == GLAN_TRANSPORT_ETHERNET) {
        /* The guests choose their MACs and VLANs: an uplink's own would
         * mean nothing on a bridge port. */
        if (k->cfg.vlan || k->cfg.gateway4.family || k->cfg.gateway6.family ||
            k->cfg.onlink4.family || k->cfg.onlink6.family) {
            runner_err(r,
                       "%s: LAN '%s' is of transport ETHERNET: its uplink carries the guests' "
                       "frames as they are, every VLAN; vlan, gateway and onlink are for IP LANs",
                       r->dev->kind, glan_lan_name(lan));
            return -EINVAL;
        }
        k->bridge = 1;
        return 0;
    }
    struct glan_l2_config c = k->cfg;
    c.lan_name = glan_lan_name(lan);
    char err[200];
    k->l2 = glan_l2_create(&c, lan, xmit, r, err, sizeof err);
    if (!k->l2) {
        runner_err(r, "%s: %s", r->dev->kind, err);
        return -EINVAL;
    }
    return 0;
}

static int l2_send(struct runner *r, const struct glan_dgram *dg)
{
    struct l2link *k = link_of(r);
    if (k->bridge)
        return runner_write(r, dg->data, dg->len);
    if (!k->l2)
        return -ENETDOWN;
    int rc = glan_l2_output(k->l2, dg->data, dg->len, now_ns());
    rearm(r);
    return rc;
}

/* Unwrap one frame; the engine answers ARP/ND from inside. */
static int l2_input(struct runner *r, const uint8_t *frame, size_t len, const uint8_t **dg,
                    size_t *dglen)
{
    struct l2link *k = link_of(r);
    if (k->bridge) {
        *dg = frame;
        *dglen = len;
        return 1;
    }
    if (!k->l2)
        return 0;
    int ip = glan_l2_input(k->l2, frame, len, now_ns(), dg, dglen);
    rearm(r);
    struct glan_l2_stats st;
    glan_l2_stats(k->l2, &st);
    /* the uplink's own counters, in the terms of uplink.h */
    glan_uplink_set(&r->u.stats.rx_skipped, st.rx_frames - st.rx_ip - st.rx_malformed);
    glan_uplink_set(&r->u.stats.rx_errors, st.rx_malformed + r->read_errors);
    return ip;
}

static void l2_timer(struct runner *r)
{
    struct l2link *k = link_of(r);
    uint64_t v;
    if (read(r->timer, &v, sizeof v) < 0) {
        /* a rearm raced us: the deadline moved */
    }
    if (k->l2) {
        k->armed = UINT64_MAX; /* it fired: it is no longer armed */
        glan_l2_tick(k->l2, now_ns());
        rearm(r);
    }
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

/* Tell the network about every address the guests registered: they may have
 * registered before the uplink came, or the neighbours forgot us while the
 * device was away. */
static void l2_resumed(struct runner *r)
{
    if (link_of(r)->bridge)
        return; /* the guests speak for themselves */
    struct glan_lan *lan = glan_port_lan(r->u.port);
    struct port_list *l = calloc(1, sizeof *l);
    if (!l)
        return;
    glan_lan_foreach_port(lan, collect, l);
    for (size_t i = 0; i < l->n; i++) {
        struct glan_addr a[64];
        size_t n = glan_lan_port_addrs(lan, l->idx[i], 0, a, 64);
        for (size_t j = 0; j < n && j < 64; j++)
            glan_l2_uplink_announce(&r->u, &a[j]);
    }
    free(l);
}

/* A guest registered an address after the uplink came up: tell the
 * network (gratuitous ARP / unsolicited neighbour advertisement). */
static void l2_addr_event(struct runner *r, const struct glan_addr *addr, int registered)
{
    if (registered && !link_of(r)->bridge)
        glan_l2_uplink_announce(&r->u, addr);
}

static void l2_close(struct runner *r)
{
    struct l2link *k = link_of(r);
    if (r->timer >= 0)
        close(r->timer);
    r->timer = -1;
    glan_l2_destroy(k->l2); /* what it held is dropped, as the network is gone */
    k->l2 = NULL;
    k->bridge = 0;
}

static void l2_status(struct runner *r, struct glan_uplink_status *out)
{
    struct l2link *k = link_of(r);
    char mac[18] = "?";
    if (k->l2) {
        uint8_t m[6];
        glan_l2_mac(k->l2, m);
        glan_l2_format_mac(m, mac, sizeof mac);
    }
    if (k->bridge)
        snprintf(out->params, sizeof out->params, "bridge port (transport ETHERNET), mtu %u",
                 glan_uplink_mtu(&r->u));
    else
        snprintf(out->params, sizeof out->params, "mtu %u mac %s", glan_uplink_mtu(&r->u), mac);
    out->facts[0].label = "Receive thread";
    snprintf(out->facts[0].text, sizeof out->facts[0].text,
             "woken %" PRIu64 " times with frames to read, %" PRIu64 " of them found none",
             (uint64_t)atomic_load(&r->rx_wakeups), (uint64_t)atomic_load(&r->rx_empty));
    out->nfacts = 1;
    if (!k->l2)
        return;
    struct glan_l2_stats st;
    glan_l2_stats(k->l2, &st);
    out->facts[1].label = "ARP/ND";
    snprintf(out->facts[1].text, sizeof out->facts[1].text,
             "%" PRIu64 " answered, %" PRIu64 " resolved, %" PRIu64 " failed, %" PRIu64
             " held, %" PRIu64 " dropped unresolved, %" PRIu64 " cache entries",
             st.arp_replies + st.na_sent, st.resolved, st.resolve_failures, st.held,
             st.unresolved_dropped + st.hold_dropped + st.cache_full_dropped, st.cache_entries);
    out->nfacts = 2;
}

static void l2_destroy(struct runner *r)
{
    free(r->link_state);
}

static const struct runner_link l2_link = {
    .open = l2_open,
    .start = l2_start,
    .send = l2_send,
    .input = l2_input,
    .timer = l2_timer,
    .resumed = l2_resumed,
    .addr_event = l2_addr_event,
    .close = l2_close,
    .status = l2_status,
    .destroy = l2_destroy,
};

struct runner *l2port_new(const struct runner_dev *dev, const struct glan_l2_config *cfg,
                          void *dev_state)
{
    struct l2link *k = calloc(1, sizeof *k);
    struct runner *r = k ? runner_new(dev, &l2_link, dev_state, k) : NULL;
    if (!r) {
        free(k);
        return NULL;
    }
    if (cfg)
        k->cfg = *cfg;
    k->cfg.lan_name = NULL;
    k->armed = UINT64_MAX;
    return r;
}

struct runner *l2port_of(struct glan_uplink *u)
{
    struct runner *r = runner_of(u);
    return r && r->link == &l2_link ? r : NULL;
}

void l2port_mac(struct runner *r, uint8_t mac[6])
{
    glan_l2_mac(link_of(r)->l2, mac);
}

int l2port_bridge(const struct runner *r)
{
    return ((const struct l2link *)r->link_state)->bridge;
}

uint16_t l2port_vlan(const struct runner *r)
{
    return ((const struct l2link *)r->link_state)->cfg.vlan;
}

/* ---- the public API (l2.h) ----------------------------------------------------------- */

int glan_l2_uplink_attach(struct glan_lan *lan, struct glan_uplink *u)
{
    /* glan_uplink_attach starts the receive thread and announces the
     * addresses already registered (the start op). */
    return l2port_of(u) ? glan_uplink_attach(lan, u) : -EINVAL;
}

void glan_l2_uplink_detach(struct glan_uplink *u)
{
    glan_uplink_detach(u); /* ops->stop ends the thread before the port goes */
}

int glan_l2_uplink_start(struct glan_uplink *u)
{
    return l2port_of(u) ? u->ops->start(u) : -EINVAL;
}

void glan_l2_uplink_stop(struct glan_uplink *u)
{
    if (l2port_of(u))
        u->ops->stop(u);
}

int glan_l2_uplink_announce(struct glan_uplink *u, const struct glan_addr *addr)
{
    struct runner *r = l2port_of(u);
    if (!r || !u->port || r->fd < 0)
        return -EINVAL;
    pthread_mutex_lock(&r->lock);
    struct l2link *k = link_of(r);
    int rc = k->l2 ? glan_l2_announce(k->l2, addr, now_ns()) : -EINVAL;
    pthread_mutex_unlock(&r->lock);
    return rc;
}

int glan_l2_uplink_status(struct glan_uplink *u, struct glan_l2_uplink_status *out)
{
    struct runner *r = l2port_of(u);
    if (!r)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&r->lock); /* a reopen changes ifname and fd under it */
    snprintf(out->ifname, sizeof out->ifname, "%s", r->ifname);
    out->open = r->fd >= 0;
    pthread_mutex_unlock(&r->lock);
    out->down = atomic_load(&r->down);
    out->rx_thread = r->rx_running;
    out->gone_events = atomic_load(&r->gone_events);
    out->recoveries = atomic_load(&r->recoveries);
    out->tx_down = atomic_load(&r->tx_down);
    out->rx_wakeups = atomic_load(&r->rx_wakeups);
    out->rx_empty = atomic_load(&r->rx_empty);
    runner_message(r, out->message, sizeof out->message);
    return 0;
}

/* Lock u's runner and return its engine: NULL when u is no layer-2 uplink
 * (*rp NULL, nothing locked) or its engine is not made yet (locked). */
static struct glan_l2 *engine_enter(struct glan_uplink *u, struct runner **rp)
{
    struct runner *r = *rp = l2port_of(u);
    if (!r)
        return NULL;
    pthread_mutex_lock(&r->lock);
    return link_of(r)->l2;
}

/* Let go of what engine_enter locked. */
static void engine_leave(struct runner *r)
{
    if (r)
        pthread_mutex_unlock(&r->lock);
}

int glan_l2_uplink_stats(struct glan_uplink *u, struct glan_l2_stats *out)
{
    struct runner *r;
    struct glan_l2 *l2 = engine_enter(u, &r);
    if (l2)
        glan_l2_stats(l2, out);
    engine_leave(r);
    return l2 ? 0 : -EINVAL;
}

int glan_l2_uplink_mac(struct glan_uplink *u, uint8_t mac[6])
{
    struct runner *r;
    struct glan_l2 *l2 = engine_enter(u, &r);
    if (l2)
        glan_l2_mac(l2, mac);
    engine_leave(r);
    return l2 ? 0 : -EINVAL;
}

enum glan_l2_state glan_l2_uplink_neighbour(struct glan_uplink *u, const struct glan_addr *addr,
                                            uint8_t mac[6])
{
    struct runner *r;
    struct glan_l2 *l2 = engine_enter(u, &r);
    enum glan_l2_state s = l2 ? glan_l2_neighbour(l2, addr, now_ns(), mac) : GLAN_L2_NONE;
    engine_leave(r);
    return s;
}
