/*
 * The QDIO side of the adapter: ESTABLISH QUEUES (QDR, QIB, SLIB, SL,
 * SLSB), SIGA-w/r/s, the output walk (SBALs, SBALE chains, the 32-byte
 * layer-3 header, passthrough frames) that hands each datagram to the base,
 * and the input side that the base calls (deliver/flush, in the sender's
 * thread) to pack datagrams into the guest's free input buffers and raise
 * one interrupt per batch.  The ARP and neighbour-discovery answers come
 * from neigh.c and go into the guest's input from here.  osa.c starts and
 * stops the queues; this file calls neither osa.c nor ipa.c (osa_int.h).
 *
 * Every guest address goes through host->mem with the key the guest gave in
 * the QDR; a failure marks that buffer's SLSB with the error state and is
 * counted, it never stops the device.  Locking is in osa_int.h and
 * docs/osa.md.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "osa_int.h"

static int gread(struct glan_osa *osa, uint64_t addr, void *buf, size_t len, unsigned key)
{
    return osa->ops->mem(osa->host, addr, buf, len, key, GLAN_OSA_MEM_READ);
}

static int gwrite(struct glan_osa *osa, uint64_t addr, const void *buf, size_t len, unsigned key)
{
    return osa->ops->mem(osa->host, addr, (void *)buf, len, key, GLAN_OSA_MEM_WRITE);
}

/* Read n SLSB states of q from buffer i on, acquiring (QA3, QA4 in
 * osa_int.h): what the guest wrote into a buffer before it stored the state
 * is seen by every read of the buffer after this.  A refusal is counted. */
static int slsb_read(struct glan_osa *osa, const struct osa_queue *q, unsigned i, uint8_t *st,
                     size_t n)
{
    int rc = osa->ops->mem(osa->host, q->slsb + i, st, n, q->slsb_key, GLAN_OSA_MEM_ACQUIRE);
    if (rc < 0)
        OSA_INC(osa, slsb_refused);
    return rc;
}

/* Store buffer i's state, releasing (QR1, QR2 in osa_int.h): every read and
 * write of the buffer before this is done before the guest can see the
 * state.  A refusal is counted. */
static int set_state(struct glan_osa *osa, const struct osa_queue *q, unsigned i, uint8_t st)
{
    int rc = osa->ops->mem(osa->host, q->slsb + i, &st, 1, q->slsb_key,
                           GLAN_OSA_MEM_WRITE | GLAN_OSA_MEM_RELEASE);
    if (rc < 0)
        OSA_INC(osa, slsb_refused);
    return rc;
}

/* ---- interrupts -------------------------------------------------------------- */

/* Tell the guest: set the indicators (thin interrupts) and ask the host to
 * present the interruption.  Called with none of our locks held. */
static void raise_irq(struct glan_osa *osa)
{
    pthread_mutex_lock(&osa->in);
    int thin = osa->thin, slot = osa->data_slot;
    uint64_t dsci = osa->dsci, alsi = osa->alsi;
    unsigned dk = osa->dsci_key, ak = osa->alsi_key;
    pthread_mutex_unlock(&osa->in);
    if (slot < 0)
        return;
    if (thin) {
        /* DSCI first: the guest's handler runs only when the ALSI is set,
         * then looks at every device's DSCI. */
        /* QR5: release, pairs with QA5, the guest's look at the ALSI and
         * DSCI before the SLSBs: the SLSB states stored before (QR1, QR2)
         * are seen by whoever sees an indicator set. */
        static const uint8_t one = 0x01;
        unsigned how = GLAN_OSA_MEM_WRITE | GLAN_OSA_MEM_RELEASE;
        if (osa->ops->mem(osa->host, dsci, (void *)&one, 1, dk, how) < 0 ||
            osa->ops->mem(osa->host, alsi, (void *)&one, 1, ak, how) < 0)
            osa_log(osa, "cannot store the interrupt indicators");
    }
    OSA_INC(osa, interrupts);
    osa->ops->interrupt(osa->host, (unsigned)slot, thin);
}

int glan_osa_set_indicators(struct glan_osa *osa, uint64_t alsi, unsigned alsi_key, uint64_t dsci,
                            unsigned dsci_key)
{
    int on = alsi || dsci;
    if (on) {
        /* Fetch and store back, so that store protection is checked now
         * rather than at the first interrupt. */
        uint8_t v;
        int rc;
        if ((rc = gread(osa, alsi, &v, 1, alsi_key)) < 0 ||
            (rc = gwrite(osa, alsi, &v, 1, alsi_key)) < 0 ||
            (rc = gread(osa, dsci, &v, 1, dsci_key)) < 0 ||
            (rc = gwrite(osa, dsci, &v, 1, dsci_key)) < 0)
            return rc;
    }
    pthread_mutex_lock(&osa->in);
    osa->alsi = alsi;
    osa->dsci = dsci;
    osa->alsi_key = (uint8_t)(alsi_key & 15);
    osa->dsci_key = (uint8_t)(dsci_key & 15);
    osa->thin = on;
    pthread_mutex_unlock(&osa->in);
    return 0;
}

/* ---- ESTABLISH QUEUES --------------------------------------------------------- */

static int load_queue(struct glan_osa *osa, const uint8_t *desc, struct osa_queue *q)
{
    const struct qdesfmt0 *d = (const struct qdesfmt0 *)desc;
    memset(q, 0, sizeof *q);
    q->slib = be64(d->sliba);
    q->sl = be64(d->sla);
    q->slsb = be64(d->slsba);
    q->slib_key = d->keys[0] >> 4;
    q->sl_key = d->keys[0] & 15;
    q->sbal_key = d->keys[1] >> 4;
    q->slsb_key = d->keys[1] & 15;
    struct sl sl;
    uint8_t probe[QDIO_MAX_BUFFERS_PER_Q];
    /* The SBAL addresses are taken now, as the adapter does: a guest that
     * rewrites its SL later changes nothing. */
    if (gread(osa, q->slib, probe, 1, q->slib_key) < 0 ||
        gread(osa, q->sl, &sl, sizeof sl, q->sl_key) < 0 ||
        slsb_read(osa, q, 0, probe, sizeof probe) < 0)
        return -EFAULT;
    for (unsigned i = 0; i < QDIO_MAX_BUFFERS_PER_Q; i++)
        q->sbal[i] = be64(sl.sbal[i]);
    return 0;
}

int osa_queues_establish(struct glan_osa *osa, unsigned slot, const uint8_t *buf, uint32_t len)
{
    if (len < offsetof(struct qdr, qdf0))
        return -EINVAL;
    const struct qdr *qdr = (const struct qdr *)buf;
    unsigned ni = qdr->iqdcnt, no = qdr->oqdcnt;
    unsigned isz = qdr->iqdsz * 4u, osz = qdr->oqdsz * 4u;
    /* Format 0 for an OSA, format 2 for a HiperSockets card: a guest that
     * drives the other kind is refused, with a line saying so. */
    uint8_t want = osa->iqd ? QDIO_IQDIO_QFMT : QDIO_QETH_QFMT;
    if (qdr->qfmt != want)
        osa_log(osa, "queues of format %u on a%s: refused (LAN '%s' is of type %s)", qdr->qfmt,
                osa->iqd ? " HiperSockets card, which takes format 2"
                         : "n OSA-Express, which takes format 0",
                glan_lan_name(glan_port_lan(osa->port)), osa->iqd ? "HIPERS" : "QDIO");
    if (qdr->qfmt != want || ni < 1 || ni > OSA_MAX_INQ || no < 1 || no > OSA_MAX_OUTQ ||
        isz < sizeof(struct qdesfmt0) || osz < sizeof(struct qdesfmt0) ||
        offsetof(struct qdr, qdf0) + ni * isz + no * osz > len)
        return -EINVAL;
    struct osa_queue iq[OSA_MAX_INQ];
    const uint8_t *desc = buf + offsetof(struct qdr, qdf0);
    for (unsigned i = 0; i < ni; i++, desc += isz)
        if (load_queue(osa, desc, &iq[i]) < 0)
            return -EFAULT;
    /* Output queues are loaded straight into place under the locks below,
     * so the 32 x 1 KiB of SBAL addresses need no second copy. */
    uint64_t qiba = be64(qdr->qiba);
    uint8_t qkey = qdr->qkey >> 4;
    struct qib qib;
    if (gread(osa, qiba, &qib, sizeof qib, qkey) < 0)
        return -EFAULT;
    qib.ac |= QIB_AC_OUTBOUND_PCI_SUPPORTED;
    if (gwrite(osa, qiba + offsetof(struct qib, ac), &qib.ac, 1, qkey) < 0)
        return -EFAULT;

    pthread_mutex_lock(&osa->out);
    pthread_mutex_lock(&osa->in);
    int rc = 0;
    for (unsigned i = 0; i < no && !rc; i++, desc += osz)
        rc = load_queue(osa, desc, &osa->oq[i]);
    if (!rc) {
        memcpy(osa->iq, iq, ni * sizeof iq[0]);
        osa->niq = ni;
        osa->noq = no;
        osa->qib = qiba;
        osa->qib_key = qkey;
        osa->inb.open = 0;
        osa->in_irq_owed = 0;
        osa->out_owed = 0;
        osa->out_wait = 0;
        osa->out_next_q = 0;
        osa->qstate = QDIO_ESTABLISHED;
        osa->data_slot = (int)slot;
        osa->slot[slot].role = ROLE_DATA;
    }
    pthread_mutex_unlock(&osa->in);
    pthread_mutex_unlock(&osa->out);
    return rc ? -EFAULT : 0;
}

/* Caller holds ctl. */
void osa_queues_activate(struct glan_osa *osa)
{
    pthread_mutex_lock(&osa->out);
    pthread_mutex_lock(&osa->in);
    osa->qstate = QDIO_ACTIVE;
    pthread_mutex_unlock(&osa->in);
    pthread_mutex_unlock(&osa->out);
}

/* Caller holds ctl. */
void osa_queues_stop(struct glan_osa *osa)
{
    pthread_mutex_lock(&osa->out);
    pthread_mutex_lock(&osa->in);
    /* A half-filled input buffer is abandoned: it stays CU-owned (0x41) and
     * the guest reinitialises its queues before the next ESTABLISH. */
    osa->inb.open = 0;
    osa->in_irq_owed = 0;
    osa->out_owed = 0;
    osa->out_wait = 0;
    osa->qstate = QDIO_INACTIVE;
    osa->niq = osa->noq = 0;
    pthread_mutex_unlock(&osa->in);
    pthread_mutex_unlock(&osa->out);
}

/* ---- input: the base delivers into the guest's buffers --------------------------- */

static uint8_t cast_flag(uint8_t cast)
{
    switch (cast) {
    case GLAN_CAST_MULTICAST:
        return QETH_CAST_MULTICAST;
    case GLAN_CAST_BROADCAST:
        return QETH_CAST_BROADCAST;
    default:
        return QETH_CAST_UNICAST;
    }
}

static uint32_t elem_len(const struct sbal *s, unsigned e)
{
    return be32(s->element[e].length);
}

/* Open the next input buffer if the guest gave it to us (0x41).  Caller
 * holds in.  0, -EAGAIN (none free), -EIO (that buffer was bad; it is marked
 * and the caller may try the next). */
static int in_open(struct glan_osa *osa)
{
    struct osa_queue *q = &osa->iq[0];
    struct osa_in_open *b = &osa->inb;
    unsigned i = q->next;
    uint8_t st;
    /* QA3: acquire, pairs with QR3, the guest's store of 0x41 after it set
     * the buffer's SBAL up: the SBAL read below is the one it handed over. */
    if (slsb_read(osa, q, i, &st, 1) < 0 || st != SLSB_CU_INPUT_EMPTY)
        return -EAGAIN;
    memset(b, 0, sizeof *b);
    b->buf = i;
    if (gread(osa, q->sbal[i], &b->sbal, sizeof b->sbal, q->sbal_key) < 0)
        goto bad;
    b->nelem = QDIO_MAX_ELEMENTS;
    for (unsigned e = 0; e < QDIO_MAX_ELEMENTS; e++) {
        if (elem_len(&b->sbal, e) > 65536)
            goto bad;
        if (b->sbal.element[e].eflags & SBAL_EFLAGS_LAST_ENTRY) {
            b->nelem = e + 1;
            break;
        }
    }
    b->open = 1;
    return 0;
bad:
    set_state(osa, q, i, SLSB_P_INPUT_ERROR);
    q->next = qdio_next(i);
    OSA_INC(osa, in_errors);
    osa->in_irq_owed = 1;
    return -EIO;
}

/* Prime the open buffer if it holds anything.  Caller holds in. */
static void in_close(struct glan_osa *osa)
{
    struct osa_in_open *b = &osa->inb;
    struct osa_queue *q = &osa->iq[0];
    if (!b->open)
        return;
    b->open = 0;
    if (!b->packets)
        return; /* still empty: stays the adapter's for next time */
    unsigned last = 0;
    for (unsigned e = 0; e < b->nelem; e++)
        if (b->used[e])
            last = e;
    for (unsigned e = 0; e <= last; e++) {
        put32(b->sbal.element[e].length, b->used[e]);
        b->sbal.element[e].eflags = e == last ? SBAL_EFLAGS_LAST_ENTRY : 0;
    }
    uint8_t st = SLSB_P_INPUT_PRIMED;
    if (gwrite(osa, q->sbal[b->buf], &b->sbal, sizeof b->sbal, q->sbal_key) < 0) {
        st = SLSB_P_INPUT_ERROR;
        OSA_INC(osa, in_errors);
    } else {
        OSA_INC(osa, in_buffers);
    }
    /* QR1: release, pairs with QA1, the guest's read of the state before it
     * reads the buffer: the data (in_write) and the element lengths above
     * are in guest storage before the guest can see 0x82. */
    set_state(osa, q, b->buf, st);
    q->next = qdio_next(b->buf);
    osa->in_irq_owed = 1;
}

/* Room for a header plus len bytes from the write position?  On success
 * *he is the element the header goes into (it never crosses an element). */
static int in_fits(const struct osa_in_open *b, uint32_t len, unsigned *he)
{
    unsigned e = b->elem;
    uint32_t off = b->off;
    while (e < b->nelem && elem_len(&b->sbal, e) - off < QETH_HDR_LEN) {
        e++;
        off = 0;
    }
    if (e >= b->nelem)
        return 0;
    uint64_t room = elem_len(&b->sbal, e) - off - QETH_HDR_LEN;
    for (unsigned k = e + 1; k < b->nelem; k++)
        room += elem_len(&b->sbal, k);
    *he = e;
    return room >= len;
}

/* Write header + data at the write position.  Caller holds in and checked
 * in_fits.  0, or -EIO when guest storage refused (buffer marked error). */
static int in_write(struct glan_osa *osa, unsigned he, const void *hdr, const uint8_t *data,
                    uint32_t len)
{
    struct osa_in_open *b = &osa->inb;
    struct osa_queue *q = &osa->iq[0];
    unsigned key = q->sbal_key;
    if (he != b->elem) {
        b->elem = he;
        b->off = 0;
    }
    unsigned e = b->elem;
    uint32_t off = b->off;
    if (gwrite(osa, be64(b->sbal.element[e].addr) + off, hdr, QETH_HDR_LEN, key) < 0)
        goto bad;
    off += QETH_HDR_LEN;
    b->used[e] = off;
    while (len) {
        uint32_t room = elem_len(&b->sbal, e) - off;
        if (!room) {
            e++;
            off = 0;
            continue;
        }
        uint32_t n = len < room ? len : room;
        if (gwrite(osa, be64(b->sbal.element[e].addr) + off, data, n, key) < 0)
            goto bad;
        data += n;
        len -= n;
        off += n;
        b->used[e] = off;
    }
    b->elem = e;
    b->off = off;
    b->packets++;
    return 0;
bad:
    /* The guest gave us storage we may not write: the whole buffer is
     * handed back in the error state, what it held is lost. */
    set_state(osa, q, b->buf, SLSB_P_INPUT_ERROR);
    q->next = qdio_next(b->buf);
    b->open = 0;
    OSA_INC(osa, in_errors);
    osa->in_irq_owed = 1;
    return -EIO;
}

/* Put one datagram into the input queue.  Caller holds in.  0, -EAGAIN (no
 * free buffer), -EMSGSIZE (larger than an empty buffer: counted in
 * in_too_big unless the caller has another way, `trial`), -EIO.  hdr: a
 * layer-3 or a layer-2 header, QETH_HDR_LEN bytes. */
static int in_put_try(struct glan_osa *osa, const void *hdr, const uint8_t *data, uint32_t len,
                      int trial)
{
    /* Bounded: every turn either fills, closes a buffer with data, or moves
     * past a bad buffer; there are 128 buffers. */
    for (unsigned turn = 0; turn < 2 * QDIO_MAX_BUFFERS_PER_Q + 2; turn++) {
        if (!osa->inb.open) {
            int rc = in_open(osa);
            if (rc == -EAGAIN)
                return rc;
            if (rc < 0)
                continue;
        }
        unsigned he;
        if (in_fits(&osa->inb, len, &he)) {
            int rc = in_write(osa, he, hdr, data, len);
            if (rc == 0)
                OSA_INC(osa, in_packets);
            return rc;
        }
        if (!osa->inb.packets) {
            if (!trial)
                OSA_INC(osa, in_too_big);
            osa->inb.open = 0;
            return -EMSGSIZE;
        }
        in_close(osa);
    }
    return -EIO;
}

static int in_put(struct glan_osa *osa, const void *hdr, const uint8_t *data, uint32_t len)
{
    return in_put_try(osa, hdr, data, len, 0);
}

/* Let go of in (held by the caller), then raise the interrupt owed for the
 * buffers primed since the last one, if any: raise_irq takes in itself. */
static void in_unlock_irq(struct glan_osa *osa)
{
    int irq = osa->in_irq_owed;
    osa->in_irq_owed = 0;
    pthread_mutex_unlock(&osa->in);
    if (irq)
        raise_irq(osa);
}

/* An input header: layer 3, or layer 2 (a frame of an ETHERNET LAN). */
union in_hdr {
    struct qeth_hdr_l3 l3;
    struct qeth_hdr_l2 l2;
};

/* One segment of a TSO datagram (or frame) into the input
 * (glan_offload_each). */
struct seg_put {
    struct glan_osa *osa;
    union in_hdr hdr;
    int l2;
};

static int put_segment(void *ctx, const struct glan_dgram *seg)
{
    struct seg_put *sp = ctx;
    put16(sp->l2 ? sp->hdr.l2.pkt_length : sp->hdr.l3.length, (uint16_t)seg->len);
    return in_put(sp->osa, &sp->hdr, seg->data, seg->len);
}

/* The IP family of a datagram, or of the datagram in a frame: which
 * inbound checksumming (OSA_RX_CSUM4 or 6) covers it; 0 for none. */
static unsigned rx_csum_family(const struct glan_dgram *dg)
{
    if (dg->family == GLAN_AF_INET6)
        return OSA_RX_CSUM6;
    if (dg->family != GLAN_AF_MAC)
        return OSA_RX_CSUM4;
    size_t hl = glan_offload_eth_hlen(dg->data, dg->len);
    if (!hl)
        return 0;
    return be16(dg->data + hl - 2) == ET_IPV6 ? OSA_RX_CSUM6 : OSA_RX_CSUM4;
}

/* A datagram whose sender's device computed its checksums (GLAN_OFFLOAD_CSUM
 * or _TSO) is flagged "checksums verified" for a guest that started inbound
 * checksumming for its family, as an OSA that checked them would; a TSO
 * datagram goes to such a guest whole when one input buffer holds it (its
 * stack takes it as GRO would hand it up), and to any other cut into the
 * segments a sender without TSO would have sent (docs/osa.md, "Offloads"). */
static int deliver_offload(struct glan_osa *osa, union in_hdr *hdr, int l2,
                           const struct glan_dgram *dg)
{
    unsigned want = rx_csum_family(dg);
    int verified = (atomic_load_explicit(&osa->rx_csum, memory_order_relaxed) & want) != 0;
    /* qeth reads "verified" from TRANSP_REQ: in layer 3 in ext_flags, in
     * layer 2 in the second flags byte. */
    if (verified)
        *(l2 ? &hdr->l2.flags[1] : &hdr->l3.ext_flags) =
            QETH_HDR_EXT_CSUM_HDR_REQ | QETH_HDR_EXT_CSUM_TRANSP_REQ;
    if (!(dg->offload & GLAN_OFFLOAD_TSO)) {
        int rc = in_put(osa, hdr, dg->data, dg->len);
        if (rc == 0 && verified)
            OSA_INC(osa, in_csum_verified);
        return rc;
    }
    if (verified && osa->off.at_data != dg->data) {
        int rc = in_put_try(osa, hdr, dg->data, dg->len, 1);
        if (rc != -EMSGSIZE) {
            if (rc == 0) {
                OSA_INC(osa, in_tso_whole);
                OSA_INC(osa, in_csum_verified);
            }
            return rc;
        }
    }
    struct seg_put sp = {.osa = osa, .hdr = *hdr, .l2 = l2};
    return glan_offload_each(&osa->off, dg, put_segment, &sp);
}

static int port_deliver(void *ctx, const struct glan_dgram *dg)
{
    struct glan_osa *osa = ctx;
    union in_hdr h;
    int l2 = dg->family == GLAN_AF_MAC; /* a frame of an ETHERNET LAN */
    if (l2) {
        osa_l2_hdr_in(&h.l2, dg);
    } else {
        memset(&h, 0, sizeof h);
        h.l3.id = QETH_HEADER_TYPE_LAYER3;
        h.l3.flags =
            (uint8_t)(cast_flag(dg->cast) | (dg->family == GLAN_AF_INET6 ? QETH_HDR_IPV6 : 0));
        put16(h.l3.length, (uint16_t)dg->len);
    }
    if (dg->len > 0xffff)
        return -EMSGSIZE;
    pthread_mutex_lock(&osa->in);
    int rc;
    if (osa->qstate != QDIO_ACTIVE || !osa->lan_started || !osa->niq)
        rc = -ENETDOWN;
    else if (dg->offload & (GLAN_OFFLOAD_CSUM | GLAN_OFFLOAD_TSO))
        rc = deliver_offload(osa, &h, l2, dg);
    else
        rc = in_put(osa, &h, dg->data, dg->len);
    /* The base calls flush only after a pass that took something; a pass
     * that primed buffers and then ran out must still interrupt. */
    if (rc < 0)
        in_unlock_irq(osa);
    else
        pthread_mutex_unlock(&osa->in);
    return rc;
}

static void port_flush(void *ctx)
{
    struct glan_osa *osa = ctx;
    pthread_mutex_lock(&osa->in);
    if (osa->qstate == QDIO_ACTIVE)
        in_close(osa);
    in_unlock_irq(osa);
}

/* A receiver made room for an output walk that waited (or the wait reached
 * its bound): the walk goes on in a resume.  Any thread, no lock of ours. */
static void port_unblocked(void *ctx)
{
    struct glan_osa *osa = ctx;
    osa->ops->resume(osa->host);
}

const struct glan_port_ops osa_port_ops = {
    .deliver = port_deliver,
    .flush = port_flush,
};

/* With a host that resumes output walks: the walk waits for a receiver's
 * room instead of losing the datagram. */
const struct glan_port_ops osa_port_ops_wait = {
    .deliver = port_deliver,
    .flush = port_flush,
    .unblocked = port_unblocked,
};

/* A frame the device makes itself (an ARP or ND answer from neigh.c) goes
 * straight into this guest's input.  Caller holds out, not in. */
static void inject(struct glan_osa *osa, const struct osa_frame *f)
{
    struct qeth_hdr_l3 hdr;
    memset(&hdr, 0, sizeof hdr);
    hdr.id = QETH_HEADER_TYPE_LAYER3;
    hdr.flags = f->flags;
    put16(hdr.length, (uint16_t)f->len);
    pthread_mutex_lock(&osa->in);
    if (osa->qstate == QDIO_ACTIVE && osa->niq && in_put(osa, &hdr, f->data, f->len) == 0)
        in_close(osa);
    in_unlock_irq(osa);
}

/* ---- output: SIGA-w walks the guest's primed buffers ------------------------------- */

/* What one output walk (a SIGA, or a resume) has taken so far: the walk
 * starts no new buffer once any of these reaches its OSA_WALK_* bound
 * (osa_int.h; docs/osa.md, "How much one SIGA does"). */
struct walk {
    unsigned buffers;
    unsigned packets;
    uint64_t bytes;
};

static int walk_spent(const struct walk *w)
{
    return w->buffers >= OSA_WALK_BUFFERS || w->packets >= OSA_WALK_PACKETS ||
           w->bytes >= OSA_WALK_BYTES;
}

/* A read position in one output SBAL. */
struct cursor {
    struct glan_osa *osa;
    const struct sbal *sbal;
    struct walk *walk;
    unsigned key;
    unsigned e;
    uint32_t off;
};

/* Move past exhausted elements.  0 when positioned at a byte; 1 at the end
 * of the buffer (LAST_ENTRY consumed); -1 when the chain runs off the SBAL
 * without LAST_ENTRY. */
static int cur_settle(struct cursor *c)
{
    for (;;) {
        if (c->e >= QDIO_MAX_ELEMENTS)
            return -1;
        if (c->off < elem_len(c->sbal, c->e))
            return 0;
        if (c->sbal->element[c->e].eflags & SBAL_EFLAGS_LAST_ENTRY)
            return 1;
        c->e++;
        c->off = 0;
    }
}

/* Read n bytes (dst NULL: skip them), across elements.  0 or -1. */
static int cur_read(struct cursor *c, uint8_t *dst, uint32_t n)
{
    while (n) {
        if (cur_settle(c) != 0)
            return -1;
        uint32_t room = elem_len(c->sbal, c->e) - c->off;
        uint32_t k = n < room ? n : room;
        if (dst) {
            if (gread(c->osa, be64(c->sbal->element[c->e].addr) + c->off, dst, k, c->key) < 0)
                return -1;
            dst += k;
        }
        c->off += k;
        c->walk->bytes += k;
        n -= k;
    }
    return 0;
}

/* The header's cast for the base.  Unicast is left to the base, which
 * knows a multicast or limited-broadcast destination when it sees one; only
 * a broadcast is passed as said, since a subnet-directed broadcast cannot
 * be told from the address alone. */
static enum glan_cast cast_of(uint8_t flags)
{
    switch (flags & QETH_CAST_MASK) {
    case QETH_CAST_MULTICAST:
        return GLAN_CAST_MULTICAST;
    case QETH_CAST_BROADCAST:
        return GLAN_CAST_BROADCAST;
    default:
        return GLAN_CAST_AUTO;
    }
}

/* The timestamp and cast the base gets with a datagram of this device. */
static struct glan_tx_meta tx_meta(struct glan_osa *osa, enum glan_cast cast)
{
    struct glan_tx_meta meta = {.cast = cast};
    if (osa->ops->clock)
        meta.ts_ns = osa->ops->clock(osa->host);
    return meta;
}

/* The base refused the len bytes at the cursor (too big, no buffer; it
 * counted them): pass over them, and when the LAN is monitored (a trace of
 * dropped datagrams) show the monitor as much of them as it keeps, read out
 * of guest storage.  Whether the buffer is good does not depend on being
 * watched: bytes that cannot be read are passed over as when nobody
 * watches, unshown.  -1 when the SBAL's chain is bad. */
static int refuse_ip(struct glan_osa *osa, struct cursor *c, uint32_t len, enum glan_cast cast,
                     enum glan_drop why)
{
    size_t keep = glan_port_monitored(osa->port);
    if (keep > len)
        keep = len;
    uint8_t *copy = keep ? malloc(keep) : NULL;
    struct cursor at = *c;
    if (copy && cur_read(c, copy, (uint32_t)keep) == 0) {
        struct glan_tx_meta meta = tx_meta(osa, cast);
        glan_port_show_refused(osa->port, copy, keep, why, &meta);
    }
    free(copy);
    *c = at;
    return cur_read(c, NULL, len);
}

/* What the guest's header asked of the device for one datagram: the
 * checksums (GLAN_OFFLOAD_CSUM), or TSO at mss (GLAN_OFFLOAD_TSO). */
struct offload_req {
    uint8_t flags;
    uint16_t mss;
};

/* Copy len bytes at the cursor into base storage and send them.  -1 when the
 * guest storage could not be read. */
static int send_ip(struct glan_osa *osa, struct cursor *c, uint32_t len, enum glan_cast cast,
                   int check_ns, const struct offload_req *off)
{
    struct glan_txbuf tb;
    enum glan_drop why = glan_port_tx_begin(osa->port, len, &tb);
    if (why != GLAN_DROP_NONE)
        return refuse_ip(osa, c, len, cast, why);
    if (cur_read(c, tb.data, len) < 0) {
        glan_port_tx_abort(osa->port, &tb);
        return -1;
    }
    if (off->flags) {
        /* In layer 2 the datagram follows the frame's Ethernet header. */
        size_t hl = osa->layer == MPC_PROT_L2 ? glan_offload_eth_hlen(tb.data, len) : 0;
        uint8_t *ip = tb.data + hl;
        uint32_t n = len - (uint32_t)hl;
        /* Linux zeroes the IPv4 total length of a TSO datagram
         * (qeth_l3_fixup_headers): the adapter takes it from the header's
         * length, as an IPv6 payload length of 0 would be. */
        if ((off->flags & GLAN_OFFLOAD_TSO) && n >= 40 && ip[0] >> 4 == 4 && be16(ip + 2) == 0)
            put16(ip + 2, (uint16_t)n);
        else if ((off->flags & GLAN_OFFLOAD_TSO) && n >= 60 && ip[0] >> 4 == 6 && be16(ip + 4) == 0)
            put16(ip + 4, (uint16_t)(n - 40));
        /* The checksums are computed here, in the buffer the datagram
         * crosses the LAN in, so that every copy of it is complete; a TSO
         * datagram stays whole and is cut by whoever needs it cut.  A
         * layer-2 frame that carries no IP datagram cannot be offloaded. */
        if ((osa->layer == MPC_PROT_L2 && hl == 0) ||
            glan_offload_check(ip, n, off->flags, off->mss) != GLAN_OFFLOAD_OK ||
            glan_offload_complete(ip, n) < 0) {
            glan_port_tx_abort(osa->port, &tb);
            OSA_INC(osa, out_offload_bad);
            return 0;
        }
    }
    struct osa_frame na;
    if (check_ns && osa_neigh_solicit(osa->port, tb.data, len, &na)) {
        inject(osa, &na);
        glan_port_tx_abort(osa->port, &tb);
        OSA_INC(osa, out_absorbed);
        return 0;
    }
    struct glan_tx_meta meta = tx_meta(osa, cast);
    if (off->flags) {
        meta.offload = (uint8_t)(off->flags | GLAN_OFFLOAD_CSUM);
        meta.mss = off->mss;
    }
    enum glan_drop verdict;
    if (glan_port_tx_try(osa->port, &tb, len, &meta, &verdict) == -EAGAIN) {
        /* The receiver has no room: the datagram stays in the guest's
         * buffer, read again when the walk goes on. */
        glan_port_tx_abort(osa->port, &tb);
        return 1;
    }
    if (off->flags & GLAN_OFFLOAD_TSO)
        OSA_INC(osa, out_tso);
    else if (off->flags)
        OSA_INC(osa, out_csum);
    OSA_INC(osa, out_packets);
    return 0;
}

/* A passthrough packet: an Ethernet frame.  IPv6 (and IPv4) is unwrapped
 * and sent; ARP is answered or absorbed; anything else is absorbed. */
static int send_passthru(struct glan_osa *osa, struct cursor *c, uint32_t len, enum glan_cast cast,
                         const struct offload_req *off)
{
    uint8_t eth[ETH_HDR_LEN + VLAN_TAG_LEN];
    uint32_t hl = ETH_HDR_LEN;
    if (len < hl || cur_read(c, eth, ETH_HDR_LEN) < 0)
        return -1;
    uint16_t type = be16(eth + 12);
    if (type == ET_VLAN) {
        hl = ETH_HDR_LEN + VLAN_TAG_LEN;
        if (len < hl || cur_read(c, eth + ETH_HDR_LEN, VLAN_TAG_LEN) < 0)
            return -1;
        type = be16(eth + 16);
    }
    uint32_t rest = len - hl;
    if (type == ET_IPV6 || type == ET_IPV4)
        return send_ip(osa, c, rest, cast, type == ET_IPV6, off);
    OSA_INC(osa, out_absorbed);
    if (type == ET_ARP) {
        uint8_t arp[28];
        if (rest >= sizeof arp) {
            if (cur_read(c, arp, sizeof arp) < 0)
                return -1;
            struct osa_frame reply;
            if (osa_neigh_arp(osa->port, eth, arp, sizeof arp, &reply))
                inject(osa, &reply);
            rest -= sizeof arp;
        }
    }
    return cur_read(c, NULL, rest);
}

/* out_buffer's answer for a buffer it stopped in to wait for room. */
#define OUT_WAIT 0

/* Process one primed output buffer, from where a walk that waited stopped
 * in it; returns the SLSB state to give it (or OUT_WAIT: it stays primed,
 * q->part says where to go on) and sets *pci when the guest asked for an
 * interrupt on completion. */
static uint8_t out_buffer(struct glan_osa *osa, struct osa_queue *q, unsigned i, struct walk *w,
                          int *pci)
{
    struct sbal sbal;
    if (gread(osa, q->sbal[i], &sbal, sizeof sbal, q->sbal_key) < 0)
        return SLSB_P_OUTPUT_ERROR;
    if (sbal.element[0].sflags & SBAL_SFLAGS0_PCI_REQ)
        *pci = 1;
    /* An element holds at most 64 KiB (16 of them a 1 MiB buffer): that
     * bounds the work one hostile buffer can cause. */
    for (unsigned e = 0; e < QDIO_MAX_ELEMENTS; e++) {
        if (elem_len(&sbal, e) > 65536)
            return SLSB_P_OUTPUT_ERROR;
        if (sbal.element[e].eflags & SBAL_EFLAGS_LAST_ENTRY)
            break;
    }
    struct cursor c = {.osa = osa, .sbal = &sbal, .walk = w, .key = q->sbal_key};
    if (q->part) {
        /* cur_settle refuses an element past the SBAL, and moves past an
         * offset the (rewritten) SBAL no longer has */
        c.e = q->part_e;
        c.off = q->part_off;
        q->part = 0;
    }
    /* Each packet consumes at least a 32-byte header, and a buffer holds at
     * most 16 x 64 KiB, so this loop ends; the bound makes that obvious. */
    for (unsigned n = 0; n < QDIO_MAX_ELEMENTS * 65536 / QETH_HDR_LEN; n++) {
        int s = cur_settle(&c);
        if (s == 1)
            return SLSB_P_OUTPUT_EMPTY;
        if (s < 0)
            break; /* no LAST_ENTRY */
        /* The header must sit in one element (Linux never splits it). */
        if (elem_len(&sbal, c.e) - c.off < QETH_HDR_LEN) {
            OSA_INC(osa, out_bad_header);
            break;
        }
        union {
            struct qeth_hdr_l3 l3;
            struct qeth_hdr_l2 l2;
        } h;
        unsigned he = c.e;
        uint32_t hoff = c.off;
        w->packets++;
        if (cur_read(&c, (uint8_t *)&h, QETH_HDR_LEN) < 0)
            break;
        /* In layer 2 a frame goes to the base as it is (l2.c), its
         * offloads done as in layer 3. */
        int l2 = osa->layer == MPC_PROT_L2;
        uint32_t len = l2 ? osa_l2_out_len(&h.l2) : be16(h.l3.length);
        if ((!l2 && h.l3.id != QETH_HEADER_TYPE_LAYER3 && h.l3.id != QETH_HEADER_TYPE_L3_TSO) ||
            len == 0) {
            OSA_INC(osa, out_bad_header);
            break;
        }
        /* The offloads asked for: a TSO header (its 32-byte extension
         * follows), or the checksum requests of qeth_tx_csum (layer 2: in
         * the second flags byte).  An IPv4 header-only request is nothing
         * to do: the stack computes it. */
        struct offload_req off = {0, 0};
        int tso = l2 ? h.l2.id == QETH_HEADER_TYPE_L2_TSO : h.l3.id == QETH_HEADER_TYPE_L3_TSO;
        uint8_t ext_flags = l2 ? h.l2.flags[1] : h.l3.ext_flags;
        if (tso) {
            struct qeth_hdr_ext_tso ext;
            if (cur_read(&c, (uint8_t *)&ext, sizeof ext) < 0)
                break;
            off.flags = GLAN_OFFLOAD_TSO;
            off.mss = be16(ext.mss);
        } else if (ext_flags & QETH_HDR_EXT_CSUM_TRANSP_REQ) {
            off.flags = GLAN_OFFLOAD_CSUM;
        }
        enum glan_cast cast = l2 ? GLAN_CAST_AUTO : cast_of(h.l3.flags);
        int rc = !l2 && h.l3.flags & QETH_HDR_PASSTHRU ? send_passthru(osa, &c, len, cast, &off)
                                                       : send_ip(osa, &c, len, cast, 0, &off);
        if (rc > 0) {
            q->part = 1;
            q->part_e = he;
            q->part_off = hoff;
            return OUT_WAIT;
        }
        if (rc < 0)
            break;
    }
    return SLSB_P_OUTPUT_ERROR;
}

/* Walk queue qn from where we stopped through its primed buffers, until
 * the walk w is spent.  Caller holds out.  Sets *pci when an interrupt was
 * asked for; returns 1 when the walk stopped at its bound with a primed
 * buffer left, 2 when it stopped to wait for a receiver's room (the
 * receiver's drainer or the base thread calls our unblocked op), 0 when
 * the queue has none left (or its SLSB is unreadable: counted, and nothing
 * the device can mark).
 *
 * A guest primes a buffer without a SIGA while the buffer before it is
 * still primed (Linux's qdio "tacks on": the adapter is busy with the queue
 * and will find it).  So a walk never ends on its first look at the SLSBs:
 * before it stops at a buffer that was not primed, it looks again, after a
 * full fence (QF6 in osa_int.h), and goes on if the guest primed it
 * meanwhile.  Without that look, such a buffer would wait for a SIGA that
 * never comes, and every buffer after it too: the guest's output would
 * stop for good. */
static int out_queue(struct glan_osa *osa, unsigned qn, struct walk *w, int *pci)
{
    struct osa_queue *q = &osa->oq[qn];
    uint8_t slsb[QDIO_MAX_BUFFERS_PER_Q];
    /* QA4: acquire, pairs with QR4, the guest's store of 0x62 after it
     * filled the buffer: the SBAL and data read below are what it primed. */
    if (slsb_read(osa, q, 0, slsb, sizeof slsb) < 0)
        return 0;
    unsigned i = q->next;
    int left = 0;
    if (slsb[i] != SLSB_CU_OUTPUT_PRIMED)
        q->part = 0; /* the guest took back the buffer we stopped in */
    for (unsigned n = 0;; n++) {
        if (slsb[i] != SLSB_CU_OUTPUT_PRIMED) {
            if (n == 0)
                break; /* a SIGA (or resume) that found nothing */
            /* QF6: our stores of the states, then the look at the next
             * buffer's; the guest's store of its state, then its look at
             * ours (qdio's tack-on test): one of us sees the other. */
            atomic_thread_fence(memory_order_seq_cst);
            if (slsb_read(osa, q, i, &slsb[i], 1) < 0 || slsb[i] != SLSB_CU_OUTPUT_PRIMED)
                break;
            OSA_INC(osa, out_tacked);
        }
        if (walk_spent(w) || n >= QDIO_MAX_BUFFERS_PER_Q) {
            /* A whole ring in one walk is a guest priming as fast as we
             * empty: the rest is owed, walked in a resume. */
            left = 1;
            break;
        }
        /* One output buffer's datagrams reach each peer in one drain pass:
         * packed into its input buffers, with one interrupt.  Per buffer,
         * not per SIGA, so a long walk never fills a peer's wait queue. */
        glan_port_batch_begin(osa->port);
        int bpci = 0;
        uint8_t st = out_buffer(osa, q, i, w, &bpci);
        glan_port_batch_end(osa->port);
        if (st == OUT_WAIT) {
            /* In order, as the adapter takes them: nothing after this
             * buffer goes before it. */
            OSA_INC(osa, out_waits);
            left = 2;
            break;
        }
        if (bpci)
            *pci = 1;
        if (st == SLSB_P_OUTPUT_ERROR) {
            OSA_INC(osa, out_errors);
            *pci = 1; /* the guest learns of errors without waiting for a timer */
        }
        OSA_INC(osa, out_buffers);
        w->buffers++;
        /* QR2: release, pairs with QA2, the guest's read of the state before
         * it reuses the buffer: every read of this buffer above is done
         * before the guest can see 0xA1 and write into it again. */
        set_state(osa, q, i, st);
        slsb[i] = st;
        i = qdio_next(i);
    }
    q->next = i;
    return left;
}

/* The output walk of a SIGA (mask: the queues it names) or of a resume
 * (mask 0): the queues named and those a walk before left at its bound or
 * waiting for room, round robin from the one cut short, within one walk's
 * bound.  Returns 1 when there were queues left from before. */
static int outputs(struct glan_osa *osa, uint32_t mask)
{
    int irq = 0, owed = 0;
    struct walk w = {0, 0, 0};
    pthread_mutex_lock(&osa->out);
    if (osa->qstate == QDIO_ACTIVE && osa->noq) {
        uint32_t valid = osa->noq >= 32 ? ~0u : ~(~0u >> osa->noq);
        if (mask & ~valid)
            OSA_INC(osa, siga_bad_queue);
        owed = (osa->out_owed | osa->out_wait) != 0;
        mask = (mask & valid) | osa->out_owed | osa->out_wait;
        osa->out_owed = 0;
        osa->out_wait = 0;
        unsigned first = osa->out_next_q < osa->noq ? osa->out_next_q : 0;
        for (unsigned k = 0; k < osa->noq; k++) {
            unsigned qn = (first + k) % osa->noq;
            if (!(mask & (0x80000000u >> qn)))
                continue;
            int left = out_queue(osa, qn, &w, &irq);
            if (left == 2) {
                osa->out_wait |= 0x80000000u >> qn;
            } else if (left) {
                if (!osa->out_owed)
                    osa->out_next_q = qn;
                osa->out_owed |= 0x80000000u >> qn;
            }
        }
        /* Every queue named was looked at: one whose turn came after the
         * bound was reached returned 1 at once if it had a primed buffer. */
        if (osa->out_owed) {
            OSA_INC(osa, out_bounded);
            if (osa->ops->resume)
                osa->ops->resume(osa->host);
        }
    }
    pthread_mutex_unlock(&osa->out);
    if (irq)
        raise_irq(osa);
    return owed;
}

int glan_osa_siga_w(struct glan_osa *osa, uint32_t oqmask)
{
    OSA_INC(osa, siga_w);
    if (osa->qstate != QDIO_ACTIVE)
        return 1;
    outputs(osa, oqmask);
    return 0;
}

int glan_osa_resume(struct glan_osa *osa)
{
    if (osa->qstate != QDIO_ACTIVE)
        return 0;
    if (!outputs(osa, 0))
        return 0;
    OSA_INC(osa, out_resumed);
    return 1;
}

int glan_osa_siga_r(struct glan_osa *osa, uint32_t iqmask)
{
    OSA_INC(osa, siga_r);
    if (osa->qstate != QDIO_ACTIVE)
        return 1;
    /* The input buffers are looked at when something arrives; what waits in
     * the base for us is delivered now, in this thread. */
    if (iqmask & 0x80000000u)
        glan_port_kick(osa->port);
    return 0;
}

int glan_osa_siga_s(struct glan_osa *osa, uint32_t oqmask, uint32_t iqmask)
{
    OSA_INC(osa, siga_s);
    if (osa->qstate != QDIO_ACTIVE)
        return 1;
    outputs(osa, oqmask);
    if (iqmask & 0x80000000u)
        glan_port_kick(osa->port);
    return 0;
}
