/*
 * The TUN uplink against the Linux IP stack, inside a network namespace this
 * test makes for itself (unshare: it vanishes with the process, whatever
 * happens).  A LAN with two guest ports, each answering ICMP and ICMPv6 echo
 * requests for its registered addresses and recording what it gets, has a
 * TUN uplink; from the namespace we ping the guests, IPv4 and IPv6, ping
 * addresses no guest registered (dropped, counted as unknown_dest), and the
 * guests ping the namespace.  Then the device is deleted under the uplink
 * (guest-to-guest traffic must go on, traffic for the network is counted as
 * port_down) and recreated (the uplink must reattach by itself).  A child
 * that gives up root shows a persistent device owned by a user needs no
 * privileges at run time.
 *
 * Exit 0 passed, 1 failed, 77 skipped (not root, no namespaces, no ip/ping).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guestlan/base.h"
#include "guestlan/tun.h"

#define SKIP 77
#define DEV  "glt0"

static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (cond) {                                                                                \
            printf("ok    ");                                                                      \
        } else {                                                                                   \
            printf("FAIL  ");                                                                      \
            failures++;                                                                            \
        }                                                                                          \
        printf(__VA_ARGS__);                                                                       \
        printf("\n");                                                                              \
        fflush(stdout);                                                                            \
    } while (0)

/* Run a shell command in our namespace (children inherit it); its exit
 * status. */
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

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The kernel refuses a TUN write with EAGAIN only when the device's socket
 * is out of memory, which a test cannot bring about reliably.  So this
 * program's write() can make the next eagain_left writes to eagain_fd fail
 * that way; everything else goes straight to the system call. */
static atomic_int eagain_fd = -1, eagain_left;

ssize_t write(int fd, const void *buf, size_t n)
{
    if (fd == atomic_load(&eagain_fd) && atomic_load(&eagain_left) > 0) {
        atomic_fetch_sub(&eagain_left, 1);
        errno = EAGAIN;
        return -1;
    }
    return syscall(SYS_write, fd, buf, n);
}

/* ---- datagrams ------------------------------------------------------------ */

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    return sum;
}

static uint16_t fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void ip4_fix(uint8_t *p)
{
    put16(p + 10, 0);
    put16(p + 10, fold(sum16(p, 20, 0)));
}

static void icmp4_fix(uint8_t *p, size_t len)
{
    put16(p + 22, 0);
    put16(p + 22, fold(sum16(p + 20, len - 20, 0)));
}

static void icmp6_fix(uint8_t *p, size_t len)
{
    size_t plen = len - 40;
    put16(p + 42, 0);
    uint32_t s = sum16(p + 8, 32, 0); /* source and destination */
    s += (uint32_t)plen + 58;
    put16(p + 42, fold(sum16(p + 40, plen, s)));
}

/* An echo request of 32 bytes of payload from src to dst. */
static size_t echo_request(uint8_t *p, const struct glan_addr *src, const struct glan_addr *dst,
                           uint16_t id)
{
    if (src->family == GLAN_AF_INET) {
        size_t len = 20 + 8 + 32;
        memset(p, 0, len);
        p[0] = 0x45;
        put16(p + 2, (uint16_t)len);
        p[8] = 64;
        p[9] = 1;
        memcpy(p + 12, src->bytes, 4);
        memcpy(p + 16, dst->bytes, 4);
        p[20] = 8;
        put16(p + 24, id);
        put16(p + 26, 1);
        for (int i = 0; i < 32; i++)
            p[28 + i] = (uint8_t)i;
        ip4_fix(p);
        icmp4_fix(p, len);
        return len;
    }
    size_t len = 40 + 8 + 32;
    memset(p, 0, len);
    p[0] = 0x60;
    put16(p + 4, (uint16_t)(len - 40));
    p[6] = 58;
    p[7] = 64;
    memcpy(p + 8, src->bytes, 16);
    memcpy(p + 24, dst->bytes, 16);
    p[40] = 128;
    put16(p + 44, id);
    put16(p + 46, 1);
    for (int i = 0; i < 32; i++)
        p[48 + i] = (uint8_t)i;
    icmp6_fix(p, len);
    return len;
}

static size_t udp4(uint8_t *p, const struct glan_addr *src, const struct glan_addr *dst)
{
    size_t len = 20 + 8 + 16;
    memset(p, 0, len);
    p[0] = 0x45;
    put16(p + 2, (uint16_t)len);
    p[8] = 64;
    p[9] = 17;
    memcpy(p + 12, src->bytes, 4);
    memcpy(p + 16, dst->bytes, 4);
    put16(p + 20, 5000);
    put16(p + 22, 5001);
    put16(p + 24, 8 + 16);
    ip4_fix(p);
    return len;
}

/* ---- guest ports ------------------------------------------------------------ */

#define MAXQ 64

/* A guest: answers echo requests for its addresses (from another thread: a
 * port must not send from inside its own deliver) and counts what it gets. */
struct guest {
    const char *name;
    struct glan_addr a4, a6;
    struct glan_port *port;
    pthread_mutex_t m;
    pthread_cond_t cv;
    uint8_t q[MAXQ][2048];
    uint32_t qlen[MAXQ];
    uint8_t qready[MAXQ]; /* 1: an answer already, 0: an echo request to answer */
    unsigned head, tail;
    int stop;
    pthread_t responder;
    /* what it received */
    uint64_t req4, req6, rep4, rep6, udp, syn, fin, other, not_mine;
};

static int is_mine(const struct guest *g, const struct glan_dgram *dg)
{
    if (dg->family == GLAN_AF_INET)
        return dg->len >= 20 && !memcmp(dg->data + 16, g->a4.bytes, 4);
    return dg->len >= 40 && !memcmp(dg->data + 24, g->a6.bytes, 16);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

/* Just enough TCP to accept a connection: the answer to segment p (IPv4
 * without options, or IPv6 without extension headers) with the given flags,
 * into out; its length.  A SYN gets SYN+ACK, a FIN gets RST: the connection
 * is made, and goes when the namespace closes it. */
static size_t tcp_answer(const uint8_t *p, size_t len, uint8_t flags, uint8_t *out)
{
    int v6 = p[0] >> 4 == 6;
    size_t ih = v6 ? 40 : 20;
    const uint8_t *tq = p + ih;
    size_t thl = (size_t)(tq[12] >> 4) * 4;
    uint32_t seg = (uint32_t)(len - ih - thl) + !!(tq[13] & 0x02) + !!(tq[13] & 0x01);
    memset(out, 0, ih + 20);
    if (v6) {
        out[0] = 0x60;
        put16(out + 4, 20);
        out[6] = 6;
        out[7] = 64;
        memcpy(out + 8, p + 24, 16);
        memcpy(out + 24, p + 8, 16);
    } else {
        out[0] = 0x45;
        put16(out + 2, 40);
        out[8] = 64;
        out[9] = 6;
        memcpy(out + 12, p + 16, 4);
        memcpy(out + 16, p + 12, 4);
        ip4_fix(out);
    }
    uint8_t *t = out + ih;
    memcpy(t, tq + 2, 2); /* ports swapped */
    memcpy(t + 2, tq, 2);
    put32(t + 4, (flags & 0x02) ? 1000 : be32(tq + 8));
    put32(t + 8, be32(tq + 4) + seg);
    t[12] = 5 << 4;
    t[13] = flags;
    put16(t + 14, 65535);
    /* checksum over the pseudo-header (addresses, protocol, length) */
    uint32_t sum = v6 ? sum16(out + 8, 32, 0) : sum16(out + 12, 8, 0);
    sum += 6 + 20;
    put16(t + 16, fold(sum16(t, 20, sum)));
    return ih + 20;
}

static int guest_deliver(void *ctx, const struct glan_dgram *dg)
{
    struct guest *g = ctx;
    const uint8_t *p = dg->data;
    pthread_mutex_lock(&g->m);
    if (!is_mine(g, dg)) {
        g->not_mine++;
    } else if (dg->family == GLAN_AF_INET && p[9] == 1 && dg->len >= 28 && p[20] == 8) {
        g->req4++;
    } else if (dg->family == GLAN_AF_INET && p[9] == 1 && dg->len >= 28 && p[20] == 0) {
        g->rep4++;
    } else if (dg->family == GLAN_AF_INET6 && p[6] == 58 && dg->len >= 48 && p[40] == 128) {
        g->req6++;
    } else if (dg->family == GLAN_AF_INET6 && p[6] == 58 && dg->len >= 48 && p[40] == 129) {
        g->rep6++;
    } else if (dg->family == GLAN_AF_INET && p[9] == 17) {
        g->udp++;
    } else if (((dg->family == GLAN_AF_INET && p[9] == 6 && p[0] == 0x45) ||
                (dg->family == GLAN_AF_INET6 && p[6] == 6)) &&
               dg->len >= (dg->family == GLAN_AF_INET ? 40u : 60u)) {
        const uint8_t *tq = p + (dg->family == GLAN_AF_INET ? 20 : 40);
        uint8_t answer = 0;
        if ((tq[13] & 0x12) == 0x02) { /* SYN */
            g->syn++;
            answer = 0x12;
        } else if (tq[13] & 0x01) { /* FIN */
            g->fin++;
            answer = 0x14; /* RST+ACK */
        }
        if (answer && g->tail - g->head < MAXQ) {
            unsigned i = g->tail++ % MAXQ;
            g->qlen[i] = (uint32_t)tcp_answer(p, dg->len, answer, g->q[i]);
            g->qready[i] = 1;
            pthread_cond_signal(&g->cv);
        }
    } else {
        g->other++;
    }
    int is_req = is_mine(g, dg) && ((dg->family == GLAN_AF_INET && p[9] == 1 && p[20] == 8) ||
                                    (dg->family == GLAN_AF_INET6 && p[6] == 58 && p[40] == 128));
    if (is_req && dg->len <= 2048 && g->tail - g->head < MAXQ) {
        unsigned i = g->tail++ % MAXQ;
        memcpy(g->q[i], p, dg->len);
        g->qlen[i] = dg->len;
        g->qready[i] = 0;
        pthread_cond_signal(&g->cv);
    }
    pthread_mutex_unlock(&g->m);
    return 0;
}

static const struct glan_port_ops guest_ops = {.deliver = guest_deliver};

/* Turn a request into its reply in place. */
static void make_reply(uint8_t *p, size_t len)
{
    uint8_t tmp[16];
    if (p[0] >> 4 == 4) {
        memcpy(tmp, p + 12, 4);
        memcpy(p + 12, p + 16, 4);
        memcpy(p + 16, tmp, 4);
        p[8] = 64;
        p[20] = 0;
        ip4_fix(p);
        icmp4_fix(p, len);
    } else {
        memcpy(tmp, p + 8, 16);
        memcpy(p + 8, p + 24, 16);
        memcpy(p + 24, tmp, 16);
        p[7] = 64;
        p[40] = 129;
        icmp6_fix(p, len);
    }
}

static void *responder(void *arg)
{
    struct guest *g = arg;
    static _Thread_local uint8_t buf[2048];
    pthread_mutex_lock(&g->m);
    for (;;) {
        while (!g->stop && g->head == g->tail)
            pthread_cond_wait(&g->cv, &g->m);
        if (g->stop)
            break;
        unsigned i = g->head++ % MAXQ;
        size_t len = g->qlen[i];
        int ready = g->qready[i];
        memcpy(buf, g->q[i], len);
        pthread_mutex_unlock(&g->m);
        if (!ready)
            make_reply(buf, len);
        glan_port_send(g->port, buf, len, NULL);
        pthread_mutex_lock(&g->m);
    }
    pthread_mutex_unlock(&g->m);
    return NULL;
}

static int guest_start(struct glan_lan *lan, struct guest *g, const char *name, const char *a4,
                       const char *a6)
{
    g->name = name;
    pthread_mutex_init(&g->m, NULL);
    pthread_cond_init(&g->cv, NULL);
    struct glan_port_info info = {.name = name, .kind = GLAN_PORT_GUEST};
    if (glan_addr_parse(a4, &g->a4) || glan_addr_parse(a6, &g->a6) ||
        glan_port_attach(lan, &info, &guest_ops, g, &g->port) ||
        glan_addr_register(g->port, &g->a4) || glan_addr_register(g->port, &g->a6))
        return -1;
    return pthread_create(&g->responder, NULL, responder, g) ? -1 : 0;
}

static void guest_stop(struct guest *g)
{
    pthread_mutex_lock(&g->m);
    g->stop = 1;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->m);
    pthread_join(g->responder, NULL);
    glan_port_detach(g->port);
}

static uint64_t get(struct guest *g, const uint64_t *field)
{
    pthread_mutex_lock(&g->m);
    uint64_t v = *field;
    pthread_mutex_unlock(&g->m);
    return v;
}

/* Wait up to ms for *field of g to reach at least want. */
static int wait_count(struct guest *g, const uint64_t *field, uint64_t want, int ms)
{
    for (int waited = 0; get(g, field) < want && waited < ms; waited += 10)
        sleep_ms(10);
    return get(g, field) >= want;
}

static uint64_t lan_drops(struct glan_lan *lan, enum glan_drop why)
{
    struct glan_lan_stats st;
    glan_lan_stats(lan, &st);
    return st.dropped[why];
}

/* ---- no root at run time ------------------------------------------------------ */

/* In the calling process only: a mount namespace where /dev/net/tun is a
 * fresh node that anyone may open, on a tmpfs that goes with the namespace. */
static int open_tun_node(const char *dir)
{
    char node[64];
    snprintf(node, sizeof node, "%s/tun", dir);
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("tmpfs", dir, "tmpfs", 0, "mode=0755") < 0 ||
        mknod(node, S_IFCHR | 0666, makedev(10, 200)) < 0 || chmod(node, 0666) < 0 ||
        mount(node, "/dev/net/tun", NULL, MS_BIND, NULL) < 0)
        return -1;
    return 0;
}

/* A persistent device owned by "nobody": a child that has dropped root
 * attaches to it, is refused a device it would have to create, and is told
 * how to set an MTU it may not set. */
static void unprivileged(void)
{
    if (sh("ip tuntap add dev glt1 mode tun user 65534 group 65534") != 0 ||
        sh("ip link set dev glt1 mtu 1280 up") != 0) {
        CHECK(0, "persistent device for an unprivileged user created");
        return;
    }
    /* Distributions make /dev/net/tun 0666; where it is not, the child gets
     * a private one in a mount namespace of its own (nothing of the host's
     * changes). */
    struct stat sb;
    int private_node = stat("/dev/net/tun", &sb) == 0 && (sb.st_mode & 006) != 006;
    char dir[] = "/tmp/glan-tuntest-XXXXXX";
    if (private_node && !mkdtemp(dir)) {
        CHECK(0, "temporary directory for a private /dev/net/tun");
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (private_node && open_tun_node(dir) < 0) {
            printf("      cannot make a private /dev/net/tun: %s\n", strerror(errno));
            _exit(5);
        }
        if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
            _exit(3);
        int bad = 0;
        char err[256];
        struct glan_lan_config cfg = {.name = "NOBODY"};
        struct glan_lan *lan = glan_lan_create(&cfg, err, sizeof err);
        struct glan_tun_config tc = {.ifname = "glt1", .mtu = 1280, .up = 1};
        struct glan_uplink *u = glan_tun_create(&tc, err, sizeof err);
        if (!lan || !u)
            _exit(4);
        int rc = glan_tun_attach(lan, u);
        struct glan_tun_status s;
        glan_tun_status(u, &s);
        printf("      as uid 65534: attach glt1: %d %s\n", rc, s.message);
        bad |= rc != 0;
        bad |= s.created || !s.persistent || s.mtu != 1280;
        glan_tun_detach(u);
        glan_uplink_destroy(u);

        tc.ifname = "glt9"; /* does not exist: creating it needs CAP_NET_ADMIN */
        u = glan_tun_create(&tc, err, sizeof err);
        rc = glan_tun_attach(lan, u);
        printf("      as uid 65534: attach glt9: %d %s\n", rc, u->err);
        bad |= rc != -EPERM || !strstr(u->err, "CAP_NET_ADMIN");
        glan_uplink_destroy(u);

        tc.ifname = "glt1";
        tc.mtu = 1400; /* it has 1280 and we may not change it */
        u = glan_tun_create(&tc, err, sizeof err);
        rc = glan_tun_attach(lan, u);
        printf("      as uid 65534: attach glt1 mtu 1400: %d %s\n", rc, u->err);
        bad |= rc == 0 || !strstr(u->err, "mtu 1400");
        glan_uplink_destroy(u);
        glan_lan_destroy(lan);
        fflush(NULL);
        _exit(bad ? 1 : 0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    if (private_node)
        rmdir(dir);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "without root: uses a user's persistent device, explains what needs CAP_NET_ADMIN");
    sh("ip link del glt1");
}

/* ---- the test ------------------------------------------------------------------- */

/* A TCP connection from the namespace to addr:port: 0 when the handshake
 * completes within ms, else -1. */
static int tcp_connect(const char *addr, int port, int ms)
{
    struct glan_addr a;
    if (glan_addr_parse(addr, &a) < 0)
        return -1;
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    if (a.family == GLAN_AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        memcpy(&sin->sin_addr, a.bytes, 4);
        sl = sizeof *sin;
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        memcpy(&sin6->sin6_addr, a.bytes, 16);
        sl = sizeof *sin6;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int rc = connect(fd, (struct sockaddr *)&ss, sl);
    if (rc < 0 && errno == EINPROGRESS) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int err = ETIMEDOUT;
        socklen_t el = sizeof err;
        if (poll(&p, 1, ms) == 1)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
        rc = err ? -1 : 0;
    }
    close(fd); /* FIN: the guest answers RST */
    return rc;
}

static int ping(const char *addr, int count)
{
    return sh("ping -q -n -c %d -i 0.2 -W 2 %s >/dev/null", count, addr);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (geteuid() != 0) {
        printf("SKIP: needs root to create a network namespace and TUN devices\n");
        return SKIP;
    }
    if (unshare(CLONE_NEWNET) < 0) {
        printf("SKIP: cannot create a network namespace: %s\n", strerror(errno));
        return SKIP;
    }
    if (access("/dev/net/tun", R_OK | W_OK) != 0) {
        printf("SKIP: no /dev/net/tun\n");
        return SKIP;
    }
    if (sh("command -v ip >/dev/null && command -v ping >/dev/null") != 0) {
        printf("SKIP: needs ip(8) and ping(8)\n");
        return SKIP;
    }
    sh("ip link set lo up");

    unprivileged();

    char err[256];
    struct glan_lan_config cfg = {.name = "TUNTEST"};
    struct glan_lan *lan = glan_lan_create(&cfg, err, sizeof err);
    if (!lan) {
        printf("FAIL: LAN: %s\n", err);
        return 1;
    }
    static struct guest ga, gb;
    if (guest_start(lan, &ga, "0600", "10.77.0.10", "fd00:77::10") ||
        guest_start(lan, &gb, "0700", "10.77.0.11", "fd00:77::11")) {
        printf("FAIL: guest ports\n");
        return 1;
    }

    /* No name: the kernel picks one, and the device goes with the uplink. */
    {
        struct glan_lan_config c2 = {.name = "TUNANY"};
        struct glan_lan *lan2 = glan_lan_create(&c2, err, sizeof err);
        struct glan_tun_config any = {.ifname = NULL, .up = 1};
        struct glan_uplink *u2 = glan_tun_create(&any, err, sizeof err);
        struct glan_tun_status s2 = {0};
        int rc2 = lan2 && u2 ? glan_tun_attach(lan2, u2) : -1;
        if (u2)
            glan_tun_status(u2, &s2);
        char name[16];
        snprintf(name, sizeof name, "%s", s2.ifname);
        CHECK(rc2 == 0 && !strncmp(name, "tun", 3) && s2.created && if_nametoindex(name) != 0,
              "no name given: the uplink made %s", name);
        if (u2) {
            glan_tun_detach(u2); /* the thread stops before the port goes */
            glan_uplink_destroy(u2);
        }
        CHECK(name[0] && if_nametoindex(name) == 0, "%s is gone with the uplink", name);
        if (lan2)
            glan_lan_destroy(lan2);
    }

    /* The uplink creates the device itself here (we are root). */
    struct glan_tun_config tc = {.ifname = DEV, .mtu = 1400, .up = 1};
    struct glan_uplink *u = glan_tun_create(&tc, err, sizeof err);
    int rc = u ? glan_tun_attach(lan, u) : -1;
    struct glan_tun_status ts;
    if (u)
        glan_tun_status(u, &ts);
    CHECK(rc == 0, "TUN uplink attached (%s)", u ? ts.message : err);
    if (rc != 0)
        return 1;
    CHECK(ts.created && !ts.persistent && ts.rx_thread && ts.mtu == 1400,
          "device %s created, MTU %u, receive thread running", ts.ifname, ts.mtu);
    CHECK(sh("ip -o link show dev %s | grep -q ' mtu 1400 '", DEV) == 0, "kernel shows MTU 1400");
    sh("ip addr add 10.77.0.1/24 dev %s", DEV);
    sh("ip -6 addr add fd00:77::1/64 dev %s nodad", DEV);
    sh("ip addr show dev %s", DEV);

    /* From the namespace to the guests. */
    CHECK(ping("10.77.0.10", 3) == 0, "namespace pings guest 0600 over IPv4");
    CHECK(ping("10.77.0.11", 3) == 0, "namespace pings guest 0700 over IPv4");
    CHECK(ping("fd00:77::10", 3) == 0, "namespace pings guest 0600 over IPv6");
    CHECK(ping("fd00:77::11", 3) == 0, "namespace pings guest 0700 over IPv6");
    CHECK(get(&ga, &ga.req4) == 3 && get(&ga, &ga.req6) == 3 && get(&gb, &gb.req4) == 3 &&
              get(&gb, &gb.req6) == 3,
          "each guest saw exactly its own 3+3 echo requests");

    /* TCP from the namespace: the handshake completes through the uplink. */
    CHECK(tcp_connect("10.77.0.10", 7, 3000) == 0 && get(&ga, &ga.syn) == 1,
          "TCP connection from the namespace to 10.77.0.10:7");
    CHECK(tcp_connect("fd00:77::11", 7, 3000) == 0 && get(&gb, &gb.syn) == 1,
          "TCP connection from the namespace to [fd00:77::11]:7");
    CHECK(wait_count(&ga, &ga.fin, 1, 3000) && wait_count(&gb, &gb.fin, 1, 3000),
          "the guests saw the namespace close both connections");

    /* From the namespace to addresses no guest holds. */
    uint64_t unknown0 = lan_drops(lan, GLAN_DROP_UNKNOWN_DEST);
    CHECK(ping("10.77.0.99", 2) != 0, "no answer from unregistered 10.77.0.99");
    CHECK(ping("fd00:77::99", 2) != 0, "no answer from unregistered fd00:77::99");
    uint64_t unknown = lan_drops(lan, GLAN_DROP_UNKNOWN_DEST) - unknown0;
    CHECK(unknown >= 4, "unregistered destinations dropped as unknown_dest (%llu)",
          (unsigned long long)unknown);
    CHECK(get(&ga, &ga.not_mine) == 0 && get(&gb, &gb.not_mine) == 0,
          "no guest received a datagram for another address");

    /* From a guest to the namespace. */
    struct glan_addr ns4, ns6;
    glan_addr_parse("10.77.0.1", &ns4);
    glan_addr_parse("fd00:77::1", &ns6);
    uint8_t pkt[2048];
    size_t len = echo_request(pkt, &gb.a4, &ns4, 0x4242);
    CHECK(glan_port_send(gb.port, pkt, len, NULL) == GLAN_DROP_NONE, "guest 0700 pings 10.77.0.1");
    CHECK(wait_count(&gb, &gb.rep4, 1, 3000), "guest 0700 got the namespace's IPv4 echo reply");
    len = echo_request(pkt, &gb.a6, &ns6, 0x4243);
    CHECK(glan_port_send(gb.port, pkt, len, NULL) == GLAN_DROP_NONE, "guest 0700 pings fd00:77::1");
    CHECK(wait_count(&gb, &gb.rep6, 1, 3000), "guest 0700 got the namespace's IPv6 echo reply");
    CHECK(u->stats.tx_packets >= 14 && u->stats.rx_packets >= 14, "uplink counted tx %llu rx %llu",
          (unsigned long long)u->stats.tx_packets, (unsigned long long)u->stats.rx_packets);

    /* The kernel has no room: the base keeps the datagram, the uplink waits
     * for POLLOUT, kicks, and it goes out; nothing is lost. */
    struct glan_lan_stats before;
    glan_lan_stats(lan, &before);
    atomic_store(&eagain_left, 3);
    atomic_store(&eagain_fd, u->ops->rx_fd(u));
    uint64_t reps = get(&gb, &gb.rep4);
    len = echo_request(pkt, &gb.a4, &ns4, 0x4245);
    CHECK(glan_port_send(gb.port, pkt, len, NULL) == GLAN_DROP_NONE,
          "guest pings the namespace while writes to the device fail with EAGAIN");
    CHECK(wait_count(&gb, &gb.rep4, reps + 1, 3000), "the datagram went out after the retries");
    atomic_store(&eagain_fd, -1);
    glan_tun_status(u, &ts);
    struct glan_lan_stats after;
    glan_lan_stats(lan, &after);
    uint64_t drops_before = 0, drops_after = 0;
    for (int i = 0; i < GLAN_DROP_COUNT; i++) {
        drops_before += before.dropped[i];
        drops_after += after.dropped[i];
    }
    CHECK(ts.tx_blocked == 3 && drops_after == drops_before && after.queued == 0,
          "3 refusals counted (%llu), nothing dropped, nothing left queued",
          (unsigned long long)ts.tx_blocked);

    /* The device is set down: datagrams for the network are refused as
     * port_down, guests go on; up again, the namespace answers again. */
    CHECK(sh("ip link set dev %s down", DEV) == 0, "device set down");
    uint64_t down_before = lan_drops(lan, GLAN_DROP_PORT_DOWN);
    len = echo_request(pkt, &gb.a4, &ns4, 0x4244);
    glan_port_send(gb.port, pkt, len, NULL);
    glan_tun_status(u, &ts);
    CHECK(lan_drops(lan, GLAN_DROP_PORT_DOWN) == down_before + 1 && ts.tx_down == 1 && !ts.gone,
          "with the device down a datagram for the network is dropped as port_down");
    CHECK(sh("ip link set dev %s up", DEV) == 0, "device set up");
    uint64_t rep0 = get(&gb, &gb.rep4);
    glan_port_send(gb.port, pkt, len, NULL);
    CHECK(wait_count(&gb, &gb.rep4, rep0 + 1, 3000), "up again: the namespace answers the guest");

    /* The device is deleted under the uplink. */
    CHECK(sh("ip link del %s", DEV) == 0, "device deleted");
    for (int i = 0; i < 300 && (glan_tun_status(u, &ts), !ts.gone); i++)
        sleep_ms(10);
    CHECK(ts.gone && ts.gone_events == 1 && strstr(ts.message, "deleted"),
          "uplink noticed: gone, counted once, says: %s", ts.message);
    uint64_t udp0 = get(&gb, &gb.udp);
    len = udp4(pkt, &ga.a4, &gb.a4);
    CHECK(glan_port_send(ga.port, pkt, len, NULL) == GLAN_DROP_NONE &&
              wait_count(&gb, &gb.udp, udp0 + 1, 1000),
          "guest-to-guest still works with the device gone");
    uint64_t down0 = lan_drops(lan, GLAN_DROP_PORT_DOWN);
    len = udp4(pkt, &ga.a4, &ns4);
    glan_port_send(ga.port, pkt, len, NULL);
    CHECK(lan_drops(lan, GLAN_DROP_PORT_DOWN) == down0 + 1,
          "a datagram for the network is dropped as port_down");

    /* It comes back, as a persistent device made by an administrator. */
    sh("ip tuntap add dev %s mode tun", DEV);
    sh("ip addr add 10.77.0.1/24 dev %s", DEV);
    sh("ip -6 addr add fd00:77::1/64 dev %s nodad", DEV);
    for (int i = 0; i < 300 && (glan_tun_status(u, &ts), ts.gone); i++)
        sleep_ms(10);
    CHECK(!ts.gone && ts.recoveries == 1 && ts.persistent,
          "uplink reattached by itself: %s (MTU %u)", ts.message, ts.mtu);
    CHECK(ping("10.77.0.10", 2) == 0, "namespace pings guest 0600 again over IPv4");
    CHECK(ping("fd00:77::11", 2) == 0, "namespace pings guest 0700 again over IPv6");

    /* The port and LAN counters add up. */
    glan_tun_detach(u);
    struct glan_lan_stats st;
    glan_lan_stats(lan, &st);
    uint64_t dropped = 0;
    for (int i = 0; i < GLAN_DROP_COUNT; i++)
        dropped += st.dropped[i];
    CHECK(st.sent_packets + st.fanout == st.delivered + dropped + st.queued,
          "LAN counters balance: sent %llu + fanout %llu = delivered %llu + dropped %llu + "
          "queued %llu",
          (unsigned long long)st.sent_packets, (unsigned long long)st.fanout,
          (unsigned long long)st.delivered, (unsigned long long)dropped,
          (unsigned long long)st.queued);
    glan_uplink_destroy(u);
    sh("ip link del %s 2>/dev/null", DEV); /* the persistent one */
    guest_stop(&ga);
    guest_stop(&gb);
    glan_lan_destroy(lan);
    printf("%s\n", failures ? "FAILED" : "PASSED");
    return failures ? 1 : 0;
}
