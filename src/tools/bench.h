/*
 * What the files of `glan bench` share (docs/benchmarks.md has what is
 * measured and how):
 *   bench.c        the command: options, the runs in order
 *   bench_base.c   the base in one process: one sender thread, and two
 *                  sending to each other (cross-thread)
 *   bench_xproc.c  the base across two processes on a LAN in shared memory
 *   bench_qdio.c   two simulated guests through their QDIO SBALs
 *   bench_tun.c    the kernel path between two TUN devices, in a child in a
 *                  network namespace of its own
 *   bench_out.c    the results: the table, the ratios, the JSON line
 * The datagrams measured are dgram.h's.  Private to the tool: no glan_
 * prefix.
 */
#ifndef GLAN_TOOLS_BENCH_H
#define GLAN_TOOLS_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "guestlan/base.h"

/* How many sizes are measured unless --size picks one (bench.c). */
#define NSIZES 3

/* The largest datagram we build, and what one receive buffer holds. */
#define MAX_DGRAM 9216
/* The sink copies into a small ring of buffers, as a device fills a queue of
 * input buffers; a power of two. */
#define SINK_SLOTS 8
/* Datagrams sent before a measurement starts, so that caches, the buffer pool
 * and (on the TUN path) the kernel's routes and queues are warm. */
#define WARMUP 2000
/* --count small: enough for a smoke test to exercise every path quickly, also
 * under the sanitizers. */
#define COUNT_SMALL 20000

struct opts {
    double seconds;
    uint64_t count;
    int json;
    int xthread;
    int xproc;
    int qdio;   /* --qdio: the QDIO rows in the JSON too */
    int layer2; /* --layer2: the layer-2 QDIO rows (qdio-l2) in the JSON too */
    int hipers; /* --hipers: the HiperSockets rows (qdio-hipers) in the JSON too */
    int no_tun;
    uint32_t sizes[NSIZES];
    size_t nsizes;
};

struct result {
    const char *path;
    uint32_t size;
    double pps, gbps;
    uint64_t sent, received;
    double secs;
    double cpu_secs; /* CPU time the measuring thread(s) used */
};

struct results {
    struct result r[32]; /* 7 paths of NSIZES rows, and room */
    size_t n;
};

/* A receiving port: copies each datagram into one of its input buffers
 * (bufs: SINK_SLOTS of MAX_DGRAM bytes, the owner's). */
struct sink {
    uint8_t *bufs;
    uint64_t got, bytes;
    uint32_t slot;
};
extern const struct glan_port_ops bench_sink_ops;

/* Each measurement adds its row to rs; 0, or -1 with a message on stderr
 * when it failed (a datagram lost, a setup that did not work). */
int bench_base(const struct opts *o, uint32_t size, struct results *rs);
int bench_base_xthread(const struct opts *o, uint32_t size, struct results *rs);
int bench_base_xproc(const struct opts *o, uint32_t size, struct results *rs);
int bench_qdio(const struct opts *o, uint32_t size, struct results *rs);
/* The same in layer 2 (path "qdio-l2"): two qeth_l2 guests on a LAN of
 * transport ETHERNET, each datagram in an Ethernet frame (14 bytes more). */
int bench_qdio_l2(const struct opts *o, uint32_t size, struct results *rs);
/* The same between two HiperSockets guests on a LAN of type HIPERS
 * ("qdio-hipers"). */
int bench_qdio_hipers(const struct opts *o, uint32_t size, struct results *rs);
/* Every size at once, in a child; skipped (0, a message) without root. */
int bench_tun(const struct opts *o, struct results *rs);

/* bench_out.c */
void bench_add_result(struct results *rs, const char *path, uint32_t size, uint64_t sent,
                      uint64_t received, double secs, double cpu_secs);
void bench_print_json(const struct results *rs);
void bench_print_table(const struct results *rs, const struct opts *o);

#endif
