/*
 * The phase engine: the checkers that walk a request through the
 * flattened handler array, location lookup, and internal redirects.
 */

#include <bw_http.h>

/* bw_http_find_location: "/x" asked for where "location /x/" proxies */
#define BW_HTTP_LOC_REDIRECT  -100

static void bw_http_location_redirect(bw_http_request_t *r,
    bw_http_core_loc_conf_t *clcf);
static bw_int_t bw_http_find_location(bw_http_request_t *r,
    bw_http_core_loc_conf_t *pclcf);

void
bw_http_handler(bw_http_request_t *r)
{
    bw_http_core_main_conf_t  *cmcf;

    if (!r->internal) {
        switch (r->headers_in.connection_type) {
        case 0:
            r->keepalive = (r->http_version > BW_HTTP_VERSION_10);
            break;
        case BW_HTTP_CONNECTION_CLOSE:
            r->keepalive = 0;
            break;
        case BW_HTTP_CONNECTION_KEEP_ALIVE:
            r->keepalive = 1;
            break;
        }
        r->lingering_close = (r->headers_in.content_length_n > 0
                              || r->headers_in.chunked);
        r->phase_handler = 0;

    } else {
        cmcf = r->main_conf[bw_http_core_module.ctx_index];
        r->phase_handler = cmcf->phase_engine.server_rewrite_index;
    }

    r->write_event_handler = bw_http_core_run_phases;
    bw_http_core_run_phases(r);
}

void
bw_http_core_run_phases(bw_http_request_t *r)
{
    bw_int_t                   rc;
    bw_http_phase_handler_t   *ph;
    bw_http_core_main_conf_t  *cmcf;

    cmcf = r->main_conf[bw_http_core_module.ctx_index];
    ph = cmcf->phase_engine.handlers;

    while (ph[r->phase_handler].checker) {
        rc = ph[r->phase_handler].checker(r, &ph[r->phase_handler]);
        if (rc == BW_OK) {
            return;
        }
    }
}

bw_int_t
bw_http_core_generic_phase(bw_http_request_t *r, bw_http_phase_handler_t *ph)
{
    bw_int_t  rc;

    bw_log_debug(r->connection->log, "generic phase: %lu",
                 (unsigned long) r->phase_handler);

    rc = ph->handler(r);

    if (rc == BW_OK) {
        r->phase_handler = ph->next;
        return BW_AGAIN;
    }
    if (rc == BW_DECLINED) {
        r->phase_handler++;
        return BW_AGAIN;
    }
    if (rc == BW_AGAIN || rc == BW_DONE) {
        return BW_OK;
    }

    bw_http_finalize_request(r, rc);
    return BW_OK;
}

bw_int_t
bw_http_core_rewrite_phase(bw_http_request_t *r, bw_http_phase_handler_t *ph)
{
    bw_int_t  rc;

    bw_log_debug(r->connection->log, "rewrite phase: %lu",
                 (unsigned long) r->phase_handler);

    rc = ph->handler(r);

    if (rc == BW_DECLINED) {
        r->phase_handler++;
        return BW_AGAIN;
    }
    if (rc == BW_DONE) {
        return BW_OK;
    }

    bw_http_finalize_request(r, rc);
    return BW_OK;
}

/* 301 to the location's name (escaped, as nginx), with the request's
 * arguments */
static void
bw_http_location_redirect(bw_http_request_t *r, bw_http_core_loc_conf_t *clcf)
{
    u_char          *p;
    size_t           len;
    bw_str_t         value;
    bw_table_elt_t  *h;

    len = clcf->name.len + bw_escape_uri_len(clcf->name.data, clcf->name.len,
                                             BW_URI_ESCAPE_PATH)
          + 1 + r->args.len;
    p = bw_pnalloc(r->pool, len);
    if (p == NULL) {
        bw_http_finalize_request(r, BW_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    value.data = p;
    p = bw_escape_uri(p, clcf->name.data, clcf->name.len, BW_URI_ESCAPE_PATH);
    if (r->args.len) {
        *p++ = '?';
        p = bw_cpymem(p, r->args.data, r->args.len);
    }
    value.len = p - value.data;

    bw_http_clear_location(r);
    h = bw_http_add_header_out(r, "Location", &value);
    if (h == NULL) {
        bw_http_finalize_request(r, BW_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }
    r->headers_out.location = h;

    bw_http_finalize_request(r, BW_HTTP_MOVED_PERMANENTLY);
}

bw_int_t
bw_http_core_find_config_phase(bw_http_request_t *r,
    bw_http_phase_handler_t *ph)
{
    bw_int_t                  rc;
    bw_http_core_loc_conf_t  *clcf;
    bw_http_core_srv_conf_t  *cscf;

    r->content_handler = NULL;
    r->uri_changed = 0;
    r->valid_location = 1;

    cscf = r->srv_conf[bw_http_core_module.ctx_index];
    r->loc_conf = cscf->ctx->loc_conf;

    rc = bw_http_core_find_location(r);
    if (rc == BW_ERROR) {
        bw_http_finalize_request(r, BW_HTTP_INTERNAL_SERVER_ERROR);
        return BW_OK;
    }

    clcf = r->loc_conf[bw_http_core_module.ctx_index];

    if (rc == BW_DONE) {
        bw_http_location_redirect(r, clcf);
        return BW_OK;
    }

    if (!r->internal && clcf->internal) {
        bw_http_finalize_request(r, BW_HTTP_NOT_FOUND);
        return BW_OK;
    }

    bw_http_update_location_config(r);

    bw_log_debug(r->connection->log, "using configuration \"%s%.*s\"",
                 clcf->exact_match ? "=" : clcf->regex ? "~" : "",
                 (int) clcf->name.len, clcf->name.data);

    if (clcf->client_max_body_size
        && r->headers_in.content_length_n > clcf->client_max_body_size)
    {
        bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                     "client intended to send too large body: %lld bytes",
                     (long long) r->headers_in.content_length_n);
        r->keepalive = 0;
        r->lingering_close = 1;
        bw_http_finalize_request(r, BW_HTTP_REQUEST_ENTITY_TOO_LARGE);
        return BW_OK;
    }

    r->phase_handler++;
    return BW_AGAIN;
}

bw_int_t
bw_http_core_post_rewrite_phase(bw_http_request_t *r,
    bw_http_phase_handler_t *ph)
{
    if (!r->uri_changed) {
        r->phase_handler++;
        return BW_AGAIN;
    }

    if (--r->uri_changes == 0) {
        bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                     "rewrite or internal redirection cycle "
                     "while processing \"%.*s\"",
                     (int) r->uri.len, r->uri.data);
        bw_http_finalize_request(r, BW_HTTP_INTERNAL_SERVER_ERROR);
        return BW_OK;
    }

    r->phase_handler = ph->next;
    return BW_AGAIN;
}

/*
 * Access checks, as nginx: with "satisfy all" every module must allow;
 * with "satisfy any" one allowing module is enough, and a refusal is
 * remembered (401 over 403) until the post-access step answers it.
 * Internal redirects are checked again; subrequests are not.
 */
static bw_int_t bw_http_core_auth_delay(bw_http_request_t *r);
static void bw_http_core_auth_delay_handler(bw_http_request_t *r);

bw_int_t
bw_http_core_access_phase(bw_http_request_t *r, bw_http_phase_handler_t *ph)
{
    bw_int_t                  rc;
    bw_table_elt_t           *h;
    bw_http_core_loc_conf_t  *clcf;

    if (r != r->main) {
        r->phase_handler = ph->next;
        return BW_AGAIN;
    }

    bw_log_debug(r->connection->log, "access phase: %lu",
                 (unsigned long) r->phase_handler);

    rc = ph->handler(r);

    if (rc == BW_DECLINED) {
        r->phase_handler++;
        return BW_AGAIN;
    }
    if (rc == BW_AGAIN || rc == BW_DONE) {
        return BW_OK;
    }

    clcf = r->loc_conf[bw_http_core_module.ctx_index];

    if (clcf->satisfy == BW_HTTP_SATISFY_ALL) {
        if (rc == BW_OK) {
            r->phase_handler++;
            return BW_AGAIN;
        }

    } else {
        if (rc == BW_OK) {
            r->access_code = 0;
            for (h = r->headers_out.www_authenticate; h; h = h->next) {
                h->hash = 0;
            }
            r->headers_out.www_authenticate = NULL;
            r->phase_handler = ph->next;
            return BW_AGAIN;
        }

        if (rc == BW_HTTP_FORBIDDEN || rc == BW_HTTP_UNAUTHORIZED) {
            if (r->access_code != BW_HTTP_UNAUTHORIZED) {
                r->access_code = rc;
            }
            r->phase_handler++;
            return BW_AGAIN;
        }
    }

    if (rc == BW_HTTP_UNAUTHORIZED) {
        return bw_http_core_auth_delay(r);
    }

    bw_http_finalize_request(r, rc);
    return BW_OK;
}

/*
 * auth_delay: a 401 is answered only after the delay, whatever made it,
 * so that how long a refusal takes says nothing of the password tried.
 * The worker goes on serving meanwhile (a timer, as limit_rate's).
 */
static bw_int_t
bw_http_core_auth_delay(bw_http_request_t *r)
{
    bw_event_t               *wev;
    bw_http_core_loc_conf_t  *clcf;

    clcf = r->loc_conf[bw_http_core_module.ctx_index];

    if (clcf->auth_delay == 0) {
        bw_http_finalize_request(r, BW_HTTP_UNAUTHORIZED);
        return BW_OK;
    }

    bw_log_error(BW_LOG_INFO, r->connection->log, 0,
                 "delaying unauthorized request");

    wev = r->connection->write;

    r->read_event_handler = bw_http_block_reading;
    r->write_event_handler = bw_http_core_auth_delay_handler;

    wev->delayed = 1;
    if (wev->timer_set) {
        bw_event_del_timer(wev);
    }
    bw_event_add_timer(wev, clcf->auth_delay);

    return BW_OK;
}

static void
bw_http_core_auth_delay_handler(bw_http_request_t *r)
{
    bw_event_t  *wev;

    wev = r->connection->write;

    if (wev->delayed) {
        if (!wev->timedout) {
            return;         /* writable before the time: it waits */
        }
        wev->delayed = 0;
        wev->timedout = 0;
    }

    bw_http_finalize_request(r, BW_HTTP_UNAUTHORIZED);
}

bw_int_t
bw_http_core_post_access_phase(bw_http_request_t *r,
    bw_http_phase_handler_t *ph)
{
    bw_int_t  code;

    code = (bw_int_t) r->access_code;

    if (code) {
        r->access_code = 0;
        if (code == BW_HTTP_FORBIDDEN) {
            bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                         "access forbidden by rule");
        }
        if (code == BW_HTTP_UNAUTHORIZED) {
            return bw_http_core_auth_delay(r);
        }
        bw_http_finalize_request(r, code);
        return BW_OK;
    }

    r->phase_handler++;
    return BW_AGAIN;
}

bw_int_t
bw_http_core_content_phase(bw_http_request_t *r, bw_http_phase_handler_t *ph)
{
    bw_int_t  rc;

    if (r->content_handler) {
        bw_log_debug(r->connection->log, "content handler of the location");
        r->write_event_handler = bw_http_request_empty_handler;
        bw_http_finalize_request(r, r->content_handler(r));
        return BW_OK;
    }

    bw_log_debug(r->connection->log, "content phase: %lu",
                 (unsigned long) r->phase_handler);

    rc = ph->handler(r);

    if (rc != BW_DECLINED) {
        bw_http_finalize_request(r, rc);
        return BW_OK;
    }

    ph++;
    if (ph->checker) {
        r->phase_handler++;
        return BW_AGAIN;
    }

    /* nobody served it */
    if (r->uri.len && r->uri.data[r->uri.len - 1] == '/') {
        bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                     "directory index of \"%.*s\" is forbidden",
                     (int) r->uri.len, r->uri.data);
        bw_http_finalize_request(r, BW_HTTP_FORBIDDEN);
        return BW_OK;
    }

    bw_log_error(BW_LOG_ERR, r->connection->log, 0, "no handler found");
    bw_http_finalize_request(r, BW_HTTP_NOT_FOUND);
    return BW_OK;
}

/*
 * keepalive_disable, with nginx's reading of User-Agent: MSIE 4 to 6
 * (6 without SV1) wait after a POST answered on a kept connection;
 * Safari on Mac OS X may send a POST on a connection just closed.
 */
static bw_uint_t
bw_http_keepalive_disabled(bw_http_request_t *r, bw_uint_t disable)
{
    u_char  *ua, *end, *msie;
    size_t   len;

    if (r->headers_in.user_agent == NULL
        || !(disable & (BW_HTTP_KA_DISABLE_MSIE6 | BW_HTTP_KA_DISABLE_SAFARI)))
    {
        return 0;
    }

    ua = r->headers_in.user_agent->value.data;
    len = r->headers_in.user_agent->value.len;
    end = ua + len;

    if (memmem(ua, len, "Opera", 5)) {
        return 0;
    }

    msie = memmem(ua, len, "MSIE ", 5);
    if (msie && msie + 7 < end) {
        return (disable & BW_HTTP_KA_DISABLE_MSIE6)
               && r->method == BW_HTTP_POST && msie[6] == '.'
               && (msie[5] == '4' || msie[5] == '5'
                   || (msie[5] == '6'
                       && memmem(msie + 8, end - msie - 8, "SV1", 3)
                          == NULL));
    }

    return (disable & BW_HTTP_KA_DISABLE_SAFARI)
           && memmem(ua, len, "Gecko/", 6) == NULL
           && memmem(ua, len, "Chrome/", 7) == NULL
           && memmem(ua, len, "Safari/", 7) != NULL
           && memmem(ua, len, "Mac OS X", 8) != NULL;
}

/* limit_rate, limit_rate_after or a *_limit_rate with variables: a
 * size, or none (a value that is not one is logged, as nginx) */
size_t
bw_http_limit_rate_value(bw_http_request_t *r, bw_http_complex_value_t *cv)
{
    ssize_t   n;
    bw_str_t  v;

    if (bw_http_complex_value(r, cv, &v) != BW_OK) {
        return 0;
    }

    if (v.len == 0) {
        return 0;
    }

    n = bw_parse_size(&v);
    if (n == BW_ERROR) {
        bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                     "invalid rate value \"%.*s\"", (int) v.len, v.data);
        return 0;
    }

    return (size_t) n;
}

void
bw_http_update_location_config(bw_http_request_t *r)
{
    bw_http_core_loc_conf_t  *clcf;

    clcf = r->loc_conf[bw_http_core_module.ctx_index];

    if (r->method & clcf->limit_except) {
        /* a method limit_except does not name: the block's config, with
         * the location's content handler (proxy_pass) */
        if (clcf->handler) {
            r->content_handler = clcf->handler;
        }
        r->loc_conf = clcf->limit_except_loc_conf;
        clcf = r->loc_conf[bw_http_core_module.ctx_index];
    }

    if (clcf->error_log && clcf->error_log->file) {
        r->connection->log->file = clcf->error_log->file;
        r->connection->log->log_level = clcf->error_log->log_level;
        r->connection->log->next = clcf->error_log->next;
        r->connection->log->syslog = clcf->error_log->syslog;
    }

    if (r == r->main && (clcf->keepalive_timeout == 0
                         || r->connection->requests
                            >= clcf->keepalive_requests
                         || bw_current_msec - r->connection->start_time
                            > clcf->keepalive_time
                         || bw_http_keepalive_disabled(r,
                                                   clcf->keepalive_disable)))
    {
        r->keepalive = 0;
    }

    if (clcf->sendfile) {
        r->connection->sendfile = 1;
    } else {
        r->connection->sendfile = 0;
    }

    /* "set $limit_rate" outranks the location's limit_rate */
    if (!r->limit_rate_set) {
        r->limit_rate = clcf->limit_rate_cv
                        ? bw_http_limit_rate_value(r, clcf->limit_rate_cv)
                        : clcf->limit_rate;
    }

    r->limit_rate_after = clcf->limit_rate_after_cv
                          ? bw_http_limit_rate_value(r,
                                                 clcf->limit_rate_after_cv)
                          : clcf->limit_rate_after;

    if (clcf->handler) {
        r->content_handler = clcf->handler;
    }
}

bw_int_t
bw_http_core_find_location(bw_http_request_t *r)
{
    bw_int_t                  rc;
    bw_http_core_loc_conf_t  *pclcf;

    pclcf = r->loc_conf[bw_http_core_module.ctx_index];
    rc = bw_http_find_location(r, pclcf);

    if (rc == BW_HTTP_LOC_REDIRECT) {
        return BW_DONE;
    }

    return rc == BW_ERROR ? BW_ERROR : BW_OK;
}

/*
 * nginx's order: the exact match wins at once; else the longest prefix
 * is remembered (and searched for nested locations); unless it is "^~",
 * regexes are tried in order and the first match wins; else the
 * longest prefix is used.
 * Returns BW_OK (exact), BW_DONE (regex or ^~), BW_AGAIN (prefix),
 * BW_DECLINED (none), BW_ERROR.
 */
static bw_int_t
bw_http_find_location(bw_http_request_t *r, bw_http_core_loc_conf_t *pclcf)
{
    bw_int_t                   rc, n;
    bw_uint_t                  i, noregex;
    bw_http_core_loc_conf_t  **clcfp, *best, *redirect;

    rc = BW_DECLINED;
    noregex = 0;
    best = NULL;
    redirect = NULL;

    if (pclcf->static_locations) {
        clcfp = pclcf->static_locations->elts;

        for (i = 0; i < pclcf->static_locations->nelts; i++) {
            if (clcfp[i]->auto_redirect && redirect == NULL
                && clcfp[i]->name.len == r->uri.len + 1
                && memcmp(clcfp[i]->name.data, r->uri.data, r->uri.len) == 0)
            {
                /* "/x" and a "location /x/" that hands requests on: a
                 * 301 to "/x/", unless "/x" itself is a location */
                redirect = clcfp[i];
                continue;
            }

            if (clcfp[i]->name.len > r->uri.len
                || memcmp(clcfp[i]->name.data, r->uri.data,
                          clcfp[i]->name.len) != 0)
            {
                continue;
            }

            if (clcfp[i]->exact_match) {
                if (clcfp[i]->name.len == r->uri.len) {
                    r->loc_conf = clcfp[i]->loc_conf;
                    return BW_OK;
                }
                continue;
            }

            /* sorted longest first: the first prefix match is the best */
            best = clcfp[i];
            break;
        }
    }

    if (redirect && (best == NULL || best->name.len < r->uri.len)) {
        /* as nginx: no regex is asked */
        r->loc_conf = redirect->loc_conf;
        return BW_HTTP_LOC_REDIRECT;
    }

    if (best) {
        r->loc_conf = best->loc_conf;
        noregex = best->noregex;

        if (best->static_locations || best->regex_locations) {
            n = bw_http_find_location(r, best);
            if (n == BW_OK || n == BW_DONE || n == BW_ERROR
                || n == BW_HTTP_LOC_REDIRECT)
            {
                return n;
            }
        }

        rc = noregex ? BW_DONE : BW_AGAIN;
    }

    if (noregex || pclcf->regex_locations == NULL) {
        return rc;
    }

    clcfp = pclcf->regex_locations->elts;

    for (i = 0; i < pclcf->regex_locations->nelts; i++) {
        n = bw_http_regex_exec(r, clcfp[i]->regex, &r->uri);

        if (n == BW_DECLINED) {
            continue;
        }
        if (n == BW_ERROR) {
            return BW_ERROR;
        }

        r->loc_conf = clcfp[i]->loc_conf;

        if (clcfp[i]->static_locations || clcfp[i]->regex_locations) {
            n = bw_http_find_location(r, clcfp[i]);
            if (n == BW_ERROR) {
                return n;
            }
        }

        return BW_DONE;
    }

    return rc;
}

bw_int_t
bw_http_internal_redirect(bw_http_request_t *r, bw_str_t *uri,
    bw_str_t *args)
{
    bw_http_core_srv_conf_t  *cscf;

    bw_log_debug(r->connection->log, "internal redirect: \"%.*s?%.*s\"",
                 (int) uri->len, uri->data, args ? (int) args->len : 0,
                 args ? (char *) args->data : "");

    /* the caller finalizes with BW_DONE, which drops this reference */
    r->main->count++;
    r->uri_changes--;

    if (r->uri_changes == 0) {
        bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                     "rewrite or internal redirection cycle "
                     "while internally redirecting to \"%.*s\"",
                     (int) uri->len, uri->data);
        bw_http_finalize_request(r, BW_HTTP_INTERNAL_SERVER_ERROR);
        return BW_DONE;
    }

    r->uri = *uri;
    if (args) {
        r->args = *args;
    } else {
        bw_str_null(&r->args);
    }

    bw_http_set_exten(r);

    /* module contexts belong to the old location */
    bw_memzero(r->ctx, sizeof(void *) * bw_http_max_module);

    cscf = r->srv_conf[bw_http_core_module.ctx_index];
    r->loc_conf = cscf->ctx->loc_conf;
    bw_http_update_location_config(r);

    r->internal = 1;
    r->ncaptures = 0;
    r->captures = NULL;
    r->captures_regex = NULL;

    bw_http_handler(r);
    return BW_DONE;
}

bw_int_t
bw_http_named_location(bw_http_request_t *r, bw_str_t *name)
{
    bw_uint_t                  i;
    bw_http_core_srv_conf_t   *cscf;
    bw_http_core_loc_conf_t  **clcfp;
    bw_http_core_main_conf_t  *cmcf;

    r->main->count++;
    r->uri_changes--;

    if (r->uri_changes == 0) {
        bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                     "rewrite or internal redirection cycle "
                     "while redirect to named location \"%.*s\"",
                     (int) name->len, name->data);
        bw_http_finalize_request(r, BW_HTTP_INTERNAL_SERVER_ERROR);
        return BW_DONE;
    }

    cscf = r->srv_conf[bw_http_core_module.ctx_index];

    if (cscf->named_locations) {
        clcfp = cscf->named_locations->elts;
        for (i = 0; i < cscf->named_locations->nelts; i++) {
            if (!bw_str_eq(name, &clcfp[i]->name)) {
                continue;
            }

            r->loc_conf = clcfp[i]->loc_conf;
            bw_memzero(r->ctx, sizeof(void *) * bw_http_max_module);
            bw_http_update_location_config(r);

            cmcf = r->main_conf[bw_http_core_module.ctx_index];
            r->phase_handler = cmcf->phase_engine.location_rewrite_index;
            r->write_event_handler = bw_http_core_run_phases;
            r->internal = 1;
            bw_http_core_run_phases(r);
            return BW_DONE;
        }
    }

    bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                 "could not find named location \"%.*s\"",
                 (int) name->len, name->data);
    bw_http_finalize_request(r, BW_HTTP_INTERNAL_SERVER_ERROR);
    return BW_DONE;
}
