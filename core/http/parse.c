/*
 * HTTP/1.x parsing: the request line, header lines, chunked bodies, URI
 * normalisation and Host validation. These are pure functions over
 * bytes (no I/O, no allocation except where a pool is passed) so that
 * they are unit-tested and fuzzed directly.
 *
 * The parser is strict where leniency enables request smuggling or
 * path confusion: bare CR, obs-fold, control bytes, whitespace before
 * the colon and malformed chunk framing are all errors.
 */

#include <bw_http.h>

/* RFC 9110 token characters */
static const u_char  bw_tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
    ['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
    ['`'] = 1, ['|'] = 1, ['~'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
    ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
    ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
    ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
    ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
    ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
    ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
    ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1,
};

/* token characters to their lowercase, 0 for every other byte */
static const u_char  bw_lc_tchar[256] = {
    ['!'] = '!', ['#'] = '#', ['$'] = '$', ['%'] = '%', ['&'] = '&',
    ['\''] = '\'', ['*'] = '*', ['+'] = '+', ['-'] = '-', ['.'] = '.',
    ['^'] = '^', ['_'] = '_', ['`'] = '`', ['|'] = '|', ['~'] = '~',
    ['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4',
    ['5'] = '5', ['6'] = '6', ['7'] = '7', ['8'] = '8', ['9'] = '9',
    ['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd', ['E'] = 'e',
    ['F'] = 'f', ['G'] = 'g', ['H'] = 'h', ['I'] = 'i', ['J'] = 'j',
    ['K'] = 'k', ['L'] = 'l', ['M'] = 'm', ['N'] = 'n', ['O'] = 'o',
    ['P'] = 'p', ['Q'] = 'q', ['R'] = 'r', ['S'] = 's', ['T'] = 't',
    ['U'] = 'u', ['V'] = 'v', ['W'] = 'w', ['X'] = 'x', ['Y'] = 'y',
    ['Z'] = 'z',
    ['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd', ['e'] = 'e',
    ['f'] = 'f', ['g'] = 'g', ['h'] = 'h', ['i'] = 'i', ['j'] = 'j',
    ['k'] = 'k', ['l'] = 'l', ['m'] = 'm', ['n'] = 'n', ['o'] = 'o',
    ['p'] = 'p', ['q'] = 'q', ['r'] = 'r', ['s'] = 's', ['t'] = 't',
    ['u'] = 'u', ['v'] = 'v', ['w'] = 'w', ['x'] = 'x', ['y'] = 'y',
    ['z'] = 'z',
};

#define BW_ONES    0x0101010101010101ULL
#define BW_HIGHS   0x8080808080808080ULL

/* Does a word of eight bytes hold one below 0x20 or a DEL? (A tab
 * counts as one here; the byte loop tells.) */
static inline bw_uint_t
bw_http_word_bad(u_char *p)
{
    uint64_t  x, low, del;

    memcpy(&x, p, 8);
    low = (x - 0x20 * BW_ONES) & ~x & BW_HIGHS;
    del = ((x ^ (0x7f * BW_ONES)) - BW_ONES) & ~(x ^ (0x7f * BW_ONES))
          & BW_HIGHS;
    return (low | del) != 0;
}

/*
 * A field value may hold HTAB, SP, visible ASCII and obs-text, nothing
 * else. Eight bytes are checked at once, the last few as the line's
 * last eight (what comes before the value in the line is the name, the
 * colon and spaces); only a word that holds a byte below 0x20 or a DEL
 * is looked at byte by byte (a tab is allowed).
 */
static bw_uint_t
bw_http_value_ok(u_char *line, u_char *p, u_char *end)
{
    while (end - p >= 8) {
        if (bw_http_word_bad(p)) {
            goto bytes;
        }
        p += 8;
    }

    if (p == end || (end - line >= 8 && !bw_http_word_bad(end - 8))) {
        return 1;
    }

bytes:

    for ( /* void */ ; p < end; p++) {
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
            return 0;
        }
    }

    return 1;
}

typedef struct {
    const char  *name;
    size_t       len;
    bw_uint_t    method;
} bw_http_method_name_t;

static const bw_http_method_name_t  bw_http_methods[] = {
    { "GET", 3, BW_HTTP_GET },
    { "HEAD", 4, BW_HTTP_HEAD },
    { "POST", 4, BW_HTTP_POST },
    { "PUT", 3, BW_HTTP_PUT },
    { "DELETE", 6, BW_HTTP_DELETE },
    { "OPTIONS", 7, BW_HTTP_OPTIONS },
    { "PATCH", 5, BW_HTTP_PATCH },
    { "TRACE", 5, BW_HTTP_TRACE },
    { "CONNECT", 7, BW_HTTP_CONNECT },
    { NULL, 0, 0 }
};

bw_int_t
bw_http_parse_method(bw_str_t *name)
{
    const bw_http_method_name_t  *m;

    for (m = bw_http_methods; m->name; m++) {
        if (m->len == name->len && memcmp(m->name, name->data, m->len) == 0) {
            return (bw_int_t) m->method;
        }
    }
    return BW_HTTP_UNKNOWN;
}

/*
 * nginx's grammar of an authority in a request target: a host of
 * letters, digits, dots and hyphens, or an IP literal in brackets,
 * then ":" and at most five digits (at least one where need_port).
 * Returns the end of it (the caller says what may follow) with the
 * host's length, or NULL.
 */
static u_char *
bw_http_parse_authority(u_char *p, u_char *end, size_t *host_len,
    bw_uint_t need_port)
{
    u_char  *h, *d, c;

    h = p;

    if (p < end && *p == '[') {
        for (p++; p < end && *p != ']'; p++) {
            c = (u_char) (*p | 0x20);
            if ((c < 'a' || c > 'z') && (*p < '0' || *p > '9')
                && strchr(":.-_~!$&'()*+,;=", *p) == NULL)
            {
                return NULL;
            }
        }
        if (p == end) {
            return NULL;
        }
        p++;

    } else {
        for ( /* void */ ; p < end; p++) {
            c = (u_char) (*p | 0x20);
            if ((c < 'a' || c > 'z') && (*p < '0' || *p > '9')
                && *p != '.' && *p != '-')
            {
                break;
            }
        }
    }

    *host_len = p - h;

    if (p < end && *p == ':') {
        for (d = ++p; p < end && *p >= '0' && *p <= '9'; p++) {
            /* void */
        }
        if (p - d > 5 || (need_port && p == d)) {
            return NULL;
        }

    } else if (need_port) {
        return NULL;
    }

    return p;
}

/*
 * Parse "METHOD SP target SP HTTP/x.y CRLF" starting at p. Returns
 * BW_OK (and *next past the line), BW_AGAIN when no full line is there
 * yet, or the HTTP status to answer with.
 */
bw_int_t
bw_http_parse_request_line(bw_http_request_t *r, u_char *p, u_char *end,
    u_char **next)
{
    u_char    *lf, *le, *m, *t, *te, *v, *h;
    size_t     hl;
    bw_uint_t  i;

    /* RFC 9112 2.2: ignore empty lines before the request line */
    for (i = 0; i < 4 && p < end && (*p == '\r' || *p == '\n'); i++) {
        if (*p == '\r') {
            if (p + 1 >= end) {
                return BW_AGAIN;
            }
            if (p[1] != '\n') {
                return BW_HTTP_BAD_REQUEST;
            }
            p += 2;
        } else {
            p++;
        }
    }

    lf = memchr(p, '\n', end - p);
    if (lf == NULL) {
        return BW_AGAIN;
    }

    le = (lf > p && lf[-1] == '\r') ? lf - 1 : lf;

    if (memchr(p, '\r', le - p)) {
        return BW_HTTP_BAD_REQUEST;     /* bare CR */
    }

    r->request_line.data = p;
    r->request_line.len = le - p;

    /* method */
    for (m = p; m < le && *m != ' '; m++) {
        if ((*m < 'A' || *m > 'Z') && *m != '_' && *m != '-') {
            return BW_HTTP_BAD_REQUEST;
        }
    }
    if (m == p || m >= le || m - p > 32) {
        return BW_HTTP_BAD_REQUEST;
    }

    r->method_name.data = p;
    r->method_name.len = m - p;
    r->method = (bw_uint_t) bw_http_parse_method(&r->method_name);

    /*
     * target: no controls or DEL. Bytes above 0x7e are taken as nginx
     * takes them (raw UTF-8 from clients that do not escape); a '#'
     * starts a fragment, which $uri and $args leave out (as nginx).
     */
    t = m + 1;
    for (te = t; te < le && *te != ' '; te++) {
        if (*te < 0x21 || *te == 0x7f) {
            return BW_HTTP_BAD_REQUEST;
        }
    }
    if (te == t) {
        return BW_HTTP_BAD_REQUEST;
    }
    if (te >= le) {
        return BW_HTTP_BAD_REQUEST;     /* HTTP/0.9 is not served */
    }

    /* version */
    v = te + 1;
    if (le - v != 8 || memcmp(v, "HTTP/", 5) != 0
        || v[5] < '0' || v[5] > '9' || v[6] != '.'
        || v[7] < '0' || v[7] > '9')
    {
        return BW_HTTP_BAD_REQUEST;
    }

    r->http_protocol.data = v;
    r->http_protocol.len = 8;

    if (v[5] == '0') {
        return BW_HTTP_BAD_REQUEST;
    }
    if (v[5] > '1') {
        return BW_HTTP_VERSION_NOT_SUPPORTED;
    }
    r->http_version = (v[7] == '0') ? BW_HTTP_VERSION_10
                                    : BW_HTTP_VERSION_11;

    r->unparsed_uri.data = t;
    r->unparsed_uri.len = te - t;

    if (r->method == BW_HTTP_CONNECT) {
        /* authority-form only (RFC 9112 3.2.3), which is not served */
        h = bw_http_parse_authority(t, te, &hl, 1);
        return (h == te && hl) ? BW_HTTP_NOT_ALLOWED : BW_HTTP_BAD_REQUEST;
    }

    if (*t == '/') {
        /* origin-form */

    } else if (te - t == 1 && *t == '*') {
        if (r->method != BW_HTTP_OPTIONS) {
            return BW_HTTP_BAD_REQUEST;
        }

    } else if ((te - t > 7 && bw_strncasecmp(t, (u_char *) "http://", 7) == 0)
               || (te - t > 8
                   && bw_strncasecmp(t, (u_char *) "https://", 8) == 0))
    {
        /* absolute-form: the authority replaces Host (RFC 9112 3.2.2) */
        h = (u_char *) memchr(t, ':', te - t) + 3;
        r->schema.data = t;
        r->schema.len = h - 3 - t;
        r->host.data = h;
        h = bw_http_parse_authority(h, te, &hl, 0);
        if (h == NULL || hl == 0 || (h < te && *h != '/' && *h != '?')) {
            return BW_HTTP_BAD_REQUEST;
        }
        /* with the port: bw_http_validate_host() takes it off */
        r->host.len = h - r->host.data;
        /* "http://host" or "http://host?a": the path is "/" */
        r->unparsed_uri.data = h;
        r->unparsed_uri.len = te - h;

    } else {
        return BW_HTTP_BAD_REQUEST;
    }

    *next = lf + 1;
    return BW_OK;
}

/*
 * An upstream's status line: "HTTP/x.y NNN [reason]" ending in CRLF or
 * LF. Returns BW_OK (and *next past the line), BW_AGAIN for an
 * incomplete line, or BW_ERROR: the proxy answers that with 502.
 */
bw_int_t
bw_http_parse_status_line(u_char *p, u_char *end, bw_http_status_t *st,
    u_char **next)
{
    u_char  *lf, *le, *c;

    lf = memchr(p, '\n', end - p);
    if (lf == NULL) {
        /* a status line never needs more than a header buffer */
        return (end - p > 4096) ? BW_ERROR : BW_AGAIN;
    }

    le = (lf > p && lf[-1] == '\r') ? lf - 1 : lf;

    if (le - p < 12 || memcmp(p, "HTTP/", 5) != 0
        || p[5] < '1' || p[5] > '9' || p[6] != '.'
        || p[7] < '0' || p[7] > '9' || p[8] != ' ')
    {
        return BW_ERROR;
    }

    if (p[9] < '1' || p[9] > '9' || p[10] < '0' || p[10] > '9'
        || p[11] < '0' || p[11] > '9'
        || (le - p > 12 && p[12] != ' '))
    {
        return BW_ERROR;
    }

    for (c = p + 12; c < le; c++) {
        if ((*c < 0x20 && *c != '\t') || *c == 0x7f) {
            return BW_ERROR;
        }
    }

    st->http_version = (p[5] - '0') * 1000 + (p[7] - '0');
    st->code = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    st->text.data = p + 9;
    st->text.len = le - p - 9;

    *next = lf + 1;
    return BW_OK;
}

/*
 * One header line at *pos. Returns BW_OK with r->header_* set,
 * BW_HTTP_PARSE_HEADER_DONE at the empty line, BW_AGAIN for an
 * incomplete line, BW_DECLINED for a header to ignore (underscore in the
 * name when not allowed), or BW_HTTP_BAD_REQUEST.
 */
bw_int_t
bw_http_parse_header_line(bw_http_request_t *r, u_char **pos, u_char *end,
    bw_uint_t allow_underscores)
{
    u_char    *p, *lf, *le, *n, *v, *ve, c;
    bw_uint_t  ignore, hash, i;

    p = *pos;

    if (p >= end) {
        return BW_AGAIN;
    }

    if (*p == '\r') {
        if (p + 1 >= end) {
            return BW_AGAIN;
        }
        if (p[1] != '\n') {
            return BW_HTTP_BAD_REQUEST;
        }
        *pos = p + 2;
        return BW_HTTP_PARSE_HEADER_DONE;
    }

    if (*p == '\n') {
        *pos = p + 1;
        return BW_HTTP_PARSE_HEADER_DONE;
    }

    if (*p == ' ' || *p == '\t') {
        return BW_HTTP_BAD_REQUEST;     /* obs-fold */
    }

    lf = memchr(p, '\n', end - p);
    if (lf == NULL) {
        return BW_AGAIN;
    }
    le = (lf[-1] == '\r') ? lf - 1 : lf;

    /* lowercase and hash on the way, once; the lowercase copy wraps
     * round for long names, which callers then lowercase themselves.
     * The line's LF is no token character: it ends the loop at the
     * latest. */
    hash = 0;
    for (n = p, i = 0; ; n++, i++) {
        c = bw_lc_tchar[*n];
        if (c == 0) {
            break;
        }
        hash = bw_hash(hash, c);
        r->lowcase_header[i & (BW_HTTP_LC_HEADER_LEN - 1)] = c;
    }

    if (n == p || *n != ':') {
        return BW_HTTP_BAD_REQUEST;
    }

    ignore = !allow_underscores && memchr(p, '_', n - p) != NULL;

    r->header_name_start = p;
    r->header_name_end = n;
    r->header_hash = hash;

    for (v = n + 1; v < le && (*v == ' ' || *v == '\t'); v++) { /* void */ }
    for (ve = le; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--) {
        /* void */
    }

    if (!bw_http_value_ok(p, v, ve)) {
        return BW_HTTP_BAD_REQUEST;     /* NUL, CR, other controls */
    }

    r->header_start = v;
    r->header_end = ve;
    *pos = lf + 1;

    return ignore ? BW_DECLINED : BW_OK;
}

/*
 * Percent-decode and normalise a path: resolve "." and "..", merge
 * slashes if asked. Going above the root, a malformed escape or a
 * decoded NUL is an error. dst may be src (it never grows).
 */
bw_int_t
bw_http_normalize_uri(u_char *src, size_t len, u_char *dst, size_t *dst_len,
    bw_uint_t merge_slashes)
{
    u_char    *d, *start;
    size_t     i, n;
    bw_int_t   hi, lo;

    if (len == 0 || src[0] != '/') {
        return BW_ERROR;
    }

    /* pass 1: decode */
    for (i = 0, d = dst; i < len; i++) {
        if (src[i] == '%') {
            if (i + 2 >= len) {
                return BW_ERROR;
            }
            hi = bw_hex_digit(src[i + 1]);
            lo = bw_hex_digit(src[i + 2]);
            if (hi < 0 || lo < 0) {
                return BW_ERROR;
            }
            *d = (u_char) ((hi << 4) | lo);
            if (*d == '\0') {
                return BW_ERROR;
            }
            d++;
            i += 2;
            continue;
        }
        *d++ = src[i];
    }

    n = d - dst;
    start = dst;

    /* pass 2: dot segments and slashes, in place */
    for (i = 0, d = start; i < n; ) {
        if (start[i] == '/') {
            if (merge_slashes && d > start && d[-1] == '/') {
                i++;
                continue;
            }
            *d++ = '/';
            i++;
            continue;
        }

        if (d[-1] == '/' && start[i] == '.') {
            if (i + 1 == n || start[i + 1] == '/') {
                i += (i + 1 == n) ? 1 : 2;
                continue;
            }
            if (start[i + 1] == '.' && (i + 2 == n || start[i + 2] == '/')) {
                if (d - 1 == start) {
                    return BW_ERROR;
                }
                d--;
                while (d[-1] != '/') {
                    d--;
                }
                i += (i + 2 == n) ? 2 : 3;
                continue;
            }
        }

        *d++ = start[i++];
    }

    *dst_len = d - start;
    return BW_OK;
}

enum {
    sw_chunk_start = 0,
    sw_chunk_size,
    sw_chunk_ext,
    sw_chunk_size_lf,
    sw_chunk_data,
    sw_data_cr,
    sw_data_lf,
    sw_trailer_start,
    sw_trailer_line,
    sw_trailer_lf,
    sw_last_lf,
    sw_done
};

/*
 * The fewest bytes that can still complete a chunked body: a reader that
 * asks for no more than this never reads into a pipelined request.
 */
off_t
bw_http_chunked_min_rest(bw_http_chunked_t *ctx)
{
    switch (ctx->state) {
    case sw_chunk_start:
        return 5;                       /* "0" CRLF CRLF */
    case sw_chunk_data:
        return ctx->size + 2 + 5;
    case sw_data_cr:
        return 2 + 5;
    case sw_data_lf:
        return 1 + 5;
    case sw_done:
        return 0;
    default:
        return 1;
    }
}

/* The data of the current chunk still to come, once its size is read:
 * a body limit is enforced on what is announced, not on what arrived. */
off_t
bw_http_chunked_announced(bw_http_chunked_t *ctx)
{
    return ctx->state == sw_chunk_data ? ctx->size : 0;
}

/*
 * Chunked transfer coding, strictly: hex sizes without prefixes or
 * spaces, CRLF everywhere, sizes below 2^60. Returns BW_OK with a piece
 * of chunk data, BW_DONE after the last chunk and trailers, BW_AGAIN
 * for more input, BW_ERROR for a malformed body.
 */
bw_int_t
bw_http_parse_chunked(bw_http_chunked_t *ctx, u_char **pos, u_char *end,
    u_char **data, size_t *data_len)
{
    u_char    *p, ch;
    bw_int_t   d;
    size_t     n;

    p = *pos;

    while (p < end) {
        ch = *p;

        switch (ctx->state) {

        case sw_chunk_start:
            d = bw_hex_digit(ch);
            if (d < 0) {
                return BW_ERROR;
            }
            ctx->size = d;
            ctx->state = sw_chunk_size;
            p++;
            break;

        case sw_chunk_size:
            d = bw_hex_digit(ch);
            if (d >= 0) {
                /* the size stays below 2^60 (docs/compatibility.md) */
                if (ctx->size >= ((off_t) 1 << 56)) {
                    return BW_ERROR;
                }
                ctx->size = ctx->size * 16 + d;
                p++;
                break;
            }
            if (ch == ';') {
                ctx->state = sw_chunk_ext;
            } else if (ch == '\r') {
                ctx->state = sw_chunk_size_lf;
            } else {
                return BW_ERROR;
            }
            p++;
            break;

        case sw_chunk_ext:
            if (ch == '\r') {
                ctx->state = sw_chunk_size_lf;
            } else if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
                return BW_ERROR;
            }
            p++;
            break;

        case sw_chunk_size_lf:
            if (ch != '\n') {
                return BW_ERROR;
            }
            p++;
            ctx->state = ctx->size ? sw_chunk_data : sw_trailer_start;
            break;

        case sw_chunk_data:
            n = (size_t) bw_min((off_t) (end - p), ctx->size);
            *data = p;
            *data_len = n;
            p += n;
            ctx->size -= n;
            if (ctx->size == 0) {
                ctx->state = sw_data_cr;
            }
            *pos = p;
            return BW_OK;

        case sw_data_cr:
            if (ch != '\r') {
                return BW_ERROR;
            }
            ctx->state = sw_data_lf;
            p++;
            break;

        case sw_data_lf:
            if (ch != '\n') {
                return BW_ERROR;
            }
            ctx->state = sw_chunk_start;
            p++;
            break;

        case sw_trailer_start:
            if (ch == '\r') {
                ctx->state = sw_last_lf;
            } else if (bw_tchar[ch]) {
                ctx->state = sw_trailer_line;
            } else {
                return BW_ERROR;
            }
            p++;
            break;

        case sw_trailer_line:
            if (ch == '\r') {
                ctx->state = sw_trailer_lf;
            } else if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
                return BW_ERROR;
            }
            p++;
            break;

        case sw_trailer_lf:
            if (ch != '\n') {
                return BW_ERROR;
            }
            ctx->state = sw_trailer_start;
            p++;
            break;

        case sw_last_lf:
            if (ch != '\n') {
                return BW_ERROR;
            }
            p++;
            ctx->state = sw_done;
            *pos = p;
            return BW_DONE;

        default:
            return BW_ERROR;
        }
    }

    *pos = p;
    return ctx->state == sw_done ? BW_DONE : BW_AGAIN;
}

/*
 * Validate and lowercase a Host value; strips the port and a trailing
 * dot. BW_DECLINED: invalid. alloc: copy into the pool even if already
 * lowercase.
 */
bw_int_t
bw_http_validate_host(bw_str_t *host, bw_pool_t *pool, bw_uint_t alloc)
{
    u_char    *h, ch;
    size_t     i, dot_pos, host_len;
    enum { sw_usual = 0, sw_literal, sw_rest } state;

    dot_pos = host->len;
    host_len = host->len;
    h = host->data;
    state = sw_usual;

    for (i = 0; i < host->len; i++) {
        ch = h[i];

        switch (ch) {
        case '.':
            if (dot_pos == i - 1) {
                return BW_DECLINED;
            }
            dot_pos = i;
            break;

        case ':':
            if (state == sw_usual) {
                host_len = i;
                state = sw_rest;
            }
            break;

        case '[':
            if (i == 0) {
                state = sw_literal;
            }
            break;

        case ']':
            if (state == sw_literal) {
                host_len = i + 1;
                state = sw_rest;
            }
            break;

        case '\0':
        case '/':
        case '\\':
            return BW_DECLINED;

        default:
            if (ch < 0x21 || ch == 0x7f) {
                return BW_DECLINED;
            }
            if (ch >= 'A' && ch <= 'Z') {
                alloc = 1;
            }
        }
    }

    if (dot_pos == host_len - 1) {
        host_len--;
    }

    if (host_len == 0) {
        return BW_DECLINED;
    }

    if (alloc) {
        u_char *lc = bw_pnalloc(pool, host_len);
        if (lc == NULL) {
            return BW_ERROR;
        }
        bw_strlow(lc, h, host_len);
        host->data = lc;
    }

    host->len = host_len;
    return BW_OK;
}

/* $arg_NAME: the first NAME=value in the query string. */
bw_int_t
bw_http_arg(bw_http_request_t *r, u_char *name, size_t len, bw_str_t *value)
{
    u_char  *p, *last, *q;

    if (r->args.len == 0) {
        return BW_DECLINED;
    }

    p = r->args.data;
    last = p + r->args.len;

    for ( /* void */ ; p < last; p++) {
        p = bw_strlcasestrn(p, last, name, len);
        if (p == NULL) {
            return BW_DECLINED;
        }

        if ((p == r->args.data || p[-1] == '&') && p + len < last
            && p[len] == '=')
        {
            value->data = p + len + 1;
            q = memchr(value->data, '&', last - value->data);
            value->len = (q ? q : last) - value->data;
            return BW_OK;
        }

        if ((p == r->args.data || p[-1] == '&') && (p + len == last
                                                    || p[len] == '&'))
        {
            value->data = p + len;
            value->len = 0;
            return BW_OK;
        }
    }

    return BW_DECLINED;
}

/* $cookie_NAME: search "a=1; b=2" headers for NAME. */
bw_int_t
bw_http_parse_multi_header_lines(bw_table_elt_t *h, bw_str_t *name,
    bw_str_t *value)
{
    u_char  *p, *end, *start;

    for ( /* void */ ; h; h = h->next) {
        p = h->value.data;
        end = p + h->value.len;

        while (p < end) {
            while (p < end && (*p == ' ' || *p == ';' || *p == ',')) {
                p++;
            }
            start = p;
            while (p < end && *p != '=' && *p != ';') {
                p++;
            }
            if ((size_t) (p - start) == name->len
                && bw_strncasecmp(start, name->data, name->len) == 0
                && p < end && *p == '=')
            {
                value->data = ++p;
                while (p < end && *p != ';') {
                    p++;
                }
                value->len = p - value->data;
                return BW_OK;
            }
            while (p < end && *p != ';') {
                p++;
            }
        }
    }

    return BW_DECLINED;
}

/* Split "uri?args" as given by rewrite/return/error_page targets. */
bw_int_t
bw_http_split_args(bw_http_request_t *r, bw_str_t *uri, bw_str_t *args)
{
    u_char  *q;

    q = memchr(uri->data, '?', uri->len);
    if (q == NULL) {
        args->len = 0;
        args->data = NULL;
        return BW_OK;
    }

    args->data = q + 1;
    args->len = uri->data + uri->len - q - 1;
    uri->len = q - uri->data;
    return BW_OK;
}
