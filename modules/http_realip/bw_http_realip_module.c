/*
 * The real client address behind trusted proxies, as nginx: when the
 * peer is in set_real_ip_from, the address is taken from real_ip_header
 * (X-Real-IP by default, X-Forwarded-For read from the right, or the
 * PROXY protocol header of the connection). With
 * real_ip_recursive on, trusted addresses in X-Forwarded-For are skipped
 * too, so that the first untrusted one from the right wins. A malformed
 * entry ends the walk. The connection's own address comes back when the
 * request ends, ready for the next request on it.
 */

#include <bw_http.h>
#include <netdb.h>

#define BW_HTTP_REALIP_XREALIP  0
#define BW_HTTP_REALIP_XFWD     1
#define BW_HTTP_REALIP_HEADER   2
#define BW_HTTP_REALIP_PROXY    3

typedef struct {
    bw_array_t   *from;         /* bw_cidr_t */
    bw_uint_t     type;
    bw_str_t      header;       /* lowercase, for another header */
    bw_uint_t     hash;
    bw_flag_t     recursive;
} bw_http_realip_loc_conf_t;

typedef struct {
    bw_connection_t  *connection;
    struct sockaddr  *sockaddr;
    socklen_t         socklen;
    bw_str_t          addr_text;
} bw_http_realip_ctx_t;

static bw_int_t bw_http_realip_init(bw_conf_t *cf);
static bw_int_t bw_http_realip_add_variables(bw_conf_t *cf);
static void *bw_http_realip_create_loc_conf(bw_conf_t *cf);
static char *bw_http_realip_merge_loc_conf(bw_conf_t *cf, void *parent,
    void *child);
static char *bw_http_realip_from(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_realip_from_host(bw_conf_t *cf,
    bw_http_realip_loc_conf_t *rlcf, bw_str_t *name);
static char *bw_http_realip_header(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);

#define MSL  (BW_HTTP_MAIN_CONF|BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF)

static bw_command_t  bw_http_realip_commands[] = {

    { bw_string("set_real_ip_from"), MSL|BW_CONF_TAKE1,
      bw_http_realip_from, BW_HTTP_LOC_CONF_OFFSET, 0, NULL },
    { bw_string("real_ip_header"), MSL|BW_CONF_TAKE1,
      bw_http_realip_header, BW_HTTP_LOC_CONF_OFFSET, 0, NULL },
    { bw_string("real_ip_recursive"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, BW_HTTP_LOC_CONF_OFFSET,
      offsetof(bw_http_realip_loc_conf_t, recursive), NULL },

    bw_null_command
};

static bw_http_module_t  bw_http_realip_module_ctx = {
    bw_http_realip_add_variables, bw_http_realip_init,
    NULL, NULL, NULL, NULL,
    bw_http_realip_create_loc_conf, bw_http_realip_merge_loc_conf
};

bw_module_t  bw_http_realip_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_realip_module_ctx,
    bw_http_realip_commands, NULL, NULL, NULL, NULL
};

static void
bw_http_realip_cleanup(void *data)
{
    bw_http_realip_ctx_t  *ctx = data;

    ctx->connection->sockaddr = ctx->sockaddr;
    ctx->connection->socklen = ctx->socklen;
    ctx->connection->addr_text = ctx->addr_text;
}

/* The ctx survives an internal redirect (which clears module ctxs)
 * in the cleanup that restores the address. */
static bw_http_realip_ctx_t *
bw_http_realip_get_ctx(bw_http_request_t *r)
{
    bw_pool_cleanup_t     *cln;
    bw_http_realip_ctx_t  *ctx;

    ctx = bw_http_get_module_ctx(r, bw_http_realip_module);
    if (ctx || !r->internal) {
        return ctx;
    }

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == bw_http_realip_cleanup) {
            ctx = cln->data;
            bw_http_set_ctx(r, ctx, bw_http_realip_module);
            return ctx;
        }
    }

    return NULL;
}

static bw_int_t
bw_http_realip_handler(bw_http_request_t *r)
{
    u_char                     *text;
    size_t                      len;
    bw_uint_t                   i;
    bw_str_t                   *value;
    socklen_t                   socklen;
    bw_sockaddr_t               addr, *sa;
    bw_list_part_t             *part;
    bw_table_elt_t             *h;
    bw_connection_t            *c;
    bw_pool_cleanup_t          *cln;
    bw_http_realip_ctx_t       *ctx;
    bw_http_realip_loc_conf_t  *rlcf;

    rlcf = r->loc_conf[bw_http_realip_module.ctx_index];
    c = r->connection;

    if (rlcf->from == NULL
        || bw_http_realip_get_ctx(r) != NULL
        || !bw_cidr_match_list(rlcf->from, c->sockaddr))
    {
        return BW_DECLINED;
    }

    switch (rlcf->type) {

    case BW_HTTP_REALIP_PROXY:
        if (c->proxy_protocol == NULL || c->proxy_protocol->local) {
            return BW_DECLINED;
        }
        addr = c->proxy_protocol->src;
        socklen = c->proxy_protocol->src_len;
        break;

    case BW_HTTP_REALIP_XFWD:
        h = r->headers_in.x_forwarded_for;
        if (h == NULL
            || bw_http_forwarded_addr(h, rlcf->from, rlcf->recursive, &addr,
                                      &socklen) != BW_OK)
        {
            return BW_DECLINED;
        }
        break;

    default:
        value = NULL;
        part = &r->headers_in.headers.part;
        h = part->elts;
        for (i = 0; /* void */ ; i++) {
            if (i >= part->nelts) {
                if (part->next == NULL) {
                    break;
                }
                part = part->next;
                h = part->elts;
                i = 0;
            }
            if (h[i].hash == rlcf->hash && h[i].key.len == rlcf->header.len
                && memcmp(h[i].lowcase_key, rlcf->header.data,
                          rlcf->header.len) == 0)
            {
                value = &h[i].value;
                break;
            }
        }
        if (value == NULL
            || bw_parse_addr_port(value->data, value->len, &addr,
                                  &socklen) != BW_OK)
        {
            return BW_DECLINED;
        }
    }

    ctx = bw_palloc(r->pool, sizeof(bw_http_realip_ctx_t));
    sa = bw_palloc(r->pool, sizeof(bw_sockaddr_t));
    text = bw_pnalloc(r->pool, BW_SOCKADDR_STRLEN);
    cln = bw_pool_cleanup_add(r->pool, 0);
    if (ctx == NULL || sa == NULL || text == NULL || cln == NULL) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    *sa = addr;
    len = bw_sock_ntop(&sa->sockaddr, socklen, text, BW_SOCKADDR_STRLEN, 0);

    ctx->connection = c;
    ctx->sockaddr = c->sockaddr;
    ctx->socklen = c->socklen;
    ctx->addr_text = c->addr_text;
    cln->handler = bw_http_realip_cleanup;
    cln->data = ctx;
    bw_http_set_ctx(r, ctx, bw_http_realip_module);

    c->sockaddr = &sa->sockaddr;
    c->socklen = socklen;
    c->addr_text.data = text;
    c->addr_text.len = len;

    return BW_DECLINED;
}

static char *
bw_http_realip_from(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_realip_loc_conf_t *rlcf = conf;

    bw_int_t    rc;
    bw_str_t   *value;
    bw_cidr_t  *cidr;

    value = cf->args->elts;

    if (rlcf->from == NULL) {
        rlcf->from = bw_array_create(cf->pool, 2, sizeof(bw_cidr_t));
        if (rlcf->from == NULL) {
            return BW_CONF_ERROR;
        }
    }

    cidr = bw_array_push(rlcf->from);
    if (cidr == NULL) {
        return BW_CONF_ERROR;
    }

    rc = bw_parse_cidr(&value[1], cidr);

    if (rc == BW_ERROR) {
        /* a host name: each of its addresses, as nginx (resolved once,
         * when the configuration is read) */
        rlcf->from->nelts--;
        return bw_http_realip_from_host(cf, rlcf, &value[1]);
    }

    if (cidr->family == 0) {
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

static char *
bw_http_realip_from_host(bw_conf_t *cf, bw_http_realip_loc_conf_t *rlcf,
    bw_str_t *name)
{
    int               rc;
    char              host[256];
    bw_cidr_t        *cidr;
    struct addrinfo   hints, *res, *ai;

    if (name->len == 0 || name->len >= sizeof(host)) {
        goto not_found;
    }

    memcpy(host, name->data, name->len);
    host[name->len] = '\0';

    bw_memzero(&hints, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;

    rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0) {
        goto not_found;
    }

    for (ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) {
            continue;
        }

        cidr = bw_array_push(rlcf->from);
        if (cidr == NULL) {
            freeaddrinfo(res);
            return BW_CONF_ERROR;
        }
        bw_memzero(cidr, sizeof(bw_cidr_t));
        cidr->family = ai->ai_family;

        if (ai->ai_family == AF_INET) {
            memcpy(cidr->addr,
                   &((struct sockaddr_in *) ai->ai_addr)->sin_addr, 4);
            memset(cidr->mask, 0xff, 4);
            cidr->bits = 32;
        } else {
            memcpy(cidr->addr,
                   &((struct sockaddr_in6 *) ai->ai_addr)->sin6_addr, 16);
            memset(cidr->mask, 0xff, 16);
            cidr->bits = 128;
        }
    }

    freeaddrinfo(res);
    return BW_CONF_OK;

not_found:

    bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                      "host not found in set_real_ip_from \"%.*s\"",
                      (int) name->len, name->data);
    return BW_CONF_ERROR;
}

static char *
bw_http_realip_header(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_realip_loc_conf_t *rlcf = conf;

    bw_str_t  *value;

    value = cf->args->elts;

    if (rlcf->type != BW_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    if (bw_str_caseeq_lit(&value[1], "X-Real-IP")) {
        rlcf->type = BW_HTTP_REALIP_XREALIP;
    } else if (bw_str_caseeq_lit(&value[1], "X-Forwarded-For")) {
        rlcf->type = BW_HTTP_REALIP_XFWD;
    } else if (bw_str_eq_lit(&value[1], "proxy_protocol")) {
        rlcf->type = BW_HTTP_REALIP_PROXY;
    } else {
        rlcf->type = BW_HTTP_REALIP_HEADER;
    }

    rlcf->header.len = value[1].len;
    rlcf->header.data = bw_pnalloc(cf->pool, value[1].len);
    if (rlcf->header.data == NULL) {
        return BW_CONF_ERROR;
    }
    bw_strlow(rlcf->header.data, value[1].data, value[1].len);
    rlcf->hash = bw_hash_key(rlcf->header.data, rlcf->header.len);

    return BW_CONF_OK;
}

static void *
bw_http_realip_create_loc_conf(bw_conf_t *cf)
{
    bw_http_realip_loc_conf_t  *conf;

    conf = bw_pcalloc(cf->pool, sizeof(bw_http_realip_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->type = BW_CONF_UNSET_UINT;
    conf->recursive = BW_CONF_UNSET;

    return conf;
}

static char *
bw_http_realip_merge_loc_conf(bw_conf_t *cf, void *parent, void *child)
{
    bw_http_realip_loc_conf_t  *prev = parent;
    bw_http_realip_loc_conf_t  *conf = child;

    if (conf->from == NULL) {
        conf->from = prev->from;
    }

    if (conf->type == BW_CONF_UNSET_UINT) {
        if (prev->type == BW_CONF_UNSET_UINT) {
            conf->type = BW_HTTP_REALIP_XREALIP;
            bw_str_set(&conf->header, "x-real-ip");
            conf->hash = bw_hash_key(conf->header.data, conf->header.len);
        } else {
            conf->type = prev->type;
            conf->header = prev->header;
            conf->hash = prev->hash;
        }
    }

    bw_conf_merge_value(conf->recursive, prev->recursive, 0);

    return BW_CONF_OK;
}

/* $realip_remote_addr, $realip_remote_port: the peer itself */
static bw_int_t
bw_http_realip_remote_variable(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    u_char                *p;
    in_port_t              port;
    bw_http_realip_ctx_t  *ctx;
    struct sockaddr       *sa;

    ctx = bw_http_realip_get_ctx(r);

    if (data == 0) {
        if (ctx) {
            bw_var_set(v, ctx->addr_text.data, ctx->addr_text.len);
        } else {
            bw_var_set(v, r->connection->addr_text.data,
                       r->connection->addr_text.len);
        }
        return BW_OK;
    }

    sa = ctx ? ctx->sockaddr : r->connection->sockaddr;
    port = bw_inet_get_port(sa);

    p = bw_pnalloc(r->pool, sizeof("65535") - 1);
    if (p == NULL) {
        return BW_ERROR;
    }
    bw_var_set(v, p, port ? bw_sprint_uint(p, port) - p : 0);
    return BW_OK;
}

static bw_http_variable_t  bw_http_realip_vars[] = {
    { bw_string("realip_remote_addr"), NULL,
      bw_http_realip_remote_variable, 0, 0, 0 },
    { bw_string("realip_remote_port"), NULL,
      bw_http_realip_remote_variable, 1, 0, 0 },
    bw_http_null_variable
};

static bw_int_t
bw_http_realip_add_variables(bw_conf_t *cf)
{
    return bw_http_add_variables(cf, bw_http_realip_vars);
}

static bw_int_t
bw_http_realip_init(bw_conf_t *cf)
{
    if (bw_http_add_phase_handler(cf, BW_HTTP_POST_READ_PHASE,
                                  bw_http_realip_handler)
        != BW_OK)
    {
        return BW_ERROR;
    }

    return bw_http_add_phase_handler(cf, BW_HTTP_PREACCESS_PHASE,
                                     bw_http_realip_handler);
}
