/*
 * Arena allocator, after nginx's: small requests are carved from the
 * current block; large ones are malloc'ed and listed so that they go
 * with the pool. Blocks that failed to satisfy four requests are skipped
 * so that a long-lived pool does not rescan full blocks.
 *
 * Pool blocks and large allocations of the usual sizes (request pools,
 * header and proxy buffers: multiples of 1 KiB up to 16 KiB) go back to
 * free lists of the process when their pool goes, and the next request
 * takes them from there: malloc serves these sizes from its slower
 * bins, four malloc/free pairs a proxied request. Each list keeps at
 * most 64 KiB (1 MiB in all); the rest goes to free(). Under
 * AddressSanitizer a kept chunk is poisoned (but for its link), so that
 * a use after its pool went is still reported.
 */

#include <bw_core.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define bw_pool_poison(p, n)    ASAN_POISON_MEMORY_REGION(p, n)
#define bw_pool_unpoison(p, n)  ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define bw_pool_poison(p, n)
#define bw_pool_unpoison(p, n)
#endif

#define BW_POOL_CACHE_UNIT   1024
#define BW_POOL_CACHE_MAX    (16 * 1024)
#define BW_POOL_CACHE_BYTES  (64 * 1024)

typedef struct bw_pool_kept_s  bw_pool_kept_t;

struct bw_pool_kept_s {
    bw_pool_kept_t  *next;
};

static struct {
    bw_pool_kept_t  *head;
    bw_uint_t        n;
} bw_pool_kept[BW_POOL_CACHE_MAX / BW_POOL_CACHE_UNIT + 1];

static void *bw_palloc_block(bw_pool_t *pool, size_t size);
static void *bw_palloc_large(bw_pool_t *pool, size_t size);

static void *
bw_pool_get(size_t size, bw_log_t *log)
{
    bw_uint_t        i;
    bw_pool_kept_t  *k;

    if (size % BW_POOL_CACHE_UNIT == 0 && size <= BW_POOL_CACHE_MAX) {
        i = size / BW_POOL_CACHE_UNIT;
        k = bw_pool_kept[i].head;
        if (k) {
            bw_pool_unpoison((u_char *) k + sizeof(bw_pool_kept_t),
                             size - sizeof(bw_pool_kept_t));
            bw_pool_kept[i].head = k->next;
            bw_pool_kept[i].n--;
            return k;
        }
    }

    return bw_alloc(size, log);
}

static void
bw_pool_put(void *p, size_t size)
{
    bw_uint_t        i;
    bw_pool_kept_t  *k;

    if (size % BW_POOL_CACHE_UNIT == 0 && size <= BW_POOL_CACHE_MAX) {
        i = size / BW_POOL_CACHE_UNIT;
        if (bw_pool_kept[i].n < BW_POOL_CACHE_BYTES / size) {
            k = p;
            k->next = bw_pool_kept[i].head;
            bw_pool_kept[i].head = k;
            bw_pool_kept[i].n++;
            /* the link stays readable: LeakSanitizer follows it */
            bw_pool_poison((u_char *) p + sizeof(bw_pool_kept_t),
                           size - sizeof(bw_pool_kept_t));
            return;
        }
    }

    free(p);
}

#if (BW_DEBUG)

static bw_uint_t  bw_fail_alloc_at;        /* 0: never */
static bw_uint_t  bw_fail_alloc_count;
static bw_uint_t  bw_fail_alloc_per_connection;
static bw_log_t  *bw_fail_alloc_log;

void
bw_fail_alloc_init(void)
{
    const char  *v;

    v = getenv("BULWARK_FAIL_ALLOC");
    if (v == NULL) {
        return;
    }
    if (strcmp(v, "connection") == 0) {
        bw_fail_alloc_per_connection = 1;
        return;
    }
    bw_fail_alloc_at = (bw_uint_t) strtoul(v, NULL, 10);
}

void
bw_fail_alloc_connection(bw_log_t *log)
{
    static bw_uint_t  accepted;

    if (bw_fail_alloc_per_connection) {
        bw_fail_alloc_at = ++accepted;
        bw_fail_alloc_count = 0;
        bw_fail_alloc_log = log;
    }
}

bw_uint_t
bw_fail_alloc_now(bw_log_t *log)
{
    if (bw_fail_alloc_at == 0 || ++bw_fail_alloc_count != bw_fail_alloc_at) {
        return 0;
    }
    if (log == NULL) {
        log = bw_fail_alloc_log;
    }
    if (log) {
        bw_log_error(BW_LOG_NOTICE, log, 0,
                     "allocation %lu failed on purpose (BULWARK_FAIL_ALLOC)",
                     (unsigned long) bw_fail_alloc_at);
    } else {
        fprintf(stderr, "bulwark: allocation %lu failed on purpose "
                "(BULWARK_FAIL_ALLOC)\n", (unsigned long) bw_fail_alloc_at);
    }
    return 1;
}

#endif

void *
bw_alloc(size_t size, bw_log_t *log)
{
    void  *p;

    if (bw_fail_alloc(log)) {
        return NULL;
    }

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

    if (bw_fail_alloc(log)) {
        return NULL;
    }

    if (size < sizeof(bw_pool_t) + 64) {
        size = sizeof(bw_pool_t) + 64;
    }

    p = bw_pool_get(size, log);
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
        if (l->alloc) {
            bw_pool_put(l->alloc, l->size);
        }
    }

    for (b = pool->block.next; b; b = n) {
        n = b->next;
        bw_pool_put(b, (size_t) (b->end - (u_char *) b));
    }

    bw_pool_put(pool, (size_t) (pool->block.end - (u_char *) pool));
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
    if (bw_fail_alloc(pool->log)) {
        return NULL;
    }
    if (size <= pool->max) {
        return bw_palloc_small(pool, size, 1);
    }
    return bw_palloc_large(pool, size);
}

void *
bw_pnalloc(bw_pool_t *pool, size_t size)
{
    if (bw_fail_alloc(pool->log)) {
        return NULL;
    }
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

    m = bw_pool_get(psize, pool->log);
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

    p = bw_pool_get(size, pool->log);
    if (p == NULL) {
        return NULL;
    }

    /* reuse a slot that bw_pfree() emptied: a keepalive connection frees
     * and reallocates its buffer on every request */
    n = 0;
    for (large = pool->large; large; large = large->next) {
        if (large->alloc == NULL) {
            large->alloc = p;
            large->size = size;
            return p;
        }
        if (n++ > 3) {
            break;
        }
    }

    large = bw_palloc_small(pool, sizeof(bw_pool_large_t), 1);
    if (large == NULL) {
        bw_pool_put(p, size);
        return NULL;
    }

    large->alloc = p;
    large->size = size;
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
            bw_pool_put(l->alloc, l->size);
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
