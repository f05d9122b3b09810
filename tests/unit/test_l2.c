/*
 * Unit tests of the layer-2 engine (src/uplink/l2.c): ARP and neighbour
 * discovery answered for the LAN's registered addresses, next-hop
 * resolution with held datagrams, retransmission, give-up and cache timeout
 * on a clock the tests step, the hold bounds, gateways, group addresses,
 * 802.1Q tagging, and malformed or foreign frames.  Frames the engine
 * transmits are recorded by a fake transmit function.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guestlan/l2.h"
#include "dgram.h"
#include "testport.h"

#define SEC 1000000000ull

/* ---- a recording transmit --------------------------------------------------- */

#define MAXF 64
static struct {
    unsigned n;
    size_t len[MAXF];
    uint8_t f[MAXF][2048];
    int rc; /* what transmit answers */
} tx;

static int rec_xmit(void *ctx, const uint8_t *frame, size_t len)
{
    (void)ctx;
    if (tx.rc)
        return tx.rc;
    ck_assert_uint_le(len, 2048);
    ck_assert_uint_ge(len, 60); /* padded to the Ethernet minimum */
    if (tx.n < MAXF) {
        memcpy(tx.f[tx.n], frame, len);
        tx.len[tx.n] = len;
    }
    tx.n++;
    return 0;
}

static struct glan_lan *lan;
static struct testport G;
static struct glan_l2 *l2;
static const uint8_t lan_mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
static const uint8_t peer_mac[6] = {0x52, 0x54, 0x00, 0xaa, 0xbb, 0x01};
static const uint8_t gw_mac[6] = {0x52, 0x54, 0x00, 0xaa, 0xbb, 0x02};
static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const char *const g_addrs[] = {"10.0.0.1", "fd00::1", "fe80::1", NULL};

static struct glan_addr A(const char *text) {
    struct glan_addr a;
    ck_assert_int_eq(glan_addr_parse(text, &a), 0);
    return a;
}

static struct glan_l2 *
make(struct glan_l2_config *cfg)
{
    char err[200] = "";
    struct glan_l2_config c;
    memset(&c, 0, sizeof c);
    if (cfg)
        c = *cfg;
    memcpy(c.mac, lan_mac, 6);
    struct glan_l2 *e = glan_l2_create(&c, lan, rec_xmit, NULL, err, sizeof err);
    ck_assert_msg(e != NULL, "create: %s", err);
    return e;
}

static void setup(void)
{
    char err[128];
    struct glan_lan_config cfg = {.name = "L2TEST"};
    lan = glan_lan_create(&cfg, err, sizeof err);
    ck_assert_ptr_nonnull(lan);
    tp_attach(&G, lan, "G", g_addrs);
    memset(&tx, 0, sizeof tx);
    l2 = make(NULL);
}

static void teardown(void)
{
    glan_l2_destroy(l2);
    l2 = NULL;
    glan_port_detach(G.port);
    glan_lan_destroy(lan);
}

/* ---- frame builders ------------------------------------------------------------- */

static size_t arp(uint8_t *f, uint16_t vlan, const uint8_t *edst, uint16_t op, const uint8_t *sha,
                  const char *spa, const char *tpa)
{
    size_t h = dg_eth(f, edst, sha, ET_ARP, vlan);
    struct glan_addr s = A(spa), t = A(tpa);
    return h + dg_arp(f + h, op, sha, s.bytes, t.bytes);
}

/* A solicitation (type 135) or advertisement (136) with a link-layer option
 * (lla may be NULL: none). */
static size_t nd(uint8_t *f, uint16_t vlan, const uint8_t *edst, const uint8_t *esrc, uint8_t type,
                 const char *src, const char *dst, const char *target, const uint8_t *lla)
{
    size_t h = dg_eth(f, edst, esrc, ET_IPV6, vlan);
    struct glan_addr s = A(src), d = A(dst), t = A(target);
    return h + dg_nd(f + h, type, &s, &d, &t, lla, DG_L4_CSUM);
}

/* A UDP datagram from src to dst of len bytes. */
static size_t dgram(uint8_t *b, const char *src, const char *dst, size_t len)
{
    return tp_build(b, len, src, dst, 0x1234);
}

static int input(const uint8_t *f, size_t len, uint64_t now, size_t *dglen)
{
    const uint8_t *dg = NULL;
    size_t l = 0;
    int rc = glan_l2_input(l2, f, len, now, &dg, &l);
    if (dglen)
        *dglen = l;
    if (rc == 1)
        ck_assert(dg >= f && dg + l <= f + len);
    return rc;
}

static struct glan_l2_stats stats(void)
{
    struct glan_l2_stats s;
    glan_l2_stats(l2, &s);
    return s;
}

/* ---- MAC addresses ---------------------------------------------------------------- */

START_TEST(default_mac)
{
    uint8_t a[6], b[6], c[6];
    glan_l2_default_mac("LAN1", a);
    glan_l2_default_mac("LAN1", b);
    glan_l2_default_mac("LAN2", c);
    ck_assert_mem_eq(a, b, 6);
    ck_assert(memcmp(a, c, 6) != 0);
    ck_assert_uint_eq(a[0] & 3, 2); /* locally administered, unicast */

    uint8_t m[6];
    char buf[18];
    ck_assert_int_eq(glan_l2_parse_mac("02:00:5E:10:00:01", m), 0);
    ck_assert_str_eq(glan_l2_format_mac(m, buf, sizeof buf), "02:00:5e:10:00:01");
    ck_assert_int_eq(glan_l2_parse_mac("02-00-5e-10-00-01", m), 0);
    ck_assert_int_eq(glan_l2_parse_mac("02:00:5e:10:00", m), -EINVAL);
    ck_assert_int_eq(glan_l2_parse_mac("02:00:5e:10:00:0g", m), -EINVAL);

    /* an engine without a configured MAC takes the LAN's default */
    char err[128];
    struct glan_l2_config cfg = {.lan_name = "LAN1"};
    struct glan_l2 *e = glan_l2_create(&cfg, lan, rec_xmit, NULL, err, sizeof err);
    ck_assert_ptr_nonnull(e);
    glan_l2_mac(e, m);
    ck_assert_mem_eq(m, a, 6);
    glan_l2_destroy(e);

    /* bad configurations are refused with a message */
    memset(&cfg, 0, sizeof cfg);
    cfg.vlan = 4095;
    ck_assert_ptr_null(glan_l2_create(&cfg, lan, rec_xmit, NULL, err, sizeof err));
    ck_assert(strstr(err, "VLAN") != NULL);
    memset(&cfg, 0, sizeof cfg);
    cfg.mac[0] = 0x01;
    ck_assert_ptr_null(glan_l2_create(&cfg, lan, rec_xmit, NULL, err, sizeof err));
    memset(&cfg, 0, sizeof cfg);
    cfg.gateway4 = A("fd00::9");
    ck_assert_ptr_null(glan_l2_create(&cfg, lan, rec_xmit, NULL, err, sizeof err));
}
END_TEST

/* ---- answering ------------------------------------------------------------------------ */

START_TEST(arp_answered)
{
    uint8_t f[128];
    size_t n = arp(f, 0, bcast, 1, peer_mac, "10.0.0.9", "10.0.0.1");
    ck_assert_int_eq(input(f, n, 0, NULL), 0);
    ck_assert_uint_eq(tx.n, 1);
    const uint8_t *r = tx.f[0];
    ck_assert_mem_eq(r, peer_mac, 6);    /* to the asker */
    ck_assert_mem_eq(r + 6, lan_mac, 6); /* from the LAN */
    ck_assert_uint_eq(be16(r + 12), ET_ARP);
    ck_assert_uint_eq(be16(r + 14 + 6), 2); /* reply */
    ck_assert_mem_eq(r + 14 + 8, lan_mac, 6);
    struct glan_addr g = A("10.0.0.1"), p = A("10.0.0.9");
    ck_assert_mem_eq(r + 14 + 14, g.bytes, 4);
    ck_assert_mem_eq(r + 14 + 18, peer_mac, 6);
    ck_assert_mem_eq(r + 14 + 24, p.bytes, 4);
    ck_assert_uint_eq(stats().arp_replies, 1);

    /* the asker is learned: no resolution needed to answer it */
    uint8_t mac[6];
    ck_assert_int_eq(glan_l2_neighbour(l2, &p, 0, mac), GLAN_L2_REACHABLE);
    ck_assert_mem_eq(mac, peer_mac, 6);

    /* an address no guest registered is not answered */
    n = arp(f, 0, bcast, 1, peer_mac, "10.0.0.9", "10.0.0.77");
    ck_assert_int_eq(input(f, n, 0, NULL), 0);
    ck_assert_uint_eq(tx.n, 1);
    ck_assert_uint_eq(stats().rx_arp, 2);

    /* someone claiming a guest's address: counted, and the guest's address
     * is announced again */
    n = arp(f, 0, bcast, 1, peer_mac, "10.0.0.1", "10.0.0.1");
    ck_assert_int_eq(input(f, n, 0, NULL), 0);
    ck_assert_uint_eq(stats().conflicts, 1);
    ck_assert_uint_eq(tx.n, 2);
    ck_assert_mem_eq(tx.f[1], bcast, 6);
}
END_TEST

START_TEST(nd_answered)
{
    uint8_t f[160];
    size_t n = nd(f, 0, (const uint8_t[]){0x33, 0x33, 0xff, 0, 0, 1}, peer_mac, 135, "fd00::9",
                  "ff02::1:ff00:1", "fd00::1", peer_mac);
    ck_assert_int_eq(input(f, n, 0, NULL), 0);
    ck_assert_uint_eq(tx.n, 1);
    const uint8_t *r = tx.f[0], *ip = r + 14;
    ck_assert_mem_eq(r, peer_mac, 6);
    ck_assert_mem_eq(r + 6, lan_mac, 6);
    ck_assert_uint_eq(be16(r + 12), ET_IPV6);
    ck_assert_uint_eq(ip[7], 255);
    ck_assert_uint_eq(ip[40], 136);
    ck_assert_uint_eq(ip[44], 0x60); /* solicited, override, not a router */
    struct glan_addr t = A("fd00::1"), s = A("fd00::9");
    ck_assert_mem_eq(ip + 8, t.bytes, 16);  /* from the guest's address */
    ck_assert_mem_eq(ip + 24, s.bytes, 16); /* to the asker */
    ck_assert_mem_eq(ip + 48, t.bytes, 16);
    ck_assert_uint_eq(ip[64], 2); /* target link-layer address */
    ck_assert_mem_eq(ip + 66, lan_mac, 6);
    ck_assert_uint_eq(dg_l4_check(ip, IPV6_HDR_LEN + be16(ip + 4)), 0);
    ck_assert_uint_eq(stats().na_sent, 1);
    ck_assert_int_eq(glan_l2_neighbour(l2, &s, 0, NULL), GLAN_L2_REACHABLE);

    /* link-local guest addresses too */
    n = nd(f, 0, (const uint8_t[]){0x33, 0x33, 0xff, 0, 0, 1}, peer_mac, 135, "fe80::9",
           "ff02::1:ff00:1", "fe80::1", peer_mac);
    ck_assert_int_eq(input(f, n, 0, NULL), 0);
    ck_assert_uint_eq(tx.n, 2);

    /* not ours: silence */
    n = nd(f, 0, (const uint8_t[]){0x33, 0x33, 0xff, 0, 0, 7}, peer_mac, 135, "fd00::9",
           "ff02::1:ff00:7", "fd00::7", peer_mac);
    ck_assert_int_eq(input(f, n, 0, NULL), 0);
    ck_assert_uint_eq(tx.n, 2);

    /* duplicate address detection for a guest's address: defended to all
     * nodes */
    n = nd(f, 0, (const uint8_t[]){0x33, 0x33, 0xff, 0, 0, 1}, peer_mac, 135,
           "::", "ff02::1:ff00:1", "fd00::1", NULL);
    ck_assert_int_eq(input(f, n, 0, NULL), 0);
    ck_assert_uint_eq(tx.n, 3);
    ck_assert_mem_eq(tx.f[2], ((const uint8_t[]){0x33, 0x33, 0, 0, 0, 1}), 6);
    ck_assert_uint_eq(tx.f[2][14 + 40], 136);
    ck_assert_uint_eq(stats().conflicts, 1);
    ck_assert_uint_eq(stats().rx_nd, 4);
}
END_TEST

/* Two LANs on one segment that both hold an address (two hosts' guests with
 * the same link-local address) must not answer each other's defence
 * forever: each address is defended once in 10 s (RFC 5227), the claims
 * still counted. */
START_TEST(defend_interval)
{
    uint8_t f[160];
    const uint8_t all6[6] = {0x33, 0x33, 0, 0, 0, 1};
    /* another station's announcement of fe80::1, a guest's address here */
    size_t n = nd(f, 0, all6, peer_mac, 136, "fe80::1", "ff02::1", "fe80::1", peer_mac);
    ck_assert_int_eq(input(f, n, 1000, NULL), 0);
    ck_assert_uint_eq(tx.n, 1);
    ck_assert_uint_eq(tx.f[0][14 + 40], 136);
    /* its answer to ours, and more: counted, not answered */
    for (int i = 1; i <= 100; i++)
        ck_assert_int_eq(input(f, n, 1000 + (uint64_t)i * 50000000, NULL), 0);
    ck_assert_uint_eq(tx.n, 1);
    ck_assert_uint_eq(stats().conflicts, 101);
    /* another address is defended in the meantime, over ARP too */
    n = arp(f, 0, bcast, 1, peer_mac, "10.0.0.1", "10.0.0.1");
    ck_assert_int_eq(input(f, n, 2000000000, NULL), 0);
    ck_assert_uint_eq(tx.n, 2);
    ck_assert_int_eq(input(f, n, 3000000000, NULL), 0);
    ck_assert_uint_eq(tx.n, 2);
    /* ten seconds on, the first is defended again */
    n = nd(f, 0, all6, peer_mac, 136, "fe80::1", "ff02::1", "fe80::1", peer_mac);
    ck_assert_int_eq(input(f, n, 1000 + 10000000000ull, NULL), 0);
    ck_assert_uint_eq(tx.n, 3);
    ck_assert_uint_eq(stats().conflicts, 104);
}
END_TEST

START_TEST(announce)
{
    struct glan_addr a4 = A("10.0.0.1"), a6 = A("fd00::1");
    ck_assert_int_eq(glan_l2_announce(l2, &a4, 0), 0);
    ck_assert_int_eq(glan_l2_announce(l2, &a6, 0), 0);
    ck_assert_uint_eq(tx.n, 2);
    const uint8_t *g = tx.f[0] + 14;
    ck_assert_mem_eq(tx.f[0], bcast, 6);
    ck_assert_uint_eq(be16(g + 6), 1);
    ck_assert_mem_eq(g + 14, a4.bytes, 4); /* sender = target = the address */
    ck_assert_mem_eq(g + 24, a4.bytes, 4);
    const uint8_t *ip = tx.f[1] + 14;
    ck_assert_mem_eq(tx.f[1], ((const uint8_t[]){0x33, 0x33, 0, 0, 0, 1}), 6);
    ck_assert_uint_eq(ip[40], 136);
    ck_assert_uint_eq(ip[44], 0x20); /* override, unsolicited */
    ck_assert_mem_eq(ip + 48, a6.bytes, 16);
    ck_assert_uint_eq(dg_l4_check(ip, IPV6_HDR_LEN + be16(ip + 4)), 0);
    ck_assert_uint_eq(stats().announcements, 2);
}
END_TEST

/* ---- resolving ----------------------------------------------------------------------------- */

START_TEST(resolve_arp)
{
    uint8_t d[100], f[128];
    size_t n = dgram(d, "10.0.0.1", "10.0.0.9", 100);
    ck_assert_int_eq(glan_l2_output(l2, d, n, 0), 0);
    ck_assert_uint_eq(tx.n, 1); /* the request, not the datagram */
    const uint8_t *q = tx.f[0];
    ck_assert_mem_eq(q, bcast, 6);
    ck_assert_uint_eq(be16(q + 12), ET_ARP);
    ck_assert_uint_eq(be16(q + 14 + 6), 1);
    struct glan_addr src = A("10.0.0.1"), dst = A("10.0.0.9");
    ck_assert_mem_eq(q + 14 + 14, src.bytes, 4); /* asked from the guest's address */
    ck_assert_mem_eq(q + 14 + 24, dst.bytes, 4);
    ck_assert_uint_eq(stats().held_now, 1);
    ck_assert_int_eq(glan_l2_neighbour(l2, &dst, 0, NULL), GLAN_L2_INCOMPLETE);
    ck_assert_uint_eq(glan_l2_deadline(l2), SEC);

    /* a second datagram waits with the first */
    ck_assert_int_eq(glan_l2_output(l2, d, n, 1), 0);
    ck_assert_uint_eq(tx.n, 1);

    /* the answer releases both, in order, framed for the answerer */
    size_t fl = arp(f, 0, lan_mac, 2, peer_mac, "10.0.0.9", "10.0.0.1");
    ck_assert_int_eq(input(f, fl, 2, NULL), 0);
    ck_assert_uint_eq(tx.n, 3);
    for (int i = 1; i <= 2; i++) {
        ck_assert_uint_eq(tx.len[i], 14 + n);
        ck_assert_mem_eq(tx.f[i], peer_mac, 6);
        ck_assert_mem_eq(tx.f[i] + 6, lan_mac, 6);
        ck_assert_uint_eq(be16(tx.f[i] + 12), ET_IPV4);
        ck_assert_mem_eq(tx.f[i] + 14, d, n);
    }
    struct glan_l2_stats s = stats();
    ck_assert_uint_eq(s.held_now, 0);
    ck_assert_uint_eq(s.resolved, 1);
    ck_assert_uint_eq(s.tx_ip, 2);
    ck_assert_uint_eq(glan_l2_deadline(l2), UINT64_MAX);

    /* from now on straight out */
    ck_assert_int_eq(glan_l2_output(l2, d, n, 3), 0);
    ck_assert_uint_eq(tx.n, 4);
    ck_assert_mem_eq(tx.f[3], peer_mac, 6);
}
END_TEST

START_TEST(resolve_nd)
{
    uint8_t d[100], f[160];
    size_t n = dgram(d, "fd00::1", "fd00::9", 100);
    ck_assert_int_eq(glan_l2_output(l2, d, n, 0), 0);
    ck_assert_uint_eq(tx.n, 1);
    const uint8_t *q = tx.f[0], *ip = q + 14;
    /* to the solicited-node group of fd00::9 */
    ck_assert_mem_eq(q, ((const uint8_t[]){0x33, 0x33, 0xff, 0, 0, 9}), 6);
    struct glan_addr grp = A("ff02::1:ff00:9"), src = A("fd00::1"), t = A("fd00::9");
    ck_assert_mem_eq(ip + 24, grp.bytes, 16);
    ck_assert_mem_eq(ip + 8, src.bytes, 16);
    ck_assert_uint_eq(ip[40], 135);
    ck_assert_mem_eq(ip + 48, t.bytes, 16);
    ck_assert_uint_eq(ip[64], 1); /* source link-layer address */
    ck_assert_mem_eq(ip + 66, lan_mac, 6);
    ck_assert_uint_eq(dg_l4_check(ip, IPV6_HDR_LEN + be16(ip + 4)), 0);

    size_t fl = nd(f, 0, lan_mac, peer_mac, 136, "fd00::9", "fd00::1", "fd00::9", peer_mac);
    ck_assert_int_eq(input(f, fl, 1, NULL), 0);
    ck_assert_uint_eq(tx.n, 2);
    ck_assert_mem_eq(tx.f[1], peer_mac, 6);
    ck_assert_uint_eq(be16(tx.f[1] + 12), ET_IPV6);
    ck_assert_mem_eq(tx.f[1] + 14, d, n);

    /* an unsolicited advertisement for an address we never asked about
     * makes no entry */
    fl = nd(f, 0, lan_mac, gw_mac, 136, "fd00::5", "fd00::1", "fd00::5", gw_mac);
    ck_assert_int_eq(input(f, fl, 1, NULL), 0);
    struct glan_addr five = A("fd00::5");
    ck_assert_int_eq(glan_l2_neighbour(l2, &five, 1, NULL), GLAN_L2_NONE);
}
END_TEST

START_TEST(retransmit_and_give_up)
{
    uint8_t d[64];
    size_t n = dgram(d, "10.0.0.1", "10.0.0.9", 64);
    ck_assert_int_eq(glan_l2_output(l2, d, n, 0), 0);
    ck_assert_uint_eq(tx.n, 1);
    glan_l2_tick(l2, SEC / 2); /* not yet */
    ck_assert_uint_eq(tx.n, 1);
    glan_l2_tick(l2, SEC);
    ck_assert_uint_eq(tx.n, 2);
    ck_assert_uint_eq(glan_l2_deadline(l2), 2 * SEC);
    glan_l2_tick(l2, 2 * SEC);
    ck_assert_uint_eq(tx.n, 3); /* three probes in all */
    glan_l2_tick(l2, 3 * SEC);
    ck_assert_uint_eq(tx.n, 3);
    struct glan_l2_stats s = stats();
    ck_assert_uint_eq(s.requests_sent, 3);
    ck_assert_uint_eq(s.resolve_failures, 1);
    ck_assert_uint_eq(s.unresolved_dropped, 1);
    ck_assert_uint_eq(s.held_now, 0);
    ck_assert_uint_eq(s.cache_entries, 0);
    ck_assert_uint_eq(glan_l2_deadline(l2), UINT64_MAX);
    struct glan_addr dst = A("10.0.0.9");
    ck_assert_int_eq(glan_l2_neighbour(l2, &dst, 3 * SEC, NULL), GLAN_L2_NONE);
}
END_TEST

START_TEST(cache_timeout)
{
    uint8_t d[64], f[128];
    size_t n = dgram(d, "10.0.0.1", "10.0.0.9", 64);
    size_t fl = arp(f, 0, lan_mac, 2, peer_mac, "10.0.0.9", "10.0.0.1");
    struct glan_addr dst = A("10.0.0.9");
    ck_assert_int_eq(glan_l2_output(l2, d, n, 0), 0);
    ck_assert_int_eq(input(f, fl, 0, NULL), 0);
    ck_assert_uint_eq(tx.n, 2);

    /* stale after 30 s: still used, but asked again */
    uint64_t t = 30 * SEC;
    ck_assert_int_eq(glan_l2_neighbour(l2, &dst, t, NULL), GLAN_L2_STALE);
    ck_assert_int_eq(glan_l2_output(l2, d, n, t), 0);
    ck_assert_uint_eq(tx.n, 4);
    ck_assert_uint_eq(be16(tx.f[2] + 12), ET_ARP); /* the re-probe */
    ck_assert_mem_eq(tx.f[3], peer_mac, 6);        /* the datagram, at once */
    ck_assert_int_eq(glan_l2_neighbour(l2, &dst, t, NULL), GLAN_L2_PROBE);

    /* an answer renews it */
    ck_assert_int_eq(input(f, fl, t + 1, NULL), 0);
    ck_assert_int_eq(glan_l2_neighbour(l2, &dst, t + 1, NULL), GLAN_L2_REACHABLE);
    ck_assert_uint_eq(glan_l2_deadline(l2), UINT64_MAX);

    /* stale again, and this time nobody answers: the entry goes, and the
     * next datagram waits for a fresh resolution */
    t += 31 * SEC;
    ck_assert_int_eq(glan_l2_output(l2, d, n, t), 0);
    unsigned before = tx.n;
    glan_l2_tick(l2, t + SEC);
    glan_l2_tick(l2, t + 2 * SEC);
    glan_l2_tick(l2, t + 3 * SEC);
    ck_assert_uint_eq(tx.n, before + 2);
    ck_assert_int_eq(glan_l2_neighbour(l2, &dst, t + 3 * SEC, NULL), GLAN_L2_NONE);
    ck_assert_int_eq(glan_l2_output(l2, d, n, t + 4 * SEC), 0);
    ck_assert_uint_eq(stats().held_now, 1);
    ck_assert_uint_eq(be16(tx.f[tx.n - 1] + 12), ET_ARP);
}
END_TEST

START_TEST(hold_bounds)
{
    glan_l2_destroy(l2);
    struct glan_l2_config cfg = {.hold_per_dest = 2, .hold_max = 3};
    l2 = make(&cfg);
    uint8_t d[64];
    size_t n = dgram(d, "10.0.0.1", "10.0.0.9", 64);
    ck_assert_int_eq(glan_l2_output(l2, d, n, 0), 0);
    ck_assert_int_eq(glan_l2_output(l2, d, n, 0), 0);
    ck_assert_int_eq(glan_l2_output(l2, d, n, 0), -ENOBUFS); /* per destination */
    n = dgram(d, "10.0.0.1", "10.0.0.10", 64);
    ck_assert_int_eq(glan_l2_output(l2, d, n, 0), 0);
    n = dgram(d, "10.0.0.1", "10.0.0.11", 64);
    ck_assert_int_eq(glan_l2_output(l2, d, n, 0), -ENOBUFS); /* in all */
    struct glan_l2_stats s = stats();
    ck_assert_uint_eq(s.held, 3);
    ck_assert_uint_eq(s.held_now, 3);
    ck_assert_uint_eq(s.hold_dropped, 2);
    /* destroy drops (and frees) what is held: the sanitizer build checks */
}
END_TEST

START_TEST(cache_full)
{
    glan_l2_destroy(l2);
    struct glan_l2_config cfg = {.cache_size = 2};
    l2 = make(&cfg);
    uint8_t d[64], f[128];
    size_t n = dgram(d, "10.0.0.1", "10.0.0.9", 64);
    ck_assert_int_eq(glan_l2_output(l2, d, n, 0), 0);
    n = dgram(d, "10.0.0.1", "10.0.0.10", 64);
    ck_assert_int_eq(glan_l2_output(l2, d, n, 0), 0);
    n = dgram(d, "10.0.0.1", "10.0.0.11", 64);
    ck_assert_int_eq(glan_l2_output(l2, d, n, 0), -ENOBUFS); /* both resolving */
    ck_assert_uint_eq(stats().cache_full_dropped, 1);
    /* .9 resolves; then a new neighbour may take its place */
    size_t fl = arp(f, 0, lan_mac, 2, peer_mac, "10.0.0.9", "10.0.0.1");
    ck_assert_int_eq(input(f, fl, 0, NULL), 0);
    ck_assert_int_eq(glan_l2_output(l2, d, n, 1), 0);
    struct glan_addr nine = A("10.0.0.9");
    ck_assert_int_eq(glan_l2_neighbour(l2, &nine, 1, NULL), GLAN_L2_NONE);
}
END_TEST

START_TEST(gateway_and_groups)
{
    glan_l2_destroy(l2);
    struct glan_l2_config cfg = {.gateway4 = A("10.0.0.254"),
                                 .onlink4 = A("10.0.0.0"),
                                 .onlink4_len = 24,
                                 .gateway6 = A("fd00::fe")};
    l2 = make(&cfg);
    uint8_t d[64], f[128];
    struct glan_addr gw = A("10.0.0.254");
    /* off link: the gateway is resolved */
    size_t n = dgram(d, "10.0.0.1", "192.0.2.7", 64);
    ck_assert_int_eq(glan_l2_output(l2, d, n, 0), 0);
    ck_assert_mem_eq(tx.f[0] + 14 + 24, gw.bytes, 4);
    size_t fl = arp(f, 0, lan_mac, 2, gw_mac, "10.0.0.254", "10.0.0.1");
    ck_assert_int_eq(input(f, fl, 0, NULL), 0);
    ck_assert_mem_eq(tx.f[1], gw_mac, 6);
    /* another off-link destination uses the same entry */
    n = dgram(d, "10.0.0.1", "198.51.100.1", 64);
    ck_assert_int_eq(glan_l2_output(l2, d, n, 0), 0);
    ck_assert_uint_eq(tx.n, 3);
    ck_assert_mem_eq(tx.f[2], gw_mac, 6);
    /* on link: resolved itself */
    n = dgram(d, "10.0.0.1", "10.0.0.9", 64);
    ck_assert_int_eq(glan_l2_output(l2, d, n, 0), 0);
    struct glan_addr nine = A("10.0.0.9");
    ck_assert_mem_eq(tx.f[3] + 14 + 24, nine.bytes, 4);
    /* IPv6: off link to the gateway, link-local always direct */
    n = dgram(d, "fd00::1", "2001:db8::1", 64);
    ck_assert_int_eq(glan_l2_output(l2, d, n, 0), 0);
    struct glan_addr gw6 = A("fd00::fe"), ll = A("fe80::9");
    ck_assert_mem_eq(tx.f[4] + 14 + 48, gw6.bytes, 16);
    n = dgram(d, "fe80::1", "fe80::9", 64);
    ck_assert_int_eq(glan_l2_output(l2, d, n, 0), 0);
    ck_assert_mem_eq(tx.f[5] + 14 + 48, ll.bytes, 16);
    ck_assert_uint_eq(tx.n, 6);

    /* groups need no resolution */
    n = dgram(d, "10.0.0.1", "255.255.255.255", 64);
    ck_assert_int_eq(glan_l2_output(l2, d, n, 0), 0);
    ck_assert_mem_eq(tx.f[6], bcast, 6);
    n = dgram(d, "10.0.0.1", "10.0.0.255", 64); /* the on-link prefix's broadcast */
    ck_assert_int_eq(glan_l2_output(l2, d, n, 0), 0);
    ck_assert_mem_eq(tx.f[7], bcast, 6);
    n = dgram(d, "10.0.0.1", "239.129.2.3", 64);
    ck_assert_int_eq(glan_l2_output(l2, d, n, 0), 0);
    ck_assert_mem_eq(tx.f[8], ((const uint8_t[]){0x01, 0x00, 0x5e, 0x01, 0x02, 0x03}), 6);
    n = dgram(d, "fd00::1", "ff02::1:2", 64);
    ck_assert_int_eq(glan_l2_output(l2, d, n, 0), 0);
    ck_assert_mem_eq(tx.f[9], ((const uint8_t[]){0x33, 0x33, 0, 1, 0, 2}), 6);
    ck_assert_uint_eq(tx.n, 10);
}
END_TEST

/* ---- VLANs -------------------------------------------------------------------------------------
 */

START_TEST(vlan_tagging)
{
    glan_l2_destroy(l2);
    struct glan_l2_config cfg = {.vlan = 100};
    l2 = make(&cfg);
    uint8_t f[160], d[100];
    size_t dl;

    /* requests and answers go out tagged */
    size_t n = arp(f, 100, bcast, 1, peer_mac, "10.0.0.9", "10.0.0.1");
    ck_assert_int_eq(input(f, n, 0, NULL), 0);
    ck_assert_uint_eq(tx.n, 1);
    ck_assert_uint_eq(be16(tx.f[0] + 12), ET_VLAN);
    ck_assert_uint_eq(be16(tx.f[0] + 14) & 0xfff, 100);
    ck_assert_uint_eq(be16(tx.f[0] + 16), ET_ARP);
    ck_assert_uint_eq(be16(tx.f[0] + 18 + 6), 2);

    /* so do datagrams */
    size_t dn = dgram(d, "10.0.0.1", "10.0.0.9", 100);
    ck_assert_int_eq(glan_l2_output(l2, d, dn, 0), 0);
    ck_assert_uint_eq(tx.len[1], 18 + dn);
    ck_assert_uint_eq(be16(tx.f[1] + 12), ET_VLAN);
    ck_assert_uint_eq(be16(tx.f[1] + 16), ET_IPV4);
    ck_assert_mem_eq(tx.f[1] + 18, d, dn);

    /* tagged with our VLAN: in; untagged, or another VLAN: out */
    n = dg_frame(f, lan_mac, peer_mac, ET_IPV4, 100, d, dn);
    ck_assert_int_eq(input(f, n, 0, &dl), 1);
    ck_assert_uint_eq(dl, dn);
    n = dg_frame(f, lan_mac, peer_mac, ET_IPV4, 200, d, dn);
    ck_assert_int_eq(input(f, n, 0, NULL), 0);
    n = dg_frame(f, lan_mac, peer_mac, ET_IPV4, 0, d, dn);
    ck_assert_int_eq(input(f, n, 0, NULL), 0);
    n = arp(f, 0, bcast, 1, peer_mac, "10.0.0.9", "10.0.0.1");
    ck_assert_int_eq(input(f, n, 0, NULL), 0);
    ck_assert_uint_eq(tx.n, 2);
    ck_assert_uint_eq(stats().rx_wrong_vlan, 3);

    /* an untagged engine refuses tagged frames */
    glan_l2_destroy(l2);
    l2 = make(NULL);
    n = dg_frame(f, lan_mac, peer_mac, ET_IPV4, 100, d, dn);
    ck_assert_int_eq(input(f, n, 0, NULL), 0);
    ck_assert_uint_eq(stats().rx_wrong_vlan, 1);
    n = dg_frame(f, lan_mac, peer_mac, ET_IPV4, 0, d, dn);
    ck_assert_int_eq(input(f, n, 0, &dl), 1);
    ck_assert_uint_eq(dl, dn);
}
END_TEST

/* ---- what comes in ------------------------------------------------------------------------------
 */

START_TEST(unwrap)
{
    uint8_t f[200], d[100];
    size_t dl;
    /* a short datagram in a padded minimum frame comes out trimmed */
    size_t dn = dgram(d, "10.0.0.9", "10.0.0.1", 32);
    size_t n = dg_eth(f, lan_mac, peer_mac, ET_IPV4, 0);
    memset(f + n, 0xee, 60 - n);
    memcpy(f + n, d, dn);
    ck_assert_int_eq(input(f, 60, 0, &dl), 1);
    ck_assert_uint_eq(dl, 32);
    /* broadcast and multicast frames are for us too */
    n = dg_frame(f, bcast, peer_mac, ET_IPV4, 0, d, dn);
    ck_assert_int_eq(input(f, n, 0, NULL), 1);
    dn = dgram(d, "fd00::9", "ff02::1:2", 64);
    n = dg_frame(f, (const uint8_t[]){0x33, 0x33, 0, 1, 0, 2}, peer_mac, ET_IPV6, 0, d, dn);
    ck_assert_int_eq(input(f, n, 0, &dl), 1);
    ck_assert_uint_eq(dl, 64);
    /* another station's unicast: skipped */
    n = dg_frame(f, gw_mac, peer_mac, ET_IPV4, 0, d, dn);
    ck_assert_int_eq(input(f, n, 0, NULL), 0);
    /* our own frame looped back: skipped */
    n = dg_frame(f, bcast, lan_mac, ET_IPV4, 0, d, dn);
    ck_assert_int_eq(input(f, n, 0, NULL), 0);
    /* neither IP nor ARP (LLDP): skipped */
    n = dg_eth(f, (const uint8_t[]){0x01, 0x80, 0xc2, 0, 0, 0x0e}, peer_mac, 0x88cc, 0);
    memset(f + n, 0, 46);
    ck_assert_int_eq(input(f, n + 46, 0, NULL), 0);
    struct glan_l2_stats s = stats();
    ck_assert_uint_eq(s.rx_ip, 3);
    ck_assert_uint_eq(s.rx_not_ours, 2);
    ck_assert_uint_eq(s.rx_skipped, 1);
    ck_assert_uint_eq(s.rx_frames, 6);
    ck_assert_uint_eq(tx.n, 0);
}
END_TEST

START_TEST(malformed)
{
    uint8_t f[200] = {0}, d[100];
    ck_assert_int_eq(input(f, 0, 0, NULL), 0);
    ck_assert_int_eq(input(bcast, 6, 0, NULL), 0); /* shorter than a header */
    /* a tag with nothing after it */
    size_t n = dg_eth(f, lan_mac, peer_mac, ET_IPV4, 7);
    ck_assert_int_eq(input(f, 14, 0, NULL), 0);
    /* ARP cut short, and ARP for another protocol */
    n = arp(f, 0, bcast, 1, peer_mac, "10.0.0.9", "10.0.0.1");
    ck_assert_int_eq(input(f, 30, 0, NULL), 0);
    f[14 + 3] = 0x01;
    ck_assert_int_eq(input(f, n, 0, NULL), 0);
    /* IPv4 whose length says more than the frame holds */
    size_t dn = dgram(d, "10.0.0.9", "10.0.0.1", 100);
    n = dg_eth(f, lan_mac, peer_mac, ET_IPV4, 0);
    memcpy(f + n, d, dn);
    ck_assert_int_eq(input(f, n + 60, 0, NULL), 0);
    /* an IPv6 datagram in an IPv4 frame */
    dn = dgram(d, "fd00::9", "fd00::1", 64);
    memcpy(f + n, d, dn);
    ck_assert_int_eq(input(f, n + dn, 0, NULL), 0);
    /* neighbour discovery with a bad checksum, and with a hop limit < 255 */
    n = nd(f, 0, (const uint8_t[]){0x33, 0x33, 0xff, 0, 0, 1}, peer_mac, 135, "fd00::9",
           "ff02::1:ff00:1", "fd00::1", peer_mac);
    f[14 + 60] ^= 1;
    ck_assert_int_eq(input(f, n, 0, NULL), 0);
    f[14 + 60] ^= 1;
    f[14 + 7] = 64;
    ck_assert_int_eq(input(f, n, 0, NULL), 0);
    /* an option of length zero */
    f[14 + 7] = 255;
    f[14 + 65] = 0;
    dg_l4_csum(f + 14, IPV6_HDR_LEN + 32);
    ck_assert_int_eq(input(f, n, 0, NULL), 0);
    struct glan_l2_stats s = stats();
    ck_assert_uint_eq(s.rx_malformed, 10);
    ck_assert_uint_eq(s.rx_frames, 10);
    ck_assert_uint_eq(tx.n, 0); /* nothing answered */

    /* datagrams the LAN hands out that are not IP are refused */
    memset(d, 0, sizeof d);
    ck_assert_int_eq(glan_l2_output(l2, d, 64, 0), -EINVAL);
    dn = dgram(d, "10.0.0.1", "10.0.0.9", 64);
    ck_assert_int_eq(glan_l2_output(l2, d, 40, 0), -EINVAL); /* cut short */
    ck_assert_uint_eq(stats().malformed_dropped, 2);
}
END_TEST

/* An ICMPv6 message of one byte (the type of a solicitation, nothing after
 * it) at the very end of a frame: malformed, and nothing past the frame is
 * read (the frame is a block of its own size, for the sanitizer build). */
START_TEST(nd_cut_to_its_type)
{
    uint8_t d[IPV6_HDR_LEN + 1];
    struct glan_addr s = A("fd00::9"), t = A("ff02::1:ff00:1");
    dg_ip(d, sizeof d, DG_ICMPV6, &s, &t, 0);
    d[7] = 255;
    d[IPV6_HDR_LEN] = 135;
    uint8_t *f = malloc(ETH_HDR_LEN + sizeof d);
    ck_assert_ptr_nonnull(f);
    size_t n = dg_frame(f, lan_mac, peer_mac, ET_IPV6, 0, d, sizeof d);
    ck_assert_uint_eq(n, ETH_HDR_LEN + sizeof d);
    ck_assert_int_eq(input(f, n, 0, NULL), 0);
    free(f);
    struct glan_l2_stats st = stats();
    ck_assert_uint_eq(st.rx_malformed, 1);
    ck_assert_uint_eq(st.rx_nd, 0);
    ck_assert_uint_eq(tx.n, 0);
}
END_TEST

START_TEST(transmit_errors)
{
    uint8_t d[64], f[128];
    size_t n = dgram(d, "10.0.0.1", "10.0.0.9", 64);
    size_t fl = arp(f, 0, lan_mac, 2, peer_mac, "10.0.0.9", "10.0.0.1");
    ck_assert_int_eq(glan_l2_output(l2, d, n, 0), 0);
    ck_assert_int_eq(input(f, fl, 0, NULL), 0);
    /* no room: the caller is told to try again, nothing is counted lost */
    tx.rc = -EAGAIN;
    ck_assert_int_eq(glan_l2_output(l2, d, n, 0), -EAGAIN);
    ck_assert_uint_eq(stats().tx_errors, 0);
    tx.rc = -EIO;
    ck_assert_int_eq(glan_l2_output(l2, d, n, 0), -EIO);
    ck_assert_uint_eq(stats().tx_errors, 1);
    tx.rc = 0;
}
END_TEST

Suite *l2_suite(void)
{
    Suite *s = suite_create("l2");
    TCase *tc = tcase_create("engine");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, default_mac);
    tcase_add_test(tc, arp_answered);
    tcase_add_test(tc, nd_answered);
    tcase_add_test(tc, announce);
    tcase_add_test(tc, defend_interval);
    tcase_add_test(tc, resolve_arp);
    tcase_add_test(tc, resolve_nd);
    tcase_add_test(tc, retransmit_and_give_up);
    tcase_add_test(tc, cache_timeout);
    tcase_add_test(tc, hold_bounds);
    tcase_add_test(tc, cache_full);
    tcase_add_test(tc, gateway_and_groups);
    tcase_add_test(tc, vlan_tagging);
    tcase_add_test(tc, unwrap);
    tcase_add_test(tc, malformed);
    tcase_add_test(tc, nd_cut_to_its_type);
    tcase_add_test(tc, transmit_errors);
    suite_add_tcase(s, tc);
    return s;
}
