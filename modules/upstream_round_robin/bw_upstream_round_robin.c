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

#define bw_tried_test(set, i)  ((set)[(i) / 64] & ((uint64_t) 1 << ((i) % 64)))
#define bw_tried_set(set, i)   ((set)[(i) / 64] |= ((uint64_t) 1 << ((i) % 64)))

void
bw_upstream_rr_init_state(bw_upstream_rr_state_t *st,
    bw_upstream_rr_peers_t *peers)
{
    bw_memzero(st, sizeof(bw_upstream_rr_state_t));
    st->peers = peers;
}

static bw_upstream_rr_peer_t *
bw_upstream_rr_pick(bw_upstream_rr_peers_t *peers, uint64_t *tried,
    time_t now)
{
    bw_int_t                total;
    bw_uint_t               i;
    bw_upstream_rr_peer_t  *peer, *best;

    best = NULL;
    total = 0;

    for (i = 0; i < peers->number && i < BW_UPSTREAM_RR_MAX_PEERS; i++) {
        peer = &peers->peer[i];

        if (bw_tried_test(tried, i) || peer->down) {
            continue;
        }

        if (peer->max_fails && peer->fails >= peer->max_fails
            && now - peer->checked <= peer->fail_timeout)
        {
            continue;
        }

        if (peer->max_conns && peer->conns >= peer->max_conns) {
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
        return NULL;
    }

    best->current_weight -= total;

    /* a peer out for fail_timeout gets one trial request */
    if (now - best->checked > best->fail_timeout) {
        best->checked = now;
    }

    bw_tried_set(tried, (bw_uint_t) (best - peers->peer));
    return best;
}

bw_upstream_rr_peer_t *
bw_upstream_rr_get(bw_upstream_rr_state_t *st, time_t now)
{
    bw_upstream_rr_peer_t  *peer;

    peer = bw_upstream_rr_pick(st->peers, st->tried, now);

    if (peer == NULL && st->peers->next) {
        peer = bw_upstream_rr_pick(st->peers->next, st->tried_backup, now);
    }

    if (peer) {
        peer->conns++;
    }

    st->current = peer;
    return peer;
}

void
bw_upstream_rr_free(bw_upstream_rr_state_t *st, time_t now,
    bw_uint_t failed)
{
    bw_upstream_rr_peer_t  *peer;

    peer = st->current;
    if (peer == NULL) {
        return;
    }

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

    st->current = NULL;
}
