/*
 * charset: add "; charset=NAME" to the Content-Type of responses whose
 * type is in charset_types. Only the label, as nginx's "charset" does
 * when no source_charset is given; recoding bodies is not supported.
 */

#include <bw_http.h>

typedef struct {
    bw_str_t     charset;        /* "off": empty */
    bw_flag_t    set;
    bw_array_t  *types;          /* bw_str_t, lowercase */
} bw_http_charset_loc_conf_t;

static bw_int_t bw_http_charset_filter_init(bw_conf_t *cf);
static void *bw_http_charset_create_loc_conf(bw_conf_t *cf);
static char *bw_http_charset_merge_loc_conf(bw_conf_t *cf, void *parent,
    void *child);
static char *bw_http_charset(bw_conf_t *cf, bw_command_t *cmd, void *conf);
static char *bw_http_charset_types(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);

#define CS_CTX  (BW_HTTP_MAIN_CONF|BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF \
                 |BW_HTTP_LIF_CONF)

static bw_command_t  bw_http_charset_filter_commands[] = {
    { bw_string("charset"), CS_CTX|BW_CONF_TAKE1, bw_http_charset,
      BW_HTTP_LOC_CONF_OFFSET, 0, NULL },
    { bw_string("charset_types"),
      BW_HTTP_MAIN_CONF|BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF|BW_CONF_1MORE,
      bw_http_charset_types, BW_HTTP_LOC_CONF_OFFSET, 0, NULL },
    bw_null_command
};

static bw_http_module_t  bw_http_charset_filter_module_ctx = {
    NULL, bw_http_charset_filter_init, NULL, NULL, NULL, NULL,
    bw_http_charset_create_loc_conf, bw_http_charset_merge_loc_conf
};

bw_module_t  bw_http_charset_filter_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_charset_filter_module_ctx,
    bw_http_charset_filter_commands, NULL, NULL, NULL, NULL
};

static bw_http_output_header_filter_pt  bw_http_next_header_filter;

static const char  *bw_http_charset_default_types[] = {
    "text/html", "text/xml", "text/plain", "text/vnd.wap.wml",
    "application/javascript", "application/rss+xml", NULL
};

static bw_int_t
bw_http_charset_header_filter(bw_http_request_t *r)
{
    size_t                       len;
    u_char                      *semi;
    bw_str_t                    *t;
    bw_uint_t                    i;
    bw_http_charset_loc_conf_t  *clcf;

    clcf = r->loc_conf[bw_http_charset_filter_module.ctx_index];

    if (clcf->charset.len == 0 || r->headers_out.content_type.len == 0
        || r->headers_out.charset.len)
    {
        return bw_http_next_header_filter(r);
    }

    /* the type without parameters; one with a charset already is kept */
    semi = memchr(r->headers_out.content_type.data, ';',
                  r->headers_out.content_type.len);
    if (semi) {
        return bw_http_next_header_filter(r);
    }
    len = r->headers_out.content_type.len;

    t = clcf->types->elts;
    for (i = 0; i < clcf->types->nelts; i++) {
        if ((t[i].len == 1 && t[i].data[0] == '*')
            || (t[i].len == len
                && bw_strncasecmp(t[i].data, r->headers_out.content_type.data,
                                  len) == 0))
        {
            r->headers_out.charset = clcf->charset;
            break;
        }
    }

    return bw_http_next_header_filter(r);
}

static void *
bw_http_charset_create_loc_conf(bw_conf_t *cf)
{
    bw_http_charset_loc_conf_t  *conf;

    conf = bw_pcalloc(cf->pool, sizeof(bw_http_charset_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }
    conf->set = BW_CONF_UNSET;
    return conf;
}

static char *
bw_http_charset_merge_loc_conf(bw_conf_t *cf, void *parent, void *child)
{
    bw_http_charset_loc_conf_t  *prev = parent;
    bw_http_charset_loc_conf_t  *conf = child;
    bw_str_t                    *t;
    const char                 **d;

    if (conf->set == BW_CONF_UNSET) {
        conf->charset = prev->charset;
        conf->set = prev->set;
    }

    if (conf->types == NULL) {
        conf->types = prev->types;
    }

    if (conf->types == NULL) {
        conf->types = bw_array_create(cf->pool, 6, sizeof(bw_str_t));
        if (conf->types == NULL) {
            return BW_CONF_ERROR;
        }
        for (d = bw_http_charset_default_types; *d; d++) {
            t = bw_array_push(conf->types);
            if (t == NULL) {
                return BW_CONF_ERROR;
            }
            t->data = (u_char *) *d;
            t->len = strlen(*d);
        }
        prev->types = conf->types;
    }

    return BW_CONF_OK;
}

static char *
bw_http_charset(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_charset_loc_conf_t  *clcf = conf;
    bw_str_t                    *value;

    if (clcf->set != BW_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;
    clcf->set = 1;

    if (bw_str_eq_lit(&value[1], "off")) {
        clcf->charset.len = 0;
        return BW_CONF_OK;
    }

    clcf->charset = value[1];
    return BW_CONF_OK;
}

static char *
bw_http_charset_types(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_charset_loc_conf_t  *clcf = conf;
    bw_str_t                    *value, *t;
    bw_uint_t                    i;

    if (clcf->types) {
        return "is duplicate";
    }

    clcf->types = bw_array_create(cf->pool, cf->args->nelts + 6,
                                  sizeof(bw_str_t));
    if (clcf->types == NULL) {
        return BW_CONF_ERROR;
    }

    /* as nginx: text/html is always in the list */
    t = bw_array_push(clcf->types);
    if (t == NULL) {
        return BW_CONF_ERROR;
    }
    bw_str_set(t, "text/html");

    value = cf->args->elts;
    for (i = 1; i < cf->args->nelts; i++) {
        t = bw_array_push(clcf->types);
        if (t == NULL) {
            return BW_CONF_ERROR;
        }
        *t = value[i];
    }

    return BW_CONF_OK;
}

static bw_int_t
bw_http_charset_filter_init(bw_conf_t *cf)
{
    bw_http_next_header_filter = bw_http_top_header_filter;
    bw_http_top_header_filter = bw_http_charset_header_filter;
    return BW_OK;
}
