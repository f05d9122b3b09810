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
 *   log        the Hercules log.
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

static int host_mem(void *host, uint64_t addr, void *buf, size_t len, unsigned key, int write)
{
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
    if (write)
        memcpy(dev->mainstor + addr, buf, len);
    else
        memcpy(buf, dev->mainstor + addr, len);
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
        irq_busy = g;
        pthread_mutex_unlock(&irq_lock);
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

static void defer(struct group *g, unsigned slot)
{
    pthread_mutex_lock(&irq_lock);
    if (!irq_running && !irq_stop) {
        if (pthread_create(&irq_thread, NULL, irq_helper, NULL) == 0)
            irq_running = 1;
    }
    g->irq_want[slot] = 1;
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
};
