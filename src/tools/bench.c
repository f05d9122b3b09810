/*
 * glan bench: measures how fast the base forwards datagrams from one guest
 * port to another (the sender's copy into base storage, the registry lookup,
 * and the receiver's copy into its input, done here by a deliver callback that
 * copies into a buffer as a device would), and compares it with the path
 * Hercules users have today: two TUN devices with the kernel routing between
 * them.  The TUN path runs in a child process inside a network namespace of
 * its own, so its devices, addresses and routes never touch the host's
 * network and vanish with the child however it ends.
 *
 * The "qdio" row is the whole guest-to-guest path of a real guest: a
 * simulated Linux qeth guest (src/simguest/) puts each datagram in an output
 * SBAL and issues SIGA-w; the OSA device model walks the buffer and hands the
 * datagram to the base, which delivers it in the same thread into the second
 * guest's input SBALs, from which that guest takes it (and returns the buffer
 * with SIGA-r), one datagram per buffer and per interrupt.
 *
 * Sizes are whole IPv4 datagrams (header included): 64, 1472 and 8972 bytes.
 * Every measurement is bounded by --seconds and --count.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guestlan/base.h"
#include "guestlan/osa.h"

#include "cmds.h"
#include "guestlan/inet.h"
#include "simguest/simguest.h"

/* The sizes measured unless --size picks one. */
static const uint32_t default_sizes[] = {64, 1472, 8972};
#define NSIZES (sizeof default_sizes / sizeof default_sizes[0])

/* The largest datagram we build, and what one receive buffer holds. */
#define MAX_DGRAM 9216
/* The sink copies into a small ring of buffers, as a device fills a queue of
 * input buffers; a power of two. */
#define SINK_SLOTS 8
/* Datagrams sent before a measurement starts, so that caches, the buffer pool
 * and (on the TUN path) the kernel's routes and queues are warm. */
#define WARMUP 2000
/* Writes into TUN A between two drains of TUN B: well under the device's
 * queue (tx_queue_len 500), so the kernel never drops for want of room. */
#define TUN_BURST 32
/* --count small: enough for a smoke test to exercise every path quickly, also
 * under the sanitizers. */
#define COUNT_SMALL 20000

struct opts {
    double seconds;
    uint64_t count;
    int json;
    int xthread;
    int xproc;
    int qdio; /* --qdio: the QDIO rows in the JSON too */
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
    struct result r[16];
    size_t n;
};

static void add_result(struct results *rs, const char *path, uint32_t size, uint64_t sent,
                       uint64_t received, double secs, double cpu_secs)
{
    if (rs->n >= sizeof rs->r / sizeof rs->r[0])
        return;
    struct result *r = &rs->r[rs->n++];
    r->path = path;
    r->size = size;
    r->sent = sent;
    r->received = received;
    r->secs = secs;
    r->cpu_secs = cpu_secs;
    r->pps = secs > 0 ? (double)received / secs : 0;
    r->gbps = r->pps * size * 8 / 1e9;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of the calling thread, its system calls included: on a machine
 * shared with other work, datagrams per CPU-second vary less than per
 * wall-clock second. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- datagrams ------------------------------------------------------------ */

/* An IPv4/UDP datagram of exactly len bytes (len >= 28) from src to dst
 * (host byte order), with a valid header checksum: the kernel path checks it,
 * and the base must see the same bytes. */
static void build_udp4(uint8_t *p, uint32_t len, uint32_t src, uint32_t dst)
{
    memset(p, 0, len);
    p[0] = 0x45;
    p[2] = (uint8_t)(len >> 8);
    p[3] = (uint8_t)len;
    p[6] = 0x40; /* DF: the kernel must forward it whole */
    p[8] = 64;   /* TTL */
    p[9] = 17;   /* UDP */
    for (int i = 0; i < 4; i++) {
        p[12 + i] = (uint8_t)(src >> (24 - 8 * i));
        p[16 + i] = (uint8_t)(dst >> (24 - 8 * i));
    }
    uint16_t ck = glan_inet_csum(0, p, 20);
    p[10] = (uint8_t)(ck >> 8);
    p[11] = (uint8_t)ck;
    uint32_t ulen = len - 20;
    p[20] = 0x9c; /* source port 40000 */
    p[21] = 0x40;
    p[22] = 0x23; /* destination port 9000 (discard-like, nobody listens) */
    p[23] = 0x28;
    p[24] = (uint8_t)(ulen >> 8);
    p[25] = (uint8_t)ulen;
    /* UDP checksum 0: allowed for IPv4, and nothing on either path checks it */
    for (uint32_t i = 28; i < len; i++)
        p[i] = (uint8_t)i;
}

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

/* ---- the base path -------------------------------------------------------- */

/* A receiving port: copies each datagram into one of its input buffers. */
struct sink {
    uint8_t *bufs;
    uint64_t got, bytes;
    uint32_t slot;
};

static int sink_deliver(void *ctx, const struct glan_dgram *dg)
{
    struct sink *s = ctx;
    uint8_t *dst = s->bufs + (size_t)(s->slot++ & (SINK_SLOTS - 1)) * MAX_DGRAM;
    memcpy(dst, dg->data, dg->len);
    s->got++;
    s->bytes += dg->len;
    return 0;
}

static const struct glan_port_ops sink_ops = {.deliver = sink_deliver};

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
                     ? glan_port_attach(b->lan, &info, &sink_ops, &b->sink[i], &b->port[i])
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
static int bench_base(const struct opts *o, uint32_t size, struct results *rs)
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
    build_udp4(f.pkt, size, IP4(10, 0, 0, 1), IP4(10, 0, 0, 2));
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
    add_result(rs, "base", size, f.sent, got, f.secs, f.cpu_secs);
    return 0;
}

/* Guest to guest, two sender threads sending to each other at once: what the
 * base's locking costs when two devices are busy. */
static int bench_base_xthread(const struct opts *o, uint32_t size, struct results *rs)
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
        build_udp4(f[i].pkt, size, IP4(10, 0, 0, 1 + i), IP4(10, 0, 0, 2 - i));
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
    add_result(rs, "base-xthread", size, sent, sent, secs, f[0].cpu_secs + f[1].cpu_secs);
    return 0;
}

/* ---- the base across two processes ------------------------------------------ */

/* Copies of its own datagrams the sender lets wait for the receiving process
 * at most: well under the wait queue, so none is dropped for want of room. */
#define XPROC_WINDOW 1024

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
    if (!sk.bufs || glan_port_attach(lan, &info, &sink_ops, &sk, &port) < 0 ||
        glan_addr_register(port, &a) < 0)
        _exit(1);
    c = 1;
    if (write(ready, &c, 1) != 1 || read(go, &c, 1) != 1)
        _exit(2);
    glan_port_detach(port);
    glan_lan_destroy(lan);
    _exit(0);
}

/* Guest to guest across processes: this process sends (port 0, 10.0.0.1)
 * into a LAN in shared memory; a second process owns the receiving port and
 * its base thread, woken through the segment's futex, copies each datagram
 * into its sink.  The time runs until the last copy is delivered; the CPU
 * time is the sender thread's plus all of the receiving process's. */
static int bench_base_xproc(const struct opts *o, uint32_t size, struct results *rs)
{
    char shm[64], err[256] = "";
    snprintf(shm, sizeof shm, "/glan-bench-%d", (int)getpid());
    glan_lan_unlink_shared(shm);
    int gp[2], rp[2];
    if (pipe(gp) < 0 || pipe(rp) < 0) {
        fprintf(stderr, "glan bench: base-xproc: pipe: %s\n", strerror(errno));
        return -1;
    }
    /* The receiver is forked before the LAN (and this process's base
     * thread) exists, so no lock of another thread is copied into it. */
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        xproc_receiver(shm, gp[0], rp[1]);
    close(gp[0]);
    close(rp[1]);
    struct glan_lan *lan = NULL;
    struct glan_port *port = NULL;
    static struct sink sk;
    int ok = 0;
    char c = 1;
    struct glan_lan_config cfg = {.name = "BENCHX", .buffers = 4096, .queue_len = 4096};
    if (pid < 0) {
        fprintf(stderr, "glan bench: base-xproc: fork: %s\n", strerror(errno));
        goto out;
    }
    lan = glan_lan_create_shared(&cfg, shm, err, sizeof err);
    if (!lan) {
        fprintf(stderr, "glan bench: base-xproc: %s\n", err);
        goto out;
    }
    sk.bufs = malloc((size_t)SINK_SLOTS * MAX_DGRAM);
    struct glan_port_info info = {.name = "0600", .kind = GLAN_PORT_GUEST};
    struct glan_addr a;
    glan_addr_parse("10.0.0.1", &a);
    if (!sk.bufs || glan_port_attach(lan, &info, &sink_ops, &sk, &port) < 0 ||
        glan_addr_register(port, &a) < 0) {
        fprintf(stderr, "glan bench: base-xproc: cannot set up the sending port\n");
        goto out;
    }
    if (write(gp[1], &c, 1) != 1 || read(rp[0], &c, 1) != 1) {
        fprintf(stderr, "glan bench: base-xproc: the receiving process did not start\n");
        goto out;
    }
    static uint8_t pkt[MAX_DGRAM];
    build_udp4(pkt, size, IP4(10, 0, 0, 1), IP4(10, 0, 0, 2));
    const struct glan_tx_meta meta = {.cast = GLAN_CAST_UNICAST};
    uint64_t dropped = 0, n = 0, warm = 0;
    double t0 = 0, c0 = 0, deadline = 0;
    for (int phase = 0; phase < 2; phase++) {
        uint64_t limit = phase ? o->count : WARMUP;
        if (phase) {
            t0 = now_s();
            c0 = cpu_s();
            deadline = t0 + o->seconds;
        }
        uint64_t k = 0;
        while (k < limit) {
            /* Flow control, as a guest whose peer's input is full: wait
             * (yielding) until the receiving process has caught up. */
            while (in_flight(port, &dropped) >= XPROC_WINDOW)
                sched_yield();
            uint64_t batch = limit - k < 64 ? limit - k : 64;
            for (uint64_t i = 0; i < batch; i++)
                glan_port_send(port, pkt, size, &meta);
            k += batch;
            if (phase && (k & 255) == 0 && now_s() >= deadline)
                break;
        }
        if (phase)
            n = k;
        else
            warm = k;
    }
    /* Until the last copy is in the receiver's sink. */
    double wait_end = now_s() + 10;
    while (in_flight(port, &dropped) > 0 && now_s() < wait_end)
        sched_yield();
    double secs = now_s() - t0, cpu = cpu_s() - c0;
    struct glan_port_stats st;
    glan_port_stats(port, &st);
    if (dropped || st.delivered != warm + n) {
        fprintf(stderr,
                "glan bench: base-xproc lost datagrams at %u bytes: sent %llu, delivered "
                "%llu, dropped %llu\n",
                size, (unsigned long long)(warm + n), (unsigned long long)st.delivered,
                (unsigned long long)dropped);
        goto out;
    }
    ok = 1;
    if (write(gp[1], &c, 1) == 1) {
        struct rusage ru;
        int wst;
        if (wait4(pid, &wst, 0, &ru) == pid) {
            pid = -1;
            cpu += (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                   (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
        }
    }
    add_result(rs, "base-xproc", size, n, n, secs, cpu);
out:
    close(gp[1]);
    close(rp[0]);
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    if (port)
        glan_port_detach(port);
    if (lan)
        glan_lan_destroy(lan);
    glan_lan_unlink_shared(shm);
    free(sk.bufs);
    sk.bufs = NULL;
    return ok ? 0 : -1;
}

/* ---- the QDIO path ------------------------------------------------------------ */

/* What guest B's driver takes from its input SBALs in one look. */
static struct sg_rx qdio_rx[8];

/* Guest A's output SBALs to guest B's input SBALs through the device model
 * and the base: one datagram per output buffer, B's input taken after each
 * SIGA-w (one interrupt each), all in this thread. */
static int bench_qdio(const struct opts *o, uint32_t size, struct results *rs)
{
    char err[256] = "";
    struct glan_lan_config cfg = {.name = "BENCH"};
    glan_lan_config_defaults(&cfg);
    struct glan_lan *lan = glan_lan_create(&cfg, err, sizeof err);
    if (!lan) {
        fprintf(stderr, "glan bench: cannot create a LAN: %s\n", err);
        return -1;
    }
    struct simguest *a = glan_sg_create(lan, "0600", 0x0600);
    struct simguest *b = glan_sg_create(lan, "0700", 0x0700);
    static const char *const aa[] = {"10.0.0.1", NULL}, *const ba[] = {"10.0.0.2", NULL};
    int rc = -1;
    if (!a || !b || glan_sg_bringup(a, aa) < 0 || glan_sg_bringup(b, ba) < 0) {
        fprintf(stderr, "glan bench: the simulated guests' bring-up failed\n");
        goto out;
    }
    static uint8_t pkt[MAX_DGRAM];
    build_udp4(pkt, size, IP4(10, 0, 0, 1), IP4(10, 0, 0, 2));
    struct sg_pkt p = {.flags = glan_sg_l3_flags(pkt, size), .data = pkt, .len = size};
    uint64_t bad = 0, got = 0;
    for (int i = 0; i < WARMUP; i++) {
        bad += glan_sg_send(a, &p, 1, 0) != 0xa1; /* SLSB_P_OUTPUT_EMPTY */
        got += (uint64_t)glan_sg_recv(b, qdio_rx, 8);
    }
    double t0 = now_s(), deadline = t0 + o->seconds, t = t0, c0 = cpu_s();
    uint64_t n = 0, warm = got;
    while (n < o->count) {
        uint64_t batch = o->count - n < 256 ? o->count - n : 256;
        for (uint64_t i = 0; i < batch; i++) {
            bad += glan_sg_send(a, &p, 1, 0) != 0xa1;
            got += (uint64_t)glan_sg_recv(b, qdio_rx, 8);
        }
        n += batch;
        t = now_s();
        if (t >= deadline)
            break;
    }
    double cpu = cpu_s() - c0;
    if (bad || got != WARMUP + n || qdio_rx[0].len != size) {
        fprintf(stderr,
                "glan bench: qdio lost datagrams at %u bytes: sent %llu, failed buffers %llu, "
                "received %llu\n",
                size, (unsigned long long)(n + WARMUP), (unsigned long long)bad,
                (unsigned long long)got);
        goto out;
    }
    add_result(rs, "qdio", size, n, got - warm, t - t0, cpu);
    rc = 0;
out:
    glan_sg_destroy(a);
    glan_sg_destroy(b);
    glan_lan_destroy(lan);
    return rc;
}

/* ---- the TUN kernel path ---------------------------------------------------- */

/* All of this runs in the child, inside its own network namespace. */

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, text, strlen(text));
    int rc = n < 0 ? -errno : 0;
    close(fd);
    return rc;
}

static int tun_open(const char *name, char *err, size_t errlen)
{
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "/dev/net/tun: %s", strerror(errno));
        return -1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        snprintf(err, errlen, "TUNSETIFF %s: %s", name, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static void set_sin(struct sockaddr *sa, uint32_t addr)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(addr);
    memcpy(sa, &sin, sizeof sin);
}

/* Address addr/24, MTU 9000, up: what `ip addr add`, `ip link set mtu` and
 * `ip link set up` would do, without depending on ip(8). */
static int if_config(int sock, const char *name, uint32_t addr, char *err, size_t errlen)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    const char *what = "SIOCSIFADDR";
    set_sin(&ifr.ifr_addr, addr);
    if (ioctl(sock, SIOCSIFADDR, &ifr) < 0)
        goto fail;
    what = "SIOCSIFNETMASK";
    set_sin(&ifr.ifr_netmask, 0xffffff00u);
    if (ioctl(sock, SIOCSIFNETMASK, &ifr) < 0)
        goto fail;
    what = "SIOCSIFMTU";
    ifr.ifr_mtu = 9000;
    if (ioctl(sock, SIOCSIFMTU, &ifr) < 0)
        goto fail;
    what = "SIOCGIFFLAGS";
    if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
        goto fail;
    what = "SIOCSIFFLAGS";
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
        goto fail;
    return 0;
fail:
    snprintf(err, errlen, "%s %s: %s", what, name, strerror(errno));
    return -1;
}

/* The route 10.203.0.0/24 dev name. */
static int route_add(int sock, const char *name, char *err, size_t errlen)
{
    struct rtentry rt;
    char dev[IFNAMSIZ];
    memset(&rt, 0, sizeof rt);
    snprintf(dev, sizeof dev, "%s", name);
    set_sin(&rt.rt_dst, IP4(10, 203, 0, 0));
    set_sin(&rt.rt_genmask, 0xffffff00u);
    set_sin(&rt.rt_gateway, 0);
    rt.rt_flags = RTF_UP;
    rt.rt_dev = dev;
    if (ioctl(sock, SIOCADDRT, &rt) < 0) {
        snprintf(err, errlen, "SIOCADDRT 10.203.0.0/24 dev %s: %s", name, strerror(errno));
        return -1;
    }
    return 0;
}

/* Is this what we sent (and not, say, an IPv6 router solicitation)? */
static int is_ours(const uint8_t *p, ssize_t n)
{
    return n >= 20 && p[0] == 0x45 && p[9] == 17 && p[16] == 10 && p[17] == 203;
}

/* Read whatever TUN B holds now; returns how many of ours it read. */
static uint64_t tun_drain(int fd, uint8_t *buf)
{
    uint64_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf, MAX_DGRAM);
        if (n < 0)
            break;
        if (is_ours(buf, n))
            got++;
    }
    return got;
}

/* Wait (bounded) for the datagrams still in flight to come out of TUN B. */
static uint64_t tun_settle(int fd, uint8_t *buf, uint64_t missing)
{
    uint64_t got = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (got < missing && poll(&p, 1, 50) > 0)
        got += tun_drain(fd, buf);
    return got;
}

/* Write into TUN A, read from TUN B, in bursts, one thread: the kernel does
 * the forwarding in the writer's context, as it would for Hercules' device
 * threads writing to their TUN devices. */
static void tun_measure(int fa, int fb, uint32_t size, const struct opts *o, FILE *out)
{
    static uint8_t pkt[MAX_DGRAM], buf[MAX_DGRAM];
    build_udp4(pkt, size, IP4(10, 201, 0, 2), IP4(10, 203, 0, 5));
    uint64_t sent = 0, got = 0, errors = 0;
    for (int i = 0; i < WARMUP; i++) {
        if (write(fa, pkt, size) == (ssize_t)size)
            sent++;
        if (i % TUN_BURST == TUN_BURST - 1)
            got += tun_drain(fb, buf);
    }
    got += tun_drain(fb, buf);
    got += tun_settle(fb, buf, sent - got);
    if (got == 0) {
        fprintf(out, "E %u nothing came out of TUN B during the warm-up\n", size);
        return;
    }
    sent = got = 0;
    double t0 = now_s(), deadline = t0 + o->seconds, t = t0, c0 = cpu_s();
    while (sent < o->count) {
        uint64_t burst = o->count - sent < TUN_BURST ? o->count - sent : TUN_BURST;
        for (uint64_t i = 0; i < burst; i++) {
            if (write(fa, pkt, size) == (ssize_t)size)
                sent++;
            else
                errors++;
        }
        got += tun_drain(fb, buf);
        t = now_s();
        if (t >= deadline || errors > 1000)
            break;
    }
    got += tun_settle(fb, buf, sent - got);
    t = now_s();
    fprintf(out, "R %u %llu %llu %.9f %llu %.9f\n", size, (unsigned long long)sent,
            (unsigned long long)got, t - t0, (unsigned long long)errors, cpu_s() - c0);
}

/* The child: make a network namespace, two TUN devices and a route, measure,
 * report on out as lines ("R size sent received secs errors cpu-secs", "S reason" when
 * skipped, "E message" on error).  Everything it made goes when it exits. */
static int tun_child(FILE *out, const struct opts *o)
{
    char err[256];
    if (unshare(CLONE_NEWNET) < 0) {
        fprintf(out, "S cannot create a network namespace: %s\n", strerror(errno));
        return 0;
    }
    /* Forwarding on; reverse-path filtering off (the source 10.201.0.2 is on
     * TUN A's subnet anyway); no IPv6 chatter (router solicitations) on the
     * devices. */
    if (write_file("/proc/sys/net/ipv4/ip_forward", "1\n") < 0) {
        fprintf(out, "E cannot enable forwarding in the namespace\n");
        return 1;
    }
    write_file("/proc/sys/net/ipv4/conf/all/rp_filter", "0\n");
    write_file("/proc/sys/net/ipv4/conf/default/rp_filter", "0\n");
    write_file("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1\n");
    write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1\n");
    int fa = tun_open("gbench0", err, sizeof err);
    if (fa < 0) {
        fprintf(out, "S %s\n", err);
        return 0;
    }
    int fb = tun_open("gbench1", err, sizeof err);
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fb < 0 || sock < 0 || if_config(sock, "gbench0", IP4(10, 201, 0, 1), err, sizeof err) ||
        if_config(sock, "gbench1", IP4(10, 202, 0, 1), err, sizeof err) ||
        route_add(sock, "gbench1", err, sizeof err)) {
        fprintf(out, "E %s\n", fb < 0 || sock >= 0 ? err : "socket failed");
        return 1;
    }
    write_file("/proc/sys/net/ipv4/conf/gbench0/rp_filter", "0\n");
    for (size_t i = 0; i < o->nsizes; i++) {
        tun_measure(fa, fb, o->sizes[i], o, out);
        fflush(out);
    }
    /* The kernel removes both devices and the namespace when we exit. */
    return 0;
}

static int parse_line(const char *line, struct results *rs)
{
    unsigned size;
    unsigned long long sent, got, errors;
    double secs, cpu;
    if (sscanf(line, "R %u %llu %llu %lf %llu %lf", &size, &sent, &got, &secs, &errors, &cpu) ==
        6) {
        if (got < sent)
            fprintf(stderr, "glan bench: tun-kernel at %u bytes: %llu of %llu datagrams lost\n",
                    size, sent - got, sent);
        if (errors)
            fprintf(stderr, "glan bench: tun-kernel at %u bytes: %llu writes failed\n", size,
                    errors);
        add_result(rs, "tun-kernel", size, sent, got, secs, cpu);
        return 0;
    }
    if (line[0] == 'S') {
        fprintf(stderr, "glan bench: tun-kernel path skipped: %s", line + 2);
        return 0;
    }
    fprintf(stderr, "glan bench: tun-kernel path: %s", line[0] == 'E' ? line + 2 : line);
    return -1;
}

/* Run the TUN path in a child and collect its lines; kill it if it outlives
 * its bound (it should never: each measurement ends by itself). */
static int bench_tun(const struct opts *o, struct results *rs)
{
    if (geteuid() != 0) {
        fprintf(stderr, "glan bench: tun-kernel path skipped: needs root (network namespace "
                        "and TUN devices)\n");
        return 0;
    }
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        fprintf(stderr, "glan bench: pipe: %s\n", strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "glan bench: fork: %s\n", strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (pid == 0) {
        /* If we are killed, the child goes too (and with it the namespace);
         * it is bounded anyway, this just spares the wait. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(pfd[0]);
        FILE *out = fdopen(pfd[1], "w");
        _exit(out ? tun_child(out, o) : 1);
    }
    close(pfd[1]);
    double deadline = now_s() + (double)o->nsizes * (o->seconds + 2) + 10;
    char text[4096];
    size_t len = 0;
    int timed_out = 0;
    for (;;) {
        struct pollfd p = {.fd = pfd[0], .events = POLLIN};
        double left = deadline - now_s();
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        int r = poll(&p, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            continue;
        ssize_t n = read(pfd[0], text + len, sizeof text - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == sizeof text - 1)
            break;
    }
    close(pfd[0]);
    if (timed_out)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    text[len] = 0;
    int rc = 0;
    for (char *line = text, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (!nl)
            break;
        char save = nl[1];
        nl[1] = 0;
        if (parse_line(line, rs) < 0)
            rc = -1;
        nl[1] = save;
    }
    if (timed_out) {
        fprintf(stderr, "glan bench: tun-kernel path did not finish in time\n");
        rc = -1;
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "glan bench: tun-kernel child failed\n");
        rc = -1;
    }
    return rc;
}

/* ---- output and options ---------------------------------------------------- */

static void print_json(const struct results *rs)
{
    printf("{\"results\":[");
    for (size_t i = 0; i < rs->n; i++) {
        const struct result *r = &rs->r[i];
        printf("%s{\"path\":\"%s\",\"size\":%u,\"pps\":%.1f,\"gbps\":%.4f}", i ? "," : "", r->path,
               r->size, r->pps, r->gbps);
    }
    printf("]}\n");
}

static const struct result *find(const struct results *rs, const char *path, uint32_t size)
{
    for (size_t i = 0; i < rs->n; i++)
        if (!strcmp(rs->r[i].path, path) && rs->r[i].size == size)
            return &rs->r[i];
    return NULL;
}

static void print_table(const struct results *rs, const struct opts *o)
{
    printf("%-13s %6s %14s %10s %12s %8s %8s %14s\n", "path", "size", "datagrams/s", "Gbit/s",
           "datagrams", "seconds", "CPU s", "per CPU-s");
    for (size_t i = 0; i < rs->n; i++) {
        const struct result *r = &rs->r[i];
        printf("%-13s %6u %14.0f %10.3f %12llu %8.3f %8.3f %14.0f\n", r->path, r->size, r->pps,
               r->gbps, (unsigned long long)r->received, r->secs, r->cpu_secs,
               r->cpu_secs > 0 ? (double)r->received / r->cpu_secs : 0);
    }
    /* Two ratios: per wall-clock second (what the goals of issues 2 and 6
     * ask), and per CPU-second (what is left when other work shares the
     * CPUs); for the base in one process and across two, and for the whole
     * QDIO path between two guests (issue 3). */
    static const char *const paths[] = {"base", "base-xproc", "qdio"};
    int first = 1;
    for (int pi = 0; pi < 3; pi++)
        for (int cpu = 0; cpu < 2; cpu++) {
            int header = 0;
            for (size_t i = 0; i < o->nsizes; i++) {
                const struct result *b = find(rs, paths[pi], o->sizes[i]);
                const struct result *t = find(rs, "tun-kernel", o->sizes[i]);
                if (!b || !t || t->received == 0 || t->secs <= 0 || t->cpu_secs <= 0 ||
                    b->cpu_secs <= 0)
                    continue;
                double rb = (double)b->received / (cpu ? b->cpu_secs : b->secs);
                double rt = (double)t->received / (cpu ? t->cpu_secs : t->secs);
                if (!header++)
                    printf("%s%s / tun-kernel, datagrams per %s:", first ? "\n" : "", paths[pi],
                           cpu ? "CPU-second" : "second");
                first = 0;
                printf("  %u B: %.1fx", o->sizes[i], rb / rt);
            }
            if (header)
                printf("\n");
        }
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: glan bench [--json] [--seconds S] [--count N|small] [--size N] [--xthread]\n"
            "                  [--xproc] [--qdio] [--no-tun]\n"
            "\n"
            "Measures the base's guest-to-guest forwarding rate (copy into base storage,\n"
            "registry lookup, copy into the peer's input) for 64, 1472 and 8972-byte IPv4\n"
            "datagrams; the same between two simulated Linux guests through their QDIO\n"
            "SBALs and the OSA device model (path \"qdio\"); and, when run as root, the\n"
            "kernel path between two TUN devices in a network namespace the bench creates\n"
            "and removes itself.\n"
            "\n"
            "  --json       print {\"results\":[{\"path\":\"base\"|\"tun-kernel\",\"size\":N,\n"
            "               \"pps\":X,\"gbps\":Y}, ...]} and nothing else on stdout\n"
            "  --seconds S  bound each measurement to S seconds (default 1)\n"
            "  --count N    bound each measurement to N datagrams ('small': %d)\n"
            "  --size N     measure N-byte datagrams only (28..%d)\n"
            "  --xthread    also measure two sender threads sending to each other\n"
            "               (path \"base-xthread\"; always shown in the table)\n"
            "  --xproc      also put the cross-process rows in the JSON (path\n"
            "               \"base-xproc\": sender and receiver in two processes on a LAN\n"
            "               in shared memory; always shown in the table)\n"
            "  --qdio       also put the QDIO rows in the JSON (path \"qdio\": guest A's\n"
            "               output SBALs to guest B's input SBALs through the OSA device\n"
            "               model and the base; always shown in the table)\n"
            "  --no-tun     skip the TUN kernel path\n"
            "\n"
            "Sizes are whole IPv4 datagrams, header included; gbps counts those bytes.\n"
            "Exit status: 0 done, 1 a measurement failed, 2 bad usage.\n",
            COUNT_SMALL, MAX_DGRAM);
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 1;
        } else if (!strcmp(a, "--json")) {
            o->json = 1;
        } else if (!strcmp(a, "--xthread")) {
            o->xthread = 1;
        } else if (!strcmp(a, "--xproc")) {
            o->xproc = 1;
        } else if (!strcmp(a, "--qdio")) {
            o->qdio = 1;
        } else if (!strcmp(a, "--no-tun")) {
            o->no_tun = 1;
        } else if (!strcmp(a, "--size")) {
            char *end;
            unsigned long n = i + 1 < argc ? strtoul(argv[i + 1], &end, 10) : 0;
            if (i + 1 >= argc || end == argv[i + 1] || *end || n < 28 || n > MAX_DGRAM) {
                fprintf(stderr, "glan bench: --size wants 28..%d bytes\n", MAX_DGRAM);
                return -1;
            }
            i++;
            o->sizes[0] = (uint32_t)n;
            o->nsizes = 1;
        } else if (!strcmp(a, "--seconds") || !strcmp(a, "--count")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "glan bench: %s needs a value\n", a);
                return -1;
            }
            const char *v = argv[++i];
            char *end;
            if (!strcmp(a, "--seconds")) {
                double s = strtod(v, &end);
                if (end == v || *end || !(s > 0 && s <= 3600)) {
                    fprintf(stderr, "glan bench: --seconds wants 0 < S <= 3600, not '%s'\n", v);
                    return -1;
                }
                o->seconds = s;
            } else if (!strcmp(v, "small")) {
                o->count = COUNT_SMALL;
            } else {
                errno = 0;
                unsigned long long n = strtoull(v, &end, 10);
                if (end == v || *end || errno || n == 0 || v[0] == '-') {
                    fprintf(stderr,
                            "glan bench: --count wants a positive number or 'small', "
                            "not '%s'\n",
                            v);
                    return -1;
                }
                o->count = n;
            }
        } else {
            fprintf(stderr, "glan bench: unknown option '%s' (try 'glan bench --help')\n", a);
            return -1;
        }
    }
    return 0;
}

int cmd_bench(int argc, char **argv)
{
    struct opts o = {.seconds = 1.0, .count = UINT64_MAX, .nsizes = NSIZES};
    memcpy(o.sizes, default_sizes, sizeof default_sizes);
    int p = parse_opts(argc, argv, &o);
    if (p != 0)
        return p > 0 ? 0 : 2;
    /* A reader that goes away must not kill us before the TUN child is
     * reaped. */
    signal(SIGPIPE, SIG_IGN);
    static struct results rs;
    int failed = 0;
    for (size_t i = 0; i < o.nsizes; i++)
        if (bench_base(&o, o.sizes[i], &rs) < 0)
            failed = 1;
    /* The table always shows the two-thread rows; JSON only when asked, so
     * that its rows stay "base" and "tun-kernel" by default. */
    for (size_t i = 0; i < o.nsizes && !failed && (o.xthread || !o.json); i++)
        if (bench_base_xthread(&o, o.sizes[i], &rs) < 0)
            failed = 1;
    for (size_t i = 0; i < o.nsizes && !failed && (o.xproc || !o.json); i++)
        if (bench_base_xproc(&o, o.sizes[i], &rs) < 0)
            failed = 1;
    for (size_t i = 0; i < o.nsizes && !failed && (o.qdio || !o.json); i++)
        if (bench_qdio(&o, o.sizes[i], &rs) < 0)
            failed = 1;
    if (!o.no_tun && bench_tun(&o, &rs) < 0)
        failed = 1;
    if (o.json)
        print_json(&rs);
    else
        print_table(&rs, &o);
    return failed;
}
