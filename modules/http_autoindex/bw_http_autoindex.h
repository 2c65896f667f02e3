/*
 * autoindex: what the directory reader hands to the page builders, and
 * the escaping they share.
 */

#ifndef BW_HTTP_AUTOINDEX_H
#define BW_HTTP_AUTOINDEX_H

#include <bw_http.h>

#define BW_HTTP_AUTOINDEX_HTML   0
#define BW_HTTP_AUTOINDEX_JSON   1
#define BW_HTTP_AUTOINDEX_JSONP  2
#define BW_HTTP_AUTOINDEX_XML    3

/* the width of the name column of the HTML page, in characters */
#define BW_HTTP_AUTOINDEX_NAME_LEN  50

typedef struct {
    bw_str_t     name;        /* NUL-terminated: sorted with strcmp() */
    size_t       escape;      /* extra bytes of the name's escaping */
    size_t       escape_html;
    size_t       utf_len;     /* in characters when the page is UTF-8 */
    time_t       mtime;
    off_t        size;
    unsigned     dir:1;
    unsigned     file:1;
} bw_http_autoindex_entry_t;

typedef struct {
    bw_flag_t    enable;
    bw_uint_t    format;
    bw_flag_t    localtime;
    bw_flag_t    exact_size;
} bw_http_autoindex_loc_conf_t;

bw_buf_t *bw_http_autoindex_html(bw_http_request_t *r,
    bw_http_autoindex_loc_conf_t *alcf, bw_array_t *entries);
bw_buf_t *bw_http_autoindex_json(bw_http_request_t *r, bw_array_t *entries,
    bw_str_t *callback);
bw_buf_t *bw_http_autoindex_xml(bw_http_request_t *r, bw_array_t *entries);

/* Each pair: the extra bytes the escaping needs, and the escaping
 * (returning the end). html: & < > " as entities; uri: all but
 * RFC 3986's unreserved as %XX; json: \" \\ and control characters. */
size_t bw_http_autoindex_html_len(u_char *src, size_t size);
u_char *bw_http_autoindex_html_escape(u_char *dst, u_char *src, size_t size);
size_t bw_http_autoindex_uri_len(u_char *src, size_t size);
u_char *bw_http_autoindex_uri_escape(u_char *dst, u_char *src, size_t size);
size_t bw_http_autoindex_json_len(u_char *src, size_t size);
u_char *bw_http_autoindex_json_escape(u_char *dst, u_char *src, size_t size);

/* UTF-8: the length in characters (in bytes if it is not valid UTF-8),
 * and a copy of at most n - 1 characters that stops before the first
 * invalid sequence, as nginx's ngx_utf8_cpystrn(). */
size_t bw_http_autoindex_utf8_length(u_char *p, size_t len);
u_char *bw_http_autoindex_utf8_copy(u_char *dst, u_char *src, size_t n,
    size_t len);

#endif
