/*
 * guestlan uplink specs from words: the registry of uplink kinds and the one
 * parser of the uplink syntax the Hercules `glan` command and `glan replay
 * --uplink` share.  It turns
 *     KIND IFNAME [options]
 * into a struct glan_uplink_spec (controller.h) whose factory creates the
 * kind's uplink, attaches it and starts its receive thread.  The kinds this
 * library registers:
 *     tun  IFNAME [mtu N]                                        (tun.h)
 *     tap  IFNAME [mtu N] [mac M] [vlan N] [gateway ADDR]... [onlink ADDR/LEN]...
 *                                                                (tap.h)
 *     pcap IFNAME [mtu N] [mac M] [vlan N] [gateway ADDR]... [onlink ADDR/LEN]...
 *                 [nopromisc] [buffer BYTES]                     (pcaplive.h)
 * Kind names and keywords are case-insensitive.  A gateway and an on-link
 * prefix may be given once per address family.  A program may register
 * kinds of its own (glan_uplink_kind_register); docs/adding-an-uplink.md
 * says how a kind of the library is added.
 */
#ifndef GUESTLAN_UPLINKSPEC_H
#define GUESTLAN_UPLINKSPEC_H

#include <stddef.h>

#include "guestlan/controller.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * One kind of uplink as specs name it.  Registered once and never freed;
 * its members are called by glan_uplink_spec_parse (option) and by the
 * spec's factory (create), in whichever thread parses or brings the uplink
 * up, never two at once on one configuration.
 */
struct glan_uplink_kind {
    /* The spec's first word ("tun"); unique among the registered kinds. */
    const char *name;
    /* Its syntax on one line, for the parser's messages
     * ("tun IF [mtu N]"). */
    const char *usage;
    /* Its description for a command's help, NULL-terminated: the synopsis
     * indented by 4 columns (continued by 16), the text by 11, as `help
     * glan` prints them.  NULL: none. */
    const char *const *help;
    /* Bytes of the kind's parsed configuration: the parser hands option and
     * create a zeroed block of this size, aligned for any type. */
    size_t config_size;
    /* One option: keyword kw and the word after it (val, NULL at the end of
     * the words), into config.  Returns how many words it took (1: a flag, 2:
     * keyword and value); 0 when kw is none of the kind's (the parser then
     * says "unknown option"); or -EINVAL with a message in err.  Required. */
    int (*option)(void *config, const char *kw, const char *val, char *err, size_t errlen);
    /* A new uplink of this kind on interface ifname (1..15 characters) from
     * the parsed config, not yet attached (the factory attaches it with
     * glan_uplink_attach and frees it with glan_uplink_destroy).  NULL with a
     * message in err on a bad configuration or no memory.  Required. */
    struct glan_uplink *(*create)(const void *config, const char *ifname, char *err, size_t errlen);
};

/* Add a kind after the library's own.  0; -EEXIST when one of that name is
 * registered; -ENOSPC when the registry is full; -EINVAL when a required
 * member is missing.  Any thread. */
int glan_uplink_kind_register(const struct glan_uplink_kind *kind);
/* The kind named name (case-insensitive), or NULL. */
const struct glan_uplink_kind *glan_uplink_kind_find(const char *name);
/* The i-th kind in registration order (the library's first), or NULL past
 * the last: for help texts and lists of kinds. */
const struct glan_uplink_kind *glan_uplink_kind_at(size_t i);
/* Every registered kind's name (usage 0) or usage line (usage 1), joined
 * by sep, into buf of len bytes (cut to fit). */
void glan_uplink_kinds_list(char *buf, size_t len, int usage, const char *sep);

/* Parse argv[0..argc-1] (the kind first).  0 with *out filled (its release
 * frees what it holds: pass it to glan_ctl_create, or call release); -EINVAL
 * with a message in err. */
int glan_uplink_spec_parse(int argc, char *const argv[], struct glan_uplink_spec *out, char *err,
                           size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
