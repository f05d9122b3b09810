/*
 * A simulated Linux qeth layer-3 guest for the OSA device model's tests.
 * It owns a block of "guest storage" with storage keys, implements the host
 * vtable (struct glan_osa_host_ops) over it like an emulator would, and
 * drives the adapter the way Linux's qeth/qdio drivers do: Sense ID, RCD,
 * SSQD, IDX ACTIVATE, CM/ULP ENABLE and SETUP, ESTABLISH/ACTIVATE QUEUES,
 * DM ACT, the IPA start sequence, then datagrams through real SBALs.
 *
 * The control blocks are built field by field here (not copied from
 * Linux) so that they come out byte for byte as Linux's templates in
 * qeth_core_mpc.c; tests check the offsets Linux reads in the replies.
 */
#ifndef GLAN_SIMGUEST_H
#define GLAN_SIMGUEST_H

#include <stddef.h>
#include <stdint.h>

#include "guestlan/base.h"
#include "guestlan/osa.h"

#define SG_MEM_SIZE   (16u << 20)
#define SG_IN_BUFS    16 /* input buffers handed to the adapter */
#define SG_OUT_QUEUES 4
#define SG_TX_QUEUE   2 /* Linux's default output queue for IP on OSD */

/* The emulator side: guest storage and what the device reported. */
struct sg_host {
    uint8_t *mem;
    size_t size;
    uint8_t keys[SG_MEM_SIZE / 4096]; /* storage key per 4 KiB frame (0..15) */
    int ended[GLAN_OSA_SLOTS];        /* ccw_end seen since last looked */
    uint8_t end_status[GLAN_OSA_SLOTS];
    uint32_t end_residual[GLAN_OSA_SLOTS];
    unsigned interrupts, thin_interrupts;
    unsigned mem_faults; /* accessor refusals */
    int verbose;
};

struct sg_rx {
    uint8_t flags;
    uint16_t len;
    uint8_t data[9216 + 64];
};

struct simguest {
    struct sg_host host;
    struct glan_osa *osa;
    unsigned rd, wr, dt; /* slots of read, write and data subchannels */
    uint16_t devnum[3];

    /* What Linux keeps in card->token and card->info. */
    uint8_t issuer_rm_r[4], cm_filter_r[4], cm_conn_r[4], ulp_filter_r[4], ulp_conn_r[4];
    uint8_t mcl[4];
    uint16_t func_level_reply;
    uint16_t max_mtu;
    uint8_t link_type;
    uint8_t mac[6];
    uint32_t ipa4_supported, ipa4_enabled, ipa6_supported, ipa6_enabled;
    uint32_t adp_supported;
    uint16_t unique_id;
    uint32_t seq_th, seq_pdu, seq_pdu_ack;
    uint16_t seq_ipa;

    /* The permanent READ on the read channel. */
    struct glan_osa_io rio;
    uint8_t rbuf[4096];
    int read_ready; /* rbuf holds a reply not yet taken */

    /* QDIO storage (guest absolute addresses). */
    uint64_t qib, alsi, dsci;
    uint64_t slib[1 + SG_OUT_QUEUES], sl[1 + SG_OUT_QUEUES], slsb[1 + SG_OUT_QUEUES];
    uint64_t sbal[1 + SG_OUT_QUEUES][128];
    uint64_t in_pages;  /* SG_IN_BUFS x 16 pages */
    uint64_t out_pages; /* 128 x 4 pages for the TX queue */
    uint8_t qkeys;      /* key used in the QDR/QDES, high nibble */
    unsigned in_next, out_next;
    uint64_t brk; /* bump allocator in guest storage */
    int use_thin;
};

/* Make a guest and its adapter on lan.  name "0600" etc. NULL on failure. */
struct simguest *sg_create(struct glan_lan *lan, const char *name, uint16_t devnum);
void sg_destroy(struct simguest *g);
/* Reset the adapter (all subchannels cleared) and forget the guest's
 * queues and tokens, reusing its storage from the start: the fuzz targets
 * bring one guest up again and again. */
void sg_reset(struct simguest *g);

/* Guest storage helpers. */
uint64_t sg_alloc(struct simguest *g, size_t len, size_t align);
void *sg_ptr(struct simguest *g, uint64_t addr);

/* One CCW on a slot; returns GLAN_OSA_DONE/PENDING, io filled. */
int sg_ccw(struct simguest *g, unsigned slot, uint8_t cmd, uint8_t flags, void *buf, uint32_t count,
           struct glan_osa_io *io);

/* The bring-up, step by step (each returns 0 or a negative step error). */
int sg_sense_id(struct simguest *g, unsigned slot);
int sg_rcd(struct simguest *g);
int sg_idx_activate(struct simguest *g, unsigned slot, int read);
int sg_start_read(struct simguest *g);
int sg_cm_enable(struct simguest *g);
int sg_cm_setup(struct simguest *g);
int sg_ulp_enable(struct simguest *g, uint8_t prot);
int sg_ulp_setup(struct simguest *g);
int sg_establish(struct simguest *g);
int sg_activate(struct simguest *g);
int sg_dm_act(struct simguest *g);
/* Send an IPA command; reply copied into reply (may be NULL).  Returns the
 * IPA return code, or -1 when no proper reply came. */
int sg_ipa(struct simguest *g, uint8_t cmd, uint16_t prot, const void *data, uint16_t dlen,
           uint8_t *reply, uint32_t *reply_len);
int sg_startlan(struct simguest *g);
int sg_qipassist(struct simguest *g, uint16_t prot);
int sg_setadp_query(struct simguest *g);
int sg_read_mac(struct simguest *g);
int sg_setassparms(struct simguest *g, uint16_t prot, uint32_t assist, uint16_t cmd, uint32_t data,
                   int with_data);
int sg_init_input(struct simguest *g);
/* The whole sequence through SETIP of the given addresses (text, v4 or v6). */
int sg_bringup(struct simguest *g, const char *const *addrs);
int sg_setip(struct simguest *g, const char *addr, int del);
int sg_setipm(struct simguest *g, const char *group, int del);

/* Data path. */
struct sg_pkt {
    uint8_t flags; /* qeth header flags */
    const void *data;
    uint32_t len;
};
/* Put n packets in the next output buffer of the TX queue (split: header
 * in its own element; else header and data share the first page), prime it,
 * SIGA-w.  Returns the SLSB state the adapter left (0xa1 expected). */
int sg_send(struct simguest *g, const struct sg_pkt *p, unsigned n, int split);
/* Collect every datagram in primed input buffers, handing the buffers back
 * (0x41 + SIGA-r).  Returns how many; the first max are copied to out. */
int sg_recv(struct simguest *g, struct sg_rx *out, int max);
/* Build a minimal IPv4/UDP or IPv6/UDP datagram; returns its length. */
size_t sg_udp4(uint8_t *buf, const char *src, const char *dst, size_t payload, uint8_t fill);
size_t sg_udp6(uint8_t *buf, const char *src, const char *dst, size_t payload, uint8_t fill);

#endif
