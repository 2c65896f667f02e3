/* least_conn's choice, a pure function over the peers (unit-tested). */

#ifndef BW_UPSTREAM_LEAST_CONN_H
#define BW_UPSTREAM_LEAST_CONN_H

#include <bw_upstream_round_robin.h>

/* The untried usable peer with the fewest connections per weight,
 * primaries first, then backups; NULL when none is usable. */
bw_upstream_rr_peer_t *bw_upstream_least_conn_get(bw_upstream_rr_state_t *st,
    time_t now);

#endif
