/*
 * auth_request and auth_request_set, as nginx: before the content, a
 * subrequest to the given URI (usually an internal location proxied to
 * an authentication service) decides. A 2xx answer lets the request
 * through, 401 and 403 are the client's answer (401 with the service's
 * WWW-Authenticate challenges), anything else is an error: 500. Under
 * "satisfy any" another access module may still let the request in.
 *
 * auth_request_set copies values out of the subrequest (its
 * $upstream_http_* headers, $upstream_status ...) into variables of the
 * request once the decision is made, for proxy_set_header or the log.
 *
 * The subrequest carries no body: an upstream behind the auth location
 * sees "Content-Length: 0" for a request that had one, whatever it was
 * (nginx would pass the client's length with no body after it, unless
 * told otherwise; the service would wait for bytes that never come).
 */

#include <bw_http.h>

typedef struct {
    bw_int_t                  index;
    bw_http_complex_value_t   value;
} bw_http_auth_request_variable_t;

typedef struct {
    bw_str_t                  uri;      /* data NULL: unset; "": off */
    bw_array_t               *vars;     /* auth_request_set */
} bw_http_auth_request_conf_t;

typedef struct {
    bw_uint_t                 done;
    bw_uint_t                 status;
    bw_http_request_t        *subrequest;
} bw_http_auth_request_ctx_t;

static bw_int_t bw_http_auth_request_init(bw_conf_t *cf);
static void *bw_http_auth_request_create_conf(bw_conf_t *cf);
static char *bw_http_auth_request_merge_conf(bw_conf_t *cf, void *parent,
    void *child);
static char *bw_http_auth_request(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_auth_request_set(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);

#define MSL  (BW_HTTP_MAIN_CONF|BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF)

static bw_command_t  bw_http_auth_request_commands[] = {

    { bw_string("auth_request"), MSL|BW_CONF_TAKE1,
      bw_http_auth_request, BW_HTTP_LOC_CONF_OFFSET, 0, NULL },
    { bw_string("auth_request_set"), MSL|BW_CONF_TAKE2,
      bw_http_auth_request_set, BW_HTTP_LOC_CONF_OFFSET, 0, NULL },

    bw_null_command
};

static bw_http_module_t  bw_http_auth_request_module_ctx = {
    NULL, bw_http_auth_request_init,
    NULL, NULL, NULL, NULL,
    bw_http_auth_request_create_conf, bw_http_auth_request_merge_conf
};

bw_module_t  bw_http_auth_request_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_auth_request_module_ctx,
    bw_http_auth_request_commands, NULL, NULL, NULL, NULL
};

/* The subrequest is over: keep its status for the access handler. */
static bw_int_t
bw_http_auth_request_done(bw_http_request_t *r, void *data, bw_int_t rc)
{
    bw_http_auth_request_ctx_t  *ctx = data;

    ctx->done = 1;
    ctx->status = r->headers_out.status;

    return rc;
}

/* Evaluated in the subrequest, so that $upstream_* are its upstream's;
 * stored in the request, so that they outlive internal redirects. */
static bw_int_t
bw_http_auth_request_set_variables(bw_http_request_t *r,
    bw_http_auth_request_conf_t *arcf, bw_http_auth_request_ctx_t *ctx)
{
    bw_str_t                          val;
    bw_uint_t                         i;
    bw_http_auth_request_variable_t  *av;

    if (arcf->vars == NULL) {
        return BW_OK;
    }

    av = arcf->vars->elts;

    for (i = 0; i < arcf->vars->nelts; i++) {
        if (bw_http_complex_value(ctx->subrequest, &av[i].value, &val)
            != BW_OK)
        {
            return BW_ERROR;
        }

        bw_http_variable_set(r, av[i].index, &val);
    }

    return BW_OK;
}

/* The service's challenges become the client's. */
static bw_int_t
bw_http_auth_request_challenge(bw_http_request_t *r, bw_http_request_t *sr)
{
    bw_table_elt_t  *h, *ho, **ph;

    ph = &r->headers_out.www_authenticate;
    while (*ph) {
        ph = &(*ph)->next;
    }

    for (h = sr->headers_out.www_authenticate; h; h = h->next) {
        ho = bw_list_push(&r->headers_out.headers);
        if (ho == NULL) {
            return BW_ERROR;
        }
        *ho = *h;
        ho->next = NULL;
        *ph = ho;
        ph = &ho->next;
    }

    return BW_OK;
}

static bw_int_t
bw_http_auth_request_handler(bw_http_request_t *r)
{
    bw_http_request_t            *sr;
    bw_http_post_subrequest_t    *ps;
    bw_http_auth_request_ctx_t   *ctx;
    bw_http_auth_request_conf_t  *arcf;

    arcf = r->loc_conf[bw_http_auth_request_module.ctx_index];

    if (arcf->uri.len == 0) {
        return BW_DECLINED;
    }

    ctx = bw_http_get_module_ctx(r, bw_http_auth_request_module);

    if (ctx != NULL) {
        if (!ctx->done) {
            return BW_AGAIN;
        }

        if (bw_http_auth_request_set_variables(r, arcf, ctx) != BW_OK) {
            return BW_ERROR;
        }

        if (ctx->status == BW_HTTP_FORBIDDEN) {
            return BW_HTTP_FORBIDDEN;
        }

        if (ctx->status == BW_HTTP_UNAUTHORIZED) {
            if (bw_http_auth_request_challenge(r, ctx->subrequest) != BW_OK) {
                return BW_ERROR;
            }
            return BW_HTTP_UNAUTHORIZED;
        }

        if (ctx->status >= BW_HTTP_OK
            && ctx->status < BW_HTTP_SPECIAL_RESPONSE)
        {
            return BW_OK;
        }

        bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                     "auth request unexpected status: %lu",
                     (unsigned long) ctx->status);

        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx = bw_pcalloc(r->pool, sizeof(bw_http_auth_request_ctx_t));
    ps = bw_palloc(r->pool, sizeof(bw_http_post_subrequest_t));
    if (ctx == NULL || ps == NULL) {
        return BW_ERROR;
    }

    ps->handler = bw_http_auth_request_done;
    ps->data = ctx;

    if (bw_http_subrequest(r, &arcf->uri, NULL, &sr, ps) != BW_OK) {
        return BW_ERROR;
    }

    /* an empty body: nothing to read from the client, and a body the
     * request has already read stays the request's */
    sr->request_body = bw_pcalloc(r->pool, sizeof(bw_http_request_body_t));
    if (sr->request_body == NULL) {
        return BW_ERROR;
    }

    ctx->subrequest = sr;
    bw_http_set_ctx(r, ctx, bw_http_auth_request_module);

    return BW_AGAIN;
}

/* nginx's value for a variable set only after the decision: none yet */
static bw_int_t
bw_http_auth_request_variable(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    v->not_found = 1;
    return BW_OK;
}

static char *
bw_http_auth_request(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_auth_request_conf_t *arcf = conf;

    bw_str_t  *value;

    if (arcf->uri.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (bw_str_eq_lit(&value[1], "off")) {
        arcf->uri.len = 0;
        arcf->uri.data = (u_char *) "";
        return BW_CONF_OK;
    }

    arcf->uri = value[1];

    return BW_CONF_OK;
}

static char *
bw_http_auth_request_set(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_auth_request_conf_t *arcf = conf;

    bw_str_t                         *value;
    bw_http_auth_request_variable_t  *av;

    value = cf->args->elts;

    if (arcf->vars == NULL) {
        arcf->vars = bw_array_create(cf->pool, 1,
                                     sizeof(bw_http_auth_request_variable_t));
        if (arcf->vars == NULL) {
            return BW_CONF_ERROR;
        }
    }

    av = bw_array_push(arcf->vars);
    if (av == NULL) {
        return BW_CONF_ERROR;
    }

    av->index = bw_http_conf_settable_variable(cf, &value[1],
                                               bw_http_auth_request_variable,
                                               0);
    if (av->index == BW_ERROR) {
        return BW_CONF_ERROR;
    }

    if (bw_http_compile_complex_value(cf, &av->value, &value[2]) != BW_OK) {
        return BW_CONF_ERROR;
    }

    return BW_CONF_OK;
}

static void *
bw_http_auth_request_create_conf(bw_conf_t *cf)
{
    bw_http_auth_request_conf_t  *conf;

    conf = bw_pcalloc(cf->pool, sizeof(bw_http_auth_request_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /* uri.data NULL: not set here; vars NULL: none set here */
    return conf;
}

static char *
bw_http_auth_request_merge_conf(bw_conf_t *cf, void *parent, void *child)
{
    bw_http_auth_request_conf_t *prev = parent;
    bw_http_auth_request_conf_t *conf = child;

    if (conf->uri.data == NULL) {
        conf->uri = prev->uri;
    }

    /* the list is inherited whole, only where a level sets none */
    if (conf->vars == NULL) {
        conf->vars = prev->vars;
    }

    return BW_CONF_OK;
}

static bw_int_t
bw_http_auth_request_init(bw_conf_t *cf)
{
    return bw_http_add_phase_handler(cf, BW_HTTP_ACCESS_PHASE,
                                     bw_http_auth_request_handler);
}
