/*
 * master_process off: one process that serves, for debugging. It reloads
 * its configuration in place on HUP: connections in flight finish under
 * the configuration they started with, which is released once the last
 * of them is gone. A binary upgrade needs a master and is refused.
 */

#include <bw_core.h>

#define BW_SINGLE_OLD_CYCLES  16
#define BW_SINGLE_RELEASE_MS  1000

typedef struct {
    bw_cycle_t  *cycle;
    bw_uint_t    last;          /* highest connection number it served */
} bw_single_old_t;

static bw_single_old_t  bw_single_old[BW_SINGLE_OLD_CYCLES];
static bw_uint_t        bw_single_old_n;
static bw_event_t       bw_single_release_event;

static void bw_single_release_handler(bw_event_t *ev);
static void bw_single_release_cycle(bw_cycle_t *cycle, bw_uint_t at);

void
bw_single_process_cycle(bw_cycle_t *cycle)
{
    bw_worker_process_cycle(cycle, 0, -1);
}

/* Called by the serving loop after each turn; returns the live cycle. */
bw_cycle_t *
bw_single_process_signals(bw_cycle_t *cycle)
{
    bw_uint_t    i;
    bw_cycle_t  *new_cycle;

    if (bw_change_binary) {
        bw_change_binary = 0;
        bw_log_error(BW_LOG_WARN, cycle->log, 0,
                     "changing binary needs \"master_process on\", "
                     "signal ignored");
    }

    if (!bw_reconfigure || bw_exiting) {
        bw_reconfigure = 0;
        return cycle;
    }
    bw_reconfigure = 0;

    if (bw_single_old_n == BW_SINGLE_OLD_CYCLES) {
        bw_log_error(BW_LOG_ERR, cycle->log, 0,
                     "%d earlier configurations still serve connections, "
                     "reload refused", BW_SINGLE_OLD_CYCLES);
        return cycle;
    }

    bw_log_error(BW_LOG_NOTICE, cycle->log, 0, "reconfiguring");

    if (bw_state_retire) {
        bw_state_retire(cycle, 1);
    }

    new_cycle = bw_init_cycle(cycle);
    if (new_cycle == NULL) {
        if (bw_state_retire) {
            bw_state_retire(cycle, 0);
        }
        bw_log_error(BW_LOG_ERR, cycle->log, 0,
                     "configuration reload failed, "
                     "keeping the running configuration");
        return cycle;
    }
    new_cycle->old_cycle = NULL;
    bw_stat_add(reloads, 1);

    if (bw_event_move_to_cycle(cycle, new_cycle) != BW_OK) {
        /* the listeners could not be watched: nothing can be served */
        exit(2);
    }

    for (i = 0; bw_modules[i]; i++) {
        if (bw_modules[i]->init_worker
            && bw_modules[i]->init_worker(new_cycle) != BW_OK)
        {
            exit(2);
        }
    }

    bw_single_old[bw_single_old_n].cycle = cycle;
    bw_single_old[bw_single_old_n].last = bw_connection_counter - 1;
    bw_single_old_n++;

    /* idle connections (keepalive clients, pooled upstream ones) would
     * hold the old configuration until they time out, and the new one
     * never uses them: closed, as a worker of a reloading master closes
     * its own on the way out */
    bw_close_idle_connections(new_cycle);

    if (!bw_single_release_event.timer_set) {
        bw_single_release_event.handler = bw_single_release_handler;
        bw_single_release_event.log = new_cycle->log;
        bw_single_release_event.cancelable = 1;
        bw_event_add_timer(&bw_single_release_event, BW_SINGLE_RELEASE_MS);
    }

    return new_cycle;
}

/*
 * Connection numbers only grow, so an old configuration is unused once
 * every open connection is younger than the last one it accepted (the
 * upstream connections of its requests, pooled ones included, count).
 */
static void
bw_single_release_handler(bw_event_t *ev)
{
    bw_uint_t         i, n, oldest;
    bw_connection_t  *c;

    oldest = (bw_uint_t) -1;
    c = bw_cycle->connections;
    for (i = 0; i < bw_cycle->connection_n; i++) {
        if (c[i].fd != -1 && !c[i].read->accept && c[i].number < oldest) {
            oldest = c[i].number;
        }
    }

    n = 0;
    for (i = 0; i < bw_single_old_n; i++) {
        if (bw_single_old[i].last < oldest) {
            bw_single_release_cycle(bw_single_old[i].cycle, i);
            continue;
        }
        bw_single_old[n++] = bw_single_old[i];
    }
    bw_single_old_n = n;

    if (n) {
        bw_event_add_timer(ev, BW_SINGLE_RELEASE_MS);
    }
}

static void
bw_single_release_cycle(bw_cycle_t *cycle, bw_uint_t at)
{
    bw_uint_t        i, n;
    bw_cycle_t      *keep[BW_SINGLE_OLD_CYCLES + 1];

    /* a zone goes when neither the live cycle nor a later old one
     * (still serving) maps it */
    keep[0] = bw_cycle;
    n = 1;
    for (i = at + 1; i < bw_single_old_n; i++) {
        keep[n++] = bw_single_old[i].cycle;
    }
    bw_shm_release_unused(cycle, keep, n);

    /* a buffered log's flush timer lives in this cycle's memory */
    bw_flush_open_files(cycle, bw_cycle->log);

    bw_log_error(BW_LOG_INFO, bw_cycle->log, 0,
                 "previous configuration released");
    bw_destroy_cycle(cycle);
}
