/*
 * gunzip: an answer with Content-Encoding: gzip (an upstream that always
 * compresses, a .gz served as such) is decompressed as it passes for a
 * client that does not take gzip, as nginx's gunzip module: the header
 * loses Content-Encoding, Content-Length and Accept-Ranges and gets a
 * weak ETag; the body streams through zlib within gunzip_buffers.
 * Several gzip members one after another are all decompressed; a body
 * that ends inside a member, or is not gzip, ends the response (logged),
 * never sent as if complete.
 */

#include <bw_http_zstream.h>
#include <bw_http_gzip.h>

#define BW_HTTP_GUNZIP_BUFFERED  0x04

typedef struct {
    bw_int_t         enable;
    bw_bufs_t        bufs;
} bw_http_gunzip_conf_t;

typedef struct {
    bw_http_zstream_t  zs;
    unsigned           started:1;
    unsigned           member_end:1;   /* between two gzip members */
} bw_http_gunzip_ctx_t;

static bw_int_t bw_http_gunzip_filter_init(bw_conf_t *cf);
static void *bw_http_gunzip_create_conf(bw_conf_t *cf);
static char *bw_http_gunzip_merge_conf(bw_conf_t *cf, void *parent,
    void *child);

static bw_command_t  bw_http_gunzip_commands[] = {

    { bw_string("gunzip"),
      BW_HTTP_MAIN_CONF|BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF|BW_CONF_FLAG,
      bw_conf_set_flag_slot, BW_HTTP_LOC_CONF_OFFSET,
      offsetof(bw_http_gunzip_conf_t, enable), NULL },
    { bw_string("gunzip_buffers"),
      BW_HTTP_MAIN_CONF|BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF|BW_CONF_TAKE2,
      bw_conf_set_bufs_slot, BW_HTTP_LOC_CONF_OFFSET,
      offsetof(bw_http_gunzip_conf_t, bufs), NULL },

    bw_null_command
};

static bw_http_module_t  bw_http_gunzip_filter_module_ctx = {
    NULL, bw_http_gunzip_filter_init, NULL, NULL, NULL, NULL,
    bw_http_gunzip_create_conf, bw_http_gunzip_merge_conf
};

bw_module_t  bw_http_gunzip_filter_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_gunzip_filter_module_ctx,
    bw_http_gunzip_commands, NULL, NULL, NULL, NULL
};

static bw_http_output_header_filter_pt  bw_http_next_header_filter;
static bw_http_output_body_filter_pt    bw_http_next_body_filter;

static bw_int_t
bw_http_gunzip_header_filter(bw_http_request_t *r)
{
    u_char                 *p;
    bw_table_elt_t         *ce, *etag;
    bw_http_gunzip_ctx_t   *ctx;
    bw_http_gunzip_conf_t  *conf;

    conf = bw_http_get_module_loc_conf(r, bw_http_gunzip_filter_module);
    ce = r->headers_out.content_encoding;

    if (!conf->enable || ce == NULL || !bw_str_caseeq_lit(&ce->value, "gzip"))
    {
        return bw_http_next_header_filter(r);
    }

    /* the answer depends on Accept-Encoding now */
    if (bw_http_gzip_add_vary(r) != BW_OK) {
        return BW_ERROR;
    }

    if (bw_http_gzip_ok(r) == BW_OK) {
        return bw_http_next_header_filter(r);
    }

    ctx = bw_pcalloc(r->pool, sizeof(bw_http_gunzip_ctx_t));
    if (ctx == NULL) {
        return BW_ERROR;
    }
    bw_http_set_ctx(r, ctx, bw_http_gunzip_filter_module);

    ce->hash = 0;
    r->headers_out.content_encoding = NULL;
    bw_http_clear_content_length(r);
    bw_http_clear_accept_ranges(r);

    /* the bytes differ from those the ETag named */
    etag = r->headers_out.etag;
    if (etag && !(etag->value.len > 2 && etag->value.data[0] == 'W'
                  && etag->value.data[1] == '/'))
    {
        if (etag->value.len && etag->value.data[0] == '"') {
            p = bw_pnalloc(r->pool, etag->value.len + 2);
            if (p == NULL) {
                return BW_ERROR;
            }
            p[0] = 'W';
            p[1] = '/';
            memcpy(p + 2, etag->value.data, etag->value.len);
            etag->value.data = p;
            etag->value.len += 2;
        } else {
            bw_http_clear_etag(r);
        }
    }

    return bw_http_next_header_filter(r);
}

static bw_int_t
bw_http_gunzip_inflate(bw_http_request_t *r, bw_http_zstream_t *zs)
{
    int                    rc, flush;
    bw_uint_t              end;
    bw_http_gunzip_ctx_t  *ctx;

    ctx = (bw_http_gunzip_ctx_t *) zs;     /* zs is its first member */

    if (ctx->member_end && zs->zstream.avail_in) {
        /* another gzip member follows */
        if (inflateReset(&zs->zstream) != Z_OK) {
            return BW_ERROR;
        }
        ctx->member_end = 0;
    }

    end = 0;

    if (ctx->member_end || (zs->zstream.avail_in == 0 && !zs->flush
                            && !zs->last))
    {
        rc = Z_STREAM_END;

    } else {
        flush = zs->flush ? Z_SYNC_FLUSH : Z_NO_FLUSH;
        rc = inflate(&zs->zstream, flush);

        bw_log_debug(r->connection->log, "inflate: ai:%u ao:%u rc:%d",
                     zs->zstream.avail_in, zs->zstream.avail_out, rc);

        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
            bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                         "inflate() failed: %d, %d%s%s", flush, rc,
                         zs->zstream.msg ? ": " : "",
                         zs->zstream.msg ? zs->zstream.msg : "");
            return BW_ERROR;
        }

        if (rc == Z_STREAM_END) {
            ctx->member_end = 1;
        }
    }

    if (zs->last && zs->zstream.avail_in == 0) {
        if (!ctx->member_end) {
            if (zs->zstream.avail_out == 0) {
                /* more output of the last input: not the end yet */
                return bw_http_zstream_after(r, zs, 0);
            }
            bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                         "gunzip: the gzipped body ends inside a member");
            return BW_ERROR;
        }
        end = 1;
        (void) inflateEnd(&zs->zstream);
    }

    return bw_http_zstream_after(r, zs, end);
}

static bw_int_t
bw_http_gunzip_body_filter(bw_http_request_t *r, bw_chain_t *in)
{
    int                     rc;
    bw_http_gunzip_ctx_t   *ctx;
    bw_http_gunzip_conf_t  *conf;

    ctx = bw_http_get_module_ctx(r, bw_http_gunzip_filter_module);

    if (ctx == NULL || ctx->zs.done || r->header_only) {
        return bw_http_next_body_filter(r, in);
    }

    if (!ctx->started) {
        conf = bw_http_get_module_loc_conf(r, bw_http_gunzip_filter_module);

        bw_http_zstream_init(r, &ctx->zs);
        ctx->zs.bufs = conf->bufs;
        ctx->zs.tag = (void *) &bw_http_gunzip_filter_module;
        ctx->zs.buffered = BW_HTTP_GUNZIP_BUFFERED;
        ctx->zs.run = bw_http_gunzip_inflate;
        ctx->zs.next = bw_http_next_body_filter;

        /* windowBits + 16: a gzip header and trailer, checked */
        rc = inflateInit2(&ctx->zs.zstream, MAX_WBITS + 16);
        if (rc != Z_OK) {
            bw_log_error(BW_LOG_ALERT, r->connection->log, 0,
                         "inflateInit2() failed: %d", rc);
            ctx->zs.done = 1;
            return BW_ERROR;
        }
        ctx->started = 1;
    }

    return bw_http_zstream_filter(r, &ctx->zs, in);
}

static void *
bw_http_gunzip_create_conf(bw_conf_t *cf)
{
    bw_http_gunzip_conf_t  *conf;

    conf = bw_pcalloc(cf->pool, sizeof(bw_http_gunzip_conf_t));
    if (conf == NULL) {
        return NULL;
    }
    conf->enable = BW_CONF_UNSET;
    return conf;
}

static char *
bw_http_gunzip_merge_conf(bw_conf_t *cf, void *parent, void *child)
{
    bw_http_gunzip_conf_t  *prev = parent;
    bw_http_gunzip_conf_t  *conf = child;

    bw_conf_merge_value(conf->enable, prev->enable, 0);
    bw_conf_merge_bufs_value(conf->bufs, prev->bufs, 32, 4096);
    return BW_CONF_OK;
}

static bw_int_t
bw_http_gunzip_filter_init(bw_conf_t *cf)
{
    bw_http_next_header_filter = bw_http_top_header_filter;
    bw_http_top_header_filter = bw_http_gunzip_header_filter;

    bw_http_next_body_filter = bw_http_top_body_filter;
    bw_http_top_body_filter = bw_http_gunzip_body_filter;

    return BW_OK;
}
