/*
 * test_frontier.c - the parent's scheduler (src/frontier.c): per-host
 * limits, waits, round robin, robots.txt gating, the seen set.  Time is
 * passed in, so nothing here depends on the machine's speed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "frontier.h"
#include "mem.h"

static struct pg__item *mk(const char *url, unsigned flags)
{
    struct pg__item *it = pg__item_new();

    assert_non_null(it);
    it->url = pg_strdup(url);
    it->input_url = pg_strdup(url);
    assert_non_null(it->url);
    it->flags = flags;
    return it;
}

static struct pg__item *pop(struct pg__frontier *f, double now,
                            double *wake)
{
    enum pg_code err;
    struct pg__item *it = pg__frontier_pop(f, now, wake, &err);

    assert_int_equal(err, PG_OK);
    return it;
}

static void finish(struct pg__frontier *f, struct pg__item *it)
{
    pg__frontier_done(f, it);
    pg__item_free(it);
}

static void test_origin_len(void **state)
{
    (void)state;
    assert_int_equal(pg__url_origin_len("http://h:81/a?b"), 11);
    assert_int_equal(pg__url_origin_len("https://h/"), 9);
    assert_int_equal(pg__url_origin_len("https://h?x"), 9);
    assert_int_equal(pg__url_origin_len("nope"), 0);
}

static void test_per_host_limit(void **state)
{
    struct pg__frontier f;
    struct pg__item *a, *b, *c;
    double wake;
    int i;

    (void)state;
    pg__frontier_init(&f, 2, 0, 0);
    for (i = 0; i < 5; i++)
        assert_int_equal(pg__frontier_push(&f, mk("http://h/x", 0)), PG_OK);
    a = pop(&f, 0, &wake);
    b = pop(&f, 0, &wake);
    assert_non_null(a);
    assert_non_null(b);
    /* Two running: the host is held back until one is done. */
    assert_null(pop(&f, 0, &wake));
    assert_true(wake == 0);
    assert_int_equal(pg__frontier_queued(&f), 3);
    finish(&f, a);
    c = pop(&f, 0, &wake);
    assert_non_null(c);
    assert_null(pop(&f, 0, &wake));
    finish(&f, b);
    finish(&f, c);
    pg__frontier_release(&f);   /* frees the two still queued */
}

static void test_wait(void **state)
{
    struct pg__frontier f;
    struct pg__item *a;
    double wake;

    (void)state;
    pg__frontier_init(&f, 0, 100, 0);
    assert_int_equal(pg__frontier_push(&f, mk("http://h/1", 0)), PG_OK);
    assert_int_equal(pg__frontier_push(&f, mk("http://h/2", 0)), PG_OK);
    assert_int_equal(pg__frontier_push(&f, mk("http://g/3", 0)), PG_OK);
    a = pop(&f, 10.0, &wake);
    assert_string_equal(a->url, "http://h/1");
    finish(&f, a);
    /* Another host is not held back by h's wait. */
    a = pop(&f, 10.0, &wake);
    assert_string_equal(a->url, "http://g/3");
    finish(&f, a);
    assert_null(pop(&f, 10.05, &wake));
    assert_true(wake > 10.099 && wake < 10.101);
    a = pop(&f, 10.1, &wake);
    assert_non_null(a);
    assert_string_equal(a->url, "http://h/2");
    finish(&f, a);
    pg__frontier_release(&f);
}

static void test_random_wait_bounds(void **state)
{
    struct pg__frontier f;
    struct pg__item *a;
    double wake, lo = 1e9, hi = 0;
    int i;

    (void)state;
    pg__frontier_init(&f, 0, 1000, 1);
    for (i = 0; i < 200; i++) {
        assert_int_equal(pg__frontier_push(&f, mk("http://h/x", 0)), PG_OK);
        a = pop(&f, 1e6 * i, &wake);
        assert_non_null(a);
        finish(&f, a);
        assert_int_equal(pg__frontier_push(&f, mk("http://h/y", 0)), PG_OK);
        assert_null(pop(&f, 1e6 * i, &wake));
        wake -= 1e6 * i;
        lo = wake < lo ? wake : lo;
        hi = wake > hi ? wake : hi;
        a = pop(&f, 1e6 * i + 2, &wake);
        assert_non_null(a);
        finish(&f, a);
    }
    /* Waits vary within 0.5x..1.5x of one second, and do vary. */
    assert_true(lo >= 0.5 && hi < 1.5);
    assert_true(hi - lo > 0.3);
    pg__frontier_release(&f);
}

static void test_round_robin(void **state)
{
    static const char *const want[] = {
        "http://a/1", "http://b/1", "http://c/1", "http://a/2", "http://b/2",
        "http://a/3",
    };
    static const char *const urls[] = {
        "http://a/1", "http://a/2", "http://a/3", "http://b/1", "http://b/2",
        "http://c/1",
    };
    struct pg__frontier f;
    double wake;
    size_t i;

    (void)state;
    pg__frontier_init(&f, 0, 0, 0);
    for (i = 0; i < 6; i++)
        assert_int_equal(pg__frontier_push(&f, mk(urls[i], 0)), PG_OK);
    for (i = 0; i < 6; i++) {
        struct pg__item *it = pop(&f, 0, &wake);

        assert_non_null(it);
        assert_string_equal(it->url, want[i]);
        finish(&f, it);
    }
    assert_null(pop(&f, 0, &wake));
    pg__frontier_release(&f);
}

static void test_robots_gate(void **state)
{
    static const char robots[] = "User-agent: *\nDisallow: /private/\n";
    struct pg__frontier f;
    struct pg__item *r, *it, *in;
    double wake;

    (void)state;
    pg__frontier_init(&f, 0, 0, 0);
    assert_int_equal(pg__frontier_push(&f, mk("http://h:8/private/a.jpg",
                                              PG_ITEM_ROBOTS_CHECK)), PG_OK);
    assert_int_equal(pg__frontier_push(&f, mk("http://h:8/ok.jpg",
                                              PG_ITEM_ROBOTS_CHECK)), PG_OK);
    /* First a robots.txt fetch for the origin; the links wait for it. */
    r = pop(&f, 0, &wake);
    assert_non_null(r);
    assert_true(r->flags & PG_ITEM_ROBOTS);
    assert_string_equal(r->url, "http://h:8/robots.txt");
    assert_null(pop(&f, 0, &wake));
    /* An input URL (no robots check) on another origin is not held. */
    assert_int_equal(pg__frontier_push(&f, mk("http://g/in", 0)), PG_OK);
    in = pop(&f, 0, &wake);
    assert_non_null(in);
    assert_string_equal(in->url, "http://g/in");
    finish(&f, in);

    pg__frontier_set_robots(&f, r, pg__robots_parse(robots,
                                                    sizeof(robots) - 1,
                                                    "pagegrab"));
    finish(&f, r);
    it = pop(&f, 0, &wake);
    assert_non_null(it);
    assert_string_equal(it->url, "http://h:8/private/a.jpg");
    assert_int_equal(it->status, PG_ST_ROBOTS);
    assert_null(it->host);  /* never started */
    finish(&f, it);
    it = pop(&f, 0, &wake);
    assert_non_null(it);
    assert_string_equal(it->url, "http://h:8/ok.jpg");
    assert_int_equal(it->status, PG_ST_OK);
    finish(&f, it);
    /* robots.txt is fetched once per origin. */
    assert_int_equal(pg__frontier_push(&f, mk("http://h:8/more.jpg",
                                              PG_ITEM_ROBOTS_CHECK)), PG_OK);
    it = pop(&f, 0, &wake);
    assert_non_null(it);
    assert_string_equal(it->url, "http://h:8/more.jpg");
    finish(&f, it);
    pg__frontier_release(&f);
}

static void test_nofetch(void **state)
{
    static const char robots[] = "User-agent: *\nDisallow: /private/\n";
    struct pg__frontier f;
    struct pg__item *r, *busy, *it;
    double wake;

    (void)state;
    pg__frontier_init(&f, 1, 5000, 0);
    /* The host is busy and inside its wait... */
    assert_int_equal(pg__frontier_push(&f, mk("http://h/page", 0)), PG_OK);
    busy = pop(&f, 0, &wake);
    assert_non_null(busy);
    assert_int_equal(pg__frontier_push(&f, mk("http://h/private/a.jpg",
        PG_ITEM_NOFETCH | PG_ITEM_ROBOTS_CHECK)), PG_OK);
    assert_int_equal(pg__frontier_push(&f, mk("http://h/b.jpg",
        PG_ITEM_NOFETCH | PG_ITEM_ROBOTS_CHECK)), PG_OK);
    /* ...so the robots.txt fetch waits too, and listing waits for it. */
    assert_null(pop(&f, 1, &wake));
    r = pop(&f, 6, &wake);
    assert_null(r);
    finish(&f, busy);
    r = pop(&f, 6, &wake);
    assert_non_null(r);
    assert_true(r->flags & PG_ITEM_ROBOTS);
    pg__frontier_set_robots(&f, r, pg__robots_parse(robots,
                                                    sizeof(robots) - 1,
                                                    "pagegrab"));
    finish(&f, r);
    /* Listed items pass the busy, waiting host, but not robots.txt. */
    assert_int_equal(pg__frontier_push(&f, mk("http://h/page2", 0)), PG_OK);
    it = pop(&f, 6, &wake);
    assert_non_null(it);
    assert_string_equal(it->url, "http://h/private/a.jpg");
    assert_int_equal(it->status, PG_ST_ROBOTS);
    finish(&f, it);
    it = pop(&f, 6, &wake);
    assert_non_null(it);
    assert_string_equal(it->url, "http://h/b.jpg");
    assert_int_equal(it->status, PG_ST_OK);
    assert_null(it->host);
    finish(&f, it);
    assert_null(pop(&f, 6, &wake));   /* page2 waits for the host */
    pg__frontier_release(&f);
}

static void test_seen(void **state)
{
    struct pg__frontier f;
    char url[64];
    int i;

    (void)state;
    pg__frontier_init(&f, 0, 0, 0);
    assert_int_equal(pg__frontier_see(&f, "http://h/a"), 1);
    assert_int_equal(pg__frontier_see(&f, "http://h/a"), 0);
    assert_int_equal(pg__frontier_see(&f, "http://h/b"), 1);
    for (i = 0; i < 20000; i++) {
        snprintf(url, sizeof(url), "http://h/%d", i);
        assert_int_equal(pg__frontier_see(&f, url), 1);
    }
    for (i = 0; i < 20000; i += 997) {
        snprintf(url, sizeof(url), "http://h/%d", i);
        assert_int_equal(pg__frontier_see(&f, url), 0);
    }
    pg__frontier_release(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_origin_len),
        cmocka_unit_test(test_per_host_limit),
        cmocka_unit_test(test_wait),
        cmocka_unit_test(test_random_wait_bounds),
        cmocka_unit_test(test_round_robin),
        cmocka_unit_test(test_robots_gate),
        cmocka_unit_test(test_nofetch),
        cmocka_unit_test(test_seen),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
