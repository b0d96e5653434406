/*
 * test_workers.c - integration tests for how workers and the job end
 * (issue 9, defects 6 and 7).
 *
 * orphan_workers: pagegrab in process mode is killed with SIGKILL while
 * its workers download from a dripping server; every worker must notice
 * within about a second (its parent's death signal, or its socket's
 * hang-up while a transfer runs), close its connections, remove its
 * spool files and exit.  Run with K = 1 and (PG_TEST_PER_WORKER=4) K > 1.
 *
 * fatal_stops: the output directory is removed while slow transfers are
 * in flight; the save error that follows is fatal, and a fatal error
 * aborts what is in flight: pagegrab exits 3 within seconds (not when
 * the slow transfers end), and every started URL has its record.
 *
 * The test process is a child subreaper, so orphaned workers become its
 * children: it can see them end, reap them and kill any left over.
 */
#define _DEFAULT_SOURCE /* realpath() */
#include "fault.h"
#include "testlib.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define END ((const char *)NULL)
#define EXIT_FATAL 3
#define MAX_WORKERS 64

/* Write the n URLs srv/<prefix><i> to file, one a line. */
static void write_urls(struct pg_test *t, const char *file,
                       const struct pg_test_server *srv,
                       const char *const *paths, size_t n)
{
    size_t cap = 1, len = 0;
    char *buf, *url;

    for (size_t i = 0; i < n; i++)
        cap += strlen(paths[i]) + 64;
    buf = malloc(cap);
    PG_CHECK(t, buf != NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        url = pg_fault_url(srv, paths[i]);
        len += (size_t)snprintf(buf + len, cap - len, "%s\n", url);
        free(url);
    }
    pg_write_file(t, file, buf, len);
    free(buf);
}

/* Is pid still running (not gone, not a zombie)? */
static int alive(pid_t pid)
{
    char path[64], *stat, *p;
    size_t len;
    int live;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    stat = pg_read_file(path, &len);
    if (!stat)
        return 0;
    p = strrchr(stat, ')');
    live = p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
    free(stat);
    return live;
}

/* Reap whatever orphans ended (we are their subreaper). */
static void reap_orphans(void)
{
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

/* Any spool file (".pagegrab-*.part") under dir? */
static size_t count_parts(const char *dir)
{
    struct pg_strlist l = {0};
    size_t n = 0;

    if (pg_tree_list(dir, &l) == 0) {
        for (size_t i = 0; i < l.n; i++)
            n += strstr(l.v[i], ".part") != NULL;
    }
    pg_strlist_release(&l);
    return n;
}

/* ------------------------------------------------------------------ */

static void test_orphan_workers(struct pg_test *t)
{
    /* Half the transfers get a byte every 20 ms, half get nothing. */
    struct pg_test_route routes[] = {
        { .path = "/drip/", .fault = PG_FAULT_DRIP, .flags = PG_ROUTE_PREFIX,
          .gen_len = 64u << 20, .cut = 4096, .interval_ms = 20 },
        { .path = "/stall/", .fault = PG_FAULT_STALL,
          .flags = PG_ROUTE_PREFIX, .gen_len = 64u << 20, .cut = 4096 },
    };
    unsigned k = pg_test_per_worker();
    size_t n = 4 * (size_t)k, want = 2 * (size_t)k;
    const char *paths[4 * 16];
    struct pg_child kids[MAX_WORKERS];
    struct pg_test_server *srv;
    struct pg_args a = {0};
    struct pg_proc p;
    struct pg_run r;
    char *out, *man, *urls;
    double deadline, t_kill, t_gone = 0;
    size_t nkids, left = 0, parts = 0;

    if (!(t->modes & PG_MODE_PROCESS))
        pg_test_skip(t, "process mode not enabled");
    if (k > 16)
        pg_test_skip(t, "PG_TEST_PER_WORKER above 16");
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
        pg_test_fail(t, "cannot become a child subreaper");
    srv = pg_test_server_start_on(routes, 2, NULL);
    PG_CHECK(t, srv != NULL, "cannot start the fault server");
    for (size_t i = 0; i < n; i++)
        paths[i] = pg_strdupf("/%s/%zu.bin", i % 2 ? "stall" : "drip", i);
    out = pg_path(t, "out");
    man = pg_path(t, "manifest.jsonl");
    urls = pg_path(t, "urls.txt");
    write_urls(t, urls, srv, paths, n);
    pg_args_push(&a, "--mode", "process", "-j", "2", "-o", out, "--manifest",
              man, "-i", urls, "--retries", "0", "--timeout", "100",
              "--stall", "100", END);
    pg_proc_start(t, &p, NULL, 0, a.v);

    /* Every slot is busy and each transfer has its spool file. */
    deadline = pg_fault_now() + pg_test_scaled(20);
    while (pg_fault_inflight_now(srv) < want || count_parts(out) < want) {
        PG_CHECK(t, !pg_proc_done(&p), "pagegrab ended before the test "
                 "could kill it");
        PG_CHECK(t, pg_fault_now() < deadline, "only %u transfers in "
                 "flight and %zu spool files after 20 s (want %zu)",
                 pg_fault_inflight_now(srv), count_parts(out), want);
        pg_fault_sleep_ms(10);
    }
    pg_fault_sleep_ms(300);
    nkids = pg_proc_children(p.pid, kids, MAX_WORKERS);
    PG_CHECK(t, nkids >= 2 && nkids <= MAX_WORKERS, "%zu worker processes "
             "found, expected 2", nkids);
    for (size_t i = 0; i < nkids; i++)
        PG_CHECK(t, pg_child_is_worker(&kids[i]), "child %ld of pagegrab "
                 "is named '%s', not '" PG_TEST_WORKER_COMM "'",
                 (long)kids[i].pid, kids[i].comm);

    kill(p.pid, SIGKILL);
    t_kill = pg_fault_now();
    pg_proc_wait(t, &p, 10, 1, &r);

    /* Within about a second: no worker, no connection.  (2 s, scaled,
     * leaves room for a loaded machine.) */
    deadline = t_kill + pg_test_scaled(2);
    for (;;) {
        reap_orphans();
        left = 0;
        for (size_t i = 0; i < nkids; i++)
            left += (size_t)alive(kids[i].pid);
        if (left == 0 && pg_fault_inflight_now(srv) == 0) {
            t_gone = pg_fault_now();
            break;
        }
        if (pg_fault_now() > deadline)
            break;
        pg_fault_sleep_ms(10);
    }
    /* Let anything a worker might still do land, then look. */
    pg_fault_sleep_ms(200);
    parts = count_parts(out);
    fprintf(stderr, "  orphan_workers[K=%u]: %zu workers; %s after %.2f s; "
            "%zu spool files left\n", k, nkids,
            t_gone > 0 ? "all gone" : "still running",
            (t_gone > 0 ? t_gone : pg_fault_now()) - t_kill, parts);
    for (size_t i = 0; i < nkids; i++) {
        if (alive(kids[i].pid))
            kill(kids[i].pid, SIGKILL);
    }
    PG_CHECK(t, t_gone > 0, "%zu of %zu worker(s) still running and %u "
             "connection(s) open %.1f s after pagegrab was killed", left,
             nkids, pg_fault_inflight_now(srv), pg_fault_now() - t_kill);
    PG_CHECK(t, parts == 0, "%zu spool file(s) left by the workers of a "
             "killed pagegrab", parts);
    pg_run_release(&r);
    pg_test_server_stop(srv);
    reap_orphans();
}

/* ------------------------------------------------------------------ */

/*
 * worker_fds: a worker keeps only what it needs.  The test hands
 * pagegrab a pipe without FD_CLOEXEC (as a careless host program would);
 * while two transfers stall, each worker's fds above 2 may only be
 * sockets, anonymous inodes (libcurl's wake-ups), the output directory
 * and its own spool files: not the pipe (a worker holding its write end
 * would hide EOF from the reader for as long as it lives), not the
 * manifest, the input list or an unlinked store.
 */
static int fd_allowed(const char *target, const char *out)
{
    size_t n = strlen(out);

    if (!strncmp(target, "socket:", 7) || !strncmp(target, "anon_inode:", 11))
        return 1;
    if (strstr(target, "(deleted)"))
        return 0;
    if (!strcmp(target, out))
        return 1;
    return !strncmp(target, out, n) && target[n] == '/' &&
           !strncmp(target + n + 1, ".pagegrab-", 10) &&
           strstr(target + n + 1, ".part") != NULL &&
           strchr(target + n + 1, '/') == NULL;
}

/* How many of pid's fds above 2 are not allowed; prints them. */
static size_t foreign_fds(pid_t pid, const char *out)
{
    char dir[64], link[96 + 256], target[PATH_MAX];
    struct dirent *e;
    size_t bad = 0;
    DIR *d;

    snprintf(dir, sizeof(dir), "/proc/%ld/fd", (long)pid);
    d = opendir(dir);
    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL) {
        ssize_t k;

        if (e->d_name[0] == '.' || atoi(e->d_name) <= 2)
            continue;
        snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
        k = readlink(link, target, sizeof(target) - 1);
        if (k < 0)
            continue;   /* closed meanwhile */
        target[k] = '\0';
        if (!fd_allowed(target, out)) {
            fprintf(stderr, "  worker %ld fd %s -> %s\n", (long)pid,
                    e->d_name, target);
            bad++;
        }
    }
    closedir(d);
    return bad;
}

static void test_worker_fds(struct pg_test *t)
{
    struct pg_test_route routes[] = {
        { .path = "/ok.bin", .fault = PG_FAULT_NONE, .gen_len = 2048,
          .gen_seed = 3 },
        { .path = "/stall/", .fault = PG_FAULT_STALL,
          .flags = PG_ROUTE_PREFIX, .gen_len = 64u << 20, .cut = 4096 },
    };
    const char *paths[] = { "/ok.bin", "/stall/0.bin", "/stall/1.bin" };
    struct pg_child kids[MAX_WORKERS];
    struct pg_test_server *srv;
    struct pg_args a = {0};
    struct pg_proc p;
    struct pg_run r;
    char *out, *man, *urls, *rout;
    double deadline;
    size_t nkids, bad = 0;
    int pfd[2];

    if (!(t->modes & PG_MODE_PROCESS))
        pg_test_skip(t, "process mode not enabled");
    srv = pg_test_server_start_on(routes, 2, NULL);
    PG_CHECK(t, srv != NULL, "cannot start the fault server");
    out = pg_path(t, "out");
    man = pg_path(t, "manifest.jsonl");
    urls = pg_path(t, "urls.txt");
    write_urls(t, urls, srv, paths, 3);
    PG_CHECK(t, pipe(pfd) == 0, "pipe: %s", strerror(errno));
    pg_args_push(&a, "--mode", "process", "-j", "2", "-K", "1", "-o", out,
                 "--manifest", man, "-i", urls, "--retries", "0",
                 "--timeout", "100", "--stall", "100", END);
    pg_proc_start(t, &p, NULL, 0, a.v);
    close(pfd[0]);
    close(pfd[1]);

    deadline = pg_fault_now() + pg_test_scaled(20);
    while (pg_fault_inflight_now(srv) < 2) {
        PG_CHECK(t, !pg_proc_done(&p), "pagegrab ended early");
        PG_CHECK(t, pg_fault_now() < deadline, "2 stalled transfers not in "
                 "flight after 20 s");
        pg_fault_sleep_ms(10);
    }
    rout = realpath(out, NULL);
    PG_CHECK(t, rout != NULL, "realpath %s: %s", out, strerror(errno));
    nkids = pg_proc_children(p.pid, kids, MAX_WORKERS);
    for (size_t i = 0; i < nkids && i < MAX_WORKERS; i++)
        bad += foreign_fds(kids[i].pid, rout);
    /* A second signal aborts the stalled transfers at once. */
    kill(p.pid, SIGTERM);
    pg_fault_sleep_ms(200);
    kill(p.pid, SIGTERM);
    pg_proc_wait(t, &p, 30, 1, &r);
    PG_CHECK(t, nkids == 2, "%zu worker processes found, expected 2", nkids);
    PG_CHECK(t, bad == 0, "%zu fd(s) of the parent left open in the "
             "workers (listed above)", bad);
    free(rout);
    pg_run_release(&r);
    pg_test_server_stop(srv);
}

/* ------------------------------------------------------------------ */

/*
 * robots_id: a robots.txt fetch and the first input URL once shared
 * item id 0, and the process pool matches a worker's results by id.
 * With the robots.txt fetch still running in the worker that finishes
 * the first input page, that page's result went to the robots item: the
 * page was recorded under its origin ("http://host:port", saved as
 * index.html) and its own record was lost.  Here the first input page
 * takes 0.5 s and robots.txt 1.5 s, in one worker with 4 slots.
 */
static void test_robots_id(struct pg_test *t)
{
    static const char ROBOTS[] = "User-agent: *\nAllow: /\n";
    static const char SLOW[] = "<html><body>slow page</body></html>\n";
    static const char FAST[] = "<html><body><img src=\"/a.jpg\">"
                               "</body></html>\n";
    static const char IMG[] = "\xff\xd8\xff\xe0 an image";
    struct pg_test_route routes[] = {
        { .path = "/robots.txt", .body = ROBOTS, .body_len = sizeof(ROBOTS) - 1,
          .content_type = "text/plain", .delay_ms = 1500 },
        { .path = "/slow.html", .body = SLOW, .body_len = sizeof(SLOW) - 1,
          .content_type = "text/html", .delay_ms = 500 },
        { .path = "/fast.html", .body = FAST, .body_len = sizeof(FAST) - 1,
          .content_type = "text/html" },
        { .path = "/a.jpg", .body = IMG, .body_len = sizeof(IMG) - 1,
          .content_type = "image/jpeg" },
    };
    const char *paths[] = { "/slow.html", "/fast.html" };
    const char *want[] = { "/slow.html", "/fast.html", "/a.jpg" };
    struct pg_test_server *srv;
    struct pg_manifest m;
    struct pg_args a = {0};
    struct pg_run r;
    char *out, *man, *urls;

    if (!(t->modes & PG_MODE_PROCESS))
        pg_test_skip(t, "process mode not enabled");
    srv = pg_test_server_start(routes, 4);
    PG_CHECK(t, srv != NULL, "cannot start the test server");
    out = pg_path(t, "out");
    man = pg_path(t, "manifest.jsonl");
    urls = pg_path(t, "urls.txt");
    write_urls(t, urls, srv, paths, 2);
    pg_args_push(&a, "--mode", "process", "-j", "1", "-K", "4", "--images",
                 "-o", out, "--manifest", man, "-i", urls, "-q", END);
    pg_run(t, &r, NULL, 60, a.v);
    PG_CHECK_INT(t, r.code, 0, "exit status");
    pg_manifest_must_load(t, man, &m);
    PG_CHECK_INT(t, m.n, 3, "records (two pages and the image)");
    for (size_t i = 0; i < 3; i++) {
        char *url = pg_test_server_url(srv, want[i]);
        const struct pg_record *rec = pg_manifest_find(&m, url);

        PG_CHECK(t, rec != NULL, "no record of %s", url);
        PG_CHECK_STR(t, pg_record_str(rec, "status"), "ok", url);
        PG_CHECK_STR(t, pg_record_str(rec, "final_url"), url, url);
        free(url);
    }
    pg_manifest_release(&m);
    pg_run_release(&r);
    pg_test_server_stop(srv);
}

/* ------------------------------------------------------------------ */

static void test_fatal_stops(struct pg_test *t)
{
    struct pg_test_route routes[] = {
        { .path = "/drip/", .fault = PG_FAULT_STALL,
          .flags = PG_ROUTE_PREFIX, .gen_len = 64u << 20, .cut = 1024 },
        { .path = "/late.bin", .fault = PG_FAULT_NONE, .gen_len = 2048,
          .gen_seed = 7, .delay_ms = 1500 },
    };
    const char *paths[] = { "/drip/0.bin", "/drip/1.bin", "/late.bin" };
    size_t n = sizeof(paths) / sizeof(paths[0]);
    struct pg_test_server *srv;
    struct pg_manifest m;
    struct pg_args a = {0};
    struct pg_proc p;
    struct pg_run r;
    struct stat st;
    char *out, *man, *urls;
    double deadline, t_gone = 0, took;

    srv = pg_test_server_start_on(routes, 2, NULL);
    PG_CHECK(t, srv != NULL, "cannot start the fault server");
    out = pg_path(t, "out");
    man = pg_path(t, "manifest.jsonl");
    urls = pg_path(t, "urls.txt");
    write_urls(t, urls, srv, paths, n);
    pg_args_push(&a, "--mode", t->mode, "-j", "3", "-o", out, "--manifest",
              man, "-i", urls, "--retries", "0", "--timeout", "100",
              "--stall", "100", END);
    pg_proc_start(t, &p, NULL, 0, a.v);

    deadline = pg_fault_now() + pg_test_scaled(20);
    while (pg_fault_inflight_now(srv) < n) {
        PG_CHECK(t, !pg_proc_done(&p), "pagegrab ended before the test "
                 "could act");
        PG_CHECK(t, pg_fault_now() < deadline, "only %u transfers in "
                 "flight after 20 s", pg_fault_inflight_now(srv));
        pg_fault_sleep_ms(10);
    }
    /* The late answer comes after this: its save fails, and the probe
     * of the output directory finds it gone. */
    for (int i = 0; i < 200; i++) {
        pg_remove_tree(out);
        if (lstat(out, &st) != 0 && errno == ENOENT) {
            t_gone = pg_fault_now();
            break;
        }
        pg_fault_sleep_ms(5);
    }
    PG_CHECK(t, t_gone > 0, "cannot remove the output directory");
    /* Before the fix the drips ran on until --timeout (100 s). */
    pg_proc_wait(t, &p, 15, 0, &r);
    took = pg_fault_now() - t_gone;
    fprintf(stderr, "  fatal_stops[%s]: exit %d %.2f s after the output "
            "directory was removed\n", t->mode, r.code, took);
    PG_CHECK_INT(t, r.code, EXIT_FATAL, "exit status");
    PG_CHECK(t, strstr(r.err, "no longer usable") != NULL,
             "stderr does not say the output directory is unusable");
    PG_CHECK(t, took < 10.0 * pg_test_scaled(1), "exit 3 came %.1f s after "
             "the fatal error", took);

    /* Every URL was started: each has its record. */
    pg_manifest_must_load(t, man, &m);
    for (size_t i = 0; i < n; i++) {
        char *url = pg_fault_url(srv, paths[i]);
        const struct pg_record *rec = pg_manifest_find(&m, url);
        const char *s = rec ? pg_record_str(rec, "status") : NULL;

        PG_CHECK(t, rec != NULL, "'%s' was started but has no record", url);
        if (i < 2)
            PG_CHECK(t, pg_str_eq(s, "interrupted"), "'%s': status '%s', "
                     "expected interrupted", url, s ? s : "null");
        free(url);
    }
    pg_manifest_release(&m);
    pg_run_release(&r);
    pg_test_server_stop(srv);
}

static const struct pg_test_case cases[] = {
    { "orphan_workers", test_orphan_workers, 0, 60 },
    { "fatal_stops", test_fatal_stops, PG_TEST_PER_MODE, 60 },
    { "worker_fds", test_worker_fds, 0, 60 },
    { "robots_id", test_robots_id, 0, 60 },
};

int main(int argc, char **argv)
{
    return pg_test_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
