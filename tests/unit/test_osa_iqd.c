/*
 * The device model's HiperSockets personality (docs/osa.md, "HiperSockets")
 * on a LAN of type HIPERS, driven by simulated guests that bring an IQD
 * card up as Linux 6.1's qeth does: what each step answers and what qeth
 * checks of it (Sense ID and RCD models, SSQD queue format, the IDX
 * function level, the ULP ENABLE frame-size code for each maximum frame
 * size, queues of format 2, CREATE_ADDR's MAC), datagrams up to the MTU
 * over up to 16 elements both ways, and the mismatches refused: layer 2
 * on a HIPERS LAN, an IQD card driven as an OSA, an OSA driven as an IQD.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "guestlan/base.h"
#include "guestlan/osa.h"
#include "guestlan/osa_wire.h"
#include "guestlan/simguest.h"

static struct sg_rx rx[8];
static uint8_t big_rx[65536];

static struct glan_lan *hipers_lan(const char *name, uint32_t mfs)
{
    char err[160] = "";
    struct glan_lan_config cfg = {.name = name, .type = GLAN_LAN_HIPERS, .mfs = mfs};
    struct glan_lan *l = glan_lan_create(&cfg, err, sizeof err);
    ck_assert_msg(l != NULL, "create: %s", err);
    return l;
}

static void lan_done(struct glan_lan *lan)
{
    struct glan_lan_stats st;
    glan_lan_stats(lan, &st);
    ck_assert_uint_eq(st.buffers_in_use, 0);
    uint64_t d = 0;
    for (int i = 0; i < GLAN_DROP_COUNT; i++)
        d += st.dropped[i];
    ck_assert_uint_eq(st.sent_packets + st.fanout, st.delivered + d + st.queued);
    glan_lan_destroy(lan);
}

START_TEST(type_and_mfs_in_the_config)
{
    uint32_t k;
    ck_assert_int_eq(glan_mfs_parse("64k", &k), 0);
    ck_assert_uint_eq(k, 64);
    ck_assert_int_eq(glan_mfs_parse("16K", &k), 0);
    ck_assert_uint_eq(k, 16);
    ck_assert_int_eq(glan_mfs_parse("40", &k), 0);
    ck_assert_uint_eq(k, 40);
    ck_assert_int_eq(glan_mfs_parse("32k", &k), -EINVAL);
    ck_assert_int_eq(glan_mfs_parse("", &k), -EINVAL);
    ck_assert_int_eq(glan_mfs_parse(NULL, &k), -EINVAL);
    ck_assert_uint_eq(glan_mfs_mtu(16), 8192);
    ck_assert_uint_eq(glan_mfs_mtu(24), 16384);
    ck_assert_uint_eq(glan_mfs_mtu(40), 32768);
    ck_assert_uint_eq(glan_mfs_mtu(64), 57344);
    ck_assert_uint_eq(glan_mfs_mtu(32), 0);
    enum glan_lan_type t;
    ck_assert_int_eq(glan_lan_type_parse("HiPeRs", &t), 0);
    ck_assert_int_eq(t, GLAN_LAN_HIPERS);
    ck_assert_int_eq(glan_lan_type_parse("qdio", &t), 0);
    ck_assert_int_eq(t, GLAN_LAN_QDIO);
    ck_assert_int_eq(glan_lan_type_parse("iqd", &t), -EINVAL);
    ck_assert_str_eq(glan_lan_type_name(GLAN_LAN_HIPERS), "hipers");

    /* The default MFS is 64k; the configuration keeps type and MFS. */
    struct glan_lan *lan = hipers_lan("iqdcfg", 0);
    ck_assert_int_eq(glan_lan_type(lan), GLAN_LAN_HIPERS);
    ck_assert_uint_eq(glan_lan_mfs(lan), 64);
    struct glan_lan_config c;
    glan_lan_get_config(lan, &c);
    ck_assert_uint_eq(c.type, GLAN_LAN_HIPERS);
    ck_assert_uint_eq(c.mfs, 64);
    glan_lan_destroy(lan);

    /* What is refused, with a message. */
    static const struct {
        struct glan_lan_config cfg;
        const char *says;
    } bad[] = {
        {{.name = "b1", .mfs = 64}, "for a LAN of type hipers"},
        {{.name = "b2", .type = GLAN_LAN_HIPERS, .mfs = 32}, "mfs must be"},
        {{.name = "b3", .type = 7}, "type must be"},
        {{.name = "b4", .type = GLAN_LAN_HIPERS, .transport = GLAN_TRANSPORT_ETHERNET},
         "transport ip"},
        {{.name = "b5", .type = GLAN_LAN_HIPERS, .mid_size = 9216, .big_size = 16384}, "bigsize"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[200] = "";
        struct glan_lan *l = glan_lan_create(&bad[i].cfg, err, sizeof err);
        ck_assert_ptr_null(l);
        ck_assert_msg(strstr(err, bad[i].says) != NULL, "%zu: %s", i, err);
    }
    /* A HIPERS LAN of 16k frames takes large buffers of 8192 bytes. */
    char err[200] = "";
    struct glan_lan_config small = {
        .name = "iqd16", .type = GLAN_LAN_HIPERS, .mfs = 16, .mid_size = 8192, .big_size = 8192};
    lan = glan_lan_create(&small, err, sizeof err);
    ck_assert_msg(lan != NULL, "%s", err);
    glan_lan_destroy(lan);
}
END_TEST

/* The bring-up step by step, each reply as qeth checks it. */
START_TEST(bringup_every_step)
{
    struct glan_lan *lan = hipers_lan("iqdup", 64);
    struct simguest *g = glan_sg_create(lan, "0600", 0x0600);
    ck_assert_ptr_nonnull(g);

    /* Sense ID: CU 1731/05, device 1732/05 (qeth_ids: an IQD card). */
    uint8_t id[28];
    ck_assert_uint_eq(glan_osa_sense_id(id), 28); /* the public one is an OSD's */
    ck_assert_uint_eq(id[3], 0x01);
    for (unsigned s = 0; s < 3; s++)
        ck_assert_int_eq(glan_sg_sense_id(g, s), 0);
    ck_assert_int_eq(g->iqd, 1);
    /* RCD: the device NED is a 1732 of model 005, plant not "VM" (so qeth
     * does not take it for a z/VM NIC and picks layer 3, an IQD's default). */
    uint8_t rcd[128];
    ck_assert_uint_eq(glan_osa_rcd(g->osa, 2, rcd), 128);
    static const uint8_t m005[3] = {0xf0, 0xf0, 0xf5};
    ck_assert_mem_eq(rcd + 10, m005, 3);
    ck_assert_int_eq(glan_sg_rcd(g), 0);
    /* SSQD: format 2, SIGA-w and SIGA-r needed, no completion queue
     * (qdioac1 without 0x02, so qeth says "Completion Queueing" is not
     * available), no multiple write count, four output queues. */
    uint8_t sq[32];
    glan_osa_ssqd(g->osa, 2, 0x0002, sq);
    const struct qdio_ssqd_desc *d = (const struct qdio_ssqd_desc *)sq;
    ck_assert_uint_eq(d->qfmt, QDIO_IQDIO_QFMT);
    ck_assert_uint_eq(d->qdioac1 & (AC1_SIGA_INPUT_NEEDED | AC1_SIGA_OUTPUT_NEEDED),
                      AC1_SIGA_INPUT_NEEDED | AC1_SIGA_OUTPUT_NEEDED);
    ck_assert_uint_eq(d->qdioac1 & 0x02, 0);
    ck_assert_uint_eq(d->mmwc, 0);
    ck_assert_uint_eq(d->ocnt, 4);
    /* IDX: qeth sends 0x4108 and wants 0x0408 back on the read channel,
     * the same with 0x0100 or
     * not on the write channel; MCL in EBCDIC (first byte with 0x80). */
    ck_assert_int_eq(glan_sg_idx_activate(g, g->rd, 1), 0);
    ck_assert_uint_eq(g->func_level_reply, 0x0408);
    ck_assert_uint_ne(g->mcl[0] & 0x80, 0);
    ck_assert_int_eq(glan_sg_idx_activate(g, g->wr, 0), 0);
    ck_assert_int_eq(glan_sg_start_read(g), 0);
    ck_assert_int_eq(glan_sg_cm_enable(g), 0);
    ck_assert_int_eq(glan_sg_cm_setup(g), 0);
    /* ULP ENABLE: the frame-size code 0xffff, which qeth makes 57344. */
    ck_assert_int_eq(glan_sg_ulp_enable(g, MPC_PROT_L3), 0);
    ck_assert_uint_eq(g->frame_code, 0xffff);
    ck_assert_uint_eq(g->max_mtu, 57344);
    ck_assert_int_eq(glan_sg_ulp_setup(g), 0);
    /* Queues of format 2, with thin interrupts. */
    ck_assert_int_eq(glan_sg_establish(g), 0);
    ck_assert_int_eq(g->use_thin, 1);
    ck_assert_int_eq(glan_sg_activate(g), 0);
    ck_assert_int_eq(glan_sg_dm_act(g), 0);
    ck_assert_int_eq(glan_sg_startlan(g), 0);
    ck_assert_int_eq(glan_sg_qipassist(g, IPA_PROT_IPV4), 0);
    ck_assert_uint_ne(g->ipa4_supported & IPA_IPV6, 0);
    ck_assert_int_eq(glan_sg_qipassist(g, IPA_PROT_IPV6), 0);
    ck_assert_int_eq(glan_sg_setadp_query(g), 0);
    /* CREATE_ADDR: the MAC qeth_l3 takes for an IQD, a valid unicast one;
     * and the unique id. */
    uint8_t uid[8] = {0}, r[4096];
    uint32_t rl;
    ck_assert_int_eq(glan_sg_ipa(g, IPA_CMD_CREATE_ADDR, IPA_PROT_IPV6, uid, 8, r, &rl), 0);
    ck_assert_int_eq(glan_sg_create_addr(g), 0);
    struct glan_osa_stats st;
    glan_osa_get_stats(g->osa, &st);
    ck_assert_uint_eq(st.unit_checks, 0);
    ck_assert_uint_eq(st.mpc_bad, 0);
    ck_assert_uint_eq(st.l2_refused, 0);
    glan_sg_destroy(g);

    /* And the whole bring-up in one, with addresses of both families. */
    g = glan_sg_create(lan, "0610", 0x0610);
    static const char *const addrs[] = {"10.1.1.2", "fd00:1::2", NULL};
    ck_assert_int_eq(glan_sg_bringup(g, addrs), 0);
    ck_assert_int_eq(g->mac[0] & 1, 0);
    glan_osa_get_stats(g->osa, &st);
    ck_assert_uint_eq(st.unit_checks, 0);
    ck_assert_uint_eq(st.ipa_notsupp, 0);
    struct glan_addr a;
    glan_addr_parse("fd00:1::2", &a);
    ck_assert_int_eq(glan_lan_lookup(lan, &a), glan_port_index(glan_osa_port(g->osa)));
    glan_sg_destroy(g);
    lan_done(lan);
}
END_TEST

/* Another IDX level (0x4100 plus a channel path descriptor, as older
 * qeth code built it) gets the answer derived from it: 0x4124 -> 0x0224. */
START_TEST(idx_level_of_the_guest)
{
    struct glan_lan *lan = hipers_lan("iqdidx", 64);
    struct simguest *g = glan_sg_create(lan, "0600", 0x0600);
    g->idx_level = 0x4124;
    ck_assert_int_eq(glan_sg_start(g), 0);
    ck_assert_uint_eq(g->func_level_reply, 0x0224);
    glan_sg_destroy(g);
    lan_done(lan);
}
END_TEST

/* Each maximum frame size gives its code and the MTU qeth makes of it; the
 * port's MTU in the base is the same. */
START_TEST(mfs_codes)
{
    static const struct {
        uint32_t mfs;
        uint16_t code;
        uint16_t mtu;
    } t[] = {{16, 0x4000, 8192}, {24, 0x6000, 16384}, {40, 0xa000, 32768}, {64, 0xffff, 57344}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct glan_lan *lan = hipers_lan("iqdmfs", t[i].mfs);
        struct simguest *g = glan_sg_create(lan, "0600", 0x0600);
        ck_assert_int_eq(glan_sg_start(g), 0);
        ck_assert_uint_eq(g->frame_code, t[i].code);
        ck_assert_uint_eq(g->max_mtu, t[i].mtu);
        ck_assert_uint_eq(glan_port_mtu(glan_osa_port(g->osa)), t[i].mtu);
        glan_sg_destroy(g);
        lan_done(lan);
    }
}
END_TEST

/* Datagrams of the MTU both ways: 57344 bytes over 16 elements (header in
 * an element of its own), IPv4 and IPv6; at 16k frames 8192 bytes go into
 * input buffers of 4 elements (MTU + 8 KiB), and one byte more is held to
 * the receiver's MTU by the base. */
START_TEST(large_both_ways)
{
    static uint8_t d[57344];
    struct glan_lan *lan = hipers_lan("iqdbig", 64);
    struct simguest *a = glan_sg_create(lan, "0600", 0x0600);
    struct simguest *b = glan_sg_create(lan, "0700", 0x0700);
    static const char *const aa[] = {"10.1.0.1", "fd00::1", NULL};
    static const char *const ba[] = {"10.1.0.2", "fd00::2", NULL};
    ck_assert_int_eq(glan_sg_bringup(a, aa), 0);
    ck_assert_int_eq(glan_sg_bringup(b, ba), 0);
    size_t n = glan_sg_udp4(d, "10.1.0.1", "10.1.0.2", 57344 - 28, 0x5a);
    for (int i = 0; i < 300; i++)
        d[28 + i * 97] = (uint8_t)i;
    struct sg_pkt p = {.flags = QETH_CAST_UNICAST, .data = d, .len = (uint32_t)n};
    ck_assert_int_eq(glan_sg_send(a, &p, 1, 1), SLSB_P_OUTPUT_EMPTY);
    rx[0].big = big_rx;
    rx[0].big_cap = sizeof big_rx;
    ck_assert_int_eq(glan_sg_recv(b, rx, 1), 1);
    ck_assert_uint_eq(rx[0].len, 57344);
    ck_assert_mem_eq(big_rx, d, n);
    n = glan_sg_udp6(d, "fd00::2", "fd00::1", 57344 - 48, 0x6b);
    struct sg_pkt p6 = {.flags = glan_sg_l3_flags(d, n), .data = d, .len = (uint32_t)n};
    ck_assert_int_eq(glan_sg_send(b, &p6, 1, 0), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_recv(a, rx, 1), 1);
    ck_assert_uint_eq(rx[0].len, 57344);
    ck_assert_mem_eq(big_rx, d, n);
    ck_assert_uint_ne(rx[0].flags & QETH_HDR_IPV6, 0);
    rx[0].big = NULL;
    glan_sg_destroy(a);
    glan_sg_destroy(b);
    lan_done(lan);

    lan = hipers_lan("iqd16", 16);
    a = glan_sg_create(lan, "0600", 0x0600);
    b = glan_sg_create(lan, "0700", 0x0700);
    ck_assert_int_eq(glan_sg_bringup(a, aa), 0);
    ck_assert_int_eq(glan_sg_bringup(b, ba), 0);
    const struct sbal *in = glan_sg_ptr(b, b->sbal[0][0]);
    ck_assert_int_ne(in->element[3].eflags & SBAL_EFLAGS_LAST_ENTRY, 0);
    n = glan_sg_udp4(d, "10.1.0.1", "10.1.0.2", 8192 - 28, 0x33);
    p.len = (uint32_t)n;
    ck_assert_int_eq(glan_sg_send(a, &p, 1, 0), SLSB_P_OUTPUT_EMPTY);
    rx[0].big = big_rx;
    rx[0].big_cap = sizeof big_rx;
    ck_assert_int_eq(glan_sg_recv(b, rx, 1), 1);
    ck_assert_uint_eq(rx[0].len, 8192);
    ck_assert_mem_eq(big_rx, d, n);
    /* One byte over, DF set: not delivered, counted too big for the path. */
    n = glan_sg_udp4(d, "10.1.0.1", "10.1.0.2", 8193 - 28, 0x34);
    d[6] |= 0x40;
    p.len = (uint32_t)n;
    ck_assert_int_eq(glan_sg_send(a, &p, 1, 0), SLSB_P_OUTPUT_EMPTY);
    int got = glan_sg_recv(b, rx, 2);
    for (int i = 0; i < got; i++)
        ck_assert_uint_le(rx[i].len, 8192);
    struct glan_lan_stats st;
    glan_lan_stats(lan, &st);
    ck_assert_uint_eq(st.dropped[GLAN_DROP_TOO_BIG_FOR_PATH], 1);
    rx[0].big = NULL;
    glan_sg_destroy(a);
    glan_sg_destroy(b);
    lan_done(lan);
}
END_TEST

/* Layer 2 on a HIPERS LAN: ULP ENABLE answered with an IDX TERMINATE
 * (qeth: "does not support the configured transport mode"), counted. */
START_TEST(layer2_refused)
{
    struct glan_lan *lan = hipers_lan("iqdl2", 64);
    struct simguest *g = glan_sg_create(lan, "0600", 0x0600);
    g->layer2 = 1;
    ck_assert_int_eq(glan_sg_bringup_l2(g), -5);
    ck_assert_uint_ne(g->idx_term_cause, 0);
    struct glan_osa_stats st;
    glan_osa_get_stats(g->osa, &st);
    ck_assert_uint_eq(st.l2_refused, 1);
    glan_sg_destroy(g);
    lan_done(lan);
}
END_TEST

/* A guest that drives the IQD card as an OSA (queues of format 0) gets its
 * ESTABLISH QUEUES refused; a guest that drives an OSA as an IQD card gets
 * an IDX level it does not take. */
START_TEST(personality_mismatch_refused)
{
    struct glan_lan *lan = hipers_lan("iqdmis", 64);
    struct simguest *g = glan_sg_create(lan, "0600", 0x0600);
    for (unsigned s = 0; s < 3; s++)
        ck_assert_int_eq(glan_sg_sense_id(g, s), 0);
    g->iqd = 0; /* the guest thinks it an OSA */
    ck_assert_int_eq(glan_sg_idx_activate(g, g->rd, 1), 0);
    ck_assert_int_eq(glan_sg_idx_activate(g, g->wr, 0), 0);
    ck_assert_int_eq(glan_sg_start_read(g), 0);
    ck_assert_int_eq(glan_sg_cm_enable(g), 0);
    ck_assert_int_eq(glan_sg_cm_setup(g), 0);
    ck_assert_int_eq(glan_sg_ulp_enable(g, MPC_PROT_L3), 0);
    ck_assert_int_eq(glan_sg_ulp_setup(g), 0);
    ck_assert_int_eq(glan_sg_establish(g), -1);
    struct glan_osa_stats st;
    glan_osa_get_stats(g->osa, &st);
    ck_assert_uint_eq(st.unit_checks, 1);
    glan_sg_destroy(g);
    lan_done(lan);

    char err[128];
    struct glan_lan_config cfg = {.name = "qdiomis"};
    lan = glan_lan_create(&cfg, err, sizeof err);
    g = glan_sg_create(lan, "0600", 0x0600);
    for (unsigned s = 0; s < 3; s++)
        ck_assert_int_eq(glan_sg_sense_id(g, s), 0);
    ck_assert_int_eq(g->iqd, 0);
    g->iqd = 1; /* the guest thinks it a HiperSockets card */
    ck_assert_int_eq(glan_sg_idx_activate(g, g->rd, 1), -4);
    glan_sg_destroy(g);
    lan_done(lan);
}
END_TEST

/* An uplink of MTU 1500 on a HIPERS LAN (which z/VM's HiperSockets do not
 * have): a datagram of the guest's MTU with DF set is answered with ICMP
 * "fragmentation needed" naming 1500, one without DF leaves in fragments;
 * an IPv6 one with "packet too big". */
static int up_deliver(void *ctx, const struct glan_dgram *dg)
{
    unsigned *n = ctx;
    (*n)++;
    (void)dg;
    return 0;
}
static const struct glan_port_ops up_ops = {.deliver = up_deliver};

START_TEST(uplink_too_big_answered)
{
    static uint8_t d[57344];
    struct glan_lan *lan = hipers_lan("iqdup1", 64);
    unsigned got = 0;
    struct glan_port *up;
    struct glan_port_info info = {.name = "uplink", .kind = GLAN_PORT_UPLINK, .mtu = 1500};
    ck_assert_int_eq(glan_port_attach(lan, &info, &up_ops, &got, &up), 0);
    struct simguest *a = glan_sg_create(lan, "0600", 0x0600);
    static const char *const aa[] = {"10.1.0.1", "fd00::1", NULL};
    ck_assert_int_eq(glan_sg_bringup(a, aa), 0);
    size_t n = glan_sg_udp4(d, "10.1.0.1", "192.0.2.1", 57344 - 28, 0x11);
    d[6] |= 0x40; /* DF */
    struct sg_pkt p = {.flags = QETH_CAST_UNICAST, .data = d, .len = (uint32_t)n};
    ck_assert_int_eq(glan_sg_send(a, &p, 1, 1), SLSB_P_OUTPUT_EMPTY);
    ck_assert_uint_eq(got, 0);
    ck_assert_int_eq(glan_sg_recv(a, rx, 2), 1);
    /* ICMP type 3 code 4, next-hop MTU 1500 */
    ck_assert_uint_eq(rx[0].data[9], 1);
    ck_assert_uint_eq(rx[0].data[20], 3);
    ck_assert_uint_eq(rx[0].data[21], 4);
    ck_assert_uint_eq(be16(rx[0].data + 26), 1500);
    /* without DF: fragments of at most 1500 bytes to the uplink */
    n = glan_sg_udp4(d, "10.1.0.1", "192.0.2.1", 4000 - 28, 0x12);
    p.len = (uint32_t)n;
    ck_assert_int_eq(glan_sg_send(a, &p, 1, 0), SLSB_P_OUTPUT_EMPTY);
    ck_assert_uint_eq(got, 3);
    /* IPv6: packet too big, MTU 1500 */
    n = glan_sg_udp6(d, "fd00::1", "2001:db8::1", 9000 - 48, 0x13);
    struct sg_pkt p6 = {.flags = glan_sg_l3_flags(d, n), .data = d, .len = (uint32_t)n};
    ck_assert_int_eq(glan_sg_send(a, &p6, 1, 0), SLSB_P_OUTPUT_EMPTY);
    ck_assert_int_eq(glan_sg_recv(a, rx, 2), 1);
    ck_assert_uint_eq(rx[0].data[6], 58);
    ck_assert_uint_eq(rx[0].data[40], 2);
    ck_assert_uint_eq(be32(rx[0].data + 44), 1500);
    struct glan_lan_stats st;
    glan_lan_stats(lan, &st);
    ck_assert_uint_eq(st.icmp_sent, 2);
    glan_sg_destroy(a);
    glan_port_detach(up);
    lan_done(lan);
}
END_TEST

Suite *osa_iqd_suite(void)
{
    Suite *s = suite_create("osa_iqd");
    TCase *tc = tcase_create("iqd");
    tcase_add_test(tc, type_and_mfs_in_the_config);
    tcase_add_test(tc, bringup_every_step);
    tcase_add_test(tc, idx_level_of_the_guest);
    tcase_add_test(tc, mfs_codes);
    tcase_add_test(tc, large_both_ways);
    tcase_add_test(tc, layer2_refused);
    tcase_add_test(tc, personality_mismatch_refused);
    tcase_add_test(tc, uplink_too_big_answered);
    suite_add_tcase(s, tc);
    return s;
}
