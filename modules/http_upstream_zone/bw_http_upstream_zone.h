/* Upstream zones and the state file of their servers. */

#ifndef BW_HTTP_UPSTREAM_ZONE_H
#define BW_HTTP_UPSTREAM_ZONE_H

#include <bw_http.h>

typedef struct {
    bw_shm_zone_t                 *shm_zone;

    /* "resolve" servers: the resolver asked, and each worker's timer */
    bw_resolver_t                 *resolver;
    bw_msec_t                      resolver_timeout;
    bw_http_upstream_srv_conf_t   *upstream;
    bw_event_t                     timer;
    bw_log_t                      *log;
    bw_uint_t                     *due;          /* server lines, a tick's */
    bw_cycle_t                    *cycle;        /* whose memory this is */
} bw_http_upstream_zone_srv_conf_t;

extern bw_module_t  bw_http_upstream_zone_module;

/* each worker's look at the names due (bw_http_upstream_resolve.c) */
void bw_http_upstream_resolve_tick(bw_event_t *ev);

/* "state file": read the servers (bw_http_upstream_state.c) */
char *bw_http_upstream_state(bw_conf_t *cf, bw_command_t *cmd, void *conf);
/* The master writes state files; workers tell it of changes. */
void bw_http_upstream_zone_set_writer(void);

#endif
