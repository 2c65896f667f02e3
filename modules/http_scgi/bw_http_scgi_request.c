/*
 * The SCGI request: a netstring ("<length>:" then the header, then
 * ",") of NUL-terminated names and values, CONTENT_LENGTH first and
 * SCGI "1" next as the protocol asks, then scgi_param and the client's
 * header lines as HTTP_*; then the body as the client sent it. The
 * header goes in one buffer built per request; the body's buffers (in
 * memory or in a file) follow it as they are.
 */

#include <bw_http_scgi.h>

static u_char *
bw_http_scgi_put(u_char *p, u_char *name, size_t nlen, u_char *value,
    size_t vlen)
{
    p = bw_cpymem(p, name, nlen);
    *p++ = '\0';
    p = bw_cpymem(p, value, vlen);
    *p++ = '\0';

    return p;
}

/* SCGI names CONTENT_LENGTH and SCGI once, first: an scgi_param of
 * either name is not sent again */
static bw_uint_t
bw_http_scgi_reserved(bw_http_upstream_param_value_t *pv)
{
    return pv->header == NULL
           && ((pv->key.len == 14
                && memcmp(pv->key.data, "CONTENT_LENGTH", 14) == 0)
               || (pv->key.len == 4 && memcmp(pv->key.data, "SCGI", 4) == 0));
}

bw_int_t
bw_http_scgi_create_request(bw_http_request_t *r)
{
    off_t                            body_len;
    size_t                           len, n;
    u_char                          *p;
    u_char                           clen[BW_INT_T_LEN], nlen[BW_INT_T_LEN];
    bw_buf_t                        *b;
    bw_str_t                         cl_value;
    bw_uint_t                        i, has_body;
    bw_array_t                      *params;
    bw_chain_t                      *cl, *body, **ll;
    bw_http_upstream_t              *u;
    bw_http_scgi_loc_conf_t         *scf;
    bw_http_upstream_param_value_t  *pv;

    u = r->upstream;
    scf = bw_http_get_module_loc_conf(r, bw_http_scgi_module);

    /* the length of what goes: "0" when the body stays here, so that no
     * application waits for bytes that never come */
    has_body = scf->upstream.pass_request_body && r->request_body
               && r->request_body->bufs;

    body_len = 0;
    if (has_body) {
        for (body = r->request_body->bufs; body; body = body->next) {
            body_len += bw_buf_size(body->buf);
        }

    } else if (scf->upstream.pass_request_body && r->request_body
               && r->request_body->stream)
    {
        /* scgi_request_buffering off: it follows as the client sends */
        body_len = r->headers_in.content_length_n;
    }

    cl_value.data = clen;
    cl_value.len = bw_sprint_uint(clen, (uint64_t) body_len) - clen;

    len = sizeof("CONTENT_LENGTH") + cl_value.len + 1 + sizeof("SCGI") + 2;

    params = bw_http_upstream_params_eval(r, &scf->params,
                                          scf->upstream.pass_request_headers);
    if (params == NULL) {
        return BW_ERROR;
    }

    pv = params->elts;
    for (i = 0; i < params->nelts; i++) {
        if (!bw_http_scgi_reserved(&pv[i])) {
            len += pv[i].key.len + 1 + pv[i].value.len + 1;
        }
    }

    n = bw_sprint_uint(nlen, (uint64_t) len) - nlen;

    b = bw_create_temp_buf(r->pool, n + 1 + len + 1);
    if (b == NULL) {
        return BW_ERROR;
    }

    p = bw_cpymem(b->last, nlen, n);
    *p++ = ':';

    p = bw_http_scgi_put(p, (u_char *) "CONTENT_LENGTH", 14, cl_value.data,
                         cl_value.len);
    p = bw_http_scgi_put(p, (u_char *) "SCGI", 4, (u_char *) "1", 1);

    for (i = 0; i < params->nelts; i++) {
        if (bw_http_scgi_reserved(&pv[i])) {
            continue;
        }
        if (pv[i].header) {
            p = bw_http_upstream_param_name(p, pv[i].header);
            *p++ = '\0';
            p = bw_cpymem(p, pv[i].value.data, pv[i].value.len);
            *p++ = '\0';
        } else {
            p = bw_http_scgi_put(p, pv[i].key.data, pv[i].key.len,
                                 pv[i].value.data, pv[i].value.len);
        }
    }

    *p++ = ',';
    b->last = p;

    cl = bw_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return BW_ERROR;
    }
    cl->buf = b;
    cl->next = NULL;
    u->request_bufs = cl;
    ll = &cl->next;

    if (!has_body) {
        return BW_OK;
    }

    /* the body's buffers follow the header as they are; each attempt
     * sends them again from their start (upstream reinit) */
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

/* The answer: CGI-style or HTTP/1.x, read by the framework. */
bw_int_t
bw_http_scgi_process_header(bw_http_request_t *r)
{
    bw_http_scgi_ctx_t  *ctx;

    ctx = bw_http_get_module_ctx(r, bw_http_scgi_module);

    return bw_http_upstream_parse_gateway(r, r->upstream, &ctx->answer);
}

bw_int_t
bw_http_scgi_reinit_request(bw_http_request_t *r)
{
    bw_http_scgi_ctx_t  *ctx;

    ctx = bw_http_get_module_ctx(r, bw_http_scgi_module);
    bw_memzero(ctx, sizeof(bw_http_scgi_ctx_t));

    r->upstream->input_filter = bw_http_upstream_length_filter;

    return BW_OK;
}
