/*
 * The http_ssl module's per-server configuration and the few functions
 * the HTTP core calls on a TLS listener: start the handshake, let SNI
 * and Host agree on the server, check the client before the phases.
 */

#ifndef BW_HTTP_SSL_MODULE_H
#define BW_HTTP_SSL_MODULE_H

#include <bw_http.h>

#define BW_HTTP_SSL_VERIFY_OFF          0
#define BW_HTTP_SSL_VERIFY_ON           1
#define BW_HTTP_SSL_VERIFY_OPTIONAL     2
#define BW_HTTP_SSL_VERIFY_OPTIONAL_NO_CA 3

#define BW_HTTP_SSL_NO_SCACHE       -2
#define BW_HTTP_SSL_NONE_SCACHE     -3
#define BW_HTTP_SSL_NO_BUILTIN_SCACHE -4
#define BW_HTTP_SSL_DFLT_SCACHE     -5

typedef struct {
    bw_ssl_t         ssl;

    bw_flag_t        prefer_server_ciphers;
    bw_flag_t        reject_handshake;
    bw_flag_t        session_tickets;
    bw_flag_t        stapling;

    bw_uint_t        protocols;
    bw_uint_t        verify;
    bw_uint_t        verify_depth;

    size_t           buffer_size;
    ssize_t          builtin_session_cache;
    time_t           session_timeout;
    bw_msec_t        handshake_timeout;

    bw_array_t      *certificates;       /* bw_str_t */
    bw_array_t      *certificate_keys;   /* bw_str_t */
    bw_array_t      *passwords;          /* bw_str_t, from the file */
    bw_array_t      *conf_commands;      /* bw_str_t pairs */
    bw_array_t      *ticket_keys;        /* bw_str_t, file names */
    bw_shm_zone_t   *shm_zone;           /* shared session cache */

    bw_str_t         dhparam;
    bw_str_t         ecdh_curve;
    bw_str_t         client_certificate;
    bw_str_t         trusted_certificate;
    bw_str_t         crl;
    bw_str_t         ciphers;
    bw_str_t         stapling_file;

    /* where the certificates were named, for errors found at merge */
    bw_ssl_where_t   where;
    bw_str_t         conf_prefix;        /* for names made per handshake */
} bw_http_ssl_srv_conf_t;

extern bw_module_t  bw_http_ssl_module;

void bw_http_ssl_init_connection(bw_connection_t *c);

/* bw_http_ssl_certificate.c: names with $ssl_server_name */
bw_int_t bw_http_ssl_certificate_template(bw_conf_t *cf, bw_str_t *name,
    const char *directive);
int bw_http_ssl_certificate_callback(SSL *ssl, void *arg);
bw_http_core_srv_conf_t *bw_http_ssl_virtual_server(bw_http_request_t *r,
    bw_str_t *host, bw_http_core_srv_conf_t *cscf);
bw_int_t bw_http_ssl_verify_request(bw_http_request_t *r);
int bw_http_ssl_client_hello(SSL *ssl, int *ad, void *arg);
int bw_http_ssl_servername(SSL *ssl, int *ad, void *arg);
int bw_http_ssl_alpn_select(SSL *ssl, const unsigned char **out,
    unsigned char *outlen, const unsigned char *in, unsigned int inlen,
    void *arg);
int bw_http_ssl_verify_callback(int ok, X509_STORE_CTX *x509_store);
bw_int_t bw_http_ssl_add_variables(bw_conf_t *cf);

#endif
