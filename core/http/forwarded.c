/*
 * The client's address as X-Forwarded-For reports it, read from the
 * right across every such header line (the last line last), for realip
 * and geo: the last address, or with "recursive" the first one from the
 * right that is not a trusted proxy. A malformed entry ends the walk
 * with the last good address.
 */

#include <bw_http.h>

#define BW_HTTP_FORWARDED_MAX_LINES  16

bw_int_t
bw_http_forwarded_addr(bw_table_elt_t *h, bw_array_t *proxies,
    bw_uint_t recursive, bw_sockaddr_t *sa, socklen_t *socklen)
{
    u_char          *start, *end, *p;
    socklen_t        len;
    bw_uint_t        n, found;
    bw_sockaddr_t    try;
    bw_table_elt_t  *list[BW_HTTP_FORWARDED_MAX_LINES];

    for (n = 0; h && n < BW_HTTP_FORWARDED_MAX_LINES; h = h->next) {
        list[n++] = h;
    }

    found = 0;

    while (n--) {
        start = list[n]->value.data;
        end = start + list[n]->value.len;

        while (end > start) {
            while (end > start && (end[-1] == ' ' || end[-1] == ','
                                   || end[-1] == '\t'))
            {
                end--;
            }
            if (end == start) {
                break;
            }
            for (p = end; p > start && p[-1] != ',' && p[-1] != ' '
                          && p[-1] != '\t'; p--)
            {
                /* void */
            }

            if (bw_parse_addr_port(p, end - p, &try, &len) != BW_OK) {
                return found ? BW_OK : BW_DECLINED;
            }

            *sa = try;
            if (socklen) {
                *socklen = len;
            }
            found = 1;

            if (!recursive || !bw_cidr_match_list(proxies, &try.sockaddr)) {
                return BW_OK;
            }

            end = p;
        }
    }

    return found ? BW_OK : BW_DECLINED;
}
