/*
 * charset, source_charset, override_charset, charset_map and
 * charset_types, as nginx: the Content-Type of responses whose type is
 * in charset_types gets "; charset=NAME"; when the response is in
 * another charset (source_charset, or with override_charset on the one
 * a proxied response names) and a charset_map joins the two, the body
 * is recoded on its way out. Maps join two one-byte charsets (both
 * ways), or a one-byte charset and UTF-8; a character UTF-8 has and the
 * one-byte charset does not becomes an HTML numeric entity, as nginx.
 */

#include <bw_http.h>

#define BW_CHARSET_UNSET  -2
#define BW_CHARSET_OFF    -1

typedef struct {
    bw_str_t     name;           /* lowercase */
    bw_uint_t    utf8;
} bw_http_charset_t;

typedef struct {
    bw_int_t     src;            /* charsets' indexes, src one-byte */
    bw_int_t     dst;
    u_char      *src2dst;        /* one-byte: 256 bytes; to UTF-8: 256
                                    entries of 4 (length, up to 3 bytes) */
    u_char      *dst2src;        /* one-byte: 256 bytes; from UTF-8: one
                                    byte a BMP code point, 0: none */
} bw_http_charset_table_t;

typedef struct {
    bw_int_t     src;
    bw_int_t     dst;
} bw_http_charset_recode_t;

typedef struct {
    bw_array_t   charsets;       /* bw_http_charset_t */
    bw_array_t   tables;         /* bw_http_charset_table_t */
    bw_array_t   recodes;        /* bw_http_charset_recode_t, checked
                                    once every map is read */
} bw_http_charset_main_conf_t;

typedef struct {
    bw_int_t     charset;        /* indexes; OFF, UNSET */
    bw_int_t     source_charset;
    bw_flag_t    override_charset;
    bw_array_t  *types;          /* bw_str_t, lowercase */
} bw_http_charset_loc_conf_t;

/* how a response is recoded */
typedef struct {
    u_char      *table;
    bw_uint_t    mode;           /* BW_CHARSET_BYTE, _TO_UTF8, _FROM_UTF8 */
    u_char       saved[4];       /* a UTF-8 sequence cut by a buffer */
    size_t       nsaved;
} bw_http_charset_ctx_t;

#define BW_CHARSET_BYTE       0
#define BW_CHARSET_TO_UTF8    1
#define BW_CHARSET_FROM_UTF8  2

typedef struct {
    bw_http_charset_table_t  *table;
    bw_uint_t                 utf8;
    bw_uint_t                 line;
} bw_http_charset_map_ctx_t;

static bw_int_t bw_http_charset_filter_init(bw_conf_t *cf);
static void *bw_http_charset_create_main_conf(bw_conf_t *cf);
static void *bw_http_charset_create_loc_conf(bw_conf_t *cf);
static char *bw_http_charset_merge_loc_conf(bw_conf_t *cf, void *parent,
    void *child);
static char *bw_http_charset_slot(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_charset_types(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_charset_map_block(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_charset_map_line(bw_conf_t *cf, bw_command_t *dummy,
    void *conf);

#define CS_CTX  (BW_HTTP_MAIN_CONF|BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF \
                 |BW_HTTP_LIF_CONF)

static bw_command_t  bw_http_charset_filter_commands[] = {
    { bw_string("charset"), CS_CTX|BW_CONF_TAKE1, bw_http_charset_slot,
      BW_HTTP_LOC_CONF_OFFSET,
      offsetof(bw_http_charset_loc_conf_t, charset), NULL },
    { bw_string("source_charset"), CS_CTX|BW_CONF_TAKE1,
      bw_http_charset_slot, BW_HTTP_LOC_CONF_OFFSET,
      offsetof(bw_http_charset_loc_conf_t, source_charset), NULL },
    { bw_string("override_charset"), CS_CTX|BW_CONF_FLAG,
      bw_conf_set_flag_slot, BW_HTTP_LOC_CONF_OFFSET,
      offsetof(bw_http_charset_loc_conf_t, override_charset), NULL },
    { bw_string("charset_types"),
      BW_HTTP_MAIN_CONF|BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF|BW_CONF_1MORE,
      bw_http_charset_types, BW_HTTP_LOC_CONF_OFFSET, 0, NULL },
    { bw_string("charset_map"), BW_HTTP_MAIN_CONF|BW_CONF_BLOCK|BW_CONF_TAKE2,
      bw_http_charset_map_block, BW_HTTP_MAIN_CONF_OFFSET, 0, NULL },
    bw_null_command
};

static bw_http_module_t  bw_http_charset_filter_module_ctx = {
    NULL, bw_http_charset_filter_init,
    bw_http_charset_create_main_conf, NULL,
    NULL, NULL,
    bw_http_charset_create_loc_conf, bw_http_charset_merge_loc_conf
};

bw_module_t  bw_http_charset_filter_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_charset_filter_module_ctx,
    bw_http_charset_filter_commands, NULL, NULL, NULL, NULL
};

static bw_http_output_header_filter_pt  bw_http_next_header_filter;
static bw_http_output_body_filter_pt    bw_http_next_body_filter;

static const char  *bw_http_charset_default_types[] = {
    "text/html", "text/xml", "text/plain", "text/vnd.wap.wml",
    "application/javascript", "application/rss+xml", NULL
};

/* --- the header ----------------------------------------------------------- */

/* The charset a name stands for, -1 when no directive names it. */
static bw_int_t
bw_http_charset_find(bw_http_charset_main_conf_t *mcf, bw_str_t *name)
{
    bw_uint_t           i;
    bw_http_charset_t  *cs;

    cs = mcf->charsets.elts;
    for (i = 0; i < mcf->charsets.nelts; i++) {
        if (cs[i].name.len == name->len
            && bw_strncasecmp(cs[i].name.data, name->data, name->len) == 0)
        {
            return (bw_int_t) i;
        }
    }
    return -1;
}

/* "text/html; charset=koi8-r": the charset's value (quotes taken off) */
static bw_uint_t
bw_http_charset_of_type(bw_str_t *type, bw_str_t *cs, size_t *base)
{
    u_char  *p, *end, *semi;

    p = type->data;
    end = p + type->len;
    semi = memchr(p, ';', type->len);
    if (semi == NULL) {
        *base = type->len;
        return 0;
    }

    *base = semi - p;
    while (*base && (p[*base - 1] == ' ' || p[*base - 1] == '\t')) {
        (*base)--;
    }

    for (p = semi; p + 8 <= end; p++) {
        if (bw_strncasecmp(p, (u_char *) "charset=", 8) == 0) {
            p += 8;
            cs->data = p;
            while (p < end && *p != ';' && *p != ' ') {
                p++;
            }
            cs->len = p - cs->data;
            if (cs->len >= 2 && cs->data[0] == '"'
                && cs->data[cs->len - 1] == '"')
            {
                cs->data++;
                cs->len -= 2;
            }
            return cs->len != 0;
        }
    }

    return 0;
}

static bw_uint_t
bw_http_charset_type_listed(bw_http_charset_loc_conf_t *lcf, u_char *type,
    size_t len)
{
    bw_str_t   *t;
    bw_uint_t   i;

    t = lcf->types->elts;
    for (i = 0; i < lcf->types->nelts; i++) {
        if ((t[i].len == 1 && t[i].data[0] == '*')
            || (t[i].len == len && bw_strncasecmp(t[i].data, type, len) == 0))
        {
            return 1;
        }
    }
    return 0;
}

static bw_int_t
bw_http_charset_header_filter(bw_http_request_t *r)
{
    size_t                        base;
    bw_int_t                      src, dst;
    bw_str_t                      label, *dname;
    bw_uint_t                     i, has;
    bw_http_charset_t            *cs;
    bw_http_charset_ctx_t        *ctx;
    bw_http_charset_table_t      *t;
    bw_http_charset_loc_conf_t   *lcf;
    bw_http_charset_main_conf_t  *mcf;

    lcf = r->loc_conf[bw_http_charset_filter_module.ctx_index];

    if (lcf->charset == BW_CHARSET_OFF || r->headers_out.content_type.len == 0
        || r->headers_out.charset.len || r != r->main
        || (r->headers_out.content_encoding
            && r->headers_out.content_encoding->value.len))
    {
        return bw_http_next_header_filter(r);
    }

    label.len = 0;
    label.data = NULL;
    has = bw_http_charset_of_type(&r->headers_out.content_type, &label,
                                  &base);

    if (!bw_http_charset_type_listed(lcf, r->headers_out.content_type.data,
                                     base))
    {
        return bw_http_next_header_filter(r);
    }

    mcf = r->main_conf[bw_http_charset_filter_module.ctx_index];
    cs = mcf->charsets.elts;
    dst = lcf->charset;
    dname = &cs[dst].name;

    if (has) {
        /* the response names its own charset: it stays, unless
         * override_charset says to recode from it */
        if (!lcf->override_charset) {
            return bw_http_next_header_filter(r);
        }
        src = bw_http_charset_find(mcf, &label);
        if (src == -1) {
            bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                         "unknown charset \"%.*s\" to override",
                         (int) label.len, label.data);
            return bw_http_next_header_filter(r);
        }

    } else {
        src = lcf->source_charset;
    }

    if (src < 0 || src == dst
        || (cs[src].utf8 && cs[dst].utf8))
    {
        /* only the label */
        r->headers_out.content_type.len = base;
        r->headers_out.charset = *dname;
        return bw_http_next_header_filter(r);
    }

    t = mcf->tables.elts;
    for (i = 0; i < mcf->tables.nelts; i++) {
        if ((t[i].src == src && t[i].dst == dst)
            || (t[i].src == dst && t[i].dst == src))
        {
            break;
        }
    }

    if (i == mcf->tables.nelts) {
        bw_log_error(BW_LOG_ERR, r->connection->log, 0,
                     "no \"charset_map\" between the charsets \"%.*s\" and "
                     "\"%.*s\"", (int) cs[src].name.len, cs[src].name.data,
                     (int) dname->len, dname->data);
        return bw_http_next_header_filter(r);
    }

    ctx = bw_pcalloc(r->pool, sizeof(bw_http_charset_ctx_t));
    if (ctx == NULL) {
        return BW_ERROR;
    }

    if (cs[dst].utf8) {
        ctx->mode = BW_CHARSET_TO_UTF8;
        ctx->table = t[i].src2dst;
    } else if (cs[src].utf8) {
        ctx->mode = BW_CHARSET_FROM_UTF8;
        ctx->table = t[i].dst2src;
    } else {
        ctx->mode = BW_CHARSET_BYTE;
        ctx->table = (t[i].src == src) ? t[i].src2dst : t[i].dst2src;
    }

    bw_http_set_ctx(r, ctx, bw_http_charset_filter_module);

    r->headers_out.content_type.len = base;
    r->headers_out.charset = *dname;

    if (ctx->mode != BW_CHARSET_BYTE) {
        /* one byte may become several, or several one: the length is
         * unknown, and so no range is cut (a byte for a byte keeps
         * both, as nginx; an upstream's Accept-Ranges line is passed
         * on, as nginx does) */
        bw_http_clear_content_length(r);
        r->allow_ranges = 0;
    }

    return bw_http_next_header_filter(r);
}

/* --- the body --------------------------------------------------------------- */

/* Bytes of one buffer, recoded into out (room enough for the worst
 * case: 3 bytes a byte to UTF-8, "&#65535;" a character from it). */
static u_char *
bw_http_charset_recode(bw_http_charset_ctx_t *ctx, u_char *p, u_char *end,
    u_char *out)
{
    u_char    c, *e;
    uint32_t  cp;
    size_t    need, i;

    switch (ctx->mode) {

    case BW_CHARSET_BYTE:
        while (p < end) {
            *out++ = ctx->table[*p++];
        }
        return out;

    case BW_CHARSET_TO_UTF8:
        while (p < end) {
            e = &ctx->table[*p++ * 4];
            for (i = 1; i <= e[0]; i++) {
                *out++ = e[i];
            }
        }
        return out;
    }

    /* from UTF-8: a sequence cut by the last buffer comes first */
    while (p < end || ctx->nsaved) {
        if (ctx->nsaved) {
            while (ctx->nsaved < 4 && p < end
                   && ctx->nsaved < (size_t) ((ctx->saved[0] >= 0xf0) ? 4
                                              : (ctx->saved[0] >= 0xe0) ? 3
                                              : 2))
            {
                ctx->saved[ctx->nsaved++] = *p++;
            }
            need = (ctx->saved[0] >= 0xf0) ? 4 : (ctx->saved[0] >= 0xe0)
                   ? 3 : 2;
            if (ctx->nsaved < need) {
                return out;     /* still cut */
            }
            e = ctx->saved;
            ctx->nsaved = 0;

        } else {
            c = *p;
            if (c < 0x80) {
                *out++ = c;
                p++;
                continue;
            }
            need = (c >= 0xf0) ? 4 : (c >= 0xe0) ? 3 : (c >= 0xc0) ? 2 : 1;
            if ((size_t) (end - p) < need) {
                while (p < end) {
                    ctx->saved[ctx->nsaved++] = *p++;
                }
                return out;
            }
            e = p;
            p += need;
        }

        /* e: a whole sequence of need bytes */
        if (need == 1) {
            cp = 0xfffd;
        } else if (need == 2) {
            cp = ((e[0] & 0x1f) << 6) | (e[1] & 0x3f);
        } else if (need == 3) {
            cp = ((e[0] & 0x0f) << 12) | ((e[1] & 0x3f) << 6) | (e[2] & 0x3f);
        } else {
            cp = ((uint32_t) (e[0] & 0x07) << 18) | ((e[1] & 0x3f) << 12)
                 | ((e[2] & 0x3f) << 6) | (e[3] & 0x3f);
        }

        if (cp < 0x10000 && ctx->table[cp]) {
            *out++ = ctx->table[cp];
        } else {
            out = bw_slprintf(out, out + 12, "&#%u;", (unsigned) cp);
        }
    }

    return out;
}

static bw_int_t
bw_http_charset_body_filter(bw_http_request_t *r, bw_chain_t *in)
{
    off_t                   size;
    u_char                 *src;
    size_t                  len, chunk;
    ssize_t                 n;
    bw_buf_t               *b, *nb;
    bw_chain_t             *cl, *out, **ll;
    bw_http_charset_ctx_t  *ctx;

    ctx = bw_http_get_module_ctx(r, bw_http_charset_filter_module);

    if (ctx == NULL || in == NULL) {
        return bw_http_next_body_filter(r, in);
    }

    out = NULL;
    ll = &out;

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;
        size = bw_buf_size(b);

        /* a file's bytes are read here in pieces: never the whole file
         * in memory */
        do {
            nb = NULL;

            if (size > 0) {
                if (bw_buf_in_memory(b)) {
                    src = b->pos;
                    len = (size_t) size;
                } else {
                    chunk = (size_t) bw_min(size, (off_t) 16384);
                    src = bw_pnalloc(r->pool, chunk);
                    if (src == NULL) {
                        return BW_ERROR;
                    }
                    n = pread(b->file->fd, src, chunk, b->file_pos);
                    if (n <= 0) {
                        bw_log_error(BW_LOG_CRIT, r->connection->log,
                                     n == -1 ? errno : 0, "pread() failed "
                                     "while recoding a response");
                        return BW_ERROR;
                    }
                    len = (size_t) n;
                }

                nb = bw_create_temp_buf(r->pool, len * 8 + 16);
                if (nb == NULL) {
                    return BW_ERROR;
                }
                nb->last = bw_http_charset_recode(ctx, src, src + len,
                                                  nb->last);

                if (bw_buf_in_memory(b)) {
                    b->pos += len;
                }
                if (b->in_file) {
                    b->file_pos += len;
                }
                size -= len;
            }

            if (size == 0 && b->last_buf && ctx->nsaved) {
                /* a character cut short by the end of the body */
                if (nb == NULL) {
                    nb = bw_create_temp_buf(r->pool, 16);
                    if (nb == NULL) {
                        return BW_ERROR;
                    }
                }
                nb->last = bw_slprintf(nb->last, nb->end, "&#%u;", 0xfffdU);
                ctx->nsaved = 0;
            }

            if (nb == NULL) {
                /* no data: the buffer's flags go on */
                nb = bw_calloc_buf(r->pool);
                if (nb == NULL) {
                    return BW_ERROR;
                }
            }

            if (size == 0) {
                nb->flush = b->flush;
                nb->last_buf = b->last_buf;
                nb->last_in_chain = b->last_in_chain;
            }

            *ll = bw_alloc_chain_link(r->pool);
            if (*ll == NULL) {
                return BW_ERROR;
            }
            (*ll)->buf = nb;
            ll = &(*ll)->next;

        } while (size > 0);
    }

    *ll = NULL;

    return bw_http_next_body_filter(r, out);
}

/* --- configuration ---------------------------------------------------------- */

/* The index of a charset name, added when new. */
static bw_int_t
bw_http_charset_add(bw_conf_t *cf, bw_str_t *name)
{
    bw_int_t                      i;
    bw_http_charset_t            *cs;
    bw_http_charset_main_conf_t  *mcf;

    mcf = bw_http_conf_get_module_main_conf(cf, bw_http_charset_filter_module);

    i = bw_http_charset_find(mcf, name);
    if (i != -1) {
        return i;
    }

    cs = bw_array_push(&mcf->charsets);
    if (cs == NULL) {
        return BW_ERROR;
    }
    cs->name.data = bw_pnalloc(cf->pool, name->len);
    if (cs->name.data == NULL) {
        return BW_ERROR;
    }
    bw_strlow(cs->name.data, name->data, name->len);
    cs->name.len = name->len;
    cs->utf8 = bw_str_caseeq_lit(name, "utf-8")
               || bw_str_caseeq_lit(name, "utf8");

    return (bw_int_t) (mcf->charsets.nelts - 1);
}

static char *
bw_http_charset_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_int_t   *field, i;
    bw_str_t   *value;

    field = (bw_int_t *) ((char *) conf + cmd->offset);

    if (*field != BW_CHARSET_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cmd->offset == offsetof(bw_http_charset_loc_conf_t, charset)
        && bw_str_eq_lit(&value[1], "off"))
    {
        *field = BW_CHARSET_OFF;
        return BW_CONF_OK;
    }

    if (value[1].len && value[1].data[0] == '$') {
        return "with variables is not supported";
    }

    i = bw_http_charset_add(cf, &value[1]);
    if (i == BW_ERROR) {
        return BW_CONF_ERROR;
    }
    *field = i;

    return BW_CONF_OK;
}

static bw_int_t
bw_http_charset_hex(bw_str_t *s, size_t min, size_t max, u_char *out)
{
    size_t   i;
    u_char   c, v;

    if (s->len < 2 * min || s->len > 2 * max || s->len % 2) {
        return BW_ERROR;
    }

    for (i = 0; i < s->len; i++) {
        c = s->data[i];
        if (c >= '0' && c <= '9') {
            v = c - '0';
        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
            v = (c | 0x20) - 'a' + 10;
        } else {
            return BW_ERROR;
        }
        if (i % 2 == 0) {
            out[i / 2] = v << 4;
        } else {
            out[i / 2] |= v;
        }
    }

    return (bw_int_t) (s->len / 2);
}

static char *
bw_http_charset_map_block(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    char                         *rv;
    bw_int_t                      src, dst;
    bw_str_t                     *value;
    bw_uint_t                     i;
    bw_http_charset_t            *cs;
    bw_http_charset_table_t      *t;
    bw_http_charset_map_ctx_t     ctx;
    bw_http_charset_main_conf_t  *mcf = conf;

    value = cf->args->elts;

    src = bw_http_charset_add(cf, &value[1]);
    dst = bw_http_charset_add(cf, &value[2]);
    if (src == BW_ERROR || dst == BW_ERROR) {
        return BW_CONF_ERROR;
    }

    cs = mcf->charsets.elts;

    if (src == dst || cs[src].utf8) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "\"charset_map\" between the same charsets "
                          "\"%.*s\" and \"%.*s\"", (int) value[1].len,
                          value[1].data, (int) value[2].len, value[2].data);
        return BW_CONF_ERROR;
    }

    t = mcf->tables.elts;
    for (i = 0; i < mcf->tables.nelts; i++) {
        if ((t[i].src == src && t[i].dst == dst)
            || (t[i].src == dst && t[i].dst == src))
        {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "duplicate \"charset_map\" between "
                              "\"%.*s\" and \"%.*s\"",
                              (int) value[1].len, value[1].data,
                              (int) value[2].len, value[2].data);
            return BW_CONF_ERROR;
        }
    }

    t = bw_array_push(&mcf->tables);
    if (t == NULL) {
        return BW_CONF_ERROR;
    }
    t->src = src;
    t->dst = dst;

    ctx.table = t;
    ctx.utf8 = cs[dst].utf8;

    if (ctx.utf8) {
        t->src2dst = bw_pcalloc(cf->pool, 256 * 4);
        t->dst2src = bw_pcalloc(cf->pool, 0x10000);
        if (t->src2dst == NULL || t->dst2src == NULL) {
            return BW_CONF_ERROR;
        }
        for (i = 0; i < 128; i++) {
            t->src2dst[i * 4] = 1;
            t->src2dst[i * 4 + 1] = (u_char) i;
            t->dst2src[i] = (u_char) i;
        }

    } else {
        t->src2dst = bw_pnalloc(cf->pool, 256);
        t->dst2src = bw_pnalloc(cf->pool, 256);
        if (t->src2dst == NULL || t->dst2src == NULL) {
            return BW_CONF_ERROR;
        }
        /* what no line maps stays as it is */
        for (i = 0; i < 256; i++) {
            t->src2dst[i] = (u_char) i;
            t->dst2src[i] = (u_char) i;
        }
    }

    rv = bw_conf_parse_block(cf, bw_http_charset_map_line, &ctx);

    return rv;
}

static char *
bw_http_charset_map_line(bw_conf_t *cf, bw_command_t *dummy, void *conf)
{
    u_char                      from, to[4];
    uint32_t                    cp;
    bw_int_t                    n;
    bw_str_t                   *value;
    bw_http_charset_map_ctx_t  *ctx = conf;
    bw_http_charset_table_t    *t;

    value = cf->args->elts;
    t = ctx->table;

    if (cf->args->nelts != 2
        || bw_http_charset_hex(&value[0], 1, 1, &from) != 1)
    {
        goto invalid;
    }

    n = bw_http_charset_hex(&value[1], 1, ctx->utf8 ? 3 : 1, to);
    if (n == BW_ERROR) {
        goto invalid;
    }

    if (!ctx->utf8) {
        t->src2dst[from] = to[0];
        t->dst2src[to[0]] = from;
        return BW_CONF_OK;
    }

    /* to UTF-8: the sequence must be one character of the BMP */
    if (n == 1 && to[0] < 0x80) {
        cp = to[0];
    } else if (n == 2 && (to[0] & 0xe0) == 0xc0 && (to[1] & 0xc0) == 0x80) {
        cp = ((to[0] & 0x1f) << 6) | (to[1] & 0x3f);
    } else if (n == 3 && (to[0] & 0xf0) == 0xe0 && (to[1] & 0xc0) == 0x80
               && (to[2] & 0xc0) == 0x80)
    {
        cp = ((to[0] & 0x0f) << 12) | ((to[1] & 0x3f) << 6) | (to[2] & 0x3f);
    } else {
        goto invalid;
    }

    t->src2dst[from * 4] = (u_char) n;
    memcpy(&t->src2dst[from * 4 + 1], to, n);
    t->dst2src[cp] = from;

    return BW_CONF_OK;

invalid:

    bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid value \"%.*s\" in "
                      "\"charset_map\"", (int) value[0].len, value[0].data);
    return BW_CONF_ERROR;
}

static void *
bw_http_charset_create_main_conf(bw_conf_t *cf)
{
    bw_http_charset_main_conf_t  *mcf;

    mcf = bw_pcalloc(cf->pool, sizeof(bw_http_charset_main_conf_t));
    if (mcf == NULL
        || bw_array_init(&mcf->charsets, cf->pool, 4,
                         sizeof(bw_http_charset_t)) != BW_OK
        || bw_array_init(&mcf->tables, cf->pool, 2,
                         sizeof(bw_http_charset_table_t)) != BW_OK
        || bw_array_init(&mcf->recodes, cf->pool, 2,
                         sizeof(bw_http_charset_recode_t)) != BW_OK)
    {
        return NULL;
    }
    return mcf;
}

static void *
bw_http_charset_create_loc_conf(bw_conf_t *cf)
{
    bw_http_charset_loc_conf_t  *conf;

    conf = bw_pcalloc(cf->pool, sizeof(bw_http_charset_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }
    conf->charset = BW_CHARSET_UNSET;
    conf->source_charset = BW_CHARSET_UNSET;
    conf->override_charset = BW_CONF_UNSET;
    return conf;
}

static char *
bw_http_charset_merge_loc_conf(bw_conf_t *cf, void *parent, void *child)
{
    bw_http_charset_loc_conf_t  *prev = parent;
    bw_http_charset_loc_conf_t  *conf = child;
    bw_str_t                    *t;
    const char                 **d;

    if (conf->charset == BW_CHARSET_UNSET) {
        conf->charset = (prev->charset == BW_CHARSET_UNSET)
                        ? BW_CHARSET_OFF : prev->charset;
    }
    if (conf->source_charset == BW_CHARSET_UNSET) {
        conf->source_charset = (prev->source_charset == BW_CHARSET_UNSET)
                               ? BW_CHARSET_OFF : prev->source_charset;
    }
    bw_conf_merge_value(conf->override_charset, prev->override_charset, 0);

    if (conf->charset >= 0 && conf->source_charset >= 0
        && conf->charset != conf->source_charset)
    {
        bw_http_charset_recode_t     *rc;
        bw_http_charset_main_conf_t  *mcf;

        mcf = bw_http_conf_get_module_main_conf(cf,
                                                bw_http_charset_filter_module);
        rc = bw_array_push(&mcf->recodes);
        if (rc == NULL) {
            return BW_CONF_ERROR;
        }
        rc->src = conf->source_charset;
        rc->dst = conf->charset;
    }

    if (conf->types == NULL) {
        conf->types = prev->types;
    }

    if (conf->types == NULL) {
        conf->types = bw_array_create(cf->pool, 6, sizeof(bw_str_t));
        if (conf->types == NULL) {
            return BW_CONF_ERROR;
        }
        for (d = bw_http_charset_default_types; *d; d++) {
            t = bw_array_push(conf->types);
            if (t == NULL) {
                return BW_CONF_ERROR;
            }
            t->data = (u_char *) *d;
            t->len = strlen(*d);
        }
        prev->types = conf->types;
    }

    return BW_CONF_OK;
}

static char *
bw_http_charset_types(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_charset_loc_conf_t  *clcf = conf;
    bw_str_t                    *value, *t;
    bw_uint_t                    i;

    if (clcf->types) {
        return "is duplicate";
    }

    clcf->types = bw_array_create(cf->pool, cf->args->nelts + 6,
                                  sizeof(bw_str_t));
    if (clcf->types == NULL) {
        return BW_CONF_ERROR;
    }

    /* as nginx: text/html is always in the list */
    t = bw_array_push(clcf->types);
    if (t == NULL) {
        return BW_CONF_ERROR;
    }
    bw_str_set(t, "text/html");

    value = cf->args->elts;
    for (i = 1; i < cf->args->nelts; i++) {
        t = bw_array_push(clcf->types);
        if (t == NULL) {
            return BW_CONF_ERROR;
        }
        *t = value[i];
    }

    return BW_CONF_OK;
}

/* Every recoding asked for has its map (or is between two UTF-8s). */
static bw_int_t
bw_http_charset_check_maps(bw_conf_t *cf)
{
    bw_uint_t                     i, k;
    bw_http_charset_t            *cs;
    bw_http_charset_table_t      *t;
    bw_http_charset_recode_t     *rc;
    bw_http_charset_main_conf_t  *mcf;

    mcf = bw_http_conf_get_module_main_conf(cf, bw_http_charset_filter_module);
    cs = mcf->charsets.elts;
    t = mcf->tables.elts;
    rc = mcf->recodes.elts;

    for (i = 0; i < mcf->recodes.nelts; i++) {
        if (cs[rc[i].src].utf8 && cs[rc[i].dst].utf8) {
            continue;
        }
        for (k = 0; k < mcf->tables.nelts; k++) {
            if ((t[k].src == rc[i].src && t[k].dst == rc[i].dst)
                || (t[k].src == rc[i].dst && t[k].dst == rc[i].src))
            {
                break;
            }
        }
        if (k == mcf->tables.nelts) {
            bw_log_error(BW_LOG_EMERG, cf->log, 0,
                         "no \"charset_map\" between the charsets \"%.*s\" "
                         "and \"%.*s\"",
                         (int) cs[rc[i].src].name.len,
                         cs[rc[i].src].name.data,
                         (int) cs[rc[i].dst].name.len,
                         cs[rc[i].dst].name.data);
            return BW_ERROR;
        }
    }

    return BW_OK;
}

static bw_int_t
bw_http_charset_filter_init(bw_conf_t *cf)
{
    if (bw_http_charset_check_maps(cf) != BW_OK) {
        return BW_ERROR;
    }

    bw_http_next_header_filter = bw_http_top_header_filter;
    bw_http_top_header_filter = bw_http_charset_header_filter;
    bw_http_next_body_filter = bw_http_top_body_filter;
    bw_http_top_body_filter = bw_http_charset_body_filter;
    return BW_OK;
}
