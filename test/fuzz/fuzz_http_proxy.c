/*
 * libFuzzer target: what the proxy rewrites in an upstream's answer, on
 * arbitrary header values: Location and Refresh through proxy_redirect,
 * Set-Cookie through proxy_cookie_domain, proxy_cookie_path and
 * proxy_cookie_flags (literal, variable and regex rules, named
 * captures). The upstream writes these bytes, not the administrator.
 * The first input byte picks the header. Built only with http_proxy.
 */

#include <bw_http_proxy.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MODULES  64

static bw_pool_t                 *conf_pool;
static bw_log_t                   conf_log;
static bw_conf_t                  cf;
static bw_http_conf_ctx_t         ctx;
static bw_http_core_main_conf_t   cmcf;
static bw_http_proxy_loc_conf_t   plcf;
static void                      *main_conf[MODULES], *loc_conf[MODULES];

static bw_int_t
host_get(bw_http_request_t *r, bw_http_variable_value_t *v, uintptr_t data)
{
    bw_var_set(v, (u_char *) "front.example", 13);
    return BW_OK;
}

static void
rule(bw_array_t **rules, const char *from, const char *to, bw_uint_t type)
{
    bw_str_t  f, t;

    f.data = (u_char *) from;
    f.len = strlen(from);
    t.data = (u_char *) to;
    t.len = strlen(to);
    if (bw_http_proxy_rewrite_rule(&cf, rules, &f, &t, type) != BW_CONF_OK) {
        abort();
    }
}

static void
flags(const char *cookie, const char *f1, const char *f2, const char *f3)
{
    const char  *args[5];
    bw_str_t    *a;
    bw_uint_t    i;

    args[0] = "proxy_cookie_flags";
    args[1] = cookie;
    args[2] = f1;
    args[3] = f2;
    args[4] = f3;

    cf.args->nelts = 0;
    for (i = 0; i < 5 && args[i]; i++) {
        a = bw_array_push(cf.args);
        if (a == NULL) {
            abort();
        }
        a->data = (u_char *) args[i];
        a->len = strlen(args[i]);
    }

    if (bw_http_proxy_cookie_flags(&cf, NULL, &plcf) != BW_CONF_OK) {
        abort();
    }
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    bw_str_t             name = bw_string("host");
    bw_http_variable_t  *v;

    bw_time_init();

    conf_pool = bw_create_pool(4096, NULL);
    if (conf_pool == NULL) {
        abort();
    }

    cf.pool = conf_pool;
    cf.temp_pool = conf_pool;
    cf.log = &conf_log;
    cf.ctx = &ctx;
    cf.args = bw_array_create(conf_pool, 8, sizeof(bw_str_t));
    ctx.main_conf = main_conf;
    ctx.loc_conf = loc_conf;
    main_conf[bw_http_core_module.ctx_index] = &cmcf;
    loc_conf[bw_http_proxy_module.ctx_index] = &plcf;

    if (cf.args == NULL
        || bw_array_init(&cmcf.variables, conf_pool, 8,
                         sizeof(bw_http_variable_t)) != BW_OK
        || bw_array_init(&cmcf.prefix_variables, conf_pool, 8,
                         sizeof(bw_http_variable_t)) != BW_OK)
    {
        abort();
    }

    v = bw_http_add_variable(&cf, &name, 0);
    if (v == NULL) {
        abort();
    }
    v->get_handler = host_get;

    rule(&plcf.redirects, "http://localhost:8000/two/",
         "http://frontend/one/", BW_HTTP_PROXY_REWRITE_PREFIX);
    rule(&plcf.redirects, "~^(http://[^:]+):\\d+(/.+)$", "$1$2",
         BW_HTTP_PROXY_REWRITE_PREFIX);
    rule(&plcf.redirects, "~*^https://(?<zone>[a-z]+)\\.in/(.*)$",
         "/z/$zone/$2$9", BW_HTTP_PROXY_REWRITE_PREFIX);

    rule(&plcf.cookie_domains, "localhost", "example.org",
         BW_HTTP_PROXY_REWRITE_DOMAIN);
    rule(&plcf.cookie_domains, ".old.example", ".$host",
         BW_HTTP_PROXY_REWRITE_DOMAIN);
    rule(&plcf.cookie_domains, "~\\.(?P<sl>[-0-9a-z]+\\.[a-z]+)$", "$sl",
         BW_HTTP_PROXY_REWRITE_DOMAIN);

    rule(&plcf.cookie_paths, "/two/", "/", BW_HTTP_PROXY_REWRITE_PREFIX);
    rule(&plcf.cookie_paths, "~*^/user/([^/]*)(.*)", "/u/$1$2$3",
         BW_HTTP_PROXY_REWRITE_PREFIX);

    plcf.cookie_flags = BW_CONF_UNSET_PTR;
    flags("one", "httponly", "samesite=lax", NULL);
    flags("~^[a-m]", "secure", "samesite=strict", NULL);
    flags("~^[n-z]", "nosecure", "nohttponly", "nosamesite");

    if (bw_http_variables_init_vars(&cf) != BW_OK) {
        abort();
    }

    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char             *copy;
    size_t              i;
    bw_int_t            rc;
    bw_pool_t          *pool;
    bw_table_elt_t      h;
    bw_connection_t     c;
    bw_http_request_t   r;
    volatile u_char     sink;

    if (size < 1) {
        return 0;
    }

    /* a copy of exactly the value: nothing may read past it */
    copy = malloc(size);
    if (copy == NULL) {
        return 0;
    }
    memcpy(copy, data + 1, size - 1);

    pool = bw_create_pool(1024, NULL);
    if (pool == NULL) {
        free(copy);
        return 0;
    }
    /* every allocation its own malloc: an overflow is seen */
    pool->max = 0;

    memset(&c, 0, sizeof(c));
    memset(&r, 0, sizeof(r));
    c.log = &conf_log;
    r.connection = &c;
    r.pool = pool;
    r.main = &r;
    r.main_conf = main_conf;
    r.loc_conf = loc_conf;
    r.variables = bw_pcalloc(pool, (cmcf.variables.nelts + 1)
                                   * sizeof(bw_http_variable_value_t));
    if (r.variables == NULL) {
        goto done;
    }

    memset(&h, 0, sizeof(h));
    h.value.data = copy;
    h.value.len = size - 1;

    switch (data[0] % 3) {
    case 0:
        bw_str_set(&h.key, "Location");
        rc = bw_http_proxy_rewrite_redirect(&r, &h, 0);
        break;
    case 1:
        bw_str_set(&h.key, "Refresh");
        rc = bw_http_proxy_rewrite_redirect(&r, &h, 0);
        break;
    default:
        bw_str_set(&h.key, "Set-Cookie");
        rc = bw_http_proxy_rewrite_cookie(&r, &h);
        break;
    }

    if (rc != BW_OK && rc != BW_DECLINED) {
        __builtin_trap();
    }

    /* the new value is whole, readable memory */
    sink = 0;
    for (i = 0; i < h.value.len; i++) {
        sink ^= h.value.data[i];
    }
    (void) sink;

done:

    bw_destroy_pool(pool);
    free(copy);
    return 0;
}
