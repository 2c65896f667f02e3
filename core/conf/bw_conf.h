/*
 * Configuration: the directive table format, the parser state, and the
 * generic setters. A setter returns BW_CONF_OK (NULL) or an error text
 * that the parser prints as `"name" directive TEXT in FILE:LINE`.
 */

#ifndef BW_CONF_H
#define BW_CONF_H

#define BW_CONF_NOARGS      0x00000001
#define BW_CONF_TAKE1       0x00000002
#define BW_CONF_TAKE2       0x00000004
#define BW_CONF_TAKE3       0x00000008
#define BW_CONF_TAKE4       0x00000010
#define BW_CONF_TAKE5       0x00000020
#define BW_CONF_TAKE6       0x00000040
#define BW_CONF_TAKE7       0x00000080
#define BW_CONF_MAX_ARGS    8

#define BW_CONF_TAKE12      (BW_CONF_TAKE1|BW_CONF_TAKE2)
#define BW_CONF_TAKE13      (BW_CONF_TAKE1|BW_CONF_TAKE3)
#define BW_CONF_TAKE23      (BW_CONF_TAKE2|BW_CONF_TAKE3)
#define BW_CONF_TAKE34      (BW_CONF_TAKE3|BW_CONF_TAKE4)
#define BW_CONF_TAKE123     (BW_CONF_TAKE1|BW_CONF_TAKE2|BW_CONF_TAKE3)
#define BW_CONF_TAKE1234    (BW_CONF_TAKE1|BW_CONF_TAKE2|BW_CONF_TAKE3 \
                             |BW_CONF_TAKE4)
#define BW_CONF_ARGS_NUMBER 0x000000ff
#define BW_CONF_BLOCK       0x00000100
#define BW_CONF_FLAG        0x00000200
#define BW_CONF_ANY         0x00000400
#define BW_CONF_1MORE       0x00000800
#define BW_CONF_2MORE       0x00001000

#define BW_DIRECT_CONF      0x00010000

#define BW_MAIN_CONF        0x01000000
#define BW_EVENT_CONF       0x02000000
#define BW_HTTP_MAIN_CONF   0x04000000
#define BW_HTTP_SRV_CONF    0x08000000
#define BW_HTTP_LOC_CONF    0x10000000
#define BW_HTTP_UPS_CONF    0x20000000
#define BW_HTTP_SIF_CONF    0x40000000
#define BW_HTTP_LIF_CONF    0x80000000
/* a limit_except block: past the 32 bits nginx has (bw_uint_t is 64) */
#define BW_HTTP_LMT_CONF    ((bw_uint_t) 0x100000000ULL)
#define BW_ANY_CONF         (0xFF000000 | BW_HTTP_LMT_CONF)

#define BW_CONF_UNSET       -1
#define BW_CONF_UNSET_UINT  (bw_uint_t) -1
#define BW_CONF_UNSET_PTR   (void *) -1
#define BW_CONF_UNSET_SIZE  (size_t) -1
#define BW_CONF_UNSET_MSEC  (bw_msec_t) -1

#define BW_CONF_OK          NULL
#define BW_CONF_ERROR       (char *) -1

#define BW_CONF_BLOCK_START 1
#define BW_CONF_BLOCK_DONE  2
#define BW_CONF_FILE_DONE   3

struct bw_command_s {
    bw_str_t     name;
    bw_uint_t    type;
    char      *(*set)(bw_conf_t *cf, bw_command_t *cmd, void *conf);
    bw_uint_t    conf;
    bw_uint_t    offset;
    void        *post;
};

#define bw_null_command  { bw_null_string, 0, NULL, 0, 0, NULL }

typedef struct {
    bw_str_t     name;      /* NUL-terminated */
    bw_uint_t    line;
    u_char      *pos;
    u_char      *end;
} bw_conf_file_t;

typedef struct {
    bw_str_t     name;
    bw_str_t     content;
} bw_conf_dump_t;

typedef char *(*bw_conf_handler_pt)(bw_conf_t *cf, bw_command_t *dummy,
    void *conf);

struct bw_conf_s {
    char                *name;
    bw_array_t          *args;
    bw_cycle_t          *cycle;
    bw_pool_t           *pool;
    bw_pool_t           *temp_pool;
    bw_conf_file_t      *conf_file;
    bw_log_t            *log;
    void                *ctx;
    bw_uint_t            module_type;
    bw_uint_t            cmd_type;
    bw_conf_handler_pt   handler;     /* for blocks of non-directives */
    void                *handler_conf;
};

typedef struct {
    bw_str_t     name;
    bw_uint_t    value;
} bw_conf_enum_t;

typedef struct {
    bw_str_t     name;
    bw_uint_t    mask;
} bw_conf_bitmask_t;

typedef struct {
    bw_uint_t    num;
    size_t       size;
} bw_bufs_t;

#define bw_conf_merge_bufs_value(conf, prev, default_num, default_size) \
    if (conf.num == 0) { \
        if (prev.num) { conf = prev; } \
        else { conf.num = default_num; conf.size = default_size; } }

bw_int_t bw_conf_read_token(bw_conf_t *cf);
char *bw_conf_param(bw_conf_t *cf, bw_str_t *param);
char *bw_conf_parse(bw_conf_t *cf, bw_str_t *filename);
/* The contents of a block read line by line by handler (types, map, geo,
 * split_clients): each line's words are in cf->args. */
char *bw_conf_parse_block(bw_conf_t *cf, bw_conf_handler_pt handler,
    void *conf);
char *bw_conf_include(bw_conf_t *cf, bw_command_t *cmd, void *conf);
bw_int_t bw_conf_full_name(bw_cycle_t *cycle, bw_str_t *name,
    bw_uint_t conf_prefix);
void bw_conf_log_error(bw_uint_t level, bw_conf_t *cf, bw_err_t err,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
bw_open_file_t *bw_conf_open_file(bw_cycle_t *cycle, bw_str_t *name);

char *bw_conf_no_effect(bw_conf_t *cf, bw_command_t *cmd, void *conf);
char *bw_conf_set_flag_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf);
char *bw_conf_set_str_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf);
char *bw_conf_set_str_array_slot(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
char *bw_conf_set_num_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf);
char *bw_conf_set_size_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf);
char *bw_conf_set_off_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf);
char *bw_conf_set_bufs_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf);
char *bw_conf_set_msec_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf);
char *bw_conf_set_sec_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf);
char *bw_conf_set_enum_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf);
char *bw_conf_set_bitmask_slot(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);

#define bw_conf_init_value(conf, default) \
    if (conf == BW_CONF_UNSET) { conf = default; }
#define bw_conf_init_uint_value(conf, default) \
    if (conf == BW_CONF_UNSET_UINT) { conf = default; }
#define bw_conf_init_msec_value(conf, default) \
    if (conf == BW_CONF_UNSET_MSEC) { conf = default; }
#define bw_conf_init_size_value(conf, default) \
    if (conf == BW_CONF_UNSET_SIZE) { conf = default; }

#define bw_conf_merge_value(conf, prev, default) \
    if (conf == BW_CONF_UNSET) { \
        conf = (prev == BW_CONF_UNSET) ? default : prev; }
#define bw_conf_merge_ptr_value(conf, prev, default) \
    if (conf == BW_CONF_UNSET_PTR) { \
        conf = (prev == BW_CONF_UNSET_PTR) ? default : prev; }
#define bw_conf_merge_uint_value(conf, prev, default) \
    if (conf == BW_CONF_UNSET_UINT) { \
        conf = (prev == BW_CONF_UNSET_UINT) ? default : prev; }
#define bw_conf_merge_msec_value(conf, prev, default) \
    if (conf == BW_CONF_UNSET_MSEC) { \
        conf = (prev == BW_CONF_UNSET_MSEC) ? default : prev; }
#define bw_conf_merge_sec_value(conf, prev, default) \
    if (conf == BW_CONF_UNSET) { \
        conf = (prev == BW_CONF_UNSET) ? default : prev; }
#define bw_conf_merge_size_value(conf, prev, default) \
    if (conf == BW_CONF_UNSET_SIZE) { \
        conf = (prev == BW_CONF_UNSET_SIZE) ? default : prev; }
#define bw_conf_merge_off_value(conf, prev, default) \
    if (conf == BW_CONF_UNSET) { \
        conf = (prev == BW_CONF_UNSET) ? default : prev; }
#define bw_conf_merge_str_value(conf, prev, default) \
    if (conf.data == NULL) { \
        if (prev.data) { conf = prev; } \
        else { conf.len = sizeof(default) - 1; \
               conf.data = (u_char *) default; } }
#define bw_conf_merge_bitmask_value(conf, prev, default) \
    if (conf == 0) { conf = (prev == 0) ? default : prev; }

#endif
