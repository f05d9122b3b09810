/*
 * Uplink specs from words (include/guestlan/uplinkspec.h): the parser of
 * "tun IF ...", "tap IF ..." and "pcap IF ..." and the factories behind the
 * specs it makes.  A spec's arg is one heap block with the parsed
 * configuration and the interface name it points to, so the spec outlives
 * the words it was parsed from (a Hercules command line).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "guestlan/l2.h"
#include "guestlan/pcaplive.h"
#include "guestlan/tap.h"
#include "guestlan/tun.h"
#include "guestlan/uplinkspec.h"

enum kind { K_TUN, K_TAP, K_PCAP };

struct spec_arg {
    enum kind kind;
    char ifname[32];
    char what[96];
    struct glan_tun_config tun;
    struct glan_tap_config tap;
    struct glan_pcaplive_config pcap;
};

/* ---- the factories ------------------------------------------------------------- */

static struct glan_uplink *spec_up(void *arg, struct glan_lan *lan, char *err, size_t errlen)
{
    struct spec_arg *a = arg;
    struct glan_uplink *u = NULL;
    switch (a->kind) {
    case K_TUN:
        u = glan_tun_create(&a->tun, err, errlen);
        break;
    case K_TAP:
        u = glan_tap_create(&a->tap, err, errlen);
        break;
    case K_PCAP:
        u = glan_pcaplive_create(&a->pcap, err, errlen);
        break;
    }
    if (!u)
        return NULL;
    int rc = a->kind == K_TUN ? glan_tun_attach(lan, u) : glan_l2_uplink_attach(lan, u);
    if (rc < 0) {
        snprintf(err, errlen, "%s", u->err[0] ? u->err : strerror(-rc));
        glan_uplink_destroy(u);
        return NULL;
    }
    return u;
}

static void spec_down(void *arg, struct glan_uplink *u)
{
    struct spec_arg *a = arg;
    /* The receive thread stops before the port goes. */
    if (a->kind == K_TUN)
        glan_tun_detach(u);
    else
        glan_l2_uplink_detach(u);
    glan_uplink_destroy(u);
}

static void spec_release(void *arg)
{
    free(arg);
}

/* ---- the parser ---------------------------------------------------------------- */

static int parse_num(const char *text, unsigned long lo, unsigned long hi, unsigned long *out)
{
    char *end;
    if (!text || !text[0] || text[0] == '-')
        return -1;
    errno = 0;
    unsigned long v = strtoul(text, &end, 0);
    if (*end || errno || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* "ADDR/LEN" into a and len. */
static int parse_prefix(const char *text, struct glan_addr *a, uint8_t *len)
{
    char buf[64];
    const char *slash = strchr(text, '/');
    if (!slash || (size_t)(slash - text) >= sizeof buf)
        return -1;
    memcpy(buf, text, (size_t)(slash - text));
    buf[slash - text] = 0;
    unsigned long l;
    if (glan_addr_parse(buf, a) < 0 ||
        parse_num(slash + 1, 0, a->family == GLAN_AF_INET ? 32 : 128, &l) < 0)
        return -1;
    *len = (uint8_t)l;
    return 0;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

int glan_uplink_spec_parse(int argc, char *const argv[], struct glan_uplink_spec *out, char *err,
                           size_t errlen)
{
    static const char usage[] = "tun IF [mtu N] | tap IF [mtu N] [mac M] [vlan N] "
                                "[gateway A] [onlink A/LEN] | pcap IF [mac M] [vlan N] "
                                "[gateway A] [onlink A/LEN] [nopromisc] [buffer N]";
    if (argc < 1)
        return fail(err, errlen, "missing uplink kind: %s", usage);
    struct spec_arg *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    if (!strcasecmp(argv[0], "tun"))
        a->kind = K_TUN;
    else if (!strcasecmp(argv[0], "tap"))
        a->kind = K_TAP;
    else if (!strcasecmp(argv[0], "pcap"))
        a->kind = K_PCAP;
    else {
        free(a);
        return fail(err, errlen, "unknown uplink kind '%s' (known: tun, tap, pcap)", argv[0]);
    }
    const char *kind = a->kind == K_TUN ? "tun" : a->kind == K_TAP ? "tap" : "pcap";
    if (argc < 2 || !argv[1][0] || strlen(argv[1]) >= 16) {
        free(a);
        return fail(err, errlen, "uplink %s needs an interface name (1 to 15 characters)", kind);
    }
    snprintf(a->ifname, sizeof a->ifname, "%s", argv[1]);
    struct glan_l2_config *l2 = a->kind == K_TAP ? &a->tap.l2 : &a->pcap.l2;
    uint32_t mtu = 0;
    int rc = 0;
    for (int i = 2; i < argc && rc == 0; i++) {
        const char *kw = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long v = 0;
        if (!strcasecmp(kw, "nopromisc") && a->kind == K_PCAP) {
            a->pcap.no_promisc = 1;
            continue;
        }
        i++; /* every other option takes a value */
        if (!strcasecmp(kw, "mtu") && a->kind != K_PCAP) {
            if (parse_num(val, 68, 65535, &v) < 0)
                rc = fail(err, errlen, "option '%s' needs a number from 68 to 65535", kw);
            else
                mtu = (uint32_t)v;
        } else if (a->kind == K_TUN) {
            rc = fail(err, errlen, "unknown option '%s' for uplink tun (known: mtu)", kw);
        } else if (!strcasecmp(kw, "mac")) {
            if (!val || glan_l2_parse_mac(val, l2->mac) < 0 || (l2->mac[0] & 1))
                rc = fail(err, errlen,
                          "option '%s' needs a unicast MAC address (02:00:00:00:00:01)", kw);
        } else if (!strcasecmp(kw, "vlan")) {
            if (parse_num(val, 1, 4094, &v) < 0)
                rc = fail(err, errlen, "option '%s' needs a VLAN ID from 1 to 4094", kw);
            else
                l2->vlan = (uint16_t)v;
        } else if (!strcasecmp(kw, "gateway")) {
            struct glan_addr g;
            if (!val || glan_addr_parse(val, &g) < 0)
                rc = fail(err, errlen, "option '%s' needs an IPv4 or IPv6 address", kw);
            else if (g.family == GLAN_AF_INET)
                l2->gateway4 = g;
            else
                l2->gateway6 = g;
        } else if (!strcasecmp(kw, "onlink")) {
            struct glan_addr p;
            uint8_t len;
            if (!val || parse_prefix(val, &p, &len) < 0)
                rc = fail(err, errlen, "option '%s' needs a prefix ADDR/LEN", kw);
            else if (p.family == GLAN_AF_INET) {
                l2->onlink4 = p;
                l2->onlink4_len = len;
            } else {
                l2->onlink6 = p;
                l2->onlink6_len = len;
            }
        } else if (!strcasecmp(kw, "buffer") && a->kind == K_PCAP) {
            if (parse_num(val, 65536, 1u << 30, &v) < 0)
                rc = fail(err, errlen, "option '%s' needs a size from 65536 to 2^30 bytes", kw);
            else
                a->pcap.buffer_size = (uint32_t)v;
        } else {
            rc = fail(err, errlen, "unknown option '%s' for uplink %s", kw, kind);
        }
    }
    if (rc) {
        free(a);
        return rc;
    }
    a->tun.ifname = a->ifname;
    a->tun.mtu = mtu;
    a->tun.up = 1;
    a->tap.ifname = a->ifname;
    a->tap.mtu = mtu;
    a->tap.up = 1;
    a->pcap.ifname = a->ifname;

    /* The description queries show: the words after the kind. */
    size_t used = 0;
    for (int i = 1; i < argc && used < sizeof a->what; i++)
        used += (size_t)snprintf(a->what + used, sizeof a->what - used, "%s%s", i > 1 ? " " : "",
                                 argv[i]);
    memset(out, 0, sizeof *out);
    out->kind = kind;
    out->what = a->what;
    out->up = spec_up;
    out->down = spec_down;
    out->release = spec_release;
    out->arg = a;
    return 0;
}
