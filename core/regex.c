/*
 * PCRE2 glue. Patterns are JIT-compiled once; matching reuses one
 * match-data block per process, so a match allocates nothing.
 */

#include <bw_core.h>

static pcre2_match_data  *bw_match_data;
static bw_uint_t          bw_match_data_size;

static void
bw_regex_cleanup(void *data)
{
    pcre2_code_free(data);
}

bw_int_t
bw_regex_compile(bw_regex_compile_t *rc)
{
    int                 errcode;
    uint32_t            n;
    PCRE2_SIZE          erroff;
    pcre2_code         *code;
    bw_regex_t         *re;
    bw_pool_cleanup_t  *cln;
    PCRE2_UCHAR         msg[160];

    code = pcre2_compile(rc->pattern.data, rc->pattern.len,
                         (rc->options & BW_REGEX_CASELESS) ? PCRE2_CASELESS
                                                           : 0,
                         &errcode, &erroff, NULL);
    if (code == NULL) {
        pcre2_get_error_message(errcode, msg, sizeof(msg));
        rc->err.data = rc->err_buf;
        rc->err.len = bw_slprintf(rc->err_buf,
                                  rc->err_buf + sizeof(rc->err_buf),
                                  "pcre2_compile() failed: %s in \"%.*s\" "
                                  "at \"%s\"", msg, (int) rc->pattern.len,
                                  rc->pattern.data,
                                  rc->pattern.data + erroff) - rc->err_buf;
        return BW_ERROR;
    }

    /* JIT is an optimisation: a pattern it refuses still matches. */
    (void) pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);

    cln = bw_pool_cleanup_add(rc->pool, 0);
    if (cln == NULL) {
        pcre2_code_free(code);
        return BW_ERROR;
    }
    cln->handler = bw_regex_cleanup;
    cln->data = code;

    re = bw_pcalloc(rc->pool, sizeof(bw_regex_t));
    if (re == NULL) {
        return BW_ERROR;
    }
    re->code = code;

    pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &n);
    re->captures = n;
    pcre2_pattern_info(code, PCRE2_INFO_NAMECOUNT, &n);
    re->named_captures = n;
    if (n) {
        pcre2_pattern_info(code, PCRE2_INFO_NAMEENTRYSIZE, &n);
        re->name_size = n;
        pcre2_pattern_info(code, PCRE2_INFO_NAMETABLE, &re->names);
    }

    rc->regex = re;
    return BW_OK;
}

bw_int_t
bw_regex_exec(bw_regex_t *re, bw_str_t *s, int *captures, bw_uint_t size)
{
    int          rc;
    bw_uint_t    i, n;
    PCRE2_SIZE  *ov;

    n = size / 2;
    if (bw_match_data == NULL || bw_match_data_size < n || n == 0) {
        if (bw_match_data_size < bw_max(n, 16)) {
            if (bw_match_data) {
                pcre2_match_data_free(bw_match_data);
            }
            bw_match_data_size = bw_max(n, 16);
            bw_match_data = pcre2_match_data_create(bw_match_data_size,
                                                    NULL);
            if (bw_match_data == NULL) {
                bw_match_data_size = 0;
                return BW_ERROR;
            }
        }
    }

    rc = pcre2_match(re->code, s->data, s->len, 0, 0, bw_match_data, NULL);
    if (rc == PCRE2_ERROR_NOMATCH) {
        return BW_REGEX_NO_MATCHED;
    }
    if (rc < 0) {
        return BW_ERROR;
    }

    ov = pcre2_get_ovector_pointer(bw_match_data);
    if ((bw_uint_t) rc > n) {
        rc = n;
    }
    for (i = 0; i < (bw_uint_t) rc * 2; i++) {
        captures[i] = (int) ov[i];
    }

    return rc;
}
