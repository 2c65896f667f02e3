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

/* the respawn backoff of each worker number */
typedef struct {
    bw_msec_t     delay;        /* in force since the last early death */
    bw_msec_t     due;          /* a respawn waits until then; 0: none */
} bw_respawn_t;

static bw_respawn_t  bw_respawns[BW_MAX_PROCESSES];

static void bw_start_worker_processes(bw_cycle_t *cycle, bw_int_t n,
    bw_int_t type);
static void bw_signal_worker_processes(bw_cycle_t *cycle, int signo);
static bw_uint_t bw_reap_children(bw_cycle_t *cycle);
static void bw_master_process_exit(bw_cycle_t *cycle);
static pid_t bw_spawn_worker(bw_cycle_t *cycle, bw_uint_t worker,
    bw_int_t respawn);
static pid_t bw_spawn_process(bw_cycle_t *cycle, bw_uint_t kind,
    bw_uint_t worker, bw_int_t respawn);
static void bw_start_cache_processes(bw_cycle_t *cycle);
static const char *bw_process_kind_name(bw_uint_t kind);
static void bw_reap_cache_process(bw_cycle_t *cycle, bw_process_t *p);
static void bw_collect_children(bw_cycle_t *cycle);
static void bw_read_channels(bw_cycle_t *cycle);
static void bw_signal_child(bw_int_t i, int signo, u_char cmd);
static bw_uint_t bw_respawn_later(bw_cycle_t *cycle, bw_process_t *p);
static bw_uint_t bw_respawn_due(bw_cycle_t *cycle);
static void bw_retire_settled(bw_cycle_t *cycle);
static void bw_retire_previous(void);
static void bw_cancel_respawns(void);
static void bw_master_alarm(void);

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
    bw_start_cache_processes(cycle);

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

        } else if (!bw_terminate && !bw_quit) {
            bw_master_alarm();
        }

        sigsuspend(&set);

        bw_time_update();

        if (bw_sigio) {
            bw_sigio = 0;
            bw_read_channels(cycle);
        }

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
                /* an alarm set for a respawn must not shorten the wait */
                bw_sigalrm = 0;
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
                bw_start_cache_processes(cycle);
                bw_noaccepting = 0;
                live = 1;
                continue;
            }

            bw_log_error(BW_LOG_NOTICE, cycle->log, 0, "reconfiguring");

            if (bw_state_retire) {
                bw_state_retire(cycle, 1);
            }

            new_cycle = bw_init_cycle(cycle);
            if (new_cycle == NULL) {
                if (bw_state_retire) {
                    bw_state_retire(cycle, 0);
                }
                bw_log_error(BW_LOG_ERR, cycle->log, 0,
                             "configuration reload failed, "
                             "keeping the running configuration");
                continue;
            }

            bw_destroy_cycle(cycle);
            cycle = new_cycle;
            bw_cycle = cycle;
            bw_stat_add(reloads, 1);
            ccf = (bw_core_conf_t *) bw_get_conf(cycle->conf_ctx,
                                                 bw_core_module);

            /* the running workers stop only once their successors have
             * settled: workers that die at start leave them serving */
            bw_retire_previous();
            bw_cancel_respawns();
            bw_start_worker_processes(cycle, ccf->worker_processes,
                                      BW_PROCESS_RESPAWN);
            bw_start_cache_processes(cycle);
            live = 1;
        }

        if (bw_restart) {
            bw_restart = 0;
            bw_start_worker_processes(cycle, ccf->worker_processes,
                                      BW_PROCESS_RESPAWN);
            bw_start_cache_processes(cycle);
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
            bw_cancel_respawns();
            bw_signal_worker_processes(cycle, SIGQUIT);
        }

        if (!bw_noaccepting && bw_respawn_due(cycle)) {
            live = 1;
        }
        bw_retire_settled(cycle);
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

/*
 * The cache manager, if some work needs one, and the cache loader, if
 * some work needs loading (a loader with nothing to do, its zones kept
 * from before a reload, exits at once).
 */
static void
bw_start_cache_processes(bw_cycle_t *cycle)
{
    bw_uint_t      i, manager, loader;
    bw_managed_t  *m;

    manager = 0;
    loader = 0;
    m = cycle->managed.elts;

    for (i = 0; i < cycle->managed.nelts; i++) {
        manager |= (m[i].manager != NULL);
        loader |= (m[i].loader != NULL);
    }

    if (manager) {
        (void) bw_spawn_process(cycle, BW_PROCESS_CACHE_MANAGER,
                                (bw_uint_t) -1, BW_PROCESS_RESPAWN);
    }
    if (loader) {
        (void) bw_spawn_process(cycle, BW_PROCESS_CACHE_LOADER,
                                (bw_uint_t) -1, BW_PROCESS_RESPAWN);
    }
}

static pid_t
bw_spawn_worker(bw_cycle_t *cycle, bw_uint_t worker, bw_int_t respawn)
{
    return bw_spawn_process(cycle, BW_PROCESS_WORKER, worker, respawn);
}

static const char *
bw_process_kind_name(bw_uint_t kind)
{
    switch (kind) {
    case BW_PROCESS_CACHE_MANAGER: return "cache manager process";
    case BW_PROCESS_CACHE_LOADER:  return "cache loader process";
    }
    return "worker process";
}

static pid_t
bw_spawn_process(bw_cycle_t *cycle, bw_uint_t kind, bw_uint_t worker,
    bw_int_t respawn)
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
        if (kind == BW_PROCESS_WORKER) {
            bw_worker_process_cycle(cycle, worker, sv[1]);
        } else {
            bw_cache_process_cycle(cycle, kind, sv[1]);
        }
        exit(0);
    }

    close(sv[1]);

    /* a worker's byte (BW_CMD_STATE) wakes the master from sigsuspend */
    (void) fcntl(sv[0], F_SETOWN, getpid());
    (void) fcntl(sv[0], F_SETFL, O_NONBLOCK | O_ASYNC);

    bw_processes[s].pid = pid;
    bw_processes[s].status = 0;
    bw_processes[s].channel = sv[0];
    bw_processes[s].kind = kind;
    bw_processes[s].worker = worker;
    bw_processes[s].start = bw_current_msec;
    bw_processes[s].retire = 0;
    bw_processes[s].exited = 0;
    bw_processes[s].exiting = 0;
    bw_processes[s].detached = 0;
    bw_processes[s].respawn = (respawn == BW_PROCESS_RESPAWN
                               || respawn == BW_PROCESS_JUST_RESPAWN);
    bw_processes[s].just_spawn = (respawn == BW_PROCESS_JUST_RESPAWN);

    bw_log_error(BW_LOG_NOTICE, cycle->log, 0, "start %s %d",
                 bw_process_kind_name(kind), (int) pid);

    return pid;
}

/* What workers said: each asks for the state files to be written; the
 * writer writes every one that is behind, so one run answers all. */
static void
bw_read_channels(bw_cycle_t *cycle)
{
    u_char     buf[64];
    ssize_t    n, k;
    bw_int_t   i;
    bw_uint_t  state;

    state = 0;

    for (i = 0; i < bw_last_process; i++) {
        if (bw_processes[i].pid == -1 || bw_processes[i].channel == -1) {
            continue;
        }
        for ( ;; ) {
            n = read(bw_processes[i].channel, buf, sizeof(buf));
            if (n <= 0) {
                /* EAGAIN, or EOF of a process that is ending: the
                 * reaping closes its channel */
                break;
            }
            for (k = 0; k < n; k++) {
                state |= (buf[k] == BW_CMD_STATE);
            }
        }
    }

    if (state && bw_state_writer) {
        bw_state_writer(cycle);
    }
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

        bw_signal_child(i, signo, cmd);
    }
}

static void
bw_signal_child(bw_int_t i, int signo, u_char cmd)
{
    if (cmd && bw_processes[i].channel != -1
        && write(bw_processes[i].channel, &cmd, 1) == 1)
    {
        if (signo == SIGQUIT || signo == SIGTERM) {
            bw_processes[i].exiting = 1;
        }
        return;
    }

    /* the channel is gone or full: fall back to a signal */
    if (kill(bw_processes[i].pid, signo) == -1) {
        if (errno == ESRCH) {
            bw_processes[i].exited = 1;
            bw_processes[i].exiting = 0;
            bw_reap = 1;
        }
        return;
    }

    if (signo != SIGUSR1) {
        bw_processes[i].exiting = 1;
    }
}

/*
 * A worker that died young is respawned after a delay, doubled at each
 * early death in a row: a worker that cannot start (a bad module state,
 * a resource that is missing) must not turn the master into a fork loop
 * that fills the log. The delay is logged when it changes.
 */
static bw_uint_t
bw_respawn_later(bw_cycle_t *cycle, bw_process_t *p)
{
    bw_msec_t      lived;
    bw_respawn_t  *r;

    r = &bw_respawns[p->worker];
    lived = bw_current_msec - p->start;

    if (lived >= BW_WORKER_SETTLE) {
        r->delay = 0;
        return 0;
    }

    if (r->delay < BW_RESPAWN_DELAY_MAX) {
        r->delay = r->delay ? bw_min(r->delay * 2, BW_RESPAWN_DELAY_MAX)
                            : BW_RESPAWN_DELAY_MIN;
        bw_log_error(BW_LOG_ALERT, cycle->log, 0,
                     "worker process %d exited %lu ms after its start, "
                     "respawning in %lu ms", (int) p->pid,
                     (unsigned long) lived, (unsigned long) r->delay);
    }

    r->due = bw_current_msec + r->delay;
    return 1;
}

static bw_uint_t
bw_respawn_due(bw_cycle_t *cycle)
{
    bw_uint_t        w, live;
    bw_core_conf_t  *ccf;

    ccf = (bw_core_conf_t *) bw_get_conf(cycle->conf_ctx, bw_core_module);
    live = 0;

    for (w = 0; w < (bw_uint_t) ccf->worker_processes; w++) {
        if (bw_respawns[w].due == 0 || bw_respawns[w].due > bw_current_msec
            || bw_terminate || bw_quit)
        {
            continue;
        }
        bw_respawns[w].due = 0;
        if (bw_spawn_worker(cycle, w, BW_PROCESS_RESPAWN) == -1) {
            bw_log_error(BW_LOG_ALERT, cycle->log, 0,
                         "could not respawn worker process");
            continue;
        }
        live = 1;
    }

    return live;
}

/* The running worker of number w that has lived long enough, if any. */
static bw_process_t *
bw_settled_worker(bw_uint_t w, bw_msec_t *settles)
{
    bw_int_t       i;
    bw_process_t  *p;

    for (i = 0; i < bw_last_process; i++) {
        p = &bw_processes[i];
        if (p->pid == -1 || p->retire || p->detached || p->exiting
            || p->exited || !p->respawn || p->worker != w)
        {
            continue;
        }
        if (bw_current_msec - p->start >= BW_WORKER_SETTLE) {
            return p;
        }
        if (settles) {
            *settles = p->start + BW_WORKER_SETTLE;
        }
    }

    return NULL;
}

static void
bw_retire_previous(void)
{
    bw_int_t  i;

    for (i = 0; i < bw_last_process; i++) {
        if (bw_processes[i].pid != -1 && !bw_processes[i].detached
            && !bw_processes[i].exiting && !bw_processes[i].exited)
        {
            bw_processes[i].retire = 1;
            bw_processes[i].respawn = 0;
        }
    }
}

static void
bw_retire_settled(bw_cycle_t *cycle)
{
    bw_int_t         i;
    bw_process_t    *p;
    bw_core_conf_t  *ccf;

    ccf = (bw_core_conf_t *) bw_get_conf(cycle->conf_ctx, bw_core_module);

    for (i = 0; i < bw_last_process; i++) {
        p = &bw_processes[i];
        if (p->pid == -1 || !p->retire || p->exiting || p->exited) {
            continue;
        }
        if (p->worker < (bw_uint_t) ccf->worker_processes
            && bw_settled_worker(p->worker, NULL) == NULL)
        {
            continue;
        }
        p->retire = 0;
        bw_signal_child(i, SIGQUIT, BW_CMD_QUIT);
    }
}

static void
bw_cancel_respawns(void)
{
    bw_uint_t  w;

    for (w = 0; w < BW_MAX_PROCESSES; w++) {
        bw_respawns[w].delay = 0;
        bw_respawns[w].due = 0;
    }
}

/* Wake up for the first respawn that waits or worker that settles. */
static void
bw_master_alarm(void)
{
    bw_int_t          i;
    bw_uint_t         w;
    bw_msec_t         next, t;
    struct itimerval  itv;

    next = 0;

    for (w = 0; w < BW_MAX_PROCESSES; w++) {
        t = bw_respawns[w].due;
        if (t && (next == 0 || t < next)) {
            next = t;
        }
    }

    for (i = 0; i < bw_last_process; i++) {
        if (bw_processes[i].pid == -1 || !bw_processes[i].retire
            || bw_processes[i].exiting || bw_processes[i].exited)
        {
            continue;
        }
        t = 0;
        if (bw_settled_worker(bw_processes[i].worker, &t) == NULL && t
            && (next == 0 || t < next))
        {
            next = t;
        }
    }

    itv.it_interval.tv_sec = 0;
    itv.it_interval.tv_usec = 0;
    itv.it_value.tv_sec = 0;
    itv.it_value.tv_usec = 0;

    if (next) {
        t = next > bw_current_msec ? next - bw_current_msec : 1;
        itv.it_value.tv_sec = t / 1000;
        itv.it_value.tv_usec = (t % 1000) * 1000;
    }

    (void) setitimer(ITIMER_REAL, &itv, NULL);
}

static void
bw_collect_children(bw_cycle_t *cycle)
{
    int          status;
    pid_t        pid;
    bw_int_t     i;
    const char  *what;

    for ( ;; ) {
        pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0) {
            return;
        }

        what = pid == bw_new_binary ? "new binary process" : "worker process";

        for (i = 0; i < bw_last_process; i++) {
            if (bw_processes[i].pid == pid) {
                if (pid != bw_new_binary) {
                    what = bw_process_kind_name(bw_processes[i].kind);
                }
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
                         "%s %d exited on signal %d%s", what, (int) pid, WTERMSIG(status),
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

/*
 * A cache process that died is started again at once, unless it died
 * young (it would die again: the log says so, and the cache goes on
 * without it until the next reload) or it was a loader that finished.
 */
static void
bw_reap_cache_process(bw_cycle_t *cycle, bw_process_t *p)
{
    bw_uint_t  kind;

    kind = p->kind;
    p->pid = -1;

    if (!p->respawn || p->exiting || bw_terminate || bw_quit
        || (WIFEXITED(p->status) && WEXITSTATUS(p->status) == 0))
    {
        return;
    }

    if (bw_current_msec - p->start < BW_WORKER_SETTLE) {
        bw_log_error(BW_LOG_ALERT, cycle->log, 0,
                     "%s exited %lu ms after its start, not respawned",
                     bw_process_kind_name(kind),
                     (unsigned long) (bw_current_msec - p->start));
        return;
    }

    (void) bw_spawn_process(cycle, kind, (bw_uint_t) -1, BW_PROCESS_RESPAWN);
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

        if (bw_processes[i].kind != BW_PROCESS_WORKER) {
            bw_reap_cache_process(cycle, &bw_processes[i]);
            if (bw_processes[i].pid != -1) {
                live = 1;
            }
            continue;
        }

        if (bw_processes[i].respawn && !bw_processes[i].exiting
            && !bw_terminate && !bw_quit)
        {
            bw_stat_add(worker_restarts, 1);
            worker = bw_processes[i].worker;
            if (worker < (bw_uint_t) ccf->worker_processes
                && bw_respawn_later(cycle, &bw_processes[i]))
            {
                bw_processes[i].pid = -1;
                continue;
            }
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
        bw_processes[i].kind = BW_PROCESS_WORKER;
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
