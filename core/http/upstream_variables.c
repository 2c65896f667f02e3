/*
 * $upstream_addr, $upstream_status, $upstream_response_time,
 * $upstream_response_length, $upstream_bytes_sent and the other
 * per-attempt variables: one value per attempt, joined with ", "
 * as nginx writes them (and the upstreams of internal redirects with
 * " : "), so log parsers built for nginx keep working.
 * $upstream_http_NAME reads the last response's header NAME,
 * $upstream_cookie_NAME the cookie NAME that its Set-Cookie lines set.
 */

#include <bw_http.h>

#define BW_UV_ADDR            0
#define BW_UV_STATUS          1
#define BW_UV_RESPONSE_TIME   2
#define BW_UV_CONNECT_TIME    3
#define BW_UV_HEADER_TIME     4
#define BW_UV_BYTES_RECEIVED  5
#define BW_UV_BYTES_SENT      6
#define BW_UV_RESPONSE_LENGTH 7

static bw_int_t bw_http_upstream_variable(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_upstream_cache_status(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_upstream_header_variable(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);
static bw_int_t bw_http_upstream_cookie_variable(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data);

static bw_http_variable_t  bw_http_upstream_vars[] = {
    { bw_string("upstream_addr"), NULL, bw_http_upstream_variable,
      BW_UV_ADDR, BW_HTTP_VAR_NOCACHEABLE, 0 },
    { bw_string("upstream_status"), NULL, bw_http_upstream_variable,
      BW_UV_STATUS, BW_HTTP_VAR_NOCACHEABLE, 0 },
    { bw_string("upstream_response_time"), NULL, bw_http_upstream_variable,
      BW_UV_RESPONSE_TIME, BW_HTTP_VAR_NOCACHEABLE, 0 },
    { bw_string("upstream_connect_time"), NULL, bw_http_upstream_variable,
      BW_UV_CONNECT_TIME, BW_HTTP_VAR_NOCACHEABLE, 0 },
    { bw_string("upstream_header_time"), NULL, bw_http_upstream_variable,
      BW_UV_HEADER_TIME, BW_HTTP_VAR_NOCACHEABLE, 0 },
    { bw_string("upstream_bytes_received"), NULL, bw_http_upstream_variable,
      BW_UV_BYTES_RECEIVED, BW_HTTP_VAR_NOCACHEABLE, 0 },
    { bw_string("upstream_bytes_sent"), NULL, bw_http_upstream_variable,
      BW_UV_BYTES_SENT, BW_HTTP_VAR_NOCACHEABLE, 0 },
    { bw_string("upstream_response_length"), NULL, bw_http_upstream_variable,
      BW_UV_RESPONSE_LENGTH, BW_HTTP_VAR_NOCACHEABLE, 0 },
    { bw_string("upstream_cache_status"), NULL,
      bw_http_upstream_cache_status, 0, BW_HTTP_VAR_NOCACHEABLE, 0 },
    { bw_string("upstream_http_"), NULL, bw_http_upstream_header_variable,
      0, BW_HTTP_VAR_PREFIX | BW_HTTP_VAR_NOCACHEABLE, 0 },
    { bw_string("upstream_cookie_"), NULL, bw_http_upstream_cookie_variable,
      0, BW_HTTP_VAR_PREFIX | BW_HTTP_VAR_NOCACHEABLE, 0 },
    bw_http_null_variable
};

bw_int_t
bw_http_upstream_add_variables(bw_conf_t *cf)
{
    return bw_http_add_variables(cf, bw_http_upstream_vars);
}

static u_char *
bw_http_upstream_print_msec(u_char *p, bw_msec_t ms)
{
    if (ms == (bw_msec_t) -1) {
        *p++ = '-';
        return p;
    }

    p = bw_sprint_uint(p, ms / 1000);
    *p++ = '.';
    *p++ = (u_char) ('0' + ms % 1000 / 100);
    *p++ = (u_char) ('0' + ms % 100 / 10);
    *p++ = (u_char) ('0' + ms % 10);
    return p;
}

static bw_int_t
bw_http_upstream_variable(bw_http_request_t *r, bw_http_variable_value_t *v,
    uintptr_t data)
{
    size_t                     len;
    u_char                    *p;
    bw_uint_t                  i;
    bw_http_upstream_state_t  *state;

    if (r->upstream_states == NULL || r->upstream_states->nelts == 0) {
        v->not_found = 1;
        return BW_OK;
    }

    state = r->upstream_states->elts;
    len = 0;

    for (i = 0; i < r->upstream_states->nelts; i++) {
        len += (state[i].peer ? state[i].peer->len : 1) + BW_INT_T_LEN + 6;
    }

    p = bw_pnalloc(r->pool, len);
    if (p == NULL) {
        return BW_ERROR;
    }

    v->data = p;

    for (i = 0; i < r->upstream_states->nelts; i++) {
        if (state[i].next_upstream) {
            p = bw_cpymem(p, " : ", 3);
            continue;
        }

        if (i && !state[i - 1].next_upstream) {
            *p++ = ',';
            *p++ = ' ';
        }

        switch (data) {
        case BW_UV_ADDR:
            if (state[i].peer) {
                p = bw_cpymem(p, state[i].peer->data, state[i].peer->len);
            } else {
                *p++ = '-';
            }
            break;
        case BW_UV_STATUS:
            if (state[i].status) {
                p = bw_sprint_uint(p, state[i].status);
            } else {
                *p++ = '-';
            }
            break;
        case BW_UV_RESPONSE_TIME:
            p = bw_http_upstream_print_msec(p, state[i].response_time);
            break;
        case BW_UV_CONNECT_TIME:
            p = bw_http_upstream_print_msec(p, state[i].connect_time);
            break;
        case BW_UV_HEADER_TIME:
            p = bw_http_upstream_print_msec(p, state[i].header_time);
            break;
        case BW_UV_BYTES_SENT:
            p = bw_sprint_uint(p, (uint64_t) state[i].bytes_sent);
            break;
        case BW_UV_RESPONSE_LENGTH:
            p = bw_sprint_uint(p, (uint64_t) state[i].response_length);
            break;
        default:
            p = bw_sprint_uint(p, (uint64_t) state[i].bytes_received);
        }
    }

    v->len = p - v->data;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return BW_OK;
}

/* What the cache (modules/http_cache) did; empty where none was asked. */
static bw_int_t
bw_http_upstream_cache_status(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    bw_uint_t  st;

    static bw_str_t  names[] = {
        bw_null_string,
        bw_string("MISS"),
        bw_string("BYPASS"),
        bw_string("EXPIRED"),
        bw_string("STALE"),
        bw_string("UPDATING"),
        bw_string("REVALIDATED"),
        bw_string("HIT")
    };

    st = r->upstream ? r->upstream->cache_status : 0;

    if (st == 0 || st > BW_HTTP_CACHE_HIT) {
        v->not_found = 1;
        return BW_OK;
    }

    bw_var_set(v, names[st].data, names[st].len);
    v->no_cacheable = 1;

    return BW_OK;
}

static bw_int_t
bw_http_upstream_header_variable(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    if (r->upstream == NULL
        || r->upstream->headers_in.headers.part.elts == NULL)
    {
        v->not_found = 1;
        return BW_OK;
    }

    return bw_http_variable_unknown_header(r, v, (bw_str_t *) data,
                                   &r->upstream->headers_in.headers.part,
                                   sizeof("upstream_http_") - 1);
}

/*
 * The value of the cookie that the first of the upstream's Set-Cookie
 * lines naming it sets, as nginx: the name is matched without regard to
 * case, the value runs to the first ';', the attributes are not looked
 * at.
 */
static bw_int_t
bw_http_upstream_cookie_variable(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    u_char                 *p, *end, *last;
    bw_str_t               *var, name;
    bw_table_elt_t         *h;
    bw_http_header_iter_t   it;

    v->not_found = 1;

    if (r->upstream == NULL
        || r->upstream->headers_in.headers.part.elts == NULL)
    {
        return BW_OK;
    }

    var = (bw_str_t *) data;
    name.data = var->data + sizeof("upstream_cookie_") - 1;
    name.len = var->len - (sizeof("upstream_cookie_") - 1);

    it.part = &r->upstream->headers_in.headers.part;
    it.i = 0;

    while ((h = bw_http_header_next(&it, "set-cookie", 10)) != NULL) {
        if (h->value.len <= name.len
            || bw_strncasecmp(h->value.data, name.data, name.len) != 0)
        {
            continue;
        }

        p = h->value.data + name.len;
        end = h->value.data + h->value.len;

        while (p < end && *p == ' ') {
            p++;
        }
        if (p == end || *p++ != '=') {
            continue;
        }
        while (p < end && *p == ' ') {
            p++;
        }

        last = memchr(p, ';', end - p);
        if (last == NULL) {
            last = end;
        }

        v->data = p;
        v->len = last - p;
        v->valid = 1;
        v->no_cacheable = 1;
        v->not_found = 0;
        return BW_OK;
    }

    return BW_OK;
}
