/* Growable arrays allocated from a pool. */

#ifndef BW_ARRAY_H
#define BW_ARRAY_H

typedef struct {
    void        *elts;
    bw_uint_t    nelts;
    size_t       size;
    bw_uint_t    nalloc;
    bw_pool_t   *pool;
} bw_array_t;

bw_array_t *bw_array_create(bw_pool_t *p, bw_uint_t n, size_t size);
bw_int_t bw_array_init(bw_array_t *a, bw_pool_t *p, bw_uint_t n,
    size_t size);
void *bw_array_push(bw_array_t *a);
void *bw_array_push_n(bw_array_t *a, bw_uint_t n);

#endif
