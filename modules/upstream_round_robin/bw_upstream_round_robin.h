/*
 * Smooth weighted round robin (nginx's algorithm) with passive health:
 * max_fails failures within fail_timeout take a peer out for
 * fail_timeout; backup peers serve only when every primary is out.
 */

#ifndef BW_UPSTREAM_ROUND_ROBIN_H
#define BW_UPSTREAM_ROUND_ROBIN_H

#include <bw_core.h>

typedef struct bw_upstream_rr_peer_s  bw_upstream_rr_peer_t;

struct bw_upstream_rr_peer_s {
    struct sockaddr          *sockaddr;
    socklen_t                 socklen;
    bw_str_t                  name;

    bw_int_t                  weight;
    bw_int_t                  effective_weight;
    bw_int_t                  current_weight;

    bw_uint_t                 conns;
    bw_uint_t                 max_conns;      /* 0: no limit */

    bw_uint_t                 fails;
    bw_uint_t                 max_fails;      /* 0: never out */
    time_t                    fail_timeout;
    time_t                    accessed;       /* last failure */
    time_t                    checked;        /* last check after failure */

    unsigned                  down:1;
};

typedef struct bw_upstream_rr_peers_s  bw_upstream_rr_peers_t;

struct bw_upstream_rr_peers_s {
    bw_uint_t                 number;
    bw_int_t                  total_weight;
    bw_upstream_rr_peer_t    *peer;           /* array of number */
    bw_upstream_rr_peers_t   *next;           /* the backup peers */
};

/* Per request: which peers were tried already (bit per peer). */
typedef struct {
    bw_upstream_rr_peers_t   *peers;
    bw_upstream_rr_peer_t    *current;
    uint64_t                  tried[4];       /* up to 256 peers a set */
    uint64_t                  tried_backup[4];
} bw_upstream_rr_state_t;

#define BW_UPSTREAM_RR_MAX_PEERS  256

void bw_upstream_rr_init_state(bw_upstream_rr_state_t *st,
    bw_upstream_rr_peers_t *peers);
/* The next peer to try at time now, or NULL when none is usable. */
bw_upstream_rr_peer_t *bw_upstream_rr_get(bw_upstream_rr_state_t *st,
    time_t now);
/* Report the outcome of the attempt on st->current. */
void bw_upstream_rr_free(bw_upstream_rr_state_t *st, time_t now,
    bw_uint_t failed);

#endif
