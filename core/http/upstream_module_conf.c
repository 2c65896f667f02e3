/*
 * What every proxying module (proxy, fastcgi, uwsgi, scgi) shares of its
 * settings for the upstream framework: the unset values, the merge with
 * nginx's defaults and checks (buffers, busy and temp file sizes, the
 * temp path, next_upstream), the value lists of *_next_upstream and
 * *_ignore_headers, and the setters of the directives the modules have
 * in common. Error texts name the module's own directive
 * ("fastcgi_buffers"), as nginx's do.
 */

#include <bw_http.h>

bw_conf_bitmask_t  bw_http_upstream_next_upstream_masks[] = {
    { bw_string("error"), BW_HTTP_UPSTREAM_FT_ERROR },
    { bw_string("timeout"), BW_HTTP_UPSTREAM_FT_TIMEOUT },
    { bw_string("invalid_header"), BW_HTTP_UPSTREAM_FT_INVALID_HEADER },
    { bw_string("non_idempotent"), BW_HTTP_UPSTREAM_FT_NON_IDEMPOTENT },
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

bw_conf_bitmask_t  bw_http_upstream_ignore_headers_masks[] = {
    { bw_string("X-Accel-Redirect"), BW_HTTP_UPSTREAM_IGN_XA_REDIRECT },
    { bw_string("X-Accel-Expires"), BW_HTTP_UPSTREAM_IGN_XA_EXPIRES },
    { bw_string("X-Accel-Limit-Rate"), BW_HTTP_UPSTREAM_IGN_XA_LIMIT_RATE },
    { bw_string("X-Accel-Buffering"), BW_HTTP_UPSTREAM_IGN_XA_BUFFERING },
    { bw_string("X-Accel-Charset"), BW_HTTP_UPSTREAM_IGN_XA_CHARSET },
    { bw_string("Expires"), BW_HTTP_UPSTREAM_IGN_EXPIRES },
    { bw_string("Cache-Control"), BW_HTTP_UPSTREAM_IGN_CACHE_CONTROL },
    { bw_string("Set-Cookie"), BW_HTTP_UPSTREAM_IGN_SET_COOKIE },
    { bw_string("Vary"), BW_HTTP_UPSTREAM_IGN_VARY },
    { bw_null_string, 0 }
};

void
bw_http_upstream_conf_init(bw_http_upstream_conf_t *conf)
{
    conf->connect_timeout = BW_CONF_UNSET_MSEC;
    conf->send_timeout = BW_CONF_UNSET_MSEC;
    conf->read_timeout = BW_CONF_UNSET_MSEC;
    conf->next_upstream_timeout = BW_CONF_UNSET_MSEC;
    conf->buffer_size = BW_CONF_UNSET_SIZE;
    conf->busy_buffers_size_conf = BW_CONF_UNSET_SIZE;
    conf->max_temp_file_size_conf = BW_CONF_UNSET_SIZE;
    conf->temp_file_write_size_conf = BW_CONF_UNSET_SIZE;
    conf->next_upstream_tries = BW_CONF_UNSET_UINT;
    conf->buffering = BW_CONF_UNSET;
    conf->request_buffering = BW_CONF_UNSET;
    conf->pass_request_headers = BW_CONF_UNSET;
    conf->pass_request_body = BW_CONF_UNSET;
    conf->intercept_errors = BW_CONF_UNSET;
    conf->ignore_client_abort = BW_CONF_UNSET;
    conf->proxy_protocol = BW_CONF_UNSET;
    conf->force_ranges = BW_CONF_UNSET;
    conf->limit_rate = BW_CONF_UNSET_SIZE;
    conf->socket_keepalive = BW_CONF_UNSET;
    conf->local = BW_CONF_UNSET_PTR;
    conf->hide_headers = NULL;
    conf->pass_headers = NULL;
}

/*
 * A size whose default follows this level's buffers, whatever the
 * parent's were: only a value written in the configuration is
 * inherited (nginx's "_conf" fields).
 */
static size_t
bw_http_upstream_merge_derived(size_t *conf, size_t prev, size_t def)
{
    if (*conf == BW_CONF_UNSET_SIZE) {
        *conf = prev;
    }

    return *conf == BW_CONF_UNSET_SIZE ? def : *conf;
}

static char *bw_http_upstream_conf_error(bw_conf_t *cf, const char *fmt,
    ...) __attribute__((format(printf, 2, 3)));

static char *
bw_http_upstream_conf_error(bw_conf_t *cf, const char *fmt, ...)
{
    u_char   *p, *last;
    va_list   args;

    p = bw_pnalloc(cf->pool, 512);
    if (p == NULL) {
        return BW_CONF_ERROR;
    }

    va_start(args, fmt);
    last = bw_vslprintf(p, p + 511, fmt, args);
    va_end(args);
    *last = '\0';

    return (char *) p;
}

char *
bw_http_upstream_conf_merge(bw_conf_t *cf, bw_http_upstream_conf_t *conf,
    bw_http_upstream_conf_t *prev, const bw_http_upstream_conf_names_t *nm)
{
    size_t  size;

    bw_conf_merge_msec_value(conf->connect_timeout, prev->connect_timeout,
                             60000);
    bw_conf_merge_msec_value(conf->send_timeout, prev->send_timeout, 60000);
    bw_conf_merge_msec_value(conf->read_timeout, prev->read_timeout, 60000);
    bw_conf_merge_msec_value(conf->next_upstream_timeout,
                             prev->next_upstream_timeout, 0);
    bw_conf_merge_uint_value(conf->next_upstream_tries,
                             prev->next_upstream_tries, 0);

    bw_conf_merge_size_value(conf->buffer_size, prev->buffer_size, 4096);

    if (conf->bufs.num == 0) {
        conf->bufs = prev->bufs;
        if (conf->bufs.num == 0) {
            conf->bufs.num = 8;
            conf->bufs.size = 4096;
        }
    }

    if (conf->bufs.num < 2) {
        return bw_http_upstream_conf_error(cf,
                   "there must be at least 2 \"%s_buffers\"",
                   nm->prefix);
    }

    size = bw_max(conf->buffer_size, conf->bufs.size);

    conf->busy_buffers_size = bw_http_upstream_merge_derived(
        &conf->busy_buffers_size_conf, prev->busy_buffers_size_conf,
        2 * size);

    if (conf->busy_buffers_size < size) {
        return bw_http_upstream_conf_error(cf,
                   "\"%s_busy_buffers_size\" must be equal to or greater "
                   "than the maximum of the value of \"%s_buffer_size\" "
                   "and one of the \"%s_buffers\"",
                   nm->prefix, nm->prefix, nm->prefix);
    }

    if (conf->busy_buffers_size > (conf->bufs.num - 1) * conf->bufs.size) {
        return bw_http_upstream_conf_error(cf,
                   "\"%s_busy_buffers_size\" must be less than the size of "
                   "all \"%s_buffers\" minus one buffer",
                   nm->prefix, nm->prefix);
    }

    conf->temp_file_write_size = bw_http_upstream_merge_derived(
        &conf->temp_file_write_size_conf, prev->temp_file_write_size_conf,
        2 * size);

    if (conf->temp_file_write_size < size) {
        return bw_http_upstream_conf_error(cf,
                   "\"%s_temp_file_write_size\" must be equal to or greater "
                   "than the maximum of the value of \"%s_buffer_size\" "
                   "and one of the \"%s_buffers\"",
                   nm->prefix, nm->prefix, nm->prefix);
    }

    conf->max_temp_file_size = bw_http_upstream_merge_derived(
        &conf->max_temp_file_size_conf, prev->max_temp_file_size_conf,
        1024 * 1024 * 1024);

    if (conf->max_temp_file_size != 0 && conf->max_temp_file_size < size) {
        return bw_http_upstream_conf_error(cf,
                   "\"%s_max_temp_file_size\" must be equal to zero to "
                   "disable temporary files usage or must be equal to or "
                   "greater than the maximum of the value of "
                   "\"%s_buffer_size\" and one of the \"%s_buffers\"",
                   nm->prefix, nm->prefix, nm->prefix);
    }

    if (bw_conf_merge_path_value(cf, &conf->temp_path, prev->temp_path,
                                 nm->temp_path)
        != BW_CONF_OK)
    {
        return BW_CONF_ERROR;
    }

    bw_conf_merge_bitmask_value(conf->next_upstream, prev->next_upstream,
                                BW_HTTP_UPSTREAM_FT_ERROR
                                |BW_HTTP_UPSTREAM_FT_TIMEOUT);
    if (conf->next_upstream & BW_HTTP_UPSTREAM_FT_OFF) {
        conf->next_upstream = BW_HTTP_UPSTREAM_FT_OFF;
    }

    bw_conf_merge_bitmask_value(conf->ignore_headers, prev->ignore_headers,
                                0);

    bw_conf_merge_value(conf->buffering, prev->buffering, 1);
    bw_conf_merge_value(conf->request_buffering, prev->request_buffering, 1);
    bw_conf_merge_value(conf->pass_request_headers,
                        prev->pass_request_headers, 1);
    bw_conf_merge_value(conf->pass_request_body, prev->pass_request_body, 1);
    bw_conf_merge_value(conf->intercept_errors, prev->intercept_errors, 0);
    bw_conf_merge_value(conf->ignore_client_abort, prev->ignore_client_abort,
                        0);
    bw_conf_merge_value(conf->proxy_protocol, prev->proxy_protocol, 0);
    bw_conf_merge_value(conf->force_ranges, prev->force_ranges, 0);
    if (conf->limit_rate == BW_CONF_UNSET_SIZE && conf->limit_rate_cv == NULL)
    {
        conf->limit_rate_cv = prev->limit_rate_cv;
    }
    bw_conf_merge_size_value(conf->limit_rate, prev->limit_rate, 0);
    bw_conf_merge_value(conf->socket_keepalive, prev->socket_keepalive, 0);
    if (conf->local == BW_CONF_UNSET_PTR) {
        conf->local_cv = prev->local_cv;
    }
    bw_conf_merge_ptr_value(conf->local, prev->local, NULL);

    if (bw_http_upstream_hide_headers_hash(cf, conf, prev, nm->hide_headers)
        != BW_OK)
    {
        return BW_CONF_ERROR;
    }

    return BW_CONF_OK;
}

/* "*_buffers number size": the bw_bufs_t at the command's offset */
char *
bw_http_upstream_buffers_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_int_t    num, size;
    bw_str_t   *value;
    bw_bufs_t  *bufs;

    bufs = (bw_bufs_t *) ((char *) conf + cmd->offset);
    if (bufs->num) {
        return "is duplicate";
    }

    value = cf->args->elts;

    num = bw_atoi(value[1].data, value[1].len);
    if (num == BW_ERROR || num == 0) {
        return "invalid value";
    }

    size = bw_parse_size(&value[2]);
    if (size == BW_ERROR || size == 0) {
        return "invalid value";
    }

    bufs->num = num;
    bufs->size = size;

    return BW_CONF_OK;
}

/* Accepted for nginx compatibility (the hash sizes are computed here);
 * see docs/compatibility.md. */
char *
bw_http_upstream_accepted_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    return BW_CONF_OK;
}

/* Linux cannot set SO_SNDLOWAT: nginx there says so and goes on. */
char *
bw_http_upstream_send_lowat_slot(bw_conf_t *cf, bw_command_t *cmd,
    void *conf)
{
    ssize_t    size;
    bw_str_t  *value;

    value = cf->args->elts;

    size = bw_parse_size(&value[1]);
    if (size == BW_ERROR) {
        return "invalid value";
    }

    if (size != 0) {
        bw_conf_log_error(BW_LOG_WARN, cf, 0,
                          "\"%s\" is not supported, ignored",
                          (char *) cmd->name.data);
    }

    return BW_CONF_OK;
}

/* *_limit_rate: a size, or variables that give one (nginx 1.27), read
 * when the answer's body begins */
char *
bw_http_upstream_limit_rate_slot(bw_conf_t *cf, bw_command_t *cmd,
    void *conf)
{
    bw_http_upstream_conf_t  *ucf;

    ucf = (bw_http_upstream_conf_t *) ((char *) conf + cmd->offset
                            - offsetof(bw_http_upstream_conf_t, limit_rate));

    return bw_http_set_size_or_value(cf, cmd, conf, &ucf->limit_rate_cv);
}

/* A directive whose one argument is a complex value (proxy_method,
 * fastcgi_index); the pointer at the offset starts as BW_CONF_UNSET_PTR */
char *
bw_http_upstream_complex_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    char                      *p = conf;
    bw_str_t                  *value;
    bw_http_complex_value_t  **cv;

    cv = (bw_http_complex_value_t **) (p + cmd->offset);
    if (*cv != BW_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    *cv = bw_pcalloc(cf->pool, sizeof(bw_http_complex_value_t));
    if (*cv == NULL) {
        return BW_CONF_ERROR;
    }

    value = cf->args->elts;

    return bw_http_compile_complex_value(cf, *cv, &value[1]) == BW_OK
           ? BW_CONF_OK : BW_CONF_ERROR;
}

/*
 * The response headers a module hides from clients: its defaults plus
 * proxy_hide_header, minus proxy_pass_header; inherited whole when a
 * level sets neither.
 */
bw_int_t
bw_http_upstream_hide_headers_hash(bw_conf_t *cf,
    bw_http_upstream_conf_t *conf, bw_http_upstream_conf_t *prev,
    bw_str_t *default_hide_headers)
{
    u_char         *lc;
    bw_str_t       *h, *p;
    bw_uint_t       i, j, k;
    bw_array_t      hide;
    bw_hash_key_t  *hk;

    if (conf->hide_headers == NULL && conf->pass_headers == NULL) {
        conf->hide_headers = prev->hide_headers;
        conf->pass_headers = prev->pass_headers;
        if (prev->hide_headers_hash.slots) {
            conf->hide_headers_hash = prev->hide_headers_hash;
            return BW_OK;
        }
    } else {
        if (conf->hide_headers == NULL) {
            conf->hide_headers = prev->hide_headers;
        }
        if (conf->pass_headers == NULL) {
            conf->pass_headers = prev->pass_headers;
        }
    }

    if (bw_array_init(&hide, cf->temp_pool, 16, sizeof(bw_str_t)) != BW_OK) {
        return BW_ERROR;
    }

    for (h = default_hide_headers; h->len; h++) {
        p = bw_array_push(&hide);
        if (p == NULL) {
            return BW_ERROR;
        }
        *p = *h;
    }

    if (conf->hide_headers) {
        h = conf->hide_headers->elts;
        for (i = 0; i < conf->hide_headers->nelts; i++) {
            p = hide.elts;
            for (j = 0; j < hide.nelts; j++) {
                if (p[j].len == h[i].len
                    && bw_strncasecmp(p[j].data, h[i].data, h[i].len) == 0)
                {
                    break;
                }
            }
            if (j < hide.nelts) {
                continue;
            }
            p = bw_array_push(&hide);
            if (p == NULL) {
                return BW_ERROR;
            }
            *p = h[i];
        }
    }

    hk = bw_palloc(cf->temp_pool, (hide.nelts + 1) * sizeof(bw_hash_key_t));
    if (hk == NULL) {
        return BW_ERROR;
    }

    p = hide.elts;
    for (i = 0, k = 0; i < hide.nelts; i++) {
        if (conf->pass_headers) {
            h = conf->pass_headers->elts;
            for (j = 0; j < conf->pass_headers->nelts; j++) {
                if (h[j].len == p[i].len
                    && bw_strncasecmp(h[j].data, p[i].data, p[i].len) == 0)
                {
                    break;
                }
            }
            if (j < conf->pass_headers->nelts) {
                continue;   /* proxy_pass_header wins */
            }
        }

        lc = bw_pnalloc(cf->pool, p[i].len);
        if (lc == NULL) {
            return BW_ERROR;
        }
        bw_strlow(lc, p[i].data, p[i].len);
        hk[k].key.data = lc;
        hk[k].key.len = p[i].len;
        hk[k].value = (void *) 1;
        k++;
    }

    return bw_hash_build(&conf->hide_headers_hash, cf->pool, hk, k)
           == BW_ERROR ? BW_ERROR : BW_OK;
}

/* "proxy_bind address [transparent] | off"; the address may be made of
 * variables (then an address with an optional port, read per request) */
char *
bw_http_upstream_bind_set_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    char                     *p = conf;
    bw_str_t                 *value;
    bw_url_t                  u;
    bw_addr_t               **plocal, *local;
    bw_http_upstream_conf_t  *ucf;

    plocal = (bw_addr_t **) (p + cmd->offset);
    if (*plocal != BW_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (strcmp((char *) value[1].data, "off") == 0) {
        *plocal = NULL;
        return BW_CONF_OK;
    }

    if (cf->args->nelts > 2) {
        if (strcmp((char *) value[2].data, "transparent") != 0) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "invalid parameter \"%s\"", value[2].data);
            return BW_CONF_ERROR;
        }
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "\"transparent\" is not supported yet");
        return BW_CONF_ERROR;
    }

    if (bw_http_script_variables_count(&value[1])) {
        ucf = (bw_http_upstream_conf_t *) (p + cmd->offset
                                  - offsetof(bw_http_upstream_conf_t, local));
        ucf->local_cv = bw_palloc(cf->pool, sizeof(bw_http_complex_value_t));
        if (ucf->local_cv == NULL
            || bw_http_compile_complex_value(cf, ucf->local_cv, &value[1])
               != BW_OK)
        {
            return BW_CONF_ERROR;
        }
        *plocal = NULL;
        return BW_CONF_OK;
    }

    bw_memzero(&u, sizeof(bw_url_t));
    u.url = value[1];
    u.default_port = 0;

    if (bw_parse_url(cf->pool, &u) != BW_OK) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "%s in \"%s\"",
                          u.err ? u.err : "invalid address", value[1].data);
        return BW_CONF_ERROR;
    }

    local = bw_pcalloc(cf->pool, sizeof(bw_addr_t));
    if (local == NULL) {
        return BW_CONF_ERROR;
    }
    local->sockaddr = bw_palloc(cf->pool, u.socklen);
    if (local->sockaddr == NULL) {
        return BW_CONF_ERROR;
    }
    memcpy(local->sockaddr, &u.sockaddr, u.socklen);
    local->socklen = u.socklen;
    local->name = value[1];

    *plocal = local;

    return BW_CONF_OK;
}
