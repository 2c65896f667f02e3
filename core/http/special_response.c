/*
 * Error and redirect responses: error_page (URI, named location or
 * redirect, with =code), else the built-in page. Errors that leave the
 * request stream in an unknown state close the connection afterwards.
 */

#include <bw_http.h>

static bw_int_t bw_http_send_error_page(bw_http_request_t *r,
    bw_http_err_page_t *err_page);
static bw_int_t bw_http_send_special_page(bw_http_request_t *r,
    bw_int_t error);

static const char  bw_http_page_tail[] =
"<hr><center>bulwark</center>" BW_CRLF
"</body>" BW_CRLF
"</html>" BW_CRLF;

bw_int_t
bw_http_special_response_handler(bw_http_request_t *r, bw_int_t error)
{
    bw_uint_t                 i;
    bw_http_err_page_t       *err_page;
    bw_http_core_loc_conf_t  *clcf;

    r->err_status = error;

    switch (error) {
    case BW_HTTP_BAD_REQUEST:
    case BW_HTTP_REQUEST_TIME_OUT:
    case BW_HTTP_LENGTH_REQUIRED:
    case BW_HTTP_REQUEST_ENTITY_TOO_LARGE:
    case BW_HTTP_REQUEST_URI_TOO_LARGE:
    case BW_HTTP_HEADER_TOO_LARGE:
    case BW_HTTP_INTERNAL_SERVER_ERROR:
    case BW_HTTP_NOT_IMPLEMENTED:
    case BW_HTTP_VERSION_NOT_SUPPORTED:
    case BW_HTTPS_CERT_ERROR:
    case BW_HTTPS_NO_CERT:
    case BW_HTTP_TO_HTTPS:
        r->keepalive = 0;
        r->lingering_close = 1;
        break;
    }

    if (r->header_sent) {
        /* too late for a page: the client sees a truncated response */
        r->connection->error = 1;
        return BW_ERROR;
    }

    clcf = r->loc_conf[bw_http_core_module.ctx_index];

    if (!r->error_page && clcf->error_pages && r->uri_changes != 0) {
        if (clcf->recursive_error_pages == 0) {
            r->error_page = 1;
        }

        err_page = clcf->error_pages->elts;
        for (i = 0; i < clcf->error_pages->nelts; i++) {
            if (err_page[i].status == error) {
                return bw_http_send_error_page(r, &err_page[i]);
            }
        }
    }

    return bw_http_send_special_page(r, error);
}

static bw_int_t
bw_http_send_error_page(bw_http_request_t *r, bw_http_err_page_t *err_page)
{
    bw_int_t         overwrite;
    bw_str_t         uri, args;
    bw_table_elt_t  *location;

    overwrite = err_page->overwrite;

    if (overwrite && overwrite != BW_HTTP_OK) {
        r->expect_tested = 1;
    }

    if (overwrite >= 0) {
        r->err_status = overwrite;
    }

    if (bw_http_complex_value(r, &err_page->value, &uri) != BW_OK) {
        return BW_ERROR;
    }

    if (uri.len && uri.data[0] == '/') {
        bw_http_split_args(r, &uri, &args);
        if (r->method != BW_HTTP_HEAD) {
            r->method = BW_HTTP_GET;
            bw_str_set(&r->method_name, "GET");
        }
        return bw_http_internal_redirect(r, &uri, &args);
    }

    if (uri.len && uri.data[0] == '@') {
        return bw_http_named_location(r, &uri);
    }

    r->expect_tested = 1;

    if (overwrite != BW_HTTP_MOVED_PERMANENTLY
        && overwrite != BW_HTTP_MOVED_TEMPORARILY
        && overwrite != BW_HTTP_SEE_OTHER
        && overwrite != BW_HTTP_TEMPORARY_REDIRECT
        && overwrite != BW_HTTP_PERMANENT_REDIRECT)
    {
        r->err_status = BW_HTTP_MOVED_TEMPORARILY;
    }

    bw_http_clear_location(r);
    location = bw_http_add_header_out(r, "Location", &uri);
    if (location == NULL) {
        return BW_ERROR;
    }
    r->headers_out.location = location;

    return bw_http_send_special_page(r, r->err_status);
}

static bw_int_t
bw_http_send_special_page(bw_http_request_t *r, bw_int_t error)
{
    size_t       slen, len;
    u_char      *p;
    bw_int_t     rc;
    bw_buf_t    *b;
    bw_chain_t   out;
    const char  *st, *title, *why;

    if (r->headers_in.content_length_n <= 0 && !r->headers_in.chunked) {
        /* no "100 Continue" before an error page (as nginx); with a
         * body, the discard decides whether the connection can stay */
        r->expect_tested = 1;
    }

    if (bw_http_discard_request_body(r) != BW_OK) {
        r->keepalive = 0;
    }

    /* nginx's TLS codes are 400s that say why in the page */
    switch (error) {
    case BW_HTTPS_CERT_ERROR:
        why = "The SSL certificate error";
        error = BW_HTTP_BAD_REQUEST;
        break;
    case BW_HTTPS_NO_CERT:
        why = "No required SSL certificate was sent";
        error = BW_HTTP_BAD_REQUEST;
        break;
    case BW_HTTP_TO_HTTPS:
        why = "The plain HTTP request was sent to HTTPS port";
        error = BW_HTTP_BAD_REQUEST;
        break;
    default:
        why = NULL;
    }

    r->err_status = error;
    r->headers_out.status = error;

    bw_http_clear_accept_ranges(r);
    bw_http_clear_last_modified(r);
    bw_http_clear_etag(r);
    r->headers_out.content_encoding = NULL;
    r->headers_out.charset.len = 0;

    st = bw_http_status_text(error, &slen);

    if (error == BW_HTTP_NOT_MODIFIED || error == BW_HTTP_NO_CONTENT
        || st == NULL)
    {
        bw_http_clear_content_length(r);
        if (st == NULL) {
            /* a code with no page of its own: an empty body, said so
             * (a keep-alive client must know where the answer ends) */
            r->headers_out.content_length_n = 0;
        }
        r->header_only = 1;
        return bw_http_send_header(r);
    }

    if (error == BW_HTTP_MOVED_TEMPORARILY) {
        /* the page says RFC 9110's name, the status line the old one
         * (both as nginx) */
        st = "302 Found";
        slen = sizeof("302 Found") - 1;

    } else if (error == BW_HTTP_UNAUTHORIZED) {
        /* nginx's page, which browsers show under the password prompt */
        st = "401 Authorization Required";
        slen = sizeof("401 Authorization Required") - 1;
    }

    title = st;
    if (why) {
        /* "400 <why>" as the title, then the reason line */
        title = "400 ";
    }

    len = sizeof("<html>" BW_CRLF "<head><title></title></head>" BW_CRLF
                 "<body>" BW_CRLF "<center><h1></h1></center>" BW_CRLF) - 1
          + 2 * slen + sizeof(bw_http_page_tail) - 1
          + (why ? 2 * strlen(why) + sizeof("<center></center>" BW_CRLF)
                   + 4 : 0);

    p = bw_pnalloc(r->pool, len + 1);
    if (p == NULL) {
        return BW_ERROR;
    }

    len = bw_slprintf(p, p + len + 1,
                      "<html>" BW_CRLF
                      "<head><title>%s%s</title></head>" BW_CRLF
                      "<body>" BW_CRLF
                      "<center><h1>%s</h1></center>" BW_CRLF
                      "%s%s%s"
                      "%s", title, why ? why : "", st,
                      why ? "<center>" : "", why ? why : "",
                      why ? "</center>" BW_CRLF : "",
                      bw_http_page_tail) - p;

    bw_str_set(&r->headers_out.content_type, "text/html");
    bw_http_clear_content_length(r);
    r->headers_out.content_length_n = len;

    rc = bw_http_send_header(r);
    if (rc == BW_ERROR || r->header_only) {
        return rc;
    }

    b = bw_calloc_buf(r->pool);
    if (b == NULL) {
        return BW_ERROR;
    }
    b->memory = 1;
    b->pos = p;
    b->last = p + len;
    b->last_buf = 1;

    out.buf = b;
    out.next = NULL;

    return bw_http_output_filter(r, &out);
}

/*
 * A header filter that must answer with an error instead (412, 416):
 * the error page goes out now, and the handler that called
 * bw_http_send_header() sees header_only and sends no body of its own.
 */
bw_int_t
bw_http_filter_finalize_request(bw_http_request_t *r, bw_module_t *m,
    bw_int_t error)
{
    bw_int_t  rc;

    rc = bw_http_special_response_handler(r, error);
    if (rc != BW_DONE) {
        /* (BW_DONE: error_page took the request elsewhere, and these
         * flags are not the new location's) */
        r->header_only = 1;
        r->filter_finalize = 1;
    }
    return rc;
}

