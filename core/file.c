/* File helpers used at configuration time. Never call from a worker's
 * request path: these block. */

#include <bw_core.h>

bw_int_t
bw_get_full_name(bw_pool_t *pool, bw_str_t *prefix, bw_str_t *name)
{
    u_char  *p;

    if (name->len && name->data[0] == '/') {
        return BW_OK;
    }

    p = bw_pnalloc(pool, prefix->len + name->len + 1);
    if (p == NULL) {
        return BW_ERROR;
    }

    memcpy(p, prefix->data, prefix->len);
    memcpy(p + prefix->len, name->data, name->len);
    p[prefix->len + name->len] = '\0';

    name->data = p;
    name->len += prefix->len;
    return BW_OK;
}

bw_int_t
bw_read_whole_file(bw_pool_t *pool, const char *name, bw_str_t *out,
    bw_err_t *err)
{
    int          fd;
    ssize_t      n;
    size_t       got;
    struct stat  st;

    fd = open(name, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        *err = errno;
        return BW_ERROR;
    }

    if (fstat(fd, &st) == -1) {
        *err = errno;
        close(fd);
        return BW_ERROR;
    }

    if (S_ISDIR(st.st_mode)) {
        *err = EISDIR;
        close(fd);
        return BW_ERROR;
    }

    out->data = bw_pnalloc(pool, st.st_size + 1);
    if (out->data == NULL) {
        *err = ENOMEM;
        close(fd);
        return BW_ERROR;
    }

    for (got = 0; got < (size_t) st.st_size; got += n) {
        n = read(fd, out->data + got, st.st_size - got);
        if (n == -1) {
            if (errno == EINTR) {
                n = 0;
                continue;
            }
            *err = errno;
            close(fd);
            return BW_ERROR;
        }
        if (n == 0) {
            break;
        }
    }

    out->data[got] = '\0';
    out->len = got;
    close(fd);
    return BW_OK;
}

