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
 * Two guests (base ports that answer ICMP/ICMPv6 echo for their addresses)
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
#include <fcntl.h>
#include <grp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guestlan/base.h"
#include "guestlan/l2.h"
#include "guestlan/pcaplive.h"
#include "guestlan/tap.h"

#define SKIP 77
#define VID  100

static int failures;

static void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void check(int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s", ok ? "ok    " : "FAIL  ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    if (!ok)
        failures++;
}

/* Where the namespace's side of the link is: "" for the test's own
 * namespace, "nsenter -t PID -n " for the peer namespace. */
static char in_peer[64];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sh(const char *fmt, ...)
{
    char cmd[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    printf("$ %s\n", cmd);
    fflush(stdout);
    int st = system(cmd);
    return st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The output of a command (at most len-1 bytes). */
static void capture(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void capture(char *buf, size_t len, const char *fmt, ...)
{
    char cmd[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    buf[0] = 0;
    FILE *f = popen(cmd, "r");
    if (!f)
        return;
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = 0;
    pclose(f);
    printf("$ %s\n%s", cmd, buf);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- ICMP echo ------------------------------------------------------------------ */

static uint16_t cksum(const uint8_t *p, size_t len, uint32_t s)
{
    for (size_t i = 0; i < len; i += 2)
        s += (uint32_t)(p[i] << 8 | (i + 1 < len ? p[i + 1] : 0));
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static void set16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Fill in the IPv4 header and ICMP checksums, or the ICMPv6 one. */
static void fix_sums(uint8_t *p, size_t len)
{
    if (p[0] >> 4 == 4) {
        set16(p + 10, 0);
        set16(p + 10, cksum(p, 20, 0));
        set16(p + 22, 0);
        set16(p + 22, cksum(p + 20, len - 20, 0));
    } else {
        set16(p + 42, 0);
        uint32_t pseudo = 58 + (uint32_t)(len - 40);
        for (int i = 8; i < 40; i += 2)
            pseudo += (uint32_t)(p[i] << 8 | p[i + 1]);
        set16(p + 42, cksum(p + 40, len - 40, pseudo));
    }
}

static size_t echo(uint8_t *p, const struct glan_addr *src, const struct glan_addr *dst,
                   uint8_t type, uint16_t seq)
{
    size_t hl = src->family == GLAN_AF_INET ? 20 : 40, len = hl + 8 + 24;
    memset(p, 0, len);
    if (hl == 20) {
        p[0] = 0x45;
        set16(p + 2, (uint16_t)len);
        p[8] = 64;
        p[9] = 1;
        memcpy(p + 12, src->bytes, 4);
        memcpy(p + 16, dst->bytes, 4);
    } else {
        p[0] = 0x60;
        set16(p + 4, (uint16_t)(len - 40));
        p[6] = 58;
        p[7] = 64;
        memcpy(p + 8, src->bytes, 16);
        memcpy(p + 24, dst->bytes, 16);
    }
    p[hl] = type;
    set16(p + hl + 4, 0x4c32);
    set16(p + hl + 6, seq);
    fix_sums(p, len);
    return len;
}

/* ---- guests ----------------------------------------------------------------------- */

#define QN 32

/* A guest port: answers echo requests for its addresses from its own thread
 * (a port must not send from inside its deliver) and counts what it gets. */
struct guest {
    struct glan_port *port;
    struct glan_addr a4, a6;
    pthread_mutex_t m;
    pthread_cond_t cv;
    uint8_t q[QN][1500];
    size_t qlen[QN];
    unsigned head, tail;
    int stop;
    pthread_t thr;
    unsigned req4, req6, rep4, rep6;
};

static int guest_deliver(void *ctx, const struct glan_dgram *dg)
{
    struct guest *g = ctx;
    const uint8_t *p = dg->data;
    int v4 = dg->family == GLAN_AF_INET;
    size_t hl = v4 ? 20 : 40;
    if (dg->len < hl + 8 || p[v4 ? 9 : 6] != (v4 ? 1 : 58))
        return 0;
    uint8_t type = p[hl];
    pthread_mutex_lock(&g->m);
    if (type == (v4 ? 8 : 128)) {
        v4 ? g->req4++ : g->req6++;
        if (dg->len <= sizeof g->q[0] && g->tail - g->head < QN) {
            memcpy(g->q[g->tail % QN], p, dg->len);
            g->qlen[g->tail % QN] = dg->len;
            g->tail++;
            pthread_cond_signal(&g->cv);
        }
    } else if (type == (v4 ? 0 : 129)) {
        v4 ? g->rep4++ : g->rep6++;
    }
    pthread_mutex_unlock(&g->m);
    return 0;
}

static const struct glan_port_ops guest_ops = {.deliver = guest_deliver};

static void *guest_thread(void *arg)
{
    struct guest *g = arg;
    uint8_t buf[1500];
    pthread_mutex_lock(&g->m);
    while (!g->stop) {
        if (g->head == g->tail) {
            pthread_cond_wait(&g->cv, &g->m);
            continue;
        }
        size_t len = g->qlen[g->head % QN];
        memcpy(buf, g->q[g->head % QN], len);
        g->head++;
        pthread_mutex_unlock(&g->m);
        int v4 = buf[0] >> 4 == 4;
        uint8_t tmp[16];
        size_t al = v4 ? 4 : 16, so = v4 ? 12 : 8;
        memcpy(tmp, buf + so, al);
        memcpy(buf + so, buf + so + al, al);
        memcpy(buf + so + al, tmp, al);
        buf[v4 ? 20 : 40] = v4 ? 0 : 129;
        fix_sums(buf, len);
        glan_port_send(g->port, buf, len, NULL);
        pthread_mutex_lock(&g->m);
    }
    pthread_mutex_unlock(&g->m);
    return NULL;
}

static int guest_start(struct guest *g, struct glan_lan *lan, const char *name, const char *a4,
                       const char *a6)
{
    memset(g, 0, sizeof *g);
    pthread_mutex_init(&g->m, NULL);
    pthread_cond_init(&g->cv, NULL);
    struct glan_port_info info = {.name = name, .kind = GLAN_PORT_GUEST};
    if (glan_addr_parse(a4, &g->a4) || glan_addr_parse(a6, &g->a6) ||
        glan_port_attach(lan, &info, &guest_ops, g, &g->port) ||
        glan_addr_register(g->port, &g->a4) || glan_addr_register(g->port, &g->a6))
        return -1;
    return pthread_create(&g->thr, NULL, guest_thread, g) ? -1 : 0;
}

static void guest_stop(struct guest *g)
{
    pthread_mutex_lock(&g->m);
    g->stop = 1;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->m);
    pthread_join(g->thr, NULL);
    glan_port_detach(g->port);
}

static unsigned count(struct guest *g, const unsigned *field)
{
    pthread_mutex_lock(&g->m);
    unsigned v = *field;
    pthread_mutex_unlock(&g->m);
    return v;
}

static int wait_for(struct guest *g, const unsigned *field, unsigned want, int ms)
{
    for (int t = 0; count(g, field) < want && t < ms; t += 20)
        sleep_ms(20);
    return count(g, field) >= want;
}

/* ---- the peer namespace ------------------------------------------------------------ */

static pid_t peer = -1;

/* A process that sits in a new network namespace until killed. */
static int peer_start(void)
{
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    fflush(NULL);
    peer = fork();
    if (peer < 0)
        return -1;
    if (peer == 0) {
        char ok = unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
        if (write(fds[1], &ok, 1) < 0)
            _exit(1);
        for (;;)
            pause();
    }
    close(fds[1]);
    char ok = 'n';
    if (read(fds[0], &ok, 1) != 1)
        ok = 'n';
    close(fds[0]);
    snprintf(in_peer, sizeof in_peer, "nsenter -t %d -n ", (int)peer);
    return ok == 'y' ? 0 : -1;
}

static void peer_stop(void)
{
    if (peer > 0) {
        kill(peer, SIGKILL);
        waitpid(peer, NULL, 0);
    }
    peer = -1;
}

/* ---- VLAN frames by hand ------------------------------------------------------------ */

/* A packet socket on dev in the namespace that holds it (the peer's, when
 * there is one), with the VLAN tag the kernel takes off received frames
 * reported in PACKET_AUXDATA. */
static int raw_open(const char *dev)
{
    int self = -1, other = -1, s = -1;
    if (peer > 0) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/ns/net", (int)peer);
        self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        other = open(path, O_RDONLY | O_CLOEXEC);
        if (self < 0 || other < 0 || setns(other, CLONE_NEWNET) < 0)
            goto out;
    }
    s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    int one = 1;
    struct sockaddr_ll sa = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
    sa.sll_ifindex = (int)if_nametoindex(dev);
    if (s >= 0 && (setsockopt(s, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) < 0 ||
                   bind(s, (struct sockaddr *)&sa, sizeof sa) < 0)) {
        close(s);
        s = -1;
    }
out:
    if (self >= 0 && setns(self, CLONE_NEWNET) < 0)
        printf("FAIL  cannot return to our own namespace\n");
    if (self >= 0)
        close(self);
    if (other >= 0)
        close(other);
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
            if (*vid < 0 && n >= 18 && f[12] == 0x81 && f[13] == 0) {
                *vid = (f[14] << 8 | f[15]) & 0xfff;
                memmove(f + 12, f + 16, (size_t)n - 16);
                n -= 4;
            }
            if ((f[12] << 8 | f[13]) == type)
                return (size_t)n;
        }
    }
    return 0;
}

/* An Ethernet header from the made-up station me, tagged when vid. */
static size_t raw_eth(uint8_t *f, const uint8_t *dst, const uint8_t *me, uint16_t type, int vid)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, me, 6);
    size_t h = 12;
    if (vid) {
        set16(f + 12, 0x8100);
        set16(f + 14, (uint16_t)vid);
        h = 16;
    }
    set16(f + h, type);
    return h + 2;
}

static size_t raw_arp(uint8_t *f, const uint8_t *me, int vid, const struct glan_addr *spa,
                      const struct glan_addr *tpa)
{
    static const uint8_t bc[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    size_t h = raw_eth(f, bc, me, 0x0806, vid);
    uint8_t *a = f + h;
    memset(a, 0, 28);
    set16(a, 1);
    set16(a + 2, 0x0800);
    a[4] = 6;
    a[5] = 4;
    set16(a + 6, 1);
    memcpy(a + 8, me, 6);
    memcpy(a + 14, spa->bytes, 4);
    memcpy(a + 24, tpa->bytes, 4);
    return h + 28;
}

/* Tagged and untagged frames by hand, for kernels that cannot make VLAN
 * interfaces (and as a second look where they can): a station on VLAN VID
 * ARPs for a guest and pings it; the same ARP untagged goes unanswered. */
static void raw_vlan(struct glan_uplink *u, struct guest *g, const char *dev, const uint8_t *mac,
                     const char *me4)
{
    int s = raw_open(dev);
    if (s < 0) {
        check(0, "packet socket on %s: %s", dev, strerror(errno));
        return;
    }
    static const uint8_t me[6] = {0x02, 0x00, 0x00, 0x00, 0x02, 0x03};
    struct glan_addr src;
    glan_addr_parse(me4, &src);
    uint8_t f[256], r[2048];
    int vid;

    /* tagged ARP request: a tagged reply with the LAN's MAC */
    size_t n = raw_arp(f, me, VID, &src, &g->a4);
    check(send(s, f, n < 64 ? 64 : n, 0) > 0, "sent a tagged ARP request for the guest");
    size_t got = raw_expect(s, 0x0806, r, sizeof r, &vid, 2000);
    check(got >= 42 && vid == VID && r[21] == 2 && !memcmp(r + 22, mac, 6) &&
              !memcmp(r + 28, g->a4.bytes, 4) && !memcmp(r, me, 6),
          "tagged ARP reply on VLAN %d with the LAN's MAC for the guest", vid);

    /* tagged echo request: a tagged echo reply from the guest */
    unsigned before = count(g, &g->req4);
    size_t h = raw_eth(f, mac, me, 0x0800, VID);
    n = h + echo(f + h, &src, &g->a4, 8, 7);
    check(send(s, f, n < 64 ? 64 : n, 0) > 0, "sent a tagged echo request to the guest");
    got = raw_expect(s, 0x0800, r, sizeof r, &vid, 2000);
    check(got >= 14 + 28 && vid == VID && r[14 + 9] == 1 && r[14 + 20] == 0 &&
              !memcmp(r + 14 + 12, g->a4.bytes, 4) && !memcmp(r, me, 6) &&
              count(g, &g->req4) == before + 1,
          "the guest's echo reply came back tagged with VLAN %d", vid);

    /* untagged ARP request: no answer, counted */
    struct glan_l2_stats st;
    glan_l2_uplink_stats(u, &st);
    uint64_t wrong = st.rx_wrong_vlan;
    n = raw_arp(f, me, 0, &src, &g->a4);
    check(send(s, f, n < 64 ? 64 : n, 0) > 0, "sent an untagged ARP request for the guest");
    got = raw_expect(s, 0x0806, r, sizeof r, &vid, 700);
    check(got == 0, "no answer to the untagged request");
    /* another VLAN: no answer either */
    n = raw_arp(f, me, VID + 1, &src, &g->a4);
    send(s, f, n < 64 ? 64 : n, 0);
    got = raw_expect(s, 0x0806, r, sizeof r, &vid, 700);
    check(got == 0, "no answer on VLAN %d", VID + 1);
    glan_l2_uplink_stats(u, &st);
    /* the capture filter keeps them from the live pcap uplink altogether */
    if (peer < 0)
        check(st.rx_wrong_vlan >= wrong + 2, "untagged and other-VLAN frames skipped (%llu)",
              (unsigned long long)(st.rx_wrong_vlan - wrong));
    close(s);
}

/* ---- no root at run time ------------------------------------------------------------------ */

/* Distributions ship /dev/net/tun with mode 0666; where it is 0600 (some
 * containers), the child gets a mount namespace of its own in which a 0666
 * node of the same device covers it.  The host's device stays as it is. */
static int private_tun_node(void)
{
    char dir[] = "/tmp/glan-l2-XXXXXX", node[64];
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        !mkdtemp(dir))
        return -1;
    snprintf(node, sizeof node, "%s/tun", dir);
    int rc = mknod(node, S_IFCHR | 0666, makedev(10, 200)) == 0 ? chmod(node, 0666) : -1;
    if (rc == 0)
        rc = mount(node, "/dev/net/tun", NULL, MS_BIND, NULL);
    unlink(node); /* the bind mount keeps the node */
    rmdir(dir);
    if (rc == 0)
        printf("      /dev/net/tun is mode 0600 here: using a 0666 node in a private mount "
               "namespace\n");
    return rc;
}

/* A persistent TAP device owned by "nobody": a child that gave up root
 * attaches to it, and is told what to do about a device it would have to
 * create. */
static void tap_unprivileged(void)
{
    struct stat sb;
    int open_to_all = stat("/dev/net/tun", &sb) == 0 && (sb.st_mode & 0006) == 0006;
    if (sh("ip tuntap add dev gltap1 mode tap user 65534 group 65534") ||
        sh("ip link set dev gltap1 up")) {
        check(0, "persistent TAP device for uid 65534 created");
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (!open_to_all && private_tun_node() < 0)
            _exit(5);
        if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
            _exit(3);
        char err[256];
        struct glan_lan_config lc = {.name = "NOBODY"};
        struct glan_lan *lan = glan_lan_create(&lc, err, sizeof err);
        struct glan_tap_config tc = {.ifname = "gltap1", .up = 1};
        struct glan_uplink *u = glan_tap_create(&tc, err, sizeof err);
        if (!lan || !u)
            _exit(4);
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
        fflush(NULL);
        _exit(bad);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    check(WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "without root: a user's persistent TAP device works; creating one asks for "
          "CAP_NET_ADMIN");
    sh("ip link del gltap1");
}

/* ---- the test ------------------------------------------------------------------------ */

static uint64_t lan_drop(struct glan_lan *lan, enum glan_drop d)
{
    struct glan_lan_stats st;
    glan_lan_stats(lan, &st);
    return st.dropped[d];
}

static int ping(const char *addr, int count_)
{
    return sh("%sping -q -n -c %d -i 0.2 -W 2 %s >/dev/null", in_peer, count_, addr);
}

static struct glan_l2_uplink_status ustatus(struct glan_uplink *u)
{
    struct glan_l2_uplink_status us;
    glan_l2_uplink_status(u, &us);
    return us;
}

/* Wait until the uplink's down flag is want. */
static int wait_down(struct glan_uplink *u, int want, int ms)
{
    for (int t = 0; t < ms; t += 50) {
        if (ustatus(u).down == want)
            return 1;
        sleep_ms(50);
    }
    return ustatus(u).down == want;
}

/* 6. The interface is deleted under the uplink and made again. */
static void recovery(struct glan_uplink *u, struct glan_lan *lan, struct guest *g1,
                     struct guest *g2, const char *dev, char a[][64])
{
    int pcap = !strcmp(u->ops->kind, "pcaplive");
    struct glan_l2_uplink_status us = ustatus(u);
    check(!us.down && us.open && us.gone_events == 0, "before: the uplink is up (%s)", us.ifname);
    /* the TAP device, or our end of the veth pair (its peer goes with it) */
    sh("ip link del %s", pcap ? "glv0" : "gltap0");
    check(wait_down(u, 1, 3000), "the uplink noticed the interface is gone");
    us = ustatus(u);
    printf("      message: %s\n", us.message);
    check(us.gone_events == 1 && strstr(us.message, "removed") != NULL,
          "gone counted once, with a message saying so");

    /* the LAN keeps serving its guests */
    uint8_t buf[128];
    unsigned req = count(g2, &g2->req4), rep = count(g1, &g1->rep4);
    size_t n = echo(buf, &g1->a4, &g2->a4, 8, 77);
    glan_port_send(g1->port, buf, n, NULL);
    check(wait_for(g2, &g2->req4, req + 1, 2000) && wait_for(g1, &g1->rep4, rep + 1, 2000),
          "guest 1 <-> guest 2 while the uplink is down");
    /* what is for the network is dropped and counted */
    uint64_t down_before = lan_drop(lan, GLAN_DROP_PORT_DOWN);
    struct glan_addr ns4;
    glan_addr_parse(a[0], &ns4);
    n = echo(buf, &g1->a4, &ns4, 8, 78);
    glan_port_send(g1->port, buf, n, NULL);
    us = ustatus(u);
    check(lan_drop(lan, GLAN_DROP_PORT_DOWN) == down_before + 1 && us.tx_down >= 1,
          "a datagram for the network dropped as port_down (tx_down %llu)",
          (unsigned long long)us.tx_down);

    /* the interface returns */
    if (pcap) {
        sh("ip link add glv0 type veth peer name glv1");
        sh("ip link set glv1 netns %d", (int)peer);
        sh("ip link set glv0 up");
        sh("%sip link set glv1 up", in_peer);
    } else {
        sh("ip tuntap add dev gltap0 mode tap");
    }
    check(wait_down(u, 0, 8000), "the uplink came back by itself");
    us = ustatus(u);
    printf("      message: %s\n", us.message);
    check(us.recoveries == 1 && us.open && strstr(us.message, "back") != NULL,
          "one recovery, with a message saying so");
    sh("%sip addr add %s/24 dev %s", in_peer, a[0], dev);
    sh("%sip -6 addr add %s/64 dev %s nodad", in_peer, a[4], dev);
    sh("%sip link set %s up", in_peer, dev);
    sleep_ms(300);
    check(ping(a[1], 3) == 0, "namespace -> %s (guest 1, IPv4) after the return", a[1]);
    check(ping(a[6], 3) == 0, "namespace -> %s (guest 2, IPv6) after the return", a[6]);
    rep = count(g1, &g1->rep4);
    n = echo(buf, &g1->a4, &ns4, 8, 79);
    glan_port_send(g1->port, buf, n, NULL);
    check(wait_for(g1, &g1->rep4, rep + 1, 4000), "guest 1 -> namespace after the return");
    /* (the persistent TAP device goes with the test's namespace) */
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int pcap = argc > 1 && !strcmp(argv[1], "pcap");
    int vlan = argc > 2 && !strcmp(argv[2], "vlan");
    int recover = argc > 2 && !strcmp(argv[2], "recover");
    if (argc < 2 || (!pcap && strcmp(argv[1], "tap"))) {
        fprintf(stderr, "usage: %s tap|pcap [vlan|recover]\n", argv[0]);
        return 2;
    }
    if (geteuid() != 0) {
        printf("SKIP: needs root to create network namespaces and devices\n");
        return SKIP;
    }
    if (system("command -v ip >/dev/null && command -v ping >/dev/null && "
               "command -v nsenter >/dev/null") != 0) {
        printf("SKIP: needs ip (iproute2), ping and nsenter\n");
        return SKIP;
    }
    if (unshare(CLONE_NEWNET) < 0) {
        printf("SKIP: cannot create a network namespace: %s\n", strerror(errno));
        return SKIP;
    }
    /* From here on every interface, address and packet is in namespaces of
     * our own. */
    sh("ip link set lo up");

    /* Addresses: the namespace is .1 / ::1, the guests .2, .3 / ::2, ::3,
     * nobody .77 / ::77.  The tagged subnet is used with vlan. */
    const char *net = vlan ? "10.203.0" : pcap ? "10.202.0" : "10.201.0";
    const char *net6 = vlan ? "fd00:203:" : pcap ? "fd00:202:" : "fd00:201:";
    char link[32]; /* the namespace's interface with the address */
    char a[8][64];
    snprintf(a[0], 64, "%s.1", net);
    snprintf(a[1], 64, "%s.2", net);
    snprintf(a[2], 64, "%s.3", net);
    snprintf(a[3], 64, "%s.77", net);
    snprintf(a[4], 64, "%s:1", net6);
    snprintf(a[5], 64, "%s:2", net6);
    snprintf(a[6], 64, "%s:3", net6);
    snprintf(a[7], 64, "%s:77", net6);

    char err[256];
    struct glan_lan_config lc = {.name = pcap ? "L2PCAP" : "L2TAP"};
    struct glan_lan *lan = glan_lan_create(&lc, err, sizeof err);
    if (!lan) {
        printf("FAIL  lan: %s\n", err);
        return 1;
    }
    struct guest g1, g2;
    if (guest_start(&g1, lan, "G1", a[1], a[5]) || guest_start(&g2, lan, "G2", a[2], a[6])) {
        printf("FAIL  guests\n");
        return 1;
    }

    struct glan_uplink *u;
    const char *dev; /* the link the LAN is on, in the namespace that has the address */
    if (pcap) {
        if (peer_start() < 0) {
            printf("SKIP: cannot create a second network namespace\n");
            return SKIP;
        }
        if (sh("ip link add glv0 type veth peer name glv1") || sh("ip link set glv0 up") ||
            sh("ip link set glv1 netns %d", (int)peer) || sh("%sip link set lo up", in_peer) ||
            sh("%sip link set glv1 up", in_peer)) {
            peer_stop();
            printf("SKIP: cannot create a veth pair\n");
            return SKIP;
        }
        dev = "glv1";
        struct glan_pcaplive_config pc = {.ifname = "glv0"};
        pc.l2.vlan = vlan ? VID : 0;
        u = glan_pcaplive_create(&pc, err, sizeof err);
    } else {
        dev = "gltap0";
        struct glan_tap_config tc = {.ifname = "gltap0", .up = 1};
        tc.l2.vlan = vlan ? VID : 0;
        u = glan_tap_create(&tc, err, sizeof err);
    }
    if (!u) {
        printf("FAIL  create: %s\n", err);
        peer_stop();
        return 1;
    }
    int rc = glan_l2_uplink_attach(lan, u);
    printf("      attach %s: %d %s\n", u->ops->kind, rc, u->err);
    if (rc < 0) {
        int skip = pcap && (rc == -EPERM || rc == -EOPNOTSUPP);
        printf("%s: %s\n", skip ? "SKIP" : "FAIL  attach", u->err);
        peer_stop();
        return skip ? SKIP : 1;
    }
    uint8_t mac[6];
    char macs[18];
    glan_l2_uplink_mac(u, mac);
    glan_l2_format_mac(mac, macs, sizeof macs);
    printf("      the LAN's MAC: %s\n", macs);
    if (pcap) {
        char filter[256];
        glan_pcaplive_filter(u, filter, sizeof filter);
        printf("      capture filter: %s\n", filter);
    }

    /* The namespace's side: the link itself, or a VLAN on it; with vlan the
     * untagged link gets a subnet of its own that the LAN must not hear. */
    if (vlan) {
        snprintf(link, sizeof link, "%s.%d", dev, VID);
        sh("%sip link set %s up", in_peer, dev);
        sleep_ms(200);
        raw_vlan(u, &g1, dev, mac, a[0]);
        if (sh("%sip link add link %s name %s type vlan id %d", in_peer, dev, link, VID)) {
            printf("      this kernel cannot make 802.1Q VLAN interfaces (8021q): the IP stack "
                   "part of the VLAN test is skipped\n");
            int rc_ = failures ? 1 : 0;
            printf("%s\n", failures ? "FAILED" : "PASSED (VLAN frames by hand only)");
            glan_l2_uplink_detach(u);
            glan_uplink_destroy(u);
            guest_stop(&g1);
            guest_stop(&g2);
            glan_lan_destroy(lan);
            peer_stop();
            return rc_;
        }
        sh("%sip link set %s up", in_peer, link);
        sh("%sip addr add 10.204.0.1/24 dev %s", in_peer, dev);
    } else {
        snprintf(link, sizeof link, "%s", dev);
    }
    sh("%sip addr add %s/24 dev %s", in_peer, a[0], link);
    sh("%sip -6 addr add %s/64 dev %s nodad", in_peer, a[4], link);
    sh("%sip link set %s up", in_peer, dev);
    sleep_ms(300); /* the link's carrier and IPv6 come up */

    struct glan_l2_stats st;
    glan_l2_uplink_stats(u, &st);
    check(st.announcements >= 4, "the guests' 4 addresses were announced at attach (%llu)",
          (unsigned long long)st.announcements);

    /* 1. the guests ping the namespace: the uplink resolves its MAC */
    struct glan_addr ns4, ns6;
    glan_addr_parse(a[0], &ns4);
    glan_addr_parse(a[4], &ns6);
    uint8_t buf[128];
    for (uint16_t i = 1; i <= 3; i++) {
        size_t n = echo(buf, &g1.a4, &ns4, 8, i);
        glan_port_send(g1.port, buf, n, NULL);
        n = echo(buf, &g2.a6, &ns6, 128, i);
        glan_port_send(g2.port, buf, n, NULL);
    }
    int ok = wait_for(&g1, &g1.rep4, 3, 4000);
    check(ok, "guest -> namespace IPv4 echo: %u/3 replies", count(&g1, &g1.rep4));
    ok = wait_for(&g2, &g2.rep6, 3, 4000);
    check(ok, "guest -> namespace IPv6 echo: %u/3 replies", count(&g2, &g2.rep6));
    uint8_t nmac[6];
    check(glan_l2_uplink_neighbour(u, &ns4, nmac) == GLAN_L2_REACHABLE,
          "the uplink resolved the namespace's IPv4 address");
    check(glan_l2_uplink_neighbour(u, &ns6, nmac) == GLAN_L2_REACHABLE,
          "the uplink resolved the namespace's IPv6 address");

    /* 2. the namespace pings the guests */
    check(ping(a[1], 3) == 0, "namespace -> %s (guest 1, IPv4)", a[1]);
    check(ping(a[2], 3) == 0, "namespace -> %s (guest 2, IPv4)", a[2]);
    check(ping(a[5], 3) == 0, "namespace -> %s (guest 1, IPv6)", a[5]);
    check(ping(a[6], 3) == 0, "namespace -> %s (guest 2, IPv6)", a[6]);
    check(count(&g1, &g1.req4) >= 3 && count(&g2, &g2.req4) >= 3 && count(&g1, &g1.req6) >= 3 &&
              count(&g2, &g2.req6) >= 3,
          "the guests saw the requests (%u %u %u %u)", count(&g1, &g1.req4), count(&g2, &g2.req4),
          count(&g1, &g1.req6), count(&g2, &g2.req6));

    /* 3. the namespace's neighbour table has the LAN's MAC for the guests */
    char out[2048];
    for (int i = 1; i <= 6; i += (i == 2 ? 3 : 1)) {
        capture(out, sizeof out, "%sip neigh show %s dev %s", in_peer, a[i], link);
        check(strstr(out, macs) != NULL, "ip neigh: %s is at the LAN's MAC %s", a[i], macs);
    }

    /* 4. unknown destinations: nobody answers ARP/ND for them, and what is
     * sent to them anyway is dropped and counted */
    check(ping(a[3], 1) != 0, "namespace -> %s (no guest): no answer", a[3]);
    capture(out, sizeof out, "%sip neigh show %s dev %s", in_peer, a[3], link);
    check(strstr(out, macs) == NULL, "ip neigh: %s is not at the LAN's MAC", a[3]);
    uint64_t before = lan_drop(lan, GLAN_DROP_UNKNOWN_DEST);
    sh("%sip neigh replace %s lladdr %s dev %s nud permanent", in_peer, a[3], macs, link);
    sh("%sip -6 neigh replace %s lladdr %s dev %s nud permanent", in_peer, a[7], macs, link);
    ping(a[3], 2);
    ping(a[7], 2);
    uint64_t after = lan_drop(lan, GLAN_DROP_UNKNOWN_DEST);
    check(after - before >= 4, "datagrams for unregistered addresses dropped as unknown_dest: %llu",
          (unsigned long long)(after - before));

    /* 5. VLAN: the untagged subnet on the same link does not reach the LAN,
     * even for an address a guest holds */
    if (vlan) {
        struct glan_addr un;
        glan_addr_parse("10.204.0.2", &un);
        glan_addr_register(g1.port, &un);
        glan_l2_uplink_stats(u, &st);
        uint64_t wrong = st.rx_wrong_vlan;
        unsigned req = count(&g1, &g1.req4);
        sh("%sip neigh replace 10.204.0.2 lladdr %s dev %s nud permanent", in_peer, macs, dev);
        check(ping("10.204.0.2", 2) != 0 && count(&g1, &g1.req4) == req,
              "untagged ping to a guest's 10.204.0.2: not delivered");
        glan_l2_uplink_stats(u, &st);
        /* the TAP sees them and the engine skips them; the capture filter
         * keeps them from the live pcap uplink altogether */
        if (!pcap)
            check(st.rx_wrong_vlan >= wrong + 2, "untagged frames skipped as wrong_vlan (%llu)",
                  (unsigned long long)(st.rx_wrong_vlan - wrong));
    }

    glan_l2_uplink_stats(u, &st);
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
    check(st.arp_replies >= 1 && st.na_sent >= 1, "ARP and ND answered for the guests");
    check(st.rx_malformed == 0, "no malformed frames from the Linux stack");

    if (recover)
        recovery(u, lan, &g1, &g2, dev, a);

    glan_l2_uplink_detach(u);
    glan_uplink_destroy(u);
    guest_stop(&g1);
    guest_stop(&g2);
    glan_lan_destroy(lan);
    peer_stop();
    if (!pcap && !vlan && !recover)
        tap_unprivileged();
    printf("%s\n", failures ? "FAILED" : "PASSED");
    return failures ? 1 : 0;
}
