/*
 * The pcap file uplink driven the way a live owner drives it: attach it to a
 * LAN, call its receive op until the input capture ends, send through it, and
 * read back what it wrote.  `glan replay` feeds the base itself, so this is
 * the test of the uplink's own receive side: Ethernet unwrapping, skipped
 * frames, a malformed record in the middle (counted, reading goes on), a
 * damaged file (-EIO), an empty datagram, and the round trip of the DLT_RAW
 * writer with nanosecond timestamps; timestamps over their whole range, in
 * and out, pcap and pcapng.  Input captures are made with libpcap's dumper
 * (pcapng, which libpcap cannot write, by a few lines here) so that this
 * test does not trust our own writer for its input.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "guestlan/base.h"
#include "guestlan/capture.h"
#include "guestlan/pcapfile.h"
#include "guestlan/uplink.h"

#include "dgram.h"

static int failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

/* A UDP/IPv4 datagram from 192.0.2.1 to 10.0.0.<host> with plen payload
 * bytes; no checksums, and a UDP header of zeros (the base reads neither). */
static size_t make_ipv4(uint8_t *p, int host, size_t plen)
{
    static const struct glan_addr src = {GLAN_AF_INET, {192, 0, 2, 1}};
    struct glan_addr dst = {GLAN_AF_INET, {10, 0, 0, (uint8_t)host}};
    size_t tot = IPV4_HDR_MIN + DG_UDP_HDR + plen;

    dg_ip(p, tot, DG_UDP, &src, &dst, 0);
    memset(p + IPV4_HDR_MIN, 0, DG_UDP_HDR);
    for (size_t i = 0; i < plen; i++)
        p[IPV4_HDR_MIN + DG_UDP_HDR + i] = (uint8_t)(i + host);
    return tot;
}

/* An Ethernet frame around an IPv4 datagram, padded to the 60-byte minimum. */
static size_t make_eth(uint8_t *f, uint16_t type, const uint8_t *ip, size_t len)
{
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t station[6] = {2, 0, 0, 0, 0, 1};

    return dg_pad(f, dg_frame(f, bcast, station, type, 0, ip, len));
}

static void dump(pcap_dumper_t *d, long sec, long usec, const uint8_t *f, size_t caplen, size_t len)
{
    struct pcap_pkthdr h = {
        .ts = {sec, usec}, .caplen = (bpf_u_int32)caplen, .len = (bpf_u_int32)len};
    pcap_dump((u_char *)d, &h, f);
}

/* What the guest port got. */
#define SINK_MAX 32
struct sink {
    int n;
    uint32_t len[SINK_MAX];
    uint64_t ts[SINK_MAX];
    uint8_t last_host;
};

static int sink_deliver(void *ctx, const struct glan_dgram *dg)
{
    struct sink *s = ctx;

    if (s->n < SINK_MAX) {
        s->len[s->n] = dg->len;
        s->ts[s->n] = dg->ts_ns;
    }
    s->n++;
    s->last_host = dg->data[19];
    return 0;
}

static const struct glan_port_ops sink_ops = {.deliver = sink_deliver};

static void test_receive_and_send(const char *dir)
{
    char in[512], out[512], err[256];
    uint8_t ip[1500], f[1600];
    size_t n;

    snprintf(in, sizeof in, "%s/in.pcap", dir);
    snprintf(out, sizeof out, "%s/out.pcap", dir);

    /* in.pcap: IP to .2 (padded), ARP, a record cut by the snap length,
     * IP to .99 (unregistered), IP to .2 (1000 bytes). */
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
    pcap_dumper_t *d = pcap_dump_open(dead, in);
    CHECK(d != NULL);
    if (!d)
        return;
    n = make_eth(f, ET_IPV4, ip, make_ipv4(ip, 2, 4));
    dump(d, 100, 1, f, n, n);
    n = make_eth(f, ET_ARP, ip, 28);
    dump(d, 100, 2, f, n, n);
    n = make_eth(f, ET_IPV4, ip, make_ipv4(ip, 2, 200));
    dump(d, 100, 3, f, 50, n);
    n = make_eth(f, ET_IPV4, ip, make_ipv4(ip, 99, 10));
    dump(d, 100, 4, f, n, n);
    n = make_eth(f, ET_IPV4, ip, make_ipv4(ip, 2, 1000));
    dump(d, 100, 5, f, n, n);
    pcap_dump_close(d);
    pcap_close(dead);

    struct glan_lan_config cfg = {.name = "t"};
    struct glan_lan *lan = glan_lan_create(&cfg, err, sizeof err);
    CHECK(lan != NULL);
    if (!lan)
        return;
    struct sink sink = {0};
    struct glan_port *gp;
    struct glan_port_info gi = {.name = "g", .kind = GLAN_PORT_GUEST};
    struct glan_addr a;
    CHECK(glan_port_attach(lan, &gi, &sink_ops, &sink, &gp) == 0);
    glan_addr_parse("10.0.0.2", &a);
    CHECK(glan_addr_register(gp, &a) == 0);

    struct glan_uplink *u = glan_pcapfile_create(in, out);
    CHECK(u != NULL && !strcmp(u->ops->kind, "pcapfile") && u->ops->rx_fd(u) == -1);
    CHECK(glan_uplink_attach(lan, u) == 0);

    /* A budget of 1 must be honoured; the bad record is not a datagram. */
    CHECK(u->ops->receive(u, 1) == 1);
    CHECK(sink.n == 1 && sink.len[0] == 32 && sink.ts[0] == 100000001000ull);
    CHECK(u->ops->receive(u, 10) == 2);
    CHECK(strstr(u->err, "record 3: only 50 of") != NULL);
    CHECK(u->ops->receive(u, 10) == 0);
    CHECK(u->ops->receive(u, 10) == 0);
    CHECK(sink.n == 2 && sink.len[1] == 1028 && sink.last_host == 2);
    CHECK(u->stats.rx_packets == 3 && u->stats.rx_bytes == 32 + 38 + 1028);
    CHECK(u->stats.rx_skipped == 1 && u->stats.rx_errors == 1);
    struct glan_port_stats ps;
    glan_port_stats(u->port, &ps);
    CHECK(ps.sent_packets == 3 && ps.delivered == 2 && ps.dropped[GLAN_DROP_UNKNOWN_DEST] == 1);

    /* Out through the uplink: an unregistered destination from the guest. */
    struct glan_tx_meta meta = {.cast = GLAN_CAST_AUTO, .ts_ns = 1234567890123456789ull};
    n = make_ipv4(ip, 77, 33);
    CHECK(glan_port_send(gp, ip, n, &meta) == GLAN_DROP_NONE);
    CHECK(u->stats.tx_packets == 1 && u->stats.tx_bytes == n && u->stats.tx_errors == 0);
    glan_uplink_detach(u); /* closes out.pcap */
    glan_uplink_destroy(u);
    glan_port_detach(gp);
    glan_lan_destroy(lan);

    /* Read it back with libpcap itself: DLT_RAW, nanoseconds, exact bytes. */
    char pe[PCAP_ERRBUF_SIZE];
    pcap_t *r = pcap_open_offline_with_tstamp_precision(out, PCAP_TSTAMP_PRECISION_NANO, pe);
    CHECK(r != NULL);
    if (!r)
        return;
    CHECK(pcap_datalink(r) == DLT_RAW);
    CHECK(pcap_get_tstamp_precision(r) == PCAP_TSTAMP_PRECISION_NANO);
    struct pcap_pkthdr *h;
    const u_char *pkt;
    CHECK(pcap_next_ex(r, &h, &pkt) == 1);
    CHECK(h->caplen == n && h->len == n && !memcmp(pkt, ip, n));
    CHECK(h->ts.tv_sec == 1234567890 && h->ts.tv_usec == 123456789);
    CHECK(pcap_next_ex(r, &h, &pkt) == PCAP_ERROR_BREAK);
    pcap_close(r);
}

static void test_damaged_and_missing(const char *dir)
{
    char path[512], err[256];
    uint8_t ip[100];
    size_t n;

    /* A capture whose last record is cut short. */
    snprintf(path, sizeof path, "%s/cut.pcap", dir);
    pcap_t *dead = pcap_open_dead(DLT_RAW, 65535);
    pcap_dumper_t *d = pcap_dump_open(dead, path);
    n = make_ipv4(ip, 2, 40);
    dump(d, 1, 0, ip, n, n);
    dump(d, 2, 0, ip, n, n);
    pcap_dump_close(d);
    pcap_close(dead);
    CHECK(truncate(path, 24 + 16 + (off_t)n + 16 + 10) == 0);

    struct glan_pcap_reader *rd = glan_pcap_reader_open(path, err, sizeof err);
    const uint8_t *data;
    size_t len;
    uint64_t ts;
    CHECK(rd != NULL);
    if (!rd)
        return;
    CHECK(glan_pcap_reader_next(rd, &data, &len, &ts) == 1 && len == n && ts == 1000000000ull);
    CHECK(glan_pcap_reader_next(rd, &data, &len, &ts) == -EIO);
    CHECK(strstr(glan_pcap_reader_error(rd), "damaged after record 1") != NULL);
    CHECK(glan_pcap_reader_next(rd, &data, &len, &ts) == -EIO); /* sticky, not recounted */
    struct glan_pcap_reader_stats st;
    glan_pcap_reader_stats(rd, &st);
    CHECK(st.records == 1 && st.datagrams == 1 && st.errors == 1);
    glan_pcap_reader_close(rd);

    /* The uplink reports a missing input at attach, in u->err. */
    struct glan_lan_config cfg = {.name = "t2"};
    struct glan_lan *lan = glan_lan_create(&cfg, err, sizeof err);
    snprintf(path, sizeof path, "%s/nosuch.pcap", dir);
    struct glan_uplink *u = glan_pcapfile_create(path, NULL);
    CHECK(glan_uplink_attach(lan, u) < 0);
    CHECK(strstr(u->err, "nosuch.pcap") != NULL);
    glan_uplink_destroy(u);

    /* With no output file what goes out is counted and discarded. */
    u = glan_pcapfile_create(NULL, NULL);
    CHECK(glan_uplink_attach(lan, u) == 0);
    CHECK(u->ops->receive(u, 5) == 0);
    struct glan_port *gp;
    struct glan_port_info gi = {.name = "g", .kind = GLAN_PORT_GUEST};
    struct sink sink = {0};
    CHECK(glan_port_attach(lan, &gi, &sink_ops, &sink, &gp) == 0);
    n = make_ipv4(ip, 50, 1);
    CHECK(glan_port_send(gp, ip, n, NULL) == GLAN_DROP_NONE);
    CHECK(u->stats.tx_packets == 1);
    glan_port_detach(gp);
    glan_uplink_destroy(u);
    glan_lan_destroy(lan);
}

#define NS UINT64_C(1000000000)

/* A pcapng file by hand, libpcap having no pcapng writer: one section, one
 * DLT_RAW interface with if_tsresol 10^-res, and one packet of ip per
 * timestamp, given in units of that resolution.  Host byte order, which
 * the section header's byte-order magic declares. */
static void put_u16(FILE *f, uint16_t v)
{
    fwrite(&v, sizeof v, 1, f);
}

static void put_u32(FILE *f, uint32_t v)
{
    fwrite(&v, sizeof v, 1, f);
}

static void write_pcapng(const char *path, uint8_t res, const uint64_t *units, int n,
                         const uint8_t *ip, size_t len)
{
    FILE *f = fopen(path, "wb");
    uint32_t padded = (uint32_t)((len + 3) & ~(size_t)3);

    CHECK(f != NULL);
    if (!f)
        return;
    put_u32(f, 0x0a0d0d0a); /* section header */
    put_u32(f, 28);
    put_u32(f, 0x1a2b3c4d);
    put_u16(f, 1);
    put_u16(f, 0);
    put_u32(f, 0xffffffff);
    put_u32(f, 0xffffffff);
    put_u32(f, 28);
    put_u32(f, 1); /* interface description: LINKTYPE_RAW, if_tsresol */
    put_u32(f, 32);
    put_u16(f, 101);
    put_u16(f, 0);
    put_u32(f, 65535);
    put_u16(f, 9);
    put_u16(f, 1);
    fwrite((uint8_t[4]){res, 0, 0, 0}, 4, 1, f);
    put_u32(f, 0); /* opt_endofopt */
    put_u32(f, 32);
    for (int i = 0; i < n; i++) {
        put_u32(f, 6); /* enhanced packet */
        put_u32(f, 32 + padded);
        put_u32(f, 0);
        put_u32(f, (uint32_t)(units[i] >> 32));
        put_u32(f, (uint32_t)units[i]);
        put_u32(f, (uint32_t)len);
        put_u32(f, (uint32_t)len);
        fwrite(ip, 1, len, f);
        fwrite((uint8_t[4]){0}, 1, padded - len, f);
        put_u32(f, 32 + padded);
    }
    CHECK(fclose(f) == 0);
}

/* Everything the pcap file uplink's receive op hands the LAN from capture
 * in, into a guest at 10.0.0.2; the uplink's counters in *st. */
static void receive_all(const char *in, struct sink *sink, struct glan_uplink_stats *st, char *err,
                        size_t errlen)
{
    char e[256];
    struct glan_lan_config cfg = {.name = "ts"};
    struct glan_lan *lan = glan_lan_create(&cfg, e, sizeof e);
    struct glan_port_info gi = {.name = "g", .kind = GLAN_PORT_GUEST};
    struct glan_port *gp;
    struct glan_addr a;

    memset(sink, 0, sizeof *sink);
    CHECK(lan != NULL);
    if (!lan)
        return;
    CHECK(glan_port_attach(lan, &gi, &sink_ops, sink, &gp) == 0);
    glan_addr_parse("10.0.0.2", &a);
    CHECK(glan_addr_register(gp, &a) == 0);
    struct glan_uplink *u = glan_pcapfile_create(in, NULL);
    CHECK(glan_uplink_attach(lan, u) == 0);
    while (u->ops->receive(u, 4) > 0)
        ;
    glan_uplink_get_stats(u, st);
    snprintf(err, errlen, "%s", u->err);
    glan_uplink_detach(u);
    glan_uplink_destroy(u);
    glan_port_detach(gp);
    glan_lan_destroy(lan);
}

static int check_ts(const struct sink *s, const uint64_t *want, int n, const char *what)
{
    int bad = s->n != n;

    for (int i = 0; i < n && i < s->n; i++)
        if (s->ts[i] != want[i]) {
            fprintf(stderr, "%s: datagram %d stamped %" PRIu64 ", expected %" PRIu64 "\n", what, i,
                    s->ts[i], want[i]);
            bad = 1;
        }
    if (s->n != n)
        fprintf(stderr, "%s: %d datagrams, expected %d\n", what, s->n, n);
    return !bad;
}

/* The receive op: a pcap file's seconds are unsigned 32-bit (libpcap hands
 * them back sign-extended from 2^31 s on), microsecond and nanosecond; a
 * pcapng file's 64-bit time in us and ns, to the last nanosecond 64 bits
 * hold, and a time past that refused.  A timestamp of 0 stays "none" for
 * the base (base.h: 0 when no monitor is set). */
static void test_timestamps_in(const char *dir)
{
    char path[512], err[256];
    uint8_t ip[100];
    size_t n = make_ipv4(ip, 2, 8);
    struct sink sink;
    struct glan_uplink_stats st;
    pcap_t *dead;
    pcap_dumper_t *d;

    static const long cl_ns[][2] = {{0, 0},          {0, 1},          {2147483647, 999999999},
                                    {2147483648, 0}, {3000000000, 5}, {4294967295, 999999999}};
    static const uint64_t want_cl_ns[] = {0,
                                          1,
                                          2147483647 * NS + 999999999,
                                          2147483648 * NS,
                                          3000000000 * NS + 5,
                                          4294967295 * NS + 999999999};
    snprintf(path, sizeof path, "%s/ts_ns.pcap", dir);
    dead = pcap_open_dead_with_tstamp_precision(DLT_RAW, 65535, PCAP_TSTAMP_PRECISION_NANO);
    d = pcap_dump_open(dead, path);
    CHECK(d != NULL);
    for (int i = 0; d && i < 6; i++)
        dump(d, cl_ns[i][0], cl_ns[i][1], ip, n, n);
    pcap_dump_close(d);
    pcap_close(dead);
    receive_all(path, &sink, &st, err, sizeof err);
    CHECK(check_ts(&sink, want_cl_ns, 6, "pcap ns"));
    CHECK(st.rx_errors == 0);

    static const long cl_us[][2] = {
        {0, 1}, {2147483647, 999999}, {2147483648, 0}, {4294967295, 999999}};
    static const uint64_t want_cl_us[] = {1000, 2147483647 * NS + 999999000, 2147483648 * NS,
                                          4294967295 * NS + 999999000};
    snprintf(path, sizeof path, "%s/ts_us.pcap", dir);
    dead = pcap_open_dead(DLT_RAW, 65535);
    d = pcap_dump_open(dead, path);
    CHECK(d != NULL);
    for (int i = 0; d && i < 4; i++)
        dump(d, cl_us[i][0], cl_us[i][1], ip, n, n);
    pcap_dump_close(d);
    pcap_close(dead);
    receive_all(path, &sink, &st, err, sizeof err);
    CHECK(check_ts(&sink, want_cl_us, 4, "pcap us"));

    static const uint64_t ng_ns[] = {1,
                                     2147483647 * NS + 999999999,
                                     2147483648 * NS,
                                     4294967295 * NS + 999999999,
                                     4294967296 * NS,
                                     17179869184 * NS + 123456789,
                                     UINT64_MAX};
    snprintf(path, sizeof path, "%s/ts_ns.pcapng", dir);
    write_pcapng(path, 9, ng_ns, 7, ip, n);
    receive_all(path, &sink, &st, err, sizeof err);
    CHECK(check_ts(&sink, ng_ns, 7, "pcapng ns"));

    /* The last microsecond 64-bit nanoseconds hold, then one past it. */
    static const uint64_t ng_us[] = {1, 2147483648000001, 4294967296000000, 18446744073709551,
                                     18446744073709552};
    static const uint64_t want_ng_us[] = {1000, 2147483648 * NS + 1000, 4294967296 * NS,
                                          18446744073709551000u};
    snprintf(path, sizeof path, "%s/ts_us.pcapng", dir);
    write_pcapng(path, 6, ng_us, 5, ip, n);
    receive_all(path, &sink, &st, err, sizeof err);
    CHECK(check_ts(&sink, want_ng_us, 4, "pcapng us"));
    CHECK(st.rx_errors == 1 && st.rx_packets == 4);
    CHECK(strstr(err, "record 5: timestamp of 18446744073 s is past 2554-07-21") != NULL);
}

/* Frames that say IP and end with their link header: malformed where they
 * are unwrapped, counted, and reading goes on. */
static void test_empty_datagram(const char *dir)
{
    char path[512], err[256];
    uint8_t ip[100], f[100];
    struct sink sink;
    struct glan_uplink_stats st;

    snprintf(path, sizeof path, "%s/empty.pcap", dir);
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
    pcap_dumper_t *d = pcap_dump_open(dead, path);
    CHECK(d != NULL);
    if (!d)
        return;
    size_t n = make_eth(f, ET_IPV4, ip, make_ipv4(ip, 2, 4));
    dump(d, 7, 1, f, n, n);
    dump(d, 7, 2, f, 14, 14); /* the same header, type 0x0800, nothing after it */
    put16(f + 12, ET_IPV6);
    dump(d, 7, 3, f, 14, 14);
    n = make_eth(f, ET_IPV4, ip, make_ipv4(ip, 2, 4));
    dump(d, 7, 4, f, n, n);
    pcap_dump_close(d);
    pcap_close(dead);
    receive_all(path, &sink, &st, err, sizeof err);
    CHECK(sink.n == 2 && sink.len[0] == 32 && sink.len[1] == 32);
    CHECK(st.rx_packets == 2 && st.rx_errors == 2 && st.rx_skipped == 0);
    CHECK(strstr(err, "record 3: no IP datagram after the 14-byte link header") != NULL);
}

/* Read a capture back with libpcap itself (nanoseconds): the seconds as the
 * file holds them (a pcap file's 32 bits unsigned) and the fraction. */
static int read_back(const char *path, uint64_t *ts, int max, int *ng)
{
    char pe[PCAP_ERRBUF_SIZE];
    struct pcap_pkthdr *h;
    const u_char *pkt;
    uint8_t magic[4] = {0};
    FILE *f = fopen(path, "rb");
    int n = 0;

    if (f) {
        CHECK(fread(magic, 1, 4, f) == 4);
        fclose(f);
    }
    *ng = !memcmp(magic, "\x0a\x0d\x0d\x0a", 4);
    pcap_t *r = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, pe);
    CHECK(r != NULL);
    if (!r)
        return -1;
    CHECK(pcap_datalink(r) == DLT_RAW);
    while (pcap_next_ex(r, &h, &pkt) == 1 && n < max) {
        uint64_t sec = *ng ? (uint64_t)h->ts.tv_sec : (uint32_t)h->ts.tv_sec;
        ts[n++] = sec * NS + (uint64_t)h->ts.tv_usec;
    }
    pcap_close(r);
    return n;
}

/* The send op: classic pcap takes every timestamp below 2^32 s and refuses
 * (counts, says why) one it cannot hold; pcapng, set before attach, takes
 * them all.  Read back with libpcap and with our reader. */
static void test_timestamps_out(const char *dir)
{
    char path[512], err[256];
    uint8_t ip[100];
    size_t n = make_ipv4(ip, 77, 8);
    uint64_t got[8];
    int ng;

    static const uint64_t in_classic[] = {1, 2147483648 * NS, 4294967295 * NS + 999999999};
    static const uint64_t in_ng[] = {1, 2147483648 * NS, 4294967295 * NS + 999999999,
                                     4294967296 * NS, UINT64_MAX};

    CHECK(glan_pcapfile_set_format(NULL, GLAN_PCAP_NG) == -EINVAL);
    for (int fmt = 0; fmt < 2; fmt++) {
        struct glan_lan_config cfg = {.name = "out"};
        struct glan_lan *lan = glan_lan_create(&cfg, err, sizeof err);
        struct glan_port_info gi = {.name = "g", .kind = GLAN_PORT_GUEST};
        struct sink sink = {0};
        struct glan_port *gp;

        snprintf(path, sizeof path, "%s/out_%s.pcap", dir, fmt ? "ng" : "classic");
        struct glan_uplink *u = glan_pcapfile_create(NULL, path);
        if (fmt)
            CHECK(glan_pcapfile_set_format(u, GLAN_PCAP_NG) == 0);
        CHECK(glan_uplink_attach(lan, u) == 0);
        CHECK(glan_pcapfile_set_format(u, GLAN_PCAP_CLASSIC) == -EBUSY);
        CHECK(glan_port_attach(lan, &gi, &sink_ops, &sink, &gp) == 0);
        for (int i = 0; i < 5; i++) {
            struct glan_tx_meta meta = {.cast = GLAN_CAST_AUTO, .ts_ns = in_ng[i]};
            glan_port_send(gp, ip, n, &meta);
        }
        if (fmt) {
            CHECK(u->stats.tx_packets == 5 && u->stats.tx_errors == 0);
        } else {
            /* 2^32 s and 2^64 - 1 ns do not fit: not written, counted, and
             * the message says why. */
            CHECK(u->stats.tx_packets == 3 && u->stats.tx_errors == 2);
            CHECK(strstr(u->err, "is past 2106-02-07 06:28:15 UTC") != NULL);
            struct glan_port_stats ps;
            glan_port_stats(gp, &ps);
            CHECK(ps.dropped[GLAN_DROP_PORT_ERROR] == 2);
        }
        glan_uplink_detach(u);
        glan_uplink_destroy(u);
        glan_port_detach(gp);
        glan_lan_destroy(lan);

        const uint64_t *want = fmt ? in_ng : in_classic;
        int nwant = fmt ? 5 : 3;
        CHECK(read_back(path, got, 8, &ng) == nwant && ng == fmt);
        for (int i = 0; i < nwant; i++)
            CHECK(got[i] == want[i]);
        struct glan_pcap_reader *rd = glan_pcap_reader_open(path, err, sizeof err);
        const uint8_t *data;
        size_t len;
        uint64_t ts;
        CHECK(rd != NULL);
        for (int i = 0; rd && i < nwant; i++)
            CHECK(glan_pcap_reader_next(rd, &data, &len, &ts) == 1 && ts == want[i] && len == n &&
                  !memcmp(data, ip, n));
        CHECK(rd && glan_pcap_reader_next(rd, &data, &len, &ts) == 0);
        glan_pcap_reader_close(rd);
    }
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/glan-pcapfile-XXXXXX";
    const char *base = argc > 1 ? argv[1] : NULL;

    if (!base) {
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            return 1;
        }
        base = dir;
    }
    test_receive_and_send(base);
    test_damaged_and_missing(base);
    test_timestamps_in(base);
    test_timestamps_out(base);
    test_empty_datagram(base);
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("pcapfile uplink: all checks passed\n");
    return 0;
}
