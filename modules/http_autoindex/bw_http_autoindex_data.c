/*
 * The listings for programs: JSON (JSONP with a callback) and XML, in
 * nginx's layout, one entry a line. Times are GMT whatever
 * autoindex_localtime says, as nginx: RFC 1123 in JSON, ISO 8601 in XML.
 * Only regular files carry a size.
 */

#include "bw_http_autoindex.h"

static const char *
bw_http_autoindex_type(bw_http_autoindex_entry_t *e)
{
    return e->dir ? "directory" : e->file ? "file" : "other";
}

bw_buf_t *
bw_http_autoindex_json(bw_http_request_t *r, bw_array_t *entries,
    bw_str_t *callback)
{
    size_t                      len, line;
    bw_buf_t                   *b;
    bw_uint_t                   i;
    const char                 *type;
    bw_http_autoindex_entry_t  *e;

    len = sizeof("[" BW_CRLF "]") - 1;

    if (callback) {
        len += sizeof("/* callback */" BW_CRLF "();") - 1 + callback->len;
    }

    e = entries->elts;

    for (i = 0; i < entries->nelts; i++) {
        e[i].escape = bw_http_autoindex_json_len(e[i].name.data,
                                                 e[i].name.len);

        line = sizeof(BW_CRLF "{ \"name\":\"\", \"type\":\"directory\""
                      ", \"mtime\":\"\", \"size\": },") - 1
               + e[i].name.len + e[i].escape + BW_HTTP_TIME_LEN + 20;

        if (len > (size_t) -1 - line) {
            return NULL;
        }
        len += line;
    }

    b = bw_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NULL;
    }

    if (callback) {
        b->last = bw_cpymem(b->last, "/* callback */" BW_CRLF,
                            sizeof("/* callback */" BW_CRLF) - 1);
        b->last = bw_cpymem(b->last, callback->data, callback->len);
        *b->last++ = '(';
    }

    *b->last++ = '[';

    for (i = 0; i < entries->nelts; i++) {
        if (i) {
            *b->last++ = ',';
        }

        b->last = bw_cpymem(b->last, BW_CRLF "{ \"name\":\"",
                            sizeof(BW_CRLF "{ \"name\":\"") - 1);
        b->last = bw_http_autoindex_json_escape(b->last, e[i].name.data,
                                                e[i].name.len);

        type = bw_http_autoindex_type(&e[i]);
        b->last = bw_cpymem(b->last, "\", \"type\":\"",
                            sizeof("\", \"type\":\"") - 1);
        b->last = bw_cpymem(b->last, type, strlen(type));

        b->last = bw_cpymem(b->last, "\", \"mtime\":\"",
                            sizeof("\", \"mtime\":\"") - 1);
        b->last = bw_http_time(b->last, e[i].mtime);
        *b->last++ = '"';

        if (e[i].file) {
            b->last = bw_cpymem(b->last, ", \"size\":",
                                sizeof(", \"size\":") - 1);
            b->last = bw_sprint_uint(b->last, (uint64_t) e[i].size);
        }

        b->last = bw_cpymem(b->last, " }", sizeof(" }") - 1);
    }

    b->last = bw_cpymem(b->last, BW_CRLF "]", sizeof(BW_CRLF "]") - 1);

    if (callback) {
        *b->last++ = ')';
        *b->last++ = ';';
    }

    return b;
}

bw_buf_t *
bw_http_autoindex_xml(bw_http_request_t *r, bw_array_t *entries)
{
    u_char                      field[sizeof("1986-12-31T10:00:00Z")];
    size_t                      len, line;
    time_t                      t;
    bw_buf_t                   *b;
    bw_uint_t                   i;
    struct tm                   tm;
    const char                 *type;
    bw_http_autoindex_entry_t  *e;

    static const char  head[] = "<?xml version=\"1.0\"?>" BW_CRLF
                                "<list>" BW_CRLF;
    static const char  tail[] = "</list>" BW_CRLF;

    len = sizeof(head) - 1 + sizeof(tail) - 1;

    e = entries->elts;

    for (i = 0; i < entries->nelts; i++) {
        e[i].escape = bw_http_autoindex_html_len(e[i].name.data,
                                                 e[i].name.len);

        line = sizeof("<directory mtime=\"\" size=\"\"></directory>" BW_CRLF)
               - 1 + sizeof(field) - 1
               + e[i].name.len + e[i].escape + 20;

        if (len > (size_t) -1 - line) {
            return NULL;
        }
        len += line;
    }

    b = bw_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NULL;
    }

    b->last = bw_cpymem(b->last, head, sizeof(head) - 1);

    for (i = 0; i < entries->nelts; i++) {
        type = bw_http_autoindex_type(&e[i]);

        *b->last++ = '<';
        b->last = bw_cpymem(b->last, type, strlen(type));
        b->last = bw_cpymem(b->last, " mtime=\"", sizeof(" mtime=\"") - 1);

        t = e[i].mtime;
        if (gmtime_r(&t, &tm) == NULL) {
            memset(&tm, 0, sizeof(struct tm));
            tm.tm_mday = 1;
            tm.tm_year = 70;
        }

        /* formatted aside: an odd year is cut, never written past */
        b->last = bw_cpymem(b->last, field,
                            bw_slprintf(field, field + sizeof(field),
                                        "%4d-%02d-%02dT%02d:%02d:%02dZ",
                                        tm.tm_year + 1900, tm.tm_mon + 1,
                                        tm.tm_mday, tm.tm_hour, tm.tm_min,
                                        tm.tm_sec)
                            - field);

        if (e[i].file) {
            b->last = bw_cpymem(b->last, "\" size=\"",
                                sizeof("\" size=\"") - 1);
            b->last = bw_sprint_uint(b->last, (uint64_t) e[i].size);
        }

        *b->last++ = '"';
        *b->last++ = '>';

        b->last = bw_http_autoindex_html_escape(b->last, e[i].name.data,
                                                e[i].name.len);

        *b->last++ = '<';
        *b->last++ = '/';
        b->last = bw_cpymem(b->last, type, strlen(type));
        *b->last++ = '>';
        *b->last++ = '\r';
        *b->last++ = '\n';
    }

    b->last = bw_cpymem(b->last, tail, sizeof(tail) - 1);

    return b;
}
