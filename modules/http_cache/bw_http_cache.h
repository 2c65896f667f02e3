/*
 * The disk cache of upstream responses (proxy_cache and its kin): the
 * keys zone in shared memory, the entry files, and the settings an
 * upstream module (proxy) keeps per location. The upstream framework
 * reaches the cache only through bw_http_upstream_cache_ops.
 *
 * An entry is one file, named by the MD5 of its key, under "levels"
 * subdirectories of the cache path:
 *
 *   bw_http_cache_file_header_t   fixed, with the entry's validity,
 *                                 validators and the body's length
 *   "\nKEY: " key "\n"            the key as written, for collisions,
 *                                 purge by prefix, and people
 *   the response header           status line and header lines as the
 *                                 upstream sent them, less the hop-by-
 *                                 hop ones and the framing, CRLF CRLF
 *   the body                      decoded (no chunked framing)
 *
 * A file is written under a temporary name beside its final one and
 * renamed into place only once the body is complete and its length
 * checked; a file that does not check out on open is a miss and goes.
 */

#ifndef BW_HTTP_CACHE_H
#define BW_HTTP_CACHE_H

#include <bw_http.h>
#include <openssl/evp.h>

#define BW_HTTP_CACHE_KEY_LEN      16          /* MD5 */
#define BW_HTTP_CACHE_ETAG_LEN     128
#define BW_HTTP_CACHE_VARY_LEN     128
#define BW_HTTP_CACHE_VERSION      0x42574331   /* "BWC1" */
/* a name's length besides the path: "/l/ll/ll/" + 32 hex + NUL */
#define BW_HTTP_CACHE_NAME_LEN     (10 + 2 * BW_HTTP_CACHE_KEY_LEN + 1)
/* a temp file's: "." pid "." sequence */
#define BW_HTTP_CACHE_TEMP_SUFFIX  48
/* a stored response header larger than this is not stored */
#define BW_HTTP_CACHE_MAX_HEADER   65536
/* a key's line in the file */
#define BW_HTTP_CACHE_KEY_PREFIX   "\nKEY: "

/* proxy_cache_use_stale beyond proxy_next_upstream's masks */
#define BW_HTTP_UPSTREAM_FT_UPDATING  0x00020000

typedef struct {
    uint32_t            version;
    uint32_t            header_start;   /* of the response header */
    uint64_t            body_start;
    int64_t             body_length;
    int64_t             valid_sec;      /* fresh until then */
    int64_t             updating_sec;   /* stale-while-revalidate */
    int64_t             error_sec;      /* stale-if-error */
    int64_t             last_modified;
    int64_t             date;           /* when it was stored */
    uint16_t            status;         /* the stored answer's */
    uint8_t             etag_len;
    uint8_t             vary_len;
    u_char              etag[BW_HTTP_CACHE_ETAG_LEN];
    u_char              vary[BW_HTTP_CACHE_VARY_LEN];
    u_char              variant[BW_HTTP_CACHE_KEY_LEN];
} bw_http_cache_file_header_t;

/* One entry in the keys zone. */
typedef struct {
    bw_rbtree_node_t    node;           /* key: the MD5's first bytes */
    bw_queue_t          queue;          /* LRU, newest first */
    u_char              key[BW_HTTP_CACHE_KEY_LEN
                            - sizeof(bw_rbtree_key_t)];
    unsigned            count:20;       /* requests that hold it */
    unsigned            uses:10;
    unsigned            exists:1;       /* the file is in place */
    unsigned            updating:1;     /* a request is fetching it */
    unsigned            error:10;       /* an intercepted error kept
                                           until valid_sec, no file */
    time_t              expire;         /* inactive after */
    time_t              valid_sec;
    time_t              updating_sec;
    time_t              error_sec;
    off_t               fs_size;        /* on disk, in bytes */
    bw_msec_t           lock_time;      /* proxy_cache_lock */
} bw_http_cache_node_t;

typedef struct {
    bw_rbtree_t         rbtree;
    bw_rbtree_node_t    sentinel;
    bw_queue_t          queue;
    bw_uint_t           cold;           /* the loader has not finished */
    bw_uint_t           loading;        /* the loader's pid */
    off_t               size;           /* of the files, in bytes */
    bw_uint_t           count;          /* entries */
} bw_http_cache_sh_t;

/* One proxy_cache_path. */
typedef struct {
    bw_http_cache_sh_t *sh;
    bw_slab_pool_t     *shpool;
    bw_shm_zone_t      *shm_zone;
    bw_str_t            path;
    size_t              level[3];
    bw_uint_t           nlevels;
    time_t              inactive;
    off_t               max_size;
    off_t               min_free;
    bw_uint_t           manager_files;
    bw_msec_t           manager_sleep;
    bw_msec_t           manager_threshold;
    bw_uint_t           loader_files;
    bw_msec_t           loader_sleep;
    bw_msec_t           loader_threshold;
    void               *tag;            /* the module it is of (proxy) */
    u_char             *conf_file;
    bw_uint_t           line;
    /* the loader's walk, in the loader process only */
    struct bw_http_cache_walk_s  *walk;
} bw_http_cache_t;

/* One proxy_cache_valid line. */
typedef struct {
    bw_uint_t           status;         /* 0: any */
    time_t              valid;
} bw_http_cache_valid_t;

/* An upstream module's cache settings of one location (proxy_cache_*). */
struct bw_http_upstream_cache_conf_s {
    bw_shm_zone_t              *zone;       /* proxy_cache NAME */
    bw_http_complex_value_t    *zone_value; /* proxy_cache $var */
    bw_flag_t                   off;        /* set: proxy_cache off */
    bw_uint_t                   set;        /* proxy_cache was given */
    bw_http_complex_value_t    *key;
    bw_array_t                 *valid;      /* bw_http_cache_valid_t */
    bw_uint_t                   methods;
    bw_uint_t                   min_uses;
    bw_array_t                 *bypass;     /* complex values */
    bw_array_t                 *no_cache;
    bw_flag_t                   convert_head;
    off_t                       max_range_offset;
    bw_uint_t                   use_stale;
    bw_flag_t                   background_update;
    bw_flag_t                   revalidate;
    bw_flag_t                   lock;
    bw_msec_t                   lock_timeout;
    bw_msec_t                   lock_age;
    bw_array_t                 *purge;      /* proxy_cache_purge */
    void                       *tag;        /* the upstream module */
};

/* The cache's state of one request. */
typedef struct {
    bw_http_cache_t            *cache;
    bw_http_cache_node_t       *node;
    bw_str_t                    key;
    u_char                      md5[BW_HTTP_CACHE_KEY_LEN];
    bw_str_t                    file;       /* full name, NUL-ended */
    bw_file_t                   fd;         /* the entry, open */
    bw_http_cache_file_header_t h;          /* as read or to be written */
    /* storing */
    bw_file_t                   temp;
    bw_str_t                    temp_name;
    bw_str_t                    vary;       /* the answer's Vary */
    off_t                       stored;     /* body bytes written */
    bw_uint_t                   min_uses;
    u_char                     *header;     /* the stored answer's */
    u_char                     *header_end;
    bw_chain_t                 *body;
    bw_event_t                  wait;       /* proxy_cache_lock */
    bw_msec_t                   wait_start;
    bw_msec_t                   wait_step;
    unsigned                    held:1;     /* node->count is ours */
    unsigned                    lock_owner:1;  /* node->updating is ours */
    unsigned                    secondary:1;   /* a Vary variant's entry */
    unsigned                    seen:1;     /* seen_* are fresh */
    unsigned                    seen_exists:1;
    unsigned                    seen_cold:1;
    unsigned                    revalidate:1;
    unsigned                    storing:1;
    unsigned                    store_failed:1;
    unsigned                    bypass:1;
    unsigned                    no_store:1; /* min_uses not reached */
} bw_http_cache_req_t;

extern bw_module_t  bw_http_cache_module;

/* directives of an upstream module; conf + cmd->offset is its
 * bw_http_upstream_cache_conf_t, cmd->post its module (the tag) */
char *bw_http_cache_path_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf);
char *bw_http_cache_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf);
char *bw_http_cache_key_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf);
char *bw_http_cache_valid_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf);
char *bw_http_cache_predicates_slot(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
char *bw_http_cache_methods_slot(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);

extern bw_conf_bitmask_t  bw_http_cache_use_stale_masks[];

void bw_http_cache_create_conf(bw_http_upstream_cache_conf_t *conf);
char *bw_http_cache_merge_conf(bw_conf_t *cf,
    bw_http_upstream_cache_conf_t *conf,
    bw_http_upstream_cache_conf_t *prev);
char *bw_http_cache_merge_gateway(bw_conf_t *cf,
    bw_http_upstream_cache_conf_t *conf, bw_http_upstream_cache_conf_t *prev,
    bw_http_upstream_conf_t *upstream, const char *prefix);

/* bw_http_cache_lookup.c */
bw_int_t bw_http_cache_lookup(bw_http_request_t *r, bw_http_upstream_t *u);
bw_int_t bw_http_cache_get(bw_http_request_t *r,
    bw_http_upstream_cache_conf_t *ccf, bw_http_cache_t **cache);
bw_int_t bw_http_cache_key(bw_http_request_t *r, bw_http_upstream_t *u,
    bw_http_cache_req_t *c);
bw_uint_t bw_http_cache_test_predicates(bw_http_request_t *r, bw_array_t *a,
    bw_uint_t *error);
bw_int_t bw_http_cache_use_stored(bw_http_request_t *r,
    bw_http_upstream_t *u, bw_uint_t ft_type);
void bw_http_cache_finalize(bw_http_request_t *r, bw_http_upstream_t *u);
void bw_http_cache_store_error(bw_http_request_t *r, bw_http_upstream_t *u,
    bw_uint_t status);
void bw_http_cache_unlock(bw_http_cache_req_t *c);

/* bw_http_cache_purge.c: proxy_cache_purge, answered (BW_DONE) */
bw_int_t bw_http_cache_purge(bw_http_request_t *r, bw_http_upstream_t *u);

/* bw_http_cache_zone.c */
bw_int_t bw_http_cache_file_name(bw_pool_t *pool, bw_http_cache_t *cache,
    u_char *md5, bw_str_t *name);
u_char *bw_http_cache_name_into(bw_http_cache_t *cache, u_char *md5,
    u_char *p);
/* the fixed header of an entry file checks out (size: the file's) */
bw_uint_t bw_http_cache_header_valid(bw_http_cache_file_header_t *h,
    off_t size);
const EVP_MD *bw_http_cache_md5(void);
bw_int_t bw_http_cache_md5_of(u_char *data, size_t len, u_char *out);
bw_int_t bw_http_cache_variant(bw_http_request_t *r, u_char *vary,
    size_t len, u_char *md5);
void bw_http_cache_delete_node(bw_http_cache_t *cache,
    bw_http_cache_node_t *node);
bw_http_cache_node_t *bw_http_cache_find_node(bw_http_cache_t *cache,
    u_char *md5);
bw_http_cache_node_t *bw_http_cache_add_node(bw_http_cache_t *cache,
    u_char *md5);

/* bw_http_cache_store.c */
bw_int_t bw_http_cache_store_header(bw_http_request_t *r,
    bw_http_upstream_t *u);
bw_int_t bw_http_cache_store_body(bw_http_request_t *r,
    bw_http_upstream_t *u, bw_buf_t *b);
void bw_http_cache_store_end(bw_http_request_t *r, bw_http_upstream_t *u,
    bw_uint_t complete);
void bw_http_cache_store_abort(bw_http_request_t *r, bw_http_upstream_t *u,
    bw_http_cache_req_t *c);
/* a 304 to a revalidation: the stored entry's validity renewed */
bw_int_t bw_http_cache_refresh(bw_http_request_t *r, bw_http_upstream_t *u);

/* bw_http_cache_valid.c: pure functions over header values */
#define BW_HTTP_CACHE_NO       -1       /* not to be stored */
#define BW_HTTP_CACHE_UNSET    -2       /* the header says nothing */
#define BW_HTTP_CACHE_STALE_NOW  -3     /* stored, expired already */
/* the longest lifetime taken from a header (about 34 years): the sums
 * of times that follow never overflow */
#define BW_HTTP_CACHE_MAX_VALID  ((time_t) 1 << 30)
/* Cache-Control: the validity in seconds (s-maxage before max-age),
 * BW_HTTP_CACHE_NO for no-cache, no-store or private, else UNSET;
 * *swr and *sie take stale-while-revalidate and stale-if-error */
time_t bw_http_cache_control(bw_str_t *value, time_t *swr, time_t *sie);
/* X-Accel-Expires: seconds from now, or "@" and an absolute time */
time_t bw_http_cache_accel_expires(bw_str_t *value, time_t now);
time_t bw_http_cache_valid_for(bw_array_t *valid, bw_uint_t status);

/* bw_http_cache_manager.c */
bw_msec_t bw_http_cache_manager(void *data);
bw_msec_t bw_http_cache_loader(void *data);

#endif
