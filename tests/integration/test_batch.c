/*
 * test_batch.c - batch download integration tests for pagegrab.
 *
 * Each test declares the site it serves as a table of routes (most of
 * them as one entry of the table of cases, batch_cases[]), runs the
 * built binary (PAGEGRAB_BIN) against an in-process server on
 * 127.0.0.1:<ephemeral>, and asserts the exit status, the exact set of
 * files written (name and content), the manifest records and the number
 * of requests the server saw. Tests flagged PG_TEST_PER_MODE run once with
 * --mode thread and once with --mode process; the big batch test runs both
 * modes against one server and also compares the two runs.
 */
#include "server.h"
#include "testlib.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Marks "any value" for the path argument of check_record(). */
static const char ANY_PATH[] = "<any>";

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* Append a NULL-terminated list of arguments. */
static struct pg_test_server *start_server(struct pg_test *t,
                                           const struct pg_test_route *routes,
                                           size_t n)
{
    struct pg_test_server *srv = pg_test_server_start(routes, n);

    if (!srv)
        pg_test_fail(t, "cannot start the test server");
    return srv;
}

/* "http://127.0.0.1:PORT" + path. */
static char *url_of(struct pg_test_server *srv, const char *path)
{
    return pg_strdupf("http://127.0.0.1:%u%s", pg_test_server_port(srv),
                      path);
}

/* The saved name of a URL path in the default layout. */
static char *saved_of(struct pg_test_server *srv, const char *path)
{
    return pg_strdupf("127.0.0.1:%u%s", pg_test_server_port(srv), path);
}

/* Write lines (each followed by '\n') to a file. */
static void write_lines(struct pg_test *t, const char *file,
                        const char *const *lines, size_t n)
{
    size_t cap = 1;
    size_t len = 0;
    char *buf;

    for (size_t i = 0; i < n; i++)
        cap += strlen(lines[i]) + 1;
    buf = malloc(cap);
    if (!buf)
        pg_test_fail(t, "out of memory");
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(lines[i]);

        memcpy(buf + len, lines[i], l);
        len += l;
        buf[len++] = '\n';
    }
    pg_write_file(t, file, buf, len);
    free(buf);
}

/* What every run must satisfy: nothing on stdout, no temp files left. */
static void check_run_common(struct pg_test *t, const struct pg_run *r,
                             const char *out)
{
    PG_CHECK(t, r->out_len == 0, "stdout must stay empty, got %zu bytes: "
             "%.200s", r->out_len, r->out);
    pg_check_no_temp_files(t, out);
}

/* Load a manifest, check every record against the contract's schema and
 * the number of records. */
static void load_manifest(struct pg_test *t, const char *path,
                          struct pg_manifest *m, size_t expect_n)
{
    char why[512];

    pg_manifest_must_load(t, path, m);
    for (size_t i = 0; i < m->n; i++) {
        if (!pg_record_check_schema(&m->rec[i], why, sizeof(why))) {
            char *text = pg_record_text(&m->rec[i]);

            pg_test_fail(t, "manifest line %zu breaks the contract: %s: %s",
                         m->rec[i].lineno, why, text);
        }
    }
    PG_CHECK(t, m->n == expect_n, "manifest has %zu records, expected %zu",
             m->n, expect_n);
}

/*
 * Check the record of url: status, line (-1 = any), http_code (-1 = any),
 * bytes (-1 = any) and path (NULL = must be null, ANY_PATH = anything).
 * Returns the record.
 */
static const struct pg_record *check_record(struct pg_test *t,
                                            const struct pg_manifest *m,
                                            const char *url,
                                            const char *status, long line,
                                            long http_code, long long bytes,
                                            const char *path)
{
    const struct pg_record *r = pg_manifest_find(m, url);
    char *text;
    char what[256];

    PG_CHECK(t, r, "no manifest record for '%s'", url);
    text = pg_record_text(r);
    snprintf(what, sizeof(what), "status of '%s'", url);
    if (!pg_str_eq(pg_record_str(r, "status"), status))
        pg_test_fail(t, "%s: expected '%s' in %s", what, status, text);
    if (line >= 0 && pg_record_int(r, "line", -1) != line)
        pg_test_fail(t, "line of '%s': expected %ld in %s", url, line, text);
    if (http_code >= 0 && pg_record_int(r, "http_code", -1) != http_code)
        pg_test_fail(t, "http_code of '%s': expected %ld in %s", url,
                     http_code, text);
    if (bytes >= 0 && pg_record_int(r, "bytes", -1) != bytes)
        pg_test_fail(t, "bytes of '%s': expected %lld in %s", url, bytes,
                     text);
    if (!path && !pg_record_is_null(r, "path"))
        pg_test_fail(t, "path of '%s' must be null in %s", url, text);
    if (path && path != ANY_PATH &&
        !pg_str_eq(pg_record_str(r, "path"), path))
        pg_test_fail(t, "path of '%s': expected '%s' in %s", url, path,
                     text);
    free(text);
    return r;
}

/* Fail unless the record's "error" is a non-empty string. */
static void check_has_error(struct pg_test *t, const struct pg_record *r)
{
    const char *e = pg_record_str(r, "error");

    if (!e || !*e) {
        char *text = pg_record_text(r);

        pg_test_fail(t, "record must carry an error text: %s", text);
    }
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
        int found = strstr(line, a) && strstr(line, b);

        free(line);
        if (found)
            return;
        p = eol ? eol + 1 : NULL;
    }
    pg_test_fail(t, "%s: no stderr line contains both '%s' and '%s'", what,
                 a, b);
}

static unsigned long hits(struct pg_test_server *srv, const char *path)
{
    return pg_test_server_hits(srv, path, "GET");
}

/* ------------------------------------------------------------------ */
/* The big batch: >= 500 files of 1 B .. 5 MiB, both modes             */
/* ------------------------------------------------------------------ */

struct dataset {
    size_t n;
    unsigned char *blob;     /* every file's content, back to back */
    size_t *off;
    size_t *size;
    char **path;             /* "/files/fNNNN.bin" */
    size_t total;
};

static uint64_t xorshift64(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

/*
 * Sizes: a few fixed edge cases (1 B, buffer boundaries, exactly 5 MiB),
 * then log-uniform: a power of two 2^k with k uniform in 0..20, and a size
 * uniform inside [2^k, 2^(k+1)). The mean is ~150 KiB, so 500 files make
 * about 80 MiB. Content: xorshift64 seeded per file.
 */
static void dataset_make(struct pg_test *t, struct dataset *d, size_t n)
{
    static const size_t fixed[] = {
        1, 2, 4095, 4096, 4097, 16384, 65536, 65537, 1048576,
        5 * 1048576, 3 * 1048576 + 17,
    };
    const size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
    uint64_t seed = 0x9E3779B97F4A7C15ull;

    memset(d, 0, sizeof(*d));
    d->n = n;
    d->off = calloc(n, sizeof(*d->off));
    d->size = calloc(n, sizeof(*d->size));
    d->path = calloc(n, sizeof(*d->path));
    PG_CHECK(t, d->off && d->size && d->path, "out of memory");
    for (size_t i = 0; i < n; i++) {
        size_t sz;

        if (i < nfixed) {
            sz = fixed[i];
        } else {
            unsigned k = (unsigned)(xorshift64(&seed) % 21);
            size_t lo = (size_t)1 << k;

            sz = lo + (size_t)(xorshift64(&seed) % lo);
        }
        if (sz > 5 * 1048576)
            sz = 5 * 1048576;
        d->off[i] = d->total;
        d->size[i] = sz;
        d->total += sz;
        d->path[i] = pg_strdupf("/files/f%04zu.bin", i);
    }
    d->blob = malloc(d->total);
    PG_CHECK(t, d->blob, "out of memory for %zu bytes", d->total);
    for (size_t i = 0; i < n; i++) {
        uint64_t s = (uint64_t)(i + 1) * 0x2545F4914F6CDD1Dull;
        unsigned char *p = d->blob + d->off[i];

        for (size_t j = 0; j < d->size[i]; j += 8) {
            uint64_t v = xorshift64(&s);
            size_t k = d->size[i] - j < 8 ? d->size[i] - j : 8;

            memcpy(p + j, &v, k);
        }
    }
}

/* Run one mode of the batch and check everything about it. */
static void batch_one_mode(struct pg_test *t, struct pg_test_server *srv,
                           const struct dataset *d, const char *urls,
                           const char *mode, const char *out,
                           const char *manifest)
{
    struct pg_args a = {{0}, 0};
    struct pg_run r;
    struct pg_manifest m;
    struct pg_expect_file *exp;
    unsigned peak;
    unsigned long total;

    pg_test_server_reset(srv);
    pg_args_push(&a, "--mode", mode, "-j", "8", "-i", urls, "-o", out,
              "--manifest", manifest, (const char *)NULL);
    pg_run(t, &r, NULL, 600, a.v);
    PG_CHECK(t, r.code == 0, "[%s] exit status %d, expected 0", mode,
             r.code);
    check_run_common(t, &r, out);

    /* Every file byte-identical, nothing else. */
    exp = calloc(d->n, sizeof(*exp));
    PG_CHECK(t, exp, "out of memory");
    for (size_t i = 0; i < d->n; i++) {
        exp[i].path = saved_of(srv, d->path[i]);
        exp[i].data = d->blob + d->off[i];
        exp[i].len = d->size[i];
    }
    pg_tree_check(t, out, exp, d->n);

    /* One ok record per URL. */
    load_manifest(t, manifest, &m, d->n);
    pg_manifest_sort(&m);
    for (size_t i = 1; i < m.n; i++) {
        PG_CHECK(t, !pg_str_eq(pg_record_str(&m.rec[i - 1], "url"),
                               pg_record_str(&m.rec[i], "url")),
                 "[%s] two records for '%s'", mode,
                 pg_record_str(&m.rec[i], "url"));
    }
    for (size_t i = 0; i < d->n; i++) {
        char *url = url_of(srv, d->path[i]);
        const struct pg_record *rec;
        const char *fin;
        const char *ct;

        rec = check_record(t, &m, url, "ok", (long)i + 1, 200,
                           (long long)d->size[i], exp[i].path);
        PG_CHECK(t, pg_record_int(rec, "attempts", -1) == 1,
                 "[%s] attempts of '%s' must be 1", mode, url);
        PG_CHECK(t, pg_record_is_null(rec, "error"),
                 "[%s] error of '%s' must be null", mode, url);
        fin = pg_record_str(rec, "final_url");
        PG_CHECK(t, pg_record_is_null(rec, "final_url") ||
                        pg_str_eq(fin, url),
                 "[%s] final_url of '%s' is '%s'", mode, url,
                 fin ? fin : "?");
        ct = pg_record_str(rec, "content_type");
        PG_CHECK(t, pg_str_eq(ct, "application/octet-stream"),
                 "[%s] content_type of '%s' is '%s'", mode, url,
                 ct ? ct : "null");
        /* Exactly one request per URL. */
        PG_CHECK(t, hits(srv, d->path[i]) == 1,
                 "[%s] '%s' was requested %lu times, expected once", mode,
                 d->path[i], hits(srv, d->path[i]));
        free(url);
    }
    total = pg_test_server_total(srv);
    PG_CHECK(t, total == d->n, "[%s] the server saw %lu requests, expected "
             "%zu", mode, total, d->n);
    /* -j 8: at most 8 transfers at once (8 x K with K per worker), and
     * really more than one. */
    peak = pg_test_server_peak(srv);
    PG_CHECK(t, peak <= 8 * pg_test_per_worker(), "[%s] %u requests in "
             "flight at once with -j 8 -K %u", mode, peak,
             pg_test_per_worker());
    PG_CHECK(t, peak >= 2, "[%s] never more than %u request in flight with "
             "-j 8", mode, peak);
    fprintf(stderr, "  batch[%s]: %zu files, %.1f MiB in %.2f s, peak %u "
            "concurrent requests\n", mode, d->n,
            (double)d->total / 1048576.0, r.secs, peak);
    for (size_t i = 0; i < d->n; i++)
        free((char *)exp[i].path);
    free(exp);
    pg_manifest_release(&m);
    pg_run_release(&r);
}

static void test_batch(struct pg_test *t)
{
    size_t n = pg_test_quick() ? 60 : 520;
    struct dataset d;
    struct pg_test_route *routes;
    struct pg_test_server *srv;
    const char **lines;
    char *urls = pg_path(t, "urls.txt");
    static const char *const modes[2] = {"thread", "process"};
    static const unsigned bits[2] = {PG_MODE_THREAD, PG_MODE_PROCESS};
    char *outs[2] = {NULL, NULL};
    char *mans[2] = {NULL, NULL};
    char why[2048];

    dataset_make(t, &d, n);
    routes = calloc(n, sizeof(*routes));
    lines = calloc(n, sizeof(*lines));
    PG_CHECK(t, routes && lines, "out of memory");
    for (size_t i = 0; i < n; i++) {
        routes[i].path = d.path[i];
        routes[i].body = d.blob + d.off[i];
        routes[i].body_len = d.size[i];
        routes[i].content_type = "application/octet-stream";
    }
    srv = start_server(t, routes, n);
    for (size_t i = 0; i < n; i++)
        lines[i] = url_of(srv, d.path[i]);
    write_lines(t, urls, lines, n);

    for (int k = 0; k < 2; k++) {
        if (!(t->modes & bits[k]))
            continue;
        outs[k] = pg_path(t, "out-%s", modes[k]);
        mans[k] = pg_path(t, "manifest-%s.jsonl", modes[k]);
        batch_one_mode(t, srv, &d, urls, modes[k], outs[k], mans[k]);
    }

    /* Same server, same job: both modes must give the same tree and the
     * same manifest except for time_ms. */
    if (outs[0] && outs[1]) {
        struct pg_manifest m0;
        struct pg_manifest m1;

        PG_CHECK(t, pg_tree_equal(outs[0], outs[1], why, sizeof(why)),
                 "thread and process trees differ: %s", why);
        pg_manifest_must_load(t, mans[0], &m0);
        pg_manifest_must_load(t, mans[1], &m1);
        pg_manifest_sort(&m0);
        pg_manifest_sort(&m1);
        PG_CHECK(t, pg_manifest_equal(&m0, &m1, "time_ms", why, sizeof(why)),
                 "thread and process manifests differ: %s", why);
        pg_manifest_release(&m0);
        pg_manifest_release(&m1);
    }
    pg_test_server_stop(srv);
}

/* ------------------------------------------------------------------ */
/* Small per-mode tests                                                */
/* ------------------------------------------------------------------ */

static const char BODY_A[] = "alpha: the first file\n";
static const char BODY_B[] = "bravo: the second file, a bit longer\n";
static const char BODY_C[] = "charlie\n";
static const char BODY_D[] = "delta\n";
static const char BODY_FINAL[] =
    "<html><body>final destination</body></html>\n";

#define TEXT_ROUTE(p_, b_)                                                  \
    {                                                                       \
        .path = (p_), .body = (b_), .body_len = sizeof(b_) - 1,             \
        .content_type = "text/plain"                                        \
    }

/* Run pagegrab with the common options plus extra ones. */
static int run_mode(struct pg_test *t, struct pg_run *r, const char *out,
                    const char *manifest, const char *stdin_path,
                    unsigned timeout_s, const char *const *extra)
{
    struct pg_args a = {{0}, 0};

    pg_args_push(&a, "--mode", t->mode, "-o", out, "--manifest", manifest,
              (const char *)NULL);
    for (size_t i = 0; extra && extra[i]; i++)
        pg_args_push(&a, extra[i], (const char *)NULL);
    return pg_run(t, r, stdin_path, timeout_s, a.v);
}

/* ------------------------------------------------------------------ */
/* Table-driven cases (wget2's style)                                  */
/* ------------------------------------------------------------------ */

/*
 * A case declares the site it serves, the input (a URL file, stdin), the
 * arguments, the expected exit status, the exact set of files written
 * and the manifest records; run_case() runs it and makes the checks every
 * case shares, in this order: exit status, nothing on stdout and no temp
 * files, the files (or none at all), the records (count, each record's
 * status/line/http_code/bytes/path, an error text where flagged), then
 * the case's own checks (its check hook).
 *
 * In the strings of a case, "{/p}" is the URL of path /p on the test
 * server (on a port nobody listens on when the case has no routes),
 * "{=/p}" the name it is saved under in the default layout, "{urls}"
 * the URL file and "{pad:LEN:/p}" the URL of /p padded with 'a' to LEN
 * bytes. A case with neither files nor no_files checks the output tree
 * in its hook.
 */

/* A record must carry a non-empty error text. */
#define REC_ERROR (1u << 0)

struct case_file {
    const char *path;
    const char *body;
};

struct case_record {
    const char *url;
    const char *status;
    long line;               /* -1 = any */
    long http_code;          /* -1 = any */
    long long bytes;         /* -1 = any */
    const char *path;        /* NULL = must be null, ANY_PATH = anything */
    unsigned flags;          /* REC_ERROR */
};

struct batch_case;

/* What a case's check hook sees. */
struct case_run {
    const struct batch_case *c;
    struct pg_test_server *srv;   /* NULL when the case has no routes */
    unsigned port;
    char *out;
    struct pg_run r;
    struct pg_manifest m;
    const struct pg_record *rec[8];   /* the records, in table order */
};

struct batch_case {
    const char *name;
    const struct pg_test_route *routes;
    size_t nroutes;
    /* Lines of the URL file "{urls}" (each followed by '\n'). */
    const char *const *lines;
    size_t nlines;
    /* Written to a file that becomes pagegrab's stdin (NULL: none). */
    const char *stdin_text;
    /* Arguments after "--mode M -o OUT --manifest MAN"; NULL-terminated. */
    const char *args[8];
    unsigned timeout_s;
    int code;
    const struct case_file *files;
    size_t nfiles;
    /* With no files: the message of the "nothing written" check. */
    const char *no_files;
    size_t nrecords;
    struct case_record records[8];
    /* Called before the server starts (e.g. to fill a large body). */
    void (*setup)(void);
    void (*check)(struct pg_test *t, struct case_run *cr);
};

/* "LEN:/p": the URL of /p padded with 'a' to LEN bytes. */
static char *padded_url(struct pg_test *t, const struct case_run *cr,
                        const char *spec)
{
    char *end;
    size_t long_len = strtoul(spec, &end, 10);
    char *prefix = pg_strdupf("http://127.0.0.1:%u%s", cr->port, end + 1);
    char *longurl = malloc(long_len + 1);

    PG_CHECK(t, longurl, "out of memory");
    memset(longurl, 'a', long_len);
    memcpy(longurl, prefix, strlen(prefix));
    longurl[long_len] = '\0';
    free(prefix);
    return longurl;
}

/* "{/p}" -> URL, "{=/p}" -> saved name, "{urls}" -> the URL file,
 * "{pad:LEN:/p}" -> the URL of /p padded with 'a' to LEN bytes. */
static char *expand(struct pg_test *t, const struct case_run *cr,
                    const char *s)
{
    char *res = pg_strdupf("%s", "");
    const char *p = s;

    while (*p) {
        const char *open = strchr(p, '{');
        const char *close = open ? strchr(open, '}') : NULL;
        char *tok;
        char *val;
        char *next;

        if (!open || !close) {
            next = pg_strdupf("%s%s", res, p);
            free(res);
            return next;
        }
        tok = pg_strdupf("%.*s", (int)(close - open - 1), open + 1);
        if (!strcmp(tok, "urls"))
            val = pg_path(t, "urls.txt");
        else if (!strncmp(tok, "pad:", 4))
            val = padded_url(t, cr, tok + 4);
        else if (tok[0] == '=')
            val = pg_strdupf("127.0.0.1:%u%s", cr->port, tok + 1);
        else
            val = pg_strdupf("http://127.0.0.1:%u%s", cr->port, tok);
        next = pg_strdupf("%s%.*s%s", res, (int)(open - p), p, val);
        free(res);
        free(tok);
        free(val);
        res = next;
        p = close + 1;
    }
    return res;
}

static const struct batch_case *find_case(const char *name);

static void run_case(struct pg_test *t)
{
    const struct batch_case *c = find_case(t->name);
    struct case_run cr;
    char *man = pg_path(t, "manifest.jsonl");
    char *in = NULL;
    const char *extra[8] = {NULL};

    memset(&cr, 0, sizeof(cr));
    cr.c = c;
    if (c->setup)
        c->setup();
    if (c->nroutes) {
        cr.srv = start_server(t, c->routes, c->nroutes);
        cr.port = pg_test_server_port(cr.srv);
    } else {
        cr.port = pg_unused_port(t);
    }
    cr.out = pg_path(t, "out");
    if (c->nlines) {
        const char *lines[8];

        for (size_t i = 0; i < c->nlines; i++)
            lines[i] = expand(t, &cr, c->lines[i]);
        write_lines(t, pg_path(t, "urls.txt"), lines, c->nlines);
    }
    if (c->stdin_text) {
        char *text = expand(t, &cr, c->stdin_text);

        in = pg_path(t, "stdin.txt");
        pg_write_file(t, in, text, strlen(text));
    }
    for (size_t i = 0; c->args[i]; i++)
        extra[i] = expand(t, &cr, c->args[i]);

    run_mode(t, &cr.r, cr.out, man, in, c->timeout_s, extra);
    PG_CHECK_INT(t, cr.r.code, c->code, "exit status");
    check_run_common(t, &cr.r, cr.out);
    if (c->nfiles) {
        struct pg_expect_file exp[8];

        for (size_t i = 0; i < c->nfiles; i++) {
            exp[i].path = expand(t, &cr, c->files[i].path);
            exp[i].data = c->files[i].body;
            exp[i].len = strlen(c->files[i].body);
        }
        pg_tree_check(t, cr.out, exp, c->nfiles);
    } else if (c->no_files) {
        struct pg_strlist files = {0};

        pg_tree_list(cr.out, &files);
        PG_CHECK(t, files.n == 0, c->no_files,
                 pg_strlist_join(&files, ", "));
        pg_strlist_release(&files);
    }
    load_manifest(t, man, &cr.m, c->nrecords);
    for (size_t i = 0; i < 8 && c->records[i].url; i++) {
        const struct case_record *w = &c->records[i];
        const char *path = w->path && w->path != ANY_PATH
                               ? expand(t, &cr, w->path)
                               : w->path;

        cr.rec[i] = check_record(t, &cr.m, expand(t, &cr, w->url),
                                 w->status, w->line, w->http_code, w->bytes,
                                 path);
        if (w->flags & REC_ERROR)
            check_has_error(t, cr.rec[i]);
    }
    if (c->check)
        c->check(t, &cr);
    pg_manifest_release(&cr.m);
    pg_run_release(&cr.r);
    pg_test_server_stop(cr.srv);
}

/* ---- The cases' own checks ---- */

static void check_http_404(struct pg_test *t, struct case_run *cr)
{
    const struct pg_record *rec = cr->rec[1];
    struct pg_test_server *srv = cr->srv;

    /* A 404 is permanent: no retry. */
    PG_CHECK_INT(t, hits(srv, "/files/missing.txt"), 1,
                 "requests for the 404 URL");
    PG_CHECK_INT(t, pg_record_int(rec, "attempts", -1), 1,
                 "attempts for the 404 URL");
    PG_CHECK_INT(t, hits(srv, "/files/a.txt"), 1, "requests for a.txt");
}

static void check_connection_refused(struct pg_test *t, struct case_run *cr)
{
    long long attempts = pg_record_int(cr->rec[0], "attempts", -1);

    PG_CHECK(t, attempts >= 1 && attempts <= 10,
             "attempts for a refused connection: %lld", attempts);
}

static char big[256 * 1024];

static void fill_big(void)
{
    memset(big, 'x', sizeof(big));
}

static void check_truncated_body(struct pg_test *t, struct case_run *cr)
{
    long long attempts = pg_record_int(cr->rec[0], "attempts", -1);
    struct pg_test_server *srv = cr->srv;

    PG_CHECK(t, attempts >= 1 && attempts <= 10,
             "attempts for a truncated body: %lld", attempts);
    PG_CHECK_INT(t, hits(srv, "/files/cut.bin"), attempts,
                 "requests for the truncated URL (= attempts)");
}

static void check_redirect_chain(struct pg_test *t, struct case_run *cr)
{
    const struct pg_record *rec = cr->rec[0];
    const struct pg_test_route *routes = cr->c->routes;
    struct pg_test_server *srv = cr->srv;
    char *final = expand(t, cr, "{/final}");

    PG_CHECK_STR(t, pg_record_str(rec, "final_url"), final, "final_url");
    PG_CHECK_STR(t, pg_record_str(rec, "content_type"), "text/html",
                 "content_type");
    for (size_t i = 0; i < 4; i++)
        PG_CHECK(t, hits(srv, routes[i].path) == 1,
                 "'%s' requested %lu times, expected once", routes[i].path,
                 hits(srv, routes[i].path));
}

static void check_redirect_to_file(struct pg_test *t, struct case_run *cr)
{
    struct pg_strlist files = {0};
    struct pg_test_server *srv = cr->srv;

    /* Nothing may appear next to the output either. */
    pg_tree_list(t->dir, &files);
    for (size_t i = 0; i < files.n; i++) {
        PG_CHECK(t, !strstr(files.v[i], "passwd"),
                 "a file named like the redirect target exists: '%s'",
                 files.v[i]);
    }
    pg_strlist_release(&files);
    PG_CHECK_INT(t, hits(srv, "/evil"), 1, "requests for /evil");
}

static void check_redirect_loop(struct pg_test *t, struct case_run *cr)
{
    struct pg_test_server *srv = cr->srv;
    unsigned long n;

    /* The first request plus at most 5 followed redirects. */
    n = hits(srv, "/la") + hits(srv, "/lb");
    PG_CHECK(t, n >= 2 && n <= 6, "%lu requests for a loop with "
             "--max-redirs 5, expected 2..6", n);
    PG_CHECK_INT(t, pg_test_server_total(srv), n, "requests in total");
}

static void check_invalid_lines(struct pg_test *t, struct case_run *cr)
{
    const struct pg_record *rec;
    const struct pg_test_route *routes = cr->c->routes;
    struct pg_test_server *srv = cr->srv;

    rec = cr->rec[3];
    PG_CHECK_INT(t, pg_record_int(rec, "attempts", -1), 0,
                 "attempts of 'not a url'");
    rec = cr->rec[4];
    PG_CHECK_INT(t, pg_record_int(rec, "attempts", -1), 0,
                 "attempts of the ftp URL");
    check_line_with(t, cr->r.err, ":2:", "not a url", "line 2 reported");
    check_line_with(t, cr->r.err, ":4:", "ftp://127.0.0.1/x",
                    "line 4 reported");
    for (size_t i = 0; i < 3; i++)
        PG_CHECK_INT(t, hits(srv, routes[i].path), 1, routes[i].path);
    PG_CHECK_INT(t, pg_test_server_total(srv), 3, "requests in total");
}

static void check_stdin_comments(struct pg_test *t, struct case_run *cr)
{
    struct pg_test_server *srv = cr->srv;

    PG_CHECK(t, cr->r.err_len == 0, "-q with every URL ok must print "
             "nothing on stderr, got: %.300s", cr->r.err);
    PG_CHECK_INT(t, hits(srv, "/files/c.txt"), 0,
                 "requests for the commented-out URL");
    PG_CHECK_INT(t, pg_test_server_total(srv), 3, "requests in total");
}

static void check_three_requests(struct pg_test *t, struct case_run *cr)
{
    PG_CHECK_INT(t, pg_test_server_total(cr->srv), 3, "requests in total");
}

static void check_flat(struct pg_test *t, struct case_run *cr)
{
    PG_CHECK_STR(t, pg_record_str(cr->rec[0], "content_type"), "text/plain",
                 "content_type of a.txt");
    PG_CHECK(t, pg_record_is_null(cr->rec[3], "content_type"),
             "content_type must be null when the server sends none");
}

static void check_timeout(struct pg_test *t, struct case_run *cr)
{
    long long attempts = pg_record_int(cr->rec[0], "attempts", -1);
    struct pg_test_server *srv = cr->srv;
    const struct pg_run *r = &cr->r;

    PG_CHECK(t, attempts >= 1 && attempts <= 10, "attempts: %lld",
             attempts);
    PG_CHECK_INT(t, hits(srv, "/slow.txt"), attempts,
                 "requests (= attempts)");
    /* network-error (not ok) shows the 4 s answer was never waited for;
     * bound the total time too. */
    PG_CHECK(t, r->secs < 3.5 * (double)attempts + 30.0,
             "took %.1f s for %lld attempts with --timeout 1", r->secs,
             attempts);
    PG_CHECK(t, r->secs >= 0.9, "gave up after %.2f s with --timeout 1",
             r->secs);
}

/* Is s "-" followed by 16 hex digits? */
static int is_hash_tag(const char *s)
{
    if (s[0] != '-')
        return 0;
    for (int i = 1; i <= 16; i++) {
        char c = s[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
              (c >= 'A' && c <= 'F')))
            return 0;
    }
    return 1;
}

/* Does name (a saved path) look like dir + stem + "-XXXXXXXXXXXXXXXX" + ext? */
static int hashed_name(const char *name, const char *dir, const char *stem,
                       const char *ext)
{
    size_t ld = strlen(dir);
    size_t ls = strlen(stem);

    if (!name || strncmp(name, dir, ld) != 0)
        return 0;
    name += ld;
    if (strncmp(name, stem, ls) != 0 || !is_hash_tag(name + ls))
        return 0;
    return !strcmp(name + ls + 17, ext);
}

static void check_query_and_index_names(struct pg_test *t,
                                        struct case_run *cr)
{
    struct pg_test_server *srv = cr->srv;
    char *qdir = saved_of(srv, "/files/");
    char *host = saved_of(srv, "/");
    const char *p1 = pg_record_str(cr->rec[0], "path");
    const char *p2 = pg_record_str(cr->rec[1], "path");
    struct pg_expect_file exp[4];

    PG_CHECK(t, hashed_name(p1, qdir, "q", ".txt"),
             "a URL with a query must be saved as q-<16 hex>.txt, got '%s'",
             p1 ? p1 : "null");
    PG_CHECK(t, hashed_name(p2, qdir, "q", ".txt"),
             "a URL with a query must be saved as q-<16 hex>.txt, got '%s'",
             p2 ? p2 : "null");
    PG_CHECK(t, strcmp(p1, p2) != 0, "two queries, one name: '%s'", p1);
    exp[0] = (struct pg_expect_file){p1, BODY_A, sizeof(BODY_A) - 1};
    exp[1] = (struct pg_expect_file){p2, BODY_A, sizeof(BODY_A) - 1};
    exp[2] = (struct pg_expect_file){saved_of(srv, "/dir/index.html"),
                                     BODY_B, sizeof(BODY_B) - 1};
    exp[3] = (struct pg_expect_file){pg_strdupf("%sindex.html", host),
                                     BODY_C, sizeof(BODY_C) - 1};
    pg_tree_check(t, cr->out, exp, 4);
    PG_CHECK_INT(t, hits(srv, "/files/q.txt"), 2, "requests for q.txt");
}

static void check_traversal_names(struct pg_test *t, struct case_run *cr)
{
    const char *bodies[2] = {BODY_A, BODY_B};
    const char *stems[2] = {"escape", "y"};
    char *host = saved_of(cr->srv, "/");
    struct pg_strlist all = {0};

    /* Nothing outside OUT: the temp dir holds only OUT, the manifest and
     * the capture files. */
    pg_tree_list(t->dir, &all);
    for (size_t i = 0; i < all.n; i++) {
        PG_CHECK(t, pg_str_has_prefix(all.v[i], "out/") ||
                        !strcmp(all.v[i], "manifest.jsonl") ||
                        pg_str_has_prefix(all.v[i], "run"),
                 "a file escaped the output directory: '%s/%s'", t->dir,
                 all.v[i]);
    }
    for (size_t i = 0; i < 2; i++) {
        const struct pg_record *rec = cr->rec[i];
        const char *path;
        const char *base;
        char *full;
        size_t len;
        char *data;

        path = pg_record_str(rec, "path");
        PG_CHECK(t, path && pg_str_has_prefix(path, host) &&
                        !strstr(path, "..") && !strstr(path, "//"),
                 "unsafe saved path '%s'", path ? path : "null");
        base = path + strlen(host);
        /* ".." segments may become harmless directories; a decoded '/'
         * inside a segment must not split it. */
        PG_CHECK(t, i == 0 || (pg_str_has_prefix(base, "files/") &&
                               !strchr(base + strlen("files/"), '/')),
                 "a decoded '/' made a directory: '%s'", path);
        PG_CHECK(t, strstr(base, stems[i]) &&
                        is_hash_tag(strstr(base, stems[i]) +
                                    strlen(stems[i])),
                 "a sanitised name must carry -XXXXXXXXXXXXXXXX: '%s'", path);
        full = pg_strdupf("%s/%s", cr->out, path);
        data = pg_read_file(full, &len);
        PG_CHECK(t, data && len == strlen(bodies[i]) &&
                        !memcmp(data, bodies[i], len),
                 "'%s' is missing or wrong", full);
        free(data);
        free(full);
    }
}

static void check_overlong_url(struct pg_test *t, struct case_run *cr)
{
    const char *ok = expand(t, cr, "{/files/a.txt}");
    const struct pg_manifest *m = &cr->m;
    const struct pg_record *rec;

    PG_CHECK(t, m->n == 2, "two records expected");
    rec = pg_str_eq(pg_record_str(&m->rec[0], "url"), ok) ? &m->rec[1]
                                                          : &m->rec[0];
    PG_CHECK_STR(t, pg_record_str(rec, "status"), "invalid-url",
                 "status of a 9000-byte URL");
    PG_CHECK_INT(t, pg_record_int(rec, "line", -1), 1,
                 "line of the 9000-byte URL");
    PG_CHECK_INT(t, pg_record_int(rec, "attempts", -1), 0,
                 "attempts of the 9000-byte URL");
    check_has_error(t, rec);
    PG_CHECK_INT(t, pg_test_server_total(cr->srv), 1, "requests in total");
}

/* ---- The sites ---- */

static const struct pg_test_route SITE_A[] = {
    TEXT_ROUTE("/files/a.txt", BODY_A),
};

static const struct pg_test_route SITE_CUT[] = {
    {.path = "/files/cut.bin", .body = big, .body_len = sizeof(big),
     .content_type = "application/octet-stream",
     .fault = PG_FAULT_SHORT},
};

static const struct pg_test_route SITE_CHAIN[] = {
    {.path = "/r1", .status = 302, .headers = "Location: /r2"},
    {.path = "/r2", .status = 302, .headers = "Location: /r3"},
    {.path = "/r3", .status = 302, .headers = "Location: /final"},
    {.path = "/final", .body = BODY_FINAL,
     .body_len = sizeof(BODY_FINAL) - 1, .content_type = "text/html"},
};

static const struct pg_test_route SITE_EVIL[] = {
    {.path = "/evil", .status = 302,
     .headers = "Location: file:///etc/passwd"},
};

static const struct pg_test_route SITE_LOOP[] = {
    {.path = "/la", .status = 302, .headers = "Location: /lb"},
    {.path = "/lb", .status = 302, .headers = "Location: /la"},
};

static const struct pg_test_route SITE_ABCD[] = {
    TEXT_ROUTE("/files/a.txt", BODY_A),
    TEXT_ROUTE("/files/b.txt", BODY_B),
    TEXT_ROUTE("/files/c.txt", BODY_C),
    TEXT_ROUTE("/files/d.txt", BODY_D),
};

static const struct pg_test_route SITE_FLAT[] = {
    TEXT_ROUTE("/files/a.txt", BODY_A),
    TEXT_ROUTE("/deep/er/dir/b.bin", BODY_B),
    TEXT_ROUTE("/c", BODY_C),
    {.path = "/untyped/d.dat", .body = BODY_D,
     .body_len = sizeof(BODY_D) - 1},
};

static const struct pg_test_route SITE_SLOW[] = {
    {.path = "/slow.txt", .body = BODY_A, .body_len = sizeof(BODY_A) - 1,
     .delay_ms = 4000},
};

static const struct pg_test_route SITE_QUERY[] = {
    TEXT_ROUTE("/files/q.txt", BODY_A),
    TEXT_ROUTE("/dir/", BODY_B),
    TEXT_ROUTE("/", BODY_C),
};

/* libmicrohttpd decodes the request path, so these routes answer the
 * percent-encoded URLs of the case. */
static const struct pg_test_route SITE_TRAVERSAL[] = {
    TEXT_ROUTE("/a/../../../../escape.txt", BODY_A),
    TEXT_ROUTE("/files/x/y.txt", BODY_B),
};

static const char *const LINES_OVERLONG[] = {
    "{pad:9000:/long/}", "{/files/a.txt}",
};

static const struct case_file FILE_A[] = {
    {"{=/files/a.txt}", BODY_A},
};

static const struct case_file FILE_FINAL[] = {
    {"{=/r1}", BODY_FINAL},
};

static const struct case_file FILES_ABC[] = {
    {"{=/files/a.txt}", BODY_A},
    {"{=/files/b.txt}", BODY_B},
    {"{=/files/c.txt}", BODY_C},
};

static const struct case_file FILES_ABD[] = {
    {"{=/files/a.txt}", BODY_A},
    {"{=/files/b.txt}", BODY_B},
    {"{=/files/d.txt}", BODY_D},
};

static const struct case_file FILES_FLAT[] = {
    {"a.txt", BODY_A},
    {"b.bin", BODY_B},
    {"c", BODY_C},
    {"d.dat", BODY_D},
};

static const char *const LINES_INVALID[] = {
    "{/files/a.txt}", "not a url", "{/files/b.txt}", "ftp://127.0.0.1/x",
    "{/files/c.txt}",
};

static const char *const LINES_ONE_URL[] = {
    "# only one URL here", "{/files/c.txt}",
};

#define A_LEN ((long long)sizeof(BODY_A) - 1)
#define B_LEN ((long long)sizeof(BODY_B) - 1)
#define C_LEN ((long long)sizeof(BODY_C) - 1)
#define D_LEN ((long long)sizeof(BODY_D) - 1)

static const struct batch_case batch_cases[] = {
    {.name = "http_404", .routes = SITE_A, .nroutes = 1,
     .args = {"{/files/a.txt}", "{/files/missing.txt}"}, .timeout_s = 60,
     .code = 1, .files = FILE_A, .nfiles = 1, .nrecords = 2,
     .records = {
         {"{/files/a.txt}", "ok", 1, 200, A_LEN, "{=/files/a.txt}", 0},
         {"{/files/missing.txt}", "http-error", 2, 404, -1, NULL,
          REC_ERROR},
     },
     .check = check_http_404},
    {.name = "connection_refused",
     .args = {"--connect-timeout", "5", "{/x.bin}"}, .timeout_s = 120,
     .code = 1, .no_files = "files written for a refused connection: %s",
     .nrecords = 1,
     .records = {{"{/x.bin}", "network-error", 1, 0, -1, NULL, REC_ERROR}},
     .check = check_connection_refused},
    {.name = "truncated_body", .routes = SITE_CUT, .nroutes = 1,
     .args = {"{/files/cut.bin}"}, .timeout_s = 120, .code = 1,
     .no_files = "files written for a truncated body: %s", .nrecords = 1,
     .records = {{"{/files/cut.bin}", "network-error", 1, -1, -1, NULL,
                  REC_ERROR}},
     .setup = fill_big, .check = check_truncated_body},
    {.name = "redirect_chain", .routes = SITE_CHAIN, .nroutes = 4,
     .args = {"{/r1}"}, .timeout_s = 60, .code = 0, .files = FILE_FINAL,
     .nfiles = 1, .nrecords = 1,
     .records = {{"{/r1}", "ok", 1, 200, (long long)sizeof(BODY_FINAL) - 1,
                  "{=/r1}", 0}},
     .check = check_redirect_chain},
    {.name = "redirect_to_file", .routes = SITE_EVIL, .nroutes = 1,
     .args = {"{/evil}"}, .timeout_s = 60, .code = 1,
     .no_files = "files written for a file:// redirect: %s", .nrecords = 1,
     .records = {{"{/evil}", "redirect-error", 1, -1, -1, NULL, REC_ERROR}},
     .check = check_redirect_to_file},
    {.name = "redirect_loop", .routes = SITE_LOOP, .nroutes = 2,
     .args = {"--max-redirs", "5", "{/la}"}, .timeout_s = 60, .code = 1,
     .no_files = "files written for a redirect loop: %s", .nrecords = 1,
     .records = {{"{/la}", "redirect-error", 1, -1, -1, NULL, REC_ERROR}},
     .check = check_redirect_loop},
    {.name = "invalid_lines", .routes = SITE_ABCD, .nroutes = 3,
     .lines = LINES_INVALID, .nlines = 5, .args = {"-i", "{urls}"},
     .timeout_s = 60, .code = 1, .files = FILES_ABC, .nfiles = 3,
     .nrecords = 5,
     .records = {
         {"{/files/a.txt}", "ok", 1, 200, A_LEN, "{=/files/a.txt}", 0},
         {"{/files/b.txt}", "ok", 3, 200, B_LEN, "{=/files/b.txt}", 0},
         {"{/files/c.txt}", "ok", 5, 200, C_LEN, "{=/files/c.txt}", 0},
         {"not a url", "invalid-url", 2, -1, -1, NULL, REC_ERROR},
         {"ftp://127.0.0.1/x", "invalid-url", 4, -1, -1, NULL, REC_ERROR},
     },
     .check = check_invalid_lines},
    /* Line 7 has no final newline. */
    {.name = "stdin_comments", .routes = SITE_ABCD, .nroutes = 4,
     .stdin_text = "# a comment\n"
                   "\n"
                   "   {/files/a.txt}  \n"
                   "\t \n"
                   "{/files/b.txt}\n"
                   "#{/files/c.txt}\n"
                   "{/files/d.txt}",
     .args = {"-q", "-i", "-"}, .timeout_s = 60, .code = 0,
     .files = FILES_ABD, .nfiles = 3, .nrecords = 3,
     .records = {
         {"{/files/a.txt}", "ok", 3, 200, A_LEN, "{=/files/a.txt}", 0},
         {"{/files/b.txt}", "ok", 5, 200, B_LEN, "{=/files/b.txt}", 0},
         {"{/files/d.txt}", "ok", 7, 200, D_LEN, "{=/files/d.txt}", 0},
     },
     .check = check_stdin_comments},
    /* Command-line URLs: their position; the file's: its line number. */
    {.name = "cli_and_file_lines", .routes = SITE_ABCD, .nroutes = 3,
     .lines = LINES_ONE_URL, .nlines = 2,
     .args = {"-i", "{urls}", "{/files/a.txt}", "{/files/b.txt}"},
     .timeout_s = 60, .code = 0, .files = FILES_ABC, .nfiles = 3,
     .nrecords = 3,
     .records = {
         {"{/files/a.txt}", "ok", 1, 200, A_LEN, "{=/files/a.txt}", 0},
         {"{/files/b.txt}", "ok", 2, 200, B_LEN, "{=/files/b.txt}", 0},
         {"{/files/c.txt}", "ok", 2, 200, C_LEN, "{=/files/c.txt}", 0},
     },
     .check = check_three_requests},
    {.name = "flat", .routes = SITE_FLAT, .nroutes = 4,
     .args = {"--flat", "{/files/a.txt}", "{/deep/er/dir/b.bin}", "{/c}",
              "{/untyped/d.dat}"},
     .timeout_s = 60, .code = 0, .files = FILES_FLAT, .nfiles = 4,
     .nrecords = 4,
     .records = {
         {"{/files/a.txt}", "ok", 1, 200, A_LEN, "a.txt", 0},
         {"{/deep/er/dir/b.bin}", "ok", 2, 200, B_LEN, "b.bin", 0},
         {"{/c}", "ok", 3, 200, C_LEN, "c", 0},
         {"{/untyped/d.dat}", "ok", 4, 200, D_LEN, "d.dat", 0},
     },
     .check = check_flat},
    {.name = "timeout", .routes = SITE_SLOW, .nroutes = 1,
     .args = {"--timeout", "1", "{/slow.txt}"}, .timeout_s = 60, .code = 1,
     .no_files = "files written for a timed-out transfer: %s",
     .nrecords = 1,
     .records = {{"{/slow.txt}", "network-error", 1, 0, -1, NULL,
                  REC_ERROR}},
     .check = check_timeout},
    {.name = "query_and_index_names", .routes = SITE_QUERY, .nroutes = 3,
     .args = {"{/files/q.txt?x=1}", "{/files/q.txt?x=2}", "{/dir/}", "{}"},
     .timeout_s = 60, .code = 0, .nrecords = 4,
     .records = {
         {"{/files/q.txt?x=1}", "ok", 1, 200, A_LEN, ANY_PATH, 0},
         {"{/files/q.txt?x=2}", "ok", 2, 200, A_LEN, ANY_PATH, 0},
         {"{/dir/}", "ok", 3, 200, B_LEN, "{=/dir/index.html}", 0},
         {"{}", "ok", 4, 200, C_LEN, "{=/index.html}", 0},
     },
     .check = check_query_and_index_names},
    {.name = "traversal_names", .routes = SITE_TRAVERSAL, .nroutes = 2,
     .args = {"{/a/%2e%2e/%2e%2e/%2e%2e/%2e%2e/escape.txt}",
              "{/files/x%2Fy.txt}"},
     .timeout_s = 60, .code = 0, .nrecords = 2,
     .records = {
         {"{/a/%2e%2e/%2e%2e/%2e%2e/%2e%2e/escape.txt}", "ok", 1, 200, A_LEN,
          ANY_PATH, 0},
         {"{/files/x%2Fy.txt}", "ok", 2, 200, B_LEN, ANY_PATH, 0},
     },
     .check = check_traversal_names},
    {.name = "overlong_url", .routes = SITE_A, .nroutes = 1,
     .lines = LINES_OVERLONG, .nlines = 2, .args = {"-i", "{urls}"},
     .timeout_s = 60, .code = 1, .files = FILE_A, .nfiles = 1,
     .nrecords = 2,
     .records = {{"{/files/a.txt}", "ok", 2, 200, A_LEN, "{=/files/a.txt}",
                  0}},
     .check = check_overlong_url},
};

/* The case of a test name ("flat" or, per mode, "flat[thread]"). */
static const struct batch_case *find_case(const char *name)
{
    size_t len = strcspn(name, "[");

    for (size_t i = 0; i < sizeof(batch_cases) / sizeof(batch_cases[0]);
         i++) {
        if (strlen(batch_cases[i].name) == len &&
            !strncmp(batch_cases[i].name, name, len))
            return &batch_cases[i];
    }
    abort();
}

static void test_existing_file(struct pg_test *t)
{
    static const char local[] = "edited locally, must survive\n";
    static const struct pg_test_route routes[] = {
        TEXT_ROUTE("/files/a.txt", BODY_A),
    };
    struct pg_test_server *srv = start_server(t, routes, 1);
    char *url = url_of(srv, "/files/a.txt");
    char *rel = saved_of(srv, "/files/a.txt");
    char *out = pg_path(t, "out");
    char *file = pg_path(t, "out/%s", rel);
    char *man1 = pg_path(t, "manifest1.jsonl");
    char *man2 = pg_path(t, "manifest2.jsonl");
    const char *extra[] = {url, NULL};
    const char *extra_ow[] = {"--overwrite", url, NULL};
    struct pg_expect_file server_copy[] = {
        {rel, BODY_A, sizeof(BODY_A) - 1},
    };
    struct pg_expect_file local_copy[] = {
        {rel, local, sizeof(local) - 1},
    };
    struct pg_run r;
    struct pg_manifest m;

    /* First run: saved. */
    run_mode(t, &r, out, man1, NULL, 60, extra);
    PG_CHECK_INT(t, r.code, 0, "exit status of the first run");
    check_run_common(t, &r, out);
    pg_tree_check(t, out, server_copy, 1);
    load_manifest(t, man1, &m, 1);
    check_record(t, &m, url, "ok", 1, 200, sizeof(BODY_A) - 1, rel);
    pg_manifest_release(&m);
    pg_run_release(&r);

    /* Second run after a local edit: kept, status "exists". */
    pg_write_file(t, file, local, sizeof(local) - 1);
    run_mode(t, &r, out, man2, NULL, 60, extra);
    PG_CHECK_INT(t, r.code, 0, "exit status of the second run");
    check_run_common(t, &r, out);
    pg_tree_check(t, out, local_copy, 1);
    load_manifest(t, man2, &m, 1);
    check_record(t, &m, url, "exists", 1, -1, -1, rel);
    pg_manifest_release(&m);
    pg_run_release(&r);

    /* Third run with --overwrite: replaced. It reuses the first manifest,
     * which must be truncated (one record, not two). */
    run_mode(t, &r, out, man1, NULL, 60, extra_ow);
    PG_CHECK_INT(t, r.code, 0, "exit status of the --overwrite run");
    check_run_common(t, &r, out);
    pg_tree_check(t, out, server_copy, 1);
    load_manifest(t, man1, &m, 1);
    check_record(t, &m, url, "ok", 1, 200, sizeof(BODY_A) - 1, rel);
    pg_manifest_release(&m);
    pg_run_release(&r);
    PG_CHECK(t, hits(srv, "/files/a.txt") >= 2 &&
                    hits(srv, "/files/a.txt") <= 3,
             "a.txt requested %lu times over 3 runs",
             hits(srv, "/files/a.txt"));
    pg_test_server_stop(srv);
}

/* One run fetching one URL; returns after checking it went fine. */
static void fetch_one(struct pg_test *t, const char *name, const char *url,
                      const char *const *opts)
{
    char *out = pg_path(t, "out-%s", name);
    char *man = pg_path(t, "manifest-%s.jsonl", name);
    const char *extra[16];
    size_t n = 0;
    struct pg_run r;
    struct pg_manifest m;

    for (; opts && opts[n]; n++)
        extra[n] = opts[n];
    extra[n++] = url;
    extra[n] = NULL;
    run_mode(t, &r, out, man, NULL, 60, extra);
    PG_CHECK(t, r.code == 0, "%s: exit status %d, expected 0", name, r.code);
    check_run_common(t, &r, out);
    load_manifest(t, man, &m, 1);
    check_record(t, &m, url, "ok", 1, 200, -1, ANY_PATH);
    pg_manifest_release(&m);
    pg_run_release(&r);
}

static void test_request_headers(struct pg_test *t)
{
    static const struct pg_test_route routes[] = {
        TEXT_ROUTE("/files/a.txt", BODY_A),
        TEXT_ROUTE("/files/b.txt", BODY_B),
        TEXT_ROUTE("/files/c.txt", BODY_C),
        TEXT_ROUTE("/files/d.txt", BODY_D),
    };
    static const char config[] = "user-agent = FromConfig/2\n";
    struct pg_test_server *srv = start_server(t, routes, 4);
    char *conf = pg_path(t, "pagegrab.conf");
    const char *custom[] = {"-A", "TestAgent/1.0", "-H", "X-Test: yes",
                            "-H", "X-Two: 2", NULL};
    const char *from_conf[] = {"--config", conf, NULL};
    const char *cli_wins[] = {"--config", conf, "-A", "Cli/3", NULL};
    char v[256];

    pg_write_file(t, conf, config, sizeof(config) - 1);

    fetch_one(t, "default", url_of(srv, "/files/a.txt"), NULL);
    PG_CHECK(t, pg_test_server_header(srv, "/files/a.txt", "User-Agent", v,
                                      sizeof(v)),
             "no User-Agent sent by default");
    PG_CHECK(t, pg_str_has_prefix(v, "pagegrab/"),
             "default User-Agent is '%s', expected pagegrab/VERSION", v);

    fetch_one(t, "custom", url_of(srv, "/files/b.txt"), custom);
    pg_test_server_header(srv, "/files/b.txt", "User-Agent", v, sizeof(v));
    PG_CHECK_STR(t, v, "TestAgent/1.0", "User-Agent with -A");
    pg_test_server_header(srv, "/files/b.txt", "X-Test", v, sizeof(v));
    PG_CHECK_STR(t, v, "yes", "header from -H 'X-Test: yes'");
    pg_test_server_header(srv, "/files/b.txt", "X-Two", v, sizeof(v));
    PG_CHECK_STR(t, v, "2", "header from -H 'X-Two: 2'");

    fetch_one(t, "config", url_of(srv, "/files/c.txt"), from_conf);
    pg_test_server_header(srv, "/files/c.txt", "User-Agent", v, sizeof(v));
    PG_CHECK_STR(t, v, "FromConfig/2", "User-Agent from --config");

    fetch_one(t, "override", url_of(srv, "/files/d.txt"), cli_wins);
    pg_test_server_header(srv, "/files/d.txt", "User-Agent", v, sizeof(v));
    PG_CHECK_STR(t, v, "Cli/3", "-A must override the config file");
    pg_test_server_stop(srv);
}

/* One usage/fatal error case: exact exit status, nothing fetched. */
static void expect_status(struct pg_test *t, struct pg_test_server *srv,
                          const char *what, int expect, const char *out,
                          const char *const *args)
{
    struct pg_run r;
    unsigned long before = pg_test_server_total(srv);

    pg_run(t, &r, NULL, 60, args);
    PG_CHECK(t, r.code == expect, "%s: exit status %d, expected %d", what,
             r.code, expect);
    PG_CHECK(t, r.out_len == 0, "%s: stdout must stay empty", what);
    PG_CHECK(t, r.err_len > 0, "%s: an error message is expected on "
             "stderr", what);
    if (expect == 2)
        PG_CHECK(t, pg_test_server_total(srv) == before,
                 "%s: a usage error must not fetch anything", what);
    PG_CHECK(t, pg_test_server_total(srv) - before <= 1,
             "%s: %lu requests", what, pg_test_server_total(srv) - before);
    pg_check_no_temp_files(t, out);
    pg_run_release(&r);
}

static void test_usage_errors(struct pg_test *t)
{
    static const struct pg_test_route routes[] = {
        TEXT_ROUTE("/files/a.txt", BODY_A),
    };
    struct pg_test_server *srv = start_server(t, routes, 1);
    char *url = url_of(srv, "/files/a.txt");
    char *out = pg_path(t, "out");
    char *missing = pg_path(t, "no-such-dir/urls.txt");
    char *plain = pg_path(t, "plain-file");
    char *under = pg_path(t, "plain-file/sub");
    const char *m = t->mode;
    const char *unknown[] = {"--mode", m, "--no-such-option", "-o", out,
                             url, NULL};
    const char *bogus[] = {"--mode", "bogus", "-o", out, url, NULL};
    const char *jobs0[] = {"--mode", m, "-j", "0", "-o", out, url, NULL};
    const char *jobs_big[] = {"--mode", m, "-j", "1025", "-o", out, url,
                              NULL};
    const char *jobs_txt[] = {"--mode", m, "-j", "8x", "-o", out, url, NULL};
    const char *no_input[] = {"--mode", m, "-i", missing, "-o", out, NULL};
    const char *no_config[] = {"--mode", m, "--config", missing, "-o", out,
                               url, NULL};
    const char *bad_out[] = {"--mode", m, "-o", under, url, NULL};
    struct pg_strlist files = {0};

    pg_write_file(t, plain, "x", 1);
    expect_status(t, srv, "unknown option", 2, out, unknown);
    expect_status(t, srv, "--mode bogus", 2, out, bogus);
    expect_status(t, srv, "-j 0", 2, out, jobs0);
    expect_status(t, srv, "-j 1025", 2, out, jobs_big);
    expect_status(t, srv, "-j 8x", 2, out, jobs_txt);
    expect_status(t, srv, "missing -i file", 2, out, no_input);
    expect_status(t, srv, "missing --config file", 2, out, no_config);
    expect_status(t, srv, "output dir under a regular file", 3, out,
                  bad_out);
    pg_tree_list(out, &files);
    PG_CHECK(t, files.n == 0, "failed runs wrote files: %s",
             pg_strlist_join(&files, ", "));
    pg_test_server_stop(srv);
}

/* Does any component of rel below root, or the file itself, resolve
 * through a symbolic link? */
static int through_symlink(const char *root, const char *rel)
{
    char *p = pg_strdupf("%s/%s", root, rel);
    size_t skip = strlen(root) + 1;
    int found = 0;

    for (char *s = p + skip;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            struct stat st;

            *s = '\0';
            if (lstat(p, &st) == 0 && S_ISLNK(st.st_mode))
                found = 1;
            *s = c;
            if (!c)
                break;
        }
    }
    free(p);
    return found;
}

static void test_planted_symlink(struct pg_test *t)
{
    static const struct pg_test_route routes[] = {
        TEXT_ROUTE("/files/a.txt", BODY_A),
        TEXT_ROUTE("/b.txt", BODY_B),
    };
    struct pg_test_server *srv = start_server(t, routes, 2);
    char *ua = url_of(srv, "/files/a.txt");
    char *ub = url_of(srv, "/b.txt");
    char *out = pg_path(t, "out");
    char *outside = pg_path(t, "outside");
    char *host = saved_of(srv, "");
    char *link = pg_path(t, "out/%s", host);
    char *man = pg_path(t, "manifest.jsonl");
    const char *extra[] = {ua, ub, NULL};
    const char *urls[2] = {ua, ub};
    const char *bodies[2] = {BODY_A, BODY_B};
    const size_t lens[2] = {sizeof(BODY_A) - 1, sizeof(BODY_B) - 1};
    struct pg_strlist files = {0};
    struct pg_run r;
    struct pg_manifest m;
    int failures = 0;

    pg_mkdirs(t, out);
    pg_mkdirs(t, outside);
    PG_CHECK(t, symlink(outside, link) == 0, "cannot plant the symlink");
    run_mode(t, &r, out, man, NULL, 60, extra);
    check_run_common(t, &r, out);
    pg_tree_list(outside, &files);
    PG_CHECK(t, files.n == 0, "written through the planted symlink: %s",
             pg_strlist_join(&files, ", "));
    load_manifest(t, man, &m, 2);
    for (size_t i = 0; i < 2; i++) {
        const struct pg_record *rec = pg_manifest_find(&m, urls[i]);
        const char *status;
        const char *path;

        PG_CHECK(t, rec, "no record for '%s'", urls[i]);
        status = pg_record_str(rec, "status");
        path = pg_record_str(rec, "path");
        if (pg_str_eq(status, "save-error")) {
            failures++;
            check_has_error(t, rec);
            PG_CHECK(t, pg_record_is_null(rec, "path"),
                     "a save-error record must have path null");
            continue;
        }
        PG_CHECK(t, pg_str_eq(status, "ok"), "status of '%s' is '%s', "
                 "expected ok or save-error", urls[i], status);
        PG_CHECK(t, path && path[0] != '/' && !strstr(path, ".."),
                 "bad path '%s'", path ? path : "null");
        PG_CHECK(t, !through_symlink(out, path),
                 "'%s' was saved through a symbolic link", path);
        {
            char *full = pg_strdupf("%s/%s", out, path);
            size_t len;
            char *data = pg_read_file(full, &len);

            PG_CHECK(t, data && len == lens[i] &&
                            !memcmp(data, bodies[i], len),
                     "'%s' is missing or has the wrong content", full);
            free(data);
            free(full);
        }
    }
    PG_CHECK_INT(t, r.code, failures ? 1 : 0, "exit status");
    pg_manifest_release(&m);
    pg_run_release(&r);
    pg_test_server_stop(srv);
}

/*
 * Fetch n slow routes (150 ms each) with extra options; check the exit
 * status, every file and record and the request count, and that the
 * server saw at least 8 and at most max_peak requests at once ("what"
 * names the options in messages).  Returns the peak.
 */
static unsigned slow_batch(struct pg_test *t, struct pg_test_route *routes,
                           size_t n, const char *const *extra,
                           unsigned max_peak, const char *what)
{
    struct pg_test_server *srv;
    const char **lines = calloc(n, sizeof(*lines));
    struct pg_expect_file *exp = calloc(n, sizeof(*exp));
    char *urls = pg_path(t, "urls.txt");
    char *out = pg_path(t, "out");
    char *man = pg_path(t, "manifest.jsonl");
    const char *args[8];
    struct pg_run r;
    struct pg_manifest m;
    unsigned peak;
    size_t k = 0;

    PG_CHECK(t, lines && exp, "out of memory");
    while (*extra && k < 5)
        args[k++] = *extra++;
    args[k++] = "-i";
    args[k++] = urls;
    args[k] = NULL;
    for (size_t i = 0; i < n; i++) {
        routes[i].body_len = strlen(routes[i].body);
        routes[i].delay_ms = 150;
    }
    srv = start_server(t, routes, n);
    for (size_t i = 0; i < n; i++) {
        lines[i] = url_of(srv, routes[i].path);
        exp[i].path = saved_of(srv, routes[i].path);
        exp[i].data = routes[i].body;
        exp[i].len = strlen(routes[i].body);
    }
    write_lines(t, urls, lines, n);
    run_mode(t, &r, out, man, NULL, 120, args);
    PG_CHECK_INT(t, r.code, 0, "exit status");
    check_run_common(t, &r, out);
    pg_tree_check(t, out, exp, n);
    load_manifest(t, man, &m, n);
    for (size_t i = 0; i < n; i++)
        check_record(t, &m, lines[i], "ok", (long)i + 1, 200,
                     (long long)exp[i].len, exp[i].path);
    peak = pg_test_server_peak(srv);
    PG_CHECK(t, peak <= max_peak, "%u requests in flight at once with %s",
             peak, what);
    PG_CHECK(t, peak >= 8, "only %u requests in flight at once with %s "
             "and 150 ms responses", peak, what);
    PG_CHECK_INT(t, pg_test_server_total(srv), n, "requests in total");
    fprintf(stderr, "  %s[%s]: %zu files in %.2f s, peak %u concurrent "
            "requests\n", what, t->mode, n, r.secs, peak);
    pg_manifest_release(&m);
    pg_run_release(&r);
    pg_test_server_stop(srv);
    free(lines);
    free(exp);
    return peak;
}

/* Many workers, slow responses: the pool really runs -j 64 at once. */
static void test_many_workers(struct pg_test *t)
{
    enum { N = 192 };
    static char bodies[N][64];
    static char paths[N][32];
    static struct pg_test_route routes[N];
    const char *extra[] = {"-j", "64", NULL};
    char what[32];

    for (size_t i = 0; i < N; i++) {
        snprintf(paths[i], sizeof(paths[i]), "/slow/s%03zu.txt", i);
        snprintf(bodies[i], sizeof(bodies[i]), "slow file %zu\n", i);
        routes[i].path = paths[i];
        routes[i].body = bodies[i];
        routes[i].content_type = "text/plain";
    }
    snprintf(what, sizeof(what), "-j 64 -K %u", pg_test_per_worker());
    slow_batch(t, routes, N, extra, 64 * pg_test_per_worker(), what);
}

/*
 * --per-worker: 2 workers x 16 transfers each really run up to 32
 * requests at once (the multi interface), and never more; every file
 * arrives intact and every record is right.
 */
static void test_per_worker(struct pg_test *t)
{
    enum { N = 96 };
    static char bodies[N][4096];
    static char paths[N][32];
    static struct pg_test_route routes[N];
    const char *extra[] = {"-j", "2", "--per-worker", "16", NULL};

    for (size_t i = 0; i < N; i++) {
        snprintf(paths[i], sizeof(paths[i]), "/multi/m%03zu.bin", i);
        /* Distinct bodies of distinct sizes: a mix-up between transfers
         * of one worker cannot go unnoticed. */
        char head[32];
        int len = snprintf(head, sizeof(head), "multi body %zu:", i);

        memset(bodies[i], 'a' + (int)(i % 26), sizeof(bodies[i]));
        memcpy(bodies[i], head, (size_t)len);   /* without its NUL */
        bodies[i][sizeof(bodies[i]) - 1 - i] = '\0';
        routes[i].path = paths[i];
        routes[i].body = bodies[i];
        routes[i].content_type = "application/octet-stream";
    }
    slow_batch(t, routes, N, extra, 32, "-j 2 -K 16");
}

/*
 * --quota: once the job has received the quota, nothing new starts; the
 * rest is recorded "skipped" and never requested.  With -j 1 (each
 * worker holds up to two URLs), 4 files of 1000 bytes pass a 2500-byte
 * quota before it bites.
 */
static void test_quota(struct pg_test *t)
{
    static char body[1000];
    struct pg_test_route routes[10];
    char paths[10][32];
    const char *extra[20];
    struct pg_test_server *srv;
    char *out = pg_path(t, "out");
    char *man = pg_path(t, "manifest.jsonl");
    struct pg_run r;
    struct pg_manifest m;
    size_t i, ok = 0, skipped = 0, n = 0;

    memset(body, 'q', sizeof(body));
    memset(routes, 0, sizeof(routes));
    for (i = 0; i < 10; i++) {
        snprintf(paths[i], sizeof(paths[i]), "/q/%02zu.bin", i);
        routes[i].path = paths[i];
        routes[i].body = body;
        routes[i].body_len = sizeof(body);
        routes[i].content_type = "application/octet-stream";
    }
    srv = start_server(t, routes, 10);
    extra[n++] = "-j";
    extra[n++] = "1";
    extra[n++] = "-K";   /* (what this counts on, whatever the harness) */
    extra[n++] = "1";
    extra[n++] = "--quota";
    extra[n++] = "2500";
    for (i = 0; i < 10; i++)
        extra[n++] = url_of(srv, paths[i]);
    extra[n] = NULL;
    run_mode(t, &r, out, man, NULL, 60, extra);
    PG_CHECK_INT(t, r.code, 1, "exit status (skipped URLs are not done)");
    check_run_common(t, &r, out);
    load_manifest(t, man, &m, 10);
    for (i = 0; i < 10; i++) {
        const struct pg_record *rec = pg_manifest_find(&m,
                                                       url_of(srv, paths[i]));

        PG_CHECK(t, rec, "no record for %s", paths[i]);
        if (pg_str_eq(pg_record_str(rec, "status"), "ok")) {
            ok++;
        } else {
            PG_CHECK(t, pg_str_eq(pg_record_str(rec, "status"), "skipped"),
                     "%s: status %s", paths[i],
                     pg_record_str(rec, "status"));
            PG_CHECK_INT(t, hits(srv, paths[i]), 0,
                         "requests for a skipped URL");
            skipped++;
        }
    }
    PG_CHECK(t, ok >= 3 && ok <= 4, "%zu URLs ok under a 2500-byte quota, "
             "expected 3 or 4", ok);
    PG_CHECK_INT(t, (long)skipped, (long)(10 - ok), "skipped URLs");
    pg_manifest_release(&m);
    pg_run_release(&r);
    pg_test_server_stop(srv);
}

/* --max-pages: pages past the limit are "skipped", never requested. */
static void test_max_pages(struct pg_test *t)
{
    static const char page[] = "<html><body><p>no links</p></body></html>";
    struct pg_test_route routes[5];
    char paths[5][32];
    const char *extra[16];
    struct pg_test_server *srv;
    char *out = pg_path(t, "out");
    char *man = pg_path(t, "manifest.jsonl");
    struct pg_run r;
    struct pg_manifest m;
    size_t i, n = 0;

    memset(routes, 0, sizeof(routes));
    for (i = 0; i < 5; i++) {
        snprintf(paths[i], sizeof(paths[i]), "/p/%zu.html", i);
        routes[i].path = paths[i];
        routes[i].body = page;
        routes[i].body_len = sizeof(page) - 1;
        routes[i].content_type = "text/html";
    }
    srv = start_server(t, routes, 5);
    extra[n++] = "-j";
    extra[n++] = "1";
    extra[n++] = "--images";
    extra[n++] = "--max-pages";
    extra[n++] = "2";
    for (i = 0; i < 5; i++)
        extra[n++] = url_of(srv, paths[i]);
    extra[n] = NULL;
    run_mode(t, &r, out, man, NULL, 60, extra);
    PG_CHECK_INT(t, r.code, 1, "exit status");
    check_run_common(t, &r, out);
    load_manifest(t, man, &m, 5);
    for (i = 0; i < 5; i++) {
        check_record(t, &m, url_of(srv, paths[i]), i < 2 ? "ok" : "skipped",
                     (long)i + 1, i < 2 ? 200 : 0, -1, i < 2 ? ANY_PATH : NULL);
        PG_CHECK_INT(t, hits(srv, paths[i]), i < 2 ? 1 : 0,
                     "requests for a page");
    }
    pg_manifest_release(&m);
    pg_run_release(&r);
    pg_test_server_stop(srv);
}

static const struct pg_test_case cases[] = {
    {"batch", test_batch, 0, 900},
    {"http_404", run_case, PG_TEST_PER_MODE, 90},
    {"connection_refused", run_case, PG_TEST_PER_MODE, 150},
    {"truncated_body", run_case, PG_TEST_PER_MODE, 150},
    {"redirect_chain", run_case, PG_TEST_PER_MODE, 90},
    {"redirect_to_file", run_case, PG_TEST_PER_MODE, 90},
    {"redirect_loop", run_case, PG_TEST_PER_MODE, 90},
    {"invalid_lines", run_case, PG_TEST_PER_MODE, 90},
    {"stdin_comments", run_case, PG_TEST_PER_MODE, 90},
    {"cli_and_file_lines", run_case, PG_TEST_PER_MODE, 90},
    {"existing_file", test_existing_file, PG_TEST_PER_MODE, 150},
    {"flat", run_case, PG_TEST_PER_MODE, 90},
    {"timeout", run_case, PG_TEST_PER_MODE, 120},
    {"query_and_index_names", run_case, PG_TEST_PER_MODE,
     90},
    {"traversal_names", run_case, PG_TEST_PER_MODE, 90},
    {"overlong_url", run_case, PG_TEST_PER_MODE, 90},
    {"request_headers", test_request_headers, PG_TEST_PER_MODE, 120},
    {"usage_errors", test_usage_errors, PG_TEST_PER_MODE, 300},
    {"planted_symlink", test_planted_symlink, PG_TEST_PER_MODE, 90},
    {"many_workers", test_many_workers, PG_TEST_PER_MODE, 150},
    {"per_worker", test_per_worker, PG_TEST_PER_MODE, 150},
    {"quota", test_quota, PG_TEST_PER_MODE, 90},
    {"max_pages", test_max_pages, PG_TEST_PER_MODE, 90},
};

int main(int argc, char **argv)
{
    return pg_test_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
