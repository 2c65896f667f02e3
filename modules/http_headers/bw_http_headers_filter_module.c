/*
 * add_header, add_trailer and expires. As nginx: headers are added to
 * successful and redirect responses unless "always" is given, and a
 * level that has its own add_header does not inherit the outer ones.
 */

#include <bw_http.h>

#define BW_HTTP_EXPIRES_OFF       0
#define BW_HTTP_EXPIRES_EPOCH     1
#define BW_HTTP_EXPIRES_MAX       2
#define BW_HTTP_EXPIRES_ACCESS    3
#define BW_HTTP_EXPIRES_MODIFIED  4
#define BW_HTTP_EXPIRES_DAILY     5
#define BW_HTTP_EXPIRES_UNSET     6

/* what add_header does with a header the response has of its own */
#define BW_HTTP_HEADER_ADD            0
#define BW_HTTP_HEADER_ETAG           1
#define BW_HTTP_HEADER_LAST_MODIFIED  2

typedef struct {
    bw_str_t                  name;
    bw_http_complex_value_t   value;
    bw_uint_t                 always;
    bw_uint_t                 kind;
} bw_http_header_val_t;

typedef struct {
    bw_uint_t                 expires;
    time_t                    expires_time;
    bw_http_complex_value_t  *expires_value;
    bw_array_t               *headers;          /* bw_http_header_val_t */
    bw_array_t               *trailers;         /* bw_http_header_val_t */
} bw_http_headers_conf_t;

static bw_int_t bw_http_headers_filter_init(bw_conf_t *cf);
static void *bw_http_headers_create_conf(bw_conf_t *cf);
static char *bw_http_headers_merge_conf(bw_conf_t *cf, void *parent,
    void *child);
static char *bw_http_headers_add(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_headers_expires(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);

#define HDR_CTX  (BW_HTTP_MAIN_CONF|BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF \
                  |BW_HTTP_LIF_CONF)

static bw_command_t  bw_http_headers_filter_commands[] = {
    { bw_string("add_header"), HDR_CTX|BW_CONF_TAKE23,
      bw_http_headers_add, BW_HTTP_LOC_CONF_OFFSET,
      offsetof(bw_http_headers_conf_t, headers), NULL },
    { bw_string("add_trailer"), HDR_CTX|BW_CONF_TAKE23,
      bw_http_headers_add, BW_HTTP_LOC_CONF_OFFSET,
      offsetof(bw_http_headers_conf_t, trailers), NULL },
    { bw_string("expires"), HDR_CTX|BW_CONF_TAKE12,
      bw_http_headers_expires, BW_HTTP_LOC_CONF_OFFSET, 0, NULL },
    bw_null_command
};

static bw_http_module_t  bw_http_headers_filter_module_ctx = {
    NULL, bw_http_headers_filter_init, NULL, NULL, NULL, NULL,
    bw_http_headers_create_conf, bw_http_headers_merge_conf
};

bw_module_t  bw_http_headers_filter_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_headers_filter_module_ctx,
    bw_http_headers_filter_commands, NULL, NULL, NULL, NULL
};

static bw_http_output_header_filter_pt  bw_http_next_header_filter;
static bw_http_output_body_filter_pt    bw_http_next_body_filter;

/*
 * The response's header called name, with value: the first one there
 * takes it (others of that name are dropped, an upstream's too), else
 * a new one is added.
 */
static bw_table_elt_t *
bw_http_headers_replace(bw_http_request_t *r, const char *name,
    bw_str_t *value)
{
    size_t           len;
    bw_uint_t        i;
    bw_list_part_t  *part;
    bw_table_elt_t  *h, *found;

    len = strlen(name);
    found = NULL;

    part = &r->headers_out.headers.part;
    h = part->elts;
    for (i = 0; /* void */ ; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }
            part = part->next;
            h = part->elts;
            i = 0;
        }
        if (h[i].hash == 0 || h[i].key.len != len
            || bw_strncasecmp(h[i].key.data, (u_char *) name, len) != 0)
        {
            continue;
        }
        if (found) {
            h[i].hash = 0;
            continue;
        }
        found = &h[i];
        found->value = *value;
        found->next = NULL;
    }

    return found ? found : bw_http_add_header_out(r, name, value);
}

/* nginx's bw_next_time(): the next time the clock shows "when" (seconds
 * after local midnight) */
static time_t
bw_http_headers_next_time(time_t when)
{
    time_t     now, next;
    struct tm  tm;

    now = bw_time_sec;
    localtime_r(&now, &tm);
    tm.tm_hour = (int) (when / 3600);
    when %= 3600;
    tm.tm_min = (int) (when / 60);
    tm.tm_sec = (int) (when % 60);

    next = mktime(&tm);
    if (next == -1 || next - now > 0) {
        return next;
    }

    tm.tm_mday++;       /* mktime() makes a date of "Jan 32" */
    return mktime(&tm);
}

/*
 * "[modified] epoch|max|off|[+-]time|@time", as nginx; expires is
 * BW_HTTP_EXPIRES_ACCESS or _MODIFIED on entry. NULL or the error.
 */
static const char *
bw_http_headers_parse_expires(bw_str_t *value, bw_uint_t *expires,
    time_t *expires_time)
{
    bw_str_t   t;
    bw_uint_t  minus;

    if (bw_str_eq_lit(value, "epoch")) {
        *expires = BW_HTTP_EXPIRES_EPOCH;
        return NULL;
    }
    if (bw_str_eq_lit(value, "max")) {
        *expires = BW_HTTP_EXPIRES_MAX;
        return NULL;
    }
    if (bw_str_eq_lit(value, "off")) {
        *expires = BW_HTTP_EXPIRES_OFF;
        return NULL;
    }

    t = *value;
    minus = 0;

    if (t.len && t.data[0] == '@') {
        t.data++;
        t.len--;
        if (*expires == BW_HTTP_EXPIRES_MODIFIED) {
            return "daily time cannot be used with \"modified\" parameter";
        }
        *expires = BW_HTTP_EXPIRES_DAILY;

    } else if (t.len && t.data[0] == '+') {
        t.data++;
        t.len--;

    } else if (t.len && t.data[0] == '-') {
        t.data++;
        t.len--;
        minus = 1;
    }

    *expires_time = bw_parse_time(&t, 1);
    if (*expires_time == BW_ERROR) {
        return "invalid value";
    }

    if (*expires == BW_HTTP_EXPIRES_DAILY && *expires_time > 24 * 60 * 60) {
        return "daily time value must be less than 24 hours";
    }

    if (minus) {
        *expires_time = -*expires_time;
    }

    return NULL;
}

/* Expires and Cache-Control as nginx, in place of any the response had
 * (from the upstream) */
static bw_int_t
bw_http_set_expires(bw_http_request_t *r, bw_http_headers_conf_t *conf)
{
    u_char          *p;
    time_t           max_age, expires_time;
    bw_str_t         v, cc;
    bw_uint_t        expires;
    bw_table_elt_t  *e, *c;

    expires = conf->expires;
    expires_time = conf->expires_time;

    if (conf->expires_value) {
        if (bw_http_complex_value(r, conf->expires_value, &v) != BW_OK) {
            return BW_ERROR;
        }
        if (bw_http_headers_parse_expires(&v, &expires, &expires_time)
            != NULL)
        {
            /* as nginx: a value that is not a time sets nothing */
            return BW_OK;
        }
    }

    switch (expires) {
    case BW_HTTP_EXPIRES_OFF:
        return BW_OK;

    case BW_HTTP_EXPIRES_EPOCH:
        bw_str_set(&v, "Thu, 01 Jan 1970 00:00:01 GMT");
        bw_str_set(&cc, "no-cache");
        goto set;

    case BW_HTTP_EXPIRES_MAX:
        bw_str_set(&v, "Thu, 31 Dec 2037 23:55:55 GMT");
        bw_str_set(&cc, "max-age=315360000");
        goto set;

    case BW_HTTP_EXPIRES_DAILY:
        expires_time = bw_http_headers_next_time(expires_time);
        max_age = expires_time - bw_time_sec;
        break;

    case BW_HTTP_EXPIRES_MODIFIED:
        if (r->headers_out.last_modified_time != -1) {
            expires_time += r->headers_out.last_modified_time;
            max_age = expires_time - bw_time_sec;
            break;
        }
        /* no date to start from: from now on, as nginx */
        bw_fallthrough;

    default:
        max_age = expires_time;
        expires_time += bw_time_sec;
    }

    p = bw_pnalloc(r->pool, BW_HTTP_TIME_LEN + 1);
    if (p == NULL) {
        return BW_ERROR;
    }
    bw_http_time(p, expires_time);
    v.data = p;
    v.len = BW_HTTP_TIME_LEN;

    if (max_age <= 0) {
        bw_str_set(&cc, "no-cache");
    } else {
        p = bw_pnalloc(r->pool, sizeof("max-age=") + BW_INT_T_LEN);
        if (p == NULL) {
            return BW_ERROR;
        }
        cc.data = p;
        cc.len = bw_slprintf(p, p + sizeof("max-age=") + BW_INT_T_LEN,
                             "max-age=%lld", (long long) max_age) - p;
    }

set:

    e = bw_http_headers_replace(r, "Expires", &v);
    c = bw_http_headers_replace(r, "Cache-Control", &cc);
    if (e == NULL || c == NULL) {
        return BW_ERROR;
    }
    r->headers_out.expires = e;
    r->headers_out.cache_control = c;
    return BW_OK;
}

/*
 * add_header ETag|Last-Modified: the response's own validator takes the
 * value (or goes, for an empty one), as nginx; two would confuse
 * conditional requests.
 */
static bw_int_t
bw_http_headers_set_validator(bw_http_request_t *r, bw_http_header_val_t *hv,
    bw_str_t *value)
{
    bw_table_elt_t  **old, *h;

    old = (hv->kind == BW_HTTP_HEADER_ETAG) ? &r->headers_out.etag
                                            : &r->headers_out.last_modified;

    if (hv->kind == BW_HTTP_HEADER_LAST_MODIFIED) {
        r->headers_out.last_modified_time =
            value->len ? bw_parse_http_time(value->data, value->len) : -1;
    }

    if (value->len == 0) {
        if (*old) {
            (*old)->hash = 0;
            *old = NULL;
        }
        return BW_OK;
    }

    if (*old) {
        (*old)->value = *value;
        return BW_OK;
    }

    h = bw_http_add_header_out(r, (const char *) hv->name.data, value);
    if (h == NULL) {
        return BW_ERROR;
    }
    *old = h;
    return BW_OK;
}

/* add_header (without "always") is for these */
static bw_uint_t
bw_http_headers_safe_status(bw_http_request_t *r)
{
    switch (r->headers_out.status) {
    case BW_HTTP_OK:
    case BW_HTTP_CREATED:
    case BW_HTTP_NO_CONTENT:
    case BW_HTTP_PARTIAL_CONTENT:
    case BW_HTTP_MOVED_PERMANENTLY:
    case BW_HTTP_MOVED_TEMPORARILY:
    case BW_HTTP_SEE_OTHER:
    case BW_HTTP_NOT_MODIFIED:
    case BW_HTTP_TEMPORARY_REDIRECT:
    case BW_HTTP_PERMANENT_REDIRECT:
        return 1;
    default:
        return 0;
    }
}

/*
 * add_trailer: the values are taken with the last buffer (so that they
 * can say how the response went) and written by the chunked filter.
 */
static bw_int_t
bw_http_trailers_filter(bw_http_request_t *r, bw_chain_t *in)
{
    bw_str_t                 value;
    bw_uint_t                i, safe_status;
    bw_chain_t              *cl;
    bw_table_elt_t          *t;
    bw_http_header_val_t    *h;
    bw_http_headers_conf_t  *conf;

    conf = r->loc_conf[bw_http_headers_filter_module.ctx_index];

    if (in == NULL || conf->trailers == NULL || !r->expect_trailers
        || r->header_only || r != r->main)
    {
        return bw_http_next_body_filter(r, in);
    }

    for (cl = in; cl; cl = cl->next) {
        if (cl->buf->last_buf) {
            break;
        }
    }

    if (cl == NULL) {
        return bw_http_next_body_filter(r, in);
    }

    safe_status = bw_http_headers_safe_status(r);

    h = conf->trailers->elts;
    for (i = 0; i < conf->trailers->nelts; i++) {
        if (!safe_status && !h[i].always) {
            continue;
        }
        if (bw_http_complex_value(r, &h[i].value, &value) != BW_OK) {
            return BW_ERROR;
        }
        if (value.len == 0) {
            continue;
        }
        if (r->headers_out.trailers == NULL) {
            r->headers_out.trailers = bw_array_create(r->pool, 2,
                                                      sizeof(bw_table_elt_t));
            if (r->headers_out.trailers == NULL) {
                return BW_ERROR;
            }
        }
        t = bw_array_push(r->headers_out.trailers);
        if (t == NULL) {
            return BW_ERROR;
        }
        bw_memzero(t, sizeof(bw_table_elt_t));
        t->hash = 1;
        t->key = h[i].name;
        t->value = value;
    }

    return bw_http_next_body_filter(r, in);
}

static bw_int_t
bw_http_headers_filter(bw_http_request_t *r)
{
    bw_str_t                 value;
    bw_uint_t                i, safe_status;
    bw_http_header_val_t    *h;
    bw_http_headers_conf_t  *conf;

    conf = r->loc_conf[bw_http_headers_filter_module.ctx_index];

    if ((conf->expires == BW_HTTP_EXPIRES_OFF && conf->headers == NULL
         && conf->trailers == NULL)
        || r != r->main)
    {
        return bw_http_next_header_filter(r);
    }

    safe_status = bw_http_headers_safe_status(r);

    if (conf->trailers) {
        h = conf->trailers->elts;
        for (i = 0; i < conf->trailers->nelts; i++) {
            if (safe_status || h[i].always) {
                r->expect_trailers = 1;
                break;
            }
        }
    }

    if (conf->expires != BW_HTTP_EXPIRES_OFF && safe_status) {
        if (bw_http_set_expires(r, conf) != BW_OK) {
            return BW_ERROR;
        }
    }

    if (conf->headers) {
        h = conf->headers->elts;
        for (i = 0; i < conf->headers->nelts; i++) {
            if (!safe_status && !h[i].always) {
                continue;
            }
            if (bw_http_complex_value(r, &h[i].value, &value) != BW_OK) {
                return BW_ERROR;
            }
            if (h[i].kind != BW_HTTP_HEADER_ADD) {
                if (bw_http_headers_set_validator(r, &h[i], &value)
                    != BW_OK)
                {
                    return BW_ERROR;
                }
                continue;
            }
            if (value.len == 0) {
                continue;
            }
            if (bw_http_add_header_out(r, (const char *) h[i].name.data,
                                       &value) == NULL)
            {
                return BW_ERROR;
            }
        }
    }

    return bw_http_next_header_filter(r);
}

static void *
bw_http_headers_create_conf(bw_conf_t *cf)
{
    bw_http_headers_conf_t  *conf;

    conf = bw_pcalloc(cf->pool, sizeof(bw_http_headers_conf_t));
    if (conf == NULL) {
        return NULL;
    }
    conf->expires = BW_HTTP_EXPIRES_UNSET;
    return conf;
}

static char *
bw_http_headers_merge_conf(bw_conf_t *cf, void *parent, void *child)
{
    bw_http_headers_conf_t  *prev = parent;
    bw_http_headers_conf_t  *conf = child;

    if (conf->expires == BW_HTTP_EXPIRES_UNSET) {
        conf->expires = prev->expires;
        conf->expires_time = prev->expires_time;
        conf->expires_value = prev->expires_value;
        if (conf->expires == BW_HTTP_EXPIRES_UNSET) {
            conf->expires = BW_HTTP_EXPIRES_OFF;
        }
    }

    if (conf->headers == NULL) {
        conf->headers = prev->headers;
    }

    if (conf->trailers == NULL) {
        conf->trailers = prev->trailers;
    }

    return BW_CONF_OK;
}

static char *
bw_http_headers_add(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_str_t               *value;
    bw_array_t            **list;
    bw_http_header_val_t   *hv;

    value = cf->args->elts;
    list = (bw_array_t **) ((char *) conf + cmd->offset);

    if (*list == NULL) {
        *list = bw_array_create(cf->pool, 2, sizeof(bw_http_header_val_t));
        if (*list == NULL) {
            return BW_CONF_ERROR;
        }
    }

    hv = bw_array_push(*list);
    if (hv == NULL) {
        return BW_CONF_ERROR;
    }

    hv->name = value[1];
    hv->always = 0;
    hv->kind = BW_HTTP_HEADER_ADD;

    if (cmd->offset == offsetof(bw_http_headers_conf_t, trailers)) {
        /* a trailer is only ever added */

    } else if (bw_str_caseeq_lit(&value[1], "ETag")) {
        hv->kind = BW_HTTP_HEADER_ETAG;

    } else if (bw_str_caseeq_lit(&value[1], "Last-Modified")) {
        hv->kind = BW_HTTP_HEADER_LAST_MODIFIED;
    }

    if (bw_http_compile_complex_value(cf, &hv->value, &value[2]) != BW_OK) {
        return BW_CONF_ERROR;
    }

    if (cf->args->nelts == 4) {
        if (!bw_str_eq_lit(&value[3], "always")) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "invalid parameter \"%s\"", value[3].data);
            return BW_CONF_ERROR;
        }
        hv->always = 1;
    }

    return BW_CONF_OK;
}

static char *
bw_http_headers_expires(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_headers_conf_t  *hcf = conf;

    bw_str_t                *value;
    bw_uint_t                n;
    const char              *err;

    if (hcf->expires != BW_HTTP_EXPIRES_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;
    hcf->expires = BW_HTTP_EXPIRES_ACCESS;
    n = 1;

    if (cf->args->nelts == 3) {
        if (!bw_str_eq_lit(&value[1], "modified")) {
            return "invalid value";
        }
        hcf->expires = BW_HTTP_EXPIRES_MODIFIED;
        n = 2;
    }

    if (memchr(value[n].data, '$', value[n].len)) {
        /* read per request, as nginx ("expires $expires;" from a map) */
        hcf->expires_value = bw_palloc(cf->pool,
                                       sizeof(bw_http_complex_value_t));
        if (hcf->expires_value == NULL
            || bw_http_compile_complex_value(cf, hcf->expires_value,
                                             &value[n]) != BW_OK)
        {
            return BW_CONF_ERROR;
        }
        return BW_CONF_OK;
    }

    err = bw_http_headers_parse_expires(&value[n], &hcf->expires,
                                        &hcf->expires_time);
    return (char *) err;
}

static bw_int_t
bw_http_headers_filter_init(bw_conf_t *cf)
{
    bw_http_next_header_filter = bw_http_top_header_filter;
    bw_http_top_header_filter = bw_http_headers_filter;

    bw_http_next_body_filter = bw_http_top_body_filter;
    bw_http_top_body_filter = bw_http_trailers_filter;
    return BW_OK;
}
