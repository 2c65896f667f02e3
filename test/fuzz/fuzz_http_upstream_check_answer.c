/*
 * libFuzzer target: a health check probe's reading of an upstream's
 * answer (status line, headers, a body plain or chunked) on arbitrary
 * bytes. Whatever a peer sends: the reader stays inside the bytes it is
 * given (an exact-size copy), a look before the end (eof 0) leaves the
 * bytes as they were, and a whole answer has a three-digit status and
 * headers and a body inside the buffer, the body no longer than the
 * 256 KiB a match sees. Built only with the http_upstream_check module.
 */

#include "bw_http_upstream_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
bw_fuzz_inside(bw_str_t *s, u_char *buf, size_t size)
{
    if (s->len && (s->data < buf || s->data + s->len > buf + size)) {
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char               *buf;
    bw_int_t              rc;
    bw_http_hc_answer_t   a;

    buf = malloc(size ? size : 1);
    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data, size);

    bw_memzero(&a, sizeof(a));
    rc = bw_http_hc_parse_answer(buf, size, 0, &a);
    if (memcmp(buf, data, size) != 0) {
        /* a look before the end moved the bytes: the next read breaks */
        abort();
    }

    rc = bw_http_hc_parse_answer(buf, size, 1, &a);
    if (rc == BW_OK) {
        if (a.status < 100 || a.status > 999
            || a.body.len > BW_HC_BODY_MAX)
        {
            abort();
        }
        bw_fuzz_inside(&a.headers, buf, size);
        bw_fuzz_inside(&a.body, buf, size);
    } else if (rc != BW_ERROR) {
        /* at the end an answer is whole or is not HTTP */
        abort();
    }

    free(buf);
    return 0;
}
