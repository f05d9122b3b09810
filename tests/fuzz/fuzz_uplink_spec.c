/*
 * libFuzzer target: the words an operator types for an uplink, as the
 * Hercules `glan define ... uplink` and `glan uplink` commands (src/hercules/
 * cmd.c, which needs Hercules to build, hands them on unchanged) and `glan
 * replay --uplink` pass them to the uplink spec parser (src/uplink/spec.c and
 * each kind's option parser), and the parsers under it: MAC addresses
 * (glan_l2_parse_mac) and IPv4/IPv6 addresses (glan_addr_parse).
 *
 * The input is split into words at spaces and NULs, each word copied to a
 * block of exactly its size.  Checked: a parse either succeeds with a spec
 * that says what it is, or fails with a message; a MAC is accepted exactly
 * when it is six pairs of hex digits joined by ':' or '-', and formats back
 * to its own text (lower case, ':'); an address accepted formats to text
 * that parses back to the same address.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guestlan/base.h"
#include "guestlan/controller.h"
#include "guestlan/l2.h"
#include "guestlan/uplinkspec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAXW = 32 };

/* What glan_l2_parse_mac promises to accept (l2.h). */
static int mac_shaped(const char *w)
{
    if (strlen(w) != 17)
        return 0;
    for (int i = 0; i < 17; i++)
        if (i % 3 == 2 ? (w[i] != ':' && w[i] != '-') : !isxdigit((unsigned char)w[i]))
            return 0;
    return 1;
}

static void check_mac(const char *w)
{
    uint8_t mac[6];
    int rc = glan_l2_parse_mac(w, mac);
    if ((rc == 0) != mac_shaped(w) || (rc != 0 && rc != -EINVAL))
        __builtin_trap();
    if (rc == 0) {
        char back[18];
        glan_l2_format_mac(mac, back, sizeof back);
        for (int i = 0; i < 17; i++) {
            char want = i % 3 == 2 ? ':' : (char)tolower((unsigned char)w[i]);
            if (back[i] != want)
                __builtin_trap();
        }
    }
}

static void check_addr(const char *w)
{
    struct glan_addr a, b;
    if (glan_addr_parse(w, &a) < 0)
        return;
    /* IP addresses, and (for ETHERNET LANs) MAC addresses */
    if (a.family != GLAN_AF_INET && a.family != GLAN_AF_INET6 && a.family != GLAN_AF_MAC)
        __builtin_trap();
    char text[64];
    glan_addr_format(&a, text, sizeof text);
    if (glan_addr_parse(text, &b) < 0 || !glan_addr_equal(&a, &b))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *words[MAXW];
    int n = 0;
    for (size_t i = 0; i < size && n < MAXW;) {
        if (data[i] == ' ' || data[i] == 0) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < size && data[j] != ' ' && data[j] != 0)
            j++;
        words[n] = malloc(j - i + 1);
        if (!words[n])
            __builtin_trap();
        memcpy(words[n], data + i, j - i);
        words[n++][j - i] = 0;
        i = j;
    }

    struct glan_uplink_spec spec;
    char err[256] = "";
    int rc = glan_uplink_spec_parse(n, words, &spec, err, sizeof err);
    if (rc == 0) {
        if (!spec.kind || !glan_uplink_kind_find(spec.kind) || !spec.what || !spec.up ||
            !spec.down || !spec.release)
            __builtin_trap();
        spec.release(spec.arg);
    } else if ((rc != -EINVAL && rc != -ENOMEM) || !err[0]) {
        __builtin_trap();
    }

    for (int i = 0; i < n; i++) {
        check_mac(words[i]);
        check_addr(words[i]);
        free(words[i]);
    }
    return 0;
}
