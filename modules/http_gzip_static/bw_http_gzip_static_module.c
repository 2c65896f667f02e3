/*
 * gzip_static: for GET and HEAD of a file, FILE.gz beside it is sent
 * instead, with Content-Encoding: gzip and the original's type, to the
 * clients that take gzip ("on") or to all ("always"). With gzip_vary on,
 * "on" sends a Vary line whenever a .gz exists, whoever asked. No .gz:
 * the static module serves the file as usual.
 */

#include <bw_http.h>
#include <bw_http_gzip.h>

#define BW_HTTP_GZIP_STATIC_OFF     0
#define BW_HTTP_GZIP_STATIC_ON      1
#define BW_HTTP_GZIP_STATIC_ALWAYS  2

typedef struct {
    bw_uint_t  enable;
} bw_http_gzip_static_conf_t;

static bw_int_t bw_http_gzip_static_init(bw_conf_t *cf);
static void *bw_http_gzip_static_create_conf(bw_conf_t *cf);
static char *bw_http_gzip_static_merge_conf(bw_conf_t *cf, void *parent,
    void *child);

static bw_conf_enum_t  bw_http_gzip_static_values[] = {
    { bw_string("off"), BW_HTTP_GZIP_STATIC_OFF },
    { bw_string("on"), BW_HTTP_GZIP_STATIC_ON },
    { bw_string("always"), BW_HTTP_GZIP_STATIC_ALWAYS },
    { bw_null_string, 0 }
};

static bw_command_t  bw_http_gzip_static_commands[] = {

    { bw_string("gzip_static"),
      BW_HTTP_MAIN_CONF|BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF|BW_CONF_TAKE1,
      bw_conf_set_enum_slot, BW_HTTP_LOC_CONF_OFFSET,
      offsetof(bw_http_gzip_static_conf_t, enable),
      bw_http_gzip_static_values },

    bw_null_command
};

static bw_http_module_t  bw_http_gzip_static_module_ctx = {
    NULL, bw_http_gzip_static_init, NULL, NULL, NULL, NULL,
    bw_http_gzip_static_create_conf, bw_http_gzip_static_merge_conf
};

bw_module_t  bw_http_gzip_static_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_gzip_static_module_ctx,
    bw_http_gzip_static_commands, NULL, NULL, NULL, NULL
};

static bw_int_t
bw_http_gzip_static_handler(bw_http_request_t *r)
{
    int                          fd;
    u_char                      *p;
    size_t                       root;
    bw_int_t                     ok;
    bw_err_t                     err;
    bw_str_t                     path, v;
    struct stat                  st;
    bw_table_elt_t              *h;
    bw_http_gzip_static_conf_t  *conf;

    if (!(r->method & (BW_HTTP_GET | BW_HTTP_HEAD))) {
        return BW_DECLINED;
    }

    if (r->uri.data[r->uri.len - 1] == '/') {
        return BW_DECLINED;
    }

    conf = bw_http_get_module_loc_conf(r, bw_http_gzip_static_module);

    if (conf->enable == BW_HTTP_GZIP_STATIC_OFF) {
        return BW_DECLINED;
    }

    ok = conf->enable == BW_HTTP_GZIP_STATIC_ALWAYS ? BW_OK
                                                    : bw_http_gzip_ok(r);

    p = bw_http_map_uri_to_path(r, &path, &root, sizeof(".gz") - 1);
    if (p == NULL) {
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the path is NUL-terminated at p: ".gz" goes in its place */
    memcpy(p, ".gz", sizeof(".gz"));
    path.len += sizeof(".gz") - 1;

    fd = open((char *) path.data, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd == -1) {
        err = errno;
        if (err == ENOENT || err == ENOTDIR || err == ENAMETOOLONG) {
            return BW_DECLINED;
        }
        bw_log_error(BW_LOG_ERR, r->connection->log, err,
                     "open() \"%s\" failed", path.data);
        return err == EACCES ? BW_HTTP_FORBIDDEN
                             : BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        close(fd);
        return BW_DECLINED;
    }

    /* a .gz exists: with "on" the answer depends on Accept-Encoding */
    if (conf->enable == BW_HTTP_GZIP_STATIC_ON
        && bw_http_gzip_add_vary(r) != BW_OK)
    {
        close(fd);
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ok != BW_OK) {
        close(fd);
        return BW_DECLINED;
    }

    bw_str_set(&v, "gzip");
    h = bw_http_add_header_out(r, "Content-Encoding", &v);
    if (h == NULL) {
        close(fd);
        return BW_HTTP_INTERNAL_SERVER_ERROR;
    }
    r->headers_out.content_encoding = h;

    /* the type is the original's: set from r->exten, not from ".gz" */
    return bw_http_send_open_file(r, fd, &st, &path, 0);
}

static void *
bw_http_gzip_static_create_conf(bw_conf_t *cf)
{
    bw_http_gzip_static_conf_t  *conf;

    conf = bw_pcalloc(cf->pool, sizeof(bw_http_gzip_static_conf_t));
    if (conf == NULL) {
        return NULL;
    }
    conf->enable = BW_CONF_UNSET_UINT;
    return conf;
}

static char *
bw_http_gzip_static_merge_conf(bw_conf_t *cf, void *parent, void *child)
{
    bw_http_gzip_static_conf_t  *prev = parent;
    bw_http_gzip_static_conf_t  *conf = child;

    bw_conf_merge_uint_value(conf->enable, prev->enable,
                             BW_HTTP_GZIP_STATIC_OFF);
    return BW_CONF_OK;
}

static bw_int_t
bw_http_gzip_static_init(bw_conf_t *cf)
{
    return bw_http_add_phase_handler(cf, BW_HTTP_CONTENT_PHASE,
                                     bw_http_gzip_static_handler);
}
