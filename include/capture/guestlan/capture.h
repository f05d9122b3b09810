/*
 * guestlan capture files: reading and writing the pcap and pcapng files
 * every part of guestlan exchanges traffic through.  A reader hands out the
 * IPv4/IPv6 datagrams of a capture of raw IP (DLT_RAW, DLT_IPV4, DLT_IPV6),
 * Ethernet (DLT_EN10MB, 802.1Q/802.1ad tags unwrapped), Linux cooked
 * (DLT_LINUX_SLL, DLT_LINUX_SLL2) or BSD loopback (DLT_NULL) with their
 * timestamps to the nanosecond; a writer records IP datagrams in a DLT_RAW
 * file with nanosecond timestamps, classic pcap (what every tool reads) or
 * pcapng (for timestamps past 2106).  libpcap does the file format work
 * wherever it can (src/capture/ says where it cannot, and why).
 *
 * A layer of its own, below the base: the base's traces (trace.h), the pcap
 * file uplink (pcapfile.h) and `glan replay` read and write every capture in
 * guestlan through it.  Nothing here prints: every problem is a message in
 * the caller's buffer and a count.
 */
#ifndef GUESTLAN_CAPTURE_H
#define GUESTLAN_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- reading captures ------------------------------------------------------ */

struct glan_pcap_reader;

/* What a reader has seen so far. */
struct glan_pcap_reader_stats {
    uint64_t records;   /* capture records read (any kind) */
    uint64_t datagrams; /* IPv4/IPv6 datagrams returned */
    uint64_t bytes;     /* their bytes */
    uint64_t skipped;   /* records carrying something else (ARP, LLC, ...) */
    uint64_t errors;    /* malformed records, and a damaged file */
};

/* Open a capture (pcap or pcapng, any link type above).  NULL with a message
 * naming the file and the problem in err when it cannot be read, is not a
 * capture, or has a link type we cannot unwrap.  Timestamps are read over
 * their whole range: a pcap file's seconds as the unsigned 32-bit number the
 * format defines (to 2106), a pcapng file's 64-bit time at any resolution
 * (libpcap converts it to nanoseconds), to the end of 64-bit nanoseconds. */
struct glan_pcap_reader *glan_pcap_reader_open(const char *path, char *err, size_t errlen);

/*
 * The next IPv4/IPv6 datagram, link layer removed and trimmed to the IP
 * length where the link layer pads (Ethernet minimum frames).  *data stays
 * valid until the next call or close.  Returns
 *   1        a datagram (*data, *len >= 1, *ts_ns in ns since the epoch);
 *   0        end of the capture;
 *   -EBADMSG this record is malformed (cut short by the capture's snap
 *            length, shorter than its link header, no IP byte after the
 *            link header, a timestamp whose fraction is a second or more or
 *            that lies past 2^64 ns, 2554-07-21 23:34:33 UTC); counted,
 *            message in the reader's error; the next call goes on with the
 *            next record;
 *   -EIO     the file itself is damaged (truncated, bad record header);
 *            counted, message in the reader's error; reading is over.
 * Records that are not IP are skipped and counted, never returned.
 */
int glan_pcap_reader_next(struct glan_pcap_reader *r, const uint8_t **data, size_t *len,
                          uint64_t *ts_ns);
/* From now on hand out every record of an Ethernet (DLT_EN10MB) capture as
 * the whole frame, nothing unwrapped or skipped (a LAN of transport
 * ETHERNET); a record shorter than an Ethernet header is -EBADMSG.  0, or
 * -EPROTOTYPE (message in the reader's error) for another link type. */
int glan_pcap_reader_set_frames(struct glan_pcap_reader *r);
/* The last error message ("FILE: record N: ..."), "" when none. */
const char *glan_pcap_reader_error(const struct glan_pcap_reader *r);
void glan_pcap_reader_stats(const struct glan_pcap_reader *r, struct glan_pcap_reader_stats *out);
/* libpcap's name of the capture's link type ("EN10MB", "RAW", ...). */
const char *glan_pcap_reader_linktype(const struct glan_pcap_reader *r);
void glan_pcap_reader_close(struct glan_pcap_reader *r);

/* ---- writing captures ------------------------------------------------------ */

struct glan_pcap_writer;

/* The file format a writer writes. */
enum glan_pcap_format {
    GLAN_PCAP_CLASSIC, /* pcap: what every tool reads; 32-bit seconds, to 2106 */
    GLAN_PCAP_NG,      /* pcapng: 64-bit nanoseconds, every timestamp we hold */
};

/* The first timestamp (ns since the epoch) a classic pcap file cannot hold:
 * its seconds are an unsigned 32-bit number, so 2106-02-07 06:28:16 UTC. */
#define GLAN_PCAP_CLASSIC_END_NS (UINT64_C(4294967296) * UINT64_C(1000000000))

/* Create (truncate) a DLT_RAW capture with nanosecond timestamps in format
 * fmt.  NULL with a message in err on failure. */
struct glan_pcap_writer *glan_pcap_writer_open_format(const char *path, enum glan_pcap_format fmt,
                                                      char *err, size_t errlen);
/* The same with ethernet nonzero: a DLT_EN10MB capture of Ethernet frames
 * (a LAN of transport ETHERNET). */
struct glan_pcap_writer *glan_pcap_writer_open_link(const char *path, enum glan_pcap_format fmt,
                                                    int ethernet, char *err, size_t errlen);
/* Append one IP datagram (or frame) stamped ts_ns (ns since the epoch).  0; -ERANGE
 * when the file's format cannot hold ts_ns (classic pcap from
 * GLAN_PCAP_CLASSIC_END_NS on): the datagram is not written, the file stays
 * good, message in err; or -EIO once the file has failed (message in err). */
int glan_pcap_writer_write(struct glan_pcap_writer *w, const void *data, size_t len, uint64_t ts_ns,
                           char *err, size_t errlen);
/* Flush and close.  0, or -EIO when anything written was lost (message in
 * err; err may be NULL). */
int glan_pcap_writer_close(struct glan_pcap_writer *w, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
