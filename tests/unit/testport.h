/*
 * A port for unit tests: it records what the base delivers to it, can play a
 * receiver with a fixed number of free input buffers (returning -EAGAIN when
 * they are used up, as a guest with no free input SBAL does), and builds
 * IPv4/IPv6 datagrams to send (with the tests' one builder, dgram.h).
 */
#ifndef GLAN_TESTS_TESTPORT_H
#define GLAN_TESTS_TESTPORT_H

#include <stddef.h>
#include <stdint.h>

#include "guestlan/base.h"

#define TP_MAX 4096

struct testport {
    struct glan_port *port;
    int room;    /* free input buffers; -1 means unlimited */
    int fail_rc; /* when nonzero, deliver returns it */
    unsigned n;  /* datagrams recorded */
    unsigned flushes;
    uint32_t lens[TP_MAX];
    uint32_t tags[TP_MAX]; /* first payload word of each, for ordering checks */
    uint8_t casts[TP_MAX];
};

extern const struct glan_port_ops testport_ops;

/* Attach a guest port named name with the given addresses (NULL-terminated
 * list of text addresses); fails the test on error. */
void tp_attach(struct testport *tp, struct glan_lan *lan, const char *name,
               const char *const *addrs);
/* Build an IPv4 or IPv6 (by the address text) UDP datagram from src to dst
 * with total length len (at least 48) carrying tag; returns len. */
size_t tp_build(uint8_t *buf, size_t len, const char *src, const char *dst, uint32_t tag);
/* The same without Check: 0 when it cannot.  For processes a test forks
 * (and may kill): a Check assertion, even one that holds, writes to the
 * test's message pipe, and a kill in the middle of that write garbles it. */
size_t tp_build_quiet(uint8_t *buf, size_t len, const char *src, const char *dst, uint32_t tag);
/* Send such a datagram from tp. */
enum glan_drop tp_send(struct testport *tp, const char *src, const char *dst, size_t len,
                       uint32_t tag);
/* Assert the LAN's books balance: sent + fanout == delivered + dropped + queued. */
void tp_check_balance(struct glan_lan *lan);

#endif
