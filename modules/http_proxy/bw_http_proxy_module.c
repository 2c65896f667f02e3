/*
 * proxy_pass and its directives, with nginx's names, defaults and
 * inheritance, and the content handler that hands a request to the
 * upstream framework. The HTTP/1.x conversation itself is in
 * bw_http_proxy_request.c.
 */

#include <bw_http_proxy.h>

static bw_int_t bw_http_proxy_handler(bw_http_request_t *r);
static bw_int_t bw_http_proxy_eval_unix(bw_http_request_t *r,
    bw_http_proxy_ctx_t *ctx, u_char *p, u_char *last);
static bw_int_t bw_http_proxy_eval(bw_http_request_t *r,
    bw_http_proxy_ctx_t *ctx, bw_http_proxy_loc_conf_t *plcf);
static bw_int_t bw_http_proxy_add_variables(bw_conf_t *cf);
static void *bw_http_proxy_create_loc_conf(bw_conf_t *cf);
static char *bw_http_proxy_merge_loc_conf(bw_conf_t *cf, void *parent,
    void *child);
static char *bw_http_proxy_pass(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_proxy_set_header(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_proxy_redirect(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static bw_int_t bw_http_proxy_default_redirect(bw_conf_t *cf,
    bw_http_proxy_loc_conf_t *conf);
static char *bw_http_proxy_cookie(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);

static bw_conf_enum_t  bw_http_proxy_http_version[] = {
    { bw_string("1.0"), BW_HTTP_VERSION_10 },
    { bw_string("1.1"), BW_HTTP_VERSION_11 },
    { bw_null_string, 0 }
};

/* Upstream response headers the client never sees by default. */
static bw_str_t  bw_http_proxy_hide_headers[] = {
    bw_string("Date"),
    bw_string("Server"),
    bw_string("X-Pad"),
    bw_string("X-Accel-Expires"),
    bw_string("X-Accel-Redirect"),
    bw_string("X-Accel-Limit-Rate"),
    bw_string("X-Accel-Buffering"),
    bw_string("X-Accel-Charset"),
    bw_null_string
};

/* The headers nginx sets (or removes) for every proxied request. */
static bw_keyval_t  bw_http_proxy_default_headers[] = {
    { bw_string("Host"), bw_string("$proxy_host") },
    { bw_string("Connection"), bw_string("close") },
    { bw_string("Content-Length"), bw_string("") },
    { bw_string("Transfer-Encoding"), bw_string("") },
    { bw_string("TE"), bw_string("") },
    { bw_string("Keep-Alive"), bw_string("") },
    { bw_string("Expect"), bw_string("") },
    { bw_string("Upgrade"), bw_string("") },
    { bw_null_string, bw_null_string }
};

static const bw_http_upstream_conf_names_t  bw_http_proxy_conf_names = {
    "proxy", BW_HTTP_PROXY_TEMP_PATH, bw_http_proxy_hide_headers
};

#if (BW_HTTP_CACHE_MODULE)

/* With a cache the upstream is asked for the whole response: what the
 * client's conditionals and ranges want is cut from it here. */
static bw_keyval_t  bw_http_proxy_cache_headers[] = {
    { bw_string("Host"), bw_string("$proxy_host") },
    { bw_string("Connection"), bw_string("close") },
    { bw_string("Content-Length"), bw_string("") },
    { bw_string("Transfer-Encoding"), bw_string("") },
    { bw_string("TE"), bw_string("") },
    { bw_string("Keep-Alive"), bw_string("") },
    { bw_string("Expect"), bw_string("") },
    { bw_string("Upgrade"), bw_string("") },
    { bw_string("If-Modified-Since"),
      bw_string("$upstream_cache_last_modified") },
    { bw_string("If-Unmodified-Since"), bw_string("") },
    { bw_string("If-None-Match"), bw_string("$upstream_cache_etag") },
    { bw_string("If-Match"), bw_string("") },
    { bw_string("Range"), bw_string("") },
    { bw_string("If-Range"), bw_string("") },
    { bw_null_string, bw_null_string }
};


#endif

#define LOC   BW_HTTP_LOC_CONF_OFFSET
#define MSL   (BW_HTTP_MAIN_CONF|BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF)
#define UOFF(f)  offsetof(bw_http_proxy_loc_conf_t, upstream.f)
#define POFF(f)  offsetof(bw_http_proxy_loc_conf_t, f)

static bw_command_t  bw_http_proxy_commands[] = {

    { bw_string("proxy_pass"),
      BW_HTTP_LOC_CONF|BW_HTTP_LIF_CONF|BW_HTTP_LMT_CONF|BW_CONF_TAKE1,
      bw_http_proxy_pass, LOC, 0, NULL },
    { bw_string("proxy_set_header"), MSL|BW_CONF_TAKE2,
      bw_http_proxy_set_header, LOC, 0, NULL },
    { bw_string("proxy_http_version"), MSL|BW_CONF_TAKE1,
      bw_conf_set_enum_slot, LOC, POFF(http_version),
      bw_http_proxy_http_version },
    { bw_string("proxy_redirect"), MSL|BW_CONF_TAKE12,
      bw_http_proxy_redirect, LOC, 0, NULL },
    { bw_string("proxy_method"), MSL|BW_CONF_TAKE1,
      bw_http_upstream_complex_slot, LOC, POFF(method), NULL },
    { bw_string("proxy_set_body"), MSL|BW_CONF_TAKE1,
      bw_http_upstream_complex_slot, LOC, POFF(body_set), NULL },

    { bw_string("proxy_pass_request_headers"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, UOFF(pass_request_headers), NULL },
    { bw_string("proxy_pass_request_body"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, UOFF(pass_request_body), NULL },
    { bw_string("proxy_hide_header"), MSL|BW_CONF_TAKE1,
      bw_conf_set_str_array_slot, LOC, UOFF(hide_headers), NULL },
    { bw_string("proxy_pass_header"), MSL|BW_CONF_TAKE1,
      bw_conf_set_str_array_slot, LOC, UOFF(pass_headers), NULL },
    { bw_string("proxy_ignore_headers"), MSL|BW_CONF_1MORE,
      bw_conf_set_bitmask_slot, LOC, UOFF(ignore_headers),
      bw_http_upstream_ignore_headers_masks },
    { bw_string("proxy_intercept_errors"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, UOFF(intercept_errors), NULL },
    { bw_string("proxy_ignore_client_abort"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, UOFF(ignore_client_abort), NULL },
    { bw_string("proxy_protocol"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, UOFF(proxy_protocol), NULL },
    { bw_string("proxy_limit_rate"), MSL|BW_CONF_TAKE1,
      bw_http_upstream_limit_rate_slot, LOC, UOFF(limit_rate), NULL },
    { bw_string("proxy_force_ranges"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, UOFF(force_ranges), NULL },
    { bw_string("proxy_socket_keepalive"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, UOFF(socket_keepalive), NULL },
    { bw_string("proxy_send_lowat"), MSL|BW_CONF_TAKE1,
      bw_http_upstream_send_lowat_slot, LOC, 0, NULL },
    { bw_string("proxy_bind"), MSL|BW_CONF_TAKE12,
      bw_http_upstream_bind_set_slot, LOC, UOFF(local), NULL },

    { bw_string("proxy_connect_timeout"), MSL|BW_CONF_TAKE1,
      bw_conf_set_msec_slot, LOC, UOFF(connect_timeout), NULL },
    { bw_string("proxy_send_timeout"), MSL|BW_CONF_TAKE1,
      bw_conf_set_msec_slot, LOC, UOFF(send_timeout), NULL },
    { bw_string("proxy_read_timeout"), MSL|BW_CONF_TAKE1,
      bw_conf_set_msec_slot, LOC, UOFF(read_timeout), NULL },

    { bw_string("proxy_buffering"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, UOFF(buffering), NULL },
    { bw_string("proxy_request_buffering"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, UOFF(request_buffering), NULL },
    { bw_string("proxy_buffer_size"), MSL|BW_CONF_TAKE1,
      bw_conf_set_size_slot, LOC, UOFF(buffer_size), NULL },
    { bw_string("proxy_buffers"), MSL|BW_CONF_TAKE2,
      bw_http_upstream_buffers_slot, LOC, UOFF(bufs), NULL },
    { bw_string("proxy_busy_buffers_size"), MSL|BW_CONF_TAKE1,
      bw_conf_set_size_slot, LOC, UOFF(busy_buffers_size_conf), NULL },
    { bw_string("proxy_max_temp_file_size"), MSL|BW_CONF_TAKE1,
      bw_conf_set_size_slot, LOC, UOFF(max_temp_file_size_conf), NULL },
    { bw_string("proxy_temp_file_write_size"), MSL|BW_CONF_TAKE1,
      bw_conf_set_size_slot, LOC, UOFF(temp_file_write_size_conf), NULL },
    { bw_string("proxy_temp_path"), MSL|BW_CONF_TAKE1234,
      bw_conf_set_path_slot, LOC, UOFF(temp_path), NULL },
    { bw_string("proxy_headers_hash_max_size"), MSL|BW_CONF_TAKE1,
      bw_http_upstream_accepted_slot, LOC, 0, NULL },
    { bw_string("proxy_headers_hash_bucket_size"), MSL|BW_CONF_TAKE1,
      bw_http_upstream_accepted_slot, LOC, 0, NULL },

    { bw_string("proxy_next_upstream"), MSL|BW_CONF_1MORE,
      bw_conf_set_bitmask_slot, LOC, UOFF(next_upstream),
      bw_http_upstream_next_upstream_masks },
    { bw_string("proxy_next_upstream_tries"), MSL|BW_CONF_TAKE1,
      bw_conf_set_num_slot, LOC, UOFF(next_upstream_tries), NULL },
    { bw_string("proxy_next_upstream_timeout"), MSL|BW_CONF_TAKE1,
      bw_conf_set_msec_slot, LOC, UOFF(next_upstream_timeout), NULL },

#if (BW_HTTP_CACHE_MODULE)
    { bw_string("proxy_cache_path"), BW_HTTP_MAIN_CONF|BW_CONF_2MORE,
      bw_http_cache_path_slot, 0, 0, &bw_http_proxy_module },
    { bw_string("proxy_cache"), MSL|BW_CONF_TAKE1,
      bw_http_cache_slot, LOC, POFF(cache), &bw_http_proxy_module },
    { bw_string("proxy_cache_key"), MSL|BW_CONF_TAKE1,
      bw_http_cache_key_slot, LOC, POFF(cache), NULL },
    { bw_string("proxy_cache_valid"), MSL|BW_CONF_1MORE,
      bw_http_cache_valid_slot, LOC, POFF(cache), NULL },
    { bw_string("proxy_cache_methods"), MSL|BW_CONF_1MORE,
      bw_http_cache_methods_slot, LOC, POFF(cache), NULL },
    { bw_string("proxy_cache_min_uses"), MSL|BW_CONF_TAKE1,
      bw_conf_set_num_slot, LOC, POFF(cache.min_uses), NULL },
    { bw_string("proxy_cache_bypass"), MSL|BW_CONF_1MORE,
      bw_http_cache_predicates_slot, LOC, POFF(cache.bypass), NULL },
    { bw_string("proxy_no_cache"), MSL|BW_CONF_1MORE,
      bw_http_cache_predicates_slot, LOC, POFF(cache.no_cache), NULL },
    { bw_string("proxy_cache_convert_head"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, POFF(cache.convert_head), NULL },
    { bw_string("proxy_cache_max_range_offset"), MSL|BW_CONF_TAKE1,
      bw_conf_set_off_slot, LOC, POFF(cache.max_range_offset), NULL },
    { bw_string("proxy_cache_use_stale"), MSL|BW_CONF_1MORE,
      bw_conf_set_bitmask_slot, LOC, POFF(cache.use_stale),
      bw_http_cache_use_stale_masks },
    { bw_string("proxy_cache_background_update"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, POFF(cache.background_update), NULL },
    { bw_string("proxy_cache_revalidate"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, POFF(cache.revalidate), NULL },
    { bw_string("proxy_cache_lock"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, POFF(cache.lock), NULL },
    { bw_string("proxy_cache_lock_timeout"), MSL|BW_CONF_TAKE1,
      bw_conf_set_msec_slot, LOC, POFF(cache.lock_timeout), NULL },
    { bw_string("proxy_cache_lock_age"), MSL|BW_CONF_TAKE1,
      bw_conf_set_msec_slot, LOC, POFF(cache.lock_age), NULL },
    { bw_string("proxy_cache_purge"), MSL|BW_CONF_1MORE,
      bw_http_cache_predicates_slot, LOC, POFF(cache.purge), NULL },
#endif

    { bw_string("proxy_cookie_domain"), MSL|BW_CONF_TAKE12,
      bw_http_proxy_cookie, LOC, offsetof(bw_http_proxy_loc_conf_t,
                                          cookie_domains),
      (void *) BW_HTTP_PROXY_REWRITE_DOMAIN },
    { bw_string("proxy_cookie_flags"), MSL|BW_CONF_1MORE,
      bw_http_proxy_cookie_flags, LOC, 0, NULL },
    { bw_string("proxy_cookie_path"), MSL|BW_CONF_TAKE12,
      bw_http_proxy_cookie, LOC, offsetof(bw_http_proxy_loc_conf_t,
                                          cookie_paths),
      (void *) BW_HTTP_PROXY_REWRITE_PREFIX },

    { bw_string("proxy_ssl_protocols"), MSL|BW_CONF_1MORE,
      bw_conf_set_bitmask_slot, LOC, POFF(ssl_protocols),
      bw_ssl_protocol_names },
    { bw_string("proxy_ssl_ciphers"), MSL|BW_CONF_TAKE1,
      bw_conf_set_str_slot, LOC, POFF(ssl_ciphers), NULL },
    { bw_string("proxy_ssl_session_reuse"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, UOFF(ssl_session_reuse), NULL },
    { bw_string("proxy_ssl_server_name"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, UOFF(ssl_server_name), NULL },
    { bw_string("proxy_ssl_name"), MSL|BW_CONF_TAKE1,
      bw_http_proxy_ssl_name, LOC, 0, NULL },
    { bw_string("proxy_ssl_verify"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, UOFF(ssl_verify), NULL },
    { bw_string("proxy_ssl_verify_depth"), MSL|BW_CONF_TAKE1,
      bw_conf_set_num_slot, LOC, POFF(ssl_verify_depth), NULL },
    { bw_string("proxy_ssl_trusted_certificate"), MSL|BW_CONF_TAKE1,
      bw_conf_set_str_slot, LOC, POFF(ssl_trusted_certificate), NULL },
    { bw_string("proxy_ssl_crl"), MSL|BW_CONF_TAKE1,
      bw_conf_set_str_slot, LOC, POFF(ssl_crl), NULL },
    { bw_string("proxy_ssl_certificate"), MSL|BW_CONF_TAKE1,
      bw_http_proxy_ssl_certificate, LOC, POFF(ssl_certificate), NULL },
    { bw_string("proxy_ssl_certificate_key"), MSL|BW_CONF_TAKE1,
      bw_http_proxy_ssl_certificate, LOC, POFF(ssl_certificate_key), NULL },
    { bw_string("proxy_ssl_password_file"), MSL|BW_CONF_TAKE1,
      bw_ssl_password_file_slot, LOC, POFF(ssl_passwords), NULL },
    { bw_string("proxy_ssl_conf_command"), MSL|BW_CONF_TAKE2,
      bw_ssl_conf_command_slot, LOC, POFF(ssl_conf_commands), NULL },

    bw_null_command
};

static bw_http_module_t  bw_http_proxy_module_ctx = {
    bw_http_proxy_add_variables,
    NULL,
    NULL, NULL,
    NULL, NULL,
    bw_http_proxy_create_loc_conf,
    bw_http_proxy_merge_loc_conf
};

bw_module_t  bw_http_proxy_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_proxy_module_ctx,
    bw_http_proxy_commands, NULL, NULL, NULL, NULL
};

/* --- the content handler ------------------------------------------------ */

static bw_int_t
bw_http_proxy_handler(bw_http_request_t *r)
{
    bw_int_t                   rc;
    bw_http_upstream_t        *u;
    bw_http_proxy_ctx_t       *ctx;
    bw_http_proxy_loc_conf_t  *plcf;

    if (bw_http_upstream_create(r) != BW_OK) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx = bw_pcalloc(r->pool, sizeof(bw_http_proxy_ctx_t));
    if (ctx == NULL) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }
    bw_http_set_ctx(r, ctx, bw_http_proxy_module);

    plcf = bw_http_get_module_loc_conf(r, bw_http_proxy_module);
    u = r->upstream;

    if (plcf->url_cv == NULL) {
        ctx->vars = plcf->vars;
        u->schema = plcf->vars.schema;
        u->upstream = plcf->upstream.upstream;
        u->ssl = plcf->https;

    } else {
        rc = bw_http_proxy_eval(r, ctx, plcf);
        if (rc != BW_OK) {
            return rc;
        }
    }

    bw_http_proxy_setup_upstream(r, plcf);

    /* a chunked body can go on unbuffered only as chunked, in HTTP/1.1
     * (nginx buffers it otherwise, and so do we) */
    if (!plcf->upstream.request_buffering && plcf->upstream.pass_request_body
        && plcf->body_set == NULL
        && (!r->headers_in.chunked
            || plcf->http_version == BW_HTTP_VERSION_11))
    {
        r->request_body_no_buffering = 1;
    }

    rc = bw_http_read_client_request_body(r, bw_http_upstream_init);

    if (rc >= BW_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return BW_DONE;
}

/* "http://unix:/path/to.sock:/uri" from variables: the socket, as the
 * same text written out would be (Host is "localhost") */
static bw_int_t
bw_http_proxy_eval_unix(bw_http_request_t *r, bw_http_proxy_ctx_t *ctx,
    u_char *p, u_char *last)
{
    u_char                       *colon;
    size_t                        len;
    bw_addr_t                    *addr;
    bw_http_upstream_resolved_t  *ur;

    colon = memchr(p + 5, ':', last - p - 5);

    len = (colon ? colon : last) - (p + 5);
    if (len == 0 || len >= sizeof(((struct sockaddr_un *) 0)->sun_path)) {
        bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                     "invalid host in upstream \"%.*s\"",
                     (int) (last - p), p);
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    bw_str_set(&ctx->vars.host_header, "localhost");
    bw_str_set(&ctx->vars.port, "");
    ctx->vars.uri.data = colon ? colon + 1 : last;
    ctx->vars.uri.len = colon ? last - colon - 1 : 0;

    ur = bw_pcalloc(r->pool, sizeof(bw_http_upstream_resolved_t));
    addr = bw_pcalloc(r->pool, sizeof(bw_addr_t));
    if (ur == NULL || addr == NULL) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    ur->sockaddr.sockaddr_un.sun_family = AF_UNIX;
    memcpy(ur->sockaddr.sockaddr_un.sun_path, p + 5, len);

    addr->sockaddr = &ur->sockaddr.sockaddr;
    addr->socklen = offsetof(struct sockaddr_un, sun_path) + len + 1;
    addr->name.data = p;
    addr->name.len = 5 + len;

    ur->host = addr->name;
    ur->addrs = addr;
    ur->naddrs = 1;
    r->upstream->resolved = ur;

    return BW_OK;
}

/*
 * proxy_pass with variables: "http://name[:port][/uri]" where name is an
 * upstream block or a literal address. Names that need DNS wait for the
 * resolver; until then they are refused with 502 and a clear log line.
 */
static bw_int_t
bw_http_proxy_eval(bw_http_request_t *r, bw_http_proxy_ctx_t *ctx,
    bw_http_proxy_loc_conf_t *plcf)
{
    u_char                         *p, *last, *host_end, *colon;
    bw_int_t                        port;
    bw_str_t                        url, host;
    bw_http_upstream_t             *u;
    bw_http_upstream_resolved_t    *ur;
    bw_http_upstream_main_conf_t   *umcf;

    u = r->upstream;

    if (bw_http_complex_value(r, plcf->url_cv, &url) != BW_OK) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (url.len > 8
        && bw_strncasecmp(url.data, (u_char *) "https://", 8) == 0)
    {
        u->ssl = 1;
        bw_str_set(&ctx->vars.schema, "https://");
        p = url.data + 8;

    } else if (url.len > 7
               && bw_strncasecmp(url.data, (u_char *) "http://", 7) == 0)
    {
        bw_str_set(&ctx->vars.schema, "http://");
        p = url.data + 7;

    } else {
        bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                     "invalid URL prefix in \"%.*s\"", (int) url.len,
                     url.data);
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    u->schema = ctx->vars.schema;
    last = url.data + url.len;

    if (last - p > 5 && bw_strncasecmp(p, (u_char *) "unix:", 5) == 0) {
        return bw_http_proxy_eval_unix(r, ctx, p, last);
    }

    host_end = memchr(p, '/', last - p);
    if (host_end == NULL) {
        host_end = last;
    }

    ctx->vars.host_header.data = p;
    ctx->vars.host_header.len = host_end - p;
    ctx->vars.uri.data = host_end;
    ctx->vars.uri.len = last - host_end;

    host.data = p;
    port = u->ssl ? 443 : 80;

    if (*p == '[') {
        colon = memchr(p, ']', host_end - p);
        if (colon == NULL) {
            goto invalid;
        }
        host.data = p + 1;
        host.len = colon - p - 1;
        colon = (colon + 1 < host_end && colon[1] == ':') ? colon + 1 : NULL;
    } else {
        colon = memchr(p, ':', host_end - p);
        host.len = (colon ? colon : host_end) - p;
    }

    if (colon) {
        port = bw_atoi(colon + 1, host_end - colon - 1);
        if (port < 1 || port > 65535) {
            goto invalid;
        }
        ctx->vars.port.data = colon + 1;
        ctx->vars.port.len = host_end - colon - 1;
    } else if (u->ssl) {
        bw_str_set(&ctx->vars.port, "443");
    } else {
        bw_str_set(&ctx->vars.port, "80");
    }

    if (host.len == 0) {
        goto invalid;
    }

    umcf = bw_http_get_module_main_conf(r, bw_http_upstream_module);
    u->upstream = bw_http_upstream_find(umcf, &host, (in_port_t) port);
    if (u->upstream) {
        return BW_OK;
    }

    /* an address or a host name: the upstream takes it from here */
    ur = bw_pcalloc(r->pool, sizeof(bw_http_upstream_resolved_t));
    if (ur == NULL) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }
    ur->host = host;
    ur->port = (in_port_t) port;
    u->resolved = ur;

    return BW_OK;

invalid:

    bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                 "invalid host in upstream \"%.*s\"", (int) url.len,
                 url.data);
    return BW_HTTP_INTERNAL_SERVER_ERROR;
}

/* --- variables ---------------------------------------------------------- */

static bw_int_t
bw_http_proxy_host_variable(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    bw_str_t             *s;
    bw_http_proxy_ctx_t  *ctx;

    ctx = bw_http_get_module_ctx(r, bw_http_proxy_module);
    if (ctx == NULL) {
        v->not_found = 1;
        return BW_OK;
    }

    s = data ? &ctx->vars.port : &ctx->vars.host_header;

    v->data = s->data;
    v->len = s->len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return BW_OK;
}

static bw_int_t
bw_http_proxy_add_x_forwarded_for_variable(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    u_char           *p;
    size_t            len;
    bw_table_elt_t   *h, *x;
    bw_connection_t  *c;

    c = r->connection;
    h = r->headers_in.x_forwarded_for;

    len = 0;
    for (x = h; x; x = x->next) {
        len += x->value.len + 2;
    }

    if (len == 0) {
        v->data = c->addr_text.data;
        v->len = c->addr_text.len;
        v->valid = 1;
        v->no_cacheable = 0;
        v->not_found = 0;
        return BW_OK;
    }

    len += c->addr_text.len;

    p = bw_pnalloc(r->pool, len);
    if (p == NULL) {
        return BW_ERROR;
    }

    v->data = p;

    for (x = h; x; x = x->next) {
        p = bw_cpymem(p, x->value.data, x->value.len);
        *p++ = ',';
        *p++ = ' ';
    }

    p = bw_cpymem(p, c->addr_text.data, c->addr_text.len);

    v->len = p - v->data;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return BW_OK;
}

static bw_http_variable_t  bw_http_proxy_vars[] = {
    { bw_string("proxy_host"), NULL, bw_http_proxy_host_variable, 0,
      BW_HTTP_VAR_NOCACHEABLE, 0 },
    { bw_string("proxy_port"), NULL, bw_http_proxy_host_variable, 1,
      BW_HTTP_VAR_NOCACHEABLE, 0 },
    { bw_string("proxy_add_x_forwarded_for"), NULL,
      bw_http_proxy_add_x_forwarded_for_variable, 0,
      BW_HTTP_VAR_NOCACHEABLE, 0 },
    bw_http_null_variable
};

static bw_int_t
bw_http_proxy_add_variables(bw_conf_t *cf)
{
    return bw_http_add_variables(cf, bw_http_proxy_vars);
}

/* --- configuration ------------------------------------------------------ */

static void *
bw_http_proxy_create_loc_conf(bw_conf_t *cf)
{
    bw_http_proxy_loc_conf_t  *conf;

    conf = bw_pcalloc(cf->pool, sizeof(bw_http_proxy_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    bw_http_upstream_conf_init(&conf->upstream);

    conf->http_version = BW_CONF_UNSET_UINT;
    conf->redirect = BW_CONF_UNSET;
    conf->cookie_domains = BW_CONF_UNSET_PTR;
    conf->cookie_paths = BW_CONF_UNSET_PTR;
    conf->cookie_flags = BW_CONF_UNSET_PTR;
    conf->method = BW_CONF_UNSET_PTR;
    conf->body_set = BW_CONF_UNSET_PTR;
    conf->headers_source = BW_CONF_UNSET_PTR;

    bw_http_proxy_ssl_create_conf(conf);

#if (BW_HTTP_CACHE_MODULE)
    bw_http_cache_create_conf(&conf->cache);
#endif

    return conf;
}

/* proxy_set_header inherited whole, or not at all, as nginx. */
static bw_int_t
bw_http_proxy_init_headers(bw_conf_t *cf, bw_http_proxy_loc_conf_t *conf,
    bw_http_proxy_headers_t *headers, bw_keyval_t *defaults)
{
    u_char                  *lc;
    bw_uint_t                i, j, n;
    bw_keyval_t             *src, *d;
    bw_hash_key_t           *hk;
    bw_http_proxy_header_t  *ph;

    n = conf->headers_source ? conf->headers_source->nelts : 0;
    for (d = defaults; d->key.len; d++) {
        n++;
    }

    headers->headers = bw_array_create(cf->pool, n,
                                       sizeof(bw_http_proxy_header_t));
    hk = bw_palloc(cf->temp_pool, n * sizeof(bw_hash_key_t));
    if (headers->headers == NULL || hk == NULL) {
        return BW_ERROR;
    }

    n = 0;

    /* the user's first, then each default the user did not set */
    for (j = 0; j < 2; j++) {
        if (j == 0) {
            if (conf->headers_source == NULL) {
                continue;
            }
            src = conf->headers_source->elts;
            i = conf->headers_source->nelts;
        } else {
            src = defaults;
            for (i = 0; src[i].key.len; i++) { /* void */ }
        }

        for ( /* void */ ; i; i--, src++) {
            bw_uint_t  k;

            for (k = 0; k < n; k++) {
                if (hk[k].key.len == src->key.len
                    && bw_strncasecmp(hk[k].key.data, src->key.data,
                                      src->key.len) == 0)
                {
                    break;
                }
            }
            if (k < n) {
                continue;
            }

            ph = bw_array_push(headers->headers);
            lc = bw_pnalloc(cf->pool, src->key.len);
            if (ph == NULL || lc == NULL) {
                return BW_ERROR;
            }
            bw_memzero(ph, sizeof(bw_http_proxy_header_t));
            ph->key = src->key;

            /* the body's length is known only per request; a body read
             * whole has one, a chunked one streamed goes on chunked */
            if (j == 1 && bw_str_caseeq_lit(&src->key, "Content-Length")) {
                ph->content_length = 1;
            } else if (j == 1
                       && bw_str_caseeq_lit(&src->key, "Transfer-Encoding"))
            {
                ph->chunked = 1;
            } else if (bw_http_compile_complex_value(cf, &ph->value,
                                                     &src->value)
                       != BW_OK)
            {
                return BW_ERROR;
            }

            bw_strlow(lc, src->key.data, src->key.len);
            hk[n].key.data = lc;
            hk[n].key.len = src->key.len;
            hk[n].value = (void *) 1;
            n++;
        }
    }

    if (bw_hash_build(&headers->names, cf->pool, hk, n) == BW_ERROR) {
        return BW_ERROR;
    }

    return BW_OK;
}

/* "proxy_redirect default": the proxy_pass URL back to the location */
static bw_int_t
bw_http_proxy_default_redirect(bw_conf_t *cf, bw_http_proxy_loc_conf_t *conf)
{
    bw_str_t                  from, to;
    bw_http_proxy_rewrite_t  *pr;

    if (conf->redirects == NULL) {
        conf->redirects = bw_array_create(cf->pool, 1,
                                          sizeof(bw_http_proxy_rewrite_t));
        if (conf->redirects == NULL) {
            return BW_ERROR;
        }
    }
    pr = bw_array_push(conf->redirects);
    if (pr == NULL) {
        return BW_ERROR;
    }
    bw_memzero(pr, sizeof(bw_http_proxy_rewrite_t));

    if (conf->vars.uri.len) {
        from = conf->url;
        to = conf->location;
    } else {
        from.len = conf->url.len + 1;
        from.data = bw_pnalloc(cf->pool, from.len);
        if (from.data == NULL) {
            return BW_ERROR;
        }
        memcpy(from.data, conf->url.data, conf->url.len);
        from.data[conf->url.len] = '/';
        bw_str_set(&to, "/");
    }

    /* literal: the URL's "$" (if any) is not a variable here */
    pr->from.value = from;
    return bw_http_compile_complex_value(cf, &pr->to, &to);
}

static char *
bw_http_proxy_merge_loc_conf(bw_conf_t *cf, void *parent, void *child)
{
    bw_http_proxy_loc_conf_t  *prev = parent;
    bw_http_proxy_loc_conf_t  *conf = child;

    char                      *rv;

    rv = bw_http_upstream_conf_merge(cf, &conf->upstream, &prev->upstream,
                                     &bw_http_proxy_conf_names);
    if (rv != BW_CONF_OK) {
        return rv;
    }

    bw_conf_merge_uint_value(conf->http_version, prev->http_version,
                             BW_HTTP_VERSION_10);
    bw_conf_merge_ptr_value(conf->method, prev->method, NULL);
    bw_conf_merge_ptr_value(conf->body_set, prev->body_set, NULL);

    if (conf->upstream.upstream == NULL && conf->url_cv == NULL
        && conf->url.data == NULL)
    {
        conf->upstream.upstream = prev->upstream.upstream;
        conf->url = prev->url;
        conf->url_cv = prev->url_cv;
        conf->vars = prev->vars;
        conf->location = prev->location;
        conf->uri_in_regex = prev->uri_in_regex;
        conf->ssl = prev->ssl;
        conf->https = prev->https;
    }

    if (bw_http_proxy_merge_ssl(cf, conf, prev) != BW_OK) {
        return BW_CONF_ERROR;
    }

    bw_conf_merge_ptr_value(conf->cookie_domains, prev->cookie_domains, NULL);
    bw_conf_merge_ptr_value(conf->cookie_paths, prev->cookie_paths, NULL);
    bw_conf_merge_ptr_value(conf->cookie_flags, prev->cookie_flags, NULL);

    /* proxy_redirect default: the proxy_pass URL back to the location */
    if (conf->redirect == BW_CONF_UNSET) {
        if (prev->redirect != BW_CONF_UNSET) {
            conf->redirect = prev->redirect;
            conf->redirects = prev->redirects;
        } else {
            conf->redirect = 1;
        }
    }

    if (conf->redirect && conf->redirects == NULL && conf->url.data
        && conf->url_cv == NULL
        && bw_http_proxy_default_redirect(cf, conf) != BW_OK)
    {
        return BW_CONF_ERROR;
    }

    if (conf->headers_source == BW_CONF_UNSET_PTR) {
        conf->headers_source = prev->headers_source;
        if (prev->headers.headers) {
            conf->headers = prev->headers;
        }
        if (prev->headers_cache.headers) {
            conf->headers_cache = prev->headers_cache;
        }
    }
    if (conf->headers_source == BW_CONF_UNSET_PTR) {
        conf->headers_source = NULL;
    }

    if (conf->headers.headers == NULL
        && bw_http_proxy_init_headers(cf, conf, &conf->headers,
                                      bw_http_proxy_default_headers)
           != BW_OK)
    {
        return BW_CONF_ERROR;
    }

#if (BW_HTTP_CACHE_MODULE)
    if (bw_http_cache_merge_conf(cf, &conf->cache, &prev->cache)
        != BW_CONF_OK)
    {
        return BW_CONF_ERROR;
    }

    conf->upstream.cache = (conf->cache.zone || conf->cache.zone_value)
                           ? &conf->cache : NULL;

    if (conf->upstream.cache && conf->headers_cache.headers == NULL
        && bw_http_proxy_init_headers(cf, conf, &conf->headers_cache,
                                      bw_http_proxy_cache_headers)
           != BW_OK)
    {
        return BW_CONF_ERROR;
    }
#endif

    return BW_CONF_OK;
}

static char *
bw_http_proxy_pass(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_proxy_loc_conf_t *plcf = conf;

    u_char                    *p, *last, *slash;
    bw_str_t                  *value, url;
    bw_url_t                   u;
    bw_http_core_loc_conf_t   *clcf;

    if (plcf->upstream.upstream || plcf->url_cv) {
        return "is duplicate";
    }

    clcf = bw_http_conf_get_module_loc_conf(cf, bw_http_core_module);
    clcf->handler = bw_http_proxy_handler;

    value = cf->args->elts;
    url = value[1];

    plcf->location = clcf->name;
    plcf->uri_in_regex = (clcf->regex || clcf->named || clcf->noname) ? 1 : 0;

    if (!plcf->uri_in_regex && clcf->name.len
        && clcf->name.data[clcf->name.len - 1] == '/')
    {
        clcf->auto_redirect = 1;
    }

    if (bw_http_script_variables_count(&url)) {
        plcf->url_cv = bw_pcalloc(cf->pool, sizeof(bw_http_complex_value_t));
        if (plcf->url_cv == NULL) {
            return BW_CONF_ERROR;
        }
        if (bw_http_compile_complex_value(cf, plcf->url_cv, &url) != BW_OK) {
            return BW_CONF_ERROR;
        }
        plcf->url = url;
        /* the scheme is known per request: a context in case */
        plcf->ssl = 1;
        return BW_CONF_OK;
    }

    if (url.len > 8 && bw_strncasecmp(url.data, (u_char *) "https://", 8)
                       == 0)
    {
        plcf->ssl = 1;
        plcf->https = 1;
        p = url.data + 8;

    } else if (url.len > 7
               && bw_strncasecmp(url.data, (u_char *) "http://", 7) == 0)
    {
        p = url.data + 7;

    } else {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid URL prefix");
        return BW_CONF_ERROR;
    }

    last = url.data + url.len;

    if (last - p > 5 && bw_strncasecmp(p, (u_char *) "unix:", 5) == 0) {
        /* http://unix:/path/to.sock:/uri */
        slash = NULL;
        {
            u_char  *c;

            for (c = p + 5; c < last; c++) {
                if (*c == ':') {
                    slash = c;
                    break;
                }
            }
        }
        plcf->vars.host_header.data = (u_char *) "localhost";
        plcf->vars.host_header.len = 9;
        bw_memzero(&u, sizeof(bw_url_t));
        u.url.data = p;
        u.url.len = (slash ? slash : last) - p;
        u.host = u.url;
        u.no_port = 1;
        plcf->vars.uri.data = slash ? slash + 1 : last;
        plcf->vars.uri.len = slash ? last - slash - 1 : 0;
        bw_str_set(&plcf->vars.port, "");

    } else {
        slash = memchr(p, '/', last - p);
        if (slash == NULL) {
            slash = last;
        }

        bw_memzero(&u, sizeof(bw_url_t));
        u.url.data = p;
        u.url.len = slash - p;
        u.default_port = plcf->https ? 443 : 80;

        /* split host and port without resolving: the name may be an
         * upstream block defined later in the file */
        if (u.url.len && u.url.data[0] == '[') {
            u_char *rb = memchr(u.url.data, ']', u.url.len);

            if (rb == NULL) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                  "invalid host in upstream \"%s\"",
                                  url.data);
                return BW_CONF_ERROR;
            }
            u.host.data = u.url.data + 1;
            u.host.len = rb - u.url.data - 1;
            p = (rb + 1 < slash && rb[1] == ':') ? rb + 1 : NULL;
        } else {
            p = memchr(u.url.data, ':', u.url.len);
            u.host.data = u.url.data;
            u.host.len = (p ? p : slash) - u.url.data;
        }

        if (p) {
            bw_int_t port = bw_atoi(p + 1, slash - p - 1);
            if (port < 1 || port > 65535) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                  "invalid port in upstream \"%s\"",
                                  url.data);
                return BW_CONF_ERROR;
            }
            u.port = (in_port_t) port;
            plcf->vars.port.data = p + 1;
            plcf->vars.port.len = slash - p - 1;
        } else {
            u.port = u.default_port;
            u.no_port = 1;
            if (plcf->https) {
                bw_str_set(&plcf->vars.port, "443");
            } else {
                bw_str_set(&plcf->vars.port, "80");
            }
        }

        if (u.host.len == 0) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "no host in upstream \"%s\"", url.data);
            return BW_CONF_ERROR;
        }

        plcf->vars.host_header = u.url;
        plcf->vars.uri.data = slash;
        plcf->vars.uri.len = last - slash;
    }

    if (plcf->https) {
        bw_str_set(&plcf->vars.schema, "https://");
    } else {
        bw_str_set(&plcf->vars.schema, "http://");
    }

    plcf->upstream.upstream = bw_http_upstream_add(cf, &u, 0);
    if (plcf->upstream.upstream == NULL) {
        return BW_CONF_ERROR;
    }

    plcf->url = url;

    if (plcf->vars.uri.len && plcf->uri_in_regex) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "\"proxy_pass\" cannot have URI part in location "
                          "given by regular expression, or inside named "
                          "location, or inside \"if\" statement, or inside "
                          "\"limit_except\" block");
        return BW_CONF_ERROR;
    }

    return BW_CONF_OK;
}

static char *
bw_http_proxy_set_header(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_proxy_loc_conf_t *plcf = conf;

    bw_str_t     *value;
    bw_keyval_t  *kv;

    if (plcf->headers_source == BW_CONF_UNSET_PTR) {
        plcf->headers_source = bw_array_create(cf->pool, 4,
                                               sizeof(bw_keyval_t));
        if (plcf->headers_source == NULL) {
            return BW_CONF_ERROR;
        }
    }

    kv = bw_array_push(plcf->headers_source);
    if (kv == NULL) {
        return BW_CONF_ERROR;
    }

    value = cf->args->elts;
    kv->key = value[1];
    kv->value = value[2];

    return BW_CONF_OK;
}

static char *
bw_http_proxy_redirect(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_proxy_loc_conf_t *plcf = conf;

    bw_str_t                 *value;

    value = cf->args->elts;

    if (plcf->redirect == 0) {
        return "is duplicate";
    }

    if (cf->args->nelts == 2) {
        if (strcmp((char *) value[1].data, "off") == 0) {
            if (plcf->redirects) {
                return "is duplicate";
            }
            plcf->redirect = 0;
            plcf->redirects = NULL;
            return BW_CONF_OK;
        }

        if (strcmp((char *) value[1].data, "default") == 0) {
            /* in its place among the other rules, as nginx */
            if (plcf->url_cv) {
                return "\"default\" cannot be used with \"proxy_pass\" "
                       "directive with variables";
            }
            if (plcf->url.data == NULL) {
                return "\"default\" should be placed after the "
                       "\"proxy_pass\" directive";
            }
            plcf->redirect = 1;
            return bw_http_proxy_default_redirect(cf, plcf) == BW_OK
                   ? BW_CONF_OK : BW_CONF_ERROR;
        }

        return "invalid parameter";
    }

    plcf->redirect = 1;

    return bw_http_proxy_rewrite_rule(cf, &plcf->redirects, &value[1],
                                      &value[2], BW_HTTP_PROXY_REWRITE_PREFIX);
}

/* proxy_cookie_domain and proxy_cookie_path: "off", or "from to". */
static char *
bw_http_proxy_cookie(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_array_t  **rules = (bw_array_t **) ((char *) conf + cmd->offset);
    bw_str_t     *value;

    value = cf->args->elts;

    if (cf->args->nelts == 2) {
        if (strcmp((char *) value[1].data, "off") != 0) {
            return "invalid parameter";
        }
        if (*rules != BW_CONF_UNSET_PTR) {
            return "is duplicate";
        }
        *rules = NULL;
        return BW_CONF_OK;
    }

    if (*rules == NULL) {
        return "is duplicate";
    }
    if (*rules == BW_CONF_UNSET_PTR) {
        *rules = NULL;
    }

    return bw_http_proxy_rewrite_rule(cf, rules, &value[1], &value[2],
                                      (bw_uint_t) (uintptr_t) cmd->post);
}
