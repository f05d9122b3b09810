/*
 * glan replay: replay captured traffic through one LAN and record what every
 * port receives.  Each --port is a guest whose "device" records what the base
 * delivers to it into NAME.pcap; --uplink attaches the pcap file uplink,
 * which records what leaves the LAN into uplink.pcap; each --send capture is
 * injected from its port (or arrives from the network), all captures merged
 * by timestamp.  Afterwards counters.json holds every counter of the run.
 *
 * The tool is deliberately a plain user of the public API: everything it
 * shows about forwarding is what the base did, nothing is decided here.
 * Inputs are read through once before the LAN is built, so a bad file ends
 * the run (status 2) before any output is written.
 *
 * With --through-qdio each port is instead a simulated Linux qeth guest
 * (src/simguest/) behind the OSA device model: its addresses and groups are
 * SETIP/SETIPM commands, what it sends goes through output SBALs and SIGA-w,
 * and what it receives is taken from its input SBALs.  Timestamps travel as
 * the guest's clock: set to the capture timestamp before each datagram, read
 * by the device for what it sends (the host op clock) and stamped by the
 * guest on what it takes from its input right after (docs/replay.md).
 *
 * With --uplink tun:NAME the uplink is a real TUN device instead of the pcap
 * file uplink: what the LAN sends out goes to the host's IP stack, and
 * uplink.pcap records what the host received on NAME, captured there with
 * libpcap (inbound only), so a run shows that the datagrams really arrived.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "guestlan/base.h"
#include "guestlan/osa.h"
#include "guestlan/capture.h"
#include "guestlan/pcapfile.h"
#include "guestlan/tun.h"
#include "guestlan/uplink.h"
#include "guestlan/uplinkspec.h"

#include "cmds.h"
#include "osa/osa_wire.h"
#include "simguest/simguest.h"

#define PROG "glan replay"

/* Exit statuses (cmds.h). */
enum { ST_OK = 0, ST_FAILED = 1, ST_USAGE = 2 };

static const char usage_text[] =
    "usage: glan replay --port NAME=ADDR[,ADDR...] ... [--group NAME=MCASTADDR ...]\n"
    "                   [--uplink] [--through-qdio] --send SRC:FILE.pcap ... --out DIR\n"
    "\n"
    "Replay captured IP traffic through one guest LAN and record what every port\n"
    "receives.\n"
    "\n"
    "  --port NAME=ADDR[,ADDR...]\n"
    "        a guest port and the IPv4/IPv6 unicast addresses registered to it.\n"
    "        NAME: 1-31 of A-Z a-z 0-9 _ . - (not 'uplink', not starting with '.').\n"
    "        A port naming an address another port registered first is refused\n"
    "        that address (a line on stderr, counted as registrations_refused);\n"
    "        the first owner keeps it and the run goes on.\n"
    "  --group NAME=MCASTADDR\n"
    "        join port NAME to a multicast group (IPv4 224.0.0.0/4, IPv6 ff00::/8).\n"
    "  --uplink\n"
    "        give the LAN an uplink (a pcap file uplink writing DIR/uplink.pcap).\n"
    "  --uplink tun:IFNAME[,mtu=N]   (or --uplink=tun:IFNAME...)\n"
    "        the uplink is the host's TUN device IFNAME instead (created when\n"
    "        missing, which needs CAP_NET_ADMIN, and brought up): what the LAN\n"
    "        sends out goes to the host's IP stack, and DIR/uplink.pcap holds\n"
    "        what the host received on IFNAME, captured there (libpcap, needs\n"
    "        CAP_NET_RAW), timestamped by the capture.  Sending from 'uplink'\n"
    "        needs the pcap file uplink.\n"
    "  --send SRC:FILE\n"
    "        inject every IPv4/IPv6 datagram of capture FILE from port SRC, or from\n"
    "        'uplink' as traffic arriving from the network (needs --uplink).\n"
    "        Captures: pcap or pcapng, link type RAW, IPV4, IPV6, EN10MB (802.1Q\n"
    "        tags unwrapped), LINUX_SLL, LINUX_SLL2 or NULL.  Frames that carry no\n"
    "        IP (ARP, ...) are skipped and counted.  All captures are merged by\n"
    "        timestamp; equal timestamps go in command-line order.  A timestamp\n"
    "        of exactly 0 means \"now\": such a datagram is stamped with the\n"
    "        host's time as it is sent.\n"
    "  --through-qdio\n"
    "        make every port a simulated Linux qeth guest behind the OSA device\n"
    "        model: full bring-up (IDX, MPC, queues, STARTLAN), SETIP for each\n"
    "        address (a refused one, return code 0xE005, is reported and counted as\n"
    "        above), SETIPM for each --group, every datagram sent through output\n"
    "        SBALs and SIGA-w, what the guest receives read from its input SBALs.\n"
    "        The outputs are the same as without it (timestamps included), plus\n"
    "        the device counters under \"qdio\" in counters.json.  A datagram over\n"
    "        65504 bytes does not fit an output buffer: not sent, counted there.\n"
    "  --out DIR\n"
    "        created if missing; receives NAME.pcap for every port (what it\n"
    "        received: DLT_RAW, nanosecond timestamps, the original timestamps),\n"
    "        uplink.pcap (what went out; only with --uplink) and counters.json\n"
    "        (LAN totals, every port's counters with every drop reason, the\n"
    "        uplink's counters, each input's counts, refused registrations).\n"
    "        The captures are pcapng instead of pcap when an input has a\n"
    "        timestamp from 2106-02-07 06:28:16 UTC on, which pcap cannot hold.\n"
    "\n"
    "Each option also takes the form --opt=VALUE.  Exit status: 0 success; 2 a\n"
    "bad argument, or an unreadable or malformed capture (a one-line message\n"
    "names it; no output is written); 1 the outputs could not be written.\n"
    "See docs/replay.md.\n";

/* A guest port: its recording is its whole device, or (--through-qdio) a
 * simulated guest whose input is recorded. */
struct rport {
    const char *name;
    const char *addrs; /* the text after '=' */
    struct glan_port *port;
    struct simguest *sg;  /* --through-qdio */
    uint64_t unsendable;  /* --through-qdio: datagrams over SG_MAX_SEND */
    uint64_t send_errors; /* --through-qdio: output buffers the device failed */
    int ipa_rc;           /* --through-qdio: the last SETIP/SETIPM return code */
    int index;
    struct glan_pcap_writer *wr;
    int failed;
    char err[256];
};

struct rgroup {
    const char *port;
    const char *addr;
};

struct rsend {
    const char *arg;  /* SRC:FILE as given */
    const char *file; /* points into a copy of arg */
    char *srcbuf;     /* owns the copy */
    int src;          /* index into ports, -1 for the uplink */
    struct glan_pcap_reader *rd;
    struct glan_pcap_reader_stats st;
    int have; /* a datagram is waiting in data/len/ts */
    const uint8_t *data;
    size_t len;
    uint64_t ts;
};

struct refusal {
    int port, owner; /* indexes into ports */
    char addr[48];
};

struct replay {
    struct rport *ports;
    size_t nports;
    struct rgroup *groups;
    size_t ngroups;
    struct rsend *sends;
    size_t nsends;
    int uplink;
    const char *uplink_dev; /* --uplink KIND:IF...: a real uplink; NULL: the pcap file uplink */
    struct glan_uplink_spec spec;
    pcap_t *cap; /* what the host receives from the real uplink */
    struct glan_pcap_writer *capwr;
    uint64_t captured;
    int qdio; /* --through-qdio */
    /* Of every capture written: pcapng when a timestamp needs it. */
    enum glan_pcap_format fmt;
    const char *out;
    struct refusal *refused;
    size_t nrefused;
    struct glan_lan *lan;
    struct glan_uplink *up;
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Every problem is one line on stderr, prefixed with the command. */
static void say(const char *fmt, ...)
{
    va_list ap;

    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int valid_port_name(const char *s, size_t n)
{
    if (n < 1 || n > 31 || s[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return n != 6 || strncmp(s, "uplink", 6) != 0;
}

static int find_port(const struct replay *rp, const char *name, size_t n)
{
    for (size_t i = 0; i < rp->nports; i++)
        if (strlen(rp->ports[i].name) == n && !strncmp(rp->ports[i].name, name, n))
            return (int)i;
    return -1;
}

static void *grow(void *arr, size_t n, size_t size)
{
    void *p = realloc(arr, (n + 1) * size);
    if (!p) {
        say("out of memory");
        exit(ST_FAILED);
    }
    memset((char *)p + n * size, 0, size);
    return p;
}

/* "--opt VALUE" or "--opt=VALUE": returns the value, or NULL when argv[*i] is
 * not this option.  Exits on a missing value. */
static const char *opt_value(int argc, char **argv, int *i, const char *opt)
{
    size_t n = strlen(opt);
    const char *a = argv[*i];

    if (strncmp(a, opt, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        say("%s needs a value (try 'glan replay --help')", opt);
        exit(ST_USAGE);
    }
    return argv[++*i];
}

static int parse_args(struct replay *rp, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *v;

        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_text, stdout);
            exit(ST_OK);
        } else if (!strcmp(argv[i], "--uplink") &&
                   (i + 1 >= argc || !strchr(argv[i + 1], ':') || argv[i + 1][0] == '-')) {
            rp->uplink = 1;
        } else if ((v = opt_value(argc, argv, &i, "--uplink"))) {
            rp->uplink = 1;
            rp->uplink_dev = v;
        } else if (!strcmp(argv[i], "--through-qdio")) {
            rp->qdio = 1;
        } else if ((v = opt_value(argc, argv, &i, "--port"))) {
            const char *eq = strchr(v, '=');
            if (!eq || !valid_port_name(v, (size_t)(eq - v))) {
                say("--port '%s': expected NAME=ADDR[,ADDR...] with NAME of 1-31 "
                    "characters A-Z a-z 0-9 _ . - (not 'uplink')",
                    v);
                return -1;
            }
            if (find_port(rp, v, (size_t)(eq - v)) >= 0) {
                say("--port '%s': port %.*s is defined twice", v, (int)(eq - v), v);
                return -1;
            }
            rp->ports = grow(rp->ports, rp->nports, sizeof *rp->ports);
            struct rport *p = &rp->ports[rp->nports++];
            p->name = strndup(v, (size_t)(eq - v));
            p->addrs = eq + 1;
            p->index = -1;
        } else if ((v = opt_value(argc, argv, &i, "--group"))) {
            const char *eq = strchr(v, '=');
            if (!eq || eq == v || !eq[1]) {
                say("--group '%s': expected NAME=MCASTADDR", v);
                return -1;
            }
            rp->groups = grow(rp->groups, rp->ngroups, sizeof *rp->groups);
            rp->groups[rp->ngroups].port = strndup(v, (size_t)(eq - v));
            rp->groups[rp->ngroups++].addr = eq + 1;
        } else if ((v = opt_value(argc, argv, &i, "--send"))) {
            const char *colon = strchr(v, ':');
            if (!colon || colon == v || !colon[1]) {
                say("--send '%s': expected SRC:FILE", v);
                return -1;
            }
            rp->sends = grow(rp->sends, rp->nsends, sizeof *rp->sends);
            struct rsend *s = &rp->sends[rp->nsends++];
            s->arg = v;
            s->srcbuf = strdup(v);
            s->srcbuf[colon - v] = '\0';
            s->file = s->srcbuf + (colon - v) + 1;
            /* libpcap reads "-" as standard input, which the checking pass
             * would consume before the run. */
            if (!strcmp(s->file, "-")) {
                say("--send '%s': captures are read twice, standard input cannot be", v);
                return -1;
            }
        } else if ((v = opt_value(argc, argv, &i, "--out"))) {
            if (!*v) {
                say("--out: empty directory name");
                return -1;
            }
            rp->out = v;
        } else {
            say("unexpected argument '%s' (try 'glan replay --help')", argv[i]);
            return -1;
        }
    }
    if (!rp->nports || !rp->nsends || !rp->out) {
        say("needs at least one --port, one --send and --out (try 'glan replay --help')");
        return -1;
    }
    /* Names are resolved once every port is known, so order does not matter. */
    for (size_t i = 0; i < rp->nsends; i++) {
        struct rsend *s = &rp->sends[i];
        if (!strcmp(s->srcbuf, "uplink")) {
            if (!rp->uplink) {
                say("--send '%s': sending from the uplink needs --uplink", s->arg);
                return -1;
            }
            if (rp->uplink_dev) {
                say("--send '%s': sending from the uplink needs the pcap file uplink "
                    "(--uplink without a device)",
                    s->arg);
                return -1;
            }
            s->src = -1;
        } else if ((s->src = find_port(rp, s->srcbuf, strlen(s->srcbuf))) < 0) {
            say("--send '%s': no port named '%s'", s->arg, s->srcbuf);
            return -1;
        }
    }
    for (size_t i = 0; i < rp->ngroups; i++)
        if (find_port(rp, rp->groups[i].port, strlen(rp->groups[i].port)) < 0) {
            say("--group %s=%s: no port named '%s'", rp->groups[i].port, rp->groups[i].addr,
                rp->groups[i].port);
            return -1;
        }
    return 0;
}

/* ---- inputs ---------------------------------------------------------------- */

static int open_input(struct rsend *s)
{
    char err[512];

    s->rd = glan_pcap_reader_open(s->file, err, sizeof err);
    if (!s->rd) {
        say("--send %s: %s", s->arg, err);
        return -1;
    }
    return 0;
}

/* Take the next datagram of s into s->data; 0 when one is there or the input
 * ended, -1 (message printed) when the capture is bad. */
static int advance(struct rsend *s)
{
    int rc = glan_pcap_reader_next(s->rd, &s->data, &s->len, &s->ts);

    s->have = rc == 1;
    if (rc < 0) {
        say("--send %s: %s", s->arg, glan_pcap_reader_error(s->rd));
        return -1;
    }
    return 0;
}

/* Read every capture through once: a malformed one fails the run before the
 * LAN exists or a single output file is touched.  It also tells which format
 * the outputs need: a datagram keeps its timestamp in every capture it ends
 * in, and classic pcap's seconds end in 2106. */
static int check_inputs(struct replay *rp)
{
    rp->fmt = GLAN_PCAP_CLASSIC;
    for (size_t i = 0; i < rp->nsends; i++) {
        struct rsend *s = &rp->sends[i];
        if (open_input(s) < 0)
            return -1;
        do {
            if (advance(s) < 0)
                return -1;
            if (s->have && s->ts >= GLAN_PCAP_CLASSIC_END_NS)
                rp->fmt = GLAN_PCAP_NG;
        } while (s->have);
        glan_pcap_reader_close(s->rd);
        s->rd = NULL;
    }
    return 0;
}

/* ---- the LAN ----------------------------------------------------------------- */

static int rec_deliver(void *ctx, const struct glan_dgram *dg)
{
    struct rport *p = ctx;

    if (!p->wr)
        return -ENETDOWN;
    if (p->failed)
        return -EIO;
    if (glan_pcap_writer_write(p->wr, dg->data, dg->len, dg->ts_ns, p->err, sizeof p->err)) {
        p->failed = 1;
        return -EIO;
    }
    return 0;
}

static const struct glan_port_ops rec_ops = {.deliver = rec_deliver};

/* What the device's IPA return code means, as the base's errno would say
 * it: the messages and the refusal handling are the same both ways. */
static int ipa_errno(struct rport *p, int rc)
{
    p->ipa_rc = rc;
    switch (rc) {
    case 0x0000:
        return 0;
    case 0xe005: /* duplicate IP address: another port holds it */
        return -EADDRINUSE;
    case 0xe006: /* IP address table full */
        return -ENOSPC;
    case 0x0006: /* invalid format: the base refused the address */
        return -EINVAL;
    default:
        return -EPROTO;
    }
}

static int port_register(struct replay *rp, struct rport *p, const char *text,
                         const struct glan_addr *a)
{
    if (!rp->qdio)
        return glan_addr_register(p->port, a);
    return ipa_errno(p, glan_sg_setip(p->sg, text, 0));
}

static int port_join(struct replay *rp, struct rport *p, const char *text,
                     const struct glan_addr *a)
{
    if (!rp->qdio)
        return glan_group_join(p->port, a);
    return ipa_errno(p, glan_sg_setipm(p->sg, text, 0));
}

/* --through-qdio: a simulated guest per port, attached in command-line
 * order as the recording ports are (same port indexes), devices 0600,
 * 0603, ... */
static int make_guest(struct replay *rp, struct rport *p, size_t i)
{
    p->sg = glan_sg_create(rp->lan, p->name, (uint16_t)(0x0600 + 3 * i));
    if (!p->sg) {
        say("--port %s: cannot create the simulated guest", p->name);
        return -1;
    }
    p->port = glan_osa_port(p->sg->osa);
    int rc = glan_sg_start(p->sg);
    if (rc < 0) {
        say("--port %s: the simulated guest's bring-up failed (step at simguest.c:%d)", p->name,
            -rc);
        return -1;
    }
    return 0;
}

static size_t count_list(const char *s)
{
    size_t n = 1;
    for (; *s; s++)
        n += *s == ',';
    return n;
}

static int build_lan(struct replay *rp)
{
    struct glan_lan_config cfg = {.name = "replay"};
    size_t naddrs = 0;
    char err[256];

    for (size_t i = 0; i < rp->nports; i++)
        naddrs += count_list(rp->ports[i].addrs);
    glan_lan_config_defaults(&cfg);
    if (rp->nports + 1 > 1024) {
        say("too many ports (%zu; a LAN has at most 1023 guests and an uplink)", rp->nports);
        return -1;
    }
    if (cfg.max_ports < rp->nports + 1)
        cfg.max_ports = (uint32_t)rp->nports + 1;
    if (cfg.max_addrs < naddrs)
        cfg.max_addrs = (uint32_t)naddrs;
    if (cfg.max_groups < rp->ngroups)
        cfg.max_groups = (uint32_t)rp->ngroups;
    rp->lan = glan_lan_create(&cfg, err, sizeof err);
    if (!rp->lan) {
        say("cannot create the LAN: %s", err);
        return -1;
    }
    for (size_t i = 0; i < rp->nports; i++) {
        struct rport *p = &rp->ports[i];
        struct glan_port_info info = {.name = p->name, .kind = GLAN_PORT_GUEST};
        if (rp->qdio) {
            if (make_guest(rp, p, i) < 0)
                return -1;
            p->index = glan_port_index(p->port);
            continue;
        }
        int rc = glan_port_attach(rp->lan, &info, &rec_ops, p, &p->port);
        if (rc < 0) {
            say("--port %s: cannot attach (%s)", p->name, strerror(-rc));
            return -1;
        }
        p->index = glan_port_index(p->port);
    }
    /* Registration in command-line order: a later port naming the same
     * address is refused by the base, which is the behaviour under test. */
    for (size_t i = 0; i < rp->nports; i++) {
        struct rport *p = &rp->ports[i];
        char *list = strdup(p->addrs), *save = NULL;
        int bad = 0;

        for (char *tok = strtok_r(list, ",", &save); tok && !bad;
             tok = strtok_r(NULL, ",", &save)) {
            struct glan_addr a;
            int rc;

            if (glan_addr_parse(tok, &a) < 0) {
                say("--port %s=%s: '%s' is not an IPv4 or IPv6 address", p->name, p->addrs, tok);
                bad = 1;
                break;
            }
            rc = port_register(rp, p, tok, &a);
            if (rc == -EADDRINUSE) {
                int owner = glan_lan_lookup(rp->lan, &a);
                struct refusal *r;

                rp->refused = grow(rp->refused, rp->nrefused, sizeof *rp->refused);
                r = &rp->refused[rp->nrefused++];
                r->port = (int)i;
                r->owner = -1;
                for (size_t j = 0; j < rp->nports; j++)
                    if (rp->ports[j].index == owner)
                        r->owner = (int)j;
                glan_addr_format(&a, r->addr, sizeof r->addr);
                say("port %s: address %s is already registered to port %s; refused, %s keeps "
                    "it",
                    p->name, r->addr, r->owner >= 0 ? rp->ports[r->owner].name : "?",
                    r->owner >= 0 ? rp->ports[r->owner].name : "its owner");
            } else if (rc < 0) {
                char why[64];
                snprintf(why, sizeof why, "the adapter answered SETIP with return code 0x%04x",
                         (unsigned)p->ipa_rc);
                say("--port %s=%s: cannot register %s: %s", p->name, p->addrs, tok,
                    rc == -EINVAL   ? "not a unicast address"
                    : rc == -ENOSPC ? "the registry is full"
                    : rp->qdio      ? why
                                    : strerror(-rc));
                bad = 1;
            }
        }
        /* Linux asks for its IPv6 unique id once the addresses are set. */
        if (!bad && rp->qdio && glan_sg_create_addr(p->sg) < 0) {
            say("--port %s: the simulated guest's CREATE_ADDR failed", p->name);
            bad = 1;
        }
        /* "a,,b" or a trailing comma: strtok_r would hide the empty item. */
        if (!bad && (strstr(p->addrs, ",,") || p->addrs[0] == ',' || !p->addrs[0] ||
                     p->addrs[strlen(p->addrs) - 1] == ',')) {
            say("--port %s=%s: empty address in the list", p->name, p->addrs);
            bad = 1;
        }
        free(list);
        if (bad)
            return -1;
    }
    for (size_t i = 0; i < rp->ngroups; i++) {
        struct rgroup *g = &rp->groups[i];
        struct rport *p = &rp->ports[find_port(rp, g->port, strlen(g->port))];
        struct glan_addr a;
        int rc = glan_addr_parse(g->addr, &a);

        if (rc == 0)
            rc = port_join(rp, p, g->addr, &a);
        if (rc < 0) {
            say("--group %s=%s: %s", g->port, g->addr,
                rc == -ENOSPC   ? "too many group memberships"
                : rc == -EPROTO ? "the adapter refused SETIPM"
                                : "not an IPv4 (224.0.0.0/4) or IPv6 (ff00::/8) multicast address");
            return -1;
        }
    }
    return 0;
}

/* ---- outputs ------------------------------------------------------------------ */

static char *out_path(const struct replay *rp, const char *name, const char *ext)
{
    size_t n = strlen(rp->out) + strlen(name) + strlen(ext) + 2;
    char *s = malloc(n);

    if (!s) {
        say("out of memory");
        exit(ST_FAILED);
    }
    snprintf(s, n, "%s/%s%s", rp->out, name, ext);
    return s;
}

/* mkdir -p: the output directory may be several levels deep. */
static int make_dir(const char *dir)
{
    char *s = strdup(dir);
    struct stat st;
    int rc = 0;

    for (char *q = s + 1; q && *q; q++) {
        if (*q != '/')
            continue;
        *q = '\0';
        if (mkdir(s, 0777) < 0 && errno != EEXIST)
            rc = -errno;
        *q = '/';
    }
    if (rc == 0 && mkdir(s, 0777) < 0 && errno != EEXIST)
        rc = -errno;
    if (rc == 0 && (stat(s, &st) < 0 || !S_ISDIR(st.st_mode)))
        rc = -ENOTDIR;
    free(s);
    return rc;
}

/* ---- --uplink tun:IFNAME: a real uplink ---------------------------------------- */

/* "tun:glan0,mtu=1500" into the uplink spec (uplinkspec.h): the words
 * "tun glan0 mtu 1500".  Only TUN: on a TAP or pcap uplink the host sees
 * Ethernet frames and the uplink's own ARP and neighbour discovery, not the
 * LAN's datagrams alone. */
static int parse_real_uplink(struct replay *rp)
{
    char buf[256], *words[16], err[256];
    int n = 0;
    snprintf(buf, sizeof buf, "%s", rp->uplink_dev);
    char *colon = strchr(buf, ':');
    if (!colon || colon == buf || !colon[1]) {
        say("--uplink '%s': expected tun:IFNAME[,mtu=N]", rp->uplink_dev);
        return -1;
    }
    *colon = '\0';
    words[n++] = buf;
    for (char *w = strtok(colon + 1, ","); w && n < 14; w = strtok(NULL, ",")) {
        char *eq = strchr(w, '=');
        words[n++] = w;
        if (eq) {
            *eq = '\0';
            words[n++] = eq + 1;
        }
    }
    if (strcmp(buf, "tun") != 0) {
        say("--uplink '%s': replay runs against a tun uplink only (the pcap file uplink is "
            "plain --uplink)",
            rp->uplink_dev);
        return -1;
    }
    if (glan_uplink_spec_parse(n, words, &rp->spec, err, sizeof err) < 0) {
        say("--uplink '%s': %s", rp->uplink_dev, err);
        return -1;
    }
    return 0;
}

/* Bring the TUN uplink up and start capturing what the host receives on it. */
static int open_real_uplink(struct replay *rp, const char *upath)
{
    char err[512], ebuf[PCAP_ERRBUF_SIZE] = "";
    struct glan_tun_status ts;
    rp->up = rp->spec.up(rp->spec.arg, rp->lan, err, sizeof err);
    if (!rp->up) {
        say("--uplink %s: %s", rp->uplink_dev, err);
        return -1;
    }
    glan_tun_status(rp->up, &ts);
    rp->cap = pcap_create(ts.ifname, ebuf);
    int rc = rp->cap ? 0 : -1;
    if (rc == 0) {
        pcap_set_snaplen(rp->cap, 65535);
        pcap_set_immediate_mode(rp->cap, 1);
        rc = pcap_activate(rp->cap) < 0 || pcap_setdirection(rp->cap, PCAP_D_IN) < 0 ||
                     pcap_setnonblock(rp->cap, 1, ebuf) < 0
                 ? -1
                 : 0;
        if (rc < 0)
            snprintf(ebuf, sizeof ebuf, "%s", pcap_geterr(rp->cap));
    }
    if (rc == 0 && pcap_datalink(rp->cap) != DLT_RAW) {
        snprintf(ebuf, sizeof ebuf, "link type %d, not raw IP", pcap_datalink(rp->cap));
        rc = -1;
    }
    if (rc < 0) {
        say("--uplink %s: cannot capture on %s: %s", rp->uplink_dev, ts.ifname, ebuf);
        return -1;
    }
    rp->capwr = glan_pcap_writer_open_format(upath, rp->fmt, err, sizeof err);
    if (!rp->capwr) {
        say("--out %s: %s", rp->out, err);
        return -1;
    }
    return 0;
}

static void take_captured(u_char *arg, const struct pcap_pkthdr *h, const u_char *data)
{
    struct replay *rp = (struct replay *)arg;
    char err[256];
    /* A live capture's header holds the kernel's own time_t and
     * microseconds (the default precision), not a file's 32-bit field. */
    uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec * 1000ull;
    rp->captured++;
    if (glan_pcap_writer_write(rp->capwr, data, h->caplen, ts, err, sizeof err) < 0)
        say("--out %s: %s", rp->out, err);
}

/* The kernel takes what the uplink wrote asynchronously: wait (at most two
 * seconds of quiet) until the host has received all of it. */
static void collect_real_uplink(struct replay *rp)
{
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        uint64_t before = rp->captured;
        pcap_dispatch(rp->cap, -1, take_captured, (u_char *)rp);
        if (rp->captured >= __atomic_load_n(&rp->up->stats.tx_packets, __ATOMIC_RELAXED))
            break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (rp->captured != before)
            t0 = now;
        else if (now.tv_sec - t0.tv_sec >= 2)
            break;
        struct timespec pause = {0, 5 * 1000000L};
        nanosleep(&pause, NULL);
    }
}

static int open_outputs(struct replay *rp)
{
    char err[512];
    int rc = make_dir(rp->out);

    if (rc < 0) {
        say("--out %s: cannot create the directory: %s", rp->out, strerror(-rc));
        return -1;
    }
    for (size_t i = 0; i < rp->nports; i++) {
        char *path = out_path(rp, rp->ports[i].name, ".pcap");
        rp->ports[i].wr = glan_pcap_writer_open_format(path, rp->fmt, err, sizeof err);
        free(path);
        if (!rp->ports[i].wr) {
            say("--out %s: %s", rp->out, err);
            return -1;
        }
    }
    char *upath = out_path(rp, "uplink", ".pcap");
    if (rp->uplink_dev) {
        rc = open_real_uplink(rp, upath);
        free(upath);
        return rc;
    }
    if (rp->uplink) {
        rp->up = glan_pcapfile_create(NULL, upath);
        if (!rp->up) {
            say("out of memory");
            free(upath);
            return -1;
        }
        (void)glan_pcapfile_set_format(rp->up, rp->fmt); /* ours and not open: cannot fail */
        rc = glan_uplink_attach(rp->lan, rp->up);
        if (rc < 0) {
            say("--uplink: %s", rp->up->err[0] ? rp->up->err : strerror(-rc));
            free(upath);
            return -1;
        }
    } else {
        /* A stale uplink.pcap would claim this run had an uplink. */
        unlink(upath);
    }
    free(upath);
    return 0;
}

/* ---- the run -------------------------------------------------------------------- */

/* --through-qdio: what each guest received since the last look, taken from
 * its input SBALs and stamped with its clock, written to its capture. */
#define RXBUF 64
static struct sg_rx rxbuf[RXBUF];

static void drain_guests(struct replay *rp, uint64_t ts)
{
    for (size_t i = 0; i < rp->nports; i++) {
        struct rport *p = &rp->ports[i];
        int n;

        p->sg->host.clock_ns = ts;
        /* Every datagram is taken at once, so one look holds at most a few;
         * look again while a look filled rxbuf. */
        do {
            n = glan_sg_recv(p->sg, rxbuf, RXBUF);
            int k = n < RXBUF ? n : RXBUF;
            for (int j = 0; j < k && !p->failed; j++)
                if (glan_pcap_writer_write(p->wr, rxbuf[j].data, rxbuf[j].len, rxbuf[j].ts_ns,
                                           p->err, sizeof p->err))
                    p->failed = 1;
            if (n > RXBUF && !p->failed) {
                snprintf(p->err, sizeof p->err,
                         "port %s: %d datagrams in one look at its input, more than %d", p->name, n,
                         RXBUF);
                p->failed = 1;
            }
        } while (n == RXBUF);
    }
}

/* --through-qdio: one datagram out of the guest of port p, through an output
 * SBAL and SIGA-w, at the guest's time ts. */
static void guest_send(struct rport *p, const uint8_t *data, size_t len, uint64_t ts)
{
    /* The reader returns no empty datagram (pcapfile.h), so the size is
     * the one thing a guest cannot express. */
    if (len > SG_MAX_SEND) {
        p->unsendable++;
        return;
    }
    p->sg->host.clock_ns = ts;
    struct sg_pkt pk = {.flags = glan_sg_l3_flags(data, len), .data = data, .len = (uint32_t)len};
    int st = glan_sg_send(p->sg, &pk, 1, 0);
    if (st != SLSB_P_OUTPUT_EMPTY) /* the device did not take the buffer */
        p->send_errors++;
}

/* The host's time of day in ns since the epoch. */
static uint64_t host_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static int run(struct replay *rp)
{
    for (size_t i = 0; i < rp->nsends; i++)
        if (open_input(&rp->sends[i]) < 0 || advance(&rp->sends[i]) < 0)
            return -1;
    for (;;) {
        struct rsend *s = NULL;

        /* Earliest first; a strict comparison keeps ties in argument order. */
        for (size_t i = 0; i < rp->nsends; i++)
            if (rp->sends[i].have && (!s || rp->sends[i].ts < s->ts))
                s = &rp->sends[i];
        if (!s)
            break;
        /* A timestamp of 0 is "none" to the base (glan_tx_meta), "now" to
         * us: stamped here, once, so that every output and both paths
         * carry the same time for it (docs/replay.md). */
        uint64_t ts = s->ts ? s->ts : host_now();
        /* The base counts every outcome; the result is not needed here. */
        if (s->src < 0) {
            (void)glan_uplink_input(rp->up, s->data, s->len, ts);
        } else if (rp->qdio) {
            guest_send(&rp->ports[s->src], s->data, s->len, ts);
        } else {
            struct glan_tx_meta meta = {.cast = GLAN_CAST_AUTO, .ts_ns = ts};
            (void)glan_port_send(rp->ports[s->src].port, s->data, s->len, &meta);
        }
        /* The base delivered in this thread, into the guests' input SBALs:
         * they take it now, at the same instant of their clock. */
        if (rp->qdio)
            drain_guests(rp, ts);
        if (advance(s) < 0)
            return -1;
    }
    for (size_t i = 0; i < rp->nsends; i++) {
        struct rsend *s = &rp->sends[i];
        glan_pcap_reader_stats(s->rd, &s->st);
        /* The replay reads the uplink's captures on its behalf, so what it
         * skipped there is the uplink's to show (rx_packets/rx_bytes are
         * counted by glan_uplink_input). */
        if (s->src < 0) {
            glan_uplink_count(&rp->up->stats.rx_skipped, s->st.skipped);
            glan_uplink_count(&rp->up->stats.rx_errors, s->st.errors);
        }
    }
    /* Recording ports never refuse, so nothing should wait; kick anyway so a
     * base that defers delivery still drains before the counters are read. */
    for (size_t i = 0; i < rp->nports; i++)
        glan_port_kick(rp->ports[i].port);
    if (rp->up)
        glan_port_kick(rp->up->port);
    if (rp->qdio)
        drain_guests(rp, 0);
    if (rp->cap)
        collect_real_uplink(rp);
    return 0;
}

/* ---- counters.json ------------------------------------------------------------ */

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void json_drops(FILE *f, const uint64_t *dropped)
{
    fputs("\"dropped\": {", f);
    for (int d = 1; d < GLAN_DROP_COUNT; d++)
        fprintf(f, "%s\"%s\": %" PRIu64, d > 1 ? ", " : "", glan_drop_name((enum glan_drop)d),
                dropped[d]);
    fputc('}', f);
}

/* The port's unicast addresses (groups == 0) or its groups (groups != 0).
 * The base lists unicast first, then groups; skip the former for groups. */
static void json_addrs(FILE *f, struct glan_lan *lan, int idx, int groups)
{
    size_t first = groups ? glan_lan_port_addrs(lan, idx, 0, NULL, 0) : 0;
    size_t n = glan_lan_port_addrs(lan, idx, groups, NULL, 0);
    struct glan_addr *a = calloc(n ? n : 1, sizeof *a);
    char buf[64];

    if (!a) {
        say("out of memory");
        exit(ST_FAILED);
    }
    n = glan_lan_port_addrs(lan, idx, groups, a, n);
    fputc('[', f);
    for (size_t i = first; i < n; i++) {
        fprintf(f, "%s", i > first ? ", " : "");
        json_str(f, glan_addr_format(&a[i], buf, sizeof buf));
    }
    fputc(']', f);
    free(a);
}

struct port_json {
    FILE *f;
    struct replay *rp;
    int n;
};

static void json_port(const struct glan_port_view *v, void *arg)
{
    struct port_json *pj = arg;
    FILE *f = pj->f;
    const struct glan_port_stats *s = &v->stats;

    fprintf(f, "%s\n    ", pj->n++ ? "," : "");
    json_str(f, v->name);
    fprintf(f, ": {\"index\": %d, \"kind\": \"%s\", \"addrs\": ", v->index,
            v->kind == GLAN_PORT_UPLINK ? "uplink" : "guest");
    json_addrs(f, pj->rp->lan, v->index, 0);
    fputs(", \"groups\": ", f);
    json_addrs(f, pj->rp->lan, v->index, 1);
    fprintf(f,
            ",\n      \"sent_packets\": %" PRIu64 ", \"sent_bytes\": %" PRIu64
            ", \"fanout\": %" PRIu64 ", \"delivered\": %" PRIu64 ",\n      ",
            s->sent_packets, s->sent_bytes, s->fanout, s->delivered);
    json_drops(f, s->dropped);
    fprintf(f,
            ",\n      \"recv_packets\": %" PRIu64 ", \"recv_bytes\": %" PRIu64
            ", \"recv_dropped\": %" PRIu64 ", \"queued\": %" PRIu64 "}",
            s->recv_packets, s->recv_bytes, s->recv_dropped, s->queued);
}

/* --through-qdio: every guest's device counters (struct glan_osa_stats)
 * and what its driver could not hand the device. */
static void json_qdio(FILE *f, struct replay *rp)
{
    fputs(",\n  \"qdio\": {", f);
    for (size_t i = 0; i < rp->nports; i++) {
        const struct rport *p = &rp->ports[i];
        struct glan_osa_stats o;

        glan_osa_get_stats(p->sg->osa, &o);
        fprintf(f, "%s\n    ", i ? "," : "");
        json_str(f, p->name);
        fprintf(
            f,
            ": {\"ccws\": %" PRIu64 ", \"unit_checks\": %" PRIu64 ", \"mpc_cmds\": %" PRIu64
            ", \"mpc_bad\": %" PRIu64 ", \"ipa_cmds\": %" PRIu64 ", \"ipa_notsupp\": %" PRIu64
            ", \"replies_dropped\": %" PRIu64 ",\n      \"siga_w\": %" PRIu64
            ", \"siga_r\": %" PRIu64 ", \"siga_s\": %" PRIu64 ", \"out_buffers\": %" PRIu64
            ", \"out_packets\": %" PRIu64 ", \"out_errors\": %" PRIu64
            ", \"out_bad_header\": %" PRIu64 ", \"out_absorbed\": %" PRIu64
            ",\n      \"in_buffers\": %" PRIu64 ", \"in_packets\": %" PRIu64
            ", \"in_errors\": %" PRIu64 ", \"in_too_big\": %" PRIu64 ", \"interrupts\": %" PRIu64
            ", \"unsendable\": %" PRIu64 ", \"send_errors\": %" PRIu64 ", \"mem_faults\": %u}",
            o.ccws, o.unit_checks, o.mpc_cmds, o.mpc_bad, o.ipa_cmds, o.ipa_notsupp,
            o.replies_dropped, o.siga_w, o.siga_r, o.siga_s, o.out_buffers, o.out_packets,
            o.out_errors, o.out_bad_header, o.out_absorbed, o.in_buffers, o.in_packets, o.in_errors,
            o.in_too_big, o.interrupts, p->unsendable, p->send_errors, p->sg->host.mem_faults);
    }
    fputs("\n  }", f);
}

static int write_counters(struct replay *rp)
{
    char *path = out_path(rp, "counters", ".json");
    FILE *f = fopen(path, "w");
    struct glan_lan_stats ls;
    int rc = 0;

    if (!f) {
        say("%s: %s", path, strerror(errno));
        free(path);
        return -1;
    }
    glan_lan_stats(rp->lan, &ls);
    fputs("{\n  \"lan\": {\"name\": ", f);
    json_str(f, glan_lan_name(rp->lan));
    fprintf(f,
            ", \"sent_packets\": %" PRIu64 ", \"sent_bytes\": %" PRIu64 ", \"fanout\": %" PRIu64
            ", \"delivered\": %" PRIu64 ",\n    ",
            ls.sent_packets, ls.sent_bytes, ls.fanout, ls.delivered);
    json_drops(f, ls.dropped);
    fprintf(f,
            ",\n    \"queued\": %" PRIu64 ", \"buffers_in_use\": %" PRIu32 ", \"ports\": %" PRIu32
            ", \"addrs\": %" PRIu32 ", \"groups\": %" PRIu32 "},\n",
            ls.queued, ls.buffers_in_use, ls.ports, ls.addrs, ls.groups);
    fprintf(f, "  \"registrations_refused\": %zu,\n  \"refused\": [", rp->nrefused);
    for (size_t i = 0; i < rp->nrefused; i++) {
        const struct refusal *r = &rp->refused[i];
        fprintf(f, "%s\n    {\"port\": ", i ? "," : "");
        json_str(f, rp->ports[r->port].name);
        fputs(", \"addr\": ", f);
        json_str(f, r->addr);
        fputs(", \"owner\": ", f);
        json_str(f, r->owner >= 0 ? rp->ports[r->owner].name : "");
        fputc('}', f);
    }
    fprintf(f, "%s],\n  \"ports\": {", rp->nrefused ? "\n  " : "");
    struct port_json pj = {f, rp, 0};
    glan_lan_foreach_port(rp->lan, json_port, &pj);
    fputs("\n  },\n  \"uplink\": ", f);
    if (rp->up) {
        struct glan_uplink_stats us;
        glan_uplink_get_stats(rp->up, &us);
        const struct glan_uplink_stats *u = &us;
        fprintf(f,
                "{\"kind\": \"%s\", \"tx_packets\": %" PRIu64 ", \"tx_bytes\": %" PRIu64
                ", \"tx_errors\": %" PRIu64 ",\n    \"rx_packets\": %" PRIu64
                ", \"rx_bytes\": %" PRIu64 ", \"rx_skipped\": %" PRIu64 ", \"rx_errors\": %" PRIu64
                "}",
                rp->up->ops->kind, u->tx_packets, u->tx_bytes, u->tx_errors, u->rx_packets,
                u->rx_bytes, u->rx_skipped, u->rx_errors);
    } else {
        fputs("null", f);
    }
    fputs(",\n  \"inputs\": [", f);
    for (size_t i = 0; i < rp->nsends; i++) {
        const struct rsend *s = &rp->sends[i];
        fprintf(f, "%s\n    {\"src\": ", i ? "," : "");
        json_str(f, s->src < 0 ? "uplink" : rp->ports[s->src].name);
        fputs(", \"file\": ", f);
        json_str(f, s->file);
        fputs(", \"linktype\": ", f);
        json_str(f, glan_pcap_reader_linktype(s->rd));
        fprintf(f,
                ", \"records\": %" PRIu64 ", \"datagrams\": %" PRIu64 ", \"bytes\": %" PRIu64
                ", \"skipped\": %" PRIu64 ", \"errors\": %" PRIu64 "}",
                s->st.records, s->st.datagrams, s->st.bytes, s->st.skipped, s->st.errors);
    }
    fputs("\n  ]", f);
    if (rp->qdio)
        json_qdio(f, rp);
    fputs("\n}\n", f);
    if (ferror(f))
        rc = -1;
    if (fclose(f) != 0)
        rc = -1;
    if (rc < 0)
        say("%s: write failed", path);
    free(path);
    return rc;
}

/* Detach everything and close the recordings; -1 when one was lost. */
static int finish(struct replay *rp)
{
    int rc = 0;

    for (size_t i = 0; i < rp->nports; i++) {
        struct rport *p = &rp->ports[i];
        char err[512];

        if (p->sg)
            glan_sg_destroy(p->sg); /* resets the adapter and detaches its port */
        else if (p->port)
            glan_port_detach(p->port);
        p->sg = NULL;
        p->port = NULL;
        if (p->failed) {
            say("%s", p->err);
            rc = -1;
        }
        if (p->wr && glan_pcap_writer_close(p->wr, err, sizeof err) < 0) {
            say("%s", err);
            rc = -1;
        }
        p->wr = NULL;
    }
    if (rp->up && rp->uplink_dev) {
        if (rp->up->stats.tx_errors) {
            say("--uplink %s: %" PRIu64 " datagrams not written: %s", rp->uplink_dev,
                rp->up->stats.tx_errors, rp->up->err);
            rc = -1;
        }
        rp->spec.down(rp->spec.arg, rp->up);
        rp->up = NULL;
    }
    if (rp->cap)
        pcap_close(rp->cap);
    rp->cap = NULL;
    if (rp->capwr) {
        char err[512];
        if (glan_pcap_writer_close(rp->capwr, err, sizeof err) < 0) {
            say("%s", err);
            rc = -1;
        }
        rp->capwr = NULL;
    }
    if (rp->up) {
        /* Detaching closes uplink.pcap; a failed write, then or before,
         * shows in tx_errors with the message in err. */
        glan_uplink_detach(rp->up);
        if (rp->up->stats.tx_errors) {
            say("--uplink: %s", rp->up->err);
            rc = -1;
        }
        glan_uplink_destroy(rp->up);
        rp->up = NULL;
    }
    for (size_t i = 0; i < rp->nsends; i++) {
        glan_pcap_reader_close(rp->sends[i].rd);
        rp->sends[i].rd = NULL;
    }
    if (rp->lan)
        glan_lan_destroy(rp->lan);
    rp->lan = NULL;
    return rc;
}

static void free_args(struct replay *rp)
{
    for (size_t i = 0; i < rp->nports; i++)
        free((char *)rp->ports[i].name);
    for (size_t i = 0; i < rp->ngroups; i++)
        free((char *)rp->groups[i].port);
    for (size_t i = 0; i < rp->nsends; i++)
        free(rp->sends[i].srcbuf);
    free(rp->ports);
    free(rp->groups);
    free(rp->sends);
    free(rp->refused);
    if (rp->spec.release)
        rp->spec.release(rp->spec.arg);
}

int glan_cmd_replay(int argc, char **argv)
{
    struct replay rp = {0};
    int status = ST_OK;

    if (parse_args(&rp, argc, argv) < 0 || (rp.uplink_dev && parse_real_uplink(&rp) < 0) ||
        check_inputs(&rp) < 0 || build_lan(&rp) < 0 || open_outputs(&rp) < 0) {
        status = ST_USAGE;
    } else if (run(&rp) < 0) {
        /* The file changed between the check and the run. */
        status = ST_USAGE;
    } else {
        if (write_counters(&rp) < 0)
            status = ST_FAILED;
    }
    if (finish(&rp) < 0 && status == ST_OK)
        status = ST_FAILED;
    free_args(&rp);
    return status;
}
