/*
 * libFuzzer target: the command line of `glan replay` (src/tools/
 * replay_args.c, and replay_uplink.c's "tun:IFNAME,mtu=N" into the uplink
 * spec parser), built with the tool's own files.  The input is split into
 * words at NULs and newlines, each copied to a block of exactly its size;
 * argv[0] is "replay" as glan.c passes it.
 *
 * Two ways out of the parser are exits by design (docs/replay.md): --help,
 * and an option that needs a value given as the last word; such inputs are
 * not run.  Checked: an accepted command line has a port, a send and an
 * output directory, every port name is valid and unique, every send names
 * a port (or the uplink, with --uplink); everything is freed again
 * (LeakSanitizer).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAXW = 32 };

static int exits(char **argv, int argc)
{
    static const char *const valued[] = {"--port", "--group", "--send",
                                         "--out",  "--vlan",  "--transport"};
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return 1;
    /* opt_value exits when "--opt VALUE" has no VALUE: the option is the
     * last word (skipped even where it would be some option's value). */
    for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++)
        if (!strcmp(argv[argc - 1], valued[k]))
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *argv[MAXW + 1];
    int argc = 0;
    argv[argc++] = strdup("replay");
    for (size_t i = 0; i < size && argc < MAXW;) {
        if (data[i] == '\n' || data[i] == 0) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < size && data[j] != '\n' && data[j] != 0)
            j++;
        argv[argc] = malloc(j - i + 1);
        if (!argv[argc])
            __builtin_trap();
        memcpy(argv[argc], data + i, j - i);
        argv[argc++][j - i] = 0;
        i = j;
    }
    argv[argc] = NULL;

    if (!exits(argv, argc)) {
        struct replay rp = {.path = &replay_plain_path};
        if (replay_parse_args(&rp, argc, argv) == 0) {
            if (!rp.nports || !rp.nsends || !rp.out)
                __builtin_trap();
            for (size_t i = 0; i < rp.nports; i++) {
                size_t n = strlen(rp.ports[i].name);
                if (n < 1 || n > 31 || !strcmp(rp.ports[i].name, "uplink") ||
                    replay_find_port(&rp, rp.ports[i].name, n) != (int)i)
                    __builtin_trap();
            }
            for (size_t i = 0; i < rp.nsends; i++) {
                int s = rp.sends[i].src;
                if (s < -1 || s >= (int)rp.nports || (s == -1 && !rp.uplink) ||
                    !rp.sends[i].file[0])
                    __builtin_trap();
            }
            if (rp.uplink_dev && replay_parse_real_uplink(&rp) == 0 && !rp.spec.release)
                __builtin_trap();
        }
        replay_free_args(&rp);
    }
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    return 0;
}
