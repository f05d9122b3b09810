/*
 * The adapter in layer 2 (ULP ENABLE protocol 08), on a LAN of transport
 * ETHERNET: which layer a guest may have on which LAN, the layer-2 IPA
 * commands (SETVMAC/DELVMAC, SETGMAC/DELGMAC, SETVLAN/DELVLAN, to the
 * base's registry) and the layer-2 QDIO header of the frames that go in.
 * qdio.c reads the header of the frames that come out (osa_l2_out_len).
 *
 * What Linux's qeth_l2 sends, and what it is answered (docs/osa.md, "Layer
 * 2"): STARTLAN, QIPASSIST (SETADAPTERPARMS, IPv6 and the offloads, ipa.c), SETADAPTERPARMS
 * QUERY_COMMANDS_SUPPORTED and ALTER_MAC READ (the MAC the LAN handed out,
 * ipa.c), SETBRIDGEPORT and VNICC queries (not supported, which qeth_l2
 * takes as "no such features"), SETVMAC for its MAC, then SETGMAC for each
 * multicast MAC and SETVLAN for each VLAN interface as they come.
 *
 * The MACs and group MACs a guest registered are kept in osa->addrs and
 * osa->groups (VLANs in osa->groups too), so osa_ipa_down (ipa.c) takes
 * them out of the registry as it does IP addresses.  Runs under ctl.
 */
#include <errno.h>
#include <string.h>

#include "guestlan/wire.h"
#include "osa_int.h"

int osa_l2_layer_ok(struct glan_osa *osa, uint8_t proto)
{
    struct glan_lan *lan = glan_port_lan(osa->port);
    enum glan_transport t = glan_lan_transport(lan);
    int l2 = proto == MPC_PROT_L2;
    if (proto != MPC_PROT_L2 && proto != MPC_PROT_L3) {
        osa_log(osa, "ULP ENABLE asks for protocol %02x, neither layer 2 (08) nor 3 (03): refused",
                proto);
        return 0;
    }
    if (l2 == (t == GLAN_TRANSPORT_ETHERNET))
        return 1;
    osa_log(osa, "LAN '%s' is of transport %s, the guest asked for layer %d: refused (%s)",
            glan_lan_name(lan), t == GLAN_TRANSPORT_ETHERNET ? "ETHERNET" : "IP", l2 ? 2 : 3,
            !l2        ? "qeth layer2=1 for an ETHERNET LAN"
            : osa->iqd ? "a HiperSockets card of a HIPERS LAN takes layer 3, qeth's default for it"
                       : "qeth layer2=0 for an IP LAN");
    OSA_INC(osa, l2_refused);
    return 0;
}

static uint16_t setvmac(struct glan_osa *osa, const struct glan_addr *a)
{
    if (osa_addr_find(osa->addrs, osa->naddrs, a) >= 0)
        return IPA_RC_SUCCESS;
    if (osa->naddrs == OSA_MAX_ADDRS)
        return IPA_RC_L2_ADDR_TABLE_FULL;
    int rc = glan_addr_register(osa->port, a);
    if (rc == -EADDRINUSE) {
        char t[48];
        osa_log(osa, "SETVMAC %s refused: another port of the LAN holds it",
                glan_addr_format(a, t, sizeof t));
        return IPA_RC_L2_DUP_MAC;
    }
    if (rc == -ENOSPC)
        return IPA_RC_L2_ADDR_TABLE_FULL;
    if (rc < 0)
        return IPA_RC_L2_MAC_NOT_AUTH_BY_ADP; /* a group or zero MAC */
    osa->addrs[osa->naddrs++] = *a;
    return IPA_RC_SUCCESS;
}

static uint16_t delvmac(struct glan_osa *osa, const struct glan_addr *a)
{
    int i = osa_addr_find(osa->addrs, osa->naddrs, a);
    if (i < 0)
        return IPA_RC_L2_MAC_NOT_FOUND;
    glan_addr_unregister(osa->port, a);
    osa->addrs[i] = osa->addrs[--osa->naddrs];
    return IPA_RC_SUCCESS;
}

/* SETGMAC and SETVLAN: a group of the registry (a group MAC, a VLAN). */
static uint16_t join(struct glan_osa *osa, const struct glan_addr *g, uint16_t dup, uint16_t bad)
{
    if (osa_addr_find(osa->groups, osa->ngroups, g) >= 0)
        return dup;
    if (osa->ngroups == OSA_MAX_GROUPS)
        return IPA_RC_L2_ADDR_TABLE_FULL;
    int rc = glan_group_join(osa->port, g);
    if (rc == -ENOSPC)
        return IPA_RC_L2_ADDR_TABLE_FULL;
    if (rc < 0)
        return bad;
    osa->groups[osa->ngroups++] = *g;
    return IPA_RC_SUCCESS;
}

static uint16_t leave(struct glan_osa *osa, const struct glan_addr *g, uint16_t missing)
{
    int i = osa_addr_find(osa->groups, osa->ngroups, g);
    if (i < 0)
        return missing;
    glan_group_leave(osa->port, g);
    osa->groups[i] = osa->groups[--osa->ngroups];
    return IPA_RC_SUCCESS;
}

uint16_t osa_l2_ipa(struct glan_osa *osa, uint8_t cmd, const uint8_t *d, uint32_t room)
{
    struct glan_addr a;
    if (osa->layer != MPC_PROT_L2)
        return IPA_RC_NOTSUPP;
    if (!osa->lan_started)
        return IPA_RC_LAN_OFFLINE;
    if (cmd == IPA_CMD_SETVLAN || cmd == IPA_CMD_DELVLAN) {
        if (room < sizeof(struct ipa_setdelvlan))
            return IPA_RC_INVALID_FORMAT;
        uint16_t vid = be16(((const struct ipa_setdelvlan *)d)->vlan_id);
        if (vid < 1 || vid > 4094)
            return IPA_RC_L2_INVALID_VLAN_ID;
        glan_addr_vlan(&a, vid);
        return cmd == IPA_CMD_SETVLAN
                   ? join(osa, &a, IPA_RC_L2_DUP_VLAN_ID, IPA_RC_L2_INVALID_VLAN_ID)
                   : leave(osa, &a, IPA_RC_L2_VLAN_ID_NOT_FOUND);
    }
    const struct ipa_setdelmac *m = (const struct ipa_setdelmac *)d;
    if (room < sizeof *m || be32(m->mac_length) != 6)
        return IPA_RC_INVALID_FORMAT;
    glan_addr_mac(&a, m->mac);
    int group = m->mac[0] & 1;
    switch (cmd) {
    case IPA_CMD_SETVMAC:
        return group ? IPA_RC_L2_MAC_NOT_AUTH_BY_ADP : setvmac(osa, &a);
    case IPA_CMD_DELVMAC:
        return delvmac(osa, &a);
    case IPA_CMD_SETGMAC:
        /* Already a member: success, as for SETIPM. */
        return group ? join(osa, &a, IPA_RC_SUCCESS, IPA_RC_L2_MAC_NOT_AUTH_BY_ADP)
                     : IPA_RC_L2_MAC_NOT_AUTH_BY_ADP;
    case IPA_CMD_DELGMAC:
        return leave(osa, &a, IPA_RC_L2_GMAC_NOT_FOUND);
    default:
        return IPA_RC_NOTSUPP;
    }
}

void osa_l2_hdr_in(struct qeth_hdr_l2 *h, const struct glan_dgram *dg)
{
    memset(h, 0, sizeof *h);
    h->id = QETH_HEADER_TYPE_LAYER2;
    h->flags[2] = dg->cast == GLAN_CAST_BROADCAST   ? QETH_L2_BROADCAST
                  : dg->cast == GLAN_CAST_MULTICAST ? QETH_L2_MULTICAST
                                                    : QETH_L2_UNICAST;
    put16(h->pkt_length, (uint16_t)dg->len);
    /* The tag stays in the frame; the header repeats it, as for output. */
    if (dg->len >= ETH_HDR_LEN + VLAN_TAG_LEN && be16(dg->data + 12) == ET_VLAN) {
        h->flags[2] |= QETH_L2_VLAN;
        memcpy(h->vlan_id, dg->data + 14, 2);
    }
}

uint32_t osa_l2_out_len(const struct qeth_hdr_l2 *h)
{
    return h->id == QETH_HEADER_TYPE_LAYER2 || h->id == QETH_HEADER_TYPE_L2_TSO
               ? be16(h->pkt_length)
               : 0;
}
