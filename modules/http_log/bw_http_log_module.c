/*
 * Access logs: log_format (escape=default|json|none) and access_log
 * with buffer=, flush= and if=. A buffered log keeps one buffer per file in
 * each worker, written out when full, on the flush timer, on reopen and
 * at exit; an unbuffered one is one write(2) per request. Writes to a
 * regular file do not wait for the disk's commit.
 */

#include <bw_http.h>
#if (BW_HAVE_ZLIB)
#include <zlib.h>
#endif

typedef struct {
    bw_str_t                 name;
    bw_http_complex_value_t  value;    /* the whole format, compiled */
    bw_uint_t                escape;
} bw_http_log_fmt_t;

typedef struct {
    bw_array_t   formats;              /* bw_http_log_fmt_t */
    bw_uint_t    combined_used;
} bw_http_log_main_conf_t;

typedef struct {
    u_char          *start;
    u_char          *pos;
    u_char          *last;
    bw_msec_t        flush;
    bw_event_t      *event;
    bw_int_t         gzip;         /* level; 0: written as it is */
} bw_http_log_buf_t;

typedef struct {
    bw_open_file_t           *file;
    bw_http_complex_value_t  *path;       /* a path with variables:
                                             opened for each line */
    bw_syslog_peer_t         *syslog;     /* syslog:...: no file */
    bw_http_log_fmt_t        *format;
    size_t                    buffer;
    bw_msec_t                 flush;
    bw_http_complex_value_t  *filter;     /* if=: "" or "0" logs nothing */
} bw_http_log_t;

typedef struct {
    bw_array_t  *logs;                 /* bw_http_log_t */
    bw_uint_t    off;
} bw_http_log_loc_conf_t;

static bw_int_t bw_http_log_init(bw_conf_t *cf);
static void *bw_http_log_create_main_conf(bw_conf_t *cf);
static void *bw_http_log_create_loc_conf(bw_conf_t *cf);
static char *bw_http_log_merge_loc_conf(bw_conf_t *cf, void *parent,
    void *child);
static char *bw_http_log_set_format(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_log_set_log(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static void bw_http_log_flush(bw_open_file_t *file, bw_log_t *log);
static void bw_http_log_flush_handler(bw_event_t *ev);
#if (BW_HAVE_ZLIB)
static void bw_http_log_gzip(bw_open_file_t *file, bw_int_t level,
    u_char *data, size_t len, bw_log_t *log);
#endif

static bw_command_t  bw_http_log_commands[] = {
    { bw_string("log_format"), BW_HTTP_MAIN_CONF|BW_CONF_2MORE,
      bw_http_log_set_format, BW_HTTP_MAIN_CONF_OFFSET, 0, NULL },
    { bw_string("open_log_file_cache"), BW_HTTP_MAIN_CONF|BW_HTTP_SRV_CONF
      |BW_HTTP_LOC_CONF|BW_CONF_1MORE, bw_conf_no_effect, 0, 0,
      (void *) "log files are opened once, at start and reload" },
    { bw_string("access_log"),
      BW_HTTP_MAIN_CONF|BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF|BW_HTTP_LIF_CONF
      |BW_HTTP_LMT_CONF|BW_CONF_1MORE,
      bw_http_log_set_log, BW_HTTP_LOC_CONF_OFFSET, 0, NULL },
    bw_null_command
};

static bw_http_module_t  bw_http_log_module_ctx = {
    NULL, bw_http_log_init, bw_http_log_create_main_conf, NULL, NULL, NULL,
    bw_http_log_create_loc_conf, bw_http_log_merge_loc_conf
};

bw_module_t  bw_http_log_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_log_module_ctx,
    bw_http_log_commands, NULL, NULL, NULL, NULL
};

static bw_str_t  bw_http_combined_fmt = bw_string(
    "$remote_addr - $remote_user [$time_local] "
    "\"$request\" $status $body_bytes_sent "
    "\"$http_referer\" \"$http_user_agent\"");


/* Render one line: variables escaped, "-" for one that is not found (an
 * empty value that is found writes nothing), as nginx. */
static bw_int_t
bw_http_log_render(bw_http_request_t *r, bw_http_log_fmt_t *fmt,
    bw_str_t *line)
{
    size_t                     len;
    u_char                    *p;
    bw_uint_t                  i;
    bw_http_script_part_t     *part;
    bw_http_variable_value_t  *v;

    part = fmt->value.parts;

    if (part == NULL) {
        /* a format without variables is its text (a complex value that
         * is a constant has no parts) */
        p = bw_pnalloc(r->pool, fmt->value.value.len + 1);
        if (p == NULL) {
            return BW_ERROR;
        }
        line->data = p;
        p = bw_cpymem(p, fmt->value.value.data, fmt->value.value.len);
        *p++ = '\n';
        line->len = p - line->data;
        return BW_OK;
    }

    len = 1;

    for (i = 0; i < fmt->value.nparts; i++) {
        if (part[i].type == 0) {
            len += part[i].text.len;
            continue;
        }
        if (part[i].type != 1) {
            continue;
        }
        v = bw_http_get_flushed_variable(r, part[i].index);
        if (v == NULL || v->not_found) {
            len += 1;
        } else {
            len += bw_escape_log(NULL, v->data, v->len, fmt->escape);
        }
    }

    p = bw_pnalloc(r->pool, len);
    if (p == NULL) {
        return BW_ERROR;
    }
    line->data = p;

    for (i = 0; i < fmt->value.nparts; i++) {
        if (part[i].type == 0) {
            p = bw_cpymem(p, part[i].text.data, part[i].text.len);
            continue;
        }
        if (part[i].type != 1) {
            continue;
        }
        v = bw_http_get_flushed_variable(r, part[i].index);
        if (v == NULL || v->not_found) {
            if (fmt->escape != BW_ESCAPE_JSON) {
                *p++ = '-';
            }
        } else {
            p += bw_escape_log(p, v->data, v->len, fmt->escape);
        }
    }

    *p++ = '\n';
    line->len = p - line->data;
    return BW_OK;
}

/*
 * access_log with variables in its path: the file is opened, written
 * and closed for each line, as nginx does without open_log_file_cache
 * (which has no effect here). Not written when the request's root does
 * not exist (nginx's rule: a bad Host must not create log files for
 * sites that are not there), nor when the path the variables made
 * climbs out with "..", a step nginx leaves to the configuration.
 */
static void
bw_http_log_write_path(bw_http_request_t *r, bw_http_log_t *log,
    u_char *data, size_t len)
{
    int           fd;
    u_char       *p, *last;
    size_t        root;
    ssize_t       n;
    bw_str_t      path;
    struct stat   st;

    p = bw_http_map_uri_to_path(r, &path, &root, 0);
    if (p == NULL) {
        return;
    }
    path.data[root] = '\0';
    p = path.data;

    if (stat((char *) p, &st) == -1) {
        bw_log_error(BW_LOG_ERR, r->connection->log, errno,
                     "testing \"%s\" existence failed", p);
        return;
    }

    if (!S_ISDIR(st.st_mode)) {
        bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                     "testing \"%s\" existence failed: not a directory",
                     p);
        return;
    }

    if (bw_http_complex_value(r, log->path, &path) != BW_OK) {
        return;
    }

    last = path.data + path.len;
    if (path.len == 0 || memchr(path.data, '\0', path.len)
        || bw_strlcasestrn(path.data, last, (u_char *) "/../", 4)
        || (path.len >= 3 && memcmp(last - 3, "/..", 3) == 0)
        || (path.len >= 3 && memcmp(path.data, "../", 3) == 0))
    {
        bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                     "access_log path \"%.*s\" is refused",
                     (int) path.len, path.data);
        return;
    }

    if (bw_get_full_name(r->pool, &bw_cycle->prefix, &path) != BW_OK) {
        return;
    }

    p = bw_pnalloc(r->pool, path.len + 1);
    if (p == NULL) {
        return;
    }
    memcpy(p, path.data, path.len);
    p[path.len] = '\0';

    fd = open((char *) p, O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC, 0644);
    if (fd == -1) {
        bw_log_error(BW_LOG_ERR, r->connection->log, errno,
                     "open() \"%s\" failed", p);
        return;
    }

    n = write(fd, data, len);
    if (n != (ssize_t) len) {
        bw_log_error(BW_LOG_ALERT, r->connection->log, errno,
                     "write() to \"%s\" failed", p);
    }

    close(fd);
}

static void
bw_http_log_write(bw_http_request_t *r, bw_http_log_t *log, u_char *data,
    size_t len)
{
    ssize_t             n;
    bw_http_log_buf_t  *buf;

    if (log->syslog) {
        /* a datagram a line, without the line's end */
        bw_syslog_send(log->syslog, 0, data,
                       (len && data[len - 1] == '\n') ? len - 1 : len);
        return;
    }

    if (log->path) {
        bw_http_log_write_path(r, log, data, len);
        return;
    }

    buf = log->file->data;

    if (buf) {
        if (len > (size_t) (buf->last - buf->pos)) {
            bw_http_log_flush(log->file, r->connection->log);
        }

        if (len <= (size_t) (buf->last - buf->pos)) {
            buf->pos = bw_cpymem(buf->pos, data, len);
            if (buf->event && !buf->event->timer_set) {
                bw_event_add_timer(buf->event, buf->flush);
            }
            return;
        }
    }

#if (BW_HAVE_ZLIB)
    if (buf && buf->gzip) {
        /* a line longer than the buffer: a gzip member of its own */
        bw_http_log_gzip(log->file, buf->gzip, data, len,
                         r->connection->log);
        return;
    }
#endif

    n = write(log->file->fd, data, len);
    if (n != (ssize_t) len) {
        bw_log_error(BW_LOG_ALERT, r->connection->log, errno,
                     "write() to \"%s\" failed", log->file->name.data);
    }
}

static bw_int_t
bw_http_log_handler(bw_http_request_t *r)
{
    bw_uint_t                i;
    bw_str_t                 line, val;
    bw_http_log_t           *log;
    bw_http_log_loc_conf_t  *lcf;

    lcf = r->loc_conf[bw_http_log_module.ctx_index];

    if (lcf->off || lcf->logs == NULL) {
        return BW_OK;
    }

    log = lcf->logs->elts;
    for (i = 0; i < lcf->logs->nelts; i++) {
        if (log[i].filter) {
            if (bw_http_complex_value(r, log[i].filter, &val) != BW_OK) {
                return BW_ERROR;
            }
            if (val.len == 0 || (val.len == 1 && val.data[0] == '0')) {
                continue;
            }
        }
        if (bw_http_log_render(r, log[i].format, &line) != BW_OK) {
            return BW_ERROR;
        }
        bw_http_log_write(r, &log[i], line.data, line.len);
    }

    return BW_OK;
}

#if (BW_HAVE_ZLIB)

/*
 * access_log ... gzip: each flush of the buffer is one gzip member, so
 * that the file is a valid gzip stream after every write (zcat reads
 * them one after the other), as nginx writes it.
 */
static void
bw_http_log_gzip(bw_open_file_t *file, bw_int_t level, u_char *data,
    size_t len, bw_log_t *log)
{
    int        rc;
    size_t     size;
    u_char    *out;
    ssize_t    n;
    z_stream   zs;

    bw_memzero(&zs, sizeof(z_stream));

    rc = deflateInit2(&zs, (int) level, Z_DEFLATED, MAX_WBITS + 16,
                      MAX_MEM_LEVEL - 1, Z_DEFAULT_STRATEGY);
    if (rc != Z_OK) {
        bw_log_error(BW_LOG_ALERT, log, 0, "deflateInit2() failed: %d", rc);
        return;
    }

    size = deflateBound(&zs, (uLong) len);
    out = bw_alloc(size, log);
    if (out == NULL) {
        deflateEnd(&zs);
        return;
    }

    zs.next_in = data;
    zs.avail_in = (uInt) len;
    zs.next_out = out;
    zs.avail_out = (uInt) size;

    rc = deflate(&zs, Z_FINISH);
    if (rc != Z_STREAM_END) {
        bw_log_error(BW_LOG_ALERT, log, 0, "deflate(Z_FINISH) failed: %d",
                     rc);
    } else {
        n = write(file->fd, out, zs.next_out - out);
        if (n != zs.next_out - out) {
            bw_log_error(BW_LOG_ALERT, log, errno,
                         "write() to \"%s\" failed", file->name.data);
        }
    }

    free(out);
    deflateEnd(&zs);
}

#endif

static void
bw_http_log_flush(bw_open_file_t *file, bw_log_t *log)
{
    ssize_t             n;
    size_t              len;
    bw_http_log_buf_t  *buf;

    buf = file->data;
    if (buf == NULL) {
        return;
    }

    len = buf->pos - buf->start;
    if (len == 0) {
        return;
    }

#if (BW_HAVE_ZLIB)
    if (buf->gzip) {
        bw_http_log_gzip(file, buf->gzip, buf->start, len, log);
        buf->pos = buf->start;
        if (buf->event && buf->event->timer_set) {
            bw_event_del_timer(buf->event);
        }
        return;
    }
#endif

    n = write(file->fd, buf->start, len);
    if (n != (ssize_t) len) {
        bw_log_error(BW_LOG_ALERT, log, errno, "write() to \"%s\" failed",
                     file->name.data);
    }

    buf->pos = buf->start;

    if (buf->event && buf->event->timer_set) {
        bw_event_del_timer(buf->event);
    }
}

static void
bw_http_log_flush_handler(bw_event_t *ev)
{
    bw_http_log_flush(ev->data, ev->log);
}

static void *
bw_http_log_create_main_conf(bw_conf_t *cf)
{
    bw_http_log_main_conf_t  *lmcf;
    bw_http_log_fmt_t        *fmt;

    lmcf = bw_pcalloc(cf->pool, sizeof(bw_http_log_main_conf_t));
    if (lmcf == NULL) {
        return NULL;
    }

    if (bw_array_init(&lmcf->formats, cf->pool, 4,
                      sizeof(bw_http_log_fmt_t)) != BW_OK)
    {
        return NULL;
    }

    fmt = bw_array_push(&lmcf->formats);
    if (fmt == NULL) {
        return NULL;
    }
    bw_str_set(&fmt->name, "combined");
    fmt->escape = BW_ESCAPE_DEFAULT;
    fmt->value.parts = NULL;    /* compiled on first use */
    fmt->value.value = bw_http_combined_fmt;

    return lmcf;
}

static void *
bw_http_log_create_loc_conf(bw_conf_t *cf)
{
    bw_http_log_loc_conf_t  *conf;

    conf = bw_pcalloc(cf->pool, sizeof(bw_http_log_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }
    conf->logs = BW_CONF_UNSET_PTR;
    return conf;
}

static bw_http_log_fmt_t *
bw_http_log_find_format(bw_conf_t *cf, bw_str_t *name)
{
    bw_uint_t                 i;
    bw_http_log_fmt_t        *fmt;
    bw_http_log_main_conf_t  *lmcf;

    lmcf = bw_http_conf_get_module_main_conf(cf, bw_http_log_module);

    fmt = lmcf->formats.elts;
    for (i = 0; i < lmcf->formats.nelts; i++) {
        if (bw_str_eq(&fmt[i].name, name)) {
            if (fmt[i].value.parts == NULL
                && bw_http_compile_complex_value(cf, &fmt[i].value,
                                                 &fmt[i].value.value)
                   != BW_OK)
            {
                return NULL;
            }
            return &fmt[i];
        }
    }

    return NULL;
}

static char *
bw_http_log_merge_loc_conf(bw_conf_t *cf, void *parent, void *child)
{
    bw_http_log_loc_conf_t  *prev = parent;
    bw_http_log_loc_conf_t  *conf = child;
    bw_http_log_t           *log;
    bw_str_t                 name = bw_string("logs/access.log");
    bw_str_t                 combined = bw_string("combined");

    if (conf->logs != BW_CONF_UNSET_PTR || conf->off) {
        return BW_CONF_OK;
    }

    conf->logs = prev->logs;
    conf->off = prev->off;

    if (conf->logs != BW_CONF_UNSET_PTR || conf->off) {
        return BW_CONF_OK;
    }

    /* nginx's default: logs/access.log combined, shared by all levels */
    conf->logs = bw_array_create(cf->pool, 1, sizeof(bw_http_log_t));
    if (conf->logs == NULL) {
        return BW_CONF_ERROR;
    }
    log = bw_array_push(conf->logs);
    if (log == NULL) {
        return BW_CONF_ERROR;
    }
    bw_memzero(log, sizeof(*log));

    log->file = bw_conf_open_file(cf->cycle, &name);
    log->format = bw_http_log_find_format(cf, &combined);
    if (log->file == NULL || log->format == NULL) {
        return BW_CONF_ERROR;
    }

    prev->logs = conf->logs;
    return BW_CONF_OK;
}

static char *
bw_http_log_set_format(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_log_main_conf_t  *lmcf = conf;
    bw_str_t                 *value, joined;
    bw_uint_t                 i, first;
    size_t                    len;
    u_char                   *p;
    bw_http_log_fmt_t        *fmt;

    value = cf->args->elts;

    fmt = lmcf->formats.elts;
    for (i = 0; i < lmcf->formats.nelts; i++) {
        if (bw_str_eq(&fmt[i].name, &value[1])) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "duplicate \"log_format\" name \"%s\"",
                              value[1].data);
            return BW_CONF_ERROR;
        }
    }

    fmt = bw_array_push(&lmcf->formats);
    if (fmt == NULL) {
        return BW_CONF_ERROR;
    }
    fmt->name = value[1];
    fmt->escape = BW_ESCAPE_DEFAULT;

    first = 2;
    if (value[2].len > 7 && memcmp(value[2].data, "escape=", 7) == 0) {
        if (bw_str_eq_lit(&value[2], "escape=default")) {
            fmt->escape = BW_ESCAPE_DEFAULT;
        } else if (bw_str_eq_lit(&value[2], "escape=json")) {
            fmt->escape = BW_ESCAPE_JSON;
        } else if (bw_str_eq_lit(&value[2], "escape=none")) {
            fmt->escape = BW_ESCAPE_NONE;
        } else {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "unknown log format escaping \"%s\"",
                              value[2].data + 7);
            return BW_CONF_ERROR;
        }
        first = 3;
        if (cf->args->nelts < 4) {
            return "has no format";
        }
    }

    len = 0;
    for (i = first; i < cf->args->nelts; i++) {
        len += value[i].len;
    }
    p = bw_pnalloc(cf->pool, len);
    if (p == NULL) {
        return BW_CONF_ERROR;
    }
    joined.data = p;
    for (i = first; i < cf->args->nelts; i++) {
        p = bw_cpymem(p, value[i].data, value[i].len);
    }
    joined.len = p - joined.data;

    /* "$1" in a format names a variable "1", which nobody defines, as in
     * nginx: taken for a capture it would log nothing */
    for (p = joined.data; p + 1 < joined.data + joined.len; p++) {
        if (p[0] != '$' || p[1] < '1' || p[1] > '9') {
            continue;
        }
        for (len = 1; p + 1 + len < joined.data + joined.len; len++) {
            if (!isalnum(p[1 + len]) && p[1 + len] != '_') {
                break;
            }
        }
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "unknown \"%.*s\" variable",
                          (int) len, p + 1);
        return BW_CONF_ERROR;
    }

    if (bw_http_compile_complex_value(cf, &fmt->value, &joined) != BW_OK) {
        return BW_CONF_ERROR;
    }

    return BW_CONF_OK;
}

static char *
bw_http_log_set_log(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_log_loc_conf_t  *llcf = conf;
    bw_str_t                *value, name, s;
    bw_uint_t                i;
    ssize_t                  size;
    bw_int_t                 flush, gzip;
    bw_http_log_t           *log;
    bw_http_log_buf_t       *buf;

    value = cf->args->elts;

    if (bw_str_eq_lit(&value[1], "off")) {
        if (cf->args->nelts != 2) {
            return "has too many parameters";
        }
        llcf->off = 1;
        return BW_CONF_OK;
    }

    if (llcf->logs == BW_CONF_UNSET_PTR) {
        llcf->logs = bw_array_create(cf->pool, 2, sizeof(bw_http_log_t));
        if (llcf->logs == NULL) {
            return BW_CONF_ERROR;
        }
    }

    log = bw_array_push(llcf->logs);
    if (log == NULL) {
        return BW_CONF_ERROR;
    }
    bw_memzero(log, sizeof(*log));

    name = value[1];

    if (bw_http_script_variables_count(&name)) {
        log->path = bw_palloc(cf->pool, sizeof(bw_http_complex_value_t));
        if (log->path == NULL
            || bw_http_compile_complex_value(cf, log->path, &name) != BW_OK)
        {
            return BW_CONF_ERROR;
        }

    } else if (bw_log_target(cf, &name, &log->syslog) != BW_OK) {
        return BW_CONF_ERROR;
    }

    if (log->syslog == NULL && log->path == NULL) {
        log->file = bw_conf_open_file(cf->cycle, &name);
        if (log->file == NULL) {
            return BW_CONF_ERROR;
        }
    }

    i = 2;
    if (cf->args->nelts >= 3 && memchr(value[2].data, '=', value[2].len)
        == NULL)
    {
        log->format = bw_http_log_find_format(cf, &value[2]);
        if (log->format == NULL) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "unknown log format \"%s\"", value[2].data);
            return BW_CONF_ERROR;
        }
        i = 3;
    } else {
        bw_str_t  combined = bw_string("combined");
        log->format = bw_http_log_find_format(cf, &combined);
        if (log->format == NULL) {
            return BW_CONF_ERROR;
        }
    }

    size = 0;
    flush = 0;
    gzip = 0;

    for ( /* void */ ; i < cf->args->nelts; i++) {
        if (bw_str_eq_lit(&value[i], "gzip")
            || (value[i].len > 5 && memcmp(value[i].data, "gzip=", 5) == 0))
        {
#if (BW_HAVE_ZLIB)
            gzip = 1;
            if (value[i].len > 5) {
                gzip = bw_atoi(value[i].data + 5, value[i].len - 5);
                if (gzip < 1 || gzip > 9) {
                    bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                      "invalid compression level \"%s\"",
                                      value[i].data + 5);
                    return BW_CONF_ERROR;
                }
            }
            continue;
#else
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "bulwark was built without zlib support");
            return BW_CONF_ERROR;
#endif
        }

        if (value[i].len > 7 && memcmp(value[i].data, "buffer=", 7) == 0) {
            s.data = value[i].data + 7;
            s.len = value[i].len - 7;
            size = bw_parse_size(&s);
            if (size == BW_ERROR || size == 0) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                  "invalid buffer size \"%s\"", s.data);
                return BW_CONF_ERROR;
            }
            continue;
        }

        if (value[i].len > 6 && memcmp(value[i].data, "flush=", 6) == 0) {
            s.data = value[i].data + 6;
            s.len = value[i].len - 6;
            flush = bw_parse_time(&s, 0);
            if (flush == BW_ERROR || flush == 0) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                  "invalid flush time \"%s\"", s.data);
                return BW_CONF_ERROR;
            }
            continue;
        }

        if (value[i].len > 3 && memcmp(value[i].data, "if=", 3) == 0) {
            s.data = value[i].data + 3;
            s.len = value[i].len - 3;
            log->filter = bw_palloc(cf->pool,
                                    sizeof(bw_http_complex_value_t));
            if (log->filter == NULL
                || bw_http_compile_complex_value(cf, log->filter, &s)
                   != BW_OK)
            {
                return BW_CONF_ERROR;
            }
            continue;
        }

        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid parameter \"%s\"",
                          value[i].data);
        return BW_CONF_ERROR;
    }

    if (gzip && size == 0) {
        size = 64 * 1024;       /* nginx's default for a gzip log */
    }

    if (log->syslog && size) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "parameter \"%s\" is "
                          "not supported by syslog",
                          gzip ? "gzip" : "buffer");
        return BW_CONF_ERROR;
    }

    if (log->path && size) {
        /* each line opens its file: nothing to keep a buffer for */
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "buffered logs cannot have "
                          "variables in name");
        return BW_CONF_ERROR;
    }

    if (flush && size == 0) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "no buffer is defined for "
                          "access_log \"%s\"", value[1].data);
        return BW_CONF_ERROR;
    }

    if (size == 0) {
        return BW_CONF_OK;
    }

    if (log->file->data) {
        buf = log->file->data;
        if (buf->gzip != gzip) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "access_log \"%s\" already defined with "
                              "conflicting parameters", value[1].data);
            return BW_CONF_ERROR;
        }
        if ((size_t) (buf->last - buf->start) != (size_t) size) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "access_log \"%s\" already defined with "
                              "a different buffer size", value[1].data);
            return BW_CONF_ERROR;
        }
        return BW_CONF_OK;
    }

    buf = bw_pcalloc(cf->pool, sizeof(bw_http_log_buf_t));
    if (buf == NULL) {
        return BW_CONF_ERROR;
    }
    buf->start = bw_pnalloc(cf->pool, (size_t) size);
    if (buf->start == NULL) {
        return BW_CONF_ERROR;
    }
    buf->pos = buf->start;
    buf->last = buf->start + size;
    buf->gzip = gzip;

    if (flush) {
        buf->event = bw_pcalloc(cf->pool, sizeof(bw_event_t));
        if (buf->event == NULL) {
            return BW_CONF_ERROR;
        }
        buf->event->data = log->file;
        buf->event->handler = bw_http_log_flush_handler;
        buf->event->log = &cf->cycle->new_log;
        buf->event->cancelable = 1;
        buf->flush = (bw_msec_t) flush;
    }

    log->file->data = buf;
    log->file->flush = bw_http_log_flush;

    return BW_CONF_OK;
}

static bw_int_t
bw_http_log_init(bw_conf_t *cf)
{
    if (bw_http_add_phase_handler(cf, BW_HTTP_LOG_PHASE,
                                  bw_http_log_handler)
        != BW_OK)
    {
        return BW_ERROR;
    }

    return BW_OK;
}
