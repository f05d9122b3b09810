/*
 * A LAN and its ports: the configuration, creating and destroying a LAN in
 * private memory (a shared one is shm.c's), attaching and detaching ports,
 * and the books: every counter of the base is added to by count.h and read
 * here (glan_lan_stats, glan_port_stats), so that the balance
 *
 *     sent + fanout == delivered + sum(dropped) + queued
 *
 * can be checked in these two files.  The monitor, which sees every
 * forwarded datagram, is here too.  base_int.h lists the other files of the
 * base.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base_int.h"
#include "count.h"

/* ---- configuration ------------------------------------------------------------ */

void glan_lan_config_defaults(struct glan_lan_config *cfg)
{
    if (!cfg->max_ports)
        cfg->max_ports = 64;
    if (!cfg->max_addrs)
        cfg->max_addrs = 1024;
    if (!cfg->max_groups)
        cfg->max_groups = 1024;
    /* A few MiB of small buffers for datagrams up to an Ethernet MTU, some
     * for jumbo frames, and enough large ones for a TCP window or two at the
     * largest MTU; a large one holds 65535 bytes, the largest TSO datagram
     * a guest builds, whole (docs/design.md, "Sizes and defaults"). */
    if (!cfg->buffers)
        cfg->buffers = 2048;
    if (!cfg->buffer_size)
        cfg->buffer_size = 2048;
    if (!cfg->mid_buffers)
        cfg->mid_buffers = 512;
    if (!cfg->mid_size)
        cfg->mid_size = cfg->buffer_size > 9216 ? cfg->buffer_size : 9216;
    if (!cfg->big_buffers)
        cfg->big_buffers = 128;
    if (!cfg->big_size)
        cfg->big_size = cfg->mid_size > 65535 ? cfg->mid_size : 65535;
    if (!cfg->queue_len)
        cfg->queue_len = 256;
    if (!cfg->stuck_ms)
        cfg->stuck_ms = 2000;
    if (cfg->type == GLAN_LAN_HIPERS && !cfg->mfs)
        cfg->mfs = GLAN_MFS_DEFAULT;
}

int config_check(const struct glan_lan_config *c, char *err, size_t errlen)
{
    const char *what = NULL;
    if (!c->name || !c->name[0] || strlen(c->name) > 31)
        what = "LAN name must be 1 to 31 characters";
    else if (c->max_ports < 2 || c->max_ports > 1024)
        what = "max_ports must be 2 to 1024";
    else if (c->max_addrs > (1u << 20) || c->max_groups > (1u << 20))
        what = "max_addrs and max_groups must be at most 1048576";
    else if (c->buffers < 2 || c->buffers > (1u << 22) || c->mid_buffers > (1u << 22) ||
             c->big_buffers > (1u << 22) ||
             (uint64_t)c->buffers + c->mid_buffers + c->big_buffers > (1u << 22))
        what = "buffers must be 2 to 4194304 (small, medium and large together at most 4194304)";
    else if (c->mid_buffers < 1 || c->big_buffers < 1)
        what = "medium and large buffers must be at least 1";
    else if (c->buffer_size < 576 || c->buffer_size > 65535 || c->mid_size > 65535 ||
             c->big_size > 65535)
        what = "buffer sizes must be 576 to 65535";
    else if (c->mid_size < c->buffer_size || c->big_size < c->mid_size)
        what = "buffer sizes must grow: small <= medium <= large";
    else if (c->queue_len < 2 || c->queue_len > 65536 || (c->queue_len & (c->queue_len - 1)))
        what = "queue_len must be a power of two from 2 to 65536";
    else if (c->stuck_ms > 3600000)
        what = "stuck_ms must be at most 3600000 (an hour)";
    else if (c->transport != GLAN_TRANSPORT_IP && c->transport != GLAN_TRANSPORT_ETHERNET)
        what = "transport must be ip or ethernet";
    else if (c->type != GLAN_LAN_QDIO && c->type != GLAN_LAN_HIPERS)
        what = "type must be qdio or hipers";
    else if (c->type == GLAN_LAN_QDIO && c->mfs)
        what = "a maximum frame size (mfs) is for a LAN of type hipers";
    else if (c->type == GLAN_LAN_HIPERS && !glan_mfs_mtu(c->mfs))
        what = "mfs must be 16k, 24k, 40k or 64k";
    else if (c->type == GLAN_LAN_HIPERS && c->transport != GLAN_TRANSPORT_IP)
        what = "a LAN of type hipers is of transport ip";
    else if (c->type == GLAN_LAN_HIPERS && c->big_size < glan_mfs_mtu(c->mfs))
        what = "a LAN of type hipers needs large buffers (bigsize) of its MTU at least (8192, "
               "16384, 32768 or 57344 bytes for mfs 16k, 24k, 40k or 64k)";
    else if (c->mac_prefix_len != 0 &&
             ((c->mac_prefix_len != 3 && c->mac_prefix_len != 4) || (c->mac_prefix[0] & 3) != 2))
        what = "a MAC prefix is 3 or 4 bytes, the first locally administered unicast (02, 06, ...)";
    else if ((uint64_t)c->buffers * c->buffer_size + (uint64_t)c->mid_buffers * c->mid_size +
                 (uint64_t)c->big_buffers * c->big_size >
             (1ull << 34))
        what = "base storage (buffers x size, all classes) must be at most 16 GiB";
    if (what && err && errlen)
        snprintf(err, errlen, "%s", what);
    return what ? -EINVAL : 0;
}

uint32_t cfg_class_n(const struct glan_lan_config *cfg, int k)
{
    return k == 0 ? cfg->buffers : k == 1 ? cfg->mid_buffers : cfg->big_buffers;
}

uint32_t cfg_class_size(const struct glan_lan_config *cfg, int k)
{
    return k == 0 ? cfg->buffer_size : k == 1 ? cfg->mid_size : cfg->big_size;
}

uint32_t glan_lan_class_buffers(const struct glan_lan_config *cfg, int k)
{
    return k >= 0 && k < NCLASS ? cfg_class_n(cfg, k) : 0;
}

uint32_t glan_lan_class_size(const struct glan_lan_config *cfg, int k)
{
    return k >= 0 && k < NCLASS ? cfg_class_size(cfg, k) : 0;
}

uint64_t glan_lan_config_bytes(const struct glan_lan_config *in)
{
    struct glan_lan_config cfg = *in;
    struct layout l;
    glan_lan_config_defaults(&cfg);
    layout_of(&cfg, &l);
    return l.total;
}

int config_prepare(const struct glan_lan_config *in, struct glan_lan_config *cfg, struct layout *l,
                   char *err, size_t errlen)
{
    *cfg = *in;
    glan_lan_config_defaults(cfg);
    if (config_check(cfg, err, errlen) < 0)
        return -EINVAL;
    layout_of(cfg, l);
    return 0;
}

/* ---- LANs ---------------------------------------------------------------------- */

struct glan_lan *glan_lan_create(const struct glan_lan_config *in, char *err, size_t errlen)
{
    struct glan_lan_config cfg;
    struct layout l;
    if (config_prepare(in, &cfg, &l, err, errlen) < 0)
        return NULL;
    struct glan_lan *lan = lan_new(cfg.max_ports);
    void *mem = NULL;
    if (lan && posix_memalign(&mem, _Alignof(struct region), l.total) != 0)
        mem = NULL;
    if (!lan || !mem) {
        free(lan);
        if (err && errlen)
            snprintf(err, errlen, "cannot allocate %llu bytes of base storage",
                     (unsigned long long)l.total);
        return NULL;
    }
    memset(mem, 0, l.total);
    region_init(mem, &cfg, &l, 0);
    lan_bind(lan, mem);
    lan_list(lan);
    proc_join(lan, NULL, 0); /* the only process */
    lan->r->magic = REGION_MAGIC;
    return lan;
}

void glan_lan_destroy(struct glan_lan *lan)
{
    if (!lan)
        return;
    if (!lan->map_size) {
        base_stop(lan);
        lan_unlist(lan);
        jr_forget_lan(lan);
        pthread_mutex_destroy(&lan->r->ctl);
        pthread_mutex_destroy(&lan->r->pool);
        free(lan->r);
    } else {
        shm_leave(lan);
    }
    free(lan);
}

void glan_lan_mac_prefix(const struct glan_lan *lan, uint8_t prefix[4])
{
    memcpy(prefix, lan->r->mac_prefix, 4);
}

void glan_lan_port_mac(const struct glan_lan *lan, int port, uint8_t mac[6])
{
    memcpy(mac, lan->r->mac_prefix, 4);
    mac[4] = (uint8_t)(port >> 8);
    mac[5] = (uint8_t)port;
}

const char *glan_lan_name(const struct glan_lan *lan)
{
    return lan->r->name;
}

enum glan_transport glan_lan_transport(const struct glan_lan *lan)
{
    return lan_is_ethernet(lan) ? GLAN_TRANSPORT_ETHERNET : GLAN_TRANSPORT_IP;
}

enum glan_lan_type glan_lan_type(const struct glan_lan *lan)
{
    return lan->r->type == GLAN_LAN_HIPERS ? GLAN_LAN_HIPERS : GLAN_LAN_QDIO;
}

uint32_t glan_lan_mfs(const struct glan_lan *lan)
{
    return glan_lan_type(lan) == GLAN_LAN_HIPERS ? lan->r->mfs : 0;
}

void glan_lan_get_config(const struct glan_lan *lan, struct glan_lan_config *out)
{
    region_config(lan->r, out);
}

/* ---- ports ---------------------------------------------------------------------- */

/* An MTU as the region keeps it: 0 (none but the buffer size), else at least
 * 68, the least IPv4 must carry (RFC 791). */
static uint32_t mtu_value(uint32_t mtu)
{
    return mtu && mtu < 68 ? 68 : mtu;
}

int glan_port_attach(struct glan_lan *lan, const struct glan_port_info *info,
                     const struct glan_port_ops *ops, void *ctx, struct glan_port **out)
{
    if (!info || !info->name || !info->name[0] || strlen(info->name) > 31 || !ops ||
        !ops->deliver || (info->kind != GLAN_PORT_GUEST && info->kind != GLAN_PORT_UPLINK))
        return -EINVAL;
    int rc = -ENOSPC;
    ctl_lock(lan);
    /* A port that can wait needs the bound on its waits: a private LAN's
     * base thread starts with the first such port. */
    if (ops->unblocked && !lan->has_base && (rc = base_start(lan, NULL, 0)) < 0)
        goto out;
    rc = -ENOSPC;
    if (info->kind == GLAN_PORT_UPLINK && uplink_of(lan) >= 0) {
        rc = -EEXIST;
        goto out;
    }
    for (uint32_t p = 0; p < lan->r->max_ports; p++) {
        struct port_shared *ps = &lan->ports[p];
        if (atomic_load(&ps->state) != PORT_FREE)
            continue;
        ps->gen++;
        ps->kind = (uint32_t)info->kind;
        snprintf(ps->name, sizeof ps->name, "%s", info->name);
        memset(&ps->c, 0, sizeof ps->c);
        atomic_store_explicit(&ps->recv_packets, 0, memory_order_relaxed);
        atomic_store_explicit(&ps->recv_bytes, 0, memory_order_relaxed);
        atomic_store_explicit(&ps->recv_dropped, 0, memory_order_relaxed);
        atomic_store_explicit(&ps->wait_on, 0, memory_order_relaxed);
        atomic_store_explicit(&ps->waits, 0, memory_order_relaxed);
        atomic_store_explicit(&ps->wait_ns, 0, memory_order_relaxed);
        atomic_store_explicit(&lan->local[p].wait_since, 0, memory_order_relaxed);
        queue_reset(lan, (int)p);
        ps->owner_pid = (int32_t)getpid();
        atomic_store_explicit(&ps->mtu, mtu_value(info->mtu), memory_order_relaxed);
        lan->local[p].ops = ops;
        lan->local[p].ctx = ctx;
        icmp_limit_init(&lan->local[p], GLAN_ICMP_BURST, GLAN_ICMP_PER_SEC);
        /* One record: a kill leaves the entry free, or active and whole. */
        struct rec att;
        rec_init(&att, lan->r, jr_mine(lan));
        rec_put32(&att, &ps->owner, lan->token);
        rec_put32(&att, &ps->drain, 0);
        rec_put32(&att, &ps->state, PORT_ACTIVE);
        if (info->kind == GLAN_PORT_UPLINK)
            rec_put32(&att, &lan->r->uplink, p);
        rec_commit(&att, FP_ATTACH);
        *out = &lan->local[p];
        rc = 0;
        break;
    }
out:
    ctl_unlock(lan);
    return rc;
}

void port_close_locked(struct glan_lan *lan, int p)
{
    struct port_shared *ps = &lan->ports[p];
    /* S2: seq_cst, the closer's side: CLOSING, then (wait_pins) the pins */
    atomic_store(&ps->state, PORT_CLOSING);
    fail_point(FP_CLOSING);
    if (atomic_load(&lan->r->uplink) == p)
        atomic_store(&lan->r->uplink, -1);
    reg_forget_port(lan, p);
}

void port_free_locked(struct glan_lan *lan, int p)
{
    struct port_shared *ps = &lan->ports[p];
    /* One record: a kill leaves the entry closing (recovery frees it again)
     * or free, never half of each. */
    struct rec rc;
    rec_init(&rc, lan->r, jr_mine(lan));
    rec_put32(&rc, &ps->drain, DRAIN_CLOSED);
    rec_put32(&rc, &ps->owner, 0);
    rec_put32(&rc, &ps->state, PORT_FREE);
    rec_commit(&rc, FP_PORT_FREE);
    lan->local[p].ops = NULL;
    lan->local[p].ctx = NULL;
}

void glan_port_detach(struct glan_port *port)
{
    struct glan_lan *lan = port->lan;
    struct port_shared *ps = &lan->ports[port->idx];
    int p = port->idx;

    ctl_lock(lan);
    port_close_locked(lan, p);
    ctl_unlock(lan);
    /* Senders that pinned the port before they saw CLOSING finish first; then
     * take the drain turn for good, so the port's callbacks are never called
     * again, and drop what still waits. */
    wait_pins(lan, p, 0);
    take_turn(lan, ps);
    sweep_port(lan, p);
    ctl_lock(lan);
    port_free_locked(lan, p);
    ctl_unlock(lan);
}

int glan_port_index(const struct glan_port *port)
{
    return port->idx;
}

struct glan_lan *glan_port_lan(const struct glan_port *port)
{
    return port->lan;
}

void glan_port_set_mtu(struct glan_port *port, uint32_t mtu)
{
    atomic_store_explicit(&port->lan->ports[port->idx].mtu, mtu_value(mtu), memory_order_relaxed);
}

uint32_t glan_port_mtu(const struct glan_port *port)
{
    return atomic_load_explicit(&port->lan->ports[port->idx].mtu, memory_order_relaxed);
}

void glan_port_set_icmp_limit(struct glan_port *port, uint32_t burst, uint32_t per_sec)
{
    icmp_limit_init(port, burst, per_sec);
}

/* ---- the books: reading ---------------------------------------------------------- */

static uint64_t ld(const _Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

static void read_port(struct glan_lan *lan, int p, struct glan_port_stats *o)
{
    const struct port_shared *ps = &lan->ports[p];
    memset(o, 0, sizeof *o);
    o->sent_packets = ld(&ps->c.sent_packets);
    o->sent_bytes = ld(&ps->c.sent_bytes);
    o->fanout = ld(&ps->c.fanout);
    o->delivered = ld(&ps->c.delivered);
    for (int i = 0; i < GLAN_DROP_COUNT; i++)
        o->dropped[i] = ld(&ps->c.dropped[i]);
    o->icmp_sent = ld(&ps->c.icmp_sent);
    o->icmp_limited = ld(&ps->c.icmp_limited);
    o->frags_sent = ld(&ps->c.frags_sent);
    o->recv_packets = ld(&ps->recv_packets);
    o->recv_bytes = ld(&ps->recv_bytes);
    o->recv_dropped = ld(&ps->recv_dropped);
    o->queued = port_queued(lan, p);
    o->waits = ld(&ps->waits);
    o->wait_ns = ld(&ps->wait_ns);
    uint32_t w = atomic_load_explicit(&ps->wait_on, memory_order_relaxed);
    o->waiting_for = w == 0 ? -1 : w == WAIT_RELEASED ? -2 : (int32_t)(w - 1);
}

int glan_port_stats(const struct glan_port *port, struct glan_port_stats *out)
{
    read_port(port->lan, port->idx, out);
    return 0;
}

void glan_lan_stats(struct glan_lan *lan, struct glan_lan_stats *o)
{
    const struct region *r = lan->r;
    memset(o, 0, sizeof *o);
    struct ledger l;
    ledger_sum(lan, &l);
    o->sent_packets = l.sent_packets;
    o->sent_bytes = l.sent_bytes;
    o->fanout = l.fanout;
    o->delivered = l.delivered;
    memcpy(o->dropped, l.dropped, sizeof o->dropped);
    o->icmp_sent = l.icmp_sent;
    o->icmp_limited = l.icmp_limited;
    o->frags_sent = l.frags_sent;
    for (uint32_t p = 0; p < r->max_ports; p++)
        if (atomic_load(&lan->ports[p].state) != PORT_FREE)
            o->queued += port_queued(lan, (int)p);
    /* Free buffers are on their class's stack or in a journal's cache; the
     * rest are held.  Read while buffers come and go, each sum is kept in
     * range. */
    for (int k = 0; k < NCLASS; k++) {
        uint64_t free_ = free_buffers(lan, k), n = lan->cls[k].n;
        o->class_in_use[k] = free_ >= n ? 0 : (uint32_t)(n - free_);
        o->buffers_in_use += o->class_in_use[k];
    }
    o->suspects = atomic_load(&r->suspects);
    for (int q = 0; q < MAX_PROCS; q++)
        if (atomic_load(&r->procs[q].state) != PROC_FREE)
            o->processes++;
    o->region_errors = atomic_load(&lan->region_errors);
    /* Counted from the entries, not kept in a counter: a process killed
     * between taking an entry and counting it would leave a counter off. */
    o->ports = 0;
    for (uint32_t p = 0; p < r->max_ports; p++)
        if (atomic_load(&lan->ports[p].state) != PORT_FREE)
            o->ports++;
    ctl_lock(lan);
    o->addrs = r->n_addrs;
    o->groups = r->n_groups;
    ctl_unlock(lan);
}

void glan_lan_foreach_port(struct glan_lan *lan,
                           void (*fn)(const struct glan_port_view *v, void *arg), void *arg)
{
    for (uint32_t p = 0; p < lan->r->max_ports; p++) {
        const struct port_shared *ps = &lan->ports[p];
        if (atomic_load(&ps->state) != PORT_ACTIVE)
            continue;
        struct glan_port_view v;
        memset(&v, 0, sizeof v);
        v.index = (int)p;
        v.kind = (enum glan_port_kind)ps->kind;
        memcpy(v.name, ps->name, sizeof v.name);
        read_port(lan, (int)p, &v.stats);
        v.owner_pid = (pid_t)ps->owner_pid;
        v.mtu = atomic_load_explicit(&ps->mtu, memory_order_relaxed);
        fn(&v, arg);
    }
}

/* ---- the monitor ----------------------------------------------------------------- */

/* S5: pin, then look: seq_cst on both sides (removal stores NULL, then reads
 * the pins) means a removed monitor is never called after removal returns. */
void monitor_show(struct glan_lan *lan, uint32_t slot, enum glan_drop why)
{
    atomic_fetch_add(&lan->mon_users, 1);
    struct monitor *m = atomic_load(&lan->mon);
    if (m) {
        const struct slot_hdr *s = &lan->slots[slot];
        struct glan_dgram dg = {
            .data = slot_data(lan, slot),
            .len = s->len,
            .cast = s->cast ? s->cast : GLAN_CAST_UNICAST,
            .family = s->family,
            .src = (int16_t)s->src,
            .offload = s->offload,
            .mss = s->mss,
            .ts_ns = s->ts_ns,
        };
        m->fn(m->ctx, &dg, why);
    }
    atomic_fetch_sub(&lan->mon_users, 1);
}

int glan_lan_set_monitor(struct glan_lan *lan, glan_monitor_fn fn, void *ctx)
{
    if (fn) {
        if (atomic_load(&lan->mon))
            return -EBUSY;
        lan->mon_slot.fn = fn;
        lan->mon_slot.ctx = ctx;
        atomic_store(&lan->mon, &lan->mon_slot);
        return 0;
    }
    /* S5: seq_cst, the remover's side: NULL, then wait for the users */
    atomic_store(&lan->mon, NULL);
    while (atomic_load(&lan->mon_users))
        sched_yield();
    return 0;
}
