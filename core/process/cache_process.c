/*
 * The cache manager and the cache loader: processes of the master
 * beside the workers, which run the cycle's managed work (bw_managed_t)
 * and serve no client. The manager calls each manager hook again when
 * the time it asked for has passed, for as long as it lives; the loader
 * calls the loader hooks until each says it is done, then exits. Both
 * hear the master on their channel (or by signal), as workers do, and
 * stop at once on QUIT or TERMINATE: their work is always in small
 * steps that leave the shared state whole.
 *
 * Never here: a client socket, or a wait longer than the next step.
 */

#include <bw_core.h>
#include <poll.h>

/* at most this long between looks at the channel and the flags */
#define BW_CACHE_PROCESS_MAX_WAIT  10000

static void bw_cache_process_channel(int fd);

void
bw_cache_process_cycle(bw_cycle_t *cycle, bw_uint_t kind, int channel)
{
    bw_uint_t        i, n, active;
    bw_msec_t        wait, next, *due;
    sigset_t         set;
    bw_managed_t    *m;
    bw_listening_t  *ls;
    struct pollfd    pfd;
    struct timespec  ts;

    bw_process = kind;
    bw_worker = 0;

    /* the master keeps the listeners: here they would only be copies
     * that hold the ports open */
    ls = cycle->listening.elts;
    for (i = 0; i < cycle->listening.nelts; i++) {
        if (ls[i].fd != -1) {
            close(ls[i].fd);
            ls[i].fd = -1;
        }
    }

    bw_process_set_user(cycle);

    m = cycle->managed.elts;
    n = cycle->managed.nelts;

    due = bw_pcalloc(cycle->pool, (n ? n : 1) * sizeof(bw_msec_t));
    if (due == NULL) {
        exit(2);
    }

    bw_log_error(BW_LOG_NOTICE, cycle->log, 0, "%s process started",
                 kind == BW_PROCESS_CACHE_MANAGER ? "cache manager"
                                                  : "cache loader");

    sigemptyset(&set);

    for ( ;; ) {
        bw_time_update();

        if (bw_quit || bw_terminate) {
            bw_log_error(BW_LOG_NOTICE, cycle->log, 0, "exiting");
            exit(0);
        }

        if (bw_reopen) {
            bw_reopen = 0;
            bw_reopen_files(cycle, (uid_t) -1);
        }

        bw_time_update();

        next = BW_CACHE_PROCESS_MAX_WAIT;
        active = 0;

        for (i = 0; i < n; i++) {
            if (due[i] == (bw_msec_t) -1) {
                continue;           /* a loader that is done */
            }

            if (kind == BW_PROCESS_CACHE_MANAGER ? m[i].manager == NULL
                                                 : m[i].loader == NULL)
            {
                due[i] = (bw_msec_t) -1;
                continue;
            }

            if (due[i] <= bw_current_msec) {
                wait = kind == BW_PROCESS_CACHE_MANAGER
                       ? m[i].manager(m[i].data) : m[i].loader(m[i].data);
                bw_time_update();

                if (wait == 0 && kind == BW_PROCESS_CACHE_LOADER) {
                    due[i] = (bw_msec_t) -1;
                    continue;
                }
                due[i] = bw_current_msec + wait;
            }

            active = 1;
            if (due[i] - bw_current_msec < next) {
                next = due[i] > bw_current_msec ? due[i] - bw_current_msec
                                                : 0;
            }
        }

        if (!active && kind == BW_PROCESS_CACHE_LOADER) {
            bw_log_error(BW_LOG_NOTICE, cycle->log, 0, "exiting");
            exit(0);
        }

        /* signals come in only here, as in the master's sigsuspend() */
        pfd.fd = channel;
        pfd.events = POLLIN;
        pfd.revents = 0;
        ts.tv_sec = next / 1000;
        ts.tv_nsec = (long) (next % 1000) * 1000000;

        if (ppoll(&pfd, channel == -1 ? 0 : 1, &ts, &set) > 0) {
            bw_cache_process_channel(channel);
        }
    }
}

static void
bw_cache_process_channel(int fd)
{
    u_char   cmd[16];
    ssize_t  n, i;

    n = read(fd, cmd, sizeof(cmd));

    if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
        return;
    }

    if (n <= 0) {
        /* the master is gone: so is the reason to keep the cache */
        bw_quit = 1;
        return;
    }

    for (i = 0; i < n; i++) {
        bw_channel_command(cmd[i]);
    }
}
