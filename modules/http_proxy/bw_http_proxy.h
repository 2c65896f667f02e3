/*
 * The proxy module's shared types: its location conf (directives) and
 * its per-request context, used by the directive code
 * (bw_http_proxy_module.c) and the HTTP/1.x code that talks to the
 * upstream (bw_http_proxy_request.c).
 */

#ifndef BW_HTTP_PROXY_H
#define BW_HTTP_PROXY_H

#include <bw_http.h>
#if (BW_HTTP_CACHE_MODULE)
#include <bw_http_cache.h>
#endif

typedef struct {
    bw_str_t                    schema;       /* "http://" */
    bw_str_t                    host_header;  /* $proxy_host */
    bw_str_t                    port;         /* $proxy_port */
    bw_str_t                    uri;          /* URI part of proxy_pass */
} bw_http_proxy_vars_t;

/* One proxy_set_header, compiled. */
typedef struct {
    bw_str_t                    key;
    bw_http_complex_value_t     value;
    unsigned                    content_length:1;  /* the body's, per
                                                      request */
    unsigned                    chunked:1;         /* "chunked" when a
                                                      streamed body is */
} bw_http_proxy_header_t;

typedef struct {
    bw_array_t                 *headers;      /* bw_http_proxy_header_t */
    bw_hash_t                   names;        /* lowercase names set */
} bw_http_proxy_headers_t;

/* One proxy_redirect, proxy_cookie_domain or proxy_cookie_path rule. */
#define BW_HTTP_PROXY_REWRITE_PREFIX  0     /* redirects, paths */
#define BW_HTTP_PROXY_REWRITE_DOMAIN  1     /* whole value, no case */

typedef struct {
    bw_uint_t                   type;
    bw_http_complex_value_t     from;
    bw_regex_t                 *regex;        /* instead of from */
    bw_http_complex_value_t     to;
} bw_http_proxy_rewrite_t;

/* One proxy_cookie_flags rule. */
typedef struct {
    bw_http_complex_value_t     cookie;
    bw_regex_t                 *regex;        /* instead of cookie */
    bw_uint_t                   flags;        /* the literal ones */
    bw_array_t                 *vars;         /* flags with variables */
} bw_http_proxy_cookie_flags_t;

typedef struct {
    bw_http_upstream_conf_t     upstream;

    bw_str_t                    url;          /* proxy_pass as written */
    bw_http_complex_value_t    *url_cv;       /* with variables */
    bw_http_proxy_vars_t        vars;
    bw_str_t                    location;     /* the location's name */

    bw_array_t                 *headers_source;   /* bw_keyval_t */
    bw_http_proxy_headers_t     headers;
    /* with proxy_cache: the conditionals and Range are the cache's to
     * answer, not the upstream's (none where there is no cache) */
    bw_http_proxy_headers_t     headers_cache;

    bw_http_complex_value_t    *method;
    bw_http_complex_value_t    *body_set;

    bw_flag_t                   redirect;     /* off: 0 */
    bw_array_t                 *redirects;    /* bw_http_proxy_rewrite_t */
    bw_array_t                 *cookie_domains;   /* NULL: none or off */
    bw_array_t                 *cookie_paths;
    bw_array_t                 *cookie_flags;     /* NULL: none or off */

    bw_uint_t                   http_version;

#if (BW_HTTP_CACHE_MODULE)
    bw_http_upstream_cache_conf_t  cache;
#endif

    /* TLS to the upstream (bw_http_proxy_ssl.c) */
    bw_uint_t                   ssl_protocols;
    bw_str_t                    ssl_ciphers;
    bw_uint_t                   ssl_verify_depth;
    bw_str_t                    ssl_trusted_certificate;
    bw_str_t                    ssl_crl;
    bw_str_t                    ssl_certificate;
    bw_str_t                    ssl_certificate_key;
    bw_ssl_where_t              ssl_where;
    bw_array_t                 *ssl_passwords;
    bw_array_t                 *ssl_conf_commands;

    unsigned                    uri_in_regex:1;   /* location is regex,
                                                     named or if */
    unsigned                    ssl:1;            /* proxy_pass https://,
                                                     or with variables */
    unsigned                    https:1;          /* proxy_pass https:// */
} bw_http_proxy_loc_conf_t;

typedef struct {
    bw_http_proxy_vars_t        vars;
    bw_http_upstream_http_parse_t  http;
} bw_http_proxy_ctx_t;

extern bw_module_t  bw_http_proxy_module;

bw_int_t bw_http_proxy_setup_upstream(bw_http_request_t *r,
    bw_http_proxy_loc_conf_t *plcf);
/* bw_http_proxy_rewrite.c */
char *bw_http_proxy_rewrite_rule(bw_conf_t *cf, bw_array_t **rules,
    bw_str_t *from, bw_str_t *to, bw_uint_t type);
/* the first matching rule applied to value[off..]: BW_OK, BW_DECLINED */
bw_int_t bw_http_proxy_rewrite_value(bw_http_request_t *r,
    bw_array_t *rules, bw_str_t *value, size_t off);
bw_int_t bw_http_proxy_rewrite_redirect(bw_http_request_t *r,
    bw_table_elt_t *h, size_t prefix);
/* bw_http_proxy_ssl.c */
void bw_http_proxy_ssl_create_conf(bw_http_proxy_loc_conf_t *conf);
char *bw_http_proxy_ssl_certificate(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
char *bw_http_proxy_ssl_name(bw_conf_t *cf, bw_command_t *cmd, void *conf);
bw_int_t bw_http_proxy_merge_ssl(bw_conf_t *cf,
    bw_http_proxy_loc_conf_t *conf, bw_http_proxy_loc_conf_t *prev);
/* bw_http_proxy_cookie.c */
char *bw_http_proxy_cookie_flags(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
bw_int_t bw_http_proxy_rewrite_cookie(bw_http_request_t *r,
    bw_table_elt_t *h);

#endif
