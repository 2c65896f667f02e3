/*
 * Command line and start-up, compatible with nginx's flags so that the
 * tools that drive nginx (systemd units, logrotate, upgrade scripts)
 * drive bulwark the same way.
 */

#include <bw_core.h>
#include <openssl/opensslv.h>

#define OPENSSL_VERSION_TEXT_SHORT "OpenSSL " OPENSSL_VERSION_STR
#define BULWARK_VERSION  "0.1.0"

static bw_int_t bw_get_options(int argc, char *const *argv);
static bw_int_t bw_process_options(bw_cycle_t *cycle);
static void bw_show_version_info(void);

static bw_uint_t   bw_show_help;
static bw_uint_t   bw_show_version;
static bw_uint_t   bw_show_configure;
static u_char     *bw_prefix;
static u_char     *bw_error_log;
static u_char     *bw_conf_file;
static u_char     *bw_conf_params;
static char       *bw_signal;

int
main(int argc, char *const *argv, char *const *envp)
{
    char             *inherited;
    bw_log_t         *log;
    bw_cycle_t       *cycle, init_cycle;
    bw_core_conf_t   *ccf;
    bw_int_t          i;

    bw_argv = (char **) argv;
    bw_os_environ = (char **) envp;

    if (bw_get_options(argc, argv) != BW_OK) {
        return 1;
    }

    if (bw_show_version) {
        bw_show_version_info();
        if (!bw_test_config) {
            return 0;
        }
    }

    bw_time_init();
    bw_fail_alloc_init();
    bw_preinit_modules();
    bw_pid = getpid();

    for (i = 0; i < BW_MAX_PROCESSES; i++) {
        bw_processes[i].pid = -1;
        bw_processes[i].channel = -1;
    }

    bw_memzero(&init_cycle, sizeof(bw_cycle_t));
    init_cycle.pool = bw_create_pool(1024, NULL);
    if (init_cycle.pool == NULL) {
        return 1;
    }

    if (bw_process_options(&init_cycle) != BW_OK) {
        bw_destroy_pool(init_cycle.pool);
        return 1;
    }

    log = bw_log_init(init_cycle.prefix.data, bw_error_log);
    if (log == NULL) {
        return 1;
    }
    init_cycle.log = log;
    init_cycle.pool->log = log;
    bw_log_use_stderr = 1;

    /* the new binary of an upgrade: sockets come from the old master */
    inherited = getenv("BULWARK");
    if (inherited && !bw_test_config && bw_signal == NULL) {
        if (bw_array_init(&init_cycle.listening, init_cycle.pool, 8,
                          sizeof(bw_listening_t)) != BW_OK
            || bw_set_inherited_sockets(&init_cycle, inherited) != BW_OK)
        {
            return 1;
        }
        bw_inherited = 1;
        bw_parent = getppid();
    }

    if (bw_signal) {
        bw_process = BW_PROCESS_SIGNALLER;
        bw_test_config = 1;
        bw_quiet_mode = 1;
    }

    cycle = bw_init_cycle(&init_cycle);
    if (cycle == NULL) {
        if (bw_test_config) {
            bw_log_stderr(0, "configuration file %s test failed",
                          init_cycle.conf_file.data);
        }
        bw_destroy_pool(init_cycle.pool);
        return 1;
    }

    /* the new cycle copied all it needs from the start-up one */
    cycle->old_cycle = NULL;
    bw_destroy_pool(init_cycle.pool);

    if (bw_signal) {
        i = (bw_signal_process(cycle, bw_signal) == BW_OK) ? 0 : 1;
        bw_destroy_cycle(cycle);
        return (int) i;
    }

    if (bw_test_config) {
        if (!bw_quiet_mode) {
            bw_log_stderr(0, "configuration file %s test is successful",
                          cycle->conf_file.data);
        }
        if (bw_dump_config) {
            bw_dump_cycle_config(cycle);
        }
        bw_destroy_cycle(cycle);
        return 0;
    }

    bw_cycle = cycle;
    ccf = (bw_core_conf_t *) bw_get_conf(cycle->conf_ctx, bw_core_module);

    if (ccf->master) {
        bw_process = BW_PROCESS_MASTER;
    }

    if (bw_init_signals(cycle->log) != BW_OK) {
        return 1;
    }

    if (!bw_inherited && ccf->daemon) {
        if (bw_daemon(cycle->log) != BW_OK) {
            return 1;
        }
        bw_daemonized = 1;
    }

    if (bw_inherited) {
        bw_daemonized = 1;
    }

    bw_pid = getpid();

    if (bw_create_pidfile(&ccf->pid, cycle->log) != BW_OK) {
        return 1;
    }

    bw_log_redirect_stderr(cycle->log);
    bw_log_use_stderr = 0;

    if (bw_process == BW_PROCESS_SINGLE) {
        bw_single_process_cycle(cycle);
    } else {
        bw_master_process_cycle(cycle);
    }

    return 0;
}

static bw_int_t
bw_get_options(int argc, char *const *argv)
{
    u_char     *p;
    bw_int_t    i;

    for (i = 1; i < argc; i++) {
        p = (u_char *) argv[i];

        if (*p++ != '-') {
            bw_log_stderr(0, "invalid option: \"%s\"", argv[i]);
            return BW_ERROR;
        }

        while (*p) {
            switch (*p++) {

            case '?':
            case 'h':
                bw_show_version = 1;
                bw_show_help = 1;
                break;

            case 'v':
                bw_show_version = 1;
                break;

            case 'V':
                bw_show_version = 1;
                bw_show_configure = 1;
                break;

            case 't':
                bw_test_config = 1;
                break;

            case 'T':
                bw_test_config = 1;
                bw_dump_config = 1;
                break;

            case 'q':
                bw_quiet_mode = 1;
                break;

            case 'p':
            case 'c':
            case 'e':
            case 'g':
            case 's': {
                u_char  opt = p[-1];
                u_char *arg;

                if (*p) {
                    arg = p;
                } else if (argv[++i]) {
                    arg = (u_char *) argv[i];
                } else {
                    bw_log_stderr(0, "option \"-%c\" requires %s", opt,
                                  opt == 'p' ? "directory name"
                                  : opt == 'c' || opt == 'e' ? "file name"
                                  : opt == 'g' ? "parameter"
                                  : "parameter");
                    return BW_ERROR;
                }

                switch (opt) {
                case 'p': bw_prefix = arg; break;
                case 'c': bw_conf_file = arg; break;
                case 'e': bw_error_log = arg; break;
                case 'g': bw_conf_params = arg; break;
                case 's':
                    if (strcmp((char *) arg, "stop") == 0
                        || strcmp((char *) arg, "quit") == 0
                        || strcmp((char *) arg, "reopen") == 0
                        || strcmp((char *) arg, "reload") == 0)
                    {
                        bw_signal = (char *) arg;
                        break;
                    }
                    bw_log_stderr(0, "invalid option: \"-s %s\"", arg);
                    return BW_ERROR;
                }
                goto next;
            }

            default:
                bw_log_stderr(0, "invalid option: \"%c\"", p[-1]);
                return BW_ERROR;
            }
        }

    next:
        continue;
    }

    return BW_OK;
}

static bw_int_t
bw_dup_cstr(bw_pool_t *pool, bw_str_t *dst, const u_char *src, size_t len,
    bw_uint_t slash)
{
    dst->data = bw_pnalloc(pool, len + 2);
    if (dst->data == NULL) {
        return BW_ERROR;
    }
    memcpy(dst->data, src, len);
    if (slash && (len == 0 || src[len - 1] != '/')) {
        dst->data[len++] = '/';
    }
    dst->data[len] = '\0';
    dst->len = len;
    return BW_OK;
}

static bw_int_t
bw_process_options(bw_cycle_t *cycle)
{
    u_char  *p, cwd[PATH_MAX], *prefix;
    size_t   len;

    if (bw_prefix) {
        prefix = bw_prefix;
        if (prefix[0] != '/') {
            /* a relative -p is taken from the current directory */
            if (getcwd((char *) cwd, sizeof(cwd) - 2) == NULL) {
                bw_log_stderr(errno, "[emerg] getcwd() failed");
                return BW_ERROR;
            }
            len = strlen((char *) cwd);
            p = bw_pnalloc(cycle->pool, len + strlen((char *) prefix) + 2);
            if (p == NULL) {
                return BW_ERROR;
            }
            memcpy(p, cwd, len);
            p[len] = '/';
            memcpy(p + len + 1, prefix, strlen((char *) prefix) + 1);
            prefix = p;
        }
    } else {
        prefix = (u_char *) BW_CONF_PREFIX;
    }

    if (bw_dup_cstr(cycle->pool, &cycle->prefix, prefix,
                    strlen((char *) prefix), 1) != BW_OK)
    {
        return BW_ERROR;
    }

    if (bw_conf_file) {
        if (bw_dup_cstr(cycle->pool, &cycle->conf_file, bw_conf_file,
                        strlen((char *) bw_conf_file), 0) != BW_OK)
        {
            return BW_ERROR;
        }
    } else {
        bw_str_set(&cycle->conf_file, BW_CONF_PATH);
    }

    if (bw_conf_full_name(cycle, &cycle->conf_file, 0) != BW_OK) {
        return BW_ERROR;
    }

    for (p = cycle->conf_file.data + cycle->conf_file.len - 1;
         p > cycle->conf_file.data; p--)
    {
        if (*p == '/') {
            break;
        }
    }
    if (bw_dup_cstr(cycle->pool, &cycle->conf_prefix, cycle->conf_file.data,
                    p - cycle->conf_file.data + 1, 0) != BW_OK)
    {
        return BW_ERROR;
    }

    if (bw_error_log) {
        cycle->error_log.data = bw_error_log;
        cycle->error_log.len = strlen((char *) bw_error_log);
    } else {
        bw_str_set(&cycle->error_log, BW_ERROR_LOG_PATH);
    }

    if (bw_conf_params) {
        cycle->conf_param.data = bw_conf_params;
        cycle->conf_param.len = strlen((char *) bw_conf_params);
    }

    return BW_OK;
}

static void
bw_show_version_info(void)
{
    FILE  *out = stderr;

    fprintf(out, "bulwark version: bulwark/" BULWARK_VERSION "\n");

    if (bw_show_help) {
        fprintf(out,
"Usage: bulwark [-?hvVtTq] [-s signal] [-p prefix]\n"
"               [-e filename] [-c filename] [-g directives]\n\n"
"Options:\n"
"  -?,-h         : this help\n"
"  -v            : show version and exit\n"
"  -V            : show version and configure options then exit\n"
"  -t            : test configuration and exit\n"
"  -T            : test configuration, dump it and exit\n"
"  -q            : suppress non-error messages during configuration "
"testing\n"
"  -s signal     : send signal to a master process: "
"stop, quit, reopen, reload\n"
"  -p prefix     : set prefix path (default: " BW_CONF_PREFIX ")\n"
"  -e filename   : set error log file (default: " BW_ERROR_LOG_PATH ")\n"
"  -c filename   : set configuration file (default: " BW_CONF_PATH ")\n"
"  -g directives : set global directives out of configuration file\n\n");
    }

    if (bw_show_configure) {
        fprintf(out, "built by %s\n", BW_COMPILER);
        fprintf(out, "built with %s\n", OPENSSL_VERSION_TEXT_SHORT);
        fprintf(out, "configure arguments:%s%s\n",
                bw_configure_args[0] ? " " : "", bw_configure_args);
        fprintf(out, "modules: %s\n", bw_built_modules);
    }
}
