/*
 * Rewriting what the upstream says about itself: proxy_redirect (the
 * Location and Refresh headers), proxy_cookie_domain and
 * proxy_cookie_path (the attributes of Set-Cookie, taken apart in
 * bw_http_proxy_cookie.c), with nginx's rules:
 *
 *   a literal "from" (variables allowed) replaces a matching prefix of a
 *   redirect or path, and a whole domain compared without case (leading
 *   dots aside); a regex "from" (~ or ~*) that matches replaces the whole
 *   value, with its captures available to "to" as $1..$9.
 *
 * The first rule that matches wins.
 */

#include <bw_http_proxy.h>

#define BW_HTTP_PROXY_CAPTURES  30

/* Parse one "from to" pair into rules (created on first use). */
char *
bw_http_proxy_rewrite_rule(bw_conf_t *cf, bw_array_t **rules, bw_str_t *from,
    bw_str_t *to, bw_uint_t type)
{
    bw_str_t                  f, t;
    bw_regex_compile_t        rc;
    bw_http_proxy_rewrite_t  *pr;

    if (*rules == NULL) {
        *rules = bw_array_create(cf->pool, 2, sizeof(bw_http_proxy_rewrite_t));
        if (*rules == NULL) {
            return BW_CONF_ERROR;
        }
    }

    pr = bw_array_push(*rules);
    if (pr == NULL) {
        return BW_CONF_ERROR;
    }
    bw_memzero(pr, sizeof(bw_http_proxy_rewrite_t));
    pr->type = type;

    f = *from;
    t = *to;

    if (f.len && f.data[0] == '~') {
        bw_memzero(&rc, sizeof(bw_regex_compile_t));
        rc.pool = cf->pool;
        rc.pattern.data = f.data + 1;
        rc.pattern.len = f.len - 1;
        if (rc.pattern.len && rc.pattern.data[0] == '*') {
            rc.pattern.data++;
            rc.pattern.len--;
            rc.options = BW_REGEX_CASELESS;
        } else if (type == BW_HTTP_PROXY_REWRITE_DOMAIN) {
            /* domains are never case-sensitive */
            rc.options = BW_REGEX_CASELESS;
        }
        if (bw_regex_compile(&rc) != BW_OK) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0, "%.*s",
                              (int) rc.err.len, rc.err.data);
            return BW_CONF_ERROR;
        }
        pr->regex = rc.regex;

        /* (?<name>...) for "to" as $name, as nginx's documented
         * "proxy_cookie_domain ~\.(?P<sl_domain>...)$ $sl_domain" */
        if (bw_http_regex_add_names(cf, rc.regex) != BW_OK) {
            return BW_CONF_ERROR;
        }

    } else {
        if (type == BW_HTTP_PROXY_REWRITE_DOMAIN && f.len
            && f.data[0] == '.')
        {
            f.data++;
            f.len--;
        }
        if (bw_http_compile_complex_value(cf, &pr->from, &f) != BW_OK) {
            return BW_CONF_ERROR;
        }
    }

    if (type == BW_HTTP_PROXY_REWRITE_DOMAIN && t.len && t.data[0] == '.') {
        t.data++;
        t.len--;
    }

    if (bw_http_compile_complex_value(cf, &pr->to, &t) != BW_OK) {
        return BW_CONF_ERROR;
    }

    return BW_CONF_OK;
}

/*
 * Apply the first matching rule to value[off..]: on a match the value is
 * replaced by a new string from the pool.
 */
bw_int_t
bw_http_proxy_rewrite_value(bw_http_request_t *r, bw_array_t *rules,
    bw_str_t *value, size_t off)
{
    int                       caps[BW_HTTP_PROXY_CAPTURES], *saved_caps;
    u_char                   *p, *saved_data;
    size_t                    keep, cut, dot;
    bw_int_t                  n;
    bw_str_t                  from, to, rest;
    bw_uint_t                 i, saved_n;
    bw_regex_t               *saved_regex;
    bw_http_proxy_rewrite_t  *pr;

    rest.data = value->data + off;
    rest.len = value->len - off;

    pr = rules->elts;

    for (i = 0; i < rules->nelts; i++) {

        if (pr[i].regex) {
            n = bw_regex_exec(pr[i].regex, &rest, caps,
                              BW_HTTP_PROXY_CAPTURES);
            if (n == BW_REGEX_NO_MATCHED) {
                continue;
            }
            if (n < 0) {
                return BW_ERROR;
            }

            /* $1..$9 and the named captures of this match for "to",
             * then the request's back */
            saved_caps = r->captures;
            saved_n = r->ncaptures;
            saved_data = r->captures_data;
            saved_regex = r->captures_regex;
            r->captures = caps;
            r->ncaptures = (bw_uint_t) n * 2;
            r->captures_data = rest.data;
            r->captures_regex = pr[i].regex;

            n = bw_http_complex_value(r, &pr[i].to, &to);

            r->captures = saved_caps;
            r->ncaptures = saved_n;
            r->captures_data = saved_data;
            r->captures_regex = saved_regex;

            if (n != BW_OK) {
                return BW_ERROR;
            }
            cut = rest.len;

        } else {
            if (bw_http_complex_value(r, &pr[i].from, &from) != BW_OK) {
                return BW_ERROR;
            }

            if (pr[i].type == BW_HTTP_PROXY_REWRITE_DOMAIN) {
                /* a leading dot is kept and not compared (a regex sees
                 * it, as in nginx) */
                dot = (rest.len && rest.data[0] == '.') ? 1 : 0;
                if (from.len != rest.len - dot
                    || bw_strncasecmp(from.data, rest.data + dot, from.len)
                       != 0)
                {
                    continue;
                }
                off += dot;
                rest.data += dot;
                rest.len -= dot;
            } else if (from.len > rest.len
                       || memcmp(from.data, rest.data, from.len) != 0)
            {
                continue;
            }

            if (bw_http_complex_value(r, &pr[i].to, &to) != BW_OK) {
                return BW_ERROR;
            }
            cut = from.len;
        }

        keep = rest.len - cut;
        p = bw_pnalloc(r->pool, off + to.len + keep);
        if (p == NULL) {
            return BW_ERROR;
        }

        rest.data += cut;
        value->len = off + to.len + keep;
        p = bw_cpymem(p, value->data, off);
        p = bw_cpymem(p, to.data, to.len);
        p = bw_cpymem(p, rest.data, keep);
        value->data = p - value->len;

        return BW_OK;
    }

    return BW_DECLINED;
}

/* Location, or the URL of a Refresh header. */
bw_int_t
bw_http_proxy_rewrite_redirect(bw_http_request_t *r, bw_table_elt_t *h,
    size_t prefix)
{
    u_char                    *p;
    size_t                     off;
    bw_http_proxy_loc_conf_t  *plcf;

    plcf = bw_http_get_module_loc_conf(r, bw_http_proxy_module);
    if (plcf->redirects == NULL) {
        return BW_DECLINED;
    }

    off = prefix;

    if (h->key.len == 7) {
        /* Refresh: "5; url=http://..." */
        p = bw_strlcasestrn(h->value.data, h->value.data + h->value.len,
                            (u_char *) "url=", 4);
        if (p == NULL) {
            return BW_DECLINED;
        }
        off = p + 4 - h->value.data;
    }

    return bw_http_proxy_rewrite_value(r, plcf->redirects, &h->value, off);
}
