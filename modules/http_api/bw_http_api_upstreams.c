/*
 * /api/N/http/upstreams and below: the upstreams that keep their peers
 * in a zone, their peers' live state, and the servers' settings, which
 * POST, PATCH and DELETE change in the zone for every worker at once.
 *
 * Every read and write of the peers holds the zone's lock, and nothing
 * read from them is kept past it: a set's slots may move when it grows.
 * A write is validated whole before anything changes, so that a bad
 * field never leaves half a change behind.
 */

#include "bw_http_api.h"

/* a consistent hash ring holds 160 points a unit of weight, per worker */
#define BW_HTTP_API_MAX_WEIGHT  10000

/* A POST or PATCH, validated. */
typedef struct {
    bw_upstream_rr_peer_t    tmpl;        /* the settings given */
    bw_sockaddr_t            sockaddr;
    u_char                   name[BW_SOCKADDR_STRLEN];
    unsigned                 has_server:1;
    unsigned                 has_weight:1;
    unsigned                 has_max_conns:1;
    unsigned                 has_max_fails:1;
    unsigned                 has_fail_timeout:1;
    unsigned                 has_down:1;
    unsigned                 has_drain:1;
    unsigned                 has_backup:1;
    unsigned                 backup:1;
} bw_http_api_change_t;

/* --- finding ---------------------------------------------------------- */

static bw_http_upstream_srv_conf_t *
bw_http_api_find_upstream(bw_http_request_t *r, bw_str_t *name)
{
    bw_uint_t                       i;
    bw_http_upstream_srv_conf_t   **uscfp;
    bw_http_upstream_main_conf_t   *umcf;

    umcf = bw_http_get_module_main_conf(r, bw_http_upstream_module);
    uscfp = umcf->upstreams.elts;

    for (i = 0; i < umcf->upstreams.nelts; i++) {
        if (!uscfp[i]->implicit && uscfp[i]->peer.data
            && uscfp[i]->host.len == name->len
            && memcmp(uscfp[i]->host.data, name->data, name->len) == 0)
        {
            return uscfp[i];
        }
    }

    return NULL;
}

static bw_uint_t
bw_http_api_dynamic(bw_http_upstream_srv_conf_t *uscf)
{
    return uscf->shm_zone != NULL
           && ((bw_upstream_rr_peers_t *) uscf->peer.data)->shared != NULL;
}

/* --- writing ---------------------------------------------------------- */

static const char *
bw_http_api_state(bw_upstream_rr_peer_t *peer)
{
    if (peer->down) {
        return "down";
    }
    if (peer->drain) {
        return "draining";
    }
    if (peer->hc_bad) {
        return "unhealthy";
    }
    if (peer->hc_pending) {
        return "checking";
    }
    if (peer->max_fails && peer->fails >= peer->max_fails
        && bw_time_sec - peer->checked <= peer->fail_timeout)
    {
        return "unavail";
    }
    return "up";
}

static void
bw_http_api_peer(bw_http_api_out_t *o, bw_upstream_rr_peer_t *peer,
    bw_uint_t backup)
{
    bw_http_api_printf(o, "{\"id\":%lu,\"server\":", (unsigned long) peer->id);
    bw_http_api_string(o, &peer->name);
    bw_http_api_printf(o, ",\"name\":");
    bw_http_api_string(o, &peer->server);
    bw_http_api_printf(o, ",\"backup\":%s,\"weight\":%ld,\"state\":\"%s\","
                       "\"active\":%lu", backup ? "true" : "false",
                       (long) peer->weight, bw_http_api_state(peer),
                       (unsigned long) peer->conns);
    if (peer->max_conns) {
        bw_http_api_printf(o, ",\"max_conns\":%lu",
                           (unsigned long) peer->max_conns);
    }
    bw_http_api_printf(o, ",\"fails\":%lu,\"health_checks\":{\"checks\":%lu,"
                       "\"fails\":%lu,\"unhealthy\":%lu", (unsigned long)
                       peer->fails, (unsigned long) peer->hc_checks,
                       (unsigned long) peer->hc_fails,
                       (unsigned long) peer->hc_unhealthy);
    if (peer->hc_checks) {
        bw_http_api_printf(o, ",\"last_passed\":%s",
                           peer->hc_last_passed ? "true" : "false");
    }
    bw_http_api_printf(o, "}}");
}

static void
bw_http_api_server(bw_http_api_out_t *o, bw_upstream_rr_peer_t *peer,
    bw_uint_t backup)
{
    bw_http_api_printf(o, "{\"id\":%lu,\"server\":", (unsigned long) peer->id);
    bw_http_api_string(o, &peer->server);
    bw_http_api_printf(o, ",\"weight\":%ld,\"max_conns\":%lu,"
                       "\"max_fails\":%lu,\"fail_timeout\":\"%lds\","
                       "\"slow_start\":\"0s\",\"route\":\"\","
                       "\"backup\":%s,\"down\":%s",
                       (long) peer->weight, (unsigned long) peer->max_conns,
                       (unsigned long) peer->max_fails,
                       (long) peer->fail_timeout, backup ? "true" : "false",
                       peer->down ? "true" : "false");
    if (peer->drain) {
        bw_http_api_printf(o, ",\"drain\":true");
    }
    bw_http_api_printf(o, "}");
}

typedef void (*bw_http_api_peer_pt)(bw_http_api_out_t *o,
    bw_upstream_rr_peer_t *peer, bw_uint_t backup);

/* The peers of both sets, primary first; with the lock held. */
static void
bw_http_api_each(bw_http_api_out_t *o, bw_upstream_rr_peers_t *peers,
    bw_http_api_peer_pt print)
{
    bw_uint_t                i, n, backup;
    bw_upstream_rr_peers_t  *set;

    bw_http_api_printf(o, "[");
    n = 0;
    backup = 0;

    for (set = peers; set; set = set->next, backup = 1) {
        for (i = 0; i < set->number; i++) {
            if (set->peer[i].removed) {
                continue;
            }
            if (n++) {
                bw_http_api_printf(o, ",");
            }
            print(o, &set->peer[i], backup);
        }
    }

    bw_http_api_printf(o, "]");
}

static void
bw_http_api_upstream(bw_http_api_out_t *o, bw_http_upstream_srv_conf_t *uscf)
{
    bw_uint_t                i, zombies;
    bw_upstream_rr_peers_t  *peers, *set;

    peers = uscf->peer.data;

    bw_shmtx_lock(peers->shpool);

    bw_http_api_printf(o, "{\"peers\":");
    bw_http_api_each(o, peers, bw_http_api_peer);

    /* removed, with requests still running on them */
    zombies = 0;
    for (set = peers; set; set = set->next) {
        for (i = 0; i < set->number; i++) {
            zombies += (set->peer[i].removed && set->peer[i].conns);
        }
    }

    bw_shmtx_unlock(peers->shpool);

    bw_http_api_printf(o, ",\"zombies\":%lu,\"zone\":",
                       (unsigned long) zombies);
    bw_http_api_string(o, &uscf->shm_zone->name);
    bw_http_api_printf(o, "}");
}

static void
bw_http_api_servers(bw_http_api_out_t *o, bw_upstream_rr_peers_t *peers)
{
    bw_shmtx_lock(peers->shpool);
    bw_http_api_each(o, peers, bw_http_api_server);
    bw_shmtx_unlock(peers->shpool);
}

/* --- reading a change ------------------------------------------------- */

static bw_int_t
bw_http_api_bool(bw_http_api_ctx_t *ctx, bw_http_api_field_t *f,
    bw_uint_t *v)
{
    *v = 0;

    if (f->type != BW_JSON_TRUE && f->type != BW_JSON_FALSE) {
        return bw_http_api_error(ctx, BW_HTTP_BAD_REQUEST,
                                 "UpstreamConfFormatError",
                                 "invalid \"%.*s\" value", (int) f->key.len,
                                 f->key.data);
    }
    *v = (f->type == BW_JSON_TRUE);
    return BW_OK;
}

/* A whole number in [0, max]: -1 when it is not one. */
static bw_int_t
bw_http_api_number(bw_http_api_field_t *f, bw_int_t max)
{
    bw_int_t  n;

    if (f->type != BW_JSON_NUMBER) {
        return -1;
    }
    n = bw_atoi(f->value.data, f->value.len);
    return (n == BW_ERROR || n > max) ? -1 : n;
}

/* A time as nginx Plus gives it ("10s", "1m") or a number of seconds. */
static bw_int_t
bw_http_api_time(bw_http_api_field_t *f)
{
    bw_int_t  n;

    if (f->type == BW_JSON_NUMBER) {
        return bw_http_api_number(f, 86400 * 365);
    }
    if (f->type != BW_JSON_STRING || f->value.len == 0) {
        return -1;
    }
    /* bounded as a number is: the state file keeps it in 32 bits */
    n = bw_parse_time(&f->value, 1);
    return (n == BW_ERROR || n > 86400 * 365) ? -1 : n;
}

static bw_int_t
bw_http_api_address(bw_http_api_ctx_t *ctx, bw_str_t *text,
    bw_http_api_change_t *ch)
{
    u_char    *p, *last, *port;
    size_t     n;
    bw_int_t   num;
    socklen_t  socklen;

    p = text->data;
    last = p + text->len;

    if (text->len > 5 && bw_strncasecmp(p, (u_char *) "unix:", 5) == 0) {
        n = text->len - 5;
        if (n >= sizeof(ch->sockaddr.sockaddr_un.sun_path)) {
            goto invalid;
        }
        bw_memzero(&ch->sockaddr, sizeof(bw_sockaddr_t));
        ch->sockaddr.sockaddr_un.sun_family = AF_UNIX;
        memcpy(ch->sockaddr.sockaddr_un.sun_path, p + 5, n);
        socklen = offsetof(struct sockaddr_un, sun_path) + n + 1;
        goto done;
    }

    if (bw_parse_addr_port(p, text->len, &ch->sockaddr, &socklen) != BW_OK) {
        /* a name would need a lookup, which a worker never waits for */
        return bw_http_api_error(ctx, BW_HTTP_BAD_REQUEST,
                                 "UpstreamBadAddress",
                                 "invalid \"server\" argument \"%.*s\": an "
                                 "IP address with a port, or unix:path, "
                                 "is expected", (int) text->len, text->data);
    }

    /* the port: after "]:" or after the one colon of an IPv4 address */
    port = NULL;
    if (*p == '[') {
        p = memchr(p, ']', text->len);
        if (p + 1 < last) {
            if (p[1] != ':') {
                goto invalid;
            }
            port = p + 2;
        }
    } else if (ch->sockaddr.sockaddr.sa_family == AF_INET) {
        p = memchr(p, ':', text->len);
        if (p) {
            port = p + 1;
        }
    }

    num = 80;
    if (port) {
        num = bw_atoi(port, last - port);
        if (num < 1 || num > 65535) {
            goto invalid;
        }
    }

    if (ch->sockaddr.sockaddr.sa_family == AF_INET6) {
        ch->sockaddr.sockaddr_in6.sin6_port = htons((in_port_t) num);
    } else {
        ch->sockaddr.sockaddr_in.sin_port = htons((in_port_t) num);
    }

done:

    ch->tmpl.sockaddr = &ch->sockaddr.sockaddr;
    ch->tmpl.socklen = socklen;
    ch->tmpl.name.data = ch->name;
    ch->tmpl.name.len = bw_sock_ntop(&ch->sockaddr.sockaddr, socklen,
                                     ch->name, sizeof(ch->name), 1);
    ch->tmpl.server = *text;
    ch->has_server = 1;
    return BW_OK;

invalid:

    return bw_http_api_error(ctx, BW_HTTP_BAD_REQUEST, "UpstreamBadAddress",
                             "invalid \"server\" argument \"%.*s\"",
                             (int) text->len, text->data);
}

#define bw_http_api_bad(ctx, code, f)                                       \
    bw_http_api_error(ctx, BW_HTTP_BAD_REQUEST, code, "invalid \"%.*s\"",   \
                      (int) (f)->key.len, (f)->key.data)

static bw_int_t
bw_http_api_read_change(bw_http_api_ctx_t *ctx, bw_http_api_change_t *ch,
    bw_uint_t patch, bw_uint_t id)
{
    bw_int_t               n;
    bw_uint_t              i, v;
    const char            *err;
    bw_http_api_field_t   *f;
    bw_http_api_object_t   obj;

    if (bw_http_api_parse_object(ctx->r->pool, &ctx->body, &obj, &err)
        != BW_OK)
    {
        return bw_http_api_error(ctx, BW_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                 "JsonError", "JSON error: %s", err);
    }

    bw_memzero(ch, sizeof(bw_http_api_change_t));
    ch->tmpl.weight = 1;
    ch->tmpl.max_fails = 1;
    ch->tmpl.fail_timeout = 10;

    for (i = 0; i < obj.nfields; i++) {
        f = &obj.field[i];

        if (f->type == BW_JSON_NESTED) {
            return bw_http_api_error(ctx, BW_HTTP_BAD_REQUEST,
                                     "UpstreamConfFormatError",
                                     "nested object or list");
        }

        if (bw_str_eq_lit(&f->key, "server")) {
            if (f->type != BW_JSON_STRING || f->value.len == 0) {
                return bw_http_api_bad(ctx, "UpstreamBadAddress", f);
            }
            if (bw_http_api_address(ctx, &f->value, ch) != BW_OK) {
                return BW_ERROR;
            }

        } else if (bw_str_eq_lit(&f->key, "weight")) {
            n = bw_http_api_number(f, BW_HTTP_API_MAX_WEIGHT);
            if (n < 1) {
                return bw_http_api_bad(ctx, "UpstreamBadWeight", f);
            }
            ch->tmpl.weight = n;
            ch->has_weight = 1;

        } else if (bw_str_eq_lit(&f->key, "max_conns")) {
            n = bw_http_api_number(f, INT32_MAX);
            if (n < 0) {
                return bw_http_api_bad(ctx, "UpstreamBadMaxConns", f);
            }
            ch->tmpl.max_conns = (bw_uint_t) n;
            ch->has_max_conns = 1;

        } else if (bw_str_eq_lit(&f->key, "max_fails")) {
            n = bw_http_api_number(f, INT32_MAX);
            if (n < 0) {
                return bw_http_api_bad(ctx, "UpstreamBadMaxFails", f);
            }
            ch->tmpl.max_fails = (bw_uint_t) n;
            ch->has_max_fails = 1;

        } else if (bw_str_eq_lit(&f->key, "fail_timeout")) {
            n = bw_http_api_time(f);
            if (n < 0) {
                return bw_http_api_bad(ctx, "UpstreamBadFailTimeout", f);
            }
            ch->tmpl.fail_timeout = (time_t) n;
            ch->has_fail_timeout = 1;

        } else if (bw_str_eq_lit(&f->key, "slow_start")) {
            n = bw_http_api_time(f);
            if (n < 0) {
                return bw_http_api_bad(ctx, "UpstreamBadSlowStart", f);
            }
            if (n > 0) {
                return bw_http_api_error(ctx, BW_HTTP_BAD_REQUEST,
                                         "UpstreamBadSlowStart",
                                         "\"slow_start\" is not supported");
            }

        } else if (bw_str_eq_lit(&f->key, "route")) {
            if (f->type != BW_JSON_STRING) {
                return bw_http_api_bad(ctx, "UpstreamBadRoute", f);
            }
            if (f->value.len) {
                return bw_http_api_error(ctx, BW_HTTP_BAD_REQUEST,
                                         "UpstreamBadRoute",
                                         "\"route\" is not supported");
            }

        } else if (bw_str_eq_lit(&f->key, "down")) {
            if (bw_http_api_bool(ctx, f, &v) != BW_OK) {
                return BW_ERROR;
            }
            ch->tmpl.down = v;
            ch->has_down = 1;

        } else if (bw_str_eq_lit(&f->key, "drain")) {
            if (bw_http_api_bool(ctx, f, &v) != BW_OK) {
                return BW_ERROR;
            }
            ch->tmpl.drain = v;
            ch->has_drain = 1;

        } else if (bw_str_eq_lit(&f->key, "backup")) {
            if (bw_http_api_bool(ctx, f, &v) != BW_OK) {
                return BW_ERROR;
            }
            ch->backup = v;
            ch->has_backup = 1;

        } else if (bw_str_eq_lit(&f->key, "id")) {
            n = bw_http_api_number(f, INT32_MAX);
            if (!patch || n < 0 || (bw_uint_t) n != id) {
                return bw_http_api_error(ctx, BW_HTTP_BAD_REQUEST,
                                         "UpstreamConfFormatError",
                                         "\"id\" cannot be set");
            }

        } else if (bw_str_eq_lit(&f->key, "service")) {
            return bw_http_api_error(ctx, BW_HTTP_BAD_REQUEST,
                                     "UpstreamBadService",
                                     "\"service\" is not supported");

        } else {
            return bw_http_api_error(ctx, BW_HTTP_BAD_REQUEST,
                                     "UpstreamConfFormatError",
                                     "unknown parameter \"%.*s\"",
                                     (int) f->key.len, f->key.data);
        }
    }

    if (!patch && !ch->has_server) {
        return bw_http_api_error(ctx, BW_HTTP_BAD_REQUEST,
                                 "UpstreamConfFormatError",
                                 "missing \"server\" argument");
    }

    return BW_OK;
}

/* Is the address already a live peer's (other than except)? */
static bw_uint_t
bw_http_api_taken(bw_upstream_rr_peers_t *peers, bw_http_api_change_t *ch,
    bw_upstream_rr_peer_t *except)
{
    bw_uint_t                i;
    bw_upstream_rr_peer_t   *peer;

    for ( /* void */ ; peers; peers = peers->next) {
        for (i = 0; i < peers->number; i++) {
            peer = &peers->peer[i];
            if (!peer->removed && peer != except
                && bw_cmp_sockaddr(peer->sockaddr, peer->socklen,
                                   ch->tmpl.sockaddr, ch->tmpl.socklen, 1)
                   == BW_OK)
            {
                return 1;
            }
        }
    }

    return 0;
}

static void
bw_http_api_changed(bw_upstream_rr_peers_t *peers)
{
    if (bw_http_upstream_rr_changed) {
        bw_http_upstream_rr_changed(peers);
    }
}

/* --- the operations --------------------------------------------------- */

static bw_int_t
bw_http_api_add(bw_http_api_ctx_t *ctx, bw_http_upstream_srv_conf_t *uscf)
{
    bw_int_t                 rc;
    bw_upstream_rr_peer_t   *peer;
    bw_upstream_rr_peers_t  *peers, *set;
    bw_http_api_change_t     ch;

    if (bw_http_api_read_change(ctx, &ch, 0, 0) != BW_OK) {
        return BW_ERROR;
    }

    if (ch.backup && !(uscf->flags & BW_HTTP_UPSTREAM_BACKUP)) {
        return bw_http_api_error(ctx, BW_HTTP_BAD_REQUEST, "UpstreamNoBackup",
                                 "upstream \"%.*s\" has no backup: its "
                                 "balancing method does not support it",
                                 (int) uscf->host.len, uscf->host.data);
    }

    peers = uscf->peer.data;
    bw_shmtx_lock(peers->shpool);

    if (bw_http_api_taken(peers, &ch, NULL)) {
        bw_shmtx_unlock(peers->shpool);
        return bw_http_api_error(ctx, BW_HTTP_CONFLICT, "EntryExists",
                                 "entry exists");
    }

    set = ch.backup ? bw_upstream_rr_backup_set(peers) : peers;
    if (set == NULL) {
        goto nomem;
    }

    rc = bw_upstream_rr_add(set, &ch.tmpl, &peer);

    if (rc == BW_DECLINED) {
        bw_shmtx_unlock(peers->shpool);
        return bw_http_api_error(ctx, BW_HTTP_BAD_REQUEST,
                                 "UpstreamConfFormatError",
                                 "too many servers in upstream \"%.*s\" "
                                 "(at most %d)", (int) uscf->host.len,
                                 uscf->host.data, BW_UPSTREAM_RR_MAX_PEERS);
    }
    if (rc != BW_OK) {
        goto nomem;
    }

    bw_http_api_server(&ctx->out, peer, ch.backup);
    bw_shmtx_unlock(peers->shpool);

    bw_http_api_printf(&ctx->out, "\n");
    bw_http_api_changed(peers);
    ctx->status = BW_HTTP_CREATED;
    return BW_OK;

nomem:

    bw_shmtx_unlock(peers->shpool);
    return bw_http_api_error(ctx, BW_HTTP_BAD_REQUEST, "UpstreamOutOfMemory",
                             "upstream \"%.*s\" memory exhausted: make its "
                             "zone larger", (int) uscf->host.len,
                             uscf->host.data);
}

/* PATCH: the settings given, applied together. */
static bw_int_t
bw_http_api_modify(bw_http_api_ctx_t *ctx, bw_http_upstream_srv_conf_t *uscf,
    bw_uint_t id)
{
    bw_uint_t                backup;
    bw_upstream_rr_peer_t   *peer;
    bw_upstream_rr_peers_t  *peers, *set;
    bw_http_api_change_t     ch;

    if (bw_http_api_read_change(ctx, &ch, 1, id) != BW_OK) {
        return BW_ERROR;
    }

    peers = uscf->peer.data;
    bw_shmtx_lock(peers->shpool);

    peer = bw_upstream_rr_find(peers, id, &set);
    if (peer == NULL) {
        bw_shmtx_unlock(peers->shpool);
        return bw_http_api_error(ctx, BW_HTTP_NOT_FOUND,
                                 "UpstreamServerNotFound",
                                 "server with ID \"%lu\" does not exist",
                                 (unsigned long) id);
    }

    backup = (set != peers);
    if (ch.has_backup && ch.backup != backup) {
        bw_shmtx_unlock(peers->shpool);
        return bw_http_api_error(ctx, BW_HTTP_BAD_REQUEST,
                                 "UpstreamServerImmutable",
                                 "\"backup\" of server \"%lu\" cannot be "
                                 "changed", (unsigned long) id);
    }

    if ((ch.has_server || (ch.has_drain && ch.tmpl.drain)) && peer->host) {
        /* (a drained one would leave, and the next lookup bring it back
         * under another id: "down" takes it out) */
        bw_shmtx_unlock(peers->shpool);
        return bw_http_api_error(ctx, BW_HTTP_BAD_REQUEST,
                                 "UpstreamServerImmutable",
                                 "server \"%lu\" is resolved: its address "
                                 "is the name's, and it cannot be drained "
                                 "(set \"down\")", (unsigned long) id);
    }

    if (ch.has_server) {
        if (bw_http_api_taken(peers, &ch, peer)) {
            bw_shmtx_unlock(peers->shpool);
            return bw_http_api_error(ctx, BW_HTTP_CONFLICT, "EntryExists",
                                     "entry exists");
        }

        if (bw_upstream_rr_set_address(set, peer, &ch.tmpl) != BW_OK) {
            bw_shmtx_unlock(peers->shpool);
            return bw_http_api_error(ctx, BW_HTTP_BAD_REQUEST,
                                     "UpstreamOutOfMemory",
                                     "upstream \"%.*s\" memory exhausted",
                                     (int) uscf->host.len, uscf->host.data);
        }
    }

    if (ch.has_weight) {
        peer->weight = ch.tmpl.weight;
        peer->effective_weight = ch.tmpl.weight;
        peer->current_weight = 0;
    }
    if (ch.has_max_conns) {
        peer->max_conns = ch.tmpl.max_conns;
    }
    if (ch.has_max_fails) {
        peer->max_fails = ch.tmpl.max_fails;
    }
    if (ch.has_fail_timeout) {
        peer->fail_timeout = ch.tmpl.fail_timeout;
    }
    if (ch.has_down) {
        peer->down = ch.tmpl.down;
        if (!peer->down) {
            /* an operator's "up" is a fresh start */
            peer->fails = 0;
        }
    }
    if (ch.has_drain) {
        peer->drain = ch.tmpl.drain;
    }

    bw_http_api_server(&ctx->out, peer, backup);

    if (peer->drain && peer->conns == 0) {
        /* nothing to wait for: it leaves now */
        bw_upstream_rr_remove(set, peer);
    } else {
        bw_upstream_rr_recount(set);
    }

    bw_shmtx_unlock(peers->shpool);

    bw_http_api_printf(&ctx->out, "\n");
    bw_http_api_changed(peers);
    ctx->status = BW_HTTP_OK;
    return BW_OK;
}

static bw_int_t
bw_http_api_delete(bw_http_api_ctx_t *ctx, bw_http_upstream_srv_conf_t *uscf,
    bw_uint_t id)
{
    bw_upstream_rr_peer_t   *peer;
    bw_upstream_rr_peers_t  *peers, *set;

    peers = uscf->peer.data;
    bw_shmtx_lock(peers->shpool);

    peer = bw_upstream_rr_find(peers, id, &set);
    if (peer == NULL) {
        bw_shmtx_unlock(peers->shpool);
        return bw_http_api_error(ctx, BW_HTTP_NOT_FOUND,
                                 "UpstreamServerNotFound",
                                 "server with ID \"%lu\" does not exist",
                                 (unsigned long) id);
    }

    if (peer->host) {
        /* the name's answers bring it back: change the DNS instead */
        bw_shmtx_unlock(peers->shpool);
        return bw_http_api_error(ctx, BW_HTTP_BAD_REQUEST,
                                 "UpstreamServerImmutable",
                                 "server \"%lu\" not removable: it is "
                                 "resolved", (unsigned long) id);
    }

    /* requests running on it finish; it takes no new ones */
    bw_upstream_rr_remove(set, peer);

    bw_http_api_each(&ctx->out, peers, bw_http_api_server);
    bw_shmtx_unlock(peers->shpool);

    bw_http_api_printf(&ctx->out, "\n");
    bw_http_api_changed(peers);
    ctx->status = BW_HTTP_OK;
    return BW_OK;
}

static bw_int_t
bw_http_api_all(bw_http_api_ctx_t *ctx)
{
    bw_uint_t                       i, n;
    bw_http_upstream_srv_conf_t   **uscfp;
    bw_http_upstream_main_conf_t   *umcf;

    umcf = bw_http_get_module_main_conf(ctx->r, bw_http_upstream_module);
    uscfp = umcf->upstreams.elts;

    bw_http_api_printf(&ctx->out, "{");
    n = 0;

    for (i = 0; i < umcf->upstreams.nelts; i++) {
        if (uscfp[i]->implicit || uscfp[i]->peer.data == NULL
            || !bw_http_api_dynamic(uscfp[i]))
        {
            continue;
        }
        if (n++) {
            bw_http_api_printf(&ctx->out, ",");
        }
        bw_http_api_string(&ctx->out, &uscfp[i]->host);
        bw_http_api_printf(&ctx->out, ":");
        bw_http_api_upstream(&ctx->out, uscfp[i]);
    }

    bw_http_api_printf(&ctx->out, "}\n");
    ctx->status = BW_HTTP_OK;
    return BW_OK;
}

static bw_int_t
bw_http_api_method(bw_http_api_ctx_t *ctx, bw_uint_t allowed)
{
    bw_uint_t  method;

    method = ctx->r->method;
    if (method & BW_HTTP_HEAD) {
        method = BW_HTTP_GET;
    }

    if (!(method & allowed)) {
        return bw_http_api_error(ctx, BW_HTTP_NOT_ALLOWED,
                                 "MethodNotSupported",
                                 "method not supported");
    }

    if (!(method & BW_HTTP_GET) && !ctx->write) {
        return bw_http_api_error(ctx, BW_HTTP_NOT_ALLOWED, "MethodDisabled",
                                 "method disabled");
    }


    return BW_OK;
}

bw_int_t
bw_http_api_upstreams(bw_http_api_ctx_t *ctx)
{
    bw_int_t                      id;
    bw_upstream_rr_peer_t        *peer;
    bw_upstream_rr_peers_t       *peers, *set;
    bw_http_upstream_srv_conf_t  *uscf;

    /* seg: 0 version, 1 "http", 2 "upstreams", 3 name, 4 "servers",
     * 5 id */
    if (ctx->nsegs == 3) {
        if (bw_http_api_method(ctx, BW_HTTP_GET) != BW_OK) {
            return BW_ERROR;
        }
        return bw_http_api_all(ctx);
    }

    uscf = bw_http_api_find_upstream(ctx->r, &ctx->seg[3]);
    if (uscf == NULL) {
        return bw_http_api_error(ctx, BW_HTTP_NOT_FOUND, "UpstreamNotFound",
                                 "upstream not found");
    }

    if (ctx->nsegs > 6
        || (ctx->nsegs >= 5 && !bw_str_eq_lit(&ctx->seg[4], "servers")))
    {
        return bw_http_api_error(ctx, BW_HTTP_NOT_FOUND, "PathNotFound",
                                 "path not found");
    }

    if (!bw_http_api_dynamic(uscf)) {
        return bw_http_api_error(ctx, BW_HTTP_BAD_REQUEST, "UpstreamStatic",
                                 "upstream is static");
    }

    peers = uscf->peer.data;

    if (!(ctx->r->method & (BW_HTTP_GET|BW_HTTP_HEAD))
        && (bw_exiting || bw_quit || peers->shared->retired))
    {
        /* a configuration being replaced: its zone is not the one that
         * will serve, so a change here would be lost */
        ctx->r->keepalive = 0;
        return bw_http_api_error(ctx, BW_HTTP_SERVICE_UNAVAILABLE,
                                 "ServiceUnavailable", "the configuration "
                                 "is being reloaded: retry");
    }

    if (ctx->nsegs == 4) {
        if (bw_http_api_method(ctx, BW_HTTP_GET) != BW_OK) {
            return BW_ERROR;
        }
        bw_http_api_upstream(&ctx->out, uscf);
        bw_http_api_printf(&ctx->out, "\n");
        ctx->status = BW_HTTP_OK;
        return BW_OK;
    }

    if (ctx->nsegs == 5) {
        if (bw_http_api_method(ctx, BW_HTTP_GET|BW_HTTP_POST) != BW_OK) {
            return BW_ERROR;
        }
        if (ctx->r->method & BW_HTTP_POST) {
            return bw_http_api_add(ctx, uscf);
        }
        bw_http_api_servers(&ctx->out, peers);
        bw_http_api_printf(&ctx->out, "\n");
        ctx->status = BW_HTTP_OK;
        return BW_OK;
    }

    if (bw_http_api_method(ctx, BW_HTTP_GET|BW_HTTP_PATCH|BW_HTTP_DELETE)
        != BW_OK)
    {
        return BW_ERROR;
    }

    id = bw_atoi(ctx->seg[5].data, ctx->seg[5].len);
    if (id == BW_ERROR) {
        return bw_http_api_error(ctx, BW_HTTP_BAD_REQUEST,
                                 "UpstreamBadServerId", "invalid server ID "
                                 "\"%.*s\"", (int) ctx->seg[5].len,
                                 ctx->seg[5].data);
    }

    if (ctx->r->method & BW_HTTP_PATCH) {
        return bw_http_api_modify(ctx, uscf, (bw_uint_t) id);
    }

    if (ctx->r->method & BW_HTTP_DELETE) {
        return bw_http_api_delete(ctx, uscf, (bw_uint_t) id);
    }

    bw_shmtx_lock(peers->shpool);
    peer = bw_upstream_rr_find(peers, (bw_uint_t) id, &set);
    if (peer) {
        bw_http_api_server(&ctx->out, peer, set != peers);
    }
    bw_shmtx_unlock(peers->shpool);

    if (peer == NULL) {
        return bw_http_api_error(ctx, BW_HTTP_NOT_FOUND,
                                 "UpstreamServerNotFound",
                                 "server with ID \"%ld\" does not exist",
                                 (long) id);
    }

    bw_http_api_printf(&ctx->out, "\n");
    ctx->status = BW_HTTP_OK;
    return BW_OK;
}
