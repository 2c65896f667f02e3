/*
 * Set-Cookie from the upstream, as nginx edits it: proxy_cookie_domain
 * and proxy_cookie_path rewrite the Domain and Path attributes (the rule
 * engine is in bw_http_proxy_rewrite.c), proxy_cookie_flags adds or
 * removes Secure, HttpOnly and SameSite on the cookies it names.
 *
 * The value is taken apart into "name=value" and its attributes; when a
 * rule changed something (or a flags rule matched the cookie), it is put
 * back together with "; " between the parts, as nginx does. A value
 * whose first part has no "=" is not a cookie and is left alone.
 */

#include <bw_http_proxy.h>

#define BW_HTTP_PROXY_COOKIE_SECURE       0x01
#define BW_HTTP_PROXY_COOKIE_NOSECURE     0x02
#define BW_HTTP_PROXY_COOKIE_HTTPONLY     0x04
#define BW_HTTP_PROXY_COOKIE_NOHTTPONLY   0x08
#define BW_HTTP_PROXY_COOKIE_STRICT       0x10
#define BW_HTTP_PROXY_COOKIE_LAX          0x20
#define BW_HTTP_PROXY_COOKIE_NONE         0x40
#define BW_HTTP_PROXY_COOKIE_NOSAMESITE   0x80

#define BW_HTTP_PROXY_COOKIE_SAMESITE                                        \
    (BW_HTTP_PROXY_COOKIE_STRICT | BW_HTTP_PROXY_COOKIE_LAX                  \
     | BW_HTTP_PROXY_COOKIE_NONE)

typedef struct {
    bw_str_t   key;
    bw_str_t   value;
    unsigned   eq:1;        /* "key=" (the value may be empty) */
    unsigned   gone:1;      /* removed by a flag */
} bw_http_proxy_cookie_attr_t;

static const struct {
    const char  *name;
    bw_uint_t    flag;
} bw_http_proxy_cookie_flag_names[] = {
    { "secure", BW_HTTP_PROXY_COOKIE_SECURE },
    { "nosecure", BW_HTTP_PROXY_COOKIE_NOSECURE },
    { "httponly", BW_HTTP_PROXY_COOKIE_HTTPONLY },
    { "nohttponly", BW_HTTP_PROXY_COOKIE_NOHTTPONLY },
    { "samesite=strict", BW_HTTP_PROXY_COOKIE_STRICT },
    { "samesite=lax", BW_HTTP_PROXY_COOKIE_LAX },
    { "samesite=none", BW_HTTP_PROXY_COOKIE_NONE },
    { "nosamesite", BW_HTTP_PROXY_COOKIE_NOSAMESITE },
    { NULL, 0 }
};

static bw_uint_t
bw_http_proxy_cookie_flag(bw_str_t *s)
{
    bw_uint_t  i;

    for (i = 0; bw_http_proxy_cookie_flag_names[i].name; i++) {
        if (strlen(bw_http_proxy_cookie_flag_names[i].name) == s->len
            && bw_strncasecmp(s->data,
                   (u_char *) bw_http_proxy_cookie_flag_names[i].name,
                   s->len) == 0)
        {
            return bw_http_proxy_cookie_flag_names[i].flag;
        }
    }

    return 0;
}

/* proxy_cookie_flags off | cookie [flag ...] */
char *
bw_http_proxy_cookie_flags(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_proxy_loc_conf_t  *plcf = conf;

    bw_str_t                      *value;
    bw_uint_t                      i, flag;
    bw_regex_compile_t             rc;
    bw_http_complex_value_t       *cv;
    bw_http_proxy_cookie_flags_t  *pcf;

    value = cf->args->elts;

    if (cf->args->nelts == 2 && bw_str_eq_lit(&value[1], "off")) {
        if (plcf->cookie_flags != BW_CONF_UNSET_PTR) {
            return "is duplicate";
        }
        plcf->cookie_flags = NULL;
        return BW_CONF_OK;
    }

    if (plcf->cookie_flags == NULL) {
        return "is duplicate";
    }

    if (plcf->cookie_flags == BW_CONF_UNSET_PTR) {
        plcf->cookie_flags = bw_array_create(cf->pool, 2,
                                        sizeof(bw_http_proxy_cookie_flags_t));
        if (plcf->cookie_flags == NULL) {
            return BW_CONF_ERROR;
        }
    }

    pcf = bw_array_push(plcf->cookie_flags);
    if (pcf == NULL) {
        return BW_CONF_ERROR;
    }
    bw_memzero(pcf, sizeof(bw_http_proxy_cookie_flags_t));

    if (value[1].len && value[1].data[0] == '~') {
        bw_memzero(&rc, sizeof(bw_regex_compile_t));
        rc.pool = cf->pool;
        rc.pattern.data = value[1].data + 1;
        rc.pattern.len = value[1].len - 1;
        rc.options = BW_REGEX_CASELESS;
        if (bw_regex_compile(&rc) != BW_OK) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0, "%.*s",
                              (int) rc.err.len, rc.err.data);
            return BW_CONF_ERROR;
        }
        pcf->regex = rc.regex;

    } else if (bw_http_compile_complex_value(cf, &pcf->cookie, &value[1])
               != BW_OK)
    {
        return BW_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {
        if (memchr(value[i].data, '$', value[i].len)) {
            /* a flag from a variable: known only per request */
            if (pcf->vars == NULL) {
                pcf->vars = bw_array_create(cf->pool, 2,
                                           sizeof(bw_http_complex_value_t));
                if (pcf->vars == NULL) {
                    return BW_CONF_ERROR;
                }
            }
            cv = bw_array_push(pcf->vars);
            if (cv == NULL
                || bw_http_compile_complex_value(cf, cv, &value[i]) != BW_OK)
            {
                return BW_CONF_ERROR;
            }
            continue;
        }

        flag = bw_http_proxy_cookie_flag(&value[i]);
        if (flag == 0) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "invalid parameter \"%.*s\"",
                              (int) value[i].len, value[i].data);
            return BW_CONF_ERROR;
        }
        pcf->flags |= flag;
    }

    return BW_CONF_OK;
}

static void
bw_http_proxy_cookie_trim(bw_str_t *s)
{
    while (s->len && (s->data[0] == ' ' || s->data[0] == '\t')) {
        s->data++;
        s->len--;
    }
    while (s->len && (s->data[s->len - 1] == ' '
                      || s->data[s->len - 1] == '\t'))
    {
        s->len--;
    }
}

/* The parts of a Set-Cookie value; BW_DECLINED when it is not a cookie. */
static bw_int_t
bw_http_proxy_cookie_parse(bw_str_t *value, bw_array_t *attrs)
{
    u_char                       *p, *end, *semi, *eq;
    bw_http_proxy_cookie_attr_t  *a;

    p = value->data;
    end = p + value->len;

    for ( ;; ) {
        semi = memchr(p, ';', end - p);
        if (semi == NULL) {
            semi = end;
        }

        a = bw_array_push(attrs);
        if (a == NULL) {
            return BW_ERROR;
        }
        bw_memzero(a, sizeof(bw_http_proxy_cookie_attr_t));

        eq = memchr(p, '=', semi - p);
        a->key.data = p;
        a->key.len = (eq ? eq : semi) - p;
        bw_http_proxy_cookie_trim(&a->key);
        if (eq) {
            a->eq = 1;
            a->value.data = eq + 1;
            a->value.len = semi - eq - 1;
            bw_http_proxy_cookie_trim(&a->value);
        }

        if (attrs->nelts == 1 && (!a->eq || a->key.len == 0)) {
            return BW_DECLINED;
        }

        if (semi == end) {
            return BW_OK;
        }
        p = semi + 1;
    }
}

/*
 * Each attribute called name: its value through the rules, as nginx
 * (a browser takes the last of two Domain attributes: rewriting only
 * the first would leave the upstream's in force). BW_OK when one
 * changed.
 */
static bw_int_t
bw_http_proxy_cookie_attr(bw_http_request_t *r, bw_array_t *attrs,
    const char *name, bw_array_t *rules)
{
    bw_int_t                      rc, changed;
    bw_uint_t                     i;
    bw_http_proxy_cookie_attr_t  *a;

    a = attrs->elts;
    changed = BW_DECLINED;

    for (i = 1; i < attrs->nelts; i++) {
        if (!a[i].eq || a[i].key.len != strlen(name)
            || bw_strncasecmp(a[i].key.data, (u_char *) name, a[i].key.len)
               != 0)
        {
            continue;
        }

        rc = bw_http_proxy_rewrite_value(r, rules, &a[i].value, 0);
        if (rc == BW_ERROR) {
            return BW_ERROR;
        }
        if (rc == BW_OK) {
            changed = BW_OK;
        }
    }

    return changed;
}

static bw_http_proxy_cookie_attr_t *
bw_http_proxy_cookie_add(bw_array_t *attrs, const char *text)
{
    bw_http_proxy_cookie_attr_t  *a;

    a = bw_array_push(attrs);
    if (a == NULL) {
        return NULL;
    }
    bw_memzero(a, sizeof(bw_http_proxy_cookie_attr_t));
    a->key.data = (u_char *) text;
    a->key.len = strlen(text);
    return a;
}

/* Set or remove the flags, in nginx's order: Secure, HttpOnly, SameSite. */
static bw_int_t
bw_http_proxy_cookie_edit(bw_array_t *attrs, bw_uint_t flags)
{
    bw_str_t                      site;
    bw_uint_t                     i, n, secure, httponly, samesite;
    bw_http_proxy_cookie_attr_t  *a;

    secure = 0;
    httponly = 0;
    samesite = 0;           /* its index: adding may move the array */
    n = attrs->nelts;
    a = attrs->elts;

    for (i = 1; i < n; i++) {
        if (a[i].key.len == 6
            && bw_strncasecmp(a[i].key.data, (u_char *) "secure", 6) == 0)
        {
            secure = 1;
            a[i].gone = (flags & BW_HTTP_PROXY_COOKIE_NOSECURE) ? 1 : 0;

        } else if (a[i].key.len == 8
                   && bw_strncasecmp(a[i].key.data, (u_char *) "httponly", 8)
                      == 0)
        {
            httponly = 1;
            a[i].gone = (flags & BW_HTTP_PROXY_COOKIE_NOHTTPONLY) ? 1 : 0;

        } else if (a[i].key.len == 8
                   && bw_strncasecmp(a[i].key.data, (u_char *) "samesite", 8)
                      == 0)
        {
            if (samesite == 0) {
                samesite = i;
            }
            a[i].gone = (flags & BW_HTTP_PROXY_COOKIE_NOSAMESITE) ? 1 : 0;
        }
    }

    if ((flags & BW_HTTP_PROXY_COOKIE_SECURE) && !secure
        && bw_http_proxy_cookie_add(attrs, "Secure") == NULL)
    {
        return BW_ERROR;
    }

    if ((flags & BW_HTTP_PROXY_COOKIE_HTTPONLY) && !httponly
        && bw_http_proxy_cookie_add(attrs, "HttpOnly") == NULL)
    {
        return BW_ERROR;
    }

    if (!(flags & BW_HTTP_PROXY_COOKIE_SAMESITE)
        || (flags & BW_HTTP_PROXY_COOKIE_NOSAMESITE))
    {
        return BW_OK;
    }

    if (flags & BW_HTTP_PROXY_COOKIE_STRICT) {
        bw_str_set(&site, "Strict");
    } else if (flags & BW_HTTP_PROXY_COOKIE_LAX) {
        bw_str_set(&site, "Lax");
    } else {
        bw_str_set(&site, "None");
    }

    a = attrs->elts;

    if (samesite && a[samesite].eq && a[samesite].value.len == site.len
        && bw_strncasecmp(a[samesite].value.data, site.data, site.len) == 0)
    {
        return BW_OK;       /* already so: as it was written */
    }

    if (samesite) {
        a = &a[samesite];
    } else {
        a = bw_http_proxy_cookie_add(attrs, "SameSite");
        if (a == NULL) {
            return BW_ERROR;
        }
    }

    bw_str_set(&a->key, "SameSite");
    a->eq = 1;
    a->value = site;

    return BW_OK;
}

/* The first proxy_cookie_flags rule for this cookie: its flags. */
static bw_int_t
bw_http_proxy_cookie_flags_for(bw_http_request_t *r, bw_array_t *rules,
    bw_str_t *name, bw_uint_t *flags)
{
    bw_int_t                       rc;
    bw_str_t                       s;
    bw_uint_t                      i, j;
    bw_http_complex_value_t       *cv;
    bw_http_proxy_cookie_flags_t  *pcf;

    pcf = rules->elts;

    for (i = 0; i < rules->nelts; i++) {
        if (pcf[i].regex) {
            rc = bw_regex_exec(pcf[i].regex, name, NULL, 0);
            if (rc == BW_REGEX_NO_MATCHED) {
                continue;
            }
            if (rc < 0) {
                return BW_ERROR;
            }

        } else {
            if (bw_http_complex_value(r, &pcf[i].cookie, &s) != BW_OK) {
                return BW_ERROR;
            }
            if (s.len != name->len
                || bw_strncasecmp(s.data, name->data, s.len) != 0)
            {
                continue;
            }
        }

        *flags = pcf[i].flags;

        if (pcf[i].vars) {
            cv = pcf[i].vars->elts;
            for (j = 0; j < pcf[i].vars->nelts; j++) {
                if (bw_http_complex_value(r, &cv[j], &s) != BW_OK) {
                    return BW_ERROR;
                }
                *flags |= bw_http_proxy_cookie_flag(&s);
            }
        }

        return BW_OK;
    }

    return BW_DECLINED;
}

static bw_int_t
bw_http_proxy_cookie_join(bw_http_request_t *r, bw_array_t *attrs,
    bw_str_t *value)
{
    u_char                       *p;
    size_t                        len;
    bw_uint_t                     i, first;
    bw_http_proxy_cookie_attr_t  *a;

    a = attrs->elts;
    len = 0;

    for (i = 0; i < attrs->nelts; i++) {
        len += 2 + a[i].key.len + 1 + a[i].value.len;
    }

    p = bw_pnalloc(r->pool, len);
    if (p == NULL) {
        return BW_ERROR;
    }
    value->data = p;

    first = 1;
    for (i = 0; i < attrs->nelts; i++) {
        if (a[i].gone) {
            continue;
        }
        if (!first) {
            *p++ = ';';
            *p++ = ' ';
        }
        first = 0;
        p = bw_cpymem(p, a[i].key.data, a[i].key.len);
        if (a[i].eq) {
            *p++ = '=';
            p = bw_cpymem(p, a[i].value.data, a[i].value.len);
        }
    }

    value->len = p - value->data;
    return BW_OK;
}

bw_int_t
bw_http_proxy_rewrite_cookie(bw_http_request_t *r, bw_table_elt_t *h)
{
    bw_int_t                      rc, changed;
    bw_uint_t                     flags;
    bw_array_t                    attrs;
    bw_http_proxy_loc_conf_t     *plcf;
    bw_http_proxy_cookie_attr_t  *a;

    plcf = bw_http_get_module_loc_conf(r, bw_http_proxy_module);

    if (bw_array_init(&attrs, r->pool, 8,
                      sizeof(bw_http_proxy_cookie_attr_t)) != BW_OK)
    {
        return BW_ERROR;
    }

    rc = bw_http_proxy_cookie_parse(&h->value, &attrs);
    if (rc != BW_OK) {
        return rc == BW_DECLINED ? BW_OK : BW_ERROR;
    }

    changed = 0;

    if (plcf->cookie_domains) {
        rc = bw_http_proxy_cookie_attr(r, &attrs, "domain",
                                       plcf->cookie_domains);
        if (rc == BW_ERROR) {
            return rc;
        }
        changed |= (rc == BW_OK);
    }

    if (plcf->cookie_paths) {
        rc = bw_http_proxy_cookie_attr(r, &attrs, "path", plcf->cookie_paths);
        if (rc == BW_ERROR) {
            return rc;
        }
        changed |= (rc == BW_OK);
    }

    if (plcf->cookie_flags) {
        a = attrs.elts;
        rc = bw_http_proxy_cookie_flags_for(r, plcf->cookie_flags, &a[0].key,
                                            &flags);
        if (rc == BW_ERROR) {
            return rc;
        }
        if (rc == BW_OK) {
            if (bw_http_proxy_cookie_edit(&attrs, flags) != BW_OK) {
                return BW_ERROR;
            }
            changed = 1;
        }
    }

    if (!changed) {
        return BW_OK;
    }

    return bw_http_proxy_cookie_join(r, &attrs, &h->value);
}
