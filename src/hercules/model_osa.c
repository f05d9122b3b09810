/*
 * The OSA-Express device model (include/guestlan/osa.h) behind hdtglan's
 * seam (seam.h): a pass-through from struct glan_herc_model to glan_osa_*.
 * Built in when CMake's GLAN_HERC_MODEL is "osa"; model.c then points
 * glan_herc_model here.  Includes no Hercules header.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "guestlan/osa.h"
#include "seam.h"

/* One adapter: the model's object and the host table it was given, which
 * must outlive it. */
struct adapter {
    struct glan_osa *osa;
    struct glan_osa_host_ops ops;
};

/* NOP and ACTIVATE QUEUES move no data (protocol-map.md section 1.1). */
static const uint8_t immediate[256] = {[0x03] = 1, [0x1F] = 1};

static int osa_iface_create(const struct glan_herc_ifinfo *info, struct glan_lan *lan,
                            const struct glan_herc_host_ops *host, void *hostctx, void **ctx,
                            struct glan_port **port, char *err, size_t errlen)
{
    struct adapter *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    /* The two tables have the same members and contracts. */
    a->ops.mem = host->mem;
    a->ops.interrupt = host->interrupt;
    a->ops.ccw_end = host->ccw_end;
    a->ops.log = host->log;
    struct glan_osa_config cfg = {.name = info->name, .chpid = info->chpid};
    for (unsigned s = 0; s < GLAN_HERC_SLOTS; s++)
        cfg.devnum[s] = info->devnum[s];
    a->osa = glan_osa_create(lan, &cfg, &a->ops, hostctx, err, errlen);
    if (!a->osa) {
        free(a);
        return -EINVAL;
    }
    *ctx = a;
    *port = glan_osa_port(a->osa);
    return 0;
}

static void osa_iface_destroy(void *ctx)
{
    struct adapter *a = ctx;
    glan_osa_destroy(a->osa);
    free(a);
}

static int osa_ccw(void *ctx, unsigned slot, struct glan_herc_ccw *ccw)
{
    struct adapter *a = ctx;
    struct glan_osa_io io = {
        .cmd = ccw->cmd, .flags = ccw->flags, .count = ccw->count, .buf = ccw->buf};
    int rc = glan_osa_exec(a->osa, slot, &io);
    if (rc < 0) {
        /* A slot the model does not know: reject, as for a bad command. */
        ccw->unitstat = GLAN_OSA_US_CE | GLAN_OSA_US_DE | GLAN_OSA_US_UC;
        ccw->residual = ccw->count;
        ccw->more = 0;
        return GLAN_HERC_DONE;
    }
    ccw->unitstat = io.unitstat;
    ccw->residual = io.residual;
    ccw->more = io.more;
    return rc == GLAN_OSA_PENDING ? GLAN_HERC_PENDING : GLAN_HERC_DONE;
}

static void osa_sense(void *ctx, unsigned slot, uint8_t out[32])
{
    glan_osa_sense(((struct adapter *)ctx)->osa, slot, out);
}

static void osa_halt(void *ctx, unsigned slot)
{
    glan_osa_halt(((struct adapter *)ctx)->osa, slot);
}

static void osa_clear(void *ctx, unsigned slot)
{
    glan_osa_clear(((struct adapter *)ctx)->osa, slot);
}

static int osa_siga_w(void *ctx, uint32_t oqmask)
{
    return glan_osa_siga_w(((struct adapter *)ctx)->osa, oqmask);
}

static int osa_siga_r(void *ctx, uint32_t iqmask)
{
    return glan_osa_siga_r(((struct adapter *)ctx)->osa, iqmask);
}

static int osa_siga_s(void *ctx, uint32_t oqmask, uint32_t iqmask)
{
    return glan_osa_siga_s(((struct adapter *)ctx)->osa, oqmask, iqmask);
}

static void osa_ssqd(void *ctx, unsigned slot, uint16_t sch, uint8_t out[32])
{
    glan_osa_ssqd(((struct adapter *)ctx)->osa, slot, sch, out);
}

static int osa_set_indicators(void *ctx, uint64_t alsi, unsigned alsi_key, uint64_t dsci,
                              unsigned dsci_key)
{
    return glan_osa_set_indicators(((struct adapter *)ctx)->osa, alsi, alsi_key, dsci, dsci_key);
}

static void osa_describe(void *ctx, unsigned slot, char *buf, size_t len)
{
    struct glan_osa_stats s;
    (void)slot;
    glan_osa_get_stats(((struct adapter *)ctx)->osa, &s);
    snprintf(buf, len, "ccws %llu uc %llu siga w/r %llu/%llu out %llu in %llu irq %llu",
             (unsigned long long)s.ccws, (unsigned long long)s.unit_checks,
             (unsigned long long)s.siga_w, (unsigned long long)s.siga_r,
             (unsigned long long)s.out_packets, (unsigned long long)s.in_packets,
             (unsigned long long)s.interrupts);
}

const struct glan_herc_model glan_herc_osa_model = {
    .name = "osa",
    .devtype = 0x1732,
    .chptype = 0x11,
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
    .ssqd = osa_ssqd,
    .set_indicators = osa_set_indicators,
    .describe = osa_describe,
};
