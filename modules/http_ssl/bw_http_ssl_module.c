/*
 * The ssl_* directives and one SSL_CTX per server that has certificates,
 * made when the configuration is loaded (in the master, so that the
 * workers share its ticket keys). Everything a certificate or key file
 * can get wrong is found here, at -t or at reload, never in a worker: a
 * bad file keeps the running configuration.
 */

#include <bw_http_ssl_module.h>

#include <openssl/pem.h>

static void *bw_http_ssl_create_srv_conf(bw_conf_t *cf);
static char *bw_http_ssl_merge_srv_conf(bw_conf_t *cf, void *parent,
    void *child);
static bw_int_t bw_http_ssl_preconfiguration(bw_conf_t *cf);
static bw_int_t bw_http_ssl_init(bw_conf_t *cf);
static char *bw_http_ssl_certificate(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_ssl_session_cache(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static bw_int_t bw_http_ssl_setup(bw_conf_t *cf,
    bw_http_ssl_srv_conf_t *conf);
static bw_int_t bw_http_ssl_session_id_context(bw_conf_t *cf,
    bw_http_ssl_srv_conf_t *conf);

static bw_conf_enum_t  bw_http_ssl_verify[] = {
    { bw_string("off"), BW_HTTP_SSL_VERIFY_OFF },
    { bw_string("on"), BW_HTTP_SSL_VERIFY_ON },
    { bw_string("optional"), BW_HTTP_SSL_VERIFY_OPTIONAL },
    { bw_string("optional_no_ca"), BW_HTTP_SSL_VERIFY_OPTIONAL_NO_CA },
    { bw_null_string, 0 }
};

#define MS  (BW_HTTP_MAIN_CONF|BW_HTTP_SRV_CONF)
#define SRV BW_HTTP_SRV_CONF_OFFSET
#define SO(f)  offsetof(bw_http_ssl_srv_conf_t, f)

static bw_command_t  bw_http_ssl_commands[] = {

    { bw_string("ssl_certificate"), MS|BW_CONF_TAKE1,
      bw_http_ssl_certificate, SRV, SO(certificates), NULL },
    { bw_string("ssl_certificate_key"), MS|BW_CONF_TAKE1,
      bw_http_ssl_certificate, SRV, SO(certificate_keys), NULL },
    { bw_string("ssl_password_file"), MS|BW_CONF_TAKE1,
      bw_ssl_password_file_slot, SRV, SO(passwords), NULL },
    { bw_string("ssl_dhparam"), MS|BW_CONF_TAKE1,
      bw_conf_set_str_slot, SRV, SO(dhparam), NULL },
    { bw_string("ssl_ecdh_curve"), MS|BW_CONF_TAKE1,
      bw_conf_set_str_slot, SRV, SO(ecdh_curve), NULL },
    { bw_string("ssl_protocols"), MS|BW_CONF_1MORE,
      bw_conf_set_bitmask_slot, SRV, SO(protocols), bw_ssl_protocol_names },
    { bw_string("ssl_ciphers"), MS|BW_CONF_TAKE1,
      bw_conf_set_str_slot, SRV, SO(ciphers), NULL },
    { bw_string("ssl_prefer_server_ciphers"), MS|BW_CONF_FLAG,
      bw_conf_set_flag_slot, SRV, SO(prefer_server_ciphers), NULL },
    { bw_string("ssl_buffer_size"), MS|BW_CONF_TAKE1,
      bw_conf_set_size_slot, SRV, SO(buffer_size), NULL },
    { bw_string("ssl_reject_handshake"), MS|BW_CONF_FLAG,
      bw_conf_set_flag_slot, SRV, SO(reject_handshake), NULL },
    { bw_string("ssl_handshake_timeout"), MS|BW_CONF_TAKE1,
      bw_conf_set_msec_slot, SRV, SO(handshake_timeout), NULL },
    { bw_string("ssl_session_cache"), MS|BW_CONF_TAKE12,
      bw_http_ssl_session_cache, SRV, 0, NULL },
    { bw_string("ssl_session_timeout"), MS|BW_CONF_TAKE1,
      bw_conf_set_sec_slot, SRV, SO(session_timeout), NULL },
    { bw_string("ssl_session_tickets"), MS|BW_CONF_FLAG,
      bw_conf_set_flag_slot, SRV, SO(session_tickets), NULL },
    { bw_string("ssl_session_ticket_key"), MS|BW_CONF_TAKE1,
      bw_conf_set_str_array_slot, SRV, SO(ticket_keys), NULL },
    { bw_string("ssl_conf_command"), MS|BW_CONF_TAKE2,
      bw_ssl_conf_command_slot, SRV, SO(conf_commands), NULL },
    { bw_string("ssl_verify_client"), MS|BW_CONF_TAKE1,
      bw_conf_set_enum_slot, SRV, SO(verify), bw_http_ssl_verify },
    { bw_string("ssl_verify_depth"), MS|BW_CONF_TAKE1,
      bw_conf_set_num_slot, SRV, SO(verify_depth), NULL },
    { bw_string("ssl_client_certificate"), MS|BW_CONF_TAKE1,
      bw_conf_set_str_slot, SRV, SO(client_certificate), NULL },
    { bw_string("ssl_trusted_certificate"), MS|BW_CONF_TAKE1,
      bw_conf_set_str_slot, SRV, SO(trusted_certificate), NULL },
    { bw_string("ssl_crl"), MS|BW_CONF_TAKE1,
      bw_conf_set_str_slot, SRV, SO(crl), NULL },

    /* what nginx configurations carry that has no counterpart yet: it
     * loads, and the log says so (see docs/compatibility.md) */
    { bw_string("ssl_stapling"), MS|BW_CONF_FLAG,
      bw_conf_set_flag_slot, SRV, SO(stapling), NULL },
    { bw_string("ssl_stapling_file"), MS|BW_CONF_TAKE1,
      bw_conf_set_str_slot, SRV, SO(stapling_file), NULL },
    { bw_string("ssl_stapling_verify"), MS|BW_CONF_FLAG, bw_conf_no_effect,
      0, 0, "responses from ssl_stapling_file are sent as they are, as "
      "nginx; fetched ones are not supported yet" },
    { bw_string("ssl_stapling_responder"), MS|BW_CONF_TAKE1,
      bw_conf_no_effect, 0, 0, "responses are stapled from ssl_stapling_file "
      "only, not fetched from a responder" },
    { bw_string("ssl_early_data"), MS|BW_CONF_FLAG, bw_conf_no_effect, 0, 0,
      "early data is never accepted" },

    bw_null_command
};

static bw_http_module_t  bw_http_ssl_module_ctx = {
    bw_http_ssl_preconfiguration, bw_http_ssl_init,
    NULL, NULL,
    bw_http_ssl_create_srv_conf, bw_http_ssl_merge_srv_conf,
    NULL, NULL
};

bw_module_t  bw_http_ssl_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_ssl_module_ctx,
    bw_http_ssl_commands, NULL, NULL, NULL, NULL
};

static void *
bw_http_ssl_create_srv_conf(bw_conf_t *cf)
{
    bw_http_ssl_srv_conf_t  *sscf;

    sscf = bw_pcalloc(cf->pool, sizeof(bw_http_ssl_srv_conf_t));
    if (sscf == NULL) {
        return NULL;
    }

    sscf->prefer_server_ciphers = BW_CONF_UNSET;
    sscf->reject_handshake = BW_CONF_UNSET;
    sscf->session_tickets = BW_CONF_UNSET;
    sscf->stapling = BW_CONF_UNSET;
    sscf->verify = BW_CONF_UNSET_UINT;
    sscf->verify_depth = BW_CONF_UNSET_UINT;
    sscf->buffer_size = BW_CONF_UNSET_SIZE;
    sscf->builtin_session_cache = BW_CONF_UNSET;
    sscf->session_timeout = BW_CONF_UNSET;
    sscf->handshake_timeout = BW_CONF_UNSET_MSEC;
    sscf->certificates = BW_CONF_UNSET_PTR;
    sscf->certificate_keys = BW_CONF_UNSET_PTR;
    sscf->passwords = BW_CONF_UNSET_PTR;
    sscf->conf_commands = BW_CONF_UNSET_PTR;
    sscf->ticket_keys = BW_CONF_UNSET_PTR;
    sscf->shm_zone = BW_CONF_UNSET_PTR;

    return sscf;
}

static char *
bw_http_ssl_merge_srv_conf(bw_conf_t *cf, void *parent, void *child)
{
    bw_http_ssl_srv_conf_t  *prev = parent;
    bw_http_ssl_srv_conf_t  *conf = child;

    bw_conf_merge_value(conf->prefer_server_ciphers,
                        prev->prefer_server_ciphers, 0);
    bw_conf_merge_value(conf->reject_handshake, prev->reject_handshake, 0);
    bw_conf_merge_value(conf->session_tickets, prev->session_tickets, 1);
    bw_conf_merge_value(conf->stapling, prev->stapling, 0);
    bw_conf_merge_str_value(conf->stapling_file, prev->stapling_file, "");
    bw_conf_merge_bitmask_value(conf->protocols, prev->protocols,
                                BW_SSL_TLSv1_2 | BW_SSL_TLSv1_3);
    bw_conf_merge_uint_value(conf->verify, prev->verify,
                             BW_HTTP_SSL_VERIFY_OFF);
    bw_conf_merge_uint_value(conf->verify_depth, prev->verify_depth, 1);
    bw_conf_merge_size_value(conf->buffer_size, prev->buffer_size,
                             BW_SSL_BUFFER_SIZE);
    bw_conf_merge_value(conf->builtin_session_cache,
                        prev->builtin_session_cache,
                        BW_HTTP_SSL_NONE_SCACHE);
    bw_conf_merge_value(conf->session_timeout, prev->session_timeout, 300);
    bw_conf_merge_msec_value(conf->handshake_timeout,
                             prev->handshake_timeout, 60000);
    bw_conf_merge_str_value(conf->dhparam, prev->dhparam, "");
    bw_conf_merge_str_value(conf->ecdh_curve, prev->ecdh_curve, "auto");
    bw_conf_merge_str_value(conf->client_certificate,
                            prev->client_certificate, "");
    bw_conf_merge_str_value(conf->trusted_certificate,
                            prev->trusted_certificate, "");
    bw_conf_merge_str_value(conf->crl, prev->crl, "");
    bw_conf_merge_str_value(conf->ciphers, prev->ciphers,
                            "HIGH:!aNULL:!MD5");
    bw_conf_merge_ptr_value(conf->passwords, prev->passwords, NULL);
    bw_conf_merge_ptr_value(conf->conf_commands, prev->conf_commands, NULL);
    bw_conf_merge_ptr_value(conf->ticket_keys, prev->ticket_keys, NULL);
    bw_conf_merge_ptr_value(conf->shm_zone, prev->shm_zone, NULL);

    if (conf->certificates == BW_CONF_UNSET_PTR) {
        /* certificate and key come down together, or not at all */
        conf->certificates = prev->certificates;
        conf->certificate_keys = prev->certificate_keys;
        conf->where = prev->where;
    }
    if (conf->certificates == BW_CONF_UNSET_PTR) {
        conf->certificates = NULL;
    }
    if (conf->certificate_keys == BW_CONF_UNSET_PTR) {
        conf->certificate_keys = NULL;
    }

    if (conf->buffer_size < 512 || conf->buffer_size > BW_SSL_BUFFER_SIZE) {
        /* nginx clamps as well: a record holds at most 16 KB */
        conf->buffer_size = bw_max(bw_min(conf->buffer_size,
                                          (size_t) BW_SSL_BUFFER_SIZE),
                                   (size_t) 512);
    }

    conf->ssl.log = cf->log;

    if (conf->certificates == NULL) {
        if (!conf->reject_handshake) {
            /* a server without certificates answers with the default
             * server's */
            return BW_CONF_OK;
        }
        /* one that refuses handshakes needs a context to refuse in */
        if (bw_http_ssl_setup(cf, conf) != BW_OK) {
            return BW_CONF_ERROR;
        }
        return BW_CONF_OK;
    }

    if (conf->certificate_keys == NULL
        || conf->certificate_keys->nelts < conf->certificates->nelts)
    {
        bw_log_error(BW_LOG_EMERG, cf->log, 0,
                     "no \"ssl_certificate_key\" is defined for "
                     "certificate \"%.*s\" in %s:%lu",
                     (int) ((bw_str_t *) conf->certificates->elts)
                         [conf->certificates->nelts - 1].len,
                     ((bw_str_t *) conf->certificates->elts)
                         [conf->certificates->nelts - 1].data,
                     conf->where.cert_file,
                     (unsigned long) conf->where.cert_line);
        return BW_CONF_ERROR;
    }

    if (bw_http_ssl_setup(cf, conf) != BW_OK) {
        return BW_CONF_ERROR;
    }

    return BW_CONF_OK;
}

static bw_int_t
bw_http_ssl_setup(bw_conf_t *cf, bw_http_ssl_srv_conf_t *conf)
{
    BIO                *bio;
    char               *what;
    EVP_PKEY           *dh;
    bw_int_t            rc, rc2;
    bw_str_t           *cert, *key;
    bw_uint_t           dynamic;
    bw_uint_t           i;
    bw_pool_cleanup_t  *cln;
    STACK_OF(X509_NAME) *names;

    if (bw_ssl_create(&conf->ssl, conf->protocols, conf) != BW_OK) {
        return BW_ERROR;
    }

    cln = bw_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        SSL_CTX_free(conf->ssl.ctx);
        conf->ssl.ctx = NULL;
        return BW_ERROR;
    }
    cln->handler = bw_ssl_cleanup_ctx;
    cln->data = &conf->ssl;

    conf->ssl.buffer_size = conf->buffer_size;

    if (conf->certificates) {
        cert = conf->certificates->elts;
        key = conf->certificate_keys->elts;

        /* with $ssl_server_name in a name, every pair is loaded during
         * the handshake */
        dynamic = 0;
        for (i = 0; i < conf->certificates->nelts; i++) {
            rc = bw_http_ssl_certificate_template(cf, &cert[i],
                                                  "ssl_certificate");
            rc2 = bw_http_ssl_certificate_template(cf, &key[i],
                                                   "ssl_certificate_key");
            if (rc == BW_ERROR || rc2 == BW_ERROR) {
                return BW_ERROR;
            }
            dynamic |= (rc == BW_OK || rc2 == BW_OK);
        }

        if (dynamic) {
            conf->conf_prefix = cf->cycle->conf_prefix;
            SSL_CTX_set_cert_cb(conf->ssl.ctx,
                                bw_http_ssl_certificate_callback, NULL);

        } else {
            for (i = 0; i < conf->certificates->nelts; i++) {
                if (bw_ssl_certificate(cf, &conf->ssl, &cert[i], &key[i],
                                       conf->passwords, &conf->where)
                    != BW_OK)
                {
                    return BW_ERROR;
                }
            }
        }
    }

    if (bw_ssl_ciphers(cf, &conf->ssl, &conf->ciphers) != BW_OK) {
        return BW_ERROR;
    }

    if (conf->prefer_server_ciphers) {
        SSL_CTX_set_options(conf->ssl.ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    }

    if (!bw_str_eq_lit(&conf->ecdh_curve, "auto")
        && SSL_CTX_set1_groups_list(conf->ssl.ctx,
                                    (char *) conf->ecdh_curve.data) == 0)
    {
        bw_ssl_error(BW_LOG_EMERG, cf->log, 0,
                     "SSL_CTX_set1_curves_list(\"%s\") failed",
                     conf->ecdh_curve.data);
        return BW_ERROR;
    }

    if (conf->dhparam.len) {
        bio = bw_ssl_bio(cf, &conf->dhparam, &what);
        if (bio == NULL) {
            return BW_ERROR;
        }
        dh = PEM_read_bio_Parameters(bio, NULL);
        BIO_free(bio);
        if (dh == NULL || SSL_CTX_set0_tmp_dh_pkey(conf->ssl.ctx, dh) != 1)
        {
            EVP_PKEY_free(dh);
            bw_ssl_error(BW_LOG_EMERG, cf->log, 0,
                         "PEM_read_bio_Parameters(\"%s\") failed", what);
            return BW_ERROR;
        }
    }

    if (conf->verify != BW_HTTP_SSL_VERIFY_OFF) {
        if (conf->client_certificate.len == 0
            && conf->verify != BW_HTTP_SSL_VERIFY_OPTIONAL_NO_CA)
        {
            bw_log_error(BW_LOG_EMERG, cf->log, 0,
                         "no ssl_client_certificate for "
                         "ssl_verify_client");
            return BW_ERROR;
        }

        /* every certificate is taken: its verdict is the request's to
         * give (400 with 495 or 496), as nginx */
        SSL_CTX_set_verify(conf->ssl.ctx, SSL_VERIFY_PEER,
                           bw_http_ssl_verify_callback);
        SSL_CTX_set_verify_depth(conf->ssl.ctx, (int) conf->verify_depth);

        if (conf->client_certificate.len) {
            if (bw_conf_full_name(cf->cycle, &conf->client_certificate, 1)
                != BW_OK)
            {
                return BW_ERROR;
            }
            if (SSL_CTX_load_verify_locations(conf->ssl.ctx,
                    (char *) conf->client_certificate.data, NULL) == 0)
            {
                bw_ssl_error(BW_LOG_EMERG, cf->log, 0,
                             "SSL_CTX_load_verify_locations(\"%s\") failed",
                             conf->client_certificate.data);
                return BW_ERROR;
            }
            ERR_clear_error();
            names = SSL_load_client_CA_file(
                        (char *) conf->client_certificate.data);
            if (names == NULL) {
                bw_ssl_error(BW_LOG_EMERG, cf->log, 0,
                             "SSL_load_client_CA_file(\"%s\") failed",
                             conf->client_certificate.data);
                return BW_ERROR;
            }
            SSL_CTX_set_client_CA_list(conf->ssl.ctx, names);
        }
    }

    /* chains of client certificates are built with the trusted ones as
     * well, but their names are not offered to clients */
    if (conf->trusted_certificate.len
        && bw_ssl_trusted_certificate(cf, &conf->ssl,
                                      &conf->trusted_certificate) != BW_OK)
    {
        return BW_ERROR;
    }

    if (conf->crl.len && bw_ssl_crl(cf, &conf->ssl, &conf->crl) != BW_OK) {
        return BW_ERROR;
    }

    if (conf->builtin_session_cache == BW_HTTP_SSL_NO_SCACHE) {
        SSL_CTX_set_session_cache_mode(conf->ssl.ctx, SSL_SESS_CACHE_OFF);

    } else if (conf->builtin_session_cache == BW_HTTP_SSL_NONE_SCACHE) {
        /* "none": clients are told sessions may be resumed, none is
         * kept (some clients misbehave when told "never", says nginx) */
        SSL_CTX_set_session_cache_mode(conf->ssl.ctx,
                                       SSL_SESS_CACHE_SERVER
                                       | SSL_SESS_CACHE_NO_AUTO_CLEAR
                                       | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_cache_size(conf->ssl.ctx, 1);

    } else {
        SSL_CTX_set_session_cache_mode(conf->ssl.ctx, SSL_SESS_CACHE_SERVER);

        if (conf->shm_zone
            && bw_ssl_session_cache(&conf->ssl, conf->shm_zone,
                                    conf->builtin_session_cache
                                    != BW_HTTP_SSL_NO_BUILTIN_SCACHE)
               != BW_OK)
        {
            return BW_ERROR;
        }

        if (conf->builtin_session_cache >= 0) {
            SSL_CTX_sess_set_cache_size(conf->ssl.ctx,
                                        conf->builtin_session_cache);
        }
    }

    SSL_CTX_set_timeout(conf->ssl.ctx, (long) conf->session_timeout);

    if (!conf->session_tickets) {
        SSL_CTX_set_options(conf->ssl.ctx, SSL_OP_NO_TICKET);

    } else if (bw_ssl_session_ticket_keys(cf, &conf->ssl, conf->ticket_keys)
               != BW_OK)
    {
        return BW_ERROR;
    }

    if (bw_http_ssl_session_id_context(cf, conf) != BW_OK) {
        return BW_ERROR;
    }

    if (conf->stapling && conf->certificates) {
        if (conf->stapling_file.len) {
            if (bw_ssl_stapling_file(cf, &conf->ssl, &conf->stapling_file)
                != BW_OK)
            {
                return BW_ERROR;
            }

        } else {
            /* loads, as a configuration written for nginx must; the
             * client checks revocation itself */
            bw_log_error(BW_LOG_WARN, cf->log, 0,
                         "\"ssl_stapling\" ignored: OCSP responses are "
                         "stapled from \"ssl_stapling_file\" only, "
                         "not fetched from a responder yet");
        }
    }

    SSL_CTX_set_client_hello_cb(conf->ssl.ctx, bw_http_ssl_client_hello,
                                NULL);
    SSL_CTX_set_tlsext_servername_callback(conf->ssl.ctx,
                                           bw_http_ssl_servername);
    SSL_CTX_set_alpn_select_cb(conf->ssl.ctx, bw_http_ssl_alpn_select, NULL);

    if (bw_ssl_conf_commands(cf, &conf->ssl, conf->conf_commands, 1)
        != BW_OK)
    {
        return BW_ERROR;
    }

    return BW_OK;
}

/*
 * Sessions are resumed only where they were made: the context is a hash
 * of the server's certificates and client certificate policy, so that a
 * session of one server is never resumed on another that would have
 * asked more (the CVE-2025-23419 class).
 */
static bw_int_t
bw_http_ssl_session_id_context(bw_conf_t *cf, bw_http_ssl_srv_conf_t *conf)
{
    int            n, rc;
    X509          *cert;
    EVP_MD_CTX    *md;
    unsigned int   len;
    unsigned char  buf[EVP_MAX_MD_SIZE];

    md = EVP_MD_CTX_new();
    if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 0) {
        EVP_MD_CTX_free(md);
        bw_ssl_error(BW_LOG_EMERG, cf->log, 0, "EVP_DigestInit_ex() failed");
        return BW_ERROR;
    }

    rc = SSL_CTX_set_current_cert(conf->ssl.ctx, SSL_CERT_SET_FIRST);
    while (rc) {
        cert = SSL_CTX_get0_certificate(conf->ssl.ctx);
        if (cert) {
            unsigned char  dbuf[EVP_MAX_MD_SIZE];
            unsigned int   dlen;

            if (X509_digest(cert, EVP_sha256(), dbuf, &dlen) == 0
                || EVP_DigestUpdate(md, dbuf, dlen) == 0)
            {
                EVP_MD_CTX_free(md);
                bw_ssl_error(BW_LOG_EMERG, cf->log, 0,
                             "X509_digest() failed");
                return BW_ERROR;
            }
        }
        rc = SSL_CTX_set_current_cert(conf->ssl.ctx, SSL_CERT_SET_NEXT);
    }

    /* names loaded per handshake are known only by their names */
    if (conf->certificates) {
        bw_str_t   *name = conf->certificates->elts;
        bw_uint_t   k;

        for (k = 0; k < conf->certificates->nelts; k++) {
            if (EVP_DigestUpdate(md, name[k].data, name[k].len) == 0) {
                EVP_MD_CTX_free(md);
                bw_ssl_error(BW_LOG_EMERG, cf->log, 0,
                             "EVP_DigestUpdate() failed");
                return BW_ERROR;
            }
        }
    }

    n = (int) conf->verify;
    if (EVP_DigestUpdate(md, &n, sizeof(int)) == 0
        || EVP_DigestUpdate(md, conf->client_certificate.data,
                            conf->client_certificate.len) == 0
        || EVP_DigestUpdate(md, conf->trusted_certificate.data,
                            conf->trusted_certificate.len) == 0
        || EVP_DigestUpdate(md, conf->crl.data, conf->crl.len) == 0
        || EVP_DigestFinal_ex(md, buf, &len) == 0)
    {
        EVP_MD_CTX_free(md);
        bw_ssl_error(BW_LOG_EMERG, cf->log, 0, "EVP_DigestFinal_ex() failed");
        return BW_ERROR;
    }
    EVP_MD_CTX_free(md);

    if (len > SSL_MAX_SID_CTX_LENGTH) {
        len = SSL_MAX_SID_CTX_LENGTH;
    }

    if (SSL_CTX_set_session_id_context(conf->ssl.ctx, buf, len) == 0) {
        bw_ssl_error(BW_LOG_EMERG, cf->log, 0,
                     "SSL_CTX_set_session_id_context() failed");
        return BW_ERROR;
    }

    return BW_OK;
}

static char *
bw_http_ssl_certificate(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    char                    *rv;
    bw_http_ssl_srv_conf_t  *sscf = conf;

    rv = bw_conf_set_str_array_slot(cf, cmd, conf);
    if (rv != BW_CONF_OK) {
        return rv;
    }

    if (cmd->offset == SO(certificates)) {
        if (sscf->certificate_keys == BW_CONF_UNSET_PTR) {
            sscf->certificate_keys = NULL;
        }
        bw_ssl_conf_where(cf, &sscf->where.cert_file, &sscf->where.cert_line);
    } else {
        bw_ssl_conf_where(cf, &sscf->where.key_file, &sscf->where.key_line);
    }

    return BW_CONF_OK;
}

static char *
bw_http_ssl_session_cache(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_ssl_srv_conf_t  *sscf = conf;

    u_char    *p;
    bw_int_t   n;
    bw_str_t  *value, name, size;
    bw_uint_t  i;

    if (sscf->builtin_session_cache != BW_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (bw_str_eq_lit(&value[i], "off")) {
            sscf->builtin_session_cache = BW_HTTP_SSL_NO_SCACHE;
            continue;
        }

        if (bw_str_eq_lit(&value[i], "none")) {
            sscf->builtin_session_cache = BW_HTTP_SSL_NONE_SCACHE;
            continue;
        }

        if (bw_str_eq_lit(&value[i], "builtin")) {
            sscf->builtin_session_cache = BW_HTTP_SSL_DFLT_SCACHE;
            continue;
        }

        if (value[i].len > 8
            && memcmp(value[i].data, "builtin:", 8) == 0)
        {
            n = bw_atoi(value[i].data + 8, value[i].len - 8);
            if (n == BW_ERROR || n == 0) {
                goto invalid;
            }
            sscf->builtin_session_cache = n;
            continue;
        }

        if (value[i].len > 7 && memcmp(value[i].data, "shared:", 7) == 0)
        {
            name.data = value[i].data + 7;
            p = memchr(name.data, ':', value[i].len - 7);
            if (p == NULL || p == name.data) {
                goto invalid;
            }
            name.len = p - name.data;
            size.data = p + 1;
            size.len = value[i].data + value[i].len - size.data;
            n = bw_parse_size(&size);
            if (n == BW_ERROR) {
                goto invalid;
            }
            if (n < 8 * 4096) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                  "session cache \"%s\" is too small",
                                  value[i].data);
                return BW_CONF_ERROR;
            }

            sscf->shm_zone = bw_shared_memory_add(cf, &name, (size_t) n,
                                                  &bw_http_ssl_module);
            if (sscf->shm_zone == NULL) {
                return BW_CONF_ERROR;
            }
            sscf->shm_zone->init = bw_ssl_session_cache_init;
            continue;
        }

        goto invalid;
    }

    if (sscf->shm_zone != BW_CONF_UNSET_PTR
        && sscf->builtin_session_cache == BW_CONF_UNSET)
    {
        sscf->builtin_session_cache = BW_HTTP_SSL_NO_BUILTIN_SCACHE;
    }

    return BW_CONF_OK;

invalid:

    bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                      "invalid session cache \"%s\"", value[i].data);
    return BW_CONF_ERROR;
}

/*
 * After every server is merged: the default server of each address
 * with "ssl" must have a certificate (or refuse handshakes), as nginx
 * checks; the others may go without and answer with the default's.
 */
static bw_int_t
bw_http_ssl_init(bw_conf_t *cf)
{
    bw_uint_t                  p, a;
    bw_http_conf_port_t       *port;
    bw_http_conf_addr_t       *addr;
    bw_http_ssl_srv_conf_t    *sscf;
    bw_http_core_srv_conf_t   *cscf;
    bw_http_core_main_conf_t  *cmcf;

    cmcf = bw_http_conf_get_module_main_conf(cf, bw_http_core_module);

    if (cmcf->ports == NULL) {
        return BW_OK;
    }

    port = cmcf->ports->elts;
    for (p = 0; p < cmcf->ports->nelts; p++) {
        addr = port[p].addrs.elts;
        for (a = 0; a < port[p].addrs.nelts; a++) {
            if (!addr[a].opt.ssl) {
                continue;
            }

            cscf = addr[a].default_server
                   ? addr[a].default_server
                   : ((bw_http_core_srv_conf_t **)
                      addr[a].servers.elts)[0];
            sscf = cscf->ctx->srv_conf[bw_http_ssl_module.ctx_index];

            if (sscf->ssl.ctx || sscf->reject_handshake) {
                continue;
            }

            bw_log_error(BW_LOG_EMERG, cf->log, 0,
                         "no \"ssl_certificate\" is defined for the "
                         "\"listen ... ssl\" directive in %s:%lu",
                         cscf->file_name, (unsigned long) cscf->line);
            return BW_ERROR;
        }
    }

    return BW_OK;
}

static bw_http_ssl_hooks_t  bw_http_ssl_core_hooks = {
    bw_http_ssl_init_connection,
    bw_http_ssl_virtual_server,
    bw_http_ssl_verify_request
};

static bw_int_t
bw_http_ssl_preconfiguration(bw_conf_t *cf)
{
    if (bw_ssl_init(cf->log) != BW_OK) {
        return BW_ERROR;
    }

    /* before any listen is read: "ssl" is known from here on */
    bw_http_ssl_hooks = &bw_http_ssl_core_hooks;

    return bw_http_ssl_add_variables(cf);
}
