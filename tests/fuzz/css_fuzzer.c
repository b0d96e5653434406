/*
 * css_fuzzer.c - libFuzzer target for the CSS tokenizer and the
 * stylesheet references (src/css.c).
 *
 * The first byte of the input chooses the limits (a small link limit, a
 * small byte limit) and where the callback stops the scan; the rest is
 * the stylesheet.  It is scanned with pg__css_scan(), then extracted
 * with pg__css_extract() against a fixed stylesheet URL.  The scan gets
 * a copy of exactly the input's bytes on the heap, so that ASan sees any
 * read past the end.  Everything is freed on every run (LeakSanitizer).
 *
 * Besides crashes it checks, and aborts when one fails: every reference
 * is non-empty, at most PG_CSS_URL_MAX bytes, of a known kind; a scan
 * stopped after k references saw the same first k references as the
 * full scan (the tokenizer is deterministic and the callback's verdict
 * changes nothing before it); every link is an absolute http(s) URL
 * without fragment, space or control byte, of kind image or css, and no
 * more than the link limit; a cut comes with a warning.
 *
 * No main(): link with -fsanitize=fuzzer, or with the replay driver
 * (tests/fuzz/replay.c) over css.in/ and css.repro/.  Build with
 * -DPG_UNITTEST -Isrc, against the library.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "css.h"
#include "mem.h"

#define CSS_URL "http://cdn.example.com/css/dir/site.css"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A digest of the references seen: count, and a hash per prefix. */
struct seen {
    size_t count, stop_at;
    uint64_t hash[16]; /* hash of the first i + 1 references */
};

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    size_t i;

    for (i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3ULL;
    return h;
}

static int on_ref(const struct pg__css_ref *r, void *ud)
{
    struct seen *s = ud;
    uint64_t h = s->count ? s->hash[(s->count - 1) % 16] : 0xcbf29ce4ULL;

    if (r->len == 0 || r->len > PG_CSS_URL_MAX || !r->url ||
        (r->kind != PG_CSS_IMAGE && r->kind != PG_CSS_FONT &&
         r->kind != PG_CSS_IMPORT))
        abort();
    h = mix(h, r->url, r->len);
    h = mix(h, &r->kind, sizeof(r->kind));
    if (s->count < 16)
        s->hash[s->count] = h;
    s->count++;
    return s->stop_at && s->count >= s->stop_at;
}

static void check_url(const char *url)
{
    const unsigned char *p = (const unsigned char *)url;

    if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
        abort();
    for (; *p; p++) {
        if (*p <= 0x20 || *p == 0x7f || *p == '#')
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int initialised;
    size_t max_links, max_bytes;
    struct seen all, part;
    struct pg__links links;
    char err[PG_ERRBUF_SIZE];
    unsigned flags;
    size_t len, i;
    char *css;

    if (!initialised) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            abort();
        initialised = 1;
    }
    if (size < 1)
        return 0;
    flags = data[0];
    len = size - 1;
    css = malloc(len ? len : 1);
    if (!css)
        abort();
    memcpy(css, data + 1, len);

    memset(&all, 0, sizeof(all));
    if (pg__css_scan(css, len, on_ref, &all) != 0)
        abort();
    memset(&part, 0, sizeof(part));
    part.stop_at = (flags & 7) + 1;
    if (pg__css_scan(css, len, on_ref, &part) != (all.count >= part.stop_at))
        abort();
    for (i = 0; i < part.count && i < 16; i++) {
        if (part.hash[i] != all.hash[i])
            abort();
    }

    max_links = (flags & 0x10) ? 3 : 10000;
    max_bytes = (flags & 0x20) ? 64 : 0;
    pg__links_init(&links);
    switch (pg__css_extract(css, len, CSS_URL, max_links, max_bytes,
                            &links, err, sizeof(err))) {
    case PG_OK:
    case PG_E_NOMEM:
        break;
    default:
        abort();
    }
    if (links.n > max_links || (links.truncated && !err[0]))
        abort();
    for (i = 0; i < links.n; i++) {
        check_url(links.v[i].url);
        if (links.v[i].kind != PG_LINK_IMAGE &&
            links.v[i].kind != PG_LINK_CSS)
            abort();
    }
    pg__links_release(&links);
    free(css);
    return 0;
}
