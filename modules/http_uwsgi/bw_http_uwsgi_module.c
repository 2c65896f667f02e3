/*
 * uwsgi_pass: requests to uWSGI application servers in their binary
 * protocol, through the upstream framework, with nginx's directives.
 * This file holds the directives, their merge and the content handler;
 * the packet is built in bw_http_uwsgi_request.c, and the answer read by
 * the framework (HTTP/1.x or CGI-style).
 */

#include <bw_http_uwsgi.h>

static bw_int_t bw_http_uwsgi_handler(bw_http_request_t *r);
static void *bw_http_uwsgi_create_loc_conf(bw_conf_t *cf);
static char *bw_http_uwsgi_merge_loc_conf(bw_conf_t *cf, void *parent,
    void *child);
static char *bw_http_uwsgi_pass(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_uwsgi_modifier(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);

/* Response headers the client never sees by default: nginx's list for
 * uwsgi, the ones addressed to the server itself */
static bw_str_t  bw_http_uwsgi_hide_headers[] = {
    bw_string("X-Accel-Expires"),
    bw_string("X-Accel-Redirect"),
    bw_string("X-Accel-Limit-Rate"),
    bw_string("X-Accel-Buffering"),
    bw_string("X-Accel-Charset"),
    bw_null_string
};

static const bw_http_upstream_conf_names_t  bw_http_uwsgi_conf_names = {
    "uwsgi", BW_HTTP_UWSGI_TEMP_PATH, bw_http_uwsgi_hide_headers
};

#define LOC   BW_HTTP_LOC_CONF_OFFSET
#define MSL   (BW_HTTP_MAIN_CONF|BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF)
#define UOFF(f)  offsetof(bw_http_uwsgi_loc_conf_t, upstream.f)
#define WOFF(f)  offsetof(bw_http_uwsgi_loc_conf_t, f)

static bw_command_t  bw_http_uwsgi_commands[] = {

    { bw_string("uwsgi_pass"),
      BW_HTTP_LOC_CONF|BW_HTTP_LIF_CONF|BW_CONF_TAKE1,
      bw_http_uwsgi_pass, LOC, 0, NULL },
    { bw_string("uwsgi_param"), MSL|BW_CONF_TAKE23,
      bw_http_upstream_param_slot, LOC, WOFF(params), NULL },
    { bw_string("uwsgi_modifier1"), MSL|BW_CONF_TAKE1,
      bw_http_uwsgi_modifier, LOC, WOFF(modifier1), NULL },
    { bw_string("uwsgi_modifier2"), MSL|BW_CONF_TAKE1,
      bw_http_uwsgi_modifier, LOC, WOFF(modifier2), NULL },

    { bw_string("uwsgi_pass_request_headers"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, UOFF(pass_request_headers), NULL },
    { bw_string("uwsgi_pass_request_body"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, UOFF(pass_request_body), NULL },
    { bw_string("uwsgi_hide_header"), MSL|BW_CONF_TAKE1,
      bw_conf_set_str_array_slot, LOC, UOFF(hide_headers), NULL },
    { bw_string("uwsgi_pass_header"), MSL|BW_CONF_TAKE1,
      bw_conf_set_str_array_slot, LOC, UOFF(pass_headers), NULL },
    { bw_string("uwsgi_ignore_headers"), MSL|BW_CONF_1MORE,
      bw_conf_set_bitmask_slot, LOC, UOFF(ignore_headers),
      bw_http_upstream_ignore_headers_masks },
    { bw_string("uwsgi_intercept_errors"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, UOFF(intercept_errors), NULL },
    { bw_string("uwsgi_ignore_client_abort"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, UOFF(ignore_client_abort), NULL },
    { bw_string("uwsgi_limit_rate"), MSL|BW_CONF_TAKE1,
      bw_http_upstream_limit_rate_slot, LOC, UOFF(limit_rate), NULL },
    { bw_string("uwsgi_force_ranges"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, UOFF(force_ranges), NULL },
    { bw_string("uwsgi_socket_keepalive"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, UOFF(socket_keepalive), NULL },
    { bw_string("uwsgi_send_lowat"), MSL|BW_CONF_TAKE1,
      bw_http_upstream_send_lowat_slot, LOC, 0, NULL },
    { bw_string("uwsgi_bind"), MSL|BW_CONF_TAKE12,
      bw_http_upstream_bind_set_slot, LOC, UOFF(local), NULL },

    { bw_string("uwsgi_connect_timeout"), MSL|BW_CONF_TAKE1,
      bw_conf_set_msec_slot, LOC, UOFF(connect_timeout), NULL },
    { bw_string("uwsgi_send_timeout"), MSL|BW_CONF_TAKE1,
      bw_conf_set_msec_slot, LOC, UOFF(send_timeout), NULL },
    { bw_string("uwsgi_read_timeout"), MSL|BW_CONF_TAKE1,
      bw_conf_set_msec_slot, LOC, UOFF(read_timeout), NULL },

    { bw_string("uwsgi_buffering"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, UOFF(buffering), NULL },
    { bw_string("uwsgi_request_buffering"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, UOFF(request_buffering), NULL },
    { bw_string("uwsgi_buffer_size"), MSL|BW_CONF_TAKE1,
      bw_conf_set_size_slot, LOC, UOFF(buffer_size), NULL },
    { bw_string("uwsgi_buffers"), MSL|BW_CONF_TAKE2,
      bw_http_upstream_buffers_slot, LOC, UOFF(bufs), NULL },
    { bw_string("uwsgi_busy_buffers_size"), MSL|BW_CONF_TAKE1,
      bw_conf_set_size_slot, LOC, UOFF(busy_buffers_size_conf), NULL },
    { bw_string("uwsgi_max_temp_file_size"), MSL|BW_CONF_TAKE1,
      bw_conf_set_size_slot, LOC, UOFF(max_temp_file_size_conf), NULL },
    { bw_string("uwsgi_temp_file_write_size"), MSL|BW_CONF_TAKE1,
      bw_conf_set_size_slot, LOC, UOFF(temp_file_write_size_conf), NULL },
    { bw_string("uwsgi_temp_path"), MSL|BW_CONF_TAKE1234,
      bw_conf_set_path_slot, LOC, UOFF(temp_path), NULL },

    { bw_string("uwsgi_next_upstream"), MSL|BW_CONF_1MORE,
      bw_conf_set_bitmask_slot, LOC, UOFF(next_upstream),
      bw_http_upstream_next_upstream_masks },
    { bw_string("uwsgi_next_upstream_tries"), MSL|BW_CONF_TAKE1,
      bw_conf_set_num_slot, LOC, UOFF(next_upstream_tries), NULL },
    { bw_string("uwsgi_next_upstream_timeout"), MSL|BW_CONF_TAKE1,
      bw_conf_set_msec_slot, LOC, UOFF(next_upstream_timeout), NULL },

#if (BW_HTTP_CACHE_MODULE)
    { bw_string("uwsgi_cache_path"), BW_HTTP_MAIN_CONF|BW_CONF_2MORE,
      bw_http_cache_path_slot, 0, 0, &bw_http_uwsgi_module },
    { bw_string("uwsgi_cache"), MSL|BW_CONF_TAKE1,
      bw_http_cache_slot, LOC, WOFF(cache), &bw_http_uwsgi_module },
    { bw_string("uwsgi_cache_key"), MSL|BW_CONF_TAKE1,
      bw_http_cache_key_slot, LOC, WOFF(cache), NULL },
    { bw_string("uwsgi_cache_valid"), MSL|BW_CONF_1MORE,
      bw_http_cache_valid_slot, LOC, WOFF(cache), NULL },
    { bw_string("uwsgi_cache_methods"), MSL|BW_CONF_1MORE,
      bw_http_cache_methods_slot, LOC, WOFF(cache), NULL },
    { bw_string("uwsgi_cache_min_uses"), MSL|BW_CONF_TAKE1,
      bw_conf_set_num_slot, LOC, WOFF(cache.min_uses), NULL },
    { bw_string("uwsgi_cache_bypass"), MSL|BW_CONF_1MORE,
      bw_http_cache_predicates_slot, LOC, WOFF(cache.bypass), NULL },
    { bw_string("uwsgi_no_cache"), MSL|BW_CONF_1MORE,
      bw_http_cache_predicates_slot, LOC, WOFF(cache.no_cache), NULL },
    { bw_string("uwsgi_cache_max_range_offset"), MSL|BW_CONF_TAKE1,
      bw_conf_set_off_slot, LOC, WOFF(cache.max_range_offset), NULL },
    { bw_string("uwsgi_cache_use_stale"), MSL|BW_CONF_1MORE,
      bw_conf_set_bitmask_slot, LOC, WOFF(cache.use_stale),
      bw_http_cache_use_stale_masks },
    { bw_string("uwsgi_cache_background_update"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, WOFF(cache.background_update), NULL },
    { bw_string("uwsgi_cache_revalidate"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, WOFF(cache.revalidate), NULL },
    { bw_string("uwsgi_cache_lock"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, WOFF(cache.lock), NULL },
    { bw_string("uwsgi_cache_lock_timeout"), MSL|BW_CONF_TAKE1,
      bw_conf_set_msec_slot, LOC, WOFF(cache.lock_timeout), NULL },
    { bw_string("uwsgi_cache_lock_age"), MSL|BW_CONF_TAKE1,
      bw_conf_set_msec_slot, LOC, WOFF(cache.lock_age), NULL },
    { bw_string("uwsgi_cache_purge"), MSL|BW_CONF_1MORE,
      bw_http_cache_predicates_slot, LOC, WOFF(cache.purge), NULL },
#endif

    bw_null_command
};

static bw_http_module_t  bw_http_uwsgi_module_ctx = {
    NULL,
    NULL,
    NULL, NULL,
    NULL, NULL,
    bw_http_uwsgi_create_loc_conf,
    bw_http_uwsgi_merge_loc_conf
};

bw_module_t  bw_http_uwsgi_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_uwsgi_module_ctx,
    bw_http_uwsgi_commands, NULL, NULL, NULL, NULL
};

/* --- the content handler ------------------------------------------------ */

/*
 * "uwsgi://" may name the protocol, as nginx allows; "suwsgi://" (TLS)
 * is not supported yet. 1 when the scheme was stripped or absent, 0 for
 * suwsgi.
 */
static bw_uint_t
bw_http_uwsgi_strip_scheme(bw_str_t *url)
{
    if (url->len > 8
        && bw_strncasecmp(url->data, (u_char *) "uwsgi://", 8) == 0)
    {
        url->data += 8;
        url->len -= 8;
        return 1;
    }

    if (url->len > 9
        && bw_strncasecmp(url->data, (u_char *) "suwsgi://", 9) == 0)
    {
        return 0;
    }

    return 1;
}

static bw_int_t
bw_http_uwsgi_handler(bw_http_request_t *r)
{
    bw_int_t                   rc;
    bw_str_t                   url;
    bw_http_upstream_t        *u;
    bw_http_uwsgi_ctx_t       *ctx;
    bw_http_uwsgi_loc_conf_t  *uwcf;

    if (bw_http_upstream_create(r) != BW_OK) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx = bw_pcalloc(r->pool, sizeof(bw_http_uwsgi_ctx_t));
    if (ctx == NULL) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }
    bw_http_set_ctx(r, ctx, bw_http_uwsgi_module);

    uwcf = bw_http_get_module_loc_conf(r, bw_http_uwsgi_module);
    u = r->upstream;

    if (uwcf->url_cv) {
        if (bw_http_complex_value(r, uwcf->url_cv, &url) != BW_OK) {
            return BW_HTTP_INTERNAL_SERVER_ERROR;
        }
        if (!bw_http_uwsgi_strip_scheme(&url)) {
            bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                         "suwsgi protocol is not supported in upstream "
                         "\"%.*s\"", (int) url.len, url.data);
            return BW_HTTP_INTERNAL_SERVER_ERROR;
        }
        rc = bw_http_upstream_pass_eval(r, &url);
        if (rc != BW_OK) {
            return rc;
        }

    } else {
        u->upstream = uwcf->upstream.upstream;
    }

    bw_str_set(&u->schema, "uwsgi://");
    u->conf = &uwcf->upstream;
    u->create_request = bw_http_uwsgi_create_request;
    u->reinit_request = bw_http_uwsgi_reinit_request;
    u->process_header = bw_http_uwsgi_process_header;
    u->input_filter_init = bw_http_upstream_gateway_filter_init;
    u->input_filter = bw_http_upstream_length_filter;

    /* the body as it comes, after the header that gives its length; a
     * chunked one is read whole first (its length goes before it) */
    if (!uwcf->upstream.request_buffering && uwcf->upstream.pass_request_body
        && !r->headers_in.chunked)
    {
        r->request_body_no_buffering = 1;
    }

    rc = bw_http_read_client_request_body(r, bw_http_upstream_init);

    if (rc >= BW_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return BW_DONE;
}

/* --- configuration ------------------------------------------------------ */

static void *
bw_http_uwsgi_create_loc_conf(bw_conf_t *cf)
{
    bw_http_uwsgi_loc_conf_t  *conf;

    conf = bw_pcalloc(cf->pool, sizeof(bw_http_uwsgi_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    bw_http_upstream_conf_init(&conf->upstream);

    bw_http_upstream_params_init(&conf->params);

#if (BW_HTTP_CACHE_MODULE)
    bw_http_cache_create_conf(&conf->cache);
    /* as nginx: only proxy_cache turns a HEAD into a GET */
    conf->cache.convert_head = 0;
#endif
    conf->modifier1 = BW_CONF_UNSET;
    conf->modifier2 = BW_CONF_UNSET;

    return conf;
}

static char *
bw_http_uwsgi_merge_loc_conf(bw_conf_t *cf, void *parent, void *child)
{
    bw_http_uwsgi_loc_conf_t  *prev = parent;
    bw_http_uwsgi_loc_conf_t  *conf = child;

    char  *rv;

    rv = bw_http_upstream_conf_merge(cf, &conf->upstream, &prev->upstream,
                                     &bw_http_uwsgi_conf_names);
    if (rv != BW_CONF_OK) {
        return rv;
    }

    bw_conf_merge_value(conf->modifier1, prev->modifier1, 0);
    bw_conf_merge_value(conf->modifier2, prev->modifier2, 0);

    if (conf->upstream.upstream == NULL && conf->url_cv == NULL) {
        conf->upstream.upstream = prev->upstream.upstream;
        conf->url_cv = prev->url_cv;
    }

    /* as nginx: one uwsgi_param in a location drops all of the
     * server's */
    if (bw_http_upstream_params_merge(cf, &conf->params, &prev->params)
        != BW_OK)
    {
        return BW_CONF_ERROR;
    }

#if (BW_HTTP_CACHE_MODULE)
    rv = bw_http_cache_merge_gateway(cf, &conf->cache, &prev->cache,
                                     &conf->upstream, "uwsgi");
    if (rv != BW_CONF_OK) {
        return rv;
    }
#endif

    return BW_CONF_OK;
}

static char *
bw_http_uwsgi_pass(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_uwsgi_loc_conf_t *uwcf = conf;

    bw_str_t  *value, url;

    value = cf->args->elts;
    url = value[1];

    if (!bw_http_script_variables_count(&url)
        && !bw_http_uwsgi_strip_scheme(&url))
    {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "suwsgi protocol is not supported");
        return BW_CONF_ERROR;
    }

    return bw_http_upstream_pass_set(cf, bw_http_uwsgi_handler, &url,
                                     &uwcf->upstream.upstream,
                                     &uwcf->url_cv);
}

/* uwsgi_modifier1, uwsgi_modifier2: one byte of the packet header each */
static char *
bw_http_uwsgi_modifier(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    char      *rv;
    bw_int_t  *np;

    rv = bw_conf_set_num_slot(cf, cmd, conf);
    if (rv != BW_CONF_OK) {
        return rv;
    }

    np = (bw_int_t *) ((char *) conf + cmd->offset);

    if (*np < 0 || *np > 255) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "value must be between 0 and 255");
        return BW_CONF_ERROR;
    }

    return BW_CONF_OK;
}
