/*
 * Conditional requests (RFC 9110 13): If-Match / If-Unmodified-Since
 * give 412, If-None-Match / If-Modified-Since give 304. If-None-Match,
 * when present, decides alone; dates compare as "if_modified_since".
 */

#include <bw_http.h>

static bw_int_t bw_http_not_modified_filter_init(bw_conf_t *cf);

static bw_http_module_t  bw_http_not_modified_filter_module_ctx = {
    NULL, bw_http_not_modified_filter_init, NULL, NULL, NULL, NULL, NULL,
    NULL
};

bw_module_t  bw_http_not_modified_filter_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_not_modified_filter_module_ctx,
    NULL, NULL, NULL, NULL, NULL
};

static bw_http_output_header_filter_pt  bw_http_next_header_filter;

/* Does the If-Match / If-None-Match list match our ETag? */
static bw_uint_t
bw_http_test_if_match(bw_http_request_t *r, bw_table_elt_t *header,
    bw_uint_t weak)
{
    u_char     *start, *end, ch;
    bw_str_t    etag, *list;

    list = &header->value;

    if (list->len == 1 && list->data[0] == '*') {
        return 1;
    }

    if (r->headers_out.etag == NULL) {
        return 0;
    }

    etag = r->headers_out.etag->value;

    if (weak && etag.len > 2 && etag.data[0] == 'W' && etag.data[1] == '/') {
        etag.len -= 2;
        etag.data += 2;
    }

    start = list->data;
    end = list->data + list->len;

    while (start < end) {
        if (weak && end - start > 2 && start[0] == 'W' && start[1] == '/') {
            start += 2;
        }

        if (etag.len > (size_t) (end - start)) {
            return 0;
        }

        if (memcmp(start, etag.data, etag.len) != 0) {
            goto skip;
        }

        start += etag.len;

        while (start < end) {
            ch = *start;
            if (ch == ' ' || ch == '\t') {
                start++;
                continue;
            }
            break;
        }

        if (start == end || *start == ',') {
            return 1;
        }

    skip:
        while (start < end && *start != ',') {
            start++;
        }
        while (start < end) {
            ch = *start;
            if (ch == ' ' || ch == '\t' || ch == ',') {
                start++;
                continue;
            }
            break;
        }
    }

    return 0;
}

static bw_uint_t
bw_http_test_if_modified(bw_http_request_t *r)
{
    time_t                    ims;
    bw_http_core_loc_conf_t  *clcf;

    if (r->headers_out.last_modified_time == -1) {
        return 1;
    }

    clcf = r->loc_conf[bw_http_core_module.ctx_index];
    if (clcf->if_modified_since == BW_HTTP_IMS_OFF) {
        return 1;
    }

    ims = bw_parse_http_time(r->headers_in.if_modified_since->value.data,
                             r->headers_in.if_modified_since->value.len);

    if (ims == r->headers_out.last_modified_time) {
        return 0;
    }

    if (clcf->if_modified_since == BW_HTTP_IMS_EXACT || ims == -1) {
        return 1;
    }

    return ims < r->headers_out.last_modified_time;
}

static bw_uint_t
bw_http_test_if_unmodified(bw_http_request_t *r)
{
    time_t  iums;

    if (r->headers_out.last_modified_time == -1) {
        return 0;
    }

    iums = bw_parse_http_time(r->headers_in.if_unmodified_since->value.data,
                              r->headers_in.if_unmodified_since->value.len);

    return iums >= r->headers_out.last_modified_time;
}

static bw_int_t
bw_http_not_modified_header_filter(bw_http_request_t *r)
{
    if (r->headers_out.status != BW_HTTP_OK || r != r->main
        || r->disable_not_modified)
    {
        return bw_http_next_header_filter(r);
    }

    if (r->headers_in.if_unmodified_since && !bw_http_test_if_unmodified(r))
    {
        return bw_http_filter_finalize_request(r, NULL,
                                               BW_HTTP_PRECONDITION_FAILED);
    }

    if (r->headers_in.if_match
        && !bw_http_test_if_match(r, r->headers_in.if_match, 0))
    {
        return bw_http_filter_finalize_request(r, NULL,
                                               BW_HTTP_PRECONDITION_FAILED);
    }

    if (r->headers_in.if_modified_since || r->headers_in.if_none_match) {

        if (r->headers_in.if_modified_since && !r->headers_in.if_none_match
            && bw_http_test_if_modified(r))
        {
            return bw_http_next_header_filter(r);
        }

        if (r->headers_in.if_none_match
            && !bw_http_test_if_match(r, r->headers_in.if_none_match, 1))
        {
            return bw_http_next_header_filter(r);
        }

        r->headers_out.status = BW_HTTP_NOT_MODIFIED;
        r->headers_out.status_line.len = 0;
        bw_str_null(&r->headers_out.content_type);
        bw_http_clear_content_length(r);
        bw_http_clear_accept_ranges(r);
        r->header_only = 1;
    }

    return bw_http_next_header_filter(r);
}

static bw_int_t
bw_http_not_modified_filter_init(bw_conf_t *cf)
{
    bw_http_next_header_filter = bw_http_top_header_filter;
    bw_http_top_header_filter = bw_http_not_modified_header_filter;
    return BW_OK;
}
