/*
 * The blocks of the http configuration that hold others: server{},
 * location{} (prefix, exact, ^~, regular expressions, named, nested)
 * and limit_except{}. Each makes its level of configuration and parses
 * what is inside; the location tree is built from them in http.c.
 */

#include <bw_http.h>

char *
bw_http_core_server(bw_conf_t *cf, bw_command_t *cmd, void *dummy)
{
    char                       *rv;
    bw_conf_t                   pcf;
    bw_http_conf_ctx_t         *ctx;
    bw_http_listen_opt_t        lsopt;
    bw_http_core_srv_conf_t    *cscf, **cscfp;
    bw_http_core_loc_conf_t    *clcf;
    bw_http_core_main_conf_t   *cmcf;
    bw_url_t                    u;

    ctx = bw_http_create_conf_ctx(cf, cf->ctx,
                                  BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF);
    if (ctx == NULL) {
        return BW_CONF_ERROR;
    }

    cscf = ctx->srv_conf[bw_http_core_module.ctx_index];
    cscf->ctx = ctx;

    clcf = ctx->loc_conf[bw_http_core_module.ctx_index];
    clcf->loc_conf = ctx->loc_conf;

    cmcf = ctx->main_conf[bw_http_core_module.ctx_index];
    cscfp = bw_array_push(&cmcf->servers);
    if (cscfp == NULL) {
        return BW_CONF_ERROR;
    }
    *cscfp = cscf;

    pcf = *cf;
    cf->ctx = ctx;
    cf->cmd_type = BW_HTTP_SRV_CONF;
    rv = bw_conf_parse(cf, NULL);
    *cf = pcf;

    if (rv == BW_CONF_OK && !cscf->listen) {
        /* as nginx: *:80 as root, *:8000 otherwise */
        bw_memzero(&u, sizeof(u));
        bw_str_set(&u.url, "*:80");
        if (geteuid() != 0) {
            bw_str_set(&u.url, "*:8000");
        }
        u.listen = 1;
        if (bw_parse_url(cf->pool, &u) != BW_OK) {
            return BW_CONF_ERROR;
        }

        bw_memzero(&lsopt, sizeof(lsopt));
        lsopt.sockaddr = u.sockaddr;
        lsopt.socklen = u.socklen;
        lsopt.backlog = 511;
        lsopt.rcvbuf = -1;
        lsopt.sndbuf = -1;
        lsopt.addr_text = u.url;

        if (bw_http_add_listen(cf, cscf, &lsopt) != BW_OK) {
            return BW_CONF_ERROR;
        }
    }

    return rv;
}

char *
bw_http_core_location(bw_conf_t *cf, bw_command_t *cmd, void *dummy)
{
    char                      *rv;
    u_char                    *mod;
    size_t                     len;
    bw_str_t                  *value, *name;
    bw_conf_t                  save;
    bw_http_conf_ctx_t        *ctx, *pctx;
    bw_http_core_srv_conf_t   *cscf;
    bw_http_core_loc_conf_t   *clcf, *pclcf;
    bw_regex_compile_t         rc;

    pctx = cf->ctx;
    ctx = bw_http_create_conf_ctx(cf, pctx, BW_HTTP_LOC_CONF);
    if (ctx == NULL) {
        return BW_CONF_ERROR;
    }

    clcf = ctx->loc_conf[bw_http_core_module.ctx_index];
    clcf->loc_conf = ctx->loc_conf;

    value = cf->args->elts;

    if (cf->args->nelts == 3) {
        mod = value[1].data;
        len = value[1].len;
        name = &value[2];

        if (len == 1 && mod[0] == '=') {
            clcf->name = *name;
            clcf->exact_match = 1;

        } else if (len == 2 && mod[0] == '^' && mod[1] == '~') {
            clcf->name = *name;
            clcf->noregex = 1;

        } else if ((len == 1 && mod[0] == '~')
                   || (len == 2 && mod[0] == '~' && mod[1] == '*'))
        {
            bw_memzero(&rc, sizeof(rc));
            rc.pattern = *name;
            rc.pool = cf->pool;
            rc.options = (len == 2) ? BW_REGEX_CASELESS : 0;
            if (bw_regex_compile(&rc) != BW_OK) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0, "%.*s",
                                  (int) rc.err.len, rc.err.data);
                return BW_CONF_ERROR;
            }
            clcf->regex = rc.regex;
            if (bw_http_regex_add_names(cf, rc.regex) != BW_OK) {
                return BW_CONF_ERROR;
            }
            clcf->name = *name;

        } else {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "invalid location modifier \"%s\"",
                              value[1].data);
            return BW_CONF_ERROR;
        }

    } else {
        name = &value[1];

        if (name->data[0] == '=') {
            clcf->name.len = name->len - 1;
            clcf->name.data = name->data + 1;
            clcf->exact_match = 1;

        } else if (name->data[0] == '^' && name->len > 1
                   && name->data[1] == '~')
        {
            clcf->name.len = name->len - 2;
            clcf->name.data = name->data + 2;
            clcf->noregex = 1;

        } else if (name->data[0] == '~') {
            bw_memzero(&rc, sizeof(rc));
            rc.pool = cf->pool;
            if (name->len > 1 && name->data[1] == '*') {
                rc.pattern.len = name->len - 2;
                rc.pattern.data = name->data + 2;
                rc.options = BW_REGEX_CASELESS;
            } else {
                rc.pattern.len = name->len - 1;
                rc.pattern.data = name->data + 1;
            }
            if (bw_regex_compile(&rc) != BW_OK) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0, "%.*s",
                                  (int) rc.err.len, rc.err.data);
                return BW_CONF_ERROR;
            }
            clcf->regex = rc.regex;
            if (bw_http_regex_add_names(cf, rc.regex) != BW_OK) {
                return BW_CONF_ERROR;
            }
            clcf->name = rc.pattern;

        } else {
            clcf->name = *name;
            if (name->data[0] == '@') {
                clcf->named = 1;
            }
        }
    }

    pclcf = pctx->loc_conf[bw_http_core_module.ctx_index];
    cscf = pctx->srv_conf[bw_http_core_module.ctx_index];

    if (cf->cmd_type == BW_HTTP_LOC_CONF) {
        /* nested */
        if (pclcf->exact_match) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "location \"%.*s\" cannot be inside "
                              "the exact location \"%.*s\"",
                              (int) clcf->name.len, clcf->name.data,
                              (int) pclcf->name.len, pclcf->name.data);
            return BW_CONF_ERROR;
        }
        if (pclcf->named) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "location \"%.*s\" cannot be inside "
                              "the named location \"%.*s\"",
                              (int) clcf->name.len, clcf->name.data,
                              (int) pclcf->name.len, pclcf->name.data);
            return BW_CONF_ERROR;
        }
        if (clcf->named) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "named location \"%.*s\" can be "
                              "on the server level only",
                              (int) clcf->name.len, clcf->name.data);
            return BW_CONF_ERROR;
        }
        if (!clcf->regex && !pclcf->regex
            && (clcf->name.len < pclcf->name.len
                || memcmp(clcf->name.data, pclcf->name.data,
                          pclcf->name.len) != 0))
        {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "location \"%.*s\" is outside location "
                              "\"%.*s\"", (int) clcf->name.len,
                              clcf->name.data, (int) pclcf->name.len,
                              pclcf->name.data);
            return BW_CONF_ERROR;
        }
    }

    if (bw_http_add_location(cf, clcf->named ? &cscf->named_locations
                                             : &pclcf->locations, clcf)
        != BW_OK)
    {
        return BW_CONF_ERROR;
    }

    save = *cf;
    cf->ctx = ctx;
    cf->cmd_type = BW_HTTP_LOC_CONF;
    rv = bw_conf_parse(cf, NULL);
    *cf = save;

    return rv;
}

/*
 * "limit_except GET { deny all; }": the block's configuration is for
 * every method but those named (GET names HEAD too), as nginx. Methods
 * bulwark does not parse (WebDAV's) are accepted by name and never
 * excepted: such a request always gets the block, the safe side.
 */
char *
bw_http_core_limit_except(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_core_loc_conf_t  *pclcf = conf;

    char                     *rv;
    bw_str_t                 *value;
    bw_uint_t                 i, m, allowed;
    bw_conf_t                 save;
    bw_http_conf_ctx_t       *ctx, *pctx;
    bw_http_core_loc_conf_t  *clcf;

    static const struct {
        const char  *name;
        bw_uint_t    method;
    } methods[] = {
        { "GET", BW_HTTP_GET }, { "HEAD", BW_HTTP_HEAD },
        { "POST", BW_HTTP_POST }, { "PUT", BW_HTTP_PUT },
        { "DELETE", BW_HTTP_DELETE }, { "OPTIONS", BW_HTTP_OPTIONS },
        { "PATCH", BW_HTTP_PATCH }, { "MKCOL", 0 }, { "COPY", 0 },
        { "MOVE", 0 }, { "PROPFIND", 0 }, { "PROPPATCH", 0 },
        { "LOCK", 0 }, { "UNLOCK", 0 }, { NULL, 0 }
    };

    if (pclcf->limit_except) {
        return "is duplicate";
    }

    value = cf->args->elts;
    allowed = 0;

    for (i = 1; i < cf->args->nelts; i++) {
        for (m = 0; methods[m].name; m++) {
            if (value[i].len == strlen(methods[m].name)
                && bw_strncasecmp(value[i].data,
                                  (u_char *) methods[m].name,
                                  value[i].len) == 0)
            {
                break;
            }
        }

        if (methods[m].name == NULL) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "invalid method \"%s\"", value[i].data);
            return BW_CONF_ERROR;
        }

        allowed |= methods[m].method;
        if (methods[m].method == BW_HTTP_GET) {
            allowed |= BW_HTTP_HEAD;
        }
    }

    pclcf->limit_except = ~allowed;

    pctx = cf->ctx;
    ctx = bw_http_create_conf_ctx(cf, pctx, BW_HTTP_LOC_CONF);
    if (ctx == NULL) {
        return BW_CONF_ERROR;
    }

    clcf = ctx->loc_conf[bw_http_core_module.ctx_index];
    clcf->loc_conf = ctx->loc_conf;
    clcf->name = pclcf->name;
    clcf->noname = 1;
    clcf->lmt_excpt = 1;
    pclcf->limit_except_loc_conf = ctx->loc_conf;

    if (bw_http_add_location(cf, &pclcf->locations, clcf) != BW_OK) {
        return BW_CONF_ERROR;
    }

    save = *cf;
    cf->ctx = ctx;
    cf->cmd_type = BW_HTTP_LMT_CONF;
    rv = bw_conf_parse(cf, NULL);
    *cf = save;

    return rv;
}
