/* Unit tests: the Range header parser of the range filter
 * (modules/http_range), against RFC 9110 14 and nginx's answers. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <bw_http_range.h>
#include <cmocka.h>

typedef struct {
    bw_int_t           rc;
    bw_uint_t          n;
    bw_http_range_t    r[BW_HTTP_RANGE_MAX];
} parsed_t;

static void
parse(parsed_t *pr, const char *header, off_t len)
{
    size_t   n;
    u_char  *copy;

    /* a copy of exactly the header's length: reading past it is an
     * error that AddressSanitizer reports */
    n = strlen(header);
    copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, header, n);

    memset(pr, 0, sizeof(*pr));
    pr->n = (bw_uint_t) -1;
    pr->rc = bw_http_range_parse(copy, n, len, pr->r, &pr->n);

    free(copy);
}

/* one range, [start, end) */
static void
check_one(const char *header, off_t len, off_t start, off_t end)
{
    parsed_t  pr;

    parse(&pr, header, len);
    assert_int_equal(pr.rc, BW_OK);
    assert_int_equal(pr.n, 1);
    assert_int_equal(pr.r[0].start, start);
    assert_int_equal(pr.r[0].end, end);
}

static void
check_rc(const char *header, off_t len, bw_int_t rc)
{
    parsed_t  pr;

    parse(&pr, header, len);
    assert_int_equal(pr.rc, rc);
}

static void
test_rfc_examples(void **state)
{
    parsed_t  pr;

    /* RFC 9110 14.1.2, a representation of 10000 bytes */
    check_one("bytes=0-499", 10000, 0, 500);
    check_one("bytes=500-999", 10000, 500, 1000);
    check_one("bytes=-500", 10000, 9500, 10000);
    check_one("bytes=9500-", 10000, 9500, 10000);

    parse(&pr, "bytes=0-0,-1", 10000);
    assert_int_equal(pr.rc, BW_OK);
    assert_int_equal(pr.n, 2);
    assert_int_equal(pr.r[0].start, 0);
    assert_int_equal(pr.r[0].end, 1);
    assert_int_equal(pr.r[1].start, 9999);
    assert_int_equal(pr.r[1].end, 10000);

    parse(&pr, "bytes=500-600,601-999", 10000);
    assert_int_equal(pr.rc, BW_OK);
    assert_int_equal(pr.n, 2);
    assert_int_equal(pr.r[0].start, 500);
    assert_int_equal(pr.r[0].end, 601);
    assert_int_equal(pr.r[1].start, 601);
    assert_int_equal(pr.r[1].end, 1000);

    /* overlapping, but no more than the body in all: kept, in order,
     * as nginx */
    parse(&pr, "bytes=500-700,601-999", 10000);
    assert_int_equal(pr.rc, BW_OK);
    assert_int_equal(pr.n, 2);
    assert_int_equal(pr.r[0].start, 500);
    assert_int_equal(pr.r[0].end, 701);
    assert_int_equal(pr.r[1].start, 601);
    assert_int_equal(pr.r[1].end, 1000);
}

static void
test_clamped(void **state)
{
    /* a last byte past the end means the end (RFC 9110 14.1.1) */
    check_one("bytes=9000-20000", 10000, 9000, 10000);
    check_one("bytes=0-9999", 10000, 0, 10000);
    /* a suffix longer than the body is all of it */
    check_one("bytes=-20000", 10000, 0, 10000);
    check_one("bytes=-10000", 10000, 0, 10000);
    check_one("bytes=0-", 1, 0, 1);
    check_one("bytes=9-9", 10, 9, 10);
}

static void
test_spelling(void **state)
{
    /* the unit is case-insensitive (RFC 9110 14.1); nginx gives 206 */
    check_one("Bytes=0-1", 10, 0, 2);
    check_one("BYTES=2-", 10, 2, 10);
    /* blanks around the numbers, as nginx reads them */
    check_one("bytes= 2 - 3 ", 10, 2, 4);
    check_one("bytes=1-2 , 20-", 10, 1, 3);
    check_one("bytes=\t-3", 10, 7, 10);
}

static void
test_not_satisfiable(void **state)
{
    /* no range starts inside the body: 416 */
    check_rc("bytes=10000-", 10000, BW_HTTP_RANGE_NOT_SATISFIABLE);
    check_rc("bytes=10000-10010", 10000, BW_HTTP_RANGE_NOT_SATISFIABLE);
    check_rc("bytes=-0", 10000, BW_HTTP_RANGE_NOT_SATISFIABLE);
    check_rc("bytes=20-30,40-", 10, BW_HTTP_RANGE_NOT_SATISFIABLE);
    check_rc("bytes=1-", 0, BW_HTTP_RANGE_NOT_SATISFIABLE);

    /* the satisfiable ones of a set are kept (RFC 9110 14.1.1) */
    check_one("bytes=20000-,0-1", 10000, 0, 2);
    check_one("bytes=-0,5-6", 10, 5, 7);
}

static void
test_empty_body(void **state)
{
    /* from the start of an empty body: the whole of it, 200, as nginx */
    check_rc("bytes=0-", 0, BW_DECLINED);
    check_rc("bytes=0-5", 0, BW_DECLINED);
    check_rc("bytes=-5", 0, BW_DECLINED);
}

static void
test_malformed(void **state)
{
    /* not a byte-ranges set: ignored, the whole body (200); nginx
     * answers 416 (docs/compatibility.md) */
    check_rc("", 10, BW_DECLINED);
    check_rc("bytes", 10, BW_DECLINED);
    check_rc("bytes=", 10, BW_DECLINED);
    check_rc("bytes 0-1", 10, BW_DECLINED);
    check_rc("items=0-1", 10, BW_DECLINED);
    check_rc("bytes=x", 10, BW_DECLINED);
    check_rc("bytes=a-1", 10, BW_DECLINED);
    check_rc("bytes=1-a", 10, BW_DECLINED);
    check_rc("bytes=1", 10, BW_DECLINED);
    check_rc("bytes=-", 10, BW_DECLINED);
    check_rc("bytes=--1", 10, BW_DECLINED);
    check_rc("bytes=1-2-3", 10, BW_DECLINED);
    check_rc("bytes=1-2;3-4", 10, BW_DECLINED);
    check_rc("bytes=0-1,", 10, BW_DECLINED);
    check_rc("bytes=,0-1", 10, BW_DECLINED);
    check_rc("bytes=+1-2", 10, BW_DECLINED);
    /* last before first is invalid (RFC 9110 14.1.1) */
    check_rc("bytes=5-3", 10, BW_DECLINED);
    check_rc("bytes=0-1,5-3", 10, BW_DECLINED);
}

static void
test_overflow(void **state)
{
    /* numbers beyond off_t never wrap into a small range */
    check_rc("bytes=99999999999999999999-", 10, BW_DECLINED);
    check_rc("bytes=0-99999999999999999999", 10, BW_DECLINED);
    check_rc("bytes=-99999999999999999999", 10, BW_DECLINED);
    check_rc("bytes=9223372036854775808-9223372036854775809", 10,
             BW_DECLINED);
    /* large but representable numbers are just past the end */
    check_rc("bytes=92233720368547758-", 10, BW_HTTP_RANGE_NOT_SATISFIABLE);
    check_one("bytes=0-92233720368547758", 10, 0, 10);
    check_one("bytes=-92233720368547758", 10, 0, 10);

    /* ranges of a body near the largest off_t (an upstream's length)
     * add up to more than it without the sum overflowing */
    check_rc("bytes=1-,2-", BW_MAX_OFF_T_VALUE - 1, BW_DECLINED);
    check_one("bytes=1-", BW_MAX_OFF_T_VALUE, 1, BW_MAX_OFF_T_VALUE);
}

static void
test_costly(void **state)
{
    u_char     buf[512], *p, *end;
    bw_uint_t  i;
    parsed_t   pr;

    /* more bytes than the body in all: the whole body instead, as nginx */
    check_rc("bytes=0-9,0-9", 10, BW_DECLINED);
    check_rc("bytes=0-5,-5", 10, BW_DECLINED);
    check_rc("bytes=-6,0-4", 10, BW_DECLINED);

    /* BW_HTTP_RANGE_MAX ranges are served, one more is not */
    end = buf + sizeof(buf);
    p = bw_slprintf(buf, end, "bytes=");
    for (i = 0; i < BW_HTTP_RANGE_MAX; i++) {
        p = bw_slprintf(p, end, "%s%u-%u", i ? "," : "", (unsigned) (2 * i),
                        (unsigned) (2 * i));
    }
    parse(&pr, (char *) buf, 1000);
    assert_int_equal(pr.rc, BW_OK);
    assert_int_equal(pr.n, BW_HTTP_RANGE_MAX);
    assert_int_equal(pr.r[BW_HTTP_RANGE_MAX - 1].start,
                     2 * (BW_HTTP_RANGE_MAX - 1));
    assert_int_equal(pr.r[BW_HTTP_RANGE_MAX - 1].end,
                     2 * (BW_HTTP_RANGE_MAX - 1) + 1);

    bw_slprintf(p, end, ",%u-%u", (unsigned) (2 * i), (unsigned) (2 * i));
    check_rc((char *) buf, 1000, BW_DECLINED);

    /* unsatisfiable ones do not count */
    bw_slprintf(p, end, ",5000-6000");
    parse(&pr, (char *) buf, 1000);
    assert_int_equal(pr.rc, BW_OK);
    assert_int_equal(pr.n, BW_HTTP_RANGE_MAX);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_examples),
        cmocka_unit_test(test_clamped),
        cmocka_unit_test(test_spelling),
        cmocka_unit_test(test_not_satisfiable),
        cmocka_unit_test(test_empty_body),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_costly),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
