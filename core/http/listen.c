/*
 * The listen directive: an address (or a port, a port range, a unix:
 * path) and its parameters, checked as nginx does and added to the
 * server's addresses. What the sockets become is http.c's work.
 */

#include <bw_http.h>

static bw_int_t bw_http_core_listen_range(bw_str_t *url, bw_int_t *low,
    bw_int_t *high);
static void bw_http_core_set_port(struct sockaddr *sa, in_port_t port);

char *
bw_http_core_listen(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_core_srv_conf_t  *cscf = conf;
    bw_str_t                 *value, s;
    bw_uint_t                 i;
    bw_int_t                  n, low, high;
    bw_url_t                  u;
    bw_http_listen_opt_t      lsopt;

    cscf->listen = 1;
    value = cf->args->elts;

    bw_memzero(&u, sizeof(u));
    u.url = value[1];
    u.listen = 1;
    u.default_port = 80;

    /* "127.0.0.1:8000-8009": a socket for each port, as nginx */
    if (bw_http_core_listen_range(&u.url, &low, &high) != BW_OK) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid port range in "
                          "\"%.*s\" of the \"listen\" directive",
                          (int) value[1].len, value[1].data);
        return BW_CONF_ERROR;
    }

    if (bw_parse_url(cf->pool, &u) != BW_OK) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "%s in \"%.*s\" of the "
                          "\"listen\" directive", u.err,
                          (int) u.url.len, u.url.data);
        return BW_CONF_ERROR;
    }

    bw_memzero(&lsopt, sizeof(lsopt));
    lsopt.sockaddr = u.sockaddr;
    lsopt.socklen = u.socklen;
    lsopt.backlog = 511;
    lsopt.rcvbuf = -1;
    lsopt.sndbuf = -1;
    lsopt.ipv6only = 1;
    lsopt.addr_text.data = bw_pnalloc(cf->pool, BW_SOCKADDR_STRLEN);
    if (lsopt.addr_text.data == NULL) {
        return BW_CONF_ERROR;
    }
    lsopt.addr_text.len = bw_sock_ntop(&u.sockaddr.sockaddr, u.socklen,
                                       lsopt.addr_text.data,
                                       BW_SOCKADDR_STRLEN, 1);

    for (i = 2; i < cf->args->nelts; i++) {

        if (bw_str_eq_lit(&value[i], "default_server")
            || bw_str_eq_lit(&value[i], "default"))
        {
            lsopt.default_server = 1;
            continue;
        }

        if (bw_str_eq_lit(&value[i], "bind")) {
            lsopt.set = 1;
            lsopt.bind = 1;
            continue;
        }

        if (bw_str_eq_lit(&value[i], "proxy_protocol")) {
            lsopt.proxy_protocol = 1;
            continue;
        }

        if (bw_str_eq_lit(&value[i], "ssl")) {
            if (bw_http_ssl_hooks == NULL) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0, "the \"ssl\" "
                                  "parameter requires bulwark built with "
                                  "the http_ssl module");
                return BW_CONF_ERROR;
            }
            lsopt.ssl = 1;
            continue;
        }

        if (bw_str_eq_lit(&value[i], "http2")) {
            if (bw_http_v2_hooks == NULL) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0, "the \"http2\" "
                                  "parameter requires bulwark built with "
                                  "the http_v2 module");
                return BW_CONF_ERROR;
            }
            bw_conf_log_error(BW_LOG_WARN, cf, 0, "the \"listen ... http2\" "
                              "directive is deprecated, use the \"http2\" "
                              "directive instead");
            lsopt.http2 = 1;
            continue;
        }

        if (bw_str_eq_lit(&value[i], "reuseport")) {
            lsopt.reuseport = 1;
            lsopt.set = 1;
            lsopt.bind = 1;
            continue;
        }

        if (bw_str_eq_lit(&value[i], "deferred")) {
            lsopt.deferred_accept = 1;
            lsopt.set = 1;
            lsopt.bind = 1;
            continue;
        }

        if (value[i].len > 8 && memcmp(value[i].data, "backlog=", 8) == 0) {
            n = bw_atoi(value[i].data + 8, value[i].len - 8);
            if (n == BW_ERROR || n == 0) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                  "invalid backlog \"%s\"", value[i].data);
                return BW_CONF_ERROR;
            }
            lsopt.backlog = (int) n;
            lsopt.set = 1;
            lsopt.bind = 1;
            continue;
        }

        if (value[i].len > 7
            && (memcmp(value[i].data, "rcvbuf=", 7) == 0
                || memcmp(value[i].data, "sndbuf=", 7) == 0))
        {
            s.data = value[i].data + 7;
            s.len = value[i].len - 7;
            n = bw_parse_size(&s);
            if (n == BW_ERROR || n > INT_MAX) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                  "invalid %.6s \"%s\"", value[i].data,
                                  s.data);
                return BW_CONF_ERROR;
            }
            if (value[i].data[0] == 'r') {
                lsopt.rcvbuf = (int) n;
            } else {
                lsopt.sndbuf = (int) n;
            }
            lsopt.set = 1;
            lsopt.bind = 1;
            continue;
        }

        if (value[i].len > 9 && memcmp(value[i].data, "ipv6only=", 9) == 0) {
            if (bw_strncasecmp(value[i].data + 9, (u_char *) "on", 2) == 0
                && value[i].len == 11)
            {
                lsopt.ipv6only = 1;
            } else if (value[i].len == 12
                       && bw_strncasecmp(value[i].data + 9, (u_char *) "off",
                                         3) == 0)
            {
                lsopt.ipv6only = 0;
            } else {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                  "invalid ipv6only flags \"%s\"",
                                  value[i].data + 9);
                return BW_CONF_ERROR;
            }
            lsopt.set = 1;
            lsopt.bind = 1;
            continue;
        }

        if (value[i].len > 13
            && memcmp(value[i].data, "so_keepalive=", 13) == 0)
        {
            u_char  *p = value[i].data + 13, *end, *q;
            int      vals[3] = { 0, 0, 0 }, k;

            end = value[i].data + value[i].len;
            if (bw_str_eq_lit(&value[i], "so_keepalive=on")) {
                lsopt.so_keepalive = 1;
            } else if (bw_str_eq_lit(&value[i], "so_keepalive=off")) {
                lsopt.so_keepalive = 2;
            } else {
                for (k = 0; k < 3; k++) {
                    q = memchr(p, ':', end - p);
                    if (q == NULL) {
                        q = end;
                    }
                    if (q > p) {
                        s.data = p;
                        s.len = q - p;
                        n = (k == 2) ? bw_atoi(p, q - p)
                                     : bw_parse_time(&s, 1);
                        if (n == BW_ERROR || n == 0) {
                            goto invalid_so_keepalive;
                        }
                        vals[k] = (int) n;
                    }
                    if (q == end) {
                        break;
                    }
                    p = q + 1;
                }
                if (vals[0] == 0 && vals[1] == 0 && vals[2] == 0) {
                    goto invalid_so_keepalive;
                }
                lsopt.so_keepalive = 1;
                lsopt.tcp_keepidle = vals[0];
                lsopt.tcp_keepintvl = vals[1];
                lsopt.tcp_keepcnt = vals[2];
            }
            lsopt.set = 1;
            lsopt.bind = 1;
            continue;

        invalid_so_keepalive:
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "invalid so_keepalive value: \"%s\"",
                              value[i].data + 13);
            return BW_CONF_ERROR;
        }

        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "invalid parameter \"%s\"", value[i].data);
        return BW_CONF_ERROR;
    }

    for (n = low; n <= high; n++) {
        if (low != high) {
            bw_http_core_set_port(&lsopt.sockaddr.sockaddr, (in_port_t) n);
            lsopt.addr_text.len = bw_sock_ntop(&lsopt.sockaddr.sockaddr,
                                               lsopt.socklen,
                                               lsopt.addr_text.data,
                                               BW_SOCKADDR_STRLEN, 1);
        }
        if (bw_http_add_listen(cf, cscf, &lsopt) != BW_OK) {
            return BW_CONF_ERROR;
        }
        if (low != high) {
            /* each socket its own text (the next one's is written anew) */
            lsopt.addr_text.data = bw_pnalloc(cf->pool, BW_SOCKADDR_STRLEN);
            if (lsopt.addr_text.data == NULL) {
                return BW_CONF_ERROR;
            }
        }
    }

    return BW_CONF_OK;
}

static void
bw_http_core_set_port(struct sockaddr *sa, in_port_t port)
{
    if (sa->sa_family == AF_INET6) {
        ((struct sockaddr_in6 *) sa)->sin6_port = htons(port);
    } else {
        ((struct sockaddr_in *) sa)->sin_port = htons(port);
    }
}

/*
 * A port range at the end of a listen address: the URL is cut to its
 * first port, *low and *high set (equal when there is no range).
 * BW_ERROR for a range that is no range.
 */
static bw_int_t
bw_http_core_listen_range(bw_str_t *url, bw_int_t *low, bw_int_t *high)
{
    u_char  *p, *dash, *end;

    *low = 0;
    *high = 0;

    end = url->data + url->len;

    if (url->len > 5 && bw_strncasecmp(url->data, (u_char *) "unix:", 5) == 0)
    {
        return BW_OK;
    }

    /* the port: after the last ':' (past a bracketed IPv6 address), or
     * the whole text when it is one */
    for (p = end; p > url->data && p[-1] != ':' && p[-1] != ']'; p--) {
        /* void */
    }
    if (p > url->data && p[-1] == ']') {
        return BW_OK;
    }

    dash = memchr(p, '-', end - p);
    if (dash == NULL || dash == p || bw_atoi(p, dash - p) == BW_ERROR) {
        return BW_OK;       /* no range: a host name may have a '-' */
    }

    *low = bw_atoi(p, dash - p);
    *high = bw_atoi(dash + 1, end - dash - 1);

    if (*low < 1 || *high > 65535 || *high < *low) {
        return BW_ERROR;
    }

    url->len = dash - url->data;
    return BW_OK;
}
