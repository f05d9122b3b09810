/*
 * The OSA device model's control path, step by step as Linux qeth_l3 brings
 * an interface up (docs/osa.md, "Control path"), driven by the simulated
 * guest (src/simguest): Sense ID, RCD, SSQD, IDX, the MPC handshake, ESTABLISH
 * and ACTIVATE QUEUES, DM ACT, the IPA sequence, addresses in the base's
 * registry, and the error answers a real OSA gives.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "guestlan/base.h"
#include "guestlan/osa.h"
#include "guestlan/osa_wire.h"
#include "osa_fixture.h"
#include "guestlan/simguest.h"

static struct glan_lan *lan;

static void setup(void)
{
    lan = osa_fixture_lan("osatest");
}

static void teardown(void)
{
    glan_lan_destroy(lan);
}

static int lookup(const char *text)
{
    struct glan_addr a;
    ck_assert_int_eq(glan_addr_parse(text, &a), 0);
    return glan_lan_lookup(lan, &a);
}

START_TEST(sense_id_all_slots)
{
    struct simguest *g = glan_sg_create(lan, "0600", 0x0600);
    ck_assert_ptr_nonnull(g);
    for (unsigned s = 0; s < 3; s++)
        ck_assert_int_eq(glan_sg_sense_id(g, s), 0);
    glan_sg_destroy(g);
}
END_TEST

START_TEST(rcd_and_ssqd)
{
    struct simguest *g = glan_sg_create(lan, "0600", 0x0600);
    ck_assert_int_eq(glan_sg_rcd(g), 0);
    uint8_t d[32];
    glan_osa_ssqd(g->osa, g->dt, 0x1234, d);
    ck_assert_int_eq(d[0], 0xc0);
    ck_assert_int_eq(be16(d + 2), 0x1234);
    ck_assert_int_eq(d[6] & (AC1_SIGA_INPUT_NEEDED | AC1_SIGA_OUTPUT_NEEDED),
                     AC1_SIGA_INPUT_NEEDED | AC1_SIGA_OUTPUT_NEEDED);
    ck_assert_int_eq(d[6] & AC1_SIGA_SYNC_NEEDED, 0);
    ck_assert_int_eq(d[9], 1);
    ck_assert_int_eq(d[11], 4);
    glan_sg_destroy(g);
}
END_TEST

START_TEST(idx_read_write)
{
    struct simguest *g = glan_sg_create(lan, "0600", 0x0600);
    ck_assert_int_eq(glan_sg_idx_activate(g, g->rd, 1), 0);
    ck_assert_int_eq(g->func_level_reply, 0x0201);
    ck_assert_int_eq(glan_sg_idx_activate(g, g->wr, 0), 0);
    /* A second read channel is refused: the adapter is taken. */
    ck_assert_int_ne(glan_sg_idx_activate(g, g->dt, 1), 0);
    glan_sg_destroy(g);
    /* The function levels of the old templates (z/VM TCP/IP) are served
     * like Linux's 0x0101. */
    g = glan_sg_create(lan, "0600", 0x0600);
    uint8_t b[4096] = {0};
    struct idx_activate *r = (struct idx_activate *)b;
    put32(r->hdr, 0x00008000);
    r->type = IDX_TYPE_WRITE;
    r->cause = 0x01;
    r->port = 0x80;
    put16(r->func_level, 0xffff);
    struct glan_osa_io io;
    ck_assert_int_eq(glan_sg_ccw(g, 2, CCW_CMD_WRITE, GLAN_OSA_CCW_CC, b, IDX_ACTIVATE_SIZE, &io),
                     GLAN_OSA_DONE);
    ck_assert_int_eq(glan_sg_ccw(g, 2, CCW_CMD_READ, 0, b, sizeof b, &io), GLAN_OSA_DONE);
    ck_assert_int_eq(b[8] & 3, 2);
    ck_assert_int_eq(be16(b + 0x10), 0x0201);
    /* Port 1 does not exist: negative reply. */
    memset(b, 0, sizeof b);
    put32(r->hdr, 0x00008000);
    r->type = IDX_TYPE_READ;
    r->port = 0x81;
    ck_assert_int_eq(glan_sg_ccw(g, 0, CCW_CMD_WRITE, GLAN_OSA_CCW_CC, b, IDX_ACTIVATE_SIZE, &io),
                     GLAN_OSA_DONE);
    ck_assert_int_eq(glan_sg_ccw(g, 0, CCW_CMD_READ, 0, b, sizeof b, &io), GLAN_OSA_DONE);
    ck_assert_int_ne(b[8] & 3, 2);
    glan_sg_destroy(g);
}
END_TEST

START_TEST(mpc_handshake)
{
    struct simguest *g = glan_sg_create(lan, "0600", 0x0600);
    ck_assert_int_eq(glan_sg_idx_activate(g, g->rd, 1), 0);
    ck_assert_int_eq(glan_sg_idx_activate(g, g->wr, 0), 0);
    ck_assert_int_eq(glan_sg_start_read(g), 0);
    ck_assert_int_eq(g->read_ready, 0); /* the READ waits */
    ck_assert_int_eq(glan_sg_cm_enable(g), 0);
    ck_assert_int_eq(glan_sg_cm_setup(g), 0);
    ck_assert_int_eq(glan_sg_ulp_enable(g, MPC_PROT_L3), 0);
    ck_assert_int_eq(g->max_mtu,
                     57344); /* GLAN_OSA_MAX_MTU: the default LAN's large buffers hold it */
    ck_assert_int_eq(g->link_type, LINK_TYPE_GBIT_ETH);
    ck_assert_int_eq(glan_sg_ulp_setup(g), 0);
    ck_assert_int_ne(memcmp(g->cm_filter_r, g->cm_conn_r, 4), 0);
    ck_assert_int_ne(memcmp(g->ulp_conn_r, "00S", 3), 0);
    ck_assert_int_eq(glan_sg_establish(g), 0);
    ck_assert_int_eq(glan_sg_activate(g), 0);
    ck_assert_int_eq(glan_sg_dm_act(g), 0);
    glan_sg_destroy(g);
}
END_TEST

START_TEST(mpc_out_of_order)
{
    struct simguest *g = glan_sg_create(lan, "0600", 0x0600);
    ck_assert_int_eq(glan_sg_idx_activate(g, g->rd, 1), 0);
    ck_assert_int_eq(glan_sg_idx_activate(g, g->wr, 0), 0);
    ck_assert_int_eq(glan_sg_start_read(g), 0);
    /* CM SETUP before CM ENABLE: the WRITE gets a unit check, no reply. */
    ck_assert_int_ne(glan_sg_cm_setup(g), 0);
    uint8_t sense[32];
    glan_osa_sense(g->osa, g->wr, sense);
    ck_assert_int_eq(sense[0], GLAN_OSA_SENSE_CMDREJ);
    /* ESTABLISH QUEUES before the handshake is refused too. */
    ck_assert_int_ne(glan_sg_establish(g), 0);
    glan_sg_destroy(g);
}
END_TEST

START_TEST(mpc_other_layouts)
{
    /* A stack other than Linux may place its headers and segments
     * differently: the PDU at 0x48, PUS 02 before PUS 01.  The adapter
     * follows the offsets and finds segments by type. */
    struct simguest *g = glan_sg_create(lan, "0600", 0x0600);
    ck_assert_int_eq(glan_sg_idx_activate(g, g->rd, 1), 0);
    ck_assert_int_eq(glan_sg_idx_activate(g, g->wr, 0), 0);
    ck_assert_int_eq(glan_sg_start_read(g), 0);
    uint8_t b[256] = {0};
    uint32_t total = 0x48 + 12 + 12 + 11;
    struct mpc_hdr *h = (struct mpc_hdr *)b;
    put32(h->th.id, 0x00e00000);
    put32(h->th.offrrh, 0x14);
    put32(h->th.length, total);
    put16(h->th.numrrh, 1);
    h->rrh.type = RRH_TYPE_CM;
    h->rrh.proto = RRH_PROTO_PUK;
    put16(h->rrh.offph, 0x24);
    memcpy(h->rrh.token, g->issuer_rm_r, 4);
    put32(h->ph.offdata, 0x48);
    uint8_t *pdu = b + 0x48;
    put16(pdu, 12);
    pdu[2] = 0x41;
    pdu[3] = PUK_ENABLE;
    put16(pdu + 4, 23);
    static const uint8_t p02[12] = {0x00, 0x0c, 0x04, 0x02, 1, 2, 3, 4, 5, 6, 7, 8};
    static const uint8_t p01[11] = {0x00, 0x0b, 0x04, 0x01, 0x7e, 0x04, 0x05, 0, 1, 1, 8};
    memcpy(pdu + 12, p02, 12);
    memcpy(pdu + 24, p01, 11);
    struct glan_osa_io io;
    ck_assert_int_eq(glan_sg_ccw(g, g->wr, CCW_CMD_WRITE, 0, b, total, &io), GLAN_OSA_DONE);
    ck_assert_int_eq(io.unitstat, GLAN_OSA_US_CE | GLAN_OSA_US_DE);
    ck_assert_int_eq(g->host.ended[g->rd], 1);
    const uint8_t *r = g->rbuf;
    const uint8_t *rp = r + r[r[0x0b] + r[r[0x0b] + 0x11] + 7]; /* PDU_ENCAPSULATION */
    ck_assert_int_eq(memcmp(rp + CM_ENABLE_RESP_FILTER_TOKEN, "GLCF", 4), 0);
    /* Without PUS 01 the block is malformed: unit check. */
    pdu[24 + 3] = 0x09;
    ck_assert_int_eq(glan_sg_ccw(g, g->wr, CCW_CMD_WRITE, 0, b, total, &io), GLAN_OSA_DONE);
    ck_assert(io.unitstat & GLAN_OSA_US_UC);
    glan_sg_destroy(g);
}
END_TEST

START_TEST(read_without_idx)
{
    struct simguest *g = glan_sg_create(lan, "0600", 0x0600);
    uint8_t b[64];
    struct glan_osa_io io;
    ck_assert_int_eq(glan_sg_ccw(g, 0, CCW_CMD_READ, 0, b, sizeof b, &io), GLAN_OSA_DONE);
    ck_assert(io.unitstat & GLAN_OSA_US_UC);
    ck_assert_int_eq(glan_sg_ccw(g, 0, 0x27, 0, b, sizeof b, &io), GLAN_OSA_DONE);
    ck_assert(io.unitstat & GLAN_OSA_US_UC);
    glan_sg_destroy(g);
}
END_TEST

START_TEST(full_bringup)
{
    struct simguest *g = glan_sg_create(lan, "0600", 0x0600);
    static const char *const addrs[] = {"10.1.0.1", "10.1.0.2", "fd00::1", "fd00::2", NULL};
    ck_assert_int_eq(glan_sg_bringup(g, addrs), 0);
    int me = glan_port_index(glan_osa_port(g->osa));
    for (int i = 0; addrs[i]; i++)
        ck_assert_int_eq(lookup(addrs[i]), me);
    ck_assert(g->ipa4_supported & IPA_IPV6);
    ck_assert(g->ipa4_enabled & IPA_ARP_PROCESSING);
    ck_assert(g->ipa4_enabled & IPA_FILTERING);
    ck_assert(g->ipa6_enabled & IPA_PASSTHRU);
    ck_assert_int_eq(g->mac[0] & 1, 0);
    ck_assert_int_ne(g->unique_id, 0);
    struct glan_addr grp[4];
    ck_assert_uint_eq(glan_lan_port_addrs(lan, me, 1, grp, 4), 6);
    glan_sg_destroy(g);
    ck_assert_int_eq(lookup("10.1.0.1"), -1);
}
END_TEST

START_TEST(ipa_errors)
{
    struct simguest *a, *b;
    static const char *const aa[] = {"10.1.0.1", "fd00::1", NULL};
    static const char *const ba[] = {"10.1.0.2", NULL};
    osa_fixture_pair(lan, aa, ba, &a, &b);
    /* Held by another port: what a real OSA says for a duplicate. */
    ck_assert_int_eq(glan_sg_setip(b, "10.1.0.1", 0), IPA_RC_DUPLICATE_IP_ADDRESS);
    ck_assert_int_eq(glan_sg_setip(b, "fd00::1", 0), IPA_RC_DUPLICATE_IP_ADDRESS);
    ck_assert_int_eq(glan_sg_setip(a, "10.1.0.1", 0), 0); /* again by its owner */
    ck_assert_int_eq(glan_sg_setip(b, "10.9.9.9", 1), IPA_RC_IP_ADDRESS_NOT_DEFINED);
    ck_assert_int_eq(glan_sg_setipm(b, "239.1.1.1", 1), IPA_RC_MC_ADDR_NOT_FOUND);
    ck_assert_int_eq(glan_sg_setip(a, "10.1.0.1", 1), 0);
    ck_assert_int_eq(glan_sg_setip(b, "10.1.0.1", 0), 0);
    ck_assert_int_eq(lookup("10.1.0.1"), glan_port_index(glan_osa_port(b->osa)));
    /* Unknown and layer-2 commands: "not supported", never silence. */
    ck_assert_int_eq(glan_sg_ipa(a, 0x21, IPA_PROT_IPV4, NULL, 0, NULL, NULL), IPA_RC_NOTSUPP);
    ck_assert_int_eq(glan_sg_ipa(a, 0xd1, IPA_PROT_IPV4, NULL, 0, NULL, NULL), IPA_RC_NOTSUPP);
    /* TSO on the default LAN (large buffers of 65535 bytes) is offered;
     * test_offload.c has a LAN that cannot offer it. */
    ck_assert_int_eq(
        glan_sg_setassparms(a, IPA_PROT_IPV4, IPA_OUTBOUND_TSO, IPA_CMD_ASS_START, 0, 0), 0);
    ck_assert_int_eq(glan_sg_setassparms(a, IPA_PROT_IPV4, IPA_ARP_PROCESSING, 0x0104, 0, 0),
                     IPA_RC_UNSUPPORTED_SUBCMD);
    /* STOPLAN: SETIP is "LAN offline" (Linux keeps the address). */
    ck_assert_int_eq(glan_sg_ipa(a, IPA_CMD_STOPLAN, 0, NULL, 0, NULL, NULL), 0);
    ck_assert_int_eq(glan_sg_setip(a, "10.1.0.7", 0), IPA_RC_LAN_OFFLINE);
    struct glan_osa_stats st;
    glan_osa_get_stats(a->osa, &st);
    ck_assert_uint_ge(st.ipa_notsupp, 2);
    glan_sg_destroy(a);
    glan_sg_destroy(b);
}
END_TEST

START_TEST(startlan_reply_is_short)
{
    struct simguest *g = osa_fixture_half_up(lan, "0600", 0x0600);
    uint8_t r[4096];
    uint32_t rl = 0;
    ck_assert_int_eq(glan_sg_ipa(g, IPA_CMD_STARTLAN, 0, NULL, 0, r, &rl), 0);
    ck_assert_uint_eq(rl, 0x40 + 16);
    ck_assert_uint_eq(be32(r + 0x0c), rl);
    glan_sg_destroy(g);
}
END_TEST

START_TEST(clear_takes_interface_down)
{
    struct simguest *g = glan_sg_create(lan, "0600", 0x0600);
    static const char *const addrs[] = {"10.1.0.1", "fd00::5", NULL};
    ck_assert_int_eq(glan_sg_bringup(g, addrs), 0);
    ck_assert_int_ge(lookup("10.1.0.1"), 0);
    /* Linux offline: clear on the data device ends ACTIVATE QUEUES ... */
    g->host.ended[g->dt] = 0;
    glan_osa_clear(g->osa, g->dt);
    ck_assert_int_eq(g->host.ended[g->dt], 1);
    ck_assert_int_eq(g->host.end_status[g->dt], GLAN_OSA_US_CE | GLAN_OSA_US_DE);
    ck_assert_int_eq(glan_osa_siga_w(g->osa, 0x20000000), 1);
    /* ... and on read/write the pending READ ends and the IDX is gone. */
    g->host.ended[g->rd] = 0;
    glan_osa_clear(g->osa, g->rd);
    ck_assert_int_eq(g->host.ended[g->rd], 1);
    glan_osa_clear(g->osa, g->wr);
    ck_assert_int_eq(lookup("10.1.0.1"), -1);
    ck_assert_int_eq(lookup("fd00::5"), -1);
    /* And the whole bring-up works again on the same adapter. */
    struct simguest *fresh = g; /* the same storage; new queues are allocated */
    memset(fresh->host.ended, 0, sizeof fresh->host.ended);
    ck_assert_int_eq(glan_sg_bringup(fresh, addrs), 0);
    ck_assert_int_ge(lookup("10.1.0.1"), 0);
    glan_sg_destroy(g);
}
END_TEST

START_TEST(zvm_device_order)
{
    /* z/VM TCP/IP: first = data, second = read, third = write. */
    struct simguest *g = glan_sg_create(lan, "0600", 0x0600);
    g->dt = 0;
    g->rd = 1;
    g->wr = 2;
    static const char *const addrs[] = {"10.1.0.9", NULL};
    ck_assert_int_eq(glan_sg_bringup(g, addrs), 0);
    ck_assert_int_ge(lookup("10.1.0.9"), 0);
    glan_sg_destroy(g);
}
END_TEST

Suite *osa_bringup_suite(void)
{
    Suite *s = suite_create("osa_bringup");
    TCase *tc = tcase_create("steps");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, sense_id_all_slots);
    tcase_add_test(tc, rcd_and_ssqd);
    tcase_add_test(tc, idx_read_write);
    tcase_add_test(tc, mpc_handshake);
    tcase_add_test(tc, mpc_out_of_order);
    tcase_add_test(tc, read_without_idx);
    tcase_add_test(tc, mpc_other_layouts);
    tcase_add_test(tc, full_bringup);
    tcase_add_test(tc, ipa_errors);
    tcase_add_test(tc, startlan_reply_is_short);
    tcase_add_test(tc, clear_takes_interface_down);
    tcase_add_test(tc, zvm_device_order);
    suite_add_tcase(s, tc);
    return s;
}
