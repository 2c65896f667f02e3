/*
 * Variables. Configuration refers to a variable by index; a request
 * computes each one at most once (unless it is not cacheable) into
 * r->variables[index]. Prefix families ($http_*, $arg_*, $cookie_*,
 * $sent_http_*) are resolved when the configuration is loaded.
 */

#include <bw_http.h>
#include <openssl/evp.h>

bw_http_variable_value_t  bw_http_variable_null_value = {
    0, 1, 0, 0, 0, (u_char *) ""
};

#define BW_VAR_NOCACHE  BW_HTTP_VAR_NOCACHEABLE

static bw_int_t bw_http_variable_request_field(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_host(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_remote_port(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_server_addr(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_server_port(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_scheme(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_is_args(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_request_method(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_content_length(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_header_in(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_status(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_sent(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_request_time(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_msec(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_time(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_connection(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_server_name(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_request_id(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_document_root(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_request_length(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_misc(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_number(bw_http_request_t *r,
    bw_http_variable_value_t *v, off_t n);
static bw_int_t bw_http_variable_limit_rate(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static void bw_http_variable_limit_rate_set(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static void bw_http_variable_request_set(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_proxy_protocol(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_remote_user(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_unknown_header_in(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_unknown_header_out(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_argument(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_cookie(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_proxy_protocol_tlv(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_binary_remote_addr(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_connection_time(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_request_filename(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_realpath_root(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_tcpinfo(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_variable_no_tls(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);

#define RF(f)  offsetof(bw_http_request_t, f)
#define HI(f)  offsetof(bw_http_request_t, headers_in.f)

static bw_http_variable_t  bw_http_core_variables[] = {
    { bw_string("host"), NULL, bw_http_variable_host, 0, 0, 0 },
    { bw_string("remote_addr"), NULL, bw_http_variable_misc, 0, 0, 0 },
    { bw_string("remote_port"), NULL, bw_http_variable_remote_port, 0, 0, 0 },
    { bw_string("proxy_protocol_addr"), NULL,
      bw_http_variable_proxy_protocol, 0, 0, 0 },
    { bw_string("proxy_protocol_port"), NULL,
      bw_http_variable_proxy_protocol, 1, 0, 0 },
    { bw_string("proxy_protocol_server_addr"), NULL,
      bw_http_variable_proxy_protocol, 2, 0, 0 },
    { bw_string("proxy_protocol_server_port"), NULL,
      bw_http_variable_proxy_protocol, 3, 0, 0 },
    { bw_string("server_addr"), NULL, bw_http_variable_server_addr, 0, 0, 0 },
    { bw_string("server_port"), NULL, bw_http_variable_server_port, 0, 0, 0 },
    { bw_string("scheme"), NULL, bw_http_variable_scheme, 0, 0, 0 },
    { bw_string("request"), NULL, bw_http_variable_request_field,
      RF(request_line), 0, 0 },
    { bw_string("request_method"), NULL, bw_http_variable_request_method,
      0, BW_VAR_NOCACHE, 0 },
    { bw_string("request_uri"), NULL, bw_http_variable_request_field,
      RF(unparsed_uri), 0, 0 },
    { bw_string("uri"), NULL, bw_http_variable_request_field, RF(uri),
      BW_VAR_NOCACHE, 0 },
    { bw_string("document_uri"), NULL, bw_http_variable_request_field,
      RF(uri), BW_VAR_NOCACHE, 0 },
    { bw_string("limit_rate"), bw_http_variable_limit_rate_set,
      bw_http_variable_limit_rate, 0,
      BW_VAR_NOCACHE|BW_HTTP_VAR_CHANGEABLE, 0 },
    { bw_string("args"), bw_http_variable_request_set,
      bw_http_variable_request_field, RF(args),
      BW_VAR_NOCACHE|BW_HTTP_VAR_CHANGEABLE, 0 },
    { bw_string("query_string"), bw_http_variable_request_set,
      bw_http_variable_request_field, RF(args),
      BW_VAR_NOCACHE|BW_HTTP_VAR_CHANGEABLE, 0 },
    { bw_string("is_args"), NULL, bw_http_variable_is_args, 0,
      BW_VAR_NOCACHE, 0 },
    { bw_string("server_protocol"), NULL, bw_http_variable_request_field,
      RF(http_protocol), 0, 0 },
    { bw_string("content_length"), NULL, bw_http_variable_content_length,
      0, BW_VAR_NOCACHE, 0 },
    { bw_string("content_type"), NULL, bw_http_variable_header_in,
      HI(content_type), 0, 0 },
    { bw_string("status"), NULL, bw_http_variable_status, 0,
      BW_VAR_NOCACHE, 0 },
    { bw_string("body_bytes_sent"), NULL, bw_http_variable_sent, 0,
      BW_VAR_NOCACHE, 0 },
    { bw_string("bytes_sent"), NULL, bw_http_variable_sent, 1,
      BW_VAR_NOCACHE, 0 },
    { bw_string("request_time"), NULL, bw_http_variable_request_time, 0,
      BW_VAR_NOCACHE, 0 },
    { bw_string("request_length"), NULL, bw_http_variable_request_length, 0,
      BW_VAR_NOCACHE, 0 },
    { bw_string("request_body"), NULL, bw_http_variable_request_body, 0,
      BW_VAR_NOCACHE, 0 },
    { bw_string("request_body_file"), NULL,
      bw_http_variable_request_body_file, 0, BW_VAR_NOCACHE, 0 },
    { bw_string("msec"), NULL, bw_http_variable_msec, 0, BW_VAR_NOCACHE, 0 },
    { bw_string("time_local"), NULL, bw_http_variable_time, 0,
      BW_VAR_NOCACHE, 0 },
    { bw_string("time_iso8601"), NULL, bw_http_variable_time, 1,
      BW_VAR_NOCACHE, 0 },
    { bw_string("connection"), NULL, bw_http_variable_connection, 0, 0, 0 },
    { bw_string("connection_requests"), NULL, bw_http_variable_connection,
      1, 0, 0 },
    { bw_string("server_name"), NULL, bw_http_variable_server_name, 0, 0, 0 },
    { bw_string("request_id"), NULL, bw_http_variable_request_id, 0, 0, 0 },
    { bw_string("document_root"), NULL, bw_http_variable_document_root, 0,
      BW_VAR_NOCACHE, 0 },
    { bw_string("remote_user"), NULL, bw_http_variable_remote_user, 0, 0, 0 },
    { bw_string("hostname"), NULL, bw_http_variable_misc, 1, 0, 0 },
    { bw_string("pid"), NULL, bw_http_variable_misc, 2, 0, 0 },
    { bw_string("bulwark_version"), NULL, bw_http_variable_misc, 3, 0, 0 },
    /* for configurations written for nginx (fastcgi_params' "nginx/
     * $nginx_version"): this server's version */
    { bw_string("nginx_version"), NULL, bw_http_variable_misc, 3, 0, 0 },
    { bw_string("https"), NULL, bw_http_variable_misc, 4, 0, 0 },
    /* "h2", "h2c" or empty (the $ssl_* variables are the http_ssl
     * module's) */
    { bw_string("http2"), NULL, bw_http_variable_no_tls, 1, 0, 0 },
    { bw_string("pipe"), NULL, bw_http_variable_misc, 5, 0, 0 },
    { bw_string("request_completion"), NULL, bw_http_variable_misc, 6,
      BW_VAR_NOCACHE, 0 },
    { bw_string("binary_remote_addr"), NULL,
      bw_http_variable_binary_remote_addr, 0, 0, 0 },
    { bw_string("connection_time"), NULL, bw_http_variable_connection_time,
      0, BW_VAR_NOCACHE, 0 },
    { bw_string("request_filename"), NULL,
      bw_http_variable_request_filename, 0, BW_VAR_NOCACHE, 0 },
    { bw_string("realpath_root"), NULL, bw_http_variable_realpath_root, 0,
      BW_VAR_NOCACHE, 0 },
    { bw_string("tcpinfo_rtt"), NULL, bw_http_variable_tcpinfo, 0,
      BW_VAR_NOCACHE, 0 },
    { bw_string("tcpinfo_rttvar"), NULL, bw_http_variable_tcpinfo, 1,
      BW_VAR_NOCACHE, 0 },
    { bw_string("tcpinfo_snd_cwnd"), NULL, bw_http_variable_tcpinfo, 2,
      BW_VAR_NOCACHE, 0 },
    { bw_string("tcpinfo_rcv_space"), NULL, bw_http_variable_tcpinfo, 3,
      BW_VAR_NOCACHE, 0 },
    { bw_string("http_"), NULL, bw_http_variable_unknown_header_in, 0,
      BW_HTTP_VAR_PREFIX, 0 },
    { bw_string("sent_http_"), NULL, bw_http_variable_unknown_header_out, 0,
      BW_HTTP_VAR_PREFIX | BW_VAR_NOCACHE, 0 },
    { bw_string("arg_"), NULL, bw_http_variable_argument, 0,
      BW_HTTP_VAR_PREFIX | BW_VAR_NOCACHE, 0 },
    { bw_string("cookie_"), NULL, bw_http_variable_cookie, 0,
      BW_HTTP_VAR_PREFIX, 0 },
    { bw_string("proxy_protocol_tlv_"), NULL,
      bw_http_variable_proxy_protocol_tlv, 0, BW_HTTP_VAR_PREFIX, 0 },
    bw_http_null_variable
};

bw_int_t
bw_http_variables_add_core_vars(bw_conf_t *cf)
{
    bw_http_core_main_conf_t  *cmcf;

    cmcf = bw_http_conf_get_module_main_conf(cf, bw_http_core_module);

    if (bw_array_init(&cmcf->variables, cf->pool, 16,
                      sizeof(bw_http_variable_t)) != BW_OK
        || bw_array_init(&cmcf->prefix_variables, cf->pool, 64,
                         sizeof(bw_http_variable_t)) != BW_OK)
    {
        return BW_ERROR;
    }

    return bw_http_add_variables(cf, bw_http_core_variables);
}

/* A module's table of variables, ended by bw_http_null_variable. */
bw_int_t
bw_http_add_variables(bw_conf_t *cf, bw_http_variable_t *vars)
{
    bw_http_variable_t  *v, *var;

    for (v = vars; v->name.len; v++) {
        var = bw_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return BW_ERROR;
        }
        var->get_handler = v->get_handler;
        var->set_handler = v->set_handler;
        var->data = v->data;
    }

    return BW_OK;
}

/* "$name" as written in a directive: name, or an error naming it. */
bw_int_t
bw_http_conf_variable_name(bw_conf_t *cf, bw_str_t *value, bw_str_t *name)
{
    if (value->len < 2 || value->data[0] != '$') {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid variable name \"%.*s\"",
                          (int) value->len, value->data);
        return BW_ERROR;
    }

    name->data = value->data + 1;
    name->len = value->len - 1;
    return BW_OK;
}

/*
 * A variable that directives assign at run time ("set $v ...",
 * "auth_request_set $v ..."): "$name" checked and defined changeable;
 * get (with data) answers until something sets it, unless the variable
 * had a getter already. The index, or BW_ERROR.
 */
bw_int_t
bw_http_conf_settable_variable(bw_conf_t *cf, bw_str_t *value,
    bw_http_get_variable_pt get, uintptr_t data)
{
    bw_str_t            *name;
    bw_http_variable_t  *v;

    name = bw_palloc(cf->pool, sizeof(bw_str_t));
    if (name == NULL || bw_http_conf_variable_name(cf, value, name) != BW_OK)
    {
        return BW_ERROR;
    }

    v = bw_http_add_variable(cf, name, BW_HTTP_VAR_CHANGEABLE);
    if (v == NULL) {
        return BW_ERROR;
    }

    if (v->get_handler == NULL) {
        v->get_handler = get;
        v->data = data ? data : (uintptr_t) name;
    }

    return bw_http_get_variable_index(cf, name);
}

/* Assign at run time: through the variable's set_handler ($args) or
 * into the request's indexed value. value must live as long as r. */
void
bw_http_variable_set(bw_http_request_t *r, bw_uint_t index, bw_str_t *value)
{
    bw_http_variable_t         *v;
    bw_http_variable_value_t    nv;
    bw_http_core_main_conf_t   *cmcf;

    cmcf = r->main_conf[bw_http_core_module.ctx_index];
    v = cmcf->variables.elts;

    if (v[index].set_handler) {
        bw_memzero(&nv, sizeof(nv));
        bw_var_set(&nv, value->data, value->len);
        v[index].set_handler(r, &nv, v[index].data);
        return;
    }

    bw_var_set(&r->variables[index], value->data, value->len);
}

/* Variable names are case-insensitive, as in nginx ("set $MAGE_ROOT"
 * and "$mage_root" are one). */
static bw_uint_t
bw_http_variable_name_eq(bw_str_t *a, bw_str_t *b)
{
    return a->len == b->len && bw_strncasecmp(a->data, b->data, a->len) == 0;
}

/* Define a variable (modules: set, map, geo ...). */
bw_http_variable_t *
bw_http_add_variable(bw_conf_t *cf, bw_str_t *name, bw_uint_t flags)
{
    bw_uint_t                  i;
    bw_http_variable_t        *v;
    bw_http_core_main_conf_t  *cmcf;

    cmcf = bw_http_conf_get_module_main_conf(cf, bw_http_core_module);

    v = cmcf->prefix_variables.elts;
    for (i = 0; i < cmcf->prefix_variables.nelts; i++) {
        if (bw_http_variable_name_eq(name, &v[i].name)) {
            if (!(v[i].flags & BW_HTTP_VAR_CHANGEABLE)) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                  "the duplicate \"%.*s\" variable",
                                  (int) name->len, name->data);
                return NULL;
            }
            return &v[i];
        }
    }

    v = bw_array_push(&cmcf->prefix_variables);
    if (v == NULL) {
        return NULL;
    }
    bw_memzero(v, sizeof(*v));
    v->name.len = name->len;
    v->name.data = bw_pnalloc(cf->pool, name->len);
    if (v->name.data == NULL) {
        return NULL;
    }
    bw_strlow(v->name.data, name->data, name->len);
    v->flags = flags;
    return v;
}

bw_int_t
bw_http_get_variable_index(bw_conf_t *cf, bw_str_t *name)
{
    bw_uint_t                  i;
    bw_http_variable_t        *v;
    bw_http_core_main_conf_t  *cmcf;

    if (name->len == 0) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid variable name \"$\"");
        return BW_ERROR;
    }

    cmcf = bw_http_conf_get_module_main_conf(cf, bw_http_core_module);

    v = cmcf->variables.elts;
    for (i = 0; i < cmcf->variables.nelts; i++) {
        if (bw_http_variable_name_eq(name, &v[i].name)) {
            return (bw_int_t) i;
        }
    }

    v = bw_array_push(&cmcf->variables);
    if (v == NULL) {
        return BW_ERROR;
    }
    bw_memzero(v, sizeof(*v));
    v->name.len = name->len;
    v->name.data = bw_pnalloc(cf->pool, name->len);
    if (v->name.data == NULL) {
        return BW_ERROR;
    }
    bw_strlow(v->name.data, name->data, name->len);
    v->index = cmcf->variables.nelts - 1;

    return (bw_int_t) v->index;
}

/* Resolve every indexed variable to its definition. */
bw_int_t
bw_http_variables_init_vars(bw_conf_t *cf)
{
    bw_uint_t                  i, n;
    bw_http_variable_t        *v, *av;
    bw_http_core_main_conf_t  *cmcf;

    cmcf = bw_http_conf_get_module_main_conf(cf, bw_http_core_module);

    v = cmcf->variables.elts;
    av = cmcf->prefix_variables.elts;

    for (i = 0; i < cmcf->variables.nelts; i++) {
        for (n = 0; n < cmcf->prefix_variables.nelts; n++) {
            if (av[n].flags & BW_HTTP_VAR_PREFIX) {
                continue;
            }
            if (bw_str_eq(&v[i].name, &av[n].name)) {
                v[i].get_handler = av[n].get_handler;
                v[i].set_handler = av[n].set_handler;
                v[i].data = av[n].data;
                v[i].flags = av[n].flags;
                goto next;
            }
        }

        for (n = 0; n < cmcf->prefix_variables.nelts; n++) {
            if (!(av[n].flags & BW_HTTP_VAR_PREFIX)) {
                continue;
            }
            /* "$arg_" too: the argument with an empty name, as nginx */
            if (v[i].name.len >= av[n].name.len
                && memcmp(v[i].name.data, av[n].name.data,
                          av[n].name.len) == 0)
            {
                v[i].get_handler = av[n].get_handler;
                v[i].data = (uintptr_t) &v[i].name;
                v[i].flags = av[n].flags & ~BW_HTTP_VAR_PREFIX;
                goto next;
            }
        }

        bw_log_error(BW_LOG_EMERG, cf->log, 0, "unknown \"%.*s\" variable",
                     (int) v[i].name.len, v[i].name.data);
        return BW_ERROR;

    next:
        continue;
    }

    return BW_OK;
}

bw_http_variable_value_t *
bw_http_get_indexed_variable(bw_http_request_t *r, bw_uint_t index)
{
    bw_http_variable_t        *v;
    bw_http_core_main_conf_t  *cmcf;

    cmcf = r->main_conf[bw_http_core_module.ctx_index];

    if (index >= cmcf->variables.nelts) {
        return NULL;
    }

    if (r->variables[index].not_found || r->variables[index].valid) {
        return &r->variables[index];
    }

    v = cmcf->variables.elts;

    if (v[index].get_handler == NULL
        || v[index].get_handler(r, &r->variables[index], v[index].data)
           != BW_OK)
    {
        r->variables[index].valid = 0;
        r->variables[index].not_found = 1;
        return &r->variables[index];
    }

    if (v[index].flags & BW_HTTP_VAR_NOCACHEABLE) {
        r->variables[index].no_cacheable = 1;
    }

    return &r->variables[index];
}

bw_http_variable_value_t *
bw_http_get_flushed_variable(bw_http_request_t *r, bw_uint_t index)
{
    bw_http_variable_value_t  *v;

    v = &r->variables[index];

    if (v->valid || v->not_found) {
        if (!v->no_cacheable) {
            return v;
        }
        v->valid = 0;
        v->not_found = 0;
    }

    return bw_http_get_indexed_variable(r, index);
}


/* A number as the variable's value, in the request's pool. */
static bw_int_t
bw_http_variable_number(bw_http_request_t *r, bw_http_variable_value_t *v,
    off_t n)
{
    u_char  *p;

    p = bw_pnalloc(r->pool, BW_INT_T_LEN);
    if (p == NULL) {
        return BW_ERROR;
    }
    bw_var_set(v, p, bw_slprintf(p, p + BW_INT_T_LEN, "%lld",
                                 (long long) n) - p);
    return BW_OK;
}

static bw_int_t
bw_http_variable_limit_rate(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    return bw_http_variable_number(r, v, (off_t) r->limit_rate);
}

/* "set $limit_rate 100k": this request's rate, whatever its location
 * says (a value that is no size is logged and ignored, as nginx) */
static void
bw_http_variable_limit_rate_set(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    ssize_t   n;
    bw_str_t  s;

    s.data = v->data;
    s.len = v->len;

    n = bw_parse_size(&s);
    if (n == BW_ERROR) {
        bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                     "invalid $limit_rate \"%.*s\"", (int) s.len, s.data);
        return;
    }

    r->limit_rate = (size_t) n;
    r->limit_rate_set = 1;
}

/* "set $args ...": the request's own field changes */
static void
bw_http_variable_request_set(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    bw_str_t  *s = (bw_str_t *) ((char *) r + data);

    s->data = v->data;
    s->len = v->len;
}

static bw_int_t
bw_http_variable_request_field(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    bw_str_t  *s = (bw_str_t *) ((char *) r + data);

    if (s->data == NULL) {
        v->not_found = 1;       /* "-" in the access log, as nginx */
        return BW_OK;
    }
    bw_var_set(v, s->data, s->len);
    return BW_OK;
}

/* the client's method, also in a subrequest (which itself is a GET):
 * what an auth service wants to know */
static bw_int_t
bw_http_variable_request_method(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    return bw_http_variable_request_field(r->main, v,
                                          offsetof(bw_http_request_t,
                                                   method_name));
}

static bw_int_t
bw_http_variable_header_in(bw_http_request_t *r, bw_http_variable_value_t *v,
    uintptr_t data)
{
    bw_table_elt_t  *h = *(bw_table_elt_t **) ((char *) r + data);

    if (h == NULL) {
        v->not_found = 1;
        return BW_DECLINED;
    }
    bw_var_set(v, h->value.data, h->value.len);
    return BW_OK;
}

/*
 * The request's Content-Length, or, as nginx, once a chunked body has
 * been read whole, its length decoded (FastCGI's CONTENT_LENGTH: PHP
 * reads that many bytes of the body and no more).
 */
static bw_int_t
bw_http_variable_content_length(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    u_char      *p;
    off_t        len;
    bw_chain_t  *cl;

    if (r->headers_in.content_length) {
        bw_var_set(v, r->headers_in.content_length->value.data,
                   r->headers_in.content_length->value.len);
        return BW_OK;
    }

    if (!r->headers_in.chunked || r->request_body == NULL
        || r->request_body->stream || r->request_body->rest)
    {
        v->not_found = 1;
        return BW_DECLINED;
    }

    len = 0;
    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        len += bw_buf_size(cl->buf);
    }

    p = bw_pnalloc(r->pool, BW_INT_T_LEN);
    if (p == NULL) {
        return BW_ERROR;
    }
    bw_var_set(v, p, bw_sprint_uint(p, (uint64_t) len) - p);

    return BW_OK;
}

static bw_int_t
bw_http_variable_host(bw_http_request_t *r, bw_http_variable_value_t *v,
    uintptr_t data)
{
    bw_http_core_srv_conf_t  *cscf;

    if (r->headers_in.server.len) {
        bw_var_set(v, r->headers_in.server.data, r->headers_in.server.len);
        return BW_OK;
    }

    cscf = r->srv_conf[bw_http_core_module.ctx_index];
    bw_var_set(v, cscf->server_name.data, cscf->server_name.len);
    return BW_OK;
}

static bw_int_t
bw_http_variable_misc(bw_http_request_t *r, bw_http_variable_value_t *v,
    uintptr_t data)
{
    static u_char  host[256];
    static size_t  hlen;
    u_char        *p;

    switch (data) {
    case 0:
        bw_var_set(v, r->connection->addr_text.data,
                   r->connection->addr_text.len);
        return BW_OK;
    case 1:
        if (hlen == 0) {
            if (gethostname((char *) host, sizeof(host) - 1) == -1) {
                return BW_ERROR;
            }
            host[sizeof(host) - 1] = '\0';
            hlen = strlen((char *) host);
        }
        bw_var_set(v, host, hlen);
        return BW_OK;
    case 2:
        p = bw_pnalloc(r->pool, BW_INT_T_LEN);
        if (p == NULL) {
            return BW_ERROR;
        }
        bw_var_set(v, p, bw_slprintf(p, p + BW_INT_T_LEN, "%d",
                                     (int) bw_pid) - p);
        return BW_OK;
    case 4:
        if (r->connection->ssl) {
            bw_var_set(v, (u_char *) "on", 2);
        } else {
            bw_var_set(v, (u_char *) "", 0);
        }
        return BW_OK;
    case 5:
        /* "p": the request came in behind the previous one */
        bw_var_set(v, (u_char *) (r->pipeline ? "p" : "."), 1);
        return BW_OK;
    case 6:
        /* "OK" once the whole response went out (for the log); not for
         * one that the upstream cut short */
        if (r->done && !(r->upstream && r->upstream->upstream_error)) {
            bw_var_set(v, (u_char *) "OK", 2);
        } else {
            bw_var_set(v, (u_char *) "", 0);
        }
        return BW_OK;
    default:
        bw_var_set(v, (u_char *) "0.1.0", 5);
        return BW_OK;
    }
}

/* The client's address as 4 or 16 bytes: a short key for zones, maps
 * and hashes; empty for a unix socket, as nginx. */
static bw_int_t
bw_http_variable_binary_remote_addr(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    struct sockaddr      *sa;
    struct sockaddr_in   *sin;
    struct sockaddr_in6  *sin6;

    sa = r->connection->sockaddr;

    switch (sa->sa_family) {
    case AF_INET:
        sin = (struct sockaddr_in *) sa;
        bw_var_set(v, (u_char *) &sin->sin_addr, 4);
        return BW_OK;
    case AF_INET6:
        sin6 = (struct sockaddr_in6 *) sa;
        bw_var_set(v, sin6->sin6_addr.s6_addr, 16);
        return BW_OK;
    default:
        bw_var_set(v, (u_char *) "", 0);
        return BW_OK;
    }
}

/* Seconds since the connection was accepted, to the millisecond. */
static bw_int_t
bw_http_variable_connection_time(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    u_char     *p;
    bw_msec_t   ms;

    ms = bw_current_msec - r->connection->start_time;

    p = bw_pnalloc(r->pool, BW_INT_T_LEN + 4);
    if (p == NULL) {
        return BW_ERROR;
    }
    bw_var_set(v, p, bw_slprintf(p, p + BW_INT_T_LEN + 4, "%lu.%03lu",
                                 (unsigned long) (ms / 1000),
                                 (unsigned long) (ms % 1000)) - p);
    return BW_OK;
}

/* root or alias and the URI, as the static module maps them */
static bw_int_t
bw_http_variable_request_filename(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    size_t     root;
    bw_str_t   path;

    if (bw_http_map_uri_to_path(r, &path, &root, 0) == NULL) {
        return BW_ERROR;
    }
    bw_var_set(v, path.data, path.len);
    return BW_OK;
}

/*
 * The document root with symbolic links resolved (a deploy that
 * switches a "current" link sees the new tree at once). realpath()
 * touches the disk, as in nginx; a root that does not exist is an
 * error, logged, and the value is empty where it is used, as in nginx.
 */
static bw_int_t
bw_http_variable_realpath_root(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    size_t                     len;
    u_char                    *p;
    bw_str_t                   path;
    bw_http_variable_value_t   root;
    char                       name[PATH_MAX], real[PATH_MAX];

    if (bw_http_variable_document_root(r, &root, 0) != BW_OK) {
        return BW_ERROR;
    }

    /* a root from variables may be relative: to the prefix, as files */
    path.len = root.len;
    path.data = root.data;
    if (bw_get_full_name(r->pool, &bw_cycle->prefix, &path) != BW_OK
        || path.len >= sizeof(name))
    {
        return BW_ERROR;
    }
    memcpy(name, path.data, path.len);
    name[path.len] = '\0';

    if (realpath(name, real) == NULL) {
        bw_log_error(BW_LOG_CRIT, r->connection->log, errno,
                     "realpath() \"%s\" failed", name);
        return BW_ERROR;
    }

    len = strlen(real);
    p = bw_pnalloc(r->pool, len);
    if (p == NULL) {
        return BW_ERROR;
    }
    memcpy(p, real, len);
    bw_var_set(v, p, len);
    return BW_OK;
}

/* $tcpinfo_rtt, _rttvar (microseconds), _snd_cwnd, _rcv_space */
static bw_int_t
bw_http_variable_tcpinfo(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    uint32_t         value;
    socklen_t        len;
    struct tcp_info  ti;

    len = sizeof(ti);
    if (getsockopt(r->connection->fd, IPPROTO_TCP, TCP_INFO, &ti, &len)
        == -1)
    {
        v->not_found = 1;
        return BW_DECLINED;
    }

    switch (data) {
    case 0:
        value = ti.tcpi_rtt;
        break;
    case 1:
        value = ti.tcpi_rttvar;
        break;
    case 2:
        value = ti.tcpi_snd_cwnd;
        break;
    default:
        value = ti.tcpi_rcv_space;
        break;
    }

    return bw_http_variable_number(r, v, (off_t) value);
}

static bw_int_t
bw_http_variable_port(bw_http_request_t *r, bw_http_variable_value_t *v,
    struct sockaddr *sa)
{
    u_char     *p;
    in_port_t   port;

    port = bw_inet_get_port(sa);
    if (port == 0) {
        bw_var_set(v, (u_char *) "", 0);
        return BW_OK;
    }

    p = bw_pnalloc(r->pool, sizeof("65535"));
    if (p == NULL) {
        return BW_ERROR;
    }
    bw_var_set(v, p, bw_sprint_uint(p, port) - p);
    return BW_OK;
}

static bw_int_t
bw_http_variable_remote_port(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    return bw_http_variable_port(r, v, r->connection->sockaddr);
}

/* The address the client connected to (wildcard sockets ask the kernel). */
bw_int_t
bw_http_local_sockaddr(bw_http_request_t *r)
{
    socklen_t         len;
    bw_sockaddr_t     sa;
    bw_connection_t  *c;

    c = r->connection;

    if (!bw_inet_wildcard(c->local_sockaddr)) {
        return BW_OK;
    }

    len = sizeof(bw_sockaddr_t);
    if (getsockname(c->fd, &sa.sockaddr, &len) == -1) {
        return BW_ERROR;
    }

    c->local_sockaddr = bw_palloc(c->pool, len);
    if (c->local_sockaddr == NULL) {
        return BW_ERROR;
    }
    memcpy(c->local_sockaddr, &sa, len);
    c->local_socklen = len;
    return BW_OK;
}

static bw_int_t
bw_http_variable_server_addr(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    u_char  *p;

    if (bw_http_local_sockaddr(r) != BW_OK) {
        return BW_ERROR;
    }

    p = bw_pnalloc(r->pool, BW_SOCKADDR_STRLEN);
    if (p == NULL) {
        return BW_ERROR;
    }
    bw_var_set(v, p, bw_sock_ntop(r->connection->local_sockaddr,
                                  r->connection->local_socklen, p,
                                  BW_SOCKADDR_STRLEN, 0));
    return BW_OK;
}

static bw_int_t
bw_http_variable_server_port(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    if (bw_http_local_sockaddr(r) != BW_OK) {
        return BW_ERROR;
    }
    return bw_http_variable_port(r, v, r->connection->local_sockaddr);
}

static bw_int_t
bw_http_variable_scheme(bw_http_request_t *r, bw_http_variable_value_t *v,
    uintptr_t data)
{
    if (r->connection->ssl) {
        bw_var_set(v, (u_char *) "https", 5);
    } else {
        bw_var_set(v, (u_char *) "http", 4);
    }
    return BW_OK;
}

static bw_int_t
bw_http_variable_is_args(bw_http_request_t *r, bw_http_variable_value_t *v,
    uintptr_t data)
{
    if (r->args.len == 0) {
        bw_var_set(v, (u_char *) "", 0);
    } else {
        bw_var_set(v, (u_char *) "?", 1);
    }
    return BW_OK;
}

static bw_int_t
bw_http_variable_status(bw_http_request_t *r, bw_http_variable_value_t *v,
    uintptr_t data)
{
    u_char     *p;
    bw_uint_t   status;

    status = r->err_status ? r->err_status : r->headers_out.status;

    p = bw_pnalloc(r->pool, 4);
    if (p == NULL) {
        return BW_ERROR;
    }
    bw_var_set(v, p, bw_slprintf(p, p + 4, "%03lu",
                                 (unsigned long) status) - p);
    return BW_OK;
}

static bw_int_t
bw_http_variable_sent(bw_http_request_t *r, bw_http_variable_value_t *v,
    uintptr_t data)
{
    off_t  sent;

    sent = r->connection->sent;
    if (data == 0) {
        sent -= r->header_size;
        if (sent < 0) {
            sent = 0;
        }
    }

    return bw_http_variable_number(r, v, sent);
}

static bw_int_t
bw_http_variable_request_length(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    return bw_http_variable_number(r, v, r->request_length);
}

static bw_int_t
bw_http_variable_request_time(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    u_char    *p;
    bw_int_t   ms;

    ms = (bw_int_t) ((bw_time_sec - r->start_sec) * 1000
                     + ((bw_int_t) bw_time_msec - (bw_int_t) r->start_msec));
    if (ms < 0) {
        ms = 0;
    }

    p = bw_pnalloc(r->pool, BW_INT_T_LEN + 4);
    if (p == NULL) {
        return BW_ERROR;
    }
    bw_var_set(v, p, bw_slprintf(p, p + BW_INT_T_LEN + 4, "%ld.%03ld",
                                 (long) (ms / 1000), (long) (ms % 1000)) - p);
    return BW_OK;
}

static bw_int_t
bw_http_variable_msec(bw_http_request_t *r, bw_http_variable_value_t *v,
    uintptr_t data)
{
    u_char  *p;

    p = bw_pnalloc(r->pool, BW_INT_T_LEN + 4);
    if (p == NULL) {
        return BW_ERROR;
    }
    bw_var_set(v, p, bw_slprintf(p, p + BW_INT_T_LEN + 4, "%lld.%03u",
                                 (long long) bw_time_sec,
                                 (unsigned) bw_time_msec) - p);
    return BW_OK;
}

static bw_int_t
bw_http_variable_time(bw_http_request_t *r, bw_http_variable_value_t *v,
    uintptr_t data)
{
    bw_str_t  *t = data ? &bw_cached_http_log_iso8601
                        : &bw_cached_http_log_time;
    u_char    *p;

    p = bw_pnalloc(r->pool, t->len);
    if (p == NULL) {
        return BW_ERROR;
    }
    memcpy(p, t->data, t->len);
    bw_var_set(v, p, t->len);
    return BW_OK;
}

static bw_int_t
bw_http_variable_connection(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    return bw_http_variable_number(r, v, (off_t) (data
                                                ? r->connection->requests
                                                : r->connection->number));
}

static bw_int_t
bw_http_variable_server_name(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    bw_http_core_srv_conf_t  *cscf;

    cscf = r->srv_conf[bw_http_core_module.ctx_index];
    bw_var_set(v, cscf->server_name.data, cscf->server_name.len);
    return BW_OK;
}

/* 128 random bits per request: unique enough for tracing, no syscall. */
static bw_int_t
bw_http_variable_request_id(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    uint64_t  out[2];
    u_char   *p;

    out[0] = bw_random();
    out[1] = bw_random();

    p = bw_pnalloc(r->pool, 32);
    if (p == NULL) {
        return BW_ERROR;
    }
    bw_hex_dump(p, (u_char *) out, 16);
    bw_var_set(v, p, 32);
    return BW_OK;
}

static bw_int_t
bw_http_variable_document_root(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    bw_str_t                  path;
    bw_http_core_loc_conf_t  *clcf;

    clcf = r->loc_conf[bw_http_core_module.ctx_index];

    if (clcf->root_cv) {
        if (bw_http_complex_value(r, clcf->root_cv, &path) != BW_OK) {
            return BW_ERROR;
        }
    } else {
        path = clcf->root;
    }

    bw_var_set(v, path.data, path.len);
    return BW_OK;
}

/* $proxy_protocol_addr, _port, _server_addr, _server_port */
static bw_int_t
bw_http_variable_proxy_protocol(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    u_char               *p;
    in_port_t             port;
    bw_proxy_protocol_t  *pp;

    pp = r->connection->proxy_protocol;
    if (pp == NULL || pp->local) {
        v->not_found = 1;
        return BW_DECLINED;
    }

    switch (data) {
    case 0:
        bw_var_set(v, pp->src_addr.data, pp->src_addr.len);
        return BW_OK;
    case 2:
        bw_var_set(v, pp->dst_addr.data, pp->dst_addr.len);
        return BW_OK;
    }

    port = data == 1 ? pp->src_port : pp->dst_port;
    p = bw_pnalloc(r->pool, sizeof("65535") - 1);
    if (p == NULL) {
        return BW_ERROR;
    }
    bw_var_set(v, p, bw_sprint_uint(p, port) - p);
    return BW_OK;
}

/* $proxy_protocol_tlv_NAME: a TLV of the PROXY v2 header, as nginx */
static bw_int_t
bw_http_variable_proxy_protocol_tlv(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    u_char    *num;
    bw_int_t   rc;
    bw_str_t  *var = (bw_str_t *) data;
    bw_str_t   name, value;

    name.data = var->data + sizeof("proxy_protocol_tlv_") - 1;
    name.len = var->len - (sizeof("proxy_protocol_tlv_") - 1);

    num = bw_pnalloc(r->pool, BW_PROXY_PROTOCOL_TLV_NUM_LEN);
    if (num == NULL) {
        return BW_ERROR;
    }

    rc = bw_proxy_protocol_get_tlv(r->connection->proxy_protocol, &name,
                                   &value, num);

    if (rc == BW_ERROR) {
        bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                     "unknown PROXY protocol TLV \"%.*s\"",
                     (int) name.len, name.data);
        v->not_found = 1;
        return BW_DECLINED;
    }

    if (rc != BW_OK) {
        v->not_found = 1;
        return BW_DECLINED;
    }

    bw_var_set(v, value.data, value.len);
    return BW_OK;
}

/*
 * "Authorization: Basic base64(user:password)". BW_DECLINED when there is
 * no such header or it does not decode to "user:password".
 */
bw_int_t
bw_http_auth_basic_credentials(bw_http_request_t *r, bw_str_t *user,
    bw_str_t *passwd)
{
    int        n;
    size_t     len, pad;
    u_char    *dec, *colon, *p;
    bw_str_t  *a;

    if (r->headers_in.authorization == NULL) {
        return BW_DECLINED;
    }

    a = &r->headers_in.authorization->value;
    if (a->len < 7 || bw_strncasecmp(a->data, (u_char *) "Basic ", 6) != 0) {
        return BW_DECLINED;
    }

    p = a->data + 6;
    len = a->len - 6;
    while (len && *p == ' ') {
        p++;
        len--;
    }
    if (len == 0 || len % 4) {
        return BW_DECLINED;
    }

    dec = bw_pnalloc(r->pool, len / 4 * 3 + 1);
    if (dec == NULL) {
        return BW_ERROR;
    }

    n = EVP_DecodeBlock(dec, p, (int) len);
    if (n < 0) {
        return BW_DECLINED;
    }

    /* EVP_DecodeBlock counts the padding as zero bytes */
    pad = (p[len - 1] == '=') + (p[len - 2] == '=');
    n -= (int) pad;

    colon = memchr(dec, ':', (size_t) n);
    if (colon == NULL) {
        return BW_DECLINED;
    }

    user->data = dec;
    user->len = colon - dec;
    passwd->data = colon + 1;
    passwd->len = (size_t) n - user->len - 1;

    return BW_OK;
}

static bw_int_t
bw_http_variable_remote_user(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    bw_int_t  rc;
    bw_str_t  user, passwd;

    rc = bw_http_auth_basic_credentials(r, &user, &passwd);
    if (rc == BW_ERROR) {
        return BW_ERROR;
    }
    if (rc != BW_OK) {
        v->not_found = 1;
        return BW_DECLINED;
    }

    bw_var_set(v, user.data, user.len);
    return BW_OK;
}

/* $http_NAME: headers named NAME (dashes as underscores), joined. */
static bw_int_t
bw_http_variable_unknown_header_in(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    return bw_http_variable_unknown_header(r, v, (bw_str_t *) data,
                                           &r->headers_in.headers.part,
                                           sizeof("http_") - 1);
}

/*
 * The headers in the list whose lower-case name, with dashes read as
 * underscores, is the variable's name after `prefix` characters; more
 * than one are joined with ", " ("; " for Cookie and Set-Cookie), as
 * nginx since 1.23.
 */
bw_int_t
bw_http_variable_unknown_header(bw_http_request_t *r,
    bw_http_variable_value_t *v, bw_str_t *var, bw_list_part_t *part,
    size_t prefix)
{
    bw_str_t         name;
    bw_uint_t        i, n, k;
    size_t           len;
    u_char          *p, ch, sep;
    bw_table_elt_t  *h, *found[16];

    name.data = var->data + prefix;
    name.len = var->len - prefix;

    sep = ((name.len == 6 && memcmp(name.data, "cookie", 6) == 0)
           || (prefix == sizeof("sent_http_") - 1 && name.len == 10
               && memcmp(name.data, "set_cookie", 10) == 0)) ? ';' : ',';

    n = 0;
    len = 0;
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

        if (h[i].key.len != name.len || h[i].hash == 0) {
            continue;
        }

        for (k = 0; k < name.len; k++) {
            /* a response's own header lines have no lower-case copy */
            ch = h[i].lowcase_key ? h[i].lowcase_key[k]
                                  : bw_tolower(h[i].key.data[k]);
            if (ch == '-') {
                ch = '_';
            }
            if (ch != name.data[k]) {
                break;
            }
        }

        if (k == name.len && n < 16) {
            found[n++] = &h[i];
            len += h[i].value.len + 2;
        }
    }

    if (n == 0) {
        v->not_found = 1;
        return BW_DECLINED;
    }

    if (n == 1) {
        bw_var_set(v, found[0]->value.data, found[0]->value.len);
        return BW_OK;
    }

    p = bw_pnalloc(r->pool, len);
    if (p == NULL) {
        return BW_ERROR;
    }
    v->data = p;
    for (i = 0; i < n; i++) {
        if (i) {
            *p++ = sep;
            *p++ = ' ';
        }
        p = bw_cpymem(p, found[i]->value.data, found[i]->value.len);
    }
    bw_var_set(v, v->data, p - v->data);
    return BW_OK;
}

static bw_int_t
bw_http_variable_unknown_header_out(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    bw_str_t  *var = (bw_str_t *) data;
    bw_str_t   name;

    name.data = var->data + (sizeof("sent_http_") - 1);
    name.len = var->len - (sizeof("sent_http_") - 1);

    if (name.len == 12 && memcmp(name.data, "content_type", 12) == 0
        && r->headers_out.content_type.len)
    {
        bw_var_set(v, r->headers_out.content_type.data,
                   r->headers_out.content_type.len);
        return BW_OK;
    }

    if (name.len == 14 && memcmp(name.data, "content_length", 14) == 0
        && r->headers_out.content_length_n >= 0)
    {
        return bw_http_variable_number(r, v,
                                       r->headers_out.content_length_n);
    }

    return bw_http_variable_unknown_header(r, v, var,
                                           &r->headers_out.headers.part,
                                           sizeof("sent_http_") - 1);
}

static bw_int_t
bw_http_variable_argument(bw_http_request_t *r, bw_http_variable_value_t *v,
    uintptr_t data)
{
    bw_str_t  *var = (bw_str_t *) data;
    bw_str_t   value;

    if (bw_http_arg(r, var->data + 4, var->len - 4, &value) != BW_OK) {
        v->not_found = 1;
        return BW_DECLINED;
    }

    bw_var_set(v, value.data, value.len);
    return BW_OK;
}

static bw_int_t
bw_http_variable_cookie(bw_http_request_t *r, bw_http_variable_value_t *v,
    uintptr_t data)
{
    bw_str_t  *var = (bw_str_t *) data;
    bw_str_t   name, value;

    name.data = var->data + 7;
    name.len = var->len - 7;

    if (bw_http_parse_multi_header_lines(r->headers_in.cookie, &name, &value)
        != BW_OK)
    {
        v->not_found = 1;
        return BW_DECLINED;
    }

    bw_var_set(v, value.data, value.len);
    return BW_OK;
}

/*
 * $http2: "h2" or "h2c" for a request of an HTTP/2 stream, empty for
 * HTTP/1, as nginx's.
 */
static bw_int_t
bw_http_variable_no_tls(bw_http_request_t *r, bw_http_variable_value_t *v,
    uintptr_t data)
{
    if (data == 1) {
        if (r->main->stream == NULL) {
            bw_var_set(v, (u_char *) "", 0);
        } else if (r->connection->ssl) {
            bw_var_set(v, (u_char *) "h2", 2);
        } else {
            bw_var_set(v, (u_char *) "h2c", 3);
        }
        return BW_OK;
    }

    v->not_found = 1;
    return BW_OK;
}
