/*
 * Checksum and segmentation offload: what a LAN does for a sender that left
 * its checksums or its TCP segmentation to the device (docs/design.md,
 * "Offloads").  The device checks what its guest asked for
 * (glan_offload_check) and completes the checksums in place before the
 * datagram enters the base; a TCP datagram larger than its MSS (TSO) stays
 * whole in base storage, marked GLAN_OFFLOAD_TSO with its MSS, and whoever
 * must not see it whole (a receiver that did not take the offload, an
 * uplink, a trace) cuts it with glan_offload_each into the datagrams a
 * sender without TSO would have sent.
 *
 * Every routine reads only the len bytes it is given: a datagram whose
 * headers say otherwise is refused, never followed.  IPv4 with options and
 * IPv6 with extension headers are refused for TSO (no stack sends them so).
 */
#ifndef GUESTLAN_OFFLOAD_H
#define GUESTLAN_OFFLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "guestlan/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The largest datagram (an IPv4 total length or IPv6 40 + payload length). */
#define GLAN_OFFLOAD_MAX 65535u
/* The longest Ethernet header before the datagram of a frame: 14 bytes and
 * one 802.1Q tag. */
#define GLAN_OFFLOAD_ETH_MAX 18u

/* Why glan_offload_check refused a datagram (0: it did not). */
enum glan_offload_bad {
    GLAN_OFFLOAD_OK = 0,
    GLAN_OFFLOAD_BAD_IP,       /* not IPv4/IPv6, lengths past the end, a fragment */
    GLAN_OFFLOAD_BAD_PROTO,    /* checksum: not TCP or UDP; TSO: not TCP */
    GLAN_OFFLOAD_BAD_HEADERS,  /* IPv4 options or IPv6 extension headers with TSO */
    GLAN_OFFLOAD_BAD_L4,       /* TCP/UDP header past the end or inconsistent */
    GLAN_OFFLOAD_BAD_MSS,      /* TSO: MSS 0, or no payload beyond one MSS */
    GLAN_OFFLOAD_BAD_SEGMENTS, /* TSO: more segments than GLAN_OFFLOAD_MAX_SEGS */
};
#define GLAN_OFFLOAD_MAX_SEGS 65535u

/* An Ethernet frame (LANs of transport ETHERNET) carries its datagram after
 * its header: the header's length, 14, or 18 with one 802.1Q tag, when the
 * frame's type is IPv4 or IPv6; 0 otherwise (nothing to offload in it).
 * Every routine below takes the datagram, not the frame: ip = f + that. */
size_t glan_offload_eth_hlen(const uint8_t *f, size_t len);

/* Is the datagram at ip (len bytes) one the offloads in flags (GLAN_OFFLOAD_*)
 * can be done for, with mss for TSO?  GLAN_OFFLOAD_OK or the reason. */
enum glan_offload_bad glan_offload_check(const uint8_t *ip, size_t len, unsigned flags,
                                         unsigned mss);
/* Complete the checksums of a checked datagram in place: the IPv4 header's,
 * and the TCP or UDP checksum over the whole datagram (a UDP sum of zero is
 * sent as 0xffff).  0, or -EINVAL when it does not pass glan_offload_check
 * for GLAN_OFFLOAD_CSUM (nothing is written then). */
int glan_offload_complete(uint8_t *ip, size_t len);
/* How many segments the TSO datagram (checked) is cut into; 0 when it does
 * not pass the check. */
unsigned glan_offload_segments(const uint8_t *ip, size_t len, unsigned mss);
/* Build segment i of the TSO datagram into out (room bytes): headers copied,
 * IPv4 total length, id + i and header checksum, or the IPv6 payload length;
 * TCP sequence number advanced by i * mss, CWR kept on the first segment
 * only, FIN and PSH on the last only, and the TCP checksum computed.  Returns
 * the segment's length, 0 when i is past the last, out is too small or the
 * datagram does not pass the check. */
size_t glan_offload_segment(const uint8_t *ip, size_t len, unsigned mss, unsigned i, uint8_t *out,
                            size_t room);

/*
 * Cutting for a receiver that takes datagrams one at a time (a port's
 * deliver, a trace): the state keeps a scratch buffer (allocated on first
 * use) and where a delivery stopped, so that a receiver that ran out of room
 * (-EAGAIN) part way through a TSO datagram is given the rest, not the whole
 * again, when the base retries the same copy.  One state per receiver, used
 * by one thread at a time (the port's drain turn, the trace's lock).
 */
struct glan_offload_state {
    uint8_t *buf;           /* GLAN_OFFLOAD_ETH_MAX + GLAN_OFFLOAD_MAX bytes, or NULL */
    const uint8_t *at_data; /* the datagram a delivery stopped in ... */
    uint32_t at_len;
    uint64_t at_ts;
    unsigned at_next; /* ... and the first segment not yet taken */
    /* Counted here, with relaxed atomic adds (queries read them any time). */
    uint64_t tso;      /* TSO datagrams cut */
    uint64_t segments; /* segments handed on */
    uint64_t bad;      /* offloaded datagrams that could not be cut (refused) */
};

/*
 * Hand dg to fn: as it is when it carries no TSO mark, else cut, one call
 * per segment with a struct glan_dgram like dg whose data, len, offload
 * (GLAN_OFFLOAD_CSUM) and mss (0) are the segment's.  A frame (family
 * GLAN_AF_MAC) is cut into frames: its Ethernet header, as it is, before
 * each segment of its datagram.  Returns 0 when every
 * piece was taken; fn's negative return as soon as it gives one (after
 * -EAGAIN the next call for the same copy resumes at that segment); -EINVAL
 * for a TSO datagram that cannot be cut (counted in bad); -ENOMEM when the
 * scratch buffer cannot be had.
 */
int glan_offload_each(struct glan_offload_state *st, const struct glan_dgram *dg,
                      int (*fn)(void *ctx, const struct glan_dgram *piece), void *ctx);
/* Free the scratch buffer (the counters stay). */
void glan_offload_state_free(struct glan_offload_state *st);

#ifdef __cplusplus
}
#endif
#endif
