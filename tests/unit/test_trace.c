/*
 * Unit tests of LAN traces (src/base/trace.c): what a trace file holds, read
 * back with our capture reader (capture.h), for each filter, and the
 * timestamps it keeps over their whole range; and datagrams refused before
 * base storage (too_big, no_buffer: src/base/refused.c), which the monitor
 * and a trace of dropped datagrams must see too, from glan_port_send and
 * from a simulated guest's output buffer (the device's tx_begin path).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "guestlan/capture.h"
#include "guestlan/osa_wire.h"
#include "guestlan/simguest.h"
#include "guestlan/trace.h"
#include "osa_fixture.h"
#include "testport.h"

static struct glan_lan *lan;
static struct testport A, B;
static char path[64];

static void setup(void)
{
    char err[128];
    struct glan_lan_config cfg = {.name = "TRACED"};
    lan = glan_lan_create(&cfg, err, sizeof err);
    ck_assert_ptr_nonnull(lan);
    static const char *const a[] = {"10.3.0.1", "fd03::1", NULL};
    static const char *const b[] = {"10.3.0.2", NULL};
    tp_attach(&A, lan, "A", a);
    tp_attach(&B, lan, "B", b);
    snprintf(path, sizeof path, "/tmp/glan-trace-%d.pcap", (int)getpid());
}

static void teardown(void)
{
    glan_port_detach(A.port);
    glan_port_detach(B.port);
    glan_lan_destroy(lan);
    remove(path);
}

/* The datagrams in the file: their count, and the lengths of the first few. */
static unsigned read_back(uint32_t *lens, unsigned max)
{
    char err[256];
    struct glan_pcap_reader *r = glan_pcap_reader_open(path, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    const uint8_t *data;
    size_t len;
    uint64_t ts;
    unsigned n = 0;
    int rc;
    while ((rc = glan_pcap_reader_next(r, &data, &len, &ts)) == 1) {
        ck_assert_uint_ne(ts, 0);
        if (n < max)
            lens[n] = (uint32_t)len;
        n++;
    }
    ck_assert_int_eq(rc, 0);
    glan_pcap_reader_close(r);
    return n;
}

static struct glan_trace *start(int port, int dropped, uint32_t snap)
{
    char err[256];
    struct glan_trace_config cfg = {
        .path = path, .port = port, .dropped_only = dropped, .snaplen = snap};
    struct glan_trace *t = glan_trace_start(lan, &cfg, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    return t;
}

static void traffic(void)
{
    tp_send(&A, "10.3.0.1", "10.3.0.2", 100, 1);       /* delivered */
    tp_send(&B, "10.3.0.2", "10.3.0.1", 120, 2);       /* delivered */
    tp_send(&A, "10.3.0.1", "192.0.2.9", 140, 3);      /* no_uplink */
    tp_send(&A, "fd03::1", "fd03::99", 160, 4);        /* no_uplink */
    tp_send(&A, "10.3.0.1", "255.255.255.255", 64, 5); /* to B */
}

START_TEST(everything_once)
{
    struct glan_trace *t = start(-1, 0, 0);
    traffic();
    struct glan_trace_stats st;
    glan_trace_get_stats(t, &st);
    ck_assert_uint_eq(st.written, 5);
    ck_assert_int_eq(glan_trace_stop(t, NULL, 0), 0);
    uint32_t lens[8];
    ck_assert_uint_eq(read_back(lens, 8), 5);
    ck_assert_uint_eq(lens[0], 100);
    ck_assert_uint_eq(lens[3], 160);
    /* After stop, nothing more is written and a new trace may start. */
    tp_send(&A, "10.3.0.1", "10.3.0.2", 100, 6);
    ck_assert_uint_eq(read_back(lens, 8), 5);
    glan_trace_stop(start(-1, 0, 0), NULL, 0);
}
END_TEST

START_TEST(filters)
{
    uint32_t lens[8];
    glan_trace_stop(start(-1, 1, 0), NULL, 0);
    struct glan_trace *t = start(-1, 1, 0);
    traffic();
    glan_trace_stop(t, NULL, 0);
    ck_assert_uint_eq(read_back(lens, 8), 2); /* the two no_uplink drops */
    ck_assert_uint_eq(lens[0], 140);
    t = start(glan_port_index(B.port), 0, 0);
    traffic();
    struct glan_trace_stats st;
    glan_trace_get_stats(t, &st);
    ck_assert_uint_eq(st.filtered, 4);
    glan_trace_stop(t, NULL, 0);
    ck_assert_uint_eq(read_back(lens, 8), 1);
    ck_assert_uint_eq(lens[0], 120);
    t = start(-1, 0, 96);
    traffic();
    glan_trace_stop(t, NULL, 0);
    ck_assert_uint_eq(read_back(lens, 8), 5);
    ck_assert_uint_eq(lens[1], 96);
    ck_assert_uint_eq(lens[4], 64);
}
END_TEST

/* ---- datagrams refused before base storage ---------------------------------- */

enum { SMALL_BUFFERS = 4, SMALL_SIZE = 576 };

/* A LAN of SMALL_BUFFERS buffers of SMALL_SIZE bytes (in all three
 * classes). */
static struct glan_lan *small_lan(void)
{
    char err[128];
    struct glan_lan_config cfg = {.name = "SMALL",
                                  .buffers = SMALL_BUFFERS - 2,
                                  .buffer_size = SMALL_SIZE,
                                  .mid_buffers = 1,
                                  .mid_size = SMALL_SIZE,
                                  .big_buffers = 1,
                                  .big_size = SMALL_SIZE};
    struct glan_lan *l = glan_lan_create(&cfg, err, sizeof err);
    ck_assert_msg(l != NULL, "%s", err);
    return l;
}

/* A monitor that records what it is shown. */
struct seen {
    unsigned n;
    uint32_t len[8];
    int16_t src[8];
    uint8_t family[8];
    uint64_t ts[8];
    enum glan_drop verdict[8];
};

static void seen_fn(void *ctx, const struct glan_dgram *dg, enum glan_drop verdict)
{
    struct seen *s = ctx;
    if (s->n < 8) {
        s->len[s->n] = dg->len;
        s->src[s->n] = dg->src;
        s->family[s->n] = dg->family;
        s->ts[s->n] = dg->ts_ns;
        s->verdict[s->n] = verdict;
    }
    s->n++;
}

/* One datagram from C to D refused as too_big, one as no_buffer (every
 * buffer reserved meanwhile), one delivered. */
static void refused_traffic(struct testport *c, struct testport *d)
{
    ck_assert_int_eq(tp_send(c, "10.4.0.1", "10.4.0.2", SMALL_SIZE + 100, 1), GLAN_DROP_TOO_BIG);
    struct glan_txbuf held[SMALL_BUFFERS];
    for (int k = 0; k < SMALL_BUFFERS; k++)
        ck_assert_int_eq(glan_port_tx_begin(d->port, 100, &held[k]), GLAN_DROP_NONE);
    ck_assert_int_eq(tp_send(c, "10.4.0.1", "10.4.0.2", 300, 2), GLAN_DROP_NO_BUFFER);
    for (int k = 0; k < SMALL_BUFFERS; k++)
        glan_port_tx_abort(d->port, &held[k]);
    ck_assert_int_eq(tp_send(c, "10.4.0.1", "10.4.0.2", 200, 3), GLAN_DROP_NONE);
}

START_TEST(refused_shown_with_reason)
{
    struct glan_lan *l = small_lan();
    struct testport c, d;
    static const char *const ca[] = {"10.4.0.1", NULL};
    static const char *const da[] = {"10.4.0.2", NULL};
    tp_attach(&c, l, "C", ca);
    tp_attach(&d, l, "D", da);
    ck_assert_uint_eq(glan_port_monitored(c.port), 0);
    struct seen s = {0};
    ck_assert_int_eq(glan_lan_set_monitor(l, seen_fn, &s), 0);
    ck_assert_uint_eq(glan_port_monitored(c.port), SMALL_SIZE);
    refused_traffic(&c, &d);
    glan_lan_set_monitor(l, NULL, NULL);
    ck_assert_uint_eq(s.n, 3);
    /* too_big: shown cut to the LAN's buffer size */
    ck_assert_int_eq(s.verdict[0], GLAN_DROP_TOO_BIG);
    ck_assert_uint_eq(s.len[0], SMALL_SIZE);
    ck_assert_int_eq(s.verdict[1], GLAN_DROP_NO_BUFFER);
    ck_assert_uint_eq(s.len[1], 300);
    ck_assert_int_eq(s.verdict[2], GLAN_DROP_NONE);
    ck_assert_uint_eq(s.len[2], 200);
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(s.src[k], glan_port_index(c.port));
        ck_assert_uint_eq(s.family[k], GLAN_AF_INET);
        ck_assert_uint_ne(s.ts[k], 0);
    }
    /* Shown once, counted once: the books still balance. */
    struct glan_port_stats ps;
    ck_assert_int_eq(glan_port_stats(c.port, &ps), 0);
    ck_assert_uint_eq(ps.dropped[GLAN_DROP_TOO_BIG], 1);
    ck_assert_uint_eq(ps.dropped[GLAN_DROP_NO_BUFFER], 1);
    tp_check_balance(l);

    /* A trace of dropped datagrams holds the two refused ones and nothing
     * else, the too_big one cut to the buffer size. */
    char err[256];
    struct glan_trace_config cfg = {.path = path, .port = -1, .dropped_only = 1};
    struct glan_trace *t = glan_trace_start(l, &cfg, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    refused_traffic(&c, &d);
    ck_assert_int_eq(glan_trace_stop(t, err, sizeof err), 0);
    uint32_t lens[8];
    ck_assert_uint_eq(read_back(lens, 8), 2);
    ck_assert_uint_eq(lens[0], SMALL_SIZE);
    ck_assert_uint_eq(lens[1], 300);
    glan_port_detach(c.port);
    glan_port_detach(d.port);
    glan_lan_destroy(l);
}
END_TEST

/* The device's path: a simulated guest's output buffer holds a datagram the
 * base refuses (glan_port_tx_begin in src/osa/qdio.c); a trace of dropped
 * datagrams holds it, read out of guest storage. */
START_TEST(refused_from_guest_storage)
{
    struct glan_lan *l = small_lan();
    struct simguest *ga, *gb;
    static const char *const aa[] = {"10.5.0.1", NULL};
    static const char *const ba[] = {"10.5.0.2", NULL};
    osa_fixture_pair(l, aa, ba, &ga, &gb);
    char err[256];
    struct glan_trace_config cfg = {.path = path, .port = -1, .dropped_only = 1};
    struct glan_trace *t = glan_trace_start(l, &cfg, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    static uint8_t big[SMALL_SIZE + 1000];
    tp_build(big, sizeof big, "10.5.0.1", "10.5.0.2", 7);
    struct sg_pkt p = {.data = big, .len = sizeof big};
    /* split: the header in an element of its own, the datagram over
     * several, as the device gathers it */
    ck_assert_int_eq(glan_sg_send(ga, &p, 1, 1), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_trace_stop(t, err, sizeof err), 0);
    const uint8_t *data;
    size_t len;
    uint64_t ts;
    struct glan_pcap_reader *r = glan_pcap_reader_open(path, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    ck_assert_int_eq(glan_pcap_reader_next(r, &data, &len, &ts), 1);
    ck_assert_uint_eq(len, SMALL_SIZE);
    ck_assert_mem_eq(data, big, SMALL_SIZE);
    ck_assert_int_eq(glan_pcap_reader_next(r, &data, &len, &ts), 0);
    glan_pcap_reader_close(r);
    struct glan_lan_stats st;
    glan_lan_stats(l, &st);
    ck_assert_uint_eq(st.dropped[GLAN_DROP_TOO_BIG], 1);
    glan_sg_destroy(ga);
    glan_sg_destroy(gb);
    glan_lan_destroy(l);
}
END_TEST

START_TEST(one_at_a_time_and_bad_file)
{
    char err[256] = "";
    struct glan_trace *t = start(-1, 0, 0);
    struct glan_trace_config cfg = {.path = "/tmp/glan-trace-second.pcap", .port = -1};
    ck_assert_ptr_null(glan_trace_start(lan, &cfg, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "traced already"));
    ck_assert_int_ne(access(cfg.path, F_OK), 0); /* no stray file */
    glan_trace_stop(t, NULL, 0);
    cfg.path = "/nonexistent-dir/x.pcap";
    err[0] = 0;
    ck_assert_ptr_null(glan_trace_start(lan, &cfg, err, sizeof err));
    ck_assert_msg(err[0] != 0, "no message");
}
END_TEST

#define NS UINT64_C(1000000000)

static uint64_t wall_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * NS + (uint64_t)t.tv_nsec;
}

/* Send one datagram from A to B stamped ts (0: none). */
static void send_at(uint64_t ts)
{
    uint8_t buf[64];
    size_t n = tp_build(buf, sizeof buf, "10.3.0.1", "10.3.0.2", 7);
    struct glan_tx_meta meta = {.cast = GLAN_CAST_AUTO, .ts_ns = ts};
    ck_assert_int_eq(glan_port_send(A.port, buf, n, &meta), GLAN_DROP_NONE);
}

/* The timestamps in the file, in order; the file's format in *ng. */
static unsigned read_ts(uint64_t *ts, unsigned max, int *ng)
{
    char err[256];
    uint8_t magic[4] = {0};
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(magic, 1, 4, f), 4);
    fclose(f);
    *ng = !memcmp(magic, "\x0a\x0d\x0d\x0a", 4);
    struct glan_pcap_reader *r = glan_pcap_reader_open(path, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    const uint8_t *data;
    size_t len;
    uint64_t t;
    unsigned n = 0;
    int rc;
    while ((rc = glan_pcap_reader_next(r, &data, &len, &t)) == 1)
        if (n < max)
            ts[n++] = t;
    ck_assert_int_eq(rc, 0);
    glan_pcap_reader_close(r);
    return n;
}

/* A classic pcap trace keeps every timestamp to 2^32 s exactly (seconds
 * past 2^31 included), refuses one it cannot hold with a count and a
 * reason instead of wrapping it into another year, and a sender's 0 means
 * "now" to the base, which stamps it as it enters. */
START_TEST(timestamps_classic)
{
    static const uint64_t edges[] = {1, 2147483647 * NS + 999999999, 2147483648 * NS,
                                     4294967295 * NS + 999999999};
    struct glan_trace *t = start(-1, 0, 0);
    for (unsigned i = 0; i < 4; i++)
        send_at(edges[i]);
    send_at(4294967296 * NS);
    uint64_t before = wall_ns();
    send_at(0);
    uint64_t after = wall_ns();
    struct glan_trace_stats st;
    glan_trace_get_stats(t, &st);
    ck_assert_uint_eq(st.written, 5);
    ck_assert_uint_eq(st.errors, 1);
    char err[512] = "";
    ck_assert_int_eq(glan_trace_stop(t, err, sizeof err), -EIO);
    ck_assert_msg(strstr(err, "1 datagrams lost") && strstr(err, "4294967296.000000000 s") &&
                      strstr(err, "past 2106-02-07 06:28:15 UTC"),
                  "%s", err);
    uint64_t ts[8];
    int ng;
    ck_assert_uint_eq(read_ts(ts, 8, &ng), 5);
    ck_assert_int_eq(ng, 0);
    for (unsigned i = 0; i < 4; i++)
        ck_assert_uint_eq(ts[i], edges[i]);
    ck_assert_uint_ge(ts[4], before);
    ck_assert_uint_le(ts[4], after);
}
END_TEST

/* A pcapng trace holds them all, to the last nanosecond of 64 bits. */
START_TEST(timestamps_pcapng)
{
    static const uint64_t edges[] = {1,
                                     2147483648 * NS,
                                     4294967295 * NS + 999999999,
                                     4294967296 * NS,
                                     17179869184 * NS + 123456789,
                                     UINT64_MAX};
    char err[256];
    struct glan_trace_config cfg = {.path = path, .port = -1, .format = GLAN_PCAP_NG};
    struct glan_trace *t = glan_trace_start(lan, &cfg, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    for (unsigned i = 0; i < 6; i++)
        send_at(edges[i]);
    ck_assert_int_eq(glan_trace_stop(t, err, sizeof err), 0);
    uint64_t ts[8];
    int ng;
    ck_assert_uint_eq(read_ts(ts, 8, &ng), 6);
    ck_assert_int_eq(ng, 1);
    for (unsigned i = 0; i < 6; i++)
        ck_assert_uint_eq(ts[i], edges[i]);
}
END_TEST

Suite *trace_suite(void)
{
    Suite *s = suite_create("trace");
    TCase *tc = tcase_create("trace");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, everything_once);
    tcase_add_test(tc, filters);
    tcase_add_test(tc, one_at_a_time_and_bad_file);
    tcase_add_test(tc, timestamps_classic);
    tcase_add_test(tc, timestamps_pcapng);
    tcase_add_test(tc, refused_shown_with_reason);
    tcase_add_test(tc, refused_from_guest_storage);
    suite_add_tcase(s, tc);
    return s;
}
