/*
 * The region: every piece of a LAN that several processes share, laid out
 * once when the LAN is created (shm.c) and addressed by index or offset,
 * never by pointer, so that it can be a shared-memory segment mapped at
 * different addresses.  In order: this header (configuration, the ctl and
 * pool mutexes, the process table, the journals), the port table, the
 * registry, the group table, the wait-queue cells, the pin counters, the
 * buffer headers, the free-buffer stacks, the reach bits and the buffer data
 * (the small buffers', then the medium, then the large).
 *
 * Changing any struct here changes the layout: bump REGION_VERSION (an
 * attacher compares the version and the sizes of these structs, see
 * docs/design.md "Layout").  Internal to src/base; what the files of the base
 * keep per process is in base_int.h.
 */
#ifndef GLAN_BASE_REGION_H
#define GLAN_BASE_REGION_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "guestlan/base.h"

/* Layout versions: 4 split the port entries by writer, 5 dropped the port
 * counter, 6 added the journals, 7 the size classes of base storage and
 * the waits for room, 8 the ports' MTUs and the path-MTU counters, 9 a
 * datagram's offload marks and MSS, 10 the transport and the layer-2 drop
 * reasons, 11 the LAN's type and maximum frame size,
 * 12 the MAC prefix. */
#define NONE           UINT32_MAX
#define REGION_MAGIC   0x474c414eu /* "GLAN" */
#define REGION_VERSION 12u
#define NCLASS         GLAN_BUF_CLASSES
#define MAX_PROCS      GLAN_SHM_MAX_PROCS

enum port_state { PORT_FREE = 0, PORT_ACTIVE = 1, PORT_CLOSING = 2 };
enum proc_state { PROC_FREE = 0, PROC_ALIVE = 1, PROC_DEAD = 2 };

/* A process token: epoch << 8 | (process table index + 1).  Nonzero, and
 * never the same for two attachments, so a dead holder is told from a live
 * one that reused its table entry. */
#define TOKEN_PROC(t) ((int)((t)&0xffu) - 1)
#define DRAIN_CLOSED  UINT32_MAX  /* drain word of a free port: nobody may drain */
#define WAIT_RELEASED 0x80000000u /* wait_on: released, our base thread calls unblocked */

/* Slot owner word: generation << 32 | owner.  The owner is a process token
 * while that process is filling or forwarding the buffer, OWNER_QUEUES once
 * every copy is on the wait queues, OWNER_FREE in a journal's cache or on
 * the free stack.  The generation moves on each time the buffer is taken. */
#define OWNER_QUEUES 0u
#define OWNER_FREE   0xffffffffu

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
    _Atomic uint64_t icmp_sent, icmp_limited, frags_sent; /* path MTU (pmtu.c) */
};

struct qcell {
    _Atomic uint64_t w;
};

/* A port's entry, in three parts by writer, each on aligned pairs of cache
 * lines of its own (the counters, with a drop counter per reason, take two
 * pairs) (x86 prefetches lines in aligned pairs): what attach writes and
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
    /* Back-pressure (queue.c): the receiver this port's output waits for
     * (index + 1; WAIT_RELEASED once a receiver in another process made
     * room and woke our base thread; 0: none), and how often and how long
     * it waited.  Written once per wait, not per datagram. */
    _Atomic uint32_t wait_on;
    _Atomic uint64_t waits, wait_ns;
    _Atomic uint32_t mtu; /* largest datagram it takes, 0: buffer_size (glan_port_set_mtu) */
    _Alignas(128) struct counters c;
    _Alignas(128) _Atomic uint32_t drain; /* token of the drain turn's holder, 0 when free */
    _Atomic uint32_t kick_gen;            /* bumped by glan_port_kick */
    _Atomic uint64_t cur;                 /* copy the drainer holds (refused ones included) */
    _Atomic uint64_t enq_pos, deq_pos;
    _Atomic uint64_t recv_packets, recv_bytes, recv_dropped;
    /* Fair share (queue.c): when senders first found the queue without
     * room (ms << 32 | enq_pos's low 32 bits then), and whether the port is
     * stuck (copies for it are dropped, `expired`, until it is kicked); set
     * while a sender waits for room here (its wait_on names this port). */
    _Atomic uint64_t over_since;
    _Atomic uint32_t stuck;
    _Atomic uint32_t waited;
};
_Static_assert(sizeof(struct port_shared) == 4 * 128, "a port entry is aligned pairs of lines");

/* Base storage buffer header.  refs counts the references to it (wait-queue
 * entries, a drainer's, the sender's while it forwards); the buffer is free
 * again at zero.  After a crash refs may be too high; recovery then marks
 * the buffer suspect (suspect == its generation + 1) and the reclaim pass
 * frees it once nothing can reach it (shm.c).  One cache line each: two
 * threads filling or delivering two buffers write no line in common. */
struct slot_hdr {
    _Alignas(64) _Atomic uint32_t refs;
    _Atomic uint32_t suspect; /* generation + 1 of a suspect buffer, else 0 */
    _Atomic uint64_t owner;   /* generation << 32 | OWNER_* or a process token */
    uint32_t len;
    uint16_t src;
    uint16_t src_gen;
    uint8_t cast, family;
    uint8_t offload; /* GLAN_OFFLOAD_* */
    uint8_t pad;
    uint16_t mss;
    uint8_t pad2[2];
    uint64_t ts_ns;
};

/*
 * A journal: what one thread of one process needs so that a SIGKILL at any
 * instruction loses nothing (journal.c).  A thread takes one the first time
 * it forwards or delivers on the LAN and gives it back when it ends.
 *
 *   redo     a record of up to REDO_MAX word stores that must happen
 *            together (a count and the state it goes with).  The thread
 *            writes the entries, then n_redo (the commit), then the stores,
 *            then clears n_redo; whoever recovers a dead thread does the
 *            stores again when n_redo is set.  Every word a record names is
 *            one nobody else writes until the record is cleared or redone.
 *   hand     the buffer the thread took (gen << 32 | slot), until every copy
 *            of its datagram is on a queue or dropped; fwd_n copies of it (0:
 *            not sent yet), fwd_dropped of them dropped by the thread itself.
 *   unref    the buffer whose reference it is giving back, while it does.
 *   cache    free buffers kept by the thread (owner word "free"), one cache
 *            per size class, refilled from and spilled to that class's free
 *            stack under the pool mutex.
 *   ledger   this journal's share of the LAN totals, written by its holder
 *            only; the totals are the sum over all journals, and a journal
 *            keeps its ledger from holder to holder.
 */
#define REDO_MAX     8
#define JR_CACHE     32
#define MAX_JOURNALS 256
#define LEDGER_WORDS (7 + GLAN_DROP_COUNT)
#define HAND_NONE    UINT64_MAX

struct redo_entry {
    uint32_t off;  /* bytes from the start of the region */
    uint32_t size; /* 4 or 8 */
    uint64_t val;
};

struct ledger {
    uint64_t sent_packets, sent_bytes, fanout, delivered;
    uint64_t dropped[GLAN_DROP_COUNT];
    uint64_t icmp_sent, icmp_limited, frags_sent;
};

struct journal {
    _Alignas(128) _Atomic uint32_t owner; /* token of the holder's process, 0: free */
    _Atomic uint32_t n_redo;
    struct redo_entry redo[REDO_MAX];
    uint64_t hand;
    uint32_t fwd_n, fwd_dropped;
    uint64_t unref;
    uint64_t cache_n[NCLASS];
    uint32_t cache[NCLASS][JR_CACHE];
    struct ledger l;
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
    _Atomic int32_t pid;
    uint32_t pad;
    _Atomic uint64_t start_time; /* /proc/PID/stat start time, to tell a reused pid */
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
    uint32_t max_ports, max_addrs, max_groups, queue_len, stuck_ms;
    /* Base storage: buffers in all, and per size class its count and size.
     * Slot numbers are global, the classes' in order: small ones first. */
    uint32_t buffers;
    uint32_t cls_n[NCLASS], cls_size[NCLASS];
    uint32_t addr_cap; /* registry table size, a power of two */
    uint32_t shared;
    uint32_t transport;    /* enum glan_transport */
    uint32_t type;         /* enum glan_lan_type */
    uint32_t mfs;          /* HIPERS: maximum frame size in KiB */
    uint8_t mac_prefix[4]; /* of the MACs the LAN hands out (glan_lan_port_mac) */
    uint64_t off_ports, off_addrs, off_groups, off_cells, off_pins, off_slots, off_stack, off_reach,
        off_data;
    uint32_t reach_words;       /* 64-bit words of reach bits per buffer */
    uint32_t cache_max[NCLASS]; /* buffers a journal's cache of each class keeps at most */
    pthread_mutex_t ctl;
    /* The free stacks (off_stack, `buffers` slot numbers: each class's
     * stack in its own stretch, at the class's first slot number, pool_top[k]
     * of them free) are guarded by pool, robust in a shared LAN; pool_holder
     * is the journal index + 1 of its holder, whose redo record the next
     * locker does again if the holder died (journal.c). */
    pthread_mutex_t pool;
    _Atomic uint32_t pool_holder, ctl_holder;
    uint64_t pool_top[NCLASS];
    _Atomic uint32_t reg_seq; /* odd while a registry writer is at work */
    uint32_t n_addrs, n_groups;
    _Atomic int32_t uplink;    /* index of the uplink port, or -1 */
    _Atomic uint32_t epoch;    /* for process tokens */
    _Atomic uint32_t suspects; /* buffers marked suspect or dead hands, not yet reclaimed */
    struct proc_entry procs[MAX_PROCS];
    struct journal jr[MAX_JOURNALS];
};

#endif
