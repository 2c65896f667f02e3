/*
 * The upstream module's configuration side: "upstream name { server
 * ...; }" blocks, the implicit upstreams that proxy_pass URLs create,
 * the balancer's init at the end of the http block. What a proxying
 * module's own settings share is in upstream_module_conf.c.
 */

#include <bw_http.h>

static char *bw_http_upstream_block(bw_conf_t *cf, bw_command_t *cmd,
    void *dummy);
static char *bw_http_upstream_server(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static bw_int_t bw_http_upstream_preconfiguration(bw_conf_t *cf);
static void *bw_http_upstream_create_main_conf(bw_conf_t *cf);
static char *bw_http_upstream_init_main_conf(bw_conf_t *cf, void *conf);

static bw_command_t  bw_http_upstream_commands[] = {

    { bw_string("upstream"), BW_HTTP_MAIN_CONF|BW_CONF_BLOCK|BW_CONF_TAKE1,
      bw_http_upstream_block, 0, 0, NULL },

    { bw_string("server"), BW_HTTP_UPS_CONF|BW_CONF_1MORE,
      bw_http_upstream_server, BW_HTTP_SRV_CONF_OFFSET, 0, NULL },

    bw_null_command
};

static bw_http_module_t  bw_http_upstream_module_ctx = {
    bw_http_upstream_preconfiguration,
    NULL,
    bw_http_upstream_create_main_conf,
    bw_http_upstream_init_main_conf,
    NULL, NULL, NULL, NULL
};

bw_module_t  bw_http_upstream_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_upstream_module_ctx,
    bw_http_upstream_commands, NULL, NULL, NULL, NULL
};

static bw_int_t
bw_http_upstream_preconfiguration(bw_conf_t *cf)
{
    return bw_http_upstream_add_variables(cf);
}

static void *
bw_http_upstream_create_main_conf(bw_conf_t *cf)
{
    bw_http_upstream_main_conf_t  *umcf;

    umcf = bw_pcalloc(cf->pool, sizeof(bw_http_upstream_main_conf_t));
    if (umcf == NULL) {
        return NULL;
    }

    if (bw_array_init(&umcf->upstreams, cf->pool, 4,
                      sizeof(bw_http_upstream_srv_conf_t *)) != BW_OK)
    {
        return NULL;
    }

    return umcf;
}

/* Every upstream is known now: let each balancer build its peers. */
static char *
bw_http_upstream_init_main_conf(bw_conf_t *cf, void *conf)
{
    bw_http_upstream_main_conf_t  *umcf = conf;

    bw_uint_t                       i;
    bw_http_upstream_init_pt        init;
    bw_http_upstream_srv_conf_t   **uscfp;

    uscfp = umcf->upstreams.elts;

    for (i = 0; i < umcf->upstreams.nelts; i++) {
        if (uscfp[i]->servers == NULL && !uscfp[i]->implicit) {
            bw_log_error(BW_LOG_EMERG, cf->log, 0,
                         "no servers are inside upstream in %s:%lu",
                         uscfp[i]->file_name,
                         (unsigned long) uscfp[i]->line);
            return BW_CONF_ERROR;
        }

        if (uscfp[i]->servers == NULL && uscfp[i]->implicit
            && uscfp[i]->flags == 0)
        {
            /* "proxy_pass http://name" with no upstream block of that
             * name: name is a host name, resolved now */
            bw_url_t                    u;
            bw_http_upstream_server_t  *us;

            if (uscfp[i]->port == 0 && uscfp[i]->no_port
                && !(uscfp[i]->host.len > 5
                     && bw_strncasecmp(uscfp[i]->host.data,
                                       (u_char *) "unix:", 5) == 0))
            {
                /* "fastcgi_pass name" with neither a block of that
                 * name nor a port */
                bw_log_error(BW_LOG_EMERG, cf->log, 0,
                             "no port in upstream \"%.*s\" in %s:%lu",
                             (int) uscfp[i]->host.len, uscfp[i]->host.data,
                             uscfp[i]->file_name,
                             (unsigned long) uscfp[i]->line);
                return BW_CONF_ERROR;
            }

            bw_memzero(&u, sizeof(bw_url_t));
            u.url = uscfp[i]->host;
            u.default_port = uscfp[i]->port;
            u.port = uscfp[i]->port;

            if (memchr(u.url.data, ':', u.url.len)
                && (u.url.len < 5
                    || bw_strncasecmp(u.url.data, (u_char *) "unix:", 5)
                       != 0))
            {
                /* an IPv6 address: brackets keep its colons from the
                 * port's */
                u.url.data = bw_pnalloc(cf->pool, u.url.len + 2);
                if (u.url.data == NULL) {
                    return BW_CONF_ERROR;
                }
                u.url.data[0] = '[';
                memcpy(u.url.data + 1, uscfp[i]->host.data,
                       uscfp[i]->host.len);
                u.url.data[u.url.len + 1] = ']';
                u.url.len += 2;
            }

            if (bw_parse_url(cf->pool, &u) != BW_OK) {
                bw_log_error(BW_LOG_EMERG, cf->log, 0,
                             "%s in upstream \"%.*s\" in %s:%lu", u.err,
                             (int) uscfp[i]->host.len, uscfp[i]->host.data,
                             uscfp[i]->file_name,
                             (unsigned long) uscfp[i]->line);
                return BW_CONF_ERROR;
            }

            uscfp[i]->servers = bw_array_create(cf->pool, 1,
                                            sizeof(bw_http_upstream_server_t));
            if (uscfp[i]->servers == NULL) {
                return BW_CONF_ERROR;
            }
            us = bw_array_push(uscfp[i]->servers);
            if (us == NULL) {
                return BW_CONF_ERROR;
            }
            bw_memzero(us, sizeof(bw_http_upstream_server_t));
            us->name = uscfp[i]->host;
            us->weight = 1;
            us->max_fails = 1;
            us->fail_timeout = 10;
            if (bw_http_upstream_url_addrs(cf, &u, us) != BW_OK) {
                return BW_CONF_ERROR;
            }
        }

        init = uscfp[i]->peer.init_upstream
               ? uscfp[i]->peer.init_upstream
               : bw_http_upstream_init_balancer;

        if (init(cf, uscfp[i]) != BW_OK) {
            return BW_CONF_ERROR;
        }
    }

    return BW_CONF_OK;
}

/* A parsed URL's addresses (or its one unix path) for a server. */
bw_int_t
bw_http_upstream_url_addrs(bw_conf_t *cf, bw_url_t *u,
    bw_http_upstream_server_t *us)
{
    u_char         *text;
    size_t          len;
    bw_sockaddr_t  *sa;

    if (u->naddrs) {
        us->addrs = u->addrs;
        us->naddrs = u->naddrs;
        return BW_OK;
    }

    us->addrs = bw_pcalloc(cf->pool, sizeof(bw_addr_t));
    sa = bw_palloc(cf->pool, sizeof(bw_sockaddr_t));
    text = bw_pnalloc(cf->pool, BW_SOCKADDR_STRLEN);
    if (us->addrs == NULL || sa == NULL || text == NULL) {
        return BW_ERROR;
    }

    memcpy(sa, &u->sockaddr, sizeof(bw_sockaddr_t));
    len = bw_sock_ntop(&sa->sockaddr, u->socklen, text, BW_SOCKADDR_STRLEN,
                       1);
    us->addrs->sockaddr = &sa->sockaddr;
    us->addrs->socklen = u->socklen;
    us->addrs->name.data = text;
    us->addrs->name.len = len;
    us->naddrs = 1;

    return BW_OK;
}

static char *
bw_http_upstream_block(bw_conf_t *cf, bw_command_t *cmd, void *dummy)
{
    char                          *rv;
    bw_str_t                      *value;
    bw_url_t                       u;
    bw_conf_t                      pcf;
    bw_http_conf_ctx_t            *ctx;
    bw_http_upstream_srv_conf_t   *uscf;

    value = cf->args->elts;

    bw_memzero(&u, sizeof(bw_url_t));
    u.host = value[1];
    u.no_port = 1;

    uscf = bw_http_upstream_add(cf, &u, BW_HTTP_UPSTREAM_CREATE
                                        |BW_HTTP_UPSTREAM_WEIGHT
                                        |BW_HTTP_UPSTREAM_MAX_CONNS
                                        |BW_HTTP_UPSTREAM_MAX_FAILS
                                        |BW_HTTP_UPSTREAM_FAIL_TIMEOUT
                                        |BW_HTTP_UPSTREAM_DOWN
                                        |BW_HTTP_UPSTREAM_BACKUP);
    if (uscf == NULL) {
        return BW_CONF_ERROR;
    }

    /* the block's own confs: keepalive, hash and friends keep theirs
     * here, reached through uscf->srv_conf */
    ctx = bw_http_create_conf_ctx(cf, cf->ctx,
                                  BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF);
    if (ctx == NULL) {
        return BW_CONF_ERROR;
    }

    uscf->srv_conf = ctx->srv_conf;

    uscf->servers = bw_array_create(cf->pool, 4,
                                    sizeof(bw_http_upstream_server_t));
    if (uscf->servers == NULL) {
        return BW_CONF_ERROR;
    }

    pcf = *cf;
    cf->ctx = ctx;
    cf->cmd_type = BW_HTTP_UPS_CONF;
    rv = bw_conf_parse(cf, NULL);
    *cf = pcf;

    if (rv != BW_CONF_OK) {
        return rv;
    }

    if (uscf->servers->nelts == 0 && uscf->state.len == 0) {
        return "no servers are inside upstream";
    }

    if (uscf->resolve && uscf->shm_zone == NULL) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "resolving names at run "
                          "time requires upstream \"%.*s\" in %s:%lu to "
                          "be in shared memory", (int) uscf->host.len,
                          uscf->host.data, uscf->file_name,
                          (unsigned long) uscf->line);
        return BW_CONF_ERROR;
    }

    return BW_CONF_OK;
}

static char *
bw_http_upstream_server(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_upstream_srv_conf_t  *uscf;

    time_t                        fail_timeout;
    bw_str_t                     *value, s;
    bw_url_t                      u;
    bw_int_t                      weight, max_fails, max_conns;
    bw_uint_t                     i, down, backup, resolve;
    const char                   *err;
    bw_http_upstream_server_t    *us;

    uscf = bw_http_upstream_current(cf);

    if (uscf->state.len) {
        return "is incompatible with \"state\"";
    }

    us = bw_array_push(uscf->servers);
    if (us == NULL) {
        return BW_CONF_ERROR;
    }
    bw_memzero(us, sizeof(bw_http_upstream_server_t));

    value = cf->args->elts;

    weight = 1;
    max_fails = 1;
    max_conns = 0;
    fail_timeout = 10;
    down = 0;
    backup = 0;
    resolve = 0;

    for (i = 2; i < cf->args->nelts; i++) {

        if (strcmp((char *) value[i].data, "resolve") == 0) {
            resolve = 1;
            continue;
        }

        if (strncmp((char *) value[i].data, "weight=", 7) == 0) {
            if (!(uscf->flags & BW_HTTP_UPSTREAM_WEIGHT)) {
                goto not_supported;
            }
            weight = bw_atoi(&value[i].data[7], value[i].len - 7);
            if (weight == BW_ERROR || weight == 0) {
                goto invalid;
            }
            continue;
        }

        if (strncmp((char *) value[i].data, "max_conns=", 10) == 0) {
            if (!(uscf->flags & BW_HTTP_UPSTREAM_MAX_CONNS)) {
                goto not_supported;
            }
            max_conns = bw_atoi(&value[i].data[10], value[i].len - 10);
            if (max_conns == BW_ERROR) {
                goto invalid;
            }
            continue;
        }

        if (strncmp((char *) value[i].data, "max_fails=", 10) == 0) {
            if (!(uscf->flags & BW_HTTP_UPSTREAM_MAX_FAILS)) {
                goto not_supported;
            }
            max_fails = bw_atoi(&value[i].data[10], value[i].len - 10);
            if (max_fails == BW_ERROR) {
                goto invalid;
            }
            continue;
        }

        if (strncmp((char *) value[i].data, "fail_timeout=", 13) == 0) {
            if (!(uscf->flags & BW_HTTP_UPSTREAM_FAIL_TIMEOUT)) {
                goto not_supported;
            }
            s.len = value[i].len - 13;
            s.data = &value[i].data[13];
            fail_timeout = bw_parse_time(&s, 1);
            if (fail_timeout == (time_t) BW_ERROR) {
                goto invalid;
            }
            continue;
        }

        if (strcmp((char *) value[i].data, "backup") == 0) {
            if (!(uscf->flags & BW_HTTP_UPSTREAM_BACKUP)) {
                goto not_supported;
            }
            backup = 1;
            continue;
        }

        if (strcmp((char *) value[i].data, "down") == 0) {
            if (!(uscf->flags & BW_HTTP_UPSTREAM_DOWN)) {
                goto not_supported;
            }
            down = 1;
            continue;
        }

        goto invalid;
    }

    us->weight = weight;
    us->max_fails = max_fails;
    us->max_conns = max_conns;
    us->fail_timeout = fail_timeout;
    us->down = down;
    us->backup = backup;

    if (resolve) {
        /* a name is looked up by the workers' resolver, never here: it
         * may not exist yet (a service that comes later) */
        err = bw_http_upstream_pass_split(&value[1], &u);
        if (err) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0, "%s in upstream \"%s\"",
                              err, value[1].data);
            return BW_CONF_ERROR;
        }
        if (u.host.len > 5
            && bw_strncasecmp(u.host.data, (u_char *) "unix:", 5) == 0)
        {
            resolve = 0;
        } else if (bw_parse_addr_port(u.host.data, u.host.len, &u.sockaddr,
                                      &u.socklen) != BW_OK)
        {
            us->name = value[1];
            us->host = u.host;
            us->port = u.no_port ? 80 : u.port;
            us->resolve = 1;
            uscf->resolve = 1;
            return BW_CONF_OK;
        }
    }

    bw_memzero(&u, sizeof(bw_url_t));
    u.url = value[1];
    u.default_port = 80;

    if (bw_parse_url(cf->pool, &u) != BW_OK) {
        if (u.err) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "%s in upstream \"%s\"", u.err, u.url.data);
        }
        return BW_CONF_ERROR;
    }

    /* "0.0.0.0:8000" is an address (this host, to Linux), as in nginx;
     * "*" is not */
    if (u.wildcard && u.host.len == 1 && u.host.data[0] == '*') {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "invalid address \"%s\" in upstream", u.url.data);
        return BW_CONF_ERROR;
    }

    us->name = u.url;
    if (bw_http_upstream_url_addrs(cf, &u, us) != BW_OK) {
        return BW_CONF_ERROR;
    }

    return BW_CONF_OK;

invalid:

    bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid parameter \"%s\"",
                      value[i].data);
    return BW_CONF_ERROR;

not_supported:

    bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                      "balancing method does not support parameter \"%s\"",
                      value[i].data);
    return BW_CONF_ERROR;
}

/*
 * A balancer directive. Servers listed before it were checked against
 * round robin's parameters, so the ones it does not support are looked
 * for here; nginx lets them pass silently.
 */
char *
bw_http_upstream_set_balancer(bw_conf_t *cf, const char *name,
    bw_http_upstream_init_pt init, bw_uint_t flags)
{
    bw_uint_t                     i;
    bw_http_upstream_server_t    *server;
    bw_http_upstream_srv_conf_t  *uscf;

    uscf = bw_http_upstream_current(cf);

    if (uscf->peer.balancer) {
        bw_conf_log_error(BW_LOG_WARN, cf, 0,
                          "load balancing method redefined");
    }

    server = uscf->servers->elts;
    for (i = 0; i < uscf->servers->nelts; i++) {
        if (server[i].backup && !(flags & BW_HTTP_UPSTREAM_BACKUP)) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "balancing method \"%s\" does not support "
                              "parameter \"backup\" of server \"%.*s\"",
                              name, (int) server[i].name.len,
                              server[i].name.data);
            return BW_CONF_ERROR;
        }
    }

    uscf->peer.balancer = init;
    uscf->peer.balancer_name = name;
    uscf->flags = flags;

    return BW_CONF_OK;
}

bw_int_t
bw_http_upstream_init_balancer(bw_conf_t *cf,
    bw_http_upstream_srv_conf_t *us)
{
    if (us->peer.balancer) {
        return us->peer.balancer(cf, us);
    }
    return bw_http_upstream_init_round_robin(cf, us);
}

/* The upstream block being parsed (for its directives). */
bw_http_upstream_srv_conf_t *
bw_http_upstream_current(bw_conf_t *cf)
{
    bw_http_upstream_main_conf_t   *umcf;
    bw_http_upstream_srv_conf_t   **uscfp;

    umcf = bw_http_conf_get_module_main_conf(cf, bw_http_upstream_module);
    uscfp = umcf->upstreams.elts;

    return uscfp[umcf->upstreams.nelts - 1];
}

/*
 * Find or add the upstream named by u->host: "upstream name {}" blocks
 * (flags has CREATE) and "proxy_pass http://name" (implicit) meet here,
 * in either order, as in nginx.
 */
bw_http_upstream_srv_conf_t *
bw_http_upstream_add(bw_conf_t *cf, bw_url_t *u, bw_uint_t flags)
{
    bw_uint_t                       i;
    bw_http_upstream_srv_conf_t    *uscf, **uscfp;
    bw_http_upstream_main_conf_t   *umcf;

    umcf = bw_http_conf_get_module_main_conf(cf, bw_http_upstream_module);
    uscfp = umcf->upstreams.elts;

    for (i = 0; i < umcf->upstreams.nelts; i++) {

        if (uscfp[i]->host.len != u->host.len
            || bw_strncasecmp(uscfp[i]->host.data, u->host.data,
                              u->host.len) != 0)
        {
            continue;
        }

        if ((flags & BW_HTTP_UPSTREAM_CREATE)
            && (uscfp[i]->flags & BW_HTTP_UPSTREAM_CREATE))
        {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "duplicate upstream \"%.*s\"",
                              (int) u->host.len, u->host.data);
            return NULL;
        }

        if ((uscfp[i]->flags & BW_HTTP_UPSTREAM_CREATE) && !u->no_port) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "upstream \"%.*s\" may not have port %d",
                              (int) u->host.len, u->host.data, (int) u->port);
            return NULL;
        }

        if ((flags & BW_HTTP_UPSTREAM_CREATE) && !uscfp[i]->no_port) {
            bw_log_error(BW_LOG_EMERG, cf->log, 0,
                         "upstream \"%.*s\" may not have port %d in %s:%lu",
                         (int) u->host.len, u->host.data,
                         (int) uscfp[i]->port,
                         uscfp[i]->file_name,
                         (unsigned long) uscfp[i]->line);
            return NULL;
        }

        if (uscfp[i]->port != u->port && !(flags & BW_HTTP_UPSTREAM_CREATE)
            && !(uscfp[i]->flags & BW_HTTP_UPSTREAM_CREATE))
        {
            continue;
        }

        if (flags & BW_HTTP_UPSTREAM_CREATE) {
            /* the block comes after a proxy_pass that named it */
            uscfp[i]->flags = flags;
            uscfp[i]->implicit = 0;
            uscfp[i]->file_name = cf->conf_file->name.data;
            uscfp[i]->line = cf->conf_file->line;
        }

        return uscfp[i];
    }

    uscf = bw_pcalloc(cf->pool, sizeof(bw_http_upstream_srv_conf_t));
    if (uscf == NULL) {
        return NULL;
    }

    uscf->flags = flags;
    uscf->host = u->host;
    uscf->file_name = cf->conf_file->name.data;
    uscf->line = cf->conf_file->line;
    uscf->port = u->port;
    uscf->no_port = u->no_port;
    uscf->implicit = !(flags & BW_HTTP_UPSTREAM_CREATE);

    uscfp = bw_array_push(&umcf->upstreams);
    if (uscfp == NULL) {
        return NULL;
    }
    *uscfp = uscf;

    return uscf;
}

/* For proxy_pass with variables: an upstream block of that name. */
bw_http_upstream_srv_conf_t *
bw_http_upstream_find(bw_http_upstream_main_conf_t *umcf, bw_str_t *host,
    in_port_t port)
{
    bw_uint_t                       i;
    bw_http_upstream_srv_conf_t   **uscfp;

    uscfp = umcf->upstreams.elts;

    for (i = 0; i < umcf->upstreams.nelts; i++) {
        if (uscfp[i]->host.len == host->len
            && bw_strncasecmp(uscfp[i]->host.data, host->data, host->len)
               == 0
            && ((uscfp[i]->flags & BW_HTTP_UPSTREAM_CREATE)
                || uscfp[i]->port == port))
        {
            return uscfp[i];
        }
    }

    return NULL;
}
