/* Timers: an rbtree of events keyed by their deadline in msec. */

#include <bw_core.h>

bw_rbtree_t               bw_event_timer_rbtree;
static bw_rbtree_node_t   bw_event_timer_sentinel;

bw_int_t
bw_event_timer_init(void)
{
    bw_rbtree_init(&bw_event_timer_rbtree, &bw_event_timer_sentinel,
                   bw_rbtree_insert_timer_value);
    return BW_OK;
}

bw_msec_t
bw_event_find_timer(void)
{
    bw_msec_int_t      timer;
    bw_rbtree_node_t  *node, *root, *sentinel;

    if (bw_event_timer_rbtree.root == &bw_event_timer_sentinel) {
        return (bw_msec_t) -1;
    }

    root = bw_event_timer_rbtree.root;
    sentinel = bw_event_timer_rbtree.sentinel;
    node = bw_rbtree_min(root, sentinel);

    timer = (bw_msec_int_t) (node->key - bw_current_msec);
    return (bw_msec_t) (timer > 0 ? timer : 0);
}

void
bw_event_expire_timers(void)
{
    bw_event_t        *ev;
    bw_rbtree_node_t  *node, *root, *sentinel;

    sentinel = bw_event_timer_rbtree.sentinel;

    for ( ;; ) {
        root = bw_event_timer_rbtree.root;
        if (root == sentinel) {
            return;
        }

        node = bw_rbtree_min(root, sentinel);
        if ((bw_msec_int_t) (node->key - bw_current_msec) > 0) {
            return;
        }

        ev = (bw_event_t *) ((char *) node - offsetof(bw_event_t, timer));

        if (ev->log) {
            bw_log_debug(ev->log, "event timer expired: %s, %lu",
                         ev->write ? "write" : "read",
                         (unsigned long) node->key);
        }

        bw_rbtree_delete(&bw_event_timer_rbtree, &ev->timer);
        ev->timer_set = 0;
        ev->timedout = 1;
        ev->handler(ev);
    }
}

/* True when only cancelable timers remain (graceful exit may proceed). */
bw_uint_t
bw_event_no_timers_left(void)
{
    bw_event_t        *ev;
    bw_rbtree_node_t  *node, *root, *sentinel;

    sentinel = bw_event_timer_rbtree.sentinel;
    root = bw_event_timer_rbtree.root;
    if (root == sentinel) {
        return 1;
    }

    for (node = bw_rbtree_min(root, sentinel); node;
         node = bw_rbtree_next(&bw_event_timer_rbtree, node))
    {
        ev = (bw_event_t *) ((char *) node - offsetof(bw_event_t, timer));
        if (!ev->cancelable) {
            return 0;
        }
    }

    return 1;
}

void
bw_event_cleanup_timer(void *data)
{
    bw_event_t  *ev = data;

    if (ev->timer_set) {
        bw_event_del_timer(ev);
    }
}
