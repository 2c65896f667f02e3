/*
 * The HTTP/1 side of a client connection: wait for bytes (after a PROXY
 * protocol header, when the listen says so), read and parse the request
 * line and the header lines (growing into large header buffers within
 * the configured limits), and, once a request is finished, keep the
 * connection alive (a pipelined request is served at once), linger, or
 * close it. What happens to a request between its head and its end is
 * the protocol-neutral lifecycle of request.c; another protocol (HTTP/2)
 * gets a file of its own beside this one. Nothing here blocks, and a bad
 * request closes its own connection only.
 */

#include <bw_http.h>

static bw_int_t bw_http_proxy_protocol(bw_connection_t *c, bw_buf_t *b);
static void bw_http_process_request_line(bw_event_t *rev);
static void bw_http_process_request_headers(bw_event_t *rev);
static ssize_t bw_http_read_request_header(bw_http_request_t *r);
static bw_int_t bw_http_alloc_large_header_buffer(bw_http_request_t *r,
    u_char *start, bw_uint_t request_line);
static void bw_http_set_keepalive(bw_http_request_t *r);
static void bw_http_set_lingering_close(bw_http_request_t *r);
static void bw_http_lingering_close_handler(bw_event_t *ev);
static void bw_http_discarded_body_handler(bw_event_t *ev);
static void bw_http_empty_handler(bw_event_t *ev);
static u_char *bw_http_log_error(bw_log_t *log, u_char *buf, size_t len);
static bw_uint_t bw_http_v2_preface(bw_buf_t *b);

void
bw_http_init_connection(bw_connection_t *c)
{
    bw_uint_t                 i;
    socklen_t                 len;
    bw_event_t               *rev;
    bw_sockaddr_t             sa;
    bw_http_port_t           *port;
    bw_http_in_addr_t        *addr;
    bw_http_log_ctx_t        *ctx;
    bw_http_connection_t     *hc;
    bw_http_core_srv_conf_t  *cscf;
    bw_http_core_loc_conf_t  *clcf;

    hc = bw_pcalloc(c->pool, sizeof(bw_http_connection_t));
    ctx = bw_palloc(c->pool, sizeof(bw_http_log_ctx_t));
    if (hc == NULL || ctx == NULL) {
        bw_http_close_connection(c);
        return;
    }
    c->data = hc;

    port = c->listening->servers;
    addr = port->addrs;

    if (port->naddrs > 1) {
        /* a wildcard socket serving several addresses of this port */
        len = sizeof(bw_sockaddr_t);
        if (getsockname(c->fd, &sa.sockaddr, &len) == 0) {
            for (i = 0; i < port->naddrs - 1; i++) {
                if (bw_cmp_sockaddr(&sa.sockaddr, len,
                                    &port->addrs[i].sockaddr.sockaddr,
                                    port->addrs[i].socklen, 0) == BW_OK)
                {
                    break;
                }
            }
            addr = &port->addrs[i];
        } else {
            addr = &port->addrs[port->naddrs - 1];
        }
    }

    hc->addr_conf = &addr->conf;

    /* until a request picks its server, the default server's error_log
     * is the connection's, as nginx */
    clcf = addr->conf.default_server->ctx->loc_conf[
               bw_http_core_module.ctx_index];
    if (clcf->error_log && clcf->error_log->file) {
        c->log->file = clcf->error_log->file;
        c->log->log_level = clcf->error_log->log_level;
        c->log->next = clcf->error_log->next;
        c->log->syslog = clcf->error_log->syslog;
    }

    ctx->connection = c;
    ctx->request = NULL;
    c->log->handler = bw_http_log_error;
    c->log->data = ctx;
    c->log->action = "waiting for request";

    rev = c->read;
    rev->handler = bw_http_wait_request_handler;
    c->write->handler = bw_http_empty_handler;

    cscf = hc->addr_conf->default_server;
    bw_event_add_timer(rev, cscf->client_header_timeout);

    /*
     * Reusable: under a shortage of slots it is closed first. Not idle:
     * a graceful stop waits for its request (the client already sent
     * it or is sending it), as nginx does.
     */
    bw_reusable_connection(c, 1);

    if (hc->addr_conf->ssl && bw_http_ssl_hooks) {
        /* the handshake first; it goes on to the request when done */
        bw_http_ssl_hooks->init_connection(c);
        return;
    }

    if (rev->ready) {
        bw_post_event(rev, &bw_posted_events);
    }
}

void
bw_http_wait_request_handler(bw_event_t *rev)
{
    size_t                    size;
    ssize_t                   n;
    bw_buf_t                 *b;
    bw_connection_t          *c;
    bw_http_connection_t     *hc;
    bw_http_log_ctx_t        *ctx;
    bw_http_core_srv_conf_t  *cscf;

    c = rev->data;

    if (rev->timedout || c->close) {
        bw_http_close_connection(c);
        return;
    }

    hc = c->data;
    cscf = hc->addr_conf->default_server;
    size = cscf->client_header_buffer_size;

    b = c->buffer;
    if (b == NULL) {
        b = bw_create_temp_buf(c->pool, size);
        if (b == NULL) {
            bw_http_close_connection(c);
            return;
        }
        c->buffer = b;

    } else if (b->start == NULL) {
        b->start = bw_palloc(c->pool, size);
        if (b->start == NULL) {
            bw_http_close_connection(c);
            return;
        }
        b->pos = b->start;
        b->last = b->start;
        b->end = b->start + size;
    }

    n = c->recv(c, b->last, b->end - b->last);

    if (n == BW_AGAIN) {
        if (b->pos == b->last) {
            /* idle: give the buffer back, it is reallocated on data */
            if (bw_pfree(c->pool, b->start) == BW_OK) {
                b->start = NULL;
            }
        }
        return;
    }

    if (n == BW_ERROR || n == 0) {
        bw_http_close_connection(c);
        return;
    }

    b->last += n;

    if (hc->addr_conf->proxy_protocol && c->proxy_protocol == NULL) {
        /* the balancer's header comes first, once per connection */
        if (bw_http_proxy_protocol(c, b) != BW_OK) {
            bw_http_close_connection(c);
            return;
        }
        if (c->proxy_protocol == NULL || b->pos == b->last) {
            if (b->pos == b->last) {
                b->pos = b->start;
                b->last = b->start;
            }
            if (b->last == b->end) {
                bw_log_error(BW_LOG_ERR, c->log, 0,
                             "broken header: too long");
                bw_http_close_connection(c);
            }
            return;
        }
    }

    if (c->requests == 0 && bw_http_v2_hooks && bw_http_v2_preface(b)
        && (c->ssl || !hc->addr_conf->ssl) && bw_http_v2_hooks->enabled(c))
    {
        /* HTTP/2 with prior knowledge; the preface is the module's to
         * read from c->buffer */
        bw_http_v2_hooks->init_connection(c);
        return;
    }

    if (c->requests && rev->timer_set) {
        /* a keepalive connection: the rest of the head must come within
         * client_header_timeout, not what is left of keepalive_timeout */
        bw_event_del_timer(rev);
    }

    c->idle = 0;
    bw_reusable_connection(c, 0);

    c->data = bw_http_create_request(c);
    if (c->data == NULL) {
        bw_http_close_connection(c);
        return;
    }

    ctx = c->log->data;
    ctx->request = c->data;
    c->log->action = "reading client request line";

    rev->handler = bw_http_process_request_line;
    bw_http_process_request_line(rev);
}

/*
 * The PROXY protocol header at b->pos: BW_OK when it is in (then
 * c->proxy_protocol is set and b->pos is past it) or still incomplete
 * (c->proxy_protocol stays NULL); BW_ERROR, logged, when it is broken.
 */
static bw_int_t
bw_http_proxy_protocol(bw_connection_t *c, bw_buf_t *b)
{
    u_char               *p;
    size_t                len;
    ssize_t               n;
    bw_proxy_protocol_t   pp, *ppp;

    n = bw_proxy_protocol_parse(b->pos, b->last - b->pos, &pp);

    if (n == 0) {
        return BW_OK;
    }

    if (n < 0) {
        len = bw_min((size_t) (b->last - b->pos), (size_t) 32);
        for (p = b->pos; p < b->pos + len; p++) {
            if (*p < 0x20 || *p > 0x7e) {
                *p = '?';
            }
        }
        bw_log_error(BW_LOG_ERR, c->log, 0,
                     "broken header: \"%.*s\" while reading PROXY "
                     "protocol", (int) len, b->pos);
        return BW_ERROR;
    }

    ppp = bw_proxy_protocol_copy(c->pool, &pp);
    if (ppp == NULL) {
        return BW_ERROR;
    }

    c->proxy_protocol = ppp;
    b->pos += n;

    return BW_OK;
}

static void
bw_http_process_request_line(bw_event_t *rev)
{
    u_char             *next;
    ssize_t             n;
    bw_int_t            rc;
    bw_connection_t    *c;
    bw_http_request_t  *r;

    c = rev->data;
    r = c->data;

    if (rev->timedout) {
        bw_log_error(BW_LOG_INFO, c->log, ETIMEDOUT,
                     "client timed out");
        c->timedout = 1;
        bw_http_close_request(r, BW_HTTP_REQUEST_TIME_OUT);
        return;
    }

    for ( ;; ) {
        rc = bw_http_parse_request_line(r, r->header_in->pos,
                                        r->header_in->last, &next);

        if (rc == BW_OK) {
            /* what came, with the line's end (LF alone or CRLF); the
             * empty lines before it are not counted, as in nginx */
            r->request_length += next - r->request_line.data;
            r->header_in->pos = next;

            bw_log_debug(c->log, "http request line: \"%.*s\"",
                         (int) r->request_line.len, r->request_line.data);

            rc = bw_http_process_request_uri(r);
            if (rc != BW_OK) {
                bw_log_error(BW_LOG_INFO, c->log, 0,
                             "client sent invalid request");
                bw_http_finalize_request(r, rc);
                return;
            }

            c->log->action = "reading client request headers";
            rev->handler = bw_http_process_request_headers;
            bw_http_process_request_headers(rev);
            return;
        }

        if (rc != BW_AGAIN) {
            bw_log_error(BW_LOG_INFO, c->log, 0,
                         "client sent invalid request");
            r->keepalive = 0;
            bw_http_finalize_request(r, rc);
            return;
        }

        if (r->header_in->last == r->header_in->end) {
            rc = bw_http_alloc_large_header_buffer(r, r->header_in->pos, 1);
            if (rc == BW_ERROR) {
                bw_http_close_request(r, BW_HTTP_INTERNAL_SERVER_ERROR);
                return;
            }
            if (rc == BW_DECLINED) {
                /* the log gets the line as far as it came, as nginx */
                r->request_line.data = r->header_in->pos;
                r->request_line.len = r->header_in->last - r->header_in->pos;
                bw_log_error(BW_LOG_INFO, c->log, 0,
                             "client sent too long URI");
                bw_http_finalize_request(r, BW_HTTP_REQUEST_URI_TOO_LARGE);
                return;
            }
        }

        n = bw_http_read_request_header(r);
        if (n == BW_AGAIN || n == BW_ERROR) {
            return;
        }
    }
}

static void
bw_http_process_request_headers(bw_event_t *rev)
{
    u_char                    *start;
    ssize_t                    n;
    bw_int_t                   rc;
    bw_table_elt_t            *h;
    bw_connection_t           *c;
    bw_http_header_t          *hh;
    bw_http_request_t         *r;
    bw_http_core_srv_conf_t   *cscf;
    bw_http_core_main_conf_t  *cmcf;

    c = rev->data;
    r = c->data;

    if (rev->timedout) {
        bw_log_error(BW_LOG_INFO, c->log, ETIMEDOUT, "client timed out");
        c->timedout = 1;
        bw_http_close_request(r, BW_HTTP_REQUEST_TIME_OUT);
        return;
    }

    cmcf = r->main_conf[bw_http_core_module.ctx_index];

    for ( ;; ) {
        cscf = r->srv_conf[bw_http_core_module.ctx_index];
        start = r->header_in->pos;

        /* with ignore_invalid_headers off, names with "_" are kept;
         * other invalid names are always refused (they smuggle) */
        rc = bw_http_parse_header_line(r, &r->header_in->pos,
                                       r->header_in->last,
                                       cscf->underscores_in_headers
                                       || !cscf->ignore_invalid_headers);

        if (rc == BW_OK) {
            r->request_length += r->header_in->pos - start;

            if (r->headers_in.count++ >= (bw_uint_t) cscf->max_headers) {
                r->lingering_close = 1;
                bw_log_error(BW_LOG_INFO, c->log, 0,
                             "client sent too many header lines");
                bw_http_finalize_request(r, BW_HTTP_HEADER_TOO_LARGE);
                return;
            }

            h = bw_list_push(&r->headers_in.headers);
            if (h == NULL) {
                bw_http_close_request(r, BW_HTTP_INTERNAL_SERVER_ERROR);
                return;
            }

            h->key.data = r->header_name_start;
            h->key.len = r->header_name_end - r->header_name_start;
            h->value.data = r->header_start;
            h->value.len = r->header_end - r->header_start;
            h->next = NULL;

            if (bw_http_header_lowcase(r, h) != BW_OK) {
                bw_http_close_request(r, BW_HTTP_INTERNAL_SERVER_ERROR);
                return;
            }

            bw_log_debug(c->log, "http header: \"%.*s: %.*s\"",
                         (int) h->key.len, h->key.data,
                         (int) h->value.len, h->value.data);

            hh = bw_hash_find(&cmcf->headers_in_hash, h->hash,
                              h->lowcase_key, h->key.len);
            if (hh && hh->handler(r, h, hh->offset) != BW_OK) {
                return;
            }
            continue;
        }

        if (rc == BW_DECLINED) {
            bw_log_error(BW_LOG_INFO, c->log, 0,
                         "client sent invalid header line: \"%.*s\"",
                         (int) (r->header_name_end - r->header_name_start),
                         r->header_name_start);
            r->request_length += r->header_in->pos - start;
            continue;
        }

        if (rc == BW_HTTP_PARSE_HEADER_DONE) {
            bw_log_debug(c->log, "http header done");
            r->request_length += r->header_in->pos - start;
            c->log->action = "processing client request headers";

            if (bw_http_process_request_header(r) != BW_OK) {
                return;
            }
            bw_http_process_request(r);
            bw_http_run_posted_requests(c);
            return;
        }

        if (rc != BW_AGAIN) {
            bw_log_error(BW_LOG_INFO, c->log, 0,
                         "client sent invalid header line");
            r->keepalive = 0;
            bw_http_finalize_request(r, BW_HTTP_BAD_REQUEST);
            return;
        }

        /* an incomplete line: make room, then read */
        if (r->header_in->last == r->header_in->end) {
            rc = bw_http_alloc_large_header_buffer(r, start, 0);
            if (rc == BW_ERROR) {
                bw_http_close_request(r, BW_HTTP_INTERNAL_SERVER_ERROR);
                return;
            }
            if (rc == BW_DECLINED) {
                bw_log_error(BW_LOG_INFO, c->log, 0,
                             "client sent too large request");
                bw_http_finalize_request(r, BW_HTTP_HEADER_TOO_LARGE);
                return;
            }
        }

        n = bw_http_read_request_header(r);
        if (n == BW_AGAIN || n == BW_ERROR) {
            return;
        }
    }
}

static ssize_t
bw_http_read_request_header(bw_http_request_t *r)
{
    ssize_t                   n;
    bw_event_t               *rev;
    bw_connection_t          *c;
    bw_http_core_srv_conf_t  *cscf;

    c = r->connection;
    rev = c->read;

    if (rev->ready) {
        n = c->recv(c, r->header_in->last,
                    r->header_in->end - r->header_in->last);
    } else {
        n = BW_AGAIN;
    }

    if (n == BW_AGAIN) {
        if (!rev->timer_set) {
            cscf = r->srv_conf[bw_http_core_module.ctx_index];
            bw_event_add_timer(rev, cscf->client_header_timeout);
        }
        return BW_AGAIN;
    }

    if (n == 0) {
        bw_log_error(BW_LOG_INFO, c->log, 0,
                     "client prematurely closed connection");
    }

    if (n == 0 || n == BW_ERROR) {
        c->error = 1;
        bw_http_close_request(r, BW_HTTP_BAD_REQUEST);
        return BW_ERROR;
    }

    r->header_in->last += n;
    return n;
}

/*
 * Move the unparsed part of the head, from start, into a large header
 * buffer. Limits as nginx: the request line or any header line must fit
 * in one large buffer, and at most "number" of them are used.
 */
static bw_int_t
bw_http_alloc_large_header_buffer(bw_http_request_t *r, u_char *start,
    bw_uint_t request_line)
{
    size_t                    unparsed;
    bw_buf_t                 *b, *old;
    bw_http_connection_t     *hc;
    bw_http_core_srv_conf_t  *cscf;

    hc = r->http_connection;
    cscf = r->srv_conf[bw_http_core_module.ctx_index];
    old = r->header_in;
    unparsed = old->last - start;

    if (unparsed >= cscf->large_client_header_buffers_size) {
        return BW_DECLINED;
    }

    if (hc->nfree >= cscf->large_client_header_buffers_num) {
        return BW_DECLINED;
    }
    hc->nfree++;

    b = bw_create_temp_buf(r->pool, cscf->large_client_header_buffers_size);
    if (b == NULL) {
        return BW_ERROR;
    }

    memcpy(b->pos, start, unparsed);
    b->last = b->pos + unparsed;

    r->header_in = b;
    return BW_OK;
}

static void
bw_http_empty_handler(bw_event_t *ev)
{
}

/* Do the bytes read so far begin as the HTTP/2 client preface does? (no
 * HTTP/1 request begins so: "PRI" is no method anyone asks for) */
static bw_uint_t
bw_http_v2_preface(bw_buf_t *b)
{
    static const u_char  preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    size_t               n;

    n = bw_min((size_t) (b->last - b->pos), sizeof(preface) - 1);
    return n >= 3 && memcmp(b->pos, preface, n) == 0;
}

void
bw_http_finalize_connection(bw_http_request_t *r)
{
    bw_connection_t          *c;
    bw_http_core_loc_conf_t  *clcf;

    c = r->connection;
    clcf = r->loc_conf[bw_http_core_module.ctx_index];

    if (r->stream) {
        /* an HTTP/2 stream: the connection goes on without it */
        bw_http_close_request(r, 0);
        return;
    }

    if (r->main->count != 1) {
        /* an internal redirect still holds the request: just let go */
        bw_http_close_request(r, 0);
        return;
    }

    if (r->keepalive && r->request_body == NULL
        && (r->headers_in.content_length_n > 0 || r->headers_in.chunked))
    {
        /* nobody read the body: it must go before the next request */
        if (bw_http_discard_request_body(r) != BW_OK) {
            r->keepalive = 0;
        }
    }

    if (r->discard_body && r->request_body && r->request_body->rest) {
        /* finish reading the body we do not need before keepalive */
        r->read_event_handler = bw_http_request_empty_handler;
        c->read->handler = bw_http_discarded_body_handler;
        r->lingering_time = bw_current_msec + clcf->lingering_time;
        bw_event_add_timer(c->read, bw_min(clcf->lingering_timeout,
                                           clcf->client_body_timeout));
        if (c->read->ready || r->header_in->pos < r->header_in->last) {
            bw_post_event(c->read, &bw_posted_events);
        }
        return;
    }

    if (r->reading_body) {
        r->keepalive = 0;
        r->lingering_close = 1;
    }

    if (!bw_exiting && r->keepalive && clcf->keepalive_timeout > 0) {
        bw_http_set_keepalive(r);
        return;
    }

    if (clcf->lingering_close == BW_HTTP_LINGERING_ALWAYS
        || (clcf->lingering_close == BW_HTTP_LINGERING_ON
            && (r->lingering_close
                || r->header_in->pos < r->header_in->last
                || c->read->ready)))
    {
        bw_http_set_lingering_close(r);
        return;
    }

    bw_http_close_request(r, 0);
}

static void
bw_http_discarded_body_handler(bw_event_t *rev)
{
    bw_int_t                  rc;
    bw_connection_t          *c;
    bw_http_request_t        *r;
    bw_http_core_loc_conf_t  *clcf;

    c = rev->data;
    r = c->data;

    if (rev->timedout || c->close
        || (bw_msec_int_t) (bw_current_msec - r->lingering_time) > 0)
    {
        bw_http_close_request(r, 0);
        return;
    }

    rc = bw_http_discard_request_body(r);

    if (rc != BW_OK) {
        bw_http_close_request(r, 0);
        return;
    }

    if (r->request_body->rest) {
        clcf = r->loc_conf[bw_http_core_module.ctx_index];
        bw_event_add_timer(rev, bw_min(clcf->lingering_timeout,
                                       clcf->client_body_timeout));
        return;
    }

    r->discard_body = 0;
    if (rev->timer_set) {
        bw_event_del_timer(rev);
    }
    rev->handler = bw_http_request_handler;
    bw_http_finalize_connection(r);
}

static void
bw_http_set_keepalive(bw_http_request_t *r)
{
    bw_buf_t                 *b, *nb;
    size_t                    size;
    bw_event_t               *rev, *wev;
    bw_connection_t          *c;
    bw_http_log_ctx_t        *ctx;
    bw_http_connection_t     *hc;
    bw_http_core_srv_conf_t  *cscf;
    bw_http_core_loc_conf_t  *clcf;

    c = r->connection;
    rev = c->read;
    wev = c->write;
    hc = r->http_connection;
    b = r->header_in;
    clcf = r->loc_conf[bw_http_core_module.ctx_index];
    cscf = hc->addr_conf->default_server;

    /* logged now: a pipelined request is moved below over this one's
     * header bytes, which $request_uri and the like point into */
    bw_http_log_request(r);

    hc->pipeline = 0;
    hc->nfree = 0;

    if (b->pos < b->last) {
        /* pipelined: keep the rest in a buffer that outlives r */
        hc->pipeline = 1;
        size = b->last - b->pos;

        if (b != c->buffer) {
            nb = hc->busy;
            if (nb == NULL || (size_t) (nb->end - nb->start) < size) {
                nb = bw_create_temp_buf(c->pool,
                         bw_max(size, cscf->large_client_header_buffers_size));
                if (nb == NULL) {
                    bw_http_close_request(r, 0);
                    return;
                }
                hc->busy = nb;
            }
            memmove(nb->start, b->pos, size);
            nb->pos = nb->start;
            nb->last = nb->start + size;

        } else if (b->pos != b->start) {
            memmove(b->start, b->pos, size);
            b->pos = b->start;
            b->last = b->start + size;
        }
    } else if (hc->busy) {
        hc->busy->pos = hc->busy->last = hc->busy->start;
    }

    if (!hc->pipeline || b == c->buffer) {
        if (hc->busy && hc->busy->pos == hc->busy->last) {
            hc->busy = NULL;     /* back to the small buffer */
        }
    }

    bw_log_debug(c->log, "set http keepalive handler%s",
                 hc->pipeline ? ", pipelined request" : "");

    r->keepalive = 1;
    bw_http_free_request(r, 0);
    c->data = hc;
    ctx = c->log->data;
    ctx->request = NULL;

    if (hc->pipeline) {
        r = bw_http_create_request(c);
        if (r == NULL) {
            bw_http_close_connection(c);
            return;
        }
        c->data = r;
        ctx->request = r;
        c->sent = 0;
        rev->handler = bw_http_process_request_line;
        wev->handler = bw_http_empty_handler;
        bw_post_event(rev, &bw_posted_events);
        return;
    }

    /* idle */
    c->buffer->pos = c->buffer->start;
    c->buffer->last = c->buffer->start;
    if (bw_pfree(c->pool, c->buffer->start) == BW_OK) {
        c->buffer->start = NULL;
    }

    rev->handler = bw_http_wait_request_handler;
    wev->handler = bw_http_empty_handler;
    c->log->action = "keepalive";

    if (clcf->tcp_nodelay && bw_tcp_nodelay(c) != BW_OK) {
        bw_log_error(BW_LOG_INFO, c->log, errno,
                     "setsockopt(TCP_NODELAY) failed");
    }

    c->idle = 1;
    c->sent = 0;
    bw_reusable_connection(c, 1);
    bw_event_add_timer(rev, clcf->keepalive_timeout);

    if (rev->ready) {
        bw_post_event(rev, &bw_posted_events);
    }
}

static void
bw_http_set_lingering_close(bw_http_request_t *r)
{
    bw_event_t               *rev;
    bw_connection_t          *c;
    bw_http_core_loc_conf_t  *clcf;

    c = r->connection;
    clcf = r->loc_conf[bw_http_core_module.ctx_index];
    rev = c->read;

    bw_log_debug(c->log, "http set lingering close");

    r->lingering_time = bw_current_msec + clcf->lingering_time;
    rev->handler = bw_http_lingering_close_handler;
    c->write->handler = bw_http_empty_handler;

    if (shutdown(c->fd, SHUT_WR) == -1) {
        bw_http_close_request(r, 0);
        return;
    }

    bw_event_add_timer(rev, clcf->lingering_timeout);
    bw_post_event(rev, &bw_posted_events);
}

static void
bw_http_lingering_close_handler(bw_event_t *rev)
{
    ssize_t                   n;
    bw_msec_t                 timer;
    bw_connection_t          *c;
    bw_http_request_t        *r;
    bw_http_core_loc_conf_t  *clcf;
    u_char                    buffer[BW_HTTP_LINGERING_BUFFER_SIZE];

    c = rev->data;
    r = c->data;

    if (rev->timedout || c->close) {
        bw_http_close_request(r, 0);
        return;
    }

    timer = r->lingering_time - bw_current_msec;
    if ((bw_msec_int_t) timer <= 0) {
        bw_http_close_request(r, 0);
        return;
    }

    do {
        n = c->recv(c, buffer, BW_HTTP_LINGERING_BUFFER_SIZE);
        if (n == BW_ERROR || n == 0) {
            bw_http_close_request(r, 0);
            return;
        }
    } while (rev->ready);

    clcf = r->loc_conf[bw_http_core_module.ctx_index];
    bw_event_add_timer(rev, bw_min(timer, clcf->lingering_timeout));
}

void
bw_http_close_connection(bw_connection_t *c)
{
    bw_pool_t  *pool;

    bw_log_debug(c->log, "close http connection: %d", c->fd);

    c->destroyed = 1;
    pool = c->pool;
    bw_close_connection(c);
    bw_destroy_pool(pool);
}

static u_char *
bw_http_log_error(bw_log_t *log, u_char *buf, size_t len)
{
    u_char                   *p, *last;
    bw_http_request_t        *r;
    bw_http_log_ctx_t        *ctx;
    bw_http_core_srv_conf_t  *cscf;

    last = buf + len;
    p = buf;

    if (log->action) {
        p = bw_slprintf(p, last, " while %s", log->action);
    }

    ctx = log->data;
    p = bw_slprintf(p, last, ", client: %.*s",
                    (int) ctx->connection->addr_text.len,
                    ctx->connection->addr_text.data);

    r = ctx->request;
    if (r == NULL) {
        return p;
    }

    cscf = r->srv_conf[bw_http_core_module.ctx_index];
    p = bw_slprintf(p, last, ", server: %.*s", (int) cscf->server_name.len,
                    cscf->server_name.data);

    if (r->request_line.len) {
        p = bw_slprintf(p, last, ", request: \"%.*s\"",
                        (int) r->request_line.len, r->request_line.data);
    }

    if (r->upstream && r->upstream->peer.name) {
        p = bw_slprintf(p, last, ", upstream: \"%.*s%.*s\"",
                        (int) r->upstream->schema.len,
                        r->upstream->schema.data,
                        (int) r->upstream->peer.name->len,
                        r->upstream->peer.name->data);
    }

    if (r->headers_in.host) {
        p = bw_slprintf(p, last, ", host: \"%.*s\"",
                        (int) r->headers_in.host->value.len,
                        r->headers_in.host->value.data);
    }

    return p;
}
