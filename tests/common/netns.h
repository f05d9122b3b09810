/*
 * What the network-namespace tests (tests/l2, tests/uplink) share: entering a
 * network namespace of the test's own, and a peer process that holds a second
 * one; shell commands, run in the namespace that has the address; checks
 * that count failures; guest ports that answer ICMP/ICMPv6 echo and just
 * enough TCP to accept a connection; and a child that gives up root to show
 * a user's persistent device needs no privileges.  The datagrams they send
 * come from the tests' one builder (dgram.h), which this header brings in.
 *
 * Everything here prints what it does to stdout (commands as "$ cmd",
 * checks as "ok"/"FAIL" lines), which is the test's log.  Not thread-safe
 * except where a function says so: the guests answer from threads of their
 * own, the rest runs on the test's main thread.
 */
#ifndef GLAN_TESTS_NETNS_H
#define GLAN_TESTS_NETNS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dgram.h"
#include "guestlan/base.h"

/* The exit status CTest reads as "skipped" (SKIP_RETURN_CODE). */
#define NS_SKIP 77

/* ---- checks and commands ----------------------------------------------------------- */

/* One "ok"/"FAIL" line; a FAIL is counted. */
void ns_check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* How many checks failed so far. */
int ns_failures(void);
/* The last line of a run, "PASSED" (with " (note)" when note is not NULL) or
 * "FAILED"; the exit status that goes with it. */
int ns_finish(const char *note);

/* Run a shell command (printed first); its exit status, 128 when a signal
 * ended it, -1 when it could not be run. */
int ns_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The output of a shell command, at most len-1 bytes of it, printed too. */
void ns_capture(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void ns_sleep_ms(int ms);

/* ---- namespaces --------------------------------------------------------------------- */

/* Unless we are root and the shell finds every command in tools (names
 * separated by spaces), say why and return NS_SKIP.  Otherwise move this
 * process into a new network namespace with lo up, and return 0: whatever
 * the test makes there vanishes with it. */
int ns_enter(const char *tools);

/* A process sitting in a network namespace of its own, a second station for
 * tests that need one: 0, or -1 when it could not be made. */
int ns_peer_start(void);
void ns_peer_stop(void);
/* The peer's pid, -1 without one. */
pid_t ns_peer(void);
/* The prefix that runs a shell command in the namespace that has the
 * address: "nsenter -t PID -n " with a peer, "" without. */
const char *ns_in_peer(void);
/* ping count times from that namespace; 0 when every echo was answered. */
int ns_ping(const char *addr, int count);
/* Move the calling thread into the peer's namespace, for what must be made
 * there (a packet socket on its interface): 0, with *back the way home for
 * ns_leave_peer; or -1 (errno set) when it could not, and nothing moved.
 * Without a peer nothing moves, and *back is -1. */
int ns_enter_peer(int *back);
/* Back from ns_enter_peer (nothing when back is -1). */
void ns_leave_peer(int back);

/* A veth pair: ours in this namespace, theirs in the peer's, both up, and
 * the peer's lo up.  0, or nonzero when a step failed. */
int ns_veth_pair(const char *ours, const char *theirs);

/* A counter of interface dev in this namespace as `ip -j -s link` shows it:
 * dir "rx" or "tx", field "packets", "bytes", ...; UINT64_MAX when it
 * cannot be read. */
uint64_t ns_link_stat(const char *dev, const char *dir, const char *field);

/* Run fn(arg) in a child that has given up root for uid and gid 65534
 * ("nobody"), where /dev/net/tun is open to everyone: the host's, or, where
 * that one is 0600 (some containers), a 0666 node of the same device in a
 * private mount namespace (nothing of the host's changes).  fn's return is
 * the child's exit status, and ours: 0 when fn returned 0. */
int ns_as_nobody(int (*fn)(void *), void *arg);
/* A persistent TUN or TAP device (mode "tun" or "tap") owned by that user,
 * then `ip link set dev DEV link`: 0, or nonzero when a step failed. */
int ns_nobody_device(const char *dev, const char *mode, const char *link);

/* What the LAN has dropped for reason why, so far. */
uint64_t ns_lan_drops(struct glan_lan *lan, enum glan_drop why);

/* ---- guest ports ------------------------------------------------------------------------ */

#define NS_GUEST_QUEUE 64

/* A guest port with an IPv4 and an IPv6 address.  It answers every echo
 * request it is given, and TCP: a SYN with SYN+ACK, a FIN with RST (the
 * connection is made, and goes when the other side closes it), from a thread
 * of its own (a port must not send from inside its deliver).  It counts what
 * it gets by kind, and apart from that what was not for its two addresses. */
struct ns_guest {
    const char *name;
    struct glan_addr a4, a6;
    struct glan_port *port;
    pthread_mutex_t m;
    pthread_cond_t cv;
    uint8_t q[NS_GUEST_QUEUE][2048];
    uint32_t qlen[NS_GUEST_QUEUE];
    uint8_t qready[NS_GUEST_QUEUE]; /* 1: an answer already, 0: an echo request to answer */
    unsigned head, tail;
    int stop;
    pthread_t responder;
    /* what it received: read them with ns_count */
    unsigned req4, req6, rep4, rep6, udp, syn, fin, other, not_mine;
};

/* Attach g to lan as port name with addresses a4 and a6 (text), registered,
 * and start its responder: 0, or -1. */
int ns_guest_start(struct ns_guest *g, struct glan_lan *lan, const char *name, const char *a4,
                   const char *a6);
void ns_guest_stop(struct ns_guest *g);
/* One of g's counters (a field of g), read under its lock. */
unsigned ns_count(struct ns_guest *g, const unsigned *field);
/* Wait up to ms for that counter to reach want: 1 when it did. */
int ns_wait(struct ns_guest *g, const unsigned *field, unsigned want, int ms);

#endif
