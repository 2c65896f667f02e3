/*
 * libFuzzer target: what the disk cache reads from an upstream's header
 * values (Cache-Control, X-Accel-Expires) on arbitrary bytes. The first
 * byte picks the parser; whatever the value, a lifetime is either "do
 * not store", "says nothing", "stored expired" (X-Accel-Expires only)
 * or between 1 second and BW_HTTP_CACHE_MAX_VALID, and so are the
 * stale-while-revalidate and stale-if-error times: no sum the cache
 * makes of them can overflow. Built only with the http_cache module.
 */

#include <bw_http_cache.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
lifetime_ok(time_t v, bw_uint_t stale_now)
{
    return v == BW_HTTP_CACHE_NO || v == BW_HTTP_CACHE_UNSET
           || (stale_now && v == BW_HTTP_CACHE_STALE_NOW)
           || (v > 0 && v <= BW_HTTP_CACHE_MAX_VALID);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char    *buf;
    time_t     v, swr, sie;
    bw_str_t   s;

    if (size < 1) {
        return 0;
    }

    /* a copy of exactly the value: the parsers must not read past it */
    buf = malloc(size);
    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data + 1, size - 1);
    s.data = buf;
    s.len = size - 1;

    if (data[0] & 1) {
        v = bw_http_cache_accel_expires(&s, 1700000000);
        if (!lifetime_ok(v, 1)) {
            __builtin_trap();
        }

    } else {
        swr = -7;
        sie = -7;
        v = bw_http_cache_control(&s, &swr, &sie);
        if (!lifetime_ok(v, 0)
            || (swr != -7 && (swr < 0 || swr > BW_HTTP_CACHE_MAX_VALID))
            || (sie != -7 && (sie < 0 || sie > BW_HTTP_CACHE_MAX_VALID)))
        {
            __builtin_trap();
        }
    }

    free(buf);
    return 0;
}
