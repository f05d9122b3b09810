/*
 * Base storage: the fixed pool of buffers every datagram is copied into
 * before it goes anywhere, and the calls a datagram enters the base by.  A
 * device reserves a buffer (glan_port_tx_begin), copies the datagram from
 * guest storage straight into it, and commits it (glan_port_tx_commit), which
 * stamps the buffer's header and hands it to forward (forward.c); other
 * callers use glan_port_send.  A buffer is then referenced by the wait queues
 * (queue.c) and returns to its free list when the last copy is delivered or
 * dropped.  Recovery after a crash (shm.c) finds the buffers a dead process
 * held by their owner word and by its journals (journal.c).
 */
#include <string.h>
#include <time.h>

#include "base_int.h"
#include "count.h"

/*
 * Base storage is three size classes (small, medium, large), each a stack
 * of free buffers under the pool mutex (journal.c), from which each journal
 * keeps a small cache of its own per class (cache_max[k] buffers at most,
 * refilled and spilled in halves).  A datagram takes a buffer of the
 * smallest class it fits, or of the next larger class that has one free
 * (glan_port_tx_begin).  A thread
 * takes from and gives back to its own cache with no lock and no atomic
 * read-modify-write: the cache is its alone, and each change is one record
 * (journal.h), so a kill at any instruction leaves every free buffer in
 * exactly one cache or on the stack.  A buffer in another thread's cache
 * cannot be taken, so when the pool is nearly empty `no_buffer` may come
 * with a few buffers free (at most cache_max per thread that has used the
 * LAN).  The owner word says who holds a buffer, and it is what recovery
 * and reclaim go by (shm.c).
 */
static uint32_t slot_alloc(struct glan_lan *lan, struct journal *j, int k)
{
    struct region *r = lan->r;
    const struct cls *c = &lan->cls[k];
    for (;;) {
        uint64_t n = j->cache_n[k];
        if (n == 0) {
            uint32_t want = r->cache_max[k] / 2;
            if (pool_refill(lan, j, k, want ? want : 1) == 0)
                return NONE;
            continue;
        }
        uint32_t idx = n <= JR_CACHE ? j->cache[k][n - 1] : NONE;
        if (n > JR_CACHE || idx - c->first >= c->n) {
            /* Not one of this class: drop the entry, never follow it. */
            region_error(lan);
            j->cache_n[k] = n > JR_CACHE ? 0 : n - 1;
            continue;
        }
        struct slot_hdr *s = &lan->slots[idx];
        uint64_t gen = (atomic_load_explicit(&s->owner, memory_order_relaxed) >> 32) + 1;
        atomic_store_explicit(&s->refs, 0, memory_order_relaxed);
        uint64_t *reach = reach_of(lan, idx);
        for (uint32_t w = 0; w < r->reach_words; w++)
            __atomic_store_n(&reach[w], 0, __ATOMIC_RELAXED);
        struct rec rc;
        rec_init(&rc, r, j);
        rec_put64(&rc, &j->cache_n[k], n - 1);
        rec_put64(&rc, &s->owner, gen << 32 | lan->token);
        rec_commit(&rc, FP_ALLOC);
        return idx;
    }
}

uint32_t slot_alloc_fit(struct glan_lan *lan, struct journal *j, size_t len)
{
    /* The smallest class it fits; when that has none free, a larger one. */
    int k = 0;
    while (k < NCLASS && len > lan->cls[k].size)
        k++;
    uint32_t slot = NONE;
    while (k < NCLASS && (slot = slot_alloc(lan, j, k)) == NONE)
        k++;
    return slot;
}

/* Put buffer idx (owner word now `freeing`, by us) into our cache of its
 * class. */
static void cache_put(struct glan_lan *lan, struct journal *j, uint32_t idx, uint64_t gen)
{
    struct region *r = lan->r;
    int k = class_of(lan, idx);
    if (j->cache_n[k] >= JR_CACHE)
        pool_spill(lan, j, k, JR_CACHE / 2);
    uint64_t n = j->cache_n[k];
    if (n >= JR_CACHE) {
        /* The spill could not take any (a segment written wrong): start
         * the cache again rather than write past it. */
        region_error(lan);
        n = 0;
    }
    j->cache[k][n] = idx; /* past cache_n until the record says so */
    struct rec rc;
    rec_init(&rc, r, j);
    rec_put64(&rc, &j->cache_n[k], n + 1);
    rec_put64(&rc, &lan->slots[idx].owner, gen << 32 | OWNER_FREE);
    rec_put64(&rc, &j->unref, HAND_NONE);
    rec_commit(&rc, FP_FREED);
    if (j->cache_n[k] > r->cache_max[k])
        pool_spill(lan, j, k, (uint32_t)(j->cache_n[k] - r->cache_max[k] / 2));
}

int slot_release(struct glan_lan *lan, struct journal *j, uint32_t idx, uint64_t w)
{
    uint64_t gen = w >> 32;
    uint32_t jidx = (uint32_t)(j - lan->r->jr);
    /* The owner word decides who puts the buffer back: the one whose CAS
     * writes its freeing mark (drainer, recovery or reclaim).  j->unref
     * names the buffer meanwhile, so that recovery finds a buffer whose
     * putter died between this CAS and its record. */
    j->unref = gen << 32 | idx;
    atomic_signal_fence(memory_order_seq_cst);
    for (;;) {
        /* Freed or taken by someone else: not ours to put back.  Another
         * change (the sender handing the buffer to the queues) is retried. */
        if ((uint32_t)w == OWNER_FREE || owner_is_freeing((uint32_t)w) || w >> 32 != gen) {
            j->unref = HAND_NONE;
            return 0;
        }
        if (atomic_compare_exchange_weak_explicit(&lan->slots[idx].owner, &w,
                                                  gen << 32 | OWNER_FREEING(jidx),
                                                  memory_order_relaxed, memory_order_relaxed))
            break;
    }
    fail_point(FP_FREE_CLAIM);
    cache_put(lan, j, idx, gen);
    return 1;
}

void slot_unref(struct glan_lan *lan, struct journal *j, uint32_t idx)
{
    struct slot_hdr *s = &lan->slots[idx];
    /* We hold a reference: the generation cannot move under us. */
    uint64_t w = atomic_load_explicit(&s->owner, memory_order_relaxed);
    j->unref = (w >> 32) << 32 | idx;
    atomic_signal_fence(memory_order_seq_cst);
    fail_point(FP_UNREF_MARK);
    /* R8/A8: acq_rel, pairs with the other holders' unrefs: the last
     * reference holder must see all readers done */
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) {
        fail_point(FP_UNREF_ZERO);
        if (slot_release(lan, j, idx, atomic_load_explicit(&s->owner, memory_order_relaxed)))
            return;
    }
    atomic_signal_fence(memory_order_seq_cst);
    j->unref = HAND_NONE;
}

int token_live(struct glan_lan *lan, uint32_t token)
{
    int q = TOKEN_PROC(token);
    if (token == 0 || q < 0 || q >= MAX_PROCS)
        return 0;
    const struct proc_entry *pe = &lan->r->procs[q];
    return atomic_load(&pe->state) == PROC_ALIVE && atomic_load(&pe->token) == token;
}

void slot_suspect(struct glan_lan *lan, uint32_t idx, uint64_t gen)
{
    struct slot_hdr *s = &lan->slots[idx];
    /* A mark left from an older generation is replaced, not counted twice. */
    if (atomic_exchange(&s->suspect, (uint32_t)gen + 1) == 0)
        atomic_fetch_add(&lan->r->suspects, 1);
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
    struct journal *j = jr_mine(lan);
    if (len > lan->cls[NCLASS - 1].size)
        return count_refused(lan, j, port->idx, len, GLAN_DROP_TOO_BIG);
    uint32_t slot = slot_alloc_fit(lan, j, len);
    if (slot == NONE)
        return count_refused(lan, j, port->idx, len, GLAN_DROP_NO_BUFFER);
    tb->slot = slot;
    tb->data = slot_data(lan, slot);
    tb->len = len;
    return GLAN_DROP_NONE;
}

/* Every copy of the datagram in slot is on its queue or counted: the
 * datagram is out of our hands, and then the buffer belongs to the queues.
 * A CAS, because the last copy may already have been delivered and the
 * buffer freed or even reused (its generation then differs).  mine: its
 * owner word when we took it. */
static void hand_over(struct glan_lan *lan, struct journal *j, uint32_t slot, uint64_t mine)
{
    j->hand = HAND_NONE;
    atomic_signal_fence(memory_order_seq_cst);
    fail_point(FP_FWD_END);
    if ((uint32_t)mine == lan->token)
        atomic_compare_exchange_strong_explicit(&lan->slots[slot].owner, &mine,
                                                (mine & ~(uint64_t)UINT32_MAX) | OWNER_QUEUES,
                                                memory_order_relaxed, memory_order_relaxed);
}

/* Stamp the buffer's header, forward it, show it to the monitor, send what
 * the path MTU asks for, and hand the buffer to the queues. */
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
    struct journal *j = jr_mine(lan);
    struct slot_hdr *s = &lan->slots[slot];
    s->len = (uint32_t)len;
    s->src = (uint16_t)port->idx;
    s->src_gen = (uint16_t)lan->ports[port->idx].gen;
    s->cast = 0; /* set once the header is read; a malformed one keeps 0 */
    s->family = 0;
    s->offload = meta ? meta->offload : 0;
    s->mss = meta && (meta->offload & GLAN_OFFLOAD_TSO) ? meta->mss : 0;
    /* relaxed: a hint; monitor_show pins and looks again */
    int watched = atomic_load_explicit(&lan->mon, memory_order_relaxed) != NULL;
    s->ts_ns = meta && meta->ts_ns ? meta->ts_ns : watched ? now_ns() : 0;
    /* The caller's reference, and one more while the monitor looks at it. */
    atomic_store_explicit(&s->refs, watched ? 2 : 1, memory_order_relaxed);
    uint64_t mine = atomic_load_explicit(&s->owner, memory_order_relaxed);
    fail_point(FP_TX_STAMPED);
    struct pmtu_job job;
    job.todo = 0;
    enum glan_drop why = forward(port, j, slot, len, meta, &job);
    if (watched) {
        monitor_show(lan, slot, why);
        slot_unref(lan, j, slot);
    }
    if (job.todo)
        pmtu_run(port, j, slot, len, &job);
    hand_over(lan, j, slot, mine);
    return why;
}

void base_send(struct glan_port *from, struct journal *j, uint32_t slot, size_t len, int dst,
               uint8_t family, unsigned kind)
{
    struct glan_lan *lan = from->lan;
    struct slot_hdr *s = &lan->slots[slot];
    s->len = (uint32_t)len;
    s->src = SRC_BASE;
    s->src_gen = 0;
    s->cast = GLAN_CAST_UNICAST;
    s->family = family;
    int watched = atomic_load_explicit(&lan->mon, memory_order_relaxed) != NULL;
    s->ts_ns = watched ? now_ns() : 0;
    atomic_store_explicit(&s->refs, watched ? 2 : 1, memory_order_relaxed);
    uint64_t mine = atomic_load_explicit(&s->owner, memory_order_relaxed);
    count_made(lan, j, from->idx, slot, len, kind);
    enqueue(lan, j, from, dst, slot);
    if (watched) {
        monitor_show(lan, slot, GLAN_DROP_NONE);
        slot_unref(lan, j, slot);
    }
    hand_over(lan, j, slot, mine);
}

void glan_port_tx_abort(struct glan_port *port, struct glan_txbuf *tb)
{
    if (tb->slot != NONE) {
        struct glan_lan *lan = port->lan;
        struct journal *j = jr_mine(lan);
        uint64_t w = atomic_load_explicit(&lan->slots[tb->slot].owner, memory_order_relaxed);
        slot_release(lan, j, tb->slot, w);
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
