/*
 * `glan demo`: a LAN at work without Hercules.  Two simulated Linux qeth
 * guests (src/simguest) sit behind the OSA device model on LAN1, each
 * brought up byte for byte as Linux's qeth_l3 does (IDX, CM/ULP, QDIO
 * queues, IPA, SETIP), and ping each other through output SBALs + SIGA-w,
 * the base, and the peer's input SBALs: the path a real guest's datagrams
 * take under hdtglan, minus the emulated CPU.  As root, LAN1 also gets a TUN
 * uplink inside a network namespace this process makes for itself
 * (unshare), guest A pings the host there and the host (ping(8)) pings
 * guest A.  Then the LAN is shown as hdtglan's `glan query` shows it, with
 * each guest's QDIO counters.  samples/demo.sh runs it when no Hyperion is
 * there.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmds.h"
#include "dgram.h"
#include "guestlan/base.h"
#include "guestlan/osa.h"
#include "guestlan/tun.h"
#include "guestlan/simguest.h"
#include "tooltime.h"

#define DEMO_HOST    "10.1.1.1" /* the TUN device's address, in the namespace */
#define DEMO_TUN     "glantun0"
#define DEMO_PINGS   5
#define WAIT_REPLY_S 1.0

struct guest {
    const char *name, *addr;
    struct simguest *sg;
};

static struct sg_rx rxbuf[64];
/* --layer2: the guests are layer 2 on a LAN of transport ETHERNET; they send
 * Ethernet frames and resolve each other with ARP, as qeth_l2 guests do. */
static int layer2;
/* --hipers: LAN1 is of type HIPERS; the guests' cards are HiperSockets
 * (IQD), layer 3 at the MTU of the LAN's maximum frame size. */
static int hipers;
static uint8_t arp_mac[6];
static int arp_got;

/* An IPv4 datagram (or in layer 2 an Ethernet frame holding one, to dst). */
static int guest_send_to(struct guest *g, const uint8_t *dst, const uint8_t *d, size_t len)
{
    return glan_sg_send_ip(g->sg, dst, d, len) == SG_SENT ? 0 : -1;
}

static int guest_send(struct guest *g, const uint8_t *d, size_t len)
{
    return guest_send_to(g, arp_mac, d, len);
}

/* An ARP request (op 1, to the broadcast) or reply (op 2, to tha) from g. */
static void guest_arp(struct guest *g, int op, const uint8_t *tha, const uint8_t *tpa)
{
    uint8_t f[DGRAM_ARP_FRAME], spa[4];
    inet_pton(AF_INET, g->addr, spa);
    dgram_arp(f, op, g->sg->mac, spa, tha, tpa);
    struct sg_pkt p = {.data = f, .len = sizeof f};
    glan_sg_send(g->sg, &p, 1, 0);
}

/* What a guest's kernel does with what arrived: answer echo requests to its
 * address; an echo reply with our id and sequence sets *got. */
static void guest_poll(struct guest *g, uint16_t id, uint16_t seq, int *got)
{
    int n = glan_sg_recv(g->sg, rxbuf, 64);
    uint32_t me;
    inet_pton(AF_INET, g->addr, &me);
    for (int i = 0; i < n && i < 64; i++) {
        const uint8_t *d = rxbuf[i].data;
        size_t len = rxbuf[i].len;
        if (layer2) {
            /* ARP for our address answered, a reply to us kept; IPv4 goes on */
            if (len >= 42 && d[12] == 0x08 && d[13] == 0x06) {
                if (d[21] == 1 && !memcmp(d + 38, &me, 4))
                    guest_arp(g, 2, d + 22, d + 28);
                else if (d[21] == 2 && !memcmp(d, g->sg->mac, 6)) {
                    memcpy(arp_mac, d + 22, 6);
                    arp_got = 1;
                }
                continue;
            }
            if (len < 14 || d[12] != 0x08 || d[13] != 0x00)
                continue;
            memcpy(arp_mac, d + 6, 6); /* answer whoever asked */
            d += 14;
            len -= 14;
        }
        if (len < 28 || (d[0] >> 4) != 4 || d[9] != 1)
            continue;
        size_t hl = (size_t)(d[0] & 15) * 4;
        if (len < hl + 8)
            continue;
        const uint8_t *m = d + hl;
        uint32_t src, dst;
        memcpy(&src, d + 12, 4);
        memcpy(&dst, d + 16, 4);
        if (m[0] == DGRAM_ICMP_ECHO && dst == me) {
            /* The request turned round: addresses swapped, type reply. */
            uint8_t r[9216];
            memcpy(r, d, len);
            memcpy(r + 12, &dst, 4);
            memcpy(r + 16, &src, 4);
            dgram_ip4_csum(r, hl);
            r[hl] = DGRAM_ICMP_REPLY;
            dgram_icmp_csum(r + hl, len - hl);
            guest_send(g, r, len);
        } else if (m[0] == DGRAM_ICMP_REPLY && got && be16(m + 4) == id && be16(m + 6) == seq) {
            *got = 1;
        }
    }
}

/* from pings to: every guest keeps answering while we wait for the reply. */
static int ping(struct guest *from, const char *to, struct guest *all, int nall)
{
    uint32_t src, dst; /* network byte order */
    inet_pton(AF_INET, from->addr, &src);
    inet_pton(AF_INET, to, &dst);
    uint16_t id = (uint16_t)(0x4700 + (from - all));
    int ok = 0;
    double sum = 0, min = 1e9, max = 0;
    printf("guest %s (%s): ping -c %d %s\n", from->name, from->addr, DEMO_PINGS, to);
    if (layer2) {
        /* ARP first, as a layer-2 guest's kernel does */
        arp_got = 0;
        guest_arp(from, 1, NULL, (const uint8_t *)&dst);
        for (double t0 = now_s(); !arp_got && now_s() - t0 < WAIT_REPLY_S;) {
            for (int i = 0; i < nall; i++)
                guest_poll(&all[i], 0, 0, NULL);
            usleep(50);
        }
        if (!arp_got) {
            printf("  no ARP reply for %s\n", to);
            return -1;
        }
        printf("  ARP: %s is at %02x:%02x:%02x:%02x:%02x:%02x\n", to, arp_mac[0], arp_mac[1],
               arp_mac[2], arp_mac[3], arp_mac[4], arp_mac[5]);
    }
    uint8_t peer[6];
    memcpy(peer, arp_mac, 6);
    for (uint16_t seq = 1; seq <= DEMO_PINGS; seq++) {
        uint8_t pkt[128];
        size_t len = dgram_icmp4_echo(pkt, ntohl(src), ntohl(dst), DGRAM_ICMP_ECHO, id, seq);
        double t0 = now_s(), t = 0;
        int got = 0;
        if (guest_send_to(from, peer, pkt, len) < 0) {
            printf("  icmp_seq=%u: the adapter refused the output buffer\n", seq);
            continue;
        }
        while (!got && (t = now_s() - t0) < WAIT_REPLY_S) {
            for (int i = 0; i < nall; i++)
                guest_poll(&all[i], id, seq, &all[i] == from ? &got : NULL);
            if (!got && now_s() - t0 > 0.001)
                usleep(50); /* poll without sleeping for the first millisecond */
        }
        if (got) {
            ok++;
            sum += t;
            min = t < min ? t : min;
            max = t > max ? t : max;
            printf("  64 bytes from %s: icmp_seq=%u time=%.3f ms\n", to, seq, t * 1e3);
        } else {
            printf("  icmp_seq=%u: no reply in %.0f s\n", seq, WAIT_REPLY_S);
        }
    }
    printf("  %d packets transmitted, %d received", DEMO_PINGS, ok);
    if (ok)
        printf(", rtt min/avg/max = %.3f/%.3f/%.3f ms", min * 1e3, sum / ok * 1e3, max * 1e3);
    printf("\n");
    return ok == DEMO_PINGS ? 0 : -1;
}

/* ---- the query, as hdtglan's `glan query` prints it ---------------------- */

struct walk {
    struct glan_lan *lan;
    struct guest *g;
    int ng;
};

static void show_port(const struct glan_port_view *v, void *arg)
{
    struct walk *w = arg;
    const struct glan_port_stats *s = &v->stats;
    struct guest *g = NULL;
    for (int i = 0; i < w->ng; i++)
        if (w->g[i].sg && glan_port_index(glan_osa_port(w->g[i].sg->osa)) == v->index)
            g = &w->g[i];
    if (g)
        printf("  Port %d '%s' guest devices %04X %04X %04X: simulated guest %s, mtu %u\n",
               v->index, v->name, g->sg->devnum[0], g->sg->devnum[1], g->sg->devnum[2], g->name,
               v->mtu);
    else
        printf("  Port %d '%s' %s, mtu %u\n", v->index, v->name,
               v->kind == GLAN_PORT_UPLINK ? "uplink (the uplink above)" : "guest", v->mtu);
    struct glan_addr a[16];
    size_t n = glan_lan_port_addrs(w->lan, v->index, 1, a, 16);
    printf("    Addresses:");
    for (size_t i = 0; i < n && i < 16; i++) {
        char t[64];
        printf(" %s", glan_addr_format(&a[i], t, sizeof t));
    }
    printf("%s\n", n ? "" : " none");
    char buf[400];
    glan_drops_format(s->dropped, buf, sizeof buf);
    printf("    Sent %" PRIu64 " packets %" PRIu64 " bytes, fanout %" PRIu64 ", delivered %" PRIu64
           ", queued %" PRIu64 "\n    Dropped:%s\n",
           s->sent_packets, s->sent_bytes, s->fanout, s->delivered, s->queued, buf);
    printf("    Received %" PRIu64 " packets %" PRIu64 " bytes, dropped on the way in %" PRIu64
           "\n",
           s->recv_packets, s->recv_bytes, s->recv_dropped);
    if (g) {
        struct glan_osa_stats o;
        glan_osa_get_stats(g->sg->osa, &o);
        printf("    QDIO: output SBALs %" PRIu64 " (%" PRIu64 " datagrams), input SBALs %" PRIu64
               " (%" PRIu64 " datagrams), SIGA-w %" PRIu64 ", SIGA-r %" PRIu64
               ", interrupts %" PRIu64 "\n",
               o.out_buffers, o.out_packets, o.in_buffers, o.in_packets, o.siga_w, o.siga_r,
               o.interrupts);
    }
}

static void query(struct glan_lan *lan, struct glan_uplink *up, struct guest *g, int ng)
{
    struct glan_lan_config c;
    struct glan_lan_stats s;
    char buf[400];
    glan_lan_get_config(lan, &c);
    glan_lan_stats(lan, &s);
    printf("glan query %s\n", c.name);
    char kind[48] = "";
    if (c.type == GLAN_LAN_HIPERS)
        snprintf(kind, sizeof kind, ", type hipers, mfs %uk", c.mfs);
    printf("LAN %s: ports %u of %u, addresses %u of %u, groups %u of %u%s\n", c.name, s.ports,
           c.max_ports, s.addrs, c.max_addrs, s.groups, c.max_groups, kind);
    printf("  Base storage in use: small %u of %u (%u bytes), medium %u of %u (%u bytes), large %u "
           "of %u (%u bytes); port queues of %u\n",
           s.class_in_use[0], c.buffers, c.buffer_size, s.class_in_use[1], c.mid_buffers,
           c.mid_size, s.class_in_use[2], c.big_buffers, c.big_size, c.queue_len);
    glan_drops_format(s.dropped, buf, sizeof buf);
    printf("  Sent %" PRIu64 " packets %" PRIu64 " bytes, fanout %" PRIu64 ", delivered %" PRIu64
           ", queued %" PRIu64 "\n  Dropped:%s\n",
           s.sent_packets, s.sent_bytes, s.fanout, s.delivered, s.queued, buf);
    printf("  Path MTU: %" PRIu64 " ICMP answers sent, %" PRIu64
           " held back by the rate limit, %" PRIu64 " fragments made\n",
           s.icmp_sent, s.icmp_limited, s.frags_sent);
    struct glan_tun_status ts;
    struct glan_uplink_stats us = {0};
    if (up)
        glan_uplink_get_stats(up, &us);
    if (up && glan_tun_status(up, &ts) == 0)
        printf("  Uplink: tun '%s' mtu %u, %s%s\n    To the network %" PRIu64 " packets %" PRIu64
               " bytes; from it %" PRIu64 " packets %" PRIu64 " bytes\n",
               ts.ifname, ts.mtu, ts.open ? "open" : "closed", ts.created ? ", created" : "",
               us.tx_packets, us.tx_bytes, us.rx_packets, us.rx_bytes);
    else
        printf("  Uplink: none\n");
    struct walk w = {.lan = lan, .g = g, .ng = ng};
    glan_lan_foreach_port(lan, show_port, &w);
}

/* ---- the uplink in a network namespace of our own ------------------------ */

static int sh(const char *cmd)
{
    printf("host# %s\n", cmd);
    fflush(stdout);
    int rc = system(cmd);
    return rc == -1 ? -1 : WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static struct glan_uplink *uplink_up(struct glan_lan *lan)
{
    if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0) {
        printf("-- TUN uplink skipped: it needs root and /dev/net/tun (to make a network "
               "namespace and a TUN device in it)\n");
        return NULL;
    }
    if (unshare(CLONE_NEWNET) != 0) {
        printf("-- TUN uplink skipped: cannot make a network namespace: %s\n", strerror(errno));
        return NULL;
    }
    printf("-- this process is now in a network namespace of its own (unshare): the TUN "
           "device, its address and every datagram stay in it\n");
    char err[256] = "";
    struct glan_tun_config tc = {.ifname = DEMO_TUN, .mtu = 1500, .up = 1};
    struct glan_uplink *u = glan_tun_create(&tc, err, sizeof err);
    int rc = u ? glan_tun_attach(lan, u) : -1;
    if (rc < 0) {
        printf("-- TUN uplink failed: %s\n", u ? u->err : err);
        if (u)
            glan_uplink_destroy(u);
        return NULL;
    }
    printf("glan uplink LAN1 tun %s mtu 1500\n", DEMO_TUN);
    if (sh("ip link set lo up") || sh("ip addr add " DEMO_HOST "/24 dev " DEMO_TUN)) {
        glan_tun_detach(u);
        glan_uplink_destroy(u);
        return NULL;
    }
    return u;
}

/* The host pings guest 0 with ping(8) while the guests answer. */
static int host_ping(struct guest *g, int ng)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "ping -c 3 -i 0.2 -W 2 %s", g[0].addr);
    printf("host# %s\n", cmd);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execlp("ping", "ping", "-c", "3", "-i", "0.2", "-W", "2", g[0].addr, (char *)NULL);
        perror("ping");
        _exit(127);
    }
    int st = 0;
    double t0 = now_s();
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 || now_s() - t0 > 20) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        for (int i = 0; i < ng; i++)
            guest_poll(&g[i], 0, 0, NULL);
        usleep(100);
    }
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: glan demo [--no-uplink] [--layer2 | --hipers]\n"
               "  Two simulated Linux qeth guests on LAN1 behind the OSA device model ping\n"
               "  each other through QDIO and the base; as root, LAN1 also gets a TUN uplink\n"
               "  in a network namespace of this process and guest A and the host ping each\n"
               "  other through it.  Then the LAN as `glan query` shows it.  Exit 0 when\n"
               "  every ping was answered.  --layer2: LAN1 is of transport ETHERNET and the\n"
               "  guests are layer 2 (qeth_l2): they ARP for each other and ping in Ethernet\n"
               "  frames; no uplink.  --hipers: LAN1 is of type HIPERS and the guests'\n"
               "  cards HiperSockets (IQD): layer 3 at MTU 57344, set by the card.\n");
}

int cmd_demo(int argc, char **argv)
{
    int want_uplink = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--no-uplink")) {
            want_uplink = 0;
        } else if (!strcmp(argv[i], "--layer2")) {
            layer2 = 1;
            want_uplink = 0; /* a TUN uplink carries no frames */
        } else if (!strcmp(argv[i], "--hipers")) {
            hipers = 1;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct glan_lan_config cfg = {.name = "LAN1", .max_ports = 16}; /* zero: the default */
    if (layer2 && hipers) {
        usage(stderr);
        return 2;
    }
    if (layer2)
        cfg.transport = GLAN_TRANSPORT_ETHERNET;
    if (hipers)
        cfg.type = GLAN_LAN_HIPERS;
    char err[256];
    struct glan_lan *lan = glan_lan_create(&cfg, err, sizeof err);
    if (!lan) {
        fprintf(stderr, "glan demo: %s\n", err);
        return 1;
    }
    printf("glan define LAN1 ports 16%s\n", layer2   ? " transport ethernet"
                                            : hipers ? " type hipers"
                                                     : "");
    struct guest g[2] = {{.name = "A", .addr = "10.1.1.2"}, {.name = "B", .addr = "10.1.1.3"}};
    static const uint16_t devno[2] = {0x0600, 0x0610};
    static const char *const port[2] = {"0:0600", "0:0610"};
    int status = 0;
    for (int i = 0; i < 2; i++) {
        const char *addrs[] = {g[i].addr, NULL};
        g[i].sg = glan_sg_create(lan, port[i], devno[i]);
        if (!g[i].sg || (layer2 ? glan_sg_bringup_l2(g[i].sg) : glan_sg_bringup(g[i].sg, addrs))) {
            fprintf(stderr, "glan demo: guest %s: the qeth bring-up failed\n", g[i].name);
            status = 1;
            goto out;
        }
        if (layer2) {
            const uint8_t *m = g[i].sg->mac;
            printf("guest %s: qeth 0.0.%04x,0.0.%04x,0.0.%04x online (layer 2), MAC "
                   "%02x:%02x:%02x:%02x:%02x:%02x registered (SETVMAC), %s/24\n",
                   g[i].name, devno[i], devno[i] + 1, devno[i] + 2, m[0], m[1], m[2], m[3], m[4],
                   m[5], g[i].addr);
            continue;
        }
        if (g[i].sg->iqd) {
            printf("guest %s: qeth 0.0.%04x,0.0.%04x,0.0.%04x online (HiperSockets, layer 3, MTU "
                   "%u from frame-size code %04x), %s/24 registered (SETIP)\n",
                   g[i].name, devno[i], devno[i] + 1, devno[i] + 2, g[i].sg->max_mtu,
                   g[i].sg->frame_code, g[i].addr);
            continue;
        }
        printf("guest %s: qeth 0.0.%04x,0.0.%04x,0.0.%04x online (layer 3), %s/24 registered "
               "(SETIP)\n",
               g[i].name, devno[i], devno[i] + 1, devno[i] + 2, g[i].addr);
    }
    printf("-- guest to guest: output SBAL + SIGA-w -> %s model -> base -> peer's input SBAL\n",
           hipers ? "HiperSockets (IQD)" : "OSA");
    if (ping(&g[0], g[1].addr, g, 2) || ping(&g[1], g[0].addr, g, 2))
        status = 1;

    struct glan_uplink *up = want_uplink ? uplink_up(lan) : NULL;
    if (up) {
        printf("-- guest to host and back through LAN1's TUN uplink\n");
        if (ping(&g[0], DEMO_HOST, g, 2) || host_ping(g, 2))
            status = 1;
    }
    printf("-- the LAN now\n");
    query(lan, up, g, 2);
    if (up) {
        glan_tun_detach(up);
        glan_uplink_destroy(up);
    }
out:
    for (int i = 0; i < 2; i++)
        if (g[i].sg)
            glan_sg_destroy(g[i].sg);
    glan_lan_destroy(lan);
    printf("glan demo: %s\n", status ? "FAILED (a ping went unanswered)" : "every ping answered");
    return status;
}
