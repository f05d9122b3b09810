/*
 * The ARP and IPv6 neighbour-discovery answers the device gives on the
 * guests' behalf, as an OSA in layer-3 mode does for the stack behind it:
 * such frames never cross the LAN.  qdio.c finds them in the guest's output
 * (a Neighbour Solicitation among its IPv6 datagrams, an ARP request in a
 * passthrough frame), asks here, and puts the answer built here into the
 * same guest's input.  This file only reads the LAN's registry
 * (glan_lan_lookup) and calls nothing else of the device model
 * (osa_int.h).  docs/osa.md, "Data path", says which frames are answered.
 */
#include <string.h>

#include "guestlan/inet.h"
#include "osa_int.h"

/* Port owning addr when it is another port of the LAN, else -1. */
static int other_owner(struct glan_port *port, const struct glan_addr *a)
{
    int owner = glan_lan_lookup(glan_port_lan(port), a);
    return owner >= 0 && owner != glan_port_index(port) ? owner : -1;
}

/* The MAC the device answers with for addresses beyond the LAN: the
 * guest's next hop is "the router", which an L3 OSA strips anyway. */
static const uint8_t router_mac[6] = {0x02, 0x67, 0x6c, 0xff, 0xff, 0xfe};

/*
 * An ICMPv6 Neighbour Solicitation is answered with a Neighbour
 * Advertisement: for an address another port holds, with that port's MAC;
 * for an address beyond the LAN, with the router MAC.  Not answered (and so
 * sent on as multicast): solicitations for the guest's own addresses, and
 * duplicate address probes (source ::) for addresses nobody holds.
 */
int osa_neigh_solicit(struct glan_port *port, const uint8_t *ip6, uint32_t len,
                      struct osa_frame *ans)
{
    if (len < IPV6_HDR_LEN + 24 || (ip6[0] >> 4) != 6 || ip6[6] != 58 || ip6[40] != 135 ||
        ip6[41] != 0)
        return 0;
    struct glan_addr target = {.family = GLAN_AF_INET6};
    memcpy(target.bytes, ip6 + 48, 16);
    if (target.bytes[0] == 0xff)
        return 0;
    int owner = glan_lan_lookup(glan_port_lan(port), &target);
    if (owner == glan_port_index(port))
        return 0;
    static const uint8_t unspec[16];
    int dad = memcmp(ip6 + 8, unspec, 16) == 0;
    if (dad && owner < 0)
        return 0;
    uint8_t *na = ans->data;
    _Static_assert(sizeof ans->data >= IPV6_HDR_LEN + 32, "room for a Neighbour Advertisement");
    memset(na, 0, IPV6_HDR_LEN + 32);
    na[0] = 0x60;
    put16(na + 4, 32);
    na[6] = 58;
    na[7] = 255;
    memcpy(na + 8, target.bytes, 16);
    if (dad) { /* to all nodes: the address is taken */
        na[24] = 0xff;
        na[25] = 0x02;
        na[39] = 0x01;
    } else {
        memcpy(na + 24, ip6 + 8, 16);
    }
    uint8_t *icmp = na + IPV6_HDR_LEN;
    icmp[0] = 136;
    icmp[4] = dad ? 0x20 : 0x60; /* solicited (not for DAD), override */
    memcpy(icmp + 8, target.bytes, 16);
    icmp[24] = 2; /* target link-layer address */
    icmp[25] = 1;
    if (owner >= 0)
        osa_mac_for_port(port, owner, icmp + 26);
    else
        memcpy(icmp + 26, router_mac, 6);
    uint8_t pseudo[40] = {0};
    memcpy(pseudo, na + 8, 32);
    put32(pseudo + 32, 32);
    pseudo[39] = 58;
    uint32_t sum = glan_inet_sum(0, pseudo, sizeof pseudo);
    sum = glan_inet_sum(sum, icmp, 32);
    put16(icmp + 2, (uint16_t)~sum);
    ans->flags = QETH_HDR_IPV6 | QETH_CAST_UNICAST;
    ans->len = IPV6_HDR_LEN + 32;
    return 1;
}

/* An ARP request for an address another port holds is answered with that
 * port's MAC, in a passthrough frame; any other ARP is absorbed. */
int osa_neigh_arp(struct glan_port *port, const uint8_t *eth, const uint8_t *arp, uint32_t len,
                  struct osa_frame *ans)
{
    if (len < 28 || be16(arp) != 1 || be16(arp + 2) != ET_IPV4 || arp[4] != ETH_ADDR_LEN ||
        arp[5] != 4 || be16(arp + 6) != 1)
        return 0;
    struct glan_addr tpa = {.family = GLAN_AF_INET};
    memcpy(tpa.bytes, arp + 24, 4);
    int owner = other_owner(port, &tpa);
    if (owner < 0)
        return 0;
    uint8_t *f = ans->data;
    _Static_assert(sizeof ans->data >= ETH_HDR_LEN + 28, "room for an ARP reply");
    uint8_t mac[6];
    osa_mac_for_port(port, owner, mac);
    memcpy(f, eth + 6, 6);
    memcpy(f + 6, mac, 6);
    put16(f + 12, ET_ARP);
    uint8_t *r = f + ETH_HDR_LEN;
    memcpy(r, arp, 8);
    put16(r + 6, 2);
    memcpy(r + 8, mac, 6);
    memcpy(r + 14, arp + 24, 4);
    memcpy(r + 18, arp + 8, 10);
    ans->flags = QETH_HDR_PASSTHRU | QETH_CAST_UNICAST;
    ans->len = ETH_HDR_LEN + 28;
    return 1;
}
