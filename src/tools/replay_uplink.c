/*
 * `glan replay --uplink tun:IFNAME`: the LAN's uplink is the host's TUN
 * device, made by the same uplink spec parser as the Hercules `glan uplink`
 * command (guestlan/uplinkspec.h), and uplink.pcap holds what the host
 * received on it: captured there with libpcap (inbound only) from before the
 * first datagram until every datagram the uplink wrote has arrived, at most
 * two seconds of quiet (docs/replay.md, "Against a real uplink").
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "guestlan/tun.h"
#include "replay.h"

/* "tun:glan0,mtu=1500" into the uplink spec (uplinkspec.h): the words
 * "tun glan0 mtu 1500".  Only TUN: on a TAP or pcap uplink the host sees
 * Ethernet frames and the uplink's own ARP and neighbour discovery, not the
 * LAN's datagrams alone. */
int replay_parse_real_uplink(struct replay *rp)
{
    char buf[256], *words[16], err[256];
    int n = 0;
    snprintf(buf, sizeof buf, "%s", rp->uplink_dev);
    char *colon = strchr(buf, ':');
    if (!colon || colon == buf || !colon[1]) {
        replay_say("--uplink '%s': expected tun:IFNAME[,mtu=N]", rp->uplink_dev);
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
        replay_say("--uplink '%s': replay runs against a tun uplink only (the pcap file uplink "
                   "is plain --uplink)",
                   rp->uplink_dev);
        return -1;
    }
    if (glan_uplink_spec_parse(n, words, &rp->spec, err, sizeof err) < 0) {
        replay_say("--uplink '%s': %s", rp->uplink_dev, err);
        return -1;
    }
    return 0;
}

/* A live capture of what the host receives on ifname, raw IP, not blocking;
 * NULL with libpcap's message in ebuf. */
static pcap_t *capture_inbound(const char *ifname, char *ebuf)
{
    pcap_t *cap = pcap_create(ifname, ebuf);
    if (!cap)
        return NULL;
    pcap_set_snaplen(cap, 65535);
    pcap_set_immediate_mode(cap, 1);
    if (pcap_activate(cap) < 0 || pcap_setdirection(cap, PCAP_D_IN) < 0 ||
        pcap_setnonblock(cap, 1, ebuf) < 0) {
        snprintf(ebuf, PCAP_ERRBUF_SIZE, "%s", pcap_geterr(cap));
    } else if (pcap_datalink(cap) != DLT_RAW) {
        snprintf(ebuf, PCAP_ERRBUF_SIZE, "link type %d, not raw IP", pcap_datalink(cap));
    } else {
        return cap;
    }
    pcap_close(cap);
    return NULL;
}

/* Bring the TUN uplink up and start capturing what the host receives on it
 * into upath. */
int replay_open_real_uplink(struct replay *rp, const char *upath)
{
    char err[512], ebuf[PCAP_ERRBUF_SIZE] = "";
    struct glan_tun_status ts;
    rp->up = rp->spec.up(rp->spec.arg, rp->lan, err, sizeof err);
    if (!rp->up) {
        replay_say("--uplink %s: %s", rp->uplink_dev, err);
        return -1;
    }
    glan_tun_status(rp->up, &ts);
    rp->cap = capture_inbound(ts.ifname, ebuf);
    if (!rp->cap) {
        replay_say("--uplink %s: cannot capture on %s: %s", rp->uplink_dev, ts.ifname, ebuf);
        return -1;
    }
    rp->capwr = glan_pcap_writer_open_format(upath, rp->fmt, err, sizeof err);
    if (!rp->capwr) {
        replay_say("--out %s: %s", rp->out, err);
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
        replay_say("--out %s: %s", rp->out, err);
}

/* The kernel takes what the uplink wrote asynchronously: wait (at most two
 * seconds of quiet) until the host has received all of it. */
void replay_collect_real_uplink(struct replay *rp)
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

/* Take the TUN uplink down, end the capture and close uplink.pcap; -1 when
 * a datagram was not written to the device or to the file. */
int replay_close_real_uplink(struct replay *rp)
{
    int rc = 0;

    if (rp->up && rp->uplink_dev) {
        if (rp->up->stats.tx_errors) {
            replay_say("--uplink %s: %" PRIu64 " datagrams not written: %s", rp->uplink_dev,
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
            replay_say("%s", err);
            rc = -1;
        }
        rp->capwr = NULL;
    }
    return rc;
}
