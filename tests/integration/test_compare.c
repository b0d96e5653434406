/*
 * test_compare.c - integration tests for `pagegrab compare`.
 *
 * Each test serves a few small files from the in-process server on
 * 127.0.0.1, runs `pagegrab compare` with a handful of modes and one or
 * two repetitions, and checks the report for correctness, never for
 * speed.  The checks cover the CSV rows (one per mode, in order,
 * numeric, pages equal to the input), the JSON (parsed by the strict
 * reader of tests/lib/json.h), the SVG (parsed with libxml2), and the exact
 * request count the server saw.  They also check that the temporary
 * directories and the stdin copy are gone, that --keep keeps them, that
 * a killed run is reported while the others go on, that a signal stops
 * everything cleanly, and the usage errors.  With --peers: a row per
 * peer (curl, wget2, aria2c; a test accepts a peer that is not
 * installed as skipped, and CI installs all three) whose files and
 * bytes equal pagegrab's, a failing peer (a fake curl first in PATH) as
 * a failed row in a report that goes on, URLs with shell
 * metacharacters fetched by every peer and run by none, and a crawl
 * compared with wget2 -r or, with an XPath rule, with no peer.  The
 * modes are in each report, so no test is flagged per mode.
 */
#include "fault.h"
#include "json.h"
#include "server.h"
#include "testlib.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#define MAX_FILES 16

static const char CSV_HEADER[] =
    "mode,per_worker,runs,pages,bytes,wall_s,pages_per_s,mib_per_s,user_s,"
    "sys_s,peak_rss_mib,startup_ms,p50_ms,p95_ms,p99_ms,errors";
#define CSV_FIELDS 16

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* Append a NULL-terminated list of arguments. */
/* n small text files, /c/fNN.txt, optionally slow. */
struct site {
    struct pg_test_server *srv;
    size_t n;
    char *urls[MAX_FILES];
    char paths[MAX_FILES][32];
    char bodies[MAX_FILES][64];
    size_t bytes;            /* all bodies together */
};

static void site_start(struct pg_test *t, struct site *s, size_t n,
                       unsigned delay_ms)
{
    struct pg_test_route routes[MAX_FILES];

    memset(s, 0, sizeof(*s));
    memset(routes, 0, sizeof(routes));
    s->n = n;
    for (size_t i = 0; i < n; i++) {
        snprintf(s->paths[i], sizeof(s->paths[i]), "/c/f%02zu.txt", i);
        snprintf(s->bodies[i], sizeof(s->bodies[i]),
                 "compare test file %zu\n", i);
        routes[i].path = s->paths[i];
        routes[i].body = s->bodies[i];
        routes[i].body_len = strlen(s->bodies[i]);
        routes[i].content_type = "text/plain";
        routes[i].delay_ms = delay_ms;
        s->bytes += routes[i].body_len;
    }
    s->srv = pg_test_server_start(routes, n);
    if (!s->srv)
        pg_test_fail(t, "cannot start the test server");
    for (size_t i = 0; i < n; i++)
        s->urls[i] = pg_strdupf("http://127.0.0.1:%u%s",
                                pg_test_server_port(s->srv), s->paths[i]);
}

/* The URL list as a file, with a comment and blank lines mixed in. */
static char *site_list(struct pg_test *t, const struct site *s,
                       const char *name)
{
    char *path = pg_path(t, "%s", name);
    char *text = pg_strdupf("# the compare test list\n\n");

    for (size_t i = 0; i < s->n; i++) {
        char *next = pg_strdupf("%s  %s\n%s", text, s->urls[i],
                                i % 2 ? "\n" : "");

        free(text);
        text = next;
    }
    pg_write_file(t, path, text, strlen(text));
    free(text);
    return path;
}

static void push_urls(struct pg_args *a, const struct site *s)
{
    for (size_t i = 0; i < s->n; i++)
        pg_args_push(a, s->urls[i], (const char *)NULL);
}

/* An empty directory in the test dir. */
static char *new_dir(struct pg_test *t, const char *name)
{
    char *path = pg_path(t, "%s", name);

    pg_mkdirs(t, path);
    return path;
}

/* The names in dir (not "." or ".."), sorted. */
static void dir_names(struct pg_test *t, const char *dir,
                      struct pg_strlist *out)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    PG_CHECK(t, d, "cannot open '%s': %s", dir, strerror(errno));
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            pg_strlist_add(out, e->d_name);
    }
    closedir(d);
    pg_strlist_sort(out);
}

static void check_empty_dir(struct pg_test *t, const char *dir,
                            const char *what)
{
    struct pg_strlist names = {0};

    dir_names(t, dir, &names);
    PG_CHECK(t, names.n == 0, "%s: '%s' still holds %s", what, dir,
             pg_strlist_join(&names, ", "));
    pg_strlist_release(&names);
}

/* Fail unless some line of text contains both a and b. */
static void check_line_with(struct pg_test *t, const char *text,
                            const char *a, const char *b, const char *what)
{
    const char *p = text;

    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char *line = pg_strdupf("%.*s", (int)len, p);
        int found = strstr(line, a) && (!b || strstr(line, b));

        free(line);
        if (found)
            return;
        p = eol ? eol + 1 : NULL;
    }
    pg_test_fail(t, "%s: no line contains '%s'%s%s%s", what, a,
                 b ? " and '" : "", b ? b : "", b ? "'" : "");
}

static size_t count_substr(const char *text, const char *needle)
{
    size_t n = 0;

    for (const char *p = strstr(text, needle); p;
         p = strstr(p + 1, needle))
        n++;
    return n;
}

/* K of the default multi modes: the job's --per-worker if above 1
 * (PG_TEST_PER_WORKER makes the harness add one), else 16. */
static unsigned default_multi_k(void)
{
    const char *e = getenv("PG_TEST_PER_WORKER");
    long k = e ? strtol(e, NULL, 10) : 0;

    return k > 1 ? (unsigned)k : 16;
}

/* ------------------------------------------------------------------ */
/* CSV                                                                 */
/* ------------------------------------------------------------------ */

/* Split s in place at sep; returns the number of fields (<= max). */
static size_t split(char *s, char sep, char **out, size_t max)
{
    size_t n = 0;

    for (;;) {
        char *end = strchr(s, sep);

        if (n == max)
            return max + 1;
        out[n++] = s;
        if (!end)
            return n;
        *end = '\0';
        s = end + 1;
    }
}

/* A plain, finite, non-negative decimal number taking the whole field. */
static int plain_number(const char *s, double *v)
{
    char *end;

    if (!*s || strspn(s, "0123456789.") != strlen(s))
        return 0;
    errno = 0;
    *v = strtod(s, &end);
    return !errno && !*end && isfinite(*v) && *v >= 0;
}

struct expect_mode {
    const char *mode;        /* "thread" or "process" */
    unsigned k;
};

/*
 * Check a CSV report: the header, then exactly one row per expected mode
 * in order, every field a plain number, `runs` completed runs, the pages
 * and errors given, and the bytes when bytes is not -1.
 */
static void check_csv(struct pg_test *t, const char *out,
                      const struct expect_mode *modes, size_t n_modes,
                      unsigned runs, size_t pages, size_t errors,
                      long long bytes)
{
    char *copy = pg_strdupf("%s", out);
    char *lines[MAX_FILES + 4];
    size_t n;

    PG_CHECK(t, strlen(copy) > 0 && copy[strlen(copy) - 1] == '\n',
             "the CSV must end with a newline: '%s'", out);
    copy[strlen(copy) - 1] = '\0';
    n = split(copy, '\n', lines, MAX_FILES + 2);
    PG_CHECK(t, n == n_modes + 1, "the CSV has %zu lines, expected a "
             "header and %zu rows:\n%s", n, n_modes, out);
    PG_CHECK_STR(t, lines[0], CSV_HEADER, "CSV header");
    for (size_t i = 0; i < n_modes; i++) {
        char *f[CSV_FIELDS + 1];
        char *row = pg_strdupf("%s", lines[i + 1]);
        double v[CSV_FIELDS];
        size_t nf = split(lines[i + 1], ',', f, CSV_FIELDS);

        PG_CHECK(t, nf == CSV_FIELDS, "CSV row %zu has %zu fields, "
                 "expected %d: %s", i + 1, nf, CSV_FIELDS, row);
        PG_CHECK(t, !strcmp(f[0], modes[i].mode), "CSV row %zu is mode "
                 "'%s', expected '%s': %s", i + 1, f[0], modes[i].mode,
                 row);
        for (size_t k = 1; k < CSV_FIELDS; k++)
            PG_CHECK(t, plain_number(f[k], &v[k]), "CSV row %zu field %zu "
                     "('%s') is not a plain number: %s", i + 1, k + 1, f[k],
                     row);
        PG_CHECK(t, v[1] == modes[i].k, "CSV row %zu: per_worker %s, "
                 "expected %u", i + 1, f[1], modes[i].k);
        PG_CHECK(t, v[2] == runs, "CSV row %zu: %s runs completed, "
                 "expected %u", i + 1, f[2], runs);
        PG_CHECK(t, v[3] == (double)pages, "CSV row %zu: %s pages, "
                 "expected %zu (the input)", i + 1, f[3], pages);
        PG_CHECK(t, bytes < 0 || v[4] == (double)bytes, "CSV row %zu: %s "
                 "bytes, expected %lld", i + 1, f[4], bytes);
        PG_CHECK(t, v[5] > 0, "CSV row %zu: wall time %s", i + 1, f[5]);
        PG_CHECK(t, v[6] > 0, "CSV row %zu: pages/s %s", i + 1, f[6]);
        PG_CHECK(t, v[10] > 0, "CSV row %zu: peak RSS %s", i + 1, f[10]);
        PG_CHECK(t, v[12] <= v[13] && v[13] <= v[14], "CSV row %zu: "
                 "latency percentiles out of order: %s", i + 1, row);
        PG_CHECK(t, v[15] == (double)errors, "CSV row %zu: %s errors, "
                 "expected %zu", i + 1, f[15], errors);
        free(row);
    }
    free(copy);
}

/* ------------------------------------------------------------------ */
/* The JSON report, read with tests/lib/json.h                         */
/* ------------------------------------------------------------------ */

/* Parse a whole JSON text or fail the test. */
static void json_must_parse(struct pg_test *t, const char *text, size_t len,
                            struct pg_json_field *out)
{
    char err[160];

    PG_CHECK(t, pg_json_valid_utf8((const unsigned char *)text, len),
             "the JSON is not valid UTF-8");
    if (pg_json_parse(text, len, out, err, sizeof(err)) != 0)
        pg_test_fail(t, "the JSON does not parse: %s", err);
}

static double jnum(struct pg_test *t, const struct pg_json_field *o,
                   const char *key)
{
    const struct pg_json_field *v = pg_json_get(o, key);

    PG_CHECK(t, v && v->type == PG_JSON_NUMBER, "JSON: '%s' is missing or "
             "not a number", key);
    return v->num;
}

static const char *jstr(struct pg_test *t, const struct pg_json_field *o,
                        const char *key)
{
    const struct pg_json_field *v = pg_json_get(o, key);

    PG_CHECK(t, v && v->type == PG_JSON_STRING, "JSON: '%s' is missing or "
             "not a string", key);
    return v->str;
}

/* Self-check of the parser, so a lenient parser cannot pass bad JSON. */
static void test_json_parser(struct pg_test *t)
{
    static const char *const good[] = {
        "{}", "[]", "{\"a\": [1, -0.5, 2e3, true, false, null]}",
        "\"\\u00e9\\ud83d\\ude00\\n\"", " 0 ",
    };
    static const char *const bad[] = {
        "{", "[1,]", "{\"a\" 1}", "01", "1.", ".5", "\"\\x\"",
        "\"\\ud800\"", "\"a\nb\"", "nul", "{} {}", "[NaN]", "'a'",
        "{\"a\":1,}", "-", "\"\xff\"",
    };
    struct pg_json_field v;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char err[160];

        PG_CHECK(t, pg_json_parse(good[i], strlen(good[i]), &v, err,
                                  sizeof(err)) == 0,
                 "good JSON '%s' refused: %s", good[i], err);
        pg_json_release(&v);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[160];
        int ok = pg_json_valid_utf8((const unsigned char *)bad[i],
                                    strlen(bad[i])) &&
                 pg_json_parse(bad[i], strlen(bad[i]), &v, err,
                               sizeof(err)) == 0;

        pg_json_release(&v);
        PG_CHECK(t, !ok, "bad JSON '%s' accepted", bad[i]);
    }
}

/* ------------------------------------------------------------------ */
/* The report formats                                                  */
/* ------------------------------------------------------------------ */

/* CSV: one row per mode, in the order given, pages = the input. */
static void test_csv_rows(struct pg_test *t)
{
    static const struct expect_mode modes[] = {
        {"thread", 1}, {"process", 1}, {"thread", 3}, {"process", 2},
    };
    struct site s;
    struct pg_args a = {{0}, 0};
    char *base = new_dir(t, "base");
    struct pg_run r;

    site_start(t, &s, 6, 0);
    pg_args_push(&a, "compare", "--modes", "thread:1,process:1,thread:3,"
              "process:2", "--repeat", "1", "--format", "csv", "-j", "2",
              "-o", base, (const char *)NULL);
    push_urls(&a, &s);
    pg_run(t, &r, NULL, 90, a.v);
    PG_CHECK_INT(t, r.code, 0, "exit status");
    check_csv(t, r.out, modes, 4, 1, s.n, 0, (long long)s.bytes);
    PG_CHECK_INT(t, pg_test_server_total(s.srv), 4 * s.n,
                 "requests: one per URL per run");
    /* Progress lines on stderr, one per run. */
    check_line_with(t, r.err, "run 1/4: thread:1", NULL, "progress");
    check_line_with(t, r.err, "run 4/4: process:2", NULL, "progress");
    check_empty_dir(t, base, "after the runs");
    pg_run_release(&r);
    pg_test_server_stop(s.srv);
}

/* --repeat 2 with 2 modes: the server sees exactly 2 x 2 x N requests. */
static void test_repeat_requests(struct pg_test *t)
{
    struct site s;
    struct pg_args a = {{0}, 0};
    char *base = new_dir(t, "base");
    char *list;
    struct pg_run r;
    char *head;

    site_start(t, &s, 7, 0);
    list = site_list(t, &s, "urls.txt");
    pg_args_push(&a, "compare", "--repeat", "2", "--modes", "thread:1,process:1",
              "-j", "3", "-i", list, "-o", base, (const char *)NULL);
    pg_run(t, &r, NULL, 90, a.v);
    PG_CHECK_INT(t, r.code, 0, "exit status");
    PG_CHECK_INT(t, pg_test_server_total(s.srv), 2 * 2 * s.n,
                 "requests in total");
    for (size_t i = 0; i < s.n; i++)
        PG_CHECK_INT(t, pg_test_server_hits(s.srv, s.paths[i], "GET"), 4,
                     s.paths[i]);
    /* The table: a title line, a header, a row per mode in order. */
    head = pg_strdupf("%zu input URLs, -j 3, medians of 2 runs per mode",
                      s.n);
    PG_CHECK(t, pg_str_has_prefix(r.out, "pagegrab compare: ") &&
                    strstr(r.out, head),
             "the table's title line is missing '%s':\n%s", head, r.out);
    check_line_with(t, r.out, "mode", "pages/s", "table header");
    {
        const char *h = strstr(r.out, "\nmode");
        const char *t1 = h ? strstr(h, "\nthread:1 ") : NULL;
        const char *p1 = t1 ? strstr(t1, "\nprocess:1 ") : NULL;

        PG_CHECK(t, h && t1 && p1, "the table rows are missing or out of "
                 "order:\n%s", r.out);
    }
    PG_CHECK_INT(t, count_substr(r.err, "pagegrab: run "), 4,
                 "progress lines");
    check_empty_dir(t, base, "after the runs");
    pg_run_release(&r);
    pg_test_server_stop(s.srv);
}

/* No --modes: thread:1, process:1, thread:K, process:K. */
static void test_default_modes(struct pg_test *t)
{
    unsigned k = default_multi_k();
    const struct expect_mode modes[] = {
        {"thread", 1}, {"process", 1}, {"thread", k}, {"process", k},
    };
    struct site s;
    struct pg_args a = {{0}, 0};
    char *base = new_dir(t, "base");
    struct pg_run r;

    site_start(t, &s, 3, 0);
    pg_args_push(&a, "compare", "--repeat", "1", "--format", "csv", "-q", "-j",
              "2", "-o", base, (const char *)NULL);
    push_urls(&a, &s);
    pg_run(t, &r, NULL, 90, a.v);
    PG_CHECK_INT(t, r.code, 0, "exit status");
    check_csv(t, r.out, modes, 4, 1, s.n, 0, (long long)s.bytes);
    PG_CHECK(t, r.err_len == 0, "-q: stderr must stay empty, got '%s'",
             r.err);
    PG_CHECK_INT(t, pg_test_server_total(s.srv), 4 * s.n, "requests");
    pg_run_release(&r);
    pg_test_server_stop(s.srv);
}

/*
 * JSON: well-formed, one object per mode with its runs' raw values; a
 * 404 is counted in errors and the exit status stays 0.
 */
static void test_json_report(struct pg_test *t)
{
    static const char *const labels[] = {"thread:1", "process:2"};
    struct site s;
    struct pg_args a = {{0}, 0};
    char *base = new_dir(t, "base");
    char *missing;
    struct pg_run r;
    struct pg_json_field root;
    const struct pg_json_field *modes;

    site_start(t, &s, 4, 0);
    missing = pg_strdupf("http://127.0.0.1:%u/c/missing.txt",
                         pg_test_server_port(s.srv));
    pg_args_push(&a, "compare", "--format", "json", "--repeat", "2", "--modes",
              "thread:1,process:2", "-j", "2", "-o", base, "--retries", "0",
              (const char *)NULL);
    push_urls(&a, &s);
    pg_args_push(&a, missing, (const char *)NULL);
    pg_run(t, &r, NULL, 90, a.v);
    PG_CHECK_INT(t, r.code, 0, "exit status (failed URLs are not failed "
                 "runs)");
    json_must_parse(t, r.out, r.out_len, &root);
    PG_CHECK(t, root.type == PG_JSON_OBJECT, "the JSON is not one object");
    PG_CHECK_INT(t, jnum(t, &root, "input_urls"), s.n + 1, "input_urls");
    PG_CHECK_INT(t, jnum(t, &root, "jobs"), 2, "jobs");
    PG_CHECK_INT(t, jnum(t, &root, "repeat"), 2, "repeat");
    modes = pg_json_get(&root, "modes");
    PG_CHECK(t, modes && modes->type == PG_JSON_ARRAY && modes->n == 2,
             "'modes' must be an array of 2");
    for (size_t i = 0; i < 2; i++) {
        const struct pg_json_field *m = &modes->f[i];
        const struct pg_json_field *runs = pg_json_get(m, "runs");

        PG_CHECK_STR(t, jstr(t, m, "label"), labels[i], "label");
        PG_CHECK_STR(t, jstr(t, m, "mode"), i ? "process" : "thread",
                     "mode");
        PG_CHECK_INT(t, jnum(t, m, "per_worker"), i ? 2 : 1, "per_worker");
        PG_CHECK_INT(t, jnum(t, m, "runs_ok"), 2, "runs_ok");
        PG_CHECK_INT(t, jnum(t, m, "pages"), s.n + 1, "median pages");
        PG_CHECK_INT(t, jnum(t, m, "errors"), 1, "errors (the 404)");
        PG_CHECK(t, jnum(t, m, "wall_s") > 0, "median wall_s");
        PG_CHECK(t, jnum(t, m, "peak_rss_mib") > 0, "median peak RSS");
        PG_CHECK(t, runs && runs->type == PG_JSON_ARRAY && runs->n == 2,
                 "%s: 'runs' must be an array of 2", labels[i]);
        for (size_t k = 0; k < runs->n; k++) {
            const struct pg_json_field *run = &runs->f[k];
            const struct pg_json_field *ok = pg_json_get(run, "ok");
            const struct pg_json_field *err = pg_json_get(run, "error");

            PG_CHECK_INT(t, jnum(t, run, "repeat"), k + 1, "run number");
            PG_CHECK(t, ok && ok->type == PG_JSON_BOOL &&
                        !strcmp(ok->raw, "true"), "%s run %zu: ok must "
                     "be true", labels[i], k + 1);
            PG_CHECK(t, err && err->type == PG_JSON_NULL, "%s run %zu: error "
                     "must be null", labels[i], k + 1);
            PG_CHECK_INT(t, jnum(t, run, "exit_status"), 1, "a run's exit "
                         "status (some URLs failed)");
            PG_CHECK_INT(t, jnum(t, run, "pages"), s.n + 1, "a run's pages");
            PG_CHECK_INT(t, jnum(t, run, "bytes"), s.bytes, "a run's bytes");
            PG_CHECK_INT(t, jnum(t, run, "errors"), 1, "a run's errors");
            PG_CHECK(t, jnum(t, run, "wall_s") > 0 &&
                            jnum(t, run, "user_s") >= 0 &&
                            jnum(t, run, "sys_s") >= 0,
                     "a run's times");
            PG_CHECK(t, jnum(t, run, "transfers") >= (double)s.n + 1,
                     "a run's transfers");
        }
    }
    PG_CHECK_INT(t, pg_test_server_total(s.srv), 2 * 2 * (s.n + 1),
                 "requests (no retry of a 404)");
    pg_run_release(&r);
    pg_test_server_stop(s.srv);
}

/* The class attribute of node is value. */
static int has_class(xmlNodePtr node, const char *value)
{
    xmlChar *c = xmlGetProp(node, (const xmlChar *)"class");
    int eq = c && !strcmp((const char *)c, value);

    xmlFree(c);
    return eq;
}

/* The text of node's elements named `name`, in document order, joined
 * with '|'; the number of them in *count. */
static char *collect(xmlNodePtr node, const char *name, const char *cls,
                     size_t *count)
{
    char *all = pg_strdupf("%s", "");

    for (xmlNodePtr c = node->children; c; c = c->next) {
        xmlChar *text;
        char *next;

        if (c->type != XML_ELEMENT_NODE ||
            strcmp((const char *)c->name, name) || (cls && !has_class(c, cls)))
            continue;
        (*count)++;
        text = xmlNodeGetContent(c);
        next = pg_strdupf("%s%s|", all, text ? (const char *)text : "");
        xmlFree(text);
        free(all);
        all = next;
    }
    return all;
}

/* --svg: well-formed XML, two panels, one bar per mode in each. */
static void test_svg_chart(struct pg_test *t)
{
    struct site s;
    struct pg_args a = {{0}, 0};
    char *base = new_dir(t, "base");
    char *charts = new_dir(t, "charts");
    char *svg = pg_path(t, "charts/chart.svg");
    struct pg_strlist names = {0};
    struct pg_run r;
    xmlDocPtr doc;
    xmlNodePtr root;
    size_t panels = 0;
    struct stat st;

    site_start(t, &s, 3, 0);
    pg_write_file(t, svg, "old", 3);
    pg_args_push(&a, "compare", "--svg", svg, "--modes",
              "thread:1,process:1,thread:2", "--repeat", "1", "-q", "-j", "2",
              "-o", base, (const char *)NULL);
    push_urls(&a, &s);
    pg_run(t, &r, NULL, 90, a.v);
    PG_CHECK_INT(t, r.code, 0, "exit status");
    PG_CHECK(t, r.out_len > 0, "the table must still go to stdout");
    doc = xmlReadFile(svg, NULL, XML_PARSE_NONET);
    PG_CHECK(t, doc, "'%s' does not parse as XML", svg);
    root = xmlDocGetRootElement(doc);
    PG_CHECK(t, root && !strcmp((const char *)root->name, "svg"),
             "the root element is not <svg>");
    {
        size_t n = 0;
        char *title = collect(root, "title", NULL, &n);
        char *want = pg_strdupf("%zu input URLs", s.n);

        PG_CHECK(t, n == 1 && strstr(title, want) &&
                        strstr(title, "1 run"),
                 "the <title> must give the job size and R: '%s'", title);
    }
    for (xmlNodePtr g = root->children; g; g = g->next) {
        size_t bars = 0, texts = 0;
        char *text;

        if (g->type != XML_ELEMENT_NODE || strcmp((const char *)g->name, "g")
            || !has_class(g, "panel"))
            continue;
        panels++;
        collect(g, "rect", "bar", &bars);
        PG_CHECK_INT(t, bars, 3, "bars in a panel (one per mode)");
        text = collect(g, "text", NULL, &texts);
        PG_CHECK(t, pg_str_has_prefix(text, panels == 1
                                                ? "throughput (pages/s)|"
                                                : "CPU seconds (user+sys)|"),
                 "panel %zu has the wrong title: '%s'", panels, text);
        PG_CHECK(t, strstr(text, "|thread:1|") && strstr(text, "|process:1|")
                        && strstr(text, "|thread:2|"),
                 "panel %zu must label every bar: '%s'", panels, text);
        /* Title, then a label and a value per mode. */
        PG_CHECK_INT(t, texts, 1 + 2 * 3, "texts in a panel");
    }
    PG_CHECK_INT(t, panels, 2, "panels");
    xmlFreeDoc(doc);
    /* Renamed into place: no temporary file left beside it. */
    dir_names(t, charts, &names);
    PG_CHECK(t, names.n == 1, "the chart's directory holds %s",
             pg_strlist_join(&names, ", "));
    PG_CHECK(t, stat(svg, &st) == 0 && (st.st_mode & 0444) == 0444,
             "the chart must be readable like any new file");
    pg_run_release(&r);
    pg_test_server_stop(s.srv);
}

/* ------------------------------------------------------------------ */
/* Temporary directories and input                                    */
/* ------------------------------------------------------------------ */

/*
 * Every run's directory and the copy of stdin are gone afterwards: under
 * -o DIR, and under $TMPDIR without -o; nothing lands in the working
 * directory; --manifest does not write the user's path.
 */
static void test_temp_dirs_removed(struct pg_test *t)
{
    struct site s;
    struct pg_args a = {{0}, 0}, b = {{0}, 0};
    char *base = new_dir(t, "base");
    char *tmp = new_dir(t, "tmp");
    char *man = pg_path(t, "manifest.jsonl");
    char *list;
    struct pg_strlist names = {0};
    struct pg_run r;

    site_start(t, &s, 5, 0);
    list = site_list(t, &s, "urls.txt");
    pg_args_push(&a, "compare", "--modes", "thread:1,process:1", "--repeat",
              "2", "-q", "-i", "-", "-o", base, "--manifest", man,
              (const char *)NULL);
    pg_run(t, &r, list, 90, a.v);
    PG_CHECK_INT(t, r.code, 0, "exit status");
    check_empty_dir(t, base, "-o base");
    PG_CHECK(t, access(man, F_OK) != 0, "the user's --manifest path must "
             "not be written");
    pg_run_release(&r);

    /* No -o: $TMPDIR. */
    PG_CHECK(t, setenv("TMPDIR", tmp, 1) == 0, "setenv");
    pg_args_push(&b, "compare", "--modes", "thread:2,process:2", "--repeat",
              "1", "-q", "-i", "-", (const char *)NULL);
    pg_run(t, &r, list, 90, b.v);
    PG_CHECK_INT(t, r.code, 0, "exit status (TMPDIR)");
    check_empty_dir(t, tmp, "$TMPDIR");
    PG_CHECK_INT(t, pg_test_server_total(s.srv), 2 * 2 * s.n + 2 * s.n,
                 "requests in total");
    /* The working directory (the test dir) got nothing but our files. */
    dir_names(t, t->dir, &names);
    for (size_t i = 0; i < names.n; i++)
        PG_CHECK(t, !strcmp(names.v[i], "base") ||
                        !strcmp(names.v[i], "tmp") ||
                        !strcmp(names.v[i], "urls.txt") ||
                        pg_str_has_prefix(names.v[i], "run"),
                 "unexpected '%s' in the working directory", names.v[i]);
    pg_run_release(&r);
    pg_test_server_stop(s.srv);
}

/*
 * --keep: one directory per run, each with every file saved and, with
 * --manifest, its own manifest; where they are is printed.
 */
static void test_keep(struct pg_test *t)
{
    struct site s;
    struct pg_args a = {{0}, 0};
    char *base = new_dir(t, "base");
    char *man = pg_path(t, "manifest.jsonl");
    struct pg_strlist names = {0};
    struct pg_run r;
    size_t per_mode[2] = {0, 0};

    site_start(t, &s, 4, 0);
    pg_args_push(&a, "compare", "--keep", "--modes", "thread:1,process:1",
              "--repeat", "2", "-o", base, "--manifest", man,
              (const char *)NULL);
    push_urls(&a, &s);
    pg_run(t, &r, NULL, 90, a.v);
    PG_CHECK_INT(t, r.code, 0, "exit status");
    dir_names(t, base, &names);
    PG_CHECK_INT(t, names.n, 4, "kept directories (2 modes x 2 runs)");
    for (size_t i = 0; i < names.n; i++) {
        char *dir = pg_strdupf("%s/%s", base, names.v[i]);
        char *mpath = pg_strdupf("%s/manifest.jsonl", dir);
        struct pg_manifest m;

        PG_CHECK(t, pg_str_has_prefix(names.v[i], "pagegrab-compare-"),
                 "kept directory '%s' is not named after compare",
                 names.v[i]);
        per_mode[pg_str_has_prefix(names.v[i], "pagegrab-compare-process")]
            ++;
        check_line_with(t, r.err, "kept in", dir, "--keep");
        for (size_t k = 0; k < s.n; k++) {
            char *f = pg_strdupf("%s/127.0.0.1:%u%s", dir,
                                 pg_test_server_port(s.srv), s.paths[k]);
            size_t len;
            char *data = pg_read_file(f, &len);

            PG_CHECK(t, data && len == strlen(s.bodies[k]) &&
                            !memcmp(data, s.bodies[k], len),
                     "'%s' is missing or wrong", f);
            free(data);
            free(f);
        }
        pg_manifest_must_load(t, mpath, &m);
        PG_CHECK_INT(t, m.n, s.n, "records in a run's manifest");
        pg_manifest_release(&m);
        free(mpath);
        free(dir);
    }
    PG_CHECK(t, per_mode[0] == 2 && per_mode[1] == 2, "kept %zu thread and "
             "%zu process directories, expected 2 and 2", per_mode[0],
             per_mode[1]);
    PG_CHECK(t, access(man, F_OK) != 0, "the user's --manifest path must "
             "not be written");
    pg_strlist_release(&names);
    pg_run_release(&r);
    pg_test_server_stop(s.srv);
}

/* -i -: stdin is read once, and every run gets the whole list. */
static void test_stdin_every_run(struct pg_test *t)
{
    static const struct expect_mode modes[] = {
        {"process", 1}, {"thread", 4},
    };
    struct site s;
    struct pg_args a = {{0}, 0};
    char *base = new_dir(t, "base");
    char *list;
    struct pg_run r;

    site_start(t, &s, 9, 0);
    list = site_list(t, &s, "urls.txt");
    pg_args_push(&a, "compare", "--modes", "process:1,thread:4", "--repeat",
              "2", "--format", "csv", "-j", "3", "-i", "-", "-o", base,
              (const char *)NULL);
    pg_run(t, &r, list, 90, a.v);
    PG_CHECK_INT(t, r.code, 0, "exit status");
    check_csv(t, r.out, modes, 2, 2, s.n, 0, (long long)s.bytes);
    for (size_t i = 0; i < s.n; i++)
        PG_CHECK_INT(t, pg_test_server_hits(s.srv, s.paths[i], "GET"), 4,
                     s.paths[i]);
    PG_CHECK_INT(t, pg_test_server_total(s.srv), 4 * s.n, "requests");
    check_empty_dir(t, base, "the stdin copy and the runs");
    pg_run_release(&r);
    pg_test_server_stop(s.srv);
}

/* ------------------------------------------------------------------ */
/* Failures, signals, usage                                            */
/* ------------------------------------------------------------------ */

/* Wait until the server has seen n requests (at most secs seconds). */
static void wait_requests(struct pg_test *t, struct pg_test_server *srv,
                          unsigned long n, unsigned secs)
{
    struct timespec nap = {0, 20 * 1000 * 1000};
    unsigned long tries = (unsigned long)pg_test_scaled(secs) * 50;

    while (pg_test_server_total(srv) < n && tries-- > 0)
        nanosleep(&nap, NULL);
    PG_CHECK(t, pg_test_server_total(srv) >= n, "the server saw %lu "
             "requests, expected %lu", pg_test_server_total(srv), n);
}

/*
 * A run whose process is killed is reported as failed, naming the mode;
 * the other runs go on; the exit status is 3; its directory is removed.
 */
static void test_killed_run(struct pg_test *t)
{
    struct site s;
    struct pg_args a = {{0}, 0};
    char *base = new_dir(t, "base");
    struct pg_child kids[8];
    struct pg_proc p;
    struct pg_run r;
    size_t n;

    site_start(t, &s, 1, 1500);
    pg_args_push(&a, "compare", "--modes", "thread:1,process:1", "--repeat",
              "1", "--format", "csv", "-o", base, s.urls[0],
              (const char *)NULL);
    pg_proc_start(t, &p, NULL, 0, a.v);
    wait_requests(t, s.srv, 1, 20);
    n = pg_proc_children(p.pid, kids, 8);
    PG_CHECK_INT(t, n, 1, "processes under compare during a thread run");
    PG_CHECK(t, kill(kids[0].pid, SIGKILL) == 0, "kill: %s",
             strerror(errno));
    pg_proc_wait(t, &p, 60, 0, &r);
    PG_CHECK_INT(t, r.code, 3, "exit status (a run failed)");
    check_line_with(t, r.err, "run 1/2: thread:1 failed", "signal 9",
                    "the failed run");
    check_line_with(t, r.err, "run 2/2: process:1 ...", NULL,
                    "the next run");
    {
        static const struct expect_mode good[] = {{"process", 1}};
        const char *row2 = strstr(r.out, "\nprocess,");
        char *only = pg_strdupf("%s\n%s", CSV_HEADER, row2 ? row2 + 1 : "");

        PG_CHECK(t, pg_str_has_prefix(r.out, CSV_HEADER) &&
                        strstr(r.out, "\nthread,1,0,,,,,,,,,,,,,\n"),
                 "the failed mode's row must be empty:\n%s", r.out);
        check_csv(t, only, good, 1, 1, 1, 0, -1);
        free(only);
    }
    check_empty_dir(t, base, "after a killed run");
    pg_run_release(&r);
    pg_test_server_stop(s.srv);
}

static double mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * SIGTERM to compare (not to its group): it is passed on to the running
 * child, whose job stops at once - long before the server's delayed
 * answer - and nothing is left behind; exit 4, no report.
 */
static void test_signal_stops(struct pg_test *t)
{
    struct site s;
    struct pg_args a = {{0}, 0};
    char *base = new_dir(t, "base");
    struct pg_proc p;
    struct pg_run r;
    unsigned delay_s = pg_test_scaled(10);
    double sent;

    site_start(t, &s, 2, delay_s * 1000);
    pg_args_push(&a, "compare", "--modes", "process:1,thread:1", "--repeat",
              "3", "-o", base, "--retries", "0", (const char *)NULL);
    push_urls(&a, &s);
    pg_proc_start(t, &p, NULL, 0, a.v);
    wait_requests(t, s.srv, 1, 20);
    sent = mono_now();
    PG_CHECK(t, kill(p.pid, SIGTERM) == 0, "kill: %s", strerror(errno));
    pg_proc_wait(t, &p, 30, 0, &r);
    PG_CHECK(t, mono_now() - sent < delay_s * 0.7, "compare took %.1f s to "
             "stop: the signal did not reach the running job",
             mono_now() - sent);
    PG_CHECK_INT(t, r.code, 4, "exit status");
    PG_CHECK(t, r.out_len == 0, "no report after a stop, got '%s'", r.out);
    check_line_with(t, r.err, "interrupted", NULL, "the stop");
    PG_CHECK(t, pg_test_server_total(s.srv) <= 2, "%lu requests: runs "
             "went on after the stop", pg_test_server_total(s.srv));
    check_empty_dir(t, base, "after a stop");
    pg_run_release(&r);
    pg_test_server_stop(s.srv);
}

/* The one entry of dir whose name starts with prefix (heap), or fail. */
static char *find_entry(struct pg_test *t, const char *dir,
                        const char *prefix)
{
    struct pg_strlist names = {0};
    char *found = NULL;

    dir_names(t, dir, &names);
    for (size_t i = 0; i < names.n; i++) {
        if (pg_str_has_prefix(names.v[i], prefix)) {
            PG_CHECK(t, !found, "two entries '%s*' in '%s'", prefix, dir);
            found = pg_strdupf("%s/%s", dir, names.v[i]);
        }
    }
    PG_CHECK(t, found, "no '%s*' in '%s'", prefix, dir);
    pg_strlist_release(&names);
    return found;
}

/* A chain of n directories "d/d/d/..." under dir, made with *at() calls
 * (the path would be too long for one), a link to target at the bottom. */
static void make_deep_chain(struct pg_test *t, const char *dir, unsigned n,
                            const char *target)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);

    PG_CHECK(t, fd >= 0, "open '%s': %s", dir, strerror(errno));
    for (unsigned i = 0; i < n; i++) {
        int next;

        PG_CHECK(t, mkdirat(fd, "d", 0700) == 0, "mkdirat: %s",
                 strerror(errno));
        next = openat(fd, "d", O_RDONLY | O_DIRECTORY);
        PG_CHECK(t, next >= 0, "openat: %s", strerror(errno));
        close(fd);
        fd = next;
    }
    PG_CHECK(t, symlinkat(target, fd, "down-here") == 0, "symlinkat: %s",
             strerror(errno));
    close(fd);
}

/*
 * A run's directory is removed without following symlinks: links planted
 * in it during the run (to a directory and a file outside) go, what they
 * point to stays.  A tree deeper than the descriptor limit (lowered to
 * 256 here) goes too.
 */
static void test_planted_symlinks(struct pg_test *t)
{
    struct site s;
    struct pg_args a = {{0}, 0};
    char *base = new_dir(t, "base");
    char *victim = new_dir(t, "victim");
    char *vfile = pg_path(t, "victim/keep.txt");
    struct pg_strlist left = {0};
    struct rlimit fds = {256, 256};
    struct pg_proc p;
    struct pg_run r;
    char *run, *sub, *link;

    pg_write_file(t, vfile, "keep", 4);
    PG_CHECK(t, setrlimit(RLIMIT_NOFILE, &fds) == 0, "setrlimit: %s",
             strerror(errno));
    site_start(t, &s, 1, 1500);
    pg_args_push(&a, "compare", "--modes", "thread:1", "--repeat", "1", "-o",
              base, s.urls[0], (const char *)NULL);
    pg_proc_start(t, &p, NULL, 0, a.v);
    wait_requests(t, s.srv, 1, 20);
    run = find_entry(t, base, "pagegrab-compare-thread-1-r1.");
    sub = pg_strdupf("%s/sub", run);
    pg_mkdirs(t, sub);
    link = pg_strdupf("%s/to-victim", run);
    PG_CHECK(t, symlink(victim, link) == 0, "symlink: %s", strerror(errno));
    free(link);
    link = pg_strdupf("%s/to-file", sub);
    PG_CHECK(t, symlink(vfile, link) == 0, "symlink: %s", strerror(errno));
    free(link);
    make_deep_chain(t, sub, 1200, victim);
    pg_proc_wait(t, &p, 60, 0, &r);
    PG_CHECK_INT(t, r.code, 0, "exit status");
    check_empty_dir(t, base, "after the run");
    PG_CHECK(t, pg_tree_list(victim, &left) == 0 && left.n == 1 &&
                    !strcmp(left.v[0], "keep.txt"),
             "the symlinks' targets were touched: victim/ holds %s",
             pg_strlist_join(&left, ", "));
    pg_strlist_release(&left);
    pg_run_release(&r);
    pg_test_server_stop(s.srv);
}

/* Run compare with args and expect exit 2 and text on stderr. */
static void expect_usage(struct pg_test *t, const char *const *args,
                         const char *text, const char *what)
{
    struct pg_run r;

    pg_run(t, &r, NULL, 30, args);
    PG_CHECK(t, r.code == 2, "%s: exit status %d, expected 2", what,
             r.code);
    check_line_with(t, r.err, text, NULL, what);
    PG_CHECK(t, r.out_len == 0, "%s: nothing on stdout, got '%s'", what,
             r.out);
    pg_run_release(&r);
}

static void test_usage_errors(struct pg_test *t)
{
    struct site s;
    char *base = new_dir(t, "base");
    char *plain = pg_path(t, "plain-file");
    char *under = pg_path(t, "plain-file/sub");
    const char *u;
    struct pg_run r;

    site_start(t, &s, 1, 0);
    u = s.urls[0];
    pg_write_file(t, plain, "x", 1);
    {
        static const char *const bad_modes[] = {
            "thread,fork", "thread:0", "process:1025", "thread:x",
            "thread,,process", "Thread", "process:", "thread:1:2",
        };
        static const char *const named[] = {
            "'fork'", "'thread:0'", "'process:1025'", "'thread:x'", "''",
            "'Thread'", "'process:'", "'thread:1:2'",
        };

        for (size_t i = 0; i < sizeof(bad_modes) / sizeof(bad_modes[0]);
             i++) {
            const char *args[] = {"compare", "--modes", bad_modes[i], "-o",
                                  base, u, NULL};
            char *what = pg_strdupf("--modes %s", bad_modes[i]);

            expect_usage(t, args, named[i], what);
            free(what);
        }
    }
    {
        const char *a1[] = {"compare", "--resume", "--manifest", "m.jsonl",
                            "-o", base, u, NULL};
        const char *a2[] = {"compare", "--repeat", "0", "-o", base, u, NULL};
        const char *a3[] = {"compare", "--repeat=101", "-o", base, u, NULL};
        const char *a4[] = {"compare", "--format", "xml", "-o", base, u,
                            NULL};
        const char *a5[] = {"compare", "-o", base, u, "--modes", NULL};
        const char *a6[] = {"compare", "--keep=yes", "-o", base, u, NULL};
        const char *a7[] = {"compare", "--svg", "", "-o", base, u, NULL};
        const char *a8[] = {"compare", "-o", base, NULL};
        const char *a9[] = {"compare", "--no-such-option", "-o", base, u,
                            NULL};
        const char *a10[] = {"compare", "-j", "0", "-o", base, u, NULL};

        expect_usage(t, a1, "--resume", "--resume");
        expect_usage(t, a2, "'0' for --repeat", "--repeat 0");
        expect_usage(t, a3, "'101' for --repeat", "--repeat=101");
        expect_usage(t, a4, "'xml' for --format", "--format xml");
        expect_usage(t, a5, "'--modes' needs a value", "--modes at the end");
        expect_usage(t, a6, "--keep", "--keep=yes");
        expect_usage(t, a7, "--svg", "--svg ''");
        expect_usage(t, a8, "no URLs", "no URLs");
        expect_usage(t, a9, "no-such-option", "unknown option");
        expect_usage(t, a10, "-j", "-j 0");
    }
    {
        const char *help[] = {"compare", "--help", NULL};
        const char *bad_base[] = {"compare", "-o", under, u, NULL};

        pg_run(t, &r, NULL, 30, help);
        PG_CHECK_INT(t, r.code, 0, "--help exit status");
        PG_CHECK(t, pg_str_has_prefix(r.out, "Usage: pagegrab compare"),
                 "--help must print compare's usage: '%s'", r.out);
        pg_run_release(&r);
        pg_run(t, &r, NULL, 30, bad_base);
        PG_CHECK_INT(t, r.code, 3, "-o under a regular file");
        check_line_with(t, r.err, "cannot use directory", under, "-o");
        pg_run_release(&r);
    }
    PG_CHECK_INT(t, pg_test_server_total(s.srv), 0,
                 "requests made by refused commands");
    check_empty_dir(t, base, "after usage errors");
    pg_test_server_stop(s.srv);
}

/* ------------------------------------------------------------------ */
/* --peers                                                             */
/* ------------------------------------------------------------------ */

static const char *const PEERS[] = {"curl", "wget2", "aria2c"};
#define N_PEERS 3

/* Is name an executable in PATH? */
static int in_path(const char *name)
{
    const char *path = getenv("PATH");
    char *copy = pg_strdupf("%s", path ? path : "");
    int found = 0;

    for (char *dir = copy, *next; dir && !found; dir = next) {
        char *full;

        next = strchr(dir, ':');
        if (next)
            *next++ = '\0';
        full = pg_strdupf("%s/%s", *dir ? dir : ".", name);
        found = access(full, X_OK) == 0;
        free(full);
    }
    free(copy);
    return found;
}

/* The CSV of --peers: split into rows of fields (heap copies). */
#define PEER_CSV_FIELDS (CSV_FIELDS + 3)

struct csv_row {
    char *line;
    char *f[PEER_CSV_FIELDS + 1];
    size_t n;
};

static size_t peer_csv(struct pg_test *t, const char *out,
                       struct csv_row *rows, size_t max)
{
    char *copy = pg_strdupf("%s", out);
    char *lines[MAX_FILES];
    char *header = pg_strdupf("%s,files,file_bytes,check", CSV_HEADER);
    size_t n;

    PG_CHECK(t, *copy && copy[strlen(copy) - 1] == '\n', "the CSV must "
             "end with a newline: '%s'", out);
    copy[strlen(copy) - 1] = '\0';
    n = split(copy, '\n', lines, MAX_FILES - 1);
    PG_CHECK(t, n >= 1 && n - 1 <= max, "the CSV has %zu lines:\n%s", n,
             out);
    PG_CHECK_STR(t, lines[0], header, "the CSV header with --peers");
    for (size_t i = 1; i < n; i++) {
        struct csv_row *r = &rows[i - 1];

        r->line = pg_strdupf("%s", lines[i]);
        r->n = split(lines[i], ',', r->f, PEER_CSV_FIELDS);
        PG_CHECK(t, r->n == PEER_CSV_FIELDS, "CSV row %zu has %zu fields, "
                 "expected %d: %s", i, r->n, PEER_CSV_FIELDS, r->line);
    }
    free(header);
    return n - 1;
}

/*
 * Check a peer's CSV row: installed, one completed run per repeat with
 * the files and bytes of the site, checked "ok", no latency or error
 * figure; else "skipped".
 */
static void check_peer_row(struct pg_test *t, const struct csv_row *r,
                           const char *tool, unsigned runs, size_t files,
                           size_t bytes)
{
    char *want_files = pg_strdupf("%zu", files);
    char *want_bytes = pg_strdupf("%zu", bytes);
    char *want_runs = pg_strdupf("%u", runs);

    PG_CHECK_STR(t, r->f[0], tool, "a peer row's name");
    PG_CHECK_STR(t, r->f[1], "", "a peer has no per_worker");
    if (!in_path(tool)) {
        PG_CHECK_STR(t, r->f[2], "0", "a skipped peer's runs");
        PG_CHECK_STR(t, r->f[18], "skipped", "a peer not in PATH");
        goto out;
    }
    PG_CHECK(t, !strcmp(r->f[2], want_runs), "%s: %s completed runs, "
             "expected %u: %s", tool, r->f[2], runs, r->line);
    PG_CHECK(t, !strcmp(r->f[3], want_files) && !strcmp(r->f[4], want_bytes),
             "%s: pages and bytes must be its files: %s", tool, r->line);
    PG_CHECK(t, atof(r->f[5]) > 0 && atof(r->f[6]) > 0 &&
                    atof(r->f[10]) > 0, "%s: wall, files/s and RSS must "
             "be measured: %s", tool, r->line);
    for (size_t k = 11; k <= 15; k++)
        PG_CHECK_STR(t, r->f[k], "", "a figure no peer gives (start-up, "
                     "latencies, errors)");
    PG_CHECK(t, !strcmp(r->f[16], want_files) &&
                    !strcmp(r->f[17], want_bytes),
             "%s: files %s and bytes %s, expected %zu and %zu (pagegrab's)",
             tool, r->f[16], r->f[17], files, bytes);
    PG_CHECK_STR(t, r->f[18], "ok", "a peer that saved what pagegrab did");
out:
    free(want_files);
    free(want_bytes);
    free(want_runs);
}

static unsigned installed_peers(void)
{
    unsigned n = 0;

    for (size_t i = 0; i < N_PEERS; i++)
        n += in_path(PEERS[i]);
    return n;
}

/* The SVG: in each panel a bar per mode and per installed peer, each
 * peer's labelled with its name. */
static void check_peer_bars(struct pg_test *t, const char *svg,
                            size_t want)
{
    xmlDocPtr doc = xmlReadFile(svg, NULL, XML_PARSE_NONET);
    xmlNodePtr root;
    size_t panels = 0;

    PG_CHECK(t, doc, "'%s' does not parse as XML", svg);
    root = xmlDocGetRootElement(doc);
    for (xmlNodePtr g = root->children; g; g = g->next) {
        size_t bars = 0, texts = 0;
        char *text;

        if (g->type != XML_ELEMENT_NODE || !has_class(g, "panel"))
            continue;
        panels++;
        free(collect(g, "rect", "bar", &bars));
        PG_CHECK_INT(t, bars, want, "bars in a panel (modes and peers)");
        text = collect(g, "text", NULL, &texts);
        for (size_t i = 0; i < N_PEERS; i++) {
            char *label = pg_strdupf("|%s|", PEERS[i]);

            PG_CHECK(t, !in_path(PEERS[i]) || strstr(text, label),
                     "panel %zu has no bar for %s: '%s'", panels, PEERS[i],
                     text);
            free(label);
        }
        free(text);
    }
    PG_CHECK_INT(t, panels, 2, "panels");
    xmlFreeDoc(doc);
}

/*
 * --peers on a batch: a row per peer after the modes, each installed
 * peer's files and bytes equal to pagegrab's, every request made once
 * per run, nothing left in the base directory (lists and runs).
 */
static void test_peers_batch(struct pg_test *t)
{
    struct site s;
    struct pg_args a = {{0}, 0};
    char *base = new_dir(t, "base");
    char *svg = pg_path(t, "peers.svg");
    struct csv_row rows[8];
    struct pg_run r;
    size_t n;

    site_start(t, &s, 6, 0);
    pg_args_push(&a, "compare", "--peers", "--modes", "thread:1,process:2",
              "--repeat", "2", "--format", "csv", "-j", "2", "-o", base,
              "--svg", svg, (const char *)NULL);
    push_urls(&a, &s);
    pg_run(t, &r, NULL, 120, a.v);
    PG_CHECK_INT(t, r.code, 0, "exit status");
    n = peer_csv(t, r.out, rows, 8);
    PG_CHECK_INT(t, n, 2 + N_PEERS, "rows: 2 modes and 3 peers");
    for (size_t i = 0; i < 2; i++) {
        PG_CHECK_STR(t, rows[i].f[0], i ? "process" : "thread", "mode");
        PG_CHECK(t, atof(rows[i].f[16]) == (double)s.n &&
                        atof(rows[i].f[17]) == (double)s.bytes &&
                        !strcmp(rows[i].f[18], "ok"),
                 "pagegrab's row must count its files: %s", rows[i].line);
    }
    for (size_t i = 0; i < N_PEERS; i++)
        check_peer_row(t, &rows[2 + i], PEERS[i], 2, s.n, s.bytes);
    PG_CHECK_INT(t, pg_test_server_total(s.srv),
                 2 * (2 + installed_peers()) * s.n,
                 "requests: every URL once per run of each row");
    if (in_path("curl")) {
        /* Alternated: thread, process, then the peers, curl first. */
        char *line = pg_strdupf("run 3/%u: curl ...",
                                2 * (2 + installed_peers()));

        check_line_with(t, r.err, line, "as pagegrab", "progress");
        free(line);
    }
    check_empty_dir(t, base, "after the runs");
    check_peer_bars(t, svg, 2 + installed_peers());
    for (size_t i = 0; i < n; i++)
        free(rows[i].line);
    pg_run_release(&r);
    pg_test_server_stop(s.srv);
}

/* A fake curl first in PATH: it complains and exits 1. */
static char *fake_curl_path(struct pg_test *t)
{
    char *bin = new_dir(t, "fakebin");
    char *curl = pg_strdupf("%s/curl", bin);
    static const char script[] =
        "#!/bin/sh\necho 'fake curl: refusing to run' >&2\nexit 1\n";
    char *path = pg_strdupf("%s:%s", bin, getenv("PATH") ? getenv("PATH")
                                                         : "");

    pg_write_file(t, curl, script, strlen(script));
    PG_CHECK(t, chmod(curl, 0755) == 0, "chmod: %s", strerror(errno));
    free(curl);
    return path;
}

static const struct pg_json_field *jtool(struct pg_test *t,
                                         const struct pg_json_field *tools,
                                         size_t i)
{
    PG_CHECK(t, tools && tools->type == PG_JSON_ARRAY && tools->n == N_PEERS,
             "'peers.tools' must be an array of %d", N_PEERS);
    PG_CHECK_STR(t, jstr(t, &tools->f[i], "tool"), PEERS[i], "tool");
    return &tools->f[i];
}

/*
 * A peer that fails (a fake curl that exits 1) is a failed row with its
 * reason; the report goes on, the exit status stays 0, the JSON parses
 * and holds every peer; the other peers still match pagegrab.
 */
static void test_peers_failing_json(struct pg_test *t)
{
    struct site s;
    struct pg_args a = {{0}, 0};
    char *base = new_dir(t, "base");
    char *old_path = pg_strdupf("%s", getenv("PATH") ? getenv("PATH") : "");
    char *path = fake_curl_path(t);
    struct pg_json_field root;
    const struct pg_json_field *peers, *tools, *curl, *runs;
    struct pg_run r;

    site_start(t, &s, 4, 0);
    PG_CHECK(t, setenv("PATH", path, 1) == 0, "setenv");
    pg_args_push(&a, "compare", "--peers", "--modes", "thread:1", "--repeat",
              "2", "--format", "json", "-j", "2", "-o", base,
              (const char *)NULL);
    push_urls(&a, &s);
    pg_run(t, &r, NULL, 120, a.v);
    PG_CHECK_INT(t, r.code, 0, "exit status (a peer's failure is not "
                 "pagegrab's)");
    check_line_with(t, r.err, "curl failed: curl exited with status 1",
                    "fake curl: refusing to run", "the failed peer");
    json_must_parse(t, r.out, r.out_len, &root);
    PG_CHECK_STR(t, jstr(t, &pg_json_get(&root, "modes")->f[0], "check"),
                 "ok", "the mode's check");
    peers = pg_json_get(&root, "peers");
    PG_CHECK(t, peers && peers->type == PG_JSON_OBJECT, "'peers' object");
    PG_CHECK_INT(t, jnum(t, pg_json_get(peers, "reference"), "files"), s.n,
                 "the reference: pagegrab's files");
    PG_CHECK_INT(t, jnum(t, peers, "concurrency"),
                 2 * pg_test_per_worker(),
                 "C = -j x -K");
    tools = pg_json_get(peers, "tools");
    curl = jtool(t, tools, 0);
    PG_CHECK(t, strstr(jstr(t, curl, "path"), "/fakebin/curl") != NULL,
             "curl must be the PATH's first: %s", jstr(t, curl, "path"));
    PG_CHECK_INT(t, jnum(t, curl, "runs_ok"), 0, "the fake curl's runs_ok");
    PG_CHECK_STR(t, jstr(t, curl, "check"), "failed", "its check");
    runs = pg_json_get(curl, "runs");
    PG_CHECK(t, runs && runs->type == PG_JSON_ARRAY && runs->n == 2,
             "the fake curl's 'runs' must be an array of 2");
    for (size_t k = 0; k < 2; k++) {
        PG_CHECK_INT(t, jnum(t, &runs->f[k], "exit_status"), 1,
                     "its exit status");
        PG_CHECK(t, strstr(jstr(t, &runs->f[k], "error"), "status 1"),
                 "its error must say why");
    }
    for (size_t i = 1; i < N_PEERS; i++) {
        const struct pg_json_field *p = jtool(t, tools, i);
        const struct pg_json_field *p50 = pg_json_get(p, "p50_ms");

        if (!in_path(PEERS[i])) {
            PG_CHECK(t, strstr(jstr(t, p, "skipped"), "PATH"),
                     "%s: skipped must say why", PEERS[i]);
            continue;
        }
        PG_CHECK_INT(t, jnum(t, p, "runs_ok"), 2, PEERS[i]);
        PG_CHECK_INT(t, jnum(t, p, "files"), s.n, PEERS[i]);
        PG_CHECK_INT(t, jnum(t, p, "file_bytes"), s.bytes, PEERS[i]);
        PG_CHECK_STR(t, jstr(t, p, "check"), "ok", PEERS[i]);
        PG_CHECK(t, p50 && p50->type == PG_JSON_NULL, "%s: p50_ms must be "
                 "null (a peer cannot give it)", PEERS[i]);
        PG_CHECK(t, jnum(t, p, "wall_s") > 0, "%s: wall_s", PEERS[i]);
    }
    pg_json_release(&root);
    PG_CHECK(t, setenv("PATH", old_path, 1) == 0, "setenv");
    check_empty_dir(t, base, "after the runs");
    pg_run_release(&r);
    pg_test_server_stop(s.srv);
}

/*
 * URLs holding $(...), backticks and spaces: every peer fetches them
 * (its files equal pagegrab's) and nothing runs them.
 */
static void test_peers_shell_chars(struct pg_test *t)
{
    static const char *const paths[] = {
        "/s/q$(touch pwned-dollar).txt",
        "/s/`touch pwned-tick` x y.txt",
        "/s/plain.txt",
    };
    static const char *const bodies[] = {"dollar\n", "backtick!\n", "p\n"};
    struct pg_test_route routes[3];
    struct pg_test_server *srv;
    struct pg_args a = {{0}, 0};
    char *base = new_dir(t, "base");
    char *list = pg_path(t, "urls.txt");
    char *text = pg_strdupf("%s", "");
    struct csv_row rows[8];
    size_t n, bytes = 0;
    struct pg_run r;

    memset(routes, 0, sizeof(routes));
    for (size_t i = 0; i < 3; i++) {
        routes[i].path = paths[i];
        routes[i].body = bodies[i];
        routes[i].body_len = strlen(bodies[i]);
        routes[i].content_type = "text/plain";
        bytes += strlen(bodies[i]);
    }
    srv = pg_test_server_start(routes, 3);
    PG_CHECK(t, srv, "cannot start the test server");
    for (size_t i = 0; i < 3; i++) {
        char *next = pg_strdupf("%shttp://127.0.0.1:%u%s\n", text,
                                pg_test_server_port(srv), paths[i]);

        free(text);
        text = next;
    }
    pg_write_file(t, list, text, strlen(text));
    pg_args_push(&a, "compare", "--peers", "--modes", "thread:1", "--repeat",
              "1", "--format", "csv", "-q", "-j", "2", "-i", list, "-o",
              base, (const char *)NULL);
    pg_run(t, &r, NULL, 120, a.v);
    PG_CHECK_INT(t, r.code, 0, "exit status");
    n = peer_csv(t, r.out, rows, 8);
    PG_CHECK_INT(t, n, 1 + N_PEERS, "rows");
    PG_CHECK(t, atof(rows[0].f[16]) == 3, "pagegrab saved %s files, "
             "expected 3: %s", rows[0].f[16], rows[0].line);
    for (size_t i = 0; i < N_PEERS; i++)
        check_peer_row(t, &rows[1 + i], PEERS[i], 1, 3, bytes);
    for (size_t i = 0; i < 3; i++)
        PG_CHECK_INT(t, pg_test_server_hits(srv, paths[i], "GET"),
                     1 + installed_peers(), paths[i]);
    PG_CHECK(t, access("pwned-dollar", F_OK) != 0 &&
                    access("pwned-tick", F_OK) != 0,
             "a URL was run by a shell");
    check_empty_dir(t, base, "after the runs (no pwned-* either)");
    for (size_t i = 0; i < n; i++)
        free(rows[i].line);
    free(text);
    pg_run_release(&r);
    pg_test_server_stop(srv);
}

/* No peer in PATH: each row says it was skipped and why, and the
 * report says that none is installed; only pagegrab's runs are made. */
static void test_peers_missing(struct pg_test *t)
{
    struct site s;
    struct pg_args a = {{0}, 0};
    char *base = new_dir(t, "base");
    char *empty = new_dir(t, "emptybin");
    char *old_path = pg_strdupf("%s", getenv("PATH") ? getenv("PATH") : "");
    struct pg_run r;

    site_start(t, &s, 3, 0);
    PG_CHECK(t, setenv("PATH", empty, 1) == 0, "setenv");
    pg_args_push(&a, "compare", "--peers", "--modes", "thread:1", "--repeat",
              "1", "-q", "-j", "2", "-o", base, (const char *)NULL);
    push_urls(&a, &s);
    pg_run(t, &r, NULL, 120, a.v);
    PG_CHECK(t, setenv("PATH", old_path, 1) == 0, "setenv");
    PG_CHECK_INT(t, r.code, 0, "exit status");
    for (size_t i = 0; i < N_PEERS; i++) {
        char *why = pg_strdupf("skipped: not installed (no executable '%s' "
                               "in PATH)", PEERS[i]);

        check_line_with(t, r.out, PEERS[i], why, "a missing peer's row");
        free(why);
    }
    check_line_with(t, r.out, "no peer is installed", NULL, "the note");
    PG_CHECK_INT(t, pg_test_server_total(s.srv), s.n, "requests");
    check_empty_dir(t, base, "after the runs");
    free(old_path);
    pg_run_release(&r);
    pg_test_server_stop(s.srv);
}

/* A small gallery: two pages, three images (one on the second page). */
static struct pg_test_server *gallery_start(struct pg_test *t,
                                            size_t *image_bytes)
{
    static char png[1000], jpg[2000], gif[3000];
    static const char index_html[] =
        "<html><body><img src=\"/g/a.png\"><img src=\"b.jpg\">"
        "<a href=\"p2.html\">next</a></body></html>";
    static const char p2_html[] =
        "<html><body><img src=\"c.gif\"><a href=\"index.html\">back</a>"
        "</body></html>";
    struct pg_test_route routes[5];
    struct pg_test_server *srv;

    memset(png, 'p', sizeof(png));
    memset(jpg, 'j', sizeof(jpg));
    memset(gif, 'g', sizeof(gif));
    memset(routes, 0, sizeof(routes));
    routes[0] = (struct pg_test_route){ .path = "/g/index.html",
        .body = index_html, .body_len = strlen(index_html),
        .content_type = "text/html" };
    routes[1] = (struct pg_test_route){ .path = "/g/p2.html",
        .body = p2_html, .body_len = strlen(p2_html),
        .content_type = "text/html" };
    routes[2] = (struct pg_test_route){ .path = "/g/a.png", .body = png,
        .body_len = sizeof(png), .content_type = "image/png" };
    routes[3] = (struct pg_test_route){ .path = "/g/b.jpg", .body = jpg,
        .body_len = sizeof(jpg), .content_type = "image/jpeg" };
    routes[4] = (struct pg_test_route){ .path = "/g/c.gif", .body = gif,
        .body_len = sizeof(gif), .content_type = "image/gif" };
    srv = pg_test_server_start(routes, 5);
    PG_CHECK(t, srv, "cannot start the test server");
    *image_bytes = sizeof(png) + sizeof(jpg) + sizeof(gif);
    return srv;
}

/*
 * A crawl: --images --images-only --follow '//a/@href' is compared with
 * wget2 -r (same images); curl and aria2c say they cannot crawl.  An
 * XPath follow rule: no peer runs, and the report says so.
 */
static void test_peers_crawl(struct pg_test *t)
{
    struct pg_args a = {{0}, 0}, b = {{0}, 0};
    char *base = new_dir(t, "base");
    char *start;
    struct csv_row rows[8];
    size_t n, bytes;
    struct pg_test_server *srv = gallery_start(t, &bytes);
    unsigned long before;
    struct pg_run r;

    start = pg_strdupf("http://127.0.0.1:%u/g/index.html",
                       pg_test_server_port(srv));
    pg_args_push(&a, "compare", "--peers", "--modes", "thread:1", "--repeat",
              "1", "--format", "csv", "-q", "-j", "2", "-o", base,
              "--images", "--images-only", "--follow", "//a/@href",
              "--no-robots", start, (const char *)NULL);
    pg_run(t, &r, NULL, 120, a.v);
    PG_CHECK_INT(t, r.code, 0, "exit status");
    n = peer_csv(t, r.out, rows, 8);
    PG_CHECK_INT(t, n, 1 + N_PEERS, "rows");
    PG_CHECK(t, atof(rows[0].f[16]) == 3 && atof(rows[0].f[17]) == bytes,
             "pagegrab saved the 3 images: %s", rows[0].line);
    PG_CHECK_STR(t, rows[1].f[18], "skipped", "curl cannot crawl");
    PG_CHECK_STR(t, rows[3].f[18], "skipped", "aria2c cannot crawl");
    if (in_path("wget2")) {
        PG_CHECK_STR(t, rows[2].f[0], "wget2 -r", "wget2's row");
        PG_CHECK(t, atof(rows[2].f[16]) == 3 &&
                        atof(rows[2].f[17]) == bytes &&
                        !strcmp(rows[2].f[18], "ok"),
                 "wget2 -r must save the same images: %s", rows[2].line);
    }
    for (size_t i = 0; i < n; i++)
        free(rows[i].line);
    pg_run_release(&r);

    /* An XPath follow rule: no peer can express it. */
    before = pg_test_server_total(srv);
    pg_args_push(&b, "compare", "--peers", "--modes", "thread:1", "--repeat",
              "1", "-q", "-j", "2", "-o", base, "--images", "--follow",
              "//div[@id='x']//a/@href", "--no-robots", start,
              (const char *)NULL);
    pg_run(t, &r, NULL, 120, b.v);
    PG_CHECK_INT(t, r.code, 0, "exit status");
    check_line_with(t, r.out, "no peer can express this job",
                    "//div[@id='x']//a/@href", "the plain statement");
    check_line_with(t, r.out, "wget2", "skipped: cannot express this crawl",
                    "wget2's row");
    check_line_with(t, r.out, "curl", "skipped: fetches a list of URLs",
                    "curl's row");
    PG_CHECK_INT(t, pg_test_server_total(srv) - before, 3,
                 "requests: only pagegrab's (the start page and its two "
                 "images)");
    check_empty_dir(t, base, "after the runs");
    free(start);
    pg_run_release(&r);
    pg_test_server_stop(srv);
}

static const struct pg_test_case cases[] = {
    {"json_parser", test_json_parser, PG_TEST_NO_BINARY, 10},
    {"csv_rows", test_csv_rows, 0, 120},
    {"repeat_requests", test_repeat_requests, 0, 120},
    {"default_modes", test_default_modes, 0, 120},
    {"json_report", test_json_report, 0, 120},
    {"svg_chart", test_svg_chart, 0, 120},
    {"temp_dirs_removed", test_temp_dirs_removed, 0, 120},
    {"keep", test_keep, 0, 120},
    {"stdin_every_run", test_stdin_every_run, 0, 120},
    {"killed_run", test_killed_run, 0, 120},
    {"signal_stops", test_signal_stops, 0, 120},
    {"planted_symlinks", test_planted_symlinks, 0, 120},
    {"usage_errors", test_usage_errors, 0, 180},
    {"peers_batch", test_peers_batch, 0, 180},
    {"peers_failing_json", test_peers_failing_json, 0, 180},
    {"peers_shell_chars", test_peers_shell_chars, 0, 180},
    {"peers_missing", test_peers_missing, 0, 120},
    {"peers_crawl", test_peers_crawl, 0, 180},
};

int main(int argc, char **argv)
{
    return pg_test_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
