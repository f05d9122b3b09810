/*
 * The port queues: how a copy that forward (forward.c) sent to a port
 * reaches the port's input.  Each port has a bounded wait queue of
 * references to base storage buffers (a ring in the region, lock-free, one
 * CAS per copy), drained into the port's deliver callback by whichever
 * thread of the owning process wins the port's drain turn, often the
 * sender's own thread; a receiver in another process is woken instead (its
 * base thread, shm.c, drains).  A sender pins the port while it queues and
 * drains, so that detach can wait for it; detach and recovery then take the
 * turn for good and sweep what is left (sweep_port).  Batching holds the
 * drains of one sender's burst until its end.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* syscall() */
#endif
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "base_int.h"
#include "count.h"

static struct qcell *port_cells(struct glan_lan *lan, int p)
{
    return lan->cells + (size_t)p * lan->r->queue_len;
}

static uint64_t cell_word(uint64_t pos, int full, uint32_t slot)
{
    return (pos & POS_MASK) << 24 | (full ? CELL_FULL : 0) | (slot & CELL_SLOT);
}

/* Position a cell word is for, minus pos, modulo 2^40 (signed). */
static int64_t cell_dif(uint64_t w, uint64_t pos)
{
    uint64_t d = ((w >> 24) - pos) & POS_MASK;
    return d & (1ull << 39) ? (int64_t)d - (int64_t)(1ull << 40) : (int64_t)d;
}

static int cell_full_at(uint64_t w, uint64_t pos)
{
    return (w & CELL_FULL) && cell_dif(w, pos) == 0;
}

/* ---- the ring --------------------------------------------------------------------- */

/*
 * A bounded multi-producer ring.  A producer claims the cell at enq_pos by
 * one CAS from "empty for pos" to "full for pos with this slot", then moves
 * enq_pos on; anyone who finds the cell at enq_pos already full moves it on
 * for them.  So a producer killed between the two steps leaves a complete
 * entry and a lagging enq_pos that the next producer repairs.
 */
static int queue_push(struct glan_lan *lan, int p, uint32_t slot)
{
    struct port_shared *ps = &lan->ports[p];
    struct qcell *cells = port_cells(lan, p);
    uint64_t mask = lan->r->queue_len - 1;
    uint64_t pos = atomic_load_explicit(&ps->enq_pos, memory_order_relaxed);
    /* At most a lap of cells can be full or consumed past a lagging
     * enq_pos: moving it on more than twice round means the cells or the
     * positions were written by someone else. */
    for (uint64_t moved = 0;;) {
        struct qcell *c = &cells[pos & mask];
        /* A3: acquire, pairs with R3 in queue_pop: the consumer's release
         * of this cell */
        uint64_t w = atomic_load_explicit(&c->w, memory_order_acquire);
        int64_t dif = cell_dif(w, pos);
        if (dif == 0 && !(w & CELL_FULL)) {
            /* R2: release, pairs with A2 in queue_pop: the consumer that
             * sees the cell full sees the buffer and its header */
            if (atomic_compare_exchange_weak_explicit(&c->w, &w, cell_word(pos, 1, slot),
                                                      memory_order_release, memory_order_relaxed)) {
                atomic_compare_exchange_strong_explicit(&ps->enq_pos, &pos, pos + 1,
                                                        memory_order_relaxed, memory_order_relaxed);
                return 0;
            }
        } else if (dif >= 0) {
            /* enq_pos lags behind a cell somebody filled: move it on */
            if (atomic_compare_exchange_weak_explicit(&ps->enq_pos, &pos, pos + 1,
                                                      memory_order_relaxed, memory_order_relaxed)) {
                pos++;
                if (++moved > 2 * (mask + 1)) {
                    region_error(lan);
                    return -ENOBUFS;
                }
            }
        } else {
            return -ENOBUFS; /* the cell still holds the previous lap */
        }
    }
}

/* Only the holder of the drain turn pops, so a single consumer.  The copy is
 * recorded in cur before the cell is freed, so that at every instant it can
 * be found in the cell or in cur (recovery and reclaim rely on it), and the
 * buffer's reach bit for this port is set before that: once a copy has left
 * its cell, its buffer says so (recovery counts the copies of a dead
 * sender's datagram that never reached a queue by these bits). */
static uint32_t queue_pop(struct glan_lan *lan, int p)
{
    struct port_shared *ps = &lan->ports[p];
    struct qcell *cells = port_cells(lan, p);
    uint64_t mask = lan->r->queue_len - 1;
    uint64_t pos = atomic_load_explicit(&ps->deq_pos, memory_order_relaxed);
    struct qcell *c = &cells[pos & mask];
    /* A2: acquire, pairs with R2 in queue_push, the producer's CAS of this cell */
    uint64_t w = atomic_load_explicit(&c->w, memory_order_acquire);
    if (!cell_full_at(w, pos))
        return NONE;
    uint32_t slot = (uint32_t)(w & CELL_SLOT);
    if (slot >= lan->r->buffers) {
        /* Not a buffer of this LAN: free the cell, follow nothing. */
        region_error(lan);
        atomic_store_explicit(&ps->deq_pos, pos + 1, memory_order_relaxed);
        atomic_store_explicit(&c->w, cell_word(pos + mask + 1, 0, 0), memory_order_release);
        return queue_pop(lan, p);
    }
    __atomic_fetch_or(&reach_of(lan, slot)[(uint32_t)p / 64], 1ull << ((uint32_t)p % 64),
                      __ATOMIC_RELAXED);
    fail_point(FP_POP_REACH);
    uint64_t gen = atomic_load_explicit(&lan->slots[slot].owner, memory_order_relaxed) >> 32;
    atomic_store_explicit(&ps->cur, gen << 32 | slot, memory_order_relaxed);
    fail_point(FP_POP_CUR);
    atomic_store_explicit(&ps->deq_pos, pos + 1, memory_order_relaxed);
    fail_point(FP_POP_DEQ);
    /* R3: release, pairs with A3 in queue_push and queue_mark_held: the cell
     * is free for the producer one lap later, and whoever sees it free sees
     * cur set */
    atomic_store_explicit(&c->w, cell_word(pos + mask + 1, 0, 0), memory_order_release);
    return slot;
}

int queue_empty(struct glan_lan *lan, int p)
{
    struct port_shared *ps = &lan->ports[p];
    uint64_t pos = atomic_load(&ps->deq_pos);
    struct qcell *c = &port_cells(lan, p)[pos & (lan->r->queue_len - 1)];
    return !cell_full_at(atomic_load(&c->w), pos);
}

/* Those in its ring (counting cells filled past a lagging enq_pos) and the
 * one its drainer holds but has not counted yet. */
uint64_t port_queued(struct glan_lan *lan, int p)
{
    struct port_shared *ps = &lan->ports[p];
    struct qcell *cells = port_cells(lan, p);
    uint64_t len = lan->r->queue_len;
    uint64_t d = atomic_load(&ps->deq_pos), e = atomic_load(&ps->enq_pos);
    if (e < d)
        e = d;
    while (e - d < len && cell_full_at(atomic_load(&cells[e & (len - 1)].w), e))
        e++;
    uint64_t cur = atomic_load(&ps->cur);
    return e - d + (cur != CUR_NONE && !(cur & CUR_COUNTED) ? 1 : 0);
}

void queue_reset(struct glan_lan *lan, int p)
{
    struct port_shared *ps = &lan->ports[p];
    struct qcell *cells = port_cells(lan, p);
    for (uint32_t i = 0; i < lan->r->queue_len; i++)
        atomic_store_explicit(&cells[i].w, cell_word(i, 0, 0), memory_order_relaxed);
    atomic_store(&ps->enq_pos, 0);
    atomic_store(&ps->deq_pos, 0);
    atomic_store(&ps->cur, CUR_NONE);
    atomic_store(&ps->over_since, 0);
    atomic_store(&ps->stuck, 0);
    atomic_store(&ps->waited, 0);
}

static void release_waiters(struct glan_lan *lan, int p, int all);

/* ---- delivery ------------------------------------------------------------------ */

static enum glan_drop deliver_error(int rc)
{
    return rc == -ENETDOWN ? GLAN_DROP_PORT_DOWN : GLAN_DROP_PORT_ERROR;
}

/*
 * The copy in port p's cur (slot) has its fate: delivered (why NONE) or
 * dropped.  Count it in our ledger and mark cur counted in one record, so
 * that a kill leaves it counted once or not at all; then the ports'
 * counters, then give its reference back, and only then clear cur.  We hold
 * p's drain turn.
 */
static void settle(struct glan_lan *lan, struct journal *j, int p, uint32_t slot,
                   enum glan_drop why)
{
    struct port_shared *ps = &lan->ports[p];
    /* relaxed: only the turn holder writes cur */
    uint64_t cur = atomic_load_explicit(&ps->cur, memory_order_relaxed);
    struct rec rc;
    rec_init(&rc, lan->r, j);
    rec_add(&rc, why == GLAN_DROP_NONE ? &j->l.delivered : &j->l.dropped[why], 1);
    rec_put64(&rc, &ps->cur, cur | CUR_COUNTED);
    rec_commit(&rc, FP_SETTLE);
    const struct slot_hdr *s = &lan->slots[slot];
    if (why == GLAN_DROP_NONE) {
        struct port_shared *src = source_of(lan, s);
        if (src)
            add(&src->c.delivered, 1);
        add(&ps->recv_packets, 1);
        add(&ps->recv_bytes, s->len);
    } else {
        port_count_drop(lan, slot, p, why);
    }
    slot_unref(lan, j, slot);
    fail_point(FP_SETTLE_UNREF);
    /* R4: release, pairs with A4 in queue_mark_held: whoever sees cur
     * empty sees our unref done */
    atomic_store_explicit(&ps->cur, CUR_NONE, memory_order_release);
}

/* Hand what waits for port p to its deliver callback until the queue is
 * empty or the port has no room; we hold its drain turn.  Whether anything
 * was taken (a flush is due) in *took; 1 when the port had no room. */
static int deliver_queue(struct glan_lan *lan, struct journal *j, int p, int *took)
{
    struct port_shared *ps = &lan->ports[p];
    struct glan_port *lp = &lan->local[p];
    for (;;) {
        /* relaxed: only the turn holder writes cur */
        uint64_t cur = atomic_load_explicit(&ps->cur, memory_order_relaxed);
        uint32_t slot = cur != CUR_NONE ? (uint32_t)(cur & CUR_SLOT) : queue_pop(lan, p);
        if (slot == NONE)
            return 0;
        if (slot >= lan->r->buffers) {
            /* cur is in the region: a slot out of range was written there
             * by someone else; nothing to follow or give back */
            region_error(lan);
            atomic_store_explicit(&ps->cur, CUR_NONE, memory_order_release);
            continue;
        }
        const struct slot_hdr *s = &lan->slots[slot];
        uint32_t len = s->len;
        if (len > slot_size(lan, slot)) {
            /* The header is in the region: a length past the buffer is
             * refused, never read. */
            region_error(lan);
            settle(lan, j, p, slot, GLAN_DROP_MALFORMED);
            continue;
        }
        struct glan_dgram dg = {
            .data = slot_data(lan, slot),
            .len = len,
            .cast = s->cast,
            .family = s->family,
            .src = (int16_t)s->src,
            .offload = s->offload,
            .mss = s->mss,
            .ts_ns = s->ts_ns,
        };
        int rc = lp->ops->deliver(lp->ctx, &dg);
        if (rc == -EAGAIN)
            return 1; /* cur keeps the copy for the next kick */
        fail_point(FP_DELIVERED);
        if (rc == 0)
            *took = 1;
        settle(lan, j, p, slot, rc == 0 ? GLAN_DROP_NONE : deliver_error(rc));
    }
}

/*
 * The turn is try-only: a thread that loses leaves its copy on the queue,
 * and the winner looks at the queue once more after giving the turn back,
 * so nothing is left behind (S1: seq_cst on the turn and the queue head
 * makes that hold; S3 the same for a kick).
 */
void drain(struct glan_lan *lan, int p)
{
    struct port_shared *ps = &lan->ports[p];
    struct glan_port *lp = &lan->local[p];
    struct journal *j = jr_mine(lan);
    for (;;) {
        uint32_t free_turn = 0;
        /* S1: seq_cst, the sender's side: tried after its push */
        if (!atomic_compare_exchange_strong(&ps->drain, &free_turn, lan->token))
            return;
        if (!lp->ops) {
            /* The region says we own p, but no port of ours is attached
             * there: someone else wrote its owner word.  Nothing to deliver
             * to.  (Read holding the turn: a detach holds it for good
             * before it clears the callbacks.) */
            region_error(lan);
            atomic_store(&ps->drain, 0);
            return;
        }
        uint32_t kick = atomic_load(&ps->kick_gen);
        uint64_t deq = atomic_load_explicit(&ps->deq_pos, memory_order_relaxed);
        int took = 0, blocked = deliver_queue(lan, j, p, &took);
        if (took && lp->ops->flush)
            lp->ops->flush(lp->ctx);
        int moved = atomic_load_explicit(&ps->deq_pos, memory_order_relaxed) != deq;
        /* S1, S3: seq_cst, the drainer's side: give the turn back, then look
         * at the queue (or at the kicks when the port had no room) */
        atomic_store(&ps->drain, 0);
        if (moved)
            release_waiters(lan, p, 0);
        if (blocked ? atomic_load(&ps->kick_gen) == kick : queue_empty(lan, p))
            return;
    }
}

/* Wake the base thread of the process whose token is owner. */
static void wake_proc(struct glan_lan *lan, uint32_t owner)
{
    int q = TOKEN_PROC(owner);
    if (q < 0 || q >= MAX_PROCS)
        return;
    _Atomic uint32_t *w = &lan->r->procs[q].wake;
    /* S4: our push, then our look at the word; the base thread's clearing of
     * the word, then its look at the queues (base_main): with a full fence
     * on both sides one of us sees the other, so no copy waits for a wake
     * that never comes. */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(w, memory_order_relaxed) == 1)
        return;
    if (atomic_exchange(w, 1) == 2)
        syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* ---- fair shares of base storage --------------------------------------------- */

/*
 * No port may hold more than its share of base storage: a copy is queued
 * for a port that already has SHARE_FLOOR copies waiting only while it has
 * fewer waiting than there are buffers on the free stack of the copy's size
 * class (a dynamic threshold: n ports that stop taking input hold at most
 * about buffers / (n + 1) of each class each, and as many stay free for
 * everyone else; what waits counts copies of every class, so a port's
 * copies of one class never exceed the share).  A sender that can wait
 * (glan_port_tx_try) waits for room instead of having its copy dropped;
 * any other copy over the share is dropped `queue_full`.
 *
 * The clock (over_since) starts when a sender first finds the port without
 * room, and remembers enq_pos then.  A port that has not taken every copy
 * that waited then within stuck_ms is stuck: some copy has waited for it
 * longer than stuck_ms.  What waits for it is dropped `expired`, and so is
 * every copy for it, nobody waits for it, until the port is kicked (its
 * guest gave input buffers back).  A slow receiver that keeps taking what
 * it was given within stuck_ms is never stuck, however often it is full.
 */
#define SHARE_FLOOR 16

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Drop everything that waits for stuck port p, if its drain turn is free
 * (the copies' fates need no callback, so any process may). */
static void expire_queue(struct glan_lan *lan, struct journal *j, int p)
{
    struct port_shared *ps = &lan->ports[p];
    uint32_t free_turn = 0;
    if (!atomic_compare_exchange_strong(&ps->drain, &free_turn, lan->token))
        return;
    uint64_t cur = atomic_load_explicit(&ps->cur, memory_order_relaxed);
    if (cur != CUR_NONE && !(cur & CUR_COUNTED) && (cur & CUR_SLOT) < lan->r->buffers)
        settle(lan, j, p, (uint32_t)(cur & CUR_SLOT), GLAN_DROP_EXPIRED);
    uint32_t slot;
    while ((slot = queue_pop(lan, p)) != NONE)
        settle(lan, j, p, slot, GLAN_DROP_EXPIRED);
    /* S1: seq_cst, as drain gives the turn back */
    atomic_store(&ps->drain, 0);
    release_waiters(lan, p, 1);
}

/* Port p was found without room (deq, enq: its positions then): 1 when it
 * is stuck by the clock (it is marked so, and what waits for it expires). */
static int clock_stuck(struct glan_lan *lan, struct journal *j, int p, uint64_t deq, uint64_t enq)
{
    struct port_shared *ps = &lan->ports[p];
    uint32_t now = (uint32_t)mono_ms() | 1; /* 0 is "not running" */
    uint64_t w = atomic_load_explicit(&ps->over_since, memory_order_relaxed);
    if (w == 0 || (int32_t)((uint32_t)deq - (uint32_t)w) >= 0) {
        /* Not running, or it has taken all that waited when it started:
         * the clock starts now. */
        atomic_compare_exchange_strong(&ps->over_since, &w, (uint64_t)now << 32 | (uint32_t)enq);
        return 0;
    }
    if (now - (uint32_t)(w >> 32) < lan->r->stuck_ms)
        return 0;
    atomic_store(&ps->stuck, 1);
    expire_queue(lan, j, p);
    return 1;
}

/* A copy for port p finds it over its share; deq, enq its positions.
 * Returns why the copy is dropped. */
static enum glan_drop over_share(struct glan_lan *lan, struct journal *j, int p, uint64_t deq,
                                 uint64_t enq)
{
    return clock_stuck(lan, j, p, deq, enq) ? GLAN_DROP_EXPIRED : GLAN_DROP_QUEUE_FULL;
}

/* ---- back-pressure: senders that wait for room ------------------------------------ */

/*
 * A sender that can wait (glan_port_tx_try) is told to wait when its
 * receiver has fewer than queue_len / 8 free cells (kept for the senders
 * that cannot wait and for the few that passed the check at once) or is
 * over its fair share.  It marks itself (its wait_on names the receiver)
 * and the receiver (waited), then looks again (S6).  The receiver's drainer
 * releases the waiters once it took copies and the queue is at most three
 * quarters full; a receiver that goes stuck or away releases them too.
 * The release of a waiter in our process calls its unblocked op; one in
 * another process is marked WAIT_RELEASED and its base thread woken, which
 * calls it.  Every wait is also ended by the waiter's base thread after
 * stuck_ms (waits_tick): no lost wake-up, no dead process and no stuck
 * receiver holds a sender longer than that.
 */

/* Has port p fewer than h free cells, or is it over its share of size
 * class k (k < 0: of the class with the most free buffers)? */
static int no_room(struct glan_lan *lan, struct port_shared *ps, uint64_t h, int k, uint64_t *deq,
                   uint64_t *enq)
{
    *deq = atomic_load(&ps->deq_pos);
    *enq = atomic_load(&ps->enq_pos);
    uint64_t waiting = *enq > *deq ? *enq - *deq : 0;
    if (waiting + h >= lan->r->queue_len)
        return 1;
    if (waiting < SHARE_FLOOR)
        return 0;
    uint64_t top = 0;
    for (int c = 0; c < NCLASS; c++) {
        uint64_t t = __atomic_load_n(&lan->r->pool_top[c], __ATOMIC_RELAXED);
        if (c == k || (k < 0 && t > top))
            top = t;
    }
    return waiting + h >= top;
}

/* Call port s's unblocked op, if it is (still) one of ours and attached. */
static void call_unblocked(struct glan_lan *lan, int s)
{
    _Atomic uint32_t *pin = pin_of(lan, lan->me, s);
    /* S2: pinned like a sender, so that detach waits for us */
    atomic_fetch_add(pin, 1);
    struct glan_port *lp = &lan->local[s];
    if (atomic_load(&lan->ports[s].state) == PORT_ACTIVE &&
        atomic_load_explicit(&lan->ports[s].owner, memory_order_relaxed) == lan->token && lp->ops &&
        lp->ops->unblocked)
        lp->ops->unblocked(lp->ctx);
    atomic_fetch_sub(pin, 1);
}

/* End the wait of port s on port p (wait_on held p + 1). */
static void release_one(struct glan_lan *lan, int s, int p)
{
    struct port_shared *ss = &lan->ports[s];
    uint32_t w = (uint32_t)p + 1;
    uint32_t owner = atomic_load_explicit(&ss->owner, memory_order_relaxed);
    if (owner == lan->token) {
        if (atomic_compare_exchange_strong(&ss->wait_on, &w, 0))
            call_unblocked(lan, s);
    } else if (atomic_compare_exchange_strong(&ss->wait_on, &w, WAIT_RELEASED)) {
        wake_proc(lan, owner);
    }
}

/* Port p took copies (all: it went stuck or away): end the waits for it,
 * unless (not all) it is still more than three quarters full. */
static void release_waiters(struct glan_lan *lan, int p, int all)
{
    struct port_shared *ps = &lan->ports[p];
    /* S6: the drainer's side: deq_pos moved, then the look at waited */
    atomic_thread_fence(memory_order_seq_cst);
    if (!atomic_load_explicit(&ps->waited, memory_order_relaxed))
        return;
    uint64_t deq, enq;
    if (!all && no_room(lan, ps, lan->r->queue_len / 4, -1, &deq, &enq))
        return;
    if (!atomic_exchange(&ps->waited, 0))
        return;
    for (uint32_t s = 0; s < lan->r->max_ports; s++)
        if (atomic_load_explicit(&lan->ports[s].wait_on, memory_order_relaxed) == (uint32_t)p + 1)
            release_one(lan, (int)s, p);
}

int wait_for_room(struct glan_lan *lan, struct glan_port *from, int p, int k)
{
    if (p < 0 || (uint32_t)p >= lan->r->max_ports || p == from->idx)
        return 0;
    struct port_shared *ps = &lan->ports[p];
    uint64_t h = lan->r->queue_len / 8, deq, enq;
    if (atomic_load(&ps->state) != PORT_ACTIVE ||
        atomic_load_explicit(&ps->stuck, memory_order_relaxed) ||
        !no_room(lan, ps, h, k, &deq, &enq))
        return 0;
    if (from->batching && map_has(from->pending, (uint32_t)p)) {
        /* Our own batch filled it: deliver that part of the batch now, as
         * glan_port_batch_end would, and look again. */
        from->pending[p / 64] &= ~(1ull << (p % 64));
        _Atomic uint32_t *pin = pin_of(lan, lan->me, p);
        atomic_fetch_add(pin, 1);
        if (atomic_load(&ps->state) == PORT_ACTIVE)
            drain(lan, p);
        atomic_fetch_sub(pin, 1);
        if (!no_room(lan, ps, h, k, &deq, &enq))
            return 0;
    }
    if (clock_stuck(lan, jr_mine(lan), p, deq, enq))
        return 0;
    struct port_shared *me = &lan->ports[from->idx];
    /* S6: the waiter's side: mark, then look again */
    atomic_store(&me->wait_on, (uint32_t)p + 1);
    atomic_exchange(&ps->waited, 1);
    if (atomic_load(&ps->state) != PORT_ACTIVE || !no_room(lan, ps, h, k, &deq, &enq)) {
        /* Room came meanwhile.  A drainer that released us already calls
         * unblocked once more: harmless. */
        atomic_store(&me->wait_on, 0);
        return 0;
    }
    add(&me->waits, 1);
    atomic_store_explicit(&from->wait_since, mono_ns(), memory_order_relaxed);
    return 1;
}

/* The wait of port from (if it waited) is over: count how long it was. */
static void wait_over(struct glan_lan *lan, struct glan_port *from)
{
    uint64_t since = atomic_exchange_explicit(&from->wait_since, 0, memory_order_relaxed);
    if (since)
        add(&lan->ports[from->idx].wait_ns, mono_ns() - since);
}

void waits_tick(struct glan_lan *lan)
{
    uint64_t now = 0;
    for (uint32_t s = 0; s < lan->r->max_ports; s++) {
        struct port_shared *ss = &lan->ports[s];
        uint32_t w = atomic_load_explicit(&ss->wait_on, memory_order_relaxed);
        if (!w || atomic_load_explicit(&ss->owner, memory_order_relaxed) != lan->token)
            continue;
        if (w != WAIT_RELEASED) {
            /* Still waiting: only the bound ends it. */
            uint64_t since = atomic_load_explicit(&lan->local[s].wait_since, memory_order_relaxed);
            if (!now)
                now = mono_ns();
            if (since && now - since < (uint64_t)lan->r->stuck_ms * 1000000)
                continue;
        }
        if (atomic_compare_exchange_strong(&ss->wait_on, &w, 0))
            call_unblocked(lan, (int)s);
    }
}

int glan_port_tx_try(struct glan_port *port, struct glan_txbuf *tb, size_t len,
                     const struct glan_tx_meta *meta, enum glan_drop *why)
{
    struct glan_lan *lan = port->lan;
    wait_over(lan, port);
    int dst = -1;
    if (tb->slot != NONE && port->ops && port->ops->unblocked)
        dst = unicast_dest(port, tb->data, len < tb->len ? len : tb->len, meta);
    if (dst >= 0 && wait_for_room(lan, port, dst, class_of(lan, tb->slot)))
        return -EAGAIN;
    *why = glan_port_tx_commit(port, tb, len, meta);
    return 0;
}

void enqueue(struct glan_lan *lan, struct journal *j, struct glan_port *from, int p, uint32_t slot)
{
    if (p < 0 || (uint32_t)p >= lan->r->max_ports) {
        /* An index read from the region (registry, uplink) out of range. */
        region_error(lan);
        sender_drop(lan, j, slot, -1, GLAN_DROP_NO_RECEIVER);
        return;
    }
    struct port_shared *ps = &lan->ports[p];
    _Atomic uint32_t *pin = pin_of(lan, lan->me, p);
    /* S2: pin, then look at the state: seq_cst on both sides (detach stores
     * the state, then reads the pins) means one of us sees the other. */
    atomic_fetch_add(pin, 1);
    if (atomic_load(&ps->state) != PORT_ACTIVE) {
        atomic_fetch_sub(pin, 1);
        sender_drop(lan, j, slot, -1, GLAN_DROP_PORT_GONE);
        return;
    }
    if (atomic_load_explicit(&ps->stuck, memory_order_relaxed)) {
        sender_drop(lan, j, slot, p, GLAN_DROP_EXPIRED);
        if (!queue_empty(lan, p))
            expire_queue(lan, j, p);
        atomic_fetch_sub(pin, 1);
        return;
    }
    uint64_t deq = atomic_load_explicit(&ps->deq_pos, memory_order_relaxed);
    uint64_t enq = atomic_load_explicit(&ps->enq_pos, memory_order_relaxed);
    uint64_t waiting = enq > deq ? enq - deq : 0;
    if ((waiting >= SHARE_FLOOR &&
         waiting >= __atomic_load_n(&lan->r->pool_top[class_of(lan, slot)], __ATOMIC_RELAXED)) ||
        queue_push(lan, p, slot) < 0) {
        sender_drop(lan, j, slot, p, over_share(lan, j, p, deq, enq));
    } else {
        fail_point(FP_PUSHED);
        uint32_t owner = atomic_load_explicit(&ps->owner, memory_order_relaxed);
        if (owner != lan->token)
            wake_proc(lan, owner);
        else if (from->batching)
            from->pending[p / 64] |= 1ull << (p % 64);
        else
            drain(lan, p);
    }
    atomic_fetch_sub(pin, 1);
}

void glan_port_batch_begin(struct glan_port *port)
{
    port->batching = 1;
}

void glan_port_batch_end(struct glan_port *port)
{
    struct glan_lan *lan = port->lan;
    port->batching = 0;
    for (uint32_t w = 0; w < MAX_PORTS_WORDS; w++) {
        uint64_t bits = port->pending[w];
        port->pending[w] = 0;
        for (; bits; bits &= bits - 1) {
            int p = (int)(w * 64 + (uint32_t)__builtin_ctzll(bits));
            /* S2: pinned like enqueue: the receiver may be detaching
             * meanwhile, and then its own sweep has dropped what we queued. */
            _Atomic uint32_t *pin = pin_of(lan, lan->me, p);
            atomic_fetch_add(pin, 1);
            if (atomic_load(&lan->ports[p].state) == PORT_ACTIVE)
                drain(lan, p);
            atomic_fetch_sub(pin, 1);
        }
    }
}

void glan_port_kick(struct glan_port *port)
{
    struct glan_lan *lan = port->lan;
    struct port_shared *ps = &lan->ports[port->idx];
    /* Its guest gave input buffers back: no longer stuck (fair shares). */
    if (atomic_load_explicit(&ps->stuck, memory_order_relaxed))
        atomic_store(&ps->stuck, 0);
    /* S3: seq_cst, the kicker's side: bump, then try the turn */
    atomic_fetch_add(&lan->ports[port->idx].kick_gen, 1);
    drain(lan, port->idx);
}

/* ---- closing a port --------------------------------------------------------------- */

/* A dead process's pins would never go, so now and then look for the dead.
 * A pin of a process entry nobody holds (any but ours in a private LAN) was
 * written into the region by someone else: counted and cleared. */
void wait_pins(struct glan_lan *lan, int p, int locked)
{
    for (unsigned spins = 1;; spins++) {
        uint64_t sum = 0;
        /* S2: seq_cst, the closer's side: the port is CLOSING already */
        for (int q = 0; q < MAX_PROCS; q++) {
            uint32_t v = atomic_load(pin_of(lan, q, p));
            if (v && q != lan->me &&
                (!lan->r->shared || atomic_load(&lan->r->procs[q].state) == PROC_FREE)) {
                region_error(lan);
                atomic_compare_exchange_strong(pin_of(lan, q, p), &v, 0);
                continue;
            }
            sum += v;
        }
        if (!sum)
            return;
        if (lan->r->shared && spins % 4096 == 0) {
            if (locked)
                reap_locked(lan);
            else
                glan_lan_reap(lan);
        }
        sched_yield();
    }
}

/* Never from a live holder: waits while a thread of a process still
 * attached holds the turn (it gives it back once the queue is empty or the
 * port full). */
void take_turn(struct glan_lan *lan, struct port_shared *ps)
{
    for (;;) {
        uint32_t v = atomic_load(&ps->drain);
        if ((v == 0 || v == DRAIN_CLOSED || (v != lan->token && !token_live(lan, v))) &&
            atomic_compare_exchange_strong(&ps->drain, &v, lan->token))
            return;
        sched_yield();
    }
}

/* Nobody pushes any more.  A drainer that died left its copy in cur, in one
 * of four states, each dealt with here; then every copy still queued is
 * dropped, settled like a delivery. */
void sweep_port(struct glan_lan *lan, int p)
{
    struct port_shared *ps = &lan->ports[p];
    struct qcell *cells = port_cells(lan, p);
    struct journal *j = jr_mine(lan);
    uint64_t mask = lan->r->queue_len - 1;
    uint64_t cur = atomic_load(&ps->cur);
    if (cur != CUR_NONE) {
        uint32_t slot = (uint32_t)(cur & CUR_SLOT);
        uint64_t gen = cur >> 32;
        uint64_t pos = atomic_load(&ps->deq_pos);
        uint64_t here = atomic_load(&cells[pos & mask].w);
        uint64_t prev = atomic_load(&cells[(pos - 1) & mask].w);
        if (slot >= lan->r->buffers) {
            region_error(lan);
        } else if (cur & CUR_COUNTED) {
            /* A drainer died between counting the copy and clearing cur:
             * whether it gave its reference back is unknown, so the buffer
             * is left to reclaim, which frees it once nothing can reach it. */
            slot_suspect(lan, slot, gen);
        } else if (cell_full_at(here, pos) && (here & CELL_SLOT) == slot) {
            /* died inside queue_pop before moving deq_pos: the loop below
             * takes it from the cell */
        } else {
            if (pos > 0 && cell_full_at(prev, pos - 1) && (prev & CELL_SLOT) == slot)
                /* died inside queue_pop after moving deq_pos: free the cell */
                atomic_store(&cells[(pos - 1) & mask].w, cell_word(pos + mask, 0, 0));
            settle(lan, j, p, slot, GLAN_DROP_PORT_GONE);
        }
        atomic_store(&ps->cur, CUR_NONE);
    }
    uint32_t slot;
    while ((slot = queue_pop(lan, p)) != NONE)
        settle(lan, j, p, slot, GLAN_DROP_PORT_GONE);
    release_waiters(lan, p, 1);
}

/* Cells first, then cur: a copy moves from a cell to cur (set before the
 * cell is freed) and never back, so one that moves during the scan is still
 * found in cur. */
void queue_mark_held(struct glan_lan *lan, uint8_t *seen)
{
    struct region *r = lan->r;
    for (uint32_t p = 0; p < r->max_ports; p++) {
        struct qcell *cells = port_cells(lan, (int)p);
        for (uint32_t i = 0; i < r->queue_len; i++) {
            /* A3: acquire, pairs with R3 in queue_pop; a freed cell means
             * its cur store is visible below */
            uint64_t w = atomic_load_explicit(&cells[i].w, memory_order_acquire);
            if ((w & CELL_FULL) && (w & CELL_SLOT) < r->buffers)
                seen[(w & CELL_SLOT) / 8] |= (uint8_t)(1u << ((w & CELL_SLOT) % 8));
        }
    }
    for (uint32_t p = 0; p < r->max_ports; p++) {
        /* A4: acquire, pairs with R4 in deliver_queue; an idle drainer has
         * given its reference back */
        uint64_t cur = atomic_load_explicit(&lan->ports[p].cur, memory_order_acquire);
        if (cur != CUR_NONE && (cur & CUR_SLOT) < r->buffers)
            seen[(cur & CUR_SLOT) / 8] |= (uint8_t)(1u << ((cur & CUR_SLOT) % 8));
    }
}
