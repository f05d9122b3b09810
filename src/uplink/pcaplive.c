/*
 * The live pcap uplink (include/guestlan/pcaplive.h): the device part of a
 * layer-2 uplink (l2port.h) over a real interface through libpcap.
 *
 * Open: pcap_create, then the options (snap length for a whole 64 KiB
 * datagram, promiscuous mode, immediate mode so that each frame wakes us at
 * once rather than when a buffer block fills, buffer size), pcap_activate,
 * then inbound direction only (we must not see our own injected frames) and
 * non-blocking reads on the selectable descriptor l2port.c polls.  The capture
 * filter needs the LAN's MAC, known once the engine exists, so it is set in
 * ready().  Sending is pcap_inject.
 *
 * The receive thread reads (pcap_next_ex) while any sender's thread may
 * inject under the engine lock.  On Linux these touch different parts of the
 * handle (the receive ring; send() on the socket), which libpcap allows.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "guestlan/pcaplive.h"
#include "l2port.h"

/* An IP datagram of 64 KiB plus Ethernet and 802.1Q. */
#define SNAPLEN (65535 + 18)

struct live {
    char *ifname;
    uint32_t buffer_size;
    int no_promisc;
    pcap_t *pc;
    char filter[256];
};

static struct live *live_of(struct l2port *p)
{
    return p->priv;
}

/* Say what went wrong at activation, and what to do about it. */
static void activate_error(struct l2port *p, struct live *l, int rc)
{
    const char *why = pcap_geterr(l->pc);
    switch (rc) {
    case PCAP_ERROR_PERM_DENIED:
    case PCAP_ERROR_PROMISC_PERM_DENIED:
        l2port_err(p,
                   "pcap %s: permission denied (%s): capturing needs CAP_NET_RAW and promiscuous "
                   "mode CAP_NET_ADMIN; run 'setcap cap_net_raw,cap_net_admin+ep' on the "
                   "program instead of running it as root",
                   l->ifname, why);
        break;
    case PCAP_ERROR_NO_SUCH_DEVICE:
        l2port_err(p, "pcap %s: no such interface (%s)", l->ifname, why);
        break;
    case PCAP_ERROR_IFACE_NOT_UP:
        l2port_err(p, "pcap %s: the interface is down: 'ip link set dev %s up'", l->ifname,
                   l->ifname);
        break;
    default:
        l2port_err(p, "pcap %s: cannot activate the capture: %s (%s)", l->ifname,
                   pcap_statustostr(rc), why);
        break;
    }
}

static int live_open(struct l2port *p)
{
    struct live *l = live_of(p);
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    snprintf(p->ifname, sizeof p->ifname, "%s", l->ifname);
    l->pc = pcap_create(l->ifname, ebuf);
    if (!l->pc) {
        l2port_err(p, "pcap %s: %s", l->ifname, ebuf);
        return -ENODEV;
    }
    pcap_set_snaplen(l->pc, SNAPLEN);
    pcap_set_promisc(l->pc, !l->no_promisc);
    pcap_set_immediate_mode(l->pc, 1);
    pcap_set_buffer_size(l->pc, (int)(l->buffer_size ? l->buffer_size : 2u << 20));
    int rc = pcap_activate(l->pc);
    if (rc < 0) {
        activate_error(p, l, rc);
        pcap_close(l->pc);
        l->pc = NULL;
        return rc == PCAP_ERROR_PERM_DENIED || rc == PCAP_ERROR_PROMISC_PERM_DENIED ? -EPERM
               : rc == PCAP_ERROR_NO_SUCH_DEVICE                                    ? -ENODEV
               : rc == PCAP_ERROR_IFACE_NOT_UP                                      ? -ENETDOWN
                                                                                    : -EIO;
    }
    const char *what = NULL;
    if (pcap_datalink(l->pc) != DLT_EN10MB)
        what = "is not an Ethernet interface";
    else if (pcap_setdirection(l->pc, PCAP_D_IN) < 0)
        what = "cannot capture inbound frames only";
    else if (pcap_setnonblock(l->pc, 1, ebuf) < 0)
        what = "cannot read without blocking";
    else if ((p->fd = pcap_get_selectable_fd(l->pc)) < 0)
        what = "has no descriptor to wait on";
    if (what) {
        l2port_err(p, "pcap %s: %s (%s)", l->ifname, what, pcap_geterr(l->pc));
        pcap_close(l->pc);
        l->pc = NULL;
        p->fd = -1;
        return -EOPNOTSUPP;
    }
    return 0;
}

/* Let in what can concern the LAN: ARP and IP to its MAC, broadcast and
 * multicast, on its VLAN.  The engine checks all of it again; the filter only
 * keeps the host's other traffic from waking us. */
static int live_ready(struct l2port *p)
{
    struct live *l = live_of(p);
    uint8_t mac[6];
    char m[18];
    glan_l2_mac(p->l2, mac);
    glan_l2_format_mac(mac, m, sizeof m);
    char vlan[32] = "";
    if (p->cfg.vlan)
        snprintf(vlan, sizeof vlan, "vlan %u and ", p->cfg.vlan);
    snprintf(l->filter, sizeof l->filter,
             "%s(arp or ip or ip6) and (ether dst %s or ether broadcast or ether multicast)", vlan,
             m);
    struct bpf_program prog;
    if (pcap_compile(l->pc, &prog, l->filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
        l2port_err(p, "pcap %s: filter '%s': %s", l->ifname, l->filter, pcap_geterr(l->pc));
        return -EINVAL;
    }
    int rc = pcap_setfilter(l->pc, &prog);
    pcap_freecode(&prog);
    if (rc < 0) {
        l2port_err(p, "pcap %s: cannot set the filter: %s", l->ifname, pcap_geterr(l->pc));
        return -EIO;
    }
    return 0;
}

static void live_close(struct l2port *p)
{
    struct live *l = live_of(p);
    if (l->pc)
        pcap_close(l->pc);
    l->pc = NULL;
    l->filter[0] = 0;
    p->fd = -1;
}

static int live_write(struct l2port *p, const uint8_t *frame, size_t len)
{
    struct live *l = live_of(p);
    if (pcap_inject(l->pc, frame, len) == (int)len)
        return 0;
    /* libpcap reports only text; a full socket buffer is the one case worth
     * retrying, and the base's wait queue does that for us on -EAGAIN. */
    const char *e = pcap_geterr(l->pc);
    if (strstr(e, "No buffer space") || strstr(e, "Resource temporarily unavailable")) {
        l2port_want_pollout(p);
        return -EAGAIN;
    }
    if (strstr(e, "Network is down") || strstr(e, "No such device"))
        return -ENETDOWN;
    return -EIO;
}

static int live_read(struct l2port *p, const uint8_t **frame, size_t *len)
{
    struct live *l = live_of(p);
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc = pcap_next_ex(l->pc, &h, &data);
    if (rc == 1) {
        if (h->caplen < h->len) {
            /* cut short by the snap length: not a datagram we can pass on */
            return -EMSGSIZE;
        }
        *frame = data;
        *len = h->caplen;
        return 1;
    }
    if (rc == 0)
        return 0;
    return rc == PCAP_ERROR ? -EIO : -ENODATA;
}

static void live_destroy(struct l2port *p)
{
    struct live *l = live_of(p);
    free(l->ifname);
    free(l);
}

static const struct l2port_dev live_dev = {
    .kind = "pcaplive",
    .open = live_open,
    .ready = live_ready,
    .close = live_close,
    .write = live_write,
    .read = live_read,
    .destroy = live_destroy,
};

struct glan_uplink *glan_pcaplive_create(const struct glan_pcaplive_config *cfg, char *err,
                                         size_t errlen)
{
    if (!cfg || !cfg->ifname || !cfg->ifname[0]) {
        snprintf(err, errlen, "pcaplive: no interface named");
        return NULL;
    }
    if (cfg->l2.vlan > 4094) {
        snprintf(err, errlen, "pcaplive: VLAN ID %u is out of range (1..4094, 0 for none)",
                 cfg->l2.vlan);
        return NULL;
    }
    struct l2port *p = calloc(1, sizeof *p);
    struct live *l = calloc(1, sizeof *l);
    char *name = strdup(cfg->ifname);
    if (!p || !l || !name) {
        free(p);
        free(l);
        free(name);
        snprintf(err, errlen, "pcaplive: out of memory");
        return NULL;
    }
    l->ifname = name;
    l->buffer_size = cfg->buffer_size;
    l->no_promisc = cfg->no_promisc;
    l2port_init(p, &live_dev, &cfg->l2);
    p->priv = l;
    return &p->u;
}

int glan_pcaplive_filter(struct glan_uplink *u, char *buf, size_t len)
{
    struct l2port *p = l2port_of(u);
    if (!p || p->dev != &live_dev)
        return -EINVAL;
    snprintf(buf, len, "%s", live_of(p)->filter);
    return 0;
}
