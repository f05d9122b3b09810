/*
 * `glan replay --through-qdio`: each port is a simulated Linux qeth guest
 * (src/simguest/) behind its own OSA device model (guestlan/osa.h), and the
 * device is the LAN's port.  Addresses and groups are SETIP/SETIPM commands
 * whose return codes say what the base said; each datagram goes through an
 * output SBAL and SIGA-w at the guest's clock set to its capture timestamp;
 * after it every guest takes what its input SBALs hold at that same instant
 * and replay records it (docs/replay.md, "Through QDIO").
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "guestlan/osa.h"
#include "json.h"
#include "replay.h"
#include "guestlan/simguest.h"

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

/* A simulated guest per port, attached in command-line order as the
 * recording ports are (same port indexes), devices 0600, 0603, ... */
static int qdio_attach(struct replay *rp, struct rport *p, size_t i)
{
    p->sg = glan_sg_create(rp->lan, p->name, (uint16_t)(0x0600 + 3 * i));
    if (!p->sg) {
        replay_say("--port %s: cannot create the simulated guest", p->name);
        return -1;
    }
    p->port = glan_osa_port(p->sg->osa);
    int rc = glan_sg_start(p->sg);
    if (rc < 0) {
        replay_say("--port %s: the simulated guest's bring-up failed (step at simguest.c:%d)",
                   p->name, -rc);
        return -1;
    }
    p->index = glan_port_index(p->port);
    return 0;
}

static int qdio_reg(struct rport *p, const char *text, const struct glan_addr *a)
{
    (void)a;
    return ipa_errno(p, glan_sg_setip(p->sg, text, 0));
}

static int qdio_join(struct rport *p, const char *text, const struct glan_addr *a)
{
    (void)a;
    return ipa_errno(p, glan_sg_setipm(p->sg, text, 0));
}

/* Linux asks for its IPv6 unique id once the addresses are set. */
static int qdio_addrs_done(struct rport *p)
{
    if (glan_sg_create_addr(p->sg) < 0) {
        replay_say("--port %s: the simulated guest's CREATE_ADDR failed", p->name);
        return -1;
    }
    return 0;
}

static const char *qdio_why(const struct rport *p, int rc, char *buf, size_t len)
{
    (void)rc;
    snprintf(buf, len, "the adapter answered SETIP with return code 0x%04x", (unsigned)p->ipa_rc);
    return buf;
}

/* One datagram out of the guest of port p, through an output SBAL and
 * SIGA-w, at the guest's time ts. */
static void qdio_send(struct replay *rp, struct rport *p, const uint8_t *data, size_t len,
                      uint64_t ts)
{
    struct glan_osa_stats before, after;

    (void)rp;
    /* The reader returns no empty datagram (capture.h), so the size is the
     * one thing a guest cannot express. */
    if (len > SG_MAX_SEND) {
        p->unsendable++;
        return;
    }
    p->sg->host.clock_ns = ts;
    struct sg_pkt pk = {.flags = glan_sg_l3_flags(data, len), .data = data, .len = (uint32_t)len};
    glan_osa_get_stats(p->sg->osa, &before);
    int st = glan_sg_send(p->sg, &pk, 1, 0);
    glan_osa_get_stats(p->sg->osa, &after);
    /* The device did not take the buffer: the guest could not hand it over,
     * or the device ended it in the error state (which it counts). */
    if (st < 0 || after.out_errors != before.out_errors)
        p->send_errors++;
}

/* What each guest received since the last look, taken from its input SBALs
 * and stamped with its clock, written to its capture. */
#define RXBUF 64
static struct sg_rx rxbuf[RXBUF];

static void qdio_collect(struct replay *rp, uint64_t ts)
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

static void qdio_detach(struct rport *p)
{
    if (p->sg)
        glan_sg_destroy(p->sg); /* resets the adapter and detaches its port */
    p->sg = NULL;
    p->port = NULL;
}

/* counters.json puts a guest's counters on three lines: the control path;
 * SIGA and output; input, then what the driver could not hand over.  A new
 * counter joins the line of its neighbours. */
static int starts_line(const char *counter)
{
    return !strcmp(counter, "siga_w") || !strcmp(counter, "in_buffers");
}

/* Every guest's device counters (GLAN_OSA_COUNTERS) and what its driver
 * could not hand the device. */
static void qdio_counters(struct json *j, const struct replay *rp)
{
    json_object(j, "qdio", JSON_LINES);
    for (size_t i = 0; i < rp->nports; i++) {
        const struct rport *p = &rp->ports[i];
        struct glan_osa_stats o;

        glan_osa_get_stats(p->sg->osa, &o);
        json_object(j, p->name, JSON_INLINE);
#define OSA_COUNTER(name, comment)                                                                 \
    if (starts_line(#name))                                                                        \
        json_wrap(j);                                                                              \
    json_u64(j, #name, o.name);
        GLAN_OSA_COUNTERS(OSA_COUNTER)
#undef OSA_COUNTER
        json_u64(j, "unsendable", p->unsendable);
        json_u64(j, "send_errors", p->send_errors);
        json_u64(j, "mem_faults", p->sg->host.mem_faults);
        json_end(j);
    }
    json_end(j);
}

const struct replay_path replay_qdio_path = {
    .attach = qdio_attach,
    .reg = qdio_reg,
    .join = qdio_join,
    .addrs_done = qdio_addrs_done,
    .why = qdio_why,
    .send = qdio_send,
    .collect = qdio_collect,
    .detach = qdio_detach,
    .counters = qdio_counters,
};
