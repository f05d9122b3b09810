/*
 * Datagrams refused before they reach base storage (too_big, no_buffer:
 * glan_port_tx_begin counts them) shown to the LAN's monitor all the same,
 * so that a trace of dropped datagrams has every drop.  No base buffer holds
 * such a datagram, so the sender shows its own bytes: glan_port_send does
 * for its callers, a device that gathers a datagram from guest storage
 * reads it when glan_port_monitored says someone watches (src/osa/qdio.c).
 * The monitor is entered and left as monitor_show does (lan.c, S5).
 */
#include <stdatomic.h>
#include <time.h>

#include "addr.h"
#include "base_int.h"

size_t glan_port_monitored(const struct glan_port *port)
{
    struct glan_lan *lan = port->lan;
    /* relaxed: a hint, as in glan_port_tx_commit; glan_port_show_refused
     * looks again with the monitor pinned */
    if (!atomic_load_explicit(&lan->mon, memory_order_relaxed))
        return 0;
    return lan->cls[NCLASS - 1].size;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void glan_port_show_refused(struct glan_port *port, const void *data, size_t len,
                            enum glan_drop why, const struct glan_tx_meta *meta)
{
    struct glan_lan *lan = port->lan;
    size_t keep = glan_port_monitored(port);
    if (!keep)
        return;
    if (len > keep)
        len = keep;
    /* What forward would have stamped on its buffer, when the bytes say. */
    struct glan_addr d;
    uint8_t family = 0, cast = GLAN_CAST_UNICAST;
    if (glan_dgram_dest(data, len, &d) == 0) {
        family = d.family;
        cast = meta && meta->cast != GLAN_CAST_AUTO ? (uint8_t)meta->cast
               : addr_is_broadcast(&d)              ? GLAN_CAST_BROADCAST
               : addr_is_multicast(&d)              ? GLAN_CAST_MULTICAST
                                                    : GLAN_CAST_UNICAST;
    } else if (len &&
               (((const uint8_t *)data)[0] >> 4 == 4 || ((const uint8_t *)data)[0] >> 4 == 6)) {
        family = ((const uint8_t *)data)[0] >> 4; /* cut short, or malformed */
    }
    struct glan_dgram dg = {
        .data = data,
        .len = (uint32_t)len,
        .cast = cast,
        .family = family,
        .src = (int16_t)port->idx,
        .ts_ns = meta && meta->ts_ns ? meta->ts_ns : now_ns(),
    };
    /* S5: seq_cst, the user's side: raise mon_users, then read mon (lan.c) */
    atomic_fetch_add(&lan->mon_users, 1);
    struct monitor *m = atomic_load(&lan->mon);
    if (m)
        m->fn(m->ctx, &dg, why);
    atomic_fetch_sub(&lan->mon_users, 1);
}
