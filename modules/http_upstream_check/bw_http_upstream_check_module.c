/*
 * "health_check [interval=time] [jitter=time] [fails=n] [passes=n]
 * [uri=uri] [port=n] [match=name] [mandatory [persistent]]" in a
 * location that proxies to an upstream with a zone, and "match name {}"
 * at the http level: the directives, their checks at configuration
 * time, and each worker's timer.
 */

#include "bw_http_upstream_check.h"

#include <bw_http_proxy.h>

static void *bw_http_hc_create_main_conf(bw_conf_t *cf);
static bw_int_t bw_http_hc_postconfiguration(bw_conf_t *cf);
static char *bw_http_hc(bw_conf_t *cf, bw_command_t *cmd, void *conf);
static bw_int_t bw_http_hc_init_worker(bw_cycle_t *cycle);

static bw_command_t  bw_http_hc_commands[] = {

    { bw_string("health_check"), BW_HTTP_LOC_CONF|BW_CONF_ANY,
      bw_http_hc, BW_HTTP_MAIN_CONF_OFFSET, 0, NULL },

    { bw_string("match"), BW_HTTP_MAIN_CONF|BW_CONF_BLOCK|BW_CONF_TAKE1,
      bw_http_hc_match_block, BW_HTTP_MAIN_CONF_OFFSET, 0, NULL },

    bw_null_command
};

static bw_http_module_t  bw_http_hc_module_ctx = {
    NULL, bw_http_hc_postconfiguration,
    bw_http_hc_create_main_conf, NULL,
    NULL, NULL,
    NULL, NULL
};

bw_module_t  bw_http_upstream_check_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_hc_module_ctx,
    bw_http_hc_commands, NULL, bw_http_hc_init_worker, NULL, NULL
};

static void *
bw_http_hc_create_main_conf(bw_conf_t *cf)
{
    bw_http_hc_main_conf_t  *hmcf;

    hmcf = bw_pcalloc(cf->pool, sizeof(bw_http_hc_main_conf_t));
    if (hmcf == NULL) {
        return NULL;
    }

    if (bw_array_init(&hmcf->checks, cf->pool, 2, sizeof(bw_http_hc_t *))
        != BW_OK
        || bw_array_init(&hmcf->matches, cf->pool, 2,
                         sizeof(bw_http_hc_match_t *)) != BW_OK)
    {
        return NULL;
    }

    return hmcf;
}

static bw_int_t
bw_http_hc_time(bw_str_t *v, size_t skip, bw_msec_t *t)
{
    bw_str_t  s;
    bw_int_t  n;

    s.data = v->data + skip;
    s.len = v->len - skip;
    n = bw_parse_time(&s, 0);
    if (n == BW_ERROR) {
        return BW_ERROR;
    }
    *t = (bw_msec_t) n;
    return BW_OK;
}

static bw_module_t *bw_http_hc_proxy_module(void);

static char *
bw_http_hc_parse(bw_conf_t *cf, bw_http_hc_main_conf_t *hmcf)
{
    bw_int_t                   n;
    bw_str_t                  *value, name;
    bw_uint_t                  i, j;
    bw_http_hc_t              *hc, **hcp;
    bw_http_hc_match_t        *m, **mp;
    bw_http_proxy_loc_conf_t  *plcf;

    value = cf->args->elts;

    hc = bw_pcalloc(cf->pool, sizeof(bw_http_hc_t));
    hcp = bw_array_push(&hmcf->checks);
    if (hc == NULL || hcp == NULL) {
        return BW_CONF_ERROR;
    }
    *hcp = hc;

    hc->interval = 5000;
    hc->fails = 1;
    hc->passes = 1;
    bw_str_set(&hc->uri, "/");
    hc->file = cf->conf_file->name.data;
    hc->line = cf->conf_file->line;
    for (i = 1; i < cf->args->nelts; i++) {

        if (strncmp((char *) value[i].data, "interval=", 9) == 0) {
            if (bw_http_hc_time(&value[i], 9, &hc->interval) != BW_OK
                || hc->interval == 0)
            {
                goto invalid;
            }
            continue;
        }

        if (strncmp((char *) value[i].data, "jitter=", 7) == 0) {
            if (bw_http_hc_time(&value[i], 7, &hc->jitter) != BW_OK) {
                goto invalid;
            }
            continue;
        }

        if (strncmp((char *) value[i].data, "fails=", 6) == 0) {
            n = bw_atoi(value[i].data + 6, value[i].len - 6);
            if (n < 1) {
                goto invalid;
            }
            hc->fails = (bw_uint_t) n;
            continue;
        }

        if (strncmp((char *) value[i].data, "passes=", 7) == 0) {
            n = bw_atoi(value[i].data + 7, value[i].len - 7);
            if (n < 1) {
                goto invalid;
            }
            hc->passes = (bw_uint_t) n;
            continue;
        }

        if (strncmp((char *) value[i].data, "uri=", 4) == 0) {
            hc->uri.data = value[i].data + 4;
            hc->uri.len = value[i].len - 4;
            if (hc->uri.len == 0 || hc->uri.data[0] != '/') {
                goto invalid;
            }
            for (j = 0; j < hc->uri.len; j++) {
                if (hc->uri.data[j] <= ' ' || hc->uri.data[j] == 0x7f) {
                    goto invalid;
                }
            }
            continue;
        }

        if (strncmp((char *) value[i].data, "port=", 5) == 0) {
            n = bw_atoi(value[i].data + 5, value[i].len - 5);
            if (n < 1 || n > 65535) {
                goto invalid;
            }
            hc->port = (in_port_t) n;
            continue;
        }

        if (strncmp((char *) value[i].data, "match=", 6) == 0) {
            name.data = value[i].data + 6;
            name.len = value[i].len - 6;

            /* the block may come later in the file */
            m = NULL;
            mp = hmcf->matches.elts;
            for (j = 0; j < hmcf->matches.nelts; j++) {
                if (mp[j]->name.len == name.len
                    && memcmp(mp[j]->name.data, name.data, name.len) == 0)
                {
                    m = mp[j];
                }
            }
            if (m == NULL) {
                m = bw_pcalloc(cf->pool, sizeof(bw_http_hc_match_t));
                mp = bw_array_push(&hmcf->matches);
                if (m == NULL || mp == NULL) {
                    return BW_CONF_ERROR;
                }
                *mp = m;
                m->name = name;
            }
            m->used = 1;
            hc->match = m;
            continue;
        }

        if (bw_str_eq_lit(&value[i], "mandatory")) {
            hc->mandatory = 1;
            continue;
        }

        if (bw_str_eq_lit(&value[i], "persistent") && hc->mandatory) {
            hc->persistent = 1;
            continue;
        }

        goto invalid;
    }

    plcf = ((bw_http_conf_ctx_t *) cf->ctx)
               ->loc_conf[bw_http_hc_proxy_module()->ctx_index];
    hc->conf = &plcf->upstream;

    return BW_CONF_OK;

invalid:

    bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid parameter \"%s\"",
                      value[i].data);
    return BW_CONF_ERROR;
}

/* The proxy module, found by its name: a build may leave it out, and
 * this module's object is not compiled again when it does. */
static bw_module_t *
bw_http_hc_proxy_module(void)
{
    bw_uint_t  i;

    for (i = 0; bw_modules[i]; i++) {
        if (strcmp(bw_modules[i]->name, "http_proxy") == 0) {
            return bw_modules[i];
        }
    }

    return NULL;
}

static char *
bw_http_hc(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    if (bw_http_hc_proxy_module() == NULL) {
        return "needs the http_proxy module, which this build leaves out";
    }

    return bw_http_hc_parse(cf, conf);
}

/* Each check to its upstream, now that every location is known. */
static bw_int_t
bw_http_hc_postconfiguration(bw_conf_t *cf)
{
    bw_uint_t                      i, j;
    bw_http_hc_t                 **hcp;
    bw_http_hc_match_t           **mp;
    bw_http_upstream_srv_conf_t   *uscf;
    bw_http_hc_main_conf_t        *hmcf;

    hmcf = bw_http_conf_get_module_main_conf(cf, bw_http_upstream_check_module);
    hcp = hmcf->checks.elts;
    mp = hmcf->matches.elts;

    for (i = 0; i < hmcf->matches.nelts; i++) {
        if (mp[i]->used && !mp[i]->defined) {
            bw_log_error(BW_LOG_EMERG, cf->log, 0, "match \"%.*s\" of a "
                         "health_check is not defined",
                         (int) mp[i]->name.len, mp[i]->name.data);
            return BW_ERROR;
        }
    }

    for (i = 0; i < hmcf->checks.nelts; i++) {
        uscf = hcp[i]->conf->upstream;

        if (uscf == NULL || uscf->implicit || uscf->shm_zone == NULL) {
            bw_log_error(BW_LOG_EMERG, cf->log, 0, "health_check needs "
                         "proxy_pass to an upstream with a zone in %s:%lu",
                         hcp[i]->file, (unsigned long) hcp[i]->line);
            return BW_ERROR;
        }

        /* several checks of one upstream: each its own schedule and
         * results in the peers, any failing one takes a peer out */
        hcp[i]->index = 0;
        for (j = 0; j < i; j++) {
            if (hcp[j]->upstream == uscf) {
                hcp[i]->index++;
            }
        }
        if (hcp[i]->index == BW_UPSTREAM_HC_MAX) {
            bw_log_error(BW_LOG_EMERG, cf->log, 0, "upstream \"%.*s\" has "
                         "more than %d health_checks in %s:%lu",
                         (int) uscf->host.len, uscf->host.data,
                         BW_UPSTREAM_HC_MAX, hcp[i]->file,
                         (unsigned long) hcp[i]->line);
            return BW_ERROR;
        }

        hcp[i]->upstream = uscf;
        if (hcp[i]->mandatory) {
            uscf->mandatory |= 1 << hcp[i]->index;
            uscf->persistent |= hcp[i]->persistent;
        }

        /* the probe speaks as the location's proxy_pass: TLS to an
         * https:// upstream, with proxy_ssl_name when it is a constant,
         * else the upstream's name (what $proxy_host is) */
        hcp[i]->https = ((bw_http_proxy_loc_conf_t *) hcp[i]->conf)->https;
        hcp[i]->ssl_name = uscf->host;
        if (hcp[i]->conf->ssl_name && hcp[i]->conf->ssl_name->parts == NULL) {
            hcp[i]->ssl_name = hcp[i]->conf->ssl_name->value;
        }
        /* as a request takes it: the host part; an address is checked
         * but never sent */
        hcp[i]->ssl_sni = !bw_http_upstream_ssl_host_part(&hcp[i]->ssl_name);
        if (hcp[i]->https && (hcp[i]->conf->ssl == NULL
                              || hcp[i]->conf->ssl->ssl.ctx == NULL))
        {
            hcp[i]->https = 0;
        }
    }

    return BW_OK;
}

static bw_int_t
bw_http_hc_init_worker(bw_cycle_t *cycle)
{
    bw_uint_t                i;
    bw_http_hc_t           **hcp;
    bw_pool_cleanup_t       *cln;
    bw_http_hc_main_conf_t  *hmcf;

    hmcf = bw_http_cycle_get_module_main_conf(cycle,
                                              bw_http_upstream_check_module);
    if (hmcf == NULL) {
        return BW_OK;
    }

    hcp = hmcf->checks.elts;

    for (i = 0; i < hmcf->checks.nelts; i++) {
        if (((bw_upstream_rr_peers_t *) hcp[i]->upstream->peer.data)->shared
            == NULL)
        {
            continue;
        }
        hcp[i]->log = cycle->log;
        hcp[i]->cycle = cycle;
        hcp[i]->timer.handler = bw_http_hc_tick;
        hcp[i]->timer.cancelable = 1;

        cln = bw_pool_cleanup_add(cycle->pool, 0);
        if (cln == NULL) {
            return BW_ERROR;
        }
        /* the timer lives in the configuration's memory: when a single
         * process frees a configuration it reloaded away, it goes first */
        cln->handler = bw_event_cleanup_timer;
        cln->data = &hcp[i]->timer;
        hcp[i]->timer.data = hcp[i];
        hcp[i]->timer.log = cycle->log;
        /* the first look soon: mandatory peers wait for it */
        bw_event_add_timer(&hcp[i]->timer, 1);
    }

    return BW_OK;
}
