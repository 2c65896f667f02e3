/*
 * Least connections, as nginx: "fewest" compares conns/weight without
 * division (a.conns * b.weight < b.conns * a.weight), and a tie between
 * several peers is broken by smooth weighted round robin among exactly
 * those, so that idle peers of different weights still share by weight.
 * With a zone the connection counts are those of every worker.
 */

#include <bw_upstream_least_conn.h>

/* exactly as loaded as the least loaded, relative to the weights */
static bw_uint_t
bw_upstream_least_conn_tie(bw_upstream_rr_peer_t *peer, const void *arg)
{
    const bw_upstream_rr_peer_t  *best = arg;

    return peer->conns * (bw_uint_t) best->weight
           == best->conns * (bw_uint_t) peer->weight;
}

static bw_upstream_rr_peer_t *
bw_upstream_least_conn_set(bw_upstream_rr_state_t *st,
    bw_upstream_rr_peers_t *peers, time_t now)
{
    bw_int_t                i;
    bw_uint_t               n, many;
    uint64_t               *tried;
    bw_upstream_rr_peer_t  *peer, *best;

    tried = bw_upstream_rr_tried_set(st, peers);
    best = NULL;
    many = 0;
    i = -1;

    for (n = 0; n < peers->number && n < BW_UPSTREAM_RR_MAX_PEERS; n++) {
        peer = &peers->peer[n];

        if (bw_upstream_rr_tried(tried, n)
            || !bw_upstream_rr_peer_ok(peer, now))
        {
            continue;
        }

        if (best == NULL
            || peer->conns * (bw_uint_t) best->weight
               < best->conns * (bw_uint_t) peer->weight)
        {
            best = peer;
            many = 0;
            i = (bw_int_t) n;

        } else if (peer->conns * (bw_uint_t) best->weight
                   == best->conns * (bw_uint_t) peer->weight)
        {
            many = 1;
        }
    }

    if (best == NULL) {
        return NULL;
    }

    if (many) {
        i = bw_upstream_rr_pick(st, peers, bw_upstream_least_conn_tie, best,
                                now);
    }

    return bw_upstream_rr_take(st, peers, (bw_uint_t) i, now);
}

bw_upstream_rr_peer_t *
bw_upstream_least_conn_get(bw_upstream_rr_state_t *st, time_t now)
{
    bw_upstream_rr_peer_t  *peer;

    peer = bw_upstream_least_conn_set(st, st->peers, now);

    if (peer == NULL && st->peers->next) {
        peer = bw_upstream_least_conn_set(st, st->peers->next, now);
    }

    if (peer == NULL) {
        st->current = NULL;
    }

    return peer;
}
