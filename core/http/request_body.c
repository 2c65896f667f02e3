/*
 * Request bodies: read for handlers that need them (proxy), or read and
 * dropped so that the connection can serve its next request.
 *
 * A body that fits client_body_buffer_size stays in memory; a larger one
 * goes to a temp file under client_body_temp_path in buffer-sized
 * writes, so a worker never holds more than one buffer per request.
 * Chunked bodies are decoded on the way in. Neither reader ever reads
 * past the end of the body: bytes of a pipelined request stay in the
 * socket or in r->header_in.
 *
 * With r->request_body_no_buffering (proxy_request_buffering off) the
 * body is not read up front: the handler starts at once and takes the
 * body one buffer at a time with bw_http_read_unbuffered_request_body(),
 * as fast as it can pass it on.
 */

#include <bw_http.h>

static bw_int_t bw_http_do_read_client_request_body(bw_http_request_t *r);
static void bw_http_read_client_request_body_handler(bw_http_request_t *r);
static bw_int_t bw_http_request_body_recv(bw_http_request_t *r,
    size_t room);
static bw_int_t bw_http_request_body_consume(bw_http_request_t *r,
    u_char **pos, u_char *last);
static bw_int_t bw_http_request_body_save(bw_http_request_t *r, u_char *p,
    size_t len);
static bw_int_t bw_http_request_body_done(bw_http_request_t *r);
static bw_int_t bw_http_request_body_temp_file(bw_http_request_t *r);
static bw_int_t bw_http_test_expect(bw_http_request_t *r, bw_uint_t body);
static bw_uint_t bw_http_body_preread(bw_http_request_t *r);
static bw_int_t bw_http_discard_consume(bw_http_request_t *r,
    u_char **pos, u_char *last);

/*
 * Returns BW_OK or BW_AGAIN (post_handler runs when the body is in; the
 * caller returns BW_DONE), or a status >= 300 for the caller to finalize
 * the request with.
 */
bw_int_t
bw_http_read_client_request_body(bw_http_request_t *r,
    bw_http_client_body_handler_pt post_handler)
{
    bw_int_t                  rc;
    size_t                    size;
    bw_http_request_body_t   *rb;
    bw_http_core_loc_conf_t  *clcf;

    r->main->count++;

    /* a subrequest never reads the client: the bytes are the main
     * request's, whatever it did with them */
    if (r != r->main) {
        r->request_body_no_buffering = 0;
        post_handler(r);
        return BW_OK;
    }

    if (r->request_body || r->discard_body) {
        post_handler(r);
        return BW_OK;
    }

    rb = bw_pcalloc(r->pool, sizeof(bw_http_request_body_t));
    if (rb == NULL) {
        rc = BW_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }
    r->request_body = rb;
    rb->post_handler = post_handler;

    if (r->headers_in.content_length_n <= 0 && !r->headers_in.chunked) {
        /* nothing to stream: retries stay possible */
        r->request_body_no_buffering = 0;
        if (bw_http_test_expect(r, 0) != BW_OK) {
            rc = BW_HTTP_INTERNAL_SERVER_ERROR;
            goto done;
        }
        post_handler(r);
        return BW_OK;
    }

    if (bw_http_test_expect(r, 1) != BW_OK) {
        rc = BW_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    clcf = r->loc_conf[bw_http_core_module.ctx_index];
    size = clcf->client_body_buffer_size;

    if (r->headers_in.chunked) {
        rb->chunked = bw_pcalloc(r->pool, sizeof(bw_http_chunked_t));
        rb->raw = bw_create_temp_buf(r->pool, bw_min(size, 8192));
        if (rb->chunked == NULL || rb->raw == NULL) {
            rc = BW_HTTP_INTERNAL_SERVER_ERROR;
            goto done;
        }
        rb->rest = 1;

    } else {
        rb->rest = r->headers_in.content_length_n;
        if ((off_t) size > rb->rest
            || r->header_in->last - r->header_in->pos >= rb->rest)
        {
            /* all of it came with the header (whose buffer bounds it):
             * it stays in memory, as in nginx */
            size = (size_t) rb->rest;
        }
    }

    rb->buf = bw_create_temp_buf(r->pool, size);
    if (rb->buf == NULL) {
        rc = BW_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    r->reading_body = 1;
    r->write_event_handler = bw_http_request_empty_handler;

    if (r->request_body_no_buffering && bw_http_body_preread(r)) {
        /* the whole body came with the header: nothing is gained by
         * streaming it, and a body at hand can be sent again to the next
         * upstream (as nginx) */
        r->request_body_no_buffering = 0;
    }

    if (r->request_body_no_buffering) {
        rb->stream = 1;
        r->read_event_handler = bw_http_request_empty_handler;
        post_handler(r);
        return BW_OK;
    }

    r->read_event_handler = bw_http_read_client_request_body_handler;

    rc = bw_http_do_read_client_request_body(r);

done:

    if (rc >= BW_HTTP_SPECIAL_RESPONSE) {
        r->main->count--;
    }

    return rc;
}

/* Does r->header_in hold the whole body? (a chunked one is parsed on a
 * copy of the decoder's state: nothing is consumed) */
static bw_uint_t
bw_http_body_preread(bw_http_request_t *r)
{
    u_char             *p, *data;
    size_t              len;
    bw_int_t            rc;
    bw_buf_t           *b;
    bw_http_chunked_t   ch;

    b = r->header_in;

    if (!r->headers_in.chunked) {
        return b->last - b->pos >= r->headers_in.content_length_n;
    }

    ch = *r->request_body->chunked;
    p = b->pos;

    do {
        rc = bw_http_parse_chunked(&ch, &p, b->last, &data, &len);
    } while (rc == BW_OK);

    return rc == BW_DONE;
}

static void
bw_http_read_client_request_body_handler(bw_http_request_t *r)
{
    bw_int_t  rc;

    if (r->connection->read->timedout) {
        r->connection->timedout = 1;
        bw_log_error(BW_LOG_INFO, r->connection->log, ETIMEDOUT,
                     "client timed out while sending the request body");
        bw_http_finalize_request(r, BW_HTTP_REQUEST_TIME_OUT);
        return;
    }

    rc = bw_http_do_read_client_request_body(r);

    if (rc >= BW_HTTP_SPECIAL_RESPONSE) {
        bw_http_finalize_request(r, rc);
    }
}

static bw_int_t
bw_http_do_read_client_request_body(bw_http_request_t *r)
{
    u_char                   *pos;
    bw_int_t                  rc;
    bw_buf_t                 *b;
    bw_connection_t          *c;
    bw_http_request_body_t   *rb;
    bw_http_core_loc_conf_t  *clcf;

    c = r->connection;
    rb = r->request_body;

    /* what came with the header first */
    b = r->header_in;
    if (b->pos < b->last) {
        pos = b->pos;
        rc = bw_http_request_body_consume(r, &b->pos, b->last);
        r->request_length += b->pos - pos;
        if (rc != BW_OK) {
            return rc;
        }
    }

    while (rb->rest) {
        if (!c->read->ready) {
            clcf = r->loc_conf[bw_http_core_module.ctx_index];
            bw_event_add_timer(c->read, clcf->client_body_timeout);
            return BW_AGAIN;
        }

        /* a full buffer goes to the temp file before the next read */
        if (rb->chunked == NULL && rb->buf->last == rb->buf->end
            && bw_http_request_body_save(r, NULL, 0) != BW_OK)
        {
            return BW_HTTP_INTERNAL_SERVER_ERROR;
        }

        rc = bw_http_request_body_recv(r, (size_t) -1);

        if (rc != BW_OK && rc != BW_AGAIN) {
            return rc;
        }
    }

    if (c->read->timer_set) {
        bw_event_del_timer(c->read);
    }

    if (bw_http_request_body_done(r) != BW_OK) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->reading_body = 0;
    r->read_event_handler = bw_http_block_reading;
    rb->post_handler(r);

    return BW_OK;
}

/*
 * Streaming: fill rb->buf with what the client has sent so far, never
 * more than it holds. BW_OK: rb->buf holds data, or the body is complete
 * (rb->rest == 0); BW_AGAIN: nothing yet, the client's read event will
 * tell; a status >= 300 on a client error. The caller empties rb->buf
 * (pos up to last) before it asks again.
 */
bw_int_t
bw_http_read_unbuffered_request_body(bw_http_request_t *r)
{
    u_char                   *pos;
    bw_int_t                  rc;
    bw_buf_t                 *b, *buf;
    bw_connection_t          *c;
    bw_http_request_body_t   *rb;
    bw_http_core_loc_conf_t  *clcf;

    c = r->connection;
    rb = r->request_body;
    buf = rb->buf;

    if (c->read->timedout) {
        c->timedout = 1;
        bw_log_error(BW_LOG_INFO, c->log, ETIMEDOUT,
                     "client timed out while sending the request body");
        return BW_HTTP_REQUEST_TIME_OUT;
    }

    if (buf->pos == buf->last) {
        buf->pos = buf->start;
        buf->last = buf->start;
    }

    b = r->header_in;
    if (b->pos < b->last && rb->rest) {
        pos = b->pos;
        rc = bw_http_request_body_consume(r, &b->pos, b->last);
        r->request_length += b->pos - pos;
        if (rc != BW_OK) {
            return rc;
        }
    }

    while (rb->rest && buf->last < buf->end && c->read->ready) {
        /* framing only shrinks: what is read always fits decoded */
        rc = bw_http_request_body_recv(r, (size_t) (buf->end - buf->last));

        if (rc == BW_AGAIN) {
            break;
        }

        if (rc != BW_OK) {
            return rc;
        }
    }

    if (rb->rest == 0) {
        r->reading_body = 0;
    }

    if (rb->rest == 0 || buf->last > buf->pos) {
        if (c->read->timer_set) {
            bw_event_del_timer(c->read);
        }
        return BW_OK;
    }

    clcf = r->loc_conf[bw_http_core_module.ctx_index];
    bw_event_add_timer(c->read, clcf->client_body_timeout);
    return BW_AGAIN;
}

/*
 * One recv() of body bytes: chunked ones into rb->raw and decoded from
 * there, the others straight into rb->buf. "room" bounds a chunked read
 * for a caller that cannot spill rb->buf to a file. BW_OK, BW_AGAIN (the
 * socket is drained), or a status >= 300.
 */
static bw_int_t
bw_http_request_body_recv(bw_http_request_t *r, size_t room)
{
    size_t                   size;
    ssize_t                  n;
    bw_buf_t                *b;
    bw_connection_t         *c;
    bw_http_request_body_t  *rb;

    c = r->connection;
    rb = r->request_body;

    if (rb->chunked) {
        b = rb->raw;
        b->pos = b->start;
        b->last = b->start;
        size = bw_min(room, (size_t) (b->end - b->start));
        size = (size_t) bw_min((off_t) size,
                               bw_http_chunked_min_rest(rb->chunked));
    } else {
        b = rb->buf;
        size = (size_t) bw_min((off_t) (b->end - b->last), rb->rest);
    }

    n = c->recv(c, b->last, size);

    if (n == BW_AGAIN) {
        return BW_AGAIN;
    }

    if (n == 0) {
        bw_log_error(BW_LOG_INFO, c->log, 0,
                     "client prematurely closed connection");
    }

    if (n == 0 || n == BW_ERROR) {
        c->error = 1;
        return BW_HTTP_BAD_REQUEST;
    }

    r->request_length += n;
    b->last += n;

    if (rb->chunked) {
        return bw_http_request_body_consume(r, &b->pos, b->last);
    }

    rb->rest -= n;
    rb->received += n;

    return BW_OK;
}

/* Decode bytes at *pos into the body buffer. */
static bw_int_t
bw_http_request_body_consume(bw_http_request_t *r, u_char **pos,
    u_char *last)
{
    off_t                     chunk;
    size_t                    len;
    u_char                   *data;
    bw_int_t                  rc;
    bw_http_request_body_t   *rb;
    bw_http_core_loc_conf_t  *clcf;

    rb = r->request_body;

    if (rb->stream) {
        /* no temp file: take only what fits (framing only shrinks) */
        last = *pos + bw_min(last - *pos, rb->buf->end - rb->buf->last);
    }

    if (rb->chunked == NULL) {
        len = (size_t) bw_min((off_t) (last - *pos), rb->rest);
        if (bw_http_request_body_save(r, *pos, len) != BW_OK) {
            return BW_HTTP_INTERNAL_SERVER_ERROR;
        }
        *pos += len;
        rb->rest -= len;
        return BW_OK;
    }

    clcf = r->loc_conf[bw_http_core_module.ctx_index];

    while (*pos < last && rb->rest) {
        rc = bw_http_parse_chunked(rb->chunked, pos, last, &data, &len);

        if (rc != BW_OK) {
            len = 0;
        }

        /* what the chunk's size line announced counts at once, as nginx:
         * a client does not get to send a too large chunk first */
        chunk = (off_t) len + bw_http_chunked_announced(rb->chunked);

        if (clcf->client_max_body_size
            && rb->received + chunk > clcf->client_max_body_size)
        {
            bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                         "client intended to send too large chunked "
                         "body: %lld+%lld bytes",
                         (long long) rb->received, (long long) chunk);
            r->lingering_close = 1;
            return BW_HTTP_REQUEST_ENTITY_TOO_LARGE;
        }

        if (rc == BW_OK) {
            if (bw_http_request_body_save(r, data, len) != BW_OK) {
                return BW_HTTP_INTERNAL_SERVER_ERROR;
            }
            continue;
        }

        if (rc == BW_DONE) {
            rb->rest = 0;
            break;
        }

        if (rc == BW_AGAIN) {
            break;
        }

        bw_log_error(BW_LOG_INFO, r->connection->log, 0,
                     "client sent invalid chunked body");
        r->keepalive = 0;
        return BW_HTTP_BAD_REQUEST;
    }

    return BW_OK;
}

/*
 * Append decoded bytes to the body buffer; a full buffer goes to the
 * temp file first. With p == NULL only the flush happens.
 */
static bw_int_t
bw_http_request_body_save(bw_http_request_t *r, u_char *p, size_t len)
{
    size_t                    n;
    bw_buf_t                 *b;
    bw_http_request_body_t   *rb;

    rb = r->request_body;
    b = rb->buf;

    if (rb->chunked) {
        rb->received += len;
    }

    if (rb->stream) {
        /* never a temp file; the input was cut to fit (consume) */
        if (len > (size_t) (b->end - b->last)) {
            return BW_ERROR;
        }
        if (len) {
            b->last = bw_cpymem(b->last, p, len);
        }
        return BW_OK;
    }

    for ( ;; ) {
        /* a full buffer is written out only when more must go in: a body
         * that fills it exactly stays in memory */
        if (b->last == b->end && (len || p == NULL)) {
            if (rb->temp_file == NULL
                && bw_http_request_body_temp_file(r) != BW_OK)
            {
                return BW_ERROR;
            }
            if (bw_write_temp_file(rb->temp_file, b->start,
                                   b->last - b->start) != BW_OK)
            {
                return BW_ERROR;
            }
            b->pos = b->start;
            b->last = b->start;
        }

        if (len == 0) {
            return BW_OK;
        }

        n = bw_min(len, (size_t) (b->end - b->last));
        memcpy(b->last, p, n);
        b->last += n;
        p += n;
        len -= n;
    }
}

/*
 * The temp file of a body larger than client_body_buffer_size, unlinked
 * at once; with client_body_in_file_only one that keeps its name, for
 * $request_body_file.
 */
static bw_int_t
bw_http_request_body_temp_file(bw_http_request_t *r)
{
    bw_uint_t                 keep;
    bw_http_request_body_t   *rb;
    bw_http_core_loc_conf_t  *clcf;

    rb = r->request_body;
    clcf = r->loc_conf[bw_http_core_module.ctx_index];

    rb->temp_file = bw_pcalloc(r->pool, sizeof(bw_file_t));
    if (rb->temp_file == NULL) {
        return BW_ERROR;
    }

    switch (clcf->client_body_in_file_only) {
    case BW_HTTP_BODY_IN_FILE_ON:
        keep = BW_TEMP_FILE_KEEP;
        break;
    case BW_HTTP_BODY_IN_FILE_CLEAN:
        keep = BW_TEMP_FILE_CLEAN;
        break;
    default:
        keep = BW_TEMP_FILE_UNLINK;
    }

    if (bw_create_named_temp_file(rb->temp_file, clcf->client_body_temp_path,
                                  r->pool, r->connection->log, keep)
        != BW_OK)
    {
        return BW_ERROR;
    }

    if (keep == BW_TEMP_FILE_UNLINK) {
        bw_log_throttled(BW_LOG_WARN, r->connection->log, 0,
                         "a client request body is buffered to a temporary "
                     "file");
    } else {
        rb->named = 1;
    }

    return BW_OK;
}

/* The body is in: describe it as one memory or one file buffer. */
static bw_int_t
bw_http_request_body_done(bw_http_request_t *r)
{
    bw_buf_t                 *b;
    bw_chain_t               *cl;
    bw_http_request_body_t   *rb;
    bw_http_core_loc_conf_t  *clcf;

    rb = r->request_body;

    cl = bw_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return BW_ERROR;
    }
    cl->next = NULL;

    clcf = r->loc_conf[bw_http_core_module.ctx_index];

    if (rb->temp_file == NULL && !rb->stream
        && clcf->client_body_in_file_only != BW_HTTP_BODY_IN_FILE_OFF
        && bw_http_request_body_temp_file(r) != BW_OK)
    {
        return BW_ERROR;
    }

    if (rb->temp_file == NULL) {
        rb->buf->last_buf = 1;
        cl->buf = rb->buf;
        rb->bufs = cl;
        return BW_OK;
    }

    if (rb->buf->last > rb->buf->start
        && bw_write_temp_file(rb->temp_file, rb->buf->start,
                              rb->buf->last - rb->buf->start) != BW_OK)
    {
        return BW_ERROR;
    }

    b = bw_calloc_buf(r->pool);
    if (b == NULL) {
        return BW_ERROR;
    }
    b->in_file = 1;
    b->file = rb->temp_file;
    b->file_pos = 0;
    b->file_last = rb->temp_file->offset;
    b->last_buf = 1;

    cl->buf = b;
    rb->bufs = cl;

    return BW_OK;
}

/*
 * "Expect: 100-continue" from an HTTP/1.1 client that sent no body yet;
 * one that has no body to send (Content-Length: 0) gets it too, as from
 * nginx: it may be waiting for it all the same.
 */
static bw_int_t
bw_http_test_expect(bw_http_request_t *r, bw_uint_t body)
{
    ssize_t          n;
    bw_str_t        *expect;
    static u_char    cont[] = "HTTP/1.1 100 Continue" BW_CRLF BW_CRLF;

    if (r->expect_tested || r->headers_in.expect == NULL
        || r->http_version < BW_HTTP_VERSION_11 || r != r->main
        || r->stream)
    {
        /* HTTP/2: the client sends the body on its own (or gives up
         * waiting), and "100 Continue" would be a frame of its own */
        return BW_OK;
    }

    r->expect_tested = 1;
    expect = &r->headers_in.expect->value;

    if (expect->len != sizeof("100-continue") - 1
        || bw_strncasecmp(expect->data, (u_char *) "100-continue",
                          sizeof("100-continue") - 1) != 0)
    {
        return BW_OK;
    }

    if (body && r->header_in->pos < r->header_in->last) {
        return BW_OK;   /* the body is already on its way */
    }

    n = r->connection->send(r->connection, cont, sizeof(cont) - 1);
    if (n == (ssize_t) sizeof(cont) - 1) {
        return BW_OK;
    }

    return BW_ERROR;
}

/*
 * Returns BW_OK, BW_HTTP_BAD_REQUEST for a malformed chunked body, or
 * BW_ERROR when the connection failed.
 */
bw_int_t
bw_http_discard_request_body(bw_http_request_t *r)
{
    ssize_t                  n;
    u_char                  *p;
    size_t                   size;
    bw_buf_t                *b;
    bw_connection_t         *c;
    bw_http_request_body_t  *rb;
    u_char                   buf[BW_HTTP_DISCARD_BUFFER_SIZE];

    c = r->connection;

    if (r != r->main) {
        return BW_OK;
    }

    if (r->request_body == NULL) {
        if (r->headers_in.content_length_n <= 0 && !r->headers_in.chunked) {
            /* no body, so no doubt about the framing */
            return bw_http_test_expect(r, 0);
        }

        rb = bw_pcalloc(r->pool, sizeof(bw_http_request_body_t));
        if (rb == NULL) {
            return BW_ERROR;
        }
        r->request_body = rb;

        if (r->headers_in.expect && !r->expect_tested) {
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
    if (!r->discard_body) {
        return BW_OK;   /* read (or being read) by a handler */
    }

    b = r->header_in;

    if (b->pos < b->last) {
        if (bw_http_discard_consume(r, &b->pos, b->last) != BW_OK) {
            goto invalid;
        }
    }

    /*
     * Read into a stack buffer, never more than the body can still be:
     * the request's header strings live in r->header_in and the log
     * phase still reads them.
     */
    while (rb->rest) {
        if (!c->read->ready) {
            return BW_OK;
        }

        size = (size_t) bw_min((off_t) sizeof(buf),
                               rb->chunked
                               ? bw_http_chunked_min_rest(rb->chunked)
                               : rb->rest);

        n = c->recv(c, buf, size);
        if (n == BW_AGAIN) {
            return BW_OK;
        }
        if (n == 0 || n == BW_ERROR) {
            c->error = 1;
            return BW_ERROR;
        }

        p = buf;
        if (bw_http_discard_consume(r, &p, buf + n) != BW_OK) {
            goto invalid;
        }
    }

    r->discard_body = 0;
    return BW_OK;

invalid:

    /* the framing is lost: answer 400 and close */
    r->keepalive = 0;
    rb->rest = 0;
    r->discard_body = 0;
    return BW_HTTP_BAD_REQUEST;
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


/*
 * $request_body: the body when it was read into memory (for proxy_pass,
 * or a log line after it); not found when there is none, when it went
 * to a file or is being passed on as it comes, as nginx.
 */
bw_int_t
bw_http_variable_request_body(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    bw_buf_t                *b;
    bw_http_request_body_t  *rb;

    rb = r->main->request_body;

    if (rb == NULL || rb->temp_file || rb->stream || r->main->discard_body) {
        v->not_found = 1;
        return BW_OK;
    }

    if (rb->bufs == NULL) {
        /* read, and empty: "Content-Length: 0" is a body, none is not */
        if (r->main->headers_in.content_length_n == 0) {
            bw_var_set(v, (u_char *) "", 0);
        } else {
            v->not_found = 1;
        }
        return BW_OK;
    }

    /* the whole body from the buffer's start: what was sent on moved
     * nothing of it, but a copy's pos may have */
    b = rb->bufs->buf;
    bw_var_set(v, b->start, b->last - b->start);
    return BW_OK;
}

/* $request_body_file: the name of the body's file, as long as it has one
 * (client_body_in_file_only; other temp files have none once open) */
bw_int_t
bw_http_variable_request_body_file(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    bw_http_request_body_t  *rb;

    rb = r->main->request_body;

    if (rb == NULL || rb->temp_file == NULL || !rb->named) {
        v->not_found = 1;
        return BW_OK;
    }

    bw_var_set(v, rb->temp_file->name.data, rb->temp_file->name.len);
    return BW_OK;
}
