/*
 * The HTTP engine's types: module hooks, confs, the request, headers,
 * phases, filters and variables. Modules include this file only.
 */

#ifndef BW_HTTP_H
#define BW_HTTP_H

#include <bw_core.h>

typedef struct bw_http_request_s        bw_http_request_t;
typedef struct bw_http_core_loc_conf_s  bw_http_core_loc_conf_t;
typedef struct bw_http_core_srv_conf_s  bw_http_core_srv_conf_t;
typedef struct bw_http_variable_s       bw_http_variable_t;

#define BW_HTTP_VERSION_9     9
#define BW_HTTP_VERSION_10    1000
#define BW_HTTP_VERSION_11    1001
#define BW_HTTP_VERSION_20    2000

#define BW_HTTP_UNKNOWN       0x00000001
#define BW_HTTP_GET           0x00000002
#define BW_HTTP_HEAD          0x00000004
#define BW_HTTP_POST          0x00000008
#define BW_HTTP_PUT           0x00000010
#define BW_HTTP_DELETE        0x00000020
#define BW_HTTP_OPTIONS       0x00000200
#define BW_HTTP_PATCH         0x00004000
#define BW_HTTP_TRACE         0x00008000
#define BW_HTTP_CONNECT       0x00010000

#define BW_HTTP_CONNECTION_CLOSE       1
#define BW_HTTP_CONNECTION_KEEP_ALIVE  2

#define BW_HTTP_PARSE_HEADER_DONE  1

#define BW_HTTP_CONTINUE                 100
#define BW_HTTP_SWITCHING_PROTOCOLS      101
#define BW_HTTP_OK                       200
#define BW_HTTP_CREATED                  201
#define BW_HTTP_NO_CONTENT               204
#define BW_HTTP_PARTIAL_CONTENT          206
#define BW_HTTP_SPECIAL_RESPONSE         300
#define BW_HTTP_MOVED_PERMANENTLY        301
#define BW_HTTP_MOVED_TEMPORARILY        302
#define BW_HTTP_SEE_OTHER                303
#define BW_HTTP_NOT_MODIFIED             304
#define BW_HTTP_TEMPORARY_REDIRECT       307
#define BW_HTTP_PERMANENT_REDIRECT       308
#define BW_HTTP_BAD_REQUEST              400
#define BW_HTTP_UNAUTHORIZED             401
#define BW_HTTP_FORBIDDEN                403
#define BW_HTTP_NOT_FOUND                404
#define BW_HTTP_NOT_ALLOWED              405
#define BW_HTTP_REQUEST_TIME_OUT         408
#define BW_HTTP_CONFLICT                 409
#define BW_HTTP_LENGTH_REQUIRED          411
#define BW_HTTP_PRECONDITION_FAILED      412
#define BW_HTTP_REQUEST_ENTITY_TOO_LARGE 413
#define BW_HTTP_REQUEST_URI_TOO_LARGE    414
#define BW_HTTP_UNSUPPORTED_MEDIA_TYPE   415
#define BW_HTTP_RANGE_NOT_SATISFIABLE    416
#define BW_HTTP_MISDIRECTED_REQUEST      421
#define BW_HTTP_TOO_MANY_REQUESTS        429
#define BW_HTTP_HEADER_TOO_LARGE         431
/* nginx's own codes for error_page, answered as 400 */
#define BW_HTTPS_CERT_ERROR              495
#define BW_HTTPS_NO_CERT                 496
#define BW_HTTP_TO_HTTPS                 497
#define BW_HTTP_CLIENT_CLOSED_REQUEST    499
#define BW_HTTP_INTERNAL_SERVER_ERROR    500
#define BW_HTTP_NOT_IMPLEMENTED          501
#define BW_HTTP_BAD_GATEWAY              502
#define BW_HTTP_SERVICE_UNAVAILABLE      503
#define BW_HTTP_GATEWAY_TIME_OUT         504
#define BW_HTTP_VERSION_NOT_SUPPORTED    505

#define BW_HTTP_LOWLEVEL_BUFFERED  0xf0
#define BW_HTTP_WRITE_BUFFERED     0x10
#define BW_HTTP_GZIP_BUFFERED      0x02

#define BW_HTTP_MAX_URI_CHANGES    10
#define BW_HTTP_DISCARD_BUFFER_SIZE 4096
#define BW_HTTP_LINGERING_BUFFER_SIZE 4096

/* --- module hooks ------------------------------------------------------ */

typedef struct {
    void        **main_conf;
    void        **srv_conf;
    void        **loc_conf;
} bw_http_conf_ctx_t;

typedef struct {
    bw_int_t   (*preconfiguration)(bw_conf_t *cf);
    bw_int_t   (*postconfiguration)(bw_conf_t *cf);
    void      *(*create_main_conf)(bw_conf_t *cf);
    char      *(*init_main_conf)(bw_conf_t *cf, void *conf);
    void      *(*create_srv_conf)(bw_conf_t *cf);
    char      *(*merge_srv_conf)(bw_conf_t *cf, void *prev, void *conf);
    void      *(*create_loc_conf)(bw_conf_t *cf);
    char      *(*merge_loc_conf)(bw_conf_t *cf, void *prev, void *conf);
} bw_http_module_t;

#define BW_HTTP_MAIN_CONF_OFFSET  offsetof(bw_http_conf_ctx_t, main_conf)
#define BW_HTTP_SRV_CONF_OFFSET   offsetof(bw_http_conf_ctx_t, srv_conf)
#define BW_HTTP_LOC_CONF_OFFSET   offsetof(bw_http_conf_ctx_t, loc_conf)

#define bw_http_get_module_ctx(r, module)  (r)->ctx[module.ctx_index]
#define bw_http_set_ctx(r, c, module)      (r)->ctx[module.ctx_index] = c
#define bw_http_get_module_main_conf(r, module) \
    (r)->main_conf[module.ctx_index]
#define bw_http_get_module_srv_conf(r, module) \
    (r)->srv_conf[module.ctx_index]
#define bw_http_get_module_loc_conf(r, module) \
    (r)->loc_conf[module.ctx_index]
/* A cycle's http main configuration of a module, or NULL without http. */
#define bw_http_cycle_get_module_main_conf(cycle, module)                    \
    ((cycle)->conf_ctx[bw_http_module.index]                                 \
     ? ((bw_http_conf_ctx_t *) (cycle)->conf_ctx[bw_http_module.index])      \
           ->main_conf[(module).ctx_index]                                   \
     : NULL)
#define bw_http_conf_get_module_main_conf(cf, module) \
    ((bw_http_conf_ctx_t *) (cf)->ctx)->main_conf[module.ctx_index]
#define bw_http_conf_get_module_srv_conf(cf, module) \
    ((bw_http_conf_ctx_t *) (cf)->ctx)->srv_conf[module.ctx_index]
#define bw_http_conf_get_module_loc_conf(cf, module) \
    ((bw_http_conf_ctx_t *) (cf)->ctx)->loc_conf[module.ctx_index]

extern bw_module_t  bw_http_module;
extern bw_module_t  bw_http_core_module;
extern bw_module_t  bw_http_write_filter_module;
extern bw_uint_t    bw_http_max_module;

/* --- headers ------------------------------------------------------------ */

typedef struct bw_table_elt_s  bw_table_elt_t;

struct bw_table_elt_s {
    bw_uint_t        hash;      /* 0: deleted */
    bw_str_t         key;
    bw_str_t         value;
    u_char          *lowcase_key;
    bw_table_elt_t  *next;      /* the next header of the same name */
};

typedef struct {
    bw_list_t        headers;

    bw_table_elt_t  *host;
    bw_table_elt_t  *connection;
    bw_table_elt_t  *if_modified_since;
    bw_table_elt_t  *if_unmodified_since;
    bw_table_elt_t  *if_match;
    bw_table_elt_t  *if_none_match;
    bw_table_elt_t  *user_agent;
    bw_table_elt_t  *referer;
    bw_table_elt_t  *content_length;
    bw_table_elt_t  *content_type;
    bw_table_elt_t  *range;
    bw_table_elt_t  *if_range;
    bw_table_elt_t  *transfer_encoding;
    bw_table_elt_t  *te;
    bw_table_elt_t  *expect;
    bw_table_elt_t  *upgrade;
    bw_table_elt_t  *authorization;
    bw_table_elt_t  *keep_alive;
    bw_table_elt_t  *x_forwarded_for;
    bw_table_elt_t  *cookie;

    bw_str_t         server;
    off_t            content_length_n;
    bw_uint_t        count;         /* header lines, for max_headers */
    unsigned         connection_type:2;
    unsigned         chunked:1;
} bw_http_headers_in_t;

typedef struct {
    bw_list_t        headers;
    bw_uint_t        status;
    bw_str_t         status_line;

    bw_table_elt_t  *server;
    bw_table_elt_t  *date;
    bw_table_elt_t  *content_length;
    bw_table_elt_t  *content_encoding;
    bw_table_elt_t  *location;
    bw_table_elt_t  *refresh;
    bw_table_elt_t  *last_modified;
    bw_table_elt_t  *content_range;
    bw_table_elt_t  *accept_ranges;
    bw_table_elt_t  *www_authenticate;
    bw_table_elt_t  *expires;
    bw_table_elt_t  *etag;
    bw_table_elt_t  *cache_control;
    bw_array_t      *trailers;      /* bw_table_elt_t: add_trailer */

    bw_str_t         content_type;
    bw_str_t         charset;
    off_t            content_length_n;
    off_t            content_offset;
    time_t           date_time;
    time_t           last_modified_time;
} bw_http_headers_out_t;

typedef struct {
    bw_str_t                 name;
    bw_uint_t                offset;
    bw_int_t               (*handler)(bw_http_request_t *r, bw_table_elt_t *h,
                                      bw_uint_t offset);
} bw_http_header_t;

#define BW_HTTP_LC_HEADER_LEN  32

/* --- request body ------------------------------------------------------- */

typedef void (*bw_http_client_body_handler_pt)(bw_http_request_t *r);

typedef struct {
    bw_uint_t        state;
    off_t            size;       /* of the current chunk */
    off_t            length;     /* bytes still expected, estimate */
} bw_http_chunked_t;

typedef struct {
    bw_file_t                      *temp_file;
    bw_chain_t                     *bufs;     /* the body, when read */
    bw_buf_t                       *buf;      /* decoded bytes */
    bw_buf_t                       *raw;      /* chunked bytes as read */
    off_t                           rest;
    off_t                           received;
    bw_http_chunked_t              *chunked;
    bw_http_client_body_handler_pt  post_handler;
    unsigned                        stream:1;  /* passed on as it comes */
    unsigned                        named:1;   /* temp_file keeps its
                                                  name (in_file_only) */
} bw_http_request_body_t;

/* --- variables ---------------------------------------------------------- */

typedef struct {
    unsigned     len:28;
    unsigned     valid:1;
    unsigned     no_cacheable:1;
    unsigned     not_found:1;
    unsigned     escape:1;
    u_char      *data;
} bw_http_variable_value_t;

typedef bw_int_t (*bw_http_get_variable_pt)(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
typedef void (*bw_http_set_variable_pt)(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);

#define BW_HTTP_VAR_CHANGEABLE   1
#define BW_HTTP_VAR_NOCACHEABLE  2
#define BW_HTTP_VAR_INDEXED      4
#define BW_HTTP_VAR_NOHASH       8
#define BW_HTTP_VAR_PREFIX       32

struct bw_http_variable_s {
    bw_str_t                  name;
    bw_http_set_variable_pt   set_handler;
    bw_http_get_variable_pt   get_handler;
    uintptr_t                 data;
    bw_uint_t                 flags;
    bw_uint_t                 index;
};

#define bw_http_null_variable  { bw_null_string, NULL, NULL, 0, 0, 0 }

/* a found value (data lives as long as the request) */
static inline void
bw_var_set(bw_http_variable_value_t *v, u_char *data, size_t len)
{
    v->data = data;
    v->len = (unsigned) len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
}

bw_int_t bw_http_conf_variable_name(bw_conf_t *cf, bw_str_t *value,
    bw_str_t *name);
bw_http_variable_t *bw_http_add_variable(bw_conf_t *cf, bw_str_t *name,
    bw_uint_t flags);
bw_int_t bw_http_get_variable_index(bw_conf_t *cf, bw_str_t *name);
bw_int_t bw_http_conf_settable_variable(bw_conf_t *cf, bw_str_t *value,
    bw_http_get_variable_pt get, uintptr_t data);
void bw_http_variable_set(bw_http_request_t *r, bw_uint_t index,
    bw_str_t *value);
bw_http_variable_value_t *bw_http_get_indexed_variable(bw_http_request_t *r,
    bw_uint_t index);
bw_http_variable_value_t *bw_http_get_flushed_variable(bw_http_request_t *r,
    bw_uint_t index);
bw_int_t bw_http_variables_add_core_vars(bw_conf_t *cf);
bw_int_t bw_http_add_variables(bw_conf_t *cf, bw_http_variable_t *vars);
bw_int_t bw_http_variable_unknown_header(bw_http_request_t *r,
    bw_http_variable_value_t *v, bw_str_t *var, bw_list_part_t *part,
    size_t prefix);
bw_int_t bw_http_variables_init_vars(bw_conf_t *cf);
extern bw_http_variable_value_t  bw_http_variable_null_value;

/* --- complex values ("text with $vars") --------------------------------- */

typedef struct {
    bw_uint_t    type;      /* 0 literal, 1 variable, 2 capture */
    bw_str_t     text;
    bw_uint_t    index;
} bw_http_script_part_t;

typedef struct {
    bw_str_t                 value;     /* the source, or the constant */
    bw_http_script_part_t   *parts;     /* NULL: a constant */
    bw_uint_t                nparts;
} bw_http_complex_value_t;

bw_int_t bw_http_compile_complex_value(bw_conf_t *cf,
    bw_http_complex_value_t *cv, bw_str_t *value);
bw_int_t bw_http_complex_value(bw_http_request_t *r,
    bw_http_complex_value_t *cv, bw_str_t *value);
/* escape: $1..$9 escaped as arguments (rewrite's rule) */
bw_int_t bw_http_complex_value_escaped(bw_http_request_t *r,
    bw_http_complex_value_t *cv, bw_str_t *value, bw_uint_t escape);
bw_uint_t bw_http_script_variables_count(bw_str_t *value);
/* A rate above this limits nothing (256 GiB a second): it keeps the
 * products of a rate and the seconds gone by far from overflowing, with a
 * rate a client may choose through variables. */
#define BW_LIMIT_RATE_MAX        ((size_t) 1 << 38)
#define BW_LIMIT_RATE_AFTER_MAX  ((size_t) 1 << 60)

char *bw_http_set_size_or_value(bw_conf_t *cf, bw_command_t *cmd, void *conf,
    bw_http_complex_value_t **cv);
size_t bw_http_limit_rate_value(bw_http_request_t *r,
    bw_http_complex_value_t *cv);

/* --- phases ------------------------------------------------------------- */

typedef enum {
    BW_HTTP_POST_READ_PHASE = 0,
    BW_HTTP_SERVER_REWRITE_PHASE,
    BW_HTTP_FIND_CONFIG_PHASE,
    BW_HTTP_REWRITE_PHASE,
    BW_HTTP_POST_REWRITE_PHASE,
    BW_HTTP_PREACCESS_PHASE,
    BW_HTTP_ACCESS_PHASE,
    BW_HTTP_POST_ACCESS_PHASE,
    BW_HTTP_PRECONTENT_PHASE,
    BW_HTTP_CONTENT_PHASE,
    BW_HTTP_LOG_PHASE
} bw_http_phases;

typedef bw_int_t (*bw_http_handler_pt)(bw_http_request_t *r);

typedef struct bw_http_phase_handler_s  bw_http_phase_handler_t;

typedef bw_int_t (*bw_http_phase_handler_pt)(bw_http_request_t *r,
    bw_http_phase_handler_t *ph);

struct bw_http_phase_handler_s {
    bw_http_phase_handler_pt  checker;
    bw_http_handler_pt        handler;
    bw_uint_t                 next;
};

typedef struct {
    bw_http_phase_handler_t  *handlers;
    bw_uint_t                 server_rewrite_index;
    bw_uint_t                 location_rewrite_index;
} bw_http_phase_engine_t;

typedef struct {
    bw_array_t                handlers;
} bw_http_phase_t;

/* --- core confs --------------------------------------------------------- */

typedef struct {
    bw_array_t                servers;         /* bw_http_core_srv_conf_t * */
    bw_http_phase_engine_t    phase_engine;
    bw_hash_t                 headers_in_hash;
    bw_array_t                variables;       /* bw_http_variable_t */
    bw_array_t                prefix_variables;
    bw_array_t               *ports;
    bw_http_phase_t           phases[BW_HTTP_LOG_PHASE + 1];
} bw_http_core_main_conf_t;

typedef struct {
    bw_regex_t               *regex;
    bw_http_core_srv_conf_t  *server;
    bw_str_t                  name;
} bw_http_server_name_t;

struct bw_http_core_srv_conf_s {
    bw_array_t                server_names;    /* bw_http_server_name_t */
    bw_http_conf_ctx_t       *ctx;
    u_char                   *file_name;
    bw_uint_t                 line;
    bw_str_t                  server_name;

    size_t                    connection_pool_size;
    size_t                    request_pool_size;
    size_t                    client_header_buffer_size;
    bw_uint_t                 large_client_header_buffers_num;
    size_t                    large_client_header_buffers_size;
    bw_msec_t                 client_header_timeout;
    bw_flag_t                 ignore_invalid_headers;
    bw_flag_t                 underscores_in_headers;
    bw_flag_t                 merge_slashes;
    bw_int_t                  max_headers;

    bw_array_t               *named_locations;  /* clcf pointers */
    unsigned                  listen:1;
};

typedef struct {
    bw_str_t                  name;
    bw_http_core_loc_conf_t  *clcf;
} bw_http_location_ref_t;

typedef struct {
    bw_int_t                  status;
    bw_int_t                  overwrite;
    bw_http_complex_value_t   value;
    bw_str_t                  args;
} bw_http_err_page_t;

typedef struct {
    bw_array_t               *lengths;
    bw_http_complex_value_t   value;
    bw_uint_t                 code;     /* "=404" as the last item */
    unsigned                  test_dir:1;
} bw_http_try_file_t;

typedef struct {
    bw_uint_t                 status;
    bw_http_complex_value_t  *text;     /* body text or redirect URL */
} bw_http_return_t;

struct bw_http_core_loc_conf_s {
    bw_str_t                  name;
    bw_regex_t               *regex;
    void                    **loc_conf;
    u_char                   *file_name;    /* where the block starts */
    bw_uint_t                 line;

    unsigned                  exact_match:1;
    unsigned                  noregex:1;
    unsigned                  auto_redirect:1;  /* "/x/" handed on
                                                   (proxy_pass): "/x"
                                                   gets 301 to it */
    unsigned                  named:1;
    unsigned                  noname:1;     /* an "if" block */
    unsigned                  lmt_excpt:1;  /* a limit_except block */
    unsigned                  internal_set:1;

    bw_flag_t                 internal;

    bw_http_handler_pt        handler;       /* content handler */

    bw_uint_t                 limit_except;  /* methods the block is for */
    void                    **limit_except_loc_conf;

    bw_array_t               *locations;     /* children, parse order */
    bw_array_t               *static_locations;  /* built at init */
    bw_array_t               *regex_locations;

    bw_str_t                  root;          /* root or alias value */
    bw_http_complex_value_t  *root_cv;
    bw_uint_t                 alias;         /* length of the location name */
    bw_flag_t                 root_set;

    bw_str_t                  default_type;
    bw_str_t                  post_action;   /* "": none */
    bw_hash_t                *types_hash;
    bw_array_t               *types;         /* bw_hash_key_t, at parse */

    off_t                     client_max_body_size;
    bw_msec_t                 client_body_timeout;
    bw_msec_t                 send_timeout;
    bw_msec_t                 keepalive_timeout;
    time_t                    keepalive_header;
    bw_uint_t                 keepalive_disable;  /* BW_HTTP_KA_DISABLE_ */
    bw_uint_t                 keepalive_requests;
    bw_uint_t                 lingering_close;
    bw_uint_t                 satisfy;
    bw_msec_t                 auth_delay;
    bw_msec_t                 lingering_time;
    bw_msec_t                 lingering_timeout;
    bw_flag_t                 sendfile;
    bw_flag_t                 tcp_nopush;
    bw_flag_t                 tcp_nodelay;
    size_t                    postpone_output;
    bw_uint_t                 server_tokens;
    bw_flag_t                 chunked_transfer_encoding;
    bw_msec_t                 keepalive_time;
    size_t                    sendfile_max_chunk;
    size_t                    limit_rate;
    size_t                    limit_rate_after;
    bw_http_complex_value_t  *limit_rate_cv;        /* with variables */
    bw_http_complex_value_t  *limit_rate_after_cv;
    bw_flag_t                 reset_timedout_connection;
    bw_flag_t                 etag;
    bw_uint_t                 if_modified_since;
    bw_flag_t                 absolute_redirect;
    bw_flag_t                 port_in_redirect;
    bw_flag_t                 server_name_in_redirect;
    bw_flag_t                 log_not_found;
    bw_flag_t                 recursive_error_pages;
    size_t                    client_body_buffer_size;
    bw_path_t                *client_body_temp_path;
    bw_uint_t                 client_body_in_file_only;
    bw_uint_t                 max_ranges;
    bw_flag_t                 client_body_in_single_buffer;
    bw_resolver_t            *resolver;
    bw_msec_t                 resolver_timeout;

    bw_array_t               *error_pages;   /* bw_http_err_page_t */
    bw_array_t               *try_files;     /* bw_http_try_file_t */

    bw_log_t                 *error_log;
    bw_http_return_t         *ret;           /* set by "return" */
};

#define BW_HTTP_LINGERING_OFF     0
#define BW_HTTP_LINGERING_ON      1
#define BW_HTTP_LINGERING_ALWAYS  2

/* clcf->alias of a regex location's own alias: the whole path */
#define BW_HTTP_ALIAS_WHOLE  ((bw_uint_t) -1)

/* keepalive_disable */
#define BW_HTTP_KA_DISABLE_NONE    0x0002
#define BW_HTTP_KA_DISABLE_MSIE6   0x0004
#define BW_HTTP_KA_DISABLE_SAFARI  0x0008

/* client_body_in_file_only */
#define BW_HTTP_BODY_IN_FILE_OFF    0
#define BW_HTTP_BODY_IN_FILE_ON     1
#define BW_HTTP_BODY_IN_FILE_CLEAN  2

#define BW_HTTP_SATISFY_ALL   0
#define BW_HTTP_SATISFY_ANY   1

#define BW_HTTP_IMS_OFF     0
#define BW_HTTP_IMS_EXACT   1
#define BW_HTTP_IMS_BEFORE  2

/* listen addresses, grouped per port */

typedef struct {
    bw_hash_combined_t        names;
    bw_array_t                regex;          /* bw_http_server_name_t */
    bw_http_core_srv_conf_t  *default_server;
    unsigned                  proxy_protocol:1;
    unsigned                  ssl:1;
    unsigned                  http2:1;
} bw_http_addr_conf_t;

typedef struct {
    bw_sockaddr_t             sockaddr;
    socklen_t                 socklen;
    bw_http_addr_conf_t       conf;
} bw_http_in_addr_t;

typedef struct {
    bw_http_in_addr_t        *addrs;
    bw_uint_t                 naddrs;
} bw_http_port_t;

typedef struct {
    bw_sockaddr_t             sockaddr;
    socklen_t                 socklen;
    bw_str_t                  addr_text;
    unsigned                  default_server:1;
    unsigned                  bind:1;
    unsigned                  reuseport:1;
    unsigned                  ipv6only:1;
    unsigned                  deferred_accept:1;
    unsigned                  proxy_protocol:1;
    unsigned                  ssl:1;
    unsigned                  http2:1;
    unsigned                  set:1;
    int                       backlog;
    int                       rcvbuf;
    int                       sndbuf;
    int                       so_keepalive;
    int                       tcp_keepidle, tcp_keepintvl, tcp_keepcnt;
} bw_http_listen_opt_t;

/* conf-time grouping of listen addresses (cmcf->ports; a module may
 * read them in its postconfiguration, as the TLS one does) */

typedef struct {
    bw_http_listen_opt_t   opt;
    bw_array_t             servers;    /* bw_http_core_srv_conf_t * */
    bw_http_core_srv_conf_t *default_server;
} bw_http_conf_addr_t;

typedef struct {
    int            family;
    in_port_t      port;
    bw_array_t     addrs;              /* bw_http_conf_addr_t */
} bw_http_conf_port_t;

/* --- connection and request --------------------------------------------- */

typedef struct {
    bw_http_addr_conf_t      *addr_conf;
    bw_buf_t                 *busy;      /* a large header buffer in use */
    bw_uint_t                 pipeline;
    bw_buf_t                **free;
    bw_uint_t                 nfree;
    bw_str_t                 *ssl_servername;   /* SNI, when TLS has one */
    bw_http_core_srv_conf_t  *ssl_server;       /* the server SNI chose */
} bw_http_connection_t;

/* c->log->data of a client connection: what its error lines name */
typedef struct {
    bw_connection_t    *connection;
    bw_http_request_t  *request;
} bw_http_log_ctx_t;

typedef void (*bw_http_event_handler_pt)(bw_http_request_t *r);

/*
 * Subrequests (subrequest.c). A subrequest runs a location of the same
 * server on the client's connection, from the server rewrite phase on,
 * and answers its parent rather than the client: for now only its
 * status and headers matter (auth_request), its body is dropped. When
 * it ends, post_subrequest->handler sees it and the parent is posted to
 * run again (its write_event_handler).
 */
typedef bw_int_t (*bw_http_post_subrequest_pt)(bw_http_request_t *r,
    void *data, bw_int_t rc);

typedef struct {
    bw_http_post_subrequest_pt   handler;
    void                        *data;
} bw_http_post_subrequest_t;

typedef struct bw_http_posted_request_s  bw_http_posted_request_t;

struct bw_http_posted_request_s {
    bw_http_request_t         *request;
    bw_http_posted_request_t  *next;
};

/* subrequests one request may start, nested or in turn (nginx's 50) */
#define BW_HTTP_MAX_SUBREQUESTS  50

struct bw_http_request_s {
    bw_connection_t          *connection;

    void                    **ctx;
    void                    **main_conf;
    void                    **srv_conf;
    void                    **loc_conf;

    bw_http_event_handler_pt  read_event_handler;
    bw_http_event_handler_pt  write_event_handler;

    bw_http_handler_pt        content_handler;
    bw_uint_t                 access_code;

    bw_http_variable_value_t *variables;

    bw_uint_t                 ncaptures;
    int                      *captures;
    u_char                   *captures_data;
    bw_regex_t               *captures_regex;   /* for named captures */

    bw_buf_t                 *header_in;
    bw_http_headers_in_t      headers_in;
    bw_http_headers_out_t     headers_out;
    bw_http_request_body_t   *request_body;
    struct bw_http_upstream_s *upstream;
    bw_array_t               *upstream_states;  /* every attempt of every
                                                   upstream this request
                                                   went to */

    time_t                    start_sec;
    bw_msec_t                 start_msec;
    bw_msec_t                 lingering_time;

    bw_uint_t                 method;
    bw_uint_t                 http_version;

    bw_str_t                  request_line;
    bw_str_t                  uri;
    bw_str_t                  args;
    bw_str_t                  exten;
    bw_str_t                  unparsed_uri;
    bw_str_t                  method_name;
    bw_str_t                  http_protocol;
    bw_str_t                  schema;
    bw_str_t                  host;       /* from an absolute-form target */

    bw_chain_t               *out;
    bw_http_request_t        *main;
    bw_http_request_t        *parent;           /* subrequests */
    bw_http_post_subrequest_t *post_subrequest;
    bw_http_posted_request_t *posted_requests;  /* main only */
    bw_http_posted_request_t  terminal_posted;  /* main only: a termination
                                                   waits here, allocating
                                                   nothing */
    bw_http_connection_t     *http_connection;
    bw_pool_t                *pool;
    void                     *stream;       /* the HTTP/2 stream that
                                               brought it; NULL: HTTP/1 */

    bw_int_t                  phase_handler;
    bw_uint_t                 err_status;
    off_t                     header_size;
    off_t                     request_length;
    bw_uint_t                 uri_changes;

    u_char                   *header_name_start;
    u_char                   *header_name_end;
    u_char                   *header_start;
    u_char                   *header_end;

    /* the last header name, lowercased and hashed by the parser (the
     * lowercase copy only when it fits) */
    bw_uint_t                 header_hash;
    u_char                    lowcase_header[BW_HTTP_LC_HEADER_LEN];

    size_t                    limit_rate;       /* bytes/s, 0: none */
    size_t                    limit_rate_after;

    unsigned                  count:16;
    unsigned                  subrequests:8;   /* how many more allowed */
    unsigned                  limit_rate_set:1; /* by $limit_rate */
    unsigned                  keepalive:1;
    unsigned                  lingering_close:1;
    unsigned                  discard_body:1;
    unsigned                  reading_body:1;
    unsigned                  request_body_no_buffering:1;
    unsigned                  internal:1;
    unsigned                  error_page:1;
    unsigned                  header_only:1;
    unsigned                  expect_trailers:1;  /* chunked, to end
                                                     with trailers */
    unsigned                  add_uri_to_alias:1; /* try_files under a
                                                     regex alias */
    unsigned                  header_sent:1;
    unsigned                  expect_tested:1;
    unsigned                  done:1;
    unsigned                  logged:1;
    unsigned                  terminated:1;
    unsigned                  background:1;     /* a subrequest nobody
                                                   waits for */
    unsigned                  post_action:1;    /* after the answer */
    unsigned                  stat_reading:1;   /* counted as reading, */
    unsigned                  stat_writing:1;   /* or writing */
    /* main only, kept across internal redirects: what limit_req and
     * limit_conn decided ($limit_req_status, $limit_conn_status) */
    unsigned                  limit_req_status:3;
    unsigned                  limit_conn_status:2;
    unsigned                  allow_ranges:1;
    unsigned                  single_range:1;   /* several: the whole */
    unsigned                  disable_not_modified:1;
    unsigned                  chunked:1;
    unsigned                  uri_changed:1;
    unsigned                  valid_unparsed_uri:1;  /* $uri is the
                                                        client's */
    unsigned                  valid_location:1;  /* $uri still starts
                                                    with the location's
                                                    prefix ("rewrite ...
                                                    break" clears it) */
    unsigned                  filter_finalize:1;
    unsigned                  pipeline:1;   /* came in behind another */
};

/* --- filters ------------------------------------------------------------ */

typedef bw_int_t (*bw_http_output_header_filter_pt)(bw_http_request_t *r);
typedef bw_int_t (*bw_http_output_body_filter_pt)(bw_http_request_t *r,
    bw_chain_t *chain);

extern bw_http_output_header_filter_pt  bw_http_top_header_filter;
extern bw_http_output_body_filter_pt    bw_http_top_body_filter;

bw_int_t bw_http_write_filter(bw_http_request_t *r, bw_chain_t *in);

/* --- functions ---------------------------------------------------------- */

typedef struct {
    bw_uint_t    code;
    bw_uint_t    http_version;
    bw_str_t     text;          /* "200 OK": code and reason */
} bw_http_status_t;

/* parse.c: pure functions over bytes, unit-tested and fuzzed */
bw_int_t bw_http_parse_status_line(u_char *p, u_char *end,
    bw_http_status_t *st, u_char **next);
bw_int_t bw_http_parse_request_line(bw_http_request_t *r, u_char *p,
    u_char *end, u_char **next);
/* Regular expressions with the request's captures (script.c): the
 * match's $1..$9 and named captures become the request's. BW_OK on a
 * match, BW_DECLINED on none, BW_ERROR. */
bw_int_t bw_http_regex_exec(bw_http_request_t *r, bw_regex_t *re,
    bw_str_t *s);
/* At configuration time: each named capture becomes a variable. */
bw_int_t bw_http_regex_add_names(bw_conf_t *cf, bw_regex_t *re);

/* c->local_sockaddr made exact for wildcard listeners (variables.c) */
bw_int_t bw_http_local_sockaddr(bw_http_request_t *r);

/* "Authorization: Basic" decoded (variables.c) */
bw_int_t bw_http_auth_basic_credentials(bw_http_request_t *r,
    bw_str_t *user, bw_str_t *passwd);

/* X-Forwarded-For's client address (forwarded.c) */
bw_int_t bw_http_forwarded_addr(bw_table_elt_t *h, bw_array_t *proxies,
    bw_uint_t recursive, bw_sockaddr_t *sa, socklen_t *socklen);

/* lowcase_key and hash of a header just parsed, from the parser's work */
bw_int_t bw_http_header_lowcase(bw_http_request_t *r, bw_table_elt_t *h);
bw_int_t bw_http_parse_header_line(bw_http_request_t *r, u_char **pos,
    u_char *end, bw_uint_t allow_underscores);
bw_int_t bw_http_normalize_uri(u_char *src, size_t len, u_char *dst,
    size_t *dst_len, bw_uint_t merge_slashes);
bw_int_t bw_http_parse_chunked(bw_http_chunked_t *ctx, u_char **pos,
    u_char *end, u_char **data, size_t *data_len);
off_t bw_http_chunked_min_rest(bw_http_chunked_t *ctx);
off_t bw_http_chunked_announced(bw_http_chunked_t *ctx);
bw_int_t bw_http_validate_host(bw_str_t *host, bw_pool_t *pool,
    bw_uint_t alloc);
bw_int_t bw_http_parse_method(bw_str_t *name);
bw_int_t bw_http_arg(bw_http_request_t *r, u_char *name, size_t len,
    bw_str_t *value);
bw_int_t bw_http_parse_multi_header_lines(bw_table_elt_t *headers,
    bw_str_t *name, bw_str_t *value);
bw_int_t bw_http_split_args(bw_http_request_t *r, bw_str_t *uri,
    bw_str_t *args);

/*
 * The TLS module's ways into the connection and the request, NULL when
 * the build leaves it out (it sets them in its preconfiguration): start
 * the handshake of a connection on a TLS listener; let the server SNI
 * chose stand, or refuse the one Host names (NULL: 421); check a request
 * before its phases (plain HTTP on the TLS port, client certificates).
 */
typedef struct {
    void                     (*init_connection)(bw_connection_t *c);
    bw_http_core_srv_conf_t *(*virtual_server)(bw_http_request_t *r,
                                  bw_str_t *host,
                                  bw_http_core_srv_conf_t *cscf);
    bw_int_t                 (*verify_request)(bw_http_request_t *r);
} bw_http_ssl_hooks_t;

extern bw_http_ssl_hooks_t  *bw_http_ssl_hooks;

/*
 * The HTTP/2 module's ways in, NULL when the build leaves it out: does
 * the connection (its address, or the server TLS chose) speak HTTP/2;
 * take a connection over (after ALPN chose "h2", or when its first
 * bytes, in c->buffer, are the HTTP/2 preface); and end a request's
 * stream once the request is freed (in place of closing the connection).
 */
typedef struct {
    bw_uint_t   (*enabled)(bw_connection_t *c);
    void        (*init_connection)(bw_connection_t *c);
    void        (*close_stream)(void *stream, bw_int_t rc);
    /* the response header (st: "200 OK", slen its length) */
    bw_int_t    (*header_filter)(bw_http_request_t *r, const char *st,
                                 size_t slen);
} bw_http_v2_hooks_t;

extern bw_http_v2_hooks_t  *bw_http_v2_hooks;

/* http1.c: the HTTP/1 connection */
void bw_http_init_connection(bw_connection_t *c);
void bw_http_wait_request_handler(bw_event_t *rev);
void bw_http_finalize_connection(bw_http_request_t *r);
void bw_http_close_connection(bw_connection_t *c);

/* request.c: the request lifecycle, whatever the protocol */
bw_http_request_t *bw_http_create_request(bw_connection_t *c);
bw_int_t bw_http_process_request_header(bw_http_request_t *r);
void bw_http_process_request(bw_http_request_t *r);
void bw_http_request_handler(bw_event_t *ev);
void bw_http_finalize_request(bw_http_request_t *r, bw_int_t rc);
void bw_http_terminate_request(bw_http_request_t *r, bw_int_t rc);
void bw_http_close_request(bw_http_request_t *r, bw_int_t rc);
void bw_http_free_request(bw_http_request_t *r, bw_int_t rc);
void bw_http_log_request(bw_http_request_t *r);
bw_int_t bw_http_write_event_ready(bw_http_request_t *r);

/* subrequest.c */
bw_int_t bw_http_subrequest(bw_http_request_t *r, bw_str_t *uri,
    bw_str_t *args, bw_http_request_t **psr, bw_http_post_subrequest_t *ps);
void bw_http_finalize_subrequest(bw_http_request_t *r, bw_int_t rc);
bw_int_t bw_http_subrequest_background(bw_http_request_t *r);
void bw_http_finalize_background(bw_http_request_t *r, bw_int_t rc);
bw_int_t bw_http_post_request(bw_http_request_t *r);
void bw_http_run_posted_requests(bw_connection_t *c);
void bw_http_request_empty_handler(bw_http_request_t *r);
void bw_http_block_reading(bw_http_request_t *r);
bw_int_t bw_http_process_request_uri(bw_http_request_t *r);
bw_int_t bw_http_set_exten(bw_http_request_t *r);

/* request_body.c */
bw_int_t bw_http_discard_request_body(bw_http_request_t *r);
bw_int_t bw_http_read_unbuffered_request_body(bw_http_request_t *r);
/* $request_body and $request_body_file */
bw_int_t bw_http_variable_request_body(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
bw_int_t bw_http_variable_request_body_file(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
bw_int_t bw_http_read_client_request_body(bw_http_request_t *r,
    bw_http_client_body_handler_pt post_handler);

/* send_file.c: an open regular file as the whole answer */
bw_int_t bw_http_send_open_file(bw_http_request_t *r, int fd,
    struct stat *st, bw_str_t *path, bw_uint_t ranges);

/* mime_types.c: lists of types a module applies to */
char *bw_http_types_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf);
char *bw_http_merge_types_list(bw_conf_t *cf, bw_array_t **types,
    bw_array_t **prev, const char **defaults);
bw_uint_t bw_http_test_content_type(bw_http_request_t *r, bw_array_t *types);

/* directives of the core module that have files of their own */
char *bw_http_core_server(bw_conf_t *cf, bw_command_t *cmd, void *dummy);
char *bw_http_core_location(bw_conf_t *cf, bw_command_t *cmd, void *dummy);
char *bw_http_core_limit_except(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
char *bw_http_core_listen(bw_conf_t *cf, bw_command_t *cmd, void *conf);
char *bw_http_core_try_files(bw_conf_t *cf, bw_command_t *cmd, void *conf);
bw_int_t bw_http_core_try_files_handler(bw_http_request_t *r);

/* phases.c: the checkers the phase engine walks */
bw_int_t bw_http_core_generic_phase(bw_http_request_t *r,
    bw_http_phase_handler_t *ph);
bw_int_t bw_http_core_rewrite_phase(bw_http_request_t *r,
    bw_http_phase_handler_t *ph);
bw_int_t bw_http_core_find_config_phase(bw_http_request_t *r,
    bw_http_phase_handler_t *ph);
bw_int_t bw_http_core_post_rewrite_phase(bw_http_request_t *r,
    bw_http_phase_handler_t *ph);
bw_int_t bw_http_core_access_phase(bw_http_request_t *r,
    bw_http_phase_handler_t *ph);
bw_int_t bw_http_core_post_access_phase(bw_http_request_t *r,
    bw_http_phase_handler_t *ph);
bw_int_t bw_http_core_content_phase(bw_http_request_t *r,
    bw_http_phase_handler_t *ph);

/* core module */
void bw_http_handler(bw_http_request_t *r);
void bw_http_core_run_phases(bw_http_request_t *r);
bw_int_t bw_http_send_header(bw_http_request_t *r);
bw_int_t bw_http_output_filter(bw_http_request_t *r, bw_chain_t *chain);
bw_int_t bw_http_internal_redirect(bw_http_request_t *r, bw_str_t *uri,
    bw_str_t *args);
bw_int_t bw_http_named_location(bw_http_request_t *r, bw_str_t *name);
void bw_http_update_location_config(bw_http_request_t *r);
u_char *bw_http_map_uri_to_path(bw_http_request_t *r, bw_str_t *name,
    size_t *root_length, size_t reserved);
bw_int_t bw_http_set_content_type(bw_http_request_t *r);
bw_int_t bw_http_set_etag(bw_http_request_t *r);
bw_int_t bw_http_send_response(bw_http_request_t *r, bw_uint_t status,
    bw_str_t *ct, bw_http_complex_value_t *cv);
/* The header lines of a list named name (any case), one a call:
 * it.part = &list->part, it.i = 0 to begin; NULL after the last. */
typedef struct {
    bw_list_part_t  *part;
    bw_uint_t        i;
} bw_http_header_iter_t;
bw_table_elt_t *bw_http_header_next(bw_http_header_iter_t *it,
    const char *name, size_t len);
bw_table_elt_t *bw_http_add_header_out(bw_http_request_t *r,
    const char *name, bw_str_t *value);
void bw_http_clear_content_length(bw_http_request_t *r);
void bw_http_clear_accept_ranges(bw_http_request_t *r);
void bw_http_clear_last_modified(bw_http_request_t *r);
void bw_http_clear_location(bw_http_request_t *r);
void bw_http_clear_etag(bw_http_request_t *r);
bw_int_t bw_http_special_response_handler(bw_http_request_t *r,
    bw_int_t error);
bw_int_t bw_http_filter_finalize_request(bw_http_request_t *r,
    bw_module_t *m, bw_int_t error);
bw_int_t bw_http_merge_types(bw_conf_t *cf, bw_array_t **keys,
    bw_hash_t **types_hash, bw_array_t **prev_keys,
    bw_hash_t **prev_types_hash, bw_str_t *default_types);
bw_http_core_srv_conf_t *bw_http_find_virtual_server(bw_connection_t *c,
    bw_http_addr_conf_t *addr_conf, bw_str_t *host, bw_http_request_t *r);
bw_int_t bw_http_core_find_location(bw_http_request_t *r);
bw_int_t bw_http_init_locations(bw_conf_t *cf,
    bw_http_core_loc_conf_t *pclcf);
bw_int_t bw_http_add_listen(bw_conf_t *cf, bw_http_core_srv_conf_t *cscf,
    bw_http_listen_opt_t *lsopt);
bw_http_conf_ctx_t *bw_http_create_conf_ctx(bw_conf_t *cf,
    bw_http_conf_ctx_t *parent, bw_uint_t levels);
bw_int_t bw_http_add_location(bw_conf_t *cf, bw_array_t **locations,
    bw_http_core_loc_conf_t *clcf);
bw_int_t bw_http_add_phase_handler(bw_conf_t *cf, bw_http_phases phase,
    bw_http_handler_pt handler);
bw_int_t bw_http_optimize_servers(bw_conf_t *cf,
    bw_http_core_main_conf_t *cmcf);
const char *bw_http_status_text(bw_uint_t status, size_t *len);

#include <bw_http_upstream.h>

#endif
