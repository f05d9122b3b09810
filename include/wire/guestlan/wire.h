/*
 * What every layer reads off the wire the same way: big-endian fields,
 * Ethernet's type codes, and the check that an IPv4 or IPv6 header agrees
 * with the bytes it came in.  Header-only, below every other layer: the
 * capture files, the base, the device model, the uplinks and the tools
 * include it, and none keeps a copy of its own.
 */
#ifndef GLAN_WIRE_H
#define GLAN_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* ---- big-endian fields: byte arrays, whatever the host's order ------------- */

static inline uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}
static inline void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

/* ---- Ethernet ---------------------------------------------------------------- */

enum {
    ETH_ADDR_LEN = 6,
    ETH_HDR_LEN = 14, /* destination, source, type */
    VLAN_TAG_LEN = 4, /* 802.1Q: TPID 0x8100, then the TCI */
    ET_IPV4 = 0x0800,
    ET_ARP = 0x0806,
    ET_VLAN = 0x8100,
    ET_IPV6 = 0x86dd,
    ET_QINQ = 0x88a8,     /* 802.1ad service tag, outside an 802.1Q tag */
    ET_QINQ_OLD = 0x9100, /* the pre-standard QinQ tag, still seen in captures */
};

/* ---- IP headers ---------------------------------------------------------------- */

enum {
    IPV4_HDR_MIN = 20,
    IPV6_HDR_LEN = 40,
};

/* The length of the IPv4 or IPv6 datagram at p as its own header gives it
 * (IPv4: total length, with a header length of at least 20 that the total
 * covers; IPv6: 40 plus the payload length), when that fits in the len bytes
 * it came in.  0 when p holds neither, or a header that claims more than len
 * bytes: a guest, a capture file or a network may say anything. */
static inline size_t ip_datagram_length(const uint8_t *p, size_t len)
{
    if (len >= IPV4_HDR_MIN && p[0] >> 4 == 4) {
        size_t tot = be16(p + 2), ihl = (size_t)(p[0] & 15) * 4;
        return ihl >= IPV4_HDR_MIN && tot >= ihl && tot <= len ? tot : 0;
    }
    if (len >= IPV6_HDR_LEN && p[0] >> 4 == 6) {
        size_t tot = IPV6_HDR_LEN + (size_t)be16(p + 4);
        return tot <= len ? tot : 0;
    }
    return 0;
}

#endif
