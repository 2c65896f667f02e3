/* Between upstream.c and upstream_body.c: the body and tunnel halves. */

#ifndef BW_HTTP_UPSTREAM_BODY_H
#define BW_HTTP_UPSTREAM_BODY_H

#include <bw_http.h>

void bw_http_upstream_start_body(bw_http_request_t *r, bw_http_upstream_t *u);
void bw_http_upstream_upgrade(bw_http_request_t *r, bw_http_upstream_t *u);

#endif
