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

bw_chain_t *
bw_alloc_chain_link(bw_pool_t *pool)
{
    return bw_palloc(pool, sizeof(bw_chain_t));
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

