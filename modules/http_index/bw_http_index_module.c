/*
 * index: for a URI ending in "/", the first index file that exists is
 * served through an internal redirect. A missing directory is 404; a
 * directory without index files is left to the next content handler
 * (403 when there is none, as nginx).
 */

#include <bw_http.h>

typedef struct {
    bw_array_t  *indices;     /* bw_http_complex_value_t */
} bw_http_index_loc_conf_t;

static bw_int_t bw_http_index_init(bw_conf_t *cf);
static void *bw_http_index_create_loc_conf(bw_conf_t *cf);
static char *bw_http_index_merge_loc_conf(bw_conf_t *cf, void *parent,
    void *child);
static char *bw_http_index_set_index(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);

static bw_command_t  bw_http_index_commands[] = {
    { bw_string("index"),
      BW_HTTP_MAIN_CONF|BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF|BW_CONF_1MORE,
      bw_http_index_set_index, BW_HTTP_LOC_CONF_OFFSET, 0, NULL },
    bw_null_command
};

static bw_http_module_t  bw_http_index_module_ctx = {
    NULL, bw_http_index_init, NULL, NULL, NULL, NULL,
    bw_http_index_create_loc_conf, bw_http_index_merge_loc_conf
};

bw_module_t  bw_http_index_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_index_module_ctx,
    bw_http_index_commands, NULL, NULL, NULL, NULL
};

static bw_int_t
bw_http_index_handler(bw_http_request_t *r)
{
    size_t                     root;
    u_char                    *last;
    bw_str_t                   path, name, uri;
    bw_uint_t                  i;
    struct stat                st;
    bw_http_complex_value_t   *index;
    bw_http_core_loc_conf_t   *clcf;
    bw_http_index_loc_conf_t  *ilcf;

    if (r->uri.data[r->uri.len - 1] != '/') {
        return BW_DECLINED;
    }

    if (!(r->method & (BW_HTTP_GET | BW_HTTP_HEAD | BW_HTTP_POST))) {
        return BW_DECLINED;
    }

    ilcf = r->loc_conf[bw_http_index_module.ctx_index];
    index = ilcf->indices->elts;

    for (i = 0; i < ilcf->indices->nelts; i++) {
        if (bw_http_complex_value(r, &index[i], &name) != BW_OK) {
            return BW_HTTP_INTERNAL_SERVER_ERROR;
        }
        if (name.len == 0 || memchr(name.data, '\0', name.len)) {
            continue;
        }

        if (name.data[0] == '/') {
            /* an absolute index is the fallback: redirect unchecked */
            return bw_http_internal_redirect(r, &name, &r->args);
        }

        last = bw_http_map_uri_to_path(r, &path, &root, name.len + 1);
        if (last == NULL) {
            return BW_HTTP_INTERNAL_SERVER_ERROR;
        }
        memcpy(last, name.data, name.len);
        last[name.len] = '\0';

        if (stat((char *) path.data, &st) == -1) {
            if (errno == EACCES) {
                bw_log_error(BW_LOG_ERR, r->connection->log, errno,
                             "stat() \"%s\" failed", path.data);
                return BW_HTTP_FORBIDDEN;
            }
            continue;
        }

        if (S_ISDIR(st.st_mode)) {
            continue;
        }

        uri.len = r->uri.len + name.len;
        uri.data = bw_pnalloc(r->pool, uri.len);
        if (uri.data == NULL) {
            return BW_HTTP_INTERNAL_SERVER_ERROR;
        }
        memcpy(uri.data, r->uri.data, r->uri.len);
        memcpy(uri.data + r->uri.len, name.data, name.len);

        return bw_http_internal_redirect(r, &uri, &r->args);
    }

    /* no index file: a missing directory is 404, else the next handler */
    if (bw_http_map_uri_to_path(r, &path, &root, 0) == NULL) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (stat((char *) path.data, &st) == -1 || !S_ISDIR(st.st_mode)) {
        clcf = r->loc_conf[bw_http_core_module.ctx_index];
        if (clcf->log_not_found) {
            bw_log_error(BW_LOG_ERR, r->connection->log, errno,
                         "\"%s\" is not found", path.data);
        }
        return BW_HTTP_NOT_FOUND;
    }

    return BW_DECLINED;
}

static void *
bw_http_index_create_loc_conf(bw_conf_t *cf)
{
    bw_http_index_loc_conf_t  *conf;

    conf = bw_palloc(cf->pool, sizeof(bw_http_index_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }
    conf->indices = NULL;
    return conf;
}

static char *
bw_http_index_merge_loc_conf(bw_conf_t *cf, void *parent, void *child)
{
    bw_http_index_loc_conf_t  *prev = parent;
    bw_http_index_loc_conf_t  *conf = child;
    bw_http_complex_value_t   *index;
    bw_str_t                   def = bw_string("index.html");

    if (conf->indices == NULL) {
        conf->indices = prev->indices;
    }

    if (conf->indices == NULL) {
        conf->indices = bw_array_create(cf->pool, 1,
                                        sizeof(bw_http_complex_value_t));
        if (conf->indices == NULL) {
            return BW_CONF_ERROR;
        }
        index = bw_array_push(conf->indices);
        if (index == NULL) {
            return BW_CONF_ERROR;
        }
        index->value = def;
        index->parts = NULL;
        index->nparts = 0;
    }

    return BW_CONF_OK;
}

static char *
bw_http_index_set_index(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_index_loc_conf_t  *ilcf = conf;
    bw_str_t                  *value;
    bw_uint_t                  i;
    bw_http_complex_value_t   *index;

    if (ilcf->indices == NULL) {
        ilcf->indices = bw_array_create(cf->pool, 2,
                                        sizeof(bw_http_complex_value_t));
        if (ilcf->indices == NULL) {
            return BW_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (value[i].len == 0) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "index \"%s\" in \"index\" directive is "
                              "invalid", value[1].data);
            return BW_CONF_ERROR;
        }

        index = bw_array_push(ilcf->indices);
        if (index == NULL
            || bw_http_compile_complex_value(cf, index, &value[i]) != BW_OK)
        {
            return BW_CONF_ERROR;
        }
    }

    return BW_CONF_OK;
}

static bw_int_t
bw_http_index_init(bw_conf_t *cf)
{
    if (bw_http_add_phase_handler(cf, BW_HTTP_CONTENT_PHASE,
                                  bw_http_index_handler)
        != BW_OK)
    {
        return BW_ERROR;
    }

    return BW_OK;
}
