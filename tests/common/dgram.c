/*
 * The tests' datagram and frame builder (dgram.h).  Linked into the unit
 * suites, the namespace tests (through glan-netns-common) and the pcap file
 * uplink's test as the static library glan-test-dgram.
 */
#include "dgram.h"

#include <string.h>

#include "guestlan/inet.h"

/* ---- IP ------------------------------------------------------------------------------- */

static int is_v6(const uint8_t *p)
{
    return p[0] >> 4 == 6;
}

static uint8_t proto_of(const uint8_t *p)
{
    return is_v6(p) ? p[6] : p[9];
}

size_t dg_ip_hlen(const uint8_t *p)
{
    return is_v6(p) ? IPV6_HDR_LEN : IPV4_HDR_MIN;
}

/* Where a protocol's addresses start in its header, and how long each is. */
static size_t addr_at(int v6)
{
    return v6 ? 8 : 12;
}
static size_t addr_len(int v6)
{
    return v6 ? 16 : 4;
}

size_t dg_ip(uint8_t *p, size_t len, uint8_t proto, const struct glan_addr *src,
             const struct glan_addr *dst, unsigned flags)
{
    int v6 = src->family != GLAN_AF_INET;
    size_t hl = v6 ? IPV6_HDR_LEN : IPV4_HDR_MIN, at = addr_at(v6), al = addr_len(v6);
    memset(p, 0, hl);
    if (v6) {
        p[0] = 0x60;
        put16(p + 4, (uint16_t)(len - hl));
        p[6] = proto;
        p[7] = 64;
    } else {
        p[0] = 0x45;
        put16(p + 2, (uint16_t)len);
        p[8] = 64;
        p[9] = proto;
    }
    memcpy(p + at, src->bytes, al);
    memcpy(p + at + al, dst->bytes, al);
    if (flags & DG_IP_CSUM)
        dg_ip_csum(p);
    return hl;
}

void dg_addrs(const uint8_t *p, struct glan_addr *src, struct glan_addr *dst)
{
    int v6 = is_v6(p);
    size_t at = addr_at(v6), al = addr_len(v6);
    memset(src, 0, sizeof *src);
    memset(dst, 0, sizeof *dst);
    src->family = dst->family = v6 ? GLAN_AF_INET6 : GLAN_AF_INET;
    memcpy(src->bytes, p + at, al);
    memcpy(dst->bytes, p + at + al, al);
}

void dg_ip_csum(uint8_t *p)
{
    if (is_v6(p))
        return;
    put16(p + 10, 0);
    put16(p + 10, glan_inet_csum(0, p, IPV4_HDR_MIN));
}

/* Where the checksum field of a transport header is; 0 for a protocol
 * without one we know. */
static size_t csum_at(uint8_t proto)
{
    switch (proto) {
    case DG_ICMP:
    case DG_ICMPV6:
        return 2;
    case DG_UDP:
        return 6;
    case DG_TCP:
        return 16;
    default:
        return 0;
    }
}

/* The pseudo-header's sum (addresses, protocol, transport length), not
 * complemented; ICMP over IPv4 has none. */
static uint32_t pseudo_sum(const uint8_t *p, size_t len)
{
    int v6 = is_v6(p);
    uint8_t proto = proto_of(p);
    if (proto == DG_ICMP)
        return 0;
    uint32_t sum = glan_inet_sum(0, p + addr_at(v6), 2 * addr_len(v6));
    return sum + proto + (uint32_t)(len - dg_ip_hlen(p));
}

void dg_l4_csum(uint8_t *p, size_t len)
{
    size_t hl = dg_ip_hlen(p), at = csum_at(proto_of(p));
    if (!at)
        return;
    put16(p + hl + at, 0);
    uint16_t sum = glan_inet_csum(pseudo_sum(p, len), p + hl, len - hl);
    put16(p + hl + at, sum == 0 && proto_of(p) == DG_UDP ? 0xffff : sum);
}

uint16_t dg_l4_check(const uint8_t *p, size_t len)
{
    size_t hl = dg_ip_hlen(p);
    return glan_inet_csum(pseudo_sum(p, len), p + hl, len - hl);
}

/* ---- UDP, ICMP, neighbour discovery ------------------------------------------------------ */

size_t dg_udp(uint8_t *p, size_t len, const struct glan_addr *src, uint16_t sport,
              const struct glan_addr *dst, uint16_t dport, unsigned flags)
{
    size_t hl = dg_ip(p, len, DG_UDP, src, dst, flags);
    uint8_t *u = p + hl;
    memset(u, 0, len - hl);
    put16(u, sport);
    put16(u + 2, dport);
    put16(u + 4, (uint16_t)(len - hl));
    if (flags & DG_L4_CSUM)
        dg_l4_csum(p, len);
    return len;
}

size_t dg_echo_request(uint8_t *p, const struct glan_addr *src, const struct glan_addr *dst,
                       uint16_t id, uint16_t seq)
{
    int v6 = src->family != GLAN_AF_INET;
    size_t hl = v6 ? IPV6_HDR_LEN : IPV4_HDR_MIN, len = hl + 8 + DG_ECHO_DATA;
    dg_ip(p, len, v6 ? DG_ICMPV6 : DG_ICMP, src, dst, DG_IP_CSUM);
    uint8_t *m = p + hl;
    memset(m, 0, 8);
    m[0] = v6 ? 128 : 8;
    put16(m + 4, id);
    put16(m + 6, seq);
    for (int i = 0; i < DG_ECHO_DATA; i++)
        m[8 + i] = (uint8_t)i;
    dg_l4_csum(p, len);
    return len;
}

void dg_echo_reply(uint8_t *p, size_t len)
{
    int v6 = is_v6(p);
    size_t at = addr_at(v6), al = addr_len(v6);
    uint8_t tmp[16];
    memcpy(tmp, p + at, al);
    memcpy(p + at, p + at + al, al);
    memcpy(p + at + al, tmp, al);
    p[v6 ? 7 : 8] = 64;
    dg_ip_csum(p);
    p[dg_ip_hlen(p)] = v6 ? 129 : 0;
    dg_l4_csum(p, len);
}

size_t dg_nd(uint8_t *p, uint8_t type, const struct glan_addr *src, const struct glan_addr *dst,
             const struct glan_addr *target, const uint8_t *lla, unsigned flags)
{
    size_t len = IPV6_HDR_LEN + (lla ? 32 : 24);
    memset(p, 0, len);
    dg_ip(p, len, DG_ICMPV6, src, dst, 0);
    p[7] = 255; /* RFC 4861: anything else was forwarded, and is ignored */
    uint8_t *m = p + IPV6_HDR_LEN;
    m[0] = type;
    if (type == 136)
        m[4] = 0x60; /* solicited, override */
    memcpy(m + 8, target->bytes, 16);
    if (lla) {
        m[24] = type == 135 ? 1 : 2;
        m[25] = 1; /* in units of 8 bytes */
        memcpy(m + 26, lla, ETH_ADDR_LEN);
    }
    if (flags & DG_L4_CSUM)
        dg_l4_csum(p, len);
    return len;
}

struct glan_addr dg_solicited_node(const struct glan_addr *a)
{
    struct glan_addr g = {.family = GLAN_AF_INET6, .bytes = {0xff, 0x02, [11] = 0x01, 0xff}};
    memcpy(g.bytes + 13, a->bytes + 13, 3);
    return g;
}

/* ---- Ethernet ---------------------------------------------------------------------------- */

size_t dg_eth(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type, uint16_t vid)
{
    memcpy(f, dst, ETH_ADDR_LEN);
    memcpy(f + ETH_ADDR_LEN, src, ETH_ADDR_LEN);
    if (vid) {
        put16(f + 12, ET_VLAN);
        put16(f + 14, vid);
        put16(f + 16, type);
        return ETH_HDR_LEN + VLAN_TAG_LEN;
    }
    put16(f + 12, type);
    return ETH_HDR_LEN;
}

size_t dg_frame(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type, uint16_t vid,
                const uint8_t *dg, size_t len)
{
    size_t h = dg_eth(f, dst, src, type, vid);
    memcpy(f + h, dg, len);
    return h + len;
}

size_t dg_pad(uint8_t *f, size_t len)
{
    if (len >= DG_ETH_MIN)
        return len;
    memset(f + len, 0, DG_ETH_MIN - len);
    return DG_ETH_MIN;
}

size_t dg_arp(uint8_t *a, uint16_t op, const uint8_t *sha, const uint8_t *spa, const uint8_t *tpa)
{
    memset(a, 0, DG_ARP_LEN);
    put16(a, 1); /* Ethernet */
    put16(a + 2, ET_IPV4);
    a[4] = ETH_ADDR_LEN;
    a[5] = 4;
    put16(a + 6, op);
    memcpy(a + 8, sha, ETH_ADDR_LEN);
    memcpy(a + 14, spa, 4);
    memcpy(a + 24, tpa, 4);
    return DG_ARP_LEN;
}
