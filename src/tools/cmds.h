/*
 * The subcommands of the `glan` tool.  Each lives in its own file and returns
 * the process exit status: 0 success, 1 the work failed, 2 bad usage or input.
 */
#ifndef GLAN_TOOLS_CMDS_H
#define GLAN_TOOLS_CMDS_H

int glan_cmd_replay(int argc, char **argv);
int glan_cmd_bench(int argc, char **argv);
int glan_cmd_demo(int argc, char **argv);

#endif
