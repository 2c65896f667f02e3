/*
 * libFuzzer target: an upstream's response as the proxy reads it, through
 * the proxy module's own callbacks: status line and header (interim 1xx
 * responses, the Content-Length / Transfer-Encoding checks), fed in two
 * reads, then the body framing (length, chunked decoded in place, or to
 * the close), also in two reads. No sockets: a request is put together
 * by hand around a copy of the input.
 */

#include <bw_http_proxy.h>

#define FUZZ_CTX_SLOTS  256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bw_log_t  fuzz_log;      /* level 0: nothing is written */

static void
fuzz_check_buf(bw_buf_t *b, u_char *start, u_char *end)
{
    if (b->pos < start || b->last > end || b->pos > b->last) {
        __builtin_trap();
    }
}

static void
fuzz_body(bw_http_request_t *r, bw_http_upstream_t *u, u_char *end,
    size_t split)
{
    u_char    *start;
    size_t     n;
    bw_buf_t   b;

    if (u->input_filter_init(r) != BW_OK) {
        return;
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
    if (u->length < -1) {
        __builtin_trap();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                    *buf, *end;
    size_t                     split;
    bw_int_t                   rc;
    bw_pool_t                 *pool;
    bw_connection_t           *c;
    bw_http_request_t         *r;
    bw_http_upstream_t        *u;
    bw_http_proxy_ctx_t       *ctx;
    bw_http_proxy_loc_conf_t  *plcf;

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
    ctx = bw_pcalloc(pool, sizeof(bw_http_proxy_ctx_t));
    plcf = bw_pcalloc(pool, sizeof(bw_http_proxy_loc_conf_t));
    if (r == NULL || c == NULL || u == NULL || ctx == NULL || plcf == NULL) {
        goto done;
    }
    r->ctx = bw_pcalloc(pool, FUZZ_CTX_SLOTS * sizeof(void *));
    if (r->ctx == NULL
        || bw_http_proxy_module.ctx_index >= FUZZ_CTX_SLOTS
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
    bw_http_set_ctx(r, ctx, bw_http_proxy_module);
    u->headers_in.content_length_n = -1;

    if (bw_http_proxy_setup_upstream(r, plcf) != BW_OK) {
        goto done;
    }

    /* the header arrives in two reads, split where the input says */
    split = size ? data[size / 2] % (size + 1) : 0;
    u->buffer.start = buf;
    u->buffer.pos = buf;
    u->buffer.last = buf + split;
    u->buffer.end = end;

    rc = u->process_header(r);
    if (rc == BW_AGAIN) {
        u->buffer.last = end;
        rc = u->process_header(r);
    }

    if (rc == BW_OK) {
        fuzz_check_buf(&u->buffer, buf, end);
        if (u->headers_in.status_n < 100 || u->headers_in.status_n > 999
            || (u->headers_in.chunked && u->headers_in.content_length))
        {
            __builtin_trap();
        }
        fuzz_body(r, u, end, size ? data[0] : 0);

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
