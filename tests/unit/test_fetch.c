/*
 * test_fetch.c - the address classification behind --allow-private
 * (pg__ip_is_private in src/fetch_opts.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "fetch.h"

struct ip_case {
    const char *ip;
    int want;
};

/* Every address classified as want; each miss is printed. */
static void check_private(const struct ip_case *cases, size_t n)
{
    size_t i;
    int bad = 0;

    for (i = 0; i < n; i++) {
        int got = pg__ip_is_private(cases[i].ip);

        if (got != cases[i].want) {
            fprintf(stderr, "'%s': got %d, want %d\n", cases[i].ip, got,
                    cases[i].want);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

static void test_ip_is_private(void **state)
{
    static const struct ip_case cases[] = {
        { "127.0.0.1", 1 },       { "127.255.255.254", 1 },
        { "10.0.0.1", 1 },        { "10.255.255.255", 1 },
        { "172.16.0.1", 1 },      { "172.31.255.255", 1 },
        { "172.15.255.255", 0 },  { "172.32.0.0", 0 },
        { "192.168.1.1", 1 },     { "192.169.0.1", 0 },
        { "169.254.169.254", 1 }, { "169.255.0.1", 0 },
        { "100.64.0.1", 1 },      { "100.127.255.255", 1 },
        { "100.128.0.1", 0 },     { "100.63.255.255", 0 },
        { "0.0.0.0", 1 },         { "0.1.2.3", 1 },
        { "8.8.8.8", 0 },         { "203.0.113.10", 0 },
        { "::1", 1 },             { "::", 1 },
        { "fe80::1", 1 },         { "febf::1", 1 },
        { "fec0::1", 1 },         { "fc00::1", 1 },
        { "fdff::1", 1 },         { "2001:db8::1", 0 },
        { "::ffff:127.0.0.1", 1 }, { "::ffff:10.1.2.3", 1 },
        { "::ffff:8.8.8.8", 0 },  { "not an ip", 1 },
        { "", 1 },
    };

    (void)state;
    check_private(cases, sizeof(cases) / sizeof(cases[0]));
}

/* Ranges that embed an IPv4 address, and the old site-local range. */
static void test_ip_is_private_embedded(void **state)
{
    static const struct ip_case cases[] = {
        { "64:ff9b::127.0.0.1", 1 },  { "64:ff9b::a00:1", 1 },
        { "64:ff9b::c0a8:101", 1 },   { "64:ff9b::808:808", 0 },
        { "64:ff9b::1:808:808", 0 },  { "fec0::1", 1 },
        { "feff:ffff::1", 1 },        { "fe7f::1", 0 },
        { "::127.0.0.1", 1 },         { "::10.0.0.1", 1 },
        { "::8.8.8.8", 0 },           { "::2", 1 },
        { "2002:7f00:1::1", 1 },      { "2002:a9fe:a9fe::1", 1 },
        { "2002:c0a8:101::", 1 },     { "2002:808:808::1", 0 },
        { "2003::1", 0 },
    };

    (void)state;
    check_private(cases, sizeof(cases) / sizeof(cases[0]));
}

/*
 * A public URL redirected to a private address: refused unless the
 * transfer began on a private address (a private start page) or the
 * item has neither PG_ITEM_GUARD nor PG_ITEM_PUBLIC_ONLY
 * (--allow-private).  Every address here is loopback in the integration
 * tests, so the decision is tested here.
 */
static void test_addr_allowed(void **state)
{
    int first;

    (void)state;
    /* Guarded: public first, then a private one is refused. */
    first = PG_ADDR_NONE;
    assert_int_equal(pg__addr_allowed(PG_ITEM_GUARD, &first, "8.8.8.8"), 1);
    assert_int_equal(first, PG_ADDR_PUBLIC);
    assert_int_equal(pg__addr_allowed(PG_ITEM_GUARD, &first, "10.0.0.1"), 0);
    assert_int_equal(pg__addr_allowed(PG_ITEM_GUARD, &first,
                                      "64:ff9b::7f00:1"), 0);
    assert_int_equal(pg__addr_allowed(PG_ITEM_GUARD, &first, NULL), 0);
    assert_int_equal(pg__addr_allowed(PG_ITEM_GUARD, &first, "1.1.1.1"), 1);
    assert_int_equal(first, PG_ADDR_PUBLIC);
    /* Guarded: private first (a start page on localhost), all allowed. */
    first = PG_ADDR_NONE;
    assert_int_equal(pg__addr_allowed(PG_ITEM_GUARD, &first, "127.0.0.1"),
                     1);
    assert_int_equal(first, PG_ADDR_PRIVATE);
    assert_int_equal(pg__addr_allowed(PG_ITEM_GUARD, &first, "8.8.8.8"), 1);
    assert_int_equal(pg__addr_allowed(PG_ITEM_GUARD, &first, "::1"), 1);
    /* Public only: never private, whatever came first. */
    first = PG_ADDR_NONE;
    assert_int_equal(pg__addr_allowed(PG_ITEM_PUBLIC_ONLY, &first,
                                      "192.168.0.1"), 0);
    assert_int_equal(first, PG_ADDR_PRIVATE);
    assert_int_equal(pg__addr_allowed(PG_ITEM_PUBLIC_ONLY, &first,
                                      "2002:808:808::1"), 1);
    /* --allow-private: anything. */
    first = PG_ADDR_NONE;
    assert_int_equal(pg__addr_allowed(0, &first, "8.8.8.8"), 1);
    assert_int_equal(pg__addr_allowed(0, &first, "10.0.0.1"), 1);
}

/* The window doubles (at most to K) after a quiet wait of 2 ms with
 * the window full, and only then; once the server's latency is known,
 * only while it is below what that latency needs. */
static void test_window_next(void **state)
{
    (void)state;
    assert_int_equal(pg__window_next(16, 128, 0.0021, 0, 0), 32);
    assert_int_equal(pg__window_next(32, 128, 0.05, 0, 0), 64);
    assert_int_equal(pg__window_next(64, 128, 0.002, 0, 0), 128);
    assert_int_equal(pg__window_next(100, 128, 0.003, 0, 0), 128);
    assert_int_equal(pg__window_next(128, 128, 1.0, 0, 0), 128);    /* K */
    assert_int_equal(pg__window_next(16, 128, 0.0019, 0, 0), 16);  /* short */
    assert_int_equal(pg__window_next(16, 128, 0.05, 1, 0), 16);    /* data */
    assert_int_equal(pg__window_next(1, 2, 0.01, 0, 0), 2);
    assert_int_equal(pg__window_next(16, 128, 0.003, 0, 200), 32);
    assert_int_equal(pg__window_next(16, 128, 0.003, 0, 16.5), 32);
    assert_int_equal(pg__window_next(16, 128, 0.003, 0, 16), 16);  /* enough */
    assert_int_equal(pg__window_next(16, 128, 0.003, 0, 3), 16);
}

/* Little's law: twice the server's latency over the worker's time per
 * transfer; unknown (0) without either. */
static void test_window_need(void **state)
{
    (void)state;
    assert_true(pg__window_need(0.050, 0.0001) > 999.9 &&
                pg__window_need(0.050, 0.0001) < 1000.1);
    assert_true(pg__window_need(0.0003, 0.00005) > 11.9 &&
                pg__window_need(0.0003, 0.00005) < 12.1);
    assert_true(pg__window_need(0, 0.0001) == 0);
    assert_true(pg__window_need(0.01, 0) == 0);
}

/* It also doubles after 50 ms or more with the window full, 9/10 of
 * them blocked (bytes trickling in), and only then. */
static void test_window_idle_next(void **state)
{
    (void)state;
    assert_int_equal(pg__window_idle_next(16, 128, 0.050, 0.046), 32);
    assert_int_equal(pg__window_idle_next(16, 128, 0.100, 0.095), 32);
    assert_int_equal(pg__window_idle_next(100, 128, 0.05, 0.05), 128);
    assert_int_equal(pg__window_idle_next(128, 128, 1.0, 1.0), 128);
    assert_int_equal(pg__window_idle_next(16, 128, 0.049, 0.049), 16);
    assert_int_equal(pg__window_idle_next(16, 128, 0.050, 0.040), 16);
    assert_int_equal(pg__window_idle_next(16, 128, 1.0, 0.75), 16);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ip_is_private),
        cmocka_unit_test(test_ip_is_private_embedded),
        cmocka_unit_test(test_addr_allowed),
        cmocka_unit_test(test_window_next),
        cmocka_unit_test(test_window_need),
        cmocka_unit_test(test_window_idle_next),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
