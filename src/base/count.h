/*
 * The books, adding side: every counter of the base is added to by these
 * (and by settle in queue.c, which counts a copy that leaves a port's
 * queue), on the datagram path, so they are inline.  lan.c reads the
 * counters (glan_lan_stats, glan_port_stats); docs/design.md "Counting"
 * says what each one means and where it lives.  A copy's fate is counted on
 * the port that sent it, on the port it was meant for, and in the LAN
 * totals, which are the journals' ledgers.  Internal to src/base.
 */
#ifndef GLAN_BASE_COUNT_H
#define GLAN_BASE_COUNT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "base_int.h"

/* Counter adds on the ports' entries: relaxed, exactness and not ordering
 * is what counters need. */
static inline void add(_Atomic uint64_t *c, uint64_t v)
{
    atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

/*
 * The LAN totals are the ledgers of the journals (region.h): each count of
 * the LAN goes into the counting thread's own ledger in one record together
 * with the state it goes with, so that a kill at any instruction leaves it
 * counted exactly once or not at all (journal.h).  The ports' counters are
 * added to after the record, with atomic adds: a process killed between the
 * two leaves that port's counter one short (docs/design.md, "Crash
 * safety").
 */

/* The port a buffer came from, if it is still the same attachment: a copy's
 * fate is counted on its sender, unless the sender detached meanwhile.  The
 * header is in the region: an index out of range counts as no port. */
static inline struct port_shared *source_of(struct glan_lan *lan, const struct slot_hdr *s)
{
    if (s->src >= lan->r->max_ports)
        return NULL;
    struct port_shared *ps = &lan->ports[s->src];
    if (atomic_load_explicit(&ps->state, memory_order_relaxed) == PORT_FREE ||
        (uint16_t)ps->gen != s->src_gen)
        return NULL;
    return ps;
}

/* Port src handed the datagram in slot (len bytes) to the base: sent, and
 * slot is in our hand with one copy (j->fwd_n). */
static inline void count_sent(struct glan_lan *lan, struct journal *j, int src, uint32_t slot,
                              size_t len)
{
    struct rec rc;
    rec_init(&rc, lan->r, j);
    rec_add(&rc, &j->l.sent_packets, 1);
    rec_add(&rc, &j->l.sent_bytes, len);
    uint64_t gen = atomic_load_explicit(&lan->slots[slot].owner, memory_order_relaxed) >> 32;
    rec_put64(&rc, &j->hand, gen << 32 | slot);
    rec_put32(&rc, &j->fwd_n, 1);
    rec_put32(&rc, &j->fwd_dropped, 0);
    rec_commit(&rc, FP_SENT);
    struct port_shared *ps = &lan->ports[src];
    add(&ps->c.sent_packets, 1);
    add(&ps->c.sent_bytes, len);
}

/* The base made a datagram (kind JOB_ANSWER or JOB_FRAG, pmtu.c) in slot,
 * len bytes, for port src's datagram: sent in the LAN totals (it has no
 * sending port), counted as an answer or a fragment on the LAN and on src,
 * and slot is in our hand with one copy. */
static inline void count_made(struct glan_lan *lan, struct journal *j, int src, uint32_t slot,
                              size_t len, unsigned kind)
{
    struct rec rc;
    rec_init(&rc, lan->r, j);
    rec_add(&rc, &j->l.sent_packets, 1);
    rec_add(&rc, &j->l.sent_bytes, len);
    rec_add(&rc, kind == JOB_ANSWER ? &j->l.icmp_sent : &j->l.frags_sent, 1);
    uint64_t gen = atomic_load_explicit(&lan->slots[slot].owner, memory_order_relaxed) >> 32;
    rec_put64(&rc, &j->hand, gen << 32 | slot);
    rec_put32(&rc, &j->fwd_n, 1);
    rec_put32(&rc, &j->fwd_dropped, 0);
    rec_commit(&rc, FP_SENT);
    add(kind == JOB_ANSWER ? &lan->ports[src].c.icmp_sent : &lan->ports[src].c.frags_sent, 1);
}

/* A datagram the base would have made found no buffer (or no longer fits):
 * made, sent and dropped, in the LAN totals; made on src. */
static inline void count_made_refused(struct glan_lan *lan, struct journal *j, int src, size_t len,
                                      unsigned kind, enum glan_drop why)
{
    struct rec rc;
    rec_init(&rc, lan->r, j);
    rec_add(&rc, &j->l.sent_packets, 1);
    rec_add(&rc, &j->l.sent_bytes, len);
    rec_add(&rc, kind == JOB_ANSWER ? &j->l.icmp_sent : &j->l.frags_sent, 1);
    rec_add(&rc, &j->l.dropped[why], 1);
    rec_commit(&rc, FP_REFUSED);
    add(kind == JOB_ANSWER ? &lan->ports[src].c.icmp_sent : &lan->ports[src].c.frags_sent, 1);
}

/* The datagram in our hand makes extra copies beyond the first. */
static inline void count_fanout(struct glan_lan *lan, struct journal *j, int src, unsigned extra)
{
    struct rec rc;
    rec_init(&rc, lan->r, j);
    rec_add(&rc, &j->l.fanout, extra);
    rec_put32(&rc, &j->fwd_n, 1 + extra);
    rec_commit(&rc, FP_FANOUT);
    add(&lan->ports[src].c.fanout, extra);
}

/* A datagram refused before it reached base storage: sent and dropped.
 * Returns why. */
static inline enum glan_drop count_refused(struct glan_lan *lan, struct journal *j, int src,
                                           size_t len, enum glan_drop why)
{
    struct rec rc;
    rec_init(&rc, lan->r, j);
    rec_add(&rc, &j->l.sent_packets, 1);
    rec_add(&rc, &j->l.sent_bytes, len);
    rec_add(&rc, &j->l.dropped[why], 1);
    rec_commit(&rc, FP_REFUSED);
    struct port_shared *ps = &lan->ports[src];
    add(&ps->c.sent_packets, 1);
    add(&ps->c.sent_bytes, len);
    add(&ps->c.dropped[why], 1);
    return why;
}

/* The port counters of one copy of slot dropped on its way to dst (-1: the
 * datagram had no receiver). */
static inline void port_count_drop(struct glan_lan *lan, uint32_t slot, int dst, enum glan_drop why)
{
    struct port_shared *src = source_of(lan, &lan->slots[slot]);
    if (src)
        add(&src->c.dropped[why], 1);
    if (dst >= 0)
        add(&lan->ports[dst].recv_dropped, 1);
}

/* One copy of the datagram in our hand, meant for port dst (-1: it never
 * had a receiver), is dropped by the sender itself: count it, give its
 * reference back. */
static inline void sender_drop(struct glan_lan *lan, struct journal *j, uint32_t slot, int dst,
                               enum glan_drop why)
{
    struct rec rc;
    rec_init(&rc, lan->r, j);
    rec_add(&rc, &j->l.dropped[why], 1);
    rec_put32(&rc, &j->fwd_dropped, j->fwd_dropped + 1);
    rec_commit(&rc, FP_SENDER_DROP);
    port_count_drop(lan, slot, dst, why);
    slot_unref(lan, j, slot);
}

#endif
