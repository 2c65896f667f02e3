/* Unit tests: what the proxy rewrites in the upstream's answer
 * (modules/http_proxy): proxy_redirect on Location and Refresh,
 * proxy_cookie_domain, proxy_cookie_path and proxy_cookie_flags on
 * Set-Cookie, with the examples of nginx's documentation. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "test_http_env.h"
#include <bw_http_proxy.h>

typedef struct {
    test_env_t                 e;
    bw_http_proxy_loc_conf_t  *plcf;
} proxy_t;

static void
proxy_init(proxy_t *p)
{
    test_env_init(&p->e);
    test_env_var(&p->e, "proxy_host", "backend");
    test_env_var(&p->e, "host", "front.example");

    p->plcf = bw_pcalloc(p->e.pool, sizeof(bw_http_proxy_loc_conf_t));
    assert_non_null(p->plcf);
    p->plcf->cookie_flags = BW_CONF_UNSET_PTR;
    p->e.loc_conf[bw_http_proxy_module.ctx_index] = p->plcf;
}

static void
rule(proxy_t *p, bw_array_t **rules, const char *from, const char *to,
    bw_uint_t type)
{
    bw_str_t  f, t;

    f = test_str(from);
    t = test_str(to);
    assert_ptr_equal(bw_http_proxy_rewrite_rule(&p->e.cf, rules, &f, &t,
                                                type), BW_CONF_OK);
}

#define redirect(p, from, to) \
    rule(p, &(p)->plcf->redirects, from, to, BW_HTTP_PROXY_REWRITE_PREFIX)
#define cookie_domain(p, from, to) \
    rule(p, &(p)->plcf->cookie_domains, from, to, BW_HTTP_PROXY_REWRITE_DOMAIN)
#define cookie_path(p, from, to) \
    rule(p, &(p)->plcf->cookie_paths, from, to, BW_HTTP_PROXY_REWRITE_PREFIX)

/* proxy_cookie_flags with its arguments, NULL-ended */
static char *
cookie_flags(proxy_t *p, ...)
{
    va_list       ap;
    bw_str_t     *a;
    const char   *s;

    p->e.cf.args->nelts = 0;
    a = bw_array_push(p->e.cf.args);
    *a = test_str("proxy_cookie_flags");

    va_start(ap, p);
    while ((s = va_arg(ap, const char *)) != NULL) {
        a = bw_array_push(p->e.cf.args);
        assert_non_null(a);
        *a = test_str(s);
    }
    va_end(ap);

    return bw_http_proxy_cookie_flags(&p->e.cf, NULL, p->plcf);
}

/* the configuration read: merged as the module merges an unset one */
static void
ready(proxy_t *p)
{
    if (p->plcf->cookie_flags == BW_CONF_UNSET_PTR) {
        p->plcf->cookie_flags = NULL;
    }
    assert_int_equal(test_env_request(&p->e), BW_OK);
}

/* The header after the redirect rules; rc what they answered. */
static void
check_redirect(proxy_t *p, const char *name, const char *value,
    bw_int_t rc, const char *want)
{
    bw_table_elt_t  h;

    memset(&h, 0, sizeof(h));
    h.key = test_str(name);
    h.value = test_str(value);
    assert_int_equal(bw_http_proxy_rewrite_redirect(&p->e.r, &h, 0), rc);
    assert_str_equal_len(&h.value, want);
}

#define location(p, v, want) \
    check_redirect(p, "Location", v, BW_OK, want)
#define location_kept(p, v) \
    check_redirect(p, "Location", v, BW_DECLINED, v)

static void
check_cookie(proxy_t *p, const char *value, const char *want)
{
    bw_table_elt_t  h;

    memset(&h, 0, sizeof(h));
    h.key = test_str("Set-Cookie");
    h.value = test_str(value);
    assert_int_equal(bw_http_proxy_rewrite_cookie(&p->e.r, &h), BW_OK);
    assert_str_equal_len(&h.value, want);
}

static void
test_redirect_prefix(void **state)
{
    proxy_t  p;

    proxy_init(&p);
    /* nginx's example: the upstream's prefix becomes ours */
    redirect(&p, "http://localhost:8000/two/", "http://frontend/one/");
    redirect(&p, "http://$proxy_host:8000/", "/");
    redirect(&p, "http://other/", "http://$host/o/");
    ready(&p);

    location(&p, "http://localhost:8000/two/some/uri/",
             "http://frontend/one/some/uri/");
    location(&p, "http://localhost:8000/two/", "http://frontend/one/");
    /* variables on both sides */
    location(&p, "http://backend:8000/x?y=1", "/x?y=1");
    location(&p, "http://other/a", "http://front.example/o/a");

    /* a prefix, compared with case, of the whole value */
    location_kept(&p, "http://localhost:8000/two");
    location_kept(&p, "HTTP://localhost:8000/two/x");
    location_kept(&p, "http://x/http://localhost:8000/two/");
    location_kept(&p, "/relative");
    location_kept(&p, "");

    test_env_free(&p.e);
}

static void
test_redirect_order(void **state)
{
    proxy_t  p;

    proxy_init(&p);
    /* the first rule that matches wins, in the order written */
    redirect(&p, "http://a/", "/first/");
    redirect(&p, "http://a/b/", "/second/");
    redirect(&p, "~^http://a/b/(.*)$", "/third/$1");
    ready(&p);

    location(&p, "http://a/b/c", "/first/b/c");

    test_env_free(&p.e);
}

static void
test_redirect_regex(void **state)
{
    proxy_t  p;

    proxy_init(&p);
    /* nginx's examples: the whole value is replaced, $N from the match */
    redirect(&p, "~^(http://[^:]+):\\d+(/.+)$", "$1$2");
    redirect(&p, "~*/user/([^/]+)/(.+)$", "http://$1.example.com/$2");
    /* named captures are variables, as nginx */
    redirect(&p, "~^https://(?<zone>[a-z]+)\\.internal/(.*)$",
             "/z/$zone/$2");
    ready(&p);

    location(&p, "http://localhost:8000/two/x", "http://localhost/two/x");
    /* ~* without case; ~ with */
    location(&p, "http://h/USER/bob/page", "http://bob.example.com/page");
    location(&p, "https://eu.internal/a/b", "/z/eu/a/b");
    location_kept(&p, "https://EU.internal/a");
    location_kept(&p, "http://localhost/");

    test_env_free(&p.e);
}

static void
test_redirect_refresh(void **state)
{
    proxy_t  p;

    proxy_init(&p);
    redirect(&p, "http://localhost:8000/two/", "http://frontend/one/");
    ready(&p);

    /* Refresh: the URL after "url=" (any case) only */
    check_redirect(&p, "Refresh", "5; url=http://localhost:8000/two/x",
                   BW_OK, "5; url=http://frontend/one/x");
    check_redirect(&p, "Refresh", "0;URL=http://localhost:8000/two/",
                   BW_OK, "0;URL=http://frontend/one/");
    check_redirect(&p, "Refresh", "5", BW_DECLINED, "5");
    check_redirect(&p, "Refresh", "http://localhost:8000/two/x",
                   BW_DECLINED, "http://localhost:8000/two/x");

    test_env_free(&p.e);
}

static void
test_cookie_domain(void **state)
{
    proxy_t  p;

    proxy_init(&p);
    /* nginx's example, and its rule for dots: a leading dot on either
     * side is ignored, the cookie's own is kept */
    cookie_domain(&p, "localhost", "example.org");
    cookie_domain(&p, ".old.example", ".$host");
    /* nginx's regex example, with its named capture */
    cookie_domain(&p, "~\\.(?P<sl_domain>[-0-9a-z]+\\.[a-z]+)$",
                  "$sl_domain");
    ready(&p);

    check_cookie(&p, "a=1; domain=localhost", "a=1; domain=example.org");
    check_cookie(&p, "a=1; Domain=.LocalHost; Path=/",
                 "a=1; Domain=.example.org; Path=/");
    check_cookie(&p, "b=2; domain=old.example", "b=2; domain=front.example");
    check_cookie(&p, "b=2; domain=.old.example",
                 "b=2; domain=.front.example");
    check_cookie(&p, "c=3; Domain=www.site.com", "c=3; Domain=site.com");
    /* a whole domain only, not a suffix or a prefix */
    check_cookie(&p, "d=4; domain=xlocalhost", "d=4; domain=xlocalhost");
    check_cookie(&p, "d=4; domain=localhost.net", "d=4; domain=localhost.net");
    /* no Domain: untouched, as written */
    check_cookie(&p, "e=5;path=/x;  Secure", "e=5;path=/x;  Secure");
    /* every Domain of the cookie (a browser takes the last), as nginx */
    check_cookie(&p, "f=6; domain=localhost; Domain=LOCALHOST; domain=z",
                 "f=6; domain=example.org; Domain=example.org; domain=z");

    test_env_free(&p.e);
}

static void
test_cookie_path(void **state)
{
    proxy_t  p;

    proxy_init(&p);
    /* nginx's examples */
    cookie_path(&p, "/two/", "/");
    cookie_path(&p, "~*^/user/([^/]+)", "/u/$1");
    ready(&p);

    check_cookie(&p, "a=1; path=/two/some/uri/", "a=1; path=/some/uri/");
    check_cookie(&p, "a=1; Path=/USER/bob/x", "a=1; Path=/u/bob");
    /* a prefix with case; other attributes as they were */
    check_cookie(&p, "a=1; Path=/TWO/x; HttpOnly",
                 "a=1; Path=/TWO/x; HttpOnly");
    /* put back together with "; " once something changed, as nginx */
    check_cookie(&p, "a=1;Path=/two/x;HttpOnly", "a=1; Path=/x; HttpOnly");
    check_cookie(&p, " a = 1 ;  path = /two/b ", "a=1; path=/b");
    /* not a cookie ("name=value" first): left alone */
    check_cookie(&p, "garbage; path=/two/", "garbage; path=/two/");

    test_env_free(&p.e);
}

static void
test_cookie_flags(void **state)
{
    proxy_t  p;

    proxy_init(&p);
    /* nginx's example */
    assert_null(cookie_flags(&p, "one", "httponly", NULL));
    assert_null(cookie_flags(&p, "~^t", "secure", "samesite=strict", NULL));
    assert_null(cookie_flags(&p, "b", "nosecure", "nohttponly",
                             "nosamesite", NULL));
    assert_null(cookie_flags(&p, "v", "$flag", NULL));
    test_env_var(&p.e, "flag", "samesite=lax");
    ready(&p);

    check_cookie(&p, "one=1", "one=1; HttpOnly");
    check_cookie(&p, "One=1; httponly", "One=1; httponly");
    /* added in nginx's order, after what was there; a SameSite that
     * was there takes the new value where it stands */
    check_cookie(&p, "two=2; path=/",
                 "two=2; path=/; Secure; SameSite=Strict");
    check_cookie(&p, "t=2; samesite=lax; Path=/",
                 "t=2; SameSite=Strict; Path=/; Secure");
    check_cookie(&p, "t=3; SameSite=strict; secure",
                 "t=3; SameSite=strict; secure");
    /* each flag removed wherever it stands, as nginx */
    check_cookie(&p, "b=1; Secure; secure; HttpOnly; SameSite=None; "
                     "Domain=d", "b=1; Domain=d");
    /* flags from a variable */
    check_cookie(&p, "v=1", "v=1; SameSite=Lax");
    /* a cookie no rule names */
    check_cookie(&p, "other=1; Secure", "other=1; Secure");

    /* the parameters nginx refuses, and off */
    assert_ptr_equal(cookie_flags(&p, "x", "bogus", NULL), BW_CONF_ERROR);
    assert_non_null(strstr(test_env_errors(&p.e),
                           "invalid parameter \"bogus\""));
    test_env_free(&p.e);

    proxy_init(&p);
    assert_null(cookie_flags(&p, "off", NULL));
    assert_null(p.plcf->cookie_flags);
    assert_string_equal(cookie_flags(&p, "a", "secure", NULL),
                        "is duplicate");
    test_env_free(&p.e);
}

static void
test_regex_error(void **state)
{
    proxy_t   p;
    bw_str_t  f, t;

    proxy_init(&p);
    f = test_str("~^(unclosed");
    t = test_str("/");
    assert_ptr_equal(bw_http_proxy_rewrite_rule(&p.e.cf, &p.plcf->redirects,
                                                &f, &t,
                                                BW_HTTP_PROXY_REWRITE_PREFIX),
                     BW_CONF_ERROR);
    assert_non_null(strstr(test_env_errors(&p.e), "pcre2_compile() failed"));
    test_env_free(&p.e);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redirect_prefix),
        cmocka_unit_test(test_redirect_order),
        cmocka_unit_test(test_redirect_regex),
        cmocka_unit_test(test_redirect_refresh),
        cmocka_unit_test(test_cookie_domain),
        cmocka_unit_test(test_cookie_path),
        cmocka_unit_test(test_cookie_flags),
        cmocka_unit_test(test_regex_error),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
