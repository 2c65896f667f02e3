/*
 * The slab allocator inside a shared memory zone (see core/mem/slab.c),
 * with a process-shared robust mutex: a worker that dies holding it does
 * not wedge the rest.
 */

#ifndef BW_SLAB_H
#define BW_SLAB_H

#include <pthread.h>

#define BW_SLAB_PAGE_SHIFT  12
#define BW_SLAB_PAGE_SIZE   ((size_t) 1 << BW_SLAB_PAGE_SHIFT)
#define BW_SLAB_MIN_SHIFT   4                         /* 16-byte slots */
#define BW_SLAB_MAX_SHIFT   (BW_SLAB_PAGE_SHIFT - 1)  /* half a page */
#define BW_SLAB_CLASSES     (BW_SLAB_MAX_SHIFT - BW_SLAB_MIN_SHIFT + 1)

typedef struct bw_slab_page_s  bw_slab_page_t;

/* One per page of the zone; what a field means depends on the type. */
struct bw_slab_page_s {
    bw_slab_page_t   *next;     /* the list the page is on: its class's */
    bw_slab_page_t   *prev;     /* pages with room, or the free runs; a
                                   free run's last page: prev is its head */
    uint64_t          map;      /* a class page of at most 64 slots: the
                                   slots taken */
    uint32_t          pages;    /* the first page of a run: its length */
    uint16_t          used;     /* a class page: slots taken */
    uint8_t           type;
    uint8_t           shift;    /* a class page: log2 of its slot size */
};

typedef struct {
    pthread_mutex_t   mutex;
    bw_slab_page_t   *pages;        /* the descriptors, one per page */
    u_char           *start;        /* the first page */
    u_char           *end;
    bw_uint_t         npages;
    bw_uint_t         free_pages;
    size_t            used;         /* bytes handed out, rounded up */
    bw_slab_page_t    free;         /* head of the free runs */
    bw_slab_page_t    classes[BW_SLAB_CLASSES];  /* heads: pages with room */
    void             *data;         /* the zone owner's root object */
} bw_slab_pool_t;

bw_int_t bw_slab_init(bw_slab_pool_t *pool, size_t size);
void bw_shmtx_lock(bw_slab_pool_t *pool);
void bw_shmtx_unlock(bw_slab_pool_t *pool);
void *bw_slab_alloc(bw_slab_pool_t *pool, size_t size);
void *bw_slab_alloc_locked(bw_slab_pool_t *pool, size_t size);
void *bw_slab_calloc_locked(bw_slab_pool_t *pool, size_t size);
void bw_slab_free(bw_slab_pool_t *pool, void *p);
void bw_slab_free_locked(bw_slab_pool_t *pool, void *p);

#endif
