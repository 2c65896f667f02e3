/*
 * TLS to upstreams (proxy_pass https://): the client handshake on a
 * connected socket, before the request goes out; the server's name
 * sent (SNI) and checked against its certificate; sessions kept per
 * upstream address so that the next connection resumes instead of
 * doing a full handshake. A pooled keepalive connection keeps its TLS
 * and skips all of this.
 *
 * A failed handshake or a certificate that does not check out is an
 * error of the attempt: logged with the reason, then the next peer
 * (proxy_next_upstream error) or 502.
 */

#include <bw_core.h>
#include <bw_http.h>

/* What a connection's sessions are filed under: its context, address
 * and server name, copied into the connection's pool, so that a ticket
 * that comes late (or on a pooled connection serving another request)
 * goes where the connection was made. */
typedef struct {
    bw_http_upstream_ssl_t          *ussl;
    bw_http_upstream_ssl_session_t   key;
} bw_http_upstream_ssl_peer_t;

static void bw_http_upstream_ssl_handshake(bw_http_request_t *r,
    bw_http_upstream_t *u, bw_connection_t *c);
static void bw_http_upstream_ssl_handshake_handler(bw_connection_t *c);
static void bw_http_upstream_ssl_handshake_done(bw_http_request_t *r,
    bw_http_upstream_t *u, bw_connection_t *c);
static bw_int_t bw_http_upstream_ssl_name(bw_http_request_t *r,
    bw_http_upstream_t *u, bw_connection_t *c);
static bw_uint_t bw_http_upstream_ssl_is_address(bw_str_t *name,
    u_char *buf, size_t size);
static bw_int_t bw_http_upstream_ssl_certificate(bw_http_request_t *r,
    bw_http_upstream_t *u, bw_connection_t *c);
static bw_int_t bw_http_upstream_ssl_file_name(bw_http_request_t *r,
    bw_http_complex_value_t *cv, bw_str_t *name);
static bw_http_upstream_ssl_session_t *bw_http_upstream_ssl_slot(
    bw_http_upstream_ssl_peer_t *peer, bw_uint_t take);
static int bw_http_upstream_ssl_new_session(SSL *ssl, SSL_SESSION *sess);
static int bw_http_upstream_ssl_verify_callback(int ok,
    X509_STORE_CTX *x509_store);
static void bw_http_upstream_ssl_cleanup(void *data);

/*
 * The context is made by the module that owns the directives (it has
 * loaded certificates and CAs into ussl->ssl); this adds what the
 * framework needs of it.
 */
bw_int_t
bw_http_upstream_ssl_setup(bw_conf_t *cf, bw_http_upstream_ssl_t *ussl,
    bw_uint_t session_reuse, bw_uint_t verify, bw_uint_t depth)
{
    bw_pool_cleanup_t  *cln;

    cln = bw_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return BW_ERROR;
    }
    cln->handler = bw_http_upstream_ssl_cleanup;
    cln->data = ussl;

    if (verify) {
        /* the verdict is read after the handshake, so that the log
         * says why (as nginx) rather than "handshake failed" */
        SSL_CTX_set_verify(ussl->ssl.ctx, SSL_VERIFY_PEER,
                           bw_http_upstream_ssl_verify_callback);
        SSL_CTX_set_verify_depth(ussl->ssl.ctx, (int) depth);
    }

    if (!session_reuse) {
        SSL_CTX_set_session_cache_mode(ussl->ssl.ctx, SSL_SESS_CACHE_OFF);
        return BW_OK;
    }

    ussl->sessions = bw_pcalloc(cf->pool, BW_HTTP_UPSTREAM_SSL_SESSIONS
                                * sizeof(bw_http_upstream_ssl_session_t));
    if (ussl->sessions == NULL) {
        return BW_ERROR;
    }

    /* sessions arrive by callback: with TLS 1.3 a ticket comes after
     * the handshake, with the first response */
    SSL_CTX_set_session_cache_mode(ussl->ssl.ctx,
                                   SSL_SESS_CACHE_CLIENT
                                   | SSL_SESS_CACHE_NO_INTERNAL);
    SSL_CTX_sess_set_new_cb(ussl->ssl.ctx, bw_http_upstream_ssl_new_session);

    return BW_OK;
}

static void
bw_http_upstream_ssl_cleanup(void *data)
{
    bw_http_upstream_ssl_t  *ussl = data;

    bw_uint_t  i;

    if (ussl->sessions) {
        for (i = 0; i < BW_HTTP_UPSTREAM_SSL_SESSIONS; i++) {
            if (ussl->sessions[i].session) {
                SSL_SESSION_free(ussl->sessions[i].session);
                ussl->sessions[i].session = NULL;
            }
        }
    }

    bw_ssl_cleanup_ctx(&ussl->ssl);
}

static int
bw_http_upstream_ssl_verify_callback(int ok, X509_STORE_CTX *x509_store)
{
    return 1;
}

/* Connected (or not: test_connect tells): start the handshake. */
void
bw_http_upstream_ssl_init_connection(bw_http_request_t *r,
    bw_http_upstream_t *u, bw_connection_t *c)
{
    int                              err;
    socklen_t                        len;
    bw_http_upstream_ssl_peer_t     *peer;
    bw_http_upstream_ssl_session_t  *slot;

    err = 0;
    len = sizeof(int);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len) == -1)
    {
        err = errno;
    }
    if (err) {
        c->log->action = "connecting to upstream";
        bw_log_error(BW_LOG_ERR, c->log, err, "connect() failed");
        bw_http_upstream_next(r, u, BW_HTTP_UPSTREAM_FT_ERROR);
        return;
    }

    if (c->pool == NULL) {
        /* TLS state and record buffers; kept with a pooled connection,
         * destroyed when it closes (bw_close_peer_connection) */
        c->pool = bw_create_pool(128, c->log);
        if (c->pool == NULL) {
            bw_http_upstream_finalize_request(r, u,
                                          BW_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    if (u->conf->ssl == NULL || u->conf->ssl->ssl.ctx == NULL
        || bw_ssl_create_connection(&u->conf->ssl->ssl, c, 0) != BW_OK)
    {
        bw_http_upstream_finalize_request(r, u,
                                          BW_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (bw_http_upstream_ssl_name(r, u, c) != BW_OK) {
        bw_http_upstream_finalize_request(r, u,
                                          BW_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (u->conf->ssl_certificate
        && bw_http_upstream_ssl_certificate(r, u, c) != BW_OK)
    {
        bw_http_upstream_finalize_request(r, u,
                                          BW_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* (a client certificate chosen per request is an identity per
     * request: its sessions are not shared) */
    if (u->conf->ssl_session_reuse && u->conf->ssl->sessions
        && u->conf->ssl_certificate == NULL
        && u->peer.socklen <= sizeof(bw_sockaddr_t)
        && u->ssl_sni.len <= BW_HTTP_UPSTREAM_SSL_NAME_LEN)
    {
        peer = bw_pcalloc(c->pool, sizeof(bw_http_upstream_ssl_peer_t));
        if (peer == NULL) {
            bw_http_upstream_finalize_request(r, u,
                                          BW_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
        peer->ussl = u->conf->ssl;
        memcpy(&peer->key.sockaddr, u->peer.sockaddr, u->peer.socklen);
        peer->key.socklen = u->peer.socklen;
        peer->key.name_len = u->ssl_sni.len;
        if (u->ssl_sni.len) {
            memcpy(peer->key.name, u->ssl_sni.data, u->ssl_sni.len);
        }
        c->ssl->data = peer;

        slot = bw_http_upstream_ssl_slot(peer, 0);
        if (slot && SSL_set_session(c->ssl->connection, slot->session) == 0)
        {
            bw_ssl_error(BW_LOG_ALERT, c->log, 0,
                         "SSL_set_session() failed");
            bw_http_upstream_finalize_request(r, u,
                                          BW_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    r->connection->log->action = "SSL handshaking to upstream";

    bw_http_upstream_ssl_handshake(r, u, c);
}

static void
bw_http_upstream_ssl_handshake(bw_http_request_t *r, bw_http_upstream_t *u,
    bw_connection_t *c)
{
    bw_int_t  rc;

    rc = bw_ssl_handshake(c);

    if (rc == BW_AGAIN) {
        if (!c->write->timer_set) {
            bw_event_add_timer(c->write, u->conf->connect_timeout);
        }
        c->ssl->handler = bw_http_upstream_ssl_handshake_handler;
        return;
    }

    bw_http_upstream_ssl_handshake_done(r, u, c);
}

/* The handshake went on in events of its own: then the client's posted
 * requests run, as after any upstream event. */
static void
bw_http_upstream_ssl_handshake_handler(bw_connection_t *c)
{
    bw_connection_t     *client;
    bw_http_request_t   *r;

    r = c->data;
    client = r->connection;

    bw_http_upstream_ssl_handshake_done(r, r->upstream, c);

    bw_http_run_posted_requests(client);
}

static void
bw_http_upstream_ssl_handshake_done(bw_http_request_t *r,
    bw_http_upstream_t *u, bw_connection_t *c)
{
    long  rc;

    if (c->ssl == NULL || !c->ssl->handshaked) {
        if (c->timedout || c->write->timedout) {
            /* (next() says "upstream timed out") */
            c->write->timedout = 0;
            bw_http_upstream_next(r, u, BW_HTTP_UPSTREAM_FT_TIMEOUT);
        } else {
            bw_http_upstream_next(r, u, BW_HTTP_UPSTREAM_FT_ERROR);
        }
        return;
    }

    if (u->conf->ssl_verify) {
        rc = SSL_get_verify_result(c->ssl->connection);
        if (rc != X509_V_OK) {
            bw_log_error(BW_LOG_ERR, c->log, 0,
                         "upstream SSL certificate verify error: (%ld:%s)",
                         rc, X509_verify_cert_error_string(rc));
            bw_http_upstream_next(r, u, BW_HTTP_UPSTREAM_FT_ERROR);
            return;
        }

        if (bw_http_upstream_ssl_check_host(c, &u->ssl_name) != BW_OK) {
            bw_log_error(BW_LOG_ERR, c->log, 0,
                         "upstream SSL certificate does not match \"%.*s\"",
                         (int) u->ssl_name.len, u->ssl_name.data);
            bw_http_upstream_next(r, u, BW_HTTP_UPSTREAM_FT_ERROR);
            return;
        }
    }

    if (c->write->timer_set) {
        bw_event_del_timer(c->write);
    }

    bw_log_debug(c->log, "upstream SSL handshake done%s",
                 SSL_session_reused(c->ssl->connection) ? ", resumed" : "");

    bw_http_upstream_ssl_handshaked(r, u);
}

/*
 * The name sent as SNI (with proxy_ssl_server_name on) and checked
 * against the certificate (with proxy_ssl_verify on): proxy_ssl_name, or
 * the host of proxy_pass, without a port. An address is not a name:
 * never sent (RFC 6066), but checked against the certificate's IPs.
 */
static bw_int_t
bw_http_upstream_ssl_name(bw_http_request_t *r, bw_http_upstream_t *u,
    bw_connection_t *c)
{
    u_char     *p;
    bw_str_t    name;
    bw_uint_t   address;

    u->ssl_sni.len = 0;
    u->ssl_sni.data = NULL;

    if (u->conf->ssl_name) {
        if (bw_http_complex_value(r, u->conf->ssl_name, &name) != BW_OK) {
            return BW_ERROR;
        }
    } else if (u->resolved) {
        name = u->resolved->host;
    } else if (u->upstream) {
        name = u->upstream->host;
    } else {
        name.len = 0;
        name.data = NULL;
    }

    if (name.len == 0) {
        goto done;
    }

    address = bw_http_upstream_ssl_host_part(&name);

    if (!u->conf->ssl_server_name) {
        goto done;
    }

    /* a literal address is never sent as a server name */
    if (address) {
        goto done;
    }

    p = bw_pnalloc(r->pool, name.len + 1);
    if (p == NULL) {
        return BW_ERROR;
    }
    memcpy(p, name.data, name.len);
    p[name.len] = '\0';

    if (SSL_set_tlsext_host_name(c->ssl->connection, (char *) p) == 0) {
        bw_ssl_error(BW_LOG_ERR, r->connection->log, 0,
                     "SSL_set_tlsext_host_name(\"%s\") failed", p);
        return BW_ERROR;
    }

    name.data = p;
    u->ssl_sni = name;

done:

    u->ssl_name = name;
    return BW_OK;
}

bw_uint_t
bw_http_upstream_ssl_host_part(bw_str_t *name)
{
    u_char  *p, buf[64];

    if (name->len && *name->data == '[') {
        p = memchr(name->data, ']', name->len);
        if (p) {
            name->data++;
            name->len = p - name->data;
        }
    } else {
        p = memchr(name->data, ':', name->len);
        if (p) {
            name->len = p - name->data;
        }
    }

    return bw_http_upstream_ssl_is_address(name, buf, sizeof(buf));
}

bw_int_t
bw_http_upstream_ssl_check_host(bw_connection_t *c, bw_str_t *name)
{
    int       rc;
    X509     *cert;
    u_char    buf[64];

    cert = SSL_get0_peer_certificate(c->ssl->connection);
    if (cert == NULL || name->len == 0) {
        return BW_ERROR;
    }

    if (bw_http_upstream_ssl_is_address(name, buf, sizeof(buf))) {
        rc = X509_check_ip_asc(cert, (char *) buf, 0);

    } else {
        rc = X509_check_host(cert, (char *) name->data, name->len, 0, NULL);
    }

    return rc == 1 ? BW_OK : BW_ERROR;
}

/* A value of proxy_ssl_certificate(_key) with variables: a full file
 * name, NUL-terminated (relative ones from the configuration's folder) */
static bw_int_t
bw_http_upstream_ssl_file_name(bw_http_request_t *r,
    bw_http_complex_value_t *cv, bw_str_t *name)
{
    u_char    *p;
    bw_str_t   value, *prefix;

    if (bw_http_complex_value(r, cv, &value) != BW_OK) {
        return BW_ERROR;
    }

    prefix = &bw_cycle->conf_prefix;
    if (value.len && value.data[0] == '/') {
        prefix = NULL;
    }

    name->len = (prefix ? prefix->len : 0) + value.len;
    name->data = bw_pnalloc(r->pool, name->len + 1);
    if (name->data == NULL) {
        return BW_ERROR;
    }

    p = name->data;
    if (prefix) {
        p = bw_cpymem(p, prefix->data, prefix->len);
    }
    p = bw_cpymem(p, value.data, value.len);
    *p = '\0';

    return value.len ? BW_OK : BW_DECLINED;
}

/* The client certificate of this request's names: none when the
 * certificate's value is empty, as nginx. */
static bw_int_t
bw_http_upstream_ssl_certificate(bw_http_request_t *r, bw_http_upstream_t *u,
    bw_connection_t *c)
{
    bw_int_t  rc;
    bw_str_t  cert, key;

    rc = bw_http_upstream_ssl_file_name(r, u->conf->ssl_certificate, &cert);
    if (rc == BW_DECLINED) {
        return BW_OK;
    }
    if (rc != BW_OK
        || bw_http_upstream_ssl_file_name(r, u->conf->ssl_certificate_key,
                                          &key) == BW_ERROR)
    {
        return BW_ERROR;
    }

    return bw_ssl_use_certificate_files(c, c->ssl->connection, &cert, &key,
                                        u->conf->ssl_passwords);
}

/* name is an IPv4 or IPv6 literal; buf gets it NUL-terminated */
static bw_uint_t
bw_http_upstream_ssl_is_address(bw_str_t *name, u_char *buf, size_t size)
{
    u_char  addr[sizeof(struct in6_addr)];

    if (name->len == 0 || name->len >= size) {
        return 0;
    }

    memcpy(buf, name->data, name->len);
    buf[name->len] = '\0';

    return inet_pton(AF_INET, (char *) buf, addr) == 1
           || inet_pton(AF_INET6, (char *) buf, addr) == 1;
}

/* The slot of a connection's address and server name; with take, one
 * for them if they have none. */
static bw_http_upstream_ssl_session_t *
bw_http_upstream_ssl_slot(bw_http_upstream_ssl_peer_t *peer, bw_uint_t take)
{
    bw_uint_t                        i;
    bw_http_upstream_ssl_t          *ussl;
    bw_http_upstream_ssl_session_t  *s, *key;

    ussl = peer->ussl;
    key = &peer->key;

    for (i = 0; i < BW_HTTP_UPSTREAM_SSL_SESSIONS; i++) {
        s = &ussl->sessions[i];
        if (s->session == NULL || s->name_len != key->name_len
            || (s->name_len && memcmp(s->name, key->name, s->name_len) != 0))
        {
            continue;
        }
        if (bw_cmp_sockaddr(&s->sockaddr.sockaddr, s->socklen,
                            &key->sockaddr.sockaddr, key->socklen, 1)
            == BW_OK)
        {
            return s;
        }
    }

    if (!take) {
        return NULL;
    }

    s = &ussl->sessions[ussl->next];
    ussl->next = (ussl->next + 1) % BW_HTTP_UPSTREAM_SSL_SESSIONS;

    if (s->session) {
        SSL_SESSION_free(s->session);
        s->session = NULL;
    }
    memcpy(&s->sockaddr, &key->sockaddr, key->socklen);
    s->socklen = key->socklen;
    s->name_len = key->name_len;
    if (s->name_len) {
        memcpy(s->name, key->name, s->name_len);
    }

    return s;
}

/* A session (or a TLS 1.3 ticket) from an upstream: the next connection
 * to the same address resumes it. Returns 1: the reference is kept. */
static int
bw_http_upstream_ssl_new_session(SSL *ssl, SSL_SESSION *sess)
{
    bw_connection_t                 *c;
    bw_http_upstream_ssl_peer_t     *peer;
    bw_http_upstream_ssl_session_t  *slot;

    c = SSL_get_ex_data(ssl, bw_ssl_connection_index);
    if (c == NULL || c->ssl == NULL || c->ssl->data == NULL) {
        return 0;
    }

    /* the connection's own key: never the request's, which may be
     * another location's on a pooled connection */
    peer = c->ssl->data;
    if (peer->ussl->sessions == NULL) {
        return 0;
    }

    slot = bw_http_upstream_ssl_slot(peer, 1);
    if (slot->session) {
        SSL_SESSION_free(slot->session);
    }
    slot->session = sess;

    bw_log_debug(c->log, "upstream SSL session saved");

    return 1;
}
