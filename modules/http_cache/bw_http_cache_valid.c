/*
 * How long an upstream's answer stays fresh, from its header values:
 * pure functions over strings, unit-tested. The order of precedence
 * (X-Accel-Expires, then Cache-Control, then Expires, then
 * proxy_cache_valid) is applied by the caller, which also knows what
 * proxy_ignore_headers switched off.
 */

#include <bw_http_cache.h>

/* "name=N" in a Cache-Control value: N, -1 when absent, -2 if malformed */
static time_t
bw_http_cache_control_number(u_char *start, u_char *last, const char *name,
    size_t len)
{
    u_char  *p;
    time_t   n;

    p = bw_strlcasestrn(start, last, (u_char *) name, len);
    if (p == NULL) {
        return -1;
    }

    /* a match must start a directive: "max-age=" is not the end of
     * "s-max-age=" (no such thing, but nor is it max-age) */
    if (p > start && p[-1] != ',' && p[-1] != ' ' && p[-1] != '\t') {
        return -1;
    }

    n = 0;
    for (p += len; p < last; p++) {
        if (*p == ',' || *p == ';' || *p == ' ' || *p == '\t') {
            break;
        }
        if (*p < '0' || *p > '9') {
            return -2;
        }
        /* a lifetime beyond BW_HTTP_CACHE_MAX_VALID is that long */
        if (n < BW_HTTP_CACHE_MAX_VALID) {
            n = n * 10 + (*p - '0');
        }
    }

    return n < BW_HTTP_CACHE_MAX_VALID ? n : BW_HTTP_CACHE_MAX_VALID;
}

time_t
bw_http_cache_control(bw_str_t *value, time_t *swr, time_t *sie)
{
    time_t   n;
    u_char  *start, *last;

    start = value->data;
    last = value->data + value->len;

    n = bw_http_cache_control_number(start, last, "stale-while-revalidate=",
                                     sizeof("stale-while-revalidate=") - 1);
    if (n >= 0) {
        *swr = n;
    }

    n = bw_http_cache_control_number(start, last, "stale-if-error=",
                                     sizeof("stale-if-error=") - 1);
    if (n >= 0) {
        *sie = n;
    }

    if (bw_strlcasestrn(start, last, (u_char *) "no-cache", 8)
        || bw_strlcasestrn(start, last, (u_char *) "no-store", 8)
        || bw_strlcasestrn(start, last, (u_char *) "private", 7))
    {
        return BW_HTTP_CACHE_NO;
    }

    n = bw_http_cache_control_number(start, last, "s-maxage=",
                                     sizeof("s-maxage=") - 1);
    if (n == -1) {
        n = bw_http_cache_control_number(start, last, "max-age=",
                                         sizeof("max-age=") - 1);
    }

    if (n == -1) {
        return BW_HTTP_CACHE_UNSET;
    }

    /* as nginx: a malformed or zero age is "do not store" */
    if (n <= 0) {
        return BW_HTTP_CACHE_NO;
    }

    return n;
}

time_t
bw_http_cache_accel_expires(bw_str_t *value, time_t now)
{
    size_t    len;
    u_char   *p;
    bw_int_t  n;

    p = value->data;
    len = value->len;

    if (len && p[0] == '@') {
        n = bw_atoi(p + 1, len - 1);
        if (n == BW_ERROR) {
            return BW_HTTP_CACHE_UNSET;
        }
        if ((time_t) n <= now) {
            /* as nginx: stored, and already expired */
            return BW_HTTP_CACHE_STALE_NOW;
        }
        return (time_t) n - now < BW_HTTP_CACHE_MAX_VALID
               ? (time_t) n - now : BW_HTTP_CACHE_MAX_VALID;
    }

    n = bw_atoi(p, len);
    if (n == BW_ERROR) {
        return BW_HTTP_CACHE_UNSET;
    }
    if (n == 0) {
        return BW_HTTP_CACHE_NO;
    }

    return (time_t) n < BW_HTTP_CACHE_MAX_VALID ? (time_t) n
                                                : BW_HTTP_CACHE_MAX_VALID;
}

/* proxy_cache_valid for a status: the first line naming it, else "any" */
time_t
bw_http_cache_valid_for(bw_array_t *valid, bw_uint_t status)
{
    bw_uint_t               i;
    bw_http_cache_valid_t  *v;

    if (valid == NULL) {
        return 0;
    }

    v = valid->elts;
    for (i = 0; i < valid->nelts; i++) {
        if (v[i].status == 0 || v[i].status == status) {
            return v[i].valid;
        }
    }

    return 0;
}
