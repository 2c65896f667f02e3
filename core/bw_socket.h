/* Listening sockets: created by the master, kept across reloads. */

#ifndef BW_SOCKET_H
#define BW_SOCKET_H

struct bw_listening_s {
    int                       fd;
    struct sockaddr          *sockaddr;
    socklen_t                 socklen;
    bw_str_t                  addr_text;
    int                       type;
    int                       backlog;
    int                       rcvbuf;
    int                       sndbuf;
    int                       keepalive;    /* 0 unset, 1 on, 2 off */
    int                       keepidle, keepintvl, keepcnt;

    bw_connection_handler_pt  handler;
    void                     *servers;      /* http: bw_http_port_t */
    bw_log_t                  log;
    bw_log_t                 *logp;         /* the error_log of the default
                                               server: level and file of
                                               log, once the files are set */
    size_t                    pool_size;

    bw_connection_t          *connection;   /* in a worker */
    bw_uint_t                 worker;       /* reuseport: whose socket */

    unsigned                  open:1;
    unsigned                  remain:1;     /* kept by the next cycle */
    unsigned                  inherited:1;  /* from the old binary */
    unsigned                  reuseport:1;
    unsigned                  ipv6only:1;
    unsigned                  deferred_accept:1;
    unsigned                  addr_ntop:1;
    unsigned                  wildcard:1;
};

extern bw_uint_t  bw_worker;   /* this worker's number, 0-based */

bw_listening_t *bw_create_listening(bw_cycle_t *cycle, struct sockaddr *sa,
    socklen_t socklen);
bw_int_t bw_clone_listening(bw_cycle_t *cycle, bw_uint_t workers);
bw_int_t bw_set_inherited_sockets(bw_cycle_t *cycle, const char *env);
bw_int_t bw_open_listening_sockets(bw_cycle_t *cycle);
bw_int_t bw_test_listening_sockets(bw_cycle_t *cycle);
void bw_configure_listening_sockets(bw_cycle_t *cycle);
void bw_close_listening_sockets(bw_cycle_t *cycle);

#endif
