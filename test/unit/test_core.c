/* Unit tests: pools, hashes (with server-name wildcards), the rbtree,
 * size/time parsing and the shared-memory allocator. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <bw_core.h>
#include <cmocka.h>

static int  cleaned;

static void
cleanup(void *data)
{
    cleaned += *(int *) data;
}

static void
test_pool(void **state)
{
    bw_pool_t          *pool;
    bw_pool_cleanup_t  *cln;
    u_char             *a, *b, *big;
    int                 i;

    pool = bw_create_pool(512, NULL);
    assert_non_null(pool);

    a = bw_palloc(pool, 10);
    b = bw_palloc(pool, 10);
    assert_non_null(a);
    assert_true(b >= a + 10);
    assert_int_equal((uintptr_t) b % BW_ALIGNMENT, 0);

    /* many small allocations spill into new blocks */
    for (i = 0; i < 1000; i++) {
        a = bw_pnalloc(pool, 100);
        assert_non_null(a);
        memset(a, 'x', 100);
    }

    big = bw_palloc(pool, 100000);
    assert_non_null(big);
    memset(big, 0, 100000);
    assert_int_equal(bw_pfree(pool, big), BW_OK);
    assert_int_equal(bw_pfree(pool, big), BW_DECLINED);

    /* free and allocate again many times: the pool itself must not grow */
    {
        u_char  *mark, *after;

        big = bw_palloc(pool, 5000);
        bw_pfree(pool, big);
        mark = pool->current->last;
        for (i = 0; i < 100; i++) {
            big = bw_palloc(pool, 5000);
            assert_non_null(big);
            assert_int_equal(bw_pfree(pool, big), BW_OK);
        }
        after = pool->current->last;
        assert_ptr_equal(mark, after);
    }

    cln = bw_pool_cleanup_add(pool, sizeof(int));
    assert_non_null(cln);
    *(int *) cln->data = 7;
    cln->handler = cleanup;

    cleaned = 0;
    bw_destroy_pool(pool);
    assert_int_equal(cleaned, 7);
}

/* Pools of the usual sizes leave their memory for the next request's
 * pool: the same chunks come back, up to 64 KiB a size; beyond that
 * they go to free() (none of the extra ones come back). */
static void
test_pool_keeps_chunks(void **state)
{
    int          i, j, again;
    void        *big, *big2;
    bw_pool_t   *pools[40], *fresh[40], *p;

    p = bw_create_pool(4096, NULL);
    big = bw_palloc(p, 8192);
    bw_destroy_pool(p);

    p = bw_create_pool(4096, NULL);
    big2 = bw_palloc(p, 8192);
    assert_ptr_equal(big2, big);
    bw_pfree(p, big2);
    assert_ptr_equal(bw_pnalloc(p, 8192), big);
    bw_destroy_pool(p);

    /* 40 pools of 4 KiB go at once: 16 are kept */
    for (i = 0; i < 40; i++) {
        pools[i] = bw_create_pool(4096, NULL);
        assert_non_null(pools[i]);
    }
    for (i = 0; i < 40; i++) {
        bw_destroy_pool(pools[i]);
    }
    again = 0;
    for (i = 0; i < 40; i++) {
        p = bw_create_pool(4096, NULL);
        for (j = 0; j < 40; j++) {
            again += (p == pools[j]);
        }
        fresh[i] = p;
    }
    assert_true(again >= 16);
    for (i = 0; i < 40; i++) {
        bw_destroy_pool(fresh[i]);
    }
}

static void
test_hash(void **state)
{
    bw_pool_t           *pool = bw_create_pool(4096, NULL);
    bw_hash_keys_t       keys;
    bw_hash_combined_t   h;
    bw_str_t             k;
    static int           exact, star, dot, tail, other;

    assert_int_equal(bw_hash_keys_init(&keys, pool), BW_OK);

    bw_str_set(&k, "www.example.com");
    assert_int_equal(bw_hash_add_key(&keys, &k, &exact), BW_OK);
    bw_str_set(&k, "*.example.com");
    assert_int_equal(bw_hash_add_key(&keys, &k, &star), BW_OK);
    bw_str_set(&k, ".example.org");
    assert_int_equal(bw_hash_add_key(&keys, &k, &dot), BW_OK);
    bw_str_set(&k, "mail.*");
    assert_int_equal(bw_hash_add_key(&keys, &k, &tail), BW_OK);
    bw_str_set(&k, "a.sub.example.com");
    assert_int_equal(bw_hash_add_key(&keys, &k, &other), BW_OK);

    bw_str_set(&k, "www.example.com");
    assert_int_equal(bw_hash_add_key(&keys, &k, &other), BW_BUSY);
    bw_str_set(&k, "w*w.example.com");
    assert_int_equal(bw_hash_add_key(&keys, &k, &other), BW_DECLINED);

    assert_int_equal(bw_hash_combined_build(&h, pool, &keys), BW_OK);

#define FIND(s) bw_hash_find_combined(&h, (u_char *) s, sizeof(s) - 1)
    assert_ptr_equal(FIND("www.example.com"), &exact);
    assert_ptr_equal(FIND("foo.example.com"), &star);
    assert_ptr_equal(FIND("x.y.example.com"), &star);
    assert_null(FIND("example.com"));
    assert_ptr_equal(FIND("example.org"), &dot);
    assert_ptr_equal(FIND("a.example.org"), &dot);
    assert_ptr_equal(FIND("mail.example.net"), &tail);
    assert_ptr_equal(FIND("a.sub.example.com"), &other);
    assert_null(FIND("nothing.net"));
#undef FIND

    bw_destroy_pool(pool);
}

typedef struct {
    bw_rbtree_node_t  node;
} item_t;

static void
test_rbtree(void **state)
{
    bw_rbtree_t        tree;
    bw_rbtree_node_t   sentinel, *n;
    item_t             items[500];
    bw_uint_t          i, prev, count;

    bw_rbtree_init(&tree, &sentinel, bw_rbtree_insert_value);

    for (i = 0; i < 500; i++) {
        items[i].node.key = (i * 7919) % 1000;
        bw_rbtree_insert(&tree, &items[i].node);
    }

    /* delete every third, then check order and count */
    for (i = 0; i < 500; i += 3) {
        bw_rbtree_delete(&tree, &items[i].node);
    }

    count = 0;
    prev = 0;
    for (n = bw_rbtree_min(tree.root, &sentinel); n;
         n = bw_rbtree_next(&tree, n))
    {
        assert_true(n->key >= prev);
        prev = n->key;
        count++;
    }
    assert_int_equal(count, 500 - 167);
    assert_true(bw_rbt_is_black(tree.root));
}

static void
test_parse_values(void **state)
{
    bw_str_t  s;

    bw_str_set(&s, "10k");
    assert_int_equal(bw_parse_size(&s), 10240);
    bw_str_set(&s, "1m");
    assert_int_equal(bw_parse_size(&s), 1048576);
    bw_str_set(&s, "x");
    assert_int_equal(bw_parse_size(&s), BW_ERROR);

    bw_str_set(&s, "1h 30m");
    assert_int_equal(bw_parse_time(&s, 1), 5400);
    bw_str_set(&s, "500ms");
    assert_int_equal(bw_parse_time(&s, 0), 500);
    bw_str_set(&s, "75");
    assert_int_equal(bw_parse_time(&s, 0), 75000);
    bw_str_set(&s, "2d");
    assert_int_equal(bw_parse_time(&s, 1), 172800);
    bw_str_set(&s, "5ms");
    assert_int_equal(bw_parse_time(&s, 1), BW_ERROR);
    bw_str_set(&s, "s");
    assert_int_equal(bw_parse_time(&s, 1), BW_ERROR);

    assert_int_equal(bw_levenshtein((u_char *) "proxy_pas", 9,
                                    (u_char *) "proxy_pass", 10), 1);
}

static void
test_sprint(void **state)
{
    u_char  buf[32], *p;

    p = bw_sprint_uint(buf, 0);
    assert_memory_equal(buf, "0", p - buf);
    p = bw_sprint_uint(buf, 18446744073709551615ULL);
    assert_int_equal(p - buf, 20);
    assert_memory_equal(buf, "18446744073709551615", 20);
    p = bw_sprint_hex(buf, 0x6b040b01);
    assert_memory_equal(buf, "6b040b01", p - buf);
    p = bw_sprint_hex(buf, 0);
    assert_memory_equal(buf, "0", p - buf);
}

static void
test_http_time(void **state)
{
    u_char  buf[64];
    time_t  t = 784111777;   /* Sun, 06 Nov 1994 08:49:37 GMT */

    bw_http_time(buf, t);
    assert_memory_equal(buf, "Sun, 06 Nov 1994 08:49:37 GMT", 29);
    /* the cached and the fresh paths agree */
    memset(buf, 0, sizeof(buf));
    bw_http_time(buf, t);
    assert_memory_equal(buf, "Sun, 06 Nov 1994 08:49:37 GMT", 29);
    assert_int_equal(bw_parse_http_time(buf, 29), t);
    bw_http_time(buf, t + 1);
    assert_memory_equal(buf, "Sun, 06 Nov 1994 08:49:38 GMT", 29);
    assert_int_equal(bw_parse_http_time((u_char *) "Sun, 06 Nov 1994", 16),
                     -1);

    /* round trips over leap years and centuries, against the formatter */
    for (t = 0; t < (time_t) 4102444800; t += 86400 * 37 + 3671) {
        bw_http_time(buf, t);
        assert_int_equal(bw_parse_http_time(buf, 29), t);
    }
    bw_http_time(buf, 951782400);       /* 29 Feb 2000 */
    assert_memory_equal(buf, "Tue, 29 Feb 2000 00:00:00 GMT", 29);
    assert_int_equal(bw_parse_http_time(buf, 29), 951782400);

    /* malformed: every field checked */
    assert_int_equal(bw_parse_http_time(
        (u_char *) "Sun, 06 Nox 1994 08:49:37 GMT", 29), -1);
    assert_int_equal(bw_parse_http_time(
        (u_char *) "Sun, 32 Nov 1994 08:49:37 GMT", 29), -1);
    assert_int_equal(bw_parse_http_time(
        (u_char *) "Sun, 06 Nov 1994 24:49:37 GMT", 29), -1);
    assert_int_equal(bw_parse_http_time(
        (u_char *) "Sun, 06 Nov 1994 08:49:37 UTC", 29), -1);
    assert_int_equal(bw_parse_http_time(
        (u_char *) "Sun, 06 Nov 19a4 08:49:37 GMT", 29), -1);
    assert_int_equal(bw_parse_http_time(
        (u_char *) "Xyz, 06 Nov 1994 08:49:37 GMT", 29), -1);
}

static bw_uint_t
cidr_has(const char *range, const char *addr)
{
    bw_str_t             text;
    bw_cidr_t            cidr;
    struct sockaddr_in   sin;
    struct sockaddr_in6  sin6;

    text.data = (u_char *) range;
    text.len = strlen(range);
    assert_true(bw_parse_cidr(&text, &cidr) != BW_ERROR);

    memset(&sin, 0, sizeof(sin));
    memset(&sin6, 0, sizeof(sin6));
    if (inet_pton(AF_INET, addr, &sin.sin_addr) == 1) {
        sin.sin_family = AF_INET;
        return bw_cidr_match(&cidr, (struct sockaddr *) &sin);
    }
    assert_int_equal(inet_pton(AF_INET6, addr, &sin6.sin6_addr), 1);
    sin6.sin6_family = AF_INET6;
    return bw_cidr_match(&cidr, (struct sockaddr *) &sin6);
}

static void
test_cidr(void **state)
{
    bw_str_t   text;
    bw_cidr_t  cidr;

    assert_true(cidr_has("10.0.0.0/8", "10.255.1.2"));
    assert_false(cidr_has("10.0.0.0/8", "11.0.0.1"));
    assert_true(cidr_has("192.168.1.128/25", "192.168.1.200"));
    assert_false(cidr_has("192.168.1.128/25", "192.168.1.127"));
    assert_true(cidr_has("0.0.0.0/0", "8.8.8.8"));
    assert_true(cidr_has("203.0.113.5", "203.0.113.5"));
    assert_false(cidr_has("203.0.113.5", "203.0.113.6"));
    assert_true(cidr_has("2001:db8::/32", "2001:db8:ffff::1"));
    assert_false(cidr_has("2001:db8::/32", "2001:db9::1"));
    assert_false(cidr_has("10.0.0.0/8", "2001:db8::1"));
    /* an IPv4-mapped IPv6 client matches IPv4 rules */
    assert_true(cidr_has("10.0.0.0/8", "::ffff:10.1.2.3"));
    assert_true(cidr_has("all", "::1"));

    text.data = (u_char *) "10.1.2.3/8";
    text.len = 10;
    assert_int_equal(bw_parse_cidr(&text, &cidr), BW_DONE);
    assert_int_equal(cidr.addr[1], 0);
    text.data = (u_char *) "10.0.0.0/33";
    text.len = 11;
    assert_int_equal(bw_parse_cidr(&text, &cidr), BW_ERROR);
    text.data = (u_char *) "10.0.0/8";
    text.len = 8;
    assert_int_equal(bw_parse_cidr(&text, &cidr), BW_ERROR);
}

static void
test_slab(void **state)
{
    size_t           size = 64 * 1024;
    void            *mem, *p[64];
    bw_slab_pool_t  *sp;
    int              i;

    mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
               MAP_ANONYMOUS | MAP_SHARED, -1, 0);
    assert_true(mem != MAP_FAILED);
    sp = mem;
    assert_int_equal(bw_slab_init(sp, size), BW_OK);

    for (i = 0; i < 64; i++) {
        p[i] = bw_slab_alloc(sp, 500);
        assert_non_null(p[i]);
        memset(p[i], i, 500);
    }
    assert_null(bw_slab_alloc(sp, 64 * 1024));

    for (i = 0; i < 64; i += 2) {
        bw_slab_free(sp, p[i]);
    }
    for (i = 1; i < 64; i += 2) {
        bw_slab_free(sp, p[i]);
    }

    /* everything coalesced back: one large block fits again */
    assert_int_equal(sp->used, 0);
    assert_non_null(bw_slab_alloc(sp, 60 * 1024));

    munmap(mem, size);
}

/* IPv4 without printf, as inet_ntop and "%s:%d" would write it */
static void
test_sock_ntop(void **state)
{
    u_char              buf[BW_SOCKADDR_STRLEN];
    size_t              n;
    struct sockaddr_in  sin;
    static const char  *addrs[] = { "0.0.0.0", "127.0.0.1", "10.20.30.40",
                                    "255.255.255.255", "1.0.100.9" };
    static const int    ports[] = { 0, 1, 80, 9000, 65535 };
    char                want[64];
    unsigned            i, j;

    for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
        for (j = 0; j < sizeof(ports) / sizeof(ports[0]); j++) {
            memset(&sin, 0, sizeof(sin));
            sin.sin_family = AF_INET;
            sin.sin_port = htons(ports[j]);
            assert_int_equal(inet_pton(AF_INET, addrs[i], &sin.sin_addr), 1);

            n = bw_sock_ntop((struct sockaddr *) &sin, sizeof(sin), buf,
                             sizeof(buf), 1);
            snprintf(want, sizeof(want), "%s:%d", addrs[i], ports[j]);
            assert_int_equal(n, strlen(want));
            assert_memory_equal(buf, want, n);
            /* ended as printf's: callers print it with %s */
            assert_int_equal(buf[n], '\0');

            n = bw_sock_ntop((struct sockaddr *) &sin, sizeof(sin), buf,
                             sizeof(buf), 0);
            assert_int_equal(n, strlen(addrs[i]));
            assert_memory_equal(buf, addrs[i], n);

            /* a short buffer: cut, never overrun */
            n = bw_sock_ntop((struct sockaddr *) &sin, sizeof(sin), buf, 8,
                             1);
            assert_true(n <= 8);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool),
        cmocka_unit_test(test_pool_keeps_chunks),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_rbtree),
        cmocka_unit_test(test_parse_values),
        cmocka_unit_test(test_sprint),
        cmocka_unit_test(test_http_time),
        cmocka_unit_test(test_slab),
        cmocka_unit_test(test_cidr),
        cmocka_unit_test(test_sock_ntop),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
