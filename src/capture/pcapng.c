/*
 * The pcapng blocks a DLT_RAW capture with nanosecond timestamps needs,
 * written by hand: libpcap 1.10 reads pcapng but has no writer for it
 * (pcap_dump writes classic pcap only), and classic pcap's 32-bit seconds end
 * in 2106.  After the pcapng specification (draft-ietf-opsawg-pcapng): one
 * Section Header Block, one Interface Description Block (LINKTYPE_RAW,
 * if_tsresol 9: nanoseconds), and an Enhanced Packet Block per datagram
 * carrying its 64-bit timestamp.  Blocks are in host byte order; the section
 * header's byte-order magic tells readers which that is.  The writer
 * (writer.c) decides when to use them.
 */
#include <string.h>

#include "capture_int.h"

#define PCAPNG_SHB               0x0a0d0d0au
#define PCAPNG_IDB               1u
#define PCAPNG_EPB               6u
#define PCAPNG_BYTE_ORDER        0x1a2b3c4du
#define PCAPNG_OPT_END           0
#define PCAPNG_OPT_TSRESOL       9
#define PCAPNG_LINKTYPE_RAW      101 /* the file's LINKTYPE_RAW, not the platform's DLT_RAW */
#define PCAPNG_LINKTYPE_ETHERNET 1   /* LINKTYPE_ETHERNET */

/* Fields in host byte order (wire.h's put16/put32 are big-endian). */
static uint8_t *host16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, sizeof v);
    return p + sizeof v;
}

static uint8_t *host32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, sizeof v);
    return p + sizeof v;
}

/* One pcapng block: type, total length, body (head, then data padded to 32
 * bits), total length again. */
static void ng_block(FILE *f, uint32_t type, const uint8_t *head, size_t hlen, const void *data,
                     size_t dlen)
{
    static const uint8_t pad[3];
    size_t padlen = (4 - dlen % 4) % 4;
    uint8_t b[4];
    uint32_t total = (uint32_t)(12 + hlen + dlen + padlen);

    host32(b, type);
    fwrite(b, 1, 4, f);
    host32(b, total);
    fwrite(b, 1, 4, f);
    fwrite(head, 1, hlen, f);
    if (dlen)
        fwrite(data, 1, dlen, f);
    fwrite(pad, 1, padlen, f);
    fwrite(b, 1, 4, f);
}

void capture_ng_header(FILE *f, int ethernet)
{
    uint8_t shb[16], idb[20], *p;

    p = host32(shb, PCAPNG_BYTE_ORDER);
    p = host16(p, 1); /* version 1.0 */
    p = host16(p, 0);
    memset(p, 0xff, 8); /* section length: not given */
    ng_block(f, PCAPNG_SHB, shb, sizeof shb, NULL, 0);

    p = host16(idb, ethernet ? PCAPNG_LINKTYPE_ETHERNET : PCAPNG_LINKTYPE_RAW);
    p = host16(p, 0);
    p = host32(p, CAPTURE_SNAPLEN);
    p = host16(p, PCAPNG_OPT_TSRESOL);
    p = host16(p, 1);
    memcpy(p, (const uint8_t[4]){9, 0, 0, 0}, 4); /* 10^-9 s, padded to 32 bits */
    p = host16(p + 4, PCAPNG_OPT_END);
    host16(p, 0);
    ng_block(f, PCAPNG_IDB, idb, sizeof idb, NULL, 0);
}

void capture_ng_packet(FILE *f, const void *data, size_t len, uint64_t ts_ns)
{
    uint8_t epb[20], *p;

    p = host32(epb, 0); /* the interface: the one IDB */
    p = host32(p, (uint32_t)(ts_ns >> 32));
    p = host32(p, (uint32_t)ts_ns);
    p = host32(p, (uint32_t)len); /* captured */
    host32(p, (uint32_t)len);     /* on the wire */
    ng_block(f, PCAPNG_EPB, epb, sizeof epb, data, len);
}
