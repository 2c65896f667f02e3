/* The "hash" directive and its glue to the upstream framework. */

#include <bw_http_upstream_round_robin.h>
#include <bw_upstream_hash.h>

typedef struct {
    bw_http_complex_value_t       key;
    unsigned                      consistent:1;
    bw_upstream_chash_points_t   *points;
    /* a zone's peers change at run time: this process's ring, built
     * for the peers' generation (malloc'd, kept for the process) */
    bw_upstream_chash_points_t   *ring;
    bw_uint_t                     ring_size;
    bw_uint_t                     generation;
} bw_http_upstream_hash_srv_conf_t;

typedef struct {
    bw_upstream_hash_t                  h;
    bw_http_upstream_hash_srv_conf_t   *hcf;
} bw_http_upstream_hash_peer_data_t;

static void *bw_http_upstream_hash_create_conf(bw_conf_t *cf);
static char *bw_http_upstream_hash(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);

static bw_command_t  bw_http_upstream_hash_commands[] = {

    { bw_string("hash"), BW_HTTP_UPS_CONF|BW_CONF_TAKE12,
      bw_http_upstream_hash, BW_HTTP_SRV_CONF_OFFSET, 0, NULL },

    bw_null_command
};

static bw_http_module_t  bw_http_upstream_hash_module_ctx = {
    NULL, NULL, NULL, NULL,
    bw_http_upstream_hash_create_conf, NULL,
    NULL, NULL
};

bw_module_t  bw_http_upstream_hash_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_upstream_hash_module_ctx,
    bw_http_upstream_hash_commands, NULL, NULL, NULL, NULL
};

/* A worker's ring goes with the configuration. */
static void
bw_http_upstream_hash_free_ring(void *data)
{
    bw_http_upstream_hash_srv_conf_t  *hcf = data;

    free(hcf->ring);
    hcf->ring = NULL;
}

/* The ring of a zone's peers as they are now; with the lock held. */
static bw_upstream_chash_points_t *
bw_http_upstream_hash_ring(bw_http_upstream_hash_srv_conf_t *hcf,
    bw_upstream_rr_peers_t *peers)
{
    void       *p;
    bw_uint_t   n;

    if (hcf->ring && hcf->generation == peers->shared->generation) {
        return hcf->ring;
    }

    n = bw_upstream_chash_count(peers);

    if (hcf->ring == NULL || n > hcf->ring_size) {
        p = realloc(hcf->ring, sizeof(bw_upstream_chash_points_t)
                               + (n + 1) * sizeof(bw_upstream_chash_point_t));
        if (p == NULL) {
            /* the old ring names slots that may have moved: dropped; the
             * configuration's still places keys (it names the
             * configuration's strings) */
            free(hcf->ring);
            hcf->ring = NULL;
            hcf->ring_size = 0;
            return hcf->points;
        }
        hcf->ring = p;
        hcf->ring_size = n;
    }

    bw_upstream_chash_build(peers, hcf->ring);
    hcf->generation = peers->shared->generation;

    return hcf->ring;
}

static bw_upstream_rr_peer_t *
bw_http_upstream_hash_choose(bw_upstream_rr_state_t *st, void *data,
    time_t now)
{
    bw_http_upstream_hash_peer_data_t  *hp = data;

    if (hp->h.points && st->peers->shared) {
        hp->h.points = bw_http_upstream_hash_ring(hp->hcf, st->peers);
    }

    return bw_upstream_hash_get(st, &hp->h, now);
}

static bw_int_t
bw_http_upstream_init_hash_peer(bw_http_request_t *r,
    bw_http_upstream_srv_conf_t *us)
{
    bw_str_t                            key;
    bw_http_upstream_hash_srv_conf_t   *hcf;
    bw_http_upstream_hash_peer_data_t  *hp;

    hcf = bw_http_conf_upstream_srv_conf(us, bw_http_upstream_hash_module);

    hp = bw_http_upstream_rr_init_peer_with(r, us,
                                    sizeof(bw_http_upstream_hash_peer_data_t),
                                    bw_http_upstream_hash_choose);
    if (hp == NULL || bw_http_complex_value(r, &hcf->key, &key) != BW_OK) {
        return BW_ERROR;
    }

    bw_upstream_hash_init(&hp->h, &key, hcf->points);
    hp->hcf = hcf;
    return BW_OK;
}

static bw_int_t
bw_http_upstream_init_hash(bw_conf_t *cf, bw_http_upstream_srv_conf_t *us)
{
    bw_uint_t                          n;
    bw_pool_cleanup_t                 *cln;
    bw_upstream_rr_peers_t            *peers;
    bw_http_upstream_hash_srv_conf_t  *hcf;

    if (bw_http_upstream_rr_init_with(cf, us, bw_http_upstream_init_hash_peer)
        != BW_OK)
    {
        return BW_ERROR;
    }

    hcf = bw_http_conf_upstream_srv_conf(us, bw_http_upstream_hash_module);
    if (!hcf->consistent) {
        return BW_OK;
    }

    cln = bw_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return BW_ERROR;
    }
    cln->handler = bw_http_upstream_hash_free_ring;
    cln->data = hcf;

    peers = us->peer.data;
    n = bw_upstream_chash_count(peers);

    hcf->points = bw_palloc(cf->pool, sizeof(bw_upstream_chash_points_t)
                                      + n * sizeof(bw_upstream_chash_point_t));
    if (hcf->points == NULL) {
        return BW_ERROR;
    }

    bw_upstream_chash_build(peers, hcf->points);
    return BW_OK;
}

static void *
bw_http_upstream_hash_create_conf(bw_conf_t *cf)
{
    return bw_pcalloc(cf->pool, sizeof(bw_http_upstream_hash_srv_conf_t));
}

static char *
bw_http_upstream_hash(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_upstream_hash_srv_conf_t  *hcf = conf;

    bw_str_t  *value;

    value = cf->args->elts;

    if (cf->args->nelts == 3) {
        if (strcmp((char *) value[2].data, "consistent") != 0) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "invalid parameter \"%s\"", value[2].data);
            return BW_CONF_ERROR;
        }
        hcf->consistent = 1;
    }

    if (bw_http_compile_complex_value(cf, &hcf->key, &value[1]) != BW_OK) {
        return BW_CONF_ERROR;
    }

    return bw_http_upstream_set_balancer(cf, hcf->consistent ? "hash consistent"
                                                             : "hash",
                                         bw_http_upstream_init_hash,
                                         BW_HTTP_UPSTREAM_CREATE
                                         |BW_HTTP_UPSTREAM_WEIGHT
                                         |BW_HTTP_UPSTREAM_MAX_CONNS
                                         |BW_HTTP_UPSTREAM_MAX_FAILS
                                         |BW_HTTP_UPSTREAM_FAIL_TIMEOUT
                                         |BW_HTTP_UPSTREAM_DOWN);
}
