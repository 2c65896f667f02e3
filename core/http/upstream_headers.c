/*
 * From the upstream's response header to the client's: each line as a
 * module's parser finds it, kept and interpreted; the header lines
 * copied (less the hidden and hop-by-hop ones, Location and Refresh
 * through proxy_redirect), and X-Accel-Redirect, whose URI is decoded
 * and checked before the request goes to it.
 */

#include <bw_http.h>

static bw_uint_t bw_http_upstream_safe_uri(bw_str_t *uri);
static bw_int_t bw_http_upstream_unescape_uri(bw_http_request_t *r,
    bw_str_t *uri);

/*
 * X-Accel-Redirect, as nginx: the upstream names a URI or a named
 * location that answers instead of it (a download the application
 * allowed, served from disk). Content-Type, Set-Cookie,
 * Content-Disposition, Cache-Control, Expires and Accept-Ranges of the
 * upstream's answer go with it; its body is not read, and the
 * connection to it is closed. The URI is percent-decoded (as nginx);
 * one with "." or ".." segments or a NUL after that gets 404: the
 * upstream chooses the location, not a way out of it.
 */
void
bw_http_upstream_x_accel_redirect(bw_http_request_t *r,
    bw_http_upstream_t *u)
{
    bw_str_t  uri, args;

    uri = u->headers_in.x_accel_redirect->value;

    if (bw_http_upstream_copy_headers(r, u, BW_HTTP_UPSTREAM_COPY_REDIRECT)
        != BW_OK)
    {
        return;
    }

    /* the upstream is done with: closed, its state kept for the log */
    bw_http_upstream_finalize_request(r, u, BW_DONE);

    if (uri.len && uri.data[0] == '@') {
        (void) bw_http_named_location(r, &uri);
        bw_http_finalize_request(r, BW_DONE);
        return;
    }

    bw_http_split_args(r, &uri, &args);

    if (bw_http_upstream_unescape_uri(r, &uri) != BW_OK) {
        bw_http_finalize_request(r, BW_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (!bw_http_upstream_safe_uri(&uri)) {
        bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                     "unsafe URI \"%.*s\" in X-Accel-Redirect",
                     (int) uri.len, uri.data);
        bw_http_finalize_request(r, BW_HTTP_NOT_FOUND);
        return;
    }

    if (r->method != BW_HTTP_HEAD) {
        r->method = BW_HTTP_GET;
        bw_str_set(&r->method_name, "GET");
    }

    (void) bw_http_internal_redirect(r, &uri, &args);
    bw_http_finalize_request(r, BW_DONE);
}

/* %XX decoded, into a copy (the header's own bytes stay for the log) */
static bw_int_t
bw_http_upstream_unescape_uri(bw_http_request_t *r, bw_str_t *uri)
{
    u_char    *p, *d, *end;
    bw_int_t   hi, lo;

    if (memchr(uri->data, '%', uri->len) == NULL) {
        return BW_OK;
    }

    d = bw_pnalloc(r->pool, uri->len);
    if (d == NULL) {
        return BW_ERROR;
    }

    p = uri->data;
    end = p + uri->len;
    uri->data = d;

    while (p < end) {
        if (*p == '%' && end - p >= 3
            && (hi = bw_hex_digit(p[1])) >= 0
            && (lo = bw_hex_digit(p[2])) >= 0)
        {
            *d++ = (u_char) (hi << 4 | lo);
            p += 3;
            continue;
        }
        *d++ = *p++;
    }

    uri->len = d - uri->data;
    return BW_OK;
}

/* A path from "/", without NUL and without "." or ".." segments. */
static bw_uint_t
bw_http_upstream_safe_uri(bw_str_t *uri)
{
    u_char  *p, *end, *seg;

    if (uri->len == 0 || uri->data[0] != '/'
        || memchr(uri->data, '\0', uri->len))
    {
        return 0;
    }

    end = uri->data + uri->len;
    for (p = uri->data; p < end; p = seg) {
        p++;                                    /* past the "/" */
        seg = memchr(p, '/', end - p);
        if (seg == NULL) {
            seg = end;
        }
        if ((seg - p == 1 && p[0] == '.')
            || (seg - p == 2 && p[0] == '.' && p[1] == '.'))
        {
            return 0;
        }
    }

    return 1;
}

/*
 * A header line of this hop only (RFC 9110 7.6.1) or of the body's
 * framing: never passed on as it came, nor stored by the cache.
 */
bw_uint_t
bw_http_upstream_hop_header(bw_table_elt_t *h)
{
    size_t   n;
    u_char  *p;

    n = h->key.len;
    p = h->lowcase_key;

    return (n == 10 && memcmp(p, "connection", 10) == 0)
           || (n == 10 && memcmp(p, "keep-alive", 10) == 0)
           || (n == 17 && memcmp(p, "transfer-encoding", 17) == 0)
           || (n == 7 && memcmp(p, "upgrade", 7) == 0)
           || (n == 14 && memcmp(p, "content-length", 14) == 0)
           || (n == 16 && memcmp(p, "proxy-connection", 16) == 0)
           || (n == 7 && memcmp(p, "trailer", 7) == 0);
}

/*
 * The upstream's header lines to the response, less the hidden and the
 * hop-by-hop ones: Content-Length and Content-Type go to their fields,
 * Location and Refresh pass through proxy_redirect. For
 * X-Accel-Redirect (COPY_REDIRECT) only those nginx
 * carries over to the location that answers instead: Content-Type,
 * Set-Cookie, Content-Disposition, Cache-Control, Expires and
 * Accept-Ranges; for an error page in place of a 401 (COPY_CHALLENGES)
 * only the WWW-Authenticate lines.
 */
bw_int_t
bw_http_upstream_copy_headers(bw_http_request_t *r, bw_http_upstream_t *u,
    bw_uint_t which)
{
    size_t           n;
    bw_int_t         rc;
    u_char          *p;
    bw_uint_t        i;
    bw_list_part_t  *part;
    bw_table_elt_t  *h, *ho, **ph;

    part = &u->headers_in.headers.part;
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

        if (bw_hash_find(&u->conf->hide_headers_hash, h[i].hash,
                         h[i].lowcase_key, h[i].key.len))
        {
            continue;
        }

        n = h[i].key.len;
        p = h[i].lowcase_key;

        if ((bw_http_upstream_hop_header(&h[i])
             && !(u->upgrade && n == 7 && memcmp(p, "upgrade", 7) == 0))
            || (n == 13 && memcmp(p, "accept-ranges", 13) == 0
                && u->conf->force_ranges))
        {
            continue;       /* under proxy_force_ranges: the range
                               filter says it */
        }

        if (which == BW_HTTP_UPSTREAM_COPY_CHALLENGES
            && !(n == 16 && memcmp(p, "www-authenticate", 16) == 0))
        {
            continue;
        }

        if (which == BW_HTTP_UPSTREAM_COPY_REDIRECT
            && !((n == 12 && memcmp(p, "content-type", 12) == 0)
                 || (n == 10 && memcmp(p, "set-cookie", 10) == 0)
                 || (n == 19 && memcmp(p, "content-disposition", 19) == 0)
                 || (n == 13 && memcmp(p, "cache-control", 13) == 0)
                 || (n == 7 && memcmp(p, "expires", 7) == 0)
                 || (n == 13 && memcmp(p, "accept-ranges", 13) == 0)))
        {
            continue;
        }

        if (n == 12 && memcmp(p, "content-type", 12) == 0) {
            r->headers_out.content_type = h[i].value;
            continue;
        }

        ho = bw_list_push(&r->headers_out.headers);
        if (ho == NULL) {
            bw_http_upstream_finalize_request(r, u,
                                          BW_HTTP_INTERNAL_SERVER_ERROR);
            return BW_ERROR;
        }
        *ho = h[i];
        ho->next = NULL;

        switch (n) {
        case 4:
            if (memcmp(p, "etag", 4) == 0) {
                r->headers_out.etag = ho;
            } else if (memcmp(p, "date", 4) == 0) {
                r->headers_out.date = ho;
            }
            break;
        case 6:
            if (memcmp(p, "server", 6) == 0) {
                r->headers_out.server = ho;
            }
            break;
        case 7:
            if (memcmp(p, "expires", 7) == 0) {
                if (r->headers_out.expires) {
                    /* which one a cache would take is anyone's guess:
                     * the first, as nginx since 1.23 */
                    bw_log_error(BW_LOG_WARN, r->connection->log, 0,
                                 "upstream sent duplicate header line: "
                                 "\"%.*s: %.*s\", ignoring it",
                                 (int) ho->key.len, ho->key.data,
                                 (int) ho->value.len, ho->value.data);
                    ho->hash = 0;
                    break;
                }
                r->headers_out.expires = ho;
            } else if (memcmp(p, "refresh", 7) == 0 && u->rewrite_redirect) {
                r->headers_out.refresh = ho;
                if (u->rewrite_redirect(r, ho, 0) == BW_ERROR) {
                    goto failed;
                }
            }
            break;
        case 8:
            if (memcmp(p, "location", 8) != 0) {
                break;
            }
            /* as nginx: only a Location that proxy_redirect rewrote, or
             * an absolute one, is the response's own (and made
             * absolute by the header filter); a relative one from the
             * upstream goes as it came */
            if (u->rewrite_redirect) {
                rc = u->rewrite_redirect(r, ho, 0);
                if (rc == BW_ERROR) {
                    goto failed;
                }
                if (rc == BW_OK) {
                    r->headers_out.location = ho;
                }
            } else if (ho->value.len && ho->value.data[0] != '/') {
                r->headers_out.location = ho;
            }
            break;
        case 10:
            if (memcmp(p, "set-cookie", 10) == 0 && u->rewrite_cookie
                && u->rewrite_cookie(r, ho) == BW_ERROR)
            {
                goto failed;
            }
            break;
        case 13:
            if (memcmp(p, "last-modified", 13) == 0) {
                r->headers_out.last_modified = ho;
                r->headers_out.last_modified_time =
                    bw_parse_http_time(ho->value.data, ho->value.len);
            } else if (memcmp(p, "accept-ranges", 13) == 0) {
                r->headers_out.accept_ranges = ho;
            } else if (memcmp(p, "cache-control", 13) == 0) {
                r->headers_out.cache_control = ho;
            } else if (memcmp(p, "content-range", 13) == 0) {
                r->headers_out.content_range = ho;
            }
            break;
        case 16:
            if (memcmp(p, "content-encoding", 16) == 0) {
                r->headers_out.content_encoding = ho;
            } else if (memcmp(p, "www-authenticate", 16) == 0) {
                /* a challenge per scheme: all of them, in order */
                for (ph = &r->headers_out.www_authenticate; *ph;
                     ph = &(*ph)->next)
                {
                    /* void */
                }
                *ph = ho;
            }
            break;
        }
    }

    return BW_OK;

failed:

    bw_http_upstream_finalize_request(r, u, BW_HTTP_INTERNAL_SERVER_ERROR);
    return BW_ERROR;
}

/*
 * One response header line that the module's parser found (r's
 * header_name_start ... header_end), kept and interpreted: the body's
 * framing (one Content-Length, or chunked and nothing else), Connection,
 * and the X-Accel ones. The line, if hp is not NULL, for the module.
 */
bw_int_t
bw_http_upstream_header_line(bw_http_request_t *r, bw_http_upstream_t *u,
    bw_table_elt_t **hp)
{
    off_t                           n;
    size_t                          len;
    u_char                         *lc;
    bw_table_elt_t                 *h;
    bw_http_upstream_headers_in_t  *hi;

    hi = &u->headers_in;

    h = bw_list_push(&hi->headers);
    if (h == NULL) {
        return BW_ERROR;
    }

    len = r->header_name_end - r->header_name_start;
    h->key.data = r->header_name_start;
    h->key.len = len;
    h->value.data = r->header_start;
    h->value.len = r->header_end - r->header_start;
    h->next = NULL;

    if (bw_http_header_lowcase(r, h) != BW_OK) {
        return BW_ERROR;
    }
    lc = h->lowcase_key;

    if (hp) {
        *hp = h;
    }

    if (len == 14 && memcmp(lc, "content-length", 14) == 0) {
        if (hi->content_length) {
            /* even the same number twice: as nginx since 1.23, one
             * length or none (a hop that took the other is a smuggler's
             * friend) */
            bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                         "upstream sent duplicate header line: \"%.*s: "
                         "%.*s\", previous value: \"%.*s: %.*s\"",
                         (int) h->key.len, h->key.data,
                         (int) h->value.len, h->value.data,
                         (int) hi->content_length->key.len,
                         hi->content_length->key.data,
                         (int) hi->content_length->value.len,
                         hi->content_length->value.data);
            return BW_HTTP_UPSTREAM_INVALID_HEADER;
        }
        n = bw_atoof(h->value.data, h->value.len);
        if (n < 0) {
            bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                         "upstream sent invalid \"Content-Length\" header: "
                         "\"%.*s\"", (int) h->value.len, h->value.data);
            return BW_HTTP_UPSTREAM_INVALID_HEADER;
        }
        hi->content_length = h;
        hi->content_length_n = n;

    } else if (len == 17 && memcmp(lc, "transfer-encoding", 17) == 0) {
        if (hi->transfer_encoding
            || !bw_str_caseeq_lit(&h->value, "chunked"))
        {
            bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                         "upstream sent unknown \"Transfer-Encoding\": "
                         "\"%.*s\"", (int) h->value.len, h->value.data);
            return BW_HTTP_UPSTREAM_INVALID_HEADER;
        }
        hi->transfer_encoding = h;
        hi->chunked = 1;

    } else if (len == 10 && memcmp(lc, "connection", 10) == 0) {
        if (bw_strlcasestrn(h->value.data, h->value.data + h->value.len,
                            (u_char *) "close", 5))
        {
            hi->connection_close = 1;
        }
        if (bw_strlcasestrn(h->value.data, h->value.data + h->value.len,
                            (u_char *) "upgrade", 7))
        {
            hi->upgrade = 1;
        }

    } else if (len == 17 && memcmp(lc, "x-accel-buffering", 17) == 0) {
        hi->x_accel_buffering = h;

    } else if (len == 18 && memcmp(lc, "x-accel-limit-rate", 18) == 0) {
        hi->x_accel_limit_rate = h;

    } else if (len == 16 && memcmp(lc, "x-accel-redirect", 16) == 0) {
        hi->x_accel_redirect = h;
    }

    return BW_OK;
}

/*
 * An HTTP/1.x response header in u->buffer: an HTTP upstream's, a uwsgi
 * application's, or the one a cache entry stores. Resumable: st says
 * where the last call stopped. Interim (1xx) answers are skipped; a
 * header whose framing could mean two things is invalid.
 */
bw_int_t
bw_http_upstream_parse_http(bw_http_request_t *r, bw_http_upstream_t *u,
    bw_http_upstream_http_parse_t *ctx)
{
    u_char    *p, *next;
    bw_int_t   rc;

    for ( ;; ) {

        if (!ctx->status_done) {
            p = ctx->pos ? ctx->pos : u->buffer.pos;

            rc = bw_http_parse_status_line(p, u->buffer.last, &ctx->status,
                                           &next);
            if (rc == BW_AGAIN) {
                ctx->pos = p;
                return BW_AGAIN;
            }
            if (rc != BW_OK) {
                bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                             "upstream sent no valid HTTP/1.x header");
                return BW_HTTP_UPSTREAM_INVALID_HEADER;
            }

            ctx->status_done = 1;
            ctx->pos = next;

            u->headers_in.status_n = ctx->status.code;
            u->headers_in.status_line = ctx->status.text;
            if (ctx->status.http_version < BW_HTTP_VERSION_11) {
                u->headers_in.connection_close = 1;
            }
        }

        p = ctx->pos;

        for ( ;; ) {
            rc = bw_http_parse_header_line(r, &p, u->buffer.last, 1);

            if (rc == BW_OK) {
                rc = bw_http_upstream_header_line(r, u, NULL);
                if (rc != BW_OK) {
                    return rc;
                }
                ctx->pos = p;
                continue;
            }

            if (rc == BW_DECLINED) {
                ctx->pos = p;
                continue;
            }

            if (rc == BW_AGAIN) {
                return BW_AGAIN;
            }

            if (rc == BW_HTTP_PARSE_HEADER_DONE) {
                break;
            }

            bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                         "upstream sent invalid header");
            return BW_HTTP_UPSTREAM_INVALID_HEADER;
        }

        ctx->pos = p;

        if (u->headers_in.status_n >= 100 && u->headers_in.status_n < 200
            && u->headers_in.status_n != BW_HTTP_SWITCHING_PROTOCOLS)
        {
            /* an interim response: the real one follows */
            u->buffer.pos = p;
            ctx->status_done = 0;
            ctx->pos = NULL;
            bw_memzero(&u->headers_in, sizeof(bw_http_upstream_headers_in_t));
            u->headers_in.content_length_n = -1;
            if (bw_list_init(&u->headers_in.headers, r->pool, 8,
                             sizeof(bw_table_elt_t)) != BW_OK)
            {
                return BW_ERROR;
            }
            continue;
        }

        break;
    }

    u->buffer.pos = p;

    if (u->headers_in.chunked && u->headers_in.content_length) {
        bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                     "upstream sent \"Content-Length\" and "
                     "\"Transfer-Encoding\" headers at the same time");
        return BW_HTTP_UPSTREAM_INVALID_HEADER;
    }

    if (u->headers_in.status_n == BW_HTTP_SWITCHING_PROTOCOLS) {
        u->keepalive = 0;
        if (r->headers_in.upgrade == NULL || !u->headers_in.upgrade) {
            bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                         "upstream sent \"101 Switching Protocols\" "
                         "without an upgrade the client asked for");
            return BW_HTTP_UPSTREAM_INVALID_HEADER;
        }
        u->upgrade = 1;
    }

    return BW_OK;
}

/* "Status: 404 Not Found", or "404" */
static bw_int_t
bw_http_upstream_cgi_status(bw_http_request_t *r, bw_http_upstream_t *u,
    bw_table_elt_t *h)
{
    bw_int_t  status;

    status = h->value.len >= 3 ? bw_atoi(h->value.data, 3) : BW_ERROR;

    if (status < 100 || status > 999
        || (h->value.len > 3 && h->value.data[3] != ' '))
    {
        bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                     "upstream sent invalid status \"%.*s\"",
                     (int) h->value.len, h->value.data);
        return BW_HTTP_UPSTREAM_INVALID_HEADER;
    }

    u->headers_in.status_n = (bw_uint_t) status;
    if (h->value.len > 4) {
        u->headers_in.status_line = h->value;
    }

    return BW_OK;
}

/*
 * A CGI response header in u->buffer (FastCGI's STDOUT, SCGI's and
 * uwsgi's answers): header lines, the status from "Status:", else 302
 * with a Location, else 200. With status_line, an "HTTP/1.x" status
 * line may come first, as nginx's scgi and uwsgi modules take it.
 * Resumable: st says where the last call stopped.
 */
bw_int_t
bw_http_upstream_parse_cgi(bw_http_request_t *r, bw_http_upstream_t *u,
    bw_http_upstream_cgi_parse_t *st, bw_uint_t status_line)
{
    u_char          *p, *next;
    size_t           n;
    bw_int_t         rc;
    bw_table_elt_t  *h;

    if (st->pos == NULL) {
        st->pos = u->buffer.pos;
    }

    if (!st->first_done) {
        p = st->pos;
        n = bw_min((size_t) (u->buffer.last - p), 5);

        if (status_line && memcmp(p, "HTTP/", n) == 0) {
            if (n < 5) {
                return BW_AGAIN;
            }

            rc = bw_http_parse_status_line(p, u->buffer.last, &st->status,
                                           &next);
            if (rc == BW_AGAIN) {
                return BW_AGAIN;
            }
            if (rc != BW_OK) {
                bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                             "upstream sent invalid status line");
                return BW_HTTP_UPSTREAM_INVALID_HEADER;
            }
            st->pos = next;
            st->has_status_line = 1;
        }

        st->first_done = 1;
    }

    p = st->pos;

    for ( ;; ) {
        rc = bw_http_parse_header_line(r, &p, u->buffer.last, 1);

        if (rc == BW_OK) {
            rc = bw_http_upstream_header_line(r, u, &h);
            if (rc != BW_OK) {
                return rc;
            }
            if (h->key.len == 6 && memcmp(h->lowcase_key, "status", 6) == 0)
            {
                st->status_header = h;
            } else if (h->key.len == 8
                       && memcmp(h->lowcase_key, "location", 8) == 0)
            {
                st->location = 1;
            }
            st->pos = p;
            continue;
        }

        if (rc == BW_DECLINED) {
            st->pos = p;
            continue;
        }

        if (rc == BW_HTTP_PARSE_HEADER_DONE) {
            break;
        }

        if (rc == BW_AGAIN) {
            return BW_AGAIN;
        }

        bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                     "upstream sent invalid header");
        return BW_HTTP_UPSTREAM_INVALID_HEADER;
    }

    u->buffer.pos = p;
    st->pos = p;

    /* FastCGI's records, not the application's header, end the body
     * (uwsgi and SCGI take chunked_seen back) */
    u->headers_in.chunked_seen = u->headers_in.chunked;
    u->headers_in.chunked = 0;

    if (st->has_status_line) {
        u->headers_in.status_n = st->status.code;
        u->headers_in.status_line = st->status.text;

    } else if (st->status_header) {
        rc = bw_http_upstream_cgi_status(r, u, st->status_header);
        if (rc != BW_OK) {
            return rc;
        }

    } else if (st->location) {
        u->headers_in.status_n = BW_HTTP_MOVED_TEMPORARILY;
        bw_str_set(&u->headers_in.status_line, "302 Moved Temporarily");

    } else {
        u->headers_in.status_n = BW_HTTP_OK;
        bw_str_set(&u->headers_in.status_line, "200 OK");
    }

    return BW_OK;
}

/*
 * The answer of a uwsgi or SCGI application: an HTTP/1.x status line or
 * a CGI header (bw_http_upstream_parse_cgi), interim (1xx) answers
 * skipped, and the framing and upgrade held to the proxy's rules: both
 * Content-Length and Transfer-Encoding is an invalid header, and 101
 * only for a client that asked for an upgrade.
 */
bw_int_t
bw_http_upstream_parse_gateway(bw_http_request_t *r, bw_http_upstream_t *u,
    bw_http_upstream_cgi_parse_t *st)
{
    bw_int_t   rc;
    bw_uint_t  chunked;

    for ( ;; ) {
        /* the CGI parse forgets a chunked header: the application frames
         * its own body here, the gateway does not */
        rc = bw_http_upstream_parse_cgi(r, u, st, 1);
        if (rc != BW_OK) {
            return rc;
        }

        if (u->headers_in.status_n < 100 || u->headers_in.status_n >= 200
            || u->headers_in.status_n == BW_HTTP_SWITCHING_PROTOCOLS)
        {
            break;
        }

        /* an interim answer: the real one follows */
        bw_memzero(st, sizeof(bw_http_upstream_cgi_parse_t));
        bw_memzero(&u->headers_in, sizeof(bw_http_upstream_headers_in_t));
        u->headers_in.content_length_n = -1;
        if (bw_list_init(&u->headers_in.headers, r->pool, 8,
                         sizeof(bw_table_elt_t)) != BW_OK)
        {
            return BW_ERROR;
        }
    }

    chunked = u->headers_in.chunked_seen;

    if (chunked && u->headers_in.content_length) {
        bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                     "upstream sent \"Content-Length\" and "
                     "\"Transfer-Encoding\" headers at the same time");
        return BW_HTTP_UPSTREAM_INVALID_HEADER;
    }

    u->headers_in.chunked = chunked;

    if (u->headers_in.status_n == BW_HTTP_SWITCHING_PROTOCOLS) {
        if (r->headers_in.upgrade == NULL || !u->headers_in.upgrade) {
            bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                         "upstream sent \"101 Switching Protocols\" "
                         "without an upgrade the client asked for");
            return BW_HTTP_UPSTREAM_INVALID_HEADER;
        }
        u->upgrade = 1;
    }

    return BW_OK;
}
