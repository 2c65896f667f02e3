/* Unit tests: escaping for URIs and access logs (core/str.c) and the
 * percent-decoding of paths (core/http/parse.c), with nginx's tables. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <bw_http.h>
#include <cmocka.h>

static void
check_uri(const char *in, size_t n, bw_uint_t type, const char *want)
{
    u_char  buf[1024], *end;
    size_t  extra;

    extra = bw_escape_uri_len((u_char *) in, n, type);
    end = bw_escape_uri(buf, (u_char *) in, n, type);
    assert_int_equal(end - buf, n + extra);
    if ((size_t) (end - buf) != strlen(want)
        || memcmp(buf, want, end - buf) != 0)
    {
        fail_msg("\"%.*s\" != \"%s\"", (int) (end - buf), buf, want);
    }
}

#define uri(lit, type, want)  check_uri(lit, sizeof(lit) - 1, type, want)

static void
test_escape_uri_path(void **state)
{
    /* nginx's NGX_ESCAPE_URI: space, "#", "%", "?", controls and bytes
     * above 0x7e; "\"" too (docs/compatibility.md) */
    uri("/a/b.html", BW_URI_ESCAPE_PATH, "/a/b.html");
    uri("/a b#c%d?e\"f", BW_URI_ESCAPE_PATH, "/a%20b%23c%25d%3Fe%22f");
    /* what a path may hold stays */
    uri("/&+;=@:,!$'()*~-_.", BW_URI_ESCAPE_PATH, "/&+;=@:,!$'()*~-_.");
    /* controls, DEL and UTF-8, hex in capitals */
    uri("\x00\x01\x1f\x7f", BW_URI_ESCAPE_PATH, "%00%01%1F%7F");
    uri("/\xc3\xa9\xff", BW_URI_ESCAPE_PATH, "/%C3%A9%FF");
    uri("", BW_URI_ESCAPE_PATH, "");
}

static void
test_escape_uri_args(void **state)
{
    /* nginx's NGX_ESCAPE_ARGS: the path's set and "&", "+", ";" (they
     * would split or change an argument); "=" and "/" stay */
    uri("a b&c+d;e=f/g", BW_URI_ESCAPE_ARGS, "a%20b%26c%2Bd%3Be=f/g");
    uri("q?#%", BW_URI_ESCAPE_ARGS, "q%3F%23%25");
    uri("\t\xe2\x82\xac", BW_URI_ESCAPE_ARGS, "%09%E2%82%AC");
}

static void
test_escape_uri_every_byte(void **state)
{
    u_char     in[1], out[4], *end;
    size_t     extra;
    bw_uint_t  c, type;
    int        want;

    for (type = BW_URI_ESCAPE_PATH; type <= BW_URI_ESCAPE_ARGS; type++) {
        for (c = 0; c < 256; c++) {
            in[0] = (u_char) c;
            want = c <= 0x20 || c >= 0x7f || strchr("\"#%?", (int) c)
                   || (type == BW_URI_ESCAPE_ARGS && strchr("&+;", (int) c));
            if (c == 0) {
                want = 1;
            }
            extra = bw_escape_uri_len(in, 1, type);
            end = bw_escape_uri(out, in, 1, type);
            assert_int_equal(extra, want ? 2 : 0);
            assert_int_equal(end - out, 1 + extra);
            if (want) {
                assert_int_equal(out[0], '%');
                assert_int_equal(bw_hex_digit(out[1]) * 16
                                 + bw_hex_digit(out[2]), c);
            } else {
                assert_int_equal(out[0], c);
            }
        }
    }
}

static void
check_decode(const char *in, const char *want)
{
    u_char  buf[256];
    size_t  len;

    assert_int_equal(bw_http_normalize_uri((u_char *) in, strlen(in), buf,
                                           &len, 0), BW_OK);
    if (len != strlen(want) || memcmp(buf, want, len) != 0) {
        fail_msg("\"%s\" decoded to \"%.*s\", not \"%s\"", in, (int) len,
                 buf, want);
    }
}

static void
test_unescape(void **state)
{
    u_char     in[8], esc[32], out[32], *end;
    size_t     len;
    bw_uint_t  c;

    /* hex in either case */
    check_decode("/%41%42%4a%4A", "/ABJJ");
    check_decode("/a%2fb%2Fc", "/a/b/c");
    check_decode("/%e2%82%AC", "/\xe2\x82\xac");
    /* once only: "%25" is a "%" that starts nothing */
    check_decode("/%252e%252e/x", "/%2e%2e/x");
    check_decode("/%2541", "/%41");
    /* "+" is a plus in a path, not a space */
    check_decode("/a+b", "/a+b");
    /* a decoded "?" or "#" is part of the path */
    check_decode("/a%3Fb%23c", "/a?b#c");

    /* what the path escaping writes decodes to what it was given:
     * every byte but NUL (refused in a path) and the dot-segment and
     * slash bytes that normalisation rewrites */
    for (c = 1; c < 256; c++) {
        if (c == '/' || c == '.') {
            continue;
        }
        in[0] = '/';
        in[1] = 'x';
        in[2] = (u_char) c;
        in[3] = 'y';
        end = bw_escape_uri(esc, in, 4, BW_URI_ESCAPE_PATH);
        assert_int_equal(bw_http_normalize_uri(esc, end - esc, out, &len, 1),
                         BW_OK);
        assert_int_equal(len, 4);
        assert_memory_equal(out, in, 4);
    }
}

static void
check_log(const char *in, size_t n, bw_uint_t type, const char *want,
    size_t want_len)
{
    u_char  buf[1024];
    size_t  len, written;

    len = bw_escape_log(NULL, (u_char *) in, n, type);
    memset(buf, 0xee, sizeof(buf));
    written = bw_escape_log(buf, (u_char *) in, n, type);
    assert_int_equal(len, written);
    /* nothing written past what it counted */
    assert_int_equal(buf[written], 0xee);
    if (written != want_len || memcmp(buf, want, want_len) != 0) {
        fail_msg("\"%.*s\" != \"%.*s\"", (int) written, buf,
                 (int) want_len, want);
    }
}

#define logged(lit, type, want) \
    check_log(lit, sizeof(lit) - 1, type, want, sizeof(want) - 1)

/* the bytes of a header that Debian's nginx 1.22 logged as below */
#define SAMPLE  "a\tb\x01" "c\x7f" "d\xc3\xa9\"\\e\b\f"

static void
test_log_escape_default(void **state)
{
    /* nginx: "\xXX" (capitals) for controls, DEL and above, '"' and
     * '\'; the rest as it is */
    logged(SAMPLE, BW_ESCAPE_DEFAULT,
           "a\\x09b\\x01c\\x7Fd\\xC3\\xA9\\x22\\x5Ce\\x08\\x0C");
    logged("GET /a?b=c HTTP/1.1", BW_ESCAPE_DEFAULT, "GET /a?b=c HTTP/1.1");
    logged("\x00\x1f ~", BW_ESCAPE_DEFAULT, "\\x00\\x1F ~");
    logged("", BW_ESCAPE_DEFAULT, "");
}

static void
test_log_escape_json(void **state)
{
    /* nginx: '"' and '\' with a backslash, JSON's short forms for
     * \n \r \t \b \f, "\u00XX" for the other controls; DEL and UTF-8
     * pass as they are (a JSON string may hold them) */
    logged(SAMPLE, BW_ESCAPE_JSON,
           "a\\tb\\u0001c\x7f" "d\xc3\xa9\\\"\\\\e\\b\\f");
    logged("\n\r\x00\x1f\x1b", BW_ESCAPE_JSON,
           "\\n\\r\\u0000\\u001F\\u001B");
    logged("plain {} text", BW_ESCAPE_JSON, "plain {} text");
}

static void
test_log_escape_none(void **state)
{
    logged(SAMPLE, BW_ESCAPE_NONE, SAMPLE);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_uri_path),
        cmocka_unit_test(test_escape_uri_args),
        cmocka_unit_test(test_escape_uri_every_byte),
        cmocka_unit_test(test_unescape),
        cmocka_unit_test(test_log_escape_default),
        cmocka_unit_test(test_log_escape_json),
        cmocka_unit_test(test_log_escape_none),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
