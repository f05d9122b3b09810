/*
 * The layer-2 engine (include/guestlan/l2.h): Ethernet framing, ARP and IPv6
 * neighbour discovery on behalf of a LAN's guests, and the neighbour cache
 * with the datagrams held while a resolution is pending.  Pure code over
 * buffers: frames leave through the owner's transmit callback, time comes in
 * as an argument, and nothing here sleeps, locks or touches a device, so the
 * unit suite (tests/unit/test_l2.c) drives it with a clock it steps.
 *
 * The cache is a small array searched linearly: a LAN talks to a handful of
 * next hops (usually one gateway), and a scan of a few hundred entries costs
 * less than the frame copy that follows it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guestlan/inet.h"
#include "guestlan/l2.h"
#include "wire/wire.h"

#define ETH_HDR        ETH_HDR_LEN
#define VLAN_HDR       VLAN_TAG_LEN
#define ETH_MIN        60 /* shortest frame without FCS: shorter ones are padded */
#define ARP_LEN        28
#define ND_NS          135
#define ND_NA          136
#define ND_OPT_SLLA    1
#define ND_OPT_TLLA    2
#define NA_ROUTER      0x80
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
};

static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* ---- MAC addresses ---------------------------------------------------------- */

void glan_l2_default_mac(const char *lan_name, uint8_t mac[6])
{
    /* FNV-1a: any stable hash will do; the point is that a LAN keeps its MAC
     * across restarts so the neighbours' caches stay right. */
    uint32_t h = 2166136261u;
    for (const char *s = lan_name ? lan_name : "GLAN"; *s; s++) {
        h ^= (uint8_t)*s;
        h *= 16777619u;
    }
    mac[0] = 0x02; /* locally administered, unicast */
    mac[1] = 0x67; /* 'g' */
    mac[2] = (uint8_t)(h >> 24);
    mac[3] = (uint8_t)(h >> 16);
    mac[4] = (uint8_t)(h >> 8);
    mac[5] = (uint8_t)h;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int glan_l2_parse_mac(const char *text, uint8_t mac[6])
{
    if (!text || strlen(text) != 17)
        return -EINVAL;
    for (int i = 0; i < 6; i++) {
        const char *p = text + 3 * i;
        int hi = hexval(p[0]), lo = hexval(p[1]);
        if (hi < 0 || lo < 0 || (i < 5 && p[2] != ':' && p[2] != '-'))
            return -EINVAL;
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

char *glan_l2_format_mac(const uint8_t mac[6], char *buf, size_t len)
{
    snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
             mac[5]);
    return buf;
}

/* ---- addresses ----------------------------------------------------------------- */

static void addr4(struct glan_addr *a, const uint8_t *p)
{
    memset(a, 0, sizeof *a);
    a->family = GLAN_AF_INET;
    memcpy(a->bytes, p, 4);
}

static void addr6(struct glan_addr *a, const uint8_t *p)
{
    memset(a, 0, sizeof *a);
    a->family = GLAN_AF_INET6;
    memcpy(a->bytes, p, 16);
}

static int in_prefix(const struct glan_addr *a, const struct glan_addr *net, unsigned len)
{
    if (net->family != a->family)
        return 0;
    unsigned bytes = len / 8, bits = len % 8;
    if (memcmp(a->bytes, net->bytes, bytes))
        return 0;
    if (!bits)
        return 1;
    uint8_t m = (uint8_t)(0xff << (8 - bits));
    return (a->bytes[bytes] & m) == (net->bytes[bytes] & m);
}

static int is_ours(const struct glan_l2 *l2, const struct glan_addr *a)
{
    return l2->lan && glan_lan_lookup(l2->lan, a) >= 0;
}

static int zero_addr(const struct glan_addr *a)
{
    static const uint8_t z[16];
    return !memcmp(a->bytes, z, 16);
}

/* ---- frames ------------------------------------------------------------------------ */

/* Write the Ethernet (and 802.1Q) header; its length. */
static size_t eth_header(const struct glan_l2 *l2, uint8_t *f, const uint8_t *dst, uint16_t type)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, l2->cfg.mac, 6);
    if (l2->cfg.vlan) {
        put16(f + 12, ET_VLAN);
        put16(f + 14, l2->cfg.vlan); /* priority 0, DEI 0 */
        put16(f + 16, type);
        return ETH_HDR + VLAN_HDR;
    }
    put16(f + 12, type);
    return ETH_HDR;
}

static int transmit(struct glan_l2 *l2, uint8_t *f, size_t len)
{
    if (len < ETH_MIN) {
        /* A NIC pads short frames itself, a TAP or an injected frame is not
         * padded by anyone, and some stacks drop runts. */
        memset(f + len, 0, ETH_MIN - len);
        len = ETH_MIN;
    }
    int rc = l2->xmit(l2->ctx, f, len);
    if (rc == 0)
        l2->st.tx_frames++;
    else if (rc != -EAGAIN)
        l2->st.tx_errors++;
    return rc;
}

/* Frame one datagram for dst and transmit it. */
static int send_datagram(struct glan_l2 *l2, const uint8_t *dst, const uint8_t *dg, size_t len)
{
    uint16_t type = (dg[0] >> 4) == 4 ? ET_IPV4 : ET_IPV6;
    size_t h = eth_header(l2, l2->tx, dst, type);
    memcpy(l2->tx + h, dg, len);
    int rc = transmit(l2, l2->tx, h + len);
    if (rc == 0)
        l2->st.tx_ip++;
    return rc;
}

/* ---- checksums ---------------------------------------------------------------------- */

/* The ICMPv6 checksum over an IPv6 packet whose header is at ip. */
static uint16_t icmp6_sum(const uint8_t *ip, size_t plen)
{
    uint32_t s = glan_inet_sum(0, ip + 8, 32); /* source and destination */
    s += (uint32_t)(plen >> 16) + (uint32_t)(plen & 0xffff) + IPPROTO_V6ICMP;
    return glan_inet_csum(s, ip + 40, plen);
}

/* ---- ARP and neighbour discovery packets ---------------------------------------------- */

/* An ARP packet (op 1 request, 2 reply) to eth_dst. */
static int send_arp(struct glan_l2 *l2, const uint8_t *eth_dst, uint16_t op, const uint8_t *spa,
                    const uint8_t *tha, const uint8_t *tpa)
{
    uint8_t *f = l2->tx;
    size_t h = eth_header(l2, f, eth_dst, ET_ARP);
    uint8_t *a = f + h;
    put16(a, 1); /* Ethernet */
    put16(a + 2, ET_IPV4);
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, op);
    memcpy(a + 8, l2->cfg.mac, 6);
    memcpy(a + 14, spa, 4);
    memcpy(a + 18, tha, 6);
    memcpy(a + 24, tpa, 4);
    return transmit(l2, f, h + ARP_LEN);
}

/* An ICMPv6 neighbour message (solicitation or advertisement) of 32 bytes:
 * 24 of header and target, 8 of link-layer address option. */
static int send_nd(struct glan_l2 *l2, const uint8_t *eth_dst, const uint8_t *src,
                   const uint8_t *dst, uint8_t type, uint8_t flags, const uint8_t *target)
{
    uint8_t *f = l2->tx;
    size_t h = eth_header(l2, f, eth_dst, ET_IPV6);
    uint8_t *ip = f + h;
    const size_t plen = 32;
    memset(ip, 0, 40 + plen);
    ip[0] = 0x60;
    put16(ip + 4, (uint16_t)plen);
    ip[6] = IPPROTO_V6ICMP;
    ip[7] = 255; /* RFC 4861: receivers drop ND with any other hop limit */
    memcpy(ip + 8, src, 16);
    memcpy(ip + 24, dst, 16);
    uint8_t *m = ip + 40;
    m[0] = type;
    m[4] = flags;
    memcpy(m + 8, target, 16);
    m[24] = type == ND_NS ? ND_OPT_SLLA : ND_OPT_TLLA;
    m[25] = 1; /* units of 8 bytes */
    memcpy(m + 26, l2->cfg.mac, 6);
    put16(m + 2, icmp6_sum(ip, plen));
    return transmit(l2, f, h + 40 + plen);
}

static void multicast_mac6(uint8_t *mac, const uint8_t *ip6)
{
    mac[0] = 0x33;
    mac[1] = 0x33;
    memcpy(mac + 2, ip6 + 12, 4);
}

/* Ask for n's MAC: an ARP request, or a solicitation to n's solicited-node
 * multicast group. */
static void solicit(struct glan_l2 *l2, struct neigh *n, uint64_t now)
{
    int rc;
    if (n->ip.family == GLAN_AF_INET) {
        static const uint8_t zmac[6];
        rc = send_arp(l2, bcast_mac, 1, n->src.bytes, zmac, n->ip.bytes);
    } else {
        uint8_t grp[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff};
        memcpy(grp + 13, n->ip.bytes + 13, 3);
        uint8_t mac[6];
        multicast_mac6(mac, grp);
        rc = send_nd(l2, mac, n->src.bytes, grp, ND_NS, 0, n->ip.bytes);
    }
    if (rc == 0)
        l2->st.requests_sent++;
    /* A request that could not be sent counts as a probe all the same: the
     * timer retries, and the resolution cannot outlive its probes. */
    n->probes++;
    n->deadline = now + l2->cfg.retrans_ns;
}

int glan_l2_announce(struct glan_l2 *l2, const struct glan_addr *addr, uint64_t now)
{
    (void)now;
    int rc;
    if (addr->family == GLAN_AF_INET) {
        /* Gratuitous ARP as a request (sender = target = addr): every stack
         * updates an existing entry from it. */
        static const uint8_t zmac[6];
        rc = send_arp(l2, bcast_mac, 1, addr->bytes, zmac, addr->bytes);
    } else if (addr->family == GLAN_AF_INET6) {
        static const uint8_t all_nodes[16] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        uint8_t mac[6];
        multicast_mac6(mac, all_nodes);
        rc = send_nd(l2, mac, addr->bytes, all_nodes, ND_NA, NA_OVERRIDE, addr->bytes);
    } else {
        return -EINVAL;
    }
    if (rc == 0)
        l2->st.announcements++;
    return rc;
}

/* ---- the neighbour cache ------------------------------------------------------------- */

static struct neigh *find(const struct glan_l2 *l2, const struct glan_addr *ip)
{
    for (uint32_t i = 0; i < l2->cfg.cache_size; i++) {
        struct neigh *n = &l2->cache[i];
        if (n->state != GLAN_L2_NONE && glan_addr_equal(&n->ip, ip))
            return n;
    }
    return NULL;
}

static void drop_held(struct glan_l2 *l2, struct neigh *n)
{
    while (n->head) {
        struct held *h = n->head;
        n->head = h->next;
        free(h);
        l2->st.unresolved_dropped++;
        l2->held_total--;
    }
    n->tail = NULL;
    n->nheld = 0;
}

static void release(struct glan_l2 *l2, struct neigh *n)
{
    drop_held(l2, n);
    n->state = GLAN_L2_NONE;
    l2->st.cache_entries--;
}

/* A free entry, or the least recently used resolved one.  NULL when every
 * entry is resolving (their held datagrams are worth more than a new one). */
static struct neigh *new_entry(struct glan_l2 *l2, const struct glan_addr *ip, uint64_t now)
{
    struct neigh *victim = NULL;
    for (uint32_t i = 0; i < l2->cfg.cache_size; i++) {
        struct neigh *n = &l2->cache[i];
        if (n->state == GLAN_L2_NONE) {
            victim = n;
            break;
        }
        if (n->state != GLAN_L2_INCOMPLETE && (!victim || n->used < victim->used))
            victim = n;
    }
    if (!victim)
        return NULL;
    if (victim->state != GLAN_L2_NONE)
        release(l2, victim);
    memset(victim, 0, sizeof *victim);
    victim->ip = *ip;
    victim->used = now;
    l2->st.cache_entries++;
    return victim;
}

/* n's MAC is known now: remember it and send what waited for it. */
static void resolved(struct glan_l2 *l2, struct neigh *n, const uint8_t *mac, uint64_t now)
{
    if (n->state == GLAN_L2_INCOMPLETE || n->state == GLAN_L2_PROBE)
        l2->st.resolved++;
    memcpy(n->mac, mac, 6);
    n->state = GLAN_L2_REACHABLE;
    n->deadline = now + l2->cfg.reachable_ns;
    n->probes = 0;
    while (n->head) {
        struct held *h = n->head;
        n->head = h->next;
        n->nheld--;
        l2->held_total--;
        /* Too late to tell the base: a failure here only counts. */
        if (send_datagram(l2, n->mac, h->data, h->len) == -EAGAIN)
            l2->st.tx_errors++;
        free(h);
    }
    n->tail = NULL;
}

/* Someone told us ip is at mac (an ARP packet, a solicitation's source, an
 * advertisement).  create: make an entry when there is none. */
static void learn(struct glan_l2 *l2, const struct glan_addr *ip, const uint8_t *mac, int create,
                  uint64_t now)
{
    if (mac[0] & 1)
        return; /* a group address is nobody's */
    struct neigh *n = find(l2, ip);
    if (!n && create)
        n = new_entry(l2, ip, now); /* state NONE until resolved() fills it in */
    if (n)
        resolved(l2, n, mac, now);
}

void glan_l2_tick(struct glan_l2 *l2, uint64_t now)
{
    for (uint32_t i = 0; i < l2->cfg.cache_size; i++) {
        struct neigh *n = &l2->cache[i];
        if ((n->state != GLAN_L2_INCOMPLETE && n->state != GLAN_L2_PROBE) || now < n->deadline)
            continue;
        if (n->probes < l2->cfg.probes) {
            solicit(l2, n, now);
        } else {
            l2->st.resolve_failures++;
            release(l2, n);
        }
    }
}

uint64_t glan_l2_deadline(const struct glan_l2 *l2)
{
    uint64_t d = UINT64_MAX;
    for (uint32_t i = 0; i < l2->cfg.cache_size; i++) {
        const struct neigh *n = &l2->cache[i];
        if ((n->state == GLAN_L2_INCOMPLETE || n->state == GLAN_L2_PROBE) && n->deadline < d)
            d = n->deadline;
    }
    return d;
}

static enum glan_l2_state state_at(const struct neigh *n, uint64_t now)
{
    if (n->state == GLAN_L2_REACHABLE && now >= n->deadline)
        return GLAN_L2_STALE;
    return (enum glan_l2_state)n->state;
}

enum glan_l2_state glan_l2_neighbour(const struct glan_l2 *l2, const struct glan_addr *addr,
                                     uint64_t now, uint8_t mac[6])
{
    const struct neigh *n = find(l2, addr);
    if (!n)
        return GLAN_L2_NONE;
    enum glan_l2_state s = state_at(n, now);
    if (mac && s != GLAN_L2_INCOMPLETE)
        memcpy(mac, n->mac, 6);
    return s;
}

/* ---- output ------------------------------------------------------------------------------ */

/* The next hop of a unicast destination (see "Next hop" in l2.h). */
static void next_hop(const struct glan_l2 *l2, const struct glan_addr *dst, struct glan_addr *hop)
{
    const struct gw_choice {
        const struct glan_addr *gw, *net;
        unsigned len;
    } c = dst->family == GLAN_AF_INET
              ? (struct gw_choice){&l2->cfg.gateway4, &l2->cfg.onlink4, l2->cfg.onlink4_len}
              : (struct gw_choice){&l2->cfg.gateway6, &l2->cfg.onlink6, l2->cfg.onlink6_len};
    int link_local =
        dst->family == GLAN_AF_INET6 && dst->bytes[0] == 0xfe && (dst->bytes[1] & 0xc0) == 0x80;
    if (!c.gw->family || link_local || (c.net->family && in_prefix(dst, c.net, c.len)))
        *hop = *dst;
    else
        *hop = *c.gw;
}

/* Broadcast and multicast destinations: their group MAC in mac, 1; else 0. */
static int group_mac(const struct glan_l2 *l2, const struct glan_addr *dst, uint8_t *mac)
{
    const uint8_t *b = dst->bytes;
    if (dst->family == GLAN_AF_INET6) {
        if (b[0] != 0xff)
            return 0;
        multicast_mac6(mac, b);
        return 1;
    }
    if ((b[0] & 0xf0) == 0xe0) {
        mac[0] = 0x01;
        mac[1] = 0x00;
        mac[2] = 0x5e;
        mac[3] = b[1] & 0x7f;
        mac[4] = b[2];
        mac[5] = b[3];
        return 1;
    }
    int bcast = b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255;
    unsigned len = l2->cfg.onlink4_len;
    if (!bcast && l2->cfg.onlink4.family && len < 31 && in_prefix(dst, &l2->cfg.onlink4, len)) {
        /* the on-link prefix's broadcast address: all host bits set */
        uint32_t a = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
        uint32_t host = len ? 0xffffffffu >> len : 0xffffffffu;
        bcast = (a & host) == host;
    }
    if (bcast)
        memcpy(mac, bcast_mac, 6);
    return bcast;
}

/* Keep a copy of the datagram on n until it resolves. */
static int hold(struct glan_l2 *l2, struct neigh *n, const uint8_t *dg, size_t len)
{
    if (n->nheld >= l2->cfg.hold_per_dest || l2->held_total >= l2->cfg.hold_max) {
        l2->st.hold_dropped++;
        return -ENOBUFS;
    }
    struct held *h = malloc(sizeof *h + len);
    if (!h) {
        l2->st.hold_dropped++;
        return -ENOBUFS;
    }
    h->next = NULL;
    h->len = (uint32_t)len;
    memcpy(h->data, dg, len);
    if (n->tail)
        n->tail->next = h;
    else
        n->head = h;
    n->tail = h;
    n->nheld++;
    l2->held_total++;
    l2->st.held++;
    return 0;
}

int glan_l2_output(struct glan_l2 *l2, const uint8_t *dg, size_t len, uint64_t now)
{
    if (!ip_datagram_length(dg, len) || len > l2->cfg.max_datagram) {
        l2->st.malformed_dropped++;
        return -EINVAL;
    }
    struct glan_addr dst, src, hop;
    if (dg[0] >> 4 == 4) {
        addr4(&dst, dg + 16);
        addr4(&src, dg + 12);
    } else {
        addr6(&dst, dg + 24);
        addr6(&src, dg + 8);
    }
    uint8_t mac[6];
    if (group_mac(l2, &dst, mac))
        return send_datagram(l2, mac, dg, len);
    next_hop(l2, &dst, &hop);
    struct neigh *n = find(l2, &hop);
    if (n && n->state != GLAN_L2_INCOMPLETE) {
        n->used = now;
        if (n->state == GLAN_L2_REACHABLE && now >= n->deadline) {
            /* Stale: keep using it, but ask again; an answer renews it,
             * silence removes it (glan_l2_tick). */
            n->state = GLAN_L2_PROBE;
            n->probes = 0;
            n->src = src;
            solicit(l2, n, now);
        }
        return send_datagram(l2, n->mac, dg, len);
    }
    if (!n) {
        n = new_entry(l2, &hop, now);
        if (!n) {
            l2->st.cache_full_dropped++;
            return -ENOBUFS;
        }
        n->state = GLAN_L2_INCOMPLETE;
        /* Ask from the datagram's own source: the neighbour's answer, and the
         * entry it makes for the asker, then point at the guest's address. */
        n->src = src;
        int rc = hold(l2, n, dg, len);
        solicit(l2, n, now);
        return rc;
    }
    n->used = now;
    return hold(l2, n, dg, len);
}

/* ---- input ---------------------------------------------------------------------------------- */

static void arp_input(struct glan_l2 *l2, const uint8_t *a, size_t len, uint64_t now)
{
    if (len < ARP_LEN || be16(a) != 1 || be16(a + 2) != ET_IPV4 || a[4] != 6 || a[5] != 4 ||
        (be16(a + 6) != 1 && be16(a + 6) != 2)) {
        l2->st.rx_malformed++;
        return;
    }
    l2->st.rx_arp++;
    uint16_t op = be16(a + 6);
    const uint8_t *sha = a + 8, *spa = a + 14, *tpa = a + 24;
    struct glan_addr sender, target;
    addr4(&sender, spa);
    addr4(&target, tpa);
    if (!memcmp(sha, l2->cfg.mac, 6))
        return; /* our own, looped back */
    if (!zero_addr(&sender) && is_ours(l2, &sender)) {
        /* Someone else uses a guest's address.  Say ours is ours, once per
         * claim: our guests keep working for whoever believes us. */
        l2->st.conflicts++;
        glan_l2_announce(l2, &sender, now);
        return;
    }
    int for_us = op == 1 && is_ours(l2, &target);
    if (!zero_addr(&sender))
        learn(l2, &sender, sha, for_us, now);
    if (for_us) {
        /* An ARP probe (sender 0.0.0.0) is answered too: it defends the
         * guest's address against the prober. */
        if (send_arp(l2, sha, 2, tpa, sha, spa) == 0)
            l2->st.arp_replies++;
    }
}

/* One neighbour solicitation or advertisement (ICMPv6 at m, mlen bytes, in the
 * IPv6 packet at ip); eth_src is the frame's source. */
static void nd_input(struct glan_l2 *l2, const uint8_t *ip, const uint8_t *m, size_t mlen,
                     const uint8_t *eth_src, uint64_t now)
{
    if (ip[7] != 255 || m[1] != 0 || mlen < 24 || icmp6_sum(ip, mlen) != 0) {
        l2->st.rx_malformed++;
        return;
    }
    const uint8_t *lladdr = NULL;
    for (size_t off = 24; off < mlen;) {
        if (off + 2 > mlen || m[off + 1] == 0 || off + (size_t)m[off + 1] * 8 > mlen) {
            l2->st.rx_malformed++;
            return;
        }
        if ((m[0] == ND_NS && m[off] == ND_OPT_SLLA) || (m[0] == ND_NA && m[off] == ND_OPT_TLLA))
            lladdr = m + off + 2;
        off += (size_t)m[off + 1] * 8;
    }
    l2->st.rx_nd++;
    struct glan_addr target, source;
    addr6(&target, m + 8);
    addr6(&source, ip + 8);
    int dad = zero_addr(&source);
    if (m[0] == ND_NA) {
        if (is_ours(l2, &target)) {
            l2->st.conflicts++;
            glan_l2_announce(l2, &target, now);
            return;
        }
        /* Advertisements only update entries we have (RFC 4861 7.2.5). */
        if (lladdr)
            learn(l2, &target, lladdr, 0, now);
        else if (find(l2, &target))
            learn(l2, &target, eth_src, 0, now);
        return;
    }
    if (!is_ours(l2, &target))
        return;
    if (dad) {
        /* Someone wants to use a guest's address: defend it, to all nodes. */
        l2->st.conflicts++;
        glan_l2_announce(l2, &target, now);
        return;
    }
    if (lladdr)
        learn(l2, &source, lladdr, 1, now);
    /* Unicast answer to the asker: its SLLA, or the frame's source when it
     * left the option out (a unicast re-probe). */
    if (send_nd(l2, lladdr ? lladdr : eth_src, target.bytes, source.bytes, ND_NA,
                NA_SOLICIT | NA_OVERRIDE, target.bytes) == 0)
        l2->st.na_sent++;
}

int glan_l2_input(struct glan_l2 *l2, const uint8_t *frame, size_t len, uint64_t now,
                  const uint8_t **dg, size_t *dglen)
{
    l2->st.rx_frames++;
    if (len < ETH_HDR) {
        l2->st.rx_malformed++;
        return 0;
    }
    const uint8_t *dst = frame, *src = frame + 6;
    if (!(dst[0] & 1) && memcmp(dst, l2->cfg.mac, 6)) {
        l2->st.rx_not_ours++;
        return 0;
    }
    if (!memcmp(src, l2->cfg.mac, 6)) {
        /* our own frame seen again (a capture that also sees what it sends) */
        l2->st.rx_not_ours++;
        return 0;
    }
    uint16_t type = be16(frame + 12);
    size_t h = ETH_HDR;
    if (type == ET_VLAN) {
        if (len < ETH_HDR + VLAN_HDR) {
            l2->st.rx_malformed++;
            return 0;
        }
        uint16_t vid = be16(frame + 14) & 0x0fff;
        /* VID 0 is a priority tag: untagged as far as VLANs go. */
        if (vid != l2->cfg.vlan) {
            l2->st.rx_wrong_vlan++;
            return 0;
        }
        type = be16(frame + 16);
        h += VLAN_HDR;
    } else if (l2->cfg.vlan) {
        l2->st.rx_wrong_vlan++;
        return 0;
    }
    const uint8_t *p = frame + h;
    size_t plen = len - h;
    if (type == ET_ARP) {
        arp_input(l2, p, plen, now);
        return 0;
    }
    if (type != ET_IPV4 && type != ET_IPV6) {
        l2->st.rx_skipped++;
        return 0;
    }
    size_t iplen = ip_datagram_length(p, plen);
    if (!iplen || (p[0] >> 4 == 4) != (type == ET_IPV4)) {
        l2->st.rx_malformed++;
        return 0;
    }
    if (type == ET_IPV6 && p[6] == IPPROTO_V6ICMP && iplen >= 41 &&
        (p[40] == ND_NS || p[40] == ND_NA)) {
        nd_input(l2, p, p + 40, iplen - 40, src, now);
        return 0;
    }
    l2->st.rx_ip++;
    *dg = p;
    *dglen = iplen;
    return 1;
}

/* ---- life cycle ------------------------------------------------------------------------------ */

struct glan_l2 *glan_l2_create(const struct glan_l2_config *cfg, struct glan_lan *lan,
                               glan_l2_xmit_fn xmit, void *ctx, char *err, size_t errlen)
{
    struct glan_l2_config c;
    memset(&c, 0, sizeof c);
    if (cfg)
        c = *cfg;
    static const uint8_t zmac[6];
    if (!memcmp(c.mac, zmac, 6))
        glan_l2_default_mac(c.lan_name, c.mac);
    c.lan_name = NULL;
    if (c.mac[0] & 1) {
        snprintf(err, errlen, "l2: the LAN's MAC address must be unicast");
        return NULL;
    }
    if (c.vlan > 4094) {
        snprintf(err, errlen, "l2: VLAN ID %u is out of range (1..4094, 0 for none)", c.vlan);
        return NULL;
    }
    if ((c.onlink4.family && c.onlink4_len > 32) || (c.onlink6.family && c.onlink6_len > 128)) {
        snprintf(err, errlen, "l2: bad on-link prefix length");
        return NULL;
    }
    if ((c.gateway4.family && c.gateway4.family != GLAN_AF_INET) ||
        (c.gateway6.family && c.gateway6.family != GLAN_AF_INET6) ||
        (c.onlink4.family && c.onlink4.family != GLAN_AF_INET) ||
        (c.onlink6.family && c.onlink6.family != GLAN_AF_INET6)) {
        snprintf(err, errlen, "l2: a gateway or prefix of the wrong address family");
        return NULL;
    }
    if (!xmit) {
        snprintf(err, errlen, "l2: no transmit function");
        return NULL;
    }
    if (!c.cache_size)
        c.cache_size = 256;
    if (!c.hold_per_dest)
        c.hold_per_dest = 8;
    if (!c.hold_max)
        c.hold_max = 64;
    if (!c.probes)
        c.probes = 3;
    if (!c.retrans_ns)
        c.retrans_ns = 1000000000ull;
    if (!c.reachable_ns)
        c.reachable_ns = 30000000000ull;
    if (!c.max_datagram || c.max_datagram > 65535)
        c.max_datagram = 65535;
    struct glan_l2 *l2 = calloc(1, sizeof *l2);
    if (l2) {
        l2->cache = calloc(c.cache_size, sizeof *l2->cache);
        /* room for the headers, the datagram, and padding to ETH_MIN */
        l2->txcap = ETH_HDR + VLAN_HDR + c.max_datagram + ETH_MIN;
        l2->tx = malloc(l2->txcap);
    }
    if (!l2 || !l2->cache || !l2->tx) {
        if (l2) {
            free(l2->cache);
            free(l2->tx);
        }
        free(l2);
        snprintf(err, errlen, "l2: out of memory");
        return NULL;
    }
    l2->cfg = c;
    l2->lan = lan;
    l2->xmit = xmit;
    l2->ctx = ctx;
    return l2;
}

void glan_l2_destroy(struct glan_l2 *l2)
{
    if (!l2)
        return;
    for (uint32_t i = 0; i < l2->cfg.cache_size; i++)
        drop_held(l2, &l2->cache[i]);
    free(l2->cache);
    free(l2->tx);
    free(l2);
}

void glan_l2_set_lan(struct glan_l2 *l2, struct glan_lan *lan)
{
    l2->lan = lan;
}

void glan_l2_mac(const struct glan_l2 *l2, uint8_t mac[6])
{
    memcpy(mac, l2->cfg.mac, 6);
}

void glan_l2_get_config(const struct glan_l2 *l2, struct glan_l2_config *out)
{
    *out = l2->cfg;
}

void glan_l2_stats(const struct glan_l2 *l2, struct glan_l2_stats *out)
{
    *out = l2->st;
    out->held_now = l2->held_total;
}
