/*
 * The events{} block, its directives, and the per-worker event loop on
 * epoll. Connections are registered once, edge-triggered, for both
 * directions (no epoll_ctl per request); listeners are level-triggered.
 */

#include <bw_core.h>

static char *bw_events_block(bw_conf_t *cf, bw_command_t *cmd, void *conf);
static char *bw_events_init_conf(bw_cycle_t *cycle, void *conf);
static void *bw_event_core_create_conf(bw_cycle_t *cycle);
static char *bw_event_core_init_conf(bw_cycle_t *cycle, void *conf);

typedef struct {
    bw_str_t   name;
    void    *(*create_conf)(bw_cycle_t *cycle);
    char    *(*init_conf)(bw_cycle_t *cycle, void *conf);
} bw_event_module_t;

static bw_command_t  bw_events_commands[] = {
    { bw_string("events"), BW_MAIN_CONF|BW_CONF_BLOCK|BW_CONF_NOARGS,
      bw_events_block, 0, 0, NULL },
    bw_null_command
};

static bw_core_module_t  bw_events_module_ctx = {
    bw_string("events"), NULL, bw_events_init_conf
};

bw_module_t  bw_events_module = {
    BW_MODULE_V1, BW_CORE_MODULE, &bw_events_module_ctx, bw_events_commands,
    NULL, NULL, NULL, NULL
};

static char *bw_event_use(bw_conf_t *cf, bw_command_t *cmd, void *conf);
static bw_int_t bw_event_add_listeners(bw_cycle_t *cycle);

static bw_command_t  bw_event_core_commands[] = {
    { bw_string("worker_connections"), BW_EVENT_CONF|BW_CONF_TAKE1,
      bw_conf_set_num_slot, 0, offsetof(bw_event_conf_t, connections),
      NULL },
    { bw_string("multi_accept"), BW_EVENT_CONF|BW_CONF_FLAG,
      bw_conf_set_flag_slot, 0, offsetof(bw_event_conf_t, multi_accept),
      NULL },
    { bw_string("accept_mutex"), BW_EVENT_CONF|BW_CONF_FLAG,
      bw_conf_set_flag_slot, 0, offsetof(bw_event_conf_t, accept_mutex),
      NULL },
    { bw_string("use"), BW_EVENT_CONF|BW_CONF_TAKE1, bw_event_use, 0, 0,
      NULL },
    /* no accept mutex, so nothing to wait for (accept_mutex above) */
    { bw_string("accept_mutex_delay"), BW_EVENT_CONF|BW_CONF_TAKE1,
      bw_conf_no_effect, 0, 0,
      (void *) "there is no accept mutex (see accept_mutex)" },
    bw_null_command
};

static bw_event_module_t  bw_event_core_module_ctx = {
    bw_string("event_core"), bw_event_core_create_conf,
    bw_event_core_init_conf
};

bw_module_t  bw_event_core_module = {
    BW_MODULE_V1, BW_EVENT_MODULE, &bw_event_core_module_ctx,
    bw_event_core_commands, NULL, NULL, NULL, NULL
};

static int                  ep = -1;
/* signals stay blocked while events are handled (see bw_init_signals) and
 * come in only here: one that arrived just after the flags were checked
 * would otherwise wait for the next event */
static sigset_t             bw_wait_sigmask;    /* nothing blocked */
static struct epoll_event  *event_list;
static bw_uint_t            nevents;

static char *
bw_events_block(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    char               *rv;
    void             ***ctx;
    bw_uint_t           i, n;
    bw_conf_t           pcf;
    bw_event_module_t  *m;

    if (*(void **) conf) {
        return "is duplicate";
    }

    n = bw_count_modules(BW_EVENT_MODULE);

    ctx = bw_pcalloc(cf->pool, sizeof(void *));
    if (ctx == NULL) {
        return BW_CONF_ERROR;
    }
    *ctx = bw_pcalloc(cf->pool, n * sizeof(void *));
    if (*ctx == NULL) {
        return BW_CONF_ERROR;
    }
    *(void **) conf = ctx;

    for (i = 0; bw_modules[i]; i++) {
        if (bw_modules[i]->type != BW_EVENT_MODULE) {
            continue;
        }
        m = bw_modules[i]->ctx;
        if (m->create_conf) {
            (*ctx)[bw_modules[i]->ctx_index] = m->create_conf(cf->cycle);
            if ((*ctx)[bw_modules[i]->ctx_index] == NULL) {
                return BW_CONF_ERROR;
            }
        }
    }

    pcf = *cf;
    cf->ctx = ctx;
    cf->module_type = BW_EVENT_MODULE;
    cf->cmd_type = BW_EVENT_CONF;

    rv = bw_conf_parse(cf, NULL);
    *cf = pcf;

    if (rv != BW_CONF_OK) {
        return rv;
    }

    for (i = 0; bw_modules[i]; i++) {
        if (bw_modules[i]->type != BW_EVENT_MODULE) {
            continue;
        }
        m = bw_modules[i]->ctx;
        if (m->init_conf) {
            rv = m->init_conf(cf->cycle, (*ctx)[bw_modules[i]->ctx_index]);
            if (rv != BW_CONF_OK) {
                return rv;
            }
        }
    }

    return BW_CONF_OK;
}

/* without the block a worker has no event loop to run: refuse the
 * configuration here rather than let every worker die at start */
static char *
bw_events_init_conf(bw_cycle_t *cycle, void *conf)
{
    bw_event_conf_t  *ecf;

    if (conf == NULL) {
        bw_log_error(BW_LOG_EMERG, cycle->log, 0,
                     "no \"events\" section in configuration");
        return BW_CONF_ERROR;
    }

    /* a worker holds a slot for each of its listening sockets (one of
     * each, reuseport or not: the clones are made later) and one for
     * its channel to the master; with fewer it could not start */
    ecf = (*(void ***) conf)[bw_event_core_module.ctx_index];
    if (ecf->connections < cycle->listening.nelts + 1) {
        bw_log_error(BW_LOG_EMERG, cycle->log, 0,
                     "%lu worker_connections are not enough "
                     "for %lu listening sockets",
                     (unsigned long) ecf->connections,
                     (unsigned long) cycle->listening.nelts);
        return BW_CONF_ERROR;
    }

    return BW_CONF_OK;
}

static char *
bw_event_use(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_str_t  *value = cf->args->elts;

    if (!bw_str_eq_lit(&value[1], "epoll")) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "invalid event type \"%s\"", value[1].data);
        return BW_CONF_ERROR;
    }
    return BW_CONF_OK;
}

static void *
bw_event_core_create_conf(bw_cycle_t *cycle)
{
    bw_event_conf_t  *ecf;

    ecf = bw_palloc(cycle->pool, sizeof(bw_event_conf_t));
    if (ecf == NULL) {
        return NULL;
    }
    ecf->connections = BW_CONF_UNSET_UINT;
    ecf->multi_accept = BW_CONF_UNSET;
    ecf->accept_mutex = BW_CONF_UNSET;
    return ecf;
}

static char *
bw_event_core_init_conf(bw_cycle_t *cycle, void *conf)
{
    bw_event_conf_t  *ecf = conf;

    bw_conf_init_uint_value(ecf->connections, 512);
    bw_conf_init_value(ecf->multi_accept, 0);
    bw_conf_init_value(ecf->accept_mutex, 0);

    if (ecf->connections < 2) {
        return "worker_connections must be at least 2";
    }
    return BW_CONF_OK;
}

bw_int_t
bw_event_init_worker(bw_cycle_t *cycle)
{
    bw_uint_t          i;
    bw_event_t        *rev, *wev;
    bw_connection_t   *c, *next;
    bw_event_conf_t   *ecf;

    ecf = bw_event_get_conf(cycle->conf_ctx, bw_event_core_module);

    bw_event_timer_init();
    bw_queue_init(&bw_posted_events);
    bw_queue_init(&bw_posted_next_events);
    bw_queue_init(&bw_posted_flush_events);
    bw_queue_init(&cycle->reusable_connections_queue);

    sigemptyset(&bw_wait_sigmask);

    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep == -1) {
        bw_log_error(BW_LOG_EMERG, cycle->log, errno,
                     "epoll_create1() failed");
        return BW_ERROR;
    }

    nevents = 512;
    event_list = bw_alloc(sizeof(struct epoll_event) * nevents, cycle->log);
    if (event_list == NULL) {
        return BW_ERROR;
    }

    cycle->connection_n = ecf->connections;
    cycle->connections = bw_calloc(sizeof(bw_connection_t)
                                   * cycle->connection_n, cycle->log);
    cycle->read_events = bw_calloc(sizeof(bw_event_t) * cycle->connection_n,
                                   cycle->log);
    cycle->write_events = bw_calloc(sizeof(bw_event_t)
                                    * cycle->connection_n, cycle->log);
    if (cycle->connections == NULL || cycle->read_events == NULL
        || cycle->write_events == NULL)
    {
        return BW_ERROR;
    }

    c = cycle->connections;
    rev = cycle->read_events;
    wev = cycle->write_events;
    next = NULL;

    for (i = cycle->connection_n; i-- > 0; ) {
        rev[i].closed = 1;
        rev[i].instance = 1;
        wev[i].closed = 1;
        wev[i].write = 1;
        c[i].data = next;
        c[i].read = &rev[i];
        c[i].write = &wev[i];
        c[i].fd = -1;
        next = &c[i];
    }

    cycle->free_connections = next;
    cycle->free_connection_n = cycle->connection_n;

    return bw_event_add_listeners(cycle);
}

/*
 * Undo bw_event_init_worker, whole or in part. A worker never needs it
 * (it exits), but a harness that starts many cycles in one process (the
 * configuration fuzzer) does. The listening sockets stay with their
 * cycle.
 */
void
bw_event_exit_worker(bw_cycle_t *cycle)
{
    bw_uint_t        i;
    bw_listening_t  *ls;

    if (ep != -1) {
        (void) close(ep);
        ep = -1;
    }

    free(event_list);
    event_list = NULL;
    nevents = 0;

    ls = cycle->listening.elts;
    for (i = 0; i < cycle->listening.nelts; i++) {
        ls[i].connection = NULL;
    }

    free(cycle->connections);
    free(cycle->read_events);
    free(cycle->write_events);
    cycle->connections = NULL;
    cycle->read_events = NULL;
    cycle->write_events = NULL;
    cycle->free_connections = NULL;
    cycle->free_connection_n = 0;
    cycle->connection_n = 0;
}

/* Take the listeners of this worker into the loop. */
static bw_int_t
bw_event_add_listeners(bw_cycle_t *cycle)
{
    bw_uint_t         i;
    bw_event_t       *rev;
    bw_listening_t   *ls;
    bw_connection_t  *c;

    ls = cycle->listening.elts;
    for (i = 0; i < cycle->listening.nelts; i++) {
        if (ls[i].fd == -1 || (ls[i].reuseport && ls[i].worker != bw_worker)) {
            continue;
        }

        c = bw_get_connection(ls[i].fd, cycle->log);
        if (c == NULL) {
            return BW_ERROR;
        }
        c->type = ls[i].type;
        c->log = &ls[i].log;
        c->listening = &ls[i];
        ls[i].connection = c;

        rev = c->read;
        rev->log = c->log;
        rev->accept = 1;
        rev->handler = bw_event_accept;

        if (bw_epoll_add_listening(&ls[i], !ls[i].reuseport) != BW_OK) {
            return BW_ERROR;
        }
    }

    return BW_OK;
}

/*
 * Single-process reload: the connection slots and the epoll set carry
 * over to the new cycle, connections in flight keep serving under the
 * old configuration, and accepting switches to the new listeners. A
 * descriptor both cycles share stays open throughout, so nothing queued
 * on it is lost.
 */
bw_int_t
bw_event_move_to_cycle(bw_cycle_t *old, bw_cycle_t *cycle)
{
    bw_uint_t         i;
    bw_queue_t       *q;
    bw_listening_t   *ls;
    bw_connection_t  *c;

    ls = old->listening.elts;
    for (i = 0; i < old->listening.nelts; i++) {
        c = ls[i].connection;
        if (c == NULL) {
            continue;
        }
        /* a descriptor the new cycle dropped is closed, out of epoll */
        if (ls[i].fd != -1) {
            (void) bw_epoll_del_listening(&ls[i]);
        }
        if (c->read->posted) {
            bw_delete_posted_event(c->read);
        }
        c->fd = -1;
        bw_free_connection(c);
        ls[i].connection = NULL;
    }

    cycle->connection_n = old->connection_n;
    cycle->connections = old->connections;
    cycle->read_events = old->read_events;
    cycle->write_events = old->write_events;
    cycle->free_connections = old->free_connections;
    cycle->free_connection_n = old->free_connection_n;

    bw_queue_init(&cycle->reusable_connections_queue);
    if (!bw_queue_empty(&old->reusable_connections_queue)) {
        q = &cycle->reusable_connections_queue;
        q->next = old->reusable_connections_queue.next;
        q->prev = old->reusable_connections_queue.prev;
        q->next->prev = q;
        q->prev->next = q;
    }
    cycle->reusable_connections_n = old->reusable_connections_n;
    bw_queue_init(&old->reusable_connections_queue);
    old->reusable_connections_n = 0;

    bw_cycle = cycle;

    return bw_event_add_listeners(cycle);
}

bw_int_t
bw_epoll_add_connection(bw_connection_t *c)
{
    struct epoll_event  ee;

    ee.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP;
    ee.data.ptr = (void *) ((uintptr_t) c | c->read->instance);

    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ee) == -1) {
        bw_log_error(BW_LOG_ALERT, c->log, errno,
                     "epoll_ctl(EPOLL_CTL_ADD, %d) failed", c->fd);
        return BW_ERROR;
    }

    c->read->active = 1;
    c->write->active = 1;
    return BW_OK;
}

bw_int_t
bw_epoll_add_listening(bw_listening_t *ls, bw_uint_t exclusive)
{
    struct epoll_event  ee;
    bw_connection_t    *c = ls->connection;

    if (c->read->active) {
        return BW_OK;
    }

    /* A listener shared by all workers wakes only one of them. */
    ee.events = EPOLLIN | (exclusive ? EPOLLEXCLUSIVE : 0);
    ee.data.ptr = (void *) ((uintptr_t) c | c->read->instance);

    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ee) == -1) {
        bw_log_error(BW_LOG_ALERT, c->log, errno,
                     "epoll_ctl(EPOLL_CTL_ADD, %d) failed", c->fd);
        return BW_ERROR;
    }

    c->read->active = 1;
    return BW_OK;
}

bw_int_t
bw_epoll_del_listening(bw_listening_t *ls)
{
    struct epoll_event  ee;
    bw_connection_t    *c = ls->connection;

    if (c == NULL || !c->read->active) {
        return BW_OK;
    }

    ee.events = 0;
    ee.data.ptr = NULL;
    if (epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, &ee) == -1) {
        return BW_ERROR;
    }

    c->read->active = 0;
    return BW_OK;
}

/*
 * Stop accepting in this worker. The descriptors are closed here, in the
 * worker; the master keeps its copies, so no queued connection is lost.
 */
void
bw_event_close_listening(bw_cycle_t *cycle)
{
    bw_uint_t        i;
    bw_listening_t  *ls;
    bw_connection_t *c;

    ls = cycle->listening.elts;
    for (i = 0; i < cycle->listening.nelts; i++) {
        c = ls[i].connection;
        if (c) {
            bw_epoll_del_listening(&ls[i]);
            if (c->read->posted) {
                bw_delete_posted_event(c->read);
            }
            bw_free_connection(c);
            c->fd = -1;
            ls[i].connection = NULL;
        }
        if (ls[i].fd != -1) {
            close(ls[i].fd);
            ls[i].fd = -1;
        }
    }
}

void
bw_process_events_and_timers(bw_cycle_t *cycle)
{
    bw_event_process(cycle, (bw_msec_t) -1);
}

/* One turn of the loop that waits at most max ms for an event ((bw_msec_t)
 * -1: until one comes or a timer is due). A worker waits without a
 * bound; a harness that drives a worker in its own process (the HTTP/2
 * fuzz target) turns the loop with max 0. */
void
bw_event_process(bw_cycle_t *cycle, bw_msec_t max)
{
    int               n, i, timeout;
    uint32_t          revents;
    bw_msec_t         timer;
    bw_uint_t         instance;
    bw_event_t       *rev, *wev;
    bw_connection_t  *c;

    timer = bw_event_find_timer();
    if (!bw_queue_empty(&bw_posted_next_events)) {
        bw_event_move_posted_next();
        timer = 0;
    }
    if (timer > max) {
        timer = max;
    }

    timeout = (timer == (bw_msec_t) -1) ? -1 : (int) bw_min(timer, INT_MAX);

    bw_log_debug(cycle->log, "epoll timer: %d", timeout);

    n = epoll_pwait(ep, event_list, (int) nevents, timeout, &bw_wait_sigmask);

    bw_time_update();

    bw_log_debug(cycle->log, "epoll: %d events", n);

    if (n == -1) {
        if (errno != EINTR) {
            bw_log_error(BW_LOG_ALERT, cycle->log, errno,
                         "epoll_pwait() failed");
        }
        n = 0;
    }

    for (i = 0; i < n; i++) {
        c = event_list[i].data.ptr;
        instance = (uintptr_t) c & 1;
        c = (bw_connection_t *) ((uintptr_t) c & (uintptr_t) ~1);

        rev = c->read;
        if (c->fd == -1 || rev->instance != instance) {
            /* the connection was closed (and maybe reused) this turn */
            continue;
        }

        revents = event_list[i].events;

        bw_log_debug(cycle->log, "epoll: fd:%d ev:%04x d:%p", c->fd,
                     (unsigned) revents, (void *) c);

        if (revents & (EPOLLERR | EPOLLHUP)) {
            revents |= EPOLLIN | EPOLLOUT;
        }

        if ((revents & EPOLLIN) && rev->active) {
            rev->ready = 1;
            if (revents & EPOLLRDHUP) {
                rev->pending_eof = 1;
            }
            if (rev->accept) {
                rev->handler(rev);
                continue;
            }
            bw_post_event(rev, &bw_posted_events);
        }

        /* an edge of a socket that had room all along (most of them:
         * the peer's ACK came) tells no writer anything: they wait only
         * after a send that did not go out whole */
        wev = c->write;
        if ((revents & EPOLLOUT) && wev->active && !wev->ready) {
            wev->ready = 1;
            bw_post_event(wev, &bw_posted_events);
        }
    }

    bw_event_expire_timers();
    bw_event_process_posted();
}
