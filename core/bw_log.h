/* The error log: levels, per-connection context, and write-out. */

#ifndef BW_LOG_H
#define BW_LOG_H

#define BW_LOG_STDERR   0
#define BW_LOG_EMERG    1
#define BW_LOG_ALERT    2
#define BW_LOG_CRIT     3
#define BW_LOG_ERR      4
#define BW_LOG_WARN     5
#define BW_LOG_NOTICE   6
#define BW_LOG_INFO     7
#define BW_LOG_DEBUG    8

#define BW_MAX_ERROR_STR  2048

typedef u_char *(*bw_log_handler_pt)(bw_log_t *log, u_char *buf,
    size_t len);

struct bw_open_file_s {
    int          fd;
    bw_str_t     name;      /* NUL-terminated */
    void       (*flush)(bw_open_file_t *file, bw_log_t *log);
    void        *data;
};

typedef struct {
    time_t               sec;           /* of the last one written */
    bw_uint_t            suppressed;    /* since then */
} bw_log_limit_t;

struct bw_log_s {
    bw_uint_t            log_level;
    bw_open_file_t      *file;
    bw_uint_t            connection;
    bw_log_handler_pt    handler;
    void                *data;
    const char          *action;
    struct bw_syslog_peer_s *syslog; /* error_log syslog:... */
    bw_log_t            *next;      /* more error_log lines of the same
                                       level, by log level, highest
                                       first */
};

extern bw_uint_t  bw_log_use_stderr;   /* also echo to stderr (-t, start) */
extern const char *bw_log_levels[];

void bw_log_error(bw_uint_t level, bw_log_t *log, bw_err_t err,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void bw_log_error_limited(bw_log_limit_t *limit, bw_uint_t level,
    bw_log_t *log, bw_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void bw_log_stderr(bw_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
bw_log_t *bw_log_init(u_char *prefix, u_char *error_log);
bw_int_t bw_log_parse_level(bw_str_t *name);
void bw_log_redirect_stderr(bw_log_t *log);

/* bw_log_error_limited() with a limit of its own for this call site */
#define bw_log_throttled(level, log, err, ...)                               \
    do {                                                                     \
        static bw_log_limit_t  bw_log_limit_;                                \
        bw_log_error_limited(&bw_log_limit_, level, log, err, __VA_ARGS__);  \
    } while (0)

#ifdef BW_DEBUG
#define bw_log_debug(log, ...) \
    do { if ((log)->log_level >= BW_LOG_DEBUG) \
        bw_log_error(BW_LOG_DEBUG, log, 0, __VA_ARGS__); } while (0)
#else
#define bw_log_debug(log, ...)
#endif

#endif
