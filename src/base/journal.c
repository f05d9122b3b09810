/*
 * Journals: each thread that forwards or delivers on a LAN holds one
 * (region.h, struct journal; journal.h says how a record makes several
 * stores one step).  Here: the kill points, which journal a thread holds
 * (taken on first use, given back when the thread ends or the process
 * leaves the LAN), redoing a dead thread's record, and the free stack of
 * base storage, which journals refill their caches from under the pool
 * mutex.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "base_int.h"
#include "journal.h"
#include "guestlan/failpoint.h"

/* ---- kill points ------------------------------------------------------------------- */

static const char *const fp_names[FP_COUNT] = {
#define FP_NAME(id, name) name,
    FAILPOINTS(FP_NAME)
#undef FP_NAME
};

_Atomic int fp_armed;
static _Atomic int fp_which = -1;
static _Atomic unsigned fp_skip;

void fp_hit(enum failpoint f)
{
    if (atomic_load(&fp_which) != (int)f)
        return;
    if (atomic_fetch_sub(&fp_skip, 1) == 0)
        raise(SIGKILL);
}

int glan_failpoint_count(void)
{
    return FP_COUNT;
}

const char *glan_failpoint_name(int i)
{
    return i >= 0 && i < FP_COUNT ? fp_names[i] : NULL;
}

int glan_failpoint_arm(const char *name, unsigned skip)
{
    for (int i = 0; i < FP_COUNT; i++)
        if (strcmp(fp_names[i], name) == 0) {
            atomic_store(&fp_skip, skip);
            atomic_store(&fp_which, i);
            atomic_store(&fp_armed, 1);
            return 0;
        }
    return -1;
}

void glan_failpoint_disarm(void)
{
    atomic_store(&fp_armed, 0);
    atomic_store(&fp_which, -1);
}

/* ---- the LANs of this process -------------------------------------------------------- */

/*
 * A thread remembers its journals by LAN serial number (never reused within
 * the process), and gives them back when it ends.  By then the LAN may be
 * gone: the live list, under live_mu, says which serials still have a LAN,
 * and a LAN leaves it (lan_unlist) before its memory goes.
 */
#define LIVE_MAX 256
static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    uint64_t serial;
    struct glan_lan *lan;
} live[LIVE_MAX];
static uint64_t serials;

void lan_list(struct glan_lan *lan)
{
    pthread_mutex_lock(&live_mu);
    lan->serial = ++serials;
    for (int i = 0; i < LIVE_MAX; i++)
        if (!live[i].serial) {
            live[i].serial = lan->serial;
            live[i].lan = lan;
            break;
        }
    pthread_mutex_unlock(&live_mu);
}

void lan_unlist(struct glan_lan *lan)
{
    pthread_mutex_lock(&live_mu);
    for (int i = 0; i < LIVE_MAX; i++)
        if (live[i].serial == lan->serial)
            live[i].serial = 0;
    pthread_mutex_unlock(&live_mu);
}

/* ---- which journal a thread holds ------------------------------------------------------ */

#define TLS_MAX 8
struct held {
    uint64_t serial;
    uint32_t idx;
};
static _Thread_local struct held held[TLS_MAX];
static _Thread_local int n_held;
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

static void release_held(struct held *h)
{
    pthread_mutex_lock(&live_mu);
    for (int i = 0; i < LIVE_MAX; i++)
        if (live[i].serial && live[i].serial == h->serial) {
            jr_release(live[i].lan, &live[i].lan->r->jr[h->idx]);
            break;
        }
    pthread_mutex_unlock(&live_mu);
    h->serial = 0;
}

static void thread_ends(void *unused)
{
    (void)unused;
    for (int i = 0; i < n_held; i++)
        release_held(&held[i]);
    n_held = 0;
}

static void make_key(void)
{
    pthread_key_create(&exit_key, thread_ends);
}

static struct journal *claim(struct glan_lan *lan)
{
    struct region *r = lan->r;
    for (unsigned tries = 0;; tries++) {
        for (uint32_t i = 0; i < MAX_JOURNALS; i++) {
            struct journal *j = &r->jr[i];
            uint32_t free_ = 0;
            if (atomic_load_explicit(&j->owner, memory_order_relaxed) == 0 &&
                atomic_compare_exchange_strong(&j->owner, &free_, lan->token)) {
                /* A journal is given back with nothing in hand, no record
                 * and an empty cache; its ledger stays. */
                j->hand = HAND_NONE;
                j->unref = HAND_NONE;
                j->fwd_n = j->fwd_dropped = 0;
                if (atomic_load(&j->n_redo) || j->cache_n[0] || j->cache_n[1] || j->cache_n[2]) {
                    atomic_store(&j->n_redo, 0);
                    for (int k = 0; k < NCLASS; k++)
                        j->cache_n[k] = 0;
                    region_error(lan);
                }
                return j;
            }
        }
        /* Every journal is held: threads of dead processes may hold some. */
        if (r->shared && tries % 64 == 0)
            glan_lan_reap(lan);
        usleep(1000);
    }
}

static struct journal *jr_claim_slow(struct glan_lan *lan)
{
    for (int i = 0; i < n_held; i++)
        if (held[i].serial == lan->serial) {
            struct held h = held[i];
            memmove(&held[1], &held[0], (size_t)i * sizeof held[0]);
            held[0] = h;
            return &lan->r->jr[h.idx];
        }
    pthread_once(&exit_once, make_key);
    pthread_setspecific(exit_key, (void *)1);
    if (n_held == TLS_MAX)
        release_held(&held[--n_held]);
    struct journal *j = claim(lan);
    memmove(&held[1], &held[0], (size_t)n_held * sizeof held[0]);
    held[0].serial = lan->serial;
    held[0].idx = (uint32_t)(j - lan->r->jr);
    n_held++;
    return j;
}

struct journal *jr_mine(struct glan_lan *lan)
{
    if (__builtin_expect(n_held > 0 && held[0].serial == lan->serial, 1))
        return &lan->r->jr[held[0].idx];
    return jr_claim_slow(lan);
}

void jr_forget_lan(struct glan_lan *lan)
{
    for (int i = 0; i < n_held; i++)
        if (held[i].serial == lan->serial) {
            memmove(&held[i], &held[i + 1], (size_t)(n_held - i - 1) * sizeof held[0]);
            n_held--;
            i--;
        }
}

void jr_release(struct glan_lan *lan, struct journal *j)
{
    pool_spill_all(lan, j);
    atomic_store(&j->owner, 0);
}

/* ---- redoing a dead thread's record ---------------------------------------------------- */

void jr_redo(struct glan_lan *lan, struct journal *j)
{
    uint32_t n = atomic_load(&j->n_redo);
    if (!n)
        return;
    uint64_t total = lan->r->total;
    if (n > REDO_MAX) {
        region_error(lan);
        n = 0;
    }
    for (uint32_t i = 0; i < n; i++) {
        struct redo_entry e = j->redo[i];
        /* The segment is not trusted: only whole, aligned words inside it. */
        if ((e.size != 4 && e.size != 8) || e.off % e.size || (uint64_t)e.off + e.size > total) {
            region_error(lan);
            continue;
        }
        word_store((uint8_t *)lan->r + e.off, e.size, e.val);
    }
    atomic_store(&j->n_redo, 0);
}

/* ---- the free stack ------------------------------------------------------------------ */

void pool_lock(struct glan_lan *lan, struct journal *j)
{
    struct region *r = lan->r;
    if (pthread_mutex_lock(&r->pool) == EOWNERDEAD) {
        /* Its holder died inside: finish the record it committed. */
        uint32_t h = atomic_load(&r->pool_holder);
        if (h >= 1 && h <= MAX_JOURNALS)
            jr_redo(lan, &r->jr[h - 1]);
        pthread_mutex_consistent(&r->pool);
    }
    /* j NULL: a joining process, which writes no record under the mutex. */
    atomic_store(&r->pool_holder, j ? (uint32_t)(j - r->jr) + 1 : 0);
    fail_point(FP_POOL_LOCKED);
}

void pool_unlock(struct glan_lan *lan)
{
    atomic_store(&lan->r->pool_holder, 0);
    pthread_mutex_unlock(&lan->r->pool);
}

/* Class k's stack top and j's cache length of that class, under the pool
 * mutex.  Values out of range (a segment written wrong) are counted and
 * taken as empty. */
static void pool_read(struct glan_lan *lan, struct journal *j, int k, uint64_t *top, uint64_t *n)
{
    *top = lan->r->pool_top[k];
    *n = j->cache_n[k];
    if (*top > lan->cls[k].n || *n > JR_CACHE) {
        region_error(lan);
        *top = *top > lan->cls[k].n ? 0 : *top;
        *n = *n > JR_CACHE ? 0 : *n;
    }
}

/* Move up to want free buffers from class k's stack into j's cache of that
 * class; how many. */
uint32_t pool_refill(struct glan_lan *lan, struct journal *j, int k, uint32_t want)
{
    struct region *r = lan->r;
    uint32_t *stack = lan->stack + lan->cls[k].first;
    pool_lock(lan, j);
    uint64_t top, n;
    pool_read(lan, j, k, &top, &n);
    uint32_t m = want;
    if (m > top)
        m = (uint32_t)top;
    if (m > JR_CACHE - n)
        m = (uint32_t)(JR_CACHE - n);
    if (m) {
        /* Past cache_n: nobody reads these until the record says so. */
        memcpy(&j->cache[k][n], &stack[top - m], m * sizeof(uint32_t));
        struct rec rc;
        rec_init(&rc, r, j);
        rec_put64(&rc, &r->pool_top[k], top - m);
        rec_put64(&rc, &j->cache_n[k], n + m);
        rec_commit(&rc, FP_REFILL);
    }
    pool_unlock(lan);
    return m;
}

/* Move the last m buffers of j's cache of class k onto that class's stack. */
void pool_spill(struct glan_lan *lan, struct journal *j, int k, uint32_t m)
{
    struct region *r = lan->r;
    uint32_t *stack = lan->stack + lan->cls[k].first;
    pool_lock(lan, j);
    uint64_t top, n;
    pool_read(lan, j, k, &top, &n);
    if (m > n)
        m = (uint32_t)n;
    if (top + m > lan->cls[k].n) {
        /* More free buffers than the class has: something wrote the
         * segment that should not have.  Refuse, rather than write past
         * the stack. */
        region_error(lan);
        m = (uint32_t)(lan->cls[k].n - top);
    }
    memcpy(&stack[top], &j->cache[k][n - m], m * sizeof(uint32_t));
    struct rec rc;
    rec_init(&rc, r, j);
    rec_put64(&rc, &r->pool_top[k], top + m);
    rec_put64(&rc, &j->cache_n[k], n - m);
    rec_commit(&rc, FP_SPILL);
    pool_unlock(lan);
}

void pool_spill_all(struct glan_lan *lan, struct journal *j)
{
    for (int k = 0; k < NCLASS; k++)
        if (j->cache_n[k])
            pool_spill(lan, j, k, (uint32_t)j->cache_n[k]);
}

/* Put one buffer that no cache holds straight onto its class's stack, with
 * the record's other stores (recovery and reclaim).  Under the pool mutex. */
void pool_push_locked(struct glan_lan *lan, struct rec *rc, uint32_t slot)
{
    struct region *r = lan->r;
    int k = class_of(lan, slot);
    uint64_t top = r->pool_top[k];
    if (top >= lan->cls[k].n) {
        region_error(lan);
        return;
    }
    lan->stack[lan->cls[k].first + top] = slot;
    rec_put64(rc, &r->pool_top[k], top + 1);
}

/* ---- the ledgers --------------------------------------------------------------------- */

void ledger_sum(struct glan_lan *lan, struct ledger *out)
{
    memset(out, 0, sizeof *out);
    for (uint32_t i = 0; i < MAX_JOURNALS; i++) {
        const struct ledger *l = &lan->r->jr[i].l;
        out->sent_packets += lget(&l->sent_packets);
        out->sent_bytes += lget(&l->sent_bytes);
        out->fanout += lget(&l->fanout);
        out->delivered += lget(&l->delivered);
        for (int k = 0; k < GLAN_DROP_COUNT; k++)
            out->dropped[k] += lget(&l->dropped[k]);
        out->icmp_sent += lget(&l->icmp_sent);
        out->icmp_limited += lget(&l->icmp_limited);
        out->frags_sent += lget(&l->frags_sent);
    }
}

/* Free buffers of class k: on its stack and in every journal's cache. */
uint64_t free_buffers(struct glan_lan *lan, int k)
{
    uint64_t n = __atomic_load_n(&lan->r->pool_top[k], __ATOMIC_RELAXED);
    for (uint32_t i = 0; i < MAX_JOURNALS; i++)
        n += __atomic_load_n(&lan->r->jr[i].cache_n[k], __ATOMIC_RELAXED);
    return n;
}
