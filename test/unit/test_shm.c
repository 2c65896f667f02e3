/* Unit tests: shared memory zones keep their memory across a reload
 * when name, owner and size are unchanged (core/shm.c). */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <bw_core.h>
#include <cmocka.h>

static int   tag;
static void *seen_old;
static int   inits;

static bw_int_t
zone_init(bw_shm_zone_t *zone, void *data)
{
    inits++;
    seen_old = data;
    zone->data = data ? data : zone->addr;
    return BW_OK;
}

static bw_cycle_t *
new_cycle(void)
{
    bw_pool_t   *pool = bw_create_pool(4096, NULL);
    bw_cycle_t  *c = bw_pcalloc(pool, sizeof(bw_cycle_t));

    c->pool = pool;
    c->log = NULL;
    bw_list_init(&c->shared_memory, pool, 4, sizeof(bw_shm_zone_t));
    return c;
}

static bw_shm_zone_t *
add_zone(bw_cycle_t *cycle, const char *name, size_t size)
{
    bw_conf_t  cf;
    bw_str_t   n;

    memset(&cf, 0, sizeof(cf));
    cf.cycle = cycle;
    cf.pool = cycle->pool;
    n.data = (u_char *) name;
    n.len = strlen(name);
    bw_shm_zone_t *z = bw_shared_memory_add(&cf, &n, size, &tag);
    assert_non_null(z);
    z->init = zone_init;
    return z;
}

static void
test_zone_survives_reload(void **state)
{
    bw_cycle_t     *init, *c1, *c2, *c3;
    bw_shm_zone_t  *z1, *z2, *z3;

    init = new_cycle();

    c1 = new_cycle();
    z1 = add_zone(c1, "limits", 64 * 1024);
    inits = 0;
    assert_int_equal(bw_shm_init_cycle(c1, init), BW_OK);
    assert_int_equal(inits, 1);
    assert_null(seen_old);
    memcpy(z1->addr + 4096, "state", 6);

    /* same name and size: same memory, old data handed over */
    c2 = new_cycle();
    z2 = add_zone(c2, "limits", 64 * 1024);
    assert_int_equal(bw_shm_init_cycle(c2, c1), BW_OK);
    assert_ptr_equal(z2->addr, z1->addr);
    assert_ptr_equal(seen_old, z1->data);
    assert_string_equal((char *) z2->addr + 4096, "state");
    bw_shm_release_old(c2, c1);

    /* another size: a fresh zone */
    c3 = new_cycle();
    z3 = add_zone(c3, "limits", 128 * 1024);
    assert_int_equal(bw_shm_init_cycle(c3, c2), BW_OK);
    assert_ptr_not_equal(z3->addr, z2->addr);
    assert_null(seen_old);
    bw_shm_release_old(c3, c2);
    assert_null(z2->addr);

    bw_shm_release_new(init, c3);
    munmap(z3->addr, z3->size);

    bw_destroy_pool(init->pool);
    bw_destroy_pool(c1->pool);
    bw_destroy_pool(c2->pool);
    bw_destroy_pool(c3->pool);
}

static void
test_zone_conflicts(void **state)
{
    bw_cycle_t  *c = new_cycle();
    bw_conf_t    cf;
    bw_str_t     n = bw_string("z");
    bw_log_t     log;
    int          other;

    memset(&cf, 0, sizeof(cf));
    memset(&log, 0, sizeof(log));
    cf.cycle = c;
    cf.pool = c->pool;
    cf.log = &log;

    assert_non_null(bw_shared_memory_add(&cf, &n, 8192, &tag));
    assert_non_null(bw_shared_memory_add(&cf, &n, 8192, &tag));
    assert_null(bw_shared_memory_add(&cf, &n, 16384, &tag));
    assert_null(bw_shared_memory_add(&cf, &n, 8192, &other));

    bw_destroy_pool(c->pool);
}

static void
test_noreuse_zone_is_fresh_each_time(void **state)
{
    bw_cycle_t     *init, *c1, *c2, *keep[1];
    bw_shm_zone_t  *z1, *z2;

    init = new_cycle();
    c1 = new_cycle();
    z1 = add_zone(c1, "peers", 64 * 1024);
    z1->noreuse = 1;
    assert_int_equal(bw_shm_init_cycle(c1, init), BW_OK);

    c2 = new_cycle();
    z2 = add_zone(c2, "peers", 64 * 1024);
    z2->noreuse = 1;
    assert_int_equal(bw_shm_init_cycle(c2, c1), BW_OK);
    assert_ptr_not_equal(z2->addr, z1->addr);
    assert_null(seen_old);

    /* the old zone goes, the new one is untouched */
    keep[0] = c2;
    bw_shm_release_unused(c1, keep, 1);
    assert_null(z1->addr);
    assert_non_null(z2->addr);
    memcpy(z2->addr + 4096, "ok", 3);

    keep[0] = init;
    bw_shm_release_unused(c2, keep, 1);
    assert_null(z2->addr);

    bw_destroy_pool(init->pool);
    bw_destroy_pool(c1->pool);
    bw_destroy_pool(c2->pool);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zone_survives_reload),
        cmocka_unit_test(test_zone_conflicts),
        cmocka_unit_test(test_noreuse_zone_is_fresh_each_time),
    };

    bw_time_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
