/*
 * The live pcap uplink (include/uplink/guestlan/pcaplive.h): a device of the device
 * runner (runner.h) over a real interface through libpcap, under the
 * layer-2 link (l2port.h).  Its kind is registered for uplink specs here
 * ("pcap IF [mac M] ... [nopromisc] [buffer N]").
 *
 * Open: pcap_create, then the options (snap length for a whole 64 KiB
 * datagram, promiscuous mode, immediate mode so that each frame wakes us at
 * once rather than when a buffer block fills, buffer size), pcap_activate,
 * then inbound direction only (we must not see our own injected frames) and
 * non-blocking reads on the selectable descriptor the runner polls.  The capture
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
#include <strings.h>

#include <pcap/pcap.h>

#include "guestlan/pcaplive.h"
#include "kinds.h"
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

static const struct runner_dev live_dev;

static struct live *live_of(struct runner *r)
{
    return r->dev_state;
}

/* Say what went wrong at activation, and what to do about it. */
static void activate_error(struct runner *r, struct live *l, int rc)
{
    const char *why = pcap_geterr(l->pc);
    switch (rc) {
    case PCAP_ERROR_PERM_DENIED:
    case PCAP_ERROR_PROMISC_PERM_DENIED:
        runner_err(r,
                   "pcap %s: permission denied (%s): capturing needs CAP_NET_RAW and promiscuous "
                   "mode CAP_NET_ADMIN; run 'setcap cap_net_raw,cap_net_admin+ep' on the "
                   "program instead of running it as root",
                   l->ifname, why);
        break;
    case PCAP_ERROR_NO_SUCH_DEVICE:
        runner_err(r, "pcap %s: no such interface (%s)", l->ifname, why);
        break;
    case PCAP_ERROR_IFACE_NOT_UP:
        runner_err(r, "pcap %s: the interface is down: 'ip link set dev %s up'", l->ifname,
                   l->ifname);
        break;
    default:
        runner_err(r, "pcap %s: cannot activate the capture: %s (%s)", l->ifname,
                   pcap_statustostr(rc), why);
        break;
    }
}

static int live_open(struct runner *r, int reopen)
{
    struct live *l = live_of(r);
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    (void)reopen; /* a capture never creates its interface */
    snprintf(r->ifname, sizeof r->ifname, "%s", l->ifname);
    l->pc = pcap_create(l->ifname, ebuf);
    if (!l->pc) {
        runner_err(r, "pcap %s: %s", l->ifname, ebuf);
        return -ENODEV;
    }
    pcap_set_snaplen(l->pc, SNAPLEN);
    pcap_set_promisc(l->pc, !l->no_promisc);
    pcap_set_immediate_mode(l->pc, 1);
    pcap_set_buffer_size(l->pc, (int)(l->buffer_size ? l->buffer_size : 2u << 20));
    int rc = pcap_activate(l->pc);
    if (rc < 0) {
        activate_error(r, l, rc);
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
    else if ((r->fd = pcap_get_selectable_fd(l->pc)) < 0)
        what = "has no descriptor to wait on";
    if (what) {
        runner_err(r, "pcap %s: %s (%s)", l->ifname, what, pcap_geterr(l->pc));
        pcap_close(l->pc);
        l->pc = NULL;
        r->fd = -1;
        return -EOPNOTSUPP;
    }
    return 0;
}

/* Let in what can concern the LAN: ARP and IP to its MAC, broadcast and
 * multicast, on its VLAN.  The engine checks all of it again; the filter only
 * keeps the host's other traffic from waking us. */
static int live_ready(struct runner *r)
{
    struct live *l = live_of(r);
    if (l2port_bridge(r)) {
        /* A bridge port (transport ETHERNET) takes every frame that comes
         * in, none of those it sends itself. */
        snprintf(l->filter, sizeof l->filter, "(inbound only)");
        if (pcap_setdirection(l->pc, PCAP_D_IN) < 0) {
            runner_err(r, "pcap %s: cannot capture inbound frames only: %s", l->ifname,
                       pcap_geterr(l->pc));
            return -EIO;
        }
        return 0;
    }
    uint8_t mac[6];
    char m[18];
    l2port_mac(r, mac);
    glan_l2_format_mac(mac, m, sizeof m);
    char vlan[32] = "";
    if (l2port_vlan(r))
        snprintf(vlan, sizeof vlan, "vlan %u and ", l2port_vlan(r));
    snprintf(l->filter, sizeof l->filter,
             "%s(arp or ip or ip6) and (ether dst %s or ether broadcast or ether multicast)", vlan,
             m);
    struct bpf_program prog;
    if (pcap_compile(l->pc, &prog, l->filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
        runner_err(r, "pcap %s: filter '%s': %s", l->ifname, l->filter, pcap_geterr(l->pc));
        return -EINVAL;
    }
    int rc = pcap_setfilter(l->pc, &prog);
    pcap_freecode(&prog);
    if (rc < 0) {
        runner_err(r, "pcap %s: cannot set the filter: %s", l->ifname, pcap_geterr(l->pc));
        return -EIO;
    }
    return 0;
}

static void live_close(struct runner *r)
{
    struct live *l = live_of(r);
    if (l->pc)
        pcap_close(l->pc);
    l->pc = NULL;
    l->filter[0] = 0;
    r->fd = -1;
}

static int live_write(struct runner *r, const uint8_t *frame, size_t len)
{
    struct live *l = live_of(r);
    if (pcap_inject(l->pc, frame, len) == (int)len)
        return 0;
    /* libpcap reports only text; a full socket buffer is the one case worth
     * retrying, and the base's wait queue does that for us on -EAGAIN. */
    const char *e = pcap_geterr(l->pc);
    if (strstr(e, "No buffer space") || strstr(e, "Resource temporarily unavailable"))
        return -EAGAIN; /* the runner watches for room */
    if (strstr(e, "Network is down") || strstr(e, "No such device"))
        return -ENETDOWN;
    return -EIO;
}

static int live_read(struct runner *r, const uint8_t **frame, size_t *len)
{
    struct live *l = live_of(r);
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

static void live_destroy(struct runner *r)
{
    struct live *l = live_of(r);
    free(l->ifname);
    free(l);
}

static const struct runner_dev live_dev = {
    .kind = "pcaplive",
    .spec_name = "pcap",
    .lost = "the device failed or was removed",
    .awaited = "",
    .returned = "the interface is back",
    .down_text = "device gone or failed",
    .same_link_returns = 1,
    .open = live_open,
    .ready = live_ready,
    .read = live_read,
    .write = live_write,
    .close = live_close,
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
    struct live *l = calloc(1, sizeof *l);
    char *name = strdup(cfg->ifname);
    struct runner *r = l && name ? l2port_new(&live_dev, &cfg->l2, l) : NULL;
    if (!r) {
        free(l);
        free(name);
        snprintf(err, errlen, "pcaplive: out of memory");
        return NULL;
    }
    l->ifname = name;
    r->mtu_cfg = cfg->mtu;
    l->buffer_size = cfg->buffer_size;
    l->no_promisc = cfg->no_promisc;
    return &r->u;
}

int glan_pcaplive_filter(struct glan_uplink *u, char *buf, size_t len)
{
    struct runner *r = l2port_of(u);
    if (!r || r->dev != &live_dev)
        return -EINVAL;
    pthread_mutex_lock(&r->lock);
    snprintf(buf, len, "%s", live_of(r)->filter);
    pthread_mutex_unlock(&r->lock);
    return 0;
}

/* ---- the kind, for uplink specs -------------------------------------------------- */

static int pcap_option(void *config, const char *kw, const char *val, char *err, size_t errlen)
{
    struct glan_pcaplive_config *c = config;
    unsigned long v;
    if (!strcasecmp(kw, "nopromisc")) {
        c->no_promisc = 1;
        return 1;
    }
    if (!strcasecmp(kw, "mtu"))
        return spec_mtu_option(&c->mtu, kw, val, err, errlen);
    if (strcasecmp(kw, "buffer") != 0)
        return spec_l2_option(&c->l2, kw, val, err, errlen);
    if (spec_number(val, 65536, 1u << 30, &v) < 0)
        return spec_fail(err, errlen, "option '%s' needs a size from 65536 to 2^30 bytes", kw);
    c->buffer_size = (uint32_t)v;
    return 2;
}

static struct glan_uplink *pcap_spec_create(const void *config, const char *ifname, char *err,
                                            size_t errlen)
{
    struct glan_pcaplive_config c = *(const struct glan_pcaplive_config *)config;
    c.ifname = ifname;
    return glan_pcaplive_create(&c, err, errlen);
}

static const char *const pcap_help[] = {
    "    pcap ifname [mtu n] [mac m] [vlan n] [gateway a] [onlink a/len]",
    "                [nopromisc] [buffer bytes]",
    "           a real Ethernet interface through libpcap (needs",
    "           cap_net_raw,cap_net_admin); options as tap, but mtu n",
    "           leaves the interface alone: the path's MTU beyond it.",
    NULL,
};

const struct glan_uplink_kind uplink_kind_pcap = {
    .name = "pcap",
    .usage = "pcap IF [mtu N] [mac M] [vlan N] [gateway A] [onlink A/LEN] [nopromisc] [buffer N]",
    .help = pcap_help,
    .config_size = sizeof(struct glan_pcaplive_config),
    .option = pcap_option,
    .create = pcap_spec_create,
};
