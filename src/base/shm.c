/*
 * The region in memory, and sharing it between processes: the layout every
 * table of the region gets from the configuration, a region put in a POSIX
 * shared-memory segment (glan_lan_create_shared / glan_lan_attach_shared)
 * and checked by whoever attaches, the table of attached processes, and
 * what the survivors do when one of them dies: the ctl mutex is robust, and
 * its next locker, or the base thread's periodic look, recovers the dead
 * process's ports (as detach would, with queue.c's sweep) and reclaims its
 * buffers.  Each attached process runs one base thread that delivers what
 * other processes queued for its ports.  A private LAN (lan.c) uses the
 * layout and the process table too, with one process.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* syscall(), FUTEX_* */
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base_int.h"
#include "count.h"
#include "guestlan/failpoint.h"

/* ---- layout -------------------------------------------------------------------- */

/* Every table starts on a pair of cache lines (see struct port_shared). */
static uint64_t align128(uint64_t v)
{
    return (v + 127) & ~(uint64_t)127;
}

void layout_of(const struct glan_lan_config *cfg, struct layout *l)
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
    /* Slot numbers run through the classes in order; each class's buffers
     * are 64-byte aligned, one after the other. */
    uint32_t buffers = 0;
    uint64_t data = 0;
    for (int k = 0; k < NCLASS; k++) {
        uint32_t n = cfg_class_n(cfg, k);
        l->first[k] = buffers;
        l->stride[k] = (cfg_class_size(cfg, k) + 63) & ~63u;
        l->data[k] = data;
        buffers += n;
        data += (uint64_t)n * l->stride[k];
    }
    off = align128(off + (uint64_t)buffers * sizeof(struct slot_hdr));
    l->off_stack = off;
    off = align128(off + (uint64_t)buffers * sizeof(uint32_t));
    l->reach_words = (cfg->max_ports + 63) / 64;
    l->off_reach = off;
    off = align128(off + (uint64_t)buffers * l->reach_words * sizeof(uint64_t));
    l->off_data = off;
    l->total = align128(off + data);
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

struct glan_lan *lan_new(uint32_t max_ports)
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

void lan_bind(struct glan_lan *lan, void *mem)
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
    lan->stack = (uint32_t *)(b + r->off_stack);
    lan->reach = (uint64_t *)(b + r->off_reach);
    lan->data = b + r->off_data;
    struct glan_lan_config cfg;
    struct layout l;
    region_config(r, &cfg);
    layout_of(&cfg, &l);
    for (int k = 0; k < NCLASS; k++) {
        lan->cls[k].first = l.first[k];
        lan->cls[k].n = r->cls_n[k];
        lan->cls[k].size = r->cls_size[k];
        lan->cls[k].stride = l.stride[k];
        lan->cls[k].data = lan->data + l.data[k];
    }
}

int region_init(void *mem, const struct glan_lan_config *cfg, const struct layout *l, int shared)
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
    r->buffers = 0;
    for (int k = 0; k < NCLASS; k++) {
        r->cls_n[k] = cfg_class_n(cfg, k);
        r->cls_size[k] = cfg_class_size(cfg, k);
        r->buffers += r->cls_n[k];
        /* A journal's cache: a sixty-fourth of the class, at most JR_CACHE,
         * so that the buffers caches keep stay few against the class. */
        r->cache_max[k] = r->cls_n[k] / 64 < JR_CACHE ? r->cls_n[k] / 64 : JR_CACHE;
    }
    r->queue_len = cfg->queue_len;
    r->stuck_ms = cfg->stuck_ms;
    r->transport = cfg->transport;
    r->type = cfg->type;
    r->mfs = cfg->mfs;
    if (cfg->mac_prefix_len) {
        memset(r->mac_prefix, 0, sizeof r->mac_prefix);
        memcpy(r->mac_prefix, cfg->mac_prefix, cfg->mac_prefix_len);
    } else {
        glan_mac_prefix_of_name(r->name, r->mac_prefix);
    }
    r->addr_cap = l->cap;
    r->shared = (uint32_t)shared;
    r->off_ports = l->off_ports;
    r->off_addrs = l->off_addrs;
    r->off_groups = l->off_groups;
    r->off_cells = l->off_cells;
    r->off_pins = l->off_pins;
    r->off_slots = l->off_slots;
    r->off_stack = l->off_stack;
    r->off_reach = l->off_reach;
    r->off_data = l->off_data;
    r->reach_words = l->reach_words;

    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    if (shared) {
        /* Robust: a process killed while holding ctl must not leave it held
         * for ever; the next locker gets EOWNERDEAD and repairs. */
        pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
        pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    }
    int rc = pthread_mutex_init(&r->ctl, &a);
    if (!rc && (rc = pthread_mutex_init(&r->pool, &a)) != 0)
        pthread_mutex_destroy(&r->ctl);
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
    /* Every buffer starts on its class's free stack, the lowest on top, so
     * buffers are handed out low first. */
    for (int k = 0; k < NCLASS; k++) {
        const struct cls *c = &tmp.cls[k];
        for (uint32_t i = 0; i < c->n; i++) {
            atomic_init(&tmp.slots[c->first + i].owner, OWNER_FREE);
            tmp.stack[c->first + i] = c->first + c->n - 1 - i;
        }
        r->pool_top[k] = c->n;
    }
    for (uint32_t i = 0; i < MAX_JOURNALS; i++) {
        tmp.r->jr[i].hand = HAND_NONE;
        tmp.r->jr[i].unref = HAND_NONE;
    }
    return 0;
}

void region_config(const struct region *r, struct glan_lan_config *out)
{
    out->name = r->name;
    out->max_ports = r->max_ports;
    out->max_addrs = r->max_addrs;
    out->max_groups = r->max_groups;
    out->buffers = r->cls_n[0];
    out->buffer_size = r->cls_size[0];
    out->mid_buffers = r->cls_n[1];
    out->mid_size = r->cls_size[1];
    out->big_buffers = r->cls_n[2];
    out->big_size = r->cls_size[2];
    out->queue_len = r->queue_len;
    out->stuck_ms = r->stuck_ms;
    out->transport = r->transport;
    out->type = r->type;
    out->mfs = r->mfs;
    memcpy(out->mac_prefix, r->mac_prefix, 4);
    out->mac_prefix_len = 4;
}

/* ---- processes ----------------------------------------------------------------- */

/* Start time (field 22 of /proc/PID/stat) and state letter of pid; 0 when
 * it cannot be read (no such process, or no /proc). */
static uint64_t proc_stat(pid_t pid, char *state, long *threads)
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
    for (int field = 4; field <= 22; field++) {
        if (!(tok = strtok_r(NULL, " ", &save)))
            return 0;
        if (field == 20)
            *threads = strtol(tok, NULL, 10);
    }
    return strtoull(tok, NULL, 10);
}

/* Is the process of this entry still running?  The start time tells a pid
 * reused by another process; a zombie (killed, not yet reaped) is dead. */
static int proc_alive(const struct proc_entry *pe)
{
    pid_t pid = (pid_t)atomic_load_explicit(&pe->pid, memory_order_relaxed);
    uint64_t start = atomic_load_explicit(&pe->start_time, memory_order_relaxed);
    if (pid <= 0)
        return 0; /* a segment that says so; recovery treats it as dead */
    if (start) {
        /* A process killed with several threads shows its first thread a
         * zombie while the others may still run for a moment: it is dead
         * only once they are gone too (one thread left: the zombie). */
        char st = 0;
        long threads = 0;
        uint64_t t = proc_stat(pid, &st, &threads);
        return t == start && ((st != 'Z' && st != 'X') || threads > 1);
    }
    return kill(pid, 0) == 0 || errno == EPERM;
}

static void recover_proc(struct glan_lan *lan, int q);

/* Make entry q ours under token: pid and start time, no wake-up pending, no
 * pins, then the token and, last, the state (until then the entry counts
 * as it was).  Under ctl. */
static void proc_take(struct glan_lan *lan, int q, uint32_t token)
{
    struct region *r = lan->r;
    struct proc_entry *pe = &r->procs[q];
    char st;
    long nthr;
    atomic_store(&pe->pid, (int32_t)getpid());
    atomic_store(&pe->start_time, r->shared ? proc_stat(getpid(), &st, &nthr) : 0);
    atomic_store(&pe->wake, 0);
    for (uint32_t p = 0; p < r->max_ports; p++)
        atomic_store(pin_of(lan, q, (int)p), 0);
    atomic_store(&pe->token, token);
    atomic_store(&pe->state, PROC_ALIVE);
    lan->me = q;
    lan->token = token;
}

/*
 * A joining process that finds no free entry: it recovers one dead process
 * itself, under a token for that process's entry, and then takes the entry
 * as its own.  (Without a token it has no journal, and recovery needs one.)
 * Until the entry is its own, the entry names the dead process being
 * recovered: if the joiner dies meanwhile, the next recoverer goes on, and
 * reclaim gives back the joiner's journal, whose token no entry holds.
 * Under ctl.  1 when the process has joined.
 */
static int adopt_dead(struct glan_lan *lan)
{
    struct region *r = lan->r;
    if (!r->shared)
        return 0;
    for (int q = 0; q < MAX_PROCS; q++) {
        struct proc_entry *pe = &r->procs[q];
        uint32_t st = atomic_load(&pe->state);
        if (st != PROC_DEAD && (st != PROC_ALIVE || proc_alive(pe)))
            continue;
        atomic_store(&pe->state, PROC_DEAD);
        uint32_t epoch = atomic_fetch_add(&r->epoch, 1) + 1;
        lan->token = (epoch & 0xffffffu) << 8 | (uint32_t)(q + 1);
        lan->me = q;
        struct journal *me = jr_mine(lan);
        atomic_store(&r->ctl_holder, (uint32_t)(me - r->jr) + 1);
        lan->recovering = 1;
        recover_proc(lan, q); /* frees the entry last */
        lan->recovering = 0;
        proc_take(lan, q, lan->token);
        return 1;
    }
    return 0;
}

int proc_join(struct glan_lan *lan, char *err, size_t errlen)
{
    struct region *r = lan->r;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < MAX_PROCS; i++) {
            struct proc_entry *pe = &r->procs[i];
            if (atomic_load(&pe->state) != PROC_FREE)
                continue;
            uint32_t epoch = atomic_fetch_add(&r->epoch, 1) + 1;
            uint32_t token = (epoch & 0xffffffu) << 8 | (uint32_t)(i + 1);
            proc_take(lan, i, token);
            return 0;
        }
        if (pass == 0 && lan->token)
            reap_locked(lan);
        else if (pass == 0 && adopt_dead(lan))
            return 0;
    }
    if (err && errlen)
        snprintf(err, errlen, "LAN %s already has %d processes attached", r->name, MAX_PROCS);
    return -EBUSY;
}

/* Give a process table entry back: one record, so a kill leaves it taken
 * (and found again) or free.  Under ctl. */
static void proc_free(struct glan_lan *lan, struct proc_entry *pe)
{
    struct rec rc;
    rec_init(&rc, lan->r, jr_mine(lan));
    rec_put32(&rc, &pe->state, PROC_FREE);
    rec_put32(&rc, &pe->token, 0);
    rec_put32(&rc, &pe->pid, 0);
    rec_commit(&rc, FP_PROC_FREE);
}

/* ---- recovery --------------------------------------------------------------------- */

/*
 * Every step below is idempotent, and each is a record or a single store, so
 * a recoverer killed at any instruction leaves work that the next one
 * (under ctl: EOWNERDEAD, or the next periodic look) finds and finishes:
 * the dead process's entry stays "dead" until its last step.
 */

/* One journal of a dead process: finish its record, put back a buffer it
 * had won the right to put back, hand its cache to the stack.  What it was
 * forwarding (hand) waits for reclaim, which counts the copies that never
 * reached a queue once none can. */
static void recover_journal(struct glan_lan *lan, struct journal *dj)
{
    struct region *r = lan->r;
    struct journal *me = jr_mine(lan);
    uint32_t djidx = (uint32_t)(dj - r->jr);
    pool_lock(lan, me);
    jr_redo(lan, dj);
    fail_point(FP_RECOVER_REDO);
    uint64_t u = dj->unref;
    if (u != HAND_NONE) {
        uint32_t slot = (uint32_t)u;
        uint64_t gen = u >> 32;
        struct rec rc;
        rec_init(&rc, r, me);
        if (slot < r->buffers) {
            uint64_t w = atomic_load(&lan->slots[slot].owner);
            if (w == (gen << 32 | OWNER_FREEING(djidx))) {
                /* It won the buffer back and died before its cache took it. */
                pool_push_locked(lan, &rc, slot);
                rec_put64(&rc, &lan->slots[slot].owner, gen << 32 | OWNER_FREE);
            } else if (w >> 32 == gen && (uint32_t)w != OWNER_FREE &&
                       !owner_is_freeing((uint32_t)w)) {
                /* Whether its reference went back is not known. */
                slot_suspect(lan, slot, gen);
            }
        } else {
            region_error(lan);
        }
        rec_put64(&rc, &dj->unref, HAND_NONE);
        rec_commit(&rc, FP_APPLIED);
    }
    pool_unlock(lan);
    fail_point(FP_RECOVER_JOURNAL);
    pool_spill_all(lan, dj);
    uint64_t h = dj->hand;
    if (h != HAND_NONE && (uint32_t)h < r->buffers)
        slot_suspect(lan, (uint32_t)h, h >> 32);
}

/* Process q died: finish its journals, remove its ports as detach would,
 * and leave the buffers it held to reclaim.  Under ctl. */
static void recover_proc(struct glan_lan *lan, int q)
{
    struct region *r = lan->r;
    struct proc_entry *pe = &r->procs[q];
    uint32_t dead = atomic_load(&pe->token);
    for (uint32_t p = 0; p < r->max_ports; p++)
        atomic_store(pin_of(lan, q, (int)p), 0);
    if (dead) {
        for (uint32_t i = 0; i < MAX_JOURNALS; i++)
            if (atomic_load(&r->jr[i].owner) == dead)
                recover_journal(lan, &r->jr[i]);
        for (uint32_t p = 0; p < r->max_ports; p++)
            if (atomic_load(&lan->ports[p].state) != PORT_FREE &&
                atomic_load(&lan->ports[p].owner) == dead)
                port_close_locked(lan, (int)p);
        for (uint32_t p = 0; p < r->max_ports; p++) {
            struct port_shared *ps = &lan->ports[p];
            if (atomic_load(&ps->state) != PORT_CLOSING || atomic_load(&ps->owner) != dead)
                continue;
            wait_pins(lan, (int)p, 1);
            take_turn(lan, ps);
            fail_point(FP_RECOVER_PORT);
            sweep_port(lan, (int)p);
            fail_point(FP_RECOVER_SWEPT);
            port_free_locked(lan, (int)p);
        }
        /* Buffers it held and had not handed to the queues: reclaim frees
         * them once nothing can reach them. */
        for (uint32_t i = 0; i < r->buffers; i++) {
            uint64_t w = atomic_load(&lan->slots[i].owner);
            if ((uint32_t)w == dead)
                slot_suspect(lan, i, w >> 32);
        }
        /* Its journals with nothing in hand are free again; the others wait
         * for reclaim. */
        for (uint32_t i = 0; i < MAX_JOURNALS; i++) {
            struct journal *dj = &r->jr[i];
            if (atomic_load(&dj->owner) == dead && dj->hand == HAND_NONE)
                atomic_store(&dj->owner, 0);
        }
    }
    proc_free(lan, pe);
}

int reap_locked(struct glan_lan *lan)
{
    struct region *r = lan->r;
    int n = 0;
    if (!r->shared)
        return 0;
    /* First mark every process that died, so that recovering one never
     * waits for another's pins or drain turn. */
    for (int q = 0; q < MAX_PROCS; q++) {
        struct proc_entry *pe = &r->procs[q];
        if (q != lan->me && atomic_load(&pe->state) == PROC_ALIVE && !proc_alive(pe)) {
            atomic_store(&pe->state, PROC_DEAD);
            /* Its pins will never be dropped. */
            for (uint32_t p = 0; p < r->max_ports; p++)
                atomic_store(pin_of(lan, q, (int)p), 0);
        }
    }
    /* Recovery waits for pins, and the waiting looks for the dead (above):
     * it does not recover them from inside another recovery. */
    if (lan->recovering)
        return 0;
    /* Then recover every dead one, including those whose recoverer died
     * before it finished. */
    lan->recovering = 1;
    for (int q = 0; q < MAX_PROCS; q++)
        if (q != lan->me && atomic_load(&r->procs[q].state) == PROC_DEAD) {
            recover_proc(lan, q);
            n++;
        }
    lan->recovering = 0;
    return n;
}

/*
 * Reclaim, under ctl, of what recovered processes left.  First the journals
 * of their threads that were forwarding: once no queue holds a copy of the datagram any more, the
 * copies that never reached one are counted port_gone (fwd_n, less those
 * whose reach bit is set, less those the sender dropped itself).  Then the
 * suspect buffers: one that is free already, or taken again, is no longer
 * suspect; one that no process holds (or only one already recovered) and no
 * queue cell or drainer can reach is put back.  A copy enters a cell only from a live sender's
 * hand and moves from a cell to a drainer's cur and never back, and the
 * cells are read before the cur words, so a buffer not seen there, whose
 * owner word did not change meanwhile, is unreachable.
 */
/* The process of token t has been recovered: its entry is free, or
 * another process's.  (A live process, or a dead one whose recovery has not
 * finished, may still have records to redo and buffers to count.) */
static int token_gone(struct glan_lan *lan, uint32_t t)
{
    int q = TOKEN_PROC(t);
    if (q < 0 || q >= MAX_PROCS)
        return 1;
    const struct proc_entry *pe = &lan->r->procs[q];
    return atomic_load(&pe->state) == PROC_FREE || atomic_load(&pe->token) != t;
}

/* A journal held by a token whose process is gone? */
static int journals_orphaned(struct glan_lan *lan)
{
    for (uint32_t k = 0; k < MAX_JOURNALS; k++) {
        uint32_t o = atomic_load_explicit(&lan->r->jr[k].owner, memory_order_relaxed);
        if (o && token_gone(lan, o))
            return 1;
    }
    return 0;
}

static void reclaim_locked(struct glan_lan *lan)
{
    struct region *r = lan->r;
    if (!atomic_load(&r->suspects) && !journals_orphaned(lan))
        return;
    uint8_t *seen = calloc((r->buffers + 7) / 8, 1);
    uint64_t *was = calloc(r->buffers, sizeof *was);
    if (!seen || !was) {
        free(seen);
        free(was);
        return;
    }
    for (uint32_t i = 0; i < r->buffers; i++)
        was[i] = atomic_load(&lan->slots[i].owner);
    queue_mark_held(lan, seen);
    struct journal *me = jr_mine(lan);
    uint32_t left = 0;

    for (uint32_t k = 0; k < MAX_JOURNALS; k++) {
        struct journal *dj = &r->jr[k];
        uint32_t o = atomic_load(&dj->owner);
        if (!o || !token_gone(lan, o))
            continue;
        /* A journal whose process is recovered, or which no entry ever
         * held (a joiner that died while it recovered another process):
         * finish it (again: each step is idempotent), give it back when
         * nothing is in hand. */
        recover_journal(lan, dj);
        if (dj->hand == HAND_NONE) {
            atomic_store(&dj->owner, 0);
            continue;
        }
        uint32_t slot = (uint32_t)dj->hand;
        uint64_t gen = dj->hand >> 32;
        uint64_t lost = 0;
        if (slot < r->buffers && was[slot] >> 32 == gen && (uint32_t)was[slot] != OWNER_FREE &&
            !owner_is_freeing((uint32_t)was[slot])) {
            if (seen[slot / 8] & (1u << (slot % 8))) {
                left++;
                continue; /* copies still queued: next pass */
            }
            uint64_t reached = 0, *reach = reach_of(lan, slot);
            for (uint32_t w = 0; w < r->reach_words; w++)
                reached +=
                    (uint64_t)__builtin_popcountll(__atomic_load_n(&reach[w], __ATOMIC_RELAXED));
            uint64_t n = dj->fwd_n, done = reached + dj->fwd_dropped;
            if (done > n)
                region_error(lan);
            else
                lost = n - done;
        }
        /* A buffer freed or taken again had every copy counted already. */
        struct rec rc;
        rec_init(&rc, r, me);
        rec_add(&rc, &me->l.dropped[GLAN_DROP_PORT_GONE], lost);
        rec_put64(&rc, &dj->hand, HAND_NONE);
        rec_commit(&rc, FP_RECLAIM_COUNT);
        atomic_store(&dj->owner, 0);
    }

    for (uint32_t i = 0; i < r->buffers; i++) {
        struct slot_hdr *s = &lan->slots[i];
        uint32_t sus = atomic_load(&s->suspect);
        /* Judged on the owner word as it is now: a mark is stale once the
         * buffer is free or taken again (another generation). */
        uint64_t now = atomic_load(&s->owner), w = was[i];
        uint32_t o = (uint32_t)now;
        if (sus && ((uint32_t)(now >> 32) + 1 != sus || o == OWNER_FREE || owner_is_freeing(o))) {
            if (atomic_compare_exchange_strong(&s->suspect, &sus, 0))
                atomic_fetch_sub(&r->suspects, 1);
            sus = 0;
        }
        if (o == OWNER_FREE || owner_is_freeing(o))
            continue;
        /* Not free: garbage if no attached process holds it (its owner is
         * the queues, or a process already recovered) and no queue cell or
         * drainer can reach it, the word unchanged since before the scan.
         * Every buffer, marked or not: whatever window a death left open,
         * a buffer nothing can reach is never kept. */
        if (now != w || (o != OWNER_QUEUES && !token_gone(lan, o)) ||
            (seen[i / 8] & (1u << (i % 8)))) {
            if (sus)
                left++; /* held, reachable or changing: the next pass */
            continue;
        }
        if (!slot_release(lan, me, i, w)) {
            left++;
            continue;
        }
        fail_point(FP_RECLAIM_FREE);
        if (sus && atomic_compare_exchange_strong(&s->suspect, &sus, 0))
            atomic_fetch_sub(&r->suspects, 1);
    }
    (void)left;
    free(seen);
    free(was);
}

void ctl_lock(struct glan_lan *lan)
{
    struct region *r = lan->r;
    /* A process that is still joining has no token, hence no journal: it
     * writes no record under ctl, and leaves recovery to the others. */
    struct journal *me = lan->token ? jr_mine(lan) : NULL;
    if (pthread_mutex_lock(&r->ctl) == EOWNERDEAD) {
        /* Its holder died inside: finish the record it committed, make
         * what ctl guards whole again, mark the mutex usable, then clean up
         * after the dead. */
        uint32_t h = atomic_load(&r->ctl_holder);
        if (h >= 1 && h <= MAX_JOURNALS) {
            pool_lock(lan, me);
            jr_redo(lan, &r->jr[h - 1]);
            pool_unlock(lan);
        }
        reg_repair(lan);
        pthread_mutex_consistent(&r->ctl);
        if (me) {
            atomic_store(&r->ctl_holder, (uint32_t)(me - r->jr) + 1);
            reap_locked(lan);
        }
    }
    atomic_store(&r->ctl_holder, me ? (uint32_t)(me - r->jr) + 1 : 0);
    reg_check(lan);
    fail_point(FP_CTL_LOCKED);
}

void ctl_unlock(struct glan_lan *lan)
{
    atomic_store(&lan->r->ctl_holder, 0);
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
    /* What recovery and reclaim put back went to our cache: onto the stack
     * with it, where every thread can take it. */
    pool_spill_all(lan, jr_mine(lan));
    return n;
}

/* ---- the base thread ------------------------------------------------------------ */

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static _Atomic int no_autoreap;

void glan_failpoint_no_autoreap(int on)
{
    atomic_store(&no_autoreap, on);
}

/* Anyone in the process table who died?  Without ctl: a cheap look first. */
static int anyone_dead(struct glan_lan *lan)
{
    for (int q = 0; q < MAX_PROCS; q++) {
        struct proc_entry *pe = &lan->r->procs[q];
        uint32_t st = atomic_load(&pe->state);
        if (q != lan->me && (st == PROC_DEAD || (st == PROC_ALIVE && !proc_alive(pe))))
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
        /* S4: see wake_proc (queue.c): clearing the word, then looking at
         * the queues */
        atomic_thread_fence(memory_order_seq_cst);
        /* A private LAN's base thread only bounds the waits (queue.c). */
        for (uint32_t p = 0; lan->r->shared && p < lan->r->max_ports; p++) {
            struct port_shared *ps = &lan->ports[p];
            if (atomic_load_explicit(&ps->owner, memory_order_relaxed) == lan->token &&
                atomic_load(&ps->state) == PORT_ACTIVE && !queue_empty(lan, (int)p))
                drain(lan, (int)p);
        }
        waits_tick(lan);
        uint64_t now = mono_ms();
        if (lan->r->shared && now - last >= 100) {
            last = now;
            if (!atomic_load_explicit(&no_autoreap, memory_order_relaxed) &&
                (anyone_dead(lan) || atomic_load(&lan->r->suspects) || journals_orphaned(lan)))
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

int base_start(struct glan_lan *lan, char *err, size_t errlen)
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

void base_stop(struct glan_lan *lan)
{
    if (!lan->has_base)
        return;
    atomic_store(&lan->stop, 1);
    _Atomic uint32_t *w = &lan->r->procs[lan->me].wake;
    if (atomic_exchange(w, 1) == 2)
        syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0);
    pthread_join(lan->base, NULL);
    lan->has_base = 0;
}

/* ---- shared segments ------------------------------------------------------------ */

static int shm_name_ok(const char *n, char *err, size_t errlen)
{
    if (n && n[0] == '/' && n[1] && strlen(n) <= 63 && !strchr(n + 1, '/'))
        return 1;
    if (err && errlen)
        snprintf(err, errlen, "shared-memory name must be /NAME, at most 63 characters");
    return 0;
}

struct glan_lan *glan_lan_create_shared(const struct glan_lan_config *in, const char *shm_name,
                                        char *err, size_t errlen)
{
    struct glan_lan_config cfg;
    struct layout l;
    if (config_prepare(in, &cfg, &l, err, errlen) < 0 || !shm_name_ok(shm_name, err, errlen))
        return NULL;
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
    lan_list(lan);
    proc_join(lan, NULL, 0); /* nobody else sees the region yet */
    /* R7: release, pairs with A7 in region_check: an attacher that sees the
     * magic sees the whole layout */
    __atomic_store_n(&lan->r->magic, REGION_MAGIC, __ATOMIC_RELEASE);
    if (base_start(lan, err, errlen) < 0)
        goto fail;
    return lan;
fail:
    if (lan && lan->serial)
        lan_unlist(lan);
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
        /* A7: acquire, pairs with R7, the creator's store of the magic */
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
    region_config(r, cfg);
    if (memchr(r->name, 0, sizeof r->name) == NULL || config_check(cfg, err, errlen) < 0) {
        snprintf(err, errlen, "incompatible layout: bad configuration in the segment");
        return -1;
    }
    struct layout l;
    layout_of(cfg, &l);
    if ((uint64_t)r->cls_n[0] + r->cls_n[1] + r->cls_n[2] != r->buffers || l.cap != r->addr_cap ||
        l.off_ports != r->off_ports || l.off_addrs != r->off_addrs ||
        l.off_groups != r->off_groups || l.off_cells != r->off_cells || l.off_pins != r->off_pins ||
        l.off_slots != r->off_slots || l.off_stack != r->off_stack || l.off_reach != r->off_reach ||
        l.reach_words != r->reach_words || r->cache_max[0] > JR_CACHE ||
        r->cache_max[1] > JR_CACHE || r->cache_max[2] > JR_CACHE || l.off_data != r->off_data ||
        l.total != r->total || l.total > size || !r->shared) {
        snprintf(err, errlen, "incompatible layout: offsets or size differ");
        return -1;
    }
    return 0;
}

/* Map the existing segment shm_name whole; its size in *size.  NULL with a
 * message in err. */
static void *segment_map(const char *shm_name, size_t *size, char *err, size_t errlen)
{
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
    *size = (size_t)st.st_size;
    return mem;
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
    size_t size;
    void *mem = segment_map(shm_name, &size, err, errlen);
    if (!mem)
        return NULL;
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
    lan_list(lan);
    ctl_lock(lan);
    int rc = proc_join(lan, why, sizeof why);
    ctl_unlock(lan);
    if (rc < 0) {
        snprintf(err, errlen, "%s: %s", shm_name, why);
        goto fail;
    }
    if (base_start(lan, err, errlen) < 0) {
        ctl_lock(lan);
        proc_free(lan, &lan->r->procs[lan->me]);
        ctl_unlock(lan);
        goto fail;
    }
    return lan;
fail:
    if (lan) {
        lan_unlist(lan);
        jr_forget_lan(lan);
    }
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

void shm_leave(struct glan_lan *lan)
{
    /* Our ports go as detach would take them. */
    for (uint32_t p = 0; p < lan->r->max_ports; p++)
        if (atomic_load(&lan->ports[p].state) == PORT_ACTIVE &&
            atomic_load(&lan->ports[p].owner) == lan->token)
            glan_port_detach(&lan->local[p]);
    base_stop(lan);
    /* Threads of ours that still name a journal of this LAN will not find
     * it listed any more; the journals go back now. */
    lan_unlist(lan);
    ctl_lock(lan);
    for (uint32_t p = 0; p < lan->r->max_ports; p++)
        atomic_store(pin_of(lan, lan->me, (int)p), 0);
    struct journal *me = jr_mine(lan);
    for (uint32_t i = 0; i < MAX_JOURNALS; i++) {
        struct journal *j = &lan->r->jr[i];
        if (j != me && atomic_load(&j->owner) == lan->token)
            jr_release(lan, j);
    }
    proc_free(lan, &lan->r->procs[lan->me]);
    ctl_unlock(lan);
    jr_release(lan, me);
    jr_forget_lan(lan);
    munmap(lan->r, lan->map_size);
}
