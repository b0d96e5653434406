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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define END ((const char *)NULL)

static struct pg_test_server *start(struct pg_test *t,
                                    const struct pg_test_route *r, size_t n)
{
    struct pg_test_server *srv = pg_test_server_start(r, n);

    if (!srv)
        pg_test_fail(t, "cannot start the test server");
    return srv;
}

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

    return start(t, r, sizeof(r) / sizeof(r[0]));
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

static const struct pg_test_case cases[] = {
    {"referer", test_referer, PG_TEST_PER_MODE, 90},
};

int main(int argc, char **argv)
{
    return pg_test_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
