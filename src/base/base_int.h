/*
 * What the files of the base share that the public API
 * (include/base/guestlan/base.h) does not show: the process-local halves of a LAN
 * and of a port, the memory-ordering pairs by label, and each file's entry
 * points for the others.  Internal to src/base.
 *
 * The base is one router per LAN.  A port hands a datagram to the base; it
 * is copied into a base storage buffer, its destination is looked up in the
 * registry, and a reference to the buffer is put on the wait queue of every
 * port that should receive it; the queue is then drained into the receiving
 * port's input through its deliver callback, in the sender's own thread when
 * nobody else is draining it.  One file per step:
 *
 *   storage.c   base storage: the buffers, their free lists, and the calls a
 *               datagram enters by (glan_port_tx_begin/commit, glan_port_send)
 *   forward.c   the forwarding policy: where a datagram goes (forward)
 *   l2switch.c  the same for an ETHERNET LAN: where a frame goes (l2_forward)
 *   registry.c  who holds an address, who joined a group (a seqlock)
 *   queue.c     the port queues: ring, pins, drain turn, delivery, batching
 *   lan.c       creating and destroying LANs and ports, the counters and
 *               queries (count.h adds to the counters), the monitor
 *   shm.c       the region's layout, shared segments, the process table,
 *               recovery after a crash, the base thread
 *   addr.c      addresses and datagram headers (pure functions)
 *   refused.c   datagrams refused before base storage, shown to the monitor
 *   pmtu.c      path MTU: datagrams too big for their receiver answered with
 *               ICMP, or fragmented
 *
 * What several processes share is in one region (region.h); the ports'
 * callbacks and the base thread are per process (struct glan_lan below).
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
 *
 * Memory ordering.  Every release has its acquire, named by one label at
 * both ends (Rn at the release, An at the acquire):
 *   R1/A1  pool_push's CAS publishes a free buffer, its link and all its last
 *          owner wrote, to pool_pop's load and CAS (storage.c).
 *   R2/A2  queue_push's CAS fills a cell: the buffer and its header, to
 *          queue_pop's load of the cell (queue.c).
 *   R3/A3  queue_pop's store frees a cell, after setting cur: to queue_push's
 *          load one lap later and to the scan of the cells in
 *          queue_mark_held (queue.c).
 *   R4/A4  deliver_queue's store of CUR_NONE, after its unref: to the load
 *          of cur in queue_mark_held (queue.c).
 *   R5/A5  seq_write_end's add publishes whole registry entries to
 *          seq_read_begin's load (registry.c).
 *   R6/A6  seq_write_begin's fence, before the entries change, to
 *          seq_read_retry's fence: a reader that saw a changed entry sees
 *          the counter moved (registry.c).
 *   R7/A7  the creator's store of the magic publishes the whole layout to
 *          region_check's load (shm.c).
 *   R8/A8  slot_unref's acq_rel: each holder releases its reads of the
 *          buffer, the last one acquires them all before it frees it
 *          (storage.c).
 *   R9/A9  a record's stores (word_store, journal.h) publish what the
 *          thread wrote before, e.g. a port's callbacks before its state
 *          goes active, to the seq_cst loads of the state (base_main,
 *          enqueue, drain).
 * And the pairs where each side writes one word and then reads the other's
 * (Dekker), with sequentially consistent operations so that one side always
 * sees the other:
 *   S1  drain turn: drain gives the turn back, then looks at the queue head
 *       (seq_cst); a sender pushes (R2's CAS), then tries the turn (a
 *       seq_cst CAS) (queue.c).
 *   S2  pins: enqueue and glan_port_batch_end pin, then read the port's
 *       state; detach and recovery store CLOSING (port_close_locked), then
 *       read the pins (wait_pins).
 *   S3  kick: glan_port_kick bumps kick_gen, then tries the turn; drain
 *       gives the turn back, then reads kick_gen (queue.c).
 *   S4  wake word: wake_proc's fence between the push and its read of the
 *       word; base_main's fence between clearing the word and its look at
 *       the queues (queue.c, shm.c).
 *   S5  monitor: monitor_show (and glan_port_show_refused, refused.c)
 *       raises mon_users, then reads mon; glan_lan_set_monitor stores NULL,
 *       then reads mon_users (lan.c).
 *   S6  waiting for room: wait_for_room stores the sender's wait_on and the
 *       receiver's waited, then looks at the queue's positions again; a
 *       drainer moves deq_pos, then (a fence) reads waited (release_waiters)
 *       (queue.c).
 */
#ifndef GLAN_BASE_INT_H
#define GLAN_BASE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "region.h"
#include "journal.h"
#include "guestlan/base.h"

#define MAX_PORTS_WORDS (1024 / 64)

struct glan_port {
    struct glan_lan *lan;
    int idx;
    const struct glan_port_ops *ops;
    void *ctx;
    /* Batching (owner's sending thread only): receivers to drain at the end. */
    int batching;
    uint64_t pending[MAX_PORTS_WORDS];
    /* Back-pressure (queue.c): when glan_port_tx_try last told the port to
     * wait (CLOCK_MONOTONIC ns), 0 when it is not waiting; read by the base
     * thread for the bound. */
    _Atomic uint64_t wait_since;
    /* The rate limit of the ICMP answers to its datagrams (pmtu.c). */
    _Atomic uint64_t icmp_bucket;
    _Atomic uint32_t icmp_burst, icmp_per_sec;
};

/* What forward leaves to glan_port_tx_commit once the datagram in hand has
 * gone its ways (pmtu.c): an ICMP answer to its sender (mtu), fragments for
 * the receivers in frag_to.  With todo set it holds a reference to the
 * datagram's buffer, which pmtu_run gives back. */
enum { JOB_ANSWER = 1, JOB_FRAG = 2 };
struct pmtu_job {
    unsigned todo; /* JOB_* */
    uint32_t mtu;
    uint64_t frag_to[MAX_PORTS_WORDS]; /* valid with JOB_FRAG */
};

/* A buffer's src for a datagram the base made (no port; out of any port
 * range, so source_of finds none, and glan_dgram.src is -1). */
#define SRC_BASE 0xffffu

/* The monitor: process-local, swapped under `users` so removal can wait. */
struct monitor {
    glan_monitor_fn fn;
    void *ctx;
};

/* One size class of base storage, as this process addresses it: slot
 * numbers first .. first + n - 1, n buffers of size bytes, stride apart from
 * data on.  Worked out from the region's configuration when the LAN is
 * bound (lan_bind), which an attacher checked first. */
struct cls {
    uint32_t first, n, size, stride;
    uint8_t *data;
};

struct glan_lan {
    struct region *r;
    struct cls cls[NCLASS];
    struct port_shared *ports;
    struct reg_entry *addrs, *groups;
    struct qcell *cells;
    _Atomic uint32_t *pins; /* [port][process] */
    struct slot_hdr *slots;
    uint32_t *stack; /* the free stack (journal.c) */
    uint64_t *reach; /* reach bits, reach_words per buffer */
    uint8_t *data;
    uint64_t serial;                /* this process's number for the LAN (journal.c) */
    _Atomic uint64_t region_errors; /* bad values this process found in the region */
    int me;                         /* our index in the process table */
    uint32_t token;                 /* our process token */
    size_t map_size;                /* shared: bytes mapped; 0 for a private LAN */
    int has_base;                   /* base thread running */
    int recovering;                 /* inside reap_locked's recovery (under ctl) */
    _Atomic int stop;               /* tells the base thread to end */
    struct monitor mon_slot;
    _Atomic(struct monitor *) mon; /* &mon_slot while a monitor is set */
    _Atomic uint32_t mon_users;    /* senders inside the monitor call */
    pthread_t base;
    struct glan_port local[];
};

/* Where each table of the region starts, from the configuration. */
struct layout {
    uint32_t cap;
    uint32_t reach_words;
    uint32_t first[NCLASS], stride[NCLASS]; /* each class's first slot, bytes per buffer */
    uint64_t data[NCLASS];                  /* each class's buffers, from off_data */
    uint64_t off_ports, off_addrs, off_groups, off_cells, off_pins, off_slots, off_stack, off_reach,
        off_data, total;
};

/* The size class of buffer idx (< buffers): by range, the small ones
 * first. */
static inline int class_of(const struct glan_lan *lan, uint32_t idx)
{
    return idx < lan->cls[1].first ? 0 : idx < lan->cls[2].first ? 1 : 2;
}

static inline uint8_t *slot_data(struct glan_lan *lan, uint32_t idx)
{
    const struct cls *k = &lan->cls[class_of(lan, idx)];
    return k->data + (size_t)(idx - k->first) * k->stride;
}

/* Bytes buffer idx holds at most. */
static inline uint32_t slot_size(const struct glan_lan *lan, uint32_t idx)
{
    return lan->cls[class_of(lan, idx)].size;
}

/* The pins are kept by port, a row of MAX_PROCS counters each (256 bytes,
 * aligned): the threads pinning two different ports never write one line. */
static inline _Atomic uint32_t *pin_of(struct glan_lan *lan, int proc, int p)
{
    return &lan->pins[(size_t)p * MAX_PROCS + (size_t)proc];
}

/* Sets of ports, a bit per port index.  map_add returns 1 when p was not in
 * the set yet. */
static inline int map_has(const uint64_t map[MAX_PORTS_WORDS], uint32_t p)
{
    return (map[p / 64] & 1ull << (p % 64)) != 0;
}

static inline unsigned map_add(uint64_t map[MAX_PORTS_WORDS], uint32_t p)
{
    if (map_has(map, p))
        return 0;
    map[p / 64] |= 1ull << (p % 64);
    return 1;
}

/* Everything below is internal to the base: hidden, so that no shared object
 * the base is linked into exports it, and the compiler may call (and inline)
 * it directly instead of through the PLT. */
#pragma GCC visibility push(hidden)

/* ---- journal.c: journals, kill points, the free stack ----------------------------- */

/* This thread's journal for lan, taken on first use. */
struct journal *jr_mine(struct glan_lan *lan);
/* Give journal j back (its cache onto the stack). */
void jr_release(struct glan_lan *lan, struct journal *j);
/* This thread forgets its journals of lan (the process leaves it). */
void jr_forget_lan(struct glan_lan *lan);
/* Do a dead thread's committed record again.  Under the pool mutex. */
void jr_redo(struct glan_lan *lan, struct journal *j);
/* The LANs of this process, by serial (so that a thread that ends can give
 * its journals back only to LANs that still exist). */
void lan_list(struct glan_lan *lan);
void lan_unlist(struct glan_lan *lan);
void pool_lock(struct glan_lan *lan, struct journal *j);
void pool_unlock(struct glan_lan *lan);
/* Class k's free stack: up to want buffers into j's cache of that class
 * (how many), and the last n of that cache back. */
uint32_t pool_refill(struct glan_lan *lan, struct journal *j, int k, uint32_t want);
void pool_spill(struct glan_lan *lan, struct journal *j, int k, uint32_t n);
/* Every cache of j back onto the stacks. */
void pool_spill_all(struct glan_lan *lan, struct journal *j);
struct rec;
void pool_push_locked(struct glan_lan *lan, struct rec *rc, uint32_t slot);
struct ledger;
void ledger_sum(struct glan_lan *lan, struct ledger *out);
/* Free buffers of class k: on its stack and in every journal's cache. */
uint64_t free_buffers(struct glan_lan *lan, int k);

/* A value read from the region was out of range: counted, and refused or
 * repaired by the caller. */
static inline void region_error(struct glan_lan *lan)
{
    atomic_fetch_add_explicit(&lan->region_errors, 1, memory_order_relaxed);
}

/* ---- storage.c: base storage ---------------------------------------------------- */

/* Take a free buffer of at least len bytes (owner: us, one generation on),
 * journalled in j: of the smallest size class it fits, or a larger one when
 * that has none free; NONE when none is free (or len fits no class). */
uint32_t slot_alloc_fit(struct glan_lan *lan, struct journal *j, size_t len);
/* Send the datagram the base made in slot (len bytes of family, from
 * slot_alloc) to port dst, for port from's datagram: stamped as the base's,
 * counted sent and as kind (JOB_ANSWER: icmp_sent, JOB_FRAG: frags_sent),
 * queued, shown to the monitor, and the buffer handed to the queues. */
void base_send(struct glan_port *from, struct journal *j, uint32_t slot, size_t len, int dst,
               uint8_t family, unsigned kind);
/* Give one reference to slot back (the last frees it), journalled in j.  Every
 * copy delivered or dropped comes here. */
void slot_unref(struct glan_lan *lan, struct journal *j, uint32_t idx);
/* Put slot (generation gen, owner word w) back, as journal j, if nobody did
 * yet: the owner word decides who does.  0 when someone else did. */
int slot_release(struct glan_lan *lan, struct journal *j, uint32_t idx, uint64_t w);
/* Is token the token of a process attached now? */
int token_live(struct glan_lan *lan, uint32_t token);
/* Mark a buffer suspect: its reference count is not to be trusted, and the
 * reclaim pass frees it once nothing can reach it.  Under ctl. */
void slot_suspect(struct glan_lan *lan, uint32_t idx, uint64_t gen);

/* The uplink's port index, or -1.  Another index out of range was written
 * into the region by someone else: counted, and put back to none. */
static inline int uplink_of(struct glan_lan *lan)
{
    int u = atomic_load(&lan->r->uplink);
    if (u < -1 || (u >= 0 && (uint32_t)u >= lan->r->max_ports)) {
        region_error(lan);
        atomic_compare_exchange_strong(&lan->r->uplink, &u, -1);
        return -1;
    }
    return u;
}

/* An ETHERNET LAN switches frames (l2switch.c); anything else in the region's
 * word is an IP LAN. */
static inline int lan_is_ethernet(const struct glan_lan *lan)
{
    return lan->r->transport == GLAN_TRANSPORT_ETHERNET;
}

static inline uint64_t *reach_of(struct glan_lan *lan, uint32_t slot)
{
    return lan->reach + (size_t)slot * lan->r->reach_words;
}

/* ---- forward.c: the forwarding policy ------------------------------------------- */

/* Send the datagram in slot (len bytes, its header stamped) from port to
 * wherever it goes.  Consumes the caller's reference to slot. */
enum glan_drop forward(struct glan_port *port, struct journal *j, uint32_t slot, size_t len,
                       const struct glan_tx_meta *meta, struct pmtu_job *job);

/* ---- pmtu.c: path MTU --------------------------------------------------------------- */

/* The size the datagram at data (len bytes as handed over) has on the wire:
 * the one place that says so (what a receiver's MTU limits). */
size_t wire_size(const uint8_t *data, size_t len, const struct glan_tx_meta *meta);
/* Port p's MTU when the datagram is larger than it (on the wire), else 0. */
uint32_t too_big_for(struct glan_lan *lan, int p, const uint8_t *data, size_t len,
                     const struct glan_tx_meta *meta);
/* The unicast datagram in our hand is too big for port dst (MTU mtu): its
 * copy is dropped (fragmented or too_big_for_path, returned) and what is to
 * be sent for it left in job. */
enum glan_drop pmtu_unicast(struct glan_port *port, struct journal *j, uint32_t slot, size_t len,
                            int dst, uint32_t mtu, struct pmtu_job *job);
/* One copy of a broadcast or multicast datagram is too big for port p: the
 * copy is dropped, with fragments for p left in job where IPv4 allows. */
void pmtu_copy(struct glan_lan *lan, struct journal *j, uint32_t slot, size_t len, int p,
               uint32_t mtu, struct pmtu_job *job);
/* Send what job says for port's datagram in slot, and give the job's
 * reference back.  After the datagram's own copies are placed. */
void pmtu_run(struct glan_port *port, struct journal *j, uint32_t slot, size_t len,
              struct pmtu_job *job);
/* The rate limit of port's answers, full. */
void icmp_limit_init(struct glan_port *port, uint32_t burst, uint32_t per_sec);
/* Builders (pure; out holds cap bytes, at least 68; orig is tot bytes of a
 * well-formed datagram): the ICMP "fragmentation needed" (IPv4) and ICMPv6
 * "packet too big" answers to orig for MTU mtu, their lengths; whether the
 * IPv4 datagram can be cut into fragments for mtu, and the next fragment
 * from byte *at of its data (moved on), its length. */
size_t icmp4_frag_needed(uint8_t *out, size_t cap, const uint8_t *orig, size_t tot, uint32_t mtu);
size_t icmp6_packet_too_big(uint8_t *out, size_t cap, const uint8_t *orig, size_t tot,
                            uint32_t mtu);
int ipv4_can_fragment(const uint8_t *p, size_t tot, uint32_t mtu);
size_t ipv4_fragment(uint8_t *out, const uint8_t *p, size_t tot, uint32_t mtu, size_t *at);

/* The port a datagram of port's (len bytes at data) would go to if it is
 * unicast, as forward decides; -1 when it is not unicast or goes nowhere. */
int unicast_dest(struct glan_port *port, const uint8_t *data, size_t len,
                 const struct glan_tx_meta *meta);

/* ---- l2switch.c: the forwarding policy of an ETHERNET LAN ----------------------- */

/* forward for a LAN of transport ETHERNET: the datagram in slot is an
 * Ethernet frame, switched by MAC address and VLAN.  As forward. */
enum glan_drop l2_forward(struct glan_port *port, struct journal *j, uint32_t slot, size_t len,
                          const struct glan_tx_meta *meta);

/* ---- registry.c: the registry ---------------------------------------------------- */

/* The ports that joined group g, but not port except, added to map (cleared
 * first); how many.  A seqlock read, no lock. */
unsigned reg_group_members(struct glan_lan *lan, const struct glan_addr *g, int except,
                           uint64_t map[MAX_PORTS_WORDS]);
/* Is port p a member of group g (a VLAN)?  A seqlock read, no lock. */
int reg_group_has(struct glan_lan *lan, const struct glan_addr *g, int p);
/* Remove every address and group of port p.  Under ctl. */
void reg_forget_port(struct glan_lan *lan, int p);
/* A holder of ctl died inside: rebuild the registry if it was writing it. */
void reg_repair(struct glan_lan *lan);
/* The tables' counts are out of range (written by someone else): count it
 * and rebuild the registry.  Under ctl; ctl_lock calls it. */
void reg_check(struct glan_lan *lan);

/* ---- queue.c: the port queues ---------------------------------------------------- */

/* Put one reference to slot on port p's queue and drain it (or wake its
 * process).  The caller holds one slot reference for this copy; it is
 * consumed either way. */
void enqueue(struct glan_lan *lan, struct journal *j, struct glan_port *from, int p, uint32_t slot);
/* Deliver what waits for port p, if nobody else is doing so.  Only threads
 * of the process that owns p call it. */
void drain(struct glan_lan *lan, int p);
int queue_empty(struct glan_lan *lan, int p);
/* Copies waiting for port p. */
uint64_t port_queued(struct glan_lan *lan, int p);
/* An empty queue for a port being attached. */
void queue_reset(struct glan_lan *lan, int p);
/* Wait until no sender of any process has port p pinned (locked: we hold
 * ctl). */
void wait_pins(struct glan_lan *lan, int p, int locked);
/* Take port p's drain turn for good, from nobody or from a process that is
 * no longer attached. */
void take_turn(struct glan_lan *lan, struct port_shared *ps);
/* Drop what waits for port p (port_gone); we hold its turn for good. */
void sweep_port(struct glan_lan *lan, int p);
/* Set the bit in seen of every buffer a wait-queue cell or a drainer holds. */
void queue_mark_held(struct glan_lan *lan, uint8_t *seen);
/* Back-pressure: 1 when a sender that can wait (from) must wait for room
 * at port p for a copy of size class k (it is now marked waiting; its
 * unblocked op will be called),
 * else 0 (p has room, is stuck or gone). */
int wait_for_room(struct glan_lan *lan, struct glan_port *from, int p, int k);
/* The base thread's part: call unblocked for our ports a receiver in
 * another process released, and for those that waited stuck_ms. */
void waits_tick(struct glan_lan *lan);

/* ---- lan.c: LANs, ports, the monitor (counting: count.h) --------------------- */

int config_check(const struct glan_lan_config *c, char *err, size_t errlen);
/* A new LAN's configuration: in with the defaults filled in and checked
 * (config_check), then its layout.  0, or -EINVAL with the reason in err. */
int config_prepare(const struct glan_lan_config *in, struct glan_lan_config *cfg, struct layout *l,
                   char *err, size_t errlen);
/* Stop new copies for port p and forget its addresses.  Under ctl. */
void port_close_locked(struct glan_lan *lan, int p);
/* Port p is empty and nobody can reach it: free its entry.  Under ctl. */
void port_free_locked(struct glan_lan *lan, int p);
/* Show a forwarded datagram to the monitor, if one is (still) set. */
void monitor_show(struct glan_lan *lan, uint32_t slot, enum glan_drop why);

/* ---- shm.c: layout, processes, recovery, the base thread ------------------------ */

void layout_of(const struct glan_lan_config *cfg, struct layout *l);
/* Class k's count and size, from a configuration with its defaults filled in. */
uint32_t cfg_class_n(const struct glan_lan_config *cfg, int k);
uint32_t cfg_class_size(const struct glan_lan_config *cfg, int k);
/* The process-local half of a LAN of max_ports ports, not yet bound. */
struct glan_lan *lan_new(uint32_t max_ports);
/* Point lan at the region in mem. */
void lan_bind(struct glan_lan *lan, void *mem);
/* Lay a zeroed region out.  The magic is stored last, by the caller. */
int region_init(void *mem, const struct glan_lan_config *cfg, const struct layout *l, int shared);
/* The configuration the region r holds (out->name points into r). */
void region_config(const struct region *r, struct glan_lan_config *out);
/* Take an entry of the process table.  Under ctl (or before anyone else can
 * see the region). */
int proc_join(struct glan_lan *lan, char *err, size_t errlen);
/* Take and give back ctl; taking it after its holder died repairs. */
void ctl_lock(struct glan_lan *lan);
void ctl_unlock(struct glan_lan *lan);
/* Recover the processes that died; how many.  Under ctl. */
int reap_locked(struct glan_lan *lan);
/* Leave a shared LAN: our ports, the base thread, our process entry, the
 * mapping.  lan itself is the caller's to free. */
void shm_leave(struct glan_lan *lan);
/* Start the base thread (a private LAN's only for the bound on waits, when
 * a port that can wait attaches), and stop it.  0 or a negative errno. */
int base_start(struct glan_lan *lan, char *err, size_t errlen);
void base_stop(struct glan_lan *lan);

#pragma GCC visibility pop

#endif
