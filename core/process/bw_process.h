/* Processes: master, workers, signals, the master-worker channel. */

#ifndef BW_PROCESS_H
#define BW_PROCESS_H

#define BW_PROCESS_SINGLE     0
#define BW_PROCESS_MASTER     1
#define BW_PROCESS_SIGNALLER  2
#define BW_PROCESS_WORKER     3
#define BW_PROCESS_CACHE_MANAGER  4
#define BW_PROCESS_CACHE_LOADER   5

#define BW_MAX_PROCESSES      1024

#define BW_PROCESS_NORESPAWN     -1
#define BW_PROCESS_JUST_SPAWN    -2
#define BW_PROCESS_RESPAWN       -3
#define BW_PROCESS_JUST_RESPAWN  -4
#define BW_PROCESS_DETACHED      -5

/* channel commands, one byte each */
#define BW_CMD_QUIT       'Q'
#define BW_CMD_TERMINATE  'T'
#define BW_CMD_REOPEN     'R'
/* the other way, a worker to the master: a state file is behind */
#define BW_CMD_STATE      'S'

typedef struct {
    pid_t        pid;
    int          status;
    int          channel;       /* master's end */
    bw_uint_t    kind;          /* BW_PROCESS_WORKER, _CACHE_* */
    bw_uint_t    worker;        /* a worker's number */
    bw_msec_t    start;         /* when it was spawned */
    unsigned     respawn:1;
    unsigned     just_spawn:1;
    unsigned     detached:1;
    unsigned     exiting:1;
    unsigned     exited:1;
    unsigned     retire:1;      /* of a previous configuration: stops once
                                   its successor has settled */
} bw_process_t;

/*
 * A worker that dies within BW_WORKER_SETTLE of its start is respawned
 * after a delay that doubles from BW_RESPAWN_DELAY_MIN up to
 * BW_RESPAWN_DELAY_MAX; one that lived longer is respawned at once. After
 * a reload the old workers keep serving until their successors have
 * lived BW_WORKER_SETTLE.
 */
#define BW_WORKER_SETTLE        500
#define BW_RESPAWN_DELAY_MIN    100
#define BW_RESPAWN_DELAY_MAX    10000

extern bw_uint_t               bw_process;
extern pid_t                   bw_pid;
extern pid_t                   bw_new_binary;
extern pid_t                   bw_parent;
extern bw_uint_t               bw_inherited;
extern bw_uint_t               bw_daemonized;
extern bw_uint_t               bw_exiting;
extern char                  **bw_argv;
extern char                  **bw_os_environ;
extern bw_process_t            bw_processes[BW_MAX_PROCESSES];
extern bw_int_t                bw_last_process;

extern volatile sig_atomic_t   bw_reap;
extern volatile sig_atomic_t   bw_sigalrm;
extern volatile sig_atomic_t   bw_terminate;
extern volatile sig_atomic_t   bw_quit;
extern volatile sig_atomic_t   bw_reconfigure;
extern volatile sig_atomic_t   bw_reopen;
extern volatile sig_atomic_t   bw_change_binary;
extern volatile sig_atomic_t   bw_noaccept;
extern volatile sig_atomic_t   bw_sigio;

/* What the master runs when a worker says BW_CMD_STATE (the module
 * that keeps state files sets it): the master owns every file the
 * server writes for itself, so that two workers never race on one. */
extern void                  (*bw_state_writer)(bw_cycle_t *cycle);
/* Before a reload builds the next configuration (on 1) and when it has
 * failed (on 0): the running one's run-time state stops taking changes,
 * and what it has is written, so that the next one reads it. */
extern void                  (*bw_state_retire)(bw_cycle_t *cycle,
                                                bw_uint_t on);

bw_int_t bw_init_signals(bw_log_t *log);
int bw_signal_number(const char *name);
void bw_master_process_cycle(bw_cycle_t *cycle);
void bw_single_process_cycle(bw_cycle_t *cycle);
bw_cycle_t *bw_single_process_signals(bw_cycle_t *cycle);
void bw_worker_process_cycle(bw_cycle_t *cycle, bw_uint_t worker,
    int channel);
/* the cache manager or loader (cache_process.c) */
void bw_cache_process_cycle(bw_cycle_t *cycle, bw_uint_t kind, int channel);
/* a byte from the master's channel: sets the flag its signal would */
void bw_channel_command(u_char cmd);
/* A worker's state changed: ask the master to write it (in a single
 * process, write it now). */
void bw_process_state_changed(void);
/* "user": workers and the cache processes run as the user it names */
void bw_process_set_user(bw_cycle_t *cycle);
pid_t bw_exec_new_binary(bw_cycle_t *cycle);
bw_int_t bw_daemon(bw_log_t *log);

#endif
