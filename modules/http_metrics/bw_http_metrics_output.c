/*
 * metrics: the counters as Prometheus text (exposition format 0.0.4:
 * each family's samples together under its HELP and TYPE, histograms
 * as cumulative _bucket, _sum and _count), or as JSON with
 * ?format=json. Read with relaxed atomic loads; the zone's lock is held
 * only while its tree is walked.
 */

#include "bw_http_metrics.h"

typedef struct {
    bw_http_request_t  *r;
    bw_chain_t         *first;
    bw_chain_t        **last;
    bw_buf_t           *b;
    off_t               size;
    bw_uint_t           error;
} bw_metrics_out_t;

#define BW_METRICS_OUT_BUF  16384

static const char  *bw_metrics_classes[5] = {
    "1xx", "2xx", "3xx", "4xx", "5xx"
};

static void
bw_metrics_printf(bw_metrics_out_t *o, const char *fmt, ...)
{
    va_list      args;
    bw_chain_t  *cl;

    if (o->error) {
        return;
    }

    /* every line is far shorter than 2k: names are at most 600 bytes,
     * escaped twice that */
    if (o->b == NULL || o->b->end - o->b->last < 2048) {
        cl = bw_alloc_chain_link(o->r->pool);
        o->b = bw_create_temp_buf(o->r->pool, BW_METRICS_OUT_BUF);
        if (cl == NULL || o->b == NULL) {
            o->error = 1;
            return;
        }
        cl->buf = o->b;
        cl->next = NULL;
        *o->last = cl;
        o->last = &cl->next;
    }

    va_start(args, fmt);
    o->b->last = bw_vslprintf(o->b->last, o->b->end, fmt, args);
    va_end(args);
}

/* A label value (Prometheus) or a string (JSON), escaped: \ " and
 * control characters. */
static bw_str_t *
bw_metrics_escape(bw_metrics_out_t *o, bw_str_t *s, bw_uint_t json)
{
    u_char           *p;
    size_t            i;
    bw_str_t         *e;
    static bw_str_t   empty = bw_string("");

    e = bw_palloc(o->r->pool, sizeof(bw_str_t));
    p = bw_pnalloc(o->r->pool, s->len * 6 + 1);
    if (e == NULL || p == NULL) {
        o->error = 1;
        return &empty;
    }

    e->data = p;
    for (i = 0; i < s->len; i++) {
        u_char  c = s->data[i];

        if (c == '\\' || c == '"') {
            *p++ = '\\';
            *p++ = c;
        } else if (c == '\n') {
            *p++ = '\\';
            *p++ = 'n';
        } else if (c < 0x20 || c == 0x7f) {
            p = json ? bw_slprintf(p, p + 7, "\\u%04x", (unsigned) c)
                     : bw_slprintf(p, p + 5, "\\x%02x", (unsigned) c);
        } else {
            *p++ = c;
        }
    }
    e->len = p - e->data;
    return e;
}

#define V(s)  (int) (s)->len, (s)->data

static uint64_t
bw_metrics_count(bw_http_metrics_node_t *n)
{
    return bw_metrics_get(n->requests);
}

/* Is the peer up now, as the balancer sees it (this worker's view when
 * the upstream has no zone)? */
static bw_uint_t
bw_metrics_peer_up(bw_upstream_rr_peer_t *peer)
{
    if (peer->down || peer->unhealthy || peer->removed) {
        return 0;
    }
    if (peer->max_fails && peer->fails >= peer->max_fails
        && bw_time_sec - peer->checked <= peer->fail_timeout)
    {
        return 0;
    }
    return 1;
}

static void
bw_metrics_histogram(bw_metrics_out_t *o, const char *name,
    const char *labels, uint64_t *buckets, uint64_t *sum, uint64_t count)
{
    bw_uint_t  i;
    uint64_t   cum;

    cum = 0;
    for (i = 0; i < BW_METRICS_BUCKETS; i++) {
        cum += bw_metrics_get(buckets[i]);
        bw_metrics_printf(o, "%s_bucket{%s,le=\"%.3f\"} %llu\n", name,
                          labels, bw_http_metrics_bounds[i] / 1000.0,
                          (unsigned long long) cum);
    }
    bw_metrics_printf(o, "%s_bucket{%s,le=\"+Inf\"} %llu\n", name, labels,
                      (unsigned long long) count);
    bw_metrics_printf(o, "%s_sum{%s} %.3f\n", name, labels,
                      bw_metrics_get(*sum) / 1000.0);
    bw_metrics_printf(o, "%s_count{%s} %llu\n", name, labels,
                      (unsigned long long) count);
}

/* The nodes of one kind, in the tree's order, with fn for each. */
typedef void (*bw_metrics_each_pt)(bw_metrics_out_t *o,
    bw_http_metrics_node_t *n, void *data);

static void
bw_metrics_each(bw_metrics_out_t *o, bw_http_metrics_main_conf_t *mcf,
    bw_uint_t kind, bw_metrics_each_pt fn, void *data)
{
    bw_rbtree_node_t        *node, *root, *sentinel;
    bw_http_metrics_node_t  *n;

    if (mcf->sh == NULL) {
        return;
    }

    bw_shmtx_lock(mcf->shpool);

    root = mcf->sh->rbtree.root;
    sentinel = mcf->sh->rbtree.sentinel;

    if (root != sentinel) {
        for (node = bw_rbtree_min(root, sentinel); node;
             node = bw_rbtree_next(&mcf->sh->rbtree, node))
        {
            n = (bw_http_metrics_node_t *) node;
            if (n->kind == kind) {
                fn(o, n, data);
            }
        }
    }

    bw_shmtx_unlock(mcf->shpool);
}

/* --- Prometheus ----------------------------------------------------------- */

/* $upstream_cache_status, in BW_HTTP_CACHE_* order */
static const char  *bw_metrics_cache_names[BW_METRICS_CACHE] = {
    "MISS", "BYPASS", "EXPIRED", "STALE", "UPDATING", "REVALIDATED", "HIT"
};

/* $limit_req_status and $limit_conn_status, in their modules' order */
static const char  *bw_metrics_limit_req_names[BW_METRICS_LIMIT_REQ] = {
    "PASSED", "DELAYED", "REJECTED", "DELAYED_DRY_RUN", "REJECTED_DRY_RUN"
};

static const char  *bw_metrics_limit_conn_names[BW_METRICS_LIMIT_CONN] = {
    "PASSED", "REJECTED", "REJECTED_DRY_RUN"
};

/* counters by the value of one label, of a zone (zone not NULL) or of
 * the server: NAME{[server_zone="Z",]LABEL="VALUE"} N; v NULL: zeros */
static void
bw_metrics_prom_by(bw_metrics_out_t *o, const char *name, bw_str_t *zone,
    const char *label, const char **names, uint64_t *v, bw_uint_t n)
{
    bw_uint_t  i;

    for (i = 0; i < n; i++) {
        if (zone) {
            bw_metrics_printf(o, "%s{server_zone=\"%.*s\",", name, V(zone));
        } else {
            bw_metrics_printf(o, "%s{", name);
        }
        bw_metrics_printf(o, "%s=\"%s\"} %llu\n", label, names[i],
                          (unsigned long long)
                              (v ? bw_metrics_get(v[i]) : 0));
    }
}

/* the same as a JSON object: {"VALUE":N,...} */
static void
bw_metrics_json_by(bw_metrics_out_t *o, const char **names, uint64_t *v,
    bw_uint_t n)
{
    bw_uint_t  i;

    bw_metrics_printf(o, "{");
    for (i = 0; i < n; i++) {
        bw_metrics_printf(o, "%s\"%s\":%llu", i ? "," : "", names[i],
                          (unsigned long long)
                              (v ? bw_metrics_get(v[i]) : 0));
    }
    bw_metrics_printf(o, "}");
}

static void
bw_metrics_prom_zone(bw_metrics_out_t *o, bw_http_metrics_node_t *n,
    void *data)
{
    bw_uint_t   i, what;
    bw_str_t   *z;
    u_char      labels[1400];

    what = (bw_uint_t) (uintptr_t) data;
    z = bw_metrics_escape(o, &n->zone, 0);

    switch (what) {
    case 0:
        for (i = 0; i < 5; i++) {
            bw_metrics_printf(o, "bulwark_http_requests_total{server_zone="
                              "\"%.*s\",code=\"%s\"} %llu\n", V(z),
                              bw_metrics_classes[i],
                              (unsigned long long)
                                  bw_metrics_get(n->codes[i]));
        }
        break;
    case 1:
        *bw_slprintf(labels, labels + sizeof(labels) - 1,
                     "server_zone=\"%.*s\"", V(z)) = '\0';
        bw_metrics_histogram(o, "bulwark_http_request_duration_seconds",
                             (char *) labels, n->buckets, &n->time_ms,
                             bw_metrics_count(n));
        break;
    case 4:
        for (i = 0; i < BW_METRICS_CODES; i++) {
            bw_metrics_printf(o, "bulwark_http_responses_by_code_total"
                              "{server_zone=\"%.*s\",code=\"%u\"} %llu\n",
                              V(z), (unsigned) bw_http_metrics_codes[i],
                              (unsigned long long)
                                  bw_metrics_get(n->exact[i]));
        }
        break;
    case 5:
        bw_metrics_printf(o, "bulwark_http_requests_processing"
                          "{server_zone=\"%.*s\"} %llu\n", V(z),
                          (unsigned long long)
                              bw_metrics_get(n->processing));
        break;
    case 6:
        bw_metrics_prom_by(o, "bulwark_http_cache_responses_total", z,
                           "cache_status", bw_metrics_cache_names, n->cache,
                           BW_METRICS_CACHE);
        break;
    case 7:
        bw_metrics_prom_by(o, "bulwark_http_limit_req_total", z, "status",
                           bw_metrics_limit_req_names, n->limit_req,
                           BW_METRICS_LIMIT_REQ);
        break;
    case 8:
        bw_metrics_prom_by(o, "bulwark_http_limit_conn_total", z, "status",
                           bw_metrics_limit_conn_names, n->limit_conn,
                           BW_METRICS_LIMIT_CONN);
        break;
    case 2:
        bw_metrics_printf(o, "bulwark_http_received_bytes_total"
                          "{server_zone=\"%.*s\"} %llu\n", V(z),
                          (unsigned long long) bw_metrics_get(n->received));
        break;
    default:
        bw_metrics_printf(o, "bulwark_http_sent_bytes_total"
                          "{server_zone=\"%.*s\"} %llu\n", V(z),
                          (unsigned long long) bw_metrics_get(n->sent));
        break;
    }
}

static void
bw_metrics_prom_peer(bw_metrics_out_t *o, bw_http_metrics_node_t *n,
    void *data)
{
    bw_uint_t   i, what;
    bw_str_t   *u, *p;
    u_char      labels[2600];

    what = (bw_uint_t) (uintptr_t) data;
    u = bw_metrics_escape(o, &n->upstream, 0);
    p = bw_metrics_escape(o, &n->peer, 0);

    switch (what) {
    case 0:
        for (i = 0; i < 5; i++) {
            bw_metrics_printf(o, "bulwark_upstream_requests_total{upstream="
                              "\"%.*s\",peer=\"%.*s\",code=\"%s\"} %llu\n",
                              V(u), V(p), bw_metrics_classes[i],
                              (unsigned long long)
                                  bw_metrics_get(n->codes[i]));
        }
        break;
    case 1:
        bw_metrics_printf(o, "bulwark_upstream_failures_total{upstream="
                          "\"%.*s\",peer=\"%.*s\"} %llu\n", V(u), V(p),
                          (unsigned long long) bw_metrics_get(n->failed));
        break;
    default:
        *bw_slprintf(labels, labels + sizeof(labels) - 1,
                     "upstream=\"%.*s\",peer=\"%.*s\"", V(u), V(p)) = '\0';
        /* only attempts that got an answer have these times */
        if (what == 2) {
            bw_metrics_histogram(o,
                             "bulwark_upstream_response_duration_seconds",
                             (char *) labels, n->buckets, &n->time_ms,
                             bw_metrics_count(n) - bw_metrics_get(n->failed));
        } else {
            bw_metrics_histogram(o,
                             "bulwark_upstream_header_duration_seconds",
                             (char *) labels, n->header_buckets,
                             &n->header_ms,
                             bw_metrics_count(n) - bw_metrics_get(n->failed));
        }
        break;
    }
}

static void
bw_metrics_prom_family(bw_metrics_out_t *o, const char *name,
    const char *type, const char *help)
{
    bw_metrics_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
                      type);
}

/* each peer's state: up (conns 0) or its active connections (conns 1) */
static void
bw_metrics_prom_peers_state(bw_metrics_out_t *o, bw_http_request_t *r,
    bw_uint_t conns)
{
    bw_uint_t                       i, j;
    bw_str_t                       *u, *p;
    bw_upstream_rr_peers_t         *peers;
    bw_http_upstream_srv_conf_t   **uscfp;
    bw_http_upstream_main_conf_t   *umcf;

    umcf = bw_http_get_module_main_conf(r, bw_http_upstream_module);
    uscfp = umcf->upstreams.elts;

    for (i = 0; i < umcf->upstreams.nelts; i++) {
        if (uscfp[i]->implicit || uscfp[i]->peer.data == NULL
            || uscfp[i]->peer.init_upstream != NULL)
        {
            /* proxy_pass addresses, and balancers whose peers are not
             * round robin's, have no state to show */
            continue;
        }
        u = bw_metrics_escape(o, &uscfp[i]->host, 0);
        /* a zone's peers change at run time: read them under its lock */
        bw_upstream_rr_lock((bw_upstream_rr_peers_t *) uscfp[i]->peer.data);
        for (peers = uscfp[i]->peer.data; peers; peers = peers->next) {
            for (j = 0; j < peers->number; j++) {
                if (peers->peer[j].removed) {
                    continue;
                }
                p = bw_metrics_escape(o, &peers->peer[j].name, 0);
                if (conns) {
                    bw_metrics_printf(o, "bulwark_upstream_peer_active_"
                                      "connections{upstream=\"%.*s\","
                                      "peer=\"%.*s\"} %lu\n", V(u), V(p),
                                      (unsigned long) peers->peer[j].conns);
                    continue;
                }
                bw_metrics_printf(o, "bulwark_upstream_peer_up{upstream="
                                  "\"%.*s\",peer=\"%.*s\"} %d\n", V(u),
                                  V(p), (int) bw_metrics_peer_up(
                                                  &peers->peer[j]));
            }
        }
        bw_upstream_rr_unlock((bw_upstream_rr_peers_t *) uscfp[i]->peer.data);
    }
}

static void
bw_metrics_prometheus(bw_metrics_out_t *o, bw_http_metrics_main_conf_t *mcf)
{
    static const char  *states[4] = { "active", "reading", "writing",
                                      "waiting" };
    uint64_t            v[4];
    bw_uint_t           i;

    v[0] = bw_stat_get(active);
    v[1] = bw_stat_get(reading);
    v[2] = bw_stat_get(writing);
    v[3] = bw_stat_get(waiting);

    bw_metrics_prom_family(o, "bulwark_connections", "gauge",
                           "Client connections by state.");
    for (i = 0; i < 4; i++) {
        bw_metrics_printf(o, "bulwark_connections{state=\"%s\"} %llu\n",
                          states[i], (unsigned long long) v[i]);
    }
    bw_metrics_prom_family(o, "bulwark_connections_accepted_total",
                           "counter", "Client connections accepted.");
    bw_metrics_printf(o, "bulwark_connections_accepted_total %llu\n",
                      (unsigned long long) bw_stat_get(accepted));
    bw_metrics_prom_family(o, "bulwark_connections_handled_total",
                           "counter", "Client connections handled.");
    bw_metrics_printf(o, "bulwark_connections_handled_total %llu\n",
                      (unsigned long long) bw_stat_get(handled));
    bw_metrics_prom_family(o, "bulwark_requests_total", "counter",
                           "Client requests, of every server.");
    bw_metrics_printf(o, "bulwark_requests_total %llu\n",
                      (unsigned long long) bw_stat_get(requests));

    bw_metrics_prom_family(o, "bulwark_reloads_total", "counter",
                           "Configurations loaded by a reload.");
    bw_metrics_printf(o, "bulwark_reloads_total %llu\n",
                      (unsigned long long) bw_stat_get(reloads));
    bw_metrics_prom_family(o, "bulwark_worker_restarts_total", "counter",
                           "Worker processes that exited unasked.");
    bw_metrics_printf(o, "bulwark_worker_restarts_total %llu\n",
                      (unsigned long long) bw_stat_get(worker_restarts));

    bw_metrics_prom_family(o, "bulwark_ssl_handshakes_total", "counter",
                           "TLS handshakes of clients that succeeded.");
    bw_metrics_printf(o, "bulwark_ssl_handshakes_total %llu\n",
                      (unsigned long long) bw_stat_get(ssl_handshakes));
    bw_metrics_prom_family(o, "bulwark_ssl_session_reuses_total", "counter",
                           "TLS handshakes of clients that resumed a "
                           "session.");
    bw_metrics_printf(o, "bulwark_ssl_session_reuses_total %llu\n",
                      (unsigned long long) bw_stat_get(ssl_session_reuses));
    bw_metrics_prom_family(o, "bulwark_ssl_handshakes_failed_total",
                           "counter", "TLS handshakes of clients that "
                           "failed, by reason.");
    bw_metrics_prom_by(o, "bulwark_ssl_handshakes_failed_total", NULL,
                       "reason", bw_ssl_failed_names,
                       bw_stats ? bw_stats->ssl_failed : NULL,
                       BW_SSL_FAILED_N);
    bw_metrics_prom_family(o, "bulwark_ssl_verify_failures_total",
                           "counter", "Client certificates refused by "
                           "ssl_verify_client, by reason.");
    bw_metrics_prom_by(o, "bulwark_ssl_verify_failures_total", NULL,
                       "reason", bw_ssl_verify_names,
                       bw_stats ? bw_stats->ssl_verify_failures : NULL,
                       BW_SSL_VERIFY_N);

    bw_metrics_prom_family(o, "bulwark_http_requests_total", "counter",
        "Requests of a status_zone by the class of their status.");
    bw_metrics_each(o, mcf, BW_METRICS_SERVER, bw_metrics_prom_zone,
                    (void *) 0);
    bw_metrics_prom_family(o, "bulwark_http_responses_by_code_total",
        "counter", "Responses of a status_zone with the common statuses.");
    bw_metrics_each(o, mcf, BW_METRICS_SERVER, bw_metrics_prom_zone,
                    (void *) 4);
    bw_metrics_prom_family(o, "bulwark_http_requests_processing", "gauge",
        "Requests of a status_zone being processed now.");
    bw_metrics_each(o, mcf, BW_METRICS_SERVER, bw_metrics_prom_zone,
                    (void *) 5);
    bw_metrics_prom_family(o, "bulwark_http_request_duration_seconds",
        "histogram", "Request processing time in a status_zone.");
    bw_metrics_each(o, mcf, BW_METRICS_SERVER, bw_metrics_prom_zone,
                    (void *) 1);
    bw_metrics_prom_family(o, "bulwark_http_received_bytes_total",
        "counter", "Bytes received from clients in a status_zone.");
    bw_metrics_each(o, mcf, BW_METRICS_SERVER, bw_metrics_prom_zone,
                    (void *) 2);
    bw_metrics_prom_family(o, "bulwark_http_sent_bytes_total",
        "counter", "Bytes sent to clients in a status_zone.");
    bw_metrics_each(o, mcf, BW_METRICS_SERVER, bw_metrics_prom_zone,
                    (void *) 3);

    bw_metrics_prom_family(o, "bulwark_http_cache_responses_total",
        "counter", "Answers of a status_zone the disk cache had a say in, "
        "by $upstream_cache_status.");
    bw_metrics_each(o, mcf, BW_METRICS_SERVER, bw_metrics_prom_zone,
                    (void *) 6);

    bw_metrics_prom_family(o, "bulwark_http_limit_req_total", "counter",
        "Requests of a status_zone by what limit_req decided "
        "($limit_req_status).");
    bw_metrics_each(o, mcf, BW_METRICS_SERVER, bw_metrics_prom_zone,
                    (void *) 7);
    bw_metrics_prom_family(o, "bulwark_http_limit_conn_total", "counter",
        "Requests of a status_zone by what limit_conn decided "
        "($limit_conn_status).");
    bw_metrics_each(o, mcf, BW_METRICS_SERVER, bw_metrics_prom_zone,
                    (void *) 8);

    bw_metrics_prom_family(o, "bulwark_upstream_requests_total", "counter",
        "Attempts at an upstream's peer by the class of the status.");
    bw_metrics_each(o, mcf, BW_METRICS_PEER, bw_metrics_prom_peer,
                    (void *) 0);
    bw_metrics_prom_family(o, "bulwark_upstream_failures_total", "counter",
        "Attempts at a peer that got no answer.");
    bw_metrics_each(o, mcf, BW_METRICS_PEER, bw_metrics_prom_peer,
                    (void *) 1);
    bw_metrics_prom_family(o, "bulwark_upstream_response_duration_seconds",
        "histogram", "Time from the attempt's start to the answer's end.");
    bw_metrics_each(o, mcf, BW_METRICS_PEER, bw_metrics_prom_peer,
                    (void *) 2);
    bw_metrics_prom_family(o, "bulwark_upstream_header_duration_seconds",
        "histogram", "Time from the attempt's start to the answer's "
        "header.");
    bw_metrics_each(o, mcf, BW_METRICS_PEER, bw_metrics_prom_peer,
                    (void *) 3);

    bw_metrics_prom_family(o, "bulwark_upstream_peer_up", "gauge",
        "1 when the balancer may choose the peer, 0 when it is down.");
    bw_metrics_prom_peers_state(o, o->r, 0);
    bw_metrics_prom_family(o, "bulwark_upstream_peer_active_connections",
        "gauge", "Connections to the peer in use by requests now.");
    bw_metrics_prom_peers_state(o, o->r, 1);
}

/* --- JSON ----------------------------------------------------------------- */

typedef struct {
    bw_uint_t   n;
} bw_metrics_json_t;

static void
bw_metrics_json_counts(bw_metrics_out_t *o, bw_http_metrics_node_t *n)
{
    uint64_t   b, in, total;
    bw_uint_t  i;

    bw_metrics_printf(o, "\"requests\":%llu,\"responses\":{",
                      (unsigned long long) bw_metrics_get(n->requests));
    for (i = 0; i < 5; i++) {
        bw_metrics_printf(o, "%s\"%s\":%llu", i ? "," : "",
                          bw_metrics_classes[i],
                          (unsigned long long) bw_metrics_get(n->codes[i]));
    }
    bw_metrics_printf(o, "},\"codes\":{");
    for (i = 0; i < BW_METRICS_CODES; i++) {
        bw_metrics_printf(o, "%s\"%u\":%llu", i ? "," : "",
                          (unsigned) bw_http_metrics_codes[i],
                          (unsigned long long) bw_metrics_get(n->exact[i]));
    }
    bw_metrics_printf(o, "},\"processing\":%llu",
                      (unsigned long long) bw_metrics_get(n->processing));
    bw_metrics_printf(o, ",\"received\":%llu,\"sent\":%llu,"
                      "\"time_ms\":%llu,\"buckets\":[",
                      (unsigned long long) bw_metrics_get(n->received),
                      (unsigned long long) bw_metrics_get(n->sent),
                      (unsigned long long) bw_metrics_get(n->time_ms));
    /* per bucket (not cumulative), bounds in "bucket_bounds_ms", and
     * last what is above them all */
    in = 0;
    for (i = 0; i < BW_METRICS_BUCKETS; i++) {
        b = bw_metrics_get(n->buckets[i]);
        in += b;
        bw_metrics_printf(o, "%s%llu", i ? "," : "", (unsigned long long) b);
    }
    total = bw_metrics_get(n->requests);
    bw_metrics_printf(o, ",%llu]",
                      (unsigned long long) (total > in ? total - in : 0));
}

static void
bw_metrics_json_zone(bw_metrics_out_t *o, bw_http_metrics_node_t *n,
    void *data)
{
    bw_metrics_json_t  *j = data;
    bw_str_t           *z;

    z = bw_metrics_escape(o, &n->zone, 1);
    bw_metrics_printf(o, "%s\"%.*s\":{", j->n++ ? "," : "", V(z));
    bw_metrics_json_counts(o, n);
    bw_metrics_printf(o, ",\"cache\":");
    bw_metrics_json_by(o, bw_metrics_cache_names, n->cache, BW_METRICS_CACHE);
    bw_metrics_printf(o, ",\"limit_req\":");
    bw_metrics_json_by(o, bw_metrics_limit_req_names, n->limit_req,
                       BW_METRICS_LIMIT_REQ);
    bw_metrics_printf(o, ",\"limit_conn\":");
    bw_metrics_json_by(o, bw_metrics_limit_conn_names, n->limit_conn,
                       BW_METRICS_LIMIT_CONN);
    bw_metrics_printf(o, "}");
}

static void
bw_metrics_json_peer(bw_metrics_out_t *o, bw_http_metrics_node_t *n,
    void *data)
{
    bw_metrics_json_t  *j = data;
    bw_str_t           *u, *p;

    u = bw_metrics_escape(o, &n->upstream, 1);
    p = bw_metrics_escape(o, &n->peer, 1);
    bw_metrics_printf(o, "%s{\"upstream\":\"%.*s\",\"peer\":\"%.*s\",",
                      j->n++ ? "," : "", V(u), V(p));
    bw_uint_t           i;

    bw_metrics_json_counts(o, n);
    bw_metrics_printf(o, ",\"failed\":%llu,\"header_time_ms\":%llu,"
                      "\"header_buckets\":[",
                      (unsigned long long) bw_metrics_get(n->failed),
                      (unsigned long long) bw_metrics_get(n->header_ms));
    for (i = 0; i < BW_METRICS_BUCKETS; i++) {
        bw_metrics_printf(o, "%s%llu", i ? "," : "", (unsigned long long)
                          bw_metrics_get(n->header_buckets[i]));
    }
    bw_metrics_printf(o, "]}");
}

static void
bw_metrics_json(bw_metrics_out_t *o, bw_http_metrics_main_conf_t *mcf)
{
    bw_uint_t                       i, k, first;
    bw_str_t                       *u, *p;
    bw_metrics_json_t               j;
    bw_upstream_rr_peers_t         *peers;
    bw_http_upstream_srv_conf_t   **uscfp;
    bw_http_upstream_main_conf_t   *umcf;

    bw_metrics_printf(o, "{\"bucket_bounds_ms\":[");
    for (i = 0; i < BW_METRICS_BUCKETS; i++) {
        bw_metrics_printf(o, "%s%llu", i ? "," : "",
                          (unsigned long long) bw_http_metrics_bounds[i]);
    }
    bw_metrics_printf(o, "],");
    bw_metrics_printf(o, "\"connections\":{\"active\":%llu,\"reading\":%llu,"
                      "\"writing\":%llu,\"waiting\":%llu,\"accepted\":%llu,"
                      "\"handled\":%llu},\"requests\":%llu,",
                      (unsigned long long) bw_stat_get(active),
                      (unsigned long long) bw_stat_get(reading),
                      (unsigned long long) bw_stat_get(writing),
                      (unsigned long long) bw_stat_get(waiting),
                      (unsigned long long) bw_stat_get(accepted),
                      (unsigned long long) bw_stat_get(handled),
                      (unsigned long long) bw_stat_get(requests));
    j.n = 0;
    bw_metrics_printf(o, "\"processes\":{\"reloads\":%llu,"
                      "\"worker_restarts\":%llu},"
                      "\"ssl\":{\"handshakes\":%llu,\"session_reuses\":%llu,"
                      "\"handshakes_failed\":",
                      (unsigned long long) bw_stat_get(reloads),
                      (unsigned long long) bw_stat_get(worker_restarts),
                      (unsigned long long) bw_stat_get(ssl_handshakes),
                      (unsigned long long) bw_stat_get(ssl_session_reuses));
    bw_metrics_json_by(o, bw_ssl_failed_names,
                       bw_stats ? bw_stats->ssl_failed : NULL,
                       BW_SSL_FAILED_N);
    bw_metrics_printf(o, ",\"verify_failures\":");
    bw_metrics_json_by(o, bw_ssl_verify_names,
                       bw_stats ? bw_stats->ssl_verify_failures : NULL,
                       BW_SSL_VERIFY_N);
    bw_metrics_printf(o, "},\"server_zones\":{");

    bw_metrics_each(o, mcf, BW_METRICS_SERVER, bw_metrics_json_zone, &j);

    bw_metrics_printf(o, "},\"upstream_peers\":[");
    j.n = 0;
    bw_metrics_each(o, mcf, BW_METRICS_PEER, bw_metrics_json_peer, &j);

    bw_metrics_printf(o, "],\"peer_state\":[");
    umcf = bw_http_get_module_main_conf(o->r, bw_http_upstream_module);
    uscfp = umcf->upstreams.elts;
    first = 1;
    for (i = 0; i < umcf->upstreams.nelts; i++) {
        if (uscfp[i]->implicit || uscfp[i]->peer.data == NULL
            || uscfp[i]->peer.init_upstream != NULL)
        {
            continue;
        }
        u = bw_metrics_escape(o, &uscfp[i]->host, 1);
        bw_upstream_rr_lock((bw_upstream_rr_peers_t *) uscfp[i]->peer.data);
        for (peers = uscfp[i]->peer.data; peers; peers = peers->next) {
            for (k = 0; k < peers->number; k++) {
                if (peers->peer[k].removed) {
                    continue;
                }
                p = bw_metrics_escape(o, &peers->peer[k].name, 1);
                bw_metrics_printf(o, "%s{\"upstream\":\"%.*s\",\"peer\":"
                                  "\"%.*s\",\"up\":%s,\"backup\":%s,"
                                  "\"active\":%lu}",
                                  first ? "" : ",", V(u), V(p),
                                  bw_metrics_peer_up(&peers->peer[k])
                                      ? "true" : "false",
                                  peers == uscfp[i]->peer.data
                                      ? "false" : "true",
                                  (unsigned long) peers->peer[k].conns);
                first = 0;
            }
        }
        bw_upstream_rr_unlock((bw_upstream_rr_peers_t *) uscfp[i]->peer.data);
    }
    bw_metrics_printf(o, "]}\n");
}

bw_int_t
bw_http_metrics_handler(bw_http_request_t *r)
{
    bw_int_t                      rc;
    bw_str_t                      fmt;
    bw_uint_t                     json;
    bw_chain_t                   *cl;
    bw_metrics_out_t              o;
    bw_http_metrics_main_conf_t  *mcf;

    if (!(r->method & (BW_HTTP_GET|BW_HTTP_HEAD))) {
        return BW_HTTP_NOT_ALLOWED;
    }

    rc = bw_http_discard_request_body(r);
    if (rc != BW_OK) {
        return rc;
    }

    json = bw_http_arg(r, (u_char *) "format", 6, &fmt) == BW_OK
           && bw_str_eq_lit(&fmt, "json");

    mcf = bw_http_get_module_main_conf(r, bw_http_metrics_module);

    bw_memzero(&o, sizeof(o));
    o.r = r;
    o.last = &o.first;

    if (json) {
        bw_metrics_json(&o, mcf);
    } else {
        bw_metrics_prometheus(&o, mcf);
    }

    if (o.error || o.first == NULL) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = BW_HTTP_OK;
    if (json) {
        bw_str_set(&r->headers_out.content_type, "application/json");
    } else {
        bw_str_set(&r->headers_out.content_type,
                   "text/plain; version=0.0.4");
    }

    r->headers_out.content_length_n = 0;
    for (cl = o.first; cl; cl = cl->next) {
        r->headers_out.content_length_n += cl->buf->last - cl->buf->pos;
        if (cl->next == NULL) {
            cl->buf->last_buf = (r == r->main) ? 1 : 0;
            cl->buf->last_in_chain = 1;
        }
    }

    rc = bw_http_send_header(r);

    if (rc == BW_ERROR || rc > BW_OK || r->header_only) {
        return rc;
    }

    return bw_http_output_filter(r, o.first);
}
