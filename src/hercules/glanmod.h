/*
 * Declarations shared by hdtglan's Hercules-side files (hdtglan.c, cmd.c).
 * Only files that already include Hercules' headers include this one; the
 * Hercules-free parts (landir, seam) have their own headers.
 */
#ifndef GLAN_HERCULES_GLANMOD_H
#define GLAN_HERCULES_GLANMOD_H

#include <pthread.h>

#include "landir.h"
#include "seam.h"

/* hdtglan's state of one interface (device group), reached from each
 * member's dev->dev_data and from the group's grp_data. */
struct group {
    struct glan_herc_iface ifc;   /* what the directory and glan query see */
    DEVBLK *dev[GLAN_HERC_SLOTS]; /* the members, once attached */
    void *model_ctx;              /* device model state, NULL without a model */
    struct glan_port *own_port;   /* the port hdtglan attached when there is no model */
    int has_chpid;
    int lan_created;  /* the statement defined the LAN (with default sizes) */
    int open_members; /* members whose close has not run yet (lock) */
    int calls;        /* calls into the model in flight (lock) */
    int closing;      /* the first member closed: no new calls (lock) */
    /* A CCW the model left pending waits here for host ccw_end. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct {
        int ended;
        uint8_t unitstat;
        uint32_t residual;
    } pend[GLAN_HERC_SLOTS];
    /* Interruptions that could not be queued at once (host.c, irq_lock). */
    uint64_t irq_deferred; /* how many went to the helper thread (atomic) */
    int irq_want[GLAN_HERC_SLOTS];
    int resume_want; /* the model asked for a resume of its output walk */
    int irq_listed;
    struct group *irq_next;
};

/* The device model's counters of the interface (its describe text) and how
 * many interruptions the helper thread queued, for glan query; "" without a
 * model or while the interface closes.  Caller holds the directory lock
 * (glan_herc_lan_foreach), which keeps the interface's group alive. */
void glan_herc_iface_describe(struct glan_herc_iface *ifc, char *buf, size_t len);

/* The device (a DEVBLK) whose SIGA this thread is running: Hyperion holds
 * that device's lock around the SIGA handler, so an interruption for that
 * very device is queued without trying its lock again (host.c). */
extern _Thread_local const void *glan_herc_siga_dev;

/* The services hdtglan gives the device model (host.c). */
extern const struct glan_osa_host_ops glan_herc_host_ops;
/* Forget the group's deferred interruptions; returns once the helper
 * thread no longer touches the group.  Before the group is freed. */
void glan_herc_irq_forget(struct group *g);
/* Run the model's resume of the interface's output walk (the seam's
 * resume), counted as a call into the model like any other (hdtglan.c);
 * nothing when the interface is going away.  From the helper thread. */
void glan_herc_resume(struct group *g);
/* Stop the helper thread (module unload). */
void glan_herc_irq_shutdown(void);

/* The `glan` command and `help glan`, hooked in front of Hercules' own
 * command table (SYSTEMCMD in htypes.h).  Returns HERRINVCMD for commands
 * that are not ours, after offering them to the next hook. */
int glan_herc_system_command(int argc, char *argv[], char *cmdline);
/* Stop the controller's thread that takes over standby uplinks of shared
 * LANs (glan_ctl_shutdown; module unload), before the directory goes. */
void glan_herc_cmd_shutdown(void);

#endif
