/*
 * libFuzzer target: the layer-2 engine (src/uplink/l2.c, l2nd.c, l2cache.c),
 * what a TAP or live pcap uplink does with what the wire brings.  One LAN
 * with a guest port holding 10.0.0.1, fd00::1 and fe80::1 is made once; each
 * input makes an engine and runs a script against it:
 *
 *   byte 0   configuration: bit 0 VLAN 5, bit 1 IPv4 gateway 10.0.0.254,
 *            bit 2 IPv6 gateway fd00::fe, bit 3 on-link 10.0.0.0/24,
 *            bit 4 on-link fd00::/64, bit 5 a cache of 4 entries holding
 *            2 datagrams each, 4 in all (eviction and hold bounds), bit 6
 *            transmit says -EAGAIN to every third frame
 *   then     steps: one byte (op & 3: 0 a frame from the network, 1 a
 *            datagram from the LAN, 2 the timer, 3 an announcement; op >> 2
 *            quarter seconds pass first), a big-endian 16-bit length (0/1
 *            only for op 0/1) and that many bytes.
 *
 * The engine's MAC is 02:11:22:33:44:55 so that unicast frames to it are in
 * reach.  Each frame and datagram is copied to a block of exactly its size,
 * so a read past its end is AddressSanitizer's.  Checked: every frame read
 * is counted as exactly one outcome; a datagram handed up lies inside its
 * frame; every frame sent is at least 60 bytes; and, while transmit takes
 * everything, every datagram handed down is framed, held or dropped with a
 * reason (l2.h's glan_l2_stats).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guestlan/base.h"
#include "guestlan/l2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define QUARTER 250000000ull

static struct glan_lan *lan;
static struct glan_port *guest;
static unsigned frames_out, refuse_every;
static volatile uint8_t sink;

static int g_deliver(void *ctx, const struct glan_dgram *dg)
{
    (void)ctx;
    (void)dg;
    return 0;
}

static const struct glan_port_ops g_ops = {.deliver = g_deliver};

static int xmit(void *ctx, const uint8_t *frame, size_t len)
{
    (void)ctx;
    if (len < 60)
        __builtin_trap();
    sink ^= frame[0] ^ frame[len - 1];
    if (refuse_every && ++frames_out % refuse_every == 0)
        return -EAGAIN;
    return 0;
}

static struct glan_addr addr(const char *text)
{
    struct glan_addr a;
    if (glan_addr_parse(text, &a) < 0)
        __builtin_trap();
    return a;
}

static void setup(void)
{
    char err[128];
    struct glan_lan_config cfg = {.name = "FUZZL2"};
    lan = glan_lan_create(&cfg, err, sizeof err);
    struct glan_port_info info = {.name = "G", .kind = GLAN_PORT_GUEST};
    if (!lan || glan_port_attach(lan, &info, &g_ops, NULL, &guest) < 0)
        __builtin_trap();
    static const char *const mine[] = {"10.0.0.1", "fd00::1", "fe80::1"};
    for (size_t i = 0; i < sizeof mine / sizeof mine[0]; i++) {
        struct glan_addr a = addr(mine[i]);
        if (glan_addr_register(guest, &a) < 0)
            __builtin_trap();
    }
}

static void check_rx(const struct glan_l2_stats *s)
{
    if (s->rx_frames != s->rx_ip + s->rx_arp + s->rx_nd + s->rx_not_ours + s->rx_wrong_vlan +
                            s->rx_skipped + s->rx_malformed)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!lan)
        setup();
    if (size < 1)
        return 0;
    uint8_t c = data[0];
    struct glan_l2_config cfg = {.mac = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55}};
    if (c & 1)
        cfg.vlan = 5;
    if (c & 2)
        cfg.gateway4 = addr("10.0.0.254");
    if (c & 4)
        cfg.gateway6 = addr("fd00::fe");
    if (c & 8) {
        cfg.onlink4 = addr("10.0.0.0");
        cfg.onlink4_len = 24;
    }
    if (c & 16) {
        cfg.onlink6 = addr("fd00::");
        cfg.onlink6_len = 64;
    }
    if (c & 32) {
        cfg.cache_size = 4;
        cfg.hold_per_dest = 2;
        cfg.hold_max = 4;
    }
    refuse_every = c & 64 ? 3 : 0;
    frames_out = 0;

    char err[128];
    struct glan_l2 *l2 = glan_l2_create(&cfg, lan, xmit, NULL, err, sizeof err);
    if (!l2)
        __builtin_trap();

    uint64_t now = 1000 * QUARTER, handed = 0;
    size_t at = 1;
    while (at + 3 <= size) {
        uint8_t op = data[at];
        size_t n = (size_t)data[at + 1] << 8 | data[at + 2];
        at += 3;
        if (n > size - at)
            n = size - at;
        now += (uint64_t)(op >> 2) * QUARTER;
        uint8_t *buf = malloc(n ? n : 1);
        if (!buf)
            __builtin_trap();
        memcpy(buf, data + at, n);
        at += n;
        struct glan_l2_stats before, after;
        glan_l2_stats(l2, &before);
        switch (op & 3) {
        case 0: {
            const uint8_t *dg = NULL;
            size_t dglen = 0;
            int rc = glan_l2_input(l2, buf, n, now, &dg, &dglen);
            glan_l2_stats(l2, &after);
            if (after.rx_frames != before.rx_frames + 1)
                __builtin_trap();
            if (rc == 1) {
                if (!dg || dg < buf || dglen < 1 || dglen > n - (size_t)(dg - buf) ||
                    after.rx_ip != before.rx_ip + 1)
                    __builtin_trap();
                sink ^= dg[0] ^ dg[dglen - 1];
            } else if (rc != 0) {
                __builtin_trap();
            }
            break;
        }
        case 1: {
            int rc = glan_l2_output(l2, buf, n, now);
            if (rc != -EAGAIN)
                handed++;
            break;
        }
        case 2:
            glan_l2_tick(l2, now);
            if (glan_l2_deadline(l2) <= now)
                __builtin_trap(); /* what was due has been done */
            break;
        case 3: {
            /* the address the step names, as a guest would register it */
            struct glan_addr a;
            memset(&a, 0, sizeof a);
            if (n >= 16) {
                a.family = GLAN_AF_INET6;
                memcpy(a.bytes, buf, 16);
            } else if (n >= 4) {
                a.family = GLAN_AF_INET;
                memcpy(a.bytes, buf, 4);
            }
            int rc = glan_l2_announce(l2, &a, now);
            if (!a.family && rc != -EINVAL)
                __builtin_trap();
            break;
        }
        }
        free(buf);
        glan_l2_stats(l2, &after);
        check_rx(&after);
        if (!refuse_every && handed != after.tx_ip + after.held_now + after.hold_dropped +
                                           after.unresolved_dropped + after.cache_full_dropped +
                                           after.malformed_dropped)
            __builtin_trap();
    }
    glan_l2_destroy(l2);
    return 0;
}
