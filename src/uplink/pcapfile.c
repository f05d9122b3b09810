/*
 * The pcap file uplink (include/uplink/guestlan/pcapfile.h): a LAN's "network" is a
 * pair of capture files.  Its receive op hands what a capture reader
 * returns to the base, its send op appends to a capture writer; both are
 * the capture module's (include/capture/guestlan/capture.h, src/capture/), which
 * also reads and writes every other capture in guestlan.  The uplink keeps
 * only the bookkeeping: which files, in which format, and the reader's
 * counts mirrored into the uplink's counters.
 *
 * Nothing here prints: every problem becomes a message in u->err and a
 * counter.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guestlan/capture.h"
#include "guestlan/pcapfile.h"

struct pcapfile_uplink {
    struct glan_uplink up; /* first: the base and owners see only this */
    char *in_path, *out_path;
    enum glan_pcap_format fmt; /* of out_path */
    int ethernet;              /* frames as they are, DLT_EN10MB (a LAN of transport ETHERNET) */
    struct glan_pcap_reader *rd;
    struct glan_pcap_writer *wr;
    /* The reader's skipped/errors already added to the uplink's counters. */
    uint64_t skipped_seen, errors_seen;
    int open; /* the files are open (atomic: the status op may ask from any thread) */
};

static struct pcapfile_uplink *pf(struct glan_uplink *u)
{
    return (struct pcapfile_uplink *)u;
}

static void pf_close(struct glan_uplink *u);

static int pf_open(struct glan_uplink *u)
{
    struct pcapfile_uplink *p = pf(u);

    u->err[0] = '\0';
    if (p->rd || p->wr)
        return 0;
    if (p->in_path && !(p->rd = glan_pcap_reader_open(p->in_path, u->err, sizeof u->err)))
        return -EIO;
    if (p->rd && p->ethernet && glan_pcap_reader_set_frames(p->rd) < 0) {
        snprintf(u->err, sizeof u->err, "%s", glan_pcap_reader_error(p->rd));
        pf_close(u);
        return -EPROTOTYPE;
    }
    if (p->out_path && !(p->wr = glan_pcap_writer_open_link(p->out_path, p->fmt, p->ethernet,
                                                            u->err, sizeof u->err))) {
        pf_close(u);
        return -EIO;
    }
    __atomic_store_n(&p->open, 1, __ATOMIC_RELAXED);
    return 0;
}

static int pf_send(struct glan_uplink *u, const struct glan_dgram *dg)
{
    struct pcapfile_uplink *p = pf(u);
    int rc =
        p->wr ? glan_pcap_writer_write(p->wr, dg->data, dg->len, dg->ts_ns, u->err, sizeof u->err)
              : 0;

    /* -EIO (the file failed) or -ERANGE (a timestamp classic pcap cannot
     * hold): either way this datagram is not in the file. */
    if (rc < 0) {
        glan_uplink_count(&u->stats.tx_errors, 1);
        return rc;
    }
    glan_uplink_count(&u->stats.tx_packets, 1);
    glan_uplink_count(&u->stats.tx_bytes, dg->len);
    return 0;
}

static int pf_rx_fd(struct glan_uplink *u)
{
    (void)u;
    return -1; /* a file is always "readable": the owner paces receive */
}

/* Add what the reader skipped or found broken since last time to the uplink's
 * counters.  Incremental, because owners may count into the same fields
 * (glan replay counts the uplink captures it reads itself). */
static void pf_mirror_reader(struct pcapfile_uplink *p)
{
    struct glan_pcap_reader_stats st;

    glan_pcap_reader_stats(p->rd, &st);
    glan_uplink_count(&p->up.stats.rx_skipped, st.skipped - p->skipped_seen);
    glan_uplink_count(&p->up.stats.rx_errors, st.errors - p->errors_seen);
    p->skipped_seen = st.skipped;
    p->errors_seen = st.errors;
}

static int pf_receive(struct glan_uplink *u, int budget)
{
    struct pcapfile_uplink *p = pf(u);
    int n = 0, rc = 0;

    if (!p->rd)
        return 0;
    while (n < budget) {
        const uint8_t *data;
        size_t len;
        uint64_t ts;

        rc = glan_pcap_reader_next(p->rd, &data, &len, &ts);
        if (rc == 1) {
            /* glan_uplink_input counts rx_packets/rx_bytes; a drop is the
             * base's to count (unknown_dest, ...). */
            (void)glan_uplink_input(u, data, len, ts);
            n++;
            continue;
        }
        if (rc == -EBADMSG) {
            snprintf(u->err, sizeof u->err, "%s", glan_pcap_reader_error(p->rd));
            continue; /* one bad record does not end the capture */
        }
        if (rc == -EIO)
            snprintf(u->err, sizeof u->err, "%s", glan_pcap_reader_error(p->rd));
        break;
    }
    pf_mirror_reader(p);
    if (rc == -EIO && n == 0)
        return -EIO;
    return n;
}

static void pf_close(struct glan_uplink *u)
{
    struct pcapfile_uplink *p = pf(u);
    char err[sizeof u->err];

    __atomic_store_n(&p->open, 0, __ATOMIC_RELAXED);
    if (p->rd) {
        pf_mirror_reader(p);
        glan_pcap_reader_close(p->rd);
        p->skipped_seen = p->errors_seen = 0;
        p->rd = NULL;
    }
    if (p->wr) {
        if (glan_pcap_writer_close(p->wr, err, sizeof err) != 0) {
            glan_uplink_count(&u->stats.tx_errors, 1);
            snprintf(u->err, sizeof u->err, "%s", err);
        }
        p->wr = NULL;
    }
}

/* The files and their format; there is no device and no receive thread (the
 * owner paces receive).  Paths and format do not change once attached; the
 * message is u->err as the owner's thread last wrote it. */
static int pf_status(struct glan_uplink *u, struct glan_uplink_status *out)
{
    struct pcapfile_uplink *p = pf(u);

    out->kind = "pcapfile";
    snprintf(out->params, sizeof out->params, "%s", p->fmt == GLAN_PCAP_NG ? "pcapng" : "pcap");
    out->open = __atomic_load_n(&p->open, __ATOMIC_RELAXED);
    out->facts[0].label = "Reads";
    snprintf(out->facts[0].text, sizeof out->facts[0].text, "%s",
             p->in_path ? p->in_path : "nothing");
    out->facts[1].label = "Writes";
    snprintf(out->facts[1].text, sizeof out->facts[1].text, "%s",
             p->out_path ? p->out_path : "nothing (datagrams counted and discarded)");
    out->nfacts = 2;
    snprintf(out->message, sizeof out->message, "%s", u->err);
    return 0;
}

static void pf_destroy(struct glan_uplink *u)
{
    struct pcapfile_uplink *p = pf(u);

    pf_close(u);
    free(p->in_path);
    free(p->out_path);
    free(p);
}

static const struct glan_uplink_ops pcapfile_ops = {
    .kind = "pcapfile",
    .open = pf_open,
    .send = pf_send,
    .rx_fd = pf_rx_fd,
    .receive = pf_receive,
    .status = pf_status,
    .close = pf_close,
    .destroy = pf_destroy,
};

struct glan_uplink *glan_pcapfile_create(const char *in_path, const char *out_path)
{
    struct pcapfile_uplink *p = calloc(1, sizeof *p);

    if (!p)
        return NULL;
    p->up.ops = &pcapfile_ops;
    if ((in_path && !(p->in_path = strdup(in_path))) ||
        (out_path && !(p->out_path = strdup(out_path)))) {
        free(p->in_path);
        free(p);
        return NULL;
    }
    return &p->up;
}

int glan_pcapfile_set_ethernet(struct glan_uplink *u)
{
    if (!u || u->ops != &pcapfile_ops)
        return -EINVAL;
    if (pf(u)->rd || pf(u)->wr)
        return -EBUSY;
    pf(u)->ethernet = 1;
    return 0;
}

int glan_pcapfile_set_format(struct glan_uplink *u, enum glan_pcap_format fmt)
{
    if (!u || u->ops != &pcapfile_ops || (fmt != GLAN_PCAP_CLASSIC && fmt != GLAN_PCAP_NG))
        return -EINVAL;
    if (pf(u)->rd || pf(u)->wr)
        return -EBUSY;
    pf(u)->fmt = fmt;
    return 0;
}
