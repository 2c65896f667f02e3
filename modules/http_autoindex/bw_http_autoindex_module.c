/*
 * autoindex: for a URI ending in "/" that the index module left alone
 * (no index file), the directory's entries in HTML, XML, JSON or JSONP.
 * Names starting with "." are left out; symbolic links are followed
 * (a dangling one is listed as the link itself); directories come first,
 * then names in byte order, as nginx.
 *
 * The header goes out before the directory is read, as in nginx: the
 * body's length is not known then, and an error while reading can only
 * cut the response. opendir(), readdir() and stat() block on a slow
 * disk, as the static module's open() does.
 */

#include "bw_http_autoindex.h"

#include <dirent.h>

/* a directory's entries are counted from here; the array grows */
#define BW_HTTP_AUTOINDEX_ENTRIES  40

static bw_int_t bw_http_autoindex_init(bw_conf_t *cf);
static void *bw_http_autoindex_create_loc_conf(bw_conf_t *cf);
static char *bw_http_autoindex_merge_loc_conf(bw_conf_t *cf, void *parent,
    void *child);

static bw_conf_enum_t  bw_http_autoindex_formats[] = {
    { bw_string("html"), BW_HTTP_AUTOINDEX_HTML },
    { bw_string("json"), BW_HTTP_AUTOINDEX_JSON },
    { bw_string("jsonp"), BW_HTTP_AUTOINDEX_JSONP },
    { bw_string("xml"), BW_HTTP_AUTOINDEX_XML },
    { bw_null_string, 0 }
};

static bw_command_t  bw_http_autoindex_commands[] = {

    { bw_string("autoindex"),
      BW_HTTP_MAIN_CONF|BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF|BW_CONF_FLAG,
      bw_conf_set_flag_slot, BW_HTTP_LOC_CONF_OFFSET,
      offsetof(bw_http_autoindex_loc_conf_t, enable), NULL },

    { bw_string("autoindex_format"),
      BW_HTTP_MAIN_CONF|BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF|BW_CONF_TAKE1,
      bw_conf_set_enum_slot, BW_HTTP_LOC_CONF_OFFSET,
      offsetof(bw_http_autoindex_loc_conf_t, format),
      bw_http_autoindex_formats },

    { bw_string("autoindex_localtime"),
      BW_HTTP_MAIN_CONF|BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF|BW_CONF_FLAG,
      bw_conf_set_flag_slot, BW_HTTP_LOC_CONF_OFFSET,
      offsetof(bw_http_autoindex_loc_conf_t, localtime), NULL },

    { bw_string("autoindex_exact_size"),
      BW_HTTP_MAIN_CONF|BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF|BW_CONF_FLAG,
      bw_conf_set_flag_slot, BW_HTTP_LOC_CONF_OFFSET,
      offsetof(bw_http_autoindex_loc_conf_t, exact_size), NULL },

    bw_null_command
};

static bw_http_module_t  bw_http_autoindex_module_ctx = {
    NULL, bw_http_autoindex_init, NULL, NULL, NULL, NULL,
    bw_http_autoindex_create_loc_conf, bw_http_autoindex_merge_loc_conf
};

bw_module_t  bw_http_autoindex_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_autoindex_module_ctx,
    bw_http_autoindex_commands, NULL, NULL, NULL, NULL
};

/*
 * ?callback=NAME: none means plain JSON; a name longer than 128 bytes or
 * with anything but letters, digits, "_" and "." is refused, so that it
 * cannot inject script into the page that loads it.
 */
static bw_int_t
bw_http_autoindex_callback(bw_http_request_t *r, bw_str_t *callback)
{
    u_char     ch;
    bw_uint_t  i;

    if (bw_http_arg(r, (u_char *) "callback", sizeof("callback") - 1,
                    callback)
        != BW_OK)
    {
        callback->len = 0;
        return BW_OK;
    }

    if (callback->len > 128) {
        bw_log_error(BW_LOG_INFO, r->connection->log, 0,
                     "client sent too long callback name: \"%.*s\"",
                     (int) callback->len, callback->data);
        return BW_DECLINED;
    }

    for (i = 0; i < callback->len; i++) {
        ch = callback->data[i];

        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
            || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.')
        {
            continue;
        }

        bw_log_error(BW_LOG_INFO, r->connection->log, 0,
                     "client sent invalid callback name: \"%.*s\"",
                     (int) callback->len, callback->data);
        return BW_DECLINED;
    }

    return BW_OK;
}

static int
bw_http_autoindex_cmp(const void *one, const void *two)
{
    const bw_http_autoindex_entry_t  *a = one;
    const bw_http_autoindex_entry_t  *b = two;

    if (a->dir != b->dir) {
        return a->dir ? -1 : 1;
    }

    return strcmp((char *) a->name.data, (char *) b->name.data);
}

/*
 * Read the entries of the open directory into the array. path is the
 * directory's name with room for "/" and a name after it; it is grown
 * for a longer name. BW_DECLINED: a read failed (logged).
 */
static bw_int_t
bw_http_autoindex_read(bw_http_request_t *r, DIR *dir, bw_str_t *path,
    size_t room, bw_array_t *entries)
{
    u_char                     *name;
    size_t                      len;
    bw_err_t                    err;
    struct stat                 st;
    struct dirent              *de;
    bw_http_autoindex_entry_t  *e;

    name = path->data;
    name[path->len] = '/';

    for ( ;; ) {
        errno = 0;
        de = readdir(dir);

        if (de == NULL) {
            if (errno) {
                bw_log_error(BW_LOG_CRIT, r->connection->log, errno,
                             "readdir() \"%.*s\" failed",
                             (int) path->len, path->data);
                return BW_DECLINED;
            }
            return BW_OK;
        }

        if (de->d_name[0] == '.') {
            continue;
        }

        len = strlen(de->d_name);

        if (path->len + 1 + len + 1 > room) {
            room = path->len + 1 + len + 1 + 64;
            name = bw_pnalloc(r->pool, room);
            if (name == NULL) {
                return BW_ERROR;
            }
            memcpy(name, path->data, path->len);
            name[path->len] = '/';
        }

        memcpy(name + path->len + 1, de->d_name, len + 1);

        if (stat((char *) name, &st) == -1) {
            err = errno;

            if (err != ENOENT && err != ELOOP) {
                bw_log_error(BW_LOG_CRIT, r->connection->log, err,
                             "stat() \"%s\" failed", name);
                if (err == EACCES) {
                    continue;
                }
                return BW_DECLINED;
            }

            /* a dangling link, or a loop of them: the link itself */
            if (lstat((char *) name, &st) == -1) {
                bw_log_error(BW_LOG_CRIT, r->connection->log, errno,
                             "lstat() \"%s\" failed", name);
                return BW_DECLINED;
            }
        }

        e = bw_array_push(entries);
        if (e == NULL) {
            return BW_ERROR;
        }

        e->name.len = len;
        e->name.data = bw_pnalloc(r->pool, len + 1);
        if (e->name.data == NULL) {
            return BW_ERROR;
        }
        memcpy(e->name.data, de->d_name, len + 1);

        e->dir = S_ISDIR(st.st_mode);
        e->file = S_ISREG(st.st_mode);
        e->mtime = st.st_mtime;
        e->size = st.st_size;
    }
}

static bw_int_t
bw_http_autoindex_handler(bw_http_request_t *r)
{
    DIR                           *dir;
    size_t                         root, room;
    u_char                        *last;
    bw_int_t                       rc;
    bw_err_t                       err;
    bw_str_t                       path, callback;
    bw_buf_t                      *b;
    bw_uint_t                      format;
    bw_chain_t                     out;
    bw_array_t                     entries;
    bw_http_autoindex_loc_conf_t  *alcf;

    if (r->uri.data[r->uri.len - 1] != '/') {
        return BW_DECLINED;
    }

    if (!(r->method & (BW_HTTP_GET | BW_HTTP_HEAD))) {
        return BW_DECLINED;
    }

    alcf = r->loc_conf[bw_http_autoindex_module.ctx_index];

    if (!alcf->enable) {
        return BW_DECLINED;
    }

    rc = bw_http_discard_request_body(r);
    if (rc != BW_OK) {
        return rc;
    }

    /* room for "/" and a name of 62 bytes without growing */
    last = bw_http_map_uri_to_path(r, &path, &root, 64);
    if (last == NULL) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    room = path.len + 1 + 64;
    if (path.len > 1) {
        path.len--;
    }
    path.data[path.len] = '\0';

    bw_log_debug(r->connection->log, "http autoindex: \"%s\"", path.data);

    format = alcf->format;

    if (format == BW_HTTP_AUTOINDEX_JSONP) {
        if (bw_http_autoindex_callback(r, &callback) != BW_OK) {
            return BW_HTTP_BAD_REQUEST;
        }
        if (callback.len == 0) {
            format = BW_HTTP_AUTOINDEX_JSON;
        }
    }

    dir = opendir((char *) path.data);
    if (dir == NULL) {
        err = errno;

        if (err == ENOENT || err == ENOTDIR || err == ENAMETOOLONG) {
            rc = BW_HTTP_NOT_FOUND;
        } else if (err == EACCES) {
            rc = BW_HTTP_FORBIDDEN;
        } else {
            rc = BW_HTTP_INTERNAL_SERVER_ERROR;
        }

        bw_log_error(rc == BW_HTTP_INTERNAL_SERVER_ERROR
                     ? BW_LOG_CRIT : BW_LOG_ERR,
                     r->connection->log, err,
                     "opendir() \"%s\" failed", path.data);
        return rc;
    }

    if (bw_array_init(&entries, r->pool, BW_HTTP_AUTOINDEX_ENTRIES,
                      sizeof(bw_http_autoindex_entry_t))
        != BW_OK)
    {
        closedir(dir);
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = BW_HTTP_OK;

    switch (format) {
    case BW_HTTP_AUTOINDEX_JSON:
        bw_str_set(&r->headers_out.content_type, "application/json");
        break;
    case BW_HTTP_AUTOINDEX_JSONP:
        bw_str_set(&r->headers_out.content_type, "application/javascript");
        break;
    case BW_HTTP_AUTOINDEX_XML:
        bw_str_set(&r->headers_out.content_type, "text/xml");
        bw_str_set(&r->headers_out.charset, "utf-8");
        break;
    default:
        bw_str_set(&r->headers_out.content_type, "text/html");
        break;
    }

    rc = bw_http_send_header(r);

    if (rc == BW_ERROR || rc > BW_OK || r->header_only) {
        closedir(dir);
        return rc;
    }

    rc = bw_http_autoindex_read(r, dir, &path, room, &entries);

    if (closedir(dir) == -1) {
        bw_log_error(BW_LOG_ALERT, r->connection->log, errno,
                     "closedir() \"%.*s\" failed",
                     (int) path.len, path.data);
    }

    if (rc != BW_OK) {
        /* the header is out: all that is left is to cut the response */
        return BW_ERROR;
    }

    if (entries.nelts > 1) {
        qsort(entries.elts, entries.nelts, sizeof(bw_http_autoindex_entry_t),
              bw_http_autoindex_cmp);
    }

    switch (format) {
    case BW_HTTP_AUTOINDEX_JSON:
        b = bw_http_autoindex_json(r, &entries, NULL);
        break;
    case BW_HTTP_AUTOINDEX_JSONP:
        b = bw_http_autoindex_json(r, &entries, &callback);
        break;
    case BW_HTTP_AUTOINDEX_XML:
        b = bw_http_autoindex_xml(r, &entries);
        break;
    default:
        b = bw_http_autoindex_html(r, alcf, &entries);
        break;
    }

    if (b == NULL) {
        return BW_ERROR;
    }

    b->last_buf = (r == r->main);
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return bw_http_output_filter(r, &out);
}

static void *
bw_http_autoindex_create_loc_conf(bw_conf_t *cf)
{
    bw_http_autoindex_loc_conf_t  *conf;

    conf = bw_palloc(cf->pool, sizeof(bw_http_autoindex_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->enable = BW_CONF_UNSET;
    conf->format = BW_CONF_UNSET_UINT;
    conf->localtime = BW_CONF_UNSET;
    conf->exact_size = BW_CONF_UNSET;

    return conf;
}

static char *
bw_http_autoindex_merge_loc_conf(bw_conf_t *cf, void *parent, void *child)
{
    bw_http_autoindex_loc_conf_t  *prev = parent;
    bw_http_autoindex_loc_conf_t  *conf = child;

    bw_conf_merge_value(conf->enable, prev->enable, 0);
    bw_conf_merge_uint_value(conf->format, prev->format,
                             BW_HTTP_AUTOINDEX_HTML);
    bw_conf_merge_value(conf->localtime, prev->localtime, 0);
    bw_conf_merge_value(conf->exact_size, prev->exact_size, 1);

    return BW_CONF_OK;
}

static bw_int_t
bw_http_autoindex_init(bw_conf_t *cf)
{
    return bw_http_add_phase_handler(cf, BW_HTTP_CONTENT_PHASE,
                                     bw_http_autoindex_handler);
}
