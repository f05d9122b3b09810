/*
 * The plain path of `glan replay`: each port is a port of the base whose
 * whole device is its recording, NAME.pcap, written as the base delivers to
 * it; what a port sends goes straight to glan_port_send with the capture
 * timestamp.  Addresses and groups go to the base's registry directly.
 */
#include <errno.h>
#include <string.h>

#include "replay.h"

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

static int plain_attach(struct replay *rp, struct rport *p, size_t i)
{
    struct glan_port_info info = {.name = p->name, .kind = GLAN_PORT_GUEST};
    int rc = glan_port_attach(rp->lan, &info, &rec_ops, p, &p->port);

    (void)i; /* the base numbers ports in attach order */
    if (rc < 0) {
        replay_say("--port %s: cannot attach (%s)", p->name, strerror(-rc));
        return -1;
    }
    p->index = glan_port_index(p->port);
    return 0;
}

static int plain_reg(struct rport *p, const char *text, const struct glan_addr *a)
{
    (void)text;
    return glan_addr_register(p->port, a);
}

static int plain_join(struct rport *p, const char *text, const struct glan_addr *a)
{
    (void)text;
    return glan_group_join(p->port, a);
}

static const char *plain_why(const struct rport *p, int rc, char *buf, size_t len)
{
    (void)p, (void)buf, (void)len;
    return strerror(-rc);
}

static void plain_send(struct replay *rp, struct rport *p, const uint8_t *data, size_t len,
                       uint64_t ts)
{
    struct glan_tx_meta meta = {.cast = GLAN_CAST_AUTO, .ts_ns = ts};

    (void)rp;
    /* The base counts every outcome; the result is not needed here. */
    (void)glan_port_send(p->port, data, len, &meta);
}

static void plain_detach(struct rport *p)
{
    if (p->port)
        glan_port_detach(p->port);
    p->port = NULL;
}

const struct replay_path replay_plain_path = {
    .attach = plain_attach,
    .reg = plain_reg,
    .join = plain_join,
    .why = plain_why,
    .send = plain_send,
    .detach = plain_detach,
};
