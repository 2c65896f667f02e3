/*
 * The disk cache's configuration: proxy_cache_path (the keys zone, the
 * directory and the work of the cache manager and loader), the
 * proxy_cache_* settings an upstream module keeps per location, the
 * hooks the upstream framework calls, and $upstream_cache_status.
 */

#include <bw_http_cache.h>

static bw_int_t bw_http_cache_preconfiguration(bw_conf_t *cf);
static void *bw_http_cache_create_main_conf(bw_conf_t *cf);
static bw_int_t bw_http_cache_init_zone(bw_shm_zone_t *shm_zone, void *data);
static void bw_http_cache_invalid(bw_http_request_t *r,
    bw_http_upstream_t *u);

typedef struct {
    bw_array_t      caches;         /* bw_http_cache_t * */
} bw_http_cache_main_conf_t;

static const bw_http_upstream_cache_ops_t  bw_http_cache_ops = {
    bw_http_cache_lookup,
    bw_http_cache_store_header,
    bw_http_cache_store_body,
    bw_http_cache_store_end,
    bw_http_cache_invalid,
    bw_http_cache_use_stored,
    bw_http_cache_finalize,
    bw_http_cache_store_error
};

static bw_http_module_t  bw_http_cache_module_ctx = {
    bw_http_cache_preconfiguration, NULL,
    bw_http_cache_create_main_conf, NULL,
    NULL, NULL,
    NULL, NULL
};

bw_module_t  bw_http_cache_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_cache_module_ctx,
    NULL, NULL, NULL, NULL, NULL
};

/* the stored validators of an entry being revalidated (the proxy sends
 * them as If-None-Match and If-Modified-Since), else empty */
static bw_int_t
bw_http_cache_validator_variable(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    u_char               *p;
    bw_http_cache_req_t  *c;

    c = r->upstream ? r->upstream->cache : NULL;

    if (c == NULL || !c->revalidate) {
        v->not_found = 1;
        return BW_OK;
    }

    if (data == 0) {
        if (c->h.etag_len == 0) {
            v->not_found = 1;
            return BW_OK;
        }
        bw_var_set(v, c->h.etag, c->h.etag_len);

    } else {
        if (c->h.last_modified == -1) {
            v->not_found = 1;
            return BW_OK;
        }
        p = bw_pnalloc(r->pool, sizeof("Mon, 28 Sep 1970 06:00:00 GMT"));
        if (p == NULL) {
            return BW_ERROR;
        }
        bw_var_set(v, p, bw_http_time(p, (time_t) c->h.last_modified) - p);
    }

    v->no_cacheable = 1;
    return BW_OK;
}

static bw_http_variable_t  bw_http_cache_vars[] = {
    { bw_string("upstream_cache_etag"), NULL,
      bw_http_cache_validator_variable, 0, BW_HTTP_VAR_NOCACHEABLE, 0 },
    { bw_string("upstream_cache_last_modified"), NULL,
      bw_http_cache_validator_variable, 1, BW_HTTP_VAR_NOCACHEABLE, 0 },
    bw_http_null_variable
};

static bw_int_t
bw_http_cache_preconfiguration(bw_conf_t *cf)
{
    bw_http_upstream_cache_ops = &bw_http_cache_ops;

    return bw_http_add_variables(cf, bw_http_cache_vars);
}

static void *
bw_http_cache_create_main_conf(bw_conf_t *cf)
{
    bw_http_cache_main_conf_t  *cmcf;

    cmcf = bw_pcalloc(cf->pool, sizeof(bw_http_cache_main_conf_t));
    if (cmcf == NULL
        || bw_array_init(&cmcf->caches, cf->pool, 2,
                         sizeof(bw_http_cache_t *)) != BW_OK)
    {
        return NULL;
    }

    return cmcf;
}

/* --- proxy_cache_path ---------------------------------------------------- */

static bw_int_t
bw_http_cache_param(bw_str_t *v, const char *name, bw_str_t *out)
{
    size_t  len;

    len = strlen(name);

    if (v->len < len || memcmp(v->data, name, len) != 0) {
        return 0;
    }

    out->data = v->data + len;
    out->len = v->len - len;
    return 1;
}

static bw_int_t
bw_http_cache_time_param(bw_conf_t *cf, bw_str_t *arg, bw_str_t *s,
    bw_uint_t is_sec, bw_msec_t *out)
{
    bw_int_t  n;

    n = bw_parse_time(s, is_sec);
    if (n == BW_ERROR || (is_sec == 0 && n == 0 && s->len == 0)) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid %.*s value",
                          (int) (arg->len - s->len - 1), arg->data);
        return BW_ERROR;
    }

    *out = (bw_msec_t) n;
    return BW_OK;
}

static bw_int_t
bw_http_cache_num_param(bw_conf_t *cf, bw_str_t *arg, bw_str_t *s,
    bw_uint_t *out)
{
    bw_int_t  n;

    n = bw_atoi(s->data, s->len);
    if (n == BW_ERROR || n == 0) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid %.*s value",
                          (int) (arg->len - s->len - 1), arg->data);
        return BW_ERROR;
    }

    *out = (bw_uint_t) n;
    return BW_OK;
}

char *
bw_http_cache_path_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    off_t                       off;
    size_t                      size;
    ssize_t                     n;
    u_char                     *p;
    bw_str_t                   *value, s, name;
    bw_uint_t                   i, j;
    bw_msec_t                   ms;
    bw_path_t                  *path;
    bw_managed_t               *m;
    bw_http_cache_t            *cache, **cp;
    bw_http_cache_main_conf_t  *cmcf;

    value = cf->args->elts;
    cmcf = bw_http_conf_get_module_main_conf(cf, bw_http_cache_module);

    cache = bw_pcalloc(cf->pool, sizeof(bw_http_cache_t));
    if (cache == NULL) {
        return BW_CONF_ERROR;
    }

    cache->path = value[1];
    if (cache->path.len && cache->path.data[cache->path.len - 1] == '/') {
        cache->path.len--;
    }
    if (bw_get_full_name(cf->pool, &cf->cycle->prefix, &cache->path)
        != BW_OK)
    {
        return BW_CONF_ERROR;
    }

    cache->inactive = 600;
    cache->manager_files = 100;
    cache->manager_sleep = 50;
    cache->manager_threshold = 200;
    cache->loader_files = 100;
    cache->loader_sleep = 50;
    cache->loader_threshold = 200;
    cache->tag = cmd->post;
    cache->conf_file = cf->conf_file ? cf->conf_file->name.data : NULL;
    cache->line = cf->conf_file ? cf->conf_file->line : 0;

    size = 0;
    name.len = 0;
    name.data = NULL;

    for (i = 2; i < cf->args->nelts; i++) {

        if (bw_http_cache_param(&value[i], "levels=", &s)) {
            p = s.data;
            j = 0;
            while (p < s.data + s.len) {
                if (j == 3 || (*p != '1' && *p != '2')) {
                    goto invalid_levels;
                }
                cache->level[j++] = *p++ - '0';
                if (p == s.data + s.len) {
                    break;
                }
                if (*p != ':' || p + 1 == s.data + s.len) {
                    goto invalid_levels;
                }
                p++;
            }
            if (j == 0) {
                goto invalid_levels;
            }
            cache->nlevels = j;
            continue;

        invalid_levels:
            bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid \"levels\" "
                              "\"%.*s\"", (int) value[i].len, value[i].data);
            return BW_CONF_ERROR;
        }

        if (bw_http_cache_param(&value[i], "use_temp_path=", &s)) {
            /* checked, and the same either way: entries are always
             * written beside their final name, as "off" does */
            if (!bw_str_eq_lit(&s, "on") && !bw_str_eq_lit(&s, "off")) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                  "invalid use_temp_path value \"%.*s\", "
                                  "it must be \"on\" or \"off\"",
                                  (int) s.len, s.data);
                return BW_CONF_ERROR;
            }
            continue;
        }

        if (bw_http_cache_param(&value[i], "keys_zone=", &s)) {
            p = memchr(s.data, ':', s.len);
            if (p == NULL || p == s.data) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                  "invalid keys zone size \"%.*s\"",
                                  (int) value[i].len, value[i].data);
                return BW_CONF_ERROR;
            }
            name.data = s.data;
            name.len = p - s.data;
            s.len -= name.len + 1;
            s.data = p + 1;
            n = bw_parse_size(&s);
            if (n == BW_ERROR || n < (ssize_t) (8 * BW_SLAB_PAGE_SIZE)) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                  "invalid keys zone size \"%.*s\"",
                                  (int) value[i].len, value[i].data);
                return BW_CONF_ERROR;
            }
            size = (size_t) n;
            continue;
        }

        if (bw_http_cache_param(&value[i], "inactive=", &s)) {
            if (bw_http_cache_time_param(cf, &value[i], &s, 1, &ms)
                != BW_OK)
            {
                return BW_CONF_ERROR;
            }
            cache->inactive = (time_t) ms;
            continue;
        }

        if (bw_http_cache_param(&value[i], "max_size=", &s)
            || bw_http_cache_param(&value[i], "min_free=", &s))
        {
            off = bw_parse_offset(&s);
            if (off == BW_ERROR) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid %.*s value",
                                  8, value[i].data);
                return BW_CONF_ERROR;
            }
            if (value[i].data[1] == 'a') {
                cache->max_size = off;
            } else {
                cache->min_free = off;
            }
            continue;
        }

        if (bw_http_cache_param(&value[i], "manager_files=", &s)) {
            if (bw_http_cache_num_param(cf, &value[i], &s,
                                        &cache->manager_files) != BW_OK)
            {
                return BW_CONF_ERROR;
            }
            continue;
        }
        if (bw_http_cache_param(&value[i], "manager_sleep=", &s)) {
            if (bw_http_cache_time_param(cf, &value[i], &s, 0,
                                         &cache->manager_sleep) != BW_OK)
            {
                return BW_CONF_ERROR;
            }
            continue;
        }
        if (bw_http_cache_param(&value[i], "manager_threshold=", &s)) {
            if (bw_http_cache_time_param(cf, &value[i], &s, 0,
                                         &cache->manager_threshold) != BW_OK)
            {
                return BW_CONF_ERROR;
            }
            continue;
        }
        if (bw_http_cache_param(&value[i], "loader_files=", &s)) {
            if (bw_http_cache_num_param(cf, &value[i], &s,
                                        &cache->loader_files) != BW_OK)
            {
                return BW_CONF_ERROR;
            }
            continue;
        }
        if (bw_http_cache_param(&value[i], "loader_sleep=", &s)) {
            if (bw_http_cache_time_param(cf, &value[i], &s, 0,
                                         &cache->loader_sleep) != BW_OK)
            {
                return BW_CONF_ERROR;
            }
            continue;
        }
        if (bw_http_cache_param(&value[i], "loader_threshold=", &s)) {
            if (bw_http_cache_time_param(cf, &value[i], &s, 0,
                                         &cache->loader_threshold) != BW_OK)
            {
                return BW_CONF_ERROR;
            }
            continue;
        }

        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid parameter \"%.*s\"",
                          (int) value[i].len, value[i].data);
        return BW_CONF_ERROR;
    }

    if (bw_http_cache_md5() == NULL) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "\"%.*s\" needs MD5, which OpenSSL does not "
                          "provide here", (int) cmd->name.len,
                          cmd->name.data);
        return BW_CONF_ERROR;
    }

    if (name.len == 0) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "\"%.*s\" must have \"keys_zone\" parameter",
                          (int) cmd->name.len, cmd->name.data);
        return BW_CONF_ERROR;
    }

    cp = cmcf->caches.elts;
    for (i = 0; i < cmcf->caches.nelts; i++) {
        if (bw_str_eq(&cp[i]->path, &cache->path)) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "the same path name \"%.*s\" used in %s:%lu "
                              "and", (int) cache->path.len,
                              cache->path.data, cp[i]->conf_file,
                              (unsigned long) cp[i]->line);
            return BW_CONF_ERROR;
        }
    }

    cache->shm_zone = bw_shared_memory_add(cf, &name, size, cmd->post);
    if (cache->shm_zone == NULL) {
        return BW_CONF_ERROR;
    }

    if (cache->shm_zone->data) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "duplicate zone \"%.*s\"",
                          (int) name.len, name.data);
        return BW_CONF_ERROR;
    }

    cache->shm_zone->init = bw_http_cache_init_zone;
    cache->shm_zone->data = cache;

    /* the directory is made by the master, owned by "user" */
    path = bw_pcalloc(cf->pool, sizeof(bw_path_t));
    if (path == NULL) {
        return BW_CONF_ERROR;
    }
    path->name = cache->path;
    if (bw_add_path(cf, path) != BW_CONF_OK) {
        return BW_CONF_ERROR;
    }

    cp = bw_array_push(&cmcf->caches);
    m = bw_array_push(&cf->cycle->managed);
    if (cp == NULL || m == NULL) {
        return BW_CONF_ERROR;
    }
    *cp = cache;
    m->manager = bw_http_cache_manager;
    m->loader = bw_http_cache_loader;
    m->data = cache;

    return BW_CONF_OK;
}

/*
 * A reload that keeps the zone keeps its entries (and its loader's
 * work); a zone now on another directory would describe files that are
 * not there.
 */
static bw_int_t
bw_http_cache_init_zone(bw_shm_zone_t *shm_zone, void *data)
{
    bw_http_cache_t  *ocache = data;
    bw_http_cache_t  *cache;

    cache = shm_zone->data;

    if (ocache) {
        if (cache->nlevels != ocache->nlevels
            || memcmp(cache->level, ocache->level, sizeof(cache->level))
               != 0)
        {
            /* the files are where the old levels put them */
            bw_log_error(BW_LOG_EMERG, bw_cycle->log, 0,
                         "cache \"%.*s\" had previously different levels",
                         (int) shm_zone->name.len, shm_zone->name.data);
            return BW_ERROR;
        }
        if (!bw_str_eq(&cache->path, &ocache->path)) {
            bw_log_error(BW_LOG_EMERG, bw_cycle->log, 0,
                         "cache \"%.*s\" uses the \"%.*s\" cache path "
                         "while previously it used the \"%.*s\" cache path",
                         (int) shm_zone->name.len, shm_zone->name.data,
                         (int) cache->path.len, cache->path.data,
                         (int) ocache->path.len, ocache->path.data);
            return BW_ERROR;
        }
        cache->sh = ocache->sh;
        cache->shpool = ocache->shpool;
        return BW_OK;
    }

    cache->shpool = (bw_slab_pool_t *) shm_zone->addr;

    bw_shmtx_lock(cache->shpool);
    cache->sh = bw_slab_calloc_locked(cache->shpool,
                                      sizeof(bw_http_cache_sh_t));
    bw_shmtx_unlock(cache->shpool);

    if (cache->sh == NULL) {
        return BW_ERROR;
    }

    cache->shpool->data = cache->sh;
    bw_rbtree_init(&cache->sh->rbtree, &cache->sh->sentinel,
                   bw_rbtree_insert_value);
    bw_queue_init(&cache->sh->queue);
    cache->sh->cold = 1;

    return BW_OK;
}

/* --- proxy_cache_* ------------------------------------------------------- */

void
bw_http_cache_create_conf(bw_http_upstream_cache_conf_t *conf)
{
    bw_memzero(conf, sizeof(bw_http_upstream_cache_conf_t));

    conf->zone = BW_CONF_UNSET_PTR;
    conf->zone_value = BW_CONF_UNSET_PTR;
    conf->key = BW_CONF_UNSET_PTR;
    conf->valid = BW_CONF_UNSET_PTR;
    conf->min_uses = BW_CONF_UNSET_UINT;
    conf->bypass = BW_CONF_UNSET_PTR;
    conf->no_cache = BW_CONF_UNSET_PTR;
    conf->convert_head = BW_CONF_UNSET;
    conf->max_range_offset = BW_CONF_UNSET;
    conf->background_update = BW_CONF_UNSET;
    conf->revalidate = BW_CONF_UNSET;
    conf->lock = BW_CONF_UNSET;
    conf->lock_timeout = BW_CONF_UNSET_MSEC;
    conf->lock_age = BW_CONF_UNSET_MSEC;
    conf->purge = BW_CONF_UNSET_PTR;
}

/* *_cache_use_stale */
bw_conf_bitmask_t  bw_http_cache_use_stale_masks[] = {
    { bw_string("error"), BW_HTTP_UPSTREAM_FT_ERROR },
    { bw_string("timeout"), BW_HTTP_UPSTREAM_FT_TIMEOUT },
    { bw_string("invalid_header"), BW_HTTP_UPSTREAM_FT_INVALID_HEADER },
    { bw_string("updating"), BW_HTTP_UPSTREAM_FT_UPDATING },
    { bw_string("http_500"), BW_HTTP_UPSTREAM_FT_HTTP_500 },
    { bw_string("http_502"), BW_HTTP_UPSTREAM_FT_HTTP_502 },
    { bw_string("http_503"), BW_HTTP_UPSTREAM_FT_HTTP_503 },
    { bw_string("http_504"), BW_HTTP_UPSTREAM_FT_HTTP_504 },
    { bw_string("http_403"), BW_HTTP_UPSTREAM_FT_HTTP_403 },
    { bw_string("http_404"), BW_HTTP_UPSTREAM_FT_HTTP_404 },
    { bw_string("http_429"), BW_HTTP_UPSTREAM_FT_HTTP_429 },
    { bw_string("off"), BW_HTTP_UPSTREAM_FT_OFF },
    { bw_null_string, 0 }
};

char *
bw_http_cache_merge_conf(bw_conf_t *cf, bw_http_upstream_cache_conf_t *conf,
    bw_http_upstream_cache_conf_t *prev)
{
    if (conf->zone == BW_CONF_UNSET_PTR) {
        conf->zone = prev->zone;
        conf->zone_value = prev->zone_value;
        conf->tag = prev->tag;
    }
    if (conf->zone == BW_CONF_UNSET_PTR) {
        conf->zone = NULL;
        conf->zone_value = NULL;
    }

    if (conf->zone && conf->zone->data == NULL) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "\"proxy_cache\" zone \"%.*s\" is unknown",
                          (int) conf->zone->name.len, conf->zone->name.data);
        return BW_CONF_ERROR;
    }

    /* none: the upstream module's own (u->create_key) */
    bw_conf_merge_ptr_value(conf->key, prev->key, NULL);

    bw_conf_merge_ptr_value(conf->valid, prev->valid, NULL);

    if (conf->methods == 0) {
        conf->methods = prev->methods;
    }
    conf->methods |= BW_HTTP_GET|BW_HTTP_HEAD;

    bw_conf_merge_uint_value(conf->min_uses, prev->min_uses, 1);
    bw_conf_merge_ptr_value(conf->bypass, prev->bypass, NULL);
    bw_conf_merge_ptr_value(conf->no_cache, prev->no_cache, NULL);
    bw_conf_merge_value(conf->convert_head, prev->convert_head, 1);
    bw_conf_merge_off_value(conf->max_range_offset, prev->max_range_offset,
                            BW_MAX_OFF_T_VALUE);

    bw_conf_merge_bitmask_value(conf->use_stale, prev->use_stale,
                                BW_HTTP_UPSTREAM_FT_OFF);
    if (conf->use_stale & BW_HTTP_UPSTREAM_FT_OFF) {
        conf->use_stale = BW_HTTP_UPSTREAM_FT_OFF;
    }
    if (conf->use_stale & BW_HTTP_UPSTREAM_FT_ERROR) {
        conf->use_stale |= BW_HTTP_UPSTREAM_FT_NOLIVE;
    }

    bw_conf_merge_value(conf->background_update, prev->background_update, 0);
    bw_conf_merge_value(conf->revalidate, prev->revalidate, 0);
    bw_conf_merge_value(conf->lock, prev->lock, 0);
    bw_conf_merge_msec_value(conf->lock_timeout, prev->lock_timeout, 5000);
    bw_conf_merge_msec_value(conf->lock_age, prev->lock_age, 5000);

    bw_conf_merge_ptr_value(conf->purge, prev->purge, NULL);

    return BW_CONF_OK;
}

/*
 * The cache settings of a gateway module (fastcgi_cache, uwsgi_cache,
 * scgi_cache) merged, and hooked to its upstream settings: as nginx,
 * such a cache has no default key (what identifies an application's
 * answer is the configuration's to say).
 */
char *
bw_http_cache_merge_gateway(bw_conf_t *cf, bw_http_upstream_cache_conf_t *conf,
    bw_http_upstream_cache_conf_t *prev, bw_http_upstream_conf_t *upstream,
    const char *prefix)
{
    u_char  *p;

    if (bw_http_cache_merge_conf(cf, conf, prev) != BW_CONF_OK) {
        return BW_CONF_ERROR;
    }

    upstream->cache = (conf->zone || conf->zone_value) ? conf : NULL;

    if (upstream->cache == NULL || conf->key) {
        return BW_CONF_OK;
    }

    p = bw_pnalloc(cf->pool, 128);
    if (p == NULL) {
        return BW_CONF_ERROR;
    }
    *bw_slprintf(p, p + 127, "no \"%s_cache_key\" for \"%s_cache\"",
                 prefix, prefix) = '\0';

    return (char *) p;
}

/* proxy_cache zone | $variable | off */
char *
bw_http_cache_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_str_t                       *value;
    bw_http_upstream_cache_conf_t  *ccf;

    ccf = (bw_http_upstream_cache_conf_t *) ((char *) conf + cmd->offset);
    value = cf->args->elts;

    if (ccf->zone != BW_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    ccf->tag = cmd->post;
    ccf->zone_value = NULL;

    if (bw_str_eq_lit(&value[1], "off")) {
        ccf->zone = NULL;
        return BW_CONF_OK;
    }

    if (bw_http_script_variables_count(&value[1])) {
        ccf->zone = NULL;
        ccf->zone_value = bw_pcalloc(cf->pool,
                                     sizeof(bw_http_complex_value_t));
        if (ccf->zone_value == NULL
            || bw_http_compile_complex_value(cf, ccf->zone_value, &value[1])
               != BW_OK)
        {
            return BW_CONF_ERROR;
        }
        return BW_CONF_OK;
    }

    ccf->zone = bw_shared_memory_add(cf, &value[1], 0, cmd->post);
    if (ccf->zone == NULL) {
        return BW_CONF_ERROR;
    }

    return BW_CONF_OK;
}

char *
bw_http_cache_key_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_str_t                       *value;
    bw_http_upstream_cache_conf_t  *ccf;

    ccf = (bw_http_upstream_cache_conf_t *) ((char *) conf + cmd->offset);
    value = cf->args->elts;

    if (ccf->key != BW_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    ccf->key = bw_pcalloc(cf->pool, sizeof(bw_http_complex_value_t));
    if (ccf->key == NULL
        || bw_http_compile_complex_value(cf, ccf->key, &value[1]) != BW_OK)
    {
        return BW_CONF_ERROR;
    }

    return BW_CONF_OK;
}

/* proxy_cache_valid [code ...|any] time; the time alone: 200 301 302 */
char *
bw_http_cache_valid_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    time_t                          valid;
    bw_int_t                        status, n;
    bw_str_t                       *value;
    bw_uint_t                       i;
    bw_http_cache_valid_t          *v;
    bw_http_upstream_cache_conf_t  *ccf;

    static bw_uint_t  defaults[] = { 200, 301, 302, 0 };

    ccf = (bw_http_upstream_cache_conf_t *) ((char *) conf + cmd->offset);
    value = cf->args->elts;

    if (ccf->valid == BW_CONF_UNSET_PTR) {
        ccf->valid = bw_array_create(cf->pool, 4,
                                     sizeof(bw_http_cache_valid_t));
        if (ccf->valid == NULL) {
            return BW_CONF_ERROR;
        }
    }

    n = cf->args->nelts - 1;

    valid = (time_t) bw_parse_time(&value[n], 1);
    if (valid == (time_t) BW_ERROR) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid time value \"%.*s\"",
                          (int) value[n].len, value[n].data);
        return BW_CONF_ERROR;
    }

    if (n == 1) {
        for (i = 0; defaults[i]; i++) {
            v = bw_array_push(ccf->valid);
            if (v == NULL) {
                return BW_CONF_ERROR;
            }
            v->status = defaults[i];
            v->valid = valid;
        }
        return BW_CONF_OK;
    }

    for (i = 1; i < (bw_uint_t) n; i++) {
        if (bw_str_eq_lit(&value[i], "any")) {
            status = 0;
        } else {
            status = bw_atoi(value[i].data, value[i].len);
            if (status < 100 || status > 599) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                  "invalid status \"%.*s\"",
                                  (int) value[i].len, value[i].data);
                return BW_CONF_ERROR;
            }
        }

        v = bw_array_push(ccf->valid);
        if (v == NULL) {
            return BW_CONF_ERROR;
        }
        v->status = (bw_uint_t) status;
        v->valid = valid;
    }

    return BW_CONF_OK;
}

/* proxy_cache_bypass, proxy_no_cache: values that say yes when not
 * empty and not "0"; the directive may come more than once */
char *
bw_http_cache_predicates_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_str_t                  *value;
    bw_uint_t                  i;
    bw_array_t               **a;
    bw_http_complex_value_t   *cv;

    a = (bw_array_t **) ((char *) conf + cmd->offset);
    value = cf->args->elts;

    if (*a == BW_CONF_UNSET_PTR) {
        *a = bw_array_create(cf->pool, 2, sizeof(bw_http_complex_value_t));
        if (*a == NULL) {
            return BW_CONF_ERROR;
        }
    }

    for (i = 1; i < cf->args->nelts; i++) {
        cv = bw_array_push(*a);
        if (cv == NULL
            || bw_http_compile_complex_value(cf, cv, &value[i]) != BW_OK)
        {
            return BW_CONF_ERROR;
        }
    }

    return BW_CONF_OK;
}

/* proxy_cache_methods: GET and HEAD are always in */
char *
bw_http_cache_methods_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_str_t                       *value;
    bw_uint_t                       i;
    bw_http_upstream_cache_conf_t  *ccf;

    static struct { const char *name; bw_uint_t mask; }  methods[] = {
        { "GET", BW_HTTP_GET }, { "HEAD", BW_HTTP_HEAD },
        { "POST", BW_HTTP_POST }, { NULL, 0 }
    };

    ccf = (bw_http_upstream_cache_conf_t *) ((char *) conf + cmd->offset);
    value = cf->args->elts;

    if (ccf->methods) {
        return "is duplicate";
    }

    for (i = 1; i < cf->args->nelts; i++) {
        bw_uint_t  m;

        for (m = 0; methods[m].name; m++) {
            if (value[i].len == strlen(methods[m].name)
                && memcmp(value[i].data, methods[m].name, value[i].len)
                   == 0)
            {
                ccf->methods |= methods[m].mask;
                break;
            }
        }

        if (methods[m].name == NULL) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "invalid value \"%.*s\"",
                              (int) value[i].len, value[i].data);
            return BW_CONF_ERROR;
        }
    }

    return BW_CONF_OK;
}

/* --- per request --------------------------------------------------------- */

/* The stored header of a hit did not parse: the entry goes. */
static void
bw_http_cache_invalid(bw_http_request_t *r, bw_http_upstream_t *u)
{
    bw_http_cache_req_t  *c;

    c = u->cache;

    bw_log_error(BW_LOG_CRIT, r->connection->log, 0,
                 "cache file \"%s\" has an invalid response header, "
                 "removed", c->file.data);

    (void) unlink((char *) c->file.data);

    bw_shmtx_lock(c->cache->shpool);
    if (c->node->exists) {
        c->node->exists = 0;
        c->cache->sh->size -= c->node->fs_size;
        c->node->fs_size = 0;
    }
    bw_shmtx_unlock(c->cache->shpool);

    if (c->fd.fd != -1) {
        close(c->fd.fd);
        c->fd.fd = -1;
    }

    u->cache_body = NULL;
    u->cache_status = BW_HTTP_CACHE_MISS;
}
