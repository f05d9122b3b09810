/*
 * libFuzzer target: the output walk (SBAL, SBALE chains, layer-3 headers,
 * passthrough frames) and, through the base, the peer's input packing.
 * Two simulated guests are brought up once; each input is one SBAL (256
 * bytes) and the pages it points into.  Element addresses are taken
 * relative to the buffer's pages unless bit 0x80 of the element's reserved
 * byte asks for the raw address, so that most inputs reach real data and
 * some reach outside the guest.  The buffer must end 0xA1 or 0xAF.
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
static struct simguest *a, *b;
static struct sg_rx rx[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!lan) {
        struct glan_lan_config cfg = {.name = "fuzz"};
        char err[128];
        lan = glan_lan_create(&cfg, err, sizeof err);
        a = glan_sg_create(lan, "0600", 0x0600);
        b = glan_sg_create(lan, "0700", 0x0700);
        static const char *const aa[] = {"10.1.0.1", "fd00::1", NULL};
        static const char *const ba[] = {"10.1.0.2", "fd00::2", NULL};
        if (!a || !b || glan_sg_bringup(a, aa) || glan_sg_bringup(b, ba))
            __builtin_trap();
    }
    if (size < sizeof(struct sbal))
        return 0;
    const uint32_t span = 4 * 4096;
    unsigned i = a->out_next;
    uint64_t page = a->out_pages + (uint64_t)i * span;
    struct sbal *s = glan_sg_ptr(a, a->sbal[1 + SG_TX_QUEUE][i]);
    memcpy(s, data, sizeof *s);
    for (unsigned e = 0; e < QDIO_MAX_ELEMENTS; e++)
        if (!(s->element[e].res1 & 0x80))
            put64(s->element[e].addr, page + be64(s->element[e].addr) % span);
    size_t n = size - sizeof *s;
    memcpy(glan_sg_ptr(a, page), data + sizeof *s, n < span ? n : span);
    uint8_t *slsb = glan_sg_ptr(a, a->slsb[1 + SG_TX_QUEUE]);
    slsb[i] = SLSB_CU_OUTPUT_PRIMED;
    a->out_next = qdio_next(i);
    if (glan_osa_siga_w(a->osa, 0x80000000u >> SG_TX_QUEUE) != 0)
        __builtin_trap();
    if (slsb[i] != SLSB_P_OUTPUT_EMPTY && slsb[i] != SLSB_P_OUTPUT_ERROR)
        __builtin_trap();
    glan_sg_recv(b, rx, 64);
    glan_sg_recv(a, rx, 64);
    return 0;
}
