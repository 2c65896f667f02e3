/*
 * syslog targets of error_log and access_log, as nginx: a datagram a
 * message, "<PRI>Mmm dd hh:mm:ss HOST TAG: message" (RFC 3164), to a
 * server at an address (UDP, port 514 by default) or a unix datagram
 * socket (/dev/log). The socket is opened with the configuration, so
 * workers inherit it, and never blocks: a message the socket cannot
 * take now is dropped, as syslog over UDP may drop it anyway.
 */

#include <bw_core.h>
#include <sys/un.h>

static const char  *bw_syslog_facilities[] = {
    "kern", "user", "mail", "daemon", "auth", "intern", "lpr", "news",
    "uucp", "clock", "authpriv", "ftp", "ntp", "audit", "alert", "cron",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6",
    "local7", NULL
};

/* BW_LOG_* (emerg 1 .. debug 8) to syslog's severities (0 .. 7) */
static const char  *bw_syslog_severities[] = {
    "emerg", "alert", "crit", "error", "warn", "notice", "info", "debug",
    NULL
};

static void bw_syslog_close(void *data);

static bw_int_t
bw_syslog_find(const char **names, bw_str_t *v, bw_uint_t *out)
{
    bw_uint_t  i;

    for (i = 0; names[i]; i++) {
        if (strlen(names[i]) == v->len
            && memcmp(names[i], v->data, v->len) == 0)
        {
            *out = i;
            return BW_OK;
        }
    }
    return BW_ERROR;
}

static bw_int_t
bw_syslog_connect(bw_conf_t *cf, bw_syslog_peer_t *peer, bw_str_t *server)
{
    int                  fd;
    bw_url_t             u;
    socklen_t            len;
    struct sockaddr_un   sun;
    bw_pool_cleanup_t   *cln;
    struct sockaddr     *sa;

    if (server->len > 5 && memcmp(server->data, "unix:", 5) == 0) {
        if (server->len - 5 >= sizeof(sun.sun_path)) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "syslog server path is too long");
            return BW_ERROR;
        }
        bw_memzero(&sun, sizeof(sun));
        sun.sun_family = AF_UNIX;
        memcpy(sun.sun_path, server->data + 5, server->len - 5);
        sa = (struct sockaddr *) &sun;
        len = sizeof(sun);

    } else {
        bw_memzero(&u, sizeof(bw_url_t));
        u.url = *server;
        u.default_port = 514;
        if (bw_parse_url(cf->pool, &u) != BW_OK || u.naddrs == 0) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "invalid syslog server \"%.*s\"%s%s",
                              (int) server->len, server->data,
                              u.err ? ": " : "", u.err ? u.err : "");
            return BW_ERROR;
        }
        sa = u.addrs[0].sockaddr;
        len = u.addrs[0].socklen;
    }

    fd = socket(sa->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        bw_conf_log_error(BW_LOG_EMERG, cf, errno, "socket() failed");
        return BW_ERROR;
    }

    cln = bw_pool_cleanup_add(cf->cycle->pool, 0);
    if (cln == NULL) {
        close(fd);
        return BW_ERROR;
    }
    cln->handler = bw_syslog_close;
    cln->data = peer;
    peer->fd = fd;

    /* a server not there yet (a syslog daemon started later) is no
     * error: what is sent before is lost, as with nginx */
    if (connect(fd, sa, len) == -1) {
        bw_conf_log_error(BW_LOG_WARN, cf, errno,
                          "connect() to syslog server \"%.*s\" failed",
                          (int) server->len, server->data);
    }

    return BW_OK;
}

static void
bw_syslog_close(void *data)
{
    bw_syslog_peer_t  *peer = data;

    if (peer->fd != -1) {
        close(peer->fd);
        peer->fd = -1;
    }
}

bw_syslog_peer_t *
bw_syslog_parse(bw_conf_t *cf, bw_str_t *name)
{
    u_char            *p, *end, *next;
    bw_str_t           item, server, v;
    bw_syslog_peer_t  *peer;

    peer = bw_pcalloc(cf->cycle->pool, sizeof(bw_syslog_peer_t));
    if (peer == NULL) {
        return NULL;
    }

    peer->fd = -1;
    peer->facility = 23;        /* local7 */
    peer->severity = 6;         /* info */
    bw_str_set(&peer->tag, "nginx");
    bw_str_null(&server);

    p = name->data + sizeof("syslog:") - 1;
    end = name->data + name->len;

    for ( ; p < end; p = next + 1) {
        next = memchr(p, ',', end - p);
        if (next == NULL) {
            next = end;
        }
        item.data = p;
        item.len = next - p;

        if (item.len > 7 && memcmp(item.data, "server=", 7) == 0) {
            server.data = item.data + 7;
            server.len = item.len - 7;

        } else if (item.len > 9 && memcmp(item.data, "facility=", 9) == 0) {
            v.data = item.data + 9;
            v.len = item.len - 9;
            if (bw_syslog_find(bw_syslog_facilities, &v, &peer->facility)
                != BW_OK)
            {
                goto invalid;
            }

        } else if (item.len > 9 && memcmp(item.data, "severity=", 9) == 0) {
            v.data = item.data + 9;
            v.len = item.len - 9;
            if (bw_syslog_find(bw_syslog_severities, &v, &peer->severity)
                != BW_OK)
            {
                goto invalid;
            }

        } else if (item.len > 4 && memcmp(item.data, "tag=", 4) == 0) {
            peer->tag.data = item.data + 4;
            peer->tag.len = item.len - 4;
            if (peer->tag.len > 32) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                  "syslog tag length exceeds 32");
                return NULL;
            }
            for (v.data = peer->tag.data;
                 v.data < peer->tag.data + peer->tag.len; v.data++)
            {
                if (!isalnum(*v.data) && *v.data != '_') {
                    bw_conf_log_error(BW_LOG_EMERG, cf, 0, "syslog \"tag\" "
                                      "only allows alphanumeric characters "
                                      "and underscore");
                    return NULL;
                }
            }

        } else if (item.len == 10 && memcmp(item.data, "nohostname", 10) == 0)
        {
            peer->nohostname = 1;

        } else {
            goto invalid;
        }
    }

    if (server.len == 0) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "no syslog server specified");
        return NULL;
    }

    peer->server = server;

    if (bw_syslog_connect(cf, peer, &server) != BW_OK) {
        return NULL;
    }

    return peer;

invalid:

    bw_conf_log_error(BW_LOG_EMERG, cf, 0, "unknown syslog parameter \"%.*s\"",
                      (int) item.len, item.data);
    return NULL;
}

void
bw_syslog_send(bw_syslog_peer_t *peer, bw_uint_t level, u_char *msg,
    size_t len)
{
    u_char       *p, *last;
    ssize_t       n;
    bw_uint_t     severity;
    time_t        now;
    struct tm     tm;
    static char   host[256];
    u_char        buf[BW_MAX_ERROR_STR + 512];

    if (peer->fd == -1) {
        return;
    }

    if (host[0] == '\0' && gethostname(host, sizeof(host) - 1) == -1) {
        memcpy(host, "localhost", sizeof("localhost"));
    }

    severity = (level >= 1 && level <= 8) ? level - 1 : peer->severity;

    now = bw_time_sec;
    localtime_r(&now, &tm);

    last = buf + sizeof(buf);
    p = bw_slprintf(buf, last, "<%u>", (unsigned) (peer->facility * 8
                                                    + severity));
    p += strftime((char *) p, last - p, "%b %e %H:%M:%S ", &tm);
    if (!peer->nohostname) {
        p = bw_slprintf(p, last, "%s ", host);
    }
    p = bw_slprintf(p, last, "%.*s: ", (int) peer->tag.len, peer->tag.data);

    len = bw_min(len, (size_t) (last - p));
    p = bw_cpymem(p, msg, len);

    n = send(peer->fd, buf, p - buf, MSG_DONTWAIT | MSG_NOSIGNAL);
    (void) n;
}
