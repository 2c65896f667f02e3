/*
 * The admin API ("api [write=on]" in a location): JSON over HTTP in the
 * shape of nginx Plus's REST API (version 9), so that the scripts and
 * clients written for it work. What it changes lives in the upstreams'
 * shared zones, so every worker sees a change at once.
 */

#ifndef BW_HTTP_API_H
#define BW_HTTP_API_H

#include <bw_http.h>
#include <bw_http_upstream_round_robin.h>

#define BW_HTTP_API_VERSION     9
#define BW_HTTP_API_MAX_FIELDS  32
#define BW_HTTP_API_MAX_SEGS    8

/* A response body being written: one buffer that doubles as it fills. */
typedef struct {
    bw_pool_t          *pool;
    u_char             *start;
    u_char             *pos;
    u_char             *end;
    bw_uint_t           error;
} bw_http_api_out_t;

#define BW_JSON_STRING  1
#define BW_JSON_NUMBER  2
#define BW_JSON_TRUE    3
#define BW_JSON_FALSE   4
#define BW_JSON_NULL    5
#define BW_JSON_NESTED  6          /* an object or a list: refused */

typedef struct {
    bw_str_t            key;
    bw_uint_t           type;
    bw_str_t            value;     /* a string unescaped, a number's text */
} bw_http_api_field_t;

/* A request's body: one flat JSON object. */
typedef struct {
    bw_http_api_field_t field[BW_HTTP_API_MAX_FIELDS];
    bw_uint_t           nfields;
} bw_http_api_object_t;

/* An answer: a status and a body, or an error with nginx Plus's code. */
typedef struct {
    bw_http_request_t  *r;
    bw_http_api_out_t   out;
    bw_uint_t           status;
    const char         *code;      /* set: an error */
    u_char              text[256];
    bw_str_t            seg[BW_HTTP_API_MAX_SEGS];
    bw_uint_t           nsegs;
    bw_uint_t           write;     /* "write=on" */
    bw_str_t            body;      /* the request's, read whole */
} bw_http_api_ctx_t;

/* bw_http_api_json.c */
void bw_http_api_init_out(bw_http_api_out_t *o, bw_pool_t *pool);
void bw_http_api_printf(bw_http_api_out_t *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A JSON string, quoted and escaped. */
void bw_http_api_string(bw_http_api_out_t *o, bw_str_t *s);
/* Parse one flat object; NULL and err set when the text is not one. */
bw_int_t bw_http_api_parse_object(bw_pool_t *pool, bw_str_t *text,
    bw_http_api_object_t *obj, const char **err);

/* bw_http_api_module.c */
bw_int_t bw_http_api_error(bw_http_api_ctx_t *ctx, bw_uint_t status,
    const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* bw_http_api_upstreams.c: /http/upstreams and below */
bw_int_t bw_http_api_upstreams(bw_http_api_ctx_t *ctx);

#endif
