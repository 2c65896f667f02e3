/*
 * libFuzzer target: an HTTP/2 stream's request body as the body reader
 * gets it. DATA frames of any sizes arrive between reads of any sizes;
 * a body of no announced length is given as chunks. What the chunked
 * decoder (or, with a length, the reader) gets back must be exactly the
 * bytes that came, ending with the last chunk. No sockets, no session.
 *
 * Input: byte 0 picks chunked (bit 0); then pairs (op, n): an odd op
 * appends the next n input bytes as a DATA frame, an even op reads with
 * room for n + 1 bytes.
 */

#include <bw_http_v2.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bw_log_t  fuzz_log;      /* level 0: nothing is written */

typedef struct {
    bw_http_chunked_t   ch;
    u_char             *dec;
    size_t              len;
    bw_uint_t           done;
} fuzz_reader_t;

/* what a read gave, decoded as the body reader would */
static void
fuzz_take(bw_http_v2_stream_t *s, fuzz_reader_t *rd, u_char *raw, size_t n,
    size_t cap)
{
    u_char    *p, *d;
    size_t     dlen;
    bw_int_t   rc;

    if (!s->chunked) {
        if (rd->len + n > cap) {
            __builtin_trap();
        }
        memcpy(rd->dec + rd->len, raw, n);
        rd->len += n;
        return;
    }

    p = raw;
    while (p < raw + n) {
        if (rd->done) {
            __builtin_trap();       /* bytes after the last chunk */
        }
        rc = bw_http_parse_chunked(&rd->ch, &p, raw + n, &d, &dlen);
        if (rc == BW_OK) {
            if (rd->len + dlen > cap) {
                __builtin_trap();
            }
            memcpy(rd->dec + rd->len, d, dlen);
            rd->len += dlen;
            continue;
        }
        if (rc == BW_DONE) {
            rd->done = 1;
            continue;
        }
        if (rc == BW_AGAIN) {
            break;
        }
        __builtin_trap();           /* framing the decoder refuses */
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char               *expect;
    u_char                raw[512];
    size_t                i, n, got, body, elen, rounds;
    bw_pool_t            *pool;
    bw_connection_t       fc;
    fuzz_reader_t         rd;
    bw_http_v2_stream_t   s;

    if (size < 1) {
        return 0;
    }

    pool = bw_create_pool(4096, &fuzz_log);
    expect = malloc(size);
    memset(&rd, 0, sizeof(rd));
    rd.dec = malloc(size);
    if (pool == NULL || expect == NULL || rd.dec == NULL) {
        goto done;
    }

    memset(&s, 0, sizeof(s));
    memset(&fc, 0, sizeof(fc));
    fc.log = &fuzz_log;
    s.fc = &fc;
    s.chunked = data[0] & 1;
    /* a small window, so that it fills up */
    s.in = bw_create_temp_buf(pool, 300);
    if (s.in == NULL) {
        goto done;
    }

    elen = 0;
    i = 1;

    while (i + 1 < size) {
        n = data[i + 1];
        if (data[i] & 1) {
            i += 2;
            n = bw_min(n, size - i);
            if (bw_http_v2_body_in(&s, data + i, n) == BW_OK) {
                memcpy(expect + elen, data + i, n);
                elen += n;
            }
            i += n;
            continue;
        }

        i += 2;
        got = bw_http_v2_body_give(&s, raw, n + 1, &body);
        if (got > n + 1 || body > got) {
            __builtin_trap();
        }
        fuzz_take(&s, &rd, raw, got, size);
    }

    /* the stream ends: everything, then the last chunk, comes out */
    s.in_closed = 1;
    for (rounds = 0; rounds < 100000; rounds++) {
        got = bw_http_v2_body_give(&s, raw, sizeof(raw), &body);
        if (got == 0) {
            break;
        }
        fuzz_take(&s, &rd, raw, got, size);
    }

    if (rd.len != elen || memcmp(rd.dec, expect, elen) != 0) {
        __builtin_trap();
    }
    if (s.chunked && (!rd.done || !s.last_given)) {
        __builtin_trap();
    }

done:

    free(expect);
    free(rd.dec);
    if (pool) {
        bw_destroy_pool(pool);
    }
    return 0;
}
