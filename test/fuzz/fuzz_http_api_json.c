/*
 * libFuzzer target: the admin API's JSON reader on arbitrary bodies.
 * Whatever the bytes, it reads only the body it is given (an exact-size
 * copy), gives at most BW_HTTP_API_MAX_FIELDS fields, and every string
 * it gives back, written again by the API's own JSON writer, reads back
 * the same: what the API prints, it can read. Built only with the
 * http_api module.
 */

#include "bw_http_api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                *buf;
    bw_str_t               text, again, key;
    bw_uint_t              i;
    bw_pool_t             *pool;
    const char            *err;
    bw_http_api_out_t      o;
    bw_http_api_object_t   obj, obj2;

    buf = malloc(size ? size : 1);
    pool = bw_create_pool(4096, NULL);
    if (buf == NULL || pool == NULL) {
        free(buf);
        if (pool) {
            bw_destroy_pool(pool);
        }
        return 0;
    }
    memcpy(buf, data, size);
    text.data = buf;
    text.len = size;

    if (bw_http_api_parse_object(pool, &text, &obj, &err) == BW_OK) {
        if (obj.nfields > BW_HTTP_API_MAX_FIELDS) {
            abort();
        }

        for (i = 0; i < obj.nfields; i++) {
            if (obj.field[i].type < BW_JSON_STRING
                || obj.field[i].type > BW_JSON_NESTED)
            {
                abort();
            }
            if (obj.field[i].type != BW_JSON_STRING) {
                continue;
            }

            /* {"k":<the value, written by the API>} reads back as it */
            bw_http_api_init_out(&o, pool);
            bw_http_api_printf(&o, "{\"k\":");
            bw_http_api_string(&o, &obj.field[i].value);
            bw_http_api_printf(&o, "}");
            if (o.error) {
                break;
            }
            again.data = o.start;
            again.len = o.pos - o.start;

            if (bw_http_api_parse_object(pool, &again, &obj2, &err) != BW_OK
                || obj2.nfields != 1 || obj2.field[0].type != BW_JSON_STRING
                || obj2.field[0].value.len != obj.field[i].value.len
                || memcmp(obj2.field[0].value.data, obj.field[i].value.data,
                          obj.field[i].value.len) != 0)
            {
                abort();
            }
            key = obj2.field[0].key;
            if (key.len != 1 || key.data[0] != 'k') {
                abort();
            }
        }
    }

    bw_destroy_pool(pool);
    free(buf);
    return 0;
}
