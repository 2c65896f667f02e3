/* The "least_conn" directive and its glue to the upstream framework. */

#include <bw_http_upstream_round_robin.h>
#include <bw_upstream_least_conn.h>

static char *bw_http_upstream_least_conn(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);

static bw_command_t  bw_http_upstream_least_conn_commands[] = {

    { bw_string("least_conn"), BW_HTTP_UPS_CONF|BW_CONF_NOARGS,
      bw_http_upstream_least_conn, 0, 0, NULL },

    bw_null_command
};

static bw_http_module_t  bw_http_upstream_least_conn_module_ctx = {
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
};

bw_module_t  bw_http_upstream_least_conn_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_upstream_least_conn_module_ctx,
    bw_http_upstream_least_conn_commands, NULL, NULL, NULL, NULL
};

static bw_upstream_rr_peer_t *
bw_http_upstream_least_conn_choose(bw_upstream_rr_state_t *st, void *data,
    time_t now)
{
    return bw_upstream_least_conn_get(st, now);
}

static bw_int_t
bw_http_upstream_init_least_conn_peer(bw_http_request_t *r,
    bw_http_upstream_srv_conf_t *us)
{
    return bw_http_upstream_rr_init_peer_with(r, us, 0,
               bw_http_upstream_least_conn_choose) ? BW_OK : BW_ERROR;
}

static bw_int_t
bw_http_upstream_init_least_conn(bw_conf_t *cf,
    bw_http_upstream_srv_conf_t *us)
{
    return bw_http_upstream_rr_init_with(cf, us,
                                         bw_http_upstream_init_least_conn_peer);
}

static char *
bw_http_upstream_least_conn(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    return bw_http_upstream_set_balancer(cf, "least_conn",
                                         bw_http_upstream_init_least_conn,
                                         BW_HTTP_UPSTREAM_CREATE
                                         |BW_HTTP_UPSTREAM_WEIGHT
                                         |BW_HTTP_UPSTREAM_MAX_CONNS
                                         |BW_HTTP_UPSTREAM_MAX_FAILS
                                         |BW_HTTP_UPSTREAM_FAIL_TIMEOUT
                                         |BW_HTTP_UPSTREAM_DOWN
                                         |BW_HTTP_UPSTREAM_BACKUP);
}
