/* auth_basic: the user file cache and password checks. */

#ifndef BW_HTTP_AUTH_BASIC_H
#define BW_HTTP_AUTH_BASIC_H

#include <bw_http.h>

/*
 * The stored hash of user in the htpasswd file at path: BW_OK (hash
 * set, valid until the next call), BW_DECLINED (no such user), BW_ERROR
 * (the file cannot be read; logged). The file is read again only when
 * its modification time or size changed, checked at most once a second.
 */
bw_int_t bw_http_auth_basic_lookup(bw_str_t *path, bw_str_t *user,
    bw_str_t *hash, bw_log_t *log);

/* Does passwd match the stored hash? */
bw_uint_t bw_http_auth_basic_check(bw_str_t *user, bw_str_t *passwd,
    bw_str_t *hash);

#endif
