/*
 * proxy_ssl_*: TLS to upstreams (proxy_pass https://). The directives
 * are nginx's, with its inheritance: a level that sets none of them
 * shares its parent's context (and so its sessions), so that one
 * context serves every location of an http block that only says
 * proxy_pass https://. The handshake itself is the upstream
 * framework's (core/http/upstream_ssl.c).
 */

#include <bw_core.h>
#include <bw_http.h>
#include "bw_http_proxy.h"

static bw_int_t bw_http_proxy_set_ssl(bw_conf_t *cf,
    bw_http_proxy_loc_conf_t *plcf);
static bw_int_t bw_http_proxy_ssl_complex(bw_conf_t *cf, bw_str_t *value,
    bw_http_complex_value_t **cv);
static void bw_http_proxy_ssl_no_key(bw_conf_t *cf,
    bw_http_proxy_loc_conf_t *plcf);

void
bw_http_proxy_ssl_create_conf(bw_http_proxy_loc_conf_t *conf)
{
    conf->upstream.ssl_session_reuse = BW_CONF_UNSET;
    conf->upstream.ssl_server_name = BW_CONF_UNSET;
    conf->upstream.ssl_verify = BW_CONF_UNSET;
    conf->upstream.ssl_name = BW_CONF_UNSET_PTR;
    conf->ssl_verify_depth = BW_CONF_UNSET_UINT;
    conf->ssl_passwords = BW_CONF_UNSET_PTR;
    conf->ssl_conf_commands = BW_CONF_UNSET_PTR;
}

/* proxy_ssl_certificate and proxy_ssl_certificate_key */
char *
bw_http_proxy_ssl_certificate(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_proxy_loc_conf_t  *plcf = conf;

    bw_str_t  *value, *field;

    field = (bw_str_t *) ((u_char *) conf + cmd->offset);
    if (field->data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    *field = value[1];

    if (field == &plcf->ssl_certificate) {
        bw_ssl_conf_where(cf, &plcf->ssl_where.cert_file,
                          &plcf->ssl_where.cert_line);
    } else {
        bw_ssl_conf_where(cf, &plcf->ssl_where.key_file,
                          &plcf->ssl_where.key_line);
    }

    return BW_CONF_OK;
}

/* proxy_ssl_name: a value with variables */
char *
bw_http_proxy_ssl_name(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_proxy_loc_conf_t  *plcf = conf;

    bw_str_t  *value;

    if (plcf->upstream.ssl_name != BW_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    plcf->upstream.ssl_name = bw_pcalloc(cf->pool,
                                         sizeof(bw_http_complex_value_t));
    if (plcf->upstream.ssl_name == NULL) {
        return BW_CONF_ERROR;
    }

    if (bw_http_compile_complex_value(cf, plcf->upstream.ssl_name,
                                      &value[1]) != BW_OK)
    {
        return BW_CONF_ERROR;
    }

    return BW_CONF_OK;
}

bw_int_t
bw_http_proxy_merge_ssl(bw_conf_t *cf, bw_http_proxy_loc_conf_t *conf,
    bw_http_proxy_loc_conf_t *prev)
{
    bw_uint_t  preserve;

    /* a level that sets nothing of the context shares its parent's */
    preserve = conf->ssl_protocols == 0
               && conf->ssl_ciphers.data == NULL
               && conf->ssl_certificate.data == NULL
               && conf->ssl_certificate_key.data == NULL
               && conf->ssl_passwords == BW_CONF_UNSET_PTR
               && conf->upstream.ssl_verify == BW_CONF_UNSET
               && conf->ssl_verify_depth == BW_CONF_UNSET_UINT
               && conf->ssl_trusted_certificate.data == NULL
               && conf->ssl_crl.data == NULL
               && conf->upstream.ssl_session_reuse == BW_CONF_UNSET
               && conf->ssl_conf_commands == BW_CONF_UNSET_PTR
               /* (and the name: a pooled connection is reused only in
                * its context, so the name it was checked for goes with
                * the context) */
               && conf->upstream.ssl_name == BW_CONF_UNSET_PTR
               && conf->upstream.ssl_server_name == BW_CONF_UNSET;

    bw_conf_merge_bitmask_value(conf->ssl_protocols, prev->ssl_protocols,
                                BW_SSL_TLSv1_2 | BW_SSL_TLSv1_3);
    bw_conf_merge_str_value(conf->ssl_ciphers, prev->ssl_ciphers,
                            "DEFAULT");
    bw_conf_merge_value(conf->upstream.ssl_session_reuse,
                        prev->upstream.ssl_session_reuse, 1);
    bw_conf_merge_value(conf->upstream.ssl_server_name,
                        prev->upstream.ssl_server_name, 0);
    bw_conf_merge_value(conf->upstream.ssl_verify,
                        prev->upstream.ssl_verify, 0);
    bw_conf_merge_ptr_value(conf->upstream.ssl_name,
                            prev->upstream.ssl_name, NULL);
    bw_conf_merge_uint_value(conf->ssl_verify_depth, prev->ssl_verify_depth,
                             1);
    bw_conf_merge_str_value(conf->ssl_trusted_certificate,
                            prev->ssl_trusted_certificate, "");
    bw_conf_merge_str_value(conf->ssl_crl, prev->ssl_crl, "");
    bw_conf_merge_ptr_value(conf->ssl_passwords, prev->ssl_passwords, NULL);
    bw_conf_merge_ptr_value(conf->ssl_conf_commands,
                            prev->ssl_conf_commands, NULL);

    /* each inherited on its own, as nginx */
    if (conf->ssl_certificate.data == NULL) {
        conf->ssl_certificate = prev->ssl_certificate;
        conf->ssl_where.cert_file = prev->ssl_where.cert_file;
        conf->ssl_where.cert_line = prev->ssl_where.cert_line;
    }
    if (conf->ssl_certificate_key.data == NULL) {
        conf->ssl_certificate_key = prev->ssl_certificate_key;
        conf->ssl_where.key_file = prev->ssl_where.key_file;
        conf->ssl_where.key_line = prev->ssl_where.key_line;
    }

    /* a certificate named with variables: compiled once per level that
     * names it, inherited below */
    if (conf->ssl_certificate.len
        && (bw_http_script_variables_count(&conf->ssl_certificate)
            || bw_http_script_variables_count(&conf->ssl_certificate_key)))
    {
        if (conf->ssl_certificate.data == prev->ssl_certificate.data
            && conf->ssl_certificate_key.data
               == prev->ssl_certificate_key.data
            && prev->upstream.ssl_certificate)
        {
            conf->upstream.ssl_certificate = prev->upstream.ssl_certificate;
            conf->upstream.ssl_certificate_key =
                                         prev->upstream.ssl_certificate_key;

        } else if (conf->ssl_certificate_key.len == 0) {
            bw_http_proxy_ssl_no_key(cf, conf);
            return BW_ERROR;

        } else if (bw_http_proxy_ssl_complex(cf, &conf->ssl_certificate,
                                             &conf->upstream.ssl_certificate)
                      != BW_OK
                   || bw_http_proxy_ssl_complex(cf,
                                        &conf->ssl_certificate_key,
                                        &conf->upstream.ssl_certificate_key)
                      != BW_OK)
        {
            return BW_ERROR;
        }
        conf->upstream.ssl_passwords = conf->ssl_passwords;
    }

    if (preserve && prev->upstream.ssl) {
        conf->upstream.ssl = prev->upstream.ssl;

    } else {
        conf->upstream.ssl = bw_pcalloc(cf->pool,
                                        sizeof(bw_http_upstream_ssl_t));
        if (conf->upstream.ssl == NULL) {
            return BW_ERROR;
        }
        conf->upstream.ssl->ssl.log = cf->log;

        /* the http block's, made on first need, is every server's */
        if (preserve) {
            prev->upstream.ssl = conf->upstream.ssl;
        }
    }

    if (conf->ssl && bw_http_proxy_set_ssl(cf, conf) != BW_OK) {
        return BW_ERROR;
    }

    return BW_OK;
}

static bw_int_t
bw_http_proxy_set_ssl(bw_conf_t *cf, bw_http_proxy_loc_conf_t *plcf)
{
    bw_ssl_t  *ssl;

    ssl = &plcf->upstream.ssl->ssl;

    if (ssl->ctx) {
        return BW_OK;       /* shared, made already */
    }

    if (bw_ssl_create(ssl, plcf->ssl_protocols, plcf->upstream.ssl) != BW_OK) {
        return BW_ERROR;
    }

    if (bw_http_upstream_ssl_setup(cf, plcf->upstream.ssl,
                                   plcf->upstream.ssl_session_reuse,
                                   plcf->upstream.ssl_verify,
                                   plcf->ssl_verify_depth)
        != BW_OK)
    {
        bw_ssl_cleanup_ctx(ssl);
        return BW_ERROR;
    }

    if (bw_ssl_ciphers(cf, ssl, &plcf->ssl_ciphers) != BW_OK) {
        return BW_ERROR;
    }

    if (plcf->upstream.ssl_certificate) {
        /* named per request: loaded on each new connection */

    } else if (plcf->ssl_certificate.len) {
        if (plcf->ssl_certificate_key.len == 0) {
            bw_http_proxy_ssl_no_key(cf, plcf);
            return BW_ERROR;
        }

        if (bw_ssl_certificate(cf, ssl, &plcf->ssl_certificate,
                               &plcf->ssl_certificate_key,
                               plcf->ssl_passwords, &plcf->ssl_where)
            != BW_OK)
        {
            return BW_ERROR;
        }
    }

    if (plcf->upstream.ssl_verify) {
        if (plcf->ssl_trusted_certificate.len == 0) {
            bw_log_error(BW_LOG_EMERG, cf->log, 0,
                         "no proxy_ssl_trusted_certificate for "
                         "proxy_ssl_verify");
            return BW_ERROR;
        }
    }

    if (plcf->ssl_trusted_certificate.len
        && bw_ssl_trusted_certificate(cf, ssl,
                                      &plcf->ssl_trusted_certificate)
           != BW_OK)
    {
        return BW_ERROR;
    }

    if (plcf->ssl_crl.len && bw_ssl_crl(cf, ssl, &plcf->ssl_crl) != BW_OK) {
        return BW_ERROR;
    }

    if (bw_ssl_conf_commands(cf, ssl, plcf->ssl_conf_commands, 0) != BW_OK) {
        return BW_ERROR;
    }

    return BW_OK;
}

static bw_int_t
bw_http_proxy_ssl_complex(bw_conf_t *cf, bw_str_t *value,
    bw_http_complex_value_t **cv)
{
    *cv = bw_pcalloc(cf->pool, sizeof(bw_http_complex_value_t));
    if (*cv == NULL) {
        return BW_ERROR;
    }
    return bw_http_compile_complex_value(cf, *cv, value);
}

static void
bw_http_proxy_ssl_no_key(bw_conf_t *cf, bw_http_proxy_loc_conf_t *plcf)
{
    bw_log_error(BW_LOG_EMERG, cf->log, 0,
                 "no \"proxy_ssl_certificate_key\" is defined for "
                 "certificate \"%.*s\" in %s:%lu",
                 (int) plcf->ssl_certificate.len, plcf->ssl_certificate.data,
                 plcf->ssl_where.cert_file,
                 (unsigned long) plcf->ssl_where.cert_line);
}
