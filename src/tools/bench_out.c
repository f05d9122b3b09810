/*
 * The results of `glan bench`: each measurement's row, then either the table
 * (with the CPU time and the ratios to the kernel path) or the one JSON line
 * of --json, written with the tool's JSON writer: {"results":[{"path":...,
 * "size":N,"pps":X,"gbps":Y},...]} (tests/uplink/check_bench_json.py).
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "json.h"

void bench_add_result(struct results *rs, const char *path, uint32_t size, uint64_t sent,
                      uint64_t received, double secs, double cpu_secs)
{
    if (rs->n >= sizeof rs->r / sizeof rs->r[0])
        return;
    struct result *r = &rs->r[rs->n++];
    r->path = path;
    r->size = size;
    r->sent = sent;
    r->received = received;
    r->secs = secs;
    r->cpu_secs = cpu_secs;
    r->pps = secs > 0 ? (double)received / secs : 0;
    r->gbps = r->pps * size * 8 / 1e9;
}

void bench_print_json(const struct results *rs)
{
    struct json j;

    json_init(&j, stdout, JSON_COMPACT);
    json_object(&j, NULL, JSON_INLINE);
    json_array(&j, "results", JSON_INLINE);
    for (size_t i = 0; i < rs->n; i++) {
        const struct result *r = &rs->r[i];
        json_object(&j, NULL, JSON_INLINE);
        json_str(&j, "path", r->path);
        json_u64(&j, "size", r->size);
        json_fixed(&j, "pps", r->pps, 1);
        json_fixed(&j, "gbps", r->gbps, 4);
        json_end(&j);
    }
    json_end(&j);
    json_end(&j);
    putchar('\n');
}

static const struct result *find(const struct results *rs, const char *path, uint32_t size)
{
    for (size_t i = 0; i < rs->n; i++)
        if (!strcmp(rs->r[i].path, path) && rs->r[i].size == size)
            return &rs->r[i];
    return NULL;
}

void bench_print_table(const struct results *rs, const struct opts *o)
{
    printf("%-13s %6s %14s %10s %12s %8s %8s %14s\n", "path", "size", "datagrams/s", "Gbit/s",
           "datagrams", "seconds", "CPU s", "per CPU-s");
    for (size_t i = 0; i < rs->n; i++) {
        const struct result *r = &rs->r[i];
        printf("%-13s %6u %14.0f %10.3f %12llu %8.3f %8.3f %14.0f\n", r->path, r->size, r->pps,
               r->gbps, (unsigned long long)r->received, r->secs, r->cpu_secs,
               r->cpu_secs > 0 ? (double)r->received / r->cpu_secs : 0);
    }
    /* Two ratios: per wall-clock second (what the goals of issues 2 and 6
     * ask), and per CPU-second (what is left when other work shares the
     * CPUs); for the base in one process and across two, and for the whole
     * QDIO path between two guests (issue 3). */
    static const char *const paths[] = {"base", "base-xproc", "qdio"};
    int first = 1;
    for (int pi = 0; pi < 3; pi++)
        for (int cpu = 0; cpu < 2; cpu++) {
            int header = 0;
            for (size_t i = 0; i < o->nsizes; i++) {
                const struct result *b = find(rs, paths[pi], o->sizes[i]);
                const struct result *t = find(rs, "tun-kernel", o->sizes[i]);
                if (!b || !t || t->received == 0 || t->secs <= 0 || t->cpu_secs <= 0 ||
                    b->cpu_secs <= 0)
                    continue;
                double rb = (double)b->received / (cpu ? b->cpu_secs : b->secs);
                double rt = (double)t->received / (cpu ? t->cpu_secs : t->secs);
                if (!header++)
                    printf("%s%s / tun-kernel, datagrams per %s:", first ? "\n" : "", paths[pi],
                           cpu ? "CPU-second" : "second");
                first = 0;
                printf("  %u B: %.1fx", o->sizes[i], rb / rt);
            }
            if (header)
                printf("\n");
        }
}
