/*
 * libFuzzer target: complex values (core/http/script.c). The input's
 * first line is a directive's value, the rest a subject that a regex
 * with an optional group matches to give $1..$4. The value is compiled
 * as a configuration would, then evaluated for a request that knows a
 * few variables, plain and with its captures escaped; an independent
 * reading of nginx's grammar says which values must be refused and
 * what each evaluation must give.
 */

#include <bw_http.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MODULES  64

static const struct {
    const char  *name;
    const char  *value;     /* NULL: not found */
} vars[] = {
    { "a", "A" },
    { "b", "x y&z%" },
    { "empty", "" },
    { "missing", NULL },
    { "a_1", "underscore" },
};

#define NVARS  (sizeof(vars) / sizeof(vars[0]))

static bw_pool_t   *regex_pool;
static bw_regex_t  *regex;

static bw_int_t
var_get(bw_http_request_t *r, bw_http_variable_value_t *v, uintptr_t data)
{
    const char  *s = (const char *) data;

    if (s == NULL) {
        v->not_found = 1;
        return BW_OK;
    }
    bw_var_set(v, (u_char *) s, strlen(s));
    return BW_OK;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    bw_regex_compile_t  rc;

    bw_time_init();

    regex_pool = bw_create_pool(4096, NULL);
    if (regex_pool == NULL) {
        abort();
    }
    memset(&rc, 0, sizeof(rc));
    rc.pool = regex_pool;
    bw_str_set(&rc.pattern, "(?s)^(.)(.*?)(x)?(y*)$");
    if (bw_regex_compile(&rc) != BW_OK) {
        abort();
    }
    regex = rc.regex;

    return 0;
}

static bw_uint_t
is_name_char(u_char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_';
}

/*
 * nginx's grammar, read apart from the compiler: into out (when not
 * NULL) the value for request r, with captures escaped if asked.
 * Returns the length; -1 for a value nginx refuses, -2 for one that
 * names a variable nobody defines.
 */
static ssize_t
expect(bw_http_request_t *r, u_char *t, size_t n, u_char *out,
    bw_uint_t escape)
{
    u_char      *p, *end, *name, *v;
    size_t       len, nlen, vlen, i, k;
    bw_uint_t    g, found;
    const char  *val;

    p = t;
    end = t + n;
    len = 0;

    while (p < end) {
        if (*p != '$') {
            if (out) {
                out[len] = *p;
            }
            len++;
            p++;
            continue;
        }

        if (++p == end) {
            return -1;
        }

        if (*p >= '1' && *p <= '9') {
            g = 2 * (*p++ - '0');
            vlen = 0;
            v = NULL;
            if (r && r->captures && g + 1 < r->ncaptures
                && r->captures[g] >= 0)
            {
                v = r->captures_data + r->captures[g];
                vlen = r->captures[g + 1] - r->captures[g];
            }
            if (escape && vlen) {
                if (out) {
                    bw_escape_uri(out + len, v, vlen, BW_URI_ESCAPE_ARGS);
                }
                len += vlen + bw_escape_uri_len(v, vlen, BW_URI_ESCAPE_ARGS);
            } else {
                if (out && vlen) {
                    memcpy(out + len, v, vlen);
                }
                len += vlen;
            }
            continue;
        }

        if (*p == '{') {
            if (++p == end) {
                return -1;
            }
            name = p;
            while (p < end && is_name_char(*p)) {
                p++;
            }
            if (p == end || *p != '}') {
                return -1;
            }
            nlen = p - name;
            p++;
        } else {
            name = p;
            while (p < end && is_name_char(*p)) {
                p++;
            }
            nlen = p - name;
        }

        if (nlen == 0) {
            return -1;
        }

        found = 0;
        val = NULL;
        for (i = 0; i < NVARS; i++) {
            if (strlen(vars[i].name) != nlen) {
                continue;
            }
            for (k = 0; k < nlen; k++) {
                if (bw_tolower(name[k]) != (u_char) vars[i].name[k]) {
                    break;
                }
            }
            if (k == nlen) {
                found = 1;
                val = vars[i].value;
                break;
            }
        }
        if (!found) {
            /* an unknown name is refused once the configuration is
             * read, if the rest of the value compiles */
            return expect(NULL, p, end - p, NULL, 0) == -1 ? -1 : -2;
        }
        if (val) {
            if (out) {
                memcpy(out + len, val, strlen(val));
            }
            len += strlen(val);
        }
    }

    return (ssize_t) len;
}

static void
check(bw_http_request_t *r, bw_http_complex_value_t *cv, u_char *t,
    size_t n, bw_uint_t escape)
{
    u_char    *want;
    ssize_t    wlen;
    bw_str_t   got;

    if (bw_http_complex_value_escaped(r, cv, &got, escape) != BW_OK) {
        __builtin_trap();
    }

    wlen = expect(r, t, n, NULL, escape);
    want = malloc(wlen > 0 ? (size_t) wlen : 1);
    if (want == NULL) {
        return;
    }
    expect(r, t, n, want, escape);

    if ((size_t) wlen != got.len || memcmp(want, got.data, got.len) != 0) {
        __builtin_trap();
    }

    free(want);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                    *t, *nl;
    size_t                     n;
    ssize_t                    grammar;
    bw_int_t                   rc;
    bw_uint_t                  i;
    bw_str_t                   value, subject, name;
    bw_log_t                   log;
    bw_conf_t                  cf;
    bw_pool_t                 *pool;
    bw_connection_t            c;
    bw_http_request_t          r;
    bw_http_conf_ctx_t         ctx;
    bw_http_variable_t        *v;
    bw_http_complex_value_t    cv;
    bw_http_core_main_conf_t   cmcf;
    void                      *main_conf[MODULES], *loc_conf[MODULES];

    /* a copy of exactly the input: nothing may read past it */
    t = malloc(size ? size : 1);
    if (t == NULL) {
        return 0;
    }
    memcpy(t, data, size);

    nl = memchr(t, '\n', size);
    n = nl ? (size_t) (nl - t) : size;
    value.data = t;
    value.len = n;
    subject.data = nl ? nl + 1 : t + size;
    subject.len = nl ? size - n - 1 : 0;

    pool = bw_create_pool(1024, NULL);
    if (pool == NULL) {
        free(t);
        return 0;
    }
    /* every allocation its own malloc: an overflow of a value is seen */
    pool->max = 0;

    memset(&log, 0, sizeof(log));
    memset(&cf, 0, sizeof(cf));
    memset(&ctx, 0, sizeof(ctx));
    memset(&cmcf, 0, sizeof(cmcf));
    memset(main_conf, 0, sizeof(main_conf));
    memset(loc_conf, 0, sizeof(loc_conf));

    cf.pool = pool;
    cf.temp_pool = pool;
    cf.log = &log;          /* no file: the messages go nowhere */
    cf.ctx = &ctx;
    ctx.main_conf = main_conf;
    ctx.loc_conf = loc_conf;
    main_conf[bw_http_core_module.ctx_index] = &cmcf;

    if (bw_array_init(&cmcf.variables, pool, 8, sizeof(bw_http_variable_t))
        != BW_OK
        || bw_array_init(&cmcf.prefix_variables, pool, 8,
                         sizeof(bw_http_variable_t)) != BW_OK)
    {
        goto done;
    }

    for (i = 0; i < NVARS; i++) {
        name.data = (u_char *) vars[i].name;
        name.len = strlen(vars[i].name);
        v = bw_http_add_variable(&cf, &name, BW_HTTP_VAR_CHANGEABLE);
        if (v == NULL) {
            goto done;
        }
        v->get_handler = var_get;
        v->data = (uintptr_t) vars[i].value;
    }

    grammar = expect(NULL, t, n, NULL, 0);

    rc = bw_http_compile_complex_value(&cf, &cv, &value);
    if ((rc == BW_OK) != (grammar != -1)) {
        /* refused what nginx takes, or took what nginx refuses */
        __builtin_trap();
    }
    if (rc != BW_OK) {
        goto done;
    }

    rc = bw_http_variables_init_vars(&cf);
    if ((rc == BW_OK) != (grammar != -2)) {
        __builtin_trap();
    }
    if (rc != BW_OK) {
        goto done;
    }

    memset(&c, 0, sizeof(c));
    memset(&r, 0, sizeof(r));
    c.log = &log;
    r.connection = &c;
    r.pool = pool;
    r.main = &r;
    r.main_conf = main_conf;
    r.loc_conf = loc_conf;
    r.variables = bw_pcalloc(pool, (cmcf.variables.nelts + 1)
                                   * sizeof(bw_http_variable_value_t));
    if (r.variables == NULL) {
        goto done;
    }

    /* without captures, then with those of the subject */
    check(&r, &cv, t, n, 0);
    check(&r, &cv, t, n, 1);

    rc = bw_http_regex_exec(&r, regex, &subject);
    if (rc == BW_ERROR) {
        __builtin_trap();
    }
    check(&r, &cv, t, n, 0);
    check(&r, &cv, t, n, 1);

done:

    bw_destroy_pool(pool);
    free(t);
    return 0;
}
