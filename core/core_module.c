/* The main-context directives: processes, user, pid, error_log. */

#include <bw_core.h>

static void *bw_core_module_create_conf(bw_cycle_t *cycle);
static char *bw_core_module_init_conf(bw_cycle_t *cycle, void *conf);
static char *bw_set_worker_processes(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_set_user(bw_conf_t *cf, bw_command_t *cmd, void *conf);
static char *bw_set_cpu_affinity(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_log_set_one(bw_conf_t *cf, bw_log_t *log, bw_str_t *value);
static char *bw_core_error_log(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_set_ignored(bw_conf_t *cf, bw_command_t *cmd, void *conf);
static char *bw_set_priority(bw_conf_t *cf, bw_command_t *cmd, void *conf);
static char *bw_set_env(bw_conf_t *cf, bw_command_t *cmd, void *conf);

static bw_command_t  bw_core_commands[] = {
    { bw_string("daemon"), BW_MAIN_CONF|BW_DIRECT_CONF|BW_CONF_FLAG,
      bw_conf_set_flag_slot, 0, offsetof(bw_core_conf_t, daemon), NULL },
    { bw_string("master_process"), BW_MAIN_CONF|BW_DIRECT_CONF|BW_CONF_FLAG,
      bw_conf_set_flag_slot, 0, offsetof(bw_core_conf_t, master), NULL },
    { bw_string("worker_processes"),
      BW_MAIN_CONF|BW_DIRECT_CONF|BW_CONF_TAKE1, bw_set_worker_processes,
      0, 0, NULL },
    { bw_string("worker_rlimit_nofile"),
      BW_MAIN_CONF|BW_DIRECT_CONF|BW_CONF_TAKE1, bw_conf_set_num_slot, 0,
      offsetof(bw_core_conf_t, rlimit_nofile), NULL },
    { bw_string("worker_cpu_affinity"),
      BW_MAIN_CONF|BW_DIRECT_CONF|BW_CONF_1MORE, bw_set_cpu_affinity, 0, 0,
      NULL },
    { bw_string("worker_shutdown_timeout"),
      BW_MAIN_CONF|BW_DIRECT_CONF|BW_CONF_TAKE1, bw_conf_set_msec_slot, 0,
      offsetof(bw_core_conf_t, shutdown_timeout), NULL },
    { bw_string("user"), BW_MAIN_CONF|BW_DIRECT_CONF|BW_CONF_TAKE12,
      bw_set_user, 0, 0, NULL },
    { bw_string("pid"), BW_MAIN_CONF|BW_DIRECT_CONF|BW_CONF_TAKE1,
      bw_conf_set_str_slot, 0, offsetof(bw_core_conf_t, pid), NULL },
    { bw_string("error_log"), BW_MAIN_CONF|BW_CONF_1MORE,
      bw_core_error_log, 0, 0, NULL },
    /* accepted for nginx compatibility; PCRE2 JIT is always on */
    { bw_string("pcre_jit"), BW_MAIN_CONF|BW_DIRECT_CONF|BW_CONF_FLAG,
      bw_set_ignored, 0, 0, NULL },
    { bw_string("worker_rlimit_core"),
      BW_MAIN_CONF|BW_DIRECT_CONF|BW_CONF_TAKE1, bw_conf_set_off_slot, 0,
      offsetof(bw_core_conf_t, rlimit_core), NULL },
    { bw_string("worker_priority"),
      BW_MAIN_CONF|BW_DIRECT_CONF|BW_CONF_TAKE1, bw_set_priority, 0, 0,
      NULL },
    { bw_string("env"), BW_MAIN_CONF|BW_DIRECT_CONF|BW_CONF_TAKE1,
      bw_set_env, 0, 0, NULL },
    /* distributions' configurations load their dynamic modules; here
     * every module is built in (./configure), and a directive of one
     * that is not says so by name */
    { bw_string("load_module"), BW_MAIN_CONF|BW_DIRECT_CONF|BW_CONF_TAKE1,
      bw_conf_no_effect, 0, 0,
      (void *) "modules are built in (./configure --with-NAME_module)" },
    { bw_string("timer_resolution"),
      BW_MAIN_CONF|BW_DIRECT_CONF|BW_CONF_TAKE1, bw_conf_no_effect, 0, 0,
      (void *) "the clock is read once a turn of the event loop" },
    { bw_string("lock_file"), BW_MAIN_CONF|BW_DIRECT_CONF|BW_CONF_TAKE1,
      bw_set_ignored, 0, 0, NULL },
    bw_null_command
};

static bw_core_module_t  bw_core_module_ctx = {
    bw_string("core"), bw_core_module_create_conf, bw_core_module_init_conf
};

bw_module_t  bw_core_module = {
    BW_MODULE_V1, BW_CORE_MODULE, &bw_core_module_ctx, bw_core_commands,
    NULL, NULL, NULL, NULL
};

static void *
bw_core_module_create_conf(bw_cycle_t *cycle)
{
    bw_core_conf_t  *ccf;

    ccf = bw_pcalloc(cycle->pool, sizeof(bw_core_conf_t));
    if (ccf == NULL) {
        return NULL;
    }

    ccf->daemon = BW_CONF_UNSET;
    ccf->master = BW_CONF_UNSET;
    ccf->worker_processes = BW_CONF_UNSET;
    ccf->rlimit_nofile = BW_CONF_UNSET;
    ccf->rlimit_core = BW_CONF_UNSET;
    ccf->priority = 0;
    ccf->shutdown_timeout = BW_CONF_UNSET_MSEC;
    ccf->user = (uid_t) BW_CONF_UNSET_UINT;
    ccf->group = (gid_t) BW_CONF_UNSET_UINT;

    return ccf;
}

static char *
bw_core_module_init_conf(bw_cycle_t *cycle, void *conf)
{
    bw_core_conf_t  *ccf = conf;
    struct passwd   *pwd;
    struct group    *grp;

    bw_conf_init_value(ccf->daemon, 1);
    bw_conf_init_value(ccf->master, 1);
    bw_conf_init_value(ccf->worker_processes, 1);
    bw_conf_init_msec_value(ccf->shutdown_timeout, 0);

    if (ccf->pid.len == 0) {
        bw_str_set(&ccf->pid, BW_PID_PATH);
    }
    if (bw_conf_full_name(cycle, &ccf->pid, 0) != BW_OK) {
        return BW_CONF_ERROR;
    }

    ccf->oldpid.len = ccf->pid.len + sizeof(".oldbin") - 1;
    ccf->oldpid.data = bw_pnalloc(cycle->pool, ccf->oldpid.len + 1);
    if (ccf->oldpid.data == NULL) {
        return BW_CONF_ERROR;
    }
    memcpy(bw_cpymem(ccf->oldpid.data, ccf->pid.data, ccf->pid.len),
           ".oldbin", sizeof(".oldbin"));

    /* as nginx: a root master runs its workers as "nobody" by default */
    if (ccf->user == (uid_t) BW_CONF_UNSET_UINT && geteuid() == 0) {
        pwd = getpwnam("nobody");
        if (pwd == NULL) {
            return "getpwnam(\"nobody\") failed";
        }
        ccf->username = "nobody";
        ccf->user = pwd->pw_uid;
        grp = getgrnam("nogroup");
        ccf->group = grp ? grp->gr_gid : pwd->pw_gid;
    }

    return BW_CONF_OK;
}

static char *
bw_set_worker_processes(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_str_t        *value;
    bw_core_conf_t  *ccf = conf;
    long             n;

    if (ccf->worker_processes != BW_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (bw_str_eq_lit(&value[1], "auto")) {
        n = sysconf(_SC_NPROCESSORS_ONLN);
        ccf->worker_processes = n > 0 ? n : 1;
        return BW_CONF_OK;
    }

    ccf->worker_processes = bw_atoi(value[1].data, value[1].len);
    if (ccf->worker_processes == BW_ERROR || ccf->worker_processes == 0) {
        return "invalid value";
    }

    /* a reload runs the old workers beside the new ones, within the
     * master's BW_MAX_PROCESSES slots: with more, a reload could not
     * start them all (nginx accepts the number and fails then) */
    if (ccf->worker_processes > BW_MAX_PROCESSES / 2) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "\"worker_processes\" may not be over %d: a "
                          "reload runs the old and the new workers side "
                          "by side", BW_MAX_PROCESSES / 2);
        return BW_CONF_ERROR;
    }

    return BW_CONF_OK;
}

static char *
bw_set_user(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_core_conf_t  *ccf = conf;
    bw_str_t        *value;
    struct passwd   *pwd;
    struct group    *grp;
    const char      *group;

    if (ccf->user != (uid_t) BW_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    if (geteuid() != 0) {
        bw_conf_log_error(BW_LOG_WARN, cf, 0,
                          "the \"user\" directive makes sense only if the "
                          "master process runs with super-user privileges, "
                          "ignored");
        return BW_CONF_OK;
    }

    value = cf->args->elts;
    ccf->username = (char *) value[1].data;

    pwd = getpwnam(ccf->username);
    if (pwd == NULL) {
        bw_conf_log_error(BW_LOG_EMERG, cf, errno,
                          "getpwnam(\"%s\") failed", value[1].data);
        return BW_CONF_ERROR;
    }
    ccf->user = pwd->pw_uid;

    group = cf->args->nelts == 2 ? (char *) value[1].data
                                 : (char *) value[2].data;
    grp = getgrnam(group);
    if (grp == NULL) {
        if (cf->args->nelts == 2) {
            ccf->group = pwd->pw_gid;
            return BW_CONF_OK;
        }
        bw_conf_log_error(BW_LOG_EMERG, cf, errno,
                          "getgrnam(\"%s\") failed", group);
        return BW_CONF_ERROR;
    }
    ccf->group = grp->gr_gid;

    return BW_CONF_OK;
}

static char *
bw_set_cpu_affinity(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_core_conf_t  *ccf = conf;
    bw_str_t        *value;
    bw_uint_t        i, n;
    uint64_t         mask;
    size_t           k;

    if (ccf->cpu_affinity_n || ccf->cpu_affinity_auto) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (bw_str_eq_lit(&value[1], "auto")) {
        if (cf->args->nelts > 3) {
            return "has too many parameters";
        }
        ccf->cpu_affinity_auto = 1;
        return BW_CONF_OK;
    }

    n = cf->args->nelts - 1;
    ccf->cpu_affinity = bw_palloc(cf->pool, n * sizeof(uint64_t));
    if (ccf->cpu_affinity == NULL) {
        return BW_CONF_ERROR;
    }

    for (i = 0; i < n; i++) {
        if (value[i + 1].len > 64) {
            return "supports up to 64 CPUs only";
        }
        mask = 0;
        for (k = 0; k < value[i + 1].len; k++) {
            u_char ch = value[i + 1].data[k];
            mask <<= 1;
            if (ch == '1') {
                mask |= 1;
            } else if (ch != '0') {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                  "invalid character \"%c\" in "
                                  "\"worker_cpu_affinity\"", ch);
                return BW_CONF_ERROR;
            }
        }
        ccf->cpu_affinity[i] = mask;
    }
    ccf->cpu_affinity_n = n;

    return BW_CONF_OK;
}

/*
 * Where a log goes: "stderr" (name emptied), "syslog:..." (*peer set,
 * name emptied), or a file (name kept). nginx's "memory:" is refused by
 * name, rather than taken for a file of that name.
 */
bw_int_t
bw_log_target(bw_conf_t *cf, bw_str_t *name, bw_syslog_peer_t **peer)
{
    *peer = NULL;

    if (bw_str_eq_lit(name, "stderr")) {
        name->len = 0;
        return BW_OK;
    }

    if (name->len >= 7 && memcmp(name->data, "memory:", 7) == 0) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "logging to \"memory:\" is "
                          "not supported: files, stderr and syslog only");
        return BW_ERROR;
    }

    if (name->len > 7 && memcmp(name->data, "syslog:", 7) == 0) {
        *peer = bw_syslog_parse(cf, name);
        if (*peer == NULL) {
            return BW_ERROR;
        }
        name->len = 0;
    }

    return BW_OK;
}

/*
 * One more log of a context: in the chain by level, highest first, so
 * that a message below every level is dropped by a look at the head.
 * The head stays where it is (it may be copied already): a new highest
 * log takes the head's place and the old head's contents move on.
 */
static void
bw_log_insert(bw_log_t *log, bw_log_t *new_log)
{
    bw_log_t  tmp;

    if (new_log->log_level > log->log_level) {
        tmp = *log;
        *log = *new_log;
        *new_log = tmp;
        log->next = new_log;
        return;
    }

    while (log->next) {
        if (new_log->log_level > log->next->log_level) {
            new_log->next = log->next;
            log->next = new_log;
            return;
        }
        log = log->next;
    }

    log->next = new_log;
}

/* error_log file|stderr [level]: shared by every context that has it;
 * several at one level all write, each from its own level up (nginx). */
char *
bw_log_set_log(bw_conf_t *cf, bw_log_t *head)
{
    char       *rv;
    bw_log_t   *log;
    bw_str_t   *value;

    value = cf->args->elts;

    log = head;
    if (head->file) {
        log = bw_pcalloc(cf->pool, sizeof(bw_log_t));
        if (log == NULL) {
            return BW_CONF_ERROR;
        }
    }

    rv = bw_log_set_one(cf, log, value);
    if (rv != BW_CONF_OK) {
        return rv;
    }

    if (log != head) {
        bw_log_insert(head, log);
    }

    return BW_CONF_OK;
}

static char *
bw_log_set_one(bw_conf_t *cf, bw_log_t *log, bw_str_t *value)
{
    bw_str_t   name;
    bw_int_t   level;

    name = value[1];
    if (bw_log_target(cf, &name, &log->syslog) != BW_OK) {
        return BW_CONF_ERROR;
    }
    if (name.len == 0 && log->syslog == NULL) {
        cf->cycle->error_log.len = 0;       /* stderr */
    }

    /* a syslog log has stderr as its file, of no use but to say the
     * log is set */

    log->file = bw_conf_open_file(cf->cycle, &name);
    if (log->file == NULL) {
        return BW_CONF_ERROR;
    }

    log->log_level = BW_LOG_ERR;

    if (cf->args->nelts == 3) {
        level = bw_log_parse_level(&value[2]);
        if (level == BW_ERROR) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "invalid log level \"%s\"", value[2].data);
            return BW_CONF_ERROR;
        }
        log->log_level = (bw_uint_t) level;
#ifndef BW_DEBUG
        if (level == BW_LOG_DEBUG) {
            bw_conf_log_error(BW_LOG_WARN, cf, 0, "debug logging is not "
                              "compiled in; rebuild with --with-debug");
        }
#endif
    } else if (cf->args->nelts > 3) {
        return "has too many parameters";
    }

    return BW_CONF_OK;
}

static char *
bw_core_error_log(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    return bw_log_set_log(cf, &cf->cycle->new_log);
}

/* worker_priority N: -20 (first) to 20 (last), as nice(1) */
static char *
bw_set_priority(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_int_t         n, sign;
    bw_str_t        *value, v;
    bw_core_conf_t  *ccf = conf;

    if (ccf->priority != 0) {
        return "is duplicate";
    }

    value = cf->args->elts;
    v = value[1];
    sign = 1;

    if (v.len && (v.data[0] == '-' || v.data[0] == '+')) {
        sign = (v.data[0] == '-') ? -1 : 1;
        v.data++;
        v.len--;
    }

    n = bw_atoi(v.data, v.len);
    if (n == BW_ERROR || n > 20) {
        return "invalid number";
    }

    ccf->priority = sign * n;
    return BW_CONF_OK;
}

/*
 * env VAR[=VALUE]: a value is set for the workers (and the master). The
 * rest of the environment stays as it was: nginx clears everything but
 * TZ and the names "env" gives; bulwark keeps it (docs/compatibility).
 */
static char *
bw_set_env(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    u_char    *eq;
    bw_str_t  *value;
    char       name[256];

    value = cf->args->elts;

    eq = memchr(value[1].data, '=', value[1].len);
    if (eq == NULL) {
        return BW_CONF_OK;
    }

    if ((size_t) (eq - value[1].data) >= sizeof(name) || eq == value[1].data) {
        return "has an invalid name";
    }

    memcpy(name, value[1].data, eq - value[1].data);
    name[eq - value[1].data] = '\0';

    if (setenv(name, (char *) eq + 1, 1) == -1) {
        bw_conf_log_error(BW_LOG_EMERG, cf, errno, "setenv(\"%s\") failed",
                          name);
        return BW_CONF_ERROR;
    }

    return BW_CONF_OK;
}

static char *
bw_set_ignored(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    return BW_CONF_OK;
}
