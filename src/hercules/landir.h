/*
 * The process's directory of LANs for hdtglan: LAN name -> struct glan_lan,
 * with the interfaces (device groups) this Hercules attached to each.  The
 * base (include/base/guestlan/base.h) knows LANs and ports but not names across a
 * process nor device numbers; this directory is what `glan define`, `glan
 * query` and device statements share.  It includes no Hercules header, but
 * stays with the glue: its interface record embeds the seam's struct
 * glan_herc_ifinfo, which hdtglan fills and hands the device model, and all
 * it knows (device groups and numbers, LANs defined by a device statement,
 * traces filtered by device number) is the Hercules command's vocabulary.
 * What has a use without Hercules lives below it: a LAN's uplink, its
 * controller and a shared LAN's standby (controller.h), traces (trace.h).
 *
 * All functions are safe to call from any thread: one mutex guards the
 * directory.  LAN names are case-insensitive and kept in upper case, as z/VM
 * keeps its LAN names.
 */
#ifndef GLAN_HERCULES_LANDIR_H
#define GLAN_HERCULES_LANDIR_H

#include <stddef.h>
#include <stdint.h>

#include "guestlan/base.h"
#include "guestlan/controller.h"
#include "guestlan/trace.h"
#include "seam.h"

enum { GLAN_HERC_NAME_MAX = 31 };

/* One interface of this process on a LAN.  hdtglan embeds it in its own
 * per-group state. */
struct glan_herc_iface {
    struct glan_herc_ifinfo info; /* device numbers, chpid, port name */
    struct glan_herc_lan *lan;    /* the directory entry it belongs to */
    struct glan_port *port;       /* its port, once attached (set_port) */
    const char *model;            /* device model name, NULL: none */
    int complete;                 /* all three devices attached */
    struct glan_herc_iface *next; /* the LAN's list of interfaces */
};

/* One LAN in the directory. */
struct glan_herc_lan {
    char name[GLAN_HERC_NAME_MAX + 1];
    struct glan_lan *lan;
    struct glan_ctl *ctl;     /* the LAN's uplink spec and controller (running, or
                               * standing by for another process's uplink), or NULL */
    int implicit;             /* created by a device statement, not `glan define` */
    char shm[64];             /* shared-memory name of a shared LAN, "" otherwise */
    int shm_created;          /* this process created the segment (else attached) */
    struct glan_trace *trace; /* `glan trace` running, or NULL */
    char trace_filter[64];    /* its filters as given, for queries */
    struct glan_herc_iface *ifaces;
    struct glan_herc_lan *next;
};

/* Check and normalise a LAN name (1..31 of A-Z 0-9 - _ @ # $, upper-cased
 * into out).  0, or -EINVAL with a message in err. */
int glan_herc_lan_name(const char *text, char *out, size_t outlen, char *err, size_t errlen);

/* Define a LAN.  0; -EEXIST when the name is taken; -EINVAL (bad name or
 * sizes) or -ENOMEM with a message in err.  With shm (a shared-memory name,
 * "/" prepended when missing) the LAN is shared between processes: the
 * segment is created with cfg's sizes when it does not exist, else attached
 * as it is (its own sizes; *attached set), and a segment of another version
 * or layout is refused (-EPROTO with the base's message). */
int glan_herc_lan_define(const struct glan_lan_config *cfg, int implicit, const char *shm,
                         int *attached, char *err, size_t errlen);

/* Delete a LAN that has no interfaces.  0, -ENOENT, -EBUSY. */
int glan_herc_lan_delete(const char *name);

/*
 * Put an interface on LAN `name`, defining the LAN with default sizes when it
 * does not exist (*created is set then).  A LAN with interfaces cannot be
 * deleted, so ifc->lan->lan stays valid until glan_herc_iface_leave.  0, or
 * a negative errno with a message in err.
 */
int glan_herc_iface_join(struct glan_herc_iface *ifc, const char *name, int *created, char *err,
                         size_t errlen);
/* Record the interface's port (or NULL once detached), for queries. */
void glan_herc_iface_set_port(struct glan_herc_iface *ifc, struct glan_port *port,
                              const char *model, int complete);
/* Take the interface off its LAN's list; its port must be detached.  A LAN
 * that a device statement defined and that has no interface left stays
 * defined, as z/VM keeps a LAN until it is deleted. */
void glan_herc_iface_leave(struct glan_herc_iface *ifc);

/* Give LAN `name` its uplink spec (uplinkspec.h) and controller
 * (controller.h): without a controller the uplink is opened and attached at
 * once, with one when that port starts the LAN; on a shared LAN whose uplink
 * another process holds, it stands by (glan_ctl_status: standby) and takes
 * the uplink over when that process's uplink port is gone, calling
 * cc->notify with this LAN's entry (struct glan_herc_lan *) as its arg.  A
 * standby or lapsed spec of the LAN is replaced.  The spec is the
 * directory's afterwards, also on failure.  0; -ENOENT no such LAN; -EEXIST
 * it has an uplink; another negative errno with a message in err. */
int glan_herc_lan_set_uplink(const char *name, const struct glan_uplink_spec *spec,
                             const struct glan_ctl_config *cc, char *err, size_t errlen);
/* Take LAN `name`'s uplink away (detached, closed, freed; also a standby
 * one).  0, -ENOENT, -ESRCH when it has none. */
int glan_herc_lan_clear_uplink(const char *name);

/* Start a trace of LAN `name` (trace.h) into tc->path; devnum >= 0 keeps
 * only what the interface at that device number (any of its three) sent,
 * filter is the text queries show.  0; -ENOENT no such LAN; -EBUSY a trace
 * runs; -ENODEV no such interface of this process; -EIO with a message. */
int glan_herc_lan_trace_start(const char *name, const struct glan_trace_config *tc, int devnum,
                              const char *filter, char *err, size_t errlen);
/* Stop LAN `name`'s trace; its final counters and file in *st and path.
 * 0; -ENOENT; -ESRCH when none runs; -EIO (something was lost) with a
 * message. */
int glan_herc_lan_trace_stop(const char *name, struct glan_trace_stats *st, char *path,
                             size_t pathlen, char *err, size_t errlen);

/* Call fn for each LAN (or just the one named, when name is not NULL) with
 * the directory locked, in definition order.  Returns how many were visited;
 * fn must not call back into the directory. */
int glan_herc_lan_foreach(const char *name, void (*fn)(struct glan_herc_lan *l, void *arg),
                          void *arg);

/* Detach nothing, stop every trace, destroy every LAN without interfaces
 * (module unload; a shared LAN is left, its segment stays for the others). */
void glan_herc_landir_shutdown(void);

#endif
