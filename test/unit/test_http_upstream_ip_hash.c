/* Unit tests: ip_hash's choice, against nginx's formula. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <bw_upstream_ip_hash.h>
#include <cmocka.h>
#include "test_peers.h"

static bw_upstream_rr_peer_t *
pick4(test_peers_t *t, const char *ip)
{
    struct sockaddr_in      sin;
    bw_upstream_ip_hash_t   ih;
    bw_upstream_rr_state_t  st;
    bw_upstream_rr_peer_t  *p;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, ip, &sin.sin_addr), 1);

    bw_upstream_ip_hash_init(&ih, (struct sockaddr *) &sin);
    bw_upstream_rr_init_state(&st, &t->peers);
    p = bw_upstream_ip_hash_get(&st, &ih, 100);
    bw_upstream_rr_free(&st, 100, 0);
    return p;
}

/* nginx: h = 89, then h = (h * 113 + byte) % 6271 over three bytes */
static bw_uint_t
reference(const u_char *b, bw_uint_t total)
{
    bw_uint_t  h = 89, i;

    for (i = 0; i < 3; i++) {
        h = (h * 113 + b[i]) % 6271;
    }
    return h % total;
}

static void
test_matches_nginx_formula(void **state)
{
    static const bw_int_t  w[] = { 1, 1, 1, 1, 1 };
    static const u_char    a[3] = { 10, 20, 30 };
    test_peers_t           t;
    char                   ip[32];
    int                    i;

    test_peers_init(&t, w, 5);
    /* 127.0.0.x: 89 -> 3913 -> 3199 -> 4040, 4040 % 5 = 0 */
    assert_ptr_equal(pick4(&t, "127.0.0.1"), &t.p[0]);
    assert_ptr_equal(pick4(&t, "10.20.30.40"), &t.p[reference(a, 5)]);

    for (i = 0; i < 256; i++) {
        u_char b[3] = { 192, 168, (u_char) i };
        snprintf(ip, sizeof(ip), "192.168.%d.7", i);
        assert_ptr_equal(pick4(&t, ip), &t.p[reference(b, 5)]);
    }
}

static void
test_a_24_sticks_together(void **state)
{
    static const bw_int_t  w[] = { 1, 2, 3 };
    test_peers_t           t;
    bw_upstream_rr_peer_t *p;
    char                   ip[32];
    int                    i;

    test_peers_init(&t, w, 3);
    p = pick4(&t, "172.16.5.1");
    for (i = 2; i < 255; i++) {
        snprintf(ip, sizeof(ip), "172.16.5.%d", i);
        assert_ptr_equal(pick4(&t, ip), p);
    }
}

static void
test_down_peer_moves_only_its_clients(void **state)
{
    static const bw_int_t   w[] = { 1, 1, 1 };
    test_peers_t            t;
    bw_upstream_rr_peer_t  *before[256], *after;
    char                    ip[32];
    int                     i, moved;

    test_peers_init(&t, w, 3);
    for (i = 0; i < 256; i++) {
        snprintf(ip, sizeof(ip), "10.0.%d.1", i);
        before[i] = pick4(&t, ip);
    }

    t.p[1].down = 1;
    moved = 0;
    for (i = 0; i < 256; i++) {
        snprintf(ip, sizeof(ip), "10.0.%d.1", i);
        after = pick4(&t, ip);
        assert_ptr_not_equal(after, &t.p[1]);
        if (before[i] != &t.p[1]) {
            assert_ptr_equal(after, before[i]);
        } else {
            moved++;
        }
    }
    assert_true(moved > 0);
}

static void
test_ipv6_uses_whole_address(void **state)
{
    static const bw_int_t   w[] = { 1, 1, 1, 1 };
    test_peers_t            t;
    struct sockaddr_in6     sin6;
    bw_upstream_ip_hash_t   ih;
    bw_upstream_rr_state_t  st;
    int                     i, seen[4] = { 0, 0, 0, 0 };

    test_peers_init(&t, w, 4);
    for (i = 0; i < 64; i++) {
        memset(&sin6, 0, sizeof(sin6));
        sin6.sin6_family = AF_INET6;
        sin6.sin6_addr.s6_addr[0] = 0x20;
        sin6.sin6_addr.s6_addr[15] = (u_char) i;   /* last byte only */
        bw_upstream_ip_hash_init(&ih, (struct sockaddr *) &sin6);
        assert_int_equal(ih.addrlen, 16);
        bw_upstream_rr_init_state(&st, &t.peers);
        seen[bw_upstream_ip_hash_get(&st, &ih, 100) - t.p]++;
        bw_upstream_rr_free(&st, 100, 0);
    }
    /* hosts of one /64 spread over the servers */
    for (i = 0; i < 4; i++) {
        assert_true(seen[i] > 0);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_nginx_formula),
        cmocka_unit_test(test_a_24_sticks_together),
        cmocka_unit_test(test_down_peer_moves_only_its_clients),
        cmocka_unit_test(test_ipv6_uses_whole_address),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
