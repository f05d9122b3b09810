/*
 * The tests' one builder of datagrams and frames: IPv4 and IPv6 headers,
 * UDP, ICMP and ICMPv6 echo, neighbour discovery, ARP, the transport
 * checksum with its pseudo-header, and an Ethernet or 802.1Q frame around a
 * datagram.  Built on the project's own wire helpers (src/wire/wire.h: byte
 * order, Ethernet types, header lengths) and Internet checksum
 * (guestlan/inet.h); the unit suites (testport.c), the namespace tests
 * (netns.c) and the pcap file uplink's test build with it, and none keeps a
 * byte-order helper or a checksum of its own.
 *
 * Checksums are filled in when the caller asks (DG_IP_CSUM, DG_L4_CSUM):
 * the base never looks at them, and a test's datagrams stay the bytes it has
 * always sent.  Every IPv4 header here has no options and every IPv6 one no
 * extension headers; addresses are struct glan_addr (the source's family is
 * the datagram's).
 */
#ifndef GLAN_TESTS_DGRAM_H
#define GLAN_TESTS_DGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "guestlan/base.h"
#include "guestlan/wire.h"

enum {
    DG_ICMP = 1, /* IP protocol numbers */
    DG_TCP = 6,
    DG_UDP = 17,
    DG_ICMPV6 = 58,
    DG_UDP_HDR = 8,
    DG_ECHO_DATA = 32, /* the payload of dg_echo_request, bytes 0, 1, ... 31 */
    DG_ARP_LEN = 28,   /* ARP for IPv4 over Ethernet */
    DG_ETH_MIN = 60,   /* the shortest Ethernet frame, without its FCS */
};

/* What a builder fills in besides the fields (flags, or-ed). */
enum {
    DG_IP_CSUM = 1, /* the IPv4 header checksum */
    DG_L4_CSUM = 2, /* the transport checksum (ICMP, ICMPv6, UDP, TCP) */
};

/* ---- IP ------------------------------------------------------------------------------- */

/* The length of the IP header at p: 20 for IPv4, 40 for IPv6 (by the version). */
size_t dg_ip_hlen(const uint8_t *p);

/* An IPv4 or IPv6 header (by src's family) at p for a datagram of len bytes
 * in all carrying protocol proto from src to dst, hop limit 64; flags
 * DG_IP_CSUM fills in IPv4's header checksum.  Its length. */
size_t dg_ip(uint8_t *p, size_t len, uint8_t proto, const struct glan_addr *src,
             const struct glan_addr *dst, unsigned flags);

/* The source and destination addresses of the datagram at p. */
void dg_addrs(const uint8_t *p, struct glan_addr *src, struct glan_addr *dst);

/* Set the header checksum of the IPv4 datagram at p (nothing for IPv6);
 * like everything here, it takes the header to have no options. */
void dg_ip_csum(uint8_t *p);

/* Set the transport checksum of the datagram of len bytes at p: ICMP's over
 * the message alone, ICMPv6's, UDP's and TCP's with the pseudo-header (UDP's
 * 0 sent as ffff, since 0 means none). */
void dg_l4_csum(uint8_t *p, size_t len);

/* The transport checksum of the datagram of len bytes at p computed over it
 * as it stands, its checksum field included: 0 when that field is right. */
uint16_t dg_l4_check(const uint8_t *p, size_t len);

/* ---- UDP, ICMP, neighbour discovery ------------------------------------------------------ */

/* A UDP datagram of len bytes in all (at least the two headers) from
 * src:sport to dst:dport, its payload zeros; flags as for dg_ip, DG_L4_CSUM
 * for UDP's checksum.  len. */
size_t dg_udp(uint8_t *p, size_t len, const struct glan_addr *src, uint16_t sport,
              const struct glan_addr *dst, uint16_t dport, unsigned flags);

/* An ICMP or ICMPv6 echo request (by src's family) from src to dst with
 * identifier id, sequence number seq and DG_ECHO_DATA bytes of payload,
 * every checksum filled in; its length. */
size_t dg_echo_request(uint8_t *p, const struct glan_addr *src, const struct glan_addr *dst,
                       uint16_t id, uint16_t seq);

/* Turn the echo request of len bytes at p into its reply in place:
 * addresses swapped, hop limit 64, type, checksums again. */
void dg_echo_reply(uint8_t *p, size_t len);

/* A neighbour solicitation (type 135) or advertisement (136, flagged
 * solicited and override) from src to dst for target, hop limit 255, with a
 * source (135) or target (136) link-layer address option holding lla unless
 * lla is NULL; flags DG_L4_CSUM fills in its checksum.  Its length, the
 * IPv6 header included. */
size_t dg_nd(uint8_t *p, uint8_t type, const struct glan_addr *src, const struct glan_addr *dst,
             const struct glan_addr *target, const uint8_t *lla, unsigned flags);

/* The solicited-node multicast group of the IPv6 address a (ff02::1:ffXX:XXXX). */
struct glan_addr dg_solicited_node(const struct glan_addr *a);

/* ---- Ethernet ---------------------------------------------------------------------------- */

/* An Ethernet header from src to dst (6 bytes each) of type type, with an
 * 802.1Q tag of TCI vid before the type when vid is nonzero; its length. */
size_t dg_eth(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type, uint16_t vid);

/* That header and then the len bytes at dg; the frame's length, unpadded. */
size_t dg_frame(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type, uint16_t vid,
                const uint8_t *dg, size_t len);

/* Zeros after the frame of len bytes at f up to DG_ETH_MIN; the padded length. */
size_t dg_pad(uint8_t *f, size_t len);

/* An ARP packet for IPv4 over Ethernet (DG_ARP_LEN bytes at a): operation op
 * (1 request, 2 reply) from sha (6 bytes) and spa (4) for tpa (4), the
 * target hardware address zeros.  Its length. */
size_t dg_arp(uint8_t *a, uint16_t op, const uint8_t *sha, const uint8_t *spa, const uint8_t *tpa);

#endif
