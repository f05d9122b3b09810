/*
 * The capture writer (include/capture/guestlan/capture.h): DLT_RAW with nanosecond
 * timestamps, so that a datagram recorded by a trace, the pcap file uplink
 * or `glan replay` keeps the exact timestamp it came with.  Classic pcap goes
 * through libpcap's dumper; pcapng, for timestamps past what classic pcap's
 * 32-bit seconds hold, through the blocks of pcapng.c, since libpcap 1.10
 * cannot write it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "capture_int.h"
#include "guestlan/capture.h"

struct glan_pcap_writer {
    enum glan_pcap_format fmt;
    int ethernet; /* DLT_EN10MB: frames; else DLT_RAW: IP datagrams */
    pcap_t *dead; /* classic */
    pcap_dumper_t *d;
    FILE *f; /* the file: the dumper's, or ours for pcapng */
    int failed;
    char *path;
};

/* pcapng: our file, our blocks. */
static int open_ng(struct glan_pcap_writer *w, char *err, size_t errlen)
{
    w->f = fopen(w->path, "wb");
    if (!w->f) {
        capture_set_err(err, errlen, "%s: %s", w->path, strerror(errno));
        return -1;
    }
    capture_ng_header(w->f, w->ethernet);
    return 0;
}

/* Classic pcap: libpcap's dumper on a dead DLT_RAW handle of nanosecond
 * precision. */
static int open_classic(struct glan_pcap_writer *w, char *err, size_t errlen)
{
    w->dead = pcap_open_dead_with_tstamp_precision(w->ethernet ? DLT_EN10MB : DLT_RAW,
                                                   CAPTURE_SNAPLEN, PCAP_TSTAMP_PRECISION_NANO);
    if (!w->dead) {
        capture_set_err(err, errlen, "%s: libpcap could not make a DLT_RAW handle", w->path);
        return -1;
    }
    w->d = pcap_dump_open(w->dead, w->path);
    if (!w->d) {
        /* libpcap's message already names the file. */
        capture_set_err(err, errlen, "%s", pcap_geterr(w->dead));
        pcap_close(w->dead);
        return -1;
    }
    w->f = pcap_dump_file(w->d);
    return 0;
}

struct glan_pcap_writer *glan_pcap_writer_open_format(const char *path, enum glan_pcap_format fmt,
                                                      char *err, size_t errlen)
{
    return glan_pcap_writer_open_link(path, fmt, 0, err, errlen);
}

struct glan_pcap_writer *glan_pcap_writer_open_link(const char *path, enum glan_pcap_format fmt,
                                                    int ethernet, char *err, size_t errlen)
{
    struct glan_pcap_writer *w = calloc(1, sizeof *w);
    int rc;

    if (!w || !(w->path = strdup(path))) {
        free(w);
        capture_set_err(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    w->fmt = fmt;
    w->ethernet = ethernet;
    rc = fmt == GLAN_PCAP_NG ? open_ng(w, err, errlen) : open_classic(w, err, errlen);
    if (rc < 0) {
        free(w->path);
        free(w);
        return NULL;
    }
    return w;
}

/* One record through libpcap's dumper; -ERANGE for a timestamp its 32-bit
 * seconds cannot hold. */
static int write_classic(struct glan_pcap_writer *w, const void *data, size_t len, uint64_t ts_ns,
                         char *err, size_t errlen)
{
    struct pcap_pkthdr h;

    if (ts_ns >= GLAN_PCAP_CLASSIC_END_NS) {
        /* libpcap would keep the low 32 bits of the seconds: another year. */
        capture_set_err(err, errlen,
                        "%s: timestamp %" PRIu64 ".%09" PRIu64
                        " s is past 2106-02-07 06:28:15 UTC, "
                        "the end of a pcap file's 32-bit seconds; not recorded (pcapng holds it)",
                        w->path, ts_ns / NS_PER_SEC, ts_ns % NS_PER_SEC);
        return -ERANGE;
    }
    memset(&h, 0, sizeof h);
    /* Below 2^32 s: the dumper stores the low 32 bits of tv_sec, which are
     * the unsigned seconds the format defines. */
    h.ts.tv_sec = (time_t)(ts_ns / NS_PER_SEC);
    /* A nanosecond-precision dumper stores tv_usec as nanoseconds. */
    h.ts.tv_usec = (suseconds_t)(ts_ns % NS_PER_SEC);
    h.caplen = h.len = (bpf_u_int32)len;
    pcap_dump((u_char *)w->d, &h, data);
    return 0;
}

int glan_pcap_writer_write(struct glan_pcap_writer *w, const void *data, size_t len, uint64_t ts_ns,
                           char *err, size_t errlen)
{
    if (w->failed || len > CAPTURE_SNAPLEN) {
        capture_set_err(err, errlen,
                        w->failed ? "%s: write failed" : "%s: datagram too long to record",
                        w->path);
        return -EIO;
    }
    if (w->fmt == GLAN_PCAP_NG) {
        capture_ng_packet(w->f, data, len, ts_ns);
    } else {
        int rc = write_classic(w, data, len, ts_ns, err, errlen);
        if (rc < 0)
            return rc;
    }
    if (ferror(w->f)) {
        w->failed = 1;
        capture_set_err(err, errlen, "%s: write failed", w->path);
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
        capture_set_err(err, errlen, "%s: write failed", w->path);
    free(w->path);
    free(w);
    return rc;
}
