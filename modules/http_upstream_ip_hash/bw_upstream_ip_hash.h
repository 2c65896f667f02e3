/* ip_hash's choice, a pure function over the peers (unit-tested). */

#ifndef BW_UPSTREAM_IP_HASH_H
#define BW_UPSTREAM_IP_HASH_H

#include <bw_upstream_round_robin.h>

typedef struct {
    bw_uint_t   hash;
    bw_uint_t   tries;
    size_t      addrlen;
    u_char      addr[16];
} bw_upstream_ip_hash_t;

void bw_upstream_ip_hash_init(bw_upstream_ip_hash_t *ih,
    const struct sockaddr *sa);
/* The peer for this client; after failures the next one in the hash's
 * sequence, and round robin when 20 looks found none. */
bw_upstream_rr_peer_t *bw_upstream_ip_hash_get(bw_upstream_rr_state_t *st,
    bw_upstream_ip_hash_t *ih, time_t now);

#endif
