/*
 * Run-time changes to the peers of an upstream kept in a zone: add a
 * peer, remove one, and recount a set after its settings changed. The
 * caller holds the zone's lock for all of them.
 *
 * A removed peer that still has requests keeps its slot (marked
 * removed, weightless) until the last of them is freed, so that the
 * index a request holds never names another peer; only then do its
 * strings go back to the zone and the slot become free for the next
 * addition.
 */

#include <bw_upstream_round_robin.h>

void
bw_upstream_rr_recount(bw_upstream_rr_peers_t *peers)
{
    bw_uint_t               i;
    bw_upstream_rr_peer_t  *peer;

    peers->total_weight = 0;
    peers->tries = 0;

    for (i = 0; i < peers->number; i++) {
        peer = &peers->peer[i];
        if (peer->removed) {
            continue;
        }
        peers->total_weight += peer->weight;
        if (!peer->down) {
            peers->tries++;
        }
    }

    if (peers->shared) {
        peers->shared->generation++;
        peers->shared->changed = 1;
    }
}

void
bw_upstream_rr_release(bw_upstream_rr_peers_t *peers,
    bw_upstream_rr_peer_t *peer)
{
    if (peer->dynamic && peers->shpool && peer->sockaddr) {
        /* the address and both names share one block */
        bw_slab_free_locked(peers->shpool, peer->sockaddr);
    }

    peer->sockaddr = NULL;
    peer->socklen = 0;
    bw_str_null(&peer->name);
    bw_str_null(&peer->server);
    peer->dynamic = 0;
    peer->weight = 0;
    peer->effective_weight = 0;
    peer->current_weight = 0;
}

void
bw_upstream_rr_remove(bw_upstream_rr_peers_t *peers,
    bw_upstream_rr_peer_t *peer)
{
    if (peer->removed) {
        return;
    }

    peer->removed = 1;
    peer->drain = 0;

    if (peers->shared && peers->shared->live) {
        peers->shared->live--;
    }

    if (peer->conns == 0) {
        bw_upstream_rr_release(peers, peer);
    } else {
        /* weightless now; the strings stay for the requests in flight */
        peer->weight = 0;
        peer->effective_weight = 0;
    }

    bw_upstream_rr_recount(peers);
}

/* A free slot of the set, growing it when there is none. */
static bw_int_t
bw_upstream_rr_slot(bw_upstream_rr_peers_t *peers)
{
    bw_uint_t               i, capacity;
    bw_upstream_rr_peer_t  *peer;

    for (i = 0; i < peers->number; i++) {
        peer = &peers->peer[i];
        if (peer->removed && peer->conns == 0) {
            return (bw_int_t) i;
        }
    }

    if (peers->number == BW_UPSTREAM_RR_MAX_PEERS) {
        return BW_DECLINED;
    }

    if (peers->number == peers->capacity) {
        capacity = peers->capacity ? peers->capacity * 2 : 4;
        if (capacity > BW_UPSTREAM_RR_MAX_PEERS) {
            capacity = BW_UPSTREAM_RR_MAX_PEERS;
        }

        peer = bw_slab_calloc_locked(peers->shpool,
                                     capacity * sizeof(bw_upstream_rr_peer_t));
        if (peer == NULL) {
            return BW_ERROR;
        }

        /* no one keeps a slot's address past the lock, so the set may
         * move */
        if (peers->number) {
            memcpy(peer, peers->peer,
                   peers->number * sizeof(bw_upstream_rr_peer_t));
        }
        if (peers->peer && peers->capacity) {
            bw_slab_free_locked(peers->shpool, peers->peer);
        }

        peers->peer = peer;
        peers->capacity = capacity;
    }

    return (bw_int_t) peers->number++;
}

/* The address and both names of tmpl, in one block of the zone. */
static u_char *
bw_upstream_rr_strings(bw_upstream_rr_peers_t *peers,
    const bw_upstream_rr_peer_t *tmpl)
{
    return bw_slab_alloc_locked(peers->shpool, tmpl->socklen + tmpl->name.len
                                               + tmpl->server.len);
}

static void
bw_upstream_rr_put_strings(bw_upstream_rr_peer_t *peer, u_char *p,
    const bw_upstream_rr_peer_t *tmpl)
{
    peer->sockaddr = (struct sockaddr *) p;
    peer->socklen = tmpl->socklen;
    memcpy(p, tmpl->sockaddr, tmpl->socklen);
    p += tmpl->socklen;

    peer->name.data = p;
    peer->name.len = tmpl->name.len;
    p = bw_cpymem(p, tmpl->name.data, tmpl->name.len);
    peer->server.data = p;
    peer->server.len = tmpl->server.len;
    memcpy(p, tmpl->server.data, tmpl->server.len);

    peer->dynamic = 1;
}

bw_int_t
bw_upstream_rr_set_address(bw_upstream_rr_peers_t *peers,
    bw_upstream_rr_peer_t *peer, const bw_upstream_rr_peer_t *tmpl)
{
    u_char  *p;

    p = bw_upstream_rr_strings(peers, tmpl);
    if (p == NULL) {
        return BW_ERROR;
    }

    /* requests on the old address keep their own copy of it */
    if (peer->dynamic) {
        bw_slab_free_locked(peers->shpool, peer->sockaddr);
    }

    bw_upstream_rr_put_strings(peer, p, tmpl);
    peer->fails = 0;
    return BW_OK;
}

bw_upstream_rr_peers_t *
bw_upstream_rr_backup_set(bw_upstream_rr_peers_t *peers)
{
    bw_upstream_rr_peers_t  *set;

    if (peers->next) {
        return peers->next;
    }

    set = bw_slab_calloc_locked(peers->shpool, sizeof(bw_upstream_rr_peers_t));
    if (set == NULL) {
        return NULL;
    }

    set->shpool = peers->shpool;
    set->shared = peers->shared;
    set->name = peers->name;
    peers->next = set;

    return set;
}

bw_int_t
bw_upstream_rr_add(bw_upstream_rr_peers_t *peers,
    const bw_upstream_rr_peer_t *tmpl, bw_upstream_rr_peer_t **added)
{
    u_char                 *p;
    bw_int_t                i;
    bw_upstream_rr_peer_t  *peer;

    /* ids are never given twice; the state file keeps them in 32 bits */
    if (peers->shared->next_id >= INT32_MAX) {
        return BW_ERROR;
    }

    p = bw_upstream_rr_strings(peers, tmpl);
    if (p == NULL) {
        return BW_ERROR;
    }

    i = bw_upstream_rr_slot(peers);
    if (i < 0) {
        bw_slab_free_locked(peers->shpool, p);
        return i;
    }

    peer = &peers->peer[i];
    *peer = *tmpl;
    bw_upstream_rr_put_strings(peer, p, tmpl);

    peer->effective_weight = peer->weight;
    peer->current_weight = 0;
    peer->conns = 0;
    peer->fails = 0;
    peer->accessed = 0;
    peer->checked = 0;
    peer->removed = 0;
    peer->drain = 0;
    bw_memzero(peer->hc, sizeof(peer->hc));
    peer->hc_checks = 0;
    peer->hc_fails = 0;
    peer->hc_unhealthy = 0;
    peer->hc_last_passed = 0;
    peer->hc_bad = 0;
    /* with mandatory checks, no request before their first pass */
    peer->hc_pending = peers->shared->mandatory;
    peer->unhealthy = (peer->hc_pending != 0);
    peer->id = peers->shared->next_id++;
    peers->shared->live++;

    bw_upstream_rr_recount(peers);

    *added = peer;
    return BW_OK;
}

bw_upstream_rr_peer_t *
bw_upstream_rr_find(bw_upstream_rr_peers_t *peers, bw_uint_t id,
    bw_upstream_rr_peers_t **set)
{
    bw_uint_t  i;

    for ( /* void */ ; peers; peers = peers->next) {
        for (i = 0; i < peers->number; i++) {
            if (!peers->peer[i].removed && peers->peer[i].id == id) {
                *set = peers;
                return &peers->peer[i];
            }
        }
    }

    return NULL;
}
