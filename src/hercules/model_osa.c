/*
 * The OSA-Express device model (include/osa/guestlan/osa.h) behind hdtglan's
 * seam (seam.h): a pass-through from struct glan_herc_model to glan_osa_*,
 * which speaks the seam's types (osa.h's own).  Built in when CMake's
 * GLAN_HERC_MODEL is "osa"; model.c then points glan_herc_model here.
 * Includes no Hercules header.  The context of each interface is its
 * struct glan_osa.
 */
#include <errno.h>
#include <stdio.h>

#include "guestlan/osa.h"
#include "seam.h"

/* The commands that move no data (include/osa/guestlan/osa.h). */
static const uint8_t immediate[256] = {[GLAN_OSA_CMD_NOP] = 1, [GLAN_OSA_CMD_AQUEUE] = 1};

static int osa_iface_create(const struct glan_herc_ifinfo *info, struct glan_lan *lan,
                            const struct glan_osa_host_ops *host, void *hostctx, void **ctx,
                            struct glan_port **port, char *err, size_t errlen)
{
    struct glan_osa_config cfg = {.name = info->name, .chpid = info->chpid};
    for (unsigned s = 0; s < GLAN_HERC_SLOTS; s++)
        cfg.devnum[s] = info->devnum[s];
    struct glan_osa *osa = glan_osa_create(lan, &cfg, host, hostctx, err, errlen);
    if (!osa)
        return -EINVAL;
    *ctx = osa;
    *port = glan_osa_port(osa);
    return 0;
}

static void osa_iface_destroy(void *ctx)
{
    glan_osa_destroy(ctx);
}

static int osa_ccw(void *ctx, unsigned slot, struct glan_osa_io *ccw)
{
    int rc = glan_osa_exec(ctx, slot, ccw);
    if (rc < 0) {
        /* A slot the model does not know: reject, as for a bad command. */
        ccw->unitstat = GLAN_OSA_US_CE | GLAN_OSA_US_DE | GLAN_OSA_US_UC;
        ccw->residual = ccw->count;
        ccw->more = 0;
        return GLAN_OSA_DONE;
    }
    return rc;
}

static void osa_sense(void *ctx, unsigned slot, uint8_t out[32])
{
    glan_osa_sense(ctx, slot, out);
}

static void osa_halt(void *ctx, unsigned slot)
{
    glan_osa_halt(ctx, slot);
}

static void osa_clear(void *ctx, unsigned slot)
{
    glan_osa_clear(ctx, slot);
}

static int osa_siga_w(void *ctx, uint32_t oqmask)
{
    return glan_osa_siga_w(ctx, oqmask);
}

static int osa_siga_r(void *ctx, uint32_t iqmask)
{
    return glan_osa_siga_r(ctx, iqmask);
}

static int osa_siga_s(void *ctx, uint32_t oqmask, uint32_t iqmask)
{
    return glan_osa_siga_s(ctx, oqmask, iqmask);
}

static int osa_resume(void *ctx)
{
    return glan_osa_resume(ctx);
}

static void osa_ssqd(void *ctx, unsigned slot, uint16_t sch, uint8_t out[32])
{
    glan_osa_ssqd(ctx, slot, sch, out);
}

static int osa_set_indicators(void *ctx, uint64_t alsi, unsigned alsi_key, uint64_t dsci,
                              unsigned dsci_key)
{
    return glan_osa_set_indicators(ctx, alsi, alsi_key, dsci, dsci_key);
}

static void osa_describe(void *ctx, unsigned slot, char *buf, size_t len)
{
    struct glan_osa_stats s;
    (void)slot;
    glan_osa_get_stats(ctx, &s);
    int n = snprintf(buf, len, "ccws %llu uc %llu siga w/r %llu/%llu out %llu in %llu irq %llu",
                     (unsigned long long)s.ccws, (unsigned long long)s.unit_checks,
                     (unsigned long long)s.siga_w, (unsigned long long)s.siga_r,
                     (unsigned long long)s.out_packets, (unsigned long long)s.in_packets,
                     (unsigned long long)s.interrupts);
    /* Back-pressure, once a walk waited (docs/osa.md, "Back-pressure"). */
    if (n >= 0 && (size_t)n < len && (s.out_waits || s.out_bounded)) {
        uint32_t owed, wait;
        glan_osa_out_left(ctx, &owed, &wait);
        n += snprintf(buf + n, len - (size_t)n,
                      "; walks waited %llu, bounded %llu, resumed %llu, left now %08x/%08x",
                      (unsigned long long)s.out_waits, (unsigned long long)s.out_bounded,
                      (unsigned long long)s.out_resumed, owed, wait);
    }
    /* The offloads, once the guest used one (docs/osa.md, "Offloads"). */
    if (n >= 0 && (size_t)n < len &&
        (s.out_csum || s.out_tso || s.out_offload_bad || s.in_csum_verified || s.in_tso_whole ||
         s.in_tso_cut || s.in_offload_bad))
        snprintf(buf + n, len - (size_t)n,
                 "; offload out csum %llu tso %llu refused %llu, in verified %llu tso whole %llu"
                 " cut %llu into %llu segments",
                 (unsigned long long)s.out_csum, (unsigned long long)s.out_tso,
                 (unsigned long long)s.out_offload_bad, (unsigned long long)s.in_csum_verified,
                 (unsigned long long)s.in_tso_whole, (unsigned long long)s.in_tso_cut,
                 (unsigned long long)s.in_tso_segments);
}

const struct glan_herc_model glan_herc_osa_model = {
    .name = "osa",
    .devtype = 0x1732,
    .chptype = 0x11,
    .chptype_iqd = 0x24,
    .immediate = immediate,
    .iface_create = osa_iface_create,
    .iface_destroy = osa_iface_destroy,
    .ccw = osa_ccw,
    .sense = osa_sense,
    .halt = osa_halt,
    .clear = osa_clear,
    .siga_w = osa_siga_w,
    .siga_r = osa_siga_r,
    .siga_s = osa_siga_s,
    .resume = osa_resume,
    .ssqd = osa_ssqd,
    .set_indicators = osa_set_indicators,
    .describe = osa_describe,
};
