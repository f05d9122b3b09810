/*
 * Base storage: the fixed pool of buffers every datagram is copied into
 * before it goes anywhere, and the calls a datagram enters the base by.  A
 * device reserves a buffer (glan_port_tx_begin), copies the datagram from
 * guest storage straight into it, and commits it (glan_port_tx_commit), which
 * stamps the buffer's header and hands it to forward (forward.c); other
 * callers use glan_port_send.  A buffer is then referenced by the wait queues
 * (queue.c) and returns to its free list when the last copy is delivered or
 * dropped.  Recovery after a crash (shm.c) finds the buffers a dead process
 * held by their owner word.
 */
#include <string.h>
#include <time.h>

#include "base_int.h"
#include "count.h"

/* Pop one buffer off free list k, or NONE when it is empty. */
static uint32_t pool_pop(struct glan_lan *lan, uint32_t k)
{
    _Atomic uint64_t *h = &lan->r->pool[k].head;
    /* A1: acquire, pairs with R1 in pool_push; we see the slot's link */
    uint64_t head = atomic_load_explicit(h, memory_order_acquire);
    for (;;) {
        uint32_t idx = (uint32_t)head;
        if (idx == NONE)
            return NONE;
        uint32_t next = atomic_load_explicit(&lan->slots[idx].next, memory_order_relaxed);
        /* The tag in the high half defeats ABA: a slot popped and pushed back
         * meanwhile changes the tag, so this CAS fails and we retry.
         * A1: acquire, pairs with R1 in pool_push, as above */
        uint64_t nh = ((head >> 32) + 1) << 32 | next;
        if (atomic_compare_exchange_weak_explicit(h, &head, nh, memory_order_acquire,
                                                  memory_order_acquire))
            return idx;
    }
}

static void pool_push(struct glan_lan *lan, uint32_t k, uint32_t idx)
{
    _Atomic uint64_t *h = &lan->r->pool[k].head;
    struct slot_hdr *s = &lan->slots[idx];
    uint64_t head = atomic_load_explicit(h, memory_order_relaxed);
    for (;;) {
        atomic_store_explicit(&s->next, (uint32_t)head, memory_order_relaxed);
        uint64_t nh = ((head >> 32) + 1) << 32 | idx;
        /* R1: release, pairs with A1 in pool_pop: the next owner sees the
         * link and everything written to the buffer */
        if (atomic_compare_exchange_weak_explicit(h, &head, nh, memory_order_release,
                                                  memory_order_relaxed))
            return;
    }
}

/*
 * Base storage is one pool in LAN_STRIPES free lists, one for each stripe of
 * the LAN totals.  A thread gives buffers back to its own stripe's list and
 * takes from it first, then from the others in turn: a thread that delivers
 * its own datagrams reuses the buffers it freed, still in its cache, and two
 * threads forwarding at once do not meet on one list head.  The lists are
 * in the region and hold free buffers only, so no buffer is kept by a thread
 * or a process: a thread that ends or a process that dies leaves nothing
 * behind.  A buffer given back to a list already looked at while a taker
 * walks the others is missed by that taker: under concurrent traffic
 * no_buffer may come with a few buffers free (the pool is nearly empty).
 */
static uint32_t slot_alloc(struct glan_lan *lan)
{
    uint32_t k = my_stripe_idx(lan), idx = NONE;
    for (uint32_t i = 0; i < LAN_STRIPES && idx == NONE; i++)
        idx = pool_pop(lan, (k + i) & (LAN_STRIPES - 1));
    if (idx == NONE)
        return NONE;
    /* Stamp the owner at once: recovery returns the buffers a dead process
     * held by this stamp. */
    struct slot_hdr *s = &lan->slots[idx];
    uint64_t gen = (atomic_load_explicit(&s->owner, memory_order_relaxed) >> 32) + 1;
    atomic_store_explicit(&s->owner, gen << 32 | lan->token, memory_order_relaxed);
    atomic_fetch_add_explicit(&lan->r->c[k].in_use, 1, memory_order_relaxed);
    return idx;
}

void slot_free(struct glan_lan *lan, uint32_t idx)
{
    struct region *r = lan->r;
    struct slot_hdr *s = &lan->slots[idx];
    uint64_t gen = atomic_load_explicit(&s->owner, memory_order_relaxed) >> 32;
    uint64_t was =
        atomic_exchange_explicit(&s->owner, gen << 32 | OWNER_FREE, memory_order_relaxed);
    if ((uint32_t)was == OWNER_ORPHAN || (uint32_t)was == OWNER_ORPHAN_QUIET)
        atomic_fetch_sub_explicit(&r->orphans, 1, memory_order_relaxed);
    uint32_t k = my_stripe_idx(lan);
    pool_push(lan, k, idx);
    atomic_fetch_sub_explicit(&r->c[k].in_use, 1, memory_order_relaxed);
}

/* ---- a datagram enters the base ---------------------------------------------- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

enum glan_drop glan_port_tx_begin(struct glan_port *port, size_t len, struct glan_txbuf *tb)
{
    struct glan_lan *lan = port->lan;
    tb->slot = NONE;
    tb->data = NULL;
    tb->len = 0;
    if (len > lan->r->buffer_size)
        return count_refused(lan, port->idx, len, GLAN_DROP_TOO_BIG);
    uint32_t slot = slot_alloc(lan);
    if (slot == NONE)
        return count_refused(lan, port->idx, len, GLAN_DROP_NO_BUFFER);
    tb->slot = slot;
    tb->data = slot_data(lan, slot);
    tb->len = len;
    return GLAN_DROP_NONE;
}

/* Stamp the buffer's header, forward it, show it to the monitor, and hand
 * the buffer to the queues. */
enum glan_drop glan_port_tx_commit(struct glan_port *port, struct glan_txbuf *tb, size_t len,
                                   const struct glan_tx_meta *meta)
{
    uint32_t slot = tb->slot;
    if (slot == NONE)
        return GLAN_DROP_NO_BUFFER;
    if (len > tb->len)
        len = tb->len;
    tb->slot = NONE;
    tb->data = NULL;

    struct glan_lan *lan = port->lan;
    struct slot_hdr *s = &lan->slots[slot];
    s->len = (uint32_t)len;
    s->src = (uint16_t)port->idx;
    s->src_gen = (uint16_t)lan->ports[port->idx].gen;
    s->cast = 0; /* set once the header is read; a malformed one keeps 0 */
    s->family = 0;
    /* relaxed: a hint; monitor_show pins and looks again */
    int watched = atomic_load_explicit(&lan->mon, memory_order_relaxed) != NULL;
    s->ts_ns = meta && meta->ts_ns ? meta->ts_ns : watched ? now_ns() : 0;
    /* The caller's reference, and one more while the monitor looks at it. */
    atomic_store_explicit(&s->refs, watched ? 2 : 1, memory_order_relaxed);
    uint64_t mine = atomic_load_explicit(&s->owner, memory_order_relaxed);
    enum glan_drop why = forward(port, slot, len, meta);
    if (watched) {
        monitor_show(lan, slot, why);
        slot_unref(lan, slot);
    }
    /* Every copy is on its queue (or dropped): the buffer now belongs to
     * the queues.  A CAS, because the last copy may already have been
     * delivered and the buffer freed or even reused (its generation then
     * differs). */
    if ((uint32_t)mine == lan->token)
        atomic_compare_exchange_strong_explicit(&s->owner, &mine,
                                                (mine & ~(uint64_t)UINT32_MAX) | OWNER_QUEUES,
                                                memory_order_relaxed, memory_order_relaxed);
    return why;
}

void glan_port_tx_abort(struct glan_port *port, struct glan_txbuf *tb)
{
    if (tb->slot != NONE) {
        atomic_store_explicit(&port->lan->slots[tb->slot].refs, 0, memory_order_relaxed);
        slot_free(port->lan, tb->slot);
    }
    tb->slot = NONE;
    tb->data = NULL;
}

enum glan_drop glan_port_send(struct glan_port *port, const void *data, size_t len,
                              const struct glan_tx_meta *meta)
{
    struct glan_txbuf tb;
    enum glan_drop why = glan_port_tx_begin(port, len, &tb);
    if (why != GLAN_DROP_NONE) {
        glan_port_show_refused(port, data, len, why, meta);
        return why;
    }
    memcpy(tb.data, data, len);
    return glan_port_tx_commit(port, &tb, len, meta);
}
