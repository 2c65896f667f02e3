/*
 * The rewrite module's compiled program: each server and location (and
 * each "if" block) holds its directives as a list of operations, run in
 * order in the (server) rewrite phase.
 */

#ifndef BW_HTTP_REWRITE_H
#define BW_HTTP_REWRITE_H

#include <bw_http.h>

#define BW_HTTP_RW_RETURN    0
#define BW_HTTP_RW_REWRITE   1
#define BW_HTTP_RW_SET       2
#define BW_HTTP_RW_BREAK     3
#define BW_HTTP_RW_IF        4

/* rewrite flags */
#define BW_HTTP_RW_NONE      0
#define BW_HTTP_RW_LAST      1
#define BW_HTTP_RW_BRK       2
#define BW_HTTP_RW_REDIRECT  3
#define BW_HTTP_RW_PERMANENT 4

/* if conditions */
#define BW_HTTP_IF_VALUE     0      /* ($var) */
#define BW_HTTP_IF_EQ        1
#define BW_HTTP_IF_NE        2
#define BW_HTTP_IF_REGEX     3      /* ~ ~* */
#define BW_HTTP_IF_NOREGEX   4      /* !~ !~* */
#define BW_HTTP_IF_FILE      5      /* -f */
#define BW_HTTP_IF_DIR       6      /* -d */
#define BW_HTTP_IF_EXISTS    7      /* -e */
#define BW_HTTP_IF_EXEC      8      /* -x */

typedef struct bw_http_rewrite_op_s  bw_http_rewrite_op_t;

struct bw_http_rewrite_op_s {
    bw_uint_t                  type;

    /* return */
    bw_http_return_t          *ret;

    /* rewrite; if with a regex */
    bw_regex_t                *regex;
    bw_str_t                   source;      /* the regex as written */
    bw_http_complex_value_t    value;       /* replacement (its path part,
                                               up to its own "?"); set/if
                                               value */
    bw_http_complex_value_t    args;        /* rewrite: after that "?" */
    bw_uint_t                  flag;
    unsigned                   redirect:1;  /* replacement is absolute */
    unsigned                   drop_args:1; /* replacement ends in "?" */
    unsigned                   has_args:1;  /* a "?" of its own */
    unsigned                   negative:1;  /* if: !~, != or !-f */

    /* set */
    bw_uint_t                  index;

    /* if */
    bw_uint_t                  cond;
    bw_http_complex_value_t    left;
    void                     **loc_conf;    /* the block's confs */
    bw_array_t                *ops;         /* the block's operations */
};

typedef struct {
    bw_array_t                *ops;         /* bw_http_rewrite_op_t */
    bw_flag_t                  log;         /* rewrite_log */
    bw_flag_t                  uninitialized_variable_warn;
} bw_http_rewrite_loc_conf_t;

extern bw_module_t  bw_http_rewrite_module;

/* bw_http_rewrite_script.c */
bw_int_t bw_http_rewrite_handler(bw_http_request_t *r);
bw_int_t bw_http_rewrite_uninitialized(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);

#endif
