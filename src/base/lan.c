/*
 * The base: one router per LAN.  A port hands a datagram to the base
 * (glan_port_send / glan_port_tx_*); it is copied into a base storage buffer,
 * its destination is looked up in the registry, and a reference to the buffer
 * is put on the wait queue of every port that should receive it; the queue is
 * then drained into the receiving port's input through its deliver callback,
 * in the sender's own thread when nobody else is draining it.
 *
 * All state that several processes will later share lives in one region laid
 * out at creation: a header, the port table, the registry (open addressing),
 * the group table, the wait queues (bounded MPMC rings) and base storage
 * (buffers with a lock-free free list).  Everything in it is addressed by
 * index, never by pointer.  Process-local pieces (the ports' callbacks) live
 * in struct glan_lan beside it.
 *
 * Locking (docs/design.md has the full story):
 *   - `ctl` mutex: attach/detach and registry writers only; never held while
 *     a datagram is copied or a port callback runs.
 *   - registry readers take no lock: a sequence counter (seqlock) tells them
 *     to retry when a writer ran meanwhile.
 *   - a port's drain turn is a try-only flag: whoever wins it delivers the
 *     queue, the others leave their copy on the queue and go on.  So no
 *     sender ever waits for another sender or a receiver.
 *   - a sender "pins" the receiving port (entering counter) while it queues
 *     and drains; detach waits for the pins to go.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guestlan/base.h"

#define NONE           UINT32_MAX
#define REGION_MAGIC   0x474c414eu /* "GLAN" */
#define REGION_VERSION 1u

enum port_state { PORT_FREE = 0, PORT_ACTIVE = 1, PORT_CLOSING = 2 };

/* Counters kept for one port and for the LAN; updated with relaxed atomic
 * adds (exactness, not ordering, is what they need). */
struct counters {
    _Atomic uint64_t sent_packets, sent_bytes, fanout, delivered;
    _Atomic uint64_t dropped[GLAN_DROP_COUNT];
    _Atomic uint64_t recv_packets, recv_bytes, recv_dropped;
};

/* One cell of a wait queue: a bounded multi-producer queue in which each
 * cell's sequence number says whose turn it is (producer or consumer). */
struct qcell {
    _Atomic uint64_t seq;
    _Atomic uint32_t slot;
    uint32_t pad;
};

struct port_shared {
    _Atomic uint32_t state; /* enum port_state */
    uint32_t gen;           /* bumped on every attach, to spot stale sources */
    uint32_t kind;
    char name[32];
    _Atomic uint32_t entering; /* senders inside this port's queue right now */
    _Atomic uint32_t drain;    /* 1 while some thread holds the drain turn */
    _Atomic uint32_t kick_gen; /* bumped by glan_port_kick */
    uint32_t held;             /* buffer the port refused last (-EAGAIN); drain turn only */
    _Atomic uint64_t queued;   /* copies waiting, held one included */
    _Atomic uint64_t enq_pos, deq_pos;
    struct counters c;
};

/* Base storage buffer header.  refs counts the wait-queue entries that still
 * point at it; the buffer returns to the free list at zero. */
struct slot_hdr {
    _Atomic uint32_t next; /* free-list link */
    _Atomic uint32_t refs;
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

struct region {
    uint32_t magic, version, size;
    char name[32];
    uint32_t max_ports, max_addrs, max_groups, buffers, buffer_size, queue_len;
    uint32_t addr_cap; /* registry table size, a power of two */
    uint64_t off_ports, off_addrs, off_groups, off_cells, off_slots, off_data;
    _Atomic uint32_t reg_seq; /* odd while a registry writer is at work */
    uint32_t n_addrs, n_groups;
    _Atomic int32_t uplink; /* index of the uplink port, or -1 */
    _Atomic uint32_t nports;
    _Atomic uint64_t pool_head; /* tag << 32 | first free slot */
    _Atomic uint32_t in_use;
    struct counters c; /* LAN totals */
};

struct glan_port {
    struct glan_lan *lan;
    int idx;
    const struct glan_port_ops *ops;
    void *ctx;
};

struct glan_lan {
    struct region *r;
    struct port_shared *ports;
    struct reg_entry *addrs, *groups;
    struct qcell *cells;
    struct slot_hdr *slots;
    uint8_t *data;
    pthread_mutex_t ctl;
    struct glan_port local[];
};

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

static uint64_t align64(uint64_t v)
{
    return (v + 63) & ~(uint64_t)63;
}

/* ---- base storage -------------------------------------------------------------- */

static uint32_t slot_alloc(struct glan_lan *lan)
{
    struct region *r = lan->r;
    uint64_t head = atomic_load_explicit(&r->pool_head, memory_order_acquire);
    for (;;) {
        uint32_t idx = (uint32_t)head;
        if (idx == NONE)
            return NONE;
        uint32_t next = atomic_load_explicit(&lan->slots[idx].next, memory_order_relaxed);
        /* The tag in the high half defeats ABA: a slot popped and pushed back
         * meanwhile changes the tag, so this CAS fails and we retry. */
        uint64_t nh = ((head >> 32) + 1) << 32 | next;
        if (atomic_compare_exchange_weak_explicit(&r->pool_head, &head, nh, memory_order_acquire,
                                                  memory_order_acquire)) {
            atomic_fetch_add_explicit(&r->in_use, 1, memory_order_relaxed);
            return idx;
        }
    }
}

static void slot_free(struct glan_lan *lan, uint32_t idx)
{
    struct region *r = lan->r;
    uint64_t head = atomic_load_explicit(&r->pool_head, memory_order_relaxed);
    for (;;) {
        atomic_store_explicit(&lan->slots[idx].next, (uint32_t)head, memory_order_relaxed);
        uint64_t nh = ((head >> 32) + 1) << 32 | idx;
        /* release: the next owner sees everything written to the buffer */
        if (atomic_compare_exchange_weak_explicit(&r->pool_head, &head, nh, memory_order_release,
                                                  memory_order_relaxed))
            break;
    }
    atomic_fetch_sub_explicit(&r->in_use, 1, memory_order_relaxed);
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

static int queue_push(struct glan_lan *lan, int p, uint32_t slot)
{
    struct port_shared *ps = &lan->ports[p];
    struct qcell *cells = port_cells(lan, p);
    uint64_t mask = lan->r->queue_len - 1;
    uint64_t pos = atomic_load_explicit(&ps->enq_pos, memory_order_relaxed);
    for (;;) {
        struct qcell *c = &cells[pos & mask];
        /* acquire: pairs with the consumer's release of this cell */
        uint64_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
        int64_t dif = (int64_t)(seq - pos);
        if (dif == 0) {
            if (atomic_compare_exchange_weak_explicit(&ps->enq_pos, &pos, pos + 1,
                                                      memory_order_relaxed, memory_order_relaxed)) {
                atomic_store_explicit(&c->slot, slot, memory_order_relaxed);
                /* release: the consumer sees the slot once it sees the seq */
                atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
                return 0;
            }
        } else if (dif < 0) {
            return -ENOBUFS;
        } else {
            pos = atomic_load_explicit(&ps->enq_pos, memory_order_relaxed);
        }
    }
}

/* Only the holder of the drain turn pops, so a single consumer. */
static uint32_t queue_pop(struct glan_lan *lan, int p)
{
    struct port_shared *ps = &lan->ports[p];
    struct qcell *cells = port_cells(lan, p);
    uint64_t mask = lan->r->queue_len - 1;
    uint64_t pos = atomic_load_explicit(&ps->deq_pos, memory_order_relaxed);
    struct qcell *c = &cells[pos & mask];
    /* acquire: pairs with the producer's release of this cell */
    uint64_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
    if (seq != pos + 1)
        return NONE;
    uint32_t slot = atomic_load_explicit(&c->slot, memory_order_relaxed);
    atomic_store_explicit(&ps->deq_pos, pos + 1, memory_order_relaxed);
    /* release: the cell is free for the producer one lap later */
    atomic_store_explicit(&c->seq, pos + lan->r->queue_len, memory_order_release);
    return slot;
}

static int queue_empty(struct glan_lan *lan, int p)
{
    struct port_shared *ps = &lan->ports[p];
    uint64_t pos = atomic_load(&ps->deq_pos);
    struct qcell *c = &port_cells(lan, p)[pos & (lan->r->queue_len - 1)];
    return atomic_load(&c->seq) != pos + 1;
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
    add(&lan->r->c.dropped[why], 1);
    if (src)
        add(&src->c.dropped[why], 1);
    if (dst >= 0)
        add(&lan->ports[dst].c.recv_dropped, 1);
}

static void count_delivered(struct glan_lan *lan, uint32_t slot, int dst)
{
    const struct slot_hdr *s = &lan->slots[slot];
    struct port_shared *src = source_of(lan, s);
    add(&lan->r->c.delivered, 1);
    if (src)
        add(&src->c.delivered, 1);
    add(&lan->ports[dst].c.recv_packets, 1);
    add(&lan->ports[dst].c.recv_bytes, s->len);
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
 */
static void drain(struct glan_lan *lan, int p)
{
    struct port_shared *ps = &lan->ports[p];
    struct glan_port *lp = &lan->local[p];
    for (;;) {
        if (atomic_exchange(&ps->drain, 1))
            return;
        uint32_t kick = atomic_load(&ps->kick_gen);
        int took = 0, blocked = 0;
        for (;;) {
            uint32_t slot = ps->held != NONE ? ps->held : queue_pop(lan, p);
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
                ps->held = slot;
                blocked = 1;
                break;
            }
            ps->held = NONE;
            atomic_fetch_sub_explicit(&ps->queued, 1, memory_order_relaxed);
            if (rc == 0) {
                count_delivered(lan, slot, p);
                took = 1;
            } else {
                count_drop(lan, slot, p, deliver_error(rc));
            }
            slot_unref(lan, slot);
        }
        if (took && lp->ops->flush)
            lp->ops->flush(lp->ctx);
        atomic_store(&ps->drain, 0);
        if (blocked ? atomic_load(&ps->kick_gen) == kick : queue_empty(lan, p))
            return;
    }
}

/* Put one reference to slot on port p's queue and drain it.  The caller
 * holds one slot reference for this copy; it is consumed either way. */
static void enqueue(struct glan_lan *lan, int p, uint32_t slot)
{
    struct port_shared *ps = &lan->ports[p];
    /* Pin, then look at the state: seq_cst on both sides (detach stores the
     * state, then reads the pins) means one of us sees the other. */
    atomic_fetch_add(&ps->entering, 1);
    if (atomic_load(&ps->state) != PORT_ACTIVE) {
        atomic_fetch_sub(&ps->entering, 1);
        count_drop(lan, slot, -1, GLAN_DROP_PORT_GONE);
        slot_unref(lan, slot);
        return;
    }
    if (queue_push(lan, p, slot) < 0) {
        count_drop(lan, slot, p, GLAN_DROP_QUEUE_FULL);
        slot_unref(lan, slot);
    } else {
        atomic_fetch_add_explicit(&ps->queued, 1, memory_order_relaxed);
        drain(lan, p);
    }
    atomic_fetch_sub(&ps->entering, 1);
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
    while ((s = atomic_load_explicit(&lan->r->reg_seq, memory_order_acquire)) & 1)
        sched_yield();
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

int glan_addr_register(struct glan_port *port, const struct glan_addr *a)
{
    struct glan_lan *lan = port->lan;
    if (!is_unicast(a))
        return -EINVAL;
    int rc = 0;
    pthread_mutex_lock(&lan->ctl);
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
    }
    pthread_mutex_unlock(&lan->ctl);
    return rc;
}

int glan_addr_unregister(struct glan_port *port, const struct glan_addr *a)
{
    struct glan_lan *lan = port->lan;
    int rc = -ENOENT;
    pthread_mutex_lock(&lan->ctl);
    uint32_t i = reg_find(lan, a);
    if (i != NONE && (int)(atomic_load_explicit(&lan->addrs[i].meta, memory_order_relaxed) &
                           META_PORT) == port->idx) {
        seq_write_begin(lan);
        reg_remove_at(lan, i);
        seq_write_end(lan);
        rc = 0;
    }
    pthread_mutex_unlock(&lan->ctl);
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
    pthread_mutex_lock(&lan->ctl);
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
    pthread_mutex_unlock(&lan->ctl);
    return rc;
}

int glan_group_leave(struct glan_port *port, const struct glan_addr *g)
{
    struct glan_lan *lan = port->lan;
    int rc = -ENOENT;
    pthread_mutex_lock(&lan->ctl);
    uint32_t i = group_find(lan, g, port->idx);
    if (i != NONE) {
        seq_write_begin(lan);
        group_remove_at(lan, i);
        seq_write_end(lan);
        rc = 0;
    }
    pthread_mutex_unlock(&lan->ctl);
    return rc;
}

/* ---- forwarding ---------------------------------------------------------------- */

#define MAX_PORTS_WORDS (1024 / 64)

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
    s->ts_ns = meta && meta->ts_ns ? meta->ts_ns : now_ns();
    atomic_store_explicit(&s->refs, 1, memory_order_relaxed);
    add(&ps->c.sent_packets, 1);
    add(&ps->c.sent_bytes, len);
    add(&lan->r->c.sent_packets, 1);
    add(&lan->r->c.sent_bytes, len);

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
        enqueue(lan, dst, slot);
        return GLAN_DROP_NONE;
    }

    uint64_t map[MAX_PORTS_WORDS];
    unsigned n = fan_targets(lan, src, cast, &d, map);
    if (n == 0)
        return drop_whole(lan, slot, GLAN_DROP_NO_RECEIVER);
    /* One reference per receiver; the caller's reference becomes the first. */
    atomic_store_explicit(&s->refs, n, memory_order_relaxed);
    add(&ps->c.fanout, n - 1);
    add(&lan->r->c.fanout, n - 1);
    for (uint32_t w = 0; w < MAX_PORTS_WORDS; w++)
        for (uint64_t bits = map[w]; bits; bits &= bits - 1)
            enqueue(lan, (int)(w * 64 + (uint32_t)__builtin_ctzll(bits)), slot);
    return GLAN_DROP_NONE;
}

static enum glan_drop count_refused(struct glan_port *port, size_t len, enum glan_drop why)
{
    struct glan_lan *lan = port->lan;
    struct port_shared *ps = &lan->ports[port->idx];
    add(&ps->c.sent_packets, 1);
    add(&ps->c.sent_bytes, len);
    add(&ps->c.dropped[why], 1);
    add(&lan->r->c.sent_packets, 1);
    add(&lan->r->c.sent_bytes, len);
    add(&lan->r->c.dropped[why], 1);
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
    if (tb->slot != NONE)
        slot_free(port->lan, tb->slot);
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

/* ---- LANs and ports ------------------------------------------------------------ */

struct glan_lan *glan_lan_create(const struct glan_lan_config *in, char *err, size_t errlen)
{
    struct glan_lan_config cfg = *in;
    glan_lan_config_defaults(&cfg);
    if (check_config(&cfg, err, errlen) < 0)
        return NULL;

    uint32_t cap = 16;
    while (cap < 2 * cfg.max_addrs)
        cap *= 2;
    uint64_t off = align64(sizeof(struct region));
    uint64_t off_ports = off;
    off = align64(off + (uint64_t)cfg.max_ports * sizeof(struct port_shared));
    uint64_t off_addrs = off;
    off = align64(off + (uint64_t)cap * sizeof(struct reg_entry));
    uint64_t off_groups = off;
    off = align64(off + (uint64_t)(cfg.max_groups ? cfg.max_groups : 1) * sizeof(struct reg_entry));
    uint64_t off_cells = off;
    off = align64(off + (uint64_t)cfg.max_ports * cfg.queue_len * sizeof(struct qcell));
    uint64_t off_slots = off;
    off = align64(off + (uint64_t)cfg.buffers * sizeof(struct slot_hdr));
    uint64_t off_data = off;
    off = align64(off + (uint64_t)cfg.buffers * cfg.buffer_size);

    struct glan_lan *lan = calloc(1, sizeof *lan + cfg.max_ports * sizeof(struct glan_port));
    void *mem = NULL;
    if (lan && posix_memalign(&mem, 64, off) != 0)
        mem = NULL;
    if (!lan || !mem) {
        free(lan);
        if (err && errlen)
            snprintf(err, errlen, "cannot allocate %llu bytes of base storage",
                     (unsigned long long)off);
        return NULL;
    }
    memset(mem, 0, off);
    struct region *r = mem;
    r->magic = REGION_MAGIC;
    r->version = REGION_VERSION;
    r->size = (uint32_t)(off > UINT32_MAX ? UINT32_MAX : off);
    snprintf(r->name, sizeof r->name, "%s", cfg.name);
    r->max_ports = cfg.max_ports;
    r->max_addrs = cfg.max_addrs;
    r->max_groups = cfg.max_groups;
    r->buffers = cfg.buffers;
    r->buffer_size = cfg.buffer_size;
    r->queue_len = cfg.queue_len;
    r->addr_cap = cap;
    r->off_ports = off_ports;
    r->off_addrs = off_addrs;
    r->off_groups = off_groups;
    r->off_cells = off_cells;
    r->off_slots = off_slots;
    r->off_data = off_data;
    atomic_init(&r->uplink, -1);

    lan->r = r;
    lan->ports = (struct port_shared *)((uint8_t *)mem + off_ports);
    lan->addrs = (struct reg_entry *)((uint8_t *)mem + off_addrs);
    lan->groups = (struct reg_entry *)((uint8_t *)mem + off_groups);
    lan->cells = (struct qcell *)((uint8_t *)mem + off_cells);
    lan->slots = (struct slot_hdr *)((uint8_t *)mem + off_slots);
    lan->data = (uint8_t *)mem + off_data;
    pthread_mutex_init(&lan->ctl, NULL);

    for (uint32_t p = 0; p < cfg.max_ports; p++) {
        lan->ports[p].held = NONE;
        atomic_init(&lan->ports[p].drain, 1); /* free ports have no drain turn */
        lan->local[p].lan = lan;
        lan->local[p].idx = (int)p;
    }
    /* Free list in index order, so buffers are handed out low first. */
    for (uint32_t i = 0; i < cfg.buffers; i++)
        atomic_init(&lan->slots[i].next, i + 1 < cfg.buffers ? i + 1 : NONE);
    atomic_init(&r->pool_head, 0);
    return lan;
}

void glan_lan_destroy(struct glan_lan *lan)
{
    if (!lan)
        return;
    pthread_mutex_destroy(&lan->ctl);
    free(lan->r);
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
        atomic_store_explicit(&cells[i].seq, i, memory_order_relaxed);
    atomic_store(&ps->enq_pos, 0);
    atomic_store(&ps->deq_pos, 0);
    atomic_store(&ps->queued, 0);
    ps->held = NONE;
}

int glan_port_attach(struct glan_lan *lan, const struct glan_port_info *info,
                     const struct glan_port_ops *ops, void *ctx, struct glan_port **out)
{
    if (!info || !info->name || !info->name[0] || strlen(info->name) > 31 || !ops ||
        !ops->deliver || (info->kind != GLAN_PORT_GUEST && info->kind != GLAN_PORT_UPLINK))
        return -EINVAL;
    int rc = -ENOSPC;
    pthread_mutex_lock(&lan->ctl);
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
        reset_queue(lan, (int)p);
        atomic_store(&ps->entering, 0);
        lan->local[p].ops = ops;
        lan->local[p].ctx = ctx;
        atomic_store(&ps->drain, 0);
        atomic_store(&ps->state, PORT_ACTIVE);
        if (info->kind == GLAN_PORT_UPLINK)
            atomic_store(&lan->r->uplink, (int32_t)p);
        atomic_fetch_add(&lan->r->nports, 1);
        *out = &lan->local[p];
        rc = 0;
        break;
    }
out:
    pthread_mutex_unlock(&lan->ctl);
    return rc;
}

void glan_port_detach(struct glan_port *port)
{
    struct glan_lan *lan = port->lan;
    struct port_shared *ps = &lan->ports[port->idx];
    int p = port->idx;

    pthread_mutex_lock(&lan->ctl);
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
    pthread_mutex_unlock(&lan->ctl);

    /* Senders that pinned the port before they saw CLOSING finish first; then
     * take the drain turn for good, so the port's callbacks are never called
     * again, and drop what still waits. */
    while (atomic_load(&ps->entering))
        sched_yield();
    while (atomic_exchange(&ps->drain, 1))
        sched_yield();
    for (;;) {
        uint32_t slot = ps->held != NONE ? ps->held : queue_pop(lan, p);
        if (slot == NONE)
            break;
        ps->held = NONE;
        atomic_fetch_sub_explicit(&ps->queued, 1, memory_order_relaxed);
        count_drop(lan, slot, p, GLAN_DROP_PORT_GONE);
        slot_unref(lan, slot);
    }
    pthread_mutex_lock(&lan->ctl);
    lan->local[p].ops = NULL;
    lan->local[p].ctx = NULL;
    atomic_store(&ps->state, PORT_FREE);
    atomic_fetch_sub(&lan->r->nports, 1);
    pthread_mutex_unlock(&lan->ctl);
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

static void read_port(const struct port_shared *ps, struct glan_port_stats *o)
{
    memset(o, 0, sizeof *o);
    o->sent_packets = ld(&ps->c.sent_packets);
    o->sent_bytes = ld(&ps->c.sent_bytes);
    o->fanout = ld(&ps->c.fanout);
    o->delivered = ld(&ps->c.delivered);
    for (int i = 0; i < GLAN_DROP_COUNT; i++)
        o->dropped[i] = ld(&ps->c.dropped[i]);
    o->recv_packets = ld(&ps->c.recv_packets);
    o->recv_bytes = ld(&ps->c.recv_bytes);
    o->recv_dropped = ld(&ps->c.recv_dropped);
    o->queued = ld(&ps->queued);
}

int glan_port_stats(const struct glan_port *port, struct glan_port_stats *out)
{
    read_port(&port->lan->ports[port->idx], out);
    return 0;
}

void glan_lan_stats(struct glan_lan *lan, struct glan_lan_stats *o)
{
    const struct region *r = lan->r;
    memset(o, 0, sizeof *o);
    o->sent_packets = ld(&r->c.sent_packets);
    o->sent_bytes = ld(&r->c.sent_bytes);
    o->fanout = ld(&r->c.fanout);
    o->delivered = ld(&r->c.delivered);
    for (int i = 0; i < GLAN_DROP_COUNT; i++)
        o->dropped[i] = ld(&r->c.dropped[i]);
    for (uint32_t p = 0; p < r->max_ports; p++)
        if (atomic_load(&lan->ports[p].state) != PORT_FREE)
            o->queued += ld(&lan->ports[p].queued);
    o->buffers_in_use = atomic_load_explicit(&lan->r->in_use, memory_order_relaxed);
    o->ports = atomic_load(&lan->r->nports);
    pthread_mutex_lock(&lan->ctl);
    o->addrs = r->n_addrs;
    o->groups = r->n_groups;
    pthread_mutex_unlock(&lan->ctl);
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
        read_port(ps, &v.stats);
        fn(&v, arg);
    }
}

size_t glan_lan_port_addrs(struct glan_lan *lan, int idx, int groups, struct glan_addr *out,
                           size_t n)
{
    size_t k = 0;
    pthread_mutex_lock(&lan->ctl);
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
    pthread_mutex_unlock(&lan->ctl);
    return k;
}
