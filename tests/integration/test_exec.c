/*
 * test_exec.c - --exec CMD hooks (issue 13): one hook per saved file with
 * "$1" and the PAGEGRAB_* variables, --exec-jobs as a bound that is
 * reached and never passed while the downloads go on, failing hooks
 * (exit 1, file kept, exec_status recorded), URLs and names that would
 * inject shell code, SIGINT during hooks (SIGTERM, SIGKILL after
 * --grace, nothing left running), --resume of unfinished hooks, and no
 * descriptor of pagegrab in a hook.  Every test runs in both modes.
 *
 * Hooks are small sh scripts written into the test's directory; they
 * append one line per run to a log file (each line one write(), under
 * PIPE_BUF, with O_APPEND: lines never mix).
 */
#include "fault.h"
#include "server.h"
#include "testlib.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define END ((const char *)NULL)

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

static struct pg_test_server *start_server(struct pg_test *t,
                                           const struct pg_test_route *r,
                                           size_t n)
{
    struct pg_test_server *srv = pg_test_server_start(r, n);

    if (!srv)
        pg_test_fail(t, "cannot start the test server");
    return srv;
}

/* A hook script in the test dir; returns the --exec command for it. */
static char *hook(struct pg_test *t, const char *name, const char *body)
{
    char *path = pg_path(t, "%s", name);
    char *text = pg_strdupf("#!/bin/sh\n%s\n", body);

    pg_write_file(t, path, text, strlen(text));
    free(text);
    return pg_strdupf("exec sh '%s' \"$1\"", path);
}

/* The lines of a file (missing: none). */
static void read_lines(const char *path, struct pg_strlist *l)
{
    char *buf = pg_read_file(path, NULL), *p, *nl;

    memset(l, 0, sizeof(*l));
    for (p = buf; p && *p; p = nl + 1) {
        nl = strchr(p, '\n');
        if (!nl)
            break;
        *nl = '\0';
        pg_strlist_add(l, p);
    }
    free(buf);
}

/* The last record of url in the manifest, or NULL. */
static const struct pg_record *last_rec(const struct pg_manifest *m,
                                        const char *url)
{
    const struct pg_record *r = NULL;

    for (size_t i = 0; i < m->n; i++) {
        if (pg_str_eq(pg_record_str(&m->rec[i], "url"), url))
            r = &m->rec[i];
    }
    return r;
}

/* Whether the record has key (exec_pending is only ever true). */
static int is_true(const struct pg_record *r, const char *key)
{
    return pg_record_get(r, key) != NULL;
}

static const char BODY_A[] = "alpha\n", BODY_B[] = "bravo bravo\n",
                  BODY_C[] = "charlie\n";
static const char PAGE[] =
    "<html><body><img src=\"/img/1.png\"><img src=\"/img/2.png\">"
    "</body></html>";

/*
 * Hooks run once per saved file with "$1" = -o DIR/NAME and the
 * variables of the result (the page has no referrer: unset; its images
 * have the page).  Compared with the manifest's last records.
 */
static void test_env(struct pg_test *t)
{
    const struct pg_test_route routes[] = {
        { .path = "/a.txt", .body = BODY_A, .body_len = 6,
          .content_type = "text/plain" },
        { .path = "/b.txt", .body = BODY_B, .body_len = 12,
          .content_type = "text/plain; charset=utf-8" },
        { .path = "/page.html", .body = PAGE, .body_len = sizeof(PAGE) - 1,
          .content_type = "text/html" },
        { .path = "/img/", .body = BODY_C, .body_len = 8,
          .content_type = "image/png", .flags = PG_ROUTE_PREFIX },
        { .path = "/gone", .status = 404, .body = "no", .body_len = 2 },
    };
    struct pg_test_server *srv = start_server(t, routes, 5);
    char *log = pg_path(t, "hooks.log"), *man = pg_path(t, "m.jsonl");
    char *out = pg_path(t, "out"), *cmd;
    struct pg_args x = {{0}, 0};
    struct pg_strlist lines;
    struct pg_manifest m;
    struct pg_run r;
    size_t ok = 0;

    cmd = pg_strdupf("test -f \"$1\" || exit 9; printf '%%s|%%s|%%s|%%s|%%s|"
                     "%%s|%%s\\n' \"$1\" \"$PAGEGRAB_URL\" \"$PAGEGRAB_PATH\" "
                     "\"$PAGEGRAB_STATUS\" \"$PAGEGRAB_CONTENT_TYPE\" "
                     "\"$PAGEGRAB_HASH\" \"${PAGEGRAB_REFERRER-unset}\" "
                     ">> '%s'", log);
    pg_args_push(&x, "--mode", t->mode, "-j", "3", "-o", out, "--manifest",
                 man, "--images", "--exec", cmd,
                 pg_test_server_url(srv, "/a.txt"),
                 pg_test_server_url(srv, "/b.txt"),
                 pg_test_server_url(srv, "/page.html"),
                 pg_test_server_url(srv, "/gone"), END);
    pg_run(t, &r, NULL, 60, x.v);
    PG_CHECK_INT(t, r.code, 1, "exit status (one 404)");
    pg_manifest_must_load(t, man, &m);
    read_lines(log, &lines);
    for (size_t i = 0; i < m.n; i++) {
        const struct pg_record *rec = &m.rec[i];
        const char *url = pg_record_str(rec, "url");
        const char *ref = pg_record_str(rec, "referrer");
        char *want;
        size_t hits = 0;

        if (last_rec(&m, url) != rec)
            continue;
        if (!pg_str_eq(pg_record_str(rec, "status"), "ok")) {
            PG_CHECK(t, !pg_record_get(rec, "exec_status"), "'%s' is not "
                     "saved but has a hook", url);
            continue;
        }
        ok++;
        PG_CHECK_INT(t, pg_record_int(rec, "exec_status", -1), 0, url);
        PG_CHECK(t, pg_record_get(rec, "exec_ms") &&
                 !pg_record_get(rec, "exec_pending"),
                 "last record of '%s': no exec_ms, or still pending", url);
        want = pg_strdupf("%s/%s|%s|%s/%s|ok|%s|%s|%s", out,
                          pg_record_str(rec, "path"), url, out,
                          pg_record_str(rec, "path"),
                          pg_record_str(rec, "content_type"),
                          pg_record_str(rec, "hash"), ref ? ref : "unset");
        for (size_t k = 0; k < lines.n; k++)
            hits += pg_str_eq(lines.v[k], want);
        PG_CHECK_INT(t, hits, 1, want);
        free(want);
    }
    PG_CHECK_INT(t, ok, 5, "saved files (a, b, page, 2 images)");
    PG_CHECK_INT(t, lines.n, 5, "hook runs");
    PG_CHECK(t, strstr(r.err, "--exec: 5 hook(s) ended, 0 failed") != NULL,
             "summary: %s", r.err);
    pg_manifest_release(&m);
    pg_test_server_stop(srv);
}

/* Concurrent hooks at the start of each run, from a directory of marks. */
static const char COUNT_HOOK[] =
    "d=\"$(dirname \"$0\")/running\"; mkdir -p \"$d\"; : > \"$d/$$\"\n"
    "n=$(ls \"$d\" | wc -l); sleep 0.6\n"
    "echo \"$n $(date +%s.%N)\" >> \"$(dirname \"$0\")/hooks.log\"\n"
    "rm -f \"$d/$$\"\n";

/*
 * --exec-jobs 2 with 6 hooks of 0.6 s: 2 at once, never 3; and the job
 * is not held up by them: every download is recorded (pending) before
 * the first hook ends.
 */
static void test_jobs(struct pg_test *t)
{
    const struct pg_test_route routes[] = {
        { .path = "/f/", .body = BODY_A, .body_len = 6,
          .content_type = "text/plain", .flags = PG_ROUTE_PREFIX },
    };
    struct pg_test_server *srv = start_server(t, routes, 1);
    char *man = pg_path(t, "m.jsonl"), *out = pg_path(t, "out");
    char *cmd = hook(t, "h.sh", COUNT_HOOK);
    struct pg_args x = {{0}, 0};
    struct pg_strlist lines;
    struct pg_manifest m;
    struct pg_run r;
    unsigned max = 0;
    size_t first_done = 0, pending = 0;

    pg_args_push(&x, "--mode", t->mode, "-j", "2", "-o", out, "--manifest",
                 man, "--exec", cmd, "--exec-jobs", "2", END);
    for (int i = 0; i < 6; i++)
        pg_args_push(&x, pg_strdupf("http://127.0.0.1:%u/f/%d.txt",
                                    pg_test_server_port(srv), i), END);
    pg_run(t, &r, NULL, 60, x.v);
    PG_CHECK_INT(t, r.code, 0, "exit status");
    read_lines(pg_path(t, "hooks.log"), &lines);
    PG_CHECK_INT(t, lines.n, 6, "hook runs");
    for (size_t i = 0; i < lines.n; i++) {
        unsigned n = (unsigned)strtoul(lines.v[i], NULL, 10);

        max = n > max ? n : max;
    }
    PG_CHECK_INT(t, max, 2, "most hooks at once");
    PG_CHECK(t, r.secs > 3 * 0.6 - 0.1, "6 hooks of 0.6 s two at a time "
             "took only %.2f s", r.secs);
    pg_manifest_must_load(t, man, &m);
    PG_CHECK_INT(t, m.n, 12, "records (pending, then ended)");
    for (size_t i = 0; i < m.n; i++) {
        if (pg_record_get(&m.rec[i], "exec_status") && !first_done)
            first_done = i + 1;
        if (is_true(&m.rec[i], "exec_pending"))
            pending++;
        if (pending == 6 && !first_done)
            break;
    }
    PG_CHECK(t, pending == 6 && first_done == 0,
             "a hook ended before every download was recorded "
             "(%zu pending first): the hooks held the job up", pending);
    pg_manifest_release(&m);
    pg_test_server_stop(srv);
}

/* A hook that fails, one killed by a signal: exit 1, files kept. */
static void test_fail(struct pg_test *t)
{
    const struct pg_test_route routes[] = {
        { .path = "/f/", .body = BODY_A, .body_len = 6,
          .content_type = "text/plain", .flags = PG_ROUTE_PREFIX },
    };
    struct pg_test_server *srv = start_server(t, routes, 1);
    char *man = pg_path(t, "m.jsonl"), *out = pg_path(t, "out");
    char *cmd = hook(t, "h.sh", "case \"$1\" in\n"
                     "*/bad.txt) exit 3;;\n*/kill.txt) kill -9 $$;;\n"
                     "esac\nexit 0");
    const char *names[3] = { "good", "bad", "kill" };
    const int want[3] = { 0, 3, 128 + 9 };
    struct pg_args x = {{0}, 0};
    struct pg_manifest m;
    struct pg_run r;

    pg_args_push(&x, "--mode", t->mode, "-o", out, "--manifest", man,
                 "--flat", "--exec", cmd, END);
    for (int i = 0; i < 3; i++)
        pg_args_push(&x, pg_strdupf("http://127.0.0.1:%u/f/%s.txt",
                                    pg_test_server_port(srv), names[i]),
                     END);
    pg_run(t, &r, NULL, 60, x.v);
    PG_CHECK_INT(t, r.code, 1, "exit status with failing hooks");
    pg_manifest_must_load(t, man, &m);
    for (int i = 0; i < 3; i++) {
        char *url = pg_strdupf("http://127.0.0.1:%u/f/%s.txt",
                               pg_test_server_port(srv), names[i]);
        char *file = pg_strdupf("%s/%s.txt", out, names[i]);
        const struct pg_record *rec = last_rec(&m, url);
        struct stat st;

        PG_CHECK(t, rec != NULL, "no record of %s", url);
        PG_CHECK_STR(t, pg_record_str(rec, "status"), "ok", url);
        PG_CHECK_INT(t, pg_record_int(rec, "exec_status", -1), want[i], url);
        PG_CHECK(t, stat(file, &st) == 0 && st.st_size == 6,
                 "'%s' was not kept", file);
    }
    PG_CHECK(t, strstr(r.err, "exited with status 3") &&
             strstr(r.err, "was killed by signal 9"),
             "no warning names the failing hooks: %s", r.err);
    pg_manifest_release(&m);
    pg_test_server_stop(srv);
}

/* Is a file called name anywhere under dir? */
static int find_name(const char *dir, const char *name)
{
    struct pg_strlist l;
    int found = 0;

    memset(&l, 0, sizeof(l));
    if (pg_tree_list(dir, &l) != 0)
        return 0;
    for (size_t i = 0; i < l.n; i++) {
        const char *base = strrchr(l.v[i], '/');

        found |= pg_str_eq(base ? base + 1 : l.v[i], name);
    }
    pg_strlist_release(&l);
    return found;
}

/*
 * URLs and saved names holding $(...), backticks and quotes reach the
 * hook as data only: nothing runs, the hook sees the exact names.
 */
static void test_injection(struct pg_test *t)
{
    const struct pg_test_route routes[] = {
        { .path = "/inj/", .body = BODY_A, .body_len = 6,
          .content_type = "image/jpeg", .flags = PG_ROUTE_PREFIX },
    };
    struct pg_test_server *srv = start_server(t, routes, 1);
    char *man = pg_path(t, "m.jsonl"), *out = pg_path(t, "out");
    char *log = pg_path(t, "hooks.log");
    char *cmd = pg_strdupf("cat \"$1\" > /dev/null && printf '%%s\\n' "
                           "\"$PAGEGRAB_URL\" >> '%s'", log);
    unsigned port = pg_test_server_port(srv);
    const char *paths[] = {
        "/inj/$(touch%20PWNED1).jpg",
        "/inj/%60touch%20PWNED2%60.jpg",
        "/inj/a'%22;touch%20PWNED3;'%22.jpg",
        "/inj/$(touch${IFS}PWNED4)",
    };
    struct pg_args x = {{0}, 0};
    struct pg_strlist lines;
    struct pg_run r;

    pg_args_push(&x, "--mode", t->mode, "-o", out, "--manifest", man,
                 "--flat", "--exec", cmd, END);
    for (size_t i = 0; i < 4; i++)
        pg_args_push(&x, pg_strdupf("http://127.0.0.1:%u%s", port,
                                    paths[i]), END);
    pg_run(t, &r, NULL, 60, x.v);
    PG_CHECK_INT(t, r.code, 0, "exit status");
    read_lines(log, &lines);
    PG_CHECK_INT(t, lines.n, 4, "hook runs (each saw its file)");
    for (int i = 1; i <= 4; i++) {
        char *name = pg_strdupf("PWNED%d", i);

        PG_CHECK(t, !find_name(t->dir, name) && access(name, F_OK) != 0,
                 "a hook ran code from a URL: '%s' exists", name);
    }
    PG_CHECK(t, find_name(out, "$(touch PWNED1).jpg"),
             "the saved name lost its $(...)");
    pg_test_server_stop(srv);
}

/* Every pid in the file has ended (gone, or a zombie of someone). */
static void check_pids_gone(struct pg_test *t, const char *file)
{
    struct pg_strlist l;

    read_lines(file, &l);
    PG_CHECK(t, l.n >= 2, "the hooks recorded no pids");
    for (size_t i = 0; i < l.n; i++) {
        char *stat = pg_strdupf("/proc/%s/stat", l.v[i]);
        char *s = pg_read_file(stat, NULL);
        const char *p = s ? strrchr(s, ')') : NULL;

        PG_CHECK(t, !p || p[2] == 'Z' || p[2] == 'X',
                 "hook process %s still runs after pagegrab exited",
                 l.v[i]);
        free(s);
    }
}

/* The hook's pids (its sh and a child) go to pids.log; then it waits. */
static const char SLOW_HOOK[] =
    "%s\nsleep 30 & echo $$ >> \"$(dirname \"$0\")/pids.log\"\n"
    "echo $! >> \"$(dirname \"$0\")/pids.log\"; wait\n";

/*
 * SIGINT while 2 hooks run: they get SIGTERM (group: their children
 * too); hooks that ignore it get SIGKILL after --grace.  pagegrab exits
 * 4 within the grace plus a margin, no hook process is left, and the
 * records stay pending; --resume then runs those hooks again, without
 * fetching anything again, and completes the records.
 */
static void test_sigint_resume(struct pg_test *t)
{
    const struct pg_test_route routes[] = {
        { .path = "/f/", .body = BODY_A, .body_len = 6,
          .content_type = "text/plain", .flags = PG_ROUTE_PREFIX },
    };
    struct pg_test_server *srv = start_server(t, routes, 1);
    char *man = pg_path(t, "m.jsonl"), *out = pg_path(t, "out");
    char *pids = pg_path(t, "pids.log");

    for (int stubborn = 0; stubborn <= 1; stubborn++) {
        char *body = pg_strdupf(SLOW_HOOK, stubborn ? "trap '' TERM" : "");
        char *cmd = hook(t, "slow.sh", body);
        struct pg_args x = {{0}, 0};
        struct pg_strlist l;
        struct pg_proc p;
        struct pg_run r;
        double t0, waited;

        unlink(pids);
        unlink(man);
        pg_remove_tree(out);
        pg_args_push(&x, "--mode", t->mode, "-o", out, "--manifest", man,
                     "--grace", "2", "--exec", cmd, END);
        for (int i = 0; i < 2; i++)
            pg_args_push(&x, pg_strdupf("http://127.0.0.1:%u/f/%d.txt",
                                        pg_test_server_port(srv), i), END);
        pg_proc_start(t, &p, NULL, 0, x.v);
        for (t0 = pg_fault_now();; sleep_ms(20)) {
            read_lines(pids, &l);
            if (l.n >= 4)
                break;
            PG_CHECK(t, pg_fault_now() - t0 < 20, "the hooks did not start");
        }
        sleep_ms(100);   /* (the trap is set before the pids are written) */
        t0 = pg_fault_now();
        kill(p.pid, SIGINT);
        pg_proc_wait(t, &p, 30, 0, &r);
        waited = pg_fault_now() - t0;
        PG_CHECK_INT(t, r.code, 4, "exit status after SIGINT");
        PG_CHECK(t, waited < (stubborn ? 2.0 + 2.0 : 1.5),
                 "exit %.2f s after SIGINT (grace 2 s, hooks %s TERM)",
                 waited, stubborn ? "ignoring" : "dying on");
        PG_CHECK(t, !stubborn || waited > 1.8, "hooks that ignore SIGTERM "
                 "were killed %.2f s after SIGINT, before --grace 2", waited);
        check_pids_gone(t, pids);
        free(body);
    }

    /* --resume runs the two hooks again, fetching nothing. */
    {
        char *log = pg_path(t, "resumed.log");
        char *cmd = pg_strdupf("printf '%%s %%s\\n' \"$1\" "
                               "\"$PAGEGRAB_URL\" >> '%s'", log);
        unsigned long hits = pg_test_server_total(srv);
        struct pg_args x = {{0}, 0};
        struct pg_strlist l;
        struct pg_manifest m;
        struct pg_run r;

        pg_args_push(&x, "--mode", t->mode, "-o", out, "--manifest", man,
                     "--resume", "--exec", cmd, END);
        for (int i = 0; i < 2; i++)
            pg_args_push(&x, pg_strdupf("http://127.0.0.1:%u/f/%d.txt",
                                        pg_test_server_port(srv), i), END);
        pg_run(t, &r, NULL, 60, x.v);
        PG_CHECK_INT(t, r.code, 0, "exit status of --resume");
        PG_CHECK_INT(t, pg_test_server_total(srv), hits,
                     "requests during --resume");
        read_lines(log, &l);
        PG_CHECK_INT(t, l.n, 2, "hooks run again by --resume");
        pg_manifest_must_load(t, man, &m);
        for (int i = 0; i < 2; i++) {
            char *url = pg_strdupf("http://127.0.0.1:%u/f/%d.txt",
                                   pg_test_server_port(srv), i);
            const struct pg_record *rec = last_rec(&m, url);

            PG_CHECK(t, rec && pg_record_int(rec, "exec_status", -1) == 0 &&
                     pg_record_int(rec, "http_code", 0) == 200,
                     "the resumed hook's record of %s", url);
        }
        pg_manifest_release(&m);
    }
    pg_test_server_stop(srv);
}

/*
 * A hook holds no descriptor of pagegrab: not one it inherited (fd 7
 * here, open without close-on-exec), not the manifest, output directory,
 * wake pipe, worker sockets or transfers' sockets.  And in process mode
 * no worker holds a hook's pidfd or the epoll descriptor.
 */
static void test_fds(struct pg_test *t)
{
    const struct pg_test_route routes[] = {
        { .path = "/f/", .body = BODY_A, .body_len = 6, .delay_ms = 100,
          .content_type = "text/plain", .flags = PG_ROUTE_PREFIX },
    };
    struct pg_test_server *srv = start_server(t, routes, 1);
    char *man = pg_path(t, "m.jsonl"), *out = pg_path(t, "out");
    char *cmd = hook(t, "fds.sh",
        "d=$(dirname \"$0\")\n"
        "ls -l /proc/self/fd/ | sed -n 's/.* \\([0-9][0-9]*\\) -> \\(.*\\)/"
        "\\1 \\2/p' | grep -v '^[012] ' | grep -v ' /proc/.*/fd$' "
        ">> \"$d/leaks.log\"\n"
        "for c in $(cat /proc/$PPID/task/*/children 2>/dev/null); do\n"
        "  [ \"$c\" = $$ ] && continue\n"
        "  ls -l /proc/$c/fd/ 2>/dev/null | grep -e pidfd -e eventpoll "
        "| sed \"s/^/worker $c: /\" >> \"$d/leaks.log\"\n"
        "done\necho ran >> \"$d/ran.log\"");
    struct pg_args x = {{0}, 0};
    struct pg_strlist l;
    char *leaks;
    struct pg_run r;
    int fd = open(pg_path(t, "held"), O_WRONLY | O_CREAT, 0600);

    PG_CHECK(t, fd >= 0 && dup2(fd, 7) == 7, "cannot hold fd 7");
    pg_args_push(&x, "--mode", t->mode, "-j", "3", "-o", out, "--manifest",
                 man, "--exec", cmd, "--exec-jobs", "2", END);
    for (int i = 0; i < 8; i++)
        pg_args_push(&x, pg_strdupf("http://127.0.0.1:%u/f/%d.txt",
                                    pg_test_server_port(srv), i), END);
    pg_run(t, &r, NULL, 60, x.v);
    close(7);
    PG_CHECK_INT(t, r.code, 0, "exit status");
    read_lines(pg_path(t, "ran.log"), &l);
    PG_CHECK_INT(t, l.n, 8, "hook runs");
    leaks = pg_read_file(pg_path(t, "leaks.log"), NULL);
    PG_CHECK(t, !leaks || !leaks[0], "descriptors seen in hooks:\n%s",
             leaks);
    pg_test_server_stop(srv);
}

/* Options are checked: a bad --exec-jobs, an empty command. */
static void test_options(struct pg_test *t)
{
    const char *bad[][2] = { { "--exec-jobs", "0" },
                             { "--exec-jobs", "1025" },
                             { "--exec", "" } };

    for (size_t i = 0; i < 3; i++) {
        struct pg_args x = {{0}, 0};
        struct pg_run r;

        pg_args_push(&x, "--mode", t->mode, "--exec", "true", bad[i][0],
                     bad[i][1], "http://127.0.0.1:1/x", END);
        pg_run(t, &r, NULL, 30, x.v);
        PG_CHECK_INT(t, r.code, 2, bad[i][0]);
        PG_CHECK(t, strstr(r.err, bad[i][0]) != NULL,
                 "the message does not name %s: %s", bad[i][0], r.err);
    }
}

static const struct pg_test_case cases[] = {
    {"env", test_env, PG_TEST_PER_MODE, 90},
    {"jobs", test_jobs, PG_TEST_PER_MODE, 90},
    {"fail", test_fail, PG_TEST_PER_MODE, 90},
    {"injection", test_injection, PG_TEST_PER_MODE, 90},
    {"sigint_resume", test_sigint_resume, PG_TEST_PER_MODE, 120},
    {"fds", test_fds, PG_TEST_PER_MODE, 90},
    {"options", test_options, PG_TEST_PER_MODE, 60},
};

int main(int argc, char **argv)
{
    return pg_test_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
