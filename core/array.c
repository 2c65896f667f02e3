/*
 * Pool-backed growable arrays. Growing doubles the room; the old
 * elements stay in the pool, so never keep pointers into an array that
 * may still grow (use bw_list_t for that).
 */

#include <bw_core.h>

bw_array_t *
bw_array_create(bw_pool_t *p, bw_uint_t n, size_t size)
{
    bw_array_t  *a;

    a = bw_palloc(p, sizeof(bw_array_t));
    if (a == NULL) {
        return NULL;
    }

    if (bw_array_init(a, p, n, size) != BW_OK) {
        return NULL;
    }

    return a;
}

bw_int_t
bw_array_init(bw_array_t *a, bw_pool_t *p, bw_uint_t n, size_t size)
{
    a->nelts = 0;
    a->size = size;
    a->nalloc = n ? n : 1;
    a->pool = p;

    a->elts = bw_palloc(p, a->nalloc * size);
    return a->elts ? BW_OK : BW_ERROR;
}

void *
bw_array_push_n(bw_array_t *a, bw_uint_t n)
{
    void       *elt, *new;
    bw_uint_t   nalloc;

    if (a->nelts + n > a->nalloc) {
        nalloc = 2 * bw_max(n, a->nalloc);
        new = bw_palloc(a->pool, nalloc * a->size);
        if (new == NULL) {
            return NULL;
        }
        memcpy(new, a->elts, a->nelts * a->size);
        a->elts = new;
        a->nalloc = nalloc;
    }

    elt = (u_char *) a->elts + a->size * a->nelts;
    a->nelts += n;

    return elt;
}

void *
bw_array_push(bw_array_t *a)
{
    return bw_array_push_n(a, 1);
}
