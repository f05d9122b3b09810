/*
 * guestlan layer-2 engine: what the base does on an Ethernet uplink (TAP,
 * live pcap) on behalf of its guests, as an OSA in layer-3 mode does.  The
 * guests only ever see IP datagrams; the engine gives the whole LAN one MAC
 * address and
 *   - answers ARP requests and IPv6 neighbour solicitations for every address
 *     registered in the LAN (glan_lan_lookup) with that MAC,
 *   - announces addresses (gratuitous ARP, unsolicited neighbour
 *     advertisement) when its owner asks (glan_l2_announce),
 *   - resolves the MAC address of the next hop of every datagram the LAN sends
 *     out, with ARP or neighbour discovery, keeping a neighbour cache with
 *     timeouts and holding datagrams (bounded, drops counted) while a
 *     resolution is pending,
 *   - frames outgoing datagrams (Ethernet II, optionally 802.1Q with one VLAN
 *     ID) and unwraps incoming frames.
 *
 * Next hop.  A destination is "on link" (resolved itself) when no gateway of
 * its family is configured, when it lies in the configured on-link prefix of
 * its family, or when it is an IPv6 link-local address; any other destination
 * is sent to the gateway's MAC.  With no gateway at all, every destination is
 * assumed on link: the usual case of a LAN attached to one subnet, or to a
 * host that answers ARP for what it routes (proxy ARP).  Broadcast
 * (255.255.255.255 and the on-link prefix's broadcast address) and multicast
 * destinations map to their Ethernet group addresses without resolution.
 *
 * Neighbour cache.  An entry is INCOMPLETE while its first resolution runs
 * (datagrams held; a request every retrans_ns, probes times, then the held
 * datagrams are dropped and counted as unresolved), REACHABLE for
 * reachable_ns after an answer, then STALE: still used, and the next datagram
 * that uses it starts a re-probe (PROBE: requests as above; an answer makes it
 * REACHABLE again, silence removes it).  An ARP packet or neighbour
 * advertisement from a cached address refreshes its entry; an ARP request or
 * solicitation asking for one of our addresses creates one for the asker (it
 * will be talked to next).  A full cache evicts the least recently used
 * resolved entry.
 *
 * The engine is pure: buffers in, frames out through one transmit callback,
 * time passed in by the caller (nanoseconds of any monotonic clock), no
 * threads, no locks, no devices.  The caller serialises calls on one engine
 * and runs glan_l2_tick() when glan_l2_deadline() comes.
 */
#ifndef GUESTLAN_L2_H
#define GUESTLAN_L2_H

#include <stddef.h>
#include <stdint.h>

#include "guestlan/base.h"

#ifdef __cplusplus
extern "C" {
#endif

struct glan_l2_config {
    /* The LAN's MAC address.  All zero: glan_l2_default_mac(lan_name). */
    uint8_t mac[6];
    /* Names the LAN for the default MAC (NULL: "GLAN"). */
    const char *lan_name;
    /* 0: untagged frames only.  1..4094: frames are sent with this 802.1Q VLAN
     * ID and only frames tagged with it are accepted. */
    uint16_t vlan;
    /* Next hops for off-link destinations; family 0: none (all on link). */
    struct glan_addr gateway4, gateway6;
    /* On-link prefixes (family 0: none): destinations inside are resolved
     * directly even when a gateway is configured. */
    struct glan_addr onlink4, onlink6;
    uint8_t onlink4_len, onlink6_len;
    /* Zero means the default. */
    uint32_t cache_size;    /* neighbour entries, default 256 */
    uint32_t hold_per_dest; /* datagrams held per pending resolution, default 8 */
    uint32_t hold_max;      /* datagrams held in all, default 64 */
    uint32_t probes;        /* requests before giving up, default 3 */
    uint64_t retrans_ns;    /* between requests, default 1 s */
    uint64_t reachable_ns;  /* an answer is trusted this long, default 30 s */
    uint32_t max_datagram;  /* largest datagram framed, default 65535 */
};

/* What the engine has done.  Every frame read counts once in rx_frames and
 * ends as exactly one of rx_ip, rx_arp, rx_nd, rx_not_ours, rx_wrong_vlan,
 * rx_skipped, rx_malformed.  Every datagram handed to glan_l2_output ends
 * framed (tx_ip), held (held_now), or dropped with one of the *_dropped
 * reasons. */
struct glan_l2_stats {
    uint64_t rx_frames;
    uint64_t rx_ip;         /* IPv4/IPv6 datagrams unwrapped for the LAN */
    uint64_t rx_arp;        /* ARP packets processed */
    uint64_t rx_nd;         /* neighbour solicitations/advertisements processed */
    uint64_t rx_not_ours;   /* unicast to another MAC */
    uint64_t rx_wrong_vlan; /* tagged with another VLAN, or tagged/untagged mismatch */
    uint64_t rx_skipped;    /* neither IP nor ARP (LLDP, STP, ...) */
    uint64_t rx_malformed;  /* short or inconsistent frames and packets */

    uint64_t arp_replies;        /* ARP requests answered for our addresses */
    uint64_t na_sent;            /* neighbour solicitations answered */
    uint64_t requests_sent;      /* ARP requests and solicitations for resolution */
    uint64_t announcements;      /* gratuitous ARPs and unsolicited advertisements */
    uint64_t conflicts;          /* someone outside claimed one of our addresses */
    uint64_t resolved;           /* resolutions answered */
    uint64_t resolve_failures;   /* resolutions given up */
    uint64_t tx_ip;              /* datagrams framed and handed to transmit */
    uint64_t tx_frames;          /* frames transmitted (datagrams and ARP/ND) */
    uint64_t tx_errors;          /* transmit refused a frame */
    uint64_t held;               /* datagrams held while a resolution was pending */
    uint64_t held_now;           /* held at this moment */
    uint64_t hold_dropped;       /* not held: the hold bound was reached */
    uint64_t unresolved_dropped; /* held, then dropped: no answer */
    uint64_t cache_full_dropped; /* no entry could be made (all resolving) */
    uint64_t malformed_dropped;  /* handed a datagram that is not IPv4/IPv6 */
    uint64_t cache_entries;      /* entries in use now */
};

struct glan_l2;

/* Transmit one frame (len bytes at frame, valid during the call).  0 sent;
 * -EAGAIN no room now; another negative errno failed. */
typedef int (*glan_l2_xmit_fn)(void *ctx, const uint8_t *frame, size_t len);

/* Create an engine.  lan (may be NULL, set later) is where our addresses are
 * looked up.  NULL with a message in err on a bad configuration or no
 * memory. */
struct glan_l2 *glan_l2_create(const struct glan_l2_config *cfg, struct glan_lan *lan,
                               glan_l2_xmit_fn xmit, void *ctx, char *err, size_t errlen);
/* Free it; held datagrams are dropped (counted as unresolved). */
void glan_l2_destroy(struct glan_l2 *l2);
void glan_l2_set_lan(struct glan_l2 *l2, struct glan_lan *lan);
/* The MAC in use. */
void glan_l2_mac(const struct glan_l2 *l2, uint8_t mac[6]);
/* The configuration in force (defaults filled in; lan_name is not kept). */
void glan_l2_get_config(const struct glan_l2 *l2, struct glan_l2_config *out);

/*
 * A datagram for the network.  Returns
 *   0        framed and transmitted, or held until its next hop is resolved;
 *   -EAGAIN  transmit had no room: nothing was done, try again later;
 *   -ENOBUFS dropped: the hold bound or the cache is full (counted);
 *   -EINVAL  dropped: not a well-formed IPv4/IPv6 datagram (counted);
 *   other    dropped: transmit failed (counted in tx_errors).
 */
int glan_l2_output(struct glan_l2 *l2, const uint8_t *dg, size_t len, uint64_t now);

/*
 * A frame from the network.  Returns 1 with *dg and *dglen set to the IP
 * datagram inside it (pointing into frame, Ethernet padding trimmed) for the
 * LAN; 0 when the frame was consumed (ARP, neighbour discovery: answered or
 * learned from) or skipped (counted).  ARP/ND answers and datagrams released
 * by a resolution are transmitted from inside this call.
 */
int glan_l2_input(struct glan_l2 *l2, const uint8_t *frame, size_t len, uint64_t now,
                  const uint8_t **dg, size_t *dglen);

/* Announce addr as ours: a gratuitous ARP (IPv4) or an unsolicited neighbour
 * advertisement to all nodes (IPv6).  0, or transmit's error. */
int glan_l2_announce(struct glan_l2 *l2, const struct glan_addr *addr, uint64_t now);

/* Retransmit requests that are due and give up resolutions that ran out of
 * probes.  Call it when glan_l2_deadline() has come (calling earlier or more
 * often is harmless). */
void glan_l2_tick(struct glan_l2 *l2, uint64_t now);
/* When glan_l2_tick next has work; UINT64_MAX when none. */
uint64_t glan_l2_deadline(const struct glan_l2 *l2);

void glan_l2_stats(const struct glan_l2 *l2, struct glan_l2_stats *out);

enum glan_l2_state {
    GLAN_L2_NONE = 0,
    GLAN_L2_INCOMPLETE,
    GLAN_L2_REACHABLE,
    GLAN_L2_STALE,
    GLAN_L2_PROBE,
};
/* The neighbour cache's view of addr (as of now): its state, and its MAC in
 * mac (may be NULL) unless NONE or INCOMPLETE. */
enum glan_l2_state glan_l2_neighbour(const struct glan_l2 *l2, const struct glan_addr *addr,
                                     uint64_t now, uint8_t mac[6]);

/* The default MAC of a LAN: locally administered, unicast (02:xx:...), the
 * rest a hash of the name, so one LAN keeps its MAC across restarts. */
void glan_l2_default_mac(const char *lan_name, uint8_t mac[6]);
/* "02:00:5e:10:00:01" (':' or '-').  0, or -EINVAL. */
int glan_l2_parse_mac(const char *text, uint8_t mac[6]);
/* Format into buf (at least 18 bytes); returns buf. */
char *glan_l2_format_mac(const uint8_t mac[6], char *buf, size_t len);

/* ---- uplinks built on the engine (TAP: tap.h, live pcap: pcaplive.h) -------
 *
 * Both are devices of one device runner (src/uplink/runner.c) under the
 * engine (src/uplink/l2port.c); their queries go through the uplink's status
 * op (uplink.h), these functions give the details. */

struct glan_uplink;

/* Attach a layer-2 uplink (glan_uplink_attach), start its receive thread and
 * announce every address already registered in the LAN.  0, or a negative
 * errno with a message in u->err. */
int glan_l2_uplink_attach(struct glan_lan *lan, struct glan_uplink *u);
/* glan_uplink_detach, which stops the receive thread (the uplink's stop op)
 * before the port goes; glan_uplink_destroy does the same. */
void glan_l2_uplink_detach(struct glan_uplink *u);
/* The receive thread alone: the uplink's start and stop ops (attach and
 * detach call them; start also announces the registered addresses).  0
 * (also when running), -EINVAL when u is not attached or not a layer-2
 * uplink, or a negative errno.  Stop returns once the thread is gone. */
int glan_l2_uplink_start(struct glan_uplink *u);
void glan_l2_uplink_stop(struct glan_uplink *u);
/* Announce addr on the network (gratuitous ARP / unsolicited neighbour
 * advertisement).  The uplink does so by itself for every address a guest
 * registers (the base's address events for the uplink port, uplink.h's
 * addr_event), for those registered before it was attached, and again after
 * its device came back; an owner may call it for more.  0, -EINVAL (not a
 * layer-2 uplink, or not attached), or the device's error. */
int glan_l2_uplink_announce(struct glan_uplink *u, const struct glan_addr *addr);
/* The engine's counters and MAC.  0, or -EINVAL when u is not a layer-2
 * uplink or has not been attached yet. */
int glan_l2_uplink_stats(struct glan_uplink *u, struct glan_l2_stats *out);
int glan_l2_uplink_mac(struct glan_uplink *u, uint8_t mac[6]);
/* The device side of a layer-2 uplink (glan_uplink_get_status gives the
 * same for a query, as for any uplink).  When its device fails or is deleted
 * the uplink goes down (datagrams for the network are refused, counted by
 * the base as port_down, the LAN keeps serving its guests) and reopens the
 * device by itself when an interface of the same name returns. */
struct glan_l2_uplink_status {
    char ifname[16];      /* the interface ("" before the first open) */
    int open;             /* the device is held */
    int down;             /* it failed or was removed and has not come back */
    int rx_thread;        /* the receive thread runs */
    uint64_t gone_events; /* times the device failed or disappeared */
    uint64_t recoveries;  /* times the uplink reopened a device that came back */
    uint64_t tx_down;     /* datagrams refused while down */
    uint64_t rx_wakeups;  /* times the device said it had frames to read */
    uint64_t rx_empty;    /* of those, times a read found nothing: a loop that
                           * spins on an idle device shows here */
    char message[256];    /* the last message (u->err, read safely) */
};
/* 0, or -EINVAL when u is not a layer-2 uplink. */
int glan_l2_uplink_status(struct glan_uplink *u, struct glan_l2_uplink_status *out);
/* The neighbour cache's view of addr now (see glan_l2_neighbour). */
enum glan_l2_state glan_l2_uplink_neighbour(struct glan_uplink *u, const struct glan_addr *addr,
                                            uint8_t mac[6]);

#ifdef __cplusplus
}
#endif
#endif
