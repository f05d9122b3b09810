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

/* An OSA-Express (OSD) is control unit 1731 model 01 with devices 1732
 * model 01, a HiperSockets card (IQD) models 05 of the same types: the
 * pair Linux's qeth_ids[] tells the card type by. */
static size_t sense_id(uint8_t model, uint8_t out[28])
{
    struct senseid id;
    memset(&id, 0, sizeof id);
    id.reserved = 0xff;
    put16(id.cu_type, 0x1731);
    id.cu_model = model;
    put16(id.dev_type, 0x1732);
    id.dev_model = model;
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

size_t glan_osa_sense_id(uint8_t out[28])
{
    return sense_id(0x01, out);
}

size_t osa_sense_id(const struct glan_osa *osa, uint8_t out[28])
{
    return sense_id(osa->iqd ? 0x05 : 0x01, out);
}

uint16_t osa_iqd_peer_level(uint16_t level)
{
    /* qeth checks the reply's level against one it derives from its own:
     * 0x0400 plus the low byte when that byte is 8, 0x0200 plus the low
     * byte when the high byte's low bits are 01 (the 0x41xx levels), the
     * level itself otherwise. */
    if ((level & 0xff) == 8)
        return (uint16_t)(0x400 + (level & 0xff));
    if (((level >> 8) & 3) == 1)
        return (uint16_t)(0x200 + (level & 0xff));
    return level;
}

/* The frame-size codes of ULP ENABLE and the MTUs Linux's
 * qeth_get_mtu_outof_framesize makes of them: z/VM's maximum frame sizes
 * 16K, 24K, 40K and 64K. */
static const struct {
    uint16_t code;
    uint32_t mtu;
} iqd_frames[] = {{0x4000, 8192}, {0x6000, 16384}, {0xa000, 32768}, {0xffff, 57344}};

uint16_t osa_iqd_frame_code(uint32_t mtu)
{
    for (size_t i = 0; i < sizeof iqd_frames / sizeof iqd_frames[0]; i++)
        if (iqd_frames[i].mtu == mtu)
            return iqd_frames[i].code;
    return 0;
}

uint32_t osa_iqd_code_mtu(uint16_t code)
{
    for (size_t i = 0; i < sizeof iqd_frames / sizeof iqd_frames[0]; i++)
        if (iqd_frames[i].code == code)
            return iqd_frames[i].mtu;
    return 0;
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
    ned(&n[0], 0xc4, "001732", osa->iqd ? "005" : "001", osa->cfg.chpid, (uint8_t)dev, dev);
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
    /* A HiperSockets card's queues are of format 2, which makes Linux's
     * qdio use thin interrupts.  No completion queue: qdioac1 says nothing
     * of initiating input queues, so qeth sets none up, and no multiple
     * write count (mmwc 0), so it sends one buffer per SIGA, always with
     * function code 0 (the codes 3 and 4 of multiple and queued writes are
     * what Hyperion's SIGA does not pass on). */
    d.qfmt = osa->iqd ? QDIO_IQDIO_QFMT : QDIO_QETH_QFMT;
    /* SIGA-r and SIGA-w are the doorbells the device acts on; the guest's
     * SLSB is the adapter's copy, so no SIGA-s is ever needed. */
    d.qdioac1 = AC1_SIGA_INPUT_NEEDED | AC1_SIGA_OUTPUT_NEEDED | AC1_AUTOMATIC_SYNC_ON_THININT |
                AC1_AUTOMATIC_SYNC_ON_OUT_PCI;
    d.icnt = 1;
    d.ocnt = osa->cfg.out_queues;
    memcpy(out, &d, sizeof d);
}
