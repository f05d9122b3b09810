/*
 * A simulated Linux qeth guest, layer 3 (qeth_l3) or layer 2 (qeth_l2), driving the OSA device
 * model (include/osa/guestlan/osa.h) byte for byte as Linux does.  It owns a block of "guest
 * storage" with storage keys, implements the host vtable (struct glan_osa_host_ops) over it like an
 * emulator would, and drives the adapter the way Linux's qeth/qdio drivers do: Sense ID, RCD, SSQD,
 * IDX ACTIVATE, CM/ULP ENABLE and SETUP, ESTABLISH/ACTIVATE QUEUES, DM ACT, the IPA start sequence,
 * then datagrams through real SBALs.  Users: the OSA unit suites and fuzz targets, `glan replay
 * --through-qdio` and `glan bench` (qdio row).
 *
 * The control blocks are built field by field (not copied from Linux) so
 * that they come out byte for byte as Linux's templates in
 * qeth_core_mpc.c; tests check the offsets Linux reads in the replies.
 * Files: simguest.c (host vtable, storage, life cycle, the bring-up
 * sequence), control.c (each control-path step), data.c (input and output
 * buffers, datagrams).  This header is the simulated guest layer's
 * interface to the tools and tests above it; its functions carry the
 * glan_sg_ prefix, its types the sg_ tag.
 */
#ifndef GLAN_SIMGUEST_H
#define GLAN_SIMGUEST_H

#include <stddef.h>
#include <stdint.h>

#include "guestlan/base.h"
#include "guestlan/osa.h"

#define SG_MEM_SIZE   (32u << 20) /* room for two sets of queues (a bring-up after a clear) */
#define SG_IN_BUFS    16          /* input buffers handed to the adapter */
#define SG_OUT_QUEUES 4
#define SG_TX_QUEUE   2  /* Linux's default output queue for IP on OSD */
#define SG_OUT_PAGES  16 /* guest pages per output buffer: 16 elements of 4 KiB */
/* The largest datagram glan_sg_send puts in one buffer (header on its first page). */
#define SG_MAX_SEND  (SG_OUT_PAGES * 4096 - 32)
#define SG_KEY_FETCH 0x10 /* in sg_host.keys[]: the frame is fetch-protected */

/* The emulator side: guest storage and what the device reported. */
struct sg_host {
    uint8_t *mem;
    size_t size;
    /* Storage key per 4 KiB frame: the key (0..15), | SG_KEY_FETCH when the
     * frame is fetch-protected. */
    uint8_t keys[SG_MEM_SIZE / 4096];
    int ended[GLAN_OSA_SLOTS]; /* ccw_end seen since last looked */
    uint8_t end_status[GLAN_OSA_SLOTS];
    uint32_t end_residual[GLAN_OSA_SLOTS];
    unsigned interrupts, thin_interrupts;
    unsigned mem_faults; /* accessor refusals (atomic: devices of other threads count too) */
    unsigned key_faults; /* of which protection (-EACCES) */
    /* SLSB accesses the device made without the ordering osa.h asks for
     * (a read without GLAN_OSA_MEM_ACQUIRE, a store without _RELEASE). */
    unsigned unordered;
    /* The device asked for glan_osa_resume (host op resume); glan_sg_pump
     * runs it.  resumes_asked counts the requests. */
    int resume_asked;
    unsigned resumes_asked;
    /* Optional: called at the start of every host->mem with its arguments,
     * in the device's thread, so a test can play a guest that rewrites its
     * storage while the device walks it. */
    void (*on_mem)(void *arg, uint64_t addr, size_t len, unsigned how);
    void *on_mem_arg;
    /* Optional: called after every interruption the device presents (the
     * count above already raised), in the device's thread, which may be
     * another than the guest's: a program that waits for input (`glan
     * simlan`) wakes on it instead of polling. */
    void (*on_interrupt)(void *arg);
    void *on_interrupt_arg;
    int verbose;
    /* The guest's time of day (ns since the Unix epoch): the device reads it
     * for every datagram sent (host op clock), and glan_sg_recv stamps what
     * it takes with it.  0: the host's CLOCK_REALTIME. */
    uint64_t clock_ns;
};

struct sg_rx {
    uint8_t flags;
    uint8_t ext_flags; /* of its layer-3 header: QETH_HDR_EXT_CSUM_* when verified */
    uint16_t len;
    uint64_t ts_ns;          /* the guest's clock when it took the datagram */
    uint8_t data[9216 + 64]; /* its first bytes */
    /* Set by the caller, or NULL: room for a whole datagram of up to big_cap
     * bytes (a large one, up to 16 elements of the input buffer); a
     * datagram that fits is copied there whole too. */
    uint8_t *big;
    uint32_t big_cap;
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
    uint64_t out_pages; /* 128 x SG_OUT_PAGES pages for the TX queue */
    uint8_t qkeys;      /* key used in the QDR/QDES, high nibble */
    unsigned in_next, out_next;
    uint64_t brk; /* bump allocator in guest storage */
    int use_thin;
    /* Layer 2 (qeth_l2, ULP ENABLE protocol 08): set before glan_sg_start.
     * Frames then go out and come in with the layer-2 header; sg_pkt.flags
     * and sg_rx.flags are unused and its cast flags (QETH_L2_*). */
    int layer2;
    /* The cause of an IDX TERMINATE the adapter answered with, or 0. */
    uint8_t idx_term_cause;
    /* The flags of the last SETADAPTERPARMS reply. */
    uint8_t setadp_flags;
    /* A HiperSockets card (Sense ID models 05, set by glan_sg_sense_id):
     * the guest then does what Linux's qeth does for an IQD card: IDX
     * function level 0x4108 (idx_level, when set, instead), MTU from ULP ENABLE's frame-size code,
     * queues of format 2 with thin interrupts, four output queues (the last for multicast), no IPv6
     * assist started, CREATE_ADDR for its MAC, input buffers of MTU + 8 KiB. */
    int iqd;
    uint16_t idx_level;
    uint16_t frame_code; /* the ULP ENABLE code an IQD answered */
};

/* Make a guest and its adapter on lan.  name "0600" etc. NULL on failure. */
struct simguest *glan_sg_create(struct glan_lan *lan, const char *name, uint16_t devnum);
void glan_sg_destroy(struct simguest *g);
/* Reset the adapter (all subchannels cleared) and forget the guest's
 * queues and tokens, reusing its storage from the start: the fuzz targets
 * bring one guest up again and again. */
void glan_sg_reset(struct simguest *g);

/* Guest storage helpers. */
uint64_t glan_sg_alloc(struct simguest *g, size_t len, size_t align);
void *glan_sg_ptr(struct simguest *g, uint64_t addr);

/* One CCW on a slot; returns GLAN_OSA_DONE/PENDING, io filled. */
int glan_sg_ccw(struct simguest *g, unsigned slot, uint8_t cmd, uint8_t flags, void *buf,
                uint32_t count, struct glan_osa_io *io);

/* The bring-up, step by step (each returns 0 or a negative step error). */
int glan_sg_sense_id(struct simguest *g, unsigned slot);
int glan_sg_rcd(struct simguest *g);
int glan_sg_idx_activate(struct simguest *g, unsigned slot, int read);
int glan_sg_start_read(struct simguest *g);
int glan_sg_cm_enable(struct simguest *g);
int glan_sg_cm_setup(struct simguest *g);
int glan_sg_ulp_enable(struct simguest *g, uint8_t prot);
int glan_sg_ulp_setup(struct simguest *g);
int glan_sg_establish(struct simguest *g);
int glan_sg_activate(struct simguest *g);
/* ESTABLISH and ACTIVATE QUEUES again over the queues glan_sg_establish set
 * up (no new storage), as a driver does after a halt or clear of its data
 * subchannel; the caller resets its SLSBs and out_next/in_next first. */
int glan_sg_requeue(struct simguest *g);
int glan_sg_dm_act(struct simguest *g);
/* Send an IPA command; reply copied into reply (may be NULL).  Returns the
 * IPA return code, or -1 when no proper reply came. */
int glan_sg_ipa(struct simguest *g, uint8_t cmd, uint16_t prot, const void *data, uint16_t dlen,
                uint8_t *reply, uint32_t *reply_len);
int glan_sg_startlan(struct simguest *g);
int glan_sg_qipassist(struct simguest *g, uint16_t prot);
int glan_sg_setadp_query(struct simguest *g);
int glan_sg_read_mac(struct simguest *g);
int glan_sg_setassparms(struct simguest *g, uint16_t prot, uint32_t assist, uint16_t cmd,
                        uint32_t data, int with_data);
/* Turn an offload on or off as Linux 6.1's qeth does when `ethtool -K`
 * asks (qeth_set_csum_on/off, qeth_set_tso_on/off): assist is
 * IPA_INBOUND_CHECKSUM, IPA_OUTBOUND_CHECKSUM or IPA_OUTBOUND_TSO, prot 4 or
 * 6.  On: START, check the capabilities answered, ENABLE with what Linux
 * asks for, check them enabled (a failure STOPs again).  0; -95
 * (EOPNOTSUPP) when the answers do not satisfy Linux; an IPA return code;
 * -1 when no proper reply came.  *mss (may be NULL) gets TSO START's MSS. */
int glan_sg_offload(struct simguest *g, uint16_t prot, uint32_t assist, int on, uint32_t *mss);
int glan_sg_init_input(struct simguest *g);
/* The whole sequence through SETIP of the given addresses (text, v4 or v6),
 * CREATE_ADDR and the all-nodes groups (224.0.0.1, ff02::1), as Linux. */
int glan_sg_bringup(struct simguest *g, const char *const *addrs);
/* The same in parts, for a caller that handles each SETIP's return code
 * itself and joins only the groups it wants: glan_sg_start does everything
 * up to the addresses (Sense ID through SETRTG), glan_sg_create_addr the
 * IPv6 unique id Linux asks for after them. */
int glan_sg_start(struct simguest *g);
int glan_sg_create_addr(struct simguest *g);
int glan_sg_setip(struct simguest *g, const char *addr, int del);
int glan_sg_setipm(struct simguest *g, const char *group, int del);
/* Layer 2: SETVMAC/DELVMAC (a unicast MAC), SETGMAC/DELGMAC (a group MAC),
 * SETVLAN/DELVLAN.  The IPA return code, or -1. */
int glan_sg_setmac(struct simguest *g, const uint8_t mac[6], int del);
int glan_sg_setvlan(struct simguest *g, uint16_t vid, int del);
/* Layer 2: the bring-up qeth_l2 does (glan_sg_start in layer 2, then
 * SETVMAC of the MAC read from the adapter).  0, -5 when the adapter
 * refused the layer (IDX TERMINATE, idx_term_cause), or another step
 * error. */
int glan_sg_bringup_l2(struct simguest *g);

/* Data path. */
struct sg_pkt {
    uint8_t flags; /* qeth header flags */
    const void *data;
    uint32_t len;
    /* Offloads, as qeth_l3 and qeth_l2 ask for them: ext_flags of the
     * layer-3 header (QETH_HDR_EXT_CSUM_*; layer 2: its second flags byte);
     * with mss nonzero a TSO header (id 3, layer 2 id 6, and its extension)
     * instead, the datagram's IP and TCP headers (layer 2: the frame's
     * headers) in the element with it as qeth_xmit puts them. */
    uint8_t ext_flags;
    uint16_t mss;
};
/* The SLSB state an adapter leaves an output buffer in once it has taken
 * every datagram of it: output, owned by the program, empty (0xa1). */
#define SG_SENT 0xa1 /* SLSB_P_OUTPUT_EMPTY of osa_wire.h; data.c checks they agree */
/* Put n packets in the next output buffer of the TX queue (split: header
 * in its own element; else header and data share the first page), prime it,
 * SIGA-w.  Returns the SLSB state the adapter left (SG_SENT expected;
 * SLSB_CU_OUTPUT_PRIMED, 0x62, while the walk waits for a receiver's room),
 * -1 when that buffer is still primed from before.  The resumes the device
 * asked for run first and after the SIGA (glan_sg_pump). */
int glan_sg_send(struct simguest *g, const struct sg_pkt *p, unsigned n, int split);
/* Run the resumes the device asked for (host op resume) until it asks no
 * more; returns how many ran.  glan_sg_send does it after its SIGA-w. */
int glan_sg_pump(struct simguest *g);
/* Collect every datagram in primed input buffers, handing the buffers back
 * (0x41 + SIGA-r).  Returns how many; the first max are copied to out. */
int glan_sg_recv(struct simguest *g, struct sg_rx *out, int max);
/* The layer-3 header flags Linux's qeth_l3 gives a datagram it sends: IPv6
 * or not from the version, the cast from the destination (multicast, the
 * limited broadcast 255.255.255.255, else unicast; a subnet-directed
 * broadcast needs the routing table, which this guest does not have). */
uint8_t glan_sg_l3_flags(const void *ip, size_t len);
/* Send one IP datagram as this guest's qeth would: in layer 3 with the
 * flags above (dmac unused), in layer 2 in an Ethernet frame from the
 * guest's MAC to dmac (datagrams of up to 9216 bytes).  Returns what
 * glan_sg_send returns (SG_SENT when the adapter took it), or -1 when the
 * datagram is too large to frame. */
int glan_sg_send_ip(struct simguest *g, const uint8_t dmac[6], const void *ip, size_t len);
/* Build a minimal IPv4/UDP or IPv6/UDP datagram; returns its length. */
size_t glan_sg_udp4(uint8_t *buf, const char *src, const char *dst, size_t payload, uint8_t fill);
size_t glan_sg_udp6(uint8_t *buf, const char *src, const char *dst, size_t payload, uint8_t fill);

#endif
