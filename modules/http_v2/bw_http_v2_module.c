/*
 * HTTP/2's directives, as nginx 1.25's: "http2 on|off" (and the older
 * "listen ... http2", read by the core's listen), the stream limit, the
 * body preread window, the DATA frame size and the read buffer. The
 * directives nginx made obsolete load with nginx's warning.
 */

#include "bw_http_v2.h"

static bw_int_t bw_http_v2_preconfiguration(bw_conf_t *cf);
static void *bw_http_v2_create_main_conf(bw_conf_t *cf);
static char *bw_http_v2_init_main_conf(bw_conf_t *cf, void *conf);
static void *bw_http_v2_create_srv_conf(bw_conf_t *cf);
static char *bw_http_v2_merge_srv_conf(bw_conf_t *cf, void *parent,
    void *child);
static void *bw_http_v2_create_loc_conf(bw_conf_t *cf);
static char *bw_http_v2_merge_loc_conf(bw_conf_t *cf, void *parent,
    void *child);
static char *bw_http_v2_obsolete(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static bw_uint_t bw_http_v2_enabled(bw_connection_t *c);

#define MAIN  BW_HTTP_MAIN_CONF
#define MS    (BW_HTTP_MAIN_CONF|BW_HTTP_SRV_CONF)
#define MSL   (BW_HTTP_MAIN_CONF|BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF)

/* what an obsolete directive's warning points to ("": ignored) */
#define OBSOLETE(name, instead) \
    { bw_string(name), MSL|BW_CONF_ANY, bw_http_v2_obsolete, 0, 0, \
      (void *) instead }

static bw_command_t  bw_http_v2_commands[] = {

    { bw_string("http2"), MS|BW_CONF_FLAG, bw_conf_set_flag_slot,
      BW_HTTP_SRV_CONF_OFFSET, offsetof(bw_http_v2_srv_conf_t, enable),
      NULL },

    { bw_string("http2_recv_buffer_size"), MAIN|BW_CONF_TAKE1,
      bw_conf_set_size_slot, BW_HTTP_MAIN_CONF_OFFSET,
      offsetof(bw_http_v2_main_conf_t, recv_buffer_size), NULL },

    { bw_string("http2_max_concurrent_streams"), MS|BW_CONF_TAKE1,
      bw_conf_set_num_slot, BW_HTTP_SRV_CONF_OFFSET,
      offsetof(bw_http_v2_srv_conf_t, concurrent_streams), NULL },

    { bw_string("http2_body_preread_size"), MS|BW_CONF_TAKE1,
      bw_conf_set_size_slot, BW_HTTP_SRV_CONF_OFFSET,
      offsetof(bw_http_v2_srv_conf_t, preread_size), NULL },

    { bw_string("http2_chunk_size"), MSL|BW_CONF_TAKE1,
      bw_conf_set_size_slot, BW_HTTP_LOC_CONF_OFFSET,
      offsetof(bw_http_v2_loc_conf_t, chunk_size), NULL },

    OBSOLETE("http2_idle_timeout", "keepalive_timeout"),
    OBSOLETE("http2_recv_timeout", "client_header_timeout"),
    OBSOLETE("http2_max_requests", "keepalive_requests"),
    OBSOLETE("http2_max_field_size", "large_client_header_buffers"),
    OBSOLETE("http2_max_header_size", "large_client_header_buffers"),
    OBSOLETE("http2_push", ""),
    OBSOLETE("http2_push_preload", ""),
    OBSOLETE("http2_streams_index_size", ""),

    bw_null_command
};

static bw_http_module_t  bw_http_v2_module_ctx = {
    bw_http_v2_preconfiguration, NULL,
    bw_http_v2_create_main_conf, bw_http_v2_init_main_conf,
    bw_http_v2_create_srv_conf, bw_http_v2_merge_srv_conf,
    bw_http_v2_create_loc_conf, bw_http_v2_merge_loc_conf
};

bw_module_t  bw_http_v2_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_v2_module_ctx,
    bw_http_v2_commands, NULL, NULL, NULL, NULL
};

static bw_http_v2_hooks_t  bw_http_v2_core_hooks = {
    bw_http_v2_enabled,
    bw_http_v2_init,
    bw_http_v2_close_stream,
    bw_http_v2_header_filter
};

static bw_int_t
bw_http_v2_preconfiguration(bw_conf_t *cf)
{
    /* before any listen is read: "http2" is known from here on */
    bw_http_v2_hooks = &bw_http_v2_core_hooks;
    return BW_OK;
}

/*
 * Does this connection speak HTTP/2: its address says "http2", or the
 * server that answers it (the one SNI chose, else the address's
 * default) says "http2 on".
 */
static bw_uint_t
bw_http_v2_enabled(bw_connection_t *c)
{
    bw_http_connection_t     *hc;
    bw_http_v2_srv_conf_t    *h2scf;
    bw_http_core_srv_conf_t  *cscf;

    hc = c->data;

    if (hc->addr_conf->http2) {
        return 1;
    }

    cscf = hc->ssl_server ? hc->ssl_server : hc->addr_conf->default_server;
    h2scf = cscf->ctx->srv_conf[bw_http_v2_module.ctx_index];

    return h2scf->enable == 1;
}

static char *
bw_http_v2_obsolete(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    const char  *instead;

    instead = cmd->post;

    if (instead[0] == '\0') {
        bw_conf_log_error(BW_LOG_WARN, cf, 0,
                          "the \"%.*s\" directive is obsolete, ignored",
                          (int) cmd->name.len, cmd->name.data);
    } else {
        bw_conf_log_error(BW_LOG_WARN, cf, 0,
                          "the \"%.*s\" directive is obsolete, use the "
                          "\"%s\" directive instead",
                          (int) cmd->name.len, cmd->name.data, instead);
    }

    return BW_CONF_OK;
}

static void *
bw_http_v2_create_main_conf(bw_conf_t *cf)
{
    bw_http_v2_main_conf_t  *h2mcf;

    h2mcf = bw_pcalloc(cf->pool, sizeof(bw_http_v2_main_conf_t));
    if (h2mcf == NULL) {
        return NULL;
    }
    h2mcf->recv_buffer_size = BW_CONF_UNSET_SIZE;
    return h2mcf;
}

static char *
bw_http_v2_init_main_conf(bw_conf_t *cf, void *conf)
{
    bw_http_v2_main_conf_t  *h2mcf = conf;

    bw_conf_init_size_value(h2mcf->recv_buffer_size, 256 * 1024);

    if (h2mcf->recv_buffer_size < 2 * 16) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "the http2_recv_buffer_size is too small");
        return BW_CONF_ERROR;
    }

    return BW_CONF_OK;
}

static void *
bw_http_v2_create_srv_conf(bw_conf_t *cf)
{
    bw_http_v2_srv_conf_t  *h2scf;

    h2scf = bw_pcalloc(cf->pool, sizeof(bw_http_v2_srv_conf_t));
    if (h2scf == NULL) {
        return NULL;
    }
    h2scf->enable = BW_CONF_UNSET;
    h2scf->concurrent_streams = BW_CONF_UNSET_UINT;
    h2scf->preread_size = BW_CONF_UNSET_SIZE;
    return h2scf;
}

static char *
bw_http_v2_merge_srv_conf(bw_conf_t *cf, void *parent, void *child)
{
    bw_http_v2_srv_conf_t  *prev = parent;
    bw_http_v2_srv_conf_t  *conf = child;

    bw_conf_merge_value(conf->enable, prev->enable, 0);
    bw_conf_merge_uint_value(conf->concurrent_streams,
                             prev->concurrent_streams, 128);
    bw_conf_merge_size_value(conf->preread_size, prev->preread_size,
                             64 * 1024);

    if (conf->concurrent_streams == 0) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "the http2_max_concurrent_streams must be "
                          "at least 1");
        return BW_CONF_ERROR;
    }

    if (conf->preread_size > NGHTTP2_MAX_WINDOW_SIZE) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "the maximum body preread buffer size is %d",
                          NGHTTP2_MAX_WINDOW_SIZE);
        return BW_CONF_ERROR;
    }

    return BW_CONF_OK;
}

static void *
bw_http_v2_create_loc_conf(bw_conf_t *cf)
{
    bw_http_v2_loc_conf_t  *h2lcf;

    h2lcf = bw_pcalloc(cf->pool, sizeof(bw_http_v2_loc_conf_t));
    if (h2lcf == NULL) {
        return NULL;
    }
    h2lcf->chunk_size = BW_CONF_UNSET_SIZE;
    return h2lcf;
}

static char *
bw_http_v2_merge_loc_conf(bw_conf_t *cf, void *parent, void *child)
{
    bw_http_v2_loc_conf_t  *prev = parent;
    bw_http_v2_loc_conf_t  *conf = child;

    bw_conf_merge_size_value(conf->chunk_size, prev->chunk_size, 8 * 1024);

    if (conf->chunk_size == 0) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "the http2_chunk_size must be greater than 0");
        return BW_CONF_ERROR;
    }

    return BW_CONF_OK;
}
