/*
 * guestlan pcap file uplink: a LAN's uplink whose "network" is a pair of
 * capture files.  What the LAN sends out is recorded in a DLT_RAW pcap file
 * (nanosecond timestamps, readable by tshark/tcpdump; pcapng when asked, for
 * timestamps past 2106); what arrives from the network is read from a
 * capture, as if a wire had delivered it.  The files are read and written by
 * the capture module (capture.h: the link types it reads, the formats it
 * writes); frames that carry no IPv4/IPv6 are counted as skipped.
 */
#ifndef GUESTLAN_PCAPFILE_H
#define GUESTLAN_PCAPFILE_H

#include <stddef.h>
#include <stdint.h>

#include "guestlan/capture.h"
#include "guestlan/uplink.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Create a pcap file uplink.  in_path (may be NULL: nothing arrives from the
 * network) is the capture its receive op reads; out_path (may be NULL: what
 * goes out is counted and discarded) is the DLT_RAW file its send op writes.
 * The files are opened by ops->open, i.e. by glan_uplink_attach(), which
 * reports problems in u->err.  NULL only when memory is short.
 *
 * receive(u, budget) hands up to budget datagrams of in_path to
 * glan_uplink_input() with their capture timestamps; non-IP frames count in
 * stats.rx_skipped, malformed records in stats.rx_errors (message in u->err,
 * reading goes on); a damaged file ends the input with -EIO.
 */
struct glan_uplink *glan_pcapfile_create(const char *in_path, const char *out_path);

/* Before the uplink is attached: write out_path in format fmt (default
 * GLAN_PCAP_CLASSIC, where a datagram stamped from GLAN_PCAP_CLASSIC_END_NS
 * on is not written: counted in stats.tx_errors, message in u->err).  0;
 * -EINVAL when u is not a pcap file uplink; -EBUSY once its files are open. */
int glan_pcapfile_set_format(struct glan_uplink *u, enum glan_pcap_format fmt);
/* The files hold Ethernet frames as they are (DLT_EN10MB), for a LAN of
 * transport ETHERNET: every record of the input is a frame for the LAN.
 * Before the uplink is attached; 0, or -EINVAL / -EBUSY as above. */
int glan_pcapfile_set_ethernet(struct glan_uplink *u);

#ifdef __cplusplus
}
#endif
#endif
