/*
 * The body of an HTTP/1.x answer (an HTTP upstream's, uwsgi's, SCGI's):
 * framed by Content-Length, chunked (decoded in place, so that the
 * buffer holds only data afterwards), or until the upstream closes.
 * Strict: more than Content-Length said is cut and the connection not
 * reused; a broken chunked body ends the response.
 */

#include <bw_http.h>

static bw_int_t bw_http_upstream_chunked_filter(bw_http_request_t *r,
    bw_buf_t *b);
static bw_int_t bw_http_upstream_close_filter(bw_http_request_t *r,
    bw_buf_t *b);

bw_int_t
bw_http_upstream_http_filter_init(bw_http_request_t *r)
{
    bw_http_upstream_t  *u;

    u = r->upstream;

    if (u->headers_in.status_n == BW_HTTP_NO_CONTENT
        || u->headers_in.status_n == BW_HTTP_NOT_MODIFIED
        || (r->method == BW_HTTP_HEAD && !u->head_as_get))
    {
        u->length = 0;
        u->keepalive = !u->headers_in.connection_close
                       && u->buffer.pos == u->buffer.last;
        return BW_OK;
    }

    if (u->headers_in.chunked) {
        u->input_filter = bw_http_upstream_chunked_filter;
        u->length = 1;      /* unknown, not yet done */
        return BW_OK;
    }

    if (u->headers_in.content_length_n >= 0) {
        u->input_filter = bw_http_upstream_length_filter;
        u->length = u->headers_in.content_length_n;
        if (u->length == 0) {
            u->keepalive = !u->headers_in.connection_close
                           && u->buffer.pos == u->buffer.last;
        }
        return BW_OK;
    }

    /* until the upstream closes */
    u->input_filter = bw_http_upstream_close_filter;
    u->length = -1;
    u->keepalive = 0;

    return BW_OK;
}

bw_int_t
bw_http_upstream_length_filter(bw_http_request_t *r, bw_buf_t *b)
{
    off_t                size;
    bw_http_upstream_t  *u;

    u = r->upstream;
    size = b->last - b->pos;

    if (size > u->length) {
        bw_log_error(BW_LOG_WARN, r->connection->log, 0,
                     "upstream sent more data than specified in "
                     "\"Content-Length\" header");
        b->last = b->pos + u->length;
        u->length = 0;
        u->keepalive = 0;
        return BW_OK;
    }

    u->length -= size;

    if (u->length == 0) {
        u->keepalive = !u->headers_in.connection_close;
    }

    return BW_OK;
}

bw_int_t
bw_http_upstream_gateway_filter_init(bw_http_request_t *r)
{
    /* uWSGI and SCGI servers close after each answer */
    r->upstream->headers_in.connection_close = 1;

    return bw_http_upstream_http_filter_init(r);
}

static bw_int_t
bw_http_upstream_close_filter(bw_http_request_t *r, bw_buf_t *b)
{
    return BW_OK;
}

/* Chunked: decode in place, so the buffer holds only data afterwards. */
static bw_int_t
bw_http_upstream_chunked_filter(bw_http_request_t *r, bw_buf_t *b)
{
    u_char               *p, *dst, *data;
    size_t                len;
    bw_int_t              rc;
    bw_http_upstream_t   *u;

    u = r->upstream;

    p = b->pos;
    dst = b->pos;

    while (p < b->last) {
        rc = bw_http_parse_chunked(&u->chunked, &p, b->last, &data, &len);

        if (rc == BW_OK) {
            if (dst != data) {
                memmove(dst, data, len);
            }
            dst += len;
            continue;
        }

        if (rc == BW_DONE) {
            u->length = 0;
            u->keepalive = !u->headers_in.connection_close && p == b->last;
            if (p != b->last) {
                bw_log_error(BW_LOG_WARN, r->connection->log, 0,
                             "upstream sent data after final chunk");
            }
            break;
        }

        if (rc == BW_AGAIN) {
            break;
        }

        bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                     "upstream sent invalid chunked response");
        return BW_ERROR;
    }

    b->last = dst;

    return BW_OK;
}
