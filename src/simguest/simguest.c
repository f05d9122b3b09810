/*
 * The simulated Linux qeth layer-3 guest (see simguest.h): an emulator's
 * host vtable over a malloc'd guest storage with storage keys, the guest's
 * life cycle, and its bring-up as Linux performs it (glan_sg_start and
 * glan_sg_bringup: docs/osa.md, "Control path").  The steps themselves are
 * in control.c (channel commands, MPC, IPA), the queues' traffic in data.c.
 * Single-threaded: a CCW the device leaves pending is ended through the
 * host's ccw_end, which only records it.  The guest's clock
 * (sg_host.clock_ns) stamps what it sends, through the host op the device
 * reads, and what it receives.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guestlan/osa_wire.h"
#include "sg_int.h"
#include "guestlan/simguest.h"

/* ---- the host vtable -------------------------------------------------------- */

/* May access key `key` touch frame f?  The rule host.c applies for
 * Hercules (docs/osa.md, "The host interface"): key 0, and keys 14 and 6
 * (z/VM's and z/OS's TCP/IP), anything; a matching key anything; another
 * key may fetch from a frame that is not fetch-protected. */
static int key_allows(const struct sg_host *s, uint64_t f, unsigned key, int write)
{
    if (key == 0 || key == 14 || key == 6)
        return 1;
    if ((s->keys[f] & 15) == key)
        return 1;
    return !write && !(s->keys[f] & SG_KEY_FETCH);
}

/* Is [addr, addr+len) inside one of the guest's SLSBs? */
static int is_slsb(const struct sg_host *s, uint64_t addr, size_t len)
{
    const struct simguest *g = (const struct simguest *)s; /* host is its first member */
    for (unsigned q = 0; q < 1 + SG_OUT_QUEUES; q++)
        if (g->slsb[q] && addr >= g->slsb[q] && addr + len <= g->slsb[q] + 128)
            return 1;
    return 0;
}

/*
 * Guest storage is shared with the threads driving the guest (and, in the
 * hostile tests, a thread that rewrites it at random while the device walks
 * it, as a hostile guest's other CPU may).  Hercules copies guest storage
 * plainly, and so does this host; ThreadSanitizer reports every such copy
 * beside a guest thread's atomic store as a race, so a GLAN_TSAN build
 * copies byte by byte with relaxed atomics instead: the same bytes and the
 * same ordering (the acquire and release above and below), in terms TSan
 * follows, at a speed only a test can afford.
 */
#if defined(__SANITIZE_THREAD__) /* GCC */
#define SG_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) /* clang */
#define SG_TSAN 1
#endif
#endif
static void copy_in(uint8_t *dst, const uint8_t *src, size_t len)
{
#ifdef SG_TSAN
    for (size_t i = 0; i < len; i++)
        __atomic_store_n(&dst[i], src[i], __ATOMIC_RELAXED);
#else
    memcpy(dst, src, len);
#endif
}

static void copy_out(uint8_t *dst, const uint8_t *src, size_t len)
{
#ifdef SG_TSAN
    for (size_t i = 0; i < len; i++)
        dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
#else
    memcpy(dst, src, len);
#endif
}

static int host_mem(void *h, uint64_t addr, void *buf, size_t len, unsigned key, unsigned how)
{
    struct sg_host *s = h;
    int write = (how & GLAN_OSA_MEM_WRITE) != 0;
    if (s->on_mem)
        s->on_mem(s->on_mem_arg, addr, len, how);
    if (addr > s->size || len > s->size - addr) {
        __atomic_fetch_add(&s->mem_faults, 1, __ATOMIC_RELAXED);
        return -EFAULT;
    }
    for (uint64_t f = addr / 4096; len && f <= (addr + len - 1) / 4096; f++)
        if (!key_allows(s, f, key & 15, write)) {
            __atomic_fetch_add(&s->mem_faults, 1, __ATOMIC_RELAXED);
            __atomic_fetch_add(&s->key_faults, 1, __ATOMIC_RELAXED);
            return -EACCES;
        }
    /* The device's end of the SLSB hand-overs (osa_int.h, QR1-QR5 and
     * QA1-QA5): the same as host.c does for Hercules, since the guest's
     * driver runs in other threads (a peer's sender delivers here). */
    if (len && is_slsb(s, addr, len) &&
        !(how & (write ? GLAN_OSA_MEM_RELEASE : GLAN_OSA_MEM_ACQUIRE)))
        __atomic_fetch_add(&s->unordered, 1, __ATOMIC_RELAXED);
    uint8_t *p = s->mem + addr;
    if (write) {
        if (how & GLAN_OSA_MEM_RELEASE) {
            if (len == 1) {
                __atomic_store_n(p, *(const uint8_t *)buf, __ATOMIC_RELEASE);
                return 0;
            }
            __atomic_thread_fence(__ATOMIC_RELEASE);
        }
        copy_in(p, buf, len);
    } else {
        if ((how & GLAN_OSA_MEM_ACQUIRE) && len == 1) {
            *(uint8_t *)buf = __atomic_load_n(p, __ATOMIC_ACQUIRE);
            return 0;
        }
        copy_out(buf, p, len);
        if (how & GLAN_OSA_MEM_ACQUIRE)
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
    }
    return 0;
}

static void host_interrupt(void *h, unsigned slot, int thin)
{
    struct sg_host *s = h;
    (void)slot;
    __atomic_fetch_add(&s->interrupts, 1, __ATOMIC_RELAXED);
    if (thin)
        __atomic_fetch_add(&s->thin_interrupts, 1, __ATOMIC_RELAXED);
    if (s->on_interrupt)
        s->on_interrupt(s->on_interrupt_arg);
}

static void host_ccw_end(void *h, unsigned slot, uint8_t unitstat, uint32_t residual)
{
    struct sg_host *s = h;
    s->ended[slot] = 1;
    s->end_status[slot] = unitstat;
    s->end_residual[slot] = residual;
}

static void host_log(void *h, const char *msg)
{
    struct sg_host *s = h;
    if (s->verbose)
        fprintf(stderr, "%s\n", msg);
}

static uint64_t host_clock(void *h)
{
    const struct sg_host *s = h;
    return s->clock_ns;
}

/* The device stopped a SIGA at its bound: record it for glan_sg_pump. */
static void host_resume(void *h)
{
    struct sg_host *s = h;
    __atomic_store_n(&s->resume_asked, 1, __ATOMIC_RELEASE);
    __atomic_fetch_add(&s->resumes_asked, 1, __ATOMIC_RELAXED);
}

int glan_sg_pump(struct simguest *g)
{
    int n = 0;
    while (__atomic_exchange_n(&g->host.resume_asked, 0, __ATOMIC_ACQ_REL)) {
        glan_osa_resume(g->osa);
        n++;
    }
    return n;
}

static const struct glan_osa_host_ops sg_ops = {
    .mem = host_mem,
    .interrupt = host_interrupt,
    .ccw_end = host_ccw_end,
    .log = host_log,
    .clock = host_clock,
    .resume = host_resume,
};

/* ---- storage ------------------------------------------------------------------- */

uint64_t glan_sg_alloc(struct simguest *g, size_t len, size_t align)
{
    uint64_t a = (g->brk + align - 1) & ~(uint64_t)(align - 1);
    if (a + len > g->host.size)
        return 0;
    g->brk = a + len;
    return a;
}

void *glan_sg_ptr(struct simguest *g, uint64_t addr)
{
    return g->host.mem + addr;
}

struct simguest *glan_sg_create(struct glan_lan *lan, const char *name, uint16_t devnum)
{
    struct simguest *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->host.size = SG_MEM_SIZE;
    g->host.mem = calloc(1, SG_MEM_SIZE);
    g->host.verbose = getenv("GLAN_SG_VERBOSE") != NULL;
    g->brk = 0x10000;
    g->rd = 0;
    g->wr = 1;
    g->dt = 2;
    for (int i = 0; i < 3; i++)
        g->devnum[i] = (uint16_t)(devnum + i);
    g->use_thin = 1;
    struct glan_osa_config cfg = {.name = name, .chpid = 0x10};
    memcpy(cfg.devnum, g->devnum, sizeof cfg.devnum);
    char err[128];
    g->osa = g->host.mem ? glan_osa_create(lan, &cfg, &sg_ops, &g->host, err, sizeof err) : NULL;
    if (!g->osa) {
        free(g->host.mem);
        free(g);
        return NULL;
    }
    return g;
}

void glan_sg_destroy(struct simguest *g)
{
    if (!g)
        return;
    glan_osa_destroy(g->osa);
    free(g->host.mem);
    free(g);
}

void glan_sg_reset(struct simguest *g)
{
    glan_osa_reset(g->osa);
    g->brk = 0x10000;
    g->read_ready = 0;
    g->seq_th = g->seq_pdu = g->seq_pdu_ack = 0;
    g->seq_ipa = 0;
    memset(g->host.ended, 0, sizeof g->host.ended);
}

int glan_sg_ccw(struct simguest *g, unsigned slot, uint8_t cmd, uint8_t flags, void *buf,
                uint32_t count, struct glan_osa_io *io)
{
    memset(io, 0, sizeof *io);
    io->cmd = cmd;
    io->flags = flags;
    io->count = count;
    io->buf = buf;
    return glan_osa_exec(g->osa, slot, io);
}

/* ---- the bring-up ------------------------------------------------------------------ */

/* A failed step returns the negative line number of its STEP in this file
 * (`glan replay` reports it as "simguest.c:N"). */
#define STEP(expr)                                                                                 \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ != 0) {                                                                            \
            if (g->host.verbose)                                                                   \
                fprintf(stderr, "bring-up step %s: %d\n", #expr, rc_);                             \
            return -__LINE__;                                                                      \
        }                                                                                          \
    } while (0)

/* qeth_l3_iqd_read_initial_mac: an IQD's MAC is what CREATE_ADDR answers,
 * which must be a valid unicast address. */
static int iqd_read_initial_mac(struct simguest *g)
{
    uint8_t uid[8] = {0};
    uint8_t r[4096];
    uint32_t rl;
    if (glan_sg_ipa(g, IPA_CMD_CREATE_ADDR, IPA_PROT_IPV6, uid, 8, r, &rl) != 0)
        return -1;
    const uint8_t *mac = (const uint8_t *)sg_reply_ipa(r, rl) + sizeof(struct ipa_hdr);
    static const uint8_t zero[6];
    if ((mac[0] & 1) || !memcmp(mac, zero, 6))
        return -2;
    memcpy(g->mac, mac, 6);
    return 0;
}

int glan_sg_start(struct simguest *g)
{
    for (unsigned s = 0; s < 3; s++)
        STEP(glan_sg_sense_id(g, s));
    STEP(glan_sg_rcd(g));
    uint8_t ssqd[32];
    glan_osa_ssqd(g->osa, g->dt, 0x0002, ssqd);
    /* The queue format must be the card's: 2 for an IQD, 0 for an OSD. */
    if ((ssqd[0] & 0xc0) != 0xc0 || be16(ssqd + 2) != 0x0002 ||
        ssqd[4] != (g->iqd ? QDIO_IQDIO_QFMT : QDIO_QETH_QFMT))
        return -1;
    STEP(glan_sg_idx_activate(g, g->rd, 1));
    STEP(glan_sg_idx_activate(g, g->wr, 0));
    STEP(glan_sg_start_read(g));
    STEP(glan_sg_cm_enable(g));
    STEP(glan_sg_cm_setup(g));
    STEP(glan_sg_ulp_enable(g, g->layer2 ? MPC_PROT_L2 : MPC_PROT_L3));
    STEP(glan_sg_ulp_setup(g));
    STEP(glan_sg_establish(g));
    STEP(glan_sg_activate(g));
    STEP(glan_sg_dm_act(g));
    STEP(glan_sg_startlan(g));
    STEP(glan_sg_qipassist(g, IPA_PROT_IPV4));
    if (g->ipa4_supported & IPA_IPV6)
        STEP(glan_sg_qipassist(g, IPA_PROT_IPV6));
    if (g->ipa4_supported & IPA_SETADAPTERPARMS)
        STEP(glan_sg_setadp_query(g));
    STEP(glan_sg_init_input(g));
    if (g->adp_supported & IPA_SETADP_ALTER_MAC_ADDRESS)
        STEP(glan_sg_read_mac(g));
    if (g->layer2)
        return 0; /* the rest is glan_sg_bringup_l2's */
    /* qeth_l3_start_ipassists */
    if (g->ipa4_supported & IPA_ARP_PROCESSING)
        STEP(glan_sg_setassparms(g, IPA_PROT_IPV4, IPA_ARP_PROCESSING, IPA_CMD_ASS_START, 0, 0));
    if (g->ipa4_supported & IPA_MULTICASTING)
        STEP(glan_sg_setassparms(g, IPA_PROT_IPV4, IPA_MULTICASTING, IPA_CMD_ASS_START, 0, 0));
    /* qeth_l3_softsetup_ipv6: nothing for an IQD. */
    if ((g->ipa4_supported & IPA_IPV6) && !g->iqd) {
        STEP(glan_sg_setassparms(g, IPA_PROT_IPV4, IPA_IPV6, IPA_CMD_ASS_START, 3, 1));
        STEP(glan_sg_setassparms(g, IPA_PROT_IPV6, IPA_IPV6, IPA_CMD_ASS_START, 0, 0));
        STEP(glan_sg_setassparms(g, IPA_PROT_IPV6, IPA_PASSTHRU, IPA_CMD_ASS_START, 0, 0));
    }
    if (g->ipa4_supported & IPA_FILTERING) {
        STEP(glan_sg_setassparms(g, IPA_PROT_IPV4, IPA_FILTERING, IPA_CMD_ASS_START, 0, 0));
        STEP(glan_sg_setassparms(g, IPA_PROT_IPV4, IPA_FILTERING, IPA_CMD_ASS_CONFIGURE, 1, 1));
        STEP(glan_sg_setassparms(g, IPA_PROT_IPV4, IPA_FILTERING, IPA_CMD_ASS_ENABLE, 1, 1));
    }
    uint8_t rtg = 0;
    STEP(glan_sg_ipa(g, IPA_CMD_SETRTG, IPA_PROT_IPV4, &rtg, 1, NULL, NULL));
    STEP(glan_sg_ipa(g, IPA_CMD_SETRTG, IPA_PROT_IPV6, &rtg, 1, NULL, NULL));
    if (g->iqd)
        STEP(iqd_read_initial_mac(g));
    return 0;
}

int glan_sg_setmac(struct simguest *g, const uint8_t mac[6], int del)
{
    uint8_t d[10] = {0, 0, 0, 6};
    memcpy(d + 4, mac, 6);
    uint8_t cmd = mac[0] & 1 ? (del ? IPA_CMD_DELGMAC : IPA_CMD_SETGMAC)
                             : (del ? IPA_CMD_DELVMAC : IPA_CMD_SETVMAC);
    return glan_sg_ipa(g, cmd, IPA_PROT_IPV4, d, sizeof d, NULL, NULL);
}

int glan_sg_setvlan(struct simguest *g, uint16_t vid, int del)
{
    uint8_t d[2] = {(uint8_t)(vid >> 8), (uint8_t)vid};
    return glan_sg_ipa(g, del ? IPA_CMD_DELVLAN : IPA_CMD_SETVLAN, IPA_PROT_IPV4, d, sizeof d, NULL,
                       NULL);
}

int glan_sg_bringup_l2(struct simguest *g)
{
    g->layer2 = 1;
    g->idx_term_cause = 0;
    int rc = glan_sg_start(g);
    if (rc)
        return g->idx_term_cause ? -5 : rc;
    /* qeth_l2_set_online: bridge port support (not supported here is
     * "none"), the MAC, VNIC characteristics (likewise). */
    uint8_t sbp[16] = {0, 16, 0, 0, 0, 0, 0, 1, 0, 0, 1, 1};
    rc = glan_sg_ipa(g, IPA_CMD_SETBRIDGEPORT_OSA, IPA_PROT_NONE, sbp, sizeof sbp, NULL, NULL);
    if (rc != IPA_RC_NOTSUPP && rc != IPA_RC_SUCCESS)
        return -1;
    if (glan_sg_setmac(g, g->mac, 0) != IPA_RC_SUCCESS)
        return -6;
    uint8_t vnicc[12] = {0, 12};
    rc = glan_sg_ipa(g, IPA_CMD_VNICC, IPA_PROT_NONE, vnicc, sizeof vnicc, NULL, NULL);
    if (rc != IPA_RC_NOTSUPP && rc != IPA_RC_SUCCESS)
        return -1;
    return 0;
}

int glan_sg_create_addr(struct simguest *g)
{
    uint8_t uid[8] = {0};
    uint8_t r[4096];
    uint32_t rl;
    STEP(glan_sg_ipa(g, IPA_CMD_CREATE_ADDR, IPA_PROT_IPV6, uid, 8, r, &rl));
    g->unique_id = be16((const uint8_t *)sg_reply_ipa(r, rl) + sizeof(struct ipa_hdr) + 6);
    return 0;
}

int glan_sg_bringup(struct simguest *g, const char *const *addrs)
{
    STEP(glan_sg_start(g));
    for (; addrs && *addrs; addrs++)
        STEP(glan_sg_setip(g, *addrs, 0));
    STEP(glan_sg_create_addr(g));
    STEP(glan_sg_setipm(g, "224.0.0.1", 0));
    STEP(glan_sg_setipm(g, "ff02::1", 0));
    return 0;
}
