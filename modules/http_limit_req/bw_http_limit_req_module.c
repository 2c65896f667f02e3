/*
 * limit_req: requests per key (a client address, a URI, any variable)
 * held to a rate, nginx's leaky bucket, in a shared zone so that every
 * worker sees one bucket per key.
 *
 * A bucket keeps its excess in thousandths of a request and the time it
 * was last filled; each request drains what the rate let out since and
 * adds one. Over the burst: refused (limit_req_status, 503). Within it:
 * delayed until the excess drains to the delay= threshold (nodelay: not
 * delayed), on a timer, holding no worker. All limits of a location are
 * checked before any is charged, so a refused request costs no bucket.
 * Buckets live in an rbtree keyed by the key's hash, in LRU order; idle
 * ones are removed as new ones come, and when the zone is full the
 * oldest are taken; a request that still finds no room is refused, with
 * a log line naming the zone.
 */

#include <bw_http.h>

/* a "name=" parameter */
#define bw_http_limit_req_param(v, name)                                   \
    ((v)->len >= sizeof(name) - 1                                          \
     && memcmp((v)->data, name, sizeof(name) - 1) == 0)

#define BW_HTTP_LIMIT_REQ_PASSED            1
#define BW_HTTP_LIMIT_REQ_DELAYED           2
#define BW_HTTP_LIMIT_REQ_REJECTED          3
#define BW_HTTP_LIMIT_REQ_DELAYED_DRY_RUN   4
#define BW_HTTP_LIMIT_REQ_REJECTED_DRY_RUN  5

typedef struct {
    bw_str_node_t             sn;         /* the key, by its hash */
    bw_queue_t                queue;      /* LRU, newest first */
    bw_msec_t                 last;
    bw_uint_t                 excess;     /* thousandths of a request */
    u_char                    data[1];
} bw_http_limit_req_node_t;

typedef struct {
    bw_rbtree_t               rbtree;
    bw_rbtree_node_t          sentinel;
    bw_queue_t                queue;
} bw_http_limit_req_shctx_t;

typedef struct {
    bw_http_limit_req_shctx_t  *sh;
    bw_slab_pool_t             *shpool;
    bw_uint_t                   rate;     /* thousandths per second */
    bw_http_complex_value_t     key;
    bw_shm_zone_t              *shm_zone;
} bw_http_limit_req_ctx_t;

typedef struct {
    bw_shm_zone_t            *shm_zone;
    bw_uint_t                 burst;      /* thousandths */
    bw_uint_t                 delay;      /* thousandths */
} bw_http_limit_req_limit_t;

typedef struct {
    bw_array_t               *limits;     /* bw_http_limit_req_limit_t */
    bw_uint_t                 log_level;
    bw_uint_t                 delay_log_level;
    bw_uint_t                 status;
    bw_int_t                  dry_run;
} bw_http_limit_req_conf_t;

static bw_int_t bw_http_limit_req_add_variables(bw_conf_t *cf);
static bw_int_t bw_http_limit_req_init(bw_conf_t *cf);
static void *bw_http_limit_req_create_conf(bw_conf_t *cf);
static char *bw_http_limit_req_merge_conf(bw_conf_t *cf, void *parent,
    void *child);
static char *bw_http_limit_req_zone(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_limit_req(bw_conf_t *cf, bw_command_t *cmd, void *conf);
static char *bw_http_limit_req_status(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);

static bw_conf_enum_t  bw_http_limit_req_log_levels[] = {
    { bw_string("info"), BW_LOG_INFO },
    { bw_string("notice"), BW_LOG_NOTICE },
    { bw_string("warn"), BW_LOG_WARN },
    { bw_string("error"), BW_LOG_ERR },
    { bw_null_string, 0 }
};

#define MSL  (BW_HTTP_MAIN_CONF|BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF)

static bw_command_t  bw_http_limit_req_commands[] = {

    { bw_string("limit_req_zone"), BW_HTTP_MAIN_CONF|BW_CONF_TAKE3,
      bw_http_limit_req_zone, 0, 0, NULL },
    { bw_string("limit_req"), MSL|BW_CONF_TAKE123,
      bw_http_limit_req, BW_HTTP_LOC_CONF_OFFSET, 0, NULL },
    { bw_string("limit_req_log_level"), MSL|BW_CONF_TAKE1,
      bw_conf_set_enum_slot, BW_HTTP_LOC_CONF_OFFSET,
      offsetof(bw_http_limit_req_conf_t, log_level),
      bw_http_limit_req_log_levels },
    { bw_string("limit_req_status"), MSL|BW_CONF_TAKE1,
      bw_http_limit_req_status, BW_HTTP_LOC_CONF_OFFSET, 0, NULL },
    { bw_string("limit_req_dry_run"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, BW_HTTP_LOC_CONF_OFFSET,
      offsetof(bw_http_limit_req_conf_t, dry_run), NULL },

    bw_null_command
};

static bw_http_module_t  bw_http_limit_req_module_ctx = {
    bw_http_limit_req_add_variables, bw_http_limit_req_init,
    NULL, NULL, NULL, NULL,
    bw_http_limit_req_create_conf, bw_http_limit_req_merge_conf
};

bw_module_t  bw_http_limit_req_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_limit_req_module_ctx,
    bw_http_limit_req_commands, NULL, NULL, NULL, NULL
};

/* --- the buckets ------------------------------------------------------- */

/* Idle buckets from the LRU end: one or two whose excess has drained
 * (n = 1), or the oldest whatever its state first (n = 0: the zone is
 * full). */
static void
bw_http_limit_req_expire(bw_http_limit_req_ctx_t *ctx, bw_uint_t n)
{
    bw_int_t                   excess;
    bw_msec_int_t              ms;
    bw_queue_t                *q;
    bw_http_limit_req_node_t  *lr;

    while (n < 3) {
        if (bw_queue_empty(&ctx->sh->queue)) {
            return;
        }

        q = bw_queue_last(&ctx->sh->queue);
        lr = bw_queue_data(q, bw_http_limit_req_node_t, queue);

        if (n++ != 0) {
            ms = (bw_msec_int_t) (bw_current_msec - lr->last);
            if (ms < 0) {
                ms = -ms;
            }
            if (ms < 60000) {
                return;
            }
            excess = (bw_int_t) lr->excess
                     - (bw_int_t) (ctx->rate * (bw_uint_t) ms / 1000);
            if (excess > 0) {
                return;
            }
        }

        bw_queue_remove(q);
        bw_rbtree_delete(&ctx->sh->rbtree, &lr->sn.node);
        bw_slab_free_locked(ctx->shpool, lr);
    }
}

/*
 * The bucket of key after this request: BW_OK with its excess (charged
 * when account is set), BW_BUSY over the burst, BW_ERROR when the zone
 * has no room for a new bucket. Called with the zone locked.
 */
static bw_int_t
bw_http_limit_req_lookup(bw_http_limit_req_ctx_t *ctx,
    bw_http_limit_req_limit_t *limit, bw_str_t *key, bw_uint_t account,
    bw_uint_t *excessp)
{
    size_t                     size;
    bw_int_t                   excess;
    bw_uint_t                  hash;
    bw_msec_int_t              ms;
    bw_http_limit_req_node_t  *lr;

    hash = bw_hash_key(key->data, key->len);
    lr = (bw_http_limit_req_node_t *) bw_str_rbtree_lookup(&ctx->sh->rbtree,
                                                          key, hash);

    if (lr) {
        bw_queue_remove(&lr->queue);
        bw_queue_insert_head(&ctx->sh->queue, &lr->queue);

        ms = (bw_msec_int_t) (bw_current_msec - lr->last);
        if (ms < -60000) {
            ms = 1;             /* the clock went back far: start over */
        } else if (ms < 0) {
            ms = 0;
        }

        excess = (bw_int_t) lr->excess
                 - (bw_int_t) (ctx->rate * (bw_uint_t) ms / 1000) + 1000;
        if (excess < 0) {
            excess = 0;
        }

        *excessp = (bw_uint_t) excess;

        if ((bw_uint_t) excess > limit->burst) {
            return BW_BUSY;
        }

        if (account) {
            lr->excess = (bw_uint_t) excess;
            if (ms) {
                lr->last = bw_current_msec;
            }
        }
        return BW_OK;
    }

    *excessp = 0;

    if (!account) {
        return BW_OK;     /* a new bucket is empty: created when charged */
    }

    size = offsetof(bw_http_limit_req_node_t, data) + key->len;

    bw_http_limit_req_expire(ctx, 1);

    lr = bw_slab_alloc_locked(ctx->shpool, size);
    if (lr == NULL) {
        bw_http_limit_req_expire(ctx, 0);
        lr = bw_slab_alloc_locked(ctx->shpool, size);
        if (lr == NULL) {
            return BW_ERROR;
        }
    }

    lr->sn.node.key = hash;
    lr->sn.str.len = key->len;
    lr->sn.str.data = lr->data;
    memcpy(lr->data, key->data, key->len);
    lr->excess = 0;
    lr->last = bw_current_msec;

    bw_rbtree_insert(&ctx->sh->rbtree, &lr->sn.node);
    bw_queue_insert_head(&ctx->sh->queue, &lr->queue);

    return BW_OK;
}

/* --- the handler ------------------------------------------------------- */

static void
bw_http_limit_req_delay(bw_http_request_t *r)
{
    bw_event_t  *wev;

    wev = r->connection->write;

    if (!wev->timedout) {
        return;             /* the socket's own event: the wait goes on */
    }

    wev->timedout = 0;
    wev->delayed = 0;

    r->read_event_handler = bw_http_block_reading;
    r->write_event_handler = bw_http_core_run_phases;
    bw_http_core_run_phases(r);
}

/* While delayed: a client that goes away is let go at once (499). */
static void
bw_http_limit_req_test_reading(bw_http_request_t *r)
{
    u_char            buf;
    ssize_t           n;
    bw_connection_t  *c;

    c = r->connection;

    if (r->main->stream) {
        return;     /* a reset stream is ended by the HTTP/2 connection */
    }

    n = recv(c->fd, &buf, 1, MSG_PEEK);

    if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
        c->error = 1;
        bw_log_error(BW_LOG_INFO, c->log, n == 0 ? 0 : errno,
                     "client prematurely closed connection while delayed "
                     "by limit_req");
        bw_http_finalize_request(r, BW_HTTP_CLIENT_CLOSED_REQUEST);
    }
}

static bw_int_t
bw_http_limit_req_handler(bw_http_request_t *r)
{
    bw_int_t                    rc;
    bw_str_t                   *keys;
    bw_uint_t                   i, n, excess, delay, max_delay, busy;
    bw_uint_t                   limited;
    bw_http_limit_req_ctx_t    *ctx;
    bw_http_limit_req_conf_t   *lrcf;
    bw_http_limit_req_limit_t  *limits, *limit;

    /* once a request: not again after an internal redirect, nor when
     * the phases go on after a delay */
    if (r->main->limit_req_status) {
        return BW_DECLINED;
    }

    lrcf = bw_http_get_module_loc_conf(r, bw_http_limit_req_module);

    if (lrcf->limits == NULL || r != r->main) {
        return BW_DECLINED;
    }

    limits = lrcf->limits->elts;
    n = lrcf->limits->nelts;

    keys = bw_pcalloc(r->pool, n * sizeof(bw_str_t));
    if (keys == NULL) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* every limit is checked before any bucket is charged */
    busy = n;
    rc = BW_OK;
    excess = 0;
    limited = 0;

    for (i = 0; i < n; i++) {
        limit = &limits[i];
        ctx = limit->shm_zone->data;

        if (bw_http_complex_value(r, &ctx->key, &keys[i]) != BW_OK) {
            return BW_HTTP_INTERNAL_SERVER_ERROR;
        }
        if (keys[i].len == 0) {
            continue;           /* an empty key is not limited */
        }
        limited = 1;
        if (keys[i].len > 65535) {
            bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                         "the value of the \"%.*s\" key is more than 65535 "
                         "bytes: \"%.*s\"", (int) ctx->key.value.len,
                         ctx->key.value.data, 64, keys[i].data);
            keys[i].len = 0;
            continue;
        }

        bw_shmtx_lock(ctx->shpool);
        rc = bw_http_limit_req_lookup(ctx, limit, &keys[i], 0, &excess);
        bw_shmtx_unlock(ctx->shpool);

        if (rc == BW_BUSY) {
            busy = i;
            break;
        }
    }

    if (!limited) {
        return BW_DECLINED;     /* $limit_req_status stays unset */
    }

    if (busy < n) {
        ctx = limits[busy].shm_zone->data;
        bw_log_error(lrcf->log_level, r->connection->log, 0,
                     "limiting requests%s, excess: %lu.%03lu by zone "
                     "\"%.*s\"", lrcf->dry_run ? ", dry run" : "",
                     (unsigned long) (excess / 1000),
                     (unsigned long) (excess % 1000),
                     (int) ctx->shm_zone->name.len,
                     ctx->shm_zone->name.data);

        if (lrcf->dry_run) {
            r->main->limit_req_status = BW_HTTP_LIMIT_REQ_REJECTED_DRY_RUN;
            return BW_DECLINED;
        }
        r->main->limit_req_status = BW_HTTP_LIMIT_REQ_REJECTED;
        return (bw_int_t) lrcf->status;
    }

    /* charge every bucket; the longest wait is the request's */
    max_delay = 0;
    limit = NULL;

    for (i = 0; i < n; i++) {
        if (keys[i].len == 0) {
            continue;
        }
        ctx = limits[i].shm_zone->data;

        bw_shmtx_lock(ctx->shpool);
        /* a dry run charges too: it says what would be refused */
        rc = bw_http_limit_req_lookup(ctx, &limits[i], &keys[i], 1,
                                      &excess);
        bw_shmtx_unlock(ctx->shpool);

        if (rc == BW_ERROR) {
            bw_log_error(BW_LOG_ALERT, r->connection->log, 0,
                         "could not allocate node in limit_req zone "
                         "\"%.*s\"", (int) ctx->shm_zone->name.len,
                         ctx->shm_zone->name.data);
            r->main->limit_req_status = BW_HTTP_LIMIT_REQ_REJECTED;
            return (bw_int_t) lrcf->status;
        }

        if (excess <= limits[i].delay) {
            continue;
        }
        delay = (excess - limits[i].delay) * 1000 / ctx->rate;
        if (delay >= max_delay) {
            max_delay = delay;
            limit = &limits[i];
        }
    }

    if (max_delay == 0) {
        r->main->limit_req_status = BW_HTTP_LIMIT_REQ_PASSED;
        return BW_DECLINED;
    }

    ctx = limit->shm_zone->data;
    bw_log_error(lrcf->delay_log_level, r->connection->log, 0,
                 "delaying request%s, excess: %lu.%03lu, by zone \"%.*s\"",
                 lrcf->dry_run ? ", dry run" : "",
                 (unsigned long) (excess / 1000),
                 (unsigned long) (excess % 1000),
                 (int) ctx->shm_zone->name.len, ctx->shm_zone->name.data);

    if (lrcf->dry_run) {
        r->main->limit_req_status = BW_HTTP_LIMIT_REQ_DELAYED_DRY_RUN;
        return BW_DECLINED;
    }

    r->main->limit_req_status = BW_HTTP_LIMIT_REQ_DELAYED;

    r->read_event_handler = bw_http_limit_req_test_reading;
    r->write_event_handler = bw_http_limit_req_delay;
    r->connection->write->delayed = 1;
    bw_event_add_timer(r->connection->write, max_delay);

    return BW_AGAIN;
}

/* --- $limit_req_status ------------------------------------------------- */

static bw_str_t  bw_http_limit_req_status_names[] = {
    bw_string("PASSED"),
    bw_string("DELAYED"),
    bw_string("REJECTED"),
    bw_string("DELAYED_DRY_RUN"),
    bw_string("REJECTED_DRY_RUN")
};

static bw_int_t
bw_http_limit_req_status_variable(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    bw_uint_t  status;

    status = r->main->limit_req_status;
    if (status == 0) {
        v->not_found = 1;
        return BW_OK;
    }

    v->data = bw_http_limit_req_status_names[status - 1].data;
    v->len = (unsigned) bw_http_limit_req_status_names[status - 1].len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    return BW_OK;
}

static bw_http_variable_t  bw_http_limit_req_vars[] = {
    { bw_string("limit_req_status"), NULL,
      bw_http_limit_req_status_variable, 0, BW_HTTP_VAR_NOCACHEABLE, 0 },
    bw_http_null_variable
};

static bw_int_t
bw_http_limit_req_add_variables(bw_conf_t *cf)
{
    return bw_http_add_variables(cf, bw_http_limit_req_vars);
}

/* --- configuration ----------------------------------------------------- */

static bw_int_t
bw_http_limit_req_init_zone(bw_shm_zone_t *shm_zone, void *data)
{
    bw_http_limit_req_ctx_t  *octx = data;
    bw_http_limit_req_ctx_t  *ctx;

    ctx = shm_zone->data;

    if (octx) {
        /* a reload with the zone unchanged: its buckets go on */
        if (!bw_str_eq(&ctx->key.value, &octx->key.value)) {
            bw_log_error(BW_LOG_EMERG, bw_cycle->log, 0,
                         "limit_req \"%.*s\" uses the \"%.*s\" key while "
                         "previously it used the \"%.*s\" key",
                         (int) shm_zone->name.len, shm_zone->name.data,
                         (int) ctx->key.value.len, ctx->key.value.data,
                         (int) octx->key.value.len, octx->key.value.data);
            return BW_ERROR;
        }
        ctx->sh = octx->sh;
        ctx->shpool = octx->shpool;
        return BW_OK;
    }

    ctx->shpool = (bw_slab_pool_t *) shm_zone->addr;

    bw_shmtx_lock(ctx->shpool);
    ctx->sh = bw_slab_alloc_locked(ctx->shpool,
                                   sizeof(bw_http_limit_req_shctx_t));
    bw_shmtx_unlock(ctx->shpool);

    if (ctx->sh == NULL) {
        return BW_ERROR;
    }

    ctx->shpool->data = ctx->sh;
    bw_rbtree_init(&ctx->sh->rbtree, &ctx->sh->sentinel,
                   bw_str_rbtree_insert_value);
    bw_queue_init(&ctx->sh->queue);

    return BW_OK;
}

static char *
bw_http_limit_req_zone(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    u_char                   *p;
    size_t                    len, size;
    bw_str_t                 *value, name;
    bw_int_t                  rate, scale;
    bw_uint_t                 i;
    bw_shm_zone_t            *shm_zone;
    bw_http_limit_req_ctx_t  *ctx;

    value = cf->args->elts;

    ctx = bw_pcalloc(cf->pool, sizeof(bw_http_limit_req_ctx_t));
    if (ctx == NULL) {
        return BW_CONF_ERROR;
    }

    if (bw_http_compile_complex_value(cf, &ctx->key, &value[1]) != BW_OK) {
        return BW_CONF_ERROR;
    }

    size = 0;
    rate = 1;
    scale = 1;
    name.len = 0;
    name.data = NULL;

    for (i = 2; i < cf->args->nelts; i++) {

        if (bw_http_limit_req_param(&value[i], "zone=")) {
            if (bw_shm_zone_param(cf, &value[i], &name, &size) != BW_OK) {
                return BW_CONF_ERROR;
            }
            continue;
        }

        if (bw_http_limit_req_param(&value[i], "rate=")) {
            len = value[i].len;
            p = value[i].data + len - 3;
            if (len > 8 && memcmp(p, "r/s", 3) == 0) {
                scale = 1;
                len -= 3;
            } else if (len > 8 && memcmp(p, "r/m", 3) == 0) {
                scale = 60;
                len -= 3;
            }
            rate = bw_atoi(value[i].data + 5, len - 5);
            if (rate <= 0) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                  "invalid rate \"%.*s\"",
                                  (int) value[i].len, value[i].data);
                return BW_CONF_ERROR;
            }
            continue;
        }

        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid parameter \"%.*s\"",
                          (int) value[i].len, value[i].data);
        return BW_CONF_ERROR;
    }

    if (name.len == 0) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "\"%.*s\" must have \"zone\" parameter",
                          (int) cmd->name.len, cmd->name.data);
        return BW_CONF_ERROR;
    }

    ctx->rate = (bw_uint_t) (rate * 1000 / scale);
    if (ctx->rate == 0) {
        ctx->rate = 1;
    }

    shm_zone = bw_shared_memory_add(cf, &name, size,
                                    &bw_http_limit_req_module);
    if (shm_zone == NULL) {
        return BW_CONF_ERROR;
    }

    if (shm_zone->data) {
        ctx = shm_zone->data;
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "%.*s \"%.*s\" is already bound to key \"%.*s\"",
                          (int) cmd->name.len, cmd->name.data,
                          (int) name.len, name.data,
                          (int) ctx->key.value.len, ctx->key.value.data);
        return BW_CONF_ERROR;
    }

    ctx->shm_zone = shm_zone;
    shm_zone->init = bw_http_limit_req_init_zone;
    shm_zone->data = ctx;

    return BW_CONF_OK;
}

static char *
bw_http_limit_req(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_limit_req_conf_t  *lrcf = conf;

    bw_int_t                    burst, delay;
    bw_str_t                   *value, s;
    bw_uint_t                   i, nodelay;
    bw_shm_zone_t              *shm_zone;
    bw_http_limit_req_limit_t  *limit, *limits;

    value = cf->args->elts;

    shm_zone = NULL;
    burst = 0;
    delay = 0;
    nodelay = 0;

    for (i = 1; i < cf->args->nelts; i++) {

        if (bw_http_limit_req_param(&value[i], "zone=")) {
            s.len = value[i].len - 5;
            s.data = value[i].data + 5;
            shm_zone = bw_shared_memory_add(cf, &s, 0,
                                            &bw_http_limit_req_module);
            if (shm_zone == NULL) {
                return BW_CONF_ERROR;
            }
            continue;
        }

        if (bw_http_limit_req_param(&value[i], "burst=")) {
            burst = bw_atoi(value[i].data + 6, value[i].len - 6);
            if (burst <= 0) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                  "invalid burst value \"%.*s\"",
                                  (int) value[i].len, value[i].data);
                return BW_CONF_ERROR;
            }
            continue;
        }

        if (bw_http_limit_req_param(&value[i], "delay=")) {
            delay = bw_atoi(value[i].data + 6, value[i].len - 6);
            if (delay <= 0) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                  "invalid delay value \"%.*s\"",
                                  (int) value[i].len, value[i].data);
                return BW_CONF_ERROR;
            }
            continue;
        }

        if (bw_str_eq_lit(&value[i], "nodelay")) {
            nodelay = 1;
            continue;
        }

        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid parameter \"%.*s\"",
                          (int) value[i].len, value[i].data);
        return BW_CONF_ERROR;
    }

    if (shm_zone == NULL) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "\"%.*s\" must have \"zone\" parameter",
                          (int) cmd->name.len, cmd->name.data);
        return BW_CONF_ERROR;
    }

    if (lrcf->limits == BW_CONF_UNSET_PTR) {
        lrcf->limits = bw_array_create(cf->pool, 1,
                                       sizeof(bw_http_limit_req_limit_t));
        if (lrcf->limits == NULL) {
            return BW_CONF_ERROR;
        }
    }

    limits = lrcf->limits->elts;
    for (i = 0; i < lrcf->limits->nelts; i++) {
        if (shm_zone == limits[i].shm_zone) {
            return "is duplicate";
        }
    }

    limit = bw_array_push(lrcf->limits);
    if (limit == NULL) {
        return BW_CONF_ERROR;
    }

    limit->shm_zone = shm_zone;
    limit->burst = (bw_uint_t) burst * 1000;
    limit->delay = nodelay ? (bw_uint_t) -1 / 2 : (bw_uint_t) delay * 1000;

    return BW_CONF_OK;
}

static char *
bw_http_limit_req_status(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_limit_req_conf_t  *lrcf = conf;

    bw_int_t   n;
    bw_str_t  *value;

    if (lrcf->status != BW_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;
    n = bw_atoi(value[1].data, value[1].len);
    if (n < 400 || n > 599) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "value must be between 400 and 599");
        return BW_CONF_ERROR;
    }
    lrcf->status = (bw_uint_t) n;

    return BW_CONF_OK;
}

static void *
bw_http_limit_req_create_conf(bw_conf_t *cf)
{
    bw_http_limit_req_conf_t  *conf;

    conf = bw_pcalloc(cf->pool, sizeof(bw_http_limit_req_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->limits = BW_CONF_UNSET_PTR;
    conf->log_level = BW_CONF_UNSET_UINT;
    conf->status = BW_CONF_UNSET_UINT;
    conf->dry_run = BW_CONF_UNSET;

    return conf;
}

static char *
bw_http_limit_req_merge_conf(bw_conf_t *cf, void *parent, void *child)
{
    bw_http_limit_req_conf_t  *prev = parent;
    bw_http_limit_req_conf_t  *conf = child;

    bw_uint_t                   i;
    bw_http_limit_req_ctx_t    *ctx;
    bw_http_limit_req_limit_t  *limits;

    /* a level with limits of its own replaces its parent's, as nginx */
    bw_conf_merge_ptr_value(conf->limits, prev->limits, NULL);
    bw_conf_merge_uint_value(conf->log_level, prev->log_level, BW_LOG_ERR);
    bw_conf_merge_uint_value(conf->status, prev->status,
                             BW_HTTP_SERVICE_UNAVAILABLE);
    bw_conf_merge_value(conf->dry_run, prev->dry_run, 0);

    /* delays are logged a level less loud than refusals */
    conf->delay_log_level = conf->log_level == BW_LOG_INFO
                            ? BW_LOG_INFO : conf->log_level + 1;

    if (conf->limits) {
        limits = conf->limits->elts;
        for (i = 0; i < conf->limits->nelts; i++) {
            ctx = limits[i].shm_zone->data;
            if (ctx == NULL) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                  "unknown limit_req_zone \"%.*s\"",
                                  (int) limits[i].shm_zone->name.len,
                                  limits[i].shm_zone->name.data);
                return BW_CONF_ERROR;
            }
        }
    }

    return BW_CONF_OK;
}

static bw_int_t
bw_http_limit_req_init(bw_conf_t *cf)
{
    return bw_http_add_phase_handler(cf, BW_HTTP_PREACCESS_PHASE,
                                     bw_http_limit_req_handler);
}
