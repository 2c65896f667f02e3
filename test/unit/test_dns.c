/* Unit tests: DNS queries and answers (core/dns.c). */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <bw_core.h>
#include <cmocka.h>

static bw_str_t  app = bw_string("app.test");

/* a response header + the question for app.test, type t */
static size_t
head(u_char *b, uint16_t id, bw_uint_t rcode, bw_uint_t ancount,
    bw_uint_t t)
{
    static const u_char  q[] = "\3app\4test\0";
    size_t               n;

    b[0] = id >> 8;
    b[1] = id & 0xff;
    b[2] = 0x81;
    b[3] = 0x80 | rcode;
    b[4] = 0; b[5] = 1;
    b[6] = 0; b[7] = (u_char) ancount;
    b[8] = 0; b[9] = 0; b[10] = 0; b[11] = 0;
    memcpy(b + 12, q, sizeof(q) - 1);     /* the literal's own NUL */
    n = 12 + sizeof(q) - 1;
    b[n++] = 0; b[n++] = (u_char) t;
    b[n++] = 0; b[n++] = 1;
    return n;
}

/* an answer record owned by the question's name (pointer to 12) */
static size_t
rr(u_char *b, bw_uint_t type, uint32_t ttl, const u_char *rdata,
    size_t rdlen)
{
    b[0] = 0xc0; b[1] = 12;
    b[2] = type >> 8; b[3] = type & 0xff;
    b[4] = 0; b[5] = 1;
    b[6] = ttl >> 24; b[7] = ttl >> 16; b[8] = ttl >> 8; b[9] = ttl;
    b[10] = rdlen >> 8; b[11] = rdlen & 0xff;
    memcpy(b + 12, rdata, rdlen);
    return 12 + rdlen;
}

static void
test_query(void **state)
{
    u_char    buf[BW_DNS_QUERY_LEN];
    size_t    n;
    bw_str_t  dotted = bw_string("app.test.");
    bw_str_t  bad1 = bw_string("a..b");
    bw_str_t  bad2 = bw_string(".a");

    n = bw_dns_query(buf, 0x1234, &app, BW_DNS_AAAA);
    assert_int_equal(n, 12 + 10 + 4 + 11);
    assert_int_equal(buf[0], 0x12);
    assert_int_equal(buf[1], 0x34);
    assert_int_equal(buf[2], 0x01);                 /* RD */
    assert_memory_equal(buf + 12, "\3app\4test\0", 10);
    assert_int_equal(buf[22], 0);
    assert_int_equal(buf[23], 28);
    assert_int_equal(buf[11], 1);                   /* OPT */

    assert_int_equal(bw_dns_query(buf, 1, &dotted, BW_DNS_A), n);
    assert_int_equal(bw_dns_query(buf, 1, &bad1, BW_DNS_A), 0);
    assert_int_equal(bw_dns_query(buf, 1, &bad2, BW_DNS_A), 0);
}

static void
test_answer(void **state)
{
    u_char           b[512];
    size_t           n;
    bw_dns_answer_t  ans;
    bw_str_t         upper = bw_string("APP.test");
    bw_str_t         other = bw_string("other.test");

    n = head(b, 7, 0, 3, BW_DNS_A);
    n += rr(b + n, BW_DNS_A, 300, (u_char *) "\x7f\0\0\1", 4);
    n += rr(b + n, BW_DNS_AAAA, 10, (u_char *) "0123456789abcdef", 16);
    n += rr(b + n, BW_DNS_A, 60, (u_char *) "\x7f\0\0\2", 4);

    assert_int_equal(bw_dns_parse(b, n, 7, &app, BW_DNS_A, &ans), BW_OK);
    assert_int_equal(ans.rcode, 0);
    assert_int_equal(ans.naddrs, 2);            /* the AAAA is not asked */
    assert_int_equal(ans.ttl, 60);
    assert_int_equal(ans.addrs[1].sockaddr_in.sin_family, AF_INET);
    assert_int_equal(ntohl(ans.addrs[1].sockaddr_in.sin_addr.s_addr),
                     0x7f000002);

    /* names compare without case; another id, name or type is not ours */
    assert_int_equal(bw_dns_parse(b, n, 7, &upper, BW_DNS_A, &ans), BW_OK);
    assert_int_equal(bw_dns_parse(b, n, 8, &app, BW_DNS_A, &ans),
                     BW_DECLINED);
    assert_int_equal(bw_dns_parse(b, n, 7, &other, BW_DNS_A, &ans),
                     BW_DECLINED);
    assert_int_equal(bw_dns_parse(b, n, 7, &app, BW_DNS_AAAA, &ans),
                     BW_DECLINED);

    /* every prefix of the message is malformed, none is read past */
    for (size_t k = 0; k < n; k++) {
        assert_int_not_equal(bw_dns_parse(b, k, 7, &app, BW_DNS_A, &ans),
                             BW_OK);
    }
}

static void
test_nxdomain_and_cname(void **state)
{
    u_char           b[512];
    size_t           n;
    bw_dns_answer_t  ans;

    n = head(b, 1, BW_DNS_NXDOMAIN, 0, BW_DNS_A);
    assert_int_equal(bw_dns_parse(b, n, 1, &app, BW_DNS_A, &ans), BW_OK);
    assert_int_equal(ans.rcode, BW_DNS_NXDOMAIN);
    assert_int_equal(ans.naddrs, 0);

    /* an alias whose target is compressed against the question */
    n = head(b, 2, 0, 1, BW_DNS_A);
    n += rr(b + n, BW_DNS_CNAME, 30, (u_char *) "\3web\xc0\x10", 6);
    assert_int_equal(bw_dns_parse(b, n, 2, &app, BW_DNS_A, &ans), BW_OK);
    assert_int_equal(ans.cname_len, 8);
    assert_string_equal((char *) ans.cname, "web.test");
    assert_int_equal(ans.ttl, 30);

    /* with its addresses the alias needs no following */
    n += rr(b + n, BW_DNS_A, 300, (u_char *) "\x7f\0\0\1", 4);
    b[7] = 2;
    assert_int_equal(bw_dns_parse(b, n, 2, &app, BW_DNS_A, &ans), BW_OK);
    assert_int_equal(ans.naddrs, 1);
    assert_int_equal(ans.cname_len, 0);
}

static void
test_malformed(void **state)
{
    u_char           b[512];
    size_t           n;
    bw_dns_answer_t  ans;

    /* a label that would read as two once dotted */
    n = head(b, 3, 0, 0, BW_DNS_A);
    memcpy(b + 12, "\7app.tes", 9);
    assert_int_equal(bw_dns_parse(b, n, 3, &app, BW_DNS_A, &ans), BW_ERROR);

    /* a pointer to itself */
    n = head(b, 3, 0, 1, BW_DNS_A);
    b[n] = 0xc0; b[n + 1] = (u_char) n;
    memset(b + n + 2, 0, 10);
    assert_int_equal(bw_dns_parse(b, n + 12, 3, &app, BW_DNS_A, &ans),
                     BW_ERROR);

    /* a record longer than the message */
    n = head(b, 3, 0, 1, BW_DNS_A);
    n += rr(b + n, BW_DNS_A, 1, (u_char *) "\x7f\0\0\1", 4);
    b[n - 5] = 200;
    assert_int_equal(bw_dns_parse(b, n, 3, &app, BW_DNS_A, &ans), BW_ERROR);

    /* an address of the wrong length is skipped, not read */
    n = head(b, 3, 0, 1, BW_DNS_A);
    n += rr(b + n, BW_DNS_A, 1, (u_char *) "\x7f\0\0", 3);
    assert_int_equal(bw_dns_parse(b, n, 3, &app, BW_DNS_A, &ans), BW_OK);
    assert_int_equal(ans.naddrs, 0);

    /* a query, not a response */
    n = head(b, 3, 0, 0, BW_DNS_A);
    b[2] = 0x01;
    assert_int_equal(bw_dns_parse(b, n, 3, &app, BW_DNS_A, &ans),
                     BW_DECLINED);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_answer),
        cmocka_unit_test(test_nxdomain_and_cname),
        cmocka_unit_test(test_malformed),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
