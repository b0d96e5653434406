/*
 * test_server.c - self-tests of the test harness's HTTP server
 * (tests/lib/server.c), driven by libcurl: routes, status codes, headers,
 * large bodies, truncation, directory serving, request counters, and 64
 * concurrent keep-alive connections. They do not need pagegrab.
 */
#include "server.h"
#include "testlib.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct fetch {
    char *body;
    size_t len;
    size_t cap;
    long code;
    long connects;
    char *location;
    char *ctype;
    CURLcode rc;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    struct fetch *f = arg;
    size_t len = size * n;

    if (f->len + len + 1 > f->cap) {
        size_t cap = (f->len + len + 1) * 2;
        char *b = realloc(f->body, cap);

        if (!b)
            return 0;
        f->body = b;
        f->cap = cap;
    }
    memcpy(f->body + f->len, p, len);
    f->len += len;
    f->body[f->len] = '\0';
    return len;
}

static CURL *make_easy(struct fetch *f, const char *url)
{
    CURL *h = curl_easy_init();

    if (!h)
        return NULL;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    return h;
}

static void collect(CURL *h, struct fetch *f)
{
    char *s = NULL;

    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &f->code);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &f->connects);
    free(f->location);
    free(f->ctype);
    f->location = NULL;
    f->ctype = NULL;
    if (curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &s) == CURLE_OK && s)
        f->location = pg_strdupf("%s", s);
    s = NULL;
    if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &s) == CURLE_OK && s)
        f->ctype = pg_strdupf("%s", s);
}

/* When set, get() waits until this server has seen its request end, so
 * that serial requests never overlap in the server's count. */
static struct pg_test_server *serial_srv;

/* One blocking request; head = 1 for HEAD. */
static void get(struct pg_test *t, unsigned port, const char *path, int head,
                struct fetch *f)
{
    char *url = pg_strdupf("http://127.0.0.1:%u%s", port, path);
    CURL *h;

    memset(f, 0, sizeof(*f));
    h = make_easy(f, url);
    PG_CHECK(t, h, "curl_easy_init failed");
    if (head)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    f->rc = curl_easy_perform(h);
    collect(h, f);
    curl_easy_cleanup(h);
    free(url);
    for (int i = 0; serial_srv && i < 2000 &&
                    pg_test_server_inflight(serial_srv) > 0; i++)
        nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
}

static const char SMALL[] = "small body\n";

static void test_routes(struct pg_test *t)
{
    static const struct pg_test_route routes[] = {
        {.path = "/small", .body = SMALL, .body_len = sizeof(SMALL) - 1,
         .content_type = "text/plain",
         .headers = "X-Test: one\nX-Other:  two"},
        {.path = "/moved", .status = 302, .headers = "Location: /small"},
        {.path = "/gone", .status = 410, .body = "gone\n", .body_len = 5},
        {.path = "/empty"},
    };
    struct pg_test_server *srv = pg_test_server_start(routes, 4);
    unsigned port;
    struct fetch f;
    char *expect_loc;

    PG_CHECK(t, srv, "server did not start");
    serial_srv = srv;
    port = pg_test_server_port(srv);
    PG_CHECK(t, port > 0 && port < 65536, "bad port %u", port);

    get(t, port, "/small", 0, &f);
    PG_CHECK_INT(t, f.rc, CURLE_OK, "curl result for /small");
    PG_CHECK_INT(t, f.code, 200, "status of /small");
    PG_CHECK(t, f.len == sizeof(SMALL) - 1 && !memcmp(f.body, SMALL, f.len),
             "body of /small");
    PG_CHECK_STR(t, f.ctype, "text/plain", "content type of /small");

    get(t, port, "/moved", 0, &f);
    expect_loc = pg_strdupf("http://127.0.0.1:%u/small", port);
    PG_CHECK_INT(t, f.code, 302, "status of /moved");
    PG_CHECK_STR(t, f.location, expect_loc, "Location of /moved");

    get(t, port, "/gone", 0, &f);
    PG_CHECK_INT(t, f.code, 410, "status of /gone");
    PG_CHECK_INT(t, f.len, 5, "body length of /gone");

    get(t, port, "/empty", 0, &f);
    PG_CHECK_INT(t, f.code, 200, "status of /empty");
    PG_CHECK_INT(t, f.len, 0, "body length of /empty");
    PG_CHECK_STR(t, f.ctype, NULL, "content type of /empty (none set)");

    get(t, port, "/nowhere", 0, &f);
    PG_CHECK_INT(t, f.code, 404, "status of an unknown path");
    get(t, port, "/small?query=1", 0, &f);
    PG_CHECK_INT(t, f.code, 200, "a query string does not change the route");
    get(t, port, "/small", 1, &f);
    PG_CHECK_INT(t, f.code, 200, "HEAD /small");
    PG_CHECK_INT(t, f.len, 0, "HEAD body length");

    PG_CHECK_INT(t, pg_test_server_hits(srv, "/small", "GET"), 2,
                 "GET /small count");
    PG_CHECK_INT(t, pg_test_server_hits(srv, "/small", "HEAD"), 1,
                 "HEAD /small count");
    PG_CHECK_INT(t, pg_test_server_hits(srv, "/small", NULL), 3,
                 "all /small count");
    PG_CHECK_INT(t, pg_test_server_hits(srv, "/nowhere", NULL), 1,
                 "404 count");
    PG_CHECK_INT(t, pg_test_server_total(srv), 7, "total count");
    PG_CHECK_INT(t, pg_test_server_peak(srv), 1, "peak of serial requests");
    {
        char host[64];
        char want[64];

        snprintf(want, sizeof(want), "127.0.0.1:%u", port);
        PG_CHECK(t, pg_test_server_header(srv, "/small", "host", host,
                                          sizeof(host)),
                 "no Host header recorded");
        PG_CHECK_STR(t, host, want, "recorded Host header");
        PG_CHECK(t, !pg_test_server_header(srv, "/small", "X-None", host,
                                           sizeof(host)),
                 "a header that was not sent was found");
    }
    pg_test_server_reset(srv);
    PG_CHECK_INT(t, pg_test_server_total(srv), 0, "total after reset");
    PG_CHECK_INT(t, pg_test_server_hits(srv, "/small", NULL), 0,
                 "/small after reset");
    pg_test_server_stop(srv);
}

static void test_big_and_truncated(struct pg_test *t)
{
    const size_t big_len = 5 * 1024 * 1024;
    unsigned char *big = malloc(big_len);
    struct pg_test_route routes[2];
    struct pg_test_server *srv;
    struct fetch f;

    PG_CHECK(t, big, "out of memory");
    for (size_t i = 0; i < big_len; i++)
        big[i] = (unsigned char)(i * 7 + (i >> 12));
    memset(routes, 0, sizeof(routes));
    routes[0].path = "/big";
    routes[0].body = big;
    routes[0].body_len = big_len;
    routes[1].path = "/cut";
    routes[1].body = big;
    routes[1].body_len = 1024 * 1024;
    routes[1].fault = PG_FAULT_SHORT;
    srv = pg_test_server_start(routes, 2);
    PG_CHECK(t, srv, "server did not start");

    get(t, pg_test_server_port(srv), "/big", 0, &f);
    PG_CHECK_INT(t, f.rc, CURLE_OK, "curl result for /big");
    PG_CHECK(t, f.len == big_len && !memcmp(f.body, big, big_len),
             "5 MiB body differs (%zu bytes)", f.len);
    free(f.body);
    get(t, pg_test_server_port(srv), "/cut", 0, &f);
    PG_CHECK_INT(t, f.rc, CURLE_PARTIAL_FILE, "curl result for /cut");
    PG_CHECK(t, f.len < 1024 * 1024, "truncated body is complete");
    free(f.body);
    pg_test_server_stop(srv);
    free(big);
}

static void test_directory(struct pg_test *t)
{
    static const char *const files[][2] = {
        {"a.txt", "file a\n"},
        {"img/p.png", "not really a png"},
        {"sub/index.html", "<p>index</p>\n"},
    };
    char *site = pg_path(t, "site");
    struct pg_test_route route;
    struct pg_test_server *srv;
    unsigned port;
    struct fetch f;

    pg_mkdirs(t, site);
    for (size_t i = 0; i < 3; i++) {
        char *p = pg_strdupf("%s/%s", site, files[i][0]);
        char *dir = pg_strdupf("%s", p);

        *strrchr(dir, '/') = '\0';
        pg_mkdirs(t, dir);
        pg_write_file(t, p, files[i][1], strlen(files[i][1]));
        free(dir);
        free(p);
    }
    pg_write_file(t, pg_path(t, "secret.txt"), "secret", 6);
    memset(&route, 0, sizeof(route));
    route.path = "/site/";
    route.kind = PG_ROUTE_DIR;
    route.dir = site;
    srv = pg_test_server_start(&route, 1);
    PG_CHECK(t, srv, "server did not start");
    port = pg_test_server_port(srv);

    get(t, port, "/site/a.txt", 0, &f);
    PG_CHECK_INT(t, f.code, 200, "status of a.txt");
    PG_CHECK_STR(t, f.body, "file a\n", "body of a.txt");
    PG_CHECK_STR(t, f.ctype, "text/plain", "content type of a.txt");
    get(t, port, "/site/img/p.png", 0, &f);
    PG_CHECK_STR(t, f.ctype, "image/png", "content type of p.png");
    get(t, port, "/site/sub/", 0, &f);
    PG_CHECK_INT(t, f.code, 200, "status of a directory");
    PG_CHECK_STR(t, f.body, "<p>index</p>\n", "directory index");
    get(t, port, "/site/nope.txt", 0, &f);
    PG_CHECK_INT(t, f.code, 404, "status of a missing file");
    get(t, port, "/site/../secret.txt", 0, &f);
    PG_CHECK(t, f.code == 403 || f.code == 404,
             "'..' must not escape the directory (status %ld)", f.code);
    PG_CHECK(t, !f.body || !strstr(f.body, "secret"), "escaped with '..'");
    get(t, port, "/site/%2e%2e/secret.txt", 0, &f);
    PG_CHECK(t, f.code == 403 || f.code == 404,
             "'%%2e%%2e' must not escape the directory (status %ld)",
             f.code);
    get(t, port, "/other/a.txt", 0, &f);
    PG_CHECK_INT(t, f.code, 404, "status outside the prefix");
    PG_CHECK_INT(t, pg_test_server_hits(srv, "/site/", "GET"), 6,
                 "requests counted on the directory route");
    pg_test_server_stop(srv);
}

/* 64 concurrent keep-alive connections, two rounds on the same handles. */
static void test_concurrent_keepalive(struct pg_test *t)
{
    enum { N = 64 };
    static const char body[] = "slow\n";
    struct pg_test_route route;
    struct pg_test_server *srv;
    CURLM *multi;
    CURL *h[N];
    struct fetch f[N];
    char *url;

    memset(&route, 0, sizeof(route));
    route.path = "/slow";
    route.body = body;
    route.body_len = sizeof(body) - 1;
    route.delay_ms = 1000;
    srv = pg_test_server_start(&route, 1);
    PG_CHECK(t, srv, "server did not start");
    url = pg_strdupf("http://127.0.0.1:%u/slow", pg_test_server_port(srv));
    multi = curl_multi_init();
    PG_CHECK(t, multi, "curl_multi_init failed");
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)(2 * N));
    memset(f, 0, sizeof(f));
    for (int i = 0; i < N; i++) {
        h[i] = make_easy(&f[i], url);
        PG_CHECK(t, h[i], "curl_easy_init failed");
    }
    for (int round = 0; round < 2; round++) {
        int running = 0;
        CURLMsg *msg;
        int left;

        pg_test_server_reset(srv);
        for (int i = 0; i < N; i++) {
            f[i].len = 0;
            curl_multi_add_handle(multi, h[i]);
        }
        do {
            CURLMcode mc = curl_multi_perform(multi, &running);

            PG_CHECK(t, mc == CURLM_OK, "curl_multi_perform: %d", (int)mc);
            if (running)
                curl_multi_poll(multi, NULL, 0, 100, NULL);
        } while (running);
        while ((msg = curl_multi_info_read(multi, &left))) {
            for (int i = 0; i < N; i++) {
                if (msg->easy_handle == h[i])
                    f[i].rc = msg->data.result;
            }
        }
        for (int i = 0; i < N; i++) {
            collect(h[i], &f[i]);
            curl_multi_remove_handle(multi, h[i]);
            PG_CHECK(t, f[i].rc == CURLE_OK && f[i].code == 200,
                     "round %d transfer %d: curl %d, status %ld", round, i,
                     (int)f[i].rc, f[i].code);
            if (round == 1)
                PG_CHECK(t, f[i].connects == 0, "round 2 transfer %d opened "
                         "a new connection (no keep-alive)", i);
        }
        PG_CHECK_INT(t, pg_test_server_peak(srv), N,
                     "concurrent requests in flight");
        PG_CHECK_INT(t, pg_test_server_total(srv), N, "requests");
    }
    for (int i = 0; i < N; i++) {
        curl_easy_cleanup(h[i]);
        free(f[i].body);
    }
    curl_multi_cleanup(multi);
    pg_test_server_stop(srv);
}

static const struct pg_test_case cases[] = {
    {"server_routes", test_routes, PG_TEST_NO_BINARY, 60},
    {"server_big_and_truncated", test_big_and_truncated, PG_TEST_NO_BINARY,
     60},
    {"server_directory", test_directory, PG_TEST_NO_BINARY, 60},
    {"server_concurrent_keepalive", test_concurrent_keepalive,
     PG_TEST_NO_BINARY, 60},
};

int main(int argc, char **argv)
{
    int rc;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = pg_test_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
    curl_global_cleanup();
    return rc;
}
