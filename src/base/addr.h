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

/* A MAC's I/G bit: set in group (multicast and broadcast) addresses. */
static inline int mac_is_group(const uint8_t *mac)
{
    return mac[0] & 1;
}

static inline int mac_is_broadcast(const uint8_t *mac)
{
    return (mac[0] & mac[1] & mac[2] & mac[3] & mac[4] & mac[5]) == 0xff;
}

static inline int mac_is_zero(const uint8_t *mac)
{
    return (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) == 0;
}

/* A VLAN one may join: 1 to 4094. */
static inline int addr_is_vlan(const struct glan_addr *a)
{
    unsigned vid = (unsigned)a->bytes[0] << 8 | a->bytes[1];
    return a->family == GLAN_AF_VLAN && vid >= 1 && vid <= 4094;
}

/* An address a guest may register: IPv4 below 224.0.0.0 and not 0.0.0.0,
 * IPv6 outside ff00::/8 and not ::, a MAC that is not a group or zero.
 * (255.255.255.255 is not one.) */
static inline int addr_is_unicast(const struct glan_addr *a)
{
    static const uint8_t zero[16];
    if (a->family == GLAN_AF_MAC)
        return !mac_is_group(a->bytes) && !mac_is_zero(a->bytes);
    if (a->family == GLAN_AF_INET)
        return a->bytes[0] < 224 && memcmp(a->bytes, zero, 4) != 0;
    if (a->family == GLAN_AF_INET6)
        return a->bytes[0] != 0xff && memcmp(a->bytes, zero, 16) != 0;
    return 0;
}

/* A multicast group: IPv4 224.0.0.0/4, IPv6 ff00::/8, a group MAC other
 * than the broadcast. */
static inline int addr_is_multicast(const struct glan_addr *a)
{
    if (a->family == GLAN_AF_MAC)
        return mac_is_group(a->bytes) && !mac_is_broadcast(a->bytes);
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

/* The transport whose registry holds addresses of a's family. */
static inline enum glan_transport addr_transport(const struct glan_addr *a)
{
    return a->family == GLAN_AF_MAC || a->family == GLAN_AF_VLAN ? GLAN_TRANSPORT_ETHERNET
                                                                 : GLAN_TRANSPORT_IP;
}

#endif
