/*
 * A cycle is one loaded configuration with everything that hangs off
 * it: module confs, listening sockets, open files, shared memory.
 */

#ifndef BW_CYCLE_H
#define BW_CYCLE_H

struct bw_cycle_s {
    void                **conf_ctx;
    bw_pool_t            *pool;
    bw_log_t             *log;
    bw_log_t              new_log;

    bw_array_t            listening;        /* bw_listening_t */
    bw_list_t             open_files;       /* bw_open_file_t */
    bw_list_t             shared_memory;    /* bw_shm_zone_t */
    bw_array_t            config_dump;      /* bw_conf_dump_t */
    bw_array_t            paths;            /* bw_path_t *, temp dirs */
    bw_array_t            managed;          /* bw_managed_t: the work of
                                               the cache processes */

    bw_uint_t             connection_n;
    bw_connection_t      *connections;
    bw_connection_t      *free_connections;
    bw_uint_t             free_connection_n;
    bw_event_t           *read_events;
    bw_event_t           *write_events;
    bw_queue_t            reusable_connections_queue;
    bw_uint_t             reusable_connections_n;

    bw_cycle_t           *old_cycle;

    bw_str_t              conf_file;
    bw_str_t              conf_param;
    bw_str_t              conf_prefix;
    bw_str_t              prefix;
    bw_str_t              error_log;
};

/*
 * Work that runs beside the workers, in processes of its own (the disk
 * cache's manager and loader): manager is called again after the
 * milliseconds it returns, for as long as the process lives; loader
 * is called until it returns 0, then the loader process exits. Either
 * may be NULL.
 */
typedef struct {
    bw_msec_t           (*manager)(void *data);
    bw_msec_t           (*loader)(void *data);
    void                 *data;
} bw_managed_t;

typedef struct {
    bw_flag_t             daemon;
    bw_flag_t             master;
    bw_int_t              worker_processes;
    bw_int_t              rlimit_nofile;
    off_t                 rlimit_core;
    bw_int_t              priority;
    bw_msec_t             shutdown_timeout;
    bw_uint_t             cpu_affinity_auto;
    bw_uint_t             cpu_affinity_n;
    uint64_t             *cpu_affinity;
    uid_t                 user;
    gid_t                 group;
    char                 *username;
    bw_str_t              pid;
    bw_str_t              oldpid;
} bw_core_conf_t;

extern bw_cycle_t           *bw_cycle;
extern bw_module_t           bw_core_module;
extern bw_uint_t             bw_test_config;
extern bw_uint_t             bw_dump_config;
extern bw_uint_t             bw_quiet_mode;
extern bw_uint_t             bw_test_no_files;
extern bw_int_t            (*bw_cycle_sandbox)(bw_cycle_t *cycle);

bw_cycle_t *bw_init_cycle(bw_cycle_t *old_cycle);
bw_int_t bw_create_pidfile(bw_str_t *name, bw_log_t *log);
void bw_delete_pidfile(bw_cycle_t *cycle);
bw_int_t bw_signal_process(bw_cycle_t *cycle, char *sig);
void bw_reopen_files(bw_cycle_t *cycle, uid_t user);
void bw_flush_open_files(bw_cycle_t *cycle, bw_log_t *log);
void bw_dump_cycle_config(bw_cycle_t *cycle);
bw_int_t bw_is_init_cycle(bw_cycle_t *cycle);
void bw_destroy_cycle(bw_cycle_t *cycle);
void bw_release_cycle(bw_cycle_t *cycle);
char *bw_log_set_log(bw_conf_t *cf, bw_log_t *log);
bw_int_t bw_log_target(bw_conf_t *cf, bw_str_t *name,
    struct bw_syslog_peer_s **peer);

#endif
