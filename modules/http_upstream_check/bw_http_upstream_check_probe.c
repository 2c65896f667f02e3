/*
 * The probes. Each worker's timer looks, under the zone's lock, for the
 * peers whose probe is due and that no worker is probing (a peer's
 * hc_started says one is, and since when: a worker that died with a
 * probe running leaves it stale, and another takes over), marks them,
 * and probes them through the same connect code as proxied requests:
 * a non-blocking connect, one GET, the answer read until the peer
 * closes, within the location's proxy_connect_timeout and
 * proxy_read_timeout. The verdict changes the peer for every worker.
 *
 * A probe never blocks the worker; its memory is one pool, dropped when
 * it ends.
 */

#include "bw_http_upstream_check.h"

#define BW_HC_BUF_START  4096
#define BW_HC_BATCH      (2 * BW_UPSTREAM_RR_MAX_PEERS)

typedef struct {
    bw_http_hc_t           *hc;
    bw_pool_t              *pool;
    bw_peer_connection_t    pc;
    bw_sockaddr_t           sockaddr;
    bw_str_t                name;
    u_char                  text[BW_SOCKADDR_STRLEN];
    bw_uint_t               id;
    unsigned                connected:1;
    bw_buf_t               *request;
    u_char                 *buf;
    size_t                  len;
    size_t                  size;
} bw_http_hc_probe_t;

/* A peer to probe, as copied out under the lock. */
typedef struct {
    bw_uint_t               id;
    bw_sockaddr_t           sockaddr;
    socklen_t               socklen;
    size_t                  name_len;
    u_char                  name[BW_SOCKADDR_STRLEN];
} bw_http_hc_due_t;

static bw_http_hc_due_t  bw_http_hc_due[BW_HC_BATCH];

static void bw_http_hc_start(bw_http_hc_t *hc, bw_http_hc_due_t *due);
static void bw_http_hc_ssl_start(bw_http_hc_probe_t *pr, bw_connection_t *c);
static void bw_http_hc_write_handler(bw_event_t *ev);
static void bw_http_hc_read_handler(bw_event_t *ev);
static void bw_http_hc_done(bw_http_hc_probe_t *pr, bw_uint_t passed,
    const char *why);

/* the request is sent: nothing more to write */
static void
bw_http_hc_idle_handler(bw_event_t *ev)
{
}

static bw_msec_t
bw_http_hc_period(bw_http_hc_t *hc)
{
    bw_msec_t  t;

    /* often enough that a due probe starts soon after it is due */
    t = hc->interval / 4;
    return t < 50 ? 50 : (t > 500 ? 500 : t);
}

void
bw_http_hc_tick(bw_event_t *ev)
{
    bw_http_hc_t  *hc = ev->data;

    bw_uint_t                i, n;
    bw_msec_t                now, stale;
    bw_upstream_rr_hc_t     *st;
    bw_upstream_rr_peer_t   *peer;
    bw_upstream_rr_peers_t  *peers, *set;

    if (bw_exiting || bw_quit || bw_terminate || hc->cycle != bw_cycle) {
        /* a worker on its way out starts no probe, nor does a
         * configuration a single process has reloaded away (its probes
         * under way hold it until they end: they are older connections) */
        return;
    }

    peers = hc->upstream->peer.data;
    now = bw_current_msec;
    stale = hc->conf->connect_timeout + hc->conf->read_timeout + 1000;
    n = 0;

    bw_shmtx_lock(peers->shpool);

    for (set = peers; set; set = set->next) {
        for (i = 0; i < set->number && n < BW_HC_BATCH; i++) {
            peer = &set->peer[i];

            st = &peer->hc[hc->index];

            if (peer->removed || now < st->next
                || (st->started && now - st->started < stale))
            {
                continue;
            }

            st->started = now ? now : 1;
            st->next = now + hc->interval
                       + (hc->jitter ? bw_random_below(hc->jitter) : 0);

            bw_http_hc_due[n].id = peer->id;
            memcpy(&bw_http_hc_due[n].sockaddr, peer->sockaddr,
                   peer->socklen);
            bw_http_hc_due[n].socklen = peer->socklen;
            bw_http_hc_due[n].name_len = bw_min(peer->name.len,
                                                BW_SOCKADDR_STRLEN - 1);
            memcpy(bw_http_hc_due[n].name, peer->name.data,
                   bw_http_hc_due[n].name_len);
            n++;
        }
    }

    bw_shmtx_unlock(peers->shpool);

    for (i = 0; i < n; i++) {
        bw_http_hc_start(hc, &bw_http_hc_due[i]);
    }

    bw_event_add_timer(ev, bw_http_hc_period(hc));
}

static void
bw_http_hc_start(bw_http_hc_t *hc, bw_http_hc_due_t *due)
{
    bw_int_t                 rc;
    bw_pool_t               *pool;
    bw_buf_t                *b;
    bw_connection_t         *c;
    bw_http_hc_probe_t      *pr;
    bw_upstream_rr_peer_t   *peer;
    bw_upstream_rr_peers_t  *peers, *set;

    pool = bw_create_pool(1024, hc->log);
    if (pool == NULL) {
        goto failed;
    }

    pr = bw_pcalloc(pool, sizeof(bw_http_hc_probe_t));
    b = bw_create_temp_buf(pool, hc->uri.len + hc->upstream->host.len + 128);
    if (pr == NULL || b == NULL) {
        bw_destroy_pool(pool);
        goto failed;
    }

    pr->hc = hc;
    pr->pool = pool;
    pr->id = due->id;
    memcpy(&pr->sockaddr, &due->sockaddr, due->socklen);
    pr->name.data = pr->text;
    pr->name.len = due->name_len;
    memcpy(pr->text, due->name, due->name_len);
    pr->text[pr->name.len] = '\0';

    if (hc->port) {
        if (pr->sockaddr.sockaddr.sa_family == AF_INET6) {
            pr->sockaddr.sockaddr_in6.sin6_port = htons(hc->port);
        } else if (pr->sockaddr.sockaddr.sa_family == AF_INET) {
            pr->sockaddr.sockaddr_in.sin_port = htons(hc->port);
        }
    }

    b->last = bw_slprintf(b->last, b->end,
                          "GET %.*s HTTP/1.1\r\nHost: %.*s\r\n"
                          "Connection: close\r\n"
                          "User-Agent: bulwark health check\r\n\r\n",
                          (int) hc->uri.len, hc->uri.data,
                          (int) hc->upstream->host.len,
                          hc->upstream->host.data);
    pr->request = b;

    pr->pc.sockaddr = &pr->sockaddr.sockaddr;
    pr->pc.socklen = due->socklen;
    pr->pc.name = &pr->name;
    pr->pc.get = bw_event_get_peer;
    pr->pc.log = hc->log;
    pr->pc.private = 1;

    rc = bw_event_connect_peer(&pr->pc);

    if (rc == BW_ERROR || rc == BW_BUSY || rc == BW_DECLINED) {
        pr->pc.connection = NULL;
        bw_http_hc_done(pr, 0, "connect");
        return;
    }

    c = pr->pc.connection;
    c->data = pr;
    c->read->handler = bw_http_hc_read_handler;
    c->write->handler = bw_http_hc_write_handler;

    if (rc == BW_AGAIN) {
        bw_event_add_timer(c->write, hc->conf->connect_timeout);
        return;
    }

    bw_http_hc_write_handler(c->write);
    return;

failed:

    /* no memory: the peer's probe is due again at the next interval */
    bw_log_error(BW_LOG_ALERT, hc->log, 0, "health check of \"%.*s\" "
                 "not started", (int) due->name_len, due->name);

    peers = hc->upstream->peer.data;
    bw_shmtx_lock(peers->shpool);
    peer = bw_upstream_rr_find(peers, due->id, &set);
    if (peer) {
        peer->hc[hc->index].started = 0;
    }
    bw_shmtx_unlock(peers->shpool);
}

static void
bw_http_hc_ssl_done(bw_connection_t *c)
{
    bw_http_hc_probe_t  *pr;

    pr = c->data;

    if (c->ssl == NULL || !c->ssl->handshaked) {
        bw_http_hc_done(pr, 0, c->write->timedout ? "TLS handshake timed out"
                                                   : "TLS handshake");
        return;
    }

    if (pr->hc->conf->ssl_verify
        && (SSL_get_verify_result(c->ssl->connection) != X509_V_OK
            || bw_http_upstream_ssl_check_host(c, &pr->hc->ssl_name)
               != BW_OK))
    {
        bw_http_hc_done(pr, 0, "certificate");
        return;
    }

    if (c->write->timer_set) {
        bw_event_del_timer(c->write);
    }

    c->write->handler = bw_http_hc_write_handler;
    c->read->handler = bw_http_hc_read_handler;
    bw_http_hc_write_handler(c->write);
}

/* TLS as the location's proxy_pass https:// speaks it: its context
 * (protocols, ciphers, client certificate, trusted CAs), the name it
 * sends and checks. */
static void
bw_http_hc_ssl_start(bw_http_hc_probe_t *pr, bw_connection_t *c)
{
    u_char    name[BW_HTTP_UPSTREAM_SSL_NAME_LEN + 1];
    size_t    n;
    bw_int_t  rc;

    /* the TLS state's own pool: bw_close_peer_connection drops it */
    c->pool = bw_create_pool(128, c->log);
    if (c->pool == NULL
        || bw_ssl_create_connection(&pr->hc->conf->ssl->ssl, c, 0) != BW_OK)
    {
        bw_http_hc_done(pr, 0, "TLS");
        return;
    }

    n = bw_min(pr->hc->ssl_name.len, BW_HTTP_UPSTREAM_SSL_NAME_LEN);
    if (pr->hc->conf->ssl_server_name == 1 && pr->hc->ssl_sni && n) {
        memcpy(name, pr->hc->ssl_name.data, n);
        name[n] = '\0';
        (void) SSL_set_tlsext_host_name(c->ssl->connection, (char *) name);
    }

    rc = bw_ssl_handshake(c);

    if (rc == BW_AGAIN) {
        if (!c->write->timer_set) {
            bw_event_add_timer(c->write, pr->hc->conf->connect_timeout);
        }
        c->ssl->handler = bw_http_hc_ssl_done;
        return;
    }

    bw_http_hc_ssl_done(c);
}

static void
bw_http_hc_write_handler(bw_event_t *wev)
{
    int                   err;
    ssize_t               n;
    socklen_t             len;
    bw_buf_t             *b;
    bw_connection_t      *c;
    bw_http_hc_probe_t   *pr;

    c = wev->data;
    pr = c->data;

    if (wev->timedout) {
        bw_http_hc_done(pr, 0, "connect timed out");
        return;
    }

    if (wev->timer_set) {
        bw_event_del_timer(wev);
    }

    if (pr->request->pos == pr->request->start && !pr->connected) {
        /* the connect's outcome */
        err = 0;
        len = sizeof(int);
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1) {
            err = errno;
        }
        if (err) {
            bw_log_error(BW_LOG_INFO, c->log, err, "health check connect() "
                         "to %s failed", pr->name.data);
            bw_http_hc_done(pr, 0, "connect");
            return;
        }
        pr->connected = 1;

        if (pr->hc->https) {
            bw_http_hc_ssl_start(pr, c);
            return;
        }
    }

    b = pr->request;

    while (b->pos < b->last) {
        n = c->send(c, b->pos, b->last - b->pos);
        if (n == BW_AGAIN) {
            bw_event_add_timer(wev, pr->hc->conf->connect_timeout);
            return;
        }
        if (n <= 0) {
            bw_http_hc_done(pr, 0, "send");
            return;
        }
        b->pos += n;
    }

    wev->handler = bw_http_hc_idle_handler;
    bw_event_add_timer(c->read, pr->hc->conf->read_timeout);
    bw_http_hc_read_handler(c->read);
}

static void
bw_http_hc_read_handler(bw_event_t *rev)
{
    u_char               *p;
    size_t                size;
    ssize_t               n;
    bw_connection_t      *c;
    const char           *why;
    bw_http_hc_probe_t   *pr;
    bw_http_hc_answer_t   a;

    c = rev->data;
    pr = c->data;

    if (rev->timedout) {
        bw_http_hc_done(pr, 0, "timed out");
        return;
    }

    for ( ;; ) {
        if (pr->len == pr->size) {
            if (pr->size == BW_HC_HEADER_MAX + BW_HC_BODY_MAX) {
                /* enough to judge: the rest is not read */
                break;
            }
            size = pr->size ? pr->size * 2 : BW_HC_BUF_START;
            size = bw_min(size, BW_HC_HEADER_MAX + BW_HC_BODY_MAX);
            p = bw_pnalloc(pr->pool, size);
            if (p == NULL) {
                bw_http_hc_done(pr, 0, "memory");
                return;
            }
            if (pr->len) {
                memcpy(p, pr->buf, pr->len);
            }
            pr->buf = p;
            pr->size = size;
        }

        n = c->recv(c, pr->buf + pr->len, pr->size - pr->len);

        if (n == BW_AGAIN) {
            if (!rev->timer_set) {
                bw_event_add_timer(rev, pr->hc->conf->read_timeout);
            }
            return;
        }

        if (n == BW_ERROR) {
            bw_http_hc_done(pr, 0, "read");
            return;
        }

        if (n == 0) {
            break;
        }

        pr->len += n;

        /* a whole answer is judged at once: the peer need not close */
        if (bw_http_hc_parse_answer(pr->buf, pr->len, 0, &a) != BW_AGAIN) {
            break;
        }
    }

    why = "not HTTP";
    if (bw_http_hc_parse_answer(pr->buf, pr->len, 1, &a) != BW_OK) {
        bw_http_hc_done(pr, 0, why);
        return;
    }

    why = NULL;
    if (bw_http_hc_passes(pr->hc->match, &a, &why)) {
        bw_http_hc_done(pr, 1, NULL);
        return;
    }

    bw_http_hc_done(pr, 0, why);
}

static const char *
bw_http_hc_state_name(bw_upstream_rr_peer_t *peer)
{
    return peer->hc_bad ? "unhealthy"
           : peer->hc_pending ? "checking" : "up";
}

static void
bw_http_hc_done(bw_http_hc_probe_t *pr, bw_uint_t passed, const char *why)
{
    bw_uint_t                changed, bit;
    const char              *was, *now;
    bw_upstream_rr_hc_t     *st;
    bw_http_hc_t            *hc;
    bw_upstream_rr_peer_t   *peer;
    bw_upstream_rr_peers_t  *peers, *set;

    hc = pr->hc;

    if (pr->pc.connection) {
        bw_close_peer_connection(pr->pc.connection);
        pr->pc.connection = NULL;
    }

    peers = hc->upstream->peer.data;
    changed = 0;
    was = now = NULL;

    bw_shmtx_lock(peers->shpool);

    /* the peer may have left, or its slot moved, meanwhile */
    peer = bw_upstream_rr_find(peers, pr->id, &set);

    if (peer) {
        was = bw_http_hc_state_name(peer);
        st = &peer->hc[hc->index];
        bit = 1u << hc->index;

        st->started = 0;
        peer->hc_checks++;
        peer->hc_last_passed = passed;

        if (passed) {
            st->passes_row++;
            st->fails_row = 0;
            if (((peer->hc_bad | peer->hc_pending) & bit)
                && st->passes_row >= hc->passes)
            {
                peer->hc_bad &= ~bit;
                peer->hc_pending &= ~bit;
            }

        } else {
            peer->hc_fails++;
            st->fails_row++;
            st->passes_row = 0;
            if (peer->hc_pending & bit) {
                /* a mandatory check failed: unhealthy, not waiting */
                peer->hc_pending &= ~bit;
                peer->hc_bad |= bit;
            } else if (st->fails_row >= hc->fails) {
                peer->hc_bad |= bit;
            }
        }

        /* out while any check of the upstream says so */
        peer->unhealthy = (peer->hc_bad || peer->hc_pending);

        now = bw_http_hc_state_name(peer);
        changed = (now != was);
        if (changed && peer->hc_bad && strcmp(was, "unhealthy") != 0) {
            peer->hc_unhealthy++;
        }
    }

    bw_shmtx_unlock(peers->shpool);

    if (changed) {
        bw_log_error(passed ? BW_LOG_NOTICE : BW_LOG_WARN, hc->log, 0,
                     "upstream \"%.*s\": peer %s (id %lu) is %s, was %s%s%s",
                     (int) hc->upstream->host.len, hc->upstream->host.data,
                     pr->name.data, (unsigned long) pr->id, now, was,
                     why ? ": health check failed on " : "",
                     why ? why : "");
    }

    bw_destroy_pool(pr->pool);
}
