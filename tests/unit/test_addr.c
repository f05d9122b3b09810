/* Unit tests of addresses and datagram headers (src/base/addr.c). */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "guestlan/base.h"
#include "testport.h"

START_TEST(parse_and_format)
{
    struct glan_addr a;
    char buf[64];
    ck_assert_int_eq(glan_addr_parse("10.1.2.3", &a), 0);
    ck_assert_int_eq(a.family, GLAN_AF_INET);
    ck_assert_str_eq(glan_addr_format(&a, buf, sizeof buf), "10.1.2.3");
    ck_assert_int_eq(glan_addr_parse("fd00::1:2", &a), 0);
    ck_assert_int_eq(a.family, GLAN_AF_INET6);
    ck_assert_str_eq(glan_addr_format(&a, buf, sizeof buf), "fd00::1:2");
    ck_assert_int_eq(glan_addr_parse("10.1.2", &a), -EINVAL);
    ck_assert_int_eq(glan_addr_parse("", &a), -EINVAL);
    ck_assert_int_eq(glan_addr_parse(NULL, &a), -EINVAL);
    ck_assert_int_eq(glan_addr_parse("fd00:::1", &a), -EINVAL);
}
END_TEST

START_TEST(equality_ignores_unused_bytes)
{
    struct glan_addr a, b;
    glan_addr_parse("10.0.0.1", &a);
    glan_addr_parse("10.0.0.1", &b);
    b.bytes[10] = 7; /* not part of an IPv4 address */
    ck_assert(glan_addr_equal(&a, &b));
    glan_addr_parse("10.0.0.2", &b);
    ck_assert(!glan_addr_equal(&a, &b));
}
END_TEST

START_TEST(dest_of_well_formed)
{
    uint8_t buf[128];
    struct glan_addr d;
    char txt[64];
    tp_build(buf, 60, "10.0.0.1", "10.0.0.9", 1);
    ck_assert_int_eq(glan_dgram_dest(buf, 60, &d), 0);
    ck_assert_str_eq(glan_addr_format(&d, txt, sizeof txt), "10.0.0.9");
    tp_build(buf, 80, "fd00::1", "fd00::9", 1);
    ck_assert_int_eq(glan_dgram_dest(buf, 80, &d), 0);
    ck_assert_str_eq(glan_addr_format(&d, txt, sizeof txt), "fd00::9");
}
END_TEST

START_TEST(dest_of_malformed)
{
    uint8_t buf[128] = {0};
    struct glan_addr d;
    ck_assert_int_eq(glan_dgram_dest(buf, 0, &d), -EINVAL);
    tp_build(buf, 60, "10.0.0.1", "10.0.0.9", 1);
    ck_assert_int_eq(glan_dgram_dest(buf, 19, &d), -EINVAL); /* truncated header */
    ck_assert_int_eq(glan_dgram_dest(buf, 59, &d), -EINVAL); /* shorter than total length */
    buf[0] = 0x44;                                           /* IHL below 5 */
    ck_assert_int_eq(glan_dgram_dest(buf, 60, &d), -EINVAL);
    buf[0] = 0x55; /* version 5 */
    ck_assert_int_eq(glan_dgram_dest(buf, 60, &d), -EINVAL);
    tp_build(buf, 80, "fd00::1", "fd00::9", 1);
    ck_assert_int_eq(glan_dgram_dest(buf, 79, &d), -EINVAL); /* payload length lies */
    ck_assert_int_eq(glan_dgram_dest(buf, 39, &d), -EINVAL);
}
END_TEST

/* The MAC prefixes LANs hand out (docs/guide.md, "MAC addresses"). */
START_TEST(mac_prefixes)
{
    uint8_t p[4], n = 0;
    ck_assert_int_eq(glan_mac_prefix_parse("02:aa:BB", p, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_mem_eq(p, ((uint8_t[]){2, 0xaa, 0xbb, 0}), 4);
    ck_assert_int_eq(glan_mac_prefix_parse("0e-01-02-03", p, &n), 0);
    ck_assert_uint_eq(n, 4);
    ck_assert_mem_eq(p, ((uint8_t[]){0x0e, 1, 2, 3}), 4);
    static const char *const bad[] = {
        "",        "02",        "02:aa",    "03:aa:bb",  "00:aa:bb", "02:aa:bb:cc:dd",
        "02:aa:b", "02:aa:bbb", "02;aa;bb", "02:aa:bb:", "x2:aa:bb", "02:aa:bb:cc:"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(glan_mac_prefix_parse(bad[i], p, &n) == -EINVAL, "%s", bad[i]);
    ck_assert_int_eq(glan_mac_prefix_parse(NULL, p, &n), -EINVAL);
    /* From the name: locally administered unicast, stable, and another for
     * another name (FNV-1a: "LAN1" gives 02:38:3b:b6). */
    uint8_t a[4], b[4], c[4];
    glan_mac_prefix_of_name("LAN1", a);
    glan_mac_prefix_of_name("LAN1", b);
    glan_mac_prefix_of_name("LAN2", c);
    ck_assert_mem_eq(a, ((uint8_t[]){2, 0x38, 0x3b, 0xb6}), 4);
    ck_assert_mem_eq(a, b, 4);
    ck_assert_int_ne(memcmp(a, c, 4), 0);
    ck_assert_uint_eq(a[0] & 3, 2);
}
END_TEST

START_TEST(drop_names)
{
    ck_assert_str_eq(glan_drop_name(GLAN_DROP_NO_UPLINK), "no_uplink");
    ck_assert_str_eq(glan_drop_name(GLAN_DROP_PORT_GONE), "port_gone");
    ck_assert_str_eq(glan_drop_name(GLAN_DROP_COUNT), "unknown");
    for (int i = 0; i < GLAN_DROP_COUNT; i++)
        ck_assert_ptr_nonnull(glan_drop_name(i));
}
END_TEST

Suite *addr_suite(void)
{
    Suite *s = suite_create("addr");
    TCase *tc = tcase_create("addr");
    tcase_add_test(tc, parse_and_format);
    tcase_add_test(tc, equality_ignores_unused_bytes);
    tcase_add_test(tc, dest_of_well_formed);
    tcase_add_test(tc, dest_of_malformed);
    tcase_add_test(tc, drop_names);
    tcase_add_test(tc, mac_prefixes);
    suite_add_tcase(s, tc);
    return s;
}
