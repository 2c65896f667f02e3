/*
 * libFuzzer target: the request head parser (request line, header
 * lines, URI normalisation) and the chunked body decoder, on arbitrary
 * bytes. Pure functions: no sockets, no processes.
 */

#include <bw_http.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char             *buf, *p, *end, *next, *d;
    u_char              norm[8192];
    size_t              len, dlen;
    bw_int_t            rc;
    bw_http_request_t   r;
    bw_http_chunked_t   ch;

    /* copy: the parser must never read past what it was given */
    buf = malloc(size ? size : 1);
    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data, size);
    end = buf + size;

    memset(&r, 0, sizeof(r));
    rc = bw_http_parse_request_line(&r, buf, end, &next);

    if (rc == BW_OK) {
        if (r.unparsed_uri.len && r.unparsed_uri.data[0] == '/'
            && r.unparsed_uri.len <= sizeof(norm))
        {
            if (bw_http_normalize_uri(r.unparsed_uri.data,
                                      r.unparsed_uri.len, norm, &len, 1)
                == BW_OK)
            {
                /* a normalised path never climbs above the root */
                if (len >= 3 && memcmp(norm, "/..", 3) == 0
                    && (len == 3 || norm[3] == '/'))
                {
                    __builtin_trap();
                }
            }
        }

        p = next;
        for ( ;; ) {
            rc = bw_http_parse_header_line(&r, &p, end, 0);
            if (rc == BW_OK || rc == BW_DECLINED) {
                if (r.header_name_end <= r.header_name_start
                    || r.header_end < r.header_start || p > end)
                {
                    __builtin_trap();
                }
                continue;
            }
            break;
        }

        if (rc == BW_HTTP_PARSE_HEADER_DONE) {
            memset(&ch, 0, sizeof(ch));
            while (p < end) {
                rc = bw_http_parse_chunked(&ch, &p, end, &d, &dlen);
                if (rc == BW_OK) {
                    if (d < buf || d + dlen > end) {
                        __builtin_trap();
                    }
                    continue;
                }
                break;
            }
        }
    }

    free(buf);
    return 0;
}
