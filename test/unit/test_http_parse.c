/* Unit tests: request line, header lines, URI normalisation, chunked
 * bodies and Host validation (core/http/parse.c). */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <bw_http.h>
#include <cmocka.h>

static bw_int_t
parse_line(const char *s, bw_http_request_t *r)
{
    u_char  *next;

    memset(r, 0, sizeof(*r));
    return bw_http_parse_request_line(r, (u_char *) s,
                                      (u_char *) s + strlen(s), &next);
}

static void
test_request_line_ok(void **state)
{
    bw_http_request_t  r;

    assert_int_equal(parse_line("GET /a?b=1 HTTP/1.1\r\n", &r), BW_OK);
    assert_int_equal(r.method, BW_HTTP_GET);
    assert_int_equal(r.http_version, BW_HTTP_VERSION_11);
    assert_int_equal(r.unparsed_uri.len, 6);
    assert_memory_equal(r.unparsed_uri.data, "/a?b=1", 6);

    assert_int_equal(parse_line("HEAD / HTTP/1.0\n", &r), BW_OK);
    assert_int_equal(r.method, BW_HTTP_HEAD);
    assert_int_equal(r.http_version, BW_HTTP_VERSION_10);

    /* leading empty lines are ignored (RFC 9112 2.2) */
    assert_int_equal(parse_line("\r\nGET / HTTP/1.1\r\n", &r), BW_OK);

    assert_int_equal(parse_line("OPTIONS * HTTP/1.1\r\n", &r), BW_OK);

    /* a fragment is kept in the target ($request_uri), as nginx */
    assert_int_equal(parse_line("GET /a?b#f HTTP/1.1\r\n", &r), BW_OK);
    assert_int_equal(r.unparsed_uri.len, 6);
}

static void
test_request_line_absolute(void **state)
{
    bw_http_request_t  r;

    assert_int_equal(parse_line("GET http://Example.com:81/x?y HTTP/1.1\r\n",
                                &r), BW_OK);
    assert_int_equal(r.host.len, strlen("Example.com:81"));
    assert_memory_equal(r.host.data, "Example.com:81", r.host.len);
    assert_int_equal(r.unparsed_uri.len, 4);
    assert_memory_equal(r.unparsed_uri.data, "/x?y", 4);

    assert_int_equal(parse_line("GET http://u@h/ HTTP/1.1\r\n", &r),
                     BW_HTTP_BAD_REQUEST);

    /* nginx's grammar of the authority */
    assert_int_equal(parse_line("GET http://[::1]:8080 HTTP/1.1\r\n", &r),
                     BW_OK);
    assert_int_equal(r.host.len, strlen("[::1]:8080"));
    assert_int_equal(parse_line("GET http://h:/x HTTP/1.1\r\n", &r), BW_OK);
    assert_int_equal(parse_line("GET http://h?a HTTP/1.1\r\n", &r), BW_OK);
    assert_int_equal(r.unparsed_uri.len, 2);
    assert_int_equal(parse_line("GET http://h:65535/ HTTP/1.1\r\n", &r),
                     BW_OK);
    assert_int_equal(parse_line("GET http://h:123456/ HTTP/1.1\r\n", &r),
                     BW_HTTP_BAD_REQUEST);
    assert_int_equal(parse_line("GET http://h:80x/ HTTP/1.1\r\n", &r),
                     BW_HTTP_BAD_REQUEST);
    assert_int_equal(parse_line("GET http://extra[abcd/ HTTP/1.1\r\n", &r),
                     BW_HTTP_BAD_REQUEST);
    assert_int_equal(parse_line("GET http://[::1/ HTTP/1.1\r\n", &r),
                     BW_HTTP_BAD_REQUEST);
    assert_int_equal(parse_line("GET http://a_b/ HTTP/1.1\r\n", &r),
                     BW_HTTP_BAD_REQUEST);
    assert_int_equal(parse_line("GET http://h#f/ HTTP/1.1\r\n", &r),
                     BW_HTTP_BAD_REQUEST);
    assert_int_equal(parse_line("GET http:///x HTTP/1.1\r\n", &r),
                     BW_HTTP_BAD_REQUEST);
}

static void
test_request_line_connect(void **state)
{
    bw_http_request_t  r;

    /* a well-formed CONNECT is not served; anything else is malformed */
    assert_int_equal(parse_line("CONNECT a:443 HTTP/1.1\r\n", &r),
                     BW_HTTP_NOT_ALLOWED);
    assert_int_equal(parse_line("CONNECT [::1]:443 HTTP/1.1\r\n", &r),
                     BW_HTTP_NOT_ALLOWED);
    assert_int_equal(parse_line("CONNECT a HTTP/1.1\r\n", &r),
                     BW_HTTP_BAD_REQUEST);
    assert_int_equal(parse_line("CONNECT a: HTTP/1.1\r\n", &r),
                     BW_HTTP_BAD_REQUEST);
    assert_int_equal(parse_line("CONNECT /x HTTP/1.1\r\n", &r),
                     BW_HTTP_BAD_REQUEST);
    assert_int_equal(parse_line("CONNECT a:443/x HTTP/1.1\r\n", &r),
                     BW_HTTP_BAD_REQUEST);
    assert_int_equal(parse_line("CONNECT :443 HTTP/1.1\r\n", &r),
                     BW_HTTP_BAD_REQUEST);
    assert_int_equal(parse_line("CONNECT a:443444 HTTP/1.1\r\n", &r),
                     BW_HTTP_BAD_REQUEST);
}

static void
test_request_line_bad(void **state)
{
    bw_http_request_t  r;

    assert_int_equal(parse_line("GET / HTTP/1.1", &r), BW_AGAIN);
    assert_int_equal(parse_line("GET /\r\n", &r), BW_HTTP_BAD_REQUEST);
    assert_int_equal(parse_line("get / HTTP/1.1\r\n", &r),
                     BW_HTTP_BAD_REQUEST);
    assert_int_equal(parse_line("GET  / HTTP/1.1\r\n", &r),
                     BW_HTTP_BAD_REQUEST);
    assert_int_equal(parse_line("GET /a b HTTP/1.1\r\n", &r),
                     BW_HTTP_BAD_REQUEST);
    assert_int_equal(parse_line("GET /\r HTTP/1.1\r\n", &r),
                     BW_HTTP_BAD_REQUEST);
    assert_int_equal(parse_line("GET / HTTP/2.0\r\n", &r),
                     BW_HTTP_VERSION_NOT_SUPPORTED);
    assert_int_equal(parse_line("GET / HTTP/0.9\r\n", &r),
                     BW_HTTP_BAD_REQUEST);
    assert_int_equal(parse_line("GET / HTTP/1.10\r\n", &r),
                     BW_HTTP_BAD_REQUEST);
    assert_int_equal(parse_line("GET * HTTP/1.1\r\n", &r),
                     BW_HTTP_BAD_REQUEST);
}

static bw_int_t
parse_header(const char *s, bw_http_request_t *r, bw_uint_t underscores)
{
    u_char  *p = (u_char *) s;

    memset(r, 0, sizeof(*r));
    return bw_http_parse_header_line(r, &p, (u_char *) s + strlen(s),
                                     underscores);
}

static void
test_header_line(void **state)
{
    bw_http_request_t  r;

    assert_int_equal(parse_header("Host:  a.b \r\n", &r, 0), BW_OK);
    assert_int_equal(r.header_name_end - r.header_name_start, 4);
    assert_int_equal(r.header_end - r.header_start, 3);
    assert_memory_equal(r.header_start, "a.b", 3);

    assert_int_equal(parse_header("X-Empty:\r\n", &r, 0), BW_OK);
    assert_int_equal(r.header_end - r.header_start, 0);

    assert_int_equal(parse_header("\r\n", &r, 0), BW_HTTP_PARSE_HEADER_DONE);
    assert_int_equal(parse_header("\n", &r, 0), BW_HTTP_PARSE_HEADER_DONE);
    assert_int_equal(parse_header("Host: a", &r, 0), BW_AGAIN);

    /* smuggling vectors */
    assert_int_equal(parse_header(" folded\r\n", &r, 0), BW_HTTP_BAD_REQUEST);
    assert_int_equal(parse_header("Transfer-Encoding : chunked\r\n", &r, 0),
                     BW_HTTP_BAD_REQUEST);
    assert_int_equal(parse_header("A: b\rc\r\n", &r, 0), BW_HTTP_BAD_REQUEST);
    assert_int_equal(parse_header("\rX: y\r\n", &r, 0), BW_HTTP_BAD_REQUEST);
    assert_int_equal(parse_header("A\x01: b\r\n", &r, 0),
                     BW_HTTP_BAD_REQUEST);
    assert_int_equal(parse_header("NoColon\r\n", &r, 0), BW_HTTP_BAD_REQUEST);
    assert_int_equal(parse_header(": v\r\n", &r, 0), BW_HTTP_BAD_REQUEST);

    {
        const char  nul[] = "A: b\0c\r\n";
        u_char     *p = (u_char *) nul;
        memset(&r, 0, sizeof(r));
        assert_int_equal(bw_http_parse_header_line(&r, &p, p + sizeof(nul) - 1,
                                                   0), BW_HTTP_BAD_REQUEST);
    }

    assert_int_equal(parse_header("X_Y: 1\r\n", &r, 0), BW_DECLINED);
    assert_int_equal(parse_header("X_Y: 1\r\n", &r, 1), BW_OK);

    /* values are checked eight bytes at a time: every position counts */
    assert_int_equal(parse_header("A: 0123456789abc\tdef 01234\r\n", &r, 0),
                     BW_OK);
    assert_int_equal(parse_header("A: 0123456789a\x7f" "cdef\r\n", &r, 0),
                     BW_HTTP_BAD_REQUEST);
    assert_int_equal(parse_header("A: 0123456789abcdefghij\x01k\r\n", &r, 0),
                     BW_HTTP_BAD_REQUEST);
    assert_int_equal(parse_header("A: 0123456789abcdefghij\x1fkl\r\n", &r,
                                  0), BW_HTTP_BAD_REQUEST);
    assert_int_equal(parse_header("A: caf\xc3\xa9 0123456789 \xff\r\n", &r,
                                  0), BW_OK);

    /* the name comes back lowercased and hashed as bw_hash_key does */
    assert_int_equal(parse_header("X-Forwarded-For: 1\r\n", &r, 0), BW_OK);
    assert_memory_equal(r.lowcase_header, "x-forwarded-for", 15);
    assert_int_equal(r.header_hash,
                     bw_hash_key((u_char *) "x-forwarded-for", 15));
}

static void
check_norm(const char *in, const char *out, bw_uint_t merge)
{
    u_char  buf[256];
    size_t  len;

    assert_int_equal(bw_http_normalize_uri((u_char *) in, strlen(in), buf,
                                           &len, merge), BW_OK);
    assert_int_equal(len, strlen(out));
    assert_memory_equal(buf, out, len);
}

static void
check_norm_bad(const char *in)
{
    u_char  buf[256];
    size_t  len;

    assert_int_equal(bw_http_normalize_uri((u_char *) in, strlen(in), buf,
                                           &len, 1), BW_ERROR);
}

static void
test_normalize(void **state)
{
    check_norm("/", "/", 1);
    check_norm("/a/b", "/a/b", 1);
    check_norm("/a/../b", "/b", 1);
    check_norm("/a/./b/.", "/a/b/", 1);
    check_norm("//a///b", "/a/b", 1);
    check_norm("//a///b", "//a///b", 0);
    check_norm("/a/b/..", "/a/", 1);
    check_norm("/%61%2Fb", "/a/b", 1);
    check_norm("/a/%2e%2e/b", "/b", 1);
    check_norm("/a..b/c", "/a..b/c", 1);
    check_norm("/.well-known/x", "/.well-known/x", 1);

    check_norm_bad("/..");
    check_norm_bad("/a/../..");
    check_norm_bad("/%2e%2e/etc/passwd");
    check_norm_bad("/a%00b");
    check_norm_bad("/a%zz");
    check_norm_bad("/a%2");
    check_norm_bad("a/b");
}

static bw_int_t
chunked_all(const char *body, size_t n, char *out, size_t *outlen)
{
    bw_http_chunked_t  ctx;
    u_char            *p, *end, *data;
    size_t             len;
    bw_int_t           rc;

    memset(&ctx, 0, sizeof(ctx));
    p = (u_char *) body;
    end = p + n;
    *outlen = 0;

    for ( ;; ) {
        rc = bw_http_parse_chunked(&ctx, &p, end, &data, &len);
        if (rc == BW_OK) {
            memcpy(out + *outlen, data, len);
            *outlen += len;
            continue;
        }
        return rc;
    }
}

static void
test_chunked(void **state)
{
    char    out[64];
    size_t  len;
    const char  ok[] = "3\r\nabc\r\n10;ext=1\r\n0123456789abcdef\r\n0\r\n"
                       "Trailer: x\r\n\r\n";

    assert_int_equal(chunked_all(ok, sizeof(ok) - 1, out, &len), BW_DONE);
    assert_int_equal(len, 19);
    assert_memory_equal(out, "abc0123456789abcdef", 19);

    assert_int_equal(chunked_all("3\r\nab", 5, out, &len), BW_AGAIN);
    assert_int_equal(chunked_all("x\r\n", 3, out, &len), BW_ERROR);
    assert_int_equal(chunked_all(" 3\r\nabc\r\n", 9, out, &len), BW_ERROR);
    assert_int_equal(chunked_all("3\nabc\r\n", 7, out, &len), BW_ERROR);
    assert_int_equal(chunked_all("3\r\nabcX\r\n", 9, out, &len), BW_ERROR);
    assert_int_equal(chunked_all("ffffffffffffffffff\r\n", 20, out, &len),
                     BW_ERROR);
    assert_int_equal(chunked_all("0x3\r\nabc\r\n", 10, out, &len), BW_ERROR);
}

/* The largest size taken is 2^60 - 1 (docs/compatibility.md), and it is
 * known as soon as the size line ends, before any data. */
static void
test_chunked_size_limit(void **state)
{
    bw_http_chunked_t  ctx;
    u_char            *p, *data;
    size_t             len;
    const char         max[] = "fffffffffffffff\r\n";
    const char         over[] = "1000000000000000\r\n";

    memset(&ctx, 0, sizeof(ctx));
    p = (u_char *) max;
    assert_int_equal(bw_http_chunked_announced(&ctx), 0);
    assert_int_equal(bw_http_parse_chunked(&ctx, &p, p + sizeof(max) - 1,
                                           &data, &len), BW_AGAIN);
    assert_true(bw_http_chunked_announced(&ctx)
                == ((off_t) 1 << 60) - 1);

    memset(&ctx, 0, sizeof(ctx));
    p = (u_char *) over;
    assert_int_equal(bw_http_parse_chunked(&ctx, &p, p + sizeof(over) - 1,
                                           &data, &len), BW_ERROR);

    /* part of a chunk read: what is announced is the rest of it */
    memset(&ctx, 0, sizeof(ctx));
    p = (u_char *) "a\r\nabc";
    assert_int_equal(bw_http_parse_chunked(&ctx, &p, p + 6, &data, &len),
                     BW_OK);
    assert_int_equal(len, 3);
    assert_int_equal(bw_http_chunked_announced(&ctx), 7);
}

static void
test_host(void **state)
{
    bw_pool_t  *pool = bw_create_pool(1024, NULL);
    bw_str_t    h;

    bw_str_set(&h, "Example.COM:8080");
    assert_int_equal(bw_http_validate_host(&h, pool, 0), BW_OK);
    assert_int_equal(h.len, 11);
    assert_memory_equal(h.data, "example.com", 11);

    bw_str_set(&h, "a.b.");
    assert_int_equal(bw_http_validate_host(&h, pool, 0), BW_OK);
    assert_int_equal(h.len, 3);

    bw_str_set(&h, "[::1]:80");
    assert_int_equal(bw_http_validate_host(&h, pool, 0), BW_OK);
    assert_int_equal(h.len, 5);

    bw_str_set(&h, "a..b");
    assert_int_equal(bw_http_validate_host(&h, pool, 0), BW_DECLINED);
    bw_str_set(&h, "a/b");
    assert_int_equal(bw_http_validate_host(&h, pool, 0), BW_DECLINED);
    bw_str_set(&h, "a b");
    assert_int_equal(bw_http_validate_host(&h, pool, 0), BW_DECLINED);
    bw_str_set(&h, ":80");
    assert_int_equal(bw_http_validate_host(&h, pool, 0), BW_DECLINED);

    bw_destroy_pool(pool);
}

static bw_int_t
status(const char *s, bw_http_status_t *st)
{
    u_char  *next;

    memset(st, 0, sizeof(*st));
    return bw_http_parse_status_line((u_char *) s, (u_char *) s + strlen(s),
                                     st, &next);
}

static void
test_status_line(void **state)
{
    bw_http_status_t  st;

    assert_int_equal(status("HTTP/1.1 200 OK\r\n", &st), BW_OK);
    assert_int_equal(st.code, 200);
    assert_int_equal(st.http_version, 1001);
    assert_int_equal(st.text.len, 6);
    assert_memory_equal(st.text.data, "200 OK", 6);

    assert_int_equal(status("HTTP/1.0 404\n", &st), BW_OK);
    assert_int_equal(st.code, 404);
    assert_int_equal(status("HTTP/1.1 502 Bad\tGateway \xff\r\n", &st),
                     BW_OK);
    assert_int_equal(status("HTTP/1.1 200 OK", &st), BW_AGAIN);

    assert_int_equal(status("HTTP/1.1 20 OK\r\n", &st), BW_ERROR);
    assert_int_equal(status("HTTP/1.1 2000 OK\r\n", &st), BW_ERROR);
    assert_int_equal(status("HTTP/1.1 099 X\r\n", &st), BW_ERROR);
    assert_int_equal(status("HTTP/1.1  200 OK\r\n", &st), BW_ERROR);
    assert_int_equal(status("http/1.1 200 OK\r\n", &st), BW_ERROR);
    assert_int_equal(status("ICY 200 OK\r\n", &st), BW_ERROR);
    assert_int_equal(status("HTTP/1.1 200 O\rK\r\n", &st), BW_ERROR);
    assert_int_equal(status("<html>\n", &st), BW_ERROR);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_line_ok),
        cmocka_unit_test(test_request_line_absolute),
        cmocka_unit_test(test_request_line_connect),
        cmocka_unit_test(test_request_line_bad),
        cmocka_unit_test(test_header_line),
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_chunked_size_limit),
        cmocka_unit_test(test_host),
        cmocka_unit_test(test_status_line),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
