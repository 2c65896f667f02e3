/*
 * A configuration and a request without a server, for the unit tests of
 * code that compiles complex values at configuration time and evaluates
 * them per request: an http{} main conf that knows only the variables a
 * test defines (each a fixed string, or not found), a location conf
 * slot per module, a pool, and an error log kept in a temporary file so
 * that a test can read what was logged.
 */

#ifndef TEST_HTTP_ENV_H
#define TEST_HTTP_ENV_H

#include <stdio.h>
#include <bw_http.h>

#define TEST_ENV_MODULES  64

typedef struct {
    bw_pool_t                 *pool;
    bw_log_t                   log;
    bw_open_file_t             log_file;
    FILE                      *log_fp;
    bw_conf_t                  cf;
    bw_http_conf_ctx_t         ctx;
    void                      *main_conf[TEST_ENV_MODULES];
    void                      *loc_conf[TEST_ENV_MODULES];
    void                      *req_ctx[TEST_ENV_MODULES];
    bw_http_core_main_conf_t   cmcf;
    bw_connection_t            c;
    bw_http_request_t          r;
    char                       errors[1024];
} test_env_t;

static bw_int_t
test_env_var_get(bw_http_request_t *r, bw_http_variable_value_t *v,
    uintptr_t data)
{
    const char  *s = (const char *) data;

    if (s == NULL) {
        v->not_found = 1;
        return BW_OK;
    }

    bw_var_set(v, (u_char *) s, strlen(s));
    return BW_OK;
}

static void
test_env_init(test_env_t *e)
{
    memset(e, 0, sizeof(*e));

    bw_time_init();     /* the log's time stamp */

    e->pool = bw_create_pool(4096, NULL);
    assert_non_null(e->pool);

    e->log_fp = tmpfile();
    assert_non_null(e->log_fp);
    e->log_file.fd = fileno(e->log_fp);
    e->log.file = &e->log_file;
    e->log.log_level = BW_LOG_INFO;

    e->cf.pool = e->pool;
    e->cf.temp_pool = e->pool;
    e->cf.log = &e->log;
    e->cf.ctx = &e->ctx;
    e->cf.args = bw_array_create(e->pool, 8, sizeof(bw_str_t));
    assert_non_null(e->cf.args);

    e->ctx.main_conf = e->main_conf;
    e->ctx.loc_conf = e->loc_conf;
    e->main_conf[bw_http_core_module.ctx_index] = &e->cmcf;

    assert_int_equal(bw_array_init(&e->cmcf.variables, e->pool, 8,
                                   sizeof(bw_http_variable_t)), BW_OK);
    assert_int_equal(bw_array_init(&e->cmcf.prefix_variables, e->pool, 8,
                                   sizeof(bw_http_variable_t)), BW_OK);
}

/* $name with a fixed value, or one that is not found (value NULL) */
static void
test_env_var(test_env_t *e, const char *name, const char *value)
{
    bw_str_t             n;
    bw_http_variable_t  *v;

    n.data = (u_char *) name;
    n.len = strlen(name);
    v = bw_http_add_variable(&e->cf, &n, BW_HTTP_VAR_CHANGEABLE);
    assert_non_null(v);
    v->get_handler = test_env_var_get;
    v->data = (uintptr_t) value;
}

/* Configuration read: variables resolved, a request to evaluate in. */
static bw_int_t
test_env_request(test_env_t *e)
{
    if (bw_http_variables_init_vars(&e->cf) != BW_OK) {
        return BW_ERROR;
    }

    e->c.log = &e->log;
    e->r.connection = &e->c;
    e->r.pool = e->pool;
    e->r.main_conf = e->main_conf;
    e->r.loc_conf = e->loc_conf;
    e->r.ctx = e->req_ctx;
    e->r.main = &e->r;
    e->r.variables = bw_pcalloc(e->pool, (e->cmcf.variables.nelts + 1)
                                         * sizeof(bw_http_variable_value_t));
    assert_non_null(e->r.variables);

    return BW_OK;
}

/* What was logged since the last call, one string. */
static const char *
test_env_errors(test_env_t *e)
{
    size_t  n;

    fflush(e->log_fp);
    rewind(e->log_fp);
    n = fread(e->errors, 1, sizeof(e->errors) - 1, e->log_fp);
    e->errors[n] = '\0';
    assert_int_equal(ftruncate(e->log_file.fd, 0), 0);
    rewind(e->log_fp);

    return e->errors;
}

static void
test_env_free(test_env_t *e)
{
    fclose(e->log_fp);
    bw_destroy_pool(e->pool);
}

static bw_str_t
test_str(const char *s)
{
    bw_str_t  v;

    v.data = (u_char *) s;
    v.len = strlen(s);
    return v;
}

#define assert_str_equal_len(s, lit)                                         \
    do {                                                                     \
        bw_str_t  *s_ = (s);                                                 \
        if (s_->len != strlen(lit)                                           \
            || memcmp(s_->data, lit, s_->len) != 0)                          \
        {                                                                    \
            fail_msg("\"%.*s\" != \"%s\"", (int) s_->len, s_->data, lit);    \
        }                                                                    \
    } while (0)

#endif
