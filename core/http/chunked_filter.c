/*
 * Chunked transfer coding for HTTP/1.1 responses of unknown length;
 * HTTP/1.0 clients get a close-delimited body instead.
 */

#include <bw_http.h>

static bw_int_t bw_http_chunked_filter_init(bw_conf_t *cf);

static bw_http_module_t  bw_http_chunked_filter_module_ctx = {
    NULL, bw_http_chunked_filter_init, NULL, NULL, NULL, NULL, NULL, NULL
};

bw_module_t  bw_http_chunked_filter_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_chunked_filter_module_ctx, NULL,
    NULL, NULL, NULL, NULL
};

static bw_http_output_header_filter_pt  bw_http_next_header_filter;
static bw_http_output_body_filter_pt    bw_http_next_body_filter;

static bw_int_t
bw_http_chunked_header_filter(bw_http_request_t *r)
{
    if (r->headers_out.status == BW_HTTP_NOT_MODIFIED
        || r->headers_out.status == BW_HTTP_NO_CONTENT
        || r->headers_out.status < BW_HTTP_OK
        || r != r->main
        || r->method == BW_HTTP_HEAD
        || r->stream)
    {
        /* HTTP/2 frames its own body */
        return bw_http_next_header_filter(r);
    }

    if (r->headers_out.content_length_n == -1 || r->expect_trailers) {
        bw_http_core_loc_conf_t  *clcf;

        clcf = r->loc_conf[bw_http_core_module.ctx_index];

        if (r->http_version >= BW_HTTP_VERSION_11
            && clcf->chunked_transfer_encoding)
        {
            if (r->expect_trailers) {
                /* trailers need the chunked coding, as in nginx */
                bw_http_clear_content_length(r);
            }
            r->chunked = 1;

        } else if (r->headers_out.content_length_n == -1) {
            /* the end of the body is the end of the connection */
            r->keepalive = 0;
        }
    }

    return bw_http_next_header_filter(r);
}

typedef struct {
    bw_chain_t  *free;
    bw_chain_t  *busy;
} bw_http_chunked_ctx_t;

#define BW_HTTP_CHUNK_LINE_SIZE  (sizeof("0000000000000000" BW_CRLF) - 1)

static bw_chain_t *
bw_http_chunked_get_buf(bw_http_request_t *r, bw_http_chunked_ctx_t *ctx)
{
    bw_buf_t    *b;
    bw_chain_t  *cl;

    cl = bw_chain_get_free_buf(r->pool, &ctx->free);
    if (cl == NULL) {
        return NULL;
    }

    b = cl->buf;
    if (b->start == NULL) {
        b->start = bw_pnalloc(r->pool, BW_HTTP_CHUNK_LINE_SIZE);
        if (b->start == NULL) {
            return NULL;
        }
        b->end = b->start + BW_HTTP_CHUNK_LINE_SIZE;
    }

    b->tag = (void *) &bw_http_chunked_filter_module;
    b->temporary = 1;
    b->pos = b->start;
    b->last = b->start;

    return cl;
}

/* The last chunk with the trailer fields (add_trailer) after it. */
static bw_buf_t *
bw_http_chunked_trailers(bw_http_request_t *r, off_t size)
{
    size_t           len;
    u_char          *p;
    bw_buf_t        *b;
    bw_uint_t        i;
    bw_table_elt_t  *h;

    h = r->headers_out.trailers->elts;
    len = sizeof(BW_CRLF "0" BW_CRLF BW_CRLF) - 1;

    for (i = 0; i < r->headers_out.trailers->nelts; i++) {
        len += h[i].key.len + sizeof(": ") - 1 + h[i].value.len + 2;
    }

    b = bw_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NULL;
    }

    p = b->last;
    if (size) {
        *p++ = '\r'; *p++ = '\n';
    }
    *p++ = '0'; *p++ = '\r'; *p++ = '\n';

    for (i = 0; i < r->headers_out.trailers->nelts; i++) {
        p = bw_cpymem(p, h[i].key.data, h[i].key.len);
        *p++ = ':'; *p++ = ' ';
        p = bw_cpymem(p, h[i].value.data, h[i].value.len);
        *p++ = '\r'; *p++ = '\n';
    }

    *p++ = '\r'; *p++ = '\n';
    b->last = p;
    b->temporary = 0;
    return b;
}

/*
 * Each call wraps the data in a size line and a CRLF. The size-line
 * buffers come from a per-request free list, so a response streamed in
 * a million pieces uses the same few buffers over and over.
 */
static bw_int_t
bw_http_chunked_body_filter(bw_http_request_t *r, bw_chain_t *in)
{
    off_t                   size;
    bw_int_t                rc;
    bw_buf_t               *b;
    bw_chain_t             *out, *cl, *tl, **ll;
    bw_http_chunked_ctx_t  *ctx;

    if (in == NULL || !r->chunked || r->header_only) {
        return bw_http_next_body_filter(r, in);
    }

    ctx = bw_http_get_module_ctx(r, bw_http_chunked_filter_module);
    if (ctx == NULL) {
        ctx = bw_pcalloc(r->pool, sizeof(bw_http_chunked_ctx_t));
        if (ctx == NULL) {
            return BW_ERROR;
        }
        bw_http_set_ctx(r, ctx, bw_http_chunked_filter_module);
    }

    out = NULL;
    ll = &out;
    size = 0;
    cl = in;

    for ( ;; ) {
        size += bw_buf_size(cl->buf);

        tl = bw_alloc_chain_link(r->pool);
        if (tl == NULL) {
            return BW_ERROR;
        }
        tl->buf = cl->buf;
        *ll = tl;
        ll = &tl->next;

        if (cl->next == NULL) {
            break;
        }
        cl = cl->next;
    }

    if (size) {
        tl = bw_http_chunked_get_buf(r, ctx);
        if (tl == NULL) {
            return BW_ERROR;
        }
        b = tl->buf;
        b->last = bw_sprint_hex(b->start, (uint64_t) size);
        *b->last++ = '\r';
        *b->last++ = '\n';
        tl->next = out;
        out = tl;
    }

    if (cl->buf->last_buf) {
        tl = bw_alloc_chain_link(r->pool);
        b = (r->headers_out.trailers && r->headers_out.trailers->nelts)
            ? bw_http_chunked_trailers(r, size) : bw_calloc_buf(r->pool);
        if (tl == NULL || b == NULL) {
            return BW_ERROR;
        }
        b->memory = 1;
        b->last_buf = 1;
        if (b->pos == NULL) {
            b->pos = (u_char *) (size ? BW_CRLF "0" BW_CRLF BW_CRLF
                                      : "0" BW_CRLF BW_CRLF);
            b->last = b->pos + (size ? 7 : 5);
        }
        cl->buf->last_buf = 0;

    } else {
        if (size == 0) {
            *ll = NULL;
            return bw_http_next_body_filter(r, out);
        }

        tl = bw_http_chunked_get_buf(r, ctx);
        if (tl == NULL) {
            return BW_ERROR;
        }
        b = tl->buf;
        *b->last++ = '\r';
        *b->last++ = '\n';
    }

    tl->buf = b;
    tl->next = NULL;
    *ll = tl;

    rc = bw_http_next_body_filter(r, out);

    bw_chain_update_chains(r->pool, &ctx->free, &ctx->busy, &out,
                           (void *) &bw_http_chunked_filter_module);

    return rc;
}

static bw_int_t
bw_http_chunked_filter_init(bw_conf_t *cf)
{
    bw_http_next_header_filter = bw_http_top_header_filter;
    bw_http_top_header_filter = bw_http_chunked_header_filter;

    bw_http_next_body_filter = bw_http_top_body_filter;
    bw_http_top_body_filter = bw_http_chunked_body_filter;

    return BW_OK;
}
