/*
 * Static files: GET and HEAD of a regular file under root/alias, with
 * Last-Modified and ETag, sent with sendfile. Directories get a
 * redirect to the slashed URI; the index module serves "/" URIs.
 * open() and fstat() block on a slow disk, as in nginx without aio.
 */

#include <bw_http.h>

static bw_int_t bw_http_static_handler(bw_http_request_t *r);
static bw_int_t bw_http_static_init(bw_conf_t *cf);

static bw_http_module_t  bw_http_static_module_ctx = {
    NULL, bw_http_static_init, NULL, NULL, NULL, NULL, NULL, NULL
};

bw_module_t  bw_http_static_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_static_module_ctx, NULL,
    NULL, NULL, NULL, NULL
};

static bw_int_t
bw_http_static_redirect_dir(bw_http_request_t *r)
{
    size_t           len;
    u_char          *p;
    bw_str_t         loc;
    bw_table_elt_t  *h;

    /* $uri is decoded: escaped again, as nginx does, so that a space
     * or a "?" in a name does not break the URL */
    len = r->uri.len + bw_escape_uri_len(r->uri.data, r->uri.len,
                                         BW_URI_ESCAPE_PATH)
          + 1 + (r->args.len ? r->args.len + 1 : 0);
    p = bw_pnalloc(r->pool, len);
    if (p == NULL) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    loc.data = p;
    p = bw_escape_uri(p, r->uri.data, r->uri.len, BW_URI_ESCAPE_PATH);
    *p++ = '/';
    if (r->args.len) {
        *p++ = '?';
        p = bw_cpymem(p, r->args.data, r->args.len);
    }
    loc.len = p - loc.data;

    bw_http_clear_location(r);
    h = bw_http_add_header_out(r, "Location", &loc);
    if (h == NULL) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }
    r->headers_out.location = h;

    return BW_HTTP_MOVED_PERMANENTLY;
}

static bw_int_t
bw_http_static_handler(bw_http_request_t *r)
{
    int                       fd;
    size_t                    root;
    bw_int_t                  rc;
    bw_err_t                  err;
    bw_str_t                  path;
    struct stat               st;
    bw_http_core_loc_conf_t  *clcf;

    if (!(r->method & (BW_HTTP_GET | BW_HTTP_HEAD | BW_HTTP_POST))) {
        return BW_HTTP_NOT_ALLOWED;
    }

    if (r->uri.data[r->uri.len - 1] == '/') {
        return BW_DECLINED;
    }

    if (bw_http_map_uri_to_path(r, &path, &root, 0) == NULL) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    clcf = r->loc_conf[bw_http_core_module.ctx_index];

    fd = open((char *) path.data, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd == -1) {
        err = errno;

        switch (err) {
        case ENOENT:
        case ENOTDIR:
        case ENAMETOOLONG:
            rc = BW_HTTP_NOT_FOUND;
            break;
        case EACCES:
            rc = BW_HTTP_FORBIDDEN;
            break;
        default:
            rc = BW_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (rc != BW_HTTP_NOT_FOUND || clcf->log_not_found) {
            bw_log_error(BW_LOG_ERR, r->connection->log, err,
                         "open() \"%s\" failed", path.data);
        }
        return rc;
    }

    if (fstat(fd, &st) == -1) {
        err = errno;
        close(fd);
        bw_log_error(BW_LOG_CRIT, r->connection->log, err,
                     "fstat() \"%s\" failed", path.data);
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return bw_http_static_redirect_dir(r);
    }

    if (!S_ISREG(st.st_mode)) {
        close(fd);
        bw_log_error(BW_LOG_CRIT, r->connection->log, 0,
                     "\"%s\" is not a regular file", path.data);
        return BW_HTTP_NOT_FOUND;
    }

    if (r->method == BW_HTTP_POST) {
        close(fd);
        return BW_HTTP_NOT_ALLOWED;
    }

    return bw_http_send_open_file(r, fd, &st, &path, 1);
}

static bw_int_t
bw_http_static_init(bw_conf_t *cf)
{
    if (bw_http_add_phase_handler(cf, BW_HTTP_CONTENT_PHASE,
                                  bw_http_static_handler)
        != BW_OK)
    {
        return BW_ERROR;
    }

    return BW_OK;
}
