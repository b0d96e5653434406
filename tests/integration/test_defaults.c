/*
 * test_defaults.c - the workers and transfers pagegrab picks when -j and
 * -K are not given (issue 14: fast by default), in both modes.
 *
 * counts: the test pins itself (and so pagegrab, which inherits the
 * mask) to one CPU, then runs a batch of DELAYED_N slow URLs:
 *  - with no -j/-K: 1 worker x 256 transfers (the summary line says so),
 *    and the server sees every URL in flight at once;
 *  - with --images (pages are parsed): 2 workers x 64 transfers;
 *  - -j 3 alone: 3 blocking workers, at most 3 requests at once;
 *  - -K 4 alone: 1 worker x 4 transfers, at most 4 at once;
 *  - -j auto -K auto: the same as nothing given.
 * window: the defaults' worker starts with 16 transfers and doubles that
 * each time nothing arrives for 2 ms (fetch.c), so against a slow
 * server it reaches its 256 (every request in flight, the debug log
 * saying 32, 64, 128, 256, the summary "window 256"); with -K 256 given
 * all go at once, no window.
 * PG_TEST_PER_WORKER (make test's second pass) is put aside for these
 * runs: they are about what happens without -K.
 */
#define _GNU_SOURCE /* sched_setaffinity */
#include "fault.h"
#include "testlib.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>

#define END ((const char *)NULL)
#define DELAYED_N 20

struct seen {
    int code;
    char *summary;          /* the last stderr line (owned) */
    char *err;              /* all of stderr (owned) */
    unsigned peak;          /* requests in flight at once, at most */
};

/* Run pagegrab once on the DELAYED_N URLs of list, without
 * PG_TEST_PER_WORKER, and note what it said and what the server saw. */
static void run_once(struct pg_test *t, struct pg_test_server *srv,
                     const char *list, const char *const *extra,
                     struct seen *s)
{
    const char *k = getenv("PG_TEST_PER_WORKER");
    char *keep = k ? strdup(k) : NULL;
    struct pg_args a = {0};
    struct pg_run r;
    char *out = pg_path(t, "out"), *nl;

    pg_remove_tree(out);
    pg_test_server_reset(srv);
    unsetenv("PG_TEST_PER_WORKER");
    pg_args_push(&a, "--mode", t->mode, "--no-robots", "-i", list, "-o", out,
                 END);
    for (; *extra; extra++)
        pg_args_push(&a, *extra, END);
    pg_run(t, &r, NULL, 60, a.v);
    if (keep) {
        setenv("PG_TEST_PER_WORKER", keep, 1);
        free(keep);
    }
    s->code = r.code;
    while (r.err_len && r.err[r.err_len - 1] == '\n')
        r.err[--r.err_len] = '\0';
    nl = strrchr(r.err, '\n');
    s->summary = strdup(nl ? nl + 1 : r.err);
    s->err = strdup(r.err);
    s->peak = pg_test_server_peak(srv);
    PG_CHECK_INT(t, s->code, 0, "exit status");
    pg_run_release(&r);
    free(out);
}

static void expect(struct pg_test *t, const struct seen *s, const char *what,
                   const char *counts)
{
    PG_CHECK(t, strstr(s->summary, counts) != NULL,
             "%s: summary '%s' does not say '%s'", what, s->summary, counts);
}

static void seen_release(struct seen *s)
{
    free(s->summary);
    free(s->err);
}

/* Pin this test (and so the pagegrab it starts) to the CPU it runs on;
 * *old gets the mask to restore. */
static void pin_one_cpu(struct pg_test *t, cpu_set_t *old)
{
    cpu_set_t one;
    int cpu = sched_getcpu() < 0 ? 0 : sched_getcpu();

    if (sched_getaffinity(0, sizeof(*old), old) != 0 || !CPU_ISSET(cpu, old))
        pg_test_skip(t, "cannot read this process's CPU affinity");
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    PG_CHECK(t, sched_setaffinity(0, sizeof(one), &one) == 0,
             "cannot pin the test to one CPU");
}

/* Write the URLs of srv's paths fmt % 0 .. n-1 to list, one a line. */
static void write_urls(struct pg_test *t, struct pg_test_server *srv,
                       const char *list, const char *fmt, int n)
{
    char *buf = malloc((size_t)n * 128);
    size_t len = 0;

    PG_CHECK(t, buf != NULL, "out of memory");
    for (int i = 0; i < n; i++) {
        char path[32], *url;

        snprintf(path, sizeof(path), fmt, i);
        url = pg_test_server_url(srv, path);
        len += (size_t)snprintf(buf + len, 128, "%s\n", url);
        free(url);
    }
    pg_write_file(t, list, buf, len);
    free(buf);
}

static void test_counts(struct pg_test *t)
{
    static const char BODY[] = "<html><body>slow</body></html>\n";
    struct pg_test_route routes[] = {
        { .path = "/p/", .flags = PG_ROUTE_PREFIX, .body = BODY,
          .body_len = sizeof(BODY) - 1, .content_type = "text/html",
          .delay_ms = 400 },
    };
    const char *none[] = { END };
    const char *images[] = { "--images", END };
    const char *j3[] = { "-j", "3", END };
    const char *k4[] = { "-K", "4", END };
    const char *autos[] = { "-j", "auto", "-K", "auto", END };
    struct pg_test_server *srv;
    cpu_set_t old;
    struct seen s;
    char *list;

    pin_one_cpu(t, &old);

    srv = pg_test_server_must_start(t, routes, 1);
    list = pg_path(t, "urls.txt");
    write_urls(t, srv, list, "/p/%02d.html", DELAYED_N);

    run_once(t, srv, list, none, &s);
    expect(t, &s, "no -j/-K on 1 CPU", "1 worker x 256 transfers");
    PG_CHECK_INT(t, s.peak, DELAYED_N, "requests at once with the defaults");
    seen_release(&s);

    run_once(t, srv, list, autos, &s);
    expect(t, &s, "-j auto -K auto", "1 worker x 256 transfers");
    seen_release(&s);

    run_once(t, srv, list, images, &s);
    expect(t, &s, "--images on 1 CPU", "2 workers x 64 transfers");
    seen_release(&s);

    run_once(t, srv, list, j3, &s);
    expect(t, &s, "-j 3 alone", "3 workers)");
    PG_CHECK(t, s.peak >= 2 && s.peak <= 3, "-j 3 alone: %u requests at "
             "once, expected 2..3 (3 blocking workers)", s.peak);
    seen_release(&s);

    run_once(t, srv, list, k4, &s);
    expect(t, &s, "-K 4 alone on 1 CPU", "1 worker x 4 transfers");
    PG_CHECK(t, s.peak >= 2 && s.peak <= 4, "-K 4 alone: %u requests at "
             "once, expected 2..4", s.peak);
    seen_release(&s);

    sched_setaffinity(0, sizeof(old), &old);
    free(list);
    pg_test_server_stop(srv);
}

/*
 * fd_limit: with a descriptor limit of 256 (soft and hard, so pagegrab
 * cannot raise it) the default transfers shrink to what fits, (256 -
 * 64) / 3 = 64 on one CPU, and FD_N slow URLs all succeed (with the
 * default 256 at once, some failed with "Too many open files").  A
 * -K that cannot fit gets a warning at the start.
 */
#define FD_N 200
static void test_fd_limit(struct pg_test *t)
{
    static const char BODY[] = "slow\n";
    struct pg_test_route routes[] = {
        { .path = "/f/", .flags = PG_ROUTE_PREFIX, .body = BODY,
          .body_len = sizeof(BODY) - 1, .content_type = "text/plain",
          .delay_ms = 300 },
    };
    const char *none[] = { END };
    struct pg_test_server *srv;
    struct rlimit rl = { 256, 256 };
    cpu_set_t old;
    struct seen s;
    struct pg_run r;
    struct pg_args a = {0};
    char *list, *list1, *out;
    char want[64];

    pin_one_cpu(t, &old);
    /* This test's own process (the runner forks one per case). */
    PG_CHECK(t, setrlimit(RLIMIT_NOFILE, &rl) == 0,
             "cannot set RLIMIT_NOFILE to 256: %s", strerror(errno));

    srv = pg_test_server_must_start(t, routes, 1);
    list = pg_path(t, "urls.txt");
    list1 = pg_path(t, "one.txt");
    write_urls(t, srv, list, "/f/%03d.txt", FD_N);
    write_urls(t, srv, list1, "/f/%03d.txt", 1);

    run_once(t, srv, list, none, &s);
    snprintf(want, sizeof(want), "%d URLs: %d ok, 0 failed", FD_N, FD_N);
    expect(t, &s, "defaults under 256 descriptors", want);
    expect(t, &s, "defaults under 256 descriptors",
           "1 worker x 64 transfers");
    PG_CHECK(t, s.peak >= 32 && s.peak <= 64, "%u requests at once, "
             "expected 32..64", s.peak);
    seen_release(&s);

    /* -K 200 given: kept, with a warning naming the limit. */
    out = pg_path(t, "out1");
    pg_args_push(&a, "--mode", t->mode, "--no-robots", "-j", "1", "-K",
                 "200", "-i", list1, "-o", out, END);
    pg_run(t, &r, NULL, 60, a.v);
    PG_CHECK_INT(t, r.code, 0, "exit status of -j 1 -K 200 on one URL");
    PG_CHECK(t, strstr(r.err, "warning: 1 workers x 200 transfers need "
                       "about 664 open files") &&
             strstr(r.err, "the limit is 256 (ulimit -n)"),
             "no warning about the descriptor limit: '%s'", r.err);
    pg_run_release(&r);
    free(out);

    sched_setaffinity(0, sizeof(old), &old);
    free(list);
    free(list1);
    pg_test_server_stop(srv);
}

/* A second a request (5 in sanitizer runs, times PG_TEST_TIME_SCALE):
 * every step of the window (a parent round trip each in process mode)
 * is done long before the first answer, even on one CPU (with 300 ms,
 * one run in the multi pass of make asan saw 255 at once; with 1 s,
 * ThreadSanitizer 146). */
#define WIN_N 300
static void test_window(struct pg_test *t)
{
    static const char BODY[] = "slow\n";
    struct pg_test_route routes[] = {
        { .path = "/w/", .flags = PG_ROUTE_PREFIX, .body = BODY,
          .body_len = sizeof(BODY) - 1, .content_type = "text/plain",
          .delay_ms = 1000 },
    };
    const char *debug[] = { "-v", END };
    const char *k256[] = { "-v", "-K", "256", END };
    static const char *const grown[] = {
        "worker 0: 32 transfers at once", "worker 0: 64 transfers at once",
        "worker 0: 128 transfers at once", "worker 0: 256 transfers at once",
    };
    struct pg_test_server *srv;
    cpu_set_t old;
    struct seen s;
    char *list, want[64];
    size_t i;

    routes[0].delay_ms = 1000 * pg_test_scaled(pg_test_quick() ? 5 : 1);
    pin_one_cpu(t, &old);
    srv = pg_test_server_must_start(t, routes, 1);
    list = pg_path(t, "urls.txt");
    write_urls(t, srv, list, "/w/%03d.txt", WIN_N);
    snprintf(want, sizeof(want), "%d URLs: %d ok, 0 failed", WIN_N, WIN_N);

    run_once(t, srv, list, debug, &s);
    expect(t, &s, "defaults, slow server", want);
    expect(t, &s, "defaults, slow server",
           "1 worker x 256 transfers, window 256");
    for (i = 0; i < sizeof(grown) / sizeof(grown[0]); i++)
        PG_CHECK(t, strstr(s.err, grown[i]) != NULL,
                 "defaults against a slow server: no '%s' in the log",
                 grown[i]);
    /* More than 128 at once: the window of 256 was used (all 256 at
     * once unless the first answers came before the last start). */
    PG_CHECK(t, s.peak > 128 && s.peak <= 256, "%u requests at once once "
             "the window grew, expected 129..256", s.peak);
    seen_release(&s);

    run_once(t, srv, list, k256, &s);
    expect(t, &s, "-K 256, slow server", want);
    PG_CHECK(t, strstr(s.summary, "window") == NULL,
             "-K 256 given: the summary '%s' names a window", s.summary);
    PG_CHECK(t, strstr(s.err, "transfers at once") == NULL,
             "-K 256 given: the window grew ('%s')", s.err);
    PG_CHECK(t, s.peak > 128 && s.peak <= 256, "%u requests at once "
             "with -K 256, expected 129..256", s.peak);
    seen_release(&s);

    sched_setaffinity(0, sizeof(old), &old);
    free(list);
    pg_test_server_stop(srv);
}

static const struct pg_test_case cases[] = {
    { "counts", test_counts, PG_TEST_PER_MODE, 120 },
    { "window", test_window, PG_TEST_PER_MODE, 120 },
    { "fd_limit", test_fd_limit, PG_TEST_PER_MODE, 120 },
};

int main(int argc, char **argv)
{
    return pg_test_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
