/*
 * What kind of address one is, for the registry (what a guest may register,
 * what it may join) and the forwarding policy (how a datagram is cast).
 * The public half of the address module (parsing, formatting, a datagram's
 * destination) is in include/base/guestlan/base.h; both are in addr.c.  Internal
 * to src/base.
 */
#ifndef GLAN_BASE_ADDR_H
#define GLAN_BASE_ADDR_H

#include "guestlan/base.h"

#pragma GCC visibility push(hidden) /* internal to the base, see base_int.h */

/* An address a guest may register: IPv4 below 224.0.0.0 and not 0.0.0.0,
 * IPv6 outside ff00::/8 and not ::.  (255.255.255.255 is not one.) */
int addr_is_unicast(const struct glan_addr *a);
/* A multicast group: IPv4 224.0.0.0/4, IPv6 ff00::/8. */
int addr_is_multicast(const struct glan_addr *a);
/* The IPv4 limited broadcast, 255.255.255.255. */
int addr_is_broadcast(const struct glan_addr *a);

#pragma GCC visibility pop

#endif
