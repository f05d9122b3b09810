/*
 * The registry: which port holds each unicast address (an open-addressing
 * table with back-shift deletion, so no tombstones) and which ports joined
 * each multicast group (a packed list).  forward (forward.c) reads it on
 * every datagram without a lock: a sequence counter, odd while a writer is
 * at work, tells a reader to retry (a seqlock).  Writers (register,
 * unregister, join, leave, and a port's closing) are serialised by the LAN's
 * ctl mutex (shm.c), which is never held while a datagram is copied.  When a
 * holder of ctl dies while writing, the next locker rebuilds the table
 * (reg_repair).
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "base_int.h"

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

static int entry_port(const struct reg_entry *e)
{
    return (int)(atomic_load_explicit(&e->meta, memory_order_relaxed) & META_PORT);
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

/* ---- the seqlock ---------------------------------------------------------------- */

static uint32_t seq_read_begin(struct glan_lan *lan)
{
    uint32_t s;
    unsigned spins = 0;
    /* A5: acquire, pairs with R5 in seq_write_end; the entries are whole */
    while ((s = atomic_load_explicit(&lan->r->reg_seq, memory_order_acquire)) & 1) {
        /* A writer that stays this long may have died holding ctl (only in
         * a shared LAN): taking ctl repairs the registry then.  Writers hold
         * ctl, so a count still odd under it was written into the region by
         * someone else: counted, and repaired the same way. */
        if (++spins % 256 == 0) {
            ctl_lock(lan);
            if (atomic_load(&lan->r->reg_seq) & 1) {
                region_error(lan);
                reg_repair(lan);
            }
            ctl_unlock(lan);
        }
        sched_yield();
    }
    return s;
}

static int seq_read_retry(struct glan_lan *lan, uint32_t s)
{
    /* A6: acquire fence, pairs with R6 in seq_write_begin: if the reads
     * before it saw a writer's change, the load below sees its count */
    atomic_thread_fence(memory_order_acquire);
    return atomic_load_explicit(&lan->r->reg_seq, memory_order_relaxed) != s;
}

static void seq_write_begin(struct glan_lan *lan)
{
    atomic_fetch_add_explicit(&lan->r->reg_seq, 1, memory_order_relaxed);
    /* R6: release fence, pairs with A6 in seq_read_retry: the odd count is
     * visible to a reader that sees any entry written after it */
    atomic_thread_fence(memory_order_release);
}

static void seq_write_end(struct glan_lan *lan)
{
    /* R5: release, pairs with A5 in seq_read_begin: the entries are whole */
    atomic_fetch_add_explicit(&lan->r->reg_seq, 1, memory_order_release);
}

/* ---- unicast addresses -------------------------------------------------------- */

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

int glan_lan_lookup(struct glan_lan *lan, const struct glan_addr *a)
{
    int port;
    uint32_t s;
    do {
        s = seq_read_begin(lan);
        uint32_t i = reg_find(lan, a);
        port = i == NONE ? -1 : entry_port(&lan->addrs[i]);
    } while (seq_read_retry(lan, s));
    if (port >= 0 && (uint32_t)port >= lan->r->max_ports) {
        region_error(lan); /* not a port of this LAN */
        port = -1;
    }
    return port;
}

/* The entry a new address a goes to: the first empty one of its probe run.
 * Under ctl; the caller checked that a is not there and there is room by
 * n_addrs.  NONE when the table is full all the same (n_addrs was written
 * by someone else; counted). */
static uint32_t reg_free_entry(struct glan_lan *lan, const struct glan_addr *a)
{
    uint32_t mask = lan->r->addr_cap - 1;
    uint32_t i = addr_hash(a) & mask;
    for (uint32_t k = 0; k <= mask; k++, i = (i + 1) & mask)
        if (!(atomic_load_explicit(&lan->addrs[i].meta, memory_order_relaxed) & META_USED))
            return i;
    region_error(lan);
    return NONE;
}

/* Remove entry i by shifting later entries of its probe run back (no
 * tombstones, so lookups stay short).  Under ctl and the seqlock. */
static void reg_remove_at(struct glan_lan *lan, uint32_t i)
{
    uint32_t mask = lan->r->addr_cap - 1, j = i;
    /* at most once round: a table with no empty entry was filled by
     * someone else */
    for (uint32_t k = 0; k < mask; k++) {
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
    if (lan->r->n_addrs)
        lan->r->n_addrs--;
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
    int u = uplink_of(lan);
    if (u < 0 || atomic_load(&lan->ports[u].owner) != lan->token)
        return;
    _Atomic uint32_t *pin = pin_of(lan, lan->me, u);
    atomic_fetch_add(pin, 1);
    const struct glan_port *lp = &lan->local[u];
    if (atomic_load(&lan->ports[u].state) == PORT_ACTIVE && lp->ops && lp->ops->addr_event)
        lp->ops->addr_event(lp->ctx, a, registered);
    atomic_fetch_sub(pin, 1);
}

/* An address of the transport the LAN does not carry. */
static int wrong_transport(struct glan_lan *lan, const struct glan_addr *a)
{
    return addr_transport(a) != glan_lan_transport(lan);
}

int glan_addr_register(struct glan_port *port, const struct glan_addr *a)
{
    struct glan_lan *lan = port->lan;
    if (!addr_is_unicast(a))
        return -EINVAL;
    if (wrong_transport(lan, a))
        return -EPROTOTYPE;
    int rc = 0, added = 0;
    ctl_lock(lan);
    uint32_t i = reg_find(lan, a);
    if (!port_active(port)) {
        rc = -ENODEV;
    } else if (i != NONE) {
        rc = entry_port(&lan->addrs[i]) == port->idx ? 0 : -EADDRINUSE;
    } else if (lan->r->n_addrs >= lan->r->max_addrs) {
        rc = -ENOSPC;
    } else if ((i = reg_free_entry(lan, a)) == NONE) {
        rc = -ENOSPC;
    } else {
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
    if (i != NONE && entry_port(&lan->addrs[i]) == port->idx) {
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

/* ---- multicast groups --------------------------------------------------------- */

static uint32_t group_find(struct glan_lan *lan, const struct glan_addr *g, int port)
{
    uint32_t w[4];
    addr_words(g, w);
    for (uint32_t i = 0; i < lan->r->n_groups; i++) {
        const struct reg_entry *e = &lan->groups[i];
        if (entry_matches(e, w, g->family) && entry_port(e) == port)
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
    if (!addr_is_multicast(g) && !addr_is_vlan(g))
        return -EINVAL;
    if (wrong_transport(lan, g))
        return -EPROTOTYPE;
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

unsigned reg_group_members(struct glan_lan *lan, const struct glan_addr *g, int except,
                           uint64_t map[MAX_PORTS_WORDS])
{
    unsigned n;
    uint32_t w[4], s;
    addr_words(g, w);
    do {
        memset(map, 0, MAX_PORTS_WORDS * sizeof map[0]);
        n = 0;
        s = seq_read_begin(lan);
        uint32_t ng = lan->r->n_groups;
        if (ng > lan->r->max_groups)
            ng = lan->r->max_groups;
        for (uint32_t i = 0; i < ng; i++) {
            const struct reg_entry *e = &lan->groups[i];
            if (!entry_matches(e, w, g->family))
                continue;
            uint32_t p = (uint32_t)entry_port(e);
            if ((int)p != except && p < lan->r->max_ports)
                n += map_add(map, p);
        }
    } while (seq_read_retry(lan, s));
    return n;
}

int reg_group_has(struct glan_lan *lan, const struct glan_addr *g, int p)
{
    int has;
    uint32_t w[4], s;
    addr_words(g, w);
    do {
        has = 0;
        s = seq_read_begin(lan);
        uint32_t ng = lan->r->n_groups;
        if (ng > lan->r->max_groups)
            ng = lan->r->max_groups;
        for (uint32_t i = 0; i < ng && !has; i++)
            has = entry_matches(&lan->groups[i], w, g->family) && entry_port(&lan->groups[i]) == p;
    } while (seq_read_retry(lan, s));
    return has;
}

/* ---- a port closing, a writer dying, queries ---------------------------------- */

void reg_forget_port(struct glan_lan *lan, int p)
{
    seq_write_begin(lan);
    for (uint32_t i = 0; i < lan->r->addr_cap;) {
        uint32_t m = atomic_load_explicit(&lan->addrs[i].meta, memory_order_relaxed);
        if ((m & META_USED) && (int)(m & META_PORT) == p)
            reg_remove_at(lan, i); /* an entry may have moved into i: look again */
        else
            i++;
    }
    for (uint32_t i = 0; i < lan->r->n_groups;) {
        if (entry_port(&lan->groups[i]) == p)
            group_remove_at(lan, i);
        else
            i++;
    }
    seq_write_end(lan);
}

/* Re-insert every used entry of the address table once. */
static void repair_addrs(struct glan_lan *lan)
{
    struct region *r = lan->r;
    uint32_t cap = r->addr_cap, n = 0;
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
        uint32_t i = reg_free_entry(lan, &tmp[k]);
        if (i == NONE)
            break;
        entry_set(&lan->addrs[i], &tmp[k], own[k]);
        r->n_addrs++;
    }
    free(tmp);
    free(own);
}

/* Keep the used entries of the group list, once each, packed at the front. */
static void repair_groups(struct glan_lan *lan)
{
    struct region *r = lan->r;
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
}

void reg_check(struct glan_lan *lan)
{
    struct region *r = lan->r;
    if (r->n_addrs <= r->max_addrs && r->n_groups <= r->max_groups)
        return;
    region_error(lan);
    seq_write_begin(lan);
    repair_addrs(lan);
    repair_groups(lan);
    seq_write_end(lan);
}

void reg_repair(struct glan_lan *lan)
{
    if (!(atomic_load(&lan->r->reg_seq) & 1))
        return;
    repair_addrs(lan);
    repair_groups(lan);
    atomic_fetch_add(&lan->r->reg_seq, 1); /* even again: readers go on */
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
        if (entry_port(&lan->groups[i]) == idx) {
            if (k < n)
                entry_read(&lan->groups[i], &out[k]);
            k++;
        }
    }
    ctl_unlock(lan);
    return k;
}
