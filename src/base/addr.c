/*
 * Addresses and datagram headers for the base: parsing and formatting IPv4 and
 * IPv6 addresses, what kind of address one is (addr.h), reading the
 * destination of a datagram, and the names of drop reasons.  Everything here
 * is pure and thread-safe; the registry (registry.c) and the forwarding
 * policy (forward.c) build on it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "guestlan/base.h"
#include "guestlan/wire.h"

/* Where the destination address sits in each header (RFC 791, RFC 8200). */
enum { IPV4_DST_OFF = 16, IPV6_DST_OFF = 24 };

void glan_addr_mac(struct glan_addr *out, const uint8_t mac[6])
{
    memset(out, 0, sizeof *out);
    out->family = GLAN_AF_MAC;
    memcpy(out->bytes, mac, 6);
}

void glan_addr_vlan(struct glan_addr *out, uint16_t vid)
{
    memset(out, 0, sizeof *out);
    out->family = GLAN_AF_VLAN;
    out->bytes[0] = (uint8_t)(vid >> 8);
    out->bytes[1] = (uint8_t)vid;
}

/* Six pairs of hex digits separated by colons, nothing else. */
static int mac_parse(const char *t, uint8_t mac[6])
{
    for (int i = 0; i < 6; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = *t++;
            unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                         : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                         : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                                : 16;
            if (d > 15)
                return -EINVAL;
            v = v << 4 | d;
        }
        mac[i] = (uint8_t)v;
        if (*t != (i == 5 ? '\0' : ':'))
            return -EINVAL;
        t++;
    }
    return 0;
}

int glan_addr_parse(const char *text, struct glan_addr *out)
{
    memset(out, 0, sizeof *out);
    if (!text)
        return -EINVAL;
    if (strlen(text) == 17 && mac_parse(text, out->bytes) == 0) {
        out->family = GLAN_AF_MAC;
        return 0;
    }
    if (inet_pton(AF_INET, text, out->bytes) == 1) {
        out->family = GLAN_AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, text, out->bytes) == 1) {
        out->family = GLAN_AF_INET6;
        return 0;
    }
    memset(out, 0, sizeof *out);
    return -EINVAL;
}

char *glan_addr_format(const struct glan_addr *a, char *buf, size_t len)
{
    int af = a->family == GLAN_AF_INET ? AF_INET : AF_INET6;
    if (len == 0)
        return buf;
    if (a->family == GLAN_AF_MAC) {
        snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", a->bytes[0], a->bytes[1], a->bytes[2],
                 a->bytes[3], a->bytes[4], a->bytes[5]);
        return buf;
    }
    if (a->family == GLAN_AF_VLAN) {
        snprintf(buf, len, "vlan %u", (unsigned)a->bytes[0] << 8 | a->bytes[1]);
        return buf;
    }
    if ((a->family != GLAN_AF_INET && a->family != GLAN_AF_INET6) ||
        !inet_ntop(af, a->bytes, buf, (socklen_t)len)) {
        strncpy(buf, "?", len);
        buf[len - 1] = 0;
    }
    return buf;
}

int glan_addr_equal(const struct glan_addr *a, const struct glan_addr *b)
{
    size_t n = a->family == GLAN_AF_INET ? 4 : 16;
    return a->family == b->family && memcmp(a->bytes, b->bytes, n) == 0;
}

/* A datagram is well formed when its own header agrees with the length we
 * were given: a guest or a capture file may say anything. */
int glan_dgram_dest(const void *data, size_t len, struct glan_addr *out)
{
    const uint8_t *p = data;
    memset(out, 0, sizeof *out);
    if (!ip_datagram_length(p, len))
        return -EINVAL;
    if (p[0] >> 4 == 4) {
        out->family = GLAN_AF_INET;
        memcpy(out->bytes, p + IPV4_DST_OFF, 4);
    } else {
        out->family = GLAN_AF_INET6;
        memcpy(out->bytes, p + IPV6_DST_OFF, 16);
    }
    return 0;
}

static const char *const drop_names[GLAN_DROP_COUNT] = {
    [GLAN_DROP_NONE] = "none",
    [GLAN_DROP_MALFORMED] = "malformed",
    [GLAN_DROP_TOO_BIG] = "too_big",
    [GLAN_DROP_NO_BUFFER] = "no_buffer",
    [GLAN_DROP_NO_UPLINK] = "no_uplink",
    [GLAN_DROP_UNKNOWN_DEST] = "unknown_dest",
    [GLAN_DROP_NO_RECEIVER] = "no_receiver",
    [GLAN_DROP_QUEUE_FULL] = "queue_full",
    [GLAN_DROP_PORT_DOWN] = "port_down",
    [GLAN_DROP_PORT_ERROR] = "port_error",
    [GLAN_DROP_PORT_GONE] = "port_gone",
    [GLAN_DROP_EXPIRED] = "expired",
    [GLAN_DROP_TOO_BIG_FOR_PATH] = "too_big_for_path",
    [GLAN_DROP_FRAGMENTED] = "fragmented",
    [GLAN_DROP_SPOOFED] = "spoofed",
    [GLAN_DROP_VLAN] = "vlan",
};

static int hexdig(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

uint32_t glan_name_hash(const char *name)
{
    uint32_t h = 2166136261u;
    for (const char *s = name ? name : ""; *s; s++) {
        h ^= (uint8_t)*s;
        h *= 16777619u;
    }
    return h;
}

void glan_mac_prefix_of_name(const char *name, uint8_t prefix[4])
{
    /* Any stable hash will do; what matters is that a LAN keeps its MACs
     * across restarts and that LANs of other names, whose uplinks may share
     * a host bridge, most likely get other ones. */
    uint32_t h = glan_name_hash(name);
    prefix[0] = 0x02; /* locally administered, unicast */
    prefix[1] = (uint8_t)(h >> 24);
    prefix[2] = (uint8_t)(h >> 16);
    prefix[3] = (uint8_t)(h >> 8);
}

int glan_mac_prefix_parse(const char *text, uint8_t prefix[4], uint8_t *len)
{
    uint8_t b[4] = {0};
    unsigned n = 0;
    const char *p = text;
    if (!p)
        return -EINVAL;
    for (;;) {
        int hi = hexdig(p[0]), lo = hi < 0 ? -1 : hexdig(p[1]);
        if (hi < 0 || lo < 0 || n == 4)
            return -EINVAL;
        b[n++] = (uint8_t)(hi << 4 | lo);
        p += 2;
        if (*p == 0)
            break;
        if (*p != ':' && *p != '-')
            return -EINVAL;
        p++;
    }
    if (n < 3 || (b[0] & 3) != 2)
        return -EINVAL;
    memcpy(prefix, b, 4);
    *len = (uint8_t)n;
    return 0;
}

const char *glan_transport_name(enum glan_transport t)
{
    return t == GLAN_TRANSPORT_ETHERNET ? "ethernet" : t == GLAN_TRANSPORT_IP ? "ip" : "unknown";
}

int glan_transport_parse(const char *text, enum glan_transport *out)
{
    if (text && !strcasecmp(text, "ip"))
        *out = GLAN_TRANSPORT_IP;
    else if (text && !strcasecmp(text, "ethernet"))
        *out = GLAN_TRANSPORT_ETHERNET;
    else
        return -EINVAL;
    return 0;
}

const char *glan_lan_type_name(enum glan_lan_type t)
{
    return t == GLAN_LAN_HIPERS ? "hipers" : t == GLAN_LAN_QDIO ? "qdio" : "unknown";
}

int glan_lan_type_parse(const char *text, enum glan_lan_type *out)
{
    if (text && !strcasecmp(text, "qdio"))
        *out = GLAN_LAN_QDIO;
    else if (text && !strcasecmp(text, "hipers"))
        *out = GLAN_LAN_HIPERS;
    else
        return -EINVAL;
    return 0;
}

int glan_mfs_parse(const char *text, uint32_t *kib)
{
    static const char *const names[] = {"16", "24", "40", "64"};
    if (!text)
        return -EINVAL;
    size_t n = strlen(text);
    if (n && (text[n - 1] == 'k' || text[n - 1] == 'K'))
        n--;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (n == 2 && !strncmp(text, names[i], 2)) {
            *kib = (uint32_t)atoi(names[i]);
            return 0;
        }
    return -EINVAL;
}

uint32_t glan_mfs_mtu(uint32_t kib)
{
    /* What Linux's qeth makes of the frame-size code a HiperSockets card
     * gives in ULP ENABLE (docs/osa.md, "HiperSockets"): the frame less
     * room for the adapter's own headers. */
    switch (kib) {
    case 16:
        return 8192;
    case 24:
        return 16384;
    case 40:
        return 32768;
    case 64:
        return 57344;
    default:
        return 0;
    }
}

const char *glan_drop_name(enum glan_drop d)
{
    if ((unsigned)d >= GLAN_DROP_COUNT)
        return "unknown";
    return drop_names[d];
}

char *glan_drops_format(const uint64_t *dropped, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int d = 1; d < GLAN_DROP_COUNT && used < len; d++)
        if (dropped[d])
            used += (size_t)snprintf(buf + used, len - used, " %s=%" PRIu64,
                                     glan_drop_name((enum glan_drop)d), dropped[d]);
    if (!buf[0])
        snprintf(buf, len, " none");
    return buf;
}
