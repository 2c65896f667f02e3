/*
 * Outgoing connections (to upstream peers). A balancer fills in the
 * peer through get(); free() hears how the attempt went, so that it can
 * count failures, and may keep the connection for reuse.
 */

#ifndef BW_EVENT_CONNECT_H
#define BW_EVENT_CONNECT_H

#define BW_PEER_KEEPALIVE  1
#define BW_PEER_NEXT       2
#define BW_PEER_FAILED     4

typedef struct bw_peer_connection_s  bw_peer_connection_t;

/* BW_OK: connect to pc->sockaddr; BW_DONE: pc->connection is a cached
 * one; BW_BUSY: no peer can be used now. */
typedef bw_int_t (*bw_event_get_peer_pt)(bw_peer_connection_t *pc,
    void *data);
typedef void (*bw_event_free_peer_pt)(bw_peer_connection_t *pc, void *data,
    bw_uint_t state);

struct bw_peer_connection_s {
    bw_connection_t         *connection;

    struct sockaddr         *sockaddr;
    socklen_t                socklen;
    bw_str_t                *name;

    bw_uint_t                tries;
    bw_msec_t                start_time;

    bw_event_get_peer_pt     get;
    bw_event_free_peer_pt    free;
    void                    *data;

    bw_addr_t               *local;     /* proxy_bind */
    bw_log_t                *log;

    unsigned                 cached:1;
    unsigned                 private:1; /* never from or to a pool */
    unsigned                 so_keepalive:1;
};

/* BW_OK (connected), BW_AGAIN (in progress: wait for the write event),
 * BW_DECLINED (refused: try the next peer), BW_BUSY, BW_ERROR. */
bw_int_t bw_event_connect_peer(bw_peer_connection_t *pc);
void bw_close_peer_connection(bw_connection_t *c);
bw_int_t bw_event_get_peer(bw_peer_connection_t *pc, void *data);

#endif
