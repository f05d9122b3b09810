/*
 * guestlan pcap file uplink: a LAN's uplink whose "network" is a pair of
 * capture files.  What the LAN sends out is recorded in a DLT_RAW pcap file
 * (nanosecond timestamps, readable by tshark/tcpdump; pcapng when asked, for
 * timestamps past 2106); what arrives from the network is read from a
 * capture, as if a wire had delivered it.  Captures of raw IP (DLT_RAW,
 * DLT_IPV4, DLT_IPV6), Ethernet (DLT_EN10MB, 802.1Q/802.1ad tags unwrapped),
 * Linux cooked (DLT_LINUX_SLL, DLT_LINUX_SLL2) and BSD loopback (DLT_NULL)
 * are read; frames that carry no IPv4/IPv6 are counted as skipped.  libpcap
 * does the file format work, but for writing pcapng, which it cannot.
 *
 * The reader and writer underneath are public too: `glan replay` uses them
 * for its guest ports' inputs and recordings, so every capture in guestlan is
 * read and written by one piece of code.
 */
#ifndef GUESTLAN_PCAPFILE_H
#define GUESTLAN_PCAPFILE_H

#include <stddef.h>
#include <stdint.h>

#include "guestlan/uplink.h"

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
/* The same in GLAN_PCAP_CLASSIC. */
struct glan_pcap_writer *glan_pcap_writer_open(const char *path, char *err, size_t errlen);
/* Append one IP datagram stamped ts_ns (ns since the epoch).  0; -ERANGE
 * when the file's format cannot hold ts_ns (classic pcap from
 * GLAN_PCAP_CLASSIC_END_NS on): the datagram is not written, the file stays
 * good, message in err; or -EIO once the file has failed (message in err). */
int glan_pcap_writer_write(struct glan_pcap_writer *w, const void *data, size_t len, uint64_t ts_ns,
                           char *err, size_t errlen);
/* Flush and close.  0, or -EIO when anything written was lost (message in
 * err; err may be NULL). */
int glan_pcap_writer_close(struct glan_pcap_writer *w, char *err, size_t errlen);

/* ---- the uplink ------------------------------------------------------------ */

/*
 * Create a pcap file uplink.  in_path (may be NULL: nothing arrives from the
 * network) is the capture its receive op reads; out_path (may be NULL: what
 * goes out is counted and discarded) is the DLT_RAW file its send op writes.
 * The files are opened by ops->open, i.e. by glan_uplink_attach(), which
 * reports problems in u->err.  NULL only when memory is short.
 *
 * receive(u, budget) hands up to budget datagrams of in_path to
 * glan_uplink_input() with their capture timestamps; non-IP frames count in
 * stats.rx_skipped, malformed records in stats.rx_errors (message in u->err,
 * reading goes on); a damaged file ends the input with -EIO.
 */
struct glan_uplink *glan_pcapfile_create(const char *in_path, const char *out_path);

/* Before the uplink is attached: write out_path in format fmt (default
 * GLAN_PCAP_CLASSIC, where a datagram stamped from GLAN_PCAP_CLASSIC_END_NS
 * on is not written: counted in stats.tx_errors, message in u->err).  0;
 * -EINVAL when u is not a pcap file uplink; -EBUSY once its files are open. */
int glan_pcapfile_set_format(struct glan_uplink *u, enum glan_pcap_format fmt);

#ifdef __cplusplus
}
#endif
#endif
