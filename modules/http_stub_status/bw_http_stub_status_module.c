/*
 * stub_status: the connection and request counters of all workers
 * (core/event/stats.c) in nginx's text, byte for byte, so that the
 * exporters and checks written for nginx read it unchanged; and the
 * $connections_* variables.
 */

#include <bw_http.h>

static char *bw_http_stub_status(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static bw_int_t bw_http_stub_status_add_variables(bw_conf_t *cf);

static bw_command_t  bw_http_stub_status_commands[] = {

    /* "stub_status on" is what nginx before 1.7.5 wanted: still taken */
    { bw_string("stub_status"),
      BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF|BW_CONF_NOARGS|BW_CONF_TAKE1,
      bw_http_stub_status, 0, 0, NULL },

    bw_null_command
};

static bw_http_module_t  bw_http_stub_status_module_ctx = {
    bw_http_stub_status_add_variables, NULL,
    NULL, NULL,
    NULL, NULL,
    NULL, NULL
};

bw_module_t  bw_http_stub_status_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_stub_status_module_ctx,
    bw_http_stub_status_commands, NULL, NULL, NULL, NULL
};

static bw_int_t
bw_http_stub_status_handler(bw_http_request_t *r)
{
    size_t       size;
    bw_int_t     rc;
    bw_buf_t    *b;
    bw_chain_t   out;
    uint64_t     ap, hn, ac, rq, rd, wr, wa;

    if (!(r->method & (BW_HTTP_GET|BW_HTTP_HEAD))) {
        return BW_HTTP_NOT_ALLOWED;
    }

    rc = bw_http_discard_request_body(r);
    if (rc != BW_OK) {
        return rc;
    }

    ap = bw_stat_get(accepted);
    hn = bw_stat_get(handled);
    ac = bw_stat_get(active);
    rq = bw_stat_get(requests);
    rd = bw_stat_get(reading);
    wr = bw_stat_get(writing);
    wa = bw_stat_get(waiting);

    size = sizeof("Active connections:  \n") + BW_INT_T_LEN
           + sizeof("server accepts handled requests\n") - 1
           + 1 + 3 * (BW_INT_T_LEN + 1) + 1
           + sizeof("Reading:  Writing:  Waiting:  \n") + 3 * BW_INT_T_LEN;

    b = bw_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* nginx's text, its spaces before each newline included */
    b->last = bw_slprintf(b->last, b->end, "Active connections: %llu \n",
                          (unsigned long long) ac);
    b->last = bw_cpymem(b->last, "server accepts handled requests\n",
                        sizeof("server accepts handled requests\n") - 1);
    b->last = bw_slprintf(b->last, b->end, " %llu %llu %llu \n",
                          (unsigned long long) ap, (unsigned long long) hn,
                          (unsigned long long) rq);
    b->last = bw_slprintf(b->last, b->end,
                          "Reading: %llu Writing: %llu Waiting: %llu \n",
                          (unsigned long long) rd, (unsigned long long) wr,
                          (unsigned long long) wa);
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = BW_HTTP_OK;
    bw_str_set(&r->headers_out.content_type, "text/plain");
    r->headers_out.content_length_n = b->last - b->pos;

    rc = bw_http_send_header(r);

    if (rc == BW_ERROR || rc > BW_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return bw_http_output_filter(r, &out);
}

static char *
bw_http_stub_status(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_core_loc_conf_t  *clcf;

    clcf = bw_http_conf_get_module_loc_conf(cf, bw_http_core_module);
    clcf->handler = bw_http_stub_status_handler;

    return BW_CONF_OK;
}

static bw_int_t
bw_http_stub_status_variable(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    u_char    *p;
    uint64_t   n;

    switch (data) {
    case 0:  n = bw_stat_get(active); break;
    case 1:  n = bw_stat_get(reading); break;
    case 2:  n = bw_stat_get(writing); break;
    default: n = bw_stat_get(waiting); break;
    }

    p = bw_pnalloc(r->pool, BW_INT_T_LEN);
    if (p == NULL) {
        return BW_ERROR;
    }

    bw_var_set(v, p, bw_sprint_uint(p, n) - p);
    v->no_cacheable = 1;

    return BW_OK;
}

static bw_http_variable_t  bw_http_stub_status_vars[] = {
    { bw_string("connections_active"), NULL, bw_http_stub_status_variable,
      0, BW_HTTP_VAR_NOCACHEABLE, 0 },
    { bw_string("connections_reading"), NULL, bw_http_stub_status_variable,
      1, BW_HTTP_VAR_NOCACHEABLE, 0 },
    { bw_string("connections_writing"), NULL, bw_http_stub_status_variable,
      2, BW_HTTP_VAR_NOCACHEABLE, 0 },
    { bw_string("connections_waiting"), NULL, bw_http_stub_status_variable,
      3, BW_HTTP_VAR_NOCACHEABLE, 0 },
    bw_http_null_variable
};

static bw_int_t
bw_http_stub_status_add_variables(bw_conf_t *cf)
{
    return bw_http_add_variables(cf, bw_http_stub_status_vars);
}
