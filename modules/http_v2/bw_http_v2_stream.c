/*
 * A stream as a request. Each stream gets a connection of its own
 * (copied from the client's: address, TLS, number), with events that no
 * socket drives: its read event is posted when DATA comes, its write
 * event when the stream may send again. Through it the request runs as
 * an HTTP/1 one does:
 *
 * - recv() gives the body from the DATA frames; a body without
 *   Content-Length is given as chunks, so that the body reader (limits,
 *   temp files, streaming to upstreams) is the HTTP/1 one. The flow
 *   control window is given back as the request reads, so a stream holds
 *   at most http2_body_preread_size of unread body.
 * - send_chain() hands the response body to nghttp2, which takes from
 *   the chain as windows and the connection's buffer allow (memory and
 *   file buffers alike, a DATA frame of at most http2_chunk_size at a
 *   time); what it cannot take stays with the write filter, and the
 *   stream's write event comes when there is room.
 *
 * A stream's memory (its pool) outlives its request by one turn of the
 * event loop, so that nothing up the stack is left holding it.
 */

#include "bw_http_v2.h"

static ssize_t bw_http_v2_recv(bw_connection_t *fc, u_char *buf,
    size_t size);
static ssize_t bw_http_v2_no_send(bw_connection_t *fc, u_char *buf,
    size_t size);
static bw_chain_t *bw_http_v2_send_chain(bw_connection_t *fc,
    bw_chain_t *in, off_t limit);
static void bw_http_v2_stream_idle(bw_event_t *ev);
static void bw_http_v2_end_handler(bw_event_t *ev);
static void bw_http_v2_free_handler(bw_event_t *ev);
static bw_int_t bw_http_v2_set_header(bw_http_request_t *r, bw_str_t *to,
    const uint8_t *p, size_t len);
static bw_int_t bw_http_v2_trailers(bw_http_v2_stream_t *s);
static bw_int_t bw_http_v2_join_cookies(bw_http_v2_stream_t *s);
static bw_int_t bw_http_v2_read_ahead(bw_http_v2_stream_t *s, bw_buf_t *b,
    size_t n);

bw_http_v2_stream_t *
bw_http_v2_create_stream(bw_http_v2_connection_t *h2c, int32_t id)
{
    bw_log_t            *log;
    bw_buf_t            *b;
    bw_pool_t           *pool;
    bw_event_t          *rev, *wev;
    bw_connection_t     *c, *fc;
    bw_http_request_t   *r;
    bw_http_log_ctx_t   *ctx;
    bw_http_v2_stream_t *s;

    c = h2c->connection;

    pool = bw_create_pool(1024, c->log);
    if (pool == NULL) {
        return NULL;
    }

    s = bw_pcalloc(pool, sizeof(bw_http_v2_stream_t));
    fc = bw_palloc(pool, sizeof(bw_connection_t));
    rev = bw_pcalloc(pool, sizeof(bw_event_t));
    wev = bw_pcalloc(pool, sizeof(bw_event_t));
    log = bw_palloc(pool, sizeof(bw_log_t));
    ctx = bw_palloc(pool, sizeof(bw_http_log_ctx_t));
    b = bw_calloc_buf(pool);

    if (s == NULL || fc == NULL || rev == NULL || wev == NULL || log == NULL
        || ctx == NULL || b == NULL)
    {
        bw_destroy_pool(pool);
        return NULL;
    }

    *fc = *c;
    fc->data = &h2c->hc;
    fc->read = rev;
    fc->write = wev;
    fc->log = log;
    fc->pool = pool;
    fc->buffer = b;             /* no head bytes: an empty header_in */
    fc->recv = bw_http_v2_recv;
    fc->send = bw_http_v2_no_send;
    fc->send_chain = bw_http_v2_send_chain;
    fc->recv_chain = NULL;
    fc->sent = 0;
    fc->requests = 0;
    fc->buffered = 0;
    fc->timedout = 0;
    fc->error = 0;
    fc->destroyed = 0;
    fc->idle = 0;
    fc->reusable = 0;
    fc->stat_active = 0;
    fc->close = 0;
    fc->sendfile = 0;
    fc->more = 0;
    fc->corked = 0;
    fc->tcp_nodelay = BW_TCP_NODELAY_DISABLED;
    fc->tcp_nopush = BW_TCP_NOPUSH_DISABLED;
    bw_queue_init(&fc->queue);

    *log = *c->log;
    log->data = ctx;
    log->action = NULL;
    ctx->connection = fc;
    ctx->request = NULL;

    rev->data = fc;
    rev->log = log;
    rev->handler = bw_http_v2_stream_idle;
    wev->data = fc;
    wev->write = 1;
    wev->ready = 1;
    wev->log = log;
    wev->handler = bw_http_v2_stream_idle;

    r = bw_http_create_request(fc);
    if (r == NULL) {
        bw_destroy_pool(pool);
        return NULL;
    }

    r->stream = s;
    r->http_version = BW_HTTP_VERSION_20;
    bw_str_set(&r->http_protocol, "HTTP/2.0");
    fc->data = r;
    ctx->request = r;

    s->h2c = h2c;
    s->id = id;
    s->request = r;
    s->fc = fc;
    s->pool = pool;
    s->end.handler = bw_http_v2_end_handler;
    s->end.data = s;
    s->end.log = log;
    s->free.handler = bw_http_v2_free_handler;
    s->free.data = s;
    s->free.log = c->log;

    bw_queue_insert_tail(&h2c->streams, &s->queue);

    return s;
}

static void
bw_http_v2_stream_idle(bw_event_t *ev)
{
}

static bw_int_t
bw_http_v2_set_header(bw_http_request_t *r, bw_str_t *to, const uint8_t *p,
    size_t len)
{
    to->data = bw_pnalloc(r->pool, len + 1);
    if (to->data == NULL) {
        return BW_ERROR;
    }
    memcpy(to->data, p, len);
    to->data[len] = '\0';
    to->len = len;
    return BW_OK;
}

/*
 * One header field as nghttp2 decoded (and checked) it. Pseudo-headers
 * become the request line's parts; ":authority" is the Host line;
 * "cookie" fields are one line again, joined with "; " (RFC 9113
 * 8.2.3). Fields past large_client_header_buffers are not kept: the
 * request is answered with an error once its head is in.
 */
bw_int_t
bw_http_v2_add_header(bw_http_v2_stream_t *s, const uint8_t *name,
    size_t namelen, const uint8_t *value, size_t valuelen)
{
    bw_str_t                  key, *crumb;
    bw_table_elt_t           *h;
    bw_http_request_t        *r;
    bw_http_core_srv_conf_t  *cscf;

    r = s->request;
    cscf = r->srv_conf[bw_http_core_module.ctx_index];

    /* as SETTINGS_MAX_HEADER_LIST_SIZE counts: 32 more a field, so
     * that a flood of tiny (indexed) fields is bounded too */
    s->header_size += namelen + valuelen + 32;
    r->request_length += namelen + valuelen + 4;

    if (namelen + valuelen > cscf->large_client_header_buffers_size
        || s->header_size > cscf->large_client_header_buffers_size
                            * cscf->large_client_header_buffers_num)
    {
        s->too_large = 1;
    }

    if (s->too_large || s->too_many) {
        return BW_OK;
    }

    if (namelen && name[0] == ':') {
        if (namelen == 7 && memcmp(name, ":method", 7) == 0) {
            if (bw_http_v2_set_header(r, &r->method_name, value, valuelen)
                != BW_OK)
            {
                return BW_ERROR;
            }
            r->method = (bw_uint_t) bw_http_parse_method(&r->method_name);
            return BW_OK;
        }

        if (namelen == 5 && memcmp(name, ":path", 5) == 0) {
            return bw_http_v2_set_header(r, &r->unparsed_uri, value,
                                         valuelen);
        }

        if (namelen == 7 && memcmp(name, ":scheme", 7) == 0) {
            return bw_http_v2_set_header(r, &r->schema, value, valuelen);
        }

        if (namelen != 10 || memcmp(name, ":authority", 10) != 0) {
            return BW_OK;       /* ":protocol": no extended CONNECT */
        }

        name = (const uint8_t *) "host";
        namelen = 4;
    }

    if (r->headers_in.count++ >= (bw_uint_t) cscf->max_headers) {
        s->too_many = 1;
        return BW_OK;
    }

    if (namelen == 6 && memcmp(name, "cookie", 6) == 0) {
        /* crumbs, joined once the head is in */
        if (s->cookies == NULL) {
            s->cookies = bw_array_create(r->pool, 4, sizeof(bw_str_t));
            if (s->cookies == NULL) {
                return BW_ERROR;
            }
        }
        crumb = bw_array_push(s->cookies);
        if (crumb == NULL) {
            return BW_ERROR;
        }
        return bw_http_v2_set_header(r, crumb, value, valuelen);
    }

    h = bw_list_push(&r->headers_in.headers);
    if (h == NULL) {
        return BW_ERROR;
    }

    if (bw_http_v2_set_header(r, &key, name, namelen) != BW_OK
        || bw_http_v2_set_header(r, &h->value, value, valuelen) != BW_OK)
    {
        return BW_ERROR;
    }

    /* nghttp2 let only lowercase names through */
    h->key = key;
    h->lowcase_key = key.data;
    h->hash = bw_hash_key(key.data, key.len);
    h->next = NULL;

    return BW_OK;
}

/* "cookie" fields as one line, "; " between (RFC 9113 8.2.3). */
static bw_int_t
bw_http_v2_join_cookies(bw_http_v2_stream_t *s)
{
    u_char             *p;
    size_t              len;
    bw_str_t           *crumb;
    bw_uint_t           i;
    bw_table_elt_t     *h;
    bw_http_request_t  *r;

    r = s->request;
    crumb = s->cookies->elts;

    len = 0;
    for (i = 0; i < s->cookies->nelts; i++) {
        len += crumb[i].len + 2;
    }

    h = bw_list_push(&r->headers_in.headers);
    p = bw_pnalloc(r->pool, len + 1);
    if (h == NULL || p == NULL) {
        return BW_ERROR;
    }

    bw_str_set(&h->key, "cookie");
    h->lowcase_key = h->key.data;
    h->hash = bw_hash_key(h->key.data, h->key.len);
    h->next = NULL;
    h->value.data = p;

    for (i = 0; i < s->cookies->nelts; i++) {
        if (i) {
            *p++ = ';';
            *p++ = ' ';
        }
        p = bw_cpymem(p, crumb[i].data, crumb[i].len);
    }
    *p = '\0';
    h->value.len = p - h->value.data;

    return BW_OK;
}

/* The head is in: the request runs (never from nghttp2's callbacks). */
void
bw_http_v2_run_request(bw_http_v2_stream_t *s)
{
    u_char                    *p;
    bw_int_t                   rc;
    bw_uint_t                  i;
    bw_list_part_t            *part;
    bw_table_elt_t            *h;
    bw_connection_t           *fc;
    bw_http_header_t          *hh;
    bw_http_request_t         *r;
    bw_http_v2_connection_t   *h2c;
    bw_http_core_main_conf_t  *cmcf;

    r = s->request;
    fc = s->fc;
    h2c = s->h2c;
    s->started = 1;
    h2c->unstarted--;

    fc->log->action = "processing client request headers";

    if (r->method_name.len && r->unparsed_uri.len) {
        r->request_line.len = r->method_name.len + 1 + r->unparsed_uri.len
                              + sizeof(" HTTP/2.0") - 1;
        p = bw_pnalloc(r->pool, r->request_line.len);
        if (p == NULL) {
            bw_http_close_request(r, BW_HTTP_INTERNAL_SERVER_ERROR);
            goto done;
        }
        r->request_line.data = p;
        p = bw_cpymem(p, r->method_name.data, r->method_name.len);
        *p++ = ' ';
        p = bw_cpymem(p, r->unparsed_uri.data, r->unparsed_uri.len);
        memcpy(p, " HTTP/2.0", sizeof(" HTTP/2.0") - 1);
    }

    if (s->too_large) {
        bw_http_finalize_request(r, BW_HTTP_HEADER_TOO_LARGE);
        goto done;
    }

    if (s->too_many) {
        bw_log_error(BW_LOG_INFO, fc->log, 0,
                     "client sent too many header lines");
        bw_http_finalize_request(r, BW_HTTP_HEADER_TOO_LARGE);
        goto done;
    }

    if (s->cookies && bw_http_v2_join_cookies(s) != BW_OK) {
        bw_http_close_request(r, BW_HTTP_INTERNAL_SERVER_ERROR);
        goto done;
    }

    if (r->request_line.len == 0) {
        /* CONNECT has no path: nothing here serves it */
        bw_log_error(BW_LOG_INFO, fc->log, 0, "client sent invalid request");
        bw_http_finalize_request(r, BW_HTTP_BAD_REQUEST);
        goto done;
    }

    rc = bw_http_process_request_uri(r);
    if (rc != BW_OK) {
        bw_log_error(BW_LOG_INFO, fc->log, 0, "client sent invalid request");
        bw_http_finalize_request(r, rc);
        goto done;
    }

    cmcf = r->main_conf[bw_http_core_module.ctx_index];

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

        hh = bw_hash_find(&cmcf->headers_in_hash, h[i].hash,
                          h[i].lowcase_key, h[i].key.len);
        if (hh && hh->handler(r, &h[i], hh->offset) != BW_OK) {
            goto done;
        }
    }

    if (bw_http_process_request_header(r) != BW_OK) {
        goto done;
    }

    if (r->headers_in.content_length_n < 0
        && (!s->in_closed || (s->in && s->in->pos < s->in->last)))
    {
        /* a body of no announced length: given as chunks, so that it is
         * read (and sent upstream) as a chunked HTTP/1 one */
        r->headers_in.chunked = 1;
        s->chunked = 1;
    }

    if (!s->in_closed && h2c->conf->preread_size < 65536) {
        /* the body has a window however small the preread one is */
        (void) nghttp2_submit_window_update(h2c->session, NGHTTP2_FLAG_NONE,
                   s->id, (int32_t) (65536 - h2c->conf->preread_size));
        bw_http_v2_post_send(h2c);
    }

    fc->read->ready = (s->in && s->in->pos < s->in->last) || s->in_closed;

    bw_http_process_request(r);

done:

    bw_http_run_posted_requests(fc);
}

/* DATA for the stream (within its window: nghttp2 saw to that). */
bw_int_t
bw_http_v2_body_in(bw_http_v2_stream_t *s, const uint8_t *data, size_t len)
{
    size_t     size;
    bw_buf_t  *b;

    b = s->in;

    if (b == NULL) {
        size = bw_max(s->h2c->conf->preread_size, (size_t) 65536);
        b = bw_create_temp_buf(s->pool, size);
        if (b == NULL) {
            return BW_ERROR;
        }
        s->in = b;
    }

    if ((size_t) (b->end - b->last) < len && b->pos > b->start) {
        memmove(b->start, b->pos, b->last - b->pos);
        b->last -= b->pos - b->start;
        b->pos = b->start;
    }

    if ((size_t) (b->end - b->last) < len) {
        bw_log_error(BW_LOG_INFO, s->fc->log, 0,
                     "client sent more DATA than its window");
        return BW_ERROR;
    }

    b->last = bw_cpymem(b->last, data, len);

    bw_http_v2_body_end(s);
    return BW_OK;
}

/* Tell a running request that body bytes (or its end) came. */
void
bw_http_v2_body_end(bw_http_v2_stream_t *s)
{
    bw_event_t  *rev;

    if (!s->started || s->request == NULL) {
        return;
    }

    rev = s->fc->read;
    rev->ready = 1;
    if (!rev->posted) {
        bw_post_event(rev, &bw_posted_events);
    }
}

/*
 * Body bytes as the reader expects them, into buf (at most size): as
 * they came, or as chunks when the length was not announced, with the
 * last chunk once the stream's end came. Returns what was written; *data
 * says how many of them were the body's own (the rest is framing).
 */
size_t
bw_http_v2_body_give(bw_http_v2_stream_t *s, u_char *buf, size_t size,
    size_t *data)
{
    size_t     n, avail;
    u_char    *p, *end;
    bw_buf_t  *b;

    b = s->in;
    p = buf;
    end = buf + size;
    *data = 0;

    while (p < end) {
        avail = b ? (size_t) (b->last - b->pos) : 0;

        if (!s->chunked) {
            n = bw_min(avail, (size_t) (end - p));
            if (n == 0) {
                break;
            }
            p = bw_cpymem(p, b->pos, n);
            b->pos += n;
            *data += n;
            continue;
        }

        if (s->frame_pos < s->frame_last) {
            n = bw_min((size_t) (s->frame_last - s->frame_pos),
                       (size_t) (end - p));
            p = bw_cpymem(p, s->frame_pos, n);
            s->frame_pos += n;
            continue;
        }

        if (s->chunk_rest) {
            n = bw_min(bw_min(avail, (size_t) (end - p)),
                       (size_t) s->chunk_rest);
            if (n == 0) {
                break;
            }
            p = bw_cpymem(p, b->pos, n);
            b->pos += n;
            *data += n;
            s->chunk_rest -= n;
            if (s->chunk_rest == 0) {
                s->frame_pos = s->frame;
                s->frame_last = bw_cpymem(s->frame, "\r\n", 2);
            }
            continue;
        }

        if (avail) {
            s->chunk_rest = avail;
            s->frame_pos = s->frame;
            s->frame_last = bw_slprintf(s->frame, s->frame + sizeof(s->frame),
                                        "%zx\r\n", avail);
            continue;
        }

        if (s->in_closed && !s->last_given) {
            s->last_given = 1;
            s->frame_pos = s->frame;
            s->frame_last = bw_cpymem(s->frame, "0\r\n\r\n", 5);
            continue;
        }

        break;
    }

    if (b && b->pos == b->last) {
        b->pos = b->start;
        b->last = b->start;
    }

    return p - buf;
}

/* The stream's recv(): the window is given back for what is taken. 0 at
 * the end, BW_AGAIN when nothing came yet. */
static ssize_t
bw_http_v2_recv(bw_connection_t *fc, u_char *buf, size_t size)
{
    size_t                   n, data;
    bw_http_request_t       *r;
    bw_http_v2_stream_t     *s;
    bw_http_v2_connection_t *h2c;

    r = fc->data;
    s = r->stream;
    h2c = s->h2c;

    n = bw_http_v2_body_give(s, buf, size, &data);

    if (data && h2c->session && !s->closed) {
        if (nghttp2_session_consume(h2c->session, s->id, data) != 0) {
            (void) nghttp2_session_consume_connection(h2c->session, data);
        }
        bw_http_v2_post_send(h2c);
    }

    if (n) {
        return (ssize_t) n;
    }

    if (s->chunked ? s->last_given : s->in_closed) {
        return 0;
    }

    if (s->closed || fc->error) {
        fc->read->error = 1;
        return BW_ERROR;
    }

    fc->read->ready = 0;
    return BW_AGAIN;
}

static ssize_t
bw_http_v2_no_send(bw_connection_t *fc, u_char *buf, size_t size)
{
    bw_log_error(BW_LOG_ALERT, fc->log, 0,
                 "raw bytes may not go out on an HTTP/2 stream");
    return BW_ERROR;
}

/* The response body to nghttp2, as far as it takes it now. */
static bw_chain_t *
bw_http_v2_send_chain(bw_connection_t *fc, bw_chain_t *in, off_t limit)
{
    bw_chain_t               *cl;
    bw_http_request_t        *r;
    bw_http_v2_stream_t      *s;
    bw_http_v2_connection_t  *h2c;

    r = fc->data;
    s = r->stream;
    h2c = s->h2c;

    if (s->out_closed) {
        /* HEAD, 304: the frames are out, whatever a filter adds */
        for (cl = in; cl; cl = cl->next) {
            cl->buf->pos = cl->buf->last;
            cl->buf->file_pos = cl->buf->file_last;
        }
        return NULL;
    }

    if (fc->error || s->closed || h2c->session == NULL) {
        return BW_CHAIN_ERROR;
    }

    s->out = in;
    s->limit = limit ? limit : -1;
    s->limited = 0;

    if (s->deferred) {
        s->deferred = 0;
        (void) nghttp2_session_resume_data(h2c->session, s->id);
    }

    if (h2c->in_session) {
        h2c->wake = 1;
    }

    bw_http_v2_send(h2c);

    /* the session may have ended the connection, but not the stream's
     * memory: s stays valid until its request is freed */
    s->out = NULL;

    while (in && bw_buf_size(in->buf) == 0
           && (!in->buf->last_buf || s->out_closed))
    {
        in = in->next;
    }

    if (in == NULL) {
        return NULL;
    }

    if (fc->error || s->closed) {
        return BW_CHAIN_ERROR;
    }

    if (s->limited) {
        /* sendfile_max_chunk, limit_rate: the write filter goes on */
        return in;
    }

    fc->write->ready = 0;
    if (!s->queued) {
        s->queued = 1;
        bw_queue_insert_tail(&h2c->waiting, &s->wait);
    }

    return in;
}

/* How much of the chain the next DATA frame takes (nghttp2 asks). */
ssize_t
bw_http_v2_data_read(nghttp2_session *session, int32_t id, uint8_t *buf,
    size_t length, uint32_t *flags, nghttp2_data_source *source,
    void *user_data)
{
    off_t                   size, total;
    size_t                  max;
    bw_uint_t               last;
    bw_chain_t             *cl;
    bw_http_v2_stream_t    *s;
    bw_http_v2_loc_conf_t  *h2lcf;

    s = nghttp2_session_get_stream_user_data(session, id);
    if (s == NULL || s->request == NULL) {
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }

    if (s->out == NULL) {
        s->deferred = 1;
        return NGHTTP2_ERR_DEFERRED;
    }

    if (s->limit == 0) {
        s->limited = 1;
        s->deferred = 1;
        return NGHTTP2_ERR_DEFERRED;
    }

    h2lcf = s->request->loc_conf[bw_http_v2_module.ctx_index];
    max = bw_min(bw_min(length, h2lcf->chunk_size), (size_t) 16384);

    if (s->limit > 0) {
        max = (size_t) bw_min((off_t) max, s->limit);
    }

    size = 0;
    last = 0;

    for (cl = s->out; cl; cl = cl->next) {
        size += bw_buf_size(cl->buf);
        if (cl->buf->last_buf) {
            last = 1;
            break;
        }
        if (size > (off_t) max) {
            break;
        }
    }

    if (size == 0 && !last) {
        s->deferred = 1;
        return NGHTTP2_ERR_DEFERRED;
    }

    total = size;
    size = bw_min(size, (off_t) max);

    /* the frame goes out at once (bw_http_v2_data_send()), while the
     * chain is at hand: only when the connection's buffer has room */
    if (bw_http_v2_room(s->h2c, 9 + (size_t) size) != BW_OK) {
        s->deferred = 1;
        return NGHTTP2_ERR_DEFERRED;
    }

    if (last && total <= (off_t) max) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        s->eof = 1;

        if (bw_http_v2_trailers(s) == BW_OK) {
            /* the stream ends with the trailers' HEADERS frame */
            *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        }
    }

    *flags |= NGHTTP2_DATA_FLAG_NO_COPY;

    return (ssize_t) size;
}

/*
 * add_trailer's fields after the last DATA frame (nghttp2 takes them
 * from the read callback that says EOF): BW_OK when there are some.
 */
static bw_int_t
bw_http_v2_trailers(bw_http_v2_stream_t *s)
{
    u_char             *low;
    bw_uint_t           i, n;
    nghttp2_nv         *nva;
    bw_table_elt_t     *h;
    bw_http_request_t  *r;

    r = s->request;

    if (r->headers_out.trailers == NULL
        || r->headers_out.trailers->nelts == 0)
    {
        return BW_DECLINED;
    }

    h = r->headers_out.trailers->elts;
    nva = bw_palloc(r->pool, r->headers_out.trailers->nelts
                             * sizeof(nghttp2_nv));
    if (nva == NULL) {
        return BW_ERROR;
    }

    n = 0;
    for (i = 0; i < r->headers_out.trailers->nelts; i++) {
        if (h[i].key.len == 0) {
            continue;
        }
        low = bw_pnalloc(r->pool, h[i].key.len);
        if (low == NULL) {
            return BW_ERROR;
        }
        bw_strlow(low, h[i].key.data, h[i].key.len);
        nva[n].name = low;
        nva[n].namelen = h[i].key.len;
        nva[n].value = h[i].value.data;
        nva[n].valuelen = h[i].value.len;
        nva[n].flags = NGHTTP2_NV_FLAG_NONE;
        n++;
    }

    if (n == 0
        || nghttp2_submit_trailer(s->h2c->session, s->id, nva, n) != 0)
    {
        return BW_DECLINED;
    }

    return BW_OK;
}

/*
 * A file's next n bytes in s->ra: DATA frames are small (8k), so the
 * file is read ahead in pieces of BW_HTTP_V2_READ_AHEAD, not a pread a
 * frame; never past what the buffer covers of the file.
 */
static bw_int_t
bw_http_v2_read_ahead(bw_http_v2_stream_t *s, bw_buf_t *b, size_t n)
{
    size_t   size;
    ssize_t  rn;

    if (s->ra && s->ra_file == b->file && s->ra_fd == b->file->fd
        && b->file_pos >= s->ra_start
        && b->file_pos + (off_t) n <= s->ra_start + (off_t) s->ra_len)
    {
        return BW_OK;
    }

    if (s->ra == NULL) {
        s->ra = bw_pnalloc(s->pool, BW_HTTP_V2_READ_AHEAD);
        if (s->ra == NULL) {
            return BW_ERROR;
        }
    }

    size = (size_t) bw_min(b->file_last - b->file_pos,
                           (off_t) BW_HTTP_V2_READ_AHEAD);
    size = bw_max(size, n);

    rn = pread(b->file->fd, s->ra, size, b->file_pos);
    if (rn < (ssize_t) n) {
        bw_log_error(BW_LOG_CRIT, s->fc->log, rn == -1 ? errno : 0,
                     "pread() \"%s\" failed",
                     b->file->name.data ? (char *) b->file->name.data : "");
        s->ra_len = 0;
        return BW_ERROR;
    }

    s->ra_file = b->file;
    s->ra_fd = b->file->fd;
    s->ra_start = b->file_pos;
    s->ra_len = (size_t) rn;

    return BW_OK;
}

/* A DATA frame's bytes, from the chain into the connection's buffer. */
bw_int_t
bw_http_v2_data_copy(bw_http_v2_stream_t *s, bw_buf_t *out, size_t length,
    bw_uint_t last)
{
    off_t        size;
    size_t       n;
    u_char      *p;
    bw_buf_t    *b;
    bw_chain_t  *cl;

    p = out->last;

    for (cl = s->out; cl && length; cl = cl->next) {
        b = cl->buf;
        size = bw_buf_size(b);
        n = (size_t) bw_min(size, (off_t) length);

        if (n == 0) {
            continue;
        }

        if (bw_buf_in_memory(b)) {
            p = bw_cpymem(p, b->pos, n);
            b->pos += n;
            if (b->in_file) {
                b->file_pos += n;
            }

        } else {
            if (bw_http_v2_read_ahead(s, b, n) != BW_OK) {
                return BW_ERROR;
            }
            p = bw_cpymem(p, s->ra + (b->file_pos - s->ra_start), n);
            b->file_pos += n;
        }

        length -= n;
    }

    s->fc->sent += p - out->last;
    if (s->limit > 0) {
        s->limit -= bw_min(s->limit, (off_t) (p - out->last));
    }
    out->last = p;

    if (last || s->eof) {
        s->out_closed = 1;
    }

    return length ? BW_ERROR : BW_OK;
}

/*
 * The response header as a HEADERS frame: the fields the HTTP/1 filter
 * writes, lowercased, less those HTTP/2 forbids (RFC 9113 8.2.2).
 */
bw_int_t
bw_http_v2_header_filter(bw_http_request_t *r, const char *st, size_t slen)
{
    int                        rv;
    u_char                    *p;
    size_t                     len;
    bw_uint_t                  i, n, count;
    nghttp2_nv                *nva;
    bw_list_part_t            *part;
    bw_table_elt_t            *h;
    nghttp2_data_provider      prd;
    bw_http_v2_stream_t       *s;
    bw_http_v2_connection_t   *h2c;
    bw_http_core_loc_conf_t   *clcf;

    s = r->stream;
    h2c = s->h2c;

    if (h2c->session == NULL || s->closed || r->connection->error) {
        return BW_ERROR;
    }

    count = 6;
    part = &r->headers_out.headers.part;
    for ( ; part; part = part->next) {
        count += part->nelts;
    }

    nva = bw_palloc(r->pool, count * sizeof(nghttp2_nv));
    p = bw_pnalloc(r->pool, 3 + BW_INT_T_LEN
                            + sizeof("Mon, 28 Sep 1970 06:00:00 GMT"));
    if (nva == NULL || p == NULL) {
        return BW_ERROR;
    }

#define NV(nm, nl, v, vl) \
    nva[n].name = (uint8_t *) (nm); nva[n].namelen = (nl); \
    nva[n].value = (uint8_t *) (v); nva[n].valuelen = (vl); \
    nva[n].flags = NGHTTP2_NV_FLAG_NONE; n++; len += (nl) + (vl)

    n = 0;
    len = 0;

    if (slen >= 3) {
        memcpy(p, st, 3);
    } else {
        bw_slprintf(p, p + 4, "%03lu", (unsigned long) r->headers_out.status);
    }
    NV(":status", 7, p, 3);
    p += 3;

    clcf = r->loc_conf[bw_http_core_module.ctx_index];

    if (r->headers_out.server == NULL) {
        if (clcf->server_tokens) {
            NV("server", 6, "bulwark/0.1.0", 13);
        } else {
            NV("server", 6, "bulwark", 7);
        }
    }

    if (r->headers_out.date == NULL) {
        NV("date", 4, bw_cached_http_time.data, bw_cached_http_time.len);
    }

    if (r->headers_out.content_type.len) {
        if (r->headers_out.charset.len) {
            u_char  *ct;
            size_t   ctlen;

            ctlen = r->headers_out.content_type.len + sizeof("; charset=") - 1
                    + r->headers_out.charset.len;
            ct = bw_pnalloc(r->pool, ctlen);
            if (ct == NULL) {
                return BW_ERROR;
            }
            bw_slprintf(ct, ct + ctlen, "%.*s; charset=%.*s",
                        (int) r->headers_out.content_type.len,
                        r->headers_out.content_type.data,
                        (int) r->headers_out.charset.len,
                        r->headers_out.charset.data);
            NV("content-type", 12, ct, ctlen);
        } else {
            NV("content-type", 12, r->headers_out.content_type.data,
               r->headers_out.content_type.len);
        }
    }

    if (r->headers_out.content_length == NULL
        && r->headers_out.content_length_n >= 0)
    {
        u_char  *e;

        e = bw_sprint_uint(p, (uint64_t) r->headers_out.content_length_n);
        NV("content-length", 14, p, (size_t) (e - p));
        p = e;
    }

    if (r->headers_out.last_modified == NULL
        && r->headers_out.last_modified_time != -1)
    {
        u_char  *e;

        e = bw_http_time(p, r->headers_out.last_modified_time);
        NV("last-modified", 13, p, (size_t) (e - p));
        p = e;
    }

    part = &r->headers_out.headers.part;
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

        if (h[i].hash == 0 || h[i].key.len == 0) {
            continue;
        }

        if (bw_str_caseeq_lit(&h[i].key, "connection")
            || bw_str_caseeq_lit(&h[i].key, "keep-alive")
            || bw_str_caseeq_lit(&h[i].key, "proxy-connection")
            || bw_str_caseeq_lit(&h[i].key, "transfer-encoding")
            || bw_str_caseeq_lit(&h[i].key, "upgrade"))
        {
            continue;
        }

        {
            u_char  *low;

            low = bw_pnalloc(r->pool, h[i].key.len);
            if (low == NULL) {
                return BW_ERROR;
            }
            bw_strlow(low, h[i].key.data, h[i].key.len);
            NV(low, h[i].key.len, h[i].value.data, h[i].value.len);
        }
    }

#undef NV

    /* as counted for $bytes_sent: the fields before HPACK */
    r->header_size = (off_t) len;
    r->connection->sent += (off_t) len;

    if (r->header_only) {
        rv = nghttp2_submit_response(h2c->session, s->id, nva, n, NULL);
        s->out_closed = 1;
    } else {
        prd.source.ptr = s;
        prd.read_callback = bw_http_v2_data_read;
        rv = nghttp2_submit_response(h2c->session, s->id, nva, n, &prd);
    }

    if (rv != 0) {
        bw_log_error(BW_LOG_INFO, r->connection->log, 0,
                     "HTTP/2 response header not sent: %s",
                     nghttp2_strerror(rv));
        return BW_ERROR;
    }

    /* out with the first body bytes, or at the end of this turn */
    bw_http_v2_post_send(h2c);

    return BW_OK;
}

/* The client reset the stream, or the connection dies: end the
 * request on its own turn (never under a caller's feet). */
void
bw_http_v2_reset(bw_http_v2_stream_t *s, uint32_t error_code)
{
    if (s->request == NULL) {
        return;
    }

    s->fc->error = 1;

    if (!s->end.posted) {
        bw_post_event(&s->end, &bw_posted_events);
    }
}

static void
bw_http_v2_end_handler(bw_event_t *ev)
{
    bw_connection_t      *fc;
    bw_http_request_t    *r;
    bw_http_v2_stream_t  *s;

    s = ev->data;
    r = s->request;
    fc = s->fc;

    if (r == NULL) {
        return;
    }

    if (!s->started) {
        if (s->queued) {
            bw_queue_remove(&s->wait);
            s->queued = 0;
        }
        bw_http_close_request(r, 0);
        return;
    }

    bw_http_terminate_request(r, BW_HTTP_CLIENT_CLOSED_REQUEST);
    bw_http_run_posted_requests(fc);
}

/*
 * The request is freed (bw_http_close_request()): the stream leaves
 * the session (reset if it is still open there) and its memory goes
 * after this turn.
 */
void
bw_http_v2_close_stream(void *stream, bw_int_t rc)
{
    size_t                    unread;
    bw_connection_t          *fc;
    bw_http_v2_stream_t      *s;
    bw_http_v2_connection_t  *h2c;

    s = stream;
    h2c = s->h2c;
    fc = s->fc;

    s->request = NULL;
    fc->destroyed = 1;

    if (!s->started) {
        h2c->unstarted--;
    }

    if (s->queued) {
        bw_queue_remove(&s->wait);
        s->queued = 0;
    }
    bw_queue_remove(&s->queue);

    if (fc->read->timer_set) {
        bw_event_del_timer(fc->read);
    }
    if (fc->write->timer_set) {
        bw_event_del_timer(fc->write);
    }
    if (fc->read->posted) {
        bw_delete_posted_event(fc->read);
    }
    if (fc->write->posted) {
        bw_delete_posted_event(fc->write);
    }
    if (s->end.posted) {
        bw_delete_posted_event(&s->end);
    }

    if (h2c->session) {
        unread = s->in ? (size_t) (s->in->last - s->in->pos) : 0;
        if (unread) {
            (void) nghttp2_session_consume_connection(h2c->session, unread);
        }

        (void) nghttp2_session_set_stream_user_data(h2c->session, s->id,
                                                    NULL);

        if (!s->closed && (!s->out_closed || !s->in_closed)) {
            /* unanswered: an error; answered while the client still
             * sends: it may stop (RFC 9113 8.1) */
            (void) nghttp2_submit_rst_stream(h2c->session, NGHTTP2_FLAG_NONE,
                       s->id, s->out_closed ? NGHTTP2_NO_ERROR
                                            : NGHTTP2_INTERNAL_ERROR);
        }
    }

    bw_post_event(&s->free, &bw_posted_events);

    bw_http_v2_stream_closed(h2c);
}

static void
bw_http_v2_free_handler(bw_event_t *ev)
{
    bw_http_v2_stream_t  *s;

    s = ev->data;
    bw_destroy_pool(s->pool);
}
