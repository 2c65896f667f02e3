/*
 * The allocator inside a shared memory zone, with a process-shared
 * robust mutex: a worker that dies holding it does not wedge the rest.
 */

#ifndef BW_SLAB_H
#define BW_SLAB_H

#include <pthread.h>

typedef struct bw_slab_block_s  bw_slab_block_t;

struct bw_slab_block_s {
    size_t            size;     /* whole block, header included */
    bw_slab_block_t  *next;     /* next free block, address order */
};

typedef struct {
    pthread_mutex_t   mutex;
    u_char           *start;
    u_char           *end;
    bw_slab_block_t  *free;
    size_t            used;
    void             *data;     /* the zone owner's root object */
} bw_slab_pool_t;

bw_int_t bw_slab_init(bw_slab_pool_t *pool, size_t size);
void bw_shmtx_lock(bw_slab_pool_t *pool);
void bw_shmtx_unlock(bw_slab_pool_t *pool);
void *bw_slab_alloc(bw_slab_pool_t *pool, size_t size);
void *bw_slab_alloc_locked(bw_slab_pool_t *pool, size_t size);
void bw_slab_free(bw_slab_pool_t *pool, void *p);
void bw_slab_free_locked(bw_slab_pool_t *pool, void *p);

#endif
