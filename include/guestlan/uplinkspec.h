/*
 * guestlan uplink specs from words: the one parser of the uplink syntax the
 * Hercules `glan` command and `glan replay --uplink` share, turning
 *     tun  IFNAME [mtu N]
 *     tap  IFNAME [mtu N] [mac M] [vlan N] [gateway ADDR]... [onlink ADDR/LEN]...
 *     pcap IFNAME [mac M] [vlan N] [gateway ADDR]... [onlink ADDR/LEN]...
 *                 [nopromisc] [buffer BYTES]
 * into a struct glan_uplink_spec (controller.h) whose factory creates the
 * TUN, TAP or live pcap uplink (tun.h, tap.h, pcaplive.h), attaches it and
 * starts its receive thread.  Keywords are case-insensitive.  A gateway and
 * an on-link prefix may be given once per address family.
 */
#ifndef GUESTLAN_UPLINKSPEC_H
#define GUESTLAN_UPLINKSPEC_H

#include <stddef.h>

#include "guestlan/controller.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parse argv[0..argc-1] (the kind first).  0 with *out filled (its release
 * frees what it holds: pass it to glan_ctl_create, or call release); -EINVAL
 * with a message in err. */
int glan_uplink_spec_parse(int argc, char *const argv[], struct glan_uplink_spec *out, char *err,
                           size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
