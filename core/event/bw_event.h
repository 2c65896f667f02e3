/*
 * Events: one read and one write event per connection, an epoll loop
 * (edge-triggered for connections, level-triggered for listeners),
 * timers in a red-black tree and queues of posted events.
 */

#ifndef BW_EVENT_H
#define BW_EVENT_H

#define BW_INVALID_INDEX  0xd0d0d0d0

struct bw_event_s {
    void                *data;

    unsigned             write:1;
    unsigned             accept:1;
    unsigned             instance:1;   /* detects stale epoll events */
    unsigned             active:1;
    unsigned             ready:1;
    unsigned             eof:1;
    unsigned             error:1;
    unsigned             timedout:1;
    unsigned             timer_set:1;
    unsigned             delayed:1;
    unsigned             closed:1;
    unsigned             posted:1;
    unsigned             pending_eof:1;
    unsigned             cancelable:1; /* a timer that may not delay exit */

    bw_event_handler_pt  handler;
    bw_log_t            *log;
    bw_rbtree_node_t     timer;
    bw_queue_t           queue;        /* posted */
};

typedef struct {
    bw_uint_t            connections;
    bw_flag_t            multi_accept;
    bw_flag_t            accept_mutex; /* accepted, has no effect: see docs */
} bw_event_conf_t;

extern bw_module_t   bw_events_module;
extern bw_module_t   bw_event_core_module;
extern bw_rbtree_t   bw_event_timer_rbtree;
extern bw_queue_t    bw_posted_events;
extern bw_queue_t    bw_posted_next_events;
extern bw_queue_t    bw_posted_flush_events;
extern bw_uint_t     bw_event_defer_sends;
extern bw_uint_t     bw_event_timer_count;

#define bw_event_get_conf(conf_ctx, module) \
    (*(void ***) (conf_ctx)[bw_events_module.index])[module.ctx_index]

/* timers */
bw_int_t bw_event_timer_init(void);
bw_msec_t bw_event_find_timer(void);
void bw_event_expire_timers(void);
bw_uint_t bw_event_no_timers_left(void);

static inline void
bw_event_del_timer(bw_event_t *ev)
{
    bw_rbtree_delete(&bw_event_timer_rbtree, &ev->timer);
    ev->timer_set = 0;
}

static inline void
bw_event_add_timer(bw_event_t *ev, bw_msec_t timer)
{
    bw_msec_t  key;

    key = bw_current_msec + timer;

    if (ev->timer_set) {
        /* Skip the re-insert when the deadline barely moved: keepalive
         * traffic re-arms the same timer on every read. */
        if ((bw_msec_int_t) (key - ev->timer.key) >= 0
            && key - ev->timer.key < 300)
        {
            return;
        }
        bw_event_del_timer(ev);
    }

    ev->timer.key = key;
    bw_rbtree_insert(&bw_event_timer_rbtree, &ev->timer);
    ev->timer_set = 1;
}

/* posted events */
#define bw_post_event(ev, q) \
    if (!(ev)->posted) { \
        (ev)->posted = 1; bw_queue_insert_tail(q, &(ev)->queue); }
#define bw_delete_posted_event(ev) \
    (ev)->posted = 0; bw_queue_remove(&(ev)->queue)

void bw_event_process_posted(void);
void bw_event_move_posted_next(void);

/* the loop */
bw_int_t bw_event_init_worker(bw_cycle_t *cycle);
void bw_event_exit_worker(bw_cycle_t *cycle);
bw_int_t bw_event_move_to_cycle(bw_cycle_t *old, bw_cycle_t *cycle);
void bw_process_events_and_timers(bw_cycle_t *cycle);
void bw_event_process(bw_cycle_t *cycle, bw_msec_t max);
bw_int_t bw_epoll_add_connection(bw_connection_t *c);
bw_int_t bw_epoll_add_listening(bw_listening_t *ls, bw_uint_t exclusive);
bw_int_t bw_epoll_del_listening(bw_listening_t *ls);
void bw_event_accept(bw_event_t *ev);
void bw_close_accepted(bw_connection_t *c);
void bw_event_close_accept(bw_cycle_t *cycle, bw_uint_t pause);
void bw_event_accept_room(void);
void bw_event_close_listening(bw_cycle_t *cycle);

#define BW_SSL_FAILED_PROTOCOL      0   /* no common protocol version */
#define BW_SSL_FAILED_CIPHER        1   /* no common cipher, group, sigalg */
#define BW_SSL_FAILED_TIMEOUT       2
#define BW_SSL_FAILED_PEER_CERT     3   /* the client refused our cert */
#define BW_SSL_FAILED_CLOSED        4   /* the client went away */
#define BW_SSL_FAILED_OTHER         5
#define BW_SSL_FAILED_N             6

/* why a client's certificate was refused (ssl_verify_client: the
 * handshake goes through, the request gets 495 or 496, as nginx) */
#define BW_SSL_VERIFY_NO_CERT       0
#define BW_SSL_VERIFY_EXPIRED       1
#define BW_SSL_VERIFY_REVOKED       2
#define BW_SSL_VERIFY_OTHER         3
#define BW_SSL_VERIFY_N             4

/*
 * Connection and request counters of all workers together (stub_status,
 * $connections_*), the master's reloads and worker restarts, and the
 * clients' TLS handshakes (the metrics), in memory the master maps once before the first
 * fork: a reload keeps them, a restart starts them at zero. Added to
 * with relaxed atomics, never locked.
 */
typedef struct {
    uint64_t            accepted;
    uint64_t            handled;
    uint64_t            active;
    uint64_t            requests;
    uint64_t            reading;
    uint64_t            writing;
    uint64_t            waiting;

    /* the master's: configurations loaded by a reload, workers that
     * exited unasked (each respawned, at once or after a delay, unless a
     * reload replaced it first) */
    uint64_t            reloads;
    uint64_t            worker_restarts;

    /* TLS handshakes of clients (not of upstreams) */
    uint64_t            ssl_handshakes;
    uint64_t            ssl_session_reuses;
    uint64_t            ssl_failed[BW_SSL_FAILED_N];
    uint64_t            ssl_verify_failures[BW_SSL_VERIFY_N];
} bw_stats_t;

/* the reasons, as the metrics name them */
extern const char  *bw_ssl_failed_names[];
extern const char  *bw_ssl_verify_names[];

extern bw_stats_t  *bw_stats;

#define bw_stat_add(field, n) \
    do { if (bw_stats) { \
        (void) __atomic_fetch_add(&bw_stats->field, (uint64_t) (n), \
                                  __ATOMIC_RELAXED); } } while (0)
#define bw_stat_get(field) \
    (bw_stats ? __atomic_load_n(&bw_stats->field, __ATOMIC_RELAXED) : 0)

bw_int_t bw_stats_init(bw_log_t *log);

/* A pool cleanup: the timer of an event that lives in the pool goes
 * before the pool's memory does. */
void bw_event_cleanup_timer(void *data);

#endif
