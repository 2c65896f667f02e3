/*
 * HTTP/1.x towards the upstream: the request line and header the proxy
 * sends. The answer is read by the framework's HTTP/1 parser
 * (upstream_headers.c) and body filters (upstream_http_body.c), which
 * are as strict as the request parser: a header that could mean two
 * things is an invalid header, answered with 502 or retried, never
 * guessed at.
 */

#include <bw_http_proxy.h>

static bw_int_t bw_http_proxy_create_request(bw_http_request_t *r);
static bw_int_t bw_http_proxy_create_key(bw_http_request_t *r,
    bw_str_t *key);
static bw_int_t bw_http_proxy_request_uri(bw_http_request_t *r,
    bw_http_proxy_ctx_t *ctx, bw_http_proxy_loc_conf_t *plcf, bw_str_t *uri);
static bw_int_t bw_http_proxy_protocol_line(bw_http_request_t *r,
    bw_str_t *line);
static bw_int_t bw_http_proxy_reinit_request(bw_http_request_t *r);
static bw_int_t bw_http_proxy_process_header(bw_http_request_t *r);

bw_int_t
bw_http_proxy_setup_upstream(bw_http_request_t *r,
    bw_http_proxy_loc_conf_t *plcf)
{
    bw_http_upstream_t  *u;

    u = r->upstream;

    u->conf = &plcf->upstream;
    u->create_request = bw_http_proxy_create_request;
    u->create_key = bw_http_proxy_create_key;
    u->reinit_request = bw_http_proxy_reinit_request;
    u->process_header = bw_http_proxy_process_header;
    u->input_filter_init = bw_http_upstream_http_filter_init;
    u->input_filter = bw_http_upstream_length_filter;
    u->rewrite_redirect = plcf->redirects ? bw_http_proxy_rewrite_redirect
                                          : NULL;
    u->rewrite_cookie = (plcf->cookie_domains || plcf->cookie_paths
                         || plcf->cookie_flags)
                        ? bw_http_proxy_rewrite_cookie : NULL;

    return BW_OK;
}

/*
 * The cache key when proxy_cache_key is not set: as nginx does (its
 * documented "$scheme$proxy_host$request_uri" is not what it uses), the
 * upstream's URL, "http://" host and the URI sent to it, so that two
 * locations that send the same request share the entry.
 */
static bw_int_t
bw_http_proxy_create_key(bw_http_request_t *r, bw_str_t *key)
{
    u_char                    *p;
    bw_str_t                   uri;
    bw_http_proxy_ctx_t       *ctx;
    bw_http_proxy_loc_conf_t  *plcf;

    ctx = bw_http_get_module_ctx(r, bw_http_proxy_module);
    plcf = bw_http_get_module_loc_conf(r, bw_http_proxy_module);

    if (bw_http_proxy_request_uri(r, ctx, plcf, &uri) != BW_OK) {
        return BW_ERROR;
    }

    key->len = ctx->vars.schema.len + ctx->vars.host_header.len + uri.len;
    key->data = bw_pnalloc(r->pool, key->len);
    if (key->data == NULL) {
        return BW_ERROR;
    }

    p = bw_cpymem(key->data, ctx->vars.schema.data, ctx->vars.schema.len);
    p = bw_cpymem(p, ctx->vars.host_header.data, ctx->vars.host_header.len);
    (void) bw_cpymem(p, uri.data, uri.len);

    return BW_OK;
}

/* The URI to send: see proxy_pass in the nginx documentation. */
static bw_int_t
bw_http_proxy_request_uri(bw_http_request_t *r, bw_http_proxy_ctx_t *ctx,
    bw_http_proxy_loc_conf_t *plcf, bw_str_t *uri)
{
    u_char    *p;
    size_t     loc_len, len;
    bw_str_t  *part;

    if (plcf->url_cv) {
        /* proxy_pass with variables: the URI part as evaluated, or the
         * client's URI when there is none */
        if (ctx->vars.uri.len) {
            *uri = ctx->vars.uri;
            return BW_OK;
        }
        part = NULL;
        loc_len = 0;

    } else if (plcf->vars.uri.len == 0) {
        part = NULL;
        loc_len = 0;

    } else {
        part = &plcf->vars.uri;
        loc_len = plcf->location.len;
        if (r->uri.len < loc_len || !r->valid_location) {
            /* rewritten with "break": the new URI goes whole, without
             * proxy_pass's URI part (as nginx documents) */
            loc_len = 0;
            part = NULL;
        }
    }

    if (part == NULL && !r->internal && !r->uri_changed
        && r->valid_unparsed_uri
        && r->unparsed_uri.len && r->unparsed_uri.data[0] == '/')
    {
        /* as the client sent it */
        *uri = r->unparsed_uri;
        return BW_OK;
    }

    len = (part ? part->len : 0)
          + r->uri.len - loc_len
          + bw_escape_uri_len(r->uri.data + loc_len, r->uri.len - loc_len,
                              BW_URI_ESCAPE_PATH)
          + (r->args.len ? 1 + r->args.len : 0);

    p = bw_pnalloc(r->pool, len);
    if (p == NULL) {
        return BW_ERROR;
    }

    uri->data = p;

    if (part) {
        p = bw_cpymem(p, part->data, part->len);
    }

    p = bw_escape_uri(p, r->uri.data + loc_len, r->uri.len - loc_len,
                      BW_URI_ESCAPE_PATH);

    if (r->args.len) {
        *p++ = '?';
        p = bw_cpymem(p, r->args.data, r->args.len);
    }

    uri->len = p - uri->data;

    return BW_OK;
}

/* "PROXY TCP4 client server cport sport\r\n" (v1: readable, enough) */
static bw_int_t
bw_http_proxy_protocol_line(bw_http_request_t *r, bw_str_t *line)
{
    u_char           *p, *last;
    bw_connection_t  *c;

    c = r->connection;

    line->data = bw_pnalloc(r->pool, BW_PROXY_PROTOCOL_V1_MAX);
    if (line->data == NULL) {
        return BW_ERROR;
    }
    p = line->data;
    last = p + BW_PROXY_PROTOCOL_V1_MAX;

    if (bw_http_local_sockaddr(r) != BW_OK
        || c->sockaddr->sa_family != c->local_sockaddr->sa_family
        || (c->sockaddr->sa_family != AF_INET
            && c->sockaddr->sa_family != AF_INET6))
    {
        p = bw_cpymem(p, "PROXY UNKNOWN\r\n", 15);
        line->len = p - line->data;
        return BW_OK;
    }

    p = bw_cpymem(p, c->sockaddr->sa_family == AF_INET ? "PROXY TCP4 "
                                                       : "PROXY TCP6 ", 11);
    p += bw_sock_ntop(c->sockaddr, c->socklen, p, last - p, 0);
    *p++ = ' ';
    p += bw_sock_ntop(c->local_sockaddr, c->local_socklen, p, last - p, 0);
    p = bw_slprintf(p, last, " %d %d\r\n",
                    (int) bw_inet_get_port(c->sockaddr),
                    (int) bw_inet_get_port(c->local_sockaddr));
    line->len = p - line->data;

    return BW_OK;
}

static bw_int_t
bw_http_proxy_create_request(bw_http_request_t *r)
{
    size_t                     len;
    u_char                    *p;
    off_t                      body_len;
    bw_buf_t                  *b;
    bw_str_t                   method, uri, pp, *values;
    bw_uint_t                  i, n;
    bw_chain_t                *cl, *body, **ll;
    bw_list_part_t            *part;
    bw_table_elt_t            *h;
    bw_http_upstream_t        *u;
    bw_http_proxy_ctx_t       *ctx;
    bw_http_proxy_header_t    *ph;
    bw_http_proxy_headers_t   *headers;
    bw_http_proxy_loc_conf_t  *plcf;

    u = r->upstream;
    ctx = bw_http_get_module_ctx(r, bw_http_proxy_module);
    plcf = bw_http_get_module_loc_conf(r, bw_http_proxy_module);

    if (plcf->method) {
        if (bw_http_complex_value(r, plcf->method, &method) != BW_OK) {
            return BW_ERROR;
        }
    } else if (u->head_as_get) {
        /* proxy_cache_convert_head: the stored answer serves GETs too */
        bw_str_set(&method, "GET");
    } else {
        method = r->method_name;
    }

    if (bw_http_proxy_request_uri(r, ctx, plcf, &uri) != BW_OK) {
        return BW_ERROR;
    }

    /* the body: proxy_set_body, the client's, or none */
    body = NULL;
    body_len = -1;

    if (plcf->body_set) {
        bw_str_t  text;

        if (bw_http_complex_value(r, plcf->body_set, &text) != BW_OK) {
            return BW_ERROR;
        }
        b = bw_calloc_buf(r->pool);
        body = bw_alloc_chain_link(r->pool);
        if (b == NULL || body == NULL) {
            return BW_ERROR;
        }
        b->temporary = 1;
        b->start = text.data;
        b->pos = text.data;
        b->last = text.data + text.len;
        b->end = b->last;
        body->buf = b;
        body->next = NULL;
        body_len = text.len;

    } else if (r->request_body && r->request_body->stream) {
        /* sent as it comes: the client's length, or chunked */
        if (r->headers_in.chunked) {
            u->request_chunked = 1;
        } else {
            body_len = r->headers_in.content_length_n;
        }

    } else if (plcf->upstream.pass_request_body && r->request_body
               && r->request_body->bufs)
    {
        body = r->request_body->bufs;
        body_len = 0;
        for (cl = body; cl; cl = cl->next) {
            body_len += bw_buf_size(cl->buf);
        }

    } else if (plcf->upstream.pass_request_body
               && (r->headers_in.content_length_n >= 0
                   || r->headers_in.chunked))
    {
        body_len = 0;
    }

    /* a request the cache is in asks for the whole response */
    headers = u->cache_whole ? &plcf->headers_cache : &plcf->headers;

    /* proxy_set_header values, evaluated once */
    n = headers->headers->nelts;
    values = bw_palloc(r->pool, (n + 1) * sizeof(bw_str_t));
    if (values == NULL) {
        return BW_ERROR;
    }

    len = method.len + 1 + uri.len + sizeof(" HTTP/1.x" BW_CRLF) - 1
          + sizeof(BW_CRLF) - 1;

    /* proxy_protocol on: who the client is, before the request */
    pp.len = 0;
    if (plcf->upstream.proxy_protocol == 1) {
        if (bw_http_proxy_protocol_line(r, &pp) != BW_OK) {
            return BW_ERROR;
        }
        len += pp.len;
    }

    ph = headers->headers->elts;
    for (i = 0; i < n; i++) {
        if (ph[i].chunked) {
            values[i].len = 0;
            if (u->request_chunked) {
                bw_str_set(&values[i], "chunked");
            }

        } else if (ph[i].content_length) {
            values[i].len = 0;
            if (body_len >= 0) {
                values[i].data = bw_pnalloc(r->pool, BW_INT_T_LEN);
                if (values[i].data == NULL) {
                    return BW_ERROR;
                }
                values[i].len = bw_sprint_uint(values[i].data,
                                               (uint64_t) body_len)
                                - values[i].data;
            }
        } else if (bw_http_complex_value(r, &ph[i].value, &values[i])
                   != BW_OK)
        {
            return BW_ERROR;
        }

        if (values[i].len) {
            len += ph[i].key.len + 2 + values[i].len + 2;
        }
    }

    if (plcf->upstream.pass_request_headers) {
        part = &r->headers_in.headers.part;
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
            if (bw_hash_find(&headers->names, h[i].hash,
                             h[i].lowcase_key, h[i].key.len))
            {
                continue;
            }
            len += h[i].key.len + 2 + h[i].value.len + 2;
        }
    }

    b = bw_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return BW_ERROR;
    }

    p = b->last;
    if (pp.len) {
        p = bw_cpymem(p, pp.data, pp.len);
    }
    p = bw_cpymem(p, method.data, method.len);
    *p++ = ' ';
    p = bw_cpymem(p, uri.data, uri.len);
    if (plcf->http_version == BW_HTTP_VERSION_11) {
        p = bw_cpymem(p, " HTTP/1.1" BW_CRLF, sizeof(" HTTP/1.1" BW_CRLF) - 1);
    } else {
        p = bw_cpymem(p, " HTTP/1.0" BW_CRLF, sizeof(" HTTP/1.0" BW_CRLF) - 1);
    }

    for (i = 0; i < n; i++) {
        if (values[i].len == 0) {
            continue;   /* an empty value removes the header */
        }
        p = bw_cpymem(p, ph[i].key.data, ph[i].key.len);
        *p++ = ':';
        *p++ = ' ';
        p = bw_cpymem(p, values[i].data, values[i].len);
        *p++ = '\r';
        *p++ = '\n';
    }

    if (plcf->upstream.pass_request_headers) {
        part = &r->headers_in.headers.part;
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
            if (bw_hash_find(&headers->names, h[i].hash,
                             h[i].lowcase_key, h[i].key.len))
            {
                continue;
            }
            p = bw_cpymem(p, h[i].key.data, h[i].key.len);
            *p++ = ':';
            *p++ = ' ';
            p = bw_cpymem(p, h[i].value.data, h[i].value.len);
            *p++ = '\r';
            *p++ = '\n';
        }
    }

    *p++ = '\r';
    *p++ = '\n';
    b->last = p;

    cl = bw_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return BW_ERROR;
    }
    cl->buf = b;
    cl->next = NULL;
    u->request_bufs = cl;
    ll = &cl->next;

    /* the body buffers follow the header; the chain is rebuilt for each
     * attempt only in positions (upstream reinit) */
    for ( /* void */ ; body; body = body->next) {
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

static bw_int_t
bw_http_proxy_reinit_request(bw_http_request_t *r)
{
    bw_http_proxy_ctx_t  *ctx;

    ctx = bw_http_get_module_ctx(r, bw_http_proxy_module);

    bw_memzero(&ctx->http, sizeof(bw_http_upstream_http_parse_t));

    r->upstream->input_filter = bw_http_upstream_length_filter;

    return BW_OK;
}

static bw_int_t
bw_http_proxy_process_header(bw_http_request_t *r)
{
    bw_http_proxy_ctx_t  *ctx;

    ctx = bw_http_get_module_ctx(r, bw_http_proxy_module);

    return bw_http_upstream_parse_http(r, r->upstream, &ctx->http);
}
