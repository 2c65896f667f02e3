/* random's choice, a pure function over the peers (unit-tested). */

#ifndef BW_UPSTREAM_RANDOM_H
#define BW_UPSTREAM_RANDOM_H

#include <bw_upstream_round_robin.h>

/* Per request. */
typedef struct {
    bw_uint_t   two;        /* the less loaded of two random peers */
    bw_uint_t   tries;
} bw_upstream_random_t;

/* A random usable peer by weight (or the better of two); round robin
 * when 20 draws found none. */
bw_upstream_rr_peer_t *bw_upstream_random_get(bw_upstream_rr_state_t *st,
    bw_upstream_random_t *rnd, time_t now);

#endif
