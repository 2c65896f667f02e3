/* PCRE2 (8-bit) with JIT: compiled at configuration time. */

#ifndef BW_REGEX_H
#define BW_REGEX_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#define BW_REGEX_CASELESS  0x1

typedef struct {
    pcre2_code  *code;
    bw_uint_t    captures;
    bw_uint_t    named_captures;
    bw_uint_t    name_size;
    u_char      *names;
} bw_regex_t;

typedef struct {
    bw_str_t     pattern;
    bw_pool_t   *pool;
    bw_uint_t    options;
    bw_regex_t  *regex;
    u_char       err_buf[256];
    bw_str_t     err;
} bw_regex_compile_t;

#define BW_REGEX_NO_MATCHED  BW_DECLINED

bw_int_t bw_regex_compile(bw_regex_compile_t *rc);
/* captures: int[size] filled with start/end offsets; returns the number
 * of pairs set, BW_REGEX_NO_MATCHED, or BW_ERROR. */
bw_int_t bw_regex_exec(bw_regex_t *re, bw_str_t *s, int *captures,
    bw_uint_t size);

#endif
