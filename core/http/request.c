/*
 * A request's life, whatever protocol brought it: created with its pool,
 * its head checked (Host, framing, method) and its virtual server chosen,
 * run through the phase engine, finalized (special responses, output
 * still pending, subrequests), logged once and freed. How the bytes of
 * the head arrive and what becomes of the connection afterwards belong
 * to the protocol (http1.c): this file only calls
 * bw_http_finalize_connection() and bw_http_close_connection().
 */

#include <bw_http.h>

bw_http_ssl_hooks_t  *bw_http_ssl_hooks;
bw_http_v2_hooks_t   *bw_http_v2_hooks;

static bw_int_t bw_http_set_virtual_server(bw_http_request_t *r,
    bw_str_t *host);
static void bw_http_writer(bw_http_request_t *r);
static bw_int_t bw_http_post_action(bw_http_request_t *r);
static void bw_http_terminate_handler(bw_http_request_t *r);
static bw_int_t bw_http_process_header_line(bw_http_request_t *r,
    bw_table_elt_t *h, bw_uint_t offset);
static bw_int_t bw_http_process_unique_header_line(bw_http_request_t *r,
    bw_table_elt_t *h, bw_uint_t offset);
static bw_int_t bw_http_process_multi_header_line(bw_http_request_t *r,
    bw_table_elt_t *h, bw_uint_t offset);
static bw_int_t bw_http_process_connection(bw_http_request_t *r,
    bw_table_elt_t *h, bw_uint_t offset);

#define hin(f)  offsetof(bw_http_headers_in_t, f)

bw_http_header_t  bw_http_headers_in[] = {
    { bw_string("Host"), hin(host), bw_http_process_unique_header_line },
    { bw_string("Connection"), hin(connection), bw_http_process_connection },
    { bw_string("If-Modified-Since"), hin(if_modified_since),
      bw_http_process_unique_header_line },
    { bw_string("If-Unmodified-Since"), hin(if_unmodified_since),
      bw_http_process_unique_header_line },
    { bw_string("If-Match"), hin(if_match), bw_http_process_header_line },
    { bw_string("If-None-Match"), hin(if_none_match),
      bw_http_process_header_line },
    { bw_string("User-Agent"), hin(user_agent), bw_http_process_header_line },
    { bw_string("Referer"), hin(referer), bw_http_process_header_line },
    { bw_string("Content-Length"), hin(content_length),
      bw_http_process_unique_header_line },
    { bw_string("Content-Type"), hin(content_type),
      bw_http_process_header_line },
    { bw_string("Range"), hin(range), bw_http_process_header_line },
    { bw_string("If-Range"), hin(if_range),
      bw_http_process_unique_header_line },
    { bw_string("Transfer-Encoding"), hin(transfer_encoding),
      bw_http_process_unique_header_line },
    { bw_string("TE"), hin(te), bw_http_process_header_line },
    { bw_string("Expect"), hin(expect), bw_http_process_unique_header_line },
    { bw_string("Upgrade"), hin(upgrade), bw_http_process_header_line },
    { bw_string("Authorization"), hin(authorization),
      bw_http_process_unique_header_line },
    { bw_string("Keep-Alive"), hin(keep_alive), bw_http_process_header_line },
    { bw_string("X-Forwarded-For"), hin(x_forwarded_for),
      bw_http_process_multi_header_line },
    { bw_string("Cookie"), hin(cookie), bw_http_process_multi_header_line },
    { bw_null_string, 0, NULL }
};


bw_http_request_t *
bw_http_create_request(bw_connection_t *c)
{
    bw_pool_t                 *pool;
    bw_http_request_t         *r;
    bw_http_connection_t      *hc;
    bw_http_core_srv_conf_t   *cscf;
    bw_http_core_main_conf_t  *cmcf;

    hc = c->data;
    cscf = hc->addr_conf->default_server;

    pool = bw_create_pool(cscf->request_pool_size, c->log);
    if (pool == NULL) {
        return NULL;
    }

    r = bw_pcalloc(pool, sizeof(bw_http_request_t));
    if (r == NULL) {
        bw_destroy_pool(pool);
        return NULL;
    }

    r->pool = pool;
    r->http_connection = hc;
    r->pipeline = hc->pipeline ? 1 : 0;
    r->connection = c;
    r->main_conf = cscf->ctx->main_conf;
    r->srv_conf = cscf->ctx->srv_conf;
    r->loc_conf = cscf->ctx->loc_conf;
    r->read_event_handler = bw_http_block_reading;
    r->header_in = hc->busy ? hc->busy : c->buffer;

    cmcf = r->main_conf[bw_http_core_module.ctx_index];

    if (bw_list_init(&r->headers_out.headers, pool, 16,
                     sizeof(bw_table_elt_t)) != BW_OK
        || bw_list_init(&r->headers_in.headers, pool, 16,
                        sizeof(bw_table_elt_t)) != BW_OK)
    {
        bw_destroy_pool(pool);
        return NULL;
    }

    r->ctx = bw_pcalloc(pool, sizeof(void *) * bw_http_max_module);
    r->variables = bw_pcalloc(pool, cmcf->variables.nelts
                                    * sizeof(bw_http_variable_value_t));
    if (r->ctx == NULL || r->variables == NULL) {
        bw_destroy_pool(pool);
        return NULL;
    }

    c->requests++;

    r->main = r;
    r->count = 1;
    r->subrequests = BW_HTTP_MAX_SUBREQUESTS;

    /* stub_status: a request is "reading" until its head is in */
    r->stat_reading = 1;
    bw_stat_add(reading, 1);
    bw_stat_add(requests, 1);
    r->start_sec = bw_time_sec;
    r->start_msec = bw_time_msec;
    r->method = BW_HTTP_UNKNOWN;
    r->http_version = BW_HTTP_VERSION_10;
    r->headers_in.content_length_n = -1;
    r->headers_out.content_length_n = -1;
    r->headers_out.last_modified_time = -1;
    r->uri_changes = BW_HTTP_MAX_URI_CHANGES + 1;

    return r;
}

/* Decode and normalise the path; split args; compute the extension. */
bw_int_t
bw_http_process_request_uri(bw_http_request_t *r)
{
    u_char                   *q, *path, *end;
    size_t                    plen, len;
    bw_http_core_srv_conf_t  *cscf;

    cscf = r->srv_conf[bw_http_core_module.ctx_index];

    if (r->unparsed_uri.len == 1 && r->unparsed_uri.data[0] == '*') {
        bw_str_set(&r->uri, "*");
        return BW_OK;
    }

    r->valid_unparsed_uri = 1;

    /* a "#fragment" is no part of $uri or $args, as in nginx; it stays
     * in $request_uri, and the URI sent upstream is built again */
    path = r->unparsed_uri.data;
    end = memchr(path, '#', r->unparsed_uri.len);
    if (end) {
        r->valid_unparsed_uri = 0;
    } else {
        end = path + r->unparsed_uri.len;
    }

    q = memchr(path, '?', end - path);
    plen = q ? (size_t) (q - path) : (size_t) (end - path);

    if (q && q + 1 < end) {
        /* "/a?" has no arguments, as in nginx ($args is not found) */
        r->args.data = q + 1;
        r->args.len = end - q - 1;
    }

    if (plen == 0) {
        /* "http://host?a" */
        bw_str_set(&r->uri, "/");
        return BW_OK;
    }

    r->uri.data = bw_pnalloc(r->pool, plen);
    if (r->uri.data == NULL) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (bw_http_normalize_uri(path, plen, r->uri.data, &len,
                              cscf->merge_slashes) != BW_OK)
    {
        return BW_HTTP_BAD_REQUEST;
    }
    r->uri.len = len;

    return bw_http_set_exten(r);
}

bw_int_t
bw_http_set_exten(bw_http_request_t *r)
{
    bw_int_t  i;

    bw_str_null(&r->exten);

    for (i = r->uri.len - 1; i > 1; i--) {
        if (r->uri.data[i] == '.' && r->uri.data[i - 1] != '/') {
            r->exten.len = r->uri.len - i - 1;
            r->exten.data = &r->uri.data[i + 1];
            return BW_OK;
        }
        if (r->uri.data[i] == '/') {
            return BW_OK;
        }
    }

    return BW_OK;
}

/* Checks that need the whole head: Host, framing, method. */
bw_int_t
bw_http_process_request_header(bw_http_request_t *r)
{
    bw_str_t          host;
    bw_connection_t  *c;

    c = r->connection;

    if (r->host.len) {
        host = r->host;
    } else if (r->headers_in.host) {
        host = r->headers_in.host->value;
    } else {
        host.len = 0;
        host.data = NULL;
    }

    if (host.len || r->headers_in.host) {
        if (bw_http_validate_host(&host, r->pool, 0) != BW_OK) {
            bw_log_error(BW_LOG_INFO, c->log, 0,
                         "client sent invalid host header");
            r->keepalive = 0;
            bw_http_finalize_request(r, BW_HTTP_BAD_REQUEST);
            return BW_ERROR;
        }
        r->headers_in.server = host;
    }

    switch (bw_http_set_virtual_server(r, &r->headers_in.server)) {
    case BW_OK:
        break;
    case BW_DECLINED:
        return BW_ERROR;        /* answered already */
    default:
        bw_http_close_request(r, BW_HTTP_INTERNAL_SERVER_ERROR);
        return BW_ERROR;
    }

    if (r->headers_in.host == NULL && r->http_version > BW_HTTP_VERSION_10
        && r->stream == NULL)
    {
        /* HTTP/2 may leave the authority out (RFC 9113 8.3.1): the
         * default server answers, as nginx */
        bw_log_error(BW_LOG_INFO, c->log, 0,
                     "client sent HTTP/1.1 request without \"Host\" header");
        r->keepalive = 0;
        bw_http_finalize_request(r, BW_HTTP_BAD_REQUEST);
        return BW_ERROR;
    }

    if (r->headers_in.content_length) {
        r->headers_in.content_length_n =
            bw_atoof(r->headers_in.content_length->value.data,
                     r->headers_in.content_length->value.len);
        if (r->headers_in.content_length_n == BW_ERROR) {
            bw_log_error(BW_LOG_INFO, c->log, 0,
                         "client sent invalid \"Content-Length\" header");
            r->keepalive = 0;
            bw_http_finalize_request(r, BW_HTTP_BAD_REQUEST);
            return BW_ERROR;
        }
    }

    if (r->headers_in.transfer_encoding) {
        if (r->http_version < BW_HTTP_VERSION_11) {
            bw_log_error(BW_LOG_INFO, c->log, 0,
                         "client sent HTTP/1.0 request with "
                         "\"Transfer-Encoding\" header");
            r->keepalive = 0;
            bw_http_finalize_request(r, BW_HTTP_BAD_REQUEST);
            return BW_ERROR;
        }

        if (!bw_str_caseeq_lit(&r->headers_in.transfer_encoding->value,
                               "chunked"))
        {
            bw_log_error(BW_LOG_INFO, c->log, 0,
                         "client sent unknown \"Transfer-Encoding\": \"%.*s\"",
                         (int) r->headers_in.transfer_encoding->value.len,
                         r->headers_in.transfer_encoding->value.data);
            r->keepalive = 0;
            bw_http_finalize_request(r, BW_HTTP_NOT_IMPLEMENTED);
            return BW_ERROR;
        }

        if (r->headers_in.content_length) {
            bw_log_error(BW_LOG_INFO, c->log, 0,
                         "client sent \"Content-Length\" and "
                         "\"Transfer-Encoding\" headers at the same time");
            r->keepalive = 0;
            bw_http_finalize_request(r, BW_HTTP_BAD_REQUEST);
            return BW_ERROR;
        }

        r->headers_in.chunked = 1;
    }

    if (r->method == BW_HTTP_TRACE || r->method == BW_HTTP_CONNECT) {
        bw_log_error(BW_LOG_INFO, c->log, 0, "client sent %.*s method",
                     (int) r->method_name.len, r->method_name.data);
        bw_http_finalize_request(r, BW_HTTP_NOT_ALLOWED);
        return BW_ERROR;
    }

    return BW_OK;
}

static bw_int_t
bw_http_set_virtual_server(bw_http_request_t *r, bw_str_t *host)
{
    bw_http_core_srv_conf_t  *cscf;

    cscf = bw_http_find_virtual_server(r->connection,
                                       r->http_connection->addr_conf, host,
                                       r);
    if (cscf == NULL) {
        return BW_ERROR;
    }

    if (r->connection->ssl && bw_http_ssl_hooks) {
        /* the server TLS chose, and 421 where Host may not change it */
        cscf = bw_http_ssl_hooks->virtual_server(r, host, cscf);
        if (cscf == NULL) {
            bw_http_finalize_request(r, BW_HTTP_MISDIRECTED_REQUEST);
            return BW_DECLINED;
        }
    }

    r->srv_conf = cscf->ctx->srv_conf;
    r->loc_conf = cscf->ctx->loc_conf;
    bw_http_update_location_config(r);
    return BW_OK;
}

static bw_int_t
bw_http_process_header_line(bw_http_request_t *r, bw_table_elt_t *h,
    bw_uint_t offset)
{
    bw_table_elt_t  **ph;

    ph = (bw_table_elt_t **) ((char *) &r->headers_in + offset);
    if (*ph == NULL) {
        *ph = h;
    }
    return BW_OK;
}

static bw_int_t
bw_http_process_unique_header_line(bw_http_request_t *r, bw_table_elt_t *h,
    bw_uint_t offset)
{
    bw_table_elt_t  **ph;

    ph = (bw_table_elt_t **) ((char *) &r->headers_in + offset);

    if (*ph == NULL) {
        *ph = h;
        return BW_OK;
    }

    bw_log_error(BW_LOG_INFO, r->connection->log, 0,
                 "client sent duplicate header line: \"%.*s: %.*s\", "
                 "previous value: \"%.*s: %.*s\"",
                 (int) h->key.len, h->key.data, (int) h->value.len,
                 h->value.data, (int) (*ph)->key.len, (*ph)->key.data,
                 (int) (*ph)->value.len, (*ph)->value.data);

    r->keepalive = 0;
    bw_http_finalize_request(r, BW_HTTP_BAD_REQUEST);
    return BW_ERROR;
}

static bw_int_t
bw_http_process_multi_header_line(bw_http_request_t *r, bw_table_elt_t *h,
    bw_uint_t offset)
{
    bw_table_elt_t  **ph;

    ph = (bw_table_elt_t **) ((char *) &r->headers_in + offset);
    while (*ph) {
        ph = &(*ph)->next;
    }
    *ph = h;
    return BW_OK;
}

static bw_int_t
bw_http_process_connection(bw_http_request_t *r, bw_table_elt_t *h,
    bw_uint_t offset)
{
    if (bw_http_process_header_line(r, h, offset) != BW_OK) {
        return BW_ERROR;
    }

    if (bw_strlcasestrn(h->value.data, h->value.data + h->value.len,
                        (u_char *) "close", 5))
    {
        r->headers_in.connection_type = BW_HTTP_CONNECTION_CLOSE;

    } else if (bw_strlcasestrn(h->value.data, h->value.data + h->value.len,
                               (u_char *) "keep-alive", 10))
    {
        r->headers_in.connection_type = BW_HTTP_CONNECTION_KEEP_ALIVE;
    }

    return BW_OK;
}

void
bw_http_process_request(bw_http_request_t *r)
{
    bw_int_t          rc;
    bw_connection_t  *c;

    c = r->connection;

    if (c->read->timer_set) {
        bw_event_del_timer(c->read);
    }

    c->read->handler = bw_http_request_handler;
    c->write->handler = bw_http_request_handler;
    r->read_event_handler = bw_http_block_reading;
    c->log->action = NULL;

    if (r->stat_reading) {
        r->stat_reading = 0;
        r->stat_writing = 1;
        bw_stat_add(reading, -1);
        bw_stat_add(writing, 1);
    }

    if (r->http_connection->addr_conf->ssl && bw_http_ssl_hooks) {
        /* plain HTTP on a TLS port (497), client certificates (495,
         * 496): answered as errors before any phase runs */
        rc = bw_http_ssl_hooks->verify_request(r);
        if (rc != BW_OK) {
            bw_http_finalize_request(r, rc);
            return;
        }
    }

    bw_http_handler(r);
}

void
bw_http_request_handler(bw_event_t *ev)
{
    bw_connection_t    *c;
    bw_http_request_t  *r;

    c = ev->data;
    r = c->data;

    if (c->close) {
        bw_http_terminate_request(r, 0);
        return;
    }

    if (ev->write) {
        r->write_event_handler(r);
    } else {
        r->read_event_handler(r);
    }

    bw_http_run_posted_requests(c);
}

void
bw_http_block_reading(bw_http_request_t *r)
{
    /* edge-triggered: nothing to disable; the data waits in the socket */
}

void
bw_http_request_empty_handler(bw_http_request_t *r)
{
}

/*
 * The end of a handler's work. rc is what the handler returned: a
 * status to answer with, BW_OK (the response was produced), BW_AGAIN
 * (output or input pending), BW_DONE (someone else holds the request),
 * BW_DECLINED (go on with the phases), or BW_ERROR.
 */
void
bw_http_finalize_request(bw_http_request_t *r, bw_int_t rc)
{
    bw_connection_t  *c;

    c = r->connection;

    bw_log_debug(c->log, "http finalize request: %ld, \"%.*s?%.*s\" "
                 "a:%d, c:%lu", (long) rc, (int) r->uri.len, r->uri.data,
                 (int) r->args.len, r->args.data, r == c->data,
                 (unsigned long) r->main->count);

    if (r->background) {
        bw_http_finalize_background(r, rc);
        return;
    }

    if (rc == BW_DONE) {
        if (r != r->main) {
            /* the handler that answered BW_DONE took a reference */
            bw_http_close_request(r, 0);
            return;
        }
        bw_http_finalize_connection(r);
        return;
    }

    if (rc == BW_DECLINED) {
        r->content_handler = NULL;
        r->write_event_handler = bw_http_core_run_phases;
        bw_http_core_run_phases(r);
        return;
    }

    if (rc == BW_ERROR || rc == BW_HTTP_REQUEST_TIME_OUT
        || rc == BW_HTTP_CLIENT_CLOSED_REQUEST || c->error)
    {
        bw_http_terminate_request(r, rc);
        return;
    }

    if (rc >= BW_HTTP_SPECIAL_RESPONSE || rc == BW_HTTP_CREATED
        || rc == BW_HTTP_NO_CONTENT)
    {
        if (rc == 444) {
            /* nginx's "close without a response" */
            bw_http_terminate_request(r, rc);
            return;
        }
        if (c->read->timer_set) {
            bw_event_del_timer(c->read);
        }
        if (c->write->timer_set) {
            c->write->delayed = 0;
            bw_event_del_timer(c->write);
        }
        /* an error found while the head was read: the connection's
         * events still go to the head reader, and a response that does
         * not go out at once needs its write event */
        c->read->handler = bw_http_request_handler;
        c->write->handler = bw_http_request_handler;
        bw_http_finalize_request(r, bw_http_special_response_handler(r, rc));
        return;
    }

    if (r != r->main) {
        /* a subrequest's output went nowhere: nothing to wait for */
        if (rc != BW_AGAIN) {
            bw_http_finalize_subrequest(r, rc);
        }
        return;
    }

    if (r->out || c->buffered) {
        r->write_event_handler = bw_http_writer;
        if (!c->write->timer_set) {
            bw_http_core_loc_conf_t *clcf;
            clcf = r->loc_conf[bw_http_core_module.ctx_index];
            bw_event_add_timer(c->write, clcf->send_timeout);
        }
        return;
    }

    if (rc == BW_AGAIN) {
        return;
    }

    if (!r->header_sent && !r->done) {
        /* a handler finished without a response: that is a bug */
        bw_log_error(BW_LOG_ALERT, c->log, 0,
                     "request finished without a response");
        bw_http_terminate_request(r, BW_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (bw_http_post_action(r) == BW_OK) {
        return;
    }

    r->done = 1;
    r->read_event_handler = bw_http_block_reading;
    r->write_event_handler = bw_http_request_empty_handler;

    if (c->read->timer_set) {
        bw_event_del_timer(c->read);
    }
    if (c->write->timer_set) {
        c->write->delayed = 0;
        bw_event_del_timer(c->write);
    }

    bw_http_finalize_connection(r);
}

/*
 * post_action: the answer is out; the request goes on to the URI or the
 * named location given, whose answer goes nowhere (a notification, an
 * accounting request to a backend). Once: nginx runs a post_action
 * location's own inherited post_action again, until the redirect limit
 * stops it with an error; here it runs once.
 */
static bw_int_t
bw_http_post_action(bw_http_request_t *r)
{
    bw_http_core_loc_conf_t  *clcf;

    clcf = r->loc_conf[bw_http_core_module.ctx_index];

    if (clcf->post_action.len == 0 || r->post_action || r != r->main) {
        return BW_DECLINED;
    }

    bw_log_debug(r->connection->log, "post action: \"%.*s\"",
                 (int) clcf->post_action.len, clcf->post_action.data);

    r->post_action = 1;
    r->header_only = 1;
    r->read_event_handler = bw_http_block_reading;

    if (clcf->post_action.data[0] == '/') {
        (void) bw_http_internal_redirect(r, &clcf->post_action, NULL);
    } else {
        (void) bw_http_named_location(r, &clcf->post_action);
    }

    /* the redirect's reference, as a handler's BW_DONE drops it */
    bw_http_finalize_request(r, BW_DONE);
    return BW_OK;
}

/*
 * The end of a request that cannot go on (an error, a client gone).
 * When something else still holds the request (count > 1: a handler up
 * the stack that made an internal redirect, and finalizes with BW_DONE
 * after this returns; a subrequest), closing it now would free it under
 * them: the close waits for the posted requests, which run once the
 * stack has unwound, as nginx's terminal posted request.
 */
void
bw_http_terminate_request(bw_http_request_t *r, bw_int_t rc)
{
    bw_http_request_t  *mr;

    mr = r->main;    /* a failing subrequest takes the whole request */

    bw_log_debug(r->connection->log, "http terminate request count:%lu",
                 (unsigned long) mr->count);

    if (rc > 0 && (mr->headers_out.status == 0 || mr->connection->sent == 0))
    {
        mr->headers_out.status = rc;
    }

    mr->keepalive = 0;

    if (mr->count > 1 && !mr->terminated
        && mr->connection->read->handler == bw_http_request_handler)
    {
        mr->terminated = 1;
        mr->posted_requests = &mr->terminal_posted;
        mr->terminal_posted.request = mr;
        mr->terminal_posted.next = NULL;
        mr->write_event_handler = bw_http_terminate_handler;
        return;
    }

    mr->terminated = 1;
    mr->count = 1;
    bw_http_close_request(mr, rc);
}

static void
bw_http_terminate_handler(bw_http_request_t *r)
{
    r->count = 1;
    bw_http_close_request(r, 0);
}

/*
 * What a write event on the client's connection means to a writer:
 * BW_OK go on writing, BW_AGAIN limit_rate still holds the writes back
 * (its timer comes), BW_ERROR the client timed out (c->timedout set).
 * A timed-out event that limit_rate delayed is the end of that wait.
 */
bw_int_t
bw_http_write_event_ready(bw_http_request_t *r)
{
    bw_event_t  *wev;

    wev = r->connection->write;

    if (wev->timedout) {
        if (!wev->delayed) {
            r->connection->timedout = 1;
            return BW_ERROR;
        }
        wev->timedout = 0;
        wev->delayed = 0;
        return BW_OK;
    }

    return wev->delayed ? BW_AGAIN : BW_OK;
}

static void
bw_http_writer(bw_http_request_t *r)
{
    bw_int_t                  rc;
    bw_event_t               *wev;
    bw_connection_t          *c;
    bw_http_core_loc_conf_t  *clcf;

    c = r->connection;
    wev = c->write;

    rc = bw_http_write_event_ready(r);
    if (rc == BW_ERROR) {
        bw_log_error(BW_LOG_INFO, c->log, ETIMEDOUT,
                     "client timed out while sending response");
        bw_http_finalize_request(r, BW_HTTP_REQUEST_TIME_OUT);
        return;
    }
    if (rc == BW_AGAIN) {
        return;
    }

    rc = bw_http_output_filter(r, NULL);

    if (rc == BW_ERROR) {
        /* the client went away: what waits in r->out never will go */
        bw_http_finalize_request(r, rc);
        return;
    }

    if (r->out || c->buffered) {
        if (!wev->delayed) {
            clcf = r->loc_conf[bw_http_core_module.ctx_index];
            bw_event_add_timer(wev, clcf->send_timeout);
        }
        return;
    }

    r->write_event_handler = bw_http_request_empty_handler;
    bw_http_finalize_request(r, rc);
}

void
bw_http_close_request(bw_http_request_t *r, bw_int_t rc)
{
    void             *stream;
    bw_connection_t  *c;

    r = r->main;
    c = r->connection;

    bw_log_debug(c->log, "http request count:%lu", (unsigned long) r->count);

    if (r->count == 0) {
        bw_log_error(BW_LOG_ALERT, c->log, 0, "http request count is zero");
    }

    r->count--;
    if (r->count) {
        return;
    }

    stream = r->stream;

    bw_http_free_request(r, rc);

    if (stream) {
        /* the connection is the HTTP/2 one's: only the stream ends */
        bw_http_v2_hooks->close_stream(stream, rc);
        return;
    }

    bw_http_close_connection(c);
}

/* The log phase, once per request. */
void
bw_http_log_request(bw_http_request_t *r)
{
    bw_uint_t                  i, n;
    bw_http_handler_pt        *h;
    bw_http_core_main_conf_t  *cmcf;

    if (r->logged || r->request_line.len == 0) {
        return;
    }

    r->logged = 1;
    cmcf = r->main_conf[bw_http_core_module.ctx_index];
    h = cmcf->phases[BW_HTTP_LOG_PHASE].handlers.elts;
    n = cmcf->phases[BW_HTTP_LOG_PHASE].handlers.nelts;
    for (i = 0; i < n; i++) {
        h[i](r);
    }
}

void
bw_http_free_request(bw_http_request_t *r, bw_int_t rc)
{
    bw_pool_t          *pool;
    bw_http_log_ctx_t  *ctx;

    if (rc > 0 && r->headers_out.status == 0) {
        r->headers_out.status = rc;
    }

    if (r->stat_reading) {
        r->stat_reading = 0;
        bw_stat_add(reading, -1);
    }
    if (r->stat_writing) {
        r->stat_writing = 0;
        bw_stat_add(writing, -1);
    }

    bw_http_log_request(r);

    ctx = r->connection->log->data;
    if (ctx && ctx->request == r) {
        ctx->request = NULL;
    }

    if (r->connection->timedout && r->loc_conf && r->stream == NULL) {
        bw_http_core_loc_conf_t  *clcf;
        struct linger             linger;

        /* reset_timedout_connection: RST now, no FIN_WAIT with the rest
         * of a response queued for a client that is gone */
        clcf = r->loc_conf[bw_http_core_module.ctx_index];
        if (clcf->reset_timedout_connection) {
            linger.l_onoff = 1;
            linger.l_linger = 0;
            if (setsockopt(r->connection->fd, SOL_SOCKET, SO_LINGER,
                           &linger, sizeof(struct linger)) == -1)
            {
                bw_log_error(BW_LOG_ALERT, r->connection->log, errno,
                             "setsockopt(SO_LINGER) failed");
            }
        }
    }

    pool = r->pool;
    r->pool = NULL;
    bw_destroy_pool(pool);
}

bw_int_t
bw_http_header_lowcase(bw_http_request_t *r, bw_table_elt_t *h)
{
    h->lowcase_key = bw_pnalloc(r->pool, h->key.len);
    if (h->lowcase_key == NULL) {
        return BW_ERROR;
    }

    if (h->key.len <= BW_HTTP_LC_HEADER_LEN) {
        memcpy(h->lowcase_key, r->lowcase_header, h->key.len);
    } else {
        bw_strlow(h->lowcase_key, h->key.data, h->key.len);
    }
    h->hash = r->header_hash;

    return BW_OK;
}
