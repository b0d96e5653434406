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

static void tune_fds(unsigned cpus, int parses, unsigned long fds,
                     int threads, unsigned w, unsigned k, unsigned want_w,
                     unsigned want_k)
{
    unsigned win = 0;

    pg__tune(cpus, parses, fds, threads, &w, &k, &win);
    assert_int_equal(w, want_w);
    assert_int_equal(k, want_k);
}

static void tune(unsigned cpus, int parses, unsigned w, unsigned k,
                 unsigned want_w, unsigned want_k)
{
    unsigned win = 0;

    pg__tune(cpus, parses, 0, 1, &w, &k, &win);
    assert_int_equal(w, want_w);
    assert_int_equal(k, want_k);
}

/* Neither given: a worker per CPU (two when pages are parsed, at most
 * 32), about 256 transfers in all (128 when pages are parsed). */
static void test_both_unset(void **state)
{
    (void)state;
    tune(1, 0, 0, 0, 1, 256);
    tune(1, 1, 0, 0, 2, 64);
    tune(2, 0, 0, 0, 2, 128);
    tune(2, 1, 0, 0, 4, 32);
    tune(8, 0, 0, 0, 8, 32);
    tune(8, 1, 0, 0, 16, 8);
    tune(3, 0, 0, 0, 3, 85);
    tune(64, 0, 0, 0, 32, 8);
    tune(64, 1, 0, 0, 32, 4);
    tune(0, 0, 0, 0, 1, 256);       /* no CPU count: one */
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

/* A chosen K fits the descriptors: (fds - 64) / 3 transfers in one
 * process (all workers' in thread mode, one worker's in process mode);
 * a given -K is kept. */
static void test_fd_limit(void **state)
{
    (void)state;
    tune_fds(2, 0, 1024, 1, 0, 0, 2, 128);     /* 320 fit: untouched */
    tune_fds(2, 0, 256, 1, 0, 0, 2, 32);       /* 64 fit, over 2 */
    tune_fds(2, 0, 256, 0, 0, 0, 2, 64);       /* 64 in each process */
    tune_fds(2, 1, 256, 1, 0, 0, 4, 16);
    tune_fds(1, 0, 100, 1, 0, 0, 1, 12);
    tune_fds(4, 0, 40, 1, 0, 0, 4, 1);         /* never below 1 */
    tune_fds(2, 0, 256, 1, 0, 200, 2, 200);    /* -K given: kept */
    tune_fds(2, 0, 256, 1, 3, 0, 3, 1);        /* -j alone: 1 */
    tune_fds(2, 0, 0, 1, 0, 0, 2, 128);        /* no limit */
}

/* The window of a chosen K: 16 transfers per CPU in all, split over the
 * workers, at least 4 each; none (0) when that is not below K, or when K
 * was given; a window already set is kept. */
static unsigned window_of(unsigned cpus, int parses, unsigned long fds,
                          unsigned w, unsigned k, unsigned win)
{
    pg__tune(cpus, parses, fds, 1, &w, &k, &win);
    return win;
}

static void test_window(void **state)
{
    (void)state;
    assert_int_equal(window_of(1, 0, 0, 0, 0, 0), 16);     /* 1 x 256 */
    assert_int_equal(window_of(2, 0, 0, 0, 0, 0), 16);     /* 2 x 128 */
    assert_int_equal(window_of(2, 1, 0, 0, 0, 0), 8);      /* 4 x 32 */
    assert_int_equal(window_of(1, 1, 0, 0, 0, 0), 8);      /* 2 x 64 */
    assert_int_equal(window_of(8, 0, 0, 0, 0, 0), 16);     /* 8 x 32 */
    assert_int_equal(window_of(3, 0, 0, 0, 0, 0), 16);     /* 3 x 85 */
    assert_int_equal(window_of(8, 1, 0, 0, 0, 0), 0);      /* 16 x 8 */
    assert_int_equal(window_of(64, 0, 0, 0, 0, 0), 0);     /* 32 x 8 */
    assert_int_equal(window_of(2, 0, 100, 0, 0, 0), 0);    /* K cut to 6 */
    assert_int_equal(window_of(2, 0, 0, 0, 0, 40), 40);    /* set: kept */
    assert_int_equal(window_of(2, 0, 0, 0, 64, 0), 0);     /* -K given */
    assert_int_equal(window_of(2, 0, 0, 3, 0, 0), 0);      /* -j alone */
    assert_int_equal(window_of(2, 0, 0, 3, 64, 0), 0);     /* both */
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
    {
        unsigned w = 0, k = 0, win = 0;

        pg__tune(pg__cpu_count(), 0, pg__fd_limit(), 1, &w, &k, &win);
        assert_int_equal(o.workers, w);
        assert_int_equal(o.per_worker, k);
        assert_int_equal(o.window, win);
        assert_true(o.per_worker <= 256 / o.workers);
    }

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
    assert_int_equal(o.window, 0);          /* K given: no window */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_both_unset),
        cmocka_unit_test(test_one_given),
        cmocka_unit_test(test_fd_limit),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_options),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
