/*
 * The layer-2 engine's neighbour cache (l2_int.h): who is at which MAC, the
 * resolutions running (INCOMPLETE, PROBE) with their deadlines and the
 * datagrams held for them, and what is known (REACHABLE, then STALE).  The
 * cache is a small array searched linearly: a LAN talks to a handful of next
 * hops (usually one gateway), and a scan of a few hundred entries costs less
 * than the frame copy that follows it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "l2_int.h"

struct neigh *l2_find(const struct glan_l2 *l2, const struct glan_addr *ip)
{
    for (uint32_t i = 0; i < l2->cfg.cache_size; i++) {
        struct neigh *n = &l2->cache[i];
        if (n->state != GLAN_L2_NONE && glan_addr_equal(&n->ip, ip))
            return n;
    }
    return NULL;
}

void l2_drop_held(struct glan_l2 *l2, struct neigh *n)
{
    while (n->head) {
        struct held *h = n->head;
        n->head = h->next;
        free(h);
        l2->st.unresolved_dropped++;
        l2->held_total--;
    }
    n->tail = NULL;
    n->nheld = 0;
}

static void release(struct glan_l2 *l2, struct neigh *n)
{
    l2_drop_held(l2, n);
    n->state = GLAN_L2_NONE;
    l2->st.cache_entries--;
}

/* A free entry, or the least recently used resolved one.  NULL when every
 * entry is resolving (their held datagrams are worth more than a new one). */
struct neigh *l2_new_entry(struct glan_l2 *l2, const struct glan_addr *ip, uint64_t now)
{
    struct neigh *victim = NULL;
    for (uint32_t i = 0; i < l2->cfg.cache_size; i++) {
        struct neigh *n = &l2->cache[i];
        if (n->state == GLAN_L2_NONE) {
            victim = n;
            break;
        }
        if (n->state != GLAN_L2_INCOMPLETE && (!victim || n->used < victim->used))
            victim = n;
    }
    if (!victim)
        return NULL;
    if (victim->state != GLAN_L2_NONE)
        release(l2, victim);
    memset(victim, 0, sizeof *victim);
    victim->ip = *ip;
    victim->used = now;
    l2->st.cache_entries++;
    return victim;
}

/* n's MAC is known now: remember it and send what waited for it. */
static void resolved(struct glan_l2 *l2, struct neigh *n, const uint8_t *mac, uint64_t now)
{
    if (n->state == GLAN_L2_INCOMPLETE || n->state == GLAN_L2_PROBE)
        l2->st.resolved++;
    memcpy(n->mac, mac, 6);
    n->state = GLAN_L2_REACHABLE;
    n->deadline = now + l2->cfg.reachable_ns;
    n->probes = 0;
    while (n->head) {
        struct held *h = n->head;
        n->head = h->next;
        n->nheld--;
        l2->held_total--;
        /* Too late to tell the base: a failure here only counts. */
        if (l2_send_datagram(l2, n->mac, h->data, h->len) == -EAGAIN)
            l2->st.tx_errors++;
        free(h);
    }
    n->tail = NULL;
}

/* Someone told us ip is at mac (an ARP packet, a solicitation's source, an
 * advertisement).  create: make an entry when there is none. */
void l2_learn(struct glan_l2 *l2, const struct glan_addr *ip, const uint8_t *mac, int create,
              uint64_t now)
{
    if (mac[0] & 1)
        return; /* a group address is nobody's */
    struct neigh *n = l2_find(l2, ip);
    if (!n && create)
        n = l2_new_entry(l2, ip, now); /* state NONE until resolved() fills it in */
    if (n)
        resolved(l2, n, mac, now);
}

void glan_l2_tick(struct glan_l2 *l2, uint64_t now)
{
    for (uint32_t i = 0; i < l2->cfg.cache_size; i++) {
        struct neigh *n = &l2->cache[i];
        if ((n->state != GLAN_L2_INCOMPLETE && n->state != GLAN_L2_PROBE) || now < n->deadline)
            continue;
        if (n->probes < l2->cfg.probes) {
            l2_solicit(l2, n, now);
        } else {
            l2->st.resolve_failures++;
            release(l2, n);
        }
    }
}

uint64_t glan_l2_deadline(const struct glan_l2 *l2)
{
    uint64_t d = UINT64_MAX;
    for (uint32_t i = 0; i < l2->cfg.cache_size; i++) {
        const struct neigh *n = &l2->cache[i];
        if ((n->state == GLAN_L2_INCOMPLETE || n->state == GLAN_L2_PROBE) && n->deadline < d)
            d = n->deadline;
    }
    return d;
}

static enum glan_l2_state state_at(const struct neigh *n, uint64_t now)
{
    if (n->state == GLAN_L2_REACHABLE && now >= n->deadline)
        return GLAN_L2_STALE;
    return (enum glan_l2_state)n->state;
}

enum glan_l2_state glan_l2_neighbour(const struct glan_l2 *l2, const struct glan_addr *addr,
                                     uint64_t now, uint8_t mac[6])
{
    const struct neigh *n = l2_find(l2, addr);
    if (!n)
        return GLAN_L2_NONE;
    enum glan_l2_state s = state_at(n, now);
    if (mac && s != GLAN_L2_INCOMPLETE)
        memcpy(mac, n->mac, 6);
    return s;
}

/* Keep a copy of the datagram on n until it resolves. */
int l2_hold(struct glan_l2 *l2, struct neigh *n, const uint8_t *dg, size_t len)
{
    if (n->nheld >= l2->cfg.hold_per_dest || l2->held_total >= l2->cfg.hold_max) {
        l2->st.hold_dropped++;
        return -ENOBUFS;
    }
    struct held *h = malloc(sizeof *h + len);
    if (!h) {
        l2->st.hold_dropped++;
        return -ENOBUFS;
    }
    h->next = NULL;
    h->len = (uint32_t)len;
    memcpy(h->data, dg, len);
    if (n->tail)
        n->tail->next = h;
    else
        n->head = h;
    n->tail = h;
    n->nheld++;
    l2->held_total++;
    l2->st.held++;
    return 0;
}
