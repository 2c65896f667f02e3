/*
 * The FastCGI module's shared types: its location conf (directives), its
 * per-request context, and the record parser that the response code,
 * the unit tests and the fuzzer use.
 */

#ifndef BW_HTTP_FASTCGI_H
#define BW_HTTP_FASTCGI_H

#include <bw_http.h>
#if (BW_HTTP_CACHE_MODULE)
#include <bw_http_cache.h>
#endif

/* the FastCGI 1.0 specification's record types and roles */
#define BW_HTTP_FASTCGI_BEGIN_REQUEST   1
#define BW_HTTP_FASTCGI_ABORT_REQUEST   2
#define BW_HTTP_FASTCGI_END_REQUEST     3
#define BW_HTTP_FASTCGI_PARAMS          4
#define BW_HTTP_FASTCGI_STDIN           5
#define BW_HTTP_FASTCGI_STDOUT          6
#define BW_HTTP_FASTCGI_STDERR          7
#define BW_HTTP_FASTCGI_DATA            8

#define BW_HTTP_FASTCGI_RESPONDER       1
#define BW_HTTP_FASTCGI_KEEP_CONN       1

#define BW_HTTP_FASTCGI_HEADER_LEN      8
/* a record's content as this side writes them: what nginx sends, well
 * under the protocol's 65535, and a multiple of 8 */
#define BW_HTTP_FASTCGI_RECORD_MAX      32768
/* a PARAMS record's content: whole pairs, up to the protocol's limit */
#define BW_HTTP_FASTCGI_PARAMS_MAX      65535
/* the one request of a connection */
#define BW_HTTP_FASTCGI_REQUEST_ID      1

typedef struct {
    bw_http_upstream_conf_t     upstream;

    bw_http_complex_value_t    *url_cv;       /* fastcgi_pass with
                                                 variables */
    bw_str_t                    index;        /* fastcgi_index */

    bw_http_upstream_params_t   params;

    bw_array_t                 *catch_stderr;   /* bw_str_t */
    bw_regex_t                 *split_regex;
    bw_str_t                    split_name;

    bw_flag_t                   keep_conn;

#if (BW_HTTP_CACHE_MODULE)
    bw_http_upstream_cache_conf_t  cache;
#endif
} bw_http_fastcgi_loc_conf_t;

/* The response's records as they arrive (bw_http_fastcgi_parse). */
typedef enum {
    bw_fcgi_st_version = 0,
    bw_fcgi_st_type,
    bw_fcgi_st_request_id_hi,
    bw_fcgi_st_request_id_lo,
    bw_fcgi_st_length_hi,
    bw_fcgi_st_length_lo,
    bw_fcgi_st_padding,
    bw_fcgi_st_reserved,
    bw_fcgi_st_content,
    bw_fcgi_st_skip_padding,
    bw_fcgi_st_done                         /* after END_REQUEST */
} bw_http_fastcgi_state_e;

typedef struct {
    bw_http_fastcgi_state_e     state;
    bw_uint_t                   type;
    size_t                      length;       /* content still to come */
    size_t                      padding;
} bw_http_fastcgi_parser_t;

/*
 * What bw_http_fastcgi_parse() found next in [*pos, last): a piece of
 * STDOUT or STDERR content (out), END_REQUEST, or more is needed.
 */
#define BW_HTTP_FASTCGI_NEED     0
#define BW_HTTP_FASTCGI_STDOUT_DATA  1
#define BW_HTTP_FASTCGI_STDERR_DATA  2
#define BW_HTTP_FASTCGI_END      3
#define BW_HTTP_FASTCGI_BAD_VERSION  -1
#define BW_HTTP_FASTCGI_BAD_TYPE     -2
#define BW_HTTP_FASTCGI_BAD_ID       -3

bw_int_t bw_http_fastcgi_parse(bw_http_fastcgi_parser_t *st, u_char **pos,
    u_char *last, bw_str_t *out);

typedef struct {
    bw_str_t                    script_name;  /* $fastcgi_script_name */
    bw_str_t                    path_info;    /* $fastcgi_path_info */
    unsigned                    split_done:1;

    bw_http_fastcgi_parser_t    parser;
    u_char                     *decoded;      /* u->buffer: STDOUT up to
                                                 here, records after */
    bw_http_upstream_cgi_parse_t  cgi;        /* the CGI header */
    off_t                       rest;         /* of Content-Length; -1 */
    /* fastcgi_request_buffering off: the STDIN records' buffers */
    bw_buf_t                   *frame_bufs;
    bw_chain_t                 *frame_cl;
    u_char                     *frame_heads;
    bw_uint_t                   frame_max;

    unsigned                    body_started:1;
    unsigned                    extra:1;      /* bytes after END_REQUEST */
} bw_http_fastcgi_ctx_t;

extern bw_module_t  bw_http_fastcgi_module;

/* bw_http_fastcgi_request.c */
bw_int_t bw_http_fastcgi_create_request(bw_http_request_t *r);
bw_http_fastcgi_ctx_t *bw_http_fastcgi_split(bw_http_request_t *r,
    bw_http_fastcgi_loc_conf_t *flcf);
bw_chain_t *bw_http_fastcgi_stream_frame(bw_http_request_t *r,
    bw_buf_t *data, bw_uint_t last);
/* bw_http_fastcgi_response.c */
bw_int_t bw_http_fastcgi_reinit_request(bw_http_request_t *r);
bw_int_t bw_http_fastcgi_process_header(bw_http_request_t *r);
bw_int_t bw_http_fastcgi_input_filter_init(bw_http_request_t *r);
bw_int_t bw_http_fastcgi_input_filter(bw_http_request_t *r, bw_buf_t *b);

#endif
