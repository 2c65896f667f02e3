/*
 * "server name resolve" in an upstream with a zone (nginx 1.27.3): the
 * name's addresses are looked up by the workers' resolver at run time,
 * and the peers follow them, added and removed in the zone as the
 * answers change, without a reload. A name that does not exist yet (a
 * service deployed later) is an upstream without its peers until it
 * does.
 *
 * Each worker's timer claims the names due, under the zone's lock, so
 * that one worker asks for each name at a time; the resolver's cache
 * keeps answers for their TTL (or "valid="), so that asking every
 * second costs a query only when the records have expired. An answer
 * that is an error changes nothing: the last known addresses serve on.
 */

#include <bw_http_upstream_round_robin.h>

#include "bw_http_upstream_zone.h"

#define BW_RESOLVE_PERIOD  1000

typedef struct {
    bw_http_upstream_zone_srv_conf_t  *zcf;
    bw_uint_t                          index;
    bw_pool_t                         *pool;
} bw_http_upstream_resolving_t;

static void bw_http_upstream_resolve_start(
    bw_http_upstream_zone_srv_conf_t *zcf, bw_uint_t index);
static void bw_http_upstream_resolve_handler(bw_resolver_ctx_t *ctx);
static void bw_http_upstream_resolve_done(bw_http_upstream_resolving_t *rs,
    bw_resolver_ctx_t *ctx);

void
bw_http_upstream_resolve_tick(bw_event_t *ev)
{
    bw_http_upstream_zone_srv_conf_t  *zcf = ev->data;

    bw_uint_t                    i, n, *due;
    bw_msec_t                    now, stale;
    bw_upstream_rr_shared_t     *sh;
    bw_upstream_rr_peers_t      *peers;
    bw_http_upstream_server_t   *server;

    if (bw_exiting || bw_quit || bw_terminate || zcf->cycle != bw_cycle) {
        /* (a configuration a single process has reloaded away) */
        return;
    }

    peers = zcf->upstream->peer.data;
    sh = peers->shared;
    server = zcf->upstream->servers->elts;
    due = zcf->due;
    now = bw_current_msec;
    stale = zcf->resolver_timeout + 1000;
    n = 0;

    bw_shmtx_lock(peers->shpool);

    for (i = 0; i < zcf->upstream->servers->nelts; i++) {
        if (!server[i].resolve || now < sh->resolve_next[i]
            || (sh->resolve_started[i]
                && now - sh->resolve_started[i] < stale))
        {
            continue;
        }
        sh->resolve_started[i] = now ? now : 1;
        sh->resolve_next[i] = now + BW_RESOLVE_PERIOD;
        due[n++] = i;
    }

    bw_shmtx_unlock(peers->shpool);

    for (i = 0; i < n; i++) {
        bw_http_upstream_resolve_start(zcf, due[i]);
    }

    bw_event_add_timer(ev, BW_RESOLVE_PERIOD / 4);
}

static void
bw_http_upstream_resolve_start(bw_http_upstream_zone_srv_conf_t *zcf,
    bw_uint_t index)
{
    bw_int_t                       rc;
    bw_pool_t                     *pool;
    bw_resolver_ctx_t             *ctx;
    bw_http_upstream_server_t     *server;
    bw_http_upstream_resolving_t  *rs;

    server = zcf->upstream->servers->elts;

    pool = bw_create_pool(1024, zcf->log);
    if (pool == NULL) {
        return;
    }

    rs = bw_pcalloc(pool, sizeof(bw_http_upstream_resolving_t));
    ctx = bw_pcalloc(pool, sizeof(bw_resolver_ctx_t));
    if (rs == NULL || ctx == NULL) {
        bw_destroy_pool(pool);
        return;
    }

    rs->zcf = zcf;
    rs->index = index;
    rs->pool = pool;

    ctx->resolver = zcf->resolver;
    ctx->name = server[index].host;
    ctx->timeout = zcf->resolver_timeout;
    ctx->handler = bw_http_upstream_resolve_handler;
    ctx->data = rs;
    ctx->pool = pool;

    rc = bw_resolve_name(ctx);

    if (rc == BW_AGAIN) {
        return;
    }

    bw_http_upstream_resolve_done(rs, rc == BW_OK ? ctx : NULL);
}

static void
bw_http_upstream_resolve_handler(bw_resolver_ctx_t *ctx)
{
    bw_http_upstream_resolve_done(ctx->data, ctx);
}

static bw_uint_t
bw_http_upstream_resolve_has(bw_resolver_ctx_t *ctx, struct sockaddr *sa,
    socklen_t len)
{
    bw_uint_t  k;

    for (k = 0; k < ctx->naddrs; k++) {
        if (bw_cmp_sockaddr(&ctx->addrs[k].sockaddr,
                            ctx->addrs[k].sockaddr.sa_family == AF_INET6
                            ? sizeof(struct sockaddr_in6)
                            : sizeof(struct sockaddr_in),
                            sa, len, 1) == BW_OK)
        {
            return 1;
        }
    }

    return 0;
}

/* The peers of server line index follow the answer; with the lock held.
 * Returns how many were added and removed. */
static bw_uint_t
bw_http_upstream_resolve_apply(bw_http_upstream_resolving_t *rs,
    bw_resolver_ctx_t *ctx)
{
    u_char                      text[BW_SOCKADDR_STRLEN];
    bw_uint_t                   i, k, n, found, host;
    socklen_t                   len;
    bw_upstream_rr_peer_t      *peer, tmpl, *added;
    bw_upstream_rr_peers_t     *peers, *set;
    bw_http_upstream_server_t  *server;

    peers = rs->zcf->upstream->peer.data;
    server = &((bw_http_upstream_server_t *)
               rs->zcf->upstream->servers->elts)[rs->index];
    host = rs->index + 1;
    n = 0;

    /* the answer's ports are 0: the server line's */
    for (k = 0; k < ctx->naddrs; k++) {
        if (ctx->addrs[k].sockaddr.sa_family == AF_INET6) {
            ctx->addrs[k].sockaddr_in6.sin6_port = htons(server->port);
        } else {
            ctx->addrs[k].sockaddr_in.sin_port = htons(server->port);
        }
    }

    set = server->backup ? bw_upstream_rr_backup_set(peers) : peers;
    if (set == NULL) {
        return 0;
    }

    /* gone from the answer: out, as the API removes (requests running
     * on it finish) */
    for (i = 0; i < set->number; i++) {
        peer = &set->peer[i];
        if (!peer->removed && peer->host == host
            && !bw_http_upstream_resolve_has(ctx, peer->sockaddr,
                                             peer->socklen))
        {
            bw_upstream_rr_remove(set, peer);
            n++;
        }
    }

    for (k = 0; k < ctx->naddrs; k++) {
        len = ctx->addrs[k].sockaddr.sa_family == AF_INET6
              ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
        found = 0;
        for (i = 0; i < set->number; i++) {
            peer = &set->peer[i];
            if (!peer->removed && peer->host == host
                && bw_cmp_sockaddr(peer->sockaddr, peer->socklen,
                                   &ctx->addrs[k].sockaddr, len, 1)
                   == BW_OK)
            {
                found = 1;
                break;
            }
        }
        if (found) {
            continue;
        }

        bw_memzero(&tmpl, sizeof(bw_upstream_rr_peer_t));
        tmpl.sockaddr = &ctx->addrs[k].sockaddr;
        tmpl.socklen = len;
        tmpl.name.data = text;
        tmpl.name.len = bw_sock_ntop(tmpl.sockaddr, len, text, sizeof(text),
                                     1);
        tmpl.server = server->name;
        tmpl.weight = (bw_int_t) server->weight;
        tmpl.max_fails = server->max_fails;
        tmpl.fail_timeout = server->fail_timeout;
        tmpl.max_conns = server->max_conns;
        tmpl.down = server->down;
        tmpl.host = host;

        if (bw_upstream_rr_add(set, &tmpl, &added) != BW_OK) {
            bw_log_error(BW_LOG_ERR, rs->zcf->log, 0, "upstream \"%.*s\": "
                         "no room for %.*s of %.*s: make its zone larger",
                         (int) rs->zcf->upstream->host.len,
                         rs->zcf->upstream->host.data, (int) tmpl.name.len,
                         text, (int) server->name.len, server->name.data);
            break;
        }
        n++;
    }

    return n;
}

static void
bw_http_upstream_resolve_done(bw_http_upstream_resolving_t *rs,
    bw_resolver_ctx_t *ctx)
{
    bw_uint_t                   changed, failing, was;
    bw_upstream_rr_peers_t     *peers;
    bw_http_upstream_server_t  *server;

    peers = rs->zcf->upstream->peer.data;
    server = &((bw_http_upstream_server_t *)
               rs->zcf->upstream->servers->elts)[rs->index];
    changed = 0;

    bw_shmtx_lock(peers->shpool);

    peers->shared->resolve_started[rs->index] = 0;

    if (ctx && ctx->state == 0) {
        changed = bw_http_upstream_resolve_apply(rs, ctx);
    }

    /* a name that keeps failing is said once, and again when it is back */
    failing = (ctx && ctx->state);
    was = peers->shared->resolve_failing[rs->index];
    peers->shared->resolve_failing[rs->index] = (u_char) failing;

    bw_shmtx_unlock(peers->shpool);

    if (was && !failing && ctx) {
        bw_log_error(BW_LOG_NOTICE, rs->zcf->log, 0, "upstream \"%.*s\": "
                     "%.*s is resolved again",
                     (int) rs->zcf->upstream->host.len,
                     rs->zcf->upstream->host.data, (int) server->host.len,
                     server->host.data);
    }

    if (failing && !was) {
        bw_log_error(BW_LOG_WARN, rs->zcf->log, 0, "upstream \"%.*s\": %.*s "
                     "could not be resolved (%s), its addresses are kept",
                     (int) rs->zcf->upstream->host.len,
                     rs->zcf->upstream->host.data, (int) server->host.len,
                     server->host.data, bw_resolver_strerror(ctx->state));

    } else if (changed) {
        bw_log_error(BW_LOG_NOTICE, rs->zcf->log, 0, "upstream \"%.*s\": "
                     "%.*s has %lu address(es) now",
                     (int) rs->zcf->upstream->host.len,
                     rs->zcf->upstream->host.data, (int) server->name.len,
                     server->name.data, (unsigned long) ctx->naddrs);
    }

    bw_destroy_pool(rs->pool);
}
