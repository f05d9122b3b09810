/*
 * What the files of the layer-2 engine share (l2.c: life cycle, framing,
 * output and input; l2nd.c: ARP and neighbour discovery; l2cache.c: the
 * neighbour cache and the datagrams held while it resolves): the engine's
 * state and the functions one file calls in another.  Everything here runs
 * under the caller's serialisation of one engine (l2.h).  Internal to
 * src/uplink.
 */
#ifndef GLAN_UPLINK_L2_INT_H
#define GLAN_UPLINK_L2_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "guestlan/l2.h"
#include "guestlan/wire.h"

#define ETH_MIN        60 /* shortest frame without FCS: shorter ones are padded */
#define ARP_LEN        28
#define ND_NS          135
#define ND_NA          136
#define ND_OPT_SLLA    1
#define ND_OPT_TLLA    2
#define NA_SOLICIT     0x40
#define NA_OVERRIDE    0x20
#define IPPROTO_V6ICMP 58

/* A datagram held while its next hop is resolved. */
struct held {
    struct held *next;
    uint32_t len;
    uint8_t data[];
};

struct neigh {
    uint8_t state; /* enum glan_l2_state; NONE: free */
    struct glan_addr ip;
    struct glan_addr src; /* our address to ask from (the held datagram's source) */
    uint8_t mac[6];
    uint32_t probes;   /* requests sent in this resolution */
    uint64_t deadline; /* INCOMPLETE/PROBE: next request; REACHABLE: until */
    uint64_t used;     /* last use, for eviction */
    struct held *head, *tail;
    uint32_t nheld;
};

/* RFC 5227's DEFEND_INTERVAL: an address is defended against another
 * claim at most once in this long.  Two LANs that both hold an address
 * (two hosts' guests with one link-local address: the device makes it
 * from the port, the same on every host) would otherwise answer each
 * other's defence with their own, on and on as fast as the CPU goes. */
#define L2_DEFEND_NS    (10ull * 1000000000ull)
#define L2_DEFEND_SLOTS 16 /* addresses remembered; the oldest is forgotten first */

struct glan_l2 {
    struct glan_l2_config cfg;
    struct glan_lan *lan;
    glan_l2_xmit_fn xmit;
    void *ctx;
    struct neigh *cache;
    uint8_t *tx; /* one frame being built */
    size_t txcap;
    uint32_t held_total;
    struct glan_l2_stats st;
    struct {
        struct glan_addr addr;
        uint64_t at;
    } defended[L2_DEFEND_SLOTS]; /* the last defences (l2nd.c) */
};

extern const uint8_t l2_bcast_mac[6];

static inline void l2_addr4(struct glan_addr *a, const uint8_t *p)
{
    memset(a, 0, sizeof *a);
    a->family = GLAN_AF_INET;
    memcpy(a->bytes, p, 4);
}

static inline void l2_addr6(struct glan_addr *a, const uint8_t *p)
{
    memset(a, 0, sizeof *a);
    a->family = GLAN_AF_INET6;
    memcpy(a->bytes, p, 16);
}

/* The Ethernet group address of IPv6 multicast group ip6. */
static inline void l2_multicast_mac6(uint8_t *mac, const uint8_t *ip6)
{
    mac[0] = 0x33;
    mac[1] = 0x33;
    memcpy(mac + 2, ip6 + 12, 4);
}

/* ---- frames (l2.c) ---- */

/* Write the Ethernet (and 802.1Q) header at f; its length. */
size_t l2_eth_header(const struct glan_l2 *l2, uint8_t *f, const uint8_t *dst, uint16_t type);
/* Pad to ETH_MIN and hand the frame to the owner's transmit; counted. */
int l2_transmit(struct glan_l2 *l2, uint8_t *f, size_t len);
/* Frame one datagram for dst and transmit it. */
int l2_send_datagram(struct glan_l2 *l2, const uint8_t *dst, const uint8_t *dg, size_t len);

/* ---- ARP and neighbour discovery (l2nd.c) ---- */

/* Ask for n's MAC (ARP request or solicitation from n->src); counts a probe
 * and sets the next deadline. */
void l2_solicit(struct glan_l2 *l2, struct neigh *n, uint64_t now);
/* An ARP packet (len bytes at a) from the network. */
void l2_arp_input(struct glan_l2 *l2, const uint8_t *a, size_t len, uint64_t now);
/* A neighbour solicitation or advertisement (ICMPv6 at m, mlen bytes, in the
 * IPv6 packet at ip); eth_src is the frame's source. */
void l2_nd_input(struct glan_l2 *l2, const uint8_t *ip, const uint8_t *m, size_t mlen,
                 const uint8_t *eth_src, uint64_t now);

/* ---- the neighbour cache (l2cache.c) ---- */

/* The entry of ip, or NULL. */
struct neigh *l2_find(const struct glan_l2 *l2, const struct glan_addr *ip);
/* A fresh entry for ip: a free one, or the least recently used resolved one
 * (its held datagrams dropped).  NULL when every entry is resolving. */
struct neigh *l2_new_entry(struct glan_l2 *l2, const struct glan_addr *ip, uint64_t now);
/* Drop what n holds, counted as unresolved. */
void l2_drop_held(struct glan_l2 *l2, struct neigh *n);
/* Keep a copy of the datagram on n until it resolves: 0, or -ENOBUFS
 * (counted as hold_dropped). */
int l2_hold(struct glan_l2 *l2, struct neigh *n, const uint8_t *dg, size_t len);
/* Someone told us ip is at mac; create: make an entry when there is none. */
void l2_learn(struct glan_l2 *l2, const struct glan_addr *ip, const uint8_t *mac, int create,
              uint64_t now);

#endif
