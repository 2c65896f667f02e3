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
        || r->method == BW_HTTP_HEAD)
    {
        return bw_http_next_header_filter(r);
    }

    if (r->headers_out.content_length_n == -1) {
        if (r->http_version >= BW_HTTP_VERSION_11) {
            r->chunked = 1;
        } else {
            r->keepalive = 0;
        }
    }

    return bw_http_next_header_filter(r);
}

static bw_int_t
bw_http_chunked_body_filter(bw_http_request_t *r, bw_chain_t *in)
{
    off_t        size;
    u_char      *chunk;
    bw_buf_t    *b;
    bw_chain_t  *out, *cl, *tl, **ll;

    if (in == NULL || !r->chunked || r->header_only) {
        return bw_http_next_body_filter(r, in);
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
        b = bw_calloc_buf(r->pool);
        chunk = bw_pnalloc(r->pool, sizeof("0000000000000000" BW_CRLF) - 1);
        tl = bw_alloc_chain_link(r->pool);
        if (b == NULL || chunk == NULL || tl == NULL) {
            return BW_ERROR;
        }
        b->temporary = 1;
        b->pos = chunk;
        b->last = bw_sprint_hex(chunk, (uint64_t) size);
        *b->last++ = '\r';
        *b->last++ = '\n';
        tl->buf = b;
        tl->next = out;
        out = tl;
    }

    b = bw_calloc_buf(r->pool);
    tl = bw_alloc_chain_link(r->pool);
    if (b == NULL || tl == NULL) {
        return BW_ERROR;
    }

    if (cl->buf->last_buf) {
        b->memory = 1;
        b->last_buf = 1;
        b->pos = (u_char *) (size ? BW_CRLF "0" BW_CRLF BW_CRLF
                                  : "0" BW_CRLF BW_CRLF);
        b->last = b->pos + (size ? 7 : 5);
        cl->buf->last_buf = 0;
        *ll = tl;
    } else {
        if (size == 0) {
            *ll = NULL;
            return bw_http_next_body_filter(r, out);
        }
        b->memory = 1;
        b->pos = (u_char *) BW_CRLF;
        b->last = b->pos + 2;
        *ll = tl;
    }

    tl->buf = b;
    tl->next = NULL;

    return bw_http_next_body_filter(r, out);
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
