/* Buffer and chain helpers. */

#include <bw_core.h>

bw_buf_t *
bw_create_temp_buf(bw_pool_t *pool, size_t size)
{
    bw_buf_t  *b;

    b = bw_calloc_buf(pool);
    if (b == NULL) {
        return NULL;
    }

    b->start = bw_pnalloc(pool, size);
    if (b->start == NULL) {
        return NULL;
    }

    b->pos = b->start;
    b->last = b->start;
    b->end = b->start + size;
    b->temporary = 1;

    return b;
}

/*
 * Links are reused through the pool's free list: a response streamed
 * for hours passes millions of links, and the request pool must not
 * grow with it.
 */
bw_chain_t *
bw_alloc_chain_link(bw_pool_t *pool)
{
    bw_chain_t  *cl;

    cl = pool->chain;
    if (cl) {
        pool->chain = cl->next;
        return cl;
    }

    return bw_palloc(pool, sizeof(bw_chain_t));
}

/* A link with a buffer from the free list, or a fresh empty one. */
bw_chain_t *
bw_chain_get_free_buf(bw_pool_t *pool, bw_chain_t **free)
{
    bw_chain_t  *cl;

    if (*free) {
        cl = *free;
        *free = cl->next;
        cl->next = NULL;
        return cl;
    }

    cl = bw_alloc_chain_link(pool);
    if (cl == NULL) {
        return NULL;
    }

    cl->buf = bw_calloc_buf(pool);
    if (cl->buf == NULL) {
        return NULL;
    }

    cl->next = NULL;
    return cl;
}

/*
 * After a filter passed `out` on: append it to `busy`, then move the
 * buffers at the head of busy that were sent completely to `free` (ours,
 * by tag) or back to the pool's link list (someone else's).
 */
void
bw_chain_update_chains(bw_pool_t *pool, bw_chain_t **free, bw_chain_t **busy,
    bw_chain_t **out, void *tag)
{
    bw_chain_t  *cl;

    if (*out) {
        if (*busy == NULL) {
            *busy = *out;
        } else {
            for (cl = *busy; cl->next; cl = cl->next) { /* void */ }
            cl->next = *out;
        }
        *out = NULL;
    }

    while (*busy) {
        cl = *busy;

        if (bw_buf_size(cl->buf) != 0) {
            break;
        }

        *busy = cl->next;

        if (cl->buf->tag != tag) {
            bw_free_chain(pool, cl);
            continue;
        }

        cl->buf->pos = cl->buf->start;
        cl->buf->last = cl->buf->start;
        cl->buf->flush = 0;
        cl->buf->last_buf = 0;
        cl->buf->memory = 0;
        cl->buf->temporary = 0;
        cl->buf->in_file = 0;

        cl->next = *free;
        *free = cl;
    }
}

/* Advance the buffers of a chain past `sent` bytes; return the rest. */
bw_chain_t *
bw_chain_update_sent(bw_chain_t *in, off_t sent)
{
    off_t  size;

    for ( /* void */ ; in; in = in->next) {
        if (bw_buf_special(in->buf)) {
            continue;
        }

        if (sent == 0) {
            break;
        }

        size = bw_buf_size(in->buf);

        if (sent >= size) {
            sent -= size;
            if (bw_buf_in_memory(in->buf)) {
                in->buf->pos = in->buf->last;
            }
            if (in->buf->in_file) {
                in->buf->file_pos = in->buf->file_last;
            }
            continue;
        }

        if (bw_buf_in_memory(in->buf)) {
            in->buf->pos += (size_t) sent;
        }
        if (in->buf->in_file) {
            in->buf->file_pos += sent;
        }
        break;
    }

    return in;
}

