/*
 * Random by weight, as nginx: a draw in [0, total weight) walks the
 * peers (down ones keep their share, so the others' odds do not move).
 * "two" draws until it holds two different usable peers and keeps the
 * one with fewer connections per weight, the first on a tie.
 */

#include <bw_upstream_random.h>

bw_upstream_rr_peer_t *
bw_upstream_random_get(bw_upstream_rr_state_t *st, bw_upstream_random_t *rnd,
    time_t now)
{
    bw_int_t                 first;
    bw_uint_t                p;
    bw_upstream_rr_peer_t   *a, *b;
    bw_upstream_rr_peers_t  *peers;

    peers = st->peers;
    first = -1;

    while (rnd->tries <= BW_UPSTREAM_HASH_TRIES
           && bw_upstream_rr_live(peers) > 1)
    {
        p = bw_upstream_rr_by_weight(peers, (bw_uint_t)
                  bw_random_below((uint64_t) peers->total_weight));

        if (p < BW_UPSTREAM_RR_MAX_PEERS && (bw_int_t) p != first
            && bw_upstream_rr_usable(st, p, now))
        {
            if (!rnd->two) {
                return bw_upstream_rr_take(st, peers, p, now);
            }

            if (first == -1) {
                first = (bw_int_t) p;

            } else {
                a = &peers->peer[first];
                b = &peers->peer[p];
                if (b->conns * (bw_uint_t) a->weight
                    < a->conns * (bw_uint_t) b->weight)
                {
                    first = (bw_int_t) p;
                }
                return bw_upstream_rr_take(st, peers, (bw_uint_t) first,
                                           now);
            }
        }

        rnd->tries++;
    }

    return bw_upstream_rr_get(st, now);
}
