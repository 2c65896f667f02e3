/*
 * OCSP stapling from a file (ssl_stapling_file): a DER OCSP response,
 * read when the configuration is loaded, is sent to every client that
 * asks for the certificate's status, with each certificate of the
 * context (as nginx: one file for the server's certificates; a client
 * ignores a response for another certificate). The file is the
 * operator's to keep fresh; a reload reads it again.
 */

#include <bw_core.h>

#include <openssl/ocsp.h>

typedef struct {
    u_char     *data;
    size_t      len;
} bw_ssl_staple_t;

static int  bw_ssl_stapling_index = -1;

static int bw_ssl_certificate_status_callback(SSL *ssl, void *data);

bw_int_t
bw_ssl_stapling_file(bw_conf_t *cf, bw_ssl_t *ssl, bw_str_t *file)
{
    bw_err_t          err;
    bw_str_t          full, text;
    OCSP_RESPONSE    *resp;
    bw_ssl_staple_t  *staple;
    const u_char     *p;

    if (bw_ssl_stapling_index == -1) {
        bw_ssl_stapling_index = SSL_CTX_get_ex_new_index(0, NULL, NULL,
                                                         NULL, NULL);
        if (bw_ssl_stapling_index == -1) {
            bw_ssl_error(BW_LOG_EMERG, cf->log, 0,
                         "SSL_CTX_get_ex_new_index() failed");
            return BW_ERROR;
        }
    }

    full = *file;
    if (bw_conf_full_name(cf->cycle, &full, 1) != BW_OK) {
        return BW_ERROR;
    }

    if (bw_read_whole_file(cf->pool, (char *) full.data, &text, &err)
        != BW_OK)
    {
        bw_log_error(BW_LOG_EMERG, cf->log, err, "open() \"%s\" failed",
                     full.data);
        return BW_ERROR;
    }

    /* a response that does not parse would be sent to every client */
    p = text.data;
    resp = d2i_OCSP_RESPONSE(NULL, &p, (long) text.len);
    if (resp == NULL) {
        bw_ssl_error(BW_LOG_EMERG, cf->log, 0,
                     "d2i_OCSP_RESPONSE(\"%s\") failed", full.data);
        return BW_ERROR;
    }
    OCSP_RESPONSE_free(resp);

    staple = bw_palloc(cf->pool, sizeof(bw_ssl_staple_t));
    if (staple == NULL) {
        return BW_ERROR;
    }
    staple->data = text.data;
    staple->len = text.len;

    if (SSL_CTX_set_ex_data(ssl->ctx, bw_ssl_stapling_index, staple) == 0) {
        bw_ssl_error(BW_LOG_EMERG, cf->log, 0,
                     "SSL_CTX_set_ex_data() failed");
        return BW_ERROR;
    }

    SSL_CTX_set_tlsext_status_cb(ssl->ctx,
                                 bw_ssl_certificate_status_callback);
    SSL_CTX_set_tlsext_status_arg(ssl->ctx, NULL);

    return BW_OK;
}

static int
bw_ssl_certificate_status_callback(SSL *ssl, void *data)
{
    u_char           *p;
    bw_ssl_staple_t  *staple;

    /* the context SNI chose, whose certificates are the ones sent */
    staple = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl),
                                 bw_ssl_stapling_index);
    if (staple == NULL || staple->len == 0) {
        return SSL_TLSEXT_ERR_NOACK;
    }

    /* OpenSSL frees what it sends */
    p = OPENSSL_malloc(staple->len);
    if (p == NULL) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    memcpy(p, staple->data, staple->len);

    if (SSL_set_tlsext_status_ocsp_resp(ssl, p, (long) staple->len) != 1) {
        OPENSSL_free(p);
        return SSL_TLSEXT_ERR_NOACK;
    }

    return SSL_TLSEXT_ERR_OK;
}
