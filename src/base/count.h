/*
 * The books, adding side: every counter of the base is added to by these,
 * on the datagram path, so they are inline.  lan.c reads the counters
 * (glan_lan_stats, glan_port_stats); docs/design.md "Counting" says what
 * each one means and where it lives.  A copy's fate is counted on the port
 * that sent it, on the port it was meant for, and in the LAN totals, which
 * are kept in stripes (region.h, struct lan_stripe).  Internal to src/base.
 */
#ifndef GLAN_BASE_COUNT_H
#define GLAN_BASE_COUNT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "base_int.h"

#pragma GCC visibility push(hidden)

/* This thread's stripe number (0: none yet), and the hand-out of a new one
 * (lan.c). */
extern _Thread_local uint32_t thread_stripe;
uint32_t stripe_take(void);

#pragma GCC visibility pop

/* A counter add: relaxed, exactness and not ordering is what counters need. */
static inline void add(_Atomic uint64_t *c, uint64_t v)
{
    atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

/* The index of the stripe of the LAN totals this thread adds to (and of the
 * free list it gives buffers back to, storage.c).  Two writers that land on
 * one stripe still count exactly (the adds are atomic); they only share a
 * cache line again.  The process's table index shifts the start, so the
 * first threads of two processes take different stripes. */
static inline uint32_t my_stripe_idx(struct glan_lan *lan)
{
    uint32_t t = thread_stripe;
    if (!t)
        t = stripe_take();
    return (t + 5u * (uint32_t)lan->me) & (LAN_STRIPES - 1);
}

static inline struct lan_stripe *my_stripe(struct glan_lan *lan)
{
    return &lan->r->c[my_stripe_idx(lan)];
}

/* Port src handed a datagram of len bytes to the base.  Returns this
 * thread's stripe, for count_fanout of the same datagram. */
static inline struct lan_stripe *count_sent(struct glan_lan *lan, int src, size_t len)
{
    struct port_shared *ps = &lan->ports[src];
    struct lan_stripe *t = my_stripe(lan);
    add(&ps->c.sent_packets, 1);
    add(&ps->c.sent_bytes, len);
    add(&t->sent_packets, 1);
    add(&t->sent_bytes, len);
    return t;
}

/* A datagram of port src, counted in stripe t by count_sent, makes extra
 * copies beyond the first. */
static inline void count_fanout(struct glan_lan *lan, int src, struct lan_stripe *t, unsigned extra)
{
    add(&lan->ports[src].c.fanout, extra);
    add(&t->fanout, extra);
}

/* A datagram refused before it reached base storage: sent and dropped.
 * Returns why. */
static inline enum glan_drop count_refused(struct glan_lan *lan, int src, size_t len,
                                           enum glan_drop why)
{
    struct port_shared *ps = &lan->ports[src];
    add(&ps->c.sent_packets, 1);
    add(&ps->c.sent_bytes, len);
    add(&ps->c.dropped[why], 1);
    struct lan_stripe *t = my_stripe(lan);
    add(&t->sent_packets, 1);
    add(&t->sent_bytes, len);
    add(&t->dropped[why], 1);
    return why;
}

/* The port a buffer came from, if it is still the same attachment: a copy's
 * fate is counted on its sender, unless the sender detached meanwhile. */
static inline struct port_shared *source_of(struct glan_lan *lan, const struct slot_hdr *s)
{
    struct port_shared *ps = &lan->ports[s->src];
    if (atomic_load_explicit(&ps->state, memory_order_relaxed) == PORT_FREE ||
        (uint16_t)ps->gen != s->src_gen)
        return NULL;
    return ps;
}

/* One copy of the datagram in slot was dropped; dst is the port it was meant
 * for, or -1 when the datagram never had a receiver. */
static inline void count_drop(struct glan_lan *lan, uint32_t slot, int dst, enum glan_drop why)
{
    struct port_shared *src = source_of(lan, &lan->slots[slot]);
    add(&my_stripe(lan)->dropped[why], 1);
    if (src)
        add(&src->c.dropped[why], 1);
    if (dst >= 0)
        add(&lan->ports[dst].recv_dropped, 1);
}

/* One copy of slot, meant for port dst (-1: the datagram had no receiver),
 * ends dropped: count it, give its reference back. */
static inline void drop_copy(struct glan_lan *lan, uint32_t slot, int dst, enum glan_drop why)
{
    count_drop(lan, slot, dst, why);
    slot_unref(lan, slot);
}

/* One copy of the datagram in slot was delivered to port dst. */
static inline void count_delivered(struct glan_lan *lan, uint32_t slot, int dst)
{
    const struct slot_hdr *s = &lan->slots[slot];
    struct port_shared *src = source_of(lan, s);
    add(&my_stripe(lan)->delivered, 1);
    if (src)
        add(&src->c.delivered, 1);
    add(&lan->ports[dst].recv_packets, 1);
    add(&lan->ports[dst].recv_bytes, s->len);
}

#endif
