/*
 * Filling a TLS context from configuration: certificates with their
 * chains and keys (files or "data:" values, keys tried with each
 * password of a password file), trusted CAs, CRLs, cipher lists and
 * OpenSSL configuration commands. Shared by the server side (http_ssl)
 * and the client side (TLS to upstreams), whose directives differ only
 * in their names.
 */

#include <bw_core.h>

bw_conf_bitmask_t  bw_ssl_protocol_names[] = {
    { bw_string("SSLv2"), BW_SSL_SSLv2 },
    { bw_string("SSLv3"), BW_SSL_SSLv3 },
    { bw_string("TLSv1"), BW_SSL_TLSv1 },
    { bw_string("TLSv1.1"), BW_SSL_TLSv1_1 },
    { bw_string("TLSv1.2"), BW_SSL_TLSv1_2 },
    { bw_string("TLSv1.3"), BW_SSL_TLSv1_3 },
    { bw_null_string, 0 }
};

static int bw_ssl_password_callback(char *buf, int size, int rwflag,
    void *data);

void
bw_ssl_conf_where(bw_conf_t *cf, u_char **file, bw_uint_t *line)
{
    *file = cf->conf_file ? cf->conf_file->name.data
                          : (u_char *) "command line";
    *line = cf->conf_file ? cf->conf_file->line : 0;
}

/*
 * A "data:" value is the PEM text itself; anything else a file name,
 * relative to the configuration's folder. *what is the name for errors
 * (never the data: it may be a key). NULL without a log line when the
 * file cannot be opened: the caller names the directive.
 */
BIO *
bw_ssl_bio(bw_conf_t *cf, bw_str_t *name, char **what)
{
    BIO       *bio;
    bw_str_t   full;

    if (name->len > 5 && memcmp(name->data, "data:", 5) == 0) {
        *what = "data:...";
        bio = BIO_new_mem_buf(name->data + 5, (int) (name->len - 5));
        if (bio == NULL) {
            bw_ssl_error(BW_LOG_EMERG, cf->log, 0,
                         "BIO_new_mem_buf() failed");
        }
        return bio;
    }

    full = *name;
    if (bw_conf_full_name(cf->cycle, &full, 1) != BW_OK) {
        return NULL;
    }
    *what = (char *) full.data;

    return BIO_new_file((char *) full.data, "r");
}

static int
bw_ssl_password_callback(char *buf, int size, int rwflag, void *data)
{
    bw_str_t  *pwd = data;

    if (rwflag || pwd == NULL) {
        return 0;
    }

    if (pwd->len > (size_t) size) {
        return 0;
    }

    memcpy(buf, pwd->data, pwd->len);
    return (int) pwd->len;
}

/* The certificates after the first of a PEM file (its chain; maybe
 * none), or NULL when one of them does not parse. */
STACK_OF(X509) *
bw_ssl_read_chain(BIO *bio)
{
    X509            *x509;
    STACK_OF(X509)  *chain;

    chain = sk_X509_new_null();
    if (chain == NULL) {
        return NULL;
    }

    for ( ;; ) {
        x509 = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        if (x509 == NULL) {
            if (ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_NO_START_LINE)
            {
                ERR_clear_error();
                return chain;
            }
            sk_X509_pop_free(chain, X509_free);
            return NULL;
        }
        if (sk_X509_push(chain, x509) == 0) {
            X509_free(x509);
            sk_X509_pop_free(chain, X509_free);
            return NULL;
        }
    }
}

/* A private key, tried with each password of a password file in turn,
 * as nginx. */
EVP_PKEY *
bw_ssl_read_key(BIO *bio, bw_array_t *passwords)
{
    EVP_PKEY   *pkey;
    bw_str_t   *pwd;
    bw_uint_t   tries, i;

    pwd = passwords ? passwords->elts : NULL;
    tries = passwords ? passwords->nelts : 1;
    pkey = NULL;

    for (i = 0; i < tries; i++) {
        (void) BIO_reset(bio);
        ERR_clear_error();
        pkey = PEM_read_bio_PrivateKey(bio, NULL, bw_ssl_password_callback,
                                       pwd ? &pwd[i] : NULL);
        if (pkey) {
            break;
        }
    }

    return pkey;
}

bw_int_t
bw_ssl_certificate(bw_conf_t *cf, bw_ssl_t *ssl, bw_str_t *cert,
    bw_str_t *key, bw_array_t *passwords, bw_ssl_where_t *at)
{
    BIO             *bio;
    X509            *x509;
    char            *what;
    EVP_PKEY        *pkey;
    STACK_OF(X509)  *chain;

    bio = bw_ssl_bio(cf, cert, &what);
    if (bio == NULL) {
        bw_ssl_error(BW_LOG_EMERG, cf->log, 0,
                     "cannot load certificate \"%.*s\": BIO_new_file() "
                     "failed in %s:%lu", (int) cert->len, cert->data,
                     at->cert_file, (unsigned long) at->cert_line);
        return BW_ERROR;
    }

    x509 = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL);
    if (x509 == NULL) {
        BIO_free(bio);
        bw_ssl_error(BW_LOG_EMERG, cf->log, 0,
                     "cannot load certificate \"%s\": "
                     "PEM_read_bio_X509_AUX() failed in %s:%lu", what,
                     at->cert_file, (unsigned long) at->cert_line);
        return BW_ERROR;
    }

    if (SSL_CTX_use_certificate(ssl->ctx, x509) == 0) {
        X509_free(x509);
        BIO_free(bio);
        bw_ssl_error(BW_LOG_EMERG, cf->log, 0,
                     "SSL_CTX_use_certificate(\"%s\") failed in %s:%lu",
                     what, at->cert_file, (unsigned long) at->cert_line);
        return BW_ERROR;
    }
    X509_free(x509);

    /* the rest of the file is the chain, sent after the certificate */
    chain = bw_ssl_read_chain(bio);
    BIO_free(bio);
    if (chain == NULL || SSL_CTX_set0_chain(ssl->ctx, chain) == 0) {
        sk_X509_pop_free(chain, X509_free);
        bw_ssl_error(BW_LOG_EMERG, cf->log, 0,
                     "cannot load certificate \"%s\": "
                     "PEM_read_bio_X509() failed in %s:%lu", what,
                     at->cert_file, (unsigned long) at->cert_line);
        return BW_ERROR;
    }

    bio = bw_ssl_bio(cf, key, &what);
    if (bio == NULL) {
        bw_ssl_error(BW_LOG_EMERG, cf->log, 0,
                     "cannot load certificate key \"%.*s\": BIO_new_file() "
                     "failed in %s:%lu", (int) key->len, key->data,
                     at->key_file, (unsigned long) at->key_line);
        return BW_ERROR;
    }

    pkey = bw_ssl_read_key(bio, passwords);
    BIO_free(bio);

    if (pkey == NULL) {
        bw_ssl_error(BW_LOG_EMERG, cf->log, 0,
                     "cannot load certificate key \"%s\": "
                     "PEM_read_bio_PrivateKey() failed in %s:%lu", what,
                     at->key_file, (unsigned long) at->key_line);
        return BW_ERROR;
    }

    if (SSL_CTX_use_PrivateKey(ssl->ctx, pkey) == 0) {
        EVP_PKEY_free(pkey);
        bw_ssl_error(BW_LOG_EMERG, cf->log, 0,
                     "SSL_CTX_use_PrivateKey(\"%s\") failed in %s:%lu",
                     what, at->key_file, (unsigned long) at->key_line);
        return BW_ERROR;
    }
    EVP_PKEY_free(pkey);

    return BW_OK;
}

bw_int_t
bw_ssl_ciphers(bw_conf_t *cf, bw_ssl_t *ssl, bw_str_t *ciphers)
{
    if (SSL_CTX_set_cipher_list(ssl->ctx, (char *) ciphers->data) == 0) {
        bw_ssl_error(BW_LOG_EMERG, cf->log, 0,
                     "SSL_CTX_set_cipher_list(\"%s\") failed",
                     ciphers->data);
        return BW_ERROR;
    }
    return BW_OK;
}

/* CAs to verify peers with; their names are not sent to anyone */
bw_int_t
bw_ssl_trusted_certificate(bw_conf_t *cf, bw_ssl_t *ssl, bw_str_t *file)
{
    if (bw_conf_full_name(cf->cycle, file, 1) != BW_OK) {
        return BW_ERROR;
    }

    if (SSL_CTX_load_verify_locations(ssl->ctx, (char *) file->data, NULL)
        == 0)
    {
        bw_ssl_error(BW_LOG_EMERG, cf->log, 0,
                     "SSL_CTX_load_verify_locations(\"%s\") failed",
                     file->data);
        return BW_ERROR;
    }

    ERR_clear_error();
    return BW_OK;
}

bw_int_t
bw_ssl_crl(bw_conf_t *cf, bw_ssl_t *ssl, bw_str_t *file)
{
    X509_STORE   *store;
    X509_LOOKUP  *lookup;

    store = SSL_CTX_get_cert_store(ssl->ctx);
    lookup = store ? X509_STORE_add_lookup(store, X509_LOOKUP_file()) : NULL;

    if (lookup == NULL
        || bw_conf_full_name(cf->cycle, file, 1) != BW_OK
        || X509_load_crl_file(lookup, (char *) file->data,
                              X509_FILETYPE_PEM) == 0)
    {
        bw_ssl_error(BW_LOG_EMERG, cf->log, 0,
                     "X509_LOOKUP_load_file(\"%s\") failed", file->data);
        return BW_ERROR;
    }

    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK
                                | X509_V_FLAG_CRL_CHECK_ALL);
    return BW_OK;
}

bw_int_t
bw_ssl_conf_commands(bw_conf_t *cf, bw_ssl_t *ssl, bw_array_t *commands,
    bw_uint_t server)
{
    bw_str_t      *cmd;
    bw_uint_t      i;
    SSL_CONF_CTX  *cctx;

    if (commands == NULL) {
        return BW_OK;
    }

    cctx = SSL_CONF_CTX_new();
    if (cctx == NULL) {
        bw_ssl_error(BW_LOG_EMERG, cf->log, 0, "SSL_CONF_CTX_new() failed");
        return BW_ERROR;
    }

    SSL_CONF_CTX_set_flags(cctx, SSL_CONF_FLAG_FILE
                                 | (server ? SSL_CONF_FLAG_SERVER
                                           : SSL_CONF_FLAG_CLIENT)
                                 | SSL_CONF_FLAG_CERTIFICATE
                                 | SSL_CONF_FLAG_SHOW_ERRORS);
    SSL_CONF_CTX_set_ssl_ctx(cctx, ssl->ctx);

    cmd = commands->elts;
    for (i = 0; i < commands->nelts; i += 2) {
        if (SSL_CONF_cmd(cctx, (char *) cmd[i].data, (char *) cmd[i + 1].data)
            <= 0)
        {
            bw_ssl_error(BW_LOG_EMERG, cf->log, 0,
                         "SSL_CONF_cmd(\"%s\", \"%s\") failed",
                         cmd[i].data, cmd[i + 1].data);
            SSL_CONF_CTX_free(cctx);
            return BW_ERROR;
        }
    }

    if (SSL_CONF_CTX_finish(cctx) != 1) {
        bw_ssl_error(BW_LOG_EMERG, cf->log, 0, "SSL_CONF_finish() failed");
        SSL_CONF_CTX_free(cctx);
        return BW_ERROR;
    }

    SSL_CONF_CTX_free(cctx);
    return BW_OK;
}

/* "*_password_file FILE": one password a line (CR LF or LF), read now */
char *
bw_ssl_password_file_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    u_char       *p, *last, *end;
    bw_err_t      err;
    bw_str_t     *value, name, text, *pwd;
    bw_array_t  **passwords;

    passwords = (bw_array_t **) ((u_char *) conf + cmd->offset);

    if (*passwords != BW_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;
    name = value[1];
    if (bw_conf_full_name(cf->cycle, &name, 1) != BW_OK) {
        return BW_CONF_ERROR;
    }

    if (bw_read_whole_file(cf->temp_pool, (char *) name.data, &text, &err)
        != BW_OK)
    {
        bw_conf_log_error(BW_LOG_EMERG, cf, err, "open() \"%s\" failed",
                          name.data);
        return BW_CONF_ERROR;
    }

    *passwords = bw_array_create(cf->pool, 4, sizeof(bw_str_t));
    if (*passwords == NULL) {
        return BW_CONF_ERROR;
    }

    p = text.data;
    last = text.data + text.len;
    while (p < last) {
        end = memchr(p, '\n', last - p);
        if (end == NULL) {
            end = last;
        }
        pwd = bw_array_push(*passwords);
        if (pwd == NULL) {
            return BW_CONF_ERROR;
        }
        pwd->len = end - p;
        if (pwd->len && p[pwd->len - 1] == '\r') {
            pwd->len--;
        }
        pwd->data = bw_pnalloc(cf->pool, pwd->len + 1);
        if (pwd->data == NULL) {
            return BW_CONF_ERROR;
        }
        memcpy(pwd->data, p, pwd->len);
        pwd->data[pwd->len] = '\0';
        p = end + 1;
    }

    if ((*passwords)->nelts == 0) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "no password in \"%s\"",
                          name.data);
        return BW_CONF_ERROR;
    }

    return BW_CONF_OK;
}

/* "*_conf_command NAME VALUE": pairs, applied when the context is made */
char *
bw_ssl_conf_command_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_str_t     *value, *kv;
    bw_array_t  **commands;

    commands = (bw_array_t **) ((u_char *) conf + cmd->offset);

    if (*commands == BW_CONF_UNSET_PTR || *commands == NULL) {
        *commands = bw_array_create(cf->pool, 4, sizeof(bw_str_t));
        if (*commands == NULL) {
            return BW_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    kv = bw_array_push_n(*commands, 2);
    if (kv == NULL) {
        return BW_CONF_ERROR;
    }
    kv[0] = value[1];
    kv[1] = value[2];

    return BW_CONF_OK;
}
