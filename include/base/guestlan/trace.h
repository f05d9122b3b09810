/*
 * guestlan traces: every datagram that enters a LAN, written to a pcap file
 * that tshark reads, as z/VM's TRSOURCE does for a guest LAN.  A trace is a
 * monitor of the base (glan_lan_set_monitor) over the DLT_RAW capture
 * writer (capture.h); filters choose a sending port, only dropped datagrams,
 * and how many bytes of each to keep.  Each datagram is stamped with its
 * glan_dgram.ts_ns to the nanosecond.
 */
#ifndef GUESTLAN_TRACE_H
#define GUESTLAN_TRACE_H

#include <stdint.h>

#include "guestlan/base.h"
#include "guestlan/capture.h"

#ifdef __cplusplus
extern "C" {
#endif

struct glan_trace;

struct glan_trace_config {
    const char *path; /* pcap file to create (truncated if it exists) */
    int port;         /* only datagrams this port index sent; -1: all */
    int dropped_only; /* only datagrams the base dropped */
    uint32_t snaplen; /* bytes kept of each datagram; 0: all */
    /* GLAN_PCAP_CLASSIC (0, what tools read everywhere): a datagram stamped
     * from 2106-02-07 06:28:16 UTC on does not fit and is counted in errors,
     * with a message; GLAN_PCAP_NG holds every timestamp. */
    enum glan_pcap_format format;
};

struct glan_trace_stats {
    uint64_t written;  /* datagrams written */
    uint64_t filtered; /* datagrams the filters passed over */
    uint64_t errors;   /* datagrams lost: the file failed, or cannot hold the timestamp */
};

/* Start tracing lan.  NULL with a message in err when the file cannot be
 * created or the LAN already has a monitor (one trace at a time). */
struct glan_trace *glan_trace_start(struct glan_lan *lan, const struct glan_trace_config *cfg,
                                    char *err, size_t errlen);
/* Stop: no datagram is written after this returns; the file is flushed and
 * closed.  0, or -EIO with a message when anything was lost (the count, and
 * the last reason). */
int glan_trace_stop(struct glan_trace *t, char *err, size_t errlen);
void glan_trace_get_stats(struct glan_trace *t, struct glan_trace_stats *out);
/* The file being written. */
const char *glan_trace_path(const struct glan_trace *t);

#ifdef __cplusplus
}
#endif
#endif
