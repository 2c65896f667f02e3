/* The core's umbrella header: every core and module file includes it. */

#ifndef BW_CORE_H
#define BW_CORE_H

#include <bw_config.h>

typedef struct bw_module_s      bw_module_t;
typedef struct bw_conf_s        bw_conf_t;
typedef struct bw_cycle_s       bw_cycle_t;
typedef struct bw_pool_s        bw_pool_t;
typedef struct bw_chain_s       bw_chain_t;
typedef struct bw_log_s         bw_log_t;
typedef struct bw_open_file_s   bw_open_file_t;
typedef struct bw_command_s     bw_command_t;
typedef struct bw_file_s        bw_file_t;
typedef struct bw_event_s       bw_event_t;
typedef struct bw_connection_s  bw_connection_t;
typedef struct bw_listening_s   bw_listening_t;
typedef struct bw_shm_zone_s    bw_shm_zone_t;
typedef struct bw_ssl_connection_s  bw_ssl_connection_t;

typedef void (*bw_event_handler_pt)(bw_event_t *ev);
typedef void (*bw_connection_handler_pt)(bw_connection_t *c);

#include <bw_queue.h>
#include <bw_str.h>
#include <bw_rbtree.h>
#include <bw_pool.h>
#include <bw_buf.h>
#include <bw_array.h>
#include <bw_list.h>
#include <bw_hash.h>
#include <bw_time.h>
#include <bw_random.h>
#include <bw_log.h>
#include <bw_file.h>
#include <bw_shm.h>
#include <bw_slab.h>
#include <bw_regex.h>
#include <bw_parse.h>
#include <bw_inet.h>
#include <bw_cidr.h>
#include <bw_proxy_protocol.h>
#include <bw_dns.h>
#include <bw_resolver.h>
#include <bw_conf.h>
#include <bw_module.h>
#include <bw_event.h>
#include <bw_connection.h>
#include <bw_event_ssl.h>
#include <bw_event_connect.h>
#include <bw_socket.h>
#include <bw_cycle.h>
#include <bw_syslog.h>
#include <bw_temp_file.h>
#include <bw_process.h>

#endif /* BW_CORE_H */
