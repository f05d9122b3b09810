/*
 * The TAP uplink (include/guestlan/tap.h): the device part of a layer-2
 * uplink (l2port.h) over a Linux TAP device without the packet-information
 * header.  Each read() returns one whole Ethernet frame the host sent into the
 * device, each write() hands one frame to the host, so the device part is
 * little more than opening the device with good messages when that fails;
 * framing, ARP and neighbour discovery are the engine's (l2.c), the thread
 * and timers l2port.c's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "guestlan/tap.h"
#include "l2port.h"

/* The largest frame: an IP datagram of 64 KiB plus Ethernet and 802.1Q. */
#define RX_BUF (65536 + 18)

struct tap {
    char want[IFNAMSIZ]; /* configured name, "" for the kernel's choice */
    char name[IFNAMSIZ]; /* the device in use */
    uint32_t mtu;
    int up;
    uint8_t *rxbuf;
};

static struct tap *tap_of(struct l2port *p)
{
    return p->priv;
}

/* The MTU and up state the configuration asks for. */
static int configure(struct l2port *p, struct tap *t)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        int e = errno;
        l2port_err(p, "tap %s: socket: %s", t->name, strerror(e));
        return -e;
    }
    int rc = 0;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", t->name);
    if (t->mtu && ioctl(s, SIOCGIFMTU, &ifr) == 0 && (uint32_t)ifr.ifr_mtu != t->mtu) {
        ifr.ifr_mtu = (int)t->mtu;
        if (ioctl(s, SIOCSIFMTU, &ifr) < 0) {
            rc = -errno;
            l2port_err(p,
                       "tap %s: cannot set the MTU to %u: %s; set it beforehand with "
                       "'ip link set dev %s mtu %u'",
                       t->name, t->mtu, strerror(-rc), t->name, t->mtu);
            goto out;
        }
    }
    if (t->up && ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
            rc = -errno;
            l2port_err(p,
                       "tap %s: cannot bring the device up: %s; do it beforehand with "
                       "'ip link set dev %s up'",
                       t->name, strerror(-rc), t->name);
        }
    }
out:
    close(s);
    return rc;
}

static int tap_open(struct l2port *p)
{
    struct tap *t = tap_of(p);
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT || e == ENODEV)
            l2port_err(p, "tap: /dev/net/tun is missing: load the tun module (modprobe tun)");
        else
            l2port_err(p, "tap: cannot open /dev/net/tun: %s", strerror(e));
        return -e;
    }
    int existed = t->want[0] && if_nametoindex(t->want) != 0;
    if (p->recovering && !existed) {
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
        const char *n = t->want[0] ? t->want : "NAME";
        if (e == EPERM && existed)
            l2port_err(p,
                       "tap %s: permission denied: the device belongs to another user; "
                       "recreate it with 'ip tuntap add dev %s mode tap user USER'",
                       n, n);
        else if (e == EPERM)
            l2port_err(p,
                       "tap %s: creating a TAP device needs CAP_NET_ADMIN; create it "
                       "beforehand with 'ip tuntap add dev %s mode tap user USER'",
                       n, n);
        else if (e == EBUSY)
            l2port_err(p, "tap %s: the device is in use by another program", n);
        else if (e == EINVAL && existed)
            l2port_err(p, "tap %s: exists but is not a TAP device without packet information", n);
        else
            l2port_err(p, "tap %s: TUNSETIFF: %s", n, strerror(e));
        return -e;
    }
    snprintf(t->name, sizeof t->name, "%s", ifr.ifr_name);
    snprintf(p->ifname, sizeof p->ifname, "%s", t->name);
    p->fd = fd;
    int rc = configure(p, t);
    if (rc == 0 && !t->rxbuf && !(t->rxbuf = malloc(RX_BUF))) {
        l2port_err(p, "tap %s: out of memory", t->name);
        rc = -ENOMEM;
    }
    if (rc < 0) {
        close(fd);
        p->fd = -1;
    }
    return rc;
}

static void tap_close(struct l2port *p)
{
    close(p->fd); /* a device we created goes with it */
    p->fd = -1;
}

static int tap_write(struct l2port *p, const uint8_t *frame, size_t len)
{
    for (;;) {
        ssize_t n = write(p->fd, frame, len);
        if (n == (ssize_t)len)
            return 0;
        int e = n < 0 ? errno : EIO;
        if (e == EINTR)
            continue;
        if (e == EAGAIN || e == ENOBUFS || e == ENOMEM) {
            l2port_want_pollout(p);
            return -EAGAIN;
        }
        if (e == EBADFD || e == EIO) /* deleted, or down */
            return -ENETDOWN;
        return -e;
    }
}

static int tap_read(struct l2port *p, const uint8_t **frame, size_t *len)
{
    struct tap *t = tap_of(p);
    for (;;) {
        ssize_t n = read(p->fd, t->rxbuf, RX_BUF);
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

static void tap_destroy(struct l2port *p)
{
    struct tap *t = tap_of(p);
    free(t->rxbuf);
    free(t);
}

static const struct l2port_dev tap_dev = {
    .kind = "tap",
    .open = tap_open,
    .close = tap_close,
    .write = tap_write,
    .read = tap_read,
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
    struct l2port *p = calloc(1, sizeof *p);
    struct tap *t = calloc(1, sizeof *t);
    if (!p || !t) {
        free(p);
        free(t);
        snprintf(err, errlen, "tap: out of memory");
        return NULL;
    }
    snprintf(t->want, sizeof t->want, "%s", name);
    t->mtu = cfg ? cfg->mtu : 0;
    t->up = cfg ? cfg->up : 0;
    l2port_init(p, &tap_dev, cfg ? &cfg->l2 : NULL);
    p->priv = t;
    return &p->u;
}

int glan_tap_ifname(struct glan_uplink *u, char *buf, size_t len)
{
    struct l2port *p = l2port_of(u);
    if (!p || p->dev != &tap_dev)
        return -EINVAL;
    snprintf(buf, len, "%s", tap_of(p)->name);
    return 0;
}
