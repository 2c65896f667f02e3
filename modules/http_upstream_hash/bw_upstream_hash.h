/* hash and consistent hash choices, pure functions (unit-tested). */

#ifndef BW_UPSTREAM_HASH_H
#define BW_UPSTREAM_HASH_H

#include <bw_upstream_round_robin.h>

#define BW_UPSTREAM_CHASH_POINTS  160     /* per unit of weight */

typedef struct {
    uint32_t                  hash;
    bw_str_t                 *server;
} bw_upstream_chash_point_t;

typedef struct {
    bw_uint_t                 number;
    bw_upstream_chash_point_t point[];
} bw_upstream_chash_points_t;

/* Per request. */
typedef struct {
    bw_str_t                     key;
    bw_upstream_chash_points_t  *points;   /* NULL: plain hash */
    bw_uint_t                    hash;
    bw_uint_t                    rehash;
    bw_uint_t                    tries;
    unsigned                     placed:1;  /* on the ring already */
} bw_upstream_hash_t;

/* Room for the ring of these peers, in points. */
bw_uint_t bw_upstream_chash_count(bw_upstream_rr_peers_t *peers);
/* Fill points (room for bw_upstream_chash_count) and sort the ring. */
void bw_upstream_chash_build(bw_upstream_rr_peers_t *peers,
    bw_upstream_chash_points_t *points);
/* The first point at or after hash, wrapping round. */
bw_uint_t bw_upstream_chash_find(bw_upstream_chash_points_t *points,
    uint32_t hash);

void bw_upstream_hash_init(bw_upstream_hash_t *h, bw_str_t *key,
    bw_upstream_chash_points_t *points);
/* The peer for this key; after failures the next in the key's sequence,
 * and round robin when 20 looks found none (or the key is empty). */
bw_upstream_rr_peer_t *bw_upstream_hash_get(bw_upstream_rr_state_t *st,
    bw_upstream_hash_t *h, time_t now);

#endif
