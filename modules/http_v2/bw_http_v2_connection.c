/*
 * The HTTP/2 connection: the session, the reading of frames into it,
 * the writing of what it makes through one bounded buffer, the streams'
 * admission (concurrency, keepalive_requests, a graceful GOAWAY on
 * reload and stop), idleness, and the end of the connection once its
 * streams are gone.
 *
 * Output: nghttp2 hands every frame to bw_http_v2_out() (DATA frames
 * through bw_http_v2_data_send(), which copies from the stream's chain
 * without an extra buffer); "out" never grows, and when it is full the
 * session waits for the socket. Streams whose output was held back
 * (the socket, or a flow-control window) wait in h2c->waiting and their
 * writers are woken when the socket drains or a window opens.
 */

#include "bw_http_v2.h"

#define BW_HTTP_V2_OUT_SIZE      (2 * (16384 + 9) + 1024)
#define BW_HTTP_V2_MAX_WINDOW    ((1U << 31) - 1)
/* empty DATA frames without END_STREAM a connection may send */
#define BW_HTTP_V2_MAX_EMPTY     128
/* streams a client may reset: a burst of twice the concurrent streams,
 * then this many a second (rapid reset, CVE-2023-44487) */
#define BW_HTTP_V2_RESET_RATE    33

static void bw_http_v2_read_handler(bw_event_t *rev);
static void bw_http_v2_write_handler(bw_event_t *wev);
static bw_int_t bw_http_v2_feed(bw_http_v2_connection_t *h2c, u_char *p,
    size_t n);
static void bw_http_v2_run_ready(bw_http_v2_connection_t *h2c);
static void bw_http_v2_wake(bw_http_v2_connection_t *h2c);
static bw_int_t bw_http_v2_flush(bw_http_v2_connection_t *h2c);
static void bw_http_v2_idle(bw_http_v2_connection_t *h2c);
static void bw_http_v2_goaway(bw_http_v2_connection_t *h2c);
static void bw_http_v2_finalize(bw_http_v2_connection_t *h2c);
static void bw_http_v2_close(bw_http_v2_connection_t *h2c);
static void bw_http_v2_lingering_handler(bw_event_t *ev);
static nghttp2_session_callbacks *bw_http_v2_callbacks(void);
static bw_uint_t bw_http_v2_reset_allowed(bw_http_v2_connection_t *h2c);
static int bw_http_v2_data_send(nghttp2_session *session,
    nghttp2_frame *frame, const uint8_t *framehd, size_t length,
    nghttp2_data_source *source, void *user_data);

static u_char  *bw_http_v2_recv_buffer;
static size_t   bw_http_v2_recv_buffer_size;

void
bw_http_v2_init(bw_connection_t *c)
{
    int                        rv;
    bw_int_t                   rc;
    bw_buf_t                  *b;
    nghttp2_option            *opt;
    nghttp2_settings_entry     iv[3];
    bw_http_connection_t      *hc;
    bw_http_v2_connection_t   *h2c;
    bw_http_v2_main_conf_t    *h2mcf;
    bw_http_core_srv_conf_t   *cscf;

    hc = c->data;

    h2c = bw_pcalloc(c->pool, sizeof(bw_http_v2_connection_t));
    if (h2c == NULL) {
        bw_http_close_connection(c);
        return;
    }

    h2c->hc = *hc;
    h2c->connection = c;
    bw_queue_init(&h2c->streams);
    bw_queue_init(&h2c->ready);
    bw_queue_init(&h2c->waiting);

    cscf = hc->ssl_server ? hc->ssl_server : hc->addr_conf->default_server;
    h2c->conf = cscf->ctx->srv_conf[bw_http_v2_module.ctx_index];
    h2c->clcf = cscf->ctx->loc_conf[bw_http_core_module.ctx_index];
    h2mcf = cscf->ctx->main_conf[bw_http_v2_module.ctx_index];

    if (bw_http_v2_recv_buffer == NULL) {
        /* one per worker: a read is fed to nghttp2 before the next */
        bw_http_v2_recv_buffer = malloc(h2mcf->recv_buffer_size);
        if (bw_http_v2_recv_buffer == NULL) {
            bw_http_close_connection(c);
            return;
        }
        bw_http_v2_recv_buffer_size = h2mcf->recv_buffer_size;
    }

    h2c->out.start = bw_palloc(c->pool, BW_HTTP_V2_OUT_SIZE);
    if (h2c->out.start == NULL || bw_http_v2_callbacks() == NULL
        || nghttp2_option_new(&opt) != 0)
    {
        bw_http_close_connection(c);
        return;
    }
    h2c->out.pos = h2c->out.start;
    h2c->out.last = h2c->out.start;
    h2c->out.end = h2c->out.start + BW_HTTP_V2_OUT_SIZE;

    /* windows are given back as the requests read their bodies: a
     * stream holds at most http2_body_preread_size unread */
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_option_set_max_outbound_ack(opt, 1000);
    nghttp2_option_set_max_settings(opt, 32);
    /* ours (bw_http_v2_reset_allowed()) comes first and says why */
    nghttp2_option_set_stream_reset_rate_limit(opt, 1000000, 1000);

    rv = nghttp2_session_server_new2(&h2c->session, bw_http_v2_callbacks(),
                                     h2c, opt);
    nghttp2_option_del(opt);

    if (rv != 0) {
        bw_log_error(BW_LOG_ALERT, c->log, 0,
                     "nghttp2_session_server_new2() failed: %s",
                     nghttp2_strerror(rv));
        bw_http_close_connection(c);
        return;
    }

    iv[0].settings_id = NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS;
    iv[0].value = (uint32_t) h2c->conf->concurrent_streams;
    iv[1].settings_id = NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE;
    iv[1].value = (uint32_t) h2c->conf->preread_size;
    iv[2].settings_id = NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE;
    iv[2].value = (uint32_t) (cscf->large_client_header_buffers_size
                              * cscf->large_client_header_buffers_num);

    if (nghttp2_submit_settings(h2c->session, NGHTTP2_FLAG_NONE, iv, 3) != 0
        || nghttp2_session_set_local_window_size(h2c->session,
                                                 NGHTTP2_FLAG_NONE, 0,
                                                 BW_HTTP_V2_MAX_WINDOW)
           != 0)
    {
        nghttp2_session_del(h2c->session);
        bw_http_close_connection(c);
        return;
    }

    h2c->reset_tokens = 2 * h2c->conf->concurrent_streams;
    h2c->reset_time = bw_current_msec;

    c->data = h2c;
    c->log->action = "processing HTTP/2 connection";
    c->read->handler = bw_http_v2_read_handler;
    c->write->handler = bw_http_v2_write_handler;
    c->idle = 0;
    /* busy until bw_http_v2_idle() says otherwise: not "waiting", and
     * not to be closed for want of connections */
    bw_reusable_connection(c, 0);

    if (c->read->timer_set) {
        bw_event_del_timer(c->read);
    }

    /* what the HTTP/1 side read already (a cleartext preface) */
    b = c->buffer;
    if (b && b->pos < b->last) {
        rc = bw_http_v2_feed(h2c, b->pos, b->last - b->pos);
        b->pos = b->last;
        if (rc != BW_OK) {
            bw_http_v2_finalize(h2c);
            return;
        }
    }

    bw_http_v2_read_handler(c->read);
}

static void
bw_http_v2_read_handler(bw_event_t *rev)
{
    ssize_t                   n;
    bw_connection_t          *c;
    bw_http_v2_connection_t  *h2c;

    c = rev->data;
    h2c = c->data;

    if (rev->timedout) {
        /* idle past keepalive_timeout (or client_header_timeout before
         * the first stream), or a head that did not come whole */
        if (h2c->unstarted) {
            bw_log_error(BW_LOG_INFO, c->log, ETIMEDOUT,
                         "client timed out sending a header block");
        }
        rev->timedout = 0;
        bw_http_v2_goaway(h2c);
        bw_http_v2_finalize(h2c);
        return;
    }

    if (c->close) {
        /* a graceful stop, or the worker short of connections: the
         * client takes its next requests elsewhere */
        c->close = 0;
        bw_http_v2_goaway(h2c);
        if (h2c->processing == 0) {
            bw_http_v2_finalize(h2c);
            return;
        }
    }

    /* one recv() at least: TLS may hold bytes the socket no longer
     * says are there (the preface behind the handshake's last flight) */
    while (!h2c->closing) {
        n = c->recv(c, bw_http_v2_recv_buffer, bw_http_v2_recv_buffer_size);

        if (n == BW_AGAIN) {
            break;
        }

        if (n == 0 || n == BW_ERROR) {
            /* the client is gone: so are its streams */
            c->error = 1;
            bw_http_v2_finalize(h2c);
            return;
        }

        if (bw_http_v2_feed(h2c, bw_http_v2_recv_buffer, n) != BW_OK) {
            bw_http_v2_finalize(h2c);
            return;
        }

        if (!rev->ready) {
            break;
        }
    }

    bw_http_v2_send(h2c);
}

/* Bytes to the session; then the streams whose heads came are run. */
static bw_int_t
bw_http_v2_feed(bw_http_v2_connection_t *h2c, u_char *p, size_t n)
{
    ssize_t           rv;
    bw_connection_t  *c;

    c = h2c->connection;

    h2c->in_session = 1;
    rv = nghttp2_session_mem_recv(h2c->session, p, n);
    h2c->in_session = 0;

    if (rv < 0 && h2c->flood) {
        return BW_ERROR;        /* said already */
    }

    if (rv < 0) {
        bw_log_error(BW_LOG_INFO, c->log, 0,
                     "client sent invalid HTTP/2 data: %s",
                     nghttp2_strerror((int) rv));
        /* a GOAWAY saying why, when it can still go */
        (void) nghttp2_session_terminate_session(h2c->session,
                   rv == NGHTTP2_ERR_FLOODED ? NGHTTP2_ENHANCE_YOUR_CALM
                                             : NGHTTP2_PROTOCOL_ERROR);
        return BW_ERROR;
    }

    if (h2c->flood) {
        return BW_ERROR;
    }

    if (h2c->empty_data > BW_HTTP_V2_MAX_EMPTY) {
        bw_log_error(BW_LOG_INFO, c->log, 0,
                     "client sent too many empty DATA frames");
        (void) nghttp2_session_terminate_session(h2c->session,
                                                 NGHTTP2_ENHANCE_YOUR_CALM);
        return BW_ERROR;
    }

    bw_http_v2_run_ready(h2c);

    if (h2c->wake) {
        h2c->wake = 0;
        bw_http_v2_wake(h2c);
    }

    return BW_OK;
}

/* The first stream of a ready or waiting queue, taken off it. */
static bw_http_v2_stream_t *
bw_http_v2_pop(bw_queue_t *queue)
{
    bw_queue_t           *q;
    bw_http_v2_stream_t  *s;

    if (bw_queue_empty(queue)) {
        return NULL;
    }

    q = bw_queue_head(queue);
    bw_queue_remove(q);
    s = bw_queue_data(q, bw_http_v2_stream_t, wait);
    s->queued = 0;

    return s;
}

static void
bw_http_v2_run_ready(bw_http_v2_connection_t *h2c)
{
    bw_http_v2_stream_t  *s;

    while ((s = bw_http_v2_pop(&h2c->ready)) != NULL) {
        if (s->closed || s->fc->error) {
            continue;       /* reset before it ran: its end frees it */
        }

        bw_http_v2_run_request(s);
    }
}

/* The writers of the streams that wait for room get another go. */
static void
bw_http_v2_wake(bw_http_v2_connection_t *h2c)
{
    bw_http_v2_stream_t  *s;

    while ((s = bw_http_v2_pop(&h2c->waiting)) != NULL) {
        s->fc->write->ready = 1;
        if (!s->fc->write->posted && !s->fc->write->delayed) {
            bw_post_event(s->fc->write, &bw_posted_events);
        }
    }
}

static void
bw_http_v2_write_handler(bw_event_t *wev)
{
    bw_connection_t          *c;
    bw_http_v2_connection_t  *h2c;

    c = wev->data;
    h2c = c->data;

    if (wev->timedout) {
        bw_log_error(BW_LOG_INFO, c->log, ETIMEDOUT,
                     "client timed out while sending HTTP/2 frames");
        wev->timedout = 0;
        c->timedout = 1;
        c->error = 1;
        bw_http_v2_finalize(h2c);
        return;
    }

    bw_http_v2_send(h2c);
}

/* Called from outside nghttp2: let the session write what it has. */
void
bw_http_v2_post_send(bw_http_v2_connection_t *h2c)
{
    bw_event_t  *wev;

    wev = h2c->connection->write;
    if (!wev->posted) {
        bw_post_event(wev, &bw_posted_events);
    }
}

/*
 * Frames out: what the session has, as far as the socket takes it. The
 * connection ends here once nothing is left to read or write.
 */
void
bw_http_v2_send(bw_http_v2_connection_t *h2c)
{
    int               rv;
    bw_int_t          rc;
    bw_connection_t  *c;

    c = h2c->connection;

    if (h2c->in_session) {
        bw_http_v2_post_send(h2c);
        return;
    }

    if (h2c->session == NULL) {
        return;
    }

    if (h2c->out.pos < h2c->out.last) {
        rc = bw_http_v2_flush(h2c);
        if (rc == BW_ERROR) {
            c->error = 1;
            bw_http_v2_finalize(h2c);
            return;
        }
    }

    if (h2c->blocked && h2c->out.end - h2c->out.last > 16384 + 9) {
        /* room again: the streams held back by the socket go on */
        h2c->blocked = 0;
        bw_http_v2_wake(h2c);
    }

    h2c->in_session = 1;
    rv = nghttp2_session_send(h2c->session);
    h2c->in_session = 0;

    if (rv != 0) {
        bw_log_error(BW_LOG_INFO, c->log, 0,
                     "HTTP/2 send failed: %s", nghttp2_strerror(rv));
        c->error = 1;
        bw_http_v2_finalize(h2c);
        return;
    }

    rc = bw_http_v2_flush(h2c);
    if (rc == BW_ERROR) {
        c->error = 1;
        bw_http_v2_finalize(h2c);
        return;
    }

    if (rc == BW_AGAIN) {
        if (!c->write->timer_set) {
            bw_event_add_timer(c->write, h2c->clcf->send_timeout);
        }
    } else if (c->write->timer_set) {
        bw_event_del_timer(c->write);
    }

    if (h2c->wake) {
        h2c->wake = 0;
        bw_http_v2_wake(h2c);
    }

    if (h2c->processing == 0 && h2c->out.pos == h2c->out.last
        && (h2c->closing
            || (!nghttp2_session_want_read(h2c->session)
                && !nghttp2_session_want_write(h2c->session))))
    {
        bw_http_v2_close(h2c);
        return;
    }

    bw_http_v2_idle(h2c);
}

/* "out" to the socket: BW_OK when it is empty, BW_AGAIN, BW_ERROR. */
static bw_int_t
bw_http_v2_flush(bw_http_v2_connection_t *h2c)
{
    ssize_t           n;
    bw_buf_t         *b;
    bw_connection_t  *c;

    c = h2c->connection;
    b = &h2c->out;

    while (b->pos < b->last) {
        if (c->error) {
            return BW_ERROR;
        }

        n = c->send(c, b->pos, b->last - b->pos);

        if (n == BW_AGAIN) {
            break;
        }

        if (n == BW_ERROR) {
            return BW_ERROR;
        }

        b->pos += n;
    }

    if (b->pos == b->last) {
        b->pos = b->start;
        b->last = b->start;
        return BW_OK;
    }

    if (b->pos > b->start) {
        /* keep the room at the end for whole frames */
        memmove(b->start, b->pos, b->last - b->pos);
        b->last -= b->pos - b->start;
        b->pos = b->start;
    }

    return BW_AGAIN;
}

/*
 * Room for len bytes in "out", flushing it if needed: BW_OK, BW_AGAIN
 * (the socket is full), BW_ERROR. Called from nghttp2's callbacks.
 */
bw_int_t
bw_http_v2_room(bw_http_v2_connection_t *h2c, size_t len)
{
    bw_int_t  rc;

    if ((size_t) (h2c->out.end - h2c->out.last) >= len) {
        return BW_OK;
    }

    rc = bw_http_v2_flush(h2c);
    if (rc == BW_ERROR) {
        return BW_ERROR;
    }

    if ((size_t) (h2c->out.end - h2c->out.last) >= len) {
        return BW_OK;
    }

    h2c->blocked = 1;
    return BW_AGAIN;
}

/* Idle: no stream and nothing to write; keepalive_timeout runs. */
static void
bw_http_v2_idle(bw_http_v2_connection_t *h2c)
{
    bw_msec_t         timeout;
    bw_connection_t  *c;

    c = h2c->connection;

    if (h2c->processing || h2c->out.pos < h2c->out.last || h2c->closing) {
        if (h2c->unstarted && !h2c->closing) {
            /* a head still coming (a HEADERS frame without its
             * CONTINUATION): client_header_timeout, not forever */
            if (!c->read->timer_set) {
                bw_event_add_timer(c->read, h2c->hc.addr_conf
                                       ->default_server->client_header_timeout);
            }
        } else if (c->read->timer_set) {
            bw_event_del_timer(c->read);
        }
        if (c->idle) {
            c->idle = 0;
            bw_reusable_connection(c, 0);
        }
        return;
    }

    if (bw_exiting && !h2c->goaway) {
        bw_http_v2_goaway(h2c);
        bw_http_v2_post_send(h2c);
    }

    timeout = h2c->requests ? h2c->clcf->keepalive_timeout
                            : h2c->hc.addr_conf->default_server
                                  ->client_header_timeout;
    if (timeout == 0) {
        timeout = 1;
    }

    bw_event_add_timer(c->read, timeout);

    if (!c->idle) {
        c->idle = 1;
        bw_reusable_connection(c, 1);
    }
}

/* No new streams: GOAWAY naming the last one taken. */
static void
bw_http_v2_goaway(bw_http_v2_connection_t *h2c)
{
    if (h2c->goaway || h2c->session == NULL) {
        return;
    }

    h2c->goaway = 1;
    (void) nghttp2_submit_goaway(h2c->session, NGHTTP2_FLAG_NONE,
               nghttp2_session_get_last_proc_stream_id(h2c->session),
               NGHTTP2_NO_ERROR, NULL, 0);
}

/*
 * The connection cannot go on: every stream's request is ended (each
 * on its own turn, as a client's reset is), then the connection closes.
 */
static void
bw_http_v2_finalize(bw_http_v2_connection_t *h2c)
{
    bw_queue_t           *q;
    bw_http_v2_stream_t  *s;

    h2c->closing = 1;

    if (!h2c->connection->error && h2c->session) {
        /* what the session still has (a GOAWAY) goes if it can */
        h2c->in_session = 1;
        (void) nghttp2_session_send(h2c->session);
        h2c->in_session = 0;
        (void) bw_http_v2_flush(h2c);
    }

    for (q = bw_queue_head(&h2c->streams);
         q != bw_queue_sentinel(&h2c->streams);
         q = bw_queue_next(q))
    {
        s = bw_queue_data(q, bw_http_v2_stream_t, queue);
        bw_http_v2_reset(s, NGHTTP2_NO_ERROR);
    }

    if (h2c->processing == 0) {
        bw_http_v2_close(h2c);
    }
}

/* A stream's request was freed: the last one lets a closing
 * connection go. */
void
bw_http_v2_stream_closed(bw_http_v2_connection_t *h2c)
{
    h2c->processing--;

    if (h2c->closing && h2c->processing == 0) {
        bw_http_v2_post_send(h2c);
        return;
    }

    if (h2c->goaway || h2c->processing == 0) {
        bw_http_v2_post_send(h2c);
    }
}

static void
bw_http_v2_close(bw_http_v2_connection_t *h2c)
{
    bw_connection_t  *c;

    c = h2c->connection;

    if (h2c->session) {
        nghttp2_session_del(h2c->session);
        h2c->session = NULL;
    }

    if (c->error || c->timedout
        || h2c->clcf->lingering_close == BW_HTTP_LINGERING_OFF
        || shutdown(c->fd, SHUT_WR) == -1)
    {
        bw_http_close_connection(c);
        return;
    }

    /* what the client still sends is read and dropped for a while: a
     * close with unread bytes would be a reset, and the client could
     * lose the GOAWAY that says which of its streams were taken */
    c->read->handler = bw_http_v2_lingering_handler;
    c->write->handler = bw_http_v2_lingering_handler;
    c->close = 0;
    h2c->lingering_time = bw_current_msec + h2c->clcf->lingering_time;

    if (c->write->timer_set) {
        bw_event_del_timer(c->write);
    }
    bw_event_add_timer(c->read, h2c->clcf->lingering_timeout);

    if (!c->idle) {
        c->idle = 1;
        bw_reusable_connection(c, 1);
    }

    if (c->read->ready) {
        bw_post_event(c->read, &bw_posted_events);
    }
}

static void
bw_http_v2_lingering_handler(bw_event_t *ev)
{
    ssize_t                   n;
    bw_connection_t          *c;
    bw_http_v2_connection_t  *h2c;

    c = ev->data;
    h2c = c->data;

    if (ev->write) {
        return;
    }

    if (ev->timedout || c->close
        || (bw_msec_int_t) (bw_current_msec - h2c->lingering_time) > 0)
    {
        bw_http_close_connection(c);
        return;
    }

    do {
        n = c->recv(c, bw_http_v2_recv_buffer, bw_http_v2_recv_buffer_size);
        if (n == 0 || n == BW_ERROR) {
            bw_http_close_connection(c);
            return;
        }
    } while (n != BW_AGAIN);

    bw_event_add_timer(c->read, h2c->clcf->lingering_timeout);
}

/* --- nghttp2's callbacks ------------------------------------------------ */

static ssize_t
bw_http_v2_out(nghttp2_session *session, const uint8_t *data, size_t length,
    int flags, void *user_data)
{
    size_t                    n;
    bw_http_v2_connection_t  *h2c = user_data;

    switch (bw_http_v2_room(h2c, 1)) {
    case BW_OK:
        break;
    case BW_AGAIN:
        return NGHTTP2_ERR_WOULDBLOCK;
    default:
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }

    n = bw_min(length, (size_t) (h2c->out.end - h2c->out.last));
    h2c->out.last = bw_cpymem(h2c->out.last, data, n);

    return (ssize_t) n;
}

static int
bw_http_v2_data_send(nghttp2_session *session, nghttp2_frame *frame,
    const uint8_t *framehd, size_t length, nghttp2_data_source *source,
    void *user_data)
{
    u_char                   *mark;
    bw_http_v2_stream_t      *s;
    bw_http_v2_connection_t  *h2c = user_data;

    s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (s == NULL || s->request == NULL) {
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }

    /* bw_http_v2_data_read() made sure of the room and of the chain,
     * and nghttp2 calls here at once; a retry comes later, when the
     * chain may be gone: the stream is woken to give it again */
    if (s->out == NULL) {
        h2c->wake = 1;
        return NGHTTP2_ERR_WOULDBLOCK;
    }

    switch (bw_http_v2_room(h2c, 9 + length)) {
    case BW_OK:
        break;
    case BW_AGAIN:
        return NGHTTP2_ERR_WOULDBLOCK;
    default:
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }

    mark = h2c->out.last;
    h2c->out.last = bw_cpymem(h2c->out.last, framehd, 9);

    if (bw_http_v2_data_copy(s, &h2c->out, length,
                             frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
        != BW_OK)
    {
        /* a file that cannot be read: the frame is taken back, and only
         * this stream is reset */
        h2c->out.last = mark;
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }

    return 0;
}

static int
bw_http_v2_on_begin_headers(nghttp2_session *session,
    const nghttp2_frame *frame, void *user_data)
{
    bw_http_v2_stream_t      *s;
    bw_http_v2_connection_t  *h2c = user_data;

    if (frame->hd.type != NGHTTP2_HEADERS
        || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
    {
        return 0;
    }

    if (h2c->goaway || h2c->closing) {
        (void) nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE,
                                         frame->hd.stream_id,
                                         NGHTTP2_REFUSED_STREAM);
        return 0;
    }

    if (h2c->processing >= h2c->conf->concurrent_streams) {
        /* nghttp2 refuses them itself once the client has our
         * SETTINGS; before, they are refused here */
        (void) nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE,
                                         frame->hd.stream_id,
                                         NGHTTP2_REFUSED_STREAM);
        return 0;
    }

    s = bw_http_v2_create_stream(h2c, frame->hd.stream_id);
    if (s == NULL) {
        (void) nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE,
                                         frame->hd.stream_id,
                                         NGHTTP2_INTERNAL_ERROR);
        return 0;
    }

    nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, s);
    h2c->processing++;
    h2c->unstarted++;
    h2c->requests++;

    if (h2c->requests >= h2c->clcf->keepalive_requests || bw_exiting) {
        /* keepalive_requests: this one is the last; an old worker
         * (reload, stop) takes this one and sends the client elsewhere */
        bw_http_v2_goaway(h2c);
    }

    return 0;
}

static int
bw_http_v2_on_header(nghttp2_session *session, const nghttp2_frame *frame,
    const uint8_t *name, size_t namelen, const uint8_t *value,
    size_t valuelen, uint8_t flags, void *user_data)
{
    bw_http_v2_stream_t      *s;
    bw_http_v2_connection_t  *h2c = user_data;

    if (frame->hd.type != NGHTTP2_HEADERS
        || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
    {
        return 0;       /* trailers: not kept, as nginx */
    }

    s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (s == NULL || s->request == NULL) {
        return 0;
    }

    if (bw_http_v2_add_header(s, name, namelen, value, valuelen) != BW_OK) {
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }

    if (s->too_large && !h2c->header_logged) {
        h2c->header_logged = 1;
        bw_log_error(BW_LOG_INFO, h2c->connection->log, 0,
                     "client sent too large header");
    }

    return 0;
}

static int
bw_http_v2_on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame,
    void *user_data)
{
    bw_http_v2_stream_t      *s;
    bw_http_v2_connection_t  *h2c = user_data;

    switch (frame->hd.type) {

    case NGHTTP2_HEADERS:
        s = nghttp2_session_get_stream_user_data(session,
                                                 frame->hd.stream_id);
        if (s == NULL || s->request == NULL) {
            break;
        }

        if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) {
            s->in_closed = 1;
            if (s->started) {
                bw_http_v2_body_end(s);   /* after trailers */
            }
        }

        if (frame->headers.cat == NGHTTP2_HCAT_REQUEST && !s->queued
            && !s->started)
        {
            s->queued = 1;
            bw_queue_insert_tail(&h2c->ready, &s->wait);
        }
        break;

    case NGHTTP2_DATA:
        if (frame->hd.length == 0
            && !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
        {
            h2c->empty_data++;
        }

        if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) {
            s = nghttp2_session_get_stream_user_data(session,
                                                     frame->hd.stream_id);
            if (s && s->request) {
                s->in_closed = 1;
                bw_http_v2_body_end(s);
            }
        }
        break;

    case NGHTTP2_WINDOW_UPDATE:
    case NGHTTP2_SETTINGS:
        h2c->wake = 1;
        break;

    case NGHTTP2_RST_STREAM:
        if (!bw_http_v2_reset_allowed(h2c)) {
            return NGHTTP2_ERR_CALLBACK_FAILURE;
        }
        break;

    default:
        break;
    }

    return 0;
}

/* A token for the client's reset, or the connection ends. */
static bw_uint_t
bw_http_v2_reset_allowed(bw_http_v2_connection_t *h2c)
{
    bw_uint_t  burst, add;
    bw_msec_t  elapsed;

    burst = 2 * h2c->conf->concurrent_streams;
    elapsed = bw_current_msec - h2c->reset_time;
    add = (bw_uint_t) (elapsed * BW_HTTP_V2_RESET_RATE / 1000);

    if (add) {
        h2c->reset_tokens = bw_min(burst, h2c->reset_tokens + add);
        h2c->reset_time = bw_current_msec;
    }

    if (h2c->reset_tokens) {
        h2c->reset_tokens--;
        return 1;
    }

    if (!h2c->flood) {
        h2c->flood = 1;
        bw_log_error(BW_LOG_INFO, h2c->connection->log, 0,
                     "client reset too many streams");
        (void) nghttp2_session_terminate_session(h2c->session,
                                                 NGHTTP2_ENHANCE_YOUR_CALM);
    }

    return 0;
}

static int
bw_http_v2_on_data_chunk(nghttp2_session *session, uint8_t flags,
    int32_t stream_id, const uint8_t *data, size_t len, void *user_data)
{
    bw_http_v2_stream_t      *s;

    s = nghttp2_session_get_stream_user_data(session, stream_id);

    if (s == NULL || s->request == NULL) {
        /* nobody reads it: its share of the window comes back now */
        (void) nghttp2_session_consume_connection(session, len);
        return 0;
    }

    if (bw_http_v2_body_in(s, data, len) != BW_OK) {
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }

    return 0;
}

static int
bw_http_v2_on_stream_close(nghttp2_session *session, int32_t stream_id,
    uint32_t error_code, void *user_data)
{
    bw_http_v2_stream_t  *s;

    s = nghttp2_session_get_stream_user_data(session, stream_id);
    if (s == NULL) {
        return 0;
    }

    s->closed = 1;

    if (s->request && !s->out_closed) {
        /* reset before its answer was out: the request ends (499);
         * said once a connection, a client may cancel many */
        if (!s->h2c->reset_logged && s->started) {
            s->h2c->reset_logged = 1;
            bw_log_error(BW_LOG_INFO, s->fc->log, 0,
                         "client closed stream %d: %s", (int) stream_id,
                         nghttp2_http2_strerror(error_code));
        }
        bw_http_v2_reset(s, error_code);
    }

    return 0;
}

static int
bw_http_v2_on_frame_send(nghttp2_session *session, const nghttp2_frame *frame,
    void *user_data)
{
    bw_http_v2_connection_t  *h2c = user_data;

    if (frame->hd.type == NGHTTP2_RST_STREAM
        && frame->rst_stream.error_code == NGHTTP2_REFUSED_STREAM
        && !h2c->refused_logged)
    {
        h2c->refused_logged = 1;
        bw_log_error(BW_LOG_INFO, h2c->connection->log, 0,
                     "client exceeded http2_max_concurrent_streams");
    }

    if (frame->hd.type == NGHTTP2_GOAWAY
        && frame->goaway.error_code != NGHTTP2_NO_ERROR)
    {
        bw_log_error(BW_LOG_INFO, h2c->connection->log, 0,
                     "sent GOAWAY to the client: %s",
                     nghttp2_http2_strerror(frame->goaway.error_code));
    }

    return 0;
}

static nghttp2_session_callbacks *
bw_http_v2_callbacks(void)
{
    static nghttp2_session_callbacks  *cbs;

    if (cbs) {
        return cbs;
    }

    if (nghttp2_session_callbacks_new(&cbs) != 0) {
        return NULL;
    }

    nghttp2_session_callbacks_set_send_callback(cbs, bw_http_v2_out);
    nghttp2_session_callbacks_set_send_data_callback(cbs,
                                                     bw_http_v2_data_send);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs,
        bw_http_v2_on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs,
                                                     bw_http_v2_on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs,
        bw_http_v2_on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs,
        bw_http_v2_on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs,
        bw_http_v2_on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(cbs,
        bw_http_v2_on_frame_send);

    return cbs;
}
