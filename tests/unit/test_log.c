/*
 * test_log.c - log lines (src/log.c): formatting, escaping, levels.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"

static char got[PG_LOG_LINE_MAX];
static int calls;

static void cb(enum pg_log_level level, const char *msg, void *ud)
{
    (void)level;
    (void)ud;
    snprintf(got, sizeof(got), "%s", msg);
    calls++;
}

static void test_escape(void **state)
{
    struct pg__logger lg = { cb, NULL, PG_LOG_INFO };

    (void)state;
    calls = 0;
    errno = 42;
    pg__log(&lg, PG_LOG_WARN, "line 3: invalid URL '%s'",
            "a\x1b[2Jb\ncpagegrab: forged\r\x7f");
    assert_int_equal(calls, 1);
    assert_int_equal(errno, 42);
    assert_string_equal(got, "line 3: invalid URL "
                        "'a\\x1b[2Jb\\x0acpagegrab: forged\\x0d\\x7f'");
    assert_null(strchr(got, '\n'));
}

static void test_levels(void **state)
{
    struct pg__logger lg = { cb, NULL, PG_LOG_WARN };
    struct pg__logger none = { NULL, NULL, PG_LOG_DEBUG };

    (void)state;
    calls = 0;
    pg__log(&lg, PG_LOG_DEBUG, "hidden %d", 1);
    pg__log(&lg, PG_LOG_INFO, "hidden %d", 2);
    assert_int_equal(calls, 0);
    pg__log(&lg, PG_LOG_ERROR, "shown %d", 3);
    assert_int_equal(calls, 1);
    assert_string_equal(got, "shown 3");
    pg__log(&none, PG_LOG_ERROR, "no callback");
    assert_int_equal(calls, 1);
}

static void test_escape_truncates(void **state)
{
    char buf[PG_LOG_LINE_MAX];

    (void)state;
    memset(buf, '\x01', sizeof(buf) - 1);
    buf[sizeof(buf) - 1] = '\0';
    pg__log_escape(buf, sizeof(buf));
    assert_true(strlen(buf) < sizeof(buf));
    assert_int_equal(strncmp(buf, "\\x01\\x01", 8), 0);
    assert_int_equal(strlen(buf) % 4, 0);   /* never half an escape */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_escape_truncates),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
