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
    lan->data = b + r->off_data;
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

void region_config(const struct region *r, struct glan_lan_config *out)
{
    out->name = r->name;
    out->max_ports = r->max_ports;
    out->max_addrs = r->max_addrs;
    out->max_groups = r->max_groups;
    out->buffers = r->buffers;
    out->buffer_size = r->buffer_size;
    out->queue_len = r->queue_len;
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

/* Give a process table entry back.  Under ctl. */
static void proc_free(struct proc_entry *pe)
{
    pe->pid = 0;
    atomic_store(&pe->token, 0);
    atomic_store(&pe->state, PROC_FREE);
}

/* ---- recovery --------------------------------------------------------------------- */

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
            port_close_locked(lan, (int)p);
    for (uint32_t p = 0; p < r->max_ports; p++) {
        struct port_shared *ps = &lan->ports[p];
        if (atomic_load(&ps->state) != PORT_CLOSING || atomic_load(&ps->owner) != dead)
            continue;
        wait_pins(lan, (int)p, 1);
        take_turn(lan, ps, dead);
        sweep_port(lan, (int)p);
        port_free_locked(lan, (int)p);
    }
    for (uint32_t i = 0; i < r->buffers; i++) {
        uint64_t w = atomic_load(&lan->slots[i].owner);
        if ((uint32_t)w == dead && atomic_compare_exchange_strong(&lan->slots[i].owner, &w,
                                                                  (w >> 32) << 32 | OWNER_ORPHAN))
            atomic_fetch_add(&r->orphans, 1);
    }
    proc_free(pe);
}

int reap_locked(struct glan_lan *lan)
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
    queue_mark_held(lan, seen);
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

void ctl_lock(struct glan_lan *lan)
{
    if (pthread_mutex_lock(&lan->r->ctl) == EOWNERDEAD) {
        /* Its holder died inside: make what ctl guards whole again, mark
         * the mutex usable, then clean up after the dead. */
        reg_repair(lan);
        pthread_mutex_consistent(&lan->r->ctl);
        reap_locked(lan);
    }
}

void ctl_unlock(struct glan_lan *lan)
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
        /* S4: see wake_proc (queue.c): clearing the word, then looking at
         * the queues */
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
    proc_join(lan, NULL, 0); /* nobody else sees the region yet */
    /* R7: release, pairs with A7 in region_check: an attacher that sees the
     * magic sees the whole layout */
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
    if (l.cap != r->addr_cap || l.off_ports != r->off_ports || l.off_addrs != r->off_addrs ||
        l.off_groups != r->off_groups || l.off_cells != r->off_cells || l.off_pins != r->off_pins ||
        l.off_slots != r->off_slots || l.off_data != r->off_data || l.total != r->total ||
        l.total > size || !r->shared) {
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
    ctl_lock(lan);
    int rc = proc_join(lan, why, sizeof why);
    ctl_unlock(lan);
    if (rc < 0) {
        snprintf(err, errlen, "%s: %s", shm_name, why);
        goto fail;
    }
    if (start_base(lan, err, errlen) < 0) {
        ctl_lock(lan);
        proc_free(&lan->r->procs[lan->me]);
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

void shm_leave(struct glan_lan *lan)
{
    /* Our ports go as detach would take them. */
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
    for (uint32_t p = 0; p < lan->r->max_ports; p++)
        atomic_store(pin_of(lan, lan->me, (int)p), 0);
    proc_free(&lan->r->procs[lan->me]);
    ctl_unlock(lan);
    munmap(lan->r, lan->map_size);
}
