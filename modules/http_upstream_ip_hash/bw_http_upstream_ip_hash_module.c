/* The "ip_hash" directive and its glue to the upstream framework. */

#include <bw_http_upstream_round_robin.h>
#include <bw_upstream_ip_hash.h>

static char *bw_http_upstream_ip_hash(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);

static bw_command_t  bw_http_upstream_ip_hash_commands[] = {

    { bw_string("ip_hash"), BW_HTTP_UPS_CONF|BW_CONF_NOARGS,
      bw_http_upstream_ip_hash, 0, 0, NULL },

    bw_null_command
};

static bw_http_module_t  bw_http_upstream_ip_hash_module_ctx = {
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
};

bw_module_t  bw_http_upstream_ip_hash_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_upstream_ip_hash_module_ctx,
    bw_http_upstream_ip_hash_commands, NULL, NULL, NULL, NULL
};

static bw_upstream_rr_peer_t *
bw_http_upstream_ip_hash_choose(bw_upstream_rr_state_t *st, void *data,
    time_t now)
{
    return bw_upstream_ip_hash_get(st, data, now);
}

static bw_int_t
bw_http_upstream_init_ip_hash_peer(bw_http_request_t *r,
    bw_http_upstream_srv_conf_t *us)
{
    bw_upstream_ip_hash_t  *ih;

    ih = bw_http_upstream_rr_init_peer_with(r, us,
                                            sizeof(bw_upstream_ip_hash_t),
                                            bw_http_upstream_ip_hash_choose);
    if (ih == NULL) {
        return BW_ERROR;
    }

    bw_upstream_ip_hash_init(ih, r->connection->sockaddr);
    return BW_OK;
}

static bw_int_t
bw_http_upstream_init_ip_hash(bw_conf_t *cf, bw_http_upstream_srv_conf_t *us)
{
    return bw_http_upstream_rr_init_with(cf, us,
                                         bw_http_upstream_init_ip_hash_peer);
}

static char *
bw_http_upstream_ip_hash(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    return bw_http_upstream_set_balancer(cf, "ip_hash",
                                         bw_http_upstream_init_ip_hash,
                                         BW_HTTP_UPSTREAM_CREATE
                                         |BW_HTTP_UPSTREAM_WEIGHT
                                         |BW_HTTP_UPSTREAM_MAX_CONNS
                                         |BW_HTTP_UPSTREAM_MAX_FAILS
                                         |BW_HTTP_UPSTREAM_FAIL_TIMEOUT
                                         |BW_HTTP_UPSTREAM_DOWN);
}
