/*
 * test_tune.c - the default workers and transfers per worker
 * (src/tune.c): the rule on its own inputs, and pg_options_tune() on a
 * struct pg_options.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include "pagegrab.h"
#include "tune.h"

static void tune(unsigned cpus, int parses, unsigned w, unsigned k,
                 unsigned want_w, unsigned want_k)
{
    pg__tune(cpus, parses, &w, &k);
    assert_int_equal(w, want_w);
    assert_int_equal(k, want_k);
}

/* Neither given: a worker per CPU (two when pages are parsed, at most
 * 32), about 128 transfers in all. */
static void test_both_unset(void **state)
{
    (void)state;
    tune(1, 0, 0, 0, 1, 128);
    tune(2, 0, 0, 0, 2, 64);
    tune(2, 1, 0, 0, 4, 32);
    tune(8, 0, 0, 0, 8, 16);
    tune(8, 1, 0, 0, 16, 8);
    tune(3, 0, 0, 0, 3, 42);
    tune(64, 0, 0, 0, 32, 4);
    tune(64, 1, 0, 0, 32, 4);
    tune(0, 0, 0, 0, 1, 128);       /* no CPU count: one */
}

/* -j alone keeps its meaning: that many blocking workers.  -K alone
 * gets the CPU-based workers.  Both given: kept. */
static void test_one_given(void **state)
{
    (void)state;
    tune(2, 0, 3, 0, 3, 1);
    tune(2, 1, 64, 0, 64, 1);
    tune(2, 0, 0, 4, 2, 4);
    tune(2, 1, 0, 1, 4, 1);
    tune(2, 0, 5, 7, 5, 7);
}

static void test_options(void **state)
{
    struct pg_options o;
    static const char *const xp[] = { "//img/@src" };

    (void)state;
    pg_options_init(&o);
    assert_int_equal(o.workers, 0);
    assert_int_equal(o.per_worker, 0);
    pg_options_tune(&o);
    assert_true(o.workers >= 1 && o.workers <= 32);
    assert_int_equal(o.per_worker, 128 / o.workers);

    pg_options_init(&o);
    o.xpaths = xp;
    o.n_xpaths = 1;
    pg_options_tune(&o);
    assert_int_equal(o.workers % 2, 0);     /* two per CPU */
    assert_true(o.workers * o.per_worker <= 128);

    pg_options_init(&o);
    o.workers = 6;
    o.per_worker = 9;
    pg_options_tune(&o);
    assert_int_equal(o.workers, 6);
    assert_int_equal(o.per_worker, 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_both_unset),
        cmocka_unit_test(test_one_given),
        cmocka_unit_test(test_options),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
