/* glan bench: placeholder until the subcommand lands. */
#include <stdio.h>

#include "cmds.h"

int glan_cmd_bench(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "glan bench: not built yet\n");
    return 2;
}
