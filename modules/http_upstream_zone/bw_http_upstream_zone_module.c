/*
 * Upstream zones. The master copies the peers of each upstream block
 * that names a zone into that zone's shared memory before it forks; the
 * workers then count failures and connections in one place, under the
 * zone's lock. The copy is made anew on every reload (the zone is never
 * reused), so that the state always matches the servers listed; old
 * workers keep the copy they started with.
 */

#include <bw_http_upstream_round_robin.h>

#include "bw_http_upstream_zone.h"

/* room for the allocator and a few dozen servers, as nginx's minimum */
#define BW_HTTP_UPSTREAM_ZONE_MIN  (8 * 4096)


static void *bw_http_upstream_zone_create_conf(bw_conf_t *cf);
static char *bw_http_upstream_zone(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static bw_int_t bw_http_upstream_init_zone(bw_shm_zone_t *shm_zone,
    void *data);

static bw_int_t bw_http_upstream_zone_postconfiguration(bw_conf_t *cf);
static char *bw_http_upstream_zone_resolver(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static bw_int_t bw_http_upstream_zone_init_worker(bw_cycle_t *cycle);
static void bw_http_upstream_zone_retire(bw_cycle_t *cycle, bw_uint_t on);

static bw_command_t  bw_http_upstream_zone_commands[] = {

    { bw_string("zone"), BW_HTTP_UPS_CONF|BW_CONF_TAKE12,
      bw_http_upstream_zone, BW_HTTP_SRV_CONF_OFFSET, 0, NULL },

    { bw_string("state"), BW_HTTP_UPS_CONF|BW_CONF_TAKE1,
      bw_http_upstream_state, BW_HTTP_SRV_CONF_OFFSET, 0, NULL },

    { bw_string("resolver"), BW_HTTP_UPS_CONF|BW_CONF_1MORE,
      bw_http_upstream_zone_resolver, BW_HTTP_SRV_CONF_OFFSET, 0, NULL },

    { bw_string("resolver_timeout"), BW_HTTP_UPS_CONF|BW_CONF_TAKE1,
      bw_conf_set_msec_slot, BW_HTTP_SRV_CONF_OFFSET,
      offsetof(bw_http_upstream_zone_srv_conf_t, resolver_timeout), NULL },

    bw_null_command
};


static bw_http_module_t  bw_http_upstream_zone_module_ctx = {
    NULL, bw_http_upstream_zone_postconfiguration, NULL, NULL,
    bw_http_upstream_zone_create_conf, NULL,
    NULL, NULL
};

bw_module_t  bw_http_upstream_zone_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_upstream_zone_module_ctx,
    bw_http_upstream_zone_commands, NULL, bw_http_upstream_zone_init_worker,
    NULL, NULL
};

/* A state file is run-time changes kept: they live in a zone. */
static bw_int_t
bw_http_upstream_zone_postconfiguration(bw_conf_t *cf)
{
    bw_uint_t                           i;
    bw_http_core_loc_conf_t            *clcf;
    bw_http_upstream_srv_conf_t       **uscfp;
    bw_http_upstream_main_conf_t       *umcf;
    bw_http_upstream_zone_srv_conf_t   *zcf;

    umcf = bw_http_conf_get_module_main_conf(cf, bw_http_upstream_module);
    uscfp = umcf->upstreams.elts;

    clcf = bw_http_conf_get_module_loc_conf(cf, bw_http_core_module);

    for (i = 0; i < umcf->upstreams.nelts; i++) {
        if (uscfp[i]->state.len && uscfp[i]->shm_zone == NULL) {
            bw_log_error(BW_LOG_EMERG, cf->log, 0,
                         "\"state\" requires \"zone\" in upstream "
                         "\"%.*s\" in %s:%lu", (int) uscfp[i]->host.len,
                         uscfp[i]->host.data, uscfp[i]->file_name,
                         (unsigned long) uscfp[i]->line);
            return BW_ERROR;
        }

        if (!uscfp[i]->resolve || uscfp[i]->srv_conf == NULL) {
            continue;
        }

        /* the upstream's own resolver, else the http level's */
        zcf = bw_http_conf_upstream_srv_conf(uscfp[i],
                                             bw_http_upstream_zone_module);
        if (zcf->resolver == NULL) {
            zcf->resolver = clcf->resolver;
        }
        if (zcf->resolver_timeout == BW_CONF_UNSET_MSEC) {
            zcf->resolver_timeout = clcf->resolver_timeout
                                    != BW_CONF_UNSET_MSEC
                                    ? clcf->resolver_timeout : 30000;
        }
        if (zcf->resolver == NULL) {
            bw_log_error(BW_LOG_EMERG, cf->log, 0,
                         "no resolver defined to resolve names at run "
                         "time in upstream \"%.*s\" in %s:%lu",
                         (int) uscfp[i]->host.len, uscfp[i]->host.data,
                         uscfp[i]->file_name, (unsigned long) uscfp[i]->line);
            return BW_ERROR;
        }

        zcf->upstream = uscfp[i];
        zcf->due = bw_pcalloc(cf->pool, uscfp[i]->servers->nelts
                                        * sizeof(bw_uint_t));
        if (zcf->due == NULL) {
            return BW_ERROR;
        }
    }

    return BW_OK;
}

static char *
bw_http_upstream_zone_resolver(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_upstream_zone_srv_conf_t  *zcf = conf;

    bw_str_t  *value;

    if (zcf->resolver) {
        return "is duplicate";
    }

    value = cf->args->elts;

    zcf->resolver = bw_resolver_create(cf, &value[1], cf->args->nelts - 1);
    return zcf->resolver ? BW_CONF_OK : BW_CONF_ERROR;
}

/*
 * A reload makes new zones: from its start, the running ones take no
 * more changes (the API answers 503, to be retried on the new
 * workers), and what they have is written to the state files, which
 * the next configuration reads.
 */
static void
bw_http_upstream_zone_retire(bw_cycle_t *cycle, bw_uint_t on)
{
    bw_uint_t                       i;
    bw_upstream_rr_peers_t         *peers;
    bw_http_upstream_srv_conf_t   **uscfp;
    bw_http_upstream_main_conf_t   *umcf;

    umcf = bw_http_cycle_get_module_main_conf(cycle, bw_http_upstream_module);
    if (umcf == NULL) {
        return;
    }
    uscfp = umcf->upstreams.elts;

    for (i = 0; i < umcf->upstreams.nelts; i++) {
        peers = uscfp[i]->peer.data;
        if (uscfp[i]->shm_zone == NULL || peers == NULL
            || peers->shared == NULL)
        {
            continue;
        }
        bw_shmtx_lock(peers->shpool);
        peers->shared->retired = on;
        bw_shmtx_unlock(peers->shpool);
    }

    if (on && bw_state_writer) {
        bw_state_writer(cycle);
    }
}

/* Each worker looks at the "resolve" names of its upstreams. */
static bw_int_t
bw_http_upstream_zone_init_worker(bw_cycle_t *cycle)
{
    bw_uint_t                           i;
    bw_pool_cleanup_t                  *cln;
    bw_upstream_rr_peers_t             *peers;
    bw_http_upstream_srv_conf_t       **uscfp;
    bw_http_upstream_main_conf_t       *umcf;
    bw_http_upstream_zone_srv_conf_t   *zcf;

    umcf = bw_http_cycle_get_module_main_conf(cycle, bw_http_upstream_module);
    if (umcf == NULL) {
        return BW_OK;
    }
    uscfp = umcf->upstreams.elts;

    for (i = 0; i < umcf->upstreams.nelts; i++) {
        peers = uscfp[i]->peer.data;
        if (!uscfp[i]->resolve || uscfp[i]->srv_conf == NULL || peers == NULL
            || peers->shared == NULL || peers->shared->resolve_next == NULL)
        {
            continue;
        }
        zcf = bw_http_conf_upstream_srv_conf(uscfp[i],
                                             bw_http_upstream_zone_module);
        zcf->log = cycle->log;
        zcf->cycle = cycle;
        zcf->timer.cancelable = 1;
        zcf->timer.handler = bw_http_upstream_resolve_tick;

        cln = bw_pool_cleanup_add(cycle->pool, 0);
        if (cln == NULL) {
            return BW_ERROR;
        }
        /* (the timer goes with the configuration's memory) */
        cln->handler = bw_event_cleanup_timer;
        cln->data = &zcf->timer;
        zcf->timer.data = zcf;
        zcf->timer.log = cycle->log;
        bw_event_add_timer(&zcf->timer, 1);
    }

    return BW_OK;
}

static void *
bw_http_upstream_zone_create_conf(bw_conf_t *cf)
{
    bw_http_upstream_zone_srv_conf_t  *zcf;

    zcf = bw_pcalloc(cf->pool, sizeof(bw_http_upstream_zone_srv_conf_t));
    if (zcf == NULL) {
        return NULL;
    }
    zcf->resolver_timeout = BW_CONF_UNSET_MSEC;
    return zcf;
}

static char *
bw_http_upstream_zone(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_upstream_zone_srv_conf_t  *zcf = conf;

    ssize_t    size;
    bw_str_t  *value;

    if (zcf->shm_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid zone name \"%s\"",
                          value[1].data);
        return BW_CONF_ERROR;
    }

    size = 0;
    if (cf->args->nelts == 3) {
        size = bw_parse_size(&value[2]);
        if (size == BW_ERROR) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid zone size \"%s\"",
                              value[2].data);
            return BW_CONF_ERROR;
        }
        if (size < BW_HTTP_UPSTREAM_ZONE_MIN) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0, "zone \"%s\" is too small",
                              value[1].data);
            return BW_CONF_ERROR;
        }
    }

    zcf->shm_zone = bw_shared_memory_add(cf, &value[1], (size_t) size,
                                         &bw_http_upstream_zone_module);
    if (zcf->shm_zone == NULL) {
        return BW_CONF_ERROR;
    }

    zcf->shm_zone->init = bw_http_upstream_init_zone;
    zcf->shm_zone->data = bw_http_conf_get_module_main_conf(cf,
                                                   bw_http_upstream_module);
    zcf->shm_zone->noreuse = 1;
    bw_http_upstream_current(cf)->shm_zone = zcf->shm_zone;
    bw_state_retire = bw_http_upstream_zone_retire;

    return BW_CONF_OK;
}

static bw_upstream_rr_peers_t *
bw_http_upstream_zone_copy(bw_slab_pool_t *shpool, bw_upstream_rr_peers_t *src,
    bw_upstream_rr_shared_t *shared, bw_uint_t keep_ids)
{
    bw_uint_t                i;
    bw_upstream_rr_peers_t  *peers;

    peers = bw_slab_alloc_locked(shpool, sizeof(bw_upstream_rr_peers_t));
    if (peers == NULL) {
        return NULL;
    }
    *peers = *src;

    /* addresses and names stay in the configuration's memory, which
     * every worker inherits at the same place */
    peers->peer = NULL;
    if (src->number) {
        peers->peer = bw_slab_alloc_locked(shpool,
                              src->number * sizeof(bw_upstream_rr_peer_t));
        if (peers->peer == NULL) {
            return NULL;
        }
        memcpy(peers->peer, src->peer,
               src->number * sizeof(bw_upstream_rr_peer_t));
    }

    /* the admin API's ids: in the order of the server lines, or as a
     * state file kept them */
    for (i = 0; i < src->number; i++) {
        /* a mandatory health check lets no request through before a
         * peer's first pass */
        peers->peer[i].hc_pending = shared->mandatory;
        peers->peer[i].unhealthy = (shared->mandatory != 0);
        if (!keep_ids) {
            peers->peer[i].id = shared->next_id;
        }
        if (peers->peer[i].id >= shared->next_id) {
            shared->next_id = peers->peer[i].id + 1;
        }
    }

    peers->shpool = shpool;
    peers->shared = shared;
    peers->capacity = src->number;
    peers->next = NULL;
    shared->live += src->number;
    return peers;
}

/*
 * "health_check ... mandatory persistent": a peer that was up in the
 * configuration being replaced starts up, not waiting for its first
 * probe. The master still has the old zones mapped while it makes the
 * new ones (bw_cycle is the old cycle then).
 */
static void
bw_http_upstream_zone_persist(bw_http_upstream_srv_conf_t *uscf,
    bw_upstream_rr_peers_t *peers)
{
    bw_uint_t                       i, j, k;
    bw_upstream_rr_peer_t          *p, *q;
    bw_upstream_rr_peers_t         *set, *old, *oset;
    bw_http_upstream_srv_conf_t   **ouscfp;
    bw_http_upstream_main_conf_t   *oumcf;

    if (bw_cycle == NULL || bw_cycle->conf_ctx == NULL) {
        return;
    }

    oumcf = bw_http_cycle_get_module_main_conf(bw_cycle,
                                               bw_http_upstream_module);
    if (oumcf == NULL) {
        return;
    }
    ouscfp = oumcf->upstreams.elts;

    old = NULL;
    for (k = 0; k < oumcf->upstreams.nelts; k++) {
        if (!ouscfp[k]->implicit && ouscfp[k]->peer.data
            && ouscfp[k]->host.len == uscf->host.len
            && memcmp(ouscfp[k]->host.data, uscf->host.data,
                      uscf->host.len) == 0)
        {
            old = ouscfp[k]->peer.data;
            break;
        }
    }

    if (old == NULL || old->shared == NULL || !old->shared->mandatory) {
        return;
    }

    bw_shmtx_lock(old->shpool);

    for (set = peers; set; set = set->next) {
        for (i = 0; i < set->number; i++) {
            p = &set->peer[i];
            for (oset = old; oset; oset = oset->next) {
                for (j = 0; j < oset->number; j++) {
                    q = &oset->peer[j];
                    if (!q->removed && !q->unhealthy
                        && bw_cmp_sockaddr(p->sockaddr, p->socklen,
                                           q->sockaddr, q->socklen, 1)
                           == BW_OK)
                    {
                        p->hc_pending = 0;
                        p->unhealthy = (p->hc_bad != 0);
                    }
                }
            }
        }
    }

    bw_shmtx_unlock(old->shpool);
}

static bw_int_t
bw_http_upstream_init_zone(bw_shm_zone_t *shm_zone, void *data)
{
    bw_uint_t                           i;
    bw_slab_pool_t                     *shpool;
    bw_upstream_rr_peers_t             *peers, *backup;
    bw_upstream_rr_shared_t            *shared;
    bw_http_upstream_srv_conf_t       **uscfp;
    bw_http_upstream_main_conf_t       *umcf;
    bw_http_upstream_zone_srv_conf_t   *zcf;

    shpool = (bw_slab_pool_t *) shm_zone->addr;
    umcf = shm_zone->data;
    uscfp = umcf->upstreams.elts;

    bw_shmtx_lock(shpool);

    for (i = 0; i < umcf->upstreams.nelts; i++) {
        if (uscfp[i]->srv_conf == NULL) {
            continue;
        }
        zcf = bw_http_conf_upstream_srv_conf(uscfp[i],
                                             bw_http_upstream_zone_module);
        if (zcf->shm_zone != shm_zone || uscfp[i]->peer.data == NULL) {
            continue;
        }

        shared = bw_slab_calloc_locked(shpool,
                                       sizeof(bw_upstream_rr_shared_t));
        if (shared == NULL) {
            goto nomem;
        }

        shared->state = (uscfp[i]->state.len != 0);
        shared->mandatory = uscfp[i]->mandatory;

        if (uscfp[i]->resolve) {
            shared->resolve_next = bw_slab_calloc_locked(shpool,
                                 uscfp[i]->servers->nelts * sizeof(bw_msec_t));
            shared->resolve_started = bw_slab_calloc_locked(shpool,
                                 uscfp[i]->servers->nelts * sizeof(bw_msec_t));
            shared->resolve_failing = bw_slab_calloc_locked(shpool,
                                                 uscfp[i]->servers->nelts);
            if (shared->resolve_next == NULL
                || shared->resolve_started == NULL
                || shared->resolve_failing == NULL)
            {
                goto nomem;
            }
        }

        peers = bw_http_upstream_zone_copy(shpool, uscfp[i]->peer.data,
                                           shared, shared->state);
        if (peers == NULL) {
            goto nomem;
        }

        if (((bw_upstream_rr_peers_t *) uscfp[i]->peer.data)->next) {
            backup = bw_http_upstream_zone_copy(shpool,
                ((bw_upstream_rr_peers_t *) uscfp[i]->peer.data)->next,
                shared, shared->state);
            if (backup == NULL) {
                goto nomem;
            }
            peers->next = backup;
        }

        if (uscfp[i]->persistent) {
            bw_http_upstream_zone_persist(uscfp[i], peers);
        }

        uscfp[i]->peer.data = peers;
    }

    bw_shmtx_unlock(shpool);
    return BW_OK;

nomem:

    bw_shmtx_unlock(shpool);
    /* (at the first start there is no running cycle: the default log) */
    bw_log_error(BW_LOG_EMERG, bw_cycle ? bw_cycle->log : NULL, 0,
                 "not enough space in upstream zone \"%.*s\" "
                 "for its servers; make it larger",
                 (int) shm_zone->name.len, shm_zone->name.data);
    return BW_ERROR;
}
