/*
 * Running a server's or location's rewrite operations, as nginx does:
 *
 *   rewrite  matches $uri; the replacement's captures come from the
 *            match; "?" in it brings new arguments (the old ones are
 *            appended unless it ends in "?"). No flag: go on with the
 *            next operation, the location is looked up again at the
 *            end; last: stop here and look the location up again;
 *            break: stop here and stay in this location; redirect
 *            (302), permanent (301), or an http://, https:// or
 *            $scheme replacement: answer with a redirect.
 *   return   answers at once. set stores a variable. break stops.
 *   if       when the condition holds, its block's configuration
 *            becomes the request's and its operations run inline; the
 *            operations after the block run too, still under the
 *            block's configuration (nginx's well-known behaviour).
 */

#include <bw_http_rewrite.h>
#include <sys/stat.h>

#define BW_HTTP_RW_CONTINUE  -100     /* internal: go on */
#define BW_HTTP_RW_STOP      -101     /* internal: stop, stay */

static bw_int_t bw_http_rewrite_run(bw_http_request_t *r, bw_array_t *ops);

/*
 * nginx's rule: below 400, or with a text, the answer is built here (a
 * redirect's text is its Location, any other's its body, empty when
 * there is none); an error without text gets the error page.
 */
static bw_int_t
bw_http_rewrite_return(bw_http_request_t *r, bw_http_return_t *ret)
{
    if (ret->status == 444) {
        return 444;
    }

    if (ret->status < BW_HTTP_BAD_REQUEST || ret->text) {
        return bw_http_send_response(r, ret->status, NULL, ret->text);
    }

    return (bw_int_t) ret->status;
}

/*
 * A redirect's URL as nginx leaves it: %XX of a printable character
 * above '%' is decoded (so the escaped captures read as the client
 * wrote them), the rest stays escaped; nothing after the first '?' is
 * touched. In place: it only shrinks.
 */
static void
bw_http_rewrite_unescape_redirect(bw_str_t *s)
{
    u_char  *p, *d, *end, ch;

    p = s->data;
    d = p;
    end = p + s->len;

    while (p < end) {
        if (*p == '?') {
            break;
        }

        if (*p == '%' && end - p >= 3 && bw_hex_digit(p[1]) >= 0
            && bw_hex_digit(p[2]) >= 0)
        {
            ch = (u_char) (bw_hex_digit(p[1]) * 16 + bw_hex_digit(p[2]));
            if (ch > '%' && ch < 0x7f) {
                *d++ = ch;
                p += 3;
                if (ch == '?') {
                    break;
                }
                continue;
            }
        }

        *d++ = *p++;
    }

    while (p < end) {
        *d++ = *p++;
    }

    s->len = d - s->data;
}

/* The client's path (not its arguments) had a %XX or a '+'. */
static bw_uint_t
bw_http_rewrite_quoted_uri(bw_http_request_t *r)
{
    u_char  *p, *end;

    p = r->unparsed_uri.data;
    end = p + r->unparsed_uri.len;

    for ( /* void */ ; p < end && *p != '?'; p++) {
        if (*p == '%' || *p == '+') {
            return 1;
        }
    }

    return 0;
}

static bw_int_t
bw_http_rewrite_rewrite(bw_http_request_t *r, bw_http_rewrite_op_t *op,
    bw_http_rewrite_loc_conf_t *rlcf)
{
    u_char                   *p;
    bw_uint_t                 quoted, redirect;
    size_t                    len;
    bw_int_t                  rc;
    bw_str_t                  uri, args, out;
    bw_http_complex_value_t   cv;

    rc = bw_http_regex_exec(r, op->regex, &r->uri);
    if (rc == BW_DECLINED) {
        return BW_HTTP_RW_CONTINUE;
    }
    if (rc != BW_OK) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    redirect = op->redirect || op->flag == BW_HTTP_RW_REDIRECT
               || op->flag == BW_HTTP_RW_PERMANENT;

    /* as nginx: when the client's path was escaped (or had a '+'), the
     * captures that land in a Location or in the arguments are escaped
     * again, so that the URL says what the client said */
    quoted = bw_http_rewrite_quoted_uri(r);

    if (bw_http_complex_value_escaped(r, &op->value, &uri,
                                      quoted && redirect) != BW_OK)
    {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    args.len = 0;
    args.data = NULL;
    if (op->has_args
        && bw_http_complex_value_escaped(r, &op->args, &args, quoted)
           != BW_OK)
    {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    /*
     * The client's arguments follow, unless the replacement ends in "?":
     * after the replacement's own with "&", as nginx (even after none of
     * them), else as they are. A "?" that a capture brings is part of the
     * path: only the one written in the configuration starts arguments.
     */
    if (!redirect && !op->has_args) {
        /* the new path alone: the arguments stay as they are */
        out = uri;

    } else {
        len = uri.len + 1 + args.len + 1 + r->args.len;
        p = bw_pnalloc(r->pool, len);
        if (p == NULL) {
            return BW_HTTP_INTERNAL_SERVER_ERROR;
        }
        out.data = p;
        p = bw_cpymem(p, uri.data, uri.len);
        if (op->has_args) {
            *p++ = '?';
            p = bw_cpymem(p, args.data, args.len);
        }
        if (!op->drop_args && r->args.len) {
            *p++ = op->has_args ? '&' : '?';
            p = bw_cpymem(p, r->args.data, r->args.len);
        }
        out.len = p - out.data;
    }

    if (rlcf->log == 1) {
        bw_log_error(BW_LOG_NOTICE, r->connection->log, 0,
                     "\"%.*s\" matches \"%.*s\", rewritten to \"%.*s\"",
                     (int) op->source.len, op->source.data,
                     (int) r->uri.len, r->uri.data, (int) out.len, out.data);
    }

    if (redirect) {
        /* the Location, whole; what is printable decodes up to the first
         * '?', as nginx (the client's arguments come after it anyway) */
        if (memchr(out.data, '%', out.len)) {
            bw_http_rewrite_unescape_redirect(&out);
        }
        bw_memzero(&cv, sizeof(bw_http_complex_value_t));
        cv.value = out;

        return bw_http_send_response(r, op->flag == BW_HTTP_RW_PERMANENT
                                        ? BW_HTTP_MOVED_PERMANENTLY
                                        : BW_HTTP_MOVED_TEMPORARILY,
                                     NULL, &cv);
    }

    if (op->has_args) {
        args.data = out.data + uri.len + 1;
        args.len = out.len - uri.len - 1;
    } else if (!op->drop_args) {
        args = r->args;
    }

    if (uri.len == 0 || uri.data[0] != '/') {
        bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                     "the rewritten URI has no leading \"/\": \"%.*s\"",
                     (int) uri.len, uri.data);
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->uri = uri;
    r->args = args;
    r->valid_unparsed_uri = 0;

    /* the type of what is served comes from the new URI, as in nginx */
    if (bw_http_set_exten(r) != BW_OK) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (op->flag == BW_HTTP_RW_BRK) {
        r->valid_location = 0;
        return BW_HTTP_RW_STOP;
    }

    r->uri_changed = 1;

    return op->flag == BW_HTTP_RW_LAST ? BW_HTTP_RW_STOP
                                       : BW_HTTP_RW_CONTINUE;
}

static bw_int_t
bw_http_rewrite_set(bw_http_request_t *r, bw_http_rewrite_op_t *op)
{
    bw_str_t  value;

    if (bw_http_complex_value(r, &op->value, &value) != BW_OK) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    bw_http_variable_set(r, op->index, &value);

    return BW_HTTP_RW_CONTINUE;
}

static bw_int_t
bw_http_rewrite_test(bw_http_request_t *r, bw_http_rewrite_op_t *op)
{
    bw_int_t      rc;
    bw_str_t      left, right;
    struct stat   st;
    u_char       *path;

    if (bw_http_complex_value(r, &op->left, &left) != BW_OK) {
        return BW_ERROR;
    }

    switch (op->cond) {

    case BW_HTTP_IF_VALUE:
        return !(left.len == 0 || (left.len == 1 && left.data[0] == '0'));

    case BW_HTTP_IF_EQ:
        if (bw_http_complex_value(r, &op->value, &right) != BW_OK) {
            return BW_ERROR;
        }
        return (left.len == right.len
                && memcmp(left.data, right.data, left.len) == 0)
               ^ op->negative;

    case BW_HTTP_IF_REGEX:
        rc = bw_http_regex_exec(r, op->regex, &left);
        if (rc == BW_ERROR) {
            return BW_ERROR;
        }
        return (rc == BW_OK) ^ op->negative;

    default:
        /* -f -d -e -x: a stat() (nginx does the same without a cache) */
        path = bw_pnalloc(r->pool, left.len + 1);
        if (path == NULL) {
            return BW_ERROR;
        }
        memcpy(path, left.data, left.len);
        path[left.len] = '\0';

        if (stat((char *) path, &st) == -1) {
            return op->negative;
        }

        switch (op->cond) {
        case BW_HTTP_IF_FILE:
            rc = S_ISREG(st.st_mode);
            break;
        case BW_HTTP_IF_DIR:
            rc = S_ISDIR(st.st_mode);
            break;
        case BW_HTTP_IF_EXEC:
            /* the owner's execute bit, directories too, as nginx */
            rc = (st.st_mode & S_IXUSR) != 0;
            break;
        default:
            rc = 1;
        }
        return rc ^ op->negative;
    }
}

static bw_int_t
bw_http_rewrite_run(bw_http_request_t *r, bw_array_t *ops)
{
    bw_int_t                     rc;
    bw_uint_t                    i;
    bw_http_rewrite_op_t        *op;
    bw_http_rewrite_loc_conf_t  *rlcf;

    op = ops->elts;

    for (i = 0; i < ops->nelts; i++) {
        rlcf = r->loc_conf[bw_http_rewrite_module.ctx_index];

        switch (op[i].type) {

        case BW_HTTP_RW_RETURN:
            return bw_http_rewrite_return(r, op[i].ret);

        case BW_HTTP_RW_BREAK:
            return BW_HTTP_RW_STOP;

        case BW_HTTP_RW_SET:
            rc = bw_http_rewrite_set(r, &op[i]);
            break;

        case BW_HTTP_RW_REWRITE:
            rc = bw_http_rewrite_rewrite(r, &op[i], rlcf);
            break;

        default: /* BW_HTTP_RW_IF */
            rc = bw_http_rewrite_test(r, &op[i]);
            if (rc == BW_ERROR) {
                return BW_HTTP_INTERNAL_SERVER_ERROR;
            }
            if (!rc) {
                rc = BW_HTTP_RW_CONTINUE;
                break;
            }
            r->loc_conf = op[i].loc_conf;
            bw_http_update_location_config(r);
            rc = op[i].ops ? bw_http_rewrite_run(r, op[i].ops)
                           : BW_HTTP_RW_CONTINUE;
        }

        if (rc != BW_HTTP_RW_CONTINUE) {
            return rc;
        }
    }

    return BW_HTTP_RW_CONTINUE;
}

bw_int_t
bw_http_rewrite_handler(bw_http_request_t *r)
{
    bw_int_t                     rc;
    bw_http_rewrite_loc_conf_t  *rlcf;

    rlcf = r->loc_conf[bw_http_rewrite_module.ctx_index];

    if (rlcf->ops == NULL) {
        return BW_DECLINED;
    }

    rc = bw_http_rewrite_run(r, rlcf->ops);

    if (rc == BW_HTTP_RW_CONTINUE || rc == BW_HTTP_RW_STOP) {
        return BW_DECLINED;
    }

    return rc;
}

/* A variable "set" names but no request has set yet. */
bw_int_t
bw_http_rewrite_uninitialized(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    bw_str_t                    *name = (bw_str_t *) data;
    bw_http_rewrite_loc_conf_t  *rlcf;

    rlcf = r->loc_conf[bw_http_rewrite_module.ctx_index];

    if (rlcf->uninitialized_variable_warn) {
        bw_log_error(BW_LOG_WARN, r->connection->log, 0,
                     "using uninitialized \"%.*s\" variable",
                     (int) name->len, name->data);
    }

    bw_var_set(v, (u_char *) "", 0);
    return BW_OK;
}
