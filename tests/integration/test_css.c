/*
 * test_css.c - integration tests for images found in CSS (issue 13):
 * with --images, url() in style attributes and <style> blocks, og:image
 * and twitter:image meta, and stylesheets (<link rel=stylesheet>,
 * fetched as kind "css", with their @imports up to 5 deep), their url()s
 * resolved against the stylesheet's own final URL.
 *
 * The site: page.html uses every form; its stylesheet main.css
 * @imports a chain of five more (the sixth is never fetched), another
 * one with a media query, has fonts (never fetched), a fragment, a data:
 * URL, escapes, image-set() and a minified tail; moved.css redirects, so
 * its url()s resolve against where it landed; a stylesheet on a second
 * host (localhost, a second server) is fetched without --span-hosts.
 * Some images require the stylesheet that names them as Referer.
 *
 * Tests flagged PG_TEST_PER_MODE run with --mode thread and --mode
 * process; PG_TEST_PER_WORKER=K adds --per-worker K.
 */
#include "server.h"
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define END ((const char *)NULL)
#define PG_ARRAY(a) (sizeof(a) / sizeof((a)[0]))

static const char page2_html[] =
    "<html><head><link rel=stylesheet href=\"/css/p2.css\"></head>"
    "<body><img src=\"/img/p2-plain.jpg\"></body></html>\n";

static const char main_css[] =
    "@charset \"utf-8\";\n"
    "@import \"sub/nested.css\";\n"
    "@import url(\"/css/other.css\") screen;\n"
    "@font-face{font-family:f;src:url(/fonts/f.woff2) format(\"woff2\")}\n"
    "/* .x{background:url(/img/commented.png)} */\n"
    ".a{background:url(../img/main-rel.png)}\n"
    ".b{background:url(\"\\2f img\\2f esc.png\")}\n"
    ".c{background:-webkit-image-set(url(i/w1.png) 1x,\"i/w2.png\" 2x)}\n"
    ".d{filter:url(#f);content:\"url(/img/in-string.png)\"}\n"
    ".e{background:url(data:image/png;base64,AAAA)}\n"
    ".m{background:url(m1.png)no-repeat}.n{background:url('m2.png')}";

/* Each in the chain imports the next and names one image. */
static const char nested_css[] =
    "@import \"/css/l3.css\";.n2{background:url(../../img/n2.png)}";
static const char l3_css[] = "@import 'l4.css';.n3{background:url(/img/n3.png)}";
static const char l4_css[] = "@import url(l5.css);.n4{background:url(/img/n4.png)}";
static const char l5_css[] = "@import url(l6.css);.n5{background:url(/img/n5.png)}";
static const char l6_css[] = ".n6{background:url(/img/n6.png)}";
static const char other_css[] = ".o{background:url(other.png)}";
static const char from_style_css[] = ".i{background:url(from-style.png)}";
static const char moved_css[] = ".r{background:url(r.png)}";
static const char p2_css[] = ".p{background:url(/img/p2.png)}";
static const char cdn_css[] = ".c{background:url(cdn.png)}";

/* Images: path, and the Referer it requires (NULL: none). */
static const struct {
    const char *path;
    const char *referer;
} images[] = {
    {"/img/og.jpg", NULL},
    {"/img/tw.png", NULL},
    {"/img/tw-src.png", NULL},
    {"/img/style-block.png", "Referer: /page.html"},
    {"/img/body-style.png", "Referer: /page.html"},
    {"/img/set-1x.png", NULL},
    {"/img/set-2x.png", NULL},
    {"/img/plain.jpg", NULL},
    {"/img/main-rel.png", "Referer: /css/main.css"},
    {"/img/esc.png", NULL},
    {"/css/i/w1.png", NULL},
    {"/css/i/w2.png", NULL},
    {"/css/m1.png", NULL},
    {"/css/m2.png", NULL},
    {"/img/n2.png", "Referer: /css/sub/nested.css"},
    {"/img/n3.png", "Referer: /css/l3.css"},
    {"/img/n4.png", NULL},
    {"/img/n5.png", "Referer: /css/l5.css"},
    {"/css/other.png", "Referer: /css/other.css"},
    {"/css/from-style.png", NULL},
    {"/css/real/r.png", NULL},
};

/* Never requested. */
static const char *const never[] = {
    "/img/commented.png", "/img/in-string.png", "/img/in-comment.png",
    "/img/not-css.png", "/fonts/f.woff2", "/img/n6.png", "/css/l6.css",
};

/* Stylesheets of page.html: path, the referrer's path. */
static const struct {
    const char *path;
    const char *referrer;
} sheets[] = {
    {"/css/main.css", "/page.html"},
    {"/css/sub/nested.css", "/css/main.css"},
    {"/css/l3.css", "/css/sub/nested.css"},
    {"/css/l4.css", "/css/l3.css"},
    {"/css/l5.css", "/css/l4.css"},
    {"/css/other.css", "/css/main.css"},
    {"/css/from-style.css", "/page.html"},
    {"/css/moved.css", "/page.html"},
};

struct site {
    struct pg_test_server *srv, *cdn;
    char *page;
    char *url;  /* of page.html */
};

static void route(struct pg_test_route *r, const char *path,
                  const char *body, const char *type)
{
    memset(r, 0, sizeof(*r));
    r->path = path;
    r->body = body;
    r->body_len = strlen(body);
    r->content_type = type;
}

static void site_start(struct pg_test *t, struct site *s)
{
    struct pg_test_route r[64], c[3];
    size_t n = 0, i;

    route(&c[0], "/cdn.css", cdn_css, "text/css");
    route(&c[1], "/cdn.png", "IMG /cdn.png", "image/png");
    route(&c[2], "/robots.txt", "", "text/plain");
    c[2].status = 404;
    s->cdn = pg_test_server_must_start(t, c, 3);
    s->page = pg_strdupf(
        "<html><head>\n"
        "<meta property=\"og:image\" content=\"/img/og.jpg\">\n"
        "<meta name=\"twitter:image\" content=\"/img/tw.png\">\n"
        "<meta name=\"twitter:image:src\" content=\"img/tw-src.png\">\n"
        "<meta name=\"description\" content=\"/img/not-css.png\">\n"
        "<link rel=\"stylesheet\" href=\"/css/main.css\">\n"
        "<link rel=\"stylesheet\" href=\"/css/moved.css\">\n"
        "<link rel=\"stylesheet\" href=\"http://localhost:%u/cdn.css\">\n"
        "<style>\n@import url(/css/from-style.css);\n"
        "/* url(/img/in-comment.png) */\n"
        ".s{background:url('/img/style-block.png')}\n</style>\n"
        "</head><body style=\"background:url(/img/body-style.png)\">\n"
        "<div style='background-image:image-set(\"/img/set-1x.png\" 1x,"
        " url(/img/set-2x.png) 2x)'></div>\n"
        "<p style=\"content:'url(/img/in-string.png)'\">x</p>\n"
        "<img src=\"/img/plain.jpg\"><a href=\"/page2.html\">2</a>\n"
        "</body></html>\n", pg_test_server_port(s->cdn));
    route(&r[n++], "/page.html", s->page, "text/html");
    route(&r[n++], "/page2.html", page2_html, "text/html");
    route(&r[n++], "/css/main.css", main_css, "text/css");
    route(&r[n++], "/css/sub/nested.css", nested_css, "text/css");
    route(&r[n++], "/css/l3.css", l3_css, "text/css");
    route(&r[n++], "/css/l4.css", l4_css, "text/css");
    route(&r[n++], "/css/l5.css", l5_css, "text/css");
    route(&r[n++], "/css/l6.css", l6_css, "text/css");
    route(&r[n++], "/css/other.css", other_css, "text/css");
    route(&r[n++], "/css/from-style.css", from_style_css, "text/css");
    route(&r[n++], "/css/moved.css", "", "text/plain");
    r[n - 1].status = 301;
    r[n - 1].headers = "Location: /css/real/moved.css";
    route(&r[n++], "/css/real/moved.css", moved_css, "text/css");
    route(&r[n++], "/css/p2.css", p2_css, "text/css");
    route(&r[n++], "/img/p2.png", "IMG /img/p2.png", "image/png");
    route(&r[n++], "/img/p2-plain.jpg", "IMG p2-plain", "image/jpeg");
    for (i = 0; i < PG_ARRAY(images); i++) {
        route(&r[n], images[i].path, pg_strdupf("IMG %s", images[i].path),
              "image/png");
        r[n++].require = images[i].referer;
    }
    for (i = 0; i < PG_ARRAY(never); i++)
        route(&r[n++], never[i], "never", "image/png");
    route(&r[n++], "/robots.txt", "", "text/plain");
    r[n - 1].status = 404;
    s->srv = pg_test_server_must_start(t, r, n);
    s->url = pg_test_server_url(s->srv, "/page.html");
}

static void site_stop(struct site *s)
{
    pg_test_server_stop(s->srv);
    pg_test_server_stop(s->cdn);
}

/* The sorted, newline-terminated list of the image URLs of page.html
 * (and of page2.html when with_page2). */
static char *expected_images(struct site *s, int with_page2)
{
    struct pg_strlist l = {0};
    char *u, *joined;
    size_t i;

    for (i = 0; i < PG_ARRAY(images); i++) {
        u = pg_test_server_url(s->srv, images[i].path);
        pg_strlist_add(&l, u);
        free(u);
    }
    u = pg_strdupf("http://localhost:%u/cdn.png", pg_test_server_port(s->cdn));
    pg_strlist_add(&l, u);
    free(u);
    if (with_page2) {
        u = pg_test_server_url(s->srv, "/img/p2.png");
        pg_strlist_add(&l, u);
        free(u);
        u = pg_test_server_url(s->srv, "/img/p2-plain.jpg");
        pg_strlist_add(&l, u);
        free(u);
    }
    pg_strlist_sort(&l);
    joined = pg_strlist_join(&l, "\n");
    pg_strlist_release(&l);
    u = pg_strdupf("%s\n", joined);
    free(joined);
    return u;
}

/* stdout's lines, sorted, newline-terminated. */
static char *sorted_lines(const char *text)
{
    struct pg_strlist l = {0};
    char *copy = pg_strdupf("%s", text), *p = copy, *nl, *joined, *out;

    while (*p) {
        nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        pg_strlist_add(&l, p);
        if (!nl)
            break;
        p = nl + 1;
    }
    pg_strlist_sort(&l);
    joined = pg_strlist_join(&l, "\n");
    out = pg_strdupf("%s\n", joined);
    pg_strlist_release(&l);
    free(joined);
    free(copy);
    return out;
}

static void check_never(struct pg_test *t, struct site *s)
{
    size_t i;

    for (i = 0; i < PG_ARRAY(never); i++)
        PG_CHECK_INT(t, pg_test_server_hits(s->srv, never[i], NULL), 0,
                     never[i]);
}

/*
 * --list prints exactly the images of every form, once each, and
 * fetches no image; every stylesheet was fetched once.
 */
static void test_list(struct pg_test *t)
{
    struct site s;
    struct pg_args x = {{0}, 0};
    struct pg_run r;
    char *want, *got;
    size_t i;

    site_start(t, &s);
    pg_args_push(&x, "--mode", t->mode, "-j", "4", "-o", pg_path(t, "out"),
                 "--images", "--list", "-q", s.url, END);
    pg_run(t, &r, NULL, 60, x.v);
    PG_CHECK_INT(t, r.code, 0, "exit status");
    want = expected_images(&s, 0);
    got = sorted_lines(r.out);
    PG_CHECK(t, !strcmp(got, want), "--list printed\n%s\nexpected\n%s", got,
             want);
    for (i = 0; i < PG_ARRAY(images); i++)
        PG_CHECK_INT(t, pg_test_server_hits(s.srv, images[i].path, NULL), 0,
                     images[i].path);
    for (i = 0; i < PG_ARRAY(sheets); i++)
        PG_CHECK_INT(t, pg_test_server_hits(s.srv, sheets[i].path, NULL), 1,
                     sheets[i].path);
    check_never(t, &s);
    pg_run_release(&r);
    site_stop(&s);
}

/* The record of path on srv. */
static const struct pg_record *record_of(struct pg_test *t,
                                         const struct pg_manifest *m,
                                         struct pg_test_server *srv,
                                         const char *path)
{
    char *u = pg_test_server_url(srv, path);
    const struct pg_record *rec = pg_manifest_find(m, u);

    PG_CHECK(t, rec != NULL, "no record of %s", u);
    free(u);
    return rec;
}

/*
 * A crawl (--follow, --depth 1) downloads every image with the right
 * referrer (the images that require it would get 403 otherwise); the
 * stylesheets are kept as pages are, recorded as kind "css" at their
 * page's depth, with the page or the importing stylesheet as referrer;
 * page2.html, at the last depth, still gets its stylesheet's image.
 * With --images-only the stylesheets are fetched but not kept.
 */
static void test_crawl(struct pg_test *t)
{
    struct site s;
    int only;

    site_start(t, &s);
    for (only = 0; only <= 1; only++) {
        char *out = pg_path(t, "out%d", only);
        char *man = pg_path(t, "m%d.jsonl", only);
        struct pg_args x = {{0}, 0};
        struct pg_manifest m;
        struct pg_strlist files = {0};
        const struct pg_record *rec;
        struct pg_run r;
        char *want = expected_images(&s, 1), *got, *ref;
        size_t i, n_img = 0;

        pg_args_push(&x, "--mode", t->mode, "-j", "4", "-o", out,
                     "--manifest", man, "--images", "--follow", "//a/@href",
                     "--depth", "1", "-q", s.url, END);
        if (only)
            pg_args_push(&x, "--images-only", END);
        pg_run(t, &r, NULL, 60, x.v);
        PG_CHECK_INT(t, r.code, 0, "exit status");
        pg_manifest_must_load(t, man, &m);
        {
            struct pg_strlist imgs = {0};
            char *joined;

            for (i = 0; i < m.n; i++) {
                const char *kind = pg_record_str(&m.rec[i], "kind");

                PG_CHECK_STR(t, pg_record_str(&m.rec[i], "status"), "ok",
                             pg_record_str(&m.rec[i], "url"));
                if (kind && !strcmp(kind, "image")) {
                    pg_strlist_add(&imgs, pg_record_str(&m.rec[i], "url"));
                    n_img++;
                }
            }
            pg_strlist_sort(&imgs);
            joined = pg_strlist_join(&imgs, "\n");
            got = pg_strdupf("%s\n", joined);
            free(joined);
            pg_strlist_release(&imgs);
        }
        PG_CHECK(t, !strcmp(got, want), "images recorded\n%s\nexpected\n%s",
                 got, want);
        for (i = 0; i < PG_ARRAY(sheets); i++) {
            rec = record_of(t, &m, s.srv, sheets[i].path);
            PG_CHECK_STR(t, pg_record_str(rec, "kind"), "css",
                         sheets[i].path);
            PG_CHECK_INT(t, pg_record_int(rec, "depth", -1), 0,
                         sheets[i].path);
            ref = pg_test_server_url(s.srv, sheets[i].referrer);
            PG_CHECK_STR(t, pg_record_str(rec, "referrer"), ref,
                         sheets[i].path);
            free(ref);
            if (only)
                PG_CHECK(t, pg_record_is_null(rec, "path"),
                         "%s kept with --images-only", sheets[i].path);
            else
                PG_CHECK(t, pg_record_str(rec, "path") != NULL,
                         "%s not kept", sheets[i].path);
        }
        rec = record_of(t, &m, s.srv, "/css/p2.css");
        PG_CHECK_INT(t, pg_record_int(rec, "depth", -1), 1, "p2.css depth");
        rec = record_of(t, &m, s.srv, "/img/main-rel.png");
        ref = pg_test_server_url(s.srv, "/css/main.css");
        PG_CHECK_STR(t, pg_record_str(rec, "referrer"), ref, "main-rel.png");
        free(ref);
        /* Saved: the images, plus pages and stylesheets unless
         * --images-only (cdn.css on the other host too). */
        pg_tree_list(out, &files);
        PG_CHECK_INT(t, files.n, n_img + (only ? 0 : PG_ARRAY(sheets) + 4),
                     "files saved");
        check_never(t, &s);
        pg_strlist_release(&files);
        pg_manifest_release(&m);
        pg_run_release(&r);
        free(want);
        free(got);
    }
    site_stop(&s);
}

/* Without --images no stylesheet is fetched and no CSS is read. */
static void test_without_images(struct pg_test *t)
{
    struct site s;
    struct pg_args x = {{0}, 0};
    struct pg_run r;
    char *want;
    size_t i;

    site_start(t, &s);
    pg_args_push(&x, "--mode", t->mode, "-o", pg_path(t, "out"),
                 "--xpath", "//img/@src", "--list", "-q", s.url, END);
    pg_run(t, &r, NULL, 60, x.v);
    PG_CHECK_INT(t, r.code, 0, "exit status");
    want = pg_test_server_url(s.srv, "/img/plain.jpg");
    PG_CHECK(t, r.out_len == strlen(want) + 1 && !strncmp(r.out, want,
             strlen(want)), "--list printed '%s', expected '%s'", r.out,
             want);
    for (i = 0; i < PG_ARRAY(sheets); i++)
        PG_CHECK_INT(t, pg_test_server_hits(s.srv, sheets[i].path, NULL), 0,
                     sheets[i].path);
    pg_run_release(&r);
    free(want);
    site_stop(&s);
}

/*
 * The rules around stylesheets: one answered with HTML is a
 * type-mismatch (exit 1, nothing saved); --reject applies to
 * stylesheets, --accept (an image filter) does not.
 */
static void test_rules(struct pg_test *t)
{
    static const char page[] =
        "<link rel=stylesheet href=/s/html.css>"
        "<link rel=stylesheet href=/s/skip-me.css>"
        "<link rel=stylesheet href=/s/ok.css>";
    static const char html[] = "<!DOCTYPE html><html><body>login</body>";
    struct pg_test_route r[7];
    struct pg_test_server *srv;
    struct pg_args x = {{0}, 0};
    struct pg_manifest m;
    const struct pg_record *rec;
    struct pg_run run;
    char *man = pg_path(t, "m.jsonl");

    route(&r[0], "/page.html", page, "text/html");
    route(&r[1], "/s/html.css", html, "text/css");
    route(&r[2], "/s/skip-me.css", ".a{background:url(no.png)}", "text/css");
    route(&r[3], "/s/ok.css", ".a{background:url(a.png)}.b{background:"
          "url(b.gif)}", "text/css");
    route(&r[4], "/s/a.png", "IMG a", "image/png");
    route(&r[5], "/s/b.gif", "IMG b", "image/gif");
    route(&r[6], "/robots.txt", "", "text/plain");
    r[6].status = 404;
    srv = pg_test_server_must_start(t, r, 7);
    pg_args_push(&x, "--mode", t->mode, "-o", pg_path(t, "out"),
                 "--manifest", man, "--images", "--accept", "\\.png$",
                 "--reject", "skip-me", "-q",
                 pg_test_server_url(srv, "/page.html"), END);
    pg_run(t, &run, NULL, 60, x.v);
    PG_CHECK_INT(t, run.code, 1, "exit status (a type-mismatch)");
    pg_manifest_must_load(t, man, &m);
    rec = record_of(t, &m, srv, "/s/html.css");
    PG_CHECK_STR(t, pg_record_str(rec, "status"), "type-mismatch",
                 "html.css");
    PG_CHECK(t, pg_record_is_null(rec, "path"), "html.css was saved");
    rec = record_of(t, &m, srv, "/s/skip-me.css");
    PG_CHECK_STR(t, pg_record_str(rec, "status"), "filtered", "skip-me.css");
    rec = record_of(t, &m, srv, "/s/ok.css");
    PG_CHECK_STR(t, pg_record_str(rec, "status"), "ok", "ok.css");
    rec = record_of(t, &m, srv, "/s/a.png");
    PG_CHECK_STR(t, pg_record_str(rec, "status"), "ok", "a.png");
    rec = record_of(t, &m, srv, "/s/b.gif");
    PG_CHECK_STR(t, pg_record_str(rec, "status"), "filtered", "b.gif");
    PG_CHECK_INT(t, pg_test_server_hits(srv, "/s/skip-me.css", NULL), 0,
                 "skip-me.css requests");
    PG_CHECK_INT(t, pg_test_server_hits(srv, "/s/b.gif", NULL), 0,
                 "b.gif requests");
    pg_manifest_release(&m);
    pg_run_release(&run);
    pg_test_server_stop(srv);
}

static const struct pg_test_case cases[] = {
    {"rules", test_rules, PG_TEST_PER_MODE, 60},
    {"list", test_list, PG_TEST_PER_MODE, 90},
    {"crawl", test_crawl, PG_TEST_PER_MODE, 120},
    {"without_images", test_without_images, PG_TEST_PER_MODE, 60},
};

int main(int argc, char **argv)
{
    return pg_test_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
