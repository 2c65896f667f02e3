/*
 * Smooth weighted round robin (nginx's algorithm) with passive health:
 * max_fails failures within fail_timeout take a peer out for
 * fail_timeout; backup peers serve only when every primary is out.
 */

#ifndef BW_UPSTREAM_ROUND_ROBIN_H
#define BW_UPSTREAM_ROUND_ROBIN_H

#include <bw_core.h>

typedef struct bw_upstream_rr_peer_s  bw_upstream_rr_peer_t;

#define BW_UPSTREAM_HC_MAX  4          /* health checks an upstream */

typedef struct {
    bw_msec_t                 next;           /* the next probe is due */
    bw_msec_t                 started;        /* a probe runs since; 0 */
    bw_uint_t                 passes_row;
    bw_uint_t                 fails_row;
} bw_upstream_rr_hc_t;

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

    bw_uint_t                 id;             /* the admin API's, stable
                                                 while the peer lives */
    bw_uint_t                 host;           /* 1 + the index of the
                                                 "resolve" server line it
                                                 was found for; 0: none */

    /* active health checks (modules/http_upstream_check), in the zone:
     * each check of the upstream (at most BW_UPSTREAM_HC_MAX) has its
     * schedule and its run of results; a peer is out while any check
     * says so (hc_bad) or a mandatory one has not passed yet
     * (hc_pending) */
    bw_upstream_rr_hc_t       hc[BW_UPSTREAM_HC_MAX];
    bw_uint_t                 hc_checks;
    bw_uint_t                 hc_fails;
    bw_uint_t                 hc_unhealthy;   /* times it went out */
    unsigned                  hc_bad:BW_UPSTREAM_HC_MAX;
    unsigned                  hc_pending:BW_UPSTREAM_HC_MAX;

    unsigned                  down:1;
    unsigned                  unhealthy:1;    /* hc_bad or hc_pending: no
                                                 client request */
    unsigned                  hc_last_passed:1;
    unsigned                  drain:1;        /* no new requests; leaves
                                                 the set once idle */
    unsigned                  removed:1;      /* a free slot: skipped by
                                                 every balancer */
    unsigned                  dynamic:1;      /* added at run time: its
                                                 strings are in the zone */
};

/*
 * Peers in a zone change at run time (the admin API): slots keep their
 * index while a request may point at them, so that the tried bits and
 * the current attempt stay true; the slot array may move when it grows,
 * so a peer is reached through its set and index, under the lock, and
 * never kept by address across a release of the lock.
 */
typedef struct {
    bw_uint_t                 next_id;
    bw_uint_t                 generation;     /* bumped by every change */
    bw_uint_t                 live;           /* peers in both sets */
    unsigned                  changed:1;      /* the state file is behind */
    unsigned                  state:1;        /* the upstream has one */
    unsigned                  retired:1;      /* a reload replaces it: no
                                                 more changes here */
    unsigned                  mandatory:BW_UPSTREAM_HC_MAX; /* the checks
                                                 a peer added must pass
                                                 first */
    /* "resolve" servers: when each is looked up next, and since when a
     * worker is at it (0: none), by the index of its server line */
    bw_msec_t                *resolve_next;
    bw_msec_t                *resolve_started;
    u_char                   *resolve_failing; /* said once, not each time */
} bw_upstream_rr_shared_t;

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
    bw_upstream_rr_shared_t  *shared;         /* in a zone; else NULL */
    bw_uint_t                 capacity;       /* slots (in a zone) */
};

/* Per request: which peers were tried already (bit per peer). */
typedef struct {
    bw_upstream_rr_peers_t   *peers;
    bw_upstream_rr_peer_t    *current;        /* valid under the lock
                                                 that chose it only */
    bw_upstream_rr_peers_t   *current_set;
    bw_uint_t                 current_i;
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
/* Not down, not draining, not out after failures, below max_conns. */
bw_uint_t bw_upstream_rr_peer_ok(bw_upstream_rr_peer_t *peer, time_t now);
/* The same, but a draining peer still takes the clients whose key it
 * holds (hash, ip_hash) until it leaves. */
bw_uint_t bw_upstream_rr_peer_sticky_ok(bw_upstream_rr_peer_t *peer,
    time_t now);
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
bw_uint_t bw_upstream_rr_usable_sticky(bw_upstream_rr_state_t *st,
    bw_uint_t i, time_t now);
/* The tried set of peers (primary or backup) for this request. */
uint64_t *bw_upstream_rr_tried_set(bw_upstream_rr_state_t *st,
    bw_upstream_rr_peers_t *peers);
/* Make peer i of peers (primary or backup) the one this attempt uses. */
bw_upstream_rr_peer_t *bw_upstream_rr_take(bw_upstream_rr_state_t *st,
    bw_upstream_rr_peers_t *peers, bw_uint_t i, time_t now);
/* Report the outcome of the attempt on st->current; returns 1 when a
 * draining peer left the set with it. */
bw_uint_t bw_upstream_rr_free(bw_upstream_rr_state_t *st, time_t now,
    bw_uint_t failed);
/* Empty the slot of a peer that has no request left (zone peers); its
 * strings go back to the zone. */
void bw_upstream_rr_release(bw_upstream_rr_peers_t *peers,
    bw_upstream_rr_peer_t *peer);
/* Run-time changes to a zone's peers (upstream_rr_change.c), with the
 * zone's lock held. add copies tmpl's address and names into the zone
 * and gives the peer the next id: BW_DECLINED when the set is full,
 * BW_ERROR when the zone is. */
bw_int_t bw_upstream_rr_add(bw_upstream_rr_peers_t *peers,
    const bw_upstream_rr_peer_t *tmpl, bw_upstream_rr_peer_t **added);
void bw_upstream_rr_remove(bw_upstream_rr_peers_t *peers,
    bw_upstream_rr_peer_t *peer);
/* A peer's new address and names (tmpl's), copied into the zone. */
bw_int_t bw_upstream_rr_set_address(bw_upstream_rr_peers_t *peers,
    bw_upstream_rr_peer_t *peer, const bw_upstream_rr_peer_t *tmpl);
/* The backup set, made empty in the zone the first time; NULL when the
 * zone is full. */
bw_upstream_rr_peers_t *bw_upstream_rr_backup_set(
    bw_upstream_rr_peers_t *peers);
/* After settings changed: the totals again, and a new generation. */
void bw_upstream_rr_recount(bw_upstream_rr_peers_t *peers);
/* The live peer with this id in either set (and which set), or NULL. */
bw_upstream_rr_peer_t *bw_upstream_rr_find(bw_upstream_rr_peers_t *peers,
    bw_uint_t id, bw_upstream_rr_peers_t **set);
/* The live peers of both sets, all of them when no zone keeps count. */
bw_uint_t bw_upstream_rr_live(bw_upstream_rr_peers_t *peers);

#endif
