/*
 * Smooth weighted round robin. Each pick adds every usable peer's
 * effective weight to its current weight and takes the largest, which
 * then loses the total: with weights 5:1:1 the order is a a b a c a a,
 * never five "a" in a row. A failure lowers the peer's effective
 * weight; successes restore it one step per pick.
 *
 * Pure functions over the peer array: no I/O, no clock reads (the
 * caller passes the time), so that they are unit-tested directly.
 */

#include <bw_upstream_round_robin.h>

void
bw_upstream_rr_init_state(bw_upstream_rr_state_t *st,
    bw_upstream_rr_peers_t *peers)
{
    bw_memzero(st, sizeof(bw_upstream_rr_state_t));
    st->peers = peers;
}

bw_uint_t
bw_upstream_rr_peer_ok(bw_upstream_rr_peer_t *peer, time_t now)
{
    return !peer->drain && bw_upstream_rr_peer_sticky_ok(peer, now);
}

bw_uint_t
bw_upstream_rr_peer_sticky_ok(bw_upstream_rr_peer_t *peer, time_t now)
{
    if (peer->down || peer->removed || peer->unhealthy) {
        return 0;
    }

    if (peer->max_fails && peer->fails >= peer->max_fails
        && now - peer->checked <= peer->fail_timeout)
    {
        return 0;
    }

    return !(peer->max_conns && peer->conns >= peer->max_conns);
}

bw_uint_t
bw_upstream_rr_by_weight(bw_upstream_rr_peers_t *peers, bw_uint_t w)
{
    bw_uint_t  p;

    /* every peer removed at run time: past the end, which no caller
     * takes */
    if (peers->total_weight <= 0) {
        return peers->number;
    }

    w %= (bw_uint_t) peers->total_weight;

    /* removed slots weigh nothing, so the walk passes over them */
    for (p = 0; p < peers->number; p++) {
        if (peers->peer[p].removed) {
            continue;
        }
        if (w < (bw_uint_t) peers->peer[p].weight) {
            break;
        }
        w -= (bw_uint_t) peers->peer[p].weight;
    }

    return p;
}

bw_uint_t
bw_upstream_rr_live(bw_upstream_rr_peers_t *peers)
{
    if (peers->shared) {
        return peers->shared->live;
    }

    return peers->number + (peers->next ? peers->next->number : 0);
}

bw_uint_t
bw_upstream_rr_usable(bw_upstream_rr_state_t *st, bw_uint_t i, time_t now)
{
    return i < st->peers->number
           && !bw_upstream_rr_tried(st->tried, i)
           && bw_upstream_rr_peer_ok(&st->peers->peer[i], now);
}

bw_uint_t
bw_upstream_rr_usable_sticky(bw_upstream_rr_state_t *st, bw_uint_t i,
    time_t now)
{
    return i < st->peers->number
           && !bw_upstream_rr_tried(st->tried, i)
           && bw_upstream_rr_peer_sticky_ok(&st->peers->peer[i], now);
}

uint64_t *
bw_upstream_rr_tried_set(bw_upstream_rr_state_t *st,
    bw_upstream_rr_peers_t *peers)
{
    return peers == st->peers ? st->tried : st->tried_backup;
}

bw_upstream_rr_peer_t *
bw_upstream_rr_take(bw_upstream_rr_state_t *st,
    bw_upstream_rr_peers_t *peers, bw_uint_t i, time_t now)
{
    bw_upstream_rr_peer_t  *peer;

    peer = &peers->peer[i];

    /* a peer out for fail_timeout gets one trial request */
    if (now - peer->checked > peer->fail_timeout) {
        peer->checked = now;
    }

    bw_upstream_rr_set_tried(bw_upstream_rr_tried_set(st, peers), i);
    peer->conns++;
    st->current = peer;
    st->current_set = peers;
    st->current_i = i;
    return peer;
}

bw_int_t
bw_upstream_rr_pick(bw_upstream_rr_state_t *st,
    bw_upstream_rr_peers_t *peers, bw_upstream_rr_match_pt match,
    const void *arg, time_t now)
{
    bw_int_t                total;
    bw_uint_t               i;
    uint64_t               *tried;
    bw_upstream_rr_peer_t  *peer, *best;

    tried = bw_upstream_rr_tried_set(st, peers);
    best = NULL;
    total = 0;

    for (i = 0; i < peers->number && i < BW_UPSTREAM_RR_MAX_PEERS; i++) {
        peer = &peers->peer[i];

        if (bw_upstream_rr_tried(tried, i)
            || !bw_upstream_rr_peer_ok(peer, now))
        {
            continue;
        }

        if (match && !match(peer, arg)) {
            continue;
        }

        peer->current_weight += peer->effective_weight;
        total += peer->effective_weight;

        if (peer->effective_weight < peer->weight) {
            peer->effective_weight++;
        }

        if (best == NULL || peer->current_weight > best->current_weight) {
            best = peer;
        }
    }

    if (best == NULL) {
        return -1;
    }

    best->current_weight -= total;
    return best - peers->peer;
}

bw_upstream_rr_peer_t *
bw_upstream_rr_get(bw_upstream_rr_state_t *st, time_t now)
{
    bw_int_t                 i;
    bw_upstream_rr_peers_t  *peers;

    peers = st->peers;
    i = bw_upstream_rr_pick(st, peers, NULL, NULL, now);

    if (i == -1 && peers->next) {
        peers = peers->next;
        i = bw_upstream_rr_pick(st, peers, NULL, NULL, now);
    }

    if (i == -1) {
        st->current = NULL;
        return NULL;
    }

    return bw_upstream_rr_take(st, peers, (bw_uint_t) i, now);
}

bw_uint_t
bw_upstream_rr_free(bw_upstream_rr_state_t *st, time_t now,
    bw_uint_t failed)
{
    bw_upstream_rr_peer_t  *peer;

    if (st->current == NULL) {
        return 0;
    }

    /* the slots may have moved since the choice (a zone's set grew) */
    peer = &st->current_set->peer[st->current_i];
    st->current = NULL;

    if (peer->conns) {
        peer->conns--;
    }

    if (failed) {
        peer->fails++;
        peer->accessed = now;
        peer->checked = now;

        if (peer->max_fails) {
            peer->effective_weight -= peer->weight / (bw_int_t) peer->max_fails;
        }
        if (peer->effective_weight < 0) {
            peer->effective_weight = 0;
        }

    } else if (peer->accessed < peer->checked) {
        /* the trial after fail_timeout worked: the peer is back */
        peer->fails = 0;
    }

    if (peer->conns == 0 && (peer->drain || peer->removed)) {
        if (!peer->removed) {
            bw_upstream_rr_remove(st->current_set, peer);
            return 1;
        }
        bw_upstream_rr_release(st->current_set, peer);
    }

    return 0;
}
