/*
 * The simulated guest's data path (simguest.h): its input buffers handed to
 * the adapter, output buffers filled and primed with SIGA-w, primed input
 * buffers emptied and given back with SIGA-r, as Linux's qeth and qdio
 * drivers do; and the small IPv4/IPv6 UDP datagrams the tests send.
 */
#include <string.h>
#include <time.h>

#include "guestlan/inet.h"
#include "guestlan/osa_wire.h"
#include "guestlan/simguest.h"

_Static_assert(SG_SENT == SLSB_P_OUTPUT_EMPTY, "SG_SENT is the empty output state");

/* SLSB bytes are shared with the device, which may run in another thread
 * (a peer's sender): access them atomically, ordered like the hardware. */
static uint8_t slsb_get(const uint8_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void slsb_set(uint8_t *p, uint8_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* ---- input buffers ------------------------------------------------------------------ */

static void init_in_sbal(struct simguest *g, unsigned i)
{
    struct sbal *s = glan_sg_ptr(g, g->sbal[0][i]);
    unsigned pool = i % SG_IN_BUFS;
    /* An OSA's input buffers are 64 KiB; an IQD's are its MTU and two
     * pages (qeth_update_max_mtu): 16 elements at 57344, 4 at 8192. */
    unsigned n = QDIO_MAX_ELEMENTS;
    if (g->iqd && g->max_mtu && (g->max_mtu + 8192u) / 4096 < n)
        n = (g->max_mtu + 8192u) / 4096;
    memset(s, 0, sizeof *s);
    for (unsigned e = 0; e < n; e++) {
        put64(s->element[e].addr, g->in_pages + (uint64_t)(pool * 16 + e) * 4096);
        put32(s->element[e].length, 4096);
    }
    s->element[n - 1].eflags = SBAL_EFLAGS_LAST_ENTRY;
}

int glan_sg_init_input(struct simguest *g)
{
    uint8_t *slsb = glan_sg_ptr(g, g->slsb[0]);
    for (unsigned i = 0; i < SG_IN_BUFS; i++) {
        init_in_sbal(g, i);
        slsb_set(&slsb[i], SLSB_CU_INPUT_EMPTY); /* QR3, as in glan_sg_recv */
    }
    g->in_next = 0;
    return glan_osa_siga_r(g->osa, 0x80000000u) == 0 ? 0 : -1;
}

/* ---- data path ----------------------------------------------------------------------- */

/* The layer-2 header qeth_l2_fill_header gives a frame (data, len bytes),
 * written over h: a TSO header (tso) or the checksum requests (ext_flags,
 * in the second flags byte), the cast from the destination MAC, the VLAN
 * tag repeated from the frame. */
static void l2_header(struct qeth_hdr_l3 *h, const uint8_t *f, uint32_t len, int tso,
                      uint8_t ext_flags)
{
    struct qeth_hdr_l2 l2;
    memset(&l2, 0, sizeof l2);
    l2.id = tso ? QETH_HEADER_TYPE_L2_TSO : QETH_HEADER_TYPE_LAYER2;
    l2.flags[1] = tso ? 0 : ext_flags;
    if (len >= 6 && (f[0] & f[1] & f[2] & f[3] & f[4] & f[5]) == 0xff)
        l2.flags[2] = QETH_L2_BROADCAST;
    else if (len >= 6 && (f[0] & 1))
        l2.flags[2] = QETH_L2_MULTICAST;
    else
        l2.flags[2] = QETH_L2_UNICAST;
    put16(l2.pkt_length, (uint16_t)len);
    if (len >= 18 && be16(f + 12) == 0x8100) {
        l2.flags[2] |= QETH_L2_VLAN;
        memcpy(l2.vlan_id, f + 14, 2);
    }
    memcpy(h, &l2, sizeof l2);
}

int glan_sg_send(struct simguest *g, const struct sg_pkt *p, unsigned n, int split)
{
    uint8_t *slsb = glan_sg_ptr(g, g->slsb[1 + SG_TX_QUEUE]);
    unsigned i = g->out_next;
    /* A walk that waited for a receiver's room may go on now. */
    glan_sg_pump(g);
    if (slsb_get(&slsb[i]) == SLSB_CU_OUTPUT_PRIMED)
        return -1;
    struct sbal *s = glan_sg_ptr(g, g->sbal[1 + SG_TX_QUEUE][i]);
    memset(s, 0, sizeof *s);
    uint64_t base = g->out_pages + (uint64_t)i * SG_OUT_PAGES * 4096, pos = base,
             end = base + SG_OUT_PAGES * 4096;
    unsigned e = 0;
    for (unsigned k = 0; k < n; k++) {
        uint8_t hb[QETH_HDR_LEN + sizeof(struct qeth_hdr_ext_tso)];
        struct qeth_hdr_l3 h;
        memset(&h, 0, sizeof h);
        h.id = QETH_HEADER_TYPE_LAYER3;
        h.flags = p[k].flags;
        h.ext_flags = p[k].ext_flags;
        put16(h.length, (uint16_t)p[k].len);
        uint32_t hl = QETH_HDR_LEN, proto = 0;
        memset(hb, 0, sizeof hb);
        if (p[k].mss) {
            /* qeth_l3_fill_header + qeth_fill_tso_ext: no checksum flags,
             * the IP and TCP headers (proto) with the header. */
            const uint8_t *ip = p[k].data;
            struct qeth_hdr_ext_tso *x = (struct qeth_hdr_ext_tso *)(hb + QETH_HDR_LEN);
            unsigned eth = p[k].flags & QETH_HDR_PASSTHRU ? 14 : 0;
            if (g->layer2) /* the frame's Ethernet header, and its tag */
                eth = be16(ip + 12) == 0x8100 ? 18 : 14;
            unsigned ihl = ip[eth] >> 4 == 6 ? 40 : (ip[eth] & 15u) * 4;
            proto = eth + ihl + (ip[eth + ihl + 12] >> 4) * 4u;
            h.id = QETH_HEADER_TYPE_L3_TSO;
            h.ext_flags = 0;
            hl += sizeof *x;
            put16(x->hdr_tot_len, sizeof *x);
            x->imb_hdr_no = 1;
            x->hdr_type = 1;
            x->hdr_version = 1;
            put16(x->hdr_len, 28);
            put32(x->payload_len, p[k].len - proto);
            put16(x->mss, p[k].mss);
            put16(x->dg_hdr_len, (uint16_t)proto);
        }
        if (g->layer2)
            l2_header(&h, p[k].data, p[k].len, p[k].mss != 0, p[k].ext_flags);
        memcpy(hb, &h, sizeof h);
        /* A header never crosses a page (so never an element). */
        if (4096 - pos % 4096 < hl + proto)
            pos += 4096 - pos % 4096;
        if (pos + hl + p[k].len > end)
            return -2;
        memcpy(glan_sg_ptr(g, pos), hb, hl);
        memcpy(glan_sg_ptr(g, pos + hl), p[k].data, p[k].len);
        if (p[k].mss && !g->layer2 && !(p[k].flags & QETH_HDR_PASSTHRU) && p[k].len >= 20) {
            /* qeth_l3_fixup_headers: an IPv4 TSO datagram goes with its
             * total length and header checksum zeroed */
            uint8_t *ip = glan_sg_ptr(g, pos + hl);
            put16(ip + 2, 0);
            put16(ip + 10, 0);
        }
        unsigned first = e;
        uint64_t a = pos, left = hl + p[k].len;
        if (split || proto) {
            if (e >= QDIO_MAX_ELEMENTS)
                return -3;
            put64(s->element[e].addr, a);
            put32(s->element[e].length, hl + proto);
            e++;
            a += hl + proto;
            left -= hl + proto;
        }
        while (left) {
            uint64_t chunk = 4096 - a % 4096;
            if (chunk > left)
                chunk = left;
            if (e >= QDIO_MAX_ELEMENTS)
                return -3;
            put64(s->element[e].addr, a);
            put32(s->element[e].length, (uint32_t)chunk);
            e++;
            a += chunk;
            left -= chunk;
        }
        if (e - first > 1) {
            s->element[first].eflags = SBAL_EFLAGS_FIRST_FRAG;
            for (unsigned m = first + 1; m < e - 1; m++)
                s->element[m].eflags = SBAL_EFLAGS_MIDDLE_FRAG;
            s->element[e - 1].eflags = SBAL_EFLAGS_LAST_FRAG;
        }
        pos = a;
    }
    s->element[e - 1].eflags |= SBAL_EFLAGS_LAST_ENTRY;
    /* QR4: release, pairs with QA4 in the device's out_queue: the SBAL and
     * data above are in storage before it can see 0x62. */
    slsb_set(&slsb[i], SLSB_CU_OUTPUT_PRIMED);
    g->out_next = qdio_next(i);
    if (glan_osa_siga_w(g->osa, 0x80000000u >> SG_TX_QUEUE) != 0)
        return -4;
    glan_sg_pump(g);
    /* QA2: acquire, pairs with QR2 in out_queue: once 0xA1 is seen the
     * device is done reading the buffer. */
    return slsb_get(&slsb[i]);
}

/* The guest's clock: its own, or the host's real time. */
static uint64_t guest_now(const struct simguest *g)
{
    struct timespec ts;
    if (g->host.clock_ns)
        return g->host.clock_ns;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* On to the next element of an input buffer, at its start: 0, or -1 when
 * element e is the buffer's last. */
static int next_element(const struct sbal *s, unsigned *e, uint32_t *off)
{
    if (s->element[*e].eflags & SBAL_EFLAGS_LAST_ENTRY)
        return -1;
    (*e)++;
    *off = 0;
    return 0;
}

int glan_sg_recv(struct simguest *g, struct sg_rx *out, int max)
{
    uint8_t *slsb = glan_sg_ptr(g, g->slsb[0]);
    uint64_t now = 0;
    int got = 0, refilled = 0;
    for (unsigned n = 0; n < 128; n++) {
        unsigned i = g->in_next;
        /* QA1: acquire, pairs with QR1 in the device's in_close: the
         * datagrams and element lengths are there once 0x82 is seen. */
        uint8_t st = slsb_get(&slsb[i]);
        if (st != SLSB_P_INPUT_PRIMED && st != SLSB_P_INPUT_ERROR)
            break;
        if (st == SLSB_P_INPUT_PRIMED) {
            /* qeth_extract_skb: walk elements by their lengths */
            const struct sbal *s = glan_sg_ptr(g, g->sbal[0][i]);
            unsigned e = 0;
            uint32_t off = 0;
            for (;;) {
                int last = 0;
                while (!last && be32(s->element[e].length) < off + QETH_HDR_LEN)
                    last = next_element(s, &e, &off) < 0;
                if (last)
                    break;
                const struct qeth_hdr_l3 *h = glan_sg_ptr(g, be64(s->element[e].addr) + off);
                off += QETH_HDR_LEN;
                /* qeth_l2 takes the length of a layer-2 header, and the
                 * cast flags (rx->flags) from its third flags byte. */
                const struct qeth_hdr_l2 *h2 = (const struct qeth_hdr_l2 *)h;
                if (h->id != (g->layer2 ? QETH_HEADER_TYPE_LAYER2 : QETH_HEADER_TYPE_LAYER3))
                    break;
                uint32_t len = g->layer2 ? be16(h2->pkt_length) : be16(h->length), have = 0;
                struct sg_rx *rx = got < max ? &out[got] : NULL;
                if (rx) {
                    if (!now)
                        now = guest_now(g);
                    rx->flags = g->layer2 ? h2->flags[2] : h->flags;
                    rx->ext_flags = g->layer2 ? h2->flags[1] : h->ext_flags;
                    rx->len = (uint16_t)len;
                    rx->ts_ns = now;
                }
                int broken = 0;
                while (have < len) {
                    uint32_t room = be32(s->element[e].length) - off;
                    uint32_t k = len - have < room ? len - have : room;
                    const uint8_t *src = glan_sg_ptr(g, be64(s->element[e].addr) + off);
                    if (rx && have < sizeof rx->data)
                        memcpy(rx->data + have, src,
                               k < sizeof rx->data - have ? k : sizeof rx->data - have);
                    if (rx && rx->big && len <= rx->big_cap)
                        memcpy(rx->big + have, src, k);
                    have += k;
                    off += k;
                    if (have < len && next_element(s, &e, &off) < 0) {
                        broken = 1;
                        break;
                    }
                }
                if (broken)
                    break;
                got++; /* counted even when out[] is full */
            }
        }
        /* Back to the adapter: ACK, NOT_INIT, then the next ring slot of
         * this pool buffer is made EMPTY, as qeth_rx_refill_queue does. */
        slsb_set(&slsb[i], SLSB_P_INPUT_ACK);
        slsb_set(&slsb[i], SLSB_P_INPUT_NOT_INIT);
        unsigned j = qdio_add(i, SG_IN_BUFS);
        init_in_sbal(g, j);
        /* QR3: release, pairs with QA3 in the device's in_open. */
        slsb_set(&slsb[j], SLSB_CU_INPUT_EMPTY);
        refilled = 1;
        g->in_next = qdio_next(i);
    }
    if (refilled)
        glan_osa_siga_r(g->osa, 0x80000000u);
    return got;
}

uint8_t glan_sg_l3_flags(const void *ip, size_t len)
{
    const uint8_t *p = ip;
    if (len >= 40 && p[0] >> 4 == 6)
        return QETH_HDR_IPV6 | (p[24] == 0xff ? QETH_CAST_MULTICAST : QETH_CAST_UNICAST);
    if (len >= 1 && p[0] >> 4 == 6)
        return QETH_HDR_IPV6 | QETH_CAST_UNICAST;
    if (len >= 20 && p[0] >> 4 == 4) {
        static const uint8_t all[4] = {0xff, 0xff, 0xff, 0xff};
        if ((p[16] & 0xf0) == 0xe0)
            return QETH_CAST_MULTICAST;
        if (memcmp(p + 16, all, 4) == 0)
            return QETH_CAST_BROADCAST;
    }
    return QETH_CAST_UNICAST;
}

int glan_sg_send_ip(struct simguest *g, const uint8_t dmac[6], const void *ip, size_t len)
{
    enum { MAX_IP = 9216, ETH = 14 };
    uint8_t f[MAX_IP + ETH];
    struct sg_pkt p = {.flags = glan_sg_l3_flags(ip, len), .data = ip, .len = (uint32_t)len};
    if (g->layer2) {
        if (len > MAX_IP)
            return -1;
        int v6 = len >= 1 && ((const uint8_t *)ip)[0] >> 4 == 6;
        memcpy(f, dmac, 6);
        memcpy(f + 6, g->mac, 6);
        f[12] = v6 ? 0x86 : 0x08;
        f[13] = v6 ? 0xdd : 0x00;
        memcpy(f + ETH, ip, len);
        p.flags = 0; /* unused in layer 2 */
        p.data = f;
        p.len = (uint32_t)(len + ETH);
    }
    return glan_sg_send(g, &p, 1, 0);
}

/* ---- datagrams ----------------------------------------------------------------------- */

size_t glan_sg_udp4(uint8_t *b, const char *src, const char *dst, size_t payload, uint8_t fill)
{
    struct glan_addr s, d;
    glan_addr_parse(src, &s);
    glan_addr_parse(dst, &d);
    size_t len = 28 + payload;
    memset(b, 0, 28);
    b[0] = 0x45;
    put16(b + 2, (uint16_t)len);
    b[8] = 64;
    b[9] = 17;
    memcpy(b + 12, s.bytes, 4);
    memcpy(b + 16, d.bytes, 4);
    put16(b + 10, glan_inet_csum(0, b, 20));
    put16(b + 20, 1234);
    put16(b + 22, 5678);
    put16(b + 24, (uint16_t)(8 + payload));
    memset(b + 28, fill, payload);
    return len;
}

size_t glan_sg_udp6(uint8_t *b, const char *src, const char *dst, size_t payload, uint8_t fill)
{
    struct glan_addr s, d;
    glan_addr_parse(src, &s);
    glan_addr_parse(dst, &d);
    memset(b, 0, 48);
    b[0] = 0x60;
    put16(b + 4, (uint16_t)(8 + payload));
    b[6] = 17;
    b[7] = 64;
    memcpy(b + 8, s.bytes, 16);
    memcpy(b + 24, d.bytes, 16);
    put16(b + 40, 1234);
    put16(b + 42, 5678);
    put16(b + 44, (uint16_t)(8 + payload));
    memset(b + 48, fill, payload);
    uint8_t pseudo[40] = {0};
    memcpy(pseudo, b + 8, 32);
    put32(pseudo + 32, (uint32_t)(8 + payload));
    pseudo[39] = 17;
    uint16_t c = glan_inet_csum(glan_inet_sum(0, pseudo, 40), b + 40, 8 + payload);
    put16(b + 46, c ? c : 0xffff);
    return 48 + payload;
}
