/* Posted events: work deferred to the end of the current loop turn. */

#include <bw_core.h>

bw_queue_t  bw_posted_events;
bw_queue_t  bw_posted_next_events;

void
bw_event_process_posted(bw_queue_t *posted)
{
    bw_queue_t  *q;
    bw_event_t  *ev;

    while (!bw_queue_empty(posted)) {
        q = bw_queue_head(posted);
        ev = bw_queue_data(q, bw_event_t, queue);
        bw_delete_posted_event(ev);
        ev->handler(ev);
    }
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
