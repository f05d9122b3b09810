/*
 * The device model in layer 2 (src/osa/l2.c) on a LAN of transport
 * ETHERNET, driven by simulated qeth_l2 guests: the bring-up, the MAC the
 * LAN hands out, the layer-2 IPA commands and their return codes, frames
 * with the layer-2 header both ways, VLANs, and the refusal of a guest of
 * the other layer at ULP ENABLE (an IDX TERMINATE, as z/VM gives).
 */
#include <check.h>
#include <string.h>

#include "dgram.h"
#include "guestlan/base.h"
#include "guestlan/osa.h"
#include "guestlan/osa_wire.h"
#include "guestlan/simguest.h"
#include "osa_fixture.h"

static struct glan_lan *lan;
static struct simguest *a, *b;
static struct sg_rx rx[64];

static struct glan_lan *ethernet_lan(const char *name)
{
    char err[128] = "";
    struct glan_lan_config cfg = {.name = name, .transport = GLAN_TRANSPORT_ETHERNET};
    struct glan_lan *l = glan_lan_create(&cfg, err, sizeof err);
    ck_assert_msg(l != NULL, "create: %s", err);
    return l;
}

static void setup(void)
{
    lan = ethernet_lan("osal2");
    a = glan_sg_create(lan, "0600", 0x0600);
    b = glan_sg_create(lan, "0700", 0x0700);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(glan_sg_bringup_l2(a), 0);
    ck_assert_int_eq(glan_sg_bringup_l2(b), 0);
}

static void teardown(void)
{
    glan_sg_destroy(a);
    glan_sg_destroy(b);
    struct glan_lan_stats st;
    glan_lan_stats(lan, &st);
    ck_assert_uint_eq(st.buffers_in_use, 0);
    uint64_t d = 0;
    for (int i = 0; i < GLAN_DROP_COUNT; i++)
        d += st.dropped[i];
    ck_assert_uint_eq(st.sent_packets + st.fanout, st.delivered + d + st.queued);
    glan_lan_destroy(lan);
}

/* A frame from src to dst (tagged with vid when nonzero) of len bytes. */
static size_t frame(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t vid, size_t len,
                    uint8_t fill)
{
    size_t h = dg_eth(f, dst, src, ET_IPV4, vid);
    memset(f + h, fill, len - h);
    return len;
}

static int send_frame(struct simguest *g, const uint8_t *f, size_t len)
{
    struct sg_pkt p = {.data = f, .len = (uint32_t)len};
    return glan_sg_send(g, &p, 1, 0);
}

START_TEST(macs_handed_out_and_registered)
{
    static const uint8_t zero[6];
    /* the LAN's prefix (from its name) and the port's number */
    uint8_t want[6];
    glan_mac_prefix_of_name("osal2", want);
    int pa = glan_port_index(glan_osa_port(a->osa));
    want[4] = (uint8_t)(pa >> 8);
    want[5] = (uint8_t)pa;
    ck_assert_mem_eq(a->mac, want, 6);
    ck_assert_int_eq(a->mac[0] & 1, 0);
    ck_assert_int_ne(memcmp(a->mac, zero, 6), 0);
    ck_assert_int_ne(memcmp(a->mac, b->mac, 6), 0);
    struct glan_addr m;
    glan_addr_mac(&m, a->mac);
    ck_assert_int_eq(glan_lan_lookup(lan, &m), glan_port_index(glan_osa_port(a->osa)));
    glan_addr_mac(&m, b->mac);
    ck_assert_int_eq(glan_lan_lookup(lan, &m), glan_port_index(glan_osa_port(b->osa)));
    /* QIPASSIST in layer 2: SETADAPTERPARMS, IPv6 (for the IPv6 query) and
     * the offloads (test_offload.c), none of the layer-3 assists */
    ck_assert_uint_ne(a->ipa4_supported & IPA_SETADAPTERPARMS, 0);
    ck_assert_uint_eq(a->ipa4_supported &
                          (IPA_ARP_PROCESSING | IPA_FILTERING | IPA_MULTICASTING | IPA_PASSTHRU),
                      0);
    struct glan_osa_stats st;
    glan_osa_get_stats(a->osa, &st);
    ck_assert_uint_eq(st.l2_refused, 0);
    ck_assert_uint_eq(st.ipa_notsupp, 2); /* SETBRIDGEPORT and VNICC */
}
END_TEST

/* Two LANs hand out other MACs; a LAN given a MAC prefix (z/VM's VMLAN
 * MACPREFIX) hands out MACs of that prefix; a bad prefix is refused. */
START_TEST(mac_prefix_per_lan)
{
    char err[160];
    struct glan_lan *other = ethernet_lan("osal2b");
    struct simguest *c = glan_sg_create(other, "0800", 0x0800);
    ck_assert_int_eq(glan_sg_bringup_l2(c), 0);
    ck_assert_int_ne(memcmp(c->mac, a->mac, 4), 0);
    glan_sg_destroy(c);
    glan_lan_destroy(other);
    struct glan_lan_config cfg = {.name = "osal2c",
                                  .transport = GLAN_TRANSPORT_ETHERNET,
                                  .mac_prefix = {0x02, 0xaa, 0xbb},
                                  .mac_prefix_len = 3};
    other = glan_lan_create(&cfg, err, sizeof err);
    ck_assert_msg(other != NULL, "%s", err);
    struct glan_lan_config got;
    glan_lan_get_config(other, &got);
    ck_assert_uint_eq(got.mac_prefix_len, 4);
    ck_assert_mem_eq(got.mac_prefix, ((uint8_t[]){2, 0xaa, 0xbb, 0}), 4);
    c = glan_sg_create(other, "0800", 0x0800);
    ck_assert_int_eq(glan_sg_bringup_l2(c), 0);
    int pc = glan_port_index(glan_osa_port(c->osa));
    ck_assert_mem_eq(c->mac, ((uint8_t[]){2, 0xaa, 0xbb, 0, (uint8_t)(pc >> 8), (uint8_t)pc}), 6);
    glan_sg_destroy(c);
    glan_lan_destroy(other);
    cfg.mac_prefix[0] = 0x03; /* a group address */
    ck_assert_ptr_null(glan_lan_create(&cfg, err, sizeof err));
    ck_assert_msg(strstr(err, "MAC prefix") != NULL, "%s", err);
    cfg.mac_prefix[0] = 0x02;
    cfg.mac_prefix_len = 2;
    ck_assert_ptr_null(glan_lan_create(&cfg, err, sizeof err));
}
END_TEST

START_TEST(frames_both_ways)
{
    uint8_t f[1600];
    size_t n = frame(f, b->mac, a->mac, 0, 1514, 0xab);
    ck_assert_int_eq(send_frame(a, f, n), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_recv(b, rx, 64), 1);
    ck_assert_uint_eq(rx[0].len, n);
    ck_assert_uint_eq(rx[0].flags, QETH_L2_UNICAST);
    ck_assert_int_eq(memcmp(rx[0].data, f, n), 0);
    /* a broadcast back; a header-only frame */
    static const uint8_t bc[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    n = frame(f, bc, b->mac, 0, 60, 0xcd);
    ck_assert_int_eq(send_frame(b, f, n), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_recv(a, rx, 64), 1);
    ck_assert_uint_eq(rx[0].flags, QETH_L2_BROADCAST);
    ck_assert_int_eq(memcmp(rx[0].data, f, n), 0);
    n = frame(f, a->mac, b->mac, 0, 14, 0);
    ck_assert_int_eq(send_frame(b, f, n), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_recv(a, rx, 64), 1);
    ck_assert_uint_eq(rx[0].len, 14);
}
END_TEST

START_TEST(multicast_by_group_mac)
{
    static const uint8_t grp[6] = {0x33, 0x33, 0xff, 0x00, 0x00, 0x02};
    uint8_t f[128];
    size_t n = frame(f, grp, a->mac, 0, 90, 1);
    ck_assert_int_eq(send_frame(a, f, n), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_recv(b, rx, 64), 0); /* not joined: no_receiver */
    ck_assert_int_eq(glan_sg_setmac(b, grp, 0), IPA_RC_SUCCESS);
    ck_assert_int_eq(glan_sg_setmac(b, grp, 0), IPA_RC_SUCCESS); /* again: no harm */
    ck_assert_int_eq(send_frame(a, f, n), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_recv(b, rx, 64), 1);
    ck_assert_uint_eq(rx[0].flags, QETH_L2_MULTICAST);
    ck_assert_int_eq(glan_sg_setmac(b, grp, 1), IPA_RC_SUCCESS);
    ck_assert_int_eq(glan_sg_setmac(b, grp, 1), IPA_RC_L2_GMAC_NOT_FOUND);
    struct glan_lan_stats st;
    glan_lan_stats(lan, &st);
    ck_assert_uint_eq(st.dropped[GLAN_DROP_NO_RECEIVER], 1);
}
END_TEST

START_TEST(setvmac_rules)
{
    /* another port's MAC: refused, the holder keeps it */
    ck_assert_int_eq(glan_sg_setmac(a, b->mac, 0), IPA_RC_L2_DUP_MAC);
    struct glan_addr m;
    glan_addr_mac(&m, b->mac);
    ck_assert_int_eq(glan_lan_lookup(lan, &m), glan_port_index(glan_osa_port(b->osa)));
    /* a MAC of the guest's own choosing, then the handed-out one given up */
    static const uint8_t own[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
    ck_assert_int_eq(glan_sg_setmac(a, own, 0), IPA_RC_SUCCESS);
    ck_assert_int_eq(glan_sg_setmac(a, a->mac, 1), IPA_RC_SUCCESS);
    ck_assert_int_eq(glan_sg_setmac(a, a->mac, 1), IPA_RC_L2_MAC_NOT_FOUND);
    uint8_t f[100];
    size_t n = frame(f, own, b->mac, 0, 100, 9);
    ck_assert_int_eq(send_frame(b, f, n), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_recv(a, rx, 64), 1);
    /* the old one is nobody's now: with no uplink, dropped */
    n = frame(f, a->mac, b->mac, 0, 100, 9);
    ck_assert_int_eq(send_frame(b, f, n), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_recv(a, rx, 64), 0);
    /* malformed requests */
    uint8_t bad[10] = {0, 0, 0, 5};
    ck_assert_int_eq(glan_sg_ipa(a, IPA_CMD_SETVMAC, IPA_PROT_IPV4, bad, sizeof bad, NULL, NULL),
                     IPA_RC_INVALID_FORMAT);
    ck_assert_int_eq(glan_sg_ipa(a, IPA_CMD_SETVMAC, IPA_PROT_IPV4, bad, 3, NULL, NULL),
                     IPA_RC_INVALID_FORMAT);
    static const uint8_t zero[6];
    ck_assert_int_eq(glan_sg_setmac(a, zero, 0), IPA_RC_L2_MAC_NOT_AUTH_BY_ADP);
    /* no IP commands in layer 2 */
    uint8_t ip[12] = {10, 0, 0, 1, 255, 0, 0, 0};
    ck_assert_int_ne(glan_sg_ipa(a, IPA_CMD_SETIP, IPA_PROT_IPV4, ip, sizeof ip, NULL, NULL),
                     IPA_RC_SUCCESS);
}
END_TEST

START_TEST(vlans)
{
    ck_assert_int_eq(glan_sg_setvlan(a, 0, 0), IPA_RC_L2_INVALID_VLAN_ID);
    ck_assert_int_eq(glan_sg_setvlan(a, 4095, 0), IPA_RC_L2_INVALID_VLAN_ID);
    ck_assert_int_eq(glan_sg_setvlan(a, 10, 0), IPA_RC_SUCCESS);
    ck_assert_int_eq(glan_sg_setvlan(a, 10, 0), IPA_RC_L2_DUP_VLAN_ID);
    ck_assert_int_eq(glan_sg_setvlan(b, 20, 0), IPA_RC_SUCCESS);
    uint8_t f[200];
    size_t n = frame(f, b->mac, a->mac, 10, 200, 3);
    ck_assert_int_eq(send_frame(a, f, n), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_recv(b, rx, 64), 0); /* b is on VLAN 20 only */
    ck_assert_int_eq(glan_sg_setvlan(b, 10, 0), IPA_RC_SUCCESS);
    ck_assert_int_eq(send_frame(a, f, n), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_recv(b, rx, 64), 1);
    ck_assert_uint_eq(rx[0].flags, QETH_L2_UNICAST | QETH_L2_VLAN);
    ck_assert_int_eq(memcmp(rx[0].data, f, n), 0);
    ck_assert_int_eq(glan_sg_setvlan(b, 11, 1), IPA_RC_L2_VLAN_ID_NOT_FOUND);
    ck_assert_int_eq(glan_sg_setvlan(b, 10, 1), IPA_RC_SUCCESS);
    struct glan_lan_stats st;
    glan_lan_stats(lan, &st);
    ck_assert_uint_eq(st.dropped[GLAN_DROP_VLAN], 1);
}
END_TEST

START_TEST(down_releases_macs)
{
    uint8_t mac[6];
    memcpy(mac, b->mac, 6);
    glan_sg_destroy(b);
    struct glan_addr m;
    glan_addr_mac(&m, mac);
    ck_assert_int_eq(glan_lan_lookup(lan, &m), -1);
    b = glan_sg_create(lan, "0700", 0x0700);
    ck_assert_int_eq(glan_sg_bringup_l2(b), 0);
}
END_TEST

/* A guest of the other layer: an IDX TERMINATE answers its ULP ENABLE. */
static void refused(struct glan_lan *l, int layer2)
{
    struct simguest *g = glan_sg_create(l, "0800", 0x0800);
    ck_assert_ptr_nonnull(g);
    g->layer2 = layer2;
    ck_assert_int_ne(glan_sg_start(g), 0);
    ck_assert_uint_eq(g->idx_term_cause, IDX_TERM_BAD_TRANSPORT_VM);
    struct glan_osa_stats st;
    glan_osa_get_stats(g->osa, &st);
    ck_assert_uint_eq(st.l2_refused, 1);
    glan_sg_destroy(g);
}

START_TEST(layer3_guest_refused_on_ethernet)
{
    refused(lan, 0);
}
END_TEST

START_TEST(layer2_guest_refused_on_ip)
{
    struct glan_lan *ip = osa_fixture_lan("osaip");
    refused(ip, 1);
    glan_lan_destroy(ip);
}
END_TEST

Suite *osa_l2_suite(void)
{
    Suite *s = suite_create("osa_l2");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, macs_handed_out_and_registered);
    tcase_add_test(tc, mac_prefix_per_lan);
    tcase_add_test(tc, frames_both_ways);
    tcase_add_test(tc, multicast_by_group_mac);
    tcase_add_test(tc, setvmac_rules);
    tcase_add_test(tc, vlans);
    tcase_add_test(tc, down_releases_macs);
    tcase_add_test(tc, layer3_guest_refused_on_ethernet);
    tcase_add_test(tc, layer2_guest_refused_on_ip);
    suite_add_tcase(s, tc);
    return s;
}
