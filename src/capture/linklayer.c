/*
 * The link layer off a capture record: where its IPv4/IPv6 datagram starts
 * and how long it is, or that it carries something else, or why it is
 * malformed.  The reader (reader.c) applies it to every record.
 *
 * Written here because libpcap has no such function: it names a capture's
 * link type (pcap_datalink) and can run a BPF filter that keeps or drops a
 * whole record, but it never says where the network-layer payload of a
 * record begins; that is a dissector's work (tcpdump's, Wireshark's).  The
 * headers are few and fixed: Ethernet with its 802.1Q/802.1ad tags, the two
 * Linux cooked headers, BSD loopback, and raw IP.  Field layouts: the
 * tcpdump.org LINKTYPE_ list (linktypes.html) for each link type.
 */
#include <string.h>

#include <pcap/pcap.h>

#include "capture_int.h"
#include "guestlan/wire.h"

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

enum {
    SLL_HDR_LEN = 16,  /* Linux cooked: the protocol at offset 14 */
    SLL2_HDR_LEN = 20, /* Linux cooked v2: the protocol at offset 0 */
    NULL_HDR_LEN = 4,  /* BSD loopback: the address family */
};

int capture_link_supported(int dlt)
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

/* Walk 802.1Q/802.1ad tags from the ethertype at p[*off - 2]; leaves *type at
 * the innermost protocol and *off at its payload. */
static enum capture_unwrap walk_tags(const uint8_t *p, size_t len, size_t *off, uint16_t *type,
                                     char *why, size_t whylen)
{
    while (*type == ET_VLAN || *type == ET_QINQ || *type == ET_QINQ_OLD) {
        if (len < *off + VLAN_TAG_LEN) {
            capture_set_err(why, whylen, "VLAN tag cut short (%zu bytes)", len);
            return CAPTURE_BAD;
        }
        *type = be16(p + *off + 2);
        *off += VLAN_TAG_LEN;
    }
    return (*type == ET_IPV4 || *type == ET_IPV6) ? CAPTURE_IP : CAPTURE_SKIP;
}

/* Cut link-layer padding: an Ethernet frame is at least 60 bytes, so a small
 * datagram arrives with trailing zeros the IP length does not cover.  Only
 * shortens, and trusts no more of the header than the length field: a
 * datagram longer than what was captured, or with a nonsensical header, is
 * left for the base to judge (it drops it as malformed), with the bytes it
 * came with.  So not wire.h's ip_datagram_length, which refuses such
 * headers outright. */
static size_t trim_to_ip_length(const uint8_t *p, size_t len)
{
    if (len >= IPV4_HDR_MIN && (p[0] >> 4) == 4) {
        size_t tot = be16(p + 2);
        if (tot >= IPV4_HDR_MIN && tot < len)
            return tot;
    } else if (len >= IPV6_HDR_LEN && (p[0] >> 4) == 6) {
        size_t tot = IPV6_HDR_LEN + (size_t)be16(p + 4);
        if (tot > IPV6_HDR_LEN && tot < len)
            return tot;
    }
    return len;
}

/* BSD loopback: a 4-byte address family in the capturing host's byte order.
 * AF_INET is 2 everywhere; AF_INET6 is 10 (Linux), 24, 28 or 30 (BSDs). */
static enum capture_unwrap unwrap_null(const uint8_t *p, size_t len, char *why, size_t whylen)
{
    uint32_t fam;

    if (len < NULL_HDR_LEN) {
        capture_set_err(why, whylen, "loopback frame of %zu bytes is shorter than its header", len);
        return CAPTURE_BAD;
    }
    memcpy(&fam, p, sizeof fam);
    if (fam > 0xffff)
        fam = __builtin_bswap32(fam);
    if (fam == 2 || fam == 10 || fam == 24 || fam == 28 || fam == 30)
        return CAPTURE_IP;
    return CAPTURE_SKIP;
}

/* A link header of hdr_len bytes whose protocol field (an EtherType) is at
 * type_at, and the 802.1Q/802.1ad tags after it; what names the header in
 * the message. */
static enum capture_unwrap unwrap_typed(const uint8_t *p, size_t len, size_t hdr_len,
                                        size_t type_at, const char *what, size_t *off, char *why,
                                        size_t whylen)
{
    uint16_t type;

    if (len < hdr_len) {
        capture_set_err(why, whylen, "%s frame of %zu bytes is shorter than its header", what, len);
        return CAPTURE_BAD;
    }
    type = be16(p + type_at);
    *off = hdr_len;
    return walk_tags(p, len, off, &type, why, whylen);
}

static enum capture_unwrap unwrap_link(int dlt, const uint8_t *p, size_t len, size_t *off,
                                       char *why, size_t whylen)
{
    switch (dlt) {
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
        *off = 0;
        return CAPTURE_IP;
    case DLT_EN10MB:
        /* Values below 0x0600 are 802.3 lengths: LLC/SNAP frames, not IP. */
        return unwrap_typed(p, len, ETH_HDR_LEN, 12, "Ethernet", off, why, whylen);
    case DLT_LINUX_SLL:
        return unwrap_typed(p, len, SLL_HDR_LEN, 14, "Linux cooked", off, why, whylen);
    case DLT_LINUX_SLL2:
        return unwrap_typed(p, len, SLL2_HDR_LEN, 0, "Linux cooked v2", off, why, whylen);
    case DLT_NULL:
        *off = NULL_HDR_LEN;
        return unwrap_null(p, len, why, whylen);
    default:
        capture_set_err(why, whylen, "unsupported link type %d", dlt);
        return CAPTURE_BAD;
    }
}

/* A frame that says IP but ends with its link header (a 14-byte Ethernet
 * frame of type 0x0800, an empty raw record) is malformed here, for every
 * link type and before anyone sends it: an empty datagram is nothing a guest
 * or a network can hand the LAN, so no path gets to judge it its own way. */
enum capture_unwrap capture_unwrap(int dlt, const uint8_t *p, size_t caplen, size_t *off,
                                   size_t *len, char *why, size_t whylen)
{
    enum capture_unwrap u = unwrap_link(dlt, p, caplen, off, why, whylen);

    if (u != CAPTURE_IP)
        return u;
    if (*off >= caplen) {
        if (*off == 0)
            capture_set_err(why, whylen, "empty record");
        else
            capture_set_err(why, whylen, "no IP datagram after the %zu-byte link header", *off);
        return CAPTURE_BAD;
    }
    *len = caplen - *off;
    /* Raw IP has no link layer to pad it. */
    if (dlt != DLT_RAW && dlt != DLT_IPV4 && dlt != DLT_IPV6)
        *len = trim_to_ip_length(p + *off, *len);
    return CAPTURE_IP;
}
