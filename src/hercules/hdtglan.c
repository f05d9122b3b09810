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
#include <stdatomic.h>
#include <unistd.h>

#include "glanmod.h"
#include "msgs.h"

/* The options a device statement takes after the LAN name. */
struct stmt {
    const char *lan;
    int chpid; /* -1: not given */
};

/* Guards every interface's open_members and model state against the
 * device threads and the panel.  Never held while calling into the base. */
static pthread_mutex_t iface_lock = PTHREAD_MUTEX_INITIALIZER;

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

/* ---- the port: datagrams from the LAN ----------------------------------- */

static int port_deliver(void *ctx, const struct glan_dgram *dg)
{
    struct glan_herc_iface *ifc = ctx;
    void *mctx = atomic_load_explicit(&ifc->model_live, memory_order_acquire);
    if (!mctx || !glan_herc_model)
        return -ENETDOWN;
    return glan_herc_model->deliver(mctx, dg);
}

static void port_flush(void *ctx)
{
    struct glan_herc_iface *ifc = ctx;
    void *mctx = atomic_load_explicit(&ifc->model_live, memory_order_acquire);
    if (mctx && glan_herc_model && glan_herc_model->flush)
        glan_herc_model->flush(mctx);
}

static const struct glan_port_ops port_ops = {
    .deliver = port_deliver,
    .flush = port_flush,
};

/* ---- init / close ------------------------------------------------------ */

/* Per-device setup for every member, first or joining. */
static int member_setup(DEVBLK *dev, struct glan_herc_iface *ifc)
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
    dev->dev_data = ifc;
    memset(dev->sense, 0, sizeof dev->sense);
    dev->numsense = 32;
    if (ifc->has_chpid)
        dev->pmcw.chpid[0] = ifc->info.chpid;
    else if (dev->member == 0)
        ifc->info.chpid = dev->pmcw.chpid[0];
    ifc->info.devnum[dev->member] = dev->devnum;

    const struct glan_herc_model *m = glan_herc_model;
    if (m && m->sense_id && m->sense_id_len >= 6 && m->sense_id_len <= sizeof dev->devid) {
        memcpy(dev->devid, m->sense_id, m->sense_id_len);
        dev->numdevid = (int)m->sense_id_len;
        dev->devtype = (U16)(dev->devid[4] << 8 | dev->devid[5]);
        dev->chptype[0] = CHP_TYPE_OSD;
        dev->pmcw.flag4 |= PMCW4_Q;
    } else {
        dev->numdevid = 0;
    }
    pthread_mutex_lock(&iface_lock);
    ifc->open_members++;
    pthread_mutex_unlock(&iface_lock);
    return 0;
}

/* The group is complete: hand the interface to the device model. */
static int group_complete(DEVBLK *dev, struct glan_herc_iface *ifc)
{
    const struct glan_herc_model *m = glan_herc_model;
    ifc->complete = 1;
    if (!m) {
        WRMSG(HHC04702, "W", LCSS_DEVNUM);
        return 0;
    }
    char err[160] = "";
    void *mctx = NULL;
    int rc = m->iface_create(&ifc->info, &mctx, err, sizeof err);
    if (rc < 0) {
        WRMSG(HHC04701, "E", LCSS_DEVNUM, err[0] ? err : strerror(-rc));
        return -1;
    }
    ifc->model_ctx = mctx;
    atomic_store_explicit(&ifc->model_live, mctx, memory_order_release);
    WRMSG(HHC04704, "I", LCSS_DEVNUM, ifc->info.devnum[0], ifc->info.devnum[1], ifc->info.devnum[2],
          m->name);
    return 0;
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
        struct glan_herc_iface *ifc = dev->group->grp_data;
        if (!ifc)
            return -1;
        if (argc > 0 && ifc->lan && strcasecmp(argv[0], ifc->lan->name) != 0) {
            char msg[160];
            snprintf(msg, sizeof msg, "Joins the group of %04X on LAN '%s', not '%s'",
                     ifc->info.devnum[0], ifc->lan->name, argv[0]);
            WRMSG(HHC04701, "E", LCSS_DEVNUM, msg);
            return -1;
        }
        if (member_setup(dev, ifc) < 0)
            return -1;
        return complete ? group_complete(dev, ifc) : 0;
    }

    /* The first device of a new interface: check the statement before
     * anything is created, so a bad one leaves nothing behind. */
    struct stmt st;
    if (parse_stmt(dev, argc, argv, &st) < 0)
        return -1;
    struct glan_herc_iface *ifc = calloc(1, sizeof *ifc);
    if (!ifc) {
        WRMSG(HHC04701, "E", LCSS_DEVNUM, "Out of memory");
        return -1;
    }
    ifc->info.lcss = SSID_TO_LCSS(dev->ssid);
    ifc->info.devnum[0] = dev->devnum;
    ifc->has_chpid = st.chpid >= 0;
    ifc->info.chpid = ifc->has_chpid ? (uint8_t)st.chpid : 0;

    char err[160] = "";
    int created = 0;
    if (glan_herc_iface_attach(ifc, st.lan, &port_ops, ifc, &created, err, sizeof err) < 0) {
        WRMSG(HHC04701, "E", LCSS_DEVNUM, err);
        free(ifc);
        return -1;
    }
    WRMSG(HHC04700, "I", LCSS_DEVNUM, ifc->lan->name, glan_port_index(ifc->info.port),
          created ? " (LAN defined with default sizes)" : "");

    group_device(dev, GLAN_HERC_MEMBERS);
    dev->group->grp_data = ifc;
    if (member_setup(dev, ifc) < 0) {
        dev->group->grp_data = NULL;
        glan_herc_iface_detach(ifc);
        free(ifc);
        return -1;
    }
    return 0;
}

/* Last member gone: stop the model, leave the LAN, free. */
static void iface_teardown(DEVBLK *dev, struct glan_herc_iface *ifc)
{
    const struct glan_herc_model *m = glan_herc_model;
    void *mctx = ifc->model_ctx;
    if (mctx && m)
        m->iface_stop(mctx);
    atomic_store_explicit(&ifc->model_live, NULL, memory_order_release);
    char lan[GLAN_HERC_NAME_MAX + 1] = "";
    if (ifc->lan)
        snprintf(lan, sizeof lan, "%s", ifc->lan->name);
    glan_herc_iface_detach(ifc);
    if (mctx && m)
        m->iface_destroy(mctx);
    if (lan[0])
        WRMSG(HHC04703, "I", LCSS_DEVNUM, lan);
    free(ifc);
}

static int glan_close_device(DEVBLK *dev)
{
    struct glan_herc_iface *ifc = dev->dev_data;
    dev->dev_data = NULL;
    if (dev->fd >= 0) {
        close(dev->fd);
        dev->fd = -1;
    }
    if (!ifc)
        return 0;
    /* free_group clears dev->group before the close, so the interface is
     * reached through dev_data and counted down here. */
    pthread_mutex_lock(&iface_lock);
    int last = --ifc->open_members == 0;
    pthread_mutex_unlock(&iface_lock);
    if (last)
        iface_teardown(dev, ifc);
    return 0;
}

/* ---- channel programs and QDIO: all through the seam ------------------- */

static void *model_ctx_of(DEVBLK *dev)
{
    struct glan_herc_iface *ifc = dev->dev_data;
    return (ifc && glan_herc_model) ? ifc->model_ctx : NULL;
}

static void glan_execute_ccw(DEVBLK *dev, BYTE code, BYTE flags, BYTE chained, U32 count,
                             BYTE prevcode, int ccwseq, BYTE *iobuf, BYTE *more, BYTE *unitstat,
                             U32 *residual)
{
    void *mctx = model_ctx_of(dev);
    if (!mctx) {
        /* No device model: basic sense still reports why the rest failed;
         * every other command is rejected. */
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
    struct glan_herc_ccw c = {
        .member = dev->member,
        .code = code,
        .flags = flags,
        .chained = chained,
        .prevcode = prevcode,
        .seq = ccwseq,
        .count = count,
        .data = iobuf,
    };
    glan_herc_model->ccw(mctx, &c);
    *unitstat = c.unitstat;
    *more = c.more;
    *residual = c.residual;
    if (c.unitstat & CSW_UC)
        memcpy(dev->sense, c.sense,
               sizeof c.sense < sizeof dev->sense ? sizeof c.sense : sizeof dev->sense);
}

static void glan_halt_or_clear(DEVBLK *dev)
{
    void *mctx = model_ctx_of(dev);
    if (mctx)
        glan_herc_model->halt(mctx, dev->member);
}

static int glan_siga_r(DEVBLK *dev, U32 qmask)
{
    void *mctx = model_ctx_of(dev);
    return mctx ? glan_herc_model->siga_r(mctx, qmask) : 3;
}

static int glan_siga_w(DEVBLK *dev, U32 qmask)
{
    void *mctx = model_ctx_of(dev);
    return mctx ? glan_herc_model->siga_w(mctx, qmask) : 3;
}

static int glan_siga_s(DEVBLK *dev, U32 oqmask, U32 iqmask)
{
    void *mctx = model_ctx_of(dev);
    return mctx ? glan_herc_model->siga_s(mctx, oqmask, iqmask) : 3;
}

static int glan_ssqd(DEVBLK *dev, void *desc)
{
    void *mctx = model_ctx_of(dev);
    if (!mctx || !glan_herc_model->ssqd)
        return 0; /* the core zeroed the entry: no QDIO data */
    return glan_herc_model->ssqd(mctx, desc);
}

static int glan_ssci(DEVBLK *dev, void *desc)
{
    void *mctx = model_ctx_of(dev);
    return mctx ? glan_herc_model->ssci(mctx, desc) : 1;
}

/* ---- devlist ------------------------------------------------------------- */

static void glan_query_device(DEVBLK *dev, char **devclass, int buflen, char *buffer)
{
    char filename[PATH_MAX + 1];
    BEGIN_DEVICE_CLASS_QUERY("OSA", dev, devclass, buflen, buffer);
    (void)filename;

    struct glan_herc_iface *ifc = dev->dev_data;
    static const char *const role[] = {"read", "write", "data"};
    const char *r = (dev->member >= 0 && dev->member < 3) ? role[dev->member] : "?";
    char state[96] = "";
    void *mctx = model_ctx_of(dev);
    if (mctx && glan_herc_model->describe)
        glan_herc_model->describe(mctx, dev->member, state, sizeof state);
    else if (!glan_herc_model)
        snprintf(state, sizeof state, "no device model");
    snprintf(buffer, (size_t)buflen, "%s port %d %s%s %s IO[%" PRIu64 "]",
             (ifc && ifc->lan) ? ifc->lan->name : "-",
             (ifc && ifc->info.port) ? glan_port_index(ifc->info.port) : -1,
             (ifc && ifc->complete) ? "" : "*Incomplete ", r, state, dev->excps);
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
    glan_herc_landir_shutdown();
}
END_FINAL_SECTION
