/*
 * Fair shares of base storage (docs/design.md, "Fair shares"): receivers
 * that stop taking input (a guest in a disabled wait with its interface
 * online) may hold only a bounded share of base storage, their waiting
 * copies expire after stuck_ms, and the healthy ports of the LAN lose
 * nothing meanwhile.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guestlan/base.h"
#include "testport.h"

struct lanset {
    struct glan_lan *lan;
    struct testport a, b;
    struct testport *stuck;
    int n_stuck;
};

static void lanset_make(struct lanset *s, int n_stuck, uint32_t stuck_ms)
{
    /* 512 buffers: without shares, eight stuck ports' queues of 256 would
     * hold them all four times over. */
    struct glan_lan_config cfg = {
        .name = "FAIR", .max_ports = 80, .buffers = 512, .stuck_ms = stuck_ms};
    char err[200];
    memset(s, 0, sizeof *s);
    s->lan = glan_lan_create(&cfg, err, sizeof err);
    ck_assert_msg(s->lan != NULL, "%s", err);
    static const char *const a_addrs[] = {"10.7.0.1", NULL};
    static const char *const b_addrs[] = {"10.7.0.2", NULL};
    tp_attach(&s->a, s->lan, "a", a_addrs);
    tp_attach(&s->b, s->lan, "b", b_addrs);
    s->n_stuck = n_stuck;
    s->stuck = calloc((size_t)n_stuck, sizeof *s->stuck);
    for (int i = 0; i < n_stuck; i++) {
        char name[16], ip[32];
        snprintf(name, sizeof name, "s%d", i);
        snprintf(ip, sizeof ip, "10.7.1.%d", i + 1);
        const char *addrs[] = {ip, NULL};
        tp_attach(&s->stuck[i], s->lan, name, addrs);
        s->stuck[i].room = 0; /* takes nothing: every deliver says -EAGAIN */
    }
}

static void lanset_free(struct lanset *s)
{
    for (int i = 0; i < s->n_stuck; i++)
        glan_port_detach(s->stuck[i].port);
    glan_port_detach(s->a.port);
    glan_port_detach(s->b.port);
    tp_check_balance(s->lan);
    glan_lan_destroy(s->lan);
    free(s->stuck);
}

/* rounds of: a broadcast from a (a copy for every port), a unicast from b
 * to one of the stuck ports in turn (each its own buffer), a unicast a->b
 * and one b->a.  The healthy pair must get every copy meant for it. */
static void traffic(struct lanset *s, int rounds)
{
    struct glan_port_stats pa0, pb0;
    glan_port_stats(s->a.port, &pa0);
    glan_port_stats(s->b.port, &pb0);
    for (int i = 0; i < rounds; i++) {
        tp_send(&s->a, "10.7.0.1", "255.255.255.255", 200, (uint32_t)i);
        if (s->n_stuck) {
            char dst[32];
            snprintf(dst, sizeof dst, "10.7.1.%d", 1 + i % s->n_stuck);
            tp_send(&s->b, "10.7.0.2", dst, 400, (uint32_t)i);
        }
        ck_assert_int_eq(tp_send(&s->a, "10.7.0.1", "10.7.0.2", 300, (uint32_t)i), GLAN_DROP_NONE);
        ck_assert_int_eq(tp_send(&s->b, "10.7.0.2", "10.7.0.1", 300, (uint32_t)i), GLAN_DROP_NONE);
        s->a.n = s->b.n = 0; /* their records wrap; the counts below are the port's */
    }
    struct glan_port_stats pa, pb;
    glan_port_stats(s->a.port, &pa);
    glan_port_stats(s->b.port, &pb);
    /* b got every broadcast and every unicast of a; a every unicast of b */
    ck_assert_uint_eq(pb.recv_packets - pb0.recv_packets, 2 * (uint64_t)rounds);
    ck_assert_uint_eq(pa.recv_packets - pa0.recv_packets, (uint64_t)rounds);
    ck_assert_uint_eq(pa.recv_dropped, 0);
    ck_assert_uint_eq(pb.recv_dropped, 0);
    ck_assert_uint_eq(pb.dropped[GLAN_DROP_NO_BUFFER], 0);
    ck_assert_uint_eq(pa.dropped[GLAN_DROP_NO_BUFFER], 0);
}

static void stuck_guests(int n)
{
    struct lanset s;
    lanset_make(&s, n, 2000);
    traffic(&s, 4000);
    struct glan_lan_stats st;
    glan_lan_stats(s.lan, &st);
    /* The stuck ports hold their shares and no more: some buffers stay free. */
    ck_assert_uint_lt(st.buffers_in_use, 512);
    ck_assert_uint_gt(st.dropped[GLAN_DROP_QUEUE_FULL], 0);
    ck_assert_uint_eq(st.dropped[GLAN_DROP_NO_BUFFER], 0);
    printf("fair: %d stuck guests hold %u of 512 buffers; %llu copies for them dropped "
           "queue_full\n",
           n, st.buffers_in_use, (unsigned long long)st.dropped[GLAN_DROP_QUEUE_FULL]);
    lanset_free(&s);
}

START_TEST(eight_stuck_guests_take_nothing_from_the_healthy)
{
    stuck_guests(8);
}
END_TEST

START_TEST(sixty_three_stuck_guests_take_nothing_from_the_healthy)
{
    stuck_guests(63);
}
END_TEST

/* After stuck_ms without taking anything, a stuck port's copies expire and
 * new ones are dropped at once; a kick (its guest gave buffers back) makes
 * it a receiver again. */
START_TEST(stuck_copies_expire_and_a_kick_revives)
{
    struct lanset s;
    lanset_make(&s, 2, 50);
    traffic(&s, 600);
    struct glan_lan_stats st;
    usleep(120 * 1000);
    traffic(&s, 600);
    glan_lan_stats(s.lan, &st);
    ck_assert_uint_gt(st.dropped[GLAN_DROP_EXPIRED], 0);
    ck_assert_uint_eq(st.buffers_in_use, 0); /* nothing waits for the stuck any more */
    struct glan_port_stats ps;
    glan_port_stats(s.stuck[0].port, &ps);
    ck_assert_uint_eq(ps.queued, 0);
    /* Revived: it takes input again. */
    s.stuck[0].room = -1;
    glan_port_kick(s.stuck[0].port);
    unsigned before = s.stuck[0].n;
    ck_assert_int_eq(tp_send(&s.a, "10.7.0.1", "10.7.1.1", 100, 7), GLAN_DROP_NONE);
    ck_assert_uint_eq(s.stuck[0].n, before + 1);
    lanset_free(&s);
}
END_TEST

Suite *fair_suite(void);
Suite *fair_suite(void)
{
    Suite *s = suite_create("fair");
    TCase *tc = tcase_create("shares");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, eight_stuck_guests_take_nothing_from_the_healthy);
    tcase_add_test(tc, sixty_three_stuck_guests_take_nothing_from_the_healthy);
    tcase_add_test(tc, stuck_copies_expire_and_a_kick_revives);
    suite_add_tcase(s, tc);
    return s;
}
