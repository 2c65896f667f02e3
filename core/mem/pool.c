/*
 * Arena allocator, after nginx's: small requests are carved from the
 * current block; large ones are malloc'ed and listed so that they go
 * with the pool. Blocks that failed to satisfy four requests are skipped
 * so that a long-lived pool does not rescan full blocks.
 */

#include <bw_core.h>

static void *bw_palloc_block(bw_pool_t *pool, size_t size);
static void *bw_palloc_large(bw_pool_t *pool, size_t size);

void *
bw_alloc(size_t size, bw_log_t *log)
{
    void  *p;

    p = malloc(size);
    if (p == NULL && log) {
        bw_log_error(BW_LOG_EMERG, log, errno, "malloc(%zu) failed", size);
    }
    return p;
}

void *
bw_calloc(size_t size, bw_log_t *log)
{
    void  *p;

    p = bw_alloc(size, log);
    if (p) {
        bw_memzero(p, size);
    }
    return p;
}

bw_pool_t *
bw_create_pool(size_t size, bw_log_t *log)
{
    bw_pool_t  *p;

    if (size < sizeof(bw_pool_t) + 64) {
        size = sizeof(bw_pool_t) + 64;
    }

    p = bw_alloc(size, log);
    if (p == NULL) {
        return NULL;
    }

    p->block.last = (u_char *) p + sizeof(bw_pool_t);
    p->block.end = (u_char *) p + size;
    p->block.next = NULL;
    p->block.failed = 0;

    size -= sizeof(bw_pool_t);
    p->max = bw_min(size, BW_MAX_ALLOC_FROM_POOL);
    p->current = &p->block;
    p->large = NULL;
    p->cleanup = NULL;
    p->chain = NULL;
    p->log = log;

    return p;
}

void
bw_destroy_pool(bw_pool_t *pool)
{
    bw_pool_block_t    *b, *n;
    bw_pool_large_t    *l;
    bw_pool_cleanup_t  *c;

    for (c = pool->cleanup; c; c = c->next) {
        if (c->handler) {
            c->handler(c->data);
        }
    }

    for (l = pool->large; l; l = l->next) {
        free(l->alloc);
    }

    for (b = pool->block.next; b; b = n) {
        n = b->next;
        free(b);
    }

    free(pool);
}

static inline void *
bw_palloc_small(bw_pool_t *pool, size_t size, bw_uint_t align)
{
    u_char           *m;
    bw_pool_block_t  *b;

    for (b = pool->current; b; b = b->next) {
        m = b->last;
        if (align) {
            m = bw_align_ptr(m, BW_ALIGNMENT);
        }
        if (m <= b->end && (size_t) (b->end - m) >= size) {
            b->last = m + size;
            return m;
        }
    }

    return bw_palloc_block(pool, size);
}

void *
bw_palloc(bw_pool_t *pool, size_t size)
{
    if (size <= pool->max) {
        return bw_palloc_small(pool, size, 1);
    }
    return bw_palloc_large(pool, size);
}

void *
bw_pnalloc(bw_pool_t *pool, size_t size)
{
    if (size <= pool->max) {
        return bw_palloc_small(pool, size, 0);
    }
    return bw_palloc_large(pool, size);
}

void *
bw_pcalloc(bw_pool_t *pool, size_t size)
{
    void  *p;

    p = bw_palloc(pool, size);
    if (p) {
        bw_memzero(p, size);
    }
    return p;
}

static void *
bw_palloc_block(bw_pool_t *pool, size_t size)
{
    size_t            psize;
    u_char           *m;
    bw_pool_block_t  *b, *nb;

    psize = (size_t) (pool->block.end - (u_char *) pool);

    m = bw_alloc(psize, pool->log);
    if (m == NULL) {
        return NULL;
    }

    nb = (bw_pool_block_t *) m;
    nb->end = m + psize;
    nb->next = NULL;
    nb->failed = 0;

    m += sizeof(bw_pool_block_t);
    m = bw_align_ptr(m, BW_ALIGNMENT);
    nb->last = m + size;

    for (b = pool->current; b->next; b = b->next) {
        if (b->failed++ > 4) {
            pool->current = b->next;
        }
    }
    b->next = nb;

    return m;
}

static void *
bw_palloc_large(bw_pool_t *pool, size_t size)
{
    void             *p;
    bw_pool_large_t  *large;

    bw_uint_t         n;

    p = bw_alloc(size, pool->log);
    if (p == NULL) {
        return NULL;
    }

    /* reuse a slot that bw_pfree() emptied: a keepalive connection frees
     * and reallocates its buffer on every request */
    n = 0;
    for (large = pool->large; large; large = large->next) {
        if (large->alloc == NULL) {
            large->alloc = p;
            return p;
        }
        if (n++ > 3) {
            break;
        }
    }

    large = bw_palloc_small(pool, sizeof(bw_pool_large_t), 1);
    if (large == NULL) {
        free(p);
        return NULL;
    }

    large->alloc = p;
    large->next = pool->large;
    pool->large = large;

    return p;
}

bw_int_t
bw_pfree(bw_pool_t *pool, void *p)
{
    bw_pool_large_t  *l;

    for (l = pool->large; l; l = l->next) {
        if (p == l->alloc) {
            free(l->alloc);
            l->alloc = NULL;
            return BW_OK;
        }
    }

    return BW_DECLINED;
}

u_char *
bw_pstrdup(bw_pool_t *pool, bw_str_t *src)
{
    u_char  *dst;

    dst = bw_pnalloc(pool, src->len + 1);
    if (dst == NULL) {
        return NULL;
    }

    memcpy(dst, src->data, src->len);
    dst[src->len] = '\0';
    return dst;
}

bw_pool_cleanup_t *
bw_pool_cleanup_add(bw_pool_t *p, size_t size)
{
    bw_pool_cleanup_t  *c;

    c = bw_palloc(p, sizeof(bw_pool_cleanup_t));
    if (c == NULL) {
        return NULL;
    }

    if (size) {
        c->data = bw_palloc(p, size);
        if (c->data == NULL) {
            return NULL;
        }
    } else {
        c->data = NULL;
    }

    c->handler = NULL;
    c->next = p->cleanup;
    p->cleanup = c;

    return c;
}
