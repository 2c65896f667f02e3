/*
 * geo, as nginx: networks (IPv4 and IPv6 CIDRs) map to values and the
 * longest matching prefix wins, whatever the order they were written in;
 * "delete" takes a network out again; "default" is 0.0.0.0/0 and ::/0.
 * The address is the client's, or with "proxy" the one X-Forwarded-For
 * gives when the client is a listed proxy (see bw_http_forwarded_addr),
 * or the value of the variable given, where anything but an address
 * counts as 255.255.255.255.
 *
 * Lookup: one hash per prefix length in use, tried from the longest:
 * a handful of probes for usual tables, at most 33 (IPv4) or 129 (IPv6).
 */

#include <bw_http.h>

typedef struct {
    bw_cidr_t                  cidr;
    bw_str_t                   value;
    unsigned                   deleted:1;
} bw_http_geo_net_t;

typedef struct {
    bw_uint_t                  bits;
    bw_hash_t                  hash;       /* network bytes -> value */
} bw_http_geo_level_t;

typedef struct {
    bw_http_geo_level_t       *levels;     /* longest prefix first */
    bw_uint_t                  nlevels;
} bw_http_geo_family_t;

/* "ranges": IPv4 segments, sorted, never overlapping */
typedef struct {
    uint32_t                   start;
    uint32_t                   end;
    bw_str_t                   value;
} bw_http_geo_range_t;

typedef struct {
    bw_http_complex_value_t   *address;    /* NULL: the client's */
    bw_http_geo_family_t       v4;
    bw_http_geo_family_t       v6;
    bw_array_t                *proxies;    /* bw_cidr_t */
    bw_uint_t                  proxy_recursive;
    bw_array_t                *ranges;     /* bw_http_geo_range_t */
    bw_str_t                  *default_value;
} bw_http_geo_t;

typedef struct {
    bw_http_geo_t             *geo;
    bw_array_t                 nets;       /* bw_http_geo_net_t */
} bw_http_geo_conf_ctx_t;

static char *bw_http_geo_block(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_geo_line(bw_conf_t *cf, bw_command_t *dummy,
    void *conf);

static bw_command_t  bw_http_geo_commands[] = {

    { bw_string("geo"), BW_HTTP_MAIN_CONF|BW_CONF_BLOCK|BW_CONF_TAKE12,
      bw_http_geo_block, 0, 0, NULL },

    bw_null_command
};

static bw_http_module_t  bw_http_geo_module_ctx = {
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
};

bw_module_t  bw_http_geo_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_geo_module_ctx,
    bw_http_geo_commands, NULL, NULL, NULL, NULL
};

static bw_str_t *
bw_http_geo_find(bw_http_geo_family_t *fam, const u_char *addr, size_t size)
{
    u_char      net[16];
    size_t      full;
    bw_uint_t   l, bits;
    bw_str_t   *v;

    for (l = 0; l < fam->nlevels; l++) {
        bits = fam->levels[l].bits;
        full = bits / 8;
        bw_memzero(net, size);
        memcpy(net, addr, full);
        if (bits % 8) {
            net[full] = addr[full] & (u_char) (0xff00 >> (bits % 8));
        }
        v = bw_hash_find(&fam->levels[l].hash, bw_hash_key(net, size),
                         net, size);
        if (v) {
            return v;
        }
    }

    return NULL;
}

/* the segment holding addr (binary search), else the default */
static bw_str_t *
bw_http_geo_find_range(bw_http_geo_t *geo, const u_char *a4)
{
    uint32_t              addr;
    bw_uint_t             lo, hi, mid;
    bw_http_geo_range_t  *range;

    if (a4 == NULL) {
        return geo->default_value;
    }

    addr = ((uint32_t) a4[0] << 24) | ((uint32_t) a4[1] << 16)
           | ((uint32_t) a4[2] << 8) | a4[3];

    range = geo->ranges->elts;
    lo = 0;
    hi = geo->ranges->nelts;

    while (lo < hi) {
        mid = (lo + hi) / 2;
        if (range[mid].end < addr) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }

    if (lo < geo->ranges->nelts && range[lo].start <= addr) {
        return &range[lo].value;
    }

    return geo->default_value;
}

static bw_str_t *
bw_http_geo_find_sockaddr(bw_http_geo_t *geo, struct sockaddr *sa)
{
    static const u_char   none[4] = { 0xff, 0xff, 0xff, 0xff };
    struct in6_addr      *in6;

    if (geo->ranges) {
        /* ranges are IPv4 only: IPv6 clients get the default */
        switch (sa->sa_family) {
        case AF_INET:
            return bw_http_geo_find_range(geo,
                       (u_char *) &((struct sockaddr_in *) sa)->sin_addr);
        case AF_INET6:
            in6 = &((struct sockaddr_in6 *) sa)->sin6_addr;
            return bw_http_geo_find_range(geo, IN6_IS_ADDR_V4MAPPED(in6)
                                               ? &in6->s6_addr[12] : NULL);
        }
        return bw_http_geo_find_range(geo, none);
    }

    switch (sa->sa_family) {
    case AF_INET:
        return bw_http_geo_find(&geo->v4,
                   (u_char *) &((struct sockaddr_in *) sa)->sin_addr, 4);
    case AF_INET6:
        in6 = &((struct sockaddr_in6 *) sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(in6)) {
            return bw_http_geo_find(&geo->v4, &in6->s6_addr[12], 4);
        }
        return bw_http_geo_find(&geo->v6, in6->s6_addr, 16);
    }

    /* unix sockets count as 255.255.255.255, as in nginx */
    return bw_http_geo_find(&geo->v4, none, 4);
}

static bw_int_t
bw_http_geo_variable(bw_http_request_t *r, bw_http_variable_value_t *v,
    uintptr_t data)
{
    bw_http_geo_t *geo = (bw_http_geo_t *) data;

    u_char          buf[INET6_ADDRSTRLEN + 1];
    bw_str_t        text, *value;
    bw_sockaddr_t   addr;

    if (geo->address) {
        if (bw_http_complex_value(r, geo->address, &text) != BW_OK) {
            return BW_ERROR;
        }
        bw_memzero(&addr, sizeof(bw_sockaddr_t));
        addr.sockaddr_in.sin_family = AF_INET;
        addr.sockaddr_in.sin_addr.s_addr = 0xffffffff;
        if (text.len && text.len < sizeof(buf)) {
            memcpy(buf, text.data, text.len);
            buf[text.len] = '\0';
            if (inet_pton(AF_INET6, (char *) buf,
                          &addr.sockaddr_in6.sin6_addr) == 1)
            {
                addr.sockaddr_in6.sin6_family = AF_INET6;
            } else if (inet_pton(AF_INET, (char *) buf,
                                 &addr.sockaddr_in.sin_addr) != 1)
            {
                addr.sockaddr_in.sin_addr.s_addr = 0xffffffff;
            }
        }
        value = bw_http_geo_find_sockaddr(geo, &addr.sockaddr);
        goto found;
    }

    if (geo->proxies && r->headers_in.x_forwarded_for
        && bw_cidr_match_list(geo->proxies, r->connection->sockaddr))
    {
        if (bw_http_forwarded_addr(r->headers_in.x_forwarded_for,
                                      geo->proxies, geo->proxy_recursive,
                                      &addr, NULL) == BW_OK)
        {
            value = bw_http_geo_find_sockaddr(geo, &addr.sockaddr);
            goto found;
        }
    }

    value = bw_http_geo_find_sockaddr(geo, r->connection->sockaddr);

found:

    if (value == NULL) {
        bw_var_set(v, (u_char *) "", 0);
    } else {
        bw_var_set(v, value->data, value->len);
    }
    return BW_OK;
}

static int
bw_http_geo_cmp_bits(const void *one, const void *two)
{
    const bw_http_geo_level_t  *a = one, *b = two;

    return (int) b->bits - (int) a->bits;
}

static bw_int_t
bw_http_geo_build(bw_conf_t *cf, bw_array_t *nets, int family,
    bw_http_geo_family_t *fam)
{
    size_t               size;
    bw_uint_t            i, l, n, used[129];
    bw_array_t           keys;
    bw_hash_key_t       *hk;
    bw_http_geo_net_t   *net;

    size = family == AF_INET ? 4 : 16;
    bw_memzero(used, sizeof(used));
    net = nets->elts;

    n = 0;
    for (i = 0; i < nets->nelts; i++) {
        if (net[i].cidr.family == family && !net[i].deleted
            && !used[net[i].cidr.bits]++)
        {
            n++;
        }
    }

    fam->nlevels = n;
    if (n == 0) {
        return BW_OK;
    }

    fam->levels = bw_pcalloc(cf->pool, n * sizeof(bw_http_geo_level_t));
    if (fam->levels == NULL) {
        return BW_ERROR;
    }

    for (i = 0, l = 0; i <= 128; i++) {
        if (used[i]) {
            fam->levels[l++].bits = i;
        }
    }
    qsort(fam->levels, n, sizeof(bw_http_geo_level_t), bw_http_geo_cmp_bits);

    for (l = 0; l < n; l++) {
        if (bw_array_init(&keys, cf->pool, 8, sizeof(bw_hash_key_t))
            != BW_OK)
        {
            return BW_ERROR;
        }
        for (i = 0; i < nets->nelts; i++) {
            if (net[i].cidr.family != family || net[i].deleted
                || net[i].cidr.bits != fam->levels[l].bits)
            {
                continue;
            }
            hk = bw_array_push(&keys);
            if (hk == NULL) {
                return BW_ERROR;
            }
            hk->key.data = net[i].cidr.addr;
            hk->key.len = size;
            hk->value = &net[i].value;
        }
        if (bw_hash_build(&fam->levels[l].hash, cf->pool, keys.elts,
                          keys.nelts) != BW_OK)
        {
            return BW_ERROR;
        }
    }

    return BW_OK;
}

static char *
bw_http_geo_block(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    char                    *rv;
    bw_str_t                *value, name;
    bw_http_geo_t           *geo;
    bw_http_variable_t      *var;
    bw_http_geo_conf_ctx_t   ctx;

    value = cf->args->elts;

    geo = bw_pcalloc(cf->pool, sizeof(bw_http_geo_t));
    if (geo == NULL) {
        return BW_CONF_ERROR;
    }

    if (bw_http_conf_variable_name(cf, &value[cf->args->nelts - 1], &name)
        != BW_OK)
    {
        return BW_CONF_ERROR;
    }

    if (cf->args->nelts == 3) {
        geo->address = bw_palloc(cf->pool, sizeof(bw_http_complex_value_t));
        if (geo->address == NULL
            || bw_http_compile_complex_value(cf, geo->address, &value[1])
               != BW_OK)
        {
            return BW_CONF_ERROR;
        }
    }

    ctx.geo = geo;
    if (bw_array_init(&ctx.nets, cf->pool, 16, sizeof(bw_http_geo_net_t))
        != BW_OK)
    {
        return BW_CONF_ERROR;
    }

    rv = bw_conf_parse_block(cf, bw_http_geo_line, &ctx);

    if (rv != BW_CONF_OK) {
        return rv;
    }

    if (bw_http_geo_build(cf, &ctx.nets, AF_INET, &geo->v4) != BW_OK
        || bw_http_geo_build(cf, &ctx.nets, AF_INET6, &geo->v6) != BW_OK)
    {
        return BW_CONF_ERROR;
    }

    var = bw_http_add_variable(cf, &name, BW_HTTP_VAR_CHANGEABLE);
    if (var == NULL) {
        return BW_CONF_ERROR;
    }
    var->get_handler = bw_http_geo_variable;
    var->data = (uintptr_t) geo;

    return BW_CONF_OK;
}

/*
 * Put [start, end] in the sorted segments with value, or take it out
 * (value NULL): what it overlaps is cut back, so a later range wins
 * where two overlap, as in nginx.
 */
static char *
bw_http_geo_set_range(bw_conf_t *cf, bw_array_t *ranges, uint32_t start,
    uint32_t end, bw_str_t *value)
{
    bw_uint_t             i, n, k;
    bw_http_geo_range_t  *r, tail;

    r = ranges->elts;
    n = ranges->nelts;
    i = 0;

    while (i < n) {
        if (r[i].end < start || r[i].start > end) {
            i++;
            continue;
        }

        if (r[i].start < start && r[i].end > end) {
            /* the new range is inside: split this one in two */
            tail = r[i];
            tail.start = end + 1;
            r[i].end = start - 1;
            if (bw_array_push(ranges) == NULL) {
                return BW_CONF_ERROR;
            }
            r = ranges->elts;
            memmove(&r[i + 2], &r[i + 1], (n - i - 1) * sizeof(*r));
            r[i + 1] = tail;
            n++;
            i += 2;
            continue;
        }

        if (r[i].start < start) {
            r[i].end = start - 1;
            i++;
            continue;
        }

        if (r[i].end > end) {
            r[i].start = end + 1;
            i++;
            continue;
        }

        /* wholly covered: gone */
        memmove(&r[i], &r[i + 1], (n - i - 1) * sizeof(*r));
        n--;
        ranges->nelts = n;
    }
    ranges->nelts = n;

    if (value == NULL) {
        return BW_CONF_OK;
    }

    for (k = 0; k < n && r[k].start < start; k++) { /* void */ }

    if (bw_array_push(ranges) == NULL) {
        return BW_CONF_ERROR;
    }
    r = ranges->elts;
    memmove(&r[k + 1], &r[k], (n - k) * sizeof(*r));
    r[k].start = start;
    r[k].end = end;
    r[k].value = *value;

    return BW_CONF_OK;
}

/* "a.b.c.d-e.f.g.h", or a CIDR network, as a range of IPv4 addresses */
static bw_int_t
bw_http_geo_parse_range(bw_str_t *text, uint32_t *start, uint32_t *end)
{
    u_char      buf[INET_ADDRSTRLEN + 1], *dash;
    size_t      n;
    uint32_t    a[2];
    bw_uint_t   i;
    bw_str_t    part[2];
    bw_cidr_t   cidr;
    struct in_addr  in;

    dash = memchr(text->data, '-', text->len);
    if (dash == NULL) {
        if (bw_parse_cidr(text, &cidr) == BW_ERROR
            || cidr.family != AF_INET)
        {
            return BW_ERROR;
        }
        a[0] = ((uint32_t) cidr.addr[0] << 24) | (cidr.addr[1] << 16)
               | (cidr.addr[2] << 8) | cidr.addr[3];
        a[1] = a[0] | (cidr.bits ? (uint32_t) (0xffffffffULL >> cidr.bits)
                                 : 0xffffffff);
        *start = a[0];
        *end = a[1];
        return BW_OK;
    }

    part[0].data = text->data;
    part[0].len = dash - text->data;
    part[1].data = dash + 1;
    part[1].len = text->len - part[0].len - 1;

    for (i = 0; i < 2; i++) {
        n = part[i].len;
        if (n == 0 || n >= sizeof(buf)) {
            return BW_ERROR;
        }
        memcpy(buf, part[i].data, n);
        buf[n] = '\0';
        if (inet_pton(AF_INET, (char *) buf, &in) != 1) {
            return BW_ERROR;
        }
        a[i] = ntohl(in.s_addr);
    }

    if (a[0] > a[1]) {
        return BW_ERROR;
    }

    *start = a[0];
    *end = a[1];
    return BW_OK;
}

/* Add (or, with value NULL, delete) a network; a later value wins. */
static char *
bw_http_geo_add(bw_conf_t *cf, bw_http_geo_conf_ctx_t *ctx, bw_cidr_t *cidr,
    bw_str_t *text, bw_str_t *value)
{
    size_t              size;
    bw_uint_t           i;
    bw_http_geo_net_t  *net;

    size = cidr->family == AF_INET ? 4 : 16;
    net = ctx->nets.elts;

    for (i = 0; i < ctx->nets.nelts; i++) {
        if (net[i].deleted || net[i].cidr.family != cidr->family
            || net[i].cidr.bits != cidr->bits
            || memcmp(net[i].cidr.addr, cidr->addr, size) != 0)
        {
            continue;
        }
        if (value == NULL) {
            net[i].deleted = 1;
            continue;
        }
        bw_conf_log_error(BW_LOG_WARN, cf, 0,
                          "duplicate network \"%.*s\", value: \"%.*s\", "
                          "old value: \"%.*s\"", (int) text->len, text->data,
                          (int) value->len, value->data,
                          (int) net[i].value.len, net[i].value.data);
        net[i].value = *value;
        return BW_CONF_OK;
    }

    if (value == NULL) {
        bw_conf_log_error(BW_LOG_WARN, cf, 0,
                          "no network \"%.*s\" to delete",
                          (int) text->len, text->data);
        return BW_CONF_OK;
    }

    net = bw_array_push(&ctx->nets);
    if (net == NULL) {
        return BW_CONF_ERROR;
    }
    net->cidr = *cidr;
    net->value = *value;
    net->deleted = 0;

    return BW_CONF_OK;
}

static char *
bw_http_geo_line(bw_conf_t *cf, bw_command_t *dummy, void *conf)
{
    bw_http_geo_conf_ctx_t *ctx = conf;

    char           *rv;
    bw_int_t        rc;
    bw_str_t       *value, file, *v, all;
    bw_cidr_t       cidr, *proxy;
    bw_http_geo_t  *geo;

    geo = ctx->geo;
    value = cf->args->elts;

    if (cf->args->nelts == 1) {
        if (bw_str_eq_lit(&value[0], "proxy_recursive")) {
            geo->proxy_recursive = 1;
            return BW_CONF_OK;
        }
        if (bw_str_eq_lit(&value[0], "ranges")) {
            if (ctx->nets.nelts || geo->ranges) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                  "\"ranges\" must come first in geo");
                return BW_CONF_ERROR;
            }
            geo->ranges = bw_array_create(cf->pool, 16,
                                          sizeof(bw_http_geo_range_t));
            return geo->ranges ? BW_CONF_OK : BW_CONF_ERROR;
        }
        goto invalid;
    }

    if (cf->args->nelts != 2) {
        goto invalid;
    }

    if (bw_str_eq_lit(&value[0], "include")) {
        file = value[1];
        if (bw_conf_full_name(cf->cycle, &file, 1) != BW_OK) {
            return BW_CONF_ERROR;
        }
        return bw_conf_parse(cf, &file);
    }

    if (bw_str_eq_lit(&value[0], "proxy")) {
        if (geo->proxies == NULL) {
            geo->proxies = bw_array_create(cf->pool, 2, sizeof(bw_cidr_t));
            if (geo->proxies == NULL) {
                return BW_CONF_ERROR;
            }
        }
        proxy = bw_array_push(geo->proxies);
        if (proxy == NULL) {
            return BW_CONF_ERROR;
        }
        rc = bw_parse_cidr(&value[1], proxy);
        if (rc == BW_ERROR || proxy->family == 0
            || proxy->family == AF_UNIX)
        {
            goto bad_address;
        }
        return BW_CONF_OK;
    }

    v = bw_palloc(cf->pool, sizeof(bw_str_t));
    if (v == NULL) {
        return BW_CONF_ERROR;
    }
    *v = value[1];

    if (geo->ranges) {
        uint32_t  start, end;

        if (bw_str_eq_lit(&value[0], "default")) {
            geo->default_value = v;
            return BW_CONF_OK;
        }
        if (bw_str_eq_lit(&value[0], "delete")) {
            if (bw_http_geo_parse_range(&value[1], &start, &end) != BW_OK) {
                goto bad_address;
            }
            return bw_http_geo_set_range(cf, geo->ranges, start, end, NULL);
        }
        if (bw_http_geo_parse_range(&value[0], &start, &end) != BW_OK) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid range \"%s\"",
                              value[0].data);
            return BW_CONF_ERROR;
        }
        return bw_http_geo_set_range(cf, geo->ranges, start, end, v);
    }

    if (bw_str_eq_lit(&value[0], "default")) {
        bw_str_set(&all, "0.0.0.0/0");
        (void) bw_parse_cidr(&all, &cidr);
        rv = bw_http_geo_add(cf, ctx, &cidr, &value[0], v);
        if (rv != BW_CONF_OK) {
            return rv;
        }
        bw_str_set(&all, "::/0");
        (void) bw_parse_cidr(&all, &cidr);
        return bw_http_geo_add(cf, ctx, &cidr, &value[0], v);
    }

    if (bw_str_eq_lit(&value[0], "delete")) {
        rc = bw_parse_cidr(&value[1], &cidr);
        if (rc == BW_ERROR || cidr.family == 0 || cidr.family == AF_UNIX) {
            goto bad_address;
        }
        return bw_http_geo_add(cf, ctx, &cidr, &value[1], NULL);
    }

    rc = bw_parse_cidr(&value[0], &cidr);
    if (rc == BW_ERROR || cidr.family == 0 || cidr.family == AF_UNIX) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid network \"%s\"",
                          value[0].data);
        return BW_CONF_ERROR;
    }
    if (rc == BW_DONE) {
        bw_conf_log_error(BW_LOG_WARN, cf, 0,
                          "low address bits of %s are meaningless",
                          value[0].data);
    }

    return bw_http_geo_add(cf, ctx, &cidr, &value[0], v);

bad_address:

    bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid network \"%s\"",
                      value[1].data);
    return BW_CONF_ERROR;

invalid:

    bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                      "invalid number of the geo parameters");
    return BW_CONF_ERROR;
}
