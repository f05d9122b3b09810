/*
 * counters.json of `glan replay` (docs/replay.md): the LAN's totals, the
 * refused registrations, every port's counters with every drop reason, the
 * uplink's counters, each input's counts and, through QDIO, the devices'
 * counters (the path's own part).  Written with the tool's JSON writer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "replay.h"

/* What became of the datagrams sent, the LAN's in all or one port's: the
 * same counters in both (glan_lan_stats, glan_port_stats). */
static void sent(struct json *j, uint64_t packets, uint64_t bytes, uint64_t fanout,
                 uint64_t delivered, const uint64_t *dropped)
{
    json_u64(j, "sent_packets", packets);
    json_u64(j, "sent_bytes", bytes);
    json_u64(j, "fanout", fanout);
    json_u64(j, "delivered", delivered);
    json_wrap(j);
    json_object(j, "dropped", JSON_INLINE);
    for (int d = 1; d < GLAN_DROP_COUNT; d++)
        json_u64(j, glan_drop_name((enum glan_drop)d), dropped[d]);
    json_end(j);
    json_wrap(j);
}

/* The port's unicast addresses (groups == 0) or its groups (groups != 0).
 * The base lists unicast first, then groups; skip the former for groups. */
static void addrs(struct json *j, const char *key, struct glan_lan *lan, int idx, int groups)
{
    size_t first = groups ? glan_lan_port_addrs(lan, idx, 0, NULL, 0) : 0;
    size_t n = glan_lan_port_addrs(lan, idx, groups, NULL, 0);
    struct glan_addr *a = calloc(n ? n : 1, sizeof *a);
    char buf[64];

    if (!a) {
        replay_say("out of memory");
        exit(ST_FAILED);
    }
    n = glan_lan_port_addrs(lan, idx, groups, a, n);
    json_array(j, key, JSON_INLINE);
    for (size_t i = first; i < n; i++)
        json_str(j, NULL, glan_addr_format(&a[i], buf, sizeof buf));
    json_end(j);
    free(a);
}

static void lan(struct json *j, struct glan_lan *l)
{
    struct glan_lan_stats ls;

    glan_lan_stats(l, &ls);
    json_object(j, "lan", JSON_INLINE);
    json_str(j, "name", glan_lan_name(l));
    sent(j, ls.sent_packets, ls.sent_bytes, ls.fanout, ls.delivered, ls.dropped);
    json_u64(j, "queued", ls.queued);
    json_u64(j, "buffers_in_use", ls.buffers_in_use);
    json_u64(j, "ports", ls.ports);
    json_u64(j, "addrs", ls.addrs);
    json_u64(j, "groups", ls.groups);
    json_end(j);
}

static void refusals(struct json *j, const struct replay *rp)
{
    json_u64(j, "registrations_refused", rp->nrefused);
    json_array(j, "refused", JSON_LINES);
    for (size_t i = 0; i < rp->nrefused; i++) {
        const struct refusal *r = &rp->refused[i];
        json_object(j, NULL, JSON_INLINE);
        json_str(j, "port", rp->ports[r->port].name);
        json_str(j, "addr", r->addr);
        json_str(j, "owner", r->owner >= 0 ? rp->ports[r->owner].name : "");
        json_end(j);
    }
    json_end(j);
}

struct port_walk {
    struct json *j;
    struct glan_lan *lan;
};

static void port(const struct glan_port_view *v, void *arg)
{
    struct port_walk *w = arg;
    struct json *j = w->j;
    const struct glan_port_stats *s = &v->stats;

    json_object(j, v->name, JSON_INLINE);
    json_int(j, "index", v->index);
    json_str(j, "kind", v->kind == GLAN_PORT_UPLINK ? "uplink" : "guest");
    addrs(j, "addrs", w->lan, v->index, 0);
    addrs(j, "groups", w->lan, v->index, 1);
    json_wrap(j);
    sent(j, s->sent_packets, s->sent_bytes, s->fanout, s->delivered, s->dropped);
    json_u64(j, "recv_packets", s->recv_packets);
    json_u64(j, "recv_bytes", s->recv_bytes);
    json_u64(j, "recv_dropped", s->recv_dropped);
    json_u64(j, "queued", s->queued);
    json_end(j);
}

static void uplink(struct json *j, struct glan_uplink *up)
{
    struct glan_uplink_stats u;

    if (!up) {
        json_null(j, "uplink");
        return;
    }
    glan_uplink_get_stats(up, &u);
    json_object(j, "uplink", JSON_INLINE);
    json_str(j, "kind", up->ops->kind);
    json_u64(j, "tx_packets", u.tx_packets);
    json_u64(j, "tx_bytes", u.tx_bytes);
    json_u64(j, "tx_errors", u.tx_errors);
    json_wrap(j);
    json_u64(j, "rx_packets", u.rx_packets);
    json_u64(j, "rx_bytes", u.rx_bytes);
    json_u64(j, "rx_skipped", u.rx_skipped);
    json_u64(j, "rx_errors", u.rx_errors);
    json_end(j);
}

static void inputs(struct json *j, const struct replay *rp)
{
    json_array(j, "inputs", JSON_LINES);
    for (size_t i = 0; i < rp->nsends; i++) {
        const struct rsend *s = &rp->sends[i];
        json_object(j, NULL, JSON_INLINE);
        json_str(j, "src", s->src < 0 ? "uplink" : rp->ports[s->src].name);
        json_str(j, "file", s->file);
        json_str(j, "linktype", glan_pcap_reader_linktype(s->rd));
        json_u64(j, "records", s->st.records);
        json_u64(j, "datagrams", s->st.datagrams);
        json_u64(j, "bytes", s->st.bytes);
        json_u64(j, "skipped", s->st.skipped);
        json_u64(j, "errors", s->st.errors);
        json_end(j);
    }
    json_end(j);
}

int replay_write_counters(struct replay *rp)
{
    char *path = replay_out_path(rp, "counters", ".json");
    FILE *f = fopen(path, "w");
    struct json j;
    int rc = 0;

    if (!f) {
        replay_say("%s: %s", path, strerror(errno));
        free(path);
        return -1;
    }
    json_init(&j, f, JSON_SPACED);
    json_object(&j, NULL, JSON_LINES);
    lan(&j, rp->lan);
    refusals(&j, rp);
    json_object(&j, "ports", JSON_LINES);
    glan_lan_foreach_port(rp->lan, port, &(struct port_walk){&j, rp->lan});
    json_end(&j);
    uplink(&j, rp->up);
    inputs(&j, rp);
    if (rp->path->counters)
        rp->path->counters(&j, rp);
    json_end(&j);
    fputc('\n', f);
    if (ferror(f))
        rc = -1;
    if (fclose(f) != 0)
        rc = -1;
    if (rc < 0)
        replay_say("%s: write failed", path);
    free(path);
    return rc;
}
