/*
 * `glan simlan`: one host's LAN without Hercules.  A LAN with N simulated
 * Linux qeth guests (src/simguest: layer 3, brought up over QDIO as
 * qeth_l3 does) and an uplink given as `glan define ... uplink` takes it
 * (normally a TAP device in a bridge with a VXLAN port, from
 * samples/multihost/glan-multihost.sh).  Its guests answer echo requests
 * the whole time; each pings a list of addresses (on this host's LAN or
 * on other hosts'), first until each answers, then --count times one at a
 * time for the round-trip times; then, with --flood, each keeps --window
 * echo requests of --size bytes in flight to its --flood-to address for
 * that many seconds and reports the rate.  tests/multihost/sim.sh runs one
 * in each of many network namespaces (docs/multihost.md has the figures).
 * With --layer2 the LAN is of transport ETHERNET and the guests are layer
 * 2 (qeth_l2): each takes a MAC of its own made from its address, as a
 * user gives guests on several hosts (the device's MACs repeat on every
 * host), and they ARP for each other.
 *
 * One thread: the guests' input comes from the LAN's threads (the uplink's
 * receiver, another guest's SIGA), whose interruptions wake it through an
 * eventfd (sg_host.on_interrupt), with a short poll as a safety net.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cmds.h"
#include "dgram.h"
#include "guestlan/base.h"
#include "guestlan/simguest.h"
#include "guestlan/uplinkspec.h"
#include "tooltime.h"

#define MAX_GUESTS  64
#define MAX_TARGETS 4096
#define RX_BATCH    64
#define SAFETY_MS   5 /* the longest sleep without an interruption */

struct sguest {
    struct simguest *sg;
    uint32_t addr; /* host byte order */
    char text[16];
    uint16_t ping_id, flood_id, seq;
    /* the one echo awaited by await_reply */
    uint16_t want_seq;
    int got;
    /* --flood */
    uint32_t flood_dst;
    unsigned inflight;
    uint64_t replies, sent, refused;
    double last_reply;
};

static struct sguest guests[MAX_GUESTS];
static int nguests;
static int evfd = -1;
static volatile sig_atomic_t stopping, go;
static struct sg_rx rxbuf[RX_BATCH];
static uint32_t *targets;
static int ntargets;
static uint8_t *reached; /* [guest * ntargets + target] */
static size_t flood_size = 1400;
static uint64_t answered_requests;
/* --layer2: the guests' neighbours, [guest * ntargets + target] */
static int layer2;
static uint8_t (*nbr_mac)[6];
static uint8_t *nbr_known;

static void on_interrupt(void *arg)
{
    (void)arg;
    uint64_t one = 1;
    ssize_t rc = write(evfd, &one, sizeof one);
    (void)rc;
}

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        go = 1;
    else
        stopping = 1;
}

/* An IPv4 datagram from g; in layer 2 in an Ethernet frame to dmac. */
static void send_ip(struct sguest *g, const uint8_t *dmac, const uint8_t *d, size_t len)
{
    if (glan_sg_send_ip(g->sg, dmac, d, len) != SG_SENT)
        g->refused++;
}

/* An ARP request (op 1, broadcast) for tpa, or a reply (op 2) to tha/tpa. */
static void send_arp(struct sguest *g, int op, const uint8_t *tha, uint32_t tpa)
{
    uint8_t f[DGRAM_ARP_FRAME], spa[4], tpa4[4];
    put32(spa, g->addr);
    put32(tpa4, tpa);
    dgram_arp(f, op, g->sg->mac, spa, tha, tpa4);
    struct sg_pkt p = {.data = f, .len = sizeof f};
    if (glan_sg_send(g->sg, &p, 1, 0) != SG_SENT)
        g->refused++;
}

static int target_index(uint32_t a)
{
    for (int i = 0; i < ntargets; i++)
        if (targets[i] == a)
            return i;
    return -1;
}

static void send_echo(struct sguest *g, int gi, uint32_t dst, uint16_t id, uint16_t seq, size_t len)
{
    uint8_t pkt[9216];
    const uint8_t *dmac = NULL;
    if (layer2) {
        int t = target_index(dst);
        if (t < 0)
            return;
        if (!nbr_known[gi * ntargets + t]) {
            send_arp(g, 1, NULL, dst); /* resolve first, as the guest's kernel does */
            return;
        }
        dmac = nbr_mac[gi * ntargets + t];
    }
    if (len > sizeof pkt)
        len = sizeof pkt;
    len = dgram_icmp4_echo_len(pkt, len, g->addr, dst, DGRAM_ICMP_ECHO, id, seq);
    send_ip(g, dmac, pkt, len);
}

/* What one guest's kernel does with a datagram: answer an echo request to
 * its address; note an echo reply. */
static void take(struct sguest *g, int gi, const uint8_t *d, size_t len)
{
    const uint8_t *smac = NULL;
    if (layer2) {
        if (len >= 42 && d[12] == 0x08 && d[13] == 0x06) {
            uint32_t spa = be32(d + 28), tpa = be32(d + 38);
            int t = target_index(spa);
            if (t >= 0 && (d[21] == 1 || d[21] == 2) && tpa == g->addr) {
                memcpy(nbr_mac[gi * ntargets + t], d + 22, 6); /* as a kernel learns */
                nbr_known[gi * ntargets + t] = 1;
            }
            if (d[21] == 1 && tpa == g->addr)
                send_arp(g, 2, d + 22, spa);
            return;
        }
        if (len < 14 || d[12] != 0x08 || d[13] != 0x00 || memcmp(d, g->sg->mac, 6))
            return;
        smac = d + 6;
        d += 14;
        len -= 14;
    }
    if (len < 28 || (d[0] >> 4) != 4 || d[9] != 1)
        return;
    size_t hl = (size_t)(d[0] & 15) * 4;
    if (hl < 20 || len < hl + 8 || be16(d + 2) > len)
        return;
    len = be16(d + 2);
    const uint8_t *m = d + hl;
    uint32_t src = be32(d + 12), dst = be32(d + 16);
    if (dst != g->addr)
        return;
    if (m[0] == DGRAM_ICMP_ECHO) {
        uint8_t r[9216];
        if (len > sizeof r)
            return;
        memcpy(r, d, len);
        memcpy(r + 12, d + 16, 4);
        memcpy(r + 16, d + 12, 4);
        r[8] = 64;
        r[10] = r[11] = 0;
        dgram_ip4_csum(r, hl);
        r[hl] = DGRAM_ICMP_REPLY;
        dgram_icmp_csum(r + hl, len - hl);
        send_ip(g, smac, r, len);
        answered_requests++;
    } else if (m[0] == DGRAM_ICMP_REPLY) {
        uint16_t id = be16(m + 4), seq = be16(m + 6);
        if (id == g->ping_id) {
            int t = target_index(src);
            if (t >= 0)
                reached[gi * ntargets + t] = 1;
            if (seq == g->want_seq)
                g->got = 1;
        } else if (id == g->flood_id && src == g->flood_dst) {
            g->replies++;
            g->last_reply = now_s();
            if (g->inflight)
                g->inflight--;
        }
    }
}

static void poll_guests(void)
{
    for (int i = 0; i < nguests; i++) {
        struct sguest *g = &guests[i];
        int n;
        while ((n = glan_sg_recv(g->sg, rxbuf, RX_BATCH)) > 0) {
            for (int k = 0; k < n && k < RX_BATCH; k++)
                take(g, i, rxbuf[k].data, rxbuf[k].len);
            if (n <= RX_BATCH)
                break;
        }
        glan_sg_pump(g->sg);
    }
}

/* Sleep until input or timeout_s (at most SAFETY_MS), then take what came. */
static void wait_input(double timeout_s)
{
    uint64_t v;
    ssize_t rc = read(evfd, &v, sizeof v); /* drained before the guests are read */
    (void)rc;
    poll_guests();
    int ms = (int)(timeout_s * 1000);
    if (ms > SAFETY_MS)
        ms = SAFETY_MS;
    struct pollfd p = {.fd = evfd, .events = POLLIN};
    if (ms > 0 && poll(&p, 1, ms) > 0) {
        rc = read(evfd, &v, sizeof v);
        (void)rc;
    }
    poll_guests();
}

/* One echo from g to dst, awaited up to limit_s; its round trip, or -1. */
static double ping_once(struct sguest *g, int gi, uint32_t dst, double limit_s)
{
    g->want_seq = ++g->seq;
    g->got = 0;
    double t0 = now_s();
    send_echo(g, gi, dst, g->ping_id, g->seq, 84);
    double t;
    while (!g->got && (t = now_s() - t0) < limit_s && !stopping)
        wait_input(limit_s - t);
    return g->got ? now_s() - t0 : -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void fmt_addr(uint32_t a, char *buf, size_t len)
{
    uint32_t n = htonl(a);
    inet_ntop(AF_INET, &n, buf, (socklen_t)len);
}

/* "A" or "A+N" (N consecutive addresses from A), comma-separated. */
static int parse_list(const char *text, uint32_t **out, int *n)
{
    char *s = strdup(text), *save = NULL;
    if (!s)
        return -1;
    for (char *w = strtok_r(s, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        char *plus = strchr(w, '+');
        long count = 1;
        if (plus) {
            *plus = 0;
            char *end;
            count = strtol(plus + 1, &end, 10);
            if (*end || count < 1 || count > MAX_TARGETS) {
                free(s);
                return -1;
            }
        }
        struct in_addr ia;
        if (inet_pton(AF_INET, w, &ia) != 1 || *n + count > MAX_TARGETS) {
            free(s);
            return -1;
        }
        uint32_t *grown = realloc(*out, sizeof **out * (size_t)(*n + count));
        if (!grown) {
            free(s);
            return -1;
        }
        *out = grown;
        for (long i = 0; i < count; i++)
            (*out)[(*n)++] = ntohl(ia.s_addr) + (uint32_t)i;
    }
    free(s);
    return 0;
}

/* Leave before the LAN runs: what the argument lists hold freed. */
static int bail(int rc, uint32_t *first_a, uint32_t *flood)
{
    free(first_a);
    free(flood);
    free(targets);
    targets = NULL;
    ntargets = 0;
    if (evfd >= 0)
        close(evfd);
    evfd = -1;
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: glan simlan [--lan NAME] [--guests N] [--addr A] [--uplink SPEC]\n"
            "                   [--ping LIST] [--count N] [--wait S] [--flood S]\n"
            "                   [--flood-to LIST] [--size BYTES] [--window N] [--go-signal]\n"
            "                   [--hold S] [--layer2]\n"
            "  A LAN with N simulated Linux qeth guests (layer 3, over QDIO) and an\n"
            "  uplink, outside Hercules: one host of a LAN across hosts, for tests at\n"
            "  scale without Hyperion (tests/multihost/sim.sh, docs/multihost.md).\n"
            "  The guests answer echo requests until the end.\n"
            "  --lan NAME      the LAN's name (LAN1), transport IP\n"
            "  --guests N      simulated guests (4, at most %d), at consecutive IPv4\n"
            "                  addresses from --addr (10.77.1.1)\n"
            "  --uplink SPEC   the LAN's uplink as `glan define ... uplink` takes it,\n"
            "                  one argument: \"tap glantap0 mac 02:67:76:00:00:01\"\n"
            "  --ping LIST     addresses every guest pings (but its own): comma-\n"
            "                  separated, A+N for N consecutive from A; first each\n"
            "                  until it answers (--wait S in all, default 30), then\n"
            "                  --count times (3) one at a time, for the round trips\n"
            "  --flood S       then each guest keeps --window (16) echo requests of\n"
            "                  --size bytes (1400, the IPv4 datagram) in flight to its\n"
            "                  --flood-to address (the k-th guest to the k-th in the\n"
            "                  list) for S seconds: echoes a second and Mbit/s\n"
            "  --go-signal     start the flood on SIGUSR1 (when every host has pinged)\n"
            "  --hold S        answer echoes S seconds more at the end (0; -1: until\n"
            "                  SIGTERM or SIGINT, which end any phase)\n"
            "  --layer2        transport ETHERNET, the guests layer 2 (qeth_l2): each\n"
            "                  sets the MAC 02:4c:32 and its address's last three bytes\n"
            "                  (SETVMAC, DELVMAC) and ARPs for its targets (which then\n"
            "                  include the --flood-to addresses)\n"
            "  Output: REACH, PING and FLOOD lines per guest and target, a SUMMARY\n"
            "  line, then the LAN's counters.  Exit 0 when every target answered\n"
            "  (in the reach phase, and at least one of each --count) and no flood\n"
            "  went without replies, 1 when not, 2 usage.\n",
            MAX_GUESTS);
}

static int arg_num(const char *v, double lo, double hi, double *out)
{
    char *end;
    if (!v)
        return -1;
    double d = strtod(v, &end);
    if (*end || d < lo || d > hi || isnan(d))
        return -1;
    *out = d;
    return 0;
}

int cmd_simlan(int argc, char **argv)
{
    const char *lan_name = "LAN1", *first = "10.77.1.1", *uplink = NULL, *ping = NULL;
    const char *flood_to = NULL;
    double n_guests = 4, count = 3, wait_s = 30, flood_s = 0, size = 1400, window = 16, hold = 0;
    int go_signal = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0, took = 1;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--go-signal")) {
            go_signal = 1;
            took = 0;
        } else if (!strcmp(a, "--layer2")) {
            layer2 = 1;
            took = 0;
        } else if (!v) {
            bad = 1;
        } else if (!strcmp(a, "--lan")) {
            lan_name = v;
        } else if (!strcmp(a, "--addr")) {
            first = v;
        } else if (!strcmp(a, "--uplink")) {
            uplink = v;
        } else if (!strcmp(a, "--ping")) {
            ping = v;
        } else if (!strcmp(a, "--flood-to")) {
            flood_to = v;
        } else if (!strcmp(a, "--guests")) {
            bad = arg_num(v, 1, MAX_GUESTS, &n_guests);
        } else if (!strcmp(a, "--count")) {
            bad = arg_num(v, 1, 1000, &count);
        } else if (!strcmp(a, "--wait")) {
            bad = arg_num(v, 0, 3600, &wait_s);
        } else if (!strcmp(a, "--flood")) {
            bad = arg_num(v, 0, 3600, &flood_s);
        } else if (!strcmp(a, "--size")) {
            bad = arg_num(v, 28, 8192, &size);
        } else if (!strcmp(a, "--window")) {
            bad = arg_num(v, 1, 100, &window);
        } else if (!strcmp(a, "--hold")) {
            bad = arg_num(v, -1, 86400, &hold);
        } else {
            bad = 1;
        }
        if (bad) {
            fprintf(stderr, "glan simlan: bad argument '%s'%s%s\n", a, v ? " " : "", v ? v : "");
            usage(stderr);
            return 2;
        }
        i += took;
    }
    uint32_t *first_a = NULL, *flood = NULL;
    int nfirst = 0, nflood = 0;
    if (parse_list(first, &first_a, &nfirst) || nfirst != 1 ||
        (ping && parse_list(ping, &targets, &ntargets)) ||
        (flood_to && parse_list(flood_to, &flood, &nflood)) || (flood_s > 0 && !nflood)) {
        fprintf(stderr, "glan simlan: bad address list (--addr A, --ping and --flood-to "
                        "A[+N],...; --flood needs --flood-to)\n");
        return bail(2, first_a, flood);
    }
    for (int i = 0; layer2 && i < nflood; i++)
        if (target_index(flood[i]) < 0) {
            fprintf(stderr, "glan simlan: --layer2: the --flood-to addresses must be among the "
                            "--ping ones (the guests ARP for those)\n");
            return bail(2, first_a, flood);
        }
    setvbuf(stdout, NULL, _IOLBF, 0);
    nguests = (int)n_guests;
    flood_size = (size_t)size;
    evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);

    char err[256] = "";
    struct glan_lan_config cfg = {.name = lan_name, .max_ports = (uint32_t)nguests + 8};
    if (layer2)
        cfg.transport = GLAN_TRANSPORT_ETHERNET;
    struct glan_lan *lan = glan_lan_create(&cfg, err, sizeof err);
    if (!lan || evfd < 0) {
        fprintf(stderr, "glan simlan: %s\n", lan ? "no eventfd" : err);
        if (lan)
            glan_lan_destroy(lan);
        return bail(1, first_a, flood);
    }
    int status = 0;
    struct glan_uplink_spec spec = {0};
    struct glan_uplink *up = NULL;
    int have_spec = 0;
    if (uplink) {
        char *words[32], *copy = strdup(uplink), *save = NULL;
        int nw = 0;
        for (char *w = copy ? strtok_r(copy, " ", &save) : NULL; w && nw < 32;
             w = strtok_r(NULL, " ", &save))
            words[nw++] = w;
        if (glan_uplink_spec_parse(nw, words, &spec, err, sizeof err) < 0) {
            fprintf(stderr, "glan simlan: --uplink: %s\n", err);
            free(copy);
            glan_lan_destroy(lan);
            return bail(2, first_a, flood);
        }
        free(copy);
        have_spec = 1;
        up = spec.up(spec.arg, lan, err, sizeof err);
        if (!up) {
            fprintf(stderr, "glan simlan: uplink %s %s: %s\n", spec.kind, spec.what, err);
            status = 1;
            goto out;
        }
    }
    printf("glan define %s ports %u%s%s%s\n", lan_name, cfg.max_ports,
           layer2 ? " transport ethernet" : "", uplink ? " uplink " : "", uplink ? uplink : "");
    for (int i = 0; i < nguests; i++) {
        struct sguest *g = &guests[i];
        g->addr = first_a[0] + (uint32_t)i;
        fmt_addr(g->addr, g->text, sizeof g->text);
        g->ping_id = (uint16_t)(0x5000 + i);
        g->flood_id = (uint16_t)(0x6000 + i);
        char port[16];
        snprintf(port, sizeof port, "0:%04X", 0x600 + 0x10 * i);
        g->sg = glan_sg_create(lan, port, (uint16_t)(0x600 + 0x10 * i));
        const char *addrs[] = {g->text, NULL};
        uint8_t mac[6] = {
            0x02, 0x4c, 0x32, (uint8_t)(g->addr >> 16), (uint8_t)(g->addr >> 8), (uint8_t)g->addr};
        if (!g->sg || (layer2 ? glan_sg_bringup_l2(g->sg) || glan_sg_setmac(g->sg, mac, 0) ||
                                    glan_sg_setmac(g->sg, g->sg->mac, 1)
                              : glan_sg_bringup(g->sg, addrs))) {
            fprintf(stderr, "glan simlan: guest %s: the qeth bring-up failed\n", g->text);
            nguests = i + (g->sg != NULL);
            status = 1;
            goto out;
        }
        if (layer2)
            memcpy(g->sg->mac, mac, 6); /* the MAC its frames carry from now on */
        g->sg->host.on_interrupt = on_interrupt;
        g->sg->host.on_interrupt_arg = g;
        if (nflood)
            g->flood_dst = flood[i % nflood];
    }
    char last[16];
    fmt_addr(guests[nguests - 1].addr, last, sizeof last);
    printf("simlan: %d guests %s-%s online (%s)\n", nguests, guests[0].text, last,
           layer2 ? "qeth layer 2, MACs 02:4c:32:... (SETVMAC)" : "qeth layer 3, SETIP");

    /* Reach: every guest pings every target until it answers. */
    size_t cells = (size_t)nguests * (size_t)(ntargets ? ntargets : 1);
    reached = calloc(cells, 1);
    nbr_known = calloc(cells, 1);
    nbr_mac = calloc(cells, sizeof *nbr_mac);
    if (!reached || !nbr_known || !nbr_mac) {
        fprintf(stderr, "glan simlan: out of memory\n");
        status = 1;
        goto out;
    }
    int pairs = 0, npairs_reached = 0;
    double t0 = now_s(), next = 0;
    for (;;) {
        int missing = 0;
        double t = now_s() - t0;
        int resend = t >= next;
        for (int i = 0; i < nguests; i++)
            for (int k = 0; k < ntargets; k++) {
                if (targets[k] == guests[i].addr || reached[i * ntargets + k])
                    continue;
                missing++;
                if (resend)
                    send_echo(&guests[i], i, targets[k], guests[i].ping_id, 0, 84);
            }
        if (resend)
            next = t + 0.2;
        if (!missing || t > wait_s || stopping)
            break;
        wait_input(0.01);
    }
    double reach_s = now_s() - t0;
    for (int i = 0; i < nguests; i++)
        for (int k = 0; k < ntargets; k++) {
            if (targets[k] == guests[i].addr)
                continue;
            pairs++;
            if (reached[i * ntargets + k]) {
                npairs_reached++;
            } else {
                char b[16];
                fmt_addr(targets[k], b, sizeof b);
                printf("REACH %s %s none in %.0f s\n", guests[i].text, b, wait_s);
            }
        }
    printf("REACH pairs=%d reached=%d in %.3f s\n", pairs, npairs_reached, reach_s);
    if (npairs_reached != pairs)
        status = 1;

    /* Round trips: one echo at a time. */
    size_t cap = (size_t)pairs * (size_t)count + 1, nrtt = 0;
    double *rtt = malloc(sizeof *rtt * cap);
    uint64_t sent = 0;
    for (int i = 0; i < nguests && !stopping; i++)
        for (int k = 0; k < ntargets && !stopping; k++) {
            if (targets[k] == guests[i].addr)
                continue;
            double mn = 1e9, mx = 0, sum = 0;
            int got = 0;
            for (int c = 0; c < (int)count; c++) {
                sent++;
                double r = ping_once(&guests[i], i, targets[k], 1.0);
                if (r < 0)
                    continue;
                got++;
                sum += r;
                mn = r < mn ? r : mn;
                mx = r > mx ? r : mx;
                if (rtt && nrtt < cap)
                    rtt[nrtt++] = r;
            }
            char b[16];
            fmt_addr(targets[k], b, sizeof b);
            if (got)
                printf("PING %s %s tx=%d rx=%d rtt=%.3f/%.3f/%.3f\n", guests[i].text, b, (int)count,
                       got, mn * 1e3, sum / got * 1e3, mx * 1e3);
            else
                printf("PING %s %s tx=%d rx=0 rtt=-\n", guests[i].text, b, (int)count);
            if (!got)
                status = 1; /* one lost on the way is counted, none at all fails */
        }
    if (nrtt) {
        qsort(rtt, nrtt, sizeof *rtt, cmp_double);
        double sum = 0;
        for (size_t i = 0; i < nrtt; i++)
            sum += rtt[i];
        printf("SUMMARY pings=%" PRIu64 " answered=%zu rtt_ms min=%.3f avg=%.3f p50=%.3f "
               "p99=%.3f max=%.3f\n",
               sent, nrtt, rtt[0] * 1e3, sum / (double)nrtt * 1e3, rtt[nrtt / 2] * 1e3,
               rtt[(nrtt * 99) / 100] * 1e3, rtt[nrtt - 1] * 1e3);
    } else {
        printf("SUMMARY pings=%" PRIu64 " answered=0\n", sent);
    }
    free(rtt);

    /* The flood. */
    if (flood_s > 0 && !stopping) {
        if (go_signal) {
            printf("simlan: waiting for SIGUSR1 to flood\n");
            while (!go && !stopping)
                wait_input(0.005);
        }
        double f0 = now_s();
        uint16_t seq = 0;
        for (int i = 0; i < nguests; i++)
            guests[i].last_reply = f0;
        while (now_s() - f0 < flood_s && !stopping) {
            for (int i = 0; i < nguests; i++) {
                struct sguest *g = &guests[i];
                while (g->inflight < (unsigned)window) {
                    send_echo(g, i, g->flood_dst, g->flood_id, ++seq, flood_size);
                    g->inflight++;
                    g->sent++;
                }
            }
            wait_input(0.001);
            /* requests or replies lost on the way: after half a second
             * without a reply, the window is open again */
            double t = now_s();
            for (int i = 0; i < nguests; i++)
                if (guests[i].inflight && t - guests[i].last_reply > 0.5) {
                    guests[i].inflight = 0;
                    guests[i].last_reply = t;
                }
        }
        double fs = now_s() - f0;
        uint64_t total = 0;
        for (int i = 0; i < nguests; i++) {
            struct sguest *g = &guests[i];
            char b[16];
            fmt_addr(g->flood_dst, b, sizeof b);
            printf("FLOOD %s %s secs=%.2f size=%zu window=%d sent=%" PRIu64 " replies=%" PRIu64
                   " rate=%.0f/s mbit=%.1f\n",
                   g->text, b, fs, flood_size, (int)window, g->sent, g->replies,
                   (double)g->replies / fs, (double)g->replies * (double)flood_size * 8 / fs / 1e6);
            total += g->replies;
            if (!g->replies)
                status = 1;
        }
        printf("FLOOD_TOTAL guests=%d secs=%.2f replies=%" PRIu64 " rate=%.0f/s mbit=%.1f\n",
               nguests, fs, total, (double)total / fs,
               (double)total * (double)flood_size * 8 / fs / 1e6);
    }
    printf("simlan: done%s\n", hold < 0 ? "; answering until SIGTERM" : "");
    for (double h0 = now_s(); !stopping && (hold < 0 || now_s() - h0 < hold);)
        wait_input(0.005);

    struct glan_lan_stats s;
    glan_lan_stats(lan, &s);
    char drops[400];
    glan_drops_format(s.dropped, drops, sizeof drops);
    uint64_t refused = 0;
    for (int i = 0; i < nguests; i++)
        refused += guests[i].refused;
    printf("LAN %s: sent %" PRIu64 " packets %" PRIu64 " bytes, delivered %" PRIu64
           ", echo requests answered %" PRIu64 "; output buffers not taken at once %" PRIu64
           "\n  Dropped:%s\n",
           lan_name, s.sent_packets, s.sent_bytes, s.delivered, answered_requests, refused, drops);
    if (up) {
        struct glan_uplink_stats us = {0};
        glan_uplink_get_stats(up, &us);
        printf("  Uplink %s %s: to the network %" PRIu64 " packets %" PRIu64 " bytes (%" PRIu64
               " failed); from it %" PRIu64 " packets %" PRIu64 " bytes, %" PRIu64
               " skipped, %" PRIu64 " unreadable\n",
               spec.kind, spec.what, us.tx_packets, us.tx_bytes, us.tx_errors, us.rx_packets,
               us.rx_bytes, us.rx_skipped, us.rx_errors);
    }
out:
    for (int i = 0; i < nguests; i++)
        if (guests[i].sg)
            glan_sg_destroy(guests[i].sg);
    if (up)
        spec.down(spec.arg, up);
    if (have_spec && spec.release)
        spec.release(spec.arg);
    glan_lan_destroy(lan);
    free(first_a);
    free(flood);
    free(targets);
    free(reached);
    free(nbr_known);
    free(nbr_mac);
    close(evfd);
    printf("glan simlan: %s\n", status ? "FAILED" : "every target answered");
    return status;
}
