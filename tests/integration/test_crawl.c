/*
 * test_crawl.c - integration tests for images and crawling (issue 3,
 * /work/notes/contract3.md): --images, --xpath, --srcset, --follow,
 * --depth, --span-hosts, --domains, --accept/--reject, --images-only,
 * --list, --name, robots.txt, --per-host, --wait, --dedup, and the new
 * manifest keys.
 *
 * Every site is generated in memory when the test starts (pages, and
 * images as deterministic pseudo-random bytes) and served by the
 * in-process server of tests/lib/server.c. Pages that must name another
 * host use a second server: "localhost:PORT_B" against
 * "127.0.0.1:PORT_A" (libcurl resolves "sub.localhost" to the loopback
 * address by itself, which gives a subdomain; harness_hosts checks it).
 * Per-host concurrency and --wait are measured by the server (request
 * log, "waiting" peaks per Host header, see server.h).
 *
 * The gallery test serves a two-level wallpaper site encoded in GBK, as
 * found in the wild; its generator builds every page twice, in GBK and
 * in UTF-8, and the self-test gallery_fixture checks with iconv(3) and
 * libxml2 that both are the same document and that the expressions of
 * the test select what the test expects.
 *
 * Tests flagged PG_TEST_PER_MODE run once with --mode thread and once
 * with --mode process. Each asserts the exit status, the exact set of
 * files written (name and content), the manifest records (with the
 * schema of contract3.md) and how often the server saw each request.
 *
 * Where contract3.md is silent the tests take one reading and say so in
 * a comment marked "Reading:"; these are the places to look first when
 * a test and the implementation disagree.
 */
#include "server.h"
#include "testlib.h"

#include <curl/curl.h>
#include <errno.h>
#include <iconv.h>
#include <libxml/HTMLparser.h>
#include <libxml/xpath.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define END ((const char *)NULL)

/* The two host names of the loopback interface used by the tests. */
static const char LOOP[] = "127.0.0.1";
static const char LH[] = "localhost";

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

PG_TEST_NORETURN static void oom(void)
{
    fputs("test_crawl: out of memory\n", stderr);
    abort();
}

/* A growable byte string, always NUL-terminated. */
struct sb {
    char *p;
    size_t len;
    size_t cap;
};

static void sb_grow(struct sb *b, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *p = realloc(b->p, cap);

        if (!p)
            oom();
        b->p = p;
        b->cap = cap;
    }
}

static void sb_add(struct sb *b, const void *data, size_t n)
{
    sb_grow(b, n);
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_vprintf(struct sb *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        abort();
    sb_grow(b, (size_t)n);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

static void sb_printf(struct sb *b, const char *fmt, ...)
    PG_TEST_PRINTF(2, 3);

static void sb_printf(struct sb *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    sb_vprintf(b, fmt, ap);
    va_end(ap);
}

/* Hand the buffer over (never NULL) and leave b empty. */
static char *sb_take(struct sb *b, size_t *len)
{
    char *p;

    if (!b->p)
        sb_add(b, "", 0);
    p = b->p;
    if (len)
        *len = b->len;
    memset(b, 0, sizeof(*b));
    return p;
}

/* Command-line arguments, NULL-terminated. */
struct args {
    const char *v[128];
    size_t n;
};

static void args_vpush(struct args *a, va_list ap)
{
    for (;;) {
        const char *s = va_arg(ap, const char *);

        if (!s)
            break;
        if (a->n + 1 >= sizeof(a->v) / sizeof(a->v[0])) {
            fputs("test bug: too many arguments\n", stderr);
            abort();
        }
        a->v[a->n++] = s;
    }
    a->v[a->n] = NULL;
}

static void args_push(struct args *a, ...)
{
    va_list ap;

    va_start(ap, a);
    args_vpush(a, ap);
    va_end(ap);
}

static uint64_t xorshift64(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

/* len deterministic pseudo-random bytes for a seed (heap, never freed). */
static unsigned char *blob(uint64_t seed, size_t len)
{
    uint64_t s = (seed + 1) * 0x9E3779B97F4A7C15ull;
    unsigned char *p = malloc(len ? len : 1);

    if (!p)
        oom();
    for (size_t i = 0; i < len; i += 8) {
        uint64_t v = xorshift64(&s);
        size_t k = len - i < 8 ? len - i : 8;

        memcpy(p + i, &v, k);
    }
    return p;
}

/* ------------------------------------------------------------------ */
/* Sites: route tables built at run time                               */
/* ------------------------------------------------------------------ */

struct site {
    struct pg_test_route *r;
    size_t n;
    size_t cap;
};

/* Add a route; path is copied, body is borrowed (it must outlive the
 * server: the tests never free their bodies). */
static void site_add(struct site *s, const char *path, const void *body,
                     size_t len, const char *ctype, unsigned delay_ms)
{
    struct pg_test_route *r;

    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        struct pg_test_route *v = realloc(s->r, cap * sizeof(*v));

        if (!v)
            oom();
        s->r = v;
        s->cap = cap;
    }
    r = &s->r[s->n++];
    memset(r, 0, sizeof(*r));
    r->path = pg_strdupf("%s", path);
    r->body = body;
    r->body_len = len;
    r->content_type = ctype;
    r->delay_ms = delay_ms;
}

/* An HTML page from a finished builder (which is left empty). */
static void site_page(struct site *s, const char *path, struct sb *html)
{
    size_t len;
    char *body = sb_take(html, &len);

    site_add(s, path, body, len, "text/html", 0);
}

/* A static text page (a string literal). */
static void site_text(struct site *s, const char *path, const char *text,
                      const char *ctype)
{
    site_add(s, path, text, strlen(text), ctype, 0);
}

/* An image of len pseudo-random bytes; returns its body. */
static const unsigned char *site_image(struct site *s, const char *path,
                                       uint64_t seed, size_t len,
                                       unsigned delay_ms)
{
    const char *dot = strrchr(path, '.');
    const char *ctype = "image/jpeg";
    unsigned char *body = blob(seed, len);

    if (dot && !strcmp(dot, ".png"))
        ctype = "image/png";
    else if (dot && !strcmp(dot, ".gif"))
        ctype = "image/gif";
    else if (dot && !strcmp(dot, ".webp"))
        ctype = "image/webp";
    site_add(s, path, body, len, ctype, delay_ms);
    return body;
}

static const struct pg_test_route *site_get(const struct site *s,
                                            const char *path)
{
    for (size_t i = 0; i < s->n; i++) {
        if (!strcmp(s->r[i].path, path))
            return &s->r[i];
    }
    fprintf(stderr, "test bug: no route '%s'\n", path);
    abort();
}

static struct pg_test_server *site_start(struct pg_test *t,
                                         const struct site *s)
{
    struct pg_test_server *srv = pg_test_server_start(s->r, s->n);

    if (!srv)
        pg_test_fail(t, "cannot start the test server");
    return srv;
}

/* ------------------------------------------------------------------ */
/* URLs and names                                                      */
/* ------------------------------------------------------------------ */

/* "HOST:PORT" of a server under a host name (the Host header). */
static char *hp(struct pg_test_server *srv, const char *host)
{
    return pg_strdupf("%s:%u", host, pg_test_server_port(srv));
}

/*
 * How a normalised URL spells a percent-encoded byte. Reading: upper-case
 * hex digits, as RFC 3986 asks of producers and normalisers (2.1,
 * 6.2.2.1) and as the WHATWG URL standard and browsers write them.
 */
#define PCT_FORMAT "%%%02X"

/*
 * The normalised URL of a path on a server: non-ASCII bytes, controls,
 * space and the other characters of the WHATWG path percent-encode set
 * become %XX (PCT_FORMAT). Reading: pagegrab's normalised URLs (manifest,
 * --list) carry UTF-8 paths in this form, as browsers send them.
 */
static char *url_at(struct pg_test_server *srv, const char *host,
                    const char *path)
{
    struct sb b = {0};

    sb_printf(&b, "http://%s:%u", host, pg_test_server_port(srv));
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (*p <= 0x20 || *p >= 0x7F || strchr("\"<>`{}", *p))
            sb_printf(&b, PCT_FORMAT, *p);
        else
            sb_add(&b, p, 1);
    }
    return sb_take(&b, NULL);
}

/* The default saved name: "HOST:PORT" + the (decoded) path. */
static char *saved_at(struct pg_test_server *srv, const char *host,
                      const char *path)
{
    return pg_strdupf("%s:%u%s", host, pg_test_server_port(srv), path);
}

/* Expected files of a run. */
struct files {
    struct pg_expect_file *v;
    size_t n;
    size_t cap;
};

static void files_add(struct files *f, const char *path, const void *data,
                      size_t len)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 32;
        struct pg_expect_file *v = realloc(f->v, cap * sizeof(*v));

        if (!v)
            oom();
        f->v = v;
        f->cap = cap;
    }
    f->v[f->n].path = pg_strdupf("%s", path);
    f->v[f->n].data = data;
    f->v[f->n].len = len;
    f->n++;
}

/* Expect the route at path of site s (served by srv as host) saved under
 * its default name. */
static void files_route(struct files *f, const struct site *s,
                        struct pg_test_server *srv, const char *host,
                        const char *path)
{
    const struct pg_test_route *r = site_get(s, path);
    char *name = saved_at(srv, host, path);

    files_add(f, name, r->body, r->body_len);
    free(name);
}

/* ------------------------------------------------------------------ */
/* Running pagegrab and reading what it did                            */
/* ------------------------------------------------------------------ */

/*
 * Run pagegrab in the test's mode with "-o out --manifest man" and the
 * further arguments (NULL-terminated).
 */
static int crawl(struct pg_test *t, struct pg_run *r, const char *out,
                 const char *man, ...)
{
    struct args a = {{0}, 0};
    va_list ap;

    args_push(&a, "--mode", t->mode, "-o", out, "--manifest", man, END);
    va_start(ap, man);
    args_vpush(&a, ap);
    va_end(ap);
    return pg_run(t, r, NULL, 120, a.v);
}

/* What every downloading run must satisfy: exit status, nothing on
 * stdout, no temp files left. */
static void check_run(struct pg_test *t, const struct pg_run *r, int code,
                      const char *out, const char *what)
{
    PG_CHECK(t, r->code == code, "%s: exit status %d, expected %d", what,
             r->code, code);
    PG_CHECK(t, r->out_len == 0, "%s: stdout must stay empty, got %zu "
             "bytes: %.200s", what, r->out_len, r->out);
    pg_check_no_temp_files(t, out);
}

/*
 * Load a manifest, check every record against contract3's schema, that
 * no URL has two records, and the number of records.
 */
static void load_manifest(struct pg_test *t, const char *path,
                          struct pg_manifest *m, size_t expect_n)
{
    char why[512];

    pg_manifest_must_load(t, path, m);
    for (size_t i = 0; i < m->n; i++) {
        if (!pg_record_check_crawl_schema(&m->rec[i], why, sizeof(why))) {
            char *text = pg_record_text(&m->rec[i]);

            pg_test_fail(t, "%s line %zu breaks contract3's schema: %s: %s",
                         path, m->rec[i].lineno, why, text);
        }
    }
    pg_manifest_sort(m);
    for (size_t i = 1; i < m->n; i++) {
        const char *u = pg_record_str(&m->rec[i], "url");

        PG_CHECK(t, !pg_str_eq(pg_record_str(&m->rec[i - 1], "url"), u),
                 "%s: two records for '%s' (each URL is handled once)",
                 path, u);
    }
    if (m->n != expect_n) {
        struct sb b = {0};

        for (size_t i = 0; i < m->n && i < 60; i++)
            sb_printf(&b, "\n  %s %s", pg_record_str(&m->rec[i], "status"),
                      pg_record_str(&m->rec[i], "url"));
        pg_test_fail(t, "%s has %zu records, expected %zu:%s", path, m->n,
                     expect_n, b.p ? b.p : "");
    }
}

/* Marks a nullable key that must be null in struct want. */
static const char WANT_NULL[] = "<null>";

/* What a manifest record must hold. */
struct want {
    const char *url;
    const char *status;
    const char *kind;
    long depth;
    /* NULL: not checked; WANT_NULL: must be null; else the value. */
    const char *referrer;
    const char *path;
    const char *content_type;
    /* Checked when has_links; image records must always have 0. */
    int has_links;
    long links;
    long line;               /* > 0: checked */
    /* Non-NULL: fetched and saved; bytes, http_code 200, error null and
     * hash = SHA-256 of body are checked. */
    const void *body;
    size_t len;
    /* duplicate_of is checked to be null unless this is set. */
    int any_duplicate;
};

static void want_str(struct pg_test *t, const struct pg_record *r,
                     const char *key, const char *expect, const char *text)
{
    const char *v = pg_record_str(r, key);

    if (!expect)
        return;
    if (expect == WANT_NULL) {
        if (!pg_record_is_null(r, key))
            pg_test_fail(t, "%s must be null in %s", key, text);
        return;
    }
    if (!pg_str_eq(v, expect))
        pg_test_fail(t, "%s: expected '%s' in %s", key, expect, text);
}

static const struct pg_record *want_rec(struct pg_test *t,
                                        const struct pg_manifest *m,
                                        const struct want *w)
{
    const struct pg_record *r = pg_manifest_find(m, w->url);
    char *text;

    PG_CHECK(t, r, "no manifest record for '%s'", w->url);
    text = pg_record_text(r);
    want_str(t, r, "status", w->status, text);
    want_str(t, r, "kind", w->kind, text);
    if (pg_record_int(r, "depth", -1) != w->depth)
        pg_test_fail(t, "depth: expected %ld in %s", w->depth, text);
    want_str(t, r, "referrer", w->referrer, text);
    want_str(t, r, "path", w->path, text);
    want_str(t, r, "content_type", w->content_type, text);
    if (w->has_links && pg_record_int(r, "links", -1) != w->links)
        pg_test_fail(t, "links: expected %ld in %s", w->links, text);
    if (pg_str_eq(w->kind, "image") && pg_record_int(r, "links", -1) != 0)
        pg_test_fail(t, "links of an image must be 0 in %s", text);
    if (w->line > 0 && pg_record_int(r, "line", -1) != w->line)
        pg_test_fail(t, "line: expected %ld in %s", w->line, text);
    if (w->body) {
        char *hash = pg_sha256_hex(w->body, w->len);

        if (pg_record_int(r, "bytes", -1) != (long long)w->len)
            pg_test_fail(t, "bytes: expected %zu in %s", w->len, text);
        if (pg_record_int(r, "http_code", -1) != 200)
            pg_test_fail(t, "http_code: expected 200 in %s", text);
        if (!pg_record_is_null(r, "error"))
            pg_test_fail(t, "error must be null in %s", text);
        if (!pg_str_eq(pg_record_str(r, "hash"), hash))
            pg_test_fail(t, "hash: expected '%s' (SHA-256 of the body) in "
                         "%s", hash, text);
        free(hash);
    }
    if (!w->any_duplicate && !pg_record_is_null(r, "duplicate_of"))
        pg_test_fail(t, "duplicate_of must be null in %s", text);
    free(text);
    return r;
}

/* Requests the server saw for (host, path); host "" = any. */
static unsigned long seen(struct pg_test_server *srv, const char *host,
                          const char *path)
{
    char *h = host[0] ? hp(srv, host) : NULL;
    unsigned long n = pg_test_server_count(srv, h, path);

    free(h);
    return n;
}

static void check_seen(struct pg_test *t, struct pg_test_server *srv,
                       const char *host, const char *path,
                       unsigned long expect, const char *what)
{
    unsigned long n = seen(srv, host, path);

    if (n != expect)
        pg_test_fail(t, "%s: %s:%u%s was requested %lu times, expected %lu",
                     what, host, pg_test_server_port(srv), path, n, expect);
}

/* Number of records whose status is s. */
static size_t count_status(const struct pg_manifest *m, const char *s)
{
    size_t n = 0;

    for (size_t i = 0; i < m->n; i++)
        n += pg_str_eq(pg_record_str(&m->rec[i], "status"), s);
    return n;
}

/* Does some line of text contain all the (NULL-terminated) strings? */
static int has_line_with(const char *text, ...)
{
    const char *p = text;

    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char *line = pg_strdupf("%.*s", (int)len, p);
        int all = 1;
        va_list ap;

        va_start(ap, text);
        for (;;) {
            const char *s = va_arg(ap, const char *);

            if (!s)
                break;
            all = all && strstr(line, s);
        }
        va_end(ap);
        free(line);
        if (all)
            return 1;
        p = eol ? eol + 1 : NULL;
    }
    return 0;
}

/* Does line hold the decimal number n as a whole token? */
static int has_number(const char *line, unsigned long n)
{
    for (const char *p = line; *p; p++) {
        char *end;
        unsigned long v;

        if (*p < '0' || *p > '9' || (p > line && p[-1] >= '0' &&
                                     p[-1] <= '9'))
            continue;
        v = strtoul(p, &end, 10);
        if (v == n)
            return 1;
        p = end - 1;
    }
    return 0;
}

/*
 * A pcre2 compile error on stderr: one line names the pattern (in
 * quotes), carries pcre2's own message and the error offset.
 */
static void check_regex_error(struct pg_test *t, const char *err,
                              const char *pattern, const char *message,
                              unsigned long offset)
{
    char *quoted = pg_strdupf("'%s'", pattern);
    const char *p = err;

    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char *line = pg_strdupf("%.*s", (int)len, p);
        int ok = strstr(line, quoted) && strstr(line, message) &&
                 has_number(line, offset);

        free(line);
        if (ok) {
            free(quoted);
            return;
        }
        p = eol ? eol + 1 : NULL;
    }
    pg_test_fail(t, "stderr has no line with the pattern %s, pcre2's "
                 "message '%s' and the offset %lu", quoted, message, offset);
}

/* Start times of the logged requests to host (sorted, heap). */
static double *starts_of(struct pg_test_server *srv, const char *host,
                         size_t *n)
{
    size_t total = pg_test_server_requests(srv, NULL, 0);
    struct pg_test_request *log = calloc(total ? total : 1, sizeof(*log));
    double *v = calloc(total ? total : 1, sizeof(*v));
    char *h = hp(srv, host);

    if (!log || !v)
        oom();
    total = pg_test_server_requests(srv, log, total);
    *n = 0;
    for (size_t i = 0; i < total; i++) {
        if (!strcmp(log[i].host, h))
            v[(*n)++] = log[i].start;
    }
    free(h);
    free(log);
    return v;
}

/* ------------------------------------------------------------------ */
/* The GBK gallery                                                     */
/* ------------------------------------------------------------------ */

/*
 * The Chinese texts of the gallery, in UTF-8 and in GBK (the GBK bytes
 * were produced with iconv -f utf-8 -t gbk; gallery_fixture converts them
 * back with iconv(3) and compares).
 */
enum zh_id {
    ZH_TITLE,                /* 4K动漫壁纸 */
    ZH_DI,                   /* 第 */
    ZH_YE,                   /* 页 */
    ZH_HOME,                 /* 首页 */
    ZH_PREV_PAGE,            /* 上一页 */
    ZH_NEXT_PAGE,            /* 下一页 */
    ZH_LAST_PAGE,            /* 尾页 */
    ZH_HOT,                  /* 热门推荐 */
    ZH_SITE,                 /* 彼岸图网 */
    ZH_PREV_PIC,             /* 上一张 */
    ZH_NEXT_PIC,             /* 下一张 */
    ZH_RELATED,              /* 相关壁纸 */
    ZH_XINGKONG,             /* 星空: a detail page's file name */
    ZH_YINGHUA,              /* 樱花: an image's file name */
    ZH_NAME0,                /* 星空少女 */
    ZH_NAME1,                /* 樱花树下 */
    ZH_NAME2,                /* 夕阳海边 */
    ZH_NAME3,                /* 雪夜街道 */
    ZH_COPYRIGHT,            /* 版权所有 */
    ZH_COUNT
};

static const struct {
    const char *utf8;
    const char *gbk;
} ZH[ZH_COUNT] = {
    {"4K动漫壁纸", "4K\xb6\xaf\xc2\xfe\xb1\xda\xd6\xbd"},
    {"第", "\xb5\xda"},
    {"页", "\xd2\xb3"},
    {"首页", "\xca\xd7\xd2\xb3"},
    {"上一页", "\xc9\xcf\xd2\xbb\xd2\xb3"},
    {"下一页", "\xcf\xc2\xd2\xbb\xd2\xb3"},
    {"尾页", "\xce\xb2\xd2\xb3"},
    {"热门推荐", "\xc8\xc8\xc3\xc5\xcd\xc6\xbc\xf6"},
    {"彼岸图网", "\xb1\xcb\xb0\xb6\xcd\xbc\xcd\xf8"},
    {"上一张", "\xc9\xcf\xd2\xbb\xd5\xc5"},
    {"下一张", "\xcf\xc2\xd2\xbb\xd5\xc5"},
    {"相关壁纸", "\xcf\xe0\xb9\xd8\xb1\xda\xd6\xbd"},
    {"星空", "\xd0\xc7\xbf\xd5"},
    {"樱花", "\xd3\xa3\xbb\xa8"},
    {"星空少女", "\xd0\xc7\xbf\xd5\xc9\xd9\xc5\xae"},
    {"樱花树下", "\xd3\xa3\xbb\xa8\xca\xf7\xcf\xc2"},
    {"夕阳海边", "\xcf\xa6\xd1\xf4\xba\xa3\xb1\xdf"},
    {"雪夜街道", "\xd1\xa9\xd2\xb9\xbd\xd6\xb5\xc0"},
    {"版权所有", "\xb0\xe6\xc8\xa8\xcb\xf9\xd3\xd0"},
};

/*
 * A page built in two encodings at once: ASCII text goes to both, a
 * Chinese text goes to g in GBK and to u in UTF-8. Converting g from GBK
 * must give u exactly.
 */
struct dual {
    struct sb g;
    struct sb u;
};

static void dual_printf(struct dual *d, const char *fmt, ...)
    PG_TEST_PRINTF(2, 3);

static void dual_printf(struct dual *d, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    sb_vprintf(&d->g, fmt, ap);
    va_end(ap);
    va_start(ap, fmt);
    sb_vprintf(&d->u, fmt, ap);
    va_end(ap);
}

/* Append a text given in both encodings. */
static void dual_add(struct dual *d, const char *g, const char *u)
{
    sb_add(&d->g, g, strlen(g));
    sb_add(&d->u, u, strlen(u));
}

static void dual_zh(struct dual *d, enum zh_id id)
{
    dual_add(d, ZH[id].gbk, ZH[id].utf8);
}

/* A heap copy of the GBK view, for a route body (never freed). */
static char *dual_copy(const struct dual *d, size_t *len)
{
    char *p = malloc(d->g.len + 1);

    if (!p)
        oom();
    memcpy(p, d->g.p, d->g.len + 1);
    *len = d->g.len;
    return p;
}

/* A text in both encodings (a URL or a name). */
struct text2 {
    char *g;
    char *u;
};

static struct text2 text2_take(struct dual *d)
{
    struct text2 x;

    x.g = sb_take(&d->g, NULL);
    x.u = sb_take(&d->u, NULL);
    return x;
}

#define G_LISTINGS 3
#define G_PER_LISTING 12
#define G_DETAILS (G_LISTINGS * G_PER_LISTING)
/* Special details (by index k; the id is 1001 + k). */
#define G_K_ZH_PAGE 4        /* detail page /tupian/星空.html */
#define G_K_QUERY 14         /* href with "?from=list&amp;page=2" */
#define G_K_ZH_IMAGE 19      /* image /uploads/allimg/樱花.jpg */
#define G_K_FRAGMENT 26      /* href with "#comments" */
#define G_K_ON_B 29          /* image on the other host */
#define G_K_TWICE 2          /* listed on listing 1 and again on 3 */

struct gallery {
    struct site a;           /* served as 127.0.0.1:PA */
    struct site b;           /* served as localhost:PB */
    struct pg_test_server *sa;
    struct pg_test_server *sb;
    char *listing_path[G_LISTINGS];
    struct dual listing_html[G_LISTINGS];
    /* The follow hrefs of each listing as written (UTF-8 view). */
    struct pg_strlist listing_hrefs[G_LISTINGS];
    size_t listing_links[G_LISTINGS];
    /* Per detail: */
    int listing_of[G_DETAILS];
    char *detail_route[G_DETAILS];       /* decoded path, UTF-8 */
    char *detail_query[G_DETAILS];       /* "" or "?..." */
    struct dual detail_html[G_DETAILS];
    char *image_src_u[G_DETAILS];        /* the src as written (UTF-8) */
    char *image_route[G_DETAILS];        /* decoded path, UTF-8 */
    int image_on_b[G_DETAILS];
    const unsigned char *image_body[G_DETAILS];
    size_t image_len[G_DETAILS];
};

static const char G_ROBOTS[] = "User-agent: *\nDisallow: /admin/\n";

static enum zh_id g_name(size_t k)
{
    return (enum zh_id)(ZH_NAME0 + (int)(k % 4));
}

/* The detail page's file name (without "/tupian/" and ".html"). */
static struct text2 g_detail_name(size_t k)
{
    struct dual d = {{0}, {0}};

    if (k == G_K_ZH_PAGE)
        dual_zh(&d, ZH_XINGKONG);
    else
        dual_printf(&d, "%zu", 1001 + k);
    return text2_take(&d);
}

static void g_head(struct dual *d, int listing, size_t k)
{
    dual_printf(d, "<!DOCTYPE html>\n<html>\n<head>\n"
                "<meta charset=\"gbk\">\n<title>");
    if (listing >= 0) {
        dual_zh(d, ZH_TITLE);
        if (listing > 0) {
            dual_printf(d, "_");
            dual_zh(d, ZH_DI);
            dual_printf(d, "%d", listing + 1);
            dual_zh(d, ZH_YE);
        }
    } else {
        dual_zh(d, g_name(k));
        dual_printf(d, "_");
        dual_zh(d, ZH_TITLE);
    }
    dual_printf(d, "_");
    dual_zh(d, ZH_SITE);
    dual_printf(d, "</title>\n</head>\n<body>\n<div class=\"head\">"
                "<a href=\"/\">");
    dual_zh(d, ZH_SITE);
    dual_printf(d, "</a> <a href=\"/4kdongman/\">");
    dual_zh(d, ZH_TITLE);
    dual_printf(d, "</a></div>\n");
}

static void g_listing(struct gallery *g, int l)
{
    struct dual *d = &g->listing_html[l];

    g->listing_path[l] = l ? pg_strdupf("/4kdongman/index_%d.html", l + 1)
                           : pg_strdupf("/4kdongman/");
    g_head(d, l, 0);
    /* div 1: navigation; div 2: "hot" pictures in the same ul/li/a shape
     * as the list (a decoy); div 3: pagination; div 4: the list. */
    dual_printf(d, "<div id=\"main\">\n<div class=\"nav\"><a "
                "href=\"/4kdongman/\">");
    dual_zh(d, ZH_HOME);
    dual_printf(d, "</a> <a href=\"/4kfengjing/\">4K</a></div>\n"
                "<div class=\"hot\"><h2>");
    dual_zh(d, ZH_HOT);
    dual_printf(d, "</h2><ul><li><a href=\"/tupian/999.html\"><img "
                "src=\"/uploads/thumb/999.jpg\"></a></li></ul></div>\n"
                "<div class=\"page\"><a href=\"/4kdongman/\">");
    dual_zh(d, ZH_HOME);
    dual_printf(d, "</a> ");
    if (l > 0) {
        dual_printf(d, "<a href=\"%s\">", l == 1 ? "/4kdongman/"
                                                 : "index_2.html");
        dual_zh(d, ZH_PREV_PAGE);
        dual_printf(d, "</a> ");
    }
    if (l < G_LISTINGS - 1) {
        dual_printf(d, "<a href=\"index_%d.html\">", l + 2);
        dual_zh(d, ZH_NEXT_PAGE);
        dual_printf(d, "</a> ");
    }
    dual_printf(d, "<a href=\"/4kdongman/index_%d.html\">", G_LISTINGS);
    dual_zh(d, ZH_LAST_PAGE);
    dual_printf(d, "</a></div>\n<div class=\"list\">\n<ul>\n");
}

/* One <li> of a listing: k's link (in the href form of the listing). */
static void g_listing_item(struct gallery *g, int l, size_t k)
{
    struct dual *d = &g->listing_html[l];
    struct text2 name = g_detail_name(k);
    /* Listing 2 uses relative links, the others absolute paths. */
    const char *dir = l == 1 ? "../tupian/" : "/tupian/";
    /* The href as libxml2 must return it (entities decoded). */
    char *href;

    dual_printf(d, "<li><a href=\"%s", dir);
    dual_add(d, name.g, name.u);
    dual_printf(d, ".html");
    if (k == G_K_QUERY) {
        dual_printf(d, "?from=list&amp;page=2");
        href = pg_strdupf("%s%s.html?from=list&page=2", dir, name.u);
    } else if (k == G_K_FRAGMENT) {
        dual_printf(d, "#comments");
        href = pg_strdupf("%s%s.html#comments", dir, name.u);
    } else {
        href = pg_strdupf("%s%s.html", dir, name.u);
    }
    pg_strlist_add(&g->listing_hrefs[l], href);
    free(href);
    free(name.g);
    free(name.u);
    dual_printf(d, "\" target=\"_blank\"><img src=\"/uploads/thumb/%zu.jpg\""
                " alt=\"", 1001 + k);
    dual_zh(d, g_name(k));
    dual_printf(d, "\"><b>");
    dual_zh(d, g_name(k));
    dual_printf(d, "</b></a></li>\n");
    g->listing_links[l]++;
}

static void g_listing_end(struct gallery *g, int l)
{
    struct dual *d = &g->listing_html[l];

    dual_printf(d, "</ul>\n</div>\n</div>\n<div class=\"foot\"><ul><li>"
                "<a href=\"/tupian/998.html\">");
    dual_zh(d, ZH_COPYRIGHT);
    dual_printf(d, "</a></li></ul></div>\n</body>\n</html>\n");
}

/* A detail page with its image src (GBK view, UTF-8 view). */
static void g_detail(struct dual *d, size_t k, const char *src_g,
                     const char *src_u)
{
    g_head(d, -1, k);
    dual_printf(d, "<div class=\"view\">\n<h1>");
    dual_zh(d, g_name(k));
    dual_printf(d, "</h1>\n<div class=\"page\"><a href=\"/tupian/%zu.html\">",
                1000 + k);
    dual_zh(d, ZH_PREV_PIC);
    dual_printf(d, "</a> <a href=\"/tupian/%zu.html\">", 1002 + k);
    dual_zh(d, ZH_NEXT_PIC);
    dual_printf(d, "</a></div>\n<div id=\"img\"><img src=\"");
    dual_add(d, src_g, src_u);
    dual_printf(d, "\" alt=\"");
    dual_zh(d, g_name(k));
    dual_printf(d, "\" title=\"");
    dual_zh(d, g_name(k));
    dual_printf(d, "\"></div>\n<div class=\"related\"><h2>");
    dual_zh(d, ZH_RELATED);
    dual_printf(d, "</h2><ul>\n");
    for (size_t j = 1; j <= 3; j++) {
        size_t id = 1001 + (k + j) % G_DETAILS;

        dual_printf(d, "<li><a href=\"/tupian/%zu.html\"><img "
                    "src=\"/uploads/thumb/%zu.jpg\"></a></li>\n", id, id);
    }
    dual_printf(d, "</ul></div>\n</div>\n</body>\n</html>\n");
}

/* An image's size: 2 KiB .. 6 KiB. */
static size_t g_image_len(size_t k)
{
    return 2048 + (k * 397) % 4096;
}

/*
 * Build the gallery and start its two servers: server B (localhost)
 * first, since a detail page on A names an image on B by its port.
 */
static void gallery_make(struct pg_test *t, struct gallery *g)
{
    memset(g, 0, sizeof(*g));

    site_image(&g->b, "/uploads/allimg/1030.jpg", 1001 + G_K_ON_B,
               g_image_len(G_K_ON_B), 0);
    site_text(&g->b, "/robots.txt", G_ROBOTS, "text/plain");
    g->sb = site_start(t, &g->b);

    for (int l = 0; l < G_LISTINGS; l++)
        g_listing(g, l);
    for (size_t k = 0; k < G_DETAILS; k++) {
        int l = (int)(k / G_PER_LISTING);
        struct text2 name = g_detail_name(k);
        struct dual src = {{0}, {0}};
        struct text2 s;
        struct sb thumb = {0};
        size_t len;
        char *body;

        g->listing_of[k] = l;
        g->detail_route[k] = pg_strdupf("/tupian/%s.html", name.u);
        g->detail_query[k] = pg_strdupf("%s", k == G_K_QUERY
                                                  ? "?from=list&page=2"
                                                  : "");
        g_listing_item(g, l, k);
        if (k == G_K_ON_B) {
            dual_printf(&src, "http://localhost:%u/uploads/allimg/%zu.jpg",
                        pg_test_server_port(g->sb), 1001 + k);
            g->image_route[k] = pg_strdupf("/uploads/allimg/%zu.jpg",
                                           1001 + k);
            g->image_on_b[k] = 1;
            g->image_body[k] = site_get(&g->b, g->image_route[k])->body;
        } else {
            if (k % 3 == 1)
                dual_printf(&src, "../uploads/allimg/");
            else
                dual_printf(&src, "/uploads/allimg/");
            if (k == G_K_ZH_IMAGE)
                dual_zh(&src, ZH_YINGHUA);
            else
                dual_printf(&src, "%zu", 1001 + k);
            dual_printf(&src, ".jpg");
            g->image_route[k] = k == G_K_ZH_IMAGE
                                    ? pg_strdupf("/uploads/allimg/%s.jpg",
                                                 ZH[ZH_YINGHUA].utf8)
                                    : pg_strdupf("/uploads/allimg/%zu.jpg",
                                                 1001 + k);
            g->image_body[k] = site_image(&g->a, g->image_route[k],
                                          1001 + k, g_image_len(k), 0);
        }
        g->image_len[k] = g_image_len(k);
        s = text2_take(&src);
        g->image_src_u[k] = s.u;
        g_detail(&g->detail_html[k], k, s.g, s.u);
        free(s.g);
        free(name.g);
        free(name.u);
        /* Details name their charset in Content-Type too. */
        body = dual_copy(&g->detail_html[k], &len);
        site_add(&g->a, g->detail_route[k], body, len,
                 "text/html; charset=gbk", 0);
        sb_printf(&thumb, "/uploads/thumb/%zu.jpg", 1001 + k);
        site_image(&g->a, thumb.p, 5001 + k, 700, 0);
        free(thumb.p);
    }
    /* Listing 3 lists a detail of listing 1 again. */
    g_listing_item(g, G_LISTINGS - 1, G_K_TWICE);
    for (int l = 0; l < G_LISTINGS; l++) {
        size_t len;
        char *body;

        g_listing_end(g, l);
        body = dual_copy(&g->listing_html[l], &len);
        site_add(&g->a, g->listing_path[l], body, len, "text/html", 0);
    }
    /* Decoys: reachable only through links the expressions must not
     * select (the "hot" box, the footer, thumbnails). */
    for (size_t id = 998; id <= 999; id++) {
        struct dual d = {{0}, {0}};
        char *src = pg_strdupf("/uploads/allimg/%zu.jpg", id);
        char *path = pg_strdupf("/tupian/%zu.html", id);
        size_t len;
        char *body;

        g_detail(&d, 0, src, src);
        body = sb_take(&d.g, &len);
        site_add(&g->a, path, body, len, "text/html; charset=gbk", 0);
        site_image(&g->a, src, id, 3000, 0);
        src = pg_strdupf("/uploads/thumb/%zu.jpg", id);
        site_image(&g->a, src, id + 7000, 700, 0);
        free(d.u.p);
    }
    site_text(&g->a, "/robots.txt", G_ROBOTS, "text/plain");
    g->sa = site_start(t, &g->a);
}

static char *g_listing_url(const struct gallery *g, int l)
{
    return url_at(g->sa, LOOP, g->listing_path[l]);
}

static char *g_detail_url(const struct gallery *g, size_t k)
{
    char *u = url_at(g->sa, LOOP, g->detail_route[k]);
    char *full = pg_strdupf("%s%s", u, g->detail_query[k]);

    free(u);
    return full;
}

static char *g_image_url(const struct gallery *g, size_t k)
{
    return g->image_on_b[k] ? url_at(g->sb, LH, g->image_route[k])
                            : url_at(g->sa, LOOP, g->image_route[k]);
}

static char *g_image_saved(const struct gallery *g, size_t k)
{
    return g->image_on_b[k] ? saved_at(g->sb, LH, g->image_route[k])
                            : saved_at(g->sa, LOOP, g->image_route[k]);
}

/* Convert GBK to UTF-8 with iconv(3); heap result, NULL if invalid. */
static char *gbk_to_utf8(const char *in, size_t len, size_t *outlen)
{
    iconv_t cd = iconv_open("UTF-8", "GBK");
    size_t cap = len * 2 + 16;
    char *out = malloc(cap);
    char *ip = (char *)in;
    char *op = out;
    size_t il = len;
    size_t ol = cap - 1;
    size_t rc;

    if (cd == (iconv_t)-1 || !out) {
        free(out);
        return NULL;
    }
    rc = iconv(cd, &ip, &il, &op, &ol);
    iconv_close(cd);
    if (rc == (size_t)-1 || il) {
        free(out);
        return NULL;
    }
    *op = '\0';
    *outlen = (size_t)(op - out);
    return out;
}

/* The values of an XPath expression on an HTML document parsed the way
 * a browser would (encoding from <meta>), as UTF-8 strings. */
static void xpath_values(struct pg_test *t, const char *html, size_t len,
                         const char *url, const char *expr,
                         struct pg_strlist *out)
{
    htmlDocPtr doc = htmlReadMemory(html, (int)len, url, NULL,
                                    HTML_PARSE_RECOVER | HTML_PARSE_NOERROR |
                                        HTML_PARSE_NOWARNING |
                                        HTML_PARSE_NONET);
    xmlXPathContextPtr ctx;
    xmlXPathObjectPtr res;

    PG_CHECK(t, doc, "libxml2 cannot parse %s", url);
    ctx = xmlXPathNewContext(doc);
    PG_CHECK(t, ctx, "xmlXPathNewContext failed");
    res = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
    PG_CHECK(t, res, "cannot evaluate %s", expr);
    for (int i = 0; res->nodesetval && i < res->nodesetval->nodeNr; i++) {
        xmlChar *v = xmlNodeGetContent(res->nodesetval->nodeTab[i]);

        pg_strlist_add(out, v ? (const char *)v : "");
        xmlFree(v);
    }
    xmlXPathFreeObject(res);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
}

static const char G_FOLLOW[] = "//*[@id=\"main\"]/div[4]/ul/li/a/@href";
static const char G_XPATH[] = "//*[@id=\"img\"]/img/@src";

/* Check one generated page: its GBK bytes convert to its UTF-8 view. */
static void check_dual(struct pg_test *t, const struct dual *d,
                       const char *what)
{
    size_t len = 0;
    char *u = gbk_to_utf8(d->g.p, d->g.len, &len);

    PG_CHECK(t, u, "%s is not valid GBK", what);
    PG_CHECK(t, len == d->u.len && !memcmp(u, d->u.p, len),
             "%s: GBK bytes converted with iconv differ from the UTF-8 "
             "view", what);
    PG_CHECK(t, d->g.len != d->u.len || memcmp(d->g.p, d->u.p, d->u.len),
             "%s holds no Chinese text at all", what);
    free(u);
}

/*
 * Self-test of the gallery fixture (no pagegrab): the GBK table and
 * every page against iconv(3); libxml2 detects the charset from <meta>
 * and the test's two expressions select exactly the hrefs and srcs the
 * tests expect; the server answers the percent-encoded UTF-8 URLs of
 * the Chinese names.
 */
static void test_gallery_fixture(struct pg_test *t)
{
    struct gallery g;
    size_t nimg = 0;

    for (int i = 0; i < ZH_COUNT; i++) {
        size_t len;
        char *u = gbk_to_utf8(ZH[i].gbk, strlen(ZH[i].gbk), &len);

        PG_CHECK(t, u && !strcmp(u, ZH[i].utf8),
                 "GBK bytes of '%s' convert to '%s'", ZH[i].utf8,
                 u ? u : "(invalid GBK)");
        PG_CHECK(t, strcmp(ZH[i].gbk, ZH[i].utf8) != 0,
                 "'%s' has the same bytes in GBK and UTF-8", ZH[i].utf8);
        free(u);
    }
    gallery_make(t, &g);
    for (int l = 0; l < G_LISTINGS; l++) {
        struct pg_strlist v = {0};
        struct pg_strlist title = {0};
        char *url = g_listing_url(&g, l);
        char *what = pg_strdupf("listing %d", l + 1);
        char *got;
        char *exp;

        check_dual(t, &g.listing_html[l], what);
        xpath_values(t, g.listing_html[l].g.p, g.listing_html[l].g.len, url,
                     G_FOLLOW, &v);
        got = pg_strlist_join(&v, " ");
        exp = pg_strlist_join(&g.listing_hrefs[l], " ");
        PG_CHECK(t, !strcmp(got, exp), "%s: the follow expression selects "
                 "[%s], expected [%s]", what, got, exp);
        PG_CHECK_INT(t, v.n, g.listing_links[l], "links of the listing");
        xpath_values(t, g.listing_html[l].g.p, g.listing_html[l].g.len, url,
                     "//title", &title);
        PG_CHECK(t, title.n == 1 && strstr(title.v[0], ZH[ZH_TITLE].utf8),
                 "%s: libxml2 did not decode the GBK title (<meta "
                 "charset> not honoured?)", what);
        pg_strlist_release(&v);
        pg_strlist_release(&title);
        free(got);
        free(exp);
        free(what);
        free(url);
    }
    PG_CHECK_INT(t, g.listing_links[0] + g.listing_links[1] +
                        g.listing_links[2],
                 G_DETAILS + 1, "detail links over all listings");
    for (size_t k = 0; k < G_DETAILS; k++) {
        struct pg_strlist v = {0};
        char *url = g_detail_url(&g, k);
        char *what = pg_strdupf("detail page %s", url);

        check_dual(t, &g.detail_html[k], what);
        xpath_values(t, g.detail_html[k].g.p, g.detail_html[k].g.len, url,
                     G_XPATH, &v);
        PG_CHECK(t, v.n == 1 && !strcmp(v.v[0], g.image_src_u[k]),
                 "%s: the image expression selects %zu values ('%s'), "
                 "expected '%s'", what, v.n, v.n ? v.v[0] : "",
                 g.image_src_u[k]);
        pg_strlist_release(&v);
        /* The follow expression selects nothing on a detail page. */
        xpath_values(t, g.detail_html[k].g.p, g.detail_html[k].g.len, url,
                     G_FOLLOW, &v);
        PG_CHECK_INT(t, v.n, 0, "follow links on a detail page");
        pg_strlist_release(&v);
        nimg++;
        free(what);
        free(url);
    }
    PG_CHECK(t, nimg >= 30, "only %zu images", nimg);
    /* The Chinese names, requested the way a client sends them. */
    {
        const size_t ks[2] = {G_K_ZH_PAGE, G_K_ZH_IMAGE};

        for (int i = 0; i < 2; i++) {
            size_t k = ks[i];
            char *url = i ? g_image_url(&g, k) : g_detail_url(&g, k);
            const char *route = i ? g.image_route[k] : g.detail_route[k];
            const struct pg_test_route *r = site_get(&g.a, route);
            CURL *h = curl_easy_init();
            long code = 0;
            CURLcode rc;

            PG_CHECK(t, h, "curl_easy_init failed");
            for (const char *c = url; *c; c++)
                PG_CHECK(t, (unsigned char)*c < 0x80,
                         "'%s' is not percent-encoded", url);
            curl_easy_setopt(h, CURLOPT_URL, url);
            curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
            curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
            curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, NULL);
            {
                FILE *f = tmpfile();
                long size;

                PG_CHECK(t, f, "tmpfile failed");
                curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
                rc = curl_easy_perform(h);
                curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
                size = ftell(f);
                PG_CHECK(t, rc == CURLE_OK && code == 200 &&
                                 size == (long)r->body_len,
                         "GET %s: curl %d, HTTP %ld, %ld bytes", url,
                         (int)rc, code, size);
                fclose(f);
            }
            curl_easy_cleanup(h);
            check_seen(t, g.sa, LOOP, route, 1, "fixture");
            free(url);
        }
    }
    pg_test_server_stop(g.sa);
    pg_test_server_stop(g.sb);
}

/* ------------------------------------------------------------------ */
/* 1. gallery: --follow + --xpath + --images-only, then --list         */
/* ------------------------------------------------------------------ */

static void test_gallery(struct pg_test *t)
{
    struct gallery g;
    char *urls = pg_path(t, "listing_urls.txt");
    char *out = pg_path(t, "out");
    char *man = pg_path(t, "m.jsonl");
    char *out2 = pg_path(t, "out-list");
    char *man2 = pg_path(t, "m-list.jsonl");
    struct sb lines = {0};
    struct files exp = {0};
    struct pg_strlist want_list = {0};
    struct pg_strlist got_list = {0};
    struct pg_run r;
    struct pg_manifest m;
    char *lurl[G_LISTINGS];
    char *want_s;
    char *got_s;

    gallery_make(t, &g);
    for (int l = 0; l < G_LISTINGS; l++) {
        lurl[l] = g_listing_url(&g, l);
        sb_printf(&lines, "%s\n", lurl[l]);
    }
    pg_write_file(t, urls, lines.p, lines.len);

    crawl(t, &r, out, man, "--follow", G_FOLLOW, "--xpath", G_XPATH,
          "--depth", "1", "--images-only", "-i", urls, END);
    check_run(t, &r, 0, out, "gallery");

    /* Exactly the full-size images, byte-identical. */
    for (size_t k = 0; k < G_DETAILS; k++) {
        char *name = g_image_saved(&g, k);

        files_add(&exp, name, g.image_body[k], g.image_len[k]);
        free(name);
    }
    pg_tree_check(t, out, exp.v, exp.n);

    /* The server: every listing, detail and image once; no thumbnail,
     * no decoy; robots.txt once per host. */
    for (int l = 0; l < G_LISTINGS; l++)
        check_seen(t, g.sa, LOOP, g.listing_path[l], 1, "listing");
    for (size_t k = 0; k < G_DETAILS; k++) {
        char *thumb = pg_strdupf("/uploads/thumb/%zu.jpg", 1001 + k);

        check_seen(t, g.sa, LOOP, g.detail_route[k], 1, "detail page");
        check_seen(t, g.image_on_b[k] ? g.sb : g.sa,
                   g.image_on_b[k] ? LH : LOOP, g.image_route[k], 1,
                   "full-size image");
        check_seen(t, g.sa, "", thumb, 0, "thumbnail");
        free(thumb);
    }
    check_seen(t, g.sa, "", "/tupian/998.html", 0, "footer decoy");
    check_seen(t, g.sa, "", "/tupian/999.html", 0, "hot-box decoy");
    check_seen(t, g.sa, LOOP, "/robots.txt", 1, "robots.txt on A");
    check_seen(t, g.sb, LH, "/robots.txt", 1, "robots.txt on B");
    PG_CHECK_INT(t, pg_test_server_total(g.sa),
                 G_LISTINGS + G_DETAILS + (G_DETAILS - 1) + 1,
                 "requests to server A");
    PG_CHECK_INT(t, pg_test_server_total(g.sb), 2, "requests to server B");

    /*
     * The manifest: listings, details, images. Reading: "links" counts
     * the distinct links the page's expressions found (follow and image
     * links), whether or not they were seen before: 12 per listing, 13
     * on listing 3, 1 on a detail page.
     */
    load_manifest(t, man, &m, G_LISTINGS + 2 * G_DETAILS);
    for (int l = 0; l < G_LISTINGS; l++)
        want_rec(t, &m, &(struct want){
            .url = lurl[l], .status = "ok", .kind = "page", .depth = 0,
            .referrer = WANT_NULL, .path = WANT_NULL,
            .content_type = "text/html", .has_links = 1,
            .links = (long)g.listing_links[l], .line = l + 1});
    for (size_t k = 0; k < G_DETAILS; k++) {
        char *durl = g_detail_url(&g, k);
        char *iurl = g_image_url(&g, k);
        char *saved = g_image_saved(&g, k);
        const struct pg_record *rec;

        /* The detail listed twice may come from either listing. */
        rec = want_rec(t, &m, &(struct want){
            .url = durl, .status = "ok", .kind = "page", .depth = 1,
            .referrer = k == G_K_TWICE ? NULL : lurl[g.listing_of[k]],
            .path = WANT_NULL, .content_type = "text/html; charset=gbk",
            .has_links = 1, .links = 1});
        if (k == G_K_TWICE) {
            const char *ref = pg_record_str(rec, "referrer");

            PG_CHECK(t, pg_str_eq(ref, lurl[0]) ||
                            pg_str_eq(ref, lurl[G_LISTINGS - 1]),
                     "referrer of '%s' is '%s', expected listing 1 or 3",
                     durl, ref ? ref : "null");
        }
        want_rec(t, &m, &(struct want){
            .url = iurl, .status = "ok", .kind = "image", .depth = 1,
            .referrer = durl, .path = saved, .content_type = "image/jpeg",
            .body = g.image_body[k], .len = g.image_len[k]});
        pg_strlist_add(&want_list, iurl);
        free(durl);
        free(iurl);
        free(saved);
    }
    pg_manifest_release(&m);
    pg_run_release(&r);

    /* --list: the same job prints the image URLs and fetches none. */
    pg_test_server_reset(g.sa);
    pg_test_server_reset(g.sb);
    crawl(t, &r, out2, man2, "--follow", G_FOLLOW, "--xpath", G_XPATH,
          "--depth", "1", "--images-only", "-i", urls, "--list", END);
    PG_CHECK(t, r.code == 0, "--list: exit status %d, expected 0", r.code);
    PG_CHECK(t, r.out_len > 0 && r.out[r.out_len - 1] == '\n',
             "--list: stdout must be lines ending in a newline");
    for (char *p = r.out; *p;) {
        char *eol = strchr(p, '\n');

        *eol = '\0';
        pg_strlist_add(&got_list, p);
        p = eol + 1;
    }
    pg_strlist_sort(&got_list);
    pg_strlist_sort(&want_list);
    got_s = pg_strlist_join(&got_list, "\n");
    want_s = pg_strlist_join(&want_list, "\n");
    PG_CHECK(t, !strcmp(got_s, want_s), "--list: stdout (sorted) is\n%s\n"
             "expected\n%s", got_s, want_s);
    pg_tree_check(t, out2, NULL, 0);
    pg_check_no_temp_files(t, out2);
    for (size_t k = 0; k < G_DETAILS; k++) {
        check_seen(t, g.image_on_b[k] ? g.sb : g.sa, "", g.image_route[k],
                   0, "--list: image");
        check_seen(t, g.sa, LOOP, g.detail_route[k], 1, "--list: detail");
    }
    for (int l = 0; l < G_LISTINGS; l++)
        check_seen(t, g.sa, LOOP, g.listing_path[l], 1, "--list: listing");
    /* Deciding what "would be fetched" consults robots.txt (robots
     * tests that disallowed images are not listed). */
    check_seen(t, g.sa, LOOP, "/robots.txt", 1, "--list: robots.txt on A");
    check_seen(t, g.sb, LH, "/robots.txt", 1, "--list: robots.txt on B");
    PG_CHECK_INT(t, pg_test_server_total(g.sa),
                 G_LISTINGS + G_DETAILS + 1, "--list: requests to A");
    PG_CHECK_INT(t, pg_test_server_total(g.sb), 1, "--list: requests to B");
    load_manifest(t, man2, &m, G_LISTINGS + 2 * G_DETAILS);
    PG_CHECK_INT(t, count_status(&m, "listed"), G_DETAILS,
                 "--list: records with status listed");
    for (size_t k = 0; k < G_DETAILS; k++) {
        char *durl = g_detail_url(&g, k);
        char *iurl = g_image_url(&g, k);

        want_rec(t, &m, &(struct want){
            .url = iurl, .status = "listed", .kind = "image", .depth = 1,
            .referrer = durl, .path = WANT_NULL});
        want_rec(t, &m, &(struct want){
            .url = durl, .status = "ok", .kind = "page", .depth = 1,
            .path = WANT_NULL, .has_links = 1, .links = 1});
        free(durl);
        free(iurl);
    }
    pg_manifest_release(&m);
    pg_run_release(&r);
    pg_test_server_stop(g.sa);
    pg_test_server_stop(g.sb);
}

/* ------------------------------------------------------------------ */
/* Shared by the smaller tests                                         */
/* ------------------------------------------------------------------ */

/* Expect, for each path of the list on (srv, host): the saved file
 * (when files is non-NULL) and the request count. */
static void expect_images(struct pg_test *t, struct files *files,
                          const struct site *s, struct pg_test_server *srv,
                          const char *host, const char *const *paths,
                          unsigned long hits, const char *what)
{
    for (size_t i = 0; paths[i]; i++) {
        if (files)
            files_route(files, s, srv, host, paths[i]);
        check_seen(t, srv, host, paths[i], hits, what);
    }
}

/* The image records of a page: ok, kind image, saved, hashed. */
static void want_images(struct pg_test *t, const struct pg_manifest *m,
                        const struct site *s, struct pg_test_server *srv,
                        const char *host, const char *const *paths,
                        long depth, const char *referrer)
{
    for (size_t i = 0; paths[i]; i++) {
        const struct pg_test_route *r = site_get(s, paths[i]);
        char *url = url_at(srv, host, paths[i]);
        char *saved = saved_at(srv, host, paths[i]);

        want_rec(t, m, &(struct want){
            .url = url, .status = "ok", .kind = "image", .depth = depth,
            .referrer = referrer, .path = saved,
            .content_type = r->content_type, .body = r->body,
            .len = r->body_len});
        free(url);
        free(saved);
    }
}

/* The record of a saved page (Reading: "hash" is set for every body
 * that was fetched and saved, pages included). */
static void want_page(struct pg_test *t, const struct pg_manifest *m,
                      const struct site *s, struct pg_test_server *srv,
                      const char *host, const char *path, long depth,
                      const char *referrer, long line)
{
    const struct pg_test_route *r = site_get(s, path);
    char *url = url_at(srv, host, path);
    char *saved = saved_at(srv, host, path);

    want_rec(t, m, &(struct want){
        .url = url, .status = "ok", .kind = "page", .depth = depth,
        .referrer = referrer ? referrer : WANT_NULL, .path = saved,
        .content_type = r->content_type, .line = line, .body = r->body,
        .len = r->body_len});
    free(url);
    free(saved);
}

/* ------------------------------------------------------------------ */
/* 2. images_default: the default image expressions and --srcset       */
/* ------------------------------------------------------------------ */

static void test_images_default(struct pg_test *t)
{
    /* Selected by --images with --srcset largest (the default). */
    static const char *const largest[] = {
        "/img/a.jpg",    "/img/s-1280.jpg", "/img/s-fallback.jpg",
        "/img/p-big.webp", "/img/q-1600.jpg", "/img/p.jpg",
        "/img/lazy.jpg", "/img/orig.png",  "/img/lazy2.gif",
        "/img/d-2.jpg",  "/img/full.png",  NULL,
    };
    /* The smaller srcset candidates: only with --srcset all. */
    static const char *const smaller[] = {
        "/img/s-320.jpg", "/img/s-640.jpg", "/img/p-small.webp",
        "/img/q-800.jpg", "/img/d-1.jpg",   NULL,
    };
    static const char *const favicon[] = {"/favicon.png", NULL};
    static const char *const remote[] = {"/remote.jpg", NULL};
    static const char *const none[] = {NULL};
    /* Linked, but not images: never fetched. */
    static const char *const never[] = {"/other.html", "/doc.pdf", NULL};
    static const char ICON_XPATH[] = "//link[@rel=\"icon\"]/@href";
    struct site a = {0};
    struct site b = {0};
    struct sb html = {0};
    struct pg_test_server *sa;
    struct pg_test_server *sb;
    char *page;
    uint64_t seed = 100;
    struct {
        const char *name;
        const char *opt1;
        const char *opt2;
        const char *const *extra;    /* besides largest */
        int defaults;                /* --images in effect */
    } runs[] = {
        {"--images", "--images", NULL, none, 1},
        {"--srcset all", "--images", "--srcset", smaller, 1},
        {"--images --xpath", "--images", "--xpath", favicon, 1},
        {"--xpath alone", "--xpath", NULL, favicon, 0},
    };

    site_image(&b, "/remote.jpg", seed++, 1500, 0);
    sb = site_start(t, &b);
    for (size_t i = 0; largest[i]; i++)
        site_image(&a, largest[i], seed++, 1000 + 37 * i, 0);
    for (size_t i = 0; smaller[i]; i++)
        site_image(&a, smaller[i], seed++, 900 + 41 * i, 0);
    site_image(&a, "/favicon.png", seed++, 318, 0);
    site_text(&a, "/other.html", "<html><body>other</body></html>\n",
              "text/html");
    site_text(&a, "/doc.pdf", "%PDF-1.4\n", "application/pdf");
    sb_printf(&html,
              "<!DOCTYPE html>\n<html><head><title>images</title>\n"
              "<link rel=\"icon\" href=\"/favicon.png\">\n</head><body>\n"
              "<img src=\"img/a.jpg\" alt=\"a\">\n"
              "<img src=\"/img/a.jpg#zoom\" alt=\"a again\">\n"
              "<img srcset=\"img/s-320.jpg 320w, img/s-1280.jpg 1280w, "
              "img/s-640.jpg 640w\" sizes=\"100vw\" "
              "src=\"img/s-fallback.jpg\">\n"
              "<picture>\n<source type=\"image/webp\" "
              "srcset=\"img/p-small.webp 1x, img/p-big.webp 2x\">\n"
              "<source srcset=\"img/q-800.jpg 800w,img/q-1600.jpg 1600w\">\n"
              "<img src=\"img/p.jpg\" alt=\"p\">\n</picture>\n"
              "<img src=\"data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///"
              "yH5BAEAAAAALAAAAAABAAEAAAIBRAA7\" data-src=\"img/lazy.jpg\">\n"
              "<img class=\"lazy\" data-original=\"img/orig.png\">\n"
              "<img data-lazy-src=\"img/lazy2.gif\">\n"
              "<img data-srcset=\"img/d-1.jpg 100w, img/d-2.jpg 200w\">\n"
              "<p><a href=\"img/full.png\">full size</a>\n"
              "<a href=\"other.html\">next page</a>\n"
              "<a href=\"doc.pdf\">manual</a></p>\n"
              "<img src=\"http://localhost:%u/remote.jpg\">\n"
              "</body></html>\n",
              pg_test_server_port(sb));
    site_page(&a, "/page.html", &html);
    sa = site_start(t, &a);
    page = url_at(sa, LOOP, "/page.html");

    for (size_t k = 0; k < sizeof(runs) / sizeof(runs[0]); k++) {
        char *out = pg_path(t, "out%zu", k);
        char *man = pg_path(t, "m%zu.jsonl", k);
        const char *extra = runs[k].opt2 && !strcmp(runs[k].opt2, "--srcset")
                                ? "all"
                                : ICON_XPATH;
        const char *const *sel = runs[k].defaults ? largest : none;
        const char *const *rem = runs[k].defaults ? remote : none;
        struct files f = {0};
        struct pg_run r;
        struct pg_manifest m;

        pg_test_server_reset(sa);
        pg_test_server_reset(sb);
        if (runs[k].opt2)
            crawl(t, &r, out, man, runs[k].opt1, runs[k].opt2, extra,
                  page, END);
        else if (!runs[k].defaults)
            crawl(t, &r, out, man, runs[k].opt1, ICON_XPATH, page, END);
        else
            crawl(t, &r, out, man, runs[k].opt1, page, END);
        /* Reading: the data: placeholder is skipped without a record
         * and without failing the run. */
        check_run(t, &r, 0, out, runs[k].name);
        files_route(&f, &a, sa, LOOP, "/page.html");
        expect_images(t, &f, &a, sa, LOOP, sel, 1, runs[k].name);
        expect_images(t, &f, &a, sa, LOOP, runs[k].extra, 1, runs[k].name);
        expect_images(t, &f, &b, sb, LH, rem, 1, runs[k].name);
        expect_images(t, NULL, &a, sa, "", never, 0, runs[k].name);
        if (runs[k].extra != smaller)
            expect_images(t, NULL, &a, sa, "", smaller, 0, runs[k].name);
        if (runs[k].extra != favicon)
            expect_images(t, NULL, &a, sa, "", favicon, 0, runs[k].name);
        if (!runs[k].defaults)
            expect_images(t, NULL, &a, sa, "", largest, 0, runs[k].name);
        pg_tree_check(t, out, f.v, f.n);
        load_manifest(t, man, &m, f.n);
        want_page(t, &m, &a, sa, LOOP, "/page.html", 0, NULL, 1);
        want_images(t, &m, &a, sa, LOOP, sel, 0, page);
        want_images(t, &m, &a, sa, LOOP, runs[k].extra, 0, page);
        want_images(t, &m, &b, sb, LH, rem, 0, page);
        pg_manifest_release(&m);
        pg_run_release(&r);
    }
    pg_test_server_stop(sa);
    pg_test_server_stop(sb);
}

/* ------------------------------------------------------------------ */
/* base_href: relative links resolve against <base href>               */
/* ------------------------------------------------------------------ */

static void test_base_href(struct pg_test *t)
{
    static const char *const images[] = {
        "/assets/b.jpg", "/assets/c.png", "/abs.jpg", NULL,
    };
    /* Where the links would point without the <base>. */
    static const char *const wrong[] = {"/dir/b.jpg", "/dir/c.png", NULL};
    static const char PAGE[] =
        "<html><head><base href=\"/assets/\"><title>base</title></head>\n"
        "<body><img src=\"b.jpg\"> <a href=\"c.png\">c</a>\n"
        "<img src=\"/abs.jpg\"></body></html>\n";
    struct site a = {0};
    struct pg_test_server *sa;
    char *out = pg_path(t, "out");
    char *man = pg_path(t, "m.jsonl");
    char *page;
    struct files f = {0};
    struct pg_run r;
    struct pg_manifest m;

    for (size_t i = 0; images[i]; i++)
        site_image(&a, images[i], 300 + i, 1200, 0);
    for (size_t i = 0; wrong[i]; i++)
        site_image(&a, wrong[i], 310 + i, 1300, 0);
    site_text(&a, "/dir/page.html", PAGE, "text/html");
    sa = site_start(t, &a);
    page = url_at(sa, LOOP, "/dir/page.html");

    crawl(t, &r, out, man, "--images", page, END);
    check_run(t, &r, 0, out, "base href");
    files_route(&f, &a, sa, LOOP, "/dir/page.html");
    expect_images(t, &f, &a, sa, LOOP, images, 1, "base href");
    expect_images(t, NULL, &a, sa, "", wrong, 0, "without the base");
    pg_tree_check(t, out, f.v, f.n);
    load_manifest(t, man, &m, 4);
    want_images(t, &m, &a, sa, LOOP, images, 0, page);
    pg_manifest_release(&m);
    pg_run_release(&r);
    pg_test_server_stop(sa);
}

/* ------------------------------------------------------------------ */
/* normalise: spellings of one URL are fetched once                    */
/* ------------------------------------------------------------------ */

/*
 * A UTF-8 page on server B names three images of server A in several
 * spellings each (RFC 3986 6.2.2: percent-encoding case, raw UTF-8
 * against its encoding, dot segments, scheme and host case). Each image
 * must be requested once and get one record, under the normalised URL.
 */
static void test_normalise(struct pg_test *t)
{
    static const char STAR[] = "/n/\xe6\x98\x9f.jpg";   /* /n/星.jpg */
    struct site a = {0};
    struct site b = {0};
    struct sb html = {0};
    struct pg_test_server *sa;
    struct pg_test_server *sb;
    char *page;
    char *out = pg_path(t, "out");
    char *man = pg_path(t, "m.jsonl");
    char *ha;
    struct files f = {0};
    struct pg_run r;
    struct pg_manifest m;
    const char *const star[] = {STAR, NULL};
    const char *const x[] = {"/n/x.jpg", NULL};
    const char *const z[] = {"/n/z.jpg", NULL};

    site_image(&a, STAR, 1100, 2000, 0);
    site_image(&a, "/n/x.jpg", 1101, 2100, 0);
    site_image(&a, "/n/z.jpg", 1102, 2200, 0);
    sa = site_start(t, &a);
    ha = hp(sa, LOOP);
    sb_printf(&html,
              "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
              "<title>normalise</title></head><body>\n"
              "<img src=\"http://%s/n/%%E6%%98%%9F.jpg\">\n"
              "<img src=\"http://%s/n/%%e6%%98%%9f.jpg\">\n"
              "<img src=\"http://%s%s\">\n"
              "<img src=\"http://%s/n/x.jpg\">\n"
              "<img src=\"http://%s/n/./a/../x.jpg\">\n"
              "<img src=\"HTTP://%s/n/x.jpg\">\n"
              "<img src=\"http://LocalHost:%u/n/z.jpg\">\n"
              "<img src=\"http://localhost:%u/n/z.jpg\">\n"
              "</body></html>\n",
              ha, ha, ha, STAR, ha, ha, ha, pg_test_server_port(sa),
              pg_test_server_port(sa));
    site_page(&b, "/page.html", &html);
    sb = site_start(t, &b);
    page = url_at(sb, LOOP, "/page.html");

    crawl(t, &r, out, man, "--images", page, END);
    check_run(t, &r, 0, out, "normalise");
    files_route(&f, &b, sb, LOOP, "/page.html");
    expect_images(t, &f, &a, sa, LOOP, star, 1, "normalise");
    expect_images(t, &f, &a, sa, LOOP, x, 1, "normalise");
    expect_images(t, &f, &a, sa, LH, z, 1, "normalise");
    pg_tree_check(t, out, f.v, f.n);
    load_manifest(t, man, &m, 4);
    want_images(t, &m, &a, sa, LOOP, star, 0, page);
    want_images(t, &m, &a, sa, LOOP, x, 0, page);
    want_images(t, &m, &a, sa, LH, z, 0, page);
    pg_manifest_release(&m);
    pg_run_release(&r);
    pg_test_server_stop(sa);
    pg_test_server_stop(sb);
    free(ha);
}

/* ------------------------------------------------------------------ */
/* 3. depth: p0 -> p1 -> p2 -> p3                                      */
/* ------------------------------------------------------------------ */

#define CHAIN 4

static void test_depth(struct pg_test *t)
{
    /* --depth value (NULL: not given, the default is 1), and the depth
     * it means. */
    static const struct {
        const char *arg;
        int depth;
    } runs[] = {{"0", 0}, {"1", 1}, {"2", 2}, {NULL, 1}};
    struct site a = {0};
    struct pg_test_server *sa;
    char *page[CHAIN];
    char *ppath[CHAIN];
    char *ipath[CHAIN];

    for (int k = 0; k < CHAIN; k++) {
        struct sb html = {0};

        ppath[k] = pg_strdupf("/chain/p%d.html", k);
        ipath[k] = pg_strdupf("/chain/img%d.png", k);
        sb_printf(&html, "<html><head><title>page %d</title></head><body>\n"
                  "<h1>page %d</h1>\n<img src=\"img%d.png\">\n", k, k, k);
        if (k + 1 < CHAIN)
            sb_printf(&html, "<a href=\"p%d.html\">next</a>\n", k + 1);
        sb_printf(&html, "<a href=\"p0.html\">home</a>\n</body></html>\n");
        site_page(&a, ppath[k], &html);
        site_image(&a, ipath[k], 400 + (uint64_t)k, 1500 + 100 * k, 0);
    }
    sa = site_start(t, &a);
    for (int k = 0; k < CHAIN; k++)
        page[k] = url_at(sa, LOOP, ppath[k]);

    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        int d = runs[i].depth;
        char *out = pg_path(t, "out%zu", i);
        char *man = pg_path(t, "m%zu.jsonl", i);
        char *what = pg_strdupf("--depth %s", runs[i].arg ? runs[i].arg
                                                          : "(default)");
        struct files f = {0};
        struct pg_run r;
        struct pg_manifest m;

        pg_test_server_reset(sa);
        if (runs[i].arg)
            crawl(t, &r, out, man, "--follow", "//a/@href", "--images",
                  "--depth", runs[i].arg, page[0], END);
        else
            crawl(t, &r, out, man, "--follow", "//a/@href", "--images",
                  page[0], END);
        check_run(t, &r, 0, out, what);
        for (int k = 0; k < CHAIN; k++) {
            unsigned long want = k <= d ? 1 : 0;

            check_seen(t, sa, LOOP, ppath[k], want, what);
            check_seen(t, sa, LOOP, ipath[k], want, what);
            if (k <= d) {
                files_route(&f, &a, sa, LOOP, ppath[k]);
                files_route(&f, &a, sa, LOOP, ipath[k]);
            }
        }
        pg_tree_check(t, out, f.v, f.n);
        /* Reading: links beyond the depth get no record. */
        load_manifest(t, man, &m, 2 * (size_t)(d + 1));
        for (int k = 0; k <= d; k++) {
            const char *const img[] = {ipath[k], NULL};

            want_page(t, &m, &a, sa, LOOP, ppath[k], k,
                      k ? page[k - 1] : NULL, k ? 0 : 1);
            want_images(t, &m, &a, sa, LOOP, img, k, page[k]);
        }
        pg_manifest_release(&m);
        pg_run_release(&r);
        free(what);
    }
    pg_test_server_stop(sa);
}

/* ------------------------------------------------------------------ */
/* 4. scope: --span-hosts, --domains                                   */
/* ------------------------------------------------------------------ */

/* Which far pages a run follows. */
enum { FAR_NONE = 0, FAR_LOCALHOST = 1, FAR_SUB = 2 };

static void test_scope(struct pg_test *t)
{
    static const char SUB[] = "sub.localhost";
    static const struct {
        const char *opt;
        const char *val;
        int far;
    } runs[] = {
        {NULL, NULL, FAR_NONE},
        {"--span-hosts", NULL, FAR_LOCALHOST | FAR_SUB},
        {"--domains", "localhost", FAR_LOCALHOST | FAR_SUB},
        {"--domains", "example.org,localhost", FAR_LOCALHOST | FAR_SUB},
        {"--domains", "sub.localhost", FAR_SUB},
        {"--domains", "calhost", FAR_NONE},
    };
    struct site a = {0};
    struct site b = {0};
    struct sb html = {0};
    struct pg_test_server *sa;
    struct pg_test_server *sb;
    char *start;
    char *near;
    char *far;
    char *subp;

    site_text(&b, "/far/page.html", "<html><body><img src=\"/far/img.jpg\">"
              "</body></html>\n", "text/html");
    site_text(&b, "/far/sub.html", "<html><body><img src=\"subimg.jpg\">"
              "</body></html>\n", "text/html");
    site_image(&b, "/far/img.jpg", 500, 2100, 0);
    site_image(&b, "/far/subimg.jpg", 501, 2200, 0);
    site_image(&b, "/far/direct.jpg", 502, 2300, 0);
    sb = site_start(t, &b);
    sb_printf(&html, "<html><body>\n<a href=\"/scope/near.html\">near</a>\n"
              "<a href=\"http://localhost:%u/far/page.html\">far</a>\n"
              "<a href=\"http://sub.localhost:%u/far/sub.html\">sub</a>\n"
              "<img src=\"http://localhost:%u/far/direct.jpg\">\n"
              "</body></html>\n", pg_test_server_port(sb),
              pg_test_server_port(sb), pg_test_server_port(sb));
    site_page(&a, "/scope/start.html", &html);
    site_text(&a, "/scope/near.html", "<html><body><img src=\"near.jpg\">"
              "</body></html>\n", "text/html");
    site_image(&a, "/scope/near.jpg", 503, 2400, 0);
    sa = site_start(t, &a);
    start = url_at(sa, LOOP, "/scope/start.html");
    near = url_at(sa, LOOP, "/scope/near.html");
    far = url_at(sb, LH, "/far/page.html");
    subp = url_at(sb, SUB, "/far/sub.html");

    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        int fl = runs[i].far & FAR_LOCALHOST;
        int fs = runs[i].far & FAR_SUB;
        char *out = pg_path(t, "out%zu", i);
        char *man = pg_path(t, "m%zu.jsonl", i);
        char *what = pg_strdupf("%s %s", runs[i].opt ? runs[i].opt
                                                     : "(default)",
                                runs[i].val ? runs[i].val : "");
        const char *const direct[] = {"/far/direct.jpg", NULL};
        const char *const nearimg[] = {"/scope/near.jpg", NULL};
        const char *const farimg[] = {"/far/img.jpg", NULL};
        const char *const subimg[] = {"/far/subimg.jpg", NULL};
        struct files f = {0};
        struct pg_run r;
        struct pg_manifest m;
        size_t nrec = 4;

        pg_test_server_reset(sa);
        pg_test_server_reset(sb);
        if (runs[i].val)
            crawl(t, &r, out, man, "--follow", "//a/@href", "--images",
                  runs[i].opt, runs[i].val, start, END);
        else if (runs[i].opt)
            crawl(t, &r, out, man, "--follow", "//a/@href", "--images",
                  runs[i].opt, start, END);
        else
            crawl(t, &r, out, man, "--follow", "//a/@href", "--images",
                  start, END);
        check_run(t, &r, 0, out, what);
        files_route(&f, &a, sa, LOOP, "/scope/start.html");
        files_route(&f, &a, sa, LOOP, "/scope/near.html");
        check_seen(t, sa, LOOP, "/scope/near.html", 1, what);
        expect_images(t, &f, &a, sa, LOOP, nearimg, 1, what);
        /* Images may be on any host. */
        expect_images(t, &f, &b, sb, LH, direct, 1, what);
        check_seen(t, sb, LH, "/far/page.html", fl ? 1 : 0, what);
        check_seen(t, sb, SUB, "/far/sub.html", fs ? 1 : 0, what);
        check_seen(t, sb, "", "/far/page.html", fl ? 1 : 0, what);
        check_seen(t, sb, "", "/far/sub.html", fs ? 1 : 0, what);
        expect_images(t, fl ? &f : NULL, &b, sb, LH, farimg, fl ? 1 : 0,
                      what);
        expect_images(t, fs ? &f : NULL, &b, sb, SUB, subimg, fs ? 1 : 0,
                      what);
        if (fl)
            files_route(&f, &b, sb, LH, "/far/page.html");
        if (fs)
            files_route(&f, &b, sb, SUB, "/far/sub.html");
        pg_tree_check(t, out, f.v, f.n);

        pg_manifest_must_load(t, man, &m);
        nrec += fl ? 2 : 0;
        nrec += fs ? 2 : 0;
        /* Reading: a link out of scope gets no record, or one that is
         * not "ok" and has no path. */
        if (!fl) {
            const struct pg_record *x = pg_manifest_find(&m, far);

            PG_CHECK(t, !x || (!pg_str_eq(pg_record_str(x, "status"), "ok")
                               && pg_record_is_null(x, "path")),
                     "%s: out-of-scope '%s' has an ok record", what, far);
            nrec += x ? 1 : 0;
        }
        if (!fs) {
            const struct pg_record *x = pg_manifest_find(&m, subp);

            PG_CHECK(t, !x || (!pg_str_eq(pg_record_str(x, "status"), "ok")
                               && pg_record_is_null(x, "path")),
                     "%s: out-of-scope '%s' has an ok record", what, subp);
            nrec += x ? 1 : 0;
        }
        pg_manifest_release(&m);
        load_manifest(t, man, &m, nrec);
        want_page(t, &m, &a, sa, LOOP, "/scope/start.html", 0, NULL, 1);
        want_page(t, &m, &a, sa, LOOP, "/scope/near.html", 1, start, 0);
        want_images(t, &m, &a, sa, LOOP, nearimg, 1, near);
        want_images(t, &m, &b, sb, LH, direct, 0, start);
        if (fl) {
            want_page(t, &m, &b, sb, LH, "/far/page.html", 1, start, 0);
            want_images(t, &m, &b, sb, LH, farimg, 1, far);
        }
        if (fs) {
            want_page(t, &m, &b, sb, SUB, "/far/sub.html", 1, start, 0);
            want_images(t, &m, &b, sb, SUB, subimg, 1, subp);
        }
        pg_manifest_release(&m);
        pg_run_release(&r);
        free(what);
    }
    pg_test_server_stop(sa);
    pg_test_server_stop(sb);
}

/* ------------------------------------------------------------------ */
/* 5. accept_reject: --accept / --reject (pcre2)                       */
/* ------------------------------------------------------------------ */

/* A record of something that was filtered and never requested. */
static void want_filtered(struct pg_test *t, const struct pg_manifest *m,
                          struct pg_test_server *srv, const char *path,
                          const char *kind, long depth,
                          const char *referrer, const char *what)
{
    char *url = url_at(srv, LOOP, path);

    want_rec(t, m, &(struct want){
        .url = url, .status = "filtered", .kind = kind, .depth = depth,
        .referrer = referrer, .path = WANT_NULL});
    check_seen(t, srv, "", path, 0, what);
    free(url);
}

static void test_accept_reject(struct pg_test *t)
{
    static const char ACCEPT[] = "\\.(jpe?g|png)$";
    static const char *const kept[] = {
        "/ar/img/a.jpg", "/ar/img/b.jpeg", "/ar/img/c.png", NULL,
    };
    /* Not accepted (d.gif; g.jpg has a query after ".jpg") or rejected
     * (/thumb/). */
    static const char *const dropped[] = {
        "/ar/img/d.gif", "/ar/thumb/e.jpg", "/ar/img/g.jpg", NULL,
    };
    static const char INDEX[] =
        "<html><body>\n<img src=\"img/a.jpg\"> <img src=\"img/b.jpeg\">\n"
        "<img src=\"img/c.png\"> <img src=\"img/d.gif\">\n"
        "<img src=\"thumb/e.jpg\"> <img src=\"img/g.jpg?size=large\">\n"
        "<a href=\"next.html\">next</a> <a href=\"skip/page.html\">skip</a>\n"
        "</body></html>\n";
    static const char NEXT[] =
        "<html><body><img src=\"img/n.png\"><img src=\"thumb/n2.png\">"
        "</body></html>\n";
    static const char SKIP[] =
        "<html><body><img src=\"../img/s.jpg\"></body></html>\n";
    struct site a = {0};
    struct pg_test_server *sa;
    char *index;
    char *next;
    char *out = pg_path(t, "out1");
    char *man = pg_path(t, "m1.jsonl");
    struct files f = {0};
    struct pg_run r;
    struct pg_manifest m;
    const char *const nimg[] = {"/ar/img/n.png", NULL};
    char *g_url;

    site_text(&a, "/ar/index.html", INDEX, "text/html");
    site_text(&a, "/ar/next.html", NEXT, "text/html");
    site_text(&a, "/ar/skip/page.html", SKIP, "text/html");
    for (size_t i = 0; kept[i]; i++)
        site_image(&a, kept[i], 600 + i, 1700 + i, 0);
    for (size_t i = 0; dropped[i]; i++)
        site_image(&a, dropped[i], 610 + i, 1800 + i, 0);
    site_image(&a, "/ar/img/n.png", 620, 1900, 0);
    site_image(&a, "/ar/thumb/n2.png", 621, 1901, 0);
    site_image(&a, "/ar/img/s.jpg", 622, 1902, 0);
    sa = site_start(t, &a);
    index = url_at(sa, LOOP, "/ar/index.html");
    next = url_at(sa, LOOP, "/ar/next.html");
    g_url = pg_strdupf("%s?size=large", url_at(sa, LOOP, "/ar/img/g.jpg"));

    /* Images only: the page itself is never filtered. Reading: filtered
     * records do not make the run fail (exit 0). */
    crawl(t, &r, out, man, "--images", "--accept", ACCEPT, "--reject",
          "/thumb/", index, END);
    check_run(t, &r, 0, out, "accept/reject");
    files_route(&f, &a, sa, LOOP, "/ar/index.html");
    expect_images(t, &f, &a, sa, LOOP, kept, 1, "accepted");
    expect_images(t, NULL, &a, sa, "", dropped, 0, "filtered");
    pg_tree_check(t, out, f.v, f.n);
    load_manifest(t, man, &m, 7);
    want_images(t, &m, &a, sa, LOOP, kept, 0, index);
    want_filtered(t, &m, sa, "/ar/img/d.gif", "image", 0, index, "d.gif");
    want_filtered(t, &m, sa, "/ar/thumb/e.jpg", "image", 0, index, "e.jpg");
    want_rec(t, &m, &(struct want){
        .url = g_url, .status = "filtered", .kind = "image", .depth = 0,
        .referrer = index, .path = WANT_NULL});
    PG_CHECK_INT(t, count_status(&m, "filtered"), 3, "filtered records");
    PG_CHECK_INT(t, pg_test_server_total(sa), 5,
                 "requests (page, robots.txt, 3 images)");
    pg_manifest_release(&m);
    pg_run_release(&r);

    /* With --follow: --reject (repeatable) also filters followed pages;
     * --accept applies to images only, so next.html is followed. */
    pg_test_server_reset(sa);
    out = pg_path(t, "out2");
    man = pg_path(t, "m2.jsonl");
    memset(&f, 0, sizeof(f));
    crawl(t, &r, out, man, "--images", "--follow", "//a/@href", "--accept",
          ACCEPT, "--reject", "/thumb/", "--reject", "/skip/", index, END);
    check_run(t, &r, 0, out, "accept/reject with --follow");
    files_route(&f, &a, sa, LOOP, "/ar/index.html");
    files_route(&f, &a, sa, LOOP, "/ar/next.html");
    expect_images(t, &f, &a, sa, LOOP, kept, 1, "accepted");
    expect_images(t, &f, &a, sa, LOOP, nimg, 1, "accepted on next.html");
    expect_images(t, NULL, &a, sa, "", dropped, 0, "filtered");
    check_seen(t, sa, "", "/ar/img/s.jpg", 0, "image of a rejected page");
    pg_tree_check(t, out, f.v, f.n);
    load_manifest(t, man, &m, 11);
    want_page(t, &m, &a, sa, LOOP, "/ar/next.html", 1, index, 0);
    want_images(t, &m, &a, sa, LOOP, nimg, 1, next);
    want_filtered(t, &m, sa, "/ar/skip/page.html", "page", 1, index,
                  "rejected page");
    want_filtered(t, &m, sa, "/ar/thumb/n2.png", "image", 1, next,
                  "n2.png");
    PG_CHECK_INT(t, count_status(&m, "filtered"), 5, "filtered records");
    pg_manifest_release(&m);
    pg_run_release(&r);

    /* Invalid patterns: usage errors with pcre2's message and offset,
     * before anything is fetched. */
    pg_test_server_reset(sa);
    out = pg_path(t, "out3");
    man = pg_path(t, "m3.jsonl");
    crawl(t, &r, out, man, "--images", "--accept", "(", index, END);
    PG_CHECK(t, r.code == 2, "--accept '(': exit status %d, expected 2",
             r.code);
    check_regex_error(t, r.err, "(", "missing closing parenthesis", 1);
    pg_run_release(&r);
    crawl(t, &r, out, man, "--images", "--reject", "img/(jpe?g", index,
          END);
    PG_CHECK(t, r.code == 2, "--reject 'img/(jpe?g': exit status %d, "
             "expected 2", r.code);
    check_regex_error(t, r.err, "img/(jpe?g", "missing closing parenthesis",
                      10);
    PG_CHECK_INT(t, r.out_len, 0, "stdout bytes");
    PG_CHECK_INT(t, pg_test_server_total(sa), 0,
                 "requests after invalid patterns");
    pg_run_release(&r);
    pg_test_server_stop(sa);
}

/* ------------------------------------------------------------------ */
/* 6. naming: --name 'REGEX=TEMPLATE'                                  */
/* ------------------------------------------------------------------ */

/* The manifest path of url (which must be "ok"). */
static const char *path_of(struct pg_test *t, const struct pg_manifest *m,
                           const char *url)
{
    const struct pg_record *r = pg_manifest_find(m, url);

    PG_CHECK(t, r, "no manifest record for '%s'", url);
    PG_CHECK(t, pg_str_eq(pg_record_str(r, "status"), "ok"),
             "'%s' has status '%s', expected ok", url,
             pg_record_str(r, "status"));
    PG_CHECK(t, pg_record_str(r, "path"), "'%s' has no path", url);
    return pg_record_str(r, "path");
}

/* A relative path without "..", "." or empty segments. */
static int path_is_inside(const char *p)
{
    if (!p || !*p || *p == '/')
        return 0;
    while (*p) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);

        if (!len || (len == 1 && p[0] == '.') ||
            (len == 2 && p[0] == '.' && p[1] == '.'))
            return 0;
        if (!end)
            break;
        p = end + 1;
    }
    return 1;
}

static void test_naming(struct pg_test *t)
{
    static const char PAGE[] =
        "<html><body>\n<img src=\"/gallery/photo1.jpg\">\n"
        "<img src=\"/gallery/sub/photo2.jpg\">\n<img src=\"/pics/pic.png\">\n"
        "</body></html>\n";
    static const char EVIL[] =
        "<html><body>\n<img src=\"evil1.jpg\"> <img src=\"evil2.jpg\">\n"
        "<img src=\"evil3.jpg\"></body></html>\n";
    static const char *const paths[] = {
        "/site/index.html", "/gallery/photo1.jpg", "/gallery/sub/photo2.jpg",
        "/pics/pic.png",
    };
    static const char *const evil[] = {
        "/t/evil1.jpg", "/t/evil2.jpg", "/t/evil3.jpg",
    };
    struct site a = {0};
    struct pg_test_server *sa;
    char *page;
    char *epage;
    char *hash;
    const struct pg_test_route *png;
    /* Per run: the rules and the expected name of each of paths[]
     * (NULL: the default layout). */
    struct {
        const char *rules[4];
        const char *names[4];
    } runs[] = {
        {{"/([^/]+)\\.jpg$=img-$1.jpeg", NULL},
         {NULL, "img-photo1.jpeg", "img-photo2.jpeg", NULL}},
        {{"127\\.0\\.0\\.(\\d+):\\d+/(.*)$=host$1/$2", NULL},
         {"host1/site/index.html", "host1/gallery/photo1.jpg",
          "host1/gallery/sub/photo2.jpg", "host1/pics/pic.png"}},
        /* The first matching rule wins: photo2 matches the 2nd and 3rd. */
        {{"\\.png$=by-hash/{hash}.{ext}", "/gallery/sub/=sub/{basename}.{ext}",
          "(?<stem>photo)(\\d)\\.jpg$=${stem}_${2}.jpg",
          "index\\.html$=pages/{path}"},
         {"pages/site/index.html", "photo_1.jpg", "sub/photo2.jpg", NULL}},
    };

    site_text(&a, "/site/index.html", PAGE, "text/html");
    site_image(&a, "/gallery/photo1.jpg", 700, 2500, 0);
    site_image(&a, "/gallery/sub/photo2.jpg", 701, 2600, 0);
    site_image(&a, "/pics/pic.png", 702, 2700, 0);
    site_text(&a, "/t/index.html", EVIL, "text/html");
    for (size_t i = 0; i < 3; i++)
        site_image(&a, evil[i], 710 + i, 1000 + i, 0);
    sa = site_start(t, &a);
    page = url_at(sa, LOOP, "/site/index.html");
    epage = url_at(sa, LOOP, "/t/index.html");
    png = site_get(&a, "/pics/pic.png");
    hash = pg_sha256_hex(png->body, png->body_len);
    hash[16] = '\0';
    runs[2].names[3] = pg_strdupf("by-hash/%s.png", hash);

    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        struct args x = {{0}, 0};
        char *out = pg_path(t, "out%zu", i);
        char *man = pg_path(t, "m%zu.jsonl", i);
        char *what = pg_strdupf("--name '%s'", runs[i].rules[0]);
        struct files f = {0};
        struct pg_run r;
        struct pg_manifest m;

        args_push(&x, "--mode", t->mode, "-o", out, "--manifest", man,
                  "--images", END);
        for (size_t k = 0; k < 4 && runs[i].rules[k]; k++)
            args_push(&x, "--name", runs[i].rules[k], END);
        args_push(&x, page, END);
        pg_test_server_reset(sa);
        pg_run(t, &r, NULL, 120, x.v);
        check_run(t, &r, 0, out, what);
        load_manifest(t, man, &m, 4);
        for (size_t k = 0; k < 4; k++) {
            const struct pg_test_route *rt = site_get(&a, paths[k]);
            char *url = url_at(sa, LOOP, paths[k]);
            char *def = saved_at(sa, LOOP, paths[k]);
            const char *name = runs[i].names[k] ? runs[i].names[k] : def;

            want_rec(t, &m, &(struct want){
                .url = url, .status = "ok", .kind = k ? "image" : "page",
                .depth = 0, .path = name, .body = rt->body,
                .len = rt->body_len});
            files_add(&f, name, rt->body, rt->body_len);
            free(url);
            free(def);
        }
        pg_tree_check(t, out, f.v, f.n);
        pg_manifest_release(&m);
        pg_run_release(&r);
        free(what);
    }

    /*
     * Templates that try to leave the output directory: "../x.jpg" would
     * land in the test's dir, "a/../../../NAME" beside it (NAME is made
     * unique with the test dir's name, so a stale file cannot matter),
     * and the absolute template points into the test's dir.
     */
    {
        char *out = pg_path(t, "evil-out");
        char *man = pg_path(t, "evil.jsonl");
        const char *base = strrchr(t->dir, '/') + 1;
        char *up = pg_path(t, "../escaped-%s.jpg", base);
        char *rule2 = pg_strdupf("evil2\\.jpg$=a/../../../escaped-%s.jpg",
                                 base);
        char *rule3 = pg_strdupf("evil3\\.jpg$=%s/abs/z.jpg", t->dir);
        struct pg_strlist all = {0};
        struct pg_strlist in_out = {0};
        struct pg_run r;
        struct pg_manifest m;

        PG_CHECK(t, access(up, F_OK) != 0, "'%s' exists already", up);
        crawl(t, &r, out, man, "--images", "--name",
              "evil1\\.jpg$=../x.jpg", "--name", rule2, "--name", rule3,
              epage, END);
        /* First, so that nothing is left behind outside the test dir. */
        if (access(up, F_OK) == 0) {
            unlink(up);
            pg_test_fail(t, "a template wrote '%s'", up);
        }
        check_run(t, &r, 0, out, "traversal templates");
        load_manifest(t, man, &m, 4);
        for (size_t k = 0; k < 3; k++) {
            const struct pg_test_route *rt = site_get(&a, evil[k]);
            char *url = url_at(sa, LOOP, evil[k]);
            const char *p = path_of(t, &m, url);
            char *full = pg_strdupf("%s/%s", out, p);
            size_t len;
            char *data = pg_read_file(full, &len);

            PG_CHECK(t, path_is_inside(p), "'%s' was saved as '%s', "
                     "outside the output directory", url, p);
            PG_CHECK(t, data && len == rt->body_len &&
                             !memcmp(data, rt->body, len),
                     "'%s' does not hold the body of '%s'", full, url);
            free(data);
            free(full);
            free(url);
        }
        PG_CHECK(t, pg_tree_list(out, &in_out) == 0, "cannot list %s", out);
        PG_CHECK_INT(t, in_out.n, 4, "files in the output directory");
        /* Nothing named by the templates exists outside it. */
        PG_CHECK(t, pg_tree_list(t->dir, &all) == 0, "cannot list %s",
                 t->dir);
        for (size_t i = 0; i < all.n; i++) {
            PG_CHECK(t, pg_str_has_prefix(all.v[i], "out") ||
                            pg_str_has_prefix(all.v[i], "evil-out/") ||
                            pg_str_has_suffix(all.v[i], ".jsonl") ||
                            pg_str_has_prefix(all.v[i], "run"),
                     "a file was written outside the output directory: "
                     "'%s/%s'", t->dir, all.v[i]);
        }
        free(up);
        free(rule2);
        free(rule3);
        pg_strlist_release(&all);
        pg_strlist_release(&in_out);
        pg_manifest_release(&m);
        pg_run_release(&r);
    }
    pg_test_server_stop(sa);
}

/* ------------------------------------------------------------------ */
/* 7. robots: robots.txt for discovered URLs, not for input URLs       */
/* ------------------------------------------------------------------ */

static void test_robots(struct pg_test *t)
{
    /* The group for another robot must not apply to pagegrab. */
    static const char ROBOTS[] =
        "# test robots.txt\n"
        "User-agent: otherbot\nDisallow: /public/\n\n"
        "User-agent: *\nDisallow: /private/\n";
    static const char INPUT_PAGE[] =
        "<html><body><img src=\"/public/from-private.jpg\">\n"
        "<img src=\"/private/from-private.jpg\"></body></html>\n";
    static const char PUBLIC_PAGE[] =
        "<html><body><img src=\"p2.jpg\"> <img src=\"/private/p3.jpg\">"
        "</body></html>\n";
    static const char PRIVATE_PAGE[] =
        "<html><body><img src=\"p4.jpg\"></body></html>\n";
    /* Fetched either way (input URLs, or allowed). */
    static const char *const allowed[] = {
        "/public/ok.jpg", "/public/p2.jpg", "/public/from-private.jpg",
        NULL,
    };
    /* Discovered and disallowed: status "robots" by default. */
    static const char *const disallowed[] = {
        "/private/secret.jpg", "/private/p3.jpg",
        "/private/from-private.jpg", NULL,
    };
    static const char *const b_allowed[] = {"/public/l1.jpg", NULL};
    static const char *const b_disallowed[] = {"/private/l2.jpg", NULL};
    static const char *const p4[] = {"/private/p4.jpg", NULL};
    struct site a = {0};
    struct site b = {0};
    struct sb html = {0};
    struct pg_test_server *sa;
    struct pg_test_server *sb;
    char *index;
    char *input_page;
    char *public_page;
    char *private_page;
    char *urls = pg_path(t, "urls.txt");
    struct sb lines = {0};
    uint64_t seed = 800;

    for (size_t i = 0; b_allowed[i]; i++)
        site_image(&b, b_allowed[i], seed++, 1400, 0);
    for (size_t i = 0; b_disallowed[i]; i++)
        site_image(&b, b_disallowed[i], seed++, 1450, 0);
    site_text(&b, "/robots.txt", ROBOTS, "text/plain");
    sb = site_start(t, &b);
    sb_printf(&html,
              "<html><body>\n<img src=\"/private/secret.jpg\">\n"
              "<img src=\"/public/ok.jpg\">\n"
              "<a href=\"/private/page.html\">private</a>\n"
              "<a href=\"/public/page.html\">public</a>\n"
              "<img src=\"http://localhost:%u/private/l2.jpg\">\n"
              "<img src=\"http://localhost:%u/public/l1.jpg\">\n"
              "</body></html>\n",
              pg_test_server_port(sb), pg_test_server_port(sb));
    site_page(&a, "/index.html", &html);
    site_text(&a, "/private/input.html", INPUT_PAGE, "text/html");
    site_text(&a, "/public/page.html", PUBLIC_PAGE, "text/html");
    site_text(&a, "/private/page.html", PRIVATE_PAGE, "text/html");
    site_image(&a, "/private/direct.jpg", seed++, 1500, 0);
    for (size_t i = 0; allowed[i]; i++)
        site_image(&a, allowed[i], seed++, 1600 + i, 0);
    for (size_t i = 0; disallowed[i]; i++)
        site_image(&a, disallowed[i], seed++, 1650 + i, 0);
    site_image(&a, "/private/p4.jpg", seed++, 1700, 0);
    site_text(&a, "/robots.txt", ROBOTS, "text/plain");
    sa = site_start(t, &a);
    index = url_at(sa, LOOP, "/index.html");
    input_page = url_at(sa, LOOP, "/private/input.html");
    public_page = url_at(sa, LOOP, "/public/page.html");
    private_page = url_at(sa, LOOP, "/private/page.html");
    sb_printf(&lines, "%s\n%s\n%s\n", index,
              url_at(sa, LOOP, "/private/direct.jpg"), input_page);
    pg_write_file(t, urls, lines.p, lines.len);

    for (int no_robots = 0; no_robots <= 1; no_robots++) {
        const char *what = no_robots ? "--no-robots" : "robots.txt";
        char *out = pg_path(t, "out%d", no_robots);
        char *man = pg_path(t, "m%d.jsonl", no_robots);
        unsigned long want = no_robots ? 1 : 0;
        struct files f = {0};
        struct pg_run r;
        struct pg_manifest m;
        const struct pg_test_route *direct;
        char *direct_url = url_at(sa, LOOP, "/private/direct.jpg");

        pg_test_server_reset(sa);
        pg_test_server_reset(sb);
        if (no_robots)
            crawl(t, &r, out, man, "--images", "--follow", "//a/@href",
                  "--no-robots", "-i", urls, END);
        else
            crawl(t, &r, out, man, "--images", "--follow", "//a/@href",
                  "-i", urls, END);
        /* Reading: "robots" records do not make the run fail. */
        check_run(t, &r, 0, out, what);
        files_route(&f, &a, sa, LOOP, "/index.html");
        files_route(&f, &a, sa, LOOP, "/private/direct.jpg");
        files_route(&f, &a, sa, LOOP, "/private/input.html");
        files_route(&f, &a, sa, LOOP, "/public/page.html");
        expect_images(t, &f, &a, sa, LOOP, allowed, 1, what);
        expect_images(t, &f, &b, sb, LH, b_allowed, 1, what);
        expect_images(t, no_robots ? &f : NULL, &a, sa, LOOP, disallowed,
                      want, what);
        expect_images(t, no_robots ? &f : NULL, &b, sb, LH, b_disallowed,
                      want, what);
        expect_images(t, no_robots ? &f : NULL, &a, sa, LOOP, p4, want,
                      what);
        if (no_robots)
            files_route(&f, &a, sa, LOOP, "/private/page.html");
        check_seen(t, sa, LOOP, "/private/page.html", want, what);
        check_seen(t, sa, LOOP, "/private/direct.jpg", 1, what);
        check_seen(t, sa, LOOP, "/private/input.html", 1, what);
        /* Once per host, and not at all with --no-robots. */
        check_seen(t, sa, LOOP, "/robots.txt", 1 - want, what);
        check_seen(t, sb, LH, "/robots.txt", 1 - want, what);
        check_seen(t, sa, "", "/robots.txt", 1 - want, what);
        check_seen(t, sb, "", "/robots.txt", 1 - want, what);
        pg_tree_check(t, out, f.v, f.n);

        load_manifest(t, man, &m, no_robots ? 14 : 13);
        direct = site_get(&a, "/private/direct.jpg");
        want_page(t, &m, &a, sa, LOOP, "/index.html", 0, NULL, 1);
        want_page(t, &m, &a, sa, LOOP, "/private/input.html", 0, NULL, 3);
        /* An image given as input: kind page (not HTML, just saved). */
        want_rec(t, &m, &(struct want){
            .url = direct_url, .status = "ok", .kind = "page", .depth = 0,
            .referrer = WANT_NULL, .line = 2, .body = direct->body,
            .len = direct->body_len});
        want_page(t, &m, &a, sa, LOOP, "/public/page.html", 1, index, 0);
        {
            const char *const ok_img[] = {"/public/ok.jpg", NULL};
            const char *const p2[] = {"/public/p2.jpg", NULL};
            const char *const fp[] = {"/public/from-private.jpg", NULL};

            want_images(t, &m, &a, sa, LOOP, ok_img, 0, index);
            want_images(t, &m, &a, sa, LOOP, p2, 1, public_page);
            want_images(t, &m, &a, sa, LOOP, fp, 0, input_page);
            want_images(t, &m, &b, sb, LH, b_allowed, 0, index);
        }
        if (no_robots) {
            const char *const s1[] = {"/private/secret.jpg", NULL};
            const char *const s3[] = {"/private/p3.jpg", NULL};
            const char *const s5[] = {"/private/from-private.jpg", NULL};

            want_page(t, &m, &a, sa, LOOP, "/private/page.html", 1, index,
                      0);
            want_images(t, &m, &a, sa, LOOP, s1, 0, index);
            want_images(t, &m, &a, sa, LOOP, s3, 1, public_page);
            want_images(t, &m, &a, sa, LOOP, s5, 0, input_page);
            want_images(t, &m, &a, sa, LOOP, p4, 1, private_page);
            want_images(t, &m, &b, sb, LH, b_disallowed, 0, index);
            PG_CHECK_INT(t, count_status(&m, "robots"), 0,
                         "--no-robots: records with status robots");
        } else {
            static const struct {
                const char *path;
                const char *kind;
                long depth;
                int ref;     /* 0 index, 1 public page, 2 input page */
            } rb[] = {
                {"/private/secret.jpg", "image", 0, 0},
                {"/private/page.html", "page", 1, 0},
                {"/private/p3.jpg", "image", 1, 1},
                {"/private/from-private.jpg", "image", 0, 2},
            };
            const char *refs[3] = {index, public_page, input_page};
            char *l2 = url_at(sb, LH, "/private/l2.jpg");

            for (size_t i = 0; i < sizeof(rb) / sizeof(rb[0]); i++) {
                char *url = url_at(sa, LOOP, rb[i].path);

                want_rec(t, &m, &(struct want){
                    .url = url, .status = "robots", .kind = rb[i].kind,
                    .depth = rb[i].depth, .referrer = refs[rb[i].ref],
                    .path = WANT_NULL});
                free(url);
            }
            want_rec(t, &m, &(struct want){
                .url = l2, .status = "robots", .kind = "image", .depth = 0,
                .referrer = index, .path = WANT_NULL});
            PG_CHECK_INT(t, count_status(&m, "robots"), 5,
                         "records with status robots");
            free(l2);
        }
        pg_manifest_release(&m);
        pg_run_release(&r);
        free(direct_url);
    }

    /* --list prints what would be fetched: disallowed images are not
     * printed (status "robots"), allowed ones are (status "listed"). */
    {
        char *urls2 = pg_path(t, "urls2.txt");
        char *out = pg_path(t, "out-list");
        char *man = pg_path(t, "m-list.jsonl");
        struct pg_strlist got = {0};
        struct pg_strlist want = {0};
        struct pg_run r;
        struct pg_manifest m;
        char *got_s;
        char *want_s;
        struct sb lines2 = {0};

        sb_printf(&lines2, "%s\n%s\n", index, input_page);
        pg_write_file(t, urls2, lines2.p, lines2.len);
        pg_test_server_reset(sa);
        pg_test_server_reset(sb);
        crawl(t, &r, out, man, "--images", "--follow", "//a/@href",
              "--list", "-i", urls2, END);
        PG_CHECK(t, r.code == 0, "--list: exit status %d, expected 0",
                 r.code);
        for (char *p = r.out; p && *p;) {
            char *eol = strchr(p, '\n');

            PG_CHECK(t, eol, "--list: stdout must end with a newline");
            *eol = '\0';
            pg_strlist_add(&got, p);
            p = eol + 1;
        }
        for (size_t i = 0; allowed[i]; i++)
            pg_strlist_add(&want, url_at(sa, LOOP, allowed[i]));
        pg_strlist_add(&want, url_at(sb, LH, b_allowed[0]));
        pg_strlist_sort(&got);
        pg_strlist_sort(&want);
        got_s = pg_strlist_join(&got, "\n");
        want_s = pg_strlist_join(&want, "\n");
        PG_CHECK(t, !strcmp(got_s, want_s), "--list with robots.txt: "
                 "stdout (sorted) is\n%s\nexpected\n%s", got_s, want_s);
        pg_tree_check(t, out, NULL, 0);
        expect_images(t, NULL, &a, sa, "", allowed, 0, "--list");
        expect_images(t, NULL, &a, sa, "", disallowed, 0, "--list");
        expect_images(t, NULL, &b, sb, "", b_allowed, 0, "--list");
        expect_images(t, NULL, &b, sb, "", b_disallowed, 0, "--list");
        check_seen(t, sa, LOOP, "/robots.txt", 1, "--list");
        check_seen(t, sb, LH, "/robots.txt", 1, "--list");
        load_manifest(t, man, &m, 12);
        PG_CHECK_INT(t, count_status(&m, "listed"), 4,
                     "--list: records with status listed");
        PG_CHECK_INT(t, count_status(&m, "robots"), 5,
                     "--list: records with status robots");
        want_rec(t, &m, &(struct want){
            .url = url_at(sb, LH, "/private/l2.jpg"), .status = "robots",
            .kind = "image", .depth = 0, .referrer = index,
            .path = WANT_NULL});
        want_rec(t, &m, &(struct want){
            .url = url_at(sb, LH, "/public/l1.jpg"), .status = "listed",
            .kind = "image", .depth = 0, .referrer = index,
            .path = WANT_NULL});
        pg_manifest_release(&m);
        pg_run_release(&r);
        free(got_s);
        free(want_s);
        pg_strlist_release(&got);
        pg_strlist_release(&want);
    }
    pg_test_server_stop(sa);
    pg_test_server_stop(sb);
}

/* ------------------------------------------------------------------ */
/* 8. per_host: --per-host, --wait, --random-wait                      */
/* ------------------------------------------------------------------ */

#define PH_IMAGES 40
#define PH_DELAY_MS 100
#define W_IMAGES 8

/* Consecutive request starts to host must be >= min_gap apart; returns
 * the spread (largest gap - smallest gap). */
static double check_gaps(struct pg_test *t, struct pg_test_server *srv,
                         const char *host, size_t expect_n, double min_gap,
                         const char *what)
{
    size_t n;
    double *v = starts_of(srv, host, &n);
    double lo = 1e9;
    double hi = 0;

    PG_CHECK(t, n == expect_n, "%s: %zu requests to %s, expected %zu",
             what, n, host, expect_n);
    for (size_t i = 1; i < n; i++) {
        double gap = v[i] - v[i - 1];

        PG_CHECK(t, gap >= min_gap, "%s: requests %zu and %zu to %s "
                 "started %.3f s apart, expected >= %.3f s", what, i,
                 i + 1, host, gap, min_gap);
        lo = gap < lo ? gap : lo;
        hi = gap > hi ? gap : hi;
    }
    free(v);
    return n > 1 ? hi - lo : 0;
}

static void test_per_host(struct pg_test *t)
{
    struct site a = {0};
    struct site b = {0};
    struct sb html = {0};
    struct sb html2 = {0};
    struct sb wpage = {0};
    struct pg_test_server *sa;
    struct pg_test_server *sb;
    char *page;
    char *page2;
    char *wurl;
    char *ha;
    char *hl;
    char *ipath[PH_IMAGES];
    char *wpath[W_IMAGES];
    char *wlist[W_IMAGES];
    struct pg_run r;
    unsigned peak;
    double spread;

    sb_printf(&html, "<html><body>\n");
    sb_printf(&wpage, "<html><body>\n");
    for (size_t i = 0; i < PH_IMAGES; i++) {
        ipath[i] = pg_strdupf("/ph/i%02zu.jpg", i);
        site_image(&a, ipath[i], 900 + i, 1024, PH_DELAY_MS);
        sb_printf(&html, "<img src=\"%s\">\n", ipath[i]);
    }
    for (size_t i = 0; i < W_IMAGES; i++) {
        wpath[i] = pg_strdupf("/w/w%02zu.jpg", i);
        site_image(&a, wpath[i], 950 + i, 512, 0);
        if (i < 5)
            sb_printf(&wpage, "<img src=\"%s\">\n", wpath[i]);
    }
    sb_printf(&html, "</body></html>\n");
    sb_printf(&wpage, "</body></html>\n");
    site_page(&a, "/ph/index.html", &html);
    site_page(&a, "/w/index.html", &wpage);
    sa = site_start(t, &a);
    ha = hp(sa, LOOP);
    hl = hp(sa, LH);
    /* A page on server B naming server A's images under both names:
     * two hosts on one server, so one peak covers both. */
    sb_printf(&html2, "<html><body>\n");
    for (size_t i = 0; i < PH_IMAGES; i++)
        sb_printf(&html2, "<img src=\"http://%s%s\">\n",
                  i % 2 ? hl : ha, ipath[i]);
    sb_printf(&html2, "</body></html>\n");
    site_page(&b, "/ph2/index.html", &html2);
    sb = site_start(t, &b);
    page = url_at(sa, LOOP, "/ph/index.html");
    page2 = url_at(sb, LOOP, "/ph2/index.html");
    wurl = url_at(sa, LOOP, "/w/index.html");
    for (size_t i = 0; i < W_IMAGES; i++)
        wlist[i] = url_at(sa, LOOP, wpath[i]);

    /* --per-host 2 with 16 workers: never more than 2 at once. */
    {
        char *out = pg_path(t, "out1");
        char *man = pg_path(t, "m1.jsonl");
        struct files f = {0};

        crawl(t, &r, out, man, "--images", "-j", "16", "--per-host", "2",
              page, END);
        check_run(t, &r, 0, out, "--per-host 2");
        files_route(&f, &a, sa, LOOP, "/ph/index.html");
        for (size_t i = 0; i < PH_IMAGES; i++) {
            files_route(&f, &a, sa, LOOP, ipath[i]);
            check_seen(t, sa, LOOP, ipath[i], 1, "--per-host 2");
        }
        pg_tree_check(t, out, f.v, f.n);
        peak = pg_test_server_host_peak(sa, ha);
        PG_CHECK(t, peak >= 1 && peak <= 2, "--per-host 2 -j 16: %u "
                 "requests to %s at once", peak, ha);
        fprintf(stderr, "  per_host[%s]: --per-host 2: peak %u, %.2f s\n",
                t->mode, peak, r.secs);
        pg_run_release(&r);
    }
    /* Without it the 16 workers do overlap on the host. */
    {
        char *out = pg_path(t, "out2");
        char *man = pg_path(t, "m2.jsonl");

        pg_test_server_reset(sa);
        crawl(t, &r, out, man, "--images", "-j", "16", page, END);
        check_run(t, &r, 0, out, "no --per-host");
        peak = pg_test_server_host_peak(sa, ha);
        PG_CHECK(t, peak > 2, "-j 16 without --per-host: only %u requests "
                 "to %s at once", peak, ha);
        fprintf(stderr, "  per_host[%s]: no limit: peak %u, %.2f s\n",
                t->mode, peak, r.secs);
        pg_run_release(&r);
    }
    /* Two hosts: the limit is per host, not global. */
    {
        char *out = pg_path(t, "out3");
        char *man = pg_path(t, "m3.jsonl");
        unsigned p1;
        unsigned p2;
        struct files f = {0};

        pg_test_server_reset(sa);
        crawl(t, &r, out, man, "--images", "-j", "16", "--per-host", "2",
              page2, END);
        check_run(t, &r, 0, out, "--per-host 2, two hosts");
        files_route(&f, &b, sb, LOOP, "/ph2/index.html");
        for (size_t i = 0; i < PH_IMAGES; i++)
            files_route(&f, &a, sa, i % 2 ? LH : LOOP, ipath[i]);
        pg_tree_check(t, out, f.v, f.n);
        p1 = pg_test_server_host_peak(sa, ha);
        p2 = pg_test_server_host_peak(sa, hl);
        peak = pg_test_server_wait_peak(sa);
        PG_CHECK(t, p1 >= 1 && p1 <= 2 && p2 >= 1 && p2 <= 2,
                 "--per-host 2: peaks %u (%s) and %u (%s)", p1, ha, p2, hl);
        PG_CHECK(t, peak >= 3, "--per-host 2 on two hosts: at most %u "
                 "requests at once in all (the limit must be per host)",
                 peak);
        pg_run_release(&r);
    }
    /* --wait 0.2: input URLs (kind "file"), 8 workers. */
    {
        char *out = pg_path(t, "out4");
        char *man = pg_path(t, "m4.jsonl");
        struct pg_manifest m;

        pg_test_server_reset(sa);
        crawl(t, &r, out, man, "-j", "8", "--wait", "0.2", wlist[0],
              wlist[1], wlist[2], wlist[3], wlist[4], END);
        check_run(t, &r, 0, out, "--wait 0.2");
        check_gaps(t, sa, LOOP, 5, 0.15, "--wait 0.2");
        PG_CHECK(t, r.secs < 30, "--wait 0.2 on 5 URLs took %.1f s",
                 r.secs);
        load_manifest(t, man, &m, 5);
        for (size_t i = 0; i < 5; i++) {
            const struct pg_test_route *rt = site_get(&a, wpath[i]);
            char *saved = saved_at(sa, LOOP, wpath[i]);

            want_rec(t, &m, &(struct want){
                .url = wlist[i], .status = "ok", .kind = "file",
                .depth = 0, .referrer = WANT_NULL, .path = saved,
                .has_links = 1, .links = 0, .line = (long)i + 1,
                .body = rt->body, .len = rt->body_len});
            free(saved);
        }
        pg_manifest_release(&m);
        pg_run_release(&r);
    }
    /* --wait 0.2 on a page and its 5 images (robots.txt off, so that
     * exactly these 6 requests reach the host). */
    {
        char *out = pg_path(t, "out5");
        char *man = pg_path(t, "m5.jsonl");

        pg_test_server_reset(sa);
        crawl(t, &r, out, man, "--images", "--no-robots", "-j", "8",
              "--wait", "0.2", wurl, END);
        check_run(t, &r, 0, out, "--images --wait 0.2");
        check_gaps(t, sa, LOOP, 6, 0.15, "--images --wait 0.2");
        pg_run_release(&r);
    }
    /* --random-wait: between 0.5x and 1.5x, and not constant. */
    {
        char *out = pg_path(t, "out6");
        char *man = pg_path(t, "m6.jsonl");

        pg_test_server_reset(sa);
        crawl(t, &r, out, man, "-j", "8", "--wait", "0.2", "--random-wait",
              wlist[0], wlist[1], wlist[2], wlist[3], wlist[4], wlist[5],
              wlist[6], wlist[7], END);
        check_run(t, &r, 0, out, "--random-wait");
        spread = check_gaps(t, sa, LOOP, W_IMAGES, 0.075, "--random-wait");
        PG_CHECK(t, spread >= 0.02, "--wait 0.2 --random-wait: the gaps "
                 "between requests vary by only %.3f s", spread);
        pg_run_release(&r);
    }
    pg_test_server_stop(sa);
    pg_test_server_stop(sb);
}

/* ------------------------------------------------------------------ */
/* 9. dedup: identical bodies stored once                              */
/* ------------------------------------------------------------------ */

static int same_file(const char *a, const char *b)
{
    struct stat sa;
    struct stat sb;

    return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
           sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static void test_dedup(struct pg_test *t)
{
    static const char PAGE[] =
        "<html><body><img src=\"a/one.jpg\"> <img src=\"b/two.jpg\">\n"
        "<img src=\"c/three.jpg\"></body></html>\n";
    static const char *const twins[] = {"/dd/a/one.jpg", "/dd/b/two.jpg"};
    static const char *const three[] = {"/dd/c/three.jpg", NULL};
    struct site a = {0};
    struct pg_test_server *sa;
    char *page;
    const unsigned char *body;
    char *hash;

    site_text(&a, "/dd/index.html", PAGE, "text/html");
    body = site_image(&a, twins[0], 1000, 5000, 0);
    site_add(&a, twins[1], body, 5000, "image/jpeg", 0);
    site_image(&a, three[0], 1001, 5000, 0);
    sa = site_start(t, &a);
    page = url_at(sa, LOOP, "/dd/index.html");
    hash = pg_sha256_hex(body, 5000);

    for (int dedup = 0; dedup <= 1; dedup++) {
        const char *what = dedup ? "--dedup" : "without --dedup";
        char *out = pg_path(t, "out%d", dedup);
        char *man = pg_path(t, "m%d.jsonl", dedup);
        char *url[2];
        char *def[2];
        char *full[2];
        const struct pg_record *rec[2];
        struct pg_run r;
        struct pg_manifest m;
        struct pg_strlist list = {0};

        pg_test_server_reset(sa);
        if (dedup)
            crawl(t, &r, out, man, "--images", "--dedup", page, END);
        else
            crawl(t, &r, out, man, "--images", page, END);
        check_run(t, &r, 0, out, what);
        load_manifest(t, man, &m, 4);
        want_page(t, &m, &a, sa, LOOP, "/dd/index.html", 0, NULL, 1);
        want_images(t, &m, &a, sa, LOOP, three, 0, page);
        for (int i = 0; i < 2; i++) {
            url[i] = url_at(sa, LOOP, twins[i]);
            def[i] = saved_at(sa, LOOP, twins[i]);
            full[i] = pg_strdupf("%s/%s", out, def[i]);
            check_seen(t, sa, LOOP, twins[i], 1, what);
            rec[i] = want_rec(t, &m, &(struct want){
                .url = url[i], .status = "ok", .kind = "image", .depth = 0,
                .referrer = page, .content_type = "image/jpeg",
                .body = body, .len = 5000, .any_duplicate = 1});
        }
        if (!dedup) {
            for (int i = 0; i < 2; i++) {
                PG_CHECK_STR(t, pg_record_str(rec[i], "path"), def[i],
                             "path without --dedup");
                PG_CHECK(t, pg_record_is_null(rec[i], "duplicate_of"),
                         "without --dedup duplicate_of of '%s' must be "
                         "null", url[i]);
            }
            PG_CHECK(t, !same_file(full[0], full[1]),
                     "without --dedup the twins share one file");
        } else {
            /* One of them is the original (whichever finished first);
             * the other names it in duplicate_of. */
            int o = pg_record_is_null(rec[0], "duplicate_of") ? 0 : 1;
            int d = 1 - o;
            const char *dpath = pg_record_str(rec[d], "path");

            PG_CHECK(t, pg_record_is_null(rec[o], "duplicate_of"),
                     "--dedup: both twins have duplicate_of set");
            PG_CHECK_STR(t, pg_record_str(rec[o], "path"), def[o],
                         "path of the original");
            PG_CHECK_STR(t, pg_record_str(rec[d], "duplicate_of"), def[o],
                         "duplicate_of of the duplicate");
            /* "hard link (or the existing path) recorded" */
            if (pg_str_eq(dpath, def[d])) {
                PG_CHECK(t, same_file(full[0], full[1]),
                         "--dedup: '%s' is a second copy, not a hard link "
                         "to '%s'", def[d], def[o]);
            } else {
                PG_CHECK_STR(t, dpath, def[o], "path of the duplicate");
                PG_CHECK(t, access(full[d], F_OK) != 0,
                         "--dedup: '%s' exists but its record points to "
                         "'%s'", def[d], def[o]);
            }
        }
        /* The tree: the page, three.jpg and the twins' file(s). */
        pg_tree_list(out, &list);
        {
            struct files f = {0};

            files_route(&f, &a, sa, LOOP, "/dd/index.html");
            files_route(&f, &a, sa, LOOP, three[0]);
            for (int i = 0; i < 2; i++) {
                if (access(full[i], F_OK) == 0)
                    files_add(&f, def[i], body, 5000);
            }
            PG_CHECK(t, f.n >= 3, "%s: no file holds the twins' body",
                     what);
            pg_tree_check(t, out, f.v, f.n);
        }
        PG_CHECK_STR(t, pg_record_str(rec[0], "hash"),
                     pg_record_str(rec[1], "hash"), "hashes of the twins");
        PG_CHECK_STR(t, pg_record_str(rec[0], "hash"), hash, "twin hash");
        pg_strlist_release(&list);
        pg_manifest_release(&m);
        pg_run_release(&r);
    }
    pg_test_server_stop(sa);
}

/* ------------------------------------------------------------------ */
/* 10. invalid_xpath, and other bad values                             */
/* ------------------------------------------------------------------ */

/* A usage error: exit 2, a message on stderr naming needle, nothing on
 * stdout, no request. */
static void expect_usage(struct pg_test *t, struct pg_test_server *srv,
                         const char *needle, const char *const *opts)
{
    struct args x = {{0}, 0};
    char *out = pg_path(t, "out");
    char *url = url_at(srv, LOOP, "/page.html");
    char *cmd;
    struct pg_strlist l = {0};
    struct pg_run r;

    args_push(&x, "--mode", t->mode, "-o", out, END);
    for (size_t i = 0; opts[i]; i++) {
        args_push(&x, opts[i], END);
        pg_strlist_add(&l, opts[i]);
    }
    args_push(&x, url, END);
    cmd = pg_strlist_join(&l, " ");
    pg_test_server_reset(srv);
    pg_run(t, &r, NULL, 60, x.v);
    PG_CHECK(t, r.code == 2, "%s: exit status %d, expected 2", cmd, r.code);
    PG_CHECK(t, r.out_len == 0, "%s: stdout must stay empty", cmd);
    PG_CHECK(t, has_line_with(r.err, "pagegrab", needle, END),
             "%s: no stderr line names %s", cmd, needle);
    PG_CHECK_INT(t, pg_test_server_total(srv), 0, "requests");
    pg_check_no_temp_files(t, out);
    pg_strlist_release(&l);
    pg_run_release(&r);
    free(cmd);
    free(url);
    free(out);
}

static void test_invalid_xpath(struct pg_test *t)
{
    static const char PAGE[] = "<html><body><a href=\"x.jpg\">x</a>"
                               "</body></html>\n";
    static const struct pg_test_route routes[] = {
        {.path = "/page.html", .body = PAGE, .body_len = sizeof(PAGE) - 1,
         .content_type = "text/html"},
    };
    struct pg_test_server *srv = pg_test_server_start(routes, 1);
    const char *const xpath[] = {"--xpath", "//a[", NULL};
    const char *const follow[] = {"--follow", "//a[", "--images", NULL};
    const char *const both[] = {"--images", "--xpath", "//img/@src",
                                "--xpath", "//a[@href", NULL};

    PG_CHECK(t, srv, "cannot start the test server");
    expect_usage(t, srv, "'//a['", xpath);
    expect_usage(t, srv, "'//a['", follow);
    expect_usage(t, srv, "'//a[@href'", both);
    pg_test_server_stop(srv);
}

static void test_bad_values(struct pg_test *t)
{
    static const struct pg_test_route routes[] = {
        {.path = "/page.html", .body = "<html></html>\n", .body_len = 14,
         .content_type = "text/html"},
    };
    static const char *const cases[][6] = {
        {"--srcset", "biggest", "--images", NULL},
        {"--depth", "-1", "--follow", "//a/@href", NULL},
        {"--depth", "x", "--follow", "//a/@href", NULL},
        {"--per-host", "-1", NULL},
        {"--wait", "soon", NULL},
        {"--wait", "-1", NULL},
        {"--name", "no-equals-sign", NULL},
        {"--name", "(=x", NULL},
    };
    /* What the message must name (the bad value). */
    static const char *const needles[] = {
        "'biggest'", "'-1'", "'x'", "'-1'", "'soon'", "'-1'",
        "'no-equals-sign'", "'('",
    };
    struct pg_test_server *srv = pg_test_server_start(routes, 1);

    PG_CHECK(t, srv, "cannot start the test server");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_usage(t, srv, needles[i], cases[i]);
    pg_test_server_stop(srv);
}

/* ------------------------------------------------------------------ */
/* Harness self-tests (no pagegrab)                                    */
/* ------------------------------------------------------------------ */

static void test_harness_sha256(struct pg_test *t)
{
    static const struct {
        const char *in;
        const char *hex;
    } v[] = {
        {"",
         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc",
         "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    char *a = malloc(1000000);
    char *h;

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        h = pg_sha256_hex(v[i].in, strlen(v[i].in));
        PG_CHECK_STR(t, h, v[i].hex, v[i].in);
        free(h);
    }
    PG_CHECK(t, a, "out of memory");
    memset(a, 'a', 1000000);
    h = pg_sha256_hex(a, 1000000);
    PG_CHECK_STR(t, h,
                 "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7"
                 "112cd0", "a million 'a'");
    free(h);
    free(a);
}

/* One request in a curl multi batch. */
static CURL *easy_for(const char *url)
{
    CURL *h = curl_easy_init();

    if (!h)
        return NULL;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    return h;
}

/*
 * The server's request log, Host header counts and waiting peaks:
 * 5 requests to 127.0.0.1 and 3 to sub.localhost at once, each held
 * 300 ms, then 2 one after the other.
 */
static void test_harness_hosts(struct pg_test *t)
{
    static const struct pg_test_route routes[] = {
        {.path = "/slow", .body = "s", .body_len = 1, .delay_ms = 300},
        {.path = "/fast", .body = "f", .body_len = 1},
    };
    struct pg_test_server *srv = pg_test_server_start(routes, 2);
    CURLM *multi = curl_multi_init();
    CURL *h[8];
    char *ha;
    char *hs;
    int running = 1;
    struct pg_test_request log[16];
    size_t n;

    PG_CHECK(t, srv && multi, "cannot start the server or curl");
    ha = hp(srv, LOOP);
    hs = hp(srv, "sub.localhost");
    for (int i = 0; i < 8; i++) {
        char *url = url_at(srv, i < 5 ? LOOP : "sub.localhost", "/slow");

        h[i] = easy_for(url);
        PG_CHECK(t, h[i], "curl_easy_init failed");
        curl_multi_add_handle(multi, h[i]);
        free(url);
    }
    while (running) {
        curl_multi_perform(multi, &running);
        if (running)
            curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    for (int i = 0; i < 8; i++) {
        long code = 0;

        curl_easy_getinfo(h[i], CURLINFO_RESPONSE_CODE, &code);
        PG_CHECK_INT(t, code, 200, "status of a parallel request");
        curl_multi_remove_handle(multi, h[i]);
        curl_easy_cleanup(h[i]);
    }
    curl_multi_cleanup(multi);
    PG_CHECK_INT(t, pg_test_server_host_peak(srv, ha), 5, "peak of 127.0.0.1");
    PG_CHECK_INT(t, pg_test_server_host_peak(srv, hs), 3,
                 "peak of sub.localhost");
    PG_CHECK_INT(t, pg_test_server_wait_peak(srv), 8, "overall wait peak");
    PG_CHECK_INT(t, pg_test_server_count(srv, ha, "/slow"), 5, "log count");
    PG_CHECK_INT(t, pg_test_server_count(srv, hs, NULL), 3, "log count");
    PG_CHECK_INT(t, pg_test_server_count(srv, NULL, "/slow"), 8, "log");
    pg_test_server_reset(srv);
    PG_CHECK_INT(t, pg_test_server_requests(srv, NULL, 0), 0,
                 "log after reset");
    PG_CHECK_INT(t, pg_test_server_host_peak(srv, ha), 0, "peak after reset");
    for (int i = 0; i < 2; i++) {
        char *url = url_at(srv, LOOP, "/fast");
        CURL *e = easy_for(url);

        PG_CHECK(t, e && curl_easy_perform(e) == CURLE_OK, "GET /fast");
        curl_easy_cleanup(e);
        free(url);
    }
    n = pg_test_server_requests(srv, log, 16);
    PG_CHECK_INT(t, n, 2, "logged requests");
    PG_CHECK(t, !strcmp(log[0].path, "/fast") && !strcmp(log[0].host, ha) &&
                     !strcmp(log[0].method, "HEAD") &&
                     log[1].start >= log[0].start,
             "log entry: %s %s %s", log[0].method, log[0].host, log[0].path);
    PG_CHECK_INT(t, pg_test_server_host_peak(srv, ha), 1,
                 "peak of serial requests");
    pg_test_server_stop(srv);
    free(ha);
    free(hs);
}

static const struct pg_test_case cases[] = {
    {"harness_sha256", test_harness_sha256, PG_TEST_NO_BINARY, 30},
    {"harness_hosts", test_harness_hosts, PG_TEST_NO_BINARY, 30},
    {"gallery_fixture", test_gallery_fixture, PG_TEST_NO_BINARY, 60},
    {"gallery", test_gallery, PG_TEST_PER_MODE, 180},
    {"images_default", test_images_default, PG_TEST_PER_MODE, 120},
    {"base_href", test_base_href, PG_TEST_PER_MODE, 60},
    {"normalise", test_normalise, PG_TEST_PER_MODE, 60},
    {"depth", test_depth, PG_TEST_PER_MODE, 120},
    {"scope", test_scope, PG_TEST_PER_MODE, 120},
    {"accept_reject", test_accept_reject, PG_TEST_PER_MODE, 120},
    {"naming", test_naming, PG_TEST_PER_MODE, 120},
    {"robots", test_robots, PG_TEST_PER_MODE, 120},
    {"per_host", test_per_host, PG_TEST_PER_MODE, 180},
    {"dedup", test_dedup, PG_TEST_PER_MODE, 90},
    {"invalid_xpath", test_invalid_xpath, PG_TEST_PER_MODE, 60},
    {"bad_values", test_bad_values, PG_TEST_PER_MODE, 120},
};

int main(int argc, char **argv)
{
    return pg_test_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
