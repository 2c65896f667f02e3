/*
 * String helpers. Everything here is bounded by an explicit length:
 * request data is never NUL-terminated.
 */

#include <bw_core.h>

void
bw_strlow(u_char *dst, u_char *src, size_t n)
{
    while (n--) {
        *dst++ = bw_tolower(*src);
        src++;
    }
}

bw_int_t
bw_strncasecmp(u_char *s1, u_char *s2, size_t n)
{
    bw_uint_t  c1, c2;

    while (n--) {
        c1 = bw_tolower(*s1);
        c2 = bw_tolower(*s2);
        if (c1 != c2) {
            return c1 - c2;
        }
        s1++;
        s2++;
    }

    return 0;
}

bw_int_t
bw_str_eq(bw_str_t *a, bw_str_t *b)
{
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

u_char *
bw_strlcasestrn(u_char *s1, u_char *last, u_char *s2, size_t n)
{
    if (n == 0) {
        return s1;
    }

    for ( /* void */ ; s1 + n <= last; s1++) {
        if (bw_strncasecmp(s1, s2, n) == 0) {
            return s1;
        }
    }

    return NULL;
}

/* Copies at most n - 1 bytes and terminates; returns the terminator. */
u_char *
bw_cpystrn(u_char *dst, u_char *src, size_t n)
{
    if (n == 0) {
        return dst;
    }

    while (--n) {
        *dst = *src;
        if (*dst == '\0') {
            return dst;
        }
        dst++;
        src++;
    }

    *dst = '\0';
    return dst;
}

bw_int_t
bw_atoi(u_char *line, size_t n)
{
    return (bw_int_t) bw_atoof(line, n);
}

off_t
bw_atoof(u_char *line, size_t n)
{
    off_t  value, cutoff, cutlim;

    if (n == 0) {
        return BW_ERROR;
    }

    cutoff = BW_MAX_OFF_T_VALUE / 10;
    cutlim = BW_MAX_OFF_T_VALUE % 10;

    for (value = 0; n--; line++) {
        if (*line < '0' || *line > '9') {
            return BW_ERROR;
        }
        if (value >= cutoff && (value > cutoff || *line - '0' > cutlim)) {
            return BW_ERROR;
        }
        value = value * 10 + (*line - '0');
    }

    return value;
}

u_char *
bw_hex_dump(u_char *dst, u_char *src, size_t len)
{
    static const u_char  hex[] = "0123456789abcdef";

    while (len--) {
        *dst++ = hex[*src >> 4];
        *dst++ = hex[*src++ & 0xf];
    }

    return dst;
}

size_t
bw_escape_log(u_char *dst, u_char *src, size_t size, bw_uint_t type)
{
    static const u_char  hex[] = "0123456789ABCDEF";
    u_char               ch, esc;
    size_t               n;

    if (type == BW_ESCAPE_NONE) {
        if (dst) {
            memcpy(dst, src, size);
        }
        return size;
    }

    for (n = 0; size; size--, src++) {
        ch = *src;

        if (type == BW_ESCAPE_JSON) {
            if (ch == '"' || ch == '\\') {
                if (dst) {
                    *dst++ = '\\';
                    *dst++ = ch;
                }
                n += 2;
                continue;
            }
            if (ch < 0x20) {
                /* JSON's short forms where it has one, as nginx */
                switch (ch) {
                case '\n': esc = 'n'; break;
                case '\r': esc = 'r'; break;
                case '\t': esc = 't'; break;
                case '\b': esc = 'b'; break;
                case '\f': esc = 'f'; break;
                default: esc = 0; break;
                }
                if (esc) {
                    if (dst) {
                        *dst++ = '\\';
                        *dst++ = esc;
                    }
                    n += 2;
                    continue;
                }
                if (dst) {
                    dst = bw_cpymem(dst, "\\u00", 4);
                    *dst++ = hex[ch >> 4];
                    *dst++ = hex[ch & 0xf];
                }
                n += 6;
                continue;
            }
        } else if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\') {
            if (dst) {
                *dst++ = '\\';
                *dst++ = 'x';
                *dst++ = hex[ch >> 4];
                *dst++ = hex[ch & 0xf];
            }
            n += 4;
            continue;
        }

        if (dst) {
            *dst++ = ch;
        }
        n++;
    }

    return n;
}

bw_int_t
bw_hex_digit(u_char ch)
{
    u_char  c;

    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    c = (u_char) (ch | 0x20);
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

u_char *
bw_sprint_uint(u_char *p, uint64_t n)
{
    u_char   tmp[20], *t;

    t = tmp + sizeof(tmp);
    do {
        *--t = (u_char) ('0' + n % 10);
        n /= 10;
    } while (n);

    return bw_cpymem(p, t, tmp + sizeof(tmp) - t);
}

u_char *
bw_sprint_hex(u_char *p, uint64_t n)
{
    static const u_char  hex[] = "0123456789abcdef";
    u_char               tmp[16], *t;

    t = tmp + sizeof(tmp);
    do {
        *--t = hex[n & 0xf];
        n >>= 4;
    } while (n);

    return bw_cpymem(p, t, tmp + sizeof(tmp) - t);
}

u_char *
bw_vslprintf(u_char *buf, u_char *last, const char *fmt, va_list args)
{
    int  n;

    if (buf >= last) {
        return buf;
    }

    n = vsnprintf((char *) buf, last - buf, fmt, args);
    if (n < 0) {
        return buf;
    }

    /* vsnprintf counts what it would have written; clamp to the room. */
    if ((size_t) n >= (size_t) (last - buf)) {
        return last - 1 > buf ? last - 1 : buf;
    }

    return buf + n;
}

u_char *
bw_slprintf(u_char *buf, u_char *last, const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    va_start(args, fmt);
    p = bw_vslprintf(buf, last, fmt, args);
    va_end(args);

    return p;
}

bw_uint_t
bw_levenshtein(u_char *a, size_t alen, u_char *b, size_t blen)
{
    bw_uint_t  row[64], prev, cur, i, j, cost;

    if (alen >= 64 || blen >= 64) {
        return (bw_uint_t) -1;
    }

    for (j = 0; j <= blen; j++) {
        row[j] = j;
    }

    for (i = 1; i <= alen; i++) {
        prev = row[0];
        row[0] = i;
        for (j = 1; j <= blen; j++) {
            cost = (a[i - 1] == b[j - 1]) ? 0 : 1;
            cur = bw_min(bw_min(row[j] + 1, row[j - 1] + 1), prev + cost);
            prev = row[j];
            row[j] = cur;
        }
    }

    return row[blen];
}

/*
 * Escaping again for a request line. BW_URI_ESCAPE_PATH (a decoded
 * path): space, '"', '#', '%', '?', controls and non-ASCII bytes become
 * %XX.
 * BW_URI_ESCAPE_ARGS (a part of the arguments, nginx's set): space, '"',
 * '#', '%', '&', '+', ';', '?', controls and non-ASCII bytes.
 */
static bw_uint_t
bw_needs_escape(u_char ch, bw_uint_t type)
{
    if (ch <= 0x20 || ch >= 0x7f || ch == '"' || ch == '#' || ch == '%'
        || ch == '?')
    {
        return 1;
    }

    return type == BW_URI_ESCAPE_ARGS
           && (ch == '&' || ch == '+' || ch == ';');
}

size_t
bw_escape_uri_len(u_char *src, size_t size, bw_uint_t type)
{
    size_t  n;

    for (n = 0; size; size--, src++) {
        if (bw_needs_escape(*src, type)) {
            n += 2;
        }
    }

    return n;
}

u_char *
bw_escape_uri(u_char *dst, u_char *src, size_t size, bw_uint_t type)
{
    static const u_char  hex[] = "0123456789ABCDEF";

    for ( /* void */ ; size; size--, src++) {
        if (bw_needs_escape(*src, type)) {
            *dst++ = '%';
            *dst++ = hex[*src >> 4];
            *dst++ = hex[*src & 0xf];
        } else {
            *dst++ = *src;
        }
    }

    return dst;
}
