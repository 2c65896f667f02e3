/*
 * What the gzip module decides for others (gzip_static): whether this
 * client gets a compressed answer (gzip_http_version, gzip_proxied,
 * gzip_disable, Accept-Encoding), and the Vary line of gzip_vary.
 */

#ifndef BW_HTTP_GZIP_H
#define BW_HTTP_GZIP_H

#include <bw_http.h>

bw_int_t bw_http_gzip_ok(bw_http_request_t *r);
bw_int_t bw_http_gzip_add_vary(bw_http_request_t *r);

#endif
