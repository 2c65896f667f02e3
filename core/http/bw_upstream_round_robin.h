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
    bw_str_t                  name;           /* this address */
    bw_str_t                  server;         /* its "server" line */

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
    bw_uint_t                 tries;          /* those not "down", as
                                                 nginx counts them */
    bw_int_t                  total_weight;
    bw_upstream_rr_peer_t    *peer;           /* array of number */
    bw_upstream_rr_peers_t   *next;           /* the backup peers */
    bw_slab_pool_t           *shpool;         /* in a zone: its lock */
    bw_str_t                 *name;           /* the upstream's, logged
                                                 when no peer is left */
};

/* Per request: which peers were tried already (bit per peer). */
typedef struct {
    bw_upstream_rr_peers_t   *peers;
    bw_upstream_rr_peer_t    *current;
    uint64_t                  tried[4];       /* up to 256 peers a set */
    uint64_t                  tried_backup[4];
} bw_upstream_rr_state_t;

#define BW_UPSTREAM_RR_MAX_PEERS  256

/* how often a hash balancer looks again before it falls back to rr */
#define BW_UPSTREAM_HASH_TRIES    20

#define bw_upstream_rr_tried(set, i) \
    ((set)[(i) / 64] & ((uint64_t) 1 << ((i) % 64)))
#define bw_upstream_rr_set_tried(set, i) \
    ((set)[(i) / 64] |= ((uint64_t) 1 << ((i) % 64)))

/* Peers in a zone are shared by every worker: hold the lock around
 * get and free. */
#define bw_upstream_rr_lock(peers) \
    if ((peers)->shpool) { bw_shmtx_lock((peers)->shpool); }
#define bw_upstream_rr_unlock(peers) \
    if ((peers)->shpool) { bw_shmtx_unlock((peers)->shpool); }

void bw_upstream_rr_init_state(bw_upstream_rr_state_t *st,
    bw_upstream_rr_peers_t *peers);
/* The next peer to try at time now, or NULL when none is usable. */
bw_upstream_rr_peer_t *bw_upstream_rr_get(bw_upstream_rr_state_t *st,
    time_t now);
/* Not down, not out after failures, below max_conns. */
bw_uint_t bw_upstream_rr_peer_ok(bw_upstream_rr_peer_t *peer, time_t now);
typedef bw_uint_t (*bw_upstream_rr_match_pt)(bw_upstream_rr_peer_t *peer,
    const void *arg);

/* Smooth weighted choice among the untried usable peers of a set (the
 * index, or -1); with match, only among the peers it accepts (least_conn
 * ties, the addresses of one server for consistent hashing). */
bw_int_t bw_upstream_rr_pick(bw_upstream_rr_state_t *st,
    bw_upstream_rr_peers_t *peers, bw_upstream_rr_match_pt match,
    const void *arg, time_t now);
/* The peer that w (modulo the total weight) falls on when the weights
 * are laid end to end, down peers included (hash, ip_hash, random). */
bw_uint_t bw_upstream_rr_by_weight(bw_upstream_rr_peers_t *peers,
    bw_uint_t w);
/* Peer i of the primary set is untried and may take a request now. */
bw_uint_t bw_upstream_rr_usable(bw_upstream_rr_state_t *st, bw_uint_t i,
    time_t now);
/* The tried set of peers (primary or backup) for this request. */
uint64_t *bw_upstream_rr_tried_set(bw_upstream_rr_state_t *st,
    bw_upstream_rr_peers_t *peers);
/* Make peer i of peers (primary or backup) the one this attempt uses. */
bw_upstream_rr_peer_t *bw_upstream_rr_take(bw_upstream_rr_state_t *st,
    bw_upstream_rr_peers_t *peers, bw_uint_t i, time_t now);
/* Report the outcome of the attempt on st->current. */
void bw_upstream_rr_free(bw_upstream_rr_state_t *st, time_t now,
    bw_uint_t failed);

#endif
