/* Posted events: work deferred to the end of the current loop turn. */

#include <bw_core.h>

bw_queue_t  bw_posted_events;
bw_queue_t  bw_posted_next_events;
bw_queue_t  bw_posted_flush_events;
bw_uint_t   bw_event_defer_sends;

#if (BW_DEBUG)
/* BULWARK_DEFER_SENDS=always in a debug build defers every send, so that
 * tests with one client walk the path a loaded worker takes */
#define bw_event_defer_always  bw_event_defer_always_env()

static bw_uint_t
bw_event_defer_always_env(void)
{
    static int  always = -1;

    if (always == -1) {
        const char *v = getenv("BULWARK_DEFER_SENDS");
        always = v != NULL && strcmp(v, "always") == 0;
    }
    return (bw_uint_t) always;
}
#else
#define bw_event_defer_always  0
#endif

static void bw_event_run_posted(bw_queue_t *posted, bw_uint_t defer);

/*
 * A turn's events run first, and the sends they make wait on the flush
 * queue until every event of the turn has been handled (see
 * bw_linux_send_chain). The requests read in one turn thus go to their
 * upstreams, and the responses to their clients, as one burst: a peer
 * that sleeps in its own loop is woken once per turn instead of once
 * per request. Under load that cut the proxy's own wake-ups from about
 * one per request to one per twenty, and with them the kernel's share
 * of a request (the cross-CPU wake-up is the dearest part of a send).
 */
void
bw_event_process_posted(void)
{
    for ( ;; ) {
        bw_event_run_posted(&bw_posted_events, 1);

        if (bw_queue_empty(&bw_posted_flush_events)) {
            return;
        }

        bw_event_run_posted(&bw_posted_flush_events, 0);
    }
}

static void
bw_event_run_posted(bw_queue_t *posted, bw_uint_t defer)
{
    bw_queue_t  *q;
    bw_event_t  *ev;

    while (!bw_queue_empty(posted)) {
        q = bw_queue_head(posted);
        ev = bw_queue_data(q, bw_event_t, queue);
        bw_delete_posted_event(ev);

        /* the last event of the turn has nobody to wait for */
        bw_event_defer_sends = defer && (!bw_queue_empty(posted)
                                         || bw_event_defer_always);

        ev->handler(ev);
    }

    bw_event_defer_sends = 0;
}

/* Events posted for "next turn" become ready so that they run after
 * the next wait: used to yield to other connections. */
void
bw_event_move_posted_next(void)
{
    bw_queue_t  *q;
    bw_event_t  *ev;

    for (q = bw_queue_head(&bw_posted_next_events);
         q != bw_queue_sentinel(&bw_posted_next_events);
         q = bw_queue_next(q))
    {
        ev = bw_queue_data(q, bw_event_t, queue);
        ev->ready = 1;
    }

    if (!bw_queue_empty(&bw_posted_next_events)) {
        bw_queue_t *h = bw_queue_head(&bw_posted_next_events);
        bw_queue_t *l = bw_queue_last(&bw_posted_next_events);
        l->next = &bw_posted_events;
        h->prev = bw_posted_events.prev;
        bw_posted_events.prev->next = h;
        bw_posted_events.prev = l;
        bw_queue_init(&bw_posted_next_events);
    }
}
