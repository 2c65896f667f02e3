/* Upstream zones and the state file of their servers. */

#ifndef BW_HTTP_UPSTREAM_ZONE_H
#define BW_HTTP_UPSTREAM_ZONE_H

#include <bw_http.h>

/* The http main configuration of a cycle, or NULL without http. */
#define bw_http_cycle_get_module_main_conf(cycle, module)                    \
    ((cycle)->conf_ctx[bw_http_module.index]                                 \
     ? ((bw_http_conf_ctx_t *) (cycle)->conf_ctx[bw_http_module.index])      \
           ->main_conf[(module).ctx_index]                                   \
     : NULL)

/* "state file": read the servers (bw_http_upstream_state.c) */
char *bw_http_upstream_state(bw_conf_t *cf, bw_command_t *cmd, void *conf);
/* The master writes state files; workers tell it of changes. */
void bw_http_upstream_zone_set_writer(void);

#endif
