/*
 * A device of the kernel's tun driver (tundev.h): what the TUN uplink
 * (tun.c) and the TAP uplink (tap.c) do alike with /dev/net/tun and the
 * device behind it, with each kind's words in the messages.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tundev.h"

static struct tundev *tundev_of(struct runner *r)
{
    return r->dev_state;
}

int tundev_check(const struct tundev_kind *k, const char *name, uint32_t mtu, char *err,
                 size_t errlen)
{
    if (!name)
        name = "";
    if (strlen(name) >= IFNAMSIZ || strpbrk(name, k->bad_chars)) {
        snprintf(err, errlen, "%s: bad device name '%s' (at most %d characters, no %s)", k->kind,
                 name, IFNAMSIZ - 1, k->bad_shown);
        return -EINVAL;
    }
    if (mtu && (mtu < 68 || mtu > 65535)) {
        snprintf(err, errlen, "%s: MTU %u is out of range (68..65535)", k->kind, mtu);
        return -EINVAL;
    }
    return 0;
}

void tundev_init(struct tundev *td, const struct tundev_kind *k, const char *name)
{
    td->k = k;
    /* The caller's string may not outlive us: keep a copy. */
    snprintf(td->want, sizeof td->want, "%s", name ? name : "");
}

int tundev_exists(const char *name)
{
    return name[0] && if_nametoindex(name) != 0;
}

int tundev_open(struct runner *r)
{
    const char *kind = tundev_of(r)->k->kind;
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT || e == ENODEV)
            runner_err(r, "%s: /dev/net/tun is missing: load the tun module (modprobe tun)", kind);
        else
            runner_err(r, "%s: cannot open /dev/net/tun: %s", kind, strerror(e));
        return -e;
    }
    return fd;
}

/* Why TUNSETIFF failed on the device shown (e its errno), in the message. */
static void setiff_error(struct runner *r, const char *shown, int existed, int e)
{
    const struct tundev_kind *k = tundev_of(r)->k;
    if (e == EPERM && existed)
        runner_err(r,
                   "%s %s: permission denied: the device belongs to another user; "
                   "recreate it with 'ip tuntap add dev %s mode %s user USER'",
                   k->kind, shown, shown, k->kind);
    else if (e == EPERM)
        runner_err(r,
                   "%s %s: creating a %s device needs CAP_NET_ADMIN; create it beforehand "
                   "with 'ip tuntap add dev %s mode %s user USER'",
                   k->kind, shown[0] ? shown : "(any)", k->upper, shown[0] ? shown : "NAME",
                   k->kind);
    else if (e == EBUSY)
        runner_err(r, "%s %s: the device is in use by another program", k->kind, shown);
    else if (e == EINVAL && existed)
        runner_err(r, "%s %s: exists but is not a %s device without packet information%s", k->kind,
                   shown, k->upper, k->not_ours);
    else
        runner_err(r, "%s %s: TUNSETIFF: %s", k->kind, shown[0] ? shown : "(any)", strerror(e));
}

int tundev_setiff(struct runner *r, int fd, const char *name, const char *shown, int existed)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = tundev_of(r)->k->flags;
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        close(fd);
        setiff_error(r, shown, existed, e);
        return -e;
    }
    r->fd = fd;
    snprintf(r->ifname, sizeof r->ifname, "%s", ifr.ifr_name);
    return 0;
}

int tundev_ctl_open(struct runner *r, struct ifreq *ifr)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        int e = errno;
        runner_err(r, "%s %s: socket: %s", tundev_of(r)->k->kind, r->ifname, strerror(e));
        return -e;
    }
    memset(ifr, 0, sizeof *ifr);
    snprintf(ifr->ifr_name, IFNAMSIZ, "%s", r->ifname);
    return s;
}

int tundev_bring_up(struct runner *r, int s, struct ifreq *ifr)
{
    ifr->ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, ifr) < 0) {
        int rc = -errno;
        runner_err(r,
                   "%s %s: cannot bring the device up: %s; do it beforehand with "
                   "'ip link set dev %s up'",
                   tundev_of(r)->k->kind, r->ifname, strerror(-rc), r->ifname);
        return rc;
    }
    return 0;
}

int tundev_open_end(struct runner *r, int rc)
{
    struct tundev *td = tundev_of(r);
    if (rc == 0 && !td->rxbuf && !(td->rxbuf = malloc(td->k->rx_size))) {
        runner_err(r, "%s %s: out of memory", td->k->kind, r->ifname);
        rc = -ENOMEM;
    }
    if (rc < 0)
        tundev_close(r);
    return rc;
}

int tundev_read(struct runner *r, const uint8_t **unit, size_t *len)
{
    struct tundev *td = tundev_of(r);
    for (;;) {
        ssize_t n = read(r->fd, td->rxbuf, td->k->rx_size);
        if (n >= 0) {
            *unit = td->rxbuf;
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

int tundev_write(struct runner *r, const uint8_t *unit, size_t len)
{
    for (;;) {
        ssize_t n = write(r->fd, unit, len);
        if (n == (ssize_t)len)
            return 0;
        int e = n < 0 ? errno : EIO;
        if (e == EINTR)
            continue;
        if (e == EAGAIN || e == ENOBUFS || e == ENOMEM)
            return -EAGAIN;
        return -e;
    }
}

void tundev_close(struct runner *r)
{
    close(r->fd); /* a device we created goes with it */
    r->fd = -1;
}

void tundev_destroy(struct runner *r)
{
    free(tundev_of(r)->rxbuf);
    free(r->dev_state);
}
