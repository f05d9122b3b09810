/*
 * The uplink kinds this library registers (include/uplink/guestlan/uplinkspec.h),
 * each defined in the file of its uplink, and the option parsers they share
 * (spec.c).  UPLINK_KINDS lists the kinds: a new kind is its file plus one
 * X(name) there (docs/adding-an-uplink.md), which declares it here and puts
 * it in spec.c's table.
 *
 * The option parsers have the shape of struct glan_uplink_kind's option
 * member: the words they took (2: keyword and value), 0 when the keyword is
 * not theirs, or -EINVAL with a message in err.  Internal to src/uplink.
 */
#ifndef GLAN_UPLINK_KINDS_H
#define GLAN_UPLINK_KINDS_H

#include <stddef.h>
#include <stdint.h>

#include "guestlan/l2.h"
#include "guestlan/uplinkspec.h"

/* The kinds in the order help and messages list them: X(name) for each
 * `const struct glan_uplink_kind uplink_kind_NAME`, defined in tun.c, tap.c
 * and pcaplive.c. */
#define UPLINK_KINDS(X) X(tun) X(tap) X(pcap)

#define UPLINK_KIND_DECLARE(name) extern const struct glan_uplink_kind uplink_kind_##name;
UPLINK_KINDS(UPLINK_KIND_DECLARE)

/* val as a number from lo to hi into *out: 0, or -1. */
int spec_number(const char *val, unsigned long lo, unsigned long hi, unsigned long *out);
/* Format the message into err; returns -EINVAL. */
int spec_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "mtu N" (68..65535) into *mtu. */
int spec_mtu_option(uint32_t *mtu, const char *kw, const char *val, char *err, size_t errlen);
/* The layer-2 engine's options: mac, vlan, gateway, onlink. */
int spec_l2_option(struct glan_l2_config *l2, const char *kw, const char *val, char *err,
                   size_t errlen);

#endif
