/*
 * Temp paths and files. Writing to a temp file blocks the worker on the
 * disk, as nginx without aio does; callers write only whole buffers, and
 * only when memory would otherwise grow with the body.
 */

#include <bw_core.h>

static bw_uint_t  bw_temp_number;

char *
bw_conf_set_path_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    char        *p = conf;
    bw_int_t     level;
    bw_uint_t    i;
    bw_str_t    *value;
    bw_path_t  **slot, *path;

    slot = (bw_path_t **) (p + cmd->offset);
    if (*slot) {
        return "is duplicate";
    }

    value = cf->args->elts;

    /* levels spread files over subdirectories in nginx; one directory
     * is enough for files that are unlinked at once, but the numbers
     * must still make sense */
    for (i = 2; i < cf->args->nelts; i++) {
        level = bw_atoi(value[i].data, value[i].len);
        if (level < 1 || level > 2) {
            return "invalid value";
        }
    }

    path = bw_pcalloc(cf->pool, sizeof(bw_path_t));
    if (path == NULL) {
        return BW_CONF_ERROR;
    }

    path->name = value[1];
    if (path->name.len > 1 && path->name.data[path->name.len - 1] == '/') {
        path->name.len--;
    }
    if (bw_get_full_name(cf->pool, &cf->cycle->prefix, &path->name)
        != BW_OK)
    {
        return BW_CONF_ERROR;
    }

    *slot = path;

    return bw_add_path(cf, path);
}

char *
bw_conf_merge_path_value(bw_conf_t *cf, bw_path_t **path, bw_path_t *prev,
    const char *def)
{
    bw_path_t  *p;

    if (*path) {
        return BW_CONF_OK;
    }

    if (prev) {
        *path = prev;
        return BW_CONF_OK;
    }

    p = bw_pcalloc(cf->pool, sizeof(bw_path_t));
    if (p == NULL) {
        return BW_CONF_ERROR;
    }

    p->name.data = (u_char *) def;
    p->name.len = strlen(def);
    if (bw_get_full_name(cf->pool, &cf->cycle->prefix, &p->name) != BW_OK) {
        return BW_CONF_ERROR;
    }

    *path = p;

    return bw_add_path(cf, p);
}

char *
bw_add_path(bw_conf_t *cf, bw_path_t *path)
{
    bw_uint_t    i;
    bw_path_t  **p;

    p = cf->cycle->paths.elts;
    for (i = 0; i < cf->cycle->paths.nelts; i++) {
        if (bw_str_eq(&p[i]->name, &path->name)) {
            return BW_CONF_OK;
        }
    }

    path->conf_file = cf->conf_file ? cf->conf_file->name.data : NULL;
    path->line = cf->conf_file ? cf->conf_file->line : 0;

    p = bw_array_push(&cf->cycle->paths);
    if (p == NULL) {
        return BW_CONF_ERROR;
    }
    *p = path;

    return BW_CONF_OK;
}

bw_int_t
bw_create_paths(bw_cycle_t *cycle, uid_t user, gid_t group)
{
    bw_uint_t     i;
    bw_path_t   **path;
    struct stat   st;

    path = cycle->paths.elts;

    for (i = 0; i < cycle->paths.nelts; i++) {
        if (mkdir((char *) path[i]->name.data, 0700) == -1
            && errno != EEXIST)
        {
            bw_log_error(BW_LOG_EMERG, cycle->log, errno,
                         "mkdir() \"%s\" failed", path[i]->name.data);
            return BW_ERROR;
        }

        if (geteuid() != 0 || user == (uid_t) BW_CONF_UNSET_UINT) {
            continue;
        }

        if (stat((char *) path[i]->name.data, &st) == -1) {
            bw_log_error(BW_LOG_EMERG, cycle->log, errno,
                         "stat() \"%s\" failed", path[i]->name.data);
            return BW_ERROR;
        }

        if (st.st_uid != user
            && chown((char *) path[i]->name.data, user, group) == -1)
        {
            bw_log_error(BW_LOG_EMERG, cycle->log, errno,
                         "chown(\"%s\", %d) failed",
                         path[i]->name.data, (int) user);
            return BW_ERROR;
        }
    }

    return BW_OK;
}

static void
bw_temp_file_cleanup(void *data)
{
    bw_file_t  *file = data;

    if (file->fd != -1) {
        (void) close(file->fd);
        file->fd = -1;
    }
}

/* client_body_in_file_only clean: the file goes with the request */
static void
bw_temp_file_clean(void *data)
{
    bw_file_t  *file = data;

    bw_temp_file_cleanup(data);

    if (unlink((char *) file->name.data) == -1 && errno != ENOENT) {
        bw_log_error(BW_LOG_CRIT, file->log, errno,
                     "unlink() \"%s\" failed", file->name.data);
    }
}

bw_int_t
bw_create_temp_file(bw_file_t *file, bw_path_t *path, bw_pool_t *pool,
    bw_log_t *log)
{
    return bw_create_named_temp_file(file, path, pool, log,
                                     BW_TEMP_FILE_UNLINK);
}

bw_int_t
bw_create_named_temp_file(bw_file_t *file, bw_path_t *path, bw_pool_t *pool,
    bw_log_t *log, bw_uint_t keep)
{
    int                 fd;
    u_char             *p;
    bw_uint_t           tries;
    bw_pool_cleanup_t  *cln;

    cln = bw_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        return BW_ERROR;
    }

    file->name.data = bw_pnalloc(pool, path->name.len + 1 + 2 * BW_INT_T_LEN
                                       + 1);
    if (file->name.data == NULL) {
        return BW_ERROR;
    }

    for (tries = 0; tries < 16; tries++) {
        p = bw_slprintf(file->name.data,
                        file->name.data + path->name.len + 1
                        + 2 * BW_INT_T_LEN,
                        "%s/%010lu%05d", path->name.data,
                        (unsigned long) ++bw_temp_number, (int) bw_pid);
        *p = '\0';
        file->name.len = p - file->name.data;

        fd = open((char *) file->name.data,
                  O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
        if (fd != -1) {
            if (keep == BW_TEMP_FILE_UNLINK) {
                (void) unlink((char *) file->name.data);
            }
            file->fd = fd;
            file->offset = 0;
            file->log = log;
            cln->handler = (keep == BW_TEMP_FILE_CLEAN) ? bw_temp_file_clean
                                                        : bw_temp_file_cleanup;
            cln->data = file;
            return BW_OK;
        }

        if (errno != EEXIST) {
            bw_log_error(BW_LOG_CRIT, log, errno,
                         "open() temp file \"%s\" failed", file->name.data);
            return BW_ERROR;
        }
    }

    bw_log_error(BW_LOG_CRIT, log, 0, "no free temp file name in \"%s\"",
                 path->name.data);
    return BW_ERROR;
}

bw_int_t
bw_write_temp_file(bw_file_t *file, u_char *buf, size_t size)
{
    ssize_t  n;

    while (size) {
        n = pwrite(file->fd, buf, size, file->offset);
        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }
            bw_log_error(BW_LOG_CRIT, file->log, errno,
                         "pwrite() to temp file \"%s\" failed",
                         file->name.data);
            return BW_ERROR;
        }
        buf += n;
        size -= n;
        file->offset += n;
    }

    return BW_OK;
}

#define BW_TEMP_IOVS  64

bw_int_t
bw_write_chain_to_temp_file(bw_file_t *file, bw_chain_t *in, size_t limit)
{
    int            niov;
    size_t         size, len;
    ssize_t        n;
    struct iovec   iov[BW_TEMP_IOVS], *v;

    while (in) {
        niov = 0;
        size = 0;

        for ( /* void */ ; in && niov < BW_TEMP_IOVS; in = in->next) {
            len = bw_buf_size(in->buf);
            if (len == 0) {
                continue;
            }
            if (niov && size + len > limit) {
                break;
            }
            iov[niov].iov_base = in->buf->pos;
            iov[niov].iov_len = len;
            niov++;
            size += len;
        }

        v = iov;

        while (size) {
            n = pwritev(file->fd, v, niov, file->offset);
            if (n == -1) {
                if (errno == EINTR) {
                    continue;
                }
                bw_log_error(BW_LOG_CRIT, file->log, errno,
                             "pwritev() to temp file \"%s\" failed",
                             file->name.data);
                return BW_ERROR;
            }

            file->offset += n;
            size -= n;

            /* a short write: go on from where it stopped */
            while (niov && (size_t) n >= v->iov_len) {
                n -= v->iov_len;
                v++;
                niov--;
            }
            if (niov) {
                v->iov_base = (u_char *) v->iov_base + n;
                v->iov_len -= n;
            }
        }
    }

    return BW_OK;
}
