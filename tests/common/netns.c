/*
 * The network-namespace test scaffolding (see netns.h): commands and checks,
 * the test's namespace and its peer, the child without root, and the guest
 * ports that answer the datagrams sent to them (built with dgram.c).  Linked into glan-l2-netns
 * and glan-tun-netns as the static library glan-netns-common.
 */
#define _GNU_SOURCE
#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- checks and commands ----------------------------------------------------------- */

static int failures;

void ns_check(int ok, const char *fmt, ...)
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

int ns_failures(void)
{
    return failures;
}

int ns_finish(const char *note)
{
    if (failures)
        printf("FAILED\n");
    else if (note)
        printf("PASSED (%s)\n", note);
    else
        printf("PASSED\n");
    return failures ? 1 : 0;
}

int ns_sh(const char *fmt, ...)
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

void ns_capture(char *buf, size_t len, const char *fmt, ...)
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

void ns_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- namespaces --------------------------------------------------------------------- */

int ns_enter(const char *tools)
{
    if (geteuid() != 0) {
        printf("SKIP: needs root to create network namespaces and devices\n");
        return NS_SKIP;
    }
    char cmd[256] = "true";
    for (const char *t = tools; *t;) {
        size_t n = strcspn(t, " ");
        if (n) {
            size_t used = strlen(cmd);
            snprintf(cmd + used, sizeof cmd - used, " && command -v %.*s >/dev/null", (int)n, t);
        }
        t += n + (t[n] == ' ');
    }
    if (system(cmd) != 0) {
        printf("SKIP: needs %s\n", tools);
        return NS_SKIP;
    }
    if (unshare(CLONE_NEWNET) < 0) {
        printf("SKIP: cannot create a network namespace: %s\n", strerror(errno));
        return NS_SKIP;
    }
    ns_sh("ip link set lo up");
    return 0;
}

static pid_t peer = -1;
static char in_peer[64];

int ns_peer_start(void)
{
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    fflush(NULL);
    peer = fork();
    if (peer < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
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

void ns_peer_stop(void)
{
    if (peer > 0) {
        kill(peer, SIGKILL);
        waitpid(peer, NULL, 0);
    }
    peer = -1;
    in_peer[0] = 0;
}

pid_t ns_peer(void)
{
    return peer;
}

const char *ns_in_peer(void)
{
    return in_peer;
}

int ns_ping(const char *addr, int count)
{
    return ns_sh("%sping -q -n -c %d -i 0.2 -W 2 %s >/dev/null", in_peer, count, addr);
}

int ns_enter_peer(int *back)
{
    *back = -1;
    if (peer <= 0)
        return 0;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/net", (int)peer);
    int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    int other = open(path, O_RDONLY | O_CLOEXEC);
    int ok = self >= 0 && other >= 0 && setns(other, CLONE_NEWNET) == 0, err = errno;
    if (other >= 0)
        close(other);
    if (!ok) {
        ns_leave_peer(self);
        errno = err;
        return -1;
    }
    *back = self;
    return 0;
}

void ns_leave_peer(int back)
{
    if (back < 0)
        return;
    if (setns(back, CLONE_NEWNET) < 0)
        printf("FAIL  cannot return to our own namespace\n");
    close(back);
}

int ns_veth_pair(const char *ours, const char *theirs)
{
    return ns_sh("ip link add %s type veth peer name %s", ours, theirs) ||
           ns_sh("ip link set %s up", ours) ||
           ns_sh("ip link set %s netns %d", theirs, (int)peer) ||
           ns_sh("%sip link set lo up", in_peer) || ns_sh("%sip link set %s up", in_peer, theirs);
}

uint64_t ns_link_stat(const char *dev, const char *dir, const char *field)
{
    char out[2048], key[32];
    ns_capture(out, sizeof out, "ip -j -s link show dev %s", dev);
    snprintf(key, sizeof key, "\"%s\":{", dir);
    const char *d = strstr(out, key);
    snprintf(key, sizeof key, "\"%s\":", field);
    const char *v = d ? strstr(d, key) : NULL;
    return v ? strtoull(v + strlen(key), NULL, 10) : UINT64_MAX;
}

/* In the calling process only: a mount namespace of its own in which
 * /dev/net/tun is covered by a 0666 node of the same device, made on a
 * tmpfs (a /tmp mounted nodev would refuse to open it); the bind mount keeps
 * the node when the tmpfs is detached and its directory removed. */
static int private_tun_node(void)
{
    char dir[] = "/tmp/glan-netns-XXXXXX", node[64];
    if (!mkdtemp(dir))
        return -1;
    snprintf(node, sizeof node, "%s/tun", dir);
    int rc = -1;
    if (unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
        mount("tmpfs", dir, "tmpfs", 0, "mode=0755") == 0) {
        if (mknod(node, S_IFCHR | 0666, makedev(10, 200)) == 0 && chmod(node, 0666) == 0)
            rc = mount(node, "/dev/net/tun", NULL, MS_BIND, NULL);
        umount2(dir, MNT_DETACH);
    }
    rmdir(dir);
    if (rc == 0)
        printf("      /dev/net/tun is mode 0600 here: using a 0666 node in a private mount "
               "namespace\n");
    return rc;
}

int ns_as_nobody(int (*fn)(void *), void *arg)
{
    struct stat sb;
    int open_to_all = stat("/dev/net/tun", &sb) == 0 && (sb.st_mode & 0006) == 0006;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (!open_to_all && private_tun_node() < 0) {
            printf("      cannot make a private /dev/net/tun: %s\n", strerror(errno));
            fflush(NULL);
            _exit(5);
        }
        if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
            _exit(3);
        int rc = fn(arg);
        fflush(NULL);
        _exit(rc);
    }
    int st = 0;
    if (waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

int ns_nobody_device(const char *dev, const char *mode, const char *link)
{
    return ns_sh("ip tuntap add dev %s mode %s user 65534 group 65534", dev, mode) ||
           ns_sh("ip link set dev %s %s", dev, link);
}

uint64_t ns_lan_drops(struct glan_lan *lan, enum glan_drop why)
{
    struct glan_lan_stats st;
    glan_lan_stats(lan, &st);
    return st.dropped[why];
}

/* ---- guest ports ------------------------------------------------------------------------ */

/* Just enough TCP to accept a connection: the answer to segment p with the
 * given flags, into out; its length. */
static size_t tcp_answer(const uint8_t *p, size_t len, uint8_t flags, uint8_t *out)
{
    struct glan_addr from, to;
    dg_addrs(p, &to, &from); /* back where it came from */
    size_t ih = dg_ip(out, dg_ip_hlen(p) + 20, DG_TCP, &from, &to, DG_IP_CSUM);
    const uint8_t *tq = p + ih;
    size_t thl = (size_t)(tq[12] >> 4) * 4;
    uint32_t seg = (uint32_t)(len - ih - thl) + !!(tq[13] & 0x02) + !!(tq[13] & 0x01);
    uint8_t *t = out + ih;
    memset(t, 0, 20);
    memcpy(t, tq + 2, 2); /* ports swapped */
    memcpy(t + 2, tq, 2);
    put32(t + 4, (flags & 0x02) ? 1000 : be32(tq + 8));
    put32(t + 8, be32(tq + 4) + seg);
    t[12] = 5 << 4;
    t[13] = flags;
    put16(t + 14, 65535);
    dg_l4_csum(out, ih + 20);
    return ih + 20;
}

static int is_mine(const struct ns_guest *g, const struct glan_dgram *dg)
{
    if (dg->family == GLAN_AF_INET)
        return dg->len >= 20 && !memcmp(dg->data + 16, g->a4.bytes, 4);
    return dg->len >= 40 && !memcmp(dg->data + 24, g->a6.bytes, 16);
}

/* Queue len bytes for the responder (ready: to send as they are); called
 * with g->m held. */
static void enqueue(struct ns_guest *g, const uint8_t *p, size_t len, int ready)
{
    if (len > sizeof g->q[0] || g->tail - g->head >= NS_GUEST_QUEUE)
        return;
    unsigned i = g->tail++ % NS_GUEST_QUEUE;
    memcpy(g->q[i], p, len);
    g->qlen[i] = (uint32_t)len;
    g->qready[i] = (uint8_t)ready;
    pthread_cond_signal(&g->cv);
}

static int guest_deliver(void *ctx, const struct glan_dgram *dg)
{
    struct ns_guest *g = ctx;
    const uint8_t *p = dg->data;
    int v4 = dg->family == GLAN_AF_INET;
    size_t hl = v4 ? IPV4_HDR_MIN : IPV6_HDR_LEN;
    uint8_t proto = dg->len >= hl ? p[v4 ? 9 : 6] : 0, icmp = v4 ? DG_ICMP : DG_ICMPV6;
    uint8_t type = dg->len >= hl + 8 ? p[hl] : 0xff;
    pthread_mutex_lock(&g->m);
    if (!is_mine(g, dg))
        g->not_mine++;
    if (proto == icmp && type == (v4 ? 8 : 128)) {
        v4 ? g->req4++ : g->req6++;
        enqueue(g, p, dg->len, 0);
    } else if (proto == icmp && type == (v4 ? 0 : 129)) {
        v4 ? g->rep4++ : g->rep6++;
    } else if (proto == DG_UDP) {
        g->udp++;
    } else if (proto == DG_TCP && (!v4 || p[0] == 0x45) && dg->len >= hl + 20) {
        const uint8_t *tq = p + hl;
        uint8_t answer = 0, out[128];
        if ((tq[13] & 0x12) == 0x02) { /* SYN */
            g->syn++;
            answer = 0x12;
        } else if (tq[13] & 0x01) { /* FIN */
            g->fin++;
            answer = 0x14; /* RST+ACK */
        }
        if (answer)
            enqueue(g, out, tcp_answer(p, dg->len, answer, out), 1);
    } else {
        g->other++;
    }
    pthread_mutex_unlock(&g->m);
    return 0;
}

static const struct glan_port_ops guest_ops = {.deliver = guest_deliver};

static void *responder(void *arg)
{
    struct ns_guest *g = arg;
    uint8_t buf[sizeof g->q[0]];
    pthread_mutex_lock(&g->m);
    for (;;) {
        while (!g->stop && g->head == g->tail)
            pthread_cond_wait(&g->cv, &g->m);
        if (g->stop)
            break;
        unsigned i = g->head++ % NS_GUEST_QUEUE;
        size_t len = g->qlen[i];
        int ready = g->qready[i];
        memcpy(buf, g->q[i], len);
        pthread_mutex_unlock(&g->m);
        if (!ready)
            dg_echo_reply(buf, len);
        glan_port_send(g->port, buf, len, NULL);
        pthread_mutex_lock(&g->m);
    }
    pthread_mutex_unlock(&g->m);
    return NULL;
}

int ns_guest_start(struct ns_guest *g, struct glan_lan *lan, const char *name, const char *a4,
                   const char *a6)
{
    memset(g, 0, sizeof *g);
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

void ns_guest_stop(struct ns_guest *g)
{
    pthread_mutex_lock(&g->m);
    g->stop = 1;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->m);
    pthread_join(g->responder, NULL);
    glan_port_detach(g->port);
}

unsigned ns_count(struct ns_guest *g, const unsigned *field)
{
    pthread_mutex_lock(&g->m);
    unsigned v = *field;
    pthread_mutex_unlock(&g->m);
    return v;
}

int ns_wait(struct ns_guest *g, const unsigned *field, unsigned want, int ms)
{
    for (int waited = 0; ns_count(g, field) < want && waited < ms; waited += 10)
        ns_sleep_ms(10);
    return ns_count(g, field) >= want;
}
