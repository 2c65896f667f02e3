/*
 * The response body, from the upstream to the client, with bounded
 * memory: the body is read into at most proxy_buffers buffers (one of
 * proxy_buffer_size with proxy_buffering off); a buffer is read into
 * again only when the client has taken all of it. When every buffer is
 * on its way to a slow client the upstream is simply not read: TCP flow
 * control pushes back on the backend, and the worker's memory does not
 * grow with the response.
 *
 * The module's input filter decodes each buffer in place (Content-Length
 * clipping, chunked decoding), so one buffer read is one buffer sent.
 * All free buffers are read into with one readv, and what was read goes
 * to the client in one writev: a large body costs two calls per
 * proxy_buffers' worth, not two per buffer.
 *
 * With proxy_buffering on, a client that does not keep up does not
 * hold the upstream connection either: while the socket to the client
 * is full, what is read goes to a temp file (up to
 * proxy_max_temp_file_size, one pwritev per batch) and the buffers are
 * read into again at once; the client gets the file's part with
 * sendfile when it is ready. What is written while the client is stuck
 * stays one range, passed on (as one file buf) only once the client
 * has taken everything before it, so a long stall costs no memory per
 * batch; filters see the range only when it no longer changes.
 *
 * Also here: the tunnel for upgraded connections (WebSocket), two
 * buffers pumped in both directions until either side closes.
 */

#include <bw_http.h>
#include <bw_http_upstream_body.h>

/* how long a client may take nothing before the temp file is used */
#define BW_HTTP_UPSTREAM_SPILL_DELAY  100

static void bw_http_upstream_process_body(bw_http_request_t *r,
    bw_http_upstream_t *u);
static bw_int_t bw_http_upstream_pass_cut(bw_http_request_t *r,
    bw_http_upstream_t *u);
static void bw_http_upstream_process_downstream(bw_http_request_t *r);
static void bw_http_upstream_process_upstream(bw_http_request_t *r,
    bw_http_upstream_t *u);
static void bw_http_upstream_upgraded_downstream(bw_http_request_t *r);
static void bw_http_upstream_upgraded_upstream(bw_http_request_t *r,
    bw_http_upstream_t *u);
static void bw_http_upstream_process_upgraded(bw_http_request_t *r);
static void bw_http_upstream_spill_handler(bw_event_t *ev);
static bw_int_t bw_http_upstream_to_pass(bw_http_request_t *r,
    bw_http_upstream_t *u, bw_chain_t **out);
static bw_int_t bw_http_upstream_spill(bw_http_request_t *r,
    bw_http_upstream_t *u);
static bw_int_t bw_http_upstream_cache_body(bw_http_request_t *r,
    bw_http_upstream_t *u, bw_buf_t *b);
static void bw_http_upstream_drop(bw_http_request_t *r,
    bw_http_upstream_t *u, bw_chain_t **out);

typedef struct {
    bw_buf_t  *up;       /* upstream -> client */
    bw_buf_t  *down;     /* client -> upstream */
} bw_http_upstream_tunnel_t;

void
bw_http_upstream_start_body(bw_http_request_t *r, bw_http_upstream_t *u)
{
    bw_buf_t        *b;
    bw_chain_t      *cl;
    bw_table_elt_t  *h;

    u->buffering = u->conf->buffering ? 1 : 0;

    /* the application may say per response (long polling, events) */
    h = u->headers_in.x_accel_buffering;
    if (h && !(u->conf->ignore_headers & BW_HTTP_UPSTREAM_IGN_XA_BUFFERING)) {
        if (bw_str_caseeq_lit(&h->value, "no")) {
            u->buffering = 0;
        } else if (bw_str_caseeq_lit(&h->value, "yes")) {
            u->buffering = 1;
        }
    }
    r->connection->log->action = "reading upstream";

    u->start_sec = bw_time_sec;
    /* *_limit_rate with variables is read once the header is in: the
     * upstream's variables may set it */
    u->limit_rate = u->conf->limit_rate_cv
                    ? bw_http_limit_rate_value(r, u->conf->limit_rate_cv)
                    : u->conf->limit_rate;
    /* as nginx: the body's length counts what came with the header */
    u->read_length = u->buffer.last - u->buffer.pos;

    /* body bytes that came with the header: the header part of this
     * buffer stays as it is, the response's header strings live there */
    b = &u->buffer;
    b->tag = NULL;

    if (b->pos < b->last) {
        if (u->input_filter(r, b) != BW_OK) {
            u->upstream_error = 1;
            bw_http_upstream_finalize_request(r, u, BW_ERROR);
            return;
        }

        if (bw_http_upstream_cache_body(r, u, b) != BW_OK) {
            bw_http_upstream_finalize_request(r, u, BW_ERROR);
            return;
        }

        if (b->pos < b->last) {
            cl = bw_alloc_chain_link(r->pool);
            if (cl == NULL) {
                bw_http_upstream_finalize_request(r, u, BW_ERROR);
                return;
            }
            /* as every batch: "more at once" while the upstream has
             * more (the response header goes with it) */
            b->flush = u->peer.connection->read->ready ? 0 : 1;
            cl->buf = b;
            cl->next = NULL;
            u->out_bufs = cl;
        }
    }

    if (u->length == 0) {
        u->body_done = 1;
    }

    /* the response header may have gone as "more at once" too */
    u->unflushed = 1;

    r->write_event_handler = bw_http_upstream_process_downstream;
    u->read_event_handler = bw_http_upstream_process_upstream;
    u->write_event_handler = bw_http_upstream_dummy_handler;

    bw_http_upstream_process_body(r, u);
}

/*
 * A decoded piece of the body: to the cache, if the answer is stored.
 * A HEAD that went to the upstream as GET (proxy_cache_convert_head)
 * reads the whole body for the cache; the client gets none of it.
 */
static bw_int_t
bw_http_upstream_cache_body(bw_http_request_t *r, bw_http_upstream_t *u,
    bw_buf_t *b)
{
    if (u->cacheable && b->pos < b->last
        && bw_http_upstream_cache_ops->store_body(r, u, b) != BW_OK)
    {
        return BW_ERROR;
    }

    if (r->header_only) {
        b->pos = b->last;
    }

    return BW_OK;
}

/*
 * The client is gone while the answer is stored: what was to go to it
 * (now, and what the writer still holds) is taken as sent, and the
 * buffers are free to read the rest of the answer into.
 */
static void
bw_http_upstream_drop(bw_http_request_t *r, bw_http_upstream_t *u,
    bw_chain_t **out)
{
    bw_chain_t  *cl;

    for (cl = *out; cl; cl = cl->next) {
        cl->buf->pos = cl->buf->last;
        cl->buf->file_pos = cl->buf->file_last;
    }

    for (cl = u->busy_bufs; cl; cl = cl->next) {
        cl->buf->pos = cl->buf->last;
        cl->buf->file_pos = cl->buf->file_last;
    }

    r->out = NULL;
    r->connection->buffered = 0;

    bw_chain_update_chains(r->pool, &u->free_bufs, &u->busy_bufs, out, u);
}

static bw_chain_t *
bw_http_upstream_get_buf(bw_http_request_t *r, bw_http_upstream_t *u)
{
    size_t       size;
    bw_uint_t    max;
    bw_buf_t    *b;
    bw_chain_t  *cl;

    cl = u->free_bufs;

    if (cl) {
        u->free_bufs = cl->next;

    } else {
        max = u->buffering ? u->conf->bufs.num : 1;
        if (u->nbufs >= max) {
            return NULL;
        }

        size = u->buffering ? u->conf->bufs.size : u->conf->buffer_size;

        cl = bw_alloc_chain_link(r->pool);
        if (cl == NULL) {
            return NULL;
        }
        cl->buf = bw_create_temp_buf(r->pool, size);
        if (cl->buf == NULL) {
            return NULL;
        }
        u->nbufs++;
    }

    cl->next = NULL;
    b = cl->buf;
    b->pos = b->start;
    b->last = b->start;
    b->temporary = 1;
    b->flush = 0;
    b->tag = u;

    return cl;
}

/* A flush buffer behind what waits to go to the client. */
static bw_int_t
bw_http_upstream_add_flush(bw_http_request_t *r, bw_http_upstream_t *u)
{
    bw_chain_t  *cl, **ll;

    cl = bw_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return BW_ERROR;
    }
    u->flush_buf.flush = 1;
    cl->buf = &u->flush_buf;
    cl->next = NULL;
    for (ll = &u->out_bufs; *ll; ll = &(*ll)->next) { /* void */ }
    *ll = cl;
    return BW_OK;
}

/*
 * The upstream broke off in the body. What it sent before goes to the
 * client, so that the client sees a response cut short (as from nginx)
 * and not an empty one: BW_OK, the writer sends what the filters hold
 * and the connection is closed after it. BW_ERROR when that is not to
 * be (a subrequest, or a response already going through the temp
 * file, which is cut where the client is).
 */
static bw_int_t
bw_http_upstream_pass_cut(bw_http_request_t *r, bw_http_upstream_t *u)
{
    if (r != r->main || !u->header_sent || u->temp_file) {
        return BW_ERROR;
    }

    /* with what waits here, what the filters hold back (the response
     * header and a first batch that went as "more at once") */
    if (bw_http_upstream_add_flush(r, u) != BW_OK
        || bw_http_output_filter(r, u->out_bufs) == BW_ERROR)
    {
        return BW_ERROR;
    }

    u->out_bufs = NULL;
    r->keepalive = 0;
    return BW_OK;
}

static void
bw_http_upstream_process_body(bw_http_request_t *r, bw_http_upstream_t *u)
{
    off_t             sent, limit;
    size_t            size;
    ssize_t           n;
    bw_int_t          rc;
    bw_uint_t         flushed, passed;
    bw_buf_t         *b;
    bw_chain_t       *cl, **ll, *chain, *next, *out;
    bw_connection_t  *c, *uc;

    c = r->connection;
    uc = u->peer.connection;
    flushed = 0;

    for ( ;; ) {

        if (u->body_done && !u->last_sent) {
            if (u->cacheable) {
                bw_http_upstream_cache_ops->store_end(r, u, 1);
            }
            cl = bw_alloc_chain_link(r->pool);
            b = bw_calloc_buf(r->pool);
            if (cl == NULL || b == NULL) {
                bw_http_upstream_finalize_request(r, u, BW_ERROR);
                return;
            }
            b->last_buf = 1;
            cl->buf = b;
            cl->next = NULL;
            for (ll = &u->out_bufs; *ll; ll = &(*ll)->next) { /* void */ }
            *ll = cl;
            u->last_sent = 1;
        }

        if (bw_http_upstream_to_pass(r, u, &out) != BW_OK) {
            bw_http_upstream_finalize_request(r, u, BW_ERROR);
            return;
        }
        passed = (out != NULL);

        if (c->error && u->cacheable) {
            /* the client is gone, the cache still takes the answer:
             * what was for the client is dropped as it comes */
            bw_http_upstream_drop(r, u, &out);

        } else if (out || r->out || c->buffered) {
            sent = c->sent;

            rc = bw_http_output_filter(r, out);

            if (rc == BW_ERROR && u->cacheable) {
                bw_log_error(BW_LOG_INFO, c->log, 0, "the client is gone, "
                             "the answer is still read for the cache");
                c->error = 1;
                bw_http_upstream_drop(r, u, &out);
                continue;
            }

            if (rc == BW_ERROR) {
                bw_http_upstream_finalize_request(r, u, BW_ERROR);
                return;
            }

            bw_chain_update_chains(r->pool, &u->free_bufs, &u->busy_bufs,
                                   &out, u);

            /* a client that was behind took its backlog: what waits in
             * the buffers was held back only for it (to_pass gives
             * nothing to a client that is behind) */
            passed |= (c->sent != sent);
        }

        if (passed && (u->out_bufs || u->temp_pending)
            && !(c->buffered & BW_HTTP_WRITE_BUFFERED))
        {
            continue;       /* the client took it: more may go */
        }

        if (u->spill_timer.timer_set && u->out_bufs == NULL
            && !(c->buffered & BW_HTTP_WRITE_BUFFERED))
        {
            /* the client caught up: it was only momentarily behind
             * (taking a little now and then is not catching up) */
            bw_event_del_timer(&u->spill_timer);
        }

        if (u->last_sent) {
            /* the upstream is done (and maybe pooled) even if the client
             * still has bytes to take: the writer finishes those */
            bw_http_upstream_finalize_request(r, u, BW_OK);
            return;
        }

        if (!uc->read->ready || uc->read->delayed) {
            break;
        }

        /* proxy_limit_rate, as nginx: what the rate allows since the body
         * began (a second's head start); over it, the read waits */
        limit = 0;
        if (u->limit_rate && u->limit_rate <= BW_LIMIT_RATE_MAX
            && u->buffering)
        {
            limit = (off_t) u->limit_rate
                    * (bw_time_sec - u->start_sec + 1) - u->read_length;
            if (limit <= 0) {
                uc->read->delayed = 1;
                if (uc->read->timer_set) {
                    bw_event_del_timer(uc->read);
                }
                bw_event_add_timer(uc->read,
                    (bw_msec_t) (-limit * 1000 / u->limit_rate + 1));
                break;
            }
        }

        /* every free buffer takes part in one read */
        chain = NULL;
        ll = &chain;
        while ((cl = bw_http_upstream_get_buf(r, u)) != NULL) {
            *ll = cl;
            ll = &cl->next;
        }

        if (chain == NULL && u->out_bufs && !u->temp_file && !u->spill_now
            && !u->temp_full)
        {
            /*
             * Every buffer holds what the client cannot take yet. A
             * client that is only momentarily behind (most of them) is
             * not worth a disk write and a read back: the file is used
             * once the client has been stuck for a while.
             */
            if (!u->spill_timer.timer_set) {
                u->spill_timer.handler = bw_http_upstream_spill_handler;
                u->spill_timer.data = r;
                u->spill_timer.log = c->log;
                u->spill_timer.cancelable = 1;
                bw_event_add_timer(&u->spill_timer,
                                   BW_HTTP_UPSTREAM_SPILL_DELAY);
            }
            break;
        }

        if (chain == NULL && u->out_bufs) {
            /* every buffer holds what the client cannot take yet: to the
             * file with it, and the buffers are free again */
            rc = bw_http_upstream_spill(r, u);
            if (rc == BW_ERROR) {
                bw_http_upstream_finalize_request(r, u, BW_ERROR);
                return;
            }
            if (rc == BW_DECLINED) {
                u->temp_full = 1;   /* from now on as without a file */
            }
            continue;
        }

        if (chain == NULL) {
            /*
             * Every buffer is with the client. Buffers that went without
             * a flush (the upstream had more) may sit below
             * postpone_output in the write filter: push them out, or
             * nothing would ever free a buffer (once per read, so that
             * a flush that frees nothing ends the loop).
             */
            if (flushed || (c->buffered & BW_HTTP_WRITE_BUFFERED)) {
                break;      /* the socket is full: its event comes */
            }
            if (bw_http_upstream_add_flush(r, u) != BW_OK) {
                bw_http_upstream_finalize_request(r, u, BW_ERROR);
                return;
            }
            flushed = 1;
            continue;
        }

        n = uc->recv_chain(uc, chain, limit);

        if (n == BW_AGAIN || n == 0 || n == BW_ERROR) {
            *ll = u->free_bufs;
            u->free_bufs = chain;
        }

        if (n == BW_AGAIN) {
            if (u->unflushed) {
                /* the last batch went as "more at once" and there is
                 * none: flush, or its tail waits in a filter or the
                 * kernel until the upstream sends again */
                u->unflushed = 0;
                if (bw_http_upstream_add_flush(r, u) != BW_OK) {
                    bw_http_upstream_finalize_request(r, u, BW_ERROR);
                    return;
                }
                continue;
            }
            break;
        }

        if (n == 0 && u->length == -1 && !u->headers_in.chunked) {
            /* a body delimited by the close */
            u->body_done = 1;
            continue;
        }

        if (n == 0 || n == BW_ERROR) {
            if (n == 0) {
                bw_log_error(BW_LOG_ERR, c->log, 0,
                             "upstream prematurely closed connection");
            }
            u->upstream_error = 1;
            bw_http_upstream_finalize_request(r, u,
                                              bw_http_upstream_pass_cut(r, u));
            return;
        }

        u->state->bytes_received += n;
        u->read_length += n;
        flushed = 0;

        /* the bytes filled the buffers in order: decode each in place */
        for (ll = &u->out_bufs; *ll; ll = &(*ll)->next) { /* void */ }
        b = NULL;

        for (cl = chain; cl; cl = next) {
            next = cl->next;
            cl->next = NULL;

            size = (size_t) bw_min((size_t) n,
                                   (size_t) (cl->buf->end - cl->buf->last));
            cl->buf->last += size;
            n -= size;

            if (size && u->input_filter(r, cl->buf) != BW_OK) {
                u->upstream_error = 1;
                bw_http_upstream_finalize_request(r, u, BW_ERROR);
                return;
            }

            if (bw_http_upstream_cache_body(r, u, cl->buf) != BW_OK) {
                bw_http_upstream_finalize_request(r, u, BW_ERROR);
                return;
            }

            if (cl->buf->pos == cl->buf->last) {
                cl->next = u->free_bufs;
                u->free_bufs = cl;
                continue;
            }

            b = cl->buf;
            *ll = cl;
            ll = &cl->next;
        }

        /* a streamed body must not wait for postpone_output; while the
         * upstream has more at once, buffers go out together */
        if (b) {
            b->flush = uc->read->ready ? 0 : 1;
            u->unflushed = !b->flush;
        }

        if (u->length == 0) {
            u->body_done = 1;
        }
    }

    /* waiting: for the upstream when a buffer is free, else the client */

    if (uc->read->delayed) {
        /* proxy_limit_rate: its timer brings the reader back */

    } else if (uc->read->ready) {
        if (uc->read->timer_set) {
            bw_event_del_timer(uc->read);
        }
    } else {
        bw_event_add_timer(uc->read, u->conf->read_timeout);
    }

    if (c->write->delayed) {
        return;             /* limit_rate: its timer brings us back */
    }

    if (r->out || c->buffered) {
        bw_http_core_loc_conf_t  *clcf;

        clcf = r->loc_conf[bw_http_core_module.ctx_index];
        bw_event_add_timer(c->write, clcf->send_timeout);

    } else if (c->write->timer_set) {
        bw_event_del_timer(c->write);
    }
}

/* The client took nothing for BW_HTTP_UPSTREAM_SPILL_DELAY: the rest
 * of the response goes to the temp file from now on. */
static void
bw_http_upstream_spill_handler(bw_event_t *ev)
{
    bw_connection_t     *c;
    bw_http_request_t   *r;
    bw_http_upstream_t  *u;

    r = ev->data;
    u = r->upstream;
    c = r->connection;

    bw_log_debug(c->log, "http upstream: the client took nothing for "
                 "%d ms", BW_HTTP_UPSTREAM_SPILL_DELAY);

    u->spill_now = 1;
    bw_http_upstream_process_body(r, u);

    bw_http_run_posted_requests(c);
}

/*
 * What goes to the client now (*out), and what waits in its buffers
 * (u->out_bufs; once every buffer waits, in the temp file). Data waits
 * while the client's socket is full, and beyond a busy limit in the
 * write filter: buffers there come back only when the client takes
 * them, and the limit keeps buffers to read into (all but one; for a
 * client that lags, proxy_busy_buffers_size). At least one buffer goes
 * whenever the socket has room. Without a temp file, at its limit,
 * or at the end of the body, everything goes at once. A range waiting
 * in the file always goes first.
 */
static bw_int_t
bw_http_upstream_to_pass(bw_http_request_t *r, bw_http_upstream_t *u,
    bw_chain_t **out)
{
    off_t         busy, limit;
    bw_uint_t     all;
    bw_chain_t   *cl, **ll;

    *out = NULL;

    all = !u->buffering || u->conf->max_temp_file_size == 0
          || u->temp_full || u->last_sent || r != r->main;

    if (!all && (r->connection->buffered & BW_HTTP_WRITE_BUFFERED)) {
        return BW_OK;
    }

    ll = out;

    if (u->temp_pending) {
        cl = bw_alloc_chain_link(r->pool);
        if (cl == NULL) {
            return BW_ERROR;
        }
        cl->buf = u->temp_pending;
        cl->next = NULL;
        *ll = cl;
        ll = &cl->next;
        u->temp_passed = u->temp_pending;
        u->temp_pending = NULL;
    }

    if (all) {
        *ll = u->out_bufs;
        u->out_bufs = NULL;
        return BW_OK;
    }

    /* a client that keeps up gets all it can take in one go, one
     * buffer being left to read into (a client that stops reading would
     * otherwise hold every buffer, and nothing would be read for the
     * temp file); one that lags gets no more than
     * proxy_busy_buffers_size at a time, the rest is for the file */
    limit = (u->temp_file || u->spill_timer.timer_set)
            ? (off_t) u->conf->busy_buffers_size
            : (off_t) ((u->conf->bufs.num - 1) * u->conf->bufs.size);

    busy = 0;
    for (cl = u->busy_bufs; cl; cl = cl->next) {
        if (cl->buf->tag == u) {
            busy += bw_buf_size(cl->buf);
        }
    }

    while (u->out_bufs) {
        cl = u->out_bufs;
        if (ll != out && busy + bw_buf_size(cl->buf) > limit) {
            break;
        }
        busy += bw_buf_size(cl->buf);
        u->out_bufs = cl->next;
        cl->next = NULL;
        *ll = cl;
        ll = &cl->next;
    }

    return BW_OK;
}

/*
 * Every buffer holds data the client cannot take yet: it goes to the
 * temp file (one pwritev per proxy_temp_file_write_size) and the
 * buffers are read into again. What was written while the client is
 * stuck stays one range (temp_pending), passed on as one file buf when
 * the client has room. BW_DECLINED when the file is at its limit.
 */
static bw_int_t
bw_http_upstream_spill(bw_http_request_t *r, bw_http_upstream_t *u)
{
    off_t        size;
    bw_buf_t    *b;
    bw_chain_t  *cl, *next;

    size = 0;
    for (cl = u->out_bufs; cl; cl = cl->next) {
        size += bw_buf_size(cl->buf);
    }

    if (size == 0) {
        goto free;              /* a flush alone: nothing to keep */
    }

    if (u->temp_file == NULL) {
        if (size > (off_t) u->conf->max_temp_file_size) {
            return BW_DECLINED;
        }

        u->temp_file = bw_pcalloc(r->pool, sizeof(bw_file_t));
        if (u->temp_file == NULL
            || bw_create_temp_file(u->temp_file, u->conf->temp_path,
                                   r->pool, r->connection->log) != BW_OK)
        {
            return BW_ERROR;
        }

        /* one client reading slowly makes one of these per request */
        bw_log_throttled(BW_LOG_WARN, r->connection->log, 0,
                         "an upstream response is buffered to a temporary "
                         "file %s while reading upstream",
                         u->temp_file->name.data);

    } else if (u->temp_file->offset + size
               > (off_t) u->conf->max_temp_file_size)
    {
        return BW_DECLINED;
    }

    if (bw_write_chain_to_temp_file(u->temp_file, u->out_bufs,
                                    u->conf->temp_file_write_size)
        != BW_OK)
    {
        return BW_ERROR;
    }

free:

    /* the memory is free for the next read (the header buffer is not
     * reused: the response's header strings live there) */
    for (cl = u->out_bufs; cl; cl = next) {
        next = cl->next;
        if (cl->buf->tag == u) {
            cl->buf->pos = cl->buf->start;
            cl->buf->last = cl->buf->start;
            cl->buf->flush = 0;
            cl->next = u->free_bufs;
            u->free_bufs = cl;
        } else {
            cl->buf->pos = cl->buf->last;
            bw_free_chain(r->pool, cl);
        }
    }
    u->out_bufs = NULL;

    if (size == 0) {
        return BW_OK;
    }

    b = u->temp_pending;

    if (b == NULL) {
        /* the range passed before is free again once the client took
         * all of it (the write filter and busy_bufs dropped it) */
        b = u->temp_passed;
        if (b == NULL || b->file_pos < b->file_last) {
            b = bw_calloc_buf(r->pool);
            if (b == NULL) {
                return BW_ERROR;
            }
            b->in_file = 1;
            b->file = u->temp_file;
        }
        if (b == u->temp_passed) {
            u->temp_passed = NULL;
        }
        b->file_pos = u->temp_file->offset - size;
        u->temp_pending = b;
    }

    b->file_last = u->temp_file->offset;

    return BW_OK;
}

static void
bw_http_upstream_process_downstream(bw_http_request_t *r)
{
    bw_int_t             rc;
    bw_connection_t     *c;
    bw_http_upstream_t  *u;

    c = r->connection;
    u = r->upstream;

    rc = bw_http_write_event_ready(r);

    if (rc == BW_ERROR && u->cacheable) {
        /* as nginx: the client is given up, the answer is still read to
         * its end for the cache */
        bw_log_error(BW_LOG_INFO, c->log, ETIMEDOUT, "client timed out, "
                     "the answer is still read for the cache");
        c->error = 1;
        u->keepalive = 0;
        r->write_event_handler = bw_http_request_empty_handler;
        bw_http_upstream_process_body(r, u);
        return;
    }

    if (rc == BW_ERROR) {
        bw_log_error(BW_LOG_INFO, c->log, ETIMEDOUT, "client timed out");
        bw_http_upstream_finalize_request(r, u, BW_HTTP_REQUEST_TIME_OUT);
        return;
    }
    if (rc == BW_AGAIN) {
        return;
    }

    bw_http_upstream_process_body(r, u);
}

static void
bw_http_upstream_process_upstream(bw_http_request_t *r,
    bw_http_upstream_t *u)
{
    bw_connection_t  *uc;

    uc = u->peer.connection;

    if (uc->read->delayed) {
        if (!uc->read->timedout) {
            return;         /* ready, but the rate says later */
        }
        uc->read->timedout = 0;
        uc->read->delayed = 0;
        bw_http_upstream_process_body(r, u);
        return;
    }

    if (uc->read->timedout) {
        bw_log_error(BW_LOG_ERR, r->connection->log, ETIMEDOUT,
                     "upstream timed out");
        bw_http_upstream_finalize_request(r, u, BW_HTTP_GATEWAY_TIME_OUT);
        return;
    }

    bw_http_upstream_process_body(r, u);
}

/* --- upgraded connections --------------------------------------------- */

void
bw_http_upstream_upgrade(bw_http_request_t *r, bw_http_upstream_t *u)
{
    size_t                      size;
    bw_buf_t                   *b;
    bw_chain_t                  out;
    bw_connection_t            *c;
    bw_http_upstream_tunnel_t  *t;

    c = r->connection;

    r->keepalive = 0;
    c->log->action = "proxying upgraded connection";

    t = bw_pcalloc(r->pool, sizeof(bw_http_upstream_tunnel_t));
    if (t == NULL) {
        bw_http_upstream_finalize_request(r, u, BW_ERROR);
        return;
    }
    u->input_filter_ctx = t;

    size = bw_max(u->conf->buffer_size,
                  (size_t) (u->buffer.last - u->buffer.pos));
    t->up = bw_create_temp_buf(r->pool, size);

    size = bw_max(u->conf->buffer_size,
                  (size_t) (r->header_in->last - r->header_in->pos));
    t->down = bw_create_temp_buf(r->pool, size);

    if (t->up == NULL || t->down == NULL) {
        bw_http_upstream_finalize_request(r, u, BW_ERROR);
        return;
    }

    /* what either side sent after its header belongs to the tunnel */
    t->up->last = bw_cpymem(t->up->last, u->buffer.pos,
                            u->buffer.last - u->buffer.pos);
    t->down->last = bw_cpymem(t->down->last, r->header_in->pos,
                              r->header_in->last - r->header_in->pos);
    r->header_in->pos = r->header_in->last;

    (void) bw_tcp_nodelay(c);

    u->read_event_handler = bw_http_upstream_upgraded_upstream;
    u->write_event_handler = bw_http_upstream_upgraded_upstream;
    r->read_event_handler = bw_http_upstream_upgraded_downstream;
    r->write_event_handler = bw_http_upstream_upgraded_downstream;

    /* the 101 header may wait in the write filter: push it out */
    b = bw_calloc_buf(r->pool);
    if (b == NULL) {
        bw_http_upstream_finalize_request(r, u, BW_ERROR);
        return;
    }
    b->flush = 1;
    out.buf = b;
    out.next = NULL;

    if (bw_http_output_filter(r, &out) == BW_ERROR) {
        bw_http_upstream_finalize_request(r, u, BW_ERROR);
        return;
    }

    bw_http_upstream_process_upgraded(r);
}

static void
bw_http_upstream_upgraded_downstream(bw_http_request_t *r)
{
    bw_http_upstream_process_upgraded(r);
}

static void
bw_http_upstream_upgraded_upstream(bw_http_request_t *r,
    bw_http_upstream_t *u)
{
    bw_http_upstream_process_upgraded(r);
}

/* Move bytes from src to dst through b; BW_DONE once src closed and b
 * is empty. */
static bw_int_t
bw_http_upstream_pump(bw_connection_t *src, bw_connection_t *dst,
    bw_buf_t *b)
{
    ssize_t  n;

    for ( ;; ) {
        if (b->pos < b->last && dst->write->ready) {
            n = dst->send(dst, b->pos, b->last - b->pos);
            if (n == BW_ERROR) {
                return BW_ERROR;
            }
            if (n > 0) {
                b->pos += n;
                if (b->pos == b->last) {
                    b->pos = b->start;
                    b->last = b->start;
                }
            }
        }

        if (b->last < b->end && src->read->ready && !src->read->eof) {
            n = src->recv(src, b->last, b->end - b->last);
            if (n > 0) {
                b->last += n;
                continue;
            }
            if (n == 0 || n == BW_ERROR) {
                src->read->eof = 1;
            }
        }

        break;
    }

    if (src->read->eof && b->pos == b->last) {
        return BW_DONE;
    }

    return BW_OK;
}

static void
bw_http_upstream_process_upgraded(bw_http_request_t *r)
{
    bw_int_t                    rc1, rc2;
    bw_connection_t            *c, *uc;
    bw_http_upstream_t         *u;
    bw_http_upstream_tunnel_t  *t;

    c = r->connection;
    u = r->upstream;
    uc = u->peer.connection;
    t = u->input_filter_ctx;

    if (c->read->timedout || c->write->timedout || uc->read->timedout
        || uc->write->timedout)
    {
        c->timedout = 1;
        bw_log_error(BW_LOG_INFO, c->log, ETIMEDOUT,
                     "upgraded connection timed out");
        bw_http_upstream_finalize_request(r, u, BW_ERROR);
        return;
    }

    if (r->out || c->buffered) {
        if (bw_http_output_filter(r, NULL) == BW_ERROR) {
            bw_http_upstream_finalize_request(r, u, BW_ERROR);
            return;
        }
        if (r->out || c->buffered) {
            bw_event_add_timer(uc->read, u->conf->read_timeout);
            return;
        }
    }

    rc1 = bw_http_upstream_pump(uc, c, t->up);
    rc2 = bw_http_upstream_pump(c, uc, t->down);

    if (rc1 == BW_ERROR || rc2 == BW_ERROR) {
        bw_http_upstream_finalize_request(r, u, BW_ERROR);
        return;
    }

    if (rc1 == BW_DONE || rc2 == BW_DONE) {
        /* one side is gone and what it sent was delivered */
        bw_http_upstream_finalize_request(r, u, BW_OK);
        return;
    }

    /* idle timeout, as proxy_read_timeout for WebSocket in nginx */
    bw_event_add_timer(uc->read, u->conf->read_timeout);
}
