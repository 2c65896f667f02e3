/* Unit tests: the configuration tokenizer (core/conf/lexer.c). */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <bw_core.h>
#include <cmocka.h>

typedef struct {
    bw_pool_t       *pool;
    bw_conf_t        cf;
    bw_conf_file_t   file;
    bw_log_t         log;
} lex_t;

static void
lex_init(lex_t *l, const char *text)
{
    memset(l, 0, sizeof(*l));
    l->pool = bw_create_pool(4096, NULL);
    l->cf.pool = l->pool;
    l->cf.args = bw_array_create(l->pool, 8, sizeof(bw_str_t));
    l->log.log_level = BW_LOG_EMERG;
    l->cf.log = &l->log;      /* no file: errors are only returned */
    bw_str_set(&l->file.name, "test.conf");
    l->file.line = 1;
    l->file.pos = (u_char *) text;
    l->file.end = (u_char *) text + strlen(text);
    l->cf.conf_file = &l->file;
}

static const char *
arg(lex_t *l, bw_uint_t i)
{
    return (const char *) ((bw_str_t *) l->cf.args->elts)[i].data;
}

static void
test_tokens(void **state)
{
    lex_t  l;

    lex_init(&l, "# comment\n"
                 "worker_processes  2;  # trailing\n"
                 "http {\n"
                 "  log_format main '$remote_addr \"q\"' \"a\\tb\\\"c\";\n"
                 "  return 200 ${host}/x;\n"
                 "  location ~ \\.php$ { }\n"
                 "}\n");

    assert_int_equal(bw_conf_read_token(&l.cf), BW_OK);
    assert_int_equal(l.cf.args->nelts, 2);
    assert_string_equal(arg(&l, 0), "worker_processes");
    assert_string_equal(arg(&l, 1), "2");
    assert_int_equal(l.file.line, 2);

    assert_int_equal(bw_conf_read_token(&l.cf), BW_CONF_BLOCK_START);
    assert_string_equal(arg(&l, 0), "http");

    assert_int_equal(bw_conf_read_token(&l.cf), BW_OK);
    assert_int_equal(l.cf.args->nelts, 4);
    assert_string_equal(arg(&l, 2), "$remote_addr \"q\"");
    assert_string_equal(arg(&l, 3), "a\tb\"c");

    assert_int_equal(bw_conf_read_token(&l.cf), BW_OK);
    assert_string_equal(arg(&l, 2), "${host}/x");

    assert_int_equal(bw_conf_read_token(&l.cf), BW_CONF_BLOCK_START);
    assert_string_equal(arg(&l, 2), "\\.php$");
    assert_int_equal(l.file.line, 6);

    assert_int_equal(bw_conf_read_token(&l.cf), BW_CONF_BLOCK_DONE);
    assert_int_equal(bw_conf_read_token(&l.cf), BW_CONF_BLOCK_DONE);
    assert_int_equal(bw_conf_read_token(&l.cf), BW_CONF_FILE_DONE);
    assert_int_equal(l.file.line, 8);

    bw_destroy_pool(l.pool);
}

static void
test_errors(void **state)
{
    static const char  *bad[] = {
        "a b",              /* unexpected end of file */
        "a \"b",            /* unterminated quote */
        "a \"b\"c;",        /* quote followed by a word */
        ";",                /* unexpected ";" */
        "{",                /* unexpected "{" */
        "a }",              /* unexpected "}" */
        "a ${b;",           /* unterminated ${ */
        NULL
    };
    const char  **p;
    lex_t         l;

    for (p = bad; *p; p++) {
        lex_init(&l, *p);
        assert_int_equal(bw_conf_read_token(&l.cf), BW_ERROR);
        bw_destroy_pool(l.pool);
    }
}

/* nginx lets ")" follow a quoted word: if ($a = "") { ... } */
static void
test_quote_then_paren(void **state)
{
    lex_t  l;

    lex_init(&l, "if ($a = \"\") {");
    assert_int_equal(bw_conf_read_token(&l.cf), BW_CONF_BLOCK_START);
    assert_int_equal(l.cf.args->nelts, 5);
    assert_string_equal(arg(&l, 3), "");
    assert_string_equal(arg(&l, 4), ")");
    bw_destroy_pool(l.pool);

    lex_init(&l, "a \"b\"x;");
    assert_int_equal(bw_conf_read_token(&l.cf), BW_ERROR);
    bw_destroy_pool(l.pool);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_quote_then_paren),
    };

    bw_time_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
