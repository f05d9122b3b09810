/*
 * The OSA data path end to end: simulated guests brought up as Linux does,
 * exchanging IPv4 and IPv6 datagrams through real SBALs in their storage,
 * the base in between.  Packing, broadcast and multicast, passthrough
 * frames and neighbour discovery, interrupts, a receiver without free
 * buffers, halt in mid-traffic, and two threads hammering each other.
 */
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guestlan/base.h"
#include "guestlan/osa.h"
#include "dgram.h"
#include "guestlan/osa_wire.h"
#include "osa_fixture.h"
#include "guestlan/simguest.h"

static struct glan_lan *lan;
static struct simguest *a, *b;
static struct sg_rx rx[256];

static void setup(void)
{
    lan = osa_fixture_lan("osadata");
    static const char *const aa[] = {"10.1.0.1", "fd00::1", NULL};
    static const char *const ba[] = {"10.1.0.2", "10.1.0.3", "fd00::2", NULL};
    osa_fixture_pair(lan, aa, ba, &a, &b);
}

static void teardown(void)
{
    glan_sg_destroy(a);
    glan_sg_destroy(b);
    struct glan_lan_stats st;
    glan_lan_stats(lan, &st);
    ck_assert_uint_eq(st.buffers_in_use, 0);
    glan_lan_destroy(lan);
}

static void check_udp(const struct sg_rx *r, size_t len, uint8_t fill, size_t hdr)
{
    ck_assert_uint_eq(r->len, len);
    for (size_t i = hdr; i < len; i++)
        ck_assert_int_eq(r->data[i], fill);
}

START_TEST(ipv4_both_ways)
{
    uint8_t d[2000];
    size_t n = glan_sg_udp4(d, "10.1.0.1", "10.1.0.2", 1000, 0xab);
    struct sg_pkt p = {.flags = QETH_CAST_UNICAST, .data = d, .len = (uint32_t)n};
    unsigned irq0 = b->host.interrupts;
    ck_assert_int_eq(glan_sg_send(a, &p, 1, 0), SLSB_P_OUTPUT_EMPTY);
    ck_assert_uint_gt(b->host.interrupts, irq0);
    ck_assert_uint_gt(b->host.thin_interrupts, 0);
    ck_assert_int_eq(*(uint8_t *)glan_sg_ptr(b, b->dsci), 0x01);
    ck_assert_int_eq(*(uint8_t *)glan_sg_ptr(b, b->alsi), 0x01);
    ck_assert_int_eq(glan_sg_recv(b, rx, 256), 1);
    ck_assert_int_eq(rx[0].flags, QETH_CAST_UNICAST);
    check_udp(&rx[0], n, 0xab, 28);
    ck_assert_int_eq(memcmp(rx[0].data, d, n), 0);

    /* Back, to the second address of b's interface and from it. */
    n = glan_sg_udp4(d, "10.1.0.3", "10.1.0.1", 1472, 0xcd);
    p.data = d;
    p.len = (uint32_t)n;
    ck_assert_int_eq(glan_sg_send(b, &p, 1, 1), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_recv(a, rx, 256), 1);
    check_udp(&rx[0], n, 0xcd, 28);
}
END_TEST

START_TEST(ipv6_plain_and_passthru)
{
    uint8_t d[10000];
    size_t n = glan_sg_udp6(d, "fd00::1", "fd00::2", 8000, 0x5a);
    struct sg_pkt p = {.flags = QETH_CAST_UNICAST | QETH_HDR_IPV6, .data = d, .len = (uint32_t)n};
    ck_assert_int_eq(glan_sg_send(a, &p, 1, 1), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_recv(b, rx, 256), 1);
    ck_assert_int_eq(rx[0].flags, QETH_CAST_UNICAST | QETH_HDR_IPV6);
    ck_assert_int_eq(memcmp(rx[0].data, d, n), 0);

    /* Linux on an OSD sends IPv6 with its Ethernet header, PASSTHRU. */
    uint8_t f[10100];
    dg_eth(f, b->mac, a->mac, ET_IPV6, 0);
    n = glan_sg_udp6(f + 14, "fd00::1", "fd00::2", 100, 0x77);
    p.flags = QETH_CAST_UNICAST | QETH_HDR_IPV6 | QETH_HDR_PASSTHRU;
    p.data = f;
    p.len = (uint32_t)(n + 14);
    ck_assert_int_eq(glan_sg_send(a, &p, 1, 0), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_recv(b, rx, 256), 1);
    ck_assert_uint_eq(rx[0].len, n);
    ck_assert_int_eq(memcmp(rx[0].data, f + 14, n), 0);
}
END_TEST

/* Send a Neighbour Solicitation from a (source src, "::" for DAD) for
 * target, in a passthrough frame as Linux does on an OSD. */
static void send_ns(const char *src, const char *target)
{
    uint8_t f[14 + 40 + 32];
    size_t h = dg_eth(f, (const uint8_t[]){0x33, 0x33, 0, 0, 0, 0}, a->mac, ET_IPV6, 0);
    struct glan_addr s6, t6;
    ck_assert_int_eq(glan_addr_parse(src, &s6), 0);
    ck_assert_int_eq(glan_addr_parse(target, &t6), 0);
    struct glan_addr group = dg_solicited_node(&t6); /* to the target's group */
    dg_nd(f + h, 135, &s6, &group, &t6, a->mac, 0);
    struct sg_pkt p = {.flags = QETH_CAST_MULTICAST | QETH_HDR_IPV6 | QETH_HDR_PASSTHRU,
                       .data = f,
                       .len = sizeof f};
    ck_assert_int_eq(glan_sg_send(a, &p, 1, 0), SLSB_P_OUTPUT_EMPTY);
}

START_TEST(neighbour_solicitation_answered)
{
    struct glan_addr src, tgt;
    glan_addr_parse("fd00::1", &src);
    glan_addr_parse("fd00::2", &tgt);
    send_ns("fd00::1", "fd00::2");
    ck_assert_int_eq(glan_sg_recv(a, rx, 256), 1);
    const uint8_t *na = rx[0].data;
    ck_assert_uint_eq(rx[0].len, 72);
    ck_assert_int_eq(na[6], 58);
    ck_assert_int_eq(na[40], 136);
    ck_assert_int_eq(na[44], 0x60); /* solicited, override */
    ck_assert_int_eq(memcmp(na + 8, tgt.bytes, 16), 0);
    ck_assert_int_eq(memcmp(na + 24, src.bytes, 16), 0);
    ck_assert_int_eq(memcmp(na + 48, tgt.bytes, 16), 0);
    ck_assert_int_eq(memcmp(na + 66, b->mac, 6), 0);
    ck_assert_int_eq(glan_sg_recv(b, rx, 256), 0); /* absorbed */
    /* Beyond the LAN: the router answers. */
    send_ns("fd00::1", "2001:db8::1");
    ck_assert_int_eq(glan_sg_recv(a, rx, 256), 1);
    ck_assert_int_eq(rx[0].data[66], 0x02);
    ck_assert_int_eq(rx[0].data[71], 0xfe);
    /* DAD probe for b's address: taken, told to all nodes. */
    send_ns("::", "fd00::2");
    ck_assert_int_eq(glan_sg_recv(a, rx, 256), 1);
    ck_assert_int_eq(rx[0].data[24], 0xff);
    ck_assert_int_eq(rx[0].data[44], 0x20);
    /* DAD for a free address and NS for its own: not answered. */
    send_ns("::", "fd00::77");
    send_ns("fd00::1", "fd00::1");
    ck_assert_int_eq(glan_sg_recv(a, rx, 256), 0);
    struct glan_osa_stats st;
    glan_osa_get_stats(a->osa, &st);
    ck_assert_uint_eq(st.out_absorbed, 3);
}
END_TEST

START_TEST(arp_answered_for_registered)
{
    uint8_t f[14 + 28];
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    size_t h = dg_eth(f, bcast, a->mac, ET_ARP, 0);
    uint8_t spa[4] = {10, 1, 0, 1}, tpa[4] = {10, 1, 0, 3};
    dg_arp(f + h, 1, a->mac, spa, tpa);
    struct sg_pkt p = {
        .flags = QETH_CAST_BROADCAST | QETH_HDR_PASSTHRU, .data = f, .len = sizeof f};
    ck_assert_int_eq(glan_sg_send(a, &p, 1, 0), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_recv(a, rx, 256), 1);
    ck_assert_int_eq(rx[0].flags & QETH_HDR_PASSTHRU, QETH_HDR_PASSTHRU);
    ck_assert_int_eq(be16(rx[0].data + 14 + 6), 2);
    ck_assert_int_eq(memcmp(rx[0].data + 14 + 8, b->mac, 6), 0);
    ck_assert_int_eq(memcmp(rx[0].data + 14 + 14, tpa, 4), 0);
    /* For an address nobody holds: absorbed, no answer. */
    tpa[3] = 99;
    dg_arp(f + h, 1, a->mac, spa, tpa);
    ck_assert_int_eq(glan_sg_send(a, &p, 1, 0), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_recv(a, rx, 256), 0);
    ck_assert_int_eq(glan_sg_recv(b, rx, 256), 0);
}
END_TEST

START_TEST(packing_many_per_buffer)
{
    /* Each datagram a sends is drained into b at once, one buffer each.
     * When b has no buffer free, datagrams wait in the base; the SIGA-r
     * that hands buffers back drains them all in one pass: packed into
     * one input buffer, one interrupt. */
    uint8_t d[28][200];
    struct sg_pkt p[28];
    for (int i = 0; i < 28; i++) {
        size_t n = glan_sg_udp4(d[i], "10.1.0.1", "10.1.0.2", 64, (uint8_t)i);
        p[i] = (struct sg_pkt){.flags = QETH_CAST_UNICAST, .data = d[i], .len = (uint32_t)n};
    }
    for (int i = 0; i < SG_IN_BUFS; i++)
        ck_assert_int_eq(glan_sg_send(a, &p[i], 1, 0), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_send(a, &p[SG_IN_BUFS], 28 - SG_IN_BUFS, 0), SLSB_P_OUTPUT_EMPTY);
    struct glan_port_stats ps;
    glan_port_stats(glan_osa_port(b->osa), &ps);
    ck_assert_uint_eq(ps.queued, 28 - SG_IN_BUFS);
    struct glan_osa_stats st0, st1;
    glan_osa_get_stats(b->osa, &st0);
    unsigned irq0 = b->host.interrupts;
    ck_assert_int_eq(glan_sg_recv(b, rx, 256), SG_IN_BUFS);
    glan_osa_get_stats(b->osa, &st1);
    ck_assert_uint_eq(st1.in_packets - st0.in_packets, 28 - SG_IN_BUFS);
    ck_assert_uint_eq(st1.in_buffers - st0.in_buffers, 1);
    ck_assert_uint_eq(b->host.interrupts - irq0, 1);
    ck_assert_int_eq(glan_sg_recv(b, rx, 256), 28 - SG_IN_BUFS);
    for (int i = SG_IN_BUFS; i < 28; i++)
        ck_assert_int_eq(memcmp(rx[i - SG_IN_BUFS].data, d[i], p[i].len), 0);
}
END_TEST

START_TEST(broadcast_and_multicast)
{
    uint8_t d[200];
    size_t n = glan_sg_udp4(d, "10.1.0.1", "224.0.0.1", 50, 1);
    struct sg_pkt p = {.flags = QETH_CAST_MULTICAST, .data = d, .len = (uint32_t)n};
    ck_assert_int_eq(glan_sg_send(a, &p, 1, 0), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_recv(b, rx, 256), 1);
    ck_assert_int_eq(rx[0].flags & QETH_CAST_MASK, QETH_CAST_MULTICAST);
    n = glan_sg_udp4(d, "10.1.0.1", "10.1.0.255", 50, 2);
    p.flags = QETH_CAST_BROADCAST;
    p.len = (uint32_t)n;
    ck_assert_int_eq(glan_sg_send(a, &p, 1, 0), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_recv(b, rx, 256), 1);
    ck_assert_int_eq(rx[0].flags & QETH_CAST_MASK, QETH_CAST_BROADCAST);
    ck_assert_int_eq(glan_sg_recv(a, rx, 256), 0); /* not back to the sender */
    /* IPv6 multicast to all nodes. */
    n = glan_sg_udp6(d, "fd00::1", "ff02::1", 20, 3);
    p.flags = QETH_CAST_MULTICAST | QETH_HDR_IPV6;
    p.len = (uint32_t)n;
    ck_assert_int_eq(glan_sg_send(a, &p, 1, 0), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_recv(b, rx, 256), 1);
}
END_TEST

START_TEST(receiver_out_of_buffers)
{
    /* 40 datagrams of 9000 bytes: b has 16 buffers of 64 KiB (7 each).
     * What does not fit waits in the base until b hands buffers back. */
    static uint8_t d[9100];
    size_t n = glan_sg_udp4(d, "10.1.0.1", "10.1.0.2", 8972, 0x11);
    struct sg_pkt p = {.flags = QETH_CAST_UNICAST, .data = d, .len = (uint32_t)n};
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(glan_sg_send(a, &p, 1, i & 1), SLSB_P_OUTPUT_EMPTY);
    int got = 0;
    for (int round = 0; round < 100 && got < 200; round++) {
        int k = glan_sg_recv(b, rx, 256);
        for (int i = 0; i < k; i++)
            check_udp(&rx[i], n, 0x11, 28);
        got += k;
    }
    ck_assert_int_eq(got, 200);
    struct glan_port_stats ps;
    glan_port_stats(glan_osa_port(a->osa), &ps);
    ck_assert_uint_eq(ps.delivered, 200);
    ck_assert_uint_eq(ps.queued, 0);
}
END_TEST

/* ---- large datagrams: up to 57344 bytes, over 16 elements ------------------------- */

static uint8_t big_rx[2][65536];

/* Elements of a's output buffer i up to LAST_ENTRY. */
static unsigned out_elements(struct simguest *g, unsigned i)
{
    const struct sbal *s = glan_sg_ptr(g, g->sbal[1 + SG_TX_QUEUE][i]);
    unsigned e = 0;
    while (e < QDIO_MAX_ELEMENTS && !(s->element[e].eflags & SBAL_EFLAGS_LAST_ENTRY))
        e++;
    return e + 1;
}

START_TEST(large_datagram_16_elements_out)
{
    /* 57344 bytes, the largest MTU the device offers: with the header in an
     * element of its own (as qeth does when the skb has no headroom) the
     * data takes 15 elements of a page each, 16 in all; without, 15. */
    static uint8_t d[57344];
    size_t n = glan_sg_udp4(d, "10.1.0.1", "10.1.0.2", 57344 - 28, 0x5a);
    ck_assert_uint_eq(n, 57344);
    for (int i = 0; i < 200; i++)
        d[28 + i] = (uint8_t)i; /* not all one byte: the order of the pieces shows */
    for (int split = 1; split >= 0; split--) {
        struct sg_pkt p = {.flags = QETH_CAST_UNICAST, .data = d, .len = (uint32_t)n};
        unsigned at = a->out_next;
        ck_assert_int_eq(glan_sg_send(a, &p, 1, split), SLSB_P_OUTPUT_EMPTY);
        ck_assert_uint_eq(out_elements(a, at), split ? 16 : 15);
        rx[0].big = big_rx[0];
        rx[0].big_cap = sizeof big_rx[0];
        ck_assert_int_eq(glan_sg_recv(b, rx, 1), 1);
        ck_assert_uint_eq(rx[0].len, 57344);
        ck_assert_mem_eq(big_rx[0], d, n);
        rx[0].big = NULL;
    }
    /* IPv6, b to a */
    n = glan_sg_udp6(d, "fd00::2", "fd00::1", 57344 - 48, 0x6b);
    struct sg_pkt p6 = {.flags = QETH_CAST_UNICAST | QETH_HDR_IPV6, .data = d, .len = (uint32_t)n};
    ck_assert_int_eq(glan_sg_send(b, &p6, 1, 1), SLSB_P_OUTPUT_EMPTY);
    rx[0].big = big_rx[0];
    rx[0].big_cap = sizeof big_rx[0];
    ck_assert_int_eq(glan_sg_recv(a, rx, 1), 1);
    ck_assert_mem_eq(big_rx[0], d, n);
    rx[0].big = NULL;
    /* In the large class, and given back. */
    struct glan_lan_stats st;
    glan_lan_stats(lan, &st);
    ck_assert_uint_eq(st.class_in_use[2], 0);
    ck_assert_uint_eq(st.delivered, 3);
}
END_TEST

START_TEST(large_datagram_16_elements_in)
{
    /* b's 16 input buffers filled by one large datagram each; then an
     * 8000-byte one and a 57344-byte one wait in the base, and go into one
     * input buffer together when b gives buffers back: the large one starts
     * in element 1 and ends in element 15, the buffer's last. */
    static uint8_t d[57344], s8[8000];
    size_t n = glan_sg_udp4(d, "10.1.0.1", "10.1.0.2", 57344 - 28, 0x77);
    for (int i = 0; i < 4096; i++)
        d[28 + i * 13] = (uint8_t)(i * 7);
    size_t n8 = glan_sg_udp4(s8, "10.1.0.1", "10.1.0.2", 8000 - 28, 0x88);
    struct sg_pkt p = {.flags = QETH_CAST_UNICAST, .data = d, .len = (uint32_t)n};
    struct sg_pkt p8 = {.flags = QETH_CAST_UNICAST, .data = s8, .len = (uint32_t)n8};
    for (int i = 0; i < SG_IN_BUFS; i++)
        ck_assert_int_eq(glan_sg_send(a, &p, 1, 0), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_send(a, &p8, 1, 0), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_send(a, &p, 1, 1), SLSB_P_OUTPUT_EMPTY);
    struct glan_port_stats ps;
    glan_port_stats(glan_osa_port(b->osa), &ps);
    ck_assert_uint_eq(ps.queued, 2);
    /* The first 16: one buffer each. */
    ck_assert_int_eq(glan_sg_recv(b, rx, SG_IN_BUFS), SG_IN_BUFS);
    for (int i = 0; i < SG_IN_BUFS; i++) {
        ck_assert_uint_eq(rx[i].len, n);
        ck_assert_mem_eq(rx[i].data, d, sizeof rx[i].data); /* its first bytes */
    }
    /* The two that waited, in buffer in_next, before the guest takes it. */
    const struct sbal *sb = glan_sg_ptr(b, b->sbal[0][b->in_next]);
    ck_assert_uint_eq(be32(sb->element[0].length), 4096);
    ck_assert_int_eq(sb->element[14].eflags & SBAL_EFLAGS_LAST_ENTRY, 0);
    ck_assert_int_ne(sb->element[15].eflags & SBAL_EFLAGS_LAST_ENTRY, 0);
    ck_assert_uint_eq(be32(sb->element[15].length), 2 * 32 + n8 + n - 15 * 4096);
    for (int k = 0; k < 2; k++) {
        rx[k].big = big_rx[k];
        rx[k].big_cap = sizeof big_rx[k];
    }
    ck_assert_int_eq(glan_sg_recv(b, rx, 2), 2);
    ck_assert_uint_eq(rx[0].len, n8);
    ck_assert_mem_eq(big_rx[0], s8, n8);
    ck_assert_uint_eq(rx[1].len, n);
    ck_assert_mem_eq(big_rx[1], d, n);
    rx[0].big = rx[1].big = NULL;
    glan_port_stats(glan_osa_port(a->osa), &ps);
    ck_assert_uint_eq(ps.delivered, SG_IN_BUFS + 2);
}
END_TEST

START_TEST(large_datagram_over_the_limit)
{
    /* One byte over 57344, the device's MTU (the receiver's too): the base
     * holds it to the receiver's MTU like a router (docs/design.md, "Path
     * MTU"): an IPv4 datagram without DF arrives as two fragments, and is
     * counted `fragmented`; the books balance with the fragments the base
     * made. */
    static uint8_t d[57345];
    size_t n = glan_sg_udp4(d, "10.1.0.1", "10.1.0.2", 57345 - 28, 0x99);
    ck_assert_uint_eq(d[6] & 0x40, 0); /* no DF */
    struct sg_pkt p = {.flags = QETH_CAST_UNICAST, .data = d, .len = (uint32_t)n};
    ck_assert_int_eq(glan_sg_send(a, &p, 1, 1), SLSB_P_OUTPUT_EMPTY);
    rx[0].big = big_rx[0];
    rx[0].big_cap = sizeof big_rx[0];
    ck_assert_int_eq(glan_sg_recv(b, rx, 2), 2);
    ck_assert_uint_le(rx[0].len, 57344);
    ck_assert_uint_eq(rx[0].len + rx[1].len, n + 20); /* two headers, one payload */
    rx[0].big = NULL;
    struct glan_port_stats ps;
    glan_port_stats(glan_osa_port(a->osa), &ps);
    ck_assert_uint_eq(ps.dropped[GLAN_DROP_FRAGMENTED], 1);
    ck_assert_uint_eq(ps.frags_sent, 2);
    ck_assert_uint_eq(ps.sent_packets, 1);
    struct glan_lan_stats st;
    glan_lan_stats(lan, &st);
    ck_assert_uint_eq(st.frags_sent, 2);
    uint64_t drops = 0;
    for (int r = 0; r < GLAN_DROP_COUNT; r++)
        drops += st.dropped[r];
    ck_assert_uint_eq(st.sent_packets + st.fanout, st.delivered + drops + st.queued);
    /* and the next one, at the limit, goes whole */
    n = glan_sg_udp4(d, "10.1.0.1", "10.1.0.2", 57344 - 28, 0x99);
    p.len = (uint32_t)n;
    ck_assert_int_eq(glan_sg_send(a, &p, 1, 1), SLSB_P_OUTPUT_EMPTY);
    rx[0].big = big_rx[0];
    rx[0].big_cap = sizeof big_rx[0];
    ck_assert_int_eq(glan_sg_recv(b, rx, 1), 1);
    ck_assert_uint_eq(rx[0].len, n);
    ck_assert_mem_eq(big_rx[0], d, n);
    rx[0].big = NULL;
}
END_TEST

START_TEST(halt_mid_traffic)
{
    uint8_t d[2000];
    size_t n = glan_sg_udp4(d, "10.1.0.1", "10.1.0.2", 1400, 0x22);
    struct sg_pkt p = {.flags = QETH_CAST_UNICAST, .data = d, .len = (uint32_t)n};
    for (int i = 0; i < 150; i++)
        ck_assert_int_eq(glan_sg_send(a, &p, 1, 0), SLSB_P_OUTPUT_EMPTY);
    /* b is full and has copies waiting; halt its data device now. */
    glan_osa_halt(b->osa, b->dt);
    ck_assert_int_eq(b->host.ended[b->dt], 1);
    ck_assert_int_eq(glan_osa_siga_r(b->osa, 0x80000000u), 1);
    /* Senders go on: copies for b are dropped as port_down, not stuck. */
    ck_assert_int_eq(glan_sg_send(a, &p, 1, 0), SLSB_P_OUTPUT_EMPTY);
    struct glan_port_stats ps;
    glan_port_stats(glan_osa_port(a->osa), &ps);
    ck_assert_uint_gt(ps.dropped[GLAN_DROP_PORT_DOWN], 0);
    /* a still talks to itself fine: halt on b touched nothing of a. */
    ck_assert_int_eq(glan_sg_send(a, &p, 1, 0), SLSB_P_OUTPUT_EMPTY);
}
END_TEST

/* Prime guest g's output buffer i by hand with one UDP datagram from
 * 10.1.0.1 to 10.1.0.2 of n bytes (element 0's sflags as given), as its
 * driver would, without a SIGA; returns its SLSB. */
static uint8_t *prime_by_hand(struct simguest *g, unsigned i, size_t n, uint8_t fill,
                              uint8_t sflags)
{
    uint8_t d[1500];
    size_t len = glan_sg_udp4(d, "10.1.0.1", "10.1.0.2", n, fill);
    struct sbal *s = glan_sg_ptr(g, g->sbal[1 + SG_TX_QUEUE][i]);
    uint64_t page = g->out_pages + (uint64_t)i * 4 * 4096;
    memset(s, 0, sizeof *s);
    struct qeth_hdr_l3 h = {.id = QETH_HEADER_TYPE_LAYER3, .flags = QETH_CAST_UNICAST};
    put16(h.length, (uint16_t)len);
    memcpy(glan_sg_ptr(g, page), &h, sizeof h);
    memcpy(glan_sg_ptr(g, page + 32), d, len);
    put64(s->element[0].addr, page);
    put32(s->element[0].length, (uint32_t)(32 + len));
    s->element[0].eflags = SBAL_EFLAGS_LAST_ENTRY;
    s->element[0].sflags = sflags;
    uint8_t *slsb = glan_sg_ptr(g, g->slsb[1 + SG_TX_QUEUE]);
    __atomic_store_n(&slsb[i], SLSB_CU_OUTPUT_PRIMED, __ATOMIC_RELEASE);
    return slsb;
}

START_TEST(pci_request_siga_s_and_plain_pci)
{
    /* PCI_REQ in element 0: the sender gets an interrupt once the buffer is
     * done (Linux asks for it when packing). */
    unsigned i = a->out_next;
    uint8_t *slsb = prime_by_hand(a, i, 60, 5, SBAL_SFLAGS0_PCI_REQ);
    a->out_next = qdio_next(i);
    unsigned irq0 = a->host.interrupts;
    /* SIGA-s syncs: the primed buffer is processed as by SIGA-w. */
    ck_assert_int_eq(glan_osa_siga_s(a->osa, 0x80000000u >> SG_TX_QUEUE, 0), 0);
    ck_assert_int_eq(slsb[i], SLSB_P_OUTPUT_EMPTY);
    ck_assert_uint_eq(a->host.interrupts - irq0, 1);
    ck_assert_int_eq(glan_sg_recv(b, rx, 256), 1);
}
END_TEST

/* The guest of tack_on: it primes the next buffer, with no SIGA, just
 * before the device stores the state of the one it walks. */
struct tack {
    struct simguest *g;
    uint64_t slsb_addr; /* the state the device's store triggers on */
    unsigned next;      /* the buffer primed then */
    int done;
};

static void tack_on_mem(void *arg, uint64_t addr, size_t len, unsigned how)
{
    struct tack *t = arg;
    if (!t->done && (how & GLAN_OSA_MEM_WRITE) && len == 1 && addr == t->slsb_addr) {
        t->done = 1;
        prime_by_hand(t->g, t->next, 200, 7, 0);
    }
}

START_TEST(buffer_primed_during_the_walk_without_siga)
{
    /* Linux's qdio gives no SIGA for a buffer it primes while the one
     * before is still primed ("tack on"): the adapter is busy with the
     * queue.  The walk finds it by a second look before it ends; without
     * that, the buffer and all after it would wait for good. */
    unsigned i = a->out_next, j = qdio_next(i);
    uint8_t *slsb = prime_by_hand(a, i, 100, 6, 0);
    struct tack t = {a, a->slsb[1 + SG_TX_QUEUE] + i, j, 0};
    a->host.on_mem = tack_on_mem;
    a->host.on_mem_arg = &t;
    ck_assert_int_eq(glan_osa_siga_w(a->osa, 0x80000000u >> SG_TX_QUEUE), 0);
    a->host.on_mem = NULL;
    a->out_next = qdio_next(j);
    ck_assert_int_eq(t.done, 1);
    ck_assert_int_eq(slsb[i], SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(slsb[j], SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_recv(b, rx, 256), 2);
    check_udp(&rx[0], 20 + 8 + 100, 6, 28);
    check_udp(&rx[1], 20 + 8 + 200, 7, 28);
    struct glan_osa_stats os;
    glan_osa_get_stats(a->osa, &os);
    ck_assert_uint_eq(os.out_tacked, 1);
    /* and the guest goes on as usual after it */
    uint8_t d[100];
    struct sg_pkt p = {.flags = QETH_CAST_UNICAST,
                       .data = d,
                       .len = (uint32_t)glan_sg_udp4(d, "10.1.0.1", "10.1.0.2", 50, 8)};
    ck_assert_int_eq(glan_sg_send(a, &p, 1, 0), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_recv(b, rx, 256), 1);
}
END_TEST

START_TEST(many_guests)
{
    /* Eight guests, each sends one IPv4 and one IPv6 datagram to every
     * other; each receives exactly what was meant for it. */
    enum { N = 8 };
    struct simguest *g[N];
    char name[N][8], v4[N][16], v6[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(name[i], sizeof name[i], "%04x", 0x1000 + i * 4);
        snprintf(v4[i], sizeof v4[i], "10.2.0.%d", i + 1);
        snprintf(v6[i], sizeof v6[i], "fd02::%d", i + 1);
        g[i] = glan_sg_create(lan, name[i], (uint16_t)(0x1000 + i * 4));
        ck_assert_ptr_nonnull(g[i]);
        const char *addrs[] = {v4[i], v6[i], NULL};
        ck_assert_int_eq(glan_sg_bringup(g[i], addrs), 0);
    }
    uint8_t d[400];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            if (i == j)
                continue;
            size_t n = glan_sg_udp4(d, v4[i], v4[j], 100, (uint8_t)(i * N + j));
            struct sg_pkt p = {.flags = QETH_CAST_UNICAST, .data = d, .len = (uint32_t)n};
            ck_assert_int_eq(glan_sg_send(g[i], &p, 1, 0), SLSB_P_OUTPUT_EMPTY);
            n = glan_sg_udp6(d, v6[i], v6[j], 100, (uint8_t)(i * N + j));
            p = (struct sg_pkt){
                .flags = QETH_CAST_UNICAST | QETH_HDR_IPV6, .data = d, .len = (uint32_t)n};
            ck_assert_int_eq(glan_sg_send(g[i], &p, 1, 1), SLSB_P_OUTPUT_EMPTY);
        }
    for (int j = 0; j < N; j++) {
        int k = glan_sg_recv(g[j], rx, 256);
        ck_assert_int_eq(k, 2 * (N - 1));
        for (int m = 0; m < k; m++) {
            size_t hl = rx[m].flags & QETH_HDR_IPV6 ? 48 : 28;
            int from = rx[m].data[hl] / N, to = rx[m].data[hl] % N;
            ck_assert_int_eq(to, j);
            ck_assert_int_ne(from, j);
        }
    }
    for (int i = 0; i < N; i++)
        glan_sg_destroy(g[i]);
}
END_TEST

START_TEST(pci_without_thin_interrupts)
{
    struct simguest *c = glan_sg_create(lan, "0800", 0x0800);
    c->use_thin = 0;
    static const char *const ca[] = {"10.1.0.8", NULL};
    ck_assert_int_eq(glan_sg_bringup(c, ca), 0);
    uint8_t d[200];
    size_t n = glan_sg_udp4(d, "10.1.0.1", "10.1.0.8", 60, 5);
    struct sg_pkt p = {.flags = QETH_CAST_UNICAST, .data = d, .len = (uint32_t)n};
    ck_assert_int_eq(glan_sg_send(a, &p, 1, 0), SLSB_P_OUTPUT_EMPTY);
    ck_assert_uint_eq(c->host.interrupts, 1);
    ck_assert_uint_eq(c->host.thin_interrupts, 0);
    ck_assert_int_eq(glan_sg_recv(c, rx, 256), 1);
    glan_sg_destroy(c);
}
END_TEST

/* A stand-in uplink: records what the base hands it. */
struct fake_uplink {
    int n;
    uint8_t last[2000];
    uint32_t last_len;
};

static int uplink_deliver(void *ctx, const struct glan_dgram *dg)
{
    struct fake_uplink *u = ctx;
    u->n++;
    u->last_len = dg->len < sizeof u->last ? dg->len : sizeof u->last;
    memcpy(u->last, dg->data, u->last_len);
    return 0;
}

START_TEST(guest_and_uplink)
{
    static const struct glan_port_ops ops = {.deliver = uplink_deliver};
    struct fake_uplink u = {0};
    struct glan_port_info info = {.name = "uplink", .kind = GLAN_PORT_UPLINK};
    struct glan_port *up;
    ck_assert_int_eq(glan_port_attach(lan, &info, &ops, &u, &up), 0);
    /* Guest to an address nobody on the LAN holds: out the uplink. */
    uint8_t d[2000];
    size_t n = glan_sg_udp4(d, "10.1.0.1", "192.0.2.7", 300, 0x44);
    struct sg_pkt p = {.flags = QETH_CAST_UNICAST, .data = d, .len = (uint32_t)n};
    ck_assert_int_eq(glan_sg_send(a, &p, 1, 0), SLSB_P_OUTPUT_EMPTY);
    n = glan_sg_udp6(d + 1000, "fd00::1", "2001:db8::9", 200, 0x45);
    p = (struct sg_pkt){
        .flags = QETH_CAST_UNICAST | QETH_HDR_IPV6, .data = d + 1000, .len = (uint32_t)n};
    ck_assert_int_eq(glan_sg_send(a, &p, 1, 1), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(u.n, 2);
    ck_assert_int_eq(memcmp(u.last, d + 1000, n), 0);
    /* From the uplink to the guest's addresses. */
    n = glan_sg_udp4(d, "192.0.2.7", "10.1.0.3", 500, 0x46);
    ck_assert_int_eq(glan_port_send(up, d, n, NULL), GLAN_DROP_NONE);
    n = glan_sg_udp6(d + 1000, "2001:db8::9", "fd00::2", 500, 0x47);
    ck_assert_int_eq(glan_port_send(up, d + 1000, n, NULL), GLAN_DROP_NONE);
    ck_assert_int_eq(glan_sg_recv(b, rx, 256), 2);
    ck_assert_int_eq(rx[0].flags, QETH_CAST_UNICAST);
    ck_assert_int_eq(rx[1].flags, QETH_CAST_UNICAST | QETH_HDR_IPV6);
    ck_assert_int_eq(memcmp(rx[1].data, d + 1000, n), 0);
    glan_port_detach(up);
}
END_TEST

START_TEST(halt_then_establish_again)
{
    /* Recovery without a clear: halt the data device, establish and
     * activate again, traffic flows. */
    glan_osa_halt(b->osa, b->dt);
    ck_assert_int_eq(glan_sg_establish(b), 0);
    ck_assert_int_eq(glan_sg_activate(b), 0);
    ck_assert_int_eq(glan_sg_init_input(b), 0);
    uint8_t d[200];
    size_t n = glan_sg_udp4(d, "10.1.0.1", "10.1.0.2", 60, 5);
    struct sg_pkt p = {.flags = QETH_CAST_UNICAST, .data = d, .len = (uint32_t)n};
    ck_assert_int_eq(glan_sg_send(a, &p, 1, 0), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_recv(b, rx, 256), 1);
    /* A second ESTABLISH while the queues run is refused. */
    ck_assert_int_ne(glan_sg_establish(b), 0);
}
END_TEST

struct hammer {
    struct simguest *me;
    const char *src, *dst;
    int sent, got;
};

static void *hammer_run(void *arg)
{
    struct hammer *h = arg;
    static __thread struct sg_rx r[256];
    uint8_t d[600];
    size_t n = glan_sg_udp4(d, h->src, h->dst, 500, 0x33);
    struct sg_pkt p[4];
    for (int i = 0; i < 4; i++)
        p[i] = (struct sg_pkt){.flags = QETH_CAST_UNICAST, .data = d, .len = (uint32_t)n};
    for (int i = 0; i < 2000; i++) {
        /* Sent, or primed and waiting for the peer's room (back-pressure):
         * taken later, when the peer made room and we pump. */
        int st = glan_sg_send(h->me, p, 4, i & 1);
        if (st == SLSB_P_OUTPUT_EMPTY || st == SLSB_CU_OUTPUT_PRIMED)
            h->sent += 4;
        h->got += glan_sg_recv(h->me, r, 256);
    }
    return NULL;
}

struct pump {
    struct simguest *g;
    _Atomic int stop;
    _Atomic int tried; /* the first buffer was handed over */
    int sent;
};

static void *pump_run(void *arg)
{
    struct pump *p = arg;
    uint8_t d[1600];
    size_t n = glan_sg_udp4(d, "10.1.0.1", "10.1.0.2", 1400, 0x66);
    struct sg_pkt pk[4];
    for (int i = 0; i < 4; i++)
        pk[i] = (struct sg_pkt){.flags = QETH_CAST_UNICAST, .data = d, .len = (uint32_t)n};
    while (!p->stop) {
        /* Sent, or primed and waiting for the receiver's room */
        int st = glan_sg_send(p->g, pk, 4, 0);
        if (st == SLSB_P_OUTPUT_EMPTY || st == SLSB_CU_OUTPUT_PRIMED)
            p->sent += 4;
        atomic_store(&p->tried, 1);
    }
    return NULL;
}

START_TEST(clear_and_detach_under_traffic)
{
    /* a sends to b without pause from another thread while b's read and
     * write channels are cleared, then b is destroyed: nothing hangs, a's
     * datagrams end delivered or dropped with a reason. */
    struct pump pu = {.g = a};
    pthread_t t;
    pthread_create(&t, NULL, pump_run, &pu);
    /* under traffic: once the sender has started (on a loaded machine its
     * thread may come late) */
    while (!atomic_load(&pu.tried))
        sched_yield();
    for (int i = 0; i < 20; i++)
        glan_sg_recv(b, rx, 256);
    glan_osa_clear(b->osa, b->wr);
    glan_osa_clear(b->osa, b->rd);
    for (int i = 0; i < 20; i++)
        glan_sg_recv(b, rx, 256);
    glan_sg_destroy(b);
    b = NULL;
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    pu.stop = 1;
    pthread_join(t, NULL);
    /* A walk that waited for b: b's going released it. */
    glan_sg_pump(a);
    ck_assert_int_gt(pu.sent, 0);
    struct glan_port_stats ps;
    glan_port_stats(glan_osa_port(a->osa), &ps);
    uint64_t dropped = 0;
    for (int r = 0; r < GLAN_DROP_COUNT; r++)
        dropped += ps.dropped[r];
    ck_assert_uint_eq(ps.sent_packets, ps.delivered + dropped + ps.queued);
    ck_assert_uint_eq(ps.sent_packets, (uint64_t)pu.sent);
}
END_TEST

START_TEST(two_senders_hammer_each_other)
{
    struct hammer ha = {.me = a, .src = "10.1.0.1", .dst = "10.1.0.2"};
    struct hammer hb = {.me = b, .src = "10.1.0.2", .dst = "10.1.0.1"};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, hammer_run, &ha);
    pthread_create(&tb, NULL, hammer_run, &hb);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    /* Drain what is left, single-threaded now: the receivers make room,
     * the senders' walks that waited go on. */
    for (int i = 0; i < 200; i++) {
        ha.got += glan_sg_recv(a, rx, 256);
        hb.got += glan_sg_recv(b, rx, 256);
        glan_sg_pump(a);
        glan_sg_pump(b);
    }
    ck_assert_int_gt(ha.sent, 0);
    ck_assert_int_gt(hb.sent, 0);
    struct glan_port_stats pa, pb;
    glan_port_stats(glan_osa_port(a->osa), &pa);
    glan_port_stats(glan_osa_port(b->osa), &pb);
    /* A sender waits for room (back-pressure): nothing is dropped, and
     * every datagram primed arrives. */
    for (int r = 0; r < GLAN_DROP_COUNT; r++) {
        ck_assert_uint_eq(pa.dropped[r], 0);
        ck_assert_uint_eq(pb.dropped[r], 0);
    }
    ck_assert_uint_eq(pa.sent_packets, (uint64_t)ha.sent);
    ck_assert_uint_eq(pb.sent_packets, (uint64_t)hb.sent);
    ck_assert_uint_eq(pa.delivered, (uint64_t)ha.sent);
    ck_assert_uint_eq((uint64_t)hb.got, pa.delivered);
    ck_assert_uint_eq((uint64_t)ha.got, pb.delivered);
}
END_TEST

/* Back-pressure: a sends far more than b's input buffers and its wait queue
 * hold while b takes nothing.  a's output walk stops at the first datagram
 * b has no room for, its buffer stays primed (nothing dropped), and the
 * walk goes on as b takes its input: every datagram arrives, in order. */
START_TEST(fast_sender_to_slow_receiver_waits_and_loses_nothing)
{
    enum { PER = 8 };
    uint8_t d[1500];
    struct sg_pkt p[PER];
    int primed = 0, got = 0, next = 0, order_errors = 0;
    for (int i = 0; i < PER; i++)
        p[i] = (struct sg_pkt){.flags = QETH_CAST_UNICAST, .data = d, .len = 0};
    /* Prime until a buffer stays primed: the walk waits. */
    int st = SLSB_P_OUTPUT_EMPTY;
    while (st == SLSB_P_OUTPUT_EMPTY && primed < 100 * PER) {
        size_t n = glan_sg_udp4(d, "10.1.0.1", "10.1.0.2", 1400, (uint8_t)(primed / PER));
        for (int i = 0; i < PER; i++)
            p[i].len = (uint32_t)n;
        st = glan_sg_send(a, p, PER, 0);
        if (st == SLSB_P_OUTPUT_EMPTY || st == SLSB_CU_OUTPUT_PRIMED)
            primed += PER;
    }
    ck_assert_int_eq(st, SLSB_CU_OUTPUT_PRIMED);
    struct glan_osa_stats os;
    glan_osa_get_stats(a->osa, &os);
    ck_assert_uint_gt(os.out_waits, 0);
    struct glan_port_stats pa;
    glan_port_stats(glan_osa_port(a->osa), &pa);
    ck_assert_uint_gt(pa.waits, 0);
    ck_assert_uint_lt(pa.sent_packets, (uint64_t)primed); /* part of it still in a's buffers */
    /* b takes its input a little at a time; a's walk goes on each time. */
    for (int round = 0; round < 10000 && got < primed; round++) {
        int k = glan_sg_recv(b, rx, 256);
        for (int i = 0; i < k && i < 256; i++) {
            if (rx[i].data[28] != (uint8_t)(next / PER))
                order_errors++;
            next++;
        }
        got += k;
        glan_sg_pump(a);
    }
    ck_assert_int_eq(got, primed);
    ck_assert_int_eq(order_errors, 0);
    glan_port_stats(glan_osa_port(a->osa), &pa);
    for (int r = 0; r < GLAN_DROP_COUNT; r++)
        ck_assert_uint_eq(pa.dropped[r], 0);
    ck_assert_uint_eq(pa.sent_packets, (uint64_t)primed);
    ck_assert_uint_eq(pa.delivered, (uint64_t)primed);
    glan_osa_get_stats(a->osa, &os);
    ck_assert_uint_gt(os.out_resumed, 0);
    printf("osa_data: %d datagrams to a receiver that took its time: %llu walks waited, "
           "%llu resumed, nothing dropped\n",
           primed, (unsigned long long)os.out_waits, (unsigned long long)os.out_resumed);
}
END_TEST

Suite *osa_data_suite(void)
{
    Suite *s = suite_create("osa_data");
    TCase *tc = tcase_create("two guests");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, ipv4_both_ways);
    tcase_add_test(tc, ipv6_plain_and_passthru);
    tcase_add_test(tc, neighbour_solicitation_answered);
    tcase_add_test(tc, arp_answered_for_registered);
    tcase_add_test(tc, packing_many_per_buffer);
    tcase_add_test(tc, broadcast_and_multicast);
    tcase_add_test(tc, receiver_out_of_buffers);
    tcase_add_test(tc, halt_mid_traffic);
    tcase_add_test(tc, large_datagram_16_elements_out);
    tcase_add_test(tc, large_datagram_16_elements_in);
    tcase_add_test(tc, large_datagram_over_the_limit);
    tcase_add_test(tc, two_senders_hammer_each_other);
    tcase_add_test(tc, fast_sender_to_slow_receiver_waits_and_loses_nothing);
    tcase_add_test(tc, guest_and_uplink);
    tcase_add_test(tc, pci_request_siga_s_and_plain_pci);
    tcase_add_test(tc, buffer_primed_during_the_walk_without_siga);
    tcase_add_test(tc, many_guests);
    tcase_add_test(tc, halt_then_establish_again);
    tcase_add_test(tc, clear_and_detach_under_traffic);
    tcase_add_test(tc, pci_without_thin_interrupts);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}
