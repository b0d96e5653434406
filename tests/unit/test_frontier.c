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

#include "frontier_mem.h"
#include "mem.h"
#include "unit.h"

static struct pg__item *mk(const char *url, unsigned flags)
{
    struct pg__item *it = pg__item_new();

    assert_non_null(it);
    it->url = pg__strdup(url);
    it->res.url = pg__strdup(url);
    assert_non_null(it->url);
    it->flags = flags;
    return it;
}

/* The clock of the latest pop(): finish() ends a transfer then. */
static double t_now;

static struct pg__item *pop(struct pg__memfr *f, double now,
                            double *wake)
{
    enum pg_code err;
    struct pg__item *it;

    t_now = now;
    it = pg__memfr_pop(f, now, wake, &err);
    assert_int_equal(err, PG_OK);
    return it;
}

static void finish(struct pg__memfr *f, struct pg__item *it)
{
    pg__memfr_done(f, it, t_now);
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
    struct pg__memfr f;
    struct pg__item *a, *b, *c;
    double wake;
    int i;

    (void)state;
    pg__memfr_init(&f, 2, 0, 0);
    for (i = 0; i < 5; i++)
        assert_int_equal(pg__memfr_push(&f, mk("http://h/x", 0)), PG_OK);
    a = pop(&f, 0, &wake);
    b = pop(&f, 0, &wake);
    assert_non_null(a);
    assert_non_null(b);
    /* Two running: the host is held back until one is done. */
    assert_null(pop(&f, 0, &wake));
    assert_true(wake == 0);
    assert_int_equal(pg__memfr_queued(&f), 3);
    finish(&f, a);
    c = pop(&f, 0, &wake);
    assert_non_null(c);
    assert_null(pop(&f, 0, &wake));
    finish(&f, b);
    finish(&f, c);
    pg__memfr_release(&f);   /* frees the two still queued */
}

static void test_wait(void **state)
{
    struct pg__memfr f;
    struct pg__item *a;
    double wake;

    (void)state;
    pg__memfr_init(&f, 0, 100, 0);
    assert_int_equal(pg__memfr_push(&f, mk("http://h/1", 0)), PG_OK);
    assert_int_equal(pg__memfr_push(&f, mk("http://h/2", 0)), PG_OK);
    assert_int_equal(pg__memfr_push(&f, mk("http://g/3", 0)), PG_OK);
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
    pg__memfr_release(&f);
}

/* A spaced host (--wait, Crawl-delay) has one request at a time, and the
 * gap runs from its end: a request that ran long, or waited in a busy
 * worker's queue before it started, still leaves the whole gap. */
static void test_wait_from_end(void **state)
{
    struct pg__memfr f;
    struct pg__item *a;
    double wake;

    (void)state;
    pg__memfr_init(&f, 0, 100, 0);
    assert_int_equal(pg__memfr_push(&f, mk("http://h/1", 0)), PG_OK);
    assert_int_equal(pg__memfr_push(&f, mk("http://h/2", 0)), PG_OK);
    a = pop(&f, 10.0, &wake);
    assert_string_equal(a->url, "http://h/1");
    assert_null(pop(&f, 10.2, &wake));      /* h/1 still runs */
    pop(&f, 10.5, &wake);
    finish(&f, a);                          /* ends at 10.5 */
    assert_null(pop(&f, 10.55, &wake));
    assert_true(wake > 10.599 && wake < 10.601);
    a = pop(&f, 10.6, &wake);
    assert_non_null(a);
    assert_string_equal(a->url, "http://h/2");
    finish(&f, a);
    pg__memfr_release(&f);
}

static void test_random_wait_bounds(void **state)
{
    struct pg__memfr f;
    struct pg__item *a;
    double wake, lo = 1e9, hi = 0;
    int i;

    (void)state;
    pg__memfr_init(&f, 0, 1000, 1);
    for (i = 0; i < 200; i++) {
        assert_int_equal(pg__memfr_push(&f, mk("http://h/x", 0)), PG_OK);
        a = pop(&f, 1e6 * i, &wake);
        assert_non_null(a);
        finish(&f, a);
        assert_int_equal(pg__memfr_push(&f, mk("http://h/y", 0)), PG_OK);
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
    pg__memfr_release(&f);
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
    struct pg__memfr f;
    double wake;
    size_t i;

    (void)state;
    pg__memfr_init(&f, 0, 0, 0);
    for (i = 0; i < 6; i++)
        assert_int_equal(pg__memfr_push(&f, mk(urls[i], 0)), PG_OK);
    for (i = 0; i < 6; i++) {
        struct pg__item *it = pop(&f, 0, &wake);

        assert_non_null(it);
        assert_string_equal(it->url, want[i]);
        finish(&f, it);
    }
    assert_null(pop(&f, 0, &wake));
    pg__memfr_release(&f);
}

static void test_robots_gate(void **state)
{
    static const char robots[] = "User-agent: *\nDisallow: /private/\n";
    struct pg__memfr f;
    struct pg__item *r, *it, *in;
    double wake;

    (void)state;
    pg__memfr_init(&f, 0, 0, 0);
    assert_int_equal(pg__memfr_push(&f, mk("http://h:8/private/a.jpg",
                                              PG_ITEM_ROBOTS_CHECK)), PG_OK);
    assert_int_equal(pg__memfr_push(&f, mk("http://h:8/ok.jpg",
                                              PG_ITEM_ROBOTS_CHECK)), PG_OK);
    /* First a robots.txt fetch for the origin; the links wait for it. */
    r = pop(&f, 0, &wake);
    assert_non_null(r);
    assert_true(r->flags & PG_ITEM_ROBOTS);
    assert_string_equal(r->url, "http://h:8/robots.txt");
    assert_null(pop(&f, 0, &wake));
    /* An input URL (no robots check) on another origin is not held. */
    assert_int_equal(pg__memfr_push(&f, mk("http://g/in", 0)), PG_OK);
    in = pop(&f, 0, &wake);
    assert_non_null(in);
    assert_string_equal(in->url, "http://g/in");
    finish(&f, in);

    pg__memfr_set_robots(&f, r, pg__robots_parse(robots,
                                                    sizeof(robots) - 1,
                                                    "pagegrab"), t_now);
    finish(&f, r);
    it = pop(&f, 0, &wake);
    assert_non_null(it);
    assert_string_equal(it->url, "http://h:8/private/a.jpg");
    assert_int_equal(it->res.status, PG_ST_ROBOTS);
    assert_null(it->host);  /* never started */
    finish(&f, it);
    it = pop(&f, 0, &wake);
    assert_non_null(it);
    assert_string_equal(it->url, "http://h:8/ok.jpg");
    assert_int_equal(it->res.status, PG_ST_OK);
    finish(&f, it);
    /* robots.txt is fetched once per origin. */
    assert_int_equal(pg__memfr_push(&f, mk("http://h:8/more.jpg",
                                              PG_ITEM_ROBOTS_CHECK)), PG_OK);
    it = pop(&f, 0, &wake);
    assert_non_null(it);
    assert_string_equal(it->url, "http://h:8/more.jpg");
    finish(&f, it);
    pg__memfr_release(&f);
}

static void test_nofetch(void **state)
{
    static const char robots[] = "User-agent: *\nDisallow: /private/\n";
    struct pg__memfr f;
    struct pg__item *r, *busy, *it;
    double wake;

    (void)state;
    pg__memfr_init(&f, 1, 5000, 0);
    /* The host is busy and inside its wait... */
    assert_int_equal(pg__memfr_push(&f, mk("http://h/page", 0)), PG_OK);
    busy = pop(&f, 0, &wake);
    assert_non_null(busy);
    assert_int_equal(pg__memfr_push(&f, mk("http://h/private/a.jpg",
        PG_ITEM_NOFETCH | PG_ITEM_ROBOTS_CHECK)), PG_OK);
    assert_int_equal(pg__memfr_push(&f, mk("http://h/b.jpg",
        PG_ITEM_NOFETCH | PG_ITEM_ROBOTS_CHECK)), PG_OK);
    /* ...so the robots.txt fetch waits too, and listing waits for it:
     * while the page runs (one request at a time on a spaced host), then
     * for the wait from its end. */
    assert_null(pop(&f, 1, &wake));
    r = pop(&f, 6, &wake);
    assert_null(r);
    finish(&f, busy);                 /* ends at 6: next start at 11 */
    assert_null(pop(&f, 10.9, &wake));
    assert_true(wake > 10.999 && wake < 11.001);
    r = pop(&f, 11, &wake);
    assert_non_null(r);
    assert_true(r->flags & PG_ITEM_ROBOTS);
    pg__memfr_set_robots(&f, r, pg__robots_parse(robots,
                                                    sizeof(robots) - 1,
                                                    "pagegrab"), t_now);
    finish(&f, r);
    /* Listed items pass the waiting host, but not robots.txt. */
    assert_int_equal(pg__memfr_push(&f, mk("http://h/page2", 0)), PG_OK);
    it = pop(&f, 11, &wake);
    assert_non_null(it);
    assert_string_equal(it->url, "http://h/private/a.jpg");
    assert_int_equal(it->res.status, PG_ST_ROBOTS);
    finish(&f, it);
    it = pop(&f, 11, &wake);
    assert_non_null(it);
    assert_string_equal(it->url, "http://h/b.jpg");
    assert_int_equal(it->res.status, PG_ST_OK);
    assert_null(it->host);
    finish(&f, it);
    assert_null(pop(&f, 15.9, &wake));   /* page2 waits for the host */
    assert_non_null(it = pop(&f, 16, &wake));
    assert_string_equal(it->url, "http://h/page2");
    finish(&f, it);
    pg__memfr_release(&f);
}

static void test_seen(void **state)
{
    struct pg__memfr f;
    char url[64];
    int i;

    (void)state;
    pg__memfr_init(&f, 0, 0, 0);
    assert_int_equal(pg__memfr_see(&f, "http://h/a"), 1);
    assert_int_equal(pg__memfr_see(&f, "http://h/a"), 0);
    assert_int_equal(pg__memfr_see(&f, "http://h/b"), 1);
    for (i = 0; i < 20000; i++) {
        snprintf(url, sizeof(url), "http://h/%d", i);
        assert_int_equal(pg__memfr_see(&f, url), 1);
    }
    for (i = 0; i < 20000; i += 997) {
        snprintf(url, sizeof(url), "http://h/%d", i);
        assert_int_equal(pg__memfr_see(&f, url), 0);
    }
    pg__memfr_release(&f);
}

/* ---- spilling past the memory budget ------------------------------- */

/* Item n of origin o (of 3): every field derives from (o, n). */
static struct pg__item *mk_spill(unsigned o, unsigned n)
{
    char url[128], ref[64];
    struct pg__item *it;

    snprintf(url, sizeof(url), "http://h%u/item/%u.jpg?pad=%0*u", o, n,
             (int)(n % 40), 7u);
    it = mk(url, (n % 3 ? PG_ITEM_IMAGE : PG_ITEM_PARSE) |
                 (n % 2 ? PG_ITEM_PUBLIC_ONLY : 0));
    pg_free((void *)it->res.url);
    snprintf(ref, sizeof(ref), "in-%u-%u", o, n);
    it->res.url = pg__strdup(ref);
    if (n % 5) {
        snprintf(ref, sizeof(ref), "http://h%u/page/%u", o, n / 5);
        it->res.referrer = pg__strdup(ref);
    }
    it->id = (uint64_t)o << 32 | n;
    it->res.line = 1000000ULL * o + n;
    it->res.depth = n % 7;
    it->res.kind = n % 3 ? PG_KIND_IMAGE : PG_KIND_PAGE;
    return it;
}

/* Check a popped item against mk_spill(o, n); returns n. */
static unsigned check_spill(const struct pg__item *it)
{
    struct pg__item *want;
    unsigned o = (unsigned)(it->id >> 32), n = (unsigned)it->id;

    want = mk_spill(o, n);
    assert_string_equal(it->url, want->url);
    assert_string_equal(it->res.url, want->res.url);
    if (want->res.referrer)
        assert_string_equal(it->res.referrer, want->res.referrer);
    else
        assert_null(it->res.referrer);
    assert_int_equal(it->res.line, want->res.line);
    assert_int_equal(it->res.depth, want->res.depth);
    assert_int_equal(it->res.kind, want->res.kind);
    assert_int_equal(it->flags, want->flags);
    pg__item_free(want);
    return n;
}

#define SP_ORIGINS 3
#define SP_PER 3000

/*
 * Push SP_PER items for each origin in a mixed order, popping now and
 * then; record the popped ids in order.  budget 0 = no spill.
 */
static void run_spill(int dirfd, uint64_t budget, uint64_t *order,
                      uint64_t *spilled)
{
    struct pg__memfr f;
    unsigned next[SP_ORIGINS] = { 0 }, got[SP_ORIGINS] = { 0 };
    size_t n_out = 0, i;
    double wake;

    pg__memfr_init(&f, 2, 0, 0);
    pg__memfr_set_spill(&f, dirfd, budget);
    for (i = 0; i < (size_t)SP_ORIGINS * SP_PER; i++) {
        unsigned o = (unsigned)((i * 7 / 5) % SP_ORIGINS);
        struct pg__item *it;

        if (next[o] == SP_PER)
            o = next[0] < SP_PER ? 0 : next[1] < SP_PER ? 1 : 2;
        assert_int_equal(pg__memfr_push(&f, mk_spill(o, next[o]++)),
                         PG_OK);
        if (i % 3 == 0) {
            it = pop(&f, 0, &wake);
            if (it) {
                unsigned oo = (unsigned)(it->id >> 32);

                /* Per-origin FIFO: each origin's items in push order. */
                assert_int_equal(check_spill(it), got[oo]++);
                order[n_out++] = it->id;
                finish(&f, it);
            }
        }
    }
    for (;;) {
        struct pg__item *it = pop(&f, 0, &wake);
        unsigned oo;

        if (!it)
            break;
        oo = (unsigned)(it->id >> 32);
        assert_int_equal(check_spill(it), got[oo]++);
        order[n_out++] = it->id;
        finish(&f, it);
    }
    /* Every item came back exactly once. */
    assert_int_equal(n_out, (size_t)SP_ORIGINS * SP_PER);
    for (i = 0; i < SP_ORIGINS; i++)
        assert_int_equal(got[i], SP_PER);
    assert_int_equal(pg__memfr_queued(&f), 0);
    assert_int_equal(f.mem, 0);
    *spilled = f.spill.items;
    pg__memfr_release(&f);
}

static int count_tmp(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        n += !strncmp(de->d_name, ".pagegrab-", 10);
    closedir(d);
    return n;
}

static void test_spill_order(void **state)
{
    size_t n = (size_t)SP_ORIGINS * SP_PER;
    uint64_t *a = calloc(n, sizeof(*a)), *b = calloc(n, sizeof(*b));
    uint64_t spilled_a, spilled_b;
    char *dir = ut_tmpdir();
    int dfd;

    (void)state;
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(dir);
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(dfd >= 0);
    run_spill(dfd, 0, a, &spilled_a);
    run_spill(dfd, 16 * 1024, b, &spilled_b);
    assert_int_equal(spilled_a, 0);
    assert_true(spilled_b >= n / 2);
    /* The scheduler's order is the same with and without spilling. */
    assert_memory_equal(a, b, n * sizeof(*a));
    /* The spill file was unlinked at once. */
    assert_int_equal(count_tmp(dir), 0);
    close(dfd);
    ut_rm_tree(dir);
    free(dir);
    free(a);
    free(b);
}

static void test_spill_defer_and_clear(void **state)
{
    struct pg__memfr f;
    struct pg__item *it, *retry;
    char *dir = ut_tmpdir();
    double wake;
    unsigned i;
    int dfd;

    (void)state;
    assert_non_null(dir);
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(dfd >= 0);
    pg__memfr_init(&f, 0, 0, 0);
    pg__memfr_set_spill(&f, dfd, 4096);
    for (i = 0; i < 100; i++)
        assert_int_equal(pg__memfr_push(&f, mk_spill(0, i)), PG_OK);
    assert_true(f.spill.on_disk > 50);
    retry = pop(&f, 0, &wake);
    assert_int_equal(check_spill(retry), 0);
    pg__memfr_done(&f, retry, t_now);
    retry->res.attempts = 1;
    retry->not_before = 5.0;
    assert_int_equal(pg__memfr_defer(&f, retry), PG_OK);
    /* Before it is due, the queue goes on in order. */
    it = pop(&f, 1.0, &wake);
    assert_int_equal(check_spill(it), 1);
    finish(&f, it);
    for (i = 100; i < 200; i++)
        assert_int_equal(pg__memfr_push(&f, mk_spill(0, i)), PG_OK);
    /* Once due, the retry comes first, tried state intact. */
    it = pop(&f, 5.0, &wake);
    assert_ptr_equal(it, retry);
    assert_int_equal(it->res.attempts, 1);
    finish(&f, it);
    for (i = 2; i < 50; i++) {
        it = pop(&f, 6.0, &wake);
        assert_int_equal(check_spill(it), i);
        finish(&f, it);
    }
    /* A stopping job: what is on disk counts as never started. */
    assert_int_equal(pg__memfr_queued(&f), 150);
    assert_int_equal(pg__memfr_clear(&f, NULL, NULL), 150);
    assert_int_equal(pg__memfr_queued(&f), 0);
    assert_null(pop(&f, 7.0, &wake));
    pg__memfr_release(&f);
    close(dfd);
    ut_rm_tree(dir);
    free(dir);
}

static void test_spill_errors(void **state)
{
    struct pg__memfr f;
    struct pg__item *it;
    char *dir = ut_tmpdir(), *file;
    enum pg_code err;
    double wake;
    unsigned i;
    int dfd, ffd, rdonly, e;

    (void)state;
    assert_non_null(dir);
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(dfd >= 0);
    file = ut_path(dir, "plain");
    assert_int_equal(ut_write_file(file, "x", 1), 0);
    ffd = open(file, O_RDONLY | O_CLOEXEC);
    assert_true(ffd >= 0);

    /* The file cannot be created: the push fails, nothing is lost. */
    pg__memfr_init(&f, 0, 0, 0);
    pg__memfr_set_spill(&f, ffd, 2048);
    for (i = 0; i < 100; i++) {
        it = mk_spill(0, i);
        if (pg__memfr_push(&f, it) != PG_OK)
            break;
    }
    assert_true(i > 0 && i < 100);
    assert_string_equal(pg__memfr_spill_error(&f, &e), "create");
    assert_int_equal(e, ENOTDIR);
    pg__item_free(it);
    assert_int_equal(pg__memfr_queued(&f), i);
    pg__memfr_set_spill(&f, -1, 0);
    for (e = 0; e < (int)i; e++) {
        it = pop(&f, 0, &wake);
        assert_int_equal(check_spill(it), (unsigned)e);
        finish(&f, it);
    }
    pg__memfr_release(&f);

    /* Writing fails (a read-only fd): an error, the item not taken. */
    rdonly = open(file, O_RDONLY | O_CLOEXEC);
    assert_true(rdonly >= 0);
    pg__memfr_init(&f, 0, 0, 0);
    pg__memfr_set_spill(&f, dfd, 2048);
    for (i = 0; i < 20; i++)
        assert_int_equal(pg__memfr_push(&f, mk_spill(0, i)), PG_OK);
    assert_true(f.spill.fd >= 0);
    assert_true(dup2(rdonly, f.spill.fd) >= 0);
    for (; i < 100; i++) {
        it = mk_spill(0, i);
        if (pg__memfr_push(&f, it) != PG_OK)
            break;
    }
    assert_true(i < 100);
    pg__item_free(it);
    assert_string_equal(pg__memfr_spill_error(&f, &e), "write");
    assert_int_equal(e, EBADF);
    assert_int_equal(pg__memfr_queued(&f), i);

    /* Reading fails (the file is gone): pop reports it. */
    assert_true(dup2(rdonly, f.spill.fd) >= 0);
    close(f.spill.fd);
    for (;;) {
        it = pg__memfr_pop(&f, 0, &wake, &err);
        if (!it)
            break;
        finish(&f, it);
    }
    assert_int_equal(err, PG_E_IO);
    assert_string_equal(pg__memfr_spill_error(&f, &e), "read");
    assert_int_equal(e, EBADF);
    f.spill.fd = -1;
    pg__memfr_release(&f);
    close(rdonly);
    close(ffd);
    close(dfd);
    ut_rm_tree(dir);
    free(file);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_origin_len),
        cmocka_unit_test(test_per_host_limit),
        cmocka_unit_test(test_wait),
        cmocka_unit_test(test_wait_from_end),
        cmocka_unit_test(test_random_wait_bounds),
        cmocka_unit_test(test_round_robin),
        cmocka_unit_test(test_robots_gate),
        cmocka_unit_test(test_nofetch),
        cmocka_unit_test(test_seen),
        cmocka_unit_test(test_spill_order),
        cmocka_unit_test(test_spill_defer_and_clear),
        cmocka_unit_test(test_spill_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
