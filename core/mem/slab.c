/*
 * The allocator inside a shared memory zone, in nginx's shape. The zone
 * is cut into 4 KiB pages with a descriptor each. A request of more than
 * half a page takes a run of whole pages (first fit; a freed run joins
 * its free neighbours). A smaller one is rounded up to a power of two,
 * 16 bytes to half a page, and takes a slot in a page of that class,
 * whose bitmap says which slots are taken: the many small objects of a
 * few sizes that zones hold (cache keys, TLS sessions, rate-limit
 * nodes, peers) cost no header each and do not fragment the zone, and a
 * class page whose slots are all freed goes back to the free pages.
 *
 * Every process maps a zone at the same address (mapped by the master
 * before fork), so the lists hold plain pointers. The caller holds the
 * zone's mutex for the _locked functions. Never calls malloc; never
 * blocks but on the zone's mutex.
 */

#include <bw_core.h>

#define BW_SLAB_FREE       1   /* first page of a free run (in pool->free) */
#define BW_SLAB_FREE_TAIL  2   /* last page of a free run of two or more */
#define BW_SLAB_RUN        3   /* first page of a run handed out */
#define BW_SLAB_RUN_TAIL   4   /* last page of a run of two or more */
#define BW_SLAB_CLASS      5   /* a page of slots of one size */

#define bw_slab_page_addr(pool, page)                                      \
    ((pool)->start + ((size_t) ((page) - (pool)->pages) << BW_SLAB_PAGE_SHIFT))

static bw_slab_page_t *bw_slab_alloc_pages(bw_slab_pool_t *pool,
    bw_uint_t n);
static void bw_slab_free_pages(bw_slab_pool_t *pool, bw_slab_page_t *page);

static void
bw_slab_list_init(bw_slab_page_t *head)
{
    head->next = head;
    head->prev = head;
}

static void
bw_slab_list_insert(bw_slab_page_t *head, bw_slab_page_t *page)
{
    page->next = head->next;
    page->prev = head;
    head->next->prev = page;
    head->next = page;
}

static void
bw_slab_list_remove(bw_slab_page_t *page)
{
    page->prev->next = page->next;
    page->next->prev = page->prev;
    page->next = NULL;
    page->prev = NULL;
}

bw_int_t
bw_slab_init(bw_slab_pool_t *pool, size_t size)
{
    u_char               *end;
    bw_uint_t             i, n;
    pthread_mutexattr_t   attr;

    if (pthread_mutexattr_init(&attr) != 0
        || pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED) != 0
        || pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST) != 0
        || pthread_mutex_init(&pool->mutex, &attr) != 0)
    {
        return BW_ERROR;
    }
    pthread_mutexattr_destroy(&attr);

    end = (u_char *) pool + size;
    pool->pages = (bw_slab_page_t *) bw_align_ptr((u_char *) pool
                                                  + sizeof(bw_slab_pool_t), 16);

    /* as many pages as fit beside their descriptors */
    n = (size_t) (end - (u_char *) pool->pages)
        / (BW_SLAB_PAGE_SIZE + sizeof(bw_slab_page_t));
    for ( ;; ) {
        pool->start = bw_align_ptr((u_char *) (pool->pages + n),
                                   BW_SLAB_PAGE_SIZE);
        if (n == 0 || pool->start + (n << BW_SLAB_PAGE_SHIFT) <= end) {
            break;
        }
        n--;
    }

    if (n == 0) {
        return BW_ERROR;
    }

    bw_memzero(pool->pages, n * sizeof(bw_slab_page_t));
    pool->npages = n;
    pool->end = pool->start + (n << BW_SLAB_PAGE_SHIFT);
    pool->used = 0;
    pool->data = NULL;

    bw_slab_list_init(&pool->free);
    for (i = 0; i < BW_SLAB_CLASSES; i++) {
        bw_slab_list_init(&pool->classes[i]);
    }

    /* one free run of every page */
    pool->pages[0].pages = (uint32_t) n;
    pool->free_pages = n;
    bw_slab_free_pages(pool, &pool->pages[0]);
    pool->free_pages = n;

    return BW_OK;
}

void
bw_shmtx_lock(bw_slab_pool_t *pool)
{
    if (pthread_mutex_lock(&pool->mutex) == EOWNERDEAD) {
        /* the state is as consistent as a dead worker left it */
        pthread_mutex_consistent(&pool->mutex);
    }
}

void
bw_shmtx_unlock(bw_slab_pool_t *pool)
{
    pthread_mutex_unlock(&pool->mutex);
}

/* The first free run of at least n pages, split if longer. */
static bw_slab_page_t *
bw_slab_alloc_pages(bw_slab_pool_t *pool, bw_uint_t n)
{
    bw_uint_t        left;
    bw_slab_page_t  *run, *rest;

    for (run = pool->free.next; run != &pool->free; run = run->next) {
        if (run->pages < n) {
            continue;
        }

        bw_slab_list_remove(run);
        left = run->pages - n;

        if (left) {
            rest = run + n;
            rest->type = BW_SLAB_FREE;
            rest->pages = (uint32_t) left;
            if (left > 1) {
                rest[left - 1].type = BW_SLAB_FREE_TAIL;
                rest[left - 1].prev = rest;
            }
            bw_slab_list_insert(&pool->free, rest);
        }

        run->type = BW_SLAB_RUN;
        run->pages = (uint32_t) n;
        if (n > 1) {
            run[n - 1].type = BW_SLAB_RUN_TAIL;
        }
        pool->free_pages -= n;
        return run;
    }

    return NULL;
}

/* A run (page->pages long) back to the free runs, joined with the free
 * runs just before and just after it. */
static void
bw_slab_free_pages(bw_slab_pool_t *pool, bw_slab_page_t *page)
{
    bw_uint_t        n;
    bw_slab_page_t  *next, *prev, *head;

    n = page->pages;
    pool->free_pages += n;

    /* the page after a run is always the first page of another */
    next = page + n;
    if (next < pool->pages + pool->npages && next->type == BW_SLAB_FREE) {
        bw_slab_list_remove(next);
        n += next->pages;
        next->type = 0;
    }

    /* and the page before it the last page of another */
    if (page > pool->pages) {
        prev = page - 1;
        head = prev->type == BW_SLAB_FREE ? prev
               : prev->type == BW_SLAB_FREE_TAIL ? prev->prev : NULL;
        if (head) {
            bw_slab_list_remove(head);
            n += head->pages;
            page->type = 0;
            page = head;
        }
    }

    page->type = BW_SLAB_FREE;
    page->pages = (uint32_t) n;
    if (n > 1) {
        page[n - 1].type = BW_SLAB_FREE_TAIL;
        page[n - 1].prev = page;
    }
    bw_slab_list_insert(&pool->free, page);
}

/* The slots bitmap of a class page: in the descriptor for 64 slots or
 * fewer, else in the page's first slots (which stay taken). */
static uint64_t *
bw_slab_map(bw_slab_pool_t *pool, bw_slab_page_t *page, bw_uint_t *words)
{
    bw_uint_t  slots;

    slots = BW_SLAB_PAGE_SIZE >> page->shift;
    if (slots <= 64) {
        *words = 1;
        return &page->map;
    }
    *words = slots / 64;
    return (uint64_t *) bw_slab_page_addr(pool, page);
}

static void *
bw_slab_alloc_slot(bw_slab_pool_t *pool, bw_uint_t shift)
{
    u_char          *addr;
    uint64_t        *map;
    bw_uint_t        i, w, bit, slots, words, reserved;
    bw_slab_page_t  *head, *page;

    head = &pool->classes[shift - BW_SLAB_MIN_SHIFT];
    slots = BW_SLAB_PAGE_SIZE >> shift;

    page = head->next;
    if (page == head) {
        page = bw_slab_alloc_pages(pool, 1);
        if (page == NULL) {
            return NULL;
        }
        page->type = BW_SLAB_CLASS;
        page->shift = (uint8_t) shift;
        page->map = 0;
        map = bw_slab_map(pool, page, &words);
        bw_memzero(map, words * sizeof(uint64_t));

        if (slots < 64) {
            /* the bits past the last slot are never free */
            page->map = ~(uint64_t) 0 << slots;
        }
        reserved = 0;
        if (slots > 64) {
            reserved = (words * sizeof(uint64_t) + ((size_t) 1 << shift) - 1)
                       >> shift;
            for (i = 0; i < reserved; i++) {
                map[i / 64] |= (uint64_t) 1 << (i % 64);
            }
        }
        page->used = (uint16_t) reserved;
        bw_slab_list_insert(head, page);
    }

    map = bw_slab_map(pool, page, &words);

    for (w = 0; w < words; w++) {
        if (map[w] != ~(uint64_t) 0) {
            break;
        }
    }
    if (w == words) {
        /* a full page on the list of pages with room: cannot be */
        return NULL;
    }

    bit = (bw_uint_t) __builtin_ctzll(~map[w]);
    map[w] |= (uint64_t) 1 << bit;
    page->used++;

    if (page->used == slots) {
        bw_slab_list_remove(page);
    }

    addr = bw_slab_page_addr(pool, page);
    return addr + ((w * 64 + bit) << shift);
}

void *
bw_slab_alloc_locked(bw_slab_pool_t *pool, size_t size)
{
    void            *p;
    bw_uint_t        shift, n;
    bw_slab_page_t  *run;

    if (bw_fail_alloc(NULL)) {
        return NULL;
    }

    if (size > ((size_t) 1 << BW_SLAB_MAX_SHIFT)) {
        n = (size + BW_SLAB_PAGE_SIZE - 1) >> BW_SLAB_PAGE_SHIFT;
        if (n > pool->npages) {
            return NULL;
        }
        run = bw_slab_alloc_pages(pool, n);
        if (run == NULL) {
            return NULL;
        }
        pool->used += n << BW_SLAB_PAGE_SHIFT;
        return bw_slab_page_addr(pool, run);
    }

    for (shift = BW_SLAB_MIN_SHIFT; ((size_t) 1 << shift) < size; shift++) {
        /* void */
    }

    p = bw_slab_alloc_slot(pool, shift);
    if (p) {
        pool->used += (size_t) 1 << shift;
    }
    return p;
}

void *
bw_slab_calloc_locked(bw_slab_pool_t *pool, size_t size)
{
    void  *p;

    p = bw_slab_alloc_locked(pool, size);
    if (p) {
        bw_memzero(p, size);
    }
    return p;
}

void *
bw_slab_alloc(bw_slab_pool_t *pool, size_t size)
{
    void  *p;

    bw_shmtx_lock(pool);
    p = bw_slab_alloc_locked(pool, size);
    bw_shmtx_unlock(pool);
    return p;
}

void
bw_slab_free_locked(bw_slab_pool_t *pool, void *p)
{
    u_char          *addr;
    uint64_t        *map, mask;
    bw_uint_t        slot, slots, words, reserved, was_full;
    bw_slab_page_t  *page;

    if ((u_char *) p < pool->start || (u_char *) p >= pool->end) {
        return;     /* not of this zone: a bug of the caller */
    }

    page = &pool->pages[((u_char *) p - pool->start) >> BW_SLAB_PAGE_SHIFT];
    addr = bw_slab_page_addr(pool, page);

    if (page->type == BW_SLAB_RUN) {
        if ((u_char *) p != addr) {
            return;
        }
        pool->used -= (size_t) page->pages << BW_SLAB_PAGE_SHIFT;
        if (page->pages > 1) {
            page[page->pages - 1].type = 0;
        }
        bw_slab_free_pages(pool, page);
        return;
    }

    if (page->type != BW_SLAB_CLASS
        || (((u_char *) p - addr) & (((size_t) 1 << page->shift) - 1)))
    {
        return;     /* inside a run, or not a slot's start */
    }

    slot = ((u_char *) p - addr) >> page->shift;
    slots = BW_SLAB_PAGE_SIZE >> page->shift;
    map = bw_slab_map(pool, page, &words);
    mask = (uint64_t) 1 << (slot % 64);

    reserved = 0;
    if (slots > 64) {
        reserved = (words * sizeof(uint64_t) + ((size_t) 1 << page->shift) - 1)
                   >> page->shift;
    }

    if (slot < reserved || !(map[slot / 64] & mask)) {
        return;     /* the bitmap's own slots, or freed twice */
    }

    was_full = (page->used == slots);
    map[slot / 64] &= ~mask;
    page->used--;
    pool->used -= (size_t) 1 << page->shift;

    if (page->used == reserved) {
        /* empty: the page goes back to the free pages */
        if (!was_full) {
            bw_slab_list_remove(page);
        }
        page->pages = 1;
        bw_slab_free_pages(pool, page);
        return;
    }

    if (was_full) {
        bw_slab_list_insert(&pool->classes[page->shift - BW_SLAB_MIN_SHIFT],
                            page);
    }
}

void
bw_slab_free(bw_slab_pool_t *pool, void *p)
{
    bw_shmtx_lock(pool);
    bw_slab_free_locked(pool, p);
    bw_shmtx_unlock(pool);
}
