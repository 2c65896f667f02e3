/*
 * Listening sockets. The master binds them; a reload or a binary upgrade
 * reuses the same descriptors (matched by address and, for reuseport,
 * by worker number), because closing a SO_REUSEPORT socket discards the
 * connections waiting in its accept queue.
 */

#include <bw_core.h>

bw_uint_t  bw_worker;

bw_listening_t *
bw_create_listening(bw_cycle_t *cycle, struct sockaddr *sa,
    socklen_t socklen)
{
    u_char          *text;
    bw_listening_t  *ls;
    struct sockaddr *copy;

    ls = bw_array_push(&cycle->listening);
    if (ls == NULL) {
        return NULL;
    }
    bw_memzero(ls, sizeof(bw_listening_t));

    copy = bw_palloc(cycle->pool, socklen);
    text = bw_pnalloc(cycle->pool, BW_SOCKADDR_STRLEN);
    if (copy == NULL || text == NULL) {
        return NULL;
    }
    memcpy(copy, sa, socklen);

    ls->fd = -1;
    ls->sockaddr = copy;
    ls->socklen = socklen;
    ls->addr_text.data = text;
    ls->addr_text.len = bw_sock_ntop(sa, socklen, text, BW_SOCKADDR_STRLEN,
                                     1);
    ls->type = SOCK_STREAM;
    ls->backlog = 511;
    ls->rcvbuf = -1;
    ls->sndbuf = -1;
    ls->pool_size = 512;
    ls->addr_ntop = 1;
    ls->wildcard = bw_inet_wildcard(sa);
    ls->log = *cycle->log;

    return ls;
}

/* One socket per worker for each reuseport listener. */
bw_int_t
bw_clone_listening(bw_cycle_t *cycle, bw_uint_t workers)
{
    bw_uint_t        i, n, count;
    bw_listening_t   *ls, *clone, copy;

    count = cycle->listening.nelts;
    for (i = 0; i < count; i++) {
        ls = (bw_listening_t *) cycle->listening.elts + i;
        if (!ls->reuseport) {
            continue;
        }
        copy = *ls;
        for (n = 1; n < workers; n++) {
            clone = bw_array_push(&cycle->listening);
            if (clone == NULL) {
                return BW_ERROR;
            }
            *clone = copy;
            clone->worker = n;
        }
    }

    return BW_OK;
}

/*
 * The new binary of an upgrade finds its listeners in $BULWARK as
 * "fd;fd;...". They are described in cycle->listening with inherited
 * set; bw_init_cycle matches them against the configuration.
 */
bw_int_t
bw_set_inherited_sockets(bw_cycle_t *cycle, const char *env)
{
    int              fd, type, reuse;
    const char      *p, *q;
    socklen_t        len;
    bw_sockaddr_t    sa;
    bw_listening_t  *ls;
    bw_uint_t        n;

    for (p = q = env; *p; p++) {
        if (*p != ':' && *p != ';') {
            continue;
        }

        fd = (int) bw_atoi((u_char *) q, p - q);

        if (fd < 0) {
            bw_log_error(BW_LOG_EMERG, cycle->log, 0,
                         "invalid socket number \"%.*s\" in BULWARK "
                         "environment variable, ignoring the rest",
                         (int) (p - q), q);
            break;
        }

        q = p + 1;

        len = sizeof(bw_sockaddr_t);
        if (getsockname(fd, &sa.sockaddr, &len) == -1) {
            bw_log_error(BW_LOG_CRIT, cycle->log, errno,
                         "getsockname() of the inherited socket #%d failed",
                         fd);
            continue;
        }

        ls = bw_create_listening(cycle, &sa.sockaddr, len);
        if (ls == NULL) {
            return BW_ERROR;
        }
        ls->fd = fd;
        ls->inherited = 1;

        len = sizeof(int);
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0) {
            ls->type = type;
        }
        len = sizeof(int);
        if (getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &reuse, &len) == 0
            && reuse)
        {
            ls->reuseport = 1;
        }

        bw_log_error(BW_LOG_NOTICE, cycle->log, 0,
                     "using inherited sockets from \"%s\"", env);
    }

    /* Number reuseport copies of one address in the order they came. */
    ls = cycle->listening.elts;
    for (n = 0; n < cycle->listening.nelts; n++) {
        bw_uint_t  k, w = 0;
        if (!ls[n].reuseport) {
            continue;
        }
        for (k = 0; k < n; k++) {
            if (ls[k].reuseport
                && bw_cmp_sockaddr(ls[k].sockaddr, ls[k].socklen,
                                   ls[n].sockaddr, ls[n].socklen, 1)
                   == BW_OK)
            {
                w++;
            }
        }
        ls[n].worker = w;
    }

    return BW_OK;
}

bw_int_t
bw_open_listening_sockets(bw_cycle_t *cycle)
{
    int              s, on, tries, failed;
    bw_uint_t        i;
    bw_err_t         err;
    bw_listening_t  *ls;

    for (tries = 5; tries; tries--) {
        failed = 0;

        ls = cycle->listening.elts;
        for (i = 0; i < cycle->listening.nelts; i++) {
            if (ls[i].fd != -1) {
                continue;
            }

            s = socket(ls[i].sockaddr->sa_family, SOCK_STREAM | SOCK_CLOEXEC,
                       0);
            if (s == -1) {
                bw_log_error(BW_LOG_EMERG, cycle->log, errno,
                             "socket() %s failed", ls[i].addr_text.data);
                return BW_ERROR;
            }

            on = 1;
            if (ls[i].sockaddr->sa_family != AF_UNIX
                && setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(int))
                   == -1)
            {
                bw_log_error(BW_LOG_EMERG, cycle->log, errno,
                             "setsockopt(SO_REUSEADDR) %s failed",
                             ls[i].addr_text.data);
                close(s);
                return BW_ERROR;
            }

            if (ls[i].reuseport
                && setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(int))
                   == -1)
            {
                bw_log_error(BW_LOG_EMERG, cycle->log, errno,
                             "setsockopt(SO_REUSEPORT) %s failed",
                             ls[i].addr_text.data);
                close(s);
                return BW_ERROR;
            }

            if (ls[i].sockaddr->sa_family == AF_INET6) {
                on = ls[i].ipv6only;
                (void) setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &on,
                                  sizeof(int));
            }

            if (bind(s, ls[i].sockaddr, ls[i].socklen) == -1) {
                err = errno;
                if (err != EADDRINUSE) {
                    bw_log_error(BW_LOG_EMERG, cycle->log, err,
                                 "bind() to %s failed",
                                 ls[i].addr_text.data);
                    close(s);
                    return BW_ERROR;
                }
                close(s);
                bw_log_error(BW_LOG_EMERG, cycle->log, err,
                             "bind() to %s failed", ls[i].addr_text.data);
                failed = 1;
                continue;
            }

            if (ls[i].sockaddr->sa_family == AF_UNIX) {
                (void) chmod(((struct sockaddr_un *) ls[i].sockaddr)->sun_path,
                             0666);
            }

            if (listen(s, ls[i].backlog) == -1) {
                bw_log_error(BW_LOG_EMERG, cycle->log, errno,
                             "listen() to %s, backlog %d failed",
                             ls[i].addr_text.data, ls[i].backlog);
                close(s);
                return BW_ERROR;
            }

            if (fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK) == -1) {
                close(s);
                return BW_ERROR;
            }

            ls[i].fd = s;
            ls[i].open = 1;
        }

        if (!failed) {
            return BW_OK;
        }

        bw_log_error(BW_LOG_NOTICE, cycle->log, 0, "try again to bind()");
        usleep(500000);
    }

    bw_log_error(BW_LOG_EMERG, cycle->log, 0, "still could not bind()");
    return BW_ERROR;
}

/* the socket file itself may be a running server's: only the folder
 * it goes in is checked, which a start needs to exist */
static bw_err_t
bw_test_unix_dir(struct sockaddr *sa)
{
    char          dir[sizeof(((struct sockaddr_un *) 0)->sun_path) + 1];
    char         *slash;
    struct stat   st;

    bw_cpystrn((u_char *) dir,
               (u_char *) ((struct sockaddr_un *) sa)->sun_path,
               sizeof(dir));
    slash = strrchr(dir, '/');
    if (slash == NULL) {
        return 0;
    }
    slash[slash == dir] = '\0';

    if (stat(dir, &st) == -1) {
        return errno;
    }
    return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}

/*
 * -t binds nothing (a running server holds the ports), but an address
 * that is not assigned to this host would make the start fail: a probe
 * socket bound to it with port 0 finds that out.
 */
bw_int_t
bw_test_listening_sockets(bw_cycle_t *cycle)
{
    int              s;
    bw_uint_t        i;
    bw_err_t         err;
    bw_sockaddr_t    sa;
    bw_listening_t  *ls;

    ls = cycle->listening.elts;
    for (i = 0; i < cycle->listening.nelts; i++) {
        if (ls[i].sockaddr->sa_family == AF_UNIX) {
            err = bw_test_unix_dir(ls[i].sockaddr);
            if (err) {
                bw_log_error(BW_LOG_EMERG, cycle->log, err,
                             "bind() to %s failed", ls[i].addr_text.data);
                return BW_ERROR;
            }
            continue;
        }

        if (ls[i].wildcard || ls[i].socklen > sizeof(bw_sockaddr_t)
            || (ls[i].sockaddr->sa_family != AF_INET
                && ls[i].sockaddr->sa_family != AF_INET6))
        {
            continue;
        }

        memcpy(&sa, ls[i].sockaddr, ls[i].socklen);
        if (sa.sockaddr.sa_family == AF_INET) {
            sa.sockaddr_in.sin_port = 0;
        } else {
            sa.sockaddr_in6.sin6_port = 0;
        }

        s = socket(sa.sockaddr.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s == -1) {
            bw_log_error(BW_LOG_EMERG, cycle->log, errno,
                         "socket() %s failed", ls[i].addr_text.data);
            return BW_ERROR;
        }

        err = bind(s, &sa.sockaddr, ls[i].socklen) == -1 ? errno : 0;
        close(s);

        if (err) {
            bw_log_error(BW_LOG_EMERG, cycle->log, err,
                         "bind() to %s failed", ls[i].addr_text.data);
            return BW_ERROR;
        }
    }

    return BW_OK;
}

void
bw_configure_listening_sockets(bw_cycle_t *cycle)
{
    int              value;
    bw_uint_t        i;
    bw_listening_t  *ls;

    ls = cycle->listening.elts;
    for (i = 0; i < cycle->listening.nelts; i++) {
        /* what a connection logs before its request finds a location
         * goes where the server's error_log says, at its level, as
         * nginx (the log at parse time is the one of the start) */
        if (ls[i].logp && ls[i].logp->file) {
            ls[i].log.file = ls[i].logp->file;
            ls[i].log.log_level = ls[i].logp->log_level;
        }

        if (ls[i].rcvbuf != -1) {
            (void) setsockopt(ls[i].fd, SOL_SOCKET, SO_RCVBUF, &ls[i].rcvbuf,
                              sizeof(int));
        }
        if (ls[i].sndbuf != -1) {
            (void) setsockopt(ls[i].fd, SOL_SOCKET, SO_SNDBUF, &ls[i].sndbuf,
                              sizeof(int));
        }
        if (ls[i].keepalive) {
            value = (ls[i].keepalive == 1) ? 1 : 0;
            (void) setsockopt(ls[i].fd, SOL_SOCKET, SO_KEEPALIVE, &value,
                              sizeof(int));
            if (ls[i].keepidle) {
                (void) setsockopt(ls[i].fd, IPPROTO_TCP, TCP_KEEPIDLE,
                                  &ls[i].keepidle, sizeof(int));
            }
            if (ls[i].keepintvl) {
                (void) setsockopt(ls[i].fd, IPPROTO_TCP, TCP_KEEPINTVL,
                                  &ls[i].keepintvl, sizeof(int));
            }
            if (ls[i].keepcnt) {
                (void) setsockopt(ls[i].fd, IPPROTO_TCP, TCP_KEEPCNT,
                                  &ls[i].keepcnt, sizeof(int));
            }
        }

        if (ls[i].deferred_accept) {
            value = 1;
            (void) setsockopt(ls[i].fd, IPPROTO_TCP, TCP_DEFER_ACCEPT,
                              &value, sizeof(int));
        }

        /* a reload may change the backlog of a kept socket */
        if (listen(ls[i].fd, ls[i].backlog) == -1) {
            bw_log_error(BW_LOG_ALERT, cycle->log, errno,
                         "listen() to %s, backlog %d failed, ignored",
                         ls[i].addr_text.data, ls[i].backlog);
        }
    }
}

void
bw_close_listening_sockets(bw_cycle_t *cycle)
{
    bw_uint_t        i;
    bw_listening_t  *ls;

    ls = cycle->listening.elts;
    for (i = 0; i < cycle->listening.nelts; i++) {
        if (ls[i].fd == -1) {
            continue;
        }
        close(ls[i].fd);
        ls[i].fd = -1;
    }
}
