/*
 * `glan bench`, the QDIO path ("qdio"): guest A's output SBALs to guest B's
 * input SBALs through the OSA device model and the base, two simulated
 * Linux qeth guests (src/simguest/) brought up as Linux does: one datagram
 * per output buffer, B's input taken after each SIGA-w (one interrupt
 * each), all in this thread.  The same between two layer-2 guests on an
 * ETHERNET LAN ("qdio-l2"), and between two HiperSockets guests on a HIPERS
 * LAN ("qdio-hipers").
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "dgram.h"
#include "guestlan/simguest.h"
#include "tooltime.h"

/* What guest B's driver takes from its input SBALs in one look. */
static struct sg_rx qdio_rx[8];

/* Guest A's output SBALs to guest B's input SBALs through the device model
 * and the base: one datagram per output buffer, B's input taken after each
 * SIGA-w (one interrupt each), all in this thread. */
static int run(const struct opts *o, uint32_t size, struct results *rs, int layer2, int hipers)
{
    char err[256] = "";
    struct glan_lan_config cfg = {.name = "BENCH"};
    if (layer2)
        cfg.transport = GLAN_TRANSPORT_ETHERNET;
    if (hipers)
        cfg.type = GLAN_LAN_HIPERS;
    glan_lan_config_defaults(&cfg);
    struct glan_lan *lan = glan_lan_create(&cfg, err, sizeof err);
    if (!lan) {
        fprintf(stderr, "glan bench: cannot create a LAN: %s\n", err);
        return -1;
    }
    struct simguest *a = glan_sg_create(lan, "0600", 0x0600);
    struct simguest *b = glan_sg_create(lan, "0700", 0x0700);
    static const char *const aa[] = {"10.0.0.1", NULL}, *const ba[] = {"10.0.0.2", NULL};
    int rc = -1;
    if (!a || !b ||
        (layer2 ? glan_sg_bringup_l2(a) || glan_sg_bringup_l2(b)
                : glan_sg_bringup(a, aa) < 0 || glan_sg_bringup(b, ba) < 0)) {
        fprintf(stderr, "glan bench: the simulated guests' bring-up failed\n");
        goto out;
    }
    static uint8_t frame[14 + MAX_DGRAM];
    uint8_t *pkt = frame + 14;
    dgram_udp4(pkt, size, IP4(10, 0, 0, 1), IP4(10, 0, 0, 2));
    struct sg_pkt p = {.flags = glan_sg_l3_flags(pkt, size), .data = pkt, .len = size};
    if (layer2) {
        /* from A's MAC to B's, what qeth_l2 hands the card */
        memcpy(frame, b->mac, 6);
        memcpy(frame + 6, a->mac, 6);
        frame[12] = 0x08;
        frame[13] = 0x00;
        p.data = frame;
        p.len = size + 14;
    }
    uint64_t bad = 0, got = 0;
    for (int i = 0; i < WARMUP; i++) {
        bad += glan_sg_send(a, &p, 1, 0) != SG_SENT;
        got += (uint64_t)glan_sg_recv(b, qdio_rx, 8);
    }
    double t0 = now_s(), deadline = t0 + o->seconds, t = t0, c0 = cpu_s();
    uint64_t n = 0, warm = got;
    while (n < o->count) {
        uint64_t batch = o->count - n < 256 ? o->count - n : 256;
        for (uint64_t i = 0; i < batch; i++) {
            bad += glan_sg_send(a, &p, 1, 0) != SG_SENT;
            got += (uint64_t)glan_sg_recv(b, qdio_rx, 8);
        }
        n += batch;
        t = now_s();
        if (t >= deadline)
            break;
    }
    double cpu = cpu_s() - c0;
    if (bad || got != WARMUP + n || qdio_rx[0].len != p.len) {
        fprintf(stderr,
                "glan bench: qdio lost datagrams at %u bytes: sent %llu, failed buffers %llu, "
                "received %llu\n",
                size, (unsigned long long)(n + WARMUP), (unsigned long long)bad,
                (unsigned long long)got);
        goto out;
    }
    bench_add_result(rs,
                     layer2   ? "qdio-l2"
                     : hipers ? "qdio-hipers"
                              : "qdio",
                     size, n, got - warm, t - t0, cpu);
    rc = 0;
out:
    glan_sg_destroy(a);
    glan_sg_destroy(b);
    glan_lan_destroy(lan);
    return rc;
}

int bench_qdio(const struct opts *o, uint32_t size, struct results *rs)
{
    return run(o, size, rs, 0, 0);
}

int bench_qdio_l2(const struct opts *o, uint32_t size, struct results *rs)
{
    return run(o, size, rs, 1, 0);
}

int bench_qdio_hipers(const struct opts *o, uint32_t size, struct results *rs)
{
    return run(o, size, rs, 0, 1);
}
