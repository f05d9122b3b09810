/*
 * libFuzzer target: the data path of the OSA device model (src/osa/qdio.c):
 * the output walk over every output queue (SBALs, SBALE chains, layer-3
 * headers, passthrough frames) and, through the base, the peer's input
 * packing into input buffers the peer gives back or not.  Two simulated
 * guests, A (sender) and B, are brought up once.  An input is
 *
 *   byte 0    flags: 0x01 SIGA-s (with A's input queue) instead of SIGA-w;
 *             0x02 B takes its input only at the end of the input, so that
 *             it may run full and the base holds what waits; 0x04 B's next
 *             input SBAL is replaced by the 256 bytes after this byte
 *             (element addresses taken relative to that buffer's pages unless
 *             bit 0x80 of an element's reserved byte asks for the raw
 *             address; restored at the end when the device did not use it)
 *   then      up to 40 output buffers, each: a byte (bits 0-1 the output
 *             queue; 0x04 not primed: a gap the device must stop at; 0x08
 *             SIGA after this buffer), an SBAL (256 bytes; element
 *             addresses relative to the buffer's own 4 pages, as above) and
 *             a big-endian 16-bit length of data for those pages.
 *
 * Built with FUZZ_LAYER2 (target fuzz_osa_sbal_l2) the LAN is of transport
 * ETHERNET and both guests are layer 2 (qeth_l2): the buffers then carry
 * layer-2 headers and Ethernet frames, switched by MAC and VLAN (A and B
 * on VLAN 10, B in group 33:33:00:00:00:01).  Built with FUZZ_IQD (target
 * fuzz_osa_sbal_iqd) the LAN is of type HIPERS and both guests drive
 * HiperSockets cards (queues of format 2, thin interrupts, input buffers of
 * the MTU and two pages).
 *
 * At the end the gaps are primed and every queue is driven once more.
 * Checked after each SIGA: every buffer primed on a queue the SIGA named,
 * up to the first gap, is handed back empty (0xA1) or in error (0xAF);
 * everything after a gap and on queues it did not name is still primed;
 * and at the end no buffer is left primed.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "guestlan/base.h"
#include "guestlan/osa.h"
#include "guestlan/osa_wire.h"
#include "guestlan/simguest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum {
    NQ = SG_OUT_QUEUES,
    SPANS = 8,
    SPAN = 4 * 4096,
    MAXBUF = 40,
    F_SIGA_S = 0x01,
    F_B_LATE = 0x02,
    F_B_SBAL = 0x04,
    R_GAP = 0x04,
    R_SIGA = 0x08,
};

static struct glan_lan *lan;
static struct simguest *a, *b;
static struct sg_rx rx[64];
static uint64_t spans;
/* Per output queue: the first buffer the device has not handed back yet,
 * and the next one this target fills; they differ by at most MAXBUF. */
static unsigned done[NQ], fill[NQ];
static uint8_t primed[NQ][QDIO_MAX_BUFFERS_PER_Q]; /* by us, since done */

static void setup(void)
{
    struct glan_lan_config cfg = {.name = "fuzz"};
    char err[128];
#ifdef FUZZ_LAYER2
    cfg.transport = GLAN_TRANSPORT_ETHERNET;
    /* the MACs the seeds use (tests/fuzz/make-seeds.py): 02:67:6c:00:00:0x */
    static const uint8_t prefix[3] = {0x02, 0x67, 0x6c};
    memcpy(cfg.mac_prefix, prefix, sizeof prefix);
    cfg.mac_prefix_len = 3;
#endif
#ifdef FUZZ_IQD
    cfg.type = GLAN_LAN_HIPERS; /* the HiperSockets personality */
#endif
    lan = glan_lan_create(&cfg, err, sizeof err);
    a = glan_sg_create(lan, "0600", 0x0600);
    b = glan_sg_create(lan, "0700", 0x0700);
#ifdef FUZZ_LAYER2
    static const uint8_t group[6] = {0x33, 0x33, 0, 0, 0, 1};
    if (!a || !b || glan_sg_bringup_l2(a) || glan_sg_bringup_l2(b) || glan_sg_setvlan(a, 10, 0) ||
        glan_sg_setvlan(b, 10, 0) || glan_sg_setmac(b, group, 0))
        __builtin_trap();
#else
    static const char *const aa[] = {"10.1.0.1", "fd00::1", NULL};
    static const char *const ba[] = {"10.1.0.2", "fd00::2", NULL};
    if (!a || !b || glan_sg_bringup(a, aa) || glan_sg_bringup(b, ba))
        __builtin_trap();
#endif
    spans = glan_sg_alloc(a, SPANS * SPAN, 4096);
    if (!spans)
        __builtin_trap();
}

static uint8_t *slsb_of(unsigned q)
{
    return glan_sg_ptr(a, a->slsb[1 + q]);
}

static uint8_t slsb_get(const uint8_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* Element addresses into [base, base + span) unless the element asks for
 * the raw address. */
static void place(struct sbal *s, uint64_t base, uint32_t span)
{
    for (unsigned e = 0; e < QDIO_MAX_ELEMENTS; e++)
        if (!(s->element[e].res1 & 0x80))
            put64(s->element[e].addr, base + be64(s->element[e].addr) % span);
}

/* SIGA for the queues in qmask (bit q: queue q), then the checks above. */
static void siga(unsigned qmask, int siga_s)
{
    uint32_t mask = 0;
    for (unsigned q = 0; q < NQ; q++)
        if (qmask & (1u << q))
            mask |= 0x80000000u >> q;
    int rc = siga_s ? glan_osa_siga_s(a->osa, mask, 0x80000000u) : glan_osa_siga_w(a->osa, mask);
    if (rc != 0)
        __builtin_trap();
    /* One SIGA takes a bounded number of buffers (docs/osa.md, "How much
     * one SIGA does") and asks the host to resume the rest: do what the
     * emulator's helper thread does, until nothing is owed. */
    glan_sg_pump(a);
    for (unsigned q = 0; q < NQ; q++) {
        const uint8_t *slsb = slsb_of(q);
        unsigned i = done[q];
        if (qmask & (1u << q)) {
            /* the walk: every primed buffer up to the first gap */
            for (; i != fill[q] && primed[q][i]; i = qdio_next(i)) {
                uint8_t st = slsb_get(&slsb[i]);
                if (st != SLSB_P_OUTPUT_EMPTY && st != SLSB_P_OUTPUT_ERROR)
                    __builtin_trap();
                primed[q][i] = 0;
            }
            done[q] = i;
        }
        for (; i != fill[q]; i = qdio_next(i))
            if (primed[q][i] && slsb_get(&slsb[i]) != SLSB_CU_OUTPUT_PRIMED)
                __builtin_trap(); /* taken past a gap, or from a queue not named */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!lan) {
        setup();
        done[SG_TX_QUEUE] = fill[SG_TX_QUEUE] = a->out_next;
    }
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    size_t at = 1;

    /* B's next input buffer as the input says. */
    unsigned bslot = b->in_next;
    struct sbal *bs = glan_sg_ptr(b, b->sbal[0][bslot]), bsaved = *bs;
    const uint8_t *bslsb = glan_sg_ptr(b, b->slsb[0]);
    int tweak = (flags & F_B_SBAL) && size - at >= sizeof(struct sbal);
    if (tweak && slsb_get(&bslsb[bslot]) != SLSB_CU_INPUT_EMPTY)
        tweak = 0; /* not the adapter's now: B itself reads it next */
    if (tweak) {
        memcpy(bs, data + at, sizeof *bs);
        at += sizeof *bs;
        place(bs, b->in_pages + (uint64_t)(bslot % SG_IN_BUFS) * 16 * 4096, 16 * 4096);
    }

    unsigned named = 0, nbuf = 0;
    while (nbuf < MAXBUF && size - at >= 1 + sizeof(struct sbal) + 2) {
        uint8_t r = data[at++];
        unsigned q = r & 3, i = fill[q];
        uint64_t span = spans + (uint64_t)(nbuf % SPANS) * SPAN;
        struct sbal *s = glan_sg_ptr(a, a->sbal[1 + q][i]);
        memcpy(s, data + at, sizeof *s);
        at += sizeof *s;
        place(s, span, SPAN);
        size_t n = (size_t)data[at] << 8 | data[at + 1];
        at += 2;
        if (n > size - at)
            n = size - at;
        memcpy(glan_sg_ptr(a, span), data + at, n < SPAN ? n : SPAN);
        at += n;
        if (!(r & R_GAP)) {
            __atomic_store_n(&slsb_of(q)[i], SLSB_CU_OUTPUT_PRIMED, __ATOMIC_RELEASE);
            primed[q][i] = 1;
        }
        fill[q] = qdio_next(i);
        named |= 1u << q;
        nbuf++;
        if (r & R_SIGA) {
            siga(named, flags & F_SIGA_S);
            named = 0;
            if (!(flags & F_B_LATE))
                glan_sg_recv(b, rx, 64);
        }
    }

    /* The gaps primed now, every queue driven: nothing may stay primed. */
    for (unsigned q = 0; q < NQ; q++)
        for (unsigned i = done[q]; i != fill[q]; i = qdio_next(i))
            if (!primed[q][i]) {
                __atomic_store_n(&slsb_of(q)[i], SLSB_CU_OUTPUT_PRIMED, __ATOMIC_RELEASE);
                primed[q][i] = 1;
            }
    siga((1u << NQ) - 1, 0);
    for (unsigned q = 0; q < NQ; q++)
        if (done[q] != fill[q])
            __builtin_trap();

    glan_sg_recv(b, rx, 64);
    glan_sg_recv(a, rx, 64); /* the device's own ARP/ND answers */
    /* B's buffer as it was, when the device left it alone. */
    if (tweak && slsb_get(&bslsb[bslot]) == SLSB_CU_INPUT_EMPTY)
        *bs = bsaved;
    return 0;
}
