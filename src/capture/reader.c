/*
 * The capture reader (include/capture/guestlan/capture.h): libpcap parses the file,
 * pcap or pcapng; we take the link layer off (linklayer.c) and turn its
 * timestamps into nanoseconds.  Every record ends up as exactly one of: a
 * datagram handed to the caller, a skipped frame (not IP), or an error (a
 * malformed record, or a damaged file, after which reading stops).
 *
 * Timestamps are asked of libpcap in nanoseconds, so microsecond and
 * nanosecond captures read alike; what it hands back is turned into
 * nanoseconds since the epoch in one place, record_ts(), which is ours
 * because libpcap 1.10 hands a classic pcap file's unsigned 32-bit seconds
 * back signed (see there).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "capture_int.h"
#include "guestlan/capture.h"

/* pcap_major_version of a pcapng file: its Section Header Block's version,
 * 1.0 (libpcap reads no other); classic pcap files are version 2.x (libpcap
 * refuses older ones). */
#define PCAPNG_VERSION_MAJOR 1

struct glan_pcap_reader {
    pcap_t *p;
    int dlt;
    /* pcapng, with 64-bit timestamps; else classic pcap, 32-bit seconds. */
    int ng;
    int failed; /* the file is damaged; reading is over */
    int ended;
    int frames; /* hand out whole Ethernet frames (glan_pcap_reader_set_frames) */
    char *path;
    struct glan_pcap_reader_stats st;
    char err[512];
};

/* libpcap reads the file we open: a path of "-" is a file of that name here,
 * not standard input as pcap_open_offline would take it. */
static pcap_t *open_offline(const char *path, char *err, size_t errlen)
{
    char pe[PCAP_ERRBUF_SIZE] = "";
    FILE *f = fopen(path, "rb");
    pcap_t *p;

    if (!f) {
        capture_set_err(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, pe);
    if (p)
        return p;
    fclose(f); /* libpcap closes it with the handle, not on failure */
    /* libpcap names the file itself for system errors ("x: No such file or
     * directory") but not for format errors ("unknown file format"). */
    if (!strncmp(pe, path, strlen(path)))
        capture_set_err(err, errlen, "%s", pe);
    else
        capture_set_err(err, errlen, "%s: %s", path, pe);
    return NULL;
}

struct glan_pcap_reader *glan_pcap_reader_open(const char *path, char *err, size_t errlen)
{
    struct glan_pcap_reader *r = calloc(1, sizeof *r);

    if (!r || !(r->path = strdup(path))) {
        free(r);
        capture_set_err(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    r->p = open_offline(path, err, errlen);
    if (!r->p) {
        glan_pcap_reader_close(r);
        return NULL;
    }
    /* The two formats store time differently (record_ts), and libpcap tells
     * them apart only by the version it found in the file. */
    r->ng = pcap_major_version(r->p) == PCAPNG_VERSION_MAJOR;
    r->dlt = pcap_datalink(r->p);
    if (!capture_link_supported(r->dlt)) {
        const char *name = pcap_datalink_val_to_name(r->dlt);
        capture_set_err(err, errlen, "%s: link type %s (%d) is not supported (%s are)", path,
                        name ? name : "?", r->dlt, CAPTURE_LINKTYPES);
        glan_pcap_reader_close(r);
        return NULL;
    }
    return r;
}

/*
 * The record's timestamp in nanoseconds since the epoch, as the file holds
 * it; -1 with the reason in why when it cannot be held.  What libpcap 1.10
 * hands back (asked for nanoseconds at open, so tv_usec is nanoseconds):
 *  - classic pcap: the file's seconds are an unsigned 32-bit number (to
 *    2106), but libpcap reads them as its signed bpf_int32 and widens that
 *    to time_t, so from 2038-01-19 03:14:08 on they come back negative; the
 *    low 32 bits are the file's own.  The fraction is a 32-bit field too
 *    (microseconds, multiplied by 1000, or nanoseconds);
 *  - pcapng: the 64-bit time in units of the interface's if_tsresol, which
 *    libpcap splits into seconds (unsigned 64-bit, stored in time_t, so
 *    intact past 2^32 s and negative only from 2^63 s on) and a fraction it
 *    scales to nanoseconds (finer resolutions cut to the nanosecond).
 * Either way a fraction of a second or more is not a time a file may hold,
 * and a time past 2^64 ns (2554-07-21 23:34:33 UTC) is more than ours can.
 */
static int record_ts(const struct glan_pcap_reader *r, const struct pcap_pkthdr *h, uint64_t *ts_ns,
                     char *why, size_t whylen)
{
    uint64_t sec = r->ng ? (uint64_t)h->ts.tv_sec : (uint64_t)(uint32_t)h->ts.tv_sec;
    long frac = (long)h->ts.tv_usec;

    if (frac < 0 || (uint64_t)frac >= NS_PER_SEC) {
        capture_set_err(why, whylen, "timestamp fraction of %ld ns is not below one second", frac);
        return -1;
    }
    if (sec > (UINT64_MAX - (uint64_t)frac) / NS_PER_SEC) {
        capture_set_err(why, whylen,
                        "timestamp of %" PRIu64 " s is past 2554-07-21 23:34:33 UTC, "
                        "the last that 64-bit nanoseconds hold",
                        sec);
        return -1;
    }
    *ts_ns = sec * NS_PER_SEC + (uint64_t)frac;
    return 0;
}

/* A short read of a record header or body: the file was cut short or its
 * record header is nonsense.  Reading is over. */
static int damaged(struct glan_pcap_reader *r)
{
    r->failed = 1;
    r->st.errors++;
    if (r->st.records)
        snprintf(r->err, sizeof r->err, "%s: damaged after record %" PRIu64 ": %s", r->path,
                 r->st.records, pcap_geterr(r->p));
    else
        snprintf(r->err, sizeof r->err, "%s: damaged in its first record: %s", r->path,
                 pcap_geterr(r->p));
    return -EIO;
}

/* One malformed record, counted; reading goes on with the next. */
static int malformed(struct glan_pcap_reader *r, const char *why)
{
    r->st.errors++;
    snprintf(r->err, sizeof r->err, "%s: record %" PRIu64 ": %s", r->path, r->st.records, why);
    return -EBADMSG;
}

int glan_pcap_reader_next(struct glan_pcap_reader *r, const uint8_t **data, size_t *len,
                          uint64_t *ts_ns)
{
    for (;;) {
        struct pcap_pkthdr *h;
        const u_char *pkt;
        char why[160];
        size_t off = 0, n = 0;
        enum capture_unwrap u;
        uint64_t ts;
        int rc;

        if (r->failed)
            return -EIO;
        if (r->ended)
            return 0;
        rc = pcap_next_ex(r->p, &h, &pkt);
        if (rc == PCAP_ERROR_BREAK) {
            r->ended = 1;
            return 0;
        }
        if (rc != 1)
            return damaged(r);
        r->st.records++;
        if (h->caplen < h->len) {
            snprintf(why, sizeof why, "only %u of %u bytes captured (snap length)", h->caplen,
                     h->len);
            return malformed(r, why);
        }
        if (r->frames) {
            /* The frame as it is, tags and all; at least its header. */
            n = h->caplen;
            u = n >= 14 ? CAPTURE_IP : CAPTURE_BAD;
            if (u == CAPTURE_BAD)
                snprintf(why, sizeof why, "%zu bytes: shorter than an Ethernet header", n);
        } else {
            u = capture_unwrap(r->dlt, pkt, h->caplen, &off, &n, why, sizeof why);
        }
        if (u == CAPTURE_SKIP) {
            r->st.skipped++;
            continue;
        }
        if (u == CAPTURE_BAD || record_ts(r, h, &ts, why, sizeof why) < 0)
            return malformed(r, why);
        *data = pkt + off;
        *len = n;
        *ts_ns = ts;
        r->st.datagrams++;
        r->st.bytes += n;
        return 1;
    }
}

int glan_pcap_reader_set_frames(struct glan_pcap_reader *r)
{
    if (r->dlt != DLT_EN10MB) {
        const char *name = pcap_datalink_val_to_name(r->dlt);
        snprintf(r->err, sizeof r->err, "%s: a capture of link type %s holds no Ethernet frames",
                 r->path, name ? name : "?");
        return -EPROTOTYPE;
    }
    r->frames = 1;
    return 0;
}

const char *glan_pcap_reader_error(const struct glan_pcap_reader *r)
{
    return r->err;
}

void glan_pcap_reader_stats(const struct glan_pcap_reader *r, struct glan_pcap_reader_stats *out)
{
    *out = r->st;
}

const char *glan_pcap_reader_linktype(const struct glan_pcap_reader *r)
{
    const char *name = pcap_datalink_val_to_name(r->dlt);
    return name ? name : "?";
}

void glan_pcap_reader_close(struct glan_pcap_reader *r)
{
    if (!r)
        return;
    if (r->p)
        pcap_close(r->p);
    free(r->path);
    free(r);
}
