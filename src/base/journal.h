/*
 * Journals (region.h, struct journal): how a thread makes several stores
 * one step that a SIGKILL cannot split, and the kill points tests use to
 * prove it.  Internal to src/base; journal.c has the rest.
 *
 * A record is built with rec_put32/rec_put64, naming words of the region
 * and the values they are to get, and made to happen with rec_commit:
 *
 *     entries written -> n_redo stored (the commit) -> the stores done ->
 *     n_redo cleared
 *
 * A process killed at any instruction has run a prefix of that sequence
 * (a kill is precise, and a signal fence keeps the compiler from moving
 * the stores across the steps; what one thread stored before it died is
 * visible to whoever sees it dead).  Before the commit nothing happened;
 * after it, whoever recovers the dead thread does the stores again
 * (jr_redo), which is harmless because each names a word nobody else
 * writes until the record is cleared: the thread's own ledger and
 * journal, a buffer it holds alone, the cur word of a port whose drain
 * turn it holds, or a word guarded by a mutex it holds (ctl, pool; their
 * next locker redoes the record of a holder that died).
 */
#ifndef GLAN_BASE_JOURNAL_H
#define GLAN_BASE_JOURNAL_H

#include <stdatomic.h>
#include <stdint.h>

#include "region.h"

struct glan_lan;

/* ---- kill points --------------------------------------------------------------------- */

#define FAILPOINTS(X)                                                                              \
    X(ALLOC, "alloc.committed")                                                                    \
    X(REFILL, "pool.refill.committed")                                                             \
    X(SPILL, "pool.spill.committed")                                                               \
    X(POOL_LOCKED, "pool.locked")                                                                  \
    X(TX_STAMPED, "tx.stamped")                                                                    \
    X(SENT, "fwd.sent.committed")                                                                  \
    X(FANOUT, "fwd.fanout.committed")                                                              \
    X(PUSHED, "fwd.pushed")                                                                        \
    X(SENDER_DROP, "fwd.drop.committed")                                                           \
    X(FWD_END, "fwd.end")                                                                          \
    X(REFUSED, "tx.refused.committed")                                                             \
    X(POP_REACH, "pop.reached")                                                                    \
    X(POP_CUR, "pop.cur")                                                                          \
    X(POP_DEQ, "pop.deq")                                                                          \
    X(DELIVERED, "deliver.returned")                                                               \
    X(SETTLE, "settle.committed")                                                                  \
    X(SETTLE_UNREF, "settle.unrefd")                                                               \
    X(UNREF_MARK, "unref.marked")                                                                  \
    X(UNREF_ZERO, "unref.zero")                                                                    \
    X(FREE_CLAIM, "free.claimed")                                                                  \
    X(FREED, "free.committed")                                                                     \
    X(APPLIED, "record.applied")                                                                   \
    X(CTL_LOCKED, "ctl.locked")                                                                    \
    X(ATTACH, "attach.committed")                                                                  \
    X(CLOSING, "close.closing")                                                                    \
    X(PORT_FREE, "port.free.committed")                                                            \
    X(PROC_FREE, "proc.free.committed")                                                            \
    X(RECOVER_REDO, "recover.redone")                                                              \
    X(RECOVER_PORT, "recover.port.turn")                                                           \
    X(RECOVER_SWEPT, "recover.port.swept")                                                         \
    X(RECOVER_JOURNAL, "recover.journal")                                                          \
    X(RECLAIM_COUNT, "reclaim.counted")                                                            \
    X(RECLAIM_FREE, "reclaim.freed")

enum failpoint {
#define FP_ENUM(id, name) FP_##id,
    FAILPOINTS(FP_ENUM)
#undef FP_ENUM
        FP_COUNT
};

#pragma GCC visibility push(hidden)
extern _Atomic int fp_armed;
void fp_hit(enum failpoint f);
#pragma GCC visibility pop

static inline void fail_point(enum failpoint f)
{
    if (__builtin_expect(atomic_load_explicit(&fp_armed, memory_order_relaxed), 0))
        fp_hit(f);
}

/* ---- records --------------------------------------------------------------------- */

struct rec {
    struct region *r;
    struct journal *j;
    uint32_t n;
};

static inline void rec_init(struct rec *rc, struct region *r, struct journal *j)
{
    rc->r = r;
    rc->j = j;
    rc->n = 0;
}

static inline void rec_put(struct rec *rc, const void *addr, uint32_t size, uint64_t val)
{
    struct redo_entry *e = &rc->j->redo[rc->n++];
    e->off = (uint32_t)((const uint8_t *)addr - (const uint8_t *)rc->r);
    e->size = size;
    e->val = val;
}

static inline void rec_put64(struct rec *rc, const void *addr, uint64_t val)
{
    rec_put(rc, addr, 8, val);
}

static inline void rec_put32(struct rec *rc, const void *addr, uint32_t val)
{
    rec_put(rc, addr, 4, val);
}

/* A word of the region, stored the way a record stores it.  R9: release,
 * pairs with the acquire (or seq_cst) loads of the words records write:
 * whoever sees a record's store sees what its thread did before it (a port
 * made active is seen with its callbacks set, A9 in base_main, enqueue and
 * drain's loads of the port state). */
static inline void word_store(void *addr, uint32_t size, uint64_t val)
{
    if (size == 8)
        __atomic_store_n((uint64_t *)addr, val, __ATOMIC_RELEASE);
    else
        __atomic_store_n((uint32_t *)addr, (uint32_t)val, __ATOMIC_RELEASE);
}

/* Make the record happen; at is the kill point between the commit and the
 * stores. */
static inline void rec_commit(struct rec *rc, enum failpoint at)
{
    struct journal *j = rc->j;
    atomic_signal_fence(memory_order_seq_cst);
    atomic_store_explicit(&j->n_redo, rc->n, memory_order_relaxed);
    atomic_signal_fence(memory_order_seq_cst);
    fail_point(at);
    for (uint32_t i = 0; i < rc->n; i++)
        word_store((uint8_t *)rc->r + j->redo[i].off, j->redo[i].size, j->redo[i].val);
    atomic_signal_fence(memory_order_seq_cst);
    fail_point(FP_APPLIED);
    atomic_store_explicit(&j->n_redo, 0, memory_order_relaxed);
    atomic_signal_fence(memory_order_seq_cst);
}

/* Ledger words: read and written with the __atomic builtins, so that a
 * reader summing them (glan_lan_stats) is not a data race. */
static inline uint64_t lget(const uint64_t *w)
{
    return __atomic_load_n(w, __ATOMIC_RELAXED);
}

/* Add to a ledger word within a record. */
static inline void rec_add(struct rec *rc, uint64_t *w, uint64_t v)
{
    rec_put64(rc, w, lget(w) + v);
}

/* Freeing marker in a buffer's owner word: the journal that won the right
 * to put it back (low byte 0, which no process token has). */
#define OWNER_FREEING(jidx) (((uint32_t)(jidx) + 1u) << 8)
static inline int owner_is_freeing(uint32_t o)
{
    return o != OWNER_QUEUES && o != OWNER_FREE && (o & 0xffu) == 0;
}

#endif
