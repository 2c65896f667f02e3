/*
 * The uwsgi request packet: a 4-byte header (modifier1, the vars
 * block's size as 16 bits little-endian, modifier2), the vars block
 * (uwsgi_param, then the client's header lines as HTTP_*, each name and
 * value behind its own 16-bit little-endian length), then the body as
 * the client sent it. The vars go in one buffer built per request; the
 * body's buffers (in memory or in a file) follow it as they are. The
 * answer is HTTP/1.x or CGI-style, read by the upstream framework.
 */

#include <bw_http_uwsgi.h>

static u_char *
bw_http_uwsgi_put(u_char *p, u_char *data, size_t len)
{
    *p++ = (u_char) (len & 0xff);
    *p++ = (u_char) ((len >> 8) & 0xff);

    return bw_cpymem(p, data, len);
}

bw_int_t
bw_http_uwsgi_create_request(bw_http_request_t *r)
{
    size_t                           len;
    u_char                          *p;
    bw_buf_t                        *b;
    bw_uint_t                        i;
    bw_array_t                      *params;
    bw_chain_t                      *cl, *body, **ll;
    bw_http_upstream_t              *u;
    bw_http_uwsgi_loc_conf_t        *uwcf;
    bw_http_upstream_param_value_t  *pv;

    u = r->upstream;
    uwcf = bw_http_get_module_loc_conf(r, bw_http_uwsgi_module);

    params = bw_http_upstream_params_eval(r, &uwcf->params,
                                          uwcf->upstream.pass_request_headers);
    if (params == NULL) {
        return BW_ERROR;
    }

    len = 0;
    pv = params->elts;
    for (i = 0; i < params->nelts; i++) {
        len += 2 + pv[i].key.len + 2 + pv[i].value.len;
    }

    if (len > BW_HTTP_UWSGI_VARS_MAX) {
        bw_log_error(BW_LOG_ALERT, r->connection->log, 0,
                     "uwsgi request is too big: %lu", (unsigned long) len);
        return BW_ERROR;
    }

    b = bw_create_temp_buf(r->pool, 4 + len);
    if (b == NULL) {
        return BW_ERROR;
    }

    p = b->last;
    *p++ = (u_char) uwcf->modifier1;
    *p++ = (u_char) (len & 0xff);
    *p++ = (u_char) ((len >> 8) & 0xff);
    *p++ = (u_char) uwcf->modifier2;

    for (i = 0; i < params->nelts; i++) {
        if (pv[i].header) {
            *p++ = (u_char) (pv[i].key.len & 0xff);
            *p++ = (u_char) ((pv[i].key.len >> 8) & 0xff);
            p = bw_http_upstream_param_name(p, pv[i].header);
        } else {
            p = bw_http_uwsgi_put(p, pv[i].key.data, pv[i].key.len);
        }
        p = bw_http_uwsgi_put(p, pv[i].value.data, pv[i].value.len);
    }

    b->last = p;

    cl = bw_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return BW_ERROR;
    }
    cl->buf = b;
    cl->next = NULL;
    u->request_bufs = cl;
    ll = &cl->next;

    if (!uwcf->upstream.pass_request_body || r->request_body == NULL) {
        return BW_OK;
    }

    /* the body's buffers follow the vars as they are; each attempt sends
     * them again from their start (upstream reinit) */
    for (body = r->request_body->bufs; body; body = body->next) {
        cl = bw_alloc_chain_link(r->pool);
        if (cl == NULL) {
            return BW_ERROR;
        }
        cl->buf = body->buf;
        cl->next = NULL;
        *ll = cl;
        ll = &cl->next;
    }

    return BW_OK;
}

/* The answer: HTTP/1.x or CGI-style, read by the framework. */
bw_int_t
bw_http_uwsgi_process_header(bw_http_request_t *r)
{
    bw_http_uwsgi_ctx_t  *ctx;

    ctx = bw_http_get_module_ctx(r, bw_http_uwsgi_module);

    return bw_http_upstream_parse_gateway(r, r->upstream, &ctx->answer);
}

bw_int_t
bw_http_uwsgi_reinit_request(bw_http_request_t *r)
{
    bw_http_uwsgi_ctx_t  *ctx;

    ctx = bw_http_get_module_ctx(r, bw_http_uwsgi_module);
    bw_memzero(ctx, sizeof(bw_http_uwsgi_ctx_t));

    r->upstream->input_filter = bw_http_upstream_length_filter;

    return BW_OK;
}
