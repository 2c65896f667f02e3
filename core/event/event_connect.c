/*
 * Non-blocking connect to a peer. Never blocks and never resolves
 * names: addresses were resolved when the configuration was read.
 */

#include <bw_core.h>

bw_int_t
bw_event_connect_peer(bw_peer_connection_t *pc)
{
    int               s, err, on;
    bw_int_t          rc;
    bw_event_t       *rev, *wev;
    bw_connection_t  *c;

    rc = pc->get(pc, pc->data);
    if (rc != BW_OK) {
        return rc;
    }

    s = socket(pc->sockaddr->sa_family, SOCK_STREAM | SOCK_NONBLOCK
                                        | SOCK_CLOEXEC, 0);
    if (s == -1) {
        bw_log_error(BW_LOG_ALERT, pc->log, errno, "socket() failed");
        return BW_ERROR;
    }

    c = bw_get_connection(s, pc->log);
    if (c == NULL) {
        (void) close(s);
        return BW_ERROR;
    }

    if (pc->local) {
        if (bind(s, pc->local->sockaddr, pc->local->socklen) == -1) {
            bw_log_error(BW_LOG_CRIT, pc->log, errno,
                         "bind(%s) failed", pc->local->name.data);
            goto failed;
        }
    }

    if (pc->so_keepalive) {
        on = 1;
        if (setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(int)) == -1) {
            bw_log_error(BW_LOG_ALERT, pc->log, errno,
                         "setsockopt(SO_KEEPALIVE) failed, ignored");
        }
    }

    if (pc->sockaddr->sa_family != AF_UNIX) {
        on = 1;
        (void) setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(int));
        c->tcp_nodelay = BW_TCP_NODELAY_SET;
    }

    c->recv = bw_unix_recv;

    c->recv_chain = bw_readv_chain;
    c->send = bw_unix_send;
    c->send_chain = bw_linux_send_chain;
    c->sendfile = 1;
    c->log_error = 1;
    c->log = pc->log;
    c->number = bw_connection_counter++;
    c->start_time = bw_current_msec;

    rev = c->read;
    wev = c->write;
    rev->log = pc->log;
    wev->log = pc->log;

    pc->connection = c;

    if (bw_epoll_add_connection(c) != BW_OK) {
        goto failed;
    }

    rc = connect(s, pc->sockaddr, pc->socklen);

    if (rc == -1) {
        err = errno;

        if (err == EINPROGRESS) {
            /* the write event says when it is done */
            wev->ready = 0;
            rev->ready = 0;
            return BW_AGAIN;
        }

        /* the usual ways a peer is down are errors, anything else is
         * critical (EAGAIN: a unix socket's backlog is full) */
        bw_log_error((err == ECONNREFUSED || err == EHOSTUNREACH
                      || err == ENETUNREACH || err == ENETDOWN
                      || err == ECONNRESET || err == ENOENT || err == EAGAIN)
                     ? BW_LOG_ERR : BW_LOG_CRIT,
                     pc->log, err, "connect() to %s failed", pc->name->data);
        bw_close_connection(c);
        pc->connection = NULL;
        return BW_DECLINED;
    }

    /* connected at once (loopback, unix sockets) */
    wev->ready = 1;
    return BW_OK;

failed:

    bw_close_connection(c);
    pc->connection = NULL;
    return BW_ERROR;
}

/* For peers that are not balanced: the address is already set. */
bw_int_t
bw_event_get_peer(bw_peer_connection_t *pc, void *data)
{
    return BW_OK;
}

/*
 * A connection to a peer, closed with the pool it may have been given
 * (TLS keeps its state there); the pool outlives the close, which sends
 * TLS's close_notify.
 */
void
bw_close_peer_connection(bw_connection_t *c)
{
    bw_pool_t  *pool;

    pool = c->pool;

    bw_close_connection(c);

    c->pool = NULL;
    if (pool) {
        bw_destroy_pool(pool);
    }
}
