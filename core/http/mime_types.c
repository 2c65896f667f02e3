/*
 * Lists of MIME types that a module applies to (gzip_types, ...): "*"
 * matches any type; a response's type matches without its parameters
 * ("text/html; charset=utf-8" is text/html) and whatever its case.
 */

#include <bw_http.h>

/*
 * "TYPE ..." into the bw_array_t * of bw_str_t at cmd->offset; as nginx,
 * text/html is always in the list.
 */
char *
bw_http_types_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_str_t     *value, *t;
    bw_uint_t     i;
    bw_array_t  **types;

    types = (bw_array_t **) ((char *) conf + cmd->offset);
    if (*types != BW_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    *types = bw_array_create(cf->pool, cf->args->nelts, sizeof(bw_str_t));
    if (*types == NULL) {
        return BW_CONF_ERROR;
    }

    t = bw_array_push(*types);
    if (t == NULL) {
        return BW_CONF_ERROR;
    }
    bw_str_set(t, "text/html");

    value = cf->args->elts;
    for (i = 1; i < cf->args->nelts; i++) {
        if (bw_str_eq_lit(&value[i], "text/html")) {
            continue;
        }
        t = bw_array_push(*types);
        if (t == NULL) {
            return BW_CONF_ERROR;
        }
        *t = value[i];
    }

    return BW_CONF_OK;
}

/* A level without the directive takes its parent's list, or the default
 * ("text/html" and the NULL-ended defaults). */
char *
bw_http_merge_types_list(bw_conf_t *cf, bw_array_t **types,
    bw_array_t **prev, const char **defaults)
{
    bw_str_t  *t;

    if (*types != BW_CONF_UNSET_PTR) {
        return BW_CONF_OK;
    }

    if (*prev == BW_CONF_UNSET_PTR) {
        *prev = bw_array_create(cf->pool, 4, sizeof(bw_str_t));
        if (*prev == NULL) {
            return BW_CONF_ERROR;
        }
        t = bw_array_push(*prev);
        if (t == NULL) {
            return BW_CONF_ERROR;
        }
        bw_str_set(t, "text/html");

        for ( /* void */ ; defaults && *defaults; defaults++) {
            t = bw_array_push(*prev);
            if (t == NULL) {
                return BW_CONF_ERROR;
            }
            t->data = (u_char *) *defaults;
            t->len = strlen(*defaults);
        }
    }

    *types = *prev;
    return BW_CONF_OK;
}

bw_uint_t
bw_http_test_content_type(bw_http_request_t *r, bw_array_t *types)
{
    u_char     *p, *end;
    size_t      len;
    bw_str_t   *t;
    bw_uint_t   i;

    p = r->headers_out.content_type.data;
    len = r->headers_out.content_type.len;
    if (len == 0) {
        return 0;
    }

    end = p + len;
    for (len = 0; p + len < end && p[len] != ';' && p[len] != ' '; len++) {
        /* void */
    }

    t = types->elts;
    for (i = 0; i < types->nelts; i++) {
        if ((t[i].len == 1 && t[i].data[0] == '*')
            || (t[i].len == len && bw_strncasecmp(t[i].data, p, len) == 0))
        {
            return 1;
        }
    }

    return 0;
}
