/* glan replay: placeholder until the subcommand lands. */
#include <stdio.h>

#include "cmds.h"

int glan_cmd_replay(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "glan replay: not built yet\n");
    return 2;
}
