/*
 * allow and deny, as nginx: the rules of a level are checked in the
 * order written and the first that matches the client's address
 * decides; a level with no rules inherits its parent's whole list. A
 * deny answers 403 (or, under "satisfy any", lets another module
 * allow).
 */

#include <bw_http.h>

typedef struct {
    bw_cidr_t    cidr;
    bw_uint_t    deny;
} bw_http_access_rule_t;

typedef struct {
    bw_array_t  *rules;     /* bw_http_access_rule_t */
} bw_http_access_loc_conf_t;

static bw_int_t bw_http_access_init(bw_conf_t *cf);
static void *bw_http_access_create_loc_conf(bw_conf_t *cf);
static char *bw_http_access_merge_loc_conf(bw_conf_t *cf, void *parent,
    void *child);
static char *bw_http_access_rule(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);

static bw_command_t  bw_http_access_commands[] = {

    { bw_string("allow"),
      BW_HTTP_MAIN_CONF|BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF|BW_HTTP_LMT_CONF
      |BW_CONF_TAKE1,
      bw_http_access_rule, BW_HTTP_LOC_CONF_OFFSET, 0, NULL },
    { bw_string("deny"),
      BW_HTTP_MAIN_CONF|BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF|BW_HTTP_LMT_CONF
      |BW_CONF_TAKE1,
      bw_http_access_rule, BW_HTTP_LOC_CONF_OFFSET, 0, NULL },

    bw_null_command
};

static bw_http_module_t  bw_http_access_module_ctx = {
    NULL, bw_http_access_init,
    NULL, NULL, NULL, NULL,
    bw_http_access_create_loc_conf, bw_http_access_merge_loc_conf
};

bw_module_t  bw_http_access_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_access_module_ctx,
    bw_http_access_commands, NULL, NULL, NULL, NULL
};

static bw_int_t
bw_http_access_handler(bw_http_request_t *r)
{
    bw_uint_t                   i;
    bw_http_access_rule_t      *rule;
    bw_http_core_loc_conf_t    *clcf;
    bw_http_access_loc_conf_t  *alcf;

    alcf = r->loc_conf[bw_http_access_module.ctx_index];
    if (alcf->rules == NULL) {
        return BW_DECLINED;
    }

    rule = alcf->rules->elts;
    for (i = 0; i < alcf->rules->nelts; i++) {
        if (!bw_cidr_match(&rule[i].cidr, r->connection->sockaddr)) {
            continue;
        }

        if (!rule[i].deny) {
            return BW_OK;
        }

        clcf = r->loc_conf[bw_http_core_module.ctx_index];
        if (clcf->satisfy == BW_HTTP_SATISFY_ALL) {
            bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                         "access forbidden by rule");
        }
        return BW_HTTP_FORBIDDEN;
    }

    return BW_DECLINED;
}

static char *
bw_http_access_rule(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_access_loc_conf_t *alcf = conf;

    bw_int_t                rc;
    bw_str_t               *value;
    bw_http_access_rule_t  *rule;

    value = cf->args->elts;

    if (alcf->rules == NULL) {
        alcf->rules = bw_array_create(cf->pool, 4,
                                      sizeof(bw_http_access_rule_t));
        if (alcf->rules == NULL) {
            return BW_CONF_ERROR;
        }
    }

    rule = bw_array_push(alcf->rules);
    if (rule == NULL) {
        return BW_CONF_ERROR;
    }

    rule->deny = cmd->name.data[0] == 'd';

    rc = bw_parse_cidr(&value[1], &rule->cidr);

    if (rc == BW_ERROR) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid parameter \"%s\"",
                          value[1].data);
        return BW_CONF_ERROR;
    }

    if (rc == BW_DONE) {
        bw_conf_log_error(BW_LOG_WARN, cf, 0,
                          "low address bits of %s are meaningless",
                          value[1].data);
    }

    return BW_CONF_OK;
}

static void *
bw_http_access_create_loc_conf(bw_conf_t *cf)
{
    return bw_pcalloc(cf->pool, sizeof(bw_http_access_loc_conf_t));
}

static char *
bw_http_access_merge_loc_conf(bw_conf_t *cf, void *parent, void *child)
{
    bw_http_access_loc_conf_t  *prev = parent;
    bw_http_access_loc_conf_t  *conf = child;

    if (conf->rules == NULL) {
        conf->rules = prev->rules;
    }

    return BW_CONF_OK;
}

static bw_int_t
bw_http_access_init(bw_conf_t *cf)
{
    return bw_http_add_phase_handler(cf, BW_HTTP_ACCESS_PHASE,
                                     bw_http_access_handler);
}
