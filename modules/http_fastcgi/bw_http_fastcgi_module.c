/*
 * fastcgi_pass: requests to FastCGI applications (PHP-FPM and the like)
 * through the upstream framework, with nginx's directives. This file
 * holds the directives, their merge and the content handler; the
 * records are built in bw_http_fastcgi_request.c and read in
 * bw_http_fastcgi_response.c.
 */

#include <bw_http_fastcgi.h>

static bw_int_t bw_http_fastcgi_handler(bw_http_request_t *r);
static bw_int_t bw_http_fastcgi_add_variables(bw_conf_t *cf);
static void *bw_http_fastcgi_create_loc_conf(bw_conf_t *cf);
static char *bw_http_fastcgi_merge_loc_conf(bw_conf_t *cf, void *parent,
    void *child);
static char *bw_http_fastcgi_pass(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_fastcgi_split_path_info(bw_conf_t *cf,
    bw_command_t *cmd, void *conf);

/* Response headers the client never sees by default (nginx's list:
 * Date and Server are the application's to send) */
static bw_str_t  bw_http_fastcgi_hide_headers[] = {
    bw_string("Status"),
    bw_string("X-Accel-Expires"),
    bw_string("X-Accel-Redirect"),
    bw_string("X-Accel-Limit-Rate"),
    bw_string("X-Accel-Buffering"),
    bw_string("X-Accel-Charset"),
    bw_null_string
};

static const bw_http_upstream_conf_names_t  bw_http_fastcgi_conf_names = {
    "fastcgi", BW_HTTP_FASTCGI_TEMP_PATH, bw_http_fastcgi_hide_headers
};

#define LOC   BW_HTTP_LOC_CONF_OFFSET
#define MSL   (BW_HTTP_MAIN_CONF|BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF)
#define UOFF(f)  offsetof(bw_http_fastcgi_loc_conf_t, upstream.f)
#define FOFF(f)  offsetof(bw_http_fastcgi_loc_conf_t, f)

static bw_command_t  bw_http_fastcgi_commands[] = {

    { bw_string("fastcgi_pass"),
      BW_HTTP_LOC_CONF|BW_HTTP_LIF_CONF|BW_CONF_TAKE1,
      bw_http_fastcgi_pass, LOC, 0, NULL },
    { bw_string("fastcgi_index"), MSL|BW_CONF_TAKE1,
      bw_conf_set_str_slot, LOC, FOFF(index), NULL },
    { bw_string("fastcgi_split_path_info"), BW_HTTP_LOC_CONF|BW_CONF_TAKE1,
      bw_http_fastcgi_split_path_info, LOC, 0, NULL },
    { bw_string("fastcgi_param"), MSL|BW_CONF_TAKE23,
      bw_http_upstream_param_slot, LOC, FOFF(params), NULL },
    { bw_string("fastcgi_keep_conn"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, FOFF(keep_conn), NULL },
    { bw_string("fastcgi_catch_stderr"), MSL|BW_CONF_TAKE1,
      bw_conf_set_str_array_slot, LOC, FOFF(catch_stderr), NULL },

    { bw_string("fastcgi_pass_request_headers"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, UOFF(pass_request_headers), NULL },
    { bw_string("fastcgi_pass_request_body"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, UOFF(pass_request_body), NULL },
    { bw_string("fastcgi_hide_header"), MSL|BW_CONF_TAKE1,
      bw_conf_set_str_array_slot, LOC, UOFF(hide_headers), NULL },
    { bw_string("fastcgi_pass_header"), MSL|BW_CONF_TAKE1,
      bw_conf_set_str_array_slot, LOC, UOFF(pass_headers), NULL },
    { bw_string("fastcgi_ignore_headers"), MSL|BW_CONF_1MORE,
      bw_conf_set_bitmask_slot, LOC, UOFF(ignore_headers),
      bw_http_upstream_ignore_headers_masks },
    { bw_string("fastcgi_intercept_errors"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, UOFF(intercept_errors), NULL },
    { bw_string("fastcgi_ignore_client_abort"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, UOFF(ignore_client_abort), NULL },
    { bw_string("fastcgi_limit_rate"), MSL|BW_CONF_TAKE1,
      bw_http_upstream_limit_rate_slot, LOC, UOFF(limit_rate), NULL },
    { bw_string("fastcgi_force_ranges"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, UOFF(force_ranges), NULL },
    { bw_string("fastcgi_socket_keepalive"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, UOFF(socket_keepalive), NULL },
    { bw_string("fastcgi_send_lowat"), MSL|BW_CONF_TAKE1,
      bw_http_upstream_send_lowat_slot, LOC, 0, NULL },
    { bw_string("fastcgi_bind"), MSL|BW_CONF_TAKE12,
      bw_http_upstream_bind_set_slot, LOC, UOFF(local), NULL },

    { bw_string("fastcgi_connect_timeout"), MSL|BW_CONF_TAKE1,
      bw_conf_set_msec_slot, LOC, UOFF(connect_timeout), NULL },
    { bw_string("fastcgi_send_timeout"), MSL|BW_CONF_TAKE1,
      bw_conf_set_msec_slot, LOC, UOFF(send_timeout), NULL },
    { bw_string("fastcgi_read_timeout"), MSL|BW_CONF_TAKE1,
      bw_conf_set_msec_slot, LOC, UOFF(read_timeout), NULL },

    { bw_string("fastcgi_buffering"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, UOFF(buffering), NULL },
    { bw_string("fastcgi_request_buffering"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, UOFF(request_buffering), NULL },
    { bw_string("fastcgi_buffer_size"), MSL|BW_CONF_TAKE1,
      bw_conf_set_size_slot, LOC, UOFF(buffer_size), NULL },
    { bw_string("fastcgi_buffers"), MSL|BW_CONF_TAKE2,
      bw_http_upstream_buffers_slot, LOC, UOFF(bufs), NULL },
    { bw_string("fastcgi_busy_buffers_size"), MSL|BW_CONF_TAKE1,
      bw_conf_set_size_slot, LOC, UOFF(busy_buffers_size_conf), NULL },
    { bw_string("fastcgi_max_temp_file_size"), MSL|BW_CONF_TAKE1,
      bw_conf_set_size_slot, LOC, UOFF(max_temp_file_size_conf), NULL },
    { bw_string("fastcgi_temp_file_write_size"), MSL|BW_CONF_TAKE1,
      bw_conf_set_size_slot, LOC, UOFF(temp_file_write_size_conf), NULL },
    { bw_string("fastcgi_temp_path"), MSL|BW_CONF_TAKE1234,
      bw_conf_set_path_slot, LOC, UOFF(temp_path), NULL },

    { bw_string("fastcgi_next_upstream"), MSL|BW_CONF_1MORE,
      bw_conf_set_bitmask_slot, LOC, UOFF(next_upstream),
      bw_http_upstream_next_upstream_masks },
    { bw_string("fastcgi_next_upstream_tries"), MSL|BW_CONF_TAKE1,
      bw_conf_set_num_slot, LOC, UOFF(next_upstream_tries), NULL },
    { bw_string("fastcgi_next_upstream_timeout"), MSL|BW_CONF_TAKE1,
      bw_conf_set_msec_slot, LOC, UOFF(next_upstream_timeout), NULL },

#if (BW_HTTP_CACHE_MODULE)
    { bw_string("fastcgi_cache_path"), BW_HTTP_MAIN_CONF|BW_CONF_2MORE,
      bw_http_cache_path_slot, 0, 0, &bw_http_fastcgi_module },
    { bw_string("fastcgi_cache"), MSL|BW_CONF_TAKE1,
      bw_http_cache_slot, LOC, FOFF(cache), &bw_http_fastcgi_module },
    { bw_string("fastcgi_cache_key"), MSL|BW_CONF_TAKE1,
      bw_http_cache_key_slot, LOC, FOFF(cache), NULL },
    { bw_string("fastcgi_cache_valid"), MSL|BW_CONF_1MORE,
      bw_http_cache_valid_slot, LOC, FOFF(cache), NULL },
    { bw_string("fastcgi_cache_methods"), MSL|BW_CONF_1MORE,
      bw_http_cache_methods_slot, LOC, FOFF(cache), NULL },
    { bw_string("fastcgi_cache_min_uses"), MSL|BW_CONF_TAKE1,
      bw_conf_set_num_slot, LOC, FOFF(cache.min_uses), NULL },
    { bw_string("fastcgi_cache_bypass"), MSL|BW_CONF_1MORE,
      bw_http_cache_predicates_slot, LOC, FOFF(cache.bypass), NULL },
    { bw_string("fastcgi_no_cache"), MSL|BW_CONF_1MORE,
      bw_http_cache_predicates_slot, LOC, FOFF(cache.no_cache), NULL },
    { bw_string("fastcgi_cache_max_range_offset"), MSL|BW_CONF_TAKE1,
      bw_conf_set_off_slot, LOC, FOFF(cache.max_range_offset), NULL },
    { bw_string("fastcgi_cache_use_stale"), MSL|BW_CONF_1MORE,
      bw_conf_set_bitmask_slot, LOC, FOFF(cache.use_stale),
      bw_http_cache_use_stale_masks },
    { bw_string("fastcgi_cache_background_update"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, FOFF(cache.background_update), NULL },
    { bw_string("fastcgi_cache_revalidate"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, FOFF(cache.revalidate), NULL },
    { bw_string("fastcgi_cache_lock"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, FOFF(cache.lock), NULL },
    { bw_string("fastcgi_cache_lock_timeout"), MSL|BW_CONF_TAKE1,
      bw_conf_set_msec_slot, LOC, FOFF(cache.lock_timeout), NULL },
    { bw_string("fastcgi_cache_lock_age"), MSL|BW_CONF_TAKE1,
      bw_conf_set_msec_slot, LOC, FOFF(cache.lock_age), NULL },
    { bw_string("fastcgi_cache_purge"), MSL|BW_CONF_1MORE,
      bw_http_cache_predicates_slot, LOC, FOFF(cache.purge), NULL },
#endif

    bw_null_command
};

static bw_http_module_t  bw_http_fastcgi_module_ctx = {
    bw_http_fastcgi_add_variables,
    NULL,
    NULL, NULL,
    NULL, NULL,
    bw_http_fastcgi_create_loc_conf,
    bw_http_fastcgi_merge_loc_conf
};

bw_module_t  bw_http_fastcgi_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_fastcgi_module_ctx,
    bw_http_fastcgi_commands, NULL, NULL, NULL, NULL
};

/* --- the content handler ------------------------------------------------ */

static bw_int_t
bw_http_fastcgi_handler(bw_http_request_t *r)
{
    bw_int_t                     rc;
    bw_http_upstream_t          *u;
    bw_http_fastcgi_ctx_t       *ctx;
    bw_http_fastcgi_loc_conf_t  *flcf;

    if (bw_http_upstream_create(r) != BW_OK) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* $fastcgi_script_name may have made it already */
    ctx = bw_http_get_module_ctx(r, bw_http_fastcgi_module);
    if (ctx == NULL) {
        ctx = bw_pcalloc(r->pool, sizeof(bw_http_fastcgi_ctx_t));
        if (ctx == NULL) {
            return BW_HTTP_INTERNAL_SERVER_ERROR;
        }
        bw_http_set_ctx(r, ctx, bw_http_fastcgi_module);
    }

    flcf = bw_http_get_module_loc_conf(r, bw_http_fastcgi_module);
    u = r->upstream;

    rc = bw_http_upstream_pass_target(r, flcf->upstream.upstream,
                                      flcf->url_cv);
    if (rc != BW_OK) {
        return rc;
    }

    bw_str_set(&u->schema, "fastcgi://");
    u->conf = &flcf->upstream;
    u->create_request = bw_http_fastcgi_create_request;
    u->reinit_request = bw_http_fastcgi_reinit_request;
    u->process_header = bw_http_fastcgi_process_header;
    u->input_filter_init = bw_http_fastcgi_input_filter_init;
    u->input_filter = bw_http_fastcgi_input_filter;

    /* a chunked body is read whole all the same: CONTENT_LENGTH must be
     * known before the body goes (as nginx) */
    if (!flcf->upstream.request_buffering && flcf->upstream.pass_request_body
        && !r->headers_in.chunked)
    {
        r->request_body_no_buffering = 1;
        u->stream_frame = bw_http_fastcgi_stream_frame;
    }

    rc = bw_http_read_client_request_body(r, bw_http_upstream_init);

    if (rc >= BW_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return BW_DONE;
}

/* --- variables ---------------------------------------------------------- */

static bw_int_t
bw_http_fastcgi_split_variable(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    bw_str_t                    *s;
    bw_http_fastcgi_ctx_t       *ctx;
    bw_http_fastcgi_loc_conf_t  *flcf;

    flcf = bw_http_get_module_loc_conf(r, bw_http_fastcgi_module);

    ctx = bw_http_fastcgi_split(r, flcf);
    if (ctx == NULL) {
        return BW_ERROR;
    }

    s = data ? &ctx->path_info : &ctx->script_name;

    v->data = s->data;
    v->len = s->len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return BW_OK;
}

static bw_http_variable_t  bw_http_fastcgi_vars[] = {
    { bw_string("fastcgi_script_name"), NULL,
      bw_http_fastcgi_split_variable, 0,
      BW_HTTP_VAR_NOCACHEABLE|BW_HTTP_VAR_NOHASH, 0 },
    { bw_string("fastcgi_path_info"), NULL,
      bw_http_fastcgi_split_variable, 1,
      BW_HTTP_VAR_NOCACHEABLE|BW_HTTP_VAR_NOHASH, 0 },
    bw_http_null_variable
};

static bw_int_t
bw_http_fastcgi_add_variables(bw_conf_t *cf)
{
    return bw_http_add_variables(cf, bw_http_fastcgi_vars);
}

/* --- configuration ------------------------------------------------------ */

static void *
bw_http_fastcgi_create_loc_conf(bw_conf_t *cf)
{
    bw_http_fastcgi_loc_conf_t  *conf;

    conf = bw_pcalloc(cf->pool, sizeof(bw_http_fastcgi_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    bw_http_upstream_conf_init(&conf->upstream);

    bw_http_upstream_params_init(&conf->params);
    conf->catch_stderr = BW_CONF_UNSET_PTR;
    conf->keep_conn = BW_CONF_UNSET;

#if (BW_HTTP_CACHE_MODULE)
    bw_http_cache_create_conf(&conf->cache);
    /* nginx has no fastcgi_cache_convert_head: a HEAD goes as HEAD */
    conf->cache.convert_head = 0;
#endif

    return conf;
}

static char *
bw_http_fastcgi_merge_loc_conf(bw_conf_t *cf, void *parent, void *child)
{
    bw_http_fastcgi_loc_conf_t  *prev = parent;
    bw_http_fastcgi_loc_conf_t  *conf = child;

    char  *rv;

    rv = bw_http_upstream_conf_merge(cf, &conf->upstream, &prev->upstream,
                                     &bw_http_fastcgi_conf_names);
    if (rv != BW_CONF_OK) {
        return rv;
    }

    bw_conf_merge_str_value(conf->index, prev->index, "");
    bw_conf_merge_ptr_value(conf->catch_stderr, prev->catch_stderr, NULL);
    bw_conf_merge_value(conf->keep_conn, prev->keep_conn, 0);

    if (conf->split_regex == NULL) {
        conf->split_regex = prev->split_regex;
        conf->split_name = prev->split_name;
    }

    if (conf->upstream.upstream == NULL && conf->url_cv == NULL) {
        conf->upstream.upstream = prev->upstream.upstream;
        conf->url_cv = prev->url_cv;
    }

    /* as nginx: one fastcgi_param in a location drops all of the
     * server's */
    if (bw_http_upstream_params_merge(cf, &conf->params, &prev->params)
        != BW_OK)
    {
        return BW_CONF_ERROR;
    }

#if (BW_HTTP_CACHE_MODULE)
    rv = bw_http_cache_merge_gateway(cf, &conf->cache, &prev->cache,
                                     &conf->upstream, "fastcgi");
    if (rv != BW_CONF_OK) {
        return rv;
    }
#endif

    return BW_CONF_OK;
}

static char *
bw_http_fastcgi_pass(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_fastcgi_loc_conf_t *flcf = conf;

    bw_str_t  *value;

    value = cf->args->elts;

    return bw_http_upstream_pass_set(cf, bw_http_fastcgi_handler, &value[1],
                                     &flcf->upstream.upstream, &flcf->url_cv);
}

static char *
bw_http_fastcgi_split_path_info(bw_conf_t *cf, bw_command_t *cmd,
    void *conf)
{
    bw_http_fastcgi_loc_conf_t *flcf = conf;

    bw_str_t            *value;
    bw_regex_compile_t   rc;

    if (flcf->split_regex) {
        return "is duplicate";
    }

    value = cf->args->elts;

    bw_memzero(&rc, sizeof(bw_regex_compile_t));
    rc.pattern = value[1];
    rc.pool = cf->pool;

    if (bw_regex_compile(&rc) != BW_OK) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "%.*s", (int) rc.err.len,
                          rc.err.data);
        return BW_CONF_ERROR;
    }

    if (rc.regex->captures != 2) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "pattern \"%s\" must have 2 captures",
                          value[1].data);
        return BW_CONF_ERROR;
    }

    flcf->split_regex = rc.regex;
    flcf->split_name = value[1];

    return BW_CONF_OK;
}
