/*
 * Certificates named by variables (ssl_certificate $ssl_server_name.crt)
 * are loaded during the handshake, from files the configuration could
 * not know. Each process keeps what it loaded, by file names, for a
 * minute: a busy name is not read from disk at every handshake, and a
 * renewed certificate is picked up without a reload.
 */

#include <bw_core.h>

#include <openssl/pem.h>

#define BW_SSL_CERT_CACHE_SIZE   64
#define BW_SSL_CERT_CACHE_VALID  60
#define BW_SSL_CERT_NAME_LEN     512

typedef struct {
    u_char            cert_name[BW_SSL_CERT_NAME_LEN];
    u_char            key_name[BW_SSL_CERT_NAME_LEN];
    X509             *cert;
    STACK_OF(X509)   *chain;
    EVP_PKEY         *pkey;
    time_t            loaded;
} bw_ssl_cert_entry_t;

static bw_ssl_cert_entry_t  bw_ssl_cert_cache[BW_SSL_CERT_CACHE_SIZE];
static bw_uint_t            bw_ssl_cert_cache_next;

static void bw_ssl_cert_entry_free(bw_ssl_cert_entry_t *e);
static bw_int_t bw_ssl_cert_load(bw_log_t *log, bw_ssl_cert_entry_t *e,
    bw_array_t *passwords);

static void
bw_ssl_cert_entry_free(bw_ssl_cert_entry_t *e)
{
    X509_free(e->cert);
    sk_X509_pop_free(e->chain, X509_free);
    EVP_PKEY_free(e->pkey);
    e->cert = NULL;
    e->chain = NULL;
    e->pkey = NULL;
    e->cert_name[0] = '\0';
    e->key_name[0] = '\0';
}

static bw_int_t
bw_ssl_cert_load(bw_log_t *log, bw_ssl_cert_entry_t *e,
    bw_array_t *passwords)
{
    BIO  *bio;

    bio = BIO_new_file((char *) e->cert_name, "r");
    if (bio == NULL) {
        /* no files for a name a client sent: a scanner's, most often */
        bw_ssl_error(errno == ENOENT ? BW_LOG_INFO : BW_LOG_ERR, log, 0,
                     "cannot load certificate \"%s\": BIO_new_file() "
                     "failed", e->cert_name);
        return BW_ERROR;
    }

    e->cert = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL);
    if (e->cert == NULL) {
        BIO_free(bio);
        bw_ssl_error(BW_LOG_ERR, log, 0, "cannot load certificate \"%s\": "
                     "PEM_read_bio_X509_AUX() failed", e->cert_name);
        return BW_ERROR;
    }

    e->chain = bw_ssl_read_chain(bio);
    BIO_free(bio);
    if (e->chain == NULL) {
        bw_ssl_error(BW_LOG_ERR, log, 0, "cannot load certificate "
                     "\"%s\": PEM_read_bio_X509() failed", e->cert_name);
        return BW_ERROR;
    }

    bio = BIO_new_file((char *) e->key_name, "r");
    if (bio == NULL) {
        bw_ssl_error(BW_LOG_ERR, log, 0, "cannot load certificate key "
                     "\"%s\": BIO_new_file() failed", e->key_name);
        return BW_ERROR;
    }

    e->pkey = bw_ssl_read_key(bio, passwords);
    BIO_free(bio);

    if (e->pkey == NULL) {
        bw_ssl_error(BW_LOG_ERR, log, 0, "cannot load certificate key "
                     "\"%s\": PEM_read_bio_PrivateKey() failed", e->key_name);
        return BW_ERROR;
    }

    return BW_OK;
}

/*
 * Put the certificate (with its chain) and key of the files named on
 * the connection's SSL: from the cache while fresh, else read now.
 * cert and key are full, NUL-terminated file names.
 */
bw_int_t
bw_ssl_use_certificate_files(bw_connection_t *c, SSL *ssl, bw_str_t *cert,
    bw_str_t *key, bw_array_t *passwords)
{
    bw_uint_t             i;
    bw_ssl_cert_entry_t  *e;

    if (cert->len >= BW_SSL_CERT_NAME_LEN || key->len >= BW_SSL_CERT_NAME_LEN)
    {
        bw_log_error(BW_LOG_ERR, c->log, 0, "certificate name too long: "
                     "\"%.*s\"", (int) cert->len, cert->data);
        return BW_ERROR;
    }

    e = NULL;
    for (i = 0; i < BW_SSL_CERT_CACHE_SIZE; i++) {
        if (bw_ssl_cert_cache[i].cert
            && strcmp((char *) bw_ssl_cert_cache[i].cert_name,
                      (char *) cert->data) == 0
            && strcmp((char *) bw_ssl_cert_cache[i].key_name,
                      (char *) key->data) == 0)
        {
            e = &bw_ssl_cert_cache[i];
            break;
        }
    }

    if (e && bw_time_sec - e->loaded >= BW_SSL_CERT_CACHE_VALID) {
        bw_ssl_cert_entry_free(e);       /* read again: it may be new */
        e = NULL;
    }

    if (e == NULL) {
        e = &bw_ssl_cert_cache[bw_ssl_cert_cache_next];
        bw_ssl_cert_cache_next = (bw_ssl_cert_cache_next + 1)
                                 % BW_SSL_CERT_CACHE_SIZE;
        bw_ssl_cert_entry_free(e);

        memcpy(e->cert_name, cert->data, cert->len + 1);
        memcpy(e->key_name, key->data, key->len + 1);

        if (bw_ssl_cert_load(c->log, e, passwords) != BW_OK) {
            bw_ssl_cert_entry_free(e);
            return BW_ERROR;
        }
        e->loaded = bw_time_sec;
    }

    if (SSL_use_certificate(ssl, e->cert) != 1
        || SSL_set1_chain(ssl, e->chain) != 1
        || SSL_use_PrivateKey(ssl, e->pkey) != 1)
    {
        bw_ssl_error(BW_LOG_ERR, c->log, 0,
                     "SSL_use_certificate(\"%s\") failed", e->cert_name);
        return BW_ERROR;
    }

    return BW_OK;
}
