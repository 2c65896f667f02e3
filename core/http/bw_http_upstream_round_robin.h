/*
 * What the other balancers build on: they start from round robin's
 * per-request state (the tried set, the current peer, the fallback when
 * their own choice finds nothing) and replace only the choice.
 */

#ifndef BW_HTTP_UPSTREAM_ROUND_ROBIN_H
#define BW_HTTP_UPSTREAM_ROUND_ROBIN_H

#include <bw_http.h>
#include <bw_upstream_round_robin.h>

/* A balancer's choice: pure, called with the peers' lock held. */
typedef bw_upstream_rr_peer_t *(*bw_http_upstream_rr_choose_pt)(
    bw_upstream_rr_state_t *st, void *data, time_t now);

/* A zone's peer may leave, or its slot move, while the request still
 * names it ($upstream_addr, the log, the metrics): the request keeps its
 * own copy of the address and the name, one for each attempt. */
typedef struct {
    bw_sockaddr_t                   sockaddr;
    bw_str_t                        name;
    u_char                          text[BW_SOCKADDR_STRLEN + 1];
} bw_http_upstream_rr_addr_t;

typedef struct {
    bw_upstream_rr_state_t          st;
    bw_http_upstream_rr_choose_pt   choose;      /* NULL: round robin */
    void                           *choose_data;
    bw_pool_t                      *pool;        /* zone peers: where each
                                                    attempt's copy goes */
    unsigned                        single:1;
} bw_http_upstream_rr_peer_data_t;

/* Tell the upstream's owner that its zone peers changed (the state
 * file); set by the module that keeps state, NULL without one. */
extern void (*bw_http_upstream_rr_changed)(bw_upstream_rr_peers_t *peers);

bw_int_t bw_http_upstream_get_round_robin_peer(bw_peer_connection_t *pc,
    void *data);
void bw_http_upstream_free_round_robin_peer(bw_peer_connection_t *pc,
    void *data, bw_uint_t state);

/* Build the peers as round robin does, then use init_peer per request. */
bw_int_t bw_http_upstream_rr_init_with(bw_conf_t *cf,
    bw_http_upstream_srv_conf_t *us, bw_http_upstream_init_peer_pt init_peer);
/* Per request: round robin's state with choose as the choice (one
 * server is still always tried) and extra bytes for the balancer's own
 * state, which is returned; NULL on error. */
void *bw_http_upstream_rr_init_peer_with(bw_http_request_t *r,
    bw_http_upstream_srv_conf_t *us, size_t extra,
    bw_http_upstream_rr_choose_pt choose);

#endif
