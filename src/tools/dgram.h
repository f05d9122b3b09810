/*
 * The IPv4 test datagrams of the glan tool: `glan bench` measures with UDP
 * datagrams, `glan demo`'s guests ping with ICMP echoes.  One builder of the
 * IPv4 header, with its checksum, for both; addresses in host byte order
 * (IP4(10, 0, 0, 1)).
 */
#ifndef GLAN_TOOLS_DGRAM_H
#define GLAN_TOOLS_DGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "guestlan/wire.h"

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

enum {
    DGRAM_IP4_HDR = IPV4_HDR_MIN, /* the header we build: no options */
    DGRAM_UDP_HDR = 8,
    DGRAM_ICMP_ECHO = 8, /* ICMP types */
    DGRAM_ICMP_REPLY = 0,
    DGRAM_ICMP_DATA = 56, /* what ping(8) sends by default */
};

/* An IPv4/UDP datagram of exactly len bytes (len >= 28) from src to dst,
 * Don't Fragment, from port 40000 to port 9000, the payload bytes counting
 * up, a valid header checksum (the kernel checks it) and none for UDP. */
void dgram_udp4(uint8_t *p, uint32_t len, uint32_t src, uint32_t dst);

/* An ICMP echo request or reply (type) of DGRAM_ICMP_DATA bytes, as ping
 * sends; returns its length. */
size_t dgram_icmp4_echo(uint8_t *p, uint32_t src, uint32_t dst, uint8_t type, uint16_t id,
                        uint16_t seq);

/* The same of exactly len bytes (at least the two headers, 28), its data
 * bytes counting up. */
size_t dgram_icmp4_echo_len(uint8_t *p, size_t len, uint32_t src, uint32_t dst, uint8_t type,
                            uint16_t id, uint16_t seq);

enum { DGRAM_ARP_FRAME = 60 }; /* an ARP frame, padded to Ethernet's minimum */

/* An Ethernet ARP frame of DGRAM_ARP_FRAME bytes from sha/spa: a request
 * (op 1, to the broadcast, tha unused and zero) or a reply (op 2, to tha)
 * for tpa; spa and tpa in network byte order. */
void dgram_arp(uint8_t *f, int op, const uint8_t sha[6], const uint8_t spa[4], const uint8_t *tha,
               const uint8_t tpa[4]);

/* Set the checksum of the IPv4 header of hl bytes at p. */
void dgram_ip4_csum(uint8_t *p, size_t hl);
/* Set the checksum of the ICMP message of len bytes at m. */
void dgram_icmp_csum(uint8_t *m, size_t len);

#endif
