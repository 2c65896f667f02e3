/*
 * Subrequests: a request made inside the server on behalf of another
 * one (auth_request asks an internal location whether the client may
 * pass). A subrequest shares its parent's connection, pool, request
 * headers and variables, starts at the server rewrite phase with "GET"
 * and the given URI, and skips the access phase. Its response goes to
 * no client: only its status and headers are looked at, its body is
 * dropped as it comes (bw_http_send_header/bw_http_output_filter).
 *
 * Work is handed over through posted requests rather than by calling
 * into the other request: the parent's access handler must return
 * before its subrequest runs, and a subrequest must be completely over
 * before its parent runs again. Whoever handles an event on a request's
 * connection runs the posted requests afterwards.
 *
 * The main request's count holds one reference per live subrequest, so
 * the pool they all live in goes only after the last of them.
 */

#include <bw_http.h>

/* A subrequest of r for uri: everything but how it runs and who waits. */
static bw_http_request_t *
bw_http_subrequest_create(bw_http_request_t *r, bw_str_t *uri,
    bw_str_t *args)
{
    bw_connection_t           *c;
    bw_http_request_t         *sr;
    bw_http_core_srv_conf_t   *cscf;

    c = r->connection;

    if (r->subrequests == 0) {
        bw_log_error(BW_LOG_ERR, c->log, 0,
                     "subrequests cycle while processing \"%.*s\"",
                     (int) uri->len, uri->data);
        return NULL;
    }

    if (r->main->count >= 65535 - 1000) {
        bw_log_error(BW_LOG_CRIT, c->log, 0,
                     "request reference counter overflow "
                     "while processing \"%.*s\"", (int) uri->len, uri->data);
        return NULL;
    }

    sr = bw_pcalloc(r->pool, sizeof(bw_http_request_t));
    if (sr == NULL) {
        return NULL;
    }

    sr->connection = c;
    sr->pool = r->pool;
    sr->http_connection = r->http_connection;

    sr->ctx = bw_pcalloc(r->pool, sizeof(void *) * bw_http_max_module);
    if (sr->ctx == NULL
        || bw_list_init(&sr->headers_out.headers, r->pool, 8,
                        sizeof(bw_table_elt_t)) != BW_OK)
    {
        return NULL;
    }

    cscf = r->srv_conf[bw_http_core_module.ctx_index];
    sr->main_conf = cscf->ctx->main_conf;
    sr->srv_conf = cscf->ctx->srv_conf;
    sr->loc_conf = cscf->ctx->loc_conf;

    sr->header_in = r->header_in;
    sr->headers_in = r->headers_in;
    sr->headers_out.content_length_n = -1;
    sr->headers_out.last_modified_time = -1;

    /* whatever the parent has of its body is not this request's to
     * read: the connection's bytes belong to the main request */
    sr->request_body = r->request_body;
    sr->discard_body = r->discard_body;
    sr->expect_tested = 1;

    sr->method = BW_HTTP_GET;
    bw_str_set(&sr->method_name, "GET");
    sr->http_version = r->http_version;
    sr->http_protocol = r->http_protocol;
    sr->request_line = r->request_line;
    sr->unparsed_uri = r->unparsed_uri;
    sr->schema = r->schema;
    sr->host = r->host;

    sr->uri = *uri;
    if (args) {
        sr->args = *args;
    }
    if (bw_http_set_exten(sr) != BW_OK) {
        return NULL;
    }

    sr->main = r->main;
    sr->parent = r;
    sr->variables = r->variables;

    sr->read_event_handler = bw_http_block_reading;
    sr->write_event_handler = bw_http_handler;

    sr->internal = 1;
    sr->header_only = 1;    /* status and headers are the answer */
    sr->uri_changes = BW_HTTP_MAX_URI_CHANGES + 1;
    sr->subrequests = r->subrequests - 1;
    sr->start_sec = bw_time_sec;
    sr->start_msec = bw_time_msec;

    return sr;
}

bw_int_t
bw_http_subrequest(bw_http_request_t *r, bw_str_t *uri, bw_str_t *args,
    bw_http_request_t **psr, bw_http_post_subrequest_t *ps)
{
    bw_connection_t    *c;
    bw_http_request_t  *sr;

    c = r->connection;

    sr = bw_http_subrequest_create(r, uri, args);
    if (sr == NULL) {
        return BW_ERROR;
    }

    sr->post_subrequest = ps;

    r->main->count++;

    /* the connection's events are the subrequest's until it is over */
    if (c->data == r) {
        c->data = sr;
    }

    *psr = sr;

    return bw_http_post_request(sr);
}

/*
 * A background subrequest (proxy_cache_background_update): a copy of r
 * that runs r's location's content handler (its method, URI and
 * configuration, without the phases before) while r answers, and that
 * nobody waits for. It holds the main request, and so the connection,
 * until it is over; its answer goes nowhere, and a failure of it is
 * its own.
 */
bw_int_t
bw_http_subrequest_background(bw_http_request_t *r)
{
    bw_http_request_t  *sr;

    sr = bw_http_subrequest_create(r, &r->uri, &r->args);
    if (sr == NULL) {
        return BW_ERROR;
    }

    sr->method = r->method;
    sr->method_name = r->method_name;
    sr->loc_conf = r->loc_conf;
    sr->content_handler = r->content_handler;
    sr->phase_handler = r->phase_handler;
    sr->write_event_handler = bw_http_core_run_phases;
    sr->background = 1;

    r->main->count++;

    return bw_http_post_request(sr);
}

/*
 * The end of a background subrequest's work (rc as for
 * bw_http_finalize_request). The main request may be over already,
 * waiting for it: then the connection goes on (keep-alive) or closes
 * now.
 */
void
bw_http_finalize_background(bw_http_request_t *r, bw_int_t rc)
{
    bw_http_request_t  *mr;

    if (rc == BW_DONE) {
        /* the handler that answered BW_DONE took a reference: if it is
         * the last (the main request is over, and so is this one), the
         * connection goes on as after the main request */
        bw_http_finalize_connection(r->main);
        return;
    }

    if (rc == BW_AGAIN || rc == BW_DECLINED || r->done) {
        return;
    }

    r->done = 1;
    r->read_event_handler = bw_http_block_reading;
    r->write_event_handler = bw_http_request_empty_handler;

    mr = r->main;

    if (mr->done && mr->count == 1 && !mr->terminated) {
        bw_http_finalize_connection(mr);
        return;
    }

    bw_http_close_request(mr, 0);
}

/*
 * The subrequest is over (its status is in headers_out.status): the
 * connection's events go back to the parent, the post_subrequest
 * handler looks at the result, and the parent runs again.
 */
void
bw_http_finalize_subrequest(bw_http_request_t *r, bw_int_t rc)
{
    bw_connection_t    *c;
    bw_http_request_t  *pr;

    c = r->connection;
    pr = r->parent;

    if (r->done) {
        return;
    }

    r->done = 1;
    r->read_event_handler = bw_http_block_reading;
    r->write_event_handler = bw_http_request_empty_handler;

    if (c->data == r) {
        c->data = pr;
    }

    if (r->post_subrequest) {
        r->post_subrequest->handler(r, r->post_subrequest->data, rc);
    }

    /* the subrequest's own reference; the main request holds another,
     * so this never frees the pool under the parent */
    r->main->count--;

    if (bw_http_post_request(pr) != BW_OK) {
        bw_http_terminate_request(pr, BW_ERROR);
    }
}

bw_int_t
bw_http_post_request(bw_http_request_t *r)
{
    bw_http_posted_request_t  *pr, **p;

    pr = bw_palloc(r->pool, sizeof(bw_http_posted_request_t));
    if (pr == NULL) {
        return BW_ERROR;
    }

    pr->request = r;
    pr->next = NULL;

    for (p = &r->main->posted_requests; *p; p = &(*p)->next) {
        /* void */
    }
    *p = pr;

    return BW_OK;
}

/*
 * After an event on a request's connection (or its upstream's). The
 * connection may be gone by now, or be between requests (keepalive,
 * lingering close: another read handler, c->data no request): then
 * nothing is posted either.
 */
void
bw_http_run_posted_requests(bw_connection_t *c)
{
    bw_http_request_t         *r;
    bw_http_posted_request_t  *pr;

    for ( ;; ) {

        if (c->destroyed || c->read->handler != bw_http_request_handler) {
            return;
        }

        r = c->data;
        pr = r->main->posted_requests;

        if (pr == NULL) {
            return;
        }

        r->main->posted_requests = pr->next;
        r = pr->request;

        r->write_event_handler(r);
    }
}
