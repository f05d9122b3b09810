/*
 * The LAN of `glan replay`: sized for the command line, its ports attached
 * in command-line order through the path (replay_plain.c or replay_qdio.c,
 * so their indexes are the same both ways), then every address registered
 * and every group joined in that order.  A later port naming an address an
 * earlier one holds is refused by the base, which is the behaviour under
 * test: the refusal is one line on stderr and an entry in counters.json,
 * and the run goes on.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

static size_t count_list(const char *s)
{
    size_t n = 1;
    for (; *s; s++)
        n += *s == ',';
    return n;
}

/* A LAN with room for every port, address and group of the command line. */
static int create_lan(struct replay *rp)
{
    struct glan_lan_config cfg = {
        .name = "replay", .transport = rp->ethernet ? GLAN_TRANSPORT_ETHERNET : GLAN_TRANSPORT_IP};
    size_t naddrs = 0;
    char err[256];

    for (size_t i = 0; i < rp->nports; i++)
        naddrs += count_list(rp->ports[i].addrs);
    glan_lan_config_defaults(&cfg);
    if (rp->nports + 1 > 1024) {
        replay_say("too many ports (%zu; a LAN has at most 1023 guests and an uplink)", rp->nports);
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
        replay_say("cannot create the LAN: %s", err);
        return -1;
    }
    return 0;
}

/* Port i was refused address a, which another port holds: say so and keep
 * it for counters.json. */
static void refused(struct replay *rp, size_t i, const struct glan_addr *a)
{
    int owner = glan_lan_lookup(rp->lan, a);
    struct refusal *r;

    rp->refused = replay_grow(rp->refused, rp->nrefused, sizeof *rp->refused);
    r = &rp->refused[rp->nrefused++];
    r->port = (int)i;
    r->owner = -1;
    for (size_t j = 0; j < rp->nports; j++)
        if (rp->ports[j].index == owner)
            r->owner = (int)j;
    glan_addr_format(a, r->addr, sizeof r->addr);
    replay_say("port %s: address %s is already registered to port %s; refused, %s keeps it",
               rp->ports[i].name, r->addr, r->owner >= 0 ? rp->ports[r->owner].name : "?",
               r->owner >= 0 ? rp->ports[r->owner].name : "its owner");
}

/* One address of port i: 0 when registered or refused (the run goes on),
 * -1 with the message said when it is a bad argument. */
static int register_one(struct replay *rp, size_t i, const char *tok)
{
    struct rport *p = &rp->ports[i];
    struct glan_addr a;
    char why[64];
    int rc;

    if (glan_addr_parse(tok, &a) < 0 || (rp->ethernet && a.family != GLAN_AF_MAC) ||
        (!rp->ethernet && a.family == GLAN_AF_MAC)) {
        replay_say("--port %s=%s: '%s' is not %s", p->name, p->addrs, tok,
                   rp->ethernet ? "a MAC address (--transport ethernet)"
                                : "an IPv4 or IPv6 address");
        return -1;
    }
    rc = rp->path->reg(p, tok, &a);
    if (rc == -EADDRINUSE) {
        refused(rp, i, &a);
        return 0;
    }
    if (rc < 0) {
        replay_say("--port %s=%s: cannot register %s: %s", p->name, p->addrs, tok,
                   rc == -EINVAL   ? "not a unicast address"
                   : rc == -ENOSPC ? "the registry is full"
                                   : rp->path->why(p, rc, why, sizeof why));
        return -1;
    }
    return 0;
}

/* Every address of port i, in the order given. */
static int register_port(struct replay *rp, size_t i)
{
    struct rport *p = &rp->ports[i];
    char *list = strdup(p->addrs), *save = NULL;
    int bad = 0;

    for (char *tok = strtok_r(list, ",", &save); tok && !bad; tok = strtok_r(NULL, ",", &save))
        bad = register_one(rp, i, tok) < 0;
    if (!bad && rp->path->addrs_done && rp->path->addrs_done(p) < 0)
        bad = 1;
    /* "a,,b" or a trailing comma: strtok_r would hide the empty item. */
    if (!bad && (strstr(p->addrs, ",,") || p->addrs[0] == ',' || !p->addrs[0] ||
                 p->addrs[strlen(p->addrs) - 1] == ',')) {
        replay_say("--port %s=%s: empty address in the list", p->name, p->addrs);
        bad = 1;
    }
    free(list);
    return bad ? -1 : 0;
}

static int join_groups(struct replay *rp)
{
    for (size_t i = 0; i < rp->ngroups; i++) {
        struct rgroup *g = &rp->groups[i];
        struct rport *p = &rp->ports[replay_find_port(rp, g->port, strlen(g->port))];
        struct glan_addr a;
        int rc = 0;

        if (g->vlan)
            glan_addr_vlan(&a, (uint16_t)atoi(g->addr));
        else
            rc = glan_addr_parse(g->addr, &a);
        if (rc == 0)
            rc = rp->path->join(p, g->addr, &a);
        if (rc < 0 && rp->ethernet) {
            replay_say("--%s %s=%s: %s", g->vlan ? "vlan" : "group", g->port, g->addr,
                       rc == -ENOSPC ? "too many group memberships" : "not a group MAC address");
            return -1;
        }
        if (rc < 0) {
            replay_say("--group %s=%s: %s", g->port, g->addr,
                       rc == -ENOSPC   ? "too many group memberships"
                       : rc == -EPROTO ? "the adapter refused SETIPM"
                                       : "not an IPv4 (224.0.0.0/4) or IPv6 (ff00::/8) multicast "
                                         "address");
            return -1;
        }
    }
    return 0;
}

int replay_build_lan(struct replay *rp)
{
    if (create_lan(rp) < 0)
        return -1;
    for (size_t i = 0; i < rp->nports; i++)
        if (rp->path->attach(rp, &rp->ports[i], i) < 0)
            return -1;
    /* Registration in command-line order: a later port naming the same
     * address is refused by the base, which is the behaviour under test. */
    for (size_t i = 0; i < rp->nports; i++)
        if (register_port(rp, i) < 0)
            return -1;
    return join_groups(rp);
}
