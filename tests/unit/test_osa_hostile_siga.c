/*
 * A hostile guest against the OSA device's SIGA path (issue 15, item 7):
 * storage rewritten while the device walks it (at chosen points through the
 * test host's on_mem hook, and at random from a second thread), storage keys
 * and fetch protection on data pages and SLSBs, halt and clear racing a
 * SIGA-w on another thread, the bound on one SIGA's work (128 buffers of 16
 * elements of tiny datagrams), and output queues other than Linux's.  Every
 * case checks counters, what arrived and that the device made each SLSB
 * access with the ordering osa.h asks for (sg_host.unordered); run under
 * GLAN_SANITIZE=ON for the guarantee that nothing reads outside guest
 * storage.  The random case prints its seed and takes it from GLAN_SEED.
 */
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guestlan/base.h"
#include "guestlan/osa.h"
#include "guestlan/osa_wire.h"
#include "guestlan/simguest.h"
#include "osa_fixture.h"

static struct glan_lan *lan;
static struct simguest *a, *b;
static struct sg_rx rx[64];

static void setup(void)
{
    lan = osa_fixture_lan("osasiga");
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

/* ---- helpers ------------------------------------------------------------------- */

static uint8_t *slsb_of(struct simguest *g, unsigned q)
{
    return glan_sg_ptr(g, g->slsb[1 + q]);
}

static struct sbal *sbal_of(struct simguest *g, unsigned q, unsigned i)
{
    return glan_sg_ptr(g, g->sbal[1 + q][i]);
}

static uint8_t state(struct simguest *g, unsigned q, unsigned i)
{
    return __atomic_load_n(&slsb_of(g, q)[i], __ATOMIC_ACQUIRE);
}

static void set_st(struct simguest *g, unsigned q, unsigned i, uint8_t st)
{
    __atomic_store_n(&slsb_of(g, q)[i], st, __ATOMIC_RELEASE);
}

/* The first page of buffer i of the TX queue's pages (16 pages each). */
static uint64_t tx_page(struct simguest *g, unsigned i)
{
    return g->out_pages + (uint64_t)i * SG_OUT_PAGES * 4096;
}

/* A header and an IPv4/UDP datagram to b of `payload` bytes of `fill` at
 * guest address at; returns the bytes used. */
static uint32_t put_dgram(struct simguest *g, uint64_t at, size_t payload, uint8_t fill)
{
    uint8_t d[2048];
    size_t n = glan_sg_udp4(d, "10.1.0.1", "10.1.0.2", payload, fill);
    struct qeth_hdr_l3 h;
    memset(&h, 0, sizeof h);
    h.id = QETH_HEADER_TYPE_LAYER3;
    h.flags = QETH_CAST_UNICAST;
    put16(h.length, (uint16_t)n);
    memcpy(glan_sg_ptr(g, at), &h, sizeof h);
    memcpy(glan_sg_ptr(g, at + 32), d, n);
    return (uint32_t)(32 + n);
}

/* Buffer i of output queue q: one datagram at page, in one element. */
static void fill_one(struct simguest *g, unsigned q, unsigned i, uint64_t page, uint8_t fill)
{
    struct sbal *s = sbal_of(g, q, i);
    memset(s, 0, sizeof *s);
    put64(s->element[0].addr, page);
    put32(s->element[0].length, put_dgram(g, page, 40, fill));
    s->element[0].eflags = SBAL_EFLAGS_LAST_ENTRY;
}

/* Every datagram b can take now, SIGA-r after each batch; how many. */
static unsigned recv_all(struct simguest *g)
{
    unsigned n = 0;
    int k;
    while ((k = glan_sg_recv(g, rx, 64)) > 0)
        n += (unsigned)k;
    return n;
}

static uint64_t dropped_of(const struct glan_port_stats *ps)
{
    uint64_t d = 0;
    for (int r = 0; r < GLAN_DROP_COUNT; r++)
        d += ps->dropped[r];
    return d;
}

/* Every datagram g sent is delivered, dropped with a reason or waiting. */
static void check_accounting(struct simguest *g)
{
    struct glan_port_stats ps;
    glan_port_stats(glan_osa_port(g->osa), &ps);
    ck_assert_uint_eq(ps.sent_packets + ps.fanout, ps.delivered + dropped_of(&ps) + ps.queued);
}

static const uint32_t TXMASK = 0x80000000u >> SG_TX_QUEUE;

/* ---- the guest rewrites its storage while the device walks it ------------------ */

struct rewrite {
    struct simguest *g;
    unsigned i0;
    int at_sbal, at_data;
};

/* In the device's thread, just before its reads: at the SBAL read of buffer
 * i0 (the SLSB already read), another CPU of the guest breaks buffer i0 and
 * i0+1, takes back i0+2 (0xA1) and primes i0+4; at the header read of i0+3
 * (its SBAL already read) it points i0+3's element outside storage. */
static void rewrite_hook(void *arg, uint64_t addr, size_t len, unsigned how)
{
    struct rewrite *r = arg;
    struct simguest *g = r->g;
    unsigned i0 = r->i0;
    (void)how;
    if (!r->at_sbal && addr == g->sbal[1 + SG_TX_QUEUE][i0] && len == sizeof(struct sbal)) {
        r->at_sbal = 1;
        put64(sbal_of(g, SG_TX_QUEUE, i0)->element[0].addr, g->host.size + 4096);
        put16((uint8_t *)glan_sg_ptr(g, tx_page(g, i0 + 1)) + 8, 3000);
        set_st(g, SG_TX_QUEUE, i0 + 2, SLSB_P_OUTPUT_EMPTY);
        fill_one(g, SG_TX_QUEUE, i0 + 4, tx_page(g, i0 + 4), 0x44);
        set_st(g, SG_TX_QUEUE, i0 + 4, SLSB_CU_OUTPUT_PRIMED);
    }
    if (!r->at_data && addr == tx_page(g, i0 + 3) && len == QETH_HDR_LEN) {
        r->at_data = 1;
        struct sbal *s = sbal_of(g, SG_TX_QUEUE, i0 + 3);
        put64(s->element[0].addr, g->host.size - 8);
        put32(s->element[0].length, 0xfffffff0u);
    }
}

START_TEST(guest_rewrites_mid_walk)
{
    unsigned i0 = a->out_next;
    ck_assert_uint_lt(i0 + 5, 128);
    for (unsigned k = 0; k < 4; k++)
        fill_one(a, SG_TX_QUEUE, i0 + k, tx_page(a, i0 + k), (uint8_t)(0x40 + k));
    for (unsigned k = 0; k < 4; k++)
        set_st(a, SG_TX_QUEUE, i0 + k, SLSB_CU_OUTPUT_PRIMED);
    struct rewrite r = {.g = a, .i0 = i0};
    a->host.on_mem = rewrite_hook;
    a->host.on_mem_arg = &r;
    struct glan_osa_stats st0, st1;
    glan_osa_get_stats(a->osa, &st0);
    unsigned faults0 = a->host.mem_faults;
    ck_assert_int_eq(glan_osa_siga_w(a->osa, TXMASK), 0);
    ck_assert(r.at_sbal && r.at_data);
    /* i0 read outside storage and i0+1 ran past its element: both failed,
     * counted; i0+2 was primed when the device read the SLSB, so it went;
     * i0+3 went as its SBAL read before the change said; i0+4 was primed
     * after the SLSB was read, with no SIGA, and the walk's second look
     * before it ended found it (a guest that tacks on, out_queue). */
    ck_assert_uint_eq(state(a, SG_TX_QUEUE, i0), SLSB_P_OUTPUT_ERROR);
    ck_assert_uint_eq(state(a, SG_TX_QUEUE, i0 + 1), SLSB_P_OUTPUT_ERROR);
    ck_assert_uint_eq(state(a, SG_TX_QUEUE, i0 + 2), SLSB_P_OUTPUT_EMPTY);
    ck_assert_uint_eq(state(a, SG_TX_QUEUE, i0 + 3), SLSB_P_OUTPUT_EMPTY);
    ck_assert_uint_eq(state(a, SG_TX_QUEUE, i0 + 4), SLSB_P_OUTPUT_EMPTY);
    glan_osa_get_stats(a->osa, &st1);
    ck_assert_uint_eq(st1.out_errors - st0.out_errors, 2);
    ck_assert_uint_eq(st1.out_buffers - st0.out_buffers, 5);
    ck_assert_uint_eq(st1.out_packets - st0.out_packets, 3);
    ck_assert_uint_eq(st1.out_tacked - st0.out_tacked, 1);
    ck_assert_uint_eq(a->host.mem_faults - faults0, 1);
    ck_assert_int_eq(glan_sg_recv(b, rx, 64), 3);
    ck_assert_uint_eq(rx[0].data[28], 0x42);
    ck_assert_uint_eq(rx[1].data[28], 0x43);
    ck_assert_uint_eq(rx[2].data[28], 0x44);
    a->host.on_mem = NULL;
    /* nothing is left for the next SIGA */
    ck_assert_int_eq(glan_osa_siga_w(a->osa, TXMASK), 0);
    ck_assert_int_eq(glan_sg_recv(b, rx, 64), 0);
    check_accounting(a);
    ck_assert_uint_eq(a->host.unordered, 0);
    ck_assert_uint_eq(b->host.unordered, 0);
}
END_TEST

/* ---- ... and at random, from another thread, during SIGA ---------------------- */

static unsigned rnd(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

struct flipper {
    struct simguest *g;
    int stop;
    unsigned seed;
    unsigned long flips;
};

/* Guest storage is shared with the device by design: store byte by byte,
 * atomically, as another CPU of the guest would. */
static void poke(struct simguest *g, uint64_t addr, const void *v, size_t n)
{
    uint8_t *p = glan_sg_ptr(g, addr);
    for (size_t k = 0; k < n; k++)
        __atomic_store_n(p + k, ((const uint8_t *)v)[k], __ATOMIC_RELAXED);
}

static void *flip_main(void *arg)
{
    struct flipper *f = arg;
    struct simguest *g = f->g;
    static const uint8_t states[] = {SLSB_CU_OUTPUT_PRIMED,
                                     SLSB_P_OUTPUT_EMPTY,
                                     SLSB_P_OUTPUT_ERROR,
                                     SLSB_P_OUTPUT_NOT_INIT,
                                     0x00,
                                     0xff};
    while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE)) {
        unsigned r = rnd(&f->seed), i = r % 128, e = (r >> 7) % 16;
        uint64_t sb = g->sbal[1 + SG_TX_QUEUE][i] + (uint64_t)e * 16;
        uint8_t v8[8];
        switch (rnd(&f->seed) % 6) {
        case 0:
            poke(g, g->slsb[1 + SG_TX_QUEUE] + i, &states[rnd(&f->seed) % sizeof states], 1);
            break;
        case 1: { /* an address: in the buffer's pages, at the end, far out */
            uint64_t at = rnd(&f->seed) % 3 == 0   ? g->host.size - rnd(&f->seed) % 64
                          : rnd(&f->seed) % 2 == 0 ? ~0ull - rnd(&f->seed) % 4096
                                                   : tx_page(g, i) + rnd(&f->seed) % 8192;
            put64(v8, at);
            poke(g, sb + 8, v8, 8);
            break;
        }
        case 2: { /* a length: zero, small, an element's worth, huge */
            static const uint32_t lens[] = {0, 7, 31, 33, 100, 4096, 65536, 65537, 0xffffffffu};
            put32(v8, lens[rnd(&f->seed) % (sizeof lens / sizeof lens[0])]);
            poke(g, sb + 4, v8, 4);
            break;
        }
        case 3: /* LAST_ENTRY on or off */
            v8[0] = rnd(&f->seed) % 2 ? SBAL_EFLAGS_LAST_ENTRY : 0;
            poke(g, sb, v8, 1);
            break;
        case 4: /* the header's id or length */
            put16(v8, (uint16_t)rnd(&f->seed));
            poke(g, tx_page(g, i) + (rnd(&f->seed) % 2 ? 0 : 8), v8, 2);
            break;
        default: /* datagram bytes */
            v8[0] = (uint8_t)rnd(&f->seed);
            poke(g, tx_page(g, i) + 32 + rnd(&f->seed) % 68, v8, 1);
            break;
        }
        __atomic_fetch_add(&f->flips, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static unsigned seed_of(void)
{
    const char *e = getenv("GLAN_SEED");
    unsigned s = e ? (unsigned)strtoul(e, NULL, 0) : (unsigned)time(NULL);
    fprintf(stderr, "osa_hostile_siga: GLAN_SEED=%u\n", s);
    return s;
}

START_TEST(guest_flips_while_siga_runs)
{
    struct flipper f = {.g = a, .seed = seed_of()};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, flip_main, &f), 0);
    unsigned long iters = 0;
    unsigned got = 0;
    /* At least 3000 SIGAs, and on until the other thread has flipped 3000
     * times, so the two really overlap; bounded either way. */
    while (iters < 200000 && (iters < 3000 || __atomic_load_n(&f.flips, __ATOMIC_RELAXED) < 3000)) {
        unsigned i = a->out_next;
        fill_one(a, SG_TX_QUEUE, i, tx_page(a, i), (uint8_t)iters);
        set_st(a, SG_TX_QUEUE, i, SLSB_CU_OUTPUT_PRIMED);
        a->out_next = qdio_next(i);
        ck_assert_int_eq(glan_osa_siga_w(a->osa, iters % 7 ? TXMASK : 0xf0000000u), 0);
        glan_sg_pump(a);
        if (++iters % 32 == 0)
            got += recv_all(b);
    }
    __atomic_store_n(&f.stop, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    got += recv_all(b);
    struct glan_osa_stats st;
    glan_osa_get_stats(a->osa, &st);
    ck_assert_uint_gt(st.out_buffers, 0);
    struct glan_port_stats ps;
    glan_port_stats(glan_osa_port(a->osa), &ps);
    ck_assert_uint_eq(ps.queued, 0);
    ck_assert_uint_eq(got, ps.delivered);
    check_accounting(a);
    /* Whatever the walk met, the device goes on: 128 good buffers, wherever
     * its ring position stands, all go (16 a SIGA, the rest resumed). */
    for (unsigned i = 0; i < 128; i++)
        fill_one(a, SG_TX_QUEUE, i, tx_page(a, i), 0x77);
    for (unsigned i = 0; i < 128; i++)
        set_st(a, SG_TX_QUEUE, i, SLSB_CU_OUTPUT_PRIMED);
    ck_assert_int_eq(glan_osa_siga_w(a->osa, TXMASK), 0);
    unsigned more = 0;
    while (glan_sg_pump(a))
        more += recv_all(b);
    more += recv_all(b);
    ck_assert_uint_eq(more, 128);
    for (unsigned i = 0; i < 128; i++)
        ck_assert_uint_eq(state(a, SG_TX_QUEUE, i), SLSB_P_OUTPUT_EMPTY);
    ck_assert_uint_eq(a->host.unordered, 0);
    fprintf(stderr, "osa_hostile_siga: %lu SIGAs against %lu flips, %llu buffers failed\n", iters,
            f.flips, (unsigned long long)st.out_errors);
}
END_TEST

/* ---- storage keys and fetch protection ---------------------------------------------- */

static void set_keys(struct simguest *g, uint64_t addr, size_t len, uint8_t key)
{
    for (uint64_t f = addr / 4096; f <= (addr + len - 1) / 4096; f++)
        g->host.keys[f] = key;
}

START_TEST(keys_on_data_pages)
{
    /* A guest whose storage and queues all have key 5. */
    struct simguest *k = glan_sg_create(lan, "0900", 0x0900);
    memset(k->host.keys, 5, sizeof k->host.keys);
    k->qkeys = 0x50;
    static const char *const addrs[] = {"10.1.0.9", NULL};
    ck_assert_int_eq(glan_sg_bringup(k, addrs), 0);
    uint8_t d[200];
    size_t n = glan_sg_udp4(d, "10.1.0.9", "10.1.0.2", 60, 9);
    struct sg_pkt p = {.flags = QETH_CAST_UNICAST, .data = d, .len = (uint32_t)n};
    struct glan_osa_stats st0, st1;

    /* Output data in fetch-protected key-3 frames: refused, 0xAF, counted. */
    glan_osa_get_stats(k->osa, &st0);
    unsigned kf0 = k->host.key_faults;
    set_keys(k, tx_page(k, k->out_next), SG_OUT_PAGES * 4096, 3 | SG_KEY_FETCH);
    ck_assert_int_eq(glan_sg_send(k, &p, 1, 0), SLSB_P_OUTPUT_ERROR);
    glan_osa_get_stats(k->osa, &st1);
    ck_assert_uint_eq(st1.out_errors - st0.out_errors, 1);
    ck_assert_uint_eq(st1.out_packets - st0.out_packets, 0);
    ck_assert_uint_gt(k->host.key_faults, kf0);
    ck_assert_int_eq(glan_sg_recv(b, rx, 64), 0);
    /* Key 3 without fetch protection: key 5 may fetch, the datagram goes. */
    set_keys(k, tx_page(k, k->out_next), SG_OUT_PAGES * 4096, 3);
    ck_assert_int_eq(glan_sg_send(k, &p, 1, 0), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_recv(b, rx, 64), 1);

    /* Input pages in key-3 frames: the device may not store there: 0x8F,
     * the datagram dropped and counted at the sender's port. */
    struct glan_port_stats ps0, ps1;
    glan_port_stats(glan_osa_port(a->osa), &ps0);
    uint64_t in_pages = k->in_pages + (uint64_t)(k->in_next % SG_IN_BUFS) * 16 * 4096;
    set_keys(k, in_pages, 16 * 4096, 3);
    n = glan_sg_udp4(d, "10.1.0.1", "10.1.0.9", 60, 9);
    p.len = (uint32_t)n;
    glan_osa_get_stats(k->osa, &st0);
    ck_assert_int_eq(glan_sg_send(a, &p, 1, 0), SLSB_P_OUTPUT_EMPTY);
    glan_osa_get_stats(k->osa, &st1);
    ck_assert_uint_eq(st1.in_errors - st0.in_errors, 1);
    ck_assert_uint_eq(slsb_of(k, 0)[0] == 0 ? 0 : 1, 1);
    uint8_t *kin = glan_sg_ptr(k, k->slsb[0]);
    ck_assert_uint_eq(kin[k->in_next], SLSB_P_INPUT_ERROR);
    glan_port_stats(glan_osa_port(a->osa), &ps1);
    ck_assert_uint_eq(ps1.dropped[GLAN_DROP_PORT_ERROR] - ps0.dropped[GLAN_DROP_PORT_ERROR], 1);
    set_keys(k, in_pages, 16 * 4096, 5);
    ck_assert_int_eq(glan_sg_recv(k, rx, 64), 0); /* the 0x8F buffer handed back */
    ck_assert_int_eq(glan_sg_send(a, &p, 1, 0), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_recv(k, rx, 64), 1);

    /* The TX SLSB itself in a fetch-protected key-3 frame: the device
     * cannot see the primed state; counted, nothing sent, the buffer stays
     * the guest's primed one and goes once the key is right. */
    uint64_t slsb = k->slsb[1 + SG_TX_QUEUE];
    unsigned i = k->out_next;
    set_keys(k, slsb, 128, 3 | SG_KEY_FETCH);
    n = glan_sg_udp4(d, "10.1.0.9", "10.1.0.2", 60, 9);
    p.len = (uint32_t)n;
    glan_osa_get_stats(k->osa, &st0);
    ck_assert_int_eq(glan_sg_send(k, &p, 1, 0), SLSB_CU_OUTPUT_PRIMED);
    glan_osa_get_stats(k->osa, &st1);
    ck_assert_uint_ge(st1.slsb_refused - st0.slsb_refused, 1);
    ck_assert_uint_eq(st1.out_buffers - st0.out_buffers, 0);
    ck_assert_int_eq(glan_sg_recv(b, rx, 64), 0);
    set_keys(k, slsb, 128, 5);
    ck_assert_int_eq(glan_osa_siga_w(k->osa, TXMASK), 0);
    ck_assert_uint_eq(state(k, SG_TX_QUEUE, i), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_recv(b, rx, 64), 1);

    check_accounting(k);
    check_accounting(a);
    ck_assert_uint_eq(k->host.unordered, 0);
    glan_sg_destroy(k);
}
END_TEST

/* ---- halt and clear racing SIGA-w on another thread ---------------------------------- */

struct racer {
    int stop, pause, paused;
    unsigned long primed, cc1, received;
};

/* The guest's sending CPU: prime the next buffer and SIGA-w, over and over;
 * a buffer the device has not taken (queues halted) is left alone. */
static void *send_main(void *arg)
{
    struct racer *r = arg;
    while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
        if (__atomic_load_n(&r->pause, __ATOMIC_ACQUIRE)) {
            __atomic_store_n(&r->paused, 1, __ATOMIC_RELEASE);
            while (__atomic_load_n(&r->pause, __ATOMIC_ACQUIRE))
                sched_yield();
            __atomic_store_n(&r->paused, 0, __ATOMIC_RELEASE);
            continue;
        }
        unsigned i = a->out_next;
        if (state(a, SG_TX_QUEUE, i) == SLSB_CU_OUTPUT_PRIMED) {
            if (glan_osa_siga_w(a->osa, TXMASK) != 0)
                r->cc1++;
            sched_yield();
            continue;
        }
        fill_one(a, SG_TX_QUEUE, i, tx_page(a, i), (uint8_t)r->primed);
        set_st(a, SG_TX_QUEUE, i, SLSB_CU_OUTPUT_PRIMED);
        a->out_next = qdio_next(i);
        __atomic_fetch_add(&r->primed, 1, __ATOMIC_RELAXED);
        if (glan_osa_siga_w(a->osa, TXMASK) != 0)
            r->cc1++;
        glan_sg_pump(a);
        if (r->primed % 16 == 0)
            r->received += recv_all(b);
    }
    return NULL;
}

/* Buffers the device never took go back to the guest, as a driver takes
 * its buffers back after a halt; how many were still primed. */
static unsigned reclaim(struct simguest *g)
{
    unsigned n = 0;
    for (unsigned i = 0; i < 128; i++) {
        if (state(g, SG_TX_QUEUE, i) == SLSB_CU_OUTPUT_PRIMED)
            n++;
        set_st(g, SG_TX_QUEUE, i, SLSB_P_OUTPUT_NOT_INIT);
    }
    g->out_next = 0;
    return n;
}

START_TEST(halt_clear_during_siga)
{
    struct racer r = {0};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, send_main, &r), 0);
    unsigned long reclaimed = 0;
    for (int k = 0; k < 200; k++) {
        /* Let the sender get going, then halt or clear under it. */
        unsigned long seen = __atomic_load_n(&r.primed, __ATOMIC_RELAXED);
        while (__atomic_load_n(&r.primed, __ATOMIC_RELAXED) < seen + 5)
            sched_yield();
        if (k % 2)
            glan_osa_clear(a->osa, a->dt);
        else
            glan_osa_halt(a->osa, a->dt);
        /* The driver's recovery: stop its sender, take back what the device
         * did not take, establish and activate the queues again. */
        __atomic_store_n(&r.pause, 1, __ATOMIC_RELEASE);
        while (!__atomic_load_n(&r.paused, __ATOMIC_ACQUIRE))
            sched_yield();
        reclaimed += reclaim(a);
        ck_assert_int_eq(glan_sg_requeue(a), 0);
        __atomic_store_n(&r.pause, 0, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    reclaimed += reclaim(a);
    r.received += recv_all(b);
    struct glan_osa_stats st;
    glan_osa_get_stats(a->osa, &st);
    /* Every datagram primed was taken by the device or given back. */
    ck_assert_uint_eq(st.out_errors, 0);
    ck_assert_uint_eq(r.primed, st.out_packets + reclaimed);
    /* Every one taken was delivered or dropped with a reason. */
    struct glan_port_stats ps;
    glan_port_stats(glan_osa_port(a->osa), &ps);
    ck_assert_uint_eq(ps.sent_packets, st.out_packets);
    ck_assert_uint_eq(ps.queued, 0);
    ck_assert_uint_eq(r.received, ps.delivered);
    check_accounting(a);
    ck_assert_uint_gt(r.cc1 + reclaimed + st.out_packets, 0);
    ck_assert_uint_eq(a->host.unordered, 0);
    fprintf(stderr, "osa_hostile_siga: %lu primed, %llu taken, %lu given back, %lu SIGA cc 1\n",
            r.primed, (unsigned long long)st.out_packets, reclaimed, r.cc1);
}
END_TEST

/* ---- how much one SIGA does --------------------------------------------------------- */

/* Buffer i of the TX queue: 16 elements of one page each, each page packed
 * with 60-byte datagrams (32-byte header, 28 bytes of IPv4/UDP); returns
 * how many. */
static unsigned fill_tiny(struct simguest *g, unsigned i)
{
    struct sbal *s = sbal_of(g, SG_TX_QUEUE, i);
    memset(s, 0, sizeof *s);
    unsigned n = 0;
    for (unsigned e = 0; e < 16; e++) {
        uint64_t page = tx_page(g, i) + (uint64_t)e * 4096;
        uint32_t used = 0;
        while (used + 60 <= 4096) {
            used += put_dgram(g, page + used, 0, (uint8_t)i);
            n++;
        }
        put64(s->element[e].addr, page);
        put32(s->element[e].length, used);
    }
    s->element[15].eflags = SBAL_EFLAGS_LAST_ENTRY;
    return n;
}

START_TEST(siga_bound_tiny_datagrams)
{
    unsigned per = 0, total = 0;
    for (unsigned i = 0; i < 128; i++)
        total += per = fill_tiny(a, i);
    ck_assert_uint_gt(per, 1024); /* one buffer is over the datagram bound */
    for (unsigned i = 0; i < 128; i++)
        set_st(a, SG_TX_QUEUE, i, SLSB_CU_OUTPUT_PRIMED);
    struct glan_osa_stats st;
    unsigned asked0 = a->host.resumes_asked;
    /* One SIGA takes one buffer (1 088 datagrams, past 1 024) and stops:
     * the rest stays primed and the device asks to be resumed. */
    ck_assert_int_eq(glan_osa_siga_w(a->osa, TXMASK), 0);
    glan_osa_get_stats(a->osa, &st);
    ck_assert_uint_eq(st.out_buffers, 1);
    ck_assert_uint_eq(st.out_packets, per);
    ck_assert_uint_eq(st.out_bounded, 1);
    ck_assert_uint_eq(a->host.resumes_asked - asked0, 1);
    ck_assert_uint_eq(state(a, SG_TX_QUEUE, 0), SLSB_P_OUTPUT_EMPTY);
    for (unsigned i = 1; i < 128; i++)
        ck_assert_uint_eq(state(a, SG_TX_QUEUE, i), SLSB_CU_OUTPUT_PRIMED);
    /* Each resume takes one more buffer, until none is left. */
    unsigned got = recv_all(b), resumes = 0;
    while (__atomic_exchange_n(&a->host.resume_asked, 0, __ATOMIC_ACQ_REL)) {
        ck_assert_int_eq(glan_osa_resume(a->osa), 1);
        resumes++;
        glan_osa_get_stats(a->osa, &st);
        ck_assert_uint_eq(st.out_buffers, 1 + resumes);
        got += recv_all(b);
    }
    got += recv_all(b);
    ck_assert_uint_eq(resumes, 127);
    ck_assert_int_eq(glan_osa_resume(a->osa), 0); /* nothing left */
    glan_osa_get_stats(a->osa, &st);
    ck_assert_uint_eq(st.out_packets, total);
    ck_assert_uint_eq(st.out_resumed, 127);
    ck_assert_uint_eq(st.out_errors, 0);
    for (unsigned i = 0; i < 128; i++)
        ck_assert_uint_eq(state(a, SG_TX_QUEUE, i), SLSB_P_OUTPUT_EMPTY);
    struct glan_port_stats ps;
    glan_port_stats(glan_osa_port(a->osa), &ps);
    ck_assert_uint_eq(ps.sent_packets, total);
    ck_assert_uint_eq(got, ps.delivered);
    check_accounting(a);
    ck_assert_uint_eq(a->host.unordered, 0);
    ck_assert_uint_eq(b->host.unordered, 0);
}
END_TEST

START_TEST(siga_bound_buffers_and_bytes)
{
    /* 40 buffers of one datagram: a SIGA takes 16.  With no resume run, the
     * next SIGA-w goes on where the last stopped. */
    for (unsigned i = 0; i < 40; i++)
        fill_one(a, SG_TX_QUEUE, i, tx_page(a, i), (uint8_t)i);
    for (unsigned i = 0; i < 40; i++)
        set_st(a, SG_TX_QUEUE, i, SLSB_CU_OUTPUT_PRIMED);
    struct glan_osa_stats st;
    ck_assert_int_eq(glan_osa_siga_w(a->osa, TXMASK), 0);
    glan_osa_get_stats(a->osa, &st);
    ck_assert_uint_eq(st.out_buffers, 16);
    ck_assert_uint_eq(state(a, SG_TX_QUEUE, 15), SLSB_P_OUTPUT_EMPTY);
    ck_assert_uint_eq(state(a, SG_TX_QUEUE, 16), SLSB_CU_OUTPUT_PRIMED);
    ck_assert_int_eq(glan_osa_siga_w(a->osa, TXMASK), 0);
    glan_osa_get_stats(a->osa, &st);
    ck_assert_uint_eq(st.out_buffers, 32);
    ck_assert_int_eq(glan_osa_siga_w(a->osa, TXMASK), 0);
    glan_osa_get_stats(a->osa, &st);
    ck_assert_uint_eq(st.out_buffers, 40);
    ck_assert_uint_eq(recv_all(b), 40);
    /* Three buffers of 16 elements of 64 KiB (all over one 64 KiB area,
     * each element one header and a datagram too big for the LAN): 1 MiB a
     * buffer, so a SIGA takes one. */
    uint64_t area = glan_sg_alloc(a, 65536, 4096);
    ck_assert_uint_ne(area, 0);
    put_dgram(a, area, 0, 0);
    put16((uint8_t *)glan_sg_ptr(a, area) + 8, 65536 - 32);
    a->host.resume_asked = 0;
    for (unsigned i = 40; i < 43; i++) {
        struct sbal *s = sbal_of(a, SG_TX_QUEUE, i);
        memset(s, 0, sizeof *s);
        for (unsigned e = 0; e < 16; e++) {
            put64(s->element[e].addr, area);
            put32(s->element[e].length, 65536);
        }
        s->element[15].eflags = SBAL_EFLAGS_LAST_ENTRY;
    }
    for (unsigned i = 40; i < 43; i++)
        set_st(a, SG_TX_QUEUE, i, SLSB_CU_OUTPUT_PRIMED);
    ck_assert_int_eq(glan_osa_siga_w(a->osa, TXMASK), 0);
    glan_osa_get_stats(a->osa, &st);
    ck_assert_uint_eq(st.out_buffers, 41);
    ck_assert_uint_eq(state(a, SG_TX_QUEUE, 41), SLSB_CU_OUTPUT_PRIMED);
    ck_assert_int_eq(glan_sg_pump(a), 2);
    glan_osa_get_stats(a->osa, &st);
    ck_assert_uint_eq(st.out_buffers, 43);
    ck_assert_uint_eq(st.out_errors, 0);
    ck_assert_uint_eq(state(a, SG_TX_QUEUE, 42), SLSB_P_OUTPUT_EMPTY);
    /* 48 datagrams too big for the LAN: dropped, each with its reason. */
    check_accounting(a);
    ck_assert_uint_eq(a->host.unordered, 0);
}
END_TEST

/* ---- output queues other than Linux's ------------------------------------------------- */

START_TEST(other_output_queues)
{
    /* Queues 0, 1 and 3 (Linux uses 2): one datagram each, in one SIGA. */
    static const unsigned qs[] = {0, 1, 3};
    uint64_t pages = glan_sg_alloc(a, 3 * 4096, 4096);
    ck_assert_uint_ne(pages, 0);
    for (unsigned k = 0; k < 3; k++)
        fill_one(a, qs[k], 0, pages + (uint64_t)k * 4096, (uint8_t)(0x60 + qs[k]));
    for (unsigned k = 0; k < 3; k++)
        set_st(a, qs[k], 0, SLSB_CU_OUTPUT_PRIMED);
    uint32_t mask = 0x80000000u | 0x40000000u | 0x10000000u;
    ck_assert_int_eq(glan_osa_siga_w(a->osa, mask), 0);
    for (unsigned k = 0; k < 3; k++)
        ck_assert_uint_eq(state(a, qs[k], 0), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_recv(b, rx, 64), 3);
    unsigned seen = 0;
    for (int k = 0; k < 3; k++)
        seen |= 1u << (rx[k].data[28] - 0x60);
    ck_assert_uint_eq(seen, 0x0b);
    /* SIGA-s names output queues too. */
    fill_one(a, 1, 1, pages + 4096, 0x61);
    set_st(a, 1, 1, SLSB_CU_OUTPUT_PRIMED);
    ck_assert_int_eq(glan_osa_siga_s(a->osa, 0x40000000u, 0), 0);
    ck_assert_uint_eq(state(a, 1, 1), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_recv(b, rx, 64), 1);
    /* Queues the guest did not establish (it has 4): ignored, counted once
     * a SIGA; the queues that exist in the same mask still work. */
    struct glan_osa_stats st0, st1;
    glan_osa_get_stats(a->osa, &st0);
    ck_assert_int_eq(glan_osa_siga_w(a->osa, 0x08000000u), 0);
    ck_assert_int_eq(glan_osa_siga_w(a->osa, 0x00000001u), 0);
    fill_one(a, 0, 1, pages, 0x60);
    set_st(a, 0, 1, SLSB_CU_OUTPUT_PRIMED);
    ck_assert_int_eq(glan_osa_siga_w(a->osa, 0x80000001u), 0);
    glan_osa_get_stats(a->osa, &st1);
    ck_assert_uint_eq(st1.siga_bad_queue - st0.siga_bad_queue, 3);
    ck_assert_uint_eq(st1.out_buffers - st0.out_buffers, 1);
    ck_assert_uint_eq(state(a, 0, 1), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_recv(b, rx, 64), 1);
    /* Two queues over the bound: 20 buffers on queue 0 and 20 on queue 3,
     * one SIGA for both; the walks that follow start at the queue cut
     * short, and all 40 go. */
    uint64_t many = glan_sg_alloc(a, 40 * 4096, 4096);
    ck_assert_uint_ne(many, 0);
    for (unsigned k = 0; k < 40; k++) {
        unsigned q = k < 20 ? 0 : 3, i = (q == 0 ? 2 : 1) + k % 20; /* from each ring's next */
        fill_one(a, q, i, many + (uint64_t)k * 4096, (uint8_t)k);
        set_st(a, q, i, SLSB_CU_OUTPUT_PRIMED);
    }
    glan_osa_get_stats(a->osa, &st0);
    ck_assert_int_eq(glan_osa_siga_w(a->osa, 0x90000000u), 0);
    glan_osa_get_stats(a->osa, &st1);
    ck_assert_uint_eq(st1.out_buffers - st0.out_buffers, 16);
    ck_assert_int_eq(glan_sg_pump(a), 2);
    glan_osa_get_stats(a->osa, &st1);
    ck_assert_uint_eq(st1.out_buffers - st0.out_buffers, 40);
    ck_assert_uint_eq(recv_all(b), 40);
    check_accounting(a);
    ck_assert_uint_eq(a->host.unordered, 0);
}
END_TEST

Suite *osa_hostile_siga_suite(void)
{
    Suite *s = suite_create("osa_hostile_siga");
    TCase *tc = tcase_create("hostile guest against SIGA");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, guest_rewrites_mid_walk);
    tcase_add_test(tc, guest_flips_while_siga_runs);
    tcase_add_test(tc, keys_on_data_pages);
    tcase_add_test(tc, halt_clear_during_siga);
    tcase_add_test(tc, siga_bound_tiny_datagrams);
    tcase_add_test(tc, siga_bound_buffers_and_bytes);
    tcase_add_test(tc, other_output_queues);
    tcase_set_timeout(tc, 240);
    suite_add_tcase(s, tc);
    return s;
}
