/*
 * The stub resolver of the workers: host names known only at run time
 * (proxy_pass with variables) are asked of the "resolver" servers over
 * UDP, without blocking, and the answers are cached for their TTL (or
 * "valid="). Requests asking for a name already being asked wait for the
 * same answer.
 */

#ifndef BW_RESOLVER_H
#define BW_RESOLVER_H

#define BW_RESOLVE_TIMEDOUT  110    /* ETIMEDOUT, as nginx reports it */
#define BW_RESOLVE_ERROR     1000   /* the query could not be sent */

typedef struct bw_resolver_s       bw_resolver_t;
typedef struct bw_resolver_ctx_s   bw_resolver_ctx_t;
typedef struct bw_resolver_node_s  bw_resolver_node_t;

typedef void (*bw_resolver_handler_pt)(bw_resolver_ctx_t *ctx);

struct bw_resolver_ctx_s {
    bw_resolver_t           *resolver;
    bw_str_t                 name;
    bw_msec_t                timeout;
    bw_resolver_handler_pt   handler;
    void                    *data;
    bw_pool_t               *pool;      /* the answer's addresses */

    /* the answer: state 0 and the addresses (port 0), or a DNS rcode,
     * BW_RESOLVE_TIMEDOUT, BW_RESOLVE_ERROR */
    bw_int_t                 state;
    bw_uint_t                naddrs;
    bw_sockaddr_t           *addrs;

    bw_resolver_node_t      *node;      /* waiting on it */
    bw_resolver_ctx_t       *next;
};

struct bw_resolver_s {
    bw_addr_t               *servers;
    bw_uint_t                nservers;
    time_t                   valid;     /* 0: the records' TTL */
    unsigned                 ipv4:1;
    unsigned                 ipv6:1;

    /* the worker's: the names known and being asked, newest first */
    bw_queue_t               nodes;
    bw_uint_t                nnodes;
    bw_uint_t                next_server;
    bw_log_t                *log;
};

/* "resolver address ... [valid=time] [ipv4=on|off] [ipv6=on|off]"; the
 * arguments after the directive's name */
bw_resolver_t *bw_resolver_create(bw_conf_t *cf, bw_str_t *args,
    bw_uint_t n);
/* BW_OK: the answer is in ctx already (cached, or a name that cannot
 * be asked); BW_AGAIN: ctx->handler will run with it; BW_ERROR: no
 * answer will come. */
bw_int_t bw_resolve_name(bw_resolver_ctx_t *ctx);
/* The caller no longer waits (its request ends). */
void bw_resolve_name_done(bw_resolver_ctx_t *ctx);
const char *bw_resolver_strerror(bw_int_t state);

#endif
