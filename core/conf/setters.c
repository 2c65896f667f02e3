/*
 * Generic directive setters: most directives need no code of their own,
 * only an offset into their conf structure. Messages follow nginx's.
 */

#include <bw_core.h>

char *
bw_conf_set_flag_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_flag_t  *fp;
    bw_str_t   *value;

    fp = (bw_flag_t *) ((char *) conf + cmd->offset);
    if (*fp != BW_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (bw_str_caseeq_lit(&value[1], "on")) {
        *fp = 1;
    } else if (bw_str_caseeq_lit(&value[1], "off")) {
        *fp = 0;
    } else {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "invalid value \"%s\" in \"%s\" directive, "
                          "it must be \"on\" or \"off\"",
                          value[1].data, cmd->name.data);
        return BW_CONF_ERROR;
    }

    return BW_CONF_OK;
}

char *
bw_conf_set_str_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_str_t  *field, *value;

    field = (bw_str_t *) ((char *) conf + cmd->offset);
    if (field->data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    *field = value[1];
    return BW_CONF_OK;
}

char *
bw_conf_set_str_array_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_str_t     *value, *s;
    bw_array_t  **a;
    bw_uint_t     i;

    a = (bw_array_t **) ((char *) conf + cmd->offset);

    if (*a == BW_CONF_UNSET_PTR || *a == NULL) {
        *a = bw_array_create(cf->pool, 4, sizeof(bw_str_t));
        if (*a == NULL) {
            return BW_CONF_ERROR;
        }
    }

    value = cf->args->elts;
    for (i = 1; i < cf->args->nelts; i++) {
        s = bw_array_push(*a);
        if (s == NULL) {
            return BW_CONF_ERROR;
        }
        *s = value[i];
    }

    return BW_CONF_OK;
}

char *
bw_conf_set_num_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_int_t  *np;
    bw_str_t  *value;

    np = (bw_int_t *) ((char *) conf + cmd->offset);
    if (*np != BW_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;
    *np = bw_atoi(value[1].data, value[1].len);
    if (*np == BW_ERROR) {
        return "invalid number";
    }

    return BW_CONF_OK;
}

/*
 * A directive nginx configs carry that changes nothing here: it loads, and
 * the log says so with the reason held in cmd->post, so that nobody tunes
 * a setting that is not read.
 */
char *
bw_conf_no_effect(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_conf_log_error(BW_LOG_WARN, cf, 0, "\"%s\" has no effect: %s",
                      cmd->name.data, (const char *) cmd->post);

    return BW_CONF_OK;
}

char *
bw_conf_set_size_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    size_t    *sp;
    ssize_t    n;
    bw_str_t  *value;

    sp = (size_t *) ((char *) conf + cmd->offset);
    if (*sp != BW_CONF_UNSET_SIZE) {
        return "is duplicate";
    }

    value = cf->args->elts;
    n = bw_parse_size(&value[1]);
    if (n == BW_ERROR) {
        return "invalid value";
    }
    *sp = (size_t) n;

    return BW_CONF_OK;
}

/* "NUMBER SIZE": how many buffers of what size (gzip_buffers, ...) */
char *
bw_conf_set_bufs_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    ssize_t    size;
    bw_int_t   num;
    bw_str_t  *value;
    bw_bufs_t *bufs;

    bufs = (bw_bufs_t *) ((char *) conf + cmd->offset);
    if (bufs->num) {
        return "is duplicate";
    }

    value = cf->args->elts;

    num = bw_atoi(value[1].data, value[1].len);
    if (num == BW_ERROR || num == 0) {
        return "invalid value";
    }

    size = bw_parse_size(&value[2]);
    if (size == BW_ERROR || size == 0) {
        return "invalid value";
    }

    bufs->num = (bw_uint_t) num;
    bufs->size = (size_t) size;

    return BW_CONF_OK;
}

char *
bw_conf_set_off_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    off_t     *op;
    bw_str_t  *value;

    op = (off_t *) ((char *) conf + cmd->offset);
    if (*op != BW_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;
    *op = bw_parse_offset(&value[1]);
    if (*op == BW_ERROR) {
        return "invalid value";
    }

    return BW_CONF_OK;
}

char *
bw_conf_set_msec_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_msec_t  *msp;
    bw_int_t    n;
    bw_str_t   *value;

    msp = (bw_msec_t *) ((char *) conf + cmd->offset);
    if (*msp != BW_CONF_UNSET_MSEC) {
        return "is duplicate";
    }

    value = cf->args->elts;
    n = bw_parse_time(&value[1], 0);
    if (n == BW_ERROR) {
        return "invalid value";
    }
    *msp = (bw_msec_t) n;

    return BW_CONF_OK;
}

char *
bw_conf_set_sec_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    time_t    *sp;
    bw_str_t  *value;
    bw_int_t   n;

    sp = (time_t *) ((char *) conf + cmd->offset);
    if (*sp != BW_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;
    n = bw_parse_time(&value[1], 1);
    if (n == BW_ERROR) {
        return "invalid value";
    }
    *sp = n;

    return BW_CONF_OK;
}

char *
bw_conf_set_enum_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_uint_t       *np, i;
    bw_str_t        *value;
    bw_conf_enum_t  *e;

    np = (bw_uint_t *) ((char *) conf + cmd->offset);
    if (*np != BW_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;
    e = cmd->post;

    for (i = 0; e[i].name.len != 0; i++) {
        if (e[i].name.len == value[1].len
            && bw_strncasecmp(e[i].name.data, value[1].data,
                              value[1].len) == 0)
        {
            *np = e[i].value;
            return BW_CONF_OK;
        }
    }

    bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid value \"%s\"",
                      value[1].data);
    return BW_CONF_ERROR;
}

char *
bw_conf_set_bitmask_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_uint_t          *np, i, m;
    bw_str_t           *value;
    bw_conf_bitmask_t  *mask;

    np = (bw_uint_t *) ((char *) conf + cmd->offset);
    value = cf->args->elts;
    mask = cmd->post;

    for (i = 1; i < cf->args->nelts; i++) {
        for (m = 0; mask[m].name.len != 0; m++) {
            if (mask[m].name.len == value[i].len
                && bw_strncasecmp(mask[m].name.data, value[i].data,
                                  value[i].len) == 0)
            {
                break;
            }
        }

        if (mask[m].name.len == 0) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid value \"%s\"",
                              value[i].data);
            return BW_CONF_ERROR;
        }

        if (*np & mask[m].mask) {
            bw_conf_log_error(BW_LOG_WARN, cf, 0, "duplicate value \"%s\"",
                              value[i].data);
        } else {
            *np |= mask[m].mask;
        }
    }

    return BW_CONF_OK;
}
