/* Unit tests: how long an upstream's answer may be stored, from its
 * Cache-Control, X-Accel-Expires and proxy_cache_valid
 * (modules/http_cache/bw_http_cache_valid.c), as nginx reads them. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <bw_http_cache.h>
#include <cmocka.h>

static time_t
cc(const char *value, time_t *swr, time_t *sie)
{
    size_t    n;
    time_t    v;
    u_char   *copy;
    bw_str_t  s;

    /* exactly the value's bytes: a read past them is reported */
    n = strlen(value);
    copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, value, n);
    s.data = copy;
    s.len = n;

    *swr = -1;
    *sie = -1;
    v = bw_http_cache_control(&s, swr, sie);

    free(copy);
    return v;
}

static void
test_cache_control(void **state)
{
    time_t  swr, sie;

    assert_int_equal(cc("max-age=60", &swr, &sie), 60);
    assert_int_equal(cc("public, max-age=3600", &swr, &sie), 3600);
    assert_int_equal(cc("MAX-AGE=5", &swr, &sie), 5);
    /* s-maxage is the shared caches' own */
    assert_int_equal(cc("max-age=0, s-maxage=30", &swr, &sie), 30);
    assert_int_equal(cc("s-maxage=30,max-age=10", &swr, &sie), 30);
    assert_int_equal(cc("max-age=0", &swr, &sie), BW_HTTP_CACHE_NO);
    assert_int_equal(cc("max-age=1x", &swr, &sie), BW_HTTP_CACHE_NO);
    assert_int_equal(cc("max-age=", &swr, &sie), BW_HTTP_CACHE_NO);
    assert_int_equal(cc("no-cache", &swr, &sie), BW_HTTP_CACHE_NO);
    assert_int_equal(cc("max-age=60, no-store", &swr, &sie),
                     BW_HTTP_CACHE_NO);
    assert_int_equal(cc("private, max-age=60", &swr, &sie),
                     BW_HTTP_CACHE_NO);
    assert_int_equal(cc("public", &swr, &sie), BW_HTTP_CACHE_UNSET);
    assert_int_equal(cc("", &swr, &sie), BW_HTTP_CACHE_UNSET);
    /* a name inside another's is not it */
    assert_int_equal(cc("xmax-age=60", &swr, &sie), BW_HTTP_CACHE_UNSET);

    assert_int_equal(cc("max-age=60, stale-while-revalidate=30, "
                        "stale-if-error=600", &swr, &sie), 60);
    assert_int_equal(swr, 30);
    assert_int_equal(sie, 600);
    assert_int_equal(cc("max-age=60", &swr, &sie), 60);
    assert_int_equal(swr, -1);
    assert_int_equal(sie, -1);
}

static time_t
xae(const char *value, time_t now)
{
    bw_str_t  s;

    s.data = (u_char *) value;
    s.len = strlen(value);
    return bw_http_cache_accel_expires(&s, now);
}

static void
test_accel_expires(void **state)
{
    assert_int_equal(xae("60", 1000), 60);
    assert_int_equal(xae("0", 1000), BW_HTTP_CACHE_NO);
    assert_int_equal(xae("@1060", 1000), 60);
    assert_int_equal(xae("@900", 1000), BW_HTTP_CACHE_STALE_NOW);
    assert_int_equal(xae("soon", 1000), BW_HTTP_CACHE_UNSET);
    assert_int_equal(xae("", 1000), BW_HTTP_CACHE_UNSET);
}

static void
test_valid_for(void **state)
{
    bw_array_t              a;
    bw_http_cache_valid_t   v[3] = { { 200, 10 }, { 0, 5 }, { 404, 99 } };

    a.elts = v;
    a.nelts = 3;

    assert_int_equal(bw_http_cache_valid_for(&a, 200), 10);
    /* "any" before 404: the first line that names the status wins */
    assert_int_equal(bw_http_cache_valid_for(&a, 404), 5);
    assert_int_equal(bw_http_cache_valid_for(NULL, 200), 0);

    a.nelts = 1;
    assert_int_equal(bw_http_cache_valid_for(&a, 301), 0);
}

static void
test_header_valid(void **state)
{
    bw_http_cache_file_header_t  h;

    memset(&h, 0, sizeof(h));
    h.version = BW_HTTP_CACHE_VERSION;
    h.header_start = sizeof(h) + 10;
    h.body_start = h.header_start + 100;
    h.body_length = 1000;

    assert_true(bw_http_cache_header_valid(&h, h.body_start + 1000));
    /* cut short, or longer than said */
    assert_false(bw_http_cache_header_valid(&h, h.body_start + 999));
    assert_false(bw_http_cache_header_valid(&h, h.body_start + 1001));
    /* an unfinished one */
    h.body_length = -1;
    assert_false(bw_http_cache_header_valid(&h, h.body_start));
    h.body_length = 0;
    assert_true(bw_http_cache_header_valid(&h, h.body_start));
    h.version++;
    assert_false(bw_http_cache_header_valid(&h, h.body_start));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cache_control),
        cmocka_unit_test(test_accel_expires),
        cmocka_unit_test(test_valid_for),
        cmocka_unit_test(test_header_valid),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
