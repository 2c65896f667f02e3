/*
 * Buffers and chains. A buffer points either into memory (pos..last) or
 * into a file (file_pos..file_last); flags say what the writer must do.
 */

#ifndef BW_BUF_H
#define BW_BUF_H

struct bw_file_s {
    int          fd;
    bw_str_t     name;
    off_t        offset;
    bw_log_t    *log;
};

typedef struct bw_buf_s  bw_buf_t;

struct bw_buf_s {
    u_char      *pos;
    u_char      *last;
    off_t        file_pos;
    off_t        file_last;

    u_char      *start;
    u_char      *end;
    void        *tag;
    bw_file_t   *file;

    unsigned     temporary:1;   /* memory we may change */
    unsigned     memory:1;      /* read-only memory */
    unsigned     in_file:1;
    unsigned     flush:1;
    unsigned     sync:1;
    unsigned     last_buf:1;
    unsigned     last_in_chain:1;
    unsigned     recycled:1;
};

struct bw_chain_s {
    bw_buf_t    *buf;
    bw_chain_t  *next;
};

#define bw_buf_in_memory(b)  ((b)->temporary || (b)->memory)
#define bw_buf_in_memory_only(b)  (bw_buf_in_memory(b) && !(b)->in_file)
/* No data anywhere: only flags (or nothing, once a filter took them). */
#define bw_buf_special(b)  (!bw_buf_in_memory(b) && !(b)->in_file)
#define bw_buf_size(b) \
    (bw_buf_in_memory(b) ? (off_t) ((b)->last - (b)->pos) \
                         : ((b)->file_last - (b)->file_pos))

#define bw_calloc_buf(pool) bw_pcalloc(pool, sizeof(bw_buf_t))

bw_buf_t *bw_create_temp_buf(bw_pool_t *pool, size_t size);
bw_chain_t *bw_alloc_chain_link(bw_pool_t *pool);
bw_chain_t *bw_chain_update_sent(bw_chain_t *in, off_t sent);
bw_chain_t *bw_chain_get_free_buf(bw_pool_t *pool, bw_chain_t **free);
void bw_chain_update_chains(bw_pool_t *pool, bw_chain_t **free,
    bw_chain_t **busy, bw_chain_t **out, void *tag);

/* A link goes back to its pool's free list, for the next allocation. */
#define bw_free_chain(pool, cl) \
    do { (cl)->next = (pool)->chain; (pool)->chain = (cl); } while (0)

#endif
