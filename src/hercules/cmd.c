/*
 * The `glan` command of hdtglan, for the Hercules panel and the configuration
 * file alike: `glan define` adds a LAN to this process's directory
 * (landir.c), private or shared with other Hercules processes through shared
 * memory, `glan delete` removes an unused one, `glan trace` writes what
 * enters a LAN to a pcap file, `glan query` shows each LAN with its ports
 * (of every process, for a shared LAN), device numbers, state, registered
 * addresses and every counter the base keeps, as z/VM's QUERY VSWITCH
 * DETAILS does.  `glan uplink` hands its words to the uplink spec parser,
 * which knows the kinds (uplinkspec.h); the query shows any uplink through
 * its status op, and a shared LAN's standby is the controller's
 * (controller.h), which tells this file when it takes the uplink over.
 *
 * Hyperion's command table is fixed at build time, so the module hooks
 * Hercules' `system_command` entry, which CallHercCmd offers every command
 * before its own table; commands that are not ours go to the next hook.
 * `help glan` is answered here too, in the form Hercules' help uses.
 */
#include "hstdinc.h"
#include "hercules.h"

#include <errno.h>
#include <limits.h>
#include <unistd.h>

#include "glanmod.h"
#include "guestlan/uplinkspec.h"
#include "msgs.h"

/* The help before the uplink kinds, whose lines each kind brings
 * (uplinkspec.h), and after them. */
static const char *const help_head[] = {
    "Format: \"glan define lan [shared name] [ports n] [buffers n] [bufsize n]\"",
    "                         \"[midbuffers n] [midsize n] [bigbuffers n] [bigsize n]\"",
    "                         \"[queue n] [addrs n] [groups n] [transport ip|ethernet]\"",
    "                         \"[type qdio|hipers] [mfs 16k|24k|40k|64k]\"",
    "                         \"[macprefix xx:xx:xx[:xx]] [uplink UPLINK]\"",
    "        \"glan uplink lan UPLINK\"",
    "        \"glan uplink lan none\"",
    "        \"glan delete lan\"",
    "        \"glan trace lan start file [port devnum] [dropped] [snaplen n]\"",
    "        \"glan trace lan stop\"",
    "        \"glan query [lan]\"",
    "",
    "Guest LANs of the GLAN device type (module hdtglan).  A device",
    "statement 'devnum.3 GLAN lan [chpid xx]' attaches one guest interface",
    "(read, write and data device) to LAN 'lan', defining it with default",
    "sizes when it does not exist yet.",
    "",
    "  define   defines a LAN: ports (with the uplink, default 64), base",
    "           storage in three sizes: small buffers (default 2048) of",
    "           bufsize bytes (default 2048), medium ones (default 512)",
    "           of midsize bytes (default 9216) and large ones (default",
    "           128) of bigsize bytes (default 57344, the largest",
    "           datagram and MTU); the wait queue of each port (a power of two,",
    "           default 256), registered addresses and multicast groups",
    "           (default 1024 each).  Define a LAN before the device",
    "           statements that use it to choose its sizes.",
    "           'transport ip' (the default) carries IP datagrams for",
    "           layer-3 guests (qeth layer2=0); 'transport ethernet' carries",
    "           Ethernet frames for layer-2 guests (qeth's default), as",
    "           z/VM's VSWITCH IP and ETHERNET.  A guest of the other layer",
    "           is refused when it sets its card online.",
    "           'type qdio' (the default) gives every guest an OSA-Express;",
    "           'type hipers' a HiperSockets card (Linux: hsiN, layer 3),",
    "           as z/VM's DEFINE LAN TYPE HIPERS, whose MTU follows from",
    "           'mfs', the maximum frame size: 64k (the default) gives",
    "           57344, 40k 32768, 24k 16384, 16k 8192.",
    "           'macprefix 02:aa:bb' sets the first bytes of the MACs the",
    "           LAN hands its guests (z/VM's VMLAN MACPREFIX; a fourth byte",
    "           may follow), the port's number making the rest; by default",
    "           02 and three bytes of a hash of the LAN's name, so that",
    "           LANs of other names hand out other MACs.",
    "           'shared name' puts the LAN in shared memory segment 'name':",
    "           every Hercules process that defines a LAN shared with that",
    "           name joins the same LAN (one base, every port seen by all).",
    "           The first one creates the segment with its sizes; the",
    "           others attach to it as it is.  A segment of another",
    "           version or layout is refused.",
    "  uplink   gives a LAN its way out.  Datagrams to addresses no guest",
    "           registered go to it; what arrives from it is delivered by",
    "           destination address.  'none' takes the uplink away.  UPLINK:",
};

static const char *const help_tail[] = {
    "           Any of them may end with 'controller dev [backup dev]': the",
    "           uplink is then opened when the guest interface at device",
    "           dev ([lcss:]devnum) starts the LAN and closed when it stops;",
    "           the backup takes over while the controller is away.  The",
    "           data never passes through the controller's guest.",
    "           A shared LAN has one uplink, held by the process that gave",
    "           it first; a process that names one while another holds it",
    "           stands by and takes the uplink over when the holder ends.",
    "  delete   deletes a LAN no interface is attached to (a shared LAN:",
    "           this process leaves it; its segment stays).",
    "  trace    starts or stops a trace: every datagram entering the LAN",
    "           (through a port of this process, for a shared LAN) is",
    "           written to pcap file 'file' (raw IP, tshark reads it).",
    "           port devnum keeps only what the interface at devnum sent,",
    "           dropped only datagrams the LAN dropped, snaplen n the first",
    "           n bytes of each.  One trace per LAN at a time.",
    "  query    shows every LAN, or the one named: its ports with their",
    "           device numbers and state, registered addresses, and all",
    "           counters (sent, delivered, dropped by reason, received),",
    "           the owner process of each port of a shared LAN, the trace.",
    "",
    "Hyperion with guestlan's patches loads hdtglan at startup.  Without",
    "them, glan statements in the configuration file must follow the first",
    "GLAN device statement or an 'ldmod hdtglan' statement.",
};

static void print_help(void)
{
    for (size_t i = 0; i < sizeof help_head / sizeof help_head[0]; i++)
        WRMSG(HHC01603, "I", help_head[i]);
    const struct glan_uplink_kind *k;
    for (size_t i = 0; (k = glan_uplink_kind_at(i)); i++)
        for (const char *const *h = k->help; h && *h; h++)
            WRMSG(HHC01603, "I", *h);
    for (size_t i = 0; i < sizeof help_tail / sizeof help_tail[0]; i++)
        WRMSG(HHC01603, "I", help_tail[i]);
}

static int cmd_error(const char *fmt, ...) ATTR_PRINTF(1, 2);
static int cmd_error(const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    WRMSG(HHC04712, "E", msg);
    return -1;
}

/* ---- glan define / delete ---------------------------------------------- */

static int parse_u32(const char *text, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(text, &end, 0);
    if (!text[0] || *end || errno || v > UINT32_MAX || text[0] == '-')
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* "[lcss:]devnum" as hdtglan names an interface's port ("0:0600"). */
static int parse_port(const char *text, char *out, size_t len)
{
    unsigned lcss = 0, dev;
    char *end;
    const char *colon = strchr(text, ':');
    if (colon) {
        lcss = (unsigned)strtoul(text, &end, 10);
        if (end != colon || lcss > 3)
            return -1;
        text = colon + 1;
    }
    dev = (unsigned)strtoul(text, &end, 16);
    if (!text[0] || *end || strlen(text) > 4)
        return -1;
    snprintf(out, len, "%u:%04X", lcss, dev);
    return 0;
}

/* The uplink's notes from the controller's standby watcher (below). */
static void uplink_notify(void *arg, const struct glan_ctl_note *note);

/* An uplink from argv[i..argc-1]: the kind and its options for the
 * uplink spec parser, then [controller dev [backup dev]].  -1 with a
 * message; else 0, and the spec is the caller's (release it or hand it on). */
struct uplink_args {
    struct glan_uplink_spec spec;
    struct glan_ctl_config cc;
    char ctl[2][16];
    char text[256]; /* the words as given, for the standby's messages */
};

static int parse_uplink(int argc, char *argv[], int i, struct uplink_args *ua)
{
    memset(ua, 0, sizeof *ua);
    int end = i;
    while (end < argc && strcasecmp(argv[end], "controller") != 0)
        end++;
    for (int k = end, n = 0; k < argc; k += 2, n++) {
        static const char *const kw[2] = {"controller", "backup"};
        if (n > 1 || strcasecmp(argv[k], kw[n]) != 0)
            return cmd_error("Unexpected '%s': the uplink ends with [controller dev [backup dev]]",
                             argv[k]);
        if (k + 1 >= argc || parse_port(argv[k + 1], ua->ctl[n], sizeof ua->ctl[n]) < 0)
            return cmd_error("'%s' needs a device number ([lcss:]devnum, e.g. 0600)", kw[n]);
    }
    char err[256];
    if (glan_uplink_spec_parse(end - i, argv + i, &ua->spec, err, sizeof err) < 0)
        return cmd_error("Uplink: %s", err);
    size_t used = 0;
    for (int k = i; k < argc && used < sizeof ua->text; k++)
        used += (size_t)snprintf(ua->text + used, sizeof ua->text - used, "%s%s", k > i ? " " : "",
                                 argv[k]);
    ua->cc.controller = ua->ctl[0];
    ua->cc.backup = ua->ctl[1];
    ua->cc.text = ua->text;
    ua->cc.notify = uplink_notify;
    return 0;
}

static void ctl_status_of(struct glan_herc_lan *l, void *arg)
{
    if (l->ctl)
        glan_ctl_status(l->ctl, arg);
}

/* What the uplink of LAN lan does now that its controller runs: attached,
 * or waiting for (or started by) its controller. */
static void say_uplink(const char *lan, const struct glan_ctl_status *st)
{
    if (!st->controller[0]) {
        char device[96];
        snprintf(device, sizeof device, "%s", st->what);
        device[strcspn(device, " ")] = '\0';
        WRMSG(HHC04714, "I", lan, st->kind, device);
        return;
    }
    char msg[400];
    snprintf(msg, sizeof msg, "LAN '%s' uplink %s '%s' controlled by %s%s%s: %s", lan, st->kind,
             st->what, st->controller, st->backup[0] ? ", backup " : "", st->backup, st->message);
    WRMSG(HHC04713, "I", msg);
}

/* The uplink parsed into ua for LAN lan: brought up here, or, on a shared
 * LAN whose uplink another process holds, kept by the controller as this
 * process's standby. */
static int set_uplink(const char *lan, struct uplink_args *ua)
{
    char err[256] = "", kind[16], what[96];
    snprintf(kind, sizeof kind, "%s", ua->spec.kind);
    snprintf(what, sizeof what, "%s", ua->spec.what);
    int rc = glan_herc_lan_set_uplink(lan, &ua->spec, &ua->cc, err, sizeof err);
    if (rc == -ENOENT)
        return cmd_error("No LAN '%s' is defined", lan);
    if (rc == -EEXIST)
        return cmd_error("LAN '%s' has an uplink already; 'glan uplink %s none' first", lan, lan);
    if (rc < 0)
        return cmd_error("Uplink %s '%s': %s", kind, what, err[0] ? err : strerror(-rc));
    struct glan_ctl_status st = {0};
    glan_herc_lan_foreach(lan, ctl_status_of, &st);
    if (st.standby) {
        char msg[400];
        snprintf(msg, sizeof msg,
                 "LAN '%s' uplink is held by process %ld; this process takes it over with '%s' "
                 "when that one ends",
                 lan, st.standby_holder, st.text);
        WRMSG(HHC04713, "I", msg);
        return 0;
    }
    say_uplink(lan, &st);
    return 0;
}

/* A standby of a shared LAN takes the uplink over (the controller's watcher
 * thread, src/base/controller.c): the same messages as a statement that
 * brings the uplink up.  arg is the LAN's directory entry, alive while its
 * controller is; nothing here may take the directory lock (see
 * controller.h, Locking). */
static void uplink_notify(void *arg, const struct glan_ctl_note *note)
{
    const struct glan_herc_lan *l = arg;
    const struct glan_ctl_status *st = note->status;
    char msg[400];
    switch (note->kind) {
    case GLAN_CTL_TAKING_OVER:
        snprintf(msg, sizeof msg, "LAN '%s' uplink: its holder is gone, taking it over with '%s'",
                 l->name, st->text);
        WRMSG(HHC04713, "I", msg);
        break;
    case GLAN_CTL_TOOK_OVER:
        say_uplink(l->name, st);
        break;
    case GLAN_CTL_TAKEOVER_FAILED:
        cmd_error("Uplink %s '%s': %s", st->kind, st->what, note->error);
        break;
    }
}

void glan_herc_cmd_shutdown(void)
{
    glan_ctl_shutdown();
}

static int cmd_uplink(int argc, char *argv[])
{
    if (argc < 4) {
        char kinds[64];
        glan_uplink_kinds_list(kinds, sizeof kinds, 0, "|");
        return cmd_error("Usage: glan uplink lan %s ifname [options] "
                         "[controller dev [backup dev]] | glan uplink lan none",
                         kinds);
    }
    char name[GLAN_HERC_NAME_MAX + 1], err[160];
    if (glan_herc_lan_name(argv[2], name, sizeof name, err, sizeof err) < 0)
        return cmd_error("%s", err);
    if (strcasecmp(argv[3], "none") == 0) {
        int rc = glan_herc_lan_clear_uplink(name);
        if (rc == -ENOENT)
            return cmd_error("No LAN '%s' is defined", name);
        if (rc == -ESRCH)
            return cmd_error("LAN '%s' has no uplink", name);
        WRMSG(HHC04715, "I", name);
        return 0;
    }
    struct uplink_args ua;
    if (parse_uplink(argc, argv, 3, &ua) < 0)
        return -1;
    return set_uplink(name, &ua);
}

struct shm_info {
    const char *name;
    char shm[64];
    struct glan_lan_config cfg;
};

static void shm_info_of(struct glan_herc_lan *l, void *arg)
{
    struct shm_info *si = arg;
    snprintf(si->shm, sizeof si->shm, "%s", l->shm);
    glan_lan_get_config(l->lan, &si->cfg);
}

/* The memory a LAN of this configuration takes, in MiB, rounded up. */
static unsigned mib(const struct glan_lan_config *cfg)
{
    return (unsigned)((glan_lan_config_bytes(cfg) + (1u << 20) - 1) >> 20);
}

/* "type qdio" or "type hipers, mfs 64k". */
static const char *lan_type_text(const struct glan_lan_config *c, char *buf, size_t len)
{
    if (c->type == GLAN_LAN_HIPERS)
        snprintf(buf, len, "type hipers, mfs %uk", c->mfs ? c->mfs : GLAN_MFS_DEFAULT);
    else
        snprintf(buf, len, "type %s", glan_lan_type_name((enum glan_lan_type)c->type));
    return buf;
}

/* What the define messages and glan query say after "transport": "ip",
 * or "ip, type hipers, mfs 64k" (a QDIO LAN's type is the default and not
 * said). */
static const char *lan_kind(const struct glan_lan_config *c, char *buf, size_t len)
{
    char t[48];
    if (c->type == GLAN_LAN_HIPERS)
        snprintf(buf, len, "%s, %s", glan_transport_name((enum glan_transport)c->transport),
                 lan_type_text(c, t, sizeof t));
    else
        snprintf(buf, len, "%s", glan_transport_name((enum glan_transport)c->transport));
    return buf;
}

static int cmd_define(int argc, char *argv[])
{
    if (argc < 3)
        return cmd_error("%s", "Missing LAN name: glan define lan [options]");
    struct glan_lan_config cfg = {.name = argv[2]};
    static const struct {
        const char *kw;
        size_t off;
    } opts[] = {
        {"ports", offsetof(struct glan_lan_config, max_ports)},
        {"buffers", offsetof(struct glan_lan_config, buffers)},
        {"bufsize", offsetof(struct glan_lan_config, buffer_size)},
        {"midbuffers", offsetof(struct glan_lan_config, mid_buffers)},
        {"midsize", offsetof(struct glan_lan_config, mid_size)},
        {"bigbuffers", offsetof(struct glan_lan_config, big_buffers)},
        {"bigsize", offsetof(struct glan_lan_config, big_size)},
        {"queue", offsetof(struct glan_lan_config, queue_len)},
        {"addrs", offsetof(struct glan_lan_config, max_addrs)},
        {"groups", offsetof(struct glan_lan_config, max_groups)},
    };
    int uplink_at = 0, transport_given = 0, type_given = 0;
    const char *shm = NULL;
    for (int i = 3; i < argc; i += 2) {
        if (strcasecmp(argv[i], "uplink") == 0) {
            uplink_at = i + 1;
            break;
        }
        if (strcasecmp(argv[i], "transport") == 0) {
            enum glan_transport t;
            if (i + 1 >= argc || glan_transport_parse(argv[i + 1], &t) < 0)
                return cmd_error("%s", "Option 'transport' needs 'ip' or 'ethernet'");
            cfg.transport = t;
            transport_given = 1;
            continue;
        }
        if (strcasecmp(argv[i], "type") == 0) {
            enum glan_lan_type t;
            if (i + 1 >= argc || glan_lan_type_parse(argv[i + 1], &t) < 0)
                return cmd_error("%s", "Option 'type' needs 'qdio' or 'hipers'");
            cfg.type = t;
            type_given = 1;
            continue;
        }
        if (strcasecmp(argv[i], "mfs") == 0) {
            if (i + 1 >= argc || glan_mfs_parse(argv[i + 1], &cfg.mfs) < 0)
                return cmd_error("%s", "Option 'mfs' needs 16k, 24k, 40k or 64k");
            continue;
        }
        if (strcasecmp(argv[i], "macprefix") == 0) {
            if (i + 1 >= argc ||
                glan_mac_prefix_parse(argv[i + 1], cfg.mac_prefix, &cfg.mac_prefix_len) < 0)
                return cmd_error("%s", "Option 'macprefix' needs 3 or 4 bytes (02:aa:bb), the "
                                       "first locally administered unicast (02, 06, 0a, ...)");
            continue;
        }
        if (strcasecmp(argv[i], "shared") == 0) {
            if (i + 1 >= argc)
                return cmd_error("%s", "Option 'shared' needs a shared-memory name");
            shm = argv[i + 1];
            continue;
        }
        size_t k = 0;
        while (k < sizeof opts / sizeof opts[0] && strcasecmp(argv[i], opts[k].kw) != 0)
            k++;
        if (k == sizeof opts / sizeof opts[0])
            return cmd_error("Unknown option '%s'", argv[i]);
        uint32_t v;
        if (i + 1 >= argc || parse_u32(argv[i + 1], &v) < 0 || v == 0)
            return cmd_error("Option '%s' needs a positive number", argv[i]);
        *(uint32_t *)((char *)&cfg + opts[k].off) = v;
    }
    struct uplink_args ua;
    if (uplink_at && parse_uplink(argc, argv, uplink_at, &ua) < 0)
        return -1;
    char err[256] = "";
    int attached = 0;
    int rc = glan_herc_lan_define(&cfg, 0, shm, &attached, err, sizeof err);
    if (rc < 0) {
        if (uplink_at && ua.spec.release)
            ua.spec.release(ua.spec.arg);
        if (rc == -EPROTO)
            return cmd_error("Cannot join shared LAN: %s", err);
        return cmd_error("%s", err[0] ? err : strerror(-rc));
    }
    glan_lan_config_defaults(&cfg);
    char name[GLAN_HERC_NAME_MAX + 1];
    glan_herc_lan_name(argv[2], name, sizeof name, NULL, 0);
    if (shm) {
        struct shm_info si = {.name = name};
        glan_herc_lan_foreach(name, shm_info_of, &si);
        struct glan_lan_config *c = &si.cfg;
        /* Sizes are the creator's; a transport asked for is not a size: a
         * shared LAN of the other transport is refused. */
        if (attached && transport_given && c->transport != cfg.transport) {
            glan_herc_lan_delete(name);
            if (uplink_at && ua.spec.release)
                ua.spec.release(ua.spec.arg);
            return cmd_error("Cannot join shared LAN: '%s' is of transport %s, not %s", si.shm,
                             glan_transport_name(c->transport), glan_transport_name(cfg.transport));
        }
        if (attached && type_given &&
            (c->type != cfg.type || (cfg.type == GLAN_LAN_HIPERS && c->mfs != cfg.mfs))) {
            char have[64], want[64];
            glan_herc_lan_delete(name);
            if (uplink_at && ua.spec.release)
                ua.spec.release(ua.spec.arg);
            return cmd_error("Cannot join shared LAN: '%s' is of %s, not %s", si.shm,
                             lan_type_text(c, have, sizeof have),
                             lan_type_text(&cfg, want, sizeof want));
        }
        char kind[64];
        WRMSG(HHC04716, "I", name, si.shm, attached ? "attached to" : "created", c->max_ports,
              c->buffers, c->buffer_size, c->mid_buffers, c->mid_size, c->big_buffers, c->big_size,
              mib(c), c->queue_len, lan_kind(c, kind, sizeof kind));
    } else {
        char kind[64];
        WRMSG(HHC04710, "I", name, cfg.max_ports, cfg.buffers, cfg.buffer_size, cfg.mid_buffers,
              cfg.mid_size, cfg.big_buffers, cfg.big_size, mib(&cfg), cfg.queue_len,
              lan_kind(&cfg, kind, sizeof kind));
    }
    /* A statement that fails leaves no LAN half defined behind it. */
    if (uplink_at && set_uplink(name, &ua) < 0) {
        glan_herc_lan_delete(name);
        WRMSG(HHC04711, "I", name);
        return -1;
    }
    return 0;
}

static int cmd_delete(int argc, char *argv[])
{
    if (argc != 3)
        return cmd_error("%s", "Usage: glan delete lan");
    int rc = glan_herc_lan_delete(argv[2]);
    if (rc == -ENOENT)
        return cmd_error("No LAN '%s' is defined", argv[2]);
    if (rc == -EBUSY)
        return cmd_error("LAN '%s' still has interfaces attached", argv[2]);
    char name[GLAN_HERC_NAME_MAX + 1];
    if (glan_herc_lan_name(argv[2], name, sizeof name, NULL, 0) < 0)
        snprintf(name, sizeof name, "%s", argv[2]);
    WRMSG(HHC04711, "I", name);
    return 0;
}

/* ---- glan trace -------------------------------------------------------------- */

static int cmd_trace(int argc, char *argv[])
{
    if (argc < 4)
        return cmd_error("%s", "Usage: glan trace lan start file [port devnum] [dropped] "
                               "[snaplen n] | glan trace lan stop");
    char name[GLAN_HERC_NAME_MAX + 1], err[256] = "";
    if (glan_herc_lan_name(argv[2], name, sizeof name, err, sizeof err) < 0)
        return cmd_error("%s", err);
    if (strcasecmp(argv[3], "stop") == 0) {
        if (argc != 4)
            return cmd_error("%s", "Usage: glan trace lan stop");
        struct glan_trace_stats st = {0};
        char path[PATH_MAX] = "";
        int rc = glan_herc_lan_trace_stop(name, &st, path, sizeof path, err, sizeof err);
        if (rc == -ENOENT)
            return cmd_error("No LAN '%s' is defined", name);
        if (rc == -ESRCH)
            return cmd_error("LAN '%s' has no trace running", name);
        WRMSG(HHC04718, "I", name, path, st.written, st.filtered, st.errors);
        if (rc < 0)
            return cmd_error("Trace of LAN '%s': %s", name, err);
        return 0;
    }
    if (strcasecmp(argv[3], "start") != 0)
        return cmd_error("Unknown trace action '%s': start or stop", argv[3]);
    if (argc < 5)
        return cmd_error("%s", "Missing file: glan trace lan start file [options]");
    struct glan_trace_config tc = {.path = argv[4], .port = -1};
    int devnum = -1;
    char filter[64] = "";
    size_t used = 0;
    for (int i = 5; i < argc; i++) {
        uint32_t v;
        if (strcasecmp(argv[i], "dropped") == 0) {
            tc.dropped_only = 1;
        } else if (strcasecmp(argv[i], "port") == 0) {
            char *end;
            if (i + 1 >= argc)
                return cmd_error("%s", "'port' needs a device number (e.g. 0600)");
            unsigned long d = strtoul(argv[i + 1], &end, 16);
            if (!argv[i + 1][0] || *end || d > 0xFFFF)
                return cmd_error("'port' needs a device number, not '%s'", argv[i + 1]);
            devnum = (int)d;
            i++;
        } else if (strcasecmp(argv[i], "snaplen") == 0) {
            if (i + 1 >= argc || parse_u32(argv[i + 1], &v) < 0 || v == 0)
                return cmd_error("%s", "'snaplen' needs a positive number");
            tc.snaplen = v;
            i++;
        } else {
            return cmd_error("Unknown trace option '%s'", argv[i]);
        }
    }
    if (devnum >= 0)
        used += (size_t)snprintf(filter + used, sizeof filter - used, " port %04X", devnum);
    if (tc.dropped_only && used < sizeof filter)
        used += (size_t)snprintf(filter + used, sizeof filter - used, " dropped");
    if (tc.snaplen && used < sizeof filter)
        snprintf(filter + used, sizeof filter - used, " snaplen %u", tc.snaplen);
    int rc = glan_herc_lan_trace_start(name, &tc, devnum, filter, err, sizeof err);
    if (rc == -ENOENT)
        return cmd_error("No LAN '%s' is defined", name);
    if (rc == -EBUSY)
        return cmd_error("LAN '%s' has a trace running; 'glan trace %s stop' first", name, name);
    if (rc == -ENODEV)
        return cmd_error("No interface at device %04X on LAN '%s' in this process", devnum, name);
    if (rc < 0)
        return cmd_error("Trace of LAN '%s': %s", name, err);
    WRMSG(HHC04717, "I", name, tc.path, filter[0] ? filter : " none");
    return 0;
}

/* ---- glan query ---------------------------------------------------------- */

static void line(const char *fmt, ...) ATTR_PRINTF(1, 2);
static void line(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    WRMSG(HHC04720, "I", buf);
}

/* " no_uplink=3 queue_full=1", or " none" */
struct port_walk {
    struct glan_herc_lan *l;
};

static struct glan_herc_iface *iface_of(struct glan_herc_lan *l, int index)
{
    for (struct glan_herc_iface *i = l->ifaces; i; i = i->next)
        if (i->port && glan_port_index(i->port) == index)
            return i;
    return NULL;
}

/* A port of an ETHERNET LAN: its MACs, group MACs and VLANs, as z/VM's
 * QUERY VSWITCH DETAILS shows them (n of them in addrs, which holds at most
 * 64). */
static void show_l2_addrs(const struct glan_addr *addrs, size_t n)
{
    static const char *const label[3] = {"MACs", "Group MACs", "VLANs"};
    for (int k = 0; k < 3; k++) {
        char buf[400];
        size_t used = 0, shown = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < n && i < 64 && used < sizeof buf; i++) {
            int kind = addrs[i].family == GLAN_AF_VLAN ? 2 : addrs[i].bytes[0] & 1;
            if (kind != k)
                continue;
            char a[64];
            glan_addr_format(&addrs[i], a, sizeof a);
            /* "vlan 10" is shown as "10" under VLANs */
            used += (size_t)snprintf(buf + used, sizeof buf - used, " %s", k == 2 ? a + 5 : a);
            shown++;
        }
        line("    %s:%s%s", label[k], shown ? buf : " none", n > 64 ? " ..." : "");
    }
}

static void show_port(const struct glan_port_view *v, void *arg)
{
    struct port_walk *w = arg;
    const struct glan_port_stats *s = &v->stats;
    struct glan_herc_iface *ifc = iface_of(w->l, v->index);
    char devs[48], state[64];
    if (ifc) {
        snprintf(devs, sizeof devs, "devices %04X %04X %04X", ifc->info.devnum[0],
                 ifc->info.devnum[1], ifc->info.devnum[2]);
        if (!ifc->complete)
            snprintf(state, sizeof state, "incomplete group");
        else if (!ifc->model)
            snprintf(state, sizeof state, "no device model");
        else
            snprintf(state, sizeof state, "model %s, %s", ifc->model,
                     glan_lan_type(w->l->lan) == GLAN_LAN_HIPERS ? "IQD (HiperSockets)"
                                                                 : "OSD (OSA-Express)");
    } else if (w->l->shm[0] && v->owner_pid != getpid()) {
        snprintf(devs, sizeof devs, "%s", "(of another process)");
        state[0] = '\0';
    } else {
        snprintf(devs, sizeof devs, "%s",
                 v->kind == GLAN_PORT_UPLINK ? "(the uplink above)" : "(not this process's)");
        state[0] = '\0';
    }
    char owner[40] = "";
    if (w->l->shm[0])
        snprintf(owner, sizeof owner, " pid %ld%s", (long)v->owner_pid,
                 v->owner_pid == getpid() ? " (this process)" : "");
    char mtu[24] = "";
    if (v->mtu)
        snprintf(mtu, sizeof mtu, ", mtu %u", v->mtu);
    line("  Port %d '%s' %s %s%s%s%s%s", v->index, v->name,
         v->kind == GLAN_PORT_UPLINK ? "uplink" : "guest", devs, owner, state[0] ? ": " : "", state,
         mtu);

    struct glan_addr addrs[64];
    size_t n = glan_lan_port_addrs(w->l->lan, v->index, 1, addrs, 64);
    char buf[400];
    if (glan_lan_transport(w->l->lan) == GLAN_TRANSPORT_ETHERNET) {
        show_l2_addrs(addrs, n);
    } else {
        size_t used = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < n && i < 64 && used < sizeof buf; i++) {
            char a[64];
            glan_addr_format(&addrs[i], a, sizeof a);
            used += (size_t)snprintf(buf + used, sizeof buf - used, " %s", a);
        }
        line("    Addresses:%s%s", n ? buf : " none", n > 64 ? " ..." : "");
    }
    line("    Sent %" PRIu64 " packets %" PRIu64 " bytes, fanout %" PRIu64 ", delivered %" PRIu64
         ", queued %" PRIu64,
         s->sent_packets, s->sent_bytes, s->fanout, s->delivered, s->queued);
    glan_drops_format(s->dropped, buf, sizeof buf);
    line("    Dropped:%s", buf);
    if (s->icmp_sent || s->icmp_limited || s->frags_sent)
        line("    Too big for their path: %" PRIu64 " ICMP answers, %" PRIu64
             " held back by the rate limit, %" PRIu64 " fragments",
             s->icmp_sent, s->icmp_limited, s->frags_sent);
    line("    Received %" PRIu64 " packets %" PRIu64 " bytes, dropped on the way in %" PRIu64,
         s->recv_packets, s->recv_bytes, s->recv_dropped);
    char now[64] = "";
    if (s->waiting_for >= 0)
        snprintf(now, sizeof now, "; waiting now for port %" PRId32, s->waiting_for);
    else if (s->waiting_for == -2)
        snprintf(now, sizeof now, "; released, about to go on");
    line("    Waited for a receiver's room %" PRIu64 " times, %" PRIu64 ".%03" PRIu64 " s in all%s",
         s->waits, s->wait_ns / 1000000000u, s->wait_ns / 1000000u % 1000u, now);
    if (ifc && ifc->complete && ifc->model) {
        char dev[448];
        glan_herc_iface_describe(ifc, dev, sizeof dev);
        if (dev[0])
            line("    Device: %s", dev);
    }
}

/* The uplink's own lines and counters, under the controller's lock: what
 * its status op says, whatever its kind. */
static void show_uplink_dev(struct glan_uplink *u, void *arg)
{
    (void)arg;
    if (!u)
        return;
    struct glan_uplink_status st;
    const char *msg = u->err;
    if (glan_uplink_get_status(u, &st) == 0) {
        line("  Uplink: %s '%s' %s, %s%s%s%s%s", st.kind, st.device, st.params,
             st.open ? "open" : "closed", st.down ? ", " : "", st.down ? st.down : "",
             st.created ? ", created by hdtglan" : "", st.rx_thread ? "" : ", no receive thread");
        msg = st.message;
        if (st.gone_events)
            line("    Device gone %" PRIu64 " times, recovered %" PRIu64 " times, %" PRIu64
                 " datagrams refused meanwhile",
                 st.gone_events, st.recoveries, st.tx_down);
        for (unsigned i = 0; i < st.nfacts && i < GLAN_UPLINK_STATUS_FACTS; i++)
            line("    %s: %s", st.facts[i].label, st.facts[i].text);
    } else {
        line("  Uplink: %s", u->ops->kind);
    }
    struct glan_uplink_stats us;
    glan_uplink_get_stats(u, &us);
    line("    To the network %" PRIu64 " packets %" PRIu64 " bytes, %" PRIu64
         " errors; from it %" PRIu64 " packets %" PRIu64 " bytes, %" PRIu64 " skipped, %" PRIu64
         " errors",
         us.tx_packets, us.tx_bytes, us.tx_errors, us.rx_packets, us.rx_bytes, us.rx_skipped,
         us.rx_errors);
    if (us.tx_tso)
        line("    TSO datagrams of offloading guests cut for the network: %" PRIu64 " into %" PRIu64
             " segments",
             us.tx_tso, us.tx_segments);
    if (msg[0])
        line("    Last error: %s", msg);
}

/* The uplink port of another process on a shared LAN, if any. */
static void find_uplink(const struct glan_port_view *v, void *arg)
{
    struct glan_port_view *out = arg;
    if (v->kind == GLAN_PORT_UPLINK && out->index < 0)
        *out = *v;
}

static void show_uplink(struct glan_herc_lan *l)
{
    struct glan_ctl_status cs = {0};
    if (l->ctl)
        glan_ctl_status(l->ctl, &cs);
    if (!l->ctl || cs.standby || cs.lapsed) {
        struct glan_port_view up = {.index = -1};
        if (l->shm[0])
            glan_lan_foreach_port(l->lan, find_uplink, &up);
        if (up.index >= 0)
            line("  Uplink: port %d '%s' held by process %ld", up.index, up.name,
                 (long)up.owner_pid);
        else
            line("  Uplink: none");
        if (cs.standby)
            line("  Uplink standby: '%s', taken over here when the holder ends", cs.text);
        return;
    }
    if (cs.controller[0]) {
        char backup[64] = "";
        if (cs.backup[0])
            snprintf(backup, sizeof backup, ", backup %s (%s)", cs.backup,
                     cs.backup_started ? "started" : "not started");
        line("  Controller %s (%s)%s; uplink %s %s %s%s", cs.controller,
             cs.controller_started ? "started" : "not started", backup, cs.kind, cs.what,
             cs.up ? "held by " : "down", cs.up ? cs.holder : "");
        line("    Uplink up %" PRIu64 " times, down %" PRIu64 " times, %" PRIu64
             " takeovers, %" PRIu64 " failures; %s",
             cs.ups, cs.downs, cs.takeovers, cs.failures, cs.message);
    }
    if (!cs.up) {
        if (!cs.controller[0])
            line("  Uplink: %s %s, down: %s", cs.kind, cs.what, cs.message);
        return;
    }
    glan_ctl_with_uplink(l->ctl, show_uplink_dev, NULL);
}

static void show_lan(struct glan_herc_lan *l, void *arg)
{
    (void)arg;
    struct glan_lan_config c;
    struct glan_lan_stats s;
    glan_lan_get_config(l->lan, &c);
    glan_lan_stats(l->lan, &s);
    char kind[64];
    uint8_t mp[4];
    glan_lan_mac_prefix(l->lan, mp);
    line("LAN %s%s: ports %u of %u, addresses %u of %u, groups %u of %u, transport %s, MAC prefix "
         "%02x:%02x:%02x:%02x",
         l->name, l->implicit ? " (defined by a device statement)" : "", s.ports, c.max_ports,
         s.addrs, c.max_addrs, s.groups, c.max_groups, lan_kind(&c, kind, sizeof kind), mp[0],
         mp[1], mp[2], mp[3]);
    if (l->shm[0])
        line("  Shared as '%s' (%s by this process, pid %ld)", l->shm,
             l->shm_created ? "created" : "attached", (long)getpid());
    if (l->trace) {
        struct glan_trace_stats ts;
        glan_trace_get_stats(l->trace, &ts);
        line("  Trace to '%s', filters:%s; %" PRIu64 " written, %" PRIu64 " passed over, %" PRIu64
             " lost",
             glan_trace_path(l->trace), l->trace_filter[0] ? l->trace_filter : " none", ts.written,
             ts.filtered, ts.errors);
    } else {
        line("  Trace: off");
    }
    line("  Base storage in use: small %u of %u (%u bytes), medium %u of %u (%u bytes), large %u "
         "of %u (%u bytes); port queues of %u",
         s.class_in_use[0], c.buffers, c.buffer_size, s.class_in_use[1], c.mid_buffers, c.mid_size,
         s.class_in_use[2], c.big_buffers, c.big_size, c.queue_len);
    line("  Sent %" PRIu64 " packets %" PRIu64 " bytes, fanout %" PRIu64 ", delivered %" PRIu64
         ", queued %" PRIu64,
         s.sent_packets, s.sent_bytes, s.fanout, s.delivered, s.queued);
    char buf[400];
    glan_drops_format(s.dropped, buf, sizeof buf);
    line("  Dropped:%s", buf);
    line("  Path MTU: %" PRIu64 " ICMP answers sent, %" PRIu64
         " held back by the rate limit, %" PRIu64 " fragments made",
         s.icmp_sent, s.icmp_limited, s.frags_sent);
    show_uplink(l);
    struct port_walk w = {.l = l};
    glan_lan_foreach_port(l->lan, show_port, &w);
}

static int cmd_query(int argc, char *argv[])
{
    if (argc > 3)
        return cmd_error("%s", "Usage: glan query [lan]");
    const char *name = argc == 3 ? argv[2] : NULL;
    int n = glan_herc_lan_foreach(name, show_lan, NULL);
    if (n == 0) {
        if (name)
            return cmd_error("No LAN '%s' is defined", name);
        WRMSG(HHC04713, "I", "No LAN is defined");
    }
    return 0;
}

/* ---- dispatch -------------------------------------------------------------- */

static int glan_cmd(int argc, char *argv[])
{
    if (argc < 2) {
        WRMSG(HHC02299, "E", argv[0]);
        return -1;
    }
    const char *sub = argv[1];
    if (strcasecmp(sub, "define") == 0 || strcasecmp(sub, "def") == 0)
        return cmd_define(argc, argv);
    if (strcasecmp(sub, "uplink") == 0)
        return cmd_uplink(argc, argv);
    if (strcasecmp(sub, "delete") == 0 || strcasecmp(sub, "del") == 0)
        return cmd_delete(argc, argv);
    if (strcasecmp(sub, "query") == 0 || strcasecmp(sub, "q") == 0)
        return cmd_query(argc, argv);
    if (strcasecmp(sub, "trace") == 0)
        return cmd_trace(argc, argv);
    if (strcasecmp(sub, "help") == 0) {
        print_help();
        return 0;
    }
    return cmd_error("Unknown subcommand '%s'; enter 'help glan'", sub);
}

int glan_herc_system_command(int argc, char *argv[], char *cmdline)
{
    if (argc >= 1 && argv[0] && strcasecmp(argv[0], "glan") == 0)
        return glan_cmd(argc, argv);
    if (argc == 2 && argv[0] && argv[1] &&
        (strcasecmp(argv[0], "help") == 0 || strcmp(argv[0], "?") == 0) &&
        strcasecmp(argv[1], "glan") == 0) {
        print_help();
        return 0;
    }
    /* Not ours: the next module that hooked system_command, if any. */
    SYSTEMCMD *next = (SYSTEMCMD *)hdl_next((void *)&glan_herc_system_command);
    return next ? next(argc, argv, cmdline) : HERRINVCMD;
}
