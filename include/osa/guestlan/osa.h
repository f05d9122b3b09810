/*
 * guestlan OSA-Express device model: an emulator-neutral OSA-Express (OSD)
 * adapter in QDIO mode, layer 3, as Linux qeth_l3 and z/VM TCP/IP drive it.
 * One struct glan_osa is one group of three subchannels (read, write, data)
 * and one port of a LAN of the base (include/base/guestlan/base.h).
 *
 * The emulator (the Hercules glue in src/hercules/, or the simulated guest
 * in src/simguest/) owns the channel subsystem and calls in here for every
 * CCW, SIGA, SSQD and set-subchannel-indicator; the device model reaches the
 * guest only through the small host vtable below.  docs/osa.md has the
 * design, the locking rules and what is implemented.
 */
#ifndef GUESTLAN_OSA_H
#define GUESTLAN_OSA_H

#include <stddef.h>
#include <stdint.h>

#include "guestlan/base.h"

#ifdef __cplusplus
extern "C" {
#endif

struct glan_osa;

/* Unit status bits (byte 1 of the SCSW status word), as the channel sees them. */
enum {
    GLAN_OSA_US_ATTN = 0x80,
    GLAN_OSA_US_SM = 0x40,
    GLAN_OSA_US_CUE = 0x20,
    GLAN_OSA_US_BUSY = 0x10,
    GLAN_OSA_US_CE = 0x08,
    GLAN_OSA_US_DE = 0x04,
    GLAN_OSA_US_UC = 0x02,
    GLAN_OSA_US_UX = 0x01,
};

/* Sense byte 0 bits set with a unit check. */
enum {
    GLAN_OSA_SENSE_CMDREJ = 0x80,
    GLAN_OSA_SENSE_INTREQ = 0x40,
    GLAN_OSA_SENSE_EQUIPCHK = 0x10,
};

/* Number of the subchannels of a group: slot 0..2 in device-number order.
 * Which slot is read, write and data is decided by what the guest does
 * (IDX ACTIVATE type, ESTABLISH QUEUES), so z/VM's data-read-write order and
 * Linux's read-write-data order both work. */
#define GLAN_OSA_SLOTS 3

/*
 * The `how` of host->mem: the direction, and the memory ordering of the
 * access (docs/osa.md, "Ordering").  The device asks for ordering only on
 * the SLSB bytes and interrupt indicators, whose states hand buffers
 * between guest and device; data is copied plain in between.
 */
enum {
    GLAN_OSA_MEM_READ = 0,  /* guest -> buf */
    GLAN_OSA_MEM_WRITE = 1, /* buf -> guest */
    /* A read that acquires: no later access of this thread to guest storage
     * is performed before it (a load-acquire, or the copy then an acquire
     * fence).  The device reads an SLSB state this way before it looks at
     * the buffer the state hands it. */
    GLAN_OSA_MEM_ACQUIRE = 2,
    /* A write that releases: every earlier access of this thread to guest
     * storage, read or write, is performed before it (a store-release, or a
     * release fence then the copy).  The device stores an SLSB state or an
     * indicator this way after the buffer's data it hands over. */
    GLAN_OSA_MEM_RELEASE = 4,
};

/*
 * What the emulator provides.  Every member is called with none of the
 * device model's locks held unless stated, possibly from any thread.
 */
struct glan_osa_host_ops {
    /*
     * The one way into guest storage.  Copies len bytes between absolute
     * guest address addr and buf (how & GLAN_OSA_MEM_WRITE clear: guest ->
     * buf; set: buf -> guest), checking every byte against the end of
     * storage and the storage key of every 4K frame it touches with access
     * key `key` (0..15): a store needs a matching key, a fetch a matching
     * key or a frame that is not fetch-protected; key 0 may do anything.
     * Sets the reference and change bits.  All or nothing: returns 0;
     * -EFAULT when part of the range lies outside guest storage
     * (addressing); -EACCES when the key forbids the access (protection),
     * and then no byte has moved.  The key rule is the host's, including the
     * special cases real OSAs honour for z/VM (key 14) and z/OS (key 6) QDIO
     * keys.  `how` also carries the ordering the device needs against the
     * guest's CPUs (GLAN_OSA_MEM_ACQUIRE / _RELEASE below, docs/osa.md
     * "Ordering"): a host whose guest CPUs run on other threads of a weakly
     * ordered machine must honour them; without either flag the copy is
     * plain and may be reordered with the device's other accesses.  May be
     * called from a different thread than the guest CPU that owns this
     * device (a peer's sender thread), with another device's lock held by
     * the emulator: must not block on this device's lock.  Required.
     */
    int (*mem)(void *host, uint64_t addr, void *buf, size_t len, unsigned key, unsigned how);
    /*
     * Present an interruption for the data subchannel `slot`: when thin is
     * nonzero, an adapter interruption (the device has already stored the
     * DSCI and ALSI bytes through mem); otherwise a PCI, intermediate status
     * on the data subchannel.  Called from whichever thread delivered or sent
     * (a peer guest's CPU thread included), possibly while that thread holds
     * its own device's lock: must not wait for this device's lock (queue the
     * interruption or try again later).  Required.
     */
    void (*interrupt)(void *host, unsigned slot, int thin);
    /*
     * End a CCW that glan_osa_exec() left pending (GLAN_OSA_PENDING): the
     * device has filled the CCW's buffer; unitstat and residual are the final
     * status.  Called from another thread (the one that queued a control
     * reply or ran glan_osa_halt/clear/reset), with the group's control lock
     * held: must only record the status and wake whoever waits, never call
     * back into the device model.  Required.
     */
    void (*ccw_end)(void *host, unsigned slot, uint8_t unitstat, uint32_t residual);
    /* Optional (NULL: silent).  A line of diagnostics, no newline. */
    void (*log)(void *host, const char *msg);
    /*
     * Optional (NULL: the base stamps each datagram with CLOCK_REALTIME).
     * The emulator's time of day in nanoseconds since the Unix epoch, read
     * once for every datagram the guest sends (glan_tx_meta.ts_ns, which
     * the receivers see as glan_dgram.ts_ns); 0 means "now" to the base.
     * An emulator whose guest clock runs apart from the host's, or the
     * simulated guest of `glan replay --through-qdio` replaying capture
     * timestamps, supplies it.  Called from the sending guest's SIGA thread
     * with the device's output lock held: must only read a clock.
     */
    uint64_t (*clock)(void *host);
    /*
     * Optional (NULL: what a SIGA left undone waits for the guest's next
     * SIGA-w or SIGA-s).  One SIGA takes a bounded amount of output work
     * (docs/osa.md, "How much one SIGA does"); when it stops with primed
     * output buffers left, the device calls this so that the emulator calls
     * glan_osa_resume() soon, from a thread that holds none of this
     * device's locks nor the emulator's lock of the data subchannel (the
     * one held around SIGA).  Called from the SIGA's thread with the
     * device's output lock held, or from any other thread (a receiver that
     * made room for a walk that waited, docs/osa.md "Back-pressure"),
     * holding no lock of this device: must only record the request and
     * wake a helper.  Asking again before the resume ran may be folded
     * into one.  A device without it never waits for a receiver: what
     * finds no room is dropped (queue_full) as the base drops it.
     */
    void (*resume)(void *host);
};

/* The largest MTU the device offers: a datagram and its 32-byte header in a
 * 64 KiB input buffer of 16 elements of 4 KiB, as Linux's qeth sets one up
 * for an OSA, with room to spare.  Never more than the LAN's largest
 * buffer holds. */
#define GLAN_OSA_MAX_MTU 57344

struct glan_osa_config {
    const char *name;                /* port name in the LAN, 1..31 chars ("0600") */
    uint16_t devnum[GLAN_OSA_SLOTS]; /* device numbers of the three subchannels */
    uint8_t chpid;                   /* reported in RCD */
    uint8_t mac[6];                  /* all zero: derived from the port index */
    uint16_t mtu;                    /* in ULP ENABLE; 0: the largest (GLAN_OSA_MAX_MTU) */
    uint8_t out_queues;              /* reported in SSQD; 0: 4 */
};

/* Create the adapter and attach it as a guest port of lan.  NULL with a
 * message in err when the configuration is bad, the LAN is full or memory is
 * short.  ops and host stay in use until glan_osa_destroy(). */
struct glan_osa *glan_osa_create(struct glan_lan *lan, const struct glan_osa_config *cfg,
                                 const struct glan_osa_host_ops *ops, void *host, char *err,
                                 size_t errlen);
/* Reset every subchannel (pending CCWs end), detach the port (its addresses
 * and groups leave the registry) and free.  No other call may run. */
void glan_osa_destroy(struct glan_osa *osa);
struct glan_port *glan_osa_port(struct glan_osa *osa);

/* ---- channel programs ---------------------------------------------------- */

/* CCW flag bits the device looks at. */
enum { GLAN_OSA_CCW_CD = 0x80, GLAN_OSA_CCW_CC = 0x40, GLAN_OSA_CCW_SLI = 0x20 };

/* The command codes an emulator's channel must know of.  Both move no data
 * (immediate commands).  ACTIVATE QUEUES stays pending for as long as the
 * queues are active (the device names it in its Sense ID's AQUEUE CIW);
 * an emulator that marks a subchannel QDIO-active does so while it runs. */
enum { GLAN_OSA_CMD_NOP = 0x03, GLAN_OSA_CMD_AQUEUE = 0x1f };

/* One CCW as the channel hands it over, Hercules style: the channel moves the
 * data between guest storage and buf (data chaining and IDAWs are its
 * business). */
struct glan_osa_io {
    uint8_t cmd;   /* command code */
    uint8_t flags; /* CCW flags */
    uint32_t count;
    uint8_t *buf; /* write-type: count bytes fetched; read-type: room for count */
    /* results of GLAN_OSA_DONE */
    uint8_t unitstat;
    uint32_t residual; /* count - bytes transferred */
    int more;          /* read-type: the device had more data than count */
};

enum { GLAN_OSA_DONE = 0, GLAN_OSA_PENDING = 1 };

/*
 * Execute one CCW on subchannel `slot` (-EINVAL for a slot >= 3; every
 * command, known or not, otherwise ends in a status, a unit check with
 * command reject for what the adapter does not do).  GLAN_OSA_DONE: io's results are
 * final.  GLAN_OSA_PENDING: the CCW stays active (a READ waiting for a control
 * reply, ACTIVATE QUEUES while the queues run); io->buf must stay valid until
 * the device ends it with host->ccw_end (possibly before this returns to the
 * channel: the host must expect ccw_end at any time after the call began).
 */
int glan_osa_exec(struct glan_osa *osa, unsigned slot, struct glan_osa_io *io);
/* The Sense ID data (28 bytes: FF 1731 01 1732 01, CIWs), for emulators
 * whose channel answers Sense ID itself; returns its length. */
size_t glan_osa_sense_id(uint8_t out[28]);
/* The Read Configuration Data of slot (128 bytes: NEDs and NEQ), for
 * emulators that show it outside a channel program; returns its length. */
size_t glan_osa_rcd(struct glan_osa *osa, unsigned slot, uint8_t out[128]);
/* The 32 sense bytes of slot (after a unit check). */
void glan_osa_sense(struct glan_osa *osa, unsigned slot, uint8_t out[32]);
/* Halt (HSCH/HIO): a pending CCW of slot ends with CE+DE through ccw_end.
 * Halting the data subchannel stops the queues.  Never blocks. */
void glan_osa_halt(struct glan_osa *osa, unsigned slot);
/* Clear (CSCH): as halt, and the subchannel's state is reset: the read or
 * write channel loses its IDX activation (which takes the interface down:
 * its addresses and groups leave the registry). */
void glan_osa_clear(struct glan_osa *osa, unsigned slot);
/* Reset of the whole adapter (system reset, detach): clear on every slot. */
void glan_osa_reset(struct glan_osa *osa);

/* ---- QDIO instructions and CHSC ------------------------------------------ */

/* SIGA-w / SIGA-r / SIGA-s on the data subchannel; masks left-justified
 * (0x80000000 = queue 0).  Return the condition code: 0, or 1 when the
 * queues are not active. */
int glan_osa_siga_w(struct glan_osa *osa, uint32_t oqmask);
int glan_osa_siga_r(struct glan_osa *osa, uint32_t iqmask);
int glan_osa_siga_s(struct glan_osa *osa, uint32_t oqmask, uint32_t iqmask);
/* Go on with the output a SIGA left at its bound (host->resume asked for
 * this), with the same bound; asks host->resume again when work is still
 * left.  Returns 1 when it did, 0 when nothing was left or the queues are
 * not active.  Any thread holding no lock of this device. */
int glan_osa_resume(struct glan_osa *osa);

/* CHSC 0x24 (store subchannel QDIO data): fill the 32-byte descriptor for
 * subchannel number sch of slot. */
void glan_osa_ssqd(struct glan_osa *osa, unsigned slot, uint16_t sch, uint8_t out[32]);
/* CHSC 0x21 (set subchannel indicator): the adapter-local summary indicator
 * and the device state change indicator, with their access keys.  Both
 * addresses zero switch thin interrupts off.  0, or -EFAULT/-EACCES when an
 * indicator byte cannot be stored with its key. */
int glan_osa_set_indicators(struct glan_osa *osa, uint64_t alsi, unsigned alsi_key, uint64_t dsci,
                            unsigned dsci_key);

/* ---- queries ------------------------------------------------------------- */

/*
 * The device's counters, listed once: X(name, comment) for each, in the
 * order of struct glan_osa_stats.  Expand it with a macro of your own to
 * declare, copy or print them; a formatter can use #name as the label (the
 * keys of `glan replay --through-qdio`'s JSON are these names).  Datagram
 * counts (sent, delivered, dropped by reason) are the port's, in the base.
 */
#define GLAN_OSA_COUNTERS(X)                                                                       \
    X(ccws, "channel command words executed")                                                      \
    X(unit_checks, "CCWs ended with a unit check")                                                 \
    X(mpc_cmds, "control blocks on the write channel")                                             \
    X(mpc_bad, "malformed control blocks, refused IDX ACTIVATEs")                                  \
    X(l2_refused, "ULP ENABLEs refused: the layer asked for is not the LAN's transport")           \
    X(ipa_cmds, "IPA commands")                                                                    \
    X(ipa_notsupp, "IPA commands answered 'not supported'")                                        \
    X(replies_dropped, "control replies dropped: reply queue full")                                \
    X(siga_w, "SIGA-w instructions")                                                               \
    X(siga_r, "SIGA-r instructions")                                                               \
    X(siga_s, "SIGA-s instructions")                                                               \
    X(siga_bad_queue, "SIGAs naming an output queue that was not established (ignored)")           \
    X(out_bounded, "output walks stopped at the per-SIGA bound with buffers left")                 \
    X(out_resumed, "output walks resumed after a bound (glan_osa_resume)")                         \
    X(out_buffers, "output SBALs processed")                                                       \
    X(out_packets, "datagrams taken from output SBALs")                                            \
    X(out_errors, "output SBALs ended in the error state (0xAF)")                                  \
    X(out_bad_header, "unknown header id, bad length, header across elements")                     \
    X(out_absorbed, "passthrough frames answered or absorbed (ARP, ND, other)")                    \
    X(out_waits, "output walks stopped for a receiver without room (back-pressure)")               \
    X(out_tacked, "output buffers primed without a SIGA during a walk, found by its second look")  \
    X(in_buffers, "input SBALs primed")                                                            \
    X(in_packets, "datagrams put into input SBALs")                                                \
    X(in_errors, "input SBALs ended in the error state (0x8F)")                                    \
    X(in_too_big, "datagrams larger than an empty input buffer")                                   \
    X(out_csum, "datagrams sent with checksums left to the device (completed by it)")              \
    X(out_tso, "TSO datagrams sent (kept whole in the LAN, cut where a receiver needs)")           \
    X(out_offload_bad, "offload requests refused: TSO or checksum headers unusable (dropped)")     \
    X(in_csum_verified, "datagrams delivered flagged 'checksums verified'")                        \
    X(in_tso_whole, "TSO datagrams delivered whole (the guest took inbound checksumming)")         \
    X(in_tso_cut, "TSO datagrams cut into segments for the guest's input")                         \
    X(in_tso_segments, "segments cut from TSO datagrams into the guest's input")                   \
    X(in_offload_bad, "TSO datagrams that could not be cut (dropped as port errors)")              \
    X(slsb_refused, "SLSB reads and stores guest storage refused (addressing, protection)")        \
    X(interrupts, "interruptions presented")

/* Counters of device-level events (GLAN_OSA_COUNTERS), each a uint64_t. */
struct glan_osa_stats {
#define GLAN_OSA_STATS_FIELD(name, comment) uint64_t name;
    GLAN_OSA_COUNTERS(GLAN_OSA_STATS_FIELD)
#undef GLAN_OSA_STATS_FIELD
};
void glan_osa_get_stats(struct glan_osa *osa, struct glan_osa_stats *out);
/* The output queues a walk left now (SIGA mask bits): at its bound
 * (*owed), or waiting for a receiver's room (*wait). */
void glan_osa_out_left(struct glan_osa *osa, uint32_t *owed, uint32_t *wait);

#ifdef __cplusplus
}
#endif
#endif
