/*
 * auth_basic and auth_basic_user_file, as nginx: the realm (with
 * variables; "off" turns it off, also to cancel an inherited one) and
 * the htpasswd file (with variables). A request without credentials, or
 * with wrong ones, gets 401 and "WWW-Authenticate: Basic realm=...";
 * under "satisfy any" another access module may still let it through.
 */

#include <bw_http_auth_basic.h>

typedef struct {
    bw_http_complex_value_t  *realm;        /* NULL: off */
    bw_http_complex_value_t  *user_file;
    unsigned                  realm_set:1;
} bw_http_auth_basic_loc_conf_t;

static bw_int_t bw_http_auth_basic_init(bw_conf_t *cf);
static void *bw_http_auth_basic_create_loc_conf(bw_conf_t *cf);
static char *bw_http_auth_basic_merge_loc_conf(bw_conf_t *cf, void *parent,
    void *child);
static char *bw_http_auth_basic(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_auth_basic_user_file(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);

#define MSL  (BW_HTTP_MAIN_CONF|BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF)

static bw_command_t  bw_http_auth_basic_commands[] = {

    { bw_string("auth_basic"), MSL|BW_HTTP_LMT_CONF|BW_CONF_TAKE1,
      bw_http_auth_basic, BW_HTTP_LOC_CONF_OFFSET, 0, NULL },
    { bw_string("auth_basic_user_file"), MSL|BW_HTTP_LMT_CONF|BW_CONF_TAKE1,
      bw_http_auth_basic_user_file, BW_HTTP_LOC_CONF_OFFSET, 0, NULL },

    bw_null_command
};

static bw_http_module_t  bw_http_auth_basic_module_ctx = {
    NULL, bw_http_auth_basic_init,
    NULL, NULL, NULL, NULL,
    bw_http_auth_basic_create_loc_conf, bw_http_auth_basic_merge_loc_conf
};

bw_module_t  bw_http_auth_basic_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_auth_basic_module_ctx,
    bw_http_auth_basic_commands, NULL, NULL, NULL, NULL
};

static bw_int_t
bw_http_auth_basic_challenge(bw_http_request_t *r, bw_str_t *realm)
{
    u_char          *p;
    bw_str_t         value;
    bw_table_elt_t  *h;

    value.len = sizeof("Basic realm=\"\"") - 1 + realm->len;
    value.data = bw_pnalloc(r->pool, value.len);
    if (value.data == NULL) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }
    p = bw_cpymem(value.data, "Basic realm=\"", 13);
    p = bw_cpymem(p, realm->data, realm->len);
    *p = '"';

    h = bw_http_add_header_out(r, "WWW-Authenticate", &value);
    if (h == NULL) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }
    r->headers_out.www_authenticate = h;

    return BW_HTTP_UNAUTHORIZED;
}

static bw_int_t
bw_http_auth_basic_handler(bw_http_request_t *r)
{
    bw_int_t                        rc;
    bw_str_t                        realm, file, user, passwd, hash;
    bw_http_auth_basic_loc_conf_t  *alcf;

    alcf = r->loc_conf[bw_http_auth_basic_module.ctx_index];

    if (alcf->realm == NULL || alcf->user_file == NULL) {
        return BW_DECLINED;
    }

    if (bw_http_complex_value(r, alcf->realm, &realm) != BW_OK) {
        return BW_ERROR;
    }
    if (realm.len == 3 && memcmp(realm.data, "off", 3) == 0) {
        return BW_DECLINED;
    }

    rc = bw_http_auth_basic_credentials(r, &user, &passwd);
    if (rc == BW_ERROR) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }
    if (rc == BW_DECLINED) {
        if (r->headers_in.authorization) {
            bw_log_error(BW_LOG_INFO, r->connection->log, 0,
                         "client sent invalid user/password");
        }
        return bw_http_auth_basic_challenge(r, &realm);
    }

    if (bw_http_complex_value(r, alcf->user_file, &file) != BW_OK) {
        return BW_ERROR;
    }

    /* a name made of variables: relative to the configuration's
     * directory too, as nginx */
    if (bw_get_full_name(r->pool, &bw_cycle->conf_prefix, &file) != BW_OK) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = bw_http_auth_basic_lookup(&file, &user, &hash, r->connection->log);
    if (rc == BW_ERROR) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }
    if (rc == BW_DECLINED) {
        bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                     "user \"%.*s\" was not found in \"%.*s\"",
                     (int) user.len, user.data, (int) file.len, file.data);
        return bw_http_auth_basic_challenge(r, &realm);
    }

    if (!bw_http_auth_basic_check(&user, &passwd, &hash)) {
        bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                     "user \"%.*s\": password mismatch",
                     (int) user.len, user.data);
        return bw_http_auth_basic_challenge(r, &realm);
    }

    return BW_OK;
}

static char *
bw_http_auth_basic(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_auth_basic_loc_conf_t *alcf = conf;

    bw_str_t  *value;

    if (alcf->realm_set) {
        return "is duplicate";
    }
    alcf->realm_set = 1;

    value = cf->args->elts;

    if (bw_str_eq_lit(&value[1], "off")) {
        alcf->realm = NULL;
        return BW_CONF_OK;
    }

    alcf->realm = bw_palloc(cf->pool, sizeof(bw_http_complex_value_t));
    if (alcf->realm == NULL
        || bw_http_compile_complex_value(cf, alcf->realm, &value[1])
           != BW_OK)
    {
        return BW_CONF_ERROR;
    }

    return BW_CONF_OK;
}

static char *
bw_http_auth_basic_user_file(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_auth_basic_loc_conf_t *alcf = conf;

    bw_str_t  *value, file;

    if (alcf->user_file) {
        return "is duplicate";
    }

    value = cf->args->elts;
    file = value[1];

    /* a relative name is relative to the configuration's directory */
    if (bw_http_script_variables_count(&file) == 0
        && bw_conf_full_name(cf->cycle, &file, 1) != BW_OK)
    {
        return BW_CONF_ERROR;
    }

    alcf->user_file = bw_palloc(cf->pool, sizeof(bw_http_complex_value_t));
    if (alcf->user_file == NULL
        || bw_http_compile_complex_value(cf, alcf->user_file, &file)
           != BW_OK)
    {
        return BW_CONF_ERROR;
    }

    return BW_CONF_OK;
}

static void *
bw_http_auth_basic_create_loc_conf(bw_conf_t *cf)
{
    return bw_pcalloc(cf->pool, sizeof(bw_http_auth_basic_loc_conf_t));
}

static char *
bw_http_auth_basic_merge_loc_conf(bw_conf_t *cf, void *parent, void *child)
{
    bw_http_auth_basic_loc_conf_t  *prev = parent;
    bw_http_auth_basic_loc_conf_t  *conf = child;

    if (!conf->realm_set) {
        conf->realm = prev->realm;
        conf->realm_set = prev->realm_set;
    }
    if (conf->user_file == NULL) {
        conf->user_file = prev->user_file;
    }

    return BW_CONF_OK;
}

static bw_int_t
bw_http_auth_basic_init(bw_conf_t *cf)
{
    return bw_http_add_phase_handler(cf, BW_HTTP_ACCESS_PHASE,
                                     bw_http_auth_basic_handler);
}
