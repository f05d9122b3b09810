/*
 * The services hdtglan gives the device model (struct glan_osa_host_ops of
 * include/osa/guestlan/osa.h, with its contracts, handed over through seam.h),
 * made of Hercules ones:
 *
 *   mem        guest absolute storage (dev->mainstor, dev->mainlim), checked
 *              against the end of storage and the 4K storage keys, setting
 *              reference and change bits;
 *   interrupt  a PCI on the data device (Hyperion turns it into an adapter
 *              interruption when SSCI switched thin interrupts on), queued
 *              without ever waiting for a lock the caller might hold;
 *   ccw_end    wakes the device thread waiting in hdtglan.c for a pending
 *              CCW;
 *   log        the Hercules log;
 *   resume     the output a SIGA left at the device's bound, walked by the
 *              same helper thread as deferred interruptions.
 *
 * Why interrupt defers: the model raises a peer's interruption from the
 * sender's CPU thread, which holds its own device's lock inside SIGA.  Two
 * guests sending to each other would each hold one device lock and want the
 * other's.  So the sender only tries the interrupt lock and the target
 * device's lock; when either is busy it leaves the interruption to one
 * helper thread, which holds no device lock and so may wait for them in
 * Hercules' own order (interrupt lock, then device lock).  An interruption
 * for the device whose SIGA is running (a SIGA-r that lets waiting
 * datagrams in) needs no second try of the lock the thread already holds
 * (glan_herc_siga_dev): only the interrupt lock is tried.
 */
#include "hstdinc.h"
#include "hercules.h"
#include "opcode.h"
#include "inline.h"

#include <errno.h>
#include <pthread.h>

#include "glanmod.h"
#include "msgs.h"

/* ---- guest storage -------------------------------------------------------- */

/*
 * Ordering (docs/osa.md, "Ordering"; the pairs QRn/QAn are listed in
 * src/osa/osa_int.h).  The device's end of each pair is done here, as the
 * device asks through `how`: a store-release of an SLSB state or indicator
 * byte after the buffer's data (QR1, QR2, QR5), a load-acquire of the SLSB
 * before the buffer is read (QA3, QA4).  On x86 these cost nothing; on
 * aarch64 they keep a guest CPU thread from seeing 0x82 before the data,
 * and the device from reading a buffer older than the 0x62 it saw.
 *
 * The guest's end is the guest's own instructions, run by Hercules CPU
 * threads, and Hyperion orders them in these places (read in its source):
 *   - SIGA (qdio.c) takes the subchannel's device lock around the handler,
 *     and the handler runs in the issuing CPU's thread: what that CPU
 *     stored before SIGA (QR4, QR3) is in program order with the walk.
 *   - Interlocked updates (CS, CSG, CDS...) go through cmpxchg4/8, which on
 *     aarch64 are sequentially consistent __atomic compare-and-swap
 *     (machdep.h), and serialising instructions (BCR 14/15, CS...) run
 *     HARDWARE_SYNC, a full fence (OPTION_HARDWARE_SYNC_ALL): a guest that
 *     changes SLSB states interlocked, as Linux's qdio does, or serialises,
 *     gets its release (QR3, QR4) and acquire (QA1, QA2) from them.
 *   - An interruption is queued under the interrupt lock (queue_pci below)
 *     and taken by the CPU thread under that lock: a guest that looks at the
 *     indicators and SLSBs in its interrupt handler has QA5 and QA1 from it.
 * A guest that polls an SLSB with plain loads and reads the buffer without
 * any of these has no acquire on a weakly ordered host: Hercules' plain
 * loads are the host's plain loads.  That is outside what the device can
 * order, and real guests do interlock their state changes.
 */
static void copy(BYTE *g, void *buf, size_t len, unsigned how)
{
    if (how & GLAN_OSA_MEM_WRITE) {
        if (how & GLAN_OSA_MEM_RELEASE) {
            if (len == 1) {
                /* QR1, QR2, QR5: store-release of the state byte */
                __atomic_store_n(g, *(const BYTE *)buf, __ATOMIC_RELEASE);
                return;
            }
            __atomic_thread_fence(__ATOMIC_RELEASE);
        }
        memcpy(g, buf, len);
        return;
    }
    if ((how & GLAN_OSA_MEM_ACQUIRE) && len == 1) {
        /* QA3: load-acquire of the state byte */
        *(BYTE *)buf = __atomic_load_n(g, __ATOMIC_ACQUIRE);
        return;
    }
    memcpy(buf, g, len);
    if (how & GLAN_OSA_MEM_ACQUIRE)
        __atomic_thread_fence(__ATOMIC_ACQUIRE); /* QA4: the SLSB, then the buffers */
}

enum { FRAME = 4096 };

/* May access key `key` (0..15) touch the 4K frame at abs?  Key 0 may touch
 * anything; a matching key anything; another key may fetch from a frame
 * that is not fetch-protected.  Keys 14 and 6 are let through everywhere,
 * as real OSAs do for z/VM's and z/OS's TCP/IP (docs/osa.md, "The host
 * interface"). */
static int key_allows(DEVBLK *dev, U64 abs, unsigned key, int write)
{
    if (key == 0 || key == 14 || key == 6)
        return 1;
    BYTE sk = ARCH_DEP(get_dev_4K_storage_key)(dev, abs);
    if ((sk & STORKEY_KEY) == (BYTE)(key << 4))
        return 1;
    return !write && !(sk & STORKEY_FETCH);
}

static int host_mem(void *host, uint64_t addr, void *buf, size_t len, unsigned key, unsigned how)
{
    int write = (how & GLAN_OSA_MEM_WRITE) != 0;
    struct group *g = host;
    DEVBLK *dev = g->dev[0] ? g->dev[0] : g->dev[2];
    if (!dev)
        return -EFAULT;
    if (len == 0)
        return 0;
    U64 lim = dev->mainlim; /* last valid absolute address */
    if (addr > lim || (U64)len - 1 > lim - addr)
        return -EFAULT;
    U64 first = addr & ~(U64)(FRAME - 1), last = (addr + len - 1) & ~(U64)(FRAME - 1);
    /* All or nothing: check every frame before moving a byte. */
    for (U64 f = first;; f += FRAME) {
        if (!key_allows(dev, f, key & 0xF, write))
            return -EACCES;
        if (f == last)
            break;
    }
    copy(dev->mainstor + addr, buf, len, how);
    BYTE bits = write ? (STORKEY_REF | STORKEY_CHANGE) : STORKEY_REF;
    for (U64 f = first;; f += FRAME) {
        ARCH_DEP(or_dev_4K_storage_key)(dev, f, bits);
        if (f == last)
            break;
    }
    return 0;
}

/* ---- interruptions ---------------------------------------------------------- */

/* Queue a PCI for dev; the caller holds the interrupt lock and dev's lock. */
static void queue_pci(DEVBLK *dev)
{
    dev->pciscsw.flag2 |= SCSW2_Q | SCSW2_FC_START;
    dev->pciscsw.flag3 |= SCSW3_SC_INTER | SCSW3_SC_PEND;
    dev->pciscsw.chanstat = CSW_PCI;
    OBTAIN_IOINTQLK();
    {
        QUEUE_IO_INTERRUPT_QLOCKED(&dev->pciioint, FALSE);
        UPDATE_IC_IOPENDING_QLOCKED();
    }
    RELEASE_IOINTQLK();
}

/* Nothing to raise: Hercules is going down, or a halt or clear is in
 * progress on the device (channel.c holds both locks for it). */
static int moot(DEVBLK *dev)
{
    return sysblk.shutdown || (dev->scsw.flag2 & (SCSW2_FC_HALT | SCSW2_FC_CLEAR));
}

_Thread_local const void *glan_herc_siga_dev;

/* 1 when raised (or moot), 0 when a lock was busy. */
static int try_raise(DEVBLK *dev)
{
    int held = glan_herc_siga_dev == dev; /* Hyperion holds its lock for us */
    if (moot(dev))
        return 1;
    if (TRY_OBTAIN_INTLOCK(NULL) != 0)
        return 0;
    if (!held && try_obtain_lock(&dev->lock) != 0) {
        RELEASE_INTLOCK(NULL);
        return 0;
    }
    queue_pci(dev);
    if (!held)
        release_lock(&dev->lock);
    RELEASE_INTLOCK(NULL);
    return 1;
}

/* The helper thread and its list of groups with deferred interruptions. */
static pthread_mutex_t irq_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t irq_work = PTHREAD_COND_INITIALIZER;
static pthread_cond_t irq_idle = PTHREAD_COND_INITIALIZER;
static struct group *irq_head;
static struct group *irq_busy; /* the group the helper is raising for */
static pthread_t irq_thread;
static int irq_running, irq_stop;

static void *irq_helper(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&irq_lock);
    while (!irq_stop) {
        struct group *g = irq_head;
        if (!g) {
            pthread_cond_wait(&irq_work, &irq_lock);
            continue;
        }
        irq_head = g->irq_next;
        g->irq_listed = 0;
        int want[GLAN_HERC_SLOTS];
        for (int s = 0; s < GLAN_HERC_SLOTS; s++) {
            want[s] = g->irq_want[s];
            g->irq_want[s] = 0;
        }
        int resume = g->resume_want;
        g->resume_want = 0;
        irq_busy = g;
        pthread_mutex_unlock(&irq_lock);
        /* The output a SIGA left at its bound, walked here without any
         * device lock; its interruptions come back through host_interrupt
         * (tried, else deferred to this thread's next turn). */
        if (resume)
            glan_herc_resume(g);
        for (int s = 0; s < GLAN_HERC_SLOTS; s++) {
            DEVBLK *dev = g->dev[s];
            if (!want[s] || !dev || moot(dev))
                continue;
            /* Hercules' lock order: interrupt lock, then device lock. */
            OBTAIN_INTLOCK(NULL);
            obtain_lock(&dev->lock);
            if (!moot(dev))
                queue_pci(dev);
            release_lock(&dev->lock);
            RELEASE_INTLOCK(NULL);
        }
        pthread_mutex_lock(&irq_lock);
        irq_busy = NULL;
        pthread_cond_broadcast(&irq_idle);
    }
    pthread_mutex_unlock(&irq_lock);
    return NULL;
}

/* Leave an interruption for slot, or (slot GLAN_HERC_SLOTS) a resume of
 * the output walk, to the helper thread. */
static void defer(struct group *g, unsigned slot)
{
    pthread_mutex_lock(&irq_lock);
    if (!irq_running && !irq_stop) {
        if (pthread_create(&irq_thread, NULL, irq_helper, NULL) == 0)
            irq_running = 1;
    }
    if (slot < GLAN_HERC_SLOTS)
        g->irq_want[slot] = 1;
    else
        g->resume_want = 1;
    if (!g->irq_listed) {
        g->irq_listed = 1;
        g->irq_next = irq_head;
        irq_head = g;
    }
    pthread_cond_signal(&irq_work);
    pthread_mutex_unlock(&irq_lock);
}

static void host_interrupt(void *host, unsigned slot, int thin)
{
    struct group *g = host;
    /* thin or not, it is the same PCI: Hyperion presents it as an adapter
     * interruption when the device's qdio.thinint is on (set by SSCI). */
    (void)thin;
    if (slot >= GLAN_HERC_SLOTS || !g->dev[slot])
        return;
    if (!try_raise(g->dev[slot])) {
        __atomic_fetch_add(&g->irq_deferred, 1, __ATOMIC_RELAXED);
        defer(g, slot);
    }
}

/* The model's SIGA stopped at its bound (osa.h, resume): called with the
 * model's output lock held and Hyperion's device lock, so it only lists
 * the group for the helper thread, which walks on holding neither. */
static void host_resume(void *host)
{
    defer(host, GLAN_HERC_SLOTS);
}

void glan_herc_irq_forget(struct group *g)
{
    pthread_mutex_lock(&irq_lock);
    for (struct group **pp = &irq_head; *pp; pp = &(*pp)->irq_next) {
        if (*pp == g) {
            *pp = g->irq_next;
            break;
        }
    }
    g->irq_listed = 0;
    g->resume_want = 0;
    while (irq_busy == g)
        pthread_cond_wait(&irq_idle, &irq_lock);
    pthread_mutex_unlock(&irq_lock);
}

void glan_herc_irq_shutdown(void)
{
    pthread_mutex_lock(&irq_lock);
    irq_stop = 1;
    int running = irq_running;
    pthread_cond_broadcast(&irq_work);
    pthread_mutex_unlock(&irq_lock);
    if (running)
        pthread_join(irq_thread, NULL);
}

/* ---- ending CCWs, log -------------------------------------------------------- */

static void host_ccw_end(void *host, unsigned slot, uint8_t unitstat, uint32_t residual)
{
    struct group *g = host;
    if (slot >= GLAN_HERC_SLOTS)
        return;
    pthread_mutex_lock(&g->lock);
    g->pend[slot].ended = 1;
    g->pend[slot].unitstat = unitstat;
    g->pend[slot].residual = residual;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

static void host_log(void *host, const char *msg)
{
    struct group *g = host;
    WRMSG(HHC04701, "I", g->ifc.info.lcss, g->ifc.info.devnum[0], msg);
}

const struct glan_osa_host_ops glan_herc_host_ops = {
    .mem = host_mem,
    .interrupt = host_interrupt,
    .ccw_end = host_ccw_end,
    .log = host_log,
    .resume = host_resume,
};
