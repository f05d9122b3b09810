/*
 * Back-pressure (docs/design.md, "Waiting for room"): a sender that can
 * wait (glan_port_tx_try, a port with the unblocked op) is told to wait
 * instead of losing a datagram to a receiver without room; the receiver's
 * drainer (in this or another process) or, at the latest after stuck_ms,
 * the waiter's base thread ends the wait.  A receiver that takes nothing is
 * stuck after stuck_ms: nobody waits for it any more and its copies expire.
 * A process killed while it waits, or while it is waited for, wedges
 * nobody.  Children of the process tests are forked before the LAN exists
 * (test_shm.c says why) and report by exit status.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guestlan/base.h"
#include "testport.h"

/* A sender that can wait: it counts the unblocked calls (from any thread)
 * and what it receives. */
struct waiter {
    struct glan_port *port;
    _Atomic unsigned unblocked;
    _Atomic unsigned got;
};

static int w_deliver(void *ctx, const struct glan_dgram *dg)
{
    (void)dg;
    struct waiter *w = ctx;
    atomic_fetch_add(&w->got, 1);
    return 0;
}

static void w_unblocked(void *ctx)
{
    struct waiter *w = ctx;
    atomic_fetch_add(&w->unblocked, 1);
}

static const struct glan_port_ops waiter_ops = {.deliver = w_deliver, .unblocked = w_unblocked};

static int w_attach(struct waiter *w, struct glan_lan *lan, const char *name, const char *addr)
{
    memset(w, 0, sizeof *w);
    struct glan_port_info info = {.name = name, .kind = GLAN_PORT_GUEST};
    int rc = glan_port_attach(lan, &info, &waiter_ops, w, &w->port);
    struct glan_addr a;
    if (rc == 0 && glan_addr_parse(addr, &a) == 0)
        rc = glan_addr_register(w->port, &a);
    return rc;
}

/* Send one datagram as a device that can wait does: -EAGAIN (nothing sent,
 * the caller tries again once unblocked) or 0 with the verdict in *why. */
static int try_send(struct glan_port *p, const char *src, const char *dst, size_t len, uint32_t tag,
                    enum glan_drop *why)
{
    uint8_t buf[1500];
    if (tp_build_quiet(buf, len, src, dst, tag) != len)
        return -EINVAL;
    struct glan_txbuf tb;
    *why = glan_port_tx_begin(p, len, &tb);
    if (*why != GLAN_DROP_NONE)
        return 0;
    memcpy(tb.data, buf, len);
    int rc = glan_port_tx_try(p, &tb, len, NULL, why);
    if (rc == -EAGAIN)
        glan_port_tx_abort(p, &tb);
    return rc;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Until w was unblocked more than `before` times; 0, or -1 after 30 s (a
 * safety net for a hang, not a measure). */
static int await_unblocked(struct waiter *w, unsigned before)
{
    for (int i = 0; i < 30000; i++) {
        if (atomic_load(&w->unblocked) > before)
            return 0;
        usleep(1000);
    }
    return -1;
}

static struct glan_lan *private_lan(uint32_t stuck_ms, uint32_t buffers)
{
    struct glan_lan_config cfg = {
        .name = "WAIT", .max_ports = 16, .buffers = buffers, .stuck_ms = stuck_ms};
    char err[200];
    struct glan_lan *lan = glan_lan_create(&cfg, err, sizeof err);
    ck_assert_msg(lan != NULL, "%s", err);
    return lan;
}

static void check_books(struct glan_lan *lan)
{
    tp_check_balance(lan);
    struct glan_lan_stats st;
    glan_lan_stats(lan, &st);
    ck_assert_uint_eq(st.buffers_in_use, 0);
}

/* ---- in one process ----------------------------------------------------------------- */

/* A receiver that takes its input 50 datagrams at a time: the sender waits
 * whenever its queue is full, the receiver's drainer (here the kicking
 * thread) ends each wait, and every datagram arrives in order. */
START_TEST(slow_receiver_loses_nothing)
{
    struct glan_lan *lan = private_lan(60000, 0);
    struct waiter s;
    ck_assert_int_eq(w_attach(&s, lan, "s", "10.9.0.1"), 0);
    struct testport r;
    static const char *const ra[] = {"10.9.0.2", NULL};
    tp_attach(&r, lan, "r", ra);
    r.room = 0;
    enum { N = 4000 };
    unsigned waits = 0;
    for (uint32_t tag = 0; tag < N;) {
        enum glan_drop why;
        int rc = try_send(s.port, "10.9.0.1", "10.9.0.2", 200, tag, &why);
        if (rc == 0) {
            ck_assert_int_eq(why, GLAN_DROP_NONE);
            tag++;
            continue;
        }
        ck_assert_int_eq(rc, -EAGAIN);
        waits++;
        /* The output waits; the receiver's guest gives input buffers back,
         * and its drainer (this thread) ends the wait. */
        unsigned before = atomic_load(&s.unblocked);
        r.room = 50;
        glan_port_kick(r.port);
        ck_assert_uint_gt(atomic_load(&s.unblocked), before);
    }
    r.room = -1;
    glan_port_kick(r.port);
    ck_assert_uint_gt(waits, 0);
    ck_assert_uint_eq(r.n, N);
    for (uint32_t i = 0; i < N; i++)
        ck_assert_uint_eq(r.tags[i], i);
    struct glan_port_stats ps;
    glan_port_stats(s.port, &ps);
    for (int d = 0; d < GLAN_DROP_COUNT; d++)
        ck_assert_uint_eq(ps.dropped[d], 0);
    ck_assert_uint_eq(ps.delivered, N);
    ck_assert_uint_eq(ps.waits, waits);
    printf("wait: %d datagrams to a receiver taking 50 at a time: %u waits, none lost\n", N, waits);
    glan_port_detach(s.port);
    glan_port_detach(r.port);
    check_books(lan);
    glan_lan_destroy(lan);
}
END_TEST

/* On an ETHERNET LAN the sender waits for the receiver that holds the
 * frame's destination MAC, as for an IP address: a receiver that takes
 * nothing fills its queue, the sender is told to wait, nothing is dropped,
 * and once the receiver takes its input every frame arrives. */
START_TEST(ethernet_frames_wait_too)
{
    struct glan_lan_config cfg = {
        .name = "WAITL2", .max_ports = 16, .stuck_ms = 60000, .transport = GLAN_TRANSPORT_ETHERNET};
    char err[200];
    struct glan_lan *lan = glan_lan_create(&cfg, err, sizeof err);
    ck_assert_msg(lan != NULL, "%s", err);
    static const uint8_t smac[6] = {2, 0, 0, 0, 0, 1}, rmac[6] = {2, 0, 0, 0, 0, 2};
    struct waiter s;
    memset(&s, 0, sizeof s);
    struct glan_port_info info = {.name = "s", .kind = GLAN_PORT_GUEST};
    ck_assert_int_eq(glan_port_attach(lan, &info, &waiter_ops, &s, &s.port), 0);
    struct glan_addr a;
    glan_addr_mac(&a, smac);
    ck_assert_int_eq(glan_addr_register(s.port, &a), 0);
    struct testport r;
    tp_attach(&r, lan, "r", NULL);
    glan_addr_mac(&a, rmac);
    ck_assert_int_eq(glan_addr_register(r.port, &a), 0);
    r.room = 0;
    uint32_t sent = 0;
    int waited = 0;
    while (!waited && sent < 4000) {
        struct glan_txbuf tb;
        ck_assert_int_eq(glan_port_tx_begin(s.port, 100, &tb), GLAN_DROP_NONE);
        memset(tb.data, 0, 100);
        memcpy(tb.data, rmac, 6);
        memcpy(tb.data + 6, smac, 6);
        tb.data[12] = 0x88; /* a local experimental EtherType */
        tb.data[13] = 0xb5;
        memcpy(tb.data + 20, &sent, sizeof sent); /* where the test port reads a tag */
        enum glan_drop why;
        if (glan_port_tx_try(s.port, &tb, 100, NULL, &why) == -EAGAIN) {
            glan_port_tx_abort(s.port, &tb);
            waited = 1;
        } else {
            ck_assert_int_eq(why, GLAN_DROP_NONE);
            sent++;
        }
    }
    ck_assert_msg(waited, "the sender never waited for the full receiver");
    struct glan_lan_stats st;
    glan_lan_stats(lan, &st);
    ck_assert_uint_eq(st.dropped[GLAN_DROP_QUEUE_FULL], 0);
    ck_assert_uint_eq(st.queued, sent);
    r.room = -1;
    glan_port_kick(r.port);
    ck_assert_uint_eq(r.n, sent);
    for (uint32_t i = 0; i < sent; i++)
        ck_assert_uint_eq(r.tags[i], i);
    glan_port_detach(s.port);
    glan_port_detach(r.port);
    check_books(lan);
    glan_lan_destroy(lan);
}
END_TEST

/* A receiver that never takes anything: the sender waits until its base
 * thread ends the wait at the bound; the receiver is then stuck, what
 * waited for it expires, and nobody waits for it again. */
START_TEST(never_draining_receiver_bounds_the_wait)
{
    struct glan_lan *lan = private_lan(100, 0);
    struct waiter s;
    ck_assert_int_eq(w_attach(&s, lan, "s", "10.9.0.1"), 0);
    struct testport r;
    static const char *const ra[] = {"10.9.0.2", NULL};
    tp_attach(&r, lan, "r", ra);
    r.room = 0;
    enum glan_drop why;
    uint32_t tag = 0;
    int rc;
    while ((rc = try_send(s.port, "10.9.0.1", "10.9.0.2", 200, tag, &why)) == 0) {
        ck_assert_int_eq(why, GLAN_DROP_NONE);
        tag++;
    }
    ck_assert_int_eq(rc, -EAGAIN);
    uint64_t t0 = now_ms();
    ck_assert_int_eq(await_unblocked(&s, 0), 0);
    uint64_t waited = now_ms() - t0;
    /* Tried again: the receiver is stuck, the datagram expires. */
    ck_assert_int_eq(try_send(s.port, "10.9.0.1", "10.9.0.2", 200, tag, &why), 0);
    ck_assert_int_eq(why, GLAN_DROP_NONE); /* counted at the queue: expired */
    for (int i = 0; i < 100; i++) {
        ck_assert_int_eq(try_send(s.port, "10.9.0.1", "10.9.0.2", 200, tag, &why), 0);
        ck_assert_int_eq(why, GLAN_DROP_NONE);
    }
    struct glan_port_stats ps, pr;
    glan_port_stats(s.port, &ps);
    glan_port_stats(r.port, &pr);
    ck_assert_uint_eq(ps.dropped[GLAN_DROP_EXPIRED], tag + 101);
    ck_assert_uint_eq(ps.dropped[GLAN_DROP_QUEUE_FULL], 0);
    ck_assert_uint_eq(ps.waits, 1);
    ck_assert_uint_eq(pr.queued, 0);
    ck_assert_uint_eq(r.n, 0);
    printf("wait: a receiver that takes nothing (stuck_ms 100) held its sender %llu ms; then "
           "%u copies expired\n",
           (unsigned long long)waited, tag + 101);
    glan_port_detach(s.port);
    glan_port_detach(r.port);
    check_books(lan);
    glan_lan_destroy(lan);
}
END_TEST

/* Eight receivers that take nothing beside two healthy senders that can
 * wait and exchange unicast and broadcast datagrams, and also send to the
 * stuck ones: the healthy pair loses nothing, and every wait ends (at the
 * latest at the bound, by the base thread). */
START_TEST(eight_stuck_guests_never_stall_the_healthy)
{
    struct glan_lan *lan = private_lan(100, 512);
    struct waiter a, b;
    ck_assert_int_eq(w_attach(&a, lan, "a", "10.9.0.1"), 0);
    ck_assert_int_eq(w_attach(&b, lan, "b", "10.9.0.2"), 0);
    struct testport stuck[8];
    for (int i = 0; i < 8; i++) {
        char name[8], ip[32];
        snprintf(name, sizeof name, "s%d", i);
        snprintf(ip, sizeof ip, "10.9.1.%d", i + 1);
        const char *addrs[] = {ip, NULL};
        tp_attach(&stuck[i], lan, name, addrs);
        stuck[i].room = 0;
    }
    enum { ROUNDS = 3000 };
    unsigned waits = 0;
    uint64_t longest = 0;
    for (uint32_t i = 0; i < ROUNDS; i++) {
        struct {
            struct waiter *w;
            const char *src;
            char dst[32];
        } m[3] = {{&a, "10.9.0.1", "10.9.0.2"},
                  {&b, "10.9.0.2", "10.9.0.1"},
                  {&a, "10.9.0.1", "255.255.255.255"}};
        int nm = 3;
        if (i % 2) {
            m[2].w = &b;
            m[2].src = "10.9.0.2";
            snprintf(m[2].dst, sizeof m[2].dst, "10.9.1.%u", 1 + i / 2 % 8);
        }
        for (int k = 0; k < nm; k++) {
            enum glan_drop why;
            for (;;) {
                unsigned before = atomic_load(&m[k].w->unblocked);
                int rc = try_send(m[k].w->port, m[k].src, m[k].dst, 300, i, &why);
                if (rc == 0)
                    break;
                ck_assert_int_eq(rc, -EAGAIN);
                waits++;
                uint64_t t0 = now_ms();
                ck_assert_int_eq(await_unblocked(m[k].w, before), 0);
                if (now_ms() - t0 > longest)
                    longest = now_ms() - t0;
            }
            /* the healthy pair never refuses; the stuck ones' copies are
             * counted where they end */
            ck_assert_int_eq(why, GLAN_DROP_NONE);
        }
    }
    /* a got every unicast of b; b every unicast and broadcast of a */
    ck_assert_uint_eq(atomic_load(&a.got), ROUNDS);
    ck_assert_uint_eq(atomic_load(&b.got), ROUNDS + ROUNDS / 2);
    struct glan_port_stats pa, pb;
    glan_port_stats(a.port, &pa);
    glan_port_stats(b.port, &pb);
    ck_assert_uint_eq(pa.recv_dropped, 0);
    ck_assert_uint_eq(pb.recv_dropped, 0);
    ck_assert_uint_eq(pa.dropped[GLAN_DROP_NO_BUFFER] + pb.dropped[GLAN_DROP_NO_BUFFER], 0);
    struct glan_lan_stats st;
    glan_lan_stats(lan, &st);
    ck_assert_uint_eq(st.dropped[GLAN_DROP_NO_BUFFER], 0);
    ck_assert_uint_gt(st.dropped[GLAN_DROP_EXPIRED], 0);
    printf("wait: 8 stuck guests, 2 healthy senders that wait: %u waits, the longest %llu ms "
           "(stuck_ms 100); %llu copies expired, %llu queue_full\n",
           waits, (unsigned long long)longest, (unsigned long long)st.dropped[GLAN_DROP_EXPIRED],
           (unsigned long long)st.dropped[GLAN_DROP_QUEUE_FULL]);
    for (int i = 0; i < 8; i++)
        glan_port_detach(stuck[i].port);
    glan_port_detach(a.port);
    glan_port_detach(b.port);
    check_books(lan);
    glan_lan_destroy(lan);
}
END_TEST

/* ---- across processes ---------------------------------------------------------------- */

static char shm_name[64];

static void use_name(void)
{
    snprintf(shm_name, sizeof shm_name, "/glan-test-%d-wait", (int)getpid());
    glan_lan_unlink_shared(shm_name);
}

static void sync_write(int fd)
{
    char c = 1;
    if (write(fd, &c, 1) != 1)
        _exit(20);
}

static void sync_read(int fd)
{
    char c;
    if (read(fd, &c, 1) != 1)
        _exit(21);
}

/* A receiver in a child: takes nothing until told, then everything. */
struct xr {
    _Atomic int open;
    _Atomic unsigned got;
};

static int xr_deliver(void *ctx, const struct glan_dgram *dg)
{
    (void)dg;
    struct xr *x = ctx;
    if (!atomic_load(&x->open))
        return -EAGAIN;
    atomic_fetch_add(&x->got, 1);
    return 0;
}

static const struct glan_port_ops xr_ops = {.deliver = xr_deliver};

/* The child: attach a receiver 10.9.2.1 once the LAN exists (created),
 * say so (ready); on go, open and kick; exit when it has `want` (the count
 * comes through go as a second byte: nothing to count when 0). */
static void receiver_child(int created, int ready, int go)
{
    sync_read(created);
    char err[200];
    struct glan_lan *lan = glan_lan_attach_shared(shm_name, err, sizeof err);
    if (!lan)
        _exit(10);
    static struct xr x;
    struct glan_port *p;
    struct glan_port_info info = {.name = "rx", .kind = GLAN_PORT_GUEST};
    struct glan_addr a;
    if (glan_port_attach(lan, &info, &xr_ops, &x, &p) < 0 || glan_addr_parse("10.9.2.1", &a) < 0 ||
        glan_addr_register(p, &a) < 0)
        _exit(11);
    sync_write(ready);
    sync_read(go);
    atomic_store(&x.open, 1);
    glan_port_kick(p);
    sync_read(go); /* the parent is done */
    glan_port_detach(p);
    glan_lan_destroy(lan);
    _exit(0);
}

static struct glan_lan *shared_wait_lan(uint32_t stuck_ms)
{
    struct glan_lan_config cfg = {
        .name = "WAITX", .max_ports = 8, .buffers = 2048, .buffer_size = 576, .stuck_ms = stuck_ms};
    char err[200];
    struct glan_lan *lan = glan_lan_create_shared(&cfg, shm_name, err, sizeof err);
    ck_assert_msg(lan != NULL, "%s", err);
    return lan;
}

/* Send from s to 10.9.2.1 until told to wait; how many went. */
static uint32_t fill_until_wait(struct waiter *s)
{
    enum glan_drop why;
    uint32_t tag = 0;
    int rc;
    while ((rc = try_send(s->port, "10.9.0.1", "10.9.2.1", 100, tag, &why)) == 0) {
        ck_assert_int_eq(why, GLAN_DROP_NONE);
        tag++;
    }
    ck_assert_int_eq(rc, -EAGAIN);
    return tag;
}

/* The receiver is in another process: its drainer releases our wait and
 * wakes our base thread, which calls unblocked (stuck_ms is a minute, so
 * the bound cannot be what ends it). */
START_TEST(waiting_sender_woken_from_another_process)
{
    use_name();
    int cp[2], rp[2], gp[2];
    ck_assert_int_eq(pipe(cp), 0);
    ck_assert_int_eq(pipe(rp), 0);
    ck_assert_int_eq(pipe(gp), 0);
    pid_t kid = fork();
    ck_assert_int_ge(kid, 0);
    if (kid == 0)
        receiver_child(cp[0], rp[1], gp[0]);
    struct glan_lan *lan = shared_wait_lan(60000);
    sync_write(cp[1]);
    sync_read(rp[0]);
    struct waiter s;
    ck_assert_int_eq(w_attach(&s, lan, "s", "10.9.0.1"), 0);
    uint32_t sent = fill_until_wait(&s);
    sync_write(gp[1]); /* the child takes its input */
    ck_assert_int_eq(await_unblocked(&s, 0), 0);
    enum glan_drop why;
    ck_assert_int_eq(try_send(s.port, "10.9.0.1", "10.9.2.1", 100, sent, &why), 0);
    ck_assert_int_eq(why, GLAN_DROP_NONE);
    struct glan_port_stats ps;
    glan_port_stats(s.port, &ps);
    ck_assert_uint_eq(ps.waits, 1);
    ck_assert_uint_gt(ps.wait_ns, 0);
    for (int i = 0; i < 20000 && ps.delivered < sent + 1; i++) {
        usleep(1000);
        glan_port_stats(s.port, &ps);
    }
    ck_assert_uint_eq(ps.delivered, sent + 1);
    for (int d = 0; d < GLAN_DROP_COUNT; d++)
        ck_assert_uint_eq(ps.dropped[d], 0);
    sync_write(gp[1]);
    int st;
    ck_assert_int_eq(waitpid(kid, &st, 0), kid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
    glan_port_detach(s.port);
    check_books(lan);
    glan_lan_destroy(lan);
    glan_lan_unlink_shared(shm_name);
}
END_TEST

/* The receiver's process is SIGKILLed while we wait for it: its recovery
 * ends our wait (not the bound, a minute away); our datagram then has no
 * receiver.  Nothing is left in use. */
START_TEST(killed_while_waited_for)
{
    use_name();
    int cp[2], rp[2], gp[2];
    ck_assert_int_eq(pipe(cp), 0);
    ck_assert_int_eq(pipe(rp), 0);
    ck_assert_int_eq(pipe(gp), 0);
    pid_t kid = fork();
    ck_assert_int_ge(kid, 0);
    if (kid == 0)
        receiver_child(cp[0], rp[1], gp[0]);
    struct glan_lan *lan = shared_wait_lan(60000);
    sync_write(cp[1]);
    sync_read(rp[0]);
    struct waiter s;
    ck_assert_int_eq(w_attach(&s, lan, "s", "10.9.0.1"), 0);
    uint32_t sent = fill_until_wait(&s);
    kill(kid, SIGKILL);
    int st;
    ck_assert_int_eq(waitpid(kid, &st, 0), kid);
    ck_assert_int_eq(await_unblocked(&s, 0), 0);
    enum glan_drop why;
    ck_assert_int_eq(try_send(s.port, "10.9.0.1", "10.9.2.1", 100, sent, &why), 0);
    ck_assert_int_eq(why, GLAN_DROP_NO_UPLINK);
    struct glan_port_stats ps;
    glan_port_stats(s.port, &ps);
    ck_assert_uint_eq(ps.dropped[GLAN_DROP_PORT_GONE], sent);
    glan_port_detach(s.port);
    glan_lan_reap(lan);
    check_books(lan);
    struct glan_lan_stats ls;
    glan_lan_stats(lan, &ls);
    ck_assert_uint_eq(ls.ports, 0);
    glan_lan_destroy(lan);
    glan_lan_unlink_shared(shm_name);
}
END_TEST

/* The sender's process is SIGKILLed while it waits for us: its mark names
 * our port, and our drainer's release finds a dead process; we still take
 * input, send, and end with nothing of it left. */
START_TEST(killed_while_waiting)
{
    use_name();
    int cp[2], rp[2];
    ck_assert_int_eq(pipe(cp), 0);
    ck_assert_int_eq(pipe(rp), 0);
    pid_t kid = fork();
    ck_assert_int_ge(kid, 0);
    if (kid == 0) {
        sync_read(cp[0]);
        char err[200];
        struct glan_lan *l = glan_lan_attach_shared(shm_name, err, sizeof err);
        static struct waiter w;
        if (!l || w_attach(&w, l, "s", "10.9.0.1") < 0)
            _exit(10);
        enum glan_drop why;
        uint32_t tag = 0;
        uint8_t buf[100];
        (void)buf;
        while (try_send(w.port, "10.9.0.1", "10.9.2.1", 100, tag, &why) == 0)
            tag++;
        sync_write(rp[1]); /* waiting now */
        for (;;)
            pause();
    }
    struct glan_lan *lan = shared_wait_lan(60000);
    struct testport r;
    static const char *const ra[] = {"10.9.2.1", NULL};
    tp_attach(&r, lan, "rx", ra);
    r.room = 0;
    sync_write(cp[1]);
    sync_read(rp[0]);
    kill(kid, SIGKILL);
    int st;
    ck_assert_int_eq(waitpid(kid, &st, 0), kid);
    /* We take what the dead sender queued; its mark is released.  The
     * kick delivers in this thread, or, when our base thread holds the
     * drain turn (woken by the sender), there: wait until the queue is
     * empty (the stats' atomic loads then also order the deliveries'
     * writes before our read of r.n). */
    r.room = -1;
    glan_port_kick(r.port);
    struct glan_lan_stats ls;
    for (int i = 0; i < 30000; i++) {
        glan_lan_stats(lan, &ls);
        if (ls.queued == 0)
            break;
        usleep(1000);
    }
    ck_assert_uint_eq(ls.queued, 0);
    ck_assert_uint_gt(r.n, 0);
    for (int i = 0; i < 100; i++)
        glan_lan_reap(lan);
    glan_lan_stats(lan, &ls);
    ck_assert_uint_eq(ls.ports, 1);
    /* A new sender of ours does not wait: the queue is empty. */
    struct waiter s;
    ck_assert_int_eq(w_attach(&s, lan, "s2", "10.9.0.3"), 0);
    enum glan_drop why;
    unsigned before = r.n;
    for (uint32_t i = 0; i < 100; i++) {
        ck_assert_int_eq(try_send(s.port, "10.9.0.3", "10.9.2.1", 100, i, &why), 0);
        ck_assert_int_eq(why, GLAN_DROP_NONE);
    }
    ck_assert_uint_eq(r.n, before + 100);
    glan_port_detach(s.port);
    glan_port_detach(r.port);
    check_books(lan);
    glan_lan_destroy(lan);
    glan_lan_unlink_shared(shm_name);
}
END_TEST

Suite *wait_suite(void);
Suite *wait_suite(void)
{
    Suite *s = suite_create("wait");
    TCase *tc = tcase_create("back-pressure");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, slow_receiver_loses_nothing);
    tcase_add_test(tc, ethernet_frames_wait_too);
    tcase_add_test(tc, never_draining_receiver_bounds_the_wait);
    tcase_add_test(tc, eight_stuck_guests_never_stall_the_healthy);
    tcase_add_test(tc, waiting_sender_woken_from_another_process);
    tcase_add_test(tc, killed_while_waited_for);
    tcase_add_test(tc, killed_while_waiting);
    suite_add_tcase(s, tc);
    return s;
}
