/*
 * guestlan controller: who initializes a LAN's uplink, and when.  As in z/VM,
 * where a controller virtual machine initializes a virtual switch's uplink
 * while CP moves the data, a LAN can name a controller port (and a backup):
 * its uplink is brought up (created, opened, configured, attached) when the
 * controller guest's interface starts the LAN, and taken down when that
 * interface stops.  The data never passes through the controller's guest: the
 * uplink is a port of its own, as without a controller.
 *
 * The LAN keeps an "uplink spec": a factory that creates and attaches the
 * uplink, and its counterpart that detaches and frees it.  Device models
 * report their ports starting and stopping (glan_ctl_port_event: the OSA
 * device model does on STARTLAN with active queues, and on STOPLAN, halt,
 * clear, reset and destroy); the controller acts on the events for its ports.
 *
 *   - No controller named: the uplink is brought up by glan_ctl_create (the
 *     LAN's definition), and an error there fails the create.
 *   - A controller (and optionally a backup): the uplink comes up when the
 *     first of them starts; that port "holds" the uplink.  When the holder
 *     stops and the other one is started, the other takes the uplink over
 *     without taking it down (a takeover, counted); when neither is left the
 *     uplink is taken down.  A holder that comes back after a takeover does
 *     not take the uplink back (no flapping).  A factory that fails is
 *     counted and said in the message; the next start of a controller tries
 *     again.
 *
 * A shared LAN (base.h) has one uplink port among all its processes.  A
 * process whose controller is created while another process holds that port
 * keeps its spec as a standby: nothing runs, ports' starts are only
 * remembered, and a watcher thread of this process looks every 200 ms
 * whether the holder's uplink port is still on the LAN (the base removes the
 * ports of a process that ended or was killed).  When it is gone, the
 * standby takes over: the controller acts as if it had just been created
 * (without a controller named, the uplink comes up at once).  If that fails
 * while yet another process holds the uplink now, it stands by again behind
 * that one; if it fails otherwise, the spec lapses (kept, never run) and the
 * LAN has no uplink in this process.  The owner hears of each takeover
 * through the notify callback it gave.
 *
 * Ports are named as the base knows them (struct glan_port_info.name).  The
 * controller remembers which ports of each LAN are started even before a
 * controller exists, so a controller created later for a started port brings
 * the uplink up at once.
 *
 * Locking: one process-wide lock serializes events, create, destroy,
 * takeovers and queries; the spec's callbacks run under it (they may take
 * the base's locks and the uplink's, never a device model's).
 * glan_ctl_port_event may be called with the device model's own control lock
 * held.  A notify callback runs in the watcher thread with no lock of ours
 * held, and glan_ctl_destroy waits for one in progress on that controller,
 * so it must not wait for anything glan_ctl_destroy's caller holds.  A shared
 * LAN's controller acts on the ports of this process only.
 */
#ifndef GUESTLAN_CONTROLLER_H
#define GUESTLAN_CONTROLLER_H

#include <stddef.h>
#include <stdint.h>

#include "guestlan/base.h"
#include "guestlan/uplink.h"

#ifdef __cplusplus
extern "C" {
#endif

struct glan_ctl;

/* How to make the LAN's uplink.  The strings are copied. */
struct glan_uplink_spec {
    const char *kind; /* "tun", "tap", "pcap", ... (for queries) */
    const char *what; /* the rest of its description ("glan0 mtu 1500") */
    /* Create the uplink and attach it to lan, receiving started.  The
     * uplink, or NULL with a message in err. */
    struct glan_uplink *(*up)(void *arg, struct glan_lan *lan, char *err, size_t errlen);
    /* Stop, detach and free an uplink that up returned. */
    void (*down)(void *arg, struct glan_uplink *u);
    /* Optional: free arg when the controller is destroyed (also when
     * glan_ctl_create fails). */
    void (*release)(void *arg);
    void *arg;
};

/* What a standby's takeover tells its owner. */
enum glan_ctl_note_kind {
    GLAN_CTL_TAKING_OVER,     /* the holder's uplink port is gone: taking the uplink over */
    GLAN_CTL_TOOK_OVER,       /* done: the controller runs (status says what it did) */
    GLAN_CTL_TAKEOVER_FAILED, /* the factory failed (error); status.standby: standing by
                               * again behind another holder, else the spec lapsed */
};
struct glan_ctl_status;
struct glan_ctl_note {
    enum glan_ctl_note_kind kind;
    const struct glan_ctl_status *status; /* the controller after the event */
    const char *error;                    /* GLAN_CTL_TAKEOVER_FAILED: why */
};

struct glan_ctl_config {
    const char *controller; /* port name; NULL or "": no controller */
    const char *backup;     /* port name; NULL or "": none (needs a controller) */
    /* The uplink as its owner wrote it ("tun glan0 controller 0600"), for
     * the status and the owner's messages; NULL: kind and what.  Copied. */
    const char *text;
    /* Optional: called for each note of a standby's takeover, in the watcher
     * thread, no lock of the controller held (see Locking).  It must not
     * call glan_ctl_* functions (the note carries the status): destroying
     * its own controller from here would wait for itself. */
    void (*notify)(void *arg, const struct glan_ctl_note *note);
    void *notify_arg;
};

/* Give lan its uplink spec and controller.  0 with *out set (for a shared
 * LAN whose uplink another process holds, as a standby: status.standby);
 * -EEXIST when lan has a controller object already; -EINVAL for bad names
 * (message in err); without a controller, the factory's failure (-EIO, its
 * message in err). */
int glan_ctl_create(struct glan_lan *lan, const struct glan_uplink_spec *spec,
                    const struct glan_ctl_config *cfg, struct glan_ctl **out, char *err,
                    size_t errlen);
/* Take the uplink down if it is up, forget the spec, free. */
void glan_ctl_destroy(struct glan_ctl *c);
/* Stop the standby watcher thread, if it runs (module unload, process end);
 * returns once it is gone.  Standbys stay, and the next one created starts
 * the watcher again. */
void glan_ctl_shutdown(void);
/* The controller object of lan in this process, or NULL. */
struct glan_ctl *glan_ctl_of(struct glan_lan *lan);

/* From a device model: port (named name) started (started != 0) or stopped
 * its interface.  Repeats are harmless.  Never fails; what went wrong with
 * the uplink is in the status. */
void glan_ctl_port_event(struct glan_port *port, const char *name, int started);

struct glan_ctl_status {
    char kind[16], what[96]; /* the spec */
    char text[256];          /* the uplink as its owner wrote it (config text) */
    int standby;             /* another process holds the LAN's uplink: standing by */
    long standby_holder;     /* the pid that held it when this one stood by */
    int lapsed;              /* a takeover failed with nobody else holding: the spec
                              * is kept but runs no more (the LAN has no uplink here) */
    char controller[32];     /* "" without one */
    char backup[32];         /* "" without one */
    int controller_started;  /* its interface is started */
    int backup_started;      /* its interface is started */
    char holder[32];         /* the port that holds the uplink ("" none, or no controller) */
    int up;                  /* the uplink exists */
    uint64_t ups, downs;     /* times the uplink was brought up / taken down */
    uint64_t takeovers;      /* the other controller took over a running uplink */
    uint64_t failures;       /* the factory failed */
    char message[256];       /* the last thing that happened, or went wrong */
};
void glan_ctl_status(struct glan_ctl *c, struct glan_ctl_status *out);

/* Call fn with the uplink (NULL when it is down) under the controller lock,
 * so it cannot go away meanwhile (queries: glan_uplink_get_status).
 * fn must not call glan_ctl_* functions. */
void glan_ctl_with_uplink(struct glan_ctl *c, void (*fn)(struct glan_uplink *u, void *arg),
                          void *arg);

#ifdef __cplusplus
}
#endif
#endif
