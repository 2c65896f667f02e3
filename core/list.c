/* Lists of parts; see bw_list.h. */

#include <bw_core.h>

bw_int_t
bw_list_init(bw_list_t *list, bw_pool_t *pool, bw_uint_t n, size_t size)
{
    list->part.elts = bw_palloc(pool, n * size);
    if (list->part.elts == NULL) {
        return BW_ERROR;
    }

    list->part.nelts = 0;
    list->part.next = NULL;
    list->last = &list->part;
    list->size = size;
    list->nalloc = n;
    list->pool = pool;

    return BW_OK;
}

void *
bw_list_push(bw_list_t *l)
{
    void            *elt;
    bw_list_part_t  *last;

    last = l->last;

    if (last->nelts == l->nalloc) {
        last = bw_palloc(l->pool, sizeof(bw_list_part_t));
        if (last == NULL) {
            return NULL;
        }
        last->elts = bw_palloc(l->pool, l->nalloc * l->size);
        if (last->elts == NULL) {
            return NULL;
        }
        last->nelts = 0;
        last->next = NULL;
        l->last->next = last;
        l->last = last;
    }

    elt = (char *) last->elts + l->size * last->nelts;
    last->nelts++;

    return elt;
}
