/*
 * Uplink specs from words (include/uplink/guestlan/uplinkspec.h): the registry of
 * uplink kinds, the one parser of "KIND IFNAME [options]" that looks the kind
 * up in it, and the factory behind the specs it makes.  A kind brings its
 * own option parser and constructor; what every kind shares (the interface
 * name, the description queries show, the factory's attach and teardown) is
 * here.  A spec's arg is one heap block with the kind, the interface name and
 * the parsed configuration, so the spec outlives the words it was parsed
 * from (a Hercules command line).
 */
#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kinds.h"

/* ---- the registry ---------------------------------------------------------------- */

/* The kinds of this library (kinds.h's UPLINK_KINDS: a new kind is one line
 * there, docs/adding-an-uplink.md). */
#define UPLINK_KIND_ENTRY(name) &uplink_kind_##name,
static const struct glan_uplink_kind *const builtin[] = {UPLINK_KINDS(UPLINK_KIND_ENTRY)};
#define NBUILTIN (sizeof builtin / sizeof builtin[0])

/* Kinds registered at run time, after the built-in ones. */
enum { EXTRA_MAX = 8 };
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct glan_uplink_kind *extra[EXTRA_MAX];
static size_t nextra;

const struct glan_uplink_kind *glan_uplink_kind_at(size_t i)
{
    if (i < NBUILTIN)
        return builtin[i];
    pthread_mutex_lock(&reg_lock);
    const struct glan_uplink_kind *k = i - NBUILTIN < nextra ? extra[i - NBUILTIN] : NULL;
    pthread_mutex_unlock(&reg_lock);
    return k;
}

const struct glan_uplink_kind *glan_uplink_kind_find(const char *name)
{
    const struct glan_uplink_kind *k;
    for (size_t i = 0; name && (k = glan_uplink_kind_at(i)); i++)
        if (!strcasecmp(k->name, name))
            return k;
    return NULL;
}

int glan_uplink_kind_register(const struct glan_uplink_kind *kind)
{
    if (!kind || !kind->name || !kind->name[0] || !kind->usage || !kind->option || !kind->create)
        return -EINVAL;
    pthread_mutex_lock(&reg_lock);
    int rc = 0;
    for (size_t i = 0; i < NBUILTIN + nextra && rc == 0; i++) {
        const struct glan_uplink_kind *k = i < NBUILTIN ? builtin[i] : extra[i - NBUILTIN];
        if (!strcasecmp(k->name, kind->name))
            rc = -EEXIST;
    }
    if (rc == 0 && nextra == EXTRA_MAX)
        rc = -ENOSPC;
    if (rc == 0)
        extra[nextra++] = kind;
    pthread_mutex_unlock(&reg_lock);
    return rc;
}

void glan_uplink_kinds_list(char *buf, size_t len, int usage, const char *sep)
{
    const struct glan_uplink_kind *k;
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; (k = glan_uplink_kind_at(i)) && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? sep : "",
                                 usage ? k->usage : k->name);
}

/* ---- option parsers the kinds share (kinds.h) ------------------------------------ */

int spec_number(const char *val, unsigned long lo, unsigned long hi, unsigned long *out)
{
    char *end;
    if (!val || !val[0] || val[0] == '-')
        return -1;
    errno = 0;
    unsigned long v = strtoul(val, &end, 0);
    if (*end || errno || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int spec_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

int spec_mtu_option(uint32_t *mtu, const char *kw, const char *val, char *err, size_t errlen)
{
    unsigned long v;
    if (spec_number(val, 68, 65535, &v) < 0)
        return spec_fail(err, errlen, "option '%s' needs a number from 68 to 65535", kw);
    *mtu = (uint32_t)v;
    return 2;
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
        spec_number(slash + 1, 0, a->family == GLAN_AF_INET ? 32 : 128, &l) < 0)
        return -1;
    *len = (uint8_t)l;
    return 0;
}

static int gateway_option(struct glan_l2_config *l2, const char *kw, const char *val, char *err,
                          size_t errlen)
{
    struct glan_addr g;
    if (!val || glan_addr_parse(val, &g) < 0)
        return spec_fail(err, errlen, "option '%s' needs an IPv4 or IPv6 address", kw);
    if (g.family == GLAN_AF_INET)
        l2->gateway4 = g;
    else
        l2->gateway6 = g;
    return 2;
}

static int onlink_option(struct glan_l2_config *l2, const char *kw, const char *val, char *err,
                         size_t errlen)
{
    struct glan_addr p;
    uint8_t len;
    if (!val || parse_prefix(val, &p, &len) < 0)
        return spec_fail(err, errlen, "option '%s' needs a prefix ADDR/LEN", kw);
    if (p.family == GLAN_AF_INET) {
        l2->onlink4 = p;
        l2->onlink4_len = len;
    } else {
        l2->onlink6 = p;
        l2->onlink6_len = len;
    }
    return 2;
}

int spec_l2_option(struct glan_l2_config *l2, const char *kw, const char *val, char *err,
                   size_t errlen)
{
    unsigned long v;
    if (!strcasecmp(kw, "mac")) {
        if (!val || glan_l2_parse_mac(val, l2->mac) < 0 || (l2->mac[0] & 1))
            return spec_fail(err, errlen,
                             "option '%s' needs a unicast MAC address (02:00:00:00:00:01)", kw);
        return 2;
    }
    if (!strcasecmp(kw, "vlan")) {
        if (spec_number(val, 1, 4094, &v) < 0)
            return spec_fail(err, errlen, "option '%s' needs a VLAN ID from 1 to 4094", kw);
        l2->vlan = (uint16_t)v;
        return 2;
    }
    if (!strcasecmp(kw, "gateway"))
        return gateway_option(l2, kw, val, err, errlen);
    if (!strcasecmp(kw, "onlink"))
        return onlink_option(l2, kw, val, err, errlen);
    return 0;
}

/* ---- the factory -------------------------------------------------------------------- */

struct spec_arg {
    const struct glan_uplink_kind *kind;
    char ifname[32];
    char what[96];
    alignas(max_align_t) unsigned char config[]; /* kind->config_size bytes */
};

static struct glan_uplink *spec_up(void *arg, struct glan_lan *lan, char *err, size_t errlen)
{
    struct spec_arg *a = arg;
    struct glan_uplink *u = a->kind->create(a->config, a->ifname, err, errlen);
    if (!u)
        return NULL;
    /* The uplink's start op starts its receive thread (and a layer-2 uplink
     * announces the addresses already registered). */
    int rc = glan_uplink_attach(lan, u);
    if (rc < 0) {
        snprintf(err, errlen, "%s", u->err[0] ? u->err : strerror(-rc));
        glan_uplink_destroy(u);
        return NULL;
    }
    return u;
}

static void spec_down(void *arg, struct glan_uplink *u)
{
    (void)arg;
    glan_uplink_destroy(u); /* the receive thread stops before the port goes */
}

static void spec_release(void *arg)
{
    free(arg);
}

/* ---- the parser ----------------------------------------------------------------------- */

/* The options after the interface name, through the kind's parser. */
static int parse_options(struct spec_arg *a, int argc, char *const argv[], char *err, size_t errlen)
{
    for (int i = 2; i < argc;) {
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        int n = a->kind->option(a->config, argv[i], val, err, errlen);
        if (n < 0)
            return n;
        if (n == 0)
            return spec_fail(err, errlen, "unknown option '%s' for uplink %s", argv[i],
                             a->kind->name);
        i += n;
    }
    return 0;
}

int glan_uplink_spec_parse(int argc, char *const argv[], struct glan_uplink_spec *out, char *err,
                           size_t errlen)
{
    char list[512];
    if (argc < 1) {
        glan_uplink_kinds_list(list, sizeof list, 1, " | ");
        return spec_fail(err, errlen, "missing uplink kind: %s", list);
    }
    const struct glan_uplink_kind *kind = glan_uplink_kind_find(argv[0]);
    if (!kind) {
        glan_uplink_kinds_list(list, sizeof list, 0, ", ");
        return spec_fail(err, errlen, "unknown uplink kind '%s' (known: %s)", argv[0], list);
    }
    if (argc < 2 || !argv[1][0] || strlen(argv[1]) >= 16)
        return spec_fail(err, errlen, "uplink %s needs an interface name (1 to 15 characters)",
                         kind->name);
    struct spec_arg *a = calloc(1, sizeof *a + kind->config_size);
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    a->kind = kind;
    snprintf(a->ifname, sizeof a->ifname, "%s", argv[1]);
    int rc = parse_options(a, argc, argv, err, errlen);
    if (rc) {
        free(a);
        return rc;
    }
    /* The description queries show: the words after the kind. */
    size_t used = 0;
    for (int i = 1; i < argc && used < sizeof a->what; i++)
        used += (size_t)snprintf(a->what + used, sizeof a->what - used, "%s%s", i > 1 ? " " : "",
                                 argv[i]);
    memset(out, 0, sizeof *out);
    out->kind = kind->name;
    out->what = a->what;
    out->up = spec_up;
    out->down = spec_down;
    out->release = spec_release;
    out->arg = a;
    return 0;
}
