/*
 * proxy_cache_purge: a request for which one of the directive's values
 * is neither empty nor "0" removes the entry of its key (the location's
 * proxy_cache_key), or with a key ending in "*" every entry whose key
 * starts with the rest. The answer is 200 with how many entries went,
 * or 404 when none did. Who may purge is for the location's access
 * directives to say (allow/deny, auth_basic), as with nginx's
 * commercial version.
 *
 * A prefix purge reads the key line of every entry in the zone: it is
 * an administrator's tool, its cost grows with the cache. An entry a
 * request is reading goes from the disk at once; the reader keeps its
 * open file to the end.
 */

#include <bw_http_cache.h>

/* Removes the entry of md5 (its node, or only its file while requests
 * hold it); 1 if there was one. */
/* The key's entry on disk says its answer varies (Vary). */
static bw_uint_t
bw_http_cache_varies(bw_http_cache_req_t *c)
{
    int                          fd;
    ssize_t                      n;
    bw_http_cache_file_header_t  h;

    fd = open((char *) c->file.data, O_RDONLY|O_NOFOLLOW|O_CLOEXEC);
    if (fd == -1) {
        return 0;
    }

    n = pread(fd, &h, sizeof(h), 0);
    close(fd);

    return n == (ssize_t) sizeof(h) && h.version == BW_HTTP_CACHE_VERSION
           && h.vary_len != 0;
}

static bw_uint_t
bw_http_cache_purge_one(bw_http_cache_t *cache, u_char *md5, u_char *file)
{
    bw_uint_t              removed;
    bw_http_cache_node_t  *fcn;

    removed = 0;

    bw_shmtx_lock(cache->shpool);

    fcn = bw_http_cache_find_node(cache, md5);

    if (fcn && (fcn->exists || fcn->error)) {
        /* (a kept intercepted error has no file: it goes too) */
        removed = 1;
        fcn->error = 0;
        if (fcn->count == 0 && !fcn->updating) {
            bw_http_cache_delete_node(cache, fcn);
            fcn = NULL;
        } else if (fcn->exists) {
            (void) unlink((char *) file);
            fcn->exists = 0;
            cache->sh->size -= fcn->fs_size;
            fcn->fs_size = 0;
        }

    } else if (cache->sh->cold && unlink((char *) file) == 0) {
        /* on disk, not loaded yet */
        removed = 1;
    }

    bw_shmtx_unlock(cache->shpool);

    return removed;
}

/* Every entry whose key starts with prefix (exact: is the key). */
static bw_uint_t
bw_http_cache_purge_keys(bw_http_request_t *r, bw_http_cache_t *cache,
    bw_str_t *prefix, bw_uint_t exact)
{
    int                           fd;
    size_t                        want, i, n, count;
    ssize_t                       got;
    u_char                       *md5s, *buf, *name;
    bw_uint_t                     purged;
    bw_queue_t                   *q;
    bw_http_cache_node_t         *fcn;
    bw_http_cache_file_header_t  *h;

    /* the entries there are now, taken under the lock; each is looked
     * at (and found again) without it */
    bw_shmtx_lock(cache->shpool);

    count = cache->sh->count;
    md5s = count ? malloc(count * BW_HTTP_CACHE_KEY_LEN) : NULL;
    n = 0;

    if (md5s) {
        for (q = bw_queue_head(&cache->sh->queue);
             q != bw_queue_sentinel(&cache->sh->queue) && n < count;
             q = bw_queue_next(q))
        {
            fcn = bw_queue_data(q, bw_http_cache_node_t, queue);
            if (!fcn->exists) {
                continue;
            }
            memcpy(md5s + n * BW_HTTP_CACHE_KEY_LEN, &fcn->node.key,
                   sizeof(bw_rbtree_key_t));
            memcpy(md5s + n * BW_HTTP_CACHE_KEY_LEN
                   + sizeof(bw_rbtree_key_t), fcn->key,
                   BW_HTTP_CACHE_KEY_LEN - sizeof(bw_rbtree_key_t));
            n++;
        }
    }

    bw_shmtx_unlock(cache->shpool);

    if (count && md5s == NULL) {
        bw_log_error(BW_LOG_ALERT, r->connection->log, 0,
                     "no memory for a cache purge");
        return 0;
    }

    /* the key line up to the prefix's end (and its newline: exact) */
    want = sizeof(bw_http_cache_file_header_t)
           + sizeof(BW_HTTP_CACHE_KEY_PREFIX) - 1 + prefix->len + exact;
    buf = bw_palloc(r->pool, want);
    name = bw_pnalloc(r->pool, cache->path.len + BW_HTTP_CACHE_NAME_LEN);
    purged = 0;

    for (i = 0; buf && name && i < n; i++) {
        (void) bw_http_cache_name_into(cache, md5s + i * BW_HTTP_CACHE_KEY_LEN,
                                       name);

        fd = open((char *) name, O_RDONLY|O_NOFOLLOW|O_CLOEXEC);
        if (fd == -1) {
            continue;
        }
        got = pread(fd, buf, want, 0);
        close(fd);

        h = (bw_http_cache_file_header_t *) buf;

        if (got != (ssize_t) want || h->version != BW_HTTP_CACHE_VERSION
            || memcmp(buf + sizeof(bw_http_cache_file_header_t),
                      BW_HTTP_CACHE_KEY_PREFIX,
                      sizeof(BW_HTTP_CACHE_KEY_PREFIX) - 1) != 0
            || memcmp(buf + want - exact - prefix->len, prefix->data,
                      prefix->len) != 0
            || (exact && buf[want - 1] != '\n'))
        {
            continue;
        }

        purged += bw_http_cache_purge_one(cache,
                                          md5s + i * BW_HTTP_CACHE_KEY_LEN,
                                          name);
    }

    free(md5s);
    return purged;
}

bw_int_t
bw_http_cache_purge(bw_http_request_t *r, bw_http_upstream_t *u)
{
    u_char                   *p;
    bw_int_t                  rc;
    bw_str_t                  ct, prefix;
    bw_uint_t                 purged;
    bw_http_cache_req_t       c;
    bw_http_complex_value_t   cv;

    bw_memzero(&c, sizeof(bw_http_cache_req_t));

    rc = bw_http_cache_get(r, u->conf->cache, &c.cache);
    if (rc != BW_OK) {
        return rc;
    }

    if (bw_http_cache_key(r, u, &c) != BW_OK) {
        return BW_ERROR;
    }

    if (c.key.len && c.key.data[c.key.len - 1] == '*') {
        prefix.data = c.key.data;
        prefix.len = c.key.len - 1;
        purged = bw_http_cache_purge_keys(r, c.cache, &prefix, 0);

    } else if (bw_http_cache_varies(&c)) {
        /* the variants' entries are keyed by the key and the variant:
         * found by their key lines */
        purged = bw_http_cache_purge_keys(r, c.cache, &c.key, 1);

    } else {
        purged = bw_http_cache_purge_one(c.cache, c.md5, c.file.data);
    }

    bw_log_error(BW_LOG_NOTICE, r->connection->log, 0,
                 "cache purge \"%.*s\": %lu entries removed",
                 (int) c.key.len, c.key.data, (unsigned long) purged);

    p = bw_pnalloc(r->pool, sizeof("{\"purged\": }\n") + BW_INT_T_LEN);
    if (p == NULL) {
        return BW_ERROR;
    }

    bw_memzero(&cv, sizeof(bw_http_complex_value_t));
    cv.value.data = p;
    p = bw_cpymem(p, "{\"purged\": ", sizeof("{\"purged\": ") - 1);
    p = bw_sprint_uint(p, purged);
    *p++ = '}';
    *p++ = '\n';
    cv.value.len = p - cv.value.data;

    bw_str_set(&ct, "application/json");

    rc = bw_http_send_response(r, purged ? BW_HTTP_OK : BW_HTTP_NOT_FOUND,
                               &ct, &cv);
    bw_http_finalize_request(r, rc);

    return BW_DONE;
}
