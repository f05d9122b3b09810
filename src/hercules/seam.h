/*
 * The seam between hdtglan (the Hercules glue) and the OSA-Express device
 * model.  hdtglan owns everything Hercules: device statements, grouping of
 * the three devices, the LAN directory, the `glan` command, and the services
 * the model needs from the emulator (guest storage with keys, interrupts,
 * ending a CCW that waited).  Everything the guest sees through the channel
 * (Sense ID, RCD, IDX/MPC/IPA, ESTABLISH and ACTIVATE QUEUES, SIGA, SSQD,
 * SSCI, halt/clear) belongs to the device model (src/osa,
 * include/osa/guestlan/osa.h).
 *
 * A device model fills the one table struct glan_herc_model, in an adapter
 * file of its own in this folder (model_osa.c for include/osa/guestlan/osa.h),
 * and model.c points glan_herc_model at it.  The seam speaks the device
 * model's own types, from include/osa/guestlan/osa.h rather than copies of
 * them: the host vtable (struct glan_osa_host_ops), one CCW (struct
 * glan_osa_io, GLAN_OSA_DONE/PENDING) and the three slots, so that the
 * adapter only passes calls through.  With no model
 * (GLAN_HERC_MODEL=none) glan_herc_model is NULL: GLAN devices attach, group
 * and join their LAN with a port that accepts nothing, and every channel
 * command ends in unit check / command reject.  Nothing here fakes a
 * protocol answer.
 *
 * This header includes no Hercules header: the device model never learns of
 * DEVBLK.  hdtglan translates both ways.
 */
#ifndef GLAN_HERCULES_SEAM_H
#define GLAN_HERCULES_SEAM_H

#include <stddef.h>
#include <stdint.h>

#include "guestlan/base.h"
#include "guestlan/osa.h"

/* The three devices of a group, in device-statement order: the device
 * model's slots 0..2. */
enum { GLAN_HERC_SLOTS = GLAN_OSA_SLOTS };

/* One interface (a device group) as the device model is told of it. */
struct glan_herc_ifinfo {
    char name[16];                    /* port name in the LAN: "0:0600" */
    uint16_t lcss;                    /* logical channel subsystem */
    uint16_t devnum[GLAN_HERC_SLOTS]; /* device numbers, slot order */
    uint16_t subchan[GLAN_HERC_SLOTS];
    uint8_t chpid;
};

/*
 * What the device model provides.  Every member is required unless its
 * comment says what NULL means; ctx is what iface_create returned.  Calls for
 * one interface come from several Hercules threads (the device threads
 * running channel programs, CPU threads executing SIGA and CHSC, the panel);
 * the model does its own locking.
 */
struct glan_herc_model {
    const char *name; /* shown by `glan query` and in messages */
    uint16_t devtype; /* device type devlist shows (0x1732) */
    uint8_t chptype;  /* channel-path type for CHSC (0x11, OSD) */
    /* the same on a LAN of type HIPERS (0x24, IQD): the model presents a
     * HiperSockets card there (docs/osa.md, "HiperSockets") */
    uint8_t chptype_iqd;
    /* 256 entries, nonzero marks an immediate command (no data transfer);
     * NULL: none. */
    const uint8_t *immediate;
    /* The group is complete: create the adapter and attach it as a port of
     * lan (the model owns the port).  host is what hdtglan provides (host.c:
     * guest storage through Hercules' main storage with its keys, PCI or
     * adapter interruptions, ending a pending CCW, the Hercules log; no
     * clock, so the base stamps datagrams), with the contracts of osa.h;
     * hostctx is the argument its members take.  Both outlive the adapter.  0 with *ctx and *port
     * set, or a negative errno with a message in err; the group is then detached. */
    int (*iface_create)(const struct glan_herc_ifinfo *info, struct glan_lan *lan,
                        const struct glan_osa_host_ops *host, void *hostctx, void **ctx,
                        struct glan_port **port, char *err, size_t errlen);
    /* Reset every slot, detach the port, free.  No other call runs. */
    void (*iface_destroy)(void *ctx);
    /* Execute one CCW on slot: GLAN_OSA_DONE with the results in ccw set, or
     * GLAN_OSA_PENDING: hdtglan waits for host->ccw_end for that slot (which
     * may come before ccw() returns). */
    int (*ccw)(void *ctx, unsigned slot, struct glan_osa_io *ccw);
    /* The 32 sense bytes of slot after a unit check. */
    void (*sense)(void *ctx, unsigned slot, uint8_t out[32]);
    /* Halt / clear (HSCH, CSCH, reset) on slot; never block. */
    void (*halt)(void *ctx, unsigned slot);
    void (*clear)(void *ctx, unsigned slot);
    /* SIGA on the data device; the condition code. */
    int (*siga_w)(void *ctx, uint32_t oqmask);
    int (*siga_r)(void *ctx, uint32_t iqmask);
    int (*siga_s)(void *ctx, uint32_t oqmask, uint32_t iqmask);
    /* CHSC 0x24: the 32-byte descriptor of slot's subchannel sch. */
    void (*ssqd)(void *ctx, unsigned slot, uint16_t sch, uint8_t out[32]);
    /* CHSC 0x21: 0, or a negative errno when an indicator cannot be set. */
    int (*set_indicators)(void *ctx, uint64_t alsi, unsigned alsi_key, uint64_t dsci,
                          unsigned dsci_key);
    /* Go on with the output walk a SIGA left at its bound, from a thread
     * holding no device lock (host op resume asked for it).  NULL: none. */
    int (*resume)(void *ctx);
    /* One line of state for devlist and glan query ("IDX active, queues
     * active, in 12 out 9").  NULL: none. */
    void (*describe)(void *ctx, unsigned slot, char *buf, size_t len);
};

/* The model in use (model.c), NULL when none was built in. */
extern const struct glan_herc_model *glan_herc_model;
/* The OSA-Express device model's table (model_osa.c). */
extern const struct glan_herc_model glan_herc_osa_model;

#endif
