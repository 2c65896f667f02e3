/*
 * Connection slots, the plain socket I/O functions, and the queue of
 * idle (reusable) connections that are closed first when the worker runs
 * out of slots or shuts down gracefully.
 */

#include <bw_core.h>

bw_uint_t  bw_connection_counter = 1;

/* Every event has a handler, so that a spurious wake-up is harmless. */
static void
bw_event_empty_handler(bw_event_t *ev)
{
}
bw_uint_t  bw_connection_active;

bw_connection_t *
bw_get_connection(int fd, bw_log_t *log)
{
    bw_uint_t         instance;
    bw_event_t       *rev, *wev;
    bw_connection_t  *c;

    c = bw_cycle->free_connections;

    if (c == NULL) {
        /* take a slot from an idle keepalive connection */
        bw_drain_connections();
        c = bw_cycle->free_connections;
    }

    if (c == NULL) {
        bw_log_throttled(BW_LOG_ALERT, log, 0,
                         "%lu worker_connections are not enough",
                         (unsigned long) bw_cycle->connection_n);
        return NULL;
    }

    bw_cycle->free_connections = c->data;
    bw_cycle->free_connection_n--;

    rev = c->read;
    wev = c->write;
    instance = rev->instance;

    bw_memzero(c, sizeof(bw_connection_t));
    c->read = rev;
    c->write = wev;
    c->fd = fd;
    c->log = log;

    bw_memzero(rev, sizeof(bw_event_t));
    bw_memzero(wev, sizeof(bw_event_t));

    rev->instance = !instance;
    wev->instance = !instance;
    rev->data = c;
    wev->data = c;
    wev->write = 1;
    rev->log = log;
    wev->log = log;
    rev->handler = bw_event_empty_handler;
    wev->handler = bw_event_empty_handler;

    return c;
}

void
bw_free_connection(bw_connection_t *c)
{
    c->data = bw_cycle->free_connections;
    bw_cycle->free_connections = c;
    bw_cycle->free_connection_n++;

    bw_event_accept_room();
}

void
bw_close_connection(bw_connection_t *c)
{
    int  fd;

    if (c->fd == -1) {
        bw_log_error(BW_LOG_ALERT, c->log, 0, "connection already closed");
        return;
    }

    bw_log_debug(c->log, "close connection: fd:%d", c->fd);

    if (c->ssl) {
        /* close_notify, if it can go at once, before the socket closes */
        bw_ssl_shutdown(c);
    }

    if (c->read->timer_set) {
        bw_event_del_timer(c->read);
    }
    if (c->write->timer_set) {
        bw_event_del_timer(c->write);
    }
    if (c->read->posted) {
        bw_delete_posted_event(c->read);
    }
    if (c->write->posted) {
        bw_delete_posted_event(c->write);
    }

    c->read->closed = 1;
    c->write->closed = 1;
    c->read->active = 0;
    c->write->active = 0;

    bw_reusable_connection(c, 0);

    if (c->stat_active) {
        c->stat_active = 0;
        bw_stat_add(active, -1);
    }

    fd = c->fd;
    c->fd = -1;
    bw_free_connection(c);

    /* close() removes the descriptor from epoll */
    if (close(fd) == -1) {
        bw_log_error(BW_LOG_ALERT, c->log, errno, "close() socket failed");
    }
}

void
bw_reusable_connection(bw_connection_t *c, bw_uint_t reusable)
{
    if (c->reusable) {
        bw_queue_remove(&c->queue);
        bw_cycle->reusable_connections_n--;
        /* an idle client connection is what stub_status calls waiting */
        bw_stat_add(waiting, -1);
    }

    c->reusable = reusable;

    if (reusable) {
        bw_queue_insert_head(&bw_cycle->reusable_connections_queue,
                             &c->queue);
        bw_cycle->reusable_connections_n++;
        bw_stat_add(waiting, 1);

        bw_event_accept_room();
    }
}

/*
 * Out of slots: close the oldest reusable connections (idle keepalive
 * ones and those that have not sent a byte yet), an eighth of them and
 * at most 32 at a time, so that new clients are served. One whose
 * request has come in the meantime is not idle any more: it is read,
 * not closed (under a flood of new connections, a normal client's
 * request would be thrown away before it was read), and one accepted a
 * moment ago is given that moment for its request to arrive.
 */
void
bw_drain_connections(void)
{
    u_char            ch;
    bw_uint_t         closed, n;
    bw_queue_t       *q, *prev;
    bw_connection_t  *c;

    if (bw_cycle->reusable_connections_n == 0) {
        return;
    }

    n = bw_max(bw_min(32, bw_cycle->reusable_connections_n / 8), 1);

    /* one line for the lot, as nginx, and no more than one a second */
    bw_log_throttled(BW_LOG_WARN, bw_cycle->log, 0,
                     "%lu worker_connections are not enough, "
                     "reusing connections",
                     (unsigned long) bw_cycle->connection_n);

    closed = 0;
    q = bw_queue_last(&bw_cycle->reusable_connections_queue);

    while (closed < n
           && q != bw_queue_sentinel(&bw_cycle->reusable_connections_queue))
    {
        prev = bw_queue_prev(q);
        c = bw_queue_data(q, bw_connection_t, queue);

        if (recv(c->fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT) == 1) {
            bw_reusable_connection(c, 0);
            c->read->ready = 1;
            if (!c->read->posted) {
                bw_post_event(c->read, &bw_posted_events);
            }
            q = prev;
            continue;
        }

        if (bw_current_msec - c->start_time < BW_DRAIN_GRACE) {
            /* just accepted: its client's request may be a moment
             * behind the handshake (a busy client host); an idle one
             * is closed at the next drain */
            q = prev;
            continue;
        }

        c->close = 1;
        c->read->handler(c->read);
        closed++;
        q = prev;
    }
}

/* Graceful shutdown: every idle connection is told to close now. */
void
bw_close_idle_connections(bw_cycle_t *cycle)
{
    bw_uint_t         i;
    bw_connection_t  *c;

    c = cycle->connections;
    for (i = 0; i < cycle->connection_n; i++) {
        if (c[i].fd != -1 && c[i].idle) {
            c[i].close = 1;
            c[i].read->handler(c[i].read);
        }
    }
}

bw_int_t
bw_tcp_nodelay(bw_connection_t *c)
{
    int  on = 1;

    if (c->tcp_nodelay != BW_TCP_NODELAY_UNSET) {
        return BW_OK;
    }

    if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(int)) == -1)
    {
        c->tcp_nodelay = BW_TCP_NODELAY_DISABLED;
        return BW_ERROR;
    }

    c->tcp_nodelay = BW_TCP_NODELAY_SET;
    return BW_OK;
}

bw_int_t
bw_tcp_nopush(bw_connection_t *c)
{
    int  on = 1;

    if (setsockopt(c->fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(int)) == -1) {
        c->tcp_nopush = BW_TCP_NOPUSH_DISABLED;
        return BW_ERROR;
    }
    c->tcp_nopush = BW_TCP_NOPUSH_SET;
    return BW_OK;
}

bw_int_t
bw_tcp_push(bw_connection_t *c)
{
    int  off = 0;

    if (c->tcp_nopush != BW_TCP_NOPUSH_SET) {
        return BW_OK;
    }
    c->tcp_nopush = BW_TCP_NOPUSH_UNSET;
    return setsockopt(c->fd, IPPROTO_TCP, TCP_CORK, &off, sizeof(int)) == -1
           ? BW_ERROR : BW_OK;
}

/*
 * What went with MSG_MORE and is still below a full segment waits in
 * the kernel for the next send (or the ACK of what is in flight): the
 * writer that has nothing more to add pushes it out. Clearing TCP_CORK
 * pushes the pending frames even when it was not set, and keeps the
 * socket's own Nagle setting.
 */
bw_int_t
bw_tcp_push_more(bw_connection_t *c)
{
    int  off = 0;

    if (!c->corked) {
        return BW_OK;
    }
    c->corked = 0;
    if (c->tcp_nopush == BW_TCP_NOPUSH_SET) {
        return BW_OK;       /* bw_tcp_push() uncorks at the end */
    }
    return setsockopt(c->fd, IPPROTO_TCP, TCP_CORK, &off, sizeof(int)) == -1
           ? BW_ERROR : BW_OK;
}

#define BW_READ_AGAIN_NOW  (-100)     /* EINTR: read again */

/* What a recv() or readv() of size bytes returned, for the read event
 * (ready, eof, error) and the caller. */
static ssize_t
bw_read_result(bw_connection_t *c, ssize_t n, size_t size, const char *call)
{
    bw_event_t  *rev;

    rev = c->read;

    if (n == 0) {
        rev->ready = 0;
        rev->eof = 1;
        return 0;
    }

    if (n > 0) {
        if ((size_t) n < size && !rev->pending_eof) {
            rev->ready = 0;
        }
        return n;
    }

    if (errno == EAGAIN) {
        rev->ready = 0;
        return BW_AGAIN;
    }

    if (errno == EINTR) {
        return BW_READ_AGAIN_NOW;
    }

    rev->ready = 0;
    rev->error = 1;
    if (c->log_error) {
        bw_log_error(BW_LOG_ERR, c->log, errno, "%s() failed", call);
    } else if (errno != ECONNRESET) {
        bw_log_error(BW_LOG_INFO, c->log, errno, "%s() failed", call);
    }
    return BW_ERROR;
}

ssize_t
bw_unix_recv(bw_connection_t *c, u_char *buf, size_t size)
{
    ssize_t  n;

    do {
        n = bw_read_result(c, recv(c->fd, buf, size, 0), size, "recv");
    } while (n == BW_READ_AGAIN_NOW);

    return n;
}

#define BW_IOVS  64

/* One readv into several buffers: a large body costs one call per
 * chain of buffers instead of one per buffer. The caller gives at least
 * one buffer with room. */
ssize_t
bw_readv_chain(bw_connection_t *c, bw_chain_t *in, off_t limit)
{
    int            niov;
    size_t         size, len;
    ssize_t        n;
    struct iovec   iov[BW_IOVS];

    niov = 0;
    size = 0;

    for ( /* void */ ; in && niov < BW_IOVS; in = in->next) {
        if (in->buf->last == in->buf->end) {
            continue;
        }
        len = in->buf->end - in->buf->last;
        if (limit && (off_t) (size + len) > limit) {
            /* the whole of what is asked for is "all there was" only if
             * less comes back: the size must be the limit's */
            len = (size_t) (limit - (off_t) size);
        }
        iov[niov].iov_base = in->buf->last;
        iov[niov].iov_len = len;
        size += len;
        niov++;
        if (limit && (off_t) size == limit) {
            break;
        }
    }

    do {
        n = bw_read_result(c, readv(c->fd, iov, niov), size, "readv");
    } while (n == BW_READ_AGAIN_NOW);

    return n;
}

ssize_t
bw_unix_send(bw_connection_t *c, u_char *buf, size_t size)
{
    ssize_t      n;
    bw_event_t  *wev;

    wev = c->write;

    for ( ;; ) {
        n = send(c->fd, buf, size, MSG_NOSIGNAL);

        if (n > 0) {
            if ((size_t) n < size) {
                wev->ready = 0;
            }
            c->sent += n;
            return n;
        }

        if (n == 0) {
            wev->ready = 0;
            return 0;
        }

        if (errno == EAGAIN) {
            wev->ready = 0;
            return BW_AGAIN;
        }

        if (errno != EINTR) {
            wev->error = 1;
            bw_log_error(c->log_error ? BW_LOG_ERR : BW_LOG_INFO, c->log,
                         errno, "send() failed");
            return BW_ERROR;
        }
    }
}

/*
 * Send a chain: consecutive memory buffers go out in one writev, a file
 * buffer through sendfile. Returns the unsent rest, or BW_CHAIN_ERROR.
 *
 * With c->more (the writer has more at once: a large body read in
 * batches) memory buffers go with MSG_MORE, so that the batches leave
 * as full segments: fewer packets for both ends to handle and fewer
 * wake-ups of the reader. c->corked says something may wait in the
 * kernel; the writer pushes it with bw_tcp_push_more() when it turns
 * out that nothing follows.
 */
bw_chain_t *
bw_linux_send_chain(bw_connection_t *c, bw_chain_t *in, off_t limit)
{
    int            niov;
    off_t          send, prev_send, planned, size, file_size;
    ssize_t        n;
    bw_buf_t      *file;
    bw_chain_t    *cl;
    struct iovec   iov[BW_IOVS];

    if (limit == 0 || limit > BW_MAX_OFF_T_VALUE / 2) {
        limit = BW_MAX_OFF_T_VALUE / 2;
    }

    if (bw_event_defer_sends && in) {
        /* the write event sends it once the turn's events are handled
         * (core/event/posted.c); to the caller it is a full socket */
        bw_post_event(c->write, &bw_posted_flush_events);
        return in;
    }

    send = 0;

    for ( ;; ) {
        prev_send = send;
        niov = 0;

        for (cl = in; cl && send < limit; cl = cl->next) {
            if (bw_buf_special(cl->buf)) {
                continue;
            }
            if (!bw_buf_in_memory_only(cl->buf)) {
                break;
            }
            size = cl->buf->last - cl->buf->pos;
            if (size == 0) {
                continue;
            }
            if (send + size > limit) {
                size = limit - send;
            }
            if (niov == BW_IOVS) {
                break;
            }
            iov[niov].iov_base = cl->buf->pos;
            iov[niov].iov_len = (size_t) size;
            niov++;
            send += size;
        }

        if (niov == 0 && cl && cl->buf->in_file && send < limit
            && !c->sendfile)
        {
            /* "sendfile off": read a piece of the file and send it */
            u_char  rbuf[32768];

            file = cl->buf;
            file_size = bw_min(file->file_last - file->file_pos,
                               bw_min(limit - send, (off_t) sizeof(rbuf)));
            n = pread(file->file->fd, rbuf, (size_t) file_size,
                      file->file_pos);
            if (n <= 0) {
                bw_log_error(BW_LOG_CRIT, c->log, n ? errno : 0,
                             "pread() \"%s\" failed", file->file->name.data);
                return BW_CHAIN_ERROR;
            }
            planned = send + n;
            n = sendto(c->fd, rbuf, (size_t) n, MSG_NOSIGNAL, NULL, 0);

        } else if (niov == 0 && cl && cl->buf->in_file && send < limit) {
            file = cl->buf;
            file_size = bw_min(file->file_last - file->file_pos,
                               limit - send);
            if (file_size > 0x7ffff000) {
                file_size = 0x7ffff000;
            }

            planned = send + file_size;
            n = sendfile(c->fd, file->file->fd, &file->file_pos,
                         (size_t) file_size);
            if (n > 0) {
                /* sendfile advanced file_pos itself; undo for the sweep */
                file->file_pos -= n;
            }

        } else if (niov && c->more) {
            struct msghdr  msg;

            bw_memzero(&msg, sizeof(msg));
            msg.msg_iov = iov;
            msg.msg_iovlen = (size_t) niov;
            planned = send;
            n = sendmsg(c->fd, &msg, MSG_MORE | MSG_NOSIGNAL);

        } else if (niov) {
            planned = send;
            n = writev(c->fd, iov, niov);

        } else {
            return cl;
        }

        if (n == -1) {
            if (errno == EAGAIN) {
                c->write->ready = 0;
                return in;
            }
            if (errno == EINTR) {
                send = prev_send;
                continue;
            }
            c->write->error = 1;
            bw_log_error(c->log_error ? BW_LOG_ERR : BW_LOG_INFO, c->log,
                         errno, niov ? "writev() failed"
                                     : "sendfile() failed");
            return BW_CHAIN_ERROR;
        }

        if (n == 0) {
            /* the file shrank under us */
            bw_log_error(BW_LOG_ALERT, c->log, 0, "sendfile() reported "
                         "that the file was truncated");
            return BW_CHAIN_ERROR;
        }

        send = prev_send + n;
        c->sent += n;
        /* a send without MSG_MORE pushes whatever waited before it */
        c->corked = (niov && c->more);
        in = bw_chain_update_sent(in, n);

        if (send < planned) {
            /* the socket buffer is full: wait for the next EPOLLOUT */
            c->write->ready = 0;
            return in;
        }

        if (in == NULL || send >= limit) {
            return in;
        }
    }
}
