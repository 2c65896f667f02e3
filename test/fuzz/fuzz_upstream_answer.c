/*
 * libFuzzer target: an application's answer as the upstream framework
 * reads it for the gateway modules (uwsgi, SCGI: an HTTP/1.x status
 * line or a CGI header, interim answers, the framing checks) or for
 * FastCGI's STDOUT (a CGI header alone), fed in two reads, then the
 * body framing in two reads. The first byte picks the parser. No
 * sockets: a request is put together by hand around a copy of the
 * input.
 */

#include <bw_http.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bw_log_t  fuzz_log;      /* level 0: nothing is written */

static void
fuzz_check_buf(bw_buf_t *b, u_char *start, u_char *end)
{
    if (b->pos < start || b->last > end || b->pos > b->last) {
        __builtin_trap();
    }
}

static bw_int_t
fuzz_parse(bw_http_request_t *r, bw_http_upstream_t *u,
    bw_http_upstream_cgi_parse_t *st, bw_uint_t gateway)
{
    return gateway ? bw_http_upstream_parse_gateway(r, u, st)
                   : bw_http_upstream_parse_cgi(r, u, st, 0);
}

static void
fuzz_body(bw_http_request_t *r, bw_http_upstream_t *u, u_char *end,
    size_t split)
{
    u_char    *start;
    size_t     n;
    bw_buf_t   b;

    if (bw_http_upstream_gateway_filter_init(r) != BW_OK) {
        return;
    }
    if (u->keepalive) {
        /* a gateway's connection is never kept */
        __builtin_trap();
    }

    start = u->buffer.pos;
    n = (size_t) (end - start);
    split = n ? split % (n + 1) : 0;

    bw_memzero(&b, sizeof(bw_buf_t));
    b.pos = start;
    b.last = start + split;
    if (u->input_filter(r, &b) != BW_OK) {
        return;
    }
    fuzz_check_buf(&b, start, start + split);

    if (u->length == 0) {
        return;
    }

    b.pos = start + split;
    b.last = end;
    if (u->input_filter(r, &b) != BW_OK) {
        return;
    }
    fuzz_check_buf(&b, start + split, end);
    if (u->length < -1 || u->keepalive) {
        __builtin_trap();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                        *buf, *end;
    size_t                         split;
    bw_int_t                       rc;
    bw_uint_t                      gateway;
    bw_pool_t                     *pool;
    bw_connection_t               *c;
    bw_http_request_t             *r;
    bw_http_upstream_t            *u;
    bw_http_upstream_cgi_parse_t   st;

    if (size == 0) {
        return 0;
    }
    gateway = data[0] & 1;
    data++;
    size--;

    /* a copy: the parser must never read past what it was given */
    buf = malloc(size ? size : 1);
    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data, size);
    end = buf + size;

    pool = bw_create_pool(4096, &fuzz_log);
    if (pool == NULL) {
        free(buf);
        return 0;
    }

    r = bw_pcalloc(pool, sizeof(bw_http_request_t));
    c = bw_pcalloc(pool, sizeof(bw_connection_t));
    u = bw_pcalloc(pool, sizeof(bw_http_upstream_t));
    if (r == NULL || c == NULL || u == NULL
        || bw_list_init(&u->headers_in.headers, pool, 8,
                        sizeof(bw_table_elt_t)) != BW_OK)
    {
        goto done;
    }

    c->log = &fuzz_log;
    r->connection = c;
    r->pool = pool;
    r->upstream = u;
    r->method = (size % 5 == 0) ? BW_HTTP_HEAD : BW_HTTP_GET;
    u->headers_in.content_length_n = -1;
    u->input_filter = bw_http_upstream_length_filter;
    bw_memzero(&st, sizeof(bw_http_upstream_cgi_parse_t));

    /* the header arrives in two reads, split where the input says */
    split = size ? data[size / 2] % (size + 1) : 0;
    u->buffer.start = buf;
    u->buffer.pos = buf;
    u->buffer.last = buf + split;
    u->buffer.end = end;

    rc = fuzz_parse(r, u, &st, gateway);
    if (rc == BW_AGAIN) {
        u->buffer.last = end;
        rc = fuzz_parse(r, u, &st, gateway);
    }

    if (rc == BW_OK) {
        fuzz_check_buf(&u->buffer, buf, end);
        if (u->headers_in.status_n < 100 || u->headers_in.status_n > 999
            || (u->headers_in.chunked && u->headers_in.content_length)
            || (!gateway && u->headers_in.chunked))
        {
            __builtin_trap();
        }
        if (gateway) {
            fuzz_body(r, u, end, size ? data[0] : 0);
        }

    } else if (rc != BW_AGAIN && rc != BW_HTTP_UPSTREAM_INVALID_HEADER
               && rc != BW_ERROR)
    {
        __builtin_trap();
    }

done:
    bw_destroy_pool(pool);
    free(buf);
    return 0;
}
