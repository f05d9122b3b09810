/*
 * The base's side of an uplink: it turns an implementation of
 * struct glan_uplink_ops into a port of the LAN (kind GLAN_PORT_UPLINK), so
 * that forwarding treats the uplink like any other port, gives the
 * implementations one entry point for what arrives from the network, and
 * queries one way to ask any uplink for its status.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "guestlan/uplink.h"

static int uplink_send(void *ctx, const struct glan_dgram *dg)
{
    struct glan_uplink *u = ctx;
    return u->ops->send(u, dg);
}

/* What leaves toward the network is what a sender without offloads would
 * have sent: a TSO datagram goes out as its segments. */
static int uplink_deliver(void *ctx, const struct glan_dgram *dg)
{
    struct glan_uplink *u = ctx;
    if (!(dg->offload & GLAN_OFFLOAD_TSO))
        return u->ops->send(u, dg);
    return glan_offload_each(&u->off, dg, uplink_send, u);
}

static void uplink_addr_event(void *ctx, const struct glan_addr *addr, int registered)
{
    struct glan_uplink *u = ctx;
    if (u->ops->addr_event)
        u->ops->addr_event(u, addr, registered);
}

static const struct glan_port_ops uplink_port_ops = {
    .deliver = uplink_deliver,
    .addr_event = uplink_addr_event,
};

int glan_uplink_attach(struct glan_lan *lan, struct glan_uplink *u)
{
    if (!u || !u->ops || !u->ops->send)
        return -EINVAL;
    if (u->port) {
        snprintf(u->err, sizeof u->err, "uplink is already attached");
        return -EBUSY;
    }
    int rc = u->ops->open ? u->ops->open(u) : 0;
    if (rc < 0)
        return rc;
    struct glan_port_info info = {
        .name = "uplink", .kind = GLAN_PORT_UPLINK, .mtu = glan_uplink_mtu(u)};
    rc = glan_port_attach(lan, &info, &uplink_port_ops, u, &u->port);
    if (rc < 0) {
        snprintf(u->err, sizeof u->err, "%s",
                 rc == -EEXIST ? "the LAN already has an uplink" : "the LAN has no free port");
        if (u->ops->close)
            u->ops->close(u);
        u->port = NULL;
        return rc;
    }
    rc = u->ops->start ? u->ops->start(u) : 0;
    if (rc < 0) {
        char msg[sizeof u->err];
        memcpy(msg, u->err, sizeof msg); /* the start's reason, not close's */
        glan_port_detach(u->port);
        u->port = NULL;
        if (u->ops->close)
            u->ops->close(u);
        memcpy(u->err, msg, sizeof msg);
    }
    return rc;
}

void glan_uplink_set_mtu(struct glan_uplink *u, uint32_t mtu)
{
    __atomic_store_n(&u->mtu, mtu, __ATOMIC_RELAXED);
    /* The port pointer is the attaching thread's; an implementation calls
     * this from its own threads only while attached or in its open op. */
    struct glan_port *port = __atomic_load_n(&u->port, __ATOMIC_ACQUIRE);
    if (port)
        glan_port_set_mtu(port, mtu);
}

uint32_t glan_uplink_mtu(const struct glan_uplink *u)
{
    return __atomic_load_n(&u->mtu, __ATOMIC_RELAXED);
}

void glan_uplink_detach(struct glan_uplink *u)
{
    if (!u || !u->port)
        return;
    /* Receiving stops first, so no thread is inside glan_uplink_input() for
     * a port that is going away. */
    if (u->ops->stop)
        u->ops->stop(u);
    glan_port_detach(u->port);
    u->port = NULL;
    glan_offload_state_free(&u->off);
    if (u->ops->close)
        u->ops->close(u);
}

enum glan_drop glan_uplink_input(struct glan_uplink *u, const void *data, size_t len,
                                 uint64_t ts_ns)
{
    struct glan_tx_meta meta = {.cast = GLAN_CAST_AUTO, .ts_ns = ts_ns};
    glan_uplink_count(&u->stats.rx_packets, 1);
    glan_uplink_count(&u->stats.rx_bytes, len);
    return glan_port_send(u->port, data, len, &meta);
}

void glan_uplink_get_stats(const struct glan_uplink *u, struct glan_uplink_stats *out)
{
    const struct glan_uplink_stats *s = &u->stats;
    *out = (struct glan_uplink_stats){
        .tx_packets = __atomic_load_n(&s->tx_packets, __ATOMIC_RELAXED),
        .tx_bytes = __atomic_load_n(&s->tx_bytes, __ATOMIC_RELAXED),
        .tx_errors = __atomic_load_n(&s->tx_errors, __ATOMIC_RELAXED),
        .rx_packets = __atomic_load_n(&s->rx_packets, __ATOMIC_RELAXED),
        .rx_bytes = __atomic_load_n(&s->rx_bytes, __ATOMIC_RELAXED),
        .rx_skipped = __atomic_load_n(&s->rx_skipped, __ATOMIC_RELAXED),
        .rx_errors = __atomic_load_n(&s->rx_errors, __ATOMIC_RELAXED),
        .tx_tso = __atomic_load_n(&u->off.tso, __ATOMIC_RELAXED),
        .tx_segments = __atomic_load_n(&u->off.segments, __ATOMIC_RELAXED),
    };
}

int glan_uplink_get_status(struct glan_uplink *u, struct glan_uplink_status *out)
{
    memset(out, 0, sizeof *out);
    return u->ops->status ? u->ops->status(u, out) : -EOPNOTSUPP;
}

void glan_uplink_destroy(struct glan_uplink *u)
{
    if (!u)
        return;
    glan_uplink_detach(u);
    if (u->ops->destroy)
        u->ops->destroy(u);
}
