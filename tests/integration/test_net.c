/*
 * test_net.c - integration tests for what goes over the network (issue 9):
 * custom --header lines reach only the origins of the input URLs (never
 * a linked origin, its robots.txt or a redirect target elsewhere), and
 * --min-rate with --stall stops a trickle that never stops by itself.
 *
 * Two servers on 127.0.0.1 with different ports are two origins. Each
 * route of the servers keeps the headers of its latest request; every
 * route asserted on is requested once per run.
 *
 * Tests flagged PG_TEST_PER_MODE run with --mode thread and --mode
 * process; PG_TEST_PER_WORKER=K adds --per-worker K (the multi path).
 */
#include "fault.h"
#include "server.h"
#include "testlib.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define END ((const char *)NULL)

#define TOKEN "X-Token"
#define SECRET "secret-3141"

/* The route at path of srv was requested and its latest request carried
 * the custom header (want 1) or did not (want 0). */
static void check_token(struct pg_test *t, struct pg_test_server *srv,
                        const char *who, const char *path, int want)
{
    char v[256];
    int got;

    /* The server keeps the headers of a route's latest request: a route
     * that must not see the header must have been requested once. */
    if (want)
        PG_CHECK(t, pg_test_server_hits(srv, path, NULL) >= 1,
                 "%s%s was never requested", who, path);
    else
        PG_CHECK_INT(t, pg_test_server_hits(srv, path, NULL), 1, path);
    got = pg_test_server_header(srv, path, TOKEN, v, sizeof(v));
    if (want)
        PG_CHECK(t, got && !strcmp(v, SECRET), "%s%s: expected %s: %s, "
                 "got '%s'", who, path, TOKEN, SECRET, got ? v : "(none)");
    else
        PG_CHECK(t, !got, "%s%s received %s: %s (a header leak)", who, path,
                 TOKEN, v);
}

static const char IMG[] = "\xff\xd8\xff\xe0 not really a jpeg, but bytes";
static const char ROBOTS[] = "User-agent: *\nDisallow: /nothing/\n";

/*
 * B: another origin (same address, other port).  Everything on it must
 * arrive without the custom header.
 */
static struct pg_test_server *start_b(struct pg_test *t)
{
    static const struct pg_test_route b[] = {
        {.path = "/img.jpg", .body = IMG, .body_len = sizeof(IMG) - 1,
         .content_type = "image/jpeg"},
        {.path = "/target.jpg", .body = IMG, .body_len = sizeof(IMG) - 1,
         .content_type = "image/jpeg"},
        {.path = "/file.bin", .body = IMG, .body_len = sizeof(IMG) - 1,
         .content_type = "application/octet-stream"},
        {.path = "/robots.txt", .body = ROBOTS,
         .body_len = sizeof(ROBOTS) - 1, .content_type = "text/plain"},
    };

    return pg_test_server_must_start(t, b, sizeof(b) / sizeof(b[0]));
}

/* Crawl: a page on A links to an image on B, an image on A that
 * redirects to B, and one that redirects within A. */
static void test_header_crawl(struct pg_test *t)
{
    struct pg_test_server *b = start_b(t);
    unsigned pb = pg_test_server_port(b);
    char *page = pg_strdupf(
        "<html><body>\n"
        "<img src=\"http://127.0.0.1:%u/img.jpg\">\n"
        "<img src=\"/away.jpg\">\n<img src=\"/here.jpg\">\n"
        "<img src=\"/a.jpg\">\n</body></html>\n", pb);
    char *away = pg_strdupf("Location: http://127.0.0.1:%u/target.jpg",
                            pb);
    const struct pg_test_route a[] = {
        {.path = "/index.html", .body = page, .body_len = strlen(page),
         .content_type = "text/html"},
        {.path = "/away.jpg", .status = 302, .headers = away},
        {.path = "/here.jpg", .status = 301, .headers = "Location: /a2.jpg"},
        {.path = "/a.jpg", .body = IMG, .body_len = sizeof(IMG) - 1,
         .content_type = "image/jpeg"},
        {.path = "/a2.jpg", .body = IMG, .body_len = sizeof(IMG) - 1,
         .content_type = "image/jpeg"},
        {.path = "/robots.txt", .body = ROBOTS,
         .body_len = sizeof(ROBOTS) - 1, .content_type = "text/plain"},
    };
    struct pg_test_server *sa = pg_test_server_must_start(t, a, sizeof(a) / sizeof(a[0]));
    char *start_url = pg_strdupf("http://127.0.0.1:%u/index.html",
                                 pg_test_server_port(sa));
    char *out = pg_path(t, "out");
    char *man = pg_path(t, "m.jsonl");
    struct pg_args x = {{0}, 0};
    struct pg_run r;

    pg_args_push(&x, "--mode", t->mode, "-o", out, "--manifest", man,
              "--images", "--header", TOKEN ": " SECRET, "-q", start_url,
              END);
    pg_run(t, &r, NULL, 60, x.v);
    PG_CHECK_INT(t, r.code, 0, "exit status");
    check_token(t, sa, "A", "/index.html", 1);
    check_token(t, sa, "A", "/robots.txt", 1);
    check_token(t, sa, "A", "/a.jpg", 1);
    check_token(t, sa, "A", "/away.jpg", 1);
    check_token(t, sa, "A", "/here.jpg", 1);
    check_token(t, sa, "A", "/a2.jpg", 1);
    check_token(t, b, "B", "/img.jpg", 0);
    check_token(t, b, "B", "/target.jpg", 0);
    check_token(t, b, "B", "/robots.txt", 0);
    pg_run_release(&r);
    pg_test_server_stop(sa);
    pg_test_server_stop(b);
    free(page);
    free(away);
    free(start_url);
}

/* Batch: input URLs on A, one redirecting to B. */
static void test_header_batch(struct pg_test *t)
{
    struct pg_test_server *b = start_b(t);
    char *away = pg_strdupf("Location: http://127.0.0.1:%u/file.bin",
                            pg_test_server_port(b));
    const struct pg_test_route a[] = {
        {.path = "/one.bin", .body = IMG, .body_len = sizeof(IMG) - 1,
         .content_type = "application/octet-stream"},
        {.path = "/away.bin", .status = 307, .headers = away},
        {.path = "/here.bin", .status = 302, .headers = "Location: /two.bin"},
        {.path = "/two.bin", .body = IMG, .body_len = sizeof(IMG) - 1,
         .content_type = "application/octet-stream"},
    };
    struct pg_test_server *sa = pg_test_server_must_start(t, a, sizeof(a) / sizeof(a[0]));
    unsigned pa = pg_test_server_port(sa);
    char *u1 = pg_strdupf("http://127.0.0.1:%u/one.bin", pa);
    char *u2 = pg_strdupf("http://127.0.0.1:%u/away.bin", pa);
    char *u3 = pg_strdupf("http://127.0.0.1:%u/here.bin", pa);
    char *out = pg_path(t, "out");
    char *man = pg_path(t, "m.jsonl");
    struct pg_args x = {{0}, 0};
    struct pg_run r;

    pg_args_push(&x, "--mode", t->mode, "-o", out, "--manifest", man,
              "-H", TOKEN ": " SECRET, "-q", u1, u2, u3, END);
    pg_run(t, &r, NULL, 60, x.v);
    PG_CHECK_INT(t, r.code, 0, "exit status");
    check_token(t, sa, "A", "/one.bin", 1);
    check_token(t, sa, "A", "/away.bin", 1);
    check_token(t, sa, "A", "/here.bin", 1);
    check_token(t, sa, "A", "/two.bin", 1);
    check_token(t, b, "B", "/file.bin", 0);
    pg_run_release(&r);
    pg_test_server_stop(sa);
    pg_test_server_stop(b);
    free(away);
    free(u1);
    free(u2);
    free(u3);
}

/*
 * Redirects followed by pagegrab (items with custom headers) keep
 * libcurl's rules: --max-redirs, and http/https only.
 */
static void test_header_redirect_rules(struct pg_test *t)
{
    const struct pg_test_route a[] = {
        {.path = "/loop.bin", .status = 302, .headers = "Location: /loop.bin"},
        {.path = "/file.bin", .status = 302,
         .headers = "Location: file:///etc/passwd"},
    };
    struct pg_test_server *sa = pg_test_server_must_start(t, a, sizeof(a) / sizeof(a[0]));
    unsigned pa = pg_test_server_port(sa);
    char *u1 = pg_strdupf("http://127.0.0.1:%u/loop.bin", pa);
    char *u2 = pg_strdupf("http://127.0.0.1:%u/file.bin", pa);
    char *out = pg_path(t, "out");
    char *man = pg_path(t, "m.jsonl");
    struct pg_args x = {{0}, 0};
    struct pg_manifest m;
    struct pg_run r;
    size_t i;

    pg_args_push(&x, "--mode", t->mode, "-o", out, "--manifest", man,
              "-H", TOKEN ": " SECRET, "--max-redirs", "3", "-q", u1, u2,
              END);
    pg_run(t, &r, NULL, 60, x.v);
    PG_CHECK_INT(t, r.code, 1, "exit status");
    pg_manifest_must_load(t, man, &m);
    PG_CHECK_INT(t, m.n, 2, "manifest records");
    for (i = 0; i < m.n; i++)
        PG_CHECK_STR(t, pg_record_str(&m.rec[i], "status"),
                     "redirect-error", pg_record_str(&m.rec[i], "url"));
    PG_CHECK_INT(t, pg_test_server_hits(sa, "/loop.bin", NULL), 4,
                 "requests of the loop (1 + 3 redirects)");
    pg_manifest_release(&m);
    pg_run_release(&r);
    pg_test_server_stop(sa);
    free(u1);
    free(u2);
}

/* A 4 B/s trickle stops as a stall with --stall 2 --min-rate 100. */
static void test_min_rate(struct pg_test *t)
{
    const struct pg_test_route routes[] = {
        {.path = "/drip.bin", .fault = PG_FAULT_DRIP,
         .flags = PG_ROUTE_CHUNKED, .gen_len = 65536, .gen_seed = 7,
         .cut = 16, .interval_ms = 250,
         .content_type = "application/octet-stream"},
    };
    struct pg_test_server *srv = pg_test_server_start_on(routes, 1, NULL);
    char *url;
    char *out = pg_path(t, "out");
    char *man = pg_path(t, "m.jsonl");
    struct pg_args x = {{0}, 0};
    struct pg_manifest m;
    struct pg_run r;

    if (!srv)
        pg_test_fail(t, "cannot start the fault server");
    url = pg_fault_url(srv, "/drip.bin");
    pg_args_push(&x, "--mode", t->mode, "-o", out, "--manifest", man,
              "--stall", "2", "--min-rate", "100", "--retries", "0",
              "-q", url, END);
    pg_run(t, &r, NULL, 40, x.v);
    PG_CHECK_INT(t, r.code, 1, "exit status");
    /* Generous: the stall fires after about 2 s; 4 B/s never ends. */
    PG_CHECK(t, r.secs < 20, "the trickle ran %.1f s", r.secs);
    pg_manifest_must_load(t, man, &m);
    PG_CHECK_INT(t, m.n, 1, "manifest records");
    PG_CHECK_STR(t, pg_record_str(&m.rec[0], "status"), "network-error",
                 "status of the trickle");
    pg_manifest_release(&m);
    pg_run_release(&r);
    pg_test_server_stop(srv);
    free(url);
}

/*
 * Every numeric option refuses a sign, leading space, overflow, an empty
 * value and trailing junk, on the command line and in the config file,
 * with a usage error naming the option and the value.  (" -5" was taken
 * by --max-size as 2^64 - 5.)
 */
static void test_numeric_values(struct pg_test *t)
{
    static const char *const opts[] = {
        "jobs", "per-worker", "connect-timeout", "timeout", "stall",
        "min-rate", "max-redirs", "depth", "per-host", "wait", "retries",
        "retry-delay", "max-retry-wait", "max-size", "max-pages", "quota",
        "grace",
    };
    static const char *const bad[] = {
        " -5", "-5", "+5", " 5", "5 ", "", "5x", "0x10", "1e3",
        "99999999999999999999999", "inf", "nan", "5kk", "--5", "5..0",
    };
    char *conf = pg_path(t, "p.conf");
    size_t i, j;

    for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        for (j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
            char *opt = pg_strdupf("--%s=%s", opts[i], bad[j]);
            char *want = pg_strdupf("'%s' for --%s", bad[j], opts[i]);
            const char *args[] = {opt, "http://127.0.0.1:1/", NULL};
            struct pg_run r;

            pg_run(t, &r, NULL, 30, args);
            PG_CHECK(t, r.code == 2, "%s: exit status %d, expected 2", opt,
                     r.code);
            PG_CHECK(t, strstr(r.err, want), "%s: the message does not "
                     "name it: %s", opt, r.err);
            pg_run_release(&r);
            free(want);
            free(opt);
        }
        for (j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
            char *line = pg_strdupf("%s = %s\n", opts[i], bad[j]);
            char *want = pg_strdupf("'%s'", opts[i]);
            const char *args[] = {"--config", conf, "http://127.0.0.1:1/",
                                  NULL};
            struct pg_run r;

            /* (Values are trimmed in the file: " 5" is "5" there.) */
            if (bad[j][0] == ' ' ||
                (bad[j][0] && bad[j][strlen(bad[j]) - 1] == ' ')) {
                free(line);
                free(want);
                continue;
            }
            pg_write_file(t, conf, line, strlen(line));
            pg_run(t, &r, NULL, 30, args);
            PG_CHECK(t, r.code == 2, "config '%s': exit status %d, "
                     "expected 2", line, r.code);
            PG_CHECK(t, strstr(r.err, want), "config '%s': the message "
                     "does not name the key: %s", line, r.err);
            pg_run_release(&r);
            free(want);
            free(line);
        }
    }
}

/*
 * A local IPv4 address that pagegrab counts as public (not loopback,
 * RFC 1918, link-local, CGNAT or 0/8), e.g. 192.0.2.2 on a test
 * machine, into buf; 0 if the machine has none.
 */
static int public_local_addr(char *buf, size_t len)
{
    struct ifaddrs *all, *i;
    int found = 0;

    if (getifaddrs(&all))
        return 0;
    for (i = all; i && !found; i = i->ifa_next) {
        const unsigned char *a;

        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
            continue;
        a = (const unsigned char *)&((const struct sockaddr_in *)(const void *)
                                     i->ifa_addr)->sin_addr;
        if (a[0] == 127 || a[0] == 10 || a[0] == 0 ||
            (a[0] == 172 && (a[1] & 0xf0) == 16) ||
            (a[0] == 192 && a[1] == 168) || (a[0] == 169 && a[1] == 254) ||
            (a[0] == 100 && (a[1] & 0xc0) == 64))
            continue;
        found = inet_ntop(AF_INET, a, buf, (socklen_t)len) != NULL;
    }
    freeifaddrs(all);
    return found;
}

/*
 * A public URL that redirects to a private address is refused without
 * --allow-private (batch and crawl), and a page reached that way never
 * lets its links reach private addresses.  Needs a local address that
 * counts as public; skipped without one.
 */
static void test_redirect_private(struct pg_test *t)
{
    static const char PAGE[] =
        "<html><body><img src=\"/y.jpg\"></body></html>\n";
    const struct pg_test_route q_routes[] = {
        {.path = "/page.html", .body = PAGE, .body_len = sizeof(PAGE) - 1,
         .content_type = "text/html"},
        {.path = "/x.jpg", .body = IMG, .body_len = sizeof(IMG) - 1,
         .content_type = "image/jpeg"},
        {.path = "/y.jpg", .body = IMG, .body_len = sizeof(IMG) - 1,
         .content_type = "image/jpeg"},
    };
    char addr[INET_ADDRSTRLEN];
    struct pg_test_server *q, *p;
    char *to_page, *to_img, *u_page, *u_img;
    int allow;

    if (!public_local_addr(addr, sizeof(addr)))
        pg_test_skip(t, "no local address that counts as public");
    q = pg_test_server_start_on(q_routes, 3, "127.0.0.1");
    if (!q)
        pg_test_fail(t, "cannot start the private server");
    to_page = pg_strdupf("Location: http://127.0.0.1:%u/page.html",
                         pg_fault_port(q));
    to_img = pg_strdupf("Location: http://127.0.0.1:%u/x.jpg",
                        pg_fault_port(q));
    {
        const struct pg_test_route p_routes[] = {
            {.path = "/start.html", .status = 302, .headers = to_page},
            {.path = "/img.jpg", .status = 302, .headers = to_img},
        };

        p = pg_test_server_start_on(p_routes, 2, addr);
    }
    if (!p)
        pg_test_skip(t, "cannot listen on %s", addr);
    u_page = pg_fault_url(p, "/start.html");
    u_img = pg_fault_url(p, "/img.jpg");
    for (allow = 0; allow <= 1; allow++) {
        char *out = pg_path(t, "out%d", allow);
        char *man = pg_path(t, "m%d.jsonl", allow);
        char *out2 = pg_path(t, "crawl%d", allow);
        char *man2 = pg_path(t, "c%d.jsonl", allow);
        const char *want = allow ? "ok" : "blocked";
        struct pg_args x = {{0}, 0};
        struct pg_args c = {{0}, 0};
        struct pg_manifest m;
        struct pg_run r;

        pg_fault_reset(q);
        pg_args_push(&x, "--mode", t->mode, "-o", out, "--manifest", man,
                  "-q", u_img, END);
        if (allow)
            pg_args_push(&x, "--allow-private", END);
        pg_run(t, &r, NULL, 60, x.v);
        PG_CHECK_INT(t, r.code, allow ? 0 : 1, "batch exit status");
        pg_manifest_must_load(t, man, &m);
        PG_CHECK_STR(t, pg_record_str(&m.rec[0], "status"), want,
                     "public URL redirected to 127.0.0.1");
        PG_CHECK_INT(t, pg_fault_hits(q, "/x.jpg"), allow, "private hits");
        pg_manifest_release(&m);
        pg_run_release(&r);

        pg_args_push(&c, "--mode", t->mode, "-o", out2, "--manifest", man2,
                  "--images", "--no-robots", "-q", u_page, END);
        if (allow)
            pg_args_push(&c, "--allow-private", END);
        pg_run(t, &r, NULL, 60, c.v);
        PG_CHECK_INT(t, r.code, allow ? 0 : 1, "crawl exit status");
        PG_CHECK_INT(t, pg_fault_hits(q, "/page.html"), allow,
                     "private page hits");
        PG_CHECK_INT(t, pg_fault_hits(q, "/y.jpg"), allow,
                     "hits of the private page's image");
        pg_run_release(&r);
    }
    pg_test_server_stop(p);
    pg_test_server_stop(q);
    free(to_page);
    free(to_img);
    free(u_page);
    free(u_img);
}

static const struct pg_test_case cases[] = {
    {"header_crawl", test_header_crawl, PG_TEST_PER_MODE, 90},
    {"header_batch", test_header_batch, PG_TEST_PER_MODE, 90},
    {"header_redirect_rules", test_header_redirect_rules, PG_TEST_PER_MODE,
     60},
    {"min_rate", test_min_rate, PG_TEST_PER_MODE, 90},
    {"redirect_private", test_redirect_private, PG_TEST_PER_MODE, 120},
    {"numeric_values", test_numeric_values, 0, 300},
};

int main(int argc, char **argv)
{
    return pg_test_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
