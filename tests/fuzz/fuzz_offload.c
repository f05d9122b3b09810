/*
 * libFuzzer target: checksum and TSO offload requests from a hostile guest
 * (src/osa/qdio.c's output side, src/base/offload.c, the cutting on the way
 * to a receiver, an uplink and a trace).  Guest A has every offload on; B
 * takes inbound checksumming or not; the LAN has an uplink that records
 * what it is given; its buffers hold 64 KiB datagrams.  An input is
 *
 *   byte 0    flags: 0x01 a TSO header (else the layer-3 header's checksum
 *             requests, 0x02 asking for them); 0x04 B takes inbound
 *             checksumming; 0x08 an IPv6 passthrough frame (the datagram is
 *             given an Ethernet header); 0x10 to the uplink (the destination
 *             is rewritten to an unregistered address when the datagram is
 *             long enough to have one); 0x20 header and IP/TCP headers in
 *             one element, payload after (as qeth_xmit), else one piece
 *   bytes 1-2 the MSS of the TSO header (big-endian)
 *   then      the datagram as the guest's stack left it
 *
 * Besides no crash and no read past what was given: every datagram that
 * reaches B or the uplink is one glan_offload_check accepts for the
 * checksum, with checksums that verify, and never larger than a datagram
 * may be; the LAN's books balance; and the library's routines, run on the
 * raw bytes, either refuse them or produce segments that verify too.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "guestlan/base.h"
#include "guestlan/inet.h"
#include "guestlan/offload.h"
#include "guestlan/osa.h"
#include "guestlan/osa_wire.h"
#include "guestlan/simguest.h"
#include "guestlan/uplink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { F_TSO = 0x01, F_CSUM = 0x02, F_B_RXCSUM = 0x04, F_V6 = 0x08, F_UPLINK = 0x10 };

static struct glan_lan *lan;
static struct simguest *a, *b;
static struct sg_rx rx[64];
static uint8_t frame[GLAN_OFFLOAD_MAX + 64], seg[GLAN_OFFLOAD_MAX];

/* Does the datagram's transport checksum verify? */
static int verifies(const uint8_t *ip, size_t len)
{
    if (glan_offload_check(ip, len, GLAN_OFFLOAD_CSUM, 0) != GLAN_OFFLOAD_OK)
        return 0;
    int v6 = ip[0] >> 4 == 6;
    unsigned ihl = v6 ? 40 : (ip[0] & 15u) * 4;
    unsigned total = v6 ? 40u + be16(ip + 4) : be16(ip + 2);
    unsigned l4 = total - ihl, proto = v6 ? ip[6] : ip[9];
    uint8_t ph[40];
    size_t n;
    memset(ph, 0, sizeof ph);
    if (v6) {
        memcpy(ph, ip + 8, 32);
        put32(ph + 32, l4);
        ph[39] = (uint8_t)proto;
        n = 40;
    } else {
        memcpy(ph, ip + 12, 8);
        ph[9] = (uint8_t)proto;
        put16(ph + 10, (uint16_t)l4);
        n = 12;
        if (glan_inet_sum(0, ip, ihl) != 0xffff)
            return 0;
    }
    return glan_inet_sum(glan_inet_sum(0, ph, n), ip + ihl, l4) == 0xffff;
}

static unsigned uplink_sent, uplink_bad;

static int up_send(struct glan_uplink *u, const struct glan_dgram *dg)
{
    (void)u;
    uplink_sent++;
    if ((dg->offload & GLAN_OFFLOAD_TSO) || dg->len > GLAN_OFFLOAD_MAX ||
        ((dg->offload & GLAN_OFFLOAD_CSUM) && !verifies(dg->data, dg->len)))
        uplink_bad++;
    return 0;
}

static const struct glan_uplink_ops up_ops = {.kind = "fuzz", .send = up_send};
static struct glan_uplink up = {.ops = &up_ops};

static void setup(void)
{
    struct glan_lan_config cfg = {.name = "fuzzoff", .buffers = 256, .buffer_size = 65535};
    char err[128];
    lan = glan_lan_create(&cfg, err, sizeof err);
    if (!lan || glan_uplink_attach(lan, &up) < 0)
        __builtin_trap();
    a = glan_sg_create(lan, "0600", 0x0600);
    b = glan_sg_create(lan, "0700", 0x0700);
    static const char *const aa[] = {"10.1.0.1", "fd00::1", NULL};
    static const char *const ba[] = {"10.1.0.2", "fd00::2", NULL};
    if (!a || !b || glan_sg_bringup(a, aa) || glan_sg_bringup(b, ba))
        __builtin_trap();
    static const uint32_t on[] = {IPA_OUTBOUND_CHECKSUM, IPA_OUTBOUND_TSO};
    for (int p = 0; p < 2; p++)
        for (int k = 0; k < 2; k++)
            if (glan_sg_offload(a, p ? IPA_PROT_IPV6 : IPA_PROT_IPV4, on[k], 1, NULL) != 0)
                __builtin_trap();
}

static void library(const uint8_t *ip, size_t len, unsigned mss)
{
    unsigned n = glan_offload_segments(ip, len, mss);
    for (unsigned i = 0; i < n && i < 64; i++) {
        size_t sl = glan_offload_segment(ip, len, mss, i, seg, sizeof seg);
        if (!sl || !verifies(seg, sl))
            __builtin_trap();
    }
    static uint8_t copy[GLAN_OFFLOAD_MAX];
    if (len <= sizeof copy) {
        memcpy(copy, ip, len);
        if (glan_offload_complete(copy, len) == 0 && !verifies(copy, len))
            __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!lan)
        setup();
    if (size < 3)
        return 0;
    uint8_t flags = data[0];
    unsigned mss = (unsigned)data[1] << 8 | data[2];
    const uint8_t *ip = data + 3;
    size_t len = size - 3;
    unsigned eth = flags & F_V6 ? 14 : 0;
    if (len + eth > SG_MAX_SEND - 64 || len + eth > 0xffff)
        return 0;
    library(ip, len, mss);

    static int brx = -1;
    int want = (flags & F_B_RXCSUM) != 0;
    if (brx != want) {
        for (int p = 0; p < 2; p++)
            glan_sg_offload(b, p ? IPA_PROT_IPV6 : IPA_PROT_IPV4, IPA_INBOUND_CHECKSUM, want, NULL);
        brx = want;
    }
    memset(frame, 0, eth);
    if (eth)
        put16(frame + 12, 0x86dd);
    memcpy(frame + eth, ip, len);
    uint8_t *dip = frame + eth;
    if (flags & F_UPLINK) {
        if (len >= 40 && dip[0] >> 4 == 6)
            dip[39] = 0x99; /* fd00::...99: nobody's */
        else if (len >= 20)
            dip[19] = 0x99;
    }
    struct sg_pkt p = {
        .flags = (uint8_t)(QETH_CAST_UNICAST | (eth ? QETH_HDR_IPV6 | QETH_HDR_PASSTHRU : 0)),
        .data = frame,
        .len = (uint32_t)(len + eth),
        .ext_flags = flags & F_CSUM ? QETH_HDR_EXT_CSUM_HDR_REQ | QETH_HDR_EXT_CSUM_TRANSP_REQ : 0,
        .mss = flags & F_TSO ? (uint16_t)(mss ? mss : 1) : 0,
    };
    /* The simulated guest puts the IP and TCP headers with the TSO header,
     * as qeth does; a datagram too short to have them goes without. */
    if (p.mss) {
        unsigned ihl = dip[0] >> 4 == 6 ? 40 : (dip[0] & 15u) * 4;
        if (len < ihl + 20 || ihl + (dip[ihl + 12] >> 4) * 4u > len)
            p.mss = 0;
    }
    struct glan_osa_stats s0, s1;
    glan_osa_get_stats(a->osa, &s0);
    if (glan_sg_send(a, &p, 1, 0) < 0)
        return 0;
    glan_osa_get_stats(a->osa, &s1);
    int asked = p.mss || (p.ext_flags & QETH_HDR_EXT_CSUM_TRANSP_REQ);
    /* What the device took an offload request for arrives complete:
     * segments, or the whole datagram, its checksums computed. */
    int n = glan_sg_recv(b, rx, 64);
    for (int i = 0; i < n && i < 64; i++)
        if (asked && s1.out_offload_bad == s0.out_offload_bad && rx[i].len <= sizeof rx[i].data &&
            !verifies(rx[i].data, rx[i].len))
            __builtin_trap();
    if (uplink_bad)
        __builtin_trap();
    glan_sg_recv(a, rx, 64);
    struct glan_lan_stats ls;
    glan_lan_stats(lan, &ls);
    uint64_t dropped = 0;
    for (int k = 0; k < GLAN_DROP_COUNT; k++)
        dropped += ls.dropped[k];
    if (ls.sent_packets + ls.fanout != ls.delivered + dropped + ls.queued)
        __builtin_trap();
    return 0;
}
