/* Unit tests: the FastCGI response's record parser
 * (modules/http_fastcgi/bw_http_fastcgi_parse.c) as the response code
 * drives it: the same STDOUT and STDERR bytes however the records are
 * cut across reads, END_REQUEST reported once and only after its
 * padding, padding never taken for content, and a broken peer (version,
 * type, request id) refused with the code the error log line is chosen
 * by. Each piece is fed from a buffer of exactly its size, so that a
 * read past what was given is reported by AddressSanitizer. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <bw_http_fastcgi.h>
#include <cmocka.h>

#define RESP_MAX   4096
#define OUT_MAX    4096

/* what a caller gets from a record stream fed in pieces */
typedef struct {
    bw_int_t     rc;             /* the last non-data code */
    bw_uint_t    ends;           /* END reported */
    size_t       end_at;         /* END's position in the whole stream */
    bw_uint_t    end_piece;      /* the piece END came in */
    u_char       out[OUT_MAX];   /* STDOUT, concatenated */
    size_t       out_len;
    u_char       err[OUT_MAX];   /* STDERR, concatenated */
    size_t       err_len;
    bw_uint_t    pieces;         /* data pieces returned */
    bw_http_fastcgi_parser_t  st;
} fed_t;

/* a response being put together record by record */
typedef struct {
    u_char       buf[RESP_MAX];
    size_t       len;
} resp_t;

/* looks like a record of its own: padding must never be read as one */
static const u_char  fake_record[] = {
    1, BW_HTTP_FASTCGI_STDOUT, 0, 1, 0, 4, 0, 0, 'E', 'V', 'I', 'L'
};

static void
header(resp_t *r, u_char version, u_char type, u_char id_hi, u_char id_lo,
    size_t clen, u_char padding)
{
    u_char  *p;

    assert_true(r->len + BW_HTTP_FASTCGI_HEADER_LEN <= RESP_MAX);

    p = r->buf + r->len;
    p[0] = version;
    p[1] = type;
    p[2] = id_hi;
    p[3] = id_lo;
    p[4] = (u_char) (clen >> 8);
    p[5] = (u_char) (clen & 0xff);
    p[6] = padding;
    p[7] = 0x5a;                        /* reserved: anything */
    r->len += BW_HTTP_FASTCGI_HEADER_LEN;
}

/* a well-formed record of request 1, its padding a fake record */
static void
record(resp_t *r, u_char type, const void *content, size_t clen,
    u_char padding)
{
    size_t  i;

    header(r, 1, type, 0, BW_HTTP_FASTCGI_REQUEST_ID, clen, padding);

    assert_true(r->len + clen + padding <= RESP_MAX);
    if (clen) {
        memcpy(r->buf + r->len, content, clen);
    }
    r->len += clen;

    for (i = 0; i < padding; i++) {
        r->buf[r->len++] = fake_record[i % sizeof(fake_record)];
    }
}

static void
record_str(resp_t *r, u_char type, const char *s, u_char padding)
{
    record(r, type, s, strlen(s), padding);
}

static void
end_request(resp_t *r, u_char padding)
{
    /* appStatus 0, protocolStatus FCGI_REQUEST_COMPLETE */
    static const u_char  body[8] = { 0, 0, 0, 0, 0, 0, 0, 0 };

    record(r, BW_HTTP_FASTCGI_END_REQUEST, body, sizeof(body), padding);
}

/*
 * Feed buf in pieces ending at cuts[0], cuts[1], ..., len, each from a
 * buffer of its own, and collect what comes out as the response code
 * does: data until NEED (then the next read), END, or an error. Checks
 * on every call what the caller's in-place decoding and its "data after
 * END_REQUEST" test rely on.
 */
static void
feed(fed_t *f, const u_char *buf, size_t len, const size_t *cuts,
    bw_uint_t ncuts)
{
    u_char     *piece, *pos, *before, *last;
    size_t      from, to, n;
    bw_int_t    rc;
    bw_uint_t   i, calls;
    bw_str_t    out;

    memset(f, 0, sizeof(*f));
    f->rc = BW_HTTP_FASTCGI_NEED;

    from = 0;
    for (i = 0; i <= ncuts; i++) {
        to = (i < ncuts) ? cuts[i] : len;
        assert_true(to >= from && to <= len);
        n = to - from;

        piece = malloc(n ? n : 1);
        assert_non_null(piece);
        if (n) {
            memcpy(piece, buf + from, n);
        }
        pos = piece;
        last = piece + n;

        for (calls = 0; ; calls++) {
            /* a piece of n bytes gives no more than n + 1 answers */
            assert_true(calls <= n + 1);

            before = pos;
            out.data = NULL;
            out.len = 0;
            rc = bw_http_fastcgi_parse(&f->st, &pos, last, &out);

            assert_true(pos >= before && pos <= last);

            if (rc == BW_HTTP_FASTCGI_STDOUT_DATA
                || rc == BW_HTTP_FASTCGI_STDERR_DATA)
            {
                /* inside what was given, at or after where the call
                 * began (the decoding moves STDOUT down over it), and
                 * ending where the next call begins */
                assert_non_null(out.data);
                assert_true(out.len > 0);
                assert_true(out.data >= before);
                assert_ptr_equal(out.data + out.len, pos);

                if (rc == BW_HTTP_FASTCGI_STDOUT_DATA) {
                    assert_true(f->out_len + out.len <= OUT_MAX);
                    memcpy(f->out + f->out_len, out.data, out.len);
                    f->out_len += out.len;
                } else {
                    assert_true(f->err_len + out.len <= OUT_MAX);
                    memcpy(f->err + f->err_len, out.data, out.len);
                    f->err_len += out.len;
                }
                f->pieces++;
                continue;
            }

            f->rc = rc;

            if (rc == BW_HTTP_FASTCGI_NEED) {
                /* all of it taken: the caller keeps nothing back */
                assert_ptr_equal(pos, last);
                assert_int_not_equal(f->st.state, bw_fcgi_st_done);
                break;
            }

            if (rc == BW_HTTP_FASTCGI_END) {
                /* what the caller tests for the end of the body */
                assert_int_equal(f->st.state, bw_fcgi_st_done);
                f->ends++;
                f->end_at = from + (size_t) (pos - piece);
                f->end_piece = i;
            }

            break;
        }

        free(piece);

        if (f->rc != BW_HTTP_FASTCGI_NEED) {
            return;
        }
        from = to;
    }
}

static void
feed_whole(fed_t *f, const u_char *buf, size_t len)
{
    feed(f, buf, len, NULL, 0);
}

/* what a whole response gives: its STDOUT, its STDERR, END at its end */
static void
check_response(fed_t *f, size_t len, bw_uint_t last_piece,
    const char *out, const char *err)
{
    assert_int_equal(f->rc, BW_HTTP_FASTCGI_END);
    assert_int_equal(f->ends, 1);
    assert_int_equal(f->end_at, len);
    assert_int_equal(f->end_piece, last_piece);

    assert_int_equal(f->out_len, strlen(out));
    assert_memory_equal(f->out, out, f->out_len);
    assert_int_equal(f->err_len, strlen(err));
    if (f->err_len) {
        assert_memory_equal(f->err, err, f->err_len);
    }
}

/* a response as PHP-FPM sends one, with a body record over 255 bytes
 * (the length's high byte) */
static char  body[300];

#define HDR   "Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\n"
#define ERR   "PHP Notice:  Undefined index: q in /srv/index.php\n"

static void
php_response(resp_t *r, char *expected, size_t size)
{
    memset(body, 'b', sizeof(body));
    body[0] = '<';
    body[sizeof(body) - 1] = '>';

    memset(r, 0, sizeof(*r));
    record_str(r, BW_HTTP_FASTCGI_STDOUT, HDR, 5);
    record_str(r, BW_HTTP_FASTCGI_STDERR, ERR, 0);
    record(r, BW_HTTP_FASTCGI_STDOUT, body, sizeof(body), 4);
    record_str(r, BW_HTTP_FASTCGI_STDOUT, "tail\n", 3);
    /* the end of the STDOUT stream */
    record(r, BW_HTTP_FASTCGI_STDOUT, NULL, 0, 0);
    end_request(r, 0);

    assert_true(strlen(HDR) + sizeof(body) + 5 + 1 <= size);
    memcpy(expected, HDR, strlen(HDR));
    memcpy(expected + strlen(HDR), body, sizeof(body));
    memcpy(expected + strlen(HDR) + sizeof(body), "tail\n", 6);
}

static void
test_whole(void **state)
{
    fed_t   f;
    resp_t  r;
    char    expected[OUT_MAX];

    php_response(&r, expected, sizeof(expected));

    feed_whole(&f, r.buf, r.len);
    check_response(&f, r.len, 0, expected, ERR);
    /* each record's content in one piece: no copy of it is needed */
    assert_int_equal(f.pieces, 4);
}

static void
test_byte_by_byte(void **state)
{
    fed_t      f;
    resp_t     r;
    size_t     i, cuts[RESP_MAX];
    char       expected[OUT_MAX];

    php_response(&r, expected, sizeof(expected));

    /* a read of each byte: END only with the very last one */
    for (i = 0; i + 1 < r.len; i++) {
        cuts[i] = i + 1;
    }
    feed(&f, r.buf, r.len, cuts, (bw_uint_t) (r.len - 1));
    check_response(&f, r.len, (bw_uint_t) (r.len - 1), expected, ERR);
}

static void
test_split_everywhere(void **state)
{
    fed_t      f;
    resp_t     r;
    size_t     cut;
    char       expected[OUT_MAX];

    php_response(&r, expected, sizeof(expected));

    /* two reads, the first of none to all of the bytes */
    for (cut = 0; cut <= r.len; cut++) {
        feed(&f, r.buf, r.len, &cut, 1);
        check_response(&f, r.len, cut == r.len ? 0 : 1, expected, ERR);
    }
}

static void
test_padding(void **state)
{
    fed_t      f;
    resp_t     r;
    size_t     cut;
    bw_uint_t  pad;

    /* every padding length, each filled with what looks like a record */
    for (pad = 1; pad <= 255; pad += 3) {
        memset(&r, 0, sizeof(r));
        record_str(&r, BW_HTTP_FASTCGI_STDOUT, "A", (u_char) pad);
        record_str(&r, BW_HTTP_FASTCGI_STDERR, "e", (u_char) pad);
        record_str(&r, BW_HTTP_FASTCGI_STDOUT, "BC", (u_char) (255 - pad));
        end_request(&r, (u_char) pad);

        feed_whole(&f, r.buf, r.len);
        check_response(&f, r.len, 0, "ABC", "e");

        for (cut = 0; cut <= r.len; cut++) {
            feed(&f, r.buf, r.len, &cut, 1);
            check_response(&f, r.len, cut == r.len ? 0 : 1, "ABC", "e");
        }
    }
}

static void
test_empty_with_padding(void **state)
{
    fed_t   f;
    resp_t  r;
    size_t  cut;

    /* no content, then padding: nothing to give, the padding skipped */
    memset(&r, 0, sizeof(r));
    record(&r, BW_HTTP_FASTCGI_STDOUT, NULL, 0, 7);
    record(&r, BW_HTTP_FASTCGI_STDERR, NULL, 0, 200);
    record_str(&r, BW_HTTP_FASTCGI_STDOUT, "x", 0);
    record(&r, BW_HTTP_FASTCGI_STDOUT, NULL, 0, 1);
    end_request(&r, 6);

    feed_whole(&f, r.buf, r.len);
    check_response(&f, r.len, 0, "x", "");
    assert_int_equal(f.pieces, 1);

    for (cut = 0; cut <= r.len; cut++) {
        feed(&f, r.buf, r.len, &cut, 1);
        check_response(&f, r.len, cut == r.len ? 0 : 1, "x", "");
        assert_int_equal(f.pieces, 1);
    }

    /* an END_REQUEST with no content and padding: still the end, after
     * the padding */
    memset(&r, 0, sizeof(r));
    record_str(&r, BW_HTTP_FASTCGI_STDOUT, "y", 0);
    record(&r, BW_HTTP_FASTCGI_END_REQUEST, NULL, 0, 3);

    for (cut = 0; cut <= r.len; cut++) {
        feed(&f, r.buf, r.len, &cut, 1);
        check_response(&f, r.len, cut == r.len ? 0 : 1, "y", "");
    }
}

static void
test_not_ended(void **state)
{
    fed_t   f;
    resp_t  r;
    size_t  n;

    /* a response cut anywhere before END_REQUEST's last padding byte
     * is not the end: the caller keeps reading */
    memset(&r, 0, sizeof(r));
    record_str(&r, BW_HTTP_FASTCGI_STDOUT, "hello", 3);
    end_request(&r, 2);

    for (n = 0; n < r.len; n++) {
        feed_whole(&f, r.buf, n);
        assert_int_equal(f.rc, BW_HTTP_FASTCGI_NEED);
        assert_int_equal(f.ends, 0);
        assert_int_not_equal(f.st.state, bw_fcgi_st_done);
    }
}

/* one bad record after a good one, whole and byte by byte: the good
 * record's content comes out, then the error when the bad byte comes */
static void
check_bad(const u_char *hdr, bw_int_t expected)
{
    fed_t   f;
    resp_t  r;
    size_t  i, bad_at, cuts[64];

    memset(&r, 0, sizeof(r));
    record_str(&r, BW_HTTP_FASTCGI_STDOUT, "ok", 6);
    bad_at = r.len;
    memcpy(r.buf + r.len, hdr, BW_HTTP_FASTCGI_HEADER_LEN);
    r.len += BW_HTTP_FASTCGI_HEADER_LEN;
    memcpy(r.buf + r.len, "LEAK", 4);
    r.len += 4;

    feed_whole(&f, r.buf, r.len);
    assert_int_equal(f.rc, expected);
    assert_int_equal(f.ends, 0);
    assert_int_equal(f.out_len, 2);
    assert_memory_equal(f.out, "ok", 2);
    assert_int_equal(f.err_len, 0);

    for (i = 0; i + 1 < r.len; i++) {
        cuts[i] = i + 1;
    }
    feed(&f, r.buf, r.len, cuts, (bw_uint_t) (r.len - 1));
    assert_int_equal(f.rc, expected);
    assert_int_equal(f.out_len, 2);
    assert_int_equal(f.err_len, 0);

    /* and as the first record */
    feed_whole(&f, r.buf + bad_at, r.len - bad_at);
    assert_int_equal(f.rc, expected);
    assert_int_equal(f.out_len, 0);
    assert_int_equal(f.err_len, 0);
}

static void
test_bad_version(void **state)
{
    bw_uint_t  i;
    u_char     hdr[8] = { 0, BW_HTTP_FASTCGI_STDOUT, 0, 1, 0, 4, 0, 0 };
    static const u_char  versions[] = { 0, 2, 0x81, 0xff };

    for (i = 0; i < sizeof(versions); i++) {
        hdr[0] = versions[i];
        check_bad(hdr, BW_HTTP_FASTCGI_BAD_VERSION);
    }
}

static void
test_bad_type(void **state)
{
    fed_t      f;
    bw_uint_t  i;
    u_char     hdr[8] = { 1, 0, 0, 1, 0, 4, 0, 0 };
    /* none an application sends a web server: BEGIN_REQUEST, ABORT,
     * PARAMS, STDIN, DATA, GET_VALUES(_RESULT), UNKNOWN_TYPE, ... */
    static const u_char  types[] = { 0, 1, 2, 4, 5, 8, 9, 10, 11, 12, 255 };

    for (i = 0; i < sizeof(types); i++) {
        hdr[1] = types[i];
        check_bad(hdr, BW_HTTP_FASTCGI_BAD_TYPE);

        /* the type is kept: the error log line names it */
        feed_whole(&f, hdr, sizeof(hdr));
        assert_int_equal(f.rc, BW_HTTP_FASTCGI_BAD_TYPE);
        assert_int_equal(f.st.type, types[i]);
    }
}

static void
test_bad_request_id(void **state)
{
    bw_uint_t  i;
    u_char     hdr[8] = { 1, BW_HTTP_FASTCGI_STDOUT, 0, 1, 0, 4, 0, 0 };
    /* high byte, low byte: 0x0101, 0xff01, 0, 2, 0x00ff, 0xffff */
    static const u_char  ids[][2] = {
        { 1, 1 }, { 0xff, 1 }, { 0, 0 }, { 0, 2 }, { 0, 0xff }, { 0xff, 0xff }
    };

    for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        hdr[2] = ids[i][0];
        hdr[3] = ids[i][1];
        check_bad(hdr, BW_HTTP_FASTCGI_BAD_ID);
    }

    /* on END_REQUEST and STDERR as on STDOUT */
    hdr[1] = BW_HTTP_FASTCGI_END_REQUEST;
    hdr[2] = 0;
    hdr[3] = 2;
    check_bad(hdr, BW_HTTP_FASTCGI_BAD_ID);
    hdr[1] = BW_HTTP_FASTCGI_STDERR;
    check_bad(hdr, BW_HTTP_FASTCGI_BAD_ID);
}

static void
test_after_end(void **state)
{
    u_char                    *buf, *pos, *last, *end;
    fed_t                      f;
    resp_t                     r;
    size_t                     end_len;
    bw_int_t                   rc;
    bw_str_t                   out;
    bw_uint_t                  i;
    bw_http_fastcgi_parser_t   st;

    memset(&r, 0, sizeof(r));
    record_str(&r, BW_HTTP_FASTCGI_STDOUT, "body", 4);
    end_request(&r, 8);
    end_len = r.len;
    /* then a record that would be content, and garbage */
    record_str(&r, BW_HTTP_FASTCGI_STDOUT, "late", 0);
    memcpy(r.buf + r.len, "\xff\xff\xff", 3);
    r.len += 3;

    /* in the same read: END where END_REQUEST's padding ends, which the
     * caller compares with the read's end to see the extra bytes */
    feed_whole(&f, r.buf, r.len);
    assert_int_equal(f.rc, BW_HTTP_FASTCGI_END);
    assert_int_equal(f.ends, 1);
    assert_int_equal(f.end_at, end_len);
    assert_int_equal(f.out_len, 4);
    assert_memory_equal(f.out, "body", 4);

    buf = malloc(r.len);
    assert_non_null(buf);
    memcpy(buf, r.buf, r.len);
    last = buf + r.len;
    end = buf + end_len;

    memset(&st, 0, sizeof(st));
    pos = buf;
    rc = bw_http_fastcgi_parse(&st, &pos, last, &out);
    assert_int_equal(rc, BW_HTTP_FASTCGI_STDOUT_DATA);
    rc = bw_http_fastcgi_parse(&st, &pos, last, &out);
    assert_int_equal(rc, BW_HTTP_FASTCGI_END);
    assert_ptr_equal(pos, end);

    /* asked again, with the same bytes or with more: END, and not a
     * byte further */
    for (i = 0; i < 3; i++) {
        out.data = NULL;
        out.len = 0;
        rc = bw_http_fastcgi_parse(&st, &pos, last, &out);
        assert_int_equal(rc, BW_HTTP_FASTCGI_END);
        assert_ptr_equal(pos, end);
        assert_int_equal(out.len, 0);
        assert_int_equal(st.state, bw_fcgi_st_done);
    }

    /* a later read holding only the extra bytes */
    pos = end;
    rc = bw_http_fastcgi_parse(&st, &pos, last, &out);
    assert_int_equal(rc, BW_HTTP_FASTCGI_END);
    assert_ptr_equal(pos, end);

    /* and an empty one */
    pos = last;
    rc = bw_http_fastcgi_parse(&st, &pos, last, &out);
    assert_int_equal(rc, BW_HTTP_FASTCGI_END);
    assert_ptr_equal(pos, last);

    free(buf);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole),
        cmocka_unit_test(test_byte_by_byte),
        cmocka_unit_test(test_split_everywhere),
        cmocka_unit_test(test_padding),
        cmocka_unit_test(test_empty_with_padding),
        cmocka_unit_test(test_not_ended),
        cmocka_unit_test(test_bad_version),
        cmocka_unit_test(test_bad_type),
        cmocka_unit_test(test_bad_request_id),
        cmocka_unit_test(test_after_end),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
