/*
 * glan-osa-bench: datagrams per second from one simulated guest's output
 * SBALs through the OSA device model and the base into a second guest's
 * input SBALs, all in one thread (the sender's, as in the real thing).
 * Usage: glan-osa-bench [size [count [per-buffer]]].  A measurement, not a
 * test; `glan bench` is where a QDIO row belongs once it links this guest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "guestlan/osa_wire.h"
#include "guestlan/simguest.h"

static struct sg_rx rx[64];

int main(int argc, char **argv)
{
    size_t size = argc > 1 ? strtoul(argv[1], NULL, 0) : 64;
    long count = argc > 2 ? strtol(argv[2], NULL, 0) : 1000000;
    unsigned per = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 0) : 1;
    if (size < 28 || size > 9000 || per < 1 || per > 8) {
        fprintf(stderr, "usage: glan-osa-bench [28..9000 [count [1..8]]]\n");
        return 2;
    }
    struct glan_lan_config cfg = {.name = "bench", .queue_len = 4096};
    char err[128];
    struct glan_lan *lan = glan_lan_create(&cfg, err, sizeof err);
    struct simguest *a = glan_sg_create(lan, "0600", 0x0600),
                    *b = glan_sg_create(lan, "0700", 0x0700);
    static const char *const aa[] = {"10.1.0.1", NULL}, *const ba[] = {"10.1.0.2", NULL};
    if (!a || !b || glan_sg_bringup(a, aa) || glan_sg_bringup(b, ba)) {
        fprintf(stderr, "bring-up failed\n");
        return 1;
    }
    static uint8_t d[9100];
    size_t n = glan_sg_udp4(d, "10.1.0.1", "10.1.0.2", size - 28, 0x55);
    struct sg_pkt p[8];
    for (unsigned i = 0; i < per; i++)
        p[i] = (struct sg_pkt){.flags = QETH_CAST_UNICAST, .data = d, .len = (uint32_t)n};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long sent = 0, got = 0;
    while (sent < count) {
        if (glan_sg_send(a, p, per, 0) != SLSB_P_OUTPUT_EMPTY) {
            fprintf(stderr, "send failed\n");
            return 1;
        }
        sent += per;
        got += glan_sg_recv(b, rx, 64);
    }
    got += glan_sg_recv(b, rx, 64);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("qdio->qdio size=%zu per_buffer=%u sent=%ld received=%ld %.0f datagrams/s %.1f MB/s\n",
           size, per, sent, got, (double)got / s, (double)got * (double)size / s / 1e6);
    glan_sg_destroy(a);
    glan_sg_destroy(b);
    glan_lan_destroy(lan);
    return got == sent ? 0 : 1;
}
