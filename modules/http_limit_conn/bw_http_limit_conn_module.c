/*
 * limit_conn: how many requests of one key (a client address, a server
 * name) are in progress at once, counted in a shared zone by every
 * worker. As nginx, a request counts once its header is read, from the
 * preaccess phase until it is freed; over the number, it is refused
 * (limit_conn_status, 503). The count is given back by a cleanup of the
 * request's pool, so that no path can forget it; a counter at zero is
 * removed.
 */

#include <bw_http.h>

#define BW_HTTP_LIMIT_CONN_PASSED            1
#define BW_HTTP_LIMIT_CONN_REJECTED          2
#define BW_HTTP_LIMIT_CONN_REJECTED_DRY_RUN  3

typedef struct {
    bw_str_node_t             sn;
    bw_uint_t                 conn;
    u_char                    data[1];
} bw_http_limit_conn_node_t;

typedef struct {
    bw_rbtree_t               rbtree;
    bw_rbtree_node_t          sentinel;
} bw_http_limit_conn_shctx_t;

typedef struct {
    bw_http_limit_conn_shctx_t  *sh;
    bw_slab_pool_t              *shpool;
    bw_http_complex_value_t      key;
    bw_shm_zone_t               *shm_zone;
} bw_http_limit_conn_ctx_t;

typedef struct {
    bw_shm_zone_t            *shm_zone;
    bw_uint_t                 conn;
} bw_http_limit_conn_limit_t;

typedef struct {
    bw_array_t               *limits;     /* bw_http_limit_conn_limit_t */
    bw_uint_t                 log_level;
    bw_uint_t                 status;
    bw_int_t                  dry_run;
} bw_http_limit_conn_conf_t;

typedef struct {
    bw_http_limit_conn_ctx_t   *ctx;
    bw_http_limit_conn_node_t  *node;
} bw_http_limit_conn_cleanup_t;

static bw_int_t bw_http_limit_conn_add_variables(bw_conf_t *cf);
static bw_int_t bw_http_limit_conn_init(bw_conf_t *cf);
static void *bw_http_limit_conn_create_conf(bw_conf_t *cf);
static char *bw_http_limit_conn_merge_conf(bw_conf_t *cf, void *parent,
    void *child);
static char *bw_http_limit_conn_zone(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_limit_conn(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_limit_conn_status(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);

static bw_conf_enum_t  bw_http_limit_conn_log_levels[] = {
    { bw_string("info"), BW_LOG_INFO },
    { bw_string("notice"), BW_LOG_NOTICE },
    { bw_string("warn"), BW_LOG_WARN },
    { bw_string("error"), BW_LOG_ERR },
    { bw_null_string, 0 }
};

#define MSL  (BW_HTTP_MAIN_CONF|BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF)

static bw_command_t  bw_http_limit_conn_commands[] = {

    { bw_string("limit_conn_zone"), BW_HTTP_MAIN_CONF|BW_CONF_TAKE2,
      bw_http_limit_conn_zone, 0, 0, NULL },
    { bw_string("limit_conn"), MSL|BW_CONF_TAKE2,
      bw_http_limit_conn, BW_HTTP_LOC_CONF_OFFSET, 0, NULL },
    { bw_string("limit_conn_log_level"), MSL|BW_CONF_TAKE1,
      bw_conf_set_enum_slot, BW_HTTP_LOC_CONF_OFFSET,
      offsetof(bw_http_limit_conn_conf_t, log_level),
      bw_http_limit_conn_log_levels },
    { bw_string("limit_conn_status"), MSL|BW_CONF_TAKE1,
      bw_http_limit_conn_status, BW_HTTP_LOC_CONF_OFFSET, 0, NULL },
    { bw_string("limit_conn_dry_run"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, BW_HTTP_LOC_CONF_OFFSET,
      offsetof(bw_http_limit_conn_conf_t, dry_run), NULL },

    bw_null_command
};

static bw_http_module_t  bw_http_limit_conn_module_ctx = {
    bw_http_limit_conn_add_variables, bw_http_limit_conn_init,
    NULL, NULL, NULL, NULL,
    bw_http_limit_conn_create_conf, bw_http_limit_conn_merge_conf
};

bw_module_t  bw_http_limit_conn_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_limit_conn_module_ctx,
    bw_http_limit_conn_commands, NULL, NULL, NULL, NULL
};

static void
bw_http_limit_conn_cleanup(void *data)
{
    bw_http_limit_conn_cleanup_t  *lccln = data;
    bw_http_limit_conn_ctx_t      *ctx;
    bw_http_limit_conn_node_t     *lc;

    ctx = lccln->ctx;
    lc = lccln->node;

    bw_shmtx_lock(ctx->shpool);

    lc->conn--;
    if (lc->conn == 0) {
        bw_rbtree_delete(&ctx->sh->rbtree, &lc->sn.node);
        bw_slab_free_locked(ctx->shpool, lc);
    }

    bw_shmtx_unlock(ctx->shpool);
}

static bw_int_t
bw_http_limit_conn_handler(bw_http_request_t *r)
{
    size_t                         n;
    bw_str_t                       key;
    bw_uint_t                      i, hash;
    bw_pool_cleanup_t             *cln;
    bw_http_limit_conn_ctx_t      *ctx;
    bw_http_limit_conn_node_t     *lc;
    bw_http_limit_conn_conf_t     *lccf;
    bw_http_limit_conn_limit_t    *limits;
    bw_http_limit_conn_cleanup_t  *lccln;

    if (r->main->limit_conn_status) {
        return BW_DECLINED;     /* counted once, internal redirects too */
    }

    lccf = bw_http_get_module_loc_conf(r, bw_http_limit_conn_module);
    if (lccf->limits == NULL) {
        return BW_DECLINED;
    }

    limits = lccf->limits->elts;

    for (i = 0; i < lccf->limits->nelts; i++) {
        ctx = limits[i].shm_zone->data;

        if (bw_http_complex_value(r, &ctx->key, &key) != BW_OK) {
            return BW_HTTP_INTERNAL_SERVER_ERROR;
        }
        if (key.len == 0) {
            continue;
        }
        if (key.len > 255) {
            bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                         "the value of the \"%.*s\" key is more than 255 "
                         "bytes: \"%.*s\"", (int) ctx->key.value.len,
                         ctx->key.value.data, 64, key.data);
            continue;
        }

        r->main->limit_conn_status = BW_HTTP_LIMIT_CONN_PASSED;

        cln = bw_pool_cleanup_add(r->pool,
                                  sizeof(bw_http_limit_conn_cleanup_t));
        if (cln == NULL) {
            return BW_HTTP_INTERNAL_SERVER_ERROR;
        }

        hash = bw_hash_key(key.data, key.len);

        bw_shmtx_lock(ctx->shpool);

        lc = (bw_http_limit_conn_node_t *)
                 bw_str_rbtree_lookup(&ctx->sh->rbtree, &key, hash);

        if (lc == NULL) {
            n = offsetof(bw_http_limit_conn_node_t, data) + key.len;
            lc = bw_slab_alloc_locked(ctx->shpool, n);
            if (lc == NULL) {
                bw_shmtx_unlock(ctx->shpool);
                bw_log_error(BW_LOG_ALERT, r->connection->log, 0,
                             "could not allocate node in limit_conn zone "
                             "\"%.*s\"", (int) ctx->shm_zone->name.len,
                             ctx->shm_zone->name.data);
                goto limited;
            }
            lc->sn.node.key = hash;
            lc->sn.str.len = key.len;
            lc->sn.str.data = lc->data;
            memcpy(lc->data, key.data, key.len);
            lc->conn = 1;
            bw_rbtree_insert(&ctx->sh->rbtree, &lc->sn.node);

        } else if (lc->conn >= limits[i].conn) {
            bw_shmtx_unlock(ctx->shpool);
            bw_log_error(lccf->log_level, r->connection->log, 0,
                         "limiting connections%s by zone \"%.*s\"",
                         lccf->dry_run ? ", dry run," : "",
                         (int) ctx->shm_zone->name.len,
                         ctx->shm_zone->name.data);
            goto limited;

        } else {
            lc->conn++;
        }

        bw_shmtx_unlock(ctx->shpool);

        lccln = cln->data;
        lccln->ctx = ctx;
        lccln->node = lc;
        cln->handler = bw_http_limit_conn_cleanup;
        continue;

    limited:

        /* the counts this request took are given back with its pool */
        if (lccf->dry_run) {
            r->main->limit_conn_status = BW_HTTP_LIMIT_CONN_REJECTED_DRY_RUN;
            return BW_DECLINED;
        }

        r->main->limit_conn_status = BW_HTTP_LIMIT_CONN_REJECTED;
        return (bw_int_t) lccf->status;
    }

    return BW_DECLINED;
}

/* --- $limit_conn_status ------------------------------------------------ */

static bw_str_t  bw_http_limit_conn_status_names[] = {
    bw_string("PASSED"),
    bw_string("REJECTED"),
    bw_string("REJECTED_DRY_RUN")
};

static bw_int_t
bw_http_limit_conn_status_variable(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    bw_uint_t  status;

    status = r->main->limit_conn_status;
    if (status == 0) {
        v->not_found = 1;
        return BW_OK;
    }

    v->data = bw_http_limit_conn_status_names[status - 1].data;
    v->len = (unsigned) bw_http_limit_conn_status_names[status - 1].len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    return BW_OK;
}

static bw_http_variable_t  bw_http_limit_conn_vars[] = {
    { bw_string("limit_conn_status"), NULL,
      bw_http_limit_conn_status_variable, 0, BW_HTTP_VAR_NOCACHEABLE, 0 },
    bw_http_null_variable
};

static bw_int_t
bw_http_limit_conn_add_variables(bw_conf_t *cf)
{
    return bw_http_add_variables(cf, bw_http_limit_conn_vars);
}

/* --- configuration ----------------------------------------------------- */

static bw_int_t
bw_http_limit_conn_init_zone(bw_shm_zone_t *shm_zone, void *data)
{
    bw_http_limit_conn_ctx_t  *octx = data;
    bw_http_limit_conn_ctx_t  *ctx;

    ctx = shm_zone->data;

    if (octx) {
        if (!bw_str_eq(&ctx->key.value, &octx->key.value)) {
            bw_log_error(BW_LOG_EMERG, bw_cycle->log, 0,
                         "limit_conn_zone \"%.*s\" uses the \"%.*s\" key "
                         "while previously it used the \"%.*s\" key",
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
                                   sizeof(bw_http_limit_conn_shctx_t));
    bw_shmtx_unlock(ctx->shpool);

    if (ctx->sh == NULL) {
        return BW_ERROR;
    }

    ctx->shpool->data = ctx->sh;
    bw_rbtree_init(&ctx->sh->rbtree, &ctx->sh->sentinel,
                   bw_str_rbtree_insert_value);

    return BW_OK;
}

static char *
bw_http_limit_conn_zone(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    size_t                     size;
    bw_str_t                  *value, name;
    bw_shm_zone_t             *shm_zone;
    bw_http_limit_conn_ctx_t  *ctx;

    value = cf->args->elts;

    ctx = bw_pcalloc(cf->pool, sizeof(bw_http_limit_conn_ctx_t));
    if (ctx == NULL) {
        return BW_CONF_ERROR;
    }

    if (bw_http_compile_complex_value(cf, &ctx->key, &value[1]) != BW_OK) {
        return BW_CONF_ERROR;
    }

    if (bw_shm_zone_param(cf, &value[2], &name, &size) != BW_OK) {
        return BW_CONF_ERROR;
    }

    shm_zone = bw_shared_memory_add(cf, &name, size,
                                    &bw_http_limit_conn_module);
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
    shm_zone->init = bw_http_limit_conn_init_zone;
    shm_zone->data = ctx;

    return BW_CONF_OK;
}

static char *
bw_http_limit_conn(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_limit_conn_conf_t  *lccf = conf;

    bw_int_t                     n;
    bw_str_t                    *value;
    bw_uint_t                    i;
    bw_shm_zone_t               *shm_zone;
    bw_http_limit_conn_limit_t  *limit, *limits;

    value = cf->args->elts;

    shm_zone = bw_shared_memory_add(cf, &value[1], 0,
                                    &bw_http_limit_conn_module);
    if (shm_zone == NULL) {
        return BW_CONF_ERROR;
    }

    if (lccf->limits == BW_CONF_UNSET_PTR) {
        lccf->limits = bw_array_create(cf->pool, 1,
                                       sizeof(bw_http_limit_conn_limit_t));
        if (lccf->limits == NULL) {
            return BW_CONF_ERROR;
        }
    }

    limits = lccf->limits->elts;
    for (i = 0; i < lccf->limits->nelts; i++) {
        if (shm_zone == limits[i].shm_zone) {
            return "is duplicate";
        }
    }

    n = bw_atoi(value[2].data, value[2].len);
    if (n <= 0) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "invalid number of connections \"%.*s\"",
                          (int) value[2].len, value[2].data);
        return BW_CONF_ERROR;
    }
    if (n > 65535) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "connection limit must be less 65536");
        return BW_CONF_ERROR;
    }

    limit = bw_array_push(lccf->limits);
    if (limit == NULL) {
        return BW_CONF_ERROR;
    }
    limit->conn = (bw_uint_t) n;
    limit->shm_zone = shm_zone;

    return BW_CONF_OK;
}

static char *
bw_http_limit_conn_status(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_limit_conn_conf_t  *lccf = conf;

    bw_int_t   n;
    bw_str_t  *value;

    if (lccf->status != BW_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;
    n = bw_atoi(value[1].data, value[1].len);
    if (n < 400 || n > 599) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "value must be between 400 and 599");
        return BW_CONF_ERROR;
    }
    lccf->status = (bw_uint_t) n;

    return BW_CONF_OK;
}

static void *
bw_http_limit_conn_create_conf(bw_conf_t *cf)
{
    bw_http_limit_conn_conf_t  *conf;

    conf = bw_pcalloc(cf->pool, sizeof(bw_http_limit_conn_conf_t));
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
bw_http_limit_conn_merge_conf(bw_conf_t *cf, void *parent, void *child)
{
    bw_http_limit_conn_conf_t  *prev = parent;
    bw_http_limit_conn_conf_t  *conf = child;

    bw_uint_t                    i;
    bw_http_limit_conn_limit_t  *limits;

    bw_conf_merge_ptr_value(conf->limits, prev->limits, NULL);
    bw_conf_merge_uint_value(conf->log_level, prev->log_level, BW_LOG_ERR);
    bw_conf_merge_uint_value(conf->status, prev->status,
                             BW_HTTP_SERVICE_UNAVAILABLE);
    bw_conf_merge_value(conf->dry_run, prev->dry_run, 0);

    if (conf->limits) {
        limits = conf->limits->elts;
        for (i = 0; i < conf->limits->nelts; i++) {
            if (limits[i].shm_zone->data == NULL) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                  "unknown limit_conn_zone \"%.*s\"",
                                  (int) limits[i].shm_zone->name.len,
                                  limits[i].shm_zone->name.data);
                return BW_CONF_ERROR;
            }
        }
    }

    return BW_CONF_OK;
}

static bw_int_t
bw_http_limit_conn_init(bw_conf_t *cf)
{
    return bw_http_add_phase_handler(cf, BW_HTTP_PREACCESS_PHASE,
                                     bw_http_limit_conn_handler);
}
