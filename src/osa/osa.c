/*
 * The OSA-Express group, the channel side: life cycle, the channel command
 * dispatcher, IDX ACTIVATE, the MPC handshake (CM ENABLE, CM SETUP, ULP
 * ENABLE, ULP SETUP, DM ACT), the control reply queue read by the read
 * subchannel, halt/clear/reset and the counters.  It is the top of the
 * device model's calls (osa_int.h): Sense ID and RCD come from ident.c, IPA
 * blocks go to ipa.c, whose replies are queued here, and ESTABLISH/ACTIVATE
 * QUEUES and everything on the queues to qdio.c.
 *
 * The channel (the host) hands each CCW's data over in a buffer, so this
 * file never touches guest storage; it reaches the host only to end a CCW
 * it had left pending (a READ waiting for a reply, ACTIVATE QUEUES).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guestlan/controller.h"
#include "guestlan/osa_mpc.h"
#include "osa_int.h"

/* Adapter tokens handed to the guest.  Any value but one starting "00S"
 * (Linux reads that as the OLM limit) will do; distinct ones help traces. */
static const uint8_t tok_issuer[4] = {'G', 'L', 'I', '1'};
static const uint8_t tok_cm_filter[4] = {'G', 'L', 'C', 'F'};
static const uint8_t tok_cm_conn[4] = {'G', 'L', 'C', 'C'};
static const uint8_t tok_ulp_filter[4] = {'G', 'L', 'U', 'F'};
static const uint8_t tok_ulp_conn[4] = {'G', 'L', 'U', 'C'};
/* Microcode level in IDX replies: first byte 0 marks it as OSA-style. */
static const uint8_t idx_mcl[4] = {0x00, 0x00, 0x01, 0x00};
/* A HiperSockets card's: EBCDIC "GL01" (first byte with 0x80 set). */
static const uint8_t idx_mcl_iqd[4] = {0xc7, 0xd3, 0xf0, 0xf1};

/* Tell the LAN's controller (include/base/guestlan/controller.h) when the
 * interface starts or stops.  "Started" is STARTLAN done with the queues
 * active: the state in which the guest exchanges datagrams, whatever order
 * it did the two in; STOPLAN, a halt of the data subchannel, a clear of the
 * read or write channel, reset and destroy all end it.  Called with ctl held
 * after every change, so the events of one interface come in order. */
static void ctl_sync(struct glan_osa *osa)
{
    int up = osa->lan_started && osa->qstate == QDIO_ACTIVE;
    if (up == osa->ctl_started)
        return;
    osa->ctl_started = up;
    glan_ctl_port_event(osa->port, osa->name, up);
}

struct glan_osa *glan_osa_create(struct glan_lan *lan, const struct glan_osa_config *cfg,
                                 const struct glan_osa_host_ops *ops, void *host, char *err,
                                 size_t errlen)
{
    if (!lan || !cfg || !ops || !ops->mem || !ops->interrupt || !ops->ccw_end) {
        snprintf(err, errlen, "osa: missing LAN, configuration or host operation");
        return NULL;
    }
    if (!cfg->name || !cfg->name[0] || strlen(cfg->name) > 31) {
        snprintf(err, errlen, "osa: name must have 1..31 characters");
        return NULL;
    }
    if (cfg->out_queues > OSA_MAX_OUTQ) {
        snprintf(err, errlen, "osa: at most %d output queues", OSA_MAX_OUTQ);
        return NULL;
    }
    struct glan_osa *osa = calloc(1, sizeof *osa);
    if (!osa) {
        snprintf(err, errlen, "osa: out of memory");
        return NULL;
    }
    osa->ops = ops;
    osa->host = host;
    osa->cfg = *cfg;
    snprintf(osa->name, sizeof osa->name, "%s", cfg->name);
    osa->cfg.name = osa->name;
    if (!osa->cfg.out_queues)
        osa->cfg.out_queues = 4;
    struct glan_lan_config lc;
    glan_lan_get_config(lan, &lc);
    /* The largest MTU the guest may set (Linux's qeth takes the ULP ENABLE
     * figure as the interface's max_mtu for an OSA, and starts a layer-3
     * interface at 1492): what the LAN's largest buffers hold, and no more
     * than 57344, which 16 elements of 4 KiB carry with the header (the
     * input buffers qeth gives an OSA). */
    if (!osa->cfg.mtu || osa->cfg.mtu > GLAN_OSA_MAX_MTU)
        osa->cfg.mtu = GLAN_OSA_MAX_MTU;
    if (osa->cfg.mtu > lc.big_size)
        osa->cfg.mtu = (uint16_t)lc.big_size;
    /* On a HIPERS LAN the adapter is a HiperSockets card, whose MTU is the
     * one Linux makes of the LAN's maximum frame size (docs/osa.md,
     * "HiperSockets"), and the interface starts at it. */
    if (glan_lan_type(lan) == GLAN_LAN_HIPERS) {
        uint32_t mtu = glan_mfs_mtu(lc.mfs);
        if (!mtu || mtu > lc.big_size) {
            snprintf(err, errlen,
                     "osa: LAN %s: no HiperSockets frame size fits (mfs %uk, bigsize %u)",
                     glan_lan_name(lan), lc.mfs, lc.big_size);
            free(osa);
            return NULL;
        }
        osa->iqd = 1;
        osa->cfg.mtu = (uint16_t)mtu;
        osa->iqd_frame = osa_iqd_frame_code(mtu);
    }
    osa->data_slot = -1;
    pthread_mutex_init(&osa->ctl, NULL);
    pthread_mutex_init(&osa->out, NULL);
    pthread_mutex_init(&osa->in, NULL);

    /* The largest datagram the guest may send is the largest it takes: the
     * MTU the device reports (ULP ENABLE), which the base holds larger
     * datagrams for this port to (path MTU). */
    struct glan_port_info info = {.name = osa->name, .kind = GLAN_PORT_GUEST, .mtu = osa->cfg.mtu};
    int rc = glan_port_attach(lan, &info, ops->resume ? &osa_port_ops_wait : &osa_port_ops, osa,
                              &osa->port);
    if (rc < 0) {
        snprintf(err, errlen, "osa %s: cannot attach to LAN %s: %s", osa->name, glan_lan_name(lan),
                 strerror(-rc));
        pthread_mutex_destroy(&osa->ctl);
        pthread_mutex_destroy(&osa->out);
        pthread_mutex_destroy(&osa->in);
        free(osa);
        return NULL;
    }
    static const uint8_t zero[6];
    if (memcmp(cfg->mac, zero, 6) == 0)
        osa_mac_for_port(osa->port, glan_port_index(osa->port), osa->mac);
    else
        memcpy(osa->mac, cfg->mac, 6);
    return osa;
}

void glan_osa_destroy(struct glan_osa *osa)
{
    if (!osa)
        return;
    glan_osa_reset(osa);
    /* Detach waits until no sender is inside deliver/flush any more. */
    glan_port_detach(osa->port);
    pthread_mutex_destroy(&osa->ctl);
    pthread_mutex_destroy(&osa->out);
    pthread_mutex_destroy(&osa->in);
    glan_offload_state_free(&osa->off);
    free(osa);
}

struct glan_port *glan_osa_port(struct glan_osa *osa)
{
    return osa->port;
}

/* ---- status helpers ------------------------------------------------------- */

static void done(struct glan_osa_io *io, uint32_t transferred)
{
    io->unitstat = GLAN_OSA_US_CE | GLAN_OSA_US_DE;
    io->residual = transferred <= io->count ? io->count - transferred : 0;
    io->more = 0;
}

static void unit_check(struct glan_osa *osa, unsigned slot, struct glan_osa_io *io, uint8_t sense0)
{
    memset(osa->slot[slot].sense, 0, sizeof osa->slot[slot].sense);
    osa->slot[slot].sense[0] = sense0;
    io->unitstat = GLAN_OSA_US_CE | GLAN_OSA_US_DE | GLAN_OSA_US_UC;
    io->residual = io->count;
    io->more = 0;
    OSA_INC(osa, unit_checks);
}

/* Copy what a read-type CCW returns into its buffer. */
static void give(struct glan_osa_io *io, const void *data, uint32_t len)
{
    uint32_t n = len < io->count ? len : io->count;
    if (n)
        memcpy(io->buf, data, n);
    done(io, n);
    io->more = len > io->count;
}

/* ---- the control reply queue ----------------------------------------------- */

/* End the pending READ of the read slot with the oldest reply, if both exist.
 * Caller holds ctl. */
static void complete_read(struct glan_osa *osa)
{
    for (unsigned s = 0; s < GLAN_OSA_SLOTS; s++) {
        struct osa_slot *sl = &osa->slot[s];
        if (sl->role != ROLE_READ || sl->pending != CCW_CMD_READ || !osa->rq_count)
            continue;
        struct osa_reply *r = &osa->replies[osa->rq_head];
        give(&sl->pio, r->data, r->len);
        osa->rq_head = (osa->rq_head + 1) % OSA_REPLY_QUEUE;
        osa->rq_count--;
        sl->pending = 0;
        osa->ops->ccw_end(osa->host, s, sl->pio.unitstat, sl->pio.residual);
    }
}

static void queue_reply(struct glan_osa *osa, const uint8_t *data, uint32_t len)
{
    if (len > OSA_REPLY_MAX || osa->rq_count == OSA_REPLY_QUEUE) {
        OSA_INC(osa, replies_dropped);
        osa_log(osa, "control reply dropped (queue full or too long)");
        return;
    }
    struct osa_reply *r = &osa->replies[(osa->rq_head + osa->rq_count) % OSA_REPLY_QUEUE];
    memcpy(r->data, data, len);
    r->len = len;
    /* The transport sequence number counts the blocks the adapter sent. */
    put32(r->data + offsetof(struct mpc_th, seq), ++osa->th_seq);
    osa->rq_count++;
    complete_read(osa);
}

/* An IDX TERMINATE with cause, queued as a control reply (no transport
 * sequence number: it is no MPC block). */
static void idx_terminate(struct glan_osa *osa, uint8_t cause)
{
    if (osa->rq_count == OSA_REPLY_QUEUE) {
        OSA_INC(osa, replies_dropped);
        return;
    }
    struct osa_reply *r = &osa->replies[(osa->rq_head + osa->rq_count) % OSA_REPLY_QUEUE];
    memset(r->data, 0, 32);
    r->data[2] = IDX_TERMINATE;
    r->data[4] = cause;
    r->len = 32;
    osa->rq_count++;
    complete_read(osa);
}

/* ---- IDX ACTIVATE ------------------------------------------------------------ */

static int read_slot(const struct glan_osa *osa)
{
    for (unsigned s = 0; s < GLAN_OSA_SLOTS; s++)
        if (osa->slot[s].role == ROLE_READ && osa->slot[s].idx_active)
            return (int)s;
    return -1;
}

static int write_slot(const struct glan_osa *osa)
{
    for (unsigned s = 0; s < GLAN_OSA_SLOTS; s++)
        if (osa->slot[s].role == ROLE_WRITE && osa->slot[s].idx_active)
            return (int)s;
    return -1;
}

static void idx_activate(struct glan_osa *osa, unsigned slot, struct glan_osa_io *io)
{
    struct osa_slot *sl = &osa->slot[slot];
    struct idx_activate req;
    memcpy(&req, io->buf, sizeof req);
    struct idx_activate rep = req;
    uint8_t cause = 0;
    enum slot_role want = req.type == IDX_TYPE_READ    ? ROLE_READ
                          : req.type == IDX_TYPE_WRITE ? ROLE_WRITE
                                                       : ROLE_NONE;
    int other = want == ROLE_READ ? read_slot(osa) : want == ROLE_WRITE ? write_slot(osa) : -1;
    /* The function level is not checked: Linux sends 0x0101, other stacks
     * the 0x0000 (read) / 0xffff (write) of the original templates, and a
     * real OSD answers all of them with 0x0201. */
    if (want == ROLE_NONE || (req.port & 0x3f) != 0)
        cause = 0x01; /* not a request we serve: port 0 only */
    else if ((other >= 0 && other != (int)slot) || (int)slot == osa->data_slot ||
             (sl->idx_active && sl->role != want))
        cause = IDX_CAUSE_EXCL;

    if (cause) {
        OSA_INC(osa, mpc_bad);
        osa_log(osa, "IDX ACTIVATE type %02x on slot %u refused (cause %02x)", req.type, slot,
                cause);
        rep.type = (uint8_t)(req.type & ~3u);
        rep.cause = cause;
    } else {
        sl->role = want;
        sl->idx_active = 1;
        if (want == ROLE_READ)
            memcpy(osa->guest_issuer_token, req.token, 4);
        rep.type = (uint8_t)((req.type & ~3u) | IDX_POSITIVE);
        memcpy(rep.token, tok_issuer, 4);
        /* A HiperSockets card answers the level derived from the guest's
         * (which Linux builds from its channel path's descriptor), and
         * gives its microcode level in EBCDIC, as qeth shows an IQD's. */
        put16(rep.func_level,
              osa->iqd ? osa_iqd_peer_level(be16(req.func_level)) : IDX_FUNC_LEVEL_REPLY);
        memcpy(rep.mcl, osa->iqd ? idx_mcl_iqd : idx_mcl, 4);
    }
    memcpy(sl->idx_reply, &rep, sizeof rep);
    sl->idx_reply_len = sizeof rep;
    done(io, io->count);
}

/* ---- MPC --------------------------------------------------------------------- */

/* Start a reply block: TH, RRH and PH as Linux's templates lay them out,
 * for the guest's issuer token, then a PUK header; returns the offset of
 * its first segment.  osa_mpc_finalize() does the lengths. */
static uint32_t reply_begin(struct glan_osa *osa, uint8_t *b, uint8_t rrh_type, uint8_t what,
                            uint8_t puk_type)
{
    osa_mpc_start(b, MPC_TH_UNIT_ADAPTER, rrh_type, RRH_PROTO_PUK, osa->guest_issuer_token);
    return osa_mpc_puk(b, MPC_PDU_OFFSET, what, puk_type);
}

/* The reply block is complete at end: lengths in, onto the queue. */
static void reply_end(struct glan_osa *osa, uint8_t *b, uint32_t end)
{
    osa_mpc_finalize(b, end);
    queue_reply(osa, b, end);
}

/* Append a PUS {length, 0x04, type, data}; returns the new end. */
static uint32_t pus(uint8_t *b, uint32_t off, uint8_t type, const uint8_t *data, uint32_t dlen)
{
    put16(b + off, (uint16_t)(4 + dlen));
    b[off + 2] = 0x04;
    b[off + 3] = type;
    memcpy(b + off + 4, data, dlen);
    return off + 4 + dlen;
}

/* The token-carrying segments: PUS 01 {proto, 04, 05, token} and
 * PUS 04/08 {05, token}, laid out so the tokens land where Linux reads. */
static uint32_t pus_filter(uint8_t *b, uint32_t off, uint8_t proto, const uint8_t tok[4])
{
    uint8_t d[7] = {proto, 0x04, 0x05, tok[0], tok[1], tok[2], tok[3]};
    return pus(b, off, PUS_01, d, sizeof d);
}

static uint32_t pus_token(uint8_t *b, uint32_t off, uint8_t type, const uint8_t tok[4])
{
    uint8_t d[5] = {0x05, tok[0], tok[1], tok[2], tok[3]};
    return pus(b, off, type, d, sizeof d);
}

/* A request's PDU: where its headers say it is, checked against the block. */
struct mpc_req {
    const uint8_t *pdu;
    uint32_t len; /* bytes from pdu to the end of the block */
};

/* The PUS of `type` in the request's PUK, at least minlen bytes long, or
 * NULL.  Segments are found by walking their lengths, as an adapter must:
 * their order and the headers' sizes are the sender's business. */
static const uint8_t *find_pus(const struct mpc_req *r, uint8_t type, uint32_t minlen)
{
    if (r->len < sizeof(struct mpc_puk))
        return NULL;
    const struct mpc_puk *puk = (const struct mpc_puk *)r->pdu;
    uint32_t end = sizeof *puk + be16(puk->total);
    if (end > r->len)
        end = r->len;
    for (uint32_t off = sizeof *puk; off + 4 <= end;) {
        uint32_t l = be16(r->pdu + off);
        if (l < 4 || l > end - off)
            return NULL;
        if (r->pdu[off + 3] == type)
            return l >= minlen ? r->pdu + off : NULL;
        off += l;
    }
    return NULL;
}

/* Request fields, as offsets into their PUS (qeth_core_mpc.c layouts:
 * PUS 01 {len, 04 01, protocol, 04 05, token}, PUS 04/05 {len, 04 0x, 05,
 * token}). */
enum { PUS01_PROT = 4, PUS01_TOKEN = 7, PUS0X_TOKEN = 5 };

static int cm_enable(struct glan_osa *osa, const struct mpc_req *r)
{
    const uint8_t *p01 = find_pus(r, PUS_01, PUS01_TOKEN + 4);
    if (!p01)
        return -EINVAL;
    memcpy(osa->guest_cm_filter, p01 + PUS01_TOKEN, 4);
    uint8_t b[256];
    uint32_t end = reply_begin(osa, b, RRH_TYPE_CM, 0x41, PUK_ENABLE);
    end = pus_filter(b, end, 0x7e, tok_cm_filter);
    /* PUS 02: the user data of the request, echoed. */
    uint8_t user[8] = {0};
    const uint8_t *p02 = find_pus(r, PUS_02, 12);
    if (p02)
        memcpy(user, p02 + 4, 8);
    end = pus(b, end, PUS_02, user, sizeof user);
    osa->mpc = MPC_CM_ENABLED;
    reply_end(osa, b, end);
    return 0;
}

static int cm_setup(struct glan_osa *osa, const struct mpc_req *r)
{
    const uint8_t *p04 = find_pus(r, PUS_04, PUS0X_TOKEN + 4);
    if (!p04)
        return -EINVAL;
    memcpy(osa->guest_cm_conn, p04 + PUS0X_TOKEN, 4);
    uint8_t b[256];
    uint32_t end = reply_begin(osa, b, RRH_TYPE_CM, 0x41, PUK_CONFIRM);
    end = pus_token(b, end, PUS_04, osa->guest_cm_conn);
    end = pus_token(b, end, PUS_08, tok_cm_conn);
    static const uint8_t p07[2] = {0xc8, 0x00};
    end = pus(b, end, PUS_07, p07, sizeof p07);
    osa->mpc = MPC_CM_SETUP;
    reply_end(osa, b, end);
    return 0;
}

static int ulp_enable(struct glan_osa *osa, const struct mpc_req *r)
{
    const uint8_t *p01 = find_pus(r, PUS_01, PUS01_TOKEN + 4);
    if (!p01)
        return -EINVAL;
    osa->layer = p01[PUS01_PROT];
    memcpy(osa->guest_ulp_filter, p01 + PUS01_TOKEN, 4);
    if (!osa_l2_layer_ok(osa, osa->layer)) {
        /* As z/VM answers a guest of the layer its LAN does not carry: an
         * IDX TERMINATE on the read channel, after which qeth gives up
         * setting the card online ("The device does not support the
         * configured transport mode"). */
        idx_terminate(osa, IDX_TERM_BAD_TRANSPORT_VM);
        return 0;
    }
    uint8_t b[256];
    uint32_t end = reply_begin(osa, b, RRH_TYPE_ULP, 0x41, PUK_ENABLE);
    end = pus_filter(b, end, osa->layer, tok_ulp_filter);
    /* PUS 0A: 0x18 bytes, so that Linux reads the link type too
     * (QETH_MPC_DIFINFO_LEN_INDICATES_LINK_TYPE); its first word echoed. */
    uint8_t p0a[0x14] = {0};
    const uint8_t *q0a = find_pus(r, PUS_0A, 8);
    if (q0a)
        memcpy(p0a, q0a + 4, 4);
    /* An OSA gives its MTU, a HiperSockets card its frame-size code,
     * which Linux turns into the MTU (osa_iqd_frame_code). */
    put16(p0a + 4, osa->iqd ? osa->iqd_frame : osa->cfg.mtu);
    p0a[0x10] = LINK_TYPE_GBIT_ETH;
    end = pus(b, end, PUS_0A, p0a, sizeof p0a);
    osa->mpc = MPC_ULP_ENABLED;
    reply_end(osa, b, end);
    return 0;
}

static int ulp_setup(struct glan_osa *osa, const struct mpc_req *r)
{
    const uint8_t *p04 = find_pus(r, PUS_04, PUS0X_TOKEN + 4);
    if (!p04)
        return -EINVAL;
    memcpy(osa->guest_ulp_conn, p04 + PUS0X_TOKEN, 4);
    uint8_t b[256];
    uint32_t end = reply_begin(osa, b, RRH_TYPE_ULP, 0x41, PUK_CONFIRM);
    end = pus_token(b, end, PUS_04, osa->guest_ulp_conn);
    end = pus_token(b, end, PUS_08, tok_ulp_conn);
    static const uint8_t p07[2] = {0x40, 0x00};
    end = pus(b, end, PUS_07, p07, sizeof p07);
    /* PUS 0B: the data device's address, echoed. */
    uint8_t p0b[4] = {0};
    const uint8_t *q0b = find_pus(r, PUS_0B, 8);
    if (q0b)
        memcpy(p0b, q0b + 4, 4);
    end = pus(b, end, PUS_0B, p0b, sizeof p0b);
    osa->mpc = MPC_ULP_SETUP;
    reply_end(osa, b, end);
    return 0;
}

static void dm_act(struct glan_osa *osa)
{
    uint8_t b[256];
    uint32_t end = reply_begin(osa, b, RRH_TYPE_ULP, 0x43, PUK_DM_ACT);
    end = pus_token(b, end, PUS_04, osa->guest_ulp_conn);
    osa->mpc = MPC_DM_ACT;
    reply_end(osa, b, end);
}

/* A control block on the write channel.  Returns 0, or -EINVAL when it is
 * malformed (the WRITE then ends with a unit check). */
static int mpc_command(struct glan_osa *osa, const uint8_t *c, uint32_t len)
{
    OSA_INC(osa, mpc_cmds);
    if (len < sizeof(struct mpc_th))
        return -EINVAL;
    const struct mpc_th *th = (const struct mpc_th *)c;
    uint32_t total = be32(th->length);
    uint32_t offrrh = be32(th->offrrh);
    if (total > len || offrrh < sizeof *th || offrrh > total ||
        total - offrrh < offsetof(struct mpc_rrh, token) + 4)
        return -EINVAL;
    const struct mpc_rrh *rrh = (const struct mpc_rrh *)(c + offrrh);
    /* The PH and the PDU: where Linux's PDU_ENCAPSULATION() looks, found
     * through the offsets the sender put in; a sane block keeps them below
     * 1 KiB, which also bounds what an IPA reply may grow to. */
    uint32_t offph = offrrh + be16(rrh->offph);
    if (offph < offrrh + 0x12 || offph + sizeof(struct mpc_ph) > total)
        return -EINVAL;
    uint32_t pdu = be32(((const struct mpc_ph *)(c + offph))->offdata);
    if (pdu < offph + sizeof(struct mpc_ph) || pdu > 0x400 || pdu >= total)
        return -EINVAL;
    if (rrh->type == RRH_TYPE_IPA) {
        if (osa->mpc < MPC_ULP_SETUP)
            return -EINVAL;
        uint8_t reply[OSA_REPLY_MAX];
        uint32_t rlen = osa_ipa(osa, c, total, pdu, reply);
        if (rlen)
            queue_reply(osa, reply, rlen);
        return 0;
    }
    struct mpc_req r = {.pdu = c + pdu, .len = total - pdu};
    if (r.len < sizeof(struct mpc_puk))
        return -EINVAL;
    const struct mpc_puk *puk = (const struct mpc_puk *)r.pdu;
    switch (rrh->type << 16 | puk->what << 8 | puk->type) {
    case RRH_TYPE_CM << 16 | 0x41 << 8 | PUK_ENABLE:
        return cm_enable(osa, &r);
    case RRH_TYPE_CM << 16 | 0x41 << 8 | PUK_SETUP:
        return osa->mpc < MPC_CM_ENABLED ? -EINVAL : cm_setup(osa, &r);
    case RRH_TYPE_ULP << 16 | 0x41 << 8 | PUK_ENABLE:
        return osa->mpc < MPC_CM_SETUP ? -EINVAL : ulp_enable(osa, &r);
    case RRH_TYPE_ULP << 16 | 0x41 << 8 | PUK_SETUP:
        return osa->mpc < MPC_ULP_ENABLED ? -EINVAL : ulp_setup(osa, &r);
    case RRH_TYPE_ULP << 16 | 0x43 << 8 | PUK_DM_ACT:
        if (osa->mpc < MPC_ULP_SETUP)
            return -EINVAL;
        dm_act(osa);
        return 0;
    default:
        /* TAKEDOWN, DISABLE and the like: taken without a reply, as a real
         * OSA does when the host tears a connection down. */
        osa_log(osa, "MPC %02x/%02x/%02x taken without reply", rrh->type, puk->what, puk->type);
        return 0;
    }
}

/* ---- the CCW dispatcher ------------------------------------------------------ */

static void ccw_write(struct glan_osa *osa, unsigned slot, struct glan_osa_io *io)
{
    if (io->count < 4) {
        unit_check(osa, slot, io, GLAN_OSA_SENSE_CMDREJ);
        return;
    }
    uint32_t word = be32(io->buf);
    if (word == IDX_ACTIVATE_ID) {
        if (io->count < IDX_ACTIVATE_SIZE) {
            OSA_INC(osa, mpc_bad);
            unit_check(osa, slot, io, GLAN_OSA_SENSE_CMDREJ);
            return;
        }
        idx_activate(osa, slot, io);
        return;
    }
    if (word == IDX_SHUTDOWN_ID) { /* z/OS shutdown notice */
        done(io, io->count);
        return;
    }
    if (word != MPC_TH_ID || osa->slot[slot].role != ROLE_WRITE || !osa->slot[slot].idx_active ||
        read_slot(osa) < 0) {
        OSA_INC(osa, mpc_bad);
        unit_check(osa, slot, io, GLAN_OSA_SENSE_CMDREJ);
        return;
    }
    if (mpc_command(osa, io->buf, io->count) < 0) {
        OSA_INC(osa, mpc_bad);
        osa_log(osa, "malformed control block on slot %u", slot);
        unit_check(osa, slot, io, GLAN_OSA_SENSE_CMDREJ);
        return;
    }
    done(io, io->count);
}

static int ccw_read(struct glan_osa *osa, unsigned slot, struct glan_osa_io *io)
{
    struct osa_slot *sl = &osa->slot[slot];
    if (sl->idx_reply_len) {
        give(io, sl->idx_reply, (uint32_t)sl->idx_reply_len);
        sl->idx_reply_len = 0;
        return GLAN_OSA_DONE;
    }
    if (sl->role != ROLE_READ || !sl->idx_active || sl->pending) {
        unit_check(osa, slot, io, GLAN_OSA_SENSE_CMDREJ);
        return GLAN_OSA_DONE;
    }
    if (osa->rq_count) { /* a reply waits already: no need to pend */
        struct osa_reply *r = &osa->replies[osa->rq_head];
        osa->rq_head = (osa->rq_head + 1) % OSA_REPLY_QUEUE;
        osa->rq_count--;
        give(io, r->data, r->len);
        return GLAN_OSA_DONE;
    }
    /* complete_read() ends it when the write channel queues a reply. */
    sl->pio = *io;
    sl->pending = CCW_CMD_READ;
    return GLAN_OSA_PENDING;
}

int glan_osa_exec(struct glan_osa *osa, unsigned slot, struct glan_osa_io *io)
{
    if (slot >= GLAN_OSA_SLOTS)
        return -EINVAL;
    OSA_INC(osa, ccws);
    int rc = GLAN_OSA_DONE;
    pthread_mutex_lock(&osa->ctl);
    switch (io->cmd) {
    case CCW_CMD_SENSE_ID: {
        uint8_t id[28];
        give(io, id, (uint32_t)osa_sense_id(osa, id));
        break;
    }
    case CCW_CMD_NOP:
        done(io, 0);
        break;
    case CCW_CMD_SENSE:
        give(io, osa->slot[slot].sense, 32);
        memset(osa->slot[slot].sense, 0, 32);
        break;
    case CCW_CMD_RCD: {
        uint8_t r[RCD_SIZE];
        give(io, r, (uint32_t)glan_osa_rcd(osa, slot, r));
        break;
    }
    case CCW_CMD_SII:
        done(io, io->count);
        break;
    case CCW_CMD_WRITE:
        ccw_write(osa, slot, io);
        break;
    case CCW_CMD_READ:
        rc = ccw_read(osa, slot, io);
        break;
    case CCW_CMD_EQUEUE:
        if ((osa->slot[slot].role != ROLE_NONE && osa->slot[slot].role != ROLE_DATA) ||
            osa->qstate != QDIO_INACTIVE || read_slot(osa) < 0 || write_slot(osa) < 0 ||
            osa->mpc < MPC_ULP_SETUP || osa_queues_establish(osa, slot, io->buf, io->count) < 0) {
            osa_log(osa, "ESTABLISH QUEUES on slot %u refused", slot);
            unit_check(osa, slot, io, GLAN_OSA_SENSE_CMDREJ);
        } else {
            done(io, io->count);
        }
        break;
    case CCW_CMD_AQUEUE:
        if ((int)slot != osa->data_slot || osa->qstate != QDIO_ESTABLISHED ||
            osa->slot[slot].pending) {
            unit_check(osa, slot, io, GLAN_OSA_SENSE_CMDREJ);
            break;
        }
        osa_queues_activate(osa);
        osa->slot[slot].pio = *io;
        osa->slot[slot].pending = CCW_CMD_AQUEUE;
        rc = GLAN_OSA_PENDING;
        break;
    default:
        unit_check(osa, slot, io, GLAN_OSA_SENSE_CMDREJ);
        break;
    }
    ctl_sync(osa); /* STARTLAN, STOPLAN, ACTIVATE QUEUES */
    pthread_mutex_unlock(&osa->ctl);
    return rc;
}

void glan_osa_sense(struct glan_osa *osa, unsigned slot, uint8_t out[32])
{
    if (slot >= GLAN_OSA_SLOTS)
        return;
    pthread_mutex_lock(&osa->ctl);
    memcpy(out, osa->slot[slot].sense, 32);
    pthread_mutex_unlock(&osa->ctl);
}

/* ---- halt, clear, reset ------------------------------------------------------- */

/* Caller holds ctl. */
static void halt_locked(struct glan_osa *osa, unsigned slot)
{
    struct osa_slot *sl = &osa->slot[slot];
    if ((int)slot == osa->data_slot && osa->qstate != QDIO_INACTIVE)
        osa_queues_stop(osa);
    if (sl->pending) {
        sl->pending = 0;
        sl->pio.unitstat = GLAN_OSA_US_CE | GLAN_OSA_US_DE;
        sl->pio.residual = sl->pio.count;
        osa->ops->ccw_end(osa->host, slot, sl->pio.unitstat, sl->pio.residual);
    }
}

/* The interface goes down: IDX lost on the read or write channel.  Caller
 * holds ctl. */
static void interface_down(struct glan_osa *osa)
{
    if (osa->qstate != QDIO_INACTIVE)
        for (unsigned s = 0; s < GLAN_OSA_SLOTS; s++)
            if ((int)s == osa->data_slot)
                halt_locked(osa, s);
    osa_ipa_down(osa);
    osa->mpc = MPC_NONE;
    osa->rq_count = 0;
    osa->rq_head = 0;
}

void glan_osa_halt(struct glan_osa *osa, unsigned slot)
{
    if (slot >= GLAN_OSA_SLOTS)
        return;
    pthread_mutex_lock(&osa->ctl);
    halt_locked(osa, slot);
    ctl_sync(osa);
    pthread_mutex_unlock(&osa->ctl);
}

static void clear_locked(struct glan_osa *osa, unsigned slot)
{
    struct osa_slot *sl = &osa->slot[slot];
    halt_locked(osa, slot);
    if (sl->idx_active && (sl->role == ROLE_READ || sl->role == ROLE_WRITE))
        interface_down(osa);
    if ((int)slot == osa->data_slot) {
        /* raise_irq reads it under `in` from peers' threads. */
        pthread_mutex_lock(&osa->in);
        osa->data_slot = -1;
        pthread_mutex_unlock(&osa->in);
    }
    sl->role = ROLE_NONE;
    sl->idx_active = 0;
    sl->idx_reply_len = 0;
    memset(sl->sense, 0, sizeof sl->sense);
}

void glan_osa_clear(struct glan_osa *osa, unsigned slot)
{
    if (slot >= GLAN_OSA_SLOTS)
        return;
    pthread_mutex_lock(&osa->ctl);
    clear_locked(osa, slot);
    ctl_sync(osa);
    pthread_mutex_unlock(&osa->ctl);
}

void glan_osa_reset(struct glan_osa *osa)
{
    pthread_mutex_lock(&osa->ctl);
    for (unsigned s = 0; s < GLAN_OSA_SLOTS; s++)
        clear_locked(osa, s);
    ctl_sync(osa); /* also destroy's, before the port is detached */
    pthread_mutex_unlock(&osa->ctl);
    glan_osa_set_indicators(osa, 0, 0, 0, 0);
}

/* ---- counters ------------------------------------------------------------------ */

void glan_osa_out_left(struct glan_osa *osa, uint32_t *owed, uint32_t *wait)
{
    pthread_mutex_lock(&osa->out);
    *owed = osa->out_owed;
    *wait = osa->out_wait;
    pthread_mutex_unlock(&osa->out);
}

void glan_osa_get_stats(struct glan_osa *osa, struct glan_osa_stats *o)
{
#define LOAD(name, comment) o->name = atomic_load_explicit(&osa->st.name, memory_order_relaxed);
    GLAN_OSA_COUNTERS(LOAD)
#undef LOAD
    /* The cutting of TSO datagrams for our input counts in its own state. */
    o->in_tso_cut = __atomic_load_n(&osa->off.tso, __ATOMIC_RELAXED);
    o->in_tso_segments = __atomic_load_n(&osa->off.segments, __ATOMIC_RELAXED);
    o->in_offload_bad = __atomic_load_n(&osa->off.bad, __ATOMIC_RELAXED);
}
