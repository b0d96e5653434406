/*
 * test_css.c - unit tests for the CSS tokenizer and the stylesheet
 * references (src/css.c), and for the CSS forms pg__extract() finds in
 * HTML with --images (style attributes, <style> blocks, <link
 * rel=stylesheet>, og:image and twitter:image).
 *
 * Tokenizer results are compared as one string: each reference on its
 * own line as "I url" (image), "F url" (font) or "@ url" (import), in
 * the order found.  Link sets are compared sorted, as "I url" (image) or
 * "C url" (stylesheet).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <libxml/parser.h>

#include "css.h"
#include "extract.h"
#include "mem.h"
#include "unit.h"

#define CSS_URL "http://cdn.example.com/css/site.css"
#define PAGE "http://www.example.com/dir/page.html"

/* A string literal and its length, NUL bytes included. */
#define S(s) (s), sizeof(s) - 1

static int group_setup(void **state)
{
    (void)state;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    xmlInitParser();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    xmlCleanupParser();
    curl_global_cleanup();
    return 0;
}

/* What the tokenizer reported, one line per reference. */
struct seen {
    char text[8192];
    size_t n;
    size_t stop_after; /* 0: never stop */
    size_t count;
};

static int record(const struct pg__css_ref *r, void *ud)
{
    static const char tag[] = {'I', 'F', '@'};
    struct seen *s = ud;
    int k = snprintf(s->text + s->n, sizeof(s->text) - s->n, "%c %.*s\n",
                     tag[r->kind], (int)r->len, r->url);

    if (k > 0 && (size_t)k < sizeof(s->text) - s->n)
        s->n += (size_t)k;
    s->count++;
    return s->stop_after && s->count >= s->stop_after;
}

/* The references of css[0..len), as text. */
static const char *scan(struct seen *s, const char *css, size_t len)
{
    memset(s, 0, sizeof(*s));
    assert_int_equal(pg__css_scan(css, len, record, s), 0);
    s->text[s->n] = '\0';
    return s->text;
}

/* Every row: CSS in, references out. */
static const struct {
    const char *css;
    const char *want;
} rows[] = {
    /* Quoted and unquoted forms, white space, case. */
    {"a{background:url(a.png)}", "I a.png\n"},
    {"a{background:url('b.png')}", "I b.png\n"},
    {"a{background:url(\"c.png\")}", "I c.png\n"},
    {"a{background:URL(  d.png  )}", "I d.png\n"},
    {"a{background:url( \"e.png\" )}", "I e.png\n"},
    {"a{background:Url(\n'f.png'\n)}", "I f.png\n"},
    {"a{b:url()}", ""},
    {"a{b:url('')}", ""},
    {"a{b:src(\"g.png\")}", "I g.png\n"},
    /* Escapes: hex (with the white space that ends one), \char, an
     * escaped newline in a string. */
    {"a{b:url(x\\28 1\\29.png)}", "I x(1).png\n"},
    {"a{b:url(\"sp\\20 ace.png\")}", "I sp ace.png\n"},
    {"a{b:url(q\\'uote.png)}", "I q'uote.png\n"},
    {"a{b:url(\"long\\\nname.png\")}", "I longname.png\n"},
    {"a{b:url(\\E9t\\E9.png)}", "I \xc3\xa9t\xc3\xa9.png\n"},
    {"a{b:url(\\1F600.png)}", "I \xf0\x9f\x98\x80.png\n"},
    {"a{b:url(\\0.png)}", "I \xef\xbf\xbd.png\n"},
    {"a{b:url(\\D800.png)}", "I \xef\xbf\xbd.png\n"},
    {"a{b:url(\\110000.png)}", "I \xef\xbf\xbd.png\n"},
    {"a{b:url(a\\)b.png)}", "I a)b.png\n"},
    {"a{b:\\75 rl(esc-fn.png)}", "I esc-fn.png\n"},
    {"a{b:u\\rl(esc-fn2.png)}", "I esc-fn2.png\n"},
    /* image-set: strings and url()s, with descriptors and type(). */
    {"a{b:image-set(\"1x.png\" 1x, \"2x.png\" 2x)}", "I 1x.png\nI 2x.png\n"},
    {"a{b:-webkit-image-set(url(w1.png) 1x,url(w2.png) 2x)}",
     "I w1.png\nI w2.png\n"},
    {"a{b:image-set(\"t.avif\" type(\"image/avif\"), 't.jpg' 1x)}",
     "I t.avif\nI t.jpg\n"},
    {"a{b:image-set(linear-gradient(red, blue) 1x, 'g.png' 2x)}",
     "I g.png\n"},
    /* Comments, and "url(" inside comments and strings. */
    {"/* url(no1.png) */a{b:url(yes.png)}", "I yes.png\n"},
    {"a{content:\"url(no2.png)\";b:url(yes.png)}", "I yes.png\n"},
    {"a{content:'/* x */';b:url(yes.png)}", "I yes.png\n"},
    {"a{b:url(c/*d*/e.png)}", "I c/*d*/e.png\n"},
    {"a{b:url(x.png)/*", "I x.png\n"},
    {"/* unterminated url(no.png)", ""},
    /* Names that only end in url, numbers, hashes. */
    {"a{b:xurl(no.png);c:my-url(no.png);d:1url(no.png);e:#url(no.png)}",
     ""},
    {"a{b:-url(no.png)}", ""},
    /* Minified: no white space, several rules and urls. */
    {".a{background:url(a.png)no-repeat}.b{background:url(\"b.png\")}"
     ".c{background-image:url(c.png),url(d.png)}",
     "I a.png\nI b.png\nI c.png\nI d.png\n"},
    /* @import forms: at the top, before any rule; media queries. */
    {"@import \"x.css\";@import url(y.css) screen;@import url('z.css');"
     "@import 'q.css' layer(base);",
     "@ x.css\n@ y.css\n@ z.css\n@ q.css\n"},
    {"@IMPORT \"up.css\";", "@ up.css\n"},
    {"@import url(\"m.css\") supports(display:grid) print;a{b:url(i.png)}",
     "@ m.css\nI i.png\n"},
    {"@charset \"utf-8\";@import \"after-charset.css\";",
     "@ after-charset.css\n"},
    {"a{b:c}@import \"late.css\";", ""},
    {"@media screen{@import \"nested.css\";a{b:url(m.png)}}", "I m.png\n"},
    {"@import \"a.css\" url(not-an-import.png);", "@ a.css\n"},
    /* @namespace and @font-face. */
    {"@namespace svg url(http://www.w3.org/2000/svg);a{b:url(n.png)}",
     "I n.png\n"},
    {"@font-face{font-family:x;src:url(f.woff2) format(\"woff2\"),"
     "url('f.woff')}a{b:url(after.png)}",
     "F f.woff2\nF f.woff\nI after.png\n"},
    /* Bad urls and bad strings give nothing, and the scan goes on. */
    {"a{b:url(a b.png);c:url(ok1.png)}", "I ok1.png\n"},
    {"a{b:url(a\"b.png);c:url(ok2.png)}", "I ok2.png\n"},
    {"a{b:url(a(b.png);c:url(ok3.png)}", "I ok3.png\n"},
    {"a{b:url(\"cut\n);c:url(ok4.png)}", "I ok4.png\n"},
    {"a{b:url(\"cut\nx.png\");c:url(no.png)}", ""},
    {"a{b:url(bad\\\n.png) ;c:url(ok5.png)}", "I ok5.png\n"},
    /* Nested parentheses. */
    {"a{b:calc((1px + 2px) * 3);c:url(p.png)}", "I p.png\n"},
    {"a{b:image-set(url(n1.png) 1x, 'n2.png' calc(1x + (1x)))}",
     "I n1.png\nI n2.png\n"},
    {"a{b:var(--x, url(fallback.png))}", "I fallback.png\n"},
    {"a{b:f(((((image-set('deep.png' 1x)))))}", "I deep.png\n"},
    /* A '}' closes what was left open. */
    {"a{b:image-set('a.png' 1x}b{content:'not-an-image'}", "I a.png\n"},
    /* Unterminated input. */
    {"a{b:url(open.png", "I open.png\n"},
    {"a{b:url(  open2.png  ", "I open2.png\n"},
    {"a{b:url('open3.png", "I open3.png\n"},
    {"a{b:url(", ""},
    {"a{b:url(\\", ""},
    {"a{b:url('x\\", "I x\n"},
    {"@import", ""},
    {"@import \"i.css", "@ i.css\n"},
    {"a{b:image-set(", ""},
    /* Fragments are reported (pg__css_links drops them). */
    {"a{filter:url(#blur)}", "I #blur\n"},
};

static void test_scan_forms(void **state)
{
    struct seen s;
    int bad = 0;
    size_t i;

    (void)state;
    for (i = 0; i < PG_ARRAY_SIZE(rows); i++) {
        const char *got = scan(&s, rows[i].css, strlen(rows[i].css));

        UT_EXPECT(bad, !strcmp(got, rows[i].want),
                  "row %zu: %s\n  got:  [%s]\n  want: [%s]", i,
                  rows[i].css, got, rows[i].want);
    }
    assert_int_equal(bad, 0);
}

/* Every prefix of every row: nothing read past the end (ASan, valgrind)
 * and no reference of a prefix longer than the input. */
static void test_prefixes(void **state)
{
    struct seen s;
    size_t i, k;

    (void)state;
    for (i = 0; i < PG_ARRAY_SIZE(rows); i++) {
        size_t n = strlen(rows[i].css);

        for (k = 0; k <= n; k++) {
            char *copy = malloc(k ? k : 1);

            assert_non_null(copy);
            memcpy(copy, rows[i].css, k);
            scan(&s, copy, k);
            assert_true(s.n <= sizeof(s.text));
            free(copy);
        }
    }
    scan(&s, NULL, 5);
    assert_string_equal(s.text, "");
}

/* NUL bytes are bytes; a long reference is dropped, a shorter one is
 * not. */
static void test_bytes_and_lengths(void **state)
{
    struct seen s;
    size_t n = PG_CSS_URL_MAX + 100;
    char *big = malloc(n + 64);
    size_t k;

    (void)state;
    scan(&s, S("a{b:url(x\0y.png);c:url(z.png)}"));
    assert_int_equal(s.count, 2);
    assert_non_null(big);
    k = (size_t)snprintf(big, 64, "a{b:url(");
    memset(big + k, 'a', n);
    memcpy(big + k + n, ")c{d:url(ok.png)}", 17);
    scan(&s, big, k + n + 17);
    assert_string_equal(s.text, "I ok.png\n");
    k = (size_t)snprintf(big, 64, "a{b:url(");
    memset(big + k, 'a', PG_CSS_URL_MAX);
    big[k + PG_CSS_URL_MAX] = ')';
    scan(&s, big, k + PG_CSS_URL_MAX + 1);
    assert_int_equal(s.count, 1);
    free(big);
}

/* A callback that returns non-zero stops the scan. */
static void test_stop(void **state)
{
    struct seen s;

    (void)state;
    memset(&s, 0, sizeof(s));
    s.stop_after = 2;
    assert_int_equal(pg__css_scan(S("a{b:url(1);c:url(2);d:url(3)}"),
                                  record, &s), 1);
    assert_int_equal(s.count, 2);
}

/*
 * Deep nesting stays linear and bounded: functions deeper than the
 * remembered 64 levels are plain (their strings are not images), and a
 * '}' starts afresh.
 */
static void test_deep_nesting(void **state)
{
    size_t n = 200000, i;
    char *p = malloc(n + 64);
    struct seen s;

    (void)state;
    assert_non_null(p);
    for (i = 0; i < 60; i++)
        p[i] = '(';
    memcpy(p + 60, "image-set('a.png')", 18);
    scan(&s, p, 78);
    assert_string_equal(s.text, "I a.png\n");
    for (i = 0; i < n; i++)
        p[i] = i % 2 ? '(' : '{';
    memcpy(p + n, "image-set('x.png')}", 19);
    memcpy(p + n + 19, "image-set('y.png')", 18);
    scan(&s, p, n + 37);
    assert_string_equal(s.text, "I y.png\n");
    free(p);
}

/* ---- links: resolution against the stylesheet ------------------------ */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The links as sorted "I url" / "C url" lines. */
static char *links_text(const struct pg__links *l)
{
    char **v = calloc(l->n + 1, sizeof(*v));
    size_t i, len = 1;
    char *out;

    assert_non_null(v);
    for (i = 0; i < l->n; i++) {
        size_t k = strlen(l->v[i].url) + 4;

        v[i] = malloc(k);
        assert_non_null(v[i]);
        snprintf(v[i], k, "%c %s\n", l->v[i].kind == PG_LINK_CSS ? 'C' :
                 l->v[i].kind == PG_LINK_PAGE ? 'P' : 'I', l->v[i].url);
        len += k;
    }
    qsort(v, l->n, sizeof(*v), cmp_str);
    out = malloc(len);
    assert_non_null(out);
    len = 0;
    for (i = 0; i < l->n; i++) {
        size_t k = strlen(v[i]);

        memcpy(out + len, v[i], k);
        len += k;
        free(v[i]);
    }
    out[len] = '\0';
    free(v);
    return out;
}

static void expect_links(const struct pg__links *l, const char *want)
{
    char *got = links_text(l);

    if (strcmp(got, want))
        fail_msg("links\n  got:\n%s  want:\n%s", got, want);
    free(got);
}

/* pg__css_extract() with a 256-byte err. */
static enum pg_code extract(const char *css, size_t len, const char *url,
                            size_t max_links, size_t max_bytes,
                            struct pg__links *l, char err[256])
{
    return pg__css_extract(css, len, url, max_links, max_bytes, l, err,
                           256);
}

static void test_stylesheet_links(void **state)
{
    static const char css[] =
        "@import \"print.css\";@import url(/base/reset.css);\n"
        "@font-face{src:url(font.woff2)}\n"
        ".a{background:url(../img/a.png)}\n"
        ".b{background:url('//other.example.org/b.jpg')}\n"
        ".c{background:url(data:image/png;base64,AAAA)}\n"
        ".d{filter:url(#f);mask:url(m.svg#frag)}\n"
        ".e{background:image-set('e1.png' 1x,'e2.png' 2x)}\n"
        ".f{background:url(javascript:alert(1))}\n"
        ".g{background:url(\"sp ace.png\")}\n"
        ".h{background:url(a.png)}\n";
    struct pg__links l;
    char err[256];

    (void)state;
    pg__links_init(&l);
    assert_int_equal(extract(S(css), CSS_URL, 0, 0, &l, err), PG_OK);
    assert_string_equal(err, "");
    expect_links(&l,
                 "C http://cdn.example.com/base/reset.css\n"
                 "C http://cdn.example.com/css/print.css\n"
                 "I http://cdn.example.com/css/a.png\n"
                 "I http://cdn.example.com/css/e1.png\n"
                 "I http://cdn.example.com/css/e2.png\n"
                 "I http://cdn.example.com/css/m.svg\n"
                 "I http://cdn.example.com/css/sp%20ace.png\n"
                 "I http://cdn.example.com/img/a.png\n"
                 "I http://other.example.org/b.jpg\n");
    assert_int_equal(l.truncated, 0);
    pg__links_release(&l);

    assert_int_equal(extract(S(css), "ftp://x/y.css", 0, 0, &l, err),
                     PG_E_INVALID);
    assert_non_null(strstr(err, "ftp://x/y.css"));
    pg__links_release(&l);
}

/* The caps: bytes, links and references; each cut is recorded. */
static void test_stylesheet_limits(void **state)
{
    struct pg__links l;
    char err[256];
    size_t n = (size_t)PG_CSS_MAX_REFS + 10, i, k = 0;
    char *big = malloc(n * 8 + 1);

    (void)state;
    pg__links_init(&l);
    assert_int_equal(extract(S("a{b:url(1.png)}c{d:url(2.png)}"
                               "e{f:url(3.png)}"), CSS_URL, 0, 30, &l, err),
                     PG_OK);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.truncated, 1);
    assert_non_null(strstr(err, "larger than 30 bytes"));
    pg__links_release(&l);

    assert_int_equal(extract(S("a{b:url(1.png)}c{d:url(1.png)}"
                               "e{f:url(2.png);g:url(3.png)}"), CSS_URL, 2,
                             0, &l, err), PG_OK);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.truncated, 1);
    assert_non_null(strstr(err, "more than 2 links"));
    pg__links_release(&l);

    /* The same reference over and over: one link, but the references
     * looked at are capped. */
    assert_non_null(big);
    for (i = 0; i < n; i++) {
        memcpy(big + k, "url(a) ", 7);
        k += 7;
    }
    assert_int_equal(extract(big, k, CSS_URL, 0, 0, &l, err), PG_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.truncated, 1);
    assert_non_null(strstr(err, "CSS references"));
    pg__links_release(&l);
    free(big);
}

/* ---- HTML: the CSS forms of --images --------------------------------- */

static void extract_html(const char *html, const char *want)
{
    struct pg__extract_config cfg;
    struct pg__extractor *x;
    struct pg__links l;
    char err[256];

    memset(&cfg, 0, sizeof(cfg));
    cfg.default_images = 1;
    assert_int_equal(pg__extractor_new(&cfg, &x, err, sizeof(err)), PG_OK);
    pg__links_init(&l);
    assert_int_equal(pg__extract(x, html, strlen(html), "text/html", PAGE,
                                 &l, err, sizeof(err)), PG_OK);
    expect_links(&l, want);
    pg__links_release(&l);
    pg__extractor_free(x);
}

static void test_html_forms(void **state)
{
    (void)state;
    extract_html(
        "<html><head><base href=\"/b/\">"
        "<meta property=\"og:image\" content=\"og.jpg\">"
        "<meta property=\"og:image:secure_url\" content=\"og2.jpg\">"
        "<meta name=\"twitter:image\" content=\"/tw.png\">"
        "<meta name=\"twitter:image:src\" content=\"tw2.png\">"
        "<meta name=\"description\" content=\"not-an-image.jpg\">"
        "<link rel=\"stylesheet\" href=\"s1.css\">"
        "<link rel=\"Alternate StyleSheet\" href=\"s2.css\">"
        "<link rel=\"icon\" href=\"favicon.css\">"
        "<link rel=\"stylesheets\" href=\"no.css\">"
        "<style>@import url(imp.css);/* url(c.png) */"
        ".x{background:url(st.png)}</style></head>"
        "<body style=\"background:url('body.png')\">"
        "<div style=\"background-image:image-set('i1.png' 1x,"
        "url(i2.png) 2x)\"></div>"
        "<p style=\"@import 'no-import.css'\">"
        "<span style=\"content:'url(no.png)'\">x</span>"
        "</body></html>",
        "C http://www.example.com/b/imp.css\n"
        "C http://www.example.com/b/s1.css\n"
        "C http://www.example.com/b/s2.css\n"
        "I http://www.example.com/b/body.png\n"
        "I http://www.example.com/b/i1.png\n"
        "I http://www.example.com/b/i2.png\n"
        "I http://www.example.com/b/og.jpg\n"
        "I http://www.example.com/b/og2.jpg\n"
        "I http://www.example.com/b/st.png\n"
        "I http://www.example.com/b/tw2.png\n"
        "I http://www.example.com/tw.png\n");
}

/* Without --images (only --xpath or --follow) no CSS is looked at. */
static void test_html_without_images(void **state)
{
    static const char *const follow[] = {"//a/@href"};
    static const char html[] =
        "<link rel=stylesheet href=s.css><style>a{b:url(x.png)}</style>"
        "<a href=p.html style=\"background:url(y.png)\">p</a>";
    struct pg__extract_config cfg;
    struct pg__extractor *x;
    struct pg__links l;
    char err[256];

    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    cfg.follow_xpaths = follow;
    cfg.n_follow_xpaths = 1;
    assert_int_equal(pg__extractor_new(&cfg, &x, err, sizeof(err)), PG_OK);
    pg__links_init(&l);
    assert_int_equal(pg__extract(x, S(html), "text/html", PAGE, &l, err,
                                 sizeof(err)), PG_OK);
    expect_links(&l, "P http://www.example.com/dir/p.html\n");
    pg__links_release(&l);
    pg__extractor_free(x);
}

/* Many style attributes share one budget of references per page. */
static void test_html_style_budget(void **state)
{
    size_t n = (size_t)PG_CSS_MAX_REFS + 5, i, k = 0;
    char *html = malloc(n * 40 + 64);
    struct pg__extract_config cfg;
    struct pg__extractor *x;
    struct pg__links l;
    char err[256];

    (void)state;
    assert_non_null(html);
    for (i = 0; i < n; i++)
        k += (size_t)snprintf(html + k, 40, "<i style=\"b:url(a)\"></i>");
    memset(&cfg, 0, sizeof(cfg));
    cfg.default_images = 1;
    cfg.max_nodes = 10 * n;
    assert_int_equal(pg__extractor_new(&cfg, &x, err, sizeof(err)), PG_OK);
    pg__links_init(&l);
    assert_int_equal(pg__extract(x, html, k, "text/html", PAGE, &l, err,
                                 sizeof(err)), PG_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.truncated, 1);
    assert_non_null(strstr(err, "CSS references"));
    pg__links_release(&l);
    pg__extractor_free(x);
    free(html);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan_forms),
        cmocka_unit_test(test_prefixes),
        cmocka_unit_test(test_bytes_and_lengths),
        cmocka_unit_test(test_stop),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_stylesheet_links),
        cmocka_unit_test(test_stylesheet_limits),
        cmocka_unit_test(test_html_forms),
        cmocka_unit_test(test_html_without_images),
        cmocka_unit_test(test_html_style_budget),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
