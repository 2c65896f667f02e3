/*
 * The http core module: server{}, location{}, listen, server_name and
 * the per-location settings every request uses (root, timeouts,
 * keepalive, types, error_page, try_files, ...), with nginx's defaults
 * and inheritance.
 */

#include <bw_http.h>

static bw_int_t bw_http_core_preconfiguration(bw_conf_t *cf);
static bw_int_t bw_http_core_postconfiguration(bw_conf_t *cf);
static void *bw_http_core_create_main_conf(bw_conf_t *cf);
static char *bw_http_core_init_main_conf(bw_conf_t *cf, void *conf);
static void *bw_http_core_create_srv_conf(bw_conf_t *cf);
static char *bw_http_core_merge_srv_conf(bw_conf_t *cf, void *parent,
    void *child);
static void *bw_http_core_create_loc_conf(bw_conf_t *cf);
static char *bw_http_core_merge_loc_conf(bw_conf_t *cf, void *parent,
    void *child);

static char *bw_http_core_limit_rate(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_core_server_name(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_core_root(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_core_types(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_core_type(bw_conf_t *cf, bw_command_t *dummy,
    void *conf);
static char *bw_http_core_keepalive(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_core_internal(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_core_error_page(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_core_error_log(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_core_large_buffers(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_core_compat(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);

#define BW_HTTP_CORE_NO_FILE_CACHE                                           \
    "descriptors and file metadata are not cached: every request opens "    \
    "and stats its file"
static char *bw_http_core_open_file_cache(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_core_off_only(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_core_resolver(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);
static char *bw_http_core_disable_symlinks(bw_conf_t *cf, bw_command_t *cmd,
    void *conf);

static bw_conf_enum_t  bw_http_core_lingering_close[] = {
    { bw_string("off"), BW_HTTP_LINGERING_OFF },
    { bw_string("on"), BW_HTTP_LINGERING_ON },
    { bw_string("always"), BW_HTTP_LINGERING_ALWAYS },
    { bw_null_string, 0 }
};

static bw_conf_bitmask_t  bw_http_core_keepalive_disable[] = {
    { bw_string("none"), BW_HTTP_KA_DISABLE_NONE },
    { bw_string("msie6"), BW_HTTP_KA_DISABLE_MSIE6 },
    { bw_string("safari"), BW_HTTP_KA_DISABLE_SAFARI },
    { bw_null_string, 0 }
};

/* "build" names the build, of which bulwark has none: as "on" */
static bw_conf_enum_t  bw_http_core_server_tokens[] = {
    { bw_string("off"), 0 },
    { bw_string("on"), 1 },
    { bw_string("build"), 1 },
    { bw_null_string, 0 }
};

static bw_conf_enum_t  bw_http_core_body_in_file[] = {
    { bw_string("off"), BW_HTTP_BODY_IN_FILE_OFF },
    { bw_string("on"), BW_HTTP_BODY_IN_FILE_ON },
    { bw_string("clean"), BW_HTTP_BODY_IN_FILE_CLEAN },
    { bw_null_string, 0 }
};

static bw_conf_enum_t  bw_http_core_satisfy[] = {
    { bw_string("all"), BW_HTTP_SATISFY_ALL },
    { bw_string("any"), BW_HTTP_SATISFY_ANY },
    { bw_null_string, 0 }
};

static bw_conf_enum_t  bw_http_core_if_modified_since[] = {
    { bw_string("off"), BW_HTTP_IMS_OFF },
    { bw_string("exact"), BW_HTTP_IMS_EXACT },
    { bw_string("before"), BW_HTTP_IMS_BEFORE },
    { bw_null_string, 0 }
};

#define SRV   BW_HTTP_SRV_CONF_OFFSET
#define LOC   BW_HTTP_LOC_CONF_OFFSET
#define MSL   (BW_HTTP_MAIN_CONF|BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF)
#define MS    (BW_HTTP_MAIN_CONF|BW_HTTP_SRV_CONF)
#define SOFF(f)  offsetof(bw_http_core_srv_conf_t, f)
#define LOFF(f)  offsetof(bw_http_core_loc_conf_t, f)

static bw_command_t  bw_http_core_commands[] = {

    { bw_string("server"), BW_HTTP_MAIN_CONF|BW_CONF_BLOCK|BW_CONF_NOARGS,
      bw_http_core_server, 0, 0, NULL },
    { bw_string("location"),
      BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF|BW_CONF_BLOCK|BW_CONF_TAKE12,
      bw_http_core_location, SRV, 0, NULL },
    { bw_string("listen"), BW_HTTP_SRV_CONF|BW_CONF_1MORE,
      bw_http_core_listen, SRV, 0, NULL },
    { bw_string("server_name"), BW_HTTP_SRV_CONF|BW_CONF_1MORE,
      bw_http_core_server_name, SRV, 0, NULL },

    { bw_string("connection_pool_size"), MS|BW_CONF_TAKE1,
      bw_conf_set_size_slot, SRV, SOFF(connection_pool_size), NULL },
    { bw_string("request_pool_size"), MS|BW_CONF_TAKE1,
      bw_conf_set_size_slot, SRV, SOFF(request_pool_size), NULL },
    { bw_string("client_header_buffer_size"), MS|BW_CONF_TAKE1,
      bw_conf_set_size_slot, SRV, SOFF(client_header_buffer_size), NULL },
    { bw_string("large_client_header_buffers"), MS|BW_CONF_TAKE2,
      bw_http_core_large_buffers, SRV, 0, NULL },
    { bw_string("client_header_timeout"), MS|BW_CONF_TAKE1,
      bw_conf_set_msec_slot, SRV, SOFF(client_header_timeout), NULL },
    { bw_string("ignore_invalid_headers"), MS|BW_CONF_FLAG,
      bw_conf_set_flag_slot, SRV, SOFF(ignore_invalid_headers), NULL },
    { bw_string("underscores_in_headers"), MS|BW_CONF_FLAG,
      bw_conf_set_flag_slot, SRV, SOFF(underscores_in_headers), NULL },
    { bw_string("max_headers"), MS|BW_CONF_TAKE1,
      bw_conf_set_num_slot, SRV, SOFF(max_headers), NULL },
    { bw_string("merge_slashes"), MS|BW_CONF_FLAG,
      bw_conf_set_flag_slot, SRV, SOFF(merge_slashes), NULL },

    /* the hashes size themselves; accepted so nginx configs load */
    { bw_string("server_names_hash_max_size"), BW_HTTP_MAIN_CONF|BW_CONF_TAKE1,
      bw_http_core_compat, 0, 0, NULL },
    { bw_string("server_names_hash_bucket_size"),
      BW_HTTP_MAIN_CONF|BW_CONF_TAKE1, bw_http_core_compat, 0, 0, NULL },
    { bw_string("variables_hash_max_size"), BW_HTTP_MAIN_CONF|BW_CONF_TAKE1,
      bw_http_core_compat, 0, 0, NULL },
    { bw_string("variables_hash_bucket_size"),
      BW_HTTP_MAIN_CONF|BW_CONF_TAKE1, bw_http_core_compat, 0, 0, NULL },
    { bw_string("types_hash_max_size"), MSL|BW_CONF_TAKE1,
      bw_http_core_compat, 0, 0, NULL },
    { bw_string("types_hash_bucket_size"), MSL|BW_CONF_TAKE1,
      bw_http_core_compat, 0, 0, NULL },
    { bw_string("map_hash_max_size"), BW_HTTP_MAIN_CONF|BW_CONF_TAKE1,
      bw_http_core_compat, 0, 0, NULL },
    { bw_string("map_hash_bucket_size"), BW_HTTP_MAIN_CONF|BW_CONF_TAKE1,
      bw_http_core_compat, 0, 0, NULL },

    /* file descriptors and metadata are not cached, file I/O is plain
     * sendfile/read: accepted so nginx configs load (docs/compatibility) */
    { bw_string("open_file_cache"), MSL|BW_CONF_TAKE12,
      bw_http_core_open_file_cache, 0, 0,
      (void *) BW_HTTP_CORE_NO_FILE_CACHE },
    { bw_string("open_file_cache_valid"), MSL|BW_CONF_TAKE1,
      bw_conf_no_effect, 0, 0,
      (void *) BW_HTTP_CORE_NO_FILE_CACHE },
    { bw_string("open_file_cache_min_uses"), MSL|BW_CONF_TAKE1,
      bw_conf_no_effect, 0, 0,
      (void *) BW_HTTP_CORE_NO_FILE_CACHE },
    { bw_string("open_file_cache_errors"), MSL|BW_CONF_FLAG,
      bw_conf_no_effect, 0, 0,
      (void *) BW_HTTP_CORE_NO_FILE_CACHE },
    { bw_string("output_buffers"), MSL|BW_CONF_TAKE2,
      bw_conf_no_effect, 0, 0,
      (void *) "files are sent with sendfile()" },
    { bw_string("sendfile_max_chunk"), MSL|BW_CONF_TAKE1,
      bw_conf_set_size_slot, LOC, LOFF(sendfile_max_chunk), NULL },
    { bw_string("limit_rate"), MSL|BW_HTTP_LIF_CONF|BW_CONF_TAKE1,
      bw_http_core_limit_rate, LOC, LOFF(limit_rate), NULL },
    { bw_string("limit_rate_after"), MSL|BW_HTTP_LIF_CONF|BW_CONF_TAKE1,
      bw_http_core_limit_rate, LOC, LOFF(limit_rate_after), NULL },
    { bw_string("keepalive_disable"), MSL|BW_CONF_1MORE,
      bw_conf_set_bitmask_slot, LOC, LOFF(keepalive_disable),
      bw_http_core_keepalive_disable },
    { bw_string("disable_symlinks"), MSL|BW_CONF_TAKE12,
      bw_http_core_disable_symlinks, 0, 0, NULL },
    { bw_string("msie_padding"), MSL|BW_CONF_FLAG,
      bw_conf_no_effect, 0, 0,
      (void *) "error pages are not padded" },
    { bw_string("aio"), MSL|BW_CONF_TAKE1,
      bw_http_core_off_only, 0, 0, NULL },
    { bw_string("directio"), MSL|BW_CONF_TAKE1,
      bw_http_core_off_only, 0, 0, NULL },

    { bw_string("resolver"), MSL|BW_CONF_1MORE,
      bw_http_core_resolver, LOC, 0, NULL },
    { bw_string("resolver_timeout"), MSL|BW_CONF_TAKE1,
      bw_conf_set_msec_slot, LOC, LOFF(resolver_timeout), NULL },

    { bw_string("chunked_transfer_encoding"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, LOFF(chunked_transfer_encoding), NULL },
    { bw_string("reset_timedout_connection"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, LOFF(reset_timedout_connection), NULL },

    { bw_string("root"), MSL|BW_HTTP_LIF_CONF|BW_CONF_TAKE1,
      bw_http_core_root, LOC, 0, NULL },
    { bw_string("alias"), BW_HTTP_LOC_CONF|BW_CONF_TAKE1,
      bw_http_core_root, LOC, 0, NULL },
    { bw_string("types"), MSL|BW_CONF_BLOCK|BW_CONF_NOARGS,
      bw_http_core_types, LOC, 0, NULL },
    { bw_string("default_type"), MSL|BW_CONF_TAKE1,
      bw_conf_set_str_slot, LOC, LOFF(default_type), NULL },
    { bw_string("post_action"), MSL|BW_CONF_TAKE1,
      bw_conf_set_str_slot, LOC, LOFF(post_action), NULL },
    { bw_string("internal"), BW_HTTP_LOC_CONF|BW_CONF_NOARGS,
      bw_http_core_internal, LOC, 0, NULL },
    { bw_string("client_max_body_size"), MSL|BW_CONF_TAKE1,
      bw_conf_set_off_slot, LOC, LOFF(client_max_body_size), NULL },
    { bw_string("client_body_buffer_size"), MSL|BW_CONF_TAKE1,
      bw_conf_set_size_slot, LOC, LOFF(client_body_buffer_size), NULL },
    { bw_string("client_body_temp_path"), MSL|BW_CONF_TAKE1234,
      bw_conf_set_path_slot, LOC, LOFF(client_body_temp_path), NULL },
    { bw_string("limit_except"),
      BW_HTTP_LOC_CONF|BW_CONF_BLOCK|BW_CONF_1MORE,
      bw_http_core_limit_except, LOC, 0, NULL },
    { bw_string("max_ranges"), MSL|BW_CONF_TAKE1,
      bw_conf_set_num_slot, LOC, LOFF(max_ranges), NULL },
    { bw_string("client_body_in_file_only"), MSL|BW_CONF_TAKE1,
      bw_conf_set_enum_slot, LOC, LOFF(client_body_in_file_only),
      bw_http_core_body_in_file },
    { bw_string("client_body_in_single_buffer"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, LOFF(client_body_in_single_buffer),
      NULL },
    { bw_string("client_body_timeout"), MSL|BW_CONF_TAKE1,
      bw_conf_set_msec_slot, LOC, LOFF(client_body_timeout), NULL },
    { bw_string("send_timeout"), MSL|BW_CONF_TAKE1,
      bw_conf_set_msec_slot, LOC, LOFF(send_timeout), NULL },
    { bw_string("keepalive_timeout"), MSL|BW_CONF_TAKE12,
      bw_http_core_keepalive, LOC, 0, NULL },
    { bw_string("keepalive_requests"), MSL|BW_CONF_TAKE1,
      bw_conf_set_num_slot, LOC, LOFF(keepalive_requests), NULL },
    { bw_string("keepalive_time"), MSL|BW_CONF_TAKE1,
      bw_conf_set_msec_slot, LOC, LOFF(keepalive_time), NULL },
    { bw_string("lingering_close"), MSL|BW_CONF_TAKE1,
      bw_conf_set_enum_slot, LOC, LOFF(lingering_close),
      bw_http_core_lingering_close },
    { bw_string("satisfy"), MSL|BW_CONF_TAKE1,
      bw_conf_set_enum_slot, LOC, LOFF(satisfy), bw_http_core_satisfy },
    { bw_string("auth_delay"), MSL|BW_CONF_TAKE1,
      bw_conf_set_msec_slot, LOC, LOFF(auth_delay), NULL },
    { bw_string("lingering_time"), MSL|BW_CONF_TAKE1,
      bw_conf_set_msec_slot, LOC, LOFF(lingering_time), NULL },
    { bw_string("lingering_timeout"), MSL|BW_CONF_TAKE1,
      bw_conf_set_msec_slot, LOC, LOFF(lingering_timeout), NULL },
    { bw_string("sendfile"), MSL|BW_HTTP_LIF_CONF|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, LOFF(sendfile), NULL },
    { bw_string("tcp_nopush"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, LOFF(tcp_nopush), NULL },
    { bw_string("tcp_nodelay"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, LOFF(tcp_nodelay), NULL },
    { bw_string("postpone_output"), MSL|BW_CONF_TAKE1,
      bw_conf_set_size_slot, LOC, LOFF(postpone_output), NULL },
    { bw_string("server_tokens"), MSL|BW_CONF_TAKE1,
      bw_conf_set_enum_slot, LOC, LOFF(server_tokens),
      bw_http_core_server_tokens },
    { bw_string("etag"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, LOFF(etag), NULL },
    { bw_string("if_modified_since"), MSL|BW_CONF_TAKE1,
      bw_conf_set_enum_slot, LOC, LOFF(if_modified_since),
      bw_http_core_if_modified_since },
    { bw_string("absolute_redirect"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, LOFF(absolute_redirect), NULL },
    { bw_string("port_in_redirect"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, LOFF(port_in_redirect), NULL },
    { bw_string("server_name_in_redirect"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, LOFF(server_name_in_redirect), NULL },
    { bw_string("log_not_found"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, LOFF(log_not_found), NULL },
    { bw_string("recursive_error_pages"), MSL|BW_CONF_FLAG,
      bw_conf_set_flag_slot, LOC, LOFF(recursive_error_pages), NULL },
    { bw_string("error_page"), MSL|BW_HTTP_LIF_CONF|BW_CONF_2MORE,
      bw_http_core_error_page, LOC, 0, NULL },
    { bw_string("try_files"), BW_HTTP_SRV_CONF|BW_HTTP_LOC_CONF|BW_CONF_2MORE,
      bw_http_core_try_files, LOC, 0, NULL },
    { bw_string("error_log"), MSL|BW_CONF_1MORE,
      bw_http_core_error_log, LOC, 0, NULL },

    bw_null_command
};

static bw_http_module_t  bw_http_core_module_ctx = {
    bw_http_core_preconfiguration,
    bw_http_core_postconfiguration,
    bw_http_core_create_main_conf,
    bw_http_core_init_main_conf,
    bw_http_core_create_srv_conf,
    bw_http_core_merge_srv_conf,
    bw_http_core_create_loc_conf,
    bw_http_core_merge_loc_conf
};

bw_module_t  bw_http_core_module = {
    BW_MODULE_V1, BW_HTTP_MODULE, &bw_http_core_module_ctx,
    bw_http_core_commands, NULL, NULL, NULL, NULL
};

static bw_int_t
bw_http_core_preconfiguration(bw_conf_t *cf)
{
    return bw_http_variables_add_core_vars(cf);
}

/* The content phase's last handler, so that the phase is there in a
 * build without static files and indexes: it declines, and the phase
 * answers 404 (or 403 for a directory) as when every handler did. */
static bw_int_t
bw_http_core_no_content_handler(bw_http_request_t *r)
{
    return BW_DECLINED;
}

static bw_int_t
bw_http_core_postconfiguration(bw_conf_t *cf)
{
    if (bw_http_add_phase_handler(cf, BW_HTTP_PRECONTENT_PHASE,
                                  bw_http_core_try_files_handler)
        != BW_OK
        || bw_http_add_phase_handler(cf, BW_HTTP_CONTENT_PHASE,
                                     bw_http_core_no_content_handler)
           != BW_OK)
    {
        return BW_ERROR;
    }

    return BW_OK;
}

static void *
bw_http_core_create_main_conf(bw_conf_t *cf)
{
    bw_http_core_main_conf_t  *cmcf;

    cmcf = bw_pcalloc(cf->pool, sizeof(bw_http_core_main_conf_t));
    if (cmcf == NULL) {
        return NULL;
    }

    if (bw_array_init(&cmcf->servers, cf->pool, 4,
                      sizeof(bw_http_core_srv_conf_t *)) != BW_OK)
    {
        return NULL;
    }

    return cmcf;
}

static char *
bw_http_core_init_main_conf(bw_conf_t *cf, void *conf)
{
    return BW_CONF_OK;
}

static void *
bw_http_core_create_srv_conf(bw_conf_t *cf)
{
    bw_http_core_srv_conf_t  *cscf;

    cscf = bw_pcalloc(cf->pool, sizeof(bw_http_core_srv_conf_t));
    if (cscf == NULL) {
        return NULL;
    }

    if (bw_array_init(&cscf->server_names, cf->temp_pool, 4,
                      sizeof(bw_http_server_name_t)) != BW_OK)
    {
        return NULL;
    }

    cscf->connection_pool_size = BW_CONF_UNSET_SIZE;
    cscf->request_pool_size = BW_CONF_UNSET_SIZE;
    cscf->client_header_buffer_size = BW_CONF_UNSET_SIZE;
    cscf->large_client_header_buffers_num = BW_CONF_UNSET_UINT;
    cscf->large_client_header_buffers_size = BW_CONF_UNSET_SIZE;
    cscf->client_header_timeout = BW_CONF_UNSET_MSEC;
    cscf->ignore_invalid_headers = BW_CONF_UNSET;
    cscf->underscores_in_headers = BW_CONF_UNSET;
    cscf->merge_slashes = BW_CONF_UNSET;
    cscf->max_headers = BW_CONF_UNSET;
    cscf->file_name = cf->conf_file ? cf->conf_file->name.data : NULL;
    cscf->line = cf->conf_file ? cf->conf_file->line : 0;

    return cscf;
}

static char *
bw_http_core_merge_srv_conf(bw_conf_t *cf, void *parent, void *child)
{
    bw_http_core_srv_conf_t  *prev = parent;
    bw_http_core_srv_conf_t  *conf = child;
    bw_http_server_name_t    *sn;

    bw_conf_merge_size_value(conf->connection_pool_size,
                             prev->connection_pool_size, 512);
    bw_conf_merge_size_value(conf->request_pool_size,
                             prev->request_pool_size, 4096);
    bw_conf_merge_size_value(conf->client_header_buffer_size,
                             prev->client_header_buffer_size, 1024);
    bw_conf_merge_uint_value(conf->large_client_header_buffers_num,
                             prev->large_client_header_buffers_num, 4);
    bw_conf_merge_size_value(conf->large_client_header_buffers_size,
                             prev->large_client_header_buffers_size, 8192);
    bw_conf_merge_msec_value(conf->client_header_timeout,
                             prev->client_header_timeout, 60000);
    bw_conf_merge_value(conf->ignore_invalid_headers,
                        prev->ignore_invalid_headers, 1);
    bw_conf_merge_value(conf->underscores_in_headers,
                        prev->underscores_in_headers, 0);
    bw_conf_merge_value(conf->merge_slashes, prev->merge_slashes, 1);
    bw_conf_merge_value(conf->max_headers, prev->max_headers, 1000);

    if (conf->large_client_header_buffers_size
        < conf->connection_pool_size)
    {
        return "the \"large_client_header_buffers\" size must be equal "
               "to or greater than \"connection_pool_size\"";
    }

    if (conf->server_names.nelts == 0) {
        /* as nginx: a server without server_name has the name "" */
        sn = bw_array_push(&conf->server_names);
        if (sn == NULL) {
            return BW_CONF_ERROR;
        }
        sn->regex = NULL;
        sn->server = conf;
        bw_str_set(&sn->name, "");
    }

    sn = conf->server_names.elts;
    conf->server_name = sn[0].name;
    if (conf->server_name.len > 1 && conf->server_name.data[0] == '.') {
        /* ".example.com" is example.com and its subdomains: the name
         * is example.com, as in nginx */
        conf->server_name.data++;
        conf->server_name.len--;
    }

    return BW_CONF_OK;
}

static void *
bw_http_core_create_loc_conf(bw_conf_t *cf)
{
    bw_http_core_loc_conf_t  *clcf;

    clcf = bw_pcalloc(cf->pool, sizeof(bw_http_core_loc_conf_t));
    if (clcf == NULL) {
        return NULL;
    }

    clcf->file_name = cf->conf_file ? cf->conf_file->name.data : NULL;
    clcf->line = cf->conf_file ? cf->conf_file->line : 0;
    clcf->root_set = BW_CONF_UNSET;
    clcf->internal = BW_CONF_UNSET;
    clcf->client_max_body_size = BW_CONF_UNSET;
    clcf->client_body_timeout = BW_CONF_UNSET_MSEC;
    clcf->resolver_timeout = BW_CONF_UNSET_MSEC;
    clcf->send_timeout = BW_CONF_UNSET_MSEC;
    clcf->keepalive_timeout = BW_CONF_UNSET_MSEC;
    clcf->keepalive_header = BW_CONF_UNSET;
    clcf->keepalive_requests = BW_CONF_UNSET_UINT;
    clcf->keepalive_time = BW_CONF_UNSET_MSEC;
    clcf->sendfile_max_chunk = BW_CONF_UNSET_SIZE;
    clcf->limit_rate = BW_CONF_UNSET_SIZE;
    clcf->limit_rate_after = BW_CONF_UNSET_SIZE;
    clcf->lingering_close = BW_CONF_UNSET_UINT;
    clcf->satisfy = BW_CONF_UNSET_UINT;
    clcf->auth_delay = BW_CONF_UNSET_MSEC;
    clcf->lingering_time = BW_CONF_UNSET_MSEC;
    clcf->lingering_timeout = BW_CONF_UNSET_MSEC;
    clcf->sendfile = BW_CONF_UNSET;
    clcf->tcp_nopush = BW_CONF_UNSET;
    clcf->tcp_nodelay = BW_CONF_UNSET;
    clcf->postpone_output = BW_CONF_UNSET_SIZE;
    clcf->server_tokens = BW_CONF_UNSET_UINT;
    clcf->chunked_transfer_encoding = BW_CONF_UNSET;
    clcf->reset_timedout_connection = BW_CONF_UNSET;
    clcf->etag = BW_CONF_UNSET;
    clcf->if_modified_since = BW_CONF_UNSET_UINT;
    clcf->absolute_redirect = BW_CONF_UNSET;
    clcf->port_in_redirect = BW_CONF_UNSET;
    clcf->server_name_in_redirect = BW_CONF_UNSET;
    clcf->log_not_found = BW_CONF_UNSET;
    clcf->recursive_error_pages = BW_CONF_UNSET;
    clcf->client_body_buffer_size = BW_CONF_UNSET_SIZE;
    clcf->client_body_in_file_only = BW_CONF_UNSET_UINT;
    clcf->max_ranges = BW_CONF_UNSET_UINT;
    clcf->client_body_in_single_buffer = BW_CONF_UNSET;
    clcf->error_pages = BW_CONF_UNSET_PTR;
    clcf->try_files = BW_CONF_UNSET_PTR;

    return clcf;
}

static char *
bw_http_core_merge_loc_conf(bw_conf_t *cf, void *parent, void *child)
{
    bw_http_core_loc_conf_t  *prev = parent;
    bw_http_core_loc_conf_t  *conf = child;

    if (conf->root.data == NULL) {
        conf->alias = prev->alias;
        conf->root = prev->root;
        conf->root_cv = prev->root_cv;
        if (conf->root.data == NULL) {
            bw_str_set(&conf->root, "html");
            if (bw_conf_full_name(cf->cycle, &conf->root, 0) != BW_OK) {
                return BW_CONF_ERROR;
            }
        }
    }

    if (bw_http_merge_types(cf, &conf->types, &conf->types_hash,
                            &prev->types, &prev->types_hash, NULL) != BW_OK)
    {
        return BW_CONF_ERROR;
    }

    bw_conf_merge_str_value(conf->default_type, prev->default_type,
                            "text/plain");
    bw_conf_merge_str_value(conf->post_action, prev->post_action, "");
    if (bw_str_eq_lit(&conf->post_action, "off")) {
        conf->post_action.len = 0;
    }
    /* "internal" belongs to its location: never inherited */
    if (conf->internal == BW_CONF_UNSET) {
        conf->internal = 0;
    }
    bw_conf_merge_off_value(conf->client_max_body_size,
                            prev->client_max_body_size, 1024 * 1024);
    if (conf->resolver == NULL) {
        conf->resolver = prev->resolver;
    }
    bw_conf_merge_msec_value(conf->resolver_timeout, prev->resolver_timeout,
                             30000);
    bw_conf_merge_msec_value(conf->client_body_timeout,
                             prev->client_body_timeout, 60000);
    bw_conf_merge_msec_value(conf->send_timeout, prev->send_timeout, 60000);
    bw_conf_merge_msec_value(conf->keepalive_time, prev->keepalive_time,
                             3600000);
    bw_conf_merge_size_value(conf->sendfile_max_chunk,
                             prev->sendfile_max_chunk, 2 * 1024 * 1024);
    /* a level's own size or variables outrank the outer ones */
    if (conf->limit_rate == BW_CONF_UNSET_SIZE && conf->limit_rate_cv == NULL)
    {
        conf->limit_rate_cv = prev->limit_rate_cv;
    }
    if (conf->limit_rate_after == BW_CONF_UNSET_SIZE
        && conf->limit_rate_after_cv == NULL)
    {
        conf->limit_rate_after_cv = prev->limit_rate_after_cv;
    }
    bw_conf_merge_size_value(conf->limit_rate, prev->limit_rate, 0);
    bw_conf_merge_size_value(conf->limit_rate_after, prev->limit_rate_after,
                             0);
    bw_conf_merge_msec_value(conf->keepalive_timeout,
                             prev->keepalive_timeout, 75000);
    bw_conf_merge_sec_value(conf->keepalive_header, prev->keepalive_header,
                            0);
    bw_conf_merge_uint_value(conf->keepalive_requests,
                             prev->keepalive_requests, 1000);
    bw_conf_merge_uint_value(conf->satisfy, prev->satisfy,
                             BW_HTTP_SATISFY_ALL);
    bw_conf_merge_msec_value(conf->auth_delay, prev->auth_delay, 0);
    bw_conf_merge_uint_value(conf->lingering_close, prev->lingering_close,
                             BW_HTTP_LINGERING_ON);
    bw_conf_merge_msec_value(conf->lingering_time, prev->lingering_time,
                             30000);
    bw_conf_merge_msec_value(conf->lingering_timeout,
                             prev->lingering_timeout, 5000);
    bw_conf_merge_value(conf->sendfile, prev->sendfile, 0);
    bw_conf_merge_value(conf->tcp_nopush, prev->tcp_nopush, 0);
    bw_conf_merge_value(conf->tcp_nodelay, prev->tcp_nodelay, 1);
    bw_conf_merge_size_value(conf->postpone_output, prev->postpone_output,
                             1460);
    bw_conf_merge_uint_value(conf->server_tokens, prev->server_tokens, 1);
    bw_conf_merge_value(conf->chunked_transfer_encoding,
                        prev->chunked_transfer_encoding, 1);
    bw_conf_merge_value(conf->reset_timedout_connection,
                        prev->reset_timedout_connection, 0);
    bw_conf_merge_value(conf->etag, prev->etag, 1);
    bw_conf_merge_uint_value(conf->if_modified_since,
                             prev->if_modified_since, BW_HTTP_IMS_EXACT);
    bw_conf_merge_value(conf->absolute_redirect, prev->absolute_redirect, 1);
    bw_conf_merge_value(conf->port_in_redirect, prev->port_in_redirect, 1);
    bw_conf_merge_value(conf->server_name_in_redirect,
                        prev->server_name_in_redirect, 0);
    bw_conf_merge_value(conf->log_not_found, prev->log_not_found, 1);
    bw_conf_merge_value(conf->recursive_error_pages,
                        prev->recursive_error_pages, 0);
    /* two memory pages, as nginx: 8k on x86-64 */
    bw_conf_merge_size_value(conf->client_body_buffer_size,
                             prev->client_body_buffer_size,
                             2 * (size_t) sysconf(_SC_PAGESIZE));
    /* "none" is a bit of its own, so that it is not "unset" */
    bw_conf_merge_bitmask_value(conf->keepalive_disable,
                                prev->keepalive_disable,
                                BW_HTTP_KA_DISABLE_MSIE6);
    bw_conf_merge_uint_value(conf->max_ranges, prev->max_ranges,
                             0x7fffffff);
    bw_conf_merge_uint_value(conf->client_body_in_file_only,
                             prev->client_body_in_file_only,
                             BW_HTTP_BODY_IN_FILE_OFF);
    /* a body in memory is always one buffer here: the flag is kept for
     * configurations, and changes nothing */
    bw_conf_merge_value(conf->client_body_in_single_buffer,
                        prev->client_body_in_single_buffer, 0);
    if (bw_conf_merge_path_value(cf, &conf->client_body_temp_path,
                                 prev->client_body_temp_path,
                                 BW_HTTP_CLIENT_TEMP_PATH)
        != BW_CONF_OK)
    {
        return BW_CONF_ERROR;
    }
    bw_conf_merge_ptr_value(conf->error_pages, prev->error_pages, NULL);
    bw_conf_merge_ptr_value(conf->try_files, prev->try_files, NULL);

    if (conf->error_log == NULL) {
        conf->error_log = prev->error_log ? prev->error_log
                                          : &cf->cycle->new_log;
    }

    return BW_CONF_OK;
}

/*
 * limit_rate and limit_rate_after: a size, or variables that give one
 * per request (as nginx since 1.17), read when the location is chosen.
 */
static char *
bw_http_core_limit_rate(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_core_loc_conf_t  *clcf = conf;

    return bw_http_set_size_or_value(cf, cmd, conf,
               (cmd->offset == offsetof(bw_http_core_loc_conf_t, limit_rate))
               ? &clcf->limit_rate_cv : &clcf->limit_rate_after_cv);
}

/*
 * A size, or variables that give one per request (limit_rate's kind, and
 * the proxying modules' *_limit_rate): a value without "$" is the size at
 * cmd's offset, one with them is compiled into *cv.
 */
char *
bw_http_set_size_or_value(bw_conf_t *cf, bw_command_t *cmd, void *conf,
    bw_http_complex_value_t **cv)
{
    size_t    *size;
    bw_str_t  *value;

    value = cf->args->elts;
    size = (size_t *) ((char *) conf + cmd->offset);

    if (*cv || *size != BW_CONF_UNSET_SIZE) {
        return "is duplicate";
    }

    if (memchr(value[1].data, '$', value[1].len) == NULL) {
        return bw_conf_set_size_slot(cf, cmd, conf);
    }

    *cv = bw_palloc(cf->pool, sizeof(bw_http_complex_value_t));
    if (*cv == NULL
        || bw_http_compile_complex_value(cf, *cv, &value[1]) != BW_OK)
    {
        return BW_CONF_ERROR;
    }

    return BW_CONF_OK;
}

static char *
bw_http_core_server_name(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_core_srv_conf_t  *cscf = conf;
    bw_str_t                 *value;
    bw_uint_t                 i;
    bw_http_server_name_t    *sn;
    bw_regex_compile_t        rc;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        sn = bw_array_push(&cscf->server_names);
        if (sn == NULL) {
            return BW_CONF_ERROR;
        }
        sn->regex = NULL;
        sn->server = cscf;

        if (bw_str_caseeq_lit(&value[i], "$hostname")) {
            char host[256];
            if (gethostname(host, sizeof(host)) == -1) {
                return "gethostname() failed";
            }
            host[sizeof(host) - 1] = '\0';
            sn->name.len = strlen(host);
            sn->name.data = bw_pnalloc(cf->pool, sn->name.len);
            if (sn->name.data == NULL) {
                return BW_CONF_ERROR;
            }
            bw_strlow(sn->name.data, (u_char *) host, sn->name.len);
            continue;
        }

        if (value[i].len && value[i].data[0] == '~') {
            bw_memzero(&rc, sizeof(rc));
            rc.pattern.len = value[i].len - 1;
            rc.pattern.data = value[i].data + 1;
            rc.pool = cf->pool;
            rc.options = BW_REGEX_CASELESS;
            if (bw_regex_compile(&rc) != BW_OK) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0, "%.*s",
                                  (int) rc.err.len, rc.err.data);
                return BW_CONF_ERROR;
            }
            if (bw_http_regex_add_names(cf, rc.regex) != BW_OK) {
                return BW_CONF_ERROR;
            }
            sn->regex = rc.regex;
            sn->name = value[i];
            continue;
        }

        if (memchr(value[i].data, '/', value[i].len)) {
            bw_conf_log_error(BW_LOG_WARN, cf, 0,
                              "server name \"%s\" has suspicious symbols",
                              value[i].data);
        }

        sn->name.len = value[i].len;
        sn->name.data = bw_pnalloc(cf->pool, value[i].len);
        if (sn->name.data == NULL) {
            return BW_CONF_ERROR;
        }
        bw_strlow(sn->name.data, value[i].data, value[i].len);
    }

    return BW_CONF_OK;
}

static char *
bw_http_core_root(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_core_loc_conf_t  *clcf = conf;
    bw_str_t                 *value;
    bw_uint_t                 alias;

    alias = (cmd->name.len == sizeof("alias") - 1);
    value = cf->args->elts;

    if (clcf->root.data) {
        if ((clcf->alias != 0) == alias) {
            return "is duplicate";
        }
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "\"%.*s\" directive is duplicate, "
                          "\"%s\" directive was specified earlier",
                          (int) cmd->name.len, cmd->name.data,
                          clcf->alias ? "alias" : "root");
        return BW_CONF_ERROR;
    }

    if (clcf->named && alias) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "the \"alias\" directive cannot be used "
                          "inside the named location");
        return BW_CONF_ERROR;
    }

    if ((value[1].len >= 14
         && memcmp(value[1].data, "$document_root", 14) == 0)
        || (value[1].len >= 14
            && memcmp(value[1].data, "$realpath_root", 14) == 0))
    {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "the $document_root variable cannot be used "
                          "in the \"%.*s\" directive",
                          (int) cmd->name.len, cmd->name.data);
        return BW_CONF_ERROR;
    }

    clcf->root = value[1];
    clcf->alias = alias ? (clcf->name.len ? clcf->name.len : 1) : 0;

    if (alias && clcf->regex) {
        /* a regex location's own alias is the whole path (a nested
         * regex location inherits its parent's prefix length instead) */
        clcf->alias = BW_HTTP_ALIAS_WHOLE;
    }

    if (!alias && clcf->root.len > 0
        && clcf->root.data[clcf->root.len - 1] == '/')
    {
        clcf->root.len--;
    }

    if (bw_http_script_variables_count(&clcf->root)) {
        clcf->root_cv = bw_palloc(cf->pool, sizeof(bw_http_complex_value_t));
        if (clcf->root_cv == NULL
            || bw_http_compile_complex_value(cf, clcf->root_cv, &clcf->root)
               != BW_OK)
        {
            return BW_CONF_ERROR;
        }
        return BW_CONF_OK;
    }

    if (bw_conf_full_name(cf->cycle, &clcf->root, 0) != BW_OK) {
        return BW_CONF_ERROR;
    }

    return BW_CONF_OK;
}

static char *
bw_http_core_types(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_core_loc_conf_t  *clcf = conf;
    char                     *rv;

    if (clcf->types == NULL) {
        clcf->types = bw_array_create(cf->pool, 64, sizeof(bw_hash_key_t));
        if (clcf->types == NULL) {
            return BW_CONF_ERROR;
        }
    }

    rv = bw_conf_parse_block(cf, bw_http_core_type, conf);

    return rv;
}

static char *
bw_http_core_type(bw_conf_t *cf, bw_command_t *dummy, void *conf)
{
    bw_http_core_loc_conf_t  *clcf = conf;
    bw_str_t                 *value, *content_type, file;
    bw_uint_t                 i, n;
    bw_hash_key_t            *type;
    u_char                   *lc;

    value = cf->args->elts;

    if (bw_str_eq_lit(&value[0], "include")) {
        if (cf->args->nelts != 2) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "invalid number of arguments"
                              " in \"include\" directive");
            return BW_CONF_ERROR;
        }
        file = value[1];
        if (bw_conf_full_name(cf->cycle, &file, 1) != BW_OK) {
            return BW_CONF_ERROR;
        }
        return bw_conf_parse(cf, &file);
    }

    if (cf->args->nelts < 2) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "invalid number of arguments in \"%s\" type",
                          value[0].data);
        return BW_CONF_ERROR;
    }

    content_type = bw_palloc(cf->pool, sizeof(bw_str_t));
    if (content_type == NULL) {
        return BW_CONF_ERROR;
    }
    *content_type = value[0];

    for (i = 1; i < cf->args->nelts; i++) {
        lc = bw_pnalloc(cf->pool, value[i].len);
        if (lc == NULL) {
            return BW_CONF_ERROR;
        }
        bw_strlow(lc, value[i].data, value[i].len);

        type = clcf->types->elts;
        for (n = 0; n < clcf->types->nelts; n++) {
            if (type[n].key.len == value[i].len
                && memcmp(type[n].key.data, lc, value[i].len) == 0)
            {
                bw_conf_log_error(BW_LOG_WARN, cf, 0,
                                  "duplicate extension \"%s\", "
                                  "content type: \"%s\", "
                                  "previous content type: \"%.*s\"",
                                  value[i].data, content_type->data,
                                  (int) ((bw_str_t *) type[n].value)->len,
                                  ((bw_str_t *) type[n].value)->data);
                type[n].value = content_type;
                goto next;
            }
        }

        type = bw_array_push(clcf->types);
        if (type == NULL) {
            return BW_CONF_ERROR;
        }
        type->key.data = lc;
        type->key.len = value[i].len;
        type->value = content_type;

    next:
        continue;
    }

    return BW_CONF_OK;
}

/* types{} are inherited whole: a level with its own types{} replaces. */
bw_int_t
bw_http_merge_types(bw_conf_t *cf, bw_array_t **keys, bw_hash_t **types_hash,
    bw_array_t **prev_keys, bw_hash_t **prev_types_hash,
    bw_str_t *default_types)
{
    static bw_str_t  html = bw_string("text/html");
    static bw_str_t  gif = bw_string("image/gif");
    static bw_str_t  jpeg = bw_string("image/jpeg");
    bw_hash_key_t   *k;

    if (*keys) {
        *types_hash = bw_palloc(cf->pool, sizeof(bw_hash_t));
        if (*types_hash == NULL
            || bw_hash_build(*types_hash, cf->pool, (*keys)->elts,
                             (*keys)->nelts) == BW_ERROR)
        {
            return BW_ERROR;
        }
        return BW_OK;
    }

    if (*prev_types_hash == NULL) {
        if (*prev_keys == NULL) {
            /* nginx's built-in default when no types{} is given */
            *prev_keys = bw_array_create(cf->pool, 3, sizeof(bw_hash_key_t));
            if (*prev_keys == NULL) {
                return BW_ERROR;
            }
            k = bw_array_push_n(*prev_keys, 3);
            if (k == NULL) {
                return BW_ERROR;
            }
            bw_str_set(&k[0].key, "html"); k[0].value = &html;
            bw_str_set(&k[1].key, "gif");  k[1].value = &gif;
            bw_str_set(&k[2].key, "jpg");  k[2].value = &jpeg;
        }

        *prev_types_hash = bw_palloc(cf->pool, sizeof(bw_hash_t));
        if (*prev_types_hash == NULL
            || bw_hash_build(*prev_types_hash, cf->pool, (*prev_keys)->elts,
                             (*prev_keys)->nelts) == BW_ERROR)
        {
            return BW_ERROR;
        }
    }

    *keys = *prev_keys;
    *types_hash = *prev_types_hash;
    return BW_OK;
}

static char *
bw_http_core_keepalive(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_core_loc_conf_t  *clcf = conf;
    bw_str_t                 *value;
    bw_int_t                  n;

    if (clcf->keepalive_timeout != BW_CONF_UNSET_MSEC) {
        return "is duplicate";
    }

    value = cf->args->elts;

    n = bw_parse_time(&value[1], 0);
    if (n == BW_ERROR) {
        return "invalid value";
    }
    clcf->keepalive_timeout = (bw_msec_t) n;

    if (cf->args->nelts == 3) {
        n = bw_parse_time(&value[2], 1);
        if (n == BW_ERROR) {
            return "invalid value";
        }
        clcf->keepalive_header = n;
    }

    return BW_CONF_OK;
}

static char *
bw_http_core_internal(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_core_loc_conf_t  *clcf = conf;

    if (clcf->internal != BW_CONF_UNSET) {
        return "is duplicate";
    }
    clcf->internal = 1;
    return BW_CONF_OK;
}

static char *
bw_http_core_large_buffers(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_core_srv_conf_t  *cscf = conf;
    bw_str_t                 *value;
    bw_int_t                  n;
    ssize_t                   size;

    if (cscf->large_client_header_buffers_num != BW_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    n = bw_atoi(value[1].data, value[1].len);
    if (n == BW_ERROR || n == 0) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "invalid value \"%s\"", value[1].data);
        return BW_CONF_ERROR;
    }

    size = bw_parse_size(&value[2]);
    if (size == BW_ERROR || size == 0) {
        bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                          "invalid value \"%s\"", value[2].data);
        return BW_CONF_ERROR;
    }

    cscf->large_client_header_buffers_num = (bw_uint_t) n;
    cscf->large_client_header_buffers_size = (size_t) size;
    return BW_CONF_OK;
}

static char *
bw_http_core_error_page(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_core_loc_conf_t  *clcf = conf;
    bw_str_t                 *value, uri;
    bw_uint_t                 i, n;
    bw_int_t                  overwrite;
    bw_http_err_page_t       *err;

    if (clcf->error_pages == NULL || clcf->error_pages == BW_CONF_UNSET_PTR) {
        clcf->error_pages = bw_array_create(cf->pool, 4,
                                            sizeof(bw_http_err_page_t));
        if (clcf->error_pages == NULL) {
            return BW_CONF_ERROR;
        }
    }

    value = cf->args->elts;
    i = cf->args->nelts - 2;

    if (value[i].data[0] == '=') {
        if (i == 1) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "invalid value \"%s\"", value[i].data);
            return BW_CONF_ERROR;
        }
        if (value[i].len > 1) {
            overwrite = bw_atoi(&value[i].data[1], value[i].len - 1);
            if (overwrite == BW_ERROR) {
                bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                                  "invalid value \"%s\"", value[i].data);
                return BW_CONF_ERROR;
            }
        } else {
            overwrite = 0;
        }
        n = 2;
    } else {
        overwrite = -1;
        n = 1;
    }

    uri = value[cf->args->nelts - 1];

    for (i = 1; i < cf->args->nelts - n; i++) {
        err = bw_array_push(clcf->error_pages);
        if (err == NULL) {
            return BW_CONF_ERROR;
        }

        err->status = bw_atoi(value[i].data, value[i].len);
        if (err->status == BW_ERROR || err->status == 499) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "invalid value \"%s\"", value[i].data);
            return BW_CONF_ERROR;
        }
        if (err->status < 300 || err->status > 599) {
            bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                              "value \"%s\" must be between 300 and 599",
                              value[i].data);
            return BW_CONF_ERROR;
        }

        err->overwrite = overwrite;

        if (overwrite == -1
            && (err->status == BW_HTTPS_CERT_ERROR
                || err->status == BW_HTTPS_NO_CERT
                || err->status == BW_HTTP_TO_HTTPS))
        {
            /* nginx's own codes never go on the wire: their page is a
             * 400 unless "=code" says otherwise */
            err->overwrite = BW_HTTP_BAD_REQUEST;
        }

        if (bw_http_compile_complex_value(cf, &err->value, &uri) != BW_OK) {
            return BW_CONF_ERROR;
        }
    }

    return BW_CONF_OK;
}

static char *
bw_http_core_error_log(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_core_loc_conf_t  *clcf = conf;

    /* a second one at this level joins the first (merging comes after
     * the whole level is read) */
    if (clcf->error_log == NULL) {
        clcf->error_log = bw_pcalloc(cf->pool, sizeof(bw_log_t));
        if (clcf->error_log == NULL) {
            return BW_CONF_ERROR;
        }
    }

    return bw_log_set_log(cf, clcf->error_log);
}

static char *
bw_http_core_compat(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    return BW_CONF_OK;
}

/* "open_file_cache off | max=N [inactive=time]": checked, then said to
 * have no effect */
static char *
bw_http_core_open_file_cache(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_str_t   *value, s;
    bw_uint_t   i;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (bw_str_eq_lit(&value[i], "off") && cf->args->nelts == 2) {
            return BW_CONF_OK;
        }
        if (value[i].len > 4 && memcmp(value[i].data, "max=", 4) == 0
            && bw_atoi(value[i].data + 4, value[i].len - 4) > 0)
        {
            continue;
        }
        if (value[i].len > 9 && memcmp(value[i].data, "inactive=", 9) == 0) {
            s.data = value[i].data + 9;
            s.len = value[i].len - 9;
            if (bw_parse_time(&s, 1) != (time_t) BW_ERROR) {
                continue;
            }
        }
        bw_conf_log_error(BW_LOG_EMERG, cf, 0, "invalid \"open_file_cache\" "
                          "parameter \"%s\"", value[i].data);
        return BW_CONF_ERROR;
    }

    return bw_conf_no_effect(cf, cmd, conf);
}

/* Names known only at run time (proxy_pass with variables) are asked
 * of these servers; names in the configuration are resolved as it is
 * read, as nginx does. */
static char *
bw_http_core_resolver(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_http_core_loc_conf_t *clcf = conf;

    bw_str_t  *value;

    if (clcf->resolver) {
        return "is duplicate";
    }

    value = cf->args->elts;

    clcf->resolver = bw_resolver_create(cf, &value[1], cf->args->nelts - 1);
    if (clcf->resolver == NULL) {
        return BW_CONF_ERROR;
    }

    return BW_CONF_OK;
}

/* A safety setting must not be accepted and ignored: only "off" loads. */
static char *
bw_http_core_disable_symlinks(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_str_t  *value;

    value = cf->args->elts;

    if (cf->args->nelts == 2 && bw_str_eq_lit(&value[1], "off")) {
        return BW_CONF_OK;
    }

    bw_conf_log_error(BW_LOG_EMERG, cf, 0,
                      "\"disable_symlinks %s\" is not supported yet: "
                      "symbolic links are followed", value[1].data);
    return BW_CONF_ERROR;
}

/* aio, directio: "off" is what bulwark does; anything else is said */
static char *
bw_http_core_off_only(bw_conf_t *cf, bw_command_t *cmd, void *conf)
{
    bw_str_t  *value;

    value = cf->args->elts;

    if (!bw_str_eq_lit(&value[1], "off")) {
        bw_conf_log_error(BW_LOG_WARN, cf, 0,
                          "\"%s %s\" has no effect: files are sent with "
                          "sendfile() from the page cache", cmd->name.data,
                          value[1].data);
    }

    return BW_CONF_OK;
}
