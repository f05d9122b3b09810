/*
 * The Internet checksum (RFC 1071), the one routine every part that builds
 * or checks an IP, ICMP, UDP or TCP header uses.
 */
#ifndef GUESTLAN_INET_H
#define GUESTLAN_INET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The 16-bit one's-complement sum of n bytes at p (big-endian words, an odd
 * last byte padded with zero) added to sum, folded; not complemented, so
 * sums chain: glan_inet_sum(glan_inet_sum(0, pseudo, 12), seg, len). */
uint16_t glan_inet_sum(uint32_t sum, const void *p, size_t n);

/* The checksum field's value for the bytes at p: ~glan_inet_sum(sum, p, n). */
static inline uint16_t glan_inet_csum(uint32_t sum, const void *p, size_t n)
{
    return (uint16_t)~glan_inet_sum(sum, p, n);
}

#ifdef __cplusplus
}
#endif
#endif
