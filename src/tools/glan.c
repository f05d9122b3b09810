/*
 * glan: the guestlan command-line tool.  It uses the public API like any
 * user would; each subcommand has files of its own (cmds.h).
 */
#include <stdio.h>
#include <string.h>

#include "cmds.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"replay", cmd_replay, "replay pcap traffic through a LAN, record what each port gets"},
    {"bench", cmd_bench, "measure the base's forwarding rate (and the kernel TUN path)"},
    {"demo", cmd_demo, "two simulated qeth guests on a LAN ping each other (and a TUN host)"},
    {"simlan", cmd_simlan, "one host's LAN of simulated qeth guests and an uplink (multihost)"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: glan COMMAND [ARGS...]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'glan COMMAND --help' describes each.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("glan (guestlan) 0.1.0\n");
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "glan: unknown command '%s' (try 'glan --help')\n", argv[1]);
    return 2;
}
