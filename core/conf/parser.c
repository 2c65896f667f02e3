/*
 * Directive dispatch: find the directive among the modules, check the
 * context and the argument count, locate the conf structure and call the
 * setter. Error texts follow nginx's wording, so that tools and people
 * who know nginx's messages read ours without surprise.
 */

#include <bw_core.h>

static char *bw_conf_parse_type(bw_conf_t *cf, bw_str_t *filename,
    bw_uint_t param);
static bw_int_t bw_conf_handler(bw_conf_t *cf, bw_int_t last);
static void bw_conf_suggest(bw_conf_t *cf, bw_str_t *name, u_char *buf,
    size_t len);

static bw_uint_t  argument_number[] = {
    BW_CONF_NOARGS, BW_CONF_TAKE1, BW_CONF_TAKE2, BW_CONF_TAKE3,
    BW_CONF_TAKE4, BW_CONF_TAKE5, BW_CONF_TAKE6, BW_CONF_TAKE7
};

static bw_command_t  bw_conf_commands[] = {
    { bw_string("include"), BW_ANY_CONF|BW_CONF_TAKE1, bw_conf_include,
      0, 0, NULL },
    bw_null_command
};

bw_module_t  bw_conf_module = {
    BW_MODULE_V1, BW_CONF_MODULE, NULL, bw_conf_commands,
    NULL, NULL, NULL, NULL
};

char *
bw_conf_param(bw_conf_t *cf, bw_str_t *param)
{
    char            *rv;
    bw_conf_file_t   conf_file, *prev;

    if (param->len == 0) {
        return BW_CONF_OK;
    }

    bw_memzero(&conf_file, sizeof(conf_file));
    bw_str_set(&conf_file.name, "command line");
    conf_file.line = 1;
    conf_file.pos = param->data;
    conf_file.end = param->data + param->len;

    prev = cf->conf_file;
    cf->conf_file = &conf_file;
    rv = bw_conf_parse_type(cf, NULL, 1);
    cf->conf_file = prev;

    return rv;
}

/* filename: a file to read; NULL: the block at cf's position. */
char *
bw_conf_parse(bw_conf_t *cf, bw_str_t *filename)
{
    return bw_conf_parse_type(cf, filename, 0);
}

static char *
bw_conf_parse_type(bw_conf_t *cf, bw_str_t *filename, bw_uint_t param)
{
    char            *rv;
    bw_int_t         rc;
    bw_err_t         err;
    bw_str_t         content;
    bw_uint_t        i;
    bw_conf_file_t  *prev, conf_file;
    bw_conf_dump_t  *dump;
    enum { parse_file = 0, parse_block, parse_param } type;

    prev = NULL;

    if (filename) {
        if (bw_read_whole_file(cf->pool, (char *) filename->data, &content,
                               &err) != BW_OK)
        {
            bw_conf_log_error(BW_LOG_EMERG, cf, err, "open() \"%s\" failed",
                              filename->data);
            return BW_CONF_ERROR;
        }

        prev = cf->conf_file;
        cf->conf_file = &conf_file;
        conf_file.name = *filename;
        conf_file.line = 1;
        conf_file.pos = content.data;
        conf_file.end = content.data + content.len;
        type = parse_file;

        /* -T: a file included more than once is printed once, as by
         * nginx (a small list: a linear look suffices) */
        dump = cf->cycle->config_dump.elts;
        for (i = 0; i < cf->cycle->config_dump.nelts; i++) {
            if (bw_str_eq(&dump[i].name, filename)) {
                break;
            }
        }

        if (i == cf->cycle->config_dump.nelts) {
            dump = bw_array_push(&cf->cycle->config_dump);
            if (dump == NULL) {
                goto failed;
            }
            dump->name = *filename;
            dump->content = content;
        }

    } else if (param) {
        type = parse_param;

    } else {
        type = parse_block;
    }

    for ( ;; ) {
        rc = bw_conf_read_token(cf);

        if (rc == BW_ERROR) {
            goto failed;
        }

        if (rc == BW_CONF_BLOCK_DONE) {
            if (type != parse_block) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0, "unexpected \"}\"");
                goto failed;
            }
            goto done;
        }

        if (rc == BW_CONF_FILE_DONE) {
            if (type == parse_block) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                  "unexpected end of file, expecting \"}\"");
                goto failed;
            }
            goto done;
        }

        if (cf->handler) {
            /* a block of non-directives, e.g. "types { ... }" */
            if (rc == BW_CONF_BLOCK_START) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0, "unexpected \"{\"");
                goto failed;
            }
            rv = cf->handler(cf, NULL, cf->handler_conf);
            if (rv == BW_CONF_OK) {
                continue;
            }
            if (rv != BW_CONF_ERROR) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0, "%s", rv);
            }
            goto failed;
        }

        if (bw_conf_handler(cf, rc) != BW_OK) {
            goto failed;
        }
    }

failed:
    rc = BW_ERROR;
    goto out;

done:
    rc = BW_OK;

out:
    if (filename) {
        cf->conf_file = prev;
    }
    return rc == BW_OK ? BW_CONF_OK : BW_CONF_ERROR;
}

static bw_int_t
bw_conf_handler(bw_conf_t *cf, bw_int_t last)
{
    char          *rv;
    void          *conf, **confp;
    bw_uint_t      i, found, nargs;
    bw_str_t      *name;
    bw_command_t  *cmd;
    bw_module_t   *m;
    u_char         hint[128];

    name = cf->args->elts;
    found = 0;

    for (i = 0; bw_modules[i]; i++) {
        m = bw_modules[i];
        cmd = m->commands;
        if (cmd == NULL) {
            continue;
        }

        for ( /* void */ ; cmd->name.len; cmd++) {
            if (name->len != cmd->name.len
                || memcmp(name->data, cmd->name.data, name->len) != 0)
            {
                continue;
            }

            found = 1;

            if (m->type != BW_CONF_MODULE && m->type != cf->module_type) {
                continue;
            }
            if (!(cmd->type & cf->cmd_type)) {
                continue;
            }

            if (!(cmd->type & BW_CONF_BLOCK) && last != BW_OK) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                  "directive \"%s\" is not terminated "
                                  "by \";\"", name->data);
                return BW_ERROR;
            }

            if ((cmd->type & BW_CONF_BLOCK) && last != BW_CONF_BLOCK_START) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                  "directive \"%s\" has no opening \"{\"",
                                  name->data);
                return BW_ERROR;
            }

            nargs = cf->args->nelts;

            if (!(cmd->type & BW_CONF_ANY)) {
                if (cmd->type & BW_CONF_FLAG) {
                    if (nargs != 2) {
                        goto invalid;
                    }
                } else if (cmd->type & BW_CONF_1MORE) {
                    if (nargs < 2) {
                        goto invalid;
                    }
                } else if (cmd->type & BW_CONF_2MORE) {
                    if (nargs < 3) {
                        goto invalid;
                    }
                } else if (nargs > BW_CONF_MAX_ARGS) {
                    goto invalid;
                } else if (!(cmd->type & argument_number[nargs - 1])) {
                    goto invalid;
                }
            }

            conf = NULL;

            if (cmd->type & BW_DIRECT_CONF) {
                conf = ((void **) cf->ctx)[m->index];

            } else if (cmd->type & BW_MAIN_CONF) {
                conf = &(((void **) cf->ctx)[m->index]);

            } else if (cf->ctx) {
                confp = *(void **) ((char *) cf->ctx + cmd->conf);
                if (confp) {
                    conf = confp[m->ctx_index];
                }
            }

            rv = cmd->set(cf, cmd, conf);

            if (rv == BW_CONF_OK) {
                return BW_OK;
            }
            if (rv == BW_CONF_ERROR) {
                return BW_ERROR;
            }

            bw_conf_log_error(BW_LOG_EMERG, cf, 0, "\"%s\" directive %s",
                              name->data, rv);
            return BW_ERROR;
        }
    }

    if (found) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "\"%s\" directive is not allowed here",
                          name->data);
        return BW_ERROR;
    }

    bw_conf_suggest(cf, name, hint, sizeof(hint));
    bw_conf_log_error(BW_LOG_EMERG, cf, 0, "unknown directive \"%s\"%s",
                      name->data, hint);
    return BW_ERROR;

invalid:

    bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                      "invalid number of arguments in \"%s\" directive",
                      name->data);
    return BW_ERROR;
}

/* A typo gets the nearest known directive, if it is near enough. */
static void
bw_conf_suggest(bw_conf_t *cf, bw_str_t *name, u_char *buf, size_t len)
{
    bw_uint_t      i, d, best;
    bw_command_t  *cmd, *found;

    buf[0] = '\0';
    best = (bw_uint_t) -1;
    found = NULL;

    for (i = 0; bw_modules[i]; i++) {
        for (cmd = bw_modules[i]->commands; cmd && cmd->name.len; cmd++) {
            d = bw_levenshtein(name->data, name->len, cmd->name.data,
                               cmd->name.len);
            if (d < best) {
                best = d;
                found = cmd;
            }
        }
    }

    if (found && best > 0 && best <= 2 && best < name->len / 2 + 1) {
        (void) bw_slprintf(buf, buf + len, " (did you mean \"%s\"?)",
                           found->name.data);
    }
}

char *
bw_conf_include(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    char      *rv;
    int        n;
    size_t     i;
    glob_t     gl;
    bw_str_t  *value, file, name;

    value = cf->args->elts;
    file = value[1];

    if (bw_conf_full_name(cf->cycle, &file, 1) != BW_OK) {
        return BW_CONF_ERROR;
    }

    if (strpbrk((char *) file.data, "*?[") == NULL) {
        return bw_conf_parse(cf, &file);
    }

    bw_memzero(&gl, sizeof(gl));
    n = glob((char *) file.data, 0, NULL, &gl);
    if (n != 0 && n != GLOB_NOMATCH) {
        bw_conf_log_error(BW_LOG_EMERG, cf, errno, "glob() \"%s\" failed",
                          file.data);
        globfree(&gl);
        return BW_CONF_ERROR;
    }

    rv = BW_CONF_OK;

    for (i = 0; i < gl.gl_pathc; i++) {
        name.len = strlen(gl.gl_pathv[i]);
        name.data = bw_pnalloc(cf->pool, name.len + 1);
        if (name.data == NULL) {
            rv = BW_CONF_ERROR;
            break;
        }
        memcpy(name.data, gl.gl_pathv[i], name.len + 1);

        rv = bw_conf_parse(cf, &name);
        if (rv != BW_CONF_OK) {
            break;
        }
    }

    globfree(&gl);
    return rv;
}

/* Relative names resolve against the prefix, or the config's directory. */
bw_int_t
bw_conf_full_name(bw_cycle_t *cycle, bw_str_t *name, bw_uint_t conf_prefix)
{
    return bw_get_full_name(cycle->pool,
                            conf_prefix ? &cycle->conf_prefix : &cycle->prefix,
                            name);
}

bw_open_file_t *
bw_conf_open_file(bw_cycle_t *cycle, bw_str_t *name)
{
    bw_str_t          full;
    bw_uint_t         i;
    bw_list_part_t   *part;
    bw_open_file_t   *file;

    full = *name;
    if (name->len) {
        if (bw_conf_full_name(cycle, &full, 0) != BW_OK) {
            return NULL;
        }

        part = &cycle->open_files.part;
        file = part->elts;
        for (i = 0; /* void */ ; i++) {
            if (i >= part->nelts) {
                if (part->next == NULL) {
                    break;
                }
                part = part->next;
                file = part->elts;
                i = 0;
            }
            if (bw_str_eq(&full, &file[i].name)) {
                return &file[i];
            }
        }
    }

    file = bw_list_push(&cycle->open_files);
    if (file == NULL) {
        return NULL;
    }

    if (name->len) {
        file->fd = -1;
        file->name = full;
    } else {
        file->fd = STDERR_FILENO;
        file->name = *name;
    }
    file->flush = NULL;
    file->data = NULL;

    return file;
}

void
bw_conf_log_error(bw_uint_t level, bw_conf_t *cf, bw_err_t err,
    const char *fmt, ...)
{
    u_char    errstr[BW_MAX_ERROR_STR], *p, *last;
    va_list   args;
    char      buf[128];

    last = errstr + BW_MAX_ERROR_STR;

    va_start(args, fmt);
    p = bw_vslprintf(errstr, last, fmt, args);
    va_end(args);

    if (err) {
        p = bw_slprintf(p, last, " (%d: %s)", err,
                        strerror_r(err, buf, sizeof(buf)));
    }

    if (cf->conf_file == NULL) {
        bw_log_error(level, cf->log, 0, "%.*s", (int) (p - errstr), errstr);
        return;
    }

    if (cf->conf_file->name.data && strcmp((char *) cf->conf_file->name.data,
                                           "command line") == 0)
    {
        bw_log_error(level, cf->log, 0, "%.*s in command line",
                     (int) (p - errstr), errstr);
        return;
    }

    bw_log_error(level, cf->log, 0, "%.*s in %s:%lu", (int) (p - errstr),
                 errstr, cf->conf_file->name.data,
                 (unsigned long) cf->conf_file->line);
}

char *
bw_conf_parse_block(bw_conf_t *cf, bw_conf_handler_pt handler, void *conf)
{
    char       *rv;
    bw_conf_t   save;

    save = *cf;
    cf->handler = handler;
    cf->handler_conf = conf;
    rv = bw_conf_parse(cf, NULL);
    *cf = save;

    return rv;
}
