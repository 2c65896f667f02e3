/* Unit tests: hash and consistent hash. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <zlib.h>
#include <bw_upstream_hash.h>
#include <cmocka.h>
#include "test_peers.h"

#define KEYS  10000

static bw_upstream_chash_points_t *
ring(test_peers_t *t)
{
    bw_upstream_chash_points_t  *points;

    points = malloc(sizeof(*points) + bw_upstream_chash_count(&t->peers)
                                      * sizeof(bw_upstream_chash_point_t));
    assert_non_null(points);
    bw_upstream_chash_build(&t->peers, points);
    return points;
}

/* the server line a key goes to ("127.0.0.1:808x"), or NULL */
static const char *
lookup(test_peers_t *t, bw_upstream_chash_points_t *points, const char *k)
{
    bw_str_t                 key;
    bw_upstream_hash_t       h;
    bw_upstream_rr_state_t   st;
    bw_upstream_rr_peer_t   *p;

    key.data = (u_char *) k;
    key.len = strlen(k);
    bw_upstream_hash_init(&h, &key, points);
    bw_upstream_rr_init_state(&st, &t->peers);
    p = bw_upstream_hash_get(&st, &h, 100);
    bw_upstream_rr_free(&st, 100, 0);
    return p ? (const char *) p->server.data : NULL;
}

static void
test_ring_points(void **state)
{
    static const bw_int_t        w[] = { 1, 2, 1 };
    test_peers_t                 t;
    bw_upstream_chash_points_t  *points;
    bw_uint_t                    i;
    uint32_t                     first;
    u_char                       zero[4] = { 0, 0, 0, 0 };

    test_peers_init(&t, w, 3);
    points = ring(&t);
    assert_int_equal(points->number, 4 * BW_UPSTREAM_CHASH_POINTS);
    for (i = 1; i < points->number; i++) {
        assert_true(points->point[i - 1].hash < points->point[i].hash);
    }

    /* the first point of a server: crc32("127.0.0.1" "\0" "8081" 0000) */
    first = (uint32_t) crc32(0, (const Bytef *) "127.0.0.1\0" "8081", 14);
    first = (uint32_t) crc32(first, zero, 4);
    for (i = 0; i < points->number; i++) {
        if (points->point[i].hash == first) {
            break;
        }
    }
    assert_true(i < points->number);
    assert_ptr_equal(points->point[i].server, &t.p[0].server);
    free(points);
}

static void
test_removing_a_server_moves_only_its_keys(void **state)
{
    static const bw_int_t        w[] = { 1, 1, 1, 1 };
    test_peers_t                 t4, t3;
    bw_upstream_chash_points_t  *r4, *r3;
    const char                  *before, *after;
    char                         key[32];
    int                          i, moved, on_removed;

    test_peers_init(&t4, w, 4);
    r4 = ring(&t4);

    /* the same servers without 127.0.0.1:8083 */
    test_peers_init(&t3, w, 4);
    t3.p[2] = t3.p[3];
    t3.peers.number = 3;
    t3.peers.total_weight = 3;
    r3 = ring(&t3);

    moved = 0;
    on_removed = 0;
    for (i = 0; i < KEYS; i++) {
        snprintf(key, sizeof(key), "/item/%d", i);
        before = lookup(&t4, r4, key);
        after = lookup(&t3, r3, key);
        if (strcmp(before, "127.0.0.1:8083") == 0) {
            on_removed++;
            continue;
        }
        if (strcmp(before, after) != 0) {
            moved++;
        }
    }

    /* keys of the other servers stay; the removed one had about 1/4 */
    assert_int_equal(moved, 0);
    assert_true(on_removed > KEYS / 4 * 7 / 10);
    assert_true(on_removed < KEYS / 4 * 13 / 10);
    free(r4);
    free(r3);
}

static void
test_consistent_skips_a_down_server(void **state)
{
    static const bw_int_t        w[] = { 1, 1, 1 };
    test_peers_t                 t;
    bw_upstream_chash_points_t  *r;
    const char                  *s;
    char                         key[32];
    int                          i;

    test_peers_init(&t, w, 3);
    r = ring(&t);
    t.p[0].down = 1;
    for (i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        s = lookup(&t, r, key);
        assert_non_null(s);
        assert_string_not_equal(s, "127.0.0.1:8081");
    }
    free(r);
}

static void
test_plain_hash_by_weight_and_stable(void **state)
{
    static const bw_int_t  w[] = { 1, 3 };
    test_peers_t           t;
    const char            *s;
    char                   key[32];
    int                    i, heavy;

    test_peers_init(&t, w, 2);
    heavy = 0;
    for (i = 0; i < KEYS; i++) {
        snprintf(key, sizeof(key), "user%d", i);
        s = lookup(&t, NULL, key);
        assert_string_equal(s, lookup(&t, NULL, key));
        heavy += strcmp(s, "127.0.0.1:8082") == 0;
    }
    /* three quarters, within 5% */
    assert_true(heavy > KEYS * 70 / 100 && heavy < KEYS * 80 / 100);
}

static void
test_plain_hash_nginx_formula(void **state)
{
    static const bw_int_t  w[] = { 1, 1, 1, 1, 1, 1, 1 };
    test_peers_t           t;
    char                   key[32];
    uint32_t               crc;
    int                    i;

    test_peers_init(&t, w, 7);
    for (i = 0; i < 200; i++) {
        snprintf(key, sizeof(key), "/p/%d", i);
        crc = (uint32_t) crc32(0, (const Bytef *) key, (uInt) strlen(key));
        assert_string_equal(lookup(&t, NULL, key),
                            t.names[((crc >> 16) & 0x7fff) % 7]);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_points),
        cmocka_unit_test(test_removing_a_server_moves_only_its_keys),
        cmocka_unit_test(test_consistent_skips_a_down_server),
        cmocka_unit_test(test_plain_hash_by_weight_and_stable),
        cmocka_unit_test(test_plain_hash_nginx_formula),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
