/*
 * Arena allocator. One pool per lifetime (cycle, connection, request):
 * nothing allocated from a pool is freed alone, except large blocks,
 * and everything goes at once with the pool, after its cleanups ran.
 */

#ifndef BW_POOL_H
#define BW_POOL_H

#define BW_POOL_DEFAULT_SIZE  (16 * 1024)
#define BW_MAX_ALLOC_FROM_POOL  (4096 - 1)

typedef void (*bw_pool_cleanup_pt)(void *data);

typedef struct bw_pool_cleanup_s  bw_pool_cleanup_t;

struct bw_pool_cleanup_s {
    bw_pool_cleanup_pt   handler;
    void                *data;
    bw_pool_cleanup_t   *next;
};

typedef struct bw_pool_large_s  bw_pool_large_t;

struct bw_pool_large_s {
    bw_pool_large_t     *next;
    void                *alloc;
    size_t               size;
};

typedef struct bw_pool_block_s  bw_pool_block_t;

struct bw_pool_block_s {
    u_char              *last;
    u_char              *end;
    bw_pool_block_t     *next;
    bw_uint_t            failed;
};

struct bw_pool_s {
    bw_pool_block_t      block;     /* the first block, in the same malloc */
    bw_pool_block_t     *current;
    size_t               max;
    bw_pool_large_t     *large;
    bw_pool_cleanup_t   *cleanup;
    bw_chain_t          *chain;     /* free chain links, for reuse */
    bw_log_t            *log;
};

bw_pool_t *bw_create_pool(size_t size, bw_log_t *log);
void bw_destroy_pool(bw_pool_t *pool);

void *bw_palloc(bw_pool_t *pool, size_t size);
void *bw_pnalloc(bw_pool_t *pool, size_t size);
void *bw_pcalloc(bw_pool_t *pool, size_t size);
bw_int_t bw_pfree(bw_pool_t *pool, void *p);
u_char *bw_pstrdup(bw_pool_t *pool, bw_str_t *src);

bw_pool_cleanup_t *bw_pool_cleanup_add(bw_pool_t *p, size_t size);

void *bw_alloc(size_t size, bw_log_t *log);
void *bw_calloc(size_t size, bw_log_t *log);

#if (BW_DEBUG)
/*
 * Allocation failures on purpose, so that every error path runs under
 * the sanitizers (test_alloc_failures.py). BULWARK_FAIL_ALLOC=N fails the
 * Nth allocation of the process (configuration loading: with -t);
 * BULWARK_FAIL_ALLOC=connection fails, on the kth connection a process
 * accepts, the kth allocation counted from its accept. Pools, malloc'ed
 * memory and shared zones count alike; a failure made is logged.
 */
void bw_fail_alloc_init(void);
void bw_fail_alloc_connection(bw_log_t *log);
bw_uint_t bw_fail_alloc_now(bw_log_t *log);
#define bw_fail_alloc(log)  bw_fail_alloc_now(log)
#else
#define bw_fail_alloc_init()
#define bw_fail_alloc_connection(log)
#define bw_fail_alloc(log)  0
#endif

#endif
