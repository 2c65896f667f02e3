/*
 * The last body filter: collect buffers until there is enough to send
 * (postpone_output) or a flush/last buffer, then send the chain with
 * writev/sendfile. What the socket does not take stays in r->out and
 * the write event resumes it: memory is bounded by what the upper
 * filters hold, never by the response size.
 */

#include <bw_http.h>

static bw_int_t bw_http_write_filter_init(bw_conf_t *cf);

static bw_http_module_t  bw_http_write_filter_module_ctx = {
    NULL, bw_http_write_filter_init, NULL, NULL, NULL, NULL, NULL, NULL
};

bw_module_t  bw_http_write_filter_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_write_filter_module_ctx, NULL,
    NULL, NULL, NULL, NULL
};

/* The links before `rest` were sent: back to the pool for reuse. */
static void
bw_http_write_filter_free(bw_http_request_t *r, bw_chain_t *rest)
{
    bw_chain_t  *cl, *ln;

    for (cl = r->out; cl && cl != rest; /* void */) {
        ln = cl;
        cl = cl->next;
        bw_free_chain(r->pool, ln);
    }

    r->out = rest;
}

bw_int_t
bw_http_write_filter(bw_http_request_t *r, bw_chain_t *in)
{
    off_t                     size, limit, rate, sent, nsent;
    bw_msec_t                 delay;
    bw_uint_t                 last, flush, has_file;
    bw_chain_t               *cl, *ln, **ll, *chain;
    bw_connection_t          *c;
    bw_http_core_loc_conf_t  *clcf;

    c = r->connection;

    if (c->error) {
        return BW_ERROR;
    }

    size = 0;
    flush = 0;
    last = 0;
    has_file = 0;
    ll = &r->out;

    for (cl = r->out; cl; cl = cl->next) {
        ll = &cl->next;
        size += bw_buf_size(cl->buf);
        flush |= cl->buf->flush;
        last |= cl->buf->last_buf;
        has_file |= cl->buf->in_file;
    }

    for (ln = in; ln; ln = ln->next) {
        cl = bw_alloc_chain_link(r->pool);
        if (cl == NULL) {
            return BW_ERROR;
        }
        cl->buf = ln->buf;
        *ll = cl;
        ll = &cl->next;

        size += bw_buf_size(cl->buf);
        flush |= cl->buf->flush;
        last |= cl->buf->last_buf;
        has_file |= cl->buf->in_file;
    }
    *ll = NULL;

    clcf = r->loc_conf[bw_http_core_module.ctx_index];

    if (!last && !flush && in && size < (off_t) clcf->postpone_output) {
        return BW_OK;
    }

    /* nothing to send; but an HTTP/2 stream's end is a frame */
    if (size == 0 && !(c->buffered & BW_HTTP_LOWLEVEL_BUFFERED)
        && !(last && r->stream))
    {
        if (last || flush) {
            bw_http_write_filter_free(r, NULL);
            c->buffered &= ~BW_HTTP_WRITE_BUFFERED;
            /* what went before with "more to come" goes out now */
            (void) bw_tcp_push_more(c);
            return BW_OK;
        }
        return BW_OK;
    }

    if (!c->write->ready || c->write->delayed) {
        c->buffered |= BW_HTTP_WRITE_BUFFERED;
        return BW_AGAIN;
    }

    limit = (off_t) clcf->sendfile_max_chunk;

    if (r->limit_rate && r->limit_rate <= BW_LIMIT_RATE_MAX) {
        /*
         * limit_rate, as nginx: what the rate allows since the request
         * began (with a second's head start), past limit_rate_after;
         * over it, the write event waits (delayed) until it is due
         */
        rate = (off_t) r->limit_rate * (bw_time_sec - r->start_sec + 1)
               - (c->sent - (off_t) bw_min(r->limit_rate_after,
                                           BW_LIMIT_RATE_AFTER_MAX));

        if (rate <= 0) {
            c->write->delayed = 1;
            bw_event_add_timer(c->write,
                               (bw_msec_t) (-rate * 1000 / r->limit_rate + 1));
            c->buffered |= BW_HTTP_WRITE_BUFFERED;
            return BW_AGAIN;
        }

        if (limit == 0 || rate < limit) {
            limit = rate;
        }
    }

    /* header and file in one packet */
    if (has_file && clcf->tcp_nopush && c->tcp_nopush == BW_TCP_NOPUSH_UNSET)
    {
        (void) bw_tcp_nopush(c);
    }

    bw_log_debug(c->log, "http write filter: %lld bytes%s%s",
                 (long long) size, last ? ", last" : "",
                 flush ? ", flush" : "");

    /* sendfile_max_chunk: one connection does not hold the worker for a
     * whole large file; the rest goes on the next turn of the loop */
    sent = c->sent;

    /* a producer that does not flush has more at once (a large body
     * read in batches): the batches leave as full segments; not with
     * limit_rate, whose sends are spaced in time */
    c->more = !last && !flush && !r->limit_rate;

    chain = c->send_chain(c, r->out, limit);

    c->more = 0;

    if (chain == BW_CHAIN_ERROR) {
        c->error = 1;
        return BW_ERROR;
    }

    if (r->limit_rate && r->limit_rate <= BW_LIMIT_RATE_MAX) {
        /* what went past limit_rate_after costs its time */
        sent = bw_max(sent - (off_t) bw_min(r->limit_rate_after,
                                            BW_LIMIT_RATE_AFTER_MAX), 0);
        nsent = bw_max(c->sent - (off_t) bw_min(r->limit_rate_after,
                                                BW_LIMIT_RATE_AFTER_MAX), 0);
        delay = (bw_msec_t) ((nsent - sent) * 1000 / r->limit_rate);
        if (delay > 0) {
            c->write->delayed = 1;
            bw_event_add_timer(c->write, delay);
        }
    }

    bw_http_write_filter_free(r, chain);

    if (chain) {
        if (c->write->ready && !c->write->delayed && !c->write->posted) {
            bw_post_event(c->write, &bw_posted_next_events);
        }
        c->buffered |= BW_HTTP_WRITE_BUFFERED;
        return BW_AGAIN;
    }

    c->buffered &= ~BW_HTTP_WRITE_BUFFERED;

    if (last) {
        (void) bw_tcp_push(c);
    }

    return BW_OK;
}

static bw_int_t
bw_http_write_filter_init(bw_conf_t *cf)
{
    bw_http_top_body_filter = bw_http_write_filter;
    return BW_OK;
}
