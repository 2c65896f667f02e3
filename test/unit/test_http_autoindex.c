/* Unit tests: the escaping and UTF-8 counting of the autoindex listings
 * (modules/http_autoindex), against what nginx writes for the same
 * names. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <bw_http_autoindex.h>
#include <cmocka.h>

typedef size_t (*len_pt)(u_char *src, size_t size);
typedef u_char *(*escape_pt)(u_char *dst, u_char *src, size_t size);

/* the escaping of src is want, and the length said beforehand is exact:
 * the output goes into a buffer of exactly that size, which
 * AddressSanitizer watches */
static void
check_escape(len_pt len, escape_pt escape, const char *src,
    const char *want)
{
    size_t   n, extra;
    u_char  *copy, *dst, *end;

    n = strlen(src);
    copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, src, n);

    extra = len(copy, n);
    assert_int_equal(n + extra, strlen(want));

    dst = malloc(n + extra ? n + extra : 1);
    assert_non_null(dst);
    end = escape(dst, copy, n);
    assert_int_equal(end - dst, n + extra);
    assert_memory_equal(dst, want, n + extra);

    free(dst);
    free(copy);
}

static void
test_html(void **state)
{
    len_pt     l = bw_http_autoindex_html_len;
    escape_pt  e = bw_http_autoindex_html_escape;

    check_escape(l, e, "", "");
    check_escape(l, e, "plain name.txt", "plain name.txt");
    check_escape(l, e, "a&b<c>d\"e'f", "a&amp;b&lt;c&gt;d&quot;e'f");
    check_escape(l, e, "&&", "&amp;&amp;");
    check_escape(l, e, "\xc3\xa9", "\xc3\xa9");
}

static void
test_uri(void **state)
{
    len_pt     l = bw_http_autoindex_uri_len;
    escape_pt  e = bw_http_autoindex_uri_escape;

    check_escape(l, e, "AZaz09-._~", "AZaz09-._~");
    check_escape(l, e, "a b", "a%20b");
    check_escape(l, e, "c:d", "c%3Ad");
    check_escape(l, e, "%41#?;+&=/@!$'()*,[]", "%2541%23%3F%3B%2B%26%3D%2F"
                 "%40%21%24%27%28%29%2A%2C%5B%5D");
    check_escape(l, e, "\x01\x7f\xc3\xa9\xff", "%01%7F%C3%A9%FF");
}

static void
test_json(void **state)
{
    len_pt     l = bw_http_autoindex_json_len;
    escape_pt  e = bw_http_autoindex_json_escape;

    check_escape(l, e, "plain", "plain");
    check_escape(l, e, "q\"b\\s/", "q\\\"b\\\\s/");
    check_escape(l, e, "\n\r\t\b\f", "\\n\\r\\t\\b\\f");
    check_escape(l, e, "\x01\x1f\x7f", "\\u0001\\u001F\x7f");
    check_escape(l, e, "<&>\xc3\xa9\xff", "<&>\xc3\xa9\xff");
}

static size_t
utf8_length(const char *s)
{
    return bw_http_autoindex_utf8_length((u_char *) s, strlen(s));
}

static void
test_utf8_length(void **state)
{
    assert_int_equal(utf8_length(""), 0);
    assert_int_equal(utf8_length("abc"), 3);
    assert_int_equal(utf8_length("h\xc3\xa9llo"), 5);
    assert_int_equal(utf8_length("\xe2\x82\xac\xf0\x9f\x98\x80"), 2);
    /* not UTF-8: counted in bytes */
    assert_int_equal(utf8_length("bad\xff\xfe"), 5);
    assert_int_equal(utf8_length("a\xc3"), 2);           /* cut short */
    assert_int_equal(utf8_length("\xc0\xaf"), 2);        /* overlong */
    assert_int_equal(utf8_length("\xe0\x80\xaf"), 3);    /* overlong */
    assert_int_equal(utf8_length("\xc3" "a"), 2);        /* no follower */
    assert_int_equal(utf8_length("\xf4\x90\x80\x80"), 4); /* > U+10FFFF */
}

static void
check_copy(const char *src, size_t n, const char *want)
{
    u_char  buf[64], *end;

    memset(buf, 'Z', sizeof(buf));
    end = bw_http_autoindex_utf8_copy(buf, (u_char *) src, n, strlen(src));
    assert_int_equal(end - buf, strlen(want));
    assert_memory_equal(buf, want, strlen(want));
    /* nothing written past what it returns */
    assert_int_equal(*end, 'Z');
}

static void
test_utf8_copy(void **state)
{
    /* n counts the characters plus one, as nginx's ngx_utf8_cpystrn() */
    check_copy("abcdef", 4, "abc");
    check_copy("abc", 10, "abc");
    check_copy("\xc3\xa9\xc3\xa9\xc3\xa9", 3, "\xc3\xa9\xc3\xa9");
    check_copy("a\xe2\x82\xac" "b", 3, "a\xe2\x82\xac");
    check_copy("ab\xff" "cd", 10, "ab");
    check_copy("ab\xc3", 10, "ab");
    check_copy("abc", 1, "");
    check_copy("abc", 0, "");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_html),
        cmocka_unit_test(test_uri),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_utf8_length),
        cmocka_unit_test(test_utf8_copy),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
