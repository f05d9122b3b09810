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
    suite_add_tcase(s, tc);
    return s;
}
