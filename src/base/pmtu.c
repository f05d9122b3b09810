/*
 * Path MTU: what the base does with a datagram larger than the port it is
 * for takes (the port's MTU, struct glan_port_info), the way a router
 * answers it (RFC 1191, RFC 1812, RFC 4443):
 *
 *   IPv4 with DF   dropped `too_big_for_path`, and its sender gets an ICMP
 *                  "fragmentation needed" (type 3 code 4) with the MTU;
 *   IPv4 without   dropped `fragmented`, and the base sends the receiver
 *   DF             fragments of it that fit (RFC 791);
 *   IPv6           dropped `too_big_for_path`, and its sender gets an ICMPv6
 *                  "packet too big" (type 2) with the MTU.
 *
 * No answer (only the drop) for an ICMP or ICMPv6 error, a fragment other
 * than the first, a datagram from an address that is not one host's
 * (unspecified, multicast, broadcast), a multicast or broadcast datagram
 * (its copies for receivers too small are dropped, or fragmented for IPv4
 * without DF), a header too short to quote, and beyond the rate limit: a
 * token bucket per sending port (glan_port_set_icmp_limit, default
 * GLAN_ICMP_BURST at once and GLAN_ICMP_PER_SEC a second).
 *
 * An answer's source address is the original's destination (as if the
 * destination had answered), its destination the original's source; it
 * goes straight to the sending port, as any datagram, with the base as its
 * sender (no port: glan_dgram.src -1).  A fragment goes to the port the
 * original was for.  The books: the original's copy is dropped with its
 * reason on its sender; each datagram the base makes is sent (in the LAN
 * totals, on no port) and counted in icmp_sent or frags_sent, on the LAN
 * and on the original's sender; answers the limit held back in
 * icmp_limited.  docs/design.md, "Path MTU", has the whole story.
 *
 * forward (forward.c) decides and drops the copy; what is to be sent is
 * left in a struct pmtu_job with a reference to the original's buffer,
 * and glan_port_tx_commit runs it (pmtu_run) once the original has gone
 * its ways and was shown to the monitor, so that a trace shows the
 * original before the answer, and the journal's hand holds one datagram
 * at a time.
 */
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "base_int.h"
#include "guestlan/offload.h"
#include "count.h"
#include "guestlan/inet.h"
#include "guestlan/wire.h"

enum {
    PROTO_ICMP = 1,
    PROTO_ICMPV6 = 58,
    ICMP4_ANSWER_MAX = 576,  /* RFC 1812 4.3.2.3: an ICMP error fits in 576 bytes */
    ICMP6_ANSWER_MAX = 1280, /* RFC 4443 2.4 (c): no more than the minimum IPv6 MTU */
    ICMP_HDR = 8,
    FRAGS_MAX = 64, /* fragments of one datagram at most; more: too_big_for_path */
};

/* ---- the size on the wire -------------------------------------------------------------- */

/* The one place that says how large the datagram in data (len bytes, as
 * its sender handed it) is on the wire, which is what a receiver's MTU
 * limits: its length.  (A datagram a device segments on the way out, TSO,
 * is as large as one segment: headers and MSS.) */
size_t wire_size(const uint8_t *data, size_t len, const struct glan_tx_meta *meta)
{
    /* A TSO datagram is cut at its MSS by whoever must not see it whole:
     * its largest piece is its headers and one MSS of data. */
    if (meta && (meta->offload & GLAN_OFFLOAD_TSO) && meta->mss &&
        glan_offload_segments(data, len, meta->mss)) {
        /* checked: IPv4 without options or IPv6 without extension
         * headers, then a whole TCP header */
        size_t ihl = data[0] >> 4 == 4 ? (size_t)(data[0] & 15) * 4 : 40;
        size_t hl = ihl + (size_t)(data[ihl + 12] >> 4) * 4;
        return hl + meta->mss < len ? hl + meta->mss : len;
    }
    return len;
}

uint32_t too_big_for(struct glan_lan *lan, int p, const uint8_t *data, size_t len,
                     const struct glan_tx_meta *meta)
{
    if (p < 0 || (uint32_t)p >= lan->r->max_ports)
        return 0; /* enqueue counts the bad index */
    uint32_t mtu = atomic_load_explicit(&lan->ports[p].mtu, memory_order_relaxed);
    return mtu && len > mtu && wire_size(data, len, meta) > mtu ? mtu : 0;
}

/* ---- what an answer may be sent for ------------------------------------------------------ */

static int v4_from_host(const uint8_t *p)
{
    const uint8_t *s = p + 12;
    uint32_t a = be32(s);
    return a != 0 && (s[0] & 0xf0) != 0xe0 && a != 0xffffffffu;
}

static int v6_from_host(const uint8_t *p)
{
    static const uint8_t zero[16];
    return p[8] != 0xff && memcmp(p + 8, zero, 16) != 0;
}

/* ICMP types that are errors (RFC 792, 1812): never answered. */
static int icmp4_is_error(uint8_t type)
{
    return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

/* The IPv4 datagram at p (tot bytes) may be answered with an ICMP error. */
static int v4_answerable(const uint8_t *p, size_t tot)
{
    size_t ihl = (size_t)(p[0] & 15) * 4;
    if ((be16(p + 6) & 0x1fff) != 0 || !v4_from_host(p))
        return 0; /* a later fragment, or no one host's */
    if (p[9] == PROTO_ICMP)
        return tot > ihl && !icmp4_is_error(p[ihl]);
    return 1;
}

/* The IPv6 datagram at p (tot bytes) may be answered with an ICMPv6 error:
 * the extension headers are walked as far as they are there. */
static int v6_answerable(const uint8_t *p, size_t tot)
{
    if (!v6_from_host(p))
        return 0;
    uint8_t next = p[6];
    size_t off = IPV6_HDR_LEN;
    for (int hops = 0; hops < 8; hops++) {
        if (next == 0 || next == 43 || next == 60) { /* hop-by-hop, routing, destination */
            if (off + 8 > tot)
                return 0;
            next = p[off];
            off += ((size_t)p[off + 1] + 1) * 8;
        } else if (next == 44) { /* fragment: only the first is answered */
            if (off + 8 > tot || (be16(p + off + 2) & 0xfff8) != 0)
                return 0;
            next = p[off];
            off += 8;
        } else if (next == PROTO_ICMPV6) {
            return off < tot && p[off] >= 128; /* an informational message */
        } else {
            return 1;
        }
    }
    return 0; /* a chain this long is not worth an answer */
}

/* ---- the rate limit ----------------------------------------------------------------- */

/* The bucket is one word: the time of its last refill in ms << 24 | its
 * credit in thousandths of an answer (at most GLAN's burst x 1000 < 2^24). */
#define CREDIT_BITS 24
#define CREDIT_MASK ((1ull << CREDIT_BITS) - 1)
#define BURST_MAX   16000u

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void icmp_limit_init(struct glan_port *port, uint32_t burst, uint32_t per_sec)
{
    if (burst > BURST_MAX)
        burst = BURST_MAX;
    atomic_store_explicit(&port->icmp_burst, burst, memory_order_relaxed);
    atomic_store_explicit(&port->icmp_per_sec, per_sec, memory_order_relaxed);
    atomic_store_explicit(&port->icmp_bucket, mono_ms() << CREDIT_BITS | (uint64_t)burst * 1000,
                          memory_order_relaxed);
}

/* May port's sender have one more answer now?  Takes it from the bucket. */
static int icmp_take(struct glan_port *port)
{
    uint64_t cap = (uint64_t)atomic_load_explicit(&port->icmp_burst, memory_order_relaxed) * 1000;
    uint64_t rate = atomic_load_explicit(&port->icmp_per_sec, memory_order_relaxed);
    uint64_t now = mono_ms();
    uint64_t w = atomic_load_explicit(&port->icmp_bucket, memory_order_relaxed);
    for (;;) {
        uint64_t then = w >> CREDIT_BITS, credit = w & CREDIT_MASK;
        if (now > then) {
            uint64_t add = (now - then) * rate; /* thousandths: rate a second is rate a ms */
            credit = credit + add > cap ? cap : credit + add;
        }
        if (credit < 1000)
            return 0; /* (the refill is kept for the next: no store needed) */
        uint64_t nw = (now > then ? now : then) << CREDIT_BITS | (credit - 1000);
        if (atomic_compare_exchange_weak_explicit(&port->icmp_bucket, &w, nw, memory_order_relaxed,
                                                  memory_order_relaxed))
            return 1;
    }
}

/* ---- building the answers -------------------------------------------------------------- */

size_t icmp4_frag_needed(uint8_t *out, size_t cap, const uint8_t *orig, size_t tot, uint32_t mtu)
{
    size_t quote = tot;
    if (quote > cap - IPV4_HDR_MIN - ICMP_HDR)
        quote = cap - IPV4_HDR_MIN - ICMP_HDR;
    size_t n = IPV4_HDR_MIN + ICMP_HDR + quote;
    uint8_t *ip = out, *icmp = out + IPV4_HDR_MIN;
    memset(out, 0, IPV4_HDR_MIN + ICMP_HDR);
    ip[0] = 0x45;
    ip[1] = 0xc0; /* internetwork control, as routers send their errors */
    put16(ip + 2, (uint16_t)n);
    put16(ip + 6, 0x4000); /* DF with identification 0: an atomic datagram (RFC 6864) */
    ip[8] = 64;
    ip[9] = PROTO_ICMP;
    memcpy(ip + 12, orig + 16, 4); /* from the original's destination */
    memcpy(ip + 16, orig + 12, 4); /* to its source */
    put16(ip + 10, glan_inet_csum(0, ip, IPV4_HDR_MIN));
    icmp[0] = 3;                                              /* destination unreachable */
    icmp[1] = 4;                                              /* fragmentation needed and DF set */
    put16(icmp + 6, (uint16_t)(mtu > 0xffff ? 0xffff : mtu)); /* next-hop MTU (RFC 1191) */
    memcpy(icmp + ICMP_HDR, orig, quote);
    put16(icmp + 2, glan_inet_csum(0, icmp, ICMP_HDR + quote));
    return n;
}

size_t icmp6_packet_too_big(uint8_t *out, size_t cap, const uint8_t *orig, size_t tot, uint32_t mtu)
{
    size_t quote = tot;
    if (quote > cap - IPV6_HDR_LEN - ICMP_HDR)
        quote = cap - IPV6_HDR_LEN - ICMP_HDR;
    size_t plen = ICMP_HDR + quote;
    uint8_t *ip = out, *icmp = out + IPV6_HDR_LEN;
    memset(out, 0, IPV6_HDR_LEN + ICMP_HDR);
    ip[0] = 0x60;
    put16(ip + 4, (uint16_t)plen);
    ip[6] = PROTO_ICMPV6;
    ip[7] = 64;
    memcpy(ip + 8, orig + 24, 16); /* from the original's destination */
    memcpy(ip + 24, orig + 8, 16); /* to its source */
    icmp[0] = 2;                   /* packet too big */
    put32(icmp + 4, mtu);
    memcpy(icmp + ICMP_HDR, orig, quote);
    /* The pseudo-header: both addresses, the upper-layer length, the next
     * header (RFC 8200 8.1). */
    uint8_t ph[8] = {0};
    put32(ph, (uint32_t)plen);
    ph[7] = PROTO_ICMPV6;
    uint16_t sum = glan_inet_sum(0, ip + 8, 32);
    sum = glan_inet_sum(sum, ph, sizeof ph);
    put16(icmp + 2, glan_inet_csum(sum, icmp, plen));
    return IPV6_HDR_LEN + plen;
}

/* ---- fragments (RFC 791) ------------------------------------------------------------------ */

/* The options of the IPv4 header at p that go into every fragment (the
 * copied flag), into opts (40 bytes), padded to a multiple of 4; their
 * length. */
static size_t copied_options(const uint8_t *p, uint8_t *opts)
{
    size_t ihl = (size_t)(p[0] & 15) * 4, n = 0;
    for (size_t i = IPV4_HDR_MIN; i < ihl;) {
        uint8_t type = p[i];
        if (type == 0)
            break; /* end of the list */
        if (type == 1) {
            i++; /* no-operation: not copied */
            continue;
        }
        if (i + 1 >= ihl || p[i + 1] < 2 || i + p[i + 1] > ihl)
            break; /* a bad length ends the list */
        if (type & 0x80) {
            memcpy(opts + n, p + i, p[i + 1]);
            n += p[i + 1];
        }
        i += p[i + 1];
    }
    while (n & 3)
        opts[n++] = 0;
    return n;
}

/* Bytes of data each fragment but the last carries for a header of hlen
 * under mtu: a multiple of 8. */
static size_t frag_data(uint32_t mtu, size_t hlen)
{
    return mtu > hlen ? (mtu - hlen) & ~(size_t)7 : 0;
}

int ipv4_can_fragment(const uint8_t *p, size_t tot, uint32_t mtu)
{
    size_t ihl = (size_t)(p[0] & 15) * 4, per = frag_data(mtu, ihl);
    return per >= 8 && (tot - ihl + per - 1) / per <= FRAGS_MAX;
}

size_t ipv4_fragment(uint8_t *out, const uint8_t *p, size_t tot, uint32_t mtu, size_t *at)
{
    size_t ihl = (size_t)(p[0] & 15) * 4, data = tot - ihl;
    size_t hlen = ihl;
    uint8_t opts[40];
    size_t nopts = 0;
    if (*at) {
        nopts = copied_options(p, opts);
        hlen = IPV4_HDR_MIN + nopts;
    }
    size_t per = frag_data(mtu, hlen), left = data - *at;
    int last = left <= per;
    size_t n = last ? left : per;
    uint16_t ff = be16(p + 6);
    uint16_t off = (uint16_t)(((ff & 0x1fff) + *at / 8) & 0x1fff);
    uint16_t mf = last ? (ff & 0x2000) : 0x2000;
    memcpy(out, p, IPV4_HDR_MIN);
    if (*at)
        memcpy(out + IPV4_HDR_MIN, opts, nopts);
    else
        memcpy(out + IPV4_HDR_MIN, p + IPV4_HDR_MIN, ihl - IPV4_HDR_MIN);
    out[0] = (uint8_t)(0x40 | hlen / 4);
    put16(out + 2, (uint16_t)(hlen + n));
    put16(out + 6, (uint16_t)((ff & 0x8000) | mf | off)); /* DF is clear, or we would not be here */
    put16(out + 10, 0);
    put16(out + 10, glan_inet_csum(0, out, hlen));
    memcpy(out + hlen, p + ihl + *at, n);
    *at += n;
    return hlen + n;
}

/* ---- forward's part: deciding ----------------------------------------------------------- */

static int is_v4(const uint8_t *p)
{
    return p[0] >> 4 == 4;
}

static int df_clear(const uint8_t *p)
{
    return is_v4(p) && !(p[6] & 0x40);
}

/* Hold the original's bytes for the job: one more reference, taken while
 * we hold one of its copies. */
static void job_hold(struct glan_lan *lan, uint32_t slot, struct pmtu_job *job)
{
    if (!job->todo)
        atomic_fetch_add_explicit(&lan->slots[slot].refs, 1, memory_order_relaxed);
}

static void job_frag_to(struct glan_lan *lan, uint32_t slot, int p, struct pmtu_job *job)
{
    if (!(job->todo & JOB_FRAG))
        memset(job->frag_to, 0, sizeof job->frag_to);
    job_hold(lan, slot, job);
    job->todo |= JOB_FRAG;
    map_add(job->frag_to, (uint32_t)p);
}

/* The answer the rate limit held back: counted on the LAN and the sender. */
static void count_limited(struct glan_lan *lan, struct journal *j, int src)
{
    struct rec rc;
    rec_init(&rc, lan->r, j);
    rec_add(&rc, &j->l.icmp_limited, 1);
    rec_commit(&rc, FP_SENDER_DROP);
    add(&lan->ports[src].c.icmp_limited, 1);
}

enum glan_drop pmtu_unicast(struct glan_port *port, struct journal *j, uint32_t slot, size_t len,
                            int dst, uint32_t mtu, struct pmtu_job *job)
{
    struct glan_lan *lan = port->lan;
    const uint8_t *p = slot_data(lan, slot);
    size_t tot = ip_datagram_length(p, len); /* forward read the header: not 0 */
    enum glan_drop why = GLAN_DROP_TOO_BIG_FOR_PATH;
    if (df_clear(p)) {
        if (ipv4_can_fragment(p, tot, mtu)) {
            job_frag_to(lan, slot, dst, job);
            why = GLAN_DROP_FRAGMENTED;
        }
    } else if (is_v4(p) ? v4_answerable(p, tot) : v6_answerable(p, tot)) {
        if (icmp_take(port)) {
            job_hold(lan, slot, job);
            job->todo |= JOB_ANSWER;
            job->mtu = mtu;
        } else {
            count_limited(lan, j, port->idx);
        }
    }
    sender_drop(lan, j, slot, dst, why);
    return why;
}

void pmtu_copy(struct glan_lan *lan, struct journal *j, uint32_t slot, size_t len, int p,
               uint32_t mtu, struct pmtu_job *job)
{
    const uint8_t *d = slot_data(lan, slot);
    if (df_clear(d) && ipv4_can_fragment(d, ip_datagram_length(d, len), mtu)) {
        job_frag_to(lan, slot, p, job);
        sender_drop(lan, j, slot, p, GLAN_DROP_FRAGMENTED);
    } else {
        sender_drop(lan, j, slot, p, GLAN_DROP_TOO_BIG_FOR_PATH);
    }
}

/* ---- glan_port_tx_commit's part: sending ---------------------------------------------- */

/* Make and send the answer to port's datagram in slot. */
static void send_answer(struct glan_port *port, struct journal *j, const uint8_t *p, size_t tot,
                        uint32_t mtu)
{
    struct glan_lan *lan = port->lan;
    uint8_t fam = is_v4(p) ? GLAN_AF_INET : GLAN_AF_INET6;
    size_t cap = fam == GLAN_AF_INET ? ICMP4_ANSWER_MAX : ICMP6_ANSWER_MAX;
    uint32_t back = atomic_load_explicit(&lan->ports[port->idx].mtu, memory_order_relaxed);
    if (back && back < cap)
        cap = back; /* at least 68: a header and the original's first bytes */
    if (cap > lan->cls[NCLASS - 1].size)
        cap = lan->cls[NCLASS - 1].size;
    size_t n = fam == GLAN_AF_INET ? IPV4_HDR_MIN + ICMP_HDR + tot : IPV6_HDR_LEN + ICMP_HDR + tot;
    if (n > cap)
        n = cap;
    uint32_t a = slot_alloc_fit(lan, j, n);
    if (a == NONE) {
        count_made_refused(lan, j, port->idx, n, JOB_ANSWER, GLAN_DROP_NO_BUFFER);
        return;
    }
    uint8_t *out = slot_data(lan, a);
    n = fam == GLAN_AF_INET ? icmp4_frag_needed(out, n, p, tot, mtu)
                            : icmp6_packet_too_big(out, n, p, tot, mtu);
    base_send(port, j, a, n, port->idx, fam, JOB_ANSWER);
}

/* Cut port's datagram in slot into fragments for port dst. */
static void send_fragments(struct glan_port *port, struct journal *j, const uint8_t *p, size_t tot,
                           int dst)
{
    struct glan_lan *lan = port->lan;
    uint32_t mtu = atomic_load_explicit(&lan->ports[dst].mtu, memory_order_relaxed);
    if (!mtu || mtu > tot)
        mtu = (uint32_t)tot;               /* it grew meanwhile: the whole datagram, as one */
    if (!ipv4_can_fragment(p, tot, mtu)) { /* it shrank meanwhile */
        count_made_refused(lan, j, port->idx, mtu, JOB_FRAG, GLAN_DROP_TOO_BIG_FOR_PATH);
        return;
    }
    size_t data = tot - (size_t)(p[0] & 15) * 4;
    for (size_t at = 0; at < data;) {
        uint32_t f = slot_alloc_fit(lan, j, mtu);
        if (f == NONE) { /* the rest could not be reassembled: made no more */
            count_made_refused(lan, j, port->idx, mtu, JOB_FRAG, GLAN_DROP_NO_BUFFER);
            return;
        }
        size_t n = ipv4_fragment(slot_data(lan, f), p, tot, mtu, &at);
        base_send(port, j, f, n, dst, GLAN_AF_INET, JOB_FRAG);
    }
}

void pmtu_run(struct glan_port *port, struct journal *j, uint32_t slot, size_t len,
              struct pmtu_job *job)
{
    struct glan_lan *lan = port->lan;
    const uint8_t *p = slot_data(lan, slot);
    size_t tot = ip_datagram_length(p, len);
    if (tot) {
        if (job->todo & JOB_ANSWER)
            send_answer(port, j, p, tot, job->mtu);
        if (job->todo & JOB_FRAG)
            for (uint32_t w = 0; w < MAX_PORTS_WORDS; w++)
                for (uint64_t bits = job->frag_to[w]; bits; bits &= bits - 1)
                    send_fragments(port, j, p, tot,
                                   (int)(w * 64 + (uint32_t)__builtin_ctzll(bits)));
    }
    slot_unref(lan, j, slot); /* the job's reference */
}
