/*
 * Signal handlers only set flags; the master reads them after
 * sigsuspend() returns and the worker after each event-loop turn.
 */

#include <bw_core.h>

volatile sig_atomic_t  bw_reap;
volatile sig_atomic_t  bw_sigalrm;
volatile sig_atomic_t  bw_terminate;
volatile sig_atomic_t  bw_quit;
volatile sig_atomic_t  bw_reconfigure;
volatile sig_atomic_t  bw_reopen;
volatile sig_atomic_t  bw_change_binary;
volatile sig_atomic_t  bw_noaccept;
volatile sig_atomic_t  bw_sigio;

void                 (*bw_state_writer)(bw_cycle_t *cycle);
void                 (*bw_state_retire)(bw_cycle_t *cycle, bw_uint_t on);

typedef struct {
    int          signo;
    const char  *name;      /* for -s */
} bw_signal_t;

static const bw_signal_t  bw_signals[] = {
    { SIGHUP,  "reload" },
    { SIGUSR1, "reopen" },
    { SIGWINCH, NULL },
    { SIGTERM, "stop" },
    { SIGQUIT, "quit" },
    { SIGUSR2, NULL },
    { SIGALRM, NULL },
    { SIGINT,  NULL },
    { SIGIO,   NULL },
    { SIGCHLD, NULL },
    { 0, NULL }
};

static void
bw_signal_handler(int signo)
{
    int  err = errno;

    switch (bw_process) {

    case BW_PROCESS_MASTER:
    case BW_PROCESS_SINGLE:
        switch (signo) {
        case SIGQUIT:  bw_quit = 1; break;
        case SIGTERM:
        case SIGINT:   bw_terminate = 1; break;
        case SIGWINCH:
            if (bw_daemonized || bw_process == BW_PROCESS_MASTER) {
                bw_noaccept = 1;
            }
            break;
        case SIGHUP:   bw_reconfigure = 1; break;
        case SIGUSR1:  bw_reopen = 1; break;
        case SIGUSR2:
            /* no second upgrade while one is in progress */
            if (getppid() == bw_parent || bw_new_binary > 0) {
                break;
            }
            bw_change_binary = 1;
            break;
        case SIGALRM:  bw_sigalrm = 1; break;
        case SIGCHLD:  bw_reap = 1; break;
        case SIGIO:    bw_sigio = 1; break;
        }
        break;

    case BW_PROCESS_WORKER:
    case BW_PROCESS_CACHE_MANAGER:
    case BW_PROCESS_CACHE_LOADER:
        switch (signo) {
        case SIGQUIT:  bw_quit = 1; break;
        case SIGTERM:
        case SIGINT:   bw_terminate = 1; break;
        case SIGUSR1:  bw_reopen = 1; break;
        }
        break;
    }

    errno = err;
}

bw_int_t
bw_init_signals(bw_log_t *log)
{
    sigset_t            set;
    const bw_signal_t  *sig;
    struct sigaction    sa;

    for (sig = bw_signals; sig->signo; sig++) {
        bw_memzero(&sa, sizeof(sa));
        sa.sa_handler = bw_signal_handler;
        sigemptyset(&sa.sa_mask);
        if (sigaction(sig->signo, &sa, NULL) == -1) {
            bw_log_error(BW_LOG_EMERG, log, errno, "sigaction(%d) failed",
                         sig->signo);
            return BW_ERROR;
        }
    }

    bw_memzero(&sa, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    (void) sigaction(SIGPIPE, &sa, NULL);
    (void) sigaction(SIGSYS, &sa, NULL);

    /*
     * From here on the handled signals are let in only where a process
     * waits: sigsuspend() in the master, epoll_pwait() in a worker or a
     * single process (workers inherit the mask). A signal that comes
     * before the loop starts, such as a reload sent the moment the pid
     * file appears, stays pending; delivered earlier it would only set
     * a flag that nobody reads until the next signal wakes the master.
     */
    sigemptyset(&set);
    for (sig = bw_signals; sig->signo; sig++) {
        sigaddset(&set, sig->signo);
    }
    if (sigprocmask(SIG_BLOCK, &set, NULL) == -1) {
        bw_log_error(BW_LOG_EMERG, log, errno, "sigprocmask() failed");
        return BW_ERROR;
    }

    return BW_OK;
}

int
bw_signal_number(const char *name)
{
    const bw_signal_t  *sig;

    for (sig = bw_signals; sig->signo; sig++) {
        if (sig->name && strcmp(sig->name, name) == 0) {
            return sig->signo;
        }
    }
    return 0;
}
