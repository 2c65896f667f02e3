/*
 * libFuzzer target: the Range header parser of the range filter on
 * arbitrary bytes, against bodies of chosen lengths (the first byte
 * picks one). Whatever the header, the ranges it yields lie inside the
 * body, in no more than BW_HTTP_RANGE_MAX of them, and add up to no
 * more than the body. Built only with the http_range module.
 */

#include <bw_http_range.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char           *buf;
    off_t             len, total;
    bw_int_t          rc;
    bw_uint_t         i, n;
    bw_http_range_t   ranges[BW_HTTP_RANGE_MAX];

    if (size < 2) {
        return 0;
    }

    switch (data[0] & 3) {
    case 0:
        len = data[1];
        break;
    case 1:
        len = 10000;
        break;
    case 2:
        len = BW_MAX_OFF_T_VALUE;
        break;
    default:
        len = 0;
        break;
    }
    data += 2;
    size -= 2;

    /* a copy of exactly the header: the parser must not read past it */
    buf = malloc(size ? size : 1);
    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data, size);

    n = 0;
    rc = bw_http_range_parse(buf, size, len, ranges, &n);

    if (rc == BW_OK) {
        if (n == 0 || n > BW_HTTP_RANGE_MAX) {
            __builtin_trap();
        }
        total = 0;
        for (i = 0; i < n; i++) {
            if (ranges[i].start < 0 || ranges[i].start >= ranges[i].end
                || ranges[i].end > len)
            {
                __builtin_trap();
            }
            total += ranges[i].end - ranges[i].start;
            if (total > len) {
                __builtin_trap();
            }
        }

    } else if (rc != BW_DECLINED && rc != BW_HTTP_RANGE_NOT_SATISFIABLE) {
        __builtin_trap();
    }

    /* nothing but "bytes=" (any case) starts a set the parser takes */
    if (rc != BW_DECLINED
        && (size < 6 || bw_strncasecmp(buf, (u_char *) "bytes=", 6) != 0))
    {
        __builtin_trap();
    }

    free(buf);
    return 0;
}
