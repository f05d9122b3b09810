/*
 * The controller (include/base/guestlan/controller.h): a LAN's uplink spec, and the
 * state machine that brings the uplink up when a controller port starts,
 * hands it to the backup when the holder stops, and takes it down when no
 * controller is left.
 *
 * The base has no room for a controller in its LAN (and must not call into
 * device models), so the controllers live in a process-wide registry keyed
 * by the struct glan_lan pointer, next to the set of started ports of every
 * LAN.  Both are short linked lists under one mutex: events come at a guest's
 * interface start and stop, never on the datagram path.
 *
 * The standby of a shared LAN (a controller created while another process
 * holds the LAN's uplink port) is a mode of the same object: the watcher
 * thread at the end of this file looks every 200 ms whether the holder's port
 * is gone and then runs the controller as glan_ctl_create would have, under
 * the same lock, so a standby and a controller never disagree about who
 * brings the uplink up.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "guestlan/controller.h"

enum mode {
    ACTIVE,  /* the controller runs: events bring the uplink up and down */
    STANDBY, /* another process holds the shared LAN's uplink: waiting for it to go */
    LAPSED,  /* a takeover failed and nobody holds the uplink: the spec runs no more */
};

struct glan_ctl {
    struct glan_lan *lan;
    struct glan_uplink_spec spec;
    char kind[16], what[96];
    char text[256];   /* the uplink as its owner wrote it */
    char name[2][32]; /* controller, backup; "" none */
    int holder;       /* index into name of the port holding the uplink, -1 none */
    struct glan_uplink *uplink;
    uint64_t ups, downs, takeovers, failures;
    char message[256];
    enum mode mode;
    long standby_holder; /* STANDBY: the pid that held the uplink */
    void (*notify)(void *arg, const struct glan_ctl_note *note);
    void *notify_arg;
    int notifying; /* the watcher is in notify for this one (reg_lock) */
    struct glan_ctl *next;
};

/* A port that started its interface (and has not stopped since). */
struct started {
    struct glan_lan *lan;
    char name[32];
    struct started *next;
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t notified = PTHREAD_COND_INITIALIZER; /* a notifying flag fell */
static struct glan_ctl *ctls;
static struct started *started_ports;

static void watch_start(void);

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

/* Set c's message.  A long error is cut to the message's size; that is fine
 * here (vsnprintf, so that the compiler does not hold every cut against us). */
static void say(struct glan_ctl *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct glan_ctl *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->message, sizeof c->message, fmt, ap);
    va_end(ap);
}

static int bring_up(struct glan_ctl *c, int holder)
{
    char err[256] = "";
    struct glan_uplink *u = c->spec.up(c->spec.arg, c->lan, err, sizeof err);
    if (!u) {
        c->failures++;
        if (holder >= 0)
            say(c, "controller %s started; uplink %s %s: %s", c->name[holder], c->kind, c->what,
                err[0] ? err : "failed");
        else
            say(c, "uplink %s %s: %s", c->kind, c->what, err[0] ? err : "failed");
        return -EIO;
    }
    c->uplink = u;
    c->holder = holder;
    c->ups++;
    if (holder >= 0)
        say(c, "controller %s started the uplink %s %s", c->name[holder], c->kind, c->what);
    else
        say(c, "uplink %s %s up (no controller)", c->kind, c->what);
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
    if (c->mode != ACTIVE || c->uplink)
        return; /* the other one holds it: this one is the standby now */
    bring_up(c, i);
}

/* Port i of c stopped. */
static void on_stop(struct glan_ctl *c, int i)
{
    if (c->mode != ACTIVE || !c->uplink || c->holder != i)
        return;
    int other = 1 - i;
    if (c->name[other][0] && is_started(c->lan, c->name[other])) {
        /* The standby takes the running uplink over: nothing is reopened, so
         * the network side does not notice the controller changing. */
        c->holder = other;
        c->takeovers++;
        say(c, "controller %s stopped; %s %s took the uplink over", c->name[i],
            other ? "backup" : "controller", c->name[other]);
        return;
    }
    take_down(c);
    say(c, "controller %s stopped; uplink %s %s down until a controller starts", c->name[i],
        c->kind, c->what);
}

/* Run c as its creation does: without a controller the uplink comes up now
 * (-EIO when it cannot, the message says why); with one it waits for it, or
 * comes up at once for one already started. */
static int activate(struct glan_ctl *c)
{
    c->mode = ACTIVE;
    if (!c->name[0][0])
        return bring_up(c, -1);
    say(c, "waiting for controller %s%s%s to start", c->name[0], c->name[1][0] ? " or backup " : "",
        c->name[1]);
    /* A controller may already be running (the spec came later). */
    for (int i = 0; i < 2 && !c->uplink; i++)
        if (is_started(c->lan, c->name[i]))
            bring_up(c, i);
    return 0;
}

/* ---- standbys of shared LANs (reg_lock held) ------------------------------------ */

static void holder_of(const struct glan_port_view *v, void *arg)
{
    long *pid = arg;
    if (v->kind == GLAN_PORT_UPLINK && v->owner_pid != getpid())
        *pid = (long)v->owner_pid;
}

/* The pid of another process holding lan's uplink port, or 0. */
static long uplink_holder(struct glan_lan *lan)
{
    long pid = 0;
    if (glan_lan_is_shared(lan))
        glan_lan_foreach_port(lan, holder_of, &pid);
    return pid;
}

static void stand_by(struct glan_ctl *c, long pid)
{
    c->mode = STANDBY;
    c->standby_holder = pid;
    say(c, "the uplink is held by process %ld; taken over here when that one ends", pid);
    watch_start();
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
    if (cfg && cfg->text)
        snprintf(c->text, sizeof c->text, "%s", cfg->text);
    else
        snprintf(c->text, sizeof c->text, "%s %s", c->kind, c->what);
    snprintf(c->name[0], sizeof c->name[0], "%s", cn);
    snprintf(c->name[1], sizeof c->name[1], "%s", bn);
    c->holder = -1;
    c->notify = cfg ? cfg->notify : NULL;
    c->notify_arg = cfg ? cfg->notify_arg : NULL;

    pthread_mutex_lock(&reg_lock);
    long pid = 0;
    if (find_ctl(lan)) {
        rc = -EEXIST;
        snprintf(err, errlen, "LAN %s has a controller already", glan_lan_name(lan));
    } else if ((pid = uplink_holder(lan)) > 0) {
        stand_by(c, pid);
    } else if (activate(c) < 0) {
        /* No controller: the uplink comes up with the definition, and a
         * definition that cannot have it fails, as before controllers. */
        rc = -EIO;
        snprintf(err, errlen, "%s", c->message);
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
    while (c->notifying) /* the watcher is telling the owner of a takeover */
        pthread_cond_wait(&notified, &reg_lock);
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

static void status_locked(struct glan_ctl *c, struct glan_ctl_status *out)
{
    memset(out, 0, sizeof *out);
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
    snprintf(out->text, sizeof out->text, "%s", c->text);
    out->standby = c->mode == STANDBY;
    out->standby_holder = c->mode == STANDBY ? c->standby_holder : 0;
    out->lapsed = c->mode == LAPSED;
}

void glan_ctl_status(struct glan_ctl *c, struct glan_ctl_status *out)
{
    pthread_mutex_lock(&reg_lock);
    status_locked(c, out);
    pthread_mutex_unlock(&reg_lock);
}

void glan_ctl_with_uplink(struct glan_ctl *c, void (*fn)(struct glan_uplink *u, void *arg),
                          void *arg)
{
    pthread_mutex_lock(&reg_lock);
    fn(c->uplink, arg);
    pthread_mutex_unlock(&reg_lock);
}

/* ---- the standby watcher ---------------------------------------------------------
 *
 * One thread per process, started with the first standby, looking every
 * 200 ms (the base reaps a dead process's ports within about 100 ms; nothing
 * in the base says when it did).  It takes one standby over at a time under
 * reg_lock, then tells the owner with the lock released. */

static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t watch_cond = PTHREAD_COND_INITIALIZER;
static int watch_running, watch_stop;
static pthread_t watch_thread;

/* Under reg_lock: run standby c, whose holder is gone, as its creation
 * would have.  The error, "" when it went well. */
static void take_over(struct glan_ctl *c, char *error, size_t len)
{
    error[0] = '\0';
    if (activate(c) == 0)
        return;
    snprintf(error, len, "%s", c->message);
    long pid = uplink_holder(c->lan);
    if (pid > 0)
        stand_by(c, pid); /* another survivor was quicker: behind it */
    else
        c->mode = LAPSED;
}

/* Tell c's owner, with reg_lock released for the while; c cannot go away
 * meanwhile (glan_ctl_destroy waits for c->notifying to fall). */
static void tell(struct glan_ctl *c, const char *error)
{
    struct glan_ctl_status before, after;
    status_locked(c, &after);
    before = after;
    snprintf(before.message, sizeof before.message, "its holder is gone, taking it over");
    c->notifying = 1;
    pthread_mutex_unlock(&reg_lock);
    struct glan_ctl_note n1 = {.kind = GLAN_CTL_TAKING_OVER, .status = &before};
    struct glan_ctl_note n2 = {.kind = error[0] ? GLAN_CTL_TAKEOVER_FAILED : GLAN_CTL_TOOK_OVER,
                               .status = &after,
                               .error = error};
    c->notify(c->notify_arg, &n1);
    c->notify(c->notify_arg, &n2);
    pthread_mutex_lock(&reg_lock);
    c->notifying = 0;
    pthread_cond_broadcast(&notified);
}

/* Take over every standby whose holder is gone. */
static void watch_pass(void)
{
    pthread_mutex_lock(&reg_lock);
    struct glan_ctl *c = ctls;
    while (c) {
        if (c->mode != STANDBY || c->notifying || uplink_holder(c->lan) != 0) {
            c = c->next;
            continue;
        }
        char error[256];
        take_over(c, error, sizeof error);
        if (!c->notify) {
            c = c->next;
            continue;
        }
        tell(c, error);
        c = ctls; /* the list may have changed while the lock was released */
    }
    pthread_mutex_unlock(&reg_lock);
}

static void *watch_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&watch_lock);
    while (!watch_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&watch_cond, &watch_lock, &ts);
        if (watch_stop)
            break;
        pthread_mutex_unlock(&watch_lock);
        watch_pass();
        pthread_mutex_lock(&watch_lock);
    }
    pthread_mutex_unlock(&watch_lock);
    return NULL;
}

/* Under reg_lock (a standby was made): the watcher runs. */
static void watch_start(void)
{
    pthread_mutex_lock(&watch_lock);
    if (!watch_running && !watch_stop && pthread_create(&watch_thread, NULL, watch_main, NULL) == 0)
        watch_running = 1;
    pthread_mutex_unlock(&watch_lock);
}

void glan_ctl_shutdown(void)
{
    pthread_mutex_lock(&watch_lock);
    watch_stop = 1;
    int running = watch_running;
    watch_running = 0;
    pthread_cond_broadcast(&watch_cond);
    pthread_mutex_unlock(&watch_lock);
    if (running)
        pthread_join(watch_thread, NULL);
    pthread_mutex_lock(&watch_lock);
    watch_stop = 0; /* a later standby starts it again */
    pthread_mutex_unlock(&watch_lock);
}
