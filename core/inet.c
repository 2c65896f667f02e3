/*
 * Address parsing for listen and (later) upstream servers. Host names
 * are resolved here with getaddrinfo: configuration time only.
 */

#include <bw_core.h>
#include <netdb.h>

static bw_int_t
bw_parse_unix_url(bw_url_t *u)
{
    size_t               len;
    struct sockaddr_un  *sun;

    len = u->url.len - 5;
    if (len == 0) {
        u->err = "no path in the unix domain socket";
        return BW_ERROR;
    }
    if (len + 1 > sizeof(sun->sun_path)) {
        u->err = "too long path in the unix domain socket";
        return BW_ERROR;
    }

    sun = &u->sockaddr.sockaddr_un;
    bw_memzero(sun, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    memcpy(sun->sun_path, u->url.data + 5, len);
    u->socklen = sizeof(struct sockaddr_un);
    u->family = AF_UNIX;
    u->host = u->url;
    return BW_OK;
}

static bw_int_t bw_url_add_addrs(bw_pool_t *pool, bw_url_t *u,
    struct addrinfo *res);

bw_int_t
bw_parse_url(bw_pool_t *pool, bw_url_t *u)
{
    u_char           *p, *last, *colon, host[256];
    bw_int_t          port;
    size_t            hlen;
    struct addrinfo   hints, *res;
    int               rc;

    p = u->url.data;
    last = p + u->url.len;

    if (u->url.len > 5 && memcmp(p, "unix:", 5) == 0) {
        return bw_parse_unix_url(u);
    }

    if (p < last && *p == '[') {
        u_char *rb = memchr(p, ']', last - p);
        if (rb == NULL) {
            u->err = "invalid host";
            return BW_ERROR;
        }
        u->host.data = p + 1;
        u->host.len = rb - p - 1;
        colon = (rb + 1 < last && rb[1] == ':') ? rb + 1 : NULL;
        if (rb + 1 < last && colon == NULL) {
            u->err = "invalid host";
            return BW_ERROR;
        }
    } else {
        colon = memchr(p, ':', last - p);
        if (colon) {
            u->host.data = p;
            u->host.len = colon - p;
        } else {
            u->host.data = p;
            u->host.len = last - p;
        }
    }

    if (colon) {
        port = bw_atoi(colon + 1, last - colon - 1);
        if (port < 1 || port > 65535) {
            u->err = "invalid port";
            return BW_ERROR;
        }
        u->port = (in_port_t) port;

    } else if (u->listen) {
        /* "listen 8080" or "listen 127.0.0.1" */
        port = bw_atoi(p, last - p);
        if (port != BW_ERROR) {
            if (port < 1 || port > 65535) {
                u->err = "invalid port";
                return BW_ERROR;
            }
            u->port = (in_port_t) port;
            u->host.len = 0;
        } else {
            u->port = u->default_port;
            u->no_port = 1;
        }

    } else {
        u->port = u->default_port;
        u->no_port = 1;
    }

    bw_memzero(&u->sockaddr, sizeof(u->sockaddr));

    if (u->host.len == 0 || (u->host.len == 1 && u->host.data[0] == '*')) {
        if (u->host.len == 0 && !u->listen) {
            u->err = "no host";
            return BW_ERROR;
        }
        u->sockaddr.sockaddr_in.sin_family = AF_INET;
        u->sockaddr.sockaddr_in.sin_addr.s_addr = INADDR_ANY;
        u->sockaddr.sockaddr_in.sin_port = htons(u->port);
        u->socklen = sizeof(struct sockaddr_in);
        u->family = AF_INET;
        u->wildcard = 1;
        return BW_OK;
    }

    hlen = bw_min(u->host.len, sizeof(host) - 1);
    memcpy(host, u->host.data, hlen);
    host[hlen] = '\0';

    bw_memzero(&hints, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;

    rc = getaddrinfo((char *) host, NULL, &hints, &res);
    if (rc != 0) {
        u->err = "host not found";
        return BW_ERROR;
    }

    memcpy(&u->sockaddr, res->ai_addr, res->ai_addrlen);
    u->socklen = res->ai_addrlen;
    u->family = res->ai_family;

    if (u->family == AF_INET) {
        u->sockaddr.sockaddr_in.sin_port = htons(u->port);
    } else if (u->family == AF_INET6) {
        u->sockaddr.sockaddr_in6.sin6_port = htons(u->port);
    }

    u->wildcard = bw_inet_wildcard(&u->sockaddr.sockaddr);

    rc = bw_url_add_addrs(pool, u, res);
    freeaddrinfo(res);

    return rc;
}

/*
 * A numeric address with an optional port, kept ("127.0.0.2:5000",
 * "[::1]:5000"), such as a request's variables give: no name is looked
 * up. BW_DECLINED: not such an address. The name is the caller's.
 */
bw_int_t
bw_parse_local_addr(bw_pool_t *pool, bw_addr_t *addr, u_char *text,
    size_t len)
{
    u_char         *p, *last;
    bw_int_t        port;
    bw_sockaddr_t  *sa;

    sa = bw_palloc(pool, sizeof(bw_sockaddr_t));
    if (sa == NULL) {
        return BW_ERROR;
    }

    if (bw_parse_addr_port(text, len, sa, &addr->socklen) != BW_OK) {
        return BW_DECLINED;
    }

    /* the port, where bw_parse_addr_port saw one: after "]:", or after
     * the only colon */
    last = text + len;
    p = memchr(text, ']', len);
    if (p) {
        if (p + 1 < last && p[1] != ':') {
            return BW_DECLINED;     /* "[::1]x" */
        }
        p = (p + 1 < last) ? p + 2 : NULL;
    } else {
        p = memchr(text, ':', len);
        p = (p && memchr(p + 1, ':', last - p - 1) == NULL) ? p + 1 : NULL;
    }

    if (p) {
        port = bw_atoi(p, last - p);
        if (port < 1 || port > 65535) {
            return BW_DECLINED;
        }
        if (sa->sockaddr.sa_family == AF_INET) {
            sa->sockaddr_in.sin_port = htons((in_port_t) port);
        } else {
            sa->sockaddr_in6.sin6_port = htons((in_port_t) port);
        }
    }

    addr->sockaddr = &sa->sockaddr;
    return BW_OK;
}

/* Every address of the name, each once, in resolver order. */
static bw_int_t
bw_url_add_addrs(bw_pool_t *pool, bw_url_t *u, struct addrinfo *res)
{
    u_char           *text;
    size_t            len;
    bw_uint_t         n, i, dup;
    bw_addr_t        *a;
    struct addrinfo  *ai;
    bw_sockaddr_t    *sa;

    n = 0;
    for (ai = res; ai; ai = ai->ai_next) {
        n++;
    }

    u->addrs = bw_pcalloc(pool, n * sizeof(bw_addr_t));
    if (u->addrs == NULL) {
        u->err = "out of memory";
        return BW_ERROR;
    }
    u->naddrs = 0;

    for (ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) {
            continue;
        }

        sa = bw_pcalloc(pool, sizeof(bw_sockaddr_t));
        text = bw_pnalloc(pool, BW_SOCKADDR_STRLEN);
        if (sa == NULL || text == NULL) {
            u->err = "out of memory";
            return BW_ERROR;
        }
        memcpy(sa, ai->ai_addr, ai->ai_addrlen);
        if (ai->ai_family == AF_INET) {
            sa->sockaddr_in.sin_port = htons(u->port);
        } else {
            sa->sockaddr_in6.sin6_port = htons(u->port);
        }

        dup = 0;
        for (i = 0; i < u->naddrs; i++) {
            if (bw_cmp_sockaddr(u->addrs[i].sockaddr, u->addrs[i].socklen,
                                &sa->sockaddr, ai->ai_addrlen, 1) == BW_OK)
            {
                dup = 1;
                break;
            }
        }
        if (dup) {
            continue;
        }

        len = bw_sock_ntop(&sa->sockaddr, ai->ai_addrlen, text,
                           BW_SOCKADDR_STRLEN, 1);
        a = &u->addrs[u->naddrs++];
        a->sockaddr = &sa->sockaddr;
        a->socklen = ai->ai_addrlen;
        a->name.data = text;
        a->name.len = len;
    }

    return BW_OK;
}

size_t
bw_sock_ntop(struct sockaddr *sa, socklen_t socklen, u_char *text,
    size_t len, bw_uint_t port)
{
    char        addr[INET6_ADDRSTRLEN];
    u_char     *p, *a;
    bw_uint_t   i;

    switch (sa->sa_family) {
    case AF_INET:
        if (len >= sizeof("255.255.255.255:65535")) {
            /* every request's $remote_addr, $server_addr, log line: no
             * printf for the common case */
            a = (u_char *) &((struct sockaddr_in *) sa)->sin_addr;
            p = text;
            for (i = 0; i < 4; i++) {
                if (i) {
                    *p++ = '.';
                }
                p = bw_sprint_uint(p, a[i]);
            }
            if (port) {
                *p++ = ':';
                p = bw_sprint_uint(p,
                                   ntohs(((struct sockaddr_in *) sa)->sin_port));
            }
            /* as the printf path: callers print it with %s too */
            *p = '\0';
            return p - text;
        }
        inet_ntop(AF_INET, &((struct sockaddr_in *) sa)->sin_addr, addr,
                  sizeof(addr));
        p = port ? bw_slprintf(text, text + len, "%s:%d", addr,
                      ntohs(((struct sockaddr_in *) sa)->sin_port))
                 : bw_slprintf(text, text + len, "%s", addr);
        return p - text;

    case AF_INET6:
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *) sa)->sin6_addr, addr,
                  sizeof(addr));
        p = port ? bw_slprintf(text, text + len, "[%s]:%d", addr,
                      ntohs(((struct sockaddr_in6 *) sa)->sin6_port))
                 : bw_slprintf(text, text + len, "%s", addr);
        return p - text;

    case AF_UNIX:
        if (socklen <= (socklen_t) offsetof(struct sockaddr_un, sun_path)) {
            p = bw_slprintf(text, text + len, "unix:");
        } else {
            p = bw_slprintf(text, text + len, "unix:%s",
                            ((struct sockaddr_un *) sa)->sun_path);
        }
        return p - text;
    }

    return 0;
}

in_port_t
bw_inet_get_port(struct sockaddr *sa)
{
    switch (sa->sa_family) {
    case AF_INET:
        return ntohs(((struct sockaddr_in *) sa)->sin_port);
    case AF_INET6:
        return ntohs(((struct sockaddr_in6 *) sa)->sin6_port);
    }
    return 0;
}

bw_uint_t
bw_inet_wildcard(struct sockaddr *sa)
{
    switch (sa->sa_family) {
    case AF_INET:
        return ((struct sockaddr_in *) sa)->sin_addr.s_addr == INADDR_ANY;
    case AF_INET6:
        return IN6_IS_ADDR_UNSPECIFIED(
                   &((struct sockaddr_in6 *) sa)->sin6_addr);
    }
    return 0;
}

bw_int_t
bw_cmp_sockaddr(struct sockaddr *a, socklen_t alen, struct sockaddr *b,
    socklen_t blen, bw_uint_t cmp_port)
{
    struct sockaddr_in   *a4, *b4;
    struct sockaddr_in6  *a6, *b6;

    if (a->sa_family != b->sa_family) {
        return BW_DECLINED;
    }

    switch (a->sa_family) {
    case AF_INET:
        a4 = (struct sockaddr_in *) a;
        b4 = (struct sockaddr_in *) b;
        if (cmp_port && a4->sin_port != b4->sin_port) {
            return BW_DECLINED;
        }
        return a4->sin_addr.s_addr == b4->sin_addr.s_addr ? BW_OK
                                                          : BW_DECLINED;
    case AF_INET6:
        a6 = (struct sockaddr_in6 *) a;
        b6 = (struct sockaddr_in6 *) b;
        if (cmp_port && a6->sin6_port != b6->sin6_port) {
            return BW_DECLINED;
        }
        return memcmp(&a6->sin6_addr, &b6->sin6_addr, 16) == 0
               ? BW_OK : BW_DECLINED;
    case AF_UNIX:
        return strcmp(((struct sockaddr_un *) a)->sun_path,
                      ((struct sockaddr_un *) b)->sun_path) == 0
               ? BW_OK : BW_DECLINED;
    }

    return BW_DECLINED;
}
