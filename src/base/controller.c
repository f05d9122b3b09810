/*
 * The controller (include/guestlan/controller.h): a LAN's uplink spec, and the
 * state machine that brings the uplink up when a controller port starts,
 * hands it to the backup when the holder stops, and takes it down when no
 * controller is left.
 *
 * The base has no room for a controller in its LAN (and must not call into
 * device models), so the controllers live in a process-wide registry keyed
 * by the struct glan_lan pointer, next to the set of started ports of every
 * LAN.  Both are short linked lists under one mutex: events come at a guest's
 * interface start and stop, never on the datagram path.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guestlan/controller.h"

struct glan_ctl {
    struct glan_lan *lan;
    struct glan_uplink_spec spec;
    char kind[16], what[96];
    char name[2][32]; /* controller, backup; "" none */
    int holder;       /* index into name of the port holding the uplink, -1 none */
    struct glan_uplink *uplink;
    uint64_t ups, downs, takeovers, failures;
    char message[256];
    struct glan_ctl *next;
};

/* A port that started its interface (and has not stopped since). */
struct started {
    struct glan_lan *lan;
    char name[32];
    struct started *next;
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct glan_ctl *ctls;
static struct started *started_ports;

/* ---- the registry (reg_lock held) --------------------------------------------- */

static struct glan_ctl *find_ctl(struct glan_lan *lan)
{
    for (struct glan_ctl *c = ctls; c; c = c->next)
        if (c->lan == lan)
            return c;
    return NULL;
}

static struct started **find_started(struct glan_lan *lan, const char *name)
{
    for (struct started **pp = &started_ports; *pp; pp = &(*pp)->next)
        if ((*pp)->lan == lan && !strcmp((*pp)->name, name))
            return pp;
    return NULL;
}

static int is_started(struct glan_lan *lan, const char *name)
{
    return name[0] && find_started(lan, name) != NULL;
}

/* ---- the uplink (reg_lock held) ------------------------------------------------ */

static int bring_up(struct glan_ctl *c, int holder)
{
    char err[256] = "";
    struct glan_uplink *u = c->spec.up(c->spec.arg, c->lan, err, sizeof err);
    if (!u) {
        c->failures++;
        /* A long error is cut to the message's size; that is fine here. */
        int n;
        if (holder >= 0)
            n = snprintf(c->message, sizeof c->message, "controller %s started; uplink %s %s: %s",
                         c->name[holder], c->kind, c->what, err[0] ? err : "failed");
        else
            n = snprintf(c->message, sizeof c->message, "uplink %s %s: %s", c->kind, c->what,
                         err[0] ? err : "failed");
        (void)n;
        return -EIO;
    }
    c->uplink = u;
    c->holder = holder;
    c->ups++;
    if (holder >= 0)
        snprintf(c->message, sizeof c->message, "controller %s started the uplink %s %s",
                 c->name[holder], c->kind, c->what);
    else
        snprintf(c->message, sizeof c->message, "uplink %s %s up (no controller)", c->kind,
                 c->what);
    return 0;
}

static void take_down(struct glan_ctl *c)
{
    if (!c->uplink)
        return;
    c->spec.down(c->spec.arg, c->uplink);
    c->uplink = NULL;
    c->holder = -1;
    c->downs++;
}

/* Port i of c (0 controller, 1 backup) started. */
static void on_start(struct glan_ctl *c, int i)
{
    if (c->uplink)
        return; /* the other one holds it: this one is the standby now */
    bring_up(c, i);
}

/* Port i of c stopped. */
static void on_stop(struct glan_ctl *c, int i)
{
    if (!c->uplink || c->holder != i)
        return;
    int other = 1 - i;
    if (c->name[other][0] && is_started(c->lan, c->name[other])) {
        /* The standby takes the running uplink over: nothing is reopened, so
         * the network side does not notice the controller changing. */
        c->holder = other;
        c->takeovers++;
        snprintf(c->message, sizeof c->message, "controller %s stopped; %s %s took the uplink over",
                 c->name[i], other ? "backup" : "controller", c->name[other]);
        return;
    }
    take_down(c);
    snprintf(c->message, sizeof c->message,
             "controller %s stopped; uplink %s %s down until a controller starts", c->name[i],
             c->kind, c->what);
}

/* ---- API ----------------------------------------------------------------------- */

static int bad_name(const char *n)
{
    return n && strlen(n) > 31;
}

int glan_ctl_create(struct glan_lan *lan, const struct glan_uplink_spec *spec,
                    const struct glan_ctl_config *cfg, struct glan_ctl **out, char *err,
                    size_t errlen)
{
    const char *cn = cfg && cfg->controller ? cfg->controller : "";
    const char *bn = cfg && cfg->backup ? cfg->backup : "";
    int rc = 0;
    if (!lan || !spec || !spec->up || !spec->down) {
        snprintf(err, errlen, "controller: no LAN or no uplink spec");
        rc = -EINVAL;
    } else if (bad_name(cn) || bad_name(bn)) {
        snprintf(err, errlen, "controller: port names have at most 31 characters");
        rc = -EINVAL;
    } else if (bn[0] && !cn[0]) {
        snprintf(err, errlen, "controller: a backup needs a controller");
        rc = -EINVAL;
    } else if (bn[0] && !strcmp(cn, bn)) {
        snprintf(err, errlen, "controller: the backup must be another port than %s", cn);
        rc = -EINVAL;
    }
    struct glan_ctl *c = rc ? NULL : calloc(1, sizeof *c);
    if (!rc && !c) {
        snprintf(err, errlen, "controller: out of memory");
        rc = -ENOMEM;
    }
    if (rc) {
        if (spec && spec->release)
            spec->release(spec->arg);
        return rc;
    }
    c->lan = lan;
    c->spec = *spec;
    snprintf(c->kind, sizeof c->kind, "%s", spec->kind ? spec->kind : "uplink");
    snprintf(c->what, sizeof c->what, "%s", spec->what ? spec->what : "");
    c->spec.kind = c->kind;
    c->spec.what = c->what;
    snprintf(c->name[0], sizeof c->name[0], "%s", cn);
    snprintf(c->name[1], sizeof c->name[1], "%s", bn);
    c->holder = -1;

    pthread_mutex_lock(&reg_lock);
    if (find_ctl(lan)) {
        rc = -EEXIST;
        snprintf(err, errlen, "LAN %s has a controller already", glan_lan_name(lan));
    } else if (!cn[0]) {
        /* No controller: the uplink comes up with the definition, and a
         * definition that cannot have it fails, as before controllers. */
        if (bring_up(c, -1) < 0) {
            rc = -EIO;
            snprintf(err, errlen, "%s", c->message);
        }
    } else {
        snprintf(c->message, sizeof c->message, "waiting for controller %s%s%s to start", cn,
                 bn[0] ? " or backup " : "", bn);
        /* A controller may already be running (the spec came later). */
        for (int i = 0; i < 2 && !c->uplink; i++)
            if (is_started(lan, c->name[i]))
                bring_up(c, i);
    }
    if (rc == 0) {
        c->next = ctls;
        ctls = c;
    }
    pthread_mutex_unlock(&reg_lock);
    if (rc) {
        if (c->spec.release)
            c->spec.release(c->spec.arg);
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void glan_ctl_destroy(struct glan_ctl *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&reg_lock);
    for (struct glan_ctl **pp = &ctls; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    take_down(c);
    pthread_mutex_unlock(&reg_lock);
    if (c->spec.release)
        c->spec.release(c->spec.arg);
    free(c);
}

struct glan_ctl *glan_ctl_of(struct glan_lan *lan)
{
    pthread_mutex_lock(&reg_lock);
    struct glan_ctl *c = find_ctl(lan);
    pthread_mutex_unlock(&reg_lock);
    return c;
}

void glan_ctl_port_event(struct glan_port *port, const char *name, int started)
{
    if (!port || !name || !name[0] || strlen(name) > 31)
        return;
    struct glan_lan *lan = glan_port_lan(port);
    pthread_mutex_lock(&reg_lock);
    struct started **pp = find_started(lan, name);
    if (started && !pp) {
        struct started *s = calloc(1, sizeof *s);
        if (s) { /* without memory the port just is not remembered as started */
            s->lan = lan;
            snprintf(s->name, sizeof s->name, "%s", name);
            s->next = started_ports;
            started_ports = s;
        }
    } else if (!started && pp) {
        struct started *s = *pp;
        *pp = s->next;
        free(s);
    }
    struct glan_ctl *c = find_ctl(lan);
    for (int i = 0; c && i < 2; i++) {
        if (!c->name[i][0] || strcmp(c->name[i], name))
            continue;
        if (started)
            on_start(c, i);
        else
            on_stop(c, i);
    }
    pthread_mutex_unlock(&reg_lock);
}

void glan_ctl_status(struct glan_ctl *c, struct glan_ctl_status *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&reg_lock);
    snprintf(out->kind, sizeof out->kind, "%s", c->kind);
    snprintf(out->what, sizeof out->what, "%s", c->what);
    snprintf(out->controller, sizeof out->controller, "%s", c->name[0]);
    snprintf(out->backup, sizeof out->backup, "%s", c->name[1]);
    out->controller_started = is_started(c->lan, c->name[0]);
    out->backup_started = is_started(c->lan, c->name[1]);
    if (c->holder >= 0)
        snprintf(out->holder, sizeof out->holder, "%s", c->name[c->holder]);
    out->up = c->uplink != NULL;
    out->ups = c->ups;
    out->downs = c->downs;
    out->takeovers = c->takeovers;
    out->failures = c->failures;
    snprintf(out->message, sizeof out->message, "%s", c->message);
    pthread_mutex_unlock(&reg_lock);
}

void glan_ctl_with_uplink(struct glan_ctl *c, void (*fn)(struct glan_uplink *u, void *arg),
                          void *arg)
{
    pthread_mutex_lock(&reg_lock);
    fn(c->uplink, arg);
    pthread_mutex_unlock(&reg_lock);
}
