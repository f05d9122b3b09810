/*
 * Unit tests of the controller (src/base/controller.c) driven the way a real
 * guest drives it: simulated qeth guests (src/simguest) bring their OSA
 * interfaces up and down (STARTLAN, STOPLAN, halt, clear, destroy) and the
 * device model reports it; the uplink is a fake that counts what the LAN
 * sends out and can fail to come up.  Covers the LAN without a controller,
 * the controller's start and stop, a controller started before its spec
 * existed, a failing factory, the backup taking over, and that the data
 * never passes through the controller's guest.  On a shared LAN whose
 * uplink another process holds, the controller stands by and takes the
 * uplink over once that process is killed, or lapses when it cannot.
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

#include "guestlan/controller.h"
#include "guestlan/uplink.h"
#include "guestlan/osa_wire.h"
#include "guestlan/simguest.h"
#include "testport.h"

/* ---- a fake uplink and its factory --------------------------------------------- */

struct fake_up {
    struct glan_uplink u; /* first: the base sees only this */
    unsigned sent;
};

static int fu_send(struct glan_uplink *u, const struct glan_dgram *dg)
{
    (void)dg;
    ((struct fake_up *)u)->sent++;
    return 0;
}

static const struct glan_uplink_ops fake_ops = {.kind = "fake", .send = fu_send};

struct factory {
    int fail;             /* the next ups fail while nonzero */
    unsigned made, freed; /* uplinks created, freed */
    unsigned released;
    struct fake_up *last;
};

static struct glan_uplink *f_up(void *arg, struct glan_lan *lan, char *err, size_t errlen)
{
    struct factory *f = arg;
    if (f->fail) {
        snprintf(err, errlen, "fake: no device");
        return NULL;
    }
    struct fake_up *u = calloc(1, sizeof *u);
    ck_assert_ptr_nonnull(u);
    u->u.ops = &fake_ops;
    ck_assert_int_eq(glan_uplink_attach(lan, &u->u), 0);
    f->made++;
    f->last = u;
    return &u->u;
}

static void f_down(void *arg, struct glan_uplink *u)
{
    struct factory *f = arg;
    glan_uplink_destroy(u);
    free(u);
    f->freed++;
    f->last = NULL;
}

static void f_release(void *arg)
{
    ((struct factory *)arg)->released++;
}

static struct glan_uplink_spec spec_of(struct factory *f)
{
    struct glan_uplink_spec s = {
        .kind = "fake", .what = "dev0", .up = f_up, .down = f_down, .release = f_release, .arg = f};
    return s;
}

/* The controller of lan for f's uplinks, with cfg (NULL: none); the test
 * fails when it cannot be created. */
static struct glan_ctl *new_ctl(struct glan_lan *lan, struct factory *f,
                                const struct glan_ctl_config *cfg)
{
    struct glan_uplink_spec s = spec_of(f);
    struct glan_ctl *c;
    char err[256];
    ck_assert_int_eq(glan_ctl_create(lan, &s, cfg, &c, err, sizeof err), 0);
    return c;
}

static struct glan_lan *new_lan(const char *name)
{
    char err[128];
    struct glan_lan_config cfg = {.name = name};
    struct glan_lan *lan = glan_lan_create(&cfg, err, sizeof err);
    ck_assert_msg(lan != NULL, "%s", err);
    return lan;
}

static struct simguest *guest(struct glan_lan *lan, const char *name, uint16_t devnum)
{
    struct simguest *g = glan_sg_create(lan, name, devnum);
    ck_assert_ptr_nonnull(g);
    return g;
}

static void start(struct simguest *g)
{
    ck_assert_int_eq(glan_sg_start(g), 0);
}

static void stoplan(struct simguest *g)
{
    ck_assert_int_eq(glan_sg_ipa(g, IPA_CMD_STOPLAN, IPA_PROT_NONE, NULL, 0, NULL, NULL), 0);
}

static void startlan(struct simguest *g)
{
    ck_assert_int_eq(glan_sg_startlan(g), 0);
}

static struct glan_ctl_status status(struct glan_ctl *c)
{
    struct glan_ctl_status st;
    glan_ctl_status(c, &st);
    return st;
}

static int port_count(struct glan_lan *lan)
{
    struct glan_lan_stats st;
    glan_lan_stats(lan, &st);
    return (int)st.ports;
}

/* ---- tests ----------------------------------------------------------------------- */

START_TEST(no_controller_up_at_define)
{
    struct glan_lan *lan = new_lan("NOCTL");
    struct factory f = {0};
    struct glan_ctl *c = new_ctl(lan, &f, NULL);
    ck_assert_ptr_eq(glan_ctl_of(lan), c);
    struct glan_ctl_status st = status(c);
    ck_assert_int_eq(st.up, 1);
    ck_assert_str_eq(st.holder, "");
    ck_assert_str_eq(st.controller, "");
    ck_assert_uint_eq(f.made, 1);
    /* a guest starting and stopping changes nothing */
    struct simguest *g = guest(lan, "0600", 0x0600);
    start(g);
    stoplan(g);
    ck_assert_int_eq(status(c).up, 1);
    /* a second controller object for the same LAN is refused */
    struct glan_ctl *c2;
    char err[256];
    struct factory f2 = {0};
    struct glan_uplink_spec s2 = spec_of(&f2);
    ck_assert_int_eq(glan_ctl_create(lan, &s2, NULL, &c2, err, sizeof err), -EEXIST);
    ck_assert_uint_eq(f2.made, 0);
    ck_assert_uint_eq(f2.released, 1);
    glan_sg_destroy(g);
    glan_ctl_destroy(c);
    ck_assert_uint_eq(f.freed, 1);
    ck_assert_uint_eq(f.released, 1);
    ck_assert_ptr_null(glan_ctl_of(lan));
    glan_lan_destroy(lan);
}
END_TEST

START_TEST(no_controller_failure_fails_define)
{
    struct glan_lan *lan = new_lan("NOCTLF");
    struct factory f = {.fail = 1};
    struct glan_uplink_spec s = spec_of(&f);
    struct glan_ctl *c = NULL;
    char err[256] = "";
    ck_assert_int_eq(glan_ctl_create(lan, &s, NULL, &c, err, sizeof err), -EIO);
    ck_assert_msg(strstr(err, "no device") != NULL, "%s", err);
    ck_assert_ptr_null(glan_ctl_of(lan));
    ck_assert_uint_eq(f.released, 1);
    /* a backup without a controller, or equal to it, is refused */
    struct glan_ctl_config bad1 = {.backup = "0700"};
    struct glan_ctl_config bad2 = {.controller = "0600", .backup = "0600"};
    f.fail = 0;
    ck_assert_int_eq(glan_ctl_create(lan, &s, &bad1, &c, err, sizeof err), -EINVAL);
    ck_assert_int_eq(glan_ctl_create(lan, &s, &bad2, &c, err, sizeof err), -EINVAL);
    ck_assert_uint_eq(f.made, 0);
    glan_lan_destroy(lan);
}
END_TEST

START_TEST(startlan_stoplan)
{
    struct glan_lan *lan = new_lan("CTL1");
    struct factory f = {0};
    struct glan_ctl_config cfg = {.controller = "0600"};
    struct glan_ctl *c = new_ctl(lan, &f, &cfg);
    ck_assert_int_eq(status(c).up, 0);
    ck_assert_uint_eq(f.made, 0);

    /* another guest starting does not bring the uplink up */
    struct simguest *other = guest(lan, "0700", 0x0700);
    ck_assert_int_eq(glan_sg_bringup(other, (const char *const[]){"10.0.0.7", NULL}), 0);
    ck_assert_int_eq(status(c).up, 0);
    int ports_before = port_count(lan);

    struct simguest *ctl = guest(lan, "0600", 0x0600);
    start(ctl);
    struct glan_ctl_status st = status(c);
    ck_assert_int_eq(st.up, 1);
    ck_assert_str_eq(st.holder, "0600");
    ck_assert_int_eq(st.controller_started, 1);
    ck_assert_int_eq(port_count(lan), ports_before + 2); /* the guest and the uplink */
    ck_assert_uint_eq(f.made, 1);

    /* the data does not pass through the controller's guest: a datagram to
     * the network goes from 0700 straight to the uplink */
    uint8_t d[64];
    size_t n = tp_build(d, sizeof d, "10.0.0.7", "192.0.2.1", 1);
    struct sg_pkt p = {.flags = glan_sg_l3_flags(d, n), .data = d, .len = (uint32_t)n};
    ck_assert_int_eq(glan_sg_send(other, &p, 1, 0), 0xa1);
    ck_assert_uint_eq(f.last->sent, 1);
    struct sg_rx rx[4];
    ck_assert_int_eq(glan_sg_recv(ctl, rx, 4), 0);
    struct glan_port_stats ps;
    glan_port_stats(glan_osa_port(ctl->osa), &ps);
    ck_assert_uint_eq(ps.recv_packets, 0);

    /* and what arrives from the network goes to its owner only */
    n = tp_build(d, sizeof d, "192.0.2.1", "10.0.0.7", 2);
    ck_assert_int_eq(glan_uplink_input(&f.last->u, d, n, 0), GLAN_DROP_NONE);
    ck_assert_int_eq(glan_sg_recv(other, rx, 4), 1);
    ck_assert_int_eq(glan_sg_recv(ctl, rx, 4), 0);

    stoplan(ctl);
    st = status(c);
    ck_assert_int_eq(st.up, 0);
    ck_assert_int_eq(st.controller_started, 0);
    ck_assert_uint_eq(f.freed, 1);
    ck_assert_msg(strstr(st.message, "stopped") != NULL, "%s", st.message);
    /* guest-to-guest traffic goes on; the network is out of reach */
    n = tp_build(d, sizeof d, "10.0.0.7", "192.0.2.1", 3);
    p.data = d;
    p.len = (uint32_t)n;
    ck_assert_int_eq(glan_sg_send(other, &p, 1, 0), 0xa1);
    struct glan_lan_stats ls;
    glan_lan_stats(lan, &ls);
    ck_assert_uint_eq(ls.dropped[GLAN_DROP_NO_UPLINK], 1);

    /* STARTLAN again (queues still active): up again, a new uplink */
    startlan(ctl);
    ck_assert_int_eq(status(c).up, 1);
    ck_assert_uint_eq(f.made, 2);
    startlan(ctl); /* a repeat is no new event */
    ck_assert_uint_eq(f.made, 2);

    /* halt of the data subchannel stops the queues: down */
    glan_osa_halt(ctl->osa, ctl->dt);
    ck_assert_int_eq(status(c).up, 0);
    ck_assert_uint_eq(f.freed, 2);

    /* a full bring-up again, then clear of the read channel: down */
    glan_sg_reset(ctl);
    start(ctl);
    ck_assert_int_eq(status(c).up, 1);
    glan_osa_clear(ctl->osa, ctl->rd);
    ck_assert_int_eq(status(c).up, 0);

    /* a bring-up, then the device goes away (detach): down */
    glan_sg_reset(ctl);
    start(ctl);
    ck_assert_int_eq(status(c).up, 1);
    glan_sg_destroy(ctl);
    st = status(c);
    ck_assert_int_eq(st.up, 0);
    ck_assert_uint_eq(st.ups, 4);
    ck_assert_uint_eq(st.downs, 4);
    ck_assert_uint_eq(f.made, f.freed);
    tp_check_balance(lan);

    glan_sg_destroy(other);
    glan_ctl_destroy(c);
    glan_lan_destroy(lan);
}
END_TEST

START_TEST(controller_started_before_spec)
{
    struct glan_lan *lan = new_lan("CTL2");
    struct simguest *ctl = guest(lan, "0600", 0x0600);
    start(ctl);
    struct factory f = {0};
    struct glan_ctl_config cfg = {.controller = "0600"};
    struct glan_ctl *c = new_ctl(lan, &f, &cfg);
    ck_assert_int_eq(status(c).up, 1);
    ck_assert_str_eq(status(c).holder, "0600");
    /* destroying the controller object takes the uplink down, the guest stays */
    glan_ctl_destroy(c);
    ck_assert_uint_eq(f.freed, 1);
    glan_sg_destroy(ctl);
    glan_lan_destroy(lan);
}
END_TEST

START_TEST(factory_failure_then_backup)
{
    struct glan_lan *lan = new_lan("CTL3");
    struct factory f = {.fail = 1};
    struct glan_ctl_config cfg = {.controller = "0600", .backup = "0700"};
    struct glan_ctl *c = new_ctl(lan, &f, &cfg);
    struct simguest *a = guest(lan, "0600", 0x0600);
    start(a); /* the controller's start fails to bring the uplink up */
    struct glan_ctl_status st = status(c);
    ck_assert_int_eq(st.up, 0);
    ck_assert_uint_eq(st.failures, 1);
    ck_assert_msg(strstr(st.message, "no device") != NULL, "%s", st.message);
    f.fail = 0;
    struct simguest *b = guest(lan, "0700", 0x0700);
    start(b); /* the backup's start tries again */
    st = status(c);
    ck_assert_int_eq(st.up, 1);
    ck_assert_str_eq(st.holder, "0700");
    glan_sg_destroy(b); /* the controller is started but never held it: it takes over */
    st = status(c);
    ck_assert_int_eq(st.up, 1);
    ck_assert_str_eq(st.holder, "0600");
    ck_assert_uint_eq(st.takeovers, 1);
    glan_sg_destroy(a);
    ck_assert_int_eq(status(c).up, 0);
    glan_ctl_destroy(c);
    glan_lan_destroy(lan);
}
END_TEST

START_TEST(backup_takeover)
{
    struct glan_lan *lan = new_lan("CTL4");
    struct factory f = {0};
    struct glan_ctl_config cfg = {.controller = "0600", .backup = "0700"};
    struct glan_ctl *c = new_ctl(lan, &f, &cfg);
    struct simguest *a = guest(lan, "0600", 0x0600);
    struct simguest *b = guest(lan, "0700", 0x0700);
    struct simguest *g = guest(lan, "0800", 0x0800);
    ck_assert_int_eq(glan_sg_bringup(g, (const char *const[]){"10.0.0.8", NULL}), 0);
    start(b); /* the backup first: it holds the uplink */
    start(a);
    struct glan_ctl_status st = status(c);
    ck_assert_str_eq(st.holder, "0700");
    ck_assert_int_eq(st.controller_started, 1);
    ck_assert_int_eq(st.backup_started, 1);
    struct fake_up *u = f.last;

    /* the holder goes away: the controller takes over the running uplink */
    stoplan(b);
    st = status(c);
    ck_assert_int_eq(st.up, 1);
    ck_assert_str_eq(st.holder, "0600");
    ck_assert_uint_eq(st.takeovers, 1);
    ck_assert_uint_eq(f.made, 1); /* not reopened */
    ck_assert_ptr_eq(f.last, u);
    ck_assert_msg(strstr(st.message, "took the uplink over") != NULL, "%s", st.message);

    /* traffic keeps flowing through the same uplink */
    uint8_t d[64];
    size_t n = tp_build(d, sizeof d, "10.0.0.8", "198.51.100.1", 9);
    struct sg_pkt p = {.flags = glan_sg_l3_flags(d, n), .data = d, .len = (uint32_t)n};
    ck_assert_int_eq(glan_sg_send(g, &p, 1, 0), 0xa1);
    ck_assert_uint_eq(u->sent, 1);

    /* the backup coming back does not take it back */
    startlan(b);
    ck_assert_str_eq(status(c).holder, "0600");
    /* the controller halted: the backup takes over again */
    glan_osa_halt(a->osa, a->dt);
    st = status(c);
    ck_assert_str_eq(st.holder, "0700");
    ck_assert_uint_eq(st.takeovers, 2);
    /* and when it goes too, the uplink is taken down */
    glan_sg_destroy(b);
    st = status(c);
    ck_assert_int_eq(st.up, 0);
    ck_assert_str_eq(st.holder, "");
    ck_assert_uint_eq(f.freed, 1);

    glan_sg_destroy(a);
    glan_sg_destroy(g);
    glan_ctl_destroy(c);
    glan_lan_destroy(lan);
}
END_TEST

/* ---- the standby of a shared LAN ------------------------------------------------------ */

static char shm_name[64];

/* Unchecked fixture: runs in the runner process, so the segment is unlinked
 * even when a test's (forked) process died on a failed assertion. */
static void shm_setup(void)
{
    snprintf(shm_name, sizeof shm_name, "/glan-ctltest-%d", (int)getpid());
    glan_lan_unlink_shared(shm_name);
}

static void shm_teardown(void)
{
    glan_lan_unlink_shared(shm_name);
}

/* What the watcher told the owner, in order ("TF": taking over, then failed). */
struct notes {
    char seq[8];
    _Atomic unsigned n;
    char error[256];
    struct glan_ctl_status last;
};

static void note(void *arg, const struct glan_ctl_note *note)
{
    struct notes *ns = arg;
    unsigned i = atomic_load(&ns->n);
    if (note->kind == GLAN_CTL_TAKEOVER_FAILED)
        snprintf(ns->error, sizeof ns->error, "%s", note->error);
    ns->last = *note->status;
    if (i + 1 < sizeof ns->seq)
        ns->seq[i] = note->kind == GLAN_CTL_TAKING_OVER ? 'T'
                     : note->kind == GLAN_CTL_TOOK_OVER ? 'O'
                                                        : 'F';
    atomic_store(&ns->n, i + 1); /* publishes seq, error and last to the test's thread */
}

static const struct glan_uplink_ops holder_ops = {.kind = "held", .send = fu_send};

/* Another process holding the shared LAN's uplink port, until it is killed.
 * Forked before the LAN exists (and with it a base thread of ours): it
 * attaches when told to (go) and says when it holds the port (ready). */
static pid_t uplink_holder(int go, int ready)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid)
        return pid;
    char c, err[200];
    if (read(go, &c, 1) != 1)
        _exit(20);
    struct glan_lan *l = glan_lan_attach_shared(shm_name, err, sizeof err);
    static struct fake_up u = {.u.ops = &holder_ops};
    if (!l || glan_uplink_attach(l, &u.u) < 0)
        _exit(10);
    if (write(ready, "r", 1) != 1)
        _exit(11);
    for (;;)
        pause();
}

/* A shared LAN whose uplink port the process *holder holds. */
static struct glan_lan *held_lan(pid_t *holder)
{
    int go[2], ready[2];
    glan_lan_unlink_shared(shm_name); /* the previous test's */
    ck_assert_int_eq(pipe(go), 0);
    ck_assert_int_eq(pipe(ready), 0);
    *holder = uplink_holder(go[0], ready[1]);
    char err[200], c;
    struct glan_lan_config cfg = {.name = "SHCTL", .max_ports = 8, .buffers = 64};
    struct glan_lan *lan = glan_lan_create_shared(&cfg, shm_name, err, sizeof err);
    ck_assert_msg(lan != NULL, "%s", err);
    ck_assert_int_eq(write(go[1], "g", 1), 1);
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    close(go[0]);
    close(go[1]);
    close(ready[0]);
    close(ready[1]);
    return lan;
}

static void kill_holder(struct glan_lan *lan, pid_t pid)
{
    int st;
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    glan_lan_reap(lan); /* the base thread would within 100 ms */
}

static void wait_notes(struct notes *ns, unsigned n)
{
    for (int i = 0; i < 500 && atomic_load(&ns->n) < n; i++)
        usleep(10000);
    ck_assert_uint_eq(atomic_load(&ns->n), n);
}

START_TEST(standby_takes_over)
{
    pid_t holder;
    struct glan_lan *lan = held_lan(&holder);
    struct factory f = {0};
    struct notes ns = {0};
    struct glan_ctl_config cfg = {.controller = "0600",
                                  .text = "fake dev0 controller 0600",
                                  .notify = note,
                                  .notify_arg = &ns};
    struct glan_ctl *c = new_ctl(lan, &f, &cfg);
    struct glan_ctl_status st = status(c);
    ck_assert_int_eq(st.standby, 1);
    ck_assert_int_eq(st.standby_holder, holder);
    ck_assert_str_eq(st.text, "fake dev0 controller 0600");
    /* the controller starting while standing by brings nothing up */
    struct testport g;
    tp_attach(&g, lan, "0600", NULL);
    glan_ctl_port_event(g.port, "0600", 1);
    ck_assert_int_eq(status(c).up, 0);
    ck_assert_uint_eq(f.made, 0);

    kill_holder(lan, holder);
    wait_notes(&ns, 2);
    ck_assert_str_eq(ns.seq, "TO");
    st = status(c);
    ck_assert_int_eq(st.standby, 0);
    ck_assert_int_eq(st.up, 1);
    ck_assert_str_eq(st.holder, "0600"); /* it was started meanwhile */
    ck_assert_str_eq(ns.last.holder, "0600");
    ck_assert_uint_eq(f.made, 1);
    ck_assert_int_eq(port_count(lan), 2); /* the guest and our uplink */
    glan_ctl_destroy(c);
    ck_assert_uint_eq(f.freed, 1);
    glan_ctl_shutdown();
    glan_port_detach(g.port);
    glan_lan_destroy(lan);
}
END_TEST

START_TEST(standby_lapses_when_takeover_fails)
{
    pid_t holder;
    struct glan_lan *lan = held_lan(&holder);
    struct factory f = {.fail = 1};
    struct notes ns = {0};
    struct glan_ctl_config cfg = {.notify = note, .notify_arg = &ns};
    struct glan_ctl *c = new_ctl(lan, &f, &cfg);
    ck_assert_int_eq(status(c).standby, 1);
    ck_assert_str_eq(status(c).text, "fake dev0"); /* no text given: kind and what */
    kill_holder(lan, holder);
    wait_notes(&ns, 2);
    ck_assert_str_eq(ns.seq, "TF");
    ck_assert_msg(strstr(ns.error, "no device") != NULL, "%s", ns.error);
    struct glan_ctl_status st = status(c);
    ck_assert_int_eq(st.lapsed, 1);
    ck_assert_int_eq(st.standby, 0);
    ck_assert_int_eq(st.up, 0);
    /* lapsed for good: no second try */
    f.fail = 0;
    usleep(500000);
    ck_assert_uint_eq(atomic_load(&ns.n), 2);
    ck_assert_uint_eq(f.made, 0);
    glan_ctl_destroy(c);
    ck_assert_uint_eq(f.released, 1);
    glan_ctl_shutdown();
    glan_lan_destroy(lan);
}
END_TEST

Suite *controller_suite(void)
{
    Suite *s = suite_create("controller");
    TCase *sb = tcase_create("standby");
    tcase_add_unchecked_fixture(sb, shm_setup, shm_teardown);
    tcase_add_test(sb, standby_takes_over);
    tcase_add_test(sb, standby_lapses_when_takeover_fails);
    suite_add_tcase(s, sb);
    TCase *tc = tcase_create("controller");
    tcase_add_test(tc, no_controller_up_at_define);
    tcase_add_test(tc, no_controller_failure_fails_define);
    tcase_add_test(tc, startlan_stoplan);
    tcase_add_test(tc, controller_started_before_spec);
    tcase_add_test(tc, factory_failure_then_backup);
    tcase_add_test(tc, backup_takeover);
    suite_add_tcase(s, tc);
    return s;
}
