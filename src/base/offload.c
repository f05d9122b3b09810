/*
 * Checksum completion and TCP segmentation for offloading senders
 * (guestlan/offload.h).  Pure functions over a datagram's bytes, plus the
 * cutting loop receivers use (glan_offload_each).  Every length comes from
 * the headers and is checked against the bytes given before it is used.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "guestlan/inet.h"
#include "guestlan/offload.h"
#include "guestlan/wire.h"

enum { PROTO_TCP = 6, PROTO_UDP = 17 };
enum { TCP_FIN = 0x01, TCP_PSH = 0x08, TCP_CWR = 0x80 };

/* Where the parts of a datagram are, from its headers. */
struct parsed {
    int v6;
    unsigned ihl;   /* IP header bytes */
    unsigned proto; /* TCP or UDP */
    unsigned l4len; /* transport header + payload (from the IP header) */
    unsigned thl;   /* TCP header bytes (TCP only) */
};

static enum glan_offload_bad parse(const uint8_t *ip, size_t len, int tso, struct parsed *p)
{
    memset(p, 0, sizeof *p);
    if (len < 20 || len > GLAN_OFFLOAD_MAX)
        return GLAN_OFFLOAD_BAD_IP;
    unsigned total;
    if (ip[0] >> 4 == 4) {
        p->ihl = (ip[0] & 15u) * 4;
        total = be16(ip + 2);
        if (p->ihl < 20 || total < p->ihl || total > len)
            return GLAN_OFFLOAD_BAD_IP;
        if (be16(ip + 6) & 0x3fff) /* MF or a fragment offset */
            return GLAN_OFFLOAD_BAD_IP;
        p->proto = ip[9];
        if (tso && p->ihl != 20)
            return GLAN_OFFLOAD_BAD_HEADERS;
    } else if (ip[0] >> 4 == 6) {
        p->v6 = 1;
        p->ihl = 40;
        if (len < 40)
            return GLAN_OFFLOAD_BAD_IP;
        total = 40u + be16(ip + 4);
        if (total > len || total == 40)
            return GLAN_OFFLOAD_BAD_IP;
        p->proto = ip[6];
        if (p->proto != PROTO_TCP && p->proto != PROTO_UDP)
            return tso ? GLAN_OFFLOAD_BAD_HEADERS : GLAN_OFFLOAD_BAD_PROTO;
    } else {
        return GLAN_OFFLOAD_BAD_IP;
    }
    if (p->proto != PROTO_TCP && (tso || p->proto != PROTO_UDP))
        return GLAN_OFFLOAD_BAD_PROTO;
    p->l4len = total - p->ihl;
    if (p->proto == PROTO_UDP)
        return p->l4len < 8 ? GLAN_OFFLOAD_BAD_L4 : GLAN_OFFLOAD_OK;
    if (p->l4len < 20)
        return GLAN_OFFLOAD_BAD_L4;
    p->thl = (ip[p->ihl + 12] >> 4) * 4u;
    if (p->thl < 20 || p->thl > p->l4len)
        return GLAN_OFFLOAD_BAD_L4;
    return GLAN_OFFLOAD_OK;
}

size_t glan_offload_eth_hlen(const uint8_t *f, size_t len)
{
    enum { ET_IPV4_ = 0x0800, ET_IPV6_ = 0x86dd, ET_VLAN_ = 0x8100 };
    size_t hl = 14;
    if (len < hl)
        return 0;
    unsigned type = be16(f + 12);
    if (type == ET_VLAN_) {
        hl = 18;
        if (len < hl)
            return 0;
        type = be16(f + 16);
    }
    return type == ET_IPV4_ || type == ET_IPV6_ ? hl : 0;
}

enum glan_offload_bad glan_offload_check(const uint8_t *ip, size_t len, unsigned flags,
                                         unsigned mss)
{
    struct parsed p;
    int tso = (flags & GLAN_OFFLOAD_TSO) != 0;
    enum glan_offload_bad why = parse(ip, len, tso, &p);
    if (why != GLAN_OFFLOAD_OK || !tso)
        return why;
    unsigned payload = p.l4len - p.thl;
    if (mss == 0 || payload <= mss)
        return GLAN_OFFLOAD_BAD_MSS;
    if ((payload + mss - 1) / mss > GLAN_OFFLOAD_MAX_SEGS)
        return GLAN_OFFLOAD_BAD_SEGMENTS;
    return GLAN_OFFLOAD_OK;
}

/* The pseudo header's sum for l4len bytes of protocol proto. */
static uint32_t pseudo_sum(const uint8_t *ip, const struct parsed *p, unsigned l4len)
{
    uint8_t ph[40];
    size_t n;
    if (p->v6) {
        memcpy(ph, ip + 8, 32);
        put32(ph + 32, l4len);
        ph[36] = ph[37] = ph[38] = 0;
        ph[39] = (uint8_t)p->proto;
        n = 40;
    } else {
        memcpy(ph, ip + 12, 8);
        ph[8] = 0;
        ph[9] = (uint8_t)p->proto;
        put16(ph + 10, (uint16_t)l4len);
        n = 12;
    }
    return glan_inet_sum(0, ph, n);
}

/* Fill in the checksums of a parsed datagram whose headers are final. */
static void fill_sums(uint8_t *ip, const struct parsed *p)
{
    if (!p->v6) {
        put16(ip + 10, 0);
        put16(ip + 10, glan_inet_csum(0, ip, p->ihl));
    }
    uint8_t *l4 = ip + p->ihl;
    unsigned at = p->proto == PROTO_TCP ? 16 : 6;
    put16(l4 + at, 0);
    uint16_t c = glan_inet_csum(pseudo_sum(ip, p, p->l4len), l4, p->l4len);
    if (p->proto == PROTO_UDP && c == 0)
        c = 0xffff;
    put16(l4 + at, c);
}

int glan_offload_complete(uint8_t *ip, size_t len)
{
    struct parsed p;
    if (parse(ip, len, 0, &p) != GLAN_OFFLOAD_OK)
        return -EINVAL;
    fill_sums(ip, &p);
    return 0;
}

unsigned glan_offload_segments(const uint8_t *ip, size_t len, unsigned mss)
{
    struct parsed p;
    if (glan_offload_check(ip, len, GLAN_OFFLOAD_TSO, mss) != GLAN_OFFLOAD_OK)
        return 0;
    parse(ip, len, 1, &p);
    unsigned payload = p.l4len - p.thl;
    return (payload + mss - 1) / mss;
}

size_t glan_offload_segment(const uint8_t *ip, size_t len, unsigned mss, unsigned i, uint8_t *out,
                            size_t room)
{
    struct parsed p;
    if (glan_offload_check(ip, len, GLAN_OFFLOAD_TSO, mss) != GLAN_OFFLOAD_OK)
        return 0;
    parse(ip, len, 1, &p);
    unsigned payload = p.l4len - p.thl;
    unsigned nseg = (payload + mss - 1) / mss;
    if (i >= nseg)
        return 0;
    unsigned off = i * mss;
    unsigned n = payload - off < mss ? payload - off : mss;
    unsigned hdrs = p.ihl + p.thl;
    if (room < (size_t)hdrs + n)
        return 0;
    memcpy(out, ip, hdrs);
    memcpy(out + hdrs, ip + hdrs + off, n);
    struct parsed s = p;
    s.l4len = p.thl + n;
    if (p.v6) {
        put16(out + 4, (uint16_t)s.l4len);
    } else {
        put16(out + 2, (uint16_t)(hdrs + n));
        put16(out + 4, (uint16_t)(be16(ip + 4) + i));
    }
    uint8_t *tcp = out + p.ihl;
    put32(tcp + 4, be32(ip + p.ihl + 4) + off);
    uint8_t flags = tcp[13];
    if (i > 0)
        flags &= (uint8_t)~TCP_CWR;
    if (i + 1 < nseg)
        flags &= (uint8_t) ~(TCP_FIN | TCP_PSH);
    tcp[13] = flags;
    fill_sums(out, &s);
    return hdrs + n;
}

int glan_offload_each(struct glan_offload_state *st, const struct glan_dgram *dg,
                      int (*fn)(void *ctx, const struct glan_dgram *piece), void *ctx)
{
    if (!(dg->offload & GLAN_OFFLOAD_TSO))
        return fn(ctx, dg);
    /* A frame: its Ethernet header goes before every segment. */
    size_t hl = dg->family == GLAN_AF_MAC ? glan_offload_eth_hlen(dg->data, dg->len) : 0;
    unsigned nseg = dg->family == GLAN_AF_MAC && hl == 0
                        ? 0
                        : glan_offload_segments(dg->data + hl, dg->len - hl, dg->mss);
    if (nseg == 0) {
        __atomic_fetch_add(&st->bad, 1, __ATOMIC_RELAXED);
        return -EINVAL;
    }
    if (!st->buf && !(st->buf = malloc(GLAN_OFFLOAD_ETH_MAX + GLAN_OFFLOAD_MAX)))
        return -ENOMEM;
    memcpy(st->buf, dg->data, hl);
    unsigned first = 0;
    if (st->at_data == dg->data && st->at_len == dg->len && st->at_ts == dg->ts_ns &&
        st->at_next < nseg)
        first = st->at_next;
    st->at_data = NULL;
    struct glan_dgram piece = *dg;
    piece.offload = GLAN_OFFLOAD_CSUM;
    piece.mss = 0;
    piece.data = st->buf;
    for (unsigned i = first; i < nseg; i++) {
        piece.len = (uint32_t)(hl + glan_offload_segment(dg->data + hl, dg->len - hl, dg->mss, i,
                                                         st->buf + hl, GLAN_OFFLOAD_MAX));
        int rc = fn(ctx, &piece);
        if (rc < 0) {
            if (rc == -EAGAIN) {
                st->at_data = dg->data;
                st->at_len = dg->len;
                st->at_ts = dg->ts_ns;
                st->at_next = i;
            }
            return rc;
        }
        __atomic_fetch_add(&st->segments, 1, __ATOMIC_RELAXED);
    }
    __atomic_fetch_add(&st->tso, 1, __ATOMIC_RELAXED);
    return 0;
}

void glan_offload_state_free(struct glan_offload_state *st)
{
    free(st->buf);
    st->buf = NULL;
    st->at_data = NULL;
}
