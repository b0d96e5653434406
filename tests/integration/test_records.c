/*
 * test_records.c - manifest records for hostile input lines (issue 9).
 *
 * A record is never too long to write (long strings are cut and marked
 * "<key>_truncated":true), an input line holding a NUL byte is recorded
 * invalid-url under its whole text, and a raw 0xFF byte and U+00FF are
 * recorded as two different URLs that --resume tells apart.  Every test
 * runs in both modes.
 */
#include "server.h"
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct pg_test_route routes[] = {
    {.path = "/a", .body = "A", .body_len = 1, .content_type = "text/plain"},
    {.path = "/b", .body = "B", .body_len = 1, .content_type = "text/plain"},
    {.path = "/c", .body = "C", .body_len = 1, .content_type = "text/plain"},
    /* U+00FF as the server sees it (percent-decoded). */
    {.path = "/x\xc3\xbf", .body = "Y", .body_len = 1,
     .content_type = "text/plain"},
};

static struct pg_test_server *start(struct pg_test *t)
{
    struct pg_test_server *srv =
        pg_test_server_start(routes, sizeof(routes) / sizeof(routes[0]));

    if (!srv)
        pg_test_fail(t, "cannot start the test server");
    return srv;
}

/* Load a manifest: every line valid JSON and within the contract. */
static void load(struct pg_test *t, const char *path, struct pg_manifest *m,
                 size_t expect_n)
{
    char why[512];

    pg_manifest_must_load(t, path, m);
    for (size_t i = 0; i < m->n; i++) {
        if (!pg_record_check_schema(&m->rec[i], why, sizeof(why)))
            pg_test_fail(t, "manifest line %zu breaks the contract: %s",
                         m->rec[i].lineno, why);
    }
    PG_CHECK(t, m->n == expect_n, "manifest has %zu records, expected %zu",
             m->n, expect_n);
}

/* The one record of the given input line. */
static const struct pg_record *by_line(struct pg_test *t,
                                       const struct pg_manifest *m,
                                       long long line)
{
    const struct pg_record *found = NULL;

    for (size_t i = 0; i < m->n; i++) {
        if (pg_record_int(&m->rec[i], "line", -1) == line) {
            PG_CHECK(t, !found, "two records for line %lld", line);
            found = &m->rec[i];
        }
    }
    PG_CHECK(t, found != NULL, "no record for line %lld", line);
    return found;
}

/* "http://127.0.0.1:PORT" followed by n copies of byte c. */
static char *long_url(struct pg_test_server *srv, int c, size_t n)
{
    char *pre = pg_strdupf("http://127.0.0.1:%u/",
                           pg_test_server_port(srv));
    size_t k = strlen(pre);
    char *s = malloc(k + n + 1);

    if (!s)
        abort();
    memcpy(s, pre, k);
    memset(s + k, c, n);
    s[k + n] = '\0';
    free(pre);
    return s;
}

/*
 * A 60 KB and a 100 KB URL of bytes that are not UTF-8, among normal
 * ones: each gets a valid record (the longer one cut and marked), and
 * the job ends as for a failed URL, not with a fatal error.
 */
static void test_long_url(struct pg_test *t)
{
    struct pg_test_server *srv = start(t);
    char *u60 = long_url(srv, 0xfe, 60000);
    char *u100 = long_url(srv, 0xff, 100000);
    char *ua = pg_strdupf("http://127.0.0.1:%u/a", pg_test_server_port(srv));
    char *ub = pg_strdupf("http://127.0.0.1:%u/b", pg_test_server_port(srv));
    char *out = pg_path(t, "out");
    char *man = pg_path(t, "m.jsonl");
    const char *args[] = {"--mode", t->mode, "-q", "-o", out, "--manifest",
                          man, ua, u60, ub, u100, NULL};
    struct pg_run r;
    struct pg_manifest m;
    const struct pg_record *rec;
    const char *url;

    pg_run(t, &r, NULL, 60, args);
    PG_CHECK_INT(t, r.code, 1, "exit status");
    load(t, man, &m, 4);
    PG_CHECK_STR(t, pg_record_str(by_line(t, &m, 1), "status"), "ok", "/a");
    PG_CHECK_STR(t, pg_record_str(by_line(t, &m, 3), "status"), "ok", "/b");
    rec = by_line(t, &m, 2);
    PG_CHECK_STR(t, pg_record_str(rec, "status"), "invalid-url", "60 KB");
    url = pg_record_str(rec, "url");
    PG_CHECK(t, url && strlen(url) == strlen(ua) - 1 + 3 * 60000 &&
             strstr(url, "/%FE%FE") && !pg_record_get(rec, "url_truncated"),
             "the 60 KB URL is recorded whole, %%XX-encoded");
    rec = by_line(t, &m, 4);
    PG_CHECK_STR(t, pg_record_str(rec, "status"), "invalid-url", "100 KB");
    url = pg_record_str(rec, "url");
    PG_CHECK(t, url && pg_str_has_prefix(url, "http://127.0.0.1:") &&
             strlen(url) < 3 * 100000, "the 100 KB URL is cut");
    PG_CHECK(t, pg_record_get(rec, "url_truncated") &&
             pg_record_get(rec, "url_truncated")->type == PG_JSON_BOOL,
             "the cut URL is marked url_truncated");
    pg_manifest_release(&m);
    pg_run_release(&r);
    pg_test_server_stop(srv);
    free(u60);
    free(u100);
    free(ua);
    free(ub);
    free(out);
    free(man);
}

/*
 * A line holding a NUL byte is invalid-url, recorded with its whole text
 * (the NUL as %00), and named in the message; its neighbours are fetched.
 */
static void test_nul_line(struct pg_test *t)
{
    struct pg_test_server *srv = start(t);
    unsigned port = pg_test_server_port(srv);
    char *base = pg_strdupf("http://127.0.0.1:%u", port);
    char *list = pg_path(t, "list");
    char *out = pg_path(t, "out");
    char *man = pg_path(t, "m.jsonl");
    char *text = pg_strdupf("%s/a\n%s/b#%s/c\n", base, base, base);
    char *want = pg_strdupf("%s/b%%00%s/c", base, base);
    const char *args[] = {"--mode", t->mode, "-o", out, "--manifest", man,
                          "-i", list, NULL};
    struct pg_run r;
    struct pg_manifest m;
    const struct pg_record *rec;
    const char *err;
    size_t len = strlen(text);

    /* Line 2 is ".../b\0.../c": the NUL hides a valid-looking URL. */
    *strchr(text, '#') = '\0';
    pg_write_file(t, list, text, len);
    pg_run(t, &r, NULL, 60, args);
    PG_CHECK_INT(t, r.code, 1, "exit status");
    load(t, man, &m, 2);
    PG_CHECK_STR(t, pg_record_str(by_line(t, &m, 1), "status"), "ok", "/a");
    rec = by_line(t, &m, 2);
    PG_CHECK_STR(t, pg_record_str(rec, "status"), "invalid-url", "NUL line");
    PG_CHECK_STR(t, pg_record_str(rec, "url"), want, "NUL line's url");
    err = pg_record_str(rec, "error");
    PG_CHECK(t, err && strstr(err, "contains a NUL byte"),
             "error names the NUL byte: %s", err ? err : "null");
    PG_CHECK(t, strstr(r.err, ":2: invalid URL") &&
             strstr(r.err, "contains a NUL byte"),
             "stderr names line 2: %s", r.err);
    PG_CHECK_INT(t, pg_test_server_hits(srv, "/a", NULL), 1, "/a fetched");
    PG_CHECK_INT(t, pg_test_server_hits(srv, "/b", NULL), 0, "/b fetched");
    PG_CHECK_INT(t, pg_test_server_hits(srv, "/c", NULL), 0, "/c fetched");
    pg_manifest_release(&m);
    pg_run_release(&r);
    pg_test_server_stop(srv);
    free(base);
    free(list);
    free(out);
    free(man);
    free(text);
    free(want);
}

/*
 * A raw 0xFF byte and U+00FF: two different records, and --resume redoes
 * only the failed one (0xFF: no route, 404), never the fetched ones.
 */
static void test_ff_vs_yuml(struct pg_test *t)
{
    struct pg_test_server *srv = start(t);
    unsigned port = pg_test_server_port(srv);
    char *list = pg_path(t, "list");
    char *out = pg_path(t, "out");
    char *man = pg_path(t, "m.jsonl");
    char *text = pg_strdupf("http://127.0.0.1:%u/a\n"
                            "http://127.0.0.1:%u/x\xff\n"
                            "http://127.0.0.1:%u/x\xc3\xbf\n"
                            "http://127.0.0.1:%u/b\n",
                            port, port, port, port);
    char *raw = pg_strdupf("http://127.0.0.1:%u/x%%FF", port);
    char *yuml = pg_strdupf("http://127.0.0.1:%u/x\xc3\xbf", port);
    const char *args[] = {"--mode", t->mode, "-q", "-o", out, "--manifest",
                          man, "-i", list, NULL};
    const char *args2[] = {"--mode", t->mode, "-q", "-o", out, "--manifest",
                           man, "-i", list, "--resume", NULL};
    struct pg_run r;
    struct pg_manifest m;
    const struct pg_record *rec;

    pg_write_file(t, list, text, strlen(text));
    pg_run(t, &r, NULL, 60, args);
    PG_CHECK_INT(t, r.code, 1, "exit status");
    load(t, man, &m, 4);
    rec = by_line(t, &m, 2);
    PG_CHECK_STR(t, pg_record_str(rec, "url"), raw, "0xFF line's url");
    PG_CHECK_STR(t, pg_record_str(rec, "status"), "http-error", "0xFF");
    rec = by_line(t, &m, 3);
    PG_CHECK_STR(t, pg_record_str(rec, "url"), yuml, "U+00FF line's url");
    PG_CHECK_STR(t, pg_record_str(rec, "status"), "ok", "U+00FF");
    pg_manifest_release(&m);
    pg_run_release(&r);

    pg_test_server_reset(srv);
    pg_run(t, &r, NULL, 60, args2);
    PG_CHECK_INT(t, r.code, 1, "exit status of --resume");
    PG_CHECK_INT(t, pg_test_server_total(srv), 1, "requests on --resume");
    PG_CHECK_INT(t, pg_test_server_count(srv, NULL, "/x\xff"), 1,
                 "0xFF line redone");
    load(t, man, &m, 5);
    PG_CHECK_STR(t, pg_record_str(&m.rec[4], "url"), raw, "redone record");
    pg_manifest_release(&m);
    pg_run_release(&r);
    pg_test_server_stop(srv);
    free(list);
    free(out);
    free(man);
    free(text);
    free(raw);
    free(yuml);
}

static const struct pg_test_case cases[] = {
    {"long_url", test_long_url, PG_TEST_PER_MODE, 120},
    {"nul_line", test_nul_line, PG_TEST_PER_MODE, 60},
    {"ff_vs_yuml", test_ff_vs_yuml, PG_TEST_PER_MODE, 60},
};

int main(int argc, char **argv)
{
    return pg_test_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
