/*
 * An open regular file as the whole answer (static files, gzip_static):
 * the request body discarded, the header (200, length, Last-Modified,
 * ETag, type, ranges allowed) sent, then the body: a small file read
 * into memory so that it leaves with the header in one writev, a larger
 * one as a file buffer for sendfile, closed with the request's pool.
 * The read of a small file blocks on a slow disk, as nginx without aio.
 */

#include <bw_http.h>

/*
 * Files up to this size are read into memory and leave with the header
 * in one writev: fewer syscalls than sendfile plus TCP_CORK on and off.
 */
#define BW_HTTP_SEND_FILE_INLINE  16384

static void
bw_http_send_file_close(void *data)
{
    bw_file_t  *file = data;

    if (file->fd != -1) {
        close(file->fd);
        file->fd = -1;
    }
}

static bw_int_t
bw_http_send_file_header(bw_http_request_t *r, off_t size, time_t mtime,
    bw_uint_t ranges)
{
    r->headers_out.status = BW_HTTP_OK;
    r->headers_out.content_length_n = size;
    r->headers_out.last_modified_time = mtime;

    if (bw_http_set_etag(r) != BW_OK
        || bw_http_set_content_type(r) != BW_OK)
    {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->allow_ranges = ranges;

    return bw_http_send_header(r);
}

/*
 * A small file: the header first (a 304, 416 or HEAD needs no read),
 * then the file read whole and closed; the write filter holds the short
 * header back, so both still leave in one writev.
 */
static bw_int_t
bw_http_send_file_inline(bw_http_request_t *r, int fd, struct stat *st,
    bw_str_t *path, bw_uint_t ranges)
{
    ssize_t      n;
    bw_int_t     rc;
    bw_buf_t    *b;
    bw_chain_t   out;

    rc = bw_http_send_file_header(r, st->st_size, st->st_mtime, ranges);
    if (rc == BW_ERROR || rc > BW_OK || r->header_only) {
        close(fd);
        return rc;
    }

    b = bw_create_temp_buf(r->pool, st->st_size ? st->st_size : 1);
    if (b == NULL) {
        close(fd);
        return BW_ERROR;
    }

    n = st->st_size ? pread(fd, b->start, st->st_size, 0) : 0;
    close(fd);

    if (n != st->st_size) {
        /* changed under us: a torn body must not look complete */
        bw_log_error(BW_LOG_CRIT, r->connection->log, n == -1 ? errno : 0,
                     "pread() \"%s\" returned %zd of %lld bytes",
                     path->data, n, (long long) st->st_size);
        r->connection->error = 1;
        return BW_ERROR;
    }

    b->last = b->start + n;
    b->last_buf = 1;

    out.buf = b;
    out.next = NULL;

    return bw_http_output_filter(r, &out);
}

/*
 * fd is the caller's no more: closed here, at once or with the pool.
 * ranges: whether a Range may cut the answer (not for gzip_static's .gz,
 * as nginx).
 */
bw_int_t
bw_http_send_open_file(bw_http_request_t *r, int fd, struct stat *st,
    bw_str_t *path, bw_uint_t ranges)
{
    bw_int_t            rc;
    bw_buf_t           *b;
    bw_file_t          *file;
    bw_chain_t          out;
    bw_pool_cleanup_t  *cln;

    rc = bw_http_discard_request_body(r);
    if (rc != BW_OK) {
        close(fd);
        return rc;
    }

    if (st->st_size <= BW_HTTP_SEND_FILE_INLINE) {
        return bw_http_send_file_inline(r, fd, st, path, ranges);
    }

    file = bw_pcalloc(r->pool, sizeof(bw_file_t));
    cln = bw_pool_cleanup_add(r->pool, 0);
    if (file == NULL || cln == NULL) {
        close(fd);
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }
    file->fd = fd;
    file->name = *path;
    file->log = r->connection->log;
    cln->handler = bw_http_send_file_close;
    cln->data = file;

    rc = bw_http_send_file_header(r, st->st_size, st->st_mtime, ranges);
    if (rc == BW_ERROR || rc > BW_OK || r->header_only) {
        return rc;
    }

    b = bw_calloc_buf(r->pool);
    if (b == NULL) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->file = file;
    b->file_pos = 0;
    b->file_last = st->st_size;
    b->in_file = st->st_size ? 1 : 0;
    b->last_buf = 1;

    out.buf = b;
    out.next = NULL;

    return bw_http_output_filter(r, &out);
}
