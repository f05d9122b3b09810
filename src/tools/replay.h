/*
 * What the files of `glan replay` share (docs/replay.md has the contract):
 *   replay.c        the command: the steps of a run, in order
 *   replay_args.c   the command line
 *   replay_input.c  reading the captures through, then merging them by
 *                   timestamp into the LAN
 *   replay_lan.c    the LAN, its ports, their addresses and groups
 *   replay_plain.c  the plain path: each port a recording port of the base
 *   replay_qdio.c   --through-qdio: each port a simulated guest behind the
 *                   OSA device model
 *   replay_uplink.c --uplink tun:IFNAME, a real uplink, and what the host
 *                   received on it
 *   replay_out.c    the output directory, its captures, the end of a run
 *   replay_json.c   counters.json
 * Private to the tool: no glan_ prefix.
 */
#ifndef GLAN_TOOLS_REPLAY_H
#define GLAN_TOOLS_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include <pcap/pcap.h>

#include "guestlan/base.h"
#include "guestlan/capture.h"
#include "guestlan/uplink.h"
#include "guestlan/uplinkspec.h"

struct json;
struct simguest;

#define PROG "glan replay"

/* Exit statuses (cmds.h). */
enum { ST_OK = 0, ST_FAILED = 1, ST_USAGE = 2 };

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
    int vlan; /* --vlan: addr is a VLAN ID */
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

struct replay;

/* How the ports are made and driven: the plain path (replay_plain.c) or the
 * QDIO path (replay_qdio.c).  Both give the same port indexes, the same
 * verdicts on addresses and the same recordings (docs/replay.md). */
struct replay_path {
    /* Make p, the i-th port on the command line, a port of rp->lan
     * (p->port, p->index).  0, or -1 with the message said. */
    int (*attach)(struct replay *rp, struct rport *p, size_t i);
    /* Register the unicast address a (text as given) to p, or join p to
     * the group a: 0, or a negative errno as the base gives it (-EADDRINUSE
     * another port holds it, -EINVAL not unicast/multicast, -ENOSPC full;
     * anything else is described by why). */
    int (*reg)(struct rport *p, const char *text, const struct glan_addr *a);
    int (*join)(struct rport *p, const char *text, const struct glan_addr *a);
    /* Once p's addresses are registered: 0, or -1 with the message said.
     * NULL: nothing to do. */
    int (*addrs_done)(struct rport *p);
    /* Words for a registration error reg returned that has no words of its
     * own, written into buf. */
    const char *(*why)(const struct rport *p, int rc, char *buf, size_t len);
    /* Send one datagram from p into the LAN, stamped ts (never 0). */
    void (*send)(struct replay *rp, struct rport *p, const uint8_t *data, size_t len, uint64_t ts);
    /* Record what the ports received, at time ts: after each datagram, and
     * once at the end with ts 0.  NULL: the ports record as the base
     * delivers. */
    void (*collect)(struct replay *rp, uint64_t ts);
    /* Take p out of the LAN (p->port may be NULL: it never got in). */
    void (*detach)(struct rport *p);
    /* The path's own part of counters.json.  NULL: none. */
    void (*counters)(struct json *j, const struct replay *rp);
};

extern const struct replay_path replay_plain_path, replay_qdio_path;

struct replay {
    int ethernet; /* --transport ethernet: frames, MACs, VLANs */
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
    const struct replay_path *path; /* plain, or --through-qdio */
    /* Of every capture written: pcapng when a timestamp needs it. */
    enum glan_pcap_format fmt;
    const char *out;
    struct refusal *refused;
    size_t nrefused;
    struct glan_lan *lan;
    struct glan_uplink *up;
};

/* replay.c: every problem is one line on stderr, prefixed with the command;
 * arrays grow by one zeroed element (exit on want of memory). */
void replay_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *replay_grow(void *arr, size_t n, size_t size);

/* replay_args.c */
int replay_parse_args(struct replay *rp, int argc, char **argv);
int replay_find_port(const struct replay *rp, const char *name, size_t n);
void replay_free_args(struct replay *rp);

/* replay_input.c */
int replay_check_inputs(struct replay *rp);
int replay_run(struct replay *rp);

/* replay_lan.c */
int replay_build_lan(struct replay *rp);

/* replay_uplink.c */
int replay_parse_real_uplink(struct replay *rp);
int replay_open_real_uplink(struct replay *rp, const char *upath);
void replay_collect_real_uplink(struct replay *rp);
int replay_close_real_uplink(struct replay *rp);

/* replay_out.c */
char *replay_out_path(const struct replay *rp, const char *name, const char *ext);
int replay_open_outputs(struct replay *rp);
int replay_finish(struct replay *rp);

/* replay_json.c */
int replay_write_counters(struct replay *rp);

#endif
