/* Unit tests: complex values (core/http/script.c), compiled from a
 * directive's text and evaluated against a request, with nginx's rules
 * for names, brackets, captures and errors. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "test_http_env.h"

static void
env_vars(test_env_t *e)
{
    test_env_init(e);
    test_env_var(e, "a", "A");
    test_env_var(e, "b", "bee");
    test_env_var(e, "a_1", "a-one");
    test_env_var(e, "empty", "");
    test_env_var(e, "missing", NULL);
    test_env_var(e, "sp", "x y&z");
}

/* text compiled in e, as a directive's argument */
static void
compile_ok(test_env_t *e, bw_http_complex_value_t *cv, const char *text)
{
    bw_str_t  v;

    v = test_str(text);
    assert_int_equal(bw_http_compile_complex_value(&e->cf, cv, &v), BW_OK);
}

static void
check_value(test_env_t *e, bw_http_complex_value_t *cv, const char *want)
{
    bw_str_t  got;

    assert_int_equal(bw_http_complex_value(&e->r, cv, &got), BW_OK);
    assert_str_equal_len(&got, want);
}

static void
test_constant(void **state)
{
    test_env_t               e;
    bw_str_t                 got;
    bw_http_complex_value_t  cv;

    env_vars(&e);
    compile_ok(&e, &cv, "plain text, 100% literal");
    assert_null(cv.parts);
    assert_int_equal(test_env_request(&e), BW_OK);

    /* a constant is the configuration's own string, not a copy */
    assert_int_equal(bw_http_complex_value(&e.r, &cv, &got), BW_OK);
    assert_ptr_equal(got.data, cv.value.data);
    assert_str_equal_len(&got, "plain text, 100% literal");

    compile_ok(&e, &cv, "");
    check_value(&e, &cv, "");

    test_env_free(&e);
}

static void
test_variables(void **state)
{
    test_env_t               e;
    bw_http_complex_value_t  cv[10];

    env_vars(&e);
    compile_ok(&e, &cv[0], "$a");
    compile_ok(&e, &cv[1], "<$a|$b>");
    compile_ok(&e, &cv[2], "$a$b$a");
    /* a name runs over letters, digits and "_"; brackets end it early */
    compile_ok(&e, &cv[3], "$a_1.$a-x");
    compile_ok(&e, &cv[4], "${a}_1");
    /* names are looked up without case, as nginx */
    compile_ok(&e, &cv[5], "$A/${B}");
    /* an empty value and one not found are both empty */
    compile_ok(&e, &cv[6], "[$empty][$missing]");
    /* "%" and "{" outside a name are literal */
    compile_ok(&e, &cv[7], "{%$b%}");
    assert_int_equal(test_env_request(&e), BW_OK);

    check_value(&e, &cv[0], "A");
    check_value(&e, &cv[1], "<A|bee>");
    check_value(&e, &cv[2], "AbeeA");
    check_value(&e, &cv[3], "a-one.A-x");
    check_value(&e, &cv[4], "A_1");
    check_value(&e, &cv[5], "A/bee");
    check_value(&e, &cv[6], "[][]");
    check_value(&e, &cv[7], "{%bee%}");

    /* the same variable twice gets one index */
    assert_int_equal(cv[2].nparts, 3);
    assert_int_equal(cv[2].parts[0].index, cv[2].parts[2].index);

    test_env_free(&e);
}

static void
test_captures(void **state)
{
    test_env_t               e;
    bw_str_t                 subject, got;
    bw_regex_compile_t       rc;
    bw_http_complex_value_t  cv[6];

    env_vars(&e);
    compile_ok(&e, &cv[0], "$1-$2-$3");
    /* one digit only: "$10" is $1 then "0", as nginx */
    compile_ok(&e, &cv[1], "$10");
    /* a group that did not take part, and one the regex does not have */
    compile_ok(&e, &cv[2], "[$2][$9]");
    compile_ok(&e, &cv[3], "/new/$3?v=$1&s=$sp");
    assert_int_equal(test_env_request(&e), BW_OK);

    /* before any match: empty */
    check_value(&e, &cv[0], "--");

    memset(&rc, 0, sizeof(rc));
    rc.pool = e.pool;
    rc.pattern = test_str("^/(\\w+)/(\\d+)?(.*)$");
    assert_int_equal(bw_regex_compile(&rc), BW_OK);

    subject = test_str("/img/a b.png");
    assert_int_equal(bw_http_regex_exec(&e.r, rc.regex, &subject), BW_OK);

    check_value(&e, &cv[0], "img--a b.png");
    check_value(&e, &cv[1], "img0");
    check_value(&e, &cv[2], "[][]");

    /* escaped as arguments when asked (rewrite's rule): the captures
     * only, never the literal text or the variables */
    assert_int_equal(bw_http_complex_value_escaped(&e.r, &cv[3], &got, 1),
                     BW_OK);
    assert_str_equal_len(&got, "/new/a%20b.png?v=img&s=x y&z");
    assert_int_equal(bw_http_complex_value_escaped(&e.r, &cv[3], &got, 0),
                     BW_OK);
    assert_str_equal_len(&got, "/new/a b.png?v=img&s=x y&z");

    subject = test_str("/x/42/");
    assert_int_equal(bw_http_regex_exec(&e.r, rc.regex, &subject), BW_OK);
    check_value(&e, &cv[0], "x-42-/");

    subject = test_str("no");
    assert_int_equal(bw_http_regex_exec(&e.r, rc.regex, &subject),
                     BW_DECLINED);

    test_env_free(&e);
}

static void
compile_fails(const char *text, const char *error)
{
    test_env_t               e;
    bw_str_t                 v;
    const char              *logged;
    bw_http_complex_value_t  cv;

    env_vars(&e);
    v = test_str(text);
    assert_int_equal(bw_http_compile_complex_value(&e.cf, &cv, &v),
                     BW_ERROR);
    logged = test_env_errors(&e);
    if (strstr(logged, error) == NULL) {
        fail_msg("\"%s\": logged \"%s\", not \"%s\"", text, logged, error);
    }
    test_env_free(&e);
}

static void
test_errors(void **state)
{
    test_env_t               e;
    bw_http_complex_value_t  cv;

    /* every "$" starts a name, as in nginx: a dollar before nothing
     * that can be one is refused with nginx's message */
    compile_fails("$", "[emerg]");
    compile_fails("$", "invalid variable name\n");
    compile_fails("5$", "invalid variable name\n");
    compile_fails("a$-b", "invalid variable name\n");
    compile_fails("$ a", "invalid variable name\n");
    compile_fails("${}", "invalid variable name\n");
    compile_fails("x${", "invalid variable name\n");
    compile_fails("${a", "the closing bracket in \"a\" variable is missing");
    compile_fails("${a b}",
                  "the closing bracket in \"a\" variable is missing");
    compile_fails("${a-b}",
                  "the closing bracket in \"a\" variable is missing");

    /* a name nobody defines is found out once the configuration is read */
    env_vars(&e);
    compile_ok(&e, &cv, "$a$Nope");
    assert_int_equal(test_env_request(&e), BW_ERROR);
    assert_non_null(strstr(test_env_errors(&e), "unknown \"nope\" variable"));
    test_env_free(&e);
}

static void
test_variables_count(void **state)
{
    bw_str_t  v;

    v = test_str("no variables");
    assert_int_equal(bw_http_script_variables_count(&v), 0);
    v = test_str("$a ${b} $1");
    assert_int_equal(bw_http_script_variables_count(&v), 3);
    /* a lone "$" counts: the compiler then refuses it, as nginx */
    v = test_str("5$");
    assert_int_equal(bw_http_script_variables_count(&v), 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constant),
        cmocka_unit_test(test_variables),
        cmocka_unit_test(test_captures),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_variables_count),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
