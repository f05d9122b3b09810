/*
 * The subcommands of the `glan` tool.  Each lives in its own files and
 * returns the process exit status: 0 success, 1 the work failed, 2 bad
 * usage or input.  Private to the tool, hence no glan_ prefix.
 */
#ifndef GLAN_TOOLS_CMDS_H
#define GLAN_TOOLS_CMDS_H

int cmd_replay(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_simlan(int argc, char **argv);

#endif
