/*
 * glan bench: measures how fast the base forwards datagrams from one guest
 * port to another (the sender's copy into base storage, the registry lookup,
 * and the receiver's copy into its input, done here by a deliver callback that
 * copies into a buffer as a device would), and compares it with the path
 * Hercules users have today: two TUN devices with the kernel routing between
 * them.  The TUN path runs in a child process inside a network namespace of
 * its own, so its devices, addresses and routes never touch the host's
 * network and vanish with the child however it ends.
 *
 * The "qdio" row is the whole guest-to-guest path of a real guest: a
 * simulated Linux qeth guest (src/simguest/) puts each datagram in an output
 * SBAL and issues SIGA-w; the OSA device model walks the buffer and hands the
 * datagram to the base, which delivers it in the same thread into the second
 * guest's input SBALs, from which that guest takes it (and returns the buffer
 * with SIGA-r), one datagram per buffer and per interrupt.
 *
 * Sizes are whole IPv4 datagrams (header included): 64, 1472 and 8972 bytes.
 * Every measurement is bounded by --seconds and --count.  This file holds the
 * options and the runs in order; bench.h lists the files that measure.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "cmds.h"

static const uint32_t default_sizes[NSIZES] = {64, 1472, 8972};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: glan bench [--json] [--seconds S] [--count N|small] [--size N] [--xthread]\n"
            "                  [--xproc] [--qdio] [--layer2] [--hipers] [--no-tun]\n"
            "\n"
            "Measures the base's guest-to-guest forwarding rate (copy into base storage,\n"
            "registry lookup, copy into the peer's input) for 64, 1472 and 8972-byte IPv4\n"
            "datagrams; the same between two simulated Linux guests through their QDIO\n"
            "SBALs and the OSA device model (path \"qdio\"); and, when run as root, the\n"
            "kernel path between two TUN devices in a network namespace the bench creates\n"
            "and removes itself.\n"
            "\n"
            "  --json       print {\"results\":[{\"path\":\"base\"|\"tun-kernel\",\"size\":N,\n"
            "               \"pps\":X,\"gbps\":Y}, ...]} and nothing else on stdout\n"
            "  --seconds S  bound each measurement to S seconds (default 1)\n"
            "  --count N    bound each measurement to N datagrams ('small': %d)\n"
            "  --size N     measure N-byte datagrams only (28..%d)\n"
            "  --xthread    also measure two sender threads sending to each other\n"
            "               (path \"base-xthread\"; always shown in the table)\n"
            "  --xproc      also put the cross-process rows in the JSON (path\n"
            "               \"base-xproc\": sender and receiver in two processes on a LAN\n"
            "               in shared memory; always shown in the table)\n"
            "  --qdio       also put the QDIO rows in the JSON (path \"qdio\": guest A's\n"
            "               output SBALs to guest B's input SBALs through the OSA device\n"
            "               model and the base; always shown in the table)\n"
            "  --layer2     also put the layer-2 QDIO rows in the JSON (path \"qdio-l2\":\n"
            "               the same between two layer-2 guests on a LAN of transport\n"
            "               ETHERNET, each datagram in a 14-byte longer Ethernet frame;\n"
            "               always shown in the table)\n"
            "  --hipers     also put the HiperSockets rows in the JSON (path \"qdio-hipers\":\n"
            "               the same between two HiperSockets guests on a LAN of type\n"
            "               HIPERS; always shown in the table)\n"
            "  --no-tun     skip the TUN kernel path\n"
            "\n"
            "Sizes are whole IPv4 datagrams, header included; gbps counts those bytes.\n"
            "Exit status: 0 done, 1 a measurement failed, 2 bad usage.\n",
            COUNT_SMALL, MAX_DGRAM);
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 1;
        } else if (!strcmp(a, "--json")) {
            o->json = 1;
        } else if (!strcmp(a, "--xthread")) {
            o->xthread = 1;
        } else if (!strcmp(a, "--xproc")) {
            o->xproc = 1;
        } else if (!strcmp(a, "--qdio")) {
            o->qdio = 1;
        } else if (!strcmp(a, "--layer2")) {
            o->layer2 = 1;
        } else if (!strcmp(a, "--hipers")) {
            o->hipers = 1;
        } else if (!strcmp(a, "--no-tun")) {
            o->no_tun = 1;
        } else if (!strcmp(a, "--size")) {
            char *end;
            unsigned long n = i + 1 < argc ? strtoul(argv[i + 1], &end, 10) : 0;
            if (i + 1 >= argc || end == argv[i + 1] || *end || n < 28 || n > MAX_DGRAM) {
                fprintf(stderr, "glan bench: --size wants 28..%d bytes\n", MAX_DGRAM);
                return -1;
            }
            i++;
            o->sizes[0] = (uint32_t)n;
            o->nsizes = 1;
        } else if (!strcmp(a, "--seconds") || !strcmp(a, "--count")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "glan bench: %s needs a value\n", a);
                return -1;
            }
            const char *v = argv[++i];
            char *end;
            if (!strcmp(a, "--seconds")) {
                double s = strtod(v, &end);
                if (end == v || *end || !(s > 0 && s <= 3600)) {
                    fprintf(stderr, "glan bench: --seconds wants 0 < S <= 3600, not '%s'\n", v);
                    return -1;
                }
                o->seconds = s;
            } else if (!strcmp(v, "small")) {
                o->count = COUNT_SMALL;
            } else {
                errno = 0;
                unsigned long long n = strtoull(v, &end, 10);
                if (end == v || *end || errno || n == 0 || v[0] == '-') {
                    fprintf(stderr,
                            "glan bench: --count wants a positive number or 'small', "
                            "not '%s'\n",
                            v);
                    return -1;
                }
                o->count = n;
            }
        } else {
            fprintf(stderr, "glan bench: unknown option '%s' (try 'glan bench --help')\n", a);
            return -1;
        }
    }
    return 0;
}

int cmd_bench(int argc, char **argv)
{
    struct opts o = {.seconds = 1.0, .count = UINT64_MAX, .nsizes = NSIZES};
    memcpy(o.sizes, default_sizes, sizeof default_sizes);
    int p = parse_opts(argc, argv, &o);
    if (p != 0)
        return p > 0 ? 0 : 2;
    /* A reader that goes away must not kill us before the TUN child is
     * reaped. */
    signal(SIGPIPE, SIG_IGN);
    static struct results rs;
    int failed = 0;
    for (size_t i = 0; i < o.nsizes; i++)
        if (bench_base(&o, o.sizes[i], &rs) < 0)
            failed = 1;
    /* The table always shows the two-thread rows; JSON only when asked, so
     * that its rows stay "base" and "tun-kernel" by default. */
    for (size_t i = 0; i < o.nsizes && !failed && (o.xthread || !o.json); i++)
        if (bench_base_xthread(&o, o.sizes[i], &rs) < 0)
            failed = 1;
    for (size_t i = 0; i < o.nsizes && !failed && (o.xproc || !o.json); i++)
        if (bench_base_xproc(&o, o.sizes[i], &rs) < 0)
            failed = 1;
    for (size_t i = 0; i < o.nsizes && !failed && (o.qdio || !o.json); i++)
        if (bench_qdio(&o, o.sizes[i], &rs) < 0)
            failed = 1;
    for (size_t i = 0; i < o.nsizes && !failed && (o.layer2 || !o.json); i++)
        if (bench_qdio_l2(&o, o.sizes[i], &rs) < 0)
            failed = 1;
    for (size_t i = 0; i < o.nsizes && !failed && (o.hipers || !o.json); i++)
        if (bench_qdio_hipers(&o, o.sizes[i], &rs) < 0)
            failed = 1;
    if (!o.no_tun && bench_tun(&o, &rs) < 0)
        failed = 1;
    if (o.json)
        bench_print_json(&rs);
    else
        bench_print_table(&rs, &o);
    return failed;
}
