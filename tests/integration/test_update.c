/*
 * test_update.c - --update (issue 13): a first run, then a refresh
 * against a server that honours If-None-Match and If-Modified-Since
 * (server.h's etag / last_modified routes, changed between the runs
 * with pg_test_server_set_route()): 304 -> unchanged with no body and
 * the file untouched, a new body -> changed in place, the same body
 * without validators -> unchanged by its hash, 404/410 -> gone (file
 * kept; --delete-gone removes only the recorded file), URLs new to the
 * manifest -> new; the summary, --report FILE, --exec hooks only for
 * changed and new files, one record per URL afterwards (compaction), a
 * crawl whose unchanged list page still leads to a new image, pages
 * not kept (--images-only), --resume of an update run, the option
 * checks and `pagegrab compact-manifest`.  Both modes.
 */
#include "server.h"
#include "testlib.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define END ((const char *)NULL)

static struct pg_test_server *start_server(struct pg_test *t,
                                           const struct pg_test_route *r,
                                           size_t n)
{
    struct pg_test_server *srv = pg_test_server_start(r, n);

    if (!srv)
        pg_test_fail(t, "cannot start the test server");
    return srv;
}

/* The only record of url (fails if there are several or none). */
static const struct pg_record *only_rec(struct pg_test *t,
                                        const struct pg_manifest *m,
                                        const char *url)
{
    const struct pg_record *r = NULL;
    size_t n = 0;

    for (size_t i = 0; i < m->n; i++) {
        if (pg_str_eq(pg_record_str(&m->rec[i], "url"), url)) {
            r = &m->rec[i];
            n++;
        }
    }
    PG_CHECK(t, n == 1, "%zu records of %s (one expected after the "
             "compaction)", n, url);
    return r;
}

static void check_status(struct pg_test *t, const struct pg_record *r,
                         const char *want)
{
    PG_CHECK(t, pg_str_eq(pg_record_str(r, "status"), want),
             "status %s expected: %s", want, pg_record_text(r));
}

/* The content of the file a record names under out. */
static char *saved(struct pg_test *t, const char *out,
                   const struct pg_record *r)
{
    const char *p = pg_record_str(r, "path");

    PG_CHECK(t, p != NULL, "no path: %s", pg_record_text(r));
    return pg_read_file(pg_path(t, "%s/%s", strrchr(out, '/') + 1, p), NULL);
}

static void check_schema(struct pg_test *t, const struct pg_manifest *m)
{
    char why[256];

    for (size_t i = 0; i < m->n; i++)
        PG_CHECK(t, pg_record_check_schema(&m->rec[i], why, sizeof(why)),
                 "record %zu: %s: %s", i + 1, why,
                 pg_record_text(&m->rec[i]));
}

/* The names of the report's list `cls`, joined by spaces (sorted). */
static char *report_list(struct pg_test *t, const struct pg_json_field *rep,
                         const char *cls, long long *count)
{
    const struct pg_json_field *urls = pg_json_get(rep, "urls");
    const struct pg_json_field *l = urls ? pg_json_get(urls, cls) : NULL;
    const struct pg_json_field *c = pg_json_get(rep, cls);
    struct pg_strlist s = {0};

    PG_CHECK(t, l && l->type == PG_JSON_ARRAY, "no list '%s' in the report",
             cls);
    PG_CHECK(t, c && c->is_int, "no count '%s' in the report", cls);
    *count = c->ival;
    for (size_t i = 0; i < l->n; i++) {
        const char *u = l->f[i].str, *slash = u ? strrchr(u, '/') : NULL;

        PG_CHECK(t, slash, "not a URL in the report: %s", cls);
        pg_strlist_add(&s, slash + 1);
    }
    PG_CHECK_INT(t, (long long)l->n, *count, cls);
    pg_strlist_sort(&s);
    return pg_strlist_join(&s, " ");
}

static const char V1[] = "version 1\n", V2[] = "version 2, longer\n";
static const char SAME_E[] = "same etag\n", SAME_L[] = "same date\n";
static const char NOHDR[] = "no validators\n", NH1[] = "plain 1\n",
                  NH2[] = "plain 2 is new\n", G1[] = "will be 404\n",
                  G2[] = "will be 410\n", NEW[] = "brand new\n";
static const char LM[] = "Mon, 01 Jan 2024 00:00:00 GMT";

/*
 * The first run saves seven files; the refresh sees each class, with
 * --report and an --exec hook.
 */
static void test_basic(struct pg_test *t)
{
    const struct pg_test_route routes[] = {
        { .path = "/same-etag.txt", .body = SAME_E, .body_len = 10,
          .content_type = "text/plain", .etag = "\"e1\"" },
        { .path = "/same-lm.txt", .body = SAME_L, .body_len = 10,
          .content_type = "text/plain", .last_modified = LM },
        { .path = "/changed.txt", .body = V1, .body_len = 10,
          .content_type = "text/plain", .etag = "\"v1\"" },
        { .path = "/nohdr.txt", .body = NOHDR, .body_len = 14,
          .content_type = "text/plain" },
        { .path = "/nohdr-changed.txt", .body = NH1, .body_len = 8,
          .content_type = "text/plain" },
        { .path = "/g404.txt", .body = G1, .body_len = 12,
          .content_type = "text/plain", .etag = "\"g\"" },
        { .path = "/g410.txt", .body = G2, .body_len = 12,
          .content_type = "text/plain" },
        { .path = "/new.txt", .body = NEW, .body_len = 10,
          .content_type = "text/plain" },
    };
    const char *names[] = { "same-etag.txt", "same-lm.txt", "changed.txt",
                            "nohdr.txt", "nohdr-changed.txt", "g404.txt",
                            "g410.txt", "new.txt" };
    struct pg_test_server *srv = start_server(t, routes, 8);
    char *man = pg_path(t, "m.jsonl"), *out = pg_path(t, "out");
    char *rep = pg_path(t, "report.json"), *log = pg_path(t, "hooks.log");
    char *list1 = pg_path(t, "urls1.txt"), *list2 = pg_path(t, "urls2.txt");
    char *text1 = pg_strdupf("%s", ""), *text2, *cmd, *body, *got, hdr[256];
    struct pg_test_route r2;
    struct pg_args x = {{0}, 0};
    struct pg_json_field j;
    struct pg_manifest m;
    struct pg_run r;
    long long n;
    size_t len;

    for (size_t i = 0; i < 8; i++) {
        char *u = pg_test_server_url(srv, routes[i].path);

        text2 = pg_strdupf("%s%s\n", text1, u);
        if (i < 7)
            text1 = text2;
    }
    pg_write_file(t, list1, text1, strlen(text1));
    pg_write_file(t, list2, text2, strlen(text2));
    pg_args_push(&x, "--mode", t->mode, "-j", "3", "-o", out, "--manifest",
                 man, "-i", list1, END);
    pg_run(t, &r, NULL, 60, x.v);
    PG_CHECK_INT(t, r.code, 0, "first run: exit status");

    /* Between the runs: new bodies, validators and statuses. */
    r2 = routes[2];
    r2.body = V2;
    r2.body_len = sizeof(V2) - 1;
    r2.etag = "\"v2\"";
    PG_CHECK(t, pg_test_server_set_route(srv, "/changed.txt", &r2) == 0,
             "set_route");
    r2 = routes[4];
    r2.body = NH2;
    r2.body_len = sizeof(NH2) - 1;
    pg_test_server_set_route(srv, "/nohdr-changed.txt", &r2);
    r2 = routes[5];
    r2.status = 404;
    r2.etag = NULL;
    pg_test_server_set_route(srv, "/g404.txt", &r2);
    r2 = routes[6];
    r2.status = 410;
    pg_test_server_set_route(srv, "/g410.txt", &r2);
    pg_test_server_publish(srv);

    cmd = pg_strdupf("printf '%%s %%s\\n' \"$PAGEGRAB_STATUS\" \"$1\" >> '%s'",
                     log);
    x.n = 0;
    pg_args_push(&x, "--mode", t->mode, "-j", "3", "-o", out, "--manifest",
                 man, "-i", list2, "--update", "--report", rep, "--exec", cmd,
                 END);
    pg_run(t, &r, NULL, 60, x.v);
    PG_CHECK_INT(t, r.code, 0, "update run: exit status");
    PG_CHECK(t, strstr(r.err, "8 URLs: 2 changed, 3 unchanged, 2 gone, 1 "
                       "new, 0 failed") != NULL, "summary: %s", r.err);

    pg_manifest_must_load(t, man, &m);
    PG_CHECK_INT(t, m.n, 8, "records after the compaction");
    check_schema(t, &m);
    for (size_t i = 0; i < 2; i++) {
        const struct pg_record *rec =
            only_rec(t, &m, pg_test_server_url(srv, routes[i].path));

        check_status(t, rec, "unchanged");
        PG_CHECK_INT(t, pg_record_int(rec, "http_code", 0), 304, names[i]);
        PG_CHECK_INT(t, pg_record_int(rec, "bytes", -1), 0, names[i]);
        PG_CHECK_INT(t, pg_test_server_not_modified(srv, routes[i].path), 1,
                     "304 answers");
        body = saved(t, out, rec);
        PG_CHECK(t, body && !memcmp(body, routes[i].body, routes[i].body_len),
                 "%s: the file changed", names[i]);
        PG_CHECK(t, pg_str_eq(pg_record_str(rec, "hash"),
                              pg_sha256_hex(routes[i].body,
                                            routes[i].body_len)),
                 "%s: the recorded hash is not kept", names[i]);
    }
    pg_test_server_header(srv, "/same-etag.txt", "If-None-Match", hdr,
                          sizeof(hdr));
    PG_CHECK_STR(t, hdr, "\"e1\"", "If-None-Match sent");
    pg_test_server_header(srv, "/same-lm.txt", "If-Modified-Since", hdr,
                          sizeof(hdr));
    PG_CHECK_STR(t, hdr, LM, "If-Modified-Since sent");
    {
        const struct pg_record *rec =
            only_rec(t, &m, pg_test_server_url(srv, "/changed.txt"));

        check_status(t, rec, "changed");
        PG_CHECK_STR(t, pg_record_str(rec, "etag"), "\"v2\"", "new etag");
        got = saved(t, out, rec);
        PG_CHECK(t, got && !strcmp(got, V2), "changed.txt holds '%s'", got);
        PG_CHECK(t, pg_str_has_suffix(pg_record_str(rec, "path"),
                                      "/changed.txt"),
                 "changed.txt saved elsewhere: %s", pg_record_text(rec));
    }
    {
        const struct pg_record *rec =
            only_rec(t, &m, pg_test_server_url(srv, "/nohdr.txt"));

        check_status(t, rec, "unchanged");
        PG_CHECK_INT(t, pg_record_int(rec, "http_code", 0), 200, "nohdr");
        PG_CHECK_INT(t, pg_test_server_hits(srv, "/nohdr.txt", NULL), 2,
                     "nohdr.txt requests");
        PG_CHECK(t, !pg_test_server_header(srv, "/nohdr.txt",
                                           "If-None-Match", hdr,
                                           sizeof(hdr)),
                 "If-None-Match sent without an ETag: %s", hdr);
    }
    {
        const struct pg_record *rec =
            only_rec(t, &m, pg_test_server_url(srv, "/nohdr-changed.txt"));

        check_status(t, rec, "changed");
        got = saved(t, out, rec);
        PG_CHECK(t, got && !strcmp(got, NH2), "nohdr-changed.txt: '%s'", got);
    }
    for (size_t i = 5; i < 7; i++) {
        const struct pg_record *rec =
            only_rec(t, &m, pg_test_server_url(srv, routes[i].path));

        check_status(t, rec, "gone");
        PG_CHECK_INT(t, pg_record_int(rec, "http_code", 0), i == 5 ? 404 : 410,
                     names[i]);
        body = saved(t, out, rec);
        PG_CHECK(t, body && !memcmp(body, routes[i].body, routes[i].body_len),
                 "%s: the file of a gone URL is not kept", names[i]);
    }
    check_status(t, only_rec(t, &m, pg_test_server_url(srv, "/new.txt")),
                 "ok");
    pg_check_no_temp_files(t, out);

    /* The report: counts and lists. */
    body = pg_read_file(rep, &len);
    PG_CHECK(t, body, "no report");
    PG_CHECK(t, pg_json_parse(body, len, &j, hdr, sizeof(hdr)) == 0,
             "report: %s", hdr);
    PG_CHECK_STR(t, report_list(t, &j, "changed", &n),
                 "changed.txt nohdr-changed.txt", "changed");
    PG_CHECK_STR(t, report_list(t, &j, "unchanged", &n),
                 "nohdr.txt same-etag.txt same-lm.txt", "unchanged");
    PG_CHECK_STR(t, report_list(t, &j, "gone", &n), "g404.txt g410.txt",
                 "gone");
    PG_CHECK_STR(t, report_list(t, &j, "new", &n), "new.txt", "new");
    PG_CHECK_STR(t, report_list(t, &j, "failed", &n), "", "failed");

    /* Hooks: the changed and the new files, never an unchanged one. */
    {
        struct pg_strlist l = {0};
        char *p, *nl, *all = pg_read_file(log, NULL);

        for (p = all; p && *p; p = nl + 1) {
            nl = strchr(p, '\n');
            if (!nl)
                break;
            *nl = '\0';
            pg_strlist_add(&l, strrchr(p, '/') ? strrchr(p, '/') + 1 : p);
            PG_CHECK(t, pg_str_has_prefix(p, "changed ") ||
                     pg_str_has_prefix(p, "ok "), "hook for %s", p);
        }
        pg_strlist_sort(&l);
        PG_CHECK_STR(t, pg_strlist_join(&l, " "),
                     "changed.txt new.txt nohdr-changed.txt", "hooks run");
    }
    pg_test_server_stop(srv);
}

/*
 * --delete-gone removes the recorded file, and only that: a file whose
 * content is no longer the recorded one, or a symlink put in its place,
 * is kept (and what the symlink points at is untouched).
 */
static void test_delete_gone(struct pg_test *t)
{
    const struct pg_test_route routes[] = {
        { .path = "/del.txt", .body = G1, .body_len = 12 },
        { .path = "/edited.txt", .body = G2, .body_len = 12 },
        { .path = "/link.txt", .body = NEW, .body_len = 10 },
    };
    struct pg_test_server *srv = start_server(t, routes, 3);
    char *man = pg_path(t, "m.jsonl"), *out = pg_path(t, "out");
    char *outside = pg_path(t, "outside.txt"), *p;
    const struct pg_record *rec;
    struct pg_test_route gone;
    struct pg_args x = {{0}, 0};
    struct pg_manifest m;
    struct pg_run r;
    struct stat st;

    pg_args_push(&x, "--mode", t->mode, "-o", out, "--manifest", man,
                 pg_test_server_url(srv, "/del.txt"),
                 pg_test_server_url(srv, "/edited.txt"),
                 pg_test_server_url(srv, "/link.txt"), END);
    pg_run(t, &r, NULL, 60, x.v);
    PG_CHECK_INT(t, r.code, 0, "first run");
    pg_manifest_must_load(t, man, &m);
    p = pg_path(t, "out/%s", pg_record_str(pg_manifest_find(&m,
                pg_test_server_url(srv, "/edited.txt")), "path"));
    pg_write_file(t, p, "edited by hand\n", 15);
    p = pg_path(t, "out/%s", pg_record_str(pg_manifest_find(&m,
                pg_test_server_url(srv, "/link.txt")), "path"));
    pg_write_file(t, outside, NEW, 10);   /* the same content */
    PG_CHECK(t, unlink(p) == 0 && symlink(outside, p) == 0, "symlink");
    pg_manifest_release(&m);
    for (size_t i = 0; i < 3; i++) {
        gone = routes[i];
        gone.status = 404;
        pg_test_server_set_route(srv, routes[i].path, &gone);
    }
    pg_test_server_publish(srv);
    x.n = 0;
    pg_args_push(&x, "--mode", t->mode, "-o", out, "--manifest", man,
                 "--update", "--delete-gone",
                 pg_test_server_url(srv, "/del.txt"),
                 pg_test_server_url(srv, "/edited.txt"),
                 pg_test_server_url(srv, "/link.txt"), END);
    pg_run(t, &r, NULL, 60, x.v);
    PG_CHECK_INT(t, r.code, 0, "update run");
    PG_CHECK(t, strstr(r.err, "0 changed, 0 unchanged, 3 gone, 0 new, 0 "
                       "failed") != NULL, "summary: %s", r.err);
    pg_manifest_must_load(t, man, &m);
    rec = only_rec(t, &m, pg_test_server_url(srv, "/del.txt"));
    check_status(t, rec, "gone");
    PG_CHECK(t, pg_record_is_null(rec, "path"), "a deleted file's path: %s",
             pg_record_text(rec));
    PG_CHECK(t, lstat(pg_path(t, "out/127.0.0.1:%u/del.txt",
                              pg_test_server_port(srv)), &st) < 0 &&
             errno == ENOENT, "del.txt was not removed");
    rec = only_rec(t, &m, pg_test_server_url(srv, "/edited.txt"));
    check_status(t, rec, "gone");
    p = pg_read_file(pg_path(t, "out/%s", pg_record_str(rec, "path")), NULL);
    PG_CHECK(t, p && !strcmp(p, "edited by hand\n"), "the edited file went");
    PG_CHECK(t, strstr(r.err, "content is not the recorded one") != NULL,
             "no warning for the edited file: %s", r.err);
    rec = only_rec(t, &m, pg_test_server_url(srv, "/link.txt"));
    p = pg_path(t, "out/%s", pg_record_str(rec, "path"));
    PG_CHECK(t, lstat(p, &st) == 0 && S_ISLNK(st.st_mode),
             "the symlink was removed");
    PG_CHECK(t, stat(outside, &st) == 0, "the symlink's target was removed");
    pg_test_server_stop(srv);
}

/* line of text (NUL-terminated copy) holding needle, with every `from`
 * replaced by `to`. */
static char *line_with(struct pg_test *t, const char *text,
                       const char *needle, const char *from, const char *to)
{
    const char *p = strstr(text, needle), *b, *e;
    char *line, *out, *q;
    size_t n = 0;

    PG_CHECK(t, p != NULL, "no line with %s", needle);
    for (b = p; b > text && b[-1] != '\n'; b--)
        ;
    e = strchr(p, '\n');
    line = pg_strdupf("%.*s", (int)(e ? e - b + 1 : (long)strlen(b)), b);
    for (q = line; (q = strstr(q, from)); q += strlen(from))
        n++;
    out = malloc(strlen(line) + n * strlen(to) + 1);
    PG_CHECK(t, out != NULL, "malloc");
    out[0] = '\0';
    for (p = line; (q = strstr(p, from)); p = q + strlen(from)) {
        strncat(out, p, (size_t)(q - p));
        strcat(out, to);
    }
    strcat(out, p);
    free(line);
    return out;
}

/*
 * A manifest edited so that two other URLs record the first one's file
 * (its path and its hash): neither may make it theirs.  /b.txt answers
 * 304 (its saved copy would be /a.txt's file: two URLs sharing one file,
 * a page's links read from another URL's copy), /c.txt is gone with
 * --delete-gone (it must not remove /a.txt's file).
 */
static void test_shared_path(struct pg_test *t)
{
    static const char A[] = "body of a\n", B[] = "body of b\n";
    const struct pg_test_route routes[] = {
        { .path = "/a.txt", .body = A, .body_len = 10, .etag = "\"same\"" },
        { .path = "/b.txt", .body = B, .body_len = 10, .etag = "\"same\"" },
        { .path = "/c.txt", .status = 404 },
    };
    struct pg_test_server *srv = start_server(t, routes, 3);
    char *man = pg_path(t, "m.jsonl"), *out = pg_path(t, "out"), *text;
    char *la, *lb, *lc, *apath, *p;
    const struct pg_record *rec;
    struct pg_args x = {{0}, 0};
    struct pg_manifest m;
    struct pg_run r;

    pg_args_push(&x, "--mode", t->mode, "-o", out, "--manifest", man,
                 pg_test_server_url(srv, "/a.txt"), END);
    pg_run(t, &r, NULL, 60, x.v);
    PG_CHECK_INT(t, r.code, 0, "first run");
    pg_manifest_must_load(t, man, &m);
    rec = only_rec(t, &m, pg_test_server_url(srv, "/a.txt"));
    apath = pg_strdupf("%s", pg_record_str(rec, "path"));
    pg_manifest_release(&m);
    text = pg_read_file(man, NULL);
    la = line_with(t, text, "/a.txt\"", "@@", "@@");
    lb = line_with(t, text, "/a.txt\"", pg_strdupf("\"%s\"",
                   pg_test_server_url(srv, "/a.txt")), pg_strdupf("\"%s\"",
                   pg_test_server_url(srv, "/b.txt")));
    lc = line_with(t, text, "/a.txt\"", pg_strdupf("\"%s\"",
                   pg_test_server_url(srv, "/a.txt")), pg_strdupf("\"%s\"",
                   pg_test_server_url(srv, "/c.txt")));
    p = pg_strdupf("%s%s%s", la, lb, lc);
    pg_write_file(t, man, p, strlen(p));
    x.n = 0;
    pg_args_push(&x, "--mode", t->mode, "-o", out, "--manifest", man,
                 "--update", "--delete-gone",
                 pg_test_server_url(srv, "/a.txt"),
                 pg_test_server_url(srv, "/b.txt"),
                 pg_test_server_url(srv, "/c.txt"), END);
    pg_run(t, &r, NULL, 60, x.v);
    PG_CHECK_INT(t, r.code, 0, "update run");
    p = pg_read_file(pg_path(t, "out/%s", apath), NULL);
    PG_CHECK(t, p && !strcmp(p, A), "/a.txt's file is %s",
             p ? p : "gone");
    pg_manifest_must_load(t, man, &m);
    check_status(t, only_rec(t, &m, pg_test_server_url(srv, "/a.txt")),
                 "unchanged");
    rec = only_rec(t, &m, pg_test_server_url(srv, "/b.txt"));
    PG_CHECK(t, !pg_str_eq(pg_record_str(rec, "path"), apath),
             "/b.txt shares /a.txt's file: %s", pg_record_text(rec));
    p = saved(t, out, rec);
    PG_CHECK(t, p && !strcmp(p, B), "/b.txt's file is %s", p ? p : "none");
    rec = only_rec(t, &m, pg_test_server_url(srv, "/c.txt"));
    check_status(t, rec, "gone");
    pg_manifest_release(&m);
    pg_test_server_stop(srv);
}

static const char LIST[] =
    "<html><body><a href=\"/detail.html\">d</a></body></html>";
static const char DETAIL1[] =
    "<html><body><img src=\"/img/a.png\"></body></html>";
static const char DETAIL2[] =
    "<html><body><img src=\"/img/a.png\"><img src=\"/img/b.png\">"
    "</body></html>";
static const char PNG_A[] = "\x89PNG a", PNG_B[] = "\x89PNG b";

/*
 * A crawl: the list page answers 304, yet its link (read from the saved
 * copy) is followed to the detail page, which changed and now shows a
 * new image.  With --images-only the pages are not kept: they are
 * fetched without validators and compared by hash.
 */
static void crawl_case(struct pg_test *t, int images_only)
{
    const struct pg_test_route routes[] = {
        { .path = "/list.html", .body = LIST, .body_len = sizeof(LIST) - 1,
          .content_type = "text/html", .etag = "\"L\"" },
        { .path = "/detail.html", .body = DETAIL1,
          .body_len = sizeof(DETAIL1) - 1, .content_type = "text/html",
          .etag = "\"D1\"" },
        { .path = "/img/a.png", .body = PNG_A, .body_len = 6,
          .content_type = "image/png", .etag = "\"A\"" },
        { .path = "/img/b.png", .body = PNG_B, .body_len = 6,
          .content_type = "image/png", .etag = "\"B\"" },
    };
    struct pg_test_server *srv = start_server(t, routes, 4);
    char *man = pg_path(t, "m.jsonl"), *out = pg_path(t, "out"), hdr[64];
    const struct pg_record *rec;
    struct pg_test_route d2 = routes[1];
    struct pg_args x = {{0}, 0};
    struct pg_manifest m;
    struct pg_run r;

    pg_args_push(&x, "--mode", t->mode, "-o", out, "--manifest", man,
                 "--images", "--follow", "//a/@href", "--allow-private",
                 pg_test_server_url(srv, "/list.html"), END);
    if (images_only)
        pg_args_push(&x, "--images-only", END);
    pg_run(t, &r, NULL, 60, x.v);
    PG_CHECK_INT(t, r.code, 0, "first run");
    PG_CHECK_INT(t, pg_test_server_hits(srv, "/img/b.png", NULL), 0,
                 "b.png before");
    d2.body = DETAIL2;
    d2.body_len = sizeof(DETAIL2) - 1;
    d2.etag = "\"D2\"";
    pg_test_server_set_route(srv, "/detail.html", &d2);
    pg_test_server_publish(srv);
    x.n = 0;
    pg_args_push(&x, "--mode", t->mode, "-o", out, "--manifest", man,
                 "--images", "--follow", "//a/@href", "--allow-private",
                 "--update", pg_test_server_url(srv, "/list.html"), END);
    if (images_only)
        pg_args_push(&x, "--images-only", END);
    pg_run(t, &r, NULL, 60, x.v);
    PG_CHECK_INT(t, r.code, 0, "update run");
    pg_manifest_must_load(t, man, &m);
    PG_CHECK_INT(t, m.n, 4, "records after the compaction");
    check_schema(t, &m);
    rec = only_rec(t, &m, pg_test_server_url(srv, "/list.html"));
    check_status(t, rec, "unchanged");
    PG_CHECK_INT(t, pg_record_int(rec, "http_code", 0),
                 images_only ? 200 : 304, "list.html's answer");
    PG_CHECK_INT(t, pg_record_int(rec, "links", 0), 1, "list.html's links");
    PG_CHECK(t, images_only == !pg_test_server_header(srv, "/list.html",
                                                      "If-None-Match", hdr,
                                                      sizeof(hdr)),
             "If-None-Match %s with --images-only %d", hdr, images_only);
    PG_CHECK(t, images_only == pg_record_is_null(rec, "path"),
             "list.html's path: %s", pg_record_text(rec));
    check_status(t, only_rec(t, &m, pg_test_server_url(srv, "/detail.html")),
                 "changed");
    rec = only_rec(t, &m, pg_test_server_url(srv, "/img/a.png"));
    check_status(t, rec, "unchanged");
    PG_CHECK_INT(t, pg_record_int(rec, "http_code", 0), 304, "a.png");
    rec = only_rec(t, &m, pg_test_server_url(srv, "/img/b.png"));
    check_status(t, rec, "ok");
    PG_CHECK(t, pg_str_eq(saved(t, out, rec), PNG_B), "b.png not saved");
    PG_CHECK(t, strstr(r.err, "4 URLs: 1 changed, 2 unchanged, 0 gone, 1 "
                       "new, 0 failed") != NULL, "summary: %s", r.err);
    pg_test_server_stop(srv);
}

static void test_crawl(struct pg_test *t)
{
    crawl_case(t, 0);
}

static void test_crawl_images_only(struct pg_test *t)
{
    crawl_case(t, 1);
}

/*
 * --update --resume goes on with an update run that stopped: what its
 * records (after the run's marker) say is done is not requested again,
 * the rest is refreshed against the earlier run's records.
 */
static void test_resume(struct pg_test *t)
{
    const struct pg_test_route routes[] = {
        { .path = "/a.txt", .body = V1, .body_len = 10, .etag = "\"a\"" },
        { .path = "/b.txt", .body = NOHDR, .body_len = 14, .etag = "\"b\"" },
    };
    struct pg_test_server *srv = start_server(t, routes, 2);
    char *man = pg_path(t, "m.jsonl"), *out = pg_path(t, "out");
    char *ua = pg_test_server_url(srv, "/a.txt"), *text, *line, *p;
    struct pg_args x = {{0}, 0};
    struct pg_manifest m;
    struct pg_run r;

    pg_args_push(&x, "--mode", t->mode, "-o", out, "--manifest", man, ua,
                 pg_test_server_url(srv, "/b.txt"), END);
    pg_run(t, &r, NULL, 60, x.v);
    PG_CHECK_INT(t, r.code, 0, "first run");
    /* An update run that refreshed a.txt, then stopped. */
    text = pg_read_file(man, NULL);
    line = strstr(text, ua);
    PG_CHECK(t, line, "no record of a.txt");
    while (line > text && line[-1] != '\n')
        line--;
    line = pg_strdupf("%.*s", (int)(strchr(line, '\n') + 1 - line), line);
    p = strstr(line, "\"status\":\"ok\"");
    PG_CHECK(t, p, "a.txt not ok");
    text = pg_strdupf("%s{\"update_run\":\"started\",\"pid\":1}\n"
                      "%.*s\"status\":\"unchanged\"%s", text, (int)(p - line),
                      line, p + strlen("\"status\":\"ok\""));
    pg_write_file(t, man, text, strlen(text));
    x.n = 0;
    pg_args_push(&x, "--mode", t->mode, "-o", out, "--manifest", man,
                 "--update", "--resume", ua,
                 pg_test_server_url(srv, "/b.txt"), END);
    pg_run(t, &r, NULL, 60, x.v);
    PG_CHECK_INT(t, r.code, 0, "resumed update run");
    PG_CHECK_INT(t, pg_test_server_hits(srv, "/a.txt", NULL), 1,
                 "a.txt requests (done before the stop)");
    PG_CHECK_INT(t, pg_test_server_not_modified(srv, "/b.txt"), 1,
                 "b.txt refreshed");
    pg_manifest_must_load(t, man, &m);
    PG_CHECK_INT(t, m.n, 2, "records (the marker and old ones dropped)");
    check_status(t, only_rec(t, &m, ua), "unchanged");
    check_status(t, only_rec(t, &m, pg_test_server_url(srv, "/b.txt")),
                 "unchanged");
    pg_test_server_stop(srv);
}

/* The options are checked: each message names the option. */
static void test_options(struct pg_test *t)
{
    const char *bad[][3] = {
        { "--update", NULL, "--update" },
        { "--delete-gone", "--manifest=m.jsonl", "--delete-gone" },
        { "--report=r.json", "--manifest=m.jsonl", "--report" },
    };

    for (size_t i = 0; i < 3; i++) {
        struct pg_args x = {{0}, 0};
        struct pg_run r;

        pg_args_push(&x, "--mode", t->mode, bad[i][0], END);
        if (bad[i][1])
            pg_args_push(&x, bad[i][1], END);
        pg_args_push(&x, "http://127.0.0.1:1/x", END);
        pg_run(t, &r, NULL, 30, x.v);
        PG_CHECK_INT(t, r.code, 2, bad[i][0]);
        PG_CHECK(t, strstr(r.err, bad[i][2]) != NULL,
                 "the message does not name %s: %s", bad[i][2], r.err);
    }
}

/*
 * `pagegrab compact-manifest FILE`: the last record of each URL, in the
 * order of those records; torn lines and markers dropped.
 */
static void test_compact(struct pg_test *t)
{
    static const char in[] =
        "{\"url\":\"http://h/a\",\"status\":\"ok\",\"kind\":\"file\"}\n"
        "{\"update_run\":\"started\",\"pid\":1}\n"
        "{\"url\":\"http://h/b\",\"status\":\"ok\",\"kind\":\"file\"}\n"
        "{\"url\":\"http://h/a\",\"status\":\"changed\",\"kind\":\"file\"}\n"
        "{\"url\":\"http://h/c\",\"sta\n"
        "{\"url\":\"http://h/c\",\"status\":\"gone\",\"kind\":\"file\"}\n";
    static const char want[] =
        "{\"url\":\"http://h/b\",\"status\":\"ok\",\"kind\":\"file\"}\n"
        "{\"url\":\"http://h/a\",\"status\":\"changed\",\"kind\":\"file\"}\n"
        "{\"url\":\"http://h/c\",\"status\":\"gone\",\"kind\":\"file\"}\n";
    char *man = pg_path(t, "m.jsonl"), *got;
    struct pg_args x = {{0}, 0};
    struct pg_run r;
    struct stat st;

    pg_write_file(t, man, in, sizeof(in) - 1);
    PG_CHECK(t, chmod(man, 0640) == 0, "chmod");
    pg_args_push(&x, "compact-manifest", man, END);
    pg_run(t, &r, NULL, 30, x.v);
    PG_CHECK_INT(t, r.code, 0, "compact-manifest");
    got = pg_read_file(man, NULL);
    PG_CHECK_STR(t, got, want, "compacted manifest");
    PG_CHECK(t, strstr(r.err, "3 record(s) kept, 3 line(s) dropped"),
             "message: %s", r.err);
    PG_CHECK(t, stat(man, &st) == 0 && (st.st_mode & 0777) == 0640,
             "mode %o (the manifest's own expected)",
             (unsigned)(st.st_mode & 0777));
    x.n = 0;
    pg_args_push(&x, "compact-manifest", pg_path(t, "missing.jsonl"), END);
    pg_run(t, &r, NULL, 30, x.v);
    PG_CHECK_INT(t, r.code, 3, "a missing manifest");
    PG_CHECK(t, strstr(r.err, "missing.jsonl"), "not named: %s", r.err);
}

/*
 * compact-manifest on a manifest that is a symlink: the file it points
 * at is compacted and the symlink stays (replaced by a regular file, it
 * would leave the target as it was and the next run appending apart).
 */
static void test_compact_symlink(struct pg_test *t)
{
    static const char in[] =
        "{\"url\":\"http://h/a\",\"status\":\"ok\",\"kind\":\"file\"}\n"
        "{\"url\":\"http://h/a\",\"status\":\"changed\",\"kind\":\"file\"}\n";
    static const char want[] =
        "{\"url\":\"http://h/a\",\"status\":\"changed\",\"kind\":\"file\"}\n";
    char *target = pg_path(t, "real.jsonl"), *man = pg_path(t, "m.jsonl");
    struct pg_args x = {{0}, 0};
    struct pg_run r;
    struct stat st;
    char *got;

    pg_write_file(t, target, in, sizeof(in) - 1);
    PG_CHECK(t, symlink("real.jsonl", man) == 0, "symlink");
    pg_args_push(&x, "compact-manifest", man, END);
    pg_run(t, &r, NULL, 30, x.v);
    PG_CHECK_INT(t, r.code, 0, "compact-manifest");
    PG_CHECK(t, lstat(man, &st) == 0 && S_ISLNK(st.st_mode),
             "the manifest's symlink was replaced");
    got = pg_read_file(target, NULL);
    PG_CHECK_STR(t, got, want, "the symlink's target");
}

static const struct pg_test_case cases[] = {
    {"basic", test_basic, PG_TEST_PER_MODE, 90},
    {"delete_gone", test_delete_gone, PG_TEST_PER_MODE, 90},
    {"crawl", test_crawl, PG_TEST_PER_MODE, 90},
    {"crawl_images_only", test_crawl_images_only, PG_TEST_PER_MODE, 90},
    {"resume", test_resume, PG_TEST_PER_MODE, 90},
    {"options", test_options, PG_TEST_PER_MODE, 60},
    {"shared_path", test_shared_path, PG_TEST_PER_MODE, 90},
    {"compact", test_compact, 0, 60},
    {"compact_symlink", test_compact_symlink, 0, 60},
};

int main(int argc, char **argv)
{
    return pg_test_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
