/*
 * hdtglan's messages, in Hercules' own style (msgenu.h): "HHCnnnnns text",
 * text starting with a capital, strings in apostrophes, no final period,
 * devices as "%1d:%04X".  They are written with Hercules' WRMSG macro, which
 * adds the number and severity.  The numbers 04700-04799 are free in Hyperion
 * 4.9's msgenu.h; hercules-patch/0002 reserves them for hdtglan there.
 */
#ifndef GLAN_HERCULES_MSGS_H
#define GLAN_HERCULES_MSGS_H

/* device statements and devices */
#define HHC04700 "%1d:%04X GLAN: Attached to LAN '%s' as port %d%s"
#define HHC04701 "%1d:%04X GLAN: %s"
#define HHC04702 "%1d:%04X GLAN: No device model is loaded; channel commands will be rejected"
#define HHC04703 "%1d:%04X GLAN: Detached from LAN '%s'"
#define HHC04704 "%1d:%04X GLAN: Device group %04X %04X %04X complete, model '%s'"

/* the glan command */
#define HHC04710                                                                                   \
    "GLAN: LAN '%s' defined: %u ports, buffers %u x %u + %u x %u + %u x %u bytes (%u MiB), "       \
    "queue %u, transport %s"
#define HHC04711 "GLAN: LAN '%s' deleted"
#define HHC04712 "GLAN: %s"
#define HHC04713 "GLAN: %s"
#define HHC04714 "GLAN: LAN '%s' uplink %s '%s' attached"
#define HHC04715 "GLAN: LAN '%s' uplink detached"
#define HHC04716                                                                                   \
    "GLAN: LAN '%s' shared as '%s' (%s): %u ports, buffers %u x %u + %u x %u + %u x %u bytes (%u " \
    "MiB), queue %u, transport %s"
#define HHC04717 "GLAN: LAN '%s' trace to '%s' started, filters:%s"
#define HHC04718                                                                                   \
    "GLAN: LAN '%s' trace to '%s' stopped: %" PRIu64 " datagrams written, %" PRIu64                \
    " passed over, %" PRIu64 " lost"

/* query output, one line each */
#define HHC04720 "%s"

#endif
