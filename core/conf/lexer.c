/*
 * The configuration tokenizer: nginx's block syntax. It reads from a
 * buffer holding a whole file (configuration files are small) and fills
 * cf->args with the words of one directive. It never allocates per byte:
 * each word is copied once into the configuration pool.
 */

#include <bw_core.h>

static bw_int_t
bw_conf_push_word(bw_conf_t *cf, u_char *start, u_char *end)
{
    u_char    *dst, *src;
    bw_str_t  *word;

    word = bw_array_push(cf->args);
    if (word == NULL) {
        return BW_ERROR;
    }

    word->data = bw_pnalloc(cf->pool, end - start + 1);
    if (word->data == NULL) {
        return BW_ERROR;
    }

    for (dst = word->data, src = start; src < end; ) {
        if (*src == '\\' && src + 1 < end) {
            switch (src[1]) {
            case '"': case '\'': case '\\':
                src++;
                break;
            case 't':
                *dst++ = '\t'; src += 2;
                continue;
            case 'r':
                *dst++ = '\r'; src += 2;
                continue;
            case 'n':
                *dst++ = '\n'; src += 2;
                continue;
            }
        }
        *dst++ = *src++;
    }

    *dst = '\0';
    word->len = dst - word->data;
    return BW_OK;
}

/*
 * Returns BW_OK (";"), BW_CONF_BLOCK_START ("{"), BW_CONF_BLOCK_DONE
 * ("}"), BW_CONF_FILE_DONE, or BW_ERROR after logging why.
 */
bw_int_t
bw_conf_read_token(bw_conf_t *cf)
{
    u_char          ch, quote, *p, *start, *end;
    bw_conf_file_t  *f;

    f = cf->conf_file;
    cf->args->nelts = 0;

    for ( ;; ) {
        /* skip white space and comments */
        while (f->pos < f->end) {
            ch = *f->pos;
            if (ch == '\n') {
                f->line++;
                f->pos++;
            } else if (ch == ' ' || ch == '\t' || ch == '\r') {
                f->pos++;
            } else if (ch == '#') {
                while (f->pos < f->end && *f->pos != '\n') {
                    f->pos++;
                }
            } else {
                break;
            }
        }

        if (f->pos >= f->end) {
            if (cf->args->nelts > 0) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                  "unexpected end of file, "
                                  "expecting \";\" or \"}\"");
                return BW_ERROR;
            }
            return BW_CONF_FILE_DONE;
        }

        ch = *f->pos;

        if (ch == ';' || ch == '{') {
            f->pos++;
            if (cf->args->nelts == 0) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0, "unexpected \"%c\"",
                                  ch);
                return BW_ERROR;
            }
            return ch == ';' ? BW_OK : BW_CONF_BLOCK_START;
        }

        if (ch == '}') {
            f->pos++;
            if (cf->args->nelts != 0) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0, "unexpected \"}\"");
                return BW_ERROR;
            }
            return BW_CONF_BLOCK_DONE;
        }

        if (cf->args->nelts >= 256) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0, "too many arguments");
            return BW_ERROR;
        }

        if (ch == '"' || ch == '\'') {
            quote = ch;
            start = ++f->pos;
            for (p = start; p < f->end; p++) {
                if (*p == '\\' && p + 1 < f->end) {
                    if (p[1] == '\n') {
                        f->line++;
                    }
                    p++;
                    continue;
                }
                if (*p == '\n') {
                    f->line++;
                }
                if (*p == quote) {
                    break;
                }
            }
            if (p >= f->end) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                  "unexpected end of file, "
                                  "expecting %c", quote);
                return BW_ERROR;
            }
            end = p;
            f->pos = p + 1;

            /* a quoted word must be followed by a separator; ")" counts,
             * for "if ($a = "")", as in nginx */
            if (f->pos < f->end) {
                ch = *f->pos;
                if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n'
                    && ch != ';' && ch != '{' && ch != ')')
                {
                    bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                      "unexpected \"%c\"", ch);
                    return BW_ERROR;
                }
            }

            if (bw_conf_push_word(cf, start, end) != BW_OK) {
                return BW_ERROR;
            }
            continue;
        }

        /* an unquoted word; "${name}" may hold braces */
        start = f->pos;
        for (p = start; p < f->end; p++) {
            ch = *p;
            if (ch == '\\' && p + 1 < f->end) {
                p++;
                continue;
            }
            if (ch == '$' && p + 1 < f->end && p[1] == '{') {
                u_char *rb = memchr(p, '}', f->end - p);
                if (rb == NULL) {
                    bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                      "the closing bracket in variable "
                                      "is missing");
                    return BW_ERROR;
                }
                p = rb;
                continue;
            }
            if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'
                || ch == ';' || ch == '{' || ch == '}')
            {
                break;
            }
            if (ch == '"' || ch == '\'') {
                /* nginx allows quotes inside a word (e.g. log formats) */
                continue;
            }
        }

        f->pos = p;
        if (bw_conf_push_word(cf, start, p) != BW_OK) {
            return BW_ERROR;
        }
    }
}
