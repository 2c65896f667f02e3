/*
 * The http{} block: create and merge the module confs of every server
 * and location, build the phase engine and the location trees, and turn
 * the "listen" directives into listening sockets grouped by port.
 * Everything here runs at configuration time.
 */

#include <bw_http.h>

static char *bw_http_block(bw_conf_t *cf, bw_command_t *cmd, void *conf);
static bw_int_t bw_http_init_phases(bw_conf_t *cf,
    bw_http_core_main_conf_t *cmcf);
static bw_int_t bw_http_run_postconfiguration(bw_conf_t *cf);
static bw_int_t bw_http_init_phase_handlers(bw_conf_t *cf,
    bw_http_core_main_conf_t *cmcf);
static bw_int_t bw_http_init_headers_in_hash(bw_conf_t *cf,
    bw_http_core_main_conf_t *cmcf);
static char *bw_http_merge_servers(bw_conf_t *cf,
    bw_http_core_main_conf_t *cmcf, bw_http_module_t *module,
    bw_uint_t ctx_index);
static char *bw_http_merge_failed(bw_conf_t *cf, char *rv, u_char *file,
    bw_uint_t line);
static char *bw_http_merge_locations(bw_conf_t *cf, bw_array_t *locations,
    void **loc_conf, bw_http_module_t *module, bw_uint_t ctx_index);

bw_uint_t  bw_http_max_module;

bw_http_output_header_filter_pt  bw_http_top_header_filter;
bw_http_output_body_filter_pt    bw_http_top_body_filter;

extern bw_http_header_t  bw_http_headers_in[];

static bw_command_t  bw_http_commands[] = {
    { bw_string("http"), BW_MAIN_CONF|BW_CONF_BLOCK|BW_CONF_NOARGS,
      bw_http_block, 0, 0, NULL },
    bw_null_command
};

static bw_core_module_t  bw_http_module_ctx = {
    bw_string("http"), NULL, NULL
};

bw_module_t  bw_http_module = {
    BW_MODULE_V1, BW_CORE_MODULE, &bw_http_module_ctx, bw_http_commands,
    NULL, NULL, NULL, NULL
};

/*
 * A new configuration level: the confs named in `levels` are created
 * for every HTTP module, the others are the parent's. http{} creates
 * all three, server{} and upstream{} srv and loc, location{} loc.
 */
bw_http_conf_ctx_t *
bw_http_create_conf_ctx(bw_conf_t *cf, bw_http_conf_ctx_t *parent,
    bw_uint_t levels)
{
    void                *mconf;
    bw_uint_t            m, mi;
    bw_http_module_t    *module;
    bw_http_conf_ctx_t  *ctx;

    ctx = bw_pcalloc(cf->pool, sizeof(bw_http_conf_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    if (parent) {
        *ctx = *parent;
    }

    if (levels & BW_HTTP_MAIN_CONF) {
        ctx->main_conf = bw_pcalloc(cf->pool,
                                    sizeof(void *) * bw_http_max_module);
    }
    if (levels & BW_HTTP_SRV_CONF) {
        ctx->srv_conf = bw_pcalloc(cf->pool,
                                   sizeof(void *) * bw_http_max_module);
    }
    if (levels & BW_HTTP_LOC_CONF) {
        ctx->loc_conf = bw_pcalloc(cf->pool,
                                   sizeof(void *) * bw_http_max_module);
    }
    if (ctx->main_conf == NULL || ctx->srv_conf == NULL
        || ctx->loc_conf == NULL)
    {
        return NULL;
    }

    for (m = 0; bw_modules[m]; m++) {
        if (bw_modules[m]->type != BW_HTTP_MODULE) {
            continue;
        }
        module = bw_modules[m]->ctx;
        mi = bw_modules[m]->ctx_index;

        if ((levels & BW_HTTP_MAIN_CONF) && module->create_main_conf) {
            mconf = module->create_main_conf(cf);
            if (mconf == NULL) {
                return NULL;
            }
            ctx->main_conf[mi] = mconf;
        }
        if ((levels & BW_HTTP_SRV_CONF) && module->create_srv_conf) {
            mconf = module->create_srv_conf(cf);
            if (mconf == NULL) {
                return NULL;
            }
            ctx->srv_conf[mi] = mconf;
        }
        if ((levels & BW_HTTP_LOC_CONF) && module->create_loc_conf) {
            mconf = module->create_loc_conf(cf);
            if (mconf == NULL) {
                return NULL;
            }
            ctx->loc_conf[mi] = mconf;
        }
    }

    return ctx;
}

/* A location (or an "if" block) joins its parent's list, or a server's
 * named ones; the list is made on first use. */
bw_int_t
bw_http_add_location(bw_conf_t *cf, bw_array_t **locations,
    bw_http_core_loc_conf_t *clcf)
{
    bw_http_core_loc_conf_t  **clcfp;

    if (*locations == NULL) {
        *locations = bw_array_create(cf->pool, 4,
                                     sizeof(bw_http_core_loc_conf_t *));
        if (*locations == NULL) {
            return BW_ERROR;
        }
    }

    clcfp = bw_array_push(*locations);
    if (clcfp == NULL) {
        return BW_ERROR;
    }
    *clcfp = clcf;

    return BW_OK;
}

static char *
bw_http_block(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    char                        *rv;
    bw_uint_t                    m, mi, s;
    bw_conf_t                    pcf;
    bw_http_module_t            *module;
    bw_http_conf_ctx_t          *ctx;
    bw_http_core_srv_conf_t    **cscfp;
    bw_http_core_loc_conf_t     *clcf;
    bw_http_core_main_conf_t    *cmcf;

    if (*(bw_http_conf_ctx_t **) conf) {
        return "is duplicate";
    }

    bw_http_max_module = bw_count_modules(BW_HTTP_MODULE);

    ctx = bw_http_create_conf_ctx(cf, NULL, BW_HTTP_MAIN_CONF
                                            |BW_HTTP_SRV_CONF
                                            |BW_HTTP_LOC_CONF);
    if (ctx == NULL) {
        return BW_CONF_ERROR;
    }
    *(bw_http_conf_ctx_t **) conf = ctx;

    pcf = *cf;
    cf->ctx = ctx;

    for (m = 0; bw_modules[m]; m++) {
        if (bw_modules[m]->type != BW_HTTP_MODULE) {
            continue;
        }
        module = bw_modules[m]->ctx;
        if (module->preconfiguration && module->preconfiguration(cf) != BW_OK)
        {
            return BW_CONF_ERROR;
        }
    }

    cf->module_type = BW_HTTP_MODULE;
    cf->cmd_type = BW_HTTP_MAIN_CONF;
    rv = bw_conf_parse(cf, NULL);
    if (rv != BW_CONF_OK) {
        goto failed;
    }

    cmcf = ctx->main_conf[bw_http_core_module.ctx_index];
    cscfp = cmcf->servers.elts;

    for (m = 0; bw_modules[m]; m++) {
        if (bw_modules[m]->type != BW_HTTP_MODULE) {
            continue;
        }
        module = bw_modules[m]->ctx;
        mi = bw_modules[m]->ctx_index;

        if (module->init_main_conf) {
            rv = module->init_main_conf(cf, ctx->main_conf[mi]);
            if (rv != BW_CONF_OK) {
                goto failed;
            }
        }

        rv = bw_http_merge_servers(cf, cmcf, module, mi);
        if (rv != BW_CONF_OK) {
            goto failed;
        }
    }

    for (s = 0; s < cmcf->servers.nelts; s++) {
        clcf = cscfp[s]->ctx->loc_conf[bw_http_core_module.ctx_index];
        if (bw_http_init_locations(cf, clcf) != BW_OK) {
            return BW_CONF_ERROR;
        }
    }

    if (bw_http_init_phases(cf, cmcf) != BW_OK
        || bw_http_init_headers_in_hash(cf, cmcf) != BW_OK)
    {
        return BW_CONF_ERROR;
    }

    if (bw_http_run_postconfiguration(cf) != BW_OK) {
        return BW_CONF_ERROR;
    }

    if (bw_http_variables_init_vars(cf) != BW_OK) {
        return BW_CONF_ERROR;
    }

    *cf = pcf;

    if (bw_http_init_phase_handlers(cf, cmcf) != BW_OK) {
        return BW_CONF_ERROR;
    }

    if (bw_http_optimize_servers(cf, cmcf) != BW_OK) {
        return BW_CONF_ERROR;
    }

    return BW_CONF_OK;

failed:

    *cf = pcf;
    return rv;
}

static bw_int_t
bw_http_init_phases(bw_conf_t *cf, bw_http_core_main_conf_t *cmcf)
{
    bw_uint_t  i;

    for (i = 0; i <= BW_HTTP_LOG_PHASE; i++) {
        if (bw_array_init(&cmcf->phases[i].handlers, cf->pool, 2,
                          sizeof(bw_http_handler_pt)) != BW_OK)
        {
            return BW_ERROR;
        }
    }
    return BW_OK;
}

/*
 * Every HTTP module's postconfiguration, in table order: phase handlers
 * and filters are registered here. The core's write and header filters
 * start the chains afresh, so a filter registered by a module placed
 * before them would silently never run: that is refused, naming the
 * module, and the chains of the running configuration are left as they
 * were when loading fails (a single process keeps serving with them).
 */
static bw_int_t
bw_http_run_postconfiguration(bw_conf_t *cf)
{
    bw_uint_t                        m;
    bw_http_module_t                *module;
    bw_http_output_header_filter_pt  saved_header, header;
    bw_http_output_body_filter_pt    saved_body, body;

    saved_header = bw_http_top_header_filter;
    saved_body = bw_http_top_body_filter;
    bw_http_top_header_filter = NULL;
    bw_http_top_body_filter = NULL;

    for (m = 0; bw_modules[m]; m++) {
        if (bw_modules[m]->type != BW_HTTP_MODULE) {
            continue;
        }
        module = bw_modules[m]->ctx;
        if (module->postconfiguration == NULL) {
            continue;
        }

        header = bw_http_top_header_filter;
        body = bw_http_top_body_filter;

        if (module->postconfiguration(cf) != BW_OK) {
            goto failed;
        }

        if (m < bw_http_write_filter_module.index
            && (header != bw_http_top_header_filter
                || body != bw_http_top_body_filter))
        {
            bw_log_error(BW_LOG_EMERG, cf->log, 0,
                         "module \"%s\" registers a filter but is placed "
                         "before the core's filters, which would drop it: "
                         "declare it HTTP_FILTER in its config",
                         bw_modules[m]->name);
            goto failed;
        }
    }

    if (bw_http_top_header_filter == NULL
        || bw_http_top_body_filter == NULL)
    {
        bw_log_error(BW_LOG_EMERG, cf->log, 0,
                     "the core's header and write filters are missing "
                     "from the module table");
        goto failed;
    }

    return BW_OK;

failed:

    bw_http_top_header_filter = saved_header;
    bw_http_top_body_filter = saved_body;
    return BW_ERROR;
}

/* For postconfiguration hooks: run handler in phase. */
bw_int_t
bw_http_add_phase_handler(bw_conf_t *cf, bw_http_phases phase,
    bw_http_handler_pt handler)
{
    bw_http_handler_pt        *h;
    bw_http_core_main_conf_t  *cmcf;

    cmcf = bw_http_conf_get_module_main_conf(cf, bw_http_core_module);

    h = bw_array_push(&cmcf->phases[phase].handlers);
    if (h == NULL) {
        return BW_ERROR;
    }
    *h = handler;
    return BW_OK;
}

static bw_int_t
bw_http_init_headers_in_hash(bw_conf_t *cf, bw_http_core_main_conf_t *cmcf)
{
    bw_array_t         keys;
    bw_hash_key_t     *hk;
    bw_http_header_t  *h;
    u_char            *lc;

    if (bw_array_init(&keys, cf->temp_pool, 32, sizeof(bw_hash_key_t))
        != BW_OK)
    {
        return BW_ERROR;
    }

    for (h = bw_http_headers_in; h->name.len; h++) {
        hk = bw_array_push(&keys);
        lc = bw_pnalloc(cf->pool, h->name.len);
        if (hk == NULL || lc == NULL) {
            return BW_ERROR;
        }
        bw_strlow(lc, h->name.data, h->name.len);
        hk->key.data = lc;
        hk->key.len = h->name.len;
        hk->value = h;
    }

    return bw_hash_build(&cmcf->headers_in_hash, cf->pool, keys.elts,
                         keys.nelts) == BW_OK ? BW_OK : BW_ERROR;
}

/*
 * Flatten the phases into one array of {checker, handler, next}; a
 * request walks it by index. Handlers of a phase run in the reverse of
 * their registration order, as nginx's.
 */
static bw_int_t
bw_http_init_phase_handlers(bw_conf_t *cf, bw_http_core_main_conf_t *cmcf)
{
    bw_int_t                   j;
    bw_uint_t                  i, n, find_config_index, use_access;
    bw_http_handler_pt        *h;
    bw_http_phase_handler_t   *ph;
    bw_http_phase_handler_pt   checker;

    use_access = cmcf->phases[BW_HTTP_ACCESS_PHASE].handlers.nelts ? 1 : 0;

    n = 2 + use_access;     /* find config, post rewrite, post access */
    for (i = 0; i < BW_HTTP_LOG_PHASE; i++) {
        n += cmcf->phases[i].handlers.nelts;
    }

    ph = bw_pcalloc(cf->pool, (n + 1) * sizeof(bw_http_phase_handler_t));
    if (ph == NULL) {
        return BW_ERROR;
    }

    cmcf->phase_engine.handlers = ph;
    n = 0;
    find_config_index = 0;

    for (i = 0; i < BW_HTTP_LOG_PHASE; i++) {
        h = cmcf->phases[i].handlers.elts;

        switch (i) {

        case BW_HTTP_SERVER_REWRITE_PHASE:
            cmcf->phase_engine.server_rewrite_index = n;
            checker = bw_http_core_rewrite_phase;
            break;

        case BW_HTTP_FIND_CONFIG_PHASE:
            find_config_index = n;
            ph->checker = bw_http_core_find_config_phase;
            n++;
            ph++;
            continue;

        case BW_HTTP_REWRITE_PHASE:
            cmcf->phase_engine.location_rewrite_index = n;
            checker = bw_http_core_rewrite_phase;
            break;

        case BW_HTTP_POST_REWRITE_PHASE:
            ph->checker = bw_http_core_post_rewrite_phase;
            ph->next = find_config_index;
            n++;
            ph++;
            continue;

        case BW_HTTP_ACCESS_PHASE:
            checker = bw_http_core_access_phase;
            break;

        case BW_HTTP_POST_ACCESS_PHASE:
            if (use_access) {
                ph->checker = bw_http_core_post_access_phase;
                ph->next = n + 1;
                n++;
                ph++;
            }
            continue;

        case BW_HTTP_CONTENT_PHASE:
            checker = bw_http_core_content_phase;
            break;

        default:
            checker = bw_http_core_generic_phase;
        }

        n += cmcf->phases[i].handlers.nelts;

        for (j = cmcf->phases[i].handlers.nelts - 1; j >= 0; j--) {
            ph->checker = checker;
            ph->handler = h[j];
            ph->next = n;
            ph++;
        }
    }

    return BW_OK;
}

static char *
bw_http_merge_servers(bw_conf_t *cf, bw_http_core_main_conf_t *cmcf,
    bw_http_module_t *module, bw_uint_t ctx_index)
{
    char                      *rv;
    bw_uint_t                  s;
    bw_http_conf_ctx_t        *ctx, saved;
    bw_http_core_loc_conf_t   *clcf;
    bw_http_core_srv_conf_t  **cscfp;

    cscfp = cmcf->servers.elts;
    ctx = (bw_http_conf_ctx_t *) cf->ctx;
    saved = *ctx;
    rv = BW_CONF_OK;

    for (s = 0; s < cmcf->servers.nelts; s++) {

        ctx->srv_conf = cscfp[s]->ctx->srv_conf;

        if (module->merge_srv_conf) {
            rv = module->merge_srv_conf(cf, saved.srv_conf[ctx_index],
                                        cscfp[s]->ctx->srv_conf[ctx_index]);
            if (rv != BW_CONF_OK) {
                rv = bw_http_merge_failed(cf, rv, cscfp[s]->file_name,
                                          cscfp[s]->line);
                goto failed;
            }
        }

        if (module->merge_loc_conf) {
            ctx->loc_conf = cscfp[s]->ctx->loc_conf;

            rv = module->merge_loc_conf(cf, saved.loc_conf[ctx_index],
                                        cscfp[s]->ctx->loc_conf[ctx_index]);
            if (rv != BW_CONF_OK) {
                rv = bw_http_merge_failed(cf, rv, cscfp[s]->file_name,
                                          cscfp[s]->line);
                goto failed;
            }

            clcf = cscfp[s]->ctx->loc_conf[bw_http_core_module.ctx_index];
            rv = bw_http_merge_locations(cf, clcf->locations,
                                         cscfp[s]->ctx->loc_conf,
                                         module, ctx_index);
            if (rv != BW_CONF_OK) {
                goto failed;
            }

            rv = bw_http_merge_locations(cf, cscfp[s]->named_locations,
                                         cscfp[s]->ctx->loc_conf,
                                         module, ctx_index);
            if (rv != BW_CONF_OK) {
                goto failed;
            }
        }
    }

failed:

    *ctx = saved;
    if (rv != BW_CONF_OK && rv != BW_CONF_ERROR) {
        bw_log_error(BW_LOG_EMERG, cf->log, 0, "%s", rv);
        return BW_CONF_ERROR;
    }
    return rv;
}

/*
 * A merge that refuses (settings that contradict each other once
 * inherited) names the block where they meet: the values may come from
 * several levels, the block is where the user can see them together.
 */
static char *
bw_http_merge_failed(bw_conf_t *cf, char *rv, u_char *file, bw_uint_t line)
{
    if (rv == BW_CONF_ERROR) {
        return rv;
    }

    if (file) {
        bw_log_error(BW_LOG_EMERG, cf->log, 0, "%s in %s:%lu", rv, file,
                     (unsigned long) line);
    } else {
        bw_log_error(BW_LOG_EMERG, cf->log, 0, "%s", rv);
    }

    return BW_CONF_ERROR;
}

static char *
bw_http_merge_locations(bw_conf_t *cf, bw_array_t *locations,
    void **loc_conf, bw_http_module_t *module, bw_uint_t ctx_index)
{
    char                      *rv;
    bw_uint_t                  i;
    bw_http_conf_ctx_t        *ctx, saved;
    bw_http_core_loc_conf_t  **clcfp;

    if (locations == NULL) {
        return BW_CONF_OK;
    }

    ctx = (bw_http_conf_ctx_t *) cf->ctx;
    saved = *ctx;
    clcfp = locations->elts;

    for (i = 0; i < locations->nelts; i++) {
        ctx->loc_conf = clcfp[i]->loc_conf;

        rv = module->merge_loc_conf(cf, loc_conf[ctx_index],
                                    clcfp[i]->loc_conf[ctx_index]);
        if (rv != BW_CONF_OK) {
            *ctx = saved;
            return bw_http_merge_failed(cf, rv, clcfp[i]->file_name,
                                        clcfp[i]->line);
        }

        rv = bw_http_merge_locations(cf, clcfp[i]->locations,
                                     clcfp[i]->loc_conf, module, ctx_index);
        if (rv != BW_CONF_OK) {
            *ctx = saved;
            return rv;
        }
    }

    *ctx = saved;
    return BW_CONF_OK;
}

/*
 * Split a level's locations into static (exact and prefix, longest
 * first) and regex (in configuration order), recursively. Named
 * locations were put aside on the server when they were parsed.
 */
bw_int_t
bw_http_init_locations(bw_conf_t *cf, bw_http_core_loc_conf_t *pclcf)
{
    bw_uint_t                  i, j;
    bw_http_core_loc_conf_t  **clcfp, **p, *tmp;

    if (pclcf->locations == NULL) {
        return BW_OK;
    }

    clcfp = pclcf->locations->elts;

    for (i = 0; i < pclcf->locations->nelts; i++) {
        if (clcfp[i]->noname) {
            continue;       /* "if" blocks are not searched for */
        }
        if (clcfp[i]->regex) {
            if (pclcf->regex_locations == NULL) {
                pclcf->regex_locations = bw_array_create(cf->pool, 4,
                                             sizeof(bw_http_core_loc_conf_t *));
                if (pclcf->regex_locations == NULL) {
                    return BW_ERROR;
                }
            }
            p = bw_array_push(pclcf->regex_locations);
        } else {
            if (pclcf->static_locations == NULL) {
                pclcf->static_locations = bw_array_create(cf->pool, 8,
                                             sizeof(bw_http_core_loc_conf_t *));
                if (pclcf->static_locations == NULL) {
                    return BW_ERROR;
                }
            }
            p = bw_array_push(pclcf->static_locations);
        }
        if (p == NULL) {
            return BW_ERROR;
        }
        *p = clcfp[i];

        if (bw_http_init_locations(cf, clcfp[i]) != BW_OK) {
            return BW_ERROR;
        }
    }

    /* longest name first, so that the first prefix match is the best */
    if (pclcf->static_locations) {
        p = pclcf->static_locations->elts;
        for (i = 1; i < pclcf->static_locations->nelts; i++) {
            tmp = p[i];
            for (j = i; j > 0 && p[j - 1]->name.len < tmp->name.len; j--) {
                p[j] = p[j - 1];
            }
            p[j] = tmp;
        }

        for (i = 0; i < pclcf->static_locations->nelts; i++) {
            for (j = i + 1; j < pclcf->static_locations->nelts; j++) {
                if (p[i]->exact_match == p[j]->exact_match
                    && bw_str_eq(&p[i]->name, &p[j]->name))
                {
                    /* the later one, where nginx points */
                    bw_log_error(BW_LOG_EMERG, cf->log, 0,
                                 "duplicate location \"%.*s\" in %s:%lu",
                                 (int) p[j]->name.len, p[j]->name.data,
                                 p[j]->file_name ? (char *) p[j]->file_name
                                                 : "",
                                 (unsigned long) p[j]->line);
                    return BW_ERROR;
                }
            }
        }
    }

    return BW_OK;
}

bw_int_t
bw_http_add_listen(bw_conf_t *cf, bw_http_core_srv_conf_t *cscf,
    bw_http_listen_opt_t *lsopt)
{
    bw_uint_t                  i, j;
    in_port_t                  port;
    bw_http_conf_port_t       *cport;
    bw_http_conf_addr_t       *addr;
    bw_http_core_srv_conf_t  **server;
    bw_http_core_main_conf_t  *cmcf;

    cmcf = bw_http_conf_get_module_main_conf(cf, bw_http_core_module);

    if (cmcf->ports == NULL) {
        cmcf->ports = bw_array_create(cf->temp_pool, 2,
                                      sizeof(bw_http_conf_port_t));
        if (cmcf->ports == NULL) {
            return BW_ERROR;
        }
    }

    port = bw_inet_get_port(&lsopt->sockaddr.sockaddr);

    cport = cmcf->ports->elts;
    for (i = 0; i < cmcf->ports->nelts; i++) {
        if (cport[i].port == port
            && cport[i].family == lsopt->sockaddr.sockaddr.sa_family)
        {
            break;
        }
    }

    if (i == cmcf->ports->nelts) {
        cport = bw_array_push(cmcf->ports);
        if (cport == NULL) {
            return BW_ERROR;
        }
        cport->family = lsopt->sockaddr.sockaddr.sa_family;
        cport->port = port;
        if (bw_array_init(&cport->addrs, cf->temp_pool, 2,
                          sizeof(bw_http_conf_addr_t)) != BW_OK)
        {
            return BW_ERROR;
        }
    } else {
        cport = &cport[i];
    }

    addr = cport->addrs.elts;
    for (i = 0; i < cport->addrs.nelts; i++) {
        if (addr[i].opt.socklen != lsopt->socklen
            || bw_cmp_sockaddr(&addr[i].opt.sockaddr.sockaddr,
                               addr[i].opt.socklen,
                               &lsopt->sockaddr.sockaddr, lsopt->socklen, 1)
               != BW_OK)
        {
            continue;
        }

        server = addr[i].servers.elts;
        for (j = 0; j < addr[i].servers.nelts; j++) {
            if (server[j] == cscf) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                  "a duplicate listen %.*s",
                                  (int) lsopt->addr_text.len,
                                  lsopt->addr_text.data);
                return BW_ERROR;
            }
        }

        /* "proxy_protocol" on any listen of the address counts */
        lsopt->proxy_protocol |= addr[i].opt.proxy_protocol;
        addr[i].opt.proxy_protocol = lsopt->proxy_protocol;
        /* so does "ssl" */
        lsopt->ssl |= addr[i].opt.ssl;
        addr[i].opt.ssl = lsopt->ssl;
        /* and "http2" */
        lsopt->http2 |= addr[i].opt.http2;
        addr[i].opt.http2 = lsopt->http2;

        if (lsopt->set) {
            if (addr[i].opt.set) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                  "duplicate listen options for %.*s",
                                  (int) lsopt->addr_text.len,
                                  lsopt->addr_text.data);
                return BW_ERROR;
            }
            addr[i].opt = *lsopt;
        }

        if (lsopt->default_server) {
            if (addr[i].default_server) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                  "a duplicate default server for %.*s",
                                  (int) lsopt->addr_text.len,
                                  lsopt->addr_text.data);
                return BW_ERROR;
            }
            addr[i].default_server = cscf;
        }

        server = bw_array_push(&addr[i].servers);
        if (server == NULL) {
            return BW_ERROR;
        }
        *server = cscf;
        return BW_OK;
    }

    addr = bw_array_push(&cport->addrs);
    if (addr == NULL) {
        return BW_ERROR;
    }
    addr->opt = *lsopt;
    addr->default_server = lsopt->default_server ? cscf : NULL;
    if (bw_array_init(&addr->servers, cf->temp_pool, 4,
                      sizeof(bw_http_core_srv_conf_t *)) != BW_OK)
    {
        return BW_ERROR;
    }
    server = bw_array_push(&addr->servers);
    if (server == NULL) {
        return BW_ERROR;
    }
    *server = cscf;

    return BW_OK;
}

static bw_int_t
bw_http_build_addr_conf(bw_conf_t *cf, bw_http_conf_addr_t *addr,
    bw_http_addr_conf_t *conf)
{
    bw_uint_t                  s, n;
    bw_int_t                   rc;
    bw_hash_keys_t             keys;
    bw_http_server_name_t     *name, *re;
    bw_http_core_srv_conf_t  **cscfp;

    conf->default_server = addr->default_server
                           ? addr->default_server
                           : ((bw_http_core_srv_conf_t **)
                              addr->servers.elts)[0];
    conf->proxy_protocol = addr->opt.proxy_protocol;
    conf->ssl = addr->opt.ssl;
    conf->http2 = addr->opt.http2;

    if (bw_hash_keys_init(&keys, cf->temp_pool) != BW_OK
        || bw_array_init(&conf->regex, cf->pool, 1,
                         sizeof(bw_http_server_name_t)) != BW_OK)
    {
        return BW_ERROR;
    }

    cscfp = addr->servers.elts;
    for (s = 0; s < addr->servers.nelts; s++) {
        name = cscfp[s]->server_names.elts;
        for (n = 0; n < cscfp[s]->server_names.nelts; n++) {
            if (name[n].regex) {
                re = bw_array_push(&conf->regex);
                if (re == NULL) {
                    return BW_ERROR;
                }
                *re = name[n];
                continue;
            }

            rc = bw_hash_add_key(&keys, &name[n].name, name[n].server);
            if (rc == BW_ERROR) {
                return BW_ERROR;
            }
            if (rc == BW_DECLINED) {
                bw_log_error(BW_LOG_EMERG, cf->log, 0,
                             "invalid server name or wildcard \"%.*s\" "
                             "on %.*s", (int) name[n].name.len,
                             name[n].name.data,
                             (int) addr->opt.addr_text.len,
                             addr->opt.addr_text.data);
                return BW_ERROR;
            }
            if (rc == BW_BUSY) {
                bw_log_error(BW_LOG_WARN, cf->log, 0,
                             "conflicting server name \"%.*s\" on %.*s, "
                             "ignored", (int) name[n].name.len,
                             name[n].name.data,
                             (int) addr->opt.addr_text.len,
                             addr->opt.addr_text.data);
            }
        }
    }

    return bw_hash_combined_build(&conf->names, cf->pool, &keys);
}

static bw_listening_t *
bw_http_add_listening(bw_conf_t *cf, bw_http_conf_addr_t *addr)
{
    bw_listening_t  *ls;

    ls = bw_create_listening(cf->cycle, &addr->opt.sockaddr.sockaddr,
                             addr->opt.socklen);
    if (ls == NULL) {
        return NULL;
    }

    ls->handler = bw_http_init_connection;
    ls->logp = ((bw_http_core_loc_conf_t *)
                (addr->default_server
                 ? addr->default_server
                 : ((bw_http_core_srv_conf_t **) addr->servers.elts)[0])
                ->ctx->loc_conf[bw_http_core_module.ctx_index])->error_log;
    ls->pool_size = addr->default_server
                    ? addr->default_server->connection_pool_size
                    : ((bw_http_core_srv_conf_t **)
                       addr->servers.elts)[0]->connection_pool_size;
    ls->backlog = addr->opt.backlog;
    ls->rcvbuf = addr->opt.rcvbuf;
    ls->sndbuf = addr->opt.sndbuf;
    ls->keepalive = addr->opt.so_keepalive;
    ls->keepidle = addr->opt.tcp_keepidle;
    ls->keepintvl = addr->opt.tcp_keepintvl;
    ls->keepcnt = addr->opt.tcp_keepcnt;
    ls->reuseport = addr->opt.reuseport;
    ls->ipv6only = addr->opt.ipv6only;
    ls->deferred_accept = addr->opt.deferred_accept;

    return ls;
}

/*
 * One socket per port when a wildcard address is there (the specific
 * addresses are told apart with getsockname), else one per address;
 * "bind" and "reuseport" always get their own.
 */
bw_int_t
bw_http_optimize_servers(bw_conf_t *cf, bw_http_core_main_conf_t *cmcf)
{
    bw_uint_t              p, a, i, n, nshared, wildcard;
    bw_listening_t        *ls;
    bw_http_port_t        *hport;
    bw_http_conf_port_t   *port;
    bw_http_conf_addr_t   *addr, tmp;

    if (cmcf->ports == NULL) {
        return BW_OK;
    }

    port = cmcf->ports->elts;
    for (p = 0; p < cmcf->ports->nelts; p++) {

        /* wildcard last, so that specific addresses are matched first */
        addr = port[p].addrs.elts;
        n = port[p].addrs.nelts;
        for (a = 0; a + 1 < n; a++) {
            if (bw_inet_wildcard(&addr[a].opt.sockaddr.sockaddr)
                && !addr[a].opt.bind)
            {
                tmp = addr[a];
                memmove(&addr[a], &addr[a + 1], (n - a - 1) * sizeof(tmp));
                addr[n - 1] = tmp;
                break;
            }
        }

        wildcard = n && bw_inet_wildcard(&addr[n - 1].opt.sockaddr.sockaddr)
                   && !addr[n - 1].opt.bind;

        nshared = 0;
        for (a = 0; a < n; a++) {
            if (!addr[a].opt.bind || a == n - 1) {
                nshared++;
            }
        }

        for (a = 0; a < n; a++) {
            if (wildcard && !addr[a].opt.bind && a != n - 1) {
                continue;      /* served by the wildcard socket */
            }

            ls = bw_http_add_listening(cf, &addr[a]);
            if (ls == NULL) {
                return BW_ERROR;
            }

            hport = bw_palloc(cf->pool, sizeof(bw_http_port_t));
            if (hport == NULL) {
                return BW_ERROR;
            }
            ls->servers = hport;

            if (wildcard && a == n - 1) {
                hport->naddrs = nshared;
                hport->addrs = bw_pcalloc(cf->pool,
                                          nshared * sizeof(bw_http_in_addr_t));
                if (hport->addrs == NULL) {
                    return BW_ERROR;
                }
                for (i = 0, nshared = 0; i < n; i++) {
                    if (addr[i].opt.bind && i != n - 1) {
                        continue;
                    }
                    hport->addrs[nshared].sockaddr = addr[i].opt.sockaddr;
                    hport->addrs[nshared].socklen = addr[i].opt.socklen;
                    if (bw_http_build_addr_conf(cf, &addr[i],
                                                &hport->addrs[nshared].conf)
                        != BW_OK)
                    {
                        return BW_ERROR;
                    }
                    nshared++;
                }

            } else {
                hport->naddrs = 1;
                hport->addrs = bw_pcalloc(cf->pool, sizeof(bw_http_in_addr_t));
                if (hport->addrs == NULL) {
                    return BW_ERROR;
                }
                hport->addrs[0].sockaddr = addr[a].opt.sockaddr;
                hport->addrs[0].socklen = addr[a].opt.socklen;
                if (bw_http_build_addr_conf(cf, &addr[a],
                                            &hport->addrs[0].conf) != BW_OK)
                {
                    return BW_ERROR;
                }
            }
        }
    }

    return BW_OK;
}

/*
 * Host -> server: exact, then wildcards, then regexes in order; no Host
 * goes to a server named "" (as nginx), else to the default one. With a
 * request, a regex's captures become its $1 and named variables.
 */
bw_http_core_srv_conf_t *
bw_http_find_virtual_server(bw_connection_t *c,
    bw_http_addr_conf_t *addr_conf, bw_str_t *host, bw_http_request_t *r)
{
    bw_int_t                  rc;
    bw_uint_t                 i;
    bw_str_t                  name;
    bw_http_server_name_t    *sn;
    bw_http_core_srv_conf_t  *cscf;
    int                       captures[3];

    if (host->len == 0) {
        cscf = bw_hash_find(&addr_conf->names.exact, bw_hash_key(NULL, 0),
                            (u_char *) "", 0);
        return cscf ? cscf : addr_conf->default_server;
    }

    cscf = bw_hash_find_combined(&addr_conf->names, host->data, host->len);
    if (cscf) {
        return cscf;
    }

    sn = addr_conf->regex.elts;
    for (i = 0; i < addr_conf->regex.nelts; i++) {
        name = *host;

        if (r) {
            rc = bw_http_regex_exec(r, sn[i].regex, &name);
            if (rc == BW_OK) {
                return sn[i].server;
            }
            if (rc == BW_ERROR) {
                return NULL;
            }
            continue;
        }

        if (bw_regex_exec(sn[i].regex, &name, captures, 3) >= 0) {
            return sn[i].server;
        }
    }

    return addr_conf->default_server;
}
