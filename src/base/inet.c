/* The Internet checksum (include/base/guestlan/inet.h). */
#include "guestlan/inet.h"

uint16_t glan_inet_sum(uint32_t sum, const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t s = sum; /* 64 bits: no carry is lost however long the run */
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)b[i] << 8 | b[i + 1];
    if (n & 1)
        s += (uint32_t)b[n - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}
