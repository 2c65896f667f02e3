/* Unit tests: the slab allocator of shared zones (core/mem/slab.c):
 * size classes, page runs, reuse of freed memory, joined free runs, a
 * full zone, and frees that must be ignored. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <bw_core.h>
#include <cmocka.h>

#define ZONE_SIZE  (256 * 1024)

static bw_slab_pool_t *
new_zone(size_t size)
{
    void  *m = NULL;

    /* page-aligned as an mmap'ed zone is */
    assert_int_equal(posix_memalign(&m, BW_SLAB_PAGE_SIZE, size), 0);
    assert_int_equal(bw_slab_init(m, size), BW_OK);
    return m;
}

static void
test_every_page_is_free_at_start(void **state)
{
    bw_slab_pool_t  *pool = new_zone(ZONE_SIZE);

    /* the descriptors and the pool header take one page or two */
    assert_true(pool->npages >= ZONE_SIZE / BW_SLAB_PAGE_SIZE - 2);
    assert_int_equal(pool->free_pages, pool->npages);
    assert_true(pool->end <= (u_char *) pool + ZONE_SIZE);
    assert_int_equal((uintptr_t) pool->start % BW_SLAB_PAGE_SIZE, 0);
    free(pool);
}

static void
test_small_objects_share_pages_and_do_not_overlap(void **state)
{
    size_t           sizes[] = { 1, 16, 17, 40, 64, 100, 200, 700, 2048 };
    u_char          *p[9][40];
    bw_uint_t        i, j, k, l;
    bw_slab_pool_t  *pool = new_zone(ZONE_SIZE);

    for (i = 0; i < 9; i++) {
        for (j = 0; j < 40; j++) {
            p[i][j] = bw_slab_alloc(pool, sizes[i]);
            assert_non_null(p[i][j]);
            /* aligned to 16 at least, and to its class up to a page */
            assert_int_equal((uintptr_t) p[i][j] % 16, 0);
            memset(p[i][j], (int) (i * 40 + j), sizes[i]);
        }
    }

    /* nothing was overwritten by another object */
    for (i = 0; i < 9; i++) {
        for (j = 0; j < 40; j++) {
            for (k = 0; k < sizes[i]; k++) {
                assert_int_equal(p[i][j][k], (u_char) (i * 40 + j));
            }
        }
    }

    /* 40 objects of 16 bytes fit in one page with room to spare */
    l = 0;
    for (j = 1; j < 40; j++) {
        l += (p[1][j] - p[1][0]) / (ptrdiff_t) BW_SLAB_PAGE_SIZE != 0;
    }
    assert_int_equal(l, 0);

    for (i = 0; i < 9; i++) {
        for (j = 0; j < 40; j++) {
            bw_slab_free(pool, p[i][j]);
        }
    }
    assert_int_equal(pool->free_pages, pool->npages);
    assert_int_equal(pool->used, 0);
    free(pool);
}

static void
test_freed_slots_and_pages_are_reused(void **state)
{
    void            *a, *b, *c;
    bw_slab_pool_t  *pool = new_zone(ZONE_SIZE);

    a = bw_slab_alloc(pool, 48);
    b = bw_slab_alloc(pool, 48);
    bw_slab_free(pool, a);
    c = bw_slab_alloc(pool, 64);
    assert_ptr_equal(c, a);          /* the same class: the freed slot */
    bw_slab_free(pool, b);
    bw_slab_free(pool, c);

    a = bw_slab_alloc(pool, 3 * BW_SLAB_PAGE_SIZE);
    bw_slab_free(pool, a);
    b = bw_slab_alloc(pool, 3 * BW_SLAB_PAGE_SIZE - 5);
    assert_ptr_equal(a, b);
    bw_slab_free(pool, b);
    assert_int_equal(pool->free_pages, pool->npages);
    free(pool);
}

static void
test_free_runs_join_whatever_the_order(void **state)
{
    void            *p[16];
    bw_uint_t        i, n;
    bw_slab_pool_t  *pool = new_zone(ZONE_SIZE);
    bw_uint_t        order[16] = { 3, 0, 15, 7, 8, 1, 14, 2, 9, 6, 4, 13,
                                   5, 12, 10, 11 };

    n = pool->npages / 16;
    for (i = 0; i < 16; i++) {
        p[i] = bw_slab_alloc(pool, n * BW_SLAB_PAGE_SIZE);
        assert_non_null(p[i]);
    }
    for (i = 0; i < 16; i++) {
        bw_slab_free(pool, p[order[i]]);
    }

    /* one run again: the whole zone in one piece */
    p[0] = bw_slab_alloc(pool, pool->npages * BW_SLAB_PAGE_SIZE);
    assert_non_null(p[0]);
    assert_ptr_equal(p[0], pool->start);
    assert_int_equal(pool->free_pages, 0);
    bw_slab_free(pool, p[0]);
    assert_int_equal(pool->free_pages, pool->npages);
    free(pool);
}

static void
test_a_full_zone_says_null_and_recovers(void **state)
{
    void            *p[4096];
    bw_uint_t        n, i;
    bw_slab_pool_t  *pool = new_zone(64 * 1024);

    for (n = 0; n < 4096; n++) {
        p[n] = bw_slab_alloc(pool, 100);
        if (p[n] == NULL) {
            break;
        }
    }
    assert_true(n > 100 && n < 4096);
    assert_null(bw_slab_alloc(pool, 2 * BW_SLAB_PAGE_SIZE));
    assert_null(bw_slab_alloc(pool, 1024 * 1024));

    for (i = 0; i < n; i += 2) {
        bw_slab_free(pool, p[i]);
    }
    /* the freed slots serve the same class; no page is empty yet */
    assert_non_null(bw_slab_alloc(pool, 128));
    for (i = 1; i < n; i += 2) {
        bw_slab_free(pool, p[i]);
    }
    assert_int_equal(pool->free_pages + 1, pool->npages);
    free(pool);
}

static void
test_bad_frees_are_ignored(void **state)
{
    u_char           outside[16];
    u_char          *a, *big;
    bw_slab_pool_t  *pool = new_zone(ZONE_SIZE);

    a = bw_slab_alloc(pool, 32);
    big = bw_slab_alloc(pool, 2 * BW_SLAB_PAGE_SIZE);
    bw_slab_free(pool, a);
    bw_slab_free(pool, a);                   /* twice */
    bw_slab_free(pool, outside);             /* not of the zone */
    bw_slab_free(pool, big + 16);            /* inside a run */
    bw_slab_free(pool, big + BW_SLAB_PAGE_SIZE);
    assert_int_equal(pool->free_pages + 2, pool->npages);
    bw_slab_free(pool, big);
    assert_int_equal(pool->free_pages, pool->npages);
    assert_int_equal(pool->used, 0);
    free(pool);
}

static void
test_random_traffic_keeps_the_books(void **state)
{
    void            *p[512];
    size_t           size[512];
    bw_uint_t        i, k, round;
    unsigned int     seed = 12345;
    bw_slab_pool_t  *pool = new_zone(1024 * 1024);

    memset(p, 0, sizeof(p));
    for (round = 0; round < 20000; round++) {
        k = rand_r(&seed) % 512;
        if (p[k]) {
            assert_int_equal(((u_char *) p[k])[0], (u_char) k);
            assert_int_equal(((u_char *) p[k])[size[k] - 1], (u_char) k);
            bw_slab_free(pool, p[k]);
            p[k] = NULL;
            continue;
        }
        size[k] = 1 + rand_r(&seed) % (rand_r(&seed) % 4 ? 300 : 12000);
        p[k] = bw_slab_alloc(pool, size[k]);
        if (p[k]) {
            memset(p[k], (int) k, size[k]);
        }
    }
    for (i = 0; i < 512; i++) {
        if (p[i]) {
            bw_slab_free(pool, p[i]);
        }
    }
    assert_int_equal(pool->free_pages, pool->npages);
    assert_int_equal(pool->used, 0);
    free(pool);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_page_is_free_at_start),
        cmocka_unit_test(test_small_objects_share_pages_and_do_not_overlap),
        cmocka_unit_test(test_freed_slots_and_pages_are_reused),
        cmocka_unit_test(test_free_runs_join_whatever_the_order),
        cmocka_unit_test(test_a_full_zone_says_null_and_recovers),
        cmocka_unit_test(test_bad_frees_are_ignored),
        cmocka_unit_test(test_random_traffic_keeps_the_books),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
