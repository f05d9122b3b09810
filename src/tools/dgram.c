/*
 * IPv4 test datagrams (dgram.h), field by field after RFC 791 (IPv4),
 * RFC 768 (UDP) and RFC 792 (ICMP echo).
 */
#include <string.h>

#include "dgram.h"
#include "guestlan/inet.h"

enum { TTL = 64, PROTO_ICMP = 1, PROTO_UDP = 17, FLAG_DF = 0x40 };

/* Header checksum fields are big-endian, after the sum of everything else. */
static void put_csum(uint8_t *at, uint16_t c)
{
    at[0] = (uint8_t)(c >> 8);
    at[1] = (uint8_t)c;
}

void dgram_ip4_csum(uint8_t *p, size_t hl)
{
    p[10] = p[11] = 0;
    put_csum(p + 10, glan_inet_csum(0, p, hl));
}

void dgram_icmp_csum(uint8_t *m, size_t len)
{
    m[2] = m[3] = 0;
    put_csum(m + 2, glan_inet_csum(0, m, len));
}

/* The 20-byte header of a datagram of len bytes; the rest of p is zero. */
static void ip4_header(uint8_t *p, uint32_t len, uint8_t proto, uint8_t flags, uint32_t src,
                       uint32_t dst)
{
    memset(p, 0, len);
    p[0] = 0x45; /* version 4, 5 words */
    p[2] = (uint8_t)(len >> 8);
    p[3] = (uint8_t)len;
    p[6] = flags;
    p[8] = TTL;
    p[9] = proto;
    for (int i = 0; i < 4; i++) {
        p[12 + i] = (uint8_t)(src >> (24 - 8 * i));
        p[16 + i] = (uint8_t)(dst >> (24 - 8 * i));
    }
    dgram_ip4_csum(p, DGRAM_IP4_HDR);
}

void dgram_udp4(uint8_t *p, uint32_t len, uint32_t src, uint32_t dst)
{
    /* DF: the kernel path must forward it whole. */
    ip4_header(p, len, PROTO_UDP, FLAG_DF, src, dst);
    uint8_t *u = p + DGRAM_IP4_HDR;
    uint32_t ulen = len - DGRAM_IP4_HDR;
    u[0] = 0x9c; /* source port 40000 */
    u[1] = 0x40;
    u[2] = 0x23; /* destination port 9000 (discard-like, nobody listens) */
    u[3] = 0x28;
    u[4] = (uint8_t)(ulen >> 8);
    u[5] = (uint8_t)ulen;
    /* UDP checksum 0: allowed for IPv4, and nothing on either path checks it */
    for (uint32_t i = DGRAM_IP4_HDR + DGRAM_UDP_HDR; i < len; i++)
        p[i] = (uint8_t)i;
}

size_t dgram_icmp4_echo(uint8_t *p, uint32_t src, uint32_t dst, uint8_t type, uint16_t id,
                        uint16_t seq)
{
    size_t len = DGRAM_IP4_HDR + 8 + DGRAM_ICMP_DATA;
    ip4_header(p, (uint32_t)len, PROTO_ICMP, 0, src, dst);
    uint8_t *m = p + DGRAM_IP4_HDR;
    m[0] = type;
    m[4] = (uint8_t)(id >> 8);
    m[5] = (uint8_t)id;
    m[6] = (uint8_t)(seq >> 8);
    m[7] = (uint8_t)seq;
    for (int i = 0; i < DGRAM_ICMP_DATA; i++)
        m[8 + i] = (uint8_t)i;
    dgram_icmp_csum(m, 8 + DGRAM_ICMP_DATA);
    return len;
}
