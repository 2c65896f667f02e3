/*
 * The master process: starts and watches workers, and turns signals into
 * reloads, upgrades and stops. It never touches client traffic and keeps
 * every listening socket open for as long as a configuration uses it.
 */

#include <bw_core.h>

bw_uint_t      bw_process;
pid_t          bw_pid;
pid_t          bw_parent;
pid_t          bw_new_binary;
bw_uint_t      bw_inherited;
bw_uint_t      bw_daemonized;
bw_uint_t      bw_exiting;
char         **bw_argv;
char         **bw_os_environ;
bw_process_t   bw_processes[BW_MAX_PROCESSES];
bw_int_t       bw_last_process;

static bw_uint_t  bw_noaccepting;
static bw_uint_t  bw_restart;

static void bw_start_worker_processes(bw_cycle_t *cycle, bw_int_t n,
    bw_int_t type);
static void bw_signal_worker_processes(bw_cycle_t *cycle, int signo);
static bw_uint_t bw_reap_children(bw_cycle_t *cycle);
static void bw_master_process_exit(bw_cycle_t *cycle);
static pid_t bw_spawn_worker(bw_cycle_t *cycle, bw_uint_t worker,
    bw_int_t respawn);
static void bw_collect_children(bw_cycle_t *cycle);

void
bw_master_process_cycle(bw_cycle_t *cycle)
{
    sigset_t          set;
    bw_uint_t         live;
    bw_msec_t         delay;
    bw_cycle_t       *new_cycle;
    bw_core_conf_t   *ccf;
    struct itimerval  itv;

    /* signals are blocked since bw_init_signals(); sigsuspend() with an
     * empty mask is the one place they come in */
    sigemptyset(&set);

    ccf = (bw_core_conf_t *) bw_get_conf(cycle->conf_ctx, bw_core_module);

    bw_start_worker_processes(cycle, ccf->worker_processes,
                              BW_PROCESS_RESPAWN);

    delay = 0;
    live = 1;

    for ( ;; ) {
        if (delay) {
            if (bw_sigalrm) {
                bw_sigalrm = 0;
                delay *= 2;
            }
            itv.it_interval.tv_sec = 0;
            itv.it_interval.tv_usec = 0;
            itv.it_value.tv_sec = delay / 1000;
            itv.it_value.tv_usec = (delay % 1000) * 1000;
            (void) setitimer(ITIMER_REAL, &itv, NULL);
        }

        sigsuspend(&set);

        bw_time_update();

        if (bw_reap) {
            bw_reap = 0;
            bw_collect_children(cycle);
            live = bw_reap_children(cycle);
        }

        if (!live && (bw_terminate || bw_quit)) {
            bw_master_process_exit(cycle);
        }

        if (bw_terminate) {
            if (delay == 0) {
                delay = 50;
            }
            if (delay > 1000) {
                bw_signal_worker_processes(cycle, SIGKILL);
            } else {
                bw_signal_worker_processes(cycle, SIGTERM);
            }
            continue;
        }

        if (bw_quit) {
            bw_signal_worker_processes(cycle, SIGQUIT);
            bw_close_listening_sockets(cycle);
            continue;
        }

        if (bw_reconfigure) {
            bw_reconfigure = 0;

            if (bw_new_binary) {
                /* rollback of an upgrade: workers of this configuration */
                bw_log_error(BW_LOG_NOTICE, cycle->log, 0,
                             "start worker processes");
                bw_start_worker_processes(cycle, ccf->worker_processes,
                                          BW_PROCESS_RESPAWN);
                bw_noaccepting = 0;
                live = 1;
                continue;
            }

            bw_log_error(BW_LOG_NOTICE, cycle->log, 0, "reconfiguring");

            new_cycle = bw_init_cycle(cycle);
            if (new_cycle == NULL) {
                bw_log_error(BW_LOG_ERR, cycle->log, 0,
                             "configuration reload failed, "
                             "keeping the running configuration");
                continue;
            }

            bw_destroy_cycle(cycle);
            cycle = new_cycle;
            bw_cycle = cycle;
            ccf = (bw_core_conf_t *) bw_get_conf(cycle->conf_ctx,
                                                 bw_core_module);

            bw_start_worker_processes(cycle, ccf->worker_processes,
                                      BW_PROCESS_JUST_RESPAWN);
            live = 1;
            bw_signal_worker_processes(cycle, SIGQUIT);
        }

        if (bw_restart) {
            bw_restart = 0;
            bw_start_worker_processes(cycle, ccf->worker_processes,
                                      BW_PROCESS_RESPAWN);
            live = 1;
        }

        if (bw_reopen) {
            bw_reopen = 0;
            bw_log_error(BW_LOG_NOTICE, cycle->log, 0, "reopening logs");
            bw_reopen_files(cycle, ccf->user);
            bw_signal_worker_processes(cycle, SIGUSR1);
        }

        if (bw_change_binary) {
            bw_change_binary = 0;
            bw_log_error(BW_LOG_NOTICE, cycle->log, 0, "changing binary");
            bw_new_binary = bw_exec_new_binary(cycle);
        }

        if (bw_noaccept) {
            bw_noaccept = 0;
            bw_noaccepting = 1;
            bw_signal_worker_processes(cycle, SIGQUIT);
        }
    }
}

static void
bw_start_worker_processes(bw_cycle_t *cycle, bw_int_t n, bw_int_t type)
{
    bw_int_t  i;

    for (i = 0; i < n; i++) {
        (void) bw_spawn_worker(cycle, (bw_uint_t) i, type);
    }
}

static bw_int_t
bw_free_slot(void)
{
    bw_int_t  s;

    for (s = 0; s < bw_last_process; s++) {
        if (bw_processes[s].pid == -1) {
            return s;
        }
    }

    if (bw_last_process == BW_MAX_PROCESSES) {
        return BW_ERROR;
    }
    return bw_last_process++;
}

static pid_t
bw_spawn_worker(bw_cycle_t *cycle, bw_uint_t worker, bw_int_t respawn)
{
    int        sv[2];
    pid_t      pid;
    bw_int_t   s, i;

    s = bw_free_slot();
    if (s == BW_ERROR) {
        bw_log_error(BW_LOG_ALERT, cycle->log, 0,
                     "no more than %d processes can be spawned",
                     BW_MAX_PROCESSES);
        return -1;
    }

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
        bw_log_error(BW_LOG_ALERT, cycle->log, errno,
                     "socketpair() failed while spawning a worker");
        return -1;
    }
    (void) fcntl(sv[0], F_SETFL, O_NONBLOCK);
    (void) fcntl(sv[1], F_SETFL, O_NONBLOCK);

    pid = fork();

    switch (pid) {
    case -1:
        bw_log_error(BW_LOG_ALERT, cycle->log, errno, "fork() failed");
        close(sv[0]);
        close(sv[1]);
        return -1;

    case 0:
        bw_parent = bw_pid;
        bw_pid = getpid();
        close(sv[0]);
        /* the channel must see EOF when the master dies: drop every
         * master end inherited from earlier spawns */
        for (i = 0; i < bw_last_process; i++) {
            if (bw_processes[i].pid != -1 && bw_processes[i].channel != -1) {
                close(bw_processes[i].channel);
            }
        }
        bw_worker_process_cycle(cycle, worker, sv[1]);
        exit(0);
    }

    close(sv[1]);

    bw_processes[s].pid = pid;
    bw_processes[s].status = 0;
    bw_processes[s].channel = sv[0];
    bw_processes[s].worker = worker;
    bw_processes[s].exited = 0;
    bw_processes[s].exiting = 0;
    bw_processes[s].detached = 0;
    bw_processes[s].respawn = (respawn == BW_PROCESS_RESPAWN
                               || respawn == BW_PROCESS_JUST_RESPAWN);
    bw_processes[s].just_spawn = (respawn == BW_PROCESS_JUST_RESPAWN);

    bw_log_error(BW_LOG_NOTICE, cycle->log, 0, "start worker process %d",
                 (int) pid);

    return pid;
}

static void
bw_signal_worker_processes(bw_cycle_t *cycle, int signo)
{
    bw_int_t  i;
    u_char    cmd;

    switch (signo) {
    case SIGQUIT: cmd = BW_CMD_QUIT; break;
    case SIGTERM: cmd = BW_CMD_TERMINATE; break;
    case SIGUSR1: cmd = BW_CMD_REOPEN; break;
    default:      cmd = 0;
    }

    for (i = 0; i < bw_last_process; i++) {
        if (bw_processes[i].detached || bw_processes[i].pid == -1) {
            continue;
        }

        if (bw_processes[i].just_spawn) {
            bw_processes[i].just_spawn = 0;
            continue;
        }

        if (bw_processes[i].exiting && signo == SIGQUIT) {
            continue;
        }

        if (cmd && bw_processes[i].channel != -1
            && write(bw_processes[i].channel, &cmd, 1) == 1)
        {
            if (signo == SIGQUIT || signo == SIGTERM) {
                bw_processes[i].exiting = 1;
            }
            continue;
        }

        /* the channel is gone or full: fall back to a signal */
        if (kill(bw_processes[i].pid, signo) == -1) {
            if (errno == ESRCH) {
                bw_processes[i].exited = 1;
                bw_processes[i].exiting = 0;
                bw_reap = 1;
            }
            continue;
        }

        if (signo != SIGUSR1) {
            bw_processes[i].exiting = 1;
        }
    }
}

static void
bw_collect_children(bw_cycle_t *cycle)
{
    int        status;
    pid_t      pid;
    bw_int_t   i;

    for ( ;; ) {
        pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0) {
            return;
        }

        for (i = 0; i < bw_last_process; i++) {
            if (bw_processes[i].pid == pid) {
                bw_processes[i].status = status;
                bw_processes[i].exited = 1;
                if (WIFEXITED(status) && WEXITSTATUS(status) == 2
                    && bw_processes[i].respawn)
                {
                    /* a failure in setup repeats: respawning would spin */
                    bw_log_error(BW_LOG_ALERT, cycle->log, 0,
                                 "process %d exited with fatal code 2 "
                                 "and cannot be respawned", (int) pid);
                    bw_processes[i].respawn = 0;
                }
                break;
            }
        }

        if (WIFSIGNALED(status)) {
            bw_log_error(BW_LOG_ALERT, cycle->log, 0,
                         "%s %d exited on signal %d%s",
                         pid == bw_new_binary ? "new binary process"
                                              : "worker process",
                         (int) pid, WTERMSIG(status),
                         WCOREDUMP(status) ? " (core dumped)" : "");
        } else if (WEXITSTATUS(status) != 0) {
            bw_log_error(BW_LOG_ALERT, cycle->log, 0,
                         "process %d exited with fatal code %d",
                         (int) pid, WEXITSTATUS(status));
        } else {
            bw_log_error(BW_LOG_NOTICE, cycle->log, 0,
                         "process %d exited with code 0", (int) pid);
        }
    }
}

static bw_uint_t
bw_reap_children(bw_cycle_t *cycle)
{
    bw_int_t          i;
    bw_uint_t         live, worker;
    bw_core_conf_t   *ccf;

    ccf = (bw_core_conf_t *) bw_get_conf(cycle->conf_ctx, bw_core_module);
    live = 0;

    for (i = 0; i < bw_last_process; i++) {
        if (bw_processes[i].pid == -1) {
            continue;
        }

        if (!bw_processes[i].exited) {
            if (bw_processes[i].exiting || !bw_processes[i].detached) {
                live = 1;
            }
            continue;
        }

        if (bw_processes[i].channel != -1) {
            close(bw_processes[i].channel);
            bw_processes[i].channel = -1;
        }

        if (bw_processes[i].pid == bw_new_binary) {
            /* the upgrade failed or was rolled back: the pid file is ours */
            if (rename((char *) ccf->oldpid.data, (char *) ccf->pid.data)
                == -1)
            {
                bw_log_error(BW_LOG_ALERT, cycle->log, errno,
                             "rename() %s back to %s failed after the new "
                             "binary process %d exited",
                             ccf->oldpid.data, ccf->pid.data,
                             (int) bw_new_binary);
            }
            bw_new_binary = 0;
            if (bw_noaccepting) {
                bw_restart = 1;
                bw_noaccepting = 0;
            }
        }

        if (bw_processes[i].respawn && !bw_processes[i].exiting
            && !bw_terminate && !bw_quit)
        {
            worker = bw_processes[i].worker;
            bw_processes[i].pid = -1;
            if (worker < (bw_uint_t) ccf->worker_processes) {
                if (bw_spawn_worker(cycle, worker, BW_PROCESS_RESPAWN) == -1)
                {
                    bw_log_error(BW_LOG_ALERT, cycle->log, 0,
                                 "could not respawn worker process");
                    continue;
                }
                live = 1;
            }
            continue;
        }

        bw_processes[i].pid = -1;
    }

    return live;
}

static void
bw_master_process_exit(bw_cycle_t *cycle)
{
    bw_uint_t  i;

    bw_delete_pidfile(cycle);

    bw_log_error(BW_LOG_NOTICE, cycle->log, 0, "exit");

    for (i = 0; bw_modules[i]; i++) {
        if (bw_modules[i]->exit_master) {
            bw_modules[i]->exit_master(cycle);
        }
    }

    bw_close_listening_sockets(cycle);

    /* unix sockets are removed with the last master using them */
    if (!bw_new_binary) {
        bw_listening_t  *ls = cycle->listening.elts;
        for (i = 0; i < cycle->listening.nelts; i++) {
            if (ls[i].sockaddr->sa_family == AF_UNIX) {
                (void) unlink(((struct sockaddr_un *)
                               ls[i].sockaddr)->sun_path);
            }
        }
    }

    bw_destroy_cycle(cycle);
    exit(0);
}

/*
 * USR2: start the new binary with our listening sockets. The pid file
 * becomes .oldbin so the new master can write its own.
 */
pid_t
bw_exec_new_binary(bw_cycle_t *cycle)
{
    char             *env_sockets, **env;
    size_t            len, n;
    pid_t             pid;
    bw_uint_t         i;
    sigset_t          set;
    bw_listening_t   *ls;
    bw_core_conf_t   *ccf;
    u_char           *p;

    ccf = (bw_core_conf_t *) bw_get_conf(cycle->conf_ctx, bw_core_module);

    len = sizeof("BULWARK=") + cycle->listening.nelts * (BW_INT_T_LEN + 1);
    env_sockets = bw_pnalloc(cycle->pool, len);
    if (env_sockets == NULL) {
        return 0;
    }

    p = bw_cpymem(env_sockets, "BULWARK=", sizeof("BULWARK=") - 1);
    ls = cycle->listening.elts;
    for (i = 0; i < cycle->listening.nelts; i++) {
        if (ls[i].fd != -1) {
            p = bw_slprintf(p, (u_char *) env_sockets + len, "%d;", ls[i].fd);
        }
    }
    *p = '\0';

    for (n = 0; bw_os_environ[n]; n++) { /* void */ }
    env = bw_palloc(cycle->pool, (n + 2) * sizeof(char *));
    if (env == NULL) {
        return 0;
    }
    for (n = 0, i = 0; bw_os_environ[n]; n++) {
        if (strncmp(bw_os_environ[n], "BULWARK=", 8) != 0) {
            env[i++] = bw_os_environ[n];
        }
    }
    env[i++] = env_sockets;
    env[i] = NULL;

    if (rename((char *) ccf->pid.data, (char *) ccf->oldpid.data) == -1) {
        bw_log_error(BW_LOG_ALERT, cycle->log, errno,
                     "rename() %s to %s failed before executing new binary "
                     "process \"%s\"", ccf->pid.data, ccf->oldpid.data,
                     bw_argv[0]);
        return 0;
    }

    pid = fork();

    if (pid == 0) {
        for (i = 0; i < cycle->listening.nelts; i++) {
            if (ls[i].fd != -1) {
                (void) fcntl(ls[i].fd, F_SETFD, 0);
            }
        }
        sigemptyset(&set);
        (void) sigprocmask(SIG_SETMASK, &set, NULL);

        execve(bw_argv[0], bw_argv, env);

        bw_log_error(BW_LOG_ALERT, cycle->log, errno,
                     "execve() failed while executing new binary process "
                     "\"%s\"", bw_argv[0]);
        exit(1);
    }

    if (pid == -1) {
        bw_log_error(BW_LOG_ALERT, cycle->log, errno,
                     "fork() failed while executing new binary process");
        if (rename((char *) ccf->oldpid.data, (char *) ccf->pid.data) == -1) {
            bw_log_error(BW_LOG_ALERT, cycle->log, errno,
                         "rename() %s back to %s failed",
                         ccf->oldpid.data, ccf->pid.data);
        }
        return 0;
    }

    i = (bw_uint_t) bw_free_slot();
    if ((bw_int_t) i != BW_ERROR) {
        bw_processes[i].pid = pid;
        bw_processes[i].channel = -1;
        bw_processes[i].status = 0;
        bw_processes[i].detached = 1;
        bw_processes[i].respawn = 0;
        bw_processes[i].just_spawn = 0;
        bw_processes[i].exiting = 0;
        bw_processes[i].exited = 0;
    }

    bw_log_error(BW_LOG_NOTICE, cycle->log, 0,
                 "start new binary process %d", (int) pid);
    return pid;
}

bw_int_t
bw_daemon(bw_log_t *log)
{
    int  fd;

    switch (fork()) {
    case -1:
        bw_log_error(BW_LOG_EMERG, log, errno, "fork() failed");
        return BW_ERROR;
    case 0:
        break;
    default:
        exit(0);
    }

    bw_pid = getpid();

    if (setsid() == -1) {
        bw_log_error(BW_LOG_EMERG, log, errno, "setsid() failed");
        return BW_ERROR;
    }

    umask(0);

    fd = open("/dev/null", O_RDWR);
    if (fd == -1) {
        return BW_ERROR;
    }
    (void) dup2(fd, STDIN_FILENO);
    (void) dup2(fd, STDOUT_FILENO);
    if (fd > STDERR_FILENO) {
        close(fd);
    }

    return BW_OK;
}
