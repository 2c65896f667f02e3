/*
 * gzip: responses compressed with zlib as their body passes, for the
 * clients that accept it (nginx's gzip module and its directives).
 *
 * The header filter decides (status, type, length, Content-Encoding,
 * the client's Accept-Encoding, gzip_proxied, gzip_disable) and turns the
 * header into a compressed one: Content-Encoding: gzip, no
 * Content-Length, a weak ETag, no Accept-Ranges. The body filter streams:
 * what comes in is deflated into at most gzip_buffers output buffers, and
 * while all of them wait in the write path no more input is taken, so
 * the producer (a file, an upstream) is held back and memory stays
 * bounded whatever the response's size. File buffers are read in pieces
 * into one buffer of the request's. A flush from the producer (an
 * upstream that paused) becomes a zlib sync flush, so that what came so
 * far reaches the client at once. zlib's state is taken from the
 * request's pool, its window sized down for small responses of known
 * length. An error of zlib ends the response; never a corrupt stream
 * sent as a whole one.
 */

#include <bw_http_zstream.h>
#include <bw_http_gzip.h>

#define BW_HTTP_GZIP_PROXIED_OFF       0x0002
#define BW_HTTP_GZIP_PROXIED_EXPIRED   0x0004
#define BW_HTTP_GZIP_PROXIED_NO_CACHE  0x0008
#define BW_HTTP_GZIP_PROXIED_NO_STORE  0x0010
#define BW_HTTP_GZIP_PROXIED_PRIVATE   0x0020
#define BW_HTTP_GZIP_PROXIED_NO_LM     0x0040
#define BW_HTTP_GZIP_PROXIED_NO_ETAG   0x0080
#define BW_HTTP_GZIP_PROXIED_AUTH      0x0100
#define BW_HTTP_GZIP_PROXIED_ANY       0x0200

typedef struct {
    bw_int_t       enable;
    bw_int_t       vary;
    bw_int_t       level;
    size_t         min_length;
    size_t         wbits;
    size_t         memlevel;
    bw_uint_t      http_version;
    bw_uint_t      proxied;
    bw_bufs_t      bufs;
    bw_array_t    *types;            /* bw_str_t */
    bw_array_t    *disable;          /* bw_regex_t * */
    bw_int_t       disable_msie6;
} bw_http_gzip_conf_t;

typedef struct {
    bw_http_zstream_t  zs;
    off_t              length;           /* the body's, when known */
    bw_uint_t          ratio_int;
    bw_uint_t          ratio_frac;
    unsigned           started:1;
    unsigned           ended:1;          /* deflateEnd() done */
} bw_http_gzip_ctx_t;

static bw_int_t bw_http_gzip_add_variables(bw_conf_t *cf);
static bw_int_t bw_http_gzip_filter_init(bw_conf_t *cf);
static void *bw_http_gzip_create_conf(bw_conf_t *cf);
static char *bw_http_gzip_merge_conf(bw_conf_t *cf, void *parent,
    void *child);
static char *bw_http_gzip_disable(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_gzip_window(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_gzip_hash(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);

static bw_conf_enum_t  bw_http_gzip_http_version[] = {
    { bw_string("1.0"), BW_HTTP_VERSION_10 },
    { bw_string("1.1"), BW_HTTP_VERSION_11 },
    { bw_null_string, 0 }
};

static bw_conf_bitmask_t  bw_http_gzip_proxied_mask[] = {
    { bw_string("off"), BW_HTTP_GZIP_PROXIED_OFF },
    { bw_string("expired"), BW_HTTP_GZIP_PROXIED_EXPIRED },
    { bw_string("no-cache"), BW_HTTP_GZIP_PROXIED_NO_CACHE },
    { bw_string("no-store"), BW_HTTP_GZIP_PROXIED_NO_STORE },
    { bw_string("private"), BW_HTTP_GZIP_PROXIED_PRIVATE },
    { bw_string("no_last_modified"), BW_HTTP_GZIP_PROXIED_NO_LM },
    { bw_string("no_etag"), BW_HTTP_GZIP_PROXIED_NO_ETAG },
    { bw_string("auth"), BW_HTTP_GZIP_PROXIED_AUTH },
    { bw_string("any"), BW_HTTP_GZIP_PROXIED_ANY },
    { bw_null_string, 0 }
};

#define MSLI  (BW_HTTP_MAIN_CONF|BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF)
#define OFF(f)  offsetof(bw_http_gzip_conf_t, f)

static bw_command_t  bw_http_gzip_commands[] = {

    { bw_string("gzip"), MSLI|BW_HTTP_LIF_CONF|BW_CONF_FLAG,
      bw_conf_set_flag_slot, BW_HTTP_LOC_CONF_OFFSET, OFF(enable), NULL },
    { bw_string("gzip_buffers"), MSLI|BW_CONF_TAKE2,
      bw_conf_set_bufs_slot, BW_HTTP_LOC_CONF_OFFSET, OFF(bufs), NULL },
    { bw_string("gzip_types"), MSLI|BW_CONF_1MORE,
      bw_http_types_slot, BW_HTTP_LOC_CONF_OFFSET, OFF(types), NULL },
    { bw_string("gzip_comp_level"), MSLI|BW_CONF_TAKE1,
      bw_conf_set_num_slot, BW_HTTP_LOC_CONF_OFFSET, OFF(level), NULL },
    { bw_string("gzip_window"), MSLI|BW_CONF_TAKE1,
      bw_http_gzip_window, BW_HTTP_LOC_CONF_OFFSET, 0, NULL },
    { bw_string("gzip_hash"), MSLI|BW_CONF_TAKE1,
      bw_http_gzip_hash, BW_HTTP_LOC_CONF_OFFSET, 0, NULL },
    { bw_string("gzip_min_length"), MSLI|BW_CONF_TAKE1,
      bw_conf_set_size_slot, BW_HTTP_LOC_CONF_OFFSET, OFF(min_length),
      NULL },
    { bw_string("gzip_http_version"), MSLI|BW_CONF_TAKE1,
      bw_conf_set_enum_slot, BW_HTTP_LOC_CONF_OFFSET, OFF(http_version),
      bw_http_gzip_http_version },
    { bw_string("gzip_proxied"), MSLI|BW_CONF_1MORE,
      bw_conf_set_bitmask_slot, BW_HTTP_LOC_CONF_OFFSET, OFF(proxied),
      bw_http_gzip_proxied_mask },
    { bw_string("gzip_disable"), MSLI|BW_CONF_1MORE,
      bw_http_gzip_disable, BW_HTTP_LOC_CONF_OFFSET, 0, NULL },
    { bw_string("gzip_vary"), MSLI|BW_CONF_FLAG,
      bw_conf_set_flag_slot, BW_HTTP_LOC_CONF_OFFSET, OFF(vary), NULL },

    bw_null_command
};

static bw_http_module_t  bw_http_gzip_filter_module_ctx = {
    bw_http_gzip_add_variables, bw_http_gzip_filter_init,
    NULL, NULL, NULL, NULL,
    bw_http_gzip_create_conf, bw_http_gzip_merge_conf
};

bw_module_t  bw_http_gzip_filter_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_gzip_filter_module_ctx,
    bw_http_gzip_commands, NULL, NULL, NULL, NULL
};

static bw_http_output_header_filter_pt  bw_http_next_header_filter;
static bw_http_output_body_filter_pt    bw_http_next_body_filter;

/* --- may this response be compressed for this client? ------------------ */

/*
 * The q-value of gzip in Accept-Encoding: "gzip" or "x-gzip" by name,
 * else "*" (RFC 9110 12.5.3), else not acceptable. 0 means refused.
 */
static bw_uint_t
bw_http_gzip_accepted(bw_http_request_t *r)
{
    u_char                 *p, *end, *name, *q;
    size_t                  len;
    bw_uint_t               star, gzip, value, digits;
    bw_table_elt_t         *h;
    bw_http_header_iter_t   it;

    star = 0;
    gzip = (bw_uint_t) -1;

    it.part = &r->headers_in.headers.part;
    it.i = 0;

    while ((h = bw_http_header_next(&it, "accept-encoding", 15)) != NULL) {
        p = h->value.data;
        end = p + h->value.len;

        while (p < end) {
            while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) {
                p++;
            }
            name = p;
            while (p < end && *p != ',' && *p != ';' && *p != ' '
                   && *p != '\t')
            {
                p++;
            }
            len = p - name;

            /* the weight, in thousandths: "q=0.5" */
            value = 1000;
            while (p < end && *p != ',') {
                if (*p == ';') {
                    q = p + 1;
                    while (q < end && (*q == ' ' || *q == '\t')) {
                        q++;
                    }
                    if (end - q >= 2 && (q[0] == 'q' || q[0] == 'Q')
                        && q[1] == '=')
                    {
                        q += 2;
                        value = 0;
                        if (q < end && *q == '1') {
                            value = 1000;
                        } else if (q < end && *q == '0') {
                            q++;
                            if (q < end && *q == '.') {
                                q++;
                                for (digits = 0; digits < 3; digits++) {
                                    value *= 10;
                                    if (q < end && *q >= '0' && *q <= '9') {
                                        value += *q++ - '0';
                                    }
                                }
                            }
                        }
                    }
                }
                p++;
            }

            if ((len == 4 && bw_strncasecmp(name, (u_char *) "gzip", 4) == 0)
                || (len == 6
                    && bw_strncasecmp(name, (u_char *) "x-gzip", 6) == 0))
            {
                gzip = value;

            } else if (len == 1 && *name == '*') {
                star = value;
            }
        }
    }

    return gzip != (bw_uint_t) -1 ? gzip : star;
}

static bw_uint_t
bw_http_gzip_msie6(bw_table_elt_t *ua)
{
    u_char  *msie, *end;

    end = ua->value.data + ua->value.len;
    msie = bw_strlcasestrn(ua->value.data, end, (u_char *) "MSIE ", 5);
    if (msie == NULL || msie + 7 >= end
        || bw_strlcasestrn(ua->value.data, end, (u_char *) "Opera", 5))
    {
        return 0;
    }
    if (msie[6] != '.') {
        return 0;
    }
    switch (msie[5]) {
    case '4':
    case '5':
        return 1;
    case '6':
        /* IE6 with SP2 (SV1) decompresses correctly */
        return bw_strlcasestrn(msie + 8, end, (u_char *) "SV1", 3) == NULL;
    }
    return 0;
}

/* nginx's gzip_proxied: a request that came through a proxy (Via) gets a
 * compressed answer only when the answer says it may be cached so. */
static bw_int_t
bw_http_gzip_proxied(bw_http_request_t *r, bw_http_gzip_conf_t *conf)
{
    time_t                  date, expires;
    bw_uint_t               p;
    bw_table_elt_t         *h;
    bw_http_header_iter_t   it;

    p = conf->proxied;

    if (p & BW_HTTP_GZIP_PROXIED_OFF) {
        return BW_DECLINED;
    }
    if (p & BW_HTTP_GZIP_PROXIED_ANY) {
        return BW_OK;
    }
    if ((p & BW_HTTP_GZIP_PROXIED_AUTH) && r->headers_in.authorization) {
        return BW_OK;
    }

    h = r->headers_out.expires;
    if (h) {
        if (!(p & BW_HTTP_GZIP_PROXIED_EXPIRED)) {
            return BW_DECLINED;
        }
        expires = bw_parse_http_time(h->value.data, h->value.len);
        if (expires == BW_ERROR) {
            return BW_DECLINED;
        }
        date = bw_time_sec;
        if (r->headers_out.date) {
            date = bw_parse_http_time(r->headers_out.date->value.data,
                                      r->headers_out.date->value.len);
            if (date == BW_ERROR) {
                return BW_DECLINED;
            }
        }
        return expires < date ? BW_OK : BW_DECLINED;
    }

    if (r->headers_out.cache_control) {
        it.part = &r->headers_out.headers.part;
        it.i = 0;
        while ((h = bw_http_header_next(&it, "cache-control", 13)) != NULL) {
            if (h->hash == 0) {
                continue;
            }
            if (((p & BW_HTTP_GZIP_PROXIED_NO_CACHE)
                 && bw_strlcasestrn(h->value.data,
                                    h->value.data + h->value.len,
                                    (u_char *) "no-cache", 8))
                || ((p & BW_HTTP_GZIP_PROXIED_NO_STORE)
                    && bw_strlcasestrn(h->value.data,
                                       h->value.data + h->value.len,
                                       (u_char *) "no-store", 8))
                || ((p & BW_HTTP_GZIP_PROXIED_PRIVATE)
                    && bw_strlcasestrn(h->value.data,
                                       h->value.data + h->value.len,
                                       (u_char *) "private", 7)))
            {
                return BW_OK;
            }
        }
        return BW_DECLINED;
    }

    if ((p & BW_HTTP_GZIP_PROXIED_NO_LM) && r->headers_out.last_modified) {
        return BW_DECLINED;
    }
    if ((p & BW_HTTP_GZIP_PROXIED_NO_ETAG) && r->headers_out.etag) {
        return BW_DECLINED;
    }

    return BW_OK;
}

/*
 * Whether the client gets a compressed answer: the main request, an
 * Accept-Encoding that takes gzip, a version of at least
 * gzip_http_version, gzip_proxied for requests that came through a
 * proxy, and no gzip_disable match. Also for gzip_static.
 */
bw_int_t
bw_http_gzip_ok(bw_http_request_t *r)
{
    bw_uint_t               i;
    bw_regex_t            **re;
    bw_table_elt_t         *ua;
    bw_http_gzip_conf_t    *conf;
    bw_http_header_iter_t   it;

    if (r != r->main) {
        return BW_DECLINED;
    }

    conf = bw_http_get_module_loc_conf(r, bw_http_gzip_filter_module);

    if (r->http_version < conf->http_version
        || bw_http_gzip_accepted(r) == 0)
    {
        return BW_DECLINED;
    }

    it.part = &r->headers_in.headers.part;
    it.i = 0;
    if (bw_http_header_next(&it, "via", 3)
        && bw_http_gzip_proxied(r, conf) != BW_OK)
    {
        return BW_DECLINED;
    }

    ua = r->headers_in.user_agent;

    if (conf->disable_msie6 && ua && bw_http_gzip_msie6(ua)) {
        return BW_DECLINED;
    }

    if (conf->disable && ua) {
        re = conf->disable->elts;
        for (i = 0; i < conf->disable->nelts; i++) {
            if (bw_regex_exec(re[i], &ua->value, NULL, 0) >= 0) {
                return BW_DECLINED;
            }
        }
    }

    return BW_OK;
}

/* --- header ------------------------------------------------------------ */

/* gzip_vary: the answer depends on Accept-Encoding, for caches */
bw_int_t
bw_http_gzip_add_vary(bw_http_request_t *r)
{
    bw_str_t                v;
    bw_table_elt_t         *h;
    bw_http_gzip_conf_t    *conf;
    bw_http_header_iter_t   it;

    conf = bw_http_get_module_loc_conf(r, bw_http_gzip_filter_module);

    if (!conf->vary || r != r->main) {
        return BW_OK;
    }

    /* once: gunzip and gzip may both ask for it */
    it.part = &r->headers_out.headers.part;
    it.i = 0;
    while ((h = bw_http_header_next(&it, "vary", 4)) != NULL) {
        if (h->hash && bw_str_caseeq_lit(&h->value, "Accept-Encoding")) {
            return BW_OK;
        }
    }

    bw_str_set(&v, "Accept-Encoding");
    return bw_http_add_header_out(r, "Vary", &v) ? BW_OK : BW_ERROR;
}


static bw_int_t
bw_http_gzip_weak_etag(bw_http_request_t *r)
{
    u_char          *p;
    bw_table_elt_t  *etag;

    etag = r->headers_out.etag;
    if (etag == NULL) {
        return BW_OK;
    }

    if (etag->value.len > 2 && etag->value.data[0] == 'W'
        && etag->value.data[1] == '/')
    {
        return BW_OK;
    }

    if (etag->value.len < 1 || etag->value.data[0] != '"') {
        /* not a valid strong one: nothing to weaken */
        bw_http_clear_etag(r);
        return BW_OK;
    }

    p = bw_pnalloc(r->pool, etag->value.len + 2);
    if (p == NULL) {
        return BW_ERROR;
    }
    p[0] = 'W';
    p[1] = '/';
    memcpy(p + 2, etag->value.data, etag->value.len);
    etag->value.data = p;
    etag->value.len += 2;

    return BW_OK;
}

static bw_int_t
bw_http_gzip_header_filter(bw_http_request_t *r)
{
    bw_str_t              v;
    bw_table_elt_t       *h;
    bw_http_gzip_ctx_t   *ctx;
    bw_http_gzip_conf_t  *conf;

    conf = bw_http_get_module_loc_conf(r, bw_http_gzip_filter_module);

    if (!conf->enable
        || (r->headers_out.status != BW_HTTP_OK
            && r->headers_out.status != BW_HTTP_FORBIDDEN
            && r->headers_out.status != BW_HTTP_NOT_FOUND)
        || (r->headers_out.content_encoding
            && r->headers_out.content_encoding->value.len)
        || (r->headers_out.content_length_n != -1
            && (size_t) r->headers_out.content_length_n < conf->min_length)
        || !bw_http_test_content_type(r, conf->types)
        || r->header_only)
    {
        return bw_http_next_header_filter(r);
    }

    if (bw_http_gzip_add_vary(r) != BW_OK) {
        return BW_ERROR;
    }

    if (bw_http_gzip_ok(r) != BW_OK) {
        return bw_http_next_header_filter(r);
    }

    ctx = bw_pcalloc(r->pool, sizeof(bw_http_gzip_ctx_t));
    if (ctx == NULL) {
        return BW_ERROR;
    }
    ctx->length = r->headers_out.content_length_n;
    bw_http_set_ctx(r, ctx, bw_http_gzip_filter_module);

    bw_str_set(&v, "gzip");
    h = bw_http_add_header_out(r, "Content-Encoding", &v);
    if (h == NULL) {
        return BW_ERROR;
    }
    r->headers_out.content_encoding = h;

    bw_http_clear_content_length(r);
    bw_http_clear_accept_ranges(r);
    if (bw_http_gzip_weak_etag(r) != BW_OK) {
        return BW_ERROR;
    }

    return bw_http_next_header_filter(r);
}

/* --- body -------------------------------------------------------------- */

static bw_int_t bw_http_gzip_deflate(bw_http_request_t *r,
    bw_http_zstream_t *zs);

static bw_int_t
bw_http_gzip_start(bw_http_request_t *r, bw_http_gzip_ctx_t *ctx,
    bw_http_gzip_conf_t *conf)
{
    int  wbits, memlevel, rc;

    wbits = (int) conf->wbits;
    memlevel = (int) conf->memlevel;

    /* a small body of known length needs no 32 KiB window */
    if (ctx->length > 0) {
        while (wbits > 9 && ctx->length < ((1 << (wbits - 1)) - 262)) {
            wbits--;
            memlevel--;
        }
        if (memlevel < 1) {
            memlevel = 1;
        }
    }

    bw_http_zstream_init(r, &ctx->zs);
    ctx->zs.bufs = conf->bufs;
    ctx->zs.tag = (void *) &bw_http_gzip_filter_module;
    ctx->zs.buffered = BW_HTTP_GZIP_BUFFERED;
    ctx->zs.run = bw_http_gzip_deflate;
    ctx->zs.next = bw_http_next_body_filter;

    /* windowBits + 16: zlib writes the gzip header and trailer */
    rc = deflateInit2(&ctx->zs.zstream, (int) conf->level, Z_DEFLATED,
                      wbits + 16, memlevel, Z_DEFAULT_STRATEGY);
    if (rc != Z_OK) {
        bw_log_error(BW_LOG_ALERT, r->connection->log, 0,
                     "deflateInit2() failed: %d", rc);
        return BW_ERROR;
    }

    ctx->started = 1;
    return BW_OK;
}

static bw_int_t
bw_http_gzip_deflate(bw_http_request_t *r, bw_http_zstream_t *zs)
{
    int                  rc, flush;
    uint64_t             zin, zout;
    bw_http_gzip_ctx_t  *ctx;

    ctx = (bw_http_gzip_ctx_t *) zs;     /* zs is its first member */

    flush = zs->last ? Z_FINISH : zs->flush ? Z_SYNC_FLUSH : Z_NO_FLUSH;

    bw_log_debug(r->connection->log, "deflate in: ni:%p no:%p ai:%u ao:%u "
                 "fl:%d", (void *) zs->zstream.next_in,
                 (void *) zs->zstream.next_out, zs->zstream.avail_in,
                 zs->zstream.avail_out, flush);

    rc = deflate(&zs->zstream, flush);

    bw_log_debug(r->connection->log, "deflate out: ai:%u ao:%u rc:%d",
                 zs->zstream.avail_in, zs->zstream.avail_out, rc);

    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
        bw_log_error(BW_LOG_ALERT, r->connection->log, 0,
                     "deflate() failed: %d, %d", flush, rc);
        return BW_ERROR;
    }

    if (rc == Z_STREAM_END) {
        zin = zs->zstream.total_in;
        zout = zs->zstream.total_out;
        if (zout) {
            ctx->ratio_int = (bw_uint_t) (zin / zout);
            ctx->ratio_frac = (bw_uint_t) ((zin * 100 / zout) % 100);
            /* rounded as nginx's $gzip_ratio */
            if ((zin * 1000 / zout) % 10 > 4) {
                if (++ctx->ratio_frac > 99) {
                    ctx->ratio_int++;
                    ctx->ratio_frac = 0;
                }
            }
        }
        (void) deflateEnd(&zs->zstream);
        ctx->ended = 1;
    }

    return bw_http_zstream_after(r, zs, rc == Z_STREAM_END);
}

static bw_int_t
bw_http_gzip_body_filter(bw_http_request_t *r, bw_chain_t *in)
{
    bw_int_t              rc;
    bw_http_gzip_ctx_t   *ctx;
    bw_http_gzip_conf_t  *conf;

    ctx = bw_http_get_module_ctx(r, bw_http_gzip_filter_module);

    if (ctx == NULL || ctx->zs.done || r->header_only) {
        return bw_http_next_body_filter(r, in);
    }

    conf = bw_http_get_module_loc_conf(r, bw_http_gzip_filter_module);

    if (!ctx->started && bw_http_gzip_start(r, ctx, conf) != BW_OK) {
        ctx->zs.done = 1;
        return BW_ERROR;
    }

    rc = bw_http_zstream_filter(r, &ctx->zs, in);

    if (rc == BW_ERROR && !ctx->ended) {
        (void) deflateEnd(&ctx->zs.zstream);
        ctx->ended = 1;
    }

    return rc;
}

/* --- $gzip_ratio ------------------------------------------------------- */

static bw_int_t
bw_http_gzip_ratio_variable(bw_http_request_t *r,
    bw_http_variable_value_t *v, uintptr_t data)
{
    u_char              *p;
    bw_http_gzip_ctx_t  *ctx;

    ctx = bw_http_get_module_ctx(r, bw_http_gzip_filter_module);

    if (ctx == NULL || !ctx->ended || ctx->zs.zstream.total_out == 0) {
        v->not_found = 1;
        return BW_OK;
    }

    p = bw_pnalloc(r->pool, BW_INT_T_LEN + 4);
    if (p == NULL) {
        return BW_ERROR;
    }

    v->len = (unsigned) (bw_slprintf(p, p + BW_INT_T_LEN + 4, "%lu.%02lu",
                                    (unsigned long) ctx->ratio_int,
                                    (unsigned long) ctx->ratio_frac) - p);
    v->data = p;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return BW_OK;
}

static bw_http_variable_t  bw_http_gzip_vars[] = {
    { bw_string("gzip_ratio"), NULL, bw_http_gzip_ratio_variable, 0,
      BW_HTTP_VAR_NOCACHEABLE, 0 },
    bw_http_null_variable
};

static bw_int_t
bw_http_gzip_add_variables(bw_conf_t *cf)
{
    return bw_http_add_variables(cf, bw_http_gzip_vars);
}

/* --- configuration ----------------------------------------------------- */

static void *
bw_http_gzip_create_conf(bw_conf_t *cf)
{
    bw_http_gzip_conf_t  *conf;

    conf = bw_pcalloc(cf->pool, sizeof(bw_http_gzip_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->enable = BW_CONF_UNSET;
    conf->vary = BW_CONF_UNSET;
    conf->level = BW_CONF_UNSET;
    conf->min_length = BW_CONF_UNSET_SIZE;
    conf->wbits = BW_CONF_UNSET_SIZE;
    conf->memlevel = BW_CONF_UNSET_SIZE;
    conf->http_version = BW_CONF_UNSET_UINT;
    conf->types = BW_CONF_UNSET_PTR;
    conf->disable = BW_CONF_UNSET_PTR;
    conf->disable_msie6 = BW_CONF_UNSET;

    return conf;
}

static char *
bw_http_gzip_merge_conf(bw_conf_t *cf, void *parent, void *child)
{
    bw_http_gzip_conf_t  *prev = parent;
    bw_http_gzip_conf_t  *conf = child;

    bw_conf_merge_value(conf->enable, prev->enable, 0);
    bw_conf_merge_value(conf->vary, prev->vary, 0);
    bw_conf_merge_value(conf->level, prev->level, 1);
    bw_conf_merge_size_value(conf->min_length, prev->min_length, 20);
    bw_conf_merge_size_value(conf->wbits, prev->wbits, MAX_WBITS);
    bw_conf_merge_size_value(conf->memlevel, prev->memlevel,
                             MAX_MEM_LEVEL - 1);
    bw_conf_merge_uint_value(conf->http_version, prev->http_version,
                             BW_HTTP_VERSION_11);
    bw_conf_merge_bitmask_value(conf->proxied, prev->proxied,
                                BW_HTTP_GZIP_PROXIED_OFF);
    bw_conf_merge_bufs_value(conf->bufs, prev->bufs, 32, 4096);
    bw_conf_merge_ptr_value(conf->disable, prev->disable, NULL);
    bw_conf_merge_value(conf->disable_msie6, prev->disable_msie6, 0);

    if (conf->level < 1 || conf->level > 9) {
        return "gzip_comp_level must be between 1 and 9";
    }

    return bw_http_merge_types_list(cf, &conf->types, &prev->types, NULL);
}

static char *
bw_http_gzip_disable(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_gzip_conf_t  *gcf = conf;

    bw_str_t             *value;
    bw_uint_t             i;
    bw_regex_t          **re;
    bw_regex_compile_t    rc;

    if (gcf->disable == BW_CONF_UNSET_PTR) {
        gcf->disable = bw_array_create(cf->pool, 2, sizeof(bw_regex_t *));
        if (gcf->disable == NULL) {
            return BW_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (bw_str_eq_lit(&value[i], "msie6")) {
            gcf->disable_msie6 = 1;
            continue;
        }
        if (bw_str_eq_lit(&value[i], "degradation")) {
            /* nginx's "degradation" depends on a removed directive */
            continue;
        }

        bw_memzero(&rc, sizeof(bw_regex_compile_t));
        rc.pattern = value[i];
        rc.pool = cf->pool;
        rc.options = BW_REGEX_CASELESS;

        if (bw_regex_compile(&rc) != BW_OK) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0, "%.*s", (int) rc.err.len,
                              rc.err.data);
            return BW_CONF_ERROR;
        }

        re = bw_array_push(gcf->disable);
        if (re == NULL) {
            return BW_CONF_ERROR;
        }
        *re = rc.regex;
    }

    return BW_CONF_OK;
}

/* gzip_window 512..32k and gzip_hash 512..128k: powers of two, as nginx */
static char *
bw_http_gzip_power(bw_conf_t *cf, size_t *dst, size_t min, size_t max,
    bw_uint_t shift)
{
    ssize_t    n;
    size_t     bits;
    bw_str_t  *value;

    if (*dst != BW_CONF_UNSET_SIZE) {
        return "is duplicate";
    }

    value = cf->args->elts;
    n = bw_parse_size(&value[1]);
    if (n == BW_ERROR || (size_t) n < min || (size_t) n > max
        || (n & (n - 1)))
    {
        return "must be a power of two in the allowed range";
    }

    for (bits = 0; ((size_t) 1 << bits) < (size_t) n; bits++) {
        /* void */
    }
    *dst = bits - shift;
    return BW_CONF_OK;
}

static char *
bw_http_gzip_window(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_gzip_conf_t  *gcf = conf;

    return bw_http_gzip_power(cf, &gcf->wbits, 512, 32768, 0);
}

static char *
bw_http_gzip_hash(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_gzip_conf_t  *gcf = conf;

    /* memLevel: the hash takes 2^(memLevel + 8) bytes */
    return bw_http_gzip_power(cf, &gcf->memlevel, 512, 131072, 8);
}

static bw_int_t
bw_http_gzip_filter_init(bw_conf_t *cf)
{
    bw_http_next_header_filter = bw_http_top_header_filter;
    bw_http_top_header_filter = bw_http_gzip_header_filter;

    bw_http_next_body_filter = bw_http_top_body_filter;
    bw_http_top_body_filter = bw_http_gzip_body_filter;

    return BW_OK;
}
