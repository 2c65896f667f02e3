/*
 * Accepting connections. Listeners are level-triggered, so one accept
 * per wake-up is enough unless multi_accept asks to drain the queue.
 * When descriptors run out, accepting pauses for a moment instead of
 * spinning on EMFILE. When every connection slot is busy and none is
 * idle, accepting stops until one frees up: new clients wait in the
 * listen queue (another worker may take them) instead of being accepted
 * only to be closed.
 */

#include <bw_core.h>

static void bw_event_accept_enable(bw_event_t *ev);
static void bw_event_accept_retry(bw_event_t *ev);

static bw_event_t  bw_accept_resume;
static bw_uint_t   bw_accept_paused;
static bw_event_t  bw_accept_retry;
static bw_uint_t   bw_accept_full;

void
bw_event_accept(bw_event_t *ev)
{
    int                fd;
    bw_err_t           err;
    bw_uint_t          multi;
    socklen_t          socklen;
    bw_sockaddr_t      sa;
    bw_log_t          *log;
    bw_listening_t    *ls;
    bw_connection_t   *c, *lc;
    bw_event_conf_t   *ecf;

    ecf = bw_event_get_conf(bw_cycle->conf_ctx, bw_event_core_module);
    multi = ecf->multi_accept;

    lc = ev->data;
    ls = lc->listening;
    ev->ready = 0;

    do {
        if (bw_cycle->free_connections == NULL) {
            /* room is made before a client is taken from the queue: one
             * cannot be accepted only to be closed */
            bw_drain_connections();
        }

        if (bw_cycle->free_connections == NULL) {
            bw_log_throttled(BW_LOG_WARN, ev->log, 0,
                             "%lu worker_connections are not enough, "
                             "new connections wait",
                             (unsigned long) bw_cycle->connection_n);
            /* also after the EMFILE pause turned the listeners back on */
            bw_accept_full = 1;
            bw_event_close_accept(bw_cycle, 1);

            if (bw_cycle->reusable_connections_n
                && !bw_accept_retry.timer_set)
            {
                /* idle ones too young to close: look again when they
                 * are not (an idle flood must not hold the slots) */
                bw_accept_retry.handler = bw_event_accept_retry;
                bw_accept_retry.log = ev->log;
                bw_accept_retry.cancelable = 1;
                bw_event_add_timer(&bw_accept_retry, BW_DRAIN_GRACE);
            }
            return;
        }

        socklen = sizeof(bw_sockaddr_t);
        fd = accept4(lc->fd, &sa.sockaddr, &socklen,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd == -1) {
            err = errno;
            if (err == EAGAIN || err == EINTR || err == ECONNABORTED) {
                return;
            }

            bw_log_throttled(err == EMFILE || err == ENFILE ? BW_LOG_CRIT
                                                             : BW_LOG_ALERT,
                             ev->log, err, "accept4() failed");

            if (err == EMFILE || err == ENFILE) {
                bw_drain_connections();
                if (!bw_accept_paused) {
                    /* pause all listeners for 500 ms */
                    bw_accept_paused = 1;
                    bw_accept_resume.handler = bw_event_accept_enable;
                    bw_accept_resume.log = ev->log;
                    bw_accept_resume.cancelable = 1;
                    bw_event_add_timer(&bw_accept_resume, 500);
                    bw_event_close_accept(bw_cycle, 1);
                }
            }
            return;
        }

        bw_stat_add(accepted, 1);

        bw_fail_alloc_connection(ev->log);

        c = bw_get_connection(fd, ev->log);
        if (c == NULL) {
            close(fd);
            return;
        }

        bw_stat_add(active, 1);
        c->stat_active = 1;

        c->type = SOCK_STREAM;
        c->pool = bw_create_pool(ls->pool_size, ev->log);
        if (c->pool == NULL) {
            bw_close_accepted(c);
            return;
        }

        c->sockaddr = bw_palloc(c->pool, socklen);
        log = bw_palloc(c->pool, sizeof(bw_log_t));
        if (c->sockaddr == NULL || log == NULL) {
            bw_close_accepted(c);
            return;
        }
        memcpy(c->sockaddr, &sa, socklen);
        c->socklen = socklen;

        *log = ls->log;
        c->log = log;
        c->read->log = log;
        c->write->log = log;

        c->recv = bw_unix_recv;

        c->recv_chain = bw_readv_chain;
        c->send = bw_unix_send;
        c->send_chain = bw_linux_send_chain;
        c->listening = ls;
        c->local_sockaddr = ls->sockaddr;
        c->local_socklen = ls->socklen;
        c->number = bw_connection_counter++;
        c->start_time = bw_current_msec;
        log->connection = c->number;

        if (ls->addr_ntop) {
            c->addr_text.data = bw_pnalloc(c->pool, BW_SOCKADDR_STRLEN);
            if (c->addr_text.data == NULL) {
                bw_close_accepted(c);
                return;
            }
            c->addr_text.len = bw_sock_ntop(c->sockaddr, c->socklen,
                                            c->addr_text.data,
                                            BW_SOCKADDR_STRLEN, 0);
        }

        /* AF_UNIX peers have no address: show the socket path instead */
        if (c->addr_text.len == 0 || sa.sockaddr.sa_family == AF_UNIX) {
            bw_str_set(&c->addr_text, "unix:");
        }

        bw_log_debug(c->log, "accept: %.*s fd:%d",
                     (int) c->addr_text.len, c->addr_text.data, fd);

        if (bw_epoll_add_connection(c) != BW_OK) {
            bw_close_accepted(c);
            return;
        }

        bw_stat_add(handled, 1);

        ls->handler(c);

    } while (multi);
}

void
bw_close_accepted(bw_connection_t *c)
{
    bw_pool_t  *pool = c->pool;

    bw_close_connection(c);
    if (pool) {
        bw_destroy_pool(pool);
    }
}

void
bw_event_close_accept(bw_cycle_t *cycle, bw_uint_t pause)
{
    bw_uint_t        i;
    bw_listening_t  *ls;

    ls = cycle->listening.elts;
    for (i = 0; i < cycle->listening.nelts; i++) {
        if (ls[i].connection) {
            if (pause) {
                bw_epoll_del_listening(&ls[i]);
            } else {
                bw_epoll_add_listening(&ls[i], !ls[i].reuseport);
            }
        }
    }
}

/* A slot was freed or a connection went idle (it can be closed for a
 * new one): accept again if it was for want of slots that we stopped. */
void
bw_event_accept_room(void)
{
    if (!bw_accept_full) {
        return;
    }

    bw_accept_full = 0;

    if (!bw_accept_paused && !bw_exiting) {
        bw_event_close_accept(bw_cycle, 0);
    }
}

static void
bw_event_accept_retry(bw_event_t *ev)
{
    bw_event_accept_room();
}

static void
bw_event_accept_enable(bw_event_t *ev)
{
    bw_accept_paused = 0;
    if (!bw_exiting) {
        bw_event_close_accept(bw_cycle, 0);
    }
}
