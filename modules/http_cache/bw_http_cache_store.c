/*
 * Storing an upstream's answer: whether it may be stored and for how
 * long (X-Accel-Expires, then Cache-Control, then Expires, then
 * proxy_cache_valid; never with Set-Cookie or "Vary: *" unless
 * proxy_ignore_headers says so), then the entry written to a temporary
 * file beside its final name as the body streams to the client, and
 * renamed into place only when the body is complete and of the length
 * announced. Until then readers see the old entry or none: never a
 * short or mixed one, whatever dies in between.
 *
 * A write that fails gives up the entry, not the client's answer.
 */

#include <bw_http_cache.h>
#include <sys/uio.h>

static bw_int_t bw_http_cache_open_temp(bw_http_request_t *r,
    bw_http_cache_req_t *c);

static bw_uint_t  bw_http_cache_temp_seq;

/* The answer's validity in seconds from now; 0: not to be stored;
 * BW_HTTP_CACHE_STALE_NOW: stored, expired already. */
static time_t
bw_http_cache_validity(bw_http_request_t *r, bw_http_upstream_t *u,
    bw_http_cache_req_t *c, bw_uint_t status)
{
    time_t           valid, v, swr, sie, t;
    bw_uint_t        i, ign;
    bw_list_part_t  *part;
    bw_table_elt_t  *h, *xae, *cc, *expires;

    ign = u->conf->ignore_headers;
    xae = NULL;
    expires = NULL;
    valid = BW_HTTP_CACHE_UNSET;
    swr = 0;
    sie = 0;

    part = &u->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }
            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash == 0) {
            continue;
        }

        switch (h[i].key.len) {
        case 4:
            if (memcmp(h[i].lowcase_key, "vary", 4) == 0
                && !(ign & BW_HTTP_UPSTREAM_IGN_VARY))
            {
                /* "*": no request is like another; a list too long to
                 * keep cannot tell the variants apart */
                if (c->vary.len
                    || h[i].value.len > BW_HTTP_CACHE_VARY_LEN
                    || memchr(h[i].value.data, '*', h[i].value.len))
                {
                    return 0;
                }
                c->vary = h[i].value;
            }
            break;
        case 7:
            if (memcmp(h[i].lowcase_key, "expires", 7) == 0
                && expires == NULL)
            {
                expires = &h[i];
            }
            break;
        case 10:
            if (memcmp(h[i].lowcase_key, "set-cookie", 10) == 0
                && !(ign & BW_HTTP_UPSTREAM_IGN_SET_COOKIE))
            {
                return 0;
            }
            break;
        case 13:
            if (memcmp(h[i].lowcase_key, "cache-control", 13) == 0
                && !(ign & BW_HTTP_UPSTREAM_IGN_CACHE_CONTROL))
            {
                cc = &h[i];
                v = bw_http_cache_control(&cc->value, &swr, &sie);
                if (v == BW_HTTP_CACHE_NO) {
                    if (xae == NULL) {
                        valid = BW_HTTP_CACHE_NO;
                    }
                } else if (v != BW_HTTP_CACHE_UNSET
                           && valid == BW_HTTP_CACHE_UNSET)
                {
                    valid = v;
                }
            }
            break;
        case 15:
            if (memcmp(h[i].lowcase_key, "x-accel-expires", 15) == 0
                && !(ign & BW_HTTP_UPSTREAM_IGN_XA_EXPIRES) && xae == NULL)
            {
                v = bw_http_cache_accel_expires(&h[i].value, bw_time_sec);
                if (v != BW_HTTP_CACHE_UNSET) {
                    /* it outranks whatever Cache-Control said */
                    xae = &h[i];
                    valid = v;
                }
            }
            break;
        }
    }

    c->h.updating_sec = swr;
    c->h.error_sec = sie;

    if (valid == BW_HTTP_CACHE_NO) {
        return 0;
    }

    if (valid == BW_HTTP_CACHE_UNSET && expires
        && !(ign & BW_HTTP_UPSTREAM_IGN_EXPIRES))
    {
        t = bw_parse_http_time(expires->value.data, expires->value.len);
        if (t == -1 || t <= bw_time_sec) {
            return 0;
        }
        valid = t - bw_time_sec;
    }

    if (valid == BW_HTTP_CACHE_UNSET) {
        valid = bw_http_cache_valid_for(u->conf->cache->valid, status);
    }

    return (valid > 0 || valid == BW_HTTP_CACHE_STALE_NOW) ? valid : 0;
}

/* Until when an answer valid for "valid" seconds (or stored expired
 * already: BW_HTTP_CACHE_STALE_NOW) is fresh. */
static time_t
bw_http_cache_valid_until(time_t valid)
{
    return valid > 0 ? bw_time_sec + valid : bw_time_sec - 1;
}

/* The stored response header: the status line and the upstream's lines
 * less the hop-by-hop ones and the framing (the body is stored
 * decoded, its length is in the file's header). */
static bw_int_t
bw_http_cache_header_text(bw_http_request_t *r, bw_http_upstream_t *u,
    bw_str_t *out)
{
    size_t           len, n;
    u_char          *p;
    bw_uint_t        i, pass;
    bw_list_part_t  *part;
    bw_table_elt_t  *h;

    len = 0;
    p = NULL;
    out->len = 0;
    out->data = NULL;

    for (pass = 0; pass < 2; pass++) {

        if (pass == 1) {
            if (len > BW_HTTP_CACHE_MAX_HEADER) {
                return BW_DECLINED;
            }
            out->data = bw_pnalloc(r->pool, len);
            if (out->data == NULL) {
                return BW_ERROR;
            }
            out->len = len;
            p = out->data;
        }

        if (pass == 0) {
            len += sizeof("HTTP/1.1 \r\n") - 1 + BW_INT_T_LEN
                   + u->headers_in.status_line.len;
        } else {
            p = bw_cpymem(p, "HTTP/1.1 ", 9);
            if (u->headers_in.status_line.len) {
                p = bw_cpymem(p, u->headers_in.status_line.data,
                              u->headers_in.status_line.len);
            } else {
                p = bw_sprint_uint(p, u->headers_in.status_n);
            }
            *p++ = '\r'; *p++ = '\n';
        }

        part = &u->headers_in.headers.part;
        h = part->elts;

        for (i = 0; /* void */ ; i++) {
            if (i >= part->nelts) {
                if (part->next == NULL) {
                    break;
                }
                part = part->next;
                h = part->elts;
                i = 0;
            }

            if (h[i].hash == 0) {
                continue;
            }

            if (bw_http_upstream_hop_header(&h[i])) {
                continue;
            }

            n = h[i].key.len;

            if (pass == 0) {
                len += n + 2 + h[i].value.len + 2;
            } else {
                p = bw_cpymem(p, h[i].key.data, n);
                *p++ = ':'; *p++ = ' ';
                p = bw_cpymem(p, h[i].value.data, h[i].value.len);
                *p++ = '\r'; *p++ = '\n';
            }
        }

        if (pass == 0) {
            len += 2;
        } else {
            *p++ = '\r'; *p++ = '\n';
        }
    }

    out->len = p - out->data;
    return BW_OK;
}

static bw_int_t bw_http_cache_store_begin(bw_http_request_t *r,
    bw_http_upstream_t *u);

bw_int_t
bw_http_cache_store_header(bw_http_request_t *r, bw_http_upstream_t *u)
{
    bw_int_t              rc;
    bw_http_cache_req_t  *c;

    rc = bw_http_cache_store_begin(r, u);

    c = u->cache;
    if (c && !c->storing) {
        /* not stored: those waiting for this answer fetch their own */
        bw_http_cache_unlock(c);
    }

    return rc;
}

static bw_int_t
bw_http_cache_store_begin(bw_http_request_t *r, bw_http_upstream_t *u)
{
    time_t                          valid;
    ssize_t                         n;
    size_t                          total;
    bw_int_t                        rc;
    bw_str_t                        text;
    bw_uint_t                       error;
    struct iovec                    iov[4];
    bw_table_elt_t                 *h;
    bw_http_cache_req_t            *c;
    bw_http_upstream_cache_conf_t  *ccf;

    c = u->cache;
    ccf = u->conf->cache;

    if (c == NULL || c->no_store || c->node == NULL || u->upgrade
        || u->headers_in.status_n == BW_HTTP_SWITCHING_PROTOCOLS)
    {
        return BW_OK;
    }

    /*
     * An answer to a HEAD that went to the upstream as HEAD has no body:
     * stored, it would answer the next GET with nothing (nginx stores
     * it and leaves the key to tell them apart; we do not store it).
     */
    if (r->method == BW_HTTP_HEAD && !u->head_as_get) {
        return BW_OK;
    }

    if (ccf->no_cache) {
        bw_array_t               *a = ccf->no_cache;
        bw_http_complex_value_t  *cv = a->elts;
        bw_str_t                  v;
        bw_uint_t                 i;

        error = 0;
        for (i = 0; i < a->nelts; i++) {
            if (bw_http_complex_value(r, &cv[i], &v) != BW_OK) {
                error = 1;
                break;
            }
            if (v.len && !(v.len == 1 && v.data[0] == '0')) {
                return BW_OK;
            }
        }
        if (error) {
            return BW_ERROR;
        }
    }

    /* a new answer: nothing of the entry it replaces (its validators,
     * its Vary) may stay with it */
    bw_memzero(&c->h, sizeof(bw_http_cache_file_header_t));
    c->vary.len = 0;

    valid = bw_http_cache_validity(r, u, c, u->headers_in.status_n);
    if (valid == 0) {
        return BW_OK;
    }

    rc = bw_http_cache_header_text(r, u, &text);
    if (rc == BW_ERROR) {
        return BW_ERROR;
    }
    if (rc == BW_DECLINED) {
        return BW_OK;
    }

    c->h.version = BW_HTTP_CACHE_VERSION;
    c->h.header_start = sizeof(bw_http_cache_file_header_t)
                        + sizeof(BW_HTTP_CACHE_KEY_PREFIX) - 1 + c->key.len + 1;
    c->h.body_start = c->h.header_start + text.len;
    c->h.body_length = -1;      /* until the body is whole */
    c->h.valid_sec = bw_http_cache_valid_until(valid);
    c->h.date = bw_time_sec;
    c->h.status = (uint16_t) u->headers_in.status_n;
    c->h.last_modified = -1;

    h = r->headers_out.last_modified;
    if (h) {
        c->h.last_modified = r->headers_out.last_modified_time;
    }

    h = r->headers_out.etag;
    if (h && h->value.len <= BW_HTTP_CACHE_ETAG_LEN) {
        c->h.etag_len = (uint8_t) h->value.len;
        memcpy(c->h.etag, h->value.data, h->value.len);
    }

    if (c->vary.len) {
        c->h.vary_len = (uint8_t) c->vary.len;
        memcpy(c->h.vary, c->vary.data, c->vary.len);
        if (bw_http_cache_variant(r, c->h.vary, c->h.vary_len, c->h.variant)
            != BW_OK)
        {
            return BW_ERROR;
        }
    }

    if (bw_http_cache_open_temp(r, c) != BW_OK) {
        return BW_OK;
    }

    iov[0].iov_base = &c->h;
    iov[0].iov_len = sizeof(bw_http_cache_file_header_t);
    iov[1].iov_base = BW_HTTP_CACHE_KEY_PREFIX;
    iov[1].iov_len = sizeof(BW_HTTP_CACHE_KEY_PREFIX) - 1;
    iov[2].iov_base = c->key.data;
    iov[2].iov_len = c->key.len;
    iov[3].iov_base = "\n";
    iov[3].iov_len = 1;

    total = sizeof(bw_http_cache_file_header_t) + sizeof(BW_HTTP_CACHE_KEY_PREFIX) - 1
            + c->key.len + 1;
    n = writev(c->temp.fd, iov, 4);

    if (n != (ssize_t) total
        || write(c->temp.fd, text.data, text.len) != (ssize_t) text.len)
    {
        bw_log_error(BW_LOG_CRIT, r->connection->log, errno,
                     "writing cache file \"%s\" failed", c->temp_name.data);
        bw_http_cache_store_abort(r, u, c);
        return BW_OK;
    }

    c->storing = 1;
    c->stored = 0;
    u->cacheable = 1;

    if (!c->lock_owner) {
        bw_shmtx_lock(c->cache->shpool);
        c->node->updating = 1;
        c->node->lock_time = bw_current_msec;
        c->lock_owner = 1;
        bw_shmtx_unlock(c->cache->shpool);
    }

    return BW_OK;
}

/* The temp file beside the final name ("NAME.PID.SEQ"), making the
 * levels' directories on first use. */
static bw_int_t
bw_http_cache_open_temp(bw_http_request_t *r, bw_http_cache_req_t *c)
{
    int        fd;
    u_char    *p, *slash;
    bw_uint_t  tries;

    c->temp_name.data = bw_pnalloc(r->pool, c->file.len
                                            + BW_HTTP_CACHE_TEMP_SUFFIX);
    if (c->temp_name.data == NULL) {
        return BW_ERROR;
    }

    p = bw_cpymem(c->temp_name.data, c->file.data, c->file.len);
    *p++ = '.';
    p = bw_sprint_uint(p, (uint64_t) bw_pid);
    *p++ = '.';
    p = bw_sprint_uint(p, (uint64_t) ++bw_http_cache_temp_seq);
    *p = '\0';
    c->temp_name.len = p - c->temp_name.data;

    for (tries = 0; tries < 2; tries++) {
        fd = open((char *) c->temp_name.data,
                  O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0600);
        if (fd != -1) {
            c->temp.fd = fd;
            c->temp.name = c->temp_name;
            c->temp.log = r->connection->log;
            return BW_OK;
        }

        if (errno != ENOENT || tries) {
            break;
        }

        /* the levels' directories, from the top down */
        for (slash = c->temp_name.data + c->cache->path.len + 1;
             (slash = (u_char *) strchr((char *) slash, '/')) != NULL;
             slash++)
        {
            *slash = '\0';
            if (mkdir((char *) c->temp_name.data, 0700) == -1
                && errno != EEXIST)
            {
                bw_log_error(BW_LOG_CRIT, r->connection->log, errno,
                             "mkdir() \"%s\" failed", c->temp_name.data);
                *slash = '/';
                return BW_ERROR;
            }
            *slash = '/';
        }
    }

    bw_log_error(BW_LOG_CRIT, r->connection->log, errno,
                 "open() \"%s\" failed", c->temp_name.data);
    return BW_ERROR;
}

bw_int_t
bw_http_cache_store_body(bw_http_request_t *r, bw_http_upstream_t *u,
    bw_buf_t *b)
{
    u_char               *p;
    ssize_t               n;
    bw_http_cache_req_t  *c;

    c = u->cache;

    if (!c->storing) {
        return BW_OK;
    }

    p = b->pos;

    while (p < b->last) {
        n = write(c->temp.fd, p, b->last - p);
        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            bw_log_error(BW_LOG_CRIT, r->connection->log, errno,
                         "writing cache file \"%s\" failed",
                         c->temp_name.data);
            bw_http_cache_store_abort(r, u, c);
            return BW_OK;
        }
        p += n;
    }

    c->stored += b->last - b->pos;

    return BW_OK;
}

void
bw_http_cache_store_end(bw_http_request_t *r, bw_http_upstream_t *u,
    bw_uint_t complete)
{
    off_t                  fs;
    struct stat            st;
    bw_http_cache_t       *cache;
    bw_http_cache_req_t   *c;
    bw_http_cache_node_t  *fcn;

    c = u->cache;

    if (c == NULL || !c->storing) {
        return;
    }

    if (!complete
        || (u->headers_in.content_length_n >= 0 && !u->headers_in.chunked
            && c->stored != u->headers_in.content_length_n
            && u->headers_in.status_n != BW_HTTP_NOT_MODIFIED
            && u->headers_in.status_n != BW_HTTP_NO_CONTENT))
    {
        bw_http_cache_store_abort(r, u, c);
        return;
    }

    c->h.body_length = c->stored;

    if (pwrite(c->temp.fd, &c->h, sizeof(bw_http_cache_file_header_t), 0)
        != (ssize_t) sizeof(bw_http_cache_file_header_t)
        || fstat(c->temp.fd, &st) == -1)
    {
        bw_log_error(BW_LOG_CRIT, r->connection->log, errno,
                     "writing cache file \"%s\" failed", c->temp_name.data);
        bw_http_cache_store_abort(r, u, c);
        return;
    }

    close(c->temp.fd);
    c->temp.fd = -1;

    if (rename((char *) c->temp_name.data, (char *) c->file.data) == -1) {
        bw_log_error(BW_LOG_CRIT, r->connection->log, errno,
                     "rename() \"%s\" to \"%s\" failed",
                     c->temp_name.data, c->file.data);
        (void) unlink((char *) c->temp_name.data);
        bw_http_cache_store_abort(r, u, c);
        return;
    }

    c->storing = 0;
    u->cacheable = 0;

    cache = c->cache;
    fcn = c->node;
    fs = (st.st_size + 4095) & ~((off_t) 4095);

    bw_shmtx_lock(cache->shpool);

    if (fcn->exists) {
        cache->sh->size += fs - fcn->fs_size;
    } else {
        cache->sh->size += fs;
    }
    fcn->exists = 1;
    fcn->error = 0;
    fcn->fs_size = fs;
    fcn->valid_sec = (time_t) c->h.valid_sec;
    fcn->updating_sec = (time_t) c->h.updating_sec;
    fcn->error_sec = (time_t) c->h.error_sec;
    if (c->lock_owner) {
        fcn->updating = 0;
        c->lock_owner = 0;
    }

    bw_shmtx_unlock(cache->shpool);
}

void
bw_http_cache_store_abort(bw_http_request_t *r, bw_http_upstream_t *u,
    bw_http_cache_req_t *c)
{
    if (c->temp.fd != -1) {
        close(c->temp.fd);
        c->temp.fd = -1;
        (void) unlink((char *) c->temp_name.data);
    }

    c->storing = 0;
    u->cacheable = 0;
    bw_http_cache_unlock(c);
}

/*
 * A 304 to a revalidation: the entry is fresh again for as long as the
 * 304 says (its Cache-Control, Expires, X-Accel-Expires), else as
 * proxy_cache_valid says for the stored answer's status. Only the
 * file's fixed header changes, in place.
 */
bw_int_t
bw_http_cache_refresh(bw_http_request_t *r, bw_http_upstream_t *u)
{
    int                    fd;
    time_t                 valid;
    struct stat            st, old;
    bw_http_cache_req_t   *c;
    bw_http_cache_node_t  *fcn;

    c = u->cache;

    valid = bw_http_cache_validity(r, u, c, c->h.status);
    if (valid == 0) {
        return BW_OK;           /* served, not renewed */
    }

    c->h.valid_sec = bw_http_cache_valid_until(valid);
    c->h.date = bw_time_sec;

    fd = open((char *) c->file.data, O_WRONLY|O_NOFOLLOW|O_CLOEXEC);

    /* the same file as the one read: another request may have put a
     * new answer in its place meanwhile, whose header is its own */
    if (fd != -1
        && (fstat(fd, &st) == -1 || fstat(c->fd.fd, &old) == -1
            || st.st_ino != old.st_ino || st.st_dev != old.st_dev))
    {
        close(fd);
        return BW_OK;
    }

    if (fd == -1
        || pwrite(fd, &c->h, sizeof(bw_http_cache_file_header_t), 0)
           != (ssize_t) sizeof(bw_http_cache_file_header_t))
    {
        bw_log_error(BW_LOG_CRIT, r->connection->log, errno,
                     "updating cache file \"%s\" failed", c->file.data);
        if (fd != -1) {
            close(fd);
        }
        return BW_OK;
    }
    close(fd);

    fcn = c->node;

    bw_shmtx_lock(c->cache->shpool);
    fcn->valid_sec = (time_t) c->h.valid_sec;
    fcn->updating_sec = (time_t) c->h.updating_sec;
    fcn->error_sec = (time_t) c->h.error_sec;
    bw_shmtx_unlock(c->cache->shpool);

    return BW_OK;
}
