/*
 * The last header filter: serialise the status line and headers into
 * one buffer and hand it to the body filters, so that the header and
 * the first body bytes leave in one writev. What does not depend on the
 * framing (HEAD, 204 and 304 without a body, the status text, an
 * absolute Location) is settled first; an HTTP/2 stream's header then
 * goes to the HTTP/2 module.
 */

#include <bw_http.h>

static bw_int_t bw_http_header_filter_init(bw_conf_t *cf);
static bw_int_t bw_http_header_filter(bw_http_request_t *r);

static bw_http_module_t  bw_http_header_filter_module_ctx = {
    NULL, bw_http_header_filter_init, NULL, NULL, NULL, NULL, NULL, NULL
};

bw_module_t  bw_http_header_filter_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_header_filter_module_ctx, NULL,
    NULL, NULL, NULL, NULL
};

typedef struct {
    bw_uint_t    status;
    const char  *text;
} bw_http_status_name_t;

static const bw_http_status_name_t  bw_http_statuses[] = {
    { 100, "100 Continue" },
    { 101, "101 Switching Protocols" },
    { 200, "200 OK" },
    { 201, "201 Created" },
    { 202, "202 Accepted" },
    { 203, "203 Non-Authoritative Information" },
    { 204, "204 No Content" },
    { 206, "206 Partial Content" },
    /* no 300: nginx says nothing after the code, and has no page */
    { 301, "301 Moved Permanently" },
    { 302, "302 Moved Temporarily" },
    { 303, "303 See Other" },
    { 304, "304 Not Modified" },
    { 307, "307 Temporary Redirect" },
    { 308, "308 Permanent Redirect" },
    { 400, "400 Bad Request" },
    { 401, "401 Unauthorized" },
    { 402, "402 Payment Required" },
    { 403, "403 Forbidden" },
    { 404, "404 Not Found" },
    { 405, "405 Not Allowed" },
    { 406, "406 Not Acceptable" },
    { 408, "408 Request Time-out" },
    { 409, "409 Conflict" },
    { 410, "410 Gone" },
    { 411, "411 Length Required" },
    { 412, "412 Precondition Failed" },
    { 413, "413 Request Entity Too Large" },
    { 414, "414 Request-URI Too Large" },
    { 415, "415 Unsupported Media Type" },
    { 416, "416 Requested Range Not Satisfiable" },
    { 421, "421 Misdirected Request" },
    { 429, "429 Too Many Requests" },
    { 431, "431 Request Header Fields Too Large" },
    { 500, "500 Internal Server Error" },
    { 501, "501 Not Implemented" },
    { 502, "502 Bad Gateway" },
    { 503, "503 Service Temporarily Unavailable" },
    { 504, "504 Gateway Time-out" },
    { 505, "505 HTTP Version Not Supported" },
    { 507, "507 Insufficient Storage" },
    { 0, NULL }
};

const char *
bw_http_status_text(bw_uint_t status, size_t *len)
{
    const bw_http_status_name_t  *s;

    for (s = bw_http_statuses; s->text; s++) {
        if (s->status == status) {
            *len = strlen(s->text);
            return s->text;
        }
    }

    *len = 0;
    return NULL;
}

/*
 * "Location: /path" becomes absolute, as nginx does with
 * absolute_redirect on: scheme, the request's host (or the server
 * name), and the port unless it is the default one. BW_DONE when it
 * did: the line then goes with the fixed ones, where nginx writes it.
 */
static bw_int_t
bw_http_absolute_location(bw_http_request_t *r,
    bw_http_core_loc_conf_t *clcf)
{
    u_char                   *p;
    size_t                    len;
    in_port_t                 port;
    const char               *scheme;
    bw_str_t                  host, *loc;
    socklen_t                 slen;
    bw_sockaddr_t             sa;
    bw_http_core_srv_conf_t  *cscf;
    u_char                    addr[BW_SOCKADDR_STRLEN + 2];

    loc = &r->headers_out.location->value;

    if (!clcf->absolute_redirect || loc->len == 0 || loc->data[0] != '/') {
        return BW_OK;
    }

    slen = sizeof(bw_sockaddr_t);
    if (getsockname(r->connection->fd, &sa.sockaddr, &slen) != 0) {
        sa.sockaddr.sa_family = AF_UNSPEC;
    }

    if (clcf->server_name_in_redirect) {
        cscf = r->srv_conf[bw_http_core_module.ctx_index];
        host = cscf->server_name;

    } else if (r->headers_in.server.len) {
        host = r->headers_in.server;

    } else {
        /* no Host, or an invalid one (error_page 400): the address the
         * client reached, as nginx */
        host.data = addr;
        host.len = 0;
        if (sa.sockaddr.sa_family == AF_INET6) {
            addr[host.len++] = '[';
        }
        if (sa.sockaddr.sa_family == AF_INET
            || sa.sockaddr.sa_family == AF_INET6)
        {
            host.len += bw_sock_ntop(&sa.sockaddr, slen, addr + host.len,
                                     sizeof(addr) - 2, 0);
        }
        if (sa.sockaddr.sa_family == AF_INET6) {
            addr[host.len++] = ']';
        }
    }

    if (host.len == 0) {
        bw_str_set(&host, "localhost");
    }

    scheme = r->connection->ssl ? "https" : "http";

    port = 0;
    if (clcf->port_in_redirect && (sa.sockaddr.sa_family == AF_INET
                                   || sa.sockaddr.sa_family == AF_INET6))
    {
        port = bw_inet_get_port(&sa.sockaddr);
        if (port == (r->connection->ssl ? 443 : 80)) {
            port = 0;
        }
    }

    len = sizeof("https://:65535") + host.len + loc->len;
    p = bw_pnalloc(r->pool, len);
    if (p == NULL) {
        return BW_ERROR;
    }

    loc->len = (port ? bw_slprintf(p, p + len, "%s://%.*s:%u%.*s", scheme,
                                   (int) host.len, host.data,
                                   (unsigned) port, (int) loc->len,
                                   loc->data)
                     : bw_slprintf(p, p + len, "%s://%.*s%.*s", scheme,
                                   (int) host.len, host.data,
                                   (int) loc->len, loc->data)) - p;
    loc->data = p;
    return BW_DONE;
}

static bw_int_t
bw_http_header_filter(bw_http_request_t *r)
{
    u_char                    *p, *last;
    size_t                     len, slen;
    bw_buf_t                  *b;
    bw_uint_t                  i, status;
    bw_chain_t                 out;
    bw_list_part_t            *part;
    bw_int_t                   rc;
    bw_table_elt_t            *h, *location;
    const char                *st;
    char                       stbuf[8];
    bw_connection_t           *c;
    bw_http_core_loc_conf_t   *clcf;
    bw_http_core_srv_conf_t   *cscf;

    r->header_sent = 1;
    c = r->connection;

    if (r->http_version < BW_HTTP_VERSION_10) {
        return BW_OK;
    }

    if (r->method == BW_HTTP_HEAD) {
        r->header_only = 1;
    }

    if (r->headers_out.last_modified_time != -1) {
        if (r->headers_out.status != BW_HTTP_OK
            && r->headers_out.status != BW_HTTP_PARTIAL_CONTENT
            && r->headers_out.status != BW_HTTP_NOT_MODIFIED)
        {
            r->headers_out.last_modified_time = -1;
            r->headers_out.last_modified = NULL;
        }
    }

    status = r->headers_out.status;

    if (r->headers_out.status_line.len) {
        st = (const char *) r->headers_out.status_line.data;
        slen = r->headers_out.status_line.len;
    } else {
        if (status == BW_HTTP_NO_CONTENT) {
            r->header_only = 1;
            bw_str_null(&r->headers_out.content_type);
            r->headers_out.last_modified_time = -1;
            r->headers_out.last_modified = NULL;
            r->headers_out.content_length = NULL;
            r->headers_out.content_length_n = -1;
        }
        if (status == BW_HTTP_NOT_MODIFIED) {
            r->header_only = 1;
        }

        st = bw_http_status_text(status, &slen);
        if (st == NULL) {
            slen = bw_slprintf((u_char *) stbuf, (u_char *) stbuf + 8,
                               "%03lu ", (unsigned long) status)
                   - (u_char *) stbuf;
            st = stbuf;
        }
    }

    clcf = r->loc_conf[bw_http_core_module.ctx_index];
    cscf = r->srv_conf[bw_http_core_module.ctx_index];
    (void) cscf;

    if (bw_exiting) {
        /* an old worker after a reload or an upgrade: the client learns
         * from this response to take its next request elsewhere, rather
         * than from a close that may cross that request */
        r->keepalive = 0;
    }

    location = NULL;
    if (r->headers_out.location && r->headers_out.location->hash) {
        rc = bw_http_absolute_location(r, clcf);
        if (rc == BW_ERROR) {
            return BW_ERROR;
        }
        if (rc == BW_DONE) {
            location = r->headers_out.location;
        }
    }

    if (r->stream) {
        /* an HTTP/2 stream: a HEADERS frame in place of the text */
        return bw_http_v2_hooks->header_filter(r, st, slen);
    }

    len = sizeof("HTTP/1.1 ") - 1 + slen + 2
          + sizeof("Server: bulwark/0.1.0\r\n") - 1
          + sizeof("Date: Mon, 28 Sep 1970 06:00:00 GMT\r\n") - 1
          + 2;

    if (r->headers_out.content_type.len) {
        len += sizeof("Content-Type: ") - 1 + r->headers_out.content_type.len
               + 2;
        if (r->headers_out.charset.len) {
            len += sizeof("; charset=") - 1 + r->headers_out.charset.len;
        }
    }

    if (r->headers_out.content_length == NULL
        && r->headers_out.content_length_n >= 0)
    {
        len += sizeof("Content-Length: ") - 1 + BW_INT_T_LEN + 2;
    }

    if (r->headers_out.last_modified == NULL
        && r->headers_out.last_modified_time != -1)
    {
        len += sizeof("Last-Modified: Mon, 28 Sep 1970 06:00:00 GMT\r\n") - 1;
    }

    if (r->chunked) {
        len += sizeof("Transfer-Encoding: chunked\r\n") - 1;
    }

    if (r->headers_out.status == BW_HTTP_SWITCHING_PROTOCOLS) {
        len += sizeof("Connection: upgrade\r\n") - 1;
    } else if (r->keepalive) {
        len += sizeof("Connection: keep-alive\r\n") - 1;
        if (clcf->keepalive_header) {
            len += sizeof("Keep-Alive: timeout=") - 1 + BW_INT_T_LEN + 2;
        }
    } else {
        len += sizeof("Connection: close\r\n") - 1;
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
        if (h[i].hash == 0) {
            continue;
        }
        len += h[i].key.len + 2 + h[i].value.len + 2;
    }

    b = bw_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return BW_ERROR;
    }

    p = b->last;
    last = b->end;

    /* the highest version we speak, to 1.0 clients too (RFC 9110 6.2) */
    p = bw_cpymem(p, "HTTP/1.1 ", 9);
    p = bw_cpymem(p, st, slen);
    *p++ = '\r'; *p++ = '\n';

    /* a proxied response may bring its own (proxy_pass_header) */
    if (r->headers_out.server == NULL) {
        if (clcf->server_tokens) {
            p = bw_cpymem(p, "Server: bulwark/0.1.0\r\n",
                          sizeof("Server: bulwark/0.1.0\r\n") - 1);
        } else {
            p = bw_cpymem(p, "Server: bulwark\r\n",
                          sizeof("Server: bulwark\r\n") - 1);
        }
    }

    if (r->headers_out.date == NULL) {
        p = bw_cpymem(p, "Date: ", 6);
        p = bw_cpymem(p, bw_cached_http_time.data, bw_cached_http_time.len);
        *p++ = '\r'; *p++ = '\n';
    }

    if (r->headers_out.content_type.len) {
        p = bw_cpymem(p, "Content-Type: ", 14);
        p = bw_cpymem(p, r->headers_out.content_type.data,
                      r->headers_out.content_type.len);
        if (r->headers_out.charset.len) {
            p = bw_cpymem(p, "; charset=", 10);
            p = bw_cpymem(p, r->headers_out.charset.data,
                          r->headers_out.charset.len);
        }
        *p++ = '\r'; *p++ = '\n';
    }

    if (r->headers_out.content_length == NULL
        && r->headers_out.content_length_n >= 0)
    {
        p = bw_cpymem(p, "Content-Length: ", 16);
        p = bw_sprint_uint(p, (uint64_t) r->headers_out.content_length_n);
        *p++ = '\r'; *p++ = '\n';
    }

    if (r->headers_out.last_modified == NULL
        && r->headers_out.last_modified_time != -1)
    {
        p = bw_cpymem(p, "Last-Modified: ", 15);
        p = bw_http_time(p, r->headers_out.last_modified_time);
        *p++ = '\r'; *p++ = '\n';
    }

    /* the list's line is counted above with the same length */
    if (location) {
        p = bw_cpymem(p, "Location: ", 10);
        p = bw_cpymem(p, location->value.data, location->value.len);
        *p++ = '\r'; *p++ = '\n';
    }

    if (r->chunked) {
        p = bw_cpymem(p, "Transfer-Encoding: chunked\r\n", 28);
    }

    if (r->headers_out.status == BW_HTTP_SWITCHING_PROTOCOLS) {
        /* the tunnel's answer: the client needs both this and the
         * upstream's Upgrade to take it (RFC 9110 7.8) */
        p = bw_cpymem(p, "Connection: upgrade\r\n", 21);
    } else if (r->keepalive) {
        p = bw_cpymem(p, "Connection: keep-alive\r\n", 24);
        if (clcf->keepalive_header) {
            p = bw_slprintf(p, last, "Keep-Alive: timeout=%lld\r\n",
                            (long long) clcf->keepalive_header);
        }
    } else {
        p = bw_cpymem(p, "Connection: close\r\n", 19);
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
        if (h[i].hash == 0 || &h[i] == location) {
            continue;
        }
        p = bw_cpymem(p, h[i].key.data, h[i].key.len);
        *p++ = ':'; *p++ = ' ';
        p = bw_cpymem(p, h[i].value.data, h[i].value.len);
        *p++ = '\r'; *p++ = '\n';
    }

    *p++ = '\r'; *p++ = '\n';
    b->last = p;

    r->header_size = b->last - b->pos;

    if (r->header_only) {
        b->last_buf = 1;
    }

    out.buf = b;
    out.next = NULL;

    bw_log_debug(c->log, "http header:\n%.*s", (int) (b->last - b->pos),
                 b->pos);
    (void) c;

    /* straight to the writer: body filters must not see the header */
    return bw_http_write_filter(r, &out);
}

static bw_int_t
bw_http_header_filter_init(bw_conf_t *cf)
{
    bw_http_top_header_filter = bw_http_header_filter;
    return BW_OK;
}
