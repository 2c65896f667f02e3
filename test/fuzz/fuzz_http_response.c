/*
 * libFuzzer target: an upstream's response head (status line, then
 * header lines) and a chunked body, as the proxy will read them.
 */

#include <bw_http.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char             *buf, *p, *end, *d;
    size_t              dlen;
    bw_int_t            rc;
    bw_http_status_t    st;
    bw_http_request_t   r;
    bw_http_chunked_t   ch;

    buf = malloc(size ? size : 1);
    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data, size);
    end = buf + size;

    if (bw_http_parse_status_line(buf, end, &st, &p) == BW_OK) {
        if (st.code < 100 || st.code > 999 || p > end
            || st.text.data + st.text.len > end)
        {
            __builtin_trap();
        }

        memset(&r, 0, sizeof(r));
        do {
            rc = bw_http_parse_header_line(&r, &p, end, 1);
        } while (rc == BW_OK);

        if (rc == BW_HTTP_PARSE_HEADER_DONE) {
            memset(&ch, 0, sizeof(ch));
            while (p < end) {
                rc = bw_http_parse_chunked(&ch, &p, end, &d, &dlen);
                if (rc != BW_OK) {
                    break;
                }
                if (d < buf || d + dlen > end) {
                    __builtin_trap();
                }
            }
        }
    }

    free(buf);
    return 0;
}
