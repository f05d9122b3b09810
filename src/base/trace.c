/*
 * Traces (include/base/guestlan/trace.h): a monitor of the base that writes what
 * it sees to a DLT_RAW pcap file (DLT_EN10MB for a LAN of transport
 * ETHERNET, whose datagrams are Ethernet frames).  Senders call the monitor concurrently, so
 * writes are serialised by the trace's own mutex; the filters are applied
 * before taking it, so a trace of one port costs the others little.  The
 * capture writer (capture.h, the layer below the base) stores
 * glan_dgram.ts_ns exactly, or refuses a timestamp the file's format cannot
 * hold, which we count as lost.  A TSO datagram of an offloading guest is
 * written as the segments it stands for (guestlan/offload.h), as a capture
 * on the wire would show them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guestlan/capture.h"
#include "guestlan/offload.h"
#include "guestlan/trace.h"

struct glan_trace {
    struct glan_lan *lan;
    struct glan_trace_config cfg;
    char path[4096];
    pthread_mutex_t mu;
    struct glan_pcap_writer *w;
    struct glan_trace_stats st;
    char err[256];
    struct glan_offload_state off; /* under mu */
};

/* Write one datagram (or segment); under mu. */
static int trace_write(void *ctx, const struct glan_dgram *dg)
{
    struct glan_trace *t = ctx;
    uint32_t len = dg->len;
    if (t->cfg.snaplen && len > t->cfg.snaplen)
        len = t->cfg.snaplen;
    if (glan_pcap_writer_write(t->w, dg->data, len, dg->ts_ns, t->err, sizeof t->err) < 0)
        t->st.errors++;
    else
        t->st.written++;
    return 0;
}

static void trace_see(void *ctx, const struct glan_dgram *dg, enum glan_drop verdict)
{
    struct glan_trace *t = ctx;
    int keep = (t->cfg.port < 0 || dg->src == t->cfg.port) &&
               (!t->cfg.dropped_only || verdict != GLAN_DROP_NONE);
    pthread_mutex_lock(&t->mu);
    if (!keep)
        t->st.filtered++;
    else if (glan_offload_each(&t->off, dg, trace_write, t) < 0)
        t->st.errors++; /* a TSO datagram that cannot be cut, or no memory to cut it */
    pthread_mutex_unlock(&t->mu);
}

struct glan_trace *glan_trace_start(struct glan_lan *lan, const struct glan_trace_config *cfg,
                                    char *err, size_t errlen)
{
    if (!cfg || !cfg->path || !cfg->path[0]) {
        snprintf(err, errlen, "a trace needs a file name");
        return NULL;
    }
    struct glan_trace *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    t->lan = lan;
    t->cfg = *cfg;
    snprintf(t->path, sizeof t->path, "%s", cfg->path);
    t->cfg.path = t->path;
    pthread_mutex_init(&t->mu, NULL);
    /* An ETHERNET LAN carries frames: the trace records them as they are. */
    t->w = glan_pcap_writer_open_link(
        t->path, cfg->format, glan_lan_transport(lan) == GLAN_TRANSPORT_ETHERNET, err, errlen);
    if (!t->w)
        goto fail;
    if (glan_lan_set_monitor(lan, trace_see, t) < 0) {
        snprintf(err, errlen, "LAN %s is traced already", glan_lan_name(lan));
        glan_pcap_writer_close(t->w, NULL, 0);
        remove(t->path);
        goto fail;
    }
    return t;
fail:
    pthread_mutex_destroy(&t->mu);
    free(t);
    return NULL;
}

int glan_trace_stop(struct glan_trace *t, char *err, size_t errlen)
{
    if (!t)
        return 0;
    glan_lan_set_monitor(t->lan, NULL, NULL); /* returns once no sender is inside */
    int rc = glan_pcap_writer_close(t->w, err, errlen);
    glan_offload_state_free(&t->off);
    if (rc == 0 && t->st.errors) {
        if (err && errlen)
            snprintf(err, errlen, "%s: %llu datagrams lost: %s", t->path,
                     (unsigned long long)t->st.errors, t->err);
        rc = -EIO;
    }
    pthread_mutex_destroy(&t->mu);
    free(t);
    return rc;
}

void glan_trace_get_stats(struct glan_trace *t, struct glan_trace_stats *out)
{
    pthread_mutex_lock(&t->mu);
    *out = t->st;
    pthread_mutex_unlock(&t->mu);
}

const char *glan_trace_path(const struct glan_trace *t)
{
    return t->path;
}
