/*
 * Returns BW_OK, BW_HTTP_BAD_REQUEST for a malformed chunked body, or
 * BW_ERROR when the connection failed.
 *
 * Request bodies that the handler does not need are read and dropped,
 * so that the connection can serve its next request. Bytes that follow
 * the body (a pipelined request) stay in r->header_in.
 */

#include <bw_http.h>

static bw_int_t bw_http_discard_consume(bw_http_request_t *r,
    u_char **pos, u_char *last);

bw_int_t
bw_http_discard_request_body(bw_http_request_t *r)
{
    ssize_t                  n;
    bw_buf_t                *b;
    bw_connection_t         *c;
    bw_http_request_body_t  *rb;

    c = r->connection;

    if (r->request_body == NULL) {
        if (r->headers_in.content_length_n <= 0 && !r->headers_in.chunked) {
            return BW_OK;
        }

        rb = bw_pcalloc(r->pool, sizeof(bw_http_request_body_t));
        if (rb == NULL) {
            return BW_ERROR;
        }
        r->request_body = rb;

        if (r->headers_in.expect) {
            /*
             * No "100 Continue" was sent, so the client may or may not
             * send the body: the framing is unknown and the connection
             * cannot be reused.
             */
            r->keepalive = 0;
            r->lingering_close = 1;
            return BW_OK;
        }

        if (r->headers_in.chunked) {
            rb->chunked = bw_pcalloc(r->pool, sizeof(bw_http_chunked_t));
            if (rb->chunked == NULL) {
                return BW_ERROR;
            }
            rb->rest = 1;
        } else {
            rb->rest = r->headers_in.content_length_n;
        }

        r->discard_body = 1;
    }

    rb = r->request_body;
    b = r->header_in;

    for ( ;; ) {
        if (b->pos < b->last) {
            if (bw_http_discard_consume(r, &b->pos, b->last) != BW_OK) {
                /* the framing is lost: answer 400 and close */
                r->keepalive = 0;
                rb->rest = 0;
                r->discard_body = 0;
                return BW_HTTP_BAD_REQUEST;
            }
        }

        if (rb->rest == 0) {
            r->discard_body = 0;
            return BW_OK;
        }

        if (!c->read->ready) {
            return BW_OK;
        }

        /* read into the header buffer so that what follows survives */
        b->pos = b->start;
        b->last = b->start;

        n = c->recv(c, b->last, rb->chunked ? (size_t) (b->end - b->last)
                                : (size_t) bw_min((off_t) (b->end - b->last),
                                                  rb->rest));
        if (n == BW_AGAIN) {
            return BW_OK;
        }
        if (n == 0 || n == BW_ERROR) {
            c->error = 1;
            return BW_ERROR;
        }

        b->last += n;
        r->request_length += n;
    }
}

static bw_int_t
bw_http_discard_consume(bw_http_request_t *r, u_char **pos, u_char *last)
{
    size_t                   len;
    u_char                  *data;
    bw_int_t                 rc;
    bw_http_request_body_t  *rb;

    rb = r->request_body;

    if (rb->chunked == NULL) {
        len = (size_t) bw_min((off_t) (last - *pos), rb->rest);
        *pos += len;
        rb->rest -= len;
        return BW_OK;
    }

    while (*pos < last) {
        rc = bw_http_parse_chunked(rb->chunked, pos, last, &data, &len);

        if (rc == BW_OK) {
            continue;
        }
        if (rc == BW_DONE) {
            rb->rest = 0;
            return BW_OK;
        }
        if (rc == BW_AGAIN) {
            return BW_OK;
        }

        bw_log_error(BW_LOG_INFO, r->connection->log, 0,
                     "client sent invalid chunked body");
        return BW_ERROR;
    }

    return BW_OK;
}

