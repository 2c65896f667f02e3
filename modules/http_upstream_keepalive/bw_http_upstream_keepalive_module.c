/*
 * Keepalive connections to upstream servers ("keepalive N" in an
 * upstream block). Each worker keeps up to N idle connections per
 * upstream, most recently used first; the balancer still picks the peer
 * and a cached connection to that peer is used when there is one.
 *
 * A cached connection is watched while it sits idle: any byte or EOF
 * from the server closes it, so a connection the server has closed is
 * never handed to a request. If the server closes it in the instant
 * between the check and the request, the upstream retries on a new
 * connection without counting it against the peer.
 */

#include <bw_http_upstream_round_robin.h>

typedef struct {
    bw_uint_t                        max_cached;
    bw_uint_t                        requests;
    bw_msec_t                        time;
    bw_msec_t                        timeout;

    bw_queue_t                       cache;
    bw_queue_t                       free;

    bw_cycle_t                      *cycle;     /* whose memory the cache is */
    bw_http_upstream_init_peer_pt    original_init_peer;

    /* a zone's peers change at run time: the generation the cache was
     * last checked against */
    bw_http_upstream_srv_conf_t     *upstream;
    bw_uint_t                        generation;
} bw_http_upstream_keepalive_srv_conf_t;

typedef struct {
    bw_http_upstream_keepalive_srv_conf_t  *conf;
    bw_queue_t                              queue;
    bw_connection_t                        *connection;
    socklen_t                               socklen;
    bw_sockaddr_t                           sockaddr;
} bw_http_upstream_keepalive_cache_t;

typedef struct {
    bw_http_upstream_keepalive_srv_conf_t  *conf;
    bw_http_upstream_t                     *upstream;
    void                                   *data;
    bw_event_get_peer_pt                    original_get_peer;
    bw_event_free_peer_pt                   original_free_peer;
} bw_http_upstream_keepalive_peer_data_t;

static bw_int_t bw_http_upstream_init_keepalive(bw_conf_t *cf,
    bw_http_upstream_srv_conf_t *us);
static bw_int_t bw_http_upstream_init_keepalive_peer(bw_http_request_t *r,
    bw_http_upstream_srv_conf_t *us);
static bw_int_t bw_http_upstream_get_keepalive_peer(bw_peer_connection_t *pc,
    void *data);
static void bw_http_upstream_free_keepalive_peer(bw_peer_connection_t *pc,
    void *data, bw_uint_t state);
static void bw_http_upstream_keepalive_dummy_handler(bw_event_t *ev);
static void bw_http_upstream_keepalive_close_handler(bw_event_t *ev);
static void bw_http_upstream_keepalive_close(bw_connection_t *c);
static void *bw_http_upstream_keepalive_create_conf(bw_conf_t *cf);
static char *bw_http_upstream_keepalive(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);

#define KOFF(f)  offsetof(bw_http_upstream_keepalive_srv_conf_t, f)

static bw_command_t  bw_http_upstream_keepalive_commands[] = {

    { bw_string("keepalive"), BW_HTTP_UPS_CONF|BW_CONF_TAKE1,
      bw_http_upstream_keepalive, BW_HTTP_SRV_CONF_OFFSET, 0, NULL },
    { bw_string("keepalive_requests"), BW_HTTP_UPS_CONF|BW_CONF_TAKE1,
      bw_conf_set_num_slot, BW_HTTP_SRV_CONF_OFFSET, KOFF(requests), NULL },
    { bw_string("keepalive_time"), BW_HTTP_UPS_CONF|BW_CONF_TAKE1,
      bw_conf_set_msec_slot, BW_HTTP_SRV_CONF_OFFSET, KOFF(time), NULL },
    { bw_string("keepalive_timeout"), BW_HTTP_UPS_CONF|BW_CONF_TAKE1,
      bw_conf_set_msec_slot, BW_HTTP_SRV_CONF_OFFSET, KOFF(timeout), NULL },

    bw_null_command
};

static bw_http_module_t  bw_http_upstream_keepalive_module_ctx = {
    NULL, NULL, NULL, NULL,
    bw_http_upstream_keepalive_create_conf, NULL,
    NULL, NULL
};

bw_module_t  bw_http_upstream_keepalive_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_upstream_keepalive_module_ctx,
    bw_http_upstream_keepalive_commands, NULL, NULL, NULL, NULL
};

static bw_int_t
bw_http_upstream_init_keepalive(bw_conf_t *cf,
    bw_http_upstream_srv_conf_t *us)
{
    bw_uint_t                               i;
    bw_http_upstream_keepalive_cache_t     *cached;
    bw_http_upstream_keepalive_srv_conf_t  *kcf;

    kcf = bw_http_conf_upstream_srv_conf(us,
                                         bw_http_upstream_keepalive_module);

    bw_conf_init_uint_value(kcf->requests, 1000);
    bw_conf_init_msec_value(kcf->time, 3600000);
    bw_conf_init_msec_value(kcf->timeout, 60000);

    if (bw_http_upstream_init_balancer(cf, us) != BW_OK) {
        return BW_ERROR;
    }

    kcf->original_init_peer = us->peer.init;
    us->peer.init = bw_http_upstream_init_keepalive_peer;
    kcf->upstream = us;

    cached = bw_pcalloc(cf->pool, sizeof(bw_http_upstream_keepalive_cache_t)
                                  * kcf->max_cached);
    if (cached == NULL) {
        return BW_ERROR;
    }

    bw_queue_init(&kcf->cache);
    bw_queue_init(&kcf->free);

    for (i = 0; i < kcf->max_cached; i++) {
        bw_queue_insert_head(&kcf->free, &cached[i].queue);
        cached[i].conf = kcf;
    }

    return BW_OK;
}

static bw_int_t
bw_http_upstream_init_keepalive_peer(bw_http_request_t *r,
    bw_http_upstream_srv_conf_t *us)
{
    bw_http_upstream_keepalive_peer_data_t  *kp;
    bw_http_upstream_keepalive_srv_conf_t   *kcf;

    kcf = bw_http_conf_upstream_srv_conf(us,
                                         bw_http_upstream_keepalive_module);

    kp = bw_palloc(r->pool, sizeof(bw_http_upstream_keepalive_peer_data_t));
    if (kp == NULL) {
        return BW_ERROR;
    }

    if (kcf->original_init_peer(r, us) != BW_OK) {
        return BW_ERROR;
    }

    kp->conf = kcf;
    kp->upstream = r->upstream;
    kp->data = r->upstream->peer.data;
    kp->original_get_peer = r->upstream->peer.get;
    kp->original_free_peer = r->upstream->peer.free;

    r->upstream->peer.data = kp;
    r->upstream->peer.get = bw_http_upstream_get_keepalive_peer;
    r->upstream->peer.free = bw_http_upstream_free_keepalive_peer;

    return BW_OK;
}

static bw_int_t
bw_http_upstream_get_keepalive_peer(bw_peer_connection_t *pc, void *data)
{
    bw_http_upstream_keepalive_peer_data_t  *kp = data;

    bw_int_t                             rc;
    bw_queue_t                          *q;
    bw_connection_t                     *c;
    bw_http_upstream_keepalive_cache_t  *item;

    rc = kp->original_get_peer(pc, kp->data);
    if (rc != BW_OK || pc->private) {
        return rc;
    }

    /* the balancer chose the peer; a cached connection to it, if any */
    for (q = bw_queue_head(&kp->conf->cache);
         q != bw_queue_sentinel(&kp->conf->cache);
         q = bw_queue_next(q))
    {
        item = bw_queue_data(q, bw_http_upstream_keepalive_cache_t, queue);

        if (bw_cmp_sockaddr(&item->sockaddr.sockaddr, item->socklen,
                            pc->sockaddr, pc->socklen, 1) != BW_OK)
        {
            continue;
        }

        /* TLS or not as the request wants it, and TLS made in the
         * request's context: verified for its name, with its client
         * certificate (locations that differ in these have contexts
         * of their own) */
        c = item->connection;
        if (kp->upstream->ssl != (c->ssl != NULL)
            || (c->ssl && (kp->upstream->conf->ssl == NULL
                           || SSL_get_SSL_CTX(c->ssl->connection)
                              != kp->upstream->conf->ssl->ssl.ctx)))
        {
            continue;
        }

        bw_queue_remove(q);
        bw_queue_insert_head(&kp->conf->free, q);

        c = item->connection;
        c->idle = 0;
        c->log = pc->log;
        c->read->log = pc->log;
        c->write->log = pc->log;
        if (c->pool) {
            c->pool->log = pc->log;
        }

        if (c->read->timer_set) {
            bw_event_del_timer(c->read);
        }

        pc->connection = c;
        pc->cached = 1;

        return BW_DONE;
    }

    return BW_OK;
}

/* Does a live peer, taking requests, have this address? With the
 * zone's lock held. */
static bw_uint_t
bw_http_upstream_keepalive_wanted(bw_upstream_rr_peers_t *peers,
    struct sockaddr *sa, socklen_t len)
{
    bw_uint_t                i;
    bw_upstream_rr_peer_t   *peer;

    for ( /* void */ ; peers; peers = peers->next) {
        for (i = 0; i < peers->number; i++) {
            peer = &peers->peer[i];
            if (!peer->removed && !peer->drain
                && bw_cmp_sockaddr(peer->sockaddr, peer->socklen, sa, len, 1)
                   == BW_OK)
            {
                return 1;
            }
        }
    }

    return 0;
}

/*
 * After a run-time change of a zone's peers: the kept connections to
 * peers removed or draining are closed, and so is this request's
 * connection when its peer is one of them (0 returned).
 */
static bw_uint_t
bw_http_upstream_keepalive_sweep(bw_http_upstream_keepalive_srv_conf_t *kcf,
    bw_peer_connection_t *pc)
{
    bw_uint_t                            keep;
    bw_queue_t                          *q, *next;
    bw_queue_t                           gone;
    bw_upstream_rr_peers_t              *peers;
    bw_http_upstream_keepalive_cache_t  *item;

    peers = kcf->upstream->peer.data;
    if (peers == NULL || peers->shared == NULL
        || peers->shared->generation == kcf->generation)
    {
        return 1;
    }

    bw_queue_init(&gone);

    bw_shmtx_lock(peers->shpool);

    kcf->generation = peers->shared->generation;
    keep = bw_http_upstream_keepalive_wanted(peers, pc->sockaddr,
                                             pc->socklen);

    for (q = bw_queue_head(&kcf->cache);
         q != bw_queue_sentinel(&kcf->cache);
         q = next)
    {
        next = bw_queue_next(q);
        item = bw_queue_data(q, bw_http_upstream_keepalive_cache_t, queue);
        if (!bw_http_upstream_keepalive_wanted(peers,
                                               &item->sockaddr.sockaddr,
                                               item->socklen))
        {
            bw_queue_remove(q);
            bw_queue_insert_tail(&gone, q);
        }
    }

    bw_shmtx_unlock(peers->shpool);

    while (!bw_queue_empty(&gone)) {
        q = bw_queue_head(&gone);
        bw_queue_remove(q);
        item = bw_queue_data(q, bw_http_upstream_keepalive_cache_t, queue);
        bw_http_upstream_keepalive_close(item->connection);
        bw_queue_insert_head(&kcf->free, q);
    }

    return keep;
}

static void
bw_http_upstream_free_keepalive_peer(bw_peer_connection_t *pc, void *data,
    bw_uint_t state)
{
    bw_http_upstream_keepalive_peer_data_t  *kp = data;

    bw_queue_t                          *q;
    bw_connection_t                     *c;
    bw_http_upstream_t                  *u;
    bw_http_upstream_keepalive_cache_t  *item;

    u = kp->upstream;
    c = pc->connection;

    kp->original_free_peer(pc, kp->data, state);

    if ((state & BW_PEER_FAILED) || c == NULL || !u->keepalive
        || pc->private
        || !u->request_body_sent || c->read->eof || c->read->error
        || c->read->timedout || c->write->error || c->write->timedout
        || bw_exiting || bw_terminate
        || kp->conf->cycle != bw_cycle)
    {
        /* (the last: a request of a configuration that a single
         * process has reloaded away; the cache is that configuration's
         * memory, which a cached connection would not keep alive) */
        return;
    }

    if (++c->requests >= kp->conf->requests
        || bw_current_msec - c->start_time > kp->conf->time
        || !bw_http_upstream_keepalive_sweep(kp->conf, pc))
    {
        return;
    }

    if (bw_queue_empty(&kp->conf->free)) {
        /* full: the least recently used goes */
        q = bw_queue_last(&kp->conf->cache);
        bw_queue_remove(q);
        item = bw_queue_data(q, bw_http_upstream_keepalive_cache_t, queue);
        bw_http_upstream_keepalive_close(item->connection);

    } else {
        q = bw_queue_head(&kp->conf->free);
        bw_queue_remove(q);
        item = bw_queue_data(q, bw_http_upstream_keepalive_cache_t, queue);
    }

    bw_queue_insert_head(&kp->conf->cache, q);

    item->connection = c;
    memcpy(&item->sockaddr, pc->sockaddr, pc->socklen);
    item->socklen = pc->socklen;

    pc->connection = NULL;

    if (c->write->timer_set) {
        bw_event_del_timer(c->write);
    }
    bw_event_add_timer(c->read, kp->conf->timeout);

    c->write->handler = bw_http_upstream_keepalive_dummy_handler;
    c->read->handler = bw_http_upstream_keepalive_close_handler;
    c->data = item;
    c->idle = 1;
    c->log = bw_cycle->log;
    c->read->log = bw_cycle->log;
    c->write->log = bw_cycle->log;
    if (c->pool) {
        /* the request's log goes with the request */
        c->pool->log = bw_cycle->log;
    }

    if (c->read->ready) {
        /* bytes after the response: not a clean connection */
        bw_http_upstream_keepalive_close_handler(c->read);
    }
}

static void
bw_http_upstream_keepalive_dummy_handler(bw_event_t *ev)
{
}

static void
bw_http_upstream_keepalive_close_handler(bw_event_t *ev)
{
    int                                  n;
    char                                 buf[1];
    bw_connection_t                     *c;
    bw_http_upstream_keepalive_cache_t  *item;

    c = ev->data;
    item = c->data;

    if (!c->close && !ev->timedout) {
        n = recv(c->fd, buf, 1, MSG_PEEK);
        if (n == -1 && errno == EAGAIN) {
            ev->ready = 0;
            return;
        }
    }

    bw_queue_remove(&item->queue);
    bw_queue_insert_head(&item->conf->free, &item->queue);
    bw_http_upstream_keepalive_close(c);
}

static void
bw_http_upstream_keepalive_close(bw_connection_t *c)
{
    c->idle = 0;
    bw_close_peer_connection(c);
}

static void *
bw_http_upstream_keepalive_create_conf(bw_conf_t *cf)
{
    bw_http_upstream_keepalive_srv_conf_t  *conf;

    conf = bw_pcalloc(cf->pool,
                      sizeof(bw_http_upstream_keepalive_srv_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->requests = BW_CONF_UNSET_UINT;
    conf->time = BW_CONF_UNSET_MSEC;
    conf->timeout = BW_CONF_UNSET_MSEC;
    conf->cycle = cf->cycle;

    return conf;
}

static char *
bw_http_upstream_keepalive(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_upstream_keepalive_srv_conf_t  *kcf = conf;

    bw_int_t                      n;
    bw_str_t                     *value;
    bw_http_upstream_srv_conf_t  *uscf;

    if (kcf->max_cached) {
        return "is duplicate";
    }

    value = cf->args->elts;

    n = bw_atoi(value[1].data, value[1].len);
    if (n == BW_ERROR || n == 0) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "invalid value \"%s\" in \"%s\" directive",
                          value[1].data, cmd->name.data);
        return BW_CONF_ERROR;
    }

    kcf->max_cached = n;

    uscf = bw_http_upstream_current(cf);

    /* the balancer directive may come before or after: it is found
     * through bw_http_upstream_init_balancer() at init time (nginx
     * needs the balancer first and silently drops keepalive if not) */
    uscf->peer.init_upstream = bw_http_upstream_init_keepalive;

    return BW_CONF_OK;
}
