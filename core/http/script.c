/*
 * Complex values: a string with $variables, ${variables} and $1..$9
 * captures, split once at configuration time into literal and variable
 * parts. Evaluation computes the length first and copies once. As in
 * nginx, every "$" starts a name: a literal dollar cannot be written.
 */

#include <bw_http.h>

#define BW_SCRIPT_LITERAL   0
#define BW_SCRIPT_VARIABLE  1
#define BW_SCRIPT_CAPTURE   2

static bw_uint_t
bw_is_var_char(u_char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
           || (ch >= '0' && ch <= '9') || ch == '_';
}

bw_uint_t
bw_http_script_variables_count(bw_str_t *value)
{
    bw_uint_t  i, n;

    /* every "$", as nginx: one that starts no name is an error, and
     * only the compiler says so */
    for (n = 0, i = 0; i < value->len; i++) {
        if (value->data[i] == '$') {
            n++;
        }
    }
    return n;
}

bw_int_t
bw_http_compile_complex_value(bw_conf_t *cf, bw_http_complex_value_t *cv,
    bw_str_t *value)
{
    u_char                 *p, *end, *start;
    bw_int_t                index;
    bw_uint_t               n;
    bw_str_t                name;
    bw_http_script_part_t  *parts;

    cv->value = *value;
    cv->parts = NULL;
    cv->nparts = 0;

    n = bw_http_script_variables_count(value);
    if (n == 0) {
        return BW_OK;
    }

    parts = bw_pcalloc(cf->pool, (2 * n + 1) * sizeof(bw_http_script_part_t));
    if (parts == NULL) {
        return BW_ERROR;
    }

    p = value->data;
    end = p + value->len;
    n = 0;

    while (p < end) {
        start = p;

        while (p < end && *p != '$') {
            p++;
        }

        if (p > start) {
            parts[n].type = BW_SCRIPT_LITERAL;
            parts[n].text.data = start;
            parts[n].text.len = p - start;
            n++;
        }

        if (p >= end) {
            break;
        }

        p++;    /* '$' */

        if (p == end) {
            goto invalid;
        }

        if (*p >= '1' && *p <= '9') {
            parts[n].type = BW_SCRIPT_CAPTURE;
            parts[n].index = 2 * (*p - '0');
            n++;
            p++;
            continue;
        }

        if (*p == '{') {
            if (++p == end) {
                goto invalid;
            }
            name.data = p;
            while (p < end && bw_is_var_char(*p)) {
                p++;
            }
            if (p == end || *p != '}') {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                  "the closing bracket in \"%.*s\" "
                                  "variable is missing",
                                  (int) (p - name.data), name.data);
                return BW_ERROR;
            }
            name.len = p - name.data;
            p++;
        } else {
            name.data = p;
            while (p < end && bw_is_var_char(*p)) {
                p++;
            }
            name.len = p - name.data;
        }

        if (name.len == 0) {
            goto invalid;
        }

        index = bw_http_get_variable_index(cf, &name);
        if (index == BW_ERROR) {
            return BW_ERROR;
        }

        parts[n].type = BW_SCRIPT_VARIABLE;
        parts[n].index = (bw_uint_t) index;
        parts[n].text = name;
        n++;
    }

    cv->parts = parts;
    cv->nparts = n;
    return BW_OK;

invalid:

    /* "$" before no name ("5$", "$-", "${}"): nginx's error */
    bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid variable name");
    return BW_ERROR;
}

static bw_uint_t
bw_http_script_part(bw_http_request_t *r, bw_http_script_part_t *part,
    u_char **data)
{
    bw_uint_t                  i;
    bw_http_variable_value_t  *v;

    switch (part->type) {

    case BW_SCRIPT_LITERAL:
        *data = part->text.data;
        return part->text.len;

    case BW_SCRIPT_CAPTURE:
        i = part->index;
        if (r->captures && i + 1 < r->ncaptures) {
            *data = r->captures_data + r->captures[i];
            return r->captures[i + 1] - r->captures[i];
        }
        *data = NULL;
        return 0;

    default:
        v = bw_http_get_flushed_variable(r, part->index);
        if (v == NULL || v->not_found) {
            *data = NULL;
            return 0;
        }
        *data = v->data;
        return v->len;
    }
}

bw_int_t
bw_http_complex_value(bw_http_request_t *r, bw_http_complex_value_t *cv,
    bw_str_t *value)
{
    return bw_http_complex_value_escaped(r, cv, value, 0);
}

/*
 * A complex value whose $1..$9 are escaped as arguments when escape is
 * set (nginx's rule for rewrite: in a redirect, or in the replacement's
 * arguments, when the client's URI was escaped itself).
 */
bw_int_t
bw_http_complex_value_escaped(bw_http_request_t *r,
    bw_http_complex_value_t *cv, bw_str_t *value, bw_uint_t escape)
{
    size_t      len;
    u_char     *p, *data;
    bw_uint_t   i, n;

    if (cv->parts == NULL) {
        *value = cv->value;
        return BW_OK;
    }

    len = 0;
    for (i = 0; i < cv->nparts; i++) {
        n = bw_http_script_part(r, &cv->parts[i], &data);
        len += n;
        if (escape && n && cv->parts[i].type == BW_SCRIPT_CAPTURE) {
            len += bw_escape_uri_len(data, n, BW_URI_ESCAPE_ARGS);
        }
    }

    p = bw_pnalloc(r->pool, len + 1);
    if (p == NULL) {
        return BW_ERROR;
    }

    value->data = p;
    for (i = 0; i < cv->nparts; i++) {
        n = bw_http_script_part(r, &cv->parts[i], &data);
        if (escape && cv->parts[i].type == BW_SCRIPT_CAPTURE) {
            p = bw_escape_uri(p, data, n, BW_URI_ESCAPE_ARGS);
        } else if (n) {
            p = bw_cpymem(p, data, n);
        }
    }
    value->len = p - value->data;
    *p = '\0';

    return BW_OK;
}


#define BW_HTTP_MAX_CAPTURES  30

bw_int_t
bw_http_regex_exec(bw_http_request_t *r, bw_regex_t *re, bw_str_t *s)
{
    int       caps[BW_HTTP_MAX_CAPTURES];
    bw_int_t  n;

    n = bw_regex_exec(re, s, caps, BW_HTTP_MAX_CAPTURES);
    if (n == BW_REGEX_NO_MATCHED) {
        return BW_DECLINED;
    }
    if (n < 0) {
        bw_log_error(BW_LOG_ALERT, r->connection->log, 0,
                     "regex match failed on \"%.*s\"", (int) s->len,
                     s->data);
        return BW_ERROR;
    }

    r->ncaptures = (bw_uint_t) n * 2;
    r->captures = bw_palloc(r->pool, r->ncaptures * sizeof(int));
    if (r->captures == NULL) {
        return BW_ERROR;
    }
    memcpy(r->captures, caps, r->ncaptures * sizeof(int));
    r->captures_data = s->data;
    r->captures_regex = re;

    return BW_OK;
}

/* $name of (?<name>...): from the last match that set the captures */
static bw_int_t
bw_http_variable_named_capture(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    bw_str_t    *name = (bw_str_t *) data;
    u_char      *e;
    bw_uint_t    i, g;
    bw_regex_t  *re;

    re = r->captures_regex;
    if (re == NULL || r->captures == NULL) {
        v->not_found = 1;
        return BW_OK;
    }

    for (i = 0; i < re->named_captures; i++) {
        e = re->names + i * re->name_size;
        if (strncmp((char *) e + 2, (char *) name->data, name->len) != 0
            || e[2 + name->len] != '\0')
        {
            continue;
        }
        g = ((bw_uint_t) e[0] << 8) | e[1];
        if (2 * g + 1 < r->ncaptures && r->captures[2 * g] >= 0) {
            bw_var_set(v, r->captures_data + r->captures[2 * g],
                       r->captures[2 * g + 1] - r->captures[2 * g]);
            v->no_cacheable = 1;
            return BW_OK;
        }
        break;
    }

    v->not_found = 1;
    return BW_OK;
}

bw_int_t
bw_http_regex_add_names(bw_conf_t *cf, bw_regex_t *re)
{
    u_char              *e;
    bw_uint_t            i;
    bw_str_t            *name;
    bw_http_variable_t  *v;

    for (i = 0; i < re->named_captures; i++) {
        e = re->names + i * re->name_size;

        name = bw_palloc(cf->pool, sizeof(bw_str_t));
        if (name == NULL) {
            return BW_ERROR;
        }
        name->data = e + 2;
        name->len = strlen((char *) e + 2);

        v = bw_http_add_variable(cf, name, BW_HTTP_VAR_CHANGEABLE
                                           |BW_HTTP_VAR_NOCACHEABLE);
        if (v == NULL) {
            return BW_ERROR;
        }
        if (v->get_handler == NULL) {
            v->get_handler = bw_http_variable_named_capture;
            v->data = (uintptr_t) name;
        }
    }

    return BW_OK;
}
