/*
 * The layer-2 engine (include/uplink/guestlan/l2.h): what a LAN's Ethernet uplink
 * does on behalf of its guests.  Pure code over buffers: frames leave
 * through the owner's transmit callback, time comes in as an argument, and
 * nothing here sleeps, locks or touches a device, so the unit suite
 * (tests/unit/test_l2.c) drives it with a clock it steps.  This file has the
 * engine's life cycle, the MAC address text, framing, and the way of a
 * datagram out (its next hop, group addresses) and of a frame in (VLAN,
 * type, the datagram inside); ARP and neighbour discovery are l2nd.c's, the
 * neighbour cache l2cache.c's (l2_int.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "l2_int.h"

const uint8_t l2_bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* ---- MAC addresses ---------------------------------------------------------- */

void glan_l2_default_mac(const char *lan_name, uint8_t mac[6])
{
    /* A LAN keeps its MAC across restarts, so the neighbours' caches stay
     * right. */
    uint32_t h = glan_name_hash(lan_name ? lan_name : "GLAN");
    mac[0] = 0x02; /* locally administered, unicast */
    mac[1] = 0x67; /* 'g' */
    mac[2] = (uint8_t)(h >> 24);
    mac[3] = (uint8_t)(h >> 16);
    mac[4] = (uint8_t)(h >> 8);
    mac[5] = (uint8_t)h;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int glan_l2_parse_mac(const char *text, uint8_t mac[6])
{
    if (!text || strlen(text) != 17)
        return -EINVAL;
    for (int i = 0; i < 6; i++) {
        const char *p = text + 3 * i;
        int hi = hexval(p[0]), lo = hexval(p[1]);
        if (hi < 0 || lo < 0 || (i < 5 && p[2] != ':' && p[2] != '-'))
            return -EINVAL;
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

char *glan_l2_format_mac(const uint8_t mac[6], char *buf, size_t len)
{
    snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
             mac[5]);
    return buf;
}

/* ---- addresses ----------------------------------------------------------------- */

static int in_prefix(const struct glan_addr *a, const struct glan_addr *net, unsigned len)
{
    if (net->family != a->family)
        return 0;
    unsigned bytes = len / 8, bits = len % 8;
    if (memcmp(a->bytes, net->bytes, bytes))
        return 0;
    if (!bits)
        return 1;
    uint8_t m = (uint8_t)(0xff << (8 - bits));
    return (a->bytes[bytes] & m) == (net->bytes[bytes] & m);
}

/* ---- frames ------------------------------------------------------------------------ */

/* Write the Ethernet (and 802.1Q) header; its length. */
size_t l2_eth_header(const struct glan_l2 *l2, uint8_t *f, const uint8_t *dst, uint16_t type)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, l2->cfg.mac, 6);
    if (l2->cfg.vlan) {
        put16(f + 12, ET_VLAN);
        put16(f + 14, l2->cfg.vlan); /* priority 0, DEI 0 */
        put16(f + 16, type);
        return ETH_HDR_LEN + VLAN_TAG_LEN;
    }
    put16(f + 12, type);
    return ETH_HDR_LEN;
}

int l2_transmit(struct glan_l2 *l2, uint8_t *f, size_t len)
{
    if (len < ETH_MIN) {
        /* A NIC pads short frames itself, a TAP or an injected frame is not
         * padded by anyone, and some stacks drop runts. */
        memset(f + len, 0, ETH_MIN - len);
        len = ETH_MIN;
    }
    int rc = l2->xmit(l2->ctx, f, len);
    if (rc == 0)
        l2->st.tx_frames++;
    else if (rc != -EAGAIN)
        l2->st.tx_errors++;
    return rc;
}

/* Frame one datagram for dst and transmit it. */
int l2_send_datagram(struct glan_l2 *l2, const uint8_t *dst, const uint8_t *dg, size_t len)
{
    uint16_t type = (dg[0] >> 4) == 4 ? ET_IPV4 : ET_IPV6;
    size_t h = l2_eth_header(l2, l2->tx, dst, type);
    memcpy(l2->tx + h, dg, len);
    int rc = l2_transmit(l2, l2->tx, h + len);
    if (rc == 0)
        l2->st.tx_ip++;
    return rc;
}

/* ---- output ------------------------------------------------------------------------------ */

/* The next hop of a unicast destination (see "Next hop" in l2.h). */
static void next_hop(const struct glan_l2 *l2, const struct glan_addr *dst, struct glan_addr *hop)
{
    const struct gw_choice {
        const struct glan_addr *gw, *net;
        unsigned len;
    } c = dst->family == GLAN_AF_INET
              ? (struct gw_choice){&l2->cfg.gateway4, &l2->cfg.onlink4, l2->cfg.onlink4_len}
              : (struct gw_choice){&l2->cfg.gateway6, &l2->cfg.onlink6, l2->cfg.onlink6_len};
    int link_local =
        dst->family == GLAN_AF_INET6 && dst->bytes[0] == 0xfe && (dst->bytes[1] & 0xc0) == 0x80;
    if (!c.gw->family || link_local || (c.net->family && in_prefix(dst, c.net, c.len)))
        *hop = *dst;
    else
        *hop = *c.gw;
}

/* Broadcast and multicast destinations: their group MAC in mac, 1; else 0. */
static int group_mac(const struct glan_l2 *l2, const struct glan_addr *dst, uint8_t *mac)
{
    const uint8_t *b = dst->bytes;
    if (dst->family == GLAN_AF_INET6) {
        if (b[0] != 0xff)
            return 0;
        l2_multicast_mac6(mac, b);
        return 1;
    }
    if ((b[0] & 0xf0) == 0xe0) {
        mac[0] = 0x01;
        mac[1] = 0x00;
        mac[2] = 0x5e;
        mac[3] = b[1] & 0x7f;
        mac[4] = b[2];
        mac[5] = b[3];
        return 1;
    }
    int bcast = b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255;
    unsigned len = l2->cfg.onlink4_len;
    if (!bcast && l2->cfg.onlink4.family && len < 31 && in_prefix(dst, &l2->cfg.onlink4, len)) {
        /* the on-link prefix's broadcast address: all host bits set */
        uint32_t a = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
        uint32_t host = len ? 0xffffffffu >> len : 0xffffffffu;
        bcast = (a & host) == host;
    }
    if (bcast)
        memcpy(mac, l2_bcast_mac, 6);
    return bcast;
}

int glan_l2_output(struct glan_l2 *l2, const uint8_t *dg, size_t len, uint64_t now)
{
    if (!ip_datagram_length(dg, len) || len > l2->cfg.max_datagram) {
        l2->st.malformed_dropped++;
        return -EINVAL;
    }
    struct glan_addr dst, src, hop;
    if (dg[0] >> 4 == 4) {
        l2_addr4(&dst, dg + 16);
        l2_addr4(&src, dg + 12);
    } else {
        l2_addr6(&dst, dg + 24);
        l2_addr6(&src, dg + 8);
    }
    uint8_t mac[6];
    if (group_mac(l2, &dst, mac))
        return l2_send_datagram(l2, mac, dg, len);
    next_hop(l2, &dst, &hop);
    struct neigh *n = l2_find(l2, &hop);
    if (n && n->state != GLAN_L2_INCOMPLETE) {
        n->used = now;
        if (n->state == GLAN_L2_REACHABLE && now >= n->deadline) {
            /* Stale: keep using it, but ask again; an answer renews it,
             * silence removes it (glan_l2_tick). */
            n->state = GLAN_L2_PROBE;
            n->probes = 0;
            n->src = src;
            l2_solicit(l2, n, now);
        }
        return l2_send_datagram(l2, n->mac, dg, len);
    }
    if (!n) {
        n = l2_new_entry(l2, &hop, now);
        if (!n) {
            l2->st.cache_full_dropped++;
            return -ENOBUFS;
        }
        n->state = GLAN_L2_INCOMPLETE;
        /* Ask from the datagram's own source: the neighbour's answer, and the
         * entry it makes for the asker, then point at the guest's address. */
        n->src = src;
        int rc = l2_hold(l2, n, dg, len);
        l2_solicit(l2, n, now);
        return rc;
    }
    n->used = now;
    return l2_hold(l2, n, dg, len);
}

/* ---- input ---------------------------------------------------------------------------------- */

int glan_l2_input(struct glan_l2 *l2, const uint8_t *frame, size_t len, uint64_t now,
                  const uint8_t **dg, size_t *dglen)
{
    l2->st.rx_frames++;
    if (len < ETH_HDR_LEN) {
        l2->st.rx_malformed++;
        return 0;
    }
    const uint8_t *dst = frame, *src = frame + 6;
    if (!(dst[0] & 1) && memcmp(dst, l2->cfg.mac, 6)) {
        l2->st.rx_not_ours++;
        return 0;
    }
    if (!memcmp(src, l2->cfg.mac, 6)) {
        /* our own frame seen again (a capture that also sees what it sends) */
        l2->st.rx_not_ours++;
        return 0;
    }
    uint16_t type = be16(frame + 12);
    size_t h = ETH_HDR_LEN;
    if (type == ET_VLAN) {
        if (len < ETH_HDR_LEN + VLAN_TAG_LEN) {
            l2->st.rx_malformed++;
            return 0;
        }
        uint16_t vid = be16(frame + 14) & 0x0fff;
        /* VID 0 is a priority tag: untagged as far as VLANs go. */
        if (vid != l2->cfg.vlan) {
            l2->st.rx_wrong_vlan++;
            return 0;
        }
        type = be16(frame + 16);
        h += VLAN_TAG_LEN;
    } else if (l2->cfg.vlan) {
        l2->st.rx_wrong_vlan++;
        return 0;
    }
    const uint8_t *p = frame + h;
    size_t plen = len - h;
    if (type == ET_ARP) {
        l2_arp_input(l2, p, plen, now);
        return 0;
    }
    if (type != ET_IPV4 && type != ET_IPV6) {
        l2->st.rx_skipped++;
        return 0;
    }
    size_t iplen = ip_datagram_length(p, plen);
    if (!iplen || (p[0] >> 4 == 4) != (type == ET_IPV4)) {
        l2->st.rx_malformed++;
        return 0;
    }
    if (type == ET_IPV6 && p[6] == IPPROTO_V6ICMP && iplen >= 41 &&
        (p[40] == ND_NS || p[40] == ND_NA)) {
        l2_nd_input(l2, p, p + 40, iplen - 40, src, now);
        return 0;
    }
    l2->st.rx_ip++;
    *dg = p;
    *dglen = iplen;
    return 1;
}

/* ---- life cycle ------------------------------------------------------------------------------ */

struct glan_l2 *glan_l2_create(const struct glan_l2_config *cfg, struct glan_lan *lan,
                               glan_l2_xmit_fn xmit, void *ctx, char *err, size_t errlen)
{
    struct glan_l2_config c;
    memset(&c, 0, sizeof c);
    if (cfg)
        c = *cfg;
    static const uint8_t zmac[6];
    if (!memcmp(c.mac, zmac, 6))
        glan_l2_default_mac(c.lan_name, c.mac);
    c.lan_name = NULL;
    if (c.mac[0] & 1) {
        snprintf(err, errlen, "l2: the LAN's MAC address must be unicast");
        return NULL;
    }
    if (c.vlan > 4094) {
        snprintf(err, errlen, "l2: VLAN ID %u is out of range (1..4094, 0 for none)", c.vlan);
        return NULL;
    }
    if ((c.onlink4.family && c.onlink4_len > 32) || (c.onlink6.family && c.onlink6_len > 128)) {
        snprintf(err, errlen, "l2: bad on-link prefix length");
        return NULL;
    }
    if ((c.gateway4.family && c.gateway4.family != GLAN_AF_INET) ||
        (c.gateway6.family && c.gateway6.family != GLAN_AF_INET6) ||
        (c.onlink4.family && c.onlink4.family != GLAN_AF_INET) ||
        (c.onlink6.family && c.onlink6.family != GLAN_AF_INET6)) {
        snprintf(err, errlen, "l2: a gateway or prefix of the wrong address family");
        return NULL;
    }
    if (!xmit) {
        snprintf(err, errlen, "l2: no transmit function");
        return NULL;
    }
    if (!c.cache_size)
        c.cache_size = 256;
    if (!c.hold_per_dest)
        c.hold_per_dest = 8;
    if (!c.hold_max)
        c.hold_max = 64;
    if (!c.probes)
        c.probes = 3;
    if (!c.retrans_ns)
        c.retrans_ns = 1000000000ull;
    if (!c.reachable_ns)
        c.reachable_ns = 30000000000ull;
    if (!c.max_datagram || c.max_datagram > 65535)
        c.max_datagram = 65535;
    struct glan_l2 *l2 = calloc(1, sizeof *l2);
    if (l2) {
        l2->cache = calloc(c.cache_size, sizeof *l2->cache);
        /* room for the headers, the datagram, and padding to ETH_MIN */
        l2->txcap = ETH_HDR_LEN + VLAN_TAG_LEN + c.max_datagram + ETH_MIN;
        l2->tx = malloc(l2->txcap);
    }
    if (!l2 || !l2->cache || !l2->tx) {
        if (l2) {
            free(l2->cache);
            free(l2->tx);
        }
        free(l2);
        snprintf(err, errlen, "l2: out of memory");
        return NULL;
    }
    l2->cfg = c;
    l2->lan = lan;
    l2->xmit = xmit;
    l2->ctx = ctx;
    return l2;
}

void glan_l2_destroy(struct glan_l2 *l2)
{
    if (!l2)
        return;
    for (uint32_t i = 0; i < l2->cfg.cache_size; i++)
        l2_drop_held(l2, &l2->cache[i]);
    free(l2->cache);
    free(l2->tx);
    free(l2);
}

void glan_l2_set_lan(struct glan_l2 *l2, struct glan_lan *lan)
{
    l2->lan = lan;
}

void glan_l2_mac(const struct glan_l2 *l2, uint8_t mac[6])
{
    memcpy(mac, l2->cfg.mac, 6);
}

void glan_l2_get_config(const struct glan_l2 *l2, struct glan_l2_config *out)
{
    *out = l2->cfg;
}

void glan_l2_stats(const struct glan_l2 *l2, struct glan_l2_stats *out)
{
    *out = l2->st;
    out->held_now = l2->held_total;
}
