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
 *
 * This file holds the steps of a run in order; replay.h lists the files that
 * do each.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "replay.h"

void replay_say(const char *fmt, ...)
{
    va_list ap;

    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void *replay_grow(void *arr, size_t n, size_t size)
{
    void *p = realloc(arr, (n + 1) * size);
    if (!p) {
        replay_say("out of memory");
        exit(ST_FAILED);
    }
    memset((char *)p + n * size, 0, size);
    return p;
}

int cmd_replay(int argc, char **argv)
{
    struct replay rp = {.path = &replay_plain_path};
    int status = ST_OK;

    if (replay_parse_args(&rp, argc, argv) < 0 ||
        (rp.uplink_dev && replay_parse_real_uplink(&rp) < 0) || replay_check_inputs(&rp) < 0 ||
        replay_build_lan(&rp) < 0 || replay_open_outputs(&rp) < 0) {
        status = ST_USAGE;
    } else if (replay_run(&rp) < 0) {
        /* The file changed between the check and the run. */
        status = ST_USAGE;
    } else {
        if (replay_write_counters(&rp) < 0)
            status = ST_FAILED;
    }
    if (replay_finish(&rp) < 0 && status == ST_OK)
        status = ST_FAILED;
    replay_free_args(&rp);
    return status;
}
