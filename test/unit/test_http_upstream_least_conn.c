/* Unit tests: least_conn's choice. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <bw_upstream_least_conn.h>
#include <cmocka.h>
#include "test_peers.h"

static bw_upstream_rr_peer_t *
pick(test_peers_t *t, bw_upstream_rr_state_t *st)
{
    bw_upstream_rr_init_state(st, &t->peers);
    return bw_upstream_least_conn_get(st, 100);
}

static void
test_fewest_connections_per_weight(void **state)
{
    static const bw_int_t   w[] = { 1, 1, 2 };
    test_peers_t            t;
    bw_upstream_rr_state_t  st;

    test_peers_init(&t, w, 3);
    t.p[0].conns = 3;
    t.p[1].conns = 1;
    t.p[2].conns = 3;       /* 1.5 per weight */
    assert_ptr_equal(pick(&t, &st), &t.p[1]);
    assert_int_equal(t.p[1].conns, 2);

    /* 2/1 against 3/2: peer 2 is less loaded now */
    assert_ptr_equal(pick(&t, &st), &t.p[2]);
}

static void
test_ties_share_by_weight(void **state)
{
    static const bw_int_t   w[] = { 1, 2, 3 };
    test_peers_t            t;
    bw_upstream_rr_state_t  st;
    bw_upstream_rr_peer_t  *p;
    int                     count[3] = { 0, 0, 0 }, i;

    test_peers_init(&t, w, 3);
    for (i = 0; i < 600; i++) {
        p = pick(&t, &st);
        count[p - t.p]++;
        bw_upstream_rr_free(&st, 100, 0);     /* back to all idle */
    }
    assert_int_equal(count[0], 100);
    assert_int_equal(count[1], 200);
    assert_int_equal(count[2], 300);
}

static void
test_skips_tried_down_failed_and_full(void **state)
{
    static const bw_int_t   w[] = { 1, 1, 1, 1 };
    test_peers_t            t;
    bw_upstream_rr_state_t  st;
    bw_upstream_rr_peer_t  *a, *b;

    test_peers_init(&t, w, 4);
    t.p[0].down = 1;
    t.p[1].fails = 1;               /* out: max_fails 1, checked now */
    t.p[1].checked = 100;
    t.p[2].max_conns = 1;
    t.p[2].conns = 1;

    a = pick(&t, &st);
    assert_ptr_equal(a, &t.p[3]);
    bw_upstream_rr_free(&st, 100, 1);
    b = bw_upstream_least_conn_get(&st, 100);
    assert_null(b);
}

static void
test_backup_when_primaries_out(void **state)
{
    static const bw_int_t   w[] = { 1, 1 };
    test_peers_t            t, b;
    bw_upstream_rr_state_t  st;

    test_peers_init(&t, w, 2);
    test_peers_init(&b, w, 2);
    t.peers.next = &b.peers;
    t.p[0].down = 1;
    t.p[1].down = 1;
    b.p[0].conns = 5;
    assert_ptr_equal(pick(&t, &st), &b.p[1]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fewest_connections_per_weight),
        cmocka_unit_test(test_ties_share_by_weight),
        cmocka_unit_test(test_skips_tried_down_failed_and_full),
        cmocka_unit_test(test_backup_when_primaries_out),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
