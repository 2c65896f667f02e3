/* Unit tests: random and random two. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <bw_upstream_random.h>
#include <cmocka.h>
#include "test_peers.h"

static bw_upstream_rr_peer_t *
pick(test_peers_t *t, bw_uint_t two, bw_uint_t keep)
{
    bw_upstream_random_t    rnd;
    bw_upstream_rr_state_t  st;
    bw_upstream_rr_peer_t  *p;

    rnd.two = two;
    rnd.tries = 0;
    bw_upstream_rr_init_state(&st, &t->peers);
    p = bw_upstream_random_get(&st, &rnd, 100);
    if (!keep) {
        bw_upstream_rr_free(&st, 100, 0);
    }
    return p;
}

static void
test_by_weight(void **state)
{
    static const bw_int_t  w[] = { 1, 2, 3 };
    test_peers_t           t;
    int                    count[3] = { 0, 0, 0 }, i;

    test_peers_init(&t, w, 3);
    for (i = 0; i < 6000; i++) {
        count[pick(&t, 0, 0) - t.p]++;
    }
    /* 1000, 2000, 3000 expected; more than six sigma apart from 20% */
    assert_true(count[0] > 800 && count[0] < 1200);
    assert_true(count[1] > 1700 && count[1] < 2300);
    assert_true(count[2] > 2600 && count[2] < 3400);
}

static void
test_never_down(void **state)
{
    static const bw_int_t  w[] = { 1, 1, 1 };
    test_peers_t           t;
    int                    i;

    test_peers_init(&t, w, 3);
    t.p[1].down = 1;
    for (i = 0; i < 1000; i++) {
        assert_ptr_not_equal(pick(&t, i & 1, 0), &t.p[1]);
    }
}

static void
test_two_prefers_the_less_loaded(void **state)
{
    static const bw_int_t  w[] = { 1, 1, 1 };
    test_peers_t           t;
    int                    i;

    test_peers_init(&t, w, 3);
    t.p[0].conns = 10;
    for (i = 0; i < 1000; i++) {
        assert_ptr_not_equal(pick(&t, 1, 0), &t.p[0]);
    }
}

static void
test_two_spreads_concurrent_requests(void **state)
{
    static const bw_int_t  w[] = { 1, 1, 1, 1 };
    test_peers_t           t;
    bw_uint_t              i, max, min;

    test_peers_init(&t, w, 4);
    /* 400 requests that stay open: the counts stay close together */
    for (i = 0; i < 400; i++) {
        (void) pick(&t, 1, 1);
    }
    max = 0;
    min = (bw_uint_t) -1;
    for (i = 0; i < 4; i++) {
        max = t.p[i].conns > max ? t.p[i].conns : max;
        min = t.p[i].conns < min ? t.p[i].conns : min;
    }
    assert_int_equal(t.p[0].conns + t.p[1].conns + t.p[2].conns
                     + t.p[3].conns, 400);
    assert_true(max - min <= 10);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_by_weight),
        cmocka_unit_test(test_never_down),
        cmocka_unit_test(test_two_prefers_the_less_loaded),
        cmocka_unit_test(test_two_spreads_concurrent_requests),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
