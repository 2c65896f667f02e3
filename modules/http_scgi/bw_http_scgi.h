/*
 * The SCGI module's shared types: its location conf (directives), its
 * per-request context, and what its request and response files give
 * each other.
 */

#ifndef BW_HTTP_SCGI_H
#define BW_HTTP_SCGI_H

#include <bw_http.h>
#if (BW_HTTP_CACHE_MODULE)
#include <bw_http_cache.h>
#endif

typedef struct {
    bw_http_upstream_conf_t     upstream;

    bw_http_complex_value_t    *url_cv;       /* scgi_pass with
                                                 variables */

    bw_http_upstream_params_t   params;

#if (BW_HTTP_CACHE_MODULE)
    bw_http_upstream_cache_conf_t  cache;
#endif
} bw_http_scgi_loc_conf_t;

typedef struct {
    bw_http_upstream_cgi_parse_t  answer;     /* the answer's header */
} bw_http_scgi_ctx_t;

extern bw_module_t  bw_http_scgi_module;

/* bw_http_scgi_request.c */
bw_int_t bw_http_scgi_create_request(bw_http_request_t *r);
bw_int_t bw_http_scgi_reinit_request(bw_http_request_t *r);
bw_int_t bw_http_scgi_process_header(bw_http_request_t *r);

#endif
