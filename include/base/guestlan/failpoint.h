/*
 * Kill points: named instants in the base where a test can have its own
 * process killed (SIGKILL), to prove that a LAN shared with other processes
 * survives a death at exactly that instant.  Every name is listed by
 * glan_failpoint_name; docs/design.md "Crash safety" says what each point is
 * between.  Unarmed, a kill point costs one relaxed load.  For tests only.
 */
#ifndef GUESTLAN_FAILPOINT_H
#define GUESTLAN_FAILPOINT_H

#ifdef __cplusplus
extern "C" {
#endif

/* How many kill points there are, and the name of point i (NULL past the
 * end). */
int glan_failpoint_count(void);
const char *glan_failpoint_name(int i);
/* Kill this process (SIGKILL) the (skip + 1)th time any of its threads
 * reaches point name.  0, or -1 when there is no such point. */
int glan_failpoint_arm(const char *name, unsigned skip);
void glan_failpoint_disarm(void);
/* on nonzero: this process's base threads stop looking for dead processes
 * every 100 ms (glan_lan_reap and the ctl mutex still recover them), so
 * that a test can choose which process recovers whom. */
void glan_failpoint_no_autoreap(int on);

#ifdef __cplusplus
}
#endif

#endif
