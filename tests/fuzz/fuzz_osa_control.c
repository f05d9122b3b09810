/*
 * libFuzzer target: CCW data and the MPC/IPA control blocks.  Each input
 * picks how far the simulated guest brings the adapter up (nothing, IDX,
 * the MPC handshake, the whole Linux bring-up), then runs a sequence of
 * CCWs with fuzzed command codes and data on fuzzed subchannels.  The
 * device must never crash, hang or touch storage outside the guest.
 * Input: step byte, then records {slot, command, count (2 bytes), data
 * length (2 bytes), data}; tests/fuzz/make-seeds.py writes such inputs.
 * Built with FUZZ_IQD (target fuzz_osa_control_iqd) the LAN is of type
 * HIPERS: the same against the HiperSockets personality.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "guestlan/base.h"
#include "guestlan/osa.h"
#include "guestlan/osa_wire.h"
#include "guestlan/simguest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct glan_lan *lan;
static struct simguest *g;
/* CCW buffers stay valid while a CCW on their slot is pending. */
static uint8_t slotbuf[GLAN_OSA_SLOTS][4096];
static struct glan_osa_io slotio[GLAN_OSA_SLOTS];
static int pending[GLAN_OSA_SLOTS];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!lan) {
        struct glan_lan_config cfg = {.name = "fuzz"};
#ifdef FUZZ_IQD
        cfg.type = GLAN_LAN_HIPERS; /* the HiperSockets personality */
#endif
        char err[128];
        lan = glan_lan_create(&cfg, err, sizeof err);
        g = glan_sg_create(lan, "0600", 0x0600);
        if (!g)
            __builtin_trap();
    }
    glan_sg_reset(g);
    memset(pending, 0, sizeof pending);
    if (size < 1)
        return 0;
    static const char *const addrs[] = {"10.1.0.1", "fd00::1", NULL};
    switch (data[0] % 4) {
    case 3:
        glan_sg_bringup(g, addrs);
        break;
    case 2:
        glan_sg_idx_activate(g, g->rd, 1);
        glan_sg_idx_activate(g, g->wr, 0);
        glan_sg_start_read(g);
        glan_sg_cm_enable(g);
        glan_sg_cm_setup(g);
        glan_sg_ulp_enable(g, MPC_PROT_L3);
        glan_sg_ulp_setup(g);
        break;
    case 1:
        glan_sg_idx_activate(g, g->rd, 1);
        glan_sg_idx_activate(g, g->wr, 0);
        break;
    default:
        break;
    }
    data++;
    size--;
    while (size >= 6) {
        unsigned slot = data[0] % GLAN_OSA_SLOTS;
        uint8_t cmd = data[1];
        uint32_t len = be16(data + 2), dlen = be16(data + 4);
        data += 6;
        size -= 6;
        uint32_t have = dlen < size ? dlen : (uint32_t)size;
        if (pending[slot] && !g->host.ended[slot])
            glan_osa_halt(g->osa, slot); /* a channel starts nothing on a busy subchannel */
        g->host.ended[slot] = 0;
        memset(slotbuf[slot], 0, sizeof slotbuf[slot]);
        memcpy(slotbuf[slot], data, have < 4096 ? have : 4096);
        uint32_t count = len < 4096 ? len : 4096;
        int rc = glan_sg_ccw(g, slot, cmd, 0, slotbuf[slot], count, &slotio[slot]);
        pending[slot] = rc == GLAN_OSA_PENDING;
        if (rc == GLAN_OSA_DONE && slotio[slot].residual > count)
            __builtin_trap();
        data += have;
        size -= have;
    }
    return 0;
}
