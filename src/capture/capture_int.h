/*
 * What the files of src/capture share and nobody else sees: the link-layer
 * unwrapping the reader applies to each record (linklayer.c), the pcapng
 * blocks the writer writes by hand (pcapng.c), and the one way a message
 * gets into a caller's buffer.
 */
#ifndef GLAN_CAPTURE_INT_H
#define GLAN_CAPTURE_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NS_PER_SEC UINT64_C(1000000000)

/* Large enough for any IP datagram (IPv4 and non-jumbo IPv6 top out at 64 KiB
 * plus the IPv6 header): the snap length of every capture we write. */
#define CAPTURE_SNAPLEN 65575

/* printf into err (errlen bytes); nothing when err is NULL. */
static inline void capture_set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline void capture_set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- the link layer (linklayer.c) ------------------------------------------ */

/* The link types capture_unwrap takes off, as the reader's message names them. */
#define CAPTURE_LINKTYPES "RAW, IPV4, IPV6, EN10MB, LINUX_SLL, LINUX_SLL2, NULL"

/* Whether capture_unwrap knows link type dlt (a DLT_ value of libpcap's). */
int capture_link_supported(int dlt);

/* What one record holds. */
enum capture_unwrap {
    CAPTURE_IP,   /* an IPv4/IPv6 datagram */
    CAPTURE_SKIP, /* something else: ARP, LLC, another ethertype or family */
    CAPTURE_BAD,  /* a malformed record */
};

/* The link layer off the record p of caplen bytes of link type dlt: for
 * CAPTURE_IP, the datagram is the *len bytes at p + *off (trimmed to its IP
 * length where the link layer pads); for CAPTURE_BAD, why says what is wrong
 * ("Ethernet frame of 9 bytes is shorter than its header"). */
enum capture_unwrap capture_unwrap(int dlt, const uint8_t *p, size_t caplen, size_t *off,
                                   size_t *len, char *why, size_t whylen);

/* ---- pcapng blocks (pcapng.c) ---------------------------------------------- */

/* The Section Header and Interface Description Blocks a DLT_RAW capture with
 * nanosecond timestamps starts with. */
void capture_ng_header(FILE *f, int ethernet);
/* One Enhanced Packet Block: len bytes of data stamped ts_ns. */
void capture_ng_packet(FILE *f, const void *data, size_t len, uint64_t ts_ns);

#endif
