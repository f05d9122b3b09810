/*
 * Unit tests of the forwarding rules of an ETHERNET LAN (src/base/
 * l2switch.c): frames switched by registered MAC address and VLAN, with
 * recording ports (testport.h), and the counters' balance after each rule.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include <stdio.h>
#include <unistd.h>

#include "guestlan/base.h"
#include "guestlan/trace.h"
#include "testport.h"

static struct glan_lan *lan;
static struct testport A, B, C, U;

#define MAC_A "02:00:00:00:00:0a"
#define MAC_B "02:00:00:00:00:0b"
#define MAC_C "02:00:00:00:00:0c"
#define MAC_X "02:00:00:00:00:99" /* registered by nobody */
#define BCAST "ff:ff:ff:ff:ff:ff"
#define GROUP "33:33:00:00:00:01"

static const char *const a_addrs[] = {MAC_A, NULL};
static const char *const b_addrs[] = {MAC_B, NULL};
static const char *const c_addrs[] = {MAC_C, NULL};

static void setup(void)
{
    char err[128] = "";
    struct glan_lan_config cfg = {.name = "ETH1", .transport = GLAN_TRANSPORT_ETHERNET};
    lan = glan_lan_create(&cfg, err, sizeof err);
    ck_assert_msg(lan != NULL, "create: %s", err);
    tp_attach(&A, lan, "A", a_addrs);
    tp_attach(&B, lan, "B", b_addrs);
    tp_attach(&C, lan, "C", c_addrs);
    memset(&U, 0, sizeof U);
}

static void teardown(void)
{
    tp_check_balance(lan);
    glan_port_detach(A.port);
    glan_port_detach(B.port);
    glan_port_detach(C.port);
    if (U.port)
        glan_port_detach(U.port);
    glan_lan_destroy(lan);
}

static void attach_uplink(void)
{
    memset(&U, 0, sizeof U);
    U.room = -1;
    struct glan_port_info info = {.name = "uplink", .kind = GLAN_PORT_UPLINK};
    ck_assert_int_eq(glan_port_attach(lan, &info, &testport_ops, &U, &U.port), 0);
}

static void mac_of(const char *text, uint8_t mac[6])
{
    struct glan_addr a;
    ck_assert_int_eq(glan_addr_parse(text, &a), 0);
    ck_assert_int_eq(a.family, GLAN_AF_MAC);
    memcpy(mac, a.bytes, 6);
}

/* A frame from src to dst, tagged with vid when it is not 0, carrying tag at
 * byte 20; len bytes (at least 24). */
static size_t frame(uint8_t *f, size_t len, const char *src, const char *dst, int vid, uint32_t tag)
{
    memset(f, 0, len);
    mac_of(dst, f);
    mac_of(src, f + 6);
    if (vid) {
        f[12] = 0x81;
        f[13] = 0x00;
        f[14] = (uint8_t)(vid >> 8);
        f[15] = (uint8_t)vid;
        f[16] = 0x08;
        f[17] = 0x00;
    } else {
        f[12] = 0x08;
        f[13] = 0x00;
    }
    memcpy(f + 20, &tag, 4);
    return len;
}

static enum glan_drop send_frame(struct testport *tp, const char *src, const char *dst, int vid,
                                 uint32_t tag)
{
    uint8_t f[64];
    return glan_port_send(tp->port, f, frame(f, sizeof f, src, dst, vid, tag), NULL);
}

static uint64_t dropped(enum glan_drop why)
{
    struct glan_lan_stats st;
    glan_lan_stats(lan, &st);
    return st.dropped[why];
}

static void join(struct testport *tp, const char *text)
{
    struct glan_addr g;
    ck_assert_int_eq(glan_addr_parse(text, &g), 0);
    ck_assert_int_eq(glan_group_join(tp->port, &g), 0);
}

static void join_vlan(struct testport *tp, uint16_t vid)
{
    struct glan_addr v;
    glan_addr_vlan(&v, vid);
    ck_assert_int_eq(glan_group_join(tp->port, &v), 0);
}

START_TEST(transport_kept)
{
    struct glan_lan_config cfg;
    glan_lan_get_config(lan, &cfg);
    ck_assert_uint_eq(cfg.transport, GLAN_TRANSPORT_ETHERNET);
    ck_assert_int_eq(glan_lan_transport(lan), GLAN_TRANSPORT_ETHERNET);
    ck_assert_str_eq(glan_transport_name(GLAN_TRANSPORT_ETHERNET), "ethernet");
    enum glan_transport t;
    ck_assert_int_eq(glan_transport_parse("IP", &t), 0);
    ck_assert_int_eq(t, GLAN_TRANSPORT_IP);
    ck_assert_int_eq(glan_transport_parse("token-ring", &t), -EINVAL);
}
END_TEST

START_TEST(registry_by_transport)
{
    struct glan_addr a;
    /* An ETHERNET LAN registers MACs and VLANs, no IP addresses. */
    glan_addr_parse("10.0.0.1", &a);
    ck_assert_int_eq(glan_addr_register(A.port, &a), -EPROTOTYPE);
    glan_addr_parse("224.0.0.1", &a);
    ck_assert_int_eq(glan_group_join(A.port, &a), -EPROTOTYPE);
    /* A group MAC is no unicast address, a unicast MAC no group. */
    glan_addr_parse(GROUP, &a);
    ck_assert_int_eq(glan_addr_register(A.port, &a), -EINVAL);
    glan_addr_parse(MAC_X, &a);
    ck_assert_int_eq(glan_group_join(A.port, &a), -EINVAL);
    glan_addr_parse(BCAST, &a);
    ck_assert_int_eq(glan_group_join(A.port, &a), -EINVAL);
    glan_addr_vlan(&a, 0);
    ck_assert_int_eq(glan_group_join(A.port, &a), -EINVAL);
    glan_addr_vlan(&a, 4095);
    ck_assert_int_eq(glan_group_join(A.port, &a), -EINVAL);
    /* And an IP LAN no MACs. */
    char err[128];
    struct glan_lan_config cfg = {.name = "IP1"};
    struct glan_lan *ip = glan_lan_create(&cfg, err, sizeof err);
    struct testport P;
    tp_attach(&P, ip, "P", NULL);
    glan_addr_parse(MAC_X, &a);
    ck_assert_int_eq(glan_addr_register(P.port, &a), -EPROTOTYPE);
    glan_addr_vlan(&a, 10);
    ck_assert_int_eq(glan_group_join(P.port, &a), -EPROTOTYPE);
    glan_port_detach(P.port);
    glan_lan_destroy(ip);
}
END_TEST

START_TEST(duplicate_mac_refused)
{
    struct glan_addr a;
    glan_addr_parse(MAC_A, &a);
    ck_assert_int_eq(glan_addr_register(B.port, &a), -EADDRINUSE);
    ck_assert_int_eq(glan_lan_lookup(lan, &a), glan_port_index(A.port));
    /* the first holder keeps it: frames for it go to A */
    ck_assert_int_eq(send_frame(&B, MAC_B, MAC_A, 0, 7), GLAN_DROP_NONE);
    ck_assert_uint_eq(A.n, 1);
    ck_assert_uint_eq(A.tags[0], 7);
    ck_assert_uint_eq(C.n, 0);
}
END_TEST

START_TEST(unicast_to_holder_only)
{
    attach_uplink();
    ck_assert_int_eq(send_frame(&A, MAC_A, MAC_B, 0, 1), GLAN_DROP_NONE);
    ck_assert_uint_eq(B.n, 1);
    ck_assert_uint_eq(B.casts[0], GLAN_CAST_UNICAST);
    ck_assert_uint_eq(C.n + U.n + A.n, 0);
    ck_assert_uint_eq(B.lens[0], 64);
}
END_TEST

START_TEST(unknown_unicast_from_guest_to_uplink)
{
    ck_assert_int_eq(send_frame(&A, MAC_A, MAC_X, 0, 1), GLAN_DROP_NO_UPLINK);
    ck_assert_uint_eq(dropped(GLAN_DROP_NO_UPLINK), 1);
    attach_uplink();
    ck_assert_int_eq(send_frame(&A, MAC_A, MAC_X, 0, 2), GLAN_DROP_NONE);
    ck_assert_uint_eq(U.n, 1);
    ck_assert_uint_eq(U.tags[0], 2);
    ck_assert_uint_eq(B.n + C.n, 0);
}
END_TEST

START_TEST(unknown_unicast_from_uplink_dropped)
{
    attach_uplink();
    ck_assert_int_eq(send_frame(&U, MAC_X, "02:00:00:00:00:98", 0, 1), GLAN_DROP_UNKNOWN_DEST);
    ck_assert_uint_eq(dropped(GLAN_DROP_UNKNOWN_DEST), 1);
    ck_assert_uint_eq(A.n + B.n + C.n, 0);
    /* a registered one arrives */
    ck_assert_int_eq(send_frame(&U, MAC_X, MAC_C, 0, 2), GLAN_DROP_NONE);
    ck_assert_uint_eq(C.n, 1);
}
END_TEST

START_TEST(broadcast_to_every_other_port)
{
    attach_uplink();
    ck_assert_int_eq(send_frame(&A, MAC_A, BCAST, 0, 3), GLAN_DROP_NONE);
    ck_assert_uint_eq(A.n, 0);
    ck_assert_uint_eq(B.n, 1);
    ck_assert_uint_eq(C.n, 1);
    ck_assert_uint_eq(U.n, 1);
    ck_assert_uint_eq(B.casts[0], GLAN_CAST_BROADCAST);
    /* from the uplink: every guest */
    ck_assert_int_eq(send_frame(&U, MAC_X, BCAST, 0, 4), GLAN_DROP_NONE);
    ck_assert_uint_eq(A.n + B.n + C.n, 5);
    ck_assert_uint_eq(U.n, 1);
    struct glan_lan_stats st;
    glan_lan_stats(lan, &st);
    ck_assert_uint_eq(st.fanout, 2 + 2);
}
END_TEST

START_TEST(multicast_to_members_and_uplink)
{
    /* nobody joined, no uplink */
    ck_assert_int_eq(send_frame(&A, MAC_A, GROUP, 0, 1), GLAN_DROP_NO_RECEIVER);
    join(&B, GROUP);
    ck_assert_int_eq(send_frame(&A, MAC_A, GROUP, 0, 2), GLAN_DROP_NONE);
    ck_assert_uint_eq(B.n, 1);
    ck_assert_uint_eq(B.casts[0], GLAN_CAST_MULTICAST);
    ck_assert_uint_eq(C.n, 0);
    attach_uplink();
    ck_assert_int_eq(send_frame(&A, MAC_A, GROUP, 0, 3), GLAN_DROP_NONE);
    ck_assert_uint_eq(B.n, 2);
    ck_assert_uint_eq(U.n, 1);
    ck_assert_uint_eq(C.n, 0);
    /* from the uplink: the members only */
    ck_assert_int_eq(send_frame(&U, MAC_X, GROUP, 0, 4), GLAN_DROP_NONE);
    ck_assert_uint_eq(B.n, 3);
    ck_assert_uint_eq(A.n + C.n, 0);
    /* a member does not get its own back */
    ck_assert_int_eq(send_frame(&B, MAC_B, GROUP, 0, 5), GLAN_DROP_NONE);
    ck_assert_uint_eq(B.n, 3);
    ck_assert_uint_eq(U.n, 2);
}
END_TEST

START_TEST(vlan_kept_apart)
{
    attach_uplink();
    join_vlan(&A, 10);
    join_vlan(&B, 10);
    join_vlan(&C, 20);
    /* unicast within the VLAN */
    ck_assert_int_eq(send_frame(&A, MAC_A, MAC_B, 10, 1), GLAN_DROP_NONE);
    ck_assert_uint_eq(B.n, 1);
    /* into a VLAN the receiver is not on */
    ck_assert_int_eq(send_frame(&A, MAC_A, MAC_C, 10, 2), GLAN_DROP_VLAN);
    ck_assert_uint_eq(C.n, 0);
    /* from a VLAN the sender is not on */
    ck_assert_int_eq(send_frame(&C, MAC_C, MAC_A, 10, 3), GLAN_DROP_VLAN);
    ck_assert_uint_eq(A.n, 0);
    /* broadcast: the VLAN's members and the uplink (a trunk) */
    ck_assert_int_eq(send_frame(&A, MAC_A, BCAST, 10, 4), GLAN_DROP_NONE);
    ck_assert_uint_eq(B.n, 2);
    ck_assert_uint_eq(C.n, 0);
    ck_assert_uint_eq(U.n, 1);
    /* multicast: members of the group and of the VLAN */
    join(&B, GROUP);
    join(&C, GROUP);
    ck_assert_int_eq(send_frame(&A, MAC_A, GROUP, 10, 5), GLAN_DROP_NONE);
    ck_assert_uint_eq(B.n, 3);
    ck_assert_uint_eq(C.n, 0);
    ck_assert_uint_eq(U.n, 2);
    /* untagged frames reach every port, VLANs or not */
    ck_assert_int_eq(send_frame(&A, MAC_A, BCAST, 0, 6), GLAN_DROP_NONE);
    ck_assert_uint_eq(B.n, 4);
    ck_assert_uint_eq(C.n, 1);
    ck_assert_uint_eq(U.n, 3);
    /* priority-tagged (VLAN 0) is untagged */
    ck_assert_int_eq(send_frame(&A, MAC_A, MAC_C, 0, 7), GLAN_DROP_NONE);
    ck_assert_uint_eq(C.n, 2);
    /* the uplink sends into any VLAN; a guest off it does not get it */
    ck_assert_int_eq(send_frame(&U, MAC_X, MAC_C, 10, 8), GLAN_DROP_VLAN);
    ck_assert_int_eq(send_frame(&U, MAC_X, MAC_B, 10, 9), GLAN_DROP_NONE);
    ck_assert_uint_eq(B.n, 5);
    /* a port leaving a VLAN no longer sees it */
    struct glan_addr v;
    glan_addr_vlan(&v, 10);
    ck_assert_int_eq(glan_group_leave(B.port, &v), 0);
    ck_assert_int_eq(send_frame(&U, MAC_X, BCAST, 10, 10), GLAN_DROP_NONE);
    ck_assert_uint_eq(A.n, 1);
    ck_assert_uint_eq(B.n, 5);
}
END_TEST

START_TEST(hostile_frames)
{
    attach_uplink();
    uint8_t f[64];
    /* shorter than an Ethernet header; a tag cut short */
    frame(f, sizeof f, MAC_A, MAC_B, 0, 0);
    ck_assert_int_eq(glan_port_send(A.port, f, 13, NULL), GLAN_DROP_MALFORMED);
    ck_assert_int_eq(glan_port_send(A.port, f, 0, NULL), GLAN_DROP_MALFORMED);
    ck_assert_int_eq(glan_port_send(A.port, f, 14, NULL), GLAN_DROP_NONE); /* header only */
    frame(f, sizeof f, MAC_A, MAC_B, 10, 0);
    ck_assert_int_eq(glan_port_send(A.port, f, 17, NULL), GLAN_DROP_MALFORMED);
    /* VLAN 4095 is reserved */
    join_vlan(&A, 10);
    frame(f, sizeof f, MAC_A, MAC_B, 0xfff, 0);
    ck_assert_int_eq(glan_port_send(A.port, f, sizeof f, NULL), GLAN_DROP_MALFORMED);
    /* a group or zero source MAC */
    ck_assert_int_eq(send_frame(&A, GROUP, MAC_B, 0, 1), GLAN_DROP_MALFORMED);
    ck_assert_int_eq(send_frame(&A, "00:00:00:00:00:00", MAC_B, 0, 1), GLAN_DROP_MALFORMED);
    /* spoofed: another port's MAC, from a guest or from the uplink */
    ck_assert_int_eq(send_frame(&A, MAC_B, MAC_C, 0, 1), GLAN_DROP_SPOOFED);
    ck_assert_int_eq(send_frame(&U, MAC_B, MAC_C, 0, 1), GLAN_DROP_SPOOFED);
    ck_assert_uint_eq(C.n, 0);
    ck_assert_uint_eq(dropped(GLAN_DROP_MALFORMED), 6);
    ck_assert_uint_eq(dropped(GLAN_DROP_SPOOFED), 2);
    /* an unregistered source (a guest bridging for others) is let through */
    ck_assert_int_eq(send_frame(&A, MAC_X, MAC_C, 0, 2), GLAN_DROP_NONE);
    ck_assert_uint_eq(C.n, 1);
    ck_assert_str_eq(glan_drop_name(GLAN_DROP_SPOOFED), "spoofed");
    ck_assert_str_eq(glan_drop_name(GLAN_DROP_VLAN), "vlan");
}
END_TEST

START_TEST(counters_balance_per_port)
{
    attach_uplink();
    join_vlan(&A, 10);
    join(&C, GROUP);
    B.room = 1; /* B takes one, the rest wait */
    for (int i = 0; i < 8; i++) {
        send_frame(&A, MAC_A, MAC_B, i & 1 ? 10 : 0, (uint32_t)i);
        send_frame(&A, MAC_A, BCAST, 0, (uint32_t)i);
        send_frame(&A, MAC_A, GROUP, 0, (uint32_t)i);
        send_frame(&U, MAC_X, MAC_X, 0, (uint32_t)i);
        send_frame(&C, MAC_A, MAC_B, 0, (uint32_t)i);
    }
    tp_check_balance(lan);
    struct glan_port_stats ps;
    glan_port_stats(A.port, &ps);
    uint64_t d = 0;
    for (int i = 0; i < GLAN_DROP_COUNT; i++)
        d += ps.dropped[i];
    struct glan_port_stats bs;
    glan_port_stats(B.port, &bs);
    ck_assert_uint_eq(ps.sent_packets + ps.fanout, ps.delivered + d + bs.queued);
    ck_assert_uint_eq(ps.dropped[GLAN_DROP_VLAN], 4);
}
END_TEST

START_TEST(query_shows_macs_groups_vlans)
{
    join(&A, GROUP);
    join_vlan(&A, 10);
    struct glan_addr out[8];
    size_t n = glan_lan_port_addrs(lan, glan_port_index(A.port), 1, out, 8);
    ck_assert_uint_eq(n, 3);
    char buf[64];
    ck_assert_str_eq(glan_addr_format(&out[0], buf, sizeof buf), MAC_A);
    ck_assert_str_eq(glan_addr_format(&out[1], buf, sizeof buf), GROUP);
    ck_assert_str_eq(glan_addr_format(&out[2], buf, sizeof buf), "vlan 10");
}
END_TEST

START_TEST(detach_forgets_mac)
{
    glan_port_detach(B.port);
    struct glan_addr a;
    glan_addr_parse(MAC_B, &a);
    ck_assert_int_eq(glan_lan_lookup(lan, &a), -1);
    tp_attach(&B, lan, "B2", b_addrs);
    ck_assert_int_eq(send_frame(&A, MAC_A, MAC_B, 0, 1), GLAN_DROP_NONE);
    ck_assert_uint_eq(B.n, 1);
}
END_TEST

/* A trace of an ETHERNET LAN is a DLT_EN10MB capture of the frames as sent. */
START_TEST(trace_writes_ethernet)
{
    char path[64], err[200];
    snprintf(path, sizeof path, "/tmp/glan-l2trace-%d.pcap", (int)getpid());
    struct glan_trace_config tc = {.path = path, .port = -1};
    struct glan_trace *t = glan_trace_start(lan, &tc, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    ck_assert_int_eq(send_frame(&A, MAC_A, MAC_B, 0, 0x11223344), GLAN_DROP_NONE);
    ck_assert_int_eq(glan_trace_stop(t, err, sizeof err), 0);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    uint8_t b[24 + 16 + 64];
    size_t n = fread(b, 1, sizeof b, f);
    fclose(f);
    unlink(path);
    ck_assert_uint_eq(n, sizeof b);
    ck_assert_uint_eq(b[20] | b[21] << 8 | b[22] << 16 | (uint32_t)b[23] << 24, 1); /* EN10MB */
    uint8_t mac[6];
    mac_of(MAC_B, mac);
    ck_assert_int_eq(memcmp(b + 40, mac, 6), 0); /* the frame, from its destination */
}
END_TEST

Suite *l2switch_suite(void)
{
    Suite *s = suite_create("l2switch");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, transport_kept);
    tcase_add_test(tc, registry_by_transport);
    tcase_add_test(tc, duplicate_mac_refused);
    tcase_add_test(tc, unicast_to_holder_only);
    tcase_add_test(tc, unknown_unicast_from_guest_to_uplink);
    tcase_add_test(tc, unknown_unicast_from_uplink_dropped);
    tcase_add_test(tc, broadcast_to_every_other_port);
    tcase_add_test(tc, multicast_to_members_and_uplink);
    tcase_add_test(tc, vlan_kept_apart);
    tcase_add_test(tc, hostile_frames);
    tcase_add_test(tc, counters_balance_per_port);
    tcase_add_test(tc, query_shows_macs_groups_vlans);
    tcase_add_test(tc, detach_forgets_mac);
    tcase_add_test(tc, trace_writes_ethernet);
    suite_add_tcase(s, tc);
    return s;
}
