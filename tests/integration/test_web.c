/*
 * test_web.c - integration tests for the real web's habits (issue 12):
 * the Referer of discovered links (--no-referer), cookies shared by
 * every worker in both modes (--load-cookies, --save-cookies), and
 * proxies (--proxy, --no-proxy, the proxy variables, the private-address
 * rule for the target behind a proxy).
 *
 * The guarded site answers 403 unless a request carries what its route
 * requires (tests/lib/server.c: .require).  The forward proxy is the
 * same test server: libmicrohttpd hands it the absolute URI of a proxy
 * request as the path, so its routes are absolute URLs, and it counts
 * every request it gets.
 *
 * Tests flagged PG_TEST_PER_MODE run with --mode thread and --mode
 * process; PG_TEST_PER_WORKER=K adds --per-worker K (the multi path).
 */
#include "server.h"
#include "testlib.h"
#include "tlscert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define END ((const char *)NULL)

/* Images per page: enough that -j 4 spreads them over every worker. */
static unsigned n_images(void)
{
    return 8 * pg_test_per_worker();
}

/* A gallery page linking to n images /img/000000.bin... */
static char *gallery(unsigned n)
{
    size_t cap = 64 + (size_t)n * 40, len = 0;
    char *p = malloc(cap);
    unsigned i;

    if (!p)
        abort();
    len += (size_t)snprintf(p + len, cap - len, "<html><body>\n");
    for (i = 0; i < n; i++)
        len += (size_t)snprintf(p + len, cap - len,
                                "<img src=\"/img/%06u.bin\">\n", i);
    snprintf(p + len, cap - len, "</body></html>\n");
    return p;
}

/* The guarded site: the gallery (which sets the cookie when set_cookie)
 * and its images, which require `require`. */
static struct pg_test_server *guarded_site(struct pg_test *t,
                                           const char *page,
                                           const char *set_cookie,
                                           const char *require)
{
    const struct pg_test_route r[] = {
        {.path = "/gallery.html", .body = page, .body_len = strlen(page),
         .content_type = "text/html", .headers = set_cookie},
        {.path = "/img/", .kind = PG_ROUTE_FILES, .nfiles = 1000,
         .size_min = 100, .size_max = 200, .delay_ms = 100,
         .content_type = "image/jpeg", .require = require},
        {.path = "/robots.txt", .status = 404},
    };

    return pg_test_server_must_start(t, r, sizeof(r) / sizeof(r[0]));
}

/* ---- Referer ---------------------------------------------------------- */

/*
 * Images that require the gallery as Referer download; with
 * --no-referer every one gets 403.  The input page itself is requested
 * without a Referer.
 */
static void test_referer(struct pg_test *t)
{
    char *page = gallery(n_images());
    struct pg_test_server *srv = guarded_site(t, page, NULL,
                                              "Referer: /gallery.html");
    char *url = pg_test_server_url(srv, "/gallery.html");
    int off;

    for (off = 0; off <= 1; off++) {
        char *out = pg_path(t, "out%d", off);
        char *man = pg_path(t, "m%d.jsonl", off);
        struct pg_args x = {{0}, 0};
        struct pg_manifest m;
        const struct pg_record *rec;
        struct pg_run r;
        char v[512];

        pg_args_push(&x, "--mode", t->mode, "-j", "4", "-o", out,
                     "--manifest", man, "--images", "-q", url, END);
        if (off)
            pg_args_push(&x, "--no-referer", END);
        pg_run(t, &r, NULL, 60, x.v);
        PG_CHECK_INT(t, r.code, off ? 1 : 0, "exit status");
        PG_CHECK(t, !pg_test_server_header(srv, "/gallery.html", "Referer",
                                           v, sizeof(v)),
                 "the input page was sent Referer: %s", v);
        pg_manifest_must_load(t, man, &m);
        PG_CHECK_INT(t, m.n, n_images() + 1, "records");
        rec = pg_manifest_find(&m, url);
        PG_CHECK(t, rec != NULL, "no record of the page");
        PG_CHECK_STR(t, pg_record_str(rec, "status"), "ok", "the page");
        for (size_t i = 0; i < m.n; i++) {
            if (&m.rec[i] == rec)
                continue;
            PG_CHECK_STR(t, pg_record_str(&m.rec[i], "status"),
                         off ? "http-error" : "ok",
                         pg_record_str(&m.rec[i], "url"));
            if (off)
                PG_CHECK_INT(t, pg_record_int(&m.rec[i], "http_code", -1),
                             403, pg_record_str(&m.rec[i], "url"));
        }
        pg_manifest_release(&m);
        pg_run_release(&r);
    }
    pg_test_server_stop(srv);
    free(page);
    free(url);
}

/* ---- Cookies ----------------------------------------------------------- */

#define COOKIE_SET "Set-Cookie: sid=s3cret-42; Path=/"
#define COOKIE_NEED "Cookie: sid=s3cret-42\nReferer: /gallery.html"

/*
 * The gallery sets a session cookie; its images require the cookie and
 * the gallery as Referer.  With -j 4 every image is ok in both modes.
 * The images are slow (100 ms) and many, so they run on several workers
 * at once (the server's waiting peak is above what one worker runs):
 * the cookie set in the gallery's worker reached the others.
 */
static void test_cookie_shared(struct pg_test *t)
{
    char *page = gallery(n_images());
    struct pg_test_server *srv = guarded_site(t, page, COOKIE_SET,
                                              COOKIE_NEED);
    char *url = pg_test_server_url(srv, "/gallery.html");
    char *out = pg_path(t, "out");
    char *man = pg_path(t, "m.jsonl");
    struct pg_args x = {{0}, 0};
    struct pg_run r;

    pg_args_push(&x, "--mode", t->mode, "-j", "4", "-o", out,
                 "--manifest", man, "--images", "-q", url, END);
    pg_run(t, &r, NULL, 60, x.v);
    PG_CHECK_INT(t, r.code, 0, "exit status");
    PG_CHECK_INT(t, pg_manifest_check_all(t, man, "ok"), n_images() + 1, "records");
    PG_CHECK(t, pg_test_server_wait_peak(srv) > pg_test_per_worker(),
             "images waiting at once: %u, not more than one worker runs "
             "(%u): the test proves nothing",
             pg_test_server_wait_peak(srv), pg_test_per_worker());
    pg_run_release(&r);
    pg_test_server_stop(srv);
    free(page);
    free(url);
}

/* Input URLs of the images only: without the page, only --load-cookies
 * gives the cookie. */
static void run_images(struct pg_test *t, struct pg_test_server *srv,
                       const char *tag, const char *opt, const char *file,
                       int want_code)
{
    char *out = pg_path(t, "out-%s", tag);
    char *man = pg_path(t, "m-%s.jsonl", tag);
    char *list = pg_path(t, "urls-%s.txt", tag);
    char *urls = malloc(64 * (size_t)n_images() + 1);
    struct pg_args x = {{0}, 0};
    struct pg_run r;
    size_t len = 0;
    unsigned i;

    if (!urls)
        abort();
    for (i = 0; i < n_images(); i++) {
        char path[32];
        char *u;

        snprintf(path, sizeof(path), "/img/%06u.bin", i);
        u = pg_test_server_url(srv, path);
        len += (size_t)sprintf(urls + len, "%s\n", u);
        free(u);
    }
    pg_write_file(t, list, urls, len);
    pg_args_push(&x, "--mode", t->mode, "-j", "4", "-o", out,
                 "--manifest", man, "-q", "-i", list, END);
    if (opt)
        pg_args_push(&x, opt, file, END);
    pg_run(t, &r, NULL, 60, x.v);
    PG_CHECK_INT(t, r.code, want_code, tag);
    if (want_code != 2)
        PG_CHECK_INT(t, pg_manifest_check_all(t, man, want_code ? "http-error" : "ok"),
                     n_images(), "records");
    if (want_code == 2)
        PG_CHECK(t, strstr(r.err, file) != NULL, "the error does not name "
                 "'%s': %s", file, r.err);
    pg_run_release(&r);
    free(urls);
}

/* --load-cookies: a cookies.txt as curl and wget write it (#HttpOnly_
 * lines, comments); a missing file is an error naming it. */
static void test_load_cookies(struct pg_test *t)
{
    static const char jar[] =
        "# Netscape HTTP Cookie File\n"
        "# https://curl.se/docs/http-cookies.html\n\n"
        "#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tsid\ts3cret-42\n"
        "other.example\tTRUE\t/\tFALSE\t0\tsid\twrong\n";
    struct pg_test_server *srv = guarded_site(t, "", NULL,
                                              "Cookie: sid=s3cret-42");
    char *file = pg_path(t, "cookies.txt");

    pg_write_file(t, file, jar, sizeof(jar) - 1);
    run_images(t, srv, "without", NULL, NULL, 1);
    run_images(t, srv, "with", "--load-cookies", file, 0);
    run_images(t, srv, "missing", "--load-cookies",
               pg_path(t, "no-such-cookies.txt"), 2);
    pg_test_server_stop(srv);
    free(file);
}

/* --save-cookies writes what the site set (mode 0600); a later run
 * loads it back and is let in. */
static void test_save_cookies(struct pg_test *t)
{
    char *page = gallery(2);
    struct pg_test_server *srv = guarded_site(t, page, COOKIE_SET,
                                              "Cookie: sid=s3cret-42");
    char *url = pg_test_server_url(srv, "/gallery.html");
    char *file = pg_path(t, "saved.txt");
    char *out = pg_path(t, "out");
    struct pg_args x = {{0}, 0};
    struct stat st;
    struct pg_run r;
    char *text;

    pg_args_push(&x, "--mode", t->mode, "-o", out, "-q",
                 "--save-cookies", file, url, END);
    pg_run(t, &r, NULL, 60, x.v);
    PG_CHECK_INT(t, r.code, 0, "exit status");
    PG_CHECK(t, stat(file, &st) == 0, "no cookie file written");
    PG_CHECK(t, (st.st_mode & 0777) == 0600, "cookie file mode %o",
             (unsigned)(st.st_mode & 0777));
    text = pg_read_file(file, NULL);
    PG_CHECK(t, text && strstr(text, "\tsid\ts3cret-42"),
             "the cookie is not in the file: %s", text ? text : "(none)");
    pg_run_release(&r);
    run_images(t, srv, "reload", "--load-cookies", file, 0);
    pg_test_server_stop(srv);
    free(text);
    free(page);
    free(url);
}

/* ---- Proxy ------------------------------------------------------------- */

static const char DIRECT[] = "direct body\n";
static const char PROXIED[] = "proxied body\n";

struct proxy_pair {
    struct pg_test_server *target, *proxy;
    char *u1, *u2, *proxy_url;
};

/* A target with /a.bin and /b.bin, and a proxy answering the absolute
 * URIs of both (with another body). */
/* No proxy variable from the test's own environment. */
static void clear_proxy_env(void)
{
    unsetenv("http_proxy");
    unsetenv("all_proxy");
    unsetenv("ALL_PROXY");
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
}

/* (With cert and key: the proxy speaks TLS.) */
static void proxy_pair_tls(struct pg_test *t, struct proxy_pair *pp,
                           const char *cert, const char *key)
{
    static const struct pg_test_route tr[] = {
        {.path = "/a.bin", .body = DIRECT, .body_len = sizeof(DIRECT) - 1},
        {.path = "/b.bin", .body = DIRECT, .body_len = sizeof(DIRECT) - 1},
    };

    pp->target = pg_test_server_must_start(t, tr, 2);
    pp->u1 = pg_test_server_url(pp->target, "/a.bin");
    pp->u2 = pg_test_server_url(pp->target, "/b.bin");
    {
        const struct pg_test_route pr[] = {
            {.path = pp->u1, .body = PROXIED,
             .body_len = sizeof(PROXIED) - 1},
            {.path = pp->u2, .body = PROXIED,
             .body_len = sizeof(PROXIED) - 1},
        };

        pp->proxy = cert ? pg_test_server_start_tls(pr, 2, cert, key)
                         : pg_test_server_must_start(t, pr, 2);
        PG_CHECK(t, pp->proxy != NULL, "cannot start the proxy");
    }
    pp->proxy_url = pg_test_server_url(pp->proxy, "");
}

static void proxy_pair(struct pg_test *t, struct proxy_pair *pp)
{
    proxy_pair_tls(t, pp, NULL, NULL);
}

/* Fetch both URLs with the extra arguments (and the environment as it
 * is); want_proxy: every request went to the proxy, else none. */
static void run_pair(struct pg_test *t, struct proxy_pair *pp,
                     const char *tag, int want_proxy, const char *a1,
                     const char *a2, const char *a3)
{
    char *out = pg_path(t, "out-%s", tag);
    char *man = pg_path(t, "m-%s.jsonl", tag);
    char *body = pg_path(t, "out-%s/a.bin", tag);
    struct pg_args x = {{0}, 0};
    struct pg_run r;
    char *got;

    pg_test_server_reset(pp->proxy);
    pg_test_server_reset(pp->target);
    pg_args_push(&x, "--mode", t->mode, "-o", out, "--flat", "--manifest",
                 man, "-q", pp->u1, pp->u2, END);
    if (a1)
        pg_args_push(&x, a1, END);
    if (a2)
        pg_args_push(&x, a2, END);
    if (a3)
        pg_args_push(&x, a3, END);
    pg_run(t, &r, NULL, 60, x.v);
    PG_CHECK_INT(t, r.code, 0, tag);
    PG_CHECK_INT(t, pg_manifest_check_all(t, man, "ok"), 2, tag);
    PG_CHECK_INT(t, pg_test_server_total(pp->proxy), want_proxy ? 2 : 0,
                 "requests the proxy got");
    PG_CHECK_INT(t, pg_test_server_total(pp->target), want_proxy ? 0 : 2,
                 "requests the target got directly");
    got = pg_read_file(body, NULL);
    PG_CHECK_STR(t, got, want_proxy ? PROXIED : DIRECT, tag);
    free(got);
    pg_run_release(&r);
}

/* --proxy sends every request through the proxy; --no-proxy bypasses it;
 * a proxy scheme libcurl does not know is a usage error. */
static void test_proxy_option(struct pg_test *t)
{
    struct proxy_pair pp;
    struct pg_args x = {{0}, 0};
    struct pg_run r;

    clear_proxy_env();
    proxy_pair(t, &pp);
    run_pair(t, &pp, "proxy", 1, "--proxy", pp.proxy_url, NULL);
    run_pair(t, &pp, "noproxy", 0, "--proxy", pp.proxy_url,
             "--no-proxy=localhost,127.0.0.1");
    run_pair(t, &pp, "star", 0, "--proxy", pp.proxy_url, "--no-proxy=*");
    run_pair(t, &pp, "direct", 0, NULL, NULL, NULL);
    pg_args_push(&x, "--mode", t->mode, "-q", "--proxy", "ftp://127.0.0.1:1",
                 pp.u1, END);
    pg_run(t, &r, NULL, 30, x.v);
    PG_CHECK_INT(t, r.code, 2, "exit status with an ftp:// proxy");
    PG_CHECK(t, strstr(r.err, "ftp://127.0.0.1:1") != NULL,
             "the error does not name the proxy: %s", r.err);
    pg_run_release(&r);
    pg_test_server_stop(pp.proxy);
    pg_test_server_stop(pp.target);
}

/* An https:// proxy is verified like a server: trusted with
 * --proxy-ca-certificate, skipped with --no-check-certificate, and a
 * refused proxy certificate fails each URL at once (one attempt, no
 * request reaches the proxy or the target). */
static void test_https_proxy(struct pg_test *t)
{
    struct proxy_pair pp;
    struct pg_args x = {{0}, 0};
    struct pg_manifest m;
    struct pg_run r;
    char *dir = pg_path(t, "tls"), *ca, *man;

    if (!pg_test_server_tls_supported())
        pg_test_skip(t, "libmicrohttpd has no TLS");
    clear_proxy_env();
    pg_tls_make_certs(t, dir);
    ca = pg_path(t, "tls/ca.pem");
    proxy_pair_tls(t, &pp, pg_path(t, "tls/server.pem"),
                   pg_path(t, "tls/server.key"));
    PG_CHECK(t, !strncmp(pp.proxy_url, "https://", 8), "proxy URL %s",
             pp.proxy_url);
    run_pair(t, &pp, "proxy-ca", 1, pg_strdupf("--proxy=%s", pp.proxy_url),
             "--proxy-ca-certificate", ca);
    run_pair(t, &pp, "proxy-nocheck", 1, "--proxy", pp.proxy_url,
             "--no-check-certificate");

    /* Not trusted: each URL fails once, naming the certificate. */
    man = pg_path(t, "m-untrusted.jsonl");
    pg_test_server_reset(pp.proxy);
    pg_args_push(&x, "--mode", t->mode, "-o", pg_path(t, "out-untrusted"),
                 "--flat", "--manifest", man, "-q", "--retries", "3",
                 "--proxy", pp.proxy_url, pp.u1, pp.u2, END);
    pg_run(t, &r, NULL, 60, x.v);
    PG_CHECK_INT(t, r.code, 1, "exit status with an untrusted proxy");
    pg_manifest_must_load(t, man, &m);
    PG_CHECK_INT(t, m.n, 2, "records");
    for (size_t i = 0; i < m.n; i++) {
        const char *err = pg_record_str(&m.rec[i], "error");

        PG_CHECK_STR(t, pg_record_str(&m.rec[i], "status"), "network-error",
                     "untrusted proxy");
        PG_CHECK_INT(t, pg_record_int(&m.rec[i], "attempts", -1), 1,
                     "attempts with an untrusted proxy certificate");
        PG_CHECK(t, err && strstr(err, "certificate of the proxy") &&
                 strstr(err, "--proxy-ca-certificate"), "the error does "
                 "not name the proxy's certificate: %s", err ? err : "(null)");
    }
    pg_manifest_release(&m);
    PG_CHECK_INT(t, pg_test_server_total(pp.proxy), 0,
                 "requests that reached the untrusted proxy");
    PG_CHECK_INT(t, pg_test_server_total(pp.target), 0,
                 "requests that reached the target");
    pg_run_release(&r);

    /* An unreadable CA file is a usage error naming it. */
    x.n = 0;
    pg_args_push(&x, "--mode", t->mode, "-q", "--proxy", pp.proxy_url,
                 "--proxy-ca-certificate", pg_path(t, "no-such-ca.pem"),
                 pp.u1, END);
    pg_run(t, &r, NULL, 30, x.v);
    PG_CHECK_INT(t, r.code, 2, "exit status with a missing proxy CA file");
    PG_CHECK(t, strstr(r.err, "no-such-ca.pem") != NULL,
             "the error does not name the file: %s", r.err);
    pg_run_release(&r);
    pg_test_server_stop(pp.proxy);
    pg_test_server_stop(pp.target);
}

/* http_proxy and no_proxy / NO_PROXY are honoured as libcurl does;
 * --no-proxy '' and --proxy override them. */
static void test_proxy_env(struct pg_test *t)
{
    struct proxy_pair pp;

    proxy_pair(t, &pp);
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
    setenv("http_proxy", pp.proxy_url, 1);
    run_pair(t, &pp, "env", 1, NULL, NULL, NULL);
    setenv("NO_PROXY", "127.0.0.0/8", 1);
    run_pair(t, &pp, "env-noproxy", 0, NULL, NULL, NULL);
    run_pair(t, &pp, "env-noproxy-off", 1, "--no-proxy", "", NULL);
    unsetenv("NO_PROXY");
    /* Upper case HTTP_PROXY is not read for http (libcurl's rule). */
    unsetenv("http_proxy");
    setenv("HTTP_PROXY", pp.proxy_url, 1);
    run_pair(t, &pp, "env-upper", 0, NULL, NULL, NULL);
    unsetenv("HTTP_PROXY");
    pg_test_server_stop(pp.proxy);
    pg_test_server_stop(pp.target);
}

/*
 * Behind a proxy the target's own address is checked: a page on a
 * public address (198.51.100.7, answered by the proxy) linking to an
 * image on 127.0.0.1 gets it refused (blocked, never requested from the
 * proxy), unless --allow-private.
 */
static void test_proxy_private_target(struct pg_test *t)
{
    static const char PAGE_FMT[] =
        "<html><body><img src=\"http://198.51.100.7/ok.jpg\">\n"
        "<img src=\"%s\"></body></html>\n";
    struct proxy_pair pp;
    int allow;

    proxy_pair(t, &pp);
    pg_test_server_stop(pp.proxy);
    {
        char *page = pg_strdupf(PAGE_FMT, pp.u1);
        const struct pg_test_route pr[] = {
            {.path = "http://198.51.100.7/page.html", .body = page,
             .body_len = strlen(page), .content_type = "text/html"},
            {.path = "http://198.51.100.7/ok.jpg", .body = PROXIED,
             .body_len = sizeof(PROXIED) - 1, .content_type = "image/jpeg"},
            {.path = pp.u1, .body = PROXIED, .body_len = sizeof(PROXIED) - 1,
             .content_type = "image/jpeg"},
        };

        pp.proxy = pg_test_server_must_start(t, pr, 3);
        free(pp.proxy_url);
        pp.proxy_url = pg_test_server_url(pp.proxy, "");
    }
    for (allow = 0; allow <= 1; allow++) {
        char *out = pg_path(t, "out%d", allow);
        char *man = pg_path(t, "m%d.jsonl", allow);
        struct pg_args x = {{0}, 0};
        struct pg_manifest m;
        const struct pg_record *rec;
        struct pg_run r;

        pg_test_server_reset(pp.proxy);
        pg_args_push(&x, "--mode", t->mode, "-o", out, "--manifest", man,
                     "--images", "--no-robots", "-q", "--proxy",
                     pp.proxy_url, "http://198.51.100.7/page.html", END);
        if (allow)
            pg_args_push(&x, "--allow-private", END);
        pg_run(t, &r, NULL, 60, x.v);
        PG_CHECK_INT(t, r.code, allow ? 0 : 1, "exit status");
        pg_manifest_must_load(t, man, &m);
        PG_CHECK_INT(t, m.n, 3, "records");
        rec = pg_manifest_find(&m, "http://198.51.100.7/ok.jpg");
        PG_CHECK(t, rec != NULL, "no record of the public image");
        PG_CHECK_STR(t, pg_record_str(rec, "status"), "ok", "public image");
        rec = pg_manifest_find(&m, pp.u1);
        PG_CHECK(t, rec != NULL, "no record of the private image");
        PG_CHECK_STR(t, pg_record_str(rec, "status"),
                     allow ? "ok" : "blocked", "private image");
        PG_CHECK_INT(t, pg_test_server_hits(pp.proxy, pp.u1, NULL), allow,
                     "proxy requests for the private image");
        PG_CHECK_INT(t, pg_test_server_total(pp.target), 0,
                     "direct requests to the target");
        pg_manifest_release(&m);
        pg_run_release(&r);
    }
    pg_test_server_stop(pp.proxy);
    pg_test_server_stop(pp.target);
}

static const struct pg_test_case cases[] = {
    {"referer", test_referer, PG_TEST_PER_MODE, 90},
    {"cookie_shared", test_cookie_shared, PG_TEST_PER_MODE, 90},
    {"load_cookies", test_load_cookies, PG_TEST_PER_MODE, 120},
    {"save_cookies", test_save_cookies, PG_TEST_PER_MODE, 90},
    {"proxy_option", test_proxy_option, PG_TEST_PER_MODE, 120},
    {"proxy_env", test_proxy_env, PG_TEST_PER_MODE, 120},
    {"https_proxy", test_https_proxy, PG_TEST_PER_MODE, 120},
    {"proxy_private_target", test_proxy_private_target, PG_TEST_PER_MODE,
     90},
};

int main(int argc, char **argv)
{
    return pg_test_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
