/*
 * The workers' stub resolver. A name being asked is a node: one UDP
 * socket connected to one of the servers, an A and (with ipv6=on) an
 * AAAA question, the requests waiting for it, a timer. No answer within
 * a second: the questions go again to the next server, until the first
 * waiter's resolver_timeout. A CNAME without its addresses is followed
 * (at most 5 links). Answers stay cached for their TTL, or "valid=";
 * failures for "valid=" or 5 seconds, timeouts not at all. At most 256
 * names are kept; the oldest finished one makes room.
 *
 * Nodes are the worker's own memory (malloc): they live as long as the
 * configuration's resolver, whose pool cleanup frees them.
 */

#include <bw_core.h>

#define BW_RESOLVER_MAX_NODES  256
#define BW_RESOLVER_RETRY      1000     /* ms before the next server */
#define BW_RESOLVER_NEG_VALID  5        /* s a failure stays known */
#define BW_RESOLVER_MAX_CNAME  5

/* the two questions asked for a name, in this order */
static bw_uint_t  bw_resolver_types[2] = { BW_DNS_A, BW_DNS_AAAA };

struct bw_resolver_node_s {
    bw_queue_t            queue;
    bw_resolver_t        *resolver;
    u_char               *name;         /* lowercase */
    size_t                name_len;

    /* the answer, once known */
    time_t                expire;
    bw_int_t              state;
    bw_uint_t             naddrs;
    bw_sockaddr_t         addrs[2 * BW_DNS_MAX_ADDRS];

    /* while asking */
    bw_resolver_ctx_t    *waiting;
    bw_connection_t      *udp;
    bw_msec_t             deadline;
    uint16_t              id[2];        /* per question: A, AAAA */
    bw_uint_t             want[2];      /* still unanswered */
    bw_uint_t             cnames;
    uint32_t              ttl;
    bw_int_t              rcode;
    size_t                qname_len;
    u_char                qname[BW_DNS_NAME_LEN + 1];
    unsigned              asking:1;
};

static void bw_resolver_cleanup(void *data);
static bw_int_t bw_resolver_ask(bw_resolver_node_t *node);
static void bw_resolver_handler(bw_event_t *ev);
static void bw_resolver_done(bw_resolver_node_t *node, bw_int_t state);
static void bw_resolver_answer(bw_resolver_ctx_t *ctx, bw_int_t state,
    bw_uint_t naddrs, bw_sockaddr_t *addrs);
static void bw_resolver_free_node(bw_resolver_node_t *node);

bw_resolver_t *
bw_resolver_create(bw_conf_t *cf, bw_str_t *args, bw_uint_t n)
{
    bw_int_t            valid;
    bw_uint_t           i, j;
    bw_url_t            u;
    bw_str_t            s;
    bw_addr_t          *addr;
    bw_array_t          servers;
    bw_resolver_t      *r;
    bw_pool_cleanup_t  *cln;

    r = bw_pcalloc(cf->pool, sizeof(bw_resolver_t));
    if (r == NULL
        || bw_array_init(&servers, cf->pool, 2, sizeof(bw_addr_t)) != BW_OK)
    {
        return NULL;
    }

    r->ipv4 = 1;
    r->ipv6 = 1;

    for (i = 0; i < n; i++) {
        if (args[i].len > 6 && memcmp(args[i].data, "valid=", 6) == 0) {
            s.data = args[i].data + 6;
            s.len = args[i].len - 6;
            valid = bw_parse_time(&s, 1);
            if (valid == BW_ERROR || valid == 0) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                  "invalid parameter: %s", args[i].data);
                return NULL;
            }
            r->valid = (time_t) valid;
            continue;
        }

        if (bw_str_eq_lit(&args[i], "ipv4=on")
            || bw_str_eq_lit(&args[i], "ipv4=off"))
        {
            r->ipv4 = (args[i].data[6] == 'n');
            continue;
        }

        if (bw_str_eq_lit(&args[i], "ipv6=on")
            || bw_str_eq_lit(&args[i], "ipv6=off"))
        {
            r->ipv6 = (args[i].data[6] == 'n');
            continue;
        }

        bw_memzero(&u, sizeof(bw_url_t));
        u.url = args[i];
        u.default_port = 53;

        if (bw_parse_url(cf->pool, &u) != BW_OK) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0, "%s in resolver \"%s\"",
                              u.err ? u.err : "invalid address",
                              args[i].data);
            return NULL;
        }

        for (j = 0; j < u.naddrs; j++) {
            addr = bw_array_push(&servers);
            if (addr == NULL) {
                return NULL;
            }
            *addr = u.addrs[j];
        }
    }

    if (!r->ipv4 && !r->ipv6) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "\"ipv4\" and \"ipv6\" cannot both be \"off\"");
        return NULL;
    }

    if (servers.nelts == 0) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "no name servers defined");
        return NULL;
    }

    r->servers = servers.elts;
    r->nservers = servers.nelts;
    r->log = &cf->cycle->new_log;
    bw_queue_init(&r->nodes);

    cln = bw_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NULL;
    }
    cln->handler = bw_resolver_cleanup;
    cln->data = r;

    return r;
}

static void
bw_resolver_cleanup(void *data)
{
    bw_resolver_t  *r = data;

    bw_queue_t  *q;

    while (!bw_queue_empty(&r->nodes)) {
        q = bw_queue_head(&r->nodes);
        bw_resolver_free_node(bw_queue_data(q, bw_resolver_node_t, queue));
    }
}

static void
bw_resolver_free_node(bw_resolver_node_t *node)
{
    if (node->udp) {
        bw_close_connection(node->udp);
    }
    bw_queue_remove(&node->queue);
    node->resolver->nnodes--;
    free(node->name);
    free(node);
}

bw_int_t
bw_resolve_name(bw_resolver_ctx_t *ctx)
{
    bw_queue_t          *q;
    bw_resolver_t       *r;
    bw_resolver_node_t  *node, *old;
    u_char               name[BW_DNS_NAME_LEN + 1];
    size_t               len;

    r = ctx->resolver;
    ctx->state = 0;
    ctx->naddrs = 0;
    ctx->node = NULL;
    ctx->next = NULL;

    len = ctx->name.len;
    if (len && ctx->name.data[len - 1] == '.') {
        len--;
    }
    if (len == 0 || len > BW_DNS_NAME_LEN - 2) {
        ctx->state = BW_DNS_FORMERR;
        return BW_OK;
    }
    bw_strlow(name, ctx->name.data, len);

    node = NULL;
    for (q = bw_queue_head(&r->nodes); q != bw_queue_sentinel(&r->nodes);
         q = bw_queue_next(q))
    {
        old = bw_queue_data(q, bw_resolver_node_t, queue);
        if (old->name_len == len && memcmp(old->name, name, len) == 0) {
            node = old;
            break;
        }
    }

    if (node && node->asking) {
        ctx->node = node;
        ctx->next = node->waiting;
        node->waiting = ctx;
        return BW_AGAIN;
    }

    if (node && node->expire > bw_time_sec) {
        bw_resolver_answer(ctx, node->state, node->naddrs, node->addrs);
        return BW_OK;
    }

    if (node == NULL) {
        if (r->nnodes >= BW_RESOLVER_MAX_NODES) {
            /* the oldest name nobody waits for makes room */
            for (q = bw_queue_last(&r->nodes);
                 q != bw_queue_sentinel(&r->nodes); q = bw_queue_prev(q))
            {
                old = bw_queue_data(q, bw_resolver_node_t, queue);
                if (!old->asking) {
                    bw_resolver_free_node(old);
                    break;
                }
            }
        }

        node = calloc(1, sizeof(bw_resolver_node_t));
        if (node == NULL) {
            return BW_ERROR;
        }
        node->name = malloc(len);
        if (node->name == NULL) {
            free(node);
            return BW_ERROR;
        }
        memcpy(node->name, name, len);
        node->name_len = len;
        node->resolver = r;
        bw_queue_insert_head(&r->nodes, &node->queue);
        r->nnodes++;

    } else {
        /* known but stale: asked again, and now the newest */
        bw_queue_remove(&node->queue);
        bw_queue_insert_head(&r->nodes, &node->queue);
    }

    node->asking = 1;
    node->waiting = ctx;
    node->cnames = 0;
    node->deadline = bw_current_msec + ctx->timeout;
    memcpy(node->qname, name, len);
    node->qname_len = len;
    ctx->node = node;

    if (bw_resolver_ask(node) != BW_OK) {
        /* nobody else waits on a node just made */
        node->waiting = NULL;
        ctx->node = NULL;
        bw_resolver_done(node, BW_RESOLVE_ERROR);
        ctx->state = BW_RESOLVE_ERROR;
        return BW_OK;
    }

    return BW_AGAIN;
}

void
bw_resolve_name_done(bw_resolver_ctx_t *ctx)
{
    bw_resolver_ctx_t  **p;

    if (ctx->node == NULL) {
        return;
    }

    /* the question goes on: its answer will serve the next request */
    for (p = &ctx->node->waiting; *p; p = &(*p)->next) {
        if (*p == ctx) {
            *p = ctx->next;
            break;
        }
    }

    ctx->node = NULL;
}

/* Send the questions for node->qname to the next server. */
static bw_int_t
bw_resolver_ask(bw_resolver_node_t *node)
{
    int               s;
    size_t            len;
    bw_uint_t         i;
    bw_str_t          qname;
    bw_addr_t        *server;
    bw_resolver_t    *r;
    bw_connection_t  *c;
    u_char            query[BW_DNS_QUERY_LEN];

    r = node->resolver;

    if (node->udp) {
        bw_close_connection(node->udp);
        node->udp = NULL;
    }

    server = &r->servers[r->next_server++ % r->nservers];

    s = socket(server->sockaddr->sa_family,
               SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s == -1) {
        bw_log_error(BW_LOG_ALERT, r->log, errno, "socket() failed");
        return BW_ERROR;
    }

    c = bw_get_connection(s, r->log);
    if (c == NULL) {
        (void) close(s);
        return BW_ERROR;
    }

    c->data = node;
    c->log = r->log;
    c->read->log = r->log;
    c->write->log = r->log;
    c->read->handler = bw_resolver_handler;
    c->write->handler = bw_resolver_handler;
    node->udp = c;

    if (connect(s, server->sockaddr, server->socklen) == -1) {
        bw_log_error(BW_LOG_ERR, r->log, errno, "connect() to %s failed",
                     server->name.data);
        goto next;
    }

    if (bw_epoll_add_connection(c) != BW_OK) {
        return BW_ERROR;
    }

    qname.data = node->qname;
    qname.len = node->qname_len;
    node->want[0] = r->ipv4;
    node->want[1] = r->ipv6;
    node->naddrs = 0;
    node->ttl = UINT32_MAX;
    node->rcode = 0;

    /* fresh ids for every try: a late answer to the last one is not
     * taken for this one's */
    for (i = 0; i < 2; i++) {
        node->id[i] = (uint16_t) bw_random();
        if (!node->want[i]) {
            continue;
        }
        len = bw_dns_query(query, node->id[i], &qname, bw_resolver_types[i]);
        if (len == 0 || send(s, query, len, 0) == -1) {
            bw_log_error(BW_LOG_ERR, r->log, len ? errno : 0,
                         "send() to resolver %s failed", server->name.data);
            goto next;
        }
    }

next:

    /* an answer, or the next server after a while */
    bw_event_add_timer(c->read, bw_min(BW_RESOLVER_RETRY,
                                       node->deadline > bw_current_msec
                                       ? node->deadline - bw_current_msec
                                       : 1));
    return BW_OK;
}

static void
bw_resolver_handler(bw_event_t *ev)
{
    ssize_t              n;
    bw_int_t             rc;
    bw_str_t             qname;
    bw_uint_t            i, q;
    bw_connection_t     *c;
    bw_dns_answer_t      ans;
    bw_resolver_node_t  *node;
    u_char               buf[BW_DNS_UDP_SIZE];

    c = ev->data;
    node = c->data;

    if (ev->write) {
        return;
    }

    if (ev->timedout) {
        ev->timedout = 0;
        if (bw_current_msec >= node->deadline) {
            bw_log_error(BW_LOG_ERR, node->resolver->log, 0,
                         "resolver timed out asking for \"%.*s\"",
                         (int) node->name_len, node->name);
            bw_resolver_done(node, BW_RESOLVE_TIMEDOUT);
            return;
        }
        if (bw_resolver_ask(node) != BW_OK) {
            bw_resolver_done(node, BW_RESOLVE_ERROR);
        }
        return;
    }

    qname.data = node->qname;
    qname.len = node->qname_len;

    for ( ;; ) {
        n = recv(c->fd, buf, sizeof(buf), 0);

        if (n == -1) {
            if (errno == EAGAIN || errno == EINTR) {
                return;
            }
            /* ICMP "port unreachable": this server is not there */
            bw_log_error(BW_LOG_ERR, node->resolver->log, errno,
                         "recv() from resolver failed");
            return;         /* the timer moves on to the next server */
        }

        rc = BW_DECLINED;

        for (q = 0; q < 2 && rc == BW_DECLINED; q++) {
            if (node->want[q]) {
                rc = bw_dns_parse(buf, n, node->id[q], &qname,
                                  bw_resolver_types[q], &ans);
            }
        }
        q--;                /* the question it answers */

        if (rc == BW_DECLINED) {
            continue;       /* a late answer to an earlier try */
        }

        if (rc == BW_ERROR) {
            bw_log_error(BW_LOG_ERR, node->resolver->log, 0,
                         "invalid DNS response for \"%.*s\"",
                         (int) node->qname_len, node->qname);
            continue;
        }

        node->want[q] = 0;

        if (ans.truncated && ans.naddrs == 0) {
            bw_log_error(BW_LOG_ERR, node->resolver->log, 0,
                         "truncated DNS response for \"%.*s\"",
                         (int) node->qname_len, node->qname);
        }

        if (ans.rcode && node->rcode == 0) {
            node->rcode = ans.rcode;
        }

        for (i = 0; i < ans.naddrs; i++) {
            node->addrs[node->naddrs++] = ans.addrs[i];
        }
        if (ans.naddrs || ans.cname_len) {
            node->ttl = bw_min(node->ttl, ans.ttl);
        }

        if (node->naddrs == 0 && ans.cname_len && !node->want[0]
            && !node->want[1])
        {
            /* an alias the server did not follow: ask for its target */
            if (++node->cnames > BW_RESOLVER_MAX_CNAME) {
                bw_resolver_done(node, BW_DNS_SERVFAIL);
                return;
            }
            memcpy(node->qname, ans.cname, ans.cname_len);
            node->qname_len = ans.cname_len;
            if (bw_resolver_ask(node) != BW_OK) {
                bw_resolver_done(node, BW_RESOLVE_ERROR);
            }
            return;
        }

        if (!node->want[0] && !node->want[1]) {
            if (node->naddrs) {
                bw_resolver_done(node, 0);
            } else {
                bw_resolver_done(node, node->rcode ? node->rcode
                                                   : BW_DNS_NXDOMAIN);
            }
            return;
        }
    }
}

/* The answer is in: remember it, tell every waiter. */
static void
bw_resolver_done(bw_resolver_node_t *node, bw_int_t state)
{
    time_t              valid;
    bw_uint_t           naddrs;
    bw_resolver_t      *r;
    bw_resolver_ctx_t  *ctx, *next;
    bw_sockaddr_t       addrs[2 * BW_DNS_MAX_ADDRS];

    r = node->resolver;

    if (node->udp) {
        bw_close_connection(node->udp);
        node->udp = NULL;
    }

    node->asking = 0;
    node->state = state;

    if (state == 0) {
        valid = r->valid ? r->valid : (time_t) node->ttl;
    } else if (state == BW_RESOLVE_TIMEDOUT || state == BW_RESOLVE_ERROR) {
        valid = 0;
    } else {
        valid = r->valid ? r->valid : BW_RESOLVER_NEG_VALID;
    }
    node->expire = bw_time_sec + valid;

    /* handlers may ask again, for this name (the node is asked anew)
     * or others (the node may even make room for them): the waiters
     * and the answer are taken first, the node is not touched again */
    ctx = node->waiting;
    node->waiting = NULL;
    naddrs = node->naddrs;
    memcpy(addrs, node->addrs, naddrs * sizeof(bw_sockaddr_t));

    for ( /* void */ ; ctx; ctx = next) {
        next = ctx->next;
        ctx->node = NULL;
        bw_resolver_answer(ctx, state, naddrs, addrs);
        ctx->handler(ctx);
    }
}

static void
bw_resolver_answer(bw_resolver_ctx_t *ctx, bw_int_t state, bw_uint_t naddrs,
    bw_sockaddr_t *addrs)
{
    ctx->state = state;
    ctx->naddrs = 0;

    if (state == 0) {
        ctx->addrs = bw_palloc(ctx->pool, naddrs * sizeof(bw_sockaddr_t));
        if (ctx->addrs == NULL) {
            ctx->state = BW_RESOLVE_ERROR;
        } else {
            memcpy(ctx->addrs, addrs, naddrs * sizeof(bw_sockaddr_t));
            ctx->naddrs = naddrs;
        }
    }
}

const char *
bw_resolver_strerror(bw_int_t state)
{
    if (state == BW_RESOLVE_TIMEDOUT) {
        return "Operation timed out";
    }
    if (state == BW_RESOLVE_ERROR) {
        return "Resolver error";
    }
    return bw_dns_strerror(state);
}
