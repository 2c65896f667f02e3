/*
 * "api [write=on|off]": the location's content handler. It splits the
 * URI after the location's prefix into segments, answers the version
 * and endpoint lists itself, and hands /http/upstreams to its own file.
 * Errors are nginx Plus's JSON object (status, text, code, request_id,
 * href), so that its clients read them as they read nginx Plus's.
 * A body (POST, PATCH) is read whole into memory first; one too large
 * for client_body_buffer_size is refused, never spilled to a file.
 */

#include "bw_http_api.h"

typedef struct {
    bw_flag_t   enabled;
    bw_flag_t   write;
    bw_int_t    request_id;    /* the variable's index */
} bw_http_api_loc_conf_t;

static char *bw_http_api(bw_conf_t *cf, bw_command_t *cmd, void *conf);
static void *bw_http_api_create_loc_conf(bw_conf_t *cf);
static char *bw_http_api_merge_loc_conf(bw_conf_t *cf, void *parent,
    void *child);

static bw_command_t  bw_http_api_commands[] = {

    { bw_string("api"), BW_HTTP_LOC_CONF|BW_CONF_NOARGS|BW_CONF_TAKE1,
      bw_http_api, BW_HTTP_LOC_CONF_OFFSET, 0, NULL },

    bw_null_command
};

static bw_http_module_t  bw_http_api_module_ctx = {
    NULL, NULL,
    NULL, NULL,
    NULL, NULL,
    bw_http_api_create_loc_conf, bw_http_api_merge_loc_conf
};

bw_module_t  bw_http_api_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_api_module_ctx,
    bw_http_api_commands, NULL, NULL, NULL, NULL
};

bw_int_t
bw_http_api_error(bw_http_api_ctx_t *ctx, bw_uint_t status, const char *code,
    const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    vsnprintf((char *) ctx->text, sizeof(ctx->text), fmt, args);
    va_end(args);

    ctx->status = status;
    ctx->code = code;
    return BW_ERROR;
}

static void
bw_http_api_error_body(bw_http_api_ctx_t *ctx)
{
    bw_str_t                   text, id;
    bw_http_api_loc_conf_t    *alcf;
    bw_http_variable_value_t  *v;

    alcf = bw_http_get_module_loc_conf(ctx->r, bw_http_api_module);

    bw_str_null(&id);
    if (alcf->request_id != BW_ERROR) {
        v = bw_http_get_indexed_variable(ctx->r,
                                         (bw_uint_t) alcf->request_id);
        if (v && !v->not_found) {
            id.data = v->data;
            id.len = v->len;
        }
    }

    text.data = ctx->text;
    text.len = strlen((char *) ctx->text);

    bw_http_api_init_out(&ctx->out, ctx->r->pool);
    bw_http_api_printf(&ctx->out, "{\"error\":{\"status\":%lu,\"text\":",
                       (unsigned long) ctx->status);
    bw_http_api_string(&ctx->out, &text);
    bw_http_api_printf(&ctx->out, ",\"code\":\"%s\"},\"request_id\":",
                       ctx->code);
    bw_http_api_string(&ctx->out, &id);
    bw_http_api_printf(&ctx->out, ",\"href\":\"https://nginx.org/en/docs/"
                       "http/ngx_http_api_module.html\"}\n");
}

/* The URI after the location's prefix, as segments; empty ones (a
 * trailing or doubled slash) are dropped, as nginx Plus does. */
static bw_int_t
bw_http_api_split(bw_http_api_ctx_t *ctx)
{
    u_char                   *p, *end, *s;
    bw_http_request_t        *r;
    bw_http_core_loc_conf_t  *clcf;

    r = ctx->r;
    clcf = bw_http_get_module_loc_conf(r, bw_http_core_module);

    p = r->uri.data;
    end = r->uri.data + r->uri.len;

    if (clcf->regex == NULL && clcf->name.len <= r->uri.len
        && memcmp(r->uri.data, clcf->name.data, clcf->name.len) == 0)
    {
        p += clcf->name.len;
    }

    ctx->nsegs = 0;

    while (p < end) {
        while (p < end && *p == '/') {
            p++;
        }
        if (p == end) {
            break;
        }
        s = p;
        while (p < end && *p != '/') {
            p++;
        }
        if (ctx->nsegs == BW_HTTP_API_MAX_SEGS) {
            return bw_http_api_error(ctx, BW_HTTP_NOT_FOUND, "PathNotFound",
                                     "path not found");
        }
        ctx->seg[ctx->nsegs].data = s;
        ctx->seg[ctx->nsegs].len = p - s;
        ctx->nsegs++;
    }

    return BW_OK;
}

static bw_int_t
bw_http_api_list(bw_http_api_ctx_t *ctx, const char *json)
{
    if (!(ctx->r->method & (BW_HTTP_GET|BW_HTTP_HEAD))) {
        return bw_http_api_error(ctx, BW_HTTP_NOT_ALLOWED,
                                 "MethodNotSupported",
                                 "method not supported");
    }

    bw_http_api_printf(&ctx->out, "%s\n", json);
    ctx->status = BW_HTTP_OK;
    return BW_OK;
}

static bw_int_t
bw_http_api_route(bw_http_api_ctx_t *ctx)
{
    bw_int_t  version;

    if (bw_http_api_split(ctx) != BW_OK) {
        return BW_ERROR;
    }

    if (ctx->nsegs == 0) {
        return bw_http_api_list(ctx, "[1,2,3,4,5,6,7,8,9]");
    }

    version = bw_atoi(ctx->seg[0].data, ctx->seg[0].len);
    if (version < 1 || version > BW_HTTP_API_VERSION) {
        return bw_http_api_error(ctx, BW_HTTP_NOT_FOUND, "UnknownVersion",
                                 "unknown version");
    }

    if (ctx->nsegs == 1) {
        return bw_http_api_list(ctx, "[\"http\"]");
    }

    if (!bw_str_eq_lit(&ctx->seg[1], "http")) {
        return bw_http_api_error(ctx, BW_HTTP_NOT_FOUND, "PathNotFound",
                                 "path not found");
    }

    if (ctx->nsegs == 2) {
        return bw_http_api_list(ctx, "[\"upstreams\"]");
    }

    if (!bw_str_eq_lit(&ctx->seg[2], "upstreams")) {
        return bw_http_api_error(ctx, BW_HTTP_NOT_FOUND, "PathNotFound",
                                 "path not found");
    }

    return bw_http_api_upstreams(ctx);
}

static bw_int_t
bw_http_api_finish(bw_http_api_ctx_t *ctx)
{
    bw_int_t            rc;
    bw_buf_t           *b;
    bw_chain_t          out;
    bw_http_request_t  *r;

    r = ctx->r;

    if (ctx->code) {
        bw_http_api_error_body(ctx);
    }

    if (ctx->out.error) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = ctx->status;
    bw_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_length_n = ctx->out.pos - ctx->out.start;

    if (r->headers_out.content_length_n == 0) {
        r->header_only = 1;
    }

    rc = bw_http_send_header(r);
    if (rc == BW_ERROR || rc > BW_OK || r->header_only) {
        return rc;
    }

    b = bw_calloc_buf(r->pool);
    if (b == NULL) {
        return BW_ERROR;
    }
    b->pos = ctx->out.start;
    b->last = ctx->out.pos;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return bw_http_output_filter(r, &out);
}

/* The body is in memory: make it one string. */
static bw_int_t
bw_http_api_body(bw_http_api_ctx_t *ctx)
{
    u_char             *p;
    size_t              len;
    bw_chain_t         *cl;
    bw_http_request_t  *r;

    r = ctx->r;
    bw_str_null(&ctx->body);

    if (r->request_body == NULL) {
        return BW_OK;
    }

    if (r->request_body->temp_file) {
        return bw_http_api_error(ctx, BW_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                 "BodyTooLarge", "request body is larger "
                                 "than client_body_buffer_size");
    }

    len = 0;
    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        if (cl->buf->in_file) {
            return bw_http_api_error(ctx, BW_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                     "BodyTooLarge", "request body is larger "
                                     "than client_body_buffer_size");
        }
        len += cl->buf->last - cl->buf->pos;
    }

    p = bw_pnalloc(r->pool, len + 1);
    if (p == NULL) {
        return bw_http_api_error(ctx, BW_HTTP_INTERNAL_SERVER_ERROR,
                                 "InternalError", "out of memory");
    }

    ctx->body.data = p;
    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        p = bw_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
    }
    ctx->body.len = len;

    return BW_OK;
}

static void
bw_http_api_body_handler(bw_http_request_t *r)
{
    bw_http_api_ctx_t  *ctx;

    ctx = bw_http_get_module_ctx(r, bw_http_api_module);

    if (bw_http_api_body(ctx) == BW_OK) {
        (void) bw_http_api_route(ctx);
    }

    bw_http_finalize_request(r, bw_http_api_finish(ctx));
}

static bw_int_t
bw_http_api_handler(bw_http_request_t *r)
{
    bw_int_t                 rc;
    bw_http_api_ctx_t       *ctx;
    bw_http_api_loc_conf_t  *alcf;

    alcf = bw_http_get_module_loc_conf(r, bw_http_api_module);

    ctx = bw_pcalloc(r->pool, sizeof(bw_http_api_ctx_t));
    if (ctx == NULL) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }
    ctx->r = r;
    ctx->write = alcf->write;
    bw_http_api_init_out(&ctx->out, r->pool);
    bw_http_set_ctx(r, ctx, bw_http_api_module);

    if (r->method & (BW_HTTP_POST|BW_HTTP_PATCH)) {
        rc = bw_http_read_client_request_body(r, bw_http_api_body_handler);
        if (rc >= BW_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }
        return BW_DONE;
    }

    rc = bw_http_discard_request_body(r);
    if (rc != BW_OK) {
        return rc;
    }

    (void) bw_http_api_route(ctx);

    return bw_http_api_finish(ctx);
}

static char *
bw_http_api(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_api_loc_conf_t  *alcf = conf;

    bw_str_t                 *value, name;
    bw_http_core_loc_conf_t  *clcf;

    if (alcf->enabled != BW_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;
    alcf->enabled = 1;
    alcf->write = 0;

    if (cf->args->nelts == 2) {
        if (bw_str_eq_lit(&value[1], "write=on")) {
            alcf->write = 1;
        } else if (!bw_str_eq_lit(&value[1], "write=off")) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "invalid parameter \"%s\"", value[1].data);
            return BW_CONF_ERROR;
        }
    }

    clcf = bw_http_conf_get_module_loc_conf(cf, bw_http_core_module);
    clcf->handler = bw_http_api_handler;

    bw_str_set(&name, "request_id");
    alcf->request_id = bw_http_get_variable_index(cf, &name);

    return BW_CONF_OK;
}

static void *
bw_http_api_create_loc_conf(bw_conf_t *cf)
{
    bw_http_api_loc_conf_t  *conf;

    conf = bw_palloc(cf->pool, sizeof(bw_http_api_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->enabled = BW_CONF_UNSET;
    conf->write = BW_CONF_UNSET;
    conf->request_id = BW_ERROR;
    return conf;
}

static char *
bw_http_api_merge_loc_conf(bw_conf_t *cf, void *parent, void *child)
{
    bw_http_api_loc_conf_t  *prev = parent;
    bw_http_api_loc_conf_t  *conf = child;

    bw_conf_merge_value(conf->write, prev->write, 0);
    return BW_CONF_OK;
}
