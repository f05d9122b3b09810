/*
 * ARP and IPv6 neighbour discovery for the layer-2 engine (l2_int.h): the
 * requests, answers and announcements it sends on the guests' behalf, and
 * what it makes of those it receives (answering for registered addresses,
 * learning neighbours, defending a guest's address against another claim).
 * Packets are built into the engine's one transmit buffer and leave through
 * l2_transmit.
 */
#include <errno.h>
#include <string.h>

#include "guestlan/inet.h"
#include "l2_int.h"

static int is_ours(const struct glan_l2 *l2, const struct glan_addr *a)
{
    return l2->lan && glan_lan_lookup(l2->lan, a) >= 0;
}

static int zero_addr(const struct glan_addr *a)
{
    static const uint8_t z[16];
    return !memcmp(a->bytes, z, 16);
}

/* ---- checksums ---------------------------------------------------------------------- */

/* The ICMPv6 checksum over an IPv6 packet whose header is at ip. */
static uint16_t icmp6_sum(const uint8_t *ip, size_t plen)
{
    uint32_t s = glan_inet_sum(0, ip + 8, 32); /* source and destination */
    s += (uint32_t)(plen >> 16) + (uint32_t)(plen & 0xffff) + IPPROTO_V6ICMP;
    return glan_inet_csum(s, ip + 40, plen);
}

/* ---- ARP and neighbour discovery packets ---------------------------------------------- */

/* An ARP packet (op 1 request, 2 reply) to eth_dst. */
static int send_arp(struct glan_l2 *l2, const uint8_t *eth_dst, uint16_t op, const uint8_t *spa,
                    const uint8_t *tha, const uint8_t *tpa)
{
    uint8_t *f = l2->tx;
    size_t h = l2_eth_header(l2, f, eth_dst, ET_ARP);
    uint8_t *a = f + h;
    put16(a, 1); /* Ethernet */
    put16(a + 2, ET_IPV4);
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, op);
    memcpy(a + 8, l2->cfg.mac, 6);
    memcpy(a + 14, spa, 4);
    memcpy(a + 18, tha, 6);
    memcpy(a + 24, tpa, 4);
    return l2_transmit(l2, f, h + ARP_LEN);
}

/* An ICMPv6 neighbour message (solicitation or advertisement) of 32 bytes:
 * 24 of header and target, 8 of link-layer address option. */
static int send_nd(struct glan_l2 *l2, const uint8_t *eth_dst, const uint8_t *src,
                   const uint8_t *dst, uint8_t type, uint8_t flags, const uint8_t *target)
{
    uint8_t *f = l2->tx;
    size_t h = l2_eth_header(l2, f, eth_dst, ET_IPV6);
    uint8_t *ip = f + h;
    const size_t plen = 32;
    memset(ip, 0, 40 + plen);
    ip[0] = 0x60;
    put16(ip + 4, (uint16_t)plen);
    ip[6] = IPPROTO_V6ICMP;
    ip[7] = 255; /* RFC 4861: receivers drop ND with any other hop limit */
    memcpy(ip + 8, src, 16);
    memcpy(ip + 24, dst, 16);
    uint8_t *m = ip + 40;
    m[0] = type;
    m[4] = flags;
    memcpy(m + 8, target, 16);
    m[24] = type == ND_NS ? ND_OPT_SLLA : ND_OPT_TLLA;
    m[25] = 1; /* units of 8 bytes */
    memcpy(m + 26, l2->cfg.mac, 6);
    put16(m + 2, icmp6_sum(ip, plen));
    return l2_transmit(l2, f, h + 40 + plen);
}

/* Ask for n's MAC: an ARP request, or a solicitation to n's solicited-node
 * multicast group. */
void l2_solicit(struct glan_l2 *l2, struct neigh *n, uint64_t now)
{
    int rc;
    if (n->ip.family == GLAN_AF_INET) {
        static const uint8_t zmac[6];
        rc = send_arp(l2, l2_bcast_mac, 1, n->src.bytes, zmac, n->ip.bytes);
    } else {
        uint8_t grp[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff};
        memcpy(grp + 13, n->ip.bytes + 13, 3);
        uint8_t mac[6];
        l2_multicast_mac6(mac, grp);
        rc = send_nd(l2, mac, n->src.bytes, grp, ND_NS, 0, n->ip.bytes);
    }
    if (rc == 0)
        l2->st.requests_sent++;
    /* A request that could not be sent counts as a probe all the same: the
     * timer retries, and the resolution cannot outlive its probes. */
    n->probes++;
    n->deadline = now + l2->cfg.retrans_ns;
}

int glan_l2_announce(struct glan_l2 *l2, const struct glan_addr *addr, uint64_t now)
{
    (void)now;
    int rc;
    if (addr->family == GLAN_AF_INET) {
        /* Gratuitous ARP as a request (sender = target = addr): every stack
         * updates an existing entry from it. */
        static const uint8_t zmac[6];
        rc = send_arp(l2, l2_bcast_mac, 1, addr->bytes, zmac, addr->bytes);
    } else if (addr->family == GLAN_AF_INET6) {
        static const uint8_t all_nodes[16] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        uint8_t mac[6];
        l2_multicast_mac6(mac, all_nodes);
        rc = send_nd(l2, mac, addr->bytes, all_nodes, ND_NA, NA_OVERRIDE, addr->bytes);
    } else {
        return -EINVAL;
    }
    if (rc == 0)
        l2->st.announcements++;
    return rc;
}

/* Someone else claims our address a: counted; announced as ours unless it
 * was within L2_DEFEND_NS (RFC 5227 2.4 (c)), which ends the exchange of
 * announcements two LANs holding one address would otherwise keep up. */
static void defend(struct glan_l2 *l2, const struct glan_addr *a, uint64_t now)
{
    l2->st.conflicts++;
    int slot = 0;
    for (int i = 0; i < L2_DEFEND_SLOTS; i++) {
        if (l2->defended[i].addr.family && glan_addr_equal(&l2->defended[i].addr, a)) {
            if (now - l2->defended[i].at < L2_DEFEND_NS && now >= l2->defended[i].at)
                return;
            slot = i;
            break;
        }
        if (l2->defended[i].at < l2->defended[slot].at || !l2->defended[i].addr.family)
            slot = i;
    }
    l2->defended[slot].addr = *a;
    l2->defended[slot].at = now;
    glan_l2_announce(l2, a, now);
}

/* ---- what the network sends ------------------------------------------------------------- */

void l2_arp_input(struct glan_l2 *l2, const uint8_t *a, size_t len, uint64_t now)
{
    if (len < ARP_LEN || be16(a) != 1 || be16(a + 2) != ET_IPV4 || a[4] != 6 || a[5] != 4 ||
        (be16(a + 6) != 1 && be16(a + 6) != 2)) {
        l2->st.rx_malformed++;
        return;
    }
    l2->st.rx_arp++;
    uint16_t op = be16(a + 6);
    const uint8_t *sha = a + 8, *spa = a + 14, *tpa = a + 24;
    struct glan_addr sender, target;
    l2_addr4(&sender, spa);
    l2_addr4(&target, tpa);
    if (!memcmp(sha, l2->cfg.mac, 6))
        return; /* our own, looped back */
    if (!zero_addr(&sender) && is_ours(l2, &sender)) {
        /* Someone else uses a guest's address.  Say ours is ours (once
         * in L2_DEFEND_NS): our guests keep working for whoever believes us. */
        defend(l2, &sender, now);
        return;
    }
    int for_us = op == 1 && is_ours(l2, &target);
    if (!zero_addr(&sender))
        l2_learn(l2, &sender, sha, for_us, now);
    if (for_us) {
        /* An ARP probe (sender 0.0.0.0) is answered too: it defends the
         * guest's address against the prober. */
        if (send_arp(l2, sha, 2, tpa, sha, spa) == 0)
            l2->st.arp_replies++;
    }
}

/* One neighbour solicitation or advertisement (ICMPv6 at m, mlen bytes, in the
 * IPv6 packet at ip); eth_src is the frame's source. */
void l2_nd_input(struct glan_l2 *l2, const uint8_t *ip, const uint8_t *m, size_t mlen,
                 const uint8_t *eth_src, uint64_t now)
{
    /* The length first: a message of one byte (its type) ends before its code. */
    if (mlen < 24 || ip[7] != 255 || m[1] != 0 || icmp6_sum(ip, mlen) != 0) {
        l2->st.rx_malformed++;
        return;
    }
    const uint8_t *lladdr = NULL;
    for (size_t off = 24; off < mlen;) {
        if (off + 2 > mlen || m[off + 1] == 0 || off + (size_t)m[off + 1] * 8 > mlen) {
            l2->st.rx_malformed++;
            return;
        }
        if ((m[0] == ND_NS && m[off] == ND_OPT_SLLA) || (m[0] == ND_NA && m[off] == ND_OPT_TLLA))
            lladdr = m + off + 2;
        off += (size_t)m[off + 1] * 8;
    }
    l2->st.rx_nd++;
    struct glan_addr target, source;
    l2_addr6(&target, m + 8);
    l2_addr6(&source, ip + 8);
    int dad = zero_addr(&source);
    if (m[0] == ND_NA) {
        if (is_ours(l2, &target)) {
            defend(l2, &target, now);
            return;
        }
        /* Advertisements only update entries we have (RFC 4861 7.2.5). */
        if (lladdr)
            l2_learn(l2, &target, lladdr, 0, now);
        else if (l2_find(l2, &target))
            l2_learn(l2, &target, eth_src, 0, now);
        return;
    }
    if (!is_ours(l2, &target))
        return;
    if (dad) {
        /* Someone wants to use a guest's address: defend it, to all nodes. */
        defend(l2, &target, now);
        return;
    }
    if (lladdr)
        l2_learn(l2, &source, lladdr, 1, now);
    /* Unicast answer to the asker: its SLLA, or the frame's source when it
     * left the option out (a unicast re-probe). */
    if (send_nd(l2, lladdr ? lladdr : eth_src, target.bytes, source.bytes, ND_NA,
                NA_SOLICIT | NA_OVERRIDE, target.bytes) == 0)
        l2->st.na_sent++;
}
