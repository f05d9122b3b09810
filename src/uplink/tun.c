/*
 * The TUN uplink (include/uplink/guestlan/tun.h): a layer-3 device of the device
 * runner (runner.h).  Each write() hands the host one IP datagram exactly as
 * a guest wrote it (IFF_TUN | IFF_NO_PI), each read() returns one the host
 * routed into the device; the runner does the rest (the receive thread, the
 * outage and the reopen).  What is the TUN device's own: opening it with
 * good messages when that fails (the steps it shares with the TAP uplink,
 * the same driver, are tundev.c's), its MTU and up state, telling a deleted
 * device from one that is merely down, and its kind's registration for
 * uplink specs ("tun IF [mtu N]").
 *
 * Deleted device: the kernel detaches our file from the device, after which
 * poll() reports POLLERR and reads and writes fail with EBADFD; TUNGETIFF
 * then fails too (tun_alive).  A device set down answers writes with EIO.
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

#include "guestlan/tun.h"
#include "kinds.h"
#include "runner.h"
#include "tundev.h"

/* The largest IP datagram: whatever the host sends, one read takes it whole
 * (the base drops what exceeds its buffers, counted as too_big). */
#define RX_BUF 65536

static const struct tundev_kind tun_kind = {
    .kind = "tun",
    .upper = "TUN",
    .flags = IFF_TUN | IFF_NO_PI,
    .bad_chars = "/ %",
    .bad_shown = "'/', ' ', '%'",
    .not_ours = " (a TAP device, or one made with 'pi'?)",
    .rx_size = RX_BUF,
};

struct tun {
    struct tundev td; /* first: the tun driver's part (tundev.h) */
    uint32_t cfg_mtu; /* the MTU asked for, 0: leave it */
    int cfg_up;       /* bring it up */
    uint32_t mtu;     /* its MTU when last looked at */
    int created, persistent;
};

static const struct runner_dev tun_dev;

static struct runner *tun_runner(struct glan_uplink *u)
{
    struct runner *r = runner_of(u);
    return r && r->dev == &tun_dev ? r : NULL;
}

/* ---- the device ---------------------------------------------------------- */

/* Open /dev/net/tun and attach it to name (or a new tunN): r->fd and
 * r->ifname set, 0; or a negative errno with the message.  must_exist:
 * never create a device (-ENODEV). */
static int attach_device(struct runner *r, const char *name, int must_exist)
{
    struct tun *t = r->dev_state;
    int existed = tundev_exists(name);
    if (must_exist && !existed)
        return -ENODEV; /* TUNSETIFF would make one of ours; wait for the real one */
    int fd = tundev_open(r);
    if (fd < 0)
        return fd;
    int rc = tundev_setiff(r, fd, name, name, existed);
    if (rc < 0)
        return rc;
    t->created = !existed;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    t->persistent = ioctl(fd, TUNGETIFF, &ifr) == 0 && (ifr.ifr_flags & IFF_PERSIST);
    return 0;
}

/* The MTU and up state the configuration asks for; read the MTU back. */
static int configure_device(struct runner *r)
{
    struct tun *t = r->dev_state;
    struct ifreq ifr;
    int s = tundev_ctl_open(r, &ifr);
    if (s < 0)
        return s;
    int rc = 0;
    if (ioctl(s, SIOCGIFMTU, &ifr) == 0)
        t->mtu = (uint32_t)ifr.ifr_mtu;
    if (t->cfg_mtu && t->mtu != t->cfg_mtu) {
        ifr.ifr_mtu = (int)t->cfg_mtu;
        if (ioctl(s, SIOCSIFMTU, &ifr) < 0) {
            rc = -errno;
            runner_err(r,
                       "tun %s: cannot set the MTU to %u (it is %u): %s; set it beforehand with "
                       "'ip link set dev %s mtu %u'",
                       r->ifname, t->cfg_mtu, t->mtu, strerror(-rc), r->ifname, t->cfg_mtu);
            goto out;
        }
        t->mtu = t->cfg_mtu;
    }
    if (t->cfg_up) {
        if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
            rc = -errno;
            runner_err(r, "tun %s: SIOCGIFFLAGS: %s", r->ifname, strerror(-rc));
            goto out;
        }
        if (!(ifr.ifr_flags & IFF_UP))
            rc = tundev_bring_up(r, s, &ifr);
    }
out:
    close(s);
    return rc;
}

static int device_is_up(const struct runner *r)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return 1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", r->ifname);
    int up = ioctl(s, SIOCGIFFLAGS, &ifr) < 0 || (ifr.ifr_flags & IFF_UP);
    close(s);
    return up;
}

static int tun_open(struct runner *r, int reopen)
{
    struct tun *t = r->dev_state;
    int rc = attach_device(r, reopen ? r->ifname : t->td.want, reopen);
    if (rc < 0)
        return rc;
    rc = configure_device(r);
    if (rc < 0 && reopen)
        rc = 0; /* still the device, not as configured: the message says so; carry on */
    return tundev_open_end(r, rc);
}

/* Is our file still attached to a device?  After the device is deleted the
 * kernel answers TUNGETIFF with EBADFD. */
static int tun_alive(struct runner *r)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    return ioctl(r->fd, TUNGETIFF, &ifr) == 0;
}

static int tun_read(struct runner *r, const uint8_t **unit, size_t *len)
{
    int rc = tundev_read(r, unit, len);
    if (rc == -EBADFD && !tun_alive(r))
        return -ENETDOWN;
    return rc;
}

static int tun_write(struct runner *r, const uint8_t *unit, size_t len)
{
    int rc = tundev_write(r, unit, len);
    if (rc == -EBADFD) /* deleted: the runner asks tun_alive and marks it gone */
        return -ENETDOWN;
    if (rc == -EIO && !device_is_up(r))
        return -ENETDOWN;
    return rc;
}

static void tun_status(struct runner *r, struct glan_uplink_status *out)
{
    struct tun *t = r->dev_state;
    snprintf(out->params, sizeof out->params, "mtu %u", glan_uplink_mtu(&r->u));
    out->created = t->created;
}

static const struct runner_dev tun_dev = {
    .kind = "tun",
    .spec_name = "tun",
    .lost = "the device was deleted",
    .awaited = "a TUN device named ",
    .returned = "the device is back",
    .down_text = "device gone",
    .same_link_returns = 0,
    .open = tun_open,
    .alive = tun_alive,
    .read = tun_read,
    .write = tun_write,
    .close = tundev_close,
    .status = tun_status,
    .destroy = tundev_destroy,
};

/* ---- the public API ------------------------------------------------------------ */

struct glan_uplink *glan_tun_create(const struct glan_tun_config *cfg, char *err, size_t errlen)
{
    const char *name = cfg ? cfg->ifname : NULL;
    if (tundev_check(&tun_kind, name, cfg ? cfg->mtu : 0, err, errlen) < 0)
        return NULL;
    struct tun *t = calloc(1, sizeof *t);
    struct runner *r = t ? runner_new(&tun_dev, NULL, t, NULL) : NULL;
    if (!r) {
        free(t);
        snprintf(err, errlen, "tun: out of memory");
        return NULL;
    }
    tundev_init(&t->td, &tun_kind, name);
    t->cfg_mtu = cfg ? cfg->mtu : 0;
    t->cfg_up = cfg ? cfg->up : 0;
    return &r->u;
}

int glan_tun_attach(struct glan_lan *lan, struct glan_uplink *u)
{
    /* glan_uplink_attach starts the receive thread through ops->start. */
    return tun_runner(u) ? glan_uplink_attach(lan, u) : -EINVAL;
}

void glan_tun_detach(struct glan_uplink *u)
{
    glan_uplink_detach(u); /* ops->stop ends the thread before the port goes */
}

int glan_tun_start(struct glan_uplink *u)
{
    return tun_runner(u) ? u->ops->start(u) : -EINVAL;
}

void glan_tun_stop(struct glan_uplink *u)
{
    if (tun_runner(u))
        u->ops->stop(u);
}

int glan_tun_status(struct glan_uplink *u, struct glan_tun_status *out)
{
    struct runner *r = tun_runner(u);
    if (!r)
        return -EINVAL;
    struct tun *t = r->dev_state;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&r->lock);
    snprintf(out->ifname, sizeof out->ifname, "%s", r->ifname);
    out->mtu = glan_uplink_mtu(u);
    out->open = r->fd >= 0;
    out->created = t->created;
    out->persistent = t->persistent;
    pthread_mutex_unlock(&r->lock);
    runner_message(r, out->message, sizeof out->message);
    out->gone = atomic_load(&r->down);
    out->rx_thread = r->rx_running;
    out->gone_events = atomic_load(&r->gone_events);
    out->recoveries = atomic_load(&r->recoveries);
    out->tx_down = atomic_load(&r->tx_down);
    out->tx_blocked = atomic_load(&r->tx_blocked);
    return 0;
}

/* ---- the kind, for uplink specs ("tun IF [mtu N]") ------------------------------- */

static int tun_option(void *config, const char *kw, const char *val, char *err, size_t errlen)
{
    struct glan_tun_config *c = config;
    if (strcasecmp(kw, "mtu") != 0)
        return spec_fail(err, errlen, "unknown option '%s' for uplink tun (known: mtu)", kw);
    return spec_mtu_option(&c->mtu, kw, val, err, errlen);
}

static struct glan_uplink *tun_spec_create(const void *config, const char *ifname, char *err,
                                           size_t errlen)
{
    struct glan_tun_config c = *(const struct glan_tun_config *)config;
    c.ifname = ifname;
    c.up = 1;
    return glan_tun_create(&c, err, errlen);
}

static const char *const tun_help[] = {
    "    tun ifname [mtu n]",
    "           a TUN device of the host (layer 3: the host's IP stack);",
    "           created when it does not exist (needs CAP_NET_ADMIN) and",
    "           brought up; an existing one must belong to the user.",
    NULL,
};

const struct glan_uplink_kind uplink_kind_tun = {
    .name = "tun",
    .usage = "tun IF [mtu N]",
    .help = tun_help,
    .config_size = sizeof(struct glan_tun_config),
    .option = tun_option,
    .create = tun_spec_create,
};
