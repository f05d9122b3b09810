/*
 * The TAP uplink (include/uplink/guestlan/tap.h): a device of the device runner
 * (runner.h) over a Linux TAP device without the packet-information header,
 * under the layer-2 link (l2port.h).  Each read() returns one whole Ethernet
 * frame the host sent into the device, each write() hands one frame to the
 * host, so the device is little more than opening it with good messages when
 * that fails, which it does as the TUN uplink does (tundev.c: the same
 * driver, /dev/net/tun); framing, ARP and neighbour discovery are the
 * engine's (l2.c), the thread, the outage and the reopen the runner's.  Its
 * kind is registered for uplink specs here ("tap IF [mtu N] [mac M] ...").
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
#include "tundev.h"

/* The largest frame: an IP datagram of 64 KiB plus Ethernet and 802.1Q. */
#define RX_BUF (65536 + 18)

static const struct tundev_kind tap_kind = {
    .kind = "tap",
    .upper = "TAP",
    .flags = IFF_TAP | IFF_NO_PI,
    .bad_chars = "/ %:",
    .bad_shown = "'/', ' ', ':'",
    .not_ours = "",
    .rx_size = RX_BUF,
};

struct tap {
    struct tundev td; /* first: the tun driver's part (tundev.h) */
    uint32_t mtu;
    int up;
};

static const struct runner_dev tap_dev;

static struct tap *tap_of(struct runner *r)
{
    return r->dev_state;
}

/* The MTU and up state the configuration asks for. */
static int configure(struct runner *r, struct tap *t)
{
    struct ifreq ifr;
    int s = tundev_ctl_open(r, &ifr);
    if (s < 0)
        return s;
    int rc = 0;
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
    if (t->up && ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP))
        rc = tundev_bring_up(r, s, &ifr);
out:
    close(s);
    return rc;
}

static int tap_open(struct runner *r, int reopen)
{
    struct tap *t = tap_of(r);
    const char *want = t->td.want;
    int fd = tundev_open(r);
    if (fd < 0)
        return fd;
    int existed = tundev_exists(want);
    if (reopen && !existed) {
        /* TUNSETIFF would make a new device of ours; wait for the real one */
        close(fd);
        return -ENODEV;
    }
    int rc = tundev_setiff(r, fd, want, want[0] ? want : "NAME", existed);
    if (rc < 0)
        return rc;
    return tundev_open_end(r, configure(r, t));
}

static int tap_write(struct runner *r, const uint8_t *frame, size_t len)
{
    int rc = tundev_write(r, frame, len);
    if (rc == -EBADFD || rc == -EIO) /* deleted, or down */
        return -ENETDOWN;
    return rc;
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
    .read = tundev_read,
    .write = tap_write,
    .close = tundev_close,
    .destroy = tundev_destroy,
};

struct glan_uplink *glan_tap_create(const struct glan_tap_config *cfg, char *err, size_t errlen)
{
    const char *name = cfg ? cfg->ifname : NULL;
    if (tundev_check(&tap_kind, name, cfg ? cfg->mtu : 0, err, errlen) < 0)
        return NULL;
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
    tundev_init(&t->td, &tap_kind, name);
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
