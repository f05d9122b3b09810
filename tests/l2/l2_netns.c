/*
 * The layer-2 uplinks (TAP, live pcap) against the Linux IP stack, in network
 * namespaces this test makes for itself (they vanish with its processes).
 *
 *   glan-l2-netns tap [vlan]   the LAN's TAP device is an interface of the
 *                              test's own private namespace, which has an
 *                              address on it (or on a VLAN on top of it);
 *   glan-l2-netns pcap [vlan]  a veth pair: the LAN captures on one end in the
 *                              test's namespace, the other end lives in a
 *                              second namespace with the address.
 *   ... tap|pcap recover       as without vlan, then the interface is deleted
 *                              under the uplink (the TAP device; the veth
 *                              pair) and made again: the uplink goes down with
 *                              a message and counters while the guests keep
 *                              talking to each other, and comes back by itself.
 *
 * Two guests (base ports that answer ICMP/ICMPv6 echo, tests/common/netns.c)
 * first ping the namespace, so the uplink must resolve its MAC (ARP, ND);
 * then the namespace pings the guests, IPv4 and IPv6, and its neighbour table
 * must show the LAN's MAC for them; a destination no guest registered, which
 * the namespace is told is at the LAN's MAC, is dropped and counted as
 * unknown_dest.  With vlan the LAN sends and accepts VLAN 100 only, and the
 * untagged subnet on the same link must not reach the guests.
 *
 * Exit 0 passed, 1 failed, 77 skipped (not root, no namespaces, no
 * ip/ping/nsenter, no libpcap capture).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "guestlan/base.h"
#include "guestlan/l2.h"
#include "guestlan/pcaplive.h"
#include "guestlan/tap.h"
#include "netns.h"

#define VID     100
#define ECHO_ID 0x4c32 /* of the guests' own echo requests */

/* ---- VLAN frames by hand ------------------------------------------------------------ */

/* A packet socket on dev in the namespace that holds it (the peer's, when
 * there is one), with the VLAN tag the kernel takes off received frames
 * reported in PACKET_AUXDATA. */
static int raw_open(const char *dev)
{
    int back;
    if (ns_enter_peer(&back) < 0)
        return -1;
    int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    int one = 1;
    struct sockaddr_ll sa = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
    sa.sll_ifindex = (int)if_nametoindex(dev);
    if (s >= 0 && (setsockopt(s, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) < 0 ||
                   bind(s, (struct sockaddr *)&sa, sizeof sa) < 0)) {
        close(s);
        s = -1;
    }
    ns_leave_peer(back);
    return s;
}

/* The next frame received (not sent) within ms whose Ethernet type is type;
 * its length, with the frame (untagged, as the kernel hands it) in f and its
 * VLAN ID (-1 untagged) in *vid; 0 when none came. */
static size_t raw_expect(int s, uint16_t type, uint8_t *f, size_t cap, int *vid, int ms)
{
    for (int waited = 0; waited < ms; waited += 20) {
        struct pollfd pfd = {.fd = s, .events = POLLIN};
        if (poll(&pfd, 1, 20) <= 0)
            continue;
        for (;;) {
            struct sockaddr_ll from;
            union {
                struct cmsghdr h;
                char b[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
            } ctl;
            struct iovec iov = {f, cap};
            struct msghdr m = {.msg_name = &from,
                               .msg_namelen = sizeof from,
                               .msg_iov = &iov,
                               .msg_iovlen = 1,
                               .msg_control = ctl.b,
                               .msg_controllen = sizeof ctl.b};
            ssize_t n = recvmsg(s, &m, MSG_DONTWAIT);
            if (n < 14)
                break;
            if (from.sll_pkttype == PACKET_OUTGOING)
                continue;
            *vid = -1;
            for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
                struct tpacket_auxdata aux;
                if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA)
                    continue;
                memcpy(&aux, CMSG_DATA(c), sizeof aux);
                if (aux.tp_status & TP_STATUS_VLAN_VALID)
                    *vid = aux.tp_vlan_tci & 0xfff;
            }
            /* a tag the kernel left in the frame */
            if (*vid < 0 && n >= 18 && be16(f + 12) == ET_VLAN) {
                *vid = be16(f + 14) & 0xfff;
                memmove(f + 12, f + 16, (size_t)n - 16);
                n -= 4;
            }
            if (be16(f + 12) == type)
                return (size_t)n;
        }
    }
    return 0;
}

/* An ARP request from the made-up station me, broadcast, tagged when vid. */
static size_t raw_arp(uint8_t *f, const uint8_t *me, int vid, const struct glan_addr *spa,
                      const struct glan_addr *tpa)
{
    static const uint8_t bc[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    size_t h = dg_eth(f, bc, me, ET_ARP, (uint16_t)vid);
    return h + dg_arp(f + h, 1, me, spa->bytes, tpa->bytes);
}

/* Tagged and untagged frames by hand, for kernels that cannot make VLAN
 * interfaces (and as a second look where they can): a station on VLAN VID
 * ARPs for a guest and pings it; the same ARP untagged goes unanswered. */
static void raw_vlan(struct glan_uplink *u, struct ns_guest *g, const char *dev, const uint8_t *mac,
                     const char *me4)
{
    int s = raw_open(dev);
    if (s < 0) {
        ns_check(0, "packet socket on %s: %s", dev, strerror(errno));
        return;
    }
    static const uint8_t me[6] = {0x02, 0x00, 0x00, 0x00, 0x02, 0x03};
    struct glan_addr src;
    glan_addr_parse(me4, &src);
    uint8_t f[256], r[2048];
    int vid;

    /* tagged ARP request: a tagged reply with the LAN's MAC */
    size_t n = raw_arp(f, me, VID, &src, &g->a4);
    ns_check(send(s, f, n < 64 ? 64 : n, 0) > 0, "sent a tagged ARP request for the guest");
    size_t got = raw_expect(s, ET_ARP, r, sizeof r, &vid, 2000);
    ns_check(got >= 42 && vid == VID && r[21] == 2 && !memcmp(r + 22, mac, 6) &&
                 !memcmp(r + 28, g->a4.bytes, 4) && !memcmp(r, me, 6),
             "tagged ARP reply on VLAN %d with the LAN's MAC for the guest", vid);

    /* tagged echo request: a tagged echo reply from the guest */
    unsigned before = ns_count(g, &g->req4);
    size_t h = dg_eth(f, mac, me, ET_IPV4, VID);
    n = h + dg_echo_request(f + h, &src, &g->a4, ECHO_ID, 7);
    ns_check(send(s, f, n < 64 ? 64 : n, 0) > 0, "sent a tagged echo request to the guest");
    got = raw_expect(s, ET_IPV4, r, sizeof r, &vid, 2000);
    ns_check(got >= 14 + 28 && vid == VID && r[14 + 9] == 1 && r[14 + 20] == 0 &&
                 !memcmp(r + 14 + 12, g->a4.bytes, 4) && !memcmp(r, me, 6) &&
                 ns_count(g, &g->req4) == before + 1,
             "the guest's echo reply came back tagged with VLAN %d", vid);

    /* untagged ARP request: no answer, counted */
    struct glan_l2_stats st;
    glan_l2_uplink_stats(u, &st);
    uint64_t wrong = st.rx_wrong_vlan;
    n = raw_arp(f, me, 0, &src, &g->a4);
    ns_check(send(s, f, n < 64 ? 64 : n, 0) > 0, "sent an untagged ARP request for the guest");
    got = raw_expect(s, ET_ARP, r, sizeof r, &vid, 700);
    ns_check(got == 0, "no answer to the untagged request");
    /* another VLAN: no answer either */
    n = raw_arp(f, me, VID + 1, &src, &g->a4);
    send(s, f, n < 64 ? 64 : n, 0);
    got = raw_expect(s, ET_ARP, r, sizeof r, &vid, 700);
    ns_check(got == 0, "no answer on VLAN %d", VID + 1);
    glan_l2_uplink_stats(u, &st);
    /* the capture filter keeps them from the live pcap uplink altogether */
    if (ns_peer() < 0)
        ns_check(st.rx_wrong_vlan >= wrong + 2, "untagged and other-VLAN frames skipped (%llu)",
                 (unsigned long long)(st.rx_wrong_vlan - wrong));
    close(s);
}

/* ---- no root at run time ------------------------------------------------------------------ */

/* As uid 65534: attach to the persistent TAP device gltap1 it owns, and be
 * told what to do about a device it would have to create.  0 when all went
 * as it should. */
static int tap_as_nobody(void *arg)
{
    (void)arg;
    char err[256];
    struct glan_lan_config lc = {.name = "NOBODY"};
    struct glan_lan *lan = glan_lan_create(&lc, err, sizeof err);
    struct glan_tap_config tc = {.ifname = "gltap1", .up = 1};
    struct glan_uplink *u = glan_tap_create(&tc, err, sizeof err);
    if (!lan || !u)
        return 4;
    int rc = glan_l2_uplink_attach(lan, u);
    printf("      as uid 65534: attach gltap1: %d %s\n", rc, u->err);
    int bad = rc != 0;
    glan_l2_uplink_detach(u);
    glan_uplink_destroy(u);
    tc.ifname = "gltap9"; /* absent: creating it needs CAP_NET_ADMIN */
    u = glan_tap_create(&tc, err, sizeof err);
    rc = glan_l2_uplink_attach(lan, u);
    printf("      as uid 65534: attach gltap9: %d %s\n", rc, u->err);
    bad |= rc != -EPERM || !strstr(u->err, "CAP_NET_ADMIN");
    glan_uplink_destroy(u);
    glan_lan_destroy(lan);
    return bad;
}

/* A persistent TAP device owned by "nobody", for tap_as_nobody. */
static void tap_unprivileged(void)
{
    if (ns_nobody_device("gltap1", "tap", "up")) {
        ns_check(0, "persistent TAP device for uid 65534 created");
        return;
    }
    ns_check(ns_as_nobody(tap_as_nobody, NULL) == 0,
             "without root: a user's persistent TAP device works; creating one asks for "
             "CAP_NET_ADMIN");
    ns_sh("ip link del gltap1");
}

/* ---- the test ------------------------------------------------------------------------ */

static struct glan_l2_uplink_status ustatus(struct glan_uplink *u)
{
    struct glan_l2_uplink_status us;
    glan_l2_uplink_status(u, &us);
    return us;
}

/* The frames the kernel has handed to the TAP device's reader: its transmit
 * counter (tun counts a frame as transmitted once a read has taken it). */
static uint64_t tap_frames_out(const char *dev)
{
    return ns_link_stat(dev, "tx", "packets");
}

/* The receive thread reads only what arrived: every read the engine counted
 * (rx_frames) is a frame the kernel handed to the TAP, and an idle second
 * adds no read.  A loop that read when nothing arrived, or counted a read
 * that returned nothing, shows as more reads than frames. */
static void reads_match_frames(struct glan_uplink *u, const char *dev)
{
    struct glan_l2_stats st;
    uint64_t kernel = 0;
    for (int i = 0; i < 20; i++) { /* frames in flight settle */
        kernel = tap_frames_out(dev);
        glan_l2_uplink_stats(u, &st);
        if (st.rx_frames == kernel)
            break;
        ns_sleep_ms(100);
    }
    ns_check(st.rx_frames == kernel, "the engine read %llu frames, the kernel handed the TAP %llu",
             (unsigned long long)st.rx_frames, (unsigned long long)kernel);
    uint64_t reads0 = st.rx_frames, kernel0 = kernel;
    struct glan_l2_uplink_status us0 = ustatus(u);
    ns_sleep_ms(1000);
    glan_l2_uplink_stats(u, &st);
    kernel = tap_frames_out(dev);
    ns_check(st.rx_frames - reads0 == kernel - kernel0,
             "in an idle second: %llu reads for %llu frames",
             (unsigned long long)(st.rx_frames - reads0), (unsigned long long)(kernel - kernel0));
    struct glan_l2_uplink_status us1 = ustatus(u);
    ns_check(us1.rx_wakeups == us0.rx_wakeups && us1.rx_empty == us0.rx_empty,
             "in an idle second: %llu wakeups, %llu of them empty",
             (unsigned long long)(us1.rx_wakeups - us0.rx_wakeups),
             (unsigned long long)(us1.rx_empty - us0.rx_empty));
    ns_check(us1.rx_wakeups >= 1 && us1.rx_empty <= us1.rx_wakeups / 10,
             "the receive thread woke %llu times, %llu of them for nothing",
             (unsigned long long)us1.rx_wakeups, (unsigned long long)us1.rx_empty);
    ns_check(u->stats.rx_skipped <= st.rx_frames,
             "skipped (%llu) counts frames that were read (%llu)",
             (unsigned long long)u->stats.rx_skipped, (unsigned long long)st.rx_frames);
}

/* Wait until the uplink's down flag is want. */
static int wait_down(struct glan_uplink *u, int want, int ms)
{
    for (int t = 0; t < ms; t += 50) {
        if (ustatus(u).down == want)
            return 1;
        ns_sleep_ms(50);
    }
    return ustatus(u).down == want;
}

/* The pcap test's link: a veth pair, glv0 in our namespace and glv1 in the
 * peer's, both up; nonzero when one step failed. */
static int veth_pair(void)
{
    return ns_veth_pair("glv0", "glv1");
}

/* The namespace's addresses a[0] and a[4] on link, and the link it is on
 * (dev) up. */
static void ns_addresses(const char *link, const char *dev, char a[][64])
{
    ns_sh("%sip addr add %s/24 dev %s", ns_in_peer(), a[0], link);
    ns_sh("%sip -6 addr add %s/64 dev %s nodad", ns_in_peer(), a[4], link);
    ns_sh("%sip link set %s up", ns_in_peer(), dev);
}

/* 6. The interface is deleted under the uplink and made again. */
static void recovery(struct glan_uplink *u, struct glan_lan *lan, struct ns_guest *g1,
                     struct ns_guest *g2, const char *dev, char a[][64])
{
    int pcap = !strcmp(u->ops->kind, "pcaplive");
    struct glan_l2_uplink_status us = ustatus(u);
    ns_check(!us.down && us.open && us.gone_events == 0, "before: the uplink is up (%s)",
             us.ifname);
    /* the TAP device, or our end of the veth pair (its peer goes with it) */
    ns_sh("ip link del %s", pcap ? "glv0" : "gltap0");
    ns_check(wait_down(u, 1, 3000), "the uplink noticed the interface is gone");
    us = ustatus(u);
    printf("      message: %s\n", us.message);
    ns_check(us.gone_events == 1 && strstr(us.message, "removed") != NULL,
             "gone counted once, with a message saying so");

    /* the LAN keeps serving its guests */
    uint8_t buf[128];
    unsigned req = ns_count(g2, &g2->req4), rep = ns_count(g1, &g1->rep4);
    size_t n = dg_echo_request(buf, &g1->a4, &g2->a4, ECHO_ID, 77);
    glan_port_send(g1->port, buf, n, NULL);
    ns_check(ns_wait(g2, &g2->req4, req + 1, 2000) && ns_wait(g1, &g1->rep4, rep + 1, 2000),
             "guest 1 <-> guest 2 while the uplink is down");
    /* what is for the network is dropped and counted */
    uint64_t down_before = ns_lan_drops(lan, GLAN_DROP_PORT_DOWN);
    struct glan_addr ns4;
    glan_addr_parse(a[0], &ns4);
    n = dg_echo_request(buf, &g1->a4, &ns4, ECHO_ID, 78);
    glan_port_send(g1->port, buf, n, NULL);
    us = ustatus(u);
    ns_check(ns_lan_drops(lan, GLAN_DROP_PORT_DOWN) == down_before + 1 && us.tx_down >= 1,
             "a datagram for the network dropped as port_down (tx_down %llu)",
             (unsigned long long)us.tx_down);

    /* the interface returns */
    if (pcap)
        veth_pair();
    else
        ns_sh("ip tuntap add dev gltap0 mode tap");
    ns_check(wait_down(u, 0, 8000), "the uplink came back by itself");
    us = ustatus(u);
    printf("      message: %s\n", us.message);
    ns_check(us.recoveries == 1 && us.open && strstr(us.message, "back") != NULL,
             "one recovery, with a message saying so");
    ns_addresses(dev, dev, a);
    ns_sleep_ms(300);
    ns_check(ns_ping(a[1], 3) == 0, "namespace -> %s (guest 1, IPv4) after the return", a[1]);
    ns_check(ns_ping(a[6], 3) == 0, "namespace -> %s (guest 2, IPv6) after the return", a[6]);
    rep = ns_count(g1, &g1->rep4);
    n = dg_echo_request(buf, &g1->a4, &ns4, ECHO_ID, 79);
    glan_port_send(g1->port, buf, n, NULL);
    ns_check(ns_wait(g1, &g1->rep4, rep + 1, 4000), "guest 1 -> namespace after the return");
    /* (the persistent TAP device goes with the test's namespace) */
}

static void teardown(struct glan_uplink *u, struct glan_lan *lan, struct ns_guest *g1,
                     struct ns_guest *g2)
{
    glan_l2_uplink_detach(u);
    glan_uplink_destroy(u);
    ns_guest_stop(g1);
    ns_guest_stop(g2);
    glan_lan_destroy(lan);
    ns_peer_stop();
}

/* What the phases below share. */
struct l2_test {
    int pcap, vlan, recover;
    char a[8][64]; /* namespace .1/::1 (0, 4), guests .2 .3/::2 ::3 (1, 2, 5, 6), nobody .77/::77 */
    const char *dev; /* the link the LAN is on, in the namespace that has the address */
    char link[32];   /* the namespace's interface with the address */
    struct glan_lan *lan;
    struct ns_guest *g1, *g2;
    struct glan_uplink *u;
    uint8_t mac[6]; /* the LAN's */
    char macs[18];
    struct glan_addr ns4, ns6;
};

/* The TAP device, or the capture on one end of a veth pair, attached.  0, or
 * the exit code (skipped, failed). */
static int make_uplink(struct l2_test *t)
{
    char err[256];
    if (t->pcap) {
        if (ns_peer_start() < 0) {
            printf("SKIP: cannot create a second network namespace\n");
            return NS_SKIP;
        }
        if (veth_pair()) {
            ns_peer_stop();
            printf("SKIP: cannot create a veth pair\n");
            return NS_SKIP;
        }
        t->dev = "glv1";
        struct glan_pcaplive_config pc = {.ifname = "glv0"};
        pc.l2.vlan = t->vlan ? VID : 0;
        t->u = glan_pcaplive_create(&pc, err, sizeof err);
    } else {
        t->dev = "gltap0";
        struct glan_tap_config tc = {.ifname = "gltap0", .up = 1};
        tc.l2.vlan = t->vlan ? VID : 0;
        t->u = glan_tap_create(&tc, err, sizeof err);
    }
    if (!t->u) {
        printf("FAIL  create: %s\n", err);
        ns_peer_stop();
        return 1;
    }
    int rc = glan_l2_uplink_attach(t->lan, t->u);
    printf("      attach %s: %d %s\n", t->u->ops->kind, rc, t->u->err);
    if (rc < 0) {
        int skip = t->pcap && (rc == -EPERM || rc == -EOPNOTSUPP);
        printf("%s: %s\n", skip ? "SKIP" : "FAIL  attach", t->u->err);
        ns_peer_stop();
        return skip ? NS_SKIP : 1;
    }
    glan_l2_uplink_mac(t->u, t->mac);
    glan_l2_format_mac(t->mac, t->macs, sizeof t->macs);
    printf("      the LAN's MAC: %s\n", t->macs);
    if (t->pcap) {
        char filter[256];
        glan_pcaplive_filter(t->u, filter, sizeof filter);
        printf("      capture filter: %s\n", filter);
    }
    return 0;
}

/* The namespace's side: the link itself, or a VLAN on it; with vlan the
 * untagged link gets a subnet of its own that the LAN must not hear.  -1
 * when this kernel cannot make VLAN interfaces (after the frames by hand). */
static int namespace_side(struct l2_test *t)
{
    if (t->vlan) {
        snprintf(t->link, sizeof t->link, "%s.%d", t->dev, VID);
        ns_sh("%sip link set %s up", ns_in_peer(), t->dev);
        ns_sleep_ms(200);
        raw_vlan(t->u, t->g1, t->dev, t->mac, t->a[0]);
        if (ns_sh("%sip link add link %s name %s type vlan id %d", ns_in_peer(), t->dev, t->link,
                  VID)) {
            printf("      this kernel cannot make 802.1Q VLAN interfaces (8021q): the IP stack "
                   "part of the VLAN test is skipped\n");
            return -1;
        }
        ns_sh("%sip link set %s up", ns_in_peer(), t->link);
        ns_sh("%sip addr add 10.204.0.1/24 dev %s", ns_in_peer(), t->dev);
    } else {
        snprintf(t->link, sizeof t->link, "%s", t->dev);
    }
    ns_addresses(t->link, t->dev, t->a);
    ns_sleep_ms(300); /* the link's carrier and IPv6 come up */
    return 0;
}

/* 1. the guests ping the namespace: the uplink resolves its MAC */
static void guests_to_namespace(struct l2_test *t)
{
    struct ns_guest *g1 = t->g1, *g2 = t->g2;
    uint8_t buf[128];
    for (uint16_t i = 1; i <= 3; i++) {
        size_t n = dg_echo_request(buf, &g1->a4, &t->ns4, ECHO_ID, i);
        glan_port_send(g1->port, buf, n, NULL);
        n = dg_echo_request(buf, &g2->a6, &t->ns6, ECHO_ID, i);
        glan_port_send(g2->port, buf, n, NULL);
    }
    int ok = ns_wait(g1, &g1->rep4, 3, 4000);
    ns_check(ok, "guest -> namespace IPv4 echo: %u/3 replies", ns_count(g1, &g1->rep4));
    ok = ns_wait(g2, &g2->rep6, 3, 4000);
    ns_check(ok, "guest -> namespace IPv6 echo: %u/3 replies", ns_count(g2, &g2->rep6));
    uint8_t nmac[6];
    ns_check(glan_l2_uplink_neighbour(t->u, &t->ns4, nmac) == GLAN_L2_REACHABLE,
             "the uplink resolved the namespace's IPv4 address");
    ns_check(glan_l2_uplink_neighbour(t->u, &t->ns6, nmac) == GLAN_L2_REACHABLE,
             "the uplink resolved the namespace's IPv6 address");
}

/* 2. the namespace pings the guests; 3. its neighbour table has the LAN's
 * MAC for them */
static void namespace_to_guests(struct l2_test *t)
{
    struct ns_guest *g1 = t->g1, *g2 = t->g2;
    char(*a)[64] = t->a;
    ns_check(ns_ping(a[1], 3) == 0, "namespace -> %s (guest 1, IPv4)", a[1]);
    ns_check(ns_ping(a[2], 3) == 0, "namespace -> %s (guest 2, IPv4)", a[2]);
    ns_check(ns_ping(a[5], 3) == 0, "namespace -> %s (guest 1, IPv6)", a[5]);
    ns_check(ns_ping(a[6], 3) == 0, "namespace -> %s (guest 2, IPv6)", a[6]);
    ns_check(ns_count(g1, &g1->req4) >= 3 && ns_count(g2, &g2->req4) >= 3 &&
                 ns_count(g1, &g1->req6) >= 3 && ns_count(g2, &g2->req6) >= 3,
             "the guests saw the requests (%u %u %u %u)", ns_count(g1, &g1->req4),
             ns_count(g2, &g2->req4), ns_count(g1, &g1->req6), ns_count(g2, &g2->req6));

    char out[2048];
    for (int i = 1; i <= 6; i += (i == 2 ? 3 : 1)) {
        ns_capture(out, sizeof out, "%sip neigh show %s dev %s", ns_in_peer(), a[i], t->link);
        ns_check(strstr(out, t->macs) != NULL, "ip neigh: %s is at the LAN's MAC %s", a[i],
                 t->macs);
    }
}

/* 4. unknown destinations: nobody answers ARP/ND for them, and what is
 * sent to them anyway is dropped and counted */
static void unknown_destinations(struct l2_test *t)
{
    char(*a)[64] = t->a;
    char out[2048];
    ns_check(ns_ping(a[3], 1) != 0, "namespace -> %s (no guest): no answer", a[3]);
    ns_capture(out, sizeof out, "%sip neigh show %s dev %s", ns_in_peer(), a[3], t->link);
    ns_check(strstr(out, t->macs) == NULL, "ip neigh: %s is not at the LAN's MAC", a[3]);
    uint64_t before = ns_lan_drops(t->lan, GLAN_DROP_UNKNOWN_DEST);
    ns_sh("%sip neigh replace %s lladdr %s dev %s nud permanent", ns_in_peer(), a[3], t->macs,
          t->link);
    ns_sh("%sip -6 neigh replace %s lladdr %s dev %s nud permanent", ns_in_peer(), a[7], t->macs,
          t->link);
    ns_ping(a[3], 2);
    ns_ping(a[7], 2);
    uint64_t after = ns_lan_drops(t->lan, GLAN_DROP_UNKNOWN_DEST);
    ns_check(after - before >= 4,
             "datagrams for unregistered addresses dropped as unknown_dest: %llu",
             (unsigned long long)(after - before));
}

/* 5. VLAN: the untagged subnet on the same link does not reach the LAN,
 * even for an address a guest holds */
static void untagged_subnet(struct l2_test *t)
{
    struct ns_guest *g1 = t->g1;
    struct glan_l2_stats st;
    struct glan_addr un;
    glan_addr_parse("10.204.0.2", &un);
    glan_addr_register(g1->port, &un);
    glan_l2_uplink_stats(t->u, &st);
    uint64_t wrong = st.rx_wrong_vlan;
    unsigned req = ns_count(g1, &g1->req4);
    ns_sh("%sip neigh replace 10.204.0.2 lladdr %s dev %s nud permanent", ns_in_peer(), t->macs,
          t->dev);
    ns_check(ns_ping("10.204.0.2", 2) != 0 && ns_count(g1, &g1->req4) == req,
             "untagged ping to a guest's 10.204.0.2: not delivered");
    glan_l2_uplink_stats(t->u, &st);
    /* the TAP sees them and the engine skips them; the capture filter
     * keeps them from the live pcap uplink altogether */
    if (!t->pcap)
        ns_check(st.rx_wrong_vlan >= wrong + 2, "untagged frames skipped as wrong_vlan (%llu)",
                 (unsigned long long)(st.rx_wrong_vlan - wrong));
}

/* What the engine counted, and that it adds up. */
static void engine_counters(struct l2_test *t)
{
    struct glan_l2_stats st;
    glan_l2_uplink_stats(t->u, &st);
    printf("      l2: rx_frames %llu rx_ip %llu rx_arp %llu rx_nd %llu not_ours %llu "
           "wrong_vlan %llu skipped %llu malformed %llu | arp_replies %llu na_sent %llu "
           "requests %llu resolved %llu tx_ip %llu held %llu dropped %llu/%llu/%llu\n",
           (unsigned long long)st.rx_frames, (unsigned long long)st.rx_ip,
           (unsigned long long)st.rx_arp, (unsigned long long)st.rx_nd,
           (unsigned long long)st.rx_not_ours, (unsigned long long)st.rx_wrong_vlan,
           (unsigned long long)st.rx_skipped, (unsigned long long)st.rx_malformed,
           (unsigned long long)st.arp_replies, (unsigned long long)st.na_sent,
           (unsigned long long)st.requests_sent, (unsigned long long)st.resolved,
           (unsigned long long)st.tx_ip, (unsigned long long)st.held,
           (unsigned long long)st.hold_dropped, (unsigned long long)st.unresolved_dropped,
           (unsigned long long)st.cache_full_dropped);
    /* (the namespace learns some guests from our own requests: not every
     * guest needs asking) */
    ns_check(st.arp_replies >= 1 && st.na_sent >= 1, "ARP and ND answered for the guests");
    ns_check(st.rx_malformed == 0, "no malformed frames from the Linux stack");
    if (!t->pcap)
        reads_match_frames(t->u, "gltap0");
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    static struct l2_test t;
    t.pcap = argc > 1 && !strcmp(argv[1], "pcap");
    t.vlan = argc > 2 && !strcmp(argv[2], "vlan");
    t.recover = argc > 2 && !strcmp(argv[2], "recover");
    if (argc < 2 || (!t.pcap && strcmp(argv[1], "tap"))) {
        fprintf(stderr, "usage: %s tap|pcap [vlan|recover]\n", argv[0]);
        return 2;
    }
    /* From here on every interface, address and packet is in namespaces of
     * our own. */
    int entered = ns_enter("ip ping nsenter");
    if (entered != 0)
        return entered;

    /* Addresses: the namespace is .1 / ::1, the guests .2, .3 / ::2, ::3,
     * nobody .77 / ::77.  The tagged subnet is used with vlan. */
    const char *net = t.vlan ? "10.203.0" : t.pcap ? "10.202.0" : "10.201.0";
    const char *net6 = t.vlan ? "fd00:203:" : t.pcap ? "fd00:202:" : "fd00:201:";
    snprintf(t.a[0], 64, "%s.1", net);
    snprintf(t.a[1], 64, "%s.2", net);
    snprintf(t.a[2], 64, "%s.3", net);
    snprintf(t.a[3], 64, "%s.77", net);
    snprintf(t.a[4], 64, "%s:1", net6);
    snprintf(t.a[5], 64, "%s:2", net6);
    snprintf(t.a[6], 64, "%s:3", net6);
    snprintf(t.a[7], 64, "%s:77", net6);

    char err[256];
    struct glan_lan_config lc = {.name = t.pcap ? "L2PCAP" : "L2TAP"};
    t.lan = glan_lan_create(&lc, err, sizeof err);
    if (!t.lan) {
        printf("FAIL  lan: %s\n", err);
        return 1;
    }
    static struct ns_guest g1, g2;
    if (ns_guest_start(&g1, t.lan, "G1", t.a[1], t.a[5]) ||
        ns_guest_start(&g2, t.lan, "G2", t.a[2], t.a[6])) {
        printf("FAIL  guests\n");
        return 1;
    }
    t.g1 = &g1;
    t.g2 = &g2;
    int rc = make_uplink(&t);
    if (rc != 0)
        return rc;
    if (namespace_side(&t) < 0) {
        teardown(t.u, t.lan, &g1, &g2);
        return ns_finish("VLAN frames by hand only");
    }

    struct glan_l2_stats st;
    glan_l2_uplink_stats(t.u, &st);
    ns_check(st.announcements >= 4, "the guests' 4 addresses were announced at attach (%llu)",
             (unsigned long long)st.announcements);
    glan_addr_parse(t.a[0], &t.ns4);
    glan_addr_parse(t.a[4], &t.ns6);
    guests_to_namespace(&t);
    namespace_to_guests(&t);
    unknown_destinations(&t);
    if (t.vlan)
        untagged_subnet(&t);
    engine_counters(&t);

    if (t.recover)
        recovery(t.u, t.lan, &g1, &g2, t.dev, t.a);

    teardown(t.u, t.lan, &g1, &g2);
    if (!t.pcap && !t.vlan && !t.recover)
        tap_unprivileged();
    return ns_finish(NULL);
}
