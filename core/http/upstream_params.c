/*
 * The parameters a gateway module sends (fastcgi_param, uwsgi_param,
 * scgi_param): the directive, its inheritance (a level without any takes
 * its parent's whole, as nginx), and per request the list the module
 * encodes in its own framing: the parameters' values, then the client's
 * header lines as HTTP_* (several lines of one name joined with ", ",
 * "; " for Cookie, as nginx since 1.23), less those an HTTP_* parameter
 * replaces. Nothing here knows a wire format.
 */

#include <bw_http.h>

typedef struct {
    bw_str_t     key;
    bw_str_t     value;
    bw_uint_t    skip_empty;
} bw_http_upstream_param_src_t;

void
bw_http_upstream_params_init(bw_http_upstream_params_t *p)
{
    p->source = BW_CONF_UNSET_PTR;
    p->params = NULL;
}

/* "X_param NAME value [if_not_empty]"; the params at the offset */
char *
bw_http_upstream_param_slot(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_str_t                      *value;
    bw_http_upstream_params_t     *p;
    bw_http_upstream_param_src_t  *src;

    p = (bw_http_upstream_params_t *) ((char *) conf + cmd->offset);
    value = cf->args->elts;

    if (cf->args->nelts == 4
        && strcmp((char *) value[3].data, "if_not_empty") != 0)
    {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid parameter \"%s\"",
                          value[3].data);
        return BW_CONF_ERROR;
    }

    if (p->source == BW_CONF_UNSET_PTR) {
        p->source = bw_array_create(cf->pool, 16,
                                    sizeof(bw_http_upstream_param_src_t));
        if (p->source == NULL) {
            return BW_CONF_ERROR;
        }
    }

    src = bw_array_push(p->source);
    if (src == NULL) {
        return BW_CONF_ERROR;
    }

    src->key = value[1];
    src->value = value[2];
    src->skip_empty = cf->args->nelts == 4;

    return BW_CONF_OK;
}

/* compiled once per level that sets them; the header names their
 * "HTTP_..." ones replace, lowercase with "_" (as a header's is
 * compared) */
static bw_int_t
bw_http_upstream_params_compile(bw_conf_t *cf, bw_http_upstream_params_t *p)
{
    u_char                        *lc;
    bw_uint_t                      i, n;
    bw_hash_key_t                 *hk;
    bw_http_upstream_param_t      *param;
    bw_http_upstream_param_src_t  *src;

    n = p->source->nelts;
    p->params = bw_array_create(cf->pool, n ? n : 1,
                                sizeof(bw_http_upstream_param_t));
    hk = bw_palloc(cf->temp_pool, (n + 1) * sizeof(bw_hash_key_t));
    if (p->params == NULL || hk == NULL) {
        return BW_ERROR;
    }

    src = p->source->elts;
    n = 0;

    for (i = 0; i < p->source->nelts; i++) {

        if (src[i].key.len > 5 && memcmp(src[i].key.data, "HTTP_", 5) == 0) {
            lc = bw_pnalloc(cf->pool, src[i].key.len - 5);
            if (lc == NULL) {
                return BW_ERROR;
            }
            bw_strlow(lc, src[i].key.data + 5, src[i].key.len - 5);
            hk[n].key.data = lc;
            hk[n].key.len = src[i].key.len - 5;
            hk[n].value = (void *) 1;
            n++;

            /* as nginx: 'fastcgi_param HTTP_PROXY "";' keeps the
             * client's header from the application, and sends nothing */
            if (src[i].value.len == 0) {
                continue;
            }
        }

        param = bw_array_push(p->params);
        if (param == NULL) {
            return BW_ERROR;
        }
        bw_memzero(param, sizeof(bw_http_upstream_param_t));
        param->key = src[i].key;
        param->skip_empty = src[i].skip_empty ? 1 : 0;

        if (bw_http_compile_complex_value(cf, &param->value, &src[i].value)
            != BW_OK)
        {
            return BW_ERROR;
        }
    }

    if (n == 0) {
        return BW_OK;
    }

    return bw_hash_build(&p->headers, cf->pool, hk, n) == BW_ERROR
           ? BW_ERROR : BW_OK;
}

bw_int_t
bw_http_upstream_params_merge(bw_conf_t *cf, bw_http_upstream_params_t *conf,
    bw_http_upstream_params_t *prev)
{
    if (conf->source == BW_CONF_UNSET_PTR) {
        conf->source = prev->source;
        conf->params = prev->params;
        conf->headers = prev->headers;
    }

    if (conf->source == BW_CONF_UNSET_PTR) {
        conf->source = NULL;
    }

    if (conf->source && conf->params == NULL) {
        return bw_http_upstream_params_compile(cf, conf);
    }

    return BW_OK;
}

/* "HTTP_" and the header's name in upper case, "-" as "_"; the end */
u_char *
bw_http_upstream_param_name(u_char *dst, bw_table_elt_t *h)
{
    size_t  i;
    u_char  ch;

    dst = bw_cpymem(dst, "HTTP_", 5);
    for (i = 0; i < h->key.len; i++) {
        ch = h->key.data[i];
        if (ch >= 'a' && ch <= 'z') {
            ch &= ~0x20;
        } else if (ch == '-') {
            ch = '_';
        }
        *dst++ = ch;
    }

    return dst;
}

/* is h's name one that a "HTTP_..." parameter replaces? */
static bw_uint_t
bw_http_upstream_param_replaced(bw_http_upstream_params_t *p,
    bw_table_elt_t *h, u_char *buf)
{
    size_t     i;
    u_char     ch;
    bw_uint_t  hash;

    if (p->headers.slots == NULL) {
        return 0;
    }

    hash = 0;
    for (i = 0; i < h->key.len; i++) {
        ch = h->key.data[i];
        if (ch >= 'A' && ch <= 'Z') {
            ch |= 0x20;
        } else if (ch == '-') {
            ch = '_';
        }
        hash = bw_hash(hash, ch);
        buf[i] = ch;
    }

    return bw_hash_find(&p->headers, hash, buf, h->key.len) != NULL;
}

static bw_uint_t
bw_http_upstream_same_name(bw_table_elt_t *a, bw_table_elt_t *b)
{
    return a->hash == b->hash && a->key.len == b->key.len
           && bw_strncasecmp(a->key.data, b->key.data, a->key.len) == 0;
}

/* the client's header lines, one parameter per name */
static bw_int_t
bw_http_upstream_params_headers(bw_http_request_t *r,
    bw_http_upstream_params_t *p, bw_array_t *out)
{
    size_t                           vlen, max;
    u_char                          *v, *lc, sep, *seen;
    bw_uint_t                        i, j, k, n, total, more;
    bw_list_part_t                  *part, *pj;
    bw_table_elt_t                  *h, *hj;
    bw_http_upstream_param_value_t  *pv;

    total = 0;
    max = 0;
    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;
        for (i = 0; i < part->nelts; i++) {
            max = bw_max(max, h[i].key.len);
        }
        total += part->nelts;
    }

    if (total == 0) {
        return BW_OK;
    }

    seen = bw_pcalloc(r->pool, total);
    lc = bw_pnalloc(r->pool, max);
    if (seen == NULL || lc == NULL) {
        return BW_ERROR;
    }

    part = &r->headers_in.headers.part;
    h = part->elts;
    n = 0;

    for (i = 0; /* void */ ; i++, n++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }
            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (seen[n] || h[i].key.len == 0
            || bw_http_upstream_param_replaced(p, &h[i], lc))
        {
            continue;
        }

        /* the same name further on: joined to this one */
        vlen = h[i].value.len;
        more = 0;
        pj = part;
        hj = h;
        k = n;
        for (j = i + 1; /* void */ ; j++) {
            if (j >= pj->nelts) {
                if (pj->next == NULL) {
                    break;
                }
                pj = pj->next;
                hj = pj->elts;
                j = 0;
            }
            k++;
            if (bw_http_upstream_same_name(&hj[j], &h[i])) {
                seen[k] = 1;
                vlen += 2 + hj[j].value.len;
                more = 1;
            }
        }

        pv = bw_array_push(out);
        if (pv == NULL) {
            return BW_ERROR;
        }
        pv->header = &h[i];
        pv->key.data = NULL;
        pv->key.len = 5 + h[i].key.len;
        pv->value = h[i].value;

        if (!more) {
            continue;
        }

        sep = (h[i].key.len == 6
               && bw_strncasecmp(h[i].key.data, (u_char *) "cookie", 6)
                  == 0) ? ';' : ',';

        v = bw_pnalloc(r->pool, vlen);
        if (v == NULL) {
            return BW_ERROR;
        }
        pv->value.data = v;
        v = bw_cpymem(v, h[i].value.data, h[i].value.len);

        pj = part;
        hj = h;
        for (j = i + 1; /* void */ ; j++) {
            if (j >= pj->nelts) {
                if (pj->next == NULL) {
                    break;
                }
                pj = pj->next;
                hj = pj->elts;
                j = 0;
            }
            if (bw_http_upstream_same_name(&hj[j], &h[i])) {
                *v++ = sep;
                *v++ = ' ';
                v = bw_cpymem(v, hj[j].value.data, hj[j].value.len);
            }
        }
        pv->value.len = v - pv->value.data;
    }

    return BW_OK;
}

/*
 * This request's parameters, in the order they go: the configured ones
 * (an empty if_not_empty one left out), then the header lines when
 * pass_headers. The array is the request's.
 */
bw_array_t *
bw_http_upstream_params_eval(bw_http_request_t *r,
    bw_http_upstream_params_t *p, bw_uint_t pass_headers)
{
    bw_uint_t                        i, n;
    bw_str_t                         v;
    bw_array_t                      *out;
    bw_list_part_t                  *part;
    bw_http_upstream_param_t        *param;
    bw_http_upstream_param_value_t  *pv;

    n = p->params ? p->params->nelts : 0;
    if (pass_headers) {
        for (part = &r->headers_in.headers.part; part; part = part->next) {
            n += part->nelts;
        }
    }

    out = bw_array_create(r->pool, n ? n : 1,
                          sizeof(bw_http_upstream_param_value_t));
    if (out == NULL) {
        return NULL;
    }

    if (p->params) {
        param = p->params->elts;
        for (i = 0; i < p->params->nelts; i++) {
            if (bw_http_complex_value(r, &param[i].value, &v) != BW_OK) {
                return NULL;
            }
            if (v.len == 0 && param[i].skip_empty) {
                continue;
            }
            pv = bw_array_push(out);
            if (pv == NULL) {
                return NULL;
            }
            pv->key = param[i].key;
            pv->value = v;
            pv->header = NULL;
        }
    }

    if (pass_headers
        && bw_http_upstream_params_headers(r, p, out) != BW_OK)
    {
        return NULL;
    }

    return out;
}
