/*
 * The TUN uplink against the Linux IP stack, inside a network namespace this
 * test makes for itself (unshare: it vanishes with the process, whatever
 * happens).  A LAN with two guest ports (tests/common/netns.c), each
 * answering ICMP and ICMPv6 echo requests and TCP connections and recording
 * what it gets, has a TUN uplink; from the namespace we ping the guests,
 * IPv4 and IPv6, ping addresses no guest registered (dropped, counted as
 * unknown_dest), and the guests ping the namespace.  Then the device is
 * deleted under the uplink (guest-to-guest traffic must go on, traffic for
 * the network is counted as port_down) and recreated (the uplink must
 * reattach by itself).  A child that gives up root shows a persistent device
 * owned by a user needs no privileges at run time.  Path MTU: the uplink
 * has the device's MTU (1400) and follows a change; a guest's datagram
 * larger than it gets the ICMP answer (IPv4 with DF, IPv6) or is
 * fragmented (IPv4 without DF, reassembled and answered by the kernel);
 * the host's datagram larger than a guest's MTU gets the ICMP answer,
 * which the host's route cache shows.
 *
 * Exit 0 passed, 1 failed, 77 skipped (not root, no namespaces, no ip/ping).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guestlan/base.h"
#include "guestlan/tun.h"
#include "netns.h"

#define DEV "glt0"

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

/* A UDP datagram with 16 bytes of payload from src to dst (IPv4; no UDP
 * checksum, which IPv4 allows). */
static size_t udp4(uint8_t *p, const struct glan_addr *src, const struct glan_addr *dst)
{
    return dg_udp(p, IPV4_HDR_MIN + DG_UDP_HDR + 16, src, 5000, dst, 5001, DG_IP_CSUM);
}

/* ---- no root at run time ------------------------------------------------------ */

/* As uid 65534: attach to the persistent device glt1 it owns, be refused a
 * device it would have to create, and be told how to set an MTU it may not
 * set.  0 when all went as it should. */
static int tun_as_nobody(void *arg)
{
    (void)arg;
    int bad = 0;
    char err[256];
    struct glan_lan_config cfg = {.name = "NOBODY"};
    struct glan_lan *lan = glan_lan_create(&cfg, err, sizeof err);
    struct glan_tun_config tc = {.ifname = "glt1", .mtu = 1280, .up = 1};
    struct glan_uplink *u = glan_tun_create(&tc, err, sizeof err);
    if (!lan || !u)
        return 4;
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
    return bad ? 1 : 0;
}

/* A persistent device owned by "nobody", for tun_as_nobody. */
static void unprivileged(void)
{
    if (ns_nobody_device("glt1", "tun", "mtu 1280 up") != 0) {
        ns_check(0, "persistent device for an unprivileged user created");
        return;
    }
    ns_check(ns_as_nobody(tun_as_nobody, NULL) == 0,
             "without root: uses a user's persistent device, explains what needs CAP_NET_ADMIN");
    ns_sh("ip link del glt1");
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

/* What the phases below share: the LAN, its two guests and its uplink, and
 * the namespace's addresses. */
struct tun_test {
    struct glan_lan *lan;
    struct ns_guest *ga, *gb;
    struct glan_uplink *u;
    struct glan_addr ns4, ns6;
};

/* No name: the kernel picks one, and the device goes with the uplink. */
static void kernel_chooses_the_name(void)
{
    char err[256];
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
    ns_check(rc2 == 0 && !strncmp(name, "tun", 3) && s2.created && if_nametoindex(name) != 0,
             "no name given: the uplink made %s", name);
    if (u2) {
        glan_tun_detach(u2); /* the thread stops before the port goes */
        glan_uplink_destroy(u2);
    }
    ns_check(name[0] && if_nametoindex(name) == 0, "%s is gone with the uplink", name);
    if (lan2)
        glan_lan_destroy(lan2);
}

/* The uplink creates the device itself here (we are root).  0, or -1 when
 * it could not be attached. */
static int attach_new_device(struct tun_test *t)
{
    char err[256];
    struct glan_tun_config tc = {.ifname = DEV, .mtu = 1400, .up = 1};
    t->u = glan_tun_create(&tc, err, sizeof err);
    int rc = t->u ? glan_tun_attach(t->lan, t->u) : -1;
    struct glan_tun_status ts;
    if (t->u)
        glan_tun_status(t->u, &ts);
    ns_check(rc == 0, "TUN uplink attached (%s)", t->u ? ts.message : err);
    if (rc != 0)
        return -1;
    ns_check(ts.created && !ts.persistent && ts.rx_thread && ts.mtu == 1400,
             "device %s created, MTU %u, receive thread running", ts.ifname, ts.mtu);
    ns_check(ns_sh("ip -o link show dev %s | grep -q ' mtu 1400 '", DEV) == 0,
             "kernel shows MTU 1400");
    ns_sh("ip addr add 10.77.0.1/24 dev %s", DEV);
    ns_sh("ip -6 addr add fd00:77::1/64 dev %s nodad", DEV);
    ns_sh("ip addr show dev %s", DEV);
    return 0;
}

/* From the namespace to the guests, and to addresses no guest holds. */
static void namespace_to_guests(struct tun_test *t)
{
    struct ns_guest *ga = t->ga, *gb = t->gb;
    ns_check(ns_ping("10.77.0.10", 3) == 0, "namespace pings guest 0600 over IPv4");
    ns_check(ns_ping("10.77.0.11", 3) == 0, "namespace pings guest 0700 over IPv4");
    ns_check(ns_ping("fd00:77::10", 3) == 0, "namespace pings guest 0600 over IPv6");
    ns_check(ns_ping("fd00:77::11", 3) == 0, "namespace pings guest 0700 over IPv6");
    ns_check(ns_count(ga, &ga->req4) == 3 && ns_count(ga, &ga->req6) == 3 &&
                 ns_count(gb, &gb->req4) == 3 && ns_count(gb, &gb->req6) == 3,
             "each guest saw exactly its own 3+3 echo requests");

    /* TCP from the namespace: the handshake completes through the uplink. */
    ns_check(tcp_connect("10.77.0.10", 7, 3000) == 0 && ns_count(ga, &ga->syn) == 1,
             "TCP connection from the namespace to 10.77.0.10:7");
    ns_check(tcp_connect("fd00:77::11", 7, 3000) == 0 && ns_count(gb, &gb->syn) == 1,
             "TCP connection from the namespace to [fd00:77::11]:7");
    ns_check(ns_wait(ga, &ga->fin, 1, 3000) && ns_wait(gb, &gb->fin, 1, 3000),
             "the guests saw the namespace close both connections");

    /* From the namespace to addresses no guest holds. */
    uint64_t unknown0 = ns_lan_drops(t->lan, GLAN_DROP_UNKNOWN_DEST);
    ns_check(ns_ping("10.77.0.99", 2) != 0, "no answer from unregistered 10.77.0.99");
    ns_check(ns_ping("fd00:77::99", 2) != 0, "no answer from unregistered fd00:77::99");
    uint64_t unknown = ns_lan_drops(t->lan, GLAN_DROP_UNKNOWN_DEST) - unknown0;
    ns_check(unknown >= 4, "unregistered destinations dropped as unknown_dest (%llu)",
             (unsigned long long)unknown);
    ns_check(ns_count(ga, &ga->not_mine) == 0 && ns_count(gb, &gb->not_mine) == 0,
             "no guest received a datagram for another address");
}

/* From a guest to the namespace. */
static void guest_to_namespace(struct tun_test *t)
{
    struct ns_guest *gb = t->gb;
    uint8_t pkt[2048];
    size_t len = dg_echo_request(pkt, &gb->a4, &t->ns4, 0x4242, 1);
    ns_check(glan_port_send(gb->port, pkt, len, NULL) == GLAN_DROP_NONE,
             "guest 0700 pings 10.77.0.1");
    ns_check(ns_wait(gb, &gb->rep4, 1, 3000), "guest 0700 got the namespace's IPv4 echo reply");
    len = dg_echo_request(pkt, &gb->a6, &t->ns6, 0x4243, 1);
    ns_check(glan_port_send(gb->port, pkt, len, NULL) == GLAN_DROP_NONE,
             "guest 0700 pings fd00:77::1");
    ns_check(ns_wait(gb, &gb->rep6, 1, 3000), "guest 0700 got the namespace's IPv6 echo reply");
    ns_check(t->u->stats.tx_packets >= 14 && t->u->stats.rx_packets >= 14,
             "uplink counted tx %llu rx %llu", (unsigned long long)t->u->stats.tx_packets,
             (unsigned long long)t->u->stats.rx_packets);
}

/* An echo request of len bytes in all from src to dst (IPv4 with DF when
 * df, or IPv6), its checksums filled in.  len. */
static size_t big_echo(uint8_t *p, size_t len, const struct glan_addr *src,
                       const struct glan_addr *dst, int df)
{
    int v4 = src->family == GLAN_AF_INET;
    size_t hl = dg_ip(p, len, v4 ? DG_ICMP : DG_ICMPV6, src, dst, 0);
    memset(p + hl, 0, len - hl);
    p[hl] = v4 ? 8 : 128;
    put16(p + hl + 4, 0x4d54);
    put16(p + hl + 6, 1);
    for (size_t i = hl + 8; i < len; i++)
        p[i] = (uint8_t)i;
    if (v4 && df)
        p[6] = 0x40;
    if (v4)
        dg_ip_csum(p);
    dg_l4_csum(p, len);
    return len;
}

/* A counter of this namespace's /proc/net/snmp ("Ip", "ReasmOKs"), or
 * UINT64_MAX. */
static uint64_t snmp(const char *group, const char *field)
{
    FILE *f = fopen("/proc/net/snmp", "r");
    char names[2048], values[2048], tag[32];
    uint64_t v = UINT64_MAX;
    snprintf(tag, sizeof tag, "%s:", group);
    while (f && fgets(names, sizeof names, f) && fgets(values, sizeof values, f)) {
        if (strncmp(names, tag, strlen(tag)) != 0)
            continue;
        char *sn, *sv, *n = strtok_r(names, " \n", &sn), *val = strtok_r(values, " \n", &sv);
        for (; n && val; n = strtok_r(NULL, " \n", &sn), val = strtok_r(NULL, " \n", &sv))
            if (!strcmp(n, field))
                v = strtoull(val, NULL, 10);
    }
    if (f)
        fclose(f);
    return v;
}

/* The path MTU: the uplink's MTU, a guest's datagrams too big for it, the
 * host's too big for a guest. */
static void path_mtu(struct tun_test *t)
{
    struct ns_guest *ga = t->ga, *gb = t->gb;
    ns_check(glan_uplink_mtu(t->u) == 1400 && glan_port_mtu(t->u->port) == 1400,
             "the uplink's port has the device's MTU (%u)", glan_port_mtu(t->u->port));
    ns_sh("ip link set dev %s mtu 1300", DEV);
    for (int i = 0; i < 100 && glan_port_mtu(t->u->port) != 1300; i++)
        ns_sleep_ms(20);
    ns_check(glan_port_mtu(t->u->port) == 1300, "it follows 'ip link set mtu 1300' (%u)",
             glan_port_mtu(t->u->port));
    ns_sh("ip link set dev %s mtu 1400", DEV);
    for (int i = 0; i < 100 && glan_port_mtu(t->u->port) != 1400; i++)
        ns_sleep_ms(20);

    uint8_t pkt[2000];
    struct glan_port_stats before, after;
    glan_port_stats(gb->port, &before);
    unsigned other0 = ns_count(gb, &gb->other);
    size_t len = big_echo(pkt, sizeof pkt, &gb->a4, &t->ns4, 1);
    ns_check(glan_port_send(gb->port, pkt, len, NULL) == GLAN_DROP_TOO_BIG_FOR_PATH,
             "guest 0700's 2000-byte ping with DF is too big for the uplink");
    len = big_echo(pkt, sizeof pkt, &gb->a6, &t->ns6, 0);
    ns_check(glan_port_send(gb->port, pkt, len, NULL) == GLAN_DROP_TOO_BIG_FOR_PATH,
             "guest 0700's 2000-byte IPv6 ping is too big for the uplink");
    glan_port_stats(gb->port, &after);
    ns_check(after.icmp_sent == before.icmp_sent + 2 && ns_wait(gb, &gb->other, other0 + 2, 3000),
             "guest 0700 got the two ICMP answers (icmp_sent %llu)",
             (unsigned long long)after.icmp_sent);

    uint64_t reasm0 = snmp("Ip", "ReasmOKs"), rep0 = ns_count(gb, &gb->rep4);
    len = big_echo(pkt, sizeof pkt, &gb->a4, &t->ns4, 0);
    ns_check(glan_port_send(gb->port, pkt, len, NULL) == GLAN_DROP_FRAGMENTED,
             "guest 0700's 2000-byte ping without DF is fragmented");
    ns_check(ns_wait(gb, &gb->rep4, (unsigned)rep0 + 1, 3000),
             "the namespace reassembled it and answered");
    ns_check(snmp("Ip", "ReasmOKs") == reasm0 + 1, "the kernel counted one reassembly");
    glan_port_stats(gb->port, &after);
    ns_check(after.frags_sent == before.frags_sent + 2, "two fragments made (%llu)",
             (unsigned long long)(after.frags_sent - before.frags_sent));

    /* The host's datagrams too big for guest 0600 (MTU 1280 here). */
    struct glan_port_stats ua, ub;
    glan_port_stats(t->u->port, &ub);
    glan_port_set_mtu(ga->port, 1280);
    ns_sh("ping -c 1 -W 1 -M do -s 1372 10.77.0.10 >/dev/null 2>&1");
    ns_sh("ping -6 -c 1 -W 1 -M do -s 1352 fd00:77::10 >/dev/null 2>&1");
    char out[512];
    ns_capture(out, sizeof out, "ip route get 10.77.0.10; ip -6 route get fd00:77::10");
    ns_check(strstr(out, "mtu 1280") && strstr(strstr(out, "mtu 1280") + 1, "mtu 1280"),
             "the host learnt MTU 1280 for 10.77.0.10 and fd00:77::10");
    glan_port_stats(t->u->port, &ua);
    ns_check(ua.icmp_sent == ub.icmp_sent + 2 && ua.dropped[GLAN_DROP_TOO_BIG_FOR_PATH] ==
                                                     ub.dropped[GLAN_DROP_TOO_BIG_FOR_PATH] + 2,
             "the uplink's two datagrams dropped too_big_for_path and answered");
    glan_port_set_mtu(ga->port, 0);
    ns_sh("ip route flush cache; ip -6 route flush cache");
}

/* The kernel has no room: the base keeps the datagram, the uplink waits
 * for POLLOUT, kicks, and it goes out; nothing is lost. */
static void write_refused_and_retried(struct tun_test *t)
{
    struct ns_guest *gb = t->gb;
    uint8_t pkt[2048];
    struct glan_lan_stats before;
    glan_lan_stats(t->lan, &before);
    atomic_store(&eagain_left, 3);
    atomic_store(&eagain_fd, t->u->ops->rx_fd(t->u));
    unsigned reps = ns_count(gb, &gb->rep4);
    size_t len = dg_echo_request(pkt, &gb->a4, &t->ns4, 0x4245, 1);
    ns_check(glan_port_send(gb->port, pkt, len, NULL) == GLAN_DROP_NONE,
             "guest pings the namespace while writes to the device fail with EAGAIN");
    ns_check(ns_wait(gb, &gb->rep4, reps + 1, 3000), "the datagram went out after the retries");
    atomic_store(&eagain_fd, -1);
    struct glan_tun_status ts;
    glan_tun_status(t->u, &ts);
    struct glan_lan_stats after;
    glan_lan_stats(t->lan, &after);
    uint64_t drops_before = 0, drops_after = 0;
    for (int i = 0; i < GLAN_DROP_COUNT; i++) {
        drops_before += before.dropped[i];
        drops_after += after.dropped[i];
    }
    ns_check(ts.tx_blocked == 3 && drops_after == drops_before && after.queued == 0,
             "3 refusals counted (%llu), nothing dropped, nothing left queued",
             (unsigned long long)ts.tx_blocked);
}

/* The device is set down: datagrams for the network are refused as
 * port_down, guests go on; up again, the namespace answers again. */
static void device_down_and_up(struct tun_test *t)
{
    struct ns_guest *gb = t->gb;
    uint8_t pkt[2048];
    struct glan_tun_status ts;
    ns_check(ns_sh("ip link set dev %s down", DEV) == 0, "device set down");
    uint64_t down_before = ns_lan_drops(t->lan, GLAN_DROP_PORT_DOWN);
    size_t len = dg_echo_request(pkt, &gb->a4, &t->ns4, 0x4244, 1);
    glan_port_send(gb->port, pkt, len, NULL);
    glan_tun_status(t->u, &ts);
    ns_check(ns_lan_drops(t->lan, GLAN_DROP_PORT_DOWN) == down_before + 1 && ts.tx_down == 1 &&
                 !ts.gone,
             "with the device down a datagram for the network is dropped as port_down");
    ns_check(ns_sh("ip link set dev %s up", DEV) == 0, "device set up");
    unsigned rep0 = ns_count(gb, &gb->rep4);
    glan_port_send(gb->port, pkt, len, NULL);
    ns_check(ns_wait(gb, &gb->rep4, rep0 + 1, 3000), "up again: the namespace answers the guest");
}

/* The device is deleted under the uplink, and comes back as a persistent
 * device made by an administrator. */
static void device_deleted_and_back(struct tun_test *t)
{
    struct ns_guest *ga = t->ga, *gb = t->gb;
    uint8_t pkt[2048];
    struct glan_tun_status ts;
    ns_check(ns_sh("ip link del %s", DEV) == 0, "device deleted");
    for (int i = 0; i < 300 && (glan_tun_status(t->u, &ts), !ts.gone); i++)
        ns_sleep_ms(10);
    ns_check(ts.gone && ts.gone_events == 1 && strstr(ts.message, "deleted"),
             "uplink noticed: gone, counted once, says: %s", ts.message);
    unsigned udp0 = ns_count(gb, &gb->udp);
    size_t len = udp4(pkt, &ga->a4, &gb->a4);
    ns_check(glan_port_send(ga->port, pkt, len, NULL) == GLAN_DROP_NONE &&
                 ns_wait(gb, &gb->udp, udp0 + 1, 1000),
             "guest-to-guest still works with the device gone");
    uint64_t down0 = ns_lan_drops(t->lan, GLAN_DROP_PORT_DOWN);
    len = udp4(pkt, &ga->a4, &t->ns4);
    glan_port_send(ga->port, pkt, len, NULL);
    ns_check(ns_lan_drops(t->lan, GLAN_DROP_PORT_DOWN) == down0 + 1,
             "a datagram for the network is dropped as port_down");

    ns_sh("ip tuntap add dev %s mode tun", DEV);
    ns_sh("ip addr add 10.77.0.1/24 dev %s", DEV);
    ns_sh("ip -6 addr add fd00:77::1/64 dev %s nodad", DEV);
    for (int i = 0; i < 300 && (glan_tun_status(t->u, &ts), ts.gone); i++)
        ns_sleep_ms(10);
    ns_check(!ts.gone && ts.recoveries == 1 && ts.persistent,
             "uplink reattached by itself: %s (MTU %u)", ts.message, ts.mtu);
    ns_check(ns_ping("10.77.0.10", 2) == 0, "namespace pings guest 0600 again over IPv4");
    ns_check(ns_ping("fd00:77::11", 2) == 0, "namespace pings guest 0700 again over IPv6");
}

/* Detached, the port and LAN counters add up. */
static void counters_balance(struct tun_test *t)
{
    glan_tun_detach(t->u);
    struct glan_lan_stats st;
    glan_lan_stats(t->lan, &st);
    uint64_t dropped = 0;
    for (int i = 0; i < GLAN_DROP_COUNT; i++)
        dropped += st.dropped[i];
    ns_check(st.sent_packets + st.fanout == st.delivered + dropped + st.queued,
             "LAN counters balance: sent %llu + fanout %llu = delivered %llu + dropped %llu + "
             "queued %llu",
             (unsigned long long)st.sent_packets, (unsigned long long)st.fanout,
             (unsigned long long)st.delivered, (unsigned long long)dropped,
             (unsigned long long)st.queued);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int skip = ns_enter("ip ping");
    if (skip)
        return skip;
    if (access("/dev/net/tun", R_OK | W_OK) != 0) {
        printf("SKIP: no /dev/net/tun\n");
        return NS_SKIP;
    }

    unprivileged();

    char err[256];
    struct glan_lan_config cfg = {.name = "TUNTEST"};
    struct tun_test t = {.lan = glan_lan_create(&cfg, err, sizeof err)};
    if (!t.lan) {
        printf("FAIL: LAN: %s\n", err);
        return 1;
    }
    static struct ns_guest ga, gb;
    if (ns_guest_start(&ga, t.lan, "0600", "10.77.0.10", "fd00:77::10") ||
        ns_guest_start(&gb, t.lan, "0700", "10.77.0.11", "fd00:77::11")) {
        printf("FAIL: guest ports\n");
        return 1;
    }
    t.ga = &ga;
    t.gb = &gb;
    glan_addr_parse("10.77.0.1", &t.ns4);
    glan_addr_parse("fd00:77::1", &t.ns6);

    kernel_chooses_the_name();
    if (attach_new_device(&t) < 0)
        return 1;
    namespace_to_guests(&t);
    guest_to_namespace(&t);
    path_mtu(&t);
    write_refused_and_retried(&t);
    device_down_and_up(&t);
    device_deleted_and_back(&t);
    counters_balance(&t);

    glan_uplink_destroy(t.u);
    ns_sh("ip link del %s 2>/dev/null", DEV); /* the persistent one */
    ns_guest_stop(&ga);
    ns_guest_stop(&gb);
    glan_lan_destroy(t.lan);
    return ns_finish(NULL);
}
