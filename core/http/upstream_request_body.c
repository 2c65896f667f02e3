/*
 * The request body streamed to the upstream as the client sends it
 * (proxy_request_buffering off). One buffer (client_body_buffer_size)
 * is in flight at a time: it is refilled from the client only once the
 * upstream has taken all of it, so a slow upstream slows the client down
 * instead of growing memory, and a slow client holds the upstream
 * connection, as in nginx. A chunked body goes out chunked when the
 * module asked for it (HTTP/1.1), with its own framing; a module may
 * frame the pieces itself (FastCGI's records).
 */

#include <bw_http.h>

struct bw_http_upstream_stream_s {
    bw_buf_t     head;          /* "<size>\r\n" */
    bw_buf_t     crlf;          /* after the chunk data */
    bw_buf_t     last;          /* "0\r\n\r\n" */
    bw_chain_t   cl[4];
    u_char       size[BW_INT_T_LEN + 2];
    unsigned     done:1;        /* the end of the body is queued */
    unsigned     framed:1;      /* in flight: the module's framing of
                                   the buffer's bytes */
};

static u_char  bw_http_upstream_crlf[] = "\r\n";
static u_char  bw_http_upstream_last_chunk[] = "0\r\n\r\n";

static void
bw_http_upstream_stream_buf(bw_buf_t *b, u_char *p, size_t len)
{
    bw_memzero(b, sizeof(bw_buf_t));
    b->memory = 1;
    b->start = p;
    b->pos = p;
    b->last = p + len;
    b->end = b->last;
}

/* The next piece to send: what rb->buf holds, framed; NULL if nothing. */
static bw_chain_t *
bw_http_upstream_stream_chain(bw_http_request_t *r, bw_http_upstream_t *u)
{
    size_t                    n;
    u_char                   *p;
    bw_uint_t                 i;
    bw_chain_t               *cl;
    bw_http_request_body_t   *rb;
    struct bw_http_upstream_stream_s  *st;

    st = u->stream;
    rb = r->request_body;

    if (u->stream_frame) {
        if (rb->rest == 0) {
            st->done = 1;
        }
        cl = u->stream_frame(r, rb->buf, rb->rest == 0);
        st->framed = cl ? 1 : 0;
        return cl;
    }

    cl = st->cl;
    i = 0;
    n = (size_t) (rb->buf->last - rb->buf->pos);

    if (n && u->request_chunked) {
        p = bw_sprint_hex(st->size, n);
        *p++ = '\r';
        *p++ = '\n';
        bw_http_upstream_stream_buf(&st->head, st->size, p - st->size);
        cl[i++].buf = &st->head;
    }

    if (n) {
        cl[i++].buf = rb->buf;
    }

    if (n && u->request_chunked) {
        bw_http_upstream_stream_buf(&st->crlf, bw_http_upstream_crlf, 2);
        cl[i++].buf = &st->crlf;
    }

    if (rb->rest == 0) {
        st->done = 1;
        if (u->request_chunked) {
            bw_http_upstream_stream_buf(&st->last,
                                        bw_http_upstream_last_chunk, 5);
            cl[i++].buf = &st->last;
        }
    }

    if (i == 0) {
        return NULL;
    }

    for (n = 0; n + 1 < i; n++) {
        cl[n].next = &cl[n + 1];
    }
    cl[i - 1].next = NULL;

    return cl;
}

bw_int_t
bw_http_upstream_stream_body(bw_http_request_t *r, bw_http_upstream_t *u)
{
    bw_int_t          rc;
    bw_chain_t       *rest;
    bw_connection_t  *c;

    c = u->peer.connection;

    if (u->stream == NULL) {
        u->stream = bw_pcalloc(r->pool,
                               sizeof(struct bw_http_upstream_stream_s));
        if (u->stream == NULL) {
            return BW_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    for ( ;; ) {
        if (u->request_out) {
            rest = c->send_chain(c, u->request_out, 0);

            if (rest == BW_CHAIN_ERROR) {
                return BW_ERROR;
            }

            u->request_out = rest;

            if (rest) {
                bw_event_add_timer(c->write, u->conf->send_timeout);
                return BW_AGAIN;
            }

            if (c->write->timer_set) {
                bw_event_del_timer(c->write);
            }
        }

        if (u->stream->framed) {
            /* the module's chain held views of the buffer: all of them
             * are sent (here, or by the upstream's own sender when the
             * socket was full) */
            u->stream->framed = 0;
            r->request_body->buf->pos = r->request_body->buf->last;
        }

        if (u->stream->done) {
            return BW_OK;
        }

        rc = bw_http_read_unbuffered_request_body(r);
        if (rc != BW_OK) {
            return rc;
        }

        u->request_out = bw_http_upstream_stream_chain(r, u);
        if (u->request_out == BW_CHAIN_ERROR) {
            u->request_out = NULL;
            return BW_ERROR;
        }
    }
}
