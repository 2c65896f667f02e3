/*
 * A worker: drops privileges, sets up its event loop over the listening
 * sockets that are its own, and serves until told to stop. A graceful
 * stop closes the listeners (the master keeps its copies, so nothing
 * queued is lost) and lets busy connections finish. Idle keep-alive
 * connections are kept for BW_KEEPALIVE_GRACE: a request that comes on
 * one is answered with "Connection: close"; those still idle at its end
 * are closed. Closing them at once would cross the next request of a
 * client that sends it at that moment, and lose it.
 */

#include <bw_core.h>

static void bw_worker_init(bw_cycle_t *cycle, bw_uint_t worker);
static void bw_worker_exit(bw_cycle_t *cycle);
static void bw_channel_handler(bw_event_t *ev);
static void bw_shutdown_timer_handler(bw_event_t *ev);
static void bw_grace_timer_handler(bw_event_t *ev);
static bw_uint_t bw_worker_busy(bw_cycle_t *cycle);

#define BW_KEEPALIVE_GRACE  2000

static bw_connection_t  *bw_channel_conn;
static bw_event_t        bw_shutdown_event;
static bw_event_t        bw_grace_event;
static bw_uint_t         bw_grace;      /* idle connections are kept */

void
bw_worker_process_cycle(bw_cycle_t *cycle, bw_uint_t worker, int channel)
{
    bw_core_conf_t  *ccf;

    if (channel != -1) {
        bw_process = BW_PROCESS_WORKER;
    }
    bw_worker = worker;

    bw_worker_init(cycle, worker);

    ccf = (bw_core_conf_t *) bw_get_conf(cycle->conf_ctx, bw_core_module);

    if (channel != -1) {
        bw_channel_conn = bw_get_connection(channel, cycle->log);
        if (bw_channel_conn == NULL) {
            exit(2);
        }
        bw_channel_conn->read->handler = bw_channel_handler;
        bw_channel_conn->read->log = cycle->log;
        bw_channel_conn->write->log = cycle->log;
        bw_channel_conn->log = cycle->log;
        if (bw_epoll_add_connection(bw_channel_conn) != BW_OK) {
            exit(2);
        }
        bw_channel_conn->idle = 0;
    }

    for ( ;; ) {

        if (bw_exiting && !bw_worker_busy(cycle)) {
            bw_worker_exit(cycle);
        }

        bw_process_events_and_timers(cycle);

        if (bw_terminate) {
            bw_log_error(BW_LOG_NOTICE, cycle->log, 0, "exiting");
            bw_worker_exit(cycle);
        }

        if (bw_quit) {
            bw_quit = 0;

            if (!bw_exiting) {
                bw_log_error(BW_LOG_NOTICE, cycle->log, 0,
                             "gracefully shutting down");
                bw_exiting = 1;

                if (ccf->shutdown_timeout) {
                    bw_shutdown_event.handler = bw_shutdown_timer_handler;
                    bw_shutdown_event.data = cycle;
                    bw_shutdown_event.log = cycle->log;
                    bw_shutdown_event.cancelable = 1;
                    bw_event_add_timer(&bw_shutdown_event,
                                       ccf->shutdown_timeout);
                }

                bw_event_close_listening(cycle);

                /* a single process stops: nobody would take the next
                 * requests, the clients had better reconnect at once */
                if (bw_process == BW_PROCESS_SINGLE) {
                    bw_close_idle_connections(cycle);

                } else {
                    bw_grace = 1;
                    bw_grace_event.handler = bw_grace_timer_handler;
                    bw_grace_event.data = cycle;
                    bw_grace_event.log = cycle->log;
                    bw_grace_event.cancelable = 1;
                    bw_event_add_timer(&bw_grace_event,
                        ccf->shutdown_timeout
                        ? bw_min(ccf->shutdown_timeout, BW_KEEPALIVE_GRACE)
                        : BW_KEEPALIVE_GRACE);
                }
            }
        }

        if (bw_reopen) {
            bw_reopen = 0;
            bw_log_error(BW_LOG_NOTICE, cycle->log, 0, "reopening logs");
            bw_reopen_files(cycle, (uid_t) -1);
        }

        if (bw_process == BW_PROCESS_SINGLE) {
            cycle = bw_single_process_signals(cycle);
            ccf = (bw_core_conf_t *) bw_get_conf(cycle->conf_ctx,
                                                 bw_core_module);
        }
    }
}

static void
bw_worker_init(bw_cycle_t *cycle, bw_uint_t worker)
{
    bw_uint_t         i;
    struct rlimit     rlmt;
    bw_core_conf_t   *ccf;
    cpu_set_t         cpus;
    int               ncpu, cpu;

    ccf = (bw_core_conf_t *) bw_get_conf(cycle->conf_ctx, bw_core_module);

#if (BW_DEBUG)
    {
        /* the tests of the master's crash-loop handling need a worker
         * that dies at start, which no valid configuration gives */
        char  *crash = getenv("BULWARK_TEST_WORKER_CRASH");

        if (crash && access(crash, F_OK) == 0) {
            (void) raise(SIGKILL);
        }
    }
#endif

    if (ccf->rlimit_nofile != BW_CONF_UNSET) {
        rlmt.rlim_cur = (rlim_t) ccf->rlimit_nofile;
        rlmt.rlim_max = (rlim_t) ccf->rlimit_nofile;
        if (setrlimit(RLIMIT_NOFILE, &rlmt) == -1) {
            bw_log_error(BW_LOG_ALERT, cycle->log, errno,
                         "setrlimit(RLIMIT_NOFILE, %d) failed",
                         (int) ccf->rlimit_nofile);
        }
    }

    if (ccf->rlimit_core != BW_CONF_UNSET) {
        rlmt.rlim_cur = (rlim_t) ccf->rlimit_core;
        rlmt.rlim_max = (rlim_t) ccf->rlimit_core;
        if (setrlimit(RLIMIT_CORE, &rlmt) == -1) {
            bw_log_error(BW_LOG_ALERT, cycle->log, errno,
                         "setrlimit(RLIMIT_CORE, %lld) failed",
                         (long long) ccf->rlimit_core);
        }
    }

    if (ccf->priority != 0
        && setpriority(PRIO_PROCESS, 0, (int) ccf->priority) == -1)
    {
        bw_log_error(BW_LOG_ALERT, cycle->log, errno,
                     "setpriority(%d) failed", (int) ccf->priority);
    }

    bw_process_set_user(cycle);

    if (ccf->cpu_affinity_auto || ccf->cpu_affinity_n) {
        CPU_ZERO(&cpus);
        ncpu = (int) sysconf(_SC_NPROCESSORS_ONLN);
        if (ccf->cpu_affinity_auto) {
            cpu = (int) (worker % (bw_uint_t) (ncpu > 0 ? ncpu : 1));
            CPU_SET(cpu, &cpus);
        } else {
            uint64_t mask = ccf->cpu_affinity[bw_min(worker,
                                              ccf->cpu_affinity_n - 1)];
            for (cpu = 0; cpu < 64; cpu++) {
                if (mask & ((uint64_t) 1 << cpu)) {
                    CPU_SET(cpu, &cpus);
                }
            }
        }
        if (sched_setaffinity(0, sizeof(cpu_set_t), &cpus) == -1) {
            bw_log_error(BW_LOG_ALERT, cycle->log, errno,
                         "sched_setaffinity() failed");
        }
    }

    /*
     * Requests come and go in a steady churn of pool blocks and buffers;
     * with glibc's default (128 KiB) the free top of the heap is handed
     * back to the kernel and faulted in again a moment later, about once
     * per request under load: a sixth of the worker's time went to page
     * faults. Freed memory is kept up to 32 MiB above what is in use.
     */
    (void) mallopt(M_TRIM_THRESHOLD, 32 * 1024 * 1024);

    if (bw_event_init_worker(cycle) != BW_OK) {
        exit(2);
    }

    for (i = 0; bw_modules[i]; i++) {
        if (bw_modules[i]->init_worker
            && bw_modules[i]->init_worker(cycle) != BW_OK)
        {
            exit(2);
        }
    }
}

/* "user" is for worker processes (and the cache processes): a single
 * process (master_process off) keeps its own, as nginx, or it could not
 * read its files or remove its pid file */
void
bw_process_set_user(bw_cycle_t *cycle)
{
    bw_core_conf_t  *ccf;

    ccf = (bw_core_conf_t *) bw_get_conf(cycle->conf_ctx, bw_core_module);

    if (bw_process == BW_PROCESS_SINGLE || geteuid() != 0
        || ccf->user == (uid_t) BW_CONF_UNSET_UINT || ccf->user == 0)
    {
        return;
    }

    if (setgid(ccf->group) == -1) {
        bw_log_error(BW_LOG_EMERG, cycle->log, errno,
                     "setgid(%d) failed", (int) ccf->group);
        exit(2);
    }
    if (initgroups(ccf->username, ccf->group) == -1) {
        bw_log_error(BW_LOG_EMERG, cycle->log, errno,
                     "initgroups(%s, %d) failed", ccf->username,
                     (int) ccf->group);
    }
    if (setuid(ccf->user) == -1) {
        bw_log_error(BW_LOG_EMERG, cycle->log, errno,
                     "setuid(%d) failed", (int) ccf->user);
        exit(2);
    }
}

static void
bw_worker_exit(bw_cycle_t *cycle)
{
    bw_uint_t  i;

    for (i = 0; bw_modules[i]; i++) {
        if (bw_modules[i]->exit_worker) {
            bw_modules[i]->exit_worker(cycle);
        }
    }

    /* what the buffered access logs still hold, as nginx */
    bw_flush_open_files(cycle, cycle->log);

    if (bw_process == BW_PROCESS_SINGLE) {
        /* no master to do it, as nginx */
        bw_delete_pidfile(cycle);
    }

    bw_log_error(BW_LOG_NOTICE, cycle->log, 0, "exit");
    exit(0);
}

/* Any connection besides listeners and the channel keeps us alive. */
static bw_uint_t
bw_worker_busy(bw_cycle_t *cycle)
{
    bw_uint_t         i;
    bw_connection_t  *c;

    c = cycle->connections;
    for (i = 0; i < cycle->connection_n; i++) {
        if (c[i].fd == -1 || c[i].listening == NULL
            || &c[i] == bw_channel_conn)
        {
            continue;
        }
        if (c[i].read->accept) {
            continue;
        }
        if (c[i].idle && bw_grace) {
            return 1;
        }
        if (c[i].idle) {
            c[i].close = 1;
            c[i].read->handler(c[i].read);
            if (c[i].fd == -1) {
                continue;
            }
        }
        return 1;
    }

    return 0;
}

static void
bw_grace_timer_handler(bw_event_t *ev)
{
    bw_grace = 0;
    bw_close_idle_connections(ev->data);
}

static void
bw_shutdown_timer_handler(bw_event_t *ev)
{
    bw_uint_t         i;
    bw_cycle_t       *cycle = ev->data;
    bw_connection_t  *c;

    bw_log_error(BW_LOG_NOTICE, cycle->log, 0,
                 "worker_shutdown_timeout expired, closing connections");

    c = cycle->connections;
    for (i = 0; i < cycle->connection_n; i++) {
        if (c[i].fd == -1 || c[i].listening == NULL || c[i].read->accept) {
            continue;
        }
        c[i].close = 1;
        c[i].error = 1;
        c[i].read->handler(c[i].read);
    }
}

static void
bw_channel_handler(bw_event_t *ev)
{
    u_char            cmd[16];
    ssize_t           n, i;
    bw_connection_t  *c = ev->data;

    for ( ;; ) {
        n = read(c->fd, cmd, sizeof(cmd));

        if (n == -1) {
            if (errno == EAGAIN || errno == EINTR) {
                return;
            }
            n = 0;
        }

        if (n == 0) {
            /* the master is gone: finish what we have and leave */
            bw_log_error(BW_LOG_NOTICE, ev->log, 0,
                         "master process is gone, shutting down");
            bw_close_connection(c);
            bw_channel_conn = NULL;
            bw_quit = 1;
            return;
        }

        for (i = 0; i < n; i++) {
            bw_channel_command(cmd[i]);
        }
    }
}

void
bw_process_state_changed(void)
{
    u_char  cmd = BW_CMD_STATE;

    if (bw_channel_conn == NULL) {
        /* a single process, or the master is gone: write it here */
        if (bw_state_writer && bw_process == BW_PROCESS_SINGLE) {
            bw_state_writer(bw_cycle);
        }
        return;
    }

    /* one byte; a full channel means the master has bytes to read
     * already, and one write covers every change made before it */
    (void) write(bw_channel_conn->fd, &cmd, 1);
}

/* One byte from the master, as the signal it stands for. */
void
bw_channel_command(u_char cmd)
{
    switch (cmd) {
    case BW_CMD_QUIT:      bw_quit = 1; break;
    case BW_CMD_TERMINATE: bw_terminate = 1; break;
    case BW_CMD_REOPEN:    bw_reopen = 1; break;
    }
}
