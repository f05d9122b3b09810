/* Unit tests of the Internet checksum (src/base/inet.c). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "guestlan/inet.h"
#include "guestlan/wire.h"

/* RFC 1071's example: the words 0001 f203 f4f5 f6f7 sum to ddf2. */
START_TEST(rfc1071_example)
{
    static const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    ck_assert_uint_eq(glan_inet_sum(0, b, sizeof b), 0xddf2);
    ck_assert_uint_eq(glan_inet_csum(0, b, sizeof b), 0x220d);
}
END_TEST

/* An IPv4 header with its checksum in place sums to ffff (checks as 0). */
START_TEST(ipv4_header_checks)
{
    uint8_t h[20] = {0x45, 0x00, 0x00, 0x54, 0x12, 0x34, 0x40, 0x00, 0x40, 0x01,
                     0x00, 0x00, 10,   1,    1,    2,    10,   1,    1,    3};
    uint16_t c = glan_inet_csum(0, h, sizeof h);
    put16(h + 10, c);
    ck_assert_uint_eq(glan_inet_sum(0, h, sizeof h), 0xffff);
    ck_assert_uint_eq(glan_inet_csum(0, h, sizeof h), 0);
}
END_TEST

/* An odd last byte counts as the high byte of a word padded with zero, and
 * sums chain across an even split. */
START_TEST(odd_length_and_chaining)
{
    static const uint8_t b[] = {0x12, 0x34, 0x56, 0x78, 0x9a};
    ck_assert_uint_eq(glan_inet_sum(0, b, 5), 0x1234 + 0x5678 + 0x9a00 - 0xffff);
    ck_assert_uint_eq(glan_inet_sum(glan_inet_sum(0, b, 2), b + 2, 3), glan_inet_sum(0, b, 5));
    ck_assert_uint_eq(glan_inet_sum(0, b, 0), 0);
    ck_assert_uint_eq(glan_inet_sum(0x1234, b, 0), 0x1234);
}
END_TEST

/* A long run of ffff words: no carry may be lost (a 32-bit accumulator
 * would wrap after 65537 of them). */
START_TEST(long_runs_keep_every_carry)
{
    size_t n = 1u << 20;
    uint8_t *b = malloc(n);
    ck_assert_ptr_nonnull(b);
    memset(b, 0xff, n);
    ck_assert_uint_eq(glan_inet_sum(0, b, n), 0xffff);
    memset(b, 0, n);
    b[n - 1] = 0x01;
    /* ffffffff folds to ffff; one more wraps round to 0001 */
    ck_assert_uint_eq(glan_inet_sum(0xffffffffu, b, n), 0x0001);
    free(b);
}
END_TEST

Suite *inet_suite(void)
{
    Suite *s = suite_create("inet");
    TCase *tc = tcase_create("checksum");
    tcase_add_test(tc, rfc1071_example);
    tcase_add_test(tc, ipv4_header_checks);
    tcase_add_test(tc, odd_length_and_chaining);
    tcase_add_test(tc, long_runs_keep_every_carry);
    suite_add_tcase(s, tc);
    return s;
}
