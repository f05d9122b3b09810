/*
 * Wire formats of an OSA-Express in QDIO mode: channel command codes, the
 * Sense ID and RCD data, IDX, the MPC framing (TH/RRH/PH/PUK/PUS), IPA
 * commands, the QDIO control blocks (QDR, QDES, QIB, SLIB, SL, SBAL, SBALE,
 * SLSB states), the SSQD descriptor and the 32-byte layer-3 header.
 *
 * Layouts follow the big-endian architecture: every multi-byte field is a
 * byte array read and written with the be16/be32/be64 helpers of guestlan/wire.h, so the
 * structs mean the same on any host.  Sources of the layouts (read, not
 * copied): Linux arch/s390/include/asm/qdio.h, drivers/s390/cio/qdio.h,
 * drivers/s390/net/qeth_core_mpc.h/.c and qeth_core.h; Hyperion qdio.h and
 * mpc.h.  docs/osa.md, "What is implemented", says what the device does
 * with each.  Names stay close to Linux's so the two read side by side.
 * Used by the device model (src/osa/) and the simulated guest
 * (src/simguest/); the MPC framing routines are in mpc.h.
 */
#ifndef GLAN_OSA_WIRE_H
#define GLAN_OSA_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "guestlan/osa.h"
#include "guestlan/wire.h"

/* be16/be32/be64 and put16/put32/put64 are guestlan/wire.h's. */

/* ---- channel commands (docs/osa.md, "Control path") ------------------------ */

enum {
    CCW_CMD_WRITE = 0x01,
    CCW_CMD_READ = 0x02,
    CCW_CMD_NOP = GLAN_OSA_CMD_NOP,
    CCW_CMD_SENSE = 0x04,
    CCW_CMD_SENSE_CMDBYTE = 0x14,
    CCW_CMD_EQUEUE = 0x1b,                /* ESTABLISH QUEUES, from the EQUEUE CIW */
    CCW_CMD_AQUEUE = GLAN_OSA_CMD_AQUEUE, /* ACTIVATE QUEUES, from the AQUEUE CIW */
    CCW_CMD_SII = 0x81,
    CCW_CMD_RNI = 0x82,
    CCW_CMD_SENSE_ID = 0xe4,
    CCW_CMD_RCD = 0xfa,
};

/* Sense ID: FF, CU type/model, device type/model, then CIWs (Linux
 * include/asm/ccwdev.h struct ciw: et in the top two bits, ct the low
 * nibble, command, count). */
enum {
    CIW_TYPE_RCD = 0,
    CIW_TYPE_SII = 1,
    CIW_TYPE_RNI = 2,
    CIW_TYPE_EQUEUE = 3,
    CIW_TYPE_AQUEUE = 4
};
struct ciw {
    uint8_t et_ct; /* 0x40 | type */
    uint8_t cmd;
    uint8_t count[2];
};
_Static_assert(sizeof(struct ciw) == 4, "ciw");
struct senseid {
    uint8_t reserved; /* 0xff */
    uint8_t cu_type[2];
    uint8_t cu_model;
    uint8_t dev_type[2];
    uint8_t dev_model;
    uint8_t unused;
    struct ciw ciw[5];
};
_Static_assert(sizeof(struct senseid) == 28, "senseid");

/* RCD: node descriptors (Linux struct node_descriptor): flags, params,
 * EBCDIC type/model/manufacturer/plant/sequence, tag. */
struct node_descriptor {
    uint8_t flags;
    uint8_t params[3];
    uint8_t type[6];
    uint8_t model[3];
    uint8_t manufacturer[3];
    uint8_t plant[2];
    uint8_t seq[12];
    uint8_t tag[2];
};
_Static_assert(sizeof(struct node_descriptor) == 32, "ned");
_Static_assert(offsetof(struct node_descriptor, plant) == 16, "ned plant");
_Static_assert(offsetof(struct node_descriptor, tag) == 30, "ned tag");
#define RCD_SIZE 128 /* device NED, CU NED, token NED, general NEQ */

/* ---- IDX ACTIVATE (qeth_core_mpc.h QETH_IDX_*) ----------------------------- */

#define IDX_ACTIVATE_SIZE 0x22
struct idx_activate {
    uint8_t hdr[4]; /* 00 00 80 00; reply byte 2 & 0xc0 == 0xc0: TERMINATE */
    uint8_t res1[4];
    uint8_t type;  /* 0x19 read, 0x15 write; reply: low two bits 2 = positive */
    uint8_t cause; /* reply: cause code of a negative reply */
    uint8_t res2;
    uint8_t port;          /* 0x80 | port number, | 0x40 "invalid frame" */
    uint8_t token[4];      /* issuer RM token (guest's, then adapter's) */
    uint8_t func_level[2]; /* 0x0101 OSD request, 0x0201 reply */
    uint8_t mcl[4];        /* reply: microcode level */
    uint8_t dataset[8];    /* EBCDIC "HALLOLE " */
    uint8_t cua[2];        /* data device number */
    uint8_t realaddr[2];   /* CULA << 8 | unit address */
};
_Static_assert(sizeof(struct idx_activate) == IDX_ACTIVATE_SIZE, "idx");
_Static_assert(offsetof(struct idx_activate, token) == 0x0c, "idx token");
_Static_assert(offsetof(struct idx_activate, func_level) == 0x10, "idx level");
_Static_assert(offsetof(struct idx_activate, cua) == 0x1e, "idx cua");
/* The first word of an IDX ACTIVATE, and of the shutdown notice z/OS sends
 * on the write channel (the other first word there is MPC_TH_ID). */
#define IDX_ACTIVATE_ID 0x00008000u
#define IDX_SHUTDOWN_ID 0x0000c000u
enum { IDX_TYPE_READ = 0x19, IDX_TYPE_WRITE = 0x15, IDX_POSITIVE = 0x02 };
enum { IDX_FUNC_LEVEL_OSD = 0x0101, IDX_FUNC_LEVEL_REPLY = 0x0201 };
/* A HiperSockets guest's IDX function level: Linux 6.1's qeth sends 0x4108
 * (seen from a Debian guest); the adapter answers the level qeth expects
 * of its peer, derived from the guest's (osa_iqd_peer_level: 0x0408). */
enum { IDX_FUNC_LEVEL_IQD = 0x4108 };
enum { IDX_CAUSE_EXCL = 0x19 };

/* ---- MPC framing (qeth_core_mpc.c templates; routines in mpc.h) ------------ */

/* Transport header. */
struct mpc_th {
    uint8_t id[4]; /* MPC_TH_ID */
    uint8_t seq[4];
    uint8_t offrrh[4]; /* 0x14 */
    uint8_t length[4]; /* of the whole block */
    uint8_t unit[2];   /* MPC_TH_UNIT_* */
    uint8_t numrrh[2];
};
_Static_assert(sizeof(struct mpc_th) == 0x14, "th");
/* The first word of a control block (the CCW dispatcher tells MPC from IDX
 * by it), and the transport unit each side puts in its blocks. */
#define MPC_TH_ID 0x00e00000u
enum { MPC_TH_UNIT_HOST = 0x1000, MPC_TH_UNIT_ADAPTER = 0x0ffc };

/* Request/response header. */
struct mpc_rrh {
    uint8_t res1[4];
    uint8_t type;  /* 0x81 CM, 0x41 ULP, 0xc1 IPA */
    uint8_t proto; /* 0x7e MPC PUK; for IPA the layer 0x03 / 0x08 */
    uint8_t res2[2];
    uint8_t seq[4];
    uint8_t ackseq[4];
    uint8_t offph[2];  /* from the RRH */
    uint8_t lenfda[2]; /* length of the first data area */
    uint8_t lenalda[3];
    uint8_t tokentype; /* MPC_TOKEN_TYPE */
    uint8_t token[4];  /* destination: the receiver's token */
    uint8_t res3[8];
};
_Static_assert(sizeof(struct mpc_rrh) == 0x24, "rrh");
_Static_assert(offsetof(struct mpc_rrh, offph) == 0x10, "rrh offph");
_Static_assert(offsetof(struct mpc_rrh, token) == 0x18, "rrh token");

/* Protocol data unit header. */
struct mpc_ph {
    uint8_t locdata;
    uint8_t lendata[3];
    uint8_t offdata[4]; /* from the TH */
};
_Static_assert(sizeof(struct mpc_ph) == 8, "ph");

/* The three together, as every control block starts; the PDU follows at
 * MPC_PDU_OFFSET.  Linux finds it with PDU_ENCAPSULATION(): TH + byte at
 * (TH[0x0b] + RRH-offph-low-byte + 7). */
struct mpc_hdr {
    struct mpc_th th;
    struct mpc_rrh rrh;
    struct mpc_ph ph;
};
_Static_assert(sizeof(struct mpc_hdr) == 0x40, "mpc hdr");
#define MPC_PDU_OFFSET 0x40
enum { RRH_TYPE_CM = 0x81, RRH_TYPE_ULP = 0x41, RRH_TYPE_IPA = 0xc1, RRH_PROTO_PUK = 0x7e };
enum { MPC_TOKEN_TYPE = 0x05 };
enum { MPC_PROT_L3 = 0x03, MPC_PROT_L2 = 0x08 };

/* Program unit kind header, followed by program unit segments (PUS), each
 * {length[2], 0x04, type, ...}. */
struct mpc_puk {
    uint8_t length[2]; /* 0x000c */
    uint8_t what;      /* 0x41, 0x43 for DM */
    uint8_t type;
    uint8_t total[2]; /* length of the PUSes that follow */
    uint8_t res[6];
};
_Static_assert(sizeof(struct mpc_puk) == 12, "puk");
enum {
    PUK_ENABLE = 0x02,
    PUK_SETUP = 0x04,
    PUK_CONFIRM = 0x06,
    PUK_DM_ACT = 0x60,
    PUK_TAKEDOWN = 0x05,
    PUK_DISABLE = 0x03,
};
enum {
    PUS_01 = 0x01,
    PUS_02 = 0x02,
    PUS_04 = 0x04,
    PUS_05 = 0x05,
    PUS_06 = 0x06,
    PUS_07 = 0x07,
    PUS_08 = 0x08,
    PUS_0A = 0x0a,
    PUS_0B = 0x0b
};

/* Offsets in the guest's commands where Linux puts what it sends
 * (qeth_core_mpc.h QETH_CM_ENABLE_* ... QETH_DM_ACT_*). */
enum {
    MPC_DEST_ADDR = 0x2c,          /* RRH token */
    CM_ENABLE_FILTER_TOKEN = 0x53, /* guest CM filter token */
    CM_SETUP_CONN_TOKEN = 0x51,
    CM_SETUP_FILTER_TOKEN = 0x5a,
    ULP_ENABLE_PROT_TYPE = 0x50,
    ULP_ENABLE_FILTER_TOKEN = 0x53,
    ULP_ENABLE_LINKNUM = 0x61,
    ULP_SETUP_CONN_TOKEN = 0x51,
    ULP_SETUP_FILTER_TOKEN = 0x5a,
    ULP_SETUP_CUA = 0x68,
    ULP_SETUP_REAL_DEVADDR = 0x6a,
    DM_ACT_CONN_TOKEN = 0x51,
};
/* ... and where Linux reads the adapter's answers, from the PDU start. */
enum {
    CM_ENABLE_RESP_FILTER_TOKEN = 0x13,
    CM_SETUP_RESP_CONN_TOKEN = 0x1a,
    ULP_ENABLE_RESP_FILTER_TOKEN = 0x13,
    ULP_ENABLE_RESP_DIFINFO_LEN = 0x17,
    ULP_ENABLE_RESP_MAX_MTU = 0x1f,
    ULP_ENABLE_RESP_LINK_TYPE = 0x2b,
    ULP_SETUP_RESP_CONN_TOKEN = 0x1a,
};
enum { LINK_TYPE_FAST_ETH = 0x01, LINK_TYPE_GBIT_ETH = 0x03, LINK_TYPE_10GBIT_ETH = 0x10 };

/* ---- IPA (qeth_core_mpc.h struct qeth_ipacmd_hdr and friends) -------------- */

struct ipa_hdr {
    uint8_t command;
    uint8_t initiator; /* 0x00 host (kept in the reply), 0x01 OSA */
    uint8_t seqno[2];  /* echoed */
    uint8_t return_code[2];
    uint8_t adapter_type;
    uint8_t rel_adapter_no;
    uint8_t prim_version_no; /* 1 = layer 3 */
    uint8_t param_count;
    uint8_t prot_version[2]; /* 0, 4, 6 */
    uint8_t ipa_supported[4];
    uint8_t ipa_enabled[4];
};
_Static_assert(sizeof(struct ipa_hdr) == 0x14, "ipa hdr");

enum {
    IPA_CMD_STARTLAN = 0x01,
    IPA_CMD_STOPLAN = 0x02,
    /* layer 2 only (ULP ENABLE protocol 08) */
    IPA_CMD_SETVMAC = 0x21,
    IPA_CMD_DELVMAC = 0x22,
    IPA_CMD_SETGMAC = 0x23,
    IPA_CMD_DELGMAC = 0x24,
    IPA_CMD_SETVLAN = 0x25,
    IPA_CMD_DELVLAN = 0x26,
    IPA_CMD_VNICC = 0x2a,
    IPA_CMD_SETBRIDGEPORT_OSA = 0x2b,
    IPA_CMD_SETIP = 0xb1,
    IPA_CMD_QIPASSIST = 0xb2,
    IPA_CMD_SETASSPARMS = 0xb3,
    IPA_CMD_SETIPM = 0xb4,
    IPA_CMD_DELIPM = 0xb5,
    IPA_CMD_SETRTG = 0xb6,
    IPA_CMD_DELIP = 0xb7,
    IPA_CMD_SETADAPTERPARMS = 0xb8,
    IPA_CMD_CREATE_ADDR = 0xc3,
};
enum { IPA_INITIATOR_HOST = 0x00, IPA_INITIATOR_OSA = 0x01 };
enum { IPA_PROT_NONE = 0, IPA_PROT_IPV4 = 4, IPA_PROT_IPV6 = 6 };

enum {
    IPA_RC_SUCCESS = 0x0000,
    IPA_RC_NOTSUPP = 0x0001,
    IPA_RC_INVALID_FORMAT = 0x0006,
    IPA_RC_L2_DUP_MAC = 0x2005,
    IPA_RC_L2_ADDR_TABLE_FULL = 0x2006,
    IPA_RC_L2_GMAC_NOT_FOUND = 0x200b,
    IPA_RC_L2_MAC_NOT_AUTH_BY_ADP = 0x200d,
    IPA_RC_L2_MAC_NOT_FOUND = 0x2010,
    IPA_RC_L2_INVALID_VLAN_ID = 0x2015,
    IPA_RC_L2_DUP_VLAN_ID = 0x2016,
    IPA_RC_L2_VLAN_ID_NOT_FOUND = 0x2017,
    IPA_RC_DUPLICATE_IP_ADDRESS = 0xe005,
    IPA_RC_IP_ADDR_TABLE_FULL = 0xe006,
    IPA_RC_SETIP_NO_STARTLAN = 0xe008,
    IPA_RC_MC_ADDR_NOT_FOUND = 0xe00b,
    IPA_RC_UNSUPPORTED_SUBCMD = 0xe00e,
    IPA_RC_IP_ADDRESS_NOT_DEFINED = 0xe010,
    IPA_RC_INVALID_SETRTG_INDICATOR = 0xe012,
    IPA_RC_LAN_OFFLINE = 0xe080,
};

/* Assist bits (enum qeth_ipa_funcs). */
enum {
    IPA_ARP_PROCESSING = 0x00000001,
    IPA_INBOUND_CHECKSUM = 0x00000002,
    IPA_OUTBOUND_CHECKSUM = 0x00000004,
    IPA_FILTERING = 0x00000010,
    IPA_IPV6 = 0x00000020,
    IPA_MULTICASTING = 0x00000040,
    IPA_SETADAPTERPARMS = 0x00000400,
    IPA_PASSTHRU = 0x00001000,
    IPA_OUTBOUND_TSO = 0x00100000,
    IPA_INBOUND_CHECKSUM_V6 = 0x00400000,
    IPA_OUTBOUND_CHECKSUM_V6 = 0x00800000,
};
enum {
    IPA_CMD_ASS_START = 1,
    IPA_CMD_ASS_STOP = 2,
    IPA_CMD_ASS_CONFIGURE = 3,
    IPA_CMD_ASS_ENABLE = 4
};
enum {
    IPA_CMD_ASS_ARP_SET_NO_ENTRIES = 0x0003,
    IPA_CMD_ASS_ARP_ADD_ENTRY = 0x0005,
    IPA_CMD_ASS_ARP_REMOVE_ENTRY = 0x0006,
};

struct ipa_setassparms_hdr {
    uint8_t assist_no[4];
    uint8_t length[2]; /* 8 + the data's length */
    uint8_t command_code[2];
    uint8_t return_code[2];
    uint8_t number_of_replies;
    uint8_t seq_no;
};
_Static_assert(sizeof(struct ipa_setassparms_hdr) == 12, "setass hdr");
/* The data of the checksum and TSO assists (struct qeth_ipa_caps; TSO START
 * answers struct qeth_tso_start_data {mss, supported} in the same eight
 * bytes).  ENABLE of a checksum assist sends the wanted bits in `supported`
 * (flags_32bit), ENABLE of TSO in `enabled`. */
struct ipa_caps {
    uint8_t supported[4];
    uint8_t enabled[4];
};
_Static_assert(sizeof(struct ipa_caps) == 8, "ipa caps");
enum { /* enum qeth_ipa_checksum_bits */
       IPA_CHECKSUM_IP_HDR = 0x0002,
       IPA_CHECKSUM_UDP = 0x0008,
       IPA_CHECKSUM_TCP = 0x0010,
       IPA_CHECKSUM_LP2LP = 0x0020,
};
enum { IPA_LARGE_SEND_TCP = 0x0001 }; /* enum qeth_ipa_large_send_caps */

struct ipa_setadp_hdr {
    uint8_t supp_hw_cmds[4];
    uint8_t reserved1[4];
    uint8_t cmdlength[2];
    uint8_t reserved2[2];
    uint8_t command_code[4];
    uint8_t return_code[2];
    uint8_t used_total;
    uint8_t seq_no;
    uint8_t flags; /* QETH_SETADP_FLAGS_VIRTUAL_MAC in an ALTER_MAC READ reply */
    uint8_t reserved3[3];
};
_Static_assert(sizeof(struct ipa_setadp_hdr) == 24, "setadp hdr");
/* A layer-2 OSD guest takes the MAC ALTER_MAC READ answers only when the
 * adapter says it is a virtual one (qeth_setadpparms_change_macaddr_cb). */
enum { QETH_SETADP_FLAGS_VIRTUAL_MAC = 0x80 };
enum {
    IPA_SETADP_QUERY_COMMANDS_SUPPORTED = 0x00000001,
    IPA_SETADP_ALTER_MAC_ADDRESS = 0x00000002,
    IPA_SETADP_QUERY_CARD_INFO = 0x00000400,
};
struct ipa_query_cmds_supp {
    uint8_t no_lantypes_supp[4];
    uint8_t lan_type;
    uint8_t reserved1[3];
    uint8_t supported_cmds[4];
    uint8_t reserved2[8];
};
_Static_assert(sizeof(struct ipa_query_cmds_supp) == 20, "query cmds");
struct ipa_change_addr {
    uint8_t cmd[4]; /* 0: read the MAC */
    uint8_t addr_size[4];
    uint8_t no_macs[4];
    uint8_t addr[6];
};
_Static_assert(sizeof(struct ipa_change_addr) == 18, "change addr");
struct ipa_card_info {
    uint8_t card_type;
    uint8_t reserved1;
    uint8_t port_mode[2];
    uint8_t port_speed[4];
    uint8_t reserved2[4];
};
_Static_assert(sizeof(struct ipa_card_info) == 12, "card info");

struct ipa_setdelip4 {
    uint8_t ip_addr[4];
    uint8_t mask[4];
    uint8_t flags[4];
};
struct ipa_setdelip6 {
    uint8_t ip_addr[16];
    uint8_t mask[16];
    uint8_t flags[4];
};
struct ipa_setdelipm {
    uint8_t mac[6];
    uint8_t padding[2];
    uint8_t ip[16]; /* IPv4 in the last four bytes */
};
_Static_assert(sizeof(struct ipa_setdelip4) == 12, "setdelip4");
_Static_assert(sizeof(struct ipa_setdelip6) == 36, "setdelip6");
_Static_assert(sizeof(struct ipa_setdelipm) == 24, "setdelipm");

/* ---- QDIO control blocks (asm/qdio.h) ------------------------------------- */

#define QDIO_MAX_QUEUES        32
#define QDIO_MAX_BUFFERS_PER_Q 128
#define QDIO_MAX_ELEMENTS      16
#define QDIO_QETH_QFMT         0
#define QDIO_IQDIO_QFMT        2 /* HiperSockets (IQD) */

/* Queue description record: the data of ESTABLISH QUEUES. */
struct qdesfmt0 {
    uint8_t sliba[8];
    uint8_t sla[8];
    uint8_t slsba[8];
    uint8_t res[4];
    uint8_t keys[2]; /* SLIB key << 4 | SL key, SBAL key << 4 | SLSB key */
    uint8_t res2[2];
};
_Static_assert(sizeof(struct qdesfmt0) == 32, "qdes");
_Static_assert(offsetof(struct qdesfmt0, keys) == 0x1c, "qdes keys");

struct qdr {
    uint8_t qfmt;
    uint8_t pfmt;
    uint8_t res1;
    uint8_t ac;
    uint8_t res2;
    uint8_t iqdcnt;
    uint8_t res3;
    uint8_t oqdcnt;
    uint8_t res4;
    uint8_t iqdsz; /* in words */
    uint8_t res5;
    uint8_t oqdsz;
    uint8_t res6[36];
    uint8_t qiba[8];
    uint8_t res7[4];
    uint8_t qkey; /* high nibble */
    uint8_t res8[3];
    struct qdesfmt0 qdf0[126]; /* inputs, then outputs */
};
_Static_assert(offsetof(struct qdr, qiba) == 0x30, "qdr qiba");
_Static_assert(offsetof(struct qdr, qkey) == 0x3c, "qdr qkey");
_Static_assert(offsetof(struct qdr, qdf0) == 0x40, "qdr qdf0");
_Static_assert(sizeof(struct qdr) == 4096, "qdr");

struct qib {
    uint8_t qfmt;
    uint8_t pfmt;
    uint8_t rflags; /* 0x80 QEBSM */
    uint8_t ac;     /* 0x40 output PCI supported, set by the adapter */
    uint8_t res2[4];
    uint8_t isliba[8];
    uint8_t osliba[8];
    uint8_t res3[8];
    uint8_t ebcnam[8];
    uint8_t res4[88];
    uint8_t parm[128];
};
_Static_assert(sizeof(struct qib) == 256, "qib");
_Static_assert(offsetof(struct qib, ebcnam) == 0x20, "qib name");
enum { QIB_AC_OUTBOUND_PCI_SUPPORTED = 0x40 };

struct slib {
    uint8_t nsliba[8];
    uint8_t sla[8];
    uint8_t slsba[8];
    uint8_t res[1000];
    uint8_t slibe[QDIO_MAX_BUFFERS_PER_Q][8];
};
_Static_assert(sizeof(struct slib) == 2048, "slib");

struct sl {
    uint8_t sbal[QDIO_MAX_BUFFERS_PER_Q][8];
};
_Static_assert(sizeof(struct sl) == 1024, "sl");

/* Storage block address list entry (struct qdio_buffer_element). */
struct sbale {
    uint8_t eflags;
    uint8_t res1;
    uint8_t scount;
    uint8_t sflags;
    uint8_t length[4];
    uint8_t addr[8];
};
_Static_assert(sizeof(struct sbale) == 16, "sbale");
struct sbal {
    struct sbale element[QDIO_MAX_ELEMENTS];
};
_Static_assert(sizeof(struct sbal) == 256, "sbal");

enum {
    SBAL_EFLAGS_LAST_ENTRY = 0x40,
    SBAL_EFLAGS_CONTIGUOUS = 0x20,
    SBAL_EFLAGS_FIRST_FRAG = 0x04,
    SBAL_EFLAGS_MIDDLE_FRAG = 0x08,
    SBAL_EFLAGS_LAST_FRAG = 0x0c,
    SBAL_EFLAGS_TYPE_MASK = 0x0c,
};
enum { SBAL_SFLAGS0_PCI_REQ = 0x40 };

/* SLSB states, composed like drivers/s390/cio/qdio.h. */
enum {
    SLSB_OWNER_PROG = 0x80,
    SLSB_OWNER_CU = 0x40,
    SLSB_TYPE_INPUT = 0x00,
    SLSB_TYPE_OUTPUT = 0x20,
    SLSB_STATE_NOT_INIT = 0x00,
    SLSB_STATE_EMPTY = 0x01,
    SLSB_STATE_PRIMED = 0x02,
    SLSB_STATE_ACK = 0x01, /* input, program owned */
    SLSB_STATE_HALTED = 0x0e,
    SLSB_STATE_ERROR = 0x0f,
};
enum {
    SLSB_P_INPUT_NOT_INIT = SLSB_OWNER_PROG | SLSB_TYPE_INPUT | SLSB_STATE_NOT_INIT,   /* 0x80 */
    SLSB_P_INPUT_ACK = SLSB_OWNER_PROG | SLSB_TYPE_INPUT | SLSB_STATE_ACK,             /* 0x81 */
    SLSB_CU_INPUT_EMPTY = SLSB_OWNER_CU | SLSB_TYPE_INPUT | SLSB_STATE_EMPTY,          /* 0x41 */
    SLSB_P_INPUT_PRIMED = SLSB_OWNER_PROG | SLSB_TYPE_INPUT | SLSB_STATE_PRIMED,       /* 0x82 */
    SLSB_P_INPUT_HALTED = SLSB_OWNER_PROG | SLSB_TYPE_INPUT | SLSB_STATE_HALTED,       /* 0x8e */
    SLSB_P_INPUT_ERROR = SLSB_OWNER_PROG | SLSB_TYPE_INPUT | SLSB_STATE_ERROR,         /* 0x8f */
    SLSB_P_OUTPUT_NOT_INIT = SLSB_OWNER_PROG | SLSB_TYPE_OUTPUT | SLSB_STATE_NOT_INIT, /* 0xa0 */
    SLSB_P_OUTPUT_EMPTY = SLSB_OWNER_PROG | SLSB_TYPE_OUTPUT | SLSB_STATE_EMPTY,       /* 0xa1 */
    SLSB_CU_OUTPUT_PRIMED = SLSB_OWNER_CU | SLSB_TYPE_OUTPUT | SLSB_STATE_PRIMED,      /* 0x62 */
    SLSB_P_OUTPUT_HALTED = SLSB_OWNER_PROG | SLSB_TYPE_OUTPUT | SLSB_STATE_HALTED,     /* 0xae */
    SLSB_P_OUTPUT_ERROR = SLSB_OWNER_PROG | SLSB_TYPE_OUTPUT | SLSB_STATE_ERROR,       /* 0xaf */
};

/* Ring index helpers: buffers are numbered modulo 128. */
static inline unsigned qdio_next(unsigned i)
{
    return (i + 1) & (QDIO_MAX_BUFFERS_PER_Q - 1);
}
static inline unsigned qdio_add(unsigned i, unsigned n)
{
    return (i + n) & (QDIO_MAX_BUFFERS_PER_Q - 1);
}

/* SSQD response descriptor (Linux struct qdio_ssqd_desc). */
struct qdio_ssqd_desc {
    uint8_t flags; /* 0x80 QDIO capable, 0x40 valid */
    uint8_t res1;
    uint8_t sch[2];
    uint8_t qfmt;
    uint8_t parm;
    uint8_t qdioac1;
    uint8_t sch_class;
    uint8_t pcnt;
    uint8_t icnt;
    uint8_t res2;
    uint8_t ocnt;
    uint8_t res3;
    uint8_t mbccnt;
    uint8_t qdioac2[2];
    uint8_t sch_token[8];
    uint8_t mro;
    uint8_t mri;
    uint8_t qdioac3[2];
    uint8_t res4[3];
    uint8_t mmwc;
};
_Static_assert(sizeof(struct qdio_ssqd_desc) == 32, "ssqd");
enum {
    AC1_SIGA_INPUT_NEEDED = 0x40,
    AC1_SIGA_OUTPUT_NEEDED = 0x20,
    AC1_SIGA_SYNC_NEEDED = 0x10,
    AC1_AUTOMATIC_SYNC_ON_THININT = 0x08,
    AC1_AUTOMATIC_SYNC_ON_OUT_PCI = 0x04,
};

/* ---- the layer-3 header (qeth_core.h struct qeth_hdr_layer3) --------------- */

struct qeth_hdr_l3 {
    uint8_t id;    /* 0x01 layer 3 */
    uint8_t flags; /* cast in the low three bits, PASSTHRU, IPV6 */
    uint8_t inbound_checksum[2];
    uint8_t token[4];
    uint8_t length[2]; /* of the packet after the header */
    uint8_t vlan_prio;
    uint8_t ext_flags;
    uint8_t vlan_id[2];
    uint8_t frame_offset[2];
    uint8_t next_hop[16]; /* IPv4 in the last four bytes */
};
_Static_assert(sizeof(struct qeth_hdr_l3) == 32, "l3 hdr");
_Static_assert(offsetof(struct qeth_hdr_l3, length) == 8, "l3 length");
_Static_assert(offsetof(struct qeth_hdr_l3, next_hop) == 16, "l3 next hop");
enum {
    QETH_HEADER_TYPE_LAYER3 = 0x01,
    QETH_HEADER_TYPE_LAYER2 = 0x02,
    QETH_HEADER_TYPE_L3_TSO = 0x03,
    /* A layer-2 TSO frame (qeth_l2_fill_header): struct qeth_hdr_ext_tso
     * follows the header, as for QETH_HEADER_TYPE_L3_TSO. */
    QETH_HEADER_TYPE_L2_TSO = 0x06
};
/* ext_flags: the checksum requests of a datagram sent (Linux qeth_tx_csum),
 * and on input "checksums verified" (qeth_extract_skb reads TRANSP_REQ).
 * In layer 2 the same bits are the header's second flags byte (flags[1]). */
enum {
    QETH_HDR_EXT_CSUM_HDR_REQ = 0x10,
    QETH_HDR_EXT_CSUM_TRANSP_REQ = 0x20,
    QETH_HDR_EXT_UDP = 0x40,
};
/* What follows the layer-3 header of id QETH_HEADER_TYPE_L3_TSO, or the
 * layer-2 one of id QETH_HEADER_TYPE_L2_TSO (struct qeth_hdr_ext_tso,
 * qeth_fill_tso_ext): then the datagram (layer 2: the frame), whose IP and
 * TCP headers (dg_hdr_len bytes, an Ethernet header included for IPv6
 * passthrough and in layer 2) Linux puts in the element with the two
 * headers. */
struct qeth_hdr_ext_tso {
    uint8_t hdr_tot_len[2]; /* 32 */
    uint8_t imb_hdr_no;     /* 1 */
    uint8_t reserved;
    uint8_t hdr_type;    /* 1 */
    uint8_t hdr_version; /* 1 */
    uint8_t hdr_len[2];  /* 28 */
    uint8_t payload_len[4];
    uint8_t mss[2];
    uint8_t dg_hdr_len[2];
    uint8_t padding[16];
};
_Static_assert(sizeof(struct qeth_hdr_ext_tso) == 32, "tso ext");
_Static_assert(offsetof(struct qeth_hdr_ext_tso, mss) == 12, "tso mss");
enum {
    QETH_CAST_MASK = 0x07,
    QETH_CAST_NOCAST = 0,
    QETH_CAST_MULTICAST = 4,
    QETH_CAST_BROADCAST = 5,
    QETH_CAST_UNICAST = 6,
    QETH_CAST_ANYCAST = 7,
    QETH_HDR_PASSTHRU = 0x10,
    QETH_HDR_IPV6 = 0x80,
};
#define QETH_HDR_LEN 32

/* ---- the layer-2 header (qeth_core.h struct qeth_hdr_layer2) --------------- */

struct qeth_hdr_l2 {
    uint8_t id;       /* 0x02 layer 2 */
    uint8_t flags[3]; /* [1]: checksum flags; [2]: QETH_L2_* cast and VLAN */
    uint8_t port_no;
    uint8_t hdr_length;
    uint8_t pkt_length[2]; /* of the frame after the header */
    uint8_t seq_no[2];
    uint8_t vlan_id[2]; /* the frame's 802.1Q TCI, with QETH_L2_VLAN */
    uint8_t reserved[20];
};
_Static_assert(sizeof(struct qeth_hdr_l2) == QETH_HDR_LEN, "l2 hdr");
_Static_assert(offsetof(struct qeth_hdr_l2, pkt_length) == 6, "l2 length");
enum {
    QETH_L2_MULTICAST = 0x01,
    QETH_L2_BROADCAST = 0x02,
    QETH_L2_UNICAST = 0x04,
    QETH_L2_VLAN = 0x10
};

/* The layer-2 IPA commands' data (qeth_core_mpc.h): SETVMAC, DELVMAC,
 * SETGMAC, DELGMAC; SETVLAN, DELVLAN. */
struct ipa_setdelmac {
    uint8_t mac_length[4]; /* 6 */
    uint8_t mac[6];
};
struct ipa_setdelvlan {
    uint8_t vlan_id[2];
};

/* An IDX TERMINATE on the read channel (qeth_check_idx_response): byte 2
 * has the TERMINATE bits, byte 4 the cause; BAD_TRANSPORT_VM is what z/VM
 * gives a guest of the layer its LAN does not carry. */
enum { IDX_TERMINATE = 0xc0, IDX_TERM_BAD_TRANSPORT = 0x41, IDX_TERM_BAD_TRANSPORT_VM = 0xf6 };

#endif
