/*
 * What the files of the simulated guest share besides simguest.h: the
 * IPA header of a reply control.c took (simguest.c reads CREATE_ADDR's
 * answer through it).  Internal to src/simguest.
 */
#ifndef GLAN_SG_INT_H
#define GLAN_SG_INT_H

#include <stdint.h>

#include "guestlan/osa_wire.h"

/* The IPA header of the reply block r (rl bytes, as glan_sg_ipa copied
 * it), found as Linux's PDU_ENCAPSULATION() finds it; NULL when r is too
 * short for the offsets it claims. */
const struct ipa_hdr *sg_reply_ipa(const uint8_t *r, uint32_t rl);

#endif
