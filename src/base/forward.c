/*
 * Where a datagram goes: the forwarding policy of the base.  Every datagram
 * of every port, guest or uplink, comes through forward once it is in base
 * storage (storage.c), and goes
 *
 *   unicast    to the port that registered its destination; when none did,
 *              a guest's to the uplink, the uplink's nowhere (no flooding);
 *   broadcast  to every other port, the uplink included;
 *   multicast  to every other port that joined the group, and a guest's to
 *              the uplink too.
 *
 * Each copy goes on its receiver's wait queue (enqueue, queue.c); a datagram
 * with nowhere to go is dropped with its reason.  Who holds an address is
 * the registry's business (registry.c).  A copy larger than its receiver's
 * MTU is dropped and answered as a router answers it (pmtu.c).  A LAN of
 * transport ETHERNET switches frames instead (l2switch.c).
 */
#include <stdatomic.h>
#include <string.h>

#include "addr.h"
#include "base_int.h"
#include "count.h"
#include "guestlan/offload.h"

static enum glan_cast classify(const struct glan_addr *d)
{
    if (addr_is_broadcast(d))
        return GLAN_CAST_BROADCAST;
    return addr_is_multicast(d) ? GLAN_CAST_MULTICAST : GLAN_CAST_UNICAST;
}

/* The receivers of a broadcast or multicast datagram from port src, as a
 * set of ports; how many. */
static unsigned fan_targets(struct glan_lan *lan, int src, enum glan_cast cast,
                            const struct glan_addr *d, uint64_t map[MAX_PORTS_WORDS])
{
    unsigned n = 0;
    if (cast == GLAN_CAST_BROADCAST) {
        memset(map, 0, MAX_PORTS_WORDS * sizeof map[0]);
        for (uint32_t p = 0; p < lan->r->max_ports; p++)
            if ((int)p != src &&
                atomic_load_explicit(&lan->ports[p].state, memory_order_relaxed) == PORT_ACTIVE) {
                map[p / 64] |= 1ull << (p % 64); /* each p once: no need to ask */
                n++;
            }
        return n;
    }
    n = reg_group_members(lan, d, src, map);
    int uplink = uplink_of(lan);
    if (uplink >= 0 && uplink != src && lan->ports[src].kind == GLAN_PORT_GUEST)
        n += map_add(map, (uint32_t)uplink);
    return n;
}

int unicast_dest(struct glan_port *port, const uint8_t *data, size_t len,
                 const struct glan_tx_meta *meta)
{
    struct glan_lan *lan = port->lan;
    struct glan_addr d;
    if (lan_is_ethernet(lan)) {
        /* A frame: its destination MAC (l2switch.c switches it so too; a
         * frame for a port not on its VLAN is dropped there, not waited
         * for). */
        if (len < 14 || mac_is_group(data))
            return -1;
        glan_addr_mac(&d, data);
        int dst = glan_lan_lookup(lan, &d);
        if (dst < 0 && lan->ports[port->idx].kind == GLAN_PORT_GUEST)
            dst = uplink_of(lan);
        return dst;
    }
    if (glan_dgram_dest(data, len, &d) < 0)
        return -1;
    enum glan_cast cast = meta && meta->cast != GLAN_CAST_AUTO ? meta->cast : classify(&d);
    if (cast != GLAN_CAST_UNICAST)
        return -1;
    int dst = glan_lan_lookup(lan, &d);
    if (dst < 0 && lan->ports[port->idx].kind == GLAN_PORT_GUEST)
        dst = uplink_of(lan);
    return dst;
}

static enum glan_drop drop_whole(struct glan_lan *lan, struct journal *j, uint32_t slot,
                                 enum glan_drop why)
{
    sender_drop(lan, j, slot, -1, why);
    return why;
}

enum glan_drop forward(struct glan_port *port, struct journal *j, uint32_t slot, size_t len,
                       const struct glan_tx_meta *meta, struct pmtu_job *job)
{
    struct glan_lan *lan = port->lan;
    if (lan_is_ethernet(lan))
        return l2_forward(port, j, slot, len, meta);
    int src = port->idx;
    count_sent(lan, j, src, slot, len);

    struct glan_addr d;
    if (glan_dgram_dest(slot_data(lan, slot), len, &d) < 0)
        return drop_whole(lan, j, slot, GLAN_DROP_MALFORMED);
    /* A TSO datagram nobody could cut is refused here, once, rather than
     * by each receiver (devices check before they send; this catches the
     * other senders). */
    if ((lan->slots[slot].offload & GLAN_OFFLOAD_TSO) &&
        glan_offload_check(slot_data(lan, slot), len, GLAN_OFFLOAD_TSO, lan->slots[slot].mss) !=
            GLAN_OFFLOAD_OK)
        return drop_whole(lan, j, slot, GLAN_DROP_MALFORMED);
    /* The sender may know better: an OSA header can say broadcast. */
    enum glan_cast cast = meta && meta->cast != GLAN_CAST_AUTO ? meta->cast : classify(&d);
    lan->slots[slot].cast = (uint8_t)cast;
    lan->slots[slot].family = d.family;

    if (cast == GLAN_CAST_UNICAST) {
        int dst = glan_lan_lookup(lan, &d);
        if (dst < 0) {
            if (lan->ports[src].kind == GLAN_PORT_UPLINK)
                return drop_whole(lan, j, slot, GLAN_DROP_UNKNOWN_DEST);
            dst = uplink_of(lan);
            if (dst < 0)
                return drop_whole(lan, j, slot, GLAN_DROP_NO_UPLINK);
        }
        uint32_t mtu = too_big_for(lan, dst, slot_data(lan, slot), len, meta);
        if (mtu)
            return pmtu_unicast(port, j, slot, len, dst, mtu, job);
        enqueue(lan, j, port, dst, slot);
        return GLAN_DROP_NONE;
    }

    uint64_t map[MAX_PORTS_WORDS];
    unsigned n = fan_targets(lan, src, cast, &d, map);
    if (n == 0)
        return drop_whole(lan, j, slot, GLAN_DROP_NO_RECEIVER);
    /* One reference per receiver; the caller's reference becomes the first
     * (an add, not a store: the caller may hold one more for the monitor). */
    atomic_fetch_add_explicit(&lan->slots[slot].refs, n - 1, memory_order_relaxed);
    count_fanout(lan, j, src, n - 1);
    for (uint32_t w = 0; w < MAX_PORTS_WORDS; w++)
        for (uint64_t bits = map[w]; bits; bits &= bits - 1) {
            int p = (int)(w * 64 + (uint32_t)__builtin_ctzll(bits));
            uint32_t mtu = too_big_for(lan, p, slot_data(lan, slot), len, meta);
            if (mtu)
                pmtu_copy(lan, j, slot, len, p, mtu, job);
            else
                enqueue(lan, j, port, p, slot);
        }
    return GLAN_DROP_NONE;
}
