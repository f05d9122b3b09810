/*
 * hdtglan: the Hercules loadable module that gives SDL Hyperion the device
 * type GLAN.  A statement such as `0600.3 GLAN LAN1 [chpid 05]` defines one
 * guest interface of three devices (read, write, data, grouped the way
 * Hyperion groups QETH) and attaches it as a port to the LAN named LAN1 in
 * this process's LAN directory (landir.c), defining the LAN with default
 * sizes when it is new.
 *
 * What the guest sees through the channel comes from the device model behind
 * the seam in seam.h.  This file translates Hyperion's device-handler calls
 * (DEVHND: init, exec, close, query, halt, SIGA, SSQD, SSCI) into that seam
 * and keeps the Hercules bookkeeping: device groups, sense bytes, device
 * numbers, descriptors.  The `glan` command is in cmd.c.
 */
#include "hstdinc.h"
#include "hercules.h"
#include "devtype.h"
#include "chsc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "glanmod.h"
#include "msgs.h"

/* The options a device statement takes after the LAN name. */
struct stmt {
    const char *lan;
    int chpid; /* -1: not given */
};

/* Messages about a whole interface name its first device, as Hercules
 * names a device group. */
#define GROUP_DEVNUM(g) (int)(g)->ifc.info.lcss, (int)(g)->ifc.info.devnum[0]

/* ---- device statement ------------------------------------------------ */

static int parse_stmt(DEVBLK *dev, int argc, char *argv[], struct stmt *st)
{
    char msg[160];
    st->lan = NULL;
    st->chpid = -1;
    if (argc < 1 || !argv[0] || !argv[0][0]) {
        WRMSG(HHC04701, "E", LCSS_DEVNUM,
              "Missing LAN name: use 'devnum.3 GLAN lanname [options]'");
        return -1;
    }
    st->lan = argv[0];
    for (int i = 1; i < argc; i++) {
        if (strcasecmp(argv[i], "chpid") == 0) {
            char *end;
            unsigned long v = (i + 1 < argc) ? strtoul(argv[i + 1], &end, 16) : 0;
            if (i + 1 >= argc || !argv[i + 1][0] || *end || v > 0xFF) {
                WRMSG(HHC04701, "E", LCSS_DEVNUM, "Option 'chpid' needs a hex value 00-FF");
                return -1;
            }
            st->chpid = (int)v;
            i++;
        } else {
            snprintf(msg, sizeof msg, "Unknown option '%s'", argv[i]);
            WRMSG(HHC04701, "E", LCSS_DEVNUM, msg);
            return -1;
        }
    }
    return 0;
}

/* ---- the port of an interface without a device model ------------------ */

/* Without a device model nothing can take a datagram: the base counts each
 * one for this port as port_down. */
static int idle_deliver(void *ctx, const struct glan_dgram *dg)
{
    (void)ctx;
    (void)dg;
    return -ENETDOWN;
}

static const struct glan_port_ops idle_port_ops = {.deliver = idle_deliver};

/* ---- init / close ------------------------------------------------------ */

/* Per-device setup for every member, first or joining. */
static int member_setup(DEVBLK *dev, struct group *g)
{
    /* Hyperion calls a device's close handler only when dev->fd >= 0
     * (config.c detach_devblk), so each member holds a descriptor for as
     * long as it is attached. */
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        WRMSG(HHC04701, "E", LCSS_DEVNUM, strerror(errno));
        return -1;
    }
    dev->fd = fd;
    dev->dev_data = g;
    memset(dev->sense, 0, sizeof dev->sense);
    dev->numsense = 32;
    dev->numdevid = 0; /* Sense ID is the model's CCW */
    if (g->has_chpid)
        dev->pmcw.chpid[0] = g->ifc.info.chpid;
    else if (dev->member == 0)
        g->ifc.info.chpid = dev->pmcw.chpid[0];
    g->dev[dev->member] = dev;
    g->ifc.info.devnum[dev->member] = dev->devnum;
    g->ifc.info.subchan[dev->member] = dev->subchan;

    const struct glan_herc_model *m = glan_herc_model;
    if (m) {
        dev->devtype = m->devtype;
        /* A HIPERS LAN's devices are HiperSockets cards: channel path type
         * IQD, what CHSC's channel path description says (lschp). */
        dev->chptype[0] =
            glan_lan_type(g->ifc.lan->lan) == GLAN_LAN_HIPERS ? m->chptype_iqd : m->chptype;
        dev->pmcw.flag4 |= PMCW4_Q;
    }
    pthread_mutex_lock(&g->lock);
    g->open_members++;
    pthread_mutex_unlock(&g->lock);
    return 0;
}

/* The group is complete: hand the interface to the device model. */
static int group_complete(DEVBLK *dev, struct group *g)
{
    const struct glan_herc_model *m = glan_herc_model;
    if (!m) {
        glan_herc_iface_set_port(&g->ifc, g->own_port, NULL, 1);
        WRMSG(HHC04702, "W", GROUP_DEVNUM(g));
        return 0;
    }
    char err[160] = "";
    void *mctx = NULL;
    struct glan_port *port = NULL;
    int rc = m->iface_create(&g->ifc.info, g->ifc.lan->lan, &glan_herc_host_ops, g, &mctx, &port,
                             err, sizeof err);
    if (rc < 0) {
        WRMSG(HHC04701, "E", LCSS_DEVNUM, err[0] ? err : strerror(-rc));
        return -1;
    }
    g->model_ctx = mctx;
    glan_herc_iface_set_port(&g->ifc, port, m->name, 1);
    WRMSG(HHC04700, "I", GROUP_DEVNUM(g), g->ifc.lan->name, glan_port_index(port),
          g->lan_created ? " (LAN defined with default sizes)" : "");
    WRMSG(HHC04704, "I", GROUP_DEVNUM(g), g->ifc.info.devnum[0], g->ifc.info.devnum[1],
          g->ifc.info.devnum[2], m->name);
    return 0;
}

static void group_free(struct group *g)
{
    glan_herc_irq_forget(g);
    pthread_cond_destroy(&g->cond);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

/* Leave the LAN and free; the model (if any) is gone already. */
static void group_leave(struct group *g)
{
    if (g->own_port) {
        glan_port_detach(g->own_port);
        g->own_port = NULL;
    }
    glan_herc_iface_leave(&g->ifc);
    group_free(g);
}

static int glan_init_handler(DEVBLK *dev, int argc, char *argv[])
{
    /* A devinit of a member that is still attached changes nothing yet. */
    if (dev->group)
        return 0;

    /* Join an incomplete GLAN group if there is one (a statement that
     * names the devices one by one). */
    int complete = group_device(dev, 0);
    if (dev->group) {
        struct group *g = dev->group->grp_data;
        if (!g)
            return -1;
        if (argc > 0 && strcasecmp(argv[0], g->ifc.lan->name) != 0) {
            char msg[160];
            snprintf(msg, sizeof msg, "Joins the group of %04X on LAN '%s', not '%s'",
                     g->ifc.info.devnum[0], g->ifc.lan->name, argv[0]);
            WRMSG(HHC04701, "E", LCSS_DEVNUM, msg);
            return -1;
        }
        if (member_setup(dev, g) < 0)
            return -1;
        return complete ? group_complete(dev, g) : 0;
    }

    /* The first device of a new interface: check the statement before
     * anything is created, so a bad one leaves nothing behind. */
    struct stmt st;
    if (parse_stmt(dev, argc, argv, &st) < 0)
        return -1;
    struct group *g = calloc(1, sizeof *g);
    if (!g) {
        WRMSG(HHC04701, "E", LCSS_DEVNUM, "Out of memory");
        return -1;
    }
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->cond, NULL);
    g->ifc.info.lcss = SSID_TO_LCSS(dev->ssid);
    g->ifc.info.devnum[0] = dev->devnum;
    snprintf(g->ifc.info.name, sizeof g->ifc.info.name, "%u:%04X", g->ifc.info.lcss & 0xFu,
             dev->devnum);
    g->has_chpid = st.chpid >= 0;
    g->ifc.info.chpid = g->has_chpid ? (uint8_t)st.chpid : 0;

    char err[160] = "";
    int created = 0;
    if (glan_herc_iface_join(&g->ifc, st.lan, &created, err, sizeof err) < 0) {
        WRMSG(HHC04701, "E", LCSS_DEVNUM, err);
        group_free(g);
        return -1;
    }
    g->lan_created = created;
    if (!glan_herc_model) {
        /* No model to own a port: hdtglan attaches one that accepts
         * nothing, so the interface is on the LAN and in its counters. */
        struct glan_port_info pi = {.name = g->ifc.info.name, .kind = GLAN_PORT_GUEST};
        int rc = glan_port_attach(g->ifc.lan->lan, &pi, &idle_port_ops, g, &g->own_port);
        if (rc < 0) {
            snprintf(err, sizeof err, "Cannot attach to LAN '%s': %s", g->ifc.lan->name,
                     rc == -ENOSPC ? "the LAN has no free port" : strerror(-rc));
            WRMSG(HHC04701, "E", LCSS_DEVNUM, err);
            group_leave(g);
            return -1;
        }
        glan_herc_iface_set_port(&g->ifc, g->own_port, NULL, 0);
        WRMSG(HHC04700, "I", LCSS_DEVNUM, g->ifc.lan->name, glan_port_index(g->own_port),
              created ? " (LAN defined with default sizes)" : "");
    }

    group_device(dev, GLAN_HERC_SLOTS);
    dev->group->grp_data = g;
    if (member_setup(dev, g) < 0) {
        dev->group->grp_data = NULL;
        group_leave(g);
        return -1;
    }
    return 0;
}

/* The first member to close takes the model down: no new calls get in,
 * a clear of every slot ends the CCWs that wait (their device threads then
 * leave), and once no call is in flight the model resets, detaches its port
 * and frees.  Hyperion detaches a group as a whole, so the other members'
 * closes follow at once. */
static void model_stop(struct group *g)
{
    const struct glan_herc_model *m = glan_herc_model;
    pthread_mutex_lock(&g->lock);
    g->closing = 1;
    void *mctx = g->model_ctx;
    pthread_mutex_unlock(&g->lock);
    if (!mctx || !m)
        return;
    for (unsigned s = 0; s < GLAN_HERC_SLOTS; s++)
        m->clear(mctx, s);
    pthread_mutex_lock(&g->lock);
    while (g->calls > 0)
        pthread_cond_wait(&g->cond, &g->lock);
    g->model_ctx = NULL;
    pthread_mutex_unlock(&g->lock);
    glan_herc_iface_set_port(&g->ifc, NULL, m->name, 0);
    m->iface_destroy(mctx);
    glan_herc_irq_forget(g);
}

/* The last member gone: the interface leaves the LAN. */
static void group_teardown(struct group *g)
{
    char lan[GLAN_HERC_NAME_MAX + 1];
    snprintf(lan, sizeof lan, "%s", g->ifc.lan ? g->ifc.lan->name : "?");
    int lcss = g->ifc.info.lcss, devnum = g->ifc.info.devnum[0];
    group_leave(g); /* frees g */
    WRMSG(HHC04703, "I", lcss, devnum, lan);
}

static int glan_close_device(DEVBLK *dev)
{
    struct group *g = dev->dev_data;
    if (dev->fd >= 0) {
        close(dev->fd);
        dev->fd = -1;
    }
    if (!g)
        return 0;
    /* free_group clears dev->group before the close, so the interface is
     * reached through dev_data and counted down here. */
    pthread_mutex_lock(&g->lock);
    int first = !g->closing;
    pthread_mutex_unlock(&g->lock);
    if (first)
        model_stop(g);
    dev->dev_data = NULL;
    pthread_mutex_lock(&g->lock);
    int last = --g->open_members == 0;
    pthread_mutex_unlock(&g->lock);
    if (last)
        group_teardown(g);
    return 0;
}

/* ---- channel programs and QDIO: all through the seam ------------------- */

/* Every call into the model from a Hercules thread is counted, so that the
 * teardown can wait for the calls in flight before it destroys the model
 * (glan_osa_destroy wants no other call running).  NULL: no model, or the
 * interface is going away; otherwise pair with model_leave. */
static struct group *group_enter(struct group *g)
{
    if (!g || !glan_herc_model)
        return NULL;
    pthread_mutex_lock(&g->lock);
    int ok = g->model_ctx && !g->closing;
    if (ok)
        g->calls++;
    pthread_mutex_unlock(&g->lock);
    return ok ? g : NULL;
}

static struct group *model_enter(DEVBLK *dev)
{
    return group_enter(dev->dev_data);
}

static void model_leave(struct group *g)
{
    pthread_mutex_lock(&g->lock);
    if (--g->calls == 0 && g->closing)
        pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

void glan_herc_resume(struct group *g)
{
    if (!group_enter(g))
        return;
    if (glan_herc_model->resume)
        glan_herc_model->resume(g->model_ctx);
    model_leave(g);
}

void glan_herc_iface_describe(struct glan_herc_iface *ifc, char *buf, size_t len)
{
    struct group *g = (struct group *)(void *)((char *)ifc - offsetof(struct group, ifc));
    buf[0] = '\0';
    if (!glan_herc_model || !glan_herc_model->describe || !group_enter(g))
        return;
    glan_herc_model->describe(g->model_ctx, 2, buf, len);
    model_leave(g);
    size_t n = strlen(buf);
    if (n < len)
        snprintf(buf + n, len - n, "; the helper thread queued %" PRIu64 " of the interruptions",
                 __atomic_load_n(&g->irq_deferred, __ATOMIC_RELAXED));
}

static void glan_execute_ccw(DEVBLK *dev, BYTE code, BYTE flags, BYTE chained, U32 count,
                             BYTE prevcode, int ccwseq, BYTE *iobuf, BYTE *more, BYTE *unitstat,
                             U32 *residual)
{
    (void)chained;
    (void)prevcode;
    (void)ccwseq;
    struct group *g = model_enter(dev);
    if (!g) {
        /* No device model (or the interface is going away): basic sense still reports why the rest
         * failed; every other command is rejected. */
        if (code == 0x04) {
            U32 n = count < (U32)dev->numsense ? count : (U32)dev->numsense;
            memcpy(iobuf, dev->sense, n);
            *residual = count - n;
            *more = count < (U32)dev->numsense;
            memset(dev->sense, 0, sizeof dev->sense);
            *unitstat = CSW_CE | CSW_DE;
            return;
        }
        memset(dev->sense, 0, sizeof dev->sense);
        dev->sense[0] = SENSE_CR;
        *residual = count;
        *more = 0;
        *unitstat = CSW_CE | CSW_DE | CSW_UC;
        return;
    }
    unsigned slot = (unsigned)dev->member;
    struct glan_osa_io c = {.cmd = code, .flags = flags, .count = count, .buf = iobuf};
    pthread_mutex_lock(&g->lock);
    g->pend[slot].ended = 0;
    pthread_mutex_unlock(&g->lock);
    /* Hyperion's SIGA, SQBS and EQBS answer cc 1 unless the subchannel's
     * SCSW says QDIO is active (qdio.c), and only the device knows when:
     * while its ACTIVATE QUEUES CCW runs. */
    int aq = code == GLAN_OSA_CMD_AQUEUE;
    if (aq)
        dev->scsw.flag2 |= SCSW2_Q;
    if (glan_herc_model->ccw(g->model_ctx, slot, &c) == GLAN_OSA_PENDING) {
        /* A READ waiting for a control reply, ACTIVATE QUEUES while the
         * queues run: this device thread waits until the model ends the
         * CCW (reply queued, halt, clear). */
        pthread_mutex_lock(&g->lock);
        while (!g->pend[slot].ended)
            pthread_cond_wait(&g->cond, &g->lock);
        c.unitstat = g->pend[slot].unitstat;
        c.residual = g->pend[slot].residual;
        c.more = 0;
        pthread_mutex_unlock(&g->lock);
    }
    if (aq)
        dev->scsw.flag2 &= ~SCSW2_Q;
    *unitstat = c.unitstat;
    *residual = c.residual;
    *more = c.more != 0;
    if (c.unitstat & CSW_UC)
        glan_herc_model->sense(g->model_ctx, slot, dev->sense);
    model_leave(g);
}

static void glan_halt_or_clear(DEVBLK *dev)
{
    struct group *g = model_enter(dev);
    if (!g)
        return;
    /* Hyperion has one callback for HSCH/HIO and for CSCH and device reset;
     * only a halt leaves the function-control halt bit alone. */
    if ((dev->scsw.flag2 & SCSW2_FC_HALT) && !(dev->scsw.flag2 & SCSW2_FC_CLEAR))
        glan_herc_model->halt(g->model_ctx, (unsigned)dev->member);
    else
        glan_herc_model->clear(g->model_ctx, (unsigned)dev->member);
    model_leave(g);
}

static int glan_siga_r(DEVBLK *dev, U32 qmask)
{
    struct group *g = model_enter(dev);
    if (!g)
        return 3;
    glan_herc_siga_dev = dev;
    int cc = glan_herc_model->siga_r(g->model_ctx, qmask);
    glan_herc_siga_dev = NULL;
    model_leave(g);
    return cc;
}

static int glan_siga_w(DEVBLK *dev, U32 qmask)
{
    struct group *g = model_enter(dev);
    if (!g)
        return 3;
    glan_herc_siga_dev = dev;
    int cc = glan_herc_model->siga_w(g->model_ctx, qmask);
    glan_herc_siga_dev = NULL;
    model_leave(g);
    return cc;
}

static int glan_siga_s(DEVBLK *dev, U32 oqmask, U32 iqmask)
{
    struct group *g = model_enter(dev);
    if (!g)
        return 3;
    glan_herc_siga_dev = dev;
    int cc = glan_herc_model->siga_s(g->model_ctx, oqmask, iqmask);
    glan_herc_siga_dev = NULL;
    model_leave(g);
    return cc;
}

static int glan_ssqd(DEVBLK *dev, void *desc)
{
    struct group *g = model_enter(dev);
    if (g) { /* the core zeroed the 32-byte entry; without a model it stays so */
        glan_herc_model->ssqd(g->model_ctx, (unsigned)dev->member, dev->subchan, desc);
        model_leave(g);
    }
    return 0;
}

static int glan_ssci(DEVBLK *dev, void *desc)
{
    struct group *g = model_enter(dev);
    if (!g)
        return 3;
    /* CHSC 0x0021 (chsc.h CHSC_REQ21): operation code 0 sets the adapter
     * summary indicator and the device state change indicator, each with
     * its storage key (high and low nibble of sk). */
    const CHSC_REQ21 *req = desc;
    U16 opc;
    U64 alsi, dsci;
    FETCH_HW(opc, req->opcode);
    FETCH_DW(alsi, req->alsi);
    FETCH_DW(dsci, req->dsci);
    unsigned ks = (req->sk & CHSC_REQ21_KS) >> 4, kc = req->sk & CHSC_REQ21_KC;
    int rc = 3;
    if (opc == 0 && glan_herc_model->set_indicators(g->model_ctx, alsi, ks, dsci, kc) == 0) {
        /* Hyperion presents this device's PCI as an adapter interruption
         * when thinint is set (channel.c present_io_interrupt). */
        dev->qdio.thinint = (alsi && dsci) ? 1 : 0;
        rc = 0;
    } else if (opc == 0) {
        dev->qdio.thinint = 0;
    }
    model_leave(g);
    return rc;
}

/* ---- devlist ------------------------------------------------------------- */

static void glan_query_device(DEVBLK *dev, char **devclass, int buflen, char *buffer)
{
    char filename[PATH_MAX + 1];
    BEGIN_DEVICE_CLASS_QUERY("OSA", dev, devclass, buflen, buffer);
    (void)filename;

    struct group *g = dev->dev_data;
    static const char *const role[] = {"read", "write", "data"};
    const char *r = (dev->member >= 0 && dev->member < 3) ? role[dev->member] : "?";
    char state[192] = ""; /* seven 20-digit counters and their words */
    struct group *mg = model_enter(dev);
    if (mg && glan_herc_model->describe)
        glan_herc_model->describe(mg->model_ctx, (unsigned)dev->member, state, sizeof state);
    if (mg)
        model_leave(mg);
    if (!glan_herc_model)
        snprintf(state, sizeof state, "no device model");
    struct glan_port *port = g ? g->ifc.port : NULL;
    snprintf(buffer, (size_t)buflen, "%s port %d %s%s %s IO[%" PRIu64 "]",
             (g && g->ifc.lan) ? g->ifc.lan->name : "-", port ? glan_port_index(port) : -1,
             (g && g->ifc.complete) ? "" : "*Incomplete ", r, state, dev->excps);
}

/* ---- HDL sections ------------------------------------------------------ */

static BYTE no_immediate[256];

static DEVHND glan_device_hndinfo = {
    .init = &glan_init_handler,
    .exec = &glan_execute_ccw,
    .close = &glan_close_device,
    .query = &glan_query_device,
    .halt = &glan_halt_or_clear,
    .immed = no_immediate,
    .siga_r = &glan_siga_r,
    .siga_w = &glan_siga_w,
    .siga_s = &glan_siga_s,
    .ssqd = &glan_ssqd,
    .ssci = &glan_ssci,
};

/* The model's immediate-command table replaces ours once it is loaded;
 * called from the dependency section, before any device is defined. */
static void adopt_model(void)
{
    if (glan_herc_model && glan_herc_model->immediate)
        memcpy(no_immediate, glan_herc_model->immediate, sizeof no_immediate);
}

/* The HDL entry points (hdl.h builds their definitions); prototypes here
 * because Hyperion's headers declare none. */
int hdl_check_depends_ep(DEPCHK *depchk);
void hdl_register_symbols_ep(REGSYM *regsym);
void hdl_resolve_symbols_ep(GETSYM *getsym);
void hdl_define_devtypes_ep(DEFDEV *defdev);
int hdl_on_module_unload_ep(void);

HDL_DEPENDENCY_SECTION;
{
    HDL_DEPENDENCY(HERCULES);
    HDL_DEPENDENCY(DEVBLK);
    HDL_DEPENDENCY(SYSBLK);
    adopt_model();
}
END_DEPENDENCY_SECTION

HDL_REGISTER_SECTION;
{
    HDL_REGISTER(system_command, glan_herc_system_command);
}
END_REGISTER_SECTION

HDL_RESOLVER_SECTION;
{
    (void)getsym;
}
END_RESOLVER_SECTION

HDL_DEVICE_SECTION;
{
    HDL_DEVICE(GLAN, glan_device_hndinfo);
    /* hercules-patch/0001 equates GUESTLAN to this module too. */
    HDL_DEVICE(GUESTLAN, glan_device_hndinfo);
}
END_DEVICE_SECTION

HDL_FINAL_SECTION;
{
    /* HDL refuses to unload a module while a device uses it, so every LAN
     * left has no interface of ours. */
    glan_herc_irq_shutdown();
    glan_herc_cmd_shutdown();
    glan_herc_landir_shutdown();
}
END_FINAL_SECTION
