/*
 * Byte ranges (RFC 9110 14): single ranges as 206 with Content-Range,
 * several as multipart/byteranges, unsatisfiable ones as 416. If-Range
 * must match the strong ETag or the exact Last-Modified, else the whole
 * body is sent. Requests for many or overlapping ranges get the whole
 * body too: they cost more than they save.
 */

#include <bw_http_range.h>

typedef struct {
    bw_http_range_t   ranges[BW_HTTP_RANGE_MAX];
    bw_uint_t         nranges;
    bw_str_t          boundary_tail;
    off_t             offset;     /* of the body's next byte (one range) */
    unsigned          done:1;     /* the range went: drop the rest */
} bw_http_range_ctx_t;

static bw_int_t bw_http_range_header_filter_init(bw_conf_t *cf);
static bw_int_t bw_http_range_body_filter_init(bw_conf_t *cf);

static bw_http_module_t  bw_http_range_header_filter_module_ctx = {
    NULL, bw_http_range_header_filter_init, NULL, NULL, NULL, NULL, NULL,
    NULL
};

bw_module_t  bw_http_range_header_filter_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_range_header_filter_module_ctx,
    NULL, NULL, NULL, NULL, NULL
};

static bw_http_module_t  bw_http_range_body_filter_module_ctx = {
    NULL, bw_http_range_body_filter_init, NULL, NULL, NULL, NULL, NULL, NULL
};

bw_module_t  bw_http_range_body_filter_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_range_body_filter_module_ctx,
    NULL, NULL, NULL, NULL, NULL
};

static bw_http_output_header_filter_pt  bw_http_next_header_filter;
static bw_http_output_body_filter_pt    bw_http_next_body_filter;

static bw_int_t bw_http_range_single_body(bw_http_request_t *r,
    bw_http_range_ctx_t *ctx, bw_chain_t *in);

/*
 * Parse "bytes=a-b, c-, -n" against a body of size len. Returns BW_OK
 * with ranges, BW_DECLINED to ignore the header (malformed or too
 * costly), or BW_HTTP_RANGE_NOT_SATISFIABLE.
 */
bw_int_t
bw_http_range_parse(u_char *p, size_t n, off_t len, bw_http_range_t *ranges,
    bw_uint_t *nranges)
{
    u_char    *end;
    off_t      start, last, total, cutoff;
    bw_uint_t  suffix, count;

    end = p + n;
    count = 0;
    total = 0;
    cutoff = BW_MAX_OFF_T_VALUE / 10;

    /* the unit is case-insensitive (RFC 9110 14.1), as in nginx */
    if (n < 6 || bw_strncasecmp(p, (u_char *) "bytes=", 6) != 0) {
        return BW_DECLINED;
    }
    p += 6;

    for ( ;; ) {
        start = 0;
        last = 0;
        suffix = 0;

        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (p < end && *p != '-') {
            if (*p < '0' || *p > '9') {
                return BW_DECLINED;
            }
            while (p < end && *p >= '0' && *p <= '9') {
                if (start >= cutoff) {
                    return BW_DECLINED;
                }
                start = start * 10 + (*p++ - '0');
            }
            while (p < end && (*p == ' ' || *p == '\t')) {
                p++;
            }
            if (p >= end || *p++ != '-') {
                return BW_DECLINED;
            }
            while (p < end && (*p == ' ' || *p == '\t')) {
                p++;
            }
            if (p == end || *p == ',') {
                last = len;
                goto found;
            }
        } else {
            if (p >= end) {
                return BW_DECLINED;
            }
            suffix = 1;
            p++;
        }

        if (p >= end || *p < '0' || *p > '9') {
            return BW_DECLINED;
        }
        while (p < end && *p >= '0' && *p <= '9') {
            if (last >= cutoff) {
                return BW_DECLINED;
            }
            last = last * 10 + (*p++ - '0');
        }
        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }
        if (p < end && *p != ',') {
            return BW_DECLINED;
        }

        if (suffix) {
            start = (last < len) ? len - last : 0;
            last = len;
        } else {
            if (start > last) {
                return BW_DECLINED;
            }
            last = (last >= len) ? len : last + 1;
        }

    found:

        if (start < last && start < len) {
            if (count == BW_HTTP_RANGE_MAX) {
                return BW_DECLINED;
            }
            /* more than the body in all (total stays within len, so
             * len - total cannot overflow, where a sum can: a body
             * near the largest off_t from an upstream's length) */
            if (last - start > len - total) {
                return BW_DECLINED;     /* overlapping: send it all */
            }
            ranges[count].start = start;
            ranges[count].end = last;
            count++;
            total += last - start;

        } else if (start == 0) {
            /* a range from 0 of an empty body ("bytes=0-", a suffix):
             * the whole of it, 200, as nginx; one that starts further
             * is not satisfiable */
            return BW_DECLINED;
        }

        if (p == end) {
            break;
        }
        p++;    /* ',' */
    }

    if (count == 0) {
        return BW_HTTP_RANGE_NOT_SATISFIABLE;
    }

    *nranges = count;
    return BW_OK;
}

static bw_uint_t
bw_http_range_if_range_ok(bw_http_request_t *r)
{
    bw_str_t  *ir;
    time_t     t;

    if (r->headers_in.if_range == NULL) {
        return 1;
    }

    ir = &r->headers_in.if_range->value;

    if (ir->len >= 2 && (ir->data[0] == '"' || ir->data[0] == 'W')) {
        /* an entity tag: only a strong, equal one */
        if (r->headers_out.etag == NULL || ir->data[0] == 'W') {
            return 0;
        }
        return bw_str_eq(ir, &r->headers_out.etag->value);
    }

    t = bw_parse_http_time(ir->data, ir->len);
    return t != -1 && t == r->headers_out.last_modified_time;
}

static bw_int_t
bw_http_range_header_filter(bw_http_request_t *r)
{
    u_char               *p;
    size_t                len;
    bw_int_t              rc;
    bw_str_t              v;
    bw_uint_t             i;
    uint32_t              boundary;
    off_t                 clen;
    bw_table_elt_t           *h;
    bw_http_range_ctx_t      *ctx;
    bw_http_core_loc_conf_t  *clcf;

    clcf = r->loc_conf[bw_http_core_module.ctx_index];

    if (r->http_version < BW_HTTP_VERSION_10
        || r->headers_out.status != BW_HTTP_OK
        || r != r->main
        || r->headers_out.content_length_n == -1
        || !r->allow_ranges
        || clcf->max_ranges == 0)
    {
        /* (max_ranges 0: no ranges, and none offered) */
        return bw_http_next_header_filter(r);
    }

    if (r->headers_in.range == NULL || !bw_http_range_if_range_ok(r)) {
        goto next;
    }

    ctx = bw_pcalloc(r->pool, sizeof(bw_http_range_ctx_t));
    if (ctx == NULL) {
        return BW_ERROR;
    }

    clen = r->headers_out.content_length_n;

    rc = bw_http_range_parse(r->headers_in.range->value.data,
                             r->headers_in.range->value.len, clen,
                             ctx->ranges, &ctx->nranges);

    if (rc == BW_DECLINED
        || (rc == BW_OK && ctx->nranges > clcf->max_ranges)
        || (rc == BW_OK && ctx->nranges > 1 && r->single_range))
    {
        /* more than max_ranges get the whole body, as nginx; and a
         * body that comes in pieces (proxy_force_ranges) is cut to one
         * range only: several get it whole */
        goto next;
    }

    if (rc == BW_HTTP_RANGE_NOT_SATISFIABLE) {
        p = bw_pnalloc(r->pool, sizeof("bytes */") + BW_INT_T_LEN);
        if (p == NULL) {
            return BW_ERROR;
        }
        v.data = p;
        v.len = bw_slprintf(p, p + sizeof("bytes */") + BW_INT_T_LEN,
                            "bytes */%lld", (long long) clen) - p;
        r->headers_out.content_range = bw_http_add_header_out(r,
                                           "Content-Range", &v);
        bw_http_clear_content_length(r);
        return bw_http_filter_finalize_request(r, NULL,
                                               BW_HTTP_RANGE_NOT_SATISFIABLE);
    }

    bw_http_set_ctx(r, ctx, bw_http_range_body_filter_module);

    r->headers_out.status = BW_HTTP_PARTIAL_CONTENT;
    r->headers_out.status_line.len = 0;
    bw_http_clear_accept_ranges(r);

    if (ctx->nranges == 1) {
        p = bw_pnalloc(r->pool, sizeof("bytes -/") + 3 * BW_INT_T_LEN);
        if (p == NULL) {
            return BW_ERROR;
        }
        v.data = p;
        v.len = bw_slprintf(p, p + sizeof("bytes -/") + 3 * BW_INT_T_LEN,
                            "bytes %lld-%lld/%lld",
                            (long long) ctx->ranges[0].start,
                            (long long) ctx->ranges[0].end - 1,
                            (long long) clen) - p;
        r->headers_out.content_range = bw_http_add_header_out(r,
                                           "Content-Range", &v);
        if (r->headers_out.content_range == NULL) {
            return BW_ERROR;
        }
        r->headers_out.content_length_n = ctx->ranges[0].end
                                          - ctx->ranges[0].start;
        r->headers_out.content_offset = ctx->ranges[0].start;
        return bw_http_next_header_filter(r);
    }

    /* multipart/byteranges */

    boundary = (uint32_t) (bw_current_msec ^ (uintptr_t) r) % 100000000;

    len = 0;
    for (i = 0; i < ctx->nranges; i++) {
        p = bw_pnalloc(r->pool, 128 + r->headers_out.content_type.len
                                + 3 * BW_INT_T_LEN);
        if (p == NULL) {
            return BW_ERROR;
        }
        ctx->ranges[i].header.data = p;
        ctx->ranges[i].header.len =
            bw_slprintf(p, p + 128 + r->headers_out.content_type.len
                           + 3 * BW_INT_T_LEN,
                        "\r\n--%010u\r\nContent-Type: %.*s\r\n"
                        "Content-Range: bytes %lld-%lld/%lld\r\n\r\n",
                        (unsigned) boundary,
                        (int) r->headers_out.content_type.len,
                        r->headers_out.content_type.data,
                        (long long) ctx->ranges[i].start,
                        (long long) ctx->ranges[i].end - 1,
                        (long long) clen) - p;
        len += ctx->ranges[i].header.len
               + (size_t) (ctx->ranges[i].end - ctx->ranges[i].start);
    }

    p = bw_pnalloc(r->pool, sizeof("\r\n----\r\n") + 10);
    if (p == NULL) {
        return BW_ERROR;
    }
    ctx->boundary_tail.data = p;
    ctx->boundary_tail.len = bw_slprintf(p, p + sizeof("\r\n----\r\n") + 10,
                                         "\r\n--%010u--\r\n",
                                         (unsigned) boundary) - p;
    len += ctx->boundary_tail.len;

    p = bw_pnalloc(r->pool, sizeof("multipart/byteranges; boundary=") + 10);
    if (p == NULL) {
        return BW_ERROR;
    }
    r->headers_out.content_type.data = p;
    r->headers_out.content_type.len =
        bw_slprintf(p, p + sizeof("multipart/byteranges; boundary=") + 10,
                    "multipart/byteranges; boundary=%010u",
                    (unsigned) boundary) - p;
    r->headers_out.charset.len = 0;

    bw_http_clear_content_length(r);
    r->headers_out.content_length_n = len;

    return bw_http_next_header_filter(r);

next:

    bw_str_set(&v, "bytes");
    h = bw_http_add_header_out(r, "Accept-Ranges", &v);
    if (h == NULL) {
        return BW_ERROR;
    }
    r->headers_out.accept_ranges = h;

    return bw_http_next_header_filter(r);
}

static bw_buf_t *
bw_http_range_slice(bw_http_request_t *r, bw_buf_t *src, off_t start,
    off_t end)
{
    bw_buf_t  *b;

    b = bw_calloc_buf(r->pool);
    if (b == NULL) {
        return NULL;
    }

    if (src->in_file) {
        b->in_file = 1;
        b->file = src->file;
        b->file_pos = src->file_pos + start;
        b->file_last = src->file_pos + end;
    } else {
        b->memory = 1;
        b->pos = src->pos + start;
        b->last = src->pos + end;
    }

    return b;
}

static bw_int_t
bw_http_range_body_filter(bw_http_request_t *r, bw_chain_t *in)
{
    bw_uint_t             i;
    bw_buf_t             *src, *b;
    bw_chain_t           *out, **ll, *cl;
    bw_http_range_ctx_t  *ctx;

    if (in == NULL) {
        return bw_http_next_body_filter(r, in);
    }

    ctx = bw_http_get_module_ctx(r, bw_http_range_body_filter_module);
    if (ctx == NULL) {
        return bw_http_next_body_filter(r, in);
    }

    if (ctx->nranges == 1) {
        return bw_http_range_single_body(r, ctx, in);
    }

    src = in->buf;

    if (in->next || !src->last_buf) {
        /* several ranges need the whole body in one buffer (a file) */
        bw_log_error(BW_LOG_ALERT, r->connection->log, 0,
                     "range body filter got a body in several buffers");
        return BW_ERROR;
    }

    bw_http_set_ctx(r, NULL, bw_http_range_body_filter_module);

    out = NULL;
    ll = &out;

    for (i = 0; i < ctx->nranges; i++) {
        b = bw_calloc_buf(r->pool);
        cl = bw_alloc_chain_link(r->pool);
        if (b == NULL || cl == NULL) {
            return BW_ERROR;
        }
        b->memory = 1;
        b->pos = ctx->ranges[i].header.data;
        b->last = b->pos + ctx->ranges[i].header.len;
        cl->buf = b;
        *ll = cl;
        ll = &cl->next;

        b = bw_http_range_slice(r, src, ctx->ranges[i].start,
                                ctx->ranges[i].end);
        cl = bw_alloc_chain_link(r->pool);
        if (b == NULL || cl == NULL) {
            return BW_ERROR;
        }
        cl->buf = b;
        *ll = cl;
        ll = &cl->next;
    }

    b = bw_calloc_buf(r->pool);
    cl = bw_alloc_chain_link(r->pool);
    if (b == NULL || cl == NULL) {
        return BW_ERROR;
    }
    b->memory = 1;
    b->pos = ctx->boundary_tail.data;
    b->last = b->pos + ctx->boundary_tail.len;
    b->last_buf = 1;
    cl->buf = b;
    cl->next = NULL;
    *ll = cl;

    return bw_http_next_body_filter(r, out);
}

/*
 * One range of a body that comes whole (a file) or in pieces (a proxied
 * response): each buffer is cut in place to its part inside the range
 * and passed on; buffers before the range are consumed unsent (a flush
 * among them still goes); once the range is out, an empty last buffer
 * ends the response and the rest of the body is consumed as it comes.
 */
static bw_int_t
bw_http_range_single_body(bw_http_request_t *r, bw_http_range_ctx_t *ctx,
    bw_chain_t *in)
{
    off_t             start, last, cut;
    bw_buf_t         *b;
    bw_chain_t       *out, **ll, *cl;
    bw_http_range_t  *range;

    range = &ctx->ranges[0];
    out = NULL;
    ll = &out;

    for ( /* void */ ; in; in = in->next) {
        b = in->buf;

        if (ctx->done) {
            b->pos = b->last;
            b->file_pos = b->file_last;
            continue;
        }

        start = ctx->offset;
        last = start + (bw_buf_special(b) ? 0 : bw_buf_size(b));
        ctx->offset = last;

        if (!bw_buf_special(b)
            && (range->end <= start || range->start >= last))
        {
            b->pos = b->last;
            b->file_pos = b->file_last;
            if (!b->flush) {
                continue;
            }
        }

        if (!bw_buf_special(b) && last > start
            && range->end > start && range->start < last)
        {
            if (range->start > start) {
                cut = range->start - start;
                if (bw_buf_in_memory(b)) {
                    b->pos += (size_t) cut;
                }
                if (b->in_file) {
                    b->file_pos += cut;
                }
            }
            if (range->end < last) {
                cut = last - range->end;
                if (bw_buf_in_memory(b)) {
                    b->last -= (size_t) cut;
                }
                if (b->in_file) {
                    b->file_last -= cut;
                }
            }
        }

        cl = bw_alloc_chain_link(r->pool);
        if (cl == NULL) {
            return BW_ERROR;
        }
        cl->buf = b;
        *ll = cl;
        ll = &cl->next;

        if (range->end <= last || b->last_buf) {
            ctx->done = 1;
            if (!b->last_buf) {
                b = bw_calloc_buf(r->pool);
                cl = bw_alloc_chain_link(r->pool);
                if (b == NULL || cl == NULL) {
                    return BW_ERROR;
                }
                b->last_buf = 1;
                cl->buf = b;
                *ll = cl;
                ll = &cl->next;
            }
        }
    }

    *ll = NULL;

    if (out == NULL) {
        return BW_OK;
    }

    return bw_http_next_body_filter(r, out);
}

static bw_int_t
bw_http_range_header_filter_init(bw_conf_t *cf)
{
    bw_http_next_header_filter = bw_http_top_header_filter;
    bw_http_top_header_filter = bw_http_range_header_filter;
    return BW_OK;
}

static bw_int_t
bw_http_range_body_filter_init(bw_conf_t *cf)
{
    bw_http_next_body_filter = bw_http_top_body_filter;
    bw_http_top_body_filter = bw_http_range_body_filter;
    return BW_OK;
}
