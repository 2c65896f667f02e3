/*
 * The records of a FastCGI response, byte by byte: a record's header may
 * be split anywhere across reads, and so may its content and padding.
 * A pure function over bytes (unit-tested and fuzzed): it says what the
 * next piece is and leaves what to do with it to the caller, never
 * copies, never allocates.
 *
 * Only what an application sends to a web server is accepted: STDOUT,
 * STDERR and END_REQUEST, of request 1, in protocol version 1. Anything
 * else is a broken or hostile peer, not something to skip.
 */

#include <bw_http_fastcgi.h>

bw_int_t
bw_http_fastcgi_parse(bw_http_fastcgi_parser_t *st, u_char **pos,
    u_char *last, bw_str_t *out)
{
    u_char  *p;
    size_t   n;

    p = *pos;

    while (p < last || st->state == bw_fcgi_st_content
                    || st->state == bw_fcgi_st_skip_padding
                    || st->state == bw_fcgi_st_done)
    {
        switch (st->state) {

        case bw_fcgi_st_version:
            if (*p++ != 1) {
                *pos = p;
                return BW_HTTP_FASTCGI_BAD_VERSION;
            }
            st->state = bw_fcgi_st_type;
            break;

        case bw_fcgi_st_type:
            st->type = *p++;
            if (st->type != BW_HTTP_FASTCGI_STDOUT
                && st->type != BW_HTTP_FASTCGI_STDERR
                && st->type != BW_HTTP_FASTCGI_END_REQUEST)
            {
                *pos = p;
                return BW_HTTP_FASTCGI_BAD_TYPE;
            }
            st->state = bw_fcgi_st_request_id_hi;
            break;

        case bw_fcgi_st_request_id_hi:
            if (*p++ != 0) {
                *pos = p;
                return BW_HTTP_FASTCGI_BAD_ID;
            }
            st->state = bw_fcgi_st_request_id_lo;
            break;

        case bw_fcgi_st_request_id_lo:
            if (*p++ != BW_HTTP_FASTCGI_REQUEST_ID) {
                *pos = p;
                return BW_HTTP_FASTCGI_BAD_ID;
            }
            st->state = bw_fcgi_st_length_hi;
            break;

        case bw_fcgi_st_length_hi:
            st->length = (size_t) *p++ << 8;
            st->state = bw_fcgi_st_length_lo;
            break;

        case bw_fcgi_st_length_lo:
            st->length |= *p++;
            st->state = bw_fcgi_st_padding;
            break;

        case bw_fcgi_st_padding:
            st->padding = *p++;
            st->state = bw_fcgi_st_reserved;
            break;

        case bw_fcgi_st_reserved:
            p++;
            st->state = bw_fcgi_st_content;
            break;

        case bw_fcgi_st_content:
            if (st->length == 0) {
                st->state = bw_fcgi_st_skip_padding;
                break;
            }
            if (p == last) {
                *pos = p;
                return BW_HTTP_FASTCGI_NEED;
            }

            n = (size_t) (last - p);
            if (n > st->length) {
                n = st->length;
            }
            st->length -= n;

            if (st->type == BW_HTTP_FASTCGI_END_REQUEST) {
                /* appStatus and protocolStatus: nothing to act on */
                p += n;
                break;
            }

            out->data = p;
            out->len = n;
            p += n;
            *pos = p;

            return st->type == BW_HTTP_FASTCGI_STDOUT
                   ? BW_HTTP_FASTCGI_STDOUT_DATA
                   : BW_HTTP_FASTCGI_STDERR_DATA;

        case bw_fcgi_st_skip_padding:
            n = (size_t) (last - p);
            if (n > st->padding) {
                n = st->padding;
            }
            p += n;
            st->padding -= n;

            if (st->padding) {
                *pos = p;
                return BW_HTTP_FASTCGI_NEED;
            }

            if (st->type == BW_HTTP_FASTCGI_END_REQUEST) {
                st->state = bw_fcgi_st_done;
                break;
            }
            st->state = bw_fcgi_st_version;
            break;

        case bw_fcgi_st_done:
            *pos = p;
            return BW_HTTP_FASTCGI_END;
        }
    }

    *pos = p;
    return BW_HTTP_FASTCGI_NEED;
}
