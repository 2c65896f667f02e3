/*
 * status_zone and metrics: the directives, the shared zone, and the
 * counting, done in the log phase from what the request already knows
 * (its status, bytes, start time, its upstream attempts), so that a
 * request of a location nobody asked to count costs one test.
 */

#include "bw_http_metrics.h"

static bw_int_t bw_http_metrics_init(bw_conf_t *cf);
static void *bw_http_metrics_create_main_conf(bw_conf_t *cf);
static void *bw_http_metrics_create_loc_conf(bw_conf_t *cf);
static char *bw_http_metrics_merge_loc_conf(bw_conf_t *cf, void *parent,
    void *child);
static char *bw_http_metrics_status_zone(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_metrics(bw_conf_t *cf, bw_command_t *cmd, void *conf);
static char *bw_http_metrics_status_page(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static bw_int_t bw_http_metrics_init_zone(bw_shm_zone_t *shm_zone,
    void *data);
static bw_int_t bw_http_metrics_log(bw_http_request_t *r);
static bw_int_t bw_http_metrics_start(bw_http_request_t *r);
static bw_http_metrics_node_t *bw_http_metrics_zone_node(
    bw_http_request_t *r, bw_http_metrics_main_conf_t *mcf, bw_int_t zone);

const bw_uint_t  bw_http_metrics_codes[BW_METRICS_CODES] = {
    200, 201, 204, 206, 301, 302, 304, 307, 308, 400, 401, 403, 404, 405,
    413, 429, 499, 500, 502, 503
};

/* the histogram's upper bounds, in milliseconds */
const bw_msec_t  bw_http_metrics_bounds[BW_METRICS_BUCKETS] = {
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000
};

static bw_command_t  bw_http_metrics_commands[] = {

    { bw_string("status_zone"),
      BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF|BW_HTTP_LIF_CONF|BW_CONF_TAKE1,
      bw_http_metrics_status_zone, BW_HTTP_LOC_CONF_OFFSET, 0, NULL },

    { bw_string("metrics"), BW_HTTP_LOC_CONF|BW_CONF_NOARGS,
      bw_http_metrics, BW_HTTP_LOC_CONF_OFFSET, 0, NULL },

    { bw_string("status_page"), BW_HTTP_LOC_CONF|BW_CONF_NOARGS
      |BW_CONF_TAKE1,
      bw_http_metrics_status_page, BW_HTTP_LOC_CONF_OFFSET, 0, NULL },

    bw_null_command
};

static bw_http_module_t  bw_http_metrics_module_ctx = {
    NULL, bw_http_metrics_init,
    bw_http_metrics_create_main_conf, NULL,
    NULL, NULL,
    bw_http_metrics_create_loc_conf, bw_http_metrics_merge_loc_conf
};

bw_module_t  bw_http_metrics_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_metrics_module_ctx,
    bw_http_metrics_commands, NULL, NULL, NULL, NULL
};

/* this worker's nodes: of each status_zone (by index), of each peer
 * (by the address of its name, which the configuration keeps) */
static bw_http_metrics_node_t  **bw_http_metrics_zone_nodes;

#define BW_METRICS_PEER_CACHE  512

static struct {
    bw_str_t                 *peer;
    bw_http_metrics_node_t   *node;
} bw_http_metrics_peers[BW_METRICS_PEER_CACHE];

static void *
bw_http_metrics_create_main_conf(bw_conf_t *cf)
{
    bw_http_metrics_main_conf_t  *mcf;

    mcf = bw_pcalloc(cf->pool, sizeof(bw_http_metrics_main_conf_t));
    if (mcf == NULL
        || bw_array_init(&mcf->zones, cf->pool, 4, sizeof(bw_str_t))
           != BW_OK)
    {
        return NULL;
    }
    return mcf;
}

static void *
bw_http_metrics_create_loc_conf(bw_conf_t *cf)
{
    bw_http_metrics_loc_conf_t  *lcf;

    lcf = bw_pcalloc(cf->pool, sizeof(bw_http_metrics_loc_conf_t));
    if (lcf == NULL) {
        return NULL;
    }
    lcf->zone = BW_CONF_UNSET;
    return lcf;
}

static char *
bw_http_metrics_merge_loc_conf(bw_conf_t *cf, void *parent, void *child)
{
    bw_http_metrics_loc_conf_t  *prev = parent;
    bw_http_metrics_loc_conf_t  *conf = child;

    bw_conf_merge_value(conf->zone, prev->zone, -1);
    return BW_CONF_OK;
}

static char *
bw_http_metrics_status_zone(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_str_t                     *value, *name;
    bw_uint_t                     i;
    bw_http_metrics_loc_conf_t   *lcf = conf;
    bw_http_metrics_main_conf_t  *mcf;

    if (lcf->zone != BW_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0 || value[1].len > 255) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid zone name \"%.*s\"",
                          (int) value[1].len, value[1].data);
        return BW_CONF_ERROR;
    }

    mcf = bw_http_conf_get_module_main_conf(cf, bw_http_metrics_module);
    mcf->enabled = 1;

    /* one index a name: a zone named in several places counts once */
    name = mcf->zones.elts;
    for (i = 0; i < mcf->zones.nelts; i++) {
        if (bw_str_eq(&name[i], &value[1])) {
            lcf->zone = (bw_int_t) i;
            return BW_CONF_OK;
        }
    }

    name = bw_array_push(&mcf->zones);
    if (name == NULL) {
        return BW_CONF_ERROR;
    }
    *name = value[1];
    lcf->zone = (bw_int_t) (mcf->zones.nelts - 1);

    return BW_CONF_OK;
}

/* "status_page [URI of the metrics location];": "/metrics" by default */
static char *
bw_http_metrics_status_page(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_metrics_loc_conf_t *mlcf = conf;

    size_t                    i;
    bw_str_t                 *value;
    bw_http_core_loc_conf_t  *clcf;

    if (mlcf->page_src.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2) {
        mlcf->page_src = value[1];
    } else {
        bw_str_set(&mlcf->page_src, "/metrics");
    }

    /* it goes into an attribute of the page as it is */
    for (i = 0; i < mlcf->page_src.len; i++) {
        if (strchr("\"'<>&\\ ", mlcf->page_src.data[i])
            || mlcf->page_src.data[i] < 0x21)
        {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "invalid metrics URI \"%.*s\"",
                              (int) mlcf->page_src.len,
                              mlcf->page_src.data);
            return BW_CONF_ERROR;
        }
    }

    clcf = bw_http_conf_get_module_loc_conf(cf, bw_http_core_module);
    clcf->handler = bw_http_metrics_page_handler;

    return BW_CONF_OK;
}

static char *
bw_http_metrics(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_core_loc_conf_t      *clcf;
    bw_http_metrics_main_conf_t  *mcf;

    mcf = bw_http_conf_get_module_main_conf(cf, bw_http_metrics_module);
    mcf->enabled = 1;

    clcf = bw_http_conf_get_module_loc_conf(cf, bw_http_core_module);
    clcf->handler = bw_http_metrics_handler;

    return BW_CONF_OK;
}

static bw_int_t
bw_http_metrics_init(bw_conf_t *cf)
{
    bw_str_t                      name;
    bw_shm_zone_t                *shm_zone;
    bw_http_metrics_main_conf_t  *mcf;

    mcf = bw_http_conf_get_module_main_conf(cf, bw_http_metrics_module);

    if (!mcf->enabled) {
        return BW_OK;
    }

    /* one fixed size, so that a reload keeps the zone and its counts
     * whatever zones it adds */
    bw_str_set(&name, "bulwark_metrics");
    shm_zone = bw_shared_memory_add(cf, &name, BW_METRICS_ZONE_SIZE,
                                    &bw_http_metrics_module);
    if (shm_zone == NULL) {
        return BW_ERROR;
    }

    shm_zone->init = bw_http_metrics_init_zone;
    shm_zone->data = mcf;
    mcf->shm_zone = shm_zone;

    if (bw_http_add_phase_handler(cf, BW_HTTP_PREACCESS_PHASE,
                                  bw_http_metrics_start)
        != BW_OK)
    {
        return BW_ERROR;
    }

    return bw_http_add_phase_handler(cf, BW_HTTP_LOG_PHASE,
                                     bw_http_metrics_log);
}

/* A request in a zone is "processing" from its location's access phase
 * to its end, however it ends (the pool's cleanup says so), and once
 * however many internal redirects it makes. */
static void
bw_http_metrics_done(void *data)
{
    bw_http_metrics_node_t  *n = data;

    (void) __atomic_fetch_sub(&n->processing, 1, __ATOMIC_RELAXED);
}

static bw_int_t
bw_http_metrics_start(bw_http_request_t *r)
{
    bw_pool_cleanup_t            *cln;
    bw_http_metrics_node_t       *n;
    bw_http_metrics_loc_conf_t   *lcf;
    bw_http_metrics_main_conf_t  *mcf;

    lcf = bw_http_get_module_loc_conf(r, bw_http_metrics_module);
    mcf = bw_http_get_module_main_conf(r, bw_http_metrics_module);

    if (lcf->zone < 0 || mcf->sh == NULL || r != r->main) {
        return BW_DECLINED;
    }

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == bw_http_metrics_done) {
            return BW_DECLINED;     /* counted before a redirect */
        }
    }

    n = bw_http_metrics_zone_node(r, mcf, lcf->zone);
    if (n == NULL) {
        return BW_DECLINED;
    }

    cln = bw_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return BW_DECLINED;
    }

    bw_metrics_add(n->processing, 1);
    cln->handler = bw_http_metrics_done;
    cln->data = n;

    return BW_DECLINED;
}

static bw_int_t
bw_http_metrics_init_zone(bw_shm_zone_t *shm_zone, void *data)
{
    bw_http_metrics_main_conf_t  *omcf = data;
    bw_http_metrics_main_conf_t  *mcf;

    mcf = shm_zone->data;

    if (omcf) {
        mcf->sh = omcf->sh;
        mcf->shpool = omcf->shpool;
        return BW_OK;
    }

    mcf->shpool = (bw_slab_pool_t *) shm_zone->addr;

    bw_shmtx_lock(mcf->shpool);
    mcf->sh = bw_slab_alloc_locked(mcf->shpool, sizeof(bw_http_metrics_sh_t));
    bw_shmtx_unlock(mcf->shpool);

    if (mcf->sh == NULL) {
        return BW_ERROR;
    }

    mcf->shpool->data = mcf->sh;
    bw_rbtree_init(&mcf->sh->rbtree, &mcf->sh->sentinel,
                   bw_str_rbtree_insert_value);

    return BW_OK;
}

/*
 * The node of a server zone (a) or of an upstream's peer (a, b), made
 * when it is first counted. NULL when the zone is full (said once).
 */
static bw_http_metrics_node_t *
bw_http_metrics_node(bw_http_request_t *r, bw_http_metrics_main_conf_t *mcf,
    bw_uint_t kind, bw_str_t *a, bw_str_t *b)
{
    u_char                  *p;
    size_t                   len;
    bw_str_t                 key;
    bw_uint_t                hash;
    bw_http_metrics_node_t  *n;
    u_char                   buf[600];

    len = 1 + a->len + (b ? 1 + b->len : 0);
    if (len > sizeof(buf)) {
        return NULL;
    }

    p = buf;
    *p++ = (kind == BW_METRICS_SERVER) ? 's' : 'p';
    p = bw_cpymem(p, a->data, a->len);
    if (b) {
        *p++ = ' ';
        p = bw_cpymem(p, b->data, b->len);
    }
    key.data = buf;
    key.len = len;
    hash = bw_hash_key(key.data, key.len);

    bw_shmtx_lock(mcf->shpool);

    n = (bw_http_metrics_node_t *) bw_str_rbtree_lookup(&mcf->sh->rbtree,
                                                        &key, hash);
    if (n) {
        bw_shmtx_unlock(mcf->shpool);
        return n;
    }

    n = bw_slab_alloc_locked(mcf->shpool,
                             sizeof(bw_http_metrics_node_t) + len);
    if (n == NULL) {
        if (!mcf->sh->full_logged) {
            mcf->sh->full_logged = 1;
            bw_log_error(BW_LOG_ALERT, r->connection->log, 0,
                         "the metrics zone is full: \"%.*s\" is not counted",
                         (int) len - 1, buf + 1);
        }
        bw_shmtx_unlock(mcf->shpool);
        return NULL;
    }

    bw_memzero(n, sizeof(bw_http_metrics_node_t));
    p = (u_char *) n + sizeof(bw_http_metrics_node_t);
    memcpy(p, buf, len);

    n->kind = kind;
    n->sn.str.data = p;
    n->sn.str.len = len;
    n->sn.node.key = hash;

    if (kind == BW_METRICS_SERVER) {
        n->zone.data = p + 1;
        n->zone.len = a->len;
    } else {
        n->upstream.data = p + 1;
        n->upstream.len = a->len;
        n->peer.data = p + 2 + a->len;
        n->peer.len = b->len;
    }

    bw_rbtree_insert(&mcf->sh->rbtree, &n->sn.node);

    bw_shmtx_unlock(mcf->shpool);

    return n;
}

/* This worker's node of a status_zone, found (or made) once. */
static bw_http_metrics_node_t *
bw_http_metrics_zone_node(bw_http_request_t *r,
    bw_http_metrics_main_conf_t *mcf, bw_int_t zone)
{
    bw_http_metrics_node_t  *n;

    if (bw_http_metrics_zone_nodes == NULL) {
        bw_http_metrics_zone_nodes = calloc(mcf->zones.nelts, sizeof(void *));
        if (bw_http_metrics_zone_nodes == NULL) {
            return NULL;
        }
    }

    n = bw_http_metrics_zone_nodes[zone];
    if (n == NULL) {
        n = bw_http_metrics_node(r, mcf, BW_METRICS_SERVER,
                                 &((bw_str_t *) mcf->zones.elts)[zone], NULL);
        bw_http_metrics_zone_nodes[zone] = n;
    }

    return n;
}

static void
bw_http_metrics_time(uint64_t *sum, uint64_t *buckets, bw_msec_t ms)
{
    bw_uint_t  i;

    bw_metrics_add(*sum, ms);

    for (i = 0; i < BW_METRICS_BUCKETS; i++) {
        if (ms <= bw_http_metrics_bounds[i]) {
            bw_metrics_add(buckets[i], 1);
            return;
        }
    }
}

static bw_int_t
bw_http_metrics_log(bw_http_request_t *r)
{
    bw_uint_t                     i, k, first, status, slot;
    bw_str_t                     *peer;
    bw_msec_t                     ms;
    bw_http_upstream_state_t     *st;
    bw_http_metrics_node_t       *n;
    bw_http_metrics_loc_conf_t   *lcf;
    bw_http_metrics_main_conf_t  *mcf;
    bw_http_upstream_srv_conf_t  *uscf;

    mcf = bw_http_get_module_main_conf(r, bw_http_metrics_module);
    if (mcf->sh == NULL) {
        return BW_OK;
    }

    lcf = bw_http_get_module_loc_conf(r, bw_http_metrics_module);

    if (lcf->zone >= 0) {
        n = bw_http_metrics_zone_node(r, mcf, lcf->zone);

        if (n) {
            status = r->headers_out.status;
            bw_metrics_add(n->requests, 1);
            if (status >= 100 && status < 600) {
                bw_metrics_add(n->codes[status / 100 - 1], 1);
            }
            for (i = 0; i < BW_METRICS_CODES; i++) {
                if (bw_http_metrics_codes[i] == status) {
                    bw_metrics_add(n->exact[i], 1);
                    break;
                }
            }
            bw_metrics_add(n->received, r->request_length);
            bw_metrics_add(n->sent, r->connection->sent);
            /* as $request_time */
            ms = (bw_msec_t) bw_max((bw_int_t) ((bw_time_sec - r->start_sec)
                                                * 1000
                                                + ((bw_int_t) bw_time_msec
                                                   - (bw_int_t) r->start_msec)),
                                    0);
            bw_http_metrics_time(&n->time_ms, n->buckets, ms);

            /* answers the disk cache had a say in */
            if (r->upstream && r->upstream->cache_status >= 1
                && r->upstream->cache_status <= BW_METRICS_CACHE)
            {
                bw_metrics_add(n->cache[r->upstream->cache_status - 1], 1);
            }

            /* what limit_req and limit_conn decided, as their $..._status
             * say (once per request: the main one's) */
            if (r == r->main && r->limit_req_status
                && r->limit_req_status <= BW_METRICS_LIMIT_REQ)
            {
                bw_metrics_add(n->limit_req[r->limit_req_status - 1], 1);
            }
            if (r == r->main && r->limit_conn_status
                && r->limit_conn_status <= BW_METRICS_LIMIT_CONN)
            {
                bw_metrics_add(n->limit_conn[r->limit_conn_status - 1], 1);
            }
        }
    }

    if (r->upstream_states == NULL || r->upstream_states->nelts == 0
        || r->upstream == NULL || r->upstream->upstream == NULL)
    {
        return BW_OK;
    }

    /* the attempts at the last upstream the request went to (those
     * before an internal redirect named another one) */
    uscf = r->upstream->upstream;
    st = r->upstream_states->elts;

    first = 0;
    for (i = 0; i < r->upstream_states->nelts; i++) {
        if (st[i].next_upstream) {
            first = i + 1;
        }
    }

    for (i = first; i < r->upstream_states->nelts; i++) {
        peer = st[i].peer;
        if (peer == NULL) {
            continue;
        }

        /* the cache is keyed by the name's address, which only the
         * configuration keeps: a zone's peers change at run time, and a
         * request names its own copy of one */
        slot = ((uintptr_t) peer >> 4) % BW_METRICS_PEER_CACHE;
        if (uscf->shm_zone == NULL
            && bw_http_metrics_peers[slot].peer == peer)
        {
            n = bw_http_metrics_peers[slot].node;
        } else {
            n = bw_http_metrics_node(r, mcf, BW_METRICS_PEER, &uscf->host,
                                     peer);
            if (n && uscf->shm_zone == NULL) {
                bw_http_metrics_peers[slot].peer = peer;
                bw_http_metrics_peers[slot].node = n;
            }
        }

        if (n == NULL) {
            continue;
        }

        bw_metrics_add(n->requests, 1);
        status = st[i].status;
        if (status >= 100 && status < 600) {
            bw_metrics_add(n->codes[status / 100 - 1], 1);
        }
        for (k = 0; k < BW_METRICS_CODES; k++) {
            if (bw_http_metrics_codes[k] == status) {
                bw_metrics_add(n->exact[k], 1);
                break;
            }
        }
        if (st[i].header_time == (bw_msec_t) -1) {
            /* no answer: refused, timed out, reset, invalid */
            bw_metrics_add(n->failed, 1);
        }
        bw_metrics_add(n->sent, st[i].bytes_sent);
        bw_metrics_add(n->received, st[i].bytes_received);
        if (st[i].response_time != (bw_msec_t) -1) {
            bw_http_metrics_time(&n->time_ms, n->buckets,
                                 st[i].response_time);
        }
        if (st[i].header_time != (bw_msec_t) -1) {
            bw_http_metrics_time(&n->header_ms, n->header_buckets,
                                 st[i].header_time);
        }
    }

    return BW_OK;
}
