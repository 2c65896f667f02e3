/* Peer arrays for the balancer unit tests. */

#ifndef TEST_PEERS_H
#define TEST_PEERS_H

#include <stdio.h>
#include <bw_upstream_round_robin.h>

#define TEST_MAX_PEERS  16

typedef struct {
    bw_upstream_rr_peers_t  peers;
    bw_upstream_rr_peer_t   p[TEST_MAX_PEERS];
    char                    names[TEST_MAX_PEERS][32];
} test_peers_t;

/* n peers "127.0.0.1:8081".. with the given weights (max_fails 1) */
static inline void
test_peers_init(test_peers_t *t, const bw_int_t *weights, bw_uint_t n)
{
    bw_uint_t  i;

    memset(t, 0, sizeof(*t));
    t->peers.number = n;
    t->peers.peer = t->p;
    for (i = 0; i < n; i++) {
        t->p[i].weight = weights[i];
        t->p[i].effective_weight = weights[i];
        t->p[i].max_fails = 1;
        t->p[i].fail_timeout = 10;
        snprintf(t->names[i], sizeof(t->names[i]), "127.0.0.1:%u",
                 (unsigned) (8081 + i));
        t->p[i].server.data = (u_char *) t->names[i];
        t->p[i].server.len = strlen(t->names[i]);
        t->p[i].name = t->p[i].server;
        t->peers.total_weight += weights[i];
    }
}

#endif
