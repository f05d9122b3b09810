/*
 * Unit tests of the base's uplink glue (src/base/uplink.c): the order of an
 * uplink's life-cycle calls, a failing start undoing the attach, and traffic
 * both ways through a fake uplink.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "guestlan/uplink.h"
#include "testport.h"

struct fake {
    struct glan_uplink up; /* first: the base sees a struct glan_uplink */
    char calls[64];
    int start_rc;
    unsigned ports_at_stop;
    unsigned sent;
    struct glan_lan *lan;
    int events[8]; /* +1 registered, -1 unregistered, in order */
    unsigned nevents;
};

static void note(struct glan_uplink *u, char c)
{
    struct fake *f = (struct fake *)u;
    size_t n = strlen(f->calls);
    if (n + 1 < sizeof f->calls)
        f->calls[n] = c;
}

static int f_open(struct glan_uplink *u)
{
    note(u, 'o');
    return 0;
}

static int f_start(struct glan_uplink *u)
{
    note(u, 's');
    ck_assert_ptr_nonnull(u->port); /* the port exists before receiving starts */
    return ((struct fake *)u)->start_rc;
}

static void f_stop(struct glan_uplink *u)
{
    struct fake *f = (struct fake *)u;
    struct glan_lan_stats st;
    note(u, 't');
    glan_lan_stats(f->lan, &st);
    f->ports_at_stop = st.ports;
}

static void f_close(struct glan_uplink *u)
{
    note(u, 'c');
}

static int f_send(struct glan_uplink *u, const struct glan_dgram *dg)
{
    (void)dg;
    ((struct fake *)u)->sent++;
    return 0;
}

static void f_addr_event(struct glan_uplink *u, const struct glan_addr *a, int registered)
{
    struct fake *f = (struct fake *)u;
    (void)a;
    if (f->nevents < 8)
        f->events[f->nevents] = registered ? 1 : -1;
    f->nevents++;
}

static const struct glan_uplink_ops fake_ops = {
    .kind = "fake",
    .open = f_open,
    .send = f_send,
    .start = f_start,
    .stop = f_stop,
    .close = f_close,
    .addr_event = f_addr_event,
};

static struct glan_lan *new_lan(void)
{
    char err[128];
    struct glan_lan_config cfg = {.name = "UP"};
    struct glan_lan *lan = glan_lan_create(&cfg, err, sizeof err);
    ck_assert_ptr_nonnull(lan);
    return lan;
}

START_TEST(life_cycle_order)
{
    struct glan_lan *lan = new_lan();
    struct fake f = {.up.ops = &fake_ops, .lan = lan};
    ck_assert_int_eq(glan_uplink_attach(lan, &f.up), 0);
    ck_assert_str_eq(f.calls, "os");
    ck_assert_int_eq(glan_uplink_attach(lan, &f.up), -EBUSY);
    glan_uplink_detach(&f.up);
    ck_assert_str_eq(f.calls, "ostc");
    ck_assert_uint_eq(f.ports_at_stop, 1); /* stopped before its port went */
    ck_assert_ptr_null(f.up.port);
    glan_lan_destroy(lan);
}
END_TEST

START_TEST(failing_start_undoes_attach)
{
    struct glan_lan *lan = new_lan();
    struct fake f = {.up.ops = &fake_ops, .lan = lan, .start_rc = -EPERM};
    ck_assert_int_eq(glan_uplink_attach(lan, &f.up), -EPERM);
    ck_assert_str_eq(f.calls, "osc");
    ck_assert_ptr_null(f.up.port);
    struct glan_lan_stats st;
    glan_lan_stats(lan, &st);
    ck_assert_uint_eq(st.ports, 0);
    /* A second uplink may attach now: the first left no port behind. */
    struct fake g = {.up.ops = &fake_ops, .lan = lan};
    ck_assert_int_eq(glan_uplink_attach(lan, &g.up), 0);
    glan_uplink_detach(&g.up);
    glan_lan_destroy(lan);
}
END_TEST

START_TEST(traffic_both_ways)
{
    struct glan_lan *lan = new_lan();
    struct fake f = {.up.ops = &fake_ops, .lan = lan};
    static const char *const addrs[] = {"10.2.0.1", NULL};
    struct testport g;
    tp_attach(&g, lan, "G", addrs);
    ck_assert_int_eq(glan_uplink_attach(lan, &f.up), 0);
    uint8_t buf[64];
    tp_build(buf, sizeof buf, "192.0.2.1", "10.2.0.1", 42);
    ck_assert_int_eq(glan_uplink_input(&f.up, buf, sizeof buf, 123), GLAN_DROP_NONE);
    ck_assert_uint_eq(g.n, 1);
    ck_assert_uint_eq(g.tags[0], 42);
    ck_assert_uint_eq(f.up.stats.rx_packets, 1);
    tp_build(buf, sizeof buf, "192.0.2.1", "10.2.0.9", 43);
    ck_assert_int_eq(glan_uplink_input(&f.up, buf, sizeof buf, 124), GLAN_DROP_UNKNOWN_DEST);
    ck_assert_int_eq(tp_send(&g, "10.2.0.1", "192.0.2.1", 64, 44), GLAN_DROP_NONE);
    ck_assert_uint_eq(f.sent, 1);
    tp_check_balance(lan);
    glan_uplink_detach(&f.up);
    glan_port_detach(g.port);
    glan_lan_destroy(lan);
}
END_TEST

START_TEST(address_events)
{
    struct glan_lan *lan = new_lan();
    struct fake f = {.up.ops = &fake_ops, .lan = lan};
    struct testport g, h;
    tp_attach(&g, lan, "G", NULL);
    tp_attach(&h, lan, "H", NULL);
    ck_assert_int_eq(glan_uplink_attach(lan, &f.up), 0);
    struct glan_addr a;
    glan_addr_parse("10.4.0.1", &a);
    ck_assert_int_eq(glan_addr_register(g.port, &a), 0);
    ck_assert_int_eq(glan_addr_register(g.port, &a), 0);           /* held already: no event */
    ck_assert_int_eq(glan_addr_register(h.port, &a), -EADDRINUSE); /* refused: no event */
    ck_assert_int_eq(glan_addr_unregister(h.port, &a), -ENOENT);
    ck_assert_int_eq(glan_addr_unregister(g.port, &a), 0);
    ck_assert_uint_eq(f.nevents, 2);
    ck_assert_int_eq(f.events[0], 1);
    ck_assert_int_eq(f.events[1], -1);
    glan_uplink_detach(&f.up);
    ck_assert_int_eq(glan_addr_register(g.port, &a), 0); /* no uplink: nobody told */
    ck_assert_uint_eq(f.nevents, 2);
    glan_port_detach(g.port);
    glan_port_detach(h.port);
    glan_lan_destroy(lan);
}
END_TEST

Suite *uplink_suite(void)
{
    Suite *s = suite_create("uplink");
    TCase *tc = tcase_create("glue");
    tcase_add_test(tc, life_cycle_order);
    tcase_add_test(tc, failing_start_undoes_attach);
    tcase_add_test(tc, traffic_both_ways);
    tcase_add_test(tc, address_events);
    suite_add_tcase(s, tc);
    return s;
}
