/*
 * The HTML listing, byte for byte nginx's: a <pre> block with one line
 * per entry, the name padded to 50 characters (cut with "..>" when
 * longer), the modification time and the size. Names are counted in
 * characters only when the response says charset=utf-8 (the charset
 * filter has run by then); otherwise in bytes, as nginx does.
 */

#include "bw_http_autoindex.h"

static const char  *bw_http_autoindex_months[] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

static const char  bw_http_autoindex_title[] =
    "<html>" BW_CRLF
    "<head><title>Index of ";

static const char  bw_http_autoindex_header[] =
    "</title></head>" BW_CRLF
    "<body>" BW_CRLF
    "<h1>Index of ";

static const char  bw_http_autoindex_parent[] =
    "</h1><hr><pre><a href=\"../\">../</a>" BW_CRLF;

static const char  bw_http_autoindex_tail[] =
    "</pre><hr></body>" BW_CRLF
    "</html>" BW_CRLF;

/* what one line may take beyond its name and the name's escaping: the
 * link's markup and "/", the padding or "..&gt;", the date (a year of up
 * to 6 digits) and a 20-digit size */
#define BW_HTTP_AUTOINDEX_LINE  (sizeof("<a href=\"/\"></a>") - 1           \
                                 + BW_HTTP_AUTOINDEX_NAME_LEN               \
                                 + sizeof("..&gt;") - 1                     \
                                 + sizeof(" 28-Sep-197000 12:00 ") - 1      \
                                 + 20 + 2)

static u_char *
bw_http_autoindex_name(u_char *p, bw_http_autoindex_entry_t *e)
{
    u_char  *last;
    size_t   len, n;

    len = e->utf_len;

    if (e->name.len != len) {
        /* multibyte UTF-8: cut by characters, then escape what was cut */
        n = (len > BW_HTTP_AUTOINDEX_NAME_LEN)
            ? BW_HTTP_AUTOINDEX_NAME_LEN - 3 + 1
            : BW_HTTP_AUTOINDEX_NAME_LEN + 1;

        last = bw_http_autoindex_utf8_copy(p, e->name.data, n, e->name.len);
        if (e->escape_html) {
            last = bw_http_autoindex_html_escape(p, e->name.data, last - p);
        }
        p = last;

    } else if (e->escape_html) {
        n = (len > BW_HTTP_AUTOINDEX_NAME_LEN)
            ? BW_HTTP_AUTOINDEX_NAME_LEN - 3 : len;
        p = bw_http_autoindex_html_escape(p, e->name.data, n);

    } else {
        n = bw_min(len, (size_t) BW_HTTP_AUTOINDEX_NAME_LEN - 3);
        p = bw_cpymem(p, e->name.data, n);
        if (len <= BW_HTTP_AUTOINDEX_NAME_LEN) {
            p = bw_cpymem(p, e->name.data + n, len - n);
        }
    }

    if (len > BW_HTTP_AUTOINDEX_NAME_LEN) {
        return bw_cpymem(p, "..&gt;</a>", sizeof("..&gt;</a>") - 1);
    }

    if (e->dir && len < BW_HTTP_AUTOINDEX_NAME_LEN) {
        *p++ = '/';
        len++;
    }

    p = bw_cpymem(p, "</a>", sizeof("</a>") - 1);
    memset(p, ' ', BW_HTTP_AUTOINDEX_NAME_LEN - len);

    return p + BW_HTTP_AUTOINDEX_NAME_LEN - len;
}

/* nginx's rounding: K from 10000 bytes, M and G from 1 MiB and 1 GiB,
 * to the nearest unit with halves going up */
static u_char *
bw_http_autoindex_size(u_char *p, off_t length)
{
    off_t  unit;
    char   scale;

    if (length >= 1024 * 1024 * 1024) {
        unit = 1024 * 1024 * 1024;
        scale = 'G';
    } else if (length >= 1024 * 1024) {
        unit = 1024 * 1024;
        scale = 'M';
    } else if (length > 9999) {
        unit = 1024;
        scale = 'K';
    } else {
        return bw_slprintf(p, p + 20, " %6lld", (long long) length);
    }

    return bw_slprintf(p, p + 20, "%6lld%c",
                       (long long) (length / unit
                                    + (length % unit >= unit / 2)),
                       scale);
}

static u_char *
bw_http_autoindex_line(u_char *p, bw_http_autoindex_entry_t *e,
    bw_http_autoindex_loc_conf_t *alcf, time_t gmtoff)
{
    u_char     field[32];
    time_t     t;
    struct tm  tm;

    p = bw_cpymem(p, "<a href=\"", sizeof("<a href=\"") - 1);
    p = bw_http_autoindex_uri_escape(p, e->name.data, e->name.len);
    if (e->dir) {
        *p++ = '/';
    }
    *p++ = '"';
    *p++ = '>';

    p = bw_http_autoindex_name(p, e);
    *p++ = ' ';

    t = e->mtime + gmtoff;
    if (gmtime_r(&t, &tm) == NULL) {
        memset(&tm, 0, sizeof(struct tm));
        tm.tm_mday = 1;
        tm.tm_year = 70;
    }

    /* formatted aside: a year longer than the line reserves is cut
     * rather than written over the next line */
    p = bw_cpymem(p, field,
                  bw_slprintf(field, field + sizeof(" 28-Sep-197000 12:00 "),
                              "%02d-%s-%d %02d:%02d ", tm.tm_mday,
                              bw_http_autoindex_months[tm.tm_mon],
                              tm.tm_year + 1900, tm.tm_hour, tm.tm_min)
                  - field);

    if (alcf->exact_size) {
        if (e->dir) {
            p = bw_cpymem(p, "                  -",
                          sizeof("                  -") - 1);
        } else {
            p = bw_slprintf(p, p + 21, "%19lld", (long long) e->size);
        }

    } else if (e->dir) {
        p = bw_cpymem(p, "      -", sizeof("      -") - 1);

    } else {
        p = bw_http_autoindex_size(p, e->size);
    }

    *p++ = '\r';
    *p++ = '\n';

    return p;
}

/*
 * The time zone's offset now, applied to every date: nginx shifts by the
 * offset of the current time, not of each file's, and so does this.
 */
static time_t
bw_http_autoindex_gmtoff(void)
{
    time_t     now;
    struct tm  tm;

    now = bw_time_sec;
    if (localtime_r(&now, &tm) == NULL) {
        return 0;
    }

    return (time_t) (tm.tm_gmtoff / 60) * 60;
}

bw_buf_t *
bw_http_autoindex_html(bw_http_request_t *r,
    bw_http_autoindex_loc_conf_t *alcf, bw_array_t *entries)
{
    size_t                      len, line, uri_escape;
    time_t                      gmtoff;
    bw_buf_t                   *b;
    bw_uint_t                   i, utf8;
    bw_http_autoindex_entry_t  *e;

    utf8 = bw_str_caseeq_lit(&r->headers_out.charset, "utf-8");

    uri_escape = bw_http_autoindex_html_len(r->uri.data, r->uri.len);

    len = sizeof(bw_http_autoindex_title) - 1
          + sizeof(bw_http_autoindex_header) - 1
          + 2 * (r->uri.len + uri_escape)
          + sizeof(bw_http_autoindex_parent) - 1
          + sizeof(bw_http_autoindex_tail) - 1;

    e = entries->elts;

    for (i = 0; i < entries->nelts; i++) {
        e[i].escape = bw_http_autoindex_uri_len(e[i].name.data,
                                                e[i].name.len);
        e[i].escape_html = bw_http_autoindex_html_len(e[i].name.data,
                                                      e[i].name.len);
        e[i].utf_len = utf8
                       ? bw_http_autoindex_utf8_length(e[i].name.data,
                                                       e[i].name.len)
                       : e[i].name.len;

        line = 2 * e[i].name.len + e[i].escape + e[i].escape_html
               + BW_HTTP_AUTOINDEX_LINE;

        if (len > (size_t) -1 - line) {
            return NULL;
        }
        len += line;
    }

    b = bw_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NULL;
    }

    b->last = bw_cpymem(b->last, bw_http_autoindex_title,
                        sizeof(bw_http_autoindex_title) - 1);
    b->last = bw_http_autoindex_html_escape(b->last, r->uri.data, r->uri.len);
    b->last = bw_cpymem(b->last, bw_http_autoindex_header,
                        sizeof(bw_http_autoindex_header) - 1);
    b->last = bw_http_autoindex_html_escape(b->last, r->uri.data, r->uri.len);
    b->last = bw_cpymem(b->last, bw_http_autoindex_parent,
                        sizeof(bw_http_autoindex_parent) - 1);

    gmtoff = alcf->localtime ? bw_http_autoindex_gmtoff() : 0;

    for (i = 0; i < entries->nelts; i++) {
        b->last = bw_http_autoindex_line(b->last, &e[i], alcf, gmtoff);
    }

    b->last = bw_cpymem(b->last, bw_http_autoindex_tail,
                        sizeof(bw_http_autoindex_tail) - 1);

    return b;
}
