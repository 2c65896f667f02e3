/*
 * A list of fixed-size parts: elements never move, so pointers to them
 * stay valid while the list grows (request headers rely on this).
 */

#ifndef BW_LIST_H
#define BW_LIST_H

typedef struct bw_list_part_s  bw_list_part_t;

struct bw_list_part_s {
    void            *elts;
    bw_uint_t        nelts;
    bw_list_part_t  *next;
};

typedef struct {
    bw_list_part_t  *last;
    bw_list_part_t   part;
    size_t           size;
    bw_uint_t        nalloc;
    bw_pool_t       *pool;
} bw_list_t;

bw_int_t bw_list_init(bw_list_t *list, bw_pool_t *pool, bw_uint_t n,
    size_t size);
void *bw_list_push(bw_list_t *list);

/* Iterate: for (part = &l->part; part; part = part->next) for i < nelts */

#endif
