/*
 * The round robin balancer as the upstream framework sees it: peers
 * built from the upstream block's servers (every address of each name),
 * and get/free for one request on top of the pure functions in
 * bw_upstream_round_robin.c.
 */

#include <bw_http_upstream_round_robin.h>

void (*bw_http_upstream_rr_changed)(bw_upstream_rr_peers_t *peers);

static bw_upstream_rr_peers_t *
bw_http_upstream_rr_build(bw_conf_t *cf, bw_array_t *servers,
    bw_uint_t backup)
{
    bw_uint_t                   i, j, n, w;
    bw_upstream_rr_peer_t      *peer;
    bw_upstream_rr_peers_t     *peers;
    bw_http_upstream_server_t  *server;

    server = servers->elts;
    n = 0;
    w = 0;

    for (i = 0; i < servers->nelts; i++) {
        if (server[i].backup != backup) {
            continue;
        }
        n += server[i].naddrs;
        w += server[i].naddrs * server[i].weight;
    }

    if (n == 0) {
        return NULL;
    }

    peers = bw_pcalloc(cf->pool, sizeof(bw_upstream_rr_peers_t));
    peer = bw_pcalloc(cf->pool, n * sizeof(bw_upstream_rr_peer_t));
    if (peers == NULL || peer == NULL) {
        return (void *) BW_CONF_ERROR;
    }

    peers->number = n;
    peers->total_weight = w;
    peers->peer = peer;

    n = 0;
    for (i = 0; i < servers->nelts; i++) {
        if (server[i].backup != backup) {
            continue;
        }
        for (j = 0; j < server[i].naddrs; j++) {
            peer[n].sockaddr = server[i].addrs[j].sockaddr;
            peer[n].socklen = server[i].addrs[j].socklen;
            peer[n].name = server[i].addrs[j].name;
            peer[n].server = server[i].name;
            peer[n].weight = server[i].weight;
            peer[n].effective_weight = server[i].weight;
            peer[n].current_weight = 0;
            peer[n].max_fails = server[i].max_fails;
            peer[n].fail_timeout = server[i].fail_timeout;
            peer[n].max_conns = server[i].max_conns;
            peer[n].down = server[i].down;
            peer[n].id = server[i].id;
            if (!peer[n].down) {
                peers->tries++;
            }
            n++;
        }
    }

    return peers;
}

bw_int_t
bw_http_upstream_init_round_robin(bw_conf_t *cf,
    bw_http_upstream_srv_conf_t *us)
{
    bw_upstream_rr_peers_t  *peers, *backup;

    us->peer.init = bw_http_upstream_init_round_robin_peer;

    peers = bw_http_upstream_rr_build(cf, us->servers, 0);
    if (peers == NULL && (us->state.len || us->resolve)) {
        /* a state file may hold no server yet (the API adds them), and
         * names with "resolve" get their addresses at run time */
        peers = bw_pcalloc(cf->pool, sizeof(bw_upstream_rr_peers_t));
        if (peers == NULL) {
            return BW_ERROR;
        }
    }
    if (peers == NULL) {
        bw_log_error(BW_LOG_EMERG, cf->log, 0,
                     "no servers in upstream \"%.*s\" in %s:%lu",
                     (int) us->host.len, us->host.data, us->file_name, (unsigned long) us->line);
        return BW_ERROR;
    }
    if (peers == (void *) BW_CONF_ERROR) {
        return BW_ERROR;
    }

    if (peers->number > BW_UPSTREAM_RR_MAX_PEERS) {
        bw_log_error(BW_LOG_EMERG, cf->log, 0,
                     "too many servers in upstream \"%.*s\" (at most %d) "
                     "in %s:%lu", (int) us->host.len, us->host.data, BW_UPSTREAM_RR_MAX_PEERS,
                     us->file_name, (unsigned long) us->line);
        return BW_ERROR;
    }

    backup = bw_http_upstream_rr_build(cf, us->servers, 1);
    if (backup == (void *) BW_CONF_ERROR) {
        return BW_ERROR;
    }
    peers->next = backup;
    peers->name = &us->host;
    if (backup) {
        backup->name = &us->host;
    }

    us->peer.data = peers;

    return BW_OK;
}

/*
 * The per-request state over peers, with room after it for a balancer's
 * own (extra bytes), installed as the request's get and free.
 */
static bw_http_upstream_rr_peer_data_t *
bw_http_upstream_rr_attach(bw_http_request_t *r, bw_upstream_rr_peers_t *peers,
    size_t extra)
{
    bw_http_upstream_t               *u;
    bw_http_upstream_rr_peer_data_t  *rrp;

    u = r->upstream;

    rrp = bw_pcalloc(r->pool, sizeof(bw_http_upstream_rr_peer_data_t)
                              + extra);
    if (rrp == NULL) {
        return NULL;
    }

    bw_upstream_rr_init_state(&rrp->st, peers);
    /* a zone's peers change: whether one is alone is seen under the
     * lock, at each choice */
    rrp->single = (peers->shared == NULL && peers->number == 1
                   && peers->next == NULL);

    u->peer.get = bw_http_upstream_get_round_robin_peer;
    u->peer.free = bw_http_upstream_free_round_robin_peer;
    u->peer.data = rrp;
    /* a server marked down is never an attempt: once the others have
     * been tried, the last answer goes to the client */
    u->peer.tries = peers->tries + (peers->next ? peers->next->tries : 0);

    if (peers->shared) {
        rrp->pool = r->pool;
        /* every server removed or down through the API: one attempt,
         * which finds none and answers 502 */
        if (u->peer.tries == 0) {
            u->peer.tries = 1;
        }
    }

    return rrp;
}

bw_int_t
bw_http_upstream_init_round_robin_peer(bw_http_request_t *r,
    bw_http_upstream_srv_conf_t *us)
{
    return bw_http_upstream_rr_attach(r, us->peer.data, 0) ? BW_OK
                                                           : BW_ERROR;
}

void *
bw_http_upstream_rr_init_peer_with(bw_http_request_t *r,
    bw_http_upstream_srv_conf_t *us, size_t extra,
    bw_http_upstream_rr_choose_pt choose)
{
    bw_http_upstream_rr_peer_data_t  *rrp;

    rrp = bw_http_upstream_rr_attach(r, us->peer.data, extra);
    if (rrp == NULL) {
        return NULL;
    }

    rrp->choose = choose;
    rrp->choose_data = rrp + 1;
    return rrp->choose_data;
}

/* proxy_pass with variables that named a literal address */
bw_int_t
bw_http_upstream_create_round_robin_peer(bw_http_request_t *r,
    bw_http_upstream_resolved_t *ur)
{
    bw_uint_t                i;
    bw_upstream_rr_peer_t   *peer;
    bw_upstream_rr_peers_t  *peers;

    peers = bw_pcalloc(r->pool, sizeof(bw_upstream_rr_peers_t));
    peer = bw_pcalloc(r->pool, ur->naddrs * sizeof(bw_upstream_rr_peer_t));
    if (peers == NULL || peer == NULL) {
        return BW_ERROR;
    }

    /* every address of the name, in turn, as nginx */
    for (i = 0; i < ur->naddrs; i++) {
        peer[i].sockaddr = ur->addrs[i].sockaddr;
        peer[i].socklen = ur->addrs[i].socklen;
        peer[i].name = ur->addrs[i].name;
        peer[i].server = ur->host.len ? ur->host : ur->addrs[i].name;
        peer[i].weight = 1;
        peer[i].effective_weight = 1;
    }
    peers->number = ur->naddrs;
    peers->tries = ur->naddrs;
    peers->total_weight = ur->naddrs;
    peers->peer = peer;
    peers->name = &ur->host;

    return bw_http_upstream_rr_attach(r, peers, 0) ? BW_OK : BW_ERROR;
}

static bw_int_t
bw_http_upstream_rr_set_peer(bw_peer_connection_t *pc,
    bw_http_upstream_rr_peer_data_t *rrp, bw_upstream_rr_peer_t *peer)
{
    bw_http_upstream_rr_addr_t  *a;

    if (rrp->pool == NULL) {
        pc->sockaddr = peer->sockaddr;
        pc->socklen = peer->socklen;
        pc->name = &peer->name;
        return BW_OK;
    }

    /* each attempt its own: $upstream_addr names every one tried */
    a = bw_palloc(rrp->pool, sizeof(bw_http_upstream_rr_addr_t));
    if (a == NULL) {
        return BW_ERROR;
    }

    memcpy(&a->sockaddr, peer->sockaddr, peer->socklen);
    a->name.len = bw_min(peer->name.len, BW_SOCKADDR_STRLEN);
    a->name.data = a->text;
    memcpy(a->text, peer->name.data, a->name.len);
    a->text[a->name.len] = '\0';

    pc->sockaddr = &a->sockaddr.sockaddr;
    pc->socklen = peer->socklen;
    pc->name = &a->name;
    return BW_OK;
}

/* One live primary peer and no backup: the lone-server rule. */
static bw_upstream_rr_peer_t *
bw_http_upstream_rr_alone(bw_upstream_rr_peers_t *peers)
{
    bw_uint_t  i;

    if (peers->shared->live != 1) {
        return NULL;
    }

    for (i = 0; i < peers->number; i++) {
        if (!peers->peer[i].removed) {
            return &peers->peer[i];
        }
    }

    return NULL;
}

bw_int_t
bw_http_upstream_rr_init_with(bw_conf_t *cf, bw_http_upstream_srv_conf_t *us,
    bw_http_upstream_init_peer_pt init_peer)
{
    if (bw_http_upstream_init_round_robin(cf, us) != BW_OK) {
        return BW_ERROR;
    }
    us->peer.init = init_peer;
    return BW_OK;
}

bw_int_t
bw_http_upstream_get_round_robin_peer(bw_peer_connection_t *pc, void *data)
{
    bw_http_upstream_rr_peer_data_t  *rrp = data;

    bw_upstream_rr_peer_t   *peer;
    bw_upstream_rr_peers_t  *peers;

    pc->cached = 0;
    pc->connection = NULL;

    peers = rrp->st.peers;
    bw_upstream_rr_lock(peers);

    peer = NULL;
    if (rrp->single) {
        peer = &peers->peer[0];
    } else if (peers->shared) {
        peer = bw_http_upstream_rr_alone(peers);
    }

    if (peer) {
        /* one server is always tried, whatever its failures: there is
         * nothing better to send the request to (nginx does the same) */
        if (peer->down || peer->drain || peer->unhealthy
            || (peer->max_conns && peer->conns >= peer->max_conns))
        {
            peer = NULL;
        } else {
            peer->conns++;
            rrp->st.current = peer;
            rrp->st.current_set = peers;
            rrp->st.current_i = peer - peers->peer;
        }

    } else if (rrp->choose) {
        peer = rrp->choose(&rrp->st, rrp->choose_data, bw_time_sec);

    } else {
        peer = bw_upstream_rr_get(&rrp->st, bw_time_sec);
    }

    if (peer == NULL) {
        bw_upstream_rr_unlock(peers);
        pc->name = peers->name;
        return BW_BUSY;
    }

    if (bw_http_upstream_rr_set_peer(pc, rrp, peer) != BW_OK) {
        /* no memory for the copy: the attempt is not made */
        rrp->st.current = NULL;
        if (peer->conns) {
            peer->conns--;
        }
        bw_upstream_rr_unlock(peers);
        return BW_ERROR;
    }
    bw_upstream_rr_unlock(peers);

    return BW_OK;
}

void
bw_http_upstream_free_round_robin_peer(bw_peer_connection_t *pc, void *data,
    bw_uint_t state)
{
    bw_http_upstream_rr_peer_data_t  *rrp = data;

    bw_uint_t                left;
    bw_upstream_rr_peer_t   *peer;
    bw_upstream_rr_peers_t  *peers;

    if (rrp->st.current == NULL) {
        return;
    }

    peers = rrp->st.peers;
    left = 0;
    bw_upstream_rr_lock(peers);

    /* a lone server has one attempt (tries starts at 1) and no health
     * to keep; one more only where the upstream framework added it (a
     * pooled connection the server had closed) */
    if (rrp->single) {
        peer = rrp->st.current;
        if (peer->conns) {
            peer->conns--;
        }
        rrp->st.current = NULL;

    } else {
        left = bw_upstream_rr_free(&rrp->st, bw_time_sec,
                                   state & BW_PEER_FAILED);
    }

    if (pc->tries) {
        pc->tries--;
    }

    bw_upstream_rr_unlock(peers);

    if (left && bw_http_upstream_rr_changed) {
        /* a drained peer's last request: it has left the set */
        bw_http_upstream_rr_changed(peers);
    }
}
