/*
 * Helpers for content handlers: the path of a URI under root/alias,
 * Content-Type by extension, ETag, response headers, and sending a
 * small in-memory response (return, error pages).
 */

#include <bw_http.h>

bw_int_t
bw_http_send_header(bw_http_request_t *r)
{
    if (r->post_action) {
        /* the client has had its answer: this one goes nowhere */
        return BW_OK;
    }

    if (r->header_sent) {
        bw_log_error(BW_LOG_ALERT, r->connection->log, 0,
                     "header already sent");
        return BW_ERROR;
    }

    if (r->err_status) {
        r->headers_out.status = r->err_status;
        r->headers_out.status_line.len = 0;
    }

    if (r != r->main) {
        /* a subrequest answers its parent, which reads headers_out */
        r->header_sent = 1;
        return BW_OK;
    }

    return bw_http_top_header_filter(r);
}

bw_int_t
bw_http_output_filter(bw_http_request_t *r, bw_chain_t *in)
{
    bw_int_t     rc;
    bw_chain_t  *cl;

    if (r->post_action) {
        /* nothing of post_action's answer goes to the client: taken as
         * sent, so that its producer goes on */
        for (cl = in; cl; cl = cl->next) {
            cl->buf->pos = cl->buf->last;
            cl->buf->file_pos = cl->buf->file_last;
        }
        return BW_OK;
    }

    if (r != r->main) {
        /* a subrequest's body goes nowhere: taken as it comes, so that
         * its producer (an upstream) frees and reuses its buffers */
        for (cl = in; cl; cl = cl->next) {
            cl->buf->pos = cl->buf->last;
            cl->buf->file_pos = cl->buf->file_last;
        }
        return BW_OK;
    }

    rc = bw_http_top_body_filter(r, in);

    if (rc == BW_ERROR) {
        r->connection->error = 1;
    }

    return rc;
}

/*
 * root + URI, or alias + the URI after the location's name. reserved
 * bytes are left free after the path (e.g. for an index file name).
 * The URI is normalised, so the result never leaves the root.
 */
u_char *
bw_http_map_uri_to_path(bw_http_request_t *r, bw_str_t *path,
    size_t *root_length, size_t reserved)
{
    u_char                   *last;
    size_t                    alias, len;
    bw_str_t                  root;
    bw_http_core_loc_conf_t  *clcf;

    clcf = r->loc_conf[bw_http_core_module.ctx_index];

    alias = clcf->alias;
    if (alias == BW_HTTP_ALIAS_WHOLE) {
        /* a regex location's alias is the whole path; a name try_files
         * tries goes under it, as in nginx */
        alias = r->add_uri_to_alias ? 0 : r->uri.len;

    } else if (alias && alias > r->uri.len) {
        alias = 0;
    }

    if (clcf->root_cv) {
        if (bw_http_complex_value(r, clcf->root_cv, &root) != BW_OK) {
            return NULL;
        }
        /* a relative root with variables resolves against the prefix */
        if (bw_get_full_name(r->pool, &bw_cycle->prefix, &root) != BW_OK) {
            return NULL;
        }
    } else {
        root = clcf->root;
    }

    len = root.len + r->uri.len - alias + 1 + reserved;

    path->data = bw_pnalloc(r->pool, len);
    if (path->data == NULL) {
        return NULL;
    }

    last = bw_cpymem(path->data, root.data, root.len);
    *root_length = root.len;
    if (r->uri.len > alias) {
        /* (a request refused before its URI was known has none) */
        last = bw_cpymem(last, r->uri.data + alias, r->uri.len - alias);
    }
    *last = '\0';
    path->len = last - path->data;

    return last;
}

bw_int_t
bw_http_set_content_type(bw_http_request_t *r)
{
    u_char                   *lc, buf[32];
    bw_str_t                 *type;
    bw_http_core_loc_conf_t  *clcf;

    if (r->headers_out.content_type.len) {
        return BW_OK;
    }

    clcf = r->loc_conf[bw_http_core_module.ctx_index];

    if (r->exten.len && clcf->types_hash) {
        if (r->exten.len <= sizeof(buf)) {
            lc = buf;
        } else {
            lc = bw_pnalloc(r->pool, r->exten.len);
            if (lc == NULL) {
                return BW_ERROR;
            }
        }
        bw_strlow(lc, r->exten.data, r->exten.len);

        type = bw_hash_find(clcf->types_hash, bw_hash_key(lc, r->exten.len),
                            lc, r->exten.len);
        if (type) {
            r->headers_out.content_type = *type;
            return BW_OK;
        }
    }

    r->headers_out.content_type = clcf->default_type;
    return BW_OK;
}

bw_table_elt_t *
bw_http_header_next(bw_http_header_iter_t *it, const char *name, size_t len)
{
    bw_table_elt_t  *h;

    for ( ;; ) {
        if (it->i >= it->part->nelts) {
            if (it->part->next == NULL) {
                return NULL;
            }
            it->part = it->part->next;
            it->i = 0;
            continue;
        }

        h = (bw_table_elt_t *) it->part->elts + it->i++;

        if (h->key.len == len
            && bw_strncasecmp(h->key.data, (u_char *) name, len) == 0)
        {
            return h;
        }
    }
}

bw_table_elt_t *
bw_http_add_header_out(bw_http_request_t *r, const char *name,
    bw_str_t *value)
{
    bw_table_elt_t  *h;

    h = bw_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NULL;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = strlen(name);
    h->value = *value;
    h->lowcase_key = NULL;
    h->next = NULL;
    return h;
}

/* ETag as nginx: "mtime-size" in hex, so caches agree across servers. */
bw_int_t
bw_http_set_etag(bw_http_request_t *r)
{
    u_char                   *p;
    bw_str_t                  v;
    bw_table_elt_t           *etag;
    bw_http_core_loc_conf_t  *clcf;

    clcf = r->loc_conf[bw_http_core_module.ctx_index];
    if (!clcf->etag) {
        return BW_OK;
    }

    v.data = bw_pnalloc(r->pool, 2 * 16 + 4);
    if (v.data == NULL) {
        return BW_ERROR;
    }
    p = v.data;
    *p++ = '"';
    p = bw_sprint_hex(p, (uint64_t) r->headers_out.last_modified_time);
    *p++ = '-';
    p = bw_sprint_hex(p, (uint64_t) r->headers_out.content_length_n);
    *p++ = '"';
    v.len = p - v.data;

    etag = bw_http_add_header_out(r, "ETag", &v);
    if (etag == NULL) {
        return BW_ERROR;
    }
    r->headers_out.etag = etag;
    return BW_OK;
}

#define bw_http_clear_header(r, field) \
    if ((r)->headers_out.field) { \
        (r)->headers_out.field->hash = 0; \
        (r)->headers_out.field = NULL; \
    }

void
bw_http_clear_content_length(bw_http_request_t *r)
{
    r->headers_out.content_length_n = -1;
    bw_http_clear_header(r, content_length);
}

void
bw_http_clear_accept_ranges(bw_http_request_t *r)
{
    r->allow_ranges = 0;
    bw_http_clear_header(r, accept_ranges);
}

void
bw_http_clear_last_modified(bw_http_request_t *r)
{
    r->headers_out.last_modified_time = -1;
    bw_http_clear_header(r, last_modified);
}

void
bw_http_clear_location(bw_http_request_t *r)
{
    bw_http_clear_header(r, location);
}

void
bw_http_clear_etag(bw_http_request_t *r)
{
    bw_http_clear_header(r, etag);
}

/*
 * A response whose body is a complex value (return, error_page text):
 * for redirects the value is the Location.
 */
bw_int_t
bw_http_send_response(bw_http_request_t *r, bw_uint_t status, bw_str_t *ct,
    bw_http_complex_value_t *cv)
{
    bw_int_t         rc;
    bw_str_t         val;
    bw_buf_t        *b;
    bw_chain_t       out;
    bw_table_elt_t  *h;

    rc = bw_http_discard_request_body(r);
    if (rc != BW_OK) {
        return rc;
    }

    /* before the text: "$status" in it is this status, as in nginx */
    r->headers_out.status = status;

    if (cv) {
        if (bw_http_complex_value(r, cv, &val) != BW_OK) {
            return BW_HTTP_INTERNAL_SERVER_ERROR;
        }
    } else {
        /* "return 302;": an empty Location, as nginx */
        bw_str_set(&val, "");
    }

    if (status == BW_HTTP_MOVED_PERMANENTLY
        || status == BW_HTTP_MOVED_TEMPORARILY
        || status == BW_HTTP_SEE_OTHER
        || status == BW_HTTP_TEMPORARY_REDIRECT
        || status == BW_HTTP_PERMANENT_REDIRECT)
    {
        bw_http_clear_location(r);
        h = bw_http_add_header_out(r, "Location", &val);
        if (h == NULL) {
            return BW_HTTP_INTERNAL_SERVER_ERROR;
        }
        r->headers_out.location = h;
        return (bw_int_t) status;
    }

    if (ct) {
        r->headers_out.content_type = *ct;
    } else if (bw_http_set_content_type(r) != BW_OK) {
        /* as nginx: a type already set stays (X-Accel-Redirect to a
         * named location), else the URI's extension, else default_type */
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    bw_http_clear_content_length(r);
    r->headers_out.content_length_n = val.len;

    rc = bw_http_send_header(r);
    if (rc == BW_ERROR || rc > BW_OK || r->header_only) {
        return rc;
    }

    b = bw_calloc_buf(r->pool);
    if (b == NULL) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = val.data;
    b->last = val.data + val.len;
    b->memory = val.len ? 1 : 0;
    b->last_buf = 1;

    out.buf = b;
    out.next = NULL;

    return bw_http_output_filter(r, &out);
}
