/* Upstream zones and the state file of their servers. */

#ifndef BW_HTTP_UPSTREAM_ZONE_H
#define BW_HTTP_UPSTREAM_ZONE_H

#include <bw_http.h>

/* "state file": read the servers (bw_http_upstream_state.c) */
char *bw_http_upstream_state(bw_conf_t *cf, bw_command_t *cmd, void *conf);
/* The master writes state files; workers tell it of changes. */
void bw_http_upstream_zone_set_writer(void);

#endif
