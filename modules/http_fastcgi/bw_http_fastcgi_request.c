/*
 * The FastCGI request: BEGIN_REQUEST, the parameters (fastcgi_param and
 * the client's header lines as HTTP_*) in PARAMS records, the body in
 * STDIN records, each stream closed by an empty record. Built once per
 * request in one buffer for the records of the header part; a body on
 * disk is sent from its file in pieces, never read into memory.
 *
 * Also $fastcgi_script_name and $fastcgi_path_info (fastcgi_split_path_info
 * and fastcgi_index), which the parameters use.
 */

#include <bw_http_fastcgi.h>

static u_char  bw_http_fastcgi_zeros[8];

static size_t
bw_http_fastcgi_padding(size_t n)
{
    return (8 - (n & 7)) & 7;
}

static u_char *
bw_http_fastcgi_record_header(u_char *p, bw_uint_t type, size_t len,
    size_t padding)
{
    *p++ = 1;
    *p++ = (u_char) type;
    *p++ = 0;
    *p++ = BW_HTTP_FASTCGI_REQUEST_ID;
    *p++ = (u_char) (len >> 8);
    *p++ = (u_char) len;
    *p++ = (u_char) padding;
    *p++ = 0;

    return p;
}

static size_t
bw_http_fastcgi_pair_len(size_t klen, size_t vlen)
{
    return (klen < 128 ? 1 : 4) + (vlen < 128 ? 1 : 4) + klen + vlen;
}

static u_char *
bw_http_fastcgi_write_len(u_char *p, size_t len)
{
    if (len < 128) {
        *p++ = (u_char) len;
        return p;
    }

    *p++ = (u_char) (((len >> 24) & 0x7f) | 0x80);
    *p++ = (u_char) (len >> 16);
    *p++ = (u_char) (len >> 8);
    *p++ = (u_char) len;

    return p;
}

static u_char *
bw_http_fastcgi_write_pair(u_char *p, bw_http_upstream_param_value_t *pv)
{
    p = bw_http_fastcgi_write_len(p, pv->key.len);
    p = bw_http_fastcgi_write_len(p, pv->value.len);
    if (pv->header) {
        p = bw_http_upstream_param_name(p, pv->header);
    } else {
        p = bw_cpymem(p, pv->key.data, pv->key.len);
    }

    return bw_cpymem(p, pv->value.data, pv->value.len);
}

/*
 * $fastcgi_script_name and $fastcgi_path_info, once per request (the
 * context goes with an internal redirect): fastcgi_split_path_info's
 * two captures of the URI, or the URI and nothing; fastcgi_index after
 * a script name that ends with "/".
 */
bw_http_fastcgi_ctx_t *
bw_http_fastcgi_split(bw_http_request_t *r, bw_http_fastcgi_loc_conf_t *flcf)
{
    int                     captures[9];
    u_char                 *p;
    bw_int_t                n;
    bw_http_fastcgi_ctx_t  *ctx;

    ctx = bw_http_get_module_ctx(r, bw_http_fastcgi_module);
    if (ctx == NULL) {
        ctx = bw_pcalloc(r->pool, sizeof(bw_http_fastcgi_ctx_t));
        if (ctx == NULL) {
            return NULL;
        }
        bw_http_set_ctx(r, ctx, bw_http_fastcgi_module);
    }

    if (ctx->split_done) {
        return ctx;
    }

    ctx->script_name = r->uri;
    ctx->path_info.len = 0;

    if (flcf->split_regex) {
        n = bw_regex_exec(flcf->split_regex, &r->uri, captures, 9);

        if (n == BW_ERROR) {
            bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                         "fastcgi_split_path_info \"%.*s\" failed on "
                         "\"%.*s\"", (int) flcf->split_name.len,
                         flcf->split_name.data, (int) r->uri.len,
                         r->uri.data);
            return NULL;
        }

        if (n != BW_REGEX_NO_MATCHED && n >= 3) {
            ctx->script_name.data = r->uri.data + captures[2];
            ctx->script_name.len = captures[3] - captures[2];
            ctx->path_info.data = r->uri.data + captures[4];
            ctx->path_info.len = captures[5] - captures[4];
        }
    }

    if (flcf->index.len && ctx->script_name.len
        && ctx->script_name.data[ctx->script_name.len - 1] == '/')
    {
        p = bw_pnalloc(r->pool, ctx->script_name.len + flcf->index.len);
        if (p == NULL) {
            return NULL;
        }
        memcpy(p, ctx->script_name.data, ctx->script_name.len);
        memcpy(p + ctx->script_name.len, flcf->index.data, flcf->index.len);
        ctx->script_name.data = p;
        ctx->script_name.len += flcf->index.len;
    }

    ctx->split_done = 1;

    return ctx;
}

/* The body as STDIN records: pieces of its buffers, no copy. */
static bw_int_t
bw_http_fastcgi_body(bw_http_request_t *r, bw_chain_t ***llp)
{
    off_t        size, n, fpos;
    u_char      *pos;
    size_t       pad;
    bw_buf_t    *b, *hb, *pb;
    bw_chain_t  *in, *cl, **ll;

    ll = *llp;

    for (in = r->request_body->bufs; in; in = in->next) {
        b = in->buf;
        size = bw_buf_size(b);
        pos = b->pos;
        fpos = b->file_pos;

        while (size > 0) {
            n = bw_min(size, BW_HTTP_FASTCGI_RECORD_MAX);
            pad = bw_http_fastcgi_padding((size_t) n);

            hb = bw_create_temp_buf(r->pool, BW_HTTP_FASTCGI_HEADER_LEN);
            pb = bw_calloc_buf(r->pool);
            if (hb == NULL || pb == NULL) {
                return BW_ERROR;
            }
            hb->last = bw_http_fastcgi_record_header(hb->last,
                                                     BW_HTTP_FASTCGI_STDIN,
                                                     (size_t) n, pad);

            if (bw_buf_in_memory(b)) {
                pb->memory = 1;
                pb->start = pos;
                pb->pos = pos;
                pb->last = pos + n;
                pb->end = pb->last;
                pos += n;
            } else {
                pb->in_file = 1;
                pb->file = b->file;
                pb->file_pos = fpos;
                pb->file_last = fpos + n;
                fpos += n;
            }

            cl = bw_alloc_chain_link(r->pool);
            if (cl == NULL) {
                return BW_ERROR;
            }
            cl->buf = hb;
            *ll = cl;
            ll = &cl->next;

            cl = bw_alloc_chain_link(r->pool);
            if (cl == NULL) {
                return BW_ERROR;
            }
            cl->buf = pb;
            *ll = cl;
            ll = &cl->next;

            if (pad) {
                pb = bw_calloc_buf(r->pool);
                cl = bw_alloc_chain_link(r->pool);
                if (pb == NULL || cl == NULL) {
                    return BW_ERROR;
                }
                pb->memory = 1;
                pb->start = bw_http_fastcgi_zeros;
                pb->pos = pb->start;
                pb->last = pb->start + pad;
                pb->end = pb->last;
                cl->buf = pb;
                *ll = cl;
                ll = &cl->next;
            }

            size -= n;
        }
    }

    *ll = NULL;
    *llp = ll;

    return BW_OK;
}

bw_int_t
bw_http_fastcgi_create_request(bw_http_request_t *r)
{
    size_t                           len, plen, rlen, n, pad;
    u_char                          *p;
    bw_buf_t                        *b, *eb;
    bw_uint_t                        i, k, has_body, nrecords;
    bw_array_t                      *params;
    bw_chain_t                      *cl, **ll;
    bw_http_upstream_t              *u;
    bw_http_fastcgi_loc_conf_t      *flcf;
    bw_http_upstream_param_value_t  *pv;

    u = r->upstream;
    flcf = bw_http_get_module_loc_conf(r, bw_http_fastcgi_module);

    if (bw_http_fastcgi_split(r, flcf) == NULL) {
        return BW_ERROR;
    }

    params = bw_http_upstream_params_eval(r, &flcf->params,
                                          flcf->upstream.pass_request_headers);
    if (params == NULL) {
        return BW_ERROR;
    }

    /*
     * The PARAMS records hold whole pairs: PHP-FPM (as others) parses
     * each record alone. Most requests' fit in one; a pair that fits in
     * no record is refused, as nginx refuses the request.
     */
    plen = 0;
    rlen = 0;
    nrecords = 1;
    pv = params->elts;
    for (i = 0; i < params->nelts; i++) {
        n = bw_http_fastcgi_pair_len(pv[i].key.len, pv[i].value.len);
        if (n > BW_HTTP_FASTCGI_PARAMS_MAX) {
            bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                         "fastcgi request record is too big: %lu",
                         (unsigned long) n);
            return BW_ERROR;
        }
        if (rlen + n > BW_HTTP_FASTCGI_PARAMS_MAX) {
            nrecords++;
            rlen = 0;
        }
        rlen += n;
        plen += n;
    }

    has_body = flcf->upstream.pass_request_body && r->request_body
               && r->request_body->bufs;

    /* BEGIN_REQUEST, the PARAMS records, the empty one; without a body
     * the empty STDIN too */
    len = 2 * BW_HTTP_FASTCGI_HEADER_LEN
          + nrecords * (BW_HTTP_FASTCGI_HEADER_LEN + 7) + plen
          + BW_HTTP_FASTCGI_HEADER_LEN + BW_HTTP_FASTCGI_HEADER_LEN;

    b = bw_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return BW_ERROR;
    }

    p = bw_http_fastcgi_record_header(b->last,
                                      BW_HTTP_FASTCGI_BEGIN_REQUEST, 8, 0);
    *p++ = 0;
    *p++ = BW_HTTP_FASTCGI_RESPONDER;
    *p++ = flcf->keep_conn ? BW_HTTP_FASTCGI_KEEP_CONN : 0;
    p = bw_cpymem(p, bw_http_fastcgi_zeros, 5);

    for (i = 0; i < params->nelts; /* void */ ) {
        /* one record: as many whole pairs as fit */
        rlen = 0;
        for (k = i; k < params->nelts; k++) {
            n = bw_http_fastcgi_pair_len(pv[k].key.len, pv[k].value.len);
            if (rlen + n > BW_HTTP_FASTCGI_PARAMS_MAX) {
                break;
            }
            rlen += n;
        }

        pad = bw_http_fastcgi_padding(rlen);
        p = bw_http_fastcgi_record_header(p, BW_HTTP_FASTCGI_PARAMS, rlen,
                                          pad);
        for ( /* void */ ; i < k; i++) {
            p = bw_http_fastcgi_write_pair(p, &pv[i]);
        }
        p = bw_cpymem(p, bw_http_fastcgi_zeros, pad);
    }

    p = bw_http_fastcgi_record_header(p, BW_HTTP_FASTCGI_PARAMS, 0, 0);

    b->last = p;

    cl = bw_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return BW_ERROR;
    }
    cl->buf = b;
    cl->next = NULL;
    u->request_bufs = cl;
    ll = &cl->next;

    if (has_body) {
        if (bw_http_fastcgi_body(r, &ll) != BW_OK) {
            return BW_ERROR;
        }

        /* the end of STDIN, after the body */
        eb = bw_create_temp_buf(r->pool, BW_HTTP_FASTCGI_HEADER_LEN);
        cl = bw_alloc_chain_link(r->pool);
        if (eb == NULL || cl == NULL) {
            return BW_ERROR;
        }
        eb->last = bw_http_fastcgi_record_header(eb->last,
                                                 BW_HTTP_FASTCGI_STDIN, 0, 0);
        cl->buf = eb;
        cl->next = NULL;
        *ll = cl;

    } else if (r->request_body == NULL || !r->request_body->stream) {
        b->last = bw_http_fastcgi_record_header(b->last,
                                                BW_HTTP_FASTCGI_STDIN, 0, 0);
    }

    /* a streamed body follows as it comes (bw_http_fastcgi_stream_frame) */

    return BW_OK;
}

/*
 * fastcgi_request_buffering off: the bytes the client sent last, as
 * STDIN records that point into the framework's buffer, and the empty
 * record after the last of them. The buffers and links are the
 * request's, made once for the most records the buffer can need.
 */
bw_chain_t *
bw_http_fastcgi_stream_frame(bw_http_request_t *r, bw_buf_t *data,
    bw_uint_t last)
{
    size_t                  n, size, pad;
    u_char                 *pos, *head;
    bw_uint_t               i, k, max;
    bw_buf_t               *b;
    bw_chain_t             *cl;
    bw_http_fastcgi_ctx_t  *ctx;

    ctx = bw_http_get_module_ctx(r, bw_http_fastcgi_module);

    if (ctx->frame_bufs == NULL) {
        size = (size_t) (data->end - data->start);
        max = size / BW_HTTP_FASTCGI_RECORD_MAX + 1;
        ctx->frame_max = max;
        ctx->frame_bufs = bw_pcalloc(r->pool, (3 * max + 1) * sizeof(bw_buf_t));
        ctx->frame_cl = bw_pcalloc(r->pool,
                                   (3 * max + 1) * sizeof(bw_chain_t));
        ctx->frame_heads = bw_pnalloc(r->pool, (max + 1)
                                               * BW_HTTP_FASTCGI_HEADER_LEN);
        if (ctx->frame_bufs == NULL || ctx->frame_cl == NULL
            || ctx->frame_heads == NULL)
        {
            ctx->frame_bufs = NULL;
            return BW_CHAIN_ERROR;
        }
    }

    pos = data->pos;
    n = (size_t) (data->last - data->pos);
    k = 0;
    head = ctx->frame_heads;

    for (i = 0; n && i < ctx->frame_max; i++) {
        size = bw_min(n, BW_HTTP_FASTCGI_RECORD_MAX);
        pad = bw_http_fastcgi_padding(size);

        b = &ctx->frame_bufs[k++];
        bw_memzero(b, sizeof(bw_buf_t));
        b->memory = 1;
        b->start = head;
        b->pos = head;
        b->last = bw_http_fastcgi_record_header(head, BW_HTTP_FASTCGI_STDIN,
                                                size, pad);
        b->end = b->last;
        head = b->last;

        b = &ctx->frame_bufs[k++];
        bw_memzero(b, sizeof(bw_buf_t));
        b->memory = 1;
        b->start = pos;
        b->pos = pos;
        b->last = pos + size;
        b->end = b->last;

        if (pad) {
            b = &ctx->frame_bufs[k++];
            bw_memzero(b, sizeof(bw_buf_t));
            b->memory = 1;
            b->start = bw_http_fastcgi_zeros;
            b->pos = b->start;
            b->last = b->start + pad;
            b->end = b->last;
        }

        pos += size;
        n -= size;
    }

    if (last) {
        b = &ctx->frame_bufs[k++];
        bw_memzero(b, sizeof(bw_buf_t));
        b->memory = 1;
        b->start = head;
        b->pos = head;
        b->last = bw_http_fastcgi_record_header(head, BW_HTTP_FASTCGI_STDIN,
                                                0, 0);
        b->end = b->last;
    }

    if (k == 0) {
        return NULL;
    }

    cl = ctx->frame_cl;
    for (i = 0; i < k; i++) {
        cl[i].buf = &ctx->frame_bufs[i];
        cl[i].next = (i + 1 < k) ? &cl[i + 1] : NULL;
    }

    return cl;
}
