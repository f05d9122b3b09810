/*
 * guestlan base: the LAN router every guest interface and uplink of a LAN
 * shares.  A port (a guest interface or the uplink) hands a datagram to the
 * base; the base copies it into base storage, classifies it, looks its
 * destination up in the LAN's registry of guest addresses, and hands the copy
 * to the owning port's input, to every interested port (broadcast and
 * multicast), or to the uplink.  Every datagram ends delivered or dropped with
 * a named reason; the counters below prove it.
 *
 * The base knows nothing of OSA, QDIO or Hercules: a port is a small vtable
 * (struct glan_port_ops).  Its shared state lives in one fixed-layout region
 * addressed by offsets so that it can later be placed in shared memory.
 * Locking and threading rules are in docs/design.md ("Locking").
 */
#ifndef GUESTLAN_BASE_H
#define GUESTLAN_BASE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- addresses ---------------------------------------------------------- */

/* IPv4 and IPv6 addresses are what an IP LAN registers; MAC addresses and
 * VLAN memberships are what an ETHERNET LAN registers (docs/design.md,
 * "Layer 2"). */
enum { GLAN_AF_MAC = 2, GLAN_AF_VLAN = 3, GLAN_AF_INET = 4, GLAN_AF_INET6 = 6 };

/* An IPv4, IPv6 or MAC address, or a VLAN.  IPv4 uses bytes[0..3], a MAC
 * bytes[0..5], a VLAN its id (1..4094) big-endian in bytes[0..1]; the rest
 * is zero. */
struct glan_addr {
    uint8_t family; /* GLAN_AF_* */
    uint8_t bytes[16];
};

/* A MAC address, or a VLAN id, as a glan_addr. */
void glan_addr_mac(struct glan_addr *out, const uint8_t mac[6]);
void glan_addr_vlan(struct glan_addr *out, uint16_t vid);

/* Parse dotted-quad, RFC 4291 or MAC (xx:xx:xx:xx:xx:xx) text.  0, or
 * -EINVAL. */
int glan_addr_parse(const char *text, struct glan_addr *out);
/* Format into buf (at least 46 bytes; a VLAN as "vlan 10"); returns buf. */
char *glan_addr_format(const struct glan_addr *a, char *buf, size_t len);
int glan_addr_equal(const struct glan_addr *a, const struct glan_addr *b);
/* Destination address of an IPv4/IPv6 datagram; 0, or -EINVAL if malformed. */
int glan_dgram_dest(const void *data, size_t len, struct glan_addr *out);

/* ---- datagrams ----------------------------------------------------------- */

/* How a datagram is cast.  A sender that knows (the OSA layer-3 header says)
 * passes it; GLAN_CAST_AUTO lets the base decide from the destination. */
enum glan_cast {
    GLAN_CAST_AUTO = 0,
    GLAN_CAST_UNICAST = 1,
    GLAN_CAST_MULTICAST = 2,
    GLAN_CAST_BROADCAST = 3,
};

/* Why a datagram (or one copy of it) did not arrive.  Each has a counter. */
enum glan_drop {
    GLAN_DROP_NONE = 0,
    GLAN_DROP_MALFORMED,    /* not a well-formed IPv4/IPv6 datagram */
    GLAN_DROP_TOO_BIG,      /* larger than a base storage buffer */
    GLAN_DROP_NO_BUFFER,    /* base storage exhausted */
    GLAN_DROP_NO_UPLINK,    /* unregistered destination from a guest, LAN has no uplink */
    GLAN_DROP_UNKNOWN_DEST, /* from the uplink, destination not registered */
    GLAN_DROP_NO_RECEIVER,  /* broadcast/multicast nobody else listens to */
    GLAN_DROP_QUEUE_FULL,   /* receiver had no input room and its wait queue was full */
    GLAN_DROP_PORT_DOWN,    /* receiver not accepting (interface not started) */
    GLAN_DROP_PORT_ERROR,   /* receiver failed to take it (device or uplink error) */
    GLAN_DROP_PORT_GONE,    /* receiver detached while the copy waited */
    GLAN_DROP_EXPIRED,      /* receiver took no input for stuck_ms (glan_lan_config) */
    /* Larger than its receiver's MTU and not fragmented (path MTU,
     * docs/design.md): its sender may get an ICMP answer. */
    GLAN_DROP_TOO_BIG_FOR_PATH,
    /* IPv4 without DF larger than its receiver's MTU: replaced by fragments
     * the base sent on (not a loss). */
    GLAN_DROP_FRAGMENTED,
    GLAN_DROP_SPOOFED, /* frame's source MAC is held by another port (ETHERNET LANs) */
    GLAN_DROP_VLAN,    /* tagged frame for a VLAN its sender or receiver is not on */
    GLAN_DROP_COUNT
};

/* Stable lower-case name of a drop reason ("no_uplink"), for counters output. */
const char *glan_drop_name(enum glan_drop d);
/* The drop counters dropped[GLAN_DROP_COUNT] as `glan query` shows them:
 * " name=count" for each reason with a count, " none" when there is none;
 * cut to fit len (which must be at least 1).  buf is returned. */
char *glan_drops_format(const uint64_t *dropped, char *buf, size_t len);

/* Offloads a datagram carries (glan_tx_meta.offload, glan_dgram.offload;
 * guestlan/offload.h, docs/design.md "Offloads"). */
enum {
    /* Its sender left its checksums to the device, which computed them: they
     * are right, and a receiver that takes inbound checksumming may be told
     * so. */
    GLAN_OFFLOAD_CSUM = 0x01,
    /* A TCP datagram larger than its segment size (mss), whose checksums are
     * computed: a receiver that must see what a sender without TSO would
     * have sent cuts it (glan_offload_each). */
    GLAN_OFFLOAD_TSO = 0x02,
};

/* One datagram as a port receives it.  data points into base storage and is
 * valid only during the deliver call. */
struct glan_dgram {
    const uint8_t *data;
    uint32_t len;
    uint8_t cast;    /* enum glan_cast, never AUTO */
    uint8_t family;  /* GLAN_AF_INET or GLAN_AF_INET6; GLAN_AF_MAC: an Ethernet frame */
    int16_t src;     /* sending port's index; -1: made by the base (an ICMP answer, a
                      * fragment: docs/design.md, "Path MTU") */
    uint8_t offload; /* GLAN_OFFLOAD_* */
    uint16_t mss;    /* with GLAN_OFFLOAD_TSO: the TCP payload bytes per segment */
    uint64_t ts_ns;  /* sender's timestamp (CLOCK_REALTIME ns); when it gave none, the time
                      * it entered the base if a monitor was set, else 0 */
};

/* ---- LANs ---------------------------------------------------------------- */

struct glan_lan;
struct glan_port;

/* Base storage comes in three size classes, small, medium and large, each
 * a number of buffers of one size: a datagram takes a buffer of the smallest
 * class it fits, or of a larger class when that one has none free
 * (docs/design.md, "Sizes and defaults").  The large class's size is the
 * largest datagram the LAN carries. */
#define GLAN_BUF_CLASSES 3

/* What a LAN carries, fixed when it is defined (z/VM's VSWITCH IP and
 * ETHERNET): IP datagrams routed by registered IP address (layer-3 guests),
 * or Ethernet frames switched by registered MAC address (layer-2 guests). */
enum glan_transport { GLAN_TRANSPORT_IP = 0, GLAN_TRANSPORT_ETHERNET = 1 };

/* "ip" or "ethernet". */
const char *glan_transport_name(enum glan_transport t);
/* Parse "ip" or "ethernet" (any case).  0, or -EINVAL. */
int glan_transport_parse(const char *text, enum glan_transport *out);

/* The kind of adapter every guest of the LAN sees, fixed when it is
 * defined (z/VM's DEFINE LAN TYPE QDIO and TYPE HIPERS): an OSA-Express
 * (OSD), or a HiperSockets card (IQD) whose frames are up to the LAN's
 * maximum frame size (docs/guide.md, "HIPERS LANs").  A HIPERS LAN is of
 * transport IP. */
enum glan_lan_type { GLAN_LAN_QDIO = 0, GLAN_LAN_HIPERS = 1 };
/* The maximum frame sizes of a HIPERS LAN, in KiB, as z/VM names them; 64
 * is the default. */
#define GLAN_MFS_DEFAULT 64

/* "qdio" or "hipers". */
const char *glan_lan_type_name(enum glan_lan_type t);
/* Parse "qdio" or "hipers" (any case).  0, or -EINVAL. */
int glan_lan_type_parse(const char *text, enum glan_lan_type *out);
/* Parse a maximum frame size: "16k", "24k", "40k" or "64k" (the k may be
 * left out, any case) into KiB.  0, or -EINVAL. */
int glan_mfs_parse(const char *text, uint32_t *kib);
/* The largest IP datagram (the MTU) a HiperSockets card of maximum frame
 * size kib KiB carries: 8192, 16384, 32768 or 57344; 0 for another size. */
uint32_t glan_mfs_mtu(uint32_t kib);

/* Sizes are fixed when the LAN is defined; zero means the default.  A class
 * size left zero is at least the size of the class below it. */
struct glan_lan_config {
    const char *name;     /* 1..31 characters */
    uint32_t max_ports;   /* default 64, at most 1024 (uplink included) */
    uint32_t max_addrs;   /* registered unicast addresses, default 1024 */
    uint32_t max_groups;  /* multicast memberships, default 1024 */
    uint32_t buffers;     /* small buffers, default 2048 */
    uint32_t buffer_size; /* bytes in a small buffer, default 2048, 576..65535 */
    uint32_t queue_len;   /* per-port wait queue, default 256, a power of two */
    uint32_t stuck_ms;    /* a receiver that takes nothing this long is stuck, default 2000 */
    uint32_t mid_buffers; /* medium buffers, default 512 */
    uint32_t mid_size;    /* bytes in a medium buffer, default 9216 */
    uint32_t big_buffers; /* large buffers, default 128 */
    uint32_t big_size;    /* bytes in a large buffer (the largest datagram), default 65535 */
    uint32_t transport;   /* enum glan_transport, default (0) IP */
    uint32_t type;        /* enum glan_lan_type, default (0) QDIO */
    uint32_t mfs;         /* HIPERS: maximum frame size in KiB (16, 24, 40, 64), default 64 */
    /* The first bytes of the MACs the LAN hands out (z/VM's VMLAN
     * MACPREFIX, glan_lan_port_mac): mac_prefix_len of them, 3 or 4, the
     * first locally administered and unicast (its low two bits 10); the
     * rest zero.  mac_prefix_len 0: 02 and three bytes of a hash of the
     * LAN's name (glan_mac_prefix_of_name). */
    uint8_t mac_prefix[4];
    uint8_t mac_prefix_len;
};

/* The MAC a LAN hands its port number port (docs/guide.md, "MAC
 * addresses"): the LAN's four-byte MAC prefix, then the port's number in two
 * bytes, big-endian.  Locally administered, unicast, unique on the LAN, the
 * same after a restart. */
void glan_lan_port_mac(const struct glan_lan *lan, int port, uint8_t mac[6]);
/* The LAN's four-byte MAC prefix in force (given, or derived). */
void glan_lan_mac_prefix(const struct glan_lan *lan, uint8_t prefix[4]);
/* The prefix a LAN of this name gets when none is given: 02 and the first
 * three bytes of the name's 32-bit FNV-1a hash. */
void glan_mac_prefix_of_name(const char *name, uint8_t prefix[4]);
/* A stable 32-bit hash of a name (FNV-1a), for MACs derived from a LAN's
 * name: the same across restarts and processes. */
uint32_t glan_name_hash(const char *name);
/* Parse a MAC prefix, "02:aa:bb" or "02:aa:bb:cc" (':' or '-'): 0 with the
 * bytes and their count set, or -EINVAL (malformed, or the first byte not
 * locally administered unicast). */
int glan_mac_prefix_parse(const char *text, uint8_t prefix[4], uint8_t *len);

/* Class k's count and size in cfg (k 0 small, 1 medium, 2 large). */
uint32_t glan_lan_class_buffers(const struct glan_lan_config *cfg, int k);
uint32_t glan_lan_class_size(const struct glan_lan_config *cfg, int k);
/* The bytes of base storage a LAN of this configuration (defaults filled in)
 * takes: buffers, their headers and free stacks, and every other table of
 * the region (docs/design.md, "Sizes and defaults"). */
uint64_t glan_lan_config_bytes(const struct glan_lan_config *cfg);

/* Fill in the defaults for every zero field. */
void glan_lan_config_defaults(struct glan_lan_config *cfg);

/* Create a LAN.  NULL with a message in err when the configuration is bad or
 * memory is short. */
struct glan_lan *glan_lan_create(const struct glan_lan_config *cfg, char *err, size_t errlen);
/* Destroy a LAN; every port must have been detached.  For a shared LAN this
 * leaves the LAN (stops this process's base thread, unmaps the segment); the
 * segment itself stays until glan_lan_unlink_shared. */
void glan_lan_destroy(struct glan_lan *lan);

/* ---- shared LANs (docs/design.md, "Layout" and "Locking") ------------------
 *
 * A shared LAN lives in a POSIX shared-memory segment named shm_name ("/x",
 * at most 63 characters) whose size follows from the configuration.  Every
 * process that attaches joins the same LAN: one registry, one base storage,
 * every port visible from each.  Datagrams for a port of another process are
 * queued in the segment and that process's base thread (started by create
 * and attach) delivers them.  A process that dies while attached is found by
 * the survivors, which remove its ports and return its buffers.
 *
 * A segment starts with 32-bit words that never move: magic, version, then
 * the layout (sizes of the shared structures and the region header), so an
 * incompatible attacher is refused with a message instead of misreading it.
 */
#define GLAN_SHM_MAX_PROCS 64 /* processes attached to one shared LAN at once */

/* Create the segment (it must not exist) and join it.  NULL with a message. */
struct glan_lan *glan_lan_create_shared(const struct glan_lan_config *cfg, const char *shm_name,
                                        char *err, size_t errlen);
/* Join an existing shared LAN.  NULL with a message (no such LAN, another
 * version, incompatible layout, too many processes). */
struct glan_lan *glan_lan_attach_shared(const char *shm_name, char *err, size_t errlen);
/* Remove the segment's name (processes attached keep it until they leave).
 * 0 or a negative errno. */
int glan_lan_unlink_shared(const char *shm_name);
/* 1 when lan lives in shared memory. */
int glan_lan_is_shared(const struct glan_lan *lan);
/* Look for attached processes that died now (the base thread also does so
 * periodically): remove their ports and return their buffers.  Returns how
 * many were cleaned up. */
int glan_lan_reap(struct glan_lan *lan);
const char *glan_lan_name(const struct glan_lan *lan);
/* What the LAN carries. */
enum glan_transport glan_lan_transport(const struct glan_lan *lan);
/* What its guests' adapters are (QDIO: OSA-Express, HIPERS: HiperSockets). */
enum glan_lan_type glan_lan_type(const struct glan_lan *lan);
/* A HIPERS LAN's maximum frame size in KiB; 0 for a QDIO LAN. */
uint32_t glan_lan_mfs(const struct glan_lan *lan);
/* The configuration in force (defaults filled in). */
void glan_lan_get_config(const struct glan_lan *lan, struct glan_lan_config *out);

/* ---- ports --------------------------------------------------------------- */

enum glan_port_kind { GLAN_PORT_GUEST = 1, GLAN_PORT_UPLINK = 2 };

/*
 * What a port implements.  The base calls these, possibly from another
 * port's sender thread, but never two at once for the same port: a port's
 * input is drained by one thread at a time (its "drain turn").  The callee
 * must not call back into the base for the same port except glan_port_kick,
 * and must not block on anything another sender may hold (see docs/design.md).
 */
struct glan_port_ops {
    /* Copy one datagram into the port's input (guest input buffers, or the
     * network for an uplink).  Returns 0 when taken; -EAGAIN when there is no
     * room now: the base keeps the copy in its wait queue and retries after
     * glan_port_kick(); -ENETDOWN when the port is not accepting (counted as
     * port_down); any other negative errno drops the copy (port_error). */
    int (*deliver)(void *ctx, const struct glan_dgram *dg);
    /* Optional (NULL: nothing).  Called at the end of a drain pass that took
     * at least one datagram, so the port can publish them and raise one
     * interrupt for the batch. */
    void (*flush)(void *ctx);
    /* Optional (NULL: nothing); only for the LAN's uplink port, in the
     * process that owns it.  A guest registered (registered = 1) or
     * unregistered (0) a unicast address: a layer-2 uplink announces it.
     * Called in the registering thread with no base lock held, possibly
     * while another thread delivers to the port. */
    void (*addr_event)(void *ctx, const struct glan_addr *addr, int registered);
    /* Optional (NULL: the port never waits).  For a sender that uses
     * glan_port_tx_try: the receiver its output waits for made room, or the
     * wait reached the LAN's stuck_ms: try again.  Called from any thread of
     * the owning process (a drainer of the receiver, the base thread), with
     * no base lock held, possibly inside another port's callbacks' caller:
     * must only record the request and wake whoever retries, never call
     * into the base.  A spurious call is harmless. */
    void (*unblocked)(void *ctx);
};

struct glan_port_info {
    const char *name; /* shown in queries: "0600", "uplink", ... (1..31 chars) */
    enum glan_port_kind kind;
    /* The largest datagram the port takes, in bytes (its MTU: an uplink's
     * network, the MTU an OSA device reported to its guest); 0: no limit
     * but the LAN's buffer size.  A larger datagram for the port is answered
     * as a router answers it (docs/design.md, "Path MTU"). */
    uint32_t mtu;
};

/* Attach a port.  0 with *out set; -ENOSPC when the LAN is full, -EEXIST when
 * it already has an uplink and this is one, -EINVAL for a bad name. */
int glan_port_attach(struct glan_lan *lan, const struct glan_port_info *info,
                     const struct glan_port_ops *ops, void *ctx, struct glan_port **out);
/* Detach: unregisters the port's addresses and groups, drops what waits for it
 * (port_gone), and returns once no other thread is inside its ops.  Must not
 * be called from inside the port's own ops. */
void glan_port_detach(struct glan_port *port);
int glan_port_index(const struct glan_port *port);
struct glan_lan *glan_port_lan(const struct glan_port *port);

/* The port's MTU changed (an uplink's device was reopened or reconfigured):
 * mtu as in struct glan_port_info (values below 68 but 0 count as 68).  Any
 * thread, at any time while attached. */
void glan_port_set_mtu(struct glan_port *port, uint32_t mtu);
uint32_t glan_port_mtu(const struct glan_port *port);

/* The rate limit of the ICMP answers the base sends this port for its
 * datagrams that were too big for their path: a token bucket of burst
 * answers, refilled with per_sec answers a second (per_sec 0: never
 * refilled; burst 0: no answers).  Default GLAN_ICMP_BURST and
 * GLAN_ICMP_PER_SEC.  The owner's threads only. */
#define GLAN_ICMP_BURST   16
#define GLAN_ICMP_PER_SEC 100
void glan_port_set_icmp_limit(struct glan_port *port, uint32_t burst, uint32_t per_sec);

/* Input room became available (the guest returned input buffers, the uplink
 * can write again): deliver what waits.  Never blocks; if another thread holds
 * the drain turn it will see the kick. */
void glan_port_kick(struct glan_port *port);

/* ---- sending --------------------------------------------------------------- */

struct glan_tx_meta {
    enum glan_cast cast; /* GLAN_CAST_AUTO unless the sender knows */
    uint64_t ts_ns;      /* 0: none (see struct glan_dgram) */
    uint8_t offload;     /* GLAN_OFFLOAD_*, as struct glan_dgram; a TSO datagram the
                          * base cannot cut is dropped as malformed */
    uint16_t mss;        /* with GLAN_OFFLOAD_TSO */
};

/*
 * Send one datagram into the LAN from this port.  The datagram is copied into
 * base storage before this returns; the caller's buffer is free again.  The
 * sender never waits for a receiver.  Returns GLAN_DROP_NONE when at least
 * one copy was delivered or queued, else the reason it was dropped (already
 * counted).
 */
enum glan_drop glan_port_send(struct glan_port *port, const void *data, size_t len,
                              const struct glan_tx_meta *meta);

/*
 * Batching: between glan_port_batch_begin and glan_port_batch_end, copies
 * this port sends to receivers of this process are queued but not yet
 * delivered; batch_end delivers each receiver's queue in one pass with one
 * flush.  A device calls them around one SIGA's walk of its output buffers,
 * so that a buffer of datagrams reaches the peer as one input buffer and one
 * interrupt.  Only the port's own sending thread calls them, always as a
 * pair; they do not nest.  Receivers in other processes are woken at once as
 * usual.
 */
void glan_port_batch_begin(struct glan_port *port);
void glan_port_batch_end(struct glan_port *port);

/* Zero-extra-copy variant for devices that gather a datagram from several
 * pieces of guest storage: reserve a base buffer, fill it, commit.  */
struct glan_txbuf {
    uint8_t *data; /* len bytes of base storage to fill */
    size_t len;
    uint32_t slot; /* private */
};
/* Reserve len bytes.  GLAN_DROP_NONE, or TOO_BIG / NO_BUFFER (counted as a
 * sent and dropped datagram).  A refused datagram is not shown to the LAN's
 * monitor: the caller, who still has its bytes, shows it with
 * glan_port_show_refused (glan_port_send does so itself). */
enum glan_drop glan_port_tx_begin(struct glan_port *port, size_t len, struct glan_txbuf *tb);
/* Forward what was written (len may shrink to used bytes).  As glan_port_send. */
enum glan_drop glan_port_tx_commit(struct glan_port *port, struct glan_txbuf *tb, size_t len,
                                   const struct glan_tx_meta *meta);
/* Give the buffer back unsent (the device failed reading guest storage and
 * counts that itself); nothing is counted here. */
void glan_port_tx_abort(struct glan_port *port, struct glan_txbuf *tb);

/*
 * Back-pressure (docs/design.md, "Waiting for room"): glan_port_tx_commit
 * for a sender that can wait, because what it sends stays in its own
 * storage until taken (a guest's output buffers), and whose port has the
 * unblocked op.  When the datagram is unicast to a port (guest or uplink)
 * whose wait queue has no room, or that is over its fair share of base
 * storage, and that port is not stuck, nothing is sent or counted: -EAGAIN,
 * tb is still reserved (give it back with glan_port_tx_abort, send it again
 * later), and the port's unblocked op is called once the receiver made room
 * or after the LAN's stuck_ms at most.  A receiver that has not taken what
 * waited for it within stuck_ms is stuck: nobody waits for it, and its
 * copies are dropped (`expired`).  Otherwise 0, with glan_port_tx_commit's
 * verdict in *why.  Broadcast and multicast never wait.
 */
int glan_port_tx_try(struct glan_port *port, struct glan_txbuf *tb, size_t len,
                     const struct glan_tx_meta *meta, enum glan_drop *why);

/*
 * A datagram glan_port_tx_begin refused (why: GLAN_DROP_TOO_BIG or
 * GLAN_DROP_NO_BUFFER, already counted) has no base buffer for the monitor
 * to see, so its sender shows it from its own bytes: data holds the first
 * len bytes of the datagram, meta is what it would have passed to
 * glan_port_tx_commit (NULL: none; without a timestamp the datagram is
 * stamped now).  The monitor sees it once, in this thread, with verdict
 * why, and at most glan_port_monitored(port) bytes of it: a record of a
 * too_big datagram is cut to the LAN's buffer size (a trace may cut it
 * further to its snaplen).  Nothing happens when no monitor is set.
 *
 * glan_port_monitored: 0 when the LAN has no monitor, else how many bytes
 * of a refused datagram the monitor would be shown (the LAN's buffer size).
 * A hint, read without a lock: a sender that gathers a datagram from
 * elsewhere (guest storage) reads that many bytes only when it is not 0.
 */
size_t glan_port_monitored(const struct glan_port *port);
void glan_port_show_refused(struct glan_port *port, const void *data, size_t len,
                            enum glan_drop why, const struct glan_tx_meta *meta);

/* ---- the registry ---------------------------------------------------------- */

/* Register a unicast address to this port: an IP address on an IP LAN, a MAC
 * address on an ETHERNET LAN.  0 (also when the port already holds it);
 * -EADDRINUSE when another port holds it (that port keeps it); -ENOSPC when
 * the registry is full; -EINVAL for a multicast/broadcast/zero address;
 * -EPROTOTYPE for an address of the other transport. */
int glan_addr_register(struct glan_port *port, const struct glan_addr *addr);
/* 0, or -ENOENT when this port does not hold it. */
int glan_addr_unregister(struct glan_port *port, const struct glan_addr *addr);
/* Join/leave a multicast group (IPv4 224/4, IPv6 ff00::/8 on an IP LAN; a
 * group MAC, I/G bit set, on an ETHERNET LAN) or a VLAN (GLAN_AF_VLAN, 1 to
 * 4094, ETHERNET LANs).  Join: 0 (also if already a member), -ENOSPC,
 * -EINVAL, -EPROTOTYPE.  Leave: 0 or -ENOENT. */
int glan_group_join(struct glan_port *port, const struct glan_addr *group);
int glan_group_leave(struct glan_port *port, const struct glan_addr *group);
/* Port index owning addr, or -1. */
int glan_lan_lookup(struct glan_lan *lan, const struct glan_addr *addr);

/* ---- monitoring ------------------------------------------------------------- */

/*
 * A monitor sees every datagram that enters the LAN through a port of this
 * process (every datagram, for a LAN not shared between processes) once,
 * after it was forwarded, with the verdict glan_port_send returned: a trace
 * to pcap is a monitor.  It is called in the sender's thread, by several
 * senders at once: the callee serialises itself, must not block for long and
 * must not call into the base.  dg->data is valid during the call only.
 * Datagrams refused before they reached base storage (too_big, no_buffer)
 * are shown too, from the sender's bytes (glan_port_show_refused): a
 * too_big one cut to the LAN's buffer size.  The verdict is the datagram's
 * when it entered: a copy dropped later at its receiver (queue_full,
 * port_down, port_error, port_gone), after the monitor saw the datagram
 * forwarded, is counted but not shown again.
 */
typedef void (*glan_monitor_fn)(void *ctx, const struct glan_dgram *dg, enum glan_drop verdict);

/* Set the LAN's monitor (fn NULL: remove it).  Returns 0; -EBUSY when one is
 * set already and fn is not NULL.  Removal returns once no call of the old
 * monitor is running, so its ctx may be freed then.  While a monitor is set,
 * datagrams whose sender gave no timestamp are stamped with the time. */
int glan_lan_set_monitor(struct glan_lan *lan, glan_monitor_fn fn, void *ctx);

/* ---- counters and queries ------------------------------------------------- */

/*
 * Per port.  "sent" is what the port handed to the base; "recv" is what the
 * base handed to the port.  A broadcast or multicast datagram sent to k
 * receivers makes k copies (k-1 counted in fanout).  For every port and for
 * the LAN: sent + fanout == delivered + sum(dropped) + queued.
 */
struct glan_port_stats {
    uint64_t sent_packets, sent_bytes;
    uint64_t fanout;                   /* extra copies made of its datagrams */
    uint64_t delivered;                /* copies of its datagrams delivered */
    uint64_t dropped[GLAN_DROP_COUNT]; /* copies of its datagrams dropped */
    uint64_t recv_packets, recv_bytes; /* delivered to this port */
    uint64_t recv_dropped;             /* copies for this port that were dropped */
    uint64_t queued;                   /* copies waiting for this port now */
    uint64_t waits;                    /* times its output waited for a receiver's room */
    uint64_t wait_ns;                  /* how long those waits lasted in all */
    /* Its output waits now: -1 not, else for that port's room; -2 released
     * (its base thread is about to let it go on). */
    int32_t waiting_for;
    /* Path MTU (docs/design.md): for this port's datagrams too big for
     * their receiver, the ICMP errors the base sent back to it, those the
     * rate limit held back, and the fragments the base made of them. */
    uint64_t icmp_sent, icmp_limited, frags_sent;
};

struct glan_lan_stats {
    uint64_t sent_packets, sent_bytes; /* the datagrams the base made included */
    uint64_t fanout, delivered;
    uint64_t dropped[GLAN_DROP_COUNT];
    /* as struct glan_port_stats, every port's */
    uint64_t icmp_sent, icmp_limited, frags_sent;
    uint64_t queued;                         /* copies waiting in all wait queues now */
    uint32_t buffers_in_use;                 /* base storage buffers held now, all classes */
    uint32_t class_in_use[GLAN_BUF_CLASSES]; /* of which small, medium, large */
    uint32_t ports, addrs, groups;
    uint32_t processes;     /* attached, and dead ones not yet recovered */
    uint32_t suspects;      /* buffers of dead processes not yet reclaimed */
    uint64_t region_errors; /* bad values this process found in the shared region */
};

int glan_port_stats(const struct glan_port *port, struct glan_port_stats *out);
void glan_lan_stats(struct glan_lan *lan, struct glan_lan_stats *out);

/* A snapshot of one port for queries. */
struct glan_port_view {
    int index;
    enum glan_port_kind kind;
    char name[32];
    struct glan_port_stats stats;
    pid_t owner_pid; /* process that attached the port */
    uint32_t mtu;    /* its MTU (struct glan_port_info), 0: the LAN's buffer size */
};

/* Call fn for each attached port, in index order.  fn must not attach or
 * detach ports. */
void glan_lan_foreach_port(struct glan_lan *lan,
                           void (*fn)(const struct glan_port_view *v, void *arg), void *arg);
/* Fill up to n addresses registered to port index idx (unicast, then groups
 * when groups is nonzero); returns how many it holds in all. */
size_t glan_lan_port_addrs(struct glan_lan *lan, int idx, int groups, struct glan_addr *out,
                           size_t n);

#ifdef __cplusplus
}
#endif
#endif
