/*
 * A hostile guest against the OSA device model: SBALEs outside storage,
 * zero and huge lengths, no LAST_ENTRY, headers across elements, unknown
 * header ids, bad QDRs and keys, malformed MPC and IPA blocks, and random
 * SBALs and control blocks.  Each gets an error state or a unit check and a
 * counter; none crashes, hangs or reaches outside guest storage (run under
 * GLAN_SANITIZE=ON to prove the last).  Random cases print their seed and
 * take it back from GLAN_SEED.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guestlan/base.h"
#include "guestlan/osa.h"
#include "guestlan/osa_wire.h"
#include "osa_fixture.h"
#include "guestlan/simguest.h"

static struct glan_lan *lan;
static struct simguest *a, *b;
static struct sg_rx rx[64];

static void setup(void)
{
    lan = osa_fixture_lan("osahostile");
    static const char *const aa[] = {"10.1.0.1", NULL};
    static const char *const ba[] = {"10.1.0.2", NULL};
    osa_fixture_pair(lan, aa, ba, &a, &b);
}

static void teardown(void)
{
    glan_sg_destroy(a);
    glan_sg_destroy(b);
    glan_lan_destroy(lan);
}

/* Prime the next output buffer of a with what fill() put in its SBAL. */
static uint8_t prime(struct simguest *g, void (*fill)(struct simguest *, struct sbal *, uint64_t))
{
    unsigned i = g->out_next;
    struct sbal *s = glan_sg_ptr(g, g->sbal[1 + SG_TX_QUEUE][i]);
    memset(s, 0, sizeof *s);
    fill(g, s, g->out_pages + (uint64_t)i * 4 * 4096);
    uint8_t *slsb = glan_sg_ptr(g, g->slsb[1 + SG_TX_QUEUE]);
    slsb[i] = SLSB_CU_OUTPUT_PRIMED;
    g->out_next = qdio_next(i);
    ck_assert_int_eq(glan_osa_siga_w(g->osa, 0x80000000u >> SG_TX_QUEUE), 0);
    return slsb[i];
}

/* A good header + datagram at page, described by element 0 (and LAST). */
static uint32_t put_pkt(struct simguest *g, uint64_t page, uint8_t id, uint16_t hlen)
{
    uint8_t d[200];
    size_t n = glan_sg_udp4(d, "10.1.0.1", "10.1.0.2", 40, 0x42);
    struct qeth_hdr_l3 h;
    memset(&h, 0, sizeof h);
    h.id = id;
    h.flags = QETH_CAST_UNICAST;
    put16(h.length, hlen ? hlen : (uint16_t)n);
    memcpy(glan_sg_ptr(g, page), &h, sizeof h);
    memcpy(glan_sg_ptr(g, page + 32), d, n);
    return (uint32_t)(32 + n);
}

static void fill_outside(struct simguest *g, struct sbal *s, uint64_t page)
{
    (void)page;
    put64(s->element[0].addr, g->host.size + 4096);
    put32(s->element[0].length, 100);
    s->element[0].eflags = SBAL_EFLAGS_LAST_ENTRY;
}

static void fill_straddle_end(struct simguest *g, struct sbal *s, uint64_t page)
{
    (void)page;
    put64(s->element[0].addr, g->host.size - 16);
    put32(s->element[0].length, 64);
    s->element[0].eflags = SBAL_EFLAGS_LAST_ENTRY;
}

static void fill_zero_len(struct simguest *g, struct sbal *s, uint64_t page)
{
    put64(s->element[0].addr, page);
    put32(s->element[0].length, put_pkt(g, page, QETH_HEADER_TYPE_LAYER3, 0));
    put16((uint8_t *)glan_sg_ptr(g, page) + 8, 0);
    s->element[0].eflags = SBAL_EFLAGS_LAST_ENTRY;
}

static void fill_huge_elem(struct simguest *g, struct sbal *s, uint64_t page)
{
    put_pkt(g, page, QETH_HEADER_TYPE_LAYER3, 0);
    put64(s->element[0].addr, page);
    put32(s->element[0].length, 0xfffffff0u);
    s->element[0].eflags = SBAL_EFLAGS_LAST_ENTRY;
}

static void fill_no_last(struct simguest *g, struct sbal *s, uint64_t page)
{
    for (int e = 0; e < 16; e++) {
        put64(s->element[e].addr, page);
        put32(s->element[e].length, 0);
    }
    put32(s->element[0].length, put_pkt(g, page, QETH_HEADER_TYPE_LAYER3, 0));
}

static void fill_hdr_across(struct simguest *g, struct sbal *s, uint64_t page)
{
    uint32_t n = put_pkt(g, page, QETH_HEADER_TYPE_LAYER3, 0);
    put64(s->element[0].addr, page);
    put32(s->element[0].length, 16);
    put64(s->element[1].addr, page + 16);
    put32(s->element[1].length, n - 16);
    s->element[1].eflags = SBAL_EFLAGS_LAST_ENTRY;
}

/* A TSO header without its extension: the 32 bytes it needs and the
 * datagram run past the buffer's end. */
static void fill_tso(struct simguest *g, struct sbal *s, uint64_t page)
{
    put64(s->element[0].addr, page);
    put32(s->element[0].length, put_pkt(g, page, QETH_HEADER_TYPE_L3_TSO, 0));
    s->element[0].eflags = SBAL_EFLAGS_LAST_ENTRY;
}

static void fill_short_data(struct simguest *g, struct sbal *s, uint64_t page)
{
    put64(s->element[0].addr, page);
    put_pkt(g, page, QETH_HEADER_TYPE_LAYER3, 3000);
    put32(s->element[0].length, 100);
    s->element[0].eflags = SBAL_EFLAGS_LAST_ENTRY;
}

static void fill_good(struct simguest *g, struct sbal *s, uint64_t page)
{
    put64(s->element[0].addr, page);
    put32(s->element[0].length, put_pkt(g, page, QETH_HEADER_TYPE_LAYER3, 0));
    s->element[0].eflags = SBAL_EFLAGS_LAST_ENTRY;
}

START_TEST(bad_output_buffers)
{
    static void (*const bad[])(struct simguest *, struct sbal *, uint64_t) = {
        fill_outside, fill_straddle_end, fill_zero_len, fill_huge_elem,
        fill_no_last, fill_hdr_across,   fill_tso,      fill_short_data,
    };
    size_t nbad = sizeof bad / sizeof bad[0];
    for (size_t k = 0; k < nbad; k++) {
        struct glan_osa_stats st0, st1;
        glan_osa_get_stats(a->osa, &st0);
        ck_assert_msg(prime(a, bad[k]) == SLSB_P_OUTPUT_ERROR, "case %zu", k);
        glan_osa_get_stats(a->osa, &st1);
        ck_assert_uint_eq(st1.out_errors - st0.out_errors, 1);
    }
    /* The device goes on: a good buffer after all that is sent.  b also
     * got the good datagram that preceded the fault in the no-LAST_ENTRY
     * buffer: what was sent before a fault stays sent.  (An element over
     * 64 KiB fails the buffer before anything is sent.) */
    ck_assert_int_eq(prime(a, fill_good), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_recv(b, rx, 64), 2);
    struct glan_osa_stats st;
    glan_osa_get_stats(a->osa, &st);
    ck_assert_uint_ge(st.out_bad_header, 2);
    ck_assert_uint_gt(a->host.mem_faults, 0);
}
END_TEST

START_TEST(bad_input_buffer)
{
    /* b's next input buffer points outside its storage: marked 0x8F, the
     * datagram is dropped as a port error, the next buffer works. */
    struct sbal *s = glan_sg_ptr(b, b->sbal[0][b->in_next]);
    put64(s->element[0].addr, b->host.size - 8);
    uint8_t d[200];
    size_t n = glan_sg_udp4(d, "10.1.0.1", "10.1.0.2", 100, 7);
    struct sg_pkt p = {.flags = QETH_CAST_UNICAST, .data = d, .len = (uint32_t)n};
    ck_assert_int_eq(glan_sg_send(a, &p, 1, 0), SLSB_P_OUTPUT_EMPTY);
    uint8_t *slsb = glan_sg_ptr(b, b->slsb[0]);
    ck_assert_int_eq(slsb[b->in_next], SLSB_P_INPUT_ERROR);
    struct glan_osa_stats st;
    glan_osa_get_stats(b->osa, &st);
    ck_assert_uint_eq(st.in_errors, 1);
    struct glan_port_stats ps;
    glan_port_stats(glan_osa_port(a->osa), &ps);
    ck_assert_uint_eq(ps.dropped[GLAN_DROP_PORT_ERROR], 1);
    ck_assert_int_eq(glan_sg_recv(b, rx, 64), 0);
    ck_assert_int_eq(glan_sg_send(a, &p, 1, 0), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_recv(b, rx, 64), 1);
}
END_TEST

START_TEST(input_element_lengths_hostile)
{
    /* Elements of length 0 and 8 (no room for a header) then one big one;
     * and a buffer whose every element is tiny: the datagram is too big
     * for it and is dropped, counted. */
    struct sbal *s = glan_sg_ptr(b, b->sbal[0][b->in_next]);
    put32(s->element[0].length, 0);
    put32(s->element[1].length, 8);
    uint8_t d[3000];
    size_t n = glan_sg_udp4(d, "10.1.0.1", "10.1.0.2", 2000, 9);
    struct sg_pkt p = {.flags = QETH_CAST_UNICAST, .data = d, .len = (uint32_t)n};
    ck_assert_int_eq(glan_sg_send(a, &p, 1, 0), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_recv(b, rx, 64), 1);
    ck_assert_int_eq(memcmp(rx[0].data, d, n), 0);
    s = glan_sg_ptr(b, b->sbal[0][b->in_next]);
    for (int e = 0; e < 16; e++)
        put32(s->element[e].length, 40);
    ck_assert_int_eq(glan_sg_send(a, &p, 1, 0), SLSB_P_OUTPUT_EMPTY);
    struct glan_osa_stats st;
    glan_osa_get_stats(b->osa, &st);
    ck_assert_uint_eq(st.in_too_big, 1);
}
END_TEST

static int equeue(struct simguest *g, void *qdr, uint32_t count)
{
    struct glan_osa_io io;
    ck_assert_int_eq(glan_sg_ccw(g, g->dt, CCW_CMD_EQUEUE, GLAN_OSA_CCW_SLI, qdr, count, &io),
                     GLAN_OSA_DONE);
    return io.unitstat;
}

START_TEST(bad_qdr)
{
    /* Up to ULP SETUP, ready for a hostile ESTABLISH QUEUES. */
    struct simguest *g = osa_fixture_half_up(lan, "0800", 0x0800);
    uint8_t q[4096];
    memset(q, 0, sizeof q);
    struct qdr *qdr = (struct qdr *)q;
    qdr->iqdcnt = 0;
    qdr->oqdcnt = 4;
    qdr->iqdsz = qdr->oqdsz = 8;
    ck_assert(equeue(g, q, 4096) & GLAN_OSA_US_UC);
    qdr->iqdcnt = 1;
    qdr->oqdcnt = 200;
    ck_assert(equeue(g, q, 4096) & GLAN_OSA_US_UC);
    qdr->oqdcnt = 4;
    qdr->iqdsz = 1; /* descriptors shorter than format 0 */
    ck_assert(equeue(g, q, 4096) & GLAN_OSA_US_UC);
    qdr->iqdsz = 8;
    ck_assert(equeue(g, q, 32) & GLAN_OSA_US_UC); /* truncated */
    qdr->qfmt = 2;
    ck_assert(equeue(g, q, 4096) & GLAN_OSA_US_UC);
    qdr->qfmt = 0;
    put64(qdr->qiba, 0xfffffffffffff000ull); /* QIB outside storage */
    for (int i = 0; i < 5; i++)
        put64(qdr->qdf0[i].slsba, 0x7fffffffffffffffull);
    ck_assert(equeue(g, q, 4096) & GLAN_OSA_US_UC);
    /* ACTIVATE QUEUES without queues: unit check, not a hang. */
    struct glan_osa_io io;
    ck_assert_int_eq(glan_sg_ccw(g, g->dt, CCW_CMD_AQUEUE, 0, NULL, 0, &io), GLAN_OSA_DONE);
    ck_assert(io.unitstat & GLAN_OSA_US_UC);
    /* Protected storage: the frames have key 0, the QDR says key 5; the
     * store into the QIB is refused. */
    g->qkeys = 0x50;
    ck_assert_int_ne(glan_sg_establish(g), 0);
    g->qkeys = 0x00;
    ck_assert_int_eq(glan_sg_establish(g), 0);
    glan_sg_destroy(g);
}
END_TEST

START_TEST(storage_keys_honoured)
{
    /* With every frame key 6 and the queues described with key 6 the
     * adapter works; the test host refuses other keys. */
    struct simguest *g = glan_sg_create(lan, "0900", 0x0900);
    memset(g->host.keys, 6, sizeof g->host.keys);
    g->qkeys = 0x60;
    static const char *const addrs[] = {"10.1.0.9", NULL};
    ck_assert_int_eq(glan_sg_bringup(g, addrs), 0);
    uint8_t d[200];
    size_t n = glan_sg_udp4(d, "10.1.0.1", "10.1.0.9", 100, 7);
    struct sg_pkt p = {.flags = QETH_CAST_UNICAST, .data = d, .len = (uint32_t)n};
    ck_assert_int_eq(glan_sg_send(a, &p, 1, 0), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_recv(g, rx, 64), 1);
    glan_sg_destroy(g);
}
END_TEST

START_TEST(malformed_control_blocks)
{
    uint8_t blk[4096];
    struct glan_osa_io io;
    struct glan_osa_stats st0, st1;
    glan_osa_get_stats(a->osa, &st0);
    /* Too short, wrong RRH offset, lengths beyond the CCW, bad PH. */
    memset(blk, 0, sizeof blk);
    put32(blk, 0x00e00000);
    ck_assert_int_eq(glan_sg_ccw(a, a->wr, CCW_CMD_WRITE, 0, blk, 8, &io), GLAN_OSA_DONE);
    ck_assert(io.unitstat & GLAN_OSA_US_UC);
    put32(blk + 8, 0x99);
    put32(blk + 12, 0x80);
    ck_assert_int_eq(glan_sg_ccw(a, a->wr, CCW_CMD_WRITE, 0, blk, 0x80, &io), GLAN_OSA_DONE);
    ck_assert(io.unitstat & GLAN_OSA_US_UC);
    put32(blk + 8, 0x14);
    put32(blk + 12, 0x10000);
    ck_assert_int_eq(glan_sg_ccw(a, a->wr, CCW_CMD_WRITE, 0, blk, 0x80, &io), GLAN_OSA_DONE);
    ck_assert(io.unitstat & GLAN_OSA_US_UC);
    /* An IPA block with no room for its header: no reply, no crash. */
    put32(blk + 12, 0x40);
    put16(blk + 0x24, 0x24);
    put32(blk + 0x3c, 0x40);
    blk[0x18] = RRH_TYPE_IPA;
    ck_assert_int_eq(glan_sg_ccw(a, a->wr, CCW_CMD_WRITE, 0, blk, 0x40, &io), GLAN_OSA_DONE);
    /* IDX with a short block, an unknown type, another port. */
    memset(blk, 0, 64);
    put32(blk, 0x00008000);
    ck_assert_int_eq(glan_sg_ccw(a, a->dt, CCW_CMD_WRITE, 0, blk, 12, &io), GLAN_OSA_DONE);
    ck_assert(io.unitstat & GLAN_OSA_US_UC);
    glan_osa_get_stats(a->osa, &st1);
    ck_assert_uint_ge(st1.mpc_bad - st0.mpc_bad, 4);
    /* SETIP with its address cut off. */
    ck_assert_int_eq(glan_sg_ipa(a, IPA_CMD_SETIP, IPA_PROT_IPV6, "\x01\x02", 2, NULL, NULL),
                     IPA_RC_INVALID_FORMAT);
    ck_assert_int_eq(
        glan_sg_ipa(a, IPA_CMD_SETIP, 9, "\x01\x02\x03\x04\0\0\0\0\0\0\0\0", 12, NULL, NULL),
        IPA_RC_INVALID_FORMAT);
    ck_assert_int_eq(glan_sg_ipa(a, IPA_CMD_SETADAPTERPARMS, 4, NULL, 0, NULL, NULL),
                     IPA_RC_INVALID_FORMAT);
    /* The interface still works. */
    ck_assert_int_eq(glan_sg_setip(a, "10.1.0.77", 0), 0);
}
END_TEST

static unsigned seed_of(void)
{
    const char *e = getenv("GLAN_SEED");
    unsigned s = e ? (unsigned)strtoul(e, NULL, 0) : (unsigned)time(NULL);
    fprintf(stderr, "osa_hostile: GLAN_SEED=%u\n", s);
    return s;
}

static unsigned rnd(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static unsigned rseed;

static void fill_random(struct simguest *g, struct sbal *s, uint64_t page)
{
    uint8_t *raw = (uint8_t *)s;
    for (int i = 0; i < 256; i++)
        raw[i] = (uint8_t)rnd(&rseed);
    for (int e = 0; e < 16; e++) {
        unsigned how = rnd(&rseed) % 8;
        if (how < 5) { /* mostly plausible: inside the buffer's pages */
            put64(s->element[e].addr, page + rnd(&rseed) % (4 * 4096));
            put32(s->element[e].length, rnd(&rseed) % 5000);
        } else if (how == 5) {
            put64(s->element[e].addr, g->host.size - rnd(&rseed) % 64);
        }
        s->element[e].eflags &= (uint8_t)(rnd(&rseed) % 4 ? ~SBAL_EFLAGS_LAST_ENTRY : 0xff);
    }
    uint8_t *p = glan_sg_ptr(g, page);
    for (int i = 0; i < 4 * 4096; i += 4) {
        unsigned r = rnd(&rseed);
        memcpy(p + i, &r, 4);
    }
    /* Sprinkle plausible headers. */
    for (int k = 0; k < 6; k++) {
        uint8_t *h = p + rnd(&rseed) % (4 * 4096 - 64);
        h[0] = 0x01;
        h[1] = (uint8_t)rnd(&rseed);
        put16(h + 8, (uint16_t)(rnd(&rseed) % 1600));
    }
}

START_TEST(random_output_buffers)
{
    rseed = seed_of();
    for (int i = 0; i < 3000; i++) {
        uint8_t st = prime(a, fill_random);
        ck_assert(st == SLSB_P_OUTPUT_EMPTY || st == SLSB_P_OUTPUT_ERROR);
        if (i % 64 == 0)
            glan_sg_recv(b, rx, 64);
    }
    struct glan_port_stats ps;
    glan_port_stats(glan_osa_port(a->osa), &ps);
    uint64_t dropped = 0;
    for (int r = 0; r < GLAN_DROP_COUNT; r++)
        dropped += ps.dropped[r];
    ck_assert_uint_eq(ps.sent_packets + ps.fanout, ps.delivered + dropped + ps.queued);
}
END_TEST

START_TEST(random_control_blocks)
{
    unsigned s = seed_of();
    uint8_t blk[4096];
    for (int i = 0; i < 5000; i++) {
        size_t len = 4 + rnd(&s) % 300;
        for (size_t k = 0; k < len; k++)
            blk[k] = (uint8_t)rnd(&s);
        switch (rnd(&s) % 3) {
        case 0: /* a plausible MPC frame with random insides */
            put32(blk, 0x00e00000);
            put32(blk + 8, 0x14);
            put32(blk + 12, (uint32_t)len);
            put16(blk + 0x24, 0x24);
            put32(blk + 0x3c, 0x40);
            if (rnd(&s) & 1)
                blk[0x18] = RRH_TYPE_IPA;
            break;
        case 1:
            put32(blk, 0x00008000);
            break;
        default:
            break;
        }
        struct glan_osa_io io;
        unsigned slot = rnd(&s) % 3 == 0 ? a->dt : a->wr;
        int rc = glan_sg_ccw(a, slot, CCW_CMD_WRITE, 0, blk, (uint32_t)len, &io);
        ck_assert_int_eq(rc, GLAN_OSA_DONE);
        ck_assert(io.unitstat & GLAN_OSA_US_CE);
        /* Keep a READ outstanding so replies keep moving. */
        if (a->host.ended[a->rd] || a->read_ready) {
            a->host.ended[a->rd] = 0;
            glan_sg_start_read(a);
        }
    }
    /* Whatever happened, the group answers a fresh Sense ID. */
    ck_assert_int_eq(glan_sg_sense_id(a, a->rd), 0);
}
END_TEST

Suite *osa_hostile_suite(void)
{
    Suite *s = suite_create("osa_hostile");
    TCase *tc = tcase_create("hostile guest");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, bad_output_buffers);
    tcase_add_test(tc, bad_input_buffer);
    tcase_add_test(tc, input_element_lengths_hostile);
    tcase_add_test(tc, bad_qdr);
    tcase_add_test(tc, storage_keys_honoured);
    tcase_add_test(tc, malformed_control_blocks);
    tcase_add_test(tc, random_output_buffers);
    tcase_add_test(tc, random_control_blocks);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}
