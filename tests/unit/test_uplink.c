/*
 * Unit tests of the base's uplink glue (src/base/uplink.c): the order of an
 * uplink's life-cycle calls, a failing start undoing the attach, and traffic
 * both ways through a fake uplink.  And of what every kind shares
 * (src/uplink/spec.c, runner.c): the registry of kinds and the spec parser's
 * messages, a kind registered from outside the library carried through the
 * spec's factory, and the status op of each kind before it is opened (no
 * root needed; the namespace tests cover them open).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "guestlan/pcapfile.h"
#include "guestlan/pcaplive.h"
#include "guestlan/tap.h"
#include "guestlan/tun.h"
#include "guestlan/uplink.h"
#include "guestlan/uplinkspec.h"
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

/* ---- the registry of kinds and the spec parser ------------------------------------ */

/* Parse the words of line (space-separated); the spec's message in err. */
static int parse(const char *line, struct glan_uplink_spec *spec, char *err, size_t errlen)
{
    char buf[256], *words[32], *save = NULL;
    int n = 0;
    snprintf(buf, sizeof buf, "%s", line);
    for (char *w = strtok_r(buf, " ", &save); w && n < 32; w = strtok_r(NULL, " ", &save))
        words[n++] = w;
    err[0] = '\0';
    return glan_uplink_spec_parse(n, words, spec, err, errlen);
}

/* A parse that must fail with exactly msg. */
static void refused(const char *line, const char *msg)
{
    struct glan_uplink_spec spec;
    char err[512];
    ck_assert_int_eq(parse(line, &spec, err, sizeof err), -EINVAL);
    ck_assert_str_eq(err, msg);
}

START_TEST(kinds_and_messages)
{
    static const char *const names[] = {"tun", "tap", "pcap"};
    for (size_t i = 0; i < 3; i++) {
        const struct glan_uplink_kind *k = glan_uplink_kind_at(i);
        ck_assert_ptr_nonnull(k);
        ck_assert_str_eq(k->name, names[i]);
        ck_assert_ptr_eq(glan_uplink_kind_find(names[i]), k);
        ck_assert_ptr_nonnull(k->help);
        ck_assert_ptr_nonnull(k->help[0]);
    }
    ck_assert_ptr_null(glan_uplink_kind_at(3));
    ck_assert_ptr_eq(glan_uplink_kind_find("TAP"), glan_uplink_kind_at(1));
    ck_assert_ptr_null(glan_uplink_kind_find("tunnel"));

    struct glan_uplink_spec spec;
    char err[512];
    ck_assert_int_eq(parse("TUN glan0 MTU 1400", &spec, err, sizeof err), 0);
    ck_assert_str_eq(spec.kind, "tun");
    ck_assert_str_eq(spec.what, "glan0 MTU 1400");
    spec.release(spec.arg);
    ck_assert_int_eq(
        parse("pcap eth0 nopromisc vlan 7 buffer 65536 gateway 10.0.0.1", &spec, err, sizeof err),
        0);
    ck_assert_str_eq(spec.what, "eth0 nopromisc vlan 7 buffer 65536 gateway 10.0.0.1");
    spec.release(spec.arg);
    ck_assert_int_eq(parse("pcap eth0 mtu 1450", &spec, err, sizeof err), 0);
    spec.release(spec.arg);

    refused("", "missing uplink kind: tun IF [mtu N] | tap IF [mtu N] [mac M] [vlan N] "
                "[gateway A] [onlink A/LEN] | pcap IF [mtu N] [mac M] [vlan N] [gateway A] "
                "[onlink A/LEN] [nopromisc] [buffer N]");
    refused("vde sw0", "unknown uplink kind 'vde' (known: tun, tap, pcap)");
    refused("tap", "uplink tap needs an interface name (1 to 15 characters)");
    refused("tun glan0 mtu", "option 'mtu' needs a number from 68 to 65535");
    refused("tun glan0 vlan 5", "unknown option 'vlan' for uplink tun (known: mtu)");
    refused("tap t0 nopromisc", "unknown option 'nopromisc' for uplink tap");
    refused("pcap eth0 mtu 67", "option 'mtu' needs a number from 68 to 65535");
    refused("pcap eth0 speed 10", "unknown option 'speed' for uplink pcap");
    refused("tap t0 vlan 4095", "option 'vlan' needs a VLAN ID from 1 to 4094");
    refused("tap t0 mac 03:00:00:00:00:01",
            "option 'mac' needs a unicast MAC address (02:00:00:00:00:01)");
    refused("pcap eth0 onlink 10.0.0.0", "option 'onlink' needs a prefix ADDR/LEN");
    refused("pcap eth0 buffer 100", "option 'buffer' needs a size from 65536 to 2^30 bytes");
}
END_TEST

/* A kind from outside the library: "fake IF [speed N] [loud]". */
struct fake_cfg {
    unsigned speed;
    int loud;
};

static int fake_option(void *config, const char *kw, const char *val, char *err, size_t errlen)
{
    struct fake_cfg *c = config;
    if (!strcasecmp(kw, "loud")) {
        c->loud = 1;
        return 1;
    }
    if (strcasecmp(kw, "speed"))
        return 0;
    if (!val) {
        snprintf(err, errlen, "speed needs a value");
        return -EINVAL;
    }
    c->speed = (unsigned)atoi(val);
    return 2;
}

/* The one uplink the kind makes: a fake of the glue's tests with what the
 * spec said. */
static struct {
    struct fake f; /* first */
    struct fake_cfg cfg;
    char ifname[16];
} made;

static int fake_status(struct glan_uplink *u, struct glan_uplink_status *out)
{
    (void)u;
    out->kind = "fake";
    snprintf(out->device, sizeof out->device, "%s", made.ifname);
    snprintf(out->params, sizeof out->params, "speed %u%s", made.cfg.speed,
             made.cfg.loud ? ", loud" : "");
    return 0;
}

static const struct glan_uplink_ops fake_kind_ops = {
    .kind = "fake", .open = f_open, .send = f_send, .status = fake_status};

static struct glan_uplink *fake_create(const void *config, const char *ifname, char *err,
                                       size_t errlen)
{
    (void)err;
    (void)errlen;
    memset(&made, 0, sizeof made);
    made.f.up.ops = &fake_kind_ops;
    made.cfg = *(const struct fake_cfg *)config;
    snprintf(made.ifname, sizeof made.ifname, "%s", ifname);
    return &made.f.up;
}

static const struct glan_uplink_kind fake_kind = {
    .name = "fake",
    .usage = "fake IF [speed N] [loud]",
    .config_size = sizeof(struct fake_cfg),
    .option = fake_option,
    .create = fake_create,
};

START_TEST(registered_kind_through_the_factory)
{
    ck_assert_int_eq(glan_uplink_kind_register(&fake_kind), 0);
    ck_assert_int_eq(glan_uplink_kind_register(&fake_kind), -EEXIST);
    struct glan_uplink_kind nameless = fake_kind;
    nameless.name = NULL;
    ck_assert_int_eq(glan_uplink_kind_register(&nameless), -EINVAL);
    ck_assert_ptr_eq(glan_uplink_kind_at(3), &fake_kind);
    refused("vde sw0", "unknown uplink kind 'vde' (known: tun, tap, pcap, fake)");
    refused("fake f0 fast", "unknown option 'fast' for uplink fake");

    struct glan_uplink_spec spec;
    char err[256];
    ck_assert_int_eq(parse("Fake f0 loud speed 10", &spec, err, sizeof err), 0);
    ck_assert_str_eq(spec.kind, "fake");
    struct glan_lan *lan = new_lan();
    struct glan_uplink *u = spec.up(spec.arg, lan, err, sizeof err);
    ck_assert_ptr_eq(u, &made.f.up);
    ck_assert_ptr_nonnull(u->port); /* attached by the factory */
    ck_assert_str_eq(made.f.calls, "o");
    struct glan_uplink_status st;
    ck_assert_int_eq(glan_uplink_get_status(u, &st), 0);
    ck_assert_str_eq(st.kind, "fake");
    ck_assert_str_eq(st.device, "f0");
    ck_assert_str_eq(st.params, "speed 10, loud");
    spec.down(spec.arg, u);
    ck_assert_ptr_null(made.f.up.port);
    spec.release(spec.arg);
    glan_lan_destroy(lan);
}
END_TEST

/* ---- the status op of each kind, before it is opened ------------------------------- */

START_TEST(status_of_each_kind)
{
    struct glan_uplink_status st;
    struct fake plain = {.up.ops = &fake_ops};
    ck_assert_int_eq(glan_uplink_get_status(&plain.up, &st), -EOPNOTSUPP);

    char err[256];
    struct glan_tun_config tc = {.ifname = "glant9", .mtu = 1400};
    struct glan_uplink *u = glan_tun_create(&tc, err, sizeof err);
    ck_assert_ptr_nonnull(u);
    ck_assert_int_eq(glan_uplink_get_status(u, &st), 0);
    ck_assert_str_eq(st.kind, "tun");
    ck_assert_str_eq(st.device, "");
    ck_assert_str_eq(st.params, "mtu 0"); /* none looked at yet */
    ck_assert_int_eq(st.open, 0);
    ck_assert_ptr_null(st.down);
    ck_assert_int_eq(st.rx_thread, 0);
    ck_assert_uint_eq(st.nfacts, 0);
    glan_uplink_destroy(u);

    struct glan_tap_config ta = {.ifname = "glantap9"};
    u = glan_tap_create(&ta, err, sizeof err);
    ck_assert_ptr_nonnull(u);
    ck_assert_str_eq(u->ops->kind, "tap");
    ck_assert_int_eq(glan_uplink_get_status(u, &st), 0);
    ck_assert_str_eq(st.kind, "tap");
    ck_assert_str_eq(st.params, "mtu 0 mac ?"); /* none looked at yet; the engine comes with
                                                 * the LAN */
    ck_assert_uint_eq(st.nfacts, 1);
    ck_assert_str_eq(st.facts[0].label, "Receive thread");
    ck_assert_str_eq(st.facts[0].text, "woken 0 times with frames to read, 0 of them found none");
    glan_uplink_destroy(u);

    struct glan_pcaplive_config pc = {.ifname = "eth9"};
    u = glan_pcaplive_create(&pc, err, sizeof err);
    ck_assert_ptr_nonnull(u);
    ck_assert_str_eq(u->ops->kind, "pcaplive");
    ck_assert_int_eq(glan_uplink_get_status(u, &st), 0);
    ck_assert_str_eq(st.kind, "pcap"); /* as specs and queries name it */
    glan_uplink_destroy(u);
    /* An MTU of the path beyond it: the uplink's, with the interface left
     * alone. */
    pc.mtu = 1450;
    u = glan_pcaplive_create(&pc, err, sizeof err);
    ck_assert_ptr_nonnull(u);
    ck_assert_uint_eq(glan_uplink_mtu(u), 0); /* taken at open */
    glan_uplink_set_mtu(u, 1450);
    ck_assert_uint_eq(glan_uplink_mtu(u), 1450);
    glan_uplink_destroy(u);

    u = glan_pcapfile_create(NULL, "/nonexistent/out.pcap");
    ck_assert_ptr_nonnull(u);
    ck_assert_int_eq(glan_pcapfile_set_format(u, GLAN_PCAP_NG), 0);
    ck_assert_int_eq(glan_uplink_get_status(u, &st), 0);
    ck_assert_str_eq(st.kind, "pcapfile");
    ck_assert_str_eq(st.params, "pcapng");
    ck_assert_int_eq(st.open, 0);
    ck_assert_uint_eq(st.nfacts, 2);
    ck_assert_str_eq(st.facts[0].text, "nothing");
    ck_assert_str_eq(st.facts[1].text, "/nonexistent/out.pcap");
    glan_uplink_destroy(u);
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
    TCase *kinds = tcase_create("kinds");
    tcase_add_test(kinds, kinds_and_messages);
    tcase_add_test(kinds, registered_kind_through_the_factory);
    tcase_add_test(kinds, status_of_each_kind);
    suite_add_tcase(s, kinds);
    return s;
}
