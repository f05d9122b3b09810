/*
 * The pcap file uplink driven the way a live owner drives it: attach it to a
 * LAN, call its receive op until the input capture ends, send through it, and
 * read back what it wrote.  `glan replay` feeds the base itself, so this is
 * the test of the uplink's own receive side: Ethernet unwrapping, skipped
 * frames, a malformed record in the middle (counted, reading goes on), a
 * damaged file (-EIO), and the round trip of the DLT_RAW writer with
 * nanosecond timestamps.  Input captures are made with libpcap's dumper so
 * that this test does not trust our own writer for its input.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "guestlan/base.h"
#include "guestlan/pcapfile.h"
#include "guestlan/uplink.h"

static int failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

/* A UDP/IPv4 datagram from 192.0.2.1 to 10.0.0.<host> with plen payload
 * bytes; no checksums (the base does not look at them). */
static size_t make_ipv4(uint8_t *p, int host, size_t plen)
{
    size_t tot = 28 + plen;

    memset(p, 0, tot);
    p[0] = 0x45;
    p[2] = (uint8_t)(tot >> 8);
    p[3] = (uint8_t)tot;
    p[8] = 64;
    p[9] = 17;
    memcpy(p + 12, (uint8_t[]){192, 0, 2, 1}, 4);
    memcpy(p + 16, (uint8_t[]){10, 0, 0, (uint8_t)host}, 4);
    for (size_t i = 0; i < plen; i++)
        p[28 + i] = (uint8_t)(i + host);
    return tot;
}

/* An Ethernet frame around an IPv4 datagram, padded to the 60-byte minimum. */
static size_t make_eth(uint8_t *f, uint16_t type, const uint8_t *ip, size_t len)
{
    memset(f, 0, 60);
    memset(f, 0xff, 6);
    memcpy(f + 6, (uint8_t[]){2, 0, 0, 0, 0, 1}, 6);
    f[12] = (uint8_t)(type >> 8);
    f[13] = (uint8_t)type;
    memcpy(f + 14, ip, len);
    return 14 + len < 60 ? 60 : 14 + len;
}

static void dump(pcap_dumper_t *d, long sec, long usec, const uint8_t *f, size_t caplen, size_t len)
{
    struct pcap_pkthdr h = {
        .ts = {sec, usec}, .caplen = (bpf_u_int32)caplen, .len = (bpf_u_int32)len};
    pcap_dump((u_char *)d, &h, f);
}

/* What the guest port got. */
struct sink {
    int n;
    uint32_t len[8];
    uint64_t ts[8];
    uint8_t last_host;
};

static int sink_deliver(void *ctx, const struct glan_dgram *dg)
{
    struct sink *s = ctx;

    if (s->n < 8) {
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
    n = make_eth(f, 0x0800, ip, make_ipv4(ip, 2, 4));
    dump(d, 100, 1, f, n, n);
    n = make_eth(f, 0x0806, ip, 28);
    dump(d, 100, 2, f, n, n);
    n = make_eth(f, 0x0800, ip, make_ipv4(ip, 2, 200));
    dump(d, 100, 3, f, 50, n);
    n = make_eth(f, 0x0800, ip, make_ipv4(ip, 99, 10));
    dump(d, 100, 4, f, n, n);
    n = make_eth(f, 0x0800, ip, make_ipv4(ip, 2, 1000));
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
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("pcapfile uplink: all checks passed\n");
    return 0;
}
