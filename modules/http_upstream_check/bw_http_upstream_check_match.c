/*
 * "match name { ... }" blocks and what a probe's answer must be to pass:
 * status codes and ranges, headers present, absent, equal or matching a
 * regex, and the body (its first 256 KiB) matching one or not. Also the
 * reading of an answer's bytes, which is pure and bounded, so that the
 * probe code only moves bytes.
 */

#include "bw_http_upstream_check.h"

/* --- reading a match block -------------------------------------------- */

static char *
bw_http_hc_regex(bw_conf_t *cf, bw_str_t *pattern, bw_regex_t **re)
{
    bw_regex_compile_t  rc;

    bw_memzero(&rc, sizeof(bw_regex_compile_t));
    rc.pattern = *pattern;
    rc.pool = cf->pool;

    if (bw_regex_compile(&rc) != BW_OK) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "%.*s", (int) rc.err.len,
                          rc.err.data);
        return BW_CONF_ERROR;
    }

    *re = rc.regex;
    return BW_CONF_OK;
}

static char *
bw_http_hc_status(bw_conf_t *cf, bw_http_hc_test_t *t, bw_str_t *v,
    bw_uint_t n)
{
    u_char     *dash;
    bw_int_t    lo, hi;
    bw_uint_t   i, *pair;

    i = 1;
    if (n > 1 && bw_str_eq_lit(&v[1], "!")) {
        t->negate = 1;
        i++;
    }

    if (i == n) {
        return "needs a status code or range";
    }

    t->ranges = bw_array_create(cf->pool, n - i, 2 * sizeof(bw_uint_t));
    if (t->ranges == NULL) {
        return BW_CONF_ERROR;
    }

    for ( /* void */ ; i < n; i++) {
        dash = memchr(v[i].data, '-', v[i].len);
        if (dash) {
            lo = bw_atoi(v[i].data, dash - v[i].data);
            hi = bw_atoi(dash + 1, v[i].data + v[i].len - dash - 1);
        } else {
            lo = hi = bw_atoi(v[i].data, v[i].len);
        }

        if (lo < 100 || hi > 999 || lo > hi) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid status \"%s\"",
                              v[i].data);
            return BW_CONF_ERROR;
        }

        pair = bw_array_push(t->ranges);
        if (pair == NULL) {
            return BW_CONF_ERROR;
        }
        pair[0] = (bw_uint_t) lo;
        pair[1] = (bw_uint_t) hi;
    }

    return BW_CONF_OK;
}

static char *
bw_http_hc_match_line(bw_conf_t *cf, bw_command_t *dummy, void *conf)
{
    bw_http_hc_match_t  *m = conf;

    bw_str_t           *v;
    bw_uint_t           n;
    bw_http_hc_test_t  *t;

    v = cf->args->elts;
    n = cf->args->nelts;

    t = bw_array_push(&m->tests);
    if (t == NULL) {
        return BW_CONF_ERROR;
    }
    bw_memzero(t, sizeof(bw_http_hc_test_t));

    if (bw_str_eq_lit(&v[0], "status")) {
        t->type = BW_HC_STATUS;
        return bw_http_hc_status(cf, t, v, n);
    }

    if (bw_str_eq_lit(&v[0], "header")) {
        t->type = BW_HC_HEADER;

        if (n == 2) {
            t->op = BW_HC_PRESENT;
            t->name = v[1];
            return BW_CONF_OK;
        }
        if (n == 3 && bw_str_eq_lit(&v[1], "!")) {
            t->op = BW_HC_ABSENT;
            t->name = v[2];
            return BW_CONF_OK;
        }
        if (n != 4) {
            goto invalid;
        }

        t->name = v[1];
        t->value = v[3];

        if (bw_str_eq_lit(&v[2], "=")) {
            t->op = BW_HC_EQ;
        } else if (bw_str_eq_lit(&v[2], "!=")) {
            t->op = BW_HC_NE;
        } else if (bw_str_eq_lit(&v[2], "~")) {
            t->op = BW_HC_RE;
            return bw_http_hc_regex(cf, &v[3], &t->regex);
        } else if (bw_str_eq_lit(&v[2], "!~")) {
            t->op = BW_HC_NRE;
            return bw_http_hc_regex(cf, &v[3], &t->regex);
        } else {
            goto invalid;
        }
        return BW_CONF_OK;
    }

    if (bw_str_eq_lit(&v[0], "body")) {
        t->type = BW_HC_BODY;

        if (n != 3) {
            goto invalid;
        }
        if (bw_str_eq_lit(&v[1], "~")) {
            t->op = BW_HC_RE;
        } else if (bw_str_eq_lit(&v[1], "!~")) {
            t->op = BW_HC_NRE;
        } else {
            goto invalid;
        }
        return bw_http_hc_regex(cf, &v[2], &t->regex);
    }

    bw_conf_log_error(BW_LOG_EMERG, cf, 0, "unknown directive \"%s\" in "
                      "match", v[0].data);
    return BW_CONF_ERROR;

invalid:

    bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid \"%s\" in match",
                      v[0].data);
    return BW_CONF_ERROR;
}

char *
bw_http_hc_match_block(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_hc_main_conf_t  *hmcf = conf;

    bw_str_t             *value;
    bw_uint_t             i;
    bw_http_hc_match_t   *m, **mp;

    value = cf->args->elts;
    mp = hmcf->matches.elts;
    m = NULL;

    /* a health_check may name a match before its block */
    for (i = 0; i < hmcf->matches.nelts; i++) {
        if (mp[i]->name.len == value[1].len
            && memcmp(mp[i]->name.data, value[1].data, value[1].len) == 0)
        {
            m = mp[i];
            break;
        }
    }

    if (m && m->defined) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "duplicate match \"%s\"",
                          value[1].data);
        return BW_CONF_ERROR;
    }

    if (m == NULL) {
        m = bw_pcalloc(cf->pool, sizeof(bw_http_hc_match_t));
        mp = bw_array_push(&hmcf->matches);
        if (m == NULL || mp == NULL) {
            return BW_CONF_ERROR;
        }
        *mp = m;
        m->name = value[1];
    }

    if (bw_array_init(&m->tests, cf->pool, 4, sizeof(bw_http_hc_test_t))
        != BW_OK)
    {
        return BW_CONF_ERROR;
    }

    m->defined = 1;
    m->file = cf->conf_file->name.data;
    m->line = cf->conf_file->line;

    return bw_conf_parse_block(cf, bw_http_hc_match_line, m);
}

/* --- judging an answer ------------------------------------------------ */

/* The first header line named name: its value, trimmed. */
static bw_uint_t
bw_http_hc_header(bw_str_t *headers, bw_str_t *name, bw_str_t *value)
{
    u_char  *p, *end, *eol, *colon, *v, *ve;

    p = headers->data;
    end = p + headers->len;

    while (p < end) {
        eol = memchr(p, '\n', end - p);
        if (eol == NULL) {
            eol = end;
        }

        colon = memchr(p, ':', eol - p);
        if (colon && (size_t) (colon - p) == name->len
            && bw_strncasecmp(p, name->data, name->len) == 0)
        {
            v = colon + 1;
            ve = eol;
            while (v < ve && (*v == ' ' || *v == '\t')) {
                v++;
            }
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' '
                              || ve[-1] == '\t'))
            {
                ve--;
            }
            value->data = v;
            value->len = ve - v;
            return 1;
        }

        p = eol + 1;
    }

    return 0;
}

static bw_uint_t
bw_http_hc_test(bw_http_hc_test_t *t, bw_http_hc_answer_t *a)
{
    bw_str_t    v;
    bw_uint_t   i, in, *pair, found;

    switch (t->type) {

    case BW_HC_STATUS:
        in = 0;
        pair = t->ranges->elts;
        for (i = 0; i < t->ranges->nelts; i++) {
            if (a->status >= pair[2 * i] && a->status <= pair[2 * i + 1]) {
                in = 1;
                break;
            }
        }
        return t->negate ? !in : in;

    case BW_HC_HEADER:
        found = bw_http_hc_header(&a->headers, &t->name, &v);

        switch (t->op) {
        case BW_HC_PRESENT:
            return found;
        case BW_HC_ABSENT:
            return !found;
        case BW_HC_EQ:
            return found && v.len == t->value.len
                   && memcmp(v.data, t->value.data, v.len) == 0;
        case BW_HC_NE:
            return found && !(v.len == t->value.len
                              && memcmp(v.data, t->value.data, v.len) == 0);
        case BW_HC_RE:
            return found && bw_regex_exec(t->regex, &v, NULL, 0) >= 0;
        default:
            return found && bw_regex_exec(t->regex, &v, NULL, 0)
                            == BW_REGEX_NO_MATCHED;
        }

    default:
        if (t->op == BW_HC_RE) {
            return bw_regex_exec(t->regex, &a->body, NULL, 0) >= 0;
        }
        return bw_regex_exec(t->regex, &a->body, NULL, 0)
               == BW_REGEX_NO_MATCHED;
    }
}

bw_uint_t
bw_http_hc_passes(bw_http_hc_match_t *m, bw_http_hc_answer_t *a,
    const char **why)
{
    bw_uint_t           i;
    bw_http_hc_test_t  *t;

    if (m == NULL) {
        if (a->status >= 200 && a->status < 400) {
            return 1;
        }
        *why = "status";
        return 0;
    }

    t = m->tests.elts;
    for (i = 0; i < m->tests.nelts; i++) {
        if (!bw_http_hc_test(&t[i], a)) {
            *why = t[i].type == BW_HC_STATUS ? "status"
                   : t[i].type == BW_HC_HEADER ? "header" : "body";
            return 0;
        }
    }

    return 1;
}

/* --- reading an answer ------------------------------------------------ */

/* Decode a chunked body in place (or, decode 0, only see whether it is
 * whole, the bytes left as they are); BW_AGAIN until its last chunk. */
static bw_int_t
bw_http_hc_dechunk(bw_http_hc_answer_t *a, bw_uint_t decode)
{
    u_char     *p, *end, *out;
    size_t      size;
    bw_uint_t   digits;

    p = a->body.data;
    end = p + a->body.len;
    out = p;

    for ( ;; ) {
        size = 0;
        digits = 0;
        while (p < end && ((*p >= '0' && *p <= '9')
                           || ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'f')))
        {
            if (size > BW_HC_BODY_MAX * 4) {
                return BW_ERROR;
            }
            size = size * 16 + (*p <= '9' ? *p - '0' : (*p | 0x20) - 'a' + 10);
            p++;
            digits++;
        }
        /* extensions, then the line's end */
        while (p < end && *p != '\n') {
            p++;
        }
        if (p == end) {
            break;
        }
        if (digits == 0) {
            return BW_ERROR;
        }
        p++;

        if (size == 0) {
            if (decode) {
                a->body.len = out - a->body.data;
            }
            return BW_OK;
        }

        if ((size_t) (end - p) < size + 2) {
            /* what there is counts: a long body is judged on its start */
            size = bw_min(size, (size_t) (end - p));
            if (decode) {
                memmove(out, p, size);
            }
            out += size;
            break;
        }

        if (decode) {
            memmove(out, p, size);
        }
        out += size;
        p += size;
        if (*p == '\r') {
            p++;
        }
        if (p < end && *p == '\n') {
            p++;
        }
    }

    if (out - a->body.data >= BW_HC_BODY_MAX) {
        /* enough to judge */
        if (decode) {
            a->body.len = out - a->body.data;
        }
        return BW_OK;
    }
    if (decode) {
        a->body.len = out - a->body.data;
    }
    return BW_AGAIN;
}

static bw_int_t
bw_http_hc_parse_one(u_char *p, size_t len, bw_uint_t eof,
    bw_http_hc_answer_t *a)
{
    u_char     *end, *hdr, *body;
    bw_int_t    cl;
    bw_str_t    v, name;

    end = p + len;

    hdr = NULL;
    for (body = p; body + 1 < end; body++) {
        if (body[0] == '\n' && body[1] == '\n') {
            hdr = body + 1;
            body += 2;
            break;
        }
        if (body + 3 < end && body[0] == '\r' && body[1] == '\n'
            && body[2] == '\r' && body[3] == '\n')
        {
            hdr = body + 2;
            body += 4;
            break;
        }
    }

    if (hdr == NULL) {
        return (eof || len >= BW_HC_HEADER_MAX) ? BW_ERROR : BW_AGAIN;
    }

    /* "HTTP/1.x NNN" */
    if (len < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[8] != ' '
        || p[9] < '1' || p[9] > '9' || p[10] < '0' || p[10] > '9'
        || p[11] < '0' || p[11] > '9')
    {
        return BW_ERROR;
    }

    a->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');

    a->headers.data = memchr(p, '\n', hdr - p);
    a->headers.data = a->headers.data ? a->headers.data + 1 : hdr;
    a->headers.len = hdr - a->headers.data;

    a->body.data = body;
    a->body.len = end - body;

    bw_str_set(&name, "Transfer-Encoding");
    if (bw_http_hc_header(&a->headers, &name, &v)
        && v.len >= 7 && bw_strncasecmp(v.data + v.len - 7,
                                        (u_char *) "chunked", 7) == 0)
    {
        if (!eof) {
            /* only whether it is whole: decoding moves the bytes */
            return bw_http_hc_dechunk(a, 0) == BW_AGAIN ? BW_AGAIN : BW_OK;
        }
        (void) bw_http_hc_dechunk(a, 1);
        return BW_OK;
    }

    bw_str_set(&name, "Content-Length");
    if (bw_http_hc_header(&a->headers, &name, &v)) {
        cl = bw_atoi(v.data, v.len);
        if (cl < 0) {
            return BW_ERROR;
        }
        if (a->body.len >= (size_t) cl) {
            a->body.len = (size_t) cl;
            return BW_OK;
        }
    }

    if (a->status < 200 || a->status == 204 || a->status == 304) {
        a->body.len = 0;
        return BW_OK;
    }

    if (a->body.len >= BW_HC_BODY_MAX) {
        a->body.len = BW_HC_BODY_MAX;
        return BW_OK;
    }

    return eof ? BW_OK : BW_AGAIN;
}

/* An answer, after the interim ones (1xx, but 101) that may come first:
 * those are not what a check judges. */
bw_int_t
bw_http_hc_parse_answer(u_char *p, size_t len, bw_uint_t eof,
    bw_http_hc_answer_t *a)
{
    u_char    *next;
    bw_int_t   rc;
    bw_uint_t  n;

    for (n = 0; n < 8; n++) {
        rc = bw_http_hc_parse_one(p, len, eof, a);
        if (rc != BW_OK || a->status >= 200 || a->status == 101) {
            return rc;
        }
        next = a->body.data;
        len -= next - p;
        p = next;
    }

    return BW_ERROR;
}
