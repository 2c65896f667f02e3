/*
 * The upstream framework: everything a proxying content handler needs
 * between "this request goes to a backend" and "the response is with the
 * client": peer choice through the balancer, connect, send the request,
 * read and parse the response header (through the module's callbacks),
 * stream the body through the filter chain with bounded buffers, retry
 * on the next peer, and the $upstream_* variables.
 */

#ifndef BW_HTTP_UPSTREAM_H
#define BW_HTTP_UPSTREAM_H

#include <bw_http.h>

/* proxy_next_upstream: what makes a request go to the next peer */
#define BW_HTTP_UPSTREAM_FT_ERROR           0x00000002
#define BW_HTTP_UPSTREAM_FT_TIMEOUT         0x00000004
#define BW_HTTP_UPSTREAM_FT_INVALID_HEADER  0x00000008
#define BW_HTTP_UPSTREAM_FT_HTTP_500        0x00000010
#define BW_HTTP_UPSTREAM_FT_HTTP_502        0x00000020
#define BW_HTTP_UPSTREAM_FT_HTTP_503        0x00000040
#define BW_HTTP_UPSTREAM_FT_HTTP_504        0x00000080
#define BW_HTTP_UPSTREAM_FT_HTTP_403        0x00000100
#define BW_HTTP_UPSTREAM_FT_HTTP_404        0x00000200
#define BW_HTTP_UPSTREAM_FT_HTTP_429        0x00000400
#define BW_HTTP_UPSTREAM_FT_NOLIVE          0x40000000
#define BW_HTTP_UPSTREAM_FT_NON_IDEMPOTENT  0x00010000
#define BW_HTTP_UPSTREAM_FT_OFF             0x80000000

#define BW_HTTP_UPSTREAM_FT_STATUS  (BW_HTTP_UPSTREAM_FT_HTTP_500 \
                                     |BW_HTTP_UPSTREAM_FT_HTTP_502 \
                                     |BW_HTTP_UPSTREAM_FT_HTTP_503 \
                                     |BW_HTTP_UPSTREAM_FT_HTTP_504 \
                                     |BW_HTTP_UPSTREAM_FT_HTTP_403 \
                                     |BW_HTTP_UPSTREAM_FT_HTTP_404 \
                                     |BW_HTTP_UPSTREAM_FT_HTTP_429)

/* proxy_ignore_headers */
#define BW_HTTP_UPSTREAM_IGN_XA_REDIRECT     0x00000002
#define BW_HTTP_UPSTREAM_IGN_XA_EXPIRES      0x00000004
#define BW_HTTP_UPSTREAM_IGN_EXPIRES         0x00000008
#define BW_HTTP_UPSTREAM_IGN_CACHE_CONTROL   0x00000010
#define BW_HTTP_UPSTREAM_IGN_SET_COOKIE      0x00000020
#define BW_HTTP_UPSTREAM_IGN_XA_LIMIT_RATE   0x00000040
#define BW_HTTP_UPSTREAM_IGN_XA_BUFFERING    0x00000080
#define BW_HTTP_UPSTREAM_IGN_XA_CHARSET      0x00000100
#define BW_HTTP_UPSTREAM_IGN_VARY            0x00000200

/* which "server" parameters a balancer supports */
#define BW_HTTP_UPSTREAM_CREATE        0x0001
#define BW_HTTP_UPSTREAM_WEIGHT        0x0002
#define BW_HTTP_UPSTREAM_MAX_FAILS     0x0004
#define BW_HTTP_UPSTREAM_FAIL_TIMEOUT  0x0008
#define BW_HTTP_UPSTREAM_DOWN          0x0010
#define BW_HTTP_UPSTREAM_BACKUP        0x0020
#define BW_HTTP_UPSTREAM_MAX_CONNS     0x0100

typedef struct bw_http_upstream_s           bw_http_upstream_t;
typedef struct bw_http_upstream_srv_conf_s  bw_http_upstream_srv_conf_t;
/* the disk cache's settings of a location (modules/http_cache) */
typedef struct bw_http_upstream_cache_conf_s  bw_http_upstream_cache_conf_t;

typedef bw_int_t (*bw_http_upstream_init_pt)(bw_conf_t *cf,
    bw_http_upstream_srv_conf_t *us);
typedef bw_int_t (*bw_http_upstream_init_peer_pt)(bw_http_request_t *r,
    bw_http_upstream_srv_conf_t *us);

/*
 * init_upstream runs once per upstream block at configuration time;
 * it is the balancer's own init unless a wrapper (keepalive) sits in
 * front, which then calls bw_http_upstream_init_balancer() itself, so
 * that the balancer and keepalive directives may come in any order.
 */
typedef struct {
    bw_http_upstream_init_pt        init_upstream;
    bw_http_upstream_init_pt        balancer;     /* NULL: round robin */
    const char                     *balancer_name;
    bw_http_upstream_init_peer_pt   init;
    void                           *data;
} bw_http_upstream_peer_t;

/* One "server" line of an upstream block. */
typedef struct {
    bw_str_t                        name;
    bw_addr_t                      *addrs;
    bw_uint_t                       naddrs;
    bw_uint_t                       weight;
    bw_uint_t                       max_conns;
    bw_uint_t                       max_fails;
    time_t                          fail_timeout;
    bw_uint_t                       id;         /* from a state file */
    bw_str_t                        host;       /* "resolve": the name */
    in_port_t                       port;       /* and its port */
    unsigned                        down:1;
    unsigned                        backup:1;
    unsigned                        resolve:1;  /* addresses found and
                                                   kept at run time */
} bw_http_upstream_server_t;

struct bw_http_upstream_srv_conf_s {
    bw_http_upstream_peer_t         peer;
    void                          **srv_conf;   /* the block's modules */

    bw_array_t                     *servers;    /* server_t */
    bw_shm_zone_t                  *shm_zone;   /* "zone": peers shared
                                                   and changeable */
    bw_str_t                        state;      /* "state": the servers'
                                                   file, instead of lines */
    bw_uint_t                       flags;
    bw_str_t                        host;
    u_char                         *file_name;
    bw_uint_t                       line;
    in_port_t                       port;
    unsigned                        no_port:1;
    unsigned                        implicit:1; /* from proxy_pass URL */
    unsigned                        mandatory:4; /* health_checks with
                                                    mandatory (a bit each):
                                                    peers start out */
    unsigned                        persistent:1; /* ... but those up before
                                                     a reload start up */
    unsigned                        resolve:1;  /* a server with "resolve" */
};

typedef struct {
    bw_array_t                      upstreams;  /* srv_conf_t * */
} bw_http_upstream_main_conf_t;

/*
 * TLS to upstreams: a client context, and the sessions this process
 * holds for resuming, one per upstream address (a small table: an
 * address that does not fit takes the oldest slot).
 */
#define BW_HTTP_UPSTREAM_SSL_SESSIONS  64

#define BW_HTTP_UPSTREAM_SSL_NAME_LEN  255

/* a session is resumed only with the address and server name it was
 * made with (RFC 8446, 4.6.1) */
typedef struct {
    bw_sockaddr_t                   sockaddr;
    socklen_t                       socklen;
    SSL_SESSION                    *session;
    size_t                          name_len;
    u_char                          name[BW_HTTP_UPSTREAM_SSL_NAME_LEN];
} bw_http_upstream_ssl_session_t;

typedef struct {
    bw_ssl_t                        ssl;
    bw_http_upstream_ssl_session_t *sessions;
    bw_uint_t                       next;     /* the slot taken next */
} bw_http_upstream_ssl_t;

/* A module's (proxy's) settings for the framework. */
typedef struct {
    bw_http_upstream_srv_conf_t    *upstream;

    bw_msec_t                       connect_timeout;
    bw_msec_t                       send_timeout;
    bw_msec_t                       read_timeout;
    bw_msec_t                       next_upstream_timeout;

    size_t                          buffer_size;
    bw_bufs_t                       bufs;
    size_t                          busy_buffers_size;
    size_t                          busy_buffers_size_conf;  /* as set */
    size_t                          max_temp_file_size;
    size_t                          max_temp_file_size_conf;
    size_t                          temp_file_write_size;
    size_t                          temp_file_write_size_conf;
    bw_path_t                      *temp_path;

    bw_uint_t                       next_upstream;
    bw_uint_t                       next_upstream_tries;
    bw_uint_t                       ignore_headers;

    bw_flag_t                       buffering;
    bw_flag_t                       request_buffering;
    bw_flag_t                       pass_request_headers;
    bw_flag_t                       pass_request_body;
    bw_flag_t                       intercept_errors;
    bw_flag_t                       ignore_client_abort;
    bw_flag_t                       proxy_protocol;   /* to the upstream */
    bw_flag_t                       force_ranges;
    size_t                          limit_rate;       /* reading, bytes/s */
    bw_http_complex_value_t        *limit_rate_cv;    /* with variables */
    bw_flag_t                       socket_keepalive;

    bw_hash_t                       hide_headers_hash;
    bw_array_t                     *hide_headers;
    bw_array_t                     *pass_headers;

    bw_addr_t                      *local;
    bw_http_complex_value_t        *local_cv;     /* *_bind $var */

    /* TLS (proxy_pass https://): NULL where no location needs it */
    bw_http_upstream_ssl_t         *ssl;
    bw_flag_t                       ssl_session_reuse;
    bw_flag_t                       ssl_server_name;
    bw_flag_t                       ssl_verify;
    bw_http_complex_value_t        *ssl_name;
    /* a client certificate named with variables: loaded per connection */
    bw_http_complex_value_t        *ssl_certificate;
    bw_http_complex_value_t        *ssl_certificate_key;
    bw_array_t                     *ssl_passwords;

    /* proxy_cache: NULL where the location has none */
    bw_http_upstream_cache_conf_t  *cache;
} bw_http_upstream_conf_t;

/* What one attempt did: $upstream_addr, $upstream_status, ... */
typedef struct {
    bw_uint_t                       status;
    bw_msec_t                       start;
    bw_msec_t                       response_time;
    bw_msec_t                       connect_time;
    bw_msec_t                       header_time;
    off_t                           bytes_received;
    off_t                           bytes_sent;
    off_t                           response_length;  /* of the body */
    bw_str_t                       *peer;
    unsigned                        next_upstream:1;  /* not an attempt:
                                                         an internal
                                                         redirect went to
                                                         another upstream
                                                         (" : " in the log) */
} bw_http_upstream_state_t;

typedef struct {
    bw_list_t                       headers;
    bw_uint_t                       status_n;
    bw_str_t                        status_line;

    bw_table_elt_t                 *content_length;
    bw_table_elt_t                 *transfer_encoding;
    bw_table_elt_t                 *x_accel_buffering;
    bw_table_elt_t                 *x_accel_limit_rate;
    bw_table_elt_t                 *x_accel_redirect;

    off_t                           content_length_n;
    unsigned                        connection_close:1;
    unsigned                        chunked:1;
    unsigned                        chunked_seen:1;   /* by a CGI parse */
    unsigned                        upgrade:1;
} bw_http_upstream_headers_in_t;

/* A proxy_pass with variables that named no upstream block: a literal
 * address or a host name, which the upstream turns into addrs (asking
 * the resolver for a name) before the first attempt. */
typedef struct {
    bw_str_t                        host;
    in_port_t                       port;
    bw_addr_t                      *addrs;
    bw_uint_t                       naddrs;
    bw_sockaddr_t                   sockaddr;   /* a literal's */
    bw_resolver_ctx_t              *ctx;
} bw_http_upstream_resolved_t;

typedef void (*bw_http_upstream_handler_pt)(bw_http_request_t *r,
    bw_http_upstream_t *u);

struct bw_http_upstream_s {
    bw_http_upstream_handler_pt     read_event_handler;
    bw_http_upstream_handler_pt     write_event_handler;

    bw_peer_connection_t            peer;
    bw_http_upstream_conf_t        *conf;
    bw_http_upstream_srv_conf_t    *upstream;
    bw_http_upstream_resolved_t    *resolved;

    bw_http_upstream_headers_in_t   headers_in;

    bw_buf_t                        buffer;      /* header, then body */
    off_t                           length;      /* body bytes to come;
                                                    -1: until close */
    bw_chain_t                     *request_bufs;
    bw_chain_t                     *request_out; /* still to be sent */

    bw_chain_t                     *out_bufs;    /* read, not yet passed */
    bw_chain_t                     *busy_bufs;   /* passed, not yet sent */
    bw_chain_t                     *free_bufs;
    bw_uint_t                       nbufs;       /* allocated so far */
    bw_buf_t                        flush_buf;

    /* the part of the body a slow client has not taken yet, on disk */
    bw_file_t                      *temp_file;
    bw_buf_t                       *temp_pending; /* written, not yet
                                                     passed on */
    bw_buf_t                       *temp_passed;  /* the range passed
                                                     last */
    bw_event_t                      spill_timer;  /* the client is slow:
                                                     use the file */

    bw_int_t                      (*create_request)(bw_http_request_t *r);
    /* the cache key when none is configured */
    bw_int_t                      (*create_key)(bw_http_request_t *r,
                                                bw_str_t *key);
    bw_int_t                      (*reinit_request)(bw_http_request_t *r);
    bw_int_t                      (*process_header)(bw_http_request_t *r);
    bw_int_t                      (*input_filter_init)(bw_http_request_t *r);
    /* turn the raw bytes in b into body data in place; may set
     * u->length to 0 when the body is complete */
    bw_int_t                      (*input_filter)(bw_http_request_t *r,
                                                  bw_buf_t *b);
    void                          (*finalize_request)(bw_http_request_t *r,
                                                      bw_int_t rc);
    bw_int_t                      (*rewrite_redirect)(bw_http_request_t *r,
                                                      bw_table_elt_t *h,
                                                      size_t prefix);
    bw_int_t                      (*rewrite_cookie)(bw_http_request_t *r,
                                                    bw_table_elt_t *h);
    void                           *input_filter_ctx;
    bw_http_chunked_t               chunked;     /* a chunked body's
                                                    parser */
    /* request buffering off: the body's bytes in data, framed by the
     * module (FastCGI's STDIN records); last: the body ends with them.
     * The chain is sent whole before data is refilled; NULL if nothing
     * is to go, BW_CHAIN_ERROR. Not set: the bytes go as they are, or
     * chunked (request_chunked) */
    bw_chain_t                   *(*stream_frame)(bw_http_request_t *r,
                                                  bw_buf_t *data,
                                                  bw_uint_t last);

    bw_msec_t                       start_time;
    bw_addr_t                      *local;        /* *_bind, this request's */
    time_t                          start_sec;    /* of the body */
    size_t                          limit_rate;   /* its reading, bytes/s */
    off_t                           read_length;  /* of the body so far */
    off_t                           sent_start;   /* the connection's sent
                                                     when this attempt took
                                                     it (a pooled one has
                                                     sent before) */
    bw_http_upstream_state_t       *state;
    bw_array_t                     *states;       /* r->upstream_states */
    bw_uint_t                       first_state;  /* this upstream's */

    bw_str_t                        schema;
    bw_str_t                        ssl_name;   /* checked against the
                                                   certificate */
    bw_str_t                        ssl_sni;    /* sent, if any */

    bw_pool_cleanup_t              *cleanup;

    /* request buffering off: the body's framing buffers */
    struct bw_http_upstream_stream_s  *stream;

    void                           *cache;       /* the cache's state */
    bw_uint_t                       cache_status;  /* BW_HTTP_CACHE_* */
    bw_chain_t                     *cache_body;  /* a hit's body */

    unsigned                        keepalive:1;
    unsigned                        upgrade:1;
    unsigned                        ssl:1;        /* https:// */
    unsigned                        buffering:1;
    unsigned                        request_sent:1;
    unsigned                        request_body_sent:1;
    unsigned                        request_chunked:1;  /* body sent
                                                           chunked */
    unsigned                        header_sent:1;
    unsigned                        body_done:1;
    unsigned                        upstream_error:1;
    unsigned                        last_sent:1;
    unsigned                        temp_full:1;  /* no more to the file */
    unsigned                        spill_now:1;  /* the client was stuck
                                                     long enough */
    unsigned                        unflushed:1;  /* the last buffer went
                                                     as "more at once" */
    unsigned                        cacheable:1;  /* the body is stored */
    unsigned                        cached:1;     /* answered from the
                                                     cache */
    unsigned                        cache_whole:1;  /* the cache asks the
                                                       upstream for the
                                                       whole answer */
    unsigned                        head_as_get:1;  /* a HEAD sent as GET
                                                       (cache_convert_head) */
};

/* $upstream_cache_status */
#define BW_HTTP_CACHE_MISS         1
#define BW_HTTP_CACHE_BYPASS       2
#define BW_HTTP_CACHE_EXPIRED      3
#define BW_HTTP_CACHE_STALE        4
#define BW_HTTP_CACHE_UPDATING     5
#define BW_HTTP_CACHE_REVALIDATED  6
#define BW_HTTP_CACHE_HIT          7

/*
 * The disk cache (modules/http_cache), which the framework reaches only
 * through these hooks; NULL in a build without it.
 *
 * lookup, before the first attempt: BW_DECLINED the request goes to the
 * upstream (u->cache says whether and how its answer is stored);
 * BW_OK a hit: u->buffer holds the stored response header, u->cache_body
 * the body; BW_AGAIN the request waits for another's fetch of the entry
 * (proxy_cache_lock) and comes back through
 * bw_http_upstream_cache_resume(); BW_DONE the cache answered (a purge);
 * a status of 300 or more: a kept intercepted error, for error_page;
 * BW_ERROR. store_header, when the response header is in:
 * sets u->cacheable if the answer is to be stored. store_body for each
 * decoded piece of the body; store_end once, complete or not.
 */
typedef struct {
    bw_int_t  (*lookup)(bw_http_request_t *r, bw_http_upstream_t *u);
    bw_int_t  (*store_header)(bw_http_request_t *r, bw_http_upstream_t *u);
    bw_int_t  (*store_body)(bw_http_request_t *r, bw_http_upstream_t *u,
                            bw_buf_t *b);
    void      (*store_end)(bw_http_request_t *r, bw_http_upstream_t *u,
                           bw_uint_t complete);
    /* the stored header of a hit did not parse: the entry goes, and the
     * request is a miss */
    void      (*invalid)(bw_http_request_t *r, bw_http_upstream_t *u);
    /* an EXPIRED request's upstream failed (ft_type), or answered 304
     * (0): BW_OK if the stored answer goes instead, set up as for a hit
     * (u->cache_status STALE or REVALIDATED) */
    bw_int_t  (*use_stored)(bw_http_request_t *r, bw_http_upstream_t *u,
                            bw_uint_t ft_type);
    /* the upstream request ends: a store not complete is dropped */
    void      (*finalize)(bw_http_request_t *r, bw_http_upstream_t *u);
    /* an error status the location intercepts (proxy_intercept_errors):
     * kept for proxy_cache_valid's time, lookup then returns it */
    void      (*store_error)(bw_http_request_t *r, bw_http_upstream_t *u,
                             bw_uint_t status);
} bw_http_upstream_cache_ops_t;

extern const bw_http_upstream_cache_ops_t  *bw_http_upstream_cache_ops;

void bw_http_upstream_cache_resume(bw_http_request_t *r);

extern bw_module_t  bw_http_upstream_module;

#define bw_http_conf_upstream_srv_conf(uscf, module) \
    (uscf)->srv_conf[module.ctx_index]

#define BW_HTTP_UPSTREAM_INVALID_HEADER  40

bw_int_t bw_http_upstream_create(bw_http_request_t *r);
void bw_http_upstream_next(bw_http_request_t *r, bw_http_upstream_t *u,
    bw_uint_t ft_type);
void bw_http_upstream_finalize_request(bw_http_request_t *r,
    bw_http_upstream_t *u, bw_int_t rc);
/* request buffering off (upstream_request_body.c): BW_OK when the whole
 * body is out, BW_AGAIN while waiting on either side, BW_ERROR on an
 * upstream error, a status >= 300 on a client error */
bw_int_t bw_http_upstream_stream_body(bw_http_request_t *r,
    bw_http_upstream_t *u);
void bw_http_upstream_dummy_handler(bw_http_request_t *r,
    bw_http_upstream_t *u);
void bw_http_upstream_init(bw_http_request_t *r);
bw_http_upstream_srv_conf_t *bw_http_upstream_add(bw_conf_t *cf,
    bw_url_t *u, bw_uint_t flags);
bw_http_upstream_srv_conf_t *bw_http_upstream_current(bw_conf_t *cf);
bw_int_t bw_http_upstream_url_addrs(bw_conf_t *cf, bw_url_t *u,
    bw_http_upstream_server_t *us);
bw_http_upstream_srv_conf_t *bw_http_upstream_find(
    bw_http_upstream_main_conf_t *umcf, bw_str_t *host, in_port_t port);

/* upstream_module_conf.c: a proxying module's settings (proxy, fastcgi,
 * uwsgi, scgi) */
typedef struct {
    const char                     *prefix;        /* "fastcgi" */
    const char                     *temp_path;     /* default, relative
                                                      to the prefix */
    bw_str_t                       *hide_headers;  /* default, ends with
                                                      a null string */
} bw_http_upstream_conf_names_t;

extern bw_conf_bitmask_t  bw_http_upstream_next_upstream_masks[];
extern bw_conf_bitmask_t  bw_http_upstream_ignore_headers_masks[];

void bw_http_upstream_conf_init(bw_http_upstream_conf_t *conf);
char *bw_http_upstream_conf_merge(bw_conf_t *cf,
    bw_http_upstream_conf_t *conf, bw_http_upstream_conf_t *prev,
    const bw_http_upstream_conf_names_t *names);
bw_int_t bw_http_upstream_hide_headers_hash(bw_conf_t *cf,
    bw_http_upstream_conf_t *conf, bw_http_upstream_conf_t *prev,
    bw_str_t *default_hide_headers);
char *bw_http_upstream_bind_set_slot(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
char *bw_http_upstream_buffers_slot(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
char *bw_http_upstream_accepted_slot(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
char *bw_http_upstream_send_lowat_slot(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
char *bw_http_upstream_complex_slot(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
char *bw_http_upstream_limit_rate_slot(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
bw_int_t bw_http_upstream_add_variables(bw_conf_t *cf);

/* upstream_params.c: fastcgi_param, uwsgi_param, scgi_param */
typedef struct {
    bw_str_t                        key;
    bw_http_complex_value_t         value;
    unsigned                        skip_empty:1;   /* if_not_empty */
} bw_http_upstream_param_t;

typedef struct {
    bw_array_t                     *source;   /* as written; UNSET_PTR */
    bw_array_t                     *params;   /* param_t, compiled */
    bw_hash_t                       headers;  /* the request headers an
                                                 HTTP_* param replaces */
} bw_http_upstream_params_t;

/* One parameter of a request: a configured one, or a client's header
 * (header set: its name is "HTTP_..." of key.len bytes, written with
 * bw_http_upstream_param_name(); key.data is NULL) */
typedef struct {
    bw_str_t                        key;
    bw_str_t                        value;
    bw_table_elt_t                 *header;
} bw_http_upstream_param_value_t;

void bw_http_upstream_params_init(bw_http_upstream_params_t *p);
char *bw_http_upstream_param_slot(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
bw_int_t bw_http_upstream_params_merge(bw_conf_t *cf,
    bw_http_upstream_params_t *conf, bw_http_upstream_params_t *prev);
bw_array_t *bw_http_upstream_params_eval(bw_http_request_t *r,
    bw_http_upstream_params_t *p, bw_uint_t pass_headers);
u_char *bw_http_upstream_param_name(u_char *dst, bw_table_elt_t *h);

/* upstream_pass.c: fastcgi_pass, uwsgi_pass, scgi_pass addresses */
const char *bw_http_upstream_pass_split(bw_str_t *url, bw_url_t *u);
char *bw_http_upstream_pass_conf(bw_conf_t *cf, bw_str_t *url,
    bw_http_upstream_srv_conf_t **uscf);
bw_int_t bw_http_upstream_pass_eval(bw_http_request_t *r, bw_str_t *url);
char *bw_http_upstream_pass_set(bw_conf_t *cf, bw_http_handler_pt handler,
    bw_str_t *url, bw_http_upstream_srv_conf_t **uscf,
    bw_http_complex_value_t **cv);
bw_int_t bw_http_upstream_pass_target(bw_http_request_t *r,
    bw_http_upstream_srv_conf_t *uscf, bw_http_complex_value_t *cv);

/* TLS to upstreams (upstream_ssl.c) */
/* The host part of a proxy_ssl_name value ("name", "name:port",
 * "[v6]:port"), in place; 1 when it is an address, never sent as a
 * server name. */
bw_uint_t bw_http_upstream_ssl_host_part(bw_str_t *name);
/* Does the peer's certificate name this host (or IP address)? */
bw_int_t bw_http_upstream_ssl_check_host(bw_connection_t *c,
    bw_str_t *name);
bw_int_t bw_http_upstream_ssl_setup(bw_conf_t *cf,
    bw_http_upstream_ssl_t *ussl, bw_uint_t session_reuse,
    bw_uint_t verify, bw_uint_t depth);
void bw_http_upstream_ssl_init_connection(bw_http_request_t *r,
    bw_http_upstream_t *u, bw_connection_t *c);
/* upstream.c: TLS is up, the request goes out as on a plain connection */
void bw_http_upstream_ssl_handshaked(bw_http_request_t *r,
    bw_http_upstream_t *u);

/* a balancer directive (least_conn, hash, ...) */
char *bw_http_upstream_set_balancer(bw_conf_t *cf, const char *name,
    bw_http_upstream_init_pt init, bw_uint_t flags);
bw_int_t bw_http_upstream_init_balancer(bw_conf_t *cf,
    bw_http_upstream_srv_conf_t *us);

/* the default balancer, core/http/upstream_round_robin.c */
bw_int_t bw_http_upstream_init_round_robin(bw_conf_t *cf,
    bw_http_upstream_srv_conf_t *us);
bw_int_t bw_http_upstream_init_round_robin_peer(bw_http_request_t *r,
    bw_http_upstream_srv_conf_t *us);
bw_int_t bw_http_upstream_create_round_robin_peer(bw_http_request_t *r,
    bw_http_upstream_resolved_t *ur);

/* upstream_headers.c: which of the upstream's header lines
 * bw_http_upstream_copy_headers() takes */
#define BW_HTTP_UPSTREAM_COPY_ALL         0
#define BW_HTTP_UPSTREAM_COPY_REDIRECT    1   /* for X-Accel-Redirect */
#define BW_HTTP_UPSTREAM_COPY_CHALLENGES  2   /* WWW-Authenticate */
bw_uint_t bw_http_upstream_hop_header(bw_table_elt_t *h);
bw_int_t bw_http_upstream_header_line(bw_http_request_t *r,
    bw_http_upstream_t *u, bw_table_elt_t **hp);

/* where bw_http_upstream_parse_http() stopped */
typedef struct {
    bw_http_status_t                status;
    u_char                         *pos;
    unsigned                        status_done:1;
} bw_http_upstream_http_parse_t;

bw_int_t bw_http_upstream_parse_http(bw_http_request_t *r,
    bw_http_upstream_t *u, bw_http_upstream_http_parse_t *st);

/* where bw_http_upstream_parse_cgi() stopped */
typedef struct {
    bw_http_status_t                status;         /* a status line's */
    u_char                         *pos;
    bw_table_elt_t                 *status_header;  /* "Status:" */
    unsigned                        location:1;
    unsigned                        first_done:1;
    unsigned                        has_status_line:1;
} bw_http_upstream_cgi_parse_t;

bw_int_t bw_http_upstream_parse_cgi(bw_http_request_t *r,
    bw_http_upstream_t *u, bw_http_upstream_cgi_parse_t *st,
    bw_uint_t status_line);
bw_int_t bw_http_upstream_parse_gateway(bw_http_request_t *r,
    bw_http_upstream_t *u, bw_http_upstream_cgi_parse_t *st);

/* upstream_http_body.c: an HTTP/1.x answer's body; the init chooses
 * the filter (Content-Length, chunked, or until the close) */
bw_int_t bw_http_upstream_http_filter_init(bw_http_request_t *r);
bw_int_t bw_http_upstream_length_filter(bw_http_request_t *r, bw_buf_t *b);
/* a uwsgi or SCGI answer's: as HTTP's, and never a connection to keep */
bw_int_t bw_http_upstream_gateway_filter_init(bw_http_request_t *r);
bw_int_t bw_http_upstream_copy_headers(bw_http_request_t *r,
    bw_http_upstream_t *u, bw_uint_t which);
void bw_http_upstream_x_accel_redirect(bw_http_request_t *r,
    bw_http_upstream_t *u);

#endif
