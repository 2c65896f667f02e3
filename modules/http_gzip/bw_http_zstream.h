/*
 * A response body through zlib as it passes (gzip deflates, gunzip
 * inflates): the input the filter was given, read from memory or in
 * pieces from files; at most bufs.num output buffers, and no more input
 * taken while all of them wait in the write path; the producer's
 * flushes and last buffer passed on after zlib's own.
 */

#ifndef BW_HTTP_ZSTREAM_H
#define BW_HTTP_ZSTREAM_H

#include <bw_http.h>
#include <zlib.h>

typedef struct bw_http_zstream_s  bw_http_zstream_t;

/* One call of zlib over next_in/next_out; it ends with
 * bw_http_zstream_after(). */
typedef bw_int_t (*bw_http_zstream_run_pt)(bw_http_request_t *r,
    bw_http_zstream_t *zs);

struct bw_http_zstream_s {
    z_stream                        zstream;
    bw_chain_t                     *in;        /* taken, not yet through */
    bw_chain_t                     *free;
    bw_chain_t                     *busy;
    bw_chain_t                     *out;
    bw_chain_t                    **last_out;
    bw_buf_t                       *in_buf;    /* next_in points into it */
    bw_buf_t                       *out_buf;
    u_char                         *read_buf;  /* file data is read here */
    bw_bufs_t                       bufs;
    bw_uint_t                       nbufs;
    void                           *tag;       /* the module's buffers */
    bw_uint_t                       buffered;  /* its c->buffered bit */
    bw_http_zstream_run_pt          run;
    bw_http_output_body_filter_pt   next;

    unsigned                        flush:1;   /* the producer flushed */
    unsigned                        last:1;    /* its last buffer came */
    unsigned                        done:1;
    unsigned                        nomem:1;
};

void bw_http_zstream_init(bw_http_request_t *r, bw_http_zstream_t *zs);
bw_int_t bw_http_zstream_filter(bw_http_request_t *r, bw_http_zstream_t *zs,
    bw_chain_t *in);
/* After zlib: input consumed, output buffer full, flushed or the end
 * (end: the stream is complete). */
bw_int_t bw_http_zstream_after(bw_http_request_t *r, bw_http_zstream_t *zs,
    bw_uint_t end);

#endif
