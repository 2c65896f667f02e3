/*
 * "state file" in an upstream block: the servers come from a file the
 * server writes itself (libconfig's format) instead of "server" lines,
 * and every run-time change (the admin API) rewrites it, so that what
 * the API set is what serves after a reload, a restart or a binary
 * upgrade.
 *
 * A worker never writes the file: it marks the upstream's zone as
 * changed and sends the master one byte; the master, the only writer,
 * copies the peers out under the zone's lock and writes a temporary
 * file, fsyncs it and renames it into place, so that a crash at any
 * moment leaves either the old file or the new one, never a torn one.
 * The master's writes block it; it serves no client.
 */

#include <bw_http_upstream_round_robin.h>
#include <libconfig.h>

#include "bw_http_upstream_zone.h"

#define BW_STATE_MAX_WEIGHT  1000000

/* One server as it is written: copied out of the zone under its lock. */
typedef struct {
    bw_uint_t     id;
    char         *server;        /* NUL-terminated, malloc'd */
    bw_int_t      weight;
    bw_uint_t     max_conns;
    bw_uint_t     max_fails;
    time_t        fail_timeout;
    unsigned      backup:1;
    unsigned      down:1;
} bw_http_upstream_state_server_t;

/* --- reading, at start and at reload ---------------------------------- */

static char *
bw_http_upstream_state_int(bw_conf_t *cf, bw_str_t *path,
    config_setting_t *group, const char *name, bw_int_t min, bw_int_t max,
    bw_int_t *value)
{
    config_setting_t  *s;

    s = config_setting_get_member(group, name);
    if (s == NULL) {
        return BW_CONF_OK;
    }

    if (config_setting_type(s) != CONFIG_TYPE_INT
        || config_setting_get_int(s) < min
        || config_setting_get_int(s) > max)
    {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid \"%s\" in state file "
                          "\"%s\" in line %d", name, path->data,
                          config_setting_source_line(s));
        return BW_CONF_ERROR;
    }

    *value = config_setting_get_int(s);
    return BW_CONF_OK;
}

static char *
bw_http_upstream_state_bool(bw_conf_t *cf, bw_str_t *path,
    config_setting_t *group, const char *name, bw_uint_t *value)
{
    config_setting_t  *s;

    s = config_setting_get_member(group, name);
    if (s == NULL) {
        return BW_CONF_OK;
    }

    if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid \"%s\" in state file "
                          "\"%s\" in line %d", name, path->data,
                          config_setting_source_line(s));
        return BW_CONF_ERROR;
    }

    *value = config_setting_get_bool(s);
    return BW_CONF_OK;
}

static const char  *bw_http_upstream_state_keys[] = {
    "id", "server", "weight", "max_conns", "max_fails", "fail_timeout",
    "backup", "down", NULL
};

/* One group of the list as a server of the upstream. */
static char *
bw_http_upstream_state_server(bw_conf_t *cf, bw_str_t *path,
    bw_http_upstream_srv_conf_t *uscf, config_setting_t *group,
    bw_uint_t *no_id)
{
    int                         i, line;
    bw_int_t                    id, weight, max_conns, max_fails, timeout;
    bw_uint_t                   backup, down, k;
    bw_http_upstream_server_t  *other;
    bw_url_t                    u;
    const char                 *text, **key;
    config_setting_t           *s;
    bw_http_upstream_server_t  *us;

    line = config_setting_source_line(group);

    if (!config_setting_is_group(group)) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "a server in state file "
                          "\"%s\" is not a group in line %d", path->data,
                          line);
        return BW_CONF_ERROR;
    }

    for (i = 0; i < config_setting_length(group); i++) {
        s = config_setting_get_elem(group, (unsigned) i);
        for (key = bw_http_upstream_state_keys; *key; key++) {
            if (strcmp(*key, config_setting_name(s)) == 0) {
                break;
            }
        }
        if (*key == NULL) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0, "unknown \"%s\" in state "
                              "file \"%s\" in line %d", config_setting_name(s),
                              path->data, config_setting_source_line(s));
            return BW_CONF_ERROR;
        }
    }

    if (config_setting_lookup_string(group, "server", &text) != CONFIG_TRUE
        || *text == '\0')
    {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "a server without \"server\" "
                          "in state file \"%s\" in line %d", path->data,
                          line);
        return BW_CONF_ERROR;
    }

    id = -1;
    weight = 1;
    max_conns = 0;
    max_fails = 1;
    timeout = 10;
    backup = 0;
    down = 0;

    if (bw_http_upstream_state_int(cf, path, group, "id", 0, INT32_MAX - 1,
                                   &id)
        != BW_CONF_OK
        || bw_http_upstream_state_int(cf, path, group, "weight", 1,
                                      BW_STATE_MAX_WEIGHT, &weight)
           != BW_CONF_OK
        || bw_http_upstream_state_int(cf, path, group, "max_conns", 0,
                                      INT32_MAX, &max_conns) != BW_CONF_OK
        || bw_http_upstream_state_int(cf, path, group, "max_fails", 0,
                                      INT32_MAX, &max_fails) != BW_CONF_OK
        || bw_http_upstream_state_int(cf, path, group, "fail_timeout", 0,
                                      INT32_MAX, &timeout) != BW_CONF_OK
        || bw_http_upstream_state_bool(cf, path, group, "backup", &backup)
           != BW_CONF_OK
        || bw_http_upstream_state_bool(cf, path, group, "down", &down)
           != BW_CONF_OK)
    {
        return BW_CONF_ERROR;
    }

    /* ids were given out by the API: each once (one a file left out is
     * given after the largest, once all are read) */
    other = uscf->servers->elts;
    for (k = 0; id != -1 && k < uscf->servers->nelts; k++) {
        if (!no_id[k] && other[k].id == (bw_uint_t) id) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0, "duplicate \"id\" %ld in "
                              "state file \"%s\" in line %d", (long) id,
                              path->data, line);
            return BW_CONF_ERROR;
        }
    }
    no_id[uscf->servers->nelts] = (id == -1);

    if (backup && !(uscf->flags & BW_HTTP_UPSTREAM_BACKUP)) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "balancing method does not "
                          "support \"backup\" (state file \"%s\" in line %d)",
                          path->data, line);
        return BW_CONF_ERROR;
    }

    us = bw_array_push(uscf->servers);
    if (us == NULL) {
        return BW_CONF_ERROR;
    }
    bw_memzero(us, sizeof(bw_http_upstream_server_t));

    bw_memzero(&u, sizeof(bw_url_t));
    u.url.len = strlen(text);
    u.url.data = bw_pnalloc(cf->pool, u.url.len + 1);
    if (u.url.data == NULL) {
        return BW_CONF_ERROR;
    }
    memcpy(u.url.data, text, u.url.len + 1);
    u.default_port = 80;

    if (bw_parse_url(cf->pool, &u) != BW_OK) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "%s in \"%s\" in state file "
                          "\"%s\" in line %d", u.err ? u.err : "invalid server",
                          text, path->data, line);
        return BW_CONF_ERROR;
    }

    us->name = u.url;
    if (bw_http_upstream_url_addrs(cf, &u, us) != BW_OK) {
        return BW_CONF_ERROR;
    }
    if (us->naddrs != 1) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "\"%s\" in state file \"%s\" "
                          "in line %d is not one address", text, path->data,
                          line);
        return BW_CONF_ERROR;
    }

    us->id = id == -1 ? 0 : (bw_uint_t) id;
    us->weight = (bw_uint_t) weight;
    us->max_conns = (bw_uint_t) max_conns;
    us->max_fails = (bw_uint_t) max_fails;
    us->fail_timeout = (time_t) timeout;
    us->backup = backup;
    us->down = down;

    return BW_CONF_OK;
}

char *
bw_http_upstream_state(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    int                           i, n;
    char                         *rv;
    bw_uint_t                    *no_id, k, next;
    bw_http_upstream_server_t    *us;
    bw_str_t                     *value, path;
    config_t                      cfg;
    config_setting_t             *list;
    bw_http_upstream_srv_conf_t  *uscf;

    uscf = bw_http_upstream_current(cf);

    if (uscf->state.len) {
        return "is duplicate";
    }

    if (uscf->servers->nelts) {
        return "is incompatible with \"server\"";
    }

    value = cf->args->elts;
    path = value[1];
    if (bw_conf_full_name(cf->cycle, &path, 0) != BW_OK) {
        return BW_CONF_ERROR;
    }
    uscf->state = path;

    bw_http_upstream_zone_set_writer();

    if (access((char *) path.data, F_OK) == -1 && errno == ENOENT) {
        /* the first run: the API fills it */
        return BW_CONF_OK;
    }

    config_init(&cfg);

    if (config_read_file(&cfg, (char *) path.data) != CONFIG_TRUE) {
        if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO) {
            bw_conf_log_error(BW_LOG_EMERG, cf, errno, "cannot read state "
                              "file \"%s\"", path.data);
        } else {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid state file "
                              "\"%s\": %s in line %d", path.data,
                              config_error_text(&cfg),
                              config_error_line(&cfg));
        }
        config_destroy(&cfg);
        return BW_CONF_ERROR;
    }

    rv = BW_CONF_ERROR;

    list = config_lookup(&cfg, "servers");
    if (list == NULL || !config_setting_is_list(list)) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "state file \"%s\" has no "
                          "\"servers\" list", path.data);
        goto done;
    }

    n = config_setting_length(list);
    if (n > BW_UPSTREAM_RR_MAX_PEERS * 2) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "too many servers in state "
                          "file \"%s\"", path.data);
        goto done;
    }

    no_id = bw_pcalloc(cf->temp_pool, (n + 1) * sizeof(bw_uint_t));
    if (no_id == NULL) {
        goto done;
    }

    for (i = 0; i < n; i++) {
        if (bw_http_upstream_state_server(cf, &path, uscf,
                config_setting_get_elem(list, (unsigned) i), no_id)
            != BW_CONF_OK)
        {
            goto done;
        }
    }

    next = 0;
    us = uscf->servers->elts;
    for (k = 0; k < uscf->servers->nelts; k++) {
        if (!no_id[k] && us[k].id >= next) {
            next = us[k].id + 1;
        }
    }
    for (k = 0; k < uscf->servers->nelts; k++) {
        if (no_id[k]) {
            if (next >= INT32_MAX - 1) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0, "no \"id\" left for "
                                  "the servers without one in state file "
                                  "\"%s\"", path.data);
                goto done;
            }
            us[k].id = next++;
        }
    }

    rv = BW_CONF_OK;

done:

    config_destroy(&cfg);
    return rv;
}

/* --- writing, in the master ------------------------------------------- */

/* The servers of both sets, copied out (malloc'd); -1 on no memory. */
static bw_int_t
bw_http_upstream_state_copy(bw_upstream_rr_peers_t *peers,
    bw_http_upstream_state_server_t *out)
{
    bw_uint_t                         i, n, backup;
    bw_upstream_rr_peer_t            *peer;
    bw_upstream_rr_peers_t           *set;
    bw_http_upstream_state_server_t  *o;

    n = 0;
    backup = 0;

    for (set = peers; set; set = set->next, backup = 1) {
        for (i = 0; i < set->number; i++) {
            peer = &set->peer[i];
            /* a draining server is on its way out */
            if (peer->removed || peer->drain) {
                continue;
            }
            o = &out[n];
            o->server = malloc(peer->server.len + 1);
            if (o->server == NULL) {
                return -(bw_int_t) n - 1;
            }
            memcpy(o->server, peer->server.data, peer->server.len);
            o->server[peer->server.len] = '\0';
            o->id = peer->id;
            o->weight = peer->weight;
            o->max_conns = peer->max_conns;
            o->max_fails = peer->max_fails;
            o->fail_timeout = peer->fail_timeout;
            o->backup = backup;
            o->down = peer->down;
            n++;
        }
    }

    return (bw_int_t) n;
}

static void
bw_http_upstream_state_set(config_setting_t *group, const char *name,
    int type, long long v, const char *str)
{
    config_setting_t  *s;

    s = config_setting_add(group, name, type);
    if (s == NULL) {
        return;
    }
    if (type == CONFIG_TYPE_STRING) {
        config_setting_set_string(s, str);
    } else if (type == CONFIG_TYPE_BOOL) {
        config_setting_set_bool(s, (int) v);
    } else {
        config_setting_set_int(s, (int) v);
    }
}

static bw_int_t
bw_http_upstream_state_save(bw_cycle_t *cycle, bw_str_t *path,
    bw_http_upstream_state_server_t *srv, bw_int_t n)
{
    int                fd;
    char               tmp[PATH_MAX], dir[PATH_MAX], *slash;
    bw_int_t           i, rc;
    config_t           cfg;
    config_setting_t  *list, *g;

    if (path->len + sizeof(".4294967295.tmp") > sizeof(tmp)) {
        return BW_ERROR;
    }
    /* the master's own: during a binary upgrade two masters write */
    snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", (char *) path->data,
             (long) getpid());

    config_init(&cfg);
    list = config_setting_add(config_root_setting(&cfg), "servers",
                              CONFIG_TYPE_LIST);
    for (i = 0; list && i < n; i++) {
        g = config_setting_add(list, NULL, CONFIG_TYPE_GROUP);
        if (g == NULL) {
            break;
        }
        bw_http_upstream_state_set(g, "id", CONFIG_TYPE_INT,
                                   (long long) srv[i].id, NULL);
        bw_http_upstream_state_set(g, "server", CONFIG_TYPE_STRING, 0,
                                   srv[i].server);
        bw_http_upstream_state_set(g, "weight", CONFIG_TYPE_INT,
                                   srv[i].weight, NULL);
        bw_http_upstream_state_set(g, "max_conns", CONFIG_TYPE_INT,
                                   (long long) srv[i].max_conns, NULL);
        bw_http_upstream_state_set(g, "max_fails", CONFIG_TYPE_INT,
                                   (long long) srv[i].max_fails, NULL);
        bw_http_upstream_state_set(g, "fail_timeout", CONFIG_TYPE_INT,
                                   (long long) srv[i].fail_timeout, NULL);
        bw_http_upstream_state_set(g, "backup", CONFIG_TYPE_BOOL,
                                   srv[i].backup, NULL);
        bw_http_upstream_state_set(g, "down", CONFIG_TYPE_BOOL,
                                   srv[i].down, NULL);
    }

    rc = BW_ERROR;

    if (list == NULL || i < n || config_write_file(&cfg, tmp) != CONFIG_TRUE) {
        bw_log_error(BW_LOG_ALERT, cycle->log, errno,
                     "cannot write state file \"%s\"", tmp);
        goto done;
    }

    /* the bytes are on the disk before the name points at them */
    fd = open(tmp, O_RDONLY);
    if (fd == -1 || fsync(fd) == -1) {
        bw_log_error(BW_LOG_ALERT, cycle->log, errno,
                     "fsync() of \"%s\" failed", tmp);
        if (fd != -1) {
            close(fd);
        }
        goto done;
    }
    close(fd);

    if (rename(tmp, (char *) path->data) == -1) {
        bw_log_error(BW_LOG_ALERT, cycle->log, errno,
                     "rename() of \"%s\" to \"%s\" failed", tmp, path->data);
        goto done;
    }

    /* and the rename itself is kept */
    snprintf(dir, sizeof(dir), "%s", (char *) path->data);
    slash = strrchr(dir, '/');
    if (slash) {
        *(slash == dir ? slash + 1 : slash) = '\0';
        fd = open(dir, O_RDONLY | O_DIRECTORY);
        if (fd != -1) {
            (void) fsync(fd);
            close(fd);
        }
    }

    rc = BW_OK;

done:

    if (rc != BW_OK) {
        (void) unlink(tmp);
    }
    config_destroy(&cfg);
    return rc;
}

static void
bw_http_upstream_state_writer(bw_cycle_t *cycle)
{
    bw_int_t                           n, k;
    bw_uint_t                          i;
    bw_upstream_rr_peers_t            *peers;
    bw_http_upstream_srv_conf_t      **uscfp;
    bw_http_upstream_main_conf_t      *umcf;
    bw_http_upstream_state_server_t   *srv;

    umcf = bw_http_cycle_get_module_main_conf(cycle, bw_http_upstream_module);
    if (umcf == NULL) {
        return;
    }
    uscfp = umcf->upstreams.elts;

    srv = malloc(2 * BW_UPSTREAM_RR_MAX_PEERS
                 * sizeof(bw_http_upstream_state_server_t));
    if (srv == NULL) {
        return;
    }

    for (i = 0; i < umcf->upstreams.nelts; i++) {
        peers = uscfp[i]->peer.data;
        if (uscfp[i]->state.len == 0 || peers == NULL
            || peers->shared == NULL)
        {
            continue;
        }

        bw_shmtx_lock(peers->shpool);
        if (!peers->shared->changed) {
            bw_shmtx_unlock(peers->shpool);
            continue;
        }
        peers->shared->changed = 0;
        n = bw_http_upstream_state_copy(peers, srv);
        bw_shmtx_unlock(peers->shpool);

        if (n >= 0 && bw_http_upstream_state_save(cycle, &uscfp[i]->state,
                                                  srv, n) == BW_OK)
        {
            bw_log_error(BW_LOG_INFO, cycle->log, 0,
                         "upstream \"%.*s\": state file \"%s\" written, "
                         "%ld servers", (int) uscfp[i]->host.len,
                         uscfp[i]->host.data, uscfp[i]->state.data, (long) n);
        } else {
            /* behind still: the next change tries again */
            bw_shmtx_lock(peers->shpool);
            peers->shared->changed = 1;
            bw_shmtx_unlock(peers->shpool);
        }

        if (n < 0) {
            n = -n - 1;
        }
        for (k = 0; k < n; k++) {
            free(srv[k].server);
        }
    }

    free(srv);
}

/* In a worker, after a change to a zone's peers. */
static void
bw_http_upstream_state_changed(bw_upstream_rr_peers_t *peers)
{
    if (peers->shared && peers->shared->state) {
        bw_process_state_changed();
    }
}

void
bw_http_upstream_zone_set_writer(void)
{
    bw_state_writer = bw_http_upstream_state_writer;
    bw_http_upstream_rr_changed = bw_http_upstream_state_changed;
}
