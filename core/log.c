/*
 * Error log output. One write(2) per message, so that lines from
 * several workers never interleave inside a line.
 */

#include <bw_core.h>

bw_uint_t  bw_log_use_stderr;

const char *bw_log_levels[] = {
    "stderr", "emerg", "alert", "crit", "error", "warn", "notice", "info",
    "debug", NULL
};

static bw_open_file_t  bw_log_file = { STDERR_FILENO, bw_null_string,
                                       NULL, NULL };
static bw_log_t        bw_log = { BW_LOG_NOTICE, &bw_log_file, 0, NULL,
                                  NULL, NULL, NULL, NULL };

static u_char *
bw_log_errno(u_char *p, u_char *last, bw_err_t err)
{
    char  buf[128];

    return bw_slprintf(p, last, " (%d: %s)", err,
                       strerror_r(err, buf, sizeof(buf)));
}

static void bw_log_write(bw_uint_t level, bw_log_t *log, bw_err_t err,
    bw_uint_t suppressed, const char *fmt, va_list args);

void
bw_log_error(bw_uint_t level, bw_log_t *log, bw_err_t err,
    const char *fmt, ...)
{
    va_list  args;

    if (log == NULL) {
        log = &bw_log;
    }

    if (level > log->log_level) {
        return;
    }

    va_start(args, fmt);
    bw_log_write(level, log, err, 0, fmt, args);
    va_end(args);
}

/*
 * A message that one client can make us write once per connection or
 * request (an attack writes it tens of thousands of times a second) is
 * written at most once a second per worker; the next one written says
 * how many were left out in between. The limit is per call site: each
 * site has its own bw_log_limit_t.
 */
void
bw_log_error_limited(bw_log_limit_t *limit, bw_uint_t level, bw_log_t *log,
    bw_err_t err, const char *fmt, ...)
{
    va_list  args;

    if (log == NULL) {
        log = &bw_log;
    }

    if (level > log->log_level) {
        return;
    }

    if (limit->sec == bw_time_sec) {
        limit->suppressed++;
        return;
    }

    va_start(args, fmt);
    bw_log_write(level, log, err, limit->suppressed, fmt, args);
    va_end(args);

    limit->sec = bw_time_sec;
    limit->suppressed = 0;
}

static void
bw_log_write(bw_uint_t level, bw_log_t *log, bw_err_t err,
    bw_uint_t suppressed, const char *fmt, va_list args)
{
    u_char     errstr[BW_MAX_ERROR_STR], *p, *last, *msg;
    ssize_t    n;
    bw_log_t  *l;

    last = errstr + BW_MAX_ERROR_STR - 1;

    p = bw_cpymem(errstr, bw_cached_err_log_time.data,
                  bw_cached_err_log_time.len);
    p = bw_slprintf(p, last, " [%s] %d#0: ", bw_log_levels[level],
                    (int) getpid());

    if (log->connection) {
        p = bw_slprintf(p, last, "*%lu ", (unsigned long) log->connection);
    }

    msg = p;

    p = bw_vslprintf(p, last, fmt, args);

    if (err) {
        p = bw_log_errno(p, last, err);
    }

    if (suppressed) {
        p = bw_slprintf(p, last, " (%lu similar messages suppressed)",
                        (unsigned long) suppressed);
    }

    if (log->handler && level != BW_LOG_DEBUG) {
        p = log->handler(log, p, last - p);
    }

    if (p > last) {
        p = last;
    }
    *p++ = '\n';

    /* every log of the chain whose level takes the message (the chain
     * is by level, highest first) */
    for (l = log; l && level <= l->log_level; l = l->next) {
        if (l->syslog) {
            /* syslog stamps the time itself: from " [level]" on, less
             * the line's end */
            bw_syslog_send(l->syslog, level,
                           errstr + bw_cached_err_log_time.len + 1,
                           p - errstr - bw_cached_err_log_time.len - 2);
            continue;
        }
        if (l->file && l->file->fd != -1) {
            n = write(l->file->fd, errstr, p - errstr);
            (void) n;
        }
    }

    if (bw_log_use_stderr && level <= BW_LOG_WARN
        && (log->file == NULL || log->file->fd != STDERR_FILENO))
    {
        /* nginx's terminal form: "bulwark: [emerg] message" */
        u_char  out[BW_MAX_ERROR_STR + 32], *q;

        q = bw_slprintf(out, out + sizeof(out), "bulwark: [%s] ",
                        bw_log_levels[level]);
        q = bw_cpymem(q, msg, p - msg);
        n = write(STDERR_FILENO, out, q - out);
        (void) n;
    }
}

void
bw_log_stderr(bw_err_t err, const char *fmt, ...)
{
    u_char    errstr[BW_MAX_ERROR_STR], *p, *last;
    va_list   args;
    ssize_t   n;

    last = errstr + BW_MAX_ERROR_STR - 1;
    p = bw_cpymem(errstr, "bulwark: ", 9);

    va_start(args, fmt);
    p = bw_vslprintf(p, last, fmt, args);
    va_end(args);

    if (err) {
        p = bw_log_errno(p, last, err);
    }

    if (p > last) {
        p = last;
    }
    *p++ = '\n';

    n = write(STDERR_FILENO, errstr, p - errstr);
    (void) n;
}

/*
 * The log used before the configuration is read: the default error log
 * of the prefix, or stderr if it cannot be opened (as nginx does).
 */
bw_log_t *
bw_log_init(u_char *prefix, u_char *error_log)
{
    static u_char  name[PATH_MAX];
    u_char        *p;

    bw_log.file = &bw_log_file;
    bw_log.log_level = BW_LOG_NOTICE;

    if (error_log == NULL) {
        error_log = (u_char *) BW_ERROR_LOG_PATH;
    }

    if (strcmp((char *) error_log, "stderr") == 0) {
        bw_log_file.fd = STDERR_FILENO;
        return &bw_log;
    }

    if (error_log[0] == '/') {
        p = bw_cpystrn(name, error_log, sizeof(name));
    } else {
        p = bw_slprintf(name, name + sizeof(name), "%s%s", prefix, error_log);
    }
    (void) p;

    bw_log_file.fd = open((char *) name, O_WRONLY | O_APPEND | O_CREAT
                          | O_CLOEXEC, 0644);
    if (bw_log_file.fd == -1) {
        bw_log_stderr(errno, "[alert] could not open error log file: "
                      "open() \"%s\" failed", name);
        bw_log_file.fd = STDERR_FILENO;
    }

    bw_log_file.name.data = name;
    bw_log_file.name.len = strlen((char *) name);

    return &bw_log;
}

bw_int_t
bw_log_parse_level(bw_str_t *name)
{
    bw_int_t  i;

    for (i = 1; bw_log_levels[i]; i++) {
        if (name->len == strlen(bw_log_levels[i])
            && memcmp(name->data, bw_log_levels[i], name->len) == 0)
        {
            return i;
        }
    }
    return BW_ERROR;
}

/* Daemonized workers must not write stray output to a terminal. */
void
bw_log_redirect_stderr(bw_log_t *log)
{
    if (log->file && log->file->fd != STDERR_FILENO && log->file->fd != -1) {
        (void) dup2(log->file->fd, STDERR_FILENO);
    }
}
