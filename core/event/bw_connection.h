/* Connections: the per-worker array, plain-socket I/O, idle reuse. */

#ifndef BW_CONNECTION_H
#define BW_CONNECTION_H

#define BW_CHAIN_ERROR  (bw_chain_t *) BW_ERROR

typedef ssize_t (*bw_recv_pt)(bw_connection_t *c, u_char *buf, size_t size);
typedef ssize_t (*bw_send_pt)(bw_connection_t *c, u_char *buf, size_t size);
typedef bw_chain_t *(*bw_send_chain_pt)(bw_connection_t *c, bw_chain_t *in,
    off_t limit);
/* read into the free room (last to end) of each buffer, in order */
/* limit: read at most this many bytes (0: as many as the buffers hold) */
typedef ssize_t (*bw_recv_chain_pt)(bw_connection_t *c, bw_chain_t *in,
    off_t limit);

#define BW_TCP_NODELAY_UNSET  0
#define BW_TCP_NODELAY_SET    1
#define BW_TCP_NODELAY_DISABLED 2

#define BW_TCP_NOPUSH_UNSET   0
#define BW_TCP_NOPUSH_SET     1
#define BW_TCP_NOPUSH_DISABLED 2

struct bw_connection_s {
    void               *data;
    bw_event_t         *read;
    bw_event_t         *write;
    int                 fd;

    bw_recv_pt          recv;
    bw_send_pt          send;
    bw_send_chain_pt    send_chain;
    bw_recv_chain_pt    recv_chain;

    bw_listening_t     *listening;
    bw_proxy_protocol_t *proxy_protocol;   /* what the balancer said */
    bw_ssl_connection_t *ssl;              /* TLS, once it is started */
    off_t               sent;
    bw_log_t           *log;
    bw_pool_t          *pool;
    int                 type;

    struct sockaddr    *sockaddr;
    socklen_t           socklen;
    bw_str_t            addr_text;
    struct sockaddr    *local_sockaddr;
    socklen_t           local_socklen;

    bw_buf_t           *buffer;
    bw_queue_t          queue;          /* reusable (idle) connections */
    bw_uint_t           number;
    bw_uint_t           requests;
    bw_msec_t           start_time;

    unsigned            buffered:8;
    unsigned            timedout:1;
    unsigned            error:1;
    unsigned            destroyed:1;
    unsigned            idle:1;
    unsigned            reusable:1;
    unsigned            stat_active:1;  /* counted in bw_stats->active */
    unsigned            close:1;
    unsigned            sendfile:1;
    unsigned            tcp_nodelay:2;
    unsigned            tcp_nopush:2;
    unsigned            more:1;     /* more follows at once: MSG_MORE */
    unsigned            corked:1;   /* sent with MSG_MORE, maybe held */
    unsigned            log_error:1;    /* a failed read, a reset too, is
                                           logged at error: a peer we
                                           chose (upstream), not a client */
};

extern bw_uint_t  bw_connection_counter;
extern bw_uint_t  bw_connection_active;   /* non-idle, for graceful exit */

bw_connection_t *bw_get_connection(int fd, bw_log_t *log);
void bw_free_connection(bw_connection_t *c);
void bw_close_connection(bw_connection_t *c);
void bw_reusable_connection(bw_connection_t *c, bw_uint_t reusable);
void bw_close_idle_connections(bw_cycle_t *cycle);
void bw_drain_connections(void);
bw_int_t bw_tcp_nodelay(bw_connection_t *c);
bw_int_t bw_tcp_nopush(bw_connection_t *c);
bw_int_t bw_tcp_push(bw_connection_t *c);
bw_int_t bw_tcp_push_more(bw_connection_t *c);

ssize_t bw_unix_recv(bw_connection_t *c, u_char *buf, size_t size);
ssize_t bw_readv_chain(bw_connection_t *c, bw_chain_t *in, off_t limit);
ssize_t bw_unix_send(bw_connection_t *c, u_char *buf, size_t size);
bw_chain_t *bw_linux_send_chain(bw_connection_t *c, bw_chain_t *in,
    off_t limit);

/* a connection accepted this long ago may still wait for its request's
 * first bytes: not drained before (connection.c, accept.c) */
#define BW_DRAIN_GRACE  200     /* ms */

#endif
