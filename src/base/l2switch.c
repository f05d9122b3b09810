/*
 * Where a frame goes on a LAN of transport ETHERNET: the forwarding policy
 * of the base for layer-2 guests (z/VM's VSWITCH ETHERNET).  forward
 * (forward.c) hands every frame of such a LAN here, from every port, once
 * it is in base storage; the registry (registry.c) knows which port holds
 * which MAC address (SETVMAC), which ports joined which group MAC (SETGMAC)
 * and which VLANs (SETVLAN).  A frame
 *
 *   is malformed  when shorter than an Ethernet header (14 bytes, 18 with
 *                 an 802.1Q tag), when its source MAC is a group address or
 *                 zero, when its tag says VLAN 4095, or when it is marked
 *                 TSO and its datagram cannot be cut;
 *   is spoofed    when its source MAC is registered to another port: the
 *                 first holder of a MAC keeps it, nobody may send as it;
 *   goes, by destination MAC,
 *     unicast     to the port that registered it; when none did, a guest's
 *                 to the uplink, the uplink's nowhere (unknown_dest): the
 *                 LAN learns no MAC, every guest MAC is registered, so
 *                 unknown unicast only ever goes toward the uplink;
 *     broadcast   to every other port;
 *     multicast   to every other port that registered the group MAC, and a
 *                 guest's to the uplink too;
 *   and within its VLAN.  An untagged frame (or one tagged with VLAN 0,
 *   priority only) may reach every port.  A frame tagged with VLAN v
 *   reaches only the guests that registered v, and the uplink, which
 *   carries every VLAN (a trunk); a guest may send into v only when it
 *   registered v.  A guest that registered VLANs still sends and receives
 *   untagged frames: that is its base interface (eth0 beside eth0.10).
 *   A tagged copy a receiver may not have is dropped as `vlan`.
 *
 * Each copy goes on its receiver's wait queue (enqueue, queue.c), exactly
 * as forward does for IP datagrams, so the counters balance the same way.
 */
#include <stdatomic.h>
#include <string.h>

#include "addr.h"
#include "base_int.h"
#include "count.h"
#include "guestlan/offload.h"

enum { ETH_HLEN_ = 14, VLAN_HLEN_ = 4, ETHERTYPE_8021Q = 0x8100 };

/* What forwarding needs of a frame's header. */
struct l2_hdr {
    const uint8_t *dst, *src;
    uint16_t vid; /* 0: untagged (or priority-tagged) */
};

/* 0, or -1 when the frame is malformed. */
static int l2_parse(const uint8_t *f, size_t len, struct l2_hdr *h)
{
    if (len < ETH_HLEN_)
        return -1;
    h->dst = f;
    h->src = f + 6;
    h->vid = 0;
    if ((f[12] << 8 | f[13]) == ETHERTYPE_8021Q) {
        if (len < ETH_HLEN_ + VLAN_HLEN_)
            return -1;
        h->vid = (uint16_t)((f[14] << 8 | f[15]) & 0x0fff);
        if (h->vid == 0x0fff)
            return -1;
    }
    if (mac_is_group(h->src) || mac_is_zero(h->src))
        return -1;
    return 0;
}

static int is_guest(struct glan_lan *lan, int p)
{
    return lan->ports[p].kind == GLAN_PORT_GUEST;
}

/* May port p (not the sender) have a copy of a frame of VLAN vid? */
static int vlan_allows(struct glan_lan *lan, int p, uint16_t vid, const struct glan_addr *v)
{
    return vid == 0 || !is_guest(lan, p) || reg_group_has(lan, v, p);
}

static enum glan_drop drop_whole(struct glan_lan *lan, struct journal *j, uint32_t slot,
                                 enum glan_drop why)
{
    sender_drop(lan, j, slot, -1, why);
    return why;
}

/* The receivers of a broadcast or multicast frame from port src, as a set
 * of ports; how many. */
static unsigned fan_targets(struct glan_lan *lan, int src, enum glan_cast cast,
                            const struct l2_hdr *h, const struct glan_addr *v,
                            uint64_t map[MAX_PORTS_WORDS])
{
    unsigned n = 0;
    if (cast == GLAN_CAST_BROADCAST && h->vid) {
        n = reg_group_members(lan, v, src, map);
    } else if (cast == GLAN_CAST_BROADCAST) {
        memset(map, 0, MAX_PORTS_WORDS * sizeof map[0]);
        for (uint32_t p = 0; p < lan->r->max_ports; p++)
            if ((int)p != src &&
                atomic_load_explicit(&lan->ports[p].state, memory_order_relaxed) == PORT_ACTIVE)
                n += map_add(map, p);
    } else {
        struct glan_addr g;
        glan_addr_mac(&g, h->dst);
        n = reg_group_members(lan, &g, src, map);
        if (h->vid) {
            uint64_t in_vlan[MAX_PORTS_WORDS];
            reg_group_members(lan, v, src, in_vlan);
            n = 0;
            for (uint32_t w = 0; w < MAX_PORTS_WORDS; w++) {
                map[w] &= in_vlan[w];
                n += (unsigned)__builtin_popcountll(map[w]);
            }
        }
    }
    /* The uplink is a trunk: every broadcast and multicast of a guest. */
    int uplink = uplink_of(lan);
    if (uplink >= 0 && uplink != src && is_guest(lan, src))
        n += map_add(map, (uint32_t)uplink);
    return n;
}

enum glan_drop l2_forward(struct glan_port *port, struct journal *j, uint32_t slot, size_t len,
                          const struct glan_tx_meta *meta)
{
    (void)meta; /* the destination MAC says how a frame is cast */
    struct glan_lan *lan = port->lan;
    int src = port->idx;
    count_sent(lan, j, src, slot, len);
    lan->slots[slot].family = GLAN_AF_MAC; /* what a monitor is shown, dropped or not */

    struct l2_hdr h;
    if (l2_parse(slot_data(lan, slot), len, &h) < 0)
        return drop_whole(lan, j, slot, GLAN_DROP_MALFORMED);
    /* A TSO frame nobody could cut is refused here, once, as forward does
     * for a datagram (docs/design.md, "Offloads"). */
    if (lan->slots[slot].offload & GLAN_OFFLOAD_TSO) {
        const uint8_t *f = slot_data(lan, slot);
        size_t hl = glan_offload_eth_hlen(f, len);
        if (hl == 0 || glan_offload_check(f + hl, len - hl, GLAN_OFFLOAD_TSO,
                                          lan->slots[slot].mss) != GLAN_OFFLOAD_OK)
            return drop_whole(lan, j, slot, GLAN_DROP_MALFORMED);
    }
    enum glan_cast cast = !mac_is_group(h.dst)      ? GLAN_CAST_UNICAST
                          : mac_is_broadcast(h.dst) ? GLAN_CAST_BROADCAST
                                                    : GLAN_CAST_MULTICAST;
    lan->slots[slot].cast = (uint8_t)cast;

    struct glan_addr a, v;
    glan_addr_mac(&a, h.src);
    int holder = glan_lan_lookup(lan, &a);
    if (holder >= 0 && holder != src)
        return drop_whole(lan, j, slot, GLAN_DROP_SPOOFED);
    glan_addr_vlan(&v, h.vid);
    if (h.vid && is_guest(lan, src) && !reg_group_has(lan, &v, src))
        return drop_whole(lan, j, slot, GLAN_DROP_VLAN);

    if (cast == GLAN_CAST_UNICAST) {
        glan_addr_mac(&a, h.dst);
        int dst = glan_lan_lookup(lan, &a);
        if (dst < 0) {
            if (!is_guest(lan, src))
                return drop_whole(lan, j, slot, GLAN_DROP_UNKNOWN_DEST);
            dst = uplink_of(lan);
            if (dst < 0)
                return drop_whole(lan, j, slot, GLAN_DROP_NO_UPLINK);
        }
        if (dst != src && !vlan_allows(lan, dst, h.vid, &v)) {
            sender_drop(lan, j, slot, dst, GLAN_DROP_VLAN);
            return GLAN_DROP_VLAN;
        }
        enqueue(lan, j, port, dst, slot);
        return GLAN_DROP_NONE;
    }

    uint64_t map[MAX_PORTS_WORDS];
    unsigned n = fan_targets(lan, src, cast, &h, &v, map);
    if (n == 0)
        return drop_whole(lan, j, slot, GLAN_DROP_NO_RECEIVER);
    /* One reference per receiver; the caller's reference becomes the first
     * (an add: the caller may hold one more for the monitor). */
    atomic_fetch_add_explicit(&lan->slots[slot].refs, n - 1, memory_order_relaxed);
    count_fanout(lan, j, src, n - 1);
    for (uint32_t w = 0; w < MAX_PORTS_WORDS; w++)
        for (uint64_t bits = map[w]; bits; bits &= bits - 1)
            enqueue(lan, j, port, (int)(w * 64 + (uint32_t)__builtin_ctzll(bits)), slot);
    return GLAN_DROP_NONE;
}
