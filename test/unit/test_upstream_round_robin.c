/* Unit tests: smooth weighted round robin and passive health. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <bw_upstream_round_robin.h>
#include <cmocka.h>

static void
peers_init(bw_upstream_rr_peers_t *peers, bw_upstream_rr_peer_t *p,
    const bw_int_t *weights, bw_uint_t n)
{
    bw_uint_t  i;

    memset(peers, 0, sizeof(*peers));
    memset(p, 0, n * sizeof(*p));
    peers->number = n;
    peers->peer = p;
    for (i = 0; i < n; i++) {
        p[i].weight = weights[i];
        p[i].effective_weight = weights[i];
        p[i].max_fails = 1;
        p[i].fail_timeout = 10;
        peers->total_weight += weights[i];
    }
}

static bw_upstream_rr_peer_t *
one(bw_upstream_rr_peers_t *peers, time_t now, bw_uint_t fail)
{
    bw_upstream_rr_state_t  st;
    bw_upstream_rr_peer_t  *p;

    bw_upstream_rr_init_state(&st, peers);
    p = bw_upstream_rr_get(&st, now);
    bw_upstream_rr_free(&st, now, fail);
    return p;
}

static void
test_smooth_order(void **state)
{
    static const bw_int_t   w[] = { 5, 1, 1 };
    bw_upstream_rr_peers_t  peers;
    bw_upstream_rr_peer_t   p[3];
    char                    order[8];
    int                     i;

    peers_init(&peers, p, w, 3);
    for (i = 0; i < 7; i++) {
        order[i] = (char) ('a' + (one(&peers, 100, 0) - p));
    }
    order[7] = '\0';
    assert_string_equal(order, "aabacaa");
}

static void
test_weights_distribution(void **state)
{
    static const bw_int_t   w[] = { 1, 2, 3 };
    bw_upstream_rr_peers_t  peers;
    bw_upstream_rr_peer_t   p[3];
    int                     count[3] = { 0, 0, 0 }, i;

    peers_init(&peers, p, w, 3);
    for (i = 0; i < 600; i++) {
        count[one(&peers, 100, 0) - p]++;
    }
    assert_int_equal(count[0], 100);
    assert_int_equal(count[1], 200);
    assert_int_equal(count[2], 300);
}

static void
test_failure_takes_peer_out_then_back(void **state)
{
    static const bw_int_t   w[] = { 1, 1 };
    bw_upstream_rr_peers_t  peers;
    bw_upstream_rr_peer_t   p[2], *got;
    int                     i;

    peers_init(&peers, p, w, 2);

    /* fail peer 0 once (max_fails 1): out for fail_timeout (10 s) */
    do {
        got = one(&peers, 100, 0);
    } while (got != &p[1]);
    got = one(&peers, 100, 1);
    assert_ptr_equal(got, &p[0]);

    for (i = 0; i < 10; i++) {
        assert_ptr_equal(one(&peers, 105, 0), &p[1]);
    }

    /* after fail_timeout it gets a trial; success brings it back */
    for (i = 0; i < 4 && one(&peers, 111, 0) != &p[0]; i++) { }
    assert_true(i < 4);
    assert_int_equal(p[0].fails, 0);
}

static void
test_retry_skips_tried_and_down(void **state)
{
    static const bw_int_t   w[] = { 1, 1, 1 };
    bw_upstream_rr_peers_t  peers;
    bw_upstream_rr_peer_t   p[3], *a, *b, *c;
    bw_upstream_rr_state_t  st;

    peers_init(&peers, p, w, 3);
    p[2].down = 1;

    bw_upstream_rr_init_state(&st, &peers);
    a = bw_upstream_rr_get(&st, 100);
    bw_upstream_rr_free(&st, 100, 1);
    b = bw_upstream_rr_get(&st, 100);
    bw_upstream_rr_free(&st, 100, 1);
    c = bw_upstream_rr_get(&st, 100);

    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    assert_ptr_not_equal(a, &p[2]);
    assert_ptr_not_equal(b, &p[2]);
    assert_null(c);     /* every usable peer was tried */
}

static void
test_backup_only_when_primaries_out(void **state)
{
    static const bw_int_t   w[] = { 1 };
    bw_upstream_rr_peers_t  peers, backup;
    bw_upstream_rr_peer_t   p[1], b[1];
    int                     i;

    peers_init(&peers, p, w, 1);
    peers_init(&backup, b, w, 1);
    peers.next = &backup;

    for (i = 0; i < 5; i++) {
        assert_ptr_equal(one(&peers, 100, 0), &p[0]);
    }
    assert_ptr_equal(one(&peers, 100, 1), &p[0]);
    assert_ptr_equal(one(&peers, 101, 0), &b[0]);
}

static void
test_max_conns(void **state)
{
    static const bw_int_t   w[] = { 1, 1 };
    bw_upstream_rr_peers_t  peers;
    bw_upstream_rr_peer_t   p[2];
    bw_upstream_rr_state_t  s1, s2, s3;

    peers_init(&peers, p, w, 2);
    p[0].max_conns = 1;
    p[1].max_conns = 1;

    bw_upstream_rr_init_state(&s1, &peers);
    bw_upstream_rr_init_state(&s2, &peers);
    bw_upstream_rr_init_state(&s3, &peers);
    assert_non_null(bw_upstream_rr_get(&s1, 100));
    assert_non_null(bw_upstream_rr_get(&s2, 100));
    assert_null(bw_upstream_rr_get(&s3, 100));
    bw_upstream_rr_free(&s1, 100, 0);
    assert_non_null(bw_upstream_rr_get(&s3, 100));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_smooth_order),
        cmocka_unit_test(test_weights_distribution),
        cmocka_unit_test(test_failure_takes_peer_out_then_back),
        cmocka_unit_test(test_retry_skips_tried_and_down),
        cmocka_unit_test(test_backup_only_when_primaries_out),
        cmocka_unit_test(test_max_conns),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
