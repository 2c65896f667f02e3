/*
 * A connection on a TLS listener: the PROXY protocol header if the
 * listen has one, then the first byte tells a ClientHello from plain
 * HTTP (answered later with 497), then the handshake with its own
 * timeout. SNI picks the server (its certificates and settings) before
 * any HTTP is read; Host may pick another afterwards only where no
 * client certificate policy stands in the way (421, as nginx).
 *
 * Never block and never read more than the header and one byte before
 * OpenSSL takes the socket: what OpenSSL reads is its own.
 */

#include <bw_http_ssl_module.h>

static void bw_http_ssl_handshake(bw_event_t *rev);
static void bw_http_ssl_handshake_done(bw_connection_t *c);
static void bw_http_ssl_close(bw_connection_t *c);
static bw_int_t bw_http_ssl_proxy_protocol(bw_connection_t *c,
    u_char *buf, ssize_t *n);
static void bw_http_ssl_empty_handler(bw_event_t *ev);
static bw_uint_t bw_http_ssl_verify_error_optional(long n);

/* ALPN: what each kind of server speaks, most preferred first */
static const unsigned char  bw_http_ssl_alpn_http1[] = "\x08http/1.1";
static const unsigned char  bw_http_ssl_alpn_h2[] = "\x02h2\x08http/1.1";

void
bw_http_ssl_init_connection(bw_connection_t *c)
{
    bw_event_t               *rev;
    bw_http_connection_t     *hc;
    bw_http_ssl_srv_conf_t   *sscf;
    bw_http_core_srv_conf_t  *cscf;

    hc = c->data;
    rev = c->read;

    cscf = hc->addr_conf->default_server;
    sscf = cscf->ctx->srv_conf[bw_http_ssl_module.ctx_index];

    c->log->action = "SSL handshaking";
    rev->handler = bw_http_ssl_handshake;

    bw_event_add_timer(rev, sscf->handshake_timeout);

    if (rev->ready) {
        bw_post_event(rev, &bw_posted_events);
    }
}

static void
bw_http_ssl_handshake(bw_event_t *rev)
{
    u_char                    buf[BW_PROXY_PROTOCOL_V2_MAX + 1];
    size_t                    size;
    ssize_t                   n;
    bw_err_t                  err;
    bw_connection_t          *c;
    bw_http_connection_t     *hc;
    bw_http_ssl_srv_conf_t   *sscf;
    bw_http_core_srv_conf_t  *cscf;

    c = rev->data;
    hc = c->data;

    if (rev->timedout) {
        bw_log_error(BW_LOG_INFO, c->log, ETIMEDOUT, "client timed out");
        bw_http_ssl_close(c);
        return;
    }

    if (c->close) {
        bw_http_ssl_close(c);
        return;
    }

    size = (hc->addr_conf->proxy_protocol && c->proxy_protocol == NULL)
           ? sizeof(buf) - 1 : 1;

    /* a peek: the bytes stay for OpenSSL or for the HTTP reader */
    n = recv(c->fd, buf, size, MSG_PEEK);
    err = errno;

    if (n == -1) {
        if (err == EAGAIN || err == EINTR) {
            rev->ready = 0;
            return;
        }
        if (err != ECONNRESET) {
            bw_log_error(BW_LOG_INFO, c->log, err, "recv() failed");
        }
        bw_http_ssl_close(c);
        return;
    }

    if (n == 0) {
        bw_log_error(BW_LOG_INFO, c->log, 0, "client closed connection");
        bw_http_ssl_close(c);
        return;
    }

    if (hc->addr_conf->proxy_protocol && c->proxy_protocol == NULL) {
        if (bw_http_ssl_proxy_protocol(c, buf, &n) != BW_OK) {
            bw_http_ssl_close(c);
            return;
        }
        if (n == 0) {
            /* the header is incomplete, or nothing follows it yet:
             * the next bytes raise a new edge */
            rev->ready = 0;
            return;
        }
    }

    /* a TLS record of type "handshake", or an SSLv2-style hello */
    if (buf[0] == 0x16 || (buf[0] & 0x80)) {

        cscf = hc->addr_conf->default_server;
        sscf = cscf->ctx->srv_conf[bw_http_ssl_module.ctx_index];

        if (bw_ssl_create_connection(&sscf->ssl, c, 1) != BW_OK) {
            bw_http_ssl_close(c);
            return;
        }

        c->ssl->handler = bw_http_ssl_handshake_done;

        if (bw_ssl_handshake(c) == BW_AGAIN) {
            /* idle until the client speaks: first to go when the
             * worker runs out of connections */
            return;
        }

        bw_http_ssl_handshake_done(c);
        return;
    }

    /* plain HTTP: read and answered with 497 once the head is in */
    c->log->action = "waiting for request";
    rev->handler = bw_http_wait_request_handler;
    bw_http_wait_request_handler(rev);
}

static void
bw_http_ssl_handshake_done(bw_connection_t *c)
{
    bw_http_connection_t     *hc;
    bw_http_core_srv_conf_t  *cscf;

    if (!c->ssl->handshaked) {
        bw_http_ssl_close(c);
        return;
    }

    hc = c->data;
    cscf = hc->ssl_server ? hc->ssl_server : hc->addr_conf->default_server;

    if (bw_http_v2_hooks) {
        const unsigned char  *alpn;
        unsigned int          len;

        SSL_get0_alpn_selected(c->ssl->connection, &alpn, &len);
        if (len == 2 && alpn[0] == 'h' && alpn[1] == '2') {
            bw_http_v2_hooks->init_connection(c);
            return;
        }
    }

    c->log->action = "waiting for request";
    c->read->handler = bw_http_wait_request_handler;
    c->write->handler = bw_http_ssl_empty_handler;

    /* client_header_timeout from here on, as a plain connection's */
    bw_event_add_timer(c->read, cscf->client_header_timeout);

    bw_http_wait_request_handler(c->read);
}

/*
 * The PROXY protocol header in the peeked bytes: on success it is read
 * off the socket and *n is what follows it (0: nothing yet, or the
 * header is incomplete); broken headers are logged.
 */
static bw_int_t
bw_http_ssl_proxy_protocol(bw_connection_t *c, u_char *buf, ssize_t *n)
{
    u_char               *p;
    ssize_t               len, rn;
    bw_proxy_protocol_t   pp, *ppp;

    len = bw_proxy_protocol_parse(buf, (size_t) *n, &pp);

    if (len == 0) {
        if ((size_t) *n >= BW_PROXY_PROTOCOL_V2_MAX) {
            bw_log_error(BW_LOG_ERR, c->log, 0, "broken header: too long");
            return BW_ERROR;
        }
        *n = 0;
        return BW_OK;
    }

    if (len < 0) {
        len = bw_min(*n, (ssize_t) 32);
        for (p = buf; p < buf + len; p++) {
            if (*p < 0x20 || *p > 0x7e) {
                *p = '?';
            }
        }
        bw_log_error(BW_LOG_ERR, c->log, 0,
                     "broken header: \"%.*s\" while reading PROXY "
                     "protocol", (int) len, buf);
        return BW_ERROR;
    }

    ppp = bw_proxy_protocol_copy(c->pool, &pp);
    if (ppp == NULL) {
        return BW_ERROR;
    }

    /* take the header off the socket: it was only peeked at */
    do {
        rn = recv(c->fd, buf, (size_t) len, 0);
    } while (rn == -1 && errno == EINTR);

    if (rn != len) {
        bw_log_error(BW_LOG_INFO, c->log, rn == -1 ? errno : 0,
                     "recv() of the PROXY protocol header failed");
        return BW_ERROR;
    }

    c->proxy_protocol = ppp;

    *n -= len;
    if (*n > 0) {
        memmove(buf, buf + len, (size_t) *n);
    }

    return BW_OK;
}

static void
bw_http_ssl_close(bw_connection_t *c)
{
    bw_pool_t  *pool;

    c->destroyed = 1;
    pool = c->pool;
    bw_close_connection(c);
    bw_destroy_pool(pool);
}

/*
 * SNI, read from the ClientHello before OpenSSL looks at anything else:
 * the server it names gives its SSL_CTX (certificates, client
 * certificate policy, session ID context) before a session or ticket is
 * looked up, so that a session is resumed only by the server that made
 * it (or one with the same certificates and policy). Protocol versions
 * stay the default server's, as in nginx. Unknown names get the default
 * server.
 */
int
bw_http_ssl_client_hello(SSL *ssl, int *ad, void *arg)
{
    size_t                    len, n;
    SSL_CTX                  *ctx;
    bw_str_t                  host, *name;
    const u_char             *p;
    bw_connection_t          *c;
    bw_http_connection_t     *hc;
    bw_http_ssl_srv_conf_t   *sscf;
    bw_http_core_srv_conf_t  *cscf;

    c = SSL_get_ex_data(ssl, bw_ssl_connection_index);
    if (c == NULL || c->ssl == NULL || c->ssl->handshaked) {
        return SSL_CLIENT_HELLO_SUCCESS;
    }

    hc = c->data;
    cscf = hc->addr_conf->default_server;
    host.len = 0;

    /* server_name: list length, then entries of type, length, name;
     * the first host_name entry counts */
    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &len)
        && len > 2)
    {
        n = ((size_t) p[0] << 8) | p[1];
        if (n + 2 != len || n < 3 || p[2] != TLSEXT_NAMETYPE_host_name) {
            goto invalid;
        }
        n = ((size_t) p[3] << 8) | p[4];
        if (n + 5 > len || n == 0) {
            goto invalid;
        }

        host.len = n;
        host.data = bw_pnalloc(c->pool, n + 1);
        if (host.data == NULL) {
            *ad = SSL_AD_INTERNAL_ERROR;
            return SSL_CLIENT_HELLO_ERROR;
        }
        memcpy(host.data, p + 5, n);
        host.data[n] = '\0';

        if (memchr(host.data, '\0', n)
            || bw_http_validate_host(&host, c->pool, 1) != BW_OK)
        {
            goto invalid;
        }

        name = bw_palloc(c->pool, sizeof(bw_str_t));
        if (name == NULL) {
            *ad = SSL_AD_INTERNAL_ERROR;
            return SSL_CLIENT_HELLO_ERROR;
        }
        *name = host;
        hc->ssl_servername = name;

        cscf = bw_http_find_virtual_server(c, hc->addr_conf, &host, NULL);
        if (cscf == NULL) {
            *ad = SSL_AD_INTERNAL_ERROR;
            return SSL_CLIENT_HELLO_ERROR;
        }
    }

    hc->ssl_server = cscf;
    sscf = cscf->ctx->srv_conf[bw_http_ssl_module.ctx_index];

    if (sscf->reject_handshake) {
        c->ssl->handshake_rejected = 1;
        bw_log_error(BW_LOG_INFO, c->log, 0,
                     "SSL handshake rejected for \"%.*s\"",
                     (int) host.len, host.data);
        *ad = SSL_AD_UNRECOGNIZED_NAME;
        return SSL_CLIENT_HELLO_ERROR;
    }

    ctx = sscf->ssl.ctx;
    if (ctx == NULL || ctx == SSL_get_SSL_CTX(ssl)) {
        return SSL_CLIENT_HELLO_SUCCESS;
    }

    if (SSL_set_SSL_CTX(ssl, ctx) == NULL) {
        *ad = SSL_AD_INTERNAL_ERROR;
        return SSL_CLIENT_HELLO_ERROR;
    }

    /* what SSL_set_SSL_CTX() leaves as it was: the client certificate
     * policy and the options of the chosen server */
    SSL_set_verify(ssl, SSL_CTX_get_verify_mode(ctx),
                   SSL_CTX_get_verify_callback(ctx));
    SSL_set_verify_depth(ssl, SSL_CTX_get_verify_depth(ctx));
    SSL_clear_options(ssl, SSL_get_options(ssl) & ~SSL_CTX_get_options(ctx));
    SSL_set_options(ssl, SSL_CTX_get_options(ctx));

    c->ssl->buffer_size = sscf->ssl.buffer_size;

    return SSL_CLIENT_HELLO_SUCCESS;

invalid:

    bw_log_error(BW_LOG_INFO, c->log, 0,
                 "client sent an invalid server name");
    *ad = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_CLIENT_HELLO_ERROR;
}

/* The name was dealt with in bw_http_ssl_client_hello(): acknowledge
 * it, as a server that uses it does. */
int
bw_http_ssl_servername(SSL *ssl, int *ad, void *arg)
{
    return SSL_TLSEXT_ERR_OK;
}

int
bw_http_ssl_alpn_select(SSL *ssl, const unsigned char **out,
    unsigned char *outlen, const unsigned char *in, unsigned int inlen,
    void *arg)
{
    const unsigned char  *srv;
    unsigned int          srvlen;
    bw_connection_t      *c;

    srv = bw_http_ssl_alpn_http1;
    srvlen = sizeof(bw_http_ssl_alpn_http1) - 1;

    /* "h2" where the listen or the server SNI chose says http2 */
    c = SSL_get_ex_data(ssl, bw_ssl_connection_index);
    if (c && bw_http_v2_hooks && bw_http_v2_hooks->enabled(c)) {
        srv = bw_http_ssl_alpn_h2;
        srvlen = sizeof(bw_http_ssl_alpn_h2) - 1;
    }

    if (SSL_select_next_proto((unsigned char **) out, outlen, srv, srvlen,
                              in, inlen)
        != OPENSSL_NPN_NEGOTIATED)
    {
        /* nothing we speak: no_application_protocol, as nginx */
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }

    return SSL_TLSEXT_ERR_OK;
}

/* Every chain is let through: the request answers for it (495/496). */
int
bw_http_ssl_verify_callback(int ok, X509_STORE_CTX *x509_store)
{
    return 1;
}

/*
 * Host chose cscf. A request without Host stays with the server SNI
 * chose; one whose Host is not the SNI name may not reach a server that
 * asks for client certificates (the handshake asked for what SNI's
 * server wanted): NULL, answered with 421, as nginx.
 */
bw_http_core_srv_conf_t *
bw_http_ssl_virtual_server(bw_http_request_t *r, bw_str_t *host,
    bw_http_core_srv_conf_t *cscf)
{
    bw_str_t                 *sn;
    bw_http_connection_t     *hc;
    bw_http_ssl_srv_conf_t   *sscf;

    hc = r->http_connection;

    if (host->len == 0) {
        return hc->ssl_server ? hc->ssl_server : cscf;
    }

    sn = hc->ssl_servername;
    if (sn == NULL) {
        return cscf;
    }

    if (sn->len == host->len
        && bw_strncasecmp(sn->data, host->data, host->len) == 0)
    {
        return hc->ssl_server ? hc->ssl_server : cscf;
    }

    sscf = cscf->ctx->srv_conf[bw_http_ssl_module.ctx_index];

    if (sscf->verify != BW_HTTP_SSL_VERIFY_OFF) {
        bw_log_error(BW_LOG_INFO, r->connection->log, 0,
                     "client attempted to request the server name "
                     "different from the one that was negotiated");
        return NULL;
    }

    return cscf;
}

/*
 * Before the phases: plain HTTP on the TLS port, and the client
 * certificate as the server (chosen by Host by now) wants it.
 */
bw_int_t
bw_http_ssl_verify_request(bw_http_request_t *r)
{
    long                     rc;
    X509                    *cert;
    bw_connection_t         *c;
    bw_http_ssl_srv_conf_t  *sscf;

    c = r->connection;

    if (c->ssl == NULL) {
        bw_log_error(BW_LOG_INFO, c->log, 0,
                     "client sent plain HTTP request to HTTPS port");
        return BW_HTTP_TO_HTTPS;
    }

    sscf = r->srv_conf[bw_http_ssl_module.ctx_index];

    if (sscf->verify == BW_HTTP_SSL_VERIFY_OFF) {
        return BW_OK;
    }

    rc = SSL_get_verify_result(c->ssl->connection);

    if (rc != X509_V_OK
        && (sscf->verify != BW_HTTP_SSL_VERIFY_OPTIONAL_NO_CA
            || !bw_http_ssl_verify_error_optional(rc)))
    {
        bw_log_error(BW_LOG_INFO, c->log, 0,
                     "client SSL certificate verify error: (%ld:%s)",
                     rc, X509_verify_cert_error_string(rc));
        if (!c->ssl->verify_counted) {
            /* once a connection, however many requests (streams) ask */
            c->ssl->verify_counted = 1;
            bw_stat_add(ssl_verify_failures[
                            rc == X509_V_ERR_CERT_HAS_EXPIRED
                            ? BW_SSL_VERIFY_EXPIRED
                            : rc == X509_V_ERR_CERT_REVOKED
                            ? BW_SSL_VERIFY_REVOKED : BW_SSL_VERIFY_OTHER],
                        1);
        }
        /* the session is not to be resumed past this check */
        SSL_CTX_remove_session(SSL_get_SSL_CTX(c->ssl->connection),
                               SSL_get0_session(c->ssl->connection));
        return BW_HTTPS_CERT_ERROR;
    }

    if (sscf->verify == BW_HTTP_SSL_VERIFY_ON) {
        cert = SSL_get1_peer_certificate(c->ssl->connection);
        if (cert == NULL) {
            bw_log_error(BW_LOG_INFO, c->log, 0,
                         "client sent no required SSL certificate");
            if (!c->ssl->verify_counted) {
                c->ssl->verify_counted = 1;
                bw_stat_add(ssl_verify_failures[BW_SSL_VERIFY_NO_CERT], 1);
            }
            SSL_CTX_remove_session(SSL_get_SSL_CTX(c->ssl->connection),
                                   SSL_get0_session(c->ssl->connection));
            return BW_HTTPS_NO_CERT;
        }
        X509_free(cert);
    }

    return BW_OK;
}

static bw_uint_t
bw_http_ssl_verify_error_optional(long n)
{
    return n == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
           || n == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
           || n == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT
           || n == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
           || n == X509_V_ERR_CERT_UNTRUSTED
           || n == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE;
}

static void
bw_http_ssl_empty_handler(bw_event_t *ev)
{
}
