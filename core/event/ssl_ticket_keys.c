/*
 * Session ticket keys. With key files (ssl_session_ticket_key), the
 * first seals new tickets and every one opens them, so keys rotate by
 * reload: put the new key first and keep the old ones after it for as
 * long as their tickets should still resume. Without files, keys made
 * by the master: every worker has them (they are forked after), and
 * tickets survive a reload. The master makes a new key at the first
 * reload an hour or more after the last one, the previous one still
 * opening tickets, so that one stolen key does not open the tickets of
 * the server's whole life. A binary upgrade starts with a new key.
 *
 * File format as nginx's: 80 bytes (16 of name, 32 of HMAC key, 32 of
 * AES-256 key) or 48 bytes (16 of name, 16 of AES-128 key, 16 of HMAC
 * key).
 */

#include <bw_core.h>

#include <openssl/core_names.h>
#include <openssl/rand.h>

typedef struct {
    u_char     name[16];
    u_char     hmac_key[32];
    u_char     aes_key[32];
    size_t     size;            /* of the keys: 16 or 32 */
} bw_ssl_ticket_key_t;

static int  bw_ssl_ticket_keys_index = -1;

#define BW_SSL_TICKET_KEY_LIFETIME  3600

/* the master's keys: [0] seals, [1] (the one before) still opens */
static bw_ssl_ticket_key_t  bw_ssl_default_keys[2];
static bw_uint_t            bw_ssl_default_keys_n;
static time_t               bw_ssl_default_key_made;

static int bw_ssl_ticket_key_callback(SSL *ssl, unsigned char *name,
    unsigned char *iv, EVP_CIPHER_CTX *ectx, EVP_MAC_CTX *hctx, int enc);
static bw_int_t bw_ssl_ticket_mac(EVP_MAC_CTX *hctx,
    bw_ssl_ticket_key_t *key);
static void bw_ssl_ticket_keys_cleanup(void *data);

bw_int_t
bw_ssl_session_ticket_keys(bw_conf_t *cf, bw_ssl_t *ssl, bw_array_t *files)
{
    u_char               *buf;
    ssize_t               n;
    bw_err_t              err;
    bw_str_t             *path, full, text;
    bw_uint_t             i;
    bw_array_t           *keys;
    bw_pool_cleanup_t    *cln;
    bw_ssl_ticket_key_t  *key;

    if (bw_ssl_ticket_keys_index == -1) {
        bw_ssl_ticket_keys_index = SSL_CTX_get_ex_new_index(0, NULL, NULL,
                                                            NULL, NULL);
        if (bw_ssl_ticket_keys_index == -1) {
            bw_ssl_error(BW_LOG_EMERG, cf->log, 0,
                         "SSL_CTX_get_ex_new_index() failed");
            return BW_ERROR;
        }
    }

    keys = bw_array_create(cf->pool, files ? files->nelts : 1,
                           sizeof(bw_ssl_ticket_key_t));
    if (keys == NULL) {
        return BW_ERROR;
    }

    if (files == NULL) {
        if (bw_ssl_default_keys_n == 0
            || bw_time_sec - bw_ssl_default_key_made
               >= BW_SSL_TICKET_KEY_LIFETIME)
        {
            bw_ssl_default_keys[1] = bw_ssl_default_keys[0];
            key = &bw_ssl_default_keys[0];
            if (RAND_bytes(key->name, 16) != 1
                || RAND_bytes(key->hmac_key, 32) != 1
                || RAND_bytes(key->aes_key, 32) != 1)
            {
                bw_ssl_error(BW_LOG_EMERG, cf->log, 0,
                             "RAND_bytes() failed");
                return BW_ERROR;
            }
            key->size = 32;
            bw_ssl_default_keys_n = bw_min(bw_ssl_default_keys_n + 1, 2);
            bw_ssl_default_key_made = bw_time_sec;
        }

        for (i = 0; i < bw_ssl_default_keys_n; i++) {
            key = bw_array_push(keys);
            if (key == NULL) {
                return BW_ERROR;
            }
            *key = bw_ssl_default_keys[i];
        }

    } else {
        path = files->elts;
        for (i = 0; i < files->nelts; i++) {
            full = path[i];
            if (bw_conf_full_name(cf->cycle, &full, 1) != BW_OK) {
                return BW_ERROR;
            }

            if (bw_read_whole_file(cf->temp_pool, (char *) full.data, &text,
                                   &err)
                != BW_OK)
            {
                bw_log_error(BW_LOG_EMERG, cf->log, err,
                             "open() \"%s\" failed", full.data);
                return BW_ERROR;
            }

            n = (ssize_t) text.len;
            buf = text.data;

            if (n != 48 && n != 80) {
                bw_log_error(BW_LOG_EMERG, cf->log, 0,
                             "\"%s\" must be 48 or 80 bytes", full.data);
                return BW_ERROR;
            }

            key = bw_array_push(keys);
            if (key == NULL) {
                return BW_ERROR;
            }

            memcpy(key->name, buf, 16);
            if (n == 48) {
                key->size = 16;
                memcpy(key->aes_key, buf + 16, 16);
                memcpy(key->hmac_key, buf + 32, 16);
            } else {
                key->size = 32;
                memcpy(key->hmac_key, buf + 16, 32);
                memcpy(key->aes_key, buf + 48, 32);
            }

            /* the key stays only in the array */
            OPENSSL_cleanse(buf, text.len);
        }
    }

    cln = bw_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return BW_ERROR;
    }
    cln->handler = bw_ssl_ticket_keys_cleanup;
    cln->data = keys;

    if (SSL_CTX_set_ex_data(ssl->ctx, bw_ssl_ticket_keys_index, keys) == 0)
    {
        bw_ssl_error(BW_LOG_EMERG, cf->log, 0,
                     "SSL_CTX_set_ex_data() failed");
        return BW_ERROR;
    }

    if (SSL_CTX_set_tlsext_ticket_key_evp_cb(ssl->ctx,
                                             bw_ssl_ticket_key_callback)
        == 0)
    {
        bw_ssl_error(BW_LOG_EMERG, cf->log, 0,
                     "SSL_CTX_set_tlsext_ticket_key_evp_cb() failed");
        return BW_ERROR;
    }

    return BW_OK;
}

/* the configuration's copies of the keys go with it */
static void
bw_ssl_ticket_keys_cleanup(void *data)
{
    bw_array_t  *keys = data;

    OPENSSL_cleanse(keys->elts, keys->nelts * keys->size);
}

static bw_int_t
bw_ssl_ticket_mac(EVP_MAC_CTX *hctx, bw_ssl_ticket_key_t *key)
{
    OSSL_PARAM  params[3];

    params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
                                                  key->hmac_key, key->size);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 (char *) "SHA256", 0);
    params[2] = OSSL_PARAM_construct_end();

    return EVP_MAC_CTX_set_params(hctx, params) == 1 ? BW_OK : BW_ERROR;
}

/*
 * enc: seal with the first key (1: done). Else open: the key by the
 * ticket's name (0: unknown, a full handshake; 2: open, and a new
 * ticket is sent). A new ticket after every resumption, as OpenSSL's
 * own keys do: TLS 1.3 clients use a ticket once (RFC 8446, C.4), so
 * without one the next connection would be a full handshake.
 */
static int
bw_ssl_ticket_key_callback(SSL *ssl, unsigned char *name, unsigned char *iv,
    EVP_CIPHER_CTX *ectx, EVP_MAC_CTX *hctx, int enc)
{
    bw_uint_t             i;
    bw_array_t           *keys;
    const EVP_CIPHER     *cipher;
    bw_ssl_ticket_key_t  *key;

    keys = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl),
                               bw_ssl_ticket_keys_index);
    if (keys == NULL || keys->nelts == 0) {
        return -1;
    }
    key = keys->elts;

    if (enc == 1) {
        cipher = key[0].size == 16 ? EVP_aes_128_cbc() : EVP_aes_256_cbc();

        if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(cipher)) != 1
            || EVP_EncryptInit_ex(ectx, cipher, NULL, key[0].aes_key, iv)
               != 1
            || bw_ssl_ticket_mac(hctx, &key[0]) != BW_OK)
        {
            return -1;
        }

        memcpy(name, key[0].name, 16);
        return 1;
    }

    for (i = 0; i < keys->nelts; i++) {
        if (memcmp(name, key[i].name, 16) == 0) {
            break;
        }
    }

    if (i == keys->nelts) {
        return 0;
    }

    cipher = key[i].size == 16 ? EVP_aes_128_cbc() : EVP_aes_256_cbc();

    if (bw_ssl_ticket_mac(hctx, &key[i]) != BW_OK
        || EVP_DecryptInit_ex(ectx, cipher, NULL, key[i].aes_key, iv) != 1)
    {
        return -1;
    }

    return 2;
}
