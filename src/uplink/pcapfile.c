/*
 * The pcap file uplink, and the capture reader and writer it is built on.
 *
 * Reading: libpcap parses the file (pcap or pcapng); we only take the link
 * layer off.  Every record ends up as exactly one of: a datagram handed to the
 * caller, a skipped frame (not IP), or an error (a malformed record, or a
 * damaged file, after which reading stops).  Timestamps are asked of libpcap
 * in nanoseconds, so microsecond and nanosecond captures read alike; what it
 * hands back is turned into nanoseconds in one place, record_ts().
 *
 * Writing: DLT_RAW with nanosecond timestamps, so that a datagram recorded by
 * `glan replay` keeps the exact timestamp it was read with: classic pcap
 * through libpcap's dumper, or pcapng, written here, for timestamps past what
 * classic pcap's 32-bit seconds hold.
 *
 * Nothing here prints: every problem becomes a message in the caller's
 * buffer (err, the reader's error, u->err) and a counter.
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "guestlan/pcapfile.h"

/* libpcap's headers define these on every platform we build on; the fallbacks
 * keep an older pcap.h compiling (the values are the registered LINKTYPEs). */
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif
#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

#define NS_PER_SEC UINT64_C(1000000000)

#define ETHERTYPE_IPV4  0x0800
#define ETHERTYPE_IPV6  0x86dd
#define ETHERTYPE_VLAN  0x8100 /* 802.1Q */
#define ETHERTYPE_QINQ  0x88a8 /* 802.1ad service tag */
#define ETHERTYPE_QINQ1 0x9100 /* pre-standard QinQ, still seen in captures */

/* Large enough for any IP datagram (IPv4 and non-jumbo IPv6 top out at 64 KiB
 * plus the IPv6 header). */
#define WRITE_SNAPLEN 65575

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- reader ---------------------------------------------------------------- */

struct glan_pcap_reader {
    pcap_t *p;
    int dlt;
    /* pcapng, with 64-bit timestamps; else classic pcap, 32-bit seconds. */
    int ng;
    int failed; /* the file is damaged; reading is over */
    int ended;
    char *path;
    struct glan_pcap_reader_stats st;
    char err[512];
};

static int dlt_supported(int dlt)
{
    switch (dlt) {
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
    case DLT_EN10MB:
    case DLT_LINUX_SLL:
    case DLT_LINUX_SLL2:
    case DLT_NULL:
        return 1;
    default:
        return 0;
    }
}

/* A pcapng file starts with a Section Header Block, whose block type
 * 0x0A0D0D0A reads the same in either byte order (the pcapng specification,
 * draft-ietf-opsawg-pcapng). */
static const uint8_t pcapng_shb_type[4] = {0x0a, 0x0d, 0x0d, 0x0a};

struct glan_pcap_reader *glan_pcap_reader_open(const char *path, char *err, size_t errlen)
{
    char pe[PCAP_ERRBUF_SIZE] = "";
    struct glan_pcap_reader *r = calloc(1, sizeof *r);
    uint8_t magic[4];
    FILE *f;

    if (!r || !(r->path = strdup(path))) {
        free(r);
        set_err(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    /* libpcap does not say which format it found, and the two store time
     * differently (record_ts), so we look at the first four bytes ourselves
     * and hand libpcap the file from its start. */
    f = fopen(path, "rb");
    if (!f) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        free(r->path);
        free(r);
        return NULL;
    }
    r->ng = fread(magic, 1, sizeof magic, f) == sizeof magic &&
            !memcmp(magic, pcapng_shb_type, sizeof magic);
    rewind(f);
    r->p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, pe);
    if (!r->p) {
        fclose(f); /* libpcap closes it with the handle, not on failure */
        /* libpcap names the file itself for system errors ("x: No such file
         * or directory") but not for format errors ("unknown file format"). */
        if (!strncmp(pe, path, strlen(path)))
            set_err(err, errlen, "%s", pe);
        else
            set_err(err, errlen, "%s: %s", path, pe);
        free(r->path);
        free(r);
        return NULL;
    }
    r->dlt = pcap_datalink(r->p);
    if (!dlt_supported(r->dlt)) {
        const char *name = pcap_datalink_val_to_name(r->dlt);
        set_err(err, errlen,
                "%s: link type %s (%d) is not supported "
                "(RAW, IPV4, IPV6, EN10MB, LINUX_SLL, LINUX_SLL2, NULL are)",
                path, name ? name : "?", r->dlt);
        glan_pcap_reader_close(r);
        return NULL;
    }
    return r;
}

enum unwrap { UNWRAP_IP, UNWRAP_SKIP, UNWRAP_BAD };

/* Walk 802.1Q/802.1ad tags from the ethertype at p[*off - 2]; leaves *type at
 * the innermost protocol and *off at its payload. */
static enum unwrap walk_tags(const uint8_t *p, size_t len, size_t *off, uint16_t *type, char *why,
                             size_t whylen)
{
    while (*type == ETHERTYPE_VLAN || *type == ETHERTYPE_QINQ || *type == ETHERTYPE_QINQ1) {
        if (len < *off + 4) {
            set_err(why, whylen, "VLAN tag cut short (%zu bytes)", len);
            return UNWRAP_BAD;
        }
        *type = be16(p + *off + 2);
        *off += 4;
    }
    return (*type == ETHERTYPE_IPV4 || *type == ETHERTYPE_IPV6) ? UNWRAP_IP : UNWRAP_SKIP;
}

/* Cut link-layer padding: an Ethernet frame is at least 60 bytes, so a small
 * datagram arrives with trailing zeros the IP length does not cover.  Only
 * shortens; a datagram longer than what was captured is left for the base to
 * judge (it drops it as malformed). */
static size_t trim_to_ip_length(const uint8_t *p, size_t len)
{
    if (len >= 20 && (p[0] >> 4) == 4) {
        size_t tot = be16(p + 2);
        if (tot >= 20 && tot < len)
            return tot;
    } else if (len >= 40 && (p[0] >> 4) == 6) {
        size_t tot = 40 + (size_t)be16(p + 4);
        if (tot > 40 && tot < len)
            return tot;
    }
    return len;
}

/* BSD loopback: a 4-byte address family in the capturing host's byte order.
 * AF_INET is 2 everywhere; AF_INET6 is 10 (Linux), 24, 28 or 30 (BSDs). */
static enum unwrap unwrap_null(const uint8_t *p, size_t len, char *why, size_t whylen)
{
    uint32_t fam;

    if (len < 4) {
        set_err(why, whylen, "loopback frame of %zu bytes is shorter than its header", len);
        return UNWRAP_BAD;
    }
    memcpy(&fam, p, 4);
    if (fam > 0xffff)
        fam = __builtin_bswap32(fam);
    if (fam == 2 || fam == 10 || fam == 24 || fam == 28 || fam == 30)
        return UNWRAP_IP;
    return UNWRAP_SKIP;
}

static enum unwrap unwrap_link(int dlt, const uint8_t *p, size_t len, size_t *off, char *why,
                               size_t whylen)
{
    uint16_t type;

    switch (dlt) {
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
        *off = 0;
        return UNWRAP_IP;
    case DLT_EN10MB:
        if (len < 14) {
            set_err(why, whylen, "Ethernet frame of %zu bytes is shorter than its header", len);
            return UNWRAP_BAD;
        }
        type = be16(p + 12);
        *off = 14;
        /* Values below 0x0600 are 802.3 lengths: LLC/SNAP frames, not IP. */
        return walk_tags(p, len, off, &type, why, whylen);
    case DLT_LINUX_SLL:
        if (len < 16) {
            set_err(why, whylen, "Linux cooked frame of %zu bytes is shorter than its header", len);
            return UNWRAP_BAD;
        }
        type = be16(p + 14);
        *off = 16;
        return walk_tags(p, len, off, &type, why, whylen);
    case DLT_LINUX_SLL2:
        if (len < 20) {
            set_err(why, whylen, "Linux cooked v2 frame of %zu bytes is shorter than its header",
                    len);
            return UNWRAP_BAD;
        }
        type = be16(p);
        *off = 20;
        return walk_tags(p, len, off, &type, why, whylen);
    case DLT_NULL:
        *off = 4;
        return unwrap_null(p, len, why, whylen);
    default:
        set_err(why, whylen, "unsupported link type %d", dlt);
        return UNWRAP_BAD;
    }
}

/* The link layer off one record: where its IP datagram starts, or why there
 * is none.  A frame that says IP but ends with its link header (a 14-byte
 * Ethernet frame of type 0x0800, an empty raw record) is malformed here, for
 * every link type and before anyone sends it: an empty datagram is nothing a
 * guest or a network can hand the LAN, so no path gets to judge it its own
 * way. */
static enum unwrap unwrap(int dlt, const uint8_t *p, size_t len, size_t *off, char *why,
                          size_t whylen)
{
    enum unwrap u = unwrap_link(dlt, p, len, off, why, whylen);

    if (u == UNWRAP_IP && *off >= len) {
        if (*off == 0)
            set_err(why, whylen, "empty record");
        else
            set_err(why, whylen, "no IP datagram after the %zu-byte link header", *off);
        return UNWRAP_BAD;
    }
    return u;
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
        set_err(why, whylen, "timestamp fraction of %ld ns is not below one second", frac);
        return -1;
    }
    if (sec > (UINT64_MAX - (uint64_t)frac) / NS_PER_SEC) {
        set_err(why, whylen,
                "timestamp of %" PRIu64 " s is past 2554-07-21 23:34:33 UTC, "
                "the last that 64-bit nanoseconds hold",
                sec);
        return -1;
    }
    *ts_ns = sec * NS_PER_SEC + (uint64_t)frac;
    return 0;
}

int glan_pcap_reader_next(struct glan_pcap_reader *r, const uint8_t **data, size_t *len,
                          uint64_t *ts_ns)
{
    for (;;) {
        struct pcap_pkthdr *h;
        const u_char *pkt;
        char why[160];
        size_t off = 0, n;
        enum unwrap u;
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
        if (rc != 1) {
            /* A short read of a record header or body: the file was cut
             * short or its record header is nonsense. */
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
        r->st.records++;
        if (h->caplen < h->len) {
            r->st.errors++;
            snprintf(r->err, sizeof r->err,
                     "%s: record %" PRIu64 ": only %u of %u bytes captured (snap length)", r->path,
                     r->st.records, h->caplen, h->len);
            return -EBADMSG;
        }
        u = unwrap(r->dlt, pkt, h->caplen, &off, why, sizeof why);
        if (u == UNWRAP_SKIP) {
            r->st.skipped++;
            continue;
        }
        if (u == UNWRAP_BAD || record_ts(r, h, &ts, why, sizeof why) < 0) {
            r->st.errors++;
            snprintf(r->err, sizeof r->err, "%s: record %" PRIu64 ": %s", r->path, r->st.records,
                     why);
            return -EBADMSG;
        }
        n = h->caplen - off;
        if (r->dlt != DLT_RAW && r->dlt != DLT_IPV4 && r->dlt != DLT_IPV6)
            n = trim_to_ip_length(pkt + off, n);
        *data = pkt + off;
        *len = n;
        *ts_ns = ts;
        r->st.datagrams++;
        r->st.bytes += n;
        return 1;
    }
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

/* ---- writer ---------------------------------------------------------------- */

/*
 * Classic pcap goes through libpcap's dumper.  libpcap 1.10 reads pcapng but
 * has no writer for it (pcap_dump writes classic pcap only), so the pcapng
 * we write, the three kinds of block that a DLT_RAW capture needs, is written
 * here by hand, after the pcapng specification (draft-ietf-opsawg-pcapng):
 * one Section Header Block, one Interface Description Block (LINKTYPE_RAW,
 * if_tsresol 9: nanoseconds), and an Enhanced Packet Block per datagram
 * carrying its 64-bit timestamp.  Blocks are in host byte order; the
 * section header's byte-order magic tells readers which that is.
 */
#define PCAPNG_SHB          0x0a0d0d0au
#define PCAPNG_IDB          1u
#define PCAPNG_EPB          6u
#define PCAPNG_BYTE_ORDER   0x1a2b3c4du
#define PCAPNG_OPT_END      0
#define PCAPNG_OPT_TSRESOL  9
#define PCAPNG_LINKTYPE_RAW 101 /* the file's LINKTYPE_RAW, not the platform's DLT_RAW */

struct glan_pcap_writer {
    enum glan_pcap_format fmt;
    pcap_t *dead; /* classic */
    pcap_dumper_t *d;
    FILE *f; /* the file: the dumper's, or ours for pcapng */
    int failed;
    char *path;
};

static uint8_t *put16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, sizeof v);
    return p + sizeof v;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, sizeof v);
    return p + sizeof v;
}

/* One pcapng block: type, total length, body (head, then data padded to 32
 * bits), total length again. */
static void ng_block(FILE *f, uint32_t type, const uint8_t *head, size_t hlen, const void *data,
                     size_t dlen)
{
    static const uint8_t pad[3];
    size_t padlen = (4 - dlen % 4) % 4;
    uint8_t b[4];
    uint32_t total = (uint32_t)(12 + hlen + dlen + padlen);

    put32(b, type);
    fwrite(b, 1, 4, f);
    put32(b, total);
    fwrite(b, 1, 4, f);
    fwrite(head, 1, hlen, f);
    if (dlen)
        fwrite(data, 1, dlen, f);
    fwrite(pad, 1, padlen, f);
    fwrite(b, 1, 4, f);
}

static void ng_header(FILE *f)
{
    uint8_t shb[16], idb[20], *p;

    p = put32(shb, PCAPNG_BYTE_ORDER);
    p = put16(p, 1); /* version 1.0 */
    p = put16(p, 0);
    memset(p, 0xff, 8); /* section length: not given */
    ng_block(f, PCAPNG_SHB, shb, sizeof shb, NULL, 0);

    p = put16(idb, PCAPNG_LINKTYPE_RAW);
    p = put16(p, 0);
    p = put32(p, WRITE_SNAPLEN);
    p = put16(p, PCAPNG_OPT_TSRESOL);
    p = put16(p, 1);
    memcpy(p, (const uint8_t[4]){9, 0, 0, 0}, 4); /* 10^-9 s, padded to 32 bits */
    p = put16(p + 4, PCAPNG_OPT_END);
    put16(p, 0);
    ng_block(f, PCAPNG_IDB, idb, sizeof idb, NULL, 0);
}

static void ng_packet(FILE *f, const void *data, size_t len, uint64_t ts_ns)
{
    uint8_t epb[20], *p;

    p = put32(epb, 0); /* the interface: the one IDB */
    p = put32(p, (uint32_t)(ts_ns >> 32));
    p = put32(p, (uint32_t)ts_ns);
    p = put32(p, (uint32_t)len); /* captured */
    put32(p, (uint32_t)len);     /* on the wire */
    ng_block(f, PCAPNG_EPB, epb, sizeof epb, data, len);
}

struct glan_pcap_writer *glan_pcap_writer_open_format(const char *path, enum glan_pcap_format fmt,
                                                      char *err, size_t errlen)
{
    struct glan_pcap_writer *w = calloc(1, sizeof *w);

    if (!w || !(w->path = strdup(path))) {
        free(w);
        set_err(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    w->fmt = fmt;
    if (fmt == GLAN_PCAP_NG) {
        w->f = fopen(path, "wb");
        if (!w->f) {
            set_err(err, errlen, "%s: %s", path, strerror(errno));
            goto fail;
        }
        ng_header(w->f);
        return w;
    }
    w->dead =
        pcap_open_dead_with_tstamp_precision(DLT_RAW, WRITE_SNAPLEN, PCAP_TSTAMP_PRECISION_NANO);
    if (!w->dead) {
        set_err(err, errlen, "%s: libpcap could not make a DLT_RAW handle", path);
        goto fail;
    }
    w->d = pcap_dump_open(w->dead, path);
    if (!w->d) {
        /* libpcap's message already names the file. */
        set_err(err, errlen, "%s", pcap_geterr(w->dead));
        goto fail;
    }
    w->f = pcap_dump_file(w->d);
    return w;
fail:
    if (w->dead)
        pcap_close(w->dead);
    free(w->path);
    free(w);
    return NULL;
}

struct glan_pcap_writer *glan_pcap_writer_open(const char *path, char *err, size_t errlen)
{
    return glan_pcap_writer_open_format(path, GLAN_PCAP_CLASSIC, err, errlen);
}

int glan_pcap_writer_write(struct glan_pcap_writer *w, const void *data, size_t len, uint64_t ts_ns,
                           char *err, size_t errlen)
{
    if (w->failed || len > WRITE_SNAPLEN) {
        set_err(err, errlen, w->failed ? "%s: write failed" : "%s: datagram too long to record",
                w->path);
        return -EIO;
    }
    if (w->fmt == GLAN_PCAP_NG) {
        ng_packet(w->f, data, len, ts_ns);
    } else if (ts_ns >= GLAN_PCAP_CLASSIC_END_NS) {
        /* libpcap would keep the low 32 bits of the seconds: another year. */
        set_err(err, errlen,
                "%s: timestamp %" PRIu64 ".%09" PRIu64 " s is past 2106-02-07 06:28:15 UTC, "
                "the end of a pcap file's 32-bit seconds; not recorded (pcapng holds it)",
                w->path, ts_ns / NS_PER_SEC, ts_ns % NS_PER_SEC);
        return -ERANGE;
    } else {
        struct pcap_pkthdr h;

        memset(&h, 0, sizeof h);
        /* Below 2^32 s: the dumper stores the low 32 bits of tv_sec, which
         * are the unsigned seconds the format defines. */
        h.ts.tv_sec = (time_t)(ts_ns / NS_PER_SEC);
        /* A nanosecond-precision dumper stores tv_usec as nanoseconds. */
        h.ts.tv_usec = (suseconds_t)(ts_ns % NS_PER_SEC);
        h.caplen = h.len = (bpf_u_int32)len;
        pcap_dump((u_char *)w->d, &h, data);
    }
    if (ferror(w->f)) {
        w->failed = 1;
        set_err(err, errlen, "%s: write failed", w->path);
        return -EIO;
    }
    return 0;
}

int glan_pcap_writer_close(struct glan_pcap_writer *w, char *err, size_t errlen)
{
    int rc = 0;

    if (!w)
        return 0;
    if (fflush(w->f) != 0 || ferror(w->f) || w->failed)
        rc = -EIO;
    if (w->d) {
        pcap_dump_close(w->d); /* closes w->f */
        pcap_close(w->dead);
    } else if (fclose(w->f) != 0) {
        rc = -EIO;
    }
    if (rc < 0)
        set_err(err, errlen, "%s: write failed", w->path);
    free(w->path);
    free(w);
    return rc;
}

/* ---- the uplink ------------------------------------------------------------ */

struct pcapfile_uplink {
    struct glan_uplink up; /* first: the base and owners see only this */
    char *in_path, *out_path;
    enum glan_pcap_format fmt; /* of out_path */
    struct glan_pcap_reader *rd;
    struct glan_pcap_writer *wr;
    /* The reader's skipped/errors already added to the uplink's counters. */
    uint64_t skipped_seen, errors_seen;
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
    if (p->out_path &&
        !(p->wr = glan_pcap_writer_open_format(p->out_path, p->fmt, u->err, sizeof u->err))) {
        pf_close(u);
        return -EIO;
    }
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

int glan_pcapfile_set_format(struct glan_uplink *u, enum glan_pcap_format fmt)
{
    if (!u || u->ops != &pcapfile_ops || (fmt != GLAN_PCAP_CLASSIC && fmt != GLAN_PCAP_NG))
        return -EINVAL;
    if (pf(u)->rd || pf(u)->wr)
        return -EBUSY;
    pf(u)->fmt = fmt;
    return 0;
}
