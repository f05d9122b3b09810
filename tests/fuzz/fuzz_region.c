/*
 * libFuzzer target: the base (src/base) against a region that somebody
 * else writes.  In a shared LAN every process can write every byte of the
 * region, so whatever the base reads from it is untrusted: slot numbers in
 * wait-queue cells and drainers' cur words, buffer lengths and sources in
 * buffer headers, redo records, caches and ledgers of journals, the free
 * stack, pins, drain words, the process table, the uplink index...  The base
 * checks what it reads, counts bad values in glan_lan_stats().region_errors
 * and refuses or repairs them; this target holds it to that.
 *
 * Each input makes a private LAN (8 ports, 64 buffers of 576 bytes, 8 of
 * 1024 and 4 of 2048, queues of 8), attaches three guests (each an address, two of them a group)
 * and an uplink, then runs the input as steps: an operation of the API (sends of every cast between
 * the ports, tx_begin with commit or abort, batches, kicks, receivers that refuse for a while,
 * detach and reattach, stats, reap), or a mutation: fuzz bytes written at a fuzz-chosen offset of
 * one of the region's tables.  At the end every port is detached and the LAN destroyed.  Beyond
 * AddressSanitizer and UBSan it checks that every datagram delivered lies inside one buffer of base
 * storage and is no longer than a buffer, and libFuzzer's -timeout catches a wait that never ends.
 *
 * The region's address comes from struct glan_lan (base_int.h; this target
 * alone gets src/base on its include path, as a test of the base's insides,
 * not a layer).
 *
 * What is never mutated, and why:
 *   - the region header from the magic up to and including the pool mutex:
 *     magic, version and the layout words (sizes, offsets, the
 *     configuration) that every process reads once when it attaches and then
 *     trusts, and the two pthread mutexes ctl and pool: a corrupted
 *     pthread_mutex_t is outside what the base can defend (glibc may spin,
 *     deadlock or abort inside pthread_mutex_lock);
 *   - this process's own pin counters (pin_of(me, p)): pins of our own
 *     process are held by our own threads, and detach must wait for them,
 *     so a stuck value there cannot be told from a slow thread of ours
 *     (pins of other process entries are fair game: wait_pins drops those
 *     of entries that are not alive);
 *   - a drain word made equal to our own process token: a turn held by our
 *     own process is held by one of our threads, and detach (take_turn)
 *     waits for it; the mutation is undone when it writes exactly that.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base_int.h"
#include "guestlan/base.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define GUESTS 3
#define NPORTS (GUESTS + 1) /* the last one is the uplink */

struct fport {
    struct glan_port *port;
    int idx;
    int mode; /* 0 take, 1 -EAGAIN until kicked, 2 -ENETDOWN, 3 -EIO, 4 every other -EAGAIN */
    unsigned calls;
    uint64_t got;
};

static struct glan_lan *cur_lan;
static struct fport fp[NPORTS];

static int deliver(void *ctx, const struct glan_dgram *dg)
{
    struct fport *f = ctx;
    struct glan_lan *lan = cur_lan;
    /* a datagram lies in one buffer of base storage, of one size class */
    int in_one = 0;
    for (int k = 0; k < NCLASS; k++) {
        const struct cls *c = &lan->cls[k];
        const uint8_t *lo = c->data, *hi = lo + (size_t)c->n * c->stride;
        if (dg->data >= lo && dg->data < hi && dg->len <= c->size &&
            (size_t)(dg->data - lo) % c->stride + dg->len <= c->size)
            in_one = 1;
    }
    if (!in_one)
        __builtin_trap();
    volatile uint8_t sink = dg->len ? dg->data[0] ^ dg->data[dg->len - 1] : 0;
    (void)sink;
    f->calls++;
    switch (f->mode) {
    case 1:
        return -EAGAIN;
    case 2:
        return -ENETDOWN;
    case 3:
        return -EIO;
    case 4:
        if (f->calls & 1)
            return -EAGAIN;
        break;
    }
    f->got++;
    return 0;
}

static const struct glan_port_ops ops = {.deliver = deliver};

static void addr4(struct glan_addr *a, uint8_t a0, uint8_t a1, uint8_t a2, uint8_t a3)
{
    memset(a, 0, sizeof *a);
    a->family = GLAN_AF_INET;
    a->bytes[0] = a0;
    a->bytes[1] = a1;
    a->bytes[2] = a2;
    a->bytes[3] = a3;
}

static int attach(struct glan_lan *lan, int i)
{
    static const char *const names[NPORTS] = {"0600", "0610", "0620", "uplink"};
    struct glan_port_info info = {names[i], i == GUESTS ? GLAN_PORT_UPLINK : GLAN_PORT_GUEST};
    fp[i].mode = 0;
    if (glan_port_attach(lan, &info, &ops, &fp[i], &fp[i].port) != 0) {
        fp[i].port = NULL;
        return -1;
    }
    fp[i].idx = glan_port_index(fp[i].port);
    if (i < GUESTS) {
        struct glan_addr a, g;
        addr4(&a, 10, 0, 0, (uint8_t)(i + 1));
        glan_addr_register(fp[i].port, &a);
        if (i != 1) {
            addr4(&g, 224, 1, 1, 1);
            glan_group_join(fp[i].port, &g);
        }
    }
    return 0;
}

/* An IPv4 datagram of len bytes (at least 20) to dst. */
static size_t make_dgram(uint8_t *buf, size_t len, const struct glan_addr *dst, int from)
{
    if (len < 20)
        len = 20;
    memset(buf, 0, len);
    buf[0] = 0x45;
    buf[2] = (uint8_t)(len >> 8);
    buf[3] = (uint8_t)len;
    buf[8] = 64;
    buf[9] = 17;
    buf[12] = 10;
    buf[15] = (uint8_t)(from + 1);
    memcpy(buf + 16, dst->bytes, 4);
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2)
        sum += (uint32_t)buf[i] << 8 | buf[i + 1];
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    buf[10] = (uint8_t)(~sum >> 8);
    buf[11] = (uint8_t)~sum;
    for (size_t i = 20; i < len; i++)
        buf[i] = (uint8_t)(i * 7 + (size_t)from);
    return len;
}

struct in {
    const uint8_t *p;
    size_t n;
};

static uint8_t byte(struct in *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static uint32_t word(struct in *in)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = v << 8 | byte(in);
    return v;
}

/* Write up to 8 fuzz bytes into one of the region's tables. */
static void mutate(struct glan_lan *lan, struct in *in)
{
    struct region *r = lan->r;
    uint8_t *base = (uint8_t *)r;
    uint64_t start, end;
    switch (byte(in) % 12) {
    case 0: /* the header's words after the pool mutex */
        start = offsetof(struct region, pool_holder);
        end = offsetof(struct region, procs);
        break;
    case 1:
        start = offsetof(struct region, procs);
        end = offsetof(struct region, jr);
        break;
    case 2: /* the journals this thread can take */
        start = offsetof(struct region, jr);
        end = start + 4 * sizeof(struct journal);
        break;
    case 3:
        start = r->off_ports;
        end = r->off_addrs;
        break;
    case 4:
        start = r->off_addrs;
        end = r->off_groups;
        break;
    case 5:
        start = r->off_groups;
        end = r->off_cells;
        break;
    case 6:
        start = r->off_cells;
        end = r->off_pins;
        break;
    case 7:
        start = r->off_pins;
        end = r->off_slots;
        break;
    case 8:
        start = r->off_slots;
        end = r->off_stack;
        break;
    case 9:
        start = r->off_stack;
        end = r->off_reach;
        break;
    case 10:
        start = r->off_reach;
        end = r->off_data;
        break;
    default:
        start = r->off_data;
        end = r->total;
        break;
    }
    uint64_t off = start + word(in) % (end - start);
    size_t len = 1 + byte(in) % 8;
    if (len > end - off)
        len = (size_t)(end - off);
    uint8_t old[8];
    memcpy(old, base + off, len);
    for (size_t i = 0; i < len; i++)
        base[off + i] = byte(in);

    /* undo what touched our own pins (see the top of the file) */
    for (uint32_t p = 0; p < r->max_ports; p++) {
        uint8_t *pin = (uint8_t *)pin_of(lan, lan->me, (int)p);
        size_t po = (size_t)(pin - base);
        if (po + 4 > off && po < off + len)
            for (size_t i = 0; i < len; i++)
                if (off + i >= po && off + i < po + 4)
                    base[off + i] = old[i];
        /* and a drain word that now names our own process */
        uint8_t *dw = (uint8_t *)&lan->ports[p].drain;
        size_t d = (size_t)(dw - base);
        if (d + 4 > off && d < off + len &&
            atomic_load_explicit(&lan->ports[p].drain, memory_order_relaxed) == lan->token)
            memcpy(base + off, old, len);
    }
}

static void send_one(struct in *in, int op)
{
    int from = byte(in) % NPORTS;
    if (!fp[from].port)
        return;
    uint8_t b = byte(in);
    size_t len = 20 + (size_t)byte(in) * 8; /* every size class, and too big */
    struct glan_addr dst;
    switch (b % 5) {
    case 0: /* unicast to a guest */
        addr4(&dst, 10, 0, 0, (uint8_t)(1 + (b >> 3) % GUESTS));
        break;
    case 1:
        addr4(&dst, 255, 255, 255, 255);
        break;
    case 2:
        addr4(&dst, 224, 1, 1, 1);
        break;
    case 3: /* nobody holds it: to the uplink from a guest, dropped from the uplink */
        addr4(&dst, 10, 0, 1, 99);
        break;
    default:
        addr4(&dst, 10, 0, 0, 2);
        break;
    }
    uint8_t buf[2100];
    if (len > sizeof buf)
        len = sizeof buf;
    len = make_dgram(buf, len, &dst, from);
    struct glan_tx_meta meta = {(enum glan_cast)(b >> 6), 0};
    if (b % 5 == 4 && (b & 0x20))
        buf[0] = 0x75; /* malformed */
    if (op == 0) {
        glan_port_send(fp[from].port, buf, len, &meta);
        return;
    }
    struct glan_txbuf tb;
    if (glan_port_tx_begin(fp[from].port, len, &tb) != GLAN_DROP_NONE)
        return;
    memcpy(tb.data, buf, len);
    if (op == 1)
        glan_port_tx_abort(fp[from].port, &tb);
    else
        glan_port_tx_commit(fp[from].port, &tb, len, &meta);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct glan_lan_config cfg = {
        .name = "fuzz",
        .max_ports = 8,
        .max_addrs = 16,
        .max_groups = 16,
        .buffers = 64,
        .buffer_size = 576,
        .mid_buffers = 8,
        .mid_size = 1024,
        .big_buffers = 4,
        .big_size = 2048,
        .queue_len = 8,
    };
    char err[256];
    struct glan_lan *lan = glan_lan_create(&cfg, err, sizeof err);
    if (!lan)
        __builtin_trap();
    cur_lan = lan;
    memset(fp, 0, sizeof fp);
    for (int i = 0; i < NPORTS; i++)
        if (attach(lan, i) != 0)
            __builtin_trap();

    struct in in = {data, size};
    for (int steps = 0; in.n && steps < 256; steps++) {
        uint8_t op = byte(&in);
        int i = (op >> 4) % NPORTS;
        switch (op % 16) {
        case 0:
        case 1:
        case 2:
            send_one(&in, 0);
            break;
        case 3:
            send_one(&in, 1);
            break;
        case 4:
            send_one(&in, 2);
            break;
        case 5: /* a batch of sends from one port */
            if (fp[i].port) {
                glan_port_batch_begin(fp[i].port);
                for (int k = byte(&in) % 4; k >= 0; k--)
                    send_one(&in, 0);
                glan_port_batch_end(fp[i].port);
            }
            break;
        case 6:
            if (fp[i].port)
                glan_port_kick(fp[i].port);
            break;
        case 7: /* the receiver refuses, or takes again (and is kicked) */
            fp[i].mode = byte(&in) % 5;
            if (fp[i].port && fp[i].mode == 0)
                glan_port_kick(fp[i].port);
            break;
        case 8:
            if (fp[i].port) {
                glan_port_detach(fp[i].port);
                fp[i].port = NULL;
            }
            attach(lan, i);
            break;
        case 9: {
            struct glan_lan_stats st;
            glan_lan_stats(lan, &st);
            if (fp[i].port) {
                struct glan_port_stats ps;
                glan_port_stats(fp[i].port, &ps);
            }
            break;
        }
        case 10:
            glan_lan_reap(lan);
            break;
        case 11: {
            struct glan_addr a;
            addr4(&a, 10, 0, 0, (uint8_t)(1 + byte(&in) % 4));
            glan_lan_lookup(lan, &a);
            break;
        }
        default:
            mutate(lan, &in);
            break;
        }
    }

    for (int i = 0; i < NPORTS; i++)
        if (fp[i].port)
            glan_port_detach(fp[i].port);
    glan_lan_destroy(lan);
    cur_lan = NULL;
    return 0;
}
