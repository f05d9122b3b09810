/*
 * `glan bench`, the base in one process: a LAN with two guest ports, each a
 * sink that copies what it receives into one of its input buffers as a
 * device would; one thread sends from the first to the second ("base"), or
 * two threads send to each other at once ("base-xthread").  They send as
 * the OSA device does: cast unicast, no timestamp (the base takes the time
 * for each datagram).  Every datagram must arrive; a loss fails the run.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "dgram.h"
#include "tooltime.h"

static int sink_deliver(void *ctx, const struct glan_dgram *dg)
{
    struct sink *s = ctx;
    uint8_t *dst = s->bufs + (size_t)(s->slot++ & (SINK_SLOTS - 1)) * MAX_DGRAM;
    memcpy(dst, dg->data, dg->len);
    s->got++;
    s->bytes += dg->len;
    return 0;
}

const struct glan_port_ops bench_sink_ops = {.deliver = sink_deliver};

/* One sending port and the peer it sends to. */
struct flow {
    struct glan_port *from;
    uint8_t pkt[MAX_DGRAM];
    uint32_t size;
    uint64_t limit;
    double seconds;
    pthread_barrier_t *start;
    /* results */
    uint64_t sent, dropped;
    double secs, cpu_secs;
};

/* Send until the count or the time runs out.  The clock is read every 256
 * datagrams so that reading it costs nothing measurable. */
static void run_flow(struct flow *f)
{
    /* As the OSA device sends: the cast from the layer-3 header, no
     * timestamp (the base takes the time for each datagram). */
    const struct glan_tx_meta meta = {.cast = GLAN_CAST_UNICAST};
    for (int i = 0; i < WARMUP; i++)
        if (glan_port_send(f->from, f->pkt, f->size, &meta) != GLAN_DROP_NONE)
            f->dropped++;
    if (f->start)
        pthread_barrier_wait(f->start);
    double t0 = now_s(), deadline = t0 + f->seconds, t = t0, c0 = cpu_s();
    uint64_t n = 0;
    while (n < f->limit) {
        uint64_t batch = f->limit - n < 256 ? f->limit - n : 256;
        for (uint64_t i = 0; i < batch; i++)
            if (glan_port_send(f->from, f->pkt, f->size, &meta) != GLAN_DROP_NONE)
                f->dropped++;
        n += batch;
        t = now_s();
        if (t >= deadline)
            break;
    }
    f->sent = n;
    f->secs = t - t0;
    f->cpu_secs = cpu_s() - c0;
}

static void *flow_thread(void *arg)
{
    run_flow(arg);
    return NULL;
}

struct base_bench {
    struct glan_lan *lan;
    struct glan_port *port[2];
    struct sink sink[2];
};

static void base_teardown(struct base_bench *b)
{
    for (int i = 0; i < 2; i++) {
        if (b->port[i])
            glan_port_detach(b->port[i]);
        free(b->sink[i].bufs);
    }
    if (b->lan)
        glan_lan_destroy(b->lan);
    memset(b, 0, sizeof *b);
}

/* A LAN with two guest ports, 10.0.0.1 and 10.0.0.2, each a sink. */
static int base_setup(struct base_bench *b)
{
    char err[256] = "";
    memset(b, 0, sizeof *b);
    struct glan_lan_config cfg = {.name = "BENCH"};
    glan_lan_config_defaults(&cfg);
    b->lan = glan_lan_create(&cfg, err, sizeof err);
    if (!b->lan) {
        fprintf(stderr, "glan bench: cannot create a LAN: %s\n", err);
        return -1;
    }
    static const char *names[2] = {"0600", "0700"};
    static const char *addrs[2] = {"10.0.0.1", "10.0.0.2"};
    for (int i = 0; i < 2; i++) {
        struct glan_port_info info = {.name = names[i], .kind = GLAN_PORT_GUEST};
        struct glan_addr a;
        b->sink[i].bufs = malloc((size_t)SINK_SLOTS * MAX_DGRAM);
        int rc = b->sink[i].bufs
                     ? glan_port_attach(b->lan, &info, &bench_sink_ops, &b->sink[i], &b->port[i])
                     : -ENOMEM;
        if (rc == 0)
            rc = glan_addr_parse(addrs[i], &a);
        if (rc == 0)
            rc = glan_addr_register(b->port[i], &a);
        if (rc != 0) {
            fprintf(stderr, "glan bench: cannot set up port %s: %s\n", names[i], strerror(-rc));
            base_teardown(b);
            return -1;
        }
    }
    return 0;
}

/* Guest to guest, one sender thread: port 0 sends to port 1. */
int bench_base(const struct opts *o, uint32_t size, struct results *rs)
{
    struct base_bench b;
    if (base_setup(&b) < 0)
        return -1;
    static struct flow f; /* static: 9 KiB of packet stays off the stack */
    memset(&f, 0, sizeof f);
    f.from = b.port[0];
    f.size = size;
    f.limit = o->count;
    f.seconds = o->seconds;
    dgram_udp4(f.pkt, size, IP4(10, 0, 0, 1), IP4(10, 0, 0, 2));
    run_flow(&f);
    uint64_t total = b.sink[1].got, got = total - WARMUP;
    int ok = f.dropped == 0 && total == WARMUP + f.sent && b.sink[0].got == 0;
    base_teardown(&b);
    if (!ok) {
        fprintf(stderr,
                "glan bench: base lost datagrams at %u bytes: sent %llu, dropped %llu, "
                "received %llu\n",
                size, (unsigned long long)f.sent + WARMUP, (unsigned long long)f.dropped,
                (unsigned long long)total);
        return -1;
    }
    bench_add_result(rs, "base", size, f.sent, got, f.secs, f.cpu_secs);
    return 0;
}

/* Guest to guest, two sender threads sending to each other at once: what the
 * base's locking costs when two devices are busy. */
int bench_base_xthread(const struct opts *o, uint32_t size, struct results *rs)
{
    struct base_bench b;
    if (base_setup(&b) < 0)
        return -1;
    static struct flow f[2];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 2);
    pthread_t th[2];
    int started = 0;
    for (int i = 0; i < 2; i++) {
        memset(&f[i], 0, sizeof f[i]);
        f[i].from = b.port[i];
        f[i].size = size;
        f[i].limit = o->count;
        f[i].seconds = o->seconds;
        f[i].start = &start;
        dgram_udp4(f[i].pkt, size, IP4(10, 0, 0, 1 + i), IP4(10, 0, 0, 2 - i));
    }
    for (int i = 0; i < 2; i++) {
        if (pthread_create(&th[i], NULL, flow_thread, &f[i]) != 0)
            break;
        started++;
    }
    if (started < 2) {
        /* the barrier would wait forever for the missing thread: run it here */
        if (started == 1)
            run_flow(&f[1]);
        else
            fprintf(stderr, "glan bench: cannot start threads\n");
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&start);
    if (started == 0) {
        base_teardown(&b);
        return -1;
    }
    uint64_t sent = f[0].sent + f[1].sent, dropped = f[0].dropped + f[1].dropped;
    uint64_t got = b.sink[0].got + b.sink[1].got;
    base_teardown(&b);
    if (dropped != 0 || got != sent + 2 * WARMUP) {
        fprintf(stderr, "glan bench: base (2 threads) lost datagrams at %u bytes\n", size);
        return -1;
    }
    double secs = f[0].secs > f[1].secs ? f[0].secs : f[1].secs;
    bench_add_result(rs, "base-xthread", size, sent, sent, secs, f[0].cpu_secs + f[1].cpu_secs);
    return 0;
}
