/*
 * The command line of `glan replay`: the options into struct replay, every
 * mistake one line on stderr and status 2 (docs/replay.md, "The contract").
 * Port names are checked here; addresses, groups and the uplink's words are
 * checked by the base and the uplink spec parser when they are used.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

static const char usage_text[] =
    "usage: glan replay --port NAME=ADDR[,ADDR...] ... [--group NAME=MCASTADDR ...]\n"
    "                   [--transport ip|ethernet] [--vlan NAME=ID[,ID...] ...]\n"
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
    "  --transport ethernet\n"
    "        a LAN of transport ETHERNET (layer 2): ports register MAC addresses\n"
    "        (--port NAME=02:00:00:00:00:01), --group takes group MACs, the\n"
    "        captures are Ethernet (EN10MB) and every frame is sent as it is;\n"
    "        the outputs are EN10MB too.  Default: ip.\n"
    "  --vlan NAME=ID[,ID...]\n"
    "        (ethernet) port NAME registers these VLANs (1-4094).\n"
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

int replay_find_port(const struct replay *rp, const char *name, size_t n)
{
    for (size_t i = 0; i < rp->nports; i++)
        if (strlen(rp->ports[i].name) == n && !strncmp(rp->ports[i].name, name, n))
            return (int)i;
    return -1;
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
        replay_say("%s needs a value (try 'glan replay --help')", opt);
        exit(ST_USAGE);
    }
    return argv[++*i];
}

/* --port NAME=ADDR[,ADDR...] */
static int add_port(struct replay *rp, const char *v)
{
    const char *eq = strchr(v, '=');
    if (!eq || !valid_port_name(v, (size_t)(eq - v))) {
        replay_say("--port '%s': expected NAME=ADDR[,ADDR...] with NAME of 1-31 "
                   "characters A-Z a-z 0-9 _ . - (not 'uplink')",
                   v);
        return -1;
    }
    if (replay_find_port(rp, v, (size_t)(eq - v)) >= 0) {
        replay_say("--port '%s': port %.*s is defined twice", v, (int)(eq - v), v);
        return -1;
    }
    rp->ports = replay_grow(rp->ports, rp->nports, sizeof *rp->ports);
    struct rport *p = &rp->ports[rp->nports++];
    p->name = strndup(v, (size_t)(eq - v));
    p->addrs = eq + 1;
    p->index = -1;
    return 0;
}

/* --group NAME=MCASTADDR */
static int add_group(struct replay *rp, const char *v)
{
    const char *eq = strchr(v, '=');
    if (!eq || eq == v || !eq[1]) {
        replay_say("--group '%s': expected NAME=MCASTADDR", v);
        return -1;
    }
    rp->groups = replay_grow(rp->groups, rp->ngroups, sizeof *rp->groups);
    rp->groups[rp->ngroups].port = strndup(v, (size_t)(eq - v));
    rp->groups[rp->ngroups++].addr = eq + 1;
    return 0;
}

/* --vlan NAME=ID[,ID...]: one rgroup per ID */
static int add_vlans(struct replay *rp, const char *v)
{
    const char *eq = strchr(v, '=');
    if (!eq || eq == v || !eq[1]) {
        replay_say("--vlan '%s': expected NAME=ID[,ID...]", v);
        return -1;
    }
    for (const char *id = eq + 1; id; id = strchr(id, ',') ? strchr(id, ',') + 1 : NULL) {
        char *end;
        long n = strtol(id, &end, 10);
        if (end == id || (*end && *end != ',') || n < 1 || n > 4094) {
            replay_say("--vlan '%s': VLAN IDs are 1 to 4094", v);
            return -1;
        }
        rp->groups = replay_grow(rp->groups, rp->ngroups, sizeof *rp->groups);
        rp->groups[rp->ngroups].port = strndup(v, (size_t)(eq - v));
        rp->groups[rp->ngroups].addr = id;
        rp->groups[rp->ngroups++].vlan = 1;
    }
    return 0;
}

/* --send SRC:FILE */
static int add_send(struct replay *rp, const char *v)
{
    const char *colon = strchr(v, ':');
    if (!colon || colon == v || !colon[1]) {
        replay_say("--send '%s': expected SRC:FILE", v);
        return -1;
    }
    rp->sends = replay_grow(rp->sends, rp->nsends, sizeof *rp->sends);
    struct rsend *s = &rp->sends[rp->nsends++];
    s->arg = v;
    s->srcbuf = strdup(v);
    s->srcbuf[colon - v] = '\0';
    s->file = s->srcbuf + (colon - v) + 1;
    /* libpcap reads "-" as standard input, which the checking pass would
     * consume before the run. */
    if (!strcmp(s->file, "-")) {
        replay_say("--send '%s': captures are read twice, standard input cannot be", v);
        return -1;
    }
    return 0;
}

/* One option at argv[*i] (and its value); -1 with the message said. */
static int parse_option(struct replay *rp, int argc, char **argv, int *i)
{
    const char *v;

    if (!strcmp(argv[*i], "--help") || !strcmp(argv[*i], "-h")) {
        fputs(usage_text, stdout);
        exit(ST_OK);
    } else if (!strcmp(argv[*i], "--uplink") &&
               (*i + 1 >= argc || !strchr(argv[*i + 1], ':') || argv[*i + 1][0] == '-')) {
        rp->uplink = 1;
    } else if ((v = opt_value(argc, argv, i, "--uplink"))) {
        rp->uplink = 1;
        rp->uplink_dev = v;
    } else if (!strcmp(argv[*i], "--through-qdio")) {
        rp->path = &replay_qdio_path;
    } else if ((v = opt_value(argc, argv, i, "--port"))) {
        return add_port(rp, v);
    } else if ((v = opt_value(argc, argv, i, "--group"))) {
        return add_group(rp, v);
    } else if ((v = opt_value(argc, argv, i, "--vlan"))) {
        return add_vlans(rp, v);
    } else if ((v = opt_value(argc, argv, i, "--transport"))) {
        enum glan_transport t;
        if (glan_transport_parse(v, &t) < 0) {
            replay_say("--transport '%s': expected ip or ethernet", v);
            return -1;
        }
        rp->ethernet = t == GLAN_TRANSPORT_ETHERNET;
    } else if ((v = opt_value(argc, argv, i, "--send"))) {
        return add_send(rp, v);
    } else if ((v = opt_value(argc, argv, i, "--out"))) {
        if (!*v) {
            replay_say("--out: empty directory name");
            return -1;
        }
        rp->out = v;
    } else {
        replay_say("unexpected argument '%s' (try 'glan replay --help')", argv[*i]);
        return -1;
    }
    return 0;
}

/* The sources of --send and the ports of --group, once every port is known,
 * so that the order of the options does not matter. */
static int resolve_names(struct replay *rp)
{
    for (size_t i = 0; i < rp->nsends; i++) {
        struct rsend *s = &rp->sends[i];
        if (!strcmp(s->srcbuf, "uplink")) {
            if (!rp->uplink) {
                replay_say("--send '%s': sending from the uplink needs --uplink", s->arg);
                return -1;
            }
            if (rp->uplink_dev) {
                replay_say("--send '%s': sending from the uplink needs the pcap file uplink "
                           "(--uplink without a device)",
                           s->arg);
                return -1;
            }
            s->src = -1;
        } else if ((s->src = replay_find_port(rp, s->srcbuf, strlen(s->srcbuf))) < 0) {
            replay_say("--send '%s': no port named '%s'", s->arg, s->srcbuf);
            return -1;
        }
    }
    for (size_t i = 0; i < rp->ngroups; i++)
        if (replay_find_port(rp, rp->groups[i].port, strlen(rp->groups[i].port)) < 0) {
            replay_say("--group %s=%s: no port named '%s'", rp->groups[i].port, rp->groups[i].addr,
                       rp->groups[i].port);
            return -1;
        }
    return 0;
}

int replay_parse_args(struct replay *rp, int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (parse_option(rp, argc, argv, &i) < 0)
            return -1;
    if (!rp->nports || !rp->nsends || !rp->out) {
        replay_say("needs at least one --port, one --send and --out (try 'glan replay --help')");
        return -1;
    }
    for (size_t i = 0; i < rp->ngroups; i++)
        if (rp->groups[i].vlan && !rp->ethernet) {
            replay_say("--vlan needs --transport ethernet");
            return -1;
        }
    if (rp->ethernet && rp->path == &replay_qdio_path) {
        replay_say("--through-qdio is for --transport ip only (the layer-2 device model is "
                   "driven by the unit suites and e2e cases, not yet by replay)");
        return -1;
    }
    if (rp->ethernet && rp->uplink_dev) {
        replay_say("--uplink %s: a LAN of transport ETHERNET takes the pcap file uplink only here",
                   rp->uplink_dev);
        return -1;
    }
    return resolve_names(rp);
}

void replay_free_args(struct replay *rp)
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
