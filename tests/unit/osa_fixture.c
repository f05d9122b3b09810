/*
 * The OSA suites' shared set-up (osa_fixture.h), driven by the simulated
 * guest (src/simguest).
 */
#include <check.h>

#include "guestlan/osa.h"
#include "guestlan/osa_wire.h"
#include "osa_fixture.h"

struct glan_lan *osa_fixture_lan(const char *name)
{
    struct glan_lan_config cfg = {.name = name};
    char err[128];
    struct glan_lan *lan = glan_lan_create(&cfg, err, sizeof err);
    ck_assert_msg(lan != NULL, "%s", err);
    return lan;
}

void osa_fixture_pair(struct glan_lan *lan, const char *const *aa, const char *const *ba,
                      struct simguest **a, struct simguest **b)
{
    *a = glan_sg_create(lan, "0600", 0x0600);
    *b = glan_sg_create(lan, "0700", 0x0700);
    ck_assert_int_eq(glan_sg_bringup(*a, aa), 0);
    ck_assert_int_eq(glan_sg_bringup(*b, ba), 0);
}

struct simguest *osa_fixture_half_up(struct glan_lan *lan, const char *name, uint16_t devnum)
{
    struct simguest *g = glan_sg_create(lan, name, devnum);
    ck_assert_int_eq(glan_sg_idx_activate(g, g->rd, 1), 0);
    ck_assert_int_eq(glan_sg_idx_activate(g, g->wr, 0), 0);
    glan_sg_start_read(g);
    ck_assert_int_eq(glan_sg_cm_enable(g), 0);
    ck_assert_int_eq(glan_sg_cm_setup(g), 0);
    ck_assert_int_eq(glan_sg_ulp_enable(g, MPC_PROT_L3), 0);
    ck_assert_int_eq(glan_sg_ulp_setup(g), 0);
    return g;
}
