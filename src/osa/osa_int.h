/*
 * Internal state of one OSA-Express group, shared by the files of src/osa/,
 * and the few functions they call in each other.
 *
 * Calls between the files go one way, from the channel side down; no file
 * calls one above it, so there is no circle:
 *
 *   osa.c    the channel side: life cycle, the CCW dispatcher, IDX, the MPC
 *            handshake, the control reply queue, halt/clear/reset, the
 *            controller's events, the counters.  Calls ident.c (Sense ID,
 *            RCD), ipa.c (an IPA block in, its reply out: osa.c queues it),
 *            qdio.c (establish, activate and stop the queues; the port ops
 *            it gives the base) and mpc.c (its replies' framing).
 *   ident.c  what the adapter says about itself: Sense ID, RCD, SSQD.
 *            Calls nothing here.
 *   ipa.c    IPA commands, the base's registry.  Calls mpc.c only.
 *   qdio.c   the queues: ESTABLISH, SIGA, the output walk, delivery into
 *            input buffers, interrupts.  Entered by the host (SIGA, SSCI)
 *            and the base (port ops).  Calls neigh.c only.
 *   l2.c     layer 2: which layer a guest may have on which LAN, the
 *            layer-2 IPA commands, the layer-2 QDIO header.  Called by
 *            osa.c (ULP ENABLE), ipa.c and qdio.c; calls nothing here.
 *   neigh.c  the ARP and neighbour-discovery answers the device gives on
 *            the guests' behalf, built for qdio.c to put into the guest's
 *            input.  Calls nothing here.
 *   mpc.c    MPC framing (mpc.h), shared with the simulated guest.  Calls
 *            nothing.
 *
 * Besides those calls the files share only struct glan_osa below and the
 * small inline helpers at the end of this header (osa_log, the port MAC).
 * These symbols are internal: no glan_ prefix (that is the public API's,
 * include/osa/guestlan/osa.h).
 *
 * Locks, outermost first (docs/osa.md, "Locking"):
 *   ctl  - control state: slots, IDX, MPC, IPA, reply queue, pending CCWs.
 *   out  - the output side: SIGA-w/SIGA-s walks of the output queues.
 *   in   - the input side: the input queue, the open input buffer; a leaf,
 *          the only lock a peer's sender thread takes here (deliver/flush).
 * None of them is held while the base is called, except `ctl` around
 * registry calls (the base never calls back into ctl-holding code) and
 * `out` around glan_port_tx_* (which may run peers' deliver, taking only
 * their own `in`).
 *
 * Memory ordering with the guest (docs/osa.md, "Ordering").  Guest and
 * device hand buffers to each other through the SLSB states, and the guest's
 * CPUs may run on other host threads than the device (a peer's sender
 * delivers into this guest; Hercules runs each CPU in a thread), on a weakly
 * ordered host too.  Each hand-over is a release at one end and an acquire
 * at the other, labelled QRn at the release and QAn at the acquire, like the
 * base's Rn/An (src/base/base_int.h).  The device's end goes through
 * host->mem with GLAN_OSA_MEM_RELEASE / GLAN_OSA_MEM_ACQUIRE (osa.h); the
 * guest's end is its own instructions, which the emulator orders
 * (src/hercules/host.c says how Hercules does; the simulated guest's are in
 * src/simguest/data.c).
 *   QR1/QA1  input handed back: the device writes datagrams and element
 *            lengths, then stores 0x82 (or 0x8F) releasing (in_close,
 *            in_open's and in_write's error paths: set_state); the guest
 *            reads the state acquiring, then the buffer.
 *   QR2/QA2  output consumed: the device reads the buffer, then stores 0xA1
 *            (or 0xAF) releasing (out_queue: set_state); the guest reads the
 *            state acquiring, then reuses the buffer.
 *   QR3/QA3  input given: the guest sets an SBAL up, then stores 0x41
 *            releasing; the device reads the state acquiring (in_open:
 *            slsb_read), then the SBAL.
 *   QR4/QA4  output primed: the guest fills a buffer, then stores 0x62
 *            releasing; the device reads the SLSB acquiring (out_queue:
 *            slsb_read), then the SBAL and its data.
 *   QR5/QA5  indicators: after QR1/QR2 the device stores the DSCI, then the
 *            ALSI, each releasing (raise_irq); the guest reads the ALSI and
 *            DSCI acquiring, then the SLSBs.
 *   QF6      tack-on: a guest primes buffer i+1 and then reads buffer i's
 *            state, giving no SIGA while i is still primed; the device
 *            stores i's state, then reads i+1's (out_queue).  A full fence
 *            on each side (the guest's is qdio's interlocked update of the
 *            state) so that one sees the other: no buffer is left primed
 *            with nobody to walk it.
 */
#ifndef GLAN_OSA_INT_H
#define GLAN_OSA_INT_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "guestlan/offload.h"
#include "guestlan/osa.h"
#include "guestlan/osa_wire.h"

#define OSA_REPLY_MAX   4096 /* one control block, QETH_BUFSIZE */
#define OSA_REPLY_QUEUE 16   /* control replies waiting for a READ */
#define OSA_MAX_ADDRS   64   /* unicast addresses per interface (v4 + v6) */
#define OSA_MAX_GROUPS  128  /* multicast memberships per interface */
#define OSA_MAX_OUTQ    32
#define OSA_MAX_INQ     4
/* How much one output walk (one SIGA, or one glan_osa_resume) takes under
 * the output lock: it starts no new buffer once it has taken this many
 * buffers, datagrams or bytes (docs/osa.md, "How much one SIGA does"). */
#define OSA_WALK_BUFFERS 16
#define OSA_WALK_PACKETS 1024
#define OSA_WALK_BYTES   (1u << 20)

enum { OSA_RX_CSUM4 = 1, OSA_RX_CSUM6 = 2 };

enum slot_role { ROLE_NONE = 0, ROLE_READ, ROLE_WRITE, ROLE_DATA };

struct osa_slot {
    enum slot_role role;
    int idx_active;
    /* The IDX reply waits here for the READ chained to the IDX WRITE. */
    int idx_reply_len;
    uint8_t idx_reply[IDX_ACTIVATE_SIZE];
    /* A CCW left pending: READ waiting for a reply, or ACTIVATE QUEUES. */
    int pending; /* 0, CCW_CMD_READ or CCW_CMD_AQUEUE */
    struct glan_osa_io pio;
    uint8_t sense[32];
};

struct osa_reply {
    uint32_t len;
    uint8_t data[OSA_REPLY_MAX];
};

/* One QDIO queue as ESTABLISH QUEUES described it; SBAL addresses are taken
 * from the SL then, as the adapter does. */
struct osa_queue {
    uint64_t slib, sl, slsb;
    uint8_t slib_key, sl_key, sbal_key, slsb_key;
    uint64_t sbal[QDIO_MAX_BUFFERS_PER_Q];
    unsigned next; /* next buffer the adapter looks at */
    /* Output: the walk stopped inside buffer next to wait for a receiver's
     * room (back-pressure); it stays primed, and the walk goes on at the
     * header at element part_e, offset part_off. */
    int part;
    unsigned part_e;
    uint32_t part_off;
};

enum mpc_state {
    MPC_NONE = 0,
    MPC_CM_ENABLED,
    MPC_CM_SETUP,
    MPC_ULP_ENABLED,
    MPC_ULP_SETUP,
    MPC_DM_ACT,
};

enum qdio_state { QDIO_INACTIVE = 0, QDIO_ESTABLISHED, QDIO_ACTIVE };

struct osa_in_open {
    int open;         /* a buffer is being filled */
    unsigned buf;     /* its index */
    struct sbal sbal; /* its SBAL, as read when it was opened */
    unsigned nelem;   /* usable elements (through LAST_ENTRY) */
    unsigned elem;    /* write position */
    uint32_t off;
    uint32_t used[QDIO_MAX_ELEMENTS];
    unsigned packets;
};

struct glan_osa {
    const struct glan_osa_host_ops *ops;
    void *host;
    struct glan_port *port;
    struct glan_osa_config cfg;
    /* The personality, fixed at create from the LAN's type: 0 an
     * OSA-Express (OSD), 1 a HiperSockets card (IQD, docs/osa.md
     * "HiperSockets"); iqd_frame is the frame-size code of its ULP ENABLE. */
    int iqd;
    uint16_t iqd_frame;
    char name[32];
    uint8_t mac[6];

    pthread_mutex_t ctl;
    struct osa_slot slot[GLAN_OSA_SLOTS];
    enum mpc_state mpc;
    uint8_t layer;                 /* ULP ENABLE protocol byte */
    uint8_t guest_issuer_token[4]; /* from IDX */
    uint8_t guest_cm_filter[4], guest_cm_conn[4], guest_ulp_filter[4], guest_ulp_conn[4];
    uint32_t th_seq;
    struct osa_reply replies[OSA_REPLY_QUEUE];
    unsigned rq_head, rq_count;

    /* IPA state (ctl) */
    _Atomic int lan_started; /* read by the data path without ctl */
    int ctl_started;         /* the controller was told the interface started */
    uint32_t ipa4_enabled, ipa6_enabled;
    /* The families whose inbound checksumming the guest started
     * (OSA_RX_CSUM4/6): written under ctl, read by the data path. */
    _Atomic unsigned rx_csum;
    uint8_t routing4, routing6;
    struct glan_addr addrs[OSA_MAX_ADDRS];
    unsigned naddrs;
    struct glan_addr groups[OSA_MAX_GROUPS];
    unsigned ngroups;

    /* Queues: fields written under ctl+out+in, so any one of them reads. */
    _Atomic int qstate; /* enum qdio_state; SIGA reads it without locks */
    int data_slot;
    unsigned niq, noq;
    uint64_t qib;
    uint8_t qib_key;
    struct osa_queue iq[OSA_MAX_INQ];
    struct osa_queue oq[OSA_MAX_OUTQ];

    pthread_mutex_t out;
    uint32_t out_owed;   /* queues a walk left at its bound (SIGA mask bits); out */
    unsigned out_next_q; /* the queue the next walk starts at; out */
    uint32_t out_wait;   /* queues waiting for a receiver's room (SIGA mask bits); out */

    pthread_mutex_t in;
    struct osa_in_open inb;
    struct glan_offload_state off; /* cutting TSO datagrams for this input */
    int in_irq_owed;               /* buffers primed since the last interrupt */
    uint64_t alsi, dsci;
    uint8_t alsi_key, dsci_key;
    int thin; /* indicators registered */

    /* GLAN_OSA_COUNTERS, bumped with OSA_INC from any thread. */
    struct {
#define OSA_COUNTER(name, comment) _Atomic uint64_t name;
        GLAN_OSA_COUNTERS(OSA_COUNTER)
#undef OSA_COUNTER
    } st;
};

#define OSA_INC(osa, f) atomic_fetch_add_explicit(&(osa)->st.f, 1, memory_order_relaxed)

/* ---- calls between the files (see the top of this header) ----------------- */

/* ident.c: the Sense ID data of this adapter (CU/device models 01 for an
 * OSD, 05 for an IQD); returns its length. */
size_t osa_sense_id(const struct glan_osa *osa, uint8_t out[28]);
/* ident.c: the IDX function level a HiperSockets adapter answers a guest
 * that sent level (what Linux's qeth_peer_func_level expects). */
uint16_t osa_iqd_peer_level(uint16_t level);
/* ident.c: the ULP ENABLE frame-size code of a HiperSockets adapter whose
 * MTU is mtu (8192, 16384, 32768 or 57344), and the MTU Linux makes of a
 * code; 0 for any other. */
uint16_t osa_iqd_frame_code(uint32_t mtu);
uint32_t osa_iqd_code_mtu(uint16_t code);

/* ipa.c: handle one IPA command block (blk, len bytes: TH..IPA, the IPA
 * command at pdu_off; osa.c checked the headers) and build its reply in
 * reply.  Returns the reply's length, 0 when there is none to send (a
 * block too short for an IPA header, counted).  Caller holds ctl. */
uint32_t osa_ipa(struct glan_osa *osa, const uint8_t *blk, uint32_t len, uint32_t pdu_off,
                 uint8_t reply[OSA_REPLY_MAX]);
/* ipa.c: the interface goes down: its addresses and groups leave the
 * registry, STARTLAN and the assists are forgotten.  Caller holds ctl. */
void osa_ipa_down(struct glan_osa *osa);

/* qdio.c: ESTABLISH QUEUES with the QDR the CCW carried (len bytes);
 * slot becomes the data subchannel.  0, -EINVAL (a QDR we do not take) or
 * -EFAULT (a queue's storage unreachable).  Caller holds ctl. */
int osa_queues_establish(struct glan_osa *osa, unsigned slot, const uint8_t *qdr, uint32_t len);
/* qdio.c: ACTIVATE QUEUES: the established queues run.  Caller holds ctl. */
void osa_queues_activate(struct glan_osa *osa);
/* qdio.c: the queues stop (halt of the data subchannel, interface down).
 * Caller holds ctl. */
void osa_queues_stop(struct glan_osa *osa);
/* qdio.c: the port's callbacks for the base (deliver, flush). */
extern const struct glan_port_ops osa_port_ops, osa_port_ops_wait;

/* l2.c: may a guest asking for ULP ENABLE protocol proto come up on this
 * device's LAN?  1, or 0 after one log line naming the LAN, its transport
 * and the layer asked for.  Caller holds ctl. */
int osa_l2_layer_ok(struct glan_osa *osa, uint8_t proto);
/* l2.c: a layer-2 IPA command (SETVMAC ... DELVLAN) with its data (room
 * bytes at d); returns the IPA return code.  Caller holds ctl. */
uint16_t osa_l2_ipa(struct glan_osa *osa, uint8_t cmd, const uint8_t *d, uint32_t room);
/* l2.c: the layer-2 header of a frame going into the guest's input. */
void osa_l2_hdr_in(struct qeth_hdr_l2 *h, const struct glan_dgram *dg);
/* l2.c: the length of the frame after an output header (plain, or TSO);
 * 0 when it is not a layer-2 header. */
uint32_t osa_l2_out_len(const struct qeth_hdr_l2 *h);

/* A frame the device makes on the guest's behalf, for the guest's input. */
struct osa_frame {
    uint8_t flags; /* of its layer-3 header: cast, IPv6, passthrough */
    uint32_t len;
    uint8_t data[72]; /* room for the largest: an IPv6 Neighbour Advertisement */
};
/* neigh.c: an ICMPv6 Neighbour Solicitation the guest of port sends (the
 * IPv6 datagram ip6, len bytes): 1 with the Neighbour Advertisement to give
 * the guest in *ans, or 0 when the device does not answer it and it goes on
 * as any datagram. */
int osa_neigh_solicit(struct glan_port *port, const uint8_t *ip6, uint32_t len,
                      struct osa_frame *ans);
/* neigh.c: an ARP packet the guest of port sends (arp, len bytes, in the
 * Ethernet frame whose header is eth): 1 with the ARP reply to give the
 * guest in *ans, or 0 when it is absorbed unanswered. */
int osa_neigh_arp(struct glan_port *port, const uint8_t *eth, const uint8_t *arp, uint32_t len,
                  struct osa_frame *ans);

/* ---- small helpers every file may use --------------------------------------- */

/* A line of diagnostics through the host's log, prefixed with the group's
 * name; nothing when the host has no log. */
static inline void osa_log(struct glan_osa *osa, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void osa_log(struct glan_osa *osa, const char *fmt, ...)
{
    if (!osa->ops->log)
        return;
    char line[256];
    int n = snprintf(line, sizeof line, "osa %s: ", osa->name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    osa->ops->log(osa->host, line);
}

/* The MAC of port idx of the LAN port is on, unless configured otherwise:
 * the one the LAN hands out (glan_lan_port_mac: locally administered,
 * unicast, unique on the LAN, the LAN's MAC prefix before the port's
 * number). */
static inline void osa_mac_for_port(const struct glan_port *port, int idx, uint8_t mac[6])
{
    glan_lan_port_mac(glan_port_lan(port), idx, mac);
}

/* Index of a in the first n entries of tab (a device's registered
 * addresses, IP or MAC), or -1. */
static inline int osa_addr_find(const struct glan_addr *tab, unsigned n, const struct glan_addr *a)
{
    for (unsigned i = 0; i < n; i++)
        if (glan_addr_equal(&tab[i], a))
            return (int)i;
    return -1;
}

#endif
