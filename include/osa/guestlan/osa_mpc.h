/*
 * MPC framing shared by the device model and the simulated guest: a control
 * block starts with a transport header (TH), a request/response header (RRH)
 * and a PDU header (PH), then the PDU, which is a program unit kind header
 * (PUK) and its segments for the CM/ULP handshake, or an IPA command.  The
 * layouts are in osa_wire.h; here are the two steps every block of either
 * side goes through: start the headers in the layout of Linux's templates
 * (qeth_core_mpc.c), and, once the block is complete, fix up its lengths in
 * one place (osa_mpc_finalize), as Linux's qeth_mpc_finalize_cmd does for
 * the blocks it sends.  No state, no locks; internal to src/ (the device
 * model's osa.c and ipa.c, and src/simguest).
 */
#ifndef GLAN_OSA_MPC_H
#define GLAN_OSA_MPC_H

#include <stdint.h>

#include "guestlan/osa_wire.h"

/* Start a block at b: zero its first MPC_PDU_OFFSET bytes and write TH,
 * RRH and PH as Linux's templates lay them out (RRH at 0x14, PH at 0x38,
 * the PDU at MPC_PDU_OFFSET): transport unit `unit` (MPC_TH_UNIT_*), RRH
 * type and protocol, the receiver's token.  Lengths and sequence numbers
 * are left zero: the sender numbers its blocks, osa_mpc_finalize() does
 * the lengths. */
void osa_mpc_start(uint8_t *b, uint16_t unit, uint8_t rrh_type, uint8_t proto,
                   const uint8_t token[4]);

/* Write a PUK header at b + off (what: 0x41, 0x43 for DM ACT; type:
 * PUK_*); its total is osa_mpc_finalize()'s.  Returns the offset of the
 * first segment after it. */
uint32_t osa_mpc_puk(uint8_t *b, uint32_t off, uint8_t what, uint8_t type);

/*
 * The block at b is complete and total bytes long: write every length it
 * carries.  TH: the block's length.  RRH: the length of its first data area
 * (lenfda, and lenalda on three bytes).  PH: the length of its data.  All
 * three count the PDU, from the PH's data offset to the end.  And for a
 * CM/ULP block (any RRH type but IPA), the PUK at the PDU's start: the
 * segments after its 12-byte header (CM ENABLE from Linux: 0x17 = 0x0b +
 * 0x0c).  The headers are found through the offsets in the block (TH ->
 * RRH -> PH -> PDU), so a reply built on a copy of a request laid out
 * otherwise gets its lengths where the sender put them; the caller has
 * checked (or written) those offsets.  Every offset is read before any
 * length is written, since a tightly packed block may overlap them.
 */
void osa_mpc_finalize(uint8_t *b, uint32_t total);

#endif
