/*
 * The OSA-Express group: life cycle, the channel command dispatcher, IDX
 * ACTIVATE, the MPC handshake (CM ENABLE, CM SETUP, ULP ENABLE, ULP SETUP,
 * DM ACT), the control reply queue read by the read subchannel, and
 * halt/clear/reset.  IPA blocks go to ipa.c; ESTABLISH/ACTIVATE QUEUES and
 * everything on the queues to qdio.c.
 *
 * The channel (the host) hands each CCW's data over in a buffer, so this
 * file never touches guest storage; it reaches the host only to end a CCW
 * it had left pending (a READ waiting for a reply, ACTIVATE QUEUES).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guestlan/controller.h"
#include "osa/osa_int.h"

/* Adapter tokens handed to the guest.  Any value but one starting "00S"
 * (Linux reads that as the OLM limit) will do; distinct ones help traces. */
static const uint8_t tok_issuer[4] = {'G', 'L', 'I', '1'};
static const uint8_t tok_cm_filter[4] = {'G', 'L', 'C', 'F'};
static const uint8_t tok_cm_conn[4] = {'G', 'L', 'C', 'C'};
static const uint8_t tok_ulp_filter[4] = {'G', 'L', 'U', 'F'};
static const uint8_t tok_ulp_conn[4] = {'G', 'L', 'U', 'C'};
/* Microcode level in IDX replies: first byte 0 marks it as OSA-style. */
static const uint8_t idx_mcl[4] = {0x00, 0x00, 0x01, 0x00};

void glan_osa_log(struct glan_osa *osa, const char *fmt, ...)
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

void glan_osa_mac_for_port(int idx, uint8_t mac[6])
{
    /* Locally administered, unicast; unique per port of a LAN. */
    mac[0] = 0x02;
    mac[1] = 0x67;
    mac[2] = 0x6c;
    mac[3] = 0x00;
    mac[4] = (uint8_t)(idx >> 8);
    mac[5] = (uint8_t)idx;
}

/* Tell the LAN's controller (include/guestlan/controller.h) when the
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

static const struct glan_port_ops port_ops = {
    .deliver = glan_osa_port_deliver,
    .flush = glan_osa_port_flush,
};

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
    if (!osa->cfg.mtu)
        osa->cfg.mtu = 9000;
    if (osa->cfg.mtu > lc.buffer_size)
        osa->cfg.mtu = (uint16_t)lc.buffer_size;
    osa->data_slot = -1;
    pthread_mutex_init(&osa->ctl, NULL);
    pthread_mutex_init(&osa->out, NULL);
    pthread_mutex_init(&osa->in, NULL);

    struct glan_port_info info = {.name = osa->name, .kind = GLAN_PORT_GUEST};
    int rc = glan_port_attach(lan, &info, &port_ops, osa, &osa->port);
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
        glan_osa_mac_for_port(glan_port_index(osa->port), osa->mac);
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

void glan_osa_queue_reply(struct glan_osa *osa, const uint8_t *data, uint32_t len)
{
    if (len > OSA_REPLY_MAX || osa->rq_count == OSA_REPLY_QUEUE) {
        OSA_INC(osa, replies_dropped);
        glan_osa_log(osa, "control reply dropped (queue full or too long)");
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
        glan_osa_log(osa, "IDX ACTIVATE type %02x on slot %u refused (cause %02x)", req.type, slot,
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
        put16(rep.func_level, IDX_FUNC_LEVEL_REPLY);
        memcpy(rep.mcl, idx_mcl, 4);
    }
    memcpy(sl->idx_reply, &rep, sizeof rep);
    sl->idx_reply_len = sizeof rep;
    done(io, io->count);
}

/* ---- MPC --------------------------------------------------------------------- */

/* Start a reply block: TH, RRH and PH in the layout Linux's templates use,
 * the PDU at 0x40.  mpc_end() fills in the lengths. */
static void mpc_begin(struct glan_osa *osa, uint8_t *b, uint8_t rrh_type, uint8_t proto)
{
    memset(b, 0, MPC_PDU_OFFSET);
    struct mpc_hdr *h = (struct mpc_hdr *)b;
    put32(h->th.id, 0x00e00000);
    put32(h->th.offrrh, sizeof h->th);
    put16(h->th.unit, 0x0ffc);
    put16(h->th.numrrh, 1);
    h->rrh.type = rrh_type;
    h->rrh.proto = proto;
    put16(h->rrh.res2, 1);
    put16(h->rrh.offph, sizeof h->rrh);
    h->rrh.tokentype = 0x05;
    memcpy(h->rrh.token, osa->guest_issuer_token, 4);
    h->ph.locdata = 0x01;
    put32(h->ph.offdata, MPC_PDU_OFFSET);
}

static void mpc_end(uint8_t *b, uint32_t total)
{
    struct mpc_hdr *h = (struct mpc_hdr *)b;
    uint32_t pdu = total - MPC_PDU_OFFSET;
    put32(h->th.length, total);
    put16(h->rrh.lenfda, (uint16_t)pdu);
    h->rrh.lenalda[0] = (uint8_t)(pdu >> 16);
    put16(h->rrh.lenalda + 1, (uint16_t)pdu);
    h->ph.lendata[0] = (uint8_t)(pdu >> 16);
    put16(h->ph.lendata + 1, (uint16_t)pdu);
}

/* Append a PUK header at b+off; returns its offset for puk_end(). */
static uint32_t puk_begin(uint8_t *b, uint32_t off, uint8_t what, uint8_t type)
{
    struct mpc_puk *p = (struct mpc_puk *)(b + off);
    memset(p, 0, sizeof *p);
    put16(p->length, sizeof *p);
    p->what = what;
    p->type = type;
    return off;
}

/* The PUK's total counts the segments after its 12-byte header, as in the
 * blocks Linux sends (CM ENABLE: 0x17 = 0x0b + 0x0c). */
static void puk_end(uint8_t *b, uint32_t puk, uint32_t end)
{
    put16(((struct mpc_puk *)(b + puk))->total, (uint16_t)(end - puk - sizeof(struct mpc_puk)));
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
    mpc_begin(osa, b, RRH_TYPE_CM, RRH_PROTO_PUK);
    uint32_t puk = puk_begin(b, MPC_PDU_OFFSET, 0x41, PUK_ENABLE);
    uint32_t end = pus_filter(b, puk + sizeof(struct mpc_puk), 0x7e, tok_cm_filter);
    /* PUS 02: the user data of the request, echoed. */
    uint8_t user[8] = {0};
    const uint8_t *p02 = find_pus(r, PUS_02, 12);
    if (p02)
        memcpy(user, p02 + 4, 8);
    end = pus(b, end, PUS_02, user, sizeof user);
    puk_end(b, puk, end);
    mpc_end(b, end);
    osa->mpc = MPC_CM_ENABLED;
    glan_osa_queue_reply(osa, b, end);
    return 0;
}

static int cm_setup(struct glan_osa *osa, const struct mpc_req *r)
{
    const uint8_t *p04 = find_pus(r, PUS_04, PUS0X_TOKEN + 4);
    if (!p04)
        return -EINVAL;
    memcpy(osa->guest_cm_conn, p04 + PUS0X_TOKEN, 4);
    uint8_t b[256];
    mpc_begin(osa, b, RRH_TYPE_CM, RRH_PROTO_PUK);
    uint32_t puk = puk_begin(b, MPC_PDU_OFFSET, 0x41, PUK_CONFIRM);
    uint32_t end = pus_token(b, puk + sizeof(struct mpc_puk), PUS_04, osa->guest_cm_conn);
    end = pus_token(b, end, PUS_08, tok_cm_conn);
    static const uint8_t p07[2] = {0xc8, 0x00};
    end = pus(b, end, PUS_07, p07, sizeof p07);
    puk_end(b, puk, end);
    mpc_end(b, end);
    osa->mpc = MPC_CM_SETUP;
    glan_osa_queue_reply(osa, b, end);
    return 0;
}

static int ulp_enable(struct glan_osa *osa, const struct mpc_req *r)
{
    const uint8_t *p01 = find_pus(r, PUS_01, PUS01_TOKEN + 4);
    if (!p01)
        return -EINVAL;
    osa->layer = p01[PUS01_PROT];
    memcpy(osa->guest_ulp_filter, p01 + PUS01_TOKEN, 4);
    if (osa->layer != MPC_PROT_L3)
        glan_osa_log(osa, "ULP ENABLE asks for protocol %02x; this adapter is layer 3 only",
                     osa->layer);
    uint8_t b[256];
    mpc_begin(osa, b, RRH_TYPE_ULP, RRH_PROTO_PUK);
    uint32_t puk = puk_begin(b, MPC_PDU_OFFSET, 0x41, PUK_ENABLE);
    uint32_t end = pus_filter(b, puk + sizeof(struct mpc_puk), osa->layer, tok_ulp_filter);
    /* PUS 0A: 0x18 bytes, so that Linux reads the link type too
     * (QETH_MPC_DIFINFO_LEN_INDICATES_LINK_TYPE); its first word echoed. */
    uint8_t p0a[0x14] = {0};
    const uint8_t *q0a = find_pus(r, PUS_0A, 8);
    if (q0a)
        memcpy(p0a, q0a + 4, 4);
    put16(p0a + 4, osa->cfg.mtu);
    p0a[0x10] = LINK_TYPE_GBIT_ETH;
    end = pus(b, end, PUS_0A, p0a, sizeof p0a);
    puk_end(b, puk, end);
    mpc_end(b, end);
    osa->mpc = MPC_ULP_ENABLED;
    glan_osa_queue_reply(osa, b, end);
    return 0;
}

static int ulp_setup(struct glan_osa *osa, const struct mpc_req *r)
{
    const uint8_t *p04 = find_pus(r, PUS_04, PUS0X_TOKEN + 4);
    if (!p04)
        return -EINVAL;
    memcpy(osa->guest_ulp_conn, p04 + PUS0X_TOKEN, 4);
    uint8_t b[256];
    mpc_begin(osa, b, RRH_TYPE_ULP, RRH_PROTO_PUK);
    uint32_t puk = puk_begin(b, MPC_PDU_OFFSET, 0x41, PUK_CONFIRM);
    uint32_t end = pus_token(b, puk + sizeof(struct mpc_puk), PUS_04, osa->guest_ulp_conn);
    end = pus_token(b, end, PUS_08, tok_ulp_conn);
    static const uint8_t p07[2] = {0x40, 0x00};
    end = pus(b, end, PUS_07, p07, sizeof p07);
    /* PUS 0B: the data device's address, echoed. */
    uint8_t p0b[4] = {0};
    const uint8_t *q0b = find_pus(r, PUS_0B, 8);
    if (q0b)
        memcpy(p0b, q0b + 4, 4);
    end = pus(b, end, PUS_0B, p0b, sizeof p0b);
    puk_end(b, puk, end);
    mpc_end(b, end);
    osa->mpc = MPC_ULP_SETUP;
    glan_osa_queue_reply(osa, b, end);
    return 0;
}

static void dm_act(struct glan_osa *osa)
{
    uint8_t b[256];
    mpc_begin(osa, b, RRH_TYPE_ULP, RRH_PROTO_PUK);
    uint32_t puk = puk_begin(b, MPC_PDU_OFFSET, 0x43, PUK_DM_ACT);
    uint32_t end = pus_token(b, puk + sizeof(struct mpc_puk), PUS_04, osa->guest_ulp_conn);
    puk_end(b, puk, end);
    mpc_end(b, end);
    osa->mpc = MPC_DM_ACT;
    glan_osa_queue_reply(osa, b, end);
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
        glan_osa_ipa(osa, c, total, pdu);
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
        glan_osa_log(osa, "MPC %02x/%02x/%02x taken without reply", rrh->type, puk->what,
                     puk->type);
        return 0;
    }
}

/* ---- the CCW dispatcher ------------------------------------------------------ */

size_t glan_osa_sense_id(uint8_t out[28])
{
    struct senseid id;
    memset(&id, 0, sizeof id);
    id.reserved = 0xff;
    put16(id.cu_type, 0x1731);
    id.cu_model = 0x01;
    put16(id.dev_type, 0x1732);
    id.dev_model = 0x01;
    static const struct {
        uint8_t type, cmd;
        uint16_t count;
    } ciws[5] = {
        {CIW_TYPE_RCD, CCW_CMD_RCD, RCD_SIZE}, {CIW_TYPE_SII, CCW_CMD_SII, 4},
        {CIW_TYPE_RNI, CCW_CMD_RNI, 0x40},     {CIW_TYPE_EQUEUE, CCW_CMD_EQUEUE, 4096},
        {CIW_TYPE_AQUEUE, CCW_CMD_AQUEUE, 0},
    };
    for (int i = 0; i < 5; i++) {
        id.ciw[i].et_ct = (uint8_t)(0x40 | ciws[i].type);
        id.ciw[i].cmd = ciws[i].cmd;
        put16(id.ciw[i].count, ciws[i].count);
    }
    memcpy(out, &id, sizeof id);
    return sizeof id;
}

static void ebcdic(uint8_t *dst, const char *src, size_t n)
{
    /* Digits and the few capitals the NEDs use. */
    for (size_t i = 0; i < n; i++) {
        char ch = src[i];
        if (ch >= '0' && ch <= '9')
            dst[i] = (uint8_t)(0xf0 + (ch - '0'));
        else if (ch >= 'A' && ch <= 'I')
            dst[i] = (uint8_t)(0xc1 + (ch - 'A'));
        else if (ch >= 'J' && ch <= 'R')
            dst[i] = (uint8_t)(0xd1 + (ch - 'J'));
        else if (ch >= 'S' && ch <= 'Z')
            dst[i] = (uint8_t)(0xe2 + (ch - 'S'));
        else
            dst[i] = 0x40;
    }
}

static void ned(struct node_descriptor *n, uint8_t flags, const char *type, const char *model,
                uint8_t tag0, uint8_t tag1, uint16_t devnum)
{
    memset(n, 0, sizeof *n);
    n->flags = flags;
    ebcdic(n->type, type, 6);
    ebcdic(n->model, model, 3);
    ebcdic(n->manufacturer, "GLN", 3);
    /* Not "VM": that would make Linux treat us as a z/VM virtual NIC. */
    ebcdic(n->plant, "GL", 2);
    char seq[13];
    snprintf(seq, sizeof seq, "00000000%04X", devnum);
    ebcdic(n->seq, seq, 12);
    n->tag[0] = tag0;
    n->tag[1] = tag1;
}

size_t glan_osa_rcd(struct glan_osa *osa, unsigned slot, uint8_t out[128])
{
    uint8_t *b = out;
    uint16_t dev = osa->cfg.devnum[slot < GLAN_OSA_SLOTS ? slot : 0];
    struct node_descriptor *n = (struct node_descriptor *)b;
    ned(&n[0], 0xc4, "001732", "001", osa->cfg.chpid, (uint8_t)dev, dev);
    ned(&n[1], 0xc4, "001730", "006", osa->cfg.chpid, 0x00, dev);
    ned(&n[2], 0xd4, "001730", "006", 0x00, 0x00, dev);
    /* General NEQ: flags 0x80, the rest zero. */
    memset(&n[3], 0, sizeof n[3]);
    n[3].flags = 0x80;
    return RCD_SIZE;
}

static void ccw_write(struct glan_osa *osa, unsigned slot, struct glan_osa_io *io)
{
    if (io->count < 4) {
        unit_check(osa, slot, io, GLAN_OSA_SENSE_CMDREJ);
        return;
    }
    uint32_t word = be32(io->buf);
    if (word == 0x00008000) {
        if (io->count < IDX_ACTIVATE_SIZE) {
            OSA_INC(osa, mpc_bad);
            unit_check(osa, slot, io, GLAN_OSA_SENSE_CMDREJ);
            return;
        }
        idx_activate(osa, slot, io);
        return;
    }
    if (word == 0x0000c000) { /* z/OS shutdown notice */
        done(io, io->count);
        return;
    }
    if (word != 0x00e00000 || osa->slot[slot].role != ROLE_WRITE || !osa->slot[slot].idx_active ||
        read_slot(osa) < 0) {
        OSA_INC(osa, mpc_bad);
        unit_check(osa, slot, io, GLAN_OSA_SENSE_CMDREJ);
        return;
    }
    if (mpc_command(osa, io->buf, io->count) < 0) {
        OSA_INC(osa, mpc_bad);
        glan_osa_log(osa, "malformed control block on slot %u", slot);
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
        give(io, id, (uint32_t)glan_osa_sense_id(id));
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
            osa->mpc < MPC_ULP_SETUP || glan_osa_establish(osa, slot, io->buf, io->count) < 0) {
            glan_osa_log(osa, "ESTABLISH QUEUES on slot %u refused", slot);
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
        pthread_mutex_lock(&osa->out);
        pthread_mutex_lock(&osa->in);
        osa->qstate = QDIO_ACTIVE;
        pthread_mutex_unlock(&osa->in);
        pthread_mutex_unlock(&osa->out);
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
        glan_osa_queues_stop(osa);
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
    glan_osa_ipa_down(osa);
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

/* ---- CHSC ---------------------------------------------------------------------- */

void glan_osa_ssqd(struct glan_osa *osa, unsigned slot, uint16_t sch, uint8_t out[32])
{
    (void)slot;
    struct qdio_ssqd_desc d;
    memset(&d, 0, sizeof d);
    d.flags = 0xc0;
    put16(d.sch, sch);
    d.qfmt = QDIO_QETH_QFMT;
    /* SIGA-r and SIGA-w are the doorbells the device acts on; the guest's
     * SLSB is the adapter's copy, so no SIGA-s is ever needed. */
    d.qdioac1 = AC1_SIGA_INPUT_NEEDED | AC1_SIGA_OUTPUT_NEEDED | AC1_AUTOMATIC_SYNC_ON_THININT |
                AC1_AUTOMATIC_SYNC_ON_OUT_PCI;
    d.icnt = 1;
    d.ocnt = osa->cfg.out_queues;
    memcpy(out, &d, sizeof d);
}

void glan_osa_get_stats(struct glan_osa *osa, struct glan_osa_stats *o)
{
#define LD(f) o->f = atomic_load_explicit(&osa->st.f, memory_order_relaxed)
    LD(ccws);
    LD(unit_checks);
    LD(mpc_cmds);
    LD(mpc_bad);
    LD(ipa_cmds);
    LD(ipa_notsupp);
    LD(replies_dropped);
    LD(siga_w);
    LD(siga_r);
    LD(siga_s);
    LD(out_buffers);
    LD(out_packets);
    LD(out_errors);
    LD(out_bad_header);
    LD(out_absorbed);
    LD(in_buffers);
    LD(in_packets);
    LD(in_errors);
    LD(in_too_big);
    LD(interrupts);
#undef LD
}
