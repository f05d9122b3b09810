/*
 * What kind of address one is, for the registry (what a guest may register,
 * what it may join) and the forwarding policy (how a datagram is cast).
 * The public half of the address module (parsing, formatting, a datagram's
 * destination) is in include/base/guestlan/base.h; both are in addr.c.  Internal
 * to src/base.
 */
#ifndef GLAN_BASE_ADDR_H
#define GLAN_BASE_ADDR_H

#include <string.h>

#include "guestlan/base.h"

/* Inline: the forwarding policy asks for every datagram (forward.c). */

/* An address a guest may register: IPv4 below 224.0.0.0 and not 0.0.0.0,
 * IPv6 outside ff00::/8 and not ::.  (255.255.255.255 is not one.) */
static inline int addr_is_unicast(const struct glan_addr *a)
{
    static const uint8_t zero[16];
    if (a->family == GLAN_AF_INET)
        return a->bytes[0] < 224 && memcmp(a->bytes, zero, 4) != 0;
    if (a->family == GLAN_AF_INET6)
        return a->bytes[0] != 0xff && memcmp(a->bytes, zero, 16) != 0;
    return 0;
}

/* A multicast group: IPv4 224.0.0.0/4, IPv6 ff00::/8. */
static inline int addr_is_multicast(const struct glan_addr *a)
{
    if (a->family == GLAN_AF_INET)
        return (a->bytes[0] & 0xf0) == 0xe0;
    if (a->family == GLAN_AF_INET6)
        return a->bytes[0] == 0xff;
    return 0;
}

/* The IPv4 limited broadcast, 255.255.255.255. */
static inline int addr_is_broadcast(const struct glan_addr *a)
{
    return a->family == GLAN_AF_INET && a->bytes[0] == 255 && a->bytes[1] == 255 &&
           a->bytes[2] == 255 && a->bytes[3] == 255;
}

#endif
