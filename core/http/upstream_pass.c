/*
 * The address of fastcgi_pass, uwsgi_pass and scgi_pass: "host:port",
 * "[v6]:port", "unix:/path" or the name of an upstream block, with no
 * scheme (proxy_pass has its own, with URLs). Split without resolving,
 * at configuration time (the block may come later in the file) and per
 * request when the address has variables.
 */

#include <bw_http.h>

/* host and port of url into u; NULL, or what is wrong */
const char *
bw_http_upstream_pass_split(bw_str_t *url, bw_url_t *u)
{
    u_char    *p, *last, *colon;
    bw_int_t   port;

    bw_memzero(u, sizeof(bw_url_t));
    u->url = *url;
    last = url->data + url->len;

    if (url->len > 5 && bw_strncasecmp(url->data, (u_char *) "unix:", 5) == 0)
    {
        if (url->len - 5 >= sizeof(((struct sockaddr_un *) 0)->sun_path)) {
            return "too long path";
        }
        u->host = *url;
        u->no_port = 1;
        return NULL;
    }

    p = url->data;

    if (url->len && *p == '[') {
        colon = memchr(p, ']', url->len);
        if (colon == NULL) {
            return "invalid host";
        }
        u->host.data = p + 1;
        u->host.len = colon - p - 1;
        if (colon + 1 < last && colon[1] != ':') {
            return "invalid host";
        }
        colon = (colon + 1 < last) ? colon + 1 : NULL;

    } else {
        colon = memchr(p, ':', url->len);
        u->host.data = p;
        u->host.len = (colon ? colon : last) - p;
    }

    if (u->host.len == 0) {
        return "no host";
    }

    if (colon) {
        port = bw_atoi(colon + 1, last - colon - 1);
        if (port < 1 || port > 65535) {
            return "invalid port";
        }
        u->port = (in_port_t) port;

    } else {
        u->no_port = 1;
    }

    return NULL;
}

char *
bw_http_upstream_pass_conf(bw_conf_t *cf, bw_str_t *url,
    bw_http_upstream_srv_conf_t **uscf)
{
    bw_url_t     u;
    const char  *err;

    err = bw_http_upstream_pass_split(url, &u);
    if (err) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "%s in upstream \"%.*s\"",
                          err, (int) url->len, url->data);
        return BW_CONF_ERROR;
    }

    *uscf = bw_http_upstream_add(cf, &u, 0);

    return *uscf ? BW_CONF_OK : BW_CONF_ERROR;
}

/*
 * The *_pass directive: the location's content handler, and the address
 * (an upstream block or a literal, or the text with variables compiled
 * into *cv). A scheme the module allows is stripped by the caller.
 */
char *
bw_http_upstream_pass_set(bw_conf_t *cf, bw_http_handler_pt handler,
    bw_str_t *url, bw_http_upstream_srv_conf_t **uscf,
    bw_http_complex_value_t **cv)
{
    bw_http_core_loc_conf_t  *clcf;

    if (*uscf || *cv) {
        return "is duplicate";
    }

    clcf = bw_http_conf_get_module_loc_conf(cf, bw_http_core_module);
    clcf->handler = handler;

    if (clcf->name.len && clcf->name.data[clcf->name.len - 1] == '/') {
        clcf->auto_redirect = 1;
    }

    if (bw_http_script_variables_count(url)) {
        *cv = bw_pcalloc(cf->pool, sizeof(bw_http_complex_value_t));
        if (*cv == NULL) {
            return BW_CONF_ERROR;
        }
        return bw_http_compile_complex_value(cf, *cv, url) == BW_OK
               ? BW_CONF_OK : BW_CONF_ERROR;
    }

    return bw_http_upstream_pass_conf(cf, url, uscf);
}

/* Per request: the location's upstream, or its address evaluated. */
bw_int_t
bw_http_upstream_pass_target(bw_http_request_t *r,
    bw_http_upstream_srv_conf_t *uscf, bw_http_complex_value_t *cv)
{
    bw_str_t  url;

    if (cv == NULL) {
        r->upstream->upstream = uscf;
        return BW_OK;
    }

    if (bw_http_complex_value(r, cv, &url) != BW_OK) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    return bw_http_upstream_pass_eval(r, &url);
}

/* Per request: r->upstream's upstream block, or its address to reach. */
bw_int_t
bw_http_upstream_pass_eval(bw_http_request_t *r, bw_str_t *url)
{
    size_t                          len;
    bw_url_t                        uu;
    bw_addr_t                      *addr;
    const char                     *err;
    bw_http_upstream_t             *u;
    bw_http_upstream_resolved_t    *ur;
    bw_http_upstream_main_conf_t   *umcf;

    u = r->upstream;

    err = bw_http_upstream_pass_split(url, &uu);
    if (err) {
        bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                     "%s in upstream \"%.*s\"", err, (int) url->len,
                     url->data);
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    ur = bw_pcalloc(r->pool, sizeof(bw_http_upstream_resolved_t));
    if (ur == NULL) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (uu.host.len > 5
        && bw_strncasecmp(uu.host.data, (u_char *) "unix:", 5) == 0)
    {
        addr = bw_pcalloc(r->pool, sizeof(bw_addr_t));
        if (addr == NULL) {
            return BW_HTTP_INTERNAL_SERVER_ERROR;
        }
        len = uu.host.len - 5;
        ur->sockaddr.sockaddr_un.sun_family = AF_UNIX;
        memcpy(ur->sockaddr.sockaddr_un.sun_path, uu.host.data + 5, len);
        addr->sockaddr = &ur->sockaddr.sockaddr;
        addr->socklen = offsetof(struct sockaddr_un, sun_path) + len + 1;
        addr->name = uu.host;
        ur->host = uu.host;
        ur->addrs = addr;
        ur->naddrs = 1;
        u->resolved = ur;
        return BW_OK;
    }

    umcf = bw_http_get_module_main_conf(r, bw_http_upstream_module);
    u->upstream = bw_http_upstream_find(umcf, &uu.host, uu.port);
    if (u->upstream) {
        return BW_OK;
    }

    if (uu.no_port) {
        bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                     "no port in upstream \"%.*s\"", (int) url->len,
                     url->data);
        return BW_HTTP_BAD_GATEWAY;
    }

    /* an address or a host name: the upstream takes it from here */
    ur->host = uu.host;
    ur->port = uu.port;
    u->resolved = ur;

    return BW_OK;
}
