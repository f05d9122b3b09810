/*
 * IPv4 test datagrams (dgram.h), field by field after RFC 791 (IPv4),
 * RFC 768 (UDP) and RFC 792 (ICMP echo).
 */
#include <string.h>

#include "dgram.h"
#include "guestlan/inet.h"
#include "guestlan/wire.h"

enum { TTL = 64, PROTO_ICMP = 1, PROTO_UDP = 17, FLAG_DF = 0x40 };

void dgram_ip4_csum(uint8_t *p, size_t hl)
{
    p[10] = p[11] = 0;
    put16(p + 10, glan_inet_csum(0, p, hl));
}

void dgram_icmp_csum(uint8_t *m, size_t len)
{
    m[2] = m[3] = 0;
    put16(m + 2, glan_inet_csum(0, m, len));
}

/* The 20-byte header of a datagram of len bytes; the rest of p is zero. */
static void ip4_header(uint8_t *p, uint32_t len, uint8_t proto, uint8_t flags, uint32_t src,
                       uint32_t dst)
{
    memset(p, 0, len);
    p[0] = 0x45; /* version 4, 5 words */
    put16(p + 2, (uint16_t)len);
    p[6] = flags;
    p[8] = TTL;
    p[9] = proto;
    put32(p + 12, src);
    put32(p + 16, dst);
    dgram_ip4_csum(p, DGRAM_IP4_HDR);
}

void dgram_udp4(uint8_t *p, uint32_t len, uint32_t src, uint32_t dst)
{
    /* DF: the kernel path must forward it whole. */
    ip4_header(p, len, PROTO_UDP, FLAG_DF, src, dst);
    uint8_t *u = p + DGRAM_IP4_HDR;
    uint32_t ulen = len - DGRAM_IP4_HDR;
    put16(u, 40000);    /* source port */
    put16(u + 2, 9000); /* destination port (discard-like, nobody listens) */
    put16(u + 4, (uint16_t)ulen);
    /* UDP checksum 0: allowed for IPv4, and nothing on either path checks it */
    for (uint32_t i = DGRAM_IP4_HDR + DGRAM_UDP_HDR; i < len; i++)
        p[i] = (uint8_t)i;
}

size_t dgram_icmp4_echo(uint8_t *p, uint32_t src, uint32_t dst, uint8_t type, uint16_t id,
                        uint16_t seq)
{
    return dgram_icmp4_echo_len(p, DGRAM_IP4_HDR + 8 + DGRAM_ICMP_DATA, src, dst, type, id, seq);
}

size_t dgram_icmp4_echo_len(uint8_t *p, size_t len, uint32_t src, uint32_t dst, uint8_t type,
                            uint16_t id, uint16_t seq)
{
    if (len < DGRAM_IP4_HDR + 8)
        len = DGRAM_IP4_HDR + 8;
    ip4_header(p, (uint32_t)len, PROTO_ICMP, 0, src, dst);
    uint8_t *m = p + DGRAM_IP4_HDR;
    m[0] = type;
    m[1] = 0;
    put16(m + 4, id);
    put16(m + 6, seq);
    for (size_t i = 0; i < len - DGRAM_IP4_HDR - 8; i++)
        m[8 + i] = (uint8_t)i;
    dgram_icmp_csum(m, len - DGRAM_IP4_HDR);
    return len;
}

void dgram_arp(uint8_t *f, int op, const uint8_t sha[6], const uint8_t spa[4], const uint8_t *tha,
               const uint8_t tpa[4])
{
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t hdr[8] = {0, 1, 8, 0, 6, 4, 0, 0}; /* Ethernet, IPv4 */
    memset(f, 0, DGRAM_ARP_FRAME);
    memcpy(f, op == 1 ? bcast : tha, 6);
    memcpy(f + 6, sha, 6);
    f[12] = 0x08;
    f[13] = 0x06;
    memcpy(f + 14, hdr, 8);
    f[21] = (uint8_t)op;
    memcpy(f + 22, sha, 6);
    memcpy(f + 28, spa, 4);
    if (op == 2)
        memcpy(f + 32, tha, 6);
    memcpy(f + 38, tpa, 4);
}
