/*
 * The TAP uplink (include/guestlan/tap.h): a device of the device runner
 * (runner.h) over a Linux TAP device without the packet-information header,
 * under the layer-2 link (l2port.h).  Each read() returns one whole Ethernet
 * frame the host sent into the device, each write() hands one frame to the
 * host, so the device is little more than opening it with good messages when
 * that fails; framing, ARP and neighbour discovery are the engine's (l2.c),
 * the thread, the outage and the reopen the runner's.  Its kind is
 * registered for uplink specs here ("tap IF [mtu N] [mac M] ...").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "guestlan/tap.h"
#include "kinds.h"
#include "l2port.h"

/* The largest frame: an IP datagram of 64 KiB plus Ethernet and 802.1Q. */
#define RX_BUF (65536 + 18)

struct tap {
    char want[IFNAMSIZ]; /* configured name, "" for the kernel's choice */
    uint32_t mtu;
    int up;
    uint8_t *rxbuf;
};

static const struct runner_dev tap_dev;

static struct tap *tap_of(struct runner *r)
{
    return r->dev_state;
}

/* The MTU and up state the configuration asks for. */
static int configure(struct runner *r, struct tap *t)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        int e = errno;
        runner_err(r, "tap %s: socket: %s", r->ifname, strerror(e));
        return -e;
    }
    int rc = 0;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", r->ifname);
    if (t->mtu && ioctl(s, SIOCGIFMTU, &ifr) == 0 && (uint32_t)ifr.ifr_mtu != t->mtu) {
        ifr.ifr_mtu = (int)t->mtu;
        if (ioctl(s, SIOCSIFMTU, &ifr) < 0) {
            rc = -errno;
            runner_err(r,
                       "tap %s: cannot set the MTU to %u: %s; set it beforehand with "
                       "'ip link set dev %s mtu %u'",
                       r->ifname, t->mtu, strerror(-rc), r->ifname, t->mtu);
            goto out;
        }
    }
    if (t->up && ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
            rc = -errno;
            runner_err(r,
                       "tap %s: cannot bring the device up: %s; do it beforehand with "
                       "'ip link set dev %s up'",
                       r->ifname, strerror(-rc), r->ifname);
        }
    }
out:
    close(s);
    return rc;
}

/* Why TUNSETIFF failed (e its errno), in the message. */
static void setiff_error(struct runner *r, const char *n, int existed, int e)
{
    if (e == EPERM && existed)
        runner_err(r,
                   "tap %s: permission denied: the device belongs to another user; "
                   "recreate it with 'ip tuntap add dev %s mode tap user USER'",
                   n, n);
    else if (e == EPERM)
        runner_err(r,
                   "tap %s: creating a TAP device needs CAP_NET_ADMIN; create it "
                   "beforehand with 'ip tuntap add dev %s mode tap user USER'",
                   n, n);
    else if (e == EBUSY)
        runner_err(r, "tap %s: the device is in use by another program", n);
    else if (e == EINVAL && existed)
        runner_err(r, "tap %s: exists but is not a TAP device without packet information", n);
    else
        runner_err(r, "tap %s: TUNSETIFF: %s", n, strerror(e));
}

static int tap_open(struct runner *r, int reopen)
{
    struct tap *t = tap_of(r);
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT || e == ENODEV)
            runner_err(r, "tap: /dev/net/tun is missing: load the tun module (modprobe tun)");
        else
            runner_err(r, "tap: cannot open /dev/net/tun: %s", strerror(e));
        return -e;
    }
    int existed = t->want[0] && if_nametoindex(t->want) != 0;
    if (reopen && !existed) {
        /* TUNSETIFF would make a new device of ours; wait for the real one */
        close(fd);
        return -ENODEV;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", t->want);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        close(fd);
        setiff_error(r, t->want[0] ? t->want : "NAME", existed, e);
        return -e;
    }
    snprintf(r->ifname, sizeof r->ifname, "%s", ifr.ifr_name);
    r->fd = fd;
    int rc = configure(r, t);
    if (rc == 0 && !t->rxbuf && !(t->rxbuf = malloc(RX_BUF))) {
        runner_err(r, "tap %s: out of memory", r->ifname);
        rc = -ENOMEM;
    }
    if (rc < 0) {
        close(fd);
        r->fd = -1;
    }
    return rc;
}

static void tap_close(struct runner *r)
{
    close(r->fd); /* a device we created goes with it */
    r->fd = -1;
}

static int tap_write(struct runner *r, const uint8_t *frame, size_t len)
{
    for (;;) {
        ssize_t n = write(r->fd, frame, len);
        if (n == (ssize_t)len)
            return 0;
        int e = n < 0 ? errno : EIO;
        if (e == EINTR)
            continue;
        if (e == EAGAIN || e == ENOBUFS || e == ENOMEM)
            return -EAGAIN;          /* the runner watches for room */
        if (e == EBADFD || e == EIO) /* deleted, or down */
            return -ENETDOWN;
        return -e;
    }
}

static int tap_read(struct runner *r, const uint8_t **frame, size_t *len)
{
    struct tap *t = tap_of(r);
    for (;;) {
        ssize_t n = read(r->fd, t->rxbuf, RX_BUF);
        if (n >= 0) {
            *frame = t->rxbuf;
            *len = (size_t)n;
            return 1;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN)
            return 0;
        return -errno;
    }
}

static void tap_destroy(struct runner *r)
{
    struct tap *t = tap_of(r);
    free(t->rxbuf);
    free(t);
}

static const struct runner_dev tap_dev = {
    .kind = "tap",
    .spec_name = "tap",
    .lost = "the device failed or was removed",
    .awaited = "",
    .returned = "the interface is back",
    .down_text = "device gone or failed",
    .same_link_returns = 1,
    .open = tap_open,
    .read = tap_read,
    .write = tap_write,
    .close = tap_close,
    .destroy = tap_destroy,
};

struct glan_uplink *glan_tap_create(const struct glan_tap_config *cfg, char *err, size_t errlen)
{
    const char *name = cfg && cfg->ifname ? cfg->ifname : "";
    if (strlen(name) >= IFNAMSIZ || strpbrk(name, "/ %:")) {
        snprintf(err, errlen, "tap: bad device name '%s' (at most %d characters, no '/', ' ', ':')",
                 name, IFNAMSIZ - 1);
        return NULL;
    }
    if (cfg && cfg->mtu && (cfg->mtu < 68 || cfg->mtu > 65535)) {
        snprintf(err, errlen, "tap: MTU %u is out of range (68..65535)", cfg->mtu);
        return NULL;
    }
    if (cfg && cfg->l2.vlan > 4094) {
        snprintf(err, errlen, "tap: VLAN ID %u is out of range (1..4094, 0 for none)",
                 cfg->l2.vlan);
        return NULL;
    }
    struct tap *t = calloc(1, sizeof *t);
    struct runner *r = t ? l2port_new(&tap_dev, cfg ? &cfg->l2 : NULL, t) : NULL;
    if (!r) {
        free(t);
        snprintf(err, errlen, "tap: out of memory");
        return NULL;
    }
    snprintf(t->want, sizeof t->want, "%s", name);
    t->mtu = cfg ? cfg->mtu : 0;
    t->up = cfg ? cfg->up : 0;
    return &r->u;
}

int glan_tap_ifname(struct glan_uplink *u, char *buf, size_t len)
{
    struct runner *r = l2port_of(u);
    if (!r || r->dev != &tap_dev)
        return -EINVAL;
    pthread_mutex_lock(&r->lock);
    snprintf(buf, len, "%s", r->ifname);
    pthread_mutex_unlock(&r->lock);
    return 0;
}

/* ---- the kind, for uplink specs -------------------------------------------------- */

static int tap_option(void *config, const char *kw, const char *val, char *err, size_t errlen)
{
    struct glan_tap_config *c = config;
    if (!strcasecmp(kw, "mtu"))
        return spec_mtu_option(&c->mtu, kw, val, err, errlen);
    return spec_l2_option(&c->l2, kw, val, err, errlen);
}

static struct glan_uplink *tap_spec_create(const void *config, const char *ifname, char *err,
                                           size_t errlen)
{
    struct glan_tap_config c = *(const struct glan_tap_config *)config;
    c.ifname = ifname;
    c.up = 1;
    return glan_tap_create(&c, err, errlen);
}

static const char *const tap_help[] = {
    "    tap ifname [mtu n] [mac m] [vlan n] [gateway a] [onlink a/len]",
    "           a TAP device (layer 2), as tun; the LAN is one station with",
    "           MAC m (default: from the LAN's name) that answers ARP and",
    "           neighbour solicitations for the guests; vlan n tags its",
    "           frames; gateway a (IPv4 or IPv6, once each) is the next hop",
    "           for destinations off link (outside onlink a/len).",
    NULL,
};

const struct glan_uplink_kind uplink_kind_tap = {
    .name = "tap",
    .usage = "tap IF [mtu N] [mac M] [vlan N] [gateway A] [onlink A/LEN]",
    .help = tap_help,
    .config_size = sizeof(struct glan_tap_config),
    .option = tap_option,
    .create = tap_spec_create,
};
