/*
 * The simulated guest's control path (simguest.h), each step as Linux's
 * qeth driver takes it: Sense ID, RCD, IDX ACTIVATE, the permanent READ and
 * the control replies, the MPC handshake (CM/ULP ENABLE and SETUP, DM ACT),
 * ESTABLISH and ACTIVATE QUEUES, and IPA commands.  The control blocks are
 * built field by field in the layout of Linux's templates (qeth_core_mpc.c),
 * their headers and lengths through the device model's MPC framing
 * (guestlan/osa_mpc.h), so guest and device share one set of length rules.
 * simguest.c strings the steps together into a bring-up.
 */
#include <string.h>

#include "guestlan/osa_mpc.h"
#include "guestlan/osa_wire.h"
#include "sg_int.h"
#include "guestlan/simguest.h"

static int ok_status(uint8_t us)
{
    return us == (GLAN_OSA_US_CE | GLAN_OSA_US_DE);
}

/* ---- Sense ID, RCD ------------------------------------------------------------- */

int glan_sg_sense_id(struct simguest *g, unsigned slot)
{
    uint8_t b[256];
    struct glan_osa_io io;
    if (glan_sg_ccw(g, slot, CCW_CMD_SENSE_ID, GLAN_OSA_CCW_SLI, b, sizeof b, &io) !=
            GLAN_OSA_DONE ||
        !ok_status(io.unitstat))
        return -1;
    uint32_t n = sizeof b - io.residual;
    /* Linux's qeth_ids: CU 1731/01 with 1732/01 an OSD, 1731/05 with
     * 1732/05 an IQD (HiperSockets). */
    if (n < 28 || b[0] != 0xff || be16(b + 1) != 0x1731 || be16(b + 4) != 0x1732 || b[3] != b[6] ||
        (b[3] != 0x01 && b[3] != 0x05))
        return -2;
    g->iqd = b[3] == 0x05;
    /* The queue commands come from the CIWs, as qdio_establish takes them. */
    int eq = 0, aq = 0;
    for (uint32_t off = 8; off + 4 <= n; off += 4) {
        if (b[off] == (0x40 | CIW_TYPE_EQUEUE) && b[off + 1] == CCW_CMD_EQUEUE)
            eq = 1;
        if (b[off] == (0x40 | CIW_TYPE_AQUEUE) && b[off + 1] == CCW_CMD_AQUEUE)
            aq = 1;
    }
    return eq && aq ? 0 : -3;
}

int glan_sg_rcd(struct simguest *g)
{
    uint8_t b[128];
    struct glan_osa_io io;
    if (glan_sg_ccw(g, g->dt, CCW_CMD_RCD, 0, b, sizeof b, &io) != GLAN_OSA_DONE ||
        !ok_status(io.unitstat))
        return -1;
    if (sizeof b - io.residual < 96)
        return -2;
    /* plant "VM" would make us a z/VM NIC */
    if (b[16] == 0xe5 && b[17] == 0xd4)
        return -3;
    return 0;
}

/* ---- IDX ------------------------------------------------------------------------ */

/* The function level the guest sends: qeth's 0x0101 for an OSD and
 * 0x4108 for an IQD (qeth_idx_init), unless idx_level says another. */
static uint16_t sg_func_level(const struct simguest *g)
{
    if (!g->iqd)
        return IDX_FUNC_LEVEL_OSD;
    return g->idx_level ? g->idx_level : IDX_FUNC_LEVEL_IQD;
}

/* The level the guest expects back (qeth_peer_func_level). */
static uint16_t peer_level(uint16_t level)
{
    if ((level & 0xff) == 8)
        return (uint16_t)((level & 0xff) + 0x400);
    if (((level >> 8) & 3) == 1)
        return (uint16_t)((level & 0xff) + 0x200);
    return level;
}

int glan_sg_idx_activate(struct simguest *g, unsigned slot, int read)
{
    uint8_t b[4096];
    memset(b, 0, sizeof b);
    struct idx_activate *r = (struct idx_activate *)b;
    put32(r->hdr, IDX_ACTIVATE_ID);
    r->type = read ? IDX_TYPE_READ : IDX_TYPE_WRITE;
    r->cause = 0x01;
    r->res2 = 0x01;
    r->port = 0x80 | 0x40; /* port 0, no portname required, invalid frame */
    put32(r->token, 0x00010103);
    put16(r->func_level, sg_func_level(g));
    static const uint8_t hallole[8] = {0xc8, 0xc1, 0xd3, 0xd3, 0xd6, 0xd3, 0xc5, 0x40};
    memcpy(r->dataset, hallole, 8);
    put16(r->cua, g->devnum[g->dt]);
    put16(r->realaddr, (uint16_t)(0x00 << 8 | (g->devnum[g->dt] & 0xff)));
    /* Sequence number of the transport header as Linux fills it. */
    struct glan_osa_io io;
    if (glan_sg_ccw(g, slot, CCW_CMD_WRITE, GLAN_OSA_CCW_CC, b, IDX_ACTIVATE_SIZE, &io) !=
            GLAN_OSA_DONE ||
        !ok_status(io.unitstat))
        return -1;
    memset(b, 0, sizeof b);
    if (glan_sg_ccw(g, slot, CCW_CMD_READ, 0, b, sizeof b, &io) != GLAN_OSA_DONE ||
        !ok_status(io.unitstat))
        return -2;
    if ((b[2] & 0xc0) == 0xc0 || (b[8] & 3) != 2)
        return -3; /* TERMINATE or negative */
    uint16_t level = be16(b + 0x10);
    g->func_level_reply = level;
    uint16_t want = g->iqd ? peer_level(sg_func_level(g)) : IDX_FUNC_LEVEL_REPLY;
    if (read) {
        if (level != want)
            return -4;
        memcpy(g->issuer_rm_r, b + 0x0c, 4);
        memcpy(g->mcl, b + 0x12, 4);
    } else if ((level & ~0x0100) != want) {
        return -4;
    }
    return 0;
}

/* ---- the permanent READ and the control replies ---------------------------------- */

static void issue_read(struct simguest *g)
{
    g->host.ended[g->rd] = 0;
    int rc = glan_sg_ccw(g, g->rd, CCW_CMD_READ, 0, g->rbuf, sizeof g->rbuf, &g->rio);
    g->read_ready = rc == GLAN_OSA_DONE;
}

int glan_sg_start_read(struct simguest *g)
{
    issue_read(g);
    return 0;
}

/* Take the next control reply: 0 with *len set, or -1 when none came. */
static int take_reply(struct simguest *g, uint8_t *out, uint32_t *len)
{
    if (!g->read_ready) {
        if (!g->host.ended[g->rd])
            return -1;
        g->host.ended[g->rd] = 0;
        g->rio.unitstat = g->host.end_status[g->rd];
        g->rio.residual = g->host.end_residual[g->rd];
    }
    g->read_ready = 0;
    if (!ok_status(g->rio.unitstat))
        return -1;
    uint32_t n = g->rio.count - g->rio.residual;
    memcpy(out, g->rbuf, n);
    *len = n;
    if (n >= 0x24)
        g->seq_pdu_ack = be32(out + 0x1c); /* qeth_issue_next_read_cb */
    issue_read(g);
    return 0;
}

/* Linux's PDU_ENCAPSULATION(), with bounds. */
static const uint8_t *pdu_of(const uint8_t *b, uint32_t len)
{
    if (len < 0x40)
        return NULL;
    uint32_t rrh = b[0x0b];
    if (rrh + 0x12 > len)
        return NULL;
    uint32_t at = rrh + b[rrh + 0x11] + 7;
    if (at >= len || b[at] >= len)
        return NULL;
    return b + b[at];
}

static int is_ipa(const uint8_t *b, uint32_t len)
{
    return len > (uint32_t)b[0x0b] + 4 && b[b[0x0b] + 4] == RRH_TYPE_IPA;
}

/* ---- MPC blocks, built as qeth_core_mpc.c's templates lay them out ----------------- */

/* Start a block of total bytes (zeroed first) whose PDU, at MPC_PDU_OFFSET,
 * is the rest, for the connection token dest: TH, RRH and PH as the device
 * model's MPC framing lays them out, with the guest's sequence numbers.
 * The caller puts the PDU in, then osa_mpc_finalize() does the lengths. */
static void mpc_header(struct simguest *g, uint8_t *b, uint32_t total, uint8_t rrh_type,
                       uint8_t proto, const uint8_t dest[4])
{
    memset(b, 0, total);
    osa_mpc_start(b, MPC_TH_UNIT_HOST, rrh_type, proto, dest);
    struct mpc_hdr *h = (struct mpc_hdr *)b;
    put32(h->th.seq, g->seq_th++);
    put32(h->rrh.seq, g->seq_pdu++);
    put32(h->rrh.ackseq, g->seq_pdu_ack);
}

/* A CM/ULP command: headers, a PUK and the PUSes, lengths fixed up. */
static uint32_t mpc_build(struct simguest *g, uint8_t *b, uint8_t rrh_type, const uint8_t dest[4],
                          uint8_t what, uint8_t type, const uint8_t *pus, uint32_t pus_len)
{
    uint32_t total = MPC_PDU_OFFSET + sizeof(struct mpc_puk) + pus_len;
    mpc_header(g, b, total, rrh_type, RRH_PROTO_PUK, dest);
    uint32_t off = osa_mpc_puk(b, MPC_PDU_OFFSET, what, type);
    memcpy(b + off, pus, pus_len);
    osa_mpc_finalize(b, total);
    return total;
}

/* Send a control block on the write channel and take the reply. */
static int mpc_xfer(struct simguest *g, uint8_t *b, uint32_t len, uint8_t *reply, uint32_t *rlen)
{
    struct glan_osa_io io;
    if (glan_sg_ccw(g, g->wr, CCW_CMD_WRITE, 0, b, len, &io) != GLAN_OSA_DONE ||
        !ok_status(io.unitstat))
        return -1;
    return take_reply(g, reply, rlen);
}

/* A control command of the bring-up, as Linux's template for it has it. */
struct mpc_cmd {
    uint8_t rrh_type; /* RRH_TYPE_CM or RRH_TYPE_ULP */
    uint8_t what;     /* of the PUK: 0x41, 0x43 for DM_ACT */
    uint8_t puk_type;
    uint32_t len;    /* of the whole block */
    uint32_t tok_at; /* where the reply's PDU has the token the guest keeps */
};

enum { SG_CM_ENABLE, SG_CM_SETUP, SG_ULP_ENABLE, SG_ULP_SETUP, SG_DM_ACT };
static const struct mpc_cmd mpc_cmds[] = {
    [SG_CM_ENABLE] = {RRH_TYPE_CM, 0x41, PUK_ENABLE, 0x63, CM_ENABLE_RESP_FILTER_TOKEN},
    [SG_CM_SETUP] = {RRH_TYPE_CM, 0x41, PUK_SETUP, 0x64, CM_SETUP_RESP_CONN_TOKEN},
    [SG_ULP_ENABLE] = {RRH_TYPE_ULP, 0x41, PUK_ENABLE, 0x6b, ULP_ENABLE_RESP_FILTER_TOKEN},
    [SG_ULP_SETUP] = {RRH_TYPE_ULP, 0x41, PUK_SETUP, 0x6c, ULP_SETUP_RESP_CONN_TOKEN},
    [SG_DM_ACT] = {RRH_TYPE_ULP, 0x43, PUK_DM_ACT, 0x55, 0},
};

/* Send command which with its PUSes to the connection token dest and take
 * the reply, which must not be an IPA.  With tok, the token the reply
 * carries is copied there; with pdu, the first pdu_len bytes of the reply's
 * PDU.  0, or -9 (the block is not as long as Linux's), -1 (no proper
 * reply), -2 (the reply too short for what is asked of it). */
static int mpc_command(struct simguest *g, unsigned which, const uint8_t dest[4],
                       const uint8_t *pus, uint32_t pus_len, uint8_t tok[4], uint8_t *pdu,
                       uint32_t pdu_len)
{
    const struct mpc_cmd *cmd = &mpc_cmds[which];
    uint8_t b[4096], r[4096];
    uint32_t len = mpc_build(g, b, cmd->rrh_type, dest, cmd->what, cmd->puk_type, pus, pus_len);
    if (len != cmd->len)
        return -9;
    uint32_t rl;
    if (mpc_xfer(g, b, len, r, &rl) < 0)
        return -1;
    /* qeth_check_idx_response: an IDX TERMINATE ends the bring-up. */
    if (rl >= 5 && (r[2] & IDX_TERMINATE) == IDX_TERMINATE) {
        g->idx_term_cause = r[4];
        return -5;
    }
    if (is_ipa(r, rl))
        return -1;
    uint32_t need = tok && cmd->tok_at + 4 > pdu_len ? cmd->tok_at + 4 : pdu_len;
    if (!need)
        return 0;
    const uint8_t *p = pdu_of(r, rl);
    if (!p || p + need > r + rl)
        return -2;
    if (tok)
        memcpy(tok, p + cmd->tok_at, 4);
    if (pdu)
        memcpy(pdu, p, pdu_len);
    return 0;
}

static const uint8_t tok_cm_filter_w[4] = {0x00, 0x01, 0x01, 0x08};
static const uint8_t tok_cm_conn_w[4] = {0x00, 0x01, 0x01, 0x0a};
static const uint8_t tok_ulp_filter_w[4] = {0x00, 0x01, 0x01, 0x0b};
static const uint8_t tok_ulp_conn_w[4] = {0x00, 0x01, 0x01, 0x0d};

int glan_sg_cm_enable(struct simguest *g)
{
    uint8_t pus[23] = {0x00, 0x0b, 0x04, 0x01, 0x7e, 0x04, 0x05};
    memcpy(pus + 7, tok_cm_filter_w, 4);
    static const uint8_t p02[12] = {0x00, 0x0c, 0x04, 0x02, 0xff, 0xff,
                                    0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    memcpy(pus + 11, p02, 12);
    return mpc_command(g, SG_CM_ENABLE, g->issuer_rm_r, pus, sizeof pus, g->cm_filter_r, NULL, 0);
}

int glan_sg_cm_setup(struct simguest *g)
{
    uint8_t pus[24] = {0x00, 0x09, 0x04, 0x04, 0x05};
    memcpy(pus + 5, tok_cm_conn_w, 4);
    pus[9] = 0x00;
    pus[10] = 0x09;
    pus[11] = 0x04;
    pus[12] = 0x05;
    pus[13] = 0x05;
    memcpy(pus + 14, g->cm_filter_r, 4);
    static const uint8_t p06[6] = {0x00, 0x06, 0x04, 0x06, 0xc8, 0x00};
    memcpy(pus + 18, p06, 6);
    return mpc_command(g, SG_CM_SETUP, g->issuer_rm_r, pus, sizeof pus, g->cm_conn_r, NULL, 0);
}

/* The protocol byte of ULP ENABLE, pus[4] below, is where Linux has it. */
_Static_assert(MPC_PDU_OFFSET + sizeof(struct mpc_puk) + 4 == ULP_ENABLE_PROT_TYPE,
               "ULP ENABLE protocol offset");

int glan_sg_ulp_enable(struct simguest *g, uint8_t prot)
{
    uint8_t pus[31] = {0x00, 0x0b, 0x04, 0x01, prot, 0x04, 0x05};
    memcpy(pus + 7, tok_ulp_filter_w, 4);
    static const uint8_t p0a[20] = {0x00, 0x14, 0x04, 0x0a, 0x00, 0x20, 0x00, 0x00, 0xff, 0xff,
                                    0x00, 0x08, 0xc8, 0xe8, 0xc4, 0xf1, 0xc7, 0xf1, 0x00, 0x00};
    memcpy(pus + 11, p0a, 20);
    uint8_t p[ULP_ENABLE_RESP_LINK_TYPE + 1];
    int rc =
        mpc_command(g, SG_ULP_ENABLE, g->cm_conn_r, pus, sizeof pus, g->ulp_filter_r, p, sizeof p);
    if (rc)
        return rc;
    g->max_mtu = be16(p + ULP_ENABLE_RESP_MAX_MTU);
    if (g->iqd) {
        /* qeth_get_mtu_outof_framesize; an IQD without a known code is
         * refused (qeth_update_max_mtu needs it for its input buffers). */
        g->frame_code = g->max_mtu;
        g->max_mtu = g->frame_code == 0x4000   ? 8192
                     : g->frame_code == 0x6000 ? 16384
                     : g->frame_code == 0xa000 ? 32768
                     : g->frame_code == 0xffff ? 57344
                                               : 0;
        if (!g->max_mtu)
            return -4;
    }
    if (be16(p + ULP_ENABLE_RESP_DIFINFO_LEN) >= 0x18) {
        g->link_type = p[ULP_ENABLE_RESP_LINK_TYPE];
        if (g->link_type == 0x02 || g->link_type == 0x82)
            return -3; /* token ring: Linux refuses */
    }
    return 0;
}

int glan_sg_ulp_setup(struct simguest *g)
{
    uint8_t pus[32] = {0x00, 0x09, 0x04, 0x04, 0x05};
    memcpy(pus + 5, tok_ulp_conn_w, 4);
    static const uint8_t p05[5] = {0x00, 0x09, 0x04, 0x05, 0x05};
    memcpy(pus + 9, p05, 5);
    memcpy(pus + 14, g->ulp_filter_r, 4);
    static const uint8_t p06[6] = {0x00, 0x06, 0x04, 0x06, 0x40, 0x00};
    memcpy(pus + 18, p06, 6);
    pus[24] = 0x00;
    pus[25] = 0x08;
    pus[26] = 0x04;
    pus[27] = 0x0b;
    put16(pus + 28, g->devnum[g->dt]);
    put16(pus + 30, (uint16_t)(g->devnum[g->dt] & 0xff));
    int rc = mpc_command(g, SG_ULP_SETUP, g->cm_conn_r, pus, sizeof pus, g->ulp_conn_r, NULL, 0);
    if (rc == 0 && memcmp(g->ulp_conn_r, "00S", 3) == 0)
        return -3;
    return rc;
}

int glan_sg_dm_act(struct simguest *g)
{
    uint8_t pus[9] = {0x00, 0x09, 0x04, 0x04, 0x05};
    memcpy(pus + 5, g->ulp_conn_r, 4);
    return mpc_command(g, SG_DM_ACT, g->cm_conn_r, pus, sizeof pus, NULL, NULL, 0);
}

/* ---- QDIO establish and activate ------------------------------------------------------ */

static int equeue(struct simguest *g);

int glan_sg_establish(struct simguest *g)
{
    g->out_next = 0;
    g->in_next = 0;
    g->qib = glan_sg_alloc(g, 256, 4096);
    for (unsigned q = 0; q < 1 + SG_OUT_QUEUES; q++) {
        g->slib[q] = glan_sg_alloc(g, 4096, 4096);
        g->sl[q] = g->slib[q] + 2048;
        g->slsb[q] = glan_sg_alloc(g, 256, 256);
        for (unsigned i = 0; i < 128; i++)
            g->sbal[q][i] = glan_sg_alloc(g, 256, 256);
        struct slib *sl = glan_sg_ptr(g, g->slib[q]);
        put64(sl->sla, g->sl[q]);
        put64(sl->slsba, g->slsb[q]);
        struct sl *list = glan_sg_ptr(g, g->sl[q]);
        for (unsigned i = 0; i < 128; i++)
            put64(list->sbal[i], g->sbal[q][i]);
        memset(glan_sg_ptr(g, g->slsb[q]), q ? SLSB_P_OUTPUT_NOT_INIT : SLSB_P_INPUT_NOT_INIT, 128);
    }
    g->in_pages = glan_sg_alloc(g, (size_t)SG_IN_BUFS * 16 * 4096, 4096);
    g->out_pages = glan_sg_alloc(g, (size_t)128 * SG_OUT_PAGES * 4096, 4096);
    if (!g->in_pages || !g->out_pages)
        return -9;
    struct qib *qib = glan_sg_ptr(g, g->qib);
    qib->qfmt = g->iqd ? QDIO_IQDIO_QFMT : QDIO_QETH_QFMT;
    put64(qib->isliba, g->slib[0]);
    put64(qib->osliba, g->slib[1]);
    static const uint8_t pcit[4] = {0xd7, 0xc3, 0xc9, 0xe3}; /* EBCDIC "PCIT" */
    /* qeth gives an IQD no QIB parameters, and its qdio always uses thin
     * interrupts for queues of format 2. */
    if (!g->iqd)
        memcpy(qib->parm, pcit, 4);
    if (g->iqd)
        g->use_thin = 1;

    if (equeue(g) < 0)
        return -1;
    if (!(qib->ac & QIB_AC_OUTBOUND_PCI_SUPPORTED))
        return -2;
    if (g->use_thin) {
        g->alsi = glan_sg_alloc(g, 8, 8);
        g->dsci = glan_sg_alloc(g, 8, 8);
        if (glan_osa_set_indicators(g->osa, g->alsi, 0, g->dsci, 0) < 0)
            return -3;
    }
    return 0;
}

/* The ESTABLISH QUEUES CCW over the queues g has set up. */
static int equeue(struct simguest *g)
{
    unsigned key = g->qkeys >> 4;
    uint8_t qdrb[4096];
    memset(qdrb, 0, sizeof qdrb);
    struct qdr *qdr = (struct qdr *)qdrb;
    qdr->qfmt = g->iqd ? QDIO_IQDIO_QFMT : QDIO_QETH_QFMT;
    qdr->ac = 0x01;
    qdr->iqdcnt = 1;
    qdr->oqdcnt = SG_OUT_QUEUES;
    qdr->iqdsz = 8;
    qdr->oqdsz = 8;
    put64(qdr->qiba, g->qib);
    qdr->qkey = g->qkeys;
    for (unsigned q = 0; q < 1 + SG_OUT_QUEUES; q++) {
        struct qdesfmt0 *d = &qdr->qdf0[q];
        put64(d->sliba, g->slib[q]);
        put64(d->sla, g->sl[q]);
        put64(d->slsba, g->slsb[q]);
        d->keys[0] = (uint8_t)(key << 4 | key);
        d->keys[1] = (uint8_t)(key << 4 | key);
    }
    struct glan_osa_io io;
    if (glan_sg_ccw(g, g->dt, CCW_CMD_EQUEUE, GLAN_OSA_CCW_SLI, qdrb, 4096, &io) != GLAN_OSA_DONE ||
        !ok_status(io.unitstat))
        return -1;
    return 0;
}

int glan_sg_requeue(struct simguest *g)
{
    if (equeue(g) < 0)
        return -1;
    return glan_sg_activate(g) < 0 ? -2 : 0;
}

int glan_sg_activate(struct simguest *g)
{
    struct glan_osa_io io;
    g->host.ended[g->dt] = 0;
    if (glan_sg_ccw(g, g->dt, CCW_CMD_AQUEUE, GLAN_OSA_CCW_SLI, NULL, 0, &io) != GLAN_OSA_PENDING)
        return -1;
    return g->host.ended[g->dt] ? -2 : 0;
}

/* ---- IPA ---------------------------------------------------------------------------- */

int glan_sg_ipa(struct simguest *g, uint8_t cmd, uint16_t prot, const void *data, uint16_t dlen,
                uint8_t *reply, uint32_t *reply_len)
{
    uint8_t b[4096], r[4096];
    uint32_t ipalen = sizeof(struct ipa_hdr) + dlen;
    uint32_t total = MPC_PDU_OFFSET + ipalen;
    mpc_header(g, b, total, RRH_TYPE_IPA, MPC_PROT_L3, g->ulp_conn_r);
    struct ipa_hdr *ih = (struct ipa_hdr *)(b + MPC_PDU_OFFSET);
    ih->command = cmd;
    ih->initiator = IPA_INITIATOR_HOST;
    uint16_t seq = g->seq_ipa++;
    put16(ih->seqno, seq);
    ih->adapter_type = LINK_TYPE_FAST_ETH;
    ih->prim_version_no = g->layer2 ? 2 : 1;
    ih->param_count = 1;
    put16(ih->prot_version, prot);
    if (dlen)
        memcpy(b + MPC_PDU_OFFSET + sizeof *ih, data, dlen);
    osa_mpc_finalize(b, total);
    uint32_t rl;
    if (mpc_xfer(g, b, total, r, &rl) < 0 || !is_ipa(r, rl))
        return -1;
    const uint8_t *p = pdu_of(r, rl);
    if (!p || p + 8 > r + rl)
        return -1;
    const struct ipa_hdr *rh = (const struct ipa_hdr *)p;
    if (be16(rh->seqno) != seq || rh->command != cmd ||
        (rh->initiator != IPA_INITIATOR_HOST && rh->initiator != 0x81))
        return -1;
    if (reply) {
        memcpy(reply, r, rl);
        *reply_len = rl;
    }
    return be16(rh->return_code);
}

const struct ipa_hdr *sg_reply_ipa(const uint8_t *r, uint32_t rl)
{
    return (const struct ipa_hdr *)pdu_of(r, rl);
}

int glan_sg_startlan(struct simguest *g)
{
    return glan_sg_ipa(g, IPA_CMD_STARTLAN, IPA_PROT_NONE, NULL, 0, NULL, NULL);
}

int glan_sg_qipassist(struct simguest *g, uint16_t prot)
{
    uint8_t r[4096];
    uint32_t rl;
    int rc = glan_sg_ipa(g, IPA_CMD_QIPASSIST, prot, NULL, 0, r, &rl);
    if (rc != 0)
        return rc;
    const struct ipa_hdr *h = sg_reply_ipa(r, rl);
    if (prot == IPA_PROT_IPV4) {
        g->ipa4_supported = be32(h->ipa_supported);
        g->ipa4_enabled = be32(h->ipa_enabled);
    } else {
        g->ipa6_supported = be32(h->ipa_supported);
        g->ipa6_enabled = be32(h->ipa_enabled);
    }
    return 0;
}

/* A SETADAPTERPARMS command with dlen bytes of data, which the data of the
 * reply (laid out the same) replaces: 0, the IPA's or the command's return
 * code, or -1 when no proper reply came. */
static int setadp(struct simguest *g, uint32_t command, void *data, uint16_t dlen)
{
    uint8_t d[256], r[4096];
    uint32_t rl;
    memset(d, 0, sizeof d);
    struct ipa_setadp_hdr *h = (struct ipa_setadp_hdr *)d;
    put16(h->cmdlength, (uint16_t)(sizeof *h + dlen));
    put32(h->command_code, command);
    h->used_total = 1;
    h->seq_no = 1;
    memcpy(d + sizeof *h, data, dlen);
    int rc = glan_sg_ipa(g, IPA_CMD_SETADAPTERPARMS, IPA_PROT_IPV4, d, (uint16_t)(sizeof *h + dlen),
                         r, &rl);
    if (rc)
        return rc;
    const struct ipa_hdr *ih = sg_reply_ipa(r, rl);
    if (!ih)
        return -1;
    const uint8_t *p = (const uint8_t *)(ih + 1);
    memcpy(data, p + sizeof *h, dlen);
    g->setadp_flags = ((const struct ipa_setadp_hdr *)p)->flags;
    return be16(((const struct ipa_setadp_hdr *)p)->return_code);
}

int glan_sg_setadp_query(struct simguest *g)
{
    struct ipa_query_cmds_supp q;
    memset(&q, 0, sizeof q);
    int rc = setadp(g, IPA_SETADP_QUERY_COMMANDS_SUPPORTED, &q, sizeof q);
    if (rc)
        return rc;
    if (q.lan_type & 0x7f)
        g->link_type = q.lan_type;
    g->adp_supported = be32(q.supported_cmds);
    return 0;
}

int glan_sg_read_mac(struct simguest *g)
{
    struct ipa_change_addr c;
    memset(&c, 0, sizeof c);
    put32(c.addr_size, 6);
    put32(c.no_macs, 1);
    int rc = setadp(g, IPA_SETADP_ALTER_MAC_ADDRESS, &c, sizeof c);
    if (rc)
        return rc;
    static const uint8_t zero[6];
    if ((c.addr[0] & 1) || memcmp(c.addr, zero, 6) == 0)
        return -2; /* Linux: -EADDRNOTAVAIL */
    /* qeth_l2 on an OSD takes only a MAC the adapter calls virtual. */
    if (g->layer2 && !(g->setadp_flags & QETH_SETADP_FLAGS_VIRTUAL_MAC))
        return -2;
    memcpy(g->mac, c.addr, 6);
    return 0;
}

int glan_sg_setassparms(struct simguest *g, uint16_t prot, uint32_t assist, uint16_t cmd,
                        uint32_t data, int with_data)
{
    uint8_t d[16];
    memset(d, 0, sizeof d);
    struct ipa_setassparms_hdr *h = (struct ipa_setassparms_hdr *)d;
    uint16_t len = (uint16_t)(sizeof *h + (with_data ? 4 : 0));
    put32(h->assist_no, assist);
    put16(h->length, len);
    put16(h->command_code, cmd);
    if (with_data)
        put32(d + sizeof *h, data);
    uint8_t r[4096];
    uint32_t rl;
    int rc = glan_sg_ipa(g, IPA_CMD_SETASSPARMS, prot, d, len, r, &rl);
    if (rc)
        return rc;
    const struct ipa_hdr *rh = sg_reply_ipa(r, rl);
    const struct ipa_setassparms_hdr *sh = (const struct ipa_setassparms_hdr *)(rh + 1);
    if (prot == IPA_PROT_IPV4)
        g->ipa4_enabled = be32(rh->ipa_enabled);
    else
        g->ipa6_enabled = be32(rh->ipa_enabled);
    return be16(sh->return_code);
}

/* SETASSPARMS of a checksum or TSO assist: in (NULL: none) is its data, the
 * reply's eight bytes of data go to out.  The IPA's or the command's return
 * code, or -1. */
static int setass_caps(struct simguest *g, uint16_t prot, uint32_t assist, uint16_t cmd,
                       const struct ipa_caps *in, struct ipa_caps *out)
{
    uint8_t d[sizeof(struct ipa_setassparms_hdr) + sizeof(struct ipa_caps)];
    memset(d, 0, sizeof d);
    struct ipa_setassparms_hdr *h = (struct ipa_setassparms_hdr *)d;
    uint16_t len = (uint16_t)(sizeof *h + (in ? sizeof *in : 0));
    put32(h->assist_no, assist);
    put16(h->length, (uint16_t)(8 + (in ? sizeof *in : 0)));
    put16(h->command_code, cmd);
    if (in)
        memcpy(d + sizeof *h, in, sizeof *in);
    uint8_t r[4096];
    uint32_t rl;
    int rc = glan_sg_ipa(g, IPA_CMD_SETASSPARMS, prot, d, len, r, &rl);
    if (rc)
        return rc;
    const struct ipa_hdr *rh = sg_reply_ipa(r, rl);
    const uint8_t *rd = (const uint8_t *)(rh + 1);
    if (rd + sizeof *h + sizeof *out > r + rl)
        memset(out, 0, sizeof *out); /* Linux reads zeros from its cleared buffer */
    else
        memcpy(out, rd + sizeof *h, sizeof *out);
    if (prot == IPA_PROT_IPV4)
        g->ipa4_enabled = be32(rh->ipa_enabled);
    else
        g->ipa6_enabled = be32(rh->ipa_enabled);
    return be16(((const struct ipa_setassparms_hdr *)rd)->return_code);
}

int glan_sg_offload(struct simguest *g, uint16_t prot, uint32_t assist, int on, uint32_t *mss)
{
    struct ipa_caps caps, want;
    if (!on)
        return setass_caps(g, prot, assist, IPA_CMD_ASS_STOP, NULL, &caps);
    int rc = setass_caps(g, prot, assist, IPA_CMD_ASS_START, NULL, &caps);
    if (rc)
        return rc;
    memset(&want, 0, sizeof want);
    uint32_t need;
    if (assist == IPA_OUTBOUND_TSO) {
        /* START answers {mss, supported} */
        if (mss)
            *mss = be32(caps.supported);
        if (!be32(caps.supported) || !(be32(caps.enabled) & IPA_LARGE_SEND_TCP))
            goto refused;
        need = IPA_LARGE_SEND_TCP;
        put32(want.enabled, need);
    } else {
        need = IPA_CHECKSUM_UDP | IPA_CHECKSUM_TCP;
        if (prot == IPA_PROT_IPV4 && assist == IPA_OUTBOUND_CHECKSUM)
            need |= IPA_CHECKSUM_IP_HDR; /* layer 3, IPv4, outbound */
        if ((be32(caps.supported) & need) != need)
            goto refused;
        if (be32(caps.supported) & IPA_CHECKSUM_LP2LP)
            need |= IPA_CHECKSUM_LP2LP;
        put32(want.supported, need); /* flags_32bit */
    }
    rc = setass_caps(g, prot, assist, IPA_CMD_ASS_ENABLE, &want, &caps);
    if (rc) {
        setass_caps(g, prot, assist, IPA_CMD_ASS_STOP, NULL, &caps);
        return rc;
    }
    if ((be32(caps.supported) & need) == need && (be32(caps.enabled) & need) == need)
        return 0;
refused:
    setass_caps(g, prot, assist, IPA_CMD_ASS_STOP, NULL, &caps);
    return -95;
}

/* The address of a SETIP/SETIPM (text) and the IPA protocol it goes with:
 * 0, or -9 when it is no address. */
static int ipa_addr(const char *text, struct glan_addr *a, uint16_t *prot)
{
    if (glan_addr_parse(text, a) < 0)
        return -9;
    *prot = a->family == GLAN_AF_INET ? IPA_PROT_IPV4 : IPA_PROT_IPV6;
    return 0;
}

int glan_sg_setip(struct simguest *g, const char *text, int del)
{
    struct glan_addr a;
    uint16_t prot, len;
    if (ipa_addr(text, &a, &prot) < 0)
        return -9;
    uint8_t d[36] = {0};
    if (prot == IPA_PROT_IPV4) {
        memcpy(d, a.bytes, 4);
        put32(d + 4, 0xffffff00);
        len = 12;
    } else {
        memcpy(d, a.bytes, 16);
        memset(d + 16, 0xff, 8);
        len = 36;
    }
    return glan_sg_ipa(g, del ? IPA_CMD_DELIP : IPA_CMD_SETIP, prot, d, len, NULL, NULL);
}

int glan_sg_setipm(struct simguest *g, const char *text, int del)
{
    struct glan_addr a;
    uint16_t prot;
    if (ipa_addr(text, &a, &prot) < 0)
        return -9;
    uint8_t d[24] = {0};
    if (prot == IPA_PROT_IPV4) {
        memcpy(d + 8 + 12, a.bytes, 4);
        d[0] = 0x01; /* the mapped multicast MAC, as Linux passes it */
        d[1] = 0x00;
        d[2] = 0x5e;
    } else {
        memcpy(d + 8, a.bytes, 16);
        d[0] = 0x33;
        d[1] = 0x33;
    }
    return glan_sg_ipa(g, del ? IPA_CMD_DELIPM : IPA_CMD_SETIPM, prot, d, 24, NULL, NULL);
}
