/*
 * The uwsgi module's shared types: its location conf (directives) and
 * its per-request context.
 */

#ifndef BW_HTTP_UWSGI_H
#define BW_HTTP_UWSGI_H

#include <bw_http.h>
#if (BW_HTTP_CACHE_MODULE)
#include <bw_http_cache.h>
#endif

/* the vars block's size is 16 bits in the packet header */
#define BW_HTTP_UWSGI_VARS_MAX  65535

typedef struct {
    bw_http_upstream_conf_t     upstream;

    bw_http_complex_value_t    *url_cv;       /* uwsgi_pass with
                                                 variables */

    bw_http_upstream_params_t   params;

    bw_int_t                    modifier1;
    bw_int_t                    modifier2;

#if (BW_HTTP_CACHE_MODULE)
    bw_http_upstream_cache_conf_t  cache;
#endif
} bw_http_uwsgi_loc_conf_t;

typedef struct {
    bw_http_upstream_cgi_parse_t  answer;     /* the answer's header */
} bw_http_uwsgi_ctx_t;

extern bw_module_t  bw_http_uwsgi_module;

/* bw_http_uwsgi_request.c */
bw_int_t bw_http_uwsgi_create_request(bw_http_request_t *r);
bw_int_t bw_http_uwsgi_reinit_request(bw_http_request_t *r);
bw_int_t bw_http_uwsgi_process_header(bw_http_request_t *r);

#endif
