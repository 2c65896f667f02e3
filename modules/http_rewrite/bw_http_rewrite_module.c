/*
 * The rewrite module. This first part carries "return": at server level
 * it runs in the server-rewrite phase, at location level in the rewrite
 * phase, before any content handler, as in nginx.
 */

#include <bw_http.h>

typedef struct {
    bw_http_return_t  *ret;
} bw_http_rewrite_loc_conf_t;

static bw_int_t bw_http_rewrite_init(bw_conf_t *cf);
static void *bw_http_rewrite_create_loc_conf(bw_conf_t *cf);
static char *bw_http_rewrite_return(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);

static bw_command_t  bw_http_rewrite_commands[] = {
    { bw_string("return"),
      BW_HTTP_SRV_CONF|BW_HTTP_SIF_CONF|BW_HTTP_LOC_CONF|BW_HTTP_LIF_CONF
      |BW_CONF_TAKE12,
      bw_http_rewrite_return, BW_HTTP_LOC_CONF_OFFSET, 0, NULL },
    bw_null_command
};

static bw_http_module_t  bw_http_rewrite_module_ctx = {
    NULL, bw_http_rewrite_init, NULL, NULL, NULL, NULL,
    bw_http_rewrite_create_loc_conf, NULL
};

bw_module_t  bw_http_rewrite_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_rewrite_module_ctx,
    bw_http_rewrite_commands, NULL, NULL, NULL, NULL
};

static bw_int_t
bw_http_rewrite_handler(bw_http_request_t *r)
{
    bw_http_return_t            *ret;
    bw_http_rewrite_loc_conf_t  *rlcf;

    rlcf = r->loc_conf[bw_http_rewrite_module.ctx_index];
    ret = rlcf->ret;

    if (ret == NULL) {
        return BW_DECLINED;
    }

    if (ret->status == 444) {
        return 444;
    }

    if (ret->text == NULL) {
        if (ret->status < BW_HTTP_SPECIAL_RESPONSE
            && ret->status != BW_HTTP_NO_CONTENT)
        {
            /* "return 200;": the status with an empty body, as nginx */
            return bw_http_send_response(r, ret->status, NULL, NULL);
        }
        return (bw_int_t) ret->status;
    }

    if (ret->status >= BW_HTTP_BAD_REQUEST
        || ret->status < BW_HTTP_SPECIAL_RESPONSE
        || ret->status == BW_HTTP_MOVED_PERMANENTLY
        || ret->status == BW_HTTP_MOVED_TEMPORARILY
        || ret->status == BW_HTTP_SEE_OTHER
        || ret->status == BW_HTTP_TEMPORARY_REDIRECT
        || ret->status == BW_HTTP_PERMANENT_REDIRECT)
    {
        return bw_http_send_response(r, ret->status, NULL, ret->text);
    }

    return (bw_int_t) ret->status;
}

static void *
bw_http_rewrite_create_loc_conf(bw_conf_t *cf)
{
    return bw_pcalloc(cf->pool, sizeof(bw_http_rewrite_loc_conf_t));
}

static char *
bw_http_rewrite_return(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_rewrite_loc_conf_t  *rlcf = conf;
    bw_str_t                    *value, *text;
    bw_int_t                     n;
    bw_http_return_t            *ret;

    if (rlcf->ret) {
        return "is duplicate";
    }

    value = cf->args->elts;

    ret = bw_pcalloc(cf->pool, sizeof(bw_http_return_t));
    if (ret == NULL) {
        return BW_CONF_ERROR;
    }

    n = bw_atoi(value[1].data, value[1].len);

    if (n == BW_ERROR) {
        if (cf->args->nelts == 2
            && ((value[1].len > 7
                 && bw_strncasecmp(value[1].data, (u_char *) "http://", 7)
                    == 0)
                || (value[1].len > 8
                    && bw_strncasecmp(value[1].data, (u_char *) "https://", 8)
                       == 0)
                || (value[1].len > 7
                    && memcmp(value[1].data, "$scheme", 7) == 0)))
        {
            ret->status = BW_HTTP_MOVED_TEMPORARILY;
            text = &value[1];
        } else {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "invalid return code \"%s\"", value[1].data);
            return BW_CONF_ERROR;
        }

    } else {
        if (n > 999) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "invalid return code \"%s\"", value[1].data);
            return BW_CONF_ERROR;
        }
        ret->status = (bw_uint_t) n;
        text = (cf->args->nelts == 3) ? &value[2] : NULL;
    }

    if (text) {
        ret->text = bw_palloc(cf->pool, sizeof(bw_http_complex_value_t));
        if (ret->text == NULL
            || bw_http_compile_complex_value(cf, ret->text, text) != BW_OK)
        {
            return BW_CONF_ERROR;
        }
    }

    rlcf->ret = ret;
    return BW_CONF_OK;
}

static bw_int_t
bw_http_rewrite_init(bw_conf_t *cf)
{
    if (bw_http_add_phase_handler(cf, BW_HTTP_SERVER_REWRITE_PHASE,
                                  bw_http_rewrite_handler)
        != BW_OK)
    {
        return BW_ERROR;
    }

    if (bw_http_add_phase_handler(cf, BW_HTTP_REWRITE_PHASE,
                                  bw_http_rewrite_handler)
        != BW_OK)
    {
        return BW_ERROR;
    }

    return BW_OK;
}
