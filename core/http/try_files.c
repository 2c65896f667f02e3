/*
 * try_files: the first of its files (or directories) that exists
 * serves the request, else the last argument (a URI or =code). Checks
 * with stat(), which blocks on a slow disk as nginx without aio.
 */

#include <bw_http.h>

char *
bw_http_core_try_files(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_core_loc_conf_t  *clcf = conf;
    bw_str_t                 *value;
    bw_uint_t                 i, n;
    bw_int_t                  code;
    bw_http_try_file_t       *tf;

    if (clcf->try_files != BW_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    clcf->try_files = bw_array_create(cf->pool, cf->args->nelts - 1,
                                      sizeof(bw_http_try_file_t));
    if (clcf->try_files == NULL) {
        return BW_CONF_ERROR;
    }

    value = cf->args->elts;
    n = cf->args->nelts;

    for (i = 1; i < n; i++) {
        tf = bw_array_push(clcf->try_files);
        if (tf == NULL) {
            return BW_CONF_ERROR;
        }
        bw_memzero(tf, sizeof(*tf));

        if (i == n - 1 && value[i].len > 1 && value[i].data[0] == '=') {
            code = bw_atoi(value[i].data + 1, value[i].len - 1);
            if (code == BW_ERROR || code > 999) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                  "invalid code \"%s\"", value[i].data);
                return BW_CONF_ERROR;
            }
            tf->code = (bw_uint_t) code;
            continue;
        }

        if (i < n - 1 && value[i].len > 1
            && value[i].data[value[i].len - 1] == '/')
        {
            tf->test_dir = 1;
        }

        if (bw_http_compile_complex_value(cf, &tf->value, &value[i])
            != BW_OK)
        {
            return BW_CONF_ERROR;
        }
    }

    return BW_CONF_OK;
}

/*
 * try_files: the first existing file wins (the request goes on with
 * that URI), else the last argument is an internal redirect, a named
 * location or =code. Checking existence with stat() blocks on a slow
 * disk, as it does in nginx without open_file_cache.
 */
bw_int_t
bw_http_core_try_files_handler(bw_http_request_t *r)
{
    u_char                   *path;
    size_t                    root;
    bw_str_t                  name, value, args;
    bw_uint_t                 i, n;
    struct stat               st;
    bw_http_try_file_t       *tf;
    bw_http_core_loc_conf_t  *clcf;

    clcf = r->loc_conf[bw_http_core_module.ctx_index];

    if (clcf->try_files == NULL) {
        return BW_DECLINED;
    }

    tf = clcf->try_files->elts;
    n = clcf->try_files->nelts;

    for (i = 0; i < n; i++) {

        if (tf[i].code) {
            return (bw_int_t) tf[i].code;
        }

        if (bw_http_complex_value(r, &tf[i].value, &value) != BW_OK) {
            return BW_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (i == n - 1) {
            /* the fallback */
            if (value.len && value.data[0] == '@') {
                (void) bw_http_named_location(r, &value);
            } else {
                bw_http_split_args(r, &value, &args);
                (void) bw_http_internal_redirect(r, &value, &args);
            }
            bw_http_finalize_request(r, BW_DONE);
            return BW_DONE;
        }

        if (value.len == 0 || value.data[0] != '/') {
            continue;
        }

        if (memchr(value.data, '\0', value.len)) {
            continue;
        }

        /* map "value" as if it were the URI */
        {
            bw_str_t  saved = r->uri;
            size_t    vlen = value.len;
            unsigned  add = r->add_uri_to_alias;

            if (tf[i].test_dir && vlen > 1) {
                vlen--;
            }

            r->uri.data = value.data;
            r->uri.len = vlen;
            r->add_uri_to_alias = 1;
            path = bw_http_map_uri_to_path(r, &name, &root, 0);
            r->add_uri_to_alias = add;
            r->uri = saved;
            if (path == NULL) {
                return BW_HTTP_INTERNAL_SERVER_ERROR;
            }
        }

        if (stat((char *) name.data, &st) == -1) {
            continue;
        }

        if (tf[i].test_dir ? !S_ISDIR(st.st_mode) : S_ISDIR(st.st_mode)) {
            continue;
        }

        /* go on with the URI that was found; a directory ("$uri/") as
         * its name without the slash, as nginx: asked for as "/d", it
         * gets a 301 to "/d/" from the static module, so that relative
         * links in its index resolve */
        r->uri = value;
        if (tf[i].test_dir && value.len > 1) {
            r->uri.len--;
        }
        if (clcf->alias == BW_HTTP_ALIAS_WHOLE && !tf[i].test_dir) {
            /* served from where it was found: under the alias */
            r->add_uri_to_alias = 1;
        }
        bw_http_set_exten(r);
        return BW_DECLINED;
    }

    return BW_DECLINED;
}
