/*
 * `glan bench`, the base across two processes ("base-xproc"): this process
 * sends (port 0, 10.0.0.1) into a LAN in shared memory; a second process
 * owns the receiving port and its base thread, woken through the segment's
 * futex, copies each datagram into its sink.  The time runs until the last
 * copy is delivered; the CPU time is the sender thread's plus all of the
 * receiving process's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "dgram.h"
#include "tooltime.h"

/* Copies of its own datagrams the sender lets wait for the receiving process
 * at most: well under the wait queue, so none is dropped for want of room. */
#define XPROC_WINDOW 1024

/* The sending side of a run. */
struct xproc {
    char shm[64];
    int go;    /* write end: the receiver may join, then may leave */
    int ready; /* read end: the receiver has joined */
    pid_t pid; /* the receiver, until reaped */
    struct glan_lan *lan;
    struct glan_port *port;
    struct sink sink; /* the sending port's: it receives nothing */
};

/* Copies of port's datagrams not yet delivered or dropped. */
static uint64_t in_flight(struct glan_port *port, uint64_t *dropped)
{
    struct glan_port_stats st;
    glan_port_stats(port, &st);
    uint64_t d = 0;
    for (int i = 0; i < GLAN_DROP_COUNT; i++)
        d += st.dropped[i];
    *dropped = d;
    return st.sent_packets - st.delivered - d;
}

/* The receiving process: joins the shared LAN as 10.0.0.2 with a sink and
 * lets its base thread deliver until told to stop. */
static void xproc_receiver(const char *shm, int go, int ready)
{
    char err[256], c = 0;
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the bench */
    if (read(go, &c, 1) != 1)
        _exit(2);
    struct glan_lan *lan = glan_lan_attach_shared(shm, err, sizeof err);
    if (!lan) {
        fprintf(stderr, "glan bench: receiver: %s\n", err);
        _exit(1);
    }
    static struct sink sk;
    sk.bufs = malloc((size_t)SINK_SLOTS * MAX_DGRAM);
    struct glan_port_info info = {.name = "0700", .kind = GLAN_PORT_GUEST};
    struct glan_port *port = NULL;
    struct glan_addr a;
    glan_addr_parse("10.0.0.2", &a);
    if (!sk.bufs || glan_port_attach(lan, &info, &bench_sink_ops, &sk, &port) < 0 ||
        glan_addr_register(port, &a) < 0)
        _exit(1);
    c = 1;
    if (write(ready, &c, 1) != 1 || read(go, &c, 1) != 1)
        _exit(2);
    glan_port_detach(port);
    glan_lan_destroy(lan);
    _exit(0);
}

/* The receiver forked, the LAN made with the sending port on it, and the
 * receiver joined.  0, or -1 with the message said (xproc_end cleans up
 * either way). */
static int xproc_begin(struct xproc *x)
{
    /* as many buffers of the medium class (9216 bytes) as of the small, for
     * the 8972-byte rows */
    struct glan_lan_config cfg = {
        .name = "BENCHX", .buffers = 4096, .mid_buffers = 4096, .queue_len = 4096};
    char err[256] = "", c = 1;
    int gp[2], rp[2];

    snprintf(x->shm, sizeof x->shm, "/glan-bench-%d", (int)getpid());
    glan_lan_unlink_shared(x->shm);
    x->go = x->ready = x->pid = -1;
    if (pipe(gp) < 0 || pipe(rp) < 0) {
        fprintf(stderr, "glan bench: base-xproc: pipe: %s\n", strerror(errno));
        return -1;
    }
    /* The receiver is forked before the LAN (and this process's base
     * thread) exists, so no lock of another thread is copied into it. */
    fflush(NULL);
    x->pid = fork();
    if (x->pid == 0)
        xproc_receiver(x->shm, gp[0], rp[1]);
    close(gp[0]);
    close(rp[1]);
    x->go = gp[1];
    x->ready = rp[0];
    if (x->pid < 0) {
        fprintf(stderr, "glan bench: base-xproc: fork: %s\n", strerror(errno));
        return -1;
    }
    x->lan = glan_lan_create_shared(&cfg, x->shm, err, sizeof err);
    if (!x->lan) {
        fprintf(stderr, "glan bench: base-xproc: %s\n", err);
        return -1;
    }
    x->sink.bufs = malloc((size_t)SINK_SLOTS * MAX_DGRAM);
    struct glan_port_info info = {.name = "0600", .kind = GLAN_PORT_GUEST};
    struct glan_addr a;
    glan_addr_parse("10.0.0.1", &a);
    if (!x->sink.bufs || glan_port_attach(x->lan, &info, &bench_sink_ops, &x->sink, &x->port) < 0 ||
        glan_addr_register(x->port, &a) < 0) {
        fprintf(stderr, "glan bench: base-xproc: cannot set up the sending port\n");
        return -1;
    }
    if (write(x->go, &c, 1) != 1 || read(x->ready, &c, 1) != 1) {
        fprintf(stderr, "glan bench: base-xproc: the receiving process did not start\n");
        return -1;
    }
    return 0;
}

/* Send up to limit datagrams, until deadline when it is not 0 (looked at
 * every 256), with flow control as a guest whose peer's input is full: wait
 * (yielding) while XPROC_WINDOW copies are on their way.  Returns how many
 * were sent. */
static uint64_t xproc_send(struct glan_port *port, const uint8_t *pkt, uint32_t size,
                           uint64_t limit, double deadline, uint64_t *dropped)
{
    const struct glan_tx_meta meta = {.cast = GLAN_CAST_UNICAST};
    uint64_t k = 0;

    while (k < limit) {
        while (in_flight(port, dropped) >= XPROC_WINDOW)
            sched_yield();
        uint64_t batch = limit - k < 64 ? limit - k : 64;
        for (uint64_t i = 0; i < batch; i++)
            glan_port_send(port, pkt, size, &meta);
        k += batch;
        if (deadline > 0 && (k & 255) == 0 && now_s() >= deadline)
            break;
    }
    return k;
}

/* Tell the receiver to leave and reap it: the CPU seconds it used, 0 when
 * it could not be reaped (xproc_end kills it then). */
static double xproc_receiver_cpu(struct xproc *x)
{
    struct rusage ru;
    char c = 1;
    int wst;

    if (write(x->go, &c, 1) != 1 || wait4(x->pid, &wst, 0, &ru) != x->pid)
        return 0;
    x->pid = -1;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void xproc_end(struct xproc *x)
{
    close(x->go);
    close(x->ready);
    if (x->pid > 0) {
        kill(x->pid, SIGKILL);
        waitpid(x->pid, NULL, 0);
    }
    if (x->port)
        glan_port_detach(x->port);
    if (x->lan)
        glan_lan_destroy(x->lan);
    glan_lan_unlink_shared(x->shm);
    free(x->sink.bufs);
}

int bench_base_xproc(const struct opts *o, uint32_t size, struct results *rs)
{
    static struct xproc x;
    static uint8_t pkt[MAX_DGRAM];
    uint64_t dropped = 0;
    int ok = 0;

    memset(&x, 0, sizeof x);
    if (xproc_begin(&x) < 0)
        goto out;
    dgram_udp4(pkt, size, IP4(10, 0, 0, 1), IP4(10, 0, 0, 2));
    uint64_t warm = xproc_send(x.port, pkt, size, WARMUP, 0, &dropped);
    double t0 = now_s(), c0 = cpu_s();
    uint64_t n = xproc_send(x.port, pkt, size, o->count, t0 + o->seconds, &dropped);
    /* Until the last copy is in the receiver's sink. */
    double wait_end = now_s() + 10;
    while (in_flight(x.port, &dropped) > 0 && now_s() < wait_end)
        sched_yield();
    double secs = now_s() - t0, cpu = cpu_s() - c0;
    struct glan_port_stats st;
    glan_port_stats(x.port, &st);
    if (dropped || st.delivered != warm + n) {
        fprintf(stderr,
                "glan bench: base-xproc lost datagrams at %u bytes: sent %llu, delivered "
                "%llu, dropped %llu\n",
                size, (unsigned long long)(warm + n), (unsigned long long)st.delivered,
                (unsigned long long)dropped);
        goto out;
    }
    ok = 1;
    cpu += xproc_receiver_cpu(&x);
    bench_add_result(rs, "base-xproc", size, n, n, secs, cpu);
out:
    xproc_end(&x);
    return ok ? 0 : -1;
}
