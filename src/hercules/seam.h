/*
 * The seam between hdtglan (the Hercules glue) and the OSA-Express device
 * model.  hdtglan owns everything Hercules: device statements, grouping of the
 * read/write/data devices, the LAN directory, the `glan` command.  Everything
 * the guest sees through the channel (Sense ID, RCD, IDX/MPC/IPA, ESTABLISH
 * and ACTIVATE QUEUES, SIGA, SSQD/SSCI, halt/clear) belongs to the device
 * model (src/osa, include/guestlan/osa.h).
 *
 * TODO(osa-seam): the device model fills this one table, in a file of its own
 * in this folder that includes include/guestlan/osa.h, and points
 * glan_herc_model at it.  Until it does, glan_herc_model is NULL and hdtglan
 * answers every channel command with unit check / command reject and every
 * SIGA with condition code 3: the devices attach, group and join their LAN,
 * but no guest can bring them online.  Nothing here may fake a protocol answer.
 *
 * This header includes no Hercules header: it speaks in plain C types, so the
 * device model never learns of DEVBLK.  hdtglan translates both ways.
 */
#ifndef GLAN_HERCULES_SEAM_H
#define GLAN_HERCULES_SEAM_H

#include <stddef.h>
#include <stdint.h>

#include "guestlan/base.h"

/* Which member of the group a device is; the order of the device statement. */
enum glan_herc_member { GLAN_HERC_READ = 0, GLAN_HERC_WRITE = 1, GLAN_HERC_DATA = 2 };
enum { GLAN_HERC_MEMBERS = 3 };

/* One interface (a device group) as the device model sees it. */
struct glan_herc_ifinfo {
    uint16_t lcss;
    uint16_t devnum[GLAN_HERC_MEMBERS]; /* read, write, data */
    uint8_t chpid;
    struct glan_port *port; /* this interface's port on its LAN */
};

/* One channel command word handed to the model (DEVHND exec, in plain C). */
struct glan_herc_ccw {
    int member;       /* enum glan_herc_member */
    uint8_t code;     /* CCW command code */
    uint8_t flags;    /* CCW flags */
    uint8_t chained;  /* chaining flags from the previous CCW */
    uint8_t prevcode; /* previous command code in the chain */
    int seq;          /* position in the chain, 0 first */
    uint32_t count;   /* byte count */
    uint8_t *data;    /* channel buffer: count bytes, in or out */
    /* out: */
    uint8_t unitstat; /* CSW unit status (CE, DE, UC, ...) */
    uint8_t more;     /* nonzero: the data area was longer than count */
    uint32_t residual;
    uint8_t sense[32]; /* valid when unitstat has unit check */
};

/*
 * What the device model provides.  Every member is required unless its
 * comment says what NULL means.  ctx is what iface_create returned.  Calls for
 * one interface may come from several Hercules threads (the device threads
 * running channel programs, CPU threads executing SIGA or CHSC, the panel);
 * the model does its own locking.  SIGA and CCW calls arrive with that
 * device's Hercules lock held, so the model must not block on another
 * interface (see docs/design.md, "Locking").
 */
struct glan_herc_model {
    const char *name; /* shown by `glan query` and in messages */
    /* Sense-ID bytes every member reports (copied into the device at init);
     * at most 256 bytes.  The model also decides the device type shown by
     * devlist from them (bytes 4..5). */
    const uint8_t *sense_id;
    size_t sense_id_len;
    /* 256 entries: nonzero marks an immediate command (no data transfer).
     * NULL: none. */
    const uint8_t *immediate;
    /* Create the model's state for one complete group.  0 with *ctx set, or
     * a negative errno with a message in err; the group is then detached. */
    int (*iface_create)(const struct glan_herc_ifinfo *info, void **ctx, char *err, size_t errlen);
    /* Teardown, in two steps around the port's detach.  stop: end the
     * model's threads and calls into the base; when it returns the model
     * sends nothing more, and deliver, if still called, returns -ENETDOWN.
     * hdtglan then detaches the port (which waits for deliveries in flight)
     * and calls iface_destroy to free ctx. */
    void (*iface_stop)(void *ctx);
    void (*iface_destroy)(void *ctx);
    /* Execute one CCW; fill the out fields. */
    void (*ccw)(void *ctx, struct glan_herc_ccw *ccw);
    /* Halt or clear on one member (a blocked READ, ACTIVATE QUEUES). */
    void (*halt)(void *ctx, int member);
    /* SIGA read/write/sync; return the condition code. */
    int (*siga_r)(void *ctx, uint32_t qmask);
    int (*siga_w)(void *ctx, uint32_t qmask);
    int (*siga_s)(void *ctx, uint32_t oqmask, uint32_t iqmask);
    /* CHSC store-subchannel-QDIO-data: fill the 32-byte entry; 0 or negative
     * errno.  NULL: report no QDIO data. */
    int (*ssqd)(void *ctx, void *entry);
    /* CHSC set-subchannel-indicator: 0 accepted, nonzero rejected. */
    int (*ssci)(void *ctx, const void *req);
    /* One line of state for devlist ("IDX ACTIVE tx[12] rx[9]"). NULL: none. */
    void (*describe)(void *ctx, int member, char *buf, size_t len);
    /* Datagram from the LAN for this interface (the port's deliver): as
     * struct glan_port_ops.deliver.  flush as glan_port_ops.flush (may be
     * NULL). */
    int (*deliver)(void *ctx, const struct glan_dgram *dg);
    void (*flush)(void *ctx);
};

/* TODO(osa-seam): NULL until the device model fills it (see above). */
extern const struct glan_herc_model *glan_herc_model;

#endif
