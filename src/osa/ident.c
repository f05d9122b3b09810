/*
 * What the adapter tells the channel and the guest about itself: the Sense
 * ID data (control unit 1731-01, device 1732-01, the CIWs that name RCD and
 * the queue commands), the Read Configuration Data (node descriptors, plant
 * "GL") and the SSQD descriptor of CHSC 0x24.  Pure functions of the
 * group's configuration: osa.c answers Sense ID and RCD CCWs with them, and
 * an emulator whose channel answers these itself calls them directly.
 */
#include <stdio.h>
#include <string.h>

#include "osa_int.h"

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

/* ---- CHSC ------------------------------------------------------------------ */

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
