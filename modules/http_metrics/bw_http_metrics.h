/*
 * Counters for metrics: per status_zone (requests by status class,
 * bytes, a request time histogram) and per upstream peer (attempts by
 * status class, failures). They live in one shared zone, as nodes keyed
 * by name in an rbtree: a worker finds (or makes) a node once, under
 * the zone's lock, keeps its address, and from then on adds to it with
 * relaxed atomics, never locked. A reload keeps the zone, and so the
 * counts; a restart starts them at zero.
 */

#ifndef BW_HTTP_METRICS_H
#define BW_HTTP_METRICS_H

#include <bw_http.h>
#include <bw_upstream_round_robin.h>

#define BW_METRICS_ZONE_SIZE   (1024 * 1024)
#define BW_METRICS_BUCKETS     11      /* 5 ms .. 10 s, then +Inf */
#define BW_METRICS_CACHE       7       /* BW_HTTP_CACHE_MISS .. _HIT */
#define BW_METRICS_LIMIT_REQ   5       /* PASSED .. REJECTED_DRY_RUN */
#define BW_METRICS_LIMIT_CONN  3       /* PASSED .. REJECTED_DRY_RUN */

#define BW_METRICS_SERVER      1
#define BW_METRICS_PEER        2

/* the statuses counted one by one as well as by class */
#define BW_METRICS_CODES       20

typedef struct {
    bw_str_node_t      sn;           /* "s" NAME or "p" UPSTREAM " " PEER */
    bw_uint_t          kind;
    bw_str_t           zone;         /* a server zone's name, or */
    bw_str_t           upstream;     /* an upstream's and its */
    bw_str_t           peer;         /* peer's */
    uint64_t           requests;
    uint64_t           processing;   /* a server zone's, now */
    uint64_t           codes[5];     /* 1xx .. 5xx */
    uint64_t           exact[BW_METRICS_CODES];
    uint64_t           failed;       /* no answer (502/504 made here) */
    uint64_t           received;
    uint64_t           sent;
    uint64_t           time_ms;      /* sum of request (or response) times */
    uint64_t           buckets[BW_METRICS_BUCKETS];
    uint64_t           header_ms;    /* a peer's: sum of header times */
    uint64_t           header_buckets[BW_METRICS_BUCKETS];
    uint64_t           cache[BW_METRICS_CACHE];  /* by $upstream_cache_
                                                    status, MISS first */
    uint64_t           limit_req[BW_METRICS_LIMIT_REQ];   /* by
                                                    $limit_req_status */
    uint64_t           limit_conn[BW_METRICS_LIMIT_CONN]; /* by
                                                    $limit_conn_status */
} bw_http_metrics_node_t;

typedef struct {
    bw_rbtree_t        rbtree;
    bw_rbtree_node_t   sentinel;
    bw_uint_t          full_logged;
} bw_http_metrics_sh_t;

typedef struct {
    bw_shm_zone_t     *shm_zone;
    bw_slab_pool_t    *shpool;
    bw_http_metrics_sh_t *sh;
    bw_array_t         zones;        /* bw_str_t: status_zone names */
    bw_uint_t          enabled;
} bw_http_metrics_main_conf_t;

typedef struct {
    bw_int_t           zone;         /* index in zones, -1: none */
    bw_str_t           page_src;     /* status_page: the metrics URI */
} bw_http_metrics_loc_conf_t;

extern bw_module_t     bw_http_metrics_module;
extern const bw_msec_t bw_http_metrics_bounds[BW_METRICS_BUCKETS];
extern const bw_uint_t bw_http_metrics_codes[BW_METRICS_CODES];

#define bw_metrics_add(field, n) \
    (void) __atomic_fetch_add(&(field), (uint64_t) (n), __ATOMIC_RELAXED)
#define bw_metrics_get(field) \
    __atomic_load_n(&(field), __ATOMIC_RELAXED)

bw_int_t bw_http_metrics_handler(bw_http_request_t *r);
/* bw_http_metrics_page.c */
bw_int_t bw_http_metrics_page_handler(bw_http_request_t *r);

#endif
