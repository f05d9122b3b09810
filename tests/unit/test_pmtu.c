/*
 * Unit tests of path MTU (src/base/pmtu.c): a datagram larger than its
 * receiver's MTU answered as a router answers it.  The ICMP "fragmentation
 * needed" and ICMPv6 "packet too big" answers are checked field by field,
 * their checksums against a computation of this file's own; fragments are
 * reassembled into the original; the rate limit, the cases that get no
 * answer, a guest receiver's MTU, broadcast copies, the monitor and the
 * books.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dgram.h"
#include "guestlan/base.h"
#include "guestlan/offload.h"
#include "guestlan/wire.h"
#include "testport.h"

/* ---- a port that keeps every datagram whole ---------------------------------------------- */

#define KEEP 80

struct keeper {
    struct glan_port *port;
    unsigned n;
    uint8_t *data[KEEP];
    uint32_t len[KEEP];
    int16_t src[KEEP];
};

static int keep_deliver(void *ctx, const struct glan_dgram *dg)
{
    struct keeper *k = ctx;
    if (k->n < KEEP) {
        k->data[k->n] = malloc(dg->len);
        memcpy(k->data[k->n], dg->data, dg->len);
        k->len[k->n] = dg->len;
        k->src[k->n] = dg->src;
    }
    k->n++;
    return 0;
}

static const struct glan_port_ops keep_ops = {.deliver = keep_deliver};

static void keep_attach(struct keeper *k, struct glan_lan *lan, const char *name,
                        enum glan_port_kind kind, uint32_t mtu, const char *addr)
{
    memset(k, 0, sizeof *k);
    struct glan_port_info info = {.name = name, .kind = kind, .mtu = mtu};
    ck_assert_int_eq(glan_port_attach(lan, &info, &keep_ops, k, &k->port), 0);
    if (addr) {
        struct glan_addr a;
        ck_assert_int_eq(glan_addr_parse(addr, &a), 0);
        ck_assert_int_eq(glan_addr_register(k->port, &a), 0);
    }
}

static void keep_free(struct keeper *k)
{
    for (unsigned i = 0; i < k->n && i < KEEP; i++)
        free(k->data[i]);
    k->n = 0;
}

/* ---- the fixture: guest G (10.0.0.2, fd00::2), uplink U of MTU 1400 -------------------- */

static struct glan_lan *lan;
static struct keeper G, U;

static void setup(void)
{
    struct glan_lan_config cfg = {.name = "PMTU"};
    char err[128];
    lan = glan_lan_create(&cfg, err, sizeof err);
    ck_assert_ptr_nonnull(lan);
    keep_attach(&G, lan, "g", GLAN_PORT_GUEST, 0, "10.0.0.2");
    struct glan_addr a6;
    glan_addr_parse("fd00::2", &a6);
    ck_assert_int_eq(glan_addr_register(G.port, &a6), 0);
    keep_attach(&U, lan, "uplink", GLAN_PORT_UPLINK, 1400, NULL);
}

static void teardown(void)
{
    tp_check_balance(lan);
    glan_port_detach(G.port);
    glan_port_detach(U.port);
    keep_free(&G);
    keep_free(&U);
    glan_lan_destroy(lan);
}

/* ---- an independent checksum: words summed one by one, then folded ---------------------- */

static uint16_t fold(uint32_t s)
{
    while (s > 0xffff)
        s = (s >> 16) + (s & 0xffff);
    return (uint16_t)s;
}

static uint32_t words(const uint8_t *p, size_t n)
{
    uint32_t s = 0;
    for (size_t i = 0; i < n; i += 2)
        s += (uint32_t)p[i] * 256 + (i + 1 < n ? p[i + 1] : 0);
    return s;
}

/* 1 when the bytes with their checksum in place sum to ffff. */
static int sums_ok(uint32_t pre, const uint8_t *p, size_t n)
{
    return fold(pre + words(p, n)) == 0xffff;
}

static uint32_t v6_pseudo(const uint8_t *ip, uint32_t len, uint8_t next)
{
    return words(ip + 8, 32) + (len >> 16) + (len & 0xffff) + next;
}

/* ---- datagrams ----------------------------------------------------------------------------- */

static uint8_t buf[9216];

/* A UDP datagram of len bytes from src to dst, its payload counting bytes;
 * DF set when df. */
static size_t udp(const char *src, const char *dst, size_t len, int df)
{
    struct glan_addr s, d;
    ck_assert_int_eq(glan_addr_parse(src, &s), 0);
    ck_assert_int_eq(glan_addr_parse(dst, &d), 0);
    dg_udp(buf, len, &s, 1000, &d, 2000, 0);
    size_t hl = s.family == GLAN_AF_INET ? IPV4_HDR_MIN : IPV6_HDR_LEN;
    for (size_t i = hl + DG_UDP_HDR; i < len; i++)
        buf[i] = (uint8_t)(i * 7);
    if (s.family == GLAN_AF_INET) {
        put16(buf + 4, 0x1234);
        if (df)
            buf[6] |= 0x40;
        dg_ip_csum(buf);
    }
    return len;
}

static enum glan_drop send_from(struct keeper *k, size_t len)
{
    return glan_port_send(k->port, buf, len, NULL);
}

/* A TSO datagram of payload bytes of TCP data from src to dst, DF set,
 * cut at mss by whoever must cut it (checksums left to the LAN). */
static size_t tso(const char *src, const char *dst, size_t payload)
{
    struct glan_addr s, d;
    ck_assert_int_eq(glan_addr_parse(src, &s), 0);
    ck_assert_int_eq(glan_addr_parse(dst, &d), 0);
    size_t len = IPV4_HDR_MIN + 20 + payload;
    memset(buf, 0, IPV4_HDR_MIN + 20);
    buf[0] = 0x45;
    put16(buf + 2, (uint16_t)len);
    buf[6] = 0x40;
    buf[8] = 64;
    buf[9] = 6;
    memcpy(buf + 12, s.bytes, 4);
    memcpy(buf + 16, d.bytes, 4);
    put16(buf + 20, 5001);
    put16(buf + 22, 5002);
    buf[32] = 5 << 4;
    buf[33] = 0x18; /* PSH ACK */
    put16(buf + 34, 65535);
    for (size_t i = IPV4_HDR_MIN + 20; i < len; i++)
        buf[i] = (uint8_t)(i * 3);
    return len;
}

/* ---- ICMP fragmentation needed ---------------------------------------------------------- */

START_TEST(frag_needed_fields)
{
    size_t len = udp("10.0.0.2", "192.0.2.9", 2000, 1);
    uint8_t orig[2000];
    memcpy(orig, buf, len);
    ck_assert_int_eq(send_from(&G, len), GLAN_DROP_TOO_BIG_FOR_PATH);
    ck_assert_uint_eq(U.n, 0);
    ck_assert_uint_eq(G.n, 1);
    const uint8_t *a = G.data[0];
    ck_assert_int_eq(G.src[0], -1);
    /* RFC 1812 4.3.2.3: at most 576 bytes, as much of the original as fits */
    ck_assert_uint_eq(G.len[0], 576);
    ck_assert_uint_eq(a[0], 0x45);
    ck_assert_uint_eq(be16(a + 2), 576);
    ck_assert_uint_eq(a[9], 1);
    ck_assert_uint_eq(a[8], 64);
    ck_assert_uint_eq(be16(a + 6) & 0x1fff, 0); /* not a fragment */
    ck_assert_mem_eq(a + 12, orig + 16, 4);     /* from the original's destination */
    ck_assert_mem_eq(a + 16, orig + 12, 4);     /* to its source */
    ck_assert(sums_ok(0, a, 20));
    const uint8_t *ic = a + 20;
    ck_assert_uint_eq(ic[0], 3);
    ck_assert_uint_eq(ic[1], 4);
    ck_assert_uint_eq(be16(ic + 4), 0);
    ck_assert_uint_eq(be16(ic + 6), 1400);
    ck_assert(sums_ok(0, ic, 576 - 20));
    ck_assert_mem_eq(ic + 8, orig, 576 - 28);

    struct glan_port_stats ps;
    glan_port_stats(G.port, &ps);
    ck_assert_uint_eq(ps.sent_packets, 1);
    ck_assert_uint_eq(ps.dropped[GLAN_DROP_TOO_BIG_FOR_PATH], 1);
    ck_assert_uint_eq(ps.icmp_sent, 1);
    ck_assert_uint_eq(ps.icmp_limited, 0);
    ck_assert_uint_eq(ps.recv_packets, 1);
    ck_assert_uint_eq(ps.delivered, 0);
    struct glan_lan_stats ls;
    glan_lan_stats(lan, &ls);
    ck_assert_uint_eq(ls.sent_packets, 2); /* the original and the answer */
    ck_assert_uint_eq(ls.delivered, 1);
    ck_assert_uint_eq(ls.icmp_sent, 1);
    ck_assert_uint_eq(ls.dropped[GLAN_DROP_TOO_BIG_FOR_PATH], 1);
    ck_assert_uint_eq(ls.buffers_in_use, 0);
}
END_TEST

/* An answer to a short original quotes it whole; one for a port of small
 * MTU fits that MTU. */
START_TEST(frag_needed_short_and_small)
{
    /* the original is 1500 bytes: its answer quotes 548 of them */
    size_t len = udp("10.0.0.2", "192.0.2.9", 1401, 1);
    ck_assert_int_eq(send_from(&G, len), GLAN_DROP_TOO_BIG_FOR_PATH);
    ck_assert_uint_eq(G.n, 1);
    ck_assert_uint_eq(G.len[0], 576);
    /* exactly the MTU passes */
    len = udp("10.0.0.2", "192.0.2.9", 1400, 1);
    ck_assert_int_eq(send_from(&G, len), GLAN_DROP_NONE);
    ck_assert_uint_eq(U.n, 1);
    /* the sender takes 200 bytes at most: the answer is 200 */
    glan_port_set_mtu(G.port, 200);
    ck_assert_uint_eq(glan_port_mtu(G.port), 200);
    len = udp("10.0.0.2", "192.0.2.9", 3000, 1);
    ck_assert_int_eq(send_from(&G, len), GLAN_DROP_TOO_BIG_FOR_PATH);
    ck_assert_uint_eq(G.n, 2);
    ck_assert_uint_eq(G.len[1], 200);
    ck_assert_uint_eq(be16(G.data[1] + 2), 200);
    ck_assert(sums_ok(0, G.data[1] + 20, 180));
    ck_assert_mem_eq(G.data[1] + 28, buf, 172);
    /* an MTU below IPv4's least counts as 68 */
    glan_port_set_mtu(G.port, 10);
    ck_assert_uint_eq(glan_port_mtu(G.port), 68);
}
END_TEST

/* ---- ICMPv6 packet too big --------------------------------------------------------------- */

START_TEST(packet_too_big_fields)
{
    size_t len = udp("fd00::2", "2001:db8::9", 3000, 0);
    uint8_t orig[3000];
    memcpy(orig, buf, len);
    ck_assert_int_eq(send_from(&G, len), GLAN_DROP_TOO_BIG_FOR_PATH);
    ck_assert_uint_eq(U.n, 0);
    ck_assert_uint_eq(G.n, 1);
    const uint8_t *a = G.data[0];
    ck_assert_uint_eq(G.len[0], 1280); /* RFC 4443 2.4 (c) */
    ck_assert_uint_eq(a[0] >> 4, 6);
    ck_assert_uint_eq(be16(a + 4), 1240);
    ck_assert_uint_eq(a[6], 58);
    ck_assert_mem_eq(a + 8, orig + 24, 16);
    ck_assert_mem_eq(a + 24, orig + 8, 16);
    const uint8_t *ic = a + 40;
    ck_assert_uint_eq(ic[0], 2);
    ck_assert_uint_eq(ic[1], 0);
    ck_assert_uint_eq(be32(ic + 4), 1400);
    ck_assert(sums_ok(v6_pseudo(a, 1240, 58), ic, 1240));
    ck_assert_mem_eq(ic + 8, orig, 1280 - 48);
    struct glan_port_stats ps;
    glan_port_stats(G.port, &ps);
    ck_assert_uint_eq(ps.icmp_sent, 1);
    ck_assert_uint_eq(ps.dropped[GLAN_DROP_TOO_BIG_FOR_PATH], 1);
}
END_TEST

/* IPv6 is never fragmented, DF or not; an odd-length answer sums right. */
START_TEST(packet_too_big_odd)
{
    glan_port_set_mtu(U.port, 1300);
    size_t len = udp("fd00::2", "2001:db8::9", 1301, 0);
    ck_assert_int_eq(send_from(&G, len), GLAN_DROP_TOO_BIG_FOR_PATH);
    ck_assert_uint_eq(G.n, 1);
    ck_assert_uint_eq(G.len[0], 1280);
    glan_port_set_mtu(G.port, 1001); /* an odd answer */
    ck_assert_int_eq(send_from(&G, len), GLAN_DROP_TOO_BIG_FOR_PATH);
    ck_assert_uint_eq(G.n, 2);
    ck_assert_uint_eq(G.len[1], 1001);
    ck_assert_uint_eq(be32(G.data[1] + 44), 1300);
    ck_assert(sums_ok(v6_pseudo(G.data[1], 961, 58), G.data[1] + 40, 961));
}
END_TEST

/* ---- fragmentation ----------------------------------------------------------------------- */

/* Put the fragments k holds from index first on back together into out:
 * their data at their offsets, checked one by one.  The reassembled
 * datagram's length. */
static size_t reassemble(const struct keeper *k, unsigned first, uint8_t *out, uint32_t mtu)
{
    size_t end = 0, have = 0;
    uint16_t id = be16(k->data[first] + 4);
    size_t hl0 = (size_t)(k->data[first][0] & 15) * 4; /* the first's header */
    int last_seen = 0;
    for (unsigned i = first; i < k->n; i++) {
        const uint8_t *f = k->data[i];
        size_t hl = (size_t)(f[0] & 15) * 4, tot = be16(f + 2);
        ck_assert_uint_eq(tot, k->len[i]);
        ck_assert_uint_le(tot, mtu);
        ck_assert(sums_ok(0, f, hl));
        ck_assert_uint_eq(be16(f + 4), id);
        ck_assert_uint_eq(f[6] & 0x40, 0); /* no DF */
        size_t off = (size_t)(be16(f + 6) & 0x1fff) * 8;
        int mf = (f[6] & 0x20) != 0;
        if (mf)
            ck_assert_uint_eq((tot - hl) % 8, 0);
        if (off == 0)
            memcpy(out, f, hl); /* the first's header: the original's */
        memcpy(out + hl0 + off, f + hl, tot - hl);
        have += tot - hl;
        if (!mf) {
            last_seen = 1;
            end = off + tot - hl;
        }
    }
    ck_assert(last_seen);
    ck_assert_uint_eq(have, end);
    return hl0 + end;
}

START_TEST(fragments_reassemble)
{
    size_t len = udp("10.0.0.2", "192.0.2.9", 4000, 0);
    uint8_t orig[4000], back[4100];
    memcpy(orig, buf, len);
    ck_assert_int_eq(send_from(&G, len), GLAN_DROP_FRAGMENTED);
    ck_assert_uint_eq(G.n, 0);
    ck_assert_uint_eq(U.n, 3); /* 1376 + 1376 + 1228 bytes of data */
    ck_assert_uint_eq(U.len[0], 1396);
    ck_assert_int_eq(U.src[0], -1);
    size_t n = reassemble(&U, 0, back, 1400);
    ck_assert_uint_eq(n, len);
    /* the header but its length, flags and checksum is the original's */
    ck_assert_mem_eq(back + 20, orig + 20, len - 20);
    ck_assert_mem_eq(back + 8, orig + 8, 2);
    ck_assert_mem_eq(back + 12, orig + 12, 8);
    struct glan_port_stats ps;
    glan_port_stats(G.port, &ps);
    ck_assert_uint_eq(ps.dropped[GLAN_DROP_FRAGMENTED], 1);
    ck_assert_uint_eq(ps.frags_sent, 3);
    ck_assert_uint_eq(ps.icmp_sent, 0);
    struct glan_lan_stats ls;
    glan_lan_stats(lan, &ls);
    ck_assert_uint_eq(ls.sent_packets, 4);
    ck_assert_uint_eq(ls.delivered, 3);
    ck_assert_uint_eq(ls.frags_sent, 3);
}
END_TEST

/* A fragment cut again keeps its offset and, at the end, its MF; options
 * with the copied flag go into every fragment, the others only the first. */
START_TEST(fragments_of_fragment_with_options)
{
    size_t len = udp("10.0.0.2", "192.0.2.9", 3000, 0);
    /* 12 bytes of options: NOP, record route (7 bytes, not copied), router
     * alert (copied) */
    memmove(buf + 32, buf + 20, len - 20);
    static const uint8_t opts[12] = {1, 7, 7, 4, 0, 0, 0, 0, 0x94, 4, 0, 0};
    memcpy(buf + 20, opts, 12);
    len += 12;
    buf[0] = 0x48;
    put16(buf + 2, (uint16_t)len);
    put16(buf + 6, 0x2000 | 100); /* MF, offset 800 */
    put16(buf + 10, 0);
    put16(buf + 10, (uint16_t)~fold(words(buf, 32)));
    uint8_t orig[3100];
    memcpy(orig, buf, len);
    ck_assert_int_eq(send_from(&G, len), GLAN_DROP_FRAGMENTED);
    ck_assert_uint_eq(U.n, 3);
    ck_assert_uint_eq(U.data[0][0] & 15, 8); /* all the options */
    ck_assert_mem_eq(U.data[0] + 20, opts, 12);
    for (unsigned i = 1; i < 3; i++) {
        ck_assert_uint_eq(U.data[i][0] & 15, 6); /* router alert only */
        ck_assert_mem_eq(U.data[i] + 20, opts + 8, 4);
    }
    size_t at = 0;
    for (unsigned i = 0; i < 3; i++) {
        const uint8_t *f = U.data[i];
        size_t hl = (size_t)(f[0] & 15) * 4;
        ck_assert(sums_ok(0, f, hl));
        ck_assert_uint_eq(be16(f + 6) & 0x1fff, 100 + at / 8);
        ck_assert_uint_eq(f[6] & 0x20, 0x20); /* the original had MF: every one has */
        ck_assert_mem_eq(f + hl, orig + 32 + at, U.len[i] - hl);
        at += U.len[i] - hl;
    }
    ck_assert_uint_eq(at, len - 32);
}
END_TEST

/* A broadcast too big for one receiver: the others get it whole, that one
 * fragments; nobody gets an answer. */
START_TEST(broadcast_copies)
{
    struct keeper B;
    keep_attach(&B, lan, "b", GLAN_PORT_GUEST, 1500, "10.0.0.3");
    glan_port_set_mtu(U.port, 0);
    size_t len = udp("10.0.0.2", "255.255.255.255", 3000, 0);
    ck_assert_int_eq(send_from(&G, len), GLAN_DROP_NONE);
    ck_assert_uint_eq(U.n, 1);
    ck_assert_uint_eq(U.len[0], 3000);
    ck_assert_uint_eq(B.n, 3);
    uint8_t back[3100];
    ck_assert_uint_eq(reassemble(&B, 0, back, 1500), 3000);
    ck_assert_mem_eq(back + 20, buf + 20, 2980);
    /* with DF: B's copy is dropped, and no answer */
    len = udp("10.0.0.2", "255.255.255.255", 3000, 1);
    ck_assert_int_eq(send_from(&G, len), GLAN_DROP_NONE);
    ck_assert_uint_eq(U.n, 2);
    ck_assert_uint_eq(B.n, 3);
    ck_assert_uint_eq(G.n, 0);
    struct glan_port_stats ps;
    glan_port_stats(G.port, &ps);
    ck_assert_uint_eq(ps.dropped[GLAN_DROP_FRAGMENTED], 1);
    ck_assert_uint_eq(ps.dropped[GLAN_DROP_TOO_BIG_FOR_PATH], 1);
    ck_assert_uint_eq(ps.frags_sent, 3);
    ck_assert_uint_eq(ps.sent_packets + ps.fanout, ps.delivered + ps.dropped[GLAN_DROP_FRAGMENTED] +
                                                       ps.dropped[GLAN_DROP_TOO_BIG_FOR_PATH]);
    glan_port_detach(B.port);
    keep_free(&B);
}
END_TEST

/* ---- between guests -------------------------------------------------------------------- */

START_TEST(guest_receiver_mtu)
{
    struct keeper B;
    keep_attach(&B, lan, "b", GLAN_PORT_GUEST, 1500, "10.0.0.3");
    size_t len = udp("10.0.0.2", "10.0.0.3", 1500, 1);
    ck_assert_int_eq(send_from(&G, len), GLAN_DROP_NONE);
    ck_assert_uint_eq(B.n, 1);
    len = udp("10.0.0.2", "10.0.0.3", 3000, 1);
    ck_assert_int_eq(send_from(&G, len), GLAN_DROP_TOO_BIG_FOR_PATH);
    ck_assert_uint_eq(B.n, 1);
    ck_assert_uint_eq(G.n, 1);
    ck_assert_uint_eq(be16(G.data[0] + 26), 1500);
    ck_assert_mem_eq(G.data[0] + 12, buf + 16, 4); /* from 10.0.0.3 */
    glan_port_detach(B.port);
    keep_free(&B);
}
END_TEST

/* ---- no answer ------------------------------------------------------------------------------ */

START_TEST(no_answer_cases)
{
    /* an ICMP error (destination unreachable) with DF */
    size_t len = udp("10.0.0.2", "192.0.2.9", 2000, 1);
    buf[9] = 1;
    buf[20] = 3;
    dg_ip_csum(buf);
    ck_assert_int_eq(send_from(&G, len), GLAN_DROP_TOO_BIG_FOR_PATH);
    /* an echo request is answered */
    buf[20] = 8;
    ck_assert_int_eq(send_from(&G, len), GLAN_DROP_TOO_BIG_FOR_PATH);
    ck_assert_uint_eq(G.n, 1);
    /* a later fragment with DF */
    len = udp("10.0.0.2", "192.0.2.9", 2000, 1);
    put16(buf + 6, 0x4000 | 10);
    ck_assert_int_eq(send_from(&G, len), GLAN_DROP_TOO_BIG_FOR_PATH);
    /* from 0.0.0.0, from a multicast address */
    len = udp("0.0.0.0", "192.0.2.9", 2000, 1);
    ck_assert_int_eq(send_from(&G, len), GLAN_DROP_TOO_BIG_FOR_PATH);
    len = udp("224.0.0.9", "192.0.2.9", 2000, 1);
    ck_assert_int_eq(send_from(&G, len), GLAN_DROP_TOO_BIG_FOR_PATH);
    /* an ICMPv6 error; an ICMPv6 echo request is answered */
    len = udp("fd00::2", "2001:db8::9", 2000, 0);
    buf[6] = 58;
    buf[40] = 1;
    ck_assert_int_eq(send_from(&G, len), GLAN_DROP_TOO_BIG_FOR_PATH);
    buf[40] = 128;
    ck_assert_int_eq(send_from(&G, len), GLAN_DROP_TOO_BIG_FOR_PATH);
    ck_assert_uint_eq(G.n, 2);
    /* an IPv6 fragment: the first is answered, a later one not */
    len = udp("fd00::2", "2001:db8::9", 2000, 0);
    buf[6] = 44;
    buf[40] = 17;
    put16(buf + 42, 0x0001); /* offset 0, M */
    ck_assert_int_eq(send_from(&G, len), GLAN_DROP_TOO_BIG_FOR_PATH);
    ck_assert_uint_eq(G.n, 3);
    put16(buf + 42, 0x0100);
    ck_assert_int_eq(send_from(&G, len), GLAN_DROP_TOO_BIG_FOR_PATH);
    /* from :: and from a multicast address */
    len = udp("::", "2001:db8::9", 2000, 0);
    ck_assert_int_eq(send_from(&G, len), GLAN_DROP_TOO_BIG_FOR_PATH);
    len = udp("ff02::1", "2001:db8::9", 2000, 0);
    ck_assert_int_eq(send_from(&G, len), GLAN_DROP_TOO_BIG_FOR_PATH);
    /* a multicast datagram too big for the uplink: dropped, no answer */
    len = udp("10.0.0.2", "239.1.1.1", 2000, 1);
    ck_assert_int_eq(send_from(&G, len), GLAN_DROP_NONE);
    ck_assert_uint_eq(G.n, 3);
    ck_assert_uint_eq(U.n, 0);
    /* too small an MTU to cut into 64 fragments or fewer */
    glan_port_set_mtu(U.port, 68);
    len = udp("10.0.0.2", "192.0.2.9", 8000, 0);
    ck_assert_int_eq(send_from(&G, len), GLAN_DROP_TOO_BIG_FOR_PATH);
    ck_assert_uint_eq(U.n, 0);
    ck_assert_uint_eq(G.n, 3);
    struct glan_port_stats ps;
    glan_port_stats(G.port, &ps);
    ck_assert_uint_eq(ps.icmp_sent, 3);
    ck_assert_uint_eq(ps.dropped[GLAN_DROP_TOO_BIG_FOR_PATH], 13);
}
END_TEST

/* ---- the rate limit -------------------------------------------------------------------------- */

START_TEST(rate_limit)
{
    glan_port_set_icmp_limit(G.port, 3, 0); /* three, never refilled */
    size_t len = udp("10.0.0.2", "192.0.2.9", 2000, 1);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(send_from(&G, len), GLAN_DROP_TOO_BIG_FOR_PATH);
    ck_assert_uint_eq(G.n, 3);
    struct glan_port_stats ps;
    glan_port_stats(G.port, &ps);
    ck_assert_uint_eq(ps.icmp_sent, 3);
    ck_assert_uint_eq(ps.icmp_limited, 7);
    ck_assert_uint_eq(ps.dropped[GLAN_DROP_TOO_BIG_FOR_PATH], 10);
    struct glan_lan_stats ls;
    glan_lan_stats(lan, &ls);
    ck_assert_uint_eq(ls.icmp_limited, 7);
    ck_assert_uint_eq(ls.sent_packets, 13);
    /* burst 0: none at all; the default again: answered */
    glan_port_set_icmp_limit(G.port, 0, 1000);
    ck_assert_int_eq(send_from(&G, len), GLAN_DROP_TOO_BIG_FOR_PATH);
    ck_assert_uint_eq(G.n, 3);
    glan_port_set_icmp_limit(G.port, GLAN_ICMP_BURST, GLAN_ICMP_PER_SEC);
    for (int i = 0; i < GLAN_ICMP_BURST; i++)
        send_from(&G, len);
    ck_assert_uint_ge(G.n, 3 + GLAN_ICMP_BURST);
}
END_TEST

/* ---- the monitor, the view, the uplink's own datagram ------------------------------------- */

struct seen {
    unsigned n;
    int16_t src[8];
    enum glan_drop verdict[8];
    uint32_t len[8];
};

static void mon(void *ctx, const struct glan_dgram *dg, enum glan_drop verdict)
{
    struct seen *s = ctx;
    if (s->n < 8) {
        s->src[s->n] = dg->src;
        s->verdict[s->n] = verdict;
        s->len[s->n] = dg->len;
    }
    s->n++;
}

static void find_mtu(const struct glan_port_view *v, void *arg)
{
    uint32_t *m = arg;
    if (v->kind == GLAN_PORT_UPLINK)
        *m = v->mtu;
}

START_TEST(monitor_and_view)
{
    struct seen s = {0};
    ck_assert_int_eq(glan_lan_set_monitor(lan, mon, &s), 0);
    size_t len = udp("10.0.0.2", "192.0.2.9", 2000, 1);
    send_from(&G, len);
    glan_lan_set_monitor(lan, NULL, NULL);
    /* the original first, then the answer from the base */
    ck_assert_uint_eq(s.n, 2);
    ck_assert_int_eq(s.src[0], glan_port_index(G.port));
    ck_assert_int_eq(s.verdict[0], GLAN_DROP_TOO_BIG_FOR_PATH);
    ck_assert_int_eq(s.src[1], -1);
    ck_assert_int_eq(s.verdict[1], GLAN_DROP_NONE);
    ck_assert_uint_eq(s.len[1], 576);
    uint32_t m = 0;
    glan_lan_foreach_port(lan, find_mtu, &m);
    ck_assert_uint_eq(m, 1400);
    ck_assert_str_eq(glan_drop_name(GLAN_DROP_TOO_BIG_FOR_PATH), "too_big_for_path");
    ck_assert_str_eq(glan_drop_name(GLAN_DROP_FRAGMENTED), "fragmented");
}
END_TEST

/* The host's datagram too big for a guest: the answer goes out through the
 * uplink. */
START_TEST(from_the_uplink)
{
    glan_port_set_mtu(G.port, 1500);
    size_t len = udp("192.0.2.9", "10.0.0.2", 2000, 1);
    ck_assert_int_eq(send_from(&U, len), GLAN_DROP_TOO_BIG_FOR_PATH);
    ck_assert_uint_eq(G.n, 0);
    ck_assert_uint_eq(U.n, 1);
    ck_assert_uint_eq(be16(U.data[0] + 26), 1500);
    ck_assert_mem_eq(U.data[0] + 16, buf + 12, 4); /* to the host */
    struct glan_port_stats ps;
    glan_port_stats(U.port, &ps);
    ck_assert_uint_eq(ps.icmp_sent, 1);
}
END_TEST

/* Base storage short (every class): an answer that finds no buffer is counted made and
 * dropped no_buffer, and the books balance. */
START_TEST(no_buffer_for_answer)
{
    struct glan_lan_config cfg = {
        .name = "TINY", .buffers = 2, .buffer_size = 2048, .mid_buffers = 1, .big_buffers = 1};
    char err[128];
    struct glan_lan *t = glan_lan_create(&cfg, err, sizeof err);
    ck_assert_ptr_nonnull(t);
    struct keeper g, u;
    keep_attach(&g, t, "g", GLAN_PORT_GUEST, 0, "10.0.0.2");
    keep_attach(&u, t, "uplink", GLAN_PORT_UPLINK, 1400, NULL);
    /* hold a small, the medium and the large buffer, so the original takes
     * the last */
    struct glan_txbuf tb[3];
    ck_assert_int_eq(glan_port_tx_begin(g.port, 100, &tb[0]), GLAN_DROP_NONE);
    ck_assert_int_eq(glan_port_tx_begin(g.port, 5000, &tb[1]), GLAN_DROP_NONE);
    ck_assert_int_eq(glan_port_tx_begin(g.port, 20000, &tb[2]), GLAN_DROP_NONE);
    size_t len = udp("10.0.0.2", "192.0.2.9", 2000, 1);
    ck_assert_int_eq(glan_port_send(g.port, buf, len, NULL), GLAN_DROP_TOO_BIG_FOR_PATH);
    for (int i = 0; i < 3; i++)
        glan_port_tx_abort(g.port, &tb[i]);
    ck_assert_uint_eq(g.n, 0);
    struct glan_lan_stats ls;
    glan_lan_stats(t, &ls);
    ck_assert_uint_eq(ls.icmp_sent, 1);
    ck_assert_uint_eq(ls.dropped[GLAN_DROP_NO_BUFFER], 1);
    ck_assert_uint_eq(ls.buffers_in_use, 0);
    tp_check_balance(t);
    glan_port_detach(g.port);
    glan_port_detach(u.port);
    glan_lan_destroy(t);
}
END_TEST

/* A TSO datagram counts against the MTU by its pieces (headers and one
 * MSS), not its whole length: no answer when the pieces fit, one when they
 * do not. */
START_TEST(tso_counts_by_its_segments)
{
    size_t len = tso("10.0.0.2", "192.0.2.9", 8000);
    struct glan_tx_meta m = {.offload = GLAN_OFFLOAD_TSO | GLAN_OFFLOAD_CSUM, .mss = 1360};
    ck_assert_int_eq(glan_port_send(G.port, buf, len, &m), GLAN_DROP_NONE);
    ck_assert_uint_eq(G.n, 0);
    ck_assert_uint_eq(U.n, 1);
    len = tso("10.0.0.2", "192.0.2.9", 8000);
    m.mss = 1400; /* 1440-byte pieces for an uplink of 1400 */
    ck_assert_int_eq(glan_port_send(G.port, buf, len, &m), GLAN_DROP_TOO_BIG_FOR_PATH);
    ck_assert_uint_eq(G.n, 1);
    ck_assert_uint_eq(U.n, 1);
    struct glan_port_stats ps;
    glan_port_stats(G.port, &ps);
    ck_assert_uint_eq(ps.icmp_sent, 1);
}
END_TEST

Suite *pmtu_suite(void)
{
    Suite *s = suite_create("pmtu");
    TCase *tc = tcase_create("pmtu");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, frag_needed_fields);
    tcase_add_test(tc, tso_counts_by_its_segments);
    tcase_add_test(tc, frag_needed_short_and_small);
    tcase_add_test(tc, packet_too_big_fields);
    tcase_add_test(tc, packet_too_big_odd);
    tcase_add_test(tc, fragments_reassemble);
    tcase_add_test(tc, fragments_of_fragment_with_options);
    tcase_add_test(tc, broadcast_copies);
    tcase_add_test(tc, guest_receiver_mtu);
    tcase_add_test(tc, no_answer_cases);
    tcase_add_test(tc, rate_limit);
    tcase_add_test(tc, monitor_and_view);
    tcase_add_test(tc, from_the_uplink);
    tcase_add_test(tc, no_buffer_for_answer);
    suite_add_tcase(s, tc);
    return s;
}
