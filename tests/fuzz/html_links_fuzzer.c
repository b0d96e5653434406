/*
 * html_links_fuzzer.c - libFuzzer target for the HTML link extractor
 * (src/extract.c).
 *
 * The first byte of the input chooses the Content-Type (none, UTF-8,
 * GBK, UTF-16, a bogus label ...), srcset_all, extra user expressions, a
 * small link limit and small parsing limits (64 nodes, 4096 bytes); the
 * rest is the page.  It is extracted with the
 * built-in image expressions and a --follow expression against a fixed
 * page URL.  Then pg__link_resolve() runs on a slice of the page (up to
 * the first newline, at most 512 bytes) and pg__extract_is_html() on the
 * whole.  Everything is freed on every run, so LeakSanitizer sees leaks.
 *
 * Besides crashes it checks properties of the output, and aborts when
 * one fails: every link is an absolute http(s) URL without fragment,
 * space or control byte; resolving a resolved URL again gives the same
 * string (the normalisation is idempotent); and once the page is
 * decoded and its attribute bombs cut (pg__extract_cap_attributes), libxml2
 * gives no element more than MAX_ATTRS attributes, i.e. the cutter
 * reads the markup as libxml2 does.
 *
 * No main(): link with -fsanitize=fuzzer, or with a replay driver that
 * calls LLVMFuzzerTestOneInput() for every file of html_links.in/.
 * Build with -DPG_UNITTEST -Isrc, against the library.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <libxml/HTMLparser.h>
#include <libxml/parser.h>

#include "charset.h"
#include "extract.h"
#include "mem.h"
#include "prescan.h"

#define PAGE_URL "http://www.example.com/dir/page.html"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const types[] = {
    NULL,
    "text/html",
    "text/html; charset=utf-8",
    "text/html; charset=GBK",
    "text/html; charset=utf-16le",
    "text/html; charset=windows-1252",
    "text/html; charset=utf-7",
    "text/html; charset=\"bogus-label\"",
};

static const char *const image_xpaths[] = {
    "//meta[@property='og:image']/@content",
    "//div | //video | //object",
    "string(//title)",
    "//comment() | //span/text()",
};

static const char *const follow_xpaths[] = {
    "//a/@href | //link/@href | //area/@href",
};

/* An absolute http(s) URL without fragment, space or control byte. */
static void check_url(const char *url)
{
    const unsigned char *s = (const unsigned char *)url;

    if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
        abort();
    for (; *s; s++) {
        if (*s <= 0x20 || *s == 0x7f || *s == '#')
            abort();
    }
}

/* Resolving url again must give url. */
static void check_fixed_point(const char *url)
{
    char *again = NULL;

    if (pg__link_resolve(PAGE_URL, url, strlen(url), &again) != PG_OK ||
        strcmp(again, url))
        abort();
    pg_free(again);
}

/* Must match MAX_ATTRS in src/extract.c. */
#define MAX_ATTRS 128

/* No element of the parsed, cut page has more than MAX_ATTRS attributes. */
static void check_cut(const char *body, size_t len, const char *ct)
{
    char *text = NULL;
    size_t n = 0;
    htmlDocPtr doc;
    xmlNodePtr node;

    if (pg__extract_to_utf8(body, len, ct, &text, &n, NULL, 0) != PG_OK)
        return;
    pg__extract_cap_attributes(text, n);
    doc = htmlReadMemory(text, (int)n, NULL, "UTF-8",
                         HTML_PARSE_RECOVER | HTML_PARSE_NONET |
                         HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                         HTML_PARSE_IGNORE_ENC | XML_PARSE_HUGE);
    node = doc ? doc->children : NULL;
    while (node) {
        if (node->type == XML_ELEMENT_NODE) {
            xmlAttrPtr a;
            size_t k = 0;

            for (a = node->properties; a; a = a->next)
                k++;
            if (k > MAX_ATTRS)
                abort();
        }
        if (node->children && node->type == XML_ELEMENT_NODE) {
            node = node->children;
            continue;
        }
        while (node && !node->next)
            node = node->parent == (xmlNodePtr)doc ? NULL : node->parent;
        if (node)
            node = node->next;
    }
    xmlFreeDoc(doc);
    pg_free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int initialised;
    struct pg__extract_config cfg;
    struct pg__extractor *x = NULL;
    struct pg__links links;
    char err[PG_ERRBUF_SIZE];
    const char *body, *nl;
    unsigned flags;
    size_t len, slice, i;
    char *out = NULL;

    if (!initialised) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            abort();
        xmlInitParser();
        initialised = 1;
    }
    if (size < 1)
        return 0;
    flags = data[0];
    body = (const char *)data + 1;
    len = size - 1;

    memset(&cfg, 0, sizeof(cfg));
    cfg.default_images = 1;
    cfg.srcset_all = (flags >> 3) & 1;
    cfg.max_links = (flags & 0x20) ? 5 : 10000;
    /* Small parsing limits (issue 9): the cuts must be safe anywhere. */
    if (flags & 0x40) {
        cfg.max_nodes = 64;
        cfg.max_bytes = 4096;
    }
    if (flags & 0x10) {
        cfg.image_xpaths = image_xpaths;
        cfg.n_image_xpaths = sizeof(image_xpaths) / sizeof(image_xpaths[0]);
    }
    cfg.follow_xpaths = follow_xpaths;
    cfg.n_follow_xpaths = 1;
    if (pg__extractor_new(&cfg, &x, err, sizeof(err)) != PG_OK)
        abort();
    pg__links_init(&links);
    switch (pg__extract(x, body, len, types[flags & 7], PAGE_URL, &links,
                        err, sizeof(err))) {
    case PG_OK:
    case PG_E_PARSE:
    case PG_E_NOMEM:
        break;
    default:
        abort();
    }
    if (links.n > cfg.max_links)
        abort();
    /* Every cut comes with a warning saying which limit. */
    if (links.truncated && !err[0])
        abort();
    for (i = 0; i < links.n; i++) {
        check_url(links.v[i].url);
        if (i < 64)
            check_fixed_point(links.v[i].url);
    }
    pg__links_release(&links);
    pg__extractor_free(x);

    nl = memchr(body, '\n', len);
    slice = nl ? (size_t)(nl - body) : len;
    if (slice > 512)
        slice = 512;
    if (pg__link_resolve(PAGE_URL, body, slice, &out) == PG_OK) {
        check_url(out);
        check_fixed_point(out);
    }
    pg_free(out);

    check_cut(body, len, types[flags & 7]);
    (void)pg__extract_is_html(types[flags & 7], body, len);
    return 0;
}
