/*
 * Escaping of file names for the listings, and the UTF-8 counting that
 * lines up the HTML page's columns. nginx's rules exactly, so that the
 * same directory gives the same bytes: what a client or a script parsing
 * nginx's listing expects.
 */

#include "bw_http_autoindex.h"

static const u_char  bw_hex[] = "0123456789ABCDEF";

size_t
bw_http_autoindex_html_len(u_char *src, size_t size)
{
    size_t  n;

    for (n = 0; size; size--, src++) {
        switch (*src) {
        case '<':
        case '>':
            n += sizeof("&lt;") - 2;
            break;
        case '&':
            n += sizeof("&amp;") - 2;
            break;
        case '"':
            n += sizeof("&quot;") - 2;
            break;
        default:
            break;
        }
    }

    return n;
}

u_char *
bw_http_autoindex_html_escape(u_char *dst, u_char *src, size_t size)
{
    for ( /* void */ ; size; size--, src++) {
        switch (*src) {
        case '<':
            dst = bw_cpymem(dst, "&lt;", 4);
            break;
        case '>':
            dst = bw_cpymem(dst, "&gt;", 4);
            break;
        case '&':
            dst = bw_cpymem(dst, "&amp;", 5);
            break;
        case '"':
            dst = bw_cpymem(dst, "&quot;", 6);
            break;
        default:
            *dst++ = *src;
        }
    }

    return dst;
}

/* a name is one path segment of the link: everything that could mean
 * something else there (":" would read as a scheme) is escaped */
static bw_uint_t
bw_http_autoindex_unreserved(u_char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
           || (ch >= '0' && ch <= '9')
           || ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

size_t
bw_http_autoindex_uri_len(u_char *src, size_t size)
{
    size_t  n;

    for (n = 0; size; size--, src++) {
        if (!bw_http_autoindex_unreserved(*src)) {
            n += 2;
        }
    }

    return n;
}

u_char *
bw_http_autoindex_uri_escape(u_char *dst, u_char *src, size_t size)
{
    for ( /* void */ ; size; size--, src++) {
        if (bw_http_autoindex_unreserved(*src)) {
            *dst++ = *src;
        } else {
            *dst++ = '%';
            *dst++ = bw_hex[*src >> 4];
            *dst++ = bw_hex[*src & 0xf];
        }
    }

    return dst;
}

static u_char
bw_http_autoindex_json_short(u_char ch)
{
    switch (ch) {
    case '\n': return 'n';
    case '\r': return 'r';
    case '\t': return 't';
    case '\b': return 'b';
    case '\f': return 'f';
    default:   return 0;
    }
}

size_t
bw_http_autoindex_json_len(u_char *src, size_t size)
{
    size_t  n;

    for (n = 0; size; size--, src++) {
        if (*src == '\\' || *src == '"') {
            n++;
        } else if (*src <= 0x1f) {
            n += bw_http_autoindex_json_short(*src)
                 ? 1 : sizeof("\\u001F") - 2;
        }
    }

    return n;
}

u_char *
bw_http_autoindex_json_escape(u_char *dst, u_char *src, size_t size)
{
    u_char  s;

    for ( /* void */ ; size; size--, src++) {
        if (*src > 0x1f) {
            if (*src == '\\' || *src == '"') {
                *dst++ = '\\';
            }
            *dst++ = *src;
            continue;
        }

        *dst++ = '\\';
        s = bw_http_autoindex_json_short(*src);
        if (s) {
            *dst++ = s;
        } else {
            dst = bw_cpymem(dst, "u00", 3);
            *dst++ = bw_hex[*src >> 4];
            *dst++ = bw_hex[*src & 0xf];
        }
    }

    return dst;
}

/*
 * One character at *p (n bytes left): its code point, or a value above
 * 0x10ffff when the bytes are not UTF-8. As nginx, a continuation byte
 * is any byte >= 0x80, and an overlong form is refused.
 */
static uint32_t
bw_http_autoindex_utf8_decode(u_char **p, size_t n)
{
    size_t    more;
    uint32_t  u, min;

    u = **p;

    if (u >= 0xf0) {
        u &= 0x07;
        min = 0x10000;
        more = 3;
    } else if (u >= 0xe0) {
        u &= 0x0f;
        min = 0x800;
        more = 2;
    } else if (u >= 0xc2) {
        u &= 0x1f;
        min = 0x80;
        more = 1;
    } else {
        (*p)++;
        return 0xffffffff;
    }

    if (n - 1 < more) {
        return 0xfffffffe;
    }

    (*p)++;

    while (more--) {
        if (**p < 0x80) {
            return 0xffffffff;
        }
        u = (u << 6) | (**p & 0x3f);
        (*p)++;
    }

    return u >= min ? u : 0xffffffff;
}

size_t
bw_http_autoindex_utf8_length(u_char *p, size_t len)
{
    u_char  *last;
    size_t   n;

    last = p + len;

    for (n = 0; p < last; n++) {
        if (*p < 0x80) {
            p++;
            continue;
        }

        if (bw_http_autoindex_utf8_decode(&p, last - p) > 0x10ffff) {
            return len;
        }
    }

    return n;
}

u_char *
bw_http_autoindex_utf8_copy(u_char *dst, u_char *src, size_t n, size_t len)
{
    u_char  *next;

    if (n == 0) {
        return dst;
    }

    while (--n && len) {
        if (*src < 0x80) {
            if (*src == '\0') {
                break;
            }
            *dst++ = *src++;
            len--;
            continue;
        }

        next = src;
        if (bw_http_autoindex_utf8_decode(&next, len) > 0x10ffff) {
            break;
        }

        len -= next - src;
        while (src < next) {
            *dst++ = *src++;
        }
    }

    return dst;
}
