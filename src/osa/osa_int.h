/*
 * Internal state of one OSA-Express group, shared by the files of
 * src/osa/: osa.c (CCWs, IDX, MPC, the control reply queue, halt/clear),
 * ipa.c (IPA commands) and qdio.c (queues, SIGA, the data path).
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
 */
#ifndef GLAN_OSA_INT_H
#define GLAN_OSA_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "guestlan/osa.h"
#include "osa/osa_wire.h"

#define OSA_REPLY_MAX   4096 /* one control block, QETH_BUFSIZE */
#define OSA_REPLY_QUEUE 16   /* control replies waiting for a READ */
#define OSA_MAX_ADDRS   64   /* unicast addresses per interface (v4 + v6) */
#define OSA_MAX_GROUPS  128  /* multicast memberships per interface */
#define OSA_MAX_OUTQ    32
#define OSA_MAX_INQ     4

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

    pthread_mutex_t in;
    struct osa_in_open inb;
    int in_irq_owed; /* buffers primed since the last interrupt */
    uint64_t alsi, dsci;
    uint8_t alsi_key, dsci_key;
    int thin; /* indicators registered */

    struct {
        _Atomic uint64_t ccws, unit_checks, mpc_cmds, mpc_bad, ipa_cmds, ipa_notsupp,
            replies_dropped, siga_w, siga_r, siga_s, out_buffers, out_packets, out_errors,
            out_bad_header, out_absorbed, in_buffers, in_packets, in_errors, in_too_big, interrupts;
    } st;
};

#define OSA_INC(osa, f) atomic_fetch_add_explicit(&(osa)->st.f, 1, memory_order_relaxed)

/* Shared between the files of src/osa only (glan_ prefixed because they
 * are external symbols of the library, not because they are API). */
/* osa.c */
void glan_osa_log(struct glan_osa *osa, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void glan_osa_queue_reply(struct glan_osa *osa, const uint8_t *data, uint32_t len);
/* ipa.c: handle one IPA command block (whole TH..IPA; the IPA command at
 * pdu_off, headers checked by the caller), queue its reply. */
void glan_osa_ipa(struct glan_osa *osa, const uint8_t *blk, uint32_t len, uint32_t pdu_off);
void glan_osa_ipa_down(struct glan_osa *osa);
/* qdio.c */
int glan_osa_establish(struct glan_osa *osa, unsigned slot, const uint8_t *qdr, uint32_t len);
void glan_osa_queues_stop(struct glan_osa *osa);
int glan_osa_port_deliver(void *ctx, const struct glan_dgram *dg);
void glan_osa_port_flush(void *ctx);
void glan_osa_mac_for_port(int idx, uint8_t mac[6]);

#endif
