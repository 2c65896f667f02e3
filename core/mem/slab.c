/*
 * Allocator for shared memory zones: an address-ordered free list with
 * first fit and coalescing on free. Zones are small (state tables, key
 * indexes) and allocations are few per request, so the simple structure
 * wins over size classes until a benchmark says otherwise.
 */

#include <bw_core.h>

#define BW_SLAB_ALIGN  16
#define BW_SLAB_HDR    bw_align(sizeof(bw_slab_block_t), BW_SLAB_ALIGN)

bw_int_t
bw_slab_init(bw_slab_pool_t *pool, size_t size)
{
    pthread_mutexattr_t  attr;
    bw_slab_block_t     *b;

    if (pthread_mutexattr_init(&attr) != 0
        || pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED) != 0
        || pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST) != 0
        || pthread_mutex_init(&pool->mutex, &attr) != 0)
    {
        return BW_ERROR;
    }
    pthread_mutexattr_destroy(&attr);

    pool->start = bw_align_ptr((u_char *) pool + sizeof(bw_slab_pool_t),
                               BW_SLAB_ALIGN);
    pool->end = (u_char *) pool + size;
    pool->used = 0;
    pool->data = NULL;

    if (pool->start + BW_SLAB_HDR >= pool->end) {
        return BW_ERROR;
    }

    b = (bw_slab_block_t *) pool->start;
    b->size = (size_t) (pool->end - pool->start) & ~(BW_SLAB_ALIGN - 1);
    b->next = NULL;
    pool->free = b;

    return BW_OK;
}

void
bw_shmtx_lock(bw_slab_pool_t *pool)
{
    if (pthread_mutex_lock(&pool->mutex) == EOWNERDEAD) {
        /* the state is as consistent as a dead worker left it */
        pthread_mutex_consistent(&pool->mutex);
    }
}

void
bw_shmtx_unlock(bw_slab_pool_t *pool)
{
    pthread_mutex_unlock(&pool->mutex);
}

void *
bw_slab_alloc_locked(bw_slab_pool_t *pool, size_t size)
{
    size_t            need;
    bw_slab_block_t  *b, **prev, *rest;

    need = bw_align(size + BW_SLAB_HDR, BW_SLAB_ALIGN);

    for (prev = &pool->free, b = pool->free; b; prev = &b->next, b = b->next)
    {
        if (b->size < need) {
            continue;
        }

        if (b->size - need >= BW_SLAB_HDR + BW_SLAB_ALIGN) {
            rest = (bw_slab_block_t *) ((u_char *) b + need);
            rest->size = b->size - need;
            rest->next = b->next;
            *prev = rest;
            b->size = need;
        } else {
            *prev = b->next;
        }

        b->next = NULL;
        pool->used += b->size;
        return (u_char *) b + BW_SLAB_HDR;
    }

    return NULL;
}

void *
bw_slab_alloc(bw_slab_pool_t *pool, size_t size)
{
    void  *p;

    bw_shmtx_lock(pool);
    p = bw_slab_alloc_locked(pool, size);
    bw_shmtx_unlock(pool);
    return p;
}

void
bw_slab_free_locked(bw_slab_pool_t *pool, void *p)
{
    bw_slab_block_t  *b, *cur, **prev;

    b = (bw_slab_block_t *) ((u_char *) p - BW_SLAB_HDR);
    pool->used -= b->size;

    for (prev = &pool->free, cur = pool->free; cur && cur < b;
         prev = &cur->next, cur = cur->next)
    { /* void */ }

    b->next = cur;
    *prev = b;

    if (cur && (u_char *) b + b->size == (u_char *) cur) {
        b->size += cur->size;
        b->next = cur->next;
    }

    if (prev != &pool->free) {
        bw_slab_block_t *before = (bw_slab_block_t *)
            ((u_char *) prev - offsetof(bw_slab_block_t, next));
        if ((u_char *) before + before->size == (u_char *) b) {
            before->size += b->size;
            before->next = b->next;
        }
    }
}

void
bw_slab_free(bw_slab_pool_t *pool, void *p)
{
    bw_shmtx_lock(pool);
    bw_slab_free_locked(pool, p);
    bw_shmtx_unlock(pool);
}
