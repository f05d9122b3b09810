/*
 * IPA commands of a layer-3 OSD: STARTLAN/STOPLAN, QIPASSIST,
 * SETADAPTERPARMS (query, read MAC, card info), SETASSPARMS for the assists
 * we advertise, SETIP/DELIP (v4 and v6, to the base's registry), SETIPM/
 * DELIPM (multicast memberships), SETRTG and CREATE_ADDR.  Anything else
 * gets IPA_RC_NOTSUPP, never silence.
 *
 * A reply is the request block sent back on the read channel with the
 * return code and data filled in (docs/osa.md, "IPA replies"): built here,
 * its lengths fixed up by mpc.c, queued by osa.c, which calls in here; this
 * file calls neither osa.c nor qdio.c (osa_int.h).  All of this runs under
 * the group's ctl lock.
 */
#include <errno.h>
#include <string.h>

#include "guestlan/osa_mpc.h"
#include "osa_int.h"

/* What we advertise for IPv4 and IPv6 alike, then the offloads of each
 * (docs/osa.md, "Offloads"): inbound and outbound checksumming, and TSO when
 * the LAN's buffers hold the largest datagram (ipa_supported).  Linux asks
 * for the IPv6 checksum assists by their _V6 bits in the IPv6 answer, then
 * starts them as IPA_INBOUND/OUTBOUND_CHECKSUM on protocol 6. */
#define IPA_SUPPORTED                                                                              \
    (IPA_ARP_PROCESSING | IPA_FILTERING | IPA_IPV6 | IPA_MULTICASTING | IPA_SETADAPTERPARMS |      \
     IPA_PASSTHRU)
#define IPA_OFFLOAD4 (IPA_INBOUND_CHECKSUM | IPA_OUTBOUND_CHECKSUM)
#define IPA_OFFLOAD6 (IPA_INBOUND_CHECKSUM_V6 | IPA_OUTBOUND_CHECKSUM_V6)
/* The checksums the device completes (qeth_ipa_caps.supported). */
#define CSUM_CAPS (IPA_CHECKSUM_IP_HDR | IPA_CHECKSUM_UDP | IPA_CHECKSUM_TCP | IPA_CHECKSUM_LP2LP)
/* TSO needs large base buffers that hold the largest datagram Linux builds
 * (61440 bytes of data in 15 elements, and its headers). */
#define TSO_MIN_BUFFER 65535u
/* In layer 2 the adapter offers SETADAPTERPARMS (for the MAC the LAN hands
 * out), and the offloads as in layer 3: qeth_l2_setup_netdev offers the
 * checksum and TSO features by the same QIPASSIST bits, and qeth asks for
 * the IPv6 ones only when the IPv4 answer has IPA_IPV6 (which qeth_l2
 * starts nothing for). */
#define IPA_L2_SUPPORTED (IPA_SETADAPTERPARMS | IPA_IPV6)
#define SETADP_SUPPORTED                                                                           \
    (IPA_SETADP_QUERY_COMMANDS_SUPPORTED | IPA_SETADP_ALTER_MAC_ADDRESS |                          \
     IPA_SETADP_QUERY_CARD_INFO)

/* The assists advertised for protocol prot (4, 6; anything else as 4); in
 * layer 2 SETADAPTERPARMS, IPv6 and the offloads only. */
static uint32_t ipa_supported(const struct glan_osa *osa, int prot)
{
    struct glan_lan_config cfg;
    glan_lan_get_config(glan_port_lan(osa->port), &cfg);
    uint32_t tso = cfg.big_size >= TSO_MIN_BUFFER ? IPA_OUTBOUND_TSO : 0;
    uint32_t base = osa->layer == MPC_PROT_L2 ? IPA_L2_SUPPORTED : IPA_SUPPORTED;
    return base | tso | (prot == IPA_PROT_IPV6 ? IPA_OFFLOAD6 : IPA_OFFLOAD4);
}

/* May SETASSPARMS of protocol prot name this assist? */
static int assist_known(const struct glan_osa *osa, int prot, uint32_t assist)
{
    uint32_t sup = ipa_supported(osa, prot);
    if (prot == IPA_PROT_IPV6) {
        if (sup & IPA_INBOUND_CHECKSUM_V6)
            sup |= IPA_INBOUND_CHECKSUM;
        if (sup & IPA_OUTBOUND_CHECKSUM_V6)
            sup |= IPA_OUTBOUND_CHECKSUM;
    }
    return assist && !(assist & (assist - 1)) && (assist & sup);
}

static int addr_from(struct glan_addr *a, int prot, const uint8_t *p)
{
    memset(a, 0, sizeof *a);
    if (prot == IPA_PROT_IPV4) {
        a->family = GLAN_AF_INET;
        memcpy(a->bytes, p, 4);
    } else if (prot == IPA_PROT_IPV6) {
        a->family = GLAN_AF_INET6;
        memcpy(a->bytes, p, 16);
    } else {
        return -EINVAL;
    }
    return 0;
}

static uint16_t setip(struct glan_osa *osa, const struct glan_addr *a)
{
    if (!osa->lan_started)
        return IPA_RC_LAN_OFFLINE;
    if (osa_addr_find(osa->addrs, osa->naddrs, a) >= 0)
        return IPA_RC_SUCCESS;
    if (osa->naddrs == OSA_MAX_ADDRS)
        return IPA_RC_IP_ADDR_TABLE_FULL;
    int rc = glan_addr_register(osa->port, a);
    if (rc == -EADDRINUSE)
        return IPA_RC_DUPLICATE_IP_ADDRESS;
    if (rc == -ENOSPC)
        return IPA_RC_IP_ADDR_TABLE_FULL;
    if (rc < 0)
        return IPA_RC_INVALID_FORMAT;
    osa->addrs[osa->naddrs++] = *a;
    return IPA_RC_SUCCESS;
}

static uint16_t delip(struct glan_osa *osa, const struct glan_addr *a)
{
    int i = osa_addr_find(osa->addrs, osa->naddrs, a);
    if (i < 0)
        return IPA_RC_IP_ADDRESS_NOT_DEFINED;
    glan_addr_unregister(osa->port, a);
    osa->addrs[i] = osa->addrs[--osa->naddrs];
    return IPA_RC_SUCCESS;
}

static uint16_t setipm(struct glan_osa *osa, const struct glan_addr *g)
{
    if (osa_addr_find(osa->groups, osa->ngroups, g) >= 0)
        return IPA_RC_SUCCESS;
    if (osa->ngroups == OSA_MAX_GROUPS)
        return IPA_RC_IP_ADDR_TABLE_FULL;
    int rc = glan_group_join(osa->port, g);
    if (rc == -ENOSPC)
        return IPA_RC_IP_ADDR_TABLE_FULL;
    if (rc < 0)
        return IPA_RC_INVALID_FORMAT;
    osa->groups[osa->ngroups++] = *g;
    return IPA_RC_SUCCESS;
}

static uint16_t delipm(struct glan_osa *osa, const struct glan_addr *g)
{
    int i = osa_addr_find(osa->groups, osa->ngroups, g);
    if (i < 0)
        return IPA_RC_MC_ADDR_NOT_FOUND;
    glan_group_leave(osa->port, g);
    osa->groups[i] = osa->groups[--osa->ngroups];
    return IPA_RC_SUCCESS;
}

void osa_ipa_down(struct glan_osa *osa)
{
    for (unsigned i = 0; i < osa->naddrs; i++)
        glan_addr_unregister(osa->port, &osa->addrs[i]);
    for (unsigned i = 0; i < osa->ngroups; i++)
        glan_group_leave(osa->port, &osa->groups[i]);
    osa->naddrs = 0;
    osa->ngroups = 0;
    osa->lan_started = 0;
    osa->ipa4_enabled = 0;
    osa->ipa6_enabled = 0;
    atomic_store_explicit(&osa->rx_csum, 0, memory_order_relaxed);
}

/* The eight bytes of data a checksum or TSO assist answers with: the reply
 * grows to hold them (Linux's requests for START carry none). */
static struct ipa_caps *caps_reply(uint8_t *b, uint32_t data_off, uint32_t *len)
{
    struct ipa_setassparms_hdr *h = (struct ipa_setassparms_hdr *)(b + data_off);
    uint32_t need = data_off + (uint32_t)(sizeof *h + sizeof(struct ipa_caps));
    if (*len < need)
        *len = need; /* b is zero past what the guest sent, and OSA_REPLY_MAX long */
    put16(h->length, 8 + sizeof(struct ipa_caps));
    return (struct ipa_caps *)(h + 1);
}

/* START and ENABLE of the checksum and TSO assists answer what Linux checks
 * (qeth_set_csum_on, qeth_set_tso_on): the capabilities supported and, for
 * ENABLE, those now enabled. */
static void offload_reply(struct glan_osa *osa, uint32_t assist, uint16_t cmd, uint8_t *b,
                          uint32_t data_off, uint32_t *len)
{
    struct ipa_caps *c = caps_reply(b, data_off, len);
    if (assist == IPA_OUTBOUND_TSO) {
        if (cmd == IPA_CMD_ASS_START) {
            /* {mss, supported}: the largest segment the interface's MTU
             * allows; Linux shows it, the device cuts at any MSS. */
            uint32_t mtu = osa->cfg.mtu > 40 ? osa->cfg.mtu : 9000;
            put32(c->supported, mtu - 40);
            put32(c->enabled, IPA_LARGE_SEND_TCP);
        } else {
            uint32_t want = be32(c->enabled);
            put32(c->supported, IPA_LARGE_SEND_TCP);
            put32(c->enabled, want & IPA_LARGE_SEND_TCP);
        }
        return;
    }
    uint32_t want = cmd == IPA_CMD_ASS_ENABLE ? be32(c->supported) : 0;
    put32(c->supported, CSUM_CAPS);
    put32(c->enabled, want & CSUM_CAPS);
}

static uint16_t setassparms(struct glan_osa *osa, int prot, uint8_t *b, uint32_t data_off,
                            uint32_t *len)
{
    if (*len < data_off + sizeof(struct ipa_setassparms_hdr))
        return IPA_RC_INVALID_FORMAT;
    struct ipa_setassparms_hdr *h = (struct ipa_setassparms_hdr *)(b + data_off);
    uint32_t assist = be32(h->assist_no);
    uint16_t cmd = be16(h->command_code);
    uint32_t *enabled = prot == IPA_PROT_IPV6 ? &osa->ipa6_enabled : &osa->ipa4_enabled;
    uint16_t sub = IPA_RC_SUCCESS;
    int offload = assist == IPA_INBOUND_CHECKSUM || assist == IPA_OUTBOUND_CHECKSUM ||
                  assist == IPA_OUTBOUND_TSO;
    if (!assist_known(osa, prot, assist))
        return IPA_RC_NOTSUPP;
    switch (cmd) {
    case IPA_CMD_ASS_START:
        *enabled |= assist;
        if (offload)
            offload_reply(osa, assist, cmd, b, data_off, len);
        break;
    case IPA_CMD_ASS_STOP:
        *enabled &= ~assist;
        break;
    case IPA_CMD_ASS_CONFIGURE: /* also ARP SET_NO_ENTRIES */
        break;
    case IPA_CMD_ASS_ENABLE:
        if (offload)
            offload_reply(osa, assist, cmd, b, data_off, len);
        break;
    case IPA_CMD_ASS_ARP_ADD_ENTRY:
    case IPA_CMD_ASS_ARP_REMOVE_ENTRY:
        if (assist != IPA_ARP_PROCESSING)
            sub = IPA_RC_UNSUPPORTED_SUBCMD;
        break;
    default:
        sub = IPA_RC_UNSUPPORTED_SUBCMD;
        break;
    }
    if (assist == IPA_INBOUND_CHECKSUM) {
        /* The data path reads which families get "checksums verified". */
        unsigned bit = prot == IPA_PROT_IPV6 ? OSA_RX_CSUM6 : OSA_RX_CSUM4;
        unsigned v = atomic_load_explicit(&osa->rx_csum, memory_order_relaxed);
        v = *enabled & IPA_INBOUND_CHECKSUM ? v | bit : v & ~bit;
        atomic_store_explicit(&osa->rx_csum, v, memory_order_relaxed);
    }
    put16(h->return_code, sub);
    return sub;
}

/* SETADAPTERPARMS; *len is the reply's length, grown when the answer needs
 * more room than the request had. */
static uint16_t setadapterparms(struct glan_osa *osa, uint8_t *b, uint32_t data_off, uint32_t *len)
{
    if (*len < data_off + sizeof(struct ipa_setadp_hdr))
        return IPA_RC_INVALID_FORMAT;
    struct ipa_setadp_hdr *h = (struct ipa_setadp_hdr *)(b + data_off);
    uint8_t *d = b + data_off + sizeof *h;
    uint32_t need = data_off + sizeof *h;
    uint32_t cmd = be32(h->command_code);
    put32(h->supp_hw_cmds, SETADP_SUPPORTED);
    h->used_total = 1;
    h->seq_no = 1;
    switch (cmd) {
    case IPA_SETADP_QUERY_COMMANDS_SUPPORTED: {
        struct ipa_query_cmds_supp q;
        memset(&q, 0, sizeof q);
        put32(q.no_lantypes_supp, 1);
        q.lan_type = LINK_TYPE_GBIT_ETH;
        put32(q.supported_cmds, SETADP_SUPPORTED);
        memcpy(d, &q, sizeof q);
        need += sizeof q;
        break;
    }
    case IPA_SETADP_ALTER_MAC_ADDRESS: {
        struct ipa_change_addr c;
        memcpy(&c, d, sizeof c);
        if (be32(c.cmd) != 0) { /* only READ: the MAC belongs to the LAN port */
            put16(h->return_code, IPA_RC_NOTSUPP);
            return IPA_RC_NOTSUPP;
        }
        put32(c.addr_size, 6);
        put32(c.no_macs, 1);
        memcpy(c.addr, osa->mac, 6);
        /* In layer 2 it is the MAC the LAN handed out: a virtual one. */
        if (osa->layer == MPC_PROT_L2)
            h->flags = QETH_SETADP_FLAGS_VIRTUAL_MAC;
        memcpy(d, &c, sizeof c);
        need += sizeof c;
        break;
    }
    case IPA_SETADP_QUERY_CARD_INFO: {
        struct ipa_card_info ci;
        memset(&ci, 0, sizeof ci);
        ci.card_type = 0x71;     /* 1G fibre */
        put16(ci.port_mode, 3);  /* full duplex */
        put32(ci.port_speed, 7); /* 1 Gb/s */
        memcpy(d, &ci, sizeof ci);
        need += sizeof ci;
        break;
    }
    default:
        put16(h->return_code, IPA_RC_NOTSUPP);
        return IPA_RC_NOTSUPP;
    }
    put16(h->return_code, 0);
    put16(h->cmdlength, (uint16_t)(need - data_off));
    if (need > *len)
        *len = need;
    return IPA_RC_SUCCESS;
}

/* SETIP/DELIP and SETIPM/DELIPM: the address from the command's data (room
 * bytes at d), then the registry. */
static uint16_t address_cmd(struct glan_osa *osa, uint8_t cmd, int prot, const uint8_t *d,
                            uint32_t room)
{
    struct glan_addr a;
    if (cmd == IPA_CMD_SETIP || cmd == IPA_CMD_DELIP) {
        if ((prot == IPA_PROT_IPV4 && room < sizeof(struct ipa_setdelip4)) ||
            (prot == IPA_PROT_IPV6 && room < sizeof(struct ipa_setdelip6)) ||
            addr_from(&a, prot, d) < 0)
            return IPA_RC_INVALID_FORMAT;
        return cmd == IPA_CMD_SETIP ? setip(osa, &a) : delip(osa, &a);
    }
    const struct ipa_setdelipm *m = (const struct ipa_setdelipm *)d;
    if (room < sizeof *m || addr_from(&a, prot, prot == IPA_PROT_IPV4 ? m->ip + 12 : m->ip) < 0)
        return IPA_RC_INVALID_FORMAT;
    return cmd == IPA_CMD_SETIPM ? setipm(osa, &a) : delipm(osa, &a);
}

/* Run the command h of the reply block b (its data at data_off, *rlen bytes
 * long, which the command may change); returns the IPA return code. */
static uint16_t run(struct glan_osa *osa, struct ipa_hdr *h, uint8_t *b, uint32_t data_off,
                    uint32_t pdu_off, uint32_t *rlen)
{
    int prot = be16(h->prot_version);
    uint8_t *d = b + data_off;
    uint32_t room = *rlen - data_off;
    switch (h->command) {
    case IPA_CMD_STARTLAN:
        osa->lan_started = 1;
        /* z/VM TCP/IP wants the short 16-byte STARTLAN reply real OSAs
         * give; Linux reads only the return code (docs/osa.md, "IPA
         * replies"). */
        *rlen = pdu_off + 16;
        return IPA_RC_SUCCESS;
    case IPA_CMD_STOPLAN:
        osa->lan_started = 0;
        return IPA_RC_SUCCESS;
    case IPA_CMD_QIPASSIST:
        if (prot != IPA_PROT_IPV4 && prot != IPA_PROT_IPV6)
            return IPA_RC_INVALID_FORMAT;
        return IPA_RC_SUCCESS;
    case IPA_CMD_SETASSPARMS:
        return setassparms(osa, prot, b, data_off, rlen);
    case IPA_CMD_SETADAPTERPARMS:
        return setadapterparms(osa, b, data_off, rlen);
    case IPA_CMD_SETIP:
    case IPA_CMD_DELIP:
    case IPA_CMD_SETIPM:
    case IPA_CMD_DELIPM:
        return address_cmd(osa, h->command, prot, d, room);
    case IPA_CMD_SETRTG:
        if (room < 1 || (d[0] & 0x0f) > 5)
            return IPA_RC_INVALID_SETRTG_INDICATOR;
        if (prot == IPA_PROT_IPV6)
            osa->routing6 = d[0];
        else
            osa->routing4 = d[0];
        return IPA_RC_SUCCESS;
    case IPA_CMD_SETVMAC:
    case IPA_CMD_DELVMAC:
    case IPA_CMD_SETGMAC:
    case IPA_CMD_DELGMAC:
    case IPA_CMD_SETVLAN:
    case IPA_CMD_DELVLAN:
        return osa_l2_ipa(osa, h->command, d, room);
    case IPA_CMD_CREATE_ADDR:
        if (room < 8)
            return IPA_RC_INVALID_FORMAT;
        memcpy(d, osa->mac, 6);
        if (!be16(d + 6))
            put16(d + 6, (uint16_t)(0x0100 | (glan_port_index(osa->port) & 0xff)));
        return IPA_RC_SUCCESS;
    default:
        return IPA_RC_NOTSUPP;
    }
}

uint32_t osa_ipa(struct glan_osa *osa, const uint8_t *blk, uint32_t len, uint32_t pdu_off,
                 uint8_t b[OSA_REPLY_MAX])
{
    const uint32_t data_off = pdu_off + (uint32_t)sizeof(struct ipa_hdr);
    OSA_INC(osa, ipa_cmds);
    /* The reply buffer has room for the largest answer we give. */
    uint32_t rlen = len < OSA_REPLY_MAX ? len : OSA_REPLY_MAX;
    if (rlen < data_off) {
        OSA_INC(osa, mpc_bad);
        return 0;
    }
    memcpy(b, blk, rlen);
    memset(b + rlen, 0, OSA_REPLY_MAX - rlen);
    /* Work on a copy padded with zeros so that short commands read as zero
     * data instead of past their end; what the guest sent decides rlen. */
    struct ipa_hdr *h = (struct ipa_hdr *)(b + pdu_off);
    int prot = be16(h->prot_version);
    uint16_t rc = run(osa, h, b, data_off, pdu_off, &rlen);
    int l2 = osa->layer == MPC_PROT_L2;
    if (rc == IPA_RC_NOTSUPP) {
        OSA_INC(osa, ipa_notsupp);
        /* qeth_l2 asks for bridge ports and VNIC characteristics and takes
         * "not supported" as "none": nothing to say about those. */
        if (!l2 || (h->command != IPA_CMD_VNICC && h->command != IPA_CMD_SETBRIDGEPORT_OSA))
            osa_log(osa, "IPA command %02x not supported", h->command);
    }
    put16(h->return_code, rc);
    put32(h->ipa_supported, ipa_supported(osa, prot));
    put32(h->ipa_enabled, prot == IPA_PROT_IPV6 ? osa->ipa6_enabled : osa->ipa4_enabled);
    osa_mpc_finalize(b, rlen);
    return rlen;
}
