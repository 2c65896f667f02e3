/*
 * split_clients, as nginx: MurmurHash2 of the key falls into one of the
 * parts laid out over the 32-bit range in the order written, each as
 * wide as its percentage (two decimals); "*" takes what is left. The
 * same key gets the same variant here as under nginx.
 */

#include <bw_http.h>

typedef struct {
    uint32_t                 percent;   /* upper bound; 0 for "*" */
    bw_str_t                 value;
} bw_http_split_part_t;

typedef struct {
    bw_http_complex_value_t  key;
    bw_array_t               parts;     /* bw_http_split_part_t */
} bw_http_split_clients_t;

static char *bw_http_split_clients_block(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_split_clients_line(bw_conf_t *cf, bw_command_t *dummy,
    void *conf);

static bw_command_t  bw_http_split_clients_commands[] = {

    { bw_string("split_clients"),
      BW_HTTP_MAIN_CONF|BW_CONF_BLOCK|BW_CONF_TAKE2,
      bw_http_split_clients_block, 0, 0, NULL },

    bw_null_command
};

static bw_http_module_t  bw_http_split_clients_module_ctx = {
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
};

bw_module_t  bw_http_split_clients_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_split_clients_module_ctx,
    bw_http_split_clients_commands, NULL, NULL, NULL, NULL
};

static bw_int_t
bw_http_split_clients_variable(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    bw_http_split_clients_t *ctx = (bw_http_split_clients_t *) data;

    uint32_t               hash;
    bw_str_t               key;
    bw_uint_t              i;
    bw_http_split_part_t  *part;

    if (bw_http_complex_value(r, &ctx->key, &key) != BW_OK) {
        return BW_ERROR;
    }

    hash = bw_murmur_hash2(key.data, key.len);

    part = ctx->parts.elts;
    for (i = 0; i < ctx->parts.nelts; i++) {
        if (hash < part[i].percent || part[i].percent == 0) {
            bw_var_set(v, part[i].value.data, part[i].value.len);
            return BW_OK;
        }
    }

    bw_var_set(v, (u_char *) "", 0);
    return BW_OK;
}

static char *
bw_http_split_clients_block(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    char                     *rv;
    uint64_t                  last;
    bw_str_t                 *value, name;
    bw_uint_t                 i, sum;
    bw_http_variable_t       *var;
    bw_http_split_part_t     *part;
    bw_http_split_clients_t  *ctx;

    value = cf->args->elts;

    ctx = bw_pcalloc(cf->pool, sizeof(bw_http_split_clients_t));
    if (ctx == NULL
        || bw_http_compile_complex_value(cf, &ctx->key, &value[1]) != BW_OK
        || bw_array_init(&ctx->parts, cf->pool, 4,
                         sizeof(bw_http_split_part_t)) != BW_OK)
    {
        return BW_CONF_ERROR;
    }

    if (bw_http_conf_variable_name(cf, &value[2], &name) != BW_OK) {
        return BW_CONF_ERROR;
    }

    rv = bw_conf_parse_block(cf, bw_http_split_clients_line, ctx);

    if (rv != BW_CONF_OK) {
        return rv;
    }

    /* lay the parts out over the 32-bit range, in hundredths of a % */
    sum = 0;
    last = 0;
    part = ctx->parts.elts;
    for (i = 0; i < ctx->parts.nelts; i++) {
        sum = part[i].percent ? sum + part[i].percent : 10000;
        if (sum > 10000) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "percent total is greater than 100%%");
            return BW_CONF_ERROR;
        }
        if (part[i].percent) {
            last += part[i].percent * (uint64_t) 0xffffffff / 10000;
            part[i].percent = (uint32_t) last;
        }
    }

    var = bw_http_add_variable(cf, &name, BW_HTTP_VAR_CHANGEABLE);
    if (var == NULL) {
        return BW_CONF_ERROR;
    }
    var->get_handler = bw_http_split_clients_variable;
    var->data = (uintptr_t) ctx;

    return BW_CONF_OK;
}

/* "12.5%" in hundredths of a percent (1250), or BW_ERROR */
static bw_int_t
bw_http_split_clients_percent(bw_str_t *s)
{
    size_t     i, dot, decimals;
    bw_int_t   n;

    if (s->len < 2 || s->data[s->len - 1] != '%') {
        return BW_ERROR;
    }

    n = 0;
    dot = 0;
    decimals = 0;

    for (i = 0; i < s->len - 1; i++) {
        if (s->data[i] == '.' && !dot) {
            dot = 1;
            continue;
        }
        if (s->data[i] < '0' || s->data[i] > '9' || decimals == 2) {
            return BW_ERROR;
        }
        n = n * 10 + (s->data[i] - '0');
        if (dot) {
            decimals++;
        }
        if (n > 10000 * 100) {
            return BW_ERROR;
        }
    }

    while (decimals++ < 2) {
        n *= 10;
    }

    return n;
}

static char *
bw_http_split_clients_line(bw_conf_t *cf, bw_command_t *dummy, void *conf)
{
    bw_http_split_clients_t *ctx = conf;

    bw_int_t               percent;
    bw_str_t              *value;
    bw_http_split_part_t  *part;

    value = cf->args->elts;

    if (cf->args->nelts != 2) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "invalid number of arguments in split_clients");
        return BW_CONF_ERROR;
    }

    if (value[0].len == 1 && value[0].data[0] == '*') {
        percent = 0;
    } else {
        percent = bw_http_split_clients_percent(&value[0]);
        if (percent == BW_ERROR || percent == 0) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "invalid percent value \"%s\"",
                              value[0].data);
            return BW_CONF_ERROR;
        }
    }

    part = bw_array_push(&ctx->parts);
    if (part == NULL) {
        return BW_CONF_ERROR;
    }
    part->percent = (uint32_t) percent;
    part->value = value[1];

    return BW_CONF_OK;
}
