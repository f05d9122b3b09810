/*
 * `glan bench`, the kernel path Hercules users have today ("tun-kernel"): in
 * a child process that calls unshare(CLONE_NEWNET), two TUN devices,
 * gbench0 10.201.0.1/24 and gbench1 10.202.0.1/24, MTU 9000, IPv4
 * forwarding on and a route 10.203.0.0/24 dev gbench1.  One thread writes
 * datagrams from 10.201.0.2 to 10.203.0.5 into gbench0 in bursts and reads
 * them back from gbench1.  The namespace, the devices and the route vanish
 * with the child however it ends; the parent kills it if it overruns its
 * time bound.  Needs root; skipped with a message otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "dgram.h"
#include "tooltime.h"

/* Writes into TUN A between two drains of TUN B: well under the device's
 * queue (tx_queue_len 500), so the kernel never drops for want of room. */
#define TUN_BURST 32

/* All of this runs in the child, inside its own network namespace. */

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, text, strlen(text));
    int rc = n < 0 ? -errno : 0;
    close(fd);
    return rc;
}

static int tun_open(const char *name, char *err, size_t errlen)
{
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "/dev/net/tun: %s", strerror(errno));
        return -1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        snprintf(err, errlen, "TUNSETIFF %s: %s", name, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static void set_sin(struct sockaddr *sa, uint32_t addr)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(addr);
    memcpy(sa, &sin, sizeof sin);
}

/* Address addr/24, MTU 9000, up: what `ip addr add`, `ip link set mtu` and
 * `ip link set up` would do, without depending on ip(8). */
static int if_config(int sock, const char *name, uint32_t addr, char *err, size_t errlen)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    const char *what = "SIOCSIFADDR";
    set_sin(&ifr.ifr_addr, addr);
    if (ioctl(sock, SIOCSIFADDR, &ifr) < 0)
        goto fail;
    what = "SIOCSIFNETMASK";
    set_sin(&ifr.ifr_netmask, 0xffffff00u);
    if (ioctl(sock, SIOCSIFNETMASK, &ifr) < 0)
        goto fail;
    what = "SIOCSIFMTU";
    ifr.ifr_mtu = 9000;
    if (ioctl(sock, SIOCSIFMTU, &ifr) < 0)
        goto fail;
    what = "SIOCGIFFLAGS";
    if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
        goto fail;
    what = "SIOCSIFFLAGS";
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
        goto fail;
    return 0;
fail:
    snprintf(err, errlen, "%s %s: %s", what, name, strerror(errno));
    return -1;
}

/* The route 10.203.0.0/24 dev name. */
static int route_add(int sock, const char *name, char *err, size_t errlen)
{
    struct rtentry rt;
    char dev[IFNAMSIZ];
    memset(&rt, 0, sizeof rt);
    snprintf(dev, sizeof dev, "%s", name);
    set_sin(&rt.rt_dst, IP4(10, 203, 0, 0));
    set_sin(&rt.rt_genmask, 0xffffff00u);
    set_sin(&rt.rt_gateway, 0);
    rt.rt_flags = RTF_UP;
    rt.rt_dev = dev;
    if (ioctl(sock, SIOCADDRT, &rt) < 0) {
        snprintf(err, errlen, "SIOCADDRT 10.203.0.0/24 dev %s: %s", name, strerror(errno));
        return -1;
    }
    return 0;
}

/* Is this what we sent (and not, say, an IPv6 router solicitation)? */
static int is_ours(const uint8_t *p, ssize_t n)
{
    return n >= 20 && p[0] == 0x45 && p[9] == 17 && p[16] == 10 && p[17] == 203;
}

/* Read whatever TUN B holds now; returns how many of ours it read. */
static uint64_t tun_drain(int fd, uint8_t *buf)
{
    uint64_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf, MAX_DGRAM);
        if (n < 0)
            break;
        if (is_ours(buf, n))
            got++;
    }
    return got;
}

/* Wait (bounded) for the datagrams still in flight to come out of TUN B. */
static uint64_t tun_settle(int fd, uint8_t *buf, uint64_t missing)
{
    uint64_t got = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (got < missing && poll(&p, 1, 50) > 0)
        got += tun_drain(fd, buf);
    return got;
}

/* Write into TUN A, read from TUN B, in bursts, one thread: the kernel does
 * the forwarding in the writer's context, as it would for Hercules' device
 * threads writing to their TUN devices. */
static void tun_measure(int fa, int fb, uint32_t size, const struct opts *o, FILE *out)
{
    static uint8_t pkt[MAX_DGRAM], buf[MAX_DGRAM];
    dgram_udp4(pkt, size, IP4(10, 201, 0, 2), IP4(10, 203, 0, 5));
    uint64_t sent = 0, got = 0, errors = 0;
    for (int i = 0; i < WARMUP; i++) {
        if (write(fa, pkt, size) == (ssize_t)size)
            sent++;
        if (i % TUN_BURST == TUN_BURST - 1)
            got += tun_drain(fb, buf);
    }
    got += tun_drain(fb, buf);
    got += tun_settle(fb, buf, sent - got);
    if (got == 0) {
        fprintf(out, "E %u nothing came out of TUN B during the warm-up\n", size);
        return;
    }
    sent = got = 0;
    double t0 = now_s(), deadline = t0 + o->seconds, t = t0, c0 = cpu_s();
    while (sent < o->count) {
        uint64_t burst = o->count - sent < TUN_BURST ? o->count - sent : TUN_BURST;
        for (uint64_t i = 0; i < burst; i++) {
            if (write(fa, pkt, size) == (ssize_t)size)
                sent++;
            else
                errors++;
        }
        got += tun_drain(fb, buf);
        t = now_s();
        if (t >= deadline || errors > 1000)
            break;
    }
    got += tun_settle(fb, buf, sent - got);
    t = now_s();
    fprintf(out, "R %u %llu %llu %.9f %llu %.9f\n", size, (unsigned long long)sent,
            (unsigned long long)got, t - t0, (unsigned long long)errors, cpu_s() - c0);
}

/* The child: make a network namespace, two TUN devices and a route, measure,
 * report on out as lines ("R size sent received secs errors cpu-secs", "S reason" when
 * skipped, "E message" on error).  Everything it made goes when it exits. */
static int tun_child(FILE *out, const struct opts *o)
{
    char err[256];
    if (unshare(CLONE_NEWNET) < 0) {
        fprintf(out, "S cannot create a network namespace: %s\n", strerror(errno));
        return 0;
    }
    /* Forwarding on; reverse-path filtering off (the source 10.201.0.2 is on
     * TUN A's subnet anyway); no IPv6 chatter (router solicitations) on the
     * devices. */
    if (write_file("/proc/sys/net/ipv4/ip_forward", "1\n") < 0) {
        fprintf(out, "E cannot enable forwarding in the namespace\n");
        return 1;
    }
    write_file("/proc/sys/net/ipv4/conf/all/rp_filter", "0\n");
    write_file("/proc/sys/net/ipv4/conf/default/rp_filter", "0\n");
    write_file("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1\n");
    write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1\n");
    int fa = tun_open("gbench0", err, sizeof err);
    if (fa < 0) {
        fprintf(out, "S %s\n", err);
        return 0;
    }
    int fb = tun_open("gbench1", err, sizeof err);
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fb < 0 || sock < 0 || if_config(sock, "gbench0", IP4(10, 201, 0, 1), err, sizeof err) ||
        if_config(sock, "gbench1", IP4(10, 202, 0, 1), err, sizeof err) ||
        route_add(sock, "gbench1", err, sizeof err)) {
        fprintf(out, "E %s\n", fb < 0 || sock >= 0 ? err : "socket failed");
        return 1;
    }
    write_file("/proc/sys/net/ipv4/conf/gbench0/rp_filter", "0\n");
    for (size_t i = 0; i < o->nsizes; i++) {
        tun_measure(fa, fb, o->sizes[i], o, out);
        fflush(out);
    }
    /* The kernel removes both devices and the namespace when we exit. */
    return 0;
}

static int parse_line(const char *line, struct results *rs)
{
    unsigned size;
    unsigned long long sent, got, errors;
    double secs, cpu;
    if (sscanf(line, "R %u %llu %llu %lf %llu %lf", &size, &sent, &got, &secs, &errors, &cpu) ==
        6) {
        if (got < sent)
            fprintf(stderr, "glan bench: tun-kernel at %u bytes: %llu of %llu datagrams lost\n",
                    size, sent - got, sent);
        if (errors)
            fprintf(stderr, "glan bench: tun-kernel at %u bytes: %llu writes failed\n", size,
                    errors);
        bench_add_result(rs, "tun-kernel", size, sent, got, secs, cpu);
        return 0;
    }
    if (line[0] == 'S') {
        fprintf(stderr, "glan bench: tun-kernel path skipped: %s", line + 2);
        return 0;
    }
    fprintf(stderr, "glan bench: tun-kernel path: %s", line[0] == 'E' ? line + 2 : line);
    return -1;
}

/* Read what the child writes on fd into text (cap bytes, NUL-terminated)
 * until it closes its end or deadline passes; returns -1 when the deadline
 * passed. */
static int read_child(int fd, char *text, size_t cap, double deadline)
{
    size_t len = 0;
    int rc = 0;

    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        double left = deadline - now_s();
        if (left <= 0) {
            rc = -1;
            break;
        }
        int r = poll(&p, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            continue;
        ssize_t n = read(fd, text + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == cap - 1)
            break;
    }
    text[len] = 0;
    return rc;
}

/* Every complete line of text into rs; -1 when one reported an error. */
static int parse_lines(char *text, struct results *rs)
{
    int rc = 0;

    for (char *line = text, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (!nl)
            break;
        char save = nl[1];
        nl[1] = 0;
        if (parse_line(line, rs) < 0)
            rc = -1;
        nl[1] = save;
    }
    return rc;
}

/* Run the TUN path in a child and collect its lines; kill it if it outlives
 * its bound (it should never: each measurement ends by itself). */
int bench_tun(const struct opts *o, struct results *rs)
{
    if (geteuid() != 0) {
        fprintf(stderr, "glan bench: tun-kernel path skipped: needs root (network namespace "
                        "and TUN devices)\n");
        return 0;
    }
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        fprintf(stderr, "glan bench: pipe: %s\n", strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "glan bench: fork: %s\n", strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (pid == 0) {
        /* If we are killed, the child goes too (and with it the namespace);
         * it is bounded anyway, this just spares the wait. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(pfd[0]);
        FILE *out = fdopen(pfd[1], "w");
        _exit(out ? tun_child(out, o) : 1);
    }
    close(pfd[1]);
    char text[4096];
    double deadline = now_s() + (double)o->nsizes * (o->seconds + 2) + 10;
    int timed_out = read_child(pfd[0], text, sizeof text, deadline) < 0;
    close(pfd[0]);
    if (timed_out)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    int rc = parse_lines(text, rs);
    if (timed_out) {
        fprintf(stderr, "glan bench: tun-kernel path did not finish in time\n");
        rc = -1;
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "glan bench: tun-kernel child failed\n");
        rc = -1;
    }
    return rc;
}
