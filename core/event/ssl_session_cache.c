/*
 * The TLS session cache in a shared zone (ssl_session_cache
 * shared:NAME:SIZE): sessions made by one worker are resumed by all,
 * and the zone outlives a reload when its name and size stay. A hash
 * of session IDs and a list from the most to the least recently used;
 * when the zone is full the least recently used sessions go.
 *
 * The lock is held only to copy bytes in or out: OpenSSL encodes and
 * decodes sessions outside it. Never more than BW_SSL_MAX_SESSION_SIZE
 * bytes a session (larger ones, with long chains of client
 * certificates, are not cached).
 */

#include <bw_core.h>

#define BW_SSL_MAX_SESSION_SIZE  4096

typedef struct bw_ssl_sess_s  bw_ssl_sess_t;

struct bw_ssl_sess_s {
    bw_ssl_sess_t   *next;          /* in its bucket */
    bw_queue_t       lru;
    time_t           expire;
    uint32_t         hash;
    u_char           id_len;
    u_char           id[SSL_MAX_SSL_SESSION_ID_LENGTH];
    size_t           len;
    u_char           data[];        /* the DER encoding */
};

typedef struct {
    bw_queue_t       lru;           /* most recently used first */
    bw_uint_t        nbuckets;
    bw_ssl_sess_t  **buckets;
} bw_ssl_session_cache_t;

int  bw_ssl_session_cache_index = -1;

static int bw_ssl_new_session(SSL *ssl, SSL_SESSION *sess);
static SSL_SESSION *bw_ssl_get_cached_session(SSL *ssl,
    const unsigned char *id, int len, int *copy);
static void bw_ssl_remove_session(SSL_CTX *ctx, SSL_SESSION *sess);

static uint32_t
bw_ssl_session_hash(const u_char *id, size_t len)
{
    size_t    i;
    uint32_t  h;

    /* FNV-1a: the IDs are random already */
    h = 2166136261u;
    for (i = 0; i < len; i++) {
        h = (h ^ id[i]) * 16777619u;
    }
    return h;
}

bw_int_t
bw_ssl_session_cache_init(bw_shm_zone_t *zone, void *data)
{
    bw_uint_t                n;
    bw_slab_pool_t          *shpool;
    bw_ssl_session_cache_t  *cache;

    if (data) {
        /* the zone of the previous configuration, sessions and all */
        zone->data = data;
        return BW_OK;
    }

    shpool = (bw_slab_pool_t *) zone->addr;

    /* about one bucket per typical session (~300 bytes with tickets
     * off, more with client certificates) */
    n = bw_max(zone->size / 1024, (size_t) 64);

    cache = bw_slab_alloc(shpool, sizeof(bw_ssl_session_cache_t));
    if (cache == NULL) {
        return BW_ERROR;
    }
    cache->buckets = bw_slab_alloc(shpool, n * sizeof(bw_ssl_sess_t *));
    if (cache->buckets == NULL) {
        return BW_ERROR;
    }
    memset(cache->buckets, 0, n * sizeof(bw_ssl_sess_t *));
    cache->nbuckets = n;
    bw_queue_init(&cache->lru);

    shpool->data = cache;
    zone->data = cache;

    return BW_OK;
}

bw_int_t
bw_ssl_session_cache(bw_ssl_t *ssl, bw_shm_zone_t *zone, bw_uint_t builtin)
{
    long  mode;

    if (bw_ssl_session_cache_index == -1) {
        bw_ssl_session_cache_index = SSL_CTX_get_ex_new_index(0, NULL, NULL,
                                                              NULL, NULL);
        if (bw_ssl_session_cache_index == -1) {
            bw_ssl_error(BW_LOG_EMERG, ssl->log, 0,
                         "SSL_CTX_get_ex_new_index() failed");
            return BW_ERROR;
        }
    }

    if (SSL_CTX_set_ex_data(ssl->ctx, bw_ssl_session_cache_index, zone)
        == 0)
    {
        bw_ssl_error(BW_LOG_EMERG, ssl->log, 0,
                     "SSL_CTX_set_ex_data() failed");
        return BW_ERROR;
    }

    mode = SSL_SESS_CACHE_SERVER;
    if (!builtin) {
        mode |= SSL_SESS_CACHE_NO_INTERNAL;
    }
    SSL_CTX_set_session_cache_mode(ssl->ctx, mode);

    SSL_CTX_sess_set_new_cb(ssl->ctx, bw_ssl_new_session);
    SSL_CTX_sess_set_get_cb(ssl->ctx, bw_ssl_get_cached_session);
    SSL_CTX_sess_set_remove_cb(ssl->ctx, bw_ssl_remove_session);

    return BW_OK;
}

/* The cache of the context the connection started with: the default
 * server's, whichever server SNI chose (as nginx). */
static bw_ssl_session_cache_t *
bw_ssl_cache_of(SSL_CTX *ctx, bw_slab_pool_t **shpool)
{
    bw_shm_zone_t  *zone;

    if (ctx == NULL || bw_ssl_session_cache_index == -1) {
        return NULL;
    }

    zone = SSL_CTX_get_ex_data(ctx, bw_ssl_session_cache_index);
    if (zone == NULL || zone->data == NULL) {
        return NULL;
    }

    *shpool = (bw_slab_pool_t *) zone->addr;
    return zone->data;
}

static void
bw_ssl_cache_unlink(bw_ssl_session_cache_t *cache, bw_ssl_sess_t *s)
{
    bw_ssl_sess_t  **pp;

    for (pp = &cache->buckets[s->hash % cache->nbuckets]; *pp;
         pp = &(*pp)->next)
    {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    bw_queue_remove(&s->lru);
}

static bw_ssl_sess_t *
bw_ssl_cache_find(bw_ssl_session_cache_t *cache, const u_char *id,
    size_t len, uint32_t hash)
{
    bw_ssl_sess_t  *s;

    for (s = cache->buckets[hash % cache->nbuckets]; s; s = s->next) {
        if (s->hash == hash && s->id_len == len
            && memcmp(s->id, id, len) == 0)
        {
            return s;
        }
    }
    return NULL;
}

/* The least recently used sessions that expired, at most n of them (or
 * the least recently used whatever its age, with force). */
static bw_uint_t
bw_ssl_cache_expire(bw_slab_pool_t *shpool, bw_ssl_session_cache_t *cache,
    bw_uint_t n, bw_uint_t force)
{
    bw_uint_t       freed;
    bw_queue_t     *q;
    bw_ssl_sess_t  *s;

    freed = 0;

    while (n-- && !bw_queue_empty(&cache->lru)) {
        q = bw_queue_last(&cache->lru);
        s = bw_queue_data(q, bw_ssl_sess_t, lru);
        if (!force && s->expire > bw_time_sec) {
            break;
        }
        bw_ssl_cache_unlink(cache, s);
        bw_slab_free_locked(shpool, s);
        freed++;
    }

    return freed;
}

static bw_ssl_session_cache_t *
bw_ssl_cache_of_connection(SSL *ssl, bw_slab_pool_t **shpool)
{
    bw_connection_t  *c;

    c = SSL_get_ex_data(ssl, bw_ssl_connection_index);
    if (c == NULL || c->ssl == NULL) {
        return NULL;
    }
    return bw_ssl_cache_of(c->ssl->session_ctx, shpool);
}

static int
bw_ssl_new_session(SSL *ssl, SSL_SESSION *sess)
{
    int                      len;
    u_char                  *p, buf[BW_SSL_MAX_SESSION_SIZE];
    uint32_t                 hash;
    unsigned int             id_len;
    const u_char            *id;
    bw_slab_pool_t          *shpool;
    bw_ssl_sess_t           *s;
    bw_ssl_session_cache_t  *cache;

    cache = bw_ssl_cache_of_connection(ssl, &shpool);
    if (cache == NULL) {
        return 0;
    }

    len = i2d_SSL_SESSION(sess, NULL);
    if (len <= 0 || len > BW_SSL_MAX_SESSION_SIZE) {
        return 0;
    }
    p = buf;
    i2d_SSL_SESSION(sess, &p);

    id = SSL_SESSION_get_id(sess, &id_len);
    if (id_len == 0 || id_len > SSL_MAX_SSL_SESSION_ID_LENGTH) {
        return 0;
    }
    hash = bw_ssl_session_hash(id, id_len);

    bw_shmtx_lock(shpool);

    (void) bw_ssl_cache_expire(shpool, cache, 2, 0);

    s = bw_ssl_cache_find(cache, id, id_len, hash);
    if (s) {
        bw_ssl_cache_unlink(cache, s);
        bw_slab_free_locked(shpool, s);
    }

    for ( ;; ) {
        s = bw_slab_alloc_locked(shpool, sizeof(bw_ssl_sess_t) + len);
        if (s) {
            break;
        }
        /* full: the least recently used make room */
        if (bw_ssl_cache_expire(shpool, cache, 4, 1) == 0) {
            break;
        }
    }

    if (s == NULL) {
        bw_shmtx_unlock(shpool);
        return 0;
    }

    s->hash = hash;
    s->id_len = (u_char) id_len;
    memcpy(s->id, id, id_len);
    s->len = (size_t) len;
    memcpy(s->data, buf, (size_t) len);
    s->expire = SSL_SESSION_get_time(sess) + SSL_SESSION_get_timeout(sess);

    s->next = cache->buckets[hash % cache->nbuckets];
    cache->buckets[hash % cache->nbuckets] = s;
    bw_queue_insert_head(&cache->lru, &s->lru);

    bw_shmtx_unlock(shpool);

    /* the cache holds a copy, not a reference */
    return 0;
}

static SSL_SESSION *
bw_ssl_get_cached_session(SSL *ssl, const unsigned char *id, int len,
    int *copy)
{
    size_t                   n;
    u_char                   buf[BW_SSL_MAX_SESSION_SIZE];
    uint32_t                 hash;
    const u_char            *p;
    bw_slab_pool_t          *shpool;
    bw_ssl_sess_t           *s;
    bw_ssl_session_cache_t  *cache;

    *copy = 0;

    if (len <= 0 || len > SSL_MAX_SSL_SESSION_ID_LENGTH) {
        return NULL;
    }

    cache = bw_ssl_cache_of_connection(ssl, &shpool);
    if (cache == NULL) {
        return NULL;
    }

    hash = bw_ssl_session_hash(id, (size_t) len);
    n = 0;

    bw_shmtx_lock(shpool);

    s = bw_ssl_cache_find(cache, id, (size_t) len, hash);
    if (s) {
        if (s->expire <= bw_time_sec) {
            bw_ssl_cache_unlink(cache, s);
            bw_slab_free_locked(shpool, s);

        } else {
            n = s->len;
            memcpy(buf, s->data, n);
            bw_queue_remove(&s->lru);
            bw_queue_insert_head(&cache->lru, &s->lru);
        }
    }

    bw_shmtx_unlock(shpool);

    if (n == 0) {
        return NULL;
    }

    p = buf;
    return d2i_SSL_SESSION(NULL, &p, (long) n);
}

static void
bw_ssl_remove_session(SSL_CTX *ctx, SSL_SESSION *sess)
{
    uint32_t                 hash;
    unsigned int             id_len;
    const u_char            *id;
    bw_slab_pool_t          *shpool;
    bw_ssl_sess_t           *s;
    bw_ssl_session_cache_t  *cache;

    cache = bw_ssl_cache_of(ctx, &shpool);
    if (cache == NULL) {
        return;
    }

    id = SSL_SESSION_get_id(sess, &id_len);
    if (id_len == 0 || id_len > SSL_MAX_SSL_SESSION_ID_LENGTH) {
        return;
    }
    hash = bw_ssl_session_hash(id, id_len);

    bw_shmtx_lock(shpool);

    s = bw_ssl_cache_find(cache, id, id_len, hash);
    if (s) {
        bw_ssl_cache_unlink(cache, s);
        bw_slab_free_locked(shpool, s);
    }

    bw_shmtx_unlock(shpool);
}
