/*
 * HTTP/2 to clients. libnghttp2 does the framing, HPACK, flow control
 * and the protocol's own checks (pseudo-headers, connection-specific
 * fields, Content-Length against the DATA frames); this module keeps
 * the connection (bw_http_v2_connection.c) and turns each stream into a
 * request that runs the same phases and filters as an HTTP/1 one
 * (bw_http_v2_stream.c), through a stream connection of its own: its
 * recv() gives the request body from the DATA frames, its send_chain()
 * turns the response body into DATA frames.
 *
 * nghttp2 may not be called back into from its own callbacks: the
 * callbacks only record what came (a stream's head, its body bytes, a
 * reset) and the requests run after nghttp2_session_mem_recv() returns.
 */

#ifndef BW_HTTP_V2_H
#define BW_HTTP_V2_H

#include <bw_http.h>
#include <nghttp2/nghttp2.h>

typedef struct bw_http_v2_connection_s  bw_http_v2_connection_t;

/* what a stream reads of a file at a time for its DATA frames */
#define BW_HTTP_V2_READ_AHEAD  32768
typedef struct bw_http_v2_stream_s      bw_http_v2_stream_t;

typedef struct {
    size_t                    recv_buffer_size;
} bw_http_v2_main_conf_t;

typedef struct {
    bw_flag_t                 enable;
    bw_uint_t                 concurrent_streams;
    size_t                    preread_size;
} bw_http_v2_srv_conf_t;

typedef struct {
    size_t                    chunk_size;
} bw_http_v2_loc_conf_t;

struct bw_http_v2_connection_s {
    /* first: what HTTP/1 code and the TLS callbacks read as c->data */
    bw_http_connection_t      hc;

    bw_connection_t          *connection;
    nghttp2_session          *session;
    bw_http_v2_srv_conf_t    *conf;         /* the server's that took the
                                               connection */
    bw_http_core_loc_conf_t  *clcf;         /* its keepalive settings */

    bw_buf_t                  out;          /* frames on their way out */

    bw_queue_t                streams;      /* every live stream */
    bw_queue_t                ready;        /* heads in, to be run */
    bw_queue_t                waiting;      /* output held back */

    bw_uint_t                 processing;   /* live streams */
    bw_uint_t                 unstarted;    /* of them, heads not in */
    bw_uint_t                 requests;     /* streams taken */
    bw_uint_t                 empty_data;   /* empty DATA frames */
    bw_uint_t                 reset_tokens; /* resets the client may
                                               still send now */
    bw_msec_t                 reset_time;   /* when they were counted */
    bw_msec_t                 lingering_time;

    unsigned                  in_session:1; /* inside nghttp2 */
    unsigned                  blocked:1;    /* "out" was full */
    unsigned                  wake:1;       /* a window opened */
    unsigned                  goaway:1;     /* no new streams */
    unsigned                  closing:1;    /* closed when no streams */
    unsigned                  refused_logged:1;
    unsigned                  reset_logged:1;
    unsigned                  flood:1;      /* ended for abuse */
    unsigned                  header_logged:1;
};

struct bw_http_v2_stream_s {
    bw_http_v2_connection_t  *h2c;
    int32_t                   id;
    bw_http_request_t        *request;      /* NULL once it is freed */
    bw_connection_t          *fc;           /* the stream's connection */
    bw_pool_t                *pool;         /* the stream's own */

    bw_queue_t                queue;        /* in h2c->streams */
    bw_queue_t                wait;         /* in ready or waiting */

    bw_buf_t                 *in;           /* DATA not read yet */
    bw_chain_t               *out;          /* during send_chain() */
    bw_array_t               *cookies;      /* "cookie" fields: one line
                                               when the head is in */
    off_t                     limit;        /* send_chain()'s budget */

    size_t                    header_size;  /* decoded, so far */
    off_t                     chunk_rest;   /* of the chunk being given */
    u_char                    frame[24];    /* chunk framing being given */
    u_char                   *frame_pos, *frame_last;

    u_char                   *ra;           /* a file read ahead */
    bw_file_t                *ra_file;
    int                       ra_fd;
    off_t                     ra_start;     /* its offset in the file */
    size_t                    ra_len;

    bw_event_t                end;          /* reset: end the request */
    bw_event_t                free;         /* freed after the stack */

    unsigned                  in_closed:1;  /* END_STREAM came */
    unsigned                  chunked:1;    /* body given as chunks */
    unsigned                  last_given:1; /* "0" chunk given */
    unsigned                  out_closed:1; /* END_STREAM went */
    unsigned                  eof:1;        /* the last DATA is made */
    unsigned                  closed:1;     /* nghttp2 closed it */
    unsigned                  deferred:1;   /* its data is deferred */
    unsigned                  queued:1;     /* in ready or waiting */
    unsigned                  started:1;    /* its request runs */
    unsigned                  too_large:1;  /* header over the limit */
    unsigned                  too_many:1;   /* over max_headers */
    unsigned                  limited:1;    /* the budget ran out */
};

extern bw_module_t  bw_http_v2_module;

/* bw_http_v2_connection.c */
void bw_http_v2_init(bw_connection_t *c);
void bw_http_v2_send(bw_http_v2_connection_t *h2c);
void bw_http_v2_post_send(bw_http_v2_connection_t *h2c);
void bw_http_v2_stream_closed(bw_http_v2_connection_t *h2c);
bw_int_t bw_http_v2_room(bw_http_v2_connection_t *h2c, size_t len);

/* bw_http_v2_stream.c */
bw_http_v2_stream_t *bw_http_v2_create_stream(bw_http_v2_connection_t *h2c,
    int32_t id);
bw_int_t bw_http_v2_add_header(bw_http_v2_stream_t *s, const uint8_t *name,
    size_t namelen, const uint8_t *value, size_t valuelen);
void bw_http_v2_run_request(bw_http_v2_stream_t *s);
bw_int_t bw_http_v2_body_in(bw_http_v2_stream_t *s, const uint8_t *data,
    size_t len);
void bw_http_v2_body_end(bw_http_v2_stream_t *s);
size_t bw_http_v2_body_give(bw_http_v2_stream_t *s, u_char *buf,
    size_t size, size_t *data);
void bw_http_v2_reset(bw_http_v2_stream_t *s, uint32_t error_code);
void bw_http_v2_close_stream(void *stream, bw_int_t rc);
bw_int_t bw_http_v2_header_filter(bw_http_request_t *r, const char *st,
    size_t slen);
ssize_t bw_http_v2_data_read(nghttp2_session *session, int32_t id,
    uint8_t *buf, size_t length, uint32_t *flags,
    nghttp2_data_source *source, void *user_data);
bw_int_t bw_http_v2_data_copy(bw_http_v2_stream_t *s, bw_buf_t *out,
    size_t length, bw_uint_t last);

#endif
