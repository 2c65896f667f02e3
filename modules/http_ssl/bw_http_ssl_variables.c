/*
 * The $ssl_* variables, as nginx's: not found on a plain connection,
 * and wherever there is nothing to say (no SNI, no ALPN, no client
 * certificate: but $ssl_client_verify, which then says NONE).
 */

#include <bw_http_ssl_module.h>

#include <openssl/pem.h>

typedef bw_int_t (*bw_http_ssl_get_pt)(bw_connection_t *c, bw_pool_t *pool,
    bw_str_t *s);

static bw_int_t bw_http_ssl_variable(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);

static bw_int_t bw_http_ssl_get_protocol(bw_connection_t *c, bw_pool_t *pool,
    bw_str_t *s);
static bw_int_t bw_http_ssl_get_cipher(bw_connection_t *c, bw_pool_t *pool,
    bw_str_t *s);
static bw_int_t bw_http_ssl_get_ciphers(bw_connection_t *c, bw_pool_t *pool,
    bw_str_t *s);
static bw_int_t bw_http_ssl_get_curve(bw_connection_t *c, bw_pool_t *pool,
    bw_str_t *s);
static bw_int_t bw_http_ssl_get_curves(bw_connection_t *c, bw_pool_t *pool,
    bw_str_t *s);
static bw_int_t bw_http_ssl_get_server_name(bw_connection_t *c,
    bw_pool_t *pool, bw_str_t *s);
static bw_int_t bw_http_ssl_get_alpn(bw_connection_t *c, bw_pool_t *pool,
    bw_str_t *s);
static bw_int_t bw_http_ssl_get_session_id(bw_connection_t *c,
    bw_pool_t *pool, bw_str_t *s);
static bw_int_t bw_http_ssl_get_session_reused(bw_connection_t *c,
    bw_pool_t *pool, bw_str_t *s);
static bw_int_t bw_http_ssl_get_early_data(bw_connection_t *c,
    bw_pool_t *pool, bw_str_t *s);
static bw_int_t bw_http_ssl_get_client_verify(bw_connection_t *c,
    bw_pool_t *pool, bw_str_t *s);
static bw_int_t bw_http_ssl_get_subject_dn(bw_connection_t *c,
    bw_pool_t *pool, bw_str_t *s);
static bw_int_t bw_http_ssl_get_issuer_dn(bw_connection_t *c,
    bw_pool_t *pool, bw_str_t *s);
static bw_int_t bw_http_ssl_get_serial(bw_connection_t *c, bw_pool_t *pool,
    bw_str_t *s);
static bw_int_t bw_http_ssl_get_fingerprint(bw_connection_t *c,
    bw_pool_t *pool, bw_str_t *s);
static bw_int_t bw_http_ssl_get_raw_cert(bw_connection_t *c,
    bw_pool_t *pool, bw_str_t *s);
static bw_int_t bw_http_ssl_get_cert(bw_connection_t *c, bw_pool_t *pool,
    bw_str_t *s);
static bw_int_t bw_http_ssl_get_escaped_cert(bw_connection_t *c,
    bw_pool_t *pool, bw_str_t *s);
static bw_int_t bw_http_ssl_get_v_start(bw_connection_t *c,
    bw_pool_t *pool, bw_str_t *s);
static bw_int_t bw_http_ssl_get_v_end(bw_connection_t *c, bw_pool_t *pool,
    bw_str_t *s);
static bw_int_t bw_http_ssl_get_v_remain(bw_connection_t *c,
    bw_pool_t *pool, bw_str_t *s);

#define V(name, get)  \
    { bw_string(name), NULL, bw_http_ssl_variable, (uintptr_t) get, 0, 0 }

static bw_http_variable_t  bw_http_ssl_vars[] = {
    V("ssl_protocol", bw_http_ssl_get_protocol),
    V("ssl_cipher", bw_http_ssl_get_cipher),
    V("ssl_ciphers", bw_http_ssl_get_ciphers),
    V("ssl_curve", bw_http_ssl_get_curve),
    V("ssl_curves", bw_http_ssl_get_curves),
    V("ssl_server_name", bw_http_ssl_get_server_name),
    V("ssl_alpn_protocol", bw_http_ssl_get_alpn),
    V("ssl_session_id", bw_http_ssl_get_session_id),
    V("ssl_session_reused", bw_http_ssl_get_session_reused),
    V("ssl_early_data", bw_http_ssl_get_early_data),
    V("ssl_client_verify", bw_http_ssl_get_client_verify),
    V("ssl_client_s_dn", bw_http_ssl_get_subject_dn),
    V("ssl_client_i_dn", bw_http_ssl_get_issuer_dn),
    V("ssl_client_serial", bw_http_ssl_get_serial),
    V("ssl_client_fingerprint", bw_http_ssl_get_fingerprint),
    V("ssl_client_raw_cert", bw_http_ssl_get_raw_cert),
    V("ssl_client_cert", bw_http_ssl_get_cert),
    V("ssl_client_escaped_cert", bw_http_ssl_get_escaped_cert),
    V("ssl_client_v_start", bw_http_ssl_get_v_start),
    V("ssl_client_v_end", bw_http_ssl_get_v_end),
    V("ssl_client_v_remain", bw_http_ssl_get_v_remain),
    bw_http_null_variable
};

bw_int_t
bw_http_ssl_add_variables(bw_conf_t *cf)
{
    return bw_http_add_variables(cf, bw_http_ssl_vars);
}

static bw_int_t
bw_http_ssl_variable(bw_http_request_t *r, bw_http_variable_value_t *v,
    uintptr_t data)
{
    bw_str_t            s;
    bw_http_ssl_get_pt  get = (bw_http_ssl_get_pt) data;

    if (r->connection->ssl == NULL) {
        v->not_found = 1;
        return BW_OK;
    }

    s.len = 0;
    s.data = (u_char *) "";

    if (get(r->connection, r->pool, &s) != BW_OK) {
        return BW_ERROR;
    }

    if (s.len == 0) {
        /* nothing to say is "not found" ("-" in a log), as nginx */
        v->not_found = 1;
        return BW_OK;
    }

    bw_var_set(v, s.data, s.len);
    return BW_OK;
}

static bw_int_t
bw_http_ssl_copy(bw_pool_t *pool, const char *text, size_t len, bw_str_t *s)
{
    s->data = bw_pnalloc(pool, len + 1);
    if (s->data == NULL) {
        return BW_ERROR;
    }
    memcpy(s->data, text, len);
    s->data[len] = '\0';
    s->len = len;
    return BW_OK;
}

/* What was printed into a memory BIO, copied into the pool. */
static bw_int_t
bw_http_ssl_bio_text(BIO *bio, bw_pool_t *pool, bw_str_t *s)
{
    long    len;
    char   *p;

    len = BIO_get_mem_data(bio, &p);
    if (len < 0) {
        return BW_ERROR;
    }
    return bw_http_ssl_copy(pool, p, (size_t) len, s);
}

static bw_int_t
bw_http_ssl_get_protocol(bw_connection_t *c, bw_pool_t *pool, bw_str_t *s)
{
    const char  *v = SSL_get_version(c->ssl->connection);

    return bw_http_ssl_copy(pool, v, strlen(v), s);
}

static bw_int_t
bw_http_ssl_get_cipher(bw_connection_t *c, bw_pool_t *pool, bw_str_t *s)
{
    const char  *v = SSL_get_cipher_name(c->ssl->connection);

    return bw_http_ssl_copy(pool, v, strlen(v), s);
}

static bw_int_t
bw_http_ssl_get_ciphers(bw_connection_t *c, bw_pool_t *pool, bw_str_t *s)
{
    int                   i, n;
    u_char               *p;
    size_t                len;
    const char           *name;
    STACK_OF(SSL_CIPHER) *ciphers;

    ciphers = SSL_get_client_ciphers(c->ssl->connection);
    if (ciphers == NULL) {
        return BW_OK;
    }

    n = sk_SSL_CIPHER_num(ciphers);
    len = 0;
    for (i = 0; i < n; i++) {
        len += strlen(SSL_CIPHER_get_name(sk_SSL_CIPHER_value(ciphers, i)))
               + 1;
    }
    if (len == 0) {
        return BW_OK;
    }

    p = bw_pnalloc(pool, len);
    if (p == NULL) {
        return BW_ERROR;
    }
    s->data = p;

    for (i = 0; i < n; i++) {
        name = SSL_CIPHER_get_name(sk_SSL_CIPHER_value(ciphers, i));
        p = bw_cpymem(p, name, strlen(name));
        *p++ = ':';
    }

    s->len = len - 1;
    return BW_OK;
}

static bw_int_t
bw_http_ssl_group_name(SSL *ssl, int nid, u_char *buf, size_t size)
{
    const char  *name;

    /* OpenSSL's short names ("X25519", "prime256v1"), as nginx */
    name = (nid & TLSEXT_nid_unknown) ? NULL : OBJ_nid2sn(nid);
    if (name) {
        return bw_slprintf(buf, buf + size, "%s", name) - buf;
    }
    return bw_slprintf(buf, buf + size, "0x%04x", nid & 0xffff) - buf;
}

static bw_int_t
bw_http_ssl_get_curve(bw_connection_t *c, bw_pool_t *pool, bw_str_t *s)
{
    int     nid;
    u_char  buf[64];

    nid = SSL_get_negotiated_group(c->ssl->connection);
    if (nid == NID_undef) {
        return BW_OK;
    }

    return bw_http_ssl_copy(pool, (char *) buf,
                            bw_http_ssl_group_name(c->ssl->connection, nid,
                                                   buf, sizeof(buf)), s);
}

static bw_int_t
bw_http_ssl_get_curves(bw_connection_t *c, bw_pool_t *pool, bw_str_t *s)
{
    int      *curves, n, i;
    u_char   *p, *last;
    size_t    len;

    n = SSL_get1_curves(c->ssl->connection, NULL);
    if (n <= 0) {
        return BW_OK;
    }

    curves = bw_palloc(pool, n * sizeof(int));
    if (curves == NULL) {
        return BW_ERROR;
    }
    n = SSL_get1_curves(c->ssl->connection, curves);

    len = (size_t) n * 64;
    p = bw_pnalloc(pool, len);
    if (p == NULL) {
        return BW_ERROR;
    }
    s->data = p;
    last = p + len;

    for (i = 0; i < n; i++) {
        p += bw_http_ssl_group_name(c->ssl->connection, curves[i], p,
                                    last - p);
        if (i + 1 < n && p < last) {
            *p++ = ':';
        }
    }

    s->len = p - s->data;
    return BW_OK;
}

static bw_int_t
bw_http_ssl_get_server_name(bw_connection_t *c, bw_pool_t *pool,
    bw_str_t *s)
{
    const char  *name;

    name = SSL_get_servername(c->ssl->connection, TLSEXT_NAMETYPE_host_name);
    if (name == NULL) {
        return BW_OK;
    }
    return bw_http_ssl_copy(pool, name, strlen(name), s);
}

static bw_int_t
bw_http_ssl_get_alpn(bw_connection_t *c, bw_pool_t *pool, bw_str_t *s)
{
    unsigned int          len;
    const unsigned char  *data;

    SSL_get0_alpn_selected(c->ssl->connection, &data, &len);
    if (len == 0) {
        return BW_OK;
    }
    return bw_http_ssl_copy(pool, (const char *) data, len, s);
}

static bw_int_t
bw_http_ssl_get_session_id(bw_connection_t *c, bw_pool_t *pool,
    bw_str_t *s)
{
    u_char          *p;
    unsigned int     len;
    SSL_SESSION     *sess;
    const u_char    *id;

    sess = SSL_get0_session(c->ssl->connection);
    if (sess == NULL) {
        return BW_OK;
    }

    id = SSL_SESSION_get_id(sess, &len);
    if (len == 0) {
        return BW_OK;
    }

    p = bw_pnalloc(pool, 2 * len);
    if (p == NULL) {
        return BW_ERROR;
    }
    s->data = p;
    s->len = bw_hex_dump(p, (u_char *) id, len) - p;
    return BW_OK;
}

static bw_int_t
bw_http_ssl_get_session_reused(bw_connection_t *c, bw_pool_t *pool,
    bw_str_t *s)
{
    s->data = (u_char *) (SSL_session_reused(c->ssl->connection) ? "r"
                                                                  : ".");
    s->len = 1;
    return BW_OK;
}

static bw_int_t
bw_http_ssl_get_early_data(bw_connection_t *c, bw_pool_t *pool,
    bw_str_t *s)
{
    /* no early data is accepted (ssl_early_data is not there yet) */
    return BW_OK;
}

static bw_int_t
bw_http_ssl_get_client_verify(bw_connection_t *c, bw_pool_t *pool,
    bw_str_t *s)
{
    long         rc;
    X509        *cert;
    const char  *str;
    u_char      *p;
    size_t       len;

    cert = SSL_get1_peer_certificate(c->ssl->connection);
    if (cert == NULL) {
        bw_str_set(s, "NONE");
        return BW_OK;
    }
    X509_free(cert);

    rc = SSL_get_verify_result(c->ssl->connection);
    if (rc == X509_V_OK) {
        bw_str_set(s, "SUCCESS");
        return BW_OK;
    }

    str = X509_verify_cert_error_string(rc);
    len = sizeof("FAILED:") - 1 + strlen(str);
    p = bw_pnalloc(pool, len + 1);
    if (p == NULL) {
        return BW_ERROR;
    }
    s->data = p;
    s->len = bw_slprintf(p, p + len + 1, "FAILED:%s", str) - p;
    return BW_OK;
}

static bw_int_t
bw_http_ssl_get_name(bw_connection_t *c, bw_pool_t *pool, bw_str_t *s,
    bw_uint_t issuer)
{
    BIO        *bio;
    X509       *cert;
    bw_int_t    rc;
    X509_NAME  *name;

    cert = SSL_get1_peer_certificate(c->ssl->connection);
    if (cert == NULL) {
        return BW_OK;
    }

    name = issuer ? X509_get_issuer_name(cert) : X509_get_subject_name(cert);

    bio = BIO_new(BIO_s_mem());
    if (bio == NULL) {
        X509_free(cert);
        return BW_ERROR;
    }

    rc = BW_ERROR;
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0) {
        rc = bw_http_ssl_bio_text(bio, pool, s);
    }

    BIO_free(bio);
    X509_free(cert);
    return rc;
}

static bw_int_t
bw_http_ssl_get_subject_dn(bw_connection_t *c, bw_pool_t *pool,
    bw_str_t *s)
{
    return bw_http_ssl_get_name(c, pool, s, 0);
}

static bw_int_t
bw_http_ssl_get_issuer_dn(bw_connection_t *c, bw_pool_t *pool, bw_str_t *s)
{
    return bw_http_ssl_get_name(c, pool, s, 1);
}

static bw_int_t
bw_http_ssl_get_serial(bw_connection_t *c, bw_pool_t *pool, bw_str_t *s)
{
    BIO       *bio;
    X509      *cert;
    bw_int_t   rc;

    cert = SSL_get1_peer_certificate(c->ssl->connection);
    if (cert == NULL) {
        return BW_OK;
    }

    bio = BIO_new(BIO_s_mem());
    if (bio == NULL) {
        X509_free(cert);
        return BW_ERROR;
    }

    rc = BW_ERROR;
    if (i2a_ASN1_INTEGER(bio, X509_get_serialNumber(cert)) >= 0) {
        rc = bw_http_ssl_bio_text(bio, pool, s);
    }

    BIO_free(bio);
    X509_free(cert);
    return rc;
}

static bw_int_t
bw_http_ssl_get_fingerprint(bw_connection_t *c, bw_pool_t *pool,
    bw_str_t *s)
{
    X509          *cert;
    u_char        *p;
    unsigned int   len;
    unsigned char  buf[EVP_MAX_MD_SIZE];

    cert = SSL_get1_peer_certificate(c->ssl->connection);
    if (cert == NULL) {
        return BW_OK;
    }

    if (X509_digest(cert, EVP_sha1(), buf, &len) == 0) {
        X509_free(cert);
        return BW_ERROR;
    }
    X509_free(cert);

    p = bw_pnalloc(pool, 2 * len);
    if (p == NULL) {
        return BW_ERROR;
    }
    s->data = p;
    s->len = bw_hex_dump(p, buf, len) - p;
    return BW_OK;
}

static bw_int_t
bw_http_ssl_get_raw_cert(bw_connection_t *c, bw_pool_t *pool, bw_str_t *s)
{
    BIO       *bio;
    X509      *cert;
    bw_int_t   rc;

    cert = SSL_get1_peer_certificate(c->ssl->connection);
    if (cert == NULL) {
        return BW_OK;
    }

    bio = BIO_new(BIO_s_mem());
    if (bio == NULL) {
        X509_free(cert);
        return BW_ERROR;
    }

    rc = BW_ERROR;
    if (PEM_write_bio_X509(bio, cert) != 0) {
        rc = bw_http_ssl_bio_text(bio, pool, s);
    }

    BIO_free(bio);
    X509_free(cert);
    return rc;
}

/* The PEM text with a tab after each inner line break, so that it can
 * go in a header (nginx's deprecated form). */
static bw_int_t
bw_http_ssl_get_cert(bw_connection_t *c, bw_pool_t *pool, bw_str_t *s)
{
    u_char    *p;
    size_t     len, i, n;
    bw_str_t   raw;

    if (bw_http_ssl_get_raw_cert(c, pool, &raw) != BW_OK) {
        return BW_ERROR;
    }
    if (raw.len == 0) {
        return BW_OK;
    }

    if (raw.data[raw.len - 1] == '\n') {
        raw.len--;
    }

    n = 0;
    for (i = 0; i < raw.len; i++) {
        n += (raw.data[i] == '\n');
    }

    len = raw.len + n;
    p = bw_pnalloc(pool, len);
    if (p == NULL) {
        return BW_ERROR;
    }
    s->data = p;
    s->len = len;

    for (i = 0; i < raw.len; i++) {
        *p++ = raw.data[i];
        if (raw.data[i] == '\n') {
            *p++ = '\t';
        }
    }

    return BW_OK;
}

/* The PEM text as one URI component: everything but unreserved
 * characters escaped. */
static bw_int_t
bw_http_ssl_get_escaped_cert(bw_connection_t *c, bw_pool_t *pool,
    bw_str_t *s)
{
    u_char           *p, ch;
    size_t            i, len;
    bw_str_t          raw;
    static const u_char  hex[] = "0123456789ABCDEF";

    if (bw_http_ssl_get_raw_cert(c, pool, &raw) != BW_OK) {
        return BW_ERROR;
    }
    if (raw.len == 0) {
        return BW_OK;
    }

    len = 3 * raw.len;
    p = bw_pnalloc(pool, len);
    if (p == NULL) {
        return BW_ERROR;
    }
    s->data = p;

    for (i = 0; i < raw.len; i++) {
        ch = raw.data[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
            || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.'
            || ch == '_' || ch == '~')
        {
            *p++ = ch;
        } else {
            *p++ = '%';
            *p++ = hex[ch >> 4];
            *p++ = hex[ch & 0xf];
        }
    }

    s->len = p - s->data;
    return BW_OK;
}

static bw_int_t
bw_http_ssl_get_time(bw_connection_t *c, bw_pool_t *pool, bw_str_t *s,
    bw_uint_t end)
{
    BIO       *bio;
    X509      *cert;
    bw_int_t   rc;

    cert = SSL_get1_peer_certificate(c->ssl->connection);
    if (cert == NULL) {
        return BW_OK;
    }

    bio = BIO_new(BIO_s_mem());
    if (bio == NULL) {
        X509_free(cert);
        return BW_ERROR;
    }

    rc = BW_ERROR;
    if (ASN1_TIME_print(bio, end ? X509_get0_notAfter(cert)
                                 : X509_get0_notBefore(cert)))
    {
        rc = bw_http_ssl_bio_text(bio, pool, s);
    }

    BIO_free(bio);
    X509_free(cert);
    return rc;
}

static bw_int_t
bw_http_ssl_get_v_start(bw_connection_t *c, bw_pool_t *pool, bw_str_t *s)
{
    return bw_http_ssl_get_time(c, pool, s, 0);
}

static bw_int_t
bw_http_ssl_get_v_end(bw_connection_t *c, bw_pool_t *pool, bw_str_t *s)
{
    return bw_http_ssl_get_time(c, pool, s, 1);
}

static bw_int_t
bw_http_ssl_get_v_remain(bw_connection_t *c, bw_pool_t *pool, bw_str_t *s)
{
    int      days, secs;
    X509    *cert;
    u_char   buf[BW_INT_T_LEN];

    cert = SSL_get1_peer_certificate(c->ssl->connection);
    if (cert == NULL) {
        return BW_OK;
    }

    if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(cert)) == 0) {
        X509_free(cert);
        return BW_ERROR;
    }
    X509_free(cert);

    if (days < 0 || (days == 0 && secs < 0)) {
        days = 0;
    }

    return bw_http_ssl_copy(pool, (char *) buf,
                            bw_slprintf(buf, buf + sizeof(buf), "%d", days)
                            - buf, s);
}
