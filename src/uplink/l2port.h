/*
 * The layer-2 link of the device runner (l2port.c): the layer-2 engine
 * (l2.h) between the base and an Ethernet device, behind the runner's lock,
 * with its resolution timer.  The layer-2 uplinks (tap.c, pcaplive.c) are a
 * runner device each (runner.h: open/close/read/write of whole Ethernet
 * frames) over this link.  Internal to src/uplink.
 */
#ifndef GLAN_UPLINK_L2PORT_H
#define GLAN_UPLINK_L2PORT_H

#include <stdint.h>

#include "guestlan/l2.h"
#include "runner.h"

/* A new layer-2 uplink over dev with the engine's configuration cfg
 * (lan_name is not kept: the LAN's own name gives the default MAC) and the
 * device's state.  NULL when memory is short (dev_state is then the
 * caller's to free). */
struct runner *l2port_new(const struct runner_dev *dev, const struct glan_l2_config *cfg,
                          void *dev_state);
/* The runner behind u when it is a layer-2 uplink, else NULL. */
struct runner *l2port_of(struct glan_uplink *u);
/* Under r->lock, once started (a device's ready): the LAN's MAC, and the
 * VLAN ID (0: untagged). */
void l2port_mac(struct runner *r, uint8_t mac[6]);
/* 1 when the link is a bridge port (the LAN is of transport ETHERNET):
 * frames as they are, no engine (known after the start op). */
int l2port_bridge(const struct runner *r);
uint16_t l2port_vlan(const struct runner *r);

#endif
