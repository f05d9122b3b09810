/*
 * Concurrency tests of the base: senders hammering each other (each
 * delivering into the other's input from its own thread, the deadlock the
 * lock order must rule out), many senders into one receiver whose "guest"
 * returns input buffers and kicks from yet another thread (the lost-wake-up
 * case of the drain turn), a detach in the middle of traffic, and more
 * sending threads than the LAN totals have stripes.  Every datagram is
 * stamped with its sender and sequence; receivers check the order per
 * sender, and the books must balance at the end.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "guestlan/base.h"
#include "testport.h"

enum { SENDERS_MAX = 4, PER_SENDER = 20000 };

/* A receiver that may be thread-unsafe on purpose: the base promises one
 * deliverer at a time per port, and `inside` checks that promise. */
struct rx {
    struct glan_port *port;
    atomic_int inside;
    atomic_int room; /* -1 unlimited */
    uint32_t next_seq[SENDERS_MAX];
    /* Atomic: detach_during_traffic watches it from the test's thread while
     * the sender's thread delivers. */
    _Atomic uint64_t got;
    uint64_t order_errors, overlap_errors;
};

static int rx_deliver(void *ctx, const struct glan_dgram *dg)
{
    struct rx *r = ctx;
    if (atomic_fetch_add(&r->inside, 1) != 0)
        r->overlap_errors++;
    int rc = 0;
    int room = atomic_load(&r->room);
    while (room != -1) {
        if (room == 0) {
            rc = -EAGAIN;
            goto out;
        }
        if (atomic_compare_exchange_weak(&r->room, &room, room - 1))
            break;
    }
    uint32_t tag;
    memcpy(&tag, dg->data + 28, 4);
    uint32_t sender = tag >> 24, seq = tag & 0xffffff;
    if (sender >= SENDERS_MAX || seq < r->next_seq[sender])
        r->order_errors++;
    else
        r->next_seq[sender] = seq + 1;
    r->got++;
out:
    atomic_fetch_sub(&r->inside, 1);
    return rc;
}

static const struct glan_port_ops rx_ops = {.deliver = rx_deliver};

static struct glan_lan *new_lan(void)
{
    char err[128];
    /* stuck_ms far above the default: a receiver thread starved of the CPU
     * for the default 2 s (TSan on a loaded machine) is not what these
     * tests look for; one that takes nothing for a minute is a lost wake-up. */
    struct glan_lan_config cfg = {
        .name = "HAMMER", .buffers = 512, .queue_len = 128, .stuck_ms = 60000};
    struct glan_lan *lan = glan_lan_create(&cfg, err, sizeof err);
    ck_assert_ptr_nonnull(lan);
    return lan;
}

static void rx_attach(struct glan_lan *lan, struct rx *r, const char *name, const char *addr)
{
    memset(r, 0, sizeof *r);
    atomic_init(&r->room, -1);
    struct glan_port_info info = {.name = name, .kind = GLAN_PORT_GUEST};
    ck_assert_int_eq(glan_port_attach(lan, &info, &rx_ops, r, &r->port), 0);
    struct glan_addr a;
    glan_addr_parse(addr, &a);
    ck_assert_int_eq(glan_addr_register(r->port, &a), 0);
}

struct sender {
    struct glan_port *port;
    const char *src, *dst;
    uint32_t id;
    atomic_int *stop;
};

static void *send_loop(void *arg)
{
    struct sender *s = arg;
    uint8_t buf[64];
    tp_build(buf, sizeof buf, s->src, s->dst, 0);
    for (uint32_t i = 0; i < PER_SENDER && !(s->stop && atomic_load(s->stop)); i++) {
        uint32_t tag = s->id << 24 | i;
        memcpy(buf + 28, &tag, 4);
        glan_port_send(s->port, buf, sizeof buf, NULL);
    }
    return NULL;
}

START_TEST(two_senders_hammer_each_other)
{
    struct glan_lan *lan = new_lan();
    struct rx a, b;
    rx_attach(lan, &a, "A", "10.0.0.1");
    rx_attach(lan, &b, "B", "10.0.0.2");
    struct sender sa = {a.port, "10.0.0.1", "10.0.0.2", 0, NULL};
    struct sender sb = {b.port, "10.0.0.2", "10.0.0.1", 1, NULL};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, send_loop, &sa);
    pthread_create(&tb, NULL, send_loop, &sb);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    /* Unlimited room: nothing can be dropped or left waiting. */
    ck_assert_uint_eq(a.got, PER_SENDER);
    ck_assert_uint_eq(b.got, PER_SENDER);
    ck_assert_uint_eq(a.order_errors + b.order_errors, 0);
    ck_assert_uint_eq(a.overlap_errors + b.overlap_errors, 0);
    tp_check_balance(lan);
    glan_port_detach(a.port);
    glan_port_detach(b.port);
    glan_lan_destroy(lan);
}
END_TEST

struct guest {
    struct rx *r;
    atomic_int *stop;
};

/* The receiving guest: returns a few input buffers at a time and kicks. */
static void *guest_loop(void *arg)
{
    struct guest *g = arg;
    while (!atomic_load(g->stop)) {
        atomic_store(&g->r->room, 8);
        glan_port_kick(g->r->port);
        sched_yield();
    }
    return NULL;
}

START_TEST(many_senders_one_slow_receiver)
{
    struct glan_lan *lan = new_lan();
    struct rx r, s[3];
    rx_attach(lan, &r, "R", "10.0.0.100");
    atomic_store(&r.room, 0);
    const char *srcs[3] = {"10.0.0.1", "10.0.0.2", "10.0.0.3"};
    const char *names[3] = {"S1", "S2", "S3"};
    struct sender snd[3];
    pthread_t th[3], tg;
    atomic_int stop = 0;
    struct guest g = {&r, &stop};
    pthread_create(&tg, NULL, guest_loop, &g);
    for (int i = 0; i < 3; i++) {
        rx_attach(lan, &s[i], names[i], srcs[i]);
        snd[i] = (struct sender){s[i].port, srcs[i], "10.0.0.100", (uint32_t)i, NULL};
        pthread_create(&th[i], NULL, send_loop, &snd[i]);
    }
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    atomic_store(&stop, 1);
    pthread_join(tg, NULL);
    /* Whatever still waits goes in once the guest makes room for all. */
    atomic_store(&r.room, -1);
    glan_port_kick(r.port);
    struct glan_lan_stats st;
    glan_lan_stats(lan, &st);
    uint64_t dropped = 0;
    for (int i = 0; i < GLAN_DROP_COUNT; i++)
        dropped += st.dropped[i];
    ck_assert_uint_eq(st.queued, 0);
    ck_assert_uint_eq(st.sent_packets, 3 * PER_SENDER);
    ck_assert_uint_eq(r.got, st.delivered);
    ck_assert_uint_eq(st.delivered + dropped, 3 * PER_SENDER);
    /* Only the bounded kinds of drop may happen. */
    char why[256];
    glan_drops_format(st.dropped, why, sizeof why);
    ck_assert_msg(dropped == st.dropped[GLAN_DROP_QUEUE_FULL] + st.dropped[GLAN_DROP_NO_BUFFER],
                  "drops other than queue_full and no_buffer:%s", why);
    ck_assert_uint_eq(r.order_errors, 0);
    ck_assert_uint_eq(r.overlap_errors, 0);
    ck_assert_uint_eq(st.buffers_in_use, 0);
    for (int i = 0; i < 3; i++)
        glan_port_detach(s[i].port);
    glan_port_detach(r.port);
    glan_lan_destroy(lan);
}
END_TEST

START_TEST(detach_during_traffic)
{
    struct glan_lan *lan = new_lan();
    struct rx a, b;
    rx_attach(lan, &a, "A", "10.0.0.1");
    rx_attach(lan, &b, "B", "10.0.0.2");
    atomic_int stop = 0;
    struct sender sa = {a.port, "10.0.0.1", "10.0.0.2", 0, &stop};
    pthread_t ta;
    pthread_create(&ta, NULL, send_loop, &sa);
    while (b.got < 1000 && !atomic_load(&stop))
        sched_yield();
    glan_port_detach(b.port); /* while A keeps sending to it */
    uint64_t got_at_detach = b.got;
    atomic_store(&stop, 1);
    pthread_join(ta, NULL);
    ck_assert_uint_eq(b.got, got_at_detach); /* never called after detach */
    tp_check_balance(lan);
    struct glan_lan_stats st;
    glan_lan_stats(lan, &st);
    ck_assert_uint_eq(st.buffers_in_use, 0);
    ck_assert_uint_eq(st.delivered, b.got);
    glan_port_detach(a.port);
    glan_lan_destroy(lan);
}
END_TEST

/* More sending threads than the LAN totals have stripes, so some share a
 * stripe: the sums must still be exact, and equal the ports' own counts. */
enum { MANY = 20, PER_MANY = 2000 };

struct many_sender {
    struct rx rx;
    char name[8], addr[16];
};

static void *send_many(void *arg)
{
    struct many_sender *m = arg;
    uint8_t buf[64];
    tp_build(buf, sizeof buf, m->addr, "10.0.1.1", 0);
    for (uint32_t i = 0; i < PER_MANY; i++)
        glan_port_send(m->rx.port, buf, sizeof buf, NULL);
    return NULL;
}

START_TEST(lan_totals_exact_from_many_threads)
{
    char err[128];
    struct glan_lan_config cfg = {.name = "MANY", .buffers = 512, .queue_len = 1024};
    struct glan_lan *lan = glan_lan_create(&cfg, err, sizeof err);
    ck_assert_ptr_nonnull(lan);
    static struct rx r;
    static struct many_sender m[MANY];
    rx_attach(lan, &r, "R", "10.0.1.1");
    pthread_t th[MANY];
    for (int i = 0; i < MANY; i++) {
        snprintf(m[i].name, sizeof m[i].name, "S%d", i);
        snprintf(m[i].addr, sizeof m[i].addr, "10.0.2.%d", i + 1);
        rx_attach(lan, &m[i].rx, m[i].name, m[i].addr);
    }
    for (int i = 0; i < MANY; i++)
        pthread_create(&th[i], NULL, send_many, &m[i]);
    for (int i = 0; i < MANY; i++)
        pthread_join(th[i], NULL);
    struct glan_lan_stats st;
    glan_lan_stats(lan, &st);
    struct glan_port_stats ps;
    uint64_t sent = 0, bytes = 0, delivered = 0, dropped = 0, lan_dropped = 0;
    for (int i = 0; i < MANY; i++) {
        glan_port_stats(m[i].rx.port, &ps);
        ck_assert_uint_eq(ps.sent_packets, PER_MANY);
        sent += ps.sent_packets;
        bytes += ps.sent_bytes;
        delivered += ps.delivered;
        for (int k = 0; k < GLAN_DROP_COUNT; k++)
            dropped += ps.dropped[k];
    }
    for (int k = 0; k < GLAN_DROP_COUNT; k++)
        lan_dropped += st.dropped[k];
    ck_assert_uint_eq(st.sent_packets, (uint64_t)MANY * PER_MANY);
    ck_assert_uint_eq(st.sent_packets, sent);
    ck_assert_uint_eq(st.sent_bytes, bytes);
    ck_assert_uint_eq(st.delivered, delivered);
    ck_assert_uint_eq(st.delivered, r.got);
    ck_assert_uint_eq(lan_dropped, dropped);
    ck_assert_uint_eq(st.queued, 0);
    ck_assert_uint_eq(st.delivered + lan_dropped, st.sent_packets);
    tp_check_balance(lan);
    for (int i = 0; i < MANY; i++)
        glan_port_detach(m[i].rx.port);
    glan_port_detach(r.port);
    glan_lan_destroy(lan);
}
END_TEST

Suite *concurrency_suite(void)
{
    Suite *s = suite_create("concurrency");
    TCase *tc = tcase_create("hammer");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, two_senders_hammer_each_other);
    tcase_add_test(tc, many_senders_one_slow_receiver);
    tcase_add_test(tc, detach_during_traffic);
    tcase_add_test(tc, lan_totals_exact_from_many_threads);
    suite_add_tcase(s, tc);
    return s;
}
