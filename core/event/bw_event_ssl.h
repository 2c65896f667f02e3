/*
 * TLS as a layer of the connection: contexts, the non-blocking
 * handshake, and the recv/send functions a connection gets once the
 * handshake is done. Nothing here knows HTTP: the HTTP server, later
 * upstream connections and HTTP/2 read and write through the same
 * functions.
 */

#ifndef BW_EVENT_SSL_H
#define BW_EVENT_SSL_H

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#define BW_SSL_SSLv2    0x0002
#define BW_SSL_SSLv3    0x0004
#define BW_SSL_TLSv1    0x0008
#define BW_SSL_TLSv1_1  0x0010
#define BW_SSL_TLSv1_2  0x0020
#define BW_SSL_TLSv1_3  0x0040

#define BW_SSL_BUFFER_SIZE  16384

typedef struct {
    SSL_CTX                  *ctx;
    bw_log_t                 *log;
    size_t                    buffer_size;
} bw_ssl_t;

struct bw_ssl_connection_s {
    SSL                      *connection;
    SSL_CTX                  *session_ctx; /* the first one: its session
                                              cache serves, whatever SNI
                                              chooses afterwards */
    bw_int_t                  last;        /* the last SSL_get_error() */
    bw_buf_t                 *buf;         /* plaintext gathered for a
                                              record, while a send waits */
    size_t                    buffer_size;
    size_t                    pending;     /* a write that waits */
    void                     *data;        /* the owner's, for OpenSSL's
                                              callbacks */

    /* called when the handshake ends, done or failed (handshaked) */
    bw_connection_handler_pt  handler;

    /* a read that needs the socket writable, or the reverse */
    bw_event_handler_pt       saved_read_handler;
    bw_event_handler_pt       saved_write_handler;

    unsigned                  handshaked:1;
    unsigned                  client:1;    /* to an upstream: its
                                              failures are ours to see */
    unsigned                  handshake_rejected:1;
    unsigned                  no_wait_shutdown:1;
    unsigned                  no_send_shutdown:1;
    unsigned                  verify_counted:1;    /* in the metrics, once
                                                    for the connection */
};

extern int  bw_ssl_connection_index;
extern int  bw_ssl_server_conf_index;
extern int  bw_ssl_session_cache_index;

bw_int_t bw_ssl_init(bw_log_t *log);
bw_int_t bw_ssl_create(bw_ssl_t *ssl, bw_uint_t protocols, void *data);
void bw_ssl_cleanup_ctx(void *data);
bw_int_t bw_ssl_create_connection(bw_ssl_t *ssl, bw_connection_t *c,
    bw_uint_t server);
bw_int_t bw_ssl_handshake(bw_connection_t *c);
void bw_ssl_shutdown(bw_connection_t *c);
void bw_ssl_error(bw_uint_t level, bw_log_t *log, bw_err_t err,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

ssize_t bw_ssl_recv(bw_connection_t *c, u_char *buf, size_t size);
ssize_t bw_ssl_write(bw_connection_t *c, u_char *data, size_t size);
ssize_t bw_ssl_recv_chain(bw_connection_t *c, bw_chain_t *cl, off_t limit);
bw_chain_t *bw_ssl_send_chain(bw_connection_t *c, bw_chain_t *in,
    off_t limit);

/* where a certificate and its key were named, for errors found later */
typedef struct {
    u_char                   *cert_file;
    bw_uint_t                 cert_line;
    u_char                   *key_file;
    bw_uint_t                 key_line;
} bw_ssl_where_t;

/* filling a context from configuration (ssl_conf.c) */
extern bw_conf_bitmask_t  bw_ssl_protocol_names[];

void bw_ssl_conf_where(bw_conf_t *cf, u_char **file, bw_uint_t *line);
BIO *bw_ssl_bio(bw_conf_t *cf, bw_str_t *name, char **what);
STACK_OF(X509) *bw_ssl_read_chain(BIO *bio);
EVP_PKEY *bw_ssl_read_key(BIO *bio, bw_array_t *passwords);
bw_int_t bw_ssl_certificate(bw_conf_t *cf, bw_ssl_t *ssl, bw_str_t *cert,
    bw_str_t *key, bw_array_t *passwords, bw_ssl_where_t *at);
bw_int_t bw_ssl_ciphers(bw_conf_t *cf, bw_ssl_t *ssl, bw_str_t *ciphers);
bw_int_t bw_ssl_trusted_certificate(bw_conf_t *cf, bw_ssl_t *ssl,
    bw_str_t *file);
bw_int_t bw_ssl_crl(bw_conf_t *cf, bw_ssl_t *ssl, bw_str_t *file);
bw_int_t bw_ssl_conf_commands(bw_conf_t *cf, bw_ssl_t *ssl,
    bw_array_t *commands, bw_uint_t server);
char *bw_ssl_password_file_slot(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
char *bw_ssl_conf_command_slot(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);

/* session ticket keys, from files or this master's own (ssl_ticket_keys.c) */
bw_int_t bw_ssl_session_ticket_keys(bw_conf_t *cf, bw_ssl_t *ssl,
    bw_array_t *files);

/* certificates loaded during handshakes, cached (ssl_cert_cache.c) */
bw_int_t bw_ssl_use_certificate_files(bw_connection_t *c, SSL *ssl,
    bw_str_t *cert, bw_str_t *key, bw_array_t *passwords);

/* OCSP stapling of a response from a file (ssl_stapling.c) */
bw_int_t bw_ssl_stapling_file(bw_conf_t *cf, bw_ssl_t *ssl, bw_str_t *file);

/* the session cache in a shared zone (ssl_session_cache.c) */
bw_int_t bw_ssl_session_cache_init(bw_shm_zone_t *zone, void *data);
bw_int_t bw_ssl_session_cache(bw_ssl_t *ssl, bw_shm_zone_t *zone,
    bw_uint_t builtin);

#endif
