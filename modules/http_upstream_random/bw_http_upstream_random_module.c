/* The "random" directive and its glue to the upstream framework. */

#include <bw_http_upstream_round_robin.h>
#include <bw_upstream_random.h>

typedef struct {
    bw_uint_t                        two;
} bw_http_upstream_random_srv_conf_t;

static void *bw_http_upstream_random_create_conf(bw_conf_t *cf);
static char *bw_http_upstream_random(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);

static bw_command_t  bw_http_upstream_random_commands[] = {

    { bw_string("random"), BW_HTTP_UPS_CONF|BW_CONF_NOARGS|BW_CONF_TAKE12,
      bw_http_upstream_random, BW_HTTP_SRV_CONF_OFFSET, 0, NULL },

    bw_null_command
};

static bw_http_module_t  bw_http_upstream_random_module_ctx = {
    NULL, NULL, NULL, NULL,
    bw_http_upstream_random_create_conf, NULL,
    NULL, NULL
};

bw_module_t  bw_http_upstream_random_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_upstream_random_module_ctx,
    bw_http_upstream_random_commands, NULL, NULL, NULL, NULL
};

static bw_upstream_rr_peer_t *
bw_http_upstream_random_choose(bw_upstream_rr_state_t *st, void *data,
    time_t now)
{
    return bw_upstream_random_get(st, data, now);
}

static bw_int_t
bw_http_upstream_init_random_peer(bw_http_request_t *r,
    bw_http_upstream_srv_conf_t *us)
{
    bw_upstream_random_t                *rnd;
    bw_http_upstream_random_srv_conf_t  *rcf;

    rcf = bw_http_conf_upstream_srv_conf(us, bw_http_upstream_random_module);

    rnd = bw_http_upstream_rr_init_peer_with(r, us,
                                             sizeof(bw_upstream_random_t),
                                             bw_http_upstream_random_choose);
    if (rnd == NULL) {
        return BW_ERROR;
    }

    rnd->two = rcf->two;
    return BW_OK;
}

static bw_int_t
bw_http_upstream_init_random(bw_conf_t *cf, bw_http_upstream_srv_conf_t *us)
{
    return bw_http_upstream_rr_init_with(cf, us,
                                         bw_http_upstream_init_random_peer);
}

static void *
bw_http_upstream_random_create_conf(bw_conf_t *cf)
{
    return bw_pcalloc(cf->pool, sizeof(bw_http_upstream_random_srv_conf_t));
}

static char *
bw_http_upstream_random(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_upstream_random_srv_conf_t  *rcf = conf;

    bw_str_t  *value;

    value = cf->args->elts;

    if (cf->args->nelts > 1) {
        if (strcmp((char *) value[1].data, "two") != 0) {
            goto invalid;
        }
        rcf->two = 1;

        /* least_conn is the one method "two" has */
        if (cf->args->nelts == 3
            && strcmp((char *) value[2].data, "least_conn") != 0)
        {
            value++;
            goto invalid;
        }
    }

    return bw_http_upstream_set_balancer(cf, "random",
                                         bw_http_upstream_init_random,
                                         BW_HTTP_UPSTREAM_CREATE
                                         |BW_HTTP_UPSTREAM_WEIGHT
                                         |BW_HTTP_UPSTREAM_MAX_CONNS
                                         |BW_HTTP_UPSTREAM_MAX_FAILS
                                         |BW_HTTP_UPSTREAM_FAIL_TIMEOUT
                                         |BW_HTTP_UPSTREAM_DOWN);

invalid:

    bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid parameter \"%s\"",
                      value[1].data);
    return BW_CONF_ERROR;
}
