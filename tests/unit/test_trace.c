/*
 * Unit tests of LAN traces (src/base/trace.c): what a trace file holds, read
 * back with our pcap reader, for each filter.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "guestlan/pcapfile.h"
#include "guestlan/trace.h"
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

Suite *trace_suite(void)
{
    Suite *s = suite_create("trace");
    TCase *tc = tcase_create("trace");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, everything_once);
    tcase_add_test(tc, filters);
    tcase_add_test(tc, one_at_a_time_and_bad_file);
    suite_add_tcase(s, tc);
    return s;
}
