/*
 * map, as nginx: string keys are compared without case (exact first,
 * then "*.example.com" / ".example.com" / "www.example.*" with
 * "hostnames"), then the regular expressions (~, ~*) in the order
 * written, the first match winning with its captures available to the
 * value as $1..$9; "default" otherwise (the empty string when absent).
 * Values may hold variables. The result is cached for the request
 * unless the map says "volatile".
 */

#include <bw_http.h>

typedef struct {
    bw_regex_t                *regex;
    bw_http_complex_value_t   *value;
} bw_http_map_regex_t;

typedef struct {
    bw_http_complex_value_t    source;
    bw_hash_combined_t         hash;
    bw_array_t                *regexes;     /* bw_http_map_regex_t */
    bw_http_complex_value_t   *default_value;
    unsigned                   hostnames:1;
} bw_http_map_t;

/* what the block's lines build */
typedef struct {
    bw_http_map_t             *map;
    bw_hash_keys_t             keys;
    unsigned                   volatile_:1;
} bw_http_map_conf_ctx_t;

static char *bw_http_map_block(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_map_line(bw_conf_t *cf, bw_command_t *dummy,
    void *conf);

static bw_command_t  bw_http_map_commands[] = {

    { bw_string("map"), BW_HTTP_MAIN_CONF|BW_CONF_BLOCK|BW_CONF_TAKE2,
      bw_http_map_block, 0, 0, NULL },

    bw_null_command
};

static bw_http_module_t  bw_http_map_module_ctx = {
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
};

bw_module_t  bw_http_map_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_map_module_ctx,
    bw_http_map_commands, NULL, NULL, NULL, NULL
};

static bw_int_t
bw_http_map_variable(bw_http_request_t *r, bw_http_variable_value_t *v,
    uintptr_t data)
{
    bw_http_map_t  *map = (bw_http_map_t *) data;

    u_char                   *low;
    size_t                    len;
    bw_int_t                  rc;
    bw_str_t                  src, out;
    bw_uint_t                 i;
    bw_http_map_regex_t      *re;
    bw_http_complex_value_t  *value;

    if (bw_http_complex_value(r, &map->source, &src) != BW_OK) {
        return BW_ERROR;
    }

    len = src.len;
    if (map->hostnames && len && src.data[len - 1] == '.') {
        len--;
    }

    low = bw_pnalloc(r->pool, len + 1);
    if (low == NULL) {
        return BW_ERROR;
    }
    bw_strlow(low, src.data, len);
    value = bw_hash_find_combined(&map->hash, low, len);

    if (value == NULL && map->regexes) {
        re = map->regexes->elts;
        for (i = 0; i < map->regexes->nelts; i++) {
            rc = bw_http_regex_exec(r, re[i].regex, &src);
            if (rc == BW_DECLINED) {
                continue;
            }
            if (rc == BW_ERROR) {
                return BW_ERROR;
            }
            /* the captures stay the request's, as nginx's do */
            value = re[i].value;
            break;
        }
    }

    if (value == NULL) {
        value = map->default_value;
    }

    if (value == NULL) {
        bw_var_set(v, (u_char *) "", 0);
        return BW_OK;
    }

    if (bw_http_complex_value(r, value, &out) != BW_OK) {
        return BW_ERROR;
    }

    bw_var_set(v, out.data, out.len);
    return BW_OK;
}

static char *
bw_http_map_block(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    char                    *rv;
    bw_str_t                *value, name;
    bw_http_map_t           *map;
    bw_http_variable_t      *var;
    bw_http_map_conf_ctx_t   ctx;

    value = cf->args->elts;

    map = bw_pcalloc(cf->pool, sizeof(bw_http_map_t));
    if (map == NULL) {
        return BW_CONF_ERROR;
    }

    if (bw_http_compile_complex_value(cf, &map->source, &value[1]) != BW_OK) {
        return BW_CONF_ERROR;
    }

    if (bw_http_conf_variable_name(cf, &value[2], &name) != BW_OK) {
        return BW_CONF_ERROR;
    }

    bw_memzero(&ctx, sizeof(bw_http_map_conf_ctx_t));
    ctx.map = map;
    if (bw_hash_keys_init(&ctx.keys, cf->pool) != BW_OK) {
        return BW_CONF_ERROR;
    }

    rv = bw_conf_parse_block(cf, bw_http_map_line, &ctx);

    if (rv != BW_CONF_OK) {
        return rv;
    }

    switch (bw_hash_combined_build(&map->hash, cf->pool, &ctx.keys)) {
    case BW_OK:
        break;
    case BW_BUSY:
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "conflicting parameter in map of \"$%.*s\"",
                          (int) name.len, name.data);
        return BW_CONF_ERROR;
    default:
        return BW_CONF_ERROR;
    }

    var = bw_http_add_variable(cf, &name, BW_HTTP_VAR_CHANGEABLE
                               | (ctx.volatile_ ? BW_HTTP_VAR_NOCACHEABLE
                                                : 0));
    if (var == NULL) {
        return BW_CONF_ERROR;
    }
    var->get_handler = bw_http_map_variable;
    var->data = (uintptr_t) map;

    return BW_CONF_OK;
}

static char *
bw_http_map_line(bw_conf_t *cf, bw_command_t *dummy, void *conf)
{
    bw_http_map_conf_ctx_t *ctx = conf;

    u_char                   *low;
    bw_int_t                  rc;
    bw_str_t                 *value, key, file;
    bw_regex_compile_t        rc_regex;
    bw_http_map_t            *map;
    bw_http_map_regex_t      *re;
    bw_http_complex_value_t  *cv;

    map = ctx->map;
    value = cf->args->elts;

    if (cf->args->nelts == 1) {
        if (bw_str_eq_lit(&value[0], "hostnames")) {
            map->hostnames = 1;
            return BW_CONF_OK;
        }
        if (bw_str_eq_lit(&value[0], "volatile")) {
            ctx->volatile_ = 1;
            return BW_CONF_OK;
        }
        goto invalid;
    }

    if (cf->args->nelts != 2) {
        goto invalid;
    }

    if (bw_str_eq_lit(&value[0], "include")) {
        file = value[1];
        if (bw_conf_full_name(cf->cycle, &file, 1) != BW_OK) {
            return BW_CONF_ERROR;
        }
        return bw_conf_parse(cf, &file);
    }

    cv = bw_palloc(cf->pool, sizeof(bw_http_complex_value_t));
    if (cv == NULL
        || bw_http_compile_complex_value(cf, cv, &value[1]) != BW_OK)
    {
        return BW_CONF_ERROR;
    }

    if (bw_str_eq_lit(&value[0], "default")) {
        if (map->default_value) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "duplicate default map parameter");
            return BW_CONF_ERROR;
        }
        map->default_value = cv;
        return BW_CONF_OK;
    }

    key = value[0];

    if (key.len > 1 && key.data[0] == '~') {
        bw_memzero(&rc_regex, sizeof(bw_regex_compile_t));
        rc_regex.pool = cf->pool;
        rc_regex.pattern.data = key.data + 1;
        rc_regex.pattern.len = key.len - 1;
        if (rc_regex.pattern.data[0] == '*') {
            rc_regex.pattern.data++;
            rc_regex.pattern.len--;
            rc_regex.options = BW_REGEX_CASELESS;
        }
        if (bw_regex_compile(&rc_regex) != BW_OK) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0, "%.*s",
                              (int) rc_regex.err.len, rc_regex.err.data);
            return BW_CONF_ERROR;
        }

        if (map->regexes == NULL) {
            map->regexes = bw_array_create(cf->pool, 4,
                                           sizeof(bw_http_map_regex_t));
            if (map->regexes == NULL) {
                return BW_CONF_ERROR;
            }
        }
        re = bw_array_push(map->regexes);
        if (re == NULL) {
            return BW_CONF_ERROR;
        }
        re->regex = rc_regex.regex;
        re->value = cv;
        return bw_http_regex_add_names(cf, rc_regex.regex) == BW_OK
               ? BW_CONF_OK : BW_CONF_ERROR;
    }

    /* "\\default", "\\~x": the key as written, without the backslash */
    if (key.len > 1 && key.data[0] == '\\') {
        key.data++;
        key.len--;
    }

    low = bw_pnalloc(cf->pool, key.len ? key.len : 1);
    if (low == NULL) {
        return BW_CONF_ERROR;
    }
    bw_strlow(low, key.data, key.len);
    key.data = low;

    if (!map->hostnames || key.len == 0) {
        rc = bw_hash_add_exact_key(&ctx->keys, &key, cv);
    } else {
        rc = bw_hash_add_key(&ctx->keys, &key, cv);
    }

    if (rc == BW_DECLINED) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "invalid hostname or wildcard \"%s\"",
                          value[0].data);
        return BW_CONF_ERROR;
    }

    if (rc == BW_BUSY) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "conflicting parameter \"%s\"", value[0].data);
        return BW_CONF_ERROR;
    }

    return rc == BW_OK ? BW_CONF_OK : BW_CONF_ERROR;

invalid:

    bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid number of the map "
                      "parameters");
    return BW_CONF_ERROR;
}
