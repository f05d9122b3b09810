/*
 * MPC framing (mpc.h): starting a control block's headers and fixing up
 * its lengths once it is complete.  The device's replies (osa.c: the
 * handshake; ipa.c: IPA replies) and the simulated guest's commands
 * (src/simguest) both go through here, so the length rules live once.
 */
#include <stddef.h>
#include <string.h>

#include "guestlan/osa_mpc.h"

void osa_mpc_start(uint8_t *b, uint16_t unit, uint8_t rrh_type, uint8_t proto,
                   const uint8_t token[4])
{
    memset(b, 0, MPC_PDU_OFFSET);
    struct mpc_hdr *h = (struct mpc_hdr *)b;
    put32(h->th.id, MPC_TH_ID);
    put32(h->th.offrrh, sizeof h->th);
    put16(h->th.unit, unit);
    put16(h->th.numrrh, 1);
    h->rrh.type = rrh_type;
    h->rrh.proto = proto;
    put16(h->rrh.res2, 1);
    put16(h->rrh.offph, sizeof h->rrh);
    h->rrh.tokentype = MPC_TOKEN_TYPE;
    memcpy(h->rrh.token, token, 4);
    h->ph.locdata = 0x01;
    put32(h->ph.offdata, MPC_PDU_OFFSET);
}

uint32_t osa_mpc_puk(uint8_t *b, uint32_t off, uint8_t what, uint8_t type)
{
    struct mpc_puk *p = (struct mpc_puk *)(b + off);
    memset(p, 0, sizeof *p);
    put16(p->length, sizeof *p);
    p->what = what;
    p->type = type;
    return off + (uint32_t)sizeof *p;
}

void osa_mpc_finalize(uint8_t *b, uint32_t total)
{
    struct mpc_th *th = (struct mpc_th *)b;
    struct mpc_rrh *rrh = (struct mpc_rrh *)(b + be32(th->offrrh));
    struct mpc_ph *ph = (struct mpc_ph *)((uint8_t *)rrh + be16(rrh->offph));
    uint32_t pdu_off = be32(ph->offdata);
    int has_puk = rrh->type != RRH_TYPE_IPA;
    uint32_t pdu = total - pdu_off;
    put32(th->length, total);
    put16(rrh->lenfda, (uint16_t)pdu);
    rrh->lenalda[0] = (uint8_t)(pdu >> 16);
    put16(rrh->lenalda + 1, (uint16_t)pdu);
    ph->lendata[0] = (uint8_t)(pdu >> 16);
    put16(ph->lendata + 1, (uint16_t)pdu);
    if (has_puk)
        put16(((struct mpc_puk *)(b + pdu_off))->total, (uint16_t)(pdu - sizeof(struct mpc_puk)));
}
