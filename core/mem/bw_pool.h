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

#endif
