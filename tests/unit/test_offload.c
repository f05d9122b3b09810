/*
 * Unit tests of checksum completion and TCP segmentation
 * (src/base/offload.c): every header field of every segment of IPv4 and
 * IPv6 TSO datagrams, and their checksums, checked against a checksum
 * computed here independently; TCP and UDP completion over IPv4 and IPv6,
 * UDP's zero rule; the hostile datagrams refused; the cutting loop resuming
 * where a receiver ran out of room; and the base carrying the marks to an
 * uplink, which gets the segments.  Then the device (src/osa): the assists
 * Linux 6.1 turns on through the simulated guest, checksums completed for
 * a sender, TSO datagrams cut for a receiver without inbound checksumming
 * and whole with "checksums verified" for one with it, IPv6 TSO through
 * passthrough frames, and hostile TSO headers refused; and the same in
 * layer 2 on a LAN of transport ETHERNET (frames with the layer-2 header's
 * checksum flags and TSO header, tagged or not, cut into frames).
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dgram.h"
#include "guestlan/offload.h"
#include "guestlan/osa.h"
#include "guestlan/osa_wire.h"
#include "guestlan/simguest.h"
#include "guestlan/uplink.h"
#include "osa_fixture.h"
#include "testport.h"

/* ---- an independent Internet checksum and datagram builders ------------------- */

static uint32_t words(const uint8_t *p, size_t n)
{
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        s += (uint32_t)p[n - 1] << 8;
    return s;
}

static uint16_t fold(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void set16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void set32(uint8_t *p, uint32_t v)
{
    set16(p, v >> 16);
    set16(p + 2, v & 0xffff);
}

/* Does the transport checksum of the datagram verify (sums to 0xffff)? */
static int l4_ok(const uint8_t *ip, size_t len)
{
    int v6 = ip[0] >> 4 == 6;
    unsigned ihl = v6 ? 40 : (ip[0] & 15u) * 4;
    unsigned l4 = v6 ? get16(ip + 4) : get16(ip + 2) - ihl;
    ck_assert_uint_le(ihl + l4, len);
    unsigned proto = v6 ? ip[6] : ip[9];
    uint32_t s = v6 ? words(ip + 8, 32) : words(ip + 12, 8);
    s += proto + l4 + words(ip + ihl, l4);
    return fold(s) == 0xffff;
}

static int ip4_ok(const uint8_t *ip)
{
    return fold(words(ip, (ip[0] & 15u) * 4)) == 0xffff;
}

/* An IPv4 or IPv6 TCP datagram with payload bytes p[i] = i * 7 + 3,
 * sequence number seq, flags, and the checksum fields as garbage: the
 * device must not trust them.  Returns its length. */
static size_t tcp_dgram(uint8_t *b, int v6, size_t payload, uint32_t seq, uint8_t flags)
{
    unsigned ihl = v6 ? 40 : 20, thl = 32; /* with 12 bytes of options */
    memset(b, 0, ihl + thl);
    if (v6) {
        b[0] = 0x60;
        set16(b + 4, (unsigned)(thl + payload));
        b[6] = 6;
        b[7] = 64;
        b[8] = 0xfd;
        b[23] = 1;
        b[24] = 0xfd;
        b[39] = 2;
    } else {
        b[0] = 0x45;
        set16(b + 2, (unsigned)(ihl + thl + payload));
        set16(b + 4, 0xfff0); /* id: wraps while cutting */
        set16(b + 6, 0x4000); /* DF */
        b[8] = 64;
        b[9] = 6;
        set16(b + 10, 0xdead);
        b[12] = 10;
        b[15] = 1;
        b[16] = 10;
        b[19] = 2;
    }
    uint8_t *t = b + ihl;
    set16(t, 40000);
    set16(t + 2, 5201);
    set32(t + 4, seq);
    set32(t + 8, 77);
    t[12] = (uint8_t)((thl / 4) << 4);
    t[13] = flags;
    set16(t + 14, 512);
    set16(t + 16, 0xbeef);
    t[20] = 1; /* NOP NOP timestamps */
    t[21] = 1;
    t[22] = 8;
    t[23] = 10;
    for (size_t i = 0; i < payload; i++)
        b[ihl + thl + i] = (uint8_t)(i * 7 + 3);
    return ihl + thl + payload;
}

static size_t udp_dgram(uint8_t *b, int v6, size_t payload)
{
    unsigned ihl = v6 ? 40 : 20;
    memset(b, 0, ihl + 8);
    if (v6) {
        b[0] = 0x60;
        set16(b + 4, (unsigned)(8 + payload));
        b[6] = 17;
        b[8] = 0xfd;
        b[23] = 1;
        b[24] = 0xfd;
        b[39] = 2;
    } else {
        b[0] = 0x45;
        set16(b + 2, (unsigned)(ihl + 8 + payload));
        b[8] = 64;
        b[9] = 17;
        b[12] = 10;
        b[15] = 1;
        b[16] = 10;
        b[19] = 2;
    }
    set16(b + ihl, 53);
    set16(b + ihl + 2, 5353);
    set16(b + ihl + 4, (unsigned)(8 + payload));
    for (size_t i = 0; i < payload; i++)
        b[ihl + 8 + i] = (uint8_t)(i * 13 + 1);
    return ihl + 8 + payload;
}

/* ---- segmentation ------------------------------------------------------------------- */

static void check_segments(int v6)
{
    static uint8_t big[GLAN_OFFLOAD_MAX], seg[GLAN_OFFLOAD_MAX];
    const size_t payload = 20000;
    const unsigned mss = 1448;
    const uint8_t flags = 0x80 | 0x10 | 0x08 | 0x01; /* CWR ACK PSH FIN */
    size_t len = tcp_dgram(big, v6, payload, 0xfffff000u, flags);
    unsigned ihl = v6 ? 40 : 20, hdrs = ihl + 32;
    ck_assert_int_eq(glan_offload_check(big, len, GLAN_OFFLOAD_TSO, mss), GLAN_OFFLOAD_OK);
    unsigned n = glan_offload_segments(big, len, mss);
    ck_assert_uint_eq(n, (payload + mss - 1) / mss);
    size_t done = 0;
    for (unsigned i = 0; i < n; i++) {
        size_t sl = glan_offload_segment(big, len, mss, i, seg, sizeof seg);
        size_t want = payload - done < mss ? payload - done : mss;
        ck_assert_uint_eq(sl, hdrs + want);
        if (v6) {
            ck_assert_uint_eq(get16(seg + 4), 32 + want);
            ck_assert_mem_eq(seg + 8, big + 8, 32);
            ck_assert_uint_eq(seg[6], 6);
        } else {
            ck_assert_uint_eq(get16(seg + 2), sl);
            ck_assert_uint_eq(get16(seg + 4), (0xfff0 + i) & 0xffff);
            ck_assert_uint_eq(get16(seg + 6), 0x4000);
            ck_assert(ip4_ok(seg));
        }
        const uint8_t *t = seg + ihl;
        ck_assert_uint_eq(get32(t + 4), 0xfffff000u + (uint32_t)done);
        ck_assert_uint_eq(get32(t + 8), 77);
        uint8_t f = t[13];
        ck_assert_uint_eq(!!(f & 0x80), i == 0);     /* CWR on the first only */
        ck_assert_uint_eq(!!(f & 0x01), i == n - 1); /* FIN and PSH on the last */
        ck_assert_uint_eq(!!(f & 0x08), i == n - 1);
        ck_assert(f & 0x10);
        ck_assert_mem_eq(t + 20, big + ihl + 20, 12); /* options kept */
        ck_assert_mem_eq(seg + hdrs, big + hdrs + done, want);
        ck_assert(l4_ok(seg, sl));
        done += want;
    }
    ck_assert_uint_eq(done, payload);
    ck_assert_uint_eq(glan_offload_segment(big, len, mss, n, seg, sizeof seg), 0);
    ck_assert_uint_eq(glan_offload_segment(big, len, mss, 0, seg, hdrs + mss - 1), 0);
}

START_TEST(segment_ipv4)
{
    check_segments(0);
}
END_TEST

START_TEST(segment_ipv6)
{
    check_segments(1);
}
END_TEST

/* ---- checksum completion ------------------------------------------------------------ */

START_TEST(complete_tcp_udp)
{
    static uint8_t b[4096];
    for (int v6 = 0; v6 <= 1; v6++) {
        size_t len = tcp_dgram(b, v6, 1001, 5, 0x18);
        ck_assert_int_eq(glan_offload_complete(b, len), 0);
        ck_assert(l4_ok(b, len));
        if (!v6)
            ck_assert(ip4_ok(b));
        len = udp_dgram(b, v6, 999);
        ck_assert_int_eq(glan_offload_complete(b, len), 0);
        ck_assert(l4_ok(b, len));
        ck_assert_uint_ne(get16(b + (v6 ? 46 : 26)), 0);
    }
}
END_TEST

START_TEST(udp_zero_rule)
{
    /* A payload whose UDP checksum comes out 0 must be sent as 0xffff (0
     * means "no checksum" in IPv4 and is illegal in IPv6).  Its first word
     * is chosen, with the independent sum, so that the sum is 0xffff. */
    static uint8_t b[256];
    for (int v6 = 0; v6 <= 1; v6++) {
        unsigned ihl = v6 ? 40 : 20;
        size_t len = udp_dgram(b, v6, 16);
        set16(b + ihl + 8, 0);
        uint32_t pseudo = (v6 ? words(b + 8, 32) : words(b + 12, 8)) + 17 + (unsigned)(len - ihl);
        uint16_t sum = fold(pseudo + words(b + ihl, len - ihl));
        set16(b + ihl + 8, (uint16_t)(0xffff - sum));
        ck_assert_uint_eq(fold(pseudo + words(b + ihl, len - ihl)), 0xffff);
        ck_assert_int_eq(glan_offload_complete(b, len), 0);
        ck_assert_uint_eq(get16(b + ihl + 6), 0xffff);
        ck_assert(l4_ok(b, len));
    }
}
END_TEST

/* ---- hostile datagrams ---------------------------------------------------------------- */

START_TEST(hostile)
{
    static uint8_t b[8192];
    size_t len = tcp_dgram(b, 0, 3000, 1, 0x10);
    ck_assert_int_eq(glan_offload_check(b, len, GLAN_OFFLOAD_TSO, 0), GLAN_OFFLOAD_BAD_MSS);
    ck_assert_int_eq(glan_offload_check(b, len, GLAN_OFFLOAD_TSO, 3000), GLAN_OFFLOAD_BAD_MSS);
    ck_assert_int_eq(glan_offload_check(b, len, GLAN_OFFLOAD_TSO, 5000), GLAN_OFFLOAD_BAD_MSS);
    ck_assert_int_eq(glan_offload_check(b, len, GLAN_OFFLOAD_TSO, 1), GLAN_OFFLOAD_OK);
    ck_assert_uint_eq(glan_offload_segments(b, len, 1), 3000);
    ck_assert_int_eq(glan_offload_check(b, len - 1, GLAN_OFFLOAD_TSO, 100), GLAN_OFFLOAD_BAD_IP);
    ck_assert_int_eq(glan_offload_check(b, 19, GLAN_OFFLOAD_CSUM, 0), GLAN_OFFLOAD_BAD_IP);
    b[20 + 12] = 0xf0; /* TCP header of 60 bytes: fine */
    ck_assert_int_eq(glan_offload_check(b, len, GLAN_OFFLOAD_TSO, 100), GLAN_OFFLOAD_OK);
    b[20 + 12] = 0x40; /* TCP header of 16 bytes */
    ck_assert_int_eq(glan_offload_check(b, len, GLAN_OFFLOAD_TSO, 100), GLAN_OFFLOAD_BAD_L4);
    len = tcp_dgram(b, 0, 3000, 1, 0x10);
    set16(b + 2, 20 + 30); /* TCP header past the IP length */
    ck_assert_int_eq(glan_offload_check(b, len, GLAN_OFFLOAD_CSUM, 0), GLAN_OFFLOAD_BAD_L4);
    len = tcp_dgram(b, 0, 3000, 1, 0x10);
    b[0] = 0x46; /* IPv4 options */
    ck_assert_int_eq(glan_offload_check(b, len, GLAN_OFFLOAD_TSO, 100), GLAN_OFFLOAD_BAD_HEADERS);
    b[0] = 0x45;
    set16(b + 6, 0x2000); /* a fragment */
    ck_assert_int_eq(glan_offload_check(b, len, GLAN_OFFLOAD_CSUM, 0), GLAN_OFFLOAD_BAD_IP);
    set16(b + 6, 0);
    b[9] = 17; /* UDP with TSO */
    ck_assert_int_eq(glan_offload_check(b, len, GLAN_OFFLOAD_TSO, 100), GLAN_OFFLOAD_BAD_PROTO);
    ck_assert_int_eq(glan_offload_check(b, len, GLAN_OFFLOAD_CSUM, 0), GLAN_OFFLOAD_OK);
    b[9] = 1; /* ICMP */
    ck_assert_int_eq(glan_offload_check(b, len, GLAN_OFFLOAD_CSUM, 0), GLAN_OFFLOAD_BAD_PROTO);
    ck_assert_int_eq(glan_offload_complete(b, len), -EINVAL);
    len = tcp_dgram(b, 1, 3000, 1, 0x10);
    b[6] = 0; /* hop-by-hop extension header */
    ck_assert_int_eq(glan_offload_check(b, len, GLAN_OFFLOAD_TSO, 100), GLAN_OFFLOAD_BAD_HEADERS);
    b[6] = 6;
    set16(b + 4, 0); /* jumbogram / no payload */
    ck_assert_int_eq(glan_offload_check(b, len, GLAN_OFFLOAD_TSO, 100), GLAN_OFFLOAD_BAD_IP);
    b[0] = 0x50;
    ck_assert_int_eq(glan_offload_check(b, len, GLAN_OFFLOAD_CSUM, 0), GLAN_OFFLOAD_BAD_IP);
    ck_assert_uint_eq(glan_offload_segments(b, len, 100), 0);
}
END_TEST

/* ---- the cutting loop ------------------------------------------------------------------- */

struct taker {
    unsigned calls, taken, fail_at;
    uint32_t next_seq;
    int ok;
};

static int take(void *ctx, const struct glan_dgram *piece)
{
    struct taker *t = ctx;
    if (t->calls++ == t->fail_at)
        return -EAGAIN;
    if (get32(piece->data + 24) != t->next_seq || !l4_ok(piece->data, piece->len) ||
        piece->offload != GLAN_OFFLOAD_CSUM || piece->mss != 0)
        t->ok = 0;
    t->next_seq += piece->len - 52;
    t->taken++;
    return 0;
}

START_TEST(each_resumes)
{
    static uint8_t b[GLAN_OFFLOAD_MAX];
    size_t len = tcp_dgram(b, 0, 10000, 1000, 0x10);
    struct glan_dgram dg = {.data = b,
                            .len = (uint32_t)len,
                            .family = GLAN_AF_INET,
                            .offload = GLAN_OFFLOAD_TSO | GLAN_OFFLOAD_CSUM,
                            .mss = 1000,
                            .ts_ns = 5};
    struct glan_offload_state st;
    memset(&st, 0, sizeof st);
    struct taker t = {.fail_at = 3, .next_seq = 1000, .ok = 1};
    ck_assert_int_eq(glan_offload_each(&st, &dg, take, &t), -EAGAIN);
    ck_assert_uint_eq(t.taken, 3);
    ck_assert_int_eq(glan_offload_each(&st, &dg, take, &t), 0); /* the same copy again */
    ck_assert_uint_eq(t.taken, 10);
    ck_assert(t.ok);
    ck_assert_uint_eq(st.tso, 1);
    ck_assert_uint_eq(st.segments, 10);
    /* Another datagram starts from its first segment. */
    t = (struct taker){.fail_at = 100, .next_seq = 1000, .ok = 1};
    dg.ts_ns = 6;
    ck_assert_int_eq(glan_offload_each(&st, &dg, take, &t), 0);
    ck_assert_uint_eq(t.taken, 10);
    ck_assert(t.ok);
    /* Not cuttable: refused and counted. */
    dg.mss = 0;
    ck_assert_int_eq(glan_offload_each(&st, &dg, take, &t), -EINVAL);
    ck_assert_uint_eq(st.bad, 1);
    glan_offload_state_free(&st);
}
END_TEST

/* ---- through the base to an uplink ------------------------------------------------------ */

struct rec_uplink {
    struct glan_uplink up; /* first */
    unsigned sent, bad, again;
    uint32_t bytes;
};

static int rec_send(struct glan_uplink *u, const struct glan_dgram *dg)
{
    struct rec_uplink *r = (struct rec_uplink *)u;
    if (r->again) {
        r->again--;
        return -EAGAIN;
    }
    if (dg->offload & GLAN_OFFLOAD_TSO || !l4_ok(dg->data, dg->len) || !ip4_ok(dg->data))
        r->bad++;
    r->sent++;
    r->bytes += dg->len;
    return 0;
}

static const struct glan_uplink_ops rec_ops = {.kind = "rec", .send = rec_send};

START_TEST(uplink_gets_segments)
{
    struct glan_lan_config cfg = {.name = "offl", .buffers = 64, .buffer_size = 65535};
    char err[256];
    struct glan_lan *lan = glan_lan_create(&cfg, err, sizeof err);
    ck_assert_ptr_nonnull(lan);
    struct rec_uplink *r = calloc(1, sizeof *r);
    r->up.ops = &rec_ops;
    r->again = 1; /* the first segment finds no room: the rest follow on the kick */
    ck_assert_int_eq(glan_uplink_attach(lan, &r->up), 0);
    struct testport tp;
    static const char *const a[] = {"10.0.0.1", NULL};
    tp_attach(&tp, lan, "g", a);
    static uint8_t b[GLAN_OFFLOAD_MAX];
    size_t len = tcp_dgram(b, 0, 30000, 9, 0x18);
    glan_offload_complete(b, len);
    struct glan_tx_meta meta = {.offload = GLAN_OFFLOAD_TSO | GLAN_OFFLOAD_CSUM, .mss = 8948};
    ck_assert_int_eq(glan_port_send(tp.port, b, len, &meta), GLAN_DROP_NONE);
    ck_assert_uint_eq(r->sent, 0);
    glan_port_kick(r->up.port);
    ck_assert_uint_eq(r->sent, 4);
    ck_assert_uint_eq(r->bad, 0);
    ck_assert_uint_eq(r->bytes, 30000 + 4 * 52);
    struct glan_uplink_stats us;
    glan_uplink_get_stats(&r->up, &us);
    ck_assert_uint_eq(us.tx_tso, 1);
    ck_assert_uint_eq(us.tx_segments, 4);
    /* A TSO mark on a datagram that cannot be cut: malformed, at the base. */
    meta.mss = 0;
    ck_assert_int_eq(glan_port_send(tp.port, b, len, &meta), GLAN_DROP_MALFORMED);
    tp_check_balance(lan);
    glan_port_detach(tp.port);
    glan_uplink_detach(&r->up);
    glan_lan_destroy(lan);
    free(r);
}
END_TEST

/* ---- the device ------------------------------------------------------------------------- */

static struct glan_lan *olan;
static struct simguest *ga, *gb;
static struct sg_rx rx[64];
static uint8_t big[GLAN_OFFLOAD_MAX + 64];

static void osa_setup(void)
{
    struct glan_lan_config cfg = {.name = "osaoffl", .buffers = 256, .buffer_size = 65535};
    char err[256];
    olan = glan_lan_create(&cfg, err, sizeof err);
    ck_assert_msg(olan != NULL, "%s", err);
    static const char *const aa[] = {"10.0.0.1", "fd00::1", NULL};
    static const char *const ba[] = {"10.0.0.2", "fd00::2", NULL};
    osa_fixture_pair(olan, aa, ba, &ga, &gb);
}

static void osa_teardown(void)
{
    glan_sg_destroy(ga);
    glan_sg_destroy(gb);
    tp_check_balance(olan);
    glan_lan_destroy(olan);
}

static struct glan_osa_stats stats(struct simguest *g)
{
    struct glan_osa_stats st;
    glan_osa_get_stats(g->osa, &st);
    return st;
}

START_TEST(osa_assists)
{
    const uint32_t v4 = IPA_INBOUND_CHECKSUM | IPA_OUTBOUND_CHECKSUM | IPA_OUTBOUND_TSO;
    const uint32_t v6 = IPA_INBOUND_CHECKSUM_V6 | IPA_OUTBOUND_CHECKSUM_V6 | IPA_OUTBOUND_TSO;
    ck_assert_uint_eq(ga->ipa4_supported & v4, v4);
    ck_assert_uint_eq(ga->ipa6_supported & v6, v6);
    static const uint32_t assists[] = {IPA_INBOUND_CHECKSUM, IPA_OUTBOUND_CHECKSUM,
                                       IPA_OUTBOUND_TSO};
    for (int p = 0; p < 2; p++) {
        uint16_t prot = p ? IPA_PROT_IPV6 : IPA_PROT_IPV4;
        for (int k = 0; k < 3; k++) {
            uint32_t mss = 0;
            ck_assert_int_eq(glan_sg_offload(ga, prot, assists[k], 1, &mss), 0);
            ck_assert(((p ? ga->ipa6_enabled : ga->ipa4_enabled) & assists[k]) != 0);
            if (assists[k] == IPA_OUTBOUND_TSO)
                ck_assert_uint_gt(mss, 0);
        }
    }
    ck_assert_int_eq(glan_sg_offload(ga, IPA_PROT_IPV4, IPA_OUTBOUND_TSO, 0, NULL), 0);
    ck_assert_uint_eq(ga->ipa4_enabled & IPA_OUTBOUND_TSO, 0);
    /* A LAN whose buffers cannot hold a TSO datagram offers no TSO. */
    struct glan_lan_config sc = {.name = "osasmall", .big_size = 57344};
    char err[128];
    struct glan_lan *small = glan_lan_create(&sc, err, sizeof err);
    ck_assert_msg(small != NULL, "%s", err);
    struct simguest *g = glan_sg_create(small, "0800", 0x0800);
    static const char *const ca[] = {"10.0.0.9", NULL};
    ck_assert_int_eq(glan_sg_bringup(g, ca), 0);
    ck_assert_uint_eq(g->ipa4_supported & IPA_OUTBOUND_TSO, 0);
    ck_assert_uint_ne(g->ipa4_supported & IPA_OUTBOUND_CHECKSUM, 0);
    ck_assert_int_eq(glan_sg_offload(g, IPA_PROT_IPV4, IPA_OUTBOUND_TSO, 1, NULL), IPA_RC_NOTSUPP);
    glan_sg_destroy(g);
    glan_lan_destroy(small);
}
END_TEST

START_TEST(osa_checksums)
{
    ck_assert_int_eq(glan_sg_offload(ga, IPA_PROT_IPV4, IPA_OUTBOUND_CHECKSUM, 1, NULL), 0);
    static uint8_t d[4096];
    for (int round = 0; round < 2; round++) {
        size_t n = round ? udp_dgram(d, 0, 700) : tcp_dgram(d, 0, 1200, 3, 0x18);
        uint8_t *l4 = d + 20;
        set16(l4 + (round ? 6 : 16), 0x1234); /* what the stack left: not the sum */
        struct sg_pkt p = {.flags = QETH_CAST_UNICAST,
                           .data = d,
                           .len = (uint32_t)n,
                           .ext_flags = QETH_HDR_EXT_CSUM_HDR_REQ | QETH_HDR_EXT_CSUM_TRANSP_REQ};
        ck_assert_int_eq(glan_sg_send(ga, &p, 1, 0), SG_SENT);
        ck_assert_int_eq(glan_sg_recv(gb, rx, 64), 1);
        ck_assert_uint_eq(rx[0].len, n);
        ck_assert(l4_ok(rx[0].data, n));
        ck_assert(ip4_ok(rx[0].data));
        ck_assert_uint_eq(rx[0].ext_flags, 0); /* b did not ask to be told */
    }
    ck_assert_uint_eq(stats(ga).out_csum, 2);
    /* b starts inbound checksumming: told they are verified. */
    ck_assert_int_eq(glan_sg_offload(gb, IPA_PROT_IPV4, IPA_INBOUND_CHECKSUM, 1, NULL), 0);
    size_t n = tcp_dgram(d, 0, 100, 3, 0x18);
    struct sg_pkt p = {.flags = QETH_CAST_UNICAST,
                       .data = d,
                       .len = (uint32_t)n,
                       .ext_flags = QETH_HDR_EXT_CSUM_TRANSP_REQ};
    ck_assert_int_eq(glan_sg_send(ga, &p, 1, 0), SG_SENT);
    ck_assert_int_eq(glan_sg_recv(gb, rx, 64), 1);
    ck_assert(rx[0].ext_flags & QETH_HDR_EXT_CSUM_TRANSP_REQ);
    ck_assert(l4_ok(rx[0].data, n));
    ck_assert_uint_eq(stats(gb).in_csum_verified, 1);
    /* A datagram sent without offload is not flagged. */
    p.ext_flags = 0;
    glan_offload_complete(d, n);
    ck_assert_int_eq(glan_sg_send(ga, &p, 1, 0), SG_SENT);
    ck_assert_int_eq(glan_sg_recv(gb, rx, 64), 1);
    ck_assert_uint_eq(rx[0].ext_flags, 0);
}
END_TEST

/* a sends a TSO datagram (IPv4, or IPv6 in a passthrough frame); returns
 * its length without the Ethernet header. */
static size_t send_tso(int v6, size_t payload, unsigned mss)
{
    unsigned eth = v6 ? 14 : 0;
    size_t n = tcp_dgram(big + eth, v6, payload, 1, 0x18);
    if (v6) {
        memset(big, 0, 12);
        set16(big + 12, 0x86dd);
    }
    struct sg_pkt p = {
        .flags = (uint8_t)(QETH_CAST_UNICAST | (v6 ? QETH_HDR_IPV6 | QETH_HDR_PASSTHRU : 0)),
        .data = big,
        .len = (uint32_t)(n + eth),
        .mss = (uint16_t)mss};
    ck_assert_int_eq(glan_sg_send(ga, &p, 1, 0), SG_SENT);
    return n;
}

static void check_tso(int v6)
{
    uint16_t prot = v6 ? IPA_PROT_IPV6 : IPA_PROT_IPV4;
    ck_assert_int_eq(glan_sg_offload(ga, prot, IPA_OUTBOUND_TSO, 1, NULL), 0);
    const size_t payload = 20000;
    const unsigned mss = 1428, ihl = v6 ? 40 : 20;
    unsigned nseg = (unsigned)((payload + mss - 1) / mss);
    send_tso(v6, payload, mss);
    ck_assert_int_eq(glan_sg_recv(gb, rx, 64), (int)nseg);
    for (unsigned i = 0; i < nseg; i++) {
        ck_assert(l4_ok(rx[i].data, rx[i].len));
        ck_assert_uint_eq(get32(rx[i].data + ihl + 4), 1 + i * mss);
        ck_assert_uint_eq(rx[i].ext_flags, 0);
        ck_assert_uint_eq(!!(rx[i].flags & QETH_HDR_IPV6), v6);
    }
    struct glan_osa_stats sa = stats(ga), sb = stats(gb);
    ck_assert_uint_eq(sa.out_tso, 1);
    ck_assert_uint_eq(sb.in_tso_cut, 1);
    ck_assert_uint_eq(sb.in_tso_segments, nseg);
    /* b takes inbound checksumming: the datagram comes whole, verified. */
    ck_assert_int_eq(glan_sg_offload(gb, prot, IPA_INBOUND_CHECKSUM, 1, NULL), 0);
    size_t n = send_tso(v6, payload, mss);
    ck_assert_int_eq(glan_sg_recv(gb, rx, 64), 1);
    ck_assert_uint_eq(rx[0].len, n);
    ck_assert(rx[0].ext_flags & QETH_HDR_EXT_CSUM_TRANSP_REQ);
    sb = stats(gb);
    ck_assert_uint_eq(sb.in_tso_whole, 1);
    ck_assert_uint_eq(sb.in_tso_cut, 1);
}

START_TEST(osa_tso4)
{
    check_tso(0);
}
END_TEST

START_TEST(osa_tso6)
{
    check_tso(1);
}
END_TEST

START_TEST(osa_tso_hostile)
{
    ck_assert_int_eq(glan_sg_offload(ga, IPA_PROT_IPV4, IPA_OUTBOUND_TSO, 1, NULL), 0);
    static uint8_t d[8192];
    size_t n = tcp_dgram(d, 0, 3000, 1, 0x10);
    struct sg_pkt p = {.flags = QETH_CAST_UNICAST, .data = d, .len = (uint32_t)n, .mss = 3000};
    ck_assert_int_eq(glan_sg_send(ga, &p, 1, 0), SG_SENT); /* mss >= payload */
    d[0] = 0x46;                                           /* IPv4 options */
    p.mss = 500;
    ck_assert_int_eq(glan_sg_send(ga, &p, 1, 0), SG_SENT);
    d[0] = 0x45;
    d[9] = 17; /* UDP with TSO */
    ck_assert_int_eq(glan_sg_send(ga, &p, 1, 0), SG_SENT);
    d[9] = 6;
    d[20 + 12] = 0x40; /* a TCP header of 16 bytes */
    ck_assert_int_eq(glan_sg_send(ga, &p, 1, 0), SG_SENT);
    /* A checksum request on ICMP. */
    n = udp_dgram(d, 0, 100);
    d[9] = 1;
    struct sg_pkt q = {.flags = QETH_CAST_UNICAST,
                       .data = d,
                       .len = (uint32_t)n,
                       .ext_flags = QETH_HDR_EXT_CSUM_TRANSP_REQ};
    ck_assert_int_eq(glan_sg_send(ga, &q, 1, 0), SG_SENT);
    ck_assert_int_eq(glan_sg_recv(gb, rx, 64), 0);
    ck_assert_uint_eq(stats(ga).out_offload_bad, 5);
    /* The device goes on. */
    n = tcp_dgram(d, 0, 3000, 1, 0x10);
    p.len = (uint32_t)n;
    ck_assert_int_eq(glan_sg_send(ga, &p, 1, 0), SG_SENT);
    ck_assert_int_eq(glan_sg_recv(gb, rx, 64), 6);
}
END_TEST

/* ---- the device in layer 2 ---------------------------------------------------------------- */

static struct glan_lan *elan;
static struct simguest *la, *lb;

static void l2_setup(void)
{
    struct glan_lan_config cfg = {
        .name = "l2offl", .buffers = 256, .transport = GLAN_TRANSPORT_ETHERNET};
    char err[256];
    elan = glan_lan_create(&cfg, err, sizeof err);
    ck_assert_msg(elan != NULL, "%s", err);
    la = glan_sg_create(elan, "0600", 0x0600);
    lb = glan_sg_create(elan, "0700", 0x0700);
    ck_assert_int_eq(glan_sg_bringup_l2(la), 0);
    ck_assert_int_eq(glan_sg_bringup_l2(lb), 0);
}

static void l2_teardown(void)
{
    glan_sg_destroy(la);
    glan_sg_destroy(lb);
    tp_check_balance(elan);
    glan_lan_destroy(elan);
}

/* A frame from la to lb (tagged with vid when nonzero) around the datagram
 * tcp_dgram or udp_dgram builds after the header; returns the header's
 * length (the datagram is at f + that). */
static size_t l2_frame_hdr(uint8_t *f, int v6, uint16_t vid)
{
    return dg_eth(f, lb->mac, la->mac, v6 ? ET_IPV6 : ET_IPV4, vid);
}

START_TEST(l2_assists)
{
    /* qeth_l2 asks QIPASSIST for IPv6 only when the IPv4 answer has IPv6. */
    const uint32_t v4 = IPA_SETADAPTERPARMS | IPA_IPV6 | IPA_INBOUND_CHECKSUM |
                        IPA_OUTBOUND_CHECKSUM | IPA_OUTBOUND_TSO;
    const uint32_t v6 = IPA_INBOUND_CHECKSUM_V6 | IPA_OUTBOUND_CHECKSUM_V6 | IPA_OUTBOUND_TSO;
    ck_assert_uint_eq(la->ipa4_supported & v4, v4);
    ck_assert_uint_eq(la->ipa6_supported & v6, v6);
    /* none of the layer-3 assists */
    ck_assert_uint_eq(la->ipa4_supported & (IPA_ARP_PROCESSING | IPA_FILTERING), 0);
    static const uint32_t assists[] = {IPA_INBOUND_CHECKSUM, IPA_OUTBOUND_CHECKSUM,
                                       IPA_OUTBOUND_TSO};
    for (int p = 0; p < 2; p++)
        for (int k = 0; k < 3; k++) {
            uint32_t mss = 0;
            uint16_t prot = p ? IPA_PROT_IPV6 : IPA_PROT_IPV4;
            ck_assert_int_eq(glan_sg_offload(la, prot, assists[k], 1, &mss), 0);
            if (assists[k] == IPA_OUTBOUND_TSO)
                ck_assert_uint_gt(mss, 0);
        }
}
END_TEST

START_TEST(l2_checksums)
{
    static uint8_t f[4096];
    for (int round = 0; round < 4; round++) {
        int v6 = round & 1, udp = round >> 1;
        size_t hl = l2_frame_hdr(f, v6, 0);
        size_t n = udp ? udp_dgram(f + hl, v6, 700) : tcp_dgram(f + hl, v6, 1200, 3, 0x18);
        /* qeth_tx_csum: TRANSP_REQ, and UDP for UDP, in flags[1] */
        struct sg_pkt p = {
            .data = f,
            .len = (uint32_t)(hl + n),
            .ext_flags = (uint8_t)(QETH_HDR_EXT_CSUM_TRANSP_REQ | (udp ? QETH_HDR_EXT_UDP : 0))};
        ck_assert_int_eq(glan_sg_send(la, &p, 1, 0), SG_SENT);
        ck_assert_int_eq(glan_sg_recv(lb, rx, 64), 1);
        ck_assert_uint_eq(rx[0].len, hl + n);
        ck_assert_mem_eq(rx[0].data, f, hl); /* the Ethernet header as it was */
        ck_assert(l4_ok(rx[0].data + hl, n));
        if (!v6)
            ck_assert(ip4_ok(rx[0].data + hl));
        ck_assert_uint_eq(rx[0].ext_flags, 0); /* lb did not ask to be told */
    }
    ck_assert_uint_eq(stats(la).out_csum, 4);
    /* lb starts inbound checksumming for IPv4: told in flags[1]; IPv6 not. */
    ck_assert_int_eq(glan_sg_offload(lb, IPA_PROT_IPV4, IPA_INBOUND_CHECKSUM, 1, NULL), 0);
    for (int v6 = 0; v6 < 2; v6++) {
        size_t hl = l2_frame_hdr(f, v6, 0);
        size_t n = tcp_dgram(f + hl, v6, 100, 3, 0x18);
        struct sg_pkt p = {
            .data = f, .len = (uint32_t)(hl + n), .ext_flags = QETH_HDR_EXT_CSUM_TRANSP_REQ};
        ck_assert_int_eq(glan_sg_send(la, &p, 1, 0), SG_SENT);
        ck_assert_int_eq(glan_sg_recv(lb, rx, 64), 1);
        ck_assert_uint_eq(!!(rx[0].ext_flags & QETH_HDR_EXT_CSUM_TRANSP_REQ), !v6);
        ck_assert(l4_ok(rx[0].data + hl, n));
    }
    ck_assert_uint_eq(stats(lb).in_csum_verified, 1);
    /* A frame sent without offload is not flagged. */
    size_t hl = l2_frame_hdr(f, 0, 0);
    size_t n = tcp_dgram(f + hl, 0, 100, 3, 0x18);
    glan_offload_complete(f + hl, n);
    struct sg_pkt p = {.data = f, .len = (uint32_t)(hl + n)};
    ck_assert_int_eq(glan_sg_send(la, &p, 1, 0), SG_SENT);
    ck_assert_int_eq(glan_sg_recv(lb, rx, 64), 1);
    ck_assert_uint_eq(rx[0].ext_flags, 0);
}
END_TEST

/* la sends a TSO frame (tagged with vid when nonzero); returns its length. */
static size_t l2_send_tso(int v6, uint16_t vid, size_t payload, unsigned mss)
{
    size_t hl = l2_frame_hdr(big, v6, vid);
    size_t n = hl + tcp_dgram(big + hl, v6, payload, 1, 0x18);
    struct sg_pkt p = {.data = big, .len = (uint32_t)n, .mss = (uint16_t)mss};
    ck_assert_int_eq(glan_sg_send(la, &p, 1, 0), SG_SENT);
    return n;
}

static void l2_check_tso(int v6, uint16_t vid)
{
    if (vid) {
        ck_assert_int_eq(glan_sg_setvlan(la, vid, 0), 0);
        ck_assert_int_eq(glan_sg_setvlan(lb, vid, 0), 0);
    }
    uint16_t prot = v6 ? IPA_PROT_IPV6 : IPA_PROT_IPV4;
    ck_assert_int_eq(glan_sg_offload(la, prot, IPA_OUTBOUND_TSO, 1, NULL), 0);
    const size_t payload = 20000;
    const unsigned mss = 1428, hl = vid ? 18 : 14, ihl = v6 ? 40 : 20;
    unsigned nseg = (unsigned)((payload + mss - 1) / mss);
    l2_send_tso(v6, vid, payload, mss);
    ck_assert_int_eq(glan_sg_recv(lb, rx, 64), (int)nseg);
    for (unsigned i = 0; i < nseg; i++) {
        ck_assert_mem_eq(rx[i].data, big, hl); /* each segment in the frame's header */
        ck_assert(l4_ok(rx[i].data + hl, rx[i].len - hl));
        ck_assert_uint_eq(get32(rx[i].data + hl + ihl + 4), 1 + i * mss);
        ck_assert_uint_eq(rx[i].ext_flags, 0);
        ck_assert_uint_eq(rx[i].flags & ~QETH_L2_VLAN, QETH_L2_UNICAST);
        ck_assert_uint_eq(!!(rx[i].flags & QETH_L2_VLAN), vid != 0);
    }
    struct glan_osa_stats sa = stats(la), sb = stats(lb);
    ck_assert_uint_eq(sa.out_tso, 1);
    ck_assert_uint_eq(sb.in_tso_cut, 1);
    ck_assert_uint_eq(sb.in_tso_segments, nseg);
    /* lb takes inbound checksumming: the frame comes whole, verified. */
    ck_assert_int_eq(glan_sg_offload(lb, prot, IPA_INBOUND_CHECKSUM, 1, NULL), 0);
    size_t n = l2_send_tso(v6, vid, payload, mss);
    static uint8_t whole[GLAN_OFFLOAD_ETH_MAX + GLAN_OFFLOAD_MAX];
    rx[0].big = whole;
    rx[0].big_cap = sizeof whole;
    ck_assert_int_eq(glan_sg_recv(lb, rx, 64), 1);
    rx[0].big = NULL;
    ck_assert_uint_eq(rx[0].len, n);
    ck_assert(rx[0].ext_flags & QETH_HDR_EXT_CSUM_TRANSP_REQ);
    ck_assert(l4_ok(whole + hl, n - hl));
    sb = stats(lb);
    ck_assert_uint_eq(sb.in_tso_whole, 1);
    ck_assert_uint_eq(sb.in_tso_cut, 1);
}

START_TEST(l2_tso4)
{
    l2_check_tso(0, 0);
}
END_TEST

START_TEST(l2_tso6)
{
    l2_check_tso(1, 0);
}
END_TEST

START_TEST(l2_tso_vlan)
{
    l2_check_tso(0, 10);
}
END_TEST

START_TEST(l2_tso_hostile)
{
    ck_assert_int_eq(glan_sg_offload(la, IPA_PROT_IPV4, IPA_OUTBOUND_TSO, 1, NULL), 0);
    static uint8_t f[8192];
    size_t hl = l2_frame_hdr(f, 0, 0);
    size_t n = hl + tcp_dgram(f + hl, 0, 3000, 1, 0x10);
    struct sg_pkt p = {.data = f, .len = (uint32_t)n, .mss = 3000};
    ck_assert_int_eq(glan_sg_send(la, &p, 1, 0), SG_SENT); /* mss >= payload */
    p.mss = 500;
    set16(f + 12, 0x0806); /* TSO on an ARP frame */
    ck_assert_int_eq(glan_sg_send(la, &p, 1, 0), SG_SENT);
    set16(f + 12, ET_IPV4);
    f[hl + 9] = 17; /* UDP with TSO */
    ck_assert_int_eq(glan_sg_send(la, &p, 1, 0), SG_SENT);
    f[hl + 9] = 6;
    struct sg_pkt q = {.data = f, .len = 12, .ext_flags = QETH_HDR_EXT_CSUM_TRANSP_REQ};
    ck_assert_int_eq(glan_sg_send(la, &q, 1, 0), SG_SENT); /* shorter than a header */
    q.len = (uint32_t)(hl + 10);
    ck_assert_int_eq(glan_sg_send(la, &q, 1, 0), SG_SENT); /* the datagram cut short */
    ck_assert_int_eq(glan_sg_recv(lb, rx, 64), 0);
    ck_assert_uint_eq(stats(la).out_offload_bad, 5);
    /* The device goes on. */
    ck_assert_int_eq(glan_sg_send(la, &p, 1, 0), SG_SENT);
    ck_assert_int_eq(glan_sg_recv(lb, rx, 64), 6);
}
END_TEST

/* The cutting loop on a frame: each segment in the frame's Ethernet
 * header (tagged here); a frame that carries no IP datagram is refused. */
static int frame_piece(void *ctx, const struct glan_dgram *d)
{
    unsigned *n = ctx;
    ck_assert_uint_eq(d->family, GLAN_AF_MAC);
    ck_assert_uint_eq(get16(d->data + 12), 0x8100);
    ck_assert_uint_eq(get16(d->data + 16), ET_IPV6);
    ck_assert(l4_ok(d->data + 18, d->len - 18));
    ck_assert_uint_eq(get32(d->data + 18 + 40 + 4), 5 + *n * 1000);
    (*n)++;
    return 0;
}

START_TEST(each_cuts_frames)
{
    static const uint8_t m1[6] = {2, 0, 0, 0, 0, 1}, m2[6] = {2, 0, 0, 0, 0, 2};
    static uint8_t f[GLAN_OFFLOAD_ETH_MAX + 8000];
    size_t hl = dg_eth(f, m1, m2, ET_IPV6, 7);
    size_t n = hl + tcp_dgram(f + hl, 1, 4500, 5, 0x18);
    struct glan_offload_state st;
    memset(&st, 0, sizeof st);
    struct glan_dgram d = {.data = f,
                           .len = (uint32_t)n,
                           .family = GLAN_AF_MAC,
                           .offload = GLAN_OFFLOAD_TSO | GLAN_OFFLOAD_CSUM,
                           .mss = 1000};
    unsigned got = 0;
    ck_assert_int_eq(glan_offload_each(&st, &d, frame_piece, &got), 0);
    ck_assert_uint_eq(got, 5);
    ck_assert_uint_eq(st.segments, 5);
    set16(f + 16, 0x0806);
    ck_assert_int_eq(glan_offload_each(&st, &d, frame_piece, &got), -EINVAL);
    d.len = 10;
    ck_assert_int_eq(glan_offload_each(&st, &d, frame_piece, &got), -EINVAL);
    ck_assert_uint_eq(st.bad, 2);
    glan_offload_state_free(&st);
}
END_TEST

Suite *offload_suite(void)
{
    Suite *s = suite_create("offload");
    TCase *tc = tcase_create("offload");
    tcase_add_test(tc, segment_ipv4);
    tcase_add_test(tc, segment_ipv6);
    tcase_add_test(tc, complete_tcp_udp);
    tcase_add_test(tc, udp_zero_rule);
    tcase_add_test(tc, hostile);
    tcase_add_test(tc, each_resumes);
    tcase_add_test(tc, uplink_gets_segments);
    suite_add_tcase(s, tc);
    TCase *dev = tcase_create("device");
    tcase_add_checked_fixture(dev, osa_setup, osa_teardown);
    tcase_add_test(dev, osa_assists);
    tcase_add_test(dev, osa_checksums);
    tcase_add_test(dev, osa_tso4);
    tcase_add_test(dev, osa_tso6);
    tcase_add_test(dev, osa_tso_hostile);
    suite_add_tcase(s, dev);
    TCase *l2 = tcase_create("layer2");
    tcase_add_checked_fixture(l2, l2_setup, l2_teardown);
    tcase_add_test(l2, l2_assists);
    tcase_add_test(l2, l2_checksums);
    tcase_add_test(l2, l2_tso4);
    tcase_add_test(l2, l2_tso6);
    tcase_add_test(l2, l2_tso_vlan);
    tcase_add_test(l2, l2_tso_hostile);
    suite_add_tcase(s, l2);
    tcase_add_test(tc, each_cuts_frames);
    return s;
}
