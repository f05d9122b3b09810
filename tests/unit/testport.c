/* The unit tests' recording port (testport.h). */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "dgram.h"
#include "testport.h"

/* Where a datagram of family's carries its tag: the first word of the UDP
 * payload; in an Ethernet frame (test_l2switch.c), at byte 20, past an
 * 802.1Q-tagged header. */
static size_t tag_at(uint8_t family)
{
    if (family == GLAN_AF_MAC)
        return 20;
    return (family == GLAN_AF_INET ? IPV4_HDR_MIN : IPV6_HDR_LEN) + DG_UDP_HDR;
}

static int tp_deliver(void *ctx, const struct glan_dgram *dg)
{
    struct testport *tp = ctx;
    if (tp->fail_rc)
        return tp->fail_rc;
    if (tp->room == 0)
        return -EAGAIN;
    if (tp->room > 0)
        tp->room--;
    if (tp->n < TP_MAX) {
        uint32_t tag = 0;
        size_t hl = tag_at(dg->family);
        if (dg->len >= hl + 4)
            memcpy(&tag, dg->data + hl, 4);
        tp->lens[tp->n] = dg->len;
        tp->tags[tp->n] = tag;
        tp->casts[tp->n] = dg->cast;
    }
    tp->n++;
    return 0;
}

static void tp_flush(void *ctx)
{
    struct testport *tp = ctx;
    tp->flushes++;
}

const struct glan_port_ops testport_ops = {.deliver = tp_deliver, .flush = tp_flush};

void tp_attach(struct testport *tp, struct glan_lan *lan, const char *name,
               const char *const *addrs)
{
    memset(tp, 0, sizeof *tp);
    tp->room = -1;
    struct glan_port_info info = {.name = name, .kind = GLAN_PORT_GUEST};
    ck_assert_int_eq(glan_port_attach(lan, &info, &testport_ops, tp, &tp->port), 0);
    for (; addrs && *addrs; addrs++) {
        struct glan_addr a;
        ck_assert_int_eq(glan_addr_parse(*addrs, &a), 0);
        ck_assert_int_eq(glan_addr_register(tp->port, &a), 0);
    }
}

size_t tp_build(uint8_t *buf, size_t len, const char *src, const char *dst, uint32_t tag)
{
    ck_assert_msg(tp_build_quiet(buf, len, src, dst, tag) == len,
                  "cannot build a %zu-byte datagram %s -> %s", len, src, dst);
    return len;
}

size_t tp_build_quiet(uint8_t *buf, size_t len, const char *src, const char *dst, uint32_t tag)
{
    struct glan_addr s, d;
    if (glan_addr_parse(src, &s) != 0 || glan_addr_parse(dst, &d) != 0 || s.family != d.family)
        return 0;
    if (len < tag_at(d.family) + 4)
        return 0;
    dg_udp(buf, len, &s, 0, &d, 0, 0); /* no checksums: the base reads none */
    memcpy(buf + tag_at(d.family), &tag, 4);
    return len;
}

enum glan_drop tp_send(struct testport *tp, const char *src, const char *dst, size_t len,
                       uint32_t tag)
{
    static _Thread_local uint8_t buf[65535];
    ck_assert_uint_le(len, sizeof buf);
    tp_build(buf, len, src, dst, tag);
    return glan_port_send(tp->port, buf, len, NULL);
}

void tp_check_balance(struct glan_lan *lan)
{
    struct glan_lan_stats st;
    glan_lan_stats(lan, &st);
    uint64_t dropped = 0;
    for (int i = 0; i < GLAN_DROP_COUNT; i++)
        dropped += st.dropped[i];
    ck_assert_uint_eq(st.sent_packets + st.fanout, st.delivered + dropped + st.queued);
}
