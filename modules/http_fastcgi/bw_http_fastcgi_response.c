/*
 * The FastCGI response: its records decoded in place (STDOUT kept,
 * STDERR logged, END_REQUEST the end of the body), the CGI header at the
 * start of STDOUT ("Status:", Location, the rest as HTTP header lines),
 * then the body as it comes, to the framework's buffers.
 *
 * Decoding in place only ever moves bytes towards the start of the
 * buffer, so the framework's buffers and back-pressure work as for HTTP;
 * a broken record stream ends the response (502 before the header, a
 * cut body after it), never a guess.
 */

#include <bw_http_fastcgi.h>

static void
bw_http_fastcgi_stderr(bw_http_request_t *r, bw_str_t *s)
{
    u_char  *p, *last;

    p = s->data;
    last = p + s->len;

    /* as nginx: the message without its line ends */
    while (last > p && (last[-1] == '\n' || last[-1] == '\r'
                        || last[-1] == ' ' || last[-1] == '\0'))
    {
        last--;
    }
    while (p < last && (*p == '\n' || *p == '\r')) {
        p++;
    }

    if (p == last) {
        return;
    }

    bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                 "FastCGI sent in stderr: \"%.*s\"", (int) (last - p), p);
}

/* fastcgi_catch_stderr: a string that makes the response a failure */
static bw_uint_t
bw_http_fastcgi_caught(bw_http_fastcgi_loc_conf_t *flcf, bw_str_t *s)
{
    bw_uint_t   i;
    bw_str_t   *pat;

    if (flcf->catch_stderr == NULL) {
        return 0;
    }

    pat = flcf->catch_stderr->elts;
    for (i = 0; i < flcf->catch_stderr->nelts; i++) {
        if (bw_strlcasestrn(s->data, s->data + s->len, pat[i].data,
                            pat[i].len))
        {
            return 1;
        }
    }

    return 0;
}

static void
bw_http_fastcgi_log_bad(bw_http_request_t *r, bw_http_fastcgi_ctx_t *ctx,
    bw_int_t rc)
{
    const char  *what;

    switch (rc) {
    case BW_HTTP_FASTCGI_BAD_VERSION:
        what = "upstream sent unsupported FastCGI protocol version";
        break;
    case BW_HTTP_FASTCGI_BAD_TYPE:
        bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                     "upstream sent invalid FastCGI record type: %lu",
                     (unsigned long) ctx->parser.type);
        return;
    default:
        what = "upstream sent unexpected FastCGI request id";
        break;
    }

    bw_log_error(BW_LOG_ERR, r->connection->log, 0, "%s", what);
}

/*
 * Decode the records in [from, b->last) in place: STDOUT's bytes are
 * moved to "from" onwards, b->last is the end of them. BW_OK (ctx's
 * parser says whether END_REQUEST came), or BW_ERROR, logged.
 */
static bw_int_t
bw_http_fastcgi_decode(bw_http_request_t *r, bw_http_fastcgi_ctx_t *ctx,
    bw_buf_t *b, u_char *from, bw_uint_t *extra)
{
    u_char                      *p, *dst;
    bw_int_t                     rc;
    bw_str_t                     out;
    bw_http_fastcgi_loc_conf_t  *flcf;

    flcf = bw_http_get_module_loc_conf(r, bw_http_fastcgi_module);

    p = from;
    dst = from;
    *extra = 0;

    for ( ;; ) {
        rc = bw_http_fastcgi_parse(&ctx->parser, &p, b->last, &out);

        if (rc == BW_HTTP_FASTCGI_STDOUT_DATA) {
            if (dst != out.data) {
                memmove(dst, out.data, out.len);
            }
            dst += out.len;
            continue;
        }

        if (rc == BW_HTTP_FASTCGI_STDERR_DATA) {
            bw_http_fastcgi_stderr(r, &out);
            /* as nginx: only an answer not yet begun can be refused */
            if (!ctx->body_started && bw_http_fastcgi_caught(flcf, &out)) {
                bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                             "FastCGI stderr matched "
                             "\"fastcgi_catch_stderr\"");
                return BW_ERROR;
            }
            continue;
        }

        if (rc == BW_HTTP_FASTCGI_END) {
            if (p != b->last) {
                bw_log_error(BW_LOG_WARN, r->connection->log, 0,
                             "upstream sent data after the FastCGI "
                             "END_REQUEST record");
                *extra = 1;
            }
            break;
        }

        if (rc == BW_HTTP_FASTCGI_NEED) {
            break;
        }

        bw_http_fastcgi_log_bad(r, ctx, rc);
        return BW_ERROR;
    }

    b->last = dst;

    return BW_OK;
}

bw_int_t
bw_http_fastcgi_reinit_request(bw_http_request_t *r)
{
    bw_http_fastcgi_ctx_t  *ctx;

    ctx = bw_http_get_module_ctx(r, bw_http_fastcgi_module);

    bw_memzero(&ctx->parser, sizeof(bw_http_fastcgi_parser_t));
    bw_memzero(&ctx->cgi, sizeof(bw_http_upstream_cgi_parse_t));
    ctx->decoded = NULL;
    ctx->body_started = 0;
    ctx->extra = 0;

    return BW_OK;
}

bw_int_t
bw_http_fastcgi_process_header(bw_http_request_t *r)
{
    bw_int_t                rc;
    bw_uint_t               extra;
    bw_http_upstream_t     *u;
    bw_http_fastcgi_ctx_t  *ctx;

    u = r->upstream;
    ctx = bw_http_get_module_ctx(r, bw_http_fastcgi_module);

    if (ctx->decoded == NULL) {
        ctx->decoded = u->buffer.pos;
    }

    if (bw_http_fastcgi_decode(r, ctx, &u->buffer, ctx->decoded, &extra)
        != BW_OK)
    {
        return BW_HTTP_UPSTREAM_INVALID_HEADER;
    }

    ctx->decoded = u->buffer.last;
    ctx->extra = extra;

    rc = bw_http_upstream_parse_cgi(r, u, &ctx->cgi, 0);

    if (rc == BW_AGAIN && ctx->parser.state == bw_fcgi_st_done) {
        bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                     "upstream prematurely closed FastCGI stdout");
        return BW_HTTP_UPSTREAM_INVALID_HEADER;
    }

    return rc;
}

bw_int_t
bw_http_fastcgi_input_filter_init(bw_http_request_t *r)
{
    bw_http_upstream_t          *u;
    bw_http_fastcgi_ctx_t       *ctx;
    bw_http_fastcgi_loc_conf_t  *flcf;

    u = r->upstream;
    ctx = bw_http_get_module_ctx(r, bw_http_fastcgi_module);
    flcf = bw_http_get_module_loc_conf(r, bw_http_fastcgi_module);

    ctx->rest = u->headers_in.content_length_n;
    ctx->body_started = 0;

    if (ctx->parser.state == bw_fcgi_st_done) {
        /* the whole response came with the header */
        u->length = 1;      /* the filter says 0 once it saw the rest */
        if (u->buffer.pos == u->buffer.last) {
            u->length = 0;
            u->keepalive = flcf->keep_conn && !ctx->extra;
            ctx->body_started = 1;
        }
        return BW_OK;
    }

    u->length = 1;          /* unknown, until END_REQUEST */
    u->keepalive = 0;

    return BW_OK;
}

/* Content-Length, when the application sent one: no more than it said;
 * less is a cut response */
static bw_int_t
bw_http_fastcgi_length(bw_http_request_t *r, bw_http_fastcgi_ctx_t *ctx,
    bw_buf_t *b)
{
    off_t  size;

    if (ctx->rest < 0) {
        return BW_OK;
    }

    size = b->last - b->pos;

    if (size > ctx->rest) {
        bw_log_error(BW_LOG_WARN, r->connection->log, 0,
                     "upstream sent more data than specified in "
                     "\"Content-Length\" header");
        b->last = b->pos + ctx->rest;
        size = ctx->rest;
    }

    ctx->rest -= size;

    return BW_OK;
}

static bw_int_t
bw_http_fastcgi_body_end(bw_http_request_t *r, bw_http_fastcgi_ctx_t *ctx)
{
    bw_http_upstream_t          *u;
    bw_http_fastcgi_loc_conf_t  *flcf;

    u = r->upstream;
    flcf = bw_http_get_module_loc_conf(r, bw_http_fastcgi_module);

    u->length = 0;
    u->keepalive = flcf->keep_conn && !ctx->extra;

    if (ctx->rest > 0) {
        /* what came goes to the client, then the connection closes: a
         * client that was told the length sees the answer is cut */
        bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                     "upstream prematurely closed FastCGI stdout: %lld "
                     "bytes of \"Content-Length\" missing",
                     (long long) ctx->rest);
        r->keepalive = 0;
    }

    return BW_OK;
}

bw_int_t
bw_http_fastcgi_input_filter(bw_http_request_t *r, bw_buf_t *b)
{
    bw_uint_t               extra;
    bw_http_upstream_t     *u;
    bw_http_fastcgi_ctx_t  *ctx;

    u = r->upstream;
    ctx = bw_http_get_module_ctx(r, bw_http_fastcgi_module);

    if (b == &u->buffer && !ctx->body_started) {
        /* what came with the header is decoded already */
        ctx->body_started = 1;

    } else {
        if (ctx->parser.state == bw_fcgi_st_done) {
            bw_log_error(BW_LOG_WARN, r->connection->log, 0,
                         "upstream sent data after the FastCGI "
                         "END_REQUEST record");
            b->last = b->pos;
            u->keepalive = 0;
            return BW_OK;
        }

        if (bw_http_fastcgi_decode(r, ctx, b, b->pos, &extra) != BW_OK) {
            return BW_ERROR;
        }
        ctx->extra |= extra;
    }

    if (bw_http_fastcgi_length(r, ctx, b) != BW_OK) {
        return BW_ERROR;
    }

    if (r->header_only) {
        /* a HEAD's answer: the application's body is read, not sent */
        b->last = b->pos;
    }

    if (ctx->parser.state == bw_fcgi_st_done) {
        return bw_http_fastcgi_body_end(r, ctx);
    }

    return BW_OK;
}
