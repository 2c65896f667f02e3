/*
 * TLS on a connection (OpenSSL 3). The handshake is an event handler of
 * its own: it runs on whichever event the handshake waits for, and calls
 * c->ssl->handler when it ends, well or not. Afterwards the connection's
 * recv/send/recv_chain/send_chain are the TLS ones, so the code above
 * reads and writes as on a plain socket: BW_AGAIN with the event's ready
 * flag cleared means "wait for the event", on whichever side OpenSSL
 * needs.
 *
 * Never block: every OpenSSL call here is on a non-blocking socket, and
 * a shutdown that would wait is given up. Failures of peers (scanners,
 * clients going away) are logged at info, never at error.
 */

#include <bw_core.h>

int  bw_ssl_connection_index = -1;
int  bw_ssl_server_conf_index = -1;

static void bw_ssl_handshake_handler(bw_event_t *ev);
static void bw_ssl_count_failure(bw_connection_t *c, bw_uint_t why);
static void bw_ssl_read_handler(bw_event_t *rev);
static void bw_ssl_write_handler(bw_event_t *wev);
static void bw_ssl_connection_error(bw_connection_t *c, int sslerr,
    bw_err_t err, const char *text);
static void bw_ssl_clear_error(bw_log_t *log);
static void bw_ssl_info_callback(const SSL *ssl, int where, int ret);

bw_int_t
bw_ssl_init(bw_log_t *log)
{
    if (bw_ssl_connection_index != -1) {
        return BW_OK;
    }

    if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL) == 0) {
        bw_ssl_error(BW_LOG_ALERT, log, 0, "OPENSSL_init_ssl() failed");
        return BW_ERROR;
    }

    /* errors queued by the configuration loading above are not ours */
    ERR_clear_error();

    bw_ssl_connection_index = SSL_get_ex_new_index(0, NULL, NULL, NULL,
                                                   NULL);
    bw_ssl_server_conf_index = SSL_CTX_get_ex_new_index(0, NULL, NULL,
                                                        NULL, NULL);
    if (bw_ssl_connection_index == -1 || bw_ssl_server_conf_index == -1) {
        bw_ssl_error(BW_LOG_ALERT, log, 0, "get_ex_new_index() failed");
        return BW_ERROR;
    }

    return BW_OK;
}

bw_int_t
bw_ssl_create(bw_ssl_t *ssl, bw_uint_t protocols, void *data)
{
    uint64_t  options;

    ssl->ctx = SSL_CTX_new(TLS_method());
    if (ssl->ctx == NULL) {
        bw_ssl_error(BW_LOG_EMERG, ssl->log, 0, "SSL_CTX_new() failed");
        return BW_ERROR;
    }

    if (SSL_CTX_set_ex_data(ssl->ctx, bw_ssl_server_conf_index, data) == 0)
    {
        bw_ssl_error(BW_LOG_EMERG, ssl->log, 0,
                     "SSL_CTX_set_ex_data() failed");
        return BW_ERROR;
    }

    ssl->buffer_size = BW_SSL_BUFFER_SIZE;

    /* the versions left out are turned off; TLS_method() would
     * otherwise speak every version the library was built with */
    SSL_CTX_set_min_proto_version(ssl->ctx, 0);
    SSL_CTX_set_max_proto_version(ssl->ctx, 0);

    /* IGNORE_UNEXPECTED_EOF: a peer that closes without close_notify
     * (most do) ends the connection, as it did before OpenSSL 3; as an
     * error it would also drop the session from the cache */
    options = SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_COMPRESSION
              | SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF;

    if (!(protocols & BW_SSL_TLSv1)) {
        options |= SSL_OP_NO_TLSv1;
    }
    if (!(protocols & BW_SSL_TLSv1_1)) {
        options |= SSL_OP_NO_TLSv1_1;
    }
    if (!(protocols & BW_SSL_TLSv1_2)) {
        options |= SSL_OP_NO_TLSv1_2;
    }
    if (!(protocols & BW_SSL_TLSv1_3)) {
        options |= SSL_OP_NO_TLSv1_3;
    }

    SSL_CTX_set_options(ssl->ctx, options);

    /*
     * RELEASE_BUFFERS: an idle keepalive connection holds no record
     * buffers (about 34 KB less each). ACCEPT_MOVING_WRITE_BUFFER: a
     * send that waited is retried from a buffer that may have moved
     * (the same bytes, gathered again from the chain).
     */
    SSL_CTX_set_mode(ssl->ctx, SSL_MODE_RELEASE_BUFFERS
                               | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
                               | SSL_MODE_NO_AUTO_CHAIN);

    SSL_CTX_set_read_ahead(ssl->ctx, 1);
    SSL_CTX_set_info_callback(ssl->ctx, bw_ssl_info_callback);

    return BW_OK;
}

void
bw_ssl_cleanup_ctx(void *data)
{
    bw_ssl_t  *ssl = data;

    if (ssl->ctx) {
        SSL_CTX_free(ssl->ctx);
        ssl->ctx = NULL;
    }
}

bw_int_t
bw_ssl_create_connection(bw_ssl_t *ssl, bw_connection_t *c,
    bw_uint_t server)
{
    bw_ssl_connection_t  *sc;

    sc = bw_pcalloc(c->pool, sizeof(bw_ssl_connection_t));
    if (sc == NULL) {
        return BW_ERROR;
    }

    sc->buffer_size = ssl->buffer_size;
    sc->session_ctx = ssl->ctx;

    sc->connection = SSL_new(ssl->ctx);
    if (sc->connection == NULL) {
        bw_ssl_error(BW_LOG_ALERT, c->log, 0, "SSL_new() failed");
        return BW_ERROR;
    }

    if (SSL_set_fd(sc->connection, c->fd) == 0
        || SSL_set_ex_data(sc->connection, bw_ssl_connection_index, c) == 0)
    {
        bw_ssl_error(BW_LOG_ALERT, c->log, 0, "SSL_set_fd() failed");
        SSL_free(sc->connection);
        return BW_ERROR;
    }

    if (server) {
        SSL_set_accept_state(sc->connection);
    } else {
        SSL_set_connect_state(sc->connection);
        sc->client = 1;
    }

    c->ssl = sc;

    return BW_OK;
}

bw_int_t
bw_ssl_handshake(bw_connection_t *c)
{
    int        n, sslerr;
    bw_err_t   err;

    bw_ssl_clear_error(c->log);

    n = SSL_do_handshake(c->ssl->connection);

    if (n == 1) {
        c->ssl->handshaked = 1;
        if (!c->ssl->client) {
            bw_stat_add(ssl_handshakes, 1);
            if (SSL_session_reused(c->ssl->connection)) {
                bw_stat_add(ssl_session_reuses, 1);
            }
        }
        c->recv = bw_ssl_recv;
        c->send = bw_ssl_write;
        c->recv_chain = bw_ssl_recv_chain;
        c->send_chain = bw_ssl_send_chain;
        /* files go through memory: the kernel cannot encrypt them */
        c->sendfile = 0;
        return BW_OK;
    }

    sslerr = SSL_get_error(c->ssl->connection, n);
    err = (sslerr == SSL_ERROR_SYSCALL) ? errno : 0;

    if (sslerr == SSL_ERROR_WANT_READ) {
        c->read->ready = 0;
        c->read->handler = bw_ssl_handshake_handler;
        c->write->handler = bw_ssl_handshake_handler;
        return BW_AGAIN;
    }

    if (sslerr == SSL_ERROR_WANT_WRITE) {
        c->write->ready = 0;
        c->read->handler = bw_ssl_handshake_handler;
        c->write->handler = bw_ssl_handshake_handler;
        return BW_AGAIN;
    }

    c->ssl->no_wait_shutdown = 1;
    c->ssl->no_send_shutdown = 1;
    c->read->eof = 1;

    if (sslerr == SSL_ERROR_ZERO_RETURN
        || (sslerr == SSL_ERROR_SYSCALL && ERR_peek_error() == 0
            && err == 0))
    {
        bw_log_error(c->ssl->client ? BW_LOG_ERR : BW_LOG_INFO, c->log, 0,
                     "peer closed connection in SSL handshake");
        ERR_clear_error();
        bw_ssl_count_failure(c, BW_SSL_FAILED_CLOSED);
        return BW_ERROR;
    }

    c->read->error = 1;
    bw_ssl_count_failure(c, sslerr == SSL_ERROR_SSL
                            ? (bw_uint_t) -1 : BW_SSL_FAILED_CLOSED);
    bw_ssl_connection_error(c, sslerr, err, "SSL_do_handshake() failed");

    return BW_ERROR;
}

static void
bw_ssl_handshake_handler(bw_event_t *ev)
{
    bw_connection_t  *c;

    c = ev->data;

    if (ev->timedout) {
        bw_log_error(BW_LOG_INFO, c->log, ETIMEDOUT, "SSL handshake timed "
                     "out");
        bw_ssl_count_failure(c, BW_SSL_FAILED_TIMEOUT);
        c->timedout = 1;
        c->ssl->no_wait_shutdown = 1;
        c->ssl->no_send_shutdown = 1;
        c->ssl->handler(c);
        return;
    }

    if (c->close) {
        c->ssl->no_send_shutdown = 1;
        c->ssl->handler(c);
        return;
    }

    if (bw_ssl_handshake(c) == BW_AGAIN) {
        return;
    }

    c->ssl->handler(c);
}

/*
 * A client's handshake that failed, counted by why (why -1: read from
 * the reason OpenSSL queued, before the error is logged and the queue
 * emptied). An upstream's handshakes are not the clients' and are not
 * counted here.
 */
static void
bw_ssl_count_failure(bw_connection_t *c, bw_uint_t why)
{
    if (c->ssl->client || bw_stats == NULL) {
        return;
    }

    if (why == (bw_uint_t) -1) {
        switch (ERR_GET_REASON(ERR_peek_last_error())) {

        case SSL_R_UNSUPPORTED_PROTOCOL:
        case SSL_R_NO_PROTOCOLS_AVAILABLE:
        case SSL_R_VERSION_TOO_LOW:
        case SSL_R_VERSION_TOO_HIGH:
        case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
            why = BW_SSL_FAILED_PROTOCOL;
            break;

        case SSL_R_NO_SHARED_CIPHER:
        case SSL_R_NO_SHARED_GROUPS:
        case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
        case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
            why = BW_SSL_FAILED_CIPHER;
            break;

        case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
        case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
        case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
        case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
        case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
        case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
            why = BW_SSL_FAILED_PEER_CERT;
            break;

        default:
            why = BW_SSL_FAILED_OTHER;
        }
    }

    bw_stat_add(ssl_failed[why], 1);
}

/*
 * Read as a plain socket would: n < size does not mean the socket is
 * empty (a record may end anywhere), so the loop goes on until the
 * buffer is full or OpenSSL wants the socket again; only then is the
 * read event's ready flag cleared, which the edge-triggered loop needs.
 */
ssize_t
bw_ssl_recv(bw_connection_t *c, u_char *buf, size_t size)
{
    int        n, bytes, sslerr;
    bw_err_t   err;

    if (c->ssl->last == SSL_ERROR_ZERO_RETURN) {
        c->read->ready = 0;
        c->read->eof = 1;
        return 0;
    }

    if (c->ssl->last == SSL_ERROR_SSL || c->ssl->last == SSL_ERROR_SYSCALL)
    {
        c->read->ready = 0;
        c->read->error = 1;
        return BW_ERROR;
    }

    bytes = 0;

    bw_ssl_clear_error(c->log);

    for ( ;; ) {

        n = SSL_read(c->ssl->connection, buf,
                     size > INT_MAX ? INT_MAX : (int) size);

        if (n > 0) {
            bytes += n;

            if (c->ssl->saved_write_handler) {
                c->write->handler = c->ssl->saved_write_handler;
                c->ssl->saved_write_handler = NULL;
                c->write->ready = 1;
                bw_post_event(c->write, &bw_posted_events);
            }

            size -= n;
            if (size == 0) {
                c->read->ready = 1;
                return bytes;
            }
            buf += n;
            continue;
        }

        sslerr = SSL_get_error(c->ssl->connection, n);
        err = (sslerr == SSL_ERROR_SYSCALL) ? errno : 0;

        if (sslerr == SSL_ERROR_WANT_READ) {
            c->read->ready = 0;
            return bytes ? bytes : BW_AGAIN;
        }

        if (sslerr == SSL_ERROR_WANT_WRITE) {
            /* the peer's record needs an answer first (a key update):
             * the write event resumes the reader */
            c->write->ready = 0;
            c->read->ready = 0;
            if (c->ssl->saved_write_handler == NULL) {
                c->ssl->saved_write_handler = c->write->handler;
                c->write->handler = bw_ssl_write_handler;
            }
            return bytes ? bytes : BW_AGAIN;
        }

        c->ssl->last = sslerr;
        c->ssl->no_wait_shutdown = 1;
        c->ssl->no_send_shutdown = 1;

        if (sslerr == SSL_ERROR_ZERO_RETURN || ERR_peek_error() == 0) {
            /* close_notify, or the peer closed without one: the end */
            if (sslerr != SSL_ERROR_ZERO_RETURN) {
                c->ssl->last = SSL_ERROR_ZERO_RETURN;
                if (err && err != ECONNRESET) {
                    c->ssl->last = SSL_ERROR_SYSCALL;
                    if (bytes == 0) {
                        bw_ssl_connection_error(c, sslerr, err,
                                                "SSL_read() failed");
                        c->read->ready = 0;
                        c->read->error = 1;
                        return BW_ERROR;
                    }
                } else if (err == ECONNRESET) {
                    c->ssl->last = SSL_ERROR_SYSCALL;
                    if (bytes == 0) {
                        c->read->ready = 0;
                        c->read->error = 1;
                        return BW_ERROR;
                    }
                }
            } else {
                c->ssl->no_send_shutdown = 0;
            }
            if (bytes) {
                /* the data first; the next call reports the end */
                c->read->ready = 1;
                return bytes;
            }
            c->read->ready = 0;
            c->read->eof = 1;
            return 0;
        }

        bw_ssl_connection_error(c, sslerr, err, "SSL_read() failed");

        if (bytes) {
            c->read->ready = 1;
            return bytes;
        }

        c->read->ready = 0;
        c->read->error = 1;
        return BW_ERROR;
    }
}

ssize_t
bw_ssl_recv_chain(bw_connection_t *c, bw_chain_t *cl, off_t limit)
{
    size_t    size;
    ssize_t   n, bytes;

    bytes = 0;

    for ( /* void */ ; cl; cl = cl->next) {
        size = cl->buf->end - cl->buf->last;
        if (size == 0) {
            continue;
        }
        if (limit) {
            if (bytes >= limit) {
                return bytes;
            }
            if ((off_t) size > limit - bytes) {
                size = (size_t) (limit - bytes);
            }
        }

        n = bw_ssl_recv(c, cl->buf->last, size);

        if (n > 0) {
            /* the caller moves buf->last, as after readv */
            bytes += n;
            if ((size_t) n < size) {
                return bytes;
            }
            continue;
        }

        if (bytes) {
            if (n == 0 || n == BW_ERROR) {
                /* reported again on the next call */
                c->read->ready = 1;
            }
            return bytes;
        }

        return n;
    }

    return bytes;
}

ssize_t
bw_ssl_write(bw_connection_t *c, u_char *data, size_t size)
{
    int        n, sslerr;
    bw_err_t   err;

    bw_ssl_clear_error(c->log);

    n = SSL_write(c->ssl->connection, data,
                  size > INT_MAX ? INT_MAX : (int) size);

    if (n > 0) {
        if (c->ssl->saved_read_handler) {
            c->read->handler = c->ssl->saved_read_handler;
            c->ssl->saved_read_handler = NULL;
            c->read->ready = 1;
            bw_post_event(c->read, &bw_posted_events);
        }
        c->sent += n;
        return n;
    }

    sslerr = SSL_get_error(c->ssl->connection, n);
    err = (sslerr == SSL_ERROR_SYSCALL) ? errno : 0;

    if (sslerr == SSL_ERROR_WANT_WRITE) {
        c->write->ready = 0;
        return BW_AGAIN;
    }

    if (sslerr == SSL_ERROR_WANT_READ) {
        /* the write waits for a record of the peer: the read event
         * resumes the writer */
        c->read->ready = 0;
        c->write->ready = 0;
        if (c->ssl->saved_read_handler == NULL) {
            c->ssl->saved_read_handler = c->read->handler;
            c->read->handler = bw_ssl_read_handler;
        }
        return BW_AGAIN;
    }

    c->ssl->no_wait_shutdown = 1;
    c->ssl->no_send_shutdown = 1;
    c->write->error = 1;

    bw_ssl_connection_error(c, sslerr, err, "SSL_write() failed");

    return BW_ERROR;
}

static void
bw_ssl_read_handler(bw_event_t *rev)
{
    bw_connection_t  *c;

    c = rev->data;
    c->write->handler(c->write);
}

static void
bw_ssl_write_handler(bw_event_t *wev)
{
    bw_connection_t  *c;

    c = wev->data;
    c->read->handler(c->read);
}

/*
 * Gather the chain into records of up to buffer_size bytes (files are
 * read into memory: no sendfile through TLS) and write them. The chain
 * moves on only by what SSL_write took, so a write that waits is
 * retried with the same bytes gathered again.
 */
bw_chain_t *
bw_ssl_send_chain(bw_connection_t *c, bw_chain_t *in, off_t limit)
{
    u_char      *p;
    off_t        send, size, fsize, room;
    ssize_t      n;
    bw_buf_t    *b;
    bw_chain_t  *cl;

    if (limit == 0 || limit > BW_MAX_OFF_T_VALUE / 2) {
        limit = BW_MAX_OFF_T_VALUE / 2;
    }

    if (bw_event_defer_sends && in) {
        bw_post_event(c->write, &bw_posted_flush_events);
        return in;
    }

    send = 0;

    for ( ;; ) {

        for (cl = in; cl && bw_buf_special(cl->buf); cl = cl->next) {
            /* void */
        }

        if (cl == NULL) {
            in = NULL;      /* flush and last buffers: nothing to send */
            break;
        }

        /* a write that waited is retried with at least as many bytes,
         * whatever the limit says now (OpenSSL holds them encrypted) */
        room = limit - send;
        if (send == 0 && (off_t) c->ssl->pending > room) {
            room = (off_t) c->ssl->pending;
        }
        room = bw_min(room, (off_t) c->ssl->buffer_size);

        if (bw_buf_in_memory_only(cl->buf)
            && cl->buf->last - cl->buf->pos >= room)
        {
            /* a large buffer in memory goes out as it is */
            size = room;
            n = bw_ssl_write(c, cl->buf->pos, (size_t) size);

        } else {
            b = c->ssl->buf;
            if (b == NULL) {
                b = bw_calloc_buf(c->pool);
                if (b == NULL) {
                    return BW_CHAIN_ERROR;
                }
                c->ssl->buf = b;
            }
            if (b->start == NULL) {
                b->start = bw_palloc(c->pool, c->ssl->buffer_size);
                if (b->start == NULL) {
                    return BW_CHAIN_ERROR;
                }
                b->end = b->start + c->ssl->buffer_size;
            }

            p = b->start;

            for ( /* void */ ; cl; cl = cl->next) {
                if (bw_buf_special(cl->buf)) {
                    continue;
                }

                size = room - (off_t) (p - b->start);
                if (size == 0) {
                    break;
                }

                if (bw_buf_in_memory(cl->buf)) {
                    size = bw_min(size, cl->buf->last - cl->buf->pos);
                    p = bw_cpymem(p, cl->buf->pos, (size_t) size);

                } else if (cl->buf->in_file) {
                    fsize = bw_min(size,
                                   cl->buf->file_last - cl->buf->file_pos);
                    if (fsize == 0) {
                        continue;
                    }
                    n = pread(cl->buf->file->fd, p, (size_t) fsize,
                              cl->buf->file_pos);
                    if (n == -1) {
                        bw_log_error(BW_LOG_CRIT, c->log, errno,
                                     "pread() \"%s\" failed",
                                     cl->buf->file->name.data);
                        return BW_CHAIN_ERROR;
                    }
                    if (n < fsize) {
                        bw_log_error(BW_LOG_ALERT, c->log, 0,
                                     "file \"%s\" was truncated while "
                                     "being sent",
                                     cl->buf->file->name.data);
                        return BW_CHAIN_ERROR;
                    }
                    p += n;
                }
            }

            if (p == b->start) {
                in = NULL;  /* only empty buffers were left */
                break;
            }

            size = p - b->start;
            n = bw_ssl_write(c, b->start, (size_t) size);
        }

        if (n == BW_ERROR) {
            return BW_CHAIN_ERROR;
        }

        if (n == BW_AGAIN) {
            c->ssl->pending = (size_t) size;
            return in;
        }

        c->ssl->pending = 0;
        send += n;
        in = bw_chain_update_sent(in, n);

        if (in == NULL || send >= limit) {
            break;
        }
    }

    if (in == NULL && c->ssl->buf && c->ssl->buf->start) {
        /* an idle connection keeps no buffer of its own */
        if (bw_pfree(c->pool, c->ssl->buf->start) == BW_OK) {
            c->ssl->buf->start = NULL;
        }
    }

    return in;
}

/*
 * One try at close_notify, never a wait for the peer's: a socket that
 * does not take it at once loses it. After an error or a timeout
 * nothing is sent (the session is then not resumable, as it should).
 */
void
bw_ssl_shutdown(bw_connection_t *c)
{
    int   n, mode;
    SSL  *ssl;

    ssl = c->ssl->connection;
    c->ssl = NULL;

    if (SSL_in_init(ssl)) {
        /* no shutdown in the middle of a handshake: OpenSSL would
         * complain and the peer gains nothing from it */
        SSL_free(ssl);
        ERR_clear_error();
        return;
    }

    if (c->timedout || c->error) {
        mode = SSL_RECEIVED_SHUTDOWN | SSL_SENT_SHUTDOWN;
        SSL_set_quiet_shutdown(ssl, 1);

    } else {
        mode = SSL_get_shutdown(ssl) | SSL_RECEIVED_SHUTDOWN;
        if (c->read->error || c->write->error) {
            mode |= SSL_SENT_SHUTDOWN;
        }
    }

    SSL_set_shutdown(ssl, mode);

    if (!(mode & SSL_SENT_SHUTDOWN)) {
        bw_ssl_clear_error(c->log);
        n = SSL_shutdown(ssl);
        if (n < 0) {
            /* would block or failed: given up either way */
            ERR_clear_error();
        }
    }

    SSL_free(ssl);
    ERR_clear_error();
}

static void
bw_ssl_connection_error(bw_connection_t *c, int sslerr, bw_err_t err,
    const char *text)
{
    int         n;
    bw_uint_t   level;

    level = BW_LOG_CRIT;

    if (sslerr == SSL_ERROR_SYSCALL) {
        /* err 0: the peer went without a close_notify (an EOF under a
         * read or a write), as clients that drop a connection do */
        if (err == 0 || err == ECONNRESET || err == EPIPE || err == ENOTCONN
            || err == ETIMEDOUT || err == ECONNREFUSED
            || err == ENETDOWN || err == ENETUNREACH || err == EHOSTDOWN
            || err == EHOSTUNREACH)
        {
            level = BW_LOG_INFO;
        }

    } else if (sslerr == SSL_ERROR_SSL) {
        /* what a peer can make us see (bad records, versions, ciphers,
         * certificates, alerts) is the peer's business */
        n = ERR_GET_LIB(ERR_peek_last_error());
        if (n == ERR_LIB_SSL || n == ERR_LIB_ASN1 || n == ERR_LIB_X509
            || n == ERR_LIB_EVP || n == ERR_LIB_PEM || n == 0)
        {
            level = BW_LOG_INFO;
        }
    }

    if (c->ssl->client && level > BW_LOG_ERR) {
        /* an upstream that fails TLS is a configuration or an outage
         * for the operator to see, not a scanner's noise */
        level = BW_LOG_ERR;
    }

    bw_ssl_error(level, c->log, err, "%s", text);
}

/* The message, then every error OpenSSL queued, oldest first. */
void
bw_ssl_error(bw_uint_t level, bw_log_t *log, bw_err_t err,
    const char *fmt, ...)
{
    int           flags;
    u_char        errstr[BW_MAX_ERROR_STR], *p, *last;
    va_list       args;
    const char   *data;
    unsigned long n;

    if (log->log_level < level) {
        ERR_clear_error();
        return;
    }

    last = errstr + BW_MAX_ERROR_STR;

    va_start(args, fmt);
    p = bw_vslprintf(errstr, last, fmt, args);
    va_end(args);

    if (ERR_peek_error()) {
        p = bw_slprintf(p, last, " (SSL:");

        for ( ;; ) {
            n = ERR_get_error_all(NULL, NULL, NULL, &data, &flags);
            if (n == 0) {
                break;
            }
            if (p < last - 1) {
                *p++ = ' ';
            }
            ERR_error_string_n(n, (char *) p, last - p);
            while (p < last && *p) {
                p++;
            }
            if (*data && (flags & ERR_TXT_STRING)) {
                p = bw_slprintf(p, last, ":%s", data);
            }
        }

        p = bw_slprintf(p, last, ")");
    }

    bw_log_error(level, log, err, "%.*s", (int) (p - errstr), errstr);
}

static void
bw_ssl_clear_error(bw_log_t *log)
{
    if (ERR_peek_error()) {
        bw_ssl_error(BW_LOG_ALERT, log, 0, "ignoring stale global SSL "
                     "error");
    }
}

/* A renegotiation is refused by SSL_OP_NO_RENEGOTIATION; this only
 * makes a connection that ends in the middle of a handshake visible to
 * the debug log. */
static void
bw_ssl_info_callback(const SSL *ssl, int where, int ret)
{
#if (BW_DEBUG)
    bw_connection_t  *c;

    if ((where & SSL_CB_ALERT) && (where & SSL_CB_READ)) {
        c = SSL_get_ex_data(ssl, bw_ssl_connection_index);
        if (c) {
            bw_log_debug(c->log, "SSL alert from peer: %s",
                         SSL_alert_desc_string_long(ret));
        }
    }
#endif
}
