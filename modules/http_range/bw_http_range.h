/*
 * The range filter's parser of the Range header, declared here so that
 * its unit tests and fuzz target can call it without a request.
 */

#ifndef BW_HTTP_RANGE_H
#define BW_HTTP_RANGE_H

#include <bw_http.h>

/* more ranges than this cost more than the whole body: it is sent */
#define BW_HTTP_RANGE_MAX  32

typedef struct {
    off_t       start;
    off_t       end;        /* exclusive */
    bw_str_t    header;     /* multipart part header */
} bw_http_range_t;

bw_int_t bw_http_range_parse(u_char *p, size_t n, off_t len,
    bw_http_range_t *ranges, bw_uint_t *nranges);

#endif
