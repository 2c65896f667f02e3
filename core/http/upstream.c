/*
 * The upstream request lifecycle: pick a peer, connect, send the
 * request, read and parse the response header, decide whether to retry
 * on the next peer, turn the upstream's header into the client's, and
 * finish. The body is streamed by upstream_body.c.
 *
 * A request is retried only before any byte of the response went to the
 * client, and a non-idempotent one only when proxy_next_upstream says
 * so. Nothing here blocks: connect, send and recv are non-blocking and
 * every wait has a timer.
 */

#include <bw_http.h>
#include <bw_http_upstream_body.h>

static bw_int_t bw_http_upstream_set_local(bw_http_request_t *r,
    bw_http_upstream_t *u);
static void bw_http_upstream_handler(bw_event_t *ev);
static void bw_http_upstream_connect(bw_http_request_t *r,
    bw_http_upstream_t *u);
static bw_int_t bw_http_upstream_reinit(bw_http_request_t *r,
    bw_http_upstream_t *u);
static void bw_http_upstream_send_request(bw_http_request_t *r,
    bw_http_upstream_t *u);
static void bw_http_upstream_send_request_handler(bw_http_request_t *r,
    bw_http_upstream_t *u);
static void bw_http_upstream_process_header(bw_http_request_t *r,
    bw_http_upstream_t *u);
static bw_int_t bw_http_upstream_test_next(bw_http_request_t *r,
    bw_http_upstream_t *u);
static bw_int_t bw_http_upstream_intercept_errors(bw_http_request_t *r,
    bw_http_upstream_t *u);
static bw_int_t bw_http_upstream_test_connect(bw_connection_t *c);
static bw_int_t bw_http_upstream_process_headers(bw_http_request_t *r,
    bw_http_upstream_t *u);
static void bw_http_upstream_send_response(bw_http_request_t *r,
    bw_http_upstream_t *u);
static void bw_http_upstream_check_broken_connection(bw_http_request_t *r);
static void bw_http_upstream_send_failed(bw_http_request_t *r,
    bw_http_upstream_t *u);
static void bw_http_upstream_read_request_body(bw_http_request_t *r);
static void bw_http_upstream_cleanup(void *data);
static void bw_http_upstream_count_sent(bw_http_upstream_t *u);
static void bw_http_upstream_start(bw_http_request_t *r,
    bw_http_upstream_t *u);
static void bw_http_upstream_resolve(bw_http_request_t *r,
    bw_http_upstream_t *u);
static void bw_http_upstream_resolve_handler(bw_resolver_ctx_t *ctx);
static void bw_http_upstream_resolved(bw_http_request_t *r,
    bw_http_upstream_t *u, bw_resolver_ctx_t *ctx);
static void bw_http_upstream_init_request(bw_http_request_t *r);
static bw_int_t bw_http_upstream_send_cached(bw_http_request_t *r,
    bw_http_upstream_t *u);
static bw_int_t bw_http_upstream_send_stored(bw_http_request_t *r,
    bw_http_upstream_t *u, bw_uint_t ft_type);
static bw_uint_t bw_http_upstream_status_ft(bw_uint_t status);

const bw_http_upstream_cache_ops_t  *bw_http_upstream_cache_ops;

bw_int_t
bw_http_upstream_create(bw_http_request_t *r)
{
    bw_http_upstream_t  *u;

    u = r->upstream;

    if (u && u->cleanup) {
        /* an error_page redirect from a header filter (416) while this
         * upstream sent its header proxies again: the old one goes
         * (its caller drops its reference when the filter returns) */
        bw_http_upstream_cleanup(r);
    }

    u = bw_pcalloc(r->pool, sizeof(bw_http_upstream_t));
    if (u == NULL) {
        return BW_ERROR;
    }

    r->upstream = u;

    u->peer.log = r->connection->log;
    u->headers_in.content_length_n = -1;
    u->length = -1;

    return BW_OK;
}

/* The request body is in (or not needed): start the first attempt. */
void
bw_http_upstream_init(bw_http_request_t *r)
{
    bw_connection_t              *c;

    c = r->connection;

    if (c->read->timer_set) {
        bw_event_del_timer(c->read);
    }

    /* as nginx: post_action's request is not the client's, whose
     * going changes nothing for it */
    r->read_event_handler = r->post_action
                            ? bw_http_block_reading
                            : bw_http_upstream_check_broken_connection;
    r->write_event_handler = bw_http_request_empty_handler;

    if (r->request_body && r->request_body->stream) {
        /* the client's bytes are the body, taken as the upstream can */
        r->read_event_handler = bw_http_upstream_read_request_body;
    }

    bw_http_upstream_init_request(r);
}

/*
 * The cache first (a request that waits for another's fetch of the
 * same entry comes back here when it may look again), then the first
 * attempt.
 */
static void
bw_http_upstream_init_request(bw_http_request_t *r)
{
    bw_int_t              rc;
    bw_connection_t      *c;
    bw_http_upstream_t   *u;
    bw_pool_cleanup_t    *cln;

    c = r->connection;
    u = r->upstream;

    if (u->conf->cache && bw_http_upstream_cache_ops) {
        rc = bw_http_upstream_cache_ops->lookup(r, u);

        if (rc == BW_OK) {
            rc = bw_http_upstream_send_cached(r, u);
            if (rc != BW_DECLINED) {
                return;
            }
            bw_http_upstream_cache_ops->invalid(r, u);

        } else if (rc == BW_AGAIN) {
            return;             /* proxy_cache_lock: the wait's timer */

        } else if (rc == BW_DONE) {
            return;             /* answered by the cache (a purge) */

        } else if (rc >= BW_HTTP_SPECIAL_RESPONSE) {
            /* an intercepted error the cache keeps: error_page answers */
            bw_http_finalize_request(r, rc);
            return;

        } else if (rc != BW_DECLINED) {
            bw_http_finalize_request(r, BW_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    if (u->create_request(r) != BW_OK) {
        bw_http_finalize_request(r, BW_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* the attempts of an upstream that an internal redirect (error_page,
     * X-Accel-Redirect) left stay in the log's values, as in nginx */
    if (r->upstream_states == NULL) {
        r->upstream_states = bw_array_create(r->pool, 1,
                                         sizeof(bw_http_upstream_state_t));
        if (r->upstream_states == NULL) {
            bw_http_finalize_request(r, BW_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

    } else if (r->upstream_states->nelts) {
        u->state = bw_array_push(r->upstream_states);
        if (u->state == NULL) {
            bw_http_finalize_request(r, BW_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
        bw_memzero(u->state, sizeof(bw_http_upstream_state_t));
        u->state->next_upstream = 1;
        u->state = NULL;
    }

    u->states = r->upstream_states;
    u->first_state = u->states->nelts;

    cln = bw_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        bw_http_finalize_request(r, BW_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }
    cln->handler = bw_http_upstream_cleanup;
    cln->data = r;
    u->cleanup = cln;

    /* a client that closed its side as it sent the request: its EOF came
     * with the request, so no later event would tell of it. The read
     * event goes again at the end of the turn (not now: the request's
     * callers still hold it), where the check gives it up (499), as
     * nginx, unless proxy_ignore_client_abort */
    if (c->read->pending_eof && !u->conf->ignore_client_abort
        && !r->post_action)
    {
        bw_post_event(c->read, &bw_posted_events);
    }

    if (u->resolved && u->resolved->addrs == NULL) {
        bw_http_upstream_resolve(r, u);
        return;
    }

    bw_http_upstream_start(r, u);
}

/* proxy_cache_lock: the entry a request waited for is there (or the
 * wait is over): it looks again. */
void
bw_http_upstream_cache_resume(bw_http_request_t *r)
{
    bw_connection_t  *c;

    c = r->connection;
    bw_http_upstream_init_request(r);
    bw_http_run_posted_requests(c);
}

/*
 * The upstream failed (ft_type), or answered 304 to a revalidation
 * (ft_type 0): the stored answer goes instead when the cache says it
 * may (proxy_cache_use_stale, stale-if-error, proxy_cache_revalidate).
 * BW_OK when it went (the request is finalized), else BW_DECLINED.
 */
static bw_int_t
bw_http_upstream_send_stored(bw_http_request_t *r, bw_http_upstream_t *u,
    bw_uint_t ft_type)
{
    bw_int_t  rc;

    if (u->cache == NULL || bw_http_upstream_cache_ops == NULL
        || u->header_sent || u->cache_status != BW_HTTP_CACHE_EXPIRED
        || bw_http_upstream_cache_ops->use_stored(r, u, ft_type) != BW_OK)
    {
        return BW_DECLINED;
    }

    /* what the failed attempt parsed goes; the upstream's connection
     * is let go by the finalization */
    u->keepalive = 0;
    if (u->reinit_request(r) != BW_OK) {
        bw_http_upstream_finalize_request(r, u,
                                          BW_HTTP_INTERNAL_SERVER_ERROR);
        return BW_OK;
    }

    rc = bw_http_upstream_send_cached(r, u);

    if (rc == BW_DECLINED) {
        bw_http_upstream_cache_ops->invalid(r, u);
        bw_http_upstream_finalize_request(r, u, BW_HTTP_BAD_GATEWAY);
    }

    return BW_OK;
}

/*
 * A hit: the stored response header goes through the module's parser
 * and the header copy as if the upstream had just sent it (so that
 * proxy_hide_header, proxy_redirect and the rest apply per request),
 * then the body from the file. Ranges and conditionals are answered
 * from the stored response. BW_DECLINED when the stored header does
 * not parse: nothing was sent, and the request goes to the upstream.
 */
static bw_int_t
bw_http_upstream_send_cached(bw_http_request_t *r, bw_http_upstream_t *u)
{
    off_t                           len;
    bw_int_t                        rc;
    bw_chain_t                     *cl;
    bw_http_upstream_http_parse_t   st;

    bw_memzero(&u->headers_in, sizeof(bw_http_upstream_headers_in_t));
    u->headers_in.content_length_n = -1;

    if (bw_list_init(&u->headers_in.headers, r->pool, 8,
                     sizeof(bw_table_elt_t)) != BW_OK)
    {
        bw_http_finalize_request(r, BW_HTTP_INTERNAL_SERVER_ERROR);
        return BW_DONE;
    }

    /* stored by the cache as HTTP/1.1, whatever the upstream spoke */
    bw_memzero(&st, sizeof(bw_http_upstream_http_parse_t));
    rc = bw_http_upstream_parse_http(r, u, &st);

    if (rc != BW_OK || u->buffer.pos != u->buffer.last) {
        bw_log_error(BW_LOG_CRIT, r->connection->log, 0,
                     "cache file has an invalid response header");
        bw_memzero(&u->headers_in, sizeof(bw_http_upstream_headers_in_t));
        u->headers_in.content_length_n = -1;
        u->buffer.start = NULL;
        return BW_DECLINED;
    }

    len = 0;
    for (cl = u->cache_body; cl; cl = cl->next) {
        len += bw_buf_size(cl->buf);
    }

    u->cached = 1;
    u->headers_in.chunked = 0;
    u->headers_in.content_length_n = len;

    if (bw_http_upstream_process_headers(r, u) != BW_OK) {
        return BW_DONE;
    }

    /* as nginx: ranges of a stored answer that said it takes them (or
     * under proxy_force_ranges), several at once */
    r->allow_ranges = r->headers_out.accept_ranges || u->conf->force_ranges;
    r->single_range = 0;
    r->disable_not_modified = 0;

    rc = bw_http_send_header(r);

    if (rc == BW_ERROR || rc > BW_OK || r->header_only) {
        bw_http_upstream_finalize_request(r, u, rc);
        return BW_DONE;
    }

    u->header_sent = 1;

    if (rc == BW_DONE || r->filter_finalize) {
        bw_http_upstream_finalize_request(r, u, BW_DONE);
        bw_http_finalize_request(r, BW_DONE);
        return BW_DONE;
    }

    rc = bw_http_output_filter(r, u->cache_body);

    bw_http_upstream_finalize_request(r, u, rc);
    return BW_DONE;
}

/* The peers are known: the first attempt. */
static void
bw_http_upstream_start(bw_http_request_t *r, bw_http_upstream_t *u)
{
    bw_http_upstream_srv_conf_t  *uscf;

    if (u->resolved) {
        if (bw_http_upstream_create_round_robin_peer(r, u->resolved)
            != BW_OK)
        {
            bw_http_upstream_finalize_request(r, u,
                                          BW_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

    } else {
        uscf = u->upstream;
        if (uscf->peer.init(r, uscf) != BW_OK) {
            bw_http_upstream_finalize_request(r, u,
                                          BW_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    u->peer.start_time = bw_current_msec;

    /* *_bind: once for the request, whichever peer each attempt takes */
    u->local = u->conf->local;
    if (u->conf->local_cv && bw_http_upstream_set_local(r, u) != BW_OK) {
        bw_http_upstream_finalize_request(r, u,
                                          BW_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (u->conf->next_upstream_tries
        && u->peer.tries > u->conf->next_upstream_tries)
    {
        u->peer.tries = u->conf->next_upstream_tries;
    }

    bw_http_upstream_connect(r, u);
}

static void
bw_http_upstream_connect(bw_http_request_t *r, bw_http_upstream_t *u)
{
    bw_int_t          rc;
    bw_connection_t  *c;

    r->connection->log->action = "connecting to upstream";

    u->state = bw_array_push(u->states);
    if (u->state == NULL) {
        bw_http_upstream_finalize_request(r, u,
                                          BW_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    bw_memzero(u->state, sizeof(bw_http_upstream_state_t));
    u->state->start = bw_current_msec;
    u->state->response_time = (bw_msec_t) -1;
    u->state->connect_time = (bw_msec_t) -1;
    u->state->header_time = (bw_msec_t) -1;

    u->peer.local = u->local;
    u->peer.so_keepalive = u->conf->socket_keepalive ? 1 : 0;

    /* a PROXY header speaks for one client, and so does a client
     * certificate chosen per request: the connection is its own */
    u->peer.private = u->conf->proxy_protocol == 1
                      || (u->ssl && u->conf->ssl_certificate != NULL);

    rc = bw_event_connect_peer(&u->peer);

    if (rc == BW_ERROR) {
        bw_http_upstream_finalize_request(r, u,
                                          BW_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    u->state->peer = u->peer.name;

    bw_log_debug(r->connection->log, "http upstream connect: %ld, %.*s%s",
                 (long) rc, u->peer.name ? (int) u->peer.name->len : 0,
                 u->peer.name ? (char *) u->peer.name->data : "",
                 u->peer.cached ? " (kept alive)" : "");

    if (rc == BW_BUSY) {
        bw_log_error(BW_LOG_ERR, r->connection->log, 0, "no live upstreams");
        bw_http_upstream_next(r, u, BW_HTTP_UPSTREAM_FT_NOLIVE);
        return;
    }

    if (rc == BW_DECLINED) {
        bw_http_upstream_next(r, u, BW_HTTP_UPSTREAM_FT_ERROR);
        return;
    }

    /* BW_OK, BW_AGAIN, or BW_DONE for a cached keepalive connection */

    c = u->peer.connection;
    c->data = r;
    u->sent_start = c->sent;
    c->read->handler = bw_http_upstream_handler;
    c->write->handler = bw_http_upstream_handler;
    c->sendfile &= r->connection->sendfile;

    u->write_event_handler = bw_http_upstream_send_request_handler;
    u->read_event_handler = bw_http_upstream_process_header;

    if (bw_http_upstream_reinit(r, u) != BW_OK) {
        bw_http_upstream_finalize_request(r, u,
                                          BW_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (rc == BW_AGAIN) {
        bw_event_add_timer(c->write, u->conf->connect_timeout);
        return;
    }

    if (u->ssl && c->ssl == NULL) {
        bw_http_upstream_ssl_init_connection(r, u, c);
        return;
    }

    bw_http_upstream_send_request(r, u);
}

void
bw_http_upstream_ssl_handshaked(bw_http_request_t *r, bw_http_upstream_t *u)
{
    bw_connection_t  *c;

    c = u->peer.connection;
    c->read->handler = bw_http_upstream_handler;
    c->write->handler = bw_http_upstream_handler;

    bw_http_upstream_send_request(r, u);
}

/*
 * The host from proxy_pass with variables: a literal address is taken
 * as it is, a name is asked of the location's resolver and the request
 * waits (its client may still go away: the cleanup then stops waiting).
 */
static void
bw_http_upstream_resolve(bw_http_request_t *r, bw_http_upstream_t *u)
{
    bw_int_t                      rc;
    socklen_t                     socklen;
    bw_resolver_ctx_t            *ctx;
    bw_http_core_loc_conf_t      *clcf;
    bw_http_upstream_resolved_t  *ur;

    ur = u->resolved;
    clcf = r->loc_conf[bw_http_core_module.ctx_index];

    ctx = bw_pcalloc(r->pool, sizeof(bw_resolver_ctx_t));
    if (ctx == NULL) {
        bw_http_upstream_finalize_request(r, u,
                                          BW_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (bw_parse_addr_port(ur->host.data, ur->host.len, &ur->sockaddr,
                           &socklen) == BW_OK)
    {
        ctx->naddrs = 1;
        ctx->addrs = &ur->sockaddr;
        bw_http_upstream_resolved(r, u, ctx);
        return;
    }

    if (clcf->resolver == NULL) {
        bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                     "no resolver defined to resolve %.*s",
                     (int) ur->host.len, ur->host.data);
        bw_http_upstream_finalize_request(r, u, BW_HTTP_BAD_GATEWAY);
        return;
    }

    ctx->resolver = clcf->resolver;
    ctx->name = ur->host;
    ctx->timeout = clcf->resolver_timeout;
    ctx->handler = bw_http_upstream_resolve_handler;
    ctx->data = r;
    ctx->pool = r->pool;

    rc = bw_resolve_name(ctx);

    if (rc == BW_AGAIN) {
        ur->ctx = ctx;
        return;
    }

    if (rc == BW_ERROR) {
        bw_http_upstream_finalize_request(r, u, BW_HTTP_BAD_GATEWAY);
        return;
    }

    bw_http_upstream_resolved(r, u, ctx);
}

static void
bw_http_upstream_resolve_handler(bw_resolver_ctx_t *ctx)
{
    bw_connection_t    *c;
    bw_http_request_t  *r;

    r = ctx->data;
    c = r->connection;

    r->upstream->resolved->ctx = NULL;
    bw_http_upstream_resolved(r, r->upstream, ctx);

    bw_http_run_posted_requests(c);
}

static void
bw_http_upstream_resolved(bw_http_request_t *r, bw_http_upstream_t *u,
    bw_resolver_ctx_t *ctx)
{
    size_t                        len;
    bw_uint_t                     i;
    bw_addr_t                    *addr;
    bw_sockaddr_t                *sa;
    bw_http_upstream_resolved_t  *ur;

    ur = u->resolved;

    if (ctx->state) {
        bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                     "%.*s could not be resolved (%d: %s)",
                     (int) ur->host.len, ur->host.data, (int) ctx->state,
                     bw_resolver_strerror(ctx->state));
        bw_http_upstream_finalize_request(r, u, BW_HTTP_BAD_GATEWAY);
        return;
    }

    ur->addrs = bw_pcalloc(r->pool, ctx->naddrs * sizeof(bw_addr_t));
    if (ur->addrs == NULL) {
        bw_http_upstream_finalize_request(r, u,
                                          BW_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    for (i = 0; i < ctx->naddrs; i++) {
        sa = &ctx->addrs[i];
        addr = &ur->addrs[i];

        if (sa->sockaddr.sa_family == AF_INET6) {
            sa->sockaddr_in6.sin6_port = htons(ur->port);
            addr->socklen = sizeof(struct sockaddr_in6);
        } else {
            sa->sockaddr_in.sin_port = htons(ur->port);
            addr->socklen = sizeof(struct sockaddr_in);
        }
        addr->sockaddr = &sa->sockaddr;

        addr->name.data = bw_pnalloc(r->pool, BW_SOCKADDR_STRLEN);
        if (addr->name.data == NULL) {
            bw_http_upstream_finalize_request(r, u,
                                          BW_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
        len = bw_sock_ntop(addr->sockaddr, addr->socklen, addr->name.data,
                           BW_SOCKADDR_STRLEN, 1);
        addr->name.len = len;
    }

    ur->naddrs = ctx->naddrs;

    bw_http_upstream_start(r, u);
}

/* Before each attempt: the request goes out again from its start. */
static bw_int_t
bw_http_upstream_reinit(bw_http_request_t *r, bw_http_upstream_t *u)
{
    off_t        file_pos;
    bw_chain_t  *cl;

    if (u->states->nelts - u->first_state > 1) {
        /* not the first attempt */
        if (u->reinit_request(r) != BW_OK) {
            return BW_ERROR;
        }
    }

    /* a body on disk is one file, maybe sent as several pieces of it
     * (FastCGI records): each piece starts where the one before ended */
    file_pos = 0;
    for (cl = u->request_bufs; cl; cl = cl->next) {
        if (bw_buf_in_memory(cl->buf)) {
            cl->buf->pos = cl->buf->start;
        }
        if (cl->buf->in_file) {
            cl->buf->file_pos = file_pos;
            file_pos = cl->buf->file_last;
        }
    }

    u->request_out = u->request_bufs;
    u->request_sent = 0;
    u->request_body_sent = 0;

    bw_memzero(&u->headers_in, sizeof(bw_http_upstream_headers_in_t));
    bw_memzero(&u->chunked, sizeof(bw_http_chunked_t));
    u->headers_in.content_length_n = -1;
    u->length = -1;
    u->keepalive = 0;
    u->upgrade = 0;

    if (u->buffer.start) {
        u->buffer.pos = u->buffer.start;
        u->buffer.last = u->buffer.start;
    }

    return BW_OK;
}

static void
bw_http_upstream_handler(bw_event_t *ev)
{
    bw_connection_t     *c;
    bw_http_request_t   *r;
    bw_http_upstream_t  *u;

    c = ev->data;
    r = c->data;
    u = r->upstream;
    c = r->connection;      /* the client's, which may go meanwhile */

    if (ev->write) {
        u->write_event_handler(r, u);
    } else {
        u->read_event_handler(r, u);
    }

    bw_http_run_posted_requests(c);
}

static void
bw_http_upstream_send_request(bw_http_request_t *r, bw_http_upstream_t *u)
{
    bw_int_t          rc;
    bw_chain_t       *rest;
    bw_connection_t  *c;

    c = u->peer.connection;

    if (!u->request_sent) {
        /* a pooled connection was connected long ago: no need to ask */
        if (!u->peer.cached && bw_http_upstream_test_connect(c) != BW_OK) {
            bw_http_upstream_next(r, u, BW_HTTP_UPSTREAM_FT_ERROR);
            return;
        }
        u->request_sent = 1;
        if (u->state->connect_time == (bw_msec_t) -1) {
            u->state->connect_time = bw_current_msec - u->state->start;
        }
        r->connection->log->action = "sending request to upstream";
    }

    rest = u->request_out ? c->send_chain(c, u->request_out, 0) : NULL;

    if (rest == BW_CHAIN_ERROR) {
        bw_http_upstream_send_failed(r, u);
        return;
    }

    u->request_out = rest;

    if (rest) {
        bw_event_add_timer(c->write, u->conf->send_timeout);
        return;
    }

    if (c->write->timer_set) {
        bw_event_del_timer(c->write);
    }

    if (r->request_body && r->request_body->stream) {
        rc = bw_http_upstream_stream_body(r, u);

        if (rc == BW_AGAIN) {
            return;
        }
        if (rc == BW_ERROR) {
            bw_http_upstream_send_failed(r, u);
            return;
        }
        if (rc != BW_OK) {
            bw_http_upstream_finalize_request(r, u, rc);
            return;
        }
        r->read_event_handler = bw_http_upstream_check_broken_connection;
    }

    u->request_body_sent = 1;
    u->write_event_handler = bw_http_upstream_dummy_handler;
    r->connection->log->action = "reading response header from upstream";

    bw_event_add_timer(c->read, u->conf->read_timeout);

    if (c->read->ready) {
        bw_http_upstream_process_header(r, u);
    }
}

/*
 * Sending failed: the upstream may have answered and closed before it
 * read the whole request (a 413 for a body too large for it). Its own
 * answer is worth more than a 502, and it waits in the socket even
 * after a reset: it is read if there is a byte of it.
 */
static void
bw_http_upstream_send_failed(bw_http_request_t *r, bw_http_upstream_t *u)
{
    u_char            ch;
    bw_connection_t  *c;

    c = u->peer.connection;

    if (recv(c->fd, &ch, 1, MSG_PEEK) == 1) {
        c->read->ready = 1;
        bw_http_upstream_process_header(r, u);
        return;
    }

    bw_http_upstream_next(r, u, BW_HTTP_UPSTREAM_FT_ERROR);
}

static void
bw_http_upstream_send_request_handler(bw_http_request_t *r,
    bw_http_upstream_t *u)
{
    bw_connection_t  *c;

    c = u->peer.connection;

    if (c->write->timedout) {
        bw_http_upstream_next(r, u, BW_HTTP_UPSTREAM_FT_TIMEOUT);
        return;
    }

    if (u->request_body_sent) {
        u->write_event_handler = bw_http_upstream_dummy_handler;
        return;
    }

    if (u->ssl && c->ssl == NULL) {
        /* connected: TLS first */
        bw_http_upstream_ssl_init_connection(r, u, c);
        return;
    }

    bw_http_upstream_send_request(r, u);
}

void
bw_http_upstream_dummy_handler(bw_http_request_t *r, bw_http_upstream_t *u)
{
}

static void
bw_http_upstream_process_header(bw_http_request_t *r, bw_http_upstream_t *u)
{
    ssize_t           n;
    bw_int_t          rc;
    bw_connection_t  *c;

    c = u->peer.connection;

    if (c->read->timedout) {
        bw_http_upstream_next(r, u, BW_HTTP_UPSTREAM_FT_TIMEOUT);
        return;
    }

    if (!u->request_sent && !u->peer.cached
        && bw_http_upstream_test_connect(c) != BW_OK)
    {
        bw_http_upstream_next(r, u, BW_HTTP_UPSTREAM_FT_ERROR);
        return;
    }

    if (u->ssl && (c->ssl == NULL || !c->ssl->handshaked)) {
        /*
         * Connected and readable in one wakeup, the read first: what
         * the peer sent is no answer until TLS is up (a plain reply
         * must never pass for the verified upstream's).
         */
        if (c->ssl == NULL) {
            bw_http_upstream_ssl_init_connection(r, u, c);
        }
        return;
    }

    if (u->buffer.start == NULL) {
        u->buffer.start = bw_pnalloc(r->pool, u->conf->buffer_size);
        if (u->buffer.start == NULL) {
            bw_http_upstream_finalize_request(r, u,
                                          BW_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
        u->buffer.pos = u->buffer.start;
        u->buffer.last = u->buffer.start;
        u->buffer.end = u->buffer.start + u->conf->buffer_size;
        u->buffer.temporary = 1;
    }

    if (u->headers_in.headers.part.elts == NULL
        && bw_list_init(&u->headers_in.headers, r->pool, 8,
                        sizeof(bw_table_elt_t)) != BW_OK)
    {
        bw_http_upstream_finalize_request(r, u,
                                          BW_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    for ( ;; ) {
        if (!c->read->ready) {
            bw_event_add_timer(c->read, u->conf->read_timeout);
            return;
        }

        n = c->recv(c, u->buffer.last, u->buffer.end - u->buffer.last);

        if (n == BW_AGAIN) {
            continue;
        }

        if (n == 0) {
            bw_log_error(BW_LOG_ERR, c->log, 0,
                         "upstream prematurely closed connection");
        }

        if (n == BW_ERROR || n == 0) {
            bw_http_upstream_next(r, u, BW_HTTP_UPSTREAM_FT_ERROR);
            return;
        }

        u->state->bytes_received += n;
        u->buffer.last += n;

        rc = u->process_header(r);

        bw_log_debug(c->log, "http upstream process header: %ld, status %lu",
                     (long) rc, (unsigned long) u->headers_in.status_n);

        if (rc == BW_AGAIN) {
            if (u->buffer.last == u->buffer.end) {
                bw_log_error(BW_LOG_ERR, c->log, 0,
                             "upstream sent too big header");
                bw_http_upstream_next(r, u,
                                      BW_HTTP_UPSTREAM_FT_INVALID_HEADER);
                return;
            }
            continue;
        }

        break;
    }

    if (rc == BW_HTTP_UPSTREAM_INVALID_HEADER) {
        bw_http_upstream_next(r, u, BW_HTTP_UPSTREAM_FT_INVALID_HEADER);
        return;
    }

    if (rc == BW_ERROR) {
        bw_http_upstream_finalize_request(r, u,
                                          BW_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* rc == BW_OK: the header is in */

    if (!u->request_body_sent) {
        /* answered before the whole body went: stop sending it. The rest
         * of it stays unread, so neither connection can be reused. */
        u->write_event_handler = bw_http_upstream_dummy_handler;
        if (c->write->timer_set) {
            bw_event_del_timer(c->write);
        }
        if (r->request_body && r->request_body->stream) {
            r->read_event_handler = bw_http_upstream_check_broken_connection;
            if (r->connection->read->timer_set) {
                bw_event_del_timer(r->connection->read);
            }
            r->keepalive = 0;
        }
    }

    u->state->header_time = bw_current_msec - u->state->start;
    u->state->status = u->headers_in.status_n;

    /* proxy_cache_revalidate: "not modified" refreshes the stored one */
    if (u->headers_in.status_n == BW_HTTP_NOT_MODIFIED
        && bw_http_upstream_send_stored(r, u, 0) == BW_OK)
    {
        return;
    }

    if (u->headers_in.status_n >= BW_HTTP_SPECIAL_RESPONSE) {
        if (bw_http_upstream_test_next(r, u) == BW_OK) {
            return;
        }
        if (bw_http_upstream_status_ft(u->headers_in.status_n)
            && bw_http_upstream_send_stored(r, u,
                   bw_http_upstream_status_ft(u->headers_in.status_n))
               == BW_OK)
        {
            return;
        }
        if (bw_http_upstream_intercept_errors(r, u) == BW_OK) {
            return;
        }
    }

    /* (a subrequest's answer is its status and headers: not here) */
    if (u->headers_in.x_accel_redirect && r == r->main
        && !(u->conf->ignore_headers & BW_HTTP_UPSTREAM_IGN_XA_REDIRECT))
    {
        bw_http_upstream_x_accel_redirect(r, u);
        return;
    }

    if (bw_http_upstream_process_headers(r, u) != BW_OK) {
        return;
    }

    bw_http_upstream_send_response(r, u);
}

static bw_uint_t
bw_http_upstream_status_ft(bw_uint_t status)
{
    switch (status) {
    case 500: return BW_HTTP_UPSTREAM_FT_HTTP_500;
    case 502: return BW_HTTP_UPSTREAM_FT_HTTP_502;
    case 503: return BW_HTTP_UPSTREAM_FT_HTTP_503;
    case 504: return BW_HTTP_UPSTREAM_FT_HTTP_504;
    case 403: return BW_HTTP_UPSTREAM_FT_HTTP_403;
    case 404: return BW_HTTP_UPSTREAM_FT_HTTP_404;
    case 429: return BW_HTTP_UPSTREAM_FT_HTTP_429;
    }
    return 0;
}

static bw_uint_t
bw_http_upstream_may_retry(bw_http_request_t *r, bw_http_upstream_t *u,
    bw_uint_t ft_type)
{
    bw_msec_t  timeout;

    if (u->peer.tries == 0
        || (u->conf->next_upstream & ft_type) != ft_type)
    {
        return 0;
    }

    /* a streamed body is gone once it started: it cannot be sent again */
    if (u->request_sent && r->request_body && r->request_body->stream) {
        return 0;
    }

    /* POST, PATCH and LOCK may have changed something on the first
     * server: never sent twice unless the user says it is safe */
    if (u->request_sent
        && (r->method & (BW_HTTP_POST|BW_HTTP_PATCH|BW_HTTP_UNKNOWN))
        && !(u->conf->next_upstream & BW_HTTP_UPSTREAM_FT_NON_IDEMPOTENT))
    {
        return 0;
    }

    timeout = u->conf->next_upstream_timeout;
    if (timeout && bw_current_msec - u->peer.start_time >= timeout) {
        return 0;
    }

    return 1;
}

/* An error status that proxy_next_upstream names: try the next peer. */
static bw_int_t
bw_http_upstream_test_next(bw_http_request_t *r, bw_http_upstream_t *u)
{
    bw_uint_t  ft;

    ft = bw_http_upstream_status_ft(u->headers_in.status_n);

    /* tries counts this attempt too: another one needs more than one */
    if (ft == 0 || u->peer.tries <= 1
        || !bw_http_upstream_may_retry(r, u, ft))
    {
        return BW_DECLINED;
    }

    bw_http_upstream_next(r, u, ft);
    return BW_OK;
}

/* proxy_intercept_errors: our error_page answers instead. */
static bw_int_t
bw_http_upstream_intercept_errors(bw_http_request_t *r,
    bw_http_upstream_t *u)
{
    bw_uint_t                 i, status;
    bw_http_err_page_t       *err_page;
    bw_http_core_loc_conf_t  *clcf;

    if (!u->conf->intercept_errors) {
        return BW_DECLINED;
    }

    status = u->headers_in.status_n;
    clcf = r->loc_conf[bw_http_core_module.ctx_index];

    if (clcf->error_pages == NULL) {
        return BW_DECLINED;
    }

    err_page = clcf->error_pages->elts;
    for (i = 0; i < clcf->error_pages->nelts; i++) {
        if ((bw_uint_t) err_page[i].status == status) {
            /* a 401 keeps the upstream's challenges, as nginx (1.23
             * keeps all of them, in order; 1.22 the first); a failed copy
             * has finalized the request */
            if (status == BW_HTTP_UNAUTHORIZED
                && bw_http_upstream_copy_headers(r, u,
                                      BW_HTTP_UPSTREAM_COPY_CHALLENGES)
                   != BW_OK)
            {
                return BW_OK;
            }
            if (u->cache && bw_http_upstream_cache_ops) {
                /* as nginx: the error itself may be kept for a while
                 * (proxy_cache_valid), so that the next ones get it too */
                bw_http_upstream_cache_ops->store_error(r, u, status);
            }
            bw_http_upstream_finalize_request(r, u, status);
            return BW_OK;
        }
    }

    return BW_DECLINED;
}

static bw_int_t
bw_http_upstream_test_connect(bw_connection_t *c)
{
    int        err;
    socklen_t  len;

    if (c->write->error || c->read->error) {
        return BW_ERROR;
    }

    err = 0;
    len = sizeof(int);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1) {
        err = errno;
    }

    if (err) {
        c->log->action = "connecting to upstream";
        bw_log_error(BW_LOG_ERR, c->log, err, "connect() failed");
        return BW_ERROR;
    }

    return BW_OK;
}

static bw_int_t
bw_http_upstream_process_headers(bw_http_request_t *r, bw_http_upstream_t *u)
{
    bw_table_elt_t  *h;

    if (bw_http_upstream_copy_headers(r, u, BW_HTTP_UPSTREAM_COPY_ALL)
        != BW_OK)
    {
        return BW_ERROR;
    }

    /* the application sets this response's rate (bytes per second) */
    h = u->headers_in.x_accel_limit_rate;
    if (h && !(u->conf->ignore_headers & BW_HTTP_UPSTREAM_IGN_XA_LIMIT_RATE))
    {
        bw_int_t  rate;

        rate = bw_atoi(h->value.data, h->value.len);
        if (rate != BW_ERROR) {
            r->limit_rate = (size_t) rate;
            r->limit_rate_set = 1;
        }
    }

    r->headers_out.status = u->headers_in.status_n;

    if (u->headers_in.status_n != BW_HTTP_NO_CONTENT
        && u->headers_in.status_n != BW_HTTP_NOT_MODIFIED)
    {
        r->headers_out.status_line = u->headers_in.status_line;
    }

    r->headers_out.content_length_n = u->headers_in.chunked
                                      ? -1
                                      : u->headers_in.content_length_n;

    /* the upstream decides what ranges mean for its responses, unless
     * proxy_force_ranges says to cut one range from what it sends */
    r->allow_ranges = u->conf->force_ranges ? 1 : 0;
    r->single_range = r->allow_ranges;
    r->disable_not_modified = 1;

    return BW_OK;
}

static void
bw_http_upstream_send_response(bw_http_request_t *r, bw_http_upstream_t *u)
{
    bw_int_t  rc;

    if (u->cache && bw_http_upstream_cache_ops
        && bw_http_upstream_cache_ops->store_header(r, u) != BW_OK)
    {
        bw_http_upstream_finalize_request(r, u,
                                          BW_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (u->cacheable) {
        /* as nginx: an answer that is stored is one the cache would
         * answer conditionals and (one) range for */
        r->disable_not_modified = 0;
        if (r->headers_out.accept_ranges) {
            r->allow_ranges = 1;
            r->single_range = 1;
        }
    }

    rc = bw_http_send_header(r);

    if (rc == BW_ERROR || rc > BW_OK) {
        bw_http_upstream_finalize_request(r, u, rc);
        return;
    }

    if (rc == BW_DONE) {
        /* a filter's error (416) went to an error_page location: this
         * answer is not wanted, and the redirect's reference goes */
        u->keepalive = 0;
        bw_http_upstream_finalize_request(r, u, BW_DONE);
        bw_http_finalize_request(r, BW_DONE);
        return;
    }

    u->header_sent = 1;

    if (r->filter_finalize) {
        /* a filter answered instead (416 for a range under
         * proxy_force_ranges): the upstream's body is not wanted */
        u->keepalive = 0;
        bw_http_upstream_finalize_request(r, u, BW_OK);
        return;
    }

    if (u->upgrade) {
        bw_http_upstream_upgrade(r, u);
        return;
    }

    if (u->input_filter_init(r) != BW_OK) {
        bw_http_upstream_finalize_request(r, u, BW_ERROR);
        return;
    }

    bw_http_upstream_start_body(r, u);
}

/*
 * The client went away while the upstream works on its request. A
 * pipelined request is not a close: only EOF or an error counts.
 */
static void
bw_http_upstream_check_broken_connection(bw_http_request_t *r)
{
    int                  err;
    ssize_t              n;
    u_char               buf[1];
    bw_connection_t     *c;
    bw_http_upstream_t  *u;

    c = r->connection;
    u = r->upstream;

    if (c->error || r->main->stream) {
        /* an HTTP/2 stream's client that goes away resets the stream,
         * and the HTTP/2 connection ends the request */
        return;
    }

    n = recv(c->fd, buf, 1, MSG_PEEK);
    err = errno;

    if (n > 0) {
        /* bytes wait (a body not read yet, a pipelined request): the
         * event stays ready, or with edge triggering their reader would
         * never hear of them again */
        return;
    }

    if (n == -1 && err == EAGAIN) {
        c->read->ready = 0;
        return;
    }

    c->read->eof = 1;

    if (u->cacheable) {
        /* as nginx: the answer is being stored, so it is read to its
         * end for the cache; the client gets no more of it */
        c->error = 1;
        r->read_event_handler = bw_http_block_reading;
        bw_log_error(BW_LOG_INFO, c->log, n == -1 ? err : 0,
                     "client prematurely closed connection, the answer "
                     "is still read for the cache");
        return;
    }

    if (u->conf->ignore_client_abort) {
        /* as nginx, which does not watch the client then: the answer
         * still goes out (a client that only shut its side down reads
         * it; for one that is gone, the send fails) */
        return;
    }

    c->error = 1;

    bw_log_error(BW_LOG_INFO, c->log, n == -1 ? err : 0,
                 "client prematurely closed connection");

    bw_http_upstream_finalize_request(r, u, BW_HTTP_CLIENT_CLOSED_REQUEST);
}

/* Client bytes (or a timeout) while the body streams to the upstream. */
static void
bw_http_upstream_read_request_body(bw_http_request_t *r)
{
    bw_http_upstream_t  *u;

    u = r->upstream;

    if (u->peer.connection == NULL || !u->request_sent
        || u->request_body_sent)
    {
        /* not connected yet: the bytes wait in the socket */
        return;
    }

    bw_http_upstream_send_request(r, u);
}

/* $upstream_bytes_sent of this attempt (before the connection goes) */
static void
bw_http_upstream_count_sent(bw_http_upstream_t *u)
{
    if (u->state && u->peer.connection) {
        u->state->bytes_sent = u->peer.connection->sent - u->sent_start;
    }
}

/* Give up this peer; retry on the next one if allowed, else answer. */
void
bw_http_upstream_next(bw_http_request_t *r, bw_http_upstream_t *u,
    bw_uint_t ft_type)
{
    bw_uint_t  status, state;

    bw_log_debug(r->connection->log, "http next upstream, %lu",
                 (unsigned long) ft_type);

    if (u->peer.sockaddr) {
        state = (ft_type == BW_HTTP_UPSTREAM_FT_HTTP_403
                 || ft_type == BW_HTTP_UPSTREAM_FT_HTTP_404)
                ? BW_PEER_NEXT : BW_PEER_FAILED;
        if (u->peer.cached && ft_type == BW_HTTP_UPSTREAM_FT_ERROR) {
            /* a pooled connection the peer had closed (its close crossed
             * our request): not the peer's failure, and the attempt does
             * not count, also for a lone server (nginx answers 502 there,
             * the well-known keepalive race) */
            state = BW_PEER_NEXT;
            u->peer.tries++;
        }
        u->peer.free(&u->peer, u->peer.data, state);
        u->peer.sockaddr = NULL;
    }

    if (ft_type == BW_HTTP_UPSTREAM_FT_TIMEOUT) {
        bw_log_error(BW_LOG_ERR, r->connection->log, ETIMEDOUT,
                     "upstream timed out");
    }

    switch (ft_type) {
    case BW_HTTP_UPSTREAM_FT_TIMEOUT:
    case BW_HTTP_UPSTREAM_FT_HTTP_504:
        status = BW_HTTP_GATEWAY_TIME_OUT;
        break;
    case BW_HTTP_UPSTREAM_FT_HTTP_500:
        status = BW_HTTP_INTERNAL_SERVER_ERROR;
        break;
    case BW_HTTP_UPSTREAM_FT_HTTP_503:
        status = BW_HTTP_SERVICE_UNAVAILABLE;
        break;
    case BW_HTTP_UPSTREAM_FT_HTTP_403:
        status = BW_HTTP_FORBIDDEN;
        break;
    case BW_HTTP_UPSTREAM_FT_HTTP_404:
        status = BW_HTTP_NOT_FOUND;
        break;
    case BW_HTTP_UPSTREAM_FT_HTTP_429:
        status = BW_HTTP_TOO_MANY_REQUESTS;
        break;
    default:
        status = BW_HTTP_BAD_GATEWAY;
    }

    if (u->state && u->state->response_time == (bw_msec_t) -1) {
        if (ft_type & BW_HTTP_UPSTREAM_FT_STATUS) {
            u->state->status = u->headers_in.status_n;
        } else {
            u->state->status = status;
        }
        u->state->response_time = bw_current_msec - u->state->start;
    }

    if (u->peer.connection) {
        bw_http_upstream_count_sent(u);
        bw_close_peer_connection(u->peer.connection);
        u->peer.connection = NULL;
    }

    if (r->connection->error) {
        bw_http_upstream_finalize_request(r, u,
                                          BW_HTTP_CLIENT_CLOSED_REQUEST);
        return;
    }

    if (!bw_http_upstream_may_retry(r, u, ft_type)) {
        /* proxy_cache_use_stale: the stored answer rather than an error
         * (a status that failed is the status's; "no live upstreams"
         * is an error) */
        if (bw_http_upstream_send_stored(r, u,
                ft_type == BW_HTTP_UPSTREAM_FT_NOLIVE
                ? BW_HTTP_UPSTREAM_FT_ERROR : ft_type) == BW_OK)
        {
            return;
        }
        bw_http_upstream_finalize_request(r, u, status);
        return;
    }

    bw_http_upstream_connect(r, u);
}

/* The request pool goes while the upstream is busy: let go of it. */
static void
bw_http_upstream_cleanup(void *data)
{
    bw_http_request_t  *r = data;

    bw_http_upstream_finalize_request(r, r->upstream, BW_DONE);
}

void
bw_http_upstream_finalize_request(bw_http_request_t *r,
    bw_http_upstream_t *u, bw_int_t rc)
{
    bw_log_debug(r->connection->log, "finalize http upstream request: %ld",
                 (long) rc);

    if (u->cleanup) {
        u->cleanup->handler = NULL;
        u->cleanup = NULL;
    }

    if (u->resolved && u->resolved->ctx) {
        bw_resolve_name_done(u->resolved->ctx);
        u->resolved->ctx = NULL;
    }

    if (u->spill_timer.timer_set) {
        bw_event_del_timer(&u->spill_timer);
    }

    if (u->state && u->state->response_time == (bw_msec_t) -1) {
        u->state->response_time = bw_current_msec - u->state->start;
        u->state->response_length = u->read_length;
        bw_http_upstream_count_sent(u);
    }

    if (u->cache && bw_http_upstream_cache_ops) {
        /* a store not complete by now is not, a wait is over */
        bw_http_upstream_cache_ops->finalize(r, u);
    }

    if (u->finalize_request) {
        u->finalize_request(r, rc);
    }

    /* as nginx: an unsuccessful attempt is what proxy_next_upstream
     * names, up to the response header (bw_http_upstream_next counts
     * those); a body that breaks off later does not take the server out
     * (the connection is not pooled: u->keepalive is not set) */
    if (u->peer.free && u->peer.sockaddr) {
        u->peer.free(&u->peer, u->peer.data, 0);
        u->peer.sockaddr = NULL;
    }

    if (u->peer.connection) {
        bw_close_peer_connection(u->peer.connection);
        u->peer.connection = NULL;
    }

    r->connection->log->action = "sending to client";

    if (rc == BW_DONE) {
        /* from the pool cleanup: the request is going already */
        return;
    }

    if (r != r->main && u->header_sent
        && (rc == BW_ERROR || (rc >= BW_HTTP_SPECIAL_RESPONSE
                               && rc != BW_HTTP_CLIENT_CLOSED_REQUEST)))
    {
        /* a subrequest's answer is its status and headers, whole by
         * now: a body cut short changes nothing (nginx does not even
         * read it) */
        rc = BW_OK;
    }

    if (u->header_sent && rc >= BW_HTTP_SPECIAL_RESPONSE) {
        rc = BW_ERROR;
    }

    r->read_event_handler = bw_http_block_reading;

    bw_http_finalize_request(r, rc);
}

/* *_bind with variables: an empty value binds nothing, one that is no
 * address is logged and binds nothing either, as nginx; BW_ERROR (no
 * memory) fails the request rather than go out from another address */
static bw_int_t
bw_http_upstream_set_local(bw_http_request_t *r, bw_http_upstream_t *u)
{
    bw_int_t    rc;
    bw_str_t    val;
    bw_addr_t  *addr;

    u->local = NULL;

    if (bw_http_complex_value(r, u->conf->local_cv, &val) != BW_OK) {
        return BW_ERROR;
    }
    if (val.len == 0) {
        return BW_OK;
    }

    addr = bw_palloc(r->pool, sizeof(bw_addr_t));
    if (addr == NULL) {
        return BW_ERROR;
    }

    rc = bw_parse_local_addr(r->pool, addr, val.data, val.len);
    if (rc == BW_ERROR) {
        return BW_ERROR;
    }
    if (rc == BW_DECLINED) {
        bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                     "invalid local address \"%.*s\"",
                     (int) val.len, val.data);
        return BW_OK;
    }

    addr->name = val;
    u->local = addr;
    return BW_OK;
}
