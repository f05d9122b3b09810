/*
 * Declarations shared by hdtglan's Hercules-side files (hdtglan.c, cmd.c).
 * Only files that already include Hercules' headers include this one; the
 * Hercules-free parts (landir, seam) have their own headers.
 */
#ifndef GLAN_HERCULES_GLANMOD_H
#define GLAN_HERCULES_GLANMOD_H

#include "landir.h"
#include "seam.h"

/* The `glan` command and `help glan`, hooked in front of Hercules' own
 * command table (SYSTEMCMD in htypes.h).  Returns HERRINVCMD for commands
 * that are not ours, after offering them to the next hook. */
int glan_herc_system_command(int argc, char *argv[], char *cmdline);

#endif
