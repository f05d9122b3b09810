/*
 * The captures of `glan replay`: read through once before anything is built
 * (a malformed one ends the run with status 2 and no output), then merged by
 * timestamp into the LAN, each datagram from its port through the path's
 * send (replay_plain.c, replay_qdio.c) or from the network into the uplink.
 * Every capture is read by the capture module (guestlan/capture.h).
 */
#include "replay.h"
#include "tooltime.h"

static int open_input(struct rsend *s)
{
    char err[512];

    s->rd = glan_pcap_reader_open(s->file, err, sizeof err);
    if (!s->rd) {
        replay_say("--send %s: %s", s->arg, err);
        return -1;
    }
    return 0;
}

/* An ETHERNET LAN's inputs are whole frames. */
static int open_input_for(const struct replay *rp, struct rsend *s)
{
    if (open_input(s) < 0)
        return -1;
    if (rp->ethernet && glan_pcap_reader_set_frames(s->rd) < 0) {
        replay_say("--send %s: %s", s->arg, glan_pcap_reader_error(s->rd));
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
        replay_say("--send %s: %s", s->arg, glan_pcap_reader_error(s->rd));
        return -1;
    }
    return 0;
}

/* Read every capture through once: a malformed one fails the run before the
 * LAN exists or a single output file is touched.  It also tells which format
 * the outputs need: a datagram keeps its timestamp in every capture it ends
 * in, and classic pcap's seconds end in 2106. */
int replay_check_inputs(struct replay *rp)
{
    rp->fmt = GLAN_PCAP_CLASSIC;
    for (size_t i = 0; i < rp->nsends; i++) {
        struct rsend *s = &rp->sends[i];
        if (open_input_for(rp, s) < 0)
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

/* The input whose next datagram is the earliest; a strict comparison keeps
 * ties in argument order.  NULL when every input has ended. */
static struct rsend *earliest(struct replay *rp)
{
    struct rsend *s = NULL;

    for (size_t i = 0; i < rp->nsends; i++)
        if (rp->sends[i].have && (!s || rp->sends[i].ts < s->ts))
            s = &rp->sends[i];
    return s;
}

/* After the last datagram: what the readers counted, the uplink's share of
 * it, and nothing left waiting anywhere before the counters are read. */
static void end_of_run(struct replay *rp)
{
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
    if (rp->path->collect)
        rp->path->collect(rp, 0);
    if (rp->cap)
        replay_collect_real_uplink(rp);
}

int replay_run(struct replay *rp)
{
    struct rsend *s;

    for (size_t i = 0; i < rp->nsends; i++)
        if (open_input_for(rp, &rp->sends[i]) < 0 || advance(&rp->sends[i]) < 0)
            return -1;
    while ((s = earliest(rp))) {
        /* A timestamp of 0 is "none" to the base (glan_tx_meta), "now" to
         * us: stamped here, once, so that every output and both paths
         * carry the same time for it (docs/replay.md). */
        uint64_t ts = s->ts ? s->ts : realtime_ns();
        /* The base counts every outcome; the result is not needed here. */
        if (s->src < 0)
            (void)glan_uplink_input(rp->up, s->data, s->len, ts);
        else
            rp->path->send(rp, &rp->ports[s->src], s->data, s->len, ts);
        /* The base delivered in this thread: the ports take it now, at the
         * same instant. */
        if (rp->path->collect)
            rp->path->collect(rp, ts);
        if (advance(s) < 0)
            return -1;
    }
    end_of_run(rp);
    return 0;
}
