/*
 * add_header and expires. As nginx: headers are added to successful and
 * redirect responses unless "always" is given, and a level that has its
 * own add_header does not inherit the outer ones.
 */

#include <bw_http.h>

#define BW_HTTP_EXPIRES_OFF       0
#define BW_HTTP_EXPIRES_EPOCH     1
#define BW_HTTP_EXPIRES_MAX       2
#define BW_HTTP_EXPIRES_ACCESS    3
#define BW_HTTP_EXPIRES_MODIFIED  4
#define BW_HTTP_EXPIRES_UNSET     5

typedef struct {
    bw_str_t                  name;
    bw_http_complex_value_t   value;
    bw_uint_t                 always;
} bw_http_header_val_t;

typedef struct {
    bw_uint_t     expires;
    time_t        expires_time;
    bw_array_t   *headers;          /* bw_http_header_val_t */
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
      bw_http_headers_add, BW_HTTP_LOC_CONF_OFFSET, 0, NULL },
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

static bw_int_t
bw_http_set_expires(bw_http_request_t *r, bw_http_headers_conf_t *conf)
{
    u_char    *p;
    time_t     max_age, expires;
    bw_str_t   v;

    expires = conf->expires_time;

    switch (conf->expires) {
    case BW_HTTP_EXPIRES_EPOCH:
        v.data = (u_char *) "Thu, 01 Jan 1970 00:00:01 GMT";
        v.len = BW_HTTP_TIME_LEN;
        r->headers_out.expires = bw_http_add_header_out(r, "Expires", &v);
        bw_str_set(&v, "no-cache");
        r->headers_out.cache_control = bw_http_add_header_out(r,
                                           "Cache-Control", &v);
        return BW_OK;

    case BW_HTTP_EXPIRES_MAX:
        v.data = (u_char *) "Thu, 31 Dec 2037 23:55:55 GMT";
        v.len = BW_HTTP_TIME_LEN;
        r->headers_out.expires = bw_http_add_header_out(r, "Expires", &v);
        bw_str_set(&v, "max-age=315360000");
        r->headers_out.cache_control = bw_http_add_header_out(r,
                                           "Cache-Control", &v);
        return BW_OK;

    case BW_HTTP_EXPIRES_MODIFIED:
        if (r->headers_out.last_modified_time == -1) {
            return BW_OK;
        }
        expires += r->headers_out.last_modified_time;
        max_age = expires - bw_time_sec;
        break;

    default:
        max_age = expires;
        expires += bw_time_sec;
    }

    p = bw_pnalloc(r->pool, BW_HTTP_TIME_LEN + 1);
    if (p == NULL) {
        return BW_ERROR;
    }
    bw_http_time(p, expires);
    v.data = p;
    v.len = BW_HTTP_TIME_LEN;
    r->headers_out.expires = bw_http_add_header_out(r, "Expires", &v);

    if (max_age <= 0) {
        bw_str_set(&v, "no-cache");
    } else {
        p = bw_pnalloc(r->pool, sizeof("max-age=") + BW_INT_T_LEN);
        if (p == NULL) {
            return BW_ERROR;
        }
        v.data = p;
        v.len = bw_slprintf(p, p + sizeof("max-age=") + BW_INT_T_LEN,
                            "max-age=%lld", (long long) max_age) - p;
    }
    r->headers_out.cache_control = bw_http_add_header_out(r, "Cache-Control",
                                                          &v);
    return BW_OK;
}

static bw_int_t
bw_http_headers_filter(bw_http_request_t *r)
{
    bw_str_t                 value;
    bw_uint_t                i, safe_status;
    bw_http_header_val_t    *h;
    bw_http_headers_conf_t  *conf;

    conf = r->loc_conf[bw_http_headers_filter_module.ctx_index];

    if ((conf->expires == BW_HTTP_EXPIRES_OFF && conf->headers == NULL)
        || r != r->main)
    {
        return bw_http_next_header_filter(r);
    }

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
        safe_status = 1;
        break;
    default:
        safe_status = 0;
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
        if (conf->expires == BW_HTTP_EXPIRES_UNSET) {
            conf->expires = BW_HTTP_EXPIRES_OFF;
        }
    }

    if (conf->headers == NULL) {
        conf->headers = prev->headers;
    }

    return BW_CONF_OK;
}

static char *
bw_http_headers_add(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_headers_conf_t  *hcf = conf;
    bw_str_t                *value;
    bw_http_header_val_t    *hv;

    value = cf->args->elts;

    if (hcf->headers == NULL) {
        hcf->headers = bw_array_create(cf->pool, 2,
                                       sizeof(bw_http_header_val_t));
        if (hcf->headers == NULL) {
            return BW_CONF_ERROR;
        }
    }

    hv = bw_array_push(hcf->headers);
    if (hv == NULL) {
        return BW_CONF_ERROR;
    }

    hv->name = value[1];
    hv->always = 0;

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
    bw_str_t                *value, t;
    bw_uint_t                n, minus;

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

    if (bw_str_eq_lit(&value[n], "epoch")) {
        hcf->expires = BW_HTTP_EXPIRES_EPOCH;
        return BW_CONF_OK;
    }
    if (bw_str_eq_lit(&value[n], "max")) {
        hcf->expires = BW_HTTP_EXPIRES_MAX;
        return BW_CONF_OK;
    }
    if (bw_str_eq_lit(&value[n], "off")) {
        hcf->expires = BW_HTTP_EXPIRES_OFF;
        return BW_CONF_OK;
    }

    t = value[n];
    minus = 0;
    if (t.len && t.data[0] == '+') {
        t.data++;
        t.len--;
    } else if (t.len && t.data[0] == '-') {
        t.data++;
        t.len--;
        minus = 1;
    }

    hcf->expires_time = bw_parse_time(&t, 1);
    if (hcf->expires_time == BW_ERROR) {
        return "invalid value";
    }
    if (minus) {
        hcf->expires_time = -hcf->expires_time;
    }

    return BW_CONF_OK;
}

static bw_int_t
bw_http_headers_filter_init(bw_conf_t *cf)
{
    bw_http_next_header_filter = bw_http_top_header_filter;
    bw_http_top_header_filter = bw_http_headers_filter;
    return BW_OK;
}
