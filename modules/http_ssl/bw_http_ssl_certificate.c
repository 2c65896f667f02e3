/*
 * ssl_certificate and ssl_certificate_key with $ssl_server_name in the
 * name: one server block for many names, each with its own files,
 * loaded during the handshake (and cached, core/event/ssl_cert_cache.c).
 *
 * Only $ssl_server_name can be used: at handshake time there is no
 * request, and it is what such configurations name their files by. A
 * name the client sent is used in a file name only when it is a plain
 * host name (letters, digits, "-", "_", "." not leading, no ".."), so
 * that SNI cannot reach a file outside the configured pattern.
 */

#include <bw_core.h>
#include <bw_http.h>
#include "bw_http_ssl_module.h"

#define BW_HTTP_SSL_SNI_VAR      "$ssl_server_name"
#define BW_HTTP_SSL_SNI_VAR_BR   "${ssl_server_name}"

static bw_int_t bw_http_ssl_sni_ok(const char *name, size_t len);
static bw_int_t bw_http_ssl_expand(bw_pool_t *pool, bw_str_t *prefix,
    bw_str_t *tmpl, const char *sni, size_t sni_len, bw_str_t *out);

/* BW_OK when name has variables and they are all $ssl_server_name;
 * BW_DECLINED when it has none; BW_ERROR (logged) otherwise. */
bw_int_t
bw_http_ssl_certificate_template(bw_conf_t *cf, bw_str_t *name,
    const char *directive)
{
    u_char    *p, *last;
    bw_uint_t  vars;

    vars = 0;
    p = name->data;
    last = name->data + name->len;

    while (p < last) {
        if (*p != '$') {
            p++;
            continue;
        }
        if ((size_t) (last - p) >= sizeof(BW_HTTP_SSL_SNI_VAR_BR) - 1
            && memcmp(p, BW_HTTP_SSL_SNI_VAR_BR,
                      sizeof(BW_HTTP_SSL_SNI_VAR_BR) - 1) == 0)
        {
            p += sizeof(BW_HTTP_SSL_SNI_VAR_BR) - 1;
            vars++;
            continue;
        }
        if ((size_t) (last - p) >= sizeof(BW_HTTP_SSL_SNI_VAR) - 1
            && memcmp(p, BW_HTTP_SSL_SNI_VAR,
                      sizeof(BW_HTTP_SSL_SNI_VAR) - 1) == 0
            && (p + sizeof(BW_HTTP_SSL_SNI_VAR) - 1 == last
                || !(isalnum(p[sizeof(BW_HTTP_SSL_SNI_VAR) - 1])
                     || p[sizeof(BW_HTTP_SSL_SNI_VAR) - 1] == '_')))
        {
            p += sizeof(BW_HTTP_SSL_SNI_VAR) - 1;
            vars++;
            continue;
        }

        bw_log_error(BW_LOG_EMERG, cf->log, 0,
                     "only $ssl_server_name can be used in \"%s\" "
                     "(\"%.*s\")", directive, (int) name->len, name->data);
        return BW_ERROR;
    }

    return vars ? BW_OK : BW_DECLINED;
}

static bw_int_t
bw_http_ssl_sni_ok(const char *name, size_t len)
{
    size_t  i;
    u_char  ch;

    if (len == 0 || len > 253 || name[0] == '.') {
        return BW_ERROR;
    }

    for (i = 0; i < len; i++) {
        ch = (u_char) name[i];
        if (!(isalnum(ch) || ch == '-' || ch == '_' || ch == '.')) {
            return BW_ERROR;
        }
        if (ch == '.' && i + 1 < len && name[i + 1] == '.') {
            return BW_ERROR;
        }
    }

    return BW_OK;
}

/* tmpl with the server name in, relative to the configuration's
 * folder, NUL-terminated */
static bw_int_t
bw_http_ssl_expand(bw_pool_t *pool, bw_str_t *prefix, bw_str_t *tmpl,
    const char *sni, size_t sni_len, bw_str_t *out)
{
    u_char    *p, *last, *d;
    size_t     len;

    len = prefix->len + 1;
    p = tmpl->data;
    last = tmpl->data + tmpl->len;
    for ( /* void */ ; p < last; p++) {
        len += (*p == '$') ? sni_len : 1;
    }

    out->data = bw_pnalloc(pool, len);
    if (out->data == NULL) {
        return BW_ERROR;
    }

    d = out->data;
    if (tmpl->len == 0 || tmpl->data[0] != '/') {
        d = bw_cpymem(d, prefix->data, prefix->len);
    }

    p = tmpl->data;
    while (p < last) {
        if (*p == '$') {
            d = bw_cpymem(d, sni, sni_len);
            p += (p + 1 < last && p[1] == '{')
                 ? sizeof(BW_HTTP_SSL_SNI_VAR_BR) - 1
                 : sizeof(BW_HTTP_SSL_SNI_VAR) - 1;
            continue;
        }
        *d++ = *p++;
    }
    *d = '\0';

    out->len = d - out->data;
    return BW_OK;
}

/*
 * OpenSSL's certificate callback, after SNI chose the server: each pair
 * of the server's, named for the server name the client sent. 0 fails
 * the handshake (logged: a name without files is worth knowing).
 */
int
bw_http_ssl_certificate_callback(SSL *ssl, void *arg)
{
    const char              *sni;
    bw_str_t                *cert, *key, cname, kname;
    bw_uint_t                i;
    bw_connection_t         *c;
    bw_http_ssl_srv_conf_t  *conf;

    c = SSL_get_ex_data(ssl, bw_ssl_connection_index);
    if (c == NULL) {
        return 0;
    }

    /* the server SNI chose: its context's conf, not the default's */
    conf = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl),
                               bw_ssl_server_conf_index);
    if (conf == NULL || conf->certificates == NULL) {
        return 1;
    }

    sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (sni == NULL) {
        sni = "";
    }

    cert = conf->certificates->elts;
    key = conf->certificate_keys->elts;

    for (i = 0; i < conf->certificates->nelts; i++) {
        if ((memchr(cert[i].data, '$', cert[i].len)
             || memchr(key[i].data, '$', key[i].len))
            && bw_http_ssl_sni_ok(sni, strlen(sni)) != BW_OK)
        {
            bw_log_error(BW_LOG_INFO, c->log, 0,
                         "no certificate for the server name \"%s\"", sni);
            return 0;
        }

        if (bw_http_ssl_expand(c->pool, &conf->conf_prefix, &cert[i], sni,
                               strlen(sni), &cname) != BW_OK
            || bw_http_ssl_expand(c->pool, &conf->conf_prefix, &key[i], sni,
                                  strlen(sni), &kname) != BW_OK)
        {
            return 0;
        }

        if (bw_ssl_use_certificate_files(c, ssl, &cname, &kname,
                                         conf->passwords) != BW_OK)
        {
            return 0;
        }
    }

    return 1;
}
