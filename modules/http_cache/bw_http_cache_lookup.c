/*
 * Finding a request's answer in the cache: the key, its entry in the
 * keys zone (created on first sight, so that min_uses can count), and
 * the file, whose fixed header, length and key are checked before a
 * byte of it is served. A hit leaves the stored response header in
 * u->buffer for the upstream module's parser and the body as one file
 * buffer, sent with sendfile.
 *
 * The zone's lock is held only for the tree and the counts, never
 * across a file operation. A node is held (count) by every request
 * that looks at it, so the manager never frees one in use.
 */

#include <bw_http_cache.h>
#include <openssl/evp.h>

static bw_int_t bw_http_cache_start(bw_http_request_t *r,
    bw_http_upstream_t *u);
static bw_int_t bw_http_cache_look(bw_http_request_t *r,
    bw_http_upstream_t *u, bw_http_cache_req_t *c);
static bw_int_t bw_http_cache_open(bw_http_request_t *r,
    bw_http_upstream_t *u, bw_http_cache_req_t *c);
static bw_int_t bw_http_cache_hold(bw_http_request_t *r,
    bw_http_cache_req_t *c, bw_uint_t *uses);
static void bw_http_cache_unhold(bw_http_cache_req_t *c);
static void bw_http_cache_set_stored(bw_http_upstream_t *u,
    bw_http_cache_req_t *c);
static void bw_http_cache_wait_handler(bw_event_t *ev);
static bw_uint_t bw_http_cache_updating(bw_http_cache_node_t *fcn,
    bw_http_upstream_cache_conf_t *ccf);
static void bw_http_cache_cleanup(void *data);

/* how often a request waiting on proxy_cache_lock looks again: first
 * after 10 ms, then twice as long each time up to 160 ms */
#define BW_HTTP_CACHE_LOCK_POLL      10
#define BW_HTTP_CACHE_LOCK_POLL_MAX  160

/* The zone of proxy_cache: BW_OK and *cache, BW_DECLINED for none (a
 * variable that is empty or "off", as nginx), BW_ERROR for a name that
 * is no zone. */
bw_int_t
bw_http_cache_get(bw_http_request_t *r, bw_http_upstream_cache_conf_t *ccf,
    bw_http_cache_t **cache)
{
    bw_str_t          name;
    bw_shm_zone_t    *zone;

    if (ccf->zone) {
        *cache = ccf->zone->data;
        return BW_OK;
    }

    if (bw_http_complex_value(r, ccf->zone_value, &name) != BW_OK) {
        return BW_ERROR;
    }

    if (name.len == 0 || bw_str_eq_lit(&name, "off")) {
        return BW_DECLINED;
    }

    zone = bw_shared_memory_find(bw_cycle, &name, ccf->tag);
    if (zone && zone->data && zone->init) {
        *cache = zone->data;
        return BW_OK;
    }

    bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                 "cache \"%.*s\" not found", (int) name.len, name.data);
    return BW_ERROR;
}

/* any of the values not empty and not "0" */
bw_uint_t
bw_http_cache_test_predicates(bw_http_request_t *r, bw_array_t *a,
    bw_uint_t *error)
{
    bw_str_t                  v;
    bw_uint_t                 i;
    bw_http_complex_value_t  *cv;

    if (a == NULL) {
        return 0;
    }

    cv = a->elts;
    for (i = 0; i < a->nelts; i++) {
        if (bw_http_complex_value(r, &cv[i], &v) != BW_OK) {
            *error = 1;
            return 0;
        }
        if (v.len && !(v.len == 1 && v.data[0] == '0')) {
            return 1;
        }
    }

    return 0;
}

bw_int_t
bw_http_cache_lookup(bw_http_request_t *r, bw_http_upstream_t *u)
{
    bw_int_t  rc;

    if (u->cache == NULL) {
        /* the first look (a waiting request comes back with its state) */
        rc = bw_http_cache_start(r, u);
        if (rc != BW_OK) {
            return rc;
        }
    }

    return bw_http_cache_look(r, u, u->cache);
}

/* A Range whose first byte lies beyond max ("bytes=N-..." with N > max;
 * a suffix range has no such byte). */
static bw_uint_t
bw_http_cache_range_too_far(bw_http_request_t *r, off_t max)
{
    u_char  *p, *end;
    off_t    n;

    if (r->headers_in.range == NULL) {
        return 0;
    }

    p = r->headers_in.range->value.data;
    end = p + r->headers_in.range->value.len;

    if (end - p < 6 || bw_strncasecmp(p, (u_char *) "bytes=", 6) != 0) {
        return 0;
    }

    for (p += 6; p < end && *p == ' '; p++) { /* void */ }

    n = 0;
    if (p == end || *p < '0' || *p > '9') {
        return 0;
    }

    while (p < end && *p >= '0' && *p <= '9') {
        if (n > (BW_MAX_OFF_T_VALUE - 9) / 10) {
            return 1;
        }
        n = n * 10 + (*p++ - '0');
    }

    return n > max;
}

/*
 * The request's key, file name and entry (held for the request's
 * life). BW_OK to look at the entry; BW_DECLINED when the cache does
 * not serve this one (a method it does not cache, bypass, min_uses
 * not reached, a full zone); BW_DONE for a purge, answered.
 */
static bw_int_t
bw_http_cache_start(bw_http_request_t *r, bw_http_upstream_t *u)
{
    bw_int_t                        rc;
    bw_uint_t                       error, uses, bypass;
    bw_pool_cleanup_t              *cln;
    bw_http_cache_t                *cache;
    bw_http_cache_req_t            *c;
    bw_http_upstream_cache_conf_t  *ccf;

    ccf = u->conf->cache;
    error = 0;

    if (ccf->purge
        && bw_http_cache_test_predicates(r, ccf->purge, &error))
    {
        return bw_http_cache_purge(r, u);
    }

    if (error) {
        return BW_ERROR;
    }

    if (!(r->method & ccf->methods)) {
        return BW_DECLINED;
    }

    rc = bw_http_cache_get(r, ccf, &cache);
    if (rc != BW_OK) {
        return rc;          /* BW_DECLINED: "off" or empty */
    }

    c = bw_pcalloc(r->pool, sizeof(bw_http_cache_req_t));
    cln = bw_pool_cleanup_add(r->pool, 0);
    if (c == NULL || cln == NULL) {
        return BW_ERROR;
    }

    c->cache = cache;
    c->fd.fd = -1;
    c->temp.fd = -1;
    u->cache_status = BW_HTTP_CACHE_MISS;
    u->cache = c;
    u->cache_whole = 1;

    cln->handler = bw_http_cache_cleanup;
    cln->data = c;

    if (bw_http_cache_key(r, u, c) != BW_OK) {
        return BW_ERROR;
    }

    if (r->method == BW_HTTP_HEAD && ccf->convert_head) {
        u->head_as_get = 1;
    }

    bypass = bw_http_cache_test_predicates(r, ccf->bypass, &error);
    if (error) {
        return BW_ERROR;
    }

    c->min_uses = ccf->min_uses;

    if (bw_http_cache_hold(r, c, &uses) != BW_OK) {
        c->no_store = 1;
        return BW_DECLINED;
    }

    if (bypass) {
        u->cache_status = BW_HTTP_CACHE_BYPASS;
        return BW_DECLINED;
    }

    if (uses < ccf->min_uses) {
        /* as nginx: not stored, so the request is the client's own */
        c->no_store = 1;
        u->cache_whole = 0;
        return BW_DECLINED;
    }

    return BW_OK;
}

/* The entry of c->md5, made on first sight (so that min_uses can count
 * its uses), held for the request's life. */
static bw_int_t
bw_http_cache_hold(bw_http_request_t *r, bw_http_cache_req_t *c,
    bw_uint_t *uses)
{
    bw_http_cache_t       *cache;
    bw_http_cache_node_t  *fcn;

    cache = c->cache;

    bw_shmtx_lock(cache->shpool);

    fcn = bw_http_cache_find_node(cache, c->md5);
    if (fcn == NULL) {
        fcn = bw_http_cache_add_node(cache, c->md5);
    } else {
        bw_queue_remove(&fcn->queue);
        bw_queue_insert_head(&cache->sh->queue, &fcn->queue);
    }

    if (fcn == NULL) {
        bw_shmtx_unlock(cache->shpool);
        bw_log_error(BW_LOG_ALERT, r->connection->log, 0,
                     "could not allocate node in cache keys zone \"%.*s\"",
                     (int) cache->shm_zone->name.len,
                     cache->shm_zone->name.data);
        return BW_ERROR;
    }

    fcn->count++;
    if (fcn->uses < 1023) {
        fcn->uses++;
    }
    fcn->expire = bw_time_sec + cache->inactive;
    *uses = fcn->uses;

    /* what the first look needs, without taking the lock again */
    c->seen_exists = fcn->exists;
    c->seen_cold = cache->sh->cold;
    c->seen = 1;

    bw_shmtx_unlock(cache->shpool);

    c->node = fcn;
    c->held = 1;

    return BW_OK;
}

static void
bw_http_cache_unhold(bw_http_cache_req_t *c)
{
    bw_http_cache_t       *cache;
    bw_http_cache_node_t  *fcn;

    if (!c->held) {
        return;
    }

    c->held = 0;
    cache = c->cache;
    fcn = c->node;

    bw_shmtx_lock(cache->shpool);

    fcn->count--;
    if (c->lock_owner) {
        c->lock_owner = 0;
        fcn->updating = 0;
    }

    /* an entry that never got a file, wanted by nobody now; kept while
     * min_uses counts its uses */
    if (!fcn->exists && fcn->count == 0 && !fcn->updating
        && !fcn->error && c->min_uses <= 1)
    {
        bw_queue_remove(&fcn->queue);
        bw_rbtree_delete(&cache->sh->rbtree, &fcn->node);
        cache->sh->count--;
        bw_slab_free_locked(cache->shpool, fcn);
    }

    bw_shmtx_unlock(cache->shpool);
}

/*
 * The stored answer varies (Vary) and this request wants another
 * variant: its entry is the one keyed by the MD5 of the key's MD5 and
 * the variant, looked up in turn.
 */
static bw_int_t
bw_http_cache_reopen(bw_http_request_t *r, bw_http_upstream_t *u,
    bw_http_cache_req_t *c, u_char *variant)
{
    u_char      buf[2 * BW_HTTP_CACHE_KEY_LEN];
    bw_uint_t   uses, exists, cold;

    memcpy(buf, c->md5, BW_HTTP_CACHE_KEY_LEN);
    memcpy(buf + BW_HTTP_CACHE_KEY_LEN, variant, BW_HTTP_CACHE_KEY_LEN);

    if (bw_http_cache_md5_of(buf, sizeof(buf), c->md5) != BW_OK
        || bw_http_cache_file_name(r->pool, c->cache, c->md5, &c->file)
           != BW_OK)
    {
        return BW_ERROR;
    }

    c->secondary = 1;
    c->body = NULL;
    u->cache_status = BW_HTTP_CACHE_MISS;

    bw_http_cache_unhold(c);
    c->node = NULL;

    if (bw_http_cache_hold(r, c, &uses) != BW_OK) {
        c->no_store = 1;
        return BW_DECLINED;
    }

    /* looked at below, under the lock: no snapshot for the next look */
    c->seen = 0;

    bw_shmtx_lock(c->cache->shpool);
    exists = c->node->exists;
    cold = c->cache->sh->cold;
    bw_shmtx_unlock(c->cache->shpool);

    if (!exists && !cold) {
        return BW_DECLINED;
    }

    return bw_http_cache_open(r, u, c);
}

/* the key, its MD5 and the file's name */
bw_int_t
bw_http_cache_key(bw_http_request_t *r, bw_http_upstream_t *u,
    bw_http_cache_req_t *c)
{
    bw_http_upstream_cache_conf_t  *ccf;

    ccf = u->conf->cache;

    if (ccf->key) {
        if (bw_http_complex_value(r, ccf->key, &c->key) != BW_OK) {
            return BW_ERROR;
        }
    } else if (u->create_key == NULL || u->create_key(r, &c->key) != BW_OK) {
        return BW_ERROR;
    }

    if (bw_http_cache_md5_of(c->key.data, c->key.len, c->md5) != BW_OK
        || bw_http_cache_file_name(r->pool, c->cache, c->md5, &c->file)
           != BW_OK)
    {
        return BW_ERROR;
    }

    return BW_OK;
}

/*
 * The entry: BW_OK for a fresh one (HIT), or a stale one while another
 * request refreshes it (UPDATING, with proxy_cache_use_stale updating or
 * stale-while-revalidate); BW_AGAIN to wait for another request's
 * fetch of an entry that is not there yet (proxy_cache_lock, as nginx:
 * only new entries wait); BW_DECLINED to the upstream (MISS, EXPIRED,
 * the stale answer kept for proxy_cache_use_stale).
 */
static bw_int_t
bw_http_cache_look(bw_http_request_t *r, bw_http_upstream_t *u,
    bw_http_cache_req_t *c)
{
    bw_int_t                        rc;
    bw_uint_t                       exists, cold, updating;
    bw_http_cache_t                *cache;
    bw_http_cache_node_t           *fcn;
    bw_http_upstream_cache_conf_t  *ccf;

    if (u->cache_status == BW_HTTP_CACHE_BYPASS || c->no_store) {
        return BW_DECLINED;
    }

    ccf = u->conf->cache;
    cache = c->cache;

    if (c->node->error) {
        /* an intercepted error kept for proxy_cache_valid's time (read
         * without the lock first: rare) */
        bw_shmtx_lock(cache->shpool);
        rc = c->node->error;
        if (rc && c->node->valid_sec < bw_time_sec) {
            c->node->error = 0;     /* due: asked again */
            rc = 0;
        }
        bw_shmtx_unlock(cache->shpool);

        if (rc) {
            u->cache_status = BW_HTTP_CACHE_HIT;
            return rc;
        }
    }

    if (c->seen) {
        c->seen = 0;
        exists = c->seen_exists;
        cold = c->seen_cold;

    } else {
        bw_shmtx_lock(cache->shpool);
        exists = c->node->exists;
        cold = cache->sh->cold;
        bw_shmtx_unlock(cache->shpool);
    }

    rc = BW_DECLINED;
    if ((exists || cold) && c->fd.fd == -1) {
        rc = bw_http_cache_open(r, u, c);
    }

    if (rc == BW_OK) {
        bw_http_cache_set_stored(u, c);
        u->cache_status = BW_HTTP_CACHE_HIT;
        return BW_OK;
    }

    if (r->background && c->node && !c->no_store) {
        /* proxy_cache_background_update's fetch: the request it came
         * from claimed the refresh for it; it clears the claim */
        bw_shmtx_lock(cache->shpool);
        c->node->updating = 1;
        c->node->lock_time = bw_current_msec;
        c->lock_owner = 1;
        bw_shmtx_unlock(cache->shpool);
        goto fetch;
    }

    if (rc == BW_ERROR) {
        return BW_ERROR;
    }

    /* the open may have moved to another variant's entry (Vary) */
    fcn = c->node;
    if (fcn == NULL || c->no_store) {
        return BW_DECLINED;
    }

    if (ccf->max_range_offset != BW_MAX_OFF_T_VALUE
        && bw_http_cache_range_too_far(r, ccf->max_range_offset))
    {
        /* proxy_cache_max_range_offset: the range goes to the upstream
         * as it is, and its answer is not stored */
        c->no_store = 1;
        u->cache_whole = 0;
        return BW_DECLINED;
    }

    if (u->cache_status == BW_HTTP_CACHE_EXPIRED && ccf->background_update
        && r == r->main
        && ((ccf->use_stale & BW_HTTP_UPSTREAM_FT_UPDATING)
            || bw_time_sec - (time_t) c->h.valid_sec
               < (time_t) c->h.updating_sec))
    {
        /* the stale answer now; unless another request refreshes it
         * already, a subrequest of this one does, in the background
         * (claimed here, under the lock: one refresh for all workers) */
        bw_shmtx_lock(cache->shpool);
        updating = bw_http_cache_updating(fcn, ccf);
        if (!updating) {
            fcn->updating = 1;
            fcn->lock_time = bw_current_msec;
        }
        bw_shmtx_unlock(cache->shpool);

        if (!updating && bw_http_subrequest_background(r) != BW_OK) {
            bw_shmtx_lock(cache->shpool);
            fcn->updating = 0;
            bw_shmtx_unlock(cache->shpool);
            return BW_ERROR;
        }

        bw_http_cache_set_stored(u, c);
        u->cache_status = updating ? BW_HTTP_CACHE_UPDATING
                                   : BW_HTTP_CACHE_STALE;
        return BW_OK;
    }

    if (u->cache_status == BW_HTTP_CACHE_EXPIRED) {
        bw_shmtx_lock(cache->shpool);
        updating = bw_http_cache_updating(fcn, ccf) && !c->lock_owner;
        if (!updating && !c->lock_owner) {
            /* this request refreshes it: the others may be answered
             * with the stale one meanwhile */
            fcn->updating = 1;
            fcn->lock_time = bw_current_msec;
            c->lock_owner = 1;
        }
        bw_shmtx_unlock(cache->shpool);

        if (updating
            && ((ccf->use_stale & BW_HTTP_UPSTREAM_FT_UPDATING)
                || bw_time_sec - (time_t) c->h.valid_sec
                   < (time_t) c->h.updating_sec))
        {
            bw_http_cache_set_stored(u, c);
            u->cache_status = BW_HTTP_CACHE_UPDATING;
            return BW_OK;
        }

    } else if (ccf->lock) {
        bw_shmtx_lock(cache->shpool);
        /* (signed: the fetching request's worker may have read the
         * clock a moment after this one) */
        if (!fcn->updating
            || (bw_msec_int_t) (bw_current_msec - fcn->lock_time)
               >= (bw_msec_int_t) ccf->lock_age)
        {
            /* this request fetches; the others wait for it */
            fcn->updating = 1;
            fcn->lock_time = bw_current_msec;
            c->lock_owner = 1;
            bw_shmtx_unlock(cache->shpool);
            goto fetch;
        }
        bw_shmtx_unlock(cache->shpool);

        if (c->wait_start == 0) {
            c->wait_start = bw_current_msec ? bw_current_msec : 1;
            c->wait_step = BW_HTTP_CACHE_LOCK_POLL;
        }

        if (bw_current_msec - c->wait_start >= ccf->lock_timeout) {
            /* as nginx: to the upstream, and its answer is not stored */
            c->no_store = 1;
            goto fetch;
        }

        /* looked at again soon, then less often: a few locked checks
         * of the entry's state, nothing more, until it is there */
        c->wait.handler = bw_http_cache_wait_handler;
        c->wait.data = r;
        c->wait.log = r->connection->log;
        bw_event_add_timer(&c->wait, c->wait_step);
        if (c->wait_step < BW_HTTP_CACHE_LOCK_POLL_MAX) {
            c->wait_step *= 2;
        }
        return BW_AGAIN;
    }

fetch:

    if (u->cache_status == BW_HTTP_CACHE_EXPIRED && ccf->revalidate
        && (c->h.etag_len || c->h.last_modified != -1))
    {
        c->revalidate = 1;
    }

    return BW_DECLINED;
}

/*
 * Locked. Another request is refreshing the entry: a claim younger than
 * proxy_cache_lock_age (one older is taken as lost, e.g. its worker was
 * killed, so that nobody is served a stale answer for ever).
 */
static bw_uint_t
bw_http_cache_updating(bw_http_cache_node_t *fcn,
    bw_http_upstream_cache_conf_t *ccf)
{
    return fcn->updating
           && (bw_msec_int_t) (bw_current_msec - fcn->lock_time)
              < (bw_msec_int_t) ccf->lock_age;
}

static void
bw_http_cache_wait_handler(bw_event_t *ev)
{
    bw_http_request_t  *r;

    r = ev->data;

    bw_http_upstream_cache_resume(r);
}

/*
 * The entry's file: BW_OK for a fresh one, else BW_DECLINED with the
 * status saying why (MISS, EXPIRED: the file then stays open, its
 * answer ready in case the upstream fails). A file that does not check
 * out is removed.
 */
static bw_int_t
bw_http_cache_open(bw_http_request_t *r, bw_http_upstream_t *u,
    bw_http_cache_req_t *c)
{
    int                           fd;
    off_t                         fs, size;
    u_char                        variant[BW_HTTP_CACHE_KEY_LEN];
    size_t                        want, keylen;
    ssize_t                       n;
    u_char                       *buf;
    bw_buf_t                     *b;
    bw_chain_t                   *cl;
    struct stat                   st;
    bw_http_cache_t              *cache;
    bw_http_cache_node_t         *fcn;
    bw_http_cache_file_header_t  *h;

    cache = c->cache;
    fcn = c->node;

    fd = open((char *) c->file.data, O_RDONLY|O_NOFOLLOW|O_CLOEXEC);

    if (fd == -1) {
        if (errno != ENOENT) {
            bw_log_error(BW_LOG_CRIT, r->connection->log, errno,
                         "open() \"%s\" failed", c->file.data);
        }
        bw_shmtx_lock(cache->shpool);
        if (fcn->exists) {
            fcn->exists = 0;
            cache->sh->size -= fcn->fs_size;
            fcn->fs_size = 0;
        }
        bw_shmtx_unlock(cache->shpool);
        return BW_DECLINED;
    }

    c->fd.fd = fd;
    c->fd.name = c->file;
    c->fd.log = r->connection->log;

    keylen = sizeof(BW_HTTP_CACHE_KEY_PREFIX) - 1 + c->key.len + 1;
    want = sizeof(bw_http_cache_file_header_t) + keylen
           + u->conf->buffer_size;

    buf = bw_palloc(r->pool, want);
    if (buf == NULL) {
        goto failed;
    }

    n = pread(fd, buf, want, 0);
    if (n == -1) {
        bw_log_error(BW_LOG_CRIT, r->connection->log, errno,
                     "pread() \"%s\" failed", c->file.data);
        goto failed;
    }

    /* a read that came short read the whole file: a small answer costs
     * no fstat() and goes from memory */
    if ((size_t) n < want) {
        size = n;

    } else if (fstat(fd, &st) == -1) {
        bw_log_error(BW_LOG_CRIT, r->connection->log, errno,
                     "fstat() \"%s\" failed", c->file.data);
        goto failed;

    } else {
        size = st.st_size;
    }

    h = (bw_http_cache_file_header_t *) buf;

    if ((size_t) n < sizeof(bw_http_cache_file_header_t)
        || !bw_http_cache_header_valid(h, size))
    {
        bw_log_error(BW_LOG_CRIT, r->connection->log, 0,
                     "cache file \"%s\" is invalid, removed", c->file.data);
        goto invalid;
    }

    c->h = *h;

    if (c->h.body_start > (uint64_t) n) {
        /* a response header longer than the buffer: read it whole */
        buf = bw_palloc(r->pool, c->h.body_start);
        if (buf == NULL) {
            goto failed;
        }
        n = pread(fd, buf, c->h.body_start, 0);
        if (n != (ssize_t) c->h.body_start) {
            bw_log_error(BW_LOG_CRIT, r->connection->log, n == -1 ? errno : 0,
                         "pread() \"%s\" failed", c->file.data);
            goto failed;
        }
    }

    if (c->h.header_start != sizeof(bw_http_cache_file_header_t) + keylen
        || memcmp(buf + sizeof(bw_http_cache_file_header_t),
                  BW_HTTP_CACHE_KEY_PREFIX,
                  sizeof(BW_HTTP_CACHE_KEY_PREFIX) - 1) != 0
        || memcmp(buf + sizeof(bw_http_cache_file_header_t)
                  + sizeof(BW_HTTP_CACHE_KEY_PREFIX) - 1,
                  c->key.data, c->key.len) != 0)
    {
        /* another key with the same MD5, or a damaged key line: not
         * this request's answer (the file is left to its own key) */
        bw_log_error(BW_LOG_CRIT, r->connection->log, 0,
                     "cache file \"%s\" has md5 collision", c->file.data);
        goto failed;
    }

    if (c->h.vary_len) {
        if (bw_http_cache_variant(r, c->h.vary, c->h.vary_len, variant)
            != BW_OK)
        {
            goto failed;
        }

        if (memcmp(variant, c->h.variant, BW_HTTP_CACHE_KEY_LEN) != 0) {
            close(fd);
            c->fd.fd = -1;
            if (c->secondary) {
                return BW_DECLINED;     /* an older variant's answer */
            }
            return bw_http_cache_reopen(r, u, c, variant);
        }
    }

    fs = (size + 4095) & ~((off_t) 4095);

    /* (read without the lock first: a hit of an entry the zone knows
     * as it is takes no lock here) */
    if (!fcn->error
        && (!fcn->exists || fcn->valid_sec != (time_t) c->h.valid_sec
            || fcn->updating_sec != (time_t) c->h.updating_sec
            || fcn->error_sec != (time_t) c->h.error_sec))
    {
        bw_shmtx_lock(cache->shpool);
        if (!fcn->exists) {
            /* found on disk while the cache is cold, or stored again */
            fcn->exists = 1;
            fcn->fs_size = fs;
            cache->sh->size += fs;
        }
        fcn->valid_sec = (time_t) c->h.valid_sec;
        fcn->updating_sec = (time_t) c->h.updating_sec;
        fcn->error_sec = (time_t) c->h.error_sec;
        bw_shmtx_unlock(cache->shpool);
    }

    /* the stored answer, ready to go now or instead of a failure */
    c->header = buf + c->h.header_start;
    c->header_end = buf + c->h.body_start;

    cl = bw_alloc_chain_link(r->pool);
    b = bw_calloc_buf(r->pool);
    if (cl == NULL || b == NULL) {
        goto failed;
    }

    if (c->h.body_length && size <= n) {
        /* read whole already: it goes with the header in one write */
        b->memory = 1;
        b->pos = buf + c->h.body_start;
        b->last = buf + size;

    } else if (c->h.body_length) {
        b->in_file = 1;
        b->file = &c->fd;
        b->file_pos = (off_t) c->h.body_start;
        b->file_last = size;
    }
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    cl->buf = b;
    cl->next = NULL;
    c->body = cl;

    if ((time_t) c->h.valid_sec < bw_time_sec) {
        u->cache_status = BW_HTTP_CACHE_EXPIRED;
        return BW_DECLINED;
    }

    if (!b->in_file) {
        /* a fresh answer read whole: the file is done with */
        close(fd);
        c->fd.fd = -1;
    }

    return BW_OK;

invalid:

    (void) unlink((char *) c->file.data);

    bw_shmtx_lock(cache->shpool);
    if (fcn->exists) {
        fcn->exists = 0;
        cache->sh->size -= fcn->fs_size;
        fcn->fs_size = 0;
    }
    bw_shmtx_unlock(cache->shpool);

failed:

    close(fd);
    c->fd.fd = -1;
    return BW_DECLINED;
}

/* The stored answer as the upstream's: its header in u->buffer for the
 * module's parser, its body from the file. */
static void
bw_http_cache_set_stored(bw_http_upstream_t *u, bw_http_cache_req_t *c)
{
    u->buffer.start = c->header;
    u->buffer.pos = c->header;
    u->buffer.last = c->header_end;
    u->buffer.end = c->header_end;
    u->buffer.temporary = 1;
    u->cache_body = c->body;
}

/*
 * The upstream of an EXPIRED request failed (ft_type) or said "not
 * modified" (0) to a revalidation: the stored answer goes instead if
 * proxy_cache_use_stale names the failure (or the answer's
 * stale-if-error still runs), or the revalidation refreshed it.
 */
bw_int_t
bw_http_cache_use_stored(bw_http_request_t *r, bw_http_upstream_t *u,
    bw_uint_t ft_type)
{
    bw_http_cache_req_t            *c;
    bw_http_upstream_cache_conf_t  *ccf;

    c = u->cache;
    ccf = u->conf->cache;

    if (c->body == NULL || c->fd.fd == -1) {
        return BW_DECLINED;
    }

    if (ft_type == 0) {
        if (!c->revalidate || bw_http_cache_refresh(r, u) != BW_OK) {
            return BW_DECLINED;
        }
        u->cache_status = BW_HTTP_CACHE_REVALIDATED;

    } else {
        if (!(ccf->use_stale & ft_type)
            && !(c->h.error_sec
                 && bw_time_sec - (time_t) c->h.valid_sec
                    < (time_t) c->h.error_sec))
        {
            return BW_DECLINED;
        }
        u->cache_status = BW_HTTP_CACHE_STALE;
    }

    /* a store that began for the failed answer is dropped */
    bw_http_cache_finalize(r, u);

    bw_http_cache_set_stored(u, c);
    return BW_OK;
}

/* An intercepted error: kept in the entry (no file) for as long as
 * proxy_cache_valid says for its status, as nginx. */
void
bw_http_cache_store_error(bw_http_request_t *r, bw_http_upstream_t *u,
    bw_uint_t status)
{
    time_t                          valid;
    bw_http_cache_req_t            *c;
    bw_http_upstream_cache_conf_t  *ccf;

    c = u->cache;
    ccf = u->conf->cache;

    if (c->no_store || c->node == NULL || status > 999
        || (r->method == BW_HTTP_HEAD && !u->head_as_get))
    {
        return;
    }

    valid = bw_http_cache_valid_for(ccf->valid, status);
    if (valid <= 0) {
        return;
    }

    bw_shmtx_lock(c->cache->shpool);
    c->node->error = status;
    c->node->valid_sec = bw_time_sec + valid;
    bw_shmtx_unlock(c->cache->shpool);
}

/* The upstream request ends: a store not complete is dropped, a wait or
 * a fetch others wait for is over. */
void
bw_http_cache_finalize(bw_http_request_t *r, bw_http_upstream_t *u)
{
    bw_http_cache_req_t  *c;

    c = u->cache;

    if (c->wait.timer_set) {
        bw_event_del_timer(&c->wait);
    }

    if (c->storing || c->temp.fd != -1) {
        bw_http_cache_store_abort(r, u, c);
    }

    bw_http_cache_unlock(c);
}

/* others may fetch the entry now (proxy_cache_lock), or see it is not
 * being updated (use_stale updating) */
void
bw_http_cache_unlock(bw_http_cache_req_t *c)
{
    if (!c->lock_owner) {
        return;
    }

    c->lock_owner = 0;

    bw_shmtx_lock(c->cache->shpool);
    c->node->updating = 0;
    bw_shmtx_unlock(c->cache->shpool);
}


static void
bw_http_cache_cleanup(void *data)
{
    bw_http_cache_req_t   *c = data;

    if (c->wait.timer_set) {
        bw_event_del_timer(&c->wait);
    }

    if (c->temp.fd != -1) {
        /* a store that never ended: the upstream went with the pool */
        close(c->temp.fd);
        c->temp.fd = -1;
        (void) unlink((char *) c->temp_name.data);
    }

    if (c->fd.fd != -1) {
        close(c->fd.fd);
        c->fd.fd = -1;
    }

    bw_http_cache_unhold(c);
}
