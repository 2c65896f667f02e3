/*
 * The rewrite module's directives: return, rewrite, set, break, if,
 * rewrite_log and uninitialized_variable_warn, compiled into the list of
 * operations that bw_http_rewrite_script.c runs. Server-level operations
 * run in the server-rewrite phase, location-level ones in the rewrite
 * phase; neither is inherited by inner levels, as in nginx.
 */

#include <bw_http_rewrite.h>

static bw_int_t bw_http_rewrite_init(bw_conf_t *cf);
static void *bw_http_rewrite_create_loc_conf(bw_conf_t *cf);
static char *bw_http_rewrite_merge_loc_conf(bw_conf_t *cf, void *parent,
    void *child);
static char *bw_http_rewrite_return(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_rewrite(bw_conf_t *cf, bw_command_t *cmd, void *conf);
static char *bw_http_rewrite_set(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_rewrite_break(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_rewrite_if(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);

#define ANY_SL  (BW_HTTP_SRV_CONF|BW_HTTP_SIF_CONF|BW_HTTP_LOC_CONF \
                 |BW_HTTP_LIF_CONF)
#define RLOFF(f)  offsetof(bw_http_rewrite_loc_conf_t, f)

static bw_command_t  bw_http_rewrite_commands[] = {

    { bw_string("return"), ANY_SL|BW_CONF_TAKE12,
      bw_http_rewrite_return, BW_HTTP_LOC_CONF_OFFSET, 0, NULL },
    { bw_string("rewrite"), ANY_SL|BW_CONF_TAKE23,
      bw_http_rewrite, BW_HTTP_LOC_CONF_OFFSET, 0, NULL },
    { bw_string("set"), ANY_SL|BW_CONF_TAKE2,
      bw_http_rewrite_set, BW_HTTP_LOC_CONF_OFFSET, 0, NULL },
    { bw_string("break"), ANY_SL|BW_CONF_NOARGS,
      bw_http_rewrite_break, BW_HTTP_LOC_CONF_OFFSET, 0, NULL },
    { bw_string("if"), BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF|BW_CONF_BLOCK
                       |BW_CONF_1MORE,
      bw_http_rewrite_if, BW_HTTP_LOC_CONF_OFFSET, 0, NULL },
    { bw_string("rewrite_log"), BW_HTTP_MAIN_CONF|ANY_SL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, BW_HTTP_LOC_CONF_OFFSET, RLOFF(log), NULL },
    { bw_string("uninitialized_variable_warn"),
      BW_HTTP_MAIN_CONF|ANY_SL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, BW_HTTP_LOC_CONF_OFFSET,
      RLOFF(uninitialized_variable_warn), NULL },

    bw_null_command
};

static bw_http_module_t  bw_http_rewrite_module_ctx = {
    NULL, bw_http_rewrite_init, NULL, NULL, NULL, NULL,
    bw_http_rewrite_create_loc_conf, bw_http_rewrite_merge_loc_conf
};

bw_module_t  bw_http_rewrite_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_rewrite_module_ctx,
    bw_http_rewrite_commands, NULL, NULL, NULL, NULL
};

static bw_http_rewrite_op_t *
bw_http_rewrite_add_op(bw_conf_t *cf, bw_http_rewrite_loc_conf_t *rlcf,
    bw_uint_t type)
{
    bw_http_rewrite_op_t  *op;

    if (rlcf->ops == NULL) {
        rlcf->ops = bw_array_create(cf->pool, 4,
                                    sizeof(bw_http_rewrite_op_t));
        if (rlcf->ops == NULL) {
            return NULL;
        }
    }

    op = bw_array_push(rlcf->ops);
    if (op == NULL) {
        return NULL;
    }
    bw_memzero(op, sizeof(bw_http_rewrite_op_t));
    op->type = type;
    return op;
}

static bw_int_t
bw_http_rewrite_compile_regex(bw_conf_t *cf, bw_str_t *pattern,
    bw_uint_t caseless, bw_regex_t **regex)
{
    bw_regex_compile_t  rc;

    bw_memzero(&rc, sizeof(bw_regex_compile_t));
    rc.pool = cf->pool;
    rc.pattern = *pattern;
    rc.options = caseless ? BW_REGEX_CASELESS : 0;

    if (bw_regex_compile(&rc) != BW_OK) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "%.*s",
                          (int) rc.err.len, rc.err.data);
        return BW_ERROR;
    }

    *regex = rc.regex;

    /* (?<name>...) becomes $name */
    return bw_http_regex_add_names(cf, rc.regex);
}

static bw_uint_t
bw_http_rewrite_absolute(bw_str_t *s)
{
    return (s->len > 7 && bw_strncasecmp(s->data, (u_char *) "http://", 7)
                          == 0)
           || (s->len > 8
               && bw_strncasecmp(s->data, (u_char *) "https://", 8) == 0)
           || (s->len > 7 && memcmp(s->data, "$scheme", 7) == 0);
}

static char *
bw_http_rewrite_return(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_rewrite_loc_conf_t  *rlcf = conf;

    bw_int_t               n;
    bw_str_t              *value, *text;
    bw_http_return_t      *ret;
    bw_http_rewrite_op_t  *op;

    value = cf->args->elts;

    ret = bw_pcalloc(cf->pool, sizeof(bw_http_return_t));
    op = bw_http_rewrite_add_op(cf, rlcf, BW_HTTP_RW_RETURN);
    if (ret == NULL || op == NULL) {
        return BW_CONF_ERROR;
    }
    op->ret = ret;

    n = bw_atoi(value[1].data, value[1].len);

    if (n == BW_ERROR) {
        if (cf->args->nelts == 2 && bw_http_rewrite_absolute(&value[1])) {
            ret->status = BW_HTTP_MOVED_TEMPORARILY;
            text = &value[1];
        } else {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "invalid return code \"%s\"", value[1].data);
            return BW_CONF_ERROR;
        }

    } else {
        if (n > 999) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "invalid return code \"%s\"", value[1].data);
            return BW_CONF_ERROR;
        }
        ret->status = (bw_uint_t) n;
        text = (cf->args->nelts == 3) ? &value[2] : NULL;
    }

    if (text) {
        ret->text = bw_palloc(cf->pool, sizeof(bw_http_complex_value_t));
        if (ret->text == NULL
            || bw_http_compile_complex_value(cf, ret->text, text) != BW_OK)
        {
            return BW_CONF_ERROR;
        }
    }

    return BW_CONF_OK;
}

static char *
bw_http_rewrite(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_rewrite_loc_conf_t  *rlcf = conf;

    u_char                *q;
    bw_str_t              *value, repl, args;
    bw_http_rewrite_op_t  *op;

    value = cf->args->elts;

    op = bw_http_rewrite_add_op(cf, rlcf, BW_HTTP_RW_REWRITE);
    if (op == NULL) {
        return BW_CONF_ERROR;
    }

    op->source = value[1];
    if (bw_http_rewrite_compile_regex(cf, &value[1], 0, &op->regex)
        != BW_OK)
    {
        return BW_CONF_ERROR;
    }

    if (cf->args->nelts == 4) {
        if (bw_str_eq_lit(&value[3], "last")) {
            op->flag = BW_HTTP_RW_LAST;
        } else if (bw_str_eq_lit(&value[3], "break")) {
            op->flag = BW_HTTP_RW_BRK;
        } else if (bw_str_eq_lit(&value[3], "redirect")) {
            op->flag = BW_HTTP_RW_REDIRECT;
        } else if (bw_str_eq_lit(&value[3], "permanent")) {
            op->flag = BW_HTTP_RW_PERMANENT;
        } else {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "invalid parameter \"%s\"", value[3].data);
            return BW_CONF_ERROR;
        }
    }

    repl = value[2];
    op->redirect = bw_http_rewrite_absolute(&repl);

    /* "...?" keeps the client's arguments out */
    if (repl.len && repl.data[repl.len - 1] == '?') {
        op->drop_args = 1;
        repl.len--;
    }

    /* as nginx, the replacement's own "?" (written in the configuration,
     * not one that a capture brings) is where its arguments begin */
    q = memchr(repl.data, '?', repl.len);
    if (q) {
        op->has_args = 1;
        args.data = q + 1;
        args.len = repl.data + repl.len - args.data;
        repl.len = q - repl.data;
        if (bw_http_compile_complex_value(cf, &op->args, &args) != BW_OK) {
            return BW_CONF_ERROR;
        }
    }

    if (bw_http_compile_complex_value(cf, &op->value, &repl) != BW_OK) {
        return BW_CONF_ERROR;
    }

    return BW_CONF_OK;
}

static char *
bw_http_rewrite_set(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_rewrite_loc_conf_t  *rlcf = conf;

    bw_int_t               index;
    bw_str_t              *value;
    bw_http_rewrite_op_t  *op;

    value = cf->args->elts;

    /* until set, the variable is empty (and warned about) */
    index = bw_http_conf_settable_variable(cf, &value[1],
                                           bw_http_rewrite_uninitialized, 0);
    if (index == BW_ERROR) {
        return BW_CONF_ERROR;
    }

    op = bw_http_rewrite_add_op(cf, rlcf, BW_HTTP_RW_SET);
    if (op == NULL) {
        return BW_CONF_ERROR;
    }
    op->index = (bw_uint_t) index;

    if (bw_http_compile_complex_value(cf, &op->value, &value[2]) != BW_OK) {
        return BW_CONF_ERROR;
    }

    return BW_CONF_OK;
}

static char *
bw_http_rewrite_break(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    return bw_http_rewrite_add_op(cf, conf, BW_HTTP_RW_BREAK)
           ? BW_CONF_OK : BW_CONF_ERROR;
}

/*
 * The condition: "($var)", "($var = value)", "($var != value)",
 * "($var ~ regex)" (~*, !~, !~*), "(-f $path)" (!-f, -d, -e, -x ...).
 * The parentheses come glued to the first and last words.
 */
static char *
bw_http_rewrite_condition(bw_conf_t *cf, bw_http_rewrite_op_t *op)
{
    u_char     *p;
    size_t      len;
    bw_str_t   *value, args[3], op_word, args_first, args_last;
    bw_uint_t   i, n, first, last;

    value = cf->args->elts;
    first = 1;
    last = cf->args->nelts - 1;

    if (value[first].len < 1 || value[first].data[0] != '('
        || value[last].len < 1
        || value[last].data[value[last].len - 1] != ')')
    {
        goto invalid;
    }

    /* "(" and ")" may stand alone: "if ( $a )", "if ($a = "")" */
    args_first = value[first];
    args_first.data++;
    args_first.len--;
    if (args_first.len == 0) {
        first++;
    }
    args_last = value[last];
    args_last.len--;
    if (args_last.len == 0) {
        last--;
    }
    if (last < first) {
        goto invalid;
    }

    n = last - first + 1;
    if (n > 3) {
        goto invalid;
    }

    for (i = 0; i < n; i++) {
        args[i] = value[first + i];
    }
    if (value[first].data[0] == '(') {
        args[0].data++;
        args[0].len--;
    }
    if (args[n - 1].len && args[n - 1].data[args[n - 1].len - 1] == ')'
        && first + n - 1 == cf->args->nelts - 1)
    {
        args[n - 1].len--;
    }

    if (n == 1) {
        if (args[0].len == 0) {
            goto invalid;
        }
        op->cond = BW_HTTP_IF_VALUE;
        return bw_http_compile_complex_value(cf, &op->left, &args[0])
               == BW_OK ? BW_CONF_OK : BW_CONF_ERROR;
    }

    if (n == 2) {
        /* -f $path */
        op_word = args[0];
        p = op_word.data;
        len = op_word.len;
        if (len && p[0] == '!') {
            op->negative = 1;
            p++;
            len--;
        }
        if (len != 2 || p[0] != '-') {
            goto invalid;
        }
        switch (p[1]) {
        case 'f': op->cond = BW_HTTP_IF_FILE; break;
        case 'd': op->cond = BW_HTTP_IF_DIR; break;
        case 'e': op->cond = BW_HTTP_IF_EXISTS; break;
        case 'x': op->cond = BW_HTTP_IF_EXEC; break;
        default: goto invalid;
        }
        return bw_http_compile_complex_value(cf, &op->left, &args[1])
               == BW_OK ? BW_CONF_OK : BW_CONF_ERROR;
    }

    if (args[0].len == 0) {
        goto invalid;
    }

    if (bw_http_compile_complex_value(cf, &op->left, &args[0]) != BW_OK) {
        return BW_CONF_ERROR;
    }

    op_word = args[1];

    if (bw_str_eq_lit(&op_word, "=") || bw_str_eq_lit(&op_word, "!=")) {
        op->cond = BW_HTTP_IF_EQ;
        op->negative = op_word.data[0] == '!';
        return bw_http_compile_complex_value(cf, &op->value, &args[2])
               == BW_OK ? BW_CONF_OK : BW_CONF_ERROR;
    }

    if (bw_str_eq_lit(&op_word, "~") || bw_str_eq_lit(&op_word, "~*")
        || bw_str_eq_lit(&op_word, "!~") || bw_str_eq_lit(&op_word, "!~*"))
    {
        if (args[2].len == 0) {
            goto invalid;
        }
        op->cond = BW_HTTP_IF_REGEX;
        op->negative = op_word.data[0] == '!';
        op->source = args[2];
        if (bw_http_rewrite_compile_regex(cf, &args[2],
                op_word.data[op_word.len - 1] == '*', &op->regex)
            != BW_OK)
        {
            return BW_CONF_ERROR;
        }
        return BW_CONF_OK;
    }

invalid:

    bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid condition \"%s\"",
                      value[1].data);
    return BW_CONF_ERROR;
}

/*
 * if: a nameless location under the current level, merged with it like
 * any location (so it inherits root, proxy settings ...), never found by
 * the location search; its directives are those allowed "in if".
 */
static char *
bw_http_rewrite_if(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_rewrite_loc_conf_t  *rlcf = conf;

    char                         *rv;
    bw_conf_t                     save;
    bw_http_conf_ctx_t           *ctx, *pctx;
    bw_http_rewrite_op_t         *op;
    bw_http_core_loc_conf_t      *clcf, *pclcf;
    bw_http_rewrite_loc_conf_t   *nlcf;

    op = bw_http_rewrite_add_op(cf, rlcf, BW_HTTP_RW_IF);
    if (op == NULL) {
        return BW_CONF_ERROR;
    }

    rv = bw_http_rewrite_condition(cf, op);
    if (rv != BW_CONF_OK) {
        return rv;
    }

    pctx = cf->ctx;
    ctx = bw_http_create_conf_ctx(cf, pctx, BW_HTTP_LOC_CONF);
    if (ctx == NULL) {
        return BW_CONF_ERROR;
    }

    pclcf = pctx->loc_conf[bw_http_core_module.ctx_index];
    clcf = ctx->loc_conf[bw_http_core_module.ctx_index];
    clcf->loc_conf = ctx->loc_conf;
    clcf->name = pclcf->name;
    clcf->noname = 1;

    if (bw_http_add_location(cf, &pclcf->locations, clcf) != BW_OK) {
        return BW_CONF_ERROR;
    }

    op->loc_conf = ctx->loc_conf;

    save = *cf;
    cf->ctx = ctx;
    cf->cmd_type = (save.cmd_type == BW_HTTP_SRV_CONF) ? BW_HTTP_SIF_CONF
                                                       : BW_HTTP_LIF_CONF;
    rv = bw_conf_parse(cf, NULL);
    *cf = save;

    if (rv != BW_CONF_OK) {
        return rv;
    }

    nlcf = ctx->loc_conf[bw_http_rewrite_module.ctx_index];
    op->ops = nlcf->ops;

    /* the block's operations run inline here, never on their own */
    nlcf->ops = NULL;

    return BW_CONF_OK;
}

static void *
bw_http_rewrite_create_loc_conf(bw_conf_t *cf)
{
    bw_http_rewrite_loc_conf_t  *conf;

    conf = bw_pcalloc(cf->pool, sizeof(bw_http_rewrite_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->log = BW_CONF_UNSET;
    conf->uninitialized_variable_warn = BW_CONF_UNSET;

    return conf;
}

static char *
bw_http_rewrite_merge_loc_conf(bw_conf_t *cf, void *parent, void *child)
{
    bw_http_rewrite_loc_conf_t  *prev = parent;
    bw_http_rewrite_loc_conf_t  *conf = child;

    bw_conf_merge_value(conf->log, prev->log, 0);
    bw_conf_merge_value(conf->uninitialized_variable_warn,
                        prev->uninitialized_variable_warn, 1);

    return BW_CONF_OK;
}

static bw_int_t
bw_http_rewrite_init(bw_conf_t *cf)
{
    if (bw_http_add_phase_handler(cf, BW_HTTP_SERVER_REWRITE_PHASE,
                                  bw_http_rewrite_handler)
        != BW_OK)
    {
        return BW_ERROR;
    }

    return bw_http_add_phase_handler(cf, BW_HTTP_REWRITE_PHASE,
                                     bw_http_rewrite_handler);
}
