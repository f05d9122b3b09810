/*
 * hdtglan's LAN directory: the names this Hercules process gave its LANs, the
 * base LAN behind each, and the interfaces (device groups) attached to it.
 * Device statements look a LAN up here (defining it with default sizes when
 * it is new), `glan define` adds one with chosen sizes, `glan query` walks
 * the list.  A plain linked list under one mutex: a process has a handful of
 * LANs and the directory is never on the datagram path.  A LAN may be shared
 * with other processes (created in, or attached to, a shared-memory segment
 * of the base), and may carry one running trace (`glan trace`) and one
 * controller object (its uplink spec, running or standing by for another
 * process's uplink: src/base/controller.c).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "landir.h"

static pthread_mutex_t dir_lock = PTHREAD_MUTEX_INITIALIZER;
static struct glan_herc_lan *dir_head;

static void set_err(char *err, size_t errlen, const char *what)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", what);
}

int glan_herc_lan_name(const char *text, char *out, size_t outlen, char *err, size_t errlen)
{
    size_t n = text ? strlen(text) : 0;
    if (n == 0 || n > GLAN_HERC_NAME_MAX || n >= outlen) {
        set_err(err, errlen, "LAN name must be 1 to 31 characters");
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        if (!isalnum(c) && !strchr("-_@#$", c)) {
            set_err(err, errlen, "LAN name may hold only letters, digits and - _ @ # $");
            return -EINVAL;
        }
        out[i] = (char)toupper(c);
    }
    out[n] = '\0';
    return 0;
}

/* Caller holds dir_lock. */
static struct glan_herc_lan *find_locked(const char *name)
{
    for (struct glan_herc_lan *l = dir_head; l; l = l->next)
        if (strcasecmp(l->name, name) == 0)
            return l;
    return NULL;
}

/* Join shared LAN shm: attach when the segment exists, else create it with
 * c's sizes (and attach after all when another process created it
 * meanwhile).  The LAN, or NULL with a message; *rc -EPROTO when the
 * segment is there but cannot be joined (version, layout, full). */
static struct glan_lan *join_shared(const struct glan_lan_config *c, const char *shm, int *created,
                                    int *rc, char *err, size_t errlen)
{
    *created = 0;
    *rc = -EINVAL;
    for (int tries = 0; tries < 3; tries++) {
        int fd = shm_open(shm, O_RDONLY | O_CLOEXEC, 0);
        if (fd >= 0) {
            close(fd);
            struct glan_lan *lan = glan_lan_attach_shared(shm, err, errlen);
            if (!lan)
                *rc = -EPROTO;
            return lan;
        }
        if (errno != ENOENT) {
            if (err && errlen)
                snprintf(err, errlen, "cannot open shared LAN %s: %s", shm, strerror(errno));
            return NULL;
        }
        struct glan_lan *lan = glan_lan_create_shared(c, shm, err, errlen);
        if (lan) {
            *created = 1;
            return lan;
        }
        /* Lost a race with another creator: attach to theirs. */
        fd = shm_open(shm, O_RDONLY | O_CLOEXEC, 0);
        if (fd < 0)
            return NULL;
        close(fd);
    }
    return NULL;
}

/* Caller holds dir_lock; name already normalised.  Appends, so the
 * directory lists LANs in the order they were defined. */
static int define_locked(const struct glan_lan_config *cfg, const char *name, int implicit,
                         const char *shm, struct glan_herc_lan **out, char *err, size_t errlen)
{
    if (find_locked(name)) {
        if (err && errlen)
            snprintf(err, errlen, "LAN '%s' is already defined", name);
        return -EEXIST;
    }
    struct glan_herc_lan *l = calloc(1, sizeof *l);
    if (!l) {
        set_err(err, errlen, "out of memory");
        return -ENOMEM;
    }
    snprintf(l->name, sizeof l->name, "%s", name);
    struct glan_lan_config c = *cfg;
    c.name = l->name;
    int rc = -EINVAL;
    if (shm && shm[0]) {
        size_t n = strlen(shm) + (shm[0] != '/');
        if (n > 63) {
            set_err(err, errlen, "shared-memory name must be 1 to 62 characters");
            free(l);
            return -EINVAL;
        }
        l->shm[0] = '/';
        memcpy(l->shm + 1, shm + (shm[0] == '/'), n - 1);
        l->shm[n] = '\0';
        l->lan = join_shared(&c, l->shm, &l->shm_created, &rc, err, errlen);
    } else {
        l->lan = glan_lan_create(&c, err, errlen);
    }
    if (!l->lan) {
        free(l);
        return rc;
    }
    l->implicit = implicit;
    struct glan_herc_lan **tail = &dir_head;
    while (*tail)
        tail = &(*tail)->next;
    *tail = l;
    *out = l;
    return 0;
}

/* Caller holds dir_lock. */
static void trace_stop_locked(struct glan_herc_lan *l)
{
    if (l->trace) {
        glan_trace_stop(l->trace, NULL, 0);
        l->trace = NULL;
        l->trace_filter[0] = '\0';
    }
}

/* Caller holds dir_lock.  The uplink, if up, is taken down with its spec. */
static void uplink_drop_locked(struct glan_herc_lan *l)
{
    glan_ctl_destroy(l->ctl);
    l->ctl = NULL;
}

/* Caller holds dir_lock; l has no interfaces. */
static void delete_locked(struct glan_herc_lan *l)
{
    trace_stop_locked(l);
    uplink_drop_locked(l);
    for (struct glan_herc_lan **pp = &dir_head; *pp; pp = &(*pp)->next) {
        if (*pp == l) {
            *pp = l->next;
            break;
        }
    }
    glan_lan_destroy(l->lan);
    free(l);
}

int glan_herc_lan_define(const struct glan_lan_config *cfg, int implicit, const char *shm,
                         int *attached, char *err, size_t errlen)
{
    char name[GLAN_HERC_NAME_MAX + 1];
    int rc = glan_herc_lan_name(cfg->name, name, sizeof name, err, errlen);
    if (rc < 0)
        return rc;
    struct glan_herc_lan *l;
    pthread_mutex_lock(&dir_lock);
    rc = define_locked(cfg, name, implicit, shm, &l, err, errlen);
    if (attached)
        *attached = rc == 0 && l->shm[0] && !l->shm_created;
    pthread_mutex_unlock(&dir_lock);
    return rc;
}

int glan_herc_lan_delete(const char *name)
{
    int rc = 0;
    pthread_mutex_lock(&dir_lock);
    struct glan_herc_lan *l = find_locked(name);
    if (!l)
        rc = -ENOENT;
    else if (l->ifaces)
        rc = -EBUSY;
    else
        delete_locked(l);
    pthread_mutex_unlock(&dir_lock);
    return rc;
}

int glan_herc_iface_join(struct glan_herc_iface *ifc, const char *name, int *created, char *err,
                         size_t errlen)
{
    char lname[GLAN_HERC_NAME_MAX + 1];
    int rc = glan_herc_lan_name(name, lname, sizeof lname, err, errlen);
    if (rc < 0)
        return rc;
    *created = 0;
    pthread_mutex_lock(&dir_lock);
    struct glan_herc_lan *l = find_locked(lname);
    if (!l) {
        struct glan_lan_config cfg = {.name = lname};
        rc = define_locked(&cfg, lname, 1, NULL, &l, err, errlen);
        *created = rc == 0;
    }
    if (rc == 0) {
        ifc->lan = l;
        ifc->next = NULL;
        struct glan_herc_iface **tail = &l->ifaces;
        while (*tail)
            tail = &(*tail)->next;
        *tail = ifc;
    }
    pthread_mutex_unlock(&dir_lock);
    return rc;
}

void glan_herc_iface_set_port(struct glan_herc_iface *ifc, struct glan_port *port,
                              const char *model, int complete)
{
    pthread_mutex_lock(&dir_lock);
    ifc->port = port;
    ifc->model = model;
    ifc->complete = complete;
    pthread_mutex_unlock(&dir_lock);
}

void glan_herc_iface_leave(struct glan_herc_iface *ifc)
{
    pthread_mutex_lock(&dir_lock);
    struct glan_herc_lan *l = ifc->lan;
    if (l) {
        for (struct glan_herc_iface **pp = &l->ifaces; *pp; pp = &(*pp)->next) {
            if (*pp == ifc) {
                *pp = ifc->next;
                break;
            }
        }
    }
    ifc->lan = NULL;
    ifc->port = NULL;
    pthread_mutex_unlock(&dir_lock);
}

int glan_herc_lan_foreach(const char *name, void (*fn)(struct glan_herc_lan *l, void *arg),
                          void *arg)
{
    int n = 0;
    pthread_mutex_lock(&dir_lock);
    for (struct glan_herc_lan *l = dir_head; l; l = l->next) {
        if (name && strcasecmp(l->name, name) != 0)
            continue;
        fn(l, arg);
        n++;
    }
    pthread_mutex_unlock(&dir_lock);
    return n;
}

void glan_herc_landir_shutdown(void)
{
    pthread_mutex_lock(&dir_lock);
    for (struct glan_herc_lan *l = dir_head; l; l = l->next)
        trace_stop_locked(l);
    struct glan_herc_lan **pp = &dir_head;
    while (*pp) {
        struct glan_herc_lan *l = *pp;
        if (l->ifaces) {
            pp = &l->next;
            continue;
        }
        *pp = l->next;
        uplink_drop_locked(l);
        glan_lan_destroy(l->lan);
        free(l);
    }
    pthread_mutex_unlock(&dir_lock);
}

/* A controller object that a new uplink may replace without 'none' first: a
 * standby (another process holds the uplink), or one whose takeover lapsed. */
static int replaceable(struct glan_ctl *c)
{
    struct glan_ctl_status st;
    glan_ctl_status(c, &st);
    return st.standby || st.lapsed;
}

int glan_herc_lan_set_uplink(const char *name, const struct glan_uplink_spec *spec,
                             const struct glan_ctl_config *cc, char *err, size_t errlen)
{
    int rc;
    pthread_mutex_lock(&dir_lock);
    struct glan_herc_lan *l = find_locked(name);
    if (!l || (l->ctl && !replaceable(l->ctl))) {
        rc = l ? -EEXIST : -ENOENT;
        if (spec->release)
            spec->release(spec->arg);
    } else {
        uplink_drop_locked(l);
        struct glan_ctl_config c = *cc;
        c.notify_arg = l;
        rc = glan_ctl_create(l->lan, spec, &c, &l->ctl, err, errlen);
        if (rc < 0)
            l->ctl = NULL;
    }
    pthread_mutex_unlock(&dir_lock);
    return rc;
}

int glan_herc_lan_clear_uplink(const char *name)
{
    int rc = 0;
    pthread_mutex_lock(&dir_lock);
    struct glan_herc_lan *l = find_locked(name);
    if (!l) {
        rc = -ENOENT;
    } else if (!l->ctl) {
        rc = -ESRCH;
    } else {
        struct glan_ctl_status st;
        glan_ctl_status(l->ctl, &st);
        rc = st.lapsed ? -ESRCH : 0; /* a lapsed spec is no uplink */
        uplink_drop_locked(l);
    }
    pthread_mutex_unlock(&dir_lock);
    return rc;
}

int glan_herc_lan_trace_start(const char *name, const struct glan_trace_config *tc, int devnum,
                              const char *filter, char *err, size_t errlen)
{
    int rc = 0;
    pthread_mutex_lock(&dir_lock);
    struct glan_herc_lan *l = find_locked(name);
    struct glan_trace_config c = *tc;
    if (!l) {
        rc = -ENOENT;
    } else if (l->trace) {
        rc = -EBUSY;
    } else if (devnum >= 0) {
        c.port = -1;
        for (struct glan_herc_iface *i = l->ifaces; i; i = i->next)
            for (int k = 0; k < 3; k++)
                if (i->port && i->info.devnum[k] == (unsigned)devnum)
                    c.port = glan_port_index(i->port);
        if (c.port < 0)
            rc = -ENODEV;
    }
    if (rc == 0) {
        l->trace = glan_trace_start(l->lan, &c, err, errlen);
        if (!l->trace)
            rc = -EIO;
        else
            snprintf(l->trace_filter, sizeof l->trace_filter, "%s", filter ? filter : "");
    }
    pthread_mutex_unlock(&dir_lock);
    return rc;
}

int glan_herc_lan_trace_stop(const char *name, struct glan_trace_stats *st, char *path,
                             size_t pathlen, char *err, size_t errlen)
{
    int rc = 0;
    pthread_mutex_lock(&dir_lock);
    struct glan_herc_lan *l = find_locked(name);
    if (!l) {
        rc = -ENOENT;
    } else if (!l->trace) {
        rc = -ESRCH;
    } else {
        glan_trace_get_stats(l->trace, st);
        snprintf(path, pathlen, "%s", glan_trace_path(l->trace));
        rc = glan_trace_stop(l->trace, err, errlen) < 0 ? -EIO : 0;
        l->trace = NULL;
        l->trace_filter[0] = '\0';
    }
    pthread_mutex_unlock(&dir_lock);
    return rc;
}
