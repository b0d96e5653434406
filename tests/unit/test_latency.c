/*
 * test_latency.c - unit tests for the transfer-time histogram
 * (src/latency.c): percentiles against known samples, the resolution
 * promised in latency.h, and out-of-range inputs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "latency.h"
#include "unit.h"

/* |got - want| within 1% of want (the histogram's promise). */
static void assert_close(double got, double want)
{
    if (fabs(got - want) > want * 0.01)
        fail_msg("percentile %.6f, expected %.6f (within 1%%)", got, want);
}

static void test_empty(void **state)
{
    struct pg__latency h;

    (void)state;
    memset(&h, 0, sizeof(h));
    assert_true(pg__latency_percentile(&h, 50) == 0.0);
    assert_true(pg__latency_percentile(&h, 99) == 0.0);
}

static void test_one_to_thousand(void **state)
{
    static struct pg__latency h;
    int i;

    (void)state;
    memset(&h, 0, sizeof(h));
    /* 1..1000 ms in a scrambled order: the order must not matter. */
    for (i = 0; i < 1000; i++)
        pg__latency_add(&h, (double)((i * 379) % 1000 + 1));
    assert_int_equal(h.n, 1000);
    assert_close(pg__latency_percentile(&h, 50), 500);
    assert_close(pg__latency_percentile(&h, 95), 950);
    assert_close(pg__latency_percentile(&h, 99), 990);
    assert_close(pg__latency_percentile(&h, 100), 1000);
    assert_close(pg__latency_percentile(&h, 0.1), 1);
}

static void test_skewed(void **state)
{
    static struct pg__latency h;
    int i;

    (void)state;
    memset(&h, 0, sizeof(h));
    /* 98 fast transfers and 2 slow ones: p95 is fast, p99 slow. */
    for (i = 0; i < 98; i++)
        pg__latency_add(&h, 0.5);
    pg__latency_add(&h, 2000);
    pg__latency_add(&h, 2000);
    assert_close(pg__latency_percentile(&h, 50), 0.5);
    assert_close(pg__latency_percentile(&h, 95), 0.5);
    assert_close(pg__latency_percentile(&h, 98), 0.5);
    assert_close(pg__latency_percentile(&h, 99), 2000);
}

static void test_out_of_range(void **state)
{
    static struct pg__latency h;
    double top = PG_LAT_MIN_MS * pow(PG_LAT_RATIO, PG_LAT_BUCKETS);

    (void)state;
    memset(&h, 0, sizeof(h));
    pg__latency_add(&h, 0);
    pg__latency_add(&h, -5);
    pg__latency_add(&h, NAN);
    assert_int_equal(h.n, 3);
    /* Too fast: the first bucket. */
    assert_true(pg__latency_percentile(&h, 100) < PG_LAT_MIN_MS * 1.02);
    pg__latency_add(&h, 1e12);
    pg__latency_add(&h, INFINITY);
    assert_int_equal(h.n, 5);
    /* Too slow: the last bucket, which covers more than 3 hours at its start. */
    assert_true(top > 3 * 3600e3);
    assert_true(pg__latency_percentile(&h, 100) > top / 1.03);
    /* Odd percentiles are clamped, never out of the range. */
    assert_true(pg__latency_percentile(&h, 0) == 0.0);
    assert_true(pg__latency_percentile(&h, 250) > top / 1.03);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_one_to_thousand),
        cmocka_unit_test(test_skewed),
        cmocka_unit_test(test_out_of_range),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
