/*
 * Unit tests of the base's forwarding rules, registry, base storage and
 * counters (src/base/lan.c), with recording ports (testport.h).
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guestlan/base.h"
#include "testport.h"

static struct glan_lan *lan;
static struct testport A, B, C, U;

static struct glan_lan *make_lan(uint32_t buffers, uint32_t queue_len, uint32_t max_addrs)
{
    char err[128] = "";
    /* buffers small ones, and one medium and one large: a bounded pool of
     * buffers + 2 (the default when buffers is 0). */
    struct glan_lan_config cfg = {.name = "LAN1",
                                  .buffers = buffers,
                                  .mid_buffers = buffers ? 1 : 0,
                                  .big_buffers = buffers ? 1 : 0,
                                  .queue_len = queue_len,
                                  .max_addrs = max_addrs};
    struct glan_lan *l = glan_lan_create(&cfg, err, sizeof err);
    ck_assert_msg(l != NULL, "create: %s", err);
    return l;
}

/* Replace the fixture's LAN with one of these bounds, with no port on it. */
static void remake_lan(uint32_t buffers, uint32_t queue_len, uint32_t max_addrs)
{
    glan_port_detach(A.port);
    glan_port_detach(B.port);
    glan_port_detach(C.port);
    memset(&A, 0, sizeof A);
    memset(&B, 0, sizeof B);
    memset(&C, 0, sizeof C);
    glan_lan_destroy(lan);
    lan = make_lan(buffers, queue_len, max_addrs);
}

static void attach_uplink(struct testport *tp)
{
    memset(tp, 0, sizeof *tp);
    tp->room = -1;
    struct glan_port_info info = {.name = "uplink", .kind = GLAN_PORT_UPLINK};
    ck_assert_int_eq(glan_port_attach(lan, &info, &testport_ops, tp, &tp->port), 0);
}

static const char *const a_addrs[] = {"10.0.0.1", "fd00::1", NULL};
static const char *const b_addrs[] = {"10.0.0.2", "10.0.0.22", "fd00::2", NULL};
static const char *const c_addrs[] = {"10.0.0.3", "fd00::3", NULL};

static void setup_three(void)
{
    lan = make_lan(0, 0, 0);
    tp_attach(&A, lan, "A", a_addrs);
    tp_attach(&B, lan, "B", b_addrs);
    tp_attach(&C, lan, "C", c_addrs);
}

static void teardown(void)
{
    tp_check_balance(lan);
    struct testport *all[] = {&A, &B, &C, &U};
    for (int i = 0; i < 4; i++)
        if (all[i]->port)
            glan_port_detach(all[i]->port);
    struct glan_lan_stats st;
    glan_lan_stats(lan, &st);
    ck_assert_uint_eq(st.buffers_in_use, 0);
    ck_assert_uint_eq(st.addrs, 0);
    glan_lan_destroy(lan);
    memset(&A, 0, sizeof A);
    memset(&B, 0, sizeof B);
    memset(&C, 0, sizeof C);
    memset(&U, 0, sizeof U);
}

static uint64_t dropped(struct testport *tp, enum glan_drop why)
{
    struct glan_port_stats st;
    glan_port_stats(tp->port, &st);
    return st.dropped[why];
}

START_TEST(unicast_guest_to_guest)
{
    attach_uplink(&U);
    ck_assert_int_eq(tp_send(&A, "10.0.0.1", "10.0.0.2", 100, 7), GLAN_DROP_NONE);
    ck_assert_int_eq(tp_send(&A, "10.0.0.1", "10.0.0.22", 100, 8), GLAN_DROP_NONE);
    ck_assert_int_eq(tp_send(&A, "fd00::1", "fd00::2", 120, 9), GLAN_DROP_NONE);
    ck_assert_uint_eq(B.n, 3);
    ck_assert_uint_eq(B.tags[0], 7);
    ck_assert_uint_eq(B.tags[1], 8);
    ck_assert_uint_eq(B.tags[2], 9);
    ck_assert_uint_eq(B.lens[2], 120);
    ck_assert_uint_eq(B.casts[0], GLAN_CAST_UNICAST);
    ck_assert_uint_eq(A.n + C.n + U.n, 0); /* never the uplink or a third port */
    struct glan_port_stats sa, sb;
    glan_port_stats(A.port, &sa);
    glan_port_stats(B.port, &sb);
    ck_assert_uint_eq(sa.sent_packets, 3);
    ck_assert_uint_eq(sa.sent_bytes, 320);
    ck_assert_uint_eq(sa.delivered, 3);
    ck_assert_uint_eq(sb.recv_packets, 3);
    ck_assert_uint_eq(sb.recv_bytes, 320);
    ck_assert_uint_eq(B.flushes, 3);
}
END_TEST

START_TEST(unregistered_from_guest_goes_to_uplink)
{
    attach_uplink(&U);
    ck_assert_int_eq(tp_send(&A, "10.0.0.1", "192.0.2.1", 64, 1), GLAN_DROP_NONE);
    ck_assert_int_eq(tp_send(&A, "fd00::1", "2001:db8::1", 64, 2), GLAN_DROP_NONE);
    ck_assert_uint_eq(U.n, 2);
    ck_assert_uint_eq(B.n + C.n, 0);
}
END_TEST

START_TEST(unregistered_without_uplink_is_dropped)
{
    ck_assert_int_eq(tp_send(&A, "10.0.0.1", "192.0.2.1", 64, 1), GLAN_DROP_NO_UPLINK);
    ck_assert_uint_eq(dropped(&A, GLAN_DROP_NO_UPLINK), 1);
    struct glan_lan_stats st;
    glan_lan_stats(lan, &st);
    ck_assert_uint_eq(st.dropped[GLAN_DROP_NO_UPLINK], 1);
    ck_assert_uint_eq(st.delivered, 0);
}
END_TEST

START_TEST(from_uplink_by_destination_only)
{
    attach_uplink(&U);
    ck_assert_int_eq(tp_send(&U, "192.0.2.1", "10.0.0.3", 64, 5), GLAN_DROP_NONE);
    ck_assert_int_eq(tp_send(&U, "2001:db8::1", "fd00::2", 64, 6), GLAN_DROP_NONE);
    ck_assert_int_eq(tp_send(&U, "192.0.2.1", "10.0.0.99", 64, 7), GLAN_DROP_UNKNOWN_DEST);
    ck_assert_uint_eq(C.n, 1);
    ck_assert_uint_eq(C.tags[0], 5);
    ck_assert_uint_eq(B.n, 1);
    ck_assert_uint_eq(B.tags[0], 6);
    ck_assert_uint_eq(A.n + U.n, 0); /* no flooding, nothing back out */
    ck_assert_uint_eq(dropped(&U, GLAN_DROP_UNKNOWN_DEST), 1);
}
END_TEST

START_TEST(broadcast_to_all_but_sender)
{
    attach_uplink(&U);
    ck_assert_int_eq(tp_send(&A, "10.0.0.1", "255.255.255.255", 64, 1), GLAN_DROP_NONE);
    ck_assert_uint_eq(A.n, 0);
    ck_assert_uint_eq(B.n, 1);
    ck_assert_uint_eq(C.n, 1);
    ck_assert_uint_eq(U.n, 1);
    ck_assert_uint_eq(B.casts[0], GLAN_CAST_BROADCAST);
    /* A subnet broadcast is known only from the sender's header: */
    uint8_t buf[64];
    tp_build(buf, 64, "10.0.0.1", "10.0.0.255", 2);
    struct glan_tx_meta m = {.cast = GLAN_CAST_BROADCAST};
    ck_assert_int_eq(glan_port_send(A.port, buf, 64, &m), GLAN_DROP_NONE);
    ck_assert_uint_eq(B.n + C.n + U.n, 6);
    /* From the uplink: every guest, not back out. */
    ck_assert_int_eq(tp_send(&U, "10.0.0.200", "255.255.255.255", 64, 3), GLAN_DROP_NONE);
    ck_assert_uint_eq(A.n, 1);
    ck_assert_uint_eq(U.n, 2);
    struct glan_port_stats sa;
    glan_port_stats(A.port, &sa);
    ck_assert_uint_eq(sa.fanout, 4);
    ck_assert_uint_eq(sa.delivered, 6);
}
END_TEST

START_TEST(multicast_to_members)
{
    attach_uplink(&U);
    struct glan_addr g4, g6;
    glan_addr_parse("224.1.2.3", &g4);
    glan_addr_parse("ff02::1:3", &g6);
    ck_assert_int_eq(glan_group_join(B.port, &g4), 0);
    ck_assert_int_eq(glan_group_join(B.port, &g4), 0); /* again: still one membership */
    ck_assert_int_eq(glan_group_join(A.port, &g4), 0);
    ck_assert_int_eq(glan_group_join(C.port, &g6), 0);
    ck_assert_int_eq(tp_send(&A, "10.0.0.1", "224.1.2.3", 64, 1), GLAN_DROP_NONE);
    ck_assert_uint_eq(A.n, 0); /* a member, but the sender */
    ck_assert_uint_eq(B.n, 1);
    ck_assert_uint_eq(C.n, 0);
    ck_assert_uint_eq(U.n, 1); /* a guest's multicast also leaves the LAN */
    ck_assert_uint_eq(B.casts[0], GLAN_CAST_MULTICAST);
    ck_assert_int_eq(tp_send(&U, "fd00::99", "ff02::1:3", 64, 2), GLAN_DROP_NONE);
    ck_assert_uint_eq(C.n, 1);
    ck_assert_uint_eq(A.n + B.n, 1);
    ck_assert_int_eq(glan_group_leave(B.port, &g4), 0);
    ck_assert_int_eq(glan_group_leave(B.port, &g4), -ENOENT);
    ck_assert_int_eq(tp_send(&U, "10.0.0.200", "224.1.2.3", 64, 3), GLAN_DROP_NONE);
    ck_assert_uint_eq(A.n, 1);
    ck_assert_uint_eq(B.n, 1);
    ck_assert_int_eq(tp_send(&U, "10.0.0.200", "224.9.9.9", 64, 4), GLAN_DROP_NO_RECEIVER);
    ck_assert_int_eq(glan_group_join(B.port, &(struct glan_addr){.family = GLAN_AF_INET}), -EINVAL);
}
END_TEST

START_TEST(multicast_without_receivers_is_dropped)
{
    ck_assert_int_eq(tp_send(&A, "10.0.0.1", "239.0.0.1", 64, 1), GLAN_DROP_NO_RECEIVER);
    ck_assert_uint_eq(dropped(&A, GLAN_DROP_NO_RECEIVER), 1);
}
END_TEST

START_TEST(duplicate_registration_refused)
{
    struct glan_addr a;
    glan_addr_parse("10.0.0.2", &a);
    ck_assert_int_eq(glan_addr_register(C.port, &a), -EADDRINUSE);
    ck_assert_int_eq(glan_lan_lookup(lan, &a), glan_port_index(B.port));
    ck_assert_int_eq(glan_addr_register(B.port, &a), 0); /* the owner again: fine */
    ck_assert_int_eq(glan_addr_unregister(C.port, &a), -ENOENT);
    tp_send(&A, "10.0.0.1", "10.0.0.2", 64, 1);
    ck_assert_uint_eq(B.n, 1);
    ck_assert_uint_eq(C.n, 0);
    ck_assert_int_eq(glan_addr_unregister(B.port, &a), 0);
    ck_assert_int_eq(glan_lan_lookup(lan, &a), -1);
    ck_assert_int_eq(glan_addr_register(C.port, &a), 0);
    tp_send(&A, "10.0.0.1", "10.0.0.2", 64, 2);
    ck_assert_uint_eq(C.n, 1);
}
END_TEST

START_TEST(bad_addresses_refused)
{
    const char *bad[] = {"224.0.0.1", "0.0.0.0", "255.255.255.255", "ff02::1", "::"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct glan_addr a;
        ck_assert_int_eq(glan_addr_parse(bad[i], &a), 0);
        ck_assert_int_eq(glan_addr_register(A.port, &a), -EINVAL);
    }
    struct glan_addr u;
    glan_addr_parse("10.9.9.9", &u);
    ck_assert_int_eq(glan_group_join(A.port, &u), -EINVAL);
}
END_TEST

START_TEST(registry_full)
{
    remake_lan(0, 0, 8);
    tp_attach(&A, lan, "A", NULL);
    for (int i = 0; i < 9; i++) {
        char t[32];
        struct glan_addr a;
        snprintf(t, sizeof t, "10.1.0.%d", i + 1);
        glan_addr_parse(t, &a);
        ck_assert_int_eq(glan_addr_register(A.port, &a), i < 8 ? 0 : -ENOSPC);
    }
}
END_TEST

START_TEST(malformed_and_too_big)
{
    uint8_t junk[64] = {0x45, 0, 0, 200}; /* says 200 bytes, has 64 */
    ck_assert_int_eq(glan_port_send(A.port, junk, sizeof junk, NULL), GLAN_DROP_MALFORMED);
    ck_assert_int_eq(glan_port_send(A.port, junk, 0, NULL), GLAN_DROP_MALFORMED);
    static uint8_t big[65536];
    ck_assert_int_eq(glan_port_send(A.port, big, sizeof big, NULL), GLAN_DROP_TOO_BIG);
    ck_assert_uint_eq(dropped(&A, GLAN_DROP_MALFORMED), 2);
    ck_assert_uint_eq(dropped(&A, GLAN_DROP_TOO_BIG), 1);
    ck_assert_uint_eq(B.n + C.n, 0);
}
END_TEST

START_TEST(full_receiver_waits_then_kick)
{
    B.room = 2;
    for (uint32_t i = 0; i < 5; i++)
        ck_assert_int_eq(tp_send(&A, "10.0.0.1", "10.0.0.2", 64, i), GLAN_DROP_NONE);
    ck_assert_uint_eq(B.n, 2);
    struct glan_port_stats sb;
    glan_port_stats(B.port, &sb);
    ck_assert_uint_eq(sb.queued, 3);
    tp_check_balance(lan);
    /* The sender was never refused; the copies wait in base storage. */
    struct glan_lan_stats st;
    glan_lan_stats(lan, &st);
    ck_assert_uint_eq(st.buffers_in_use, 3);
    B.room = 2;
    glan_port_kick(B.port);
    ck_assert_uint_eq(B.n, 4);
    B.room = -1;
    glan_port_kick(B.port);
    ck_assert_uint_eq(B.n, 5);
    for (uint32_t i = 0; i < 5; i++)
        ck_assert_uint_eq(B.tags[i], i); /* order kept */
    glan_port_stats(B.port, &sb);
    ck_assert_uint_eq(sb.queued, 0);
    glan_lan_stats(lan, &st);
    ck_assert_uint_eq(st.buffers_in_use, 0);
}
END_TEST

START_TEST(wait_queue_is_bounded)
{
    remake_lan(64, 4, 0);
    tp_attach(&A, lan, "A", a_addrs);
    tp_attach(&B, lan, "B", b_addrs);
    B.room = 0;
    for (uint32_t i = 0; i < 10; i++)
        tp_send(&A, "10.0.0.1", "10.0.0.2", 64, i); /* never blocks */
    struct glan_port_stats sa, sb;
    glan_port_stats(A.port, &sa);
    glan_port_stats(B.port, &sb);
    /* one held by the port's drain turn plus four in the queue */
    ck_assert_uint_eq(sb.queued, 5);
    ck_assert_uint_eq(sa.dropped[GLAN_DROP_QUEUE_FULL], 5);
    ck_assert_uint_eq(sb.recv_dropped, 5);
    tp_check_balance(lan);
    B.room = -1;
    glan_port_kick(B.port);
    ck_assert_uint_eq(B.n, 5);
    for (uint32_t i = 0; i < 5; i++)
        ck_assert_uint_eq(B.tags[i], i);
}
END_TEST

START_TEST(base_storage_is_bounded)
{
    remake_lan(4, 64, 0); /* 4 small, 1 medium, 1 large */
    tp_attach(&A, lan, "A", a_addrs);
    tp_attach(&B, lan, "B", b_addrs);
    B.room = 0;
    for (uint32_t i = 0; i < 8; i++)
        tp_send(&A, "10.0.0.1", "10.0.0.2", 64, i);
    ck_assert_uint_eq(dropped(&A, GLAN_DROP_NO_BUFFER), 2);
    struct glan_lan_stats st;
    glan_lan_stats(lan, &st);
    ck_assert_uint_eq(st.buffers_in_use, 6);
    ck_assert_uint_eq(st.class_in_use[0], 4);
    ck_assert_uint_eq(st.class_in_use[1], 1);
    ck_assert_uint_eq(st.class_in_use[2], 1);
    ck_assert_uint_eq(st.queued, 6);
}
END_TEST

/* Buffers taken, or given back, by another thread. */
#define POOL 6 /* remake_lan(4, ...): 4 small, 1 medium, 1 large */
struct taker {
    struct glan_port *port;
    struct glan_txbuf tb[POOL];
    int give_back; /* 0: take all six; 1: give all six back */
    enum glan_drop why[POOL + 1];
};

static void *taker_run(void *arg)
{
    struct taker *t = arg;
    for (int i = 0; i < POOL; i++)
        if (t->give_back)
            glan_port_tx_abort(t->port, &t->tb[i]);
        else
            t->why[i] = glan_port_tx_begin(t->port, 64, &t->tb[i]);
    if (!t->give_back) {
        struct glan_txbuf extra;
        t->why[POOL] = glan_port_tx_begin(t->port, 64, &extra);
    }
    return NULL;
}

static void taker_in_thread(struct taker *t, int give_back)
{
    pthread_t th;
    t->give_back = give_back;
    ck_assert_int_eq(pthread_create(&th, NULL, taker_run, t), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
}

/* Base storage is kept in several free lists, a thread giving buffers back
 * to its own: the buffers a thread gave back before it ended, and those
 * another thread gave back, are still there for everyone, and the pool
 * stays one pool of `buffers`. */
START_TEST(base_storage_is_one_pool_across_threads)
{
    remake_lan(4, 64, 0);
    tp_attach(&A, lan, "A", a_addrs);
    struct taker t = {.port = A.port};
    for (int round = 0; round < 3; round++) {
        /* taken here, given back by a thread that then ends */
        for (int i = 0; i < POOL; i++)
            ck_assert_int_eq(glan_port_tx_begin(A.port, 64, &t.tb[i]), GLAN_DROP_NONE);
        struct glan_txbuf extra;
        ck_assert_int_eq(glan_port_tx_begin(A.port, 64, &extra), GLAN_DROP_NO_BUFFER);
        taker_in_thread(&t, 1);
        /* taken by another thread, given back here */
        taker_in_thread(&t, 0);
        for (int i = 0; i < POOL; i++)
            ck_assert_int_eq(t.why[i], GLAN_DROP_NONE);
        ck_assert_int_eq(t.why[POOL], GLAN_DROP_NO_BUFFER);
        struct glan_lan_stats st;
        glan_lan_stats(lan, &st);
        ck_assert_uint_eq(st.buffers_in_use, POOL);
        for (int i = 0; i < POOL; i++)
            glan_port_tx_abort(A.port, &t.tb[i]);
        glan_lan_stats(lan, &st);
        ck_assert_uint_eq(st.buffers_in_use, 0);
    }
    /* and they still carry datagrams */
    tp_attach(&B, lan, "B", b_addrs);
    for (uint32_t i = 0; i < 8; i++)
        ck_assert_int_eq(tp_send(&A, "10.0.0.1", "10.0.0.2", 64, i), GLAN_DROP_NONE);
    ck_assert_uint_eq(B.n, 8);
}
END_TEST

/* The size classes: a datagram takes the smallest class it fits. */
static void class_use(uint32_t use[GLAN_BUF_CLASSES])
{
    struct glan_lan_stats st;
    glan_lan_stats(lan, &st);
    memcpy(use, st.class_in_use, sizeof st.class_in_use);
    ck_assert_uint_eq(st.buffers_in_use, use[0] + use[1] + use[2]);
}

START_TEST(size_class_smallest_that_fits)
{
    B.room = 0; /* every copy stays in its buffer, queued */
    uint32_t use[GLAN_BUF_CLASSES];
    ck_assert_int_eq(tp_send(&A, "10.0.0.1", "10.0.0.2", 100, 0), GLAN_DROP_NONE);
    class_use(use);
    ck_assert_uint_eq(use[0], 1); /* 100 bytes: not a large buffer */
    ck_assert_uint_eq(use[1] + use[2], 0);
    ck_assert_int_eq(tp_send(&A, "10.0.0.1", "10.0.0.2", 2048, 1), GLAN_DROP_NONE);
    ck_assert_int_eq(tp_send(&A, "10.0.0.1", "10.0.0.2", 2049, 2), GLAN_DROP_NONE);
    ck_assert_int_eq(tp_send(&A, "10.0.0.1", "10.0.0.2", 9216, 3), GLAN_DROP_NONE);
    ck_assert_int_eq(tp_send(&A, "10.0.0.1", "10.0.0.2", 9217, 4), GLAN_DROP_NONE);
    ck_assert_int_eq(tp_send(&A, "10.0.0.1", "10.0.0.2", 65535, 5), GLAN_DROP_NONE);
    struct glan_txbuf tb; /* no IP datagram is larger: the base refuses to reserve it */
    ck_assert_int_eq(glan_port_tx_begin(A.port, 65536, &tb), GLAN_DROP_TOO_BIG);
    class_use(use);
    ck_assert_uint_eq(use[0], 2);
    ck_assert_uint_eq(use[1], 2);
    ck_assert_uint_eq(use[2], 2);
    ck_assert_uint_eq(dropped(&A, GLAN_DROP_TOO_BIG), 1);
    B.room = -1;
    glan_port_kick(B.port);
    ck_assert_uint_eq(B.n, 6);
    static const uint32_t lens[] = {100, 2048, 2049, 9216, 9217, 65535};
    for (uint32_t i = 0; i < 6; i++) {
        ck_assert_uint_eq(B.tags[i], i);
        ck_assert_uint_eq(B.lens[i], lens[i]);
    }
    class_use(use);
    ck_assert_uint_eq(use[0] + use[1] + use[2], 0);
    tp_check_balance(lan);
}
END_TEST

/* A class with none free: a datagram takes a larger class, never a smaller
 * one; with the large class empty a large datagram is dropped no_buffer,
 * counted, and the books balance. */
START_TEST(size_class_exhausted)
{
    char err[128] = "";
    struct glan_lan_config cfg = {
        .name = "CLS", .buffers = 4, .mid_buffers = 2, .big_buffers = 3, .queue_len = 64};
    remake_lan(0, 0, 0);
    glan_lan_destroy(lan);
    lan = glan_lan_create(&cfg, err, sizeof err);
    ck_assert_msg(lan != NULL, "create: %s", err);
    tp_attach(&A, lan, "A", a_addrs);
    tp_attach(&B, lan, "B", b_addrs);
    B.room = 0;
    uint32_t use[GLAN_BUF_CLASSES];
    /* three large datagrams fill the large class; the fourth is dropped */
    for (uint32_t i = 0; i < 3; i++)
        ck_assert_int_eq(tp_send(&A, "10.0.0.1", "10.0.0.2", 30000, i), GLAN_DROP_NONE);
    ck_assert_int_eq(tp_send(&A, "10.0.0.1", "10.0.0.2", 30000, 3), GLAN_DROP_NO_BUFFER);
    ck_assert_uint_eq(dropped(&A, GLAN_DROP_NO_BUFFER), 1);
    /* small and medium ones still go */
    ck_assert_int_eq(tp_send(&A, "10.0.0.1", "10.0.0.2", 100, 4), GLAN_DROP_NONE);
    ck_assert_int_eq(tp_send(&A, "10.0.0.1", "10.0.0.2", 5000, 5), GLAN_DROP_NONE);
    class_use(use);
    ck_assert_uint_eq(use[0], 1);
    ck_assert_uint_eq(use[1], 1);
    ck_assert_uint_eq(use[2], 3);
    /* small ones fill the small class, then take the medium one left */
    for (uint32_t i = 6; i < 9; i++)
        ck_assert_int_eq(tp_send(&A, "10.0.0.1", "10.0.0.2", 100, i), GLAN_DROP_NONE);
    ck_assert_int_eq(tp_send(&A, "10.0.0.1", "10.0.0.2", 100, 9), GLAN_DROP_NONE);
    class_use(use);
    ck_assert_uint_eq(use[0], 4);
    ck_assert_uint_eq(use[1], 2);
    ck_assert_int_eq(tp_send(&A, "10.0.0.1", "10.0.0.2", 100, 10), GLAN_DROP_NO_BUFFER);
    ck_assert_uint_eq(dropped(&A, GLAN_DROP_NO_BUFFER), 2);
    tp_check_balance(lan);
    /* too big for the largest class: too_big, not no_buffer */
    static uint8_t huge[65536];
    ck_assert_int_eq(glan_port_send(A.port, huge, sizeof huge, NULL), GLAN_DROP_TOO_BIG);
    B.room = -1;
    glan_port_kick(B.port);
    ck_assert_uint_eq(B.n, 9);
    class_use(use);
    ck_assert_uint_eq(use[0] + use[1] + use[2], 0);
    tp_check_balance(lan);
    struct glan_lan_stats st;
    glan_lan_stats(lan, &st);
    ck_assert_uint_eq(st.dropped[GLAN_DROP_NO_BUFFER], 2);
    ck_assert_uint_eq(st.dropped[GLAN_DROP_TOO_BIG], 1);
    ck_assert_uint_eq(st.delivered, 9);
}
END_TEST

START_TEST(detach_drops_what_waits)
{
    B.room = 0;
    for (uint32_t i = 0; i < 3; i++)
        tp_send(&A, "10.0.0.1", "10.0.0.2", 64, i);
    glan_port_detach(B.port);
    B.port = NULL;
    ck_assert_uint_eq(dropped(&A, GLAN_DROP_PORT_GONE), 3);
    struct glan_addr a;
    glan_addr_parse("10.0.0.22", &a);
    ck_assert_int_eq(glan_lan_lookup(lan, &a), -1); /* its addresses are gone */
    ck_assert_int_eq(tp_send(&A, "10.0.0.1", "10.0.0.2", 64, 9), GLAN_DROP_NO_UPLINK);
    struct glan_lan_stats st;
    glan_lan_stats(lan, &st);
    ck_assert_uint_eq(st.buffers_in_use, 0);
    ck_assert_uint_eq(st.ports, 2);
    /* The index is reused by the next port, with fresh counters. */
    tp_attach(&B, lan, "B2", b_addrs);
    struct glan_port_stats sb;
    glan_port_stats(B.port, &sb);
    ck_assert_uint_eq(sb.recv_dropped, 0);
    tp_send(&A, "10.0.0.1", "10.0.0.2", 64, 10);
    ck_assert_uint_eq(B.n, 1);
}
END_TEST

START_TEST(lan_totals_survive_detach)
{
    /* A's copies wait for B when A goes; C's copies wait for B when B goes.
     * The LAN totals keep all of them, whatever the ports' own counters. */
    for (uint32_t i = 0; i < 3; i++)
        tp_send(&A, "10.0.0.1", "10.0.0.2", 100, i);
    B.room = 0;
    for (uint32_t i = 3; i < 5; i++)
        tp_send(&A, "10.0.0.1", "10.0.0.2", 100, i);
    glan_port_detach(A.port);
    A.port = NULL;
    struct glan_lan_stats st;
    glan_lan_stats(lan, &st);
    ck_assert_uint_eq(st.sent_packets, 5);
    ck_assert_uint_eq(st.sent_bytes, 500);
    ck_assert_uint_eq(st.delivered, 3);
    ck_assert_uint_eq(st.queued, 2);
    B.room = -1;
    glan_port_kick(B.port); /* delivers what its gone sender left */
    ck_assert_uint_eq(B.n, 5);
    B.room = 0;
    for (uint32_t i = 0; i < 2; i++)
        tp_send(&C, "10.0.0.3", "10.0.0.2", 64, i);
    glan_port_detach(B.port);
    B.port = NULL;
    /* A new port takes A's index with fresh counters; the LAN's stay. */
    tp_attach(&A, lan, "A2", a_addrs);
    glan_lan_stats(lan, &st);
    ck_assert_uint_eq(st.sent_packets, 7);
    ck_assert_uint_eq(st.sent_bytes, 628);
    ck_assert_uint_eq(st.delivered, 5);
    ck_assert_uint_eq(st.dropped[GLAN_DROP_PORT_GONE], 2);
    ck_assert_uint_eq(st.queued, 0);
    ck_assert_uint_eq(st.ports, 2);
    struct glan_port_stats sa, sc;
    glan_port_stats(A.port, &sa);
    glan_port_stats(C.port, &sc);
    ck_assert_uint_eq(sa.sent_packets, 0);
    ck_assert_uint_eq(sc.sent_packets, 2);
    ck_assert_uint_eq(sc.dropped[GLAN_DROP_PORT_GONE], 2);
}
END_TEST

START_TEST(receiver_errors_are_counted)
{
    B.fail_rc = -ENETDOWN;
    C.fail_rc = -EIO;
    tp_send(&A, "10.0.0.1", "10.0.0.2", 64, 1);
    tp_send(&A, "10.0.0.1", "10.0.0.3", 64, 2);
    ck_assert_uint_eq(dropped(&A, GLAN_DROP_PORT_DOWN), 1);
    ck_assert_uint_eq(dropped(&A, GLAN_DROP_PORT_ERROR), 1);
    struct glan_port_stats sb;
    glan_port_stats(B.port, &sb);
    ck_assert_uint_eq(sb.recv_dropped, 1);
    ck_assert_uint_eq(sb.recv_packets, 0);
}
END_TEST

START_TEST(attach_limits)
{
    struct testport U2;
    attach_uplink(&U);
    memset(&U2, 0, sizeof U2);
    struct glan_port_info info = {.name = "uplink2", .kind = GLAN_PORT_UPLINK};
    struct glan_port *p;
    ck_assert_int_eq(glan_port_attach(lan, &info, &testport_ops, &U2, &p), -EEXIST);
    info.name = "";
    info.kind = GLAN_PORT_GUEST;
    ck_assert_int_eq(glan_port_attach(lan, &info, &testport_ops, &U2, &p), -EINVAL);
    info.name = "this-name-is-far-too-long-for-a-port";
    ck_assert_int_eq(glan_port_attach(lan, &info, &testport_ops, &U2, &p), -EINVAL);
}
END_TEST

START_TEST(config_validation)
{
    char err[128];
    struct glan_lan_config bad[] = {
        {.name = ""},
        {.name = "L", .max_ports = 1},
        {.name = "L", .queue_len = 3},
        {.name = "L", .buffer_size = 100},
        {.name = "L", .buffers = 1},
        {.name = "L", .buffer_size = 4096, .mid_size = 2048},
        {.name = "L", .big_size = 65536},
        {.name = "L", .buffers = 1u << 22, .mid_buffers = 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        ck_assert_ptr_null(glan_lan_create(&bad[i], err, sizeof err));
        ck_assert_msg(err[0] != 0, "case %zu has no message", i);
    }
    struct glan_lan_config cfg;
    glan_lan_get_config(lan, &cfg);
    ck_assert_str_eq(cfg.name, "LAN1");
    ck_assert_uint_eq(cfg.buffers, 2048);
    ck_assert_uint_eq(cfg.buffer_size, 2048);
    ck_assert_uint_eq(cfg.mid_buffers, 512);
    ck_assert_uint_eq(cfg.mid_size, 9216);
    ck_assert_uint_eq(cfg.big_buffers, 128);
    ck_assert_uint_eq(cfg.big_size, 65535);
    ck_assert_str_eq(glan_lan_name(lan), "LAN1");
    /* A class size left 0 is at least the class below. */
    struct glan_lan_config up = {.name = "L", .buffer_size = 16384};
    glan_lan_config_defaults(&up);
    ck_assert_uint_eq(up.mid_size, 16384);
    ck_assert_uint_eq(up.big_size, 65535);
}
END_TEST

/* Register and unregister at random against a plain list, to exercise the
 * registry's probing and its back-shifting removal. */
START_TEST(registry_random_against_model)
{
    unsigned seed = getenv("GLAN_SEED") ? (unsigned)strtoul(getenv("GLAN_SEED"), NULL, 0)
                                        : (unsigned)time(NULL);
    printf("registry_random_against_model: GLAN_SEED=%u\n", seed);
    srand(seed);
    enum { N = 300 };
    int owner[N]; /* -1 none, 0 A, 1 B */
    for (int i = 0; i < N; i++)
        owner[i] = -1;
    struct testport *tp[2] = {&A, &B};
    for (int step = 0; step < 20000; step++) {
        int i = rand() % N, who = rand() % 2;
        char t[48];
        struct glan_addr a;
        if (i % 2)
            snprintf(t, sizeof t, "10.%d.%d.1", 100 + i / 200, i % 200);
        else
            snprintf(t, sizeof t, "fd01::%x", i + 1);
        glan_addr_parse(t, &a);
        if (rand() % 2) {
            int rc = glan_addr_register(tp[who]->port, &a);
            if (owner[i] < 0) {
                ck_assert_int_eq(rc, 0);
                owner[i] = who;
            } else {
                ck_assert_int_eq(rc, owner[i] == who ? 0 : -EADDRINUSE);
            }
        } else {
            int rc = glan_addr_unregister(tp[who]->port, &a);
            ck_assert_int_eq(rc, owner[i] == who ? 0 : -ENOENT);
            if (owner[i] == who)
                owner[i] = -1;
        }
        if (step % 1000 == 999)
            for (int k = 0; k < N; k++) {
                char t2[48];
                struct glan_addr b;
                if (k % 2)
                    snprintf(t2, sizeof t2, "10.%d.%d.1", 100 + k / 200, k % 200);
                else
                    snprintf(t2, sizeof t2, "fd01::%x", k + 1);
                glan_addr_parse(t2, &b);
                int want = owner[k] < 0 ? -1 : glan_port_index(tp[owner[k]]->port);
                ck_assert_int_eq(glan_lan_lookup(lan, &b), want);
            }
    }
}
END_TEST

START_TEST(port_address_listing)
{
    struct glan_addr out[8], g;
    glan_addr_parse("224.5.5.5", &g);
    glan_group_join(B.port, &g);
    ck_assert_uint_eq(glan_lan_port_addrs(lan, glan_port_index(B.port), 0, out, 8), 3);
    ck_assert_uint_eq(glan_lan_port_addrs(lan, glan_port_index(B.port), 1, out, 8), 4);
    ck_assert_uint_eq(glan_lan_port_addrs(lan, glan_port_index(B.port), 1, out, 1), 4);
}
END_TEST

struct seen {
    unsigned n;
    enum glan_drop last;
    uint64_t last_ts;
    uint32_t last_len;
};

static void watch(void *ctx, const struct glan_dgram *dg, enum glan_drop verdict)
{
    struct seen *w = ctx;
    w->n++;
    w->last = verdict;
    w->last_ts = dg->ts_ns;
    w->last_len = dg->len;
}

START_TEST(monitor_sees_every_datagram_once)
{
    struct seen w = {0};
    ck_assert_int_eq(glan_lan_set_monitor(lan, watch, &w), 0);
    ck_assert_int_eq(glan_lan_set_monitor(lan, watch, &w), -EBUSY);
    tp_send(&A, "10.0.0.1", "10.0.0.2", 80, 1);
    ck_assert_uint_eq(w.n, 1);
    ck_assert_int_eq(w.last, GLAN_DROP_NONE);
    ck_assert_uint_eq(w.last_len, 80);
    ck_assert_uint_ne(w.last_ts, 0);                   /* stamped while watched */
    tp_send(&A, "10.0.0.1", "255.255.255.255", 64, 2); /* one datagram, two copies */
    ck_assert_uint_eq(w.n, 2);
    tp_send(&A, "10.0.0.1", "192.0.2.1", 64, 3);
    ck_assert_uint_eq(w.n, 3);
    ck_assert_int_eq(w.last, GLAN_DROP_NO_UPLINK);
    uint8_t buf[64];
    tp_build(buf, 64, "10.0.0.1", "10.0.0.3", 4);
    struct glan_tx_meta m = {.ts_ns = 777};
    glan_port_send(A.port, buf, 64, &m);
    ck_assert_uint_eq(w.last_ts, 777);
    ck_assert_int_eq(glan_lan_set_monitor(lan, NULL, NULL), 0);
    tp_send(&A, "10.0.0.1", "10.0.0.2", 64, 5);
    ck_assert_uint_eq(w.n, 4);
    struct glan_lan_stats st;
    glan_lan_stats(lan, &st);
    ck_assert_uint_eq(st.buffers_in_use, 0); /* the monitor's reference went back */
}
END_TEST

START_TEST(batch_delivers_once_per_receiver)
{
    glan_port_batch_begin(A.port);
    for (uint32_t i = 0; i < 5; i++)
        tp_send(&A, "10.0.0.1", "10.0.0.2", 64, i);
    tp_send(&A, "10.0.0.1", "10.0.0.3", 64, 9);
    ck_assert_uint_eq(B.n + C.n, 0); /* queued, not yet delivered */
    struct glan_port_stats sb;
    glan_port_stats(B.port, &sb);
    ck_assert_uint_eq(sb.queued, 5);
    tp_check_balance(lan);
    glan_port_batch_end(A.port);
    ck_assert_uint_eq(B.n, 5);
    ck_assert_uint_eq(C.n, 1);
    ck_assert_uint_eq(B.flushes, 1); /* one pass, one interrupt */
    ck_assert_uint_eq(C.flushes, 1);
    for (uint32_t i = 0; i < 5; i++)
        ck_assert_uint_eq(B.tags[i], i);
    /* After the batch, delivery is immediate again. */
    tp_send(&A, "10.0.0.1", "10.0.0.2", 64, 10);
    ck_assert_uint_eq(B.n, 6);
    ck_assert_uint_eq(B.flushes, 2);
}
END_TEST

START_TEST(batch_receiver_detached_meanwhile)
{
    glan_port_batch_begin(A.port);
    tp_send(&A, "10.0.0.1", "10.0.0.2", 64, 1);
    glan_port_detach(B.port);
    B.port = NULL;
    glan_port_batch_end(A.port);
    ck_assert_uint_eq(B.n, 0);
    ck_assert_uint_eq(dropped(&A, GLAN_DROP_PORT_GONE), 1);
}
END_TEST

Suite *lan_suite(void)
{
    Suite *s = suite_create("lan");
    TCase *tc = tcase_create("forwarding");
    tcase_add_checked_fixture(tc, setup_three, teardown);
    tcase_add_test(tc, unicast_guest_to_guest);
    tcase_add_test(tc, unregistered_from_guest_goes_to_uplink);
    tcase_add_test(tc, unregistered_without_uplink_is_dropped);
    tcase_add_test(tc, from_uplink_by_destination_only);
    tcase_add_test(tc, broadcast_to_all_but_sender);
    tcase_add_test(tc, multicast_to_members);
    tcase_add_test(tc, multicast_without_receivers_is_dropped);
    tcase_add_test(tc, duplicate_registration_refused);
    tcase_add_test(tc, bad_addresses_refused);
    tcase_add_test(tc, registry_full);
    tcase_add_test(tc, malformed_and_too_big);
    tcase_add_test(tc, full_receiver_waits_then_kick);
    tcase_add_test(tc, wait_queue_is_bounded);
    tcase_add_test(tc, base_storage_is_bounded);
    tcase_add_test(tc, base_storage_is_one_pool_across_threads);
    tcase_add_test(tc, size_class_smallest_that_fits);
    tcase_add_test(tc, size_class_exhausted);
    tcase_add_test(tc, detach_drops_what_waits);
    tcase_add_test(tc, lan_totals_survive_detach);
    tcase_add_test(tc, receiver_errors_are_counted);
    tcase_add_test(tc, attach_limits);
    tcase_add_test(tc, config_validation);
    tcase_add_test(tc, registry_random_against_model);
    tcase_add_test(tc, port_address_listing);
    tcase_add_test(tc, monitor_sees_every_datagram_once);
    tcase_add_test(tc, batch_delivers_once_per_receiver);
    tcase_add_test(tc, batch_receiver_detached_meanwhile);
    suite_add_tcase(s, tc);
    return s;
}
