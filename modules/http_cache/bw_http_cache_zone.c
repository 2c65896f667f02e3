/*
 * The keys zone's entries (an rbtree by MD5 plus an LRU queue, in the
 * zone's slab) and the names of their files. Callers hold the zone's
 * lock for everything that touches a node.
 */

#include <bw_http_cache.h>
#include <openssl/evp.h>

/* path/level/.../md5hex, NUL-ended, into p (BW_HTTP_CACHE_NAME_LEN of
 * room besides the path); returns the NUL */
u_char *
bw_http_cache_name_into(bw_http_cache_t *cache, u_char *md5, u_char *p)
{
    u_char     hex[2 * BW_HTTP_CACHE_KEY_LEN];
    size_t     end;
    bw_uint_t  i;

    (void) bw_hex_dump(hex, md5, BW_HTTP_CACHE_KEY_LEN);

    p = bw_cpymem(p, cache->path.data, cache->path.len);

    /* as nginx: the levels are taken from the end of the name */
    end = sizeof(hex);
    for (i = 0; i < cache->nlevels; i++) {
        end -= cache->level[i];
        *p++ = '/';
        p = bw_cpymem(p, hex + end, cache->level[i]);
    }

    *p++ = '/';
    p = bw_cpymem(p, hex, sizeof(hex));
    *p = '\0';

    return p;
}

bw_int_t
bw_http_cache_file_name(bw_pool_t *pool, bw_http_cache_t *cache,
    u_char *md5, bw_str_t *name)
{
    /* room for a temp file's suffix too */
    name->data = bw_pnalloc(pool, cache->path.len + BW_HTTP_CACHE_NAME_LEN
                                  + BW_HTTP_CACHE_TEMP_SUFFIX);
    if (name->data == NULL) {
        return BW_ERROR;
    }

    name->len = bw_http_cache_name_into(cache, md5, name->data) - name->data;
    return BW_OK;
}

bw_uint_t
bw_http_cache_header_valid(bw_http_cache_file_header_t *h, off_t size)
{
    return h->version == BW_HTTP_CACHE_VERSION
           && h->header_start >= sizeof(bw_http_cache_file_header_t)
           && h->body_start >= h->header_start
           && h->body_start - h->header_start <= BW_HTTP_CACHE_MAX_HEADER
           && h->body_length >= 0
           && (off_t) h->body_start + h->body_length == size
           && h->etag_len <= BW_HTTP_CACHE_ETAG_LEN
           && h->vary_len <= BW_HTTP_CACHE_VARY_LEN
           /* times a header could give: their sums cannot overflow */
           && h->valid_sec >= 0 && h->valid_sec < ((int64_t) 1 << 40)
           && h->updating_sec >= 0
           && h->updating_sec <= BW_HTTP_CACHE_MAX_VALID
           && h->error_sec >= 0 && h->error_sec <= BW_HTTP_CACHE_MAX_VALID;
}

bw_http_cache_node_t *
bw_http_cache_find_node(bw_http_cache_t *cache, u_char *md5)
{
    bw_rbtree_key_t        key;
    bw_rbtree_node_t      *node, *sentinel;
    bw_http_cache_node_t  *fcn;
    bw_int_t               rc;

    memcpy(&key, md5, sizeof(bw_rbtree_key_t));

    node = cache->sh->rbtree.root;
    sentinel = cache->sh->rbtree.sentinel;

    while (node != sentinel) {
        if (key < node->key) {
            node = node->left;
            continue;
        }
        if (key > node->key) {
            node = node->right;
            continue;
        }

        fcn = (bw_http_cache_node_t *) node;
        rc = memcmp(md5 + sizeof(bw_rbtree_key_t), fcn->key,
                    BW_HTTP_CACHE_KEY_LEN - sizeof(bw_rbtree_key_t));
        if (rc == 0) {
            return fcn;
        }
        node = rc < 0 ? node->left : node->right;
    }

    return NULL;
}

/* Locked. A new node, making room from the LRU end if the zone is full
 * (entries no request holds; their files go with them). */
bw_http_cache_node_t *
bw_http_cache_add_node(bw_http_cache_t *cache, u_char *md5)
{
    bw_uint_t              tries;
    bw_queue_t            *q;
    bw_http_cache_node_t  *fcn, *old;

    for (tries = 0; tries < 8; tries++) {
        fcn = bw_slab_calloc_locked(cache->shpool,
                                    sizeof(bw_http_cache_node_t));
        if (fcn) {
            memcpy(&fcn->node.key, md5, sizeof(bw_rbtree_key_t));
            memcpy(fcn->key, md5 + sizeof(bw_rbtree_key_t),
                   BW_HTTP_CACHE_KEY_LEN - sizeof(bw_rbtree_key_t));
            bw_rbtree_insert(&cache->sh->rbtree, &fcn->node);
            bw_queue_insert_head(&cache->sh->queue, &fcn->queue);
            cache->sh->count++;
            return fcn;
        }

        for (q = bw_queue_last(&cache->sh->queue);
             q != bw_queue_sentinel(&cache->sh->queue);
             q = bw_queue_prev(q))
        {
            old = bw_queue_data(q, bw_http_cache_node_t, queue);
            if (old->count == 0) {
                break;
            }
        }

        if (q == bw_queue_sentinel(&cache->sh->queue)) {
            return NULL;
        }

        bw_http_cache_delete_node(cache, old);
    }

    return NULL;
}

/* Locked. The node goes, and its file if it has one. */
void
bw_http_cache_delete_node(bw_http_cache_t *cache, bw_http_cache_node_t *fcn)
{
    u_char  md5[BW_HTTP_CACHE_KEY_LEN], *name;

    if (fcn->exists) {
        memcpy(md5, &fcn->node.key, sizeof(bw_rbtree_key_t));
        memcpy(md5 + sizeof(bw_rbtree_key_t), fcn->key,
               BW_HTTP_CACHE_KEY_LEN - sizeof(bw_rbtree_key_t));

        /* under the lock: a file removed here cannot race a new store of
         * the same key into place */
        name = malloc(cache->path.len + BW_HTTP_CACHE_NAME_LEN);
        if (name) {
            (void) bw_http_cache_name_into(cache, md5, name);
            if (unlink((char *) name) == -1 && errno != ENOENT) {
                bw_log_error(BW_LOG_CRIT, bw_cycle->log, errno,
                             "unlink() \"%s\" failed", name);
            }
            free(name);
        }

        cache->sh->size -= fcn->fs_size;
    }

    bw_queue_remove(&fcn->queue);
    bw_rbtree_delete(&cache->sh->rbtree, &fcn->node);
    cache->sh->count--;
    bw_slab_free_locked(cache->shpool, fcn);
}

/*
 * MD5, looked up in OpenSSL's providers once per process: each lookup
 * by EVP_md5() in OpenSSL 3 is a fetch under a lock, a quarter of what
 * a cache hit costs.
 */
const EVP_MD *
bw_http_cache_md5(void)
{
    static EVP_MD  *md5;

    if (md5 == NULL) {
        md5 = EVP_MD_fetch(NULL, "MD5", NULL);
    }

    return md5;
}

/* The MD5 of data, with one digest context kept per process (making
 * and freeing one per call is a third of what the digest costs). */
bw_int_t
bw_http_cache_md5_of(u_char *data, size_t len, u_char *out)
{
    unsigned int        n;
    static EVP_MD_CTX  *ctx;

    if (ctx == NULL) {
        ctx = EVP_MD_CTX_new();
        if (ctx == NULL) {
            return BW_ERROR;
        }
    }

    if (!EVP_DigestInit_ex(ctx, bw_http_cache_md5(), NULL)
        || !EVP_DigestUpdate(ctx, data, len)
        || !EVP_DigestFinal_ex(ctx, out, &n))
    {
        return BW_ERROR;
    }

    return BW_OK;
}

/*
 * Vary: which variant of an answer a request wants, as the MD5 of the
 * request's values of the header names the answer's Vary lists (one
 * name after another, each with every value it has in the request).
 */
bw_int_t
bw_http_cache_variant(bw_http_request_t *r, u_char *vary, size_t len,
    u_char *md5)
{
    u_char                 *p, *end, *name;
    size_t                  n;
    unsigned int            mdlen;
    EVP_MD_CTX             *md;
    bw_table_elt_t         *h;
    bw_http_header_iter_t   it;

    md = EVP_MD_CTX_new();
    if (md == NULL || !EVP_DigestInit_ex(md, bw_http_cache_md5(), NULL)) {
        EVP_MD_CTX_free(md);
        return BW_ERROR;
    }

    p = vary;
    end = vary + len;

    while (p < end) {
        while (p < end && (*p == ',' || *p == ' ' || *p == '\t')) {
            p++;
        }
        name = p;
        while (p < end && *p != ',' && *p != ' ' && *p != '\t') {
            p++;
        }
        n = p - name;
        if (n == 0) {
            continue;
        }

        EVP_DigestUpdate(md, name, n);
        EVP_DigestUpdate(md, ":", 1);

        it.part = &r->headers_in.headers.part;
        it.i = 0;
        while ((h = bw_http_header_next(&it, (char *) name, n)) != NULL) {
            EVP_DigestUpdate(md, h->value.data, h->value.len);
            EVP_DigestUpdate(md, ",", 1);
        }

        EVP_DigestUpdate(md, "\n", 1);
    }

    mdlen = 0;
    EVP_DigestFinal_ex(md, md5, &mdlen);
    EVP_MD_CTX_free(md);

    return BW_OK;
}
