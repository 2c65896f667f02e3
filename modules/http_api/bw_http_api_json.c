/*
 * JSON for the admin API: a writer into one growing buffer of the
 * request's pool, and a reader of the one shape the API takes, a flat
 * object of strings, numbers and booleans. A nested object or list is
 * parsed past (so that the error can name it) and marked, never kept.
 * The reader is bounded by the body it is given and by a nesting depth.
 */

#include "bw_http_api.h"

#define BW_JSON_MAX_DEPTH  16

void
bw_http_api_init_out(bw_http_api_out_t *o, bw_pool_t *pool)
{
    bw_memzero(o, sizeof(bw_http_api_out_t));
    o->pool = pool;
}

static bw_uint_t
bw_http_api_room(bw_http_api_out_t *o, size_t need)
{
    u_char  *p;
    size_t   size, used;

    if (o->error) {
        return 0;
    }

    if ((size_t) (o->end - o->pos) >= need) {
        return 1;
    }

    used = o->pos - o->start;
    size = (o->end - o->start) ? (size_t) (o->end - o->start) * 2 : 4096;
    while (size - used < need) {
        size *= 2;
    }

    p = bw_pnalloc(o->pool, size);
    if (p == NULL) {
        o->error = 1;
        return 0;
    }

    if (used) {
        memcpy(p, o->start, used);
    }
    o->start = p;
    o->pos = p + used;
    o->end = p + size;
    return 1;
}

void
bw_http_api_printf(bw_http_api_out_t *o, const char *fmt, ...)
{
    int      n;
    va_list  args;

    va_start(args, fmt);
    n = vsnprintf(NULL, 0, fmt, args);
    va_end(args);

    if (n < 0 || !bw_http_api_room(o, (size_t) n + 1)) {
        o->error = 1;
        return;
    }

    va_start(args, fmt);
    o->pos += vsnprintf((char *) o->pos, o->end - o->pos, fmt, args);
    va_end(args);
}

void
bw_http_api_string(bw_http_api_out_t *o, bw_str_t *s)
{
    size_t  n;

    n = bw_escape_log(NULL, s->data, s->len, BW_ESCAPE_JSON);

    if (!bw_http_api_room(o, n + 2)) {
        return;
    }

    *o->pos++ = '"';
    bw_escape_log(o->pos, s->data, s->len, BW_ESCAPE_JSON);
    o->pos += n;
    *o->pos++ = '"';
}

/* --- reading ---------------------------------------------------------- */

typedef struct {
    u_char      *p;
    u_char      *end;
    bw_pool_t   *pool;
    const char  *err;
} bw_json_reader_t;

static void
bw_json_space(bw_json_reader_t *rd)
{
    while (rd->p < rd->end
           && (*rd->p == ' ' || *rd->p == '\t' || *rd->p == '\n'
               || *rd->p == '\r'))
    {
        rd->p++;
    }
}

static bw_int_t
bw_json_hex4(bw_json_reader_t *rd, uint32_t *cp)
{
    bw_uint_t  i;
    u_char     c;

    if (rd->end - rd->p < 4) {
        return BW_ERROR;
    }

    *cp = 0;
    for (i = 0; i < 4; i++) {
        c = *rd->p++;
        *cp <<= 4;
        if (c >= '0' && c <= '9') {
            *cp |= c - '0';
        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
            *cp |= (c | 0x20) - 'a' + 10;
        } else {
            return BW_ERROR;
        }
    }

    return BW_OK;
}

static u_char *
bw_json_utf8(u_char *d, uint32_t cp)
{
    if (cp < 0x80) {
        *d++ = (u_char) cp;
    } else if (cp < 0x800) {
        *d++ = (u_char) (0xc0 | (cp >> 6));
        *d++ = (u_char) (0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *d++ = (u_char) (0xe0 | (cp >> 12));
        *d++ = (u_char) (0x80 | ((cp >> 6) & 0x3f));
        *d++ = (u_char) (0x80 | (cp & 0x3f));
    } else {
        *d++ = (u_char) (0xf0 | (cp >> 18));
        *d++ = (u_char) (0x80 | ((cp >> 12) & 0x3f));
        *d++ = (u_char) (0x80 | ((cp >> 6) & 0x3f));
        *d++ = (u_char) (0x80 | (cp & 0x3f));
    }
    return d;
}

/* A string at rd->p (at its opening quote), unescaped into the pool;
 * out NULL: only passed over. */
static bw_int_t
bw_json_string(bw_json_reader_t *rd, bw_str_t *out)
{
    u_char    *start, *d, c;
    uint32_t   cp, lo;

    rd->p++;
    start = rd->p;

    /* an unescaped string is never longer than its text: find where
     * the text ends, so that what is allocated is only that */
    d = NULL;
    if (out) {
        u_char  *q;

        for (q = start; q < rd->end && *q != '"'; q++) {
            if (*q == '\\' && q + 1 < rd->end) {
                q++;
            }
        }

        d = bw_pnalloc(rd->pool, (q - start) + 1);
        if (d == NULL) {
            rd->err = "out of memory";
            return BW_ERROR;
        }
        out->data = d;
    }

    while (rd->p < rd->end) {
        c = *rd->p++;

        if (c == '"') {
            if (out) {
                out->len = d - out->data;
            }
            return BW_OK;
        }

        if (c < 0x20) {
            break;
        }

        if (c != '\\') {
            if (d) {
                *d++ = c;
            }
            continue;
        }

        if (rd->p == rd->end) {
            break;
        }

        c = *rd->p++;
        switch (c) {
        case '"': case '\\': case '/':
            break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        case 'u':
            if (bw_json_hex4(rd, &cp) != BW_OK) {
                goto invalid;
            }
            if (cp >= 0xd800 && cp <= 0xdbff) {
                /* a surrogate pair makes one code point */
                if (rd->end - rd->p < 6 || rd->p[0] != '\\'
                    || rd->p[1] != 'u')
                {
                    goto invalid;
                }
                rd->p += 2;
                if (bw_json_hex4(rd, &lo) != BW_OK
                    || lo < 0xdc00 || lo > 0xdfff)
                {
                    goto invalid;
                }
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);

            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                goto invalid;
            }
            if (d) {
                d = bw_json_utf8(d, cp);
            }
            continue;
        default:
            goto invalid;
        }

        if (d) {
            *d++ = c;
        }
    }

invalid:

    rd->err = "invalid string";
    return BW_ERROR;
}

static bw_int_t
bw_json_number(bw_json_reader_t *rd, bw_str_t *out)
{
    u_char  *start;

    start = rd->p;

    if (rd->p < rd->end && *rd->p == '-') {
        rd->p++;
    }

    if (rd->p == rd->end || *rd->p < '0' || *rd->p > '9') {
        rd->err = "invalid number";
        return BW_ERROR;
    }

    while (rd->p < rd->end
           && ((*rd->p >= '0' && *rd->p <= '9') || *rd->p == '.'
               || *rd->p == 'e' || *rd->p == 'E' || *rd->p == '+'
               || *rd->p == '-'))
    {
        rd->p++;
    }

    out->data = start;
    out->len = rd->p - start;
    return BW_OK;
}

static bw_int_t
bw_json_literal(bw_json_reader_t *rd, const char *word)
{
    size_t  n;

    n = strlen(word);
    if ((size_t) (rd->end - rd->p) < n || memcmp(rd->p, word, n) != 0) {
        rd->err = "invalid literal";
        return BW_ERROR;
    }
    rd->p += n;
    return BW_OK;
}

static bw_int_t bw_json_skip(bw_json_reader_t *rd, bw_uint_t depth);

/* An object or list at rd->p, passed over. */
static bw_int_t
bw_json_skip_nested(bw_json_reader_t *rd, bw_uint_t depth)
{
    u_char     close;
    bw_uint_t  first;

    if (depth > BW_JSON_MAX_DEPTH) {
        rd->err = "too deeply nested";
        return BW_ERROR;
    }

    close = (*rd->p == '{') ? '}' : ']';
    rd->p++;
    first = 1;

    for ( ;; ) {
        bw_json_space(rd);
        if (rd->p == rd->end) {
            rd->err = "unexpected end";
            return BW_ERROR;
        }
        if (*rd->p == close && first) {
            rd->p++;
            return BW_OK;
        }

        if (close == '}') {
            if (*rd->p != '"' || bw_json_string(rd, NULL) != BW_OK) {
                rd->err = "invalid key";
                return BW_ERROR;
            }
            bw_json_space(rd);
            if (rd->p == rd->end || *rd->p++ != ':') {
                rd->err = "expected \":\"";
                return BW_ERROR;
            }
        }

        if (bw_json_skip(rd, depth + 1) != BW_OK) {
            return BW_ERROR;
        }

        bw_json_space(rd);
        if (rd->p == rd->end) {
            rd->err = "unexpected end";
            return BW_ERROR;
        }
        if (*rd->p == close) {
            rd->p++;
            return BW_OK;
        }
        if (*rd->p++ != ',') {
            rd->err = "expected \",\"";
            return BW_ERROR;
        }
        first = 0;
    }
}

static bw_int_t
bw_json_skip(bw_json_reader_t *rd, bw_uint_t depth)
{
    bw_str_t  s;

    bw_json_space(rd);
    if (rd->p == rd->end) {
        rd->err = "unexpected end";
        return BW_ERROR;
    }

    switch (*rd->p) {
    case '{':
    case '[':
        return bw_json_skip_nested(rd, depth);
    case '"':
        return bw_json_string(rd, NULL);
    case 't':
        return bw_json_literal(rd, "true");
    case 'f':
        return bw_json_literal(rd, "false");
    case 'n':
        return bw_json_literal(rd, "null");
    default:
        return bw_json_number(rd, &s);
    }
}

static bw_int_t
bw_json_value(bw_json_reader_t *rd, bw_http_api_field_t *f)
{
    bw_json_space(rd);
    if (rd->p == rd->end) {
        rd->err = "unexpected end";
        return BW_ERROR;
    }

    bw_str_null(&f->value);

    switch (*rd->p) {
    case '{':
    case '[':
        f->type = BW_JSON_NESTED;
        return bw_json_skip_nested(rd, 1);
    case '"':
        f->type = BW_JSON_STRING;
        return bw_json_string(rd, &f->value);
    case 't':
        f->type = BW_JSON_TRUE;
        return bw_json_literal(rd, "true");
    case 'f':
        f->type = BW_JSON_FALSE;
        return bw_json_literal(rd, "false");
    case 'n':
        f->type = BW_JSON_NULL;
        return bw_json_literal(rd, "null");
    default:
        f->type = BW_JSON_NUMBER;
        return bw_json_number(rd, &f->value);
    }
}

bw_int_t
bw_http_api_parse_object(bw_pool_t *pool, bw_str_t *text,
    bw_http_api_object_t *obj, const char **err)
{
    bw_json_reader_t      rd;
    bw_http_api_field_t  *f;

    rd.p = text->data;
    rd.end = text->data + text->len;
    rd.pool = pool;
    rd.err = NULL;

    obj->nfields = 0;

    bw_json_space(&rd);
    if (rd.p == rd.end || *rd.p != '{') {
        *err = "expected an object";
        return BW_ERROR;
    }
    rd.p++;

    bw_json_space(&rd);
    if (rd.p < rd.end && *rd.p == '}') {
        rd.p++;
        goto done;
    }

    for ( ;; ) {
        if (obj->nfields == BW_HTTP_API_MAX_FIELDS) {
            *err = "too many fields";
            return BW_ERROR;
        }
        f = &obj->field[obj->nfields++];

        bw_json_space(&rd);
        if (rd.p == rd.end || *rd.p != '"'
            || bw_json_string(&rd, &f->key) != BW_OK)
        {
            *err = rd.err ? rd.err : "expected a key";
            return BW_ERROR;
        }

        bw_json_space(&rd);
        if (rd.p == rd.end || *rd.p++ != ':') {
            *err = "expected \":\"";
            return BW_ERROR;
        }

        if (bw_json_value(&rd, f) != BW_OK) {
            *err = rd.err;
            return BW_ERROR;
        }

        bw_json_space(&rd);
        if (rd.p == rd.end) {
            *err = "unexpected end";
            return BW_ERROR;
        }
        if (*rd.p == '}') {
            rd.p++;
            break;
        }
        if (*rd.p++ != ',') {
            *err = "expected \",\"";
            return BW_ERROR;
        }
    }

done:

    bw_json_space(&rd);
    if (rd.p != rd.end) {
        *err = "text after the object";
        return BW_ERROR;
    }

    return BW_OK;
}
