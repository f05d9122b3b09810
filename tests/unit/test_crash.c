/*
 * Crash safety of a shared LAN (docs/design.md, "Crash safety"): processes
 * are killed at named kill points (guestlan/failpoint.h) and at random, and
 * afterwards the LAN must be whole: every dead process recovered, the books
 * exact (sent + fanout == delivered + dropped, nothing queued), no buffer
 * held, every buffer allocatable again, no port, address or process table
 * entry left behind, and no survivor hung.
 *
 * The processes: the test process creates the LAN and holds no port (its
 * base thread reaps, as every attached process's does); a peer child R
 * receives and stays to the end; a victim V is killed in the middle of a
 * broadcast, so that the others have a dead sender to recover; the child
 * under test C recovers V, then sends, receives, attaches and detaches,
 * with one kill point armed.  Children report by exit status only.
 */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guestlan/base.h"
#include "guestlan/failpoint.h"
#include "testport.h"

static char shm_name[64];
static pid_t runner_pid;

static void names_setup(void)
{
    runner_pid = getpid();
}

static void use_name(const char *tag)
{
    snprintf(shm_name, sizeof shm_name, "/glan-crash-%d-%s", (int)runner_pid, tag);
    glan_lan_unlink_shared(shm_name);
}

static void names_teardown(void)
{
    static const char *const tags[] = {"d1", "d2", "d3", "d4", "sweep", "stress", "sweep2", "full"};
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++)
        use_name(tags[i]);
}

/* The LAN of a test: created here and left at once, so that this process
 * runs no base thread while it forks (ThreadSanitizer cannot follow a fork
 * from a process with threads); it attaches again to check (check_whole). */
static void make_lan(const char *tag)
{
    use_name(tag);
    /* The child under test is to be the one that recovers the victim. */
    glan_failpoint_no_autoreap(1);
    /* Three size classes, all in use: datagrams of every class, and small
     * ones that take a larger buffer when theirs run out. */
    struct glan_lan_config cfg = {.name = "CRASH",
                                  .max_ports = 16,
                                  .buffers = 512,
                                  .buffer_size = 576,
                                  .mid_buffers = 64,
                                  .mid_size = 1024,
                                  .big_buffers = 16,
                                  .big_size = 2048,
                                  .queue_len = 64};
    char err[200];
    struct glan_lan *lan = glan_lan_create_shared(&cfg, shm_name, err, sizeof err);
    ck_assert_msg(lan != NULL, "%s", err);
    glan_lan_destroy(lan);
}

/* ---- the children ------------------------------------------------------------------ */

static int sink_deliver(void *ctx, const struct glan_dgram *dg)
{
    (void)ctx;
    (void)dg;
    return 0;
}

/* Refuses one datagram in seven (a device error), so that drops are settled
 * as well as deliveries. */
static _Atomic unsigned picky_n;
static int picky_deliver(void *ctx, const struct glan_dgram *dg)
{
    (void)ctx;
    (void)dg;
    return atomic_fetch_add(&picky_n, 1) % 7 == 6 ? -5 : 0;
}

static const struct glan_port_ops sink_ops = {.deliver = sink_deliver};
static const struct glan_port_ops picky_ops = {.deliver = picky_deliver};

static struct glan_lan *join_or_exit(void)
{
    char err[200];
    struct glan_lan *lan = glan_lan_attach_shared(shm_name, err, sizeof err);
    if (!lan) {
        fprintf(stderr, "attach: %s\n", err);
        _exit(10);
    }
    return lan;
}

static struct glan_port *port_or_exit(struct glan_lan *lan, const char *name, const char *ip,
                                      const struct glan_port_ops *ops)
{
    struct glan_port_info info = {.name = name, .kind = GLAN_PORT_GUEST};
    struct glan_port *p;
    struct glan_addr a;
    if (glan_port_attach(lan, &info, ops, NULL, &p) < 0)
        _exit(11);
    glan_addr_parse(ip, &a);
    if (glan_addr_register(p, &a) < 0)
        _exit(12);
    struct glan_addr g;
    glan_addr_parse("239.1.1.1", &g);
    if (glan_group_join(p, &g) < 0)
        _exit(13);
    return p;
}

static void send_one(struct glan_port *p, const char *src, const char *dst, size_t len,
                     uint32_t tag)
{
    uint8_t buf[2048];
    if (tp_build_quiet(buf, len, src, dst, tag) != len)
        _exit(20);
    glan_port_send(p, buf, len, NULL);
}

/* One round of everything a port does: unicast to a peer in another
 * process and to one of its own, broadcast, multicast, a datagram nobody
 * holds the address of, one too big, and a buffer taken and given back. */
static void round_of(struct glan_port *p, const char *me, const char *own, uint32_t tag)
{
    send_one(p, me, "10.9.0.1", 100 + tag % 64, tag);
    send_one(p, me, own, 120, tag);
    send_one(p, me, "255.255.255.255", 90, tag);
    send_one(p, me, "239.1.1.1", 80, tag);
    send_one(p, me, "10.9.77.77", 70, tag);
    send_one(p, me, "10.9.0.1", 900, tag);  /* a medium buffer */
    send_one(p, me, "10.9.0.1", 2000, tag); /* a large one */
    uint8_t big[64] = {0};
    glan_port_send(p, big, 4000, NULL); /* too big: refused */
    struct glan_txbuf tb;
    if (glan_port_tx_begin(p, 100, &tb) == GLAN_DROP_NONE)
        glan_port_tx_abort(p, &tb);
}

/* The peer R: a port at 10.9.0.1 that receives (its base thread drains
 * what other processes queue) until told to go. */
static pid_t start_peer(int *go_fd)
{
    int gp[2], rp[2];
    ck_assert_int_eq(pipe(gp), 0);
    ck_assert_int_eq(pipe(rp), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(gp[1]);
        close(rp[0]);
        glan_failpoint_no_autoreap(1); /* the child under test recovers */
        struct glan_lan *lan = join_or_exit();
        struct glan_port *p = port_or_exit(lan, "peer", "10.9.0.1", &sink_ops);
        char c = 'r';
        if (write(rp[1], &c, 1) != 1)
            _exit(30);
        while (read(gp[0], &c, 1) < 0)
            ;
        glan_port_detach(p);
        glan_lan_destroy(lan);
        _exit(0);
    }
    close(gp[0]);
    close(rp[1]);
    char c;
    ck_assert_int_eq(read(rp[0], &c, 1), 1);
    close(rp[0]);
    *go_fd = gp[1];
    return pid;
}

static int wait_status(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        ;
    return st;
}

static void stop_peer(pid_t pid, int go_fd)
{
    char c = 'g';
    ck_assert_int_eq(write(go_fd, &c, 1), 1);
    close(go_fd);
    int st = wait_status(pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "peer ended with status %#x", st);
}

/* The victim V: two buffers held, then broadcasts until it dies at the
 * point given (in the middle of forwarding: its hand holds a datagram some
 * of whose copies are queued and some not). */
static void victim_body(const char *point, unsigned skip)
{
    struct glan_lan *lan = join_or_exit();
    struct glan_port *p = port_or_exit(lan, "victim", "10.9.2.1", &sink_ops);
    port_or_exit(lan, "victim2", "10.9.2.2", &sink_ops);
    struct glan_txbuf tb[2];
    glan_port_tx_begin(p, 200, &tb[0]);
    glan_port_tx_begin(p, 200, &tb[1]);
    if (point)
        glan_failpoint_arm(point, skip);
    /* Unarmed, it sends until this process kills it, however slow that is. */
    for (uint32_t i = 0; !point || i < 100000; i++)
        send_one(p, "10.9.2.1", "255.255.255.255", 100, i);
    _exit(40); /* the point was never reached */
}

static pid_t start_victim(const char *point, unsigned skip)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        victim_body(point, skip);
    return pid;
}

/* The child under test C: with point armed, it recovers whoever died,
 * then two ports send and receive for a while, then they detach and it
 * leaves.  Exit 0: it ran through (the point was not reached). */
static void tested_body(const char *point, unsigned skip, int rounds)
{
    if (point && glan_failpoint_arm(point, skip) < 0)
        _exit(50);
    struct glan_lan *lan = join_or_exit();
    glan_lan_reap(lan);
    struct glan_port *a = port_or_exit(lan, "ca", "10.9.1.1", &sink_ops);
    struct glan_port *b = port_or_exit(lan, "cb", "10.9.1.2", &picky_ops);
    for (int i = 0; i < rounds; i++) {
        round_of(a, "10.9.1.1", "10.9.1.2", (uint32_t)i);
        round_of(b, "10.9.1.2", "10.9.1.1", (uint32_t)i);
        if (i % 10 == 0) {
            struct glan_port *c = port_or_exit(lan, "cc", "10.9.1.3", &sink_ops);
            round_of(c, "10.9.1.3", "10.9.1.1", (uint32_t)i);
            glan_port_detach(c);
        }
    }
    /* Reclaim what the victim left, once the peer has taken its copies
     * (its base thread may sleep up to 100 ms before it looks). */
    for (int i = 0; i < 300; i++) {
        struct glan_lan_stats st;
        glan_lan_reap(lan);
        glan_lan_stats(lan, &st);
        if (!st.suspects)
            break;
        usleep(10000);
    }
    glan_port_detach(b);
    glan_port_detach(a);
    glan_lan_destroy(lan);
    _exit(0);
}

/* ---- the checks --------------------------------------------------------------------- */

/* Reap until every dead process is recovered and every suspect buffer
 * reclaimed (each look is bounded; 10 s in all), then check the LAN is
 * whole.  The test process holds no port and no buffer. */
static void check_whole(const char *what)
{
    char err[200];
    struct glan_lan *lan = glan_lan_attach_shared(shm_name, err, sizeof err);
    ck_assert_msg(lan != NULL, "%s", err);
    struct glan_lan_stats st;
    for (int i = 0; i < 1000; i++) {
        glan_lan_reap(lan);
        glan_lan_stats(lan, &st);
        if (st.processes == 1 && st.suspects == 0 && st.queued == 0 && st.ports == 0)
            break;
        usleep(10000);
    }
    uint64_t dropped = 0;
    for (int k = 0; k < GLAN_DROP_COUNT; k++)
        dropped += st.dropped[k];
    ck_assert_msg(st.processes == 1, "%s: %u processes left", what, st.processes);
    ck_assert_msg(st.suspects == 0, "%s: %u suspect buffers left", what, st.suspects);
    ck_assert_msg(st.ports == 0 && st.addrs == 0 && st.groups == 0,
                  "%s: %u ports, %u addresses, %u groups left", what, st.ports, st.addrs,
                  st.groups);
    ck_assert_msg(st.queued == 0, "%s: %llu copies queued", what, (unsigned long long)st.queued);
    ck_assert_msg(st.sent_packets + st.fanout == st.delivered + dropped,
                  "%s: books off: sent %llu + fanout %llu != delivered %llu + dropped %llu", what,
                  (unsigned long long)st.sent_packets, (unsigned long long)st.fanout,
                  (unsigned long long)st.delivered, (unsigned long long)dropped);
    ck_assert_msg(st.buffers_in_use == 0, "%s: %u buffers in use", what, st.buffers_in_use);
    if (strncmp(what, "after", 5) == 0)
        printf("crash: %s: %llu datagrams sent, %llu copies delivered, %llu dropped, books exact\n",
               what, (unsigned long long)st.sent_packets, (unsigned long long)st.delivered,
               (unsigned long long)dropped);
    ck_assert_msg(st.region_errors == 0, "%s: %llu region errors", what,
                  (unsigned long long)st.region_errors);

    /* Every buffer can be taken again, by one port of this process. */
    struct glan_lan_config cfg;
    glan_lan_get_config(lan, &cfg);
    struct glan_port_info info = {.name = "check", .kind = GLAN_PORT_GUEST};
    struct glan_port *p;
    ck_assert_int_eq(glan_port_attach(lan, &info, &sink_ops, NULL, &p), 0);
    /* (small datagrams: when the small class is empty they take the larger
     * classes' buffers) */
    uint32_t all = cfg.buffers + cfg.mid_buffers + cfg.big_buffers;
    struct glan_txbuf *tb = calloc(all + 1, sizeof *tb);
    uint32_t got = 0;
    while (got <= all && glan_port_tx_begin(p, 64, &tb[got]) == GLAN_DROP_NONE)
        got++;
    for (uint32_t i = 0; i < got; i++)
        glan_port_tx_abort(p, &tb[i]);
    free(tb);
    glan_port_detach(p);
    ck_assert_msg(got == all, "%s: %u of %u buffers could be taken", what, got, all);
    glan_lan_destroy(lan);
}

/* One scenario: R up; V killed at victim_point (or by this process after
 * a moment when NULL); C run with point armed; then everyone gone and the
 * LAN whole.  Returns whether C was killed at its point. */
static int scenario(const char *victim_point, unsigned vskip, const char *point, unsigned skip,
                    const char *what)
{
    int go;
    pid_t peer = start_peer(&go);
    pid_t v = start_victim(victim_point ? victim_point : NULL, vskip);
    if (!victim_point) {
        usleep(20000);
        kill(v, SIGKILL);
    }
    int st = wait_status(v);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "%s: victim status %#x", what, st);
    pid_t c = fork();
    ck_assert_int_ge(c, 0);
    if (c == 0)
        tested_body(point, skip, 40);
    st = wait_status(c);
    int killed = WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
    ck_assert_msg(killed || (WIFEXITED(st) && WEXITSTATUS(st) == 0), "%s: child status %#x", what,
                  st);
    stop_peer(peer, go);
    check_whole(what);
    return killed;
}

/* ---- the defects of the issue, each at its point ------------------------------------- */

/* D1/D2: killed while freeing a port entry (detach), once with the record
 * committed and not applied, once between closing and forgetting the
 * addresses.  Recovery must neither spin (the old D1 hang) nor leave the
 * entry closing (D2). */
START_TEST(killed_freeing_a_port)
{
    make_lan("d1");
    ck_assert(scenario(NULL, 0, "port.free.committed", 0, "port.free.committed"));
    ck_assert(scenario(NULL, 0, "close.closing", 0, "close.closing"));
}
END_TEST

/* D3: a process killed while it recovers another; the first dead process
 * must be recovered all the same. */
START_TEST(killed_while_recovering)
{
    make_lan("d3");
    ck_assert(scenario("fwd.pushed", 2, "recover.port.turn", 0, "recover.port.turn"));
    ck_assert(scenario("fwd.pushed", 2, "recover.journal", 0, "recover.journal"));
    ck_assert(scenario("fwd.pushed", 2, "reclaim.counted", 0, "reclaim.counted"));
}
END_TEST

/* D4: a receiver killed after counting a copy and before giving its
 * reference back, while its sender in another process has not handed the
 * buffer to the queues yet (killed at the end of forwarding). */
START_TEST(receiver_killed_before_sender_finished)
{
    make_lan("d4");
    int go;
    pid_t peer = start_peer(&go);
    /* The receiver: its base thread settles what the sender queues. */
    int rp[2];
    ck_assert_int_eq(pipe(rp), 0);
    pid_t rcv = fork();
    ck_assert_int_ge(rcv, 0);
    if (rcv == 0) {
        close(rp[0]);
        struct glan_lan *l = join_or_exit();
        port_or_exit(l, "rcv", "10.9.3.1", &sink_ops);
        glan_failpoint_arm("settle.unrefd", 0);
        char c = 'r';
        if (write(rp[1], &c, 1) != 1)
            _exit(30);
        for (;;)
            pause();
    }
    close(rp[1]);
    char c;
    ck_assert_int_eq(read(rp[0], &c, 1), 1);
    close(rp[0]);
    pid_t snd = fork();
    ck_assert_int_ge(snd, 0);
    if (snd == 0) {
        struct glan_lan *l = join_or_exit();
        struct glan_port *p = port_or_exit(l, "snd", "10.9.3.2", &sink_ops);
        glan_failpoint_arm("fwd.end", 0);
        send_one(p, "10.9.3.2", "10.9.3.1", 100, 1);
        _exit(40);
    }
    int st = wait_status(snd);
    ck_assert_msg(WIFSIGNALED(st), "sender status %#x", st);
    st = wait_status(rcv);
    ck_assert_msg(WIFSIGNALED(st), "receiver status %#x", st);
    stop_peer(peer, go);
    check_whole("D4");
}
END_TEST

/* Every process-table entry held by a process killed (some with a port
 * attached), and nobody left to recover them: a new process still joins (it
 * recovers one of the dead itself), and recovers the rest. */
START_TEST(joins_a_table_full_of_dead)
{
    make_lan("full");
    pid_t kids[64];
    int rp[2];
    ck_assert_int_eq(pipe(rp), 0);
    for (int i = 0; i < 64; i++) {
        kids[i] = fork();
        ck_assert_int_ge(kids[i], 0);
        if (kids[i] == 0) {
            char name[16], ip[32];
            snprintf(name, sizeof name, "f%d", i);
            snprintf(ip, sizeof ip, "10.5.%d.%d", i / 200, 1 + i % 200);
            struct glan_lan *l = join_or_exit();
            if (i < 8) /* the LAN has 16 ports */
                port_or_exit(l, name, ip, &sink_ops);
            char c = 'r';
            if (write(rp[1], &c, 1) != 1)
                _exit(30);
            for (;;)
                pause();
        }
        char c;
        ck_assert_int_eq(read(rp[0], &c, 1), 1);
    }
    for (int i = 0; i < 64; i++) {
        kill(kids[i], SIGKILL);
        wait_status(kids[i]);
    }
    pid_t late = fork();
    ck_assert_int_ge(late, 0);
    if (late == 0) {
        struct glan_lan *l = join_or_exit();
        glan_lan_destroy(l);
        _exit(0);
    }
    int st = wait_status(late);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "late joiner status %#x", st);
    check_whole("a table full of dead");
}
END_TEST

/* ---- every kill point ------------------------------------------------------------ */

/* Each point, with the victim killed at a random later point of its own:
 * the child under test must be killed at its point (the workload reaches
 * every one), and the LAN must be whole after each. */
static void sweep(const char *tag, unsigned skip)
{
    make_lan(tag);
    int n = glan_failpoint_count(), missed = 0;
    char names[1024] = "";
    for (int i = 0; i < n; i++) {
        const char *pt = glan_failpoint_name(i);
        char what[96];
        snprintf(what, sizeof what, "%s (skip %u)", pt, skip);
        if (!scenario("fwd.pushed", 1 + (unsigned)i % 5, pt, skip, what)) {
            missed++;
            strncat(names, " ", sizeof names - strlen(names) - 1);
            strncat(names, pt, sizeof names - strlen(names) - 1);
        }
    }
    if (skip == 0)
        ck_assert_msg(missed == 0, "%d kill points never reached:%s", missed, names);
    else if (missed)
        printf("crash sweep (skip %u): %d points reached fewer than %u times:%s\n", skip, missed,
               skip + 1, names);
}

START_TEST(every_kill_point_first_hit)
{
    sweep("sweep", 0);
}
END_TEST

START_TEST(every_kill_point_later_hit)
{
    sweep("sweep2", 1);
}
END_TEST

/* ---- kills at random, under load ---------------------------------------------------- */

/* A stress child: two ports, two sender threads each sending unicast to the
 * other processes' ports, broadcast and multicast, until killed. */
struct stress_arg {
    struct glan_port *p;
    char me[32];
    int id;
};

static void *stress_sender(void *v)
{
    struct stress_arg *a = v;
    char dst[32];
    for (uint32_t i = 0;; i++) {
        snprintf(dst, sizeof dst, "10.8.%u.%u", (i / 2) % 4, 1 + i % 2);
        /* one in four of medium or large size */
        send_one(a->p, a->me, dst, i % 4 == 3 ? 600 + (i * 37) % 1448 : 80 + i % 200, i);
        if (i % 16 == 0)
            send_one(a->p, a->me, "255.255.255.255", 90, i);
        if (i % 16 == 8)
            send_one(a->p, a->me, "239.1.1.1", 90, i);
    }
    return NULL;
}

static void stress_child(int slot)
{
    struct glan_lan *lan = join_or_exit();
    struct stress_arg args[4];
    pthread_t th[4];
    for (int k = 0; k < 2; k++) {
        char name[16], ip[32];
        snprintf(name, sizeof name, "s%d%d", slot, k);
        snprintf(ip, sizeof ip, "10.8.%d.%d", slot, k + 1);
        struct glan_port *p = port_or_exit(lan, name, ip, k ? &picky_ops : &sink_ops);
        for (int t = 0; t < 2; t++) {
            struct stress_arg *a = &args[k * 2 + t];
            a->p = p;
            a->id = slot;
            snprintf(a->me, sizeof a->me, "%s", ip);
            pthread_create(&th[k * 2 + t], NULL, stress_sender, a);
        }
    }
    for (;;)
        pause();
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

START_TEST(random_kills_under_load)
{
    const char *env = getenv("GLAN_STRESS_SECONDS");
    uint64_t seconds = env ? strtoull(env, NULL, 10) : 60;
    make_lan("stress");
    glan_failpoint_no_autoreap(0); /* everyone recovers everyone, at will */
    /* A process that stays (as a Hercules that is not killed would): it
     * recovers the dead as fast as they come, so that replacements find a
     * free process-table entry (a joining process cannot recover others:
     * it has no journal yet). */
    pid_t keeper = fork();
    ck_assert_int_ge(keeper, 0);
    if (keeper == 0) {
        struct glan_lan *l = join_or_exit();
        for (;;) {
            glan_lan_reap(l);
            usleep(2000);
        }
    }
    pid_t kids[4];
    for (int i = 0; i < 4; i++) {
        kids[i] = fork();
        ck_assert_int_ge(kids[i], 0);
        if (kids[i] == 0)
            stress_child(i);
    }
    unsigned kills = 0, seed = (unsigned)getpid();
    uint64_t end = now_ms() + seconds * 1000;
    while (now_ms() < end) {
        usleep((useconds_t)(rand_r(&seed) % 31) * 1000);
        int i = rand_r(&seed) % 4;
        kill(kids[i], SIGKILL);
        wait_status(kids[i]);
        kills++;
        kids[i] = fork();
        ck_assert_int_ge(kids[i], 0);
        if (kids[i] == 0)
            stress_child(i);
    }
    for (int i = 0; i < 4; i++) {
        kill(kids[i], SIGKILL);
        wait_status(kids[i]);
    }
    kill(keeper, SIGKILL);
    wait_status(keeper);
    printf("crash stress: %u kills in %llu s\n", kills, (unsigned long long)seconds);
    fflush(stdout);
    check_whole("after random kills");
}
END_TEST

Suite *crash_suite(void);
Suite *crash_suite(void)
{
    Suite *s = suite_create("crash");
    TCase *tc = tcase_create("kills");
    tcase_add_unchecked_fixture(tc, names_setup, names_teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, killed_freeing_a_port);
    tcase_add_test(tc, killed_while_recovering);
    tcase_add_test(tc, receiver_killed_before_sender_finished);
    tcase_add_test(tc, joins_a_table_full_of_dead);
    tcase_add_test(tc, every_kill_point_first_hit);
    tcase_add_test(tc, every_kill_point_later_hit);
    suite_add_tcase(s, tc);
    /* Its own case, so that it can be run alone: CK_RUN_CASE=stress. */
    TCase *st = tcase_create("stress");
    tcase_add_unchecked_fixture(st, names_setup, names_teardown);
    tcase_set_timeout(st, 900);
    tcase_add_test(st, random_kills_under_load);
    suite_add_tcase(s, st);
    return s;
}
