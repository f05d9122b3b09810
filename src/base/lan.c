/*
 * The base: one router per LAN.  A port hands a datagram to the base
 * (glan_port_send / glan_port_tx_*); it is copied into a base storage buffer,
 * its destination is looked up in the registry, and a reference to the buffer
 * is put on the wait queue of every port that should receive it; the queue is
 * then drained into the receiving port's input through its deliver callback,
 * in the sender's own thread when nobody else is draining it.
 *
 * All state several processes share lives in one region laid out at
 * creation: a header (with the ctl mutex and the table of attached
 * processes), the port table, the registry (open addressing), the group
 * table, the wait queues (bounded rings), the pin counters and base storage
 * (buffers on lock-free free lists).  Everything in it is addressed by
 * index, never by pointer, so the region can be a shared-memory segment
 * mapped at different addresses (glan_lan_create_shared).  Process-local
 * pieces (the ports' callbacks, the base thread) live in struct glan_lan.
 *
 * Locking (docs/design.md has the full story):
 *   - `ctl` mutex (process-shared and robust in a shared LAN): attach/detach,
 *     registry writers and recovery only; never held while a datagram is
 *     copied or a port callback runs.
 *   - registry readers take no lock: a sequence counter (seqlock) tells them
 *     to retry when a writer ran meanwhile.
 *   - a port's drain turn is a try-only word holding the holder's process
 *     token: whoever wins it delivers the queue, the others leave their copy
 *     on the queue and go on.  Only the process that owns a port drains it;
 *     other processes queue and wake that process's base thread (futex).
 *   - a sender "pins" the receiving port (a counter per process and port)
 *     while it queues and drains; detach waits for the pins to go.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* syscall(), FUTEX_* */
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "guestlan/base.h"

#define NONE           UINT32_MAX
#define REGION_MAGIC   0x474c414eu /* "GLAN" */
#define REGION_VERSION 5u /* 4: port entries split by writer, 16 free lists; 5: no port counter */
#define MAX_PROCS      GLAN_SHM_MAX_PROCS

enum port_state { PORT_FREE = 0, PORT_ACTIVE = 1, PORT_CLOSING = 2 };
enum proc_state { PROC_FREE = 0, PROC_ALIVE = 1, PROC_DEAD = 2 };

/* A process token: epoch << 8 | (process table index + 1).  Nonzero, and
 * never the same for two attachments, so a dead holder is told from a live
 * one that reused its table entry. */
#define TOKEN_PROC(t) ((int)((t)&0xffu) - 1)
#define DRAIN_CLOSED  UINT32_MAX /* drain word of a free port: nobody may drain */

/* Slot owner word: generation << 32 | owner.  The owner is a process token
 * while that process is filling or forwarding the buffer, OWNER_QUEUES once
 * every copy is on the wait queues, OWNER_ORPHAN when its sender died and
 * the base thread is to reclaim it, OWNER_FREE on the free list. */
#define OWNER_QUEUES       0u
#define OWNER_ORPHAN       0xfffffffeu
#define OWNER_FREE         0xffffffffu
#define OWNER_ORPHAN_QUIET 0xfffffffdu /* as ORPHAN, its copies all counted already */

/* Wait-queue cell word: position (40 bits) << 24 | FULL | slot (23 bits).
 * Claiming and publishing a cell is one CAS that writes the slot with it, so
 * a process killed at any instant has either queued the copy completely or
 * not at all, and never leaves a claimed, empty cell that wedges the queue. */
#define CELL_FULL (1ull << 23)
#define CELL_SLOT 0x7fffffull
#define POS_MASK  ((1ull << 40) - 1)

/* What a port's drainer holds (cur): slot generation << 32 | COUNTED | slot,
 * or CUR_NONE.  COUNTED: the copy is already counted delivered or dropped,
 * only its reference is still to be given back. */
#define CUR_NONE    UINT64_MAX
#define CUR_COUNTED (1ull << 31)
#define CUR_SLOT    0x7fffffffull

/* Counters of one port's own datagrams (sent, and how each copy ended);
 * updated with relaxed atomic adds (exactness, not ordering, is what they
 * need).  Its receive counters are with the receiving side of its entry. */
struct counters {
    _Atomic uint64_t sent_packets, sent_bytes, fanout, delivered;
    _Atomic uint64_t dropped[GLAN_DROP_COUNT];
};

/* The LAN totals and the count of buffers in use, in stripes: a thread adds
 * to the stripe its thread-local number picks (my_stripe), so two threads
 * forwarding at once do not bounce one cache line between their CPUs; a
 * reader sums the stripes.  The stripes belong to the region, not to a port
 * or a process, so a detach or a death takes no count with it.  128 bytes
 * each: x86 prefetches lines in aligned pairs, so a stripe that shared a
 * pair with another would still bounce. */
#define LAN_STRIPES 16 /* a power of two */
struct lan_stripe {
    _Alignas(128) _Atomic uint64_t sent_packets;
    _Atomic uint64_t sent_bytes, fanout, delivered;
    _Atomic uint64_t dropped[GLAN_DROP_COUNT];
    /* buffers taken minus buffers given back by this stripe's threads,
     * modulo 2^64: a buffer is often freed by another thread than took it,
     * so one stripe may go "negative"; only the sum means anything */
    _Atomic uint64_t in_use;
};
_Static_assert(sizeof(struct lan_stripe) == 128, "a LAN stripe is one aligned pair of lines");

/* One of the free lists of base storage, one per stripe (see slot_alloc),
 * each on a pair of lines of its own. */
struct pool_list {
    _Alignas(128) _Atomic uint64_t head; /* tag << 32 | first free slot */
};

struct qcell {
    _Atomic uint64_t w;
};

/* A port's entry, in three parts by writer, each on a pair of cache lines of
 * its own (x86 prefetches lines in aligned pairs): what attach writes and
 * every sender reads; the counters of the port's own datagrams, written by
 * its sending thread and by whoever delivers or drops its copies; and the
 * receiving side (drain turn, queue positions, receive counters), written by
 * the threads that send to the port.  Two ports sending to each other from
 * two threads thus write no line the other thread writes for its own
 * datagrams, and an entry shares no line with its neighbours. */
struct port_shared {
    _Alignas(128) _Atomic uint32_t state; /* enum port_state */
    uint32_t gen;                         /* bumped on every attach, to spot stale sources */
    uint32_t kind;
    char name[32];
    _Atomic uint32_t owner; /* token of the process that attached it */
    int32_t owner_pid;      /* for queries */
    _Alignas(128) struct counters c;
    _Alignas(128) _Atomic uint32_t drain; /* token of the drain turn's holder, 0 when free */
    _Atomic uint32_t kick_gen;            /* bumped by glan_port_kick */
    _Atomic uint64_t cur;                 /* copy the drainer holds (refused ones included) */
    _Atomic uint64_t enq_pos, deq_pos;
    _Atomic uint64_t recv_packets, recv_bytes, recv_dropped;
};
_Static_assert(sizeof(struct port_shared) == 3 * 128,
               "a port entry is three aligned pairs of lines");

/* Base storage buffer header.  refs counts the wait-queue entries that still
 * point at it; the buffer returns to a free list at zero.  One cache line
 * each: two threads filling or delivering two buffers write no line in
 * common. */
struct slot_hdr {
    _Alignas(64) _Atomic uint32_t next; /* free-list link */
    _Atomic uint32_t refs;
    _Atomic uint64_t owner; /* generation << 32 | OWNER_* or a process token */
    uint32_t len;
    uint16_t src;
    uint16_t src_gen;
    uint8_t cast, family;
    uint8_t pad[6];
    uint64_t ts_ns;
};

/* Registry and group entries: the address as four words and a meta word
 * (0 = empty; else family << 24 | USED | port index). */
#define META_USED 0x00800000u
#define META_PORT 0x000fffffu
struct reg_entry {
    _Atomic uint32_t w[4];
    _Atomic uint32_t meta;
};

/* One attached process.  Aligned so that the futex words of two processes
 * never share a cache line. */
struct proc_entry {
    _Atomic uint32_t state; /* enum proc_state */
    _Atomic uint32_t token;
    int32_t pid;
    uint32_t pad;
    uint64_t start_time; /* /proc/PID/stat start time, to tell a reused pid */
    /* futex word of the process's base thread: 0 awake, 1 work pending,
     * 2 asleep (a sender that replaces 2 calls FUTEX_WAKE) */
    _Atomic uint32_t wake;
    uint8_t pad2[36];
};

/* The first ten words never move between versions (see base.h): an attacher
 * checks them before it trusts anything else in the segment. */
struct region {
    uint32_t magic, version;
    uint32_t sz_region, sz_port, sz_cell, sz_slot, sz_entry, sz_proc, sz_mutex, max_procs;
    uint64_t total;
    char name[32];
    uint32_t max_ports, max_addrs, max_groups, buffers, buffer_size, queue_len;
    uint32_t addr_cap; /* registry table size, a power of two */
    uint32_t shared;
    uint64_t off_ports, off_addrs, off_groups, off_cells, off_pins, off_slots, off_data;
    pthread_mutex_t ctl;
    _Atomic uint32_t reg_seq; /* odd while a registry writer is at work */
    uint32_t n_addrs, n_groups;
    _Atomic int32_t uplink;             /* index of the uplink port, or -1 */
    _Atomic uint32_t epoch;             /* for process tokens */
    _Atomic uint32_t orphans;           /* buffers of dead senders not yet reclaimed */
    struct lan_stripe c[LAN_STRIPES];   /* LAN totals: the sum of the stripes */
    struct pool_list pool[LAN_STRIPES]; /* base storage's free lists */
    struct proc_entry procs[MAX_PROCS];
};

#define MAX_PORTS_WORDS (1024 / 64)

struct glan_port {
    struct glan_lan *lan;
    int idx;
    const struct glan_port_ops *ops;
    void *ctx;
    /* Batching (owner's sending thread only): receivers to drain at the end. */
    int batching;
    uint64_t pending[MAX_PORTS_WORDS];
};

/* The monitor: process-local, swapped under `users` so removal can wait. */
struct monitor {
    glan_monitor_fn fn;
    void *ctx;
};

struct glan_lan {
    struct region *r;
    struct port_shared *ports;
    struct reg_entry *addrs, *groups;
    struct qcell *cells;
    _Atomic uint32_t *pins; /* [port][process] */
    struct slot_hdr *slots;
    uint8_t *data;
    int me;           /* our index in the process table */
    uint32_t token;   /* our process token */
    size_t map_size;  /* shared: bytes mapped; 0 for a private LAN */
    int has_base;     /* base thread running */
    _Atomic int stop; /* tells the base thread to end */
    struct monitor mon_slot;
    _Atomic(struct monitor *) mon; /* &mon_slot while a monitor is set */
    _Atomic uint32_t mon_users;    /* senders inside the monitor call */
    pthread_t base;
    struct glan_port local[];
};

static void ctl_lock(struct glan_lan *lan);
static void ctl_unlock(struct glan_lan *lan);
static int reap_locked(struct glan_lan *lan);

/* ---- configuration ------------------------------------------------------------ */

void glan_lan_config_defaults(struct glan_lan_config *cfg)
{
    if (!cfg->max_ports)
        cfg->max_ports = 64;
    if (!cfg->max_addrs)
        cfg->max_addrs = 1024;
    if (!cfg->max_groups)
        cfg->max_groups = 1024;
    if (!cfg->buffers)
        cfg->buffers = 2048;
    if (!cfg->buffer_size)
        cfg->buffer_size = 9216;
    if (!cfg->queue_len)
        cfg->queue_len = 256;
}

static int check_config(const struct glan_lan_config *c, char *err, size_t errlen)
{
    const char *what = NULL;
    if (!c->name || !c->name[0] || strlen(c->name) > 31)
        what = "LAN name must be 1 to 31 characters";
    else if (c->max_ports < 2 || c->max_ports > 1024)
        what = "max_ports must be 2 to 1024";
    else if (c->max_addrs > (1u << 20) || c->max_groups > (1u << 20))
        what = "max_addrs and max_groups must be at most 1048576";
    else if (c->buffers < 2 || c->buffers > (1u << 22))
        what = "buffers must be 2 to 4194304";
    else if (c->buffer_size < 576 || c->buffer_size > 65535)
        what = "buffer_size must be 576 to 65535";
    else if (c->queue_len < 2 || c->queue_len > 65536 || (c->queue_len & (c->queue_len - 1)))
        what = "queue_len must be a power of two from 2 to 65536";
    else if ((uint64_t)c->buffers * c->buffer_size > (1ull << 34))
        what = "base storage (buffers x buffer_size) must be at most 16 GiB";
    if (what && err && errlen)
        snprintf(err, errlen, "%s", what);
    return what ? -EINVAL : 0;
}

/* Every table starts on a pair of cache lines (see struct port_shared). */
static uint64_t align128(uint64_t v)
{
    return (v + 127) & ~(uint64_t)127;
}

/* A thread's stripe number, handed out in the order threads first count
 * (0: none yet).  Process-wide, not per LAN: a thread is one writer
 * whichever LAN it forwards on. */
static _Thread_local uint32_t thread_stripe;
static _Atomic uint32_t stripes_handed;

/* The index of the stripe of the LAN totals this thread adds to.  Two
 * writers that land on one stripe still count exactly (the adds are atomic);
 * they only share a cache line again.  The process's table index shifts the
 * start, so the first threads of two processes take different stripes. */
static uint32_t my_stripe_idx(struct glan_lan *lan)
{
    uint32_t t = thread_stripe;
    if (!t) {
        t = atomic_fetch_add_explicit(&stripes_handed, 1, memory_order_relaxed) + 1;
        thread_stripe = t;
    }
    return (t + 5u * (uint32_t)lan->me) & (LAN_STRIPES - 1);
}

static struct lan_stripe *my_stripe(struct glan_lan *lan)
{
    return &lan->r->c[my_stripe_idx(lan)];
}

/* ---- base storage -------------------------------------------------------------- */

/* Pop one buffer off free list k, or NONE when it is empty. */
static uint32_t pool_pop(struct glan_lan *lan, uint32_t k)
{
    _Atomic uint64_t *h = &lan->r->pool[k].head;
    /* acquire: pairs with pool_push's release; we see the slot's link */
    uint64_t head = atomic_load_explicit(h, memory_order_acquire);
    for (;;) {
        uint32_t idx = (uint32_t)head;
        if (idx == NONE)
            return NONE;
        uint32_t next = atomic_load_explicit(&lan->slots[idx].next, memory_order_relaxed);
        /* The tag in the high half defeats ABA: a slot popped and pushed back
         * meanwhile changes the tag, so this CAS fails and we retry.
         * acquire: pairs with pool_push's release, as above */
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
        /* release: the next owner sees everything written to the buffer */
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

static void slot_free(struct glan_lan *lan, uint32_t idx)
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

static void slot_unref(struct glan_lan *lan, uint32_t idx)
{
    /* acq_rel: the last reference holder must see all readers done */
    if (atomic_fetch_sub_explicit(&lan->slots[idx].refs, 1, memory_order_acq_rel) == 1)
        slot_free(lan, idx);
}

static uint8_t *slot_data(struct glan_lan *lan, uint32_t idx)
{
    return lan->data + (size_t)idx * lan->r->buffer_size;
}

/* ---- wait queues --------------------------------------------------------------- */

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
    for (;;) {
        struct qcell *c = &cells[pos & mask];
        /* acquire: pairs with the consumer's release of this cell */
        uint64_t w = atomic_load_explicit(&c->w, memory_order_acquire);
        int64_t dif = cell_dif(w, pos);
        if (dif == 0 && !(w & CELL_FULL)) {
            /* release: the consumer that sees the cell full sees the buffer
             * and its header (pairs with queue_pop's acquire) */
            if (atomic_compare_exchange_weak_explicit(&c->w, &w, cell_word(pos, 1, slot),
                                                      memory_order_release, memory_order_relaxed)) {
                atomic_compare_exchange_strong_explicit(&ps->enq_pos, &pos, pos + 1,
                                                        memory_order_relaxed, memory_order_relaxed);
                return 0;
            }
        } else if (dif >= 0) {
            /* enq_pos lags behind a cell somebody filled: move it on */
            if (atomic_compare_exchange_weak_explicit(&ps->enq_pos, &pos, pos + 1,
                                                      memory_order_relaxed, memory_order_relaxed))
                pos++;
        } else {
            return -ENOBUFS; /* the cell still holds the previous lap */
        }
    }
}

/* Only the holder of the drain turn pops, so a single consumer.  The copy is
 * recorded in cur before the cell is freed, so that at every instant it can
 * be found in the cell or in cur (recovery and reclaim rely on it). */
static uint32_t queue_pop(struct glan_lan *lan, int p)
{
    struct port_shared *ps = &lan->ports[p];
    struct qcell *cells = port_cells(lan, p);
    uint64_t mask = lan->r->queue_len - 1;
    uint64_t pos = atomic_load_explicit(&ps->deq_pos, memory_order_relaxed);
    struct qcell *c = &cells[pos & mask];
    /* acquire: pairs with the producer's release CAS of this cell */
    uint64_t w = atomic_load_explicit(&c->w, memory_order_acquire);
    if (!cell_full_at(w, pos))
        return NONE;
    uint32_t slot = (uint32_t)(w & CELL_SLOT);
    uint64_t gen = atomic_load_explicit(&lan->slots[slot].owner, memory_order_relaxed) >> 32;
    atomic_store_explicit(&ps->cur, gen << 32 | slot, memory_order_relaxed);
    atomic_store_explicit(&ps->deq_pos, pos + 1, memory_order_relaxed);
    /* release: the cell is free for the producer one lap later, and whoever
     * sees it free sees cur set (pairs with queue_push's and reclaim's
     * acquire loads of the cell) */
    atomic_store_explicit(&c->w, cell_word(pos + mask + 1, 0, 0), memory_order_release);
    return slot;
}

static int queue_empty(struct glan_lan *lan, int p)
{
    struct port_shared *ps = &lan->ports[p];
    uint64_t pos = atomic_load(&ps->deq_pos);
    struct qcell *c = &port_cells(lan, p)[pos & (lan->r->queue_len - 1)];
    return !cell_full_at(atomic_load(&c->w), pos);
}

/* Copies waiting for port p: those in its ring (counting cells filled past a
 * lagging enq_pos) and the one its drainer holds but has not counted yet. */
static uint64_t port_queued(struct glan_lan *lan, int p)
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

/* The pins are kept by port, a row of MAX_PROCS counters each (256 bytes,
 * aligned): the threads pinning two different ports never write one line. */
static _Atomic uint32_t *pin_of(struct glan_lan *lan, int proc, int p)
{
    return &lan->pins[(size_t)p * MAX_PROCS + (size_t)proc];
}

/* ---- counting ------------------------------------------------------------------ */

static void add(_Atomic uint64_t *c, uint64_t v)
{
    atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

/* The port a buffer came from, if it is still the same attachment. */
static struct port_shared *source_of(struct glan_lan *lan, const struct slot_hdr *s)
{
    struct port_shared *ps = &lan->ports[s->src];
    if (atomic_load_explicit(&ps->state, memory_order_relaxed) == PORT_FREE ||
        (uint16_t)ps->gen != s->src_gen)
        return NULL;
    return ps;
}

/* One copy of a datagram was dropped; dst is the port it was meant for, or
 * -1 when the datagram never had a receiver. */
static void count_drop(struct glan_lan *lan, uint32_t slot, int dst, enum glan_drop why)
{
    struct port_shared *src = source_of(lan, &lan->slots[slot]);
    add(&my_stripe(lan)->dropped[why], 1);
    if (src)
        add(&src->c.dropped[why], 1);
    if (dst >= 0)
        add(&lan->ports[dst].recv_dropped, 1);
}

static void count_delivered(struct glan_lan *lan, uint32_t slot, int dst)
{
    const struct slot_hdr *s = &lan->slots[slot];
    struct port_shared *src = source_of(lan, s);
    add(&my_stripe(lan)->delivered, 1);
    if (src)
        add(&src->c.delivered, 1);
    add(&lan->ports[dst].recv_packets, 1);
    add(&lan->ports[dst].recv_bytes, s->len);
}

/* ---- delivery ------------------------------------------------------------------ */

static enum glan_drop deliver_error(int rc)
{
    return rc == -ENETDOWN ? GLAN_DROP_PORT_DOWN : GLAN_DROP_PORT_ERROR;
}

/*
 * Deliver what waits for port p, if nobody else is doing so.  The turn is
 * try-only: a thread that loses leaves its copy on the queue, and the winner
 * looks at the queue once more after giving the turn back, so nothing is
 * left behind (seq_cst on the turn and the queue head makes that hold).
 * Only threads of the process that owns p come here.
 */
static void drain(struct glan_lan *lan, int p)
{
    struct port_shared *ps = &lan->ports[p];
    struct glan_port *lp = &lan->local[p];
    for (;;) {
        uint32_t free_turn = 0;
        if (!atomic_compare_exchange_strong(&ps->drain, &free_turn, lan->token))
            return;
        uint32_t kick = atomic_load(&ps->kick_gen);
        int took = 0, blocked = 0;
        for (;;) {
            /* relaxed: only the turn holder writes cur */
            uint64_t cur = atomic_load_explicit(&ps->cur, memory_order_relaxed);
            uint32_t slot = cur != CUR_NONE ? (uint32_t)(cur & CUR_SLOT) : queue_pop(lan, p);
            if (slot == NONE)
                break;
            const struct slot_hdr *s = &lan->slots[slot];
            struct glan_dgram dg = {
                .data = slot_data(lan, slot),
                .len = s->len,
                .cast = s->cast,
                .family = s->family,
                .src = (int16_t)s->src,
                .ts_ns = s->ts_ns,
            };
            int rc = lp->ops->deliver(lp->ctx, &dg);
            if (rc == -EAGAIN) {
                blocked = 1; /* cur keeps the copy for the next kick */
                break;
            }
            if (rc == 0) {
                count_delivered(lan, slot, p);
                took = 1;
            } else {
                count_drop(lan, slot, p, deliver_error(rc));
            }
            /* Counted: say so before giving the reference back, so that
             * recovery after a crash here does not count the copy twice. */
            cur = atomic_load_explicit(&ps->cur, memory_order_relaxed);
            atomic_store_explicit(&ps->cur, cur | CUR_COUNTED, memory_order_relaxed);
            slot_unref(lan, slot);
            /* release: whoever sees cur empty sees our unref done (pairs with
             * the acquire loads of cur in reclaim) */
            atomic_store_explicit(&ps->cur, CUR_NONE, memory_order_release);
        }
        if (took && lp->ops->flush)
            lp->ops->flush(lp->ctx);
        atomic_store(&ps->drain, 0);
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
    /* Our push, then our look at the word; the base thread's clearing of the
     * word, then its look at the queues: with a full fence on both sides one
     * of us sees the other, so no copy waits for a wake that never comes. */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(w, memory_order_relaxed) == 1)
        return;
    if (atomic_exchange(w, 1) == 2)
        syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* Put one reference to slot on port p's queue and drain it (or wake its
 * process).  The caller holds one slot reference for this copy; it is
 * consumed either way. */
static void enqueue(struct glan_lan *lan, struct glan_port *from, int p, uint32_t slot)
{
    struct port_shared *ps = &lan->ports[p];
    _Atomic uint32_t *pin = pin_of(lan, lan->me, p);
    /* Pin, then look at the state: seq_cst on both sides (detach stores the
     * state, then reads the pins) means one of us sees the other. */
    atomic_fetch_add(pin, 1);
    if (atomic_load(&ps->state) != PORT_ACTIVE) {
        atomic_fetch_sub(pin, 1);
        count_drop(lan, slot, -1, GLAN_DROP_PORT_GONE);
        slot_unref(lan, slot);
        return;
    }
    if (queue_push(lan, p, slot) < 0) {
        count_drop(lan, slot, p, GLAN_DROP_QUEUE_FULL);
        slot_unref(lan, slot);
    } else {
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
            /* Pinned like enqueue: the receiver may be detaching meanwhile,
             * and then its own sweep has dropped what we queued. */
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
    atomic_fetch_add(&lan->ports[port->idx].kick_gen, 1);
    drain(lan, port->idx);
}

/* ---- the registry -------------------------------------------------------------- */

static uint32_t addr_meta(const struct glan_addr *a, int port)
{
    return (uint32_t)a->family << 24 | META_USED | (uint32_t)port;
}

static void addr_words(const struct glan_addr *a, uint32_t w[4])
{
    memcpy(w, a->bytes, 16);
}

static uint32_t addr_hash(const struct glan_addr *a)
{
    uint32_t w[4];
    addr_words(a, w);
    uint64_t h = 0x9e3779b97f4a7c15ull ^ a->family;
    for (int i = 0; i < 4; i++)
        h = (h ^ w[i]) * 0xff51afd7ed558ccdull;
    return (uint32_t)(h ^ h >> 29);
}

static int entry_matches(const struct reg_entry *e, const uint32_t w[4], uint8_t family)
{
    uint32_t m = atomic_load_explicit(&e->meta, memory_order_relaxed);
    if (!(m & META_USED) || (m >> 24) != family)
        return 0;
    for (int i = 0; i < 4; i++)
        if (atomic_load_explicit(&e->w[i], memory_order_relaxed) != w[i])
            return 0;
    return 1;
}

/* Probe for addr; returns the entry index or NONE.  Bounded by the table
 * size, so a reader racing a writer cannot loop for ever. */
static uint32_t reg_find(struct glan_lan *lan, const struct glan_addr *a)
{
    uint32_t w[4], mask = lan->r->addr_cap - 1;
    addr_words(a, w);
    uint32_t i = addr_hash(a) & mask;
    for (uint32_t n = 0; n <= mask; n++, i = (i + 1) & mask) {
        const struct reg_entry *e = &lan->addrs[i];
        if (!(atomic_load_explicit(&e->meta, memory_order_relaxed) & META_USED))
            return NONE;
        if (entry_matches(e, w, a->family))
            return i;
    }
    return NONE;
}

static uint32_t seq_read_begin(struct glan_lan *lan)
{
    uint32_t s;
    unsigned spins = 0;
    /* acquire: pairs with seq_write_end's release; the entries are whole */
    while ((s = atomic_load_explicit(&lan->r->reg_seq, memory_order_acquire)) & 1) {
        /* A writer that stays this long may have died holding ctl (only in
         * a shared LAN): taking ctl repairs the registry then. */
        if (lan->r->shared && ++spins % 4096 == 0) {
            ctl_lock(lan);
            ctl_unlock(lan);
        }
        sched_yield();
    }
    return s;
}

static int seq_read_retry(struct glan_lan *lan, uint32_t s)
{
    atomic_thread_fence(memory_order_acquire);
    return atomic_load_explicit(&lan->r->reg_seq, memory_order_relaxed) != s;
}

static void seq_write_begin(struct glan_lan *lan)
{
    atomic_fetch_add_explicit(&lan->r->reg_seq, 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
}

static void seq_write_end(struct glan_lan *lan)
{
    atomic_fetch_add_explicit(&lan->r->reg_seq, 1, memory_order_release);
}

int glan_lan_lookup(struct glan_lan *lan, const struct glan_addr *a)
{
    int port;
    uint32_t s;
    do {
        s = seq_read_begin(lan);
        uint32_t i = reg_find(lan, a);
        port = i == NONE ? -1
                         : (int)(atomic_load_explicit(&lan->addrs[i].meta, memory_order_relaxed) &
                                 META_PORT);
    } while (seq_read_retry(lan, s));
    return port;
}

static void entry_set(struct reg_entry *e, const struct glan_addr *a, int port)
{
    uint32_t w[4];
    addr_words(a, w);
    for (int i = 0; i < 4; i++)
        atomic_store_explicit(&e->w[i], w[i], memory_order_relaxed);
    atomic_store_explicit(&e->meta, addr_meta(a, port), memory_order_relaxed);
}

static void entry_copy(struct reg_entry *to, const struct reg_entry *from)
{
    for (int i = 0; i < 4; i++)
        atomic_store_explicit(&to->w[i], atomic_load_explicit(&from->w[i], memory_order_relaxed),
                              memory_order_relaxed);
    atomic_store_explicit(&to->meta, atomic_load_explicit(&from->meta, memory_order_relaxed),
                          memory_order_relaxed);
}

static void entry_read(const struct reg_entry *e, struct glan_addr *a)
{
    uint32_t w[4];
    for (int i = 0; i < 4; i++)
        w[i] = atomic_load_explicit(&e->w[i], memory_order_relaxed);
    memcpy(a->bytes, w, 16);
    a->family = (uint8_t)(atomic_load_explicit(&e->meta, memory_order_relaxed) >> 24);
}

/* Remove entry i by shifting later entries of its probe run back (no
 * tombstones, so lookups stay short).  Under ctl and the seqlock. */
static void reg_remove_at(struct glan_lan *lan, uint32_t i)
{
    uint32_t mask = lan->r->addr_cap - 1, j = i;
    for (;;) {
        j = (j + 1) & mask;
        struct reg_entry *e = &lan->addrs[j];
        if (!(atomic_load_explicit(&e->meta, memory_order_relaxed) & META_USED))
            break;
        struct glan_addr a;
        entry_read(e, &a);
        uint32_t home = addr_hash(&a) & mask;
        /* e may move to i when its home is not in the cyclic range (i, j] */
        int in_range = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!in_range) {
            entry_copy(&lan->addrs[i], e);
            i = j;
        }
    }
    atomic_store_explicit(&lan->addrs[i].meta, 0, memory_order_relaxed);
    lan->r->n_addrs--;
}

static int is_unicast(const struct glan_addr *a)
{
    static const uint8_t zero[16];
    if (a->family == GLAN_AF_INET)
        return a->bytes[0] < 224 && memcmp(a->bytes, zero, 4) != 0;
    if (a->family == GLAN_AF_INET6)
        return a->bytes[0] != 0xff && memcmp(a->bytes, zero, 16) != 0;
    return 0;
}

static int is_multicast(const struct glan_addr *a)
{
    if (a->family == GLAN_AF_INET)
        return (a->bytes[0] & 0xf0) == 0xe0;
    if (a->family == GLAN_AF_INET6)
        return a->bytes[0] == 0xff;
    return 0;
}

static int port_active(const struct glan_port *port)
{
    return atomic_load(&port->lan->ports[port->idx].state) == PORT_ACTIVE;
}

/* Tell this process's uplink port that a guest address came or went.
 * Pinned like a sender, so a detaching uplink is never called after its
 * detach returns. */
static void notify_uplink(struct glan_lan *lan, const struct glan_addr *a, int registered)
{
    int u = atomic_load(&lan->r->uplink);
    if (u < 0 || atomic_load(&lan->ports[u].owner) != lan->token)
        return;
    _Atomic uint32_t *pin = pin_of(lan, lan->me, u);
    atomic_fetch_add(pin, 1);
    const struct glan_port *lp = &lan->local[u];
    if (atomic_load(&lan->ports[u].state) == PORT_ACTIVE && lp->ops && lp->ops->addr_event)
        lp->ops->addr_event(lp->ctx, a, registered);
    atomic_fetch_sub(pin, 1);
}

int glan_addr_register(struct glan_port *port, const struct glan_addr *a)
{
    struct glan_lan *lan = port->lan;
    if (!is_unicast(a))
        return -EINVAL;
    int rc = 0, added = 0;
    ctl_lock(lan);
    uint32_t i = reg_find(lan, a);
    if (!port_active(port)) {
        rc = -ENODEV;
    } else if (i != NONE) {
        int owner =
            (int)(atomic_load_explicit(&lan->addrs[i].meta, memory_order_relaxed) & META_PORT);
        rc = owner == port->idx ? 0 : -EADDRINUSE;
    } else if (lan->r->n_addrs >= lan->r->max_addrs) {
        rc = -ENOSPC;
    } else {
        uint32_t mask = lan->r->addr_cap - 1;
        i = addr_hash(a) & mask;
        while (atomic_load_explicit(&lan->addrs[i].meta, memory_order_relaxed) & META_USED)
            i = (i + 1) & mask;
        seq_write_begin(lan);
        entry_set(&lan->addrs[i], a, port->idx);
        lan->r->n_addrs++;
        seq_write_end(lan);
        added = 1;
    }
    ctl_unlock(lan);
    if (added)
        notify_uplink(lan, a, 1);
    return rc;
}

int glan_addr_unregister(struct glan_port *port, const struct glan_addr *a)
{
    struct glan_lan *lan = port->lan;
    int rc = -ENOENT;
    ctl_lock(lan);
    uint32_t i = reg_find(lan, a);
    if (i != NONE && (int)(atomic_load_explicit(&lan->addrs[i].meta, memory_order_relaxed) &
                           META_PORT) == port->idx) {
        seq_write_begin(lan);
        reg_remove_at(lan, i);
        seq_write_end(lan);
        rc = 0;
    }
    ctl_unlock(lan);
    if (rc == 0)
        notify_uplink(lan, a, 0);
    return rc;
}

static uint32_t group_find(struct glan_lan *lan, const struct glan_addr *g, int port)
{
    uint32_t w[4];
    addr_words(g, w);
    for (uint32_t i = 0; i < lan->r->n_groups; i++) {
        const struct reg_entry *e = &lan->groups[i];
        if (entry_matches(e, w, g->family) &&
            (int)(atomic_load_explicit(&e->meta, memory_order_relaxed) & META_PORT) == port)
            return i;
    }
    return NONE;
}

static void group_remove_at(struct glan_lan *lan, uint32_t i)
{
    uint32_t last = --lan->r->n_groups;
    if (i != last)
        entry_copy(&lan->groups[i], &lan->groups[last]);
    atomic_store_explicit(&lan->groups[last].meta, 0, memory_order_relaxed);
}

int glan_group_join(struct glan_port *port, const struct glan_addr *g)
{
    struct glan_lan *lan = port->lan;
    if (!is_multicast(g))
        return -EINVAL;
    int rc = 0;
    ctl_lock(lan);
    if (!port_active(port)) {
        rc = -ENODEV;
    } else if (group_find(lan, g, port->idx) != NONE) {
        rc = 0;
    } else if (lan->r->n_groups >= lan->r->max_groups) {
        rc = -ENOSPC;
    } else {
        seq_write_begin(lan);
        entry_set(&lan->groups[lan->r->n_groups], g, port->idx);
        lan->r->n_groups++;
        seq_write_end(lan);
    }
    ctl_unlock(lan);
    return rc;
}

int glan_group_leave(struct glan_port *port, const struct glan_addr *g)
{
    struct glan_lan *lan = port->lan;
    int rc = -ENOENT;
    ctl_lock(lan);
    uint32_t i = group_find(lan, g, port->idx);
    if (i != NONE) {
        seq_write_begin(lan);
        group_remove_at(lan, i);
        seq_write_end(lan);
        rc = 0;
    }
    ctl_unlock(lan);
    return rc;
}

/* ---- forwarding ---------------------------------------------------------------- */

static enum glan_cast classify(const struct glan_addr *d)
{
    if (d->family == GLAN_AF_INET && d->bytes[0] == 255 && d->bytes[1] == 255 &&
        d->bytes[2] == 255 && d->bytes[3] == 255)
        return GLAN_CAST_BROADCAST;
    return is_multicast(d) ? GLAN_CAST_MULTICAST : GLAN_CAST_UNICAST;
}

/* Receivers of a broadcast or multicast datagram from port src, as a bitmap.
 * A guest's multicast also goes to the uplink; nothing goes back to src. */
static unsigned fan_targets(struct glan_lan *lan, int src, enum glan_cast cast,
                            const struct glan_addr *d, uint64_t map[MAX_PORTS_WORDS])
{
    unsigned n;
    int uplink = atomic_load(&lan->r->uplink);
    if (cast == GLAN_CAST_BROADCAST) {
        memset(map, 0, MAX_PORTS_WORDS * sizeof map[0]);
        n = 0;
        for (uint32_t p = 0; p < lan->r->max_ports; p++)
            if ((int)p != src &&
                atomic_load_explicit(&lan->ports[p].state, memory_order_relaxed) == PORT_ACTIVE) {
                map[p / 64] |= 1ull << (p % 64);
                n++;
            }
        return n;
    }
    uint32_t w[4], s;
    addr_words(d, w);
    do {
        memset(map, 0, MAX_PORTS_WORDS * sizeof map[0]);
        n = 0;
        s = seq_read_begin(lan);
        uint32_t ng = lan->r->n_groups;
        if (ng > lan->r->max_groups)
            ng = lan->r->max_groups;
        for (uint32_t i = 0; i < ng; i++) {
            const struct reg_entry *e = &lan->groups[i];
            if (!entry_matches(e, w, d->family))
                continue;
            uint32_t p = atomic_load_explicit(&e->meta, memory_order_relaxed) & META_PORT;
            if ((int)p != src && p < lan->r->max_ports && !(map[p / 64] & 1ull << (p % 64))) {
                map[p / 64] |= 1ull << (p % 64);
                n++;
            }
        }
    } while (seq_read_retry(lan, s));
    if (uplink >= 0 && uplink != src && lan->ports[src].kind == GLAN_PORT_GUEST &&
        !(map[uplink / 64] & 1ull << (uplink % 64))) {
        map[uplink / 64] |= 1ull << (uplink % 64);
        n++;
    }
    return n;
}

static enum glan_drop drop_whole(struct glan_lan *lan, uint32_t slot, enum glan_drop why)
{
    count_drop(lan, slot, -1, why);
    slot_unref(lan, slot);
    return why;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static enum glan_drop forward_copies(struct glan_port *port, uint32_t slot, size_t len,
                                     const struct glan_tx_meta *meta);

/* Show a forwarded datagram to the monitor, if one is (still) set.  Pin,
 * then look: seq_cst on both sides (removal stores NULL, then reads the
 * pins) means a removed monitor is never called after removal returns. */
static void monitor_show(struct glan_lan *lan, uint32_t slot, enum glan_drop why)
{
    atomic_fetch_add(&lan->mon_users, 1);
    struct monitor *m = atomic_load(&lan->mon);
    if (m) {
        const struct slot_hdr *s = &lan->slots[slot];
        struct glan_dgram dg = {
            .data = slot_data(lan, slot),
            .len = s->len,
            .cast = s->cast ? s->cast : GLAN_CAST_UNICAST,
            .family = s->family,
            .src = (int16_t)s->src,
            .ts_ns = s->ts_ns,
        };
        m->fn(m->ctx, &dg, why);
    }
    atomic_fetch_sub(&lan->mon_users, 1);
}

int glan_lan_set_monitor(struct glan_lan *lan, glan_monitor_fn fn, void *ctx)
{
    if (fn) {
        if (atomic_load(&lan->mon))
            return -EBUSY;
        lan->mon_slot.fn = fn;
        lan->mon_slot.ctx = ctx;
        atomic_store(&lan->mon, &lan->mon_slot);
        return 0;
    }
    atomic_store(&lan->mon, NULL);
    while (atomic_load(&lan->mon_users))
        sched_yield();
    return 0;
}

/* The one forwarding routine every datagram of every port goes through. */
static enum glan_drop forward(struct glan_port *port, uint32_t slot, size_t len,
                              const struct glan_tx_meta *meta)
{
    struct glan_lan *lan = port->lan;
    struct slot_hdr *s = &lan->slots[slot];
    struct port_shared *ps = &lan->ports[port->idx];
    int src = port->idx;

    s->len = (uint32_t)len;
    s->src = (uint16_t)src;
    s->src_gen = (uint16_t)ps->gen;
    s->cast = 0; /* set once the header is read; a malformed one keeps 0 */
    s->family = 0;
    /* relaxed: a hint; monitor_show pins and looks again */
    int watched = atomic_load_explicit(&lan->mon, memory_order_relaxed) != NULL;
    s->ts_ns = meta && meta->ts_ns ? meta->ts_ns : watched ? now_ns() : 0;
    /* The caller's reference, and one more while the monitor looks at it. */
    atomic_store_explicit(&s->refs, watched ? 2 : 1, memory_order_relaxed);
    uint64_t mine = atomic_load_explicit(&s->owner, memory_order_relaxed);
    enum glan_drop why = forward_copies(port, slot, len, meta);
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

static enum glan_drop forward_copies(struct glan_port *port, uint32_t slot, size_t len,
                                     const struct glan_tx_meta *meta)
{
    struct glan_lan *lan = port->lan;
    struct slot_hdr *s = &lan->slots[slot];
    struct port_shared *ps = &lan->ports[port->idx];
    int src = port->idx;
    struct lan_stripe *t = my_stripe(lan);
    add(&ps->c.sent_packets, 1);
    add(&ps->c.sent_bytes, len);
    add(&t->sent_packets, 1);
    add(&t->sent_bytes, len);

    struct glan_addr d;
    if (glan_dgram_dest(slot_data(lan, slot), len, &d) < 0)
        return drop_whole(lan, slot, GLAN_DROP_MALFORMED);
    enum glan_cast cast = meta && meta->cast != GLAN_CAST_AUTO ? meta->cast : classify(&d);
    s->cast = (uint8_t)cast;
    s->family = d.family;

    if (cast == GLAN_CAST_UNICAST) {
        int dst = glan_lan_lookup(lan, &d);
        if (dst < 0) {
            if (ps->kind == GLAN_PORT_UPLINK)
                return drop_whole(lan, slot, GLAN_DROP_UNKNOWN_DEST);
            dst = atomic_load(&lan->r->uplink);
            if (dst < 0)
                return drop_whole(lan, slot, GLAN_DROP_NO_UPLINK);
        }
        enqueue(lan, port, dst, slot);
        return GLAN_DROP_NONE;
    }

    uint64_t map[MAX_PORTS_WORDS];
    unsigned n = fan_targets(lan, src, cast, &d, map);
    if (n == 0)
        return drop_whole(lan, slot, GLAN_DROP_NO_RECEIVER);
    /* One reference per receiver; the caller's reference becomes the first
     * (an add, not a store: forward may hold one more for the monitor). */
    atomic_fetch_add_explicit(&s->refs, n - 1, memory_order_relaxed);
    add(&ps->c.fanout, n - 1);
    add(&t->fanout, n - 1);
    for (uint32_t w = 0; w < MAX_PORTS_WORDS; w++)
        for (uint64_t bits = map[w]; bits; bits &= bits - 1)
            enqueue(lan, port, (int)(w * 64 + (uint32_t)__builtin_ctzll(bits)), slot);
    return GLAN_DROP_NONE;
}

static enum glan_drop count_refused(struct glan_port *port, size_t len, enum glan_drop why)
{
    struct glan_lan *lan = port->lan;
    struct port_shared *ps = &lan->ports[port->idx];
    add(&ps->c.sent_packets, 1);
    add(&ps->c.sent_bytes, len);
    add(&ps->c.dropped[why], 1);
    struct lan_stripe *t = my_stripe(lan);
    add(&t->sent_packets, 1);
    add(&t->sent_bytes, len);
    add(&t->dropped[why], 1);
    return why;
}

enum glan_drop glan_port_tx_begin(struct glan_port *port, size_t len, struct glan_txbuf *tb)
{
    struct glan_lan *lan = port->lan;
    tb->slot = NONE;
    tb->data = NULL;
    tb->len = 0;
    if (len > lan->r->buffer_size)
        return count_refused(port, len, GLAN_DROP_TOO_BIG);
    uint32_t slot = slot_alloc(lan);
    if (slot == NONE)
        return count_refused(port, len, GLAN_DROP_NO_BUFFER);
    tb->slot = slot;
    tb->data = slot_data(lan, slot);
    tb->len = len;
    return GLAN_DROP_NONE;
}

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
    return forward(port, slot, len, meta);
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
    if (why != GLAN_DROP_NONE)
        return why;
    memcpy(tb.data, data, len);
    return glan_port_tx_commit(port, &tb, len, meta);
}

/* ---- layout -------------------------------------------------------------------- */

struct layout {
    uint32_t cap;
    uint64_t off_ports, off_addrs, off_groups, off_cells, off_pins, off_slots, off_data, total;
};

static void layout_of(const struct glan_lan_config *cfg, struct layout *l)
{
    uint32_t cap = 16;
    while (cap < 2 * cfg->max_addrs)
        cap *= 2;
    l->cap = cap;
    uint64_t off = align128(sizeof(struct region));
    l->off_ports = off;
    off = align128(off + (uint64_t)cfg->max_ports * sizeof(struct port_shared));
    l->off_addrs = off;
    off = align128(off + (uint64_t)cap * sizeof(struct reg_entry));
    l->off_groups = off;
    off = align128(off +
                   (uint64_t)(cfg->max_groups ? cfg->max_groups : 1) * sizeof(struct reg_entry));
    l->off_cells = off;
    off = align128(off + (uint64_t)cfg->max_ports * cfg->queue_len * sizeof(struct qcell));
    l->off_pins = off;
    off = align128(off + (uint64_t)MAX_PROCS * cfg->max_ports * sizeof(uint32_t));
    l->off_slots = off;
    off = align128(off + (uint64_t)cfg->buffers * sizeof(struct slot_hdr));
    l->off_data = off;
    l->total = align128(off + (uint64_t)cfg->buffers * cfg->buffer_size);
}

/* The layout words (region words 2..9) a process compares with its own. */
enum { LAYOUT_WORDS = 8 };
static const char *const layout_names[LAYOUT_WORDS] = {
    "region header",  "port entry",    "queue cell", "buffer header",
    "registry entry", "process entry", "mutex",      "process table"};

static void layout_words(uint32_t w[LAYOUT_WORDS])
{
    w[0] = (uint32_t)sizeof(struct region);
    w[1] = (uint32_t)sizeof(struct port_shared);
    w[2] = (uint32_t)sizeof(struct qcell);
    w[3] = (uint32_t)sizeof(struct slot_hdr);
    w[4] = (uint32_t)sizeof(struct reg_entry);
    w[5] = (uint32_t)sizeof(struct proc_entry);
    w[6] = (uint32_t)sizeof(pthread_mutex_t);
    w[7] = MAX_PROCS;
}

static struct glan_lan *lan_new(uint32_t max_ports)
{
    struct glan_lan *lan = calloc(1, sizeof *lan + max_ports * sizeof(struct glan_port));
    if (!lan)
        return NULL;
    for (uint32_t p = 0; p < max_ports; p++) {
        lan->local[p].lan = lan;
        lan->local[p].idx = (int)p;
    }
    return lan;
}

static void lan_bind(struct glan_lan *lan, void *mem)
{
    struct region *r = mem;
    uint8_t *b = mem;
    lan->r = r;
    lan->ports = (struct port_shared *)(b + r->off_ports);
    lan->addrs = (struct reg_entry *)(b + r->off_addrs);
    lan->groups = (struct reg_entry *)(b + r->off_groups);
    lan->cells = (struct qcell *)(b + r->off_cells);
    lan->pins = (_Atomic uint32_t *)(b + r->off_pins);
    lan->slots = (struct slot_hdr *)(b + r->off_slots);
    lan->data = b + r->off_data;
}

/* Lay a zeroed region out.  The magic is stored last, by the caller. */
static int region_init(void *mem, const struct glan_lan_config *cfg, const struct layout *l,
                       int shared)
{
    struct region *r = mem;
    uint32_t w[LAYOUT_WORDS];
    layout_words(w);
    r->version = REGION_VERSION;
    memcpy(&r->sz_region, w, sizeof w);
    r->total = l->total;
    snprintf(r->name, sizeof r->name, "%s", cfg->name);
    r->max_ports = cfg->max_ports;
    r->max_addrs = cfg->max_addrs;
    r->max_groups = cfg->max_groups;
    r->buffers = cfg->buffers;
    r->buffer_size = cfg->buffer_size;
    r->queue_len = cfg->queue_len;
    r->addr_cap = l->cap;
    r->shared = (uint32_t)shared;
    r->off_ports = l->off_ports;
    r->off_addrs = l->off_addrs;
    r->off_groups = l->off_groups;
    r->off_cells = l->off_cells;
    r->off_pins = l->off_pins;
    r->off_slots = l->off_slots;
    r->off_data = l->off_data;

    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    if (shared) {
        /* Robust: a process killed while holding ctl must not leave it held
         * for ever; the next locker gets EOWNERDEAD and repairs. */
        pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
        pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    }
    int rc = pthread_mutex_init(&r->ctl, &a);
    pthread_mutexattr_destroy(&a);
    if (rc)
        return -rc;
    atomic_init(&r->uplink, -1);

    struct glan_lan tmp = {0};
    lan_bind(&tmp, mem);
    for (uint32_t p = 0; p < cfg->max_ports; p++) {
        atomic_init(&tmp.ports[p].drain, DRAIN_CLOSED); /* free ports have no drain turn */
        atomic_init(&tmp.ports[p].cur, CUR_NONE);
    }
    /* Every buffer starts on the first free list, in index order, so
     * buffers are handed out low first; the other lists start empty. */
    for (uint32_t i = 0; i < cfg->buffers; i++) {
        atomic_init(&tmp.slots[i].next, i + 1 < cfg->buffers ? i + 1 : NONE);
        atomic_init(&tmp.slots[i].owner, OWNER_FREE);
    }
    atomic_init(&r->pool[0].head, 0);
    for (uint32_t k = 1; k < LAN_STRIPES; k++)
        atomic_init(&r->pool[k].head, NONE);
    return 0;
}

/* ---- processes ----------------------------------------------------------------- */

/* Start time (field 22 of /proc/PID/stat) and state letter of pid; 0 when
 * it cannot be read (no such process, or no /proc). */
static uint64_t proc_stat(pid_t pid, char *state)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!p)
        return 0;
    char *save = NULL, *tok = strtok_r(p + 1, " ", &save);
    if (!tok)
        return 0;
    *state = tok[0];
    for (int field = 4; field <= 22; field++)
        if (!(tok = strtok_r(NULL, " ", &save)))
            return 0;
    return strtoull(tok, NULL, 10);
}

/* Is the process of this entry still running?  The start time tells a pid
 * reused by another process; a zombie (killed, not yet reaped) is dead. */
static int proc_alive(const struct proc_entry *pe)
{
    if (pe->start_time) {
        char st = 0;
        uint64_t t = proc_stat(pe->pid, &st);
        return t == pe->start_time && st != 'Z' && st != 'X';
    }
    return kill(pe->pid, 0) == 0 || errno == EPERM;
}

/* Take an entry of the process table.  Under ctl (or before anyone else can
 * see the region). */
static int proc_join(struct glan_lan *lan, char *err, size_t errlen)
{
    struct region *r = lan->r;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < MAX_PROCS; i++) {
            struct proc_entry *pe = &r->procs[i];
            if (atomic_load(&pe->state) != PROC_FREE)
                continue;
            uint32_t epoch = atomic_fetch_add(&r->epoch, 1) + 1;
            uint32_t token = (epoch & 0xffffffu) << 8 | (uint32_t)(i + 1);
            char st;
            pe->pid = (int32_t)getpid();
            pe->start_time = r->shared ? proc_stat(getpid(), &st) : 0;
            atomic_store(&pe->wake, 0);
            for (uint32_t p = 0; p < r->max_ports; p++)
                atomic_store(pin_of(lan, i, (int)p), 0);
            atomic_store(&pe->token, token);
            atomic_store(&pe->state, PROC_ALIVE);
            lan->me = i;
            lan->token = token;
            return 0;
        }
        if (pass == 0)
            reap_locked(lan);
    }
    if (err && errlen)
        snprintf(err, errlen, "LAN %s already has %d processes attached", r->name, MAX_PROCS);
    return -EBUSY;
}

/* ---- ports: closing, sweeping, recovery --------------------------------------- */

/* Stop new copies for port p and forget its addresses.  Under ctl. */
static void close_port_locked(struct glan_lan *lan, int p)
{
    struct port_shared *ps = &lan->ports[p];
    atomic_store(&ps->state, PORT_CLOSING);
    if (atomic_load(&lan->r->uplink) == p)
        atomic_store(&lan->r->uplink, -1);
    seq_write_begin(lan);
    for (uint32_t i = 0; i < lan->r->addr_cap;) {
        uint32_t m = atomic_load_explicit(&lan->addrs[i].meta, memory_order_relaxed);
        if ((m & META_USED) && (int)(m & META_PORT) == p)
            reg_remove_at(lan, i); /* an entry may have moved into i: look again */
        else
            i++;
    }
    for (uint32_t i = 0; i < lan->r->n_groups;) {
        uint32_t m = atomic_load_explicit(&lan->groups[i].meta, memory_order_relaxed);
        if ((int)(m & META_PORT) == p)
            group_remove_at(lan, i);
        else
            i++;
    }
    seq_write_end(lan);
}

/* Wait until no sender of any process is inside port p's queue.  A dead
 * process's pins would never go, so now and then look for the dead. */
static void wait_pins(struct glan_lan *lan, int p, int locked)
{
    for (unsigned spins = 1;; spins++) {
        uint32_t sum = 0;
        for (int q = 0; q < MAX_PROCS; q++)
            sum += atomic_load(pin_of(lan, q, p));
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

/* Take port p's drain turn for good: from nobody, or from dead (the token of
 * a dead process that held it), never from a live holder. */
static void take_turn(struct glan_lan *lan, struct port_shared *ps, uint32_t dead)
{
    for (;;) {
        uint32_t v = atomic_load(&ps->drain);
        if ((v == 0 || (dead && v == dead)) &&
            atomic_compare_exchange_strong(&ps->drain, &v, lan->token))
            return;
        sched_yield();
    }
}

/* Drop what waits for port p (port_gone); we hold its turn, nobody pushes. */
static void sweep_port(struct glan_lan *lan, int p)
{
    struct port_shared *ps = &lan->ports[p];
    struct qcell *cells = port_cells(lan, p);
    uint64_t mask = lan->r->queue_len - 1;
    uint64_t cur = atomic_load(&ps->cur);
    if (cur != CUR_NONE) {
        uint32_t slot = (uint32_t)(cur & CUR_SLOT);
        uint64_t gen = cur >> 32;
        uint64_t pos = atomic_load(&ps->deq_pos);
        uint64_t here = atomic_load(&cells[pos & mask].w);
        uint64_t prev = atomic_load(&cells[(pos - 1) & mask].w);
        if (cur & CUR_COUNTED) {
            /* A drainer died between counting the copy and clearing cur:
             * whether it gave its reference back is unknown, so leave the
             * buffer to reclaim, which frees it once nothing points at it. */
            uint64_t want = gen << 32 | OWNER_QUEUES;
            if (atomic_compare_exchange_strong(&lan->slots[slot].owner, &want,
                                               gen << 32 | OWNER_ORPHAN_QUIET))
                atomic_fetch_add(&lan->r->orphans, 1);
        } else if (cell_full_at(here, pos) && (here & CELL_SLOT) == slot) {
            /* died inside queue_pop before moving deq_pos: the loop below
             * drops it from the cell */
        } else {
            if (pos > 0 && cell_full_at(prev, pos - 1) && (prev & CELL_SLOT) == slot)
                /* died inside queue_pop after moving deq_pos: free the cell */
                atomic_store(&cells[(pos - 1) & mask].w, cell_word(pos + mask, 0, 0));
            count_drop(lan, slot, p, GLAN_DROP_PORT_GONE);
            slot_unref(lan, slot);
        }
        atomic_store(&ps->cur, CUR_NONE);
    }
    uint32_t slot;
    while ((slot = queue_pop(lan, p)) != NONE) {
        atomic_store(&ps->cur, CUR_NONE);
        count_drop(lan, slot, p, GLAN_DROP_PORT_GONE);
        slot_unref(lan, slot);
    }
}

/* Port p is empty and nobody can reach it: free its entry.  Under ctl. */
static void free_port_locked(struct glan_lan *lan, int p)
{
    struct port_shared *ps = &lan->ports[p];
    lan->local[p].ops = NULL;
    lan->local[p].ctx = NULL;
    atomic_store(&ps->drain, DRAIN_CLOSED);
    atomic_store(&ps->owner, 0);
    atomic_store(&ps->state, PORT_FREE);
}

/* Process q died: remove its ports as detach would, and hand the buffers it
 * was filling or forwarding to reclaim.  Under ctl. */
static void recover_proc(struct glan_lan *lan, int q)
{
    struct region *r = lan->r;
    struct proc_entry *pe = &r->procs[q];
    uint32_t dead = atomic_load(&pe->token);
    for (uint32_t p = 0; p < r->max_ports; p++)
        if (atomic_load(&lan->ports[p].state) != PORT_FREE &&
            atomic_load(&lan->ports[p].owner) == dead)
            close_port_locked(lan, (int)p);
    for (uint32_t p = 0; p < r->max_ports; p++) {
        struct port_shared *ps = &lan->ports[p];
        if (atomic_load(&ps->state) != PORT_CLOSING || atomic_load(&ps->owner) != dead)
            continue;
        wait_pins(lan, (int)p, 1);
        take_turn(lan, ps, dead);
        sweep_port(lan, (int)p);
        free_port_locked(lan, (int)p);
    }
    for (uint32_t i = 0; i < r->buffers; i++) {
        uint64_t w = atomic_load(&lan->slots[i].owner);
        if ((uint32_t)w == dead && atomic_compare_exchange_strong(&lan->slots[i].owner, &w,
                                                                  (w >> 32) << 32 | OWNER_ORPHAN))
            atomic_fetch_add(&r->orphans, 1);
    }
    pe->pid = 0;
    atomic_store(&pe->token, 0);
    atomic_store(&pe->state, PROC_FREE);
}

static int reap_locked(struct glan_lan *lan)
{
    struct region *r = lan->r;
    int dead[MAX_PROCS], n = 0;
    if (!r->shared)
        return 0;
    for (int q = 0; q < MAX_PROCS; q++) {
        struct proc_entry *pe = &r->procs[q];
        if (q == lan->me || atomic_load(&pe->state) != PROC_ALIVE || proc_alive(pe))
            continue;
        /* Its pins will never be dropped: forget them first, so that
         * recovering one dead process never waits for another's. */
        atomic_store(&pe->state, PROC_DEAD);
        for (uint32_t p = 0; p < r->max_ports; p++)
            atomic_store(pin_of(lan, q, (int)p), 0);
        dead[n++] = q;
    }
    for (int k = 0; k < n; k++)
        recover_proc(lan, dead[k]);
    return n;
}

/*
 * Free the buffers of dead processes once no queue cell and no drainer
 * points at them; the references left are copies that were never queued,
 * counted port_gone.  Under ctl, so the set of orphans is stable.
 */
static void reclaim_locked(struct glan_lan *lan)
{
    struct region *r = lan->r;
    if (!atomic_load(&r->orphans))
        return;
    uint8_t *seen = calloc((r->buffers + 7) / 8, 1);
    if (!seen)
        return;
    /* Cells first, then cur: a copy moves from a cell to cur (set before
     * the cell is freed) and never back, so one that moves during the scan
     * is still found in cur. */
    for (uint32_t p = 0; p < r->max_ports; p++) {
        struct qcell *cells = port_cells(lan, (int)p);
        for (uint32_t i = 0; i < r->queue_len; i++) {
            /* acquire: pairs with queue_pop's release; a freed cell means
             * its cur store is visible below */
            uint64_t w = atomic_load_explicit(&cells[i].w, memory_order_acquire);
            if (w & CELL_FULL)
                seen[(w & CELL_SLOT) / 8] |= (uint8_t)(1u << ((w & CELL_SLOT) % 8));
        }
    }
    for (uint32_t p = 0; p < r->max_ports; p++) {
        /* acquire: pairs with drain's release of cur; an idle drainer has
         * given its reference back */
        uint64_t cur = atomic_load_explicit(&lan->ports[p].cur, memory_order_acquire);
        if (cur != CUR_NONE)
            seen[(cur & CUR_SLOT) / 8] |= (uint8_t)(1u << ((cur & CUR_SLOT) % 8));
    }
    for (uint32_t i = 0; i < r->buffers; i++) {
        uint64_t w = atomic_load(&lan->slots[i].owner);
        uint32_t o = (uint32_t)w;
        if ((o != OWNER_ORPHAN && o != OWNER_ORPHAN_QUIET) || (seen[i / 8] & (1u << (i % 8))))
            continue;
        /* Nobody can reach it, so nobody else changes refs any more. */
        uint32_t left = atomic_exchange(&lan->slots[i].refs, 0);
        if (o == OWNER_ORPHAN)
            for (uint32_t k = 0; k < left; k++)
                count_drop(lan, i, -1, GLAN_DROP_PORT_GONE);
        slot_free(lan, i);
    }
    free(seen);
}

/* A holder of ctl died inside: if it was writing the registry, rebuild the
 * table and the group list from the entries that are there. */
static void registry_repair(struct glan_lan *lan)
{
    struct region *r = lan->r;
    if (!(atomic_load(&r->reg_seq) & 1))
        return;
    uint32_t cap = r->addr_cap, n = 0, mask = cap - 1;
    struct glan_addr *tmp = calloc(cap, sizeof *tmp);
    int *own = calloc(cap, sizeof *own);
    for (uint32_t i = 0; i < cap && tmp && own; i++) {
        uint32_t m = atomic_load_explicit(&lan->addrs[i].meta, memory_order_relaxed);
        if (m & META_USED) {
            entry_read(&lan->addrs[i], &tmp[n]);
            own[n++] = (int)(m & META_PORT);
        }
    }
    for (uint32_t i = 0; i < cap; i++)
        atomic_store_explicit(&lan->addrs[i].meta, 0, memory_order_relaxed);
    r->n_addrs = 0;
    for (uint32_t k = 0; k < n; k++) {
        if (reg_find(lan, &tmp[k]) != NONE || r->n_addrs >= r->max_addrs)
            continue;
        uint32_t i = addr_hash(&tmp[k]) & mask;
        while (atomic_load_explicit(&lan->addrs[i].meta, memory_order_relaxed) & META_USED)
            i = (i + 1) & mask;
        entry_set(&lan->addrs[i], &tmp[k], own[k]);
        r->n_addrs++;
    }
    free(tmp);
    free(own);
    /* groups: keep the used entries, once each, packed at the front */
    uint32_t kept = 0;
    for (uint32_t i = 0; i < r->max_groups; i++) {
        uint32_t m = atomic_load_explicit(&lan->groups[i].meta, memory_order_relaxed);
        if (!m)
            continue;
        struct glan_addr g;
        entry_read(&lan->groups[i], &g);
        r->n_groups = kept;
        if (group_find(lan, &g, (int)(m & META_PORT)) == NONE) {
            if (i != kept)
                entry_copy(&lan->groups[kept], &lan->groups[i]);
            kept++;
        }
    }
    for (uint32_t i = kept; i < r->max_groups; i++)
        atomic_store_explicit(&lan->groups[i].meta, 0, memory_order_relaxed);
    r->n_groups = kept;
    atomic_fetch_add(&r->reg_seq, 1); /* even again: readers go on */
}

static void ctl_lock(struct glan_lan *lan)
{
    if (pthread_mutex_lock(&lan->r->ctl) == EOWNERDEAD) {
        /* Its holder died inside: make what ctl guards whole again, mark
         * the mutex usable, then clean up after the dead. */
        registry_repair(lan);
        pthread_mutex_consistent(&lan->r->ctl);
        reap_locked(lan);
    }
}

static void ctl_unlock(struct glan_lan *lan)
{
    pthread_mutex_unlock(&lan->r->ctl);
}

int glan_lan_reap(struct glan_lan *lan)
{
    if (!lan->r->shared)
        return 0;
    ctl_lock(lan);
    int n = reap_locked(lan);
    reclaim_locked(lan);
    ctl_unlock(lan);
    return n;
}

/* ---- the base thread ------------------------------------------------------------ */

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Anyone in the process table who died?  Without ctl: a cheap look first. */
static int anyone_dead(struct glan_lan *lan)
{
    for (int q = 0; q < MAX_PROCS; q++) {
        struct proc_entry *pe = &lan->r->procs[q];
        if (q != lan->me && atomic_load(&pe->state) == PROC_ALIVE && !proc_alive(pe))
            return 1;
    }
    return 0;
}

/*
 * One per process attached to a shared LAN: delivers what other processes
 * queued for this process's ports.  It sleeps on its futex word until a
 * sender in another process wakes it; every 100 ms it also looks for dead
 * processes and reclaims their buffers (never on the datagram path).
 */
static void *base_main(void *arg)
{
    struct glan_lan *lan = arg;
    _Atomic uint32_t *w = &lan->r->procs[lan->me].wake;
    uint64_t last = mono_ms();
    while (!atomic_load(&lan->stop)) {
        atomic_exchange(w, 0);
        /* see wake_proc: clearing the word, then looking at the queues */
        atomic_thread_fence(memory_order_seq_cst);
        for (uint32_t p = 0; p < lan->r->max_ports; p++) {
            struct port_shared *ps = &lan->ports[p];
            if (atomic_load_explicit(&ps->owner, memory_order_relaxed) == lan->token &&
                atomic_load(&ps->state) == PORT_ACTIVE && !queue_empty(lan, (int)p))
                drain(lan, (int)p);
        }
        uint64_t now = mono_ms();
        if (now - last >= 100) {
            last = now;
            if (anyone_dead(lan) || atomic_load(&lan->r->orphans))
                glan_lan_reap(lan);
        }
        uint32_t idle = 0;
        if (atomic_compare_exchange_strong(w, &idle, 2)) {
            struct timespec ts = {0, 100 * 1000 * 1000};
            syscall(SYS_futex, w, FUTEX_WAIT, 2, &ts, NULL, 0);
        }
    }
    return NULL;
}

/* ---- LANs and ports ------------------------------------------------------------ */

struct glan_lan *glan_lan_create(const struct glan_lan_config *in, char *err, size_t errlen)
{
    struct glan_lan_config cfg = *in;
    glan_lan_config_defaults(&cfg);
    if (check_config(&cfg, err, errlen) < 0)
        return NULL;
    struct layout l;
    layout_of(&cfg, &l);
    struct glan_lan *lan = lan_new(cfg.max_ports);
    void *mem = NULL;
    if (lan && posix_memalign(&mem, _Alignof(struct region), l.total) != 0)
        mem = NULL;
    if (!lan || !mem) {
        free(lan);
        if (err && errlen)
            snprintf(err, errlen, "cannot allocate %llu bytes of base storage",
                     (unsigned long long)l.total);
        return NULL;
    }
    memset(mem, 0, l.total);
    region_init(mem, &cfg, &l, 0);
    lan_bind(lan, mem);
    proc_join(lan, NULL, 0); /* the only process */
    lan->r->magic = REGION_MAGIC;
    return lan;
}

static int shm_name_ok(const char *n, char *err, size_t errlen)
{
    if (n && n[0] == '/' && n[1] && strlen(n) <= 63 && !strchr(n + 1, '/'))
        return 1;
    if (err && errlen)
        snprintf(err, errlen, "shared-memory name must be /NAME, at most 63 characters");
    return 0;
}

static int start_base(struct glan_lan *lan, char *err, size_t errlen)
{
    int rc = pthread_create(&lan->base, NULL, base_main, lan);
    if (rc) {
        if (err && errlen)
            snprintf(err, errlen, "cannot start the base thread: %s", strerror(rc));
        return -rc;
    }
    lan->has_base = 1;
    return 0;
}

struct glan_lan *glan_lan_create_shared(const struct glan_lan_config *in, const char *shm_name,
                                        char *err, size_t errlen)
{
    struct glan_lan_config cfg = *in;
    glan_lan_config_defaults(&cfg);
    if (check_config(&cfg, err, errlen) < 0 || !shm_name_ok(shm_name, err, errlen))
        return NULL;
    struct layout l;
    layout_of(&cfg, &l);
    int fd = shm_open(shm_name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (err && errlen)
            snprintf(err, errlen, "cannot create shared LAN %s: %s", shm_name, strerror(errno));
        return NULL;
    }
    void *mem = MAP_FAILED;
    if (ftruncate(fd, (off_t)l.total) == 0)
        mem = mmap(NULL, l.total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int e = errno;
    close(fd);
    struct glan_lan *lan = mem == MAP_FAILED ? NULL : lan_new(cfg.max_ports);
    int rc = lan ? region_init(mem, &cfg, &l, 1) : -e;
    if (rc < 0) {
        if (err && errlen)
            snprintf(err, errlen, "cannot create shared LAN %s (%llu bytes): %s", shm_name,
                     (unsigned long long)l.total, strerror(-rc));
        goto fail;
    }
    lan_bind(lan, mem);
    lan->map_size = l.total;
    proc_join(lan, NULL, 0); /* nobody else sees the region yet */
    /* release: an attacher that sees the magic sees the whole layout */
    __atomic_store_n(&lan->r->magic, REGION_MAGIC, __ATOMIC_RELEASE);
    if (start_base(lan, err, errlen) < 0)
        goto fail;
    return lan;
fail:
    if (mem != MAP_FAILED)
        munmap(mem, l.total);
    free(lan);
    shm_unlink(shm_name);
    return NULL;
}

/* Is the segment at mem (size bytes) a LAN this program can join?  Fills
 * cfg from it.  0, or -1 with the reason in err. */
static int region_check(const struct region *r, uint64_t size, struct glan_lan_config *cfg,
                        char *err, size_t errlen)
{
    uint32_t magic = 0;
    /* The creator stores the magic last; give it a moment. */
    for (int i = 0; i < 200; i++) {
        /* acquire: pairs with the creator's release of the magic */
        magic = __atomic_load_n(&r->magic, __ATOMIC_ACQUIRE);
        if (magic)
            break;
        usleep(10000);
    }
    if (magic != REGION_MAGIC) {
        snprintf(err, errlen, "not a guestlan LAN (magic %08x)", magic);
        return -1;
    }
    if (r->version != REGION_VERSION) {
        snprintf(err, errlen, "LAN has layout version %u, this program speaks version %u",
                 r->version, REGION_VERSION);
        return -1;
    }
    uint32_t w[LAYOUT_WORDS];
    layout_words(w);
    const uint32_t *theirs = &r->sz_region;
    for (int i = 0; i < LAYOUT_WORDS; i++)
        if (theirs[i] != w[i]) {
            snprintf(err, errlen, "incompatible layout: %s is %u bytes there, %u here",
                     layout_names[i], theirs[i], w[i]);
            return -1;
        }
    cfg->name = r->name;
    cfg->max_ports = r->max_ports;
    cfg->max_addrs = r->max_addrs;
    cfg->max_groups = r->max_groups;
    cfg->buffers = r->buffers;
    cfg->buffer_size = r->buffer_size;
    cfg->queue_len = r->queue_len;
    if (memchr(r->name, 0, sizeof r->name) == NULL || check_config(cfg, err, errlen) < 0) {
        snprintf(err, errlen, "incompatible layout: bad configuration in the segment");
        return -1;
    }
    struct layout l;
    layout_of(cfg, &l);
    if (l.cap != r->addr_cap || l.off_ports != r->off_ports || l.off_addrs != r->off_addrs ||
        l.off_groups != r->off_groups || l.off_cells != r->off_cells || l.off_pins != r->off_pins ||
        l.off_slots != r->off_slots || l.off_data != r->off_data || l.total != r->total ||
        l.total > size || !r->shared) {
        snprintf(err, errlen, "incompatible layout: offsets or size differ");
        return -1;
    }
    return 0;
}

struct glan_lan *glan_lan_attach_shared(const char *shm_name, char *err, size_t errlen)
{
    char dummy[8];
    if (!err || !errlen) {
        err = dummy;
        errlen = sizeof dummy;
    }
    if (!shm_name_ok(shm_name, err, errlen))
        return NULL;
    int fd = shm_open(shm_name, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "no shared LAN %s: %s", shm_name, strerror(errno));
        return NULL;
    }
    struct stat st;
    void *mem = MAP_FAILED;
    if (fstat(fd, &st) == 0 && (uint64_t)st.st_size >= 64)
        mem = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (mem == MAP_FAILED) {
        snprintf(err, errlen, "%s: not a guestlan LAN (cannot map it)", shm_name);
        return NULL;
    }
    size_t size = (size_t)st.st_size;
    struct glan_lan_config cfg;
    struct glan_lan *lan = NULL;
    char why[200];
    if (size < sizeof(struct region)) {
        /* Too short for our header: still say which version it is. */
        const uint32_t *words = mem;
        if (words[0] == REGION_MAGIC && words[1] != REGION_VERSION)
            snprintf(why, sizeof why, "LAN has layout version %u, this program speaks version %u",
                     words[1], REGION_VERSION);
        else
            snprintf(why, sizeof why, "incompatible layout: segment too small");
        snprintf(err, errlen, "%s: %s", shm_name, why);
        goto fail;
    }
    if (region_check(mem, size, &cfg, why, sizeof why) < 0) {
        snprintf(err, errlen, "%s: %s", shm_name, why);
        goto fail;
    }
    lan = lan_new(cfg.max_ports);
    if (!lan) {
        snprintf(err, errlen, "%s: out of memory", shm_name);
        goto fail;
    }
    lan_bind(lan, mem);
    lan->map_size = size;
    ctl_lock(lan);
    int rc = proc_join(lan, why, sizeof why);
    ctl_unlock(lan);
    if (rc < 0) {
        snprintf(err, errlen, "%s: %s", shm_name, why);
        goto fail;
    }
    if (start_base(lan, err, errlen) < 0) {
        ctl_lock(lan);
        lan->r->procs[lan->me].pid = 0;
        atomic_store(&lan->r->procs[lan->me].token, 0);
        atomic_store(&lan->r->procs[lan->me].state, PROC_FREE);
        ctl_unlock(lan);
        goto fail;
    }
    return lan;
fail:
    free(lan);
    munmap(mem, size);
    return NULL;
}

int glan_lan_unlink_shared(const char *shm_name)
{
    return shm_unlink(shm_name) == 0 ? 0 : -errno;
}

int glan_lan_is_shared(const struct glan_lan *lan)
{
    return lan->map_size != 0;
}

void glan_lan_destroy(struct glan_lan *lan)
{
    if (!lan)
        return;
    if (!lan->map_size) {
        pthread_mutex_destroy(&lan->r->ctl);
        free(lan->r);
        free(lan);
        return;
    }
    /* Leave the shared LAN: our ports go as detach would take them. */
    for (uint32_t p = 0; p < lan->r->max_ports; p++)
        if (atomic_load(&lan->ports[p].state) == PORT_ACTIVE &&
            atomic_load(&lan->ports[p].owner) == lan->token)
            glan_port_detach(&lan->local[p]);
    if (lan->has_base) {
        atomic_store(&lan->stop, 1);
        _Atomic uint32_t *w = &lan->r->procs[lan->me].wake;
        if (atomic_exchange(w, 1) == 2)
            syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0);
        pthread_join(lan->base, NULL);
    }
    ctl_lock(lan);
    struct proc_entry *pe = &lan->r->procs[lan->me];
    for (uint32_t p = 0; p < lan->r->max_ports; p++)
        atomic_store(pin_of(lan, lan->me, (int)p), 0);
    pe->pid = 0;
    atomic_store(&pe->token, 0);
    atomic_store(&pe->state, PROC_FREE);
    ctl_unlock(lan);
    munmap(lan->r, lan->map_size);
    free(lan);
}

const char *glan_lan_name(const struct glan_lan *lan)
{
    return lan->r->name;
}

void glan_lan_get_config(const struct glan_lan *lan, struct glan_lan_config *out)
{
    const struct region *r = lan->r;
    out->name = r->name;
    out->max_ports = r->max_ports;
    out->max_addrs = r->max_addrs;
    out->max_groups = r->max_groups;
    out->buffers = r->buffers;
    out->buffer_size = r->buffer_size;
    out->queue_len = r->queue_len;
}

static void reset_queue(struct glan_lan *lan, int p)
{
    struct port_shared *ps = &lan->ports[p];
    struct qcell *cells = port_cells(lan, p);
    for (uint32_t i = 0; i < lan->r->queue_len; i++)
        atomic_store_explicit(&cells[i].w, cell_word(i, 0, 0), memory_order_relaxed);
    atomic_store(&ps->enq_pos, 0);
    atomic_store(&ps->deq_pos, 0);
    atomic_store(&ps->cur, CUR_NONE);
}

int glan_port_attach(struct glan_lan *lan, const struct glan_port_info *info,
                     const struct glan_port_ops *ops, void *ctx, struct glan_port **out)
{
    if (!info || !info->name || !info->name[0] || strlen(info->name) > 31 || !ops ||
        !ops->deliver || (info->kind != GLAN_PORT_GUEST && info->kind != GLAN_PORT_UPLINK))
        return -EINVAL;
    int rc = -ENOSPC;
    ctl_lock(lan);
    if (info->kind == GLAN_PORT_UPLINK && atomic_load(&lan->r->uplink) >= 0) {
        rc = -EEXIST;
        goto out;
    }
    for (uint32_t p = 0; p < lan->r->max_ports; p++) {
        struct port_shared *ps = &lan->ports[p];
        if (atomic_load(&ps->state) != PORT_FREE)
            continue;
        ps->gen++;
        ps->kind = (uint32_t)info->kind;
        snprintf(ps->name, sizeof ps->name, "%s", info->name);
        memset(&ps->c, 0, sizeof ps->c);
        atomic_store_explicit(&ps->recv_packets, 0, memory_order_relaxed);
        atomic_store_explicit(&ps->recv_bytes, 0, memory_order_relaxed);
        atomic_store_explicit(&ps->recv_dropped, 0, memory_order_relaxed);
        reset_queue(lan, (int)p);
        atomic_store(&ps->owner, lan->token);
        ps->owner_pid = (int32_t)getpid();
        lan->local[p].ops = ops;
        lan->local[p].ctx = ctx;
        atomic_store(&ps->drain, 0);
        atomic_store(&ps->state, PORT_ACTIVE);
        if (info->kind == GLAN_PORT_UPLINK)
            atomic_store(&lan->r->uplink, (int32_t)p);
        *out = &lan->local[p];
        rc = 0;
        break;
    }
out:
    ctl_unlock(lan);
    return rc;
}

void glan_port_detach(struct glan_port *port)
{
    struct glan_lan *lan = port->lan;
    struct port_shared *ps = &lan->ports[port->idx];
    int p = port->idx;

    ctl_lock(lan);
    close_port_locked(lan, p);
    ctl_unlock(lan);
    /* Senders that pinned the port before they saw CLOSING finish first; then
     * take the drain turn for good, so the port's callbacks are never called
     * again, and drop what still waits. */
    wait_pins(lan, p, 0);
    take_turn(lan, ps, 0);
    sweep_port(lan, p);
    ctl_lock(lan);
    free_port_locked(lan, p);
    ctl_unlock(lan);
}

int glan_port_index(const struct glan_port *port)
{
    return port->idx;
}

struct glan_lan *glan_port_lan(const struct glan_port *port)
{
    return port->lan;
}

/* ---- counters and queries ------------------------------------------------------ */

static uint64_t ld(const _Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

static void read_port(struct glan_lan *lan, int p, struct glan_port_stats *o)
{
    const struct port_shared *ps = &lan->ports[p];
    memset(o, 0, sizeof *o);
    o->sent_packets = ld(&ps->c.sent_packets);
    o->sent_bytes = ld(&ps->c.sent_bytes);
    o->fanout = ld(&ps->c.fanout);
    o->delivered = ld(&ps->c.delivered);
    for (int i = 0; i < GLAN_DROP_COUNT; i++)
        o->dropped[i] = ld(&ps->c.dropped[i]);
    o->recv_packets = ld(&ps->recv_packets);
    o->recv_bytes = ld(&ps->recv_bytes);
    o->recv_dropped = ld(&ps->recv_dropped);
    o->queued = port_queued(lan, p);
}

int glan_port_stats(const struct glan_port *port, struct glan_port_stats *out)
{
    read_port(port->lan, port->idx, out);
    return 0;
}

void glan_lan_stats(struct glan_lan *lan, struct glan_lan_stats *o)
{
    const struct region *r = lan->r;
    memset(o, 0, sizeof *o);
    for (int k = 0; k < LAN_STRIPES; k++) {
        const struct lan_stripe *t = &r->c[k];
        o->sent_packets += ld(&t->sent_packets);
        o->sent_bytes += ld(&t->sent_bytes);
        o->fanout += ld(&t->fanout);
        o->delivered += ld(&t->delivered);
        for (int i = 0; i < GLAN_DROP_COUNT; i++)
            o->dropped[i] += ld(&t->dropped[i]);
    }
    for (uint32_t p = 0; p < r->max_ports; p++)
        if (atomic_load(&lan->ports[p].state) != PORT_FREE)
            o->queued += port_queued(lan, (int)p);
    /* The stripes are read one by one while buffers come and go, so the
     * sum may be off for a moment, even below zero: keep it in range. */
    uint64_t sum = 0;
    for (int k = 0; k < LAN_STRIPES; k++)
        sum += ld(&r->c[k].in_use);
    int64_t used = (int64_t)sum;
    o->buffers_in_use = used < 0 ? 0 : used > r->buffers ? r->buffers : (uint32_t)used;
    /* Counted from the entries, not kept in a counter: a process killed
     * between taking an entry and counting it would leave a counter off. */
    o->ports = 0;
    for (uint32_t p = 0; p < r->max_ports; p++)
        if (atomic_load(&lan->ports[p].state) != PORT_FREE)
            o->ports++;
    ctl_lock(lan);
    o->addrs = r->n_addrs;
    o->groups = r->n_groups;
    ctl_unlock(lan);
}

void glan_lan_foreach_port(struct glan_lan *lan,
                           void (*fn)(const struct glan_port_view *v, void *arg), void *arg)
{
    for (uint32_t p = 0; p < lan->r->max_ports; p++) {
        const struct port_shared *ps = &lan->ports[p];
        if (atomic_load(&ps->state) != PORT_ACTIVE)
            continue;
        struct glan_port_view v;
        memset(&v, 0, sizeof v);
        v.index = (int)p;
        v.kind = (enum glan_port_kind)ps->kind;
        memcpy(v.name, ps->name, sizeof v.name);
        read_port(lan, (int)p, &v.stats);
        v.owner_pid = (pid_t)ps->owner_pid;
        fn(&v, arg);
    }
}

size_t glan_lan_port_addrs(struct glan_lan *lan, int idx, int groups, struct glan_addr *out,
                           size_t n)
{
    size_t k = 0;
    ctl_lock(lan);
    for (uint32_t i = 0; i < lan->r->addr_cap; i++) {
        uint32_t m = atomic_load_explicit(&lan->addrs[i].meta, memory_order_relaxed);
        if ((m & META_USED) && (int)(m & META_PORT) == idx) {
            if (k < n)
                entry_read(&lan->addrs[i], &out[k]);
            k++;
        }
    }
    for (uint32_t i = 0; groups && i < lan->r->n_groups; i++) {
        uint32_t m = atomic_load_explicit(&lan->groups[i].meta, memory_order_relaxed);
        if ((int)(m & META_PORT) == idx) {
            if (k < n)
                entry_read(&lan->groups[i], &out[k]);
            k++;
        }
    }
    ctl_unlock(lan);
    return k;
}
