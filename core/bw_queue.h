/* Intrusive doubly linked circular list (nginx's ngx_queue_t). */

#ifndef BW_QUEUE_H
#define BW_QUEUE_H

typedef struct bw_queue_s bw_queue_t;

struct bw_queue_s {
    bw_queue_t  *prev;
    bw_queue_t  *next;
};

#define bw_queue_init(q)    (q)->prev = q; (q)->next = q
#define bw_queue_empty(h)   ((h) == (h)->prev)
#define bw_queue_head(h)    (h)->next
#define bw_queue_last(h)    (h)->prev
#define bw_queue_sentinel(h) (h)
#define bw_queue_next(q)    (q)->next
#define bw_queue_prev(q)    (q)->prev

#define bw_queue_insert_head(h, x) \
    (x)->next = (h)->next; (x)->next->prev = x; (x)->prev = h; (h)->next = x

#define bw_queue_insert_tail(h, x) \
    (x)->prev = (h)->prev; (x)->prev->next = x; (x)->next = h; (h)->prev = x

#define bw_queue_remove(x) \
    (x)->next->prev = (x)->prev; (x)->prev->next = (x)->next; \
    (x)->prev = NULL; (x)->next = NULL

#define bw_queue_data(q, type, link) \
    (type *) ((u_char *) (q) - offsetof(type, link))

#endif
