/*
 * The uplinks of a LAN of transport ETHERNET against the Linux IP stack, in
 * a network namespace the test makes for itself:
 *
 *   glan-l2-bridge-netns tap    the LAN's TAP device is an interface of the
 *                               namespace, with an address on it;
 *   glan-l2-bridge-netns pcap   a veth pair: the LAN captures on one end,
 *                               the other end, in a second namespace, has
 *                               the address.
 *
 * A layer-2 guest (a base port that registered its MAC, playing its own ARP
 * as a layer-2 guest does) asks the namespace for its MAC: the kernel's ARP
 * reply comes back through the uplink to the guest's MAC, and the kernel's
 * neighbour table holds the guest's own MAC, not one of the uplink's: the
 * frames pass as they are, nobody answers ARP for the guest.  Then the
 * namespace pings the guest, which answers ARP and echo itself.  A frame
 * from the namespace to a MAC no guest registered is dropped (unknown_dest).
 * A TUN uplink on the LAN is refused with a message saying why.
 *
 * Exit 0 passed, 1 failed, 77 skipped (not root, no namespaces, no
 * ip/ping/nsenter, no libpcap capture).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guestlan/base.h"
#include "guestlan/l2.h"
#include "guestlan/pcaplive.h"
#include "guestlan/tap.h"
#include "guestlan/tun.h"
#include "netns.h"

static const uint8_t GMAC[6] = {0x02, 0x00, 0x00, 0x00, 0x0b, 0x02};
static const uint8_t GIP[4] = {10, 205, 0, 2};
static const uint8_t NSIP[4] = {10, 205, 0, 1};

/* The guest: what the base delivers, kept for the main thread, which
 * answers (a port's deliver may not send on the same port). */
struct guest {
    struct glan_port *port;
    pthread_mutex_t lock;
    uint8_t frames[64][1600];
    uint32_t lens[64];
    unsigned n, taken;
    unsigned arp_replies, echo_requests;
};

static int g_deliver(void *ctx, const struct glan_dgram *dg)
{
    struct guest *g = ctx;
    pthread_mutex_lock(&g->lock);
    if (g->n - g->taken < 64 && dg->len <= 1600) {
        memcpy(g->frames[g->n % 64], dg->data, dg->len);
        g->lens[g->n % 64] = dg->len;
        g->n++;
    }
    pthread_mutex_unlock(&g->lock);
    return 0;
}

static const struct glan_port_ops g_ops = {.deliver = g_deliver};

static uint16_t csum(const uint8_t *p, size_t len)
{
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        s += (uint32_t)p[i] << 8 | p[i + 1];
    if (len & 1)
        s += (uint32_t)p[len - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* An ARP packet of op from the guest to tha/tpa (dst the frame's
 * destination). */
static size_t arp(uint8_t *f, const uint8_t *dst, uint16_t op, const uint8_t *tha,
                  const uint8_t *tpa)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, GMAC, 6);
    f[12] = 0x08;
    f[13] = 0x06;
    static const uint8_t h[8] = {0, 1, 8, 0, 6, 4, 0, 0};
    memcpy(f + 14, h, 8);
    f[21] = (uint8_t)op;
    memcpy(f + 22, GMAC, 6);
    memcpy(f + 28, GIP, 4);
    memcpy(f + 32, tha, 6);
    memcpy(f + 38, tpa, 4);
    memset(f + 42, 0, 18);
    return 60;
}

/* The guest's own stack, one frame: ARP requests for its address answered,
 * ARP replies and echo requests counted, echo requests answered. */
static void guest_frame(struct guest *g, const uint8_t *f, uint32_t len)
{
    uint8_t out[1600];
    if (len >= 42 && f[12] == 0x08 && f[13] == 0x06) {
        if (f[21] == 2 && !memcmp(f, GMAC, 6))
            g->arp_replies++;
        if (f[21] == 1 && !memcmp(f + 38, GIP, 4))
            glan_port_send(g->port, out, arp(out, f + 6, 2, f + 22, f + 28), NULL);
        return;
    }
    if (len >= 42 && f[12] == 0x08 && f[13] == 0x00 && f[23] == 1 && !memcmp(f + 30, GIP, 4) &&
        f[34] == 8) {
        g->echo_requests++;
        memcpy(out, f, len);
        memcpy(out, f + 6, 6);
        memcpy(out + 6, GMAC, 6);
        memcpy(out + 26, f + 30, 4);
        memcpy(out + 30, f + 26, 4);
        out[34] = 0; /* echo reply */
        out[36] = out[37] = 0;
        uint16_t c = csum(out + 34, len - 34);
        out[36] = (uint8_t)(c >> 8);
        out[37] = (uint8_t)c;
        glan_port_send(g->port, out, len, NULL);
    }
}

/* Run the guest's stack for ms milliseconds. */
static void guest_run(struct guest *g, int ms)
{
    for (int t = 0; t < ms; t += 10) {
        for (;;) {
            uint8_t f[1600];
            uint32_t len = 0;
            pthread_mutex_lock(&g->lock);
            if (g->taken != g->n) {
                len = g->lens[g->taken % 64];
                memcpy(f, g->frames[g->taken % 64], len);
                g->taken++;
            }
            pthread_mutex_unlock(&g->lock);
            if (!len)
                break;
            guest_frame(g, f, len);
        }
        ns_sleep_ms(10);
    }
}

/* ping from the namespace while the guest answers. */
struct pinger {
    int rc;
};

static void *ping_main(void *arg)
{
    char ip[32];
    snprintf(ip, sizeof ip, "%u.%u.%u.%u", GIP[0], GIP[1], GIP[2], GIP[3]);
    ((struct pinger *)arg)->rc = ns_ping(ip, 3);
    return NULL;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int pcap = argc > 1 && !strcmp(argv[1], "pcap");
    if (argc < 2 || (!pcap && strcmp(argv[1], "tap"))) {
        fprintf(stderr, "usage: %s tap|pcap\n", argv[0]);
        return 2;
    }
    int entered = ns_enter("ip ping nsenter");
    if (entered != 0)
        return entered;
    char err[256];
    struct glan_lan_config lc = {.name = "L2BR", .transport = GLAN_TRANSPORT_ETHERNET};
    struct glan_lan *lan = glan_lan_create(&lc, err, sizeof err);
    if (!lan) {
        printf("FAIL  lan: %s\n", err);
        return 1;
    }
    static struct guest g;
    pthread_mutex_init(&g.lock, NULL);
    struct glan_port_info gi = {.name = "G", .kind = GLAN_PORT_GUEST};
    struct glan_addr m;
    glan_addr_mac(&m, GMAC);
    if (glan_port_attach(lan, &gi, &g_ops, &g, &g.port) || glan_addr_register(g.port, &m)) {
        printf("FAIL  guest port\n");
        return 1;
    }

    /* A TUN uplink carries IP datagrams: refused here. */
    struct glan_tun_config tc0 = {.ifname = "gltun9"};
    struct glan_uplink *tun = glan_tun_create(&tc0, err, sizeof err);
    if (tun) {
        int rc = glan_tun_attach(lan, tun);
        printf("      tun attach: %d %s\n", rc, tun->err);
        ns_check(rc < 0 && strstr(tun->err, "transport ETHERNET") != NULL,
                 "a TUN uplink is refused on an ETHERNET LAN, saying why");
        glan_uplink_destroy(tun);
    }

    const char *dev;
    struct glan_uplink *u;
    if (pcap) {
        if (ns_peer_start() < 0 || ns_veth_pair("glbv0", "glbv1")) {
            printf("SKIP: cannot create a second namespace or a veth pair\n");
            return NS_SKIP;
        }
        dev = "glbv1";
        struct glan_pcaplive_config pc = {.ifname = "glbv0"};
        u = glan_pcaplive_create(&pc, err, sizeof err);
    } else {
        dev = "glbr0";
        struct glan_tap_config tc = {.ifname = "glbr0", .up = 1};
        u = glan_tap_create(&tc, err, sizeof err);
    }
    if (!u) {
        printf("FAIL  create: %s\n", err);
        return 1;
    }
    int rc = glan_l2_uplink_attach(lan, u);
    printf("      attach %s: %d %s\n", u->ops->kind, rc, u->err);
    if (rc < 0) {
        int skip = pcap && (rc == -EPERM || rc == -EOPNOTSUPP);
        printf("%s: %s\n", skip ? "SKIP" : "FAIL  attach", u->err);
        return skip ? NS_SKIP : 1;
    }
    ns_sh("%sip link set %s up", ns_in_peer(), dev);
    ns_sh("%sip addr add 10.205.0.1/24 dev %s", ns_in_peer(), dev);
    ns_sleep_ms(300);

    /* 1. the guest's ARP request, the kernel's reply to the guest's MAC */
    static const uint8_t bc[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, zero[6];
    uint8_t f[64];
    enum glan_drop d = glan_port_send(g.port, f, arp(f, bc, 1, zero, NSIP), NULL);
    ns_check(d == GLAN_DROP_NONE, "the guest's ARP request went to the uplink (%s)",
             glan_drop_name(d));
    guest_run(&g, 500);
    ns_check(g.arp_replies >= 1, "the namespace's ARP reply reached the guest's own MAC (%u)",
             g.arp_replies);
    char out[512];
    ns_capture(out, sizeof out, "%sip neigh show 10.205.0.2", ns_in_peer());
    ns_check(strstr(out, "02:00:00:00:0b:02") != NULL,
             "the namespace knows the guest by its own MAC: no proxy in between");

    /* 2. the namespace pings the guest, which answers ARP and echo itself */
    struct pinger p = {.rc = -1};
    pthread_t th;
    pthread_create(&th, NULL, ping_main, &p);
    guest_run(&g, 3500);
    pthread_join(th, NULL);
    ns_check(p.rc == 0 && g.echo_requests >= 3, "the namespace pings the guest (%u echoes)",
             g.echo_requests);

    /* 3. a MAC nobody registered, from the network: dropped */
    uint64_t before = ns_lan_drops(lan, GLAN_DROP_UNKNOWN_DEST);
    ns_sh("%sip neigh replace 10.205.0.77 lladdr 02:00:00:00:0b:77 dev %s", ns_in_peer(), dev);
    ns_sh("%sping -c 1 -W 1 10.205.0.77 >/dev/null", ns_in_peer());
    ns_sleep_ms(200);
    ns_check(ns_lan_drops(lan, GLAN_DROP_UNKNOWN_DEST) > before,
             "a frame for a MAC no guest registered is dropped as unknown_dest");

    ns_check(ns_lan_drops(lan, GLAN_DROP_SPOOFED) == 0,
             "the uplink never hands the guest's own frames back (spoofed 0)");

    glan_uplink_destroy(u);
    glan_port_detach(g.port);
    glan_lan_destroy(lan);
    ns_peer_stop();
    return ns_finish(NULL);
}
