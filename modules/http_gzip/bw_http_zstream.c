/*
 * The streaming part that gzip and gunzip share (bw_http_zstream.h):
 * feeding zlib from the body's buffers, giving its output to the next
 * filter within the filter's buffers, and holding the producer back
 * while those wait. zlib's memory comes from the request's pool.
 * Nothing here blocks but the read of a file piece, as nginx without
 * aio.
 */

#include <bw_http_zstream.h>

/* what a file buffer is read into, at most */
#define BW_HTTP_ZSTREAM_READ_SIZE  32768

static void *
bw_http_zstream_zalloc(void *opaque, u_int items, u_int size)
{
    bw_http_request_t  *r = opaque;

    return bw_palloc(r->pool, (size_t) items * size);
}

static void
bw_http_zstream_zfree(void *opaque, void *address)
{
    /* the request's pool takes it all back */
}

void
bw_http_zstream_init(bw_http_request_t *r, bw_http_zstream_t *zs)
{
    zs->zstream.zalloc = bw_http_zstream_zalloc;
    zs->zstream.zfree = bw_http_zstream_zfree;
    zs->zstream.opaque = r;
    zs->last_out = &zs->out;
}

/*
 * Point zlib's input at the next data: the rest of a memory buffer (its
 * pos follows what zlib took), or the next piece of a file buffer read
 * into read_buf. BW_DECLINED: nothing to pass through zlib and nothing
 * to flush.
 */
static bw_int_t
bw_http_zstream_next_input(bw_http_request_t *r, bw_http_zstream_t *zs)
{
    off_t        n;
    ssize_t      got;
    bw_buf_t    *b;
    bw_chain_t  *cl;

    if (zs->zstream.avail_in || zs->flush || zs->last) {
        return BW_OK;
    }

    while (zs->in) {
        cl = zs->in;
        b = cl->buf;

        if (bw_buf_in_memory(b) && b->pos < b->last) {
            zs->in_buf = b;
            zs->zstream.next_in = b->pos;
            zs->zstream.avail_in = (uInt) (b->last - b->pos);
            zs->in = cl->next;
            bw_free_chain(r->pool, cl);
            zs->flush = b->flush;
            zs->last = b->last_buf;
            return BW_OK;
        }

        if (!bw_buf_in_memory(b) && b->in_file && b->file_pos < b->file_last)
        {
            if (zs->read_buf == NULL) {
                zs->read_buf = bw_pnalloc(r->pool,
                                          BW_HTTP_ZSTREAM_READ_SIZE);
                if (zs->read_buf == NULL) {
                    return BW_ERROR;
                }
            }

            n = bw_min(b->file_last - b->file_pos,
                       (off_t) BW_HTTP_ZSTREAM_READ_SIZE);
            got = pread(b->file->fd, zs->read_buf, (size_t) n, b->file_pos);
            if (got <= 0) {
                bw_log_error(BW_LOG_CRIT, r->connection->log,
                             got == -1 ? errno : 0,
                             "pread() \"%.*s\" failed",
                             (int) b->file->name.len, b->file->name.data);
                return BW_ERROR;
            }

            zs->in_buf = NULL;
            zs->zstream.next_in = zs->read_buf;
            zs->zstream.avail_in = (uInt) got;
            b->file_pos += got;

            if (b->file_pos == b->file_last) {
                zs->in = cl->next;
                bw_free_chain(r->pool, cl);
                zs->flush = b->flush;
                zs->last = b->last_buf;
            }
            return BW_OK;
        }

        /* no data left in it: only its flags count */
        zs->in = cl->next;
        bw_free_chain(r->pool, cl);
        if (b->flush || b->last_buf) {
            zs->flush = b->flush;
            zs->last = b->last_buf;
            return BW_OK;
        }
    }

    return BW_DECLINED;
}

/* An output buffer for zlib: a free one, a new one while bufs allows,
 * else BW_DECLINED until the write path sends some. */
static bw_int_t
bw_http_zstream_out_buf(bw_http_request_t *r, bw_http_zstream_t *zs)
{
    bw_buf_t    *b;
    bw_chain_t  *cl;

    if (zs->out_buf) {
        return BW_OK;
    }

    if (zs->free) {
        cl = zs->free;
        zs->free = cl->next;
        b = cl->buf;
        bw_free_chain(r->pool, cl);

    } else if (zs->nbufs < zs->bufs.num) {
        b = bw_create_temp_buf(r->pool, zs->bufs.size);
        if (b == NULL) {
            return BW_ERROR;
        }
        zs->nbufs++;

    } else {
        zs->nomem = 1;
        return BW_DECLINED;
    }

    b->tag = zs->tag;
    b->temporary = 1;
    b->recycled = 1;
    b->pos = b->start;
    b->last = b->start;

    zs->out_buf = b;
    zs->zstream.next_out = b->start;
    zs->zstream.avail_out = (uInt) (b->end - b->start);
    return BW_OK;
}

static bw_int_t
bw_http_zstream_link_out(bw_http_request_t *r, bw_http_zstream_t *zs)
{
    bw_chain_t  *cl;

    cl = bw_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return BW_ERROR;
    }
    cl->buf = zs->out_buf;
    cl->next = NULL;
    *zs->last_out = cl;
    zs->last_out = &cl->next;
    zs->out_buf = NULL;
    return BW_OK;
}

bw_int_t
bw_http_zstream_after(bw_http_request_t *r, bw_http_zstream_t *zs,
    bw_uint_t end)
{
    if (zs->in_buf) {
        zs->in_buf->pos = zs->zstream.next_in;
        if (zs->zstream.avail_in == 0) {
            zs->in_buf = NULL;
        }
    }

    zs->out_buf->last = zs->zstream.next_out;

    if (end) {
        zs->out_buf->last_buf = 1;
        zs->done = 1;
        zs->last = 0;
        return bw_http_zstream_link_out(r, zs);
    }

    if (zs->zstream.avail_out == 0) {
        /* full: more may come of this input or this flush */
        return bw_http_zstream_link_out(r, zs);
    }

    if (zs->flush && zs->zstream.avail_in == 0) {
        /* all in and the flush made: send what there is now */
        zs->flush = 0;
        zs->out_buf->flush = 1;
        return bw_http_zstream_link_out(r, zs);
    }

    return BW_OK;
}

bw_int_t
bw_http_zstream_filter(bw_http_request_t *r, bw_http_zstream_t *zs,
    bw_chain_t *in)
{
    bw_int_t          rc;
    bw_chain_t       *cl, **ll;
    bw_connection_t  *c;

    c = r->connection;

    /* take the new buffers after those still waiting */
    for (ll = &zs->in; *ll; ll = &(*ll)->next) { /* void */ }
    for ( /* void */ ; in; in = in->next) {
        cl = bw_alloc_chain_link(r->pool);
        if (cl == NULL) {
            goto failed;
        }
        cl->buf = in->buf;
        cl->next = NULL;
        *ll = cl;
        ll = &cl->next;
    }

    for ( ;; ) {

        /* through zlib while there is input (or a flush) and room */
        while (!zs->done) {
            rc = bw_http_zstream_next_input(r, zs);
            if (rc == BW_ERROR) {
                goto failed;
            }
            if (rc == BW_DECLINED) {
                break;
            }
            rc = bw_http_zstream_out_buf(r, zs);
            if (rc == BW_ERROR) {
                goto failed;
            }
            if (rc == BW_DECLINED) {
                break;
            }
            if (zs->run(r, zs) != BW_OK) {
                goto failed;
            }
        }

        rc = zs->next(r, zs->out);
        bw_chain_update_chains(r->pool, &zs->free, &zs->busy, &zs->out,
                               zs->tag);
        zs->last_out = &zs->out;

        if (rc == BW_ERROR) {
            goto failed;
        }

        if (zs->done) {
            c->buffered &= ~zs->buffered;
            return rc;
        }

        if (zs->nomem && zs->free) {
            /* the write path sent some: go on with the input */
            zs->nomem = 0;
            continue;
        }

        break;
    }

    /* input waits until output buffers come back */
    if (zs->nomem || zs->in || zs->zstream.avail_in) {
        c->buffered |= zs->buffered;
        zs->nomem = 0;
        return BW_AGAIN;
    }

    c->buffered &= ~zs->buffered;
    return rc;

failed:

    zs->done = 1;
    c->buffered &= ~zs->buffered;
    return BW_ERROR;
}
