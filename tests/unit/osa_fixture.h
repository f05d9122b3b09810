/*
 * What the OSA suites (test_osa_bringup.c, test_osa_data.c,
 * test_osa_hostile.c) set up the same way: a LAN, two simulated guests
 * brought up on it, and a guest taken as far as ULP SETUP.  Each step is a
 * Check assertion, so a failure ends the test that called it.
 */
#ifndef GLAN_TESTS_OSA_FIXTURE_H
#define GLAN_TESTS_OSA_FIXTURE_H

#include <stdint.h>

#include "guestlan/base.h"
#include "guestlan/simguest.h"

/* A LAN named name with default sizes. */
struct glan_lan *osa_fixture_lan(const char *name);

/* Guest *a ("0600", devices 0600-0602) and guest *b ("0700", 0700-0702) on
 * lan, each brought up as Linux does with its addresses (NULL-terminated
 * lists of text addresses). */
void osa_fixture_pair(struct glan_lan *lan, const char *const *aa, const char *const *ba,
                      struct simguest **a, struct simguest **b);

/* A guest named name (devices devnum..devnum+2) up to ULP SETUP: IDX on
 * read and write, the permanent READ, the MPC handshake.  What comes next,
 * ESTABLISH QUEUES or IPA, is the caller's. */
struct simguest *osa_fixture_half_up(struct glan_lan *lan, const char *name, uint16_t devnum);

#endif
